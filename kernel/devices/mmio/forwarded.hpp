// A passthrough device whose registers do not fill whole pages (QEMU virt's
// virtio-mmio transports are 0x200 bytes, eight to a page): stage 2 maps
// nothing smaller than a page, so mapping it would hand the VM its
// neighbours too. Instead the range sits on the VM's MMIO bus and Vireo
// performs each access on the device itself, at the same width: the VM
// reaches exactly the registers it was given, at the cost of an exit per
// register access (the data moves by DMA, not through these registers).
#pragma once

#include "kernel/devices/mmio/mmio_bus.hpp"

class ForwardedDevice final : public MmioDevice {
public:
    /// `registers`: where Vireo reaches the device (EL2 maps every address
    /// that is not RAM as Device memory, VA = PA).
    void init(uintptr_t registers) { registers_ = registers; }

    /// Naturally aligned accesses only (an unaligned access to Device memory
    /// would be Vireo's own alignment fault): others fault in the guest.
    bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) override;
    bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value) override;
    const char* name() const override { return "a forwarded device"; }

private:
    uintptr_t registers_ = 0;
};
