// A virtual PMUv3 per vCPU (docs/vcpu.md, "Performance monitors"): the
// host's counters, given to whichever vCPU runs, with every PMU register
// access trapped (MDCR_EL2.TPM, TPMCR) and emulated on the hardware after
// pmu_model.hpp has sanitised it, so nothing a guest writes counts at EL2
// or EL3 or reaches another vCPU. The hardware holds a vCPU's counters
// only while that vCPU is loaded on its CPU, and only for vCPUs that have
// touched the PMU: the others pay nothing on a switch. The overflow
// interrupt is PPI 7 (INTID 23) of the vCPU's virtual GIC, level-sensitive.
#pragma once

#include <stdint.h>

#include "kernel/cpu/percpu.hpp"
#include "vcpu/exit.hpp"
#include "vcpu/vcpu.hpp"

namespace vpmu {

constexpr uint32_t kIntid = 23; // the guest's overflow interrupt: PPI 7, as on QEMU virt

/// Learns the host's PMU (the boot CPU, before the others start: the CPUs
/// are of one kind, as one image and one DTB assume).
void probe();
/// Sets up this CPU's PMU (after vcpu_cpu_init): no counting at EL2
/// (MDCR_EL2.HPMD/HCCD where implemented), every counter the guests'
/// (HPMN = N), the counters stopped and cleared.
void init_cpu();
/// Whether VMs get a PMU: the host has a PMUv3 (ID_AA64DFR0_EL1.PMUVer not
/// 0 or 0xf).
bool available();
/// The event counters each guest gets (its PMCR_EL0.N).
unsigned counters();

/// Emulates a trapped MRS/MSR if it names a PMU register of a VM that has
/// a PMU; false (UNDEFINED) otherwise.
bool access(Vcpu& vcpu, const vcpu::SysRegAccess& access);
void enter_slow(Vcpu& vcpu);
/// Before entering `vcpu` on this CPU: the hardware holds its counters if
/// it uses them, and nobody else's. Inline: on every entry it usually
/// finds nothing to do (the vCPU's counters are here already, or nobody's
/// are and it has none).
inline void enter(Vcpu& vcpu)
{
    const Vcpu* o = this_cpu()->pmu_owner;
    if (__atomic_load_n(&vcpu.pmu.reset_requested, __ATOMIC_ACQUIRE) || (o != &vcpu && (o != nullptr || vcpu.pmu.used)))
        [[unlikely]] {
        enter_slow(vcpu);
    }
}
/// Brings the overflow interrupt of `vcpu` (loaded here) up to date: one
/// the guest ended with its overflow flag still set is raised again, as
/// the level-sensitive line would (at a WFI: the guest waits for it).
void update(Vcpu& vcpu);
/// The physical PMU interrupt fired on this CPU: the overflowing counters'
/// interrupts are masked in the hardware (until the guest clears their
/// overflow flags) and the owning vCPU's virtual interrupt raised.
void overflow();

} // namespace vpmu
