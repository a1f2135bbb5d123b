// "vireo,test-device": 256 bytes of registers that read back what was
// written, little-endian, at any width. Reset value of byte i is 0x80 | i,
// so every width has its sign bit set (for the sign-extension tests).
// Registers 0x100-0xfff are reserved: accesses there fault.
#pragma once

#include "kernel/devices/mmio/mmio_bus.hpp"

class TestDevice final : public MmioDevice {
public:
    static constexpr uint64_t kSize = 0x1000;
    static constexpr uint64_t kRegisters = 0x100;

    constexpr TestDevice() { reset(); }
    constexpr void reset()
    {
        for (unsigned i = 0; i < kRegisters; i++) {
            bytes_[i] = static_cast<uint8_t>(0x80 | i);
        }
    }
    bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) override;
    bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value) override;
    const char* name() const override { return "the test device"; }
    const char* refusal(uint64_t offset, unsigned, bool) const override
    {
        return offset >= kRegisters ? "a reserved register" : "no register there at that width";
    }

private:
    uint8_t bytes_[kRegisters] = {};
};
