// Platform discovery from the firmware's flattened device tree, through
// libfdt. Pure logic: the same file is built into the host unit tests.
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "platform/early_fdt.hpp"
#include "platform/fdt_pci.hpp"
#include "platform/fdt_props.hpp"
#include "platform/format.hpp"
#include "platform/platform.hpp"

namespace {

template <typename... Args> bool fail(PlatformError& error, const char* fmt, Args... args)
{
    format(error.message, sizeof error.message, fmt, args...);
    return false;
}

using fdt_props::node_enabled;
using fdt_props::read_cells;

bool node_reg(const void* fdt, int node, int index, Range& out) { return early_fdt::node_reg(fdt, node, index, out); }

void copy_string(char* dst, size_t size, const char* src)
{
    if (src != nullptr) {
        strncpy(dst, src, size - 1);
        dst[size - 1] = '\0';
    }
}

bool parse_memory(const void* fdt, Platform& out, PlatformError& error)
{
    for (int node = fdt_node_offset_by_prop_value(fdt, -1, "device_type", "memory", sizeof "memory"); node >= 0;
         node = fdt_node_offset_by_prop_value(fdt, node, "device_type", "memory", sizeof "memory")) {
        if (!node_enabled(fdt, node)) {
            continue;
        }
        Range bank;
        for (int i = 0; node_reg(fdt, node, i, bank); i++) {
            if (bank.size == 0) {
                continue;
            }
            if (out.memory_count == Platform::kMaxMemory) {
                return fail(error, "more than %lu memory banks", Platform::kMaxMemory);
            }
            out.memory[out.memory_count++] = bank;
        }
    }
    if (out.memory_count == 0) {
        return fail(error, "no memory: no /memory node with a usable reg property");
    }
    return true;
}

void add_reserved(Platform& out, Range range)
{
    if (range.size != 0 && out.reserved_count < Platform::kMaxReserved) {
        out.reserved[out.reserved_count++] = range;
    }
}

void parse_reserved(const void* fdt, Platform& out)
{
    const int count = fdt_num_mem_rsv(fdt);
    for (int i = 0; i < count; i++) {
        Range range;
        if (fdt_get_mem_rsv(fdt, i, &range.base, &range.size) == 0) {
            add_reserved(out, range);
        }
    }
    const int parent = fdt_path_offset(fdt, "/reserved-memory");
    if (parent < 0) {
        return;
    }
    int node = 0;
    fdt_for_each_subnode(node, fdt, parent)
    {
        Range range;
        for (int i = 0; node_enabled(fdt, node) && node_reg(fdt, node, i, range); i++) {
            add_reserved(out, range);
        }
    }
}

bool parse_cpus(const void* fdt, Platform& out, PlatformError& error)
{
    const int cpus = fdt_path_offset(fdt, "/cpus");
    if (cpus < 0) {
        return fail(error, "no /cpus node");
    }
    const int addr_cells = fdt_address_cells(fdt, cpus);
    int node = 0;
    fdt_for_each_subnode(node, fdt, cpus)
    {
        const char* type = static_cast<const char*>(fdt_getprop(fdt, node, "device_type", nullptr));
        if (type == nullptr || strcmp(type, "cpu") != 0 || !node_enabled(fdt, node)) {
            continue;
        }
        int len = 0;
        const auto* reg = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "reg", &len));
        if (reg == nullptr || addr_cells < 1 || addr_cells > 2 || len < addr_cells * 4) {
            return fail(error, "/cpus/%s: missing or short reg (expected %d cells of MPIDR)",
                        fdt_get_name(fdt, node, nullptr), addr_cells);
        }
        if (out.cpu_count == Platform::kMaxCpus) {
            out.cpus_ignored++;
            continue;
        }
        CpuDesc& cpu = out.cpus[out.cpu_count++];
        cpu.mpidr = read_cells(reg, addr_cells);
        const char* method = static_cast<const char*>(fdt_getprop(fdt, node, "enable-method", nullptr));
        if (method != nullptr && strcmp(method, "psci") == 0) {
            cpu.method = EnableMethod::Psci;
        } else if (method != nullptr && strcmp(method, "spin-table") == 0) {
            const auto* release = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "cpu-release-addr", &len));
            if (release != nullptr && (len == 4 || len == 8)) {
                cpu.method = EnableMethod::SpinTable;
                cpu.release_addr = read_cells(release, len / 4);
            }
        }
    }
    if (out.cpu_count == 0) {
        return fail(error, "no CPUs: /cpus has no enabled node with device_type \"cpu\"");
    }
    return true;
}

