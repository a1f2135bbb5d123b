// The boot CPU's path from the first C++ instruction to a running system.
#include <stdlib.h>
#include <string.h>

#include "kernel/base/boot_move.hpp"
#include "kernel/base/early.hpp"
#include "kernel/base/entropy.hpp"
#include "kernel/base/selftest.hpp"
#include "kernel/console/console.hpp"
#include "kernel/console/input.hpp"
#include "kernel/cpu/irq.hpp"
#include "kernel/cpu/percpu.hpp"
#include "kernel/cpu/smp.hpp"
#include "kernel/devices/calls/calls.hpp"
#include "kernel/devices/gic/vgic.hpp"
#include "kernel/devices/pmu/vpmu.hpp"
#include "kernel/loader/bytes.hpp"
#include "kernel/mem/colours.hpp"
#include "kernel/mem/el2_map.hpp"
#include "kernel/mem/memory.hpp"
#include "kernel/sched/sched.hpp"
#include "kernel/vm/configs.hpp"
#include "kernel/vm/dma.hpp"
#include "kernel/vm/msi.hpp"
#include "kernel/vm/vm.hpp"
#include "platform/cpu.hpp"
#include "platform/platform.hpp"
#include "platform/psci.hpp"

void stack_guard_init(uint64_t seed);
extern "C" char _text[], _end[];

namespace {

Platform platform;

const char* method_name(EnableMethod method)
{
    switch (method) {
    case EnableMethod::Psci: return "psci";
    case EnableMethod::SpinTable: return "spin-table";
    case EnableMethod::Unknown: break;
    }
    return "none";
}

/// The boot CPU's last-level cache and the page colours it gives (what a
/// VM's `colours` will choose from; docs/architecture.md, "Caches").
void print_cache(const CacheLevel& llc)
{
    if (llc.level == 0) {
        console::print("cache: the CPU reports no data or unified cache; 1 page colour\n");
        return;
    }
    console::print("cache: last level L%u %s, %lu KiB, %u ways of %lu KiB, %u-byte lines: %u page colours of 4 KiB\n",
                   llc.level, llc.unified ? "unified" : "data", llc.bytes() >> 10, llc.ways, llc.way_bytes() >> 10,
                   llc.line_bytes, page_colours(llc));
}

void print_summary(const Platform& p, uint64_t frequency)
{
    console::print("platform: %s\n", p.model);
    console::Line line;
    line.add("memory: %lu MiB in %lu bank%s:", p.total_memory() >> 20, p.memory_count, p.memory_count == 1 ? "" : "s");
    for (size_t i = 0; i < p.memory_count; i++) {
        line.add(" [0x%lx-0x%lx]", p.memory[i].base, p.memory[i].end() - 1);
    }
    line.print();
    for (size_t i = 0; i < p.reserved_count; i++) {
        console::print("reserved: [0x%lx-0x%lx]\n", p.reserved[i].base, p.reserved[i].end() - 1);
    }
    line.add("cpus: %lu, mpidr", p.cpu_count);
    bool same_method = true;
    for (size_t i = 0; i < p.cpu_count; i++) {
        line.add(" 0x%lx", p.cpus[i].mpidr);
        same_method = same_method && p.cpus[i].method == p.cpus[0].method;
    }
    line.add(", enable-method %s", same_method ? method_name(p.cpus[0].method) : "mixed");
    static const char* const kConduit[] = {"none", "smc", "hvc"};
    line.add(", psci conduit %s", kConduit[static_cast<int>(p.psci_conduit)]);
    line.print();
    if (p.cpus_ignored > 0) {
        log_warn("%lu more CPUs in the DTB are ignored (Vireo supports %d)", p.cpus_ignored, VIREO_MAX_CPUS);
    }
    const GicDesc& gic = p.gic;
    if (gic.version == 3) {
        line.add("gic: v3, gicd 0x%lx, gicr 0x%lx (%lu region%s)", gic.dist.base, gic.redist[0].base, gic.redist_count,
                 gic.redist_count == 1 ? "" : "s");
    } else {
        line.add("gic: v2, gicd 0x%lx, gicc 0x%lx, gich 0x%lx, gicv 0x%lx", gic.dist.base, gic.cpu_if.base,
                 gic.hyp_if.base, gic.virt_cpu_if.base);
    }
    if (gic.has_maintenance_irq) {
        line.add(", maintenance ppi %u", gic.maintenance_ppi);
    } else {
        line.add(", no maintenance interrupt");
    }
    line.print();
    console::print("uart: %s at 0x%lx (%s)\n", uart_kind_name(p.uart.kind), p.uart.base,
                   console_source_name(p.uart_source));
    console::print("timer: %lu Hz%s, ppi sec %u nonsec %u virt %u hyp %u\n", frequency,
                   p.timer.frequency != 0 ? " (clock-frequency)" : " (CNTFRQ_EL0)", p.timer.ppi[0], p.timer.ppi[1],
                   p.timer.ppi[2], p.timer.ppi[3]);
    if (p.has_pci) {
        console::print("pci: ECAM host bridge at 0x%lx, buses %02x-%02x, 32-bit window [0x%lx, 0x%lx)\n",
                       p.pci.ecam.base, p.pci.bus_first, p.pci.bus_last, p.pci.mmio32.base, p.pci.mmio32.end());
    } else if (p.pci_problem[0] != '\0') {
        console::print("pci: %s; VMs get no PCIe functions\n", p.pci_problem);
    }
}

/// Seeds the random bytes guests get (kernel/base/entropy.hpp), and says from what.
void seed_entropy(const Platform& p)
{
    entropy::add(p.rng_seed, p.rng_seed_size);
    const bool rndr = entropy::add_rndr();
    if (!entropy::ready()) {
        log_info("entropy: none (no /chosen/rng-seed from the boot loader, no RNDR): guests get no rng-seed");
        return;
    }
    log_info("entropy: guests get an rng-seed from %s%s%s", p.rng_seed_size != 0 ? "/chosen/rng-seed" : "",
             p.rng_seed_size != 0 && rndr ? " and " : "", rndr ? "RNDR" : "");
}

void apply_bootargs(const Platform& p)
{
    char value[16];
    if (find_bootarg(p.bootargs, "loglevel", value, sizeof value) != nullptr) {
        const long level = strtol(value, nullptr, 10);
        if (level >= 0 && level <= static_cast<long>(LogLevel::Debug)) {
            console::set_level(static_cast<LogLevel>(level));
        } else {
            log_warn("bootargs: loglevel=%s ignored, expected 0 (errors) to 3 (debug)", value);
        }
    }
}

} // namespace

