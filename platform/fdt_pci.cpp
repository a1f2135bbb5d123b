// The SMMUv3s and the ECAM PCIe host bridge in the firmware's device tree.
// Bindings followed (Linux's Documentation/devicetree/bindings/): the
// SMMUv3's iommu/arm,smmu-v3.yaml; the bridge's pci/host-generic-pci.yaml
// and the PCI bus binding (IEEE 1275's, with its interrupt-map practice,
// DT spec 2.4.3); pci/pci-iommu.txt for iommu-map. Pure logic: the same
// file is built into the host unit tests.
#include "platform/fdt_pci.hpp"

#include <libfdt.h>
#include <string.h>

#include "platform/early_fdt.hpp"
#include "platform/fdt_props.hpp"
#include "platform/format.hpp"

namespace {

using fdt_props::Cells;
using fdt_props::node_enabled;
using fdt_props::prop_cells;
using fdt_props::prop_u32;

constexpr uint32_t kSpiIntidBase = 32; // GIC spec 2.2.1: SPIs are INTIDs 32-1019
constexpr uint32_t kMaxSpi = 987;
constexpr uint32_t kMaxBus = 255;
constexpr uint64_t kEcamBusSize = 1 << 20; // PCIe Base spec 7.2.2: 32 devices x 8 functions x 4 KiB

/// A GIC interrupt specifier <type number flags> as an INTID if it is an
/// SPI (type 0 in the GIC binding), else 0.
uint32_t spi_intid(const fdt32_t* specifier, uint32_t cells)
{
    if (cells < 3 || fdt32_ld(&specifier[0]) != 0 || fdt32_ld(&specifier[1]) > kMaxSpi) {
        return 0;
    }
    return kSpiIntidBase + fdt32_ld(&specifier[1]);
}

/// The interrupt controller `node`'s interrupts go to: its interrupt-parent, else
/// its parent's, up to the first node with #interrupt-cells (as Linux's
/// of_irq_find_parent). Bounded, so a cycle of phandles ends.
int interrupt_parent(const void* fdt, int node)
{
    for (int hops = 0; node >= 0 && hops < 64; hops++) {
        uint32_t phandle = 0;
        node = prop_u32(fdt, node, "interrupt-parent", phandle) ? fdt_node_offset_by_phandle(fdt, phandle)
                                                                : fdt_parent_offset(fdt, node);
        if (node >= 0 && fdt_getprop(fdt, node, "#interrupt-cells", nullptr) != nullptr) {
            return node;
        }
    }
    return -1;
}

bool parse_smmu(const void* fdt, int node, int gic, SmmuDesc& smmu)
{
    if (!early_fdt::node_reg(fdt, node, 0, smmu.regs) || smmu.regs.size == 0) {
        return false;
    }
    smmu.phandle = fdt_get_phandle(fdt, node);
    smmu.coherent = fdt_getprop(fdt, node, "dma-coherent", nullptr) != nullptr;
    uint32_t cells = 0;
    const Cells irqs = prop_cells(fdt, node, "interrupts");
    if (interrupt_parent(fdt, node) != gic || !prop_u32(fdt, gic, "#interrupt-cells", cells) || cells < 3 ||
        !irqs.ok()) {
        return true; // no wired interrupts Vireo can take: their INTIDs stay 0
    }
    // Without interrupt-names (the binding requires them), the order its
    // text lists them in, which QEMU's follow.
    static const char* const kNames[] = {"eventq", "priq", "cmdq-sync", "gerror"};
    uint32_t* const fields[] = {&smmu.eventq_intid, &smmu.priq_intid, &smmu.cmdq_sync_intid, &smmu.gerror_intid};
    const bool named = fdt_getprop(fdt, node, "interrupt-names", nullptr) != nullptr;
    for (int i = 0; i < 4; i++) {
        const int index = named ? fdt_stringlist_search(fdt, node, "interrupt-names", kNames[i]) : i;
        if (index >= 0 && static_cast<uint64_t>(index + 1) * cells <= static_cast<uint64_t>(irqs.count)) {
            *fields[i] = spi_intid(&irqs.cells[static_cast<uint32_t>(index) * cells], cells);
        }
    }
    return true;
}

/// What keeps a bridge from being used, in words for the boot log; null: nothing.
using Problem = const char*;

/// phys.hi, the first cell of a PCI address (PCI bus binding 2.2.1.1:
/// npt000ss bbbbbbbb dddddfff rrrrrrrr).
struct PciPhysHi {
    enum class Space : uint32_t { Config = 0, Io = 1, Mem32 = 2, Mem64 = 3 };
    uint32_t value;
    Space space() const { return static_cast<Space>(value >> 24 & 3); }
    bool prefetchable() const { return (value >> 30 & 1) != 0; }
};

Problem parse_ecam(const void* fdt, int node, PciHostDesc& pci)
{
    if (!early_fdt::node_reg(fdt, node, 0, pci.ecam) || pci.ecam.size < kEcamBusSize) {
        return "reg gives no ECAM of at least one bus (1 MiB)";
    }
    uint32_t last = kMaxBus;
    const Cells range = prop_cells(fdt, node, "bus-range");
    if (range.found) {
        if (!range.ok() || range.count != 2 || range.at(0) > range.at(1) || range.at(1) > kMaxBus) {
            return "bus-range is not <first last> within 0-255";
        }
        pci.bus_first = range.at(0);
        last = range.at(1);
    }
    // The ECAM starts at bus_first's config space; buses past its end have none.
    const uint64_t ecam_last = pci.bus_first + pci.ecam.size / kEcamBusSize - 1;
    pci.bus_last = static_cast<uint32_t>(last < ecam_last ? last : ecam_last);
    return nullptr;
}

/// True if every bus above `node` passes addresses through unchanged (an
/// empty ranges), so the parent addresses in its ranges are CPU addresses.
bool parent_is_cpu_space(const void* fdt, int node)
{
    for (int bus = fdt_parent_offset(fdt, node); bus > 0; bus = fdt_parent_offset(fdt, bus)) {
        const Cells ranges = prop_cells(fdt, bus, "ranges");
        if (!ranges.ok() || ranges.count != 0) {
            return false;
        }
    }
    return true;
}

/// ranges: <phys.hi pci-address(2) cpu-address size> entries; the first
/// window of each space is taken. A prefetchable 32-bit window is not
/// mmio32: only prefetchable BARs may go there.
Problem parse_windows(const void* fdt, int node, PciHostDesc& pci)
{
    uint32_t addr_cells = 0;
    uint32_t size_cells = 0;
    if (!prop_u32(fdt, node, "#address-cells", addr_cells) || addr_cells != 3 ||
        !prop_u32(fdt, node, "#size-cells", size_cells) || size_cells < 1 || size_cells > 2) {
        return "#address-cells and #size-cells are not 3 and 2 (a PCI bus)";
    }
    const int parent_cells = fdt_address_cells(fdt, fdt_parent_offset(fdt, node));
    if (parent_cells < 1 || parent_cells > 2 || !parent_is_cpu_space(fdt, node)) {
        return "sits on a bus that translates addresses (not supported)";
    }
    const Cells ranges = prop_cells(fdt, node, "ranges");
    const int width = 3 + parent_cells + static_cast<int>(size_cells);
    if (!ranges.ok() || ranges.count == 0 || ranges.count % width != 0) {
        return "ranges is missing or not whole <pci-address cpu-address size> entries";
    }
    for (int i = 0; i < ranges.count; i += width) {
        const PciPhysHi hi{ranges.at(i)};
        const uint64_t pci_base = ranges.read(i + 1, 2);
        const Range cpu{ranges.read(i + 3, parent_cells),
                        ranges.read(i + 3 + parent_cells, static_cast<int>(size_cells))};
        if (cpu.size == 0) {
            continue;
        }
        if (cpu.end() <= cpu.base) {
            return "a ranges window wraps around the address space";
        }
        auto take = [&](Range& window, uint64_t& window_pci) {
            if (window.size == 0) {
                window = cpu;
                window_pci = pci_base;
            }
        };
        switch (hi.space()) {
        case PciPhysHi::Space::Io: take(pci.io, pci.io_pci); break;
        case PciPhysHi::Space::Mem32:
            if (!hi.prefetchable()) {
                take(pci.mmio32, pci.mmio32_pci);
            }
            break;
        case PciPhysHi::Space::Mem64: take(pci.mmio64, pci.mmio64_pci); break;
        case PciPhysHi::Space::Config: break;
        }
    }
    if (pci.mmio32.size == 0 && pci.mmio64.size == 0) {
        return "ranges gives no memory window";
    }
    return nullptr;
}

/// interrupt-map: <phys.hi phys.mid phys.lo pin> <parent phandle> <the
/// parent's unit address (its #address-cells)> <its specifier (its
/// #interrupt-cells)> per entry. Entries whose interrupt is not a GIC SPI
/// are left out; a map that cannot be walked refuses the bridge.
Problem parse_intx(const void* fdt, int node, int gic, PciHostDesc& pci)
{
    const Cells map = prop_cells(fdt, node, "interrupt-map");
    if (!map.found) {
        return nullptr; // no INTx: its functions can only use MSIs
    }
    const Cells mask = prop_cells(fdt, node, "interrupt-map-mask");
    uint32_t child_irq_cells = 0;
    if (!map.ok() || !mask.ok() || mask.count != 4 || !prop_u32(fdt, node, "#interrupt-cells", child_irq_cells) ||
        child_irq_cells != 1) {
        return "interrupt-map needs a 4-cell interrupt-map-mask and #interrupt-cells = 1";
    }
    pci.intx_mask = mask.at(0);
    pci.intx_pin_mask = mask.at(3);
    constexpr int kChildCells = 4;
    for (int i = 0; i < map.count;) {
        if (map.count - i < kChildCells + 1) {
            return "interrupt-map is truncated";
        }
        const int parent = fdt_node_offset_by_phandle(fdt, map.at(i + kChildCells));
        uint32_t parent_addr_cells = 0; // absent: 0, as Linux's of_irq_parse_raw reads it
        uint32_t parent_irq_cells = 0;
        if (parent < 0 || !prop_u32(fdt, parent, "#interrupt-cells", parent_irq_cells) || parent_irq_cells == 0 ||
            parent_irq_cells > 4 ||
            (fdt_getprop(fdt, parent, "#address-cells", nullptr) != nullptr &&
             (!prop_u32(fdt, parent, "#address-cells", parent_addr_cells) || parent_addr_cells > 4))) {
            return "interrupt-map names an unknown parent or one without usable #interrupt-cells";
        }
        const int specifier = i + kChildCells + 1 + static_cast<int>(parent_addr_cells);
        const int next = specifier + static_cast<int>(parent_irq_cells);
        if (next > map.count) {
            return "interrupt-map is truncated";
        }
        // A function's own address is <phys.hi 0 0>: an entry with masked
        // bits set in phys.mid or phys.lo matches no function.
        const bool reachable = ((map.at(i + 1) & mask.at(1)) | (map.at(i + 2) & mask.at(2))) == 0;
        const uint32_t intid = parent == gic ? spi_intid(&map.cells[specifier], parent_irq_cells) : 0;
        if (reachable && intid != 0 && pci.intx_count < PciHostDesc::kMaxIntx) {
            pci.intx[pci.intx_count++] = {map.at(i) & pci.intx_mask, map.at(i + 3) & pci.intx_pin_mask, intid};
        }
        i = next;
    }
    return nullptr;
}

/// iommu-map or msi-map: <rid-base phandle id-base length> entries
/// (pci-iommu.txt, pci-msi.txt), with its mask. An entry naming no node or
/// wrapping around is left out: the functions it covers count as behind
/// no SMMU (not confined: they need the VM's explicit opt-in) or no MSI
/// controller (INTx only).
Problem parse_id_map(const void* fdt, int node, const char* name, const char* mask_name, PciHostDesc::IdMap& out)
{
    const bool iommu = strcmp(name, "iommu-map") == 0;
    const Cells map = prop_cells(fdt, node, name);
    if (!map.found) {
        return nullptr;
    }
    if (!map.ok() || map.count % 4 != 0) {
        return iommu ? "iommu-map is not whole <rid-base iommu sid-base length> entries"
                     : "msi-map is not whole <rid-base msi-controller msi-base length> entries";
    }
    const Cells mask = prop_cells(fdt, node, mask_name);
    if (mask.found) {
        if (!mask.ok() || mask.count != 1) {
            return iommu ? "iommu-map-mask is not one cell" : "msi-map-mask is not one cell";
        }
        out.rid_mask = mask.at(0);
    }
    for (int i = 0; i < map.count && out.count < PciHostDesc::IdMap::kMax; i += 4) {
        const PciHostDesc::IdMap::Entry entry{map.at(i), map.at(i + 1), map.at(i + 2), map.at(i + 3)};
        const uint64_t limit = uint64_t{1} << 32;
        if (entry.length == 0 || entry.rid_base + uint64_t{entry.length} > limit ||
            entry.id_base + uint64_t{entry.length} > limit || fdt_node_offset_by_phandle(fdt, entry.phandle) < 0) {
            continue;
        }
        out.entries[out.count++] = entry;
    }
    return nullptr;
}

/// With no ECAM bridge, names the first enabled PCI bus of another kind so
/// the boot log says why PCIe is not used.
void note_other_bridge(const void* fdt, Platform& out)
{
    for (int node = fdt_node_offset_by_prop_value(fdt, -1, "device_type", "pci", sizeof "pci"); node >= 0;
         node = fdt_node_offset_by_prop_value(fdt, node, "device_type", "pci", sizeof "pci")) {
        if (node_enabled(fdt, node)) {
            const char* compatible = static_cast<const char*>(fdt_getprop(fdt, node, "compatible", nullptr));
            format(out.pci_problem, sizeof out.pci_problem, "%s: %s is not pci-host-ecam-generic",
                   fdt_get_name(fdt, node, nullptr), compatible != nullptr ? compatible : "no compatible");
            return;
        }
    }
}

} // namespace