void parse_psci(const void* fdt, Platform& out)
{
    static const char* const kCompatible[] = {"arm,psci-1.0", "arm,psci-0.2", "arm,psci"};
    for (const char* compatible : kCompatible) {
        const int node = fdt_node_offset_by_compatible(fdt, -1, compatible);
        if (node < 0 || !node_enabled(fdt, node)) {
            continue;
        }
        const char* method = static_cast<const char*>(fdt_getprop(fdt, node, "method", nullptr));
        if (method != nullptr && strcmp(method, "smc") == 0) {
            out.psci_conduit = Conduit::Smc;
        } else if (method != nullptr && strcmp(method, "hvc") == 0) {
            out.psci_conduit = Conduit::Hvc;
        }
        return;
    }
}

/// Interrupt specifier `index` of `node` as a PPI number, if it is one
/// (first cell 1 = PPI in the GIC binding; 3 or 4 cells per specifier).
bool ppi_of(const void* fdt, int node, int index, int cells, uint32_t& ppi)
{
    int len = 0;
    const auto* irq = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "interrupts", &len));
    if (irq == nullptr || cells < 3 || cells > 4 || index < 0 || int64_t{index + 1} * cells * 4 > len ||
        fdt32_ld(&irq[index * cells]) != 1) {
        return false;
    }
    ppi = fdt32_ld(&irq[index * cells + 1]);
    return ppi < 16;
}

/// The first interrupt of `node` as a GIC INTID if it is an SPI (first
/// cell 0 in the GIC binding), else 0.
uint32_t spi_of(const void* fdt, int node)
{
    int len = 0;
    const auto* irq = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "interrupts", &len));
    if (irq == nullptr || len < 8 || fdt32_ld(&irq[0]) != 0 || fdt32_ld(&irq[1]) > 987) {
        return 0;
    }
    return 32 + fdt32_ld(&irq[1]);
}

/// A /chosen property holding an address in one or two cells (U-Boot and
/// QEMU use either for linux,initrd-start/end).
bool chosen_address(const void* fdt, int chosen, const char* name, uint64_t& value)
{
    int len = 0;
    const auto* cells = static_cast<const fdt32_t*>(fdt_getprop(fdt, chosen, name, &len));
    if (cells == nullptr || (len != 4 && len != 8)) {
        return false;
    }
    value = read_cells(cells, len / 4);
    return true;
}

int interrupt_cells(const void* fdt, int gic)
{
    int len = 0;
    const auto* cells = static_cast<const fdt32_t*>(fdt_getprop(fdt, gic, "#interrupt-cells", &len));
    return cells != nullptr && len == 4 ? static_cast<int>(fdt32_ld(cells)) : 3;
}

