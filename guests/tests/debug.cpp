// Self-hosted debug at EL1, as a kernel debugger uses it: the breakpoint
// and watchpoint counts ID_AA64DFR0_EL1 reports, a hardware breakpoint on
// a function, a watchpoint on a variable, single step (across a
// hypercall, an MMIO access and a trapped register read Vireo emulates,
// and an abort Vireo injects), BRK, the OS lock and double lock, and the
// breakpoint types Vireo refuses.
//
// With bootargs "role=N" (tests/configs/bare/debug-shared.dts) it is one
// of three VMs on one physical CPU instead: roles 0 and 1 each keep their
// own breakpoint and watchpoint (on different functions and variables at
// the same addresses in both VMs) across hundreds of switches and must hit
// only their own; role 2 never touches a debug register and must never
// take a debug exception.
#include <stdio.h>

#include "lib/guest.hpp"

using namespace guest;

namespace {

// ESR_EL1 exception classes taken from EL1 to EL1 (Arm ARM D19.2, ESR_EL1).
constexpr uint64_t kEcDataAbortSame = 0x25;
constexpr uint64_t kEcBreakpointSame = 0x31;
constexpr uint64_t kEcStepSame = 0x33;
constexpr uint64_t kEcWatchpointSame = 0x35;
constexpr uint64_t kEcBrk = 0x3c;
constexpr uint64_t kDebugFsc = 0x22; // IFSC/DFSC of a debug exception
constexpr uint64_t kEsrIl = 1ull << 25;

constexpr uint64_t kMdscrSs = 1ull << 0;
constexpr uint64_t kMdscrKde = 1ull << 13;
constexpr uint64_t kMdscrMde = 1ull << 15;
constexpr uint64_t kSpsrSs = 1ull << 21;
// EL1h with I, F and A masked and D clear: debug exceptions enabled.
constexpr uint64_t kSpsrEl1hDebug = 0x1c5;

constexpr uint64_t kPl011PeriphId0 = 0x09000fe0; // reads 0x11
constexpr uint64_t kUnmapped = 0x0b000000;
constexpr uint64_t kHandled = 0x5a5a; // what a function "returns" when its breakpoint is taken

// Breakpoint and watchpoint registers are named by number in the instruction.
#define DBG_CASE_W(reg, n)                                                                                             \
    case n:                                                                                                            \
        asm volatile("msr " #reg #n "_el1, %0" ::"r"(value));                                                          \
        break;
#define DBG_CASE_R(reg, n)                                                                                             \
    case n:                                                                                                            \
        asm volatile("mrs %0, " #reg #n "_el1" : "=r"(value));                                                         \
        break;
#define DBG_SWITCH(op, reg)                                                                                            \
    do {                                                                                                               \
        switch (n) {                                                                                                   \
            op(reg, 0) op(reg, 1) op(reg, 2) op(reg, 3) op(reg, 4) op(reg, 5) op(reg, 6) op(reg, 7) op(reg, 8)         \
                op(reg, 9) op(reg, 10) op(reg, 11) op(reg, 12) op(reg, 13) op(reg, 14) op(reg, 15) default : break;    \
        }                                                                                                              \
    } while (false)

void write_bvr(unsigned n, uint64_t value) { DBG_SWITCH(DBG_CASE_W, dbgbvr); }
void write_bcr(unsigned n, uint64_t value) { DBG_SWITCH(DBG_CASE_W, dbgbcr); }
void write_wvr(unsigned n, uint64_t value) { DBG_SWITCH(DBG_CASE_W, dbgwvr); }
void write_wcr(unsigned n, uint64_t value) { DBG_SWITCH(DBG_CASE_W, dbgwcr); }
uint64_t read_bcr(unsigned n)
{
    uint64_t value = 0;
    DBG_SWITCH(DBG_CASE_R, dbgbcr);
    return value;
}
uint64_t read_wcr(unsigned n)
{
    uint64_t value = 0;
    DBG_SWITCH(DBG_CASE_R, dbgwcr);
    return value;
}

void set_mdscr(uint64_t v) { asm volatile("msr mdscr_el1, %0\n\tisb" ::"r"(v)); }
uint64_t mdscr()
{
    uint64_t v;
    asm volatile("mrs %0, mdscr_el1" : "=r"(v));
    return v;
}
void set_os_lock(uint64_t v) { asm volatile("msr oslar_el1, %0\n\tisb" ::"r"(v)); }
uint64_t oslsr()
{
    uint64_t v;
    asm volatile("mrs %0, oslsr_el1" : "=r"(v));
    return v;
}
void set_double_lock(uint64_t v) { asm volatile("msr osdlr_el1, %0\n\tisb" ::"r"(v)); }
uint64_t dfr0()
{
    uint64_t v;
    asm volatile("mrs %0, id_aa64dfr0_el1" : "=r"(v));
    return v;
}
void unmask_debug() { asm volatile("msr daifclr, #8"); }
// With MDSCR_EL1.SS and KDE set, code running with PSTATE.D clear is
// stepped: a debugger sets SS with D masked and steps only what its ERET
// returns to.
void mask_debug() { asm volatile("msr daifset, #8"); }

// DBGBCR: E, PMC (1 EL1, 3 EL1 and EL0), BAS 0b1111 (an A64 instruction), HMC, SSC, LBN, BT.
constexpr uint64_t bcr(uint64_t pmc, uint64_t bt = 0, uint64_t lbn = 0, uint64_t hmc = 0, uint64_t ssc = 0)
{
    return 1 | pmc << 1 | 0xfull << 5 | hmc << 13 | ssc << 14 | lbn << 16 | bt << 20;
}
// DBGWCR: E, PAC 3 (EL1 and EL0), LSC (1 load, 2 store, 3 both), BAS 0xff (8 bytes).
constexpr uint64_t wcr(uint64_t lsc) { return 1 | 3ull << 1 | lsc << 3 | 0xffull << 5; }

__attribute__((noipa)) uint64_t target()
{
    asm volatile("" ::: "memory");
    return 42;
}
__attribute__((noipa)) uint64_t other_target()
{
    asm volatile("" ::: "memory");
    return 43;
}
__attribute__((noipa)) uint64_t never_called()
{
    asm volatile("" ::: "memory");
    return 44;
}
// The shared-CPU roles' functions and variables.
__attribute__((noipa)) uint64_t function_a()
{
    asm volatile("" ::: "memory");
    return 1;
}
__attribute__((noipa)) uint64_t function_b()
{
    asm volatile("" ::: "memory");
    return 2;
}

alignas(16) volatile uint64_t variables[2][2]; // [role][0] is watched by that role
alignas(16) volatile uint64_t never_accessed;

uint64_t address_of(uint64_t (*fn)()) { return reinterpret_cast<uint64_t>(fn); }
uint64_t address_of(volatile uint64_t* p) { return reinterpret_cast<uint64_t>(p); }

void store(volatile uint64_t* p, uint64_t v) { asm volatile("str %0, [%1]" ::"r"(v), "r"(p) : "memory"); }
uint64_t load(volatile uint64_t* p)
{
    uint64_t v;
    asm volatile("ldr %0, [%1]" : "=r"(v) : "r"(p) : "memory");
    return v;
}

// What the handler saw.
struct Event {
    uint64_t ec;
    uint64_t esr;
    uint64_t elr;
    uint64_t far;
    bool ss; // SPSR_EL1.SS at the exception
};
constexpr unsigned kMaxEvents = 32;
Event events[kMaxEvents];
volatile unsigned event_count;
volatile bool stepping;     // aborts during a step run are expected (and skipped)
volatile uint64_t step_end; // the stepped run ends when a step lands here
volatile unsigned bp_hits[2];
volatile unsigned wp_hits[2];

void forget_events()
{
    event_count = 0;
    for (unsigned r = 0; r < 2; r++) {
        bp_hits[r] = 0;
        wp_hits[r] = 0;
    }
}

} // namespace

// The stepped code: a hypercall (HVC: the step completes at EL2), an MMIO
// load and a trapped ID register read (both emulated and skipped by
// Vireo), an access to an address with nothing behind it (an abort Vireo
// injects), and ordinary instructions. x2: the PL011's PeriphID0, x5: an
// unmapped address.
extern "C" char step_region[], step_region_end[];
asm(R"(
    .text
    .balign 4
    .globl step_region
step_region:
    movz x0, #0x8600, lsl #16
    hvc #0
    mov x6, x0
    ldr w1, [x2]
    mrs x3, id_aa64dfr0_el1
    ldr x4, [x5]
    add x7, x1, #1
    nop
    .globl step_region_end
step_region_end:
    ret
)");

namespace {

struct StepResult {
    uint64_t hvc_result, mmio_value, dfr0, after_abort;
};

/// Enters step_region with PSTATE.SS set (the step state machine
/// active-not-pending, as a debugger's ERET leaves it); each step's
/// exception comes back to the handler until it lands on step_region_end.
StepResult run_stepped()
{
    register uint64_t x2 asm("x2") = kPl011PeriphId0;
    register uint64_t x5 asm("x5") = kUnmapped;
    register uint64_t x1 asm("x1");
    register uint64_t x3 asm("x3");
    register uint64_t x6 asm("x6");
    register uint64_t x7 asm("x7");
    stepping = true;
    step_end = reinterpret_cast<uint64_t>(step_region_end);
    asm volatile("adr x30, 1f\n\t"
                 "msr elr_el1, %[entry]\n\t"
                 "msr spsr_el1, %[spsr]\n\t"
                 "eret\n"
                 "1:"
                 : "=r"(x1), "=r"(x3), "=r"(x6), "=r"(x7), "+r"(x2), "+r"(x5)
                 : [entry] "r"(step_region), [spsr] "r"(kSpsrEl1hDebug | kSpsrSs)
                 : "x0", "x4", "x30", "memory");
    stepping = false;
    return {x6, x1, x3, x7};
}

} // namespace

extern "C" bool guest_sync_exception(ExceptionFrame* frame, uint64_t esr, uint64_t far)
{
    const uint64_t ec = esr >> 26;
    const unsigned i = event_count;
    if (i < kMaxEvents) {
        events[i] = {ec, esr, frame->elr, far, (frame->spsr & kSpsrSs) != 0};
    }
    event_count = i + 1;
    switch (ec) {
    case kEcBreakpointSame:
        // On a function's first instruction: return from it at once, as if
        // it had returned kHandled; the breakpoint stays armed.
        for (unsigned r = 0; r < 2; r++) {
            if (frame->elr == address_of(r == 0 ? function_a : function_b)) {
                bp_hits[r] = bp_hits[r] + 1;
            }
        }
        frame->x[0] = kHandled;
        frame->elr = frame->x[30];
        return true;
    case kEcWatchpointSame:
        // Taken before the access: skip it, the watchpoint stays armed.
        for (unsigned r = 0; r < 2; r++) {
            if (far == address_of(&variables[r][0])) {
                wp_hits[r] = wp_hits[r] + 1;
            }
        }
        frame->elr += 4;
        return true;
    case kEcStepSame:
        if (frame->elr == step_end || i >= kMaxEvents) {
            frame->spsr &= ~kSpsrSs; // done (or lost: stop rather than hang): run on
            set_mdscr(mdscr() & ~kMdscrSs);
        } else {
            frame->spsr |= kSpsrSs; // step the next instruction
        }
        return true;
    case kEcDataAbortSame:
        if (!stepping) {
            return false;
        }
        frame->elr += 4; // the stepped access to nothing: go on after it, stepping still
        return true;
    default: return false;
    }
}

namespace {

unsigned breakpoints, watchpoints, context_breakpoints;

bool is_debug_exception(const Event& e, uint64_t ec) { return e.ec == ec && (e.esr & 0x3f) == kDebugFsc; }

void ids()
{
    const uint64_t d = dfr0();
    breakpoints = static_cast<unsigned>((d >> 12) & 0xf) + 1;
    watchpoints = static_cast<unsigned>((d >> 20) & 0xf) + 1;
    context_breakpoints = static_cast<unsigned>((d >> 28) & 0xf) + 1;
    print("debug: DebugVer %lu, %u breakpoints (%u context-aware), %u watchpoints\n", d & 0xf, breakpoints,
          context_breakpoints, watchpoints);
    test("debug-id-more-than-one-breakpoint-and-watchpoint", breakpoints >= 2 && watchpoints >= 2);
    test("debug-id-debugver-armv8", (d & 0xf) >= 6);
    test("debug-id-trace-spe-brbe-hidden", ((d >> 4) & 0xf) == 0 && ((d >> 32) & 0xf) == 0 && ((d >> 52) & 0xf) == 0);
}

unsigned probe;
void read_probe_bcr() { (void)read_bcr(probe); }
void read_probe_wcr() { (void)read_wcr(probe); }

void counts_match_registers()
{
    probe = breakpoints - 1;
    bool ok = expect_fault(read_probe_bcr).esr == 0;
    probe = watchpoints - 1;
    ok = ok && expect_fault(read_probe_wcr).esr == 0;
    test("debug-last-breakpoint-and-watchpoint-exist", ok);
    if (breakpoints < 16) {
        probe = breakpoints;
        test("debug-breakpoint-past-the-count-undefined", expect_fault(read_probe_bcr).esr == kEsrIl);
    }
    if (watchpoints < 16) {
        probe = watchpoints;
        test("debug-watchpoint-past-the-count-undefined", expect_fault(read_probe_wcr).esr == kEsrIl);
    }
}

void hardware_breakpoint()
{
    forget_events();
    write_bvr(0, address_of(target));
    write_bcr(0, bcr(1));
    test("breakpoint-reads-back", read_bcr(0) == bcr(1));
    test("breakpoint-other-function-runs", other_target() == 43 && event_count == 0);
    const uint64_t r = target();
    char details[96];
    snprintf(details, sizeof details, "%u events, EC 0x%lx, ELR 0x%lx, want 0x%lx", event_count, events[0].ec,
             events[0].elr, address_of(target));
    test("breakpoint-taken-at-el1",
         r == kHandled && event_count == 1 && is_debug_exception(events[0], kEcBreakpointSame) &&
             (events[0].esr & kEsrIl) != 0 && events[0].elr == address_of(target),
         details);
    write_bcr(0, 0);
    test("breakpoint-disabled-function-runs", target() == 42 && event_count == 1);

    // HMC set with PMC 0b11 would also match at EL2: the guest's EL1 match stays.
    forget_events();
    write_bcr(0, bcr(3, 0, 0, 1));
    test("breakpoint-with-hmc-fires-at-el1", target() == kHandled && event_count == 1);
    // Matching at EL2 only, or on a VMID (another VM's, to the hardware): refused.
    write_bcr(0, bcr(0, 0, 0, 1, 1));
    test("breakpoint-el2-only-refused", (read_bcr(0) & 1) == 0 && target() == 42);
    write_bcr(0, bcr(3, 0b1000));
    test("breakpoint-vmid-match-refused", (read_bcr(0) & 1) == 0 && target() == 42 && event_count == 1);
    write_bcr(0, 0);
}

void linked_context_breakpoint()
{
    // Breakpoint 0 matches target's address only while CONTEXTIDR_EL1 is
    // 0x1234: linked to a context-ID breakpoint on the last (context-aware) one.
    const unsigned ctx = breakpoints - 1;
    forget_events();
    write_bvr(ctx, 0x1234);
    write_bcr(ctx, bcr(1, 0b0011));
    write_bvr(0, address_of(target));
    write_bcr(0, bcr(1, 0b0001, ctx));
    asm volatile("msr contextidr_el1, %0\n\tisb" ::"r"(uint64_t{0x5678}));
    const bool other_context = target() == 42 && event_count == 0;
    asm volatile("msr contextidr_el1, %0\n\tisb" ::"r"(uint64_t{0x1234}));
    const bool this_context = target() == kHandled && event_count == 1;
    asm volatile("msr contextidr_el1, xzr\n\tisb");
    write_bcr(0, 0);
    write_bcr(ctx, 0);
    test("breakpoint-linked-context-id", other_context && this_context);
}

void watchpoint()
{
    forget_events();
    volatile uint64_t* v = &variables[0][0];
    store(v, 7);
    write_wvr(0, address_of(v));
    write_wcr(0, wcr(2)); // stores
    test("watchpoint-load-not-watched", load(v) == 7 && event_count == 0);
    store(&variables[0][1], 9);
    test("watchpoint-neighbour-not-watched", event_count == 0 && load(&variables[0][1]) == 9);
    store(v, 8);
    char details[96];
    snprintf(details, sizeof details, "%u events, EC 0x%lx, FAR 0x%lx, want 0x%lx", event_count, events[0].ec,
             events[0].far, address_of(v));
    test("watchpoint-store-taken-at-el1",
         event_count == 1 && is_debug_exception(events[0], kEcWatchpointSame) && (events[0].esr & (1u << 6)) != 0 &&
             events[0].far == address_of(v) && load(v) == 7,
         details);
    write_wcr(0, wcr(1)); // loads
    (void)load(v);
    test("watchpoint-load-taken", event_count == 2 && events[1].far == address_of(v));
    write_wcr(0, 0);
}

void single_step()
{
    forget_events();
    mask_debug();
    set_mdscr(kMdscrSs | kMdscrKde);
    const StepResult r = run_stepped();
    const uint64_t base = address_of(reinterpret_cast<uint64_t (*)()>(step_region));
    // Each step lands on the next instruction; the access to nothing aborts
    // (the handler sees SPSR_EL1.SS set: the instruction did not complete)
    // and the handler's return to the one after it steps that one.
    const struct {
        uint64_t ec, offset;
    } want[] = {{kEcStepSame, 4},  {kEcStepSame, 8},       {kEcStepSame, 12}, {kEcStepSame, 16},
                {kEcStepSame, 20}, {kEcDataAbortSame, 20}, {kEcStepSame, 28}, {kEcStepSame, 32}};
    constexpr unsigned kWant = sizeof want / sizeof want[0];
    unsigned bad = kWant; // the first event that is not as wanted
    for (unsigned i = 0; bad == kWant && i < kWant && i < event_count; i++) {
        const Event& e = events[i];
        const bool step = want[i].ec == kEcStepSame;
        // A step exception's ISS: EX 0 when ISV is 1 (none of these is a
        // load-exclusive). After an instruction that went to EL2 ISV is 0,
        // as after any step completed by an exception return (ESR_EL1, ISS
        // encoding for a Software Step exception).
        const bool isv = (e.esr >> 24) & 1;
        const bool ex = (e.esr >> 6) & 1;
        if (e.ec != want[i].ec || e.elr != base + want[i].offset ||
            !(step ? is_debug_exception(e, kEcStepSame) && !(isv && ex) : e.ss)) {
            bad = i;
        }
    }
    const bool ok = event_count == kWant && bad == kWant;
    char details[96];
    snprintf(details, sizeof details, "%u events, %u wanted; first wrong: event %u", event_count, kWant, bad);
    if (!test("step-each-instruction-across-hvc-mmio-trap-and-abort", ok, details)) {
        for (unsigned i = 0; i < event_count && i < kMaxEvents; i++) {
            print("debug: event %u: EC 0x%lx ESR 0x%lx ELR 0x%lx (+0x%lx) SPSR.SS %d\n", i, events[i].ec, events[i].esr,
                  events[i].elr, events[i].elr - base, events[i].ss);
        }
    }
    test("step-emulated-instructions-still-work",
         r.hvc_result == 0 && r.mmio_value == 0x11 && r.dfr0 == dfr0() && r.after_abort == 0x12);
    test("step-ends-with-mdscr-ss-clear", (mdscr() & kMdscrSs) == 0);
    set_mdscr(0);
    unmask_debug();
}

/// Every HMC, SSC, PMC and BT of breakpoint 0 (on a function nobody
/// calls) and every HMC, SSC, PAC, LSC and small MASK of watchpoint 0 (on
/// a variable nobody touches), each followed by a hypercall and an MMIO
/// read, which Vireo handles with the registers in the hardware: none may
/// fire, and Vireo must go on.
void every_encoding()
{
    forget_events();
    write_bvr(0, address_of(never_called));
    write_wvr(0, address_of(&never_accessed));
    set_mdscr(kMdscrMde | kMdscrKde);
    bool calls_ok = true;
    for (uint64_t control = 0; control < (1u << 9); control++) {
        const uint64_t pmc = control & 3, ssc = (control >> 2) & 3, hmc = (control >> 4) & 1, bt = control >> 5;
        write_bcr(0, bcr(pmc, bt, 0, hmc, ssc));
        calls_ok = calls_ok && call(kHcNull) == 0 && *reinterpret_cast<volatile uint32_t*>(kPl011PeriphId0) == 0x11;
    }
    write_bcr(0, 0);
    for (uint64_t control = 0; control < (1u << 9); control++) {
        const uint64_t pac = control & 3, ssc = (control >> 2) & 3, hmc = (control >> 4) & 1;
        const uint64_t lsc = (control >> 5) & 3, mask = control >> 7;
        write_wcr(0, 1 | pac << 1 | lsc << 3 | 0xffull << 5 | hmc << 13 | ssc << 14 | mask << 24);
        calls_ok = calls_ok && call(kHcNull) == 0 && *reinterpret_cast<volatile uint32_t*>(kPl011PeriphId0) == 0x11;
    }
    write_wcr(0, 0);
    set_mdscr(0);
    char details[48];
    snprintf(details, sizeof details, "%u debug exceptions", event_count);
    test("every-breakpoint-and-watchpoint-encoding-harmless", calls_ok && event_count == 0, details);
}

void brk_2a() { asm volatile("brk #0x2a"); }

void software_breakpoint()
{
    const Fault f = expect_fault(brk_2a);
    test("brk-taken-with-its-immediate", f.esr == (kEcBrk << 26 | kEsrIl | 0x2a));
}

void os_lock()
{
    test("os-lock-unlocked-at-reset", oslsr() == 0x8);
    write_bvr(0, address_of(target));
    write_bcr(0, bcr(1));
    write_wvr(0, address_of(&variables[0][0]));
    write_wcr(0, wcr(3));
    set_mdscr(kMdscrMde | kMdscrKde);
    set_os_lock(1);
    test("os-lock-reads-locked", oslsr() == 0xa);
    forget_events();
    store(&variables[0][0], 1);
    test("os-lock-blocks-breakpoint-and-watchpoint", target() == 42 && event_count == 0);
    test("os-lock-keeps-brk", expect_fault(brk_2a).esr == (kEcBrk << 26 | kEsrIl | 0x2a));
    mask_debug();
    set_mdscr(kMdscrMde | kMdscrKde | kMdscrSs);
    (void)run_stepped();
    test("os-lock-blocks-step", event_count == 1 && events[0].ec == kEcDataAbortSame);
    set_mdscr(kMdscrMde | kMdscrKde);
    unmask_debug();
    set_os_lock(0);
    forget_events();
    test("os-unlock-breakpoint-fires-again", target() == kHandled && event_count == 1);

    if (((dfr0() >> 36) & 0xf) == 0) { // FEAT_DoubleLock
        set_double_lock(1);
        forget_events();
        const bool blocked = target() == 42 && event_count == 0;
        set_double_lock(0);
        test("double-lock-blocks-breakpoint", blocked && target() == kHandled && event_count == 1);
    }
    write_bcr(0, 0);
    write_wcr(0, 0);
    set_mdscr(0);
}

/// Roles 0 and 1: breakpoint 0 on function_a or function_b, watchpoint 0
/// on variables[0] or variables[1]; every round calls both functions,
/// stores to both variables and yields the CPU to the other VMs. Role 2
/// does the same without debug registers.
void shared(unsigned role)
{
    constexpr unsigned kRounds = 300;
    unmask_debug();
    if (role < 2) {
        write_bvr(0, address_of(role == 0 ? function_a : function_b));
        write_bcr(0, bcr(1));
        write_wvr(0, address_of(&variables[role][0]));
        write_wcr(0, wcr(2));
        set_mdscr(kMdscrMde | kMdscrKde);
    }
    forget_events();
    unsigned wrong_returns = 0;
    for (unsigned i = 0; i < kRounds; i++) {
        const uint64_t a = function_a();
        const uint64_t b = function_b();
        wrong_returns += (a == (role == 0 ? kHandled : 1)) ? 0 : 1;
        wrong_returns += (b == (role == 1 ? kHandled : 2)) ? 0 : 1;
        store(&variables[0][0], i);
        store(&variables[1][0], i);
        call(kHcYield);
    }
    char details[96];
    snprintf(details, sizeof details, "breakpoint hits %u/%u, watchpoint hits %u/%u, %u wrong returns", bp_hits[0],
             bp_hits[1], wp_hits[0], wp_hits[1], wrong_returns);
    if (role < 2) {
        const unsigned other = 1 - role;
        test("shared-cpu-own-breakpoint-every-time", bp_hits[role] == kRounds && wrong_returns == 0, details);
        test("shared-cpu-own-watchpoint-every-time", wp_hits[role] == kRounds, details);
        test("shared-cpu-never-the-other-vms", bp_hits[other] == 0 && wp_hits[other] == 0, details);
    } else {
        test("shared-cpu-non-debugger-never-trapped", event_count == 0 && wrong_returns == 0, details);
    }
}

} // namespace

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    const uint64_t role = bootarg(dtb, "role", ~0ull);
    if (role <= 2) {
        shared(static_cast<unsigned>(role));
        return;
    }
    ids();
    counts_match_registers();
    unmask_debug();
    set_mdscr(kMdscrMde | kMdscrKde);
    hardware_breakpoint();
    linked_context_breakpoint();
    watchpoint();
    every_encoding();
    set_mdscr(0);
    single_step();
    software_breakpoint();
    os_lock();
}