namespace {

/// Where boot/start.S put Vireo, its DTB and the boot package (docs/boot.md,
/// "Where Vireo puts itself").
void report_move(uint64_t loaded_at, uint64_t loaded_dtb, uint64_t package_from, uint64_t stay_why)
{
    const auto text = reinterpret_cast<uint64_t>(_text);
    if (text == loaded_at) {
        console::print("boot: Vireo stays where it was loaded: %s\n", boot_stay_reason(stay_why));
        return;
    }
    console::print("boot: moved to the top of RAM, leaving the rest to VMs: image from 0x%lx, DTB from 0x%lx",
                   loaded_at, loaded_dtb);
    if (package_from != 0) {
        console::print(", boot package from 0x%lx", package_from);
    }
    console::print("\n");
}

/// A loader that reserved the boot package's RAM for the OS (U-Boot's booti
/// adds a /memreserve/ for the initrd) reserved its old place once it moved
/// (docs/boot.md): that RAM is free now.
void drop_old_package_reservation(Platform& p, uint64_t package_from)
{
    if (package_from == 0) {
        return;
    }
    const uint64_t end = package_from + p.initrd.size;
    for (size_t i = 0; i < p.reserved_count; i++) {
        const Range& r = p.reserved[i];
        if (r.base == package_from && r.end() >= end && r.end() <= bytes::align_up(end, 4096)) {
            log_info("boot: [0x%lx, 0x%lx), reserved for the boot package, is free: the package moved", r.base,
                     r.end());
            for (size_t j = i; j + 1 < p.reserved_count; j++) {
                p.reserved[j] = p.reserved[j + 1];
            }
            p.reserved_count--;
            return;
        }
    }
}

} // namespace