bool parse_gic(const void* fdt, Platform& out, PlatformError& error, int& gic_node)
{
    GicDesc& gic = out.gic;
    gic_node = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3");
    if (gic_node >= 0) {
        gic.version = 3;
        const auto* regions =
            static_cast<const fdt32_t*>(fdt_getprop(fdt, gic_node, "#redistributor-regions", nullptr));
        const size_t count = regions != nullptr ? fdt32_ld(regions) : 1;
        if (count == 0 || count > GicDesc::kMaxRedistRegions) {
            return fail(error, "GICv3 %s: #redistributor-regions is %lu, expected 1 to %lu",
                        fdt_get_name(fdt, gic_node, nullptr), count, GicDesc::kMaxRedistRegions);
        }
        if (!node_reg(fdt, gic_node, 0, gic.dist)) {
            return fail(error, "GICv3 %s: no distributor in reg", fdt_get_name(fdt, gic_node, nullptr));
        }
        for (size_t i = 0; i < count; i++) {
            if (!node_reg(fdt, gic_node, static_cast<int>(1 + i), gic.redist[i])) {
                return fail(error, "GICv3 %s: reg lacks redistributor region %lu", fdt_get_name(fdt, gic_node, nullptr),
                            i);
            }
        }
        gic.redist_count = count;
        const int next = static_cast<int>(1 + count);
        node_reg(fdt, gic_node, next, gic.cpu_if);
        node_reg(fdt, gic_node, next + 1, gic.hyp_if);
        node_reg(fdt, gic_node, next + 2, gic.virt_cpu_if);
        // The first enabled ITS (QEMU virt's at 0x08080000; the RK3588 has two).
        for (int its = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3-its"); its >= 0;
             its = fdt_node_offset_by_compatible(fdt, its, "arm,gic-v3-its")) {
            if (node_enabled(fdt, its) && node_reg(fdt, its, 0, gic.its)) {
                gic.its_phandle = fdt_get_phandle(fdt, its);
                break;
            }
            gic.its = {};
        }
    } else {
        static const char* const kGicV2[] = {"arm,gic-400", "arm,cortex-a15-gic", "arm,cortex-a9-gic",
                                             "arm,cortex-a7-gic"};
        for (const char* compatible : kGicV2) {
            gic_node = fdt_node_offset_by_compatible(fdt, -1, compatible);
            if (gic_node >= 0) {
                break;
            }
        }
        if (gic_node < 0) {
            return fail(error, "no interrupt controller: expected a node compatible with arm,gic-v3 or "
                               "arm,gic-400/arm,cortex-a15-gic");
        }
        gic.version = 2;
        if (!node_reg(fdt, gic_node, 0, gic.dist) || !node_reg(fdt, gic_node, 1, gic.cpu_if)) {
            return fail(error, "GICv2 %s: reg must hold the distributor and the CPU interface",
                        fdt_get_name(fdt, gic_node, nullptr));
        }
        node_reg(fdt, gic_node, 2, gic.hyp_if);
        node_reg(fdt, gic_node, 3, gic.virt_cpu_if);
        // The first enabled GICv2m frame (QEMU virt's at 0x08020000; MSI_TYPER says which SPIs it raises).
        for (int frame = fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v2m-frame"); frame >= 0;
             frame = fdt_node_offset_by_compatible(fdt, frame, "arm,gic-v2m-frame")) {
            if (node_enabled(fdt, frame) && node_reg(fdt, frame, 0, gic.msi_frame)) {
                break;
            }
            gic.msi_frame = {};
        }
    }
    gic.has_maintenance_irq = ppi_of(fdt, gic_node, 0, interrupt_cells(fdt, gic_node), gic.maintenance_ppi);
    return true;
}

void parse_timer(const void* fdt, Platform& out, int gic_node)
{
    int node = fdt_node_offset_by_compatible(fdt, -1, "arm,armv8-timer");
    if (node < 0) {
        node = fdt_node_offset_by_compatible(fdt, -1, "arm,armv7-timer");
    }
    if (node < 0) {
        return;
    }
    TimerDesc& timer = out.timer;
    timer.found = true;
    const int cells = interrupt_cells(fdt, gic_node);
    for (int i = 0; i < 4; i++) {
        ppi_of(fdt, node, i, cells, timer.ppi[i]);
    }
    const auto* freq = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "clock-frequency", nullptr));
    timer.frequency = freq != nullptr ? fdt32_ld(freq) : 0;
}

/// The PMU's SPIs, one per CPU: entry i of `interrupts` belongs to the
/// CPU node entry i of `interrupt-affinity` points to (the binding,
/// Documentation/devicetree/bindings/arm/pmu.yaml). An SPI without a CPU
/// of its own (a single one, combined for all CPUs) is not taken: the CPU
/// it reached would find no overflow of its own PMU to act on.
void parse_pmu_spis(const void* fdt, Platform& out, int node, int cells)
{
    int len = 0;
    int affinity_len = 0;
    const auto* irq = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "interrupts", &len));
    const auto* affinity = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "interrupt-affinity", &affinity_len));
    if (irq == nullptr || affinity == nullptr || cells < 3 || len / (cells * 4) != affinity_len / 4) {
        return;
    }
    const int addr_cells = fdt_address_cells(fdt, fdt_path_offset(fdt, "/cpus"));
    for (int i = 0; i < affinity_len / 4; i++) {
        const uint32_t spi = fdt32_ld(&irq[i * cells + 1]);
        const int cpu_node = fdt_node_offset_by_phandle(fdt, fdt32_ld(&affinity[i]));
        int reg_len = 0;
        const auto* reg = static_cast<const fdt32_t*>(fdt_getprop(fdt, cpu_node, "reg", &reg_len));
        if (fdt32_ld(&irq[i * cells]) != 0 || spi > 987 || reg == nullptr || addr_cells < 1 || addr_cells > 2 ||
            reg_len < addr_cells * 4) {
            continue;
        }
        const int cpu = out.cpu_index(read_cells(reg, addr_cells));
        if (cpu >= 0) {
            out.cpus[cpu].pmu_spi = 32 + spi;
        }
    }
}

