#include "platform/pci_host.hpp"

#include "platform/mmio.hpp"
#include "platform/platform.hpp"

namespace pci_host {
namespace {

constexpr uint64_t kPage = 4096;

uint16_t command(PciFunction& function) { return static_cast<uint16_t>(function.read32(kCommand)); }

/// Writes Command without writing 1s to Status's write-1-to-clear bits.
void set_command(PciFunction& function, uint16_t value) { function.write32(kCommand, value); }

} // namespace

uint32_t find_capability(PciFunction& function, uint8_t id)
{
    if ((function.read32(kCommand) >> 16 & (1u << 4)) == 0) { // Status: Capabilities List
        return 0;
    }
    uint32_t at = function.read32(kCapabilities) & 0xfc;
    for (int steps = 0; steps < 48 && at >= 0x40; steps++) {
        const uint32_t header = function.read32(at);
        if ((header & 0xff) == id) {
            return at;
        }
        at = header >> 8 & 0xfc;
    }
    return 0;
}

uint32_t EcamFunction::read32(uint32_t offset) { return mmio::read<uint32_t>(base_ + (offset & 0xffc)); }

void EcamFunction::write32(uint32_t offset, uint32_t value) { mmio::write<uint32_t>(base_ + (offset & 0xffc), value); }

uintptr_t config_address(const PciHostDesc& host, uint32_t bus, uint32_t device, uint32_t function)
{
    if (bus < host.bus_first || bus > host.bus_last || device > 31 || function > 7) {
        return 0;
    }
    return host.ecam.base + ((bus - host.bus_first) << 20 | device << 15 | function << 12);
}

const char* place_bars(PciFunction& function, BarWindow& window, PciBar (&bars)[PciConfigSpace::kBars])
{
    const uint16_t saved = command(function);
    set_command(function,
                static_cast<uint16_t>(saved & ~(kCommandMemory | 1u))); // no decoding while the BARs hold size masks
    const char* problem = nullptr;
    for (unsigned i = 0; i < PciConfigSpace::kBars; i++) {
        bars[i] = {};
    }
    for (unsigned i = 0; i < PciConfigSpace::kBars && problem == nullptr; i++) {
        const uint32_t offset = kBar0 + 4 * i;
        const uint32_t original = function.read32(offset);
        if ((original & 1) != 0) {
            continue; // I/O space: not given to guests
        }
        const bool is64 = (original >> 1 & 3) == 2 && i + 1 < PciConfigSpace::kBars;
        function.write32(offset, ~0u);
        uint64_t mask = function.read32(offset) & ~0xfull;
        if (is64) {
            function.write32(offset + 4, ~0u);
            mask |= uint64_t{function.read32(offset + 4)} << 32;
        } else {
            mask |= 0xffffffff00000000ull;
        }
        const uint64_t size = mask == 0xffffffff00000000ull || mask == 0 ? 0 : ~mask + 1;
        if (size == 0) {
            function.write32(offset, original);
            i += is64 ? 1 : 0;
            continue;
        }
        // Page-aligned and page-sized at least: stage 2 maps whole pages,
        // so no other function's registers may share one.
        const uint64_t align = size < kPage ? kPage : size;
        const uint64_t base = (window.next + align - 1) & ~(align - 1);
        if (base < window.next || base + align > window.end || base + align < base) {
            problem = "no room for its BARs in the host bridge's 32-bit memory window";
            function.write32(offset, original);
            break;
        }
        window.next = base + align;
        bars[i] = {base, size, is64, (original & 8) != 0};
        function.write32(offset, static_cast<uint32_t>(base));
        if (is64) {
            function.write32(offset + 4, static_cast<uint32_t>(base >> 32));
            i++;
        }
    }
    set_command(function, saved);
    return problem;
}

void program_bars(PciFunction& function, const PciBar (&bars)[PciConfigSpace::kBars])
{
    for (unsigned i = 0; i < PciConfigSpace::kBars; i++) {
        if (bars[i].size == 0) {
            continue;
        }
        function.write32(kBar0 + 4 * i, static_cast<uint32_t>(bars[i].base));
        if (bars[i].is64) {
            function.write32(kBar0 + 4 * (i + 1), static_cast<uint32_t>(bars[i].base >> 32));
        }
    }
}

bool quiesce(PciFunction& function)
{
    // Bus Master Enable off: the function may start no more DMA (PCIe
    // Base 7.5.1.1.3); transfers it has in flight still complete, so its
    // VM's memory is given away only after the SMMU stopped translating
    // for it too (the caller detaches its stream).
    set_command(function, kCommandIntxDisable);
    const uint32_t express = find_capability(function, pci_cap::kExpress);
    if (express == 0 || (function.read32(express + 4) & (1u << 28)) == 0) { // Device Capabilities: FLR
        return false;
    }
    const uint32_t control = function.read32(express + 8) & 0xffff; // Device Control (Status above: RW1C)
    function.write32(express + 8, control | 1u << 15);              // Initiate Function Level Reset
    return true;
}

} // namespace pci_host
