// What the test guests need of a PCIe host bridge with a generic ECAM
// (compatible "pci-host-ecam-generic"): where its configuration space and
// 32-bit memory window are and which INTID a function's INTx is, all from
// the DTB; 32- and 16-bit configuration accesses, the capability list and
// MSI. Bus 0 only.
#pragma once

#include <libfdt.h>
#include <stdint.h>
#include <string.h>

#include "guest.hpp"

namespace guest::pci {

// Type-0 header (PCI Local Bus 3.0, section 6.1; PCIe 6.0, section 7.5.1).
constexpr uint32_t kId = 0x00; // Device ID << 16 | Vendor ID
constexpr uint32_t kCommand = 0x04;
constexpr uint32_t kBar0 = 0x10;
constexpr uint32_t kRomBar = 0x30;
constexpr uint32_t kStatusRegister = 0x06; // PCI Status: bit 4, a capability list
constexpr uint32_t kCapPointer = 0x34;
constexpr uint32_t kFirstExtended = 0x100; // the first extended capability's header (PCIe 6.0, section 7.6)
constexpr uint16_t kMemorySpace = 1u << 1;
constexpr uint16_t kBusMaster = 1u << 2;
constexpr uint32_t kAbsent = 0xffffffff;    // what a read of a function that is not there returns
constexpr uint32_t kBarAddressMask = ~0xfu; // memory BAR bits 3:0: prefetchable, type, I/O

/// One function's configuration space in an ECAM: bus 0, so offset =
/// device << 15 | function << 12 | register (PCIe 6.0, section 7.2.2).
struct Function {
    uint64_t base;

    Function(uint64_t ecam, uint32_t device, uint32_t function) : base(ecam + (device << 15 | function << 12)) {}
    uint32_t read32(uint32_t offset) const { return *reinterpret_cast<volatile uint32_t*>(base + offset); }
    void write32(uint32_t offset, uint32_t v) const { *reinterpret_cast<volatile uint32_t*>(base + offset) = v; }
    uint16_t read16(uint32_t offset) const { return *reinterpret_cast<volatile uint16_t*>(base + offset); }
    void write16(uint32_t offset, uint16_t v) const { *reinterpret_cast<volatile uint16_t*>(base + offset) = v; }
};

/// The offset of the first capability with ID `id` in `fn`'s list, or 0.
inline uint32_t find_capability(const Function& fn, uint8_t id)
{
    if ((fn.read16(kStatusRegister) & 1u << 4) == 0) {
        return 0;
    }
    // A list that loops is cut after the most it can hold (one per dword).
    uint32_t at = fn.read32(kCapPointer) & 0xfc;
    for (int n = 0; at >= 0x40 && n < 48; n++, at = fn.read32(at) >> 8 & 0xfc) {
        if ((fn.read32(at) & 0xff) == id) {
            return at;
        }
    }
    return 0;
}

// The MSI capability (PCI Local Bus 3.0, 6.8.1): Message Control in the
// upper half of its first dword (bit 0 MSI Enable, bits 6:4 Multiple
// Message Enable, bit 7 64-bit addresses), then the message address and
// data.
constexpr uint8_t kCapMsi = 0x05;

/// Points `fn`'s MSI at `address` with `data`, one message, and enables
/// it; false if `fn` has no MSI capability.
inline bool set_msi(const Function& fn, uint64_t address, uint16_t data)
{
    const uint32_t cap = find_capability(fn, kCapMsi);
    if (cap == 0) {
        return false;
    }
    const uint32_t control = fn.read32(cap) >> 16;
    const bool wide = (control & 1u << 7) != 0;
    fn.write32(cap + 4, static_cast<uint32_t>(address));
    if (wide) {
        fn.write32(cap + 8, static_cast<uint32_t>(address >> 32));
    }
    fn.write16(cap + (wide ? 0xc : 0x8), data);
    fn.write16(cap + 2, static_cast<uint16_t>((control & ~(7u << 4)) | 1));
    return true;
}

struct HostBridge {
    uint64_t ecam = 0;
    uint64_t ecam_size = 0;
    uint32_t bus_first = 0;
    uint32_t bus_last = 0;
    bool is_pci = false;     // device_type = "pci"
    bool probe_only = false; // /chosen linux,pci-probe-only = <1>: firmware placed the BARs
    uint64_t window = 0;     // the 32-bit memory window, as CPU addresses
    uint64_t window_size = 0;
};

/// A one-cell property, or `fallback` without it.
inline uint32_t cell(const void* fdt, int node, const char* name, uint32_t fallback)
{
    int len = 0;
    const void* p = fdt_getprop(fdt, node, name, &len);
    return p != nullptr && len == 4 ? static_cast<uint32_t>(dt_cells(p, 1)) : fallback;
}

/// The first ECAM host bridge in the DTB at `dtb`; its node offset, or a
/// negative libfdt error.
inline int find_host_bridge(uint64_t dtb, HostBridge& out)
{
    const void* fdt = reinterpret_cast<const void*>(dtb);
    if (dtb == 0 || fdt_check_header(fdt) != 0) {
        return -FDT_ERR_BADMAGIC;
    }
    const int node = fdt_node_offset_by_compatible(fdt, -1, "pci-host-ecam-generic");
    if (node < 0) {
        return node;
    }
    const int address_cells = fdt_address_cells(fdt, 0);
    const int size_cells = fdt_size_cells(fdt, 0);
    int len = 0;
    const auto* reg = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "reg", &len));
    if (reg == nullptr || len < 4 * (address_cells + size_cells)) {
        return -FDT_ERR_BADVALUE;
    }
    out.ecam = dt_cells(reg, address_cells);
    out.ecam_size = dt_cells(reg + address_cells, size_cells);
    const auto* range = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "bus-range", &len));
    out.bus_first = range != nullptr && len == 8 ? fdt32_to_cpu(range[0]) : 0;
    out.bus_last = range != nullptr && len == 8 ? fdt32_to_cpu(range[1]) : 255;
    const char* type = static_cast<const char*>(fdt_getprop(fdt, node, "device_type", nullptr));
    out.is_pci = type != nullptr && strcmp(type, "pci") == 0;
    out.probe_only = cell(fdt, fdt_path_offset(fdt, "/chosen"), "linux,pci-probe-only", 0) == 1;
    // ranges: <PCI address (3 cells), CPU address, size>; the space code in
    // the PCI address' bits 25:24 is 2 for 32-bit memory (PCI Bus Binding
    // to IEEE 1275, section 2.2.1.1).
    const int entry = 3 + address_cells + fdt_size_cells(fdt, node);
    const auto* ranges = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "ranges", &len));
    for (int i = 0; ranges != nullptr && (i + 1) * entry * 4 <= len; i++) {
        const fdt32_t* e = ranges + i * entry;
        if ((fdt32_to_cpu(e[0]) >> 24 & 3) == 2) {
            out.window = dt_cells(e + 3, address_cells);
            out.window_size = dt_cells(e + 3 + address_cells, entry - 3 - address_cells);
        }
    }
    return node;
}