namespace fdt_pci {

void parse_smmus(const void* fdt, int gic, Platform& out)
{
    for (int node = fdt_node_offset_by_compatible(fdt, -1, "arm,smmu-v3"); node >= 0;
         node = fdt_node_offset_by_compatible(fdt, node, "arm,smmu-v3")) {
        if (!node_enabled(fdt, node)) {
            continue;
        }
        if (out.smmu_count == Platform::kMaxSmmus) {
            out.smmus_ignored++;
            continue;
        }
        if (parse_smmu(fdt, node, gic, out.smmu[out.smmu_count])) {
            out.smmu_count++;
        } else {
            out.smmu[out.smmu_count] = SmmuDesc{};
        }
    }
}

void parse_host_bridge(const void* fdt, int gic, Platform& out)
{
    int node = fdt_node_offset_by_compatible(fdt, -1, "pci-host-ecam-generic");
    while (node >= 0 && !node_enabled(fdt, node)) {
        node = fdt_node_offset_by_compatible(fdt, node, "pci-host-ecam-generic");
    }
    if (node < 0) {
        note_other_bridge(fdt, out);
        return;
    }
    PciHostDesc& pci = out.pci;
    Problem problem = parse_ecam(fdt, node, pci);
    problem = problem != nullptr ? problem : parse_windows(fdt, node, pci);
    problem = problem != nullptr ? problem : parse_intx(fdt, node, gic, pci);
    problem = problem != nullptr ? problem : parse_id_map(fdt, node, "iommu-map", "iommu-map-mask", pci.iommu);
    problem = problem != nullptr ? problem : parse_id_map(fdt, node, "msi-map", "msi-map-mask", pci.msi);
    if (problem != nullptr) {
        format(out.pci_problem, sizeof out.pci_problem, "%s: %s", fdt_get_name(fdt, node, nullptr), problem);
        pci = PciHostDesc{};
        return;
    }
    pci.coherent = fdt_getprop(fdt, node, "dma-coherent", nullptr) != nullptr;
    out.has_pci = true;
}

} // namespace fdt_pci

