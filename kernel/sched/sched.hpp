// The scheduler: every physical CPU loops over the vCPUs pinned to it,
// round-robin, switching on exits that give the CPU up (WFI/WFE, yield,
// PSCI CPU_OFF/SUSPEND). Until the timer drives time slices, a vCPU that
// never exits keeps its CPU.
#pragma once

#include <stddef.h>

class Vcpu;

namespace sched {

/// Puts `vcpu` on its physical CPU's run queue (at VM creation).
void add(Vcpu& vcpu);

/// Makes `vcpu` runnable and wakes its physical CPU.
void wake(Vcpu& vcpu);

/// Wakes `vcpu` if it is blocked in WFI.
void wake_blocked(Vcpu& vcpu);

/// This physical CPU's loop: never returns.
[[noreturn]] void run();

} // namespace sched
