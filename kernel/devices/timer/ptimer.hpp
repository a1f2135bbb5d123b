// The EL1 physical timer of each vCPU (Arm DDI 0487, D11.2.4), emulated:
// CNTP_CTL_EL0, CNTP_CVAL_EL0 and CNTP_TVAL_EL0 trap, their state is the
// vCPU's PhysTimer, and its interrupt, PPI 30 (the DTB's non-secure
// physical timer, PPI 14), is level-sensitive in the vCPU's virtual GIC:
// pending while the timer is enabled, unmasked and CVAL has passed, taken
// back when it stops being so. The scheduler looks at it when it picks the
// vCPU and arms the EL2 timer for its deadline.
#pragma once

#include <stdint.h>

#include "vcpu/exit.hpp"
#include "vcpu/outcome.hpp"

class Vcpu;

namespace ptimer {

constexpr uint32_t kIntid = 30;

/// Whether `access` is one of the timer's registers.
bool owns(const vcpu::SysRegAccess& access);
/// Emulates the access; a write may move the deadline, so it asks the
/// scheduler to pick again (Outcome::Yield), where the deadline is armed.
Outcome access(Vcpu& vcpu, const vcpu::SysRegAccess& access);
/// Brings the interrupt's level in the virtual GIC up to date (the vCPU's
/// state loaded on this CPU).
void update(Vcpu& vcpu);
/// The physical counter value at which the interrupt will assert; ~0 if it
/// never will, or already has.
uint64_t deadline(const Vcpu& vcpu);

} // namespace ptimer
