// What the handling of an exit asks of the scheduler: the one word device
// models (kernel/devices) and the exit dispatch (kernel/exit) hand back up.
#pragma once

enum class Outcome {
    Continue,         // re-enter the same vCPU
    YieldIfOthers,    // give the CPU to another runnable vCPU if there is one (WFI)
    Yield,            // give the CPU up (WFE, the yield hypercall)
    Interrupted,      // a physical interrupt was handled: the scheduler decides
    Block,            // WFI with nothing pending: sleep until an interrupt is
    WaitForInterrupt, // PSCI CPU_SUSPEND: as WFI (the exit dispatch decides Continue or Block)
};
