// A vCPU's architectural state, laid out for the assembly that saves and
// restores it (vcpu/entry.S, vcpu/fpsimd.S); every offset the assembly uses
// is checked here.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/cpu/asm_offsets.h"

/// Saved on every exit, restored on every entry.
struct GuestRegs {
    uint64_t x[31];
    uint64_t sp_el0;
    uint64_t elr;  // the guest PC
    uint64_t spsr; // the guest PSTATE
};

static_assert(offsetof(GuestRegs, x) == GUEST_REGS_X0);
static_assert(offsetof(GuestRegs, sp_el0) == GUEST_REGS_SP_EL0);
static_assert(offsetof(GuestRegs, elr) == GUEST_REGS_ELR);
static_assert(offsetof(GuestRegs, spsr) == GUEST_REGS_SPSR);
static_assert(sizeof(GuestRegs) == GUEST_REGS_SIZE);

/// EL1 system registers and the virtual timer: switched only when a
/// physical CPU changes which vCPU it runs.
struct El1State {
    uint64_t sctlr, ttbr0, ttbr1, tcr, mair, amair, vbar, contextidr;
    uint64_t tpidr_el0, tpidr_el1, tpidrro_el0, sp_el1, elr_el1, spsr_el1;
    uint64_t esr, far, afsr0, afsr1, par, cpacr, csselr, cntkctl;
    uint64_t cntv_ctl, cntv_cval;
};

/// FP/SIMD registers: switched lazily, on the first FP/SIMD instruction
/// after another vCPU used them (CPTR_EL2.TFP).
struct alignas(16) FpState {
    uint64_t v[64]; // V0-V31, 128 bits each, low half first
    uint64_t fpsr;
    uint64_t fpcr;
};

static_assert(offsetof(FpState, v) == FP_STATE_V0);
static_assert(offsetof(FpState, fpsr) == FP_STATE_FPSR);
static_assert(offsetof(FpState, fpcr) == FP_STATE_FPCR);

extern "C" {
/// Enters the guest with `regs` and returns, on the guest's next exception
/// to EL2, which vector group took it (GUEST_EXIT_*), with `regs` updated.
uint64_t vcpu_enter(GuestRegs* regs);
void fpsimd_save(FpState* state);
void fpsimd_load(const FpState* state);
}

/// Loads and saves the EL1 registers of El1State (vcpu/el1_state.cpp).
void el1_state_save(El1State& state);
void el1_state_load(const El1State& state);
