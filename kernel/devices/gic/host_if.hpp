// What the two halves of the virtual GIC (vgic.cpp, list_registers.cpp)
// share about the host's GIC virtualization, learnt by vgic::init().
#pragma once

#include <stdint.h>

namespace vgic::host_if {

/// The host GIC's version when it can virtualise (2 or 3), else 0.
unsigned gic_version();
/// GICv2: the physical address of the GICV frame mapped at the guest's GICC.
uint64_t gicv_base();

/// The virtual timer's PPI, hardware-linked to the guest's (Arm DDI 0487, D11.2.4).
constexpr uint32_t kVtimerIntid = 27;

} // namespace vgic::host_if