void parse_pmu(const void* fdt, Platform& out, int gic_node)
{
    const int node = fdt_node_offset_by_compatible(fdt, -1, "arm,armv8-pmuv3");
    if (node < 0) {
        return;
    }
    const int cells = interrupt_cells(fdt, gic_node);
    uint32_t ppi = 0;
    if (ppi_of(fdt, node, 0, cells, ppi)) {
        out.pmu_ppi = ppi;
    } else {
        parse_pmu_spis(fdt, out, node, cells);
    }
}

void parse_chosen(const void* fdt, Platform& out)
{
    const int chosen = fdt_path_offset(fdt, "/chosen");
    if (chosen < 0) {
        return;
    }
    copy_string(out.bootargs, sizeof out.bootargs,
                static_cast<const char*>(fdt_getprop(fdt, chosen, "bootargs", nullptr)));
    uint64_t initrd_start = 0;
    uint64_t initrd_end = 0;
    if (chosen_address(fdt, chosen, "linux,initrd-start", initrd_start) &&
        chosen_address(fdt, chosen, "linux,initrd-end", initrd_end) && initrd_end > initrd_start) {
        out.initrd = {initrd_start, initrd_end - initrd_start};
    }
    int len = 0;
    const auto* seed = static_cast<const uint8_t*>(fdt_getprop(fdt, chosen, "rng-seed", &len));
    if (seed != nullptr && len > 0) {
        out.rng_seed_size =
            static_cast<size_t>(len) < Platform::kMaxRngSeed ? static_cast<size_t>(len) : Platform::kMaxRngSeed;
        memcpy(out.rng_seed, seed, out.rng_seed_size);
    }
}

void parse_console(const void* fdt, Platform& out)
{
    const early_fdt::Console console = early_fdt::find_console(fdt);
    out.uart = console.uart;
    out.uart_source = console.source;
    if (console.node >= 0) {
        out.uart.intid = spi_of(fdt, console.node);
    }
}

} // namespace

uint64_t Platform::total_memory() const
{
    uint64_t total = 0;
    for (size_t i = 0; i < memory_count; i++) {
        total += memory[i].size;
    }
    return total;
}

int Platform::cpu_index(uint64_t mpidr) const
{
    for (size_t i = 0; i < cpu_count; i++) {
        if ((cpus[i].mpidr & kMpidrAffinityMask) == (mpidr & kMpidrAffinityMask)) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

bool parse_platform(const void* fdt, Platform& out, PlatformError& error)
{
    out = Platform{};
    if (fdt == nullptr) {
        return fail(error, "no device tree: the boot loader passed 0 in x0");
    }
    const int header = fdt_check_header(fdt);
    if (header != 0) {
        return fail(error, "not a valid device tree: %s", fdt_strerror(header));
    }
    copy_string(out.model, sizeof out.model, static_cast<const char*>(fdt_getprop(fdt, 0, "model", nullptr)));
    if (out.model[0] == '\0') {
        copy_string(out.model, sizeof out.model, "(no model)");
    }
    int gic_node = -1;
    if (!parse_memory(fdt, out, error) || !parse_cpus(fdt, out, error) || !parse_gic(fdt, out, error, gic_node)) {
        return false;
    }
    parse_reserved(fdt, out);
    parse_psci(fdt, out);
    parse_timer(fdt, out, gic_node);
    parse_pmu(fdt, out, gic_node);
    parse_chosen(fdt, out);
    parse_console(fdt, out);
    fdt_pci::parse_smmus(fdt, gic_node, out);
    fdt_pci::parse_host_bridge(fdt, gic_node, out);
    return true;
}

const char* find_bootarg(const char* bootargs, const char* option, char* value, size_t value_size)
{
    const size_t option_len = strlen(option);
    for (const char* p = bootargs; p != nullptr && *p != '\0';) {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        const char* end = p;
        while (*end != '\0' && *end != ' ' && *end != '\t') {
            end++;
        }
        if (static_cast<size_t>(end - p) >= option_len && strncmp(p, option, option_len) == 0 &&
            (p + option_len == end || p[option_len] == '=')) {
            const char* start = p + option_len + (p + option_len == end ? 0 : 1);
            const size_t len =
                static_cast<size_t>(end - start) < value_size - 1 ? static_cast<size_t>(end - start) : value_size - 1;
            memcpy(value, start, len);
            value[len] = '\0';
            return value;
        }
        p = end;
    }
    return nullptr;
}
