// A VM's virtual GIC, of the host's version. The distributor (and on
// GICv3 the redistributors) emulated by trapping MMIO (VirtualDistributor);
// the CPU interface is the hardware's own: GICv2's GICV frame mapped at the
// guest's GICC address, or GICv3's ICV_* system registers. List registers
// are filled from the distributor's pending interrupts before each guest
// entry. The guest's virtual timer interrupt (PPI 27) is hardware-linked:
// the guest's EOI deactivates the physical interrupt. GICv3 SGIs are
// trapped ICC_SGI1R_EL1 writes (send_sgi1r). A GICv3 VM also has LPIs
// (vgic_lpi.hpp) and a virtual ITS (vgic_its.hpp) that raises them.
#pragma once

#include <stdint.h>

#include "kernel/base/spinlock.hpp"
#include "kernel/cpu/percpu.hpp"
#include "kernel/devices/gic/vgic_dist.hpp"
#include "kernel/devices/gic/vgic_its.hpp"
#include "kernel/devices/gic/vgic_lpi.hpp"
#include "kernel/devices/guest_ram.hpp"
#include "kernel/devices/mmio/mmio_bus.hpp"
#include "vcpu/vcpu.hpp"

class VmHost;
class PageTable;
struct Platform;

class Vgic final : public MmioDevice {
public:
    static constexpr uint64_t kGicdBase = 0x08000000; // the guest's GICD, as on QEMU virt
    /// The GICD region the guest's DTB describes, 64 KiB on both versions
    /// (a GICv2 distributor's registers fill its first 4 KiB; the rest
    /// reads as zero and ignores writes, as reserved space does).
    static constexpr uint64_t kGicdFrame = 0x10000;
    static constexpr uint64_t kGiccBase = 0x08010000; // GICv2: the guest's GICC, the host's GICV
    static constexpr uint64_t kGicrBase = 0x080a0000; // GICv3: the guest's redistributors, as on QEMU virt
    static constexpr uint32_t kMaxLrs = 16;
    static constexpr uint32_t kMaxVcpus = VirtualDistributor::kMaxVcpus;

    // A power of two in size: the exit path finds a vCPU's by a shift.
    struct alignas(256) CpuState {
        uint64_t lr[kMaxLrs] = {}; // in ICH_LR_EL2 layout on either version
        uint32_t used = 0;         // LRs holding an interrupt
        uint32_t vmcr = 0;
        uint32_t apr[8] = {};      // GICv2: GICH_APR; GICv3: ICH_AP0R0-3, ICH_AP1R0-3
        bool flush = false;        // something may have become pending
        bool reset = false;        // the VM restarted: this vCPU's list registers hold nothing of value
                                   // (always set for a direct vCPU: its entries take that path)
        bool restarted = false;    // the VM restarted (a direct vCPU's CPU is set up again: direct.hpp)
        bool timer_raised = false; // its virtual timer's interrupt may still be pending, not yet taken
        bool recheck_lpis = false; // the ITS changed LPIs its list registers may hold (VirtualLpis::must_recheck)
    };