/// The INTID that pin `pin` (1 = INTA .. 4 = INTD) of device `device` on
/// bus 0 is wired to, from the bridge's interrupt-map (Open Firmware
/// interrupt mapping: child unit address (3 cells) and pin, masked by
/// interrupt-map-mask, then the parent's phandle, unit address and GIC
/// specifier <type number flags>); 0 if the map has none.
inline uint32_t intx_intid(uint64_t dtb, int bridge, uint32_t device, uint32_t pin)
{
    const void* fdt = reinterpret_cast<const void*>(dtb);
    int len = 0;
    const auto* map = static_cast<const fdt32_t*>(fdt_getprop(fdt, bridge, "interrupt-map", &len));
    int mask_len = 0;
    const auto* mask = static_cast<const fdt32_t*>(fdt_getprop(fdt, bridge, "interrupt-map-mask", &mask_len));
    if (map == nullptr || mask == nullptr || mask_len != 16) {
        return 0;
    }
    const fdt32_t* end = map + len / 4;
    for (const fdt32_t* e = map; e + 5 <= end;) {
        const int parent = fdt_node_offset_by_phandle(fdt, fdt32_to_cpu(e[4]));
        // Without #address-cells the parent's unit address is empty (as Linux reads it).
        const uint32_t address_cells = cell(fdt, parent, "#address-cells", 0);
        const uint32_t interrupt_cells = cell(fdt, parent, "#interrupt-cells", 0);
        const fdt32_t* spec = e + 5 + address_cells;
        if (parent < 0 || interrupt_cells < 2 || spec + interrupt_cells > end) {
            return 0;
        }
        const bool match = (fdt32_to_cpu(e[0]) & fdt32_to_cpu(mask[0])) == ((device << 11) & fdt32_to_cpu(mask[0])) &&
                           (fdt32_to_cpu(e[3]) & fdt32_to_cpu(mask[3])) == (pin & fdt32_to_cpu(mask[3]));
        if (match) {
            const uint32_t number = fdt32_to_cpu(spec[1]);
            return fdt32_to_cpu(spec[0]) == 0 ? 32 + number : 16 + number; // SPI or PPI
        }
        e = spec + interrupt_cells;
    }
    return 0;
}

} // namespace guest::pci
