// Dispatching a vCPU's exit to the device models (kernel/devices) and
// returning what the scheduler should do next.
#pragma once

#include "vcpu/exit.hpp"
#include "vcpu/outcome.hpp"

class Vcpu;

Outcome handle_exit(Vcpu& vcpu, const vcpu::Exit& exit);

/// WFI, or PSCI CPU_SUSPEND: continue if an interrupt is pending, else block.
Outcome wait_for_interrupt(Vcpu& vcpu);
