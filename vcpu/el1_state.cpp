// Saving and loading the EL1 system registers of a vCPU.
#include "vcpu/context.hpp"

#define SAVE(field, reg) asm volatile("mrs %0, " #reg : "=r"(state.field))
#define LOAD(field, reg) asm volatile("msr " #reg ", %0" ::"r"(state.field))

// One list for both directions, so save and load cannot drift apart.
// MDSCR_EL1 is not here: debug registers trap (MDCR_EL2.TDA), and the guest's
// value lives in the vCPU's DebugState (vcpu/debug.hpp).
#define EL1_REGISTERS(X)                                                                                               \
    X(sctlr, sctlr_el1);                                                                                               \
    X(ttbr0, ttbr0_el1);                                                                                               \
    X(ttbr1, ttbr1_el1);                                                                                               \
    X(tcr, tcr_el1);                                                                                                   \
    X(mair, mair_el1);                                                                                                 \
    X(amair, amair_el1);                                                                                               \
    X(vbar, vbar_el1);                                                                                                 \
    X(contextidr, contextidr_el1);                                                                                     \
    X(tpidr_el0, tpidr_el0);                                                                                           \
    X(tpidr_el1, tpidr_el1);                                                                                           \
    X(tpidrro_el0, tpidrro_el0);                                                                                       \
    X(sp_el1, sp_el1);                                                                                                 \
    X(elr_el1, elr_el1);                                                                                               \
    X(spsr_el1, spsr_el1);                                                                                             \
    X(esr, esr_el1);                                                                                                   \
    X(far, far_el1);                                                                                                   \
    X(afsr0, afsr0_el1);                                                                                               \
    X(afsr1, afsr1_el1);                                                                                               \
    X(par, par_el1);                                                                                                   \
    X(cpacr, cpacr_el1);                                                                                               \
    X(csselr, csselr_el1);                                                                                             \
    X(cntkctl, cntkctl_el1);                                                                                           \
    X(cntv_cval, cntv_cval_el0);                                                                                       \
    X(cntv_ctl, cntv_ctl_el0)

void el1_state_save(El1State& state)
{
    EL1_REGISTERS(SAVE);
    // Stop this vCPU's virtual timer from firing while another runs.
    asm volatile("msr cntv_ctl_el0, xzr");
}

void el1_state_load(const El1State& state)
{
    EL1_REGISTERS(LOAD);
    asm volatile("isb");
}