    /// The GICv3 redistributors: one MMIO region for all of the VM's vCPUs.
    /// (Its owner is set by vgic::setup: GCC 12 leaves a constinit array
    /// of objects initialised with `*this` zero, vtables included.)
    class Redistributors final : public MmioDevice {
    public:
        Vgic* owner = nullptr;
        bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) override;
        bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value) override;
        const char* name() const override { return "the virtual GIC redistributors"; }
    };

    /// GICv3: the VM's ITS registers (VirtualIts) on its bus; command
    /// errors become rate-limited log lines.
    class ItsFrame final : public MmioDevice, private ItsReport {
    public:
        Vgic* owner = nullptr;
        bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) override;
        bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value) override;
        const char* name() const override { return "the virtual ITS"; }

    private:
        void command_ignored(const ItsCommandError& error) override;
        void queue_stalled(const char* why) override;
        /// After ITS work: vCPUs given LPIs look at them.
        void deliver(uint32_t writer);
    };

    bool active = false;
    bool direct = false;           // the VM takes its interrupts directly (direct.hpp)
    bool told_undelivered = false; // direct: the boot log said an emulated device's SPI is not delivered
    uint32_t irqs = 0;             // interrupts of the distributor
    VmHost* host = nullptr;        // wakes and kicks the VM's vCPUs
    Vcpu* vcpus = nullptr;         // the VM's vCPUs, vcpu_count of them
    uint32_t vcpu_count = 0;
    VirtualDistributor dist;
    CpuState cpu[kMaxVcpus];
    Redistributors redists;
    uint32_t hw_spi[VirtualDistributor::kMaxIrqs / 32] = {}; // passthrough SPIs: hardware-linked
    SpinLock lock;
    ItsFrame its_frame;
    GuestRam* ram = nullptr; // where LPI tables and ITS commands are read
    // Last: 36 KiB that every other member's offset would otherwise grow
    // by, and AArch64 loads reach 4 KiB-scaled offsets in one instruction.
    VirtualLpis lpis; // GICv3
    VirtualIts its;   // GICv3

    /// Times each SPI was raised since boot (set_spi_level with the line
    /// going high: a device's interrupt, a passthrough SPI taken), for the
    /// monitor's `dev`. Counted where devices raise them, not where list
    /// registers are filled: the exit rows of `make bench` do not pay for it.
    static constexpr uint32_t kSpis = VirtualDistributor::kMaxIrqs - VirtualDistributor::kPrivate;
    uint32_t spis_raised[kSpis] = {}; // written under `lock`, read without it (relaxed)
    /// Times SPI `intid` was raised (0 for other INTIDs).
    uint64_t raised_count(uint32_t intid) const
    {
        return intid - VirtualDistributor::kPrivate < kSpis
                   ? __atomic_load_n(&spis_raised[intid - VirtualDistributor::kPrivate], __ATOMIC_RELAXED)
                   : 0;
    }

    bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) override;
    bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value) override;
    const char* name() const override { return "the virtual GIC distributor"; }

    /// Every vCPU of the VM looks at its interrupts at its next entry.
    void flush_all() { flush(~0u); }
    /// The vCPUs in `which` (bit n: vCPU n) look at their interrupts at their next entry.
    void flush(uint32_t which);
    /// After a guest write that may make interrupts pending (`raises`) or
    /// change what is deliverable: every vCPU looks again, blocked ones
    /// wake, and running ones elsewhere are kicked if something was raised.
    void changed(uint32_t writer, bool raises);
    /// After `sender` made SGIs pending for `targets` (bit n: vCPU n):
    /// those vCPUs look again, blocked ones wake, running ones elsewhere
    /// are kicked. (Nobody else: an IPI concerns its targets only.)
    void sgi_raised(uint32_t sender, uint32_t targets);
    /// Wakes the blocked vCPUs in `wake` and kicks the running ones in
    /// `kick` (bit n: vCPU n) so they look at their interrupts again.
    void notify(uint32_t wake, uint32_t kick);
    /// After a guest write to ITARGETSR/IROUTER: passthrough SPIs are
    /// routed physically to the CPU of the vCPU the guest chose.
    void follow_routes(uint64_t offset, unsigned size);
    /// After ITS or LPI register work (under the lock): the vCPUs whose list
    /// registers may hold LPIs that changed look them over at entry.
    void note_lpi_changes()
    {
        for (uint32_t v = 0; v < vcpu_count; v++) {
            cpu[v].recheck_lpis = cpu[v].recheck_lpis || lpis.must_recheck(v);
        }
    }
    /// Interrupts of register word `word` held in list registers as pending
    /// (`want_active` false) or active, for the guest's ISPENDR/ISACTIVER reads.
    uint32_t listed(uint32_t vcpu, uint32_t word, bool want_active);
};

