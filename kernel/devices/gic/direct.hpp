// Direct interrupt delivery (docs/vcpu.md, "Direct interrupts"): a VM
// whose every vCPU has its physical CPU to itself takes its own
// interrupts at the real GICv3 CPU interface, with no exit: HCR_EL2.IMO is
// clear on its CPUs, so physical IRQs go to its EL1 and its ICC_IAR1,
// ICC_EOIR1 and ICC_IGRPEN1 accesses reach the hardware.
//
// Vireo keeps its CPUs through Group 0: its own interrupts there (the kick
// SGI, its EL2 and call_at timers, the PMU's) are Group 0, which a
// GICv3 with one security state signals as FIQ, taken at EL2 (HCR_EL2.FMO
// set), where the guest cannot acknowledge, mask or configure them (with
// FMO set its Group 0 and common registers, ICC_PMR/CTLR/BPR0/DIR/RPR,
// reach only the virtual interface). Its Group 1 interrupts are its own:
// SGIs 0-14 and the virtual timer's PPI on each of its CPUs, and its
// passthrough SPIs, routed only to its CPUs.
//
// Its distributor and redistributors are still emulated
// (VirtualDistributor); after each write Vireo applies the model's enable,
// priority and routing of the VM's own interrupts to the physical GIC,
// and passes its pending and active writes (and reads) through for them,
// nothing else. Its ICC_SGI1R_EL1 writes still trap (they do whenever IMO
// or FMO is set): Vireo sends the SGI to the named vCPUs' CPUs only.
//
// Guest priorities are mapped below Vireo's (physical 0x88 and up; Vireo's
// are 0x80), so that Vireo's FIQs preempt any interrupt the guest is
// handling; physical EOImode is 0 and the binary point common (CBPR), so
// the guest's ICC_BPR1_EL1 writes change nothing physically.
//
// What the guest can still do to the CPU interface: write ICC_AP1R<n>_EL1
// (UNPREDICTABLE for values it did not read, IHI 0069 12.2.2) and so raise
// its running priority above Vireo's FIQs on its own CPUs; only a trap of
// every Group 1 access (ICH_HCR_EL2.TALL1) would prevent it, which is the
// cost direct delivery exists to avoid. No other VM is affected.
#pragma once

#include <stdint.h>

class Vcpu;
class Vgic;

namespace direct {

/// The guest's SGIs (0-14; SGI 15 is Vireo's kick) and its virtual timer
/// PPI: the private interrupts that are Group 1 on a direct CPU.
constexpr uint32_t kOwnPrivate = 0x7fffu | 1u << 27;
/// The SGI Vireo kicks CPUs with (irq.cpp), Group 0 on a direct CPU.
constexpr uint32_t kKickSgi = 15;

/// Why this machine cannot give a VM direct interrupts (nullptr: it can).
const char* unusable_why();

/// Before entering direct `vcpu` on its CPU: the CPU in direct mode for it
/// (again after a reset of its VM: the guest's physical interrupt state and
/// active priorities cleared first).
void enter_slow(Vcpu& vcpu);
bool needs_enter(const Vcpu& vcpu);
inline void enter(Vcpu& vcpu)
{
    if (needs_enter(vcpu)) [[unlikely]] {
        enter_slow(vcpu);
    }
}
/// `vcpu` stops (its VM stopped, reset or turned off): its CPU back to
/// Vireo, the guest's interrupts there disabled, not pending, not active.
void leave(Vcpu& vcpu);

/// After a guest write at the distributor (`redist` false) or vCPU
/// `target`'s redistributor, at `offset`: pending and active writes of the
/// VM's own interrupts passed to the hardware, then the model's enables,
/// priorities and routes of them applied. Under the vgic's lock.
void after_write(Vgic& vgic, bool redist, uint32_t target, uint64_t offset, unsigned size, uint64_t value);
/// A guest read of ISPENDR/ICPENDR/ISACTIVER/ICACTIVER word `word`
/// (of the distributor, or of vCPU `target`'s redistributor when `redist`):
/// `value` with the VM's own interrupts' bits from the hardware.
uint32_t state_read(const Vgic& vgic, bool redist, uint32_t target, uint32_t word, bool active, uint32_t value);
/// A trapped ICC_SGI1R_EL1 write: the SGI to the CPUs of the vCPUs it names.
void send_sgi(Vcpu& vcpu, uint64_t value);

} // namespace direct
