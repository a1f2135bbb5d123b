// The console reader Vireo runs with the MMU off (platform/early_fdt.cpp):
// any blob whose header passed early_dtb_size (magic, a totalsize it
// maps); reads must stay inside totalsize and a UART found has an address.
// Then platform discovery (fdt_platform.cpp, fdt_pci.cpp) on the same
// blob: what it says about the SMMUs and the PCIe host bridge holds
// together. The input is the DTB.
#include <stdlib.h>
#include <string.h>

#include "platform/boot_place.hpp"
#include "platform/early_fdt.hpp"
#include "platform/platform.hpp"

namespace {

bool is_spi(uint32_t intid) { return intid >= 32 && intid < 1020; }

/// A bridge Vireo would use is whole; one it would not use left nothing behind.
bool apart(uint64_t base, uint64_t end, const Range& r) { return r.size == 0 || end <= r.base || r.end() <= base; }

/// What boot/start.S reads before it moves Vireo, and where it would move
/// it to: inside one bank, clear of reserved memory and of the three as
/// they are, aligned; a package written into /chosen reads back.
bool move_consistent(uint8_t* dtb)
{
    early_fdt::BootMemory m;
    if (!early_fdt::boot_memory(dtb, m)) {
        return true;
    }
    if (m.bank_count > early_fdt::BootMemory::kMaxBanks || m.reserved_count > early_fdt::BootMemory::kMaxReserved) {
        return false;
    }
    const boot_place::Inputs in = boot_place::inputs(m, {0x40200000, 0x101000}, {0x48000000, 0x10000}, 0x70'0000'0000);
    const boot_place::Plan p = boot_place::plan(in);
    if (p.move) {
        const uint64_t top = p.image + ((in.image.size + boot_place::kImageAlign - 1) & ~(boot_place::kImageAlign - 1));
        const uint64_t base = p.package != 0 ? p.package : p.dtb;
        bool in_a_bank = false;
        for (size_t i = 0; i < m.bank_count; i++) {
            in_a_bank |= base >= m.banks[i].base && top <= m.banks[i].end() && base < top;
        }
        if (!in_a_bank || top > in.limit || p.image % boot_place::kImageAlign != 0 || p.dtb % 4096 != 0 ||
            p.package % 4096 != 0 || !apart(base, top, in.image) || !apart(base, top, in.dtb) ||
            (p.package != 0 && !apart(base, top, in.package))) {
            return false;
        }
        for (size_t i = 0; i < m.reserved_count; i++) {
            if (!apart(base, top, m.reserved[i])) {
                return false;
            }
        }
    }
    const Range moved{0x7f000000, 0x2000};
    if (early_fdt::set_package(dtb, moved)) {
        early_fdt::BootMemory again;
        early_fdt::boot_memory(dtb, again);
        if (again.package.base != moved.base || again.package.size != moved.size) {
            return false;
        }
    }
    early_fdt::bootargs_word(dtb, "vireo.stay");
    return true;
}

bool bridge_consistent(const Platform& p)
{
    const PciHostDesc& pci = p.pci;
    if (!p.has_pci) {
        return pci.ecam.size == 0 && pci.intx_count == 0 && pci.iommu.count == 0 && pci.msi.count == 0;
    }
    if (pci.ecam.size < (1u << 20) || pci.bus_first > pci.bus_last || pci.bus_last > 255 ||
        pci.bus_last - pci.bus_first >= pci.ecam.size >> 20 || (pci.mmio32.size == 0 && pci.mmio64.size == 0) ||
        pci.intx_count > PciHostDesc::kMaxIntx || pci.iommu.count > PciHostDesc::IdMap::kMax ||
        pci.msi.count > PciHostDesc::IdMap::kMax) {
        return false;
    }
    for (uint32_t device = 0; device < 33; device++) {
        for (uint32_t pin = 0; pin < 6; pin++) {
            const uint32_t intid = pci.intx_intid(device, pin);
            if (intid != 0 && !is_spi(intid)) {
                return false;
            }
        }
    }
    static const uint32_t kRids[] = {0, 0x10, 0xffff, 0x10000, ~0u};
    for (uint32_t rid : kRids) {
        size_t smmu = 0;
        uint32_t sid = 0;
        if (pci.stream_of(rid, p, smmu, sid) && smmu >= p.smmu_count) {
            return false;
        }
    }
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 40 || size > (1u << 20)) {
        return 0;
    }
    const uint32_t magic = __builtin_bswap32(*reinterpret_cast<const uint32_t*>(data));
    const uint32_t total = __builtin_bswap32(*reinterpret_cast<const uint32_t*>(data + 4));
    if (magic != 0xd00dfeed || total < 40 || total > size) {
        return 0;
    }
    // Exactly totalsize bytes on the heap, so ASan sees any read past them.
    auto* dtb = static_cast<uint8_t*>(aligned_alloc(8, (total + 7) & ~7u));
    memcpy(dtb, data, total);
    const early_fdt::Console c = early_fdt::find_console(dtb);
    if (c.uart.kind != UartKind::None && (c.uart.base == 0 || c.source == ConsoleSource::None)) {
        __builtin_trap();
    }
    Range reg;
    if (c.node >= 0) {
        early_fdt::node_reg(dtb, c.node, 0, reg);
    }
    if (!move_consistent(dtb)) {
        __builtin_trap();
    }
    memcpy(dtb, data, total); // as it was, for platform discovery
    Platform platform;
    PlatformError error;
    if (parse_platform(dtb, platform, error) &&
        (platform.smmu_count > Platform::kMaxSmmus || !bridge_consistent(platform) ||
         memchr(platform.pci_problem, 0, sizeof platform.pci_problem) == nullptr)) {
        __builtin_trap();
    }
    free(dtb);
    return 0;
}
