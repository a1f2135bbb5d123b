// Dispatching a vCPU's exit to the device layer.
#pragma once

#include "vcpu/exit.hpp"

class Vcpu;

/// What the scheduler does after an exit was handled.
enum class Outcome {
    Continue,      // re-enter the same vCPU
    YieldIfOthers, // give the CPU to another runnable vCPU if there is one (WFI)
    Yield,         // give the CPU up (WFE, the yield hypercall)
    Interrupted,   // a physical interrupt was handled: the scheduler decides
    Block,         // WFI with nothing pending: sleep until an interrupt is
};

Outcome handle_exit(Vcpu& vcpu, const vcpu::Exit& exit);

/// WFI, or PSCI CPU_SUSPEND: continue if an interrupt is pending, else block.
Outcome wait_for_interrupt(Vcpu& vcpu);
