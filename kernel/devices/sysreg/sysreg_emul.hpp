// System registers guests may not touch directly: ID registers (trapped
// with HCR_EL2.TID3, features Vireo does not switch per vCPU hidden), debug
// registers (trapped, emulated per vCPU: debug_regs.hpp), the PMU (hidden:
// UNDEFINED). See docs/vcpu.md.
#pragma once

#include <stdint.h>

#include "vcpu/exit.hpp"

class Vcpu;

namespace sysreg_emul {

/// Emulates the access; false when the guest must get UNDEFINED.
bool handle(Vcpu& vcpu, const vcpu::SysRegAccess& access);

/// The value a guest reads from ID register `encoding` whose hardware value
/// is `value`: fields of features Vireo hides are cleared. Pure.
uint64_t sanitize_id(uint32_t encoding, uint64_t value);

} // namespace sysreg_emul
