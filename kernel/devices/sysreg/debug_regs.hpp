// The guest's debug registers (op0 = 2 in the system-register space), all
// trapped (MDCR_EL2.TDA, TDOSA, TDRA) and emulated on the vCPU's
// DebugState: breakpoints and watchpoints, MDSCR_EL1, the OS lock. Pure,
// so the host tests can check it; sysreg_emul::handle() puts the result
// into the hardware (debug_load). See docs/vcpu.md, "Debug".
#pragma once

#include <stdint.h>

#include "vcpu/debug.hpp"

namespace sysreg_emul {

/// An MRS of debug register `encoding` (vcpu::sysreg_encoding, op0 2):
/// the value into `value`; false when the guest must get UNDEFINED (a
/// breakpoint or watchpoint this CPU does not have, a write-only register).
bool debug_read(const DebugState& state, const DebugLimits& limits, uint32_t encoding, uint64_t& value);

/// An MSR to debug register `encoding`; false when the guest must get UNDEFINED.
bool debug_write(DebugState& state, const DebugLimits& limits, uint32_t encoding, uint64_t value);

} // namespace sysreg_emul
