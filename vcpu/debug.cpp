// Moving a vCPU's debug state into and out of the hardware's breakpoint,
// watchpoint and MDSCR_EL1 registers.
//
// No ISB after these writes: nothing at EL2 depends on them. The debug
// target Exception level is EL1 (MDCR_EL2.TDE and HCR_EL2.TGE are 0), and
// debug exceptions other than BRK are never generated at an Exception
// level above it (Arm ARM D2, "Routing debug exceptions" and "Enabling
// debug exceptions from the current Exception level"; pseudocode
// AArch64.GenerateDebugExceptionsFrom), so no breakpoint, watchpoint or
// step can fire in Vireo whatever the registers hold, and HMC is never set
// (vcpu/debug_rules.cpp), so they do not even match there. The guest sees
// the new values from its first instruction: a direct write to a debug
// System register is guaranteed to affect instructions after the next
// context synchronization event, and the ERET into the guest is one
// (SCTLR_EL2.EOS is set, boot/el2_bits.h).
#include "vcpu/debug.hpp"

#include "kernel/cpu/percpu.hpp"

namespace {

// Breakpoint and watchpoint registers are named by number in the
// instruction: one case per number.
#define DEBUG_CASE(reg, n)                                                                                             \
    case n:                                                                                                            \
        asm volatile("msr " #reg #n "_el1, %0" ::"r"(value));                                                          \
        break;
#define DEBUG_WRITE(reg)                                                                                               \
    switch (n) {                                                                                                       \
        DEBUG_CASE(reg, 0)                                                                                             \
        DEBUG_CASE(reg, 1)                                                                                             \
        DEBUG_CASE(reg, 2)                                                                                             \
        DEBUG_CASE(reg, 3)                                                                                             \
        DEBUG_CASE(reg, 4)                                                                                             \
        DEBUG_CASE(reg, 5)                                                                                             \
        DEBUG_CASE(reg, 6)                                                                                             \
        DEBUG_CASE(reg, 7)                                                                                             \
        DEBUG_CASE(reg, 8)                                                                                             \
        DEBUG_CASE(reg, 9)                                                                                             \
        DEBUG_CASE(reg, 10)                                                                                            \
        DEBUG_CASE(reg, 11)                                                                                            \
        DEBUG_CASE(reg, 12)                                                                                            \
        DEBUG_CASE(reg, 13)                                                                                            \
        DEBUG_CASE(reg, 14)                                                                                            \
        DEBUG_CASE(reg, 15)                                                                                            \
    default: break;                                                                                                    \
    }

// Only for n below this CPU's counts: an unimplemented one is UNDEFINED at EL2 too.
void write_bvr(unsigned n, uint64_t value) { DEBUG_WRITE(dbgbvr) }
void write_bcr(unsigned n, uint64_t value) { DEBUG_WRITE(dbgbcr) }
void write_wvr(unsigned n, uint64_t value) { DEBUG_WRITE(dbgwvr) }
void write_wcr(unsigned n, uint64_t value) { DEBUG_WRITE(dbgwcr) }

#undef DEBUG_WRITE
#undef DEBUG_CASE

void write_mdscr(uint64_t value) { asm volatile("msr mdscr_el1, %0" ::"r"(value)); }

void load_comparators(const DebugState& state, const DebugLimits& limits)
{
    for (unsigned n = 0; n < limits.breakpoints; n++) {
        write_bvr(n, state.bvr[n]);
        write_bcr(n, debug_rules::bcr_for_hardware(state.bcr[n], n, limits));
    }
    for (unsigned n = 0; n < limits.watchpoints; n++) {
        write_wvr(n, state.wvr[n]);
        write_wcr(n, debug_rules::wcr_for_hardware(state.wcr[n], limits));
    }
}

/// Every breakpoint and watchpoint disabled. The value registers keep the
/// last vCPU's addresses, which nothing compares (E is 0) and no guest
/// reads (they trap).
void disable_comparators(const DebugLimits& limits)
{
    for (unsigned n = 0; n < limits.breakpoints; n++) {
        write_bcr(n, 0);
    }
    for (unsigned n = 0; n < limits.watchpoints; n++) {
        write_wcr(n, 0);
    }
}

} // namespace

DebugLimits debug_limits()
{
    uint64_t dfr0;
    asm volatile("mrs %0, id_aa64dfr0_el1" : "=r"(dfr0));
    return debug_rules::limits_from_dfr0(dfr0);
}

void debug_load(const DebugState& state)
{
    PerCpu& cpu = *this_cpu();
    if (debug_rules::live(state)) {
        load_comparators(state, debug_limits());
        cpu.debug_owner = &state;
    } else if (cpu.debug_owner != nullptr) {
        disable_comparators(debug_limits());
        cpu.debug_owner = nullptr;
    }
    write_mdscr(debug_rules::mdscr_for_hardware(state));
}

void debug_cpu_init()
{
    // OSLAR_EL1 and OSDLR_EL1 from EL2 reach the hardware (MDCR_EL2.TDOSA
    // traps EL1 only). OSDLR_EL1 is RAZ/WI without FEAT_DoubleLock.
    asm volatile("msr oslar_el1, xzr\n\tmsr osdlr_el1, xzr");
    disable_comparators(debug_limits());
    write_mdscr(0);
    this_cpu()->debug_owner = nullptr;
}
