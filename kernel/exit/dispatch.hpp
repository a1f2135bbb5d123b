// Dispatching a vCPU's exit to the device models (kernel/devices) and
// returning what the scheduler should do next.
#pragma once

#include "kernel/cpu/percpu.hpp"
#include "kernel/devices/gic/vgic.hpp"
#include "vcpu/exit.hpp"
#include "vcpu/outcome.hpp"
#include "vcpu/vcpu.hpp"

Outcome handle_exit(Vcpu& vcpu, const vcpu::Exit& exit);

/// Whether `v`'s WFI may wait in the guest (docs/vcpu.md): it is alone on
/// this CPU, its VM's console holds no unfinished line (shown when the
/// guest idles), and none of its list registers holds an interrupt the guest
/// may have completed unseen. Looked at by WFI exits only (kernel/exit/
/// dispatch.cpp): on every entry it cost a tenth of a hypercall.
inline bool wfi_in_guest(const Vcpu& v)
{
    return v.vgic != nullptr && __atomic_load_n(&this_cpu()->vcpus, __ATOMIC_RELAXED) == 1 && !vgic::lrs_in_use(v) &&
           (v.console_unfinished == nullptr || __atomic_load_n(v.console_unfinished, __ATOMIC_RELAXED) == 0);
}

/// WFI, or PSCI CPU_SUSPEND: continue if an interrupt is pending, else block.
Outcome wait_for_interrupt(Vcpu& vcpu);
