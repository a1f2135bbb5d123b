// The scheduler: every physical CPU loops over the vCPUs pinned to it (as
// many as the VMs have), round-robin, switching on exits that give the CPU
// up (WFI/WFE, yield, PSCI CPU_OFF/SUSPEND) and, while others wait, when
// the EL2 timer ends a 10 ms time slice.
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
