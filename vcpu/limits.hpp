// The limits the architecture sets on VMs, each named once with its reason.
// Everything else (how many VMs, how many vCPUs share a CPU, a VM's
// memory) is bounded by the machine's RAM.
#pragma once

#include <stdint.h>

namespace limits {

/// vCPUs of one VM. Vireo gives a VM one affinity-0 cluster (vCPU n has
/// MPIDR 0.0.0.n), and GICv3's ICC_SGI1R_EL1.TargetList addresses 16 CPUs
/// of a cluster (Arm IHI 0069, 12.2.23).
constexpr uint32_t kVcpusPerVm = 16;
/// vCPUs of a VM with a virtual GICv2: GICD_ITARGETSR and GICD_SGIR name
/// CPUs by one bit each of a byte, and an SGI's source is a 3-bit CPU ID
/// (Arm IHI 0048B, 4.3.12 and 4.3.15).
constexpr uint32_t kVcpusPerGicv2Vm = 8;
/// VMs at once: stage 2 tags TLB entries with an 8-bit VMID (VTCR_EL2.VS
/// = 0, which every Armv8-A CPU has); VMID 0 is never given to a VM.
constexpr uint32_t kVms = 255;
/// Interrupt IDs of a virtual GIC: SGIs, PPIs and SPIs up to INTID 1019
/// (1020-1023 are special), rounded to whole 32-interrupt register words.
constexpr uint32_t kIntids = 1024;

} // namespace limits
