// The guest's PCIe configuration space: the ECAM of one bus (bus 0) of the
// virtual host bridge in its DTB, 1 MiB, a function's 4 KiB at
// device << 15 | function << 12 (PCIe Base 6.0, 7.2.2). It holds the
// functions Vireo gave the VM, each a PciConfigSpace; every other function
// reads as absent (all-ones, what a root complex returns for an access no
// function completes) and ignores writes.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/devices/mmio/mmio_bus.hpp"
#include "kernel/devices/pci/config_space.hpp"

class VirtualEcam final : public MmioDevice {
public:
    static constexpr uint64_t kSize = 1 << 20;
    static constexpr size_t kMaxFunctions = 8;
    static constexpr uint32_t kDevices = 32;
    static constexpr uint32_t kFunctions = 8;

    /// Shows `space` as `device`.`function` of bus 0. False when that slot
    /// is taken, out of range, or kMaxFunctions are held.
    bool add(uint32_t device, uint32_t function, PciConfigSpace& space);

    /// 1-, 2- and 4-byte accesses aligned to their size; others are refused.
    bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) override;
    bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value) override;
    const char* name() const override { return "the PCIe config space"; }
    const char* refusal(uint64_t offset, unsigned size, bool write) const override;

    /// Every held function's view as after a reset (a VM restart).
    void reset();

private:
    struct Entry {
        uint32_t devfn; // device << 3 | function
        PciConfigSpace* space;
    };
    PciConfigSpace* find(uint64_t offset) const;

    Entry entries_[kMaxFunctions] = {};
    size_t count_ = 0;
};