uint32_t PciHostDesc::intx_intid(uint32_t device, uint32_t pin) const
{
    if (device > 31 || pin < 1 || pin > 4) {
        return 0;
    }
    // The function's unit address as the map sees it: phys.hi of its config
    // space, on the root bus (Linux's of_irq_parse_pci builds the same).
    const uint32_t unit = (bus_first << 16 | device << 11) & intx_mask;
    for (size_t i = 0; i < intx_count; i++) {
        if (intx[i].devfn_bits == unit && intx[i].pin == (pin & intx_pin_mask)) {
            return intx[i].intid;
        }
    }
    return 0;
}

const PciHostDesc::IdMap::Entry* PciHostDesc::IdMap::find(uint32_t rid, uint32_t& id) const
{
    const uint32_t masked = rid & rid_mask;
    for (size_t i = 0; i < count; i++) {
        if (masked - entries[i].rid_base < entries[i].length) { // below rid_base wraps to a large offset
            id = entries[i].id_base + (masked - entries[i].rid_base);
            return &entries[i];
        }
    }
    return nullptr;
}

bool PciHostDesc::stream_of(uint32_t rid, const Platform& platform, size_t& smmu, uint32_t& sid) const
{
    const IdMap::Entry* entry = iommu.find(rid, sid);
    for (size_t s = 0; entry != nullptr && s < platform.smmu_count; s++) {
        if (platform.smmu[s].phandle == entry->phandle) {
            smmu = s;
            return true;
        }
    }
    return false; // behind no SMMU, or one that is disabled or was not usable
}

bool PciHostDesc::device_id_of(uint32_t rid, const Platform& platform, uint32_t& device) const
{
    const IdMap::Entry* entry = msi.find(rid, device);
    return entry != nullptr && platform.gic.its.size != 0 && entry->phandle == platform.gic.its_phandle;
}
