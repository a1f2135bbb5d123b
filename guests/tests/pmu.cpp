// The virtual PMUv3 (docs/vcpu.md, "Performance monitors"): what the guest
// is told (PMUVer, PMCR_EL0.N, PMCEID0/1), the cycle counter counting over
// a busy loop and stopping when disabled, exact software increments, the
// EL filters, UNDEFINED for a counter the PMU does not have, the overflow
// interrupt on PPI 7 (INTID 23) of the virtual GIC, level-sensitive, and,
// with bootargs "role=N" (tests/configs/bare/two-pmu.dts), two VMs on one
// physical CPU that never see each other's counts.
#include <stdio.h>

#include "lib/gic.hpp"
#include "lib/guest.hpp"

using namespace guest;
using namespace guest::gic;

namespace {

constexpr uint32_t kPmuIntid = 23;
constexpr uint64_t kCycle = 1ull << 31;
constexpr uint64_t kPmcrE = 1, kPmcrP = 2, kPmcrC = 4, kPmcrLc = 1u << 6;
constexpr uint64_t kSwIncr = 0x00, kCpuCycles = 0x11;
constexpr uint64_t kExcludeEl1 = 1ull << 31;

#define MSR(reg, v) asm volatile("msr " #reg ", %0\n\tisb" ::"r"(static_cast<uint64_t>(v)))
#define MRS(reg)                                                                                                       \
    ({                                                                                                                 \
        uint64_t v_;                                                                                                   \
        asm volatile("isb\n\tmrs %0, " #reg : "=r"(v_));                                                               \
        v_;                                                                                                            \
    })

volatile uint32_t taken;     // overflow interrupts
volatile uint64_t ovs_taken; // PMOVSSET seen by the last one

void spin(uint64_t ticks)
{
    const uint64_t start = counter();
    while (counter() - start < ticks) {
    }
}

unsigned counters() { return static_cast<unsigned>((MRS(pmcr_el0) >> 11) & 0x1f); }

void select_counter(uint64_t n) { MSR(pmselr_el0, n); }

void set_type(uint64_t n, uint64_t type)
{
    select_counter(n);
    MSR(pmxevtyper_el0, type);
}

void set_count(uint64_t n, uint64_t value)
{
    select_counter(n);
    MSR(pmxevcntr_el0, value);
}

uint64_t count(uint64_t n)
{
    select_counter(n);
    return MRS(pmxevcntr_el0);
}

/// Everything stopped, cleared and quiet.
void quiesce()
{
    MSR(pmcntenclr_el0, ~0ull);
    MSR(pmintenclr_el1, ~0ull);
    MSR(pmovsclr_el0, ~0ull);
    MSR(pmcr_el0, kPmcrP | kPmcrC);
}

bool pmu_pending_in_gic() { return (read32(private_base() + 0x200) >> kPmuIntid) & 1; } // ISPENDR0

void test_identity()
{
    const uint64_t dfr0 = MRS(id_aa64dfr0_el1);
    const unsigned pmuver = (dfr0 >> 8) & 0xf;
    const uint64_t pmcr = MRS(pmcr_el0);
    const uint64_t ceid0 = MRS(pmceid0_el0);
    const uint64_t ceid1 = MRS(pmceid1_el0);
    print("pmu: PMUVer %u, PMCR_EL0 0x%lx (N %u, IMP 0x%lx), PMCEID0 0x%lx, PMCEID1 0x%lx\n", pmuver, pmcr, counters(),
          pmcr >> 24, ceid0, ceid1);
    char details[64];
    snprintf(details, sizeof details, "PMUVer %u", pmuver);
    test("pmu-pmuver-is-pmuv3", pmuver >= 1 && pmuver <= 4, details);
    snprintf(details, sizeof details, "N %u", counters());
    test("pmu-pmcr-n-has-counters", counters() >= 1 && counters() <= 31, details);
    test("pmu-pmceid-sw-incr-and-cpu-cycles", (ceid0 & 1) != 0 && ((ceid0 >> kCpuCycles) & 1) != 0);
    // SPE's SAMPLE_* events (0x4000-0x4003) are hidden with SPE.
    test("pmu-pmceid-hides-profiling-events", ((ceid0 >> 32) & 0xf) == 0);
}

/// What a PMU register access costs (each one traps), next to a null hypercall.
void measure()
{
    constexpr int kRounds = 1000;
    uint64_t start = counter();
    for (int i = 0; i < kRounds; i++) {
        (void)MRS(pmccntr_el0);
    }
    const uint64_t reads = counter() - start;
    start = counter();
    for (int i = 0; i < kRounds; i++) {
        call(kHcNull);
    }
    const uint64_t calls = counter() - start;
    print("pmu: %d PMCCNTR_EL0 reads took %lu counter ticks, %d null hypercalls %lu\n", kRounds, reads, kRounds, calls);
}

void test_cycle_counter()
{
    quiesce();
    MSR(pmccfiltr_el0, 0); // EL0 and EL1
    MSR(pmcr_el0, kPmcrE | kPmcrLc);
    MSR(pmcntenset_el0, kCycle);
    const uint64_t before = MRS(pmccntr_el0);
    spin(gic::frequency() / 100);
    const uint64_t after = MRS(pmccntr_el0);
    char details[64];
    snprintf(details, sizeof details, "%lu cycles in 10 ms", after - before);
    print("pmu: %s\n", details);
    test("pmu-cycle-counter-counts", after > before + 1000, details);
    MSR(pmcntenclr_el0, kCycle);
    const uint64_t stopped = MRS(pmccntr_el0);
    spin(gic::frequency() / 100);
    snprintf(details, sizeof details, "%lu then %lu", stopped, MRS(pmccntr_el0));
    test("pmu-cycle-counter-stops-when-disabled", MRS(pmccntr_el0) == stopped, details);
    MSR(pmcr_el0, kPmcrE | kPmcrLc | kPmcrC);
    test("pmu-pmcr-c-resets-cycle-counter", MRS(pmccntr_el0) == 0);
    quiesce();
}

void test_software_increment()
{
    quiesce();
    set_type(0, kSwIncr);
    set_type(1, kSwIncr);
    set_count(0, 0);
    set_count(1, 7);
    MSR(pmcr_el0, kPmcrE);
    MSR(pmcntenset_el0, 1); // counter 0 only
    for (int i = 0; i < 100; i++) {
        MSR(pmswinc_el0, 3);
    }
    char details[64];
    snprintf(details, sizeof details, "counter 0: %lu, disabled counter 1: %lu", count(0), count(1));
    test("pmu-swinc-counts-exactly", count(0) == 100 && count(1) == 7, details);
    test("pmu-pmevcntr0-is-pmxevcntr-0", MRS(pmevcntr0_el0) == 100); // the direct register, the same counter
    // P set (not at EL1): the increment made at EL1 is filtered out.
    set_type(0, kSwIncr | kExcludeEl1);
    MSR(pmswinc_el0, 1);
    test("pmu-swinc-filtered-at-el1", count(0) == 100);
    MSR(pmcr_el0, kPmcrP); // P resets the event counters (and E = 0)
    test("pmu-pmcr-p-resets-event-counters", count(0) == 0 && count(1) == 0);
    quiesce();
}

void test_event_counter()
{
    quiesce();
    set_type(2 % counters(), kCpuCycles);
    set_count(2 % counters(), 0);
    MSR(pmcr_el0, kPmcrE);
    MSR(pmcntenset_el0, 1ull << (2 % counters()));
    spin(gic::frequency() / 100);
    const uint64_t cycles = count(2 % counters());
    char details[64];
    snprintf(details, sizeof details, "%lu", cycles);
    test("pmu-event-counter-counts-cpu-cycles", cycles > 1000, details);
    // Excluding EL1, where this guest runs, it counts nothing.
    set_type(2 % counters(), kCpuCycles | kExcludeEl1);
    set_count(2 % counters(), 0);
    spin(gic::frequency() / 100);
    snprintf(details, sizeof details, "%lu", count(2 % counters()));
    test("pmu-event-counter-filter-excludes-el1", count(2 % counters()) == 0, details);
    quiesce();
}

void read_missing_counter()
{
    uint64_t v;
    asm volatile("mrs %0, s3_3_c14_c11_6" : "=r"(v)); // PMEVCNTR30_EL0
}

void test_missing_counter()
{
    if (counters() > 30) {
        return;
    }
    const Fault f = expect_fault(read_missing_counter);
    test("pmu-missing-counter-undefined", (f.esr >> 26) == 0, "PMEVCNTR30_EL0");
}

/// The cycle counter 32-bit-overflows `ahead` cycles from now (LC clear),
/// its interrupt enabled.
void overflow_soon(uint64_t ahead)
{
    quiesce();
    MSR(pmccfiltr_el0, 0);
    MSR(pmccntr_el0, 0xffffffffull - ahead);
    MSR(pmintenset_el1, kCycle);
    MSR(pmcntenset_el0, kCycle);
    MSR(pmcr_el0, kPmcrE);
}

void test_overflow_interrupt()
{
    enable_distributor();
    enable_private(kPmuIntid);
    enable_cpu_interface();
    const uint32_t before = taken;
    overflow_soon(100000);
    asm volatile("msr daifclr, #2");
    const uint64_t start = counter();
    while (taken == before && counter() - start < gic::frequency() / 10) {
    }
    // The handler cleared the flag: nothing more comes, though the counter runs.
    spin(gic::frequency() / 50);
    asm volatile("msr daifset, #2");
    char details[80];
    snprintf(details, sizeof details, "taken %u, PMOVSSET 0x%lx", taken - before, ovs_taken);
    test("pmu-overflow-interrupt-on-ppi-23", taken - before >= 1 && (ovs_taken & kCycle) != 0, details);
    test("pmu-overflow-interrupt-stops-after-pmovsclr", taken - before == 1, details);

    // Level-sensitive: pending while the flag is set, gone once it is cleared.
    overflow_soon(100000);
    spin(gic::frequency() / 100);
    const bool raised = (MRS(pmovsset_el0) & kCycle) != 0 && pmu_pending_in_gic();
    test("pmu-overflow-pending-while-flagged", raised);
    MSR(pmovsclr_el0, kCycle);
    const bool pending = pmu_pending_in_gic();
    const uint32_t mid = taken;
    asm volatile("msr daifclr, #2");
    spin(gic::frequency() / 50);
    asm volatile("msr daifset, #2");
    snprintf(details, sizeof details, "pending %d, taken %u", pending, taken - mid);
    test("pmu-overflow-withdrawn-by-pmovsclr", !pending && taken == mid, details);

    // A software increment that wraps overflows too.
    quiesce();
    set_type(0, kSwIncr);
    set_count(0, 0xffffffff);
    MSR(pmintenset_el1, 1);
    MSR(pmcntenset_el0, 1);
    MSR(pmcr_el0, kPmcrE);
    const uint32_t sw_before = taken;
    MSR(pmswinc_el0, 1);
    asm volatile("msr daifclr, #2");
    spin(gic::frequency() / 100);
    asm volatile("msr daifset, #2");
    snprintf(details, sizeof details, "taken %u, counter %lu", taken - sw_before, count(0));
    test("pmu-swinc-wrap-interrupts", taken == sw_before + 1 && (ovs_taken & 1) != 0 && count(0) == 0, details);
    quiesce();
}

/// A guest that leaves every counter flagged with its interrupt enabled
/// and never takes it (IRQs masked) causes no storm of physical
/// interrupts: Vireo masks the overflowed counters' interrupts in the
/// hardware, so its guest keeps running with next to no IRQ exits.
void test_no_storm()
{
    quiesce();
    asm volatile("msr daifset, #2");
    const int64_t before = call(kHcExitCount, kExitIrq);
    MSR(pmintenset_el1, ~0ull);
    MSR(pmovsset_el0, ~0ull);
    MSR(pmcntenset_el0, ~0ull);
    MSR(pmcr_el0, kPmcrE);
    uint64_t rounds = 0;
    const uint64_t start = counter();
    while (counter() - start < gic::frequency() / 20) {
        rounds++;
    }
    const int64_t irqs = call(kHcExitCount, kExitIrq) - before;
    char details[64];
    snprintf(details, sizeof details, "%ld IRQ exits in 50 ms, %lu rounds", irqs, rounds);
    test("pmu-flagged-overflow-causes-no-interrupt-storm", irqs < 10 && rounds > 1000, details);
    test("pmu-flagged-overflow-is-pending-for-the-guest", pmu_pending_in_gic());
    quiesce();
    test("pmu-cleared-overflow-is-not-pending", !pmu_pending_in_gic());
}

// An excursion to EL0: el0_run(fn) saves the callee-saved registers and the
// stack, enters fn at EL0 (MMU off, interrupts masked) on its own stack,
// and returns ESR_EL1 of the first exception fn takes: SVC (EC 0x15) when
// fn ran to its end, a trapped system register access (EC 0x18) or
// UNDEFINED (EC 0) otherwise. Its vectors are in place only meanwhile.
extern "C" uint64_t el0_run(void (*fn)());
asm(R"(
	.text
	.globl	el0_run
el0_run:
	stp	x19, x20, [sp, #-96]!
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	mrs	x1, vbar_el1
	adrp	x2, el0_saved
	add	x2, x2, :lo12:el0_saved
	mov	x3, sp
	stp	x3, x1, [x2]
	adrp	x1, el0_vectors
	add	x1, x1, :lo12:el0_vectors
	msr	vbar_el1, x1
	adrp	x1, el0_stack_top
	add	x1, x1, :lo12:el0_stack_top
	msr	sp_el0, x1
	msr	elr_el1, x0
	mov	x1, #0x3c0		/* EL0t, DAIF masked */
	msr	spsr_el1, x1
	isb
	eret

	.balign	2048
el0_vectors:
	.skip	0x400			/* exceptions from EL1 are not expected here */
	mrs	x0, esr_el1		/* synchronous, lower EL, AArch64 */
	adrp	x2, el0_saved
	add	x2, x2, :lo12:el0_saved
	ldp	x3, x1, [x2]
	msr	vbar_el1, x1
	mov	sp, x3
	isb
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	x19, x20, [sp], #96
	ret

	.bss
	.balign	16
el0_saved:
	.skip	16
el0_stack:
	.skip	4096
el0_stack_top:
	.text
)");

volatile uint64_t el0_value;

void el0_read_cycles()
{
    uint64_t v;
    asm volatile("mrs %0, pmccntr_el0" : "=r"(v));
    el0_value = v;
    asm volatile("svc #0");
}

void el0_increment() { asm volatile("msr pmswinc_el0, %0\n\tsvc #0" ::"r"(uint64_t{1})); }

uint64_t ec(uint64_t esr) { return esr >> 26; }

/// PMUSERENR_EL0 decides what EL0 may do (CR: read the cycle counter, SW:
/// software increments); what it does not allow traps to the guest's EL1.
void test_el0()
{
    constexpr uint64_t kUserenrSw = 2, kUserenrCr = 4;
    quiesce();
    MSR(pmccfiltr_el0, 0);
    MSR(pmcntenset_el0, kCycle | 1);
    MSR(pmcr_el0, kPmcrE | kPmcrLc);
    set_type(0, kSwIncr);
    set_count(0, 0);
    MSR(pmuserenr_el0, 0);
    uint64_t esr = el0_run(el0_read_cycles);
    test("pmu-el0-cycle-read-traps-to-el1-without-pmuserenr", ec(esr) == 0x18);
    MSR(pmuserenr_el0, kUserenrCr);
    el0_value = 0;
    esr = el0_run(el0_read_cycles);
    test("pmu-el0-cycle-read-with-pmuserenr-cr", ec(esr) == 0x15 && el0_value > 0);
    esr = el0_run(el0_increment);
    test("pmu-el0-swinc-traps-without-pmuserenr-sw", ec(esr) == 0x18 && count(0) == 0);
    MSR(pmuserenr_el0, kUserenrSw);
    esr = el0_run(el0_increment);
    test("pmu-el0-swinc-with-pmuserenr-sw", ec(esr) == 0x15 && count(0) == 1);
    set_type(0, kSwIncr | 1ull << 30); // U: not at EL0
    esr = el0_run(el0_increment);
    test("pmu-el0-swinc-filtered-by-u", ec(esr) == 0x15 && count(0) == 1);
    MSR(pmuserenr_el0, 0);
    quiesce();
}

/// Whether the DTB at `dtb` holds `text` anywhere (a property value).
bool dtb_mentions(uint64_t dtb, const char* text)
{
    const auto* base = reinterpret_cast<const char*>(dtb);
    const uint64_t size = dt_cells(base + 4, 1); // totalsize
    for (uint64_t i = 0; dt_cells(base, 1) == 0xd00dfeed && i < size; i++) {
        uint64_t n = 0;
        while (text[n] != '\0' && i + n < size && base[i + n] == text[n]) {
            n++;
        }
        if (text[n] == '\0') {
            return true;
        }
    }
    return false;
}

void read_pmcr() { (void)MRS(pmcr_el0); }
void write_pmswinc() { MSR(pmswinc_el0, 1); }

/// A host without a PMU (-cpu cortex-a72,pmu=off): neither is there one in the VM.
void test_absent(uint64_t dtb)
{
    test("pmu-absent-pmuver-zero", ((MRS(id_aa64dfr0_el1) >> 8) & 0xf) == 0);
    test("pmu-absent-no-dtb-node", !dtb_mentions(dtb, "arm,armv8-pmuv3"));
    test("pmu-absent-registers-undefined",
         expect_fault(read_pmcr).esr == (1ull << 25) && expect_fault(write_pmswinc).esr == (1ull << 25));
}

/// Two VMs on one physical CPU (two-pmu.dts): role 1 keeps its cycle
/// counter running, role 2 leaves its own stopped at a value it chose;
/// both count software increments, yielding the CPU between them.
void test_isolation(uint64_t role)
{
    char details[80];
    snprintf(details, sizeof details, "cycle counter %lu, event counter %lu", MRS(pmccntr_el0), count(0));
    test("pmu-counters-start-at-zero", MRS(pmccntr_el0) == 0 && count(0) == 0, details);
    set_type(0, kSwIncr);
    MSR(pmccfiltr_el0, 0);
    MSR(pmcr_el0, kPmcrE | kPmcrLc);
    MSR(pmcntenset_el0, role == 1 ? (kCycle | 1) : 1);
    if (role != 1) {
        MSR(pmccntr_el0, 12345);
    }
    const uint64_t increments = 200 * role;
    const uint64_t started = counter();
    const uint64_t guest_started = static_cast<uint64_t>(call(kHcStat, 0)); // counter ticks in this guest
    const uint64_t cycles_started = MRS(pmccntr_el0);
    for (uint64_t i = 0; i < increments; i++) {
        MSR(pmswinc_el0, 1);
        if (i % 10 == 0) {
            call(kHcYield); // the other VM runs (and counts) meanwhile
            spin(gic::frequency() / 10000);
        }
    }
    snprintf(details, sizeof details, "%lu of %lu", count(0), increments);
    test("pmu-isolated-swinc-count", count(0) == increments, details);
    if (role == 1) {
        // QEMU's cycle counter counts nanoseconds of virtual time: this
        // guest's own share of the run, not the other VM's, nor Vireo's.
        const uint64_t cycles = MRS(pmccntr_el0) - cycles_started;
        const uint64_t ns_per_tick = 1000000000 / gic::frequency();
        const uint64_t own = (static_cast<uint64_t>(call(kHcStat, 0)) - guest_started) * ns_per_tick;
        const uint64_t elapsed = (counter() - started) * ns_per_tick;
        snprintf(details, sizeof details, "%lu cycles, %lu ns in the guest of %lu ns", cycles, own, elapsed);
        print("pmu: %s\n", details);
        test("pmu-isolated-cycles-counted", cycles > 1000);
        test("pmu-isolated-cycles-only-its-own-time", cycles <= own + own / 10 && cycles < elapsed - elapsed / 5,
             details);
    } else {
        snprintf(details, sizeof details, "%lu", MRS(pmccntr_el0));
        test("pmu-isolated-stopped-cycle-counter-keeps-its-value", MRS(pmccntr_el0) == 12345, details);
    }
    quiesce();
}

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = acknowledge();
    if ((iar & 0x3ff) == kPmuIntid) {
        taken = taken + 1;
        ovs_taken = MRS(pmovsset_el0);
        MSR(pmovsclr_el0, ovs_taken); // the level drops before the EOI
    }
    end(iar);
}

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    const uint64_t role = bootarg(dtb, "role", 0);
    if (role != 0) {
        test_isolation(role);
        return;
    }
    if (((MRS(id_aa64dfr0_el1) >> 8) & 0xf) == 0) {
        test_absent(dtb);
        return;
    }
    test("pmu-dtb-has-pmu-node", dtb_mentions(dtb, "arm,armv8-pmuv3"));
    test_identity();
    measure();
    test_cycle_counter();
    test_software_increment();
    test_event_counter();
    test_missing_counter();
    test_overflow_interrupt();
    test_no_storm();
    test_el0();
}