namespace vgic {

/// Learns the host's GIC virtualization support (boot CPU, after the GIC):
/// GICv2 with GICH and GICV in the DTB, or GICv3's ICH_* registers.
bool init(const Platform& platform);
/// Whether the host can give VMs a virtual GIC, and which version (0: none).
bool available();
unsigned version();
/// Prepares `vgic` for the `vcpu_count` vCPUs at `vcpus` (each gets its
/// Vcpu::vgic) and `irqs` interrupts (at least 64; more for passthrough
/// SPIs above 63); `host` wakes and kicks them, `ram` is the VM's RAM.
/// GICv2 maps GICV into `stage2`; the caller puts the distributor (and
/// redistributors and ITS) on the VM's bus.
bool setup(Vgic& vgic, PageTable& stage2, VmHost& host, GuestRam& ram, Vcpu* vcpus, uint32_t vcpu_count, uint32_t irqs);
/// The VM restarts (its vCPUs are off): the distributor back to reset, the
/// list registers emptied when each vCPU next enters.
void reset(Vgic& vgic);
/// A trapped ICC_SGI1R_EL1 (or ICC_SGI0R/ASGI1R) write from `vcpu`.
void send_sgi1r(Vcpu& vcpu, uint64_t value);
/// The maintenance interrupt fired: no more underflow interrupts until a
/// refill asks again.
void maintenance();

// The calls below that take a Vcpu are for vCPUs with a virtual GIC
// (Vcpu::vgic set), but for timer_fired.

void enter_slow(Vcpu& vcpu, Vgic& vgic, Vgic::CpuState& cs);
void exit_slow(Vcpu& vcpu, Vgic::CpuState& cs);

/// Before entering `vcpu`: its list registers in place, new interrupts in
/// them. Inline, as exit() is: on most entries (back from a hypercall or
/// an MMIO access) there is nothing to do, which a few loads show.
inline void enter(Vcpu& vcpu)
{
    Vgic& g = *vcpu.vgic;
    Vgic::CpuState& cs = g.cpu[vcpu.index];
    if (this_cpu()->lr_owner != &vcpu || (cs.flush | cs.reset)) { // one test of both flags
        enter_slow(vcpu, g, cs);
    }
}
/// Before entering a vCPU without a virtual GIC: takes any other vCPU's
/// list registers off this CPU, so none of its interrupts reach this guest.
void release_cpu();
/// After an exit: frees list registers the guest has completed.
inline void exit(Vcpu& vcpu)
{
    Vgic::CpuState& cs = vcpu.vgic->cpu[vcpu.index];
    if (cs.used != 0 || cs.timer_raised) {
        exit_slow(vcpu, cs);
    }
}
/// The physical virtual-timer PPI fired while `vcpu` was loaded.
void timer_fired(Vcpu& vcpu, uint32_t intid);
/// An MSI reached the VM from a passed-through function (DeviceID
/// `device`, EventID `event`): its virtual ITS raises the LPI the guest
/// mapped, if any.
void msi(Vgic& vgic, uint32_t device, uint32_t event);
/// A level-sensitive private interrupt of `vcpu` (running on this CPU), e.g.
/// its emulated physical timer: pending while high; when low, an instance
/// not yet taken is withdrawn.
void set_private_level(Vcpu& vcpu, uint32_t intid, bool level);
/// A device's level-sensitive SPI changed: pending while the line is high.
void set_spi_level(Vgic& vgic, uint32_t intid, bool level);
/// WFI found nothing pending for `vcpu` (loaded here), yet its virtual
/// timer's line is high and the interrupt is nowhere in the virtual GIC:
/// the physical PPI is on its way (and is made to be). True then: the vCPU
/// must not sleep.
bool timer_owed(Vcpu& vcpu);
/// Whether `vcpu` has an interrupt pending or in a list register (WFI wakes).
bool has_pending(Vcpu& vcpu);
/// Whether any of `vcpu`'s list registers holds an interrupt the guest has
/// not completed as far as Vireo knows (it learns of EOIs at exits only:
/// while one does, an instance raised meanwhile may wait for the next exit,
/// so the guest's WFI must be one).
bool lrs_in_use(const Vcpu& vcpu);

} // namespace vgic