extern "C" [[noreturn]] void primary_main(uint64_t dtb, uint64_t entry_counter, uint64_t entry_el, uint64_t loaded_at,
                                          uint64_t loaded_dtb, uint64_t package_from, uint64_t stay_why)
{
    stack_guard_init(entry_counter ^ arch::counter());
    // Nothing is written before the DTB names the console: on another board
    // a guessed address could be RAM (a boot package) or some other device.
    const uint32_t dtb_size = early_dtb_size(dtb);
    const UartDesc early_uart = early_console(dtb).uart;
    console::attach(early_uart);
    el2_map::enable_early(dtb_size != 0 ? dtb : 0, dtb_size, early_uart.base);
    console::enable_locking();
    percpu_init(0, arch::read_mpidr() & kMpidrAffinityMask);

    console::print("\nVireo hypervisor, image at 0x%lx-0x%lx, DTB at 0x%lx\n", reinterpret_cast<uint64_t>(_text),
                   reinterpret_cast<uint64_t>(_end) - 1, dtb);
    if (entry_el == 3) {
        console::print("entered at EL3 (no firmware): dropped to EL2; SMCs to EL3 answer NOT_SUPPORTED\n");
    }
    report_move(loaded_at, loaded_dtb, package_from, stay_why);
    memory::note_loaded({loaded_at, reinterpret_cast<uint64_t>(_end) - reinterpret_cast<uint64_t>(_text)},
                        {loaded_dtb, dtb_size});
    if (dtb_size == 0) {
        halt(); // no device tree, so no console to say so on (docs/boot.md)
    }
    PlatformError error;
    if (!parse_platform(reinterpret_cast<const void*>(dtb), platform, error)) {
        log_error("device tree at 0x%lx: %s", dtb, error.message);
        log_error("cannot continue without a usable device tree; halting");
        halt();
    }
    apply_bootargs(platform);
    drop_old_package_reservation(platform, package_from);
    el2_map::enable_final(platform);
    if (platform.uart.kind != UartKind::None) {
        console::attach(platform.uart);
    }
    const uint64_t frequency = platform.timer.frequency != 0 ? platform.timer.frequency : arch::read_cntfrq();
    print_summary(platform, frequency);
    seed_entropy(platform);

    const uint64_t mpidr = arch::read_mpidr() & kMpidrAffinityMask;
    int boot_index = platform.cpu_index(mpidr);
    if (boot_index < 0) {
        log_warn("boot CPU (mpidr 0x%lx) is not in the DTB's /cpus", mpidr);
    }
    if (irq::init(platform) && vgic::init(platform)) {
        if (vgic::version() == 3) {
            log_info("vgic: GICv3 ICH interface, guest GICD at 0x%lx and GICR at 0x%lx (emulated), ICC through ICV",
                     Vgic::kGicdBase, Vgic::kGicrBase);
        } else {
            log_info("vgic: GICv2 virtualization extensions, guest GICD at 0x%lx (emulated), GICC at 0x%lx (GICV)",
                     Vgic::kGicdBase, Vgic::kGiccBase);
        }
    } else {
        log_warn("vgic: no GIC virtualization support on this host; VMs get no interrupt controller");
    }
    irq::init_cpu();
    vpmu::probe(); // before the secondary CPUs set up theirs
    const CacheLevel llc = arch::last_level_cache();
    print_cache(llc);
    memory::set_page_colours(colours::usable(page_colours(llc)));
    console_input::init(platform);
    console::print("cpu 0 online (mpidr 0x%lx)\n", mpidr);
    __atomic_store_n(&vireo_cpus[0].online, 1u, __ATOMIC_RELEASE);
    const smp::Cpus cpus = smp::start_secondaries(platform, static_cast<size_t>(boot_index));

    const uint64_t now = arch::counter();
    const uint64_t since_entry_us = (now - entry_counter) * 1000000 / frequency;
    const uint64_t since_reset_us = now * 1000000 / frequency;
    if (cpus.online == cpus.numbered) {
        console::print("all %lu CPUs online, %lu.%03lu ms after entry (%lu.%03lu ms after counter reset)\n",
                       cpus.online, since_entry_us / 1000, since_entry_us % 1000, since_reset_us / 1000,
                       since_reset_us % 1000);
    } else {
        log_error("only %lu of %lu CPUs online", cpus.online, cpus.numbered);
    }

    run_selftest(platform);
    memory::init(platform, dtb, dtb_size);
    dma::init(platform); // before any VM: every DMA stream behind an SMMU aborts
    msi::init(platform, cpus.numbered);
    vcpu_cpu_init(vcpu_ipa_bits());
    vpmu::init_cpu();
    calls::probe_firmware(platform.psci_conduit);
    const vm_configs::Specs wanted = vm_configs::load(platform, cpus.numbered, reinterpret_cast<const void*>(dtb));
    if (wanted.count > 0 || platform.initrd.size != 0) {
        if (vms::create_all(wanted.specs, wanted.count, cpus.numbered, platform) == 0) {
            log_error("no VM could be started");
            vms::power_off("no VM to run"); // as after the last VM stops
        }
        uint32_t focus = 0;
        for (uint32_t i = 0; vms::at(i) != nullptr; i++) {
            if (vms::at(i)->spec->config->console_input) {
                focus = i;
                break;
            }
        }
        console_input::start(focus);
        sched::run();
    }
    char value[4];
    if (find_bootarg(platform.bootargs, "vireo.poweroff", value, sizeof value) != nullptr) {
        console::print("vireo.poweroff: powering off\n");
        const int64_t ret = psci::call(platform.psci_conduit, psci::kSystemOff);
        log_error("PSCI SYSTEM_OFF returned %ld (%s)", ret, psci::error_name(ret));
    }
    console::print("no guests configured; cpu 0 idle\n");
    sched::run();
}
