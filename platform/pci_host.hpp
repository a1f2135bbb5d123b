// Vireo's driver of a PCIe host bridge with a generic ECAM (the host DTB's
// pci-host-ecam-generic, platform/platform.hpp): config-space access to a
// function, its BARs sized and placed, and stopping its DMA. Nothing
// assigns BARs before Vireo on QEMU virt (no firmware with -kernel), so
// Vireo places those of the functions VMs own.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/devices/pci/config_space.hpp"

struct PciHostDesc;

namespace pci_host {

// Type-0 header registers (PCI Local Bus 3.0, 6.1; PCIe Base 7.5.1).
constexpr uint32_t kVendorDevice = 0x00;
constexpr uint32_t kCommand = 0x04; // 16 bits; Status above it
constexpr uint32_t kClass = 0x08;
constexpr uint32_t kHeaderType = 0x0c; // byte 2 of the dword
constexpr uint32_t kBar0 = 0x10;
constexpr uint32_t kCapabilities = 0x34;
constexpr uint32_t kInterrupt = 0x3c; // Line (byte 0), Pin (byte 1)
constexpr uint16_t kCommandMemory = 1u << 1;
constexpr uint16_t kCommandBusMaster = 1u << 2;
constexpr uint16_t kCommandIntxDisable = 1u << 10;

/// One function's config space through the host's ECAM.
class EcamFunction final : public PciFunction {
public:
    EcamFunction() = default;
    explicit EcamFunction(uintptr_t base) : base_(base) {}
    uint32_t read32(uint32_t offset) override;
    void write32(uint32_t offset, uint32_t value) override;
    uintptr_t base() const { return base_; }

private:
    uintptr_t base_ = 0;
};

/// The offset of capability `id` in the function's list, 0 if absent. At
/// most 48 steps (what fits in 0x40-0xff), so a looping list ends.
uint32_t find_capability(PciFunction& function, uint8_t id);

/// The ECAM address of bus:device.function's config space; 0 if the bus
/// is not in the bridge's bus-range.
uintptr_t config_address(const PciHostDesc& host, uint32_t bus, uint32_t device, uint32_t function);

/// Where BARs go: a window (the bridge's 32-bit memory window) and how much
/// of it is used, shared by every function placed.
struct BarWindow {
    uint64_t base = 0;
    uint64_t end = 0;
    uint64_t next = 0; // the lowest address not yet given out
};

/// Sizes the function's memory BARs (its decoding off meanwhile) and
/// places each at the next address of its own alignment in `window`,
/// programming them. Nullptr on success, else why not (no room, a BAR
/// over 4 GiB). I/O BARs are left unassigned and reported size 0.
const char* place_bars(PciFunction& function, BarWindow& window, PciBar (&bars)[PciConfigSpace::kBars]);

/// Writes the BARs' addresses back (after a function-level reset cleared them).
void program_bars(PciFunction& function, const PciBar (&bars)[PciConfigSpace::kBars]);

/// Stops the function's DMA and interrupts: Command's Bus Master, Memory
/// and I/O decode off, INTx disabled; then a function-level reset where the
/// function has one (PCIe Device Capabilities). True if a reset was
/// started: the function must not be touched for 100 ms (PCIe Base 6.6.2).
bool quiesce(PciFunction& function);

} // namespace pci_host
