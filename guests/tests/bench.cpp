// Exit-path benchmark: the cost of a null hypercall, a trapped MMIO read, a
// trapped system-register read and a (virtual) GICD read; the latency of a
// virtual timer interrupt (vCPU running, and blocked in WFI) and of an IPI
// to a second vCPU; the traps an interrupt's acknowledge and EOI cost; on
// GICv3, an LPI raised by the ITS's INT command (to its handler) and the
// round trip of an ITS command (queued, CWRITER, CREADR polled until the
// ITS has done it: the VM's virtual ITS, natively QEMU's); and, when QEMU's
// edu is at 00:02.0 (tests/configs/bare/bench-msi.dts passes it through;
// natively -device edu,addr=2), only the latency of its MSI: from the write
// to its interrupt-raise register to the handler of the LPI the ITS makes
// of it. And four rows of the standard measurement ("std-", see below).
// Timed with CNTVCT. Runs as a VM under Vireo (tests/configs/bare/bench.dts) or natively
// at EL1 (QEMU -kernel bench.elf without virtualization=on) for the
// baseline; scripts/bench runs both under -icount shift=0, where the
// counter follows executed instructions.
#include <string.h>

#include "lib/edu.hpp"
#include "lib/gic.hpp"
#include "lib/guest.hpp"
#include "lib/its.hpp"
#include "lib/pci.hpp"

using namespace guest;
using namespace guest::gic;

namespace {

constexpr uint64_t kIterations = 100000;
constexpr uint64_t kDevice = 0x0a000000; // test device under Vireo; virtio-mmio natively

__attribute__((noinline)) uint64_t time_loop()
{
    const uint64_t start = counter();
    for (uint64_t i = 0; i < kIterations; i++) {
        asm volatile("" ::: "memory");
    }
    return counter() - start;
}

__attribute__((noinline)) uint64_t time_hvc()
{
    const uint64_t start = counter();
    for (uint64_t i = 0; i < kIterations; i++) {
        register uint64_t x0 asm("x0") = kHcNull;
        asm volatile("hvc #0" : "+r"(x0)::"x1", "x2", "x3", "memory");
    }
    return counter() - start;
}

__attribute__((noinline)) uint64_t time_mmio()
{
    const uint64_t start = counter();
    for (uint64_t i = 0; i < kIterations; i++) {
        (void)*reinterpret_cast<volatile uint32_t*>(kDevice);
    }
    return counter() - start;
}

__attribute__((noinline)) uint64_t time_sysreg()
{
    const uint64_t start = counter();
    for (uint64_t i = 0; i < kIterations; i++) {
        uint64_t v;
        asm volatile("mrs %0, id_aa64pfr0_el1" : "=r"(v)::"memory");
    }
    return counter() - start;
}

__attribute__((noinline)) uint64_t time_gicd()
{
    const uint64_t start = counter();
    for (uint64_t i = 0; i < kIterations; i++) {
        (void)read32(kGicd + 0x004); // GICD_TYPER
    }
    return counter() - start;
}

// --- interrupt latencies -------------------------------------------------

constexpr uint32_t kRounds = 50;
constexpr uint32_t kIpiSgi = 3;

volatile uint64_t timer_hits;
volatile uint64_t timer_late_sum;
volatile uint64_t timer_late_worst;
volatile uint64_t ipi_sent_at;
volatile uint64_t ipi_hits;
volatile uint64_t ipi_latency_sum;
volatile uint64_t secondary_ready;
volatile uint64_t stop_secondary;
volatile uint64_t secondary_busy; // the secondary spins in a YIELD loop instead of waiting in WFI

volatile uint64_t lpi_sent_at;
volatile uint64_t lpi_hits;
volatile uint64_t lpi_latency_sum;
constexpr uint32_t kBenchLpi = its::kFirstLpi;

extern "C" void guest_irq()
{
    const uint64_t now = counter();
    const uint32_t iar = acknowledge();
    const uint32_t id = iar & 0x3ff;
    if (iar == kBenchLpi) {
        lpi_latency_sum = lpi_latency_sum + (now - lpi_sent_at);
        lpi_hits = lpi_hits + 1;
    } else if (id == kTimer) {
        uint64_t cval;
        asm volatile("mrs %0, cntv_cval_el0" : "=r"(cval));
        const uint64_t late = now - cval;
        timer_late_sum = timer_late_sum + late;
        if (late > timer_late_worst) {
            timer_late_worst = late;
        }
        stop_timer();
        timer_hits = timer_hits + 1;
    } else if (id == kIpiSgi) {
        ipi_latency_sum = ipi_latency_sum + (now - ipi_sent_at);
        ipi_hits = ipi_hits + 1;
    }
    end(iar);
}

void cpu_interrupts_on()
{
    enable_private(kTimer);
    enable_private(kIpiSgi); // a real GIC may not enable SGIs by itself
    set_private_priority(kTimer, 0x80);
    set_private_priority(kIpiSgi, 0x80);
    enable_cpu_interface();
    asm volatile("msr daifclr, #2");
}

/// Average instructions from CNTV_CVAL to the handler's first instruction,
/// the vCPU spinning (`wfi` false) or blocked in WFI, `rounds` times with
/// the timer `delay` ticks ahead; `name` is the figure's BENCH name (the
/// default: timer-latency-running or -wfi).
void time_timer(bool wfi, uint32_t rounds = kRounds, uint64_t delay = 20000, const char* name = nullptr)
{
    timer_hits = 0;
    timer_late_sum = 0;
    timer_late_worst = 0;
    const uint64_t exits_before =
        static_cast<uint64_t>(call(kHcExitCount, kExitMmio)) + static_cast<uint64_t>(call(kHcExitCount, kExitSysReg));
    for (uint32_t i = 0; i < rounds; i++) {
        arm_timer(delay);
        while (timer_hits == i) {
            if (wfi) {
                asm volatile("wfi");
            }
        }
    }
    const uint64_t exits_after =
        static_cast<uint64_t>(call(kHcExitCount, kExitMmio)) + static_cast<uint64_t>(call(kHcExitCount, kExitSysReg));
    if (name != nullptr) {
        print("BENCH %s: %lu.00 ticks/op (worst %lu)\n", name, timer_late_sum / rounds, timer_late_worst);
        return;
    }
    print("BENCH timer-latency-%s: %lu.00 ticks/op (worst %lu)\n", wfi ? "wfi" : "running", timer_late_sum / rounds,
          timer_late_worst);
    if (!wfi) {
        // Acknowledge and EOI go to the (virtual) CPU interface: no trap.
        print("BENCH traps-per-interrupt: %lu.00 ticks/op\n", (exits_after - exits_before) / kRounds);
    }
}

/// Average instructions from sending an SGI to the handler's first
/// instruction. To itself: the hypervisor's whole path (trap, pending,
/// list register, delivery). To a vCPU waiting in WFI on another CPU: that
/// plus waking it, where TCG's round-robin scheduling of QEMU's CPUs under
/// -icount also counts (natively too), so it is reported, not judged.
void time_ipi(uint32_t target, const char* name)
{
    ipi_hits = 0;
    ipi_latency_sum = 0;
    for (uint32_t i = 0; i < kRounds; i++) {
        const uint64_t wait = counter();
        while (counter() - wait < 20000) {
        }
        ipi_sent_at = counter();
        send_sgi(kIpiSgi, 1u << target);
        while (ipi_hits == i) {
            if (secondary_busy) {
                asm volatile("yield"); // to the other CPU at once under TCG, untrapped
            } else if (target != 0) {
                asm volatile("wfe");
            }
        }
    }
    print("BENCH %s: %lu.00 ticks/op\n", name, ipi_latency_sum / kRounds);
}

// --- LPIs through the ITS (GICv3) ---------------------------------------

// Tables and queue from allocate() (lib/guest.hpp): after the image, below
// the DTB (bench.dts: 4 MiB of RAM, the DTB in its top 2 MiB).
its::CommandQueue its_queue;
uint64_t its_rdbase; // vCPU 0 as MAPC and SYNC name it

/// The ITS started (lib/its.hpp) with LPI 8192 enabled, and event 0 of
/// DeviceID `device` mapped to it on vCPU 0.
bool its_setup(uint32_t device)
{
    its_rdbase = its::start(its_queue, 0, 1, 0xa0);
    const uint64_t itt = allocate(256, 256);
    return its_queue.send(its::cmd::mapc(0, its_rdbase), its::cmd::mapd(device, itt, 1),
                          its::cmd::mapti(device, 0, kBenchLpi, 0), its::cmd::inv(device, 0),
                          its::cmd::sync(its_rdbase));
}

/// From queueing INT (its CWRITER write) to the LPI's handler on this vCPU.
void time_lpi()
{
    lpi_hits = 0;
    lpi_latency_sum = 0;
    for (uint32_t i = 0; i < kRounds; i++) {
        const uint64_t wait = counter();
        while (counter() - wait < 20000) {
        }
        its_queue.push(its::cmd::int_(1, 0));
        lpi_sent_at = counter();
        its_queue.publish();
        while (lpi_hits == i) {
        }
    }
    print("BENCH lpi-latency-int: %lu.00 ticks/op\n", lpi_latency_sum / kRounds);
}

// The edu function at 00:02.0: its MSI (event 0 of DeviceID 0x10, its
// requester ID, natively and under Vireo) to the ITS's doorbell.
constexpr uint32_t kEduSlot = 2;

/// The function at 00:02.0 of the bridge in the DTB at `dtb`, if it is edu.
bool find_edu(uint64_t dtb, pci::Function& fn)
{
    pci::HostBridge bridge;
    if (dtb == 0 || pci::find_host_bridge(dtb, bridge) < 0) {
        return false;
    }
    fn = pci::Function(bridge.ecam, kEduSlot, 0);
    if (fn.read32(pci::kId) != edu::kPciId) {
        return false;
    }
    if ((fn.read32(pci::kBar0) & pci::kBarAddressMask) == 0) {
        fn.write32(pci::kBar0, static_cast<uint32_t>(bridge.window)); // natively nothing placed it
    }
    return true;
}

/// From the write to edu's interrupt-raise register (each sends one MSI)
/// to the LPI's handler on this vCPU.
void time_msi(const pci::Function& fn)
{
    const edu::Device device{fn.read32(pci::kBar0) & pci::kBarAddressMask};
    fn.write16(pci::kCommand, pci::kMemorySpace | pci::kBusMaster); // an MSI is a DMA write
    if (!pci::set_msi(fn, its::kTranslater, 0) || !its_setup(kEduSlot << 3)) {
        print("bench: edu's MSI could not be set up\n");
        return;
    }
    lpi_hits = 0;
    lpi_latency_sum = 0;
    for (uint32_t i = 0; i < kRounds; i++) {
        const uint64_t wait = counter();
        while (counter() - wait < 20000) {
        }
        lpi_sent_at = counter();
        device.w32(edu::kIrqRaise, 1);
        while (lpi_hits == i) {
        }
    }
    print("BENCH msi-latency-edu: %lu.00 ticks/op\n", lpi_latency_sum / kRounds);
}

/// A SYNC queued and waited for (GITS_CREADR polled), per command.
void time_its_command()
{
    constexpr uint32_t kCommands = 1000;
    const uint64_t start = counter();
    for (uint32_t i = 0; i < kCommands; i++) {
        its_queue.send(its::cmd::sync(its_rdbase));
    }
    print("BENCH its-command: %lu.00 ticks/op\n", (counter() - start) / kCommands);
}

// --- the standard measurement ---------------------------------------------
//
// The four rows as the widely used arm64 hypervisor micro-benchmark takes
// them (scripts/bench runs them with -cpu cortex-a72, 2 vCPUs): the
// counter around 65 536 operations, or around each of 50 for the 10 ms
// timer; reported in nanoseconds, which under -icount shift=0 are
// instructions, both CPUs' counted.

constexpr uint32_t kStandardOps = 65536;
constexpr uint32_t kStandardTimerOps = 50;
constexpr uint32_t kUnknownCall = 0x4b000000; // no SMCCC service owns it

uint64_t ns_per_op(uint64_t ticks, uint64_t ops, uint64_t freq) { return ticks * 1000000000 / freq / ops; }

/// An HVC with a function ID nobody implements (refused: NOT_SUPPORTED).
void standard_null_call(uint64_t freq)
{
    const uint64_t start = counter();
    for (uint32_t i = 0; i < kStandardOps; i++) {
        register uint64_t x0 asm("x0") = kUnknownCall;
        asm volatile("hvc #0" : "+r"(x0)::"x1", "x2", "x3", "memory");
    }
    print("BENCH std-null-call: %lu.00 ns/op\n", ns_per_op(counter() - start, kStandardOps, freq));
}

void standard_gicd_iidr(uint64_t freq)
{
    const uint64_t start = counter();
    for (uint32_t i = 0; i < kStandardOps; i++) {
        (void)read32(kGicd + 0x008); // GICD_IIDR
    }
    print("BENCH std-gicd-iidr: %lu.00 ns/op\n", ns_per_op(counter() - start, kStandardOps, freq));
}

/// A 10 ms deadline armed, YIELD until the handler ran, less the 10 ms.
void standard_timer(uint64_t freq)
{
    const uint64_t deadline = freq / 100;
    uint64_t late = 0;
    timer_hits = 0;
    for (uint32_t i = 0; i < kStandardTimerOps; i++) {
        const uint64_t start = counter();
        arm_timer(deadline);
        while (timer_hits == i) {
            asm volatile("yield");
        }
        late += counter() - start - deadline;
    }
    print("BENCH std-timer-10ms: %lu.00 ns/op\n", ns_per_op(late, kStandardTimerOps, freq));
}

/// An SGI to the second vCPU, spinning, until its handler ran (YIELD while waiting).
void standard_ipi(uint64_t freq)
{
    const uint64_t first = ipi_hits;
    const uint64_t start = counter();
    for (uint32_t i = 0; i < kStandardOps; i++) {
        send_sgi(kIpiSgi, 1u << 1);
        while (ipi_hits == first + i) {
            asm volatile("yield"); // to the other CPU at once under TCG, untrapped
        }
    }
    print("BENCH std-ipi: %lu.00 ns/op\n", ns_per_op(counter() - start, kStandardOps, freq));
}

void report(const char* name, uint64_t ticks, uint64_t loop)
{
    // Hundredths of a tick per operation, beyond the empty loop.
    const uint64_t per_op = (ticks - loop) * 100 / kIterations;
    print("BENCH %s: %lu.%02lu ticks/op\n", name, per_op / 100, per_op % 100);
}

} // namespace

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    // Natively, HVC reaches QEMU's own PSCI, which answers -1 to our call.
    const bool native = call(kHcUid) != 0x7669726f;
    if (native) {
        use_pl011_console(0x09000000);
    }
    uint64_t freq;
    asm volatile("mrs %0, cntfrq_el0" : "=r"(freq));
    print("BENCH mode: %s, %lu iterations, counter %lu Hz\n", native ? "native" : "vireo", kIterations, freq);
    pci::Function edu_fn(0, 0, 0);
    if (v3() && find_edu(dtb, edu_fn)) {
        enable_distributor();
        cpu_interrupts_on();
        time_msi(edu_fn);
        asm volatile("msr daifset, #2");
        return;
    }
    const uint64_t loop = time_loop();
    report("null-hypercall", time_hvc(), loop);
    report("mmio-read", time_mmio(), loop);
    report("sysreg-read", time_sysreg(), loop);
    report("gicd-read", time_gicd(), loop);
    standard_null_call(freq); // the second vCPU not started yet, as there
    standard_gicd_iidr(freq);

    enable_distributor();
    cpu_interrupts_on();
    time_timer(false);
    time_timer(true);
    call(kPsciCpuOn, 1, reinterpret_cast<uint64_t>(secondary_entry), 0);
    while (secondary_ready == 0) {
    }
    if (v3()) {
        if (its_setup(1)) {
            time_lpi();
            time_its_command();
        } else {
            print("bench: the ITS did not take the setup commands\n");
        }
    }
    time_ipi(0, "ipi-latency-self");
    time_ipi(1, "ipi-latency-to-wfi");
    // The way a common hypervisor micro-benchmark measures: the second vCPU
    // busy (a YIELD loop) meanwhile, every CPU's instructions counted; a
    // 10 ms timer deadline, and IPIs to the busy vCPU.
    secondary_busy = 1;
    send_sgi(kIpiSgi, 1u << 1); // out of its WFI, into the loop
    while (ipi_hits == kRounds) {
    }
    time_timer(true, 10, freq / 100, "timer-latency-busy-neighbour");
    time_ipi(1, "ipi-latency-to-busy-vcpu");
    standard_ipi(freq);
    standard_timer(freq);
    stop_secondary = 1;
    asm volatile("msr daifset, #2");
}

extern "C" void guest_secondary(uint64_t, uint64_t)
{
    cpu_interrupts_on();
    secondary_ready = 1;
    while (stop_secondary == 0) {
        if (secondary_busy) {
            asm volatile("yield");
        } else {
            asm volatile("wfi");
        }
    }
    asm volatile("msr daifset, #2");
}
