// The list-register half of the virtual GIC: the host's GIC virtual
// interface (GICv2 GICH, GICv3 ICH_*_EL2), what each vCPU keeps of it while
// it is not loaded, and moving interrupts from the distributor model into
// it before each guest entry. The device half (the guest's MMIO, routing,
// SGIs, device lines) is vgic.cpp.
#include "kernel/devices/gic/direct.hpp"
#include "kernel/devices/gic/vgic.hpp"

#include "kernel/cpu/percpu.hpp"
#include "kernel/devices/gic/host_if.hpp"
#include "platform/gic.hpp"
#include "platform/platform.hpp"
#include "vcpu/vcpu.hpp"

using vgic::host_if::kVtimerIntid;

namespace {

// List registers are kept in GICv3's ICH_LR_EL2 layout (IHI 0069 12.4.8)
// on both versions; GICv2's 32-bit GICH_LR (IHI 0048B 5.3.9) is converted
// at the hardware access.
constexpr uint64_t kLrStateMask = 3ull << 62;
constexpr uint64_t kLrPending = 1ull << 62;
constexpr uint64_t kLrActive = 2ull << 62;
constexpr uint64_t kLrHw = 1ull << 61;
constexpr uint64_t kLrGroup1 = 1ull << 60;
constexpr unsigned kLrPriorityShift = 48;
constexpr unsigned kLrPhysShift = 32;        // pINTID (HW); for a GICv2 SGI, the source CPU
constexpr uint64_t kLrVirtMask = 0xffffffff; // vINTID: 32 bits on GICv3 (LPIs), 10 on GICv2
constexpr uint32_t kV2VirtMask = 0x3ff;
constexpr uint32_t kHcrEn = 1;
constexpr uint32_t kHcrUie = 1u << 1; // maintenance interrupt when at most one LR is in use (same bit on v2 and v3)

constinit unsigned gic_version = 0;
constinit uint32_t lr_count = 0;
constinit uint32_t apr_count = 0; // GICv3: ICH_AP0R<n>/ICH_AP1R<n> registers in use
constinit uint64_t gicv_base = 0;

namespace hw {

uint32_t to_v2(uint64_t lr)
{
    return static_cast<uint32_t>((lr & kLrHw) >> 30 | (lr & kLrGroup1) >> 30 | (lr & kLrStateMask) >> 34 |
                                 ((lr >> kLrPriorityShift) & 0xf8) << 20 | ((lr >> kLrPhysShift) & 0x3ff) << 10 |
                                 (lr & kV2VirtMask));
}

uint64_t from_v2(uint32_t lr)
{
    return (uint64_t{lr} & (1u << 31)) << 30 | (uint64_t{lr} & (1u << 30)) << 30 | (uint64_t{lr} & (3u << 28)) << 34 |
           uint64_t{(lr >> 20) & 0xf8} << kLrPriorityShift | uint64_t{(lr >> 10) & 0x3ff} << kLrPhysShift |
           (lr & kV2VirtMask);
}

uint64_t read_lr(uint32_t n) { return gic_version == 3 ? gic::v3::read_lr(n) : from_v2(gic::v2::read_lr(n)); }

void write_lr(uint32_t n, uint64_t lr)
{
    if (gic_version == 3) {
        // Without HW, bits 41:32 are EOI-maintenance and RES0: no source CPU on v3.
        gic::v3::write_lr(n, (lr & kLrHw) ? lr : lr & ~(0x3ffull << kLrPhysShift));
    } else {
        gic::v2::write_lr(n, to_v2(lr));
    }
}

uint64_t empty_lrs() { return gic_version == 3 ? gic::v3::empty_lrs() : gic::v2::empty_lrs(); }

void write_hcr(uint32_t value)
{
    if (gic_version == 3) {
        gic::v3::write_hcr(value);
    } else {
        gic::v2::write_hcr(value);
    }
}

void save_cpu_if(Vgic::CpuState& cs)
{
    if (gic_version == 3) {
        cs.vmcr = gic::v3::read_vmcr();
        for (unsigned n = 0; n < apr_count; n++) {
            cs.apr[n] = gic::v3::read_apr(0, n);
            cs.apr[4 + n] = gic::v3::read_apr(1, n);
        }
    } else {
        cs.vmcr = gic::v2::read_vmcr();
        cs.apr[0] = gic::v2::read_apr();
    }
}

void restore_cpu_if(const Vgic::CpuState& cs)
{
    if (gic_version == 3) {
        gic::v3::write_vmcr(cs.vmcr);
        for (unsigned n = 0; n < apr_count; n++) {
            gic::v3::write_apr(0, n, cs.apr[n]);
            gic::v3::write_apr(1, n, cs.apr[4 + n]);
        }
    } else {
        gic::v2::write_vmcr(cs.vmcr);
        gic::v2::write_apr(cs.apr[0]);
    }
}

} // namespace hw

uint64_t make_lr(uint32_t virt, uint8_t priority, uint32_t phys_or_cpu, bool hw)
{
    // GICv2 guests use Group 0 (GICV without security extensions); GICv3
    // guests Group 1, as the distributor's IGROUPR reports.
    return (hw ? kLrHw : 0) | (gic_version == 3 ? kLrGroup1 : 0) | kLrPending |
           uint64_t{static_cast<uint8_t>(priority & 0xf8)} << kLrPriorityShift |
           uint64_t{phys_or_cpu & 0x3ff} << kLrPhysShift | virt;
}

int free_lr(const Vgic::CpuState& cs)
{
    for (uint32_t n = 0; n < lr_count; n++) {
        if (!(cs.used & (1u << n))) {
            return static_cast<int>(n);
        }
    }
    return -1;
}

int lr_of(const Vgic::CpuState& cs, uint32_t irq)
{
    for (uint32_t n = 0; n < lr_count; n++) {
        if ((cs.used & (1u << n)) && (cs.lr[n] & kLrVirtMask) == irq) {
            return static_cast<int>(n);
        }
    }
    return -1;
}

bool in_lr(const Vgic::CpuState& cs, uint32_t irq) { return lr_of(cs, irq) >= 0; }

void place(Vgic::CpuState& cs, int n, uint64_t value)
{
    cs.lr[n] = value;
    cs.used |= 1u << n;
    hw::write_lr(static_cast<uint32_t>(n), value);
}

/// Frees the list register holding the least urgent interrupt that is only
/// pending (not yet acknowledged) and less urgent than `priority`, putting
/// it back into the distributor; -1 if there is none.
int evict_for(Vgic& g, uint32_t vcpu, int priority)
{
    Vgic::CpuState& cs = g.cpu[vcpu];
    int worst = -1;
    int worst_priority = priority;
    for (uint32_t n = 0; n < lr_count; n++) {
        if (!(cs.used & (1u << n))) {
            continue;
        }
        const uint64_t lr = hw::read_lr(n);
        const int p = static_cast<int>((lr >> kLrPriorityShift) & 0xf8);
        if ((lr & kLrStateMask) == kLrPending && p > worst_priority) {
            worst = static_cast<int>(n);
            worst_priority = p;
        }
    }
    if (worst < 0) {
        return -1;
    }
    const uint64_t lr = hw::read_lr(static_cast<uint32_t>(worst));
    const auto irq = static_cast<uint32_t>(lr & kLrVirtMask);
    if (irq < 16) {
        // GICv2 names the source; GICv3 keeps none (any source will do).
        g.dist.return_sgi(vcpu, irq, gic_version == 3 ? vcpu : (lr >> kLrPhysShift) & 7);
    } else if (VirtualLpis::is_lpi(irq)) {
        g.lpis.set_pending(vcpu, irq, true);
    } else {
        g.dist.set_pending(vcpu, irq, true);
    }
    hw::write_lr(static_cast<uint32_t>(worst), 0);
    cs.used &= ~(1u << worst);
    return worst;
}

/// The interrupts pend_again() takes: LPIs (a virtual LPI is active
/// between its acknowledge and its end) and GICv3 SGIs (no source to tell
/// apart). A hardware-linked interrupt cannot fire again while active, and
/// a level one stays pending in the distributor while its line is high.
inline bool re_pends(uint32_t irq) { return VirtualLpis::is_lpi(irq) || (irq < 16 && gic_version == 3); }

/// An edge-triggered interrupt raised again while list register `n` (of
/// `vcpu`, loaded here) holds it active: the guest is in its handler. The
/// list register becomes pending and active, so the guest takes it again
/// once it ends the first (IHI 0069 4.1.2: an edge re-pends an active
/// interrupt); left waiting in the model, it would be seen only at the
/// vCPU's next exit, which a guest spinning with interrupts unmasked may
/// never make. Only for what re_pends(). Returns false if the guest has
/// ended it since the last exit: the list register is free then, and the
/// interrupt a candidate for one. Cold: fill() is on every interrupt's
/// path, this is not.
[[gnu::noinline, gnu::cold]] bool pend_again(Vgic& g, uint32_t vcpu, uint32_t n, uint32_t irq)
{
    const bool lpi = VirtualLpis::is_lpi(irq);
    Vgic::CpuState& cs = g.cpu[vcpu];
    const uint64_t lr = hw::read_lr(n);
    if ((lr & kLrStateMask) == 0) {
        cs.used &= ~(1u << n);
        return false;
    }
    if ((lr & kLrStateMask) != kLrActive || (lr & kLrHw)) {
        return true; // still pending: nothing to add
    }
    if (lpi) {
        g.lpis.set_pending(vcpu, irq, false);
    } else {
        while (g.dist.take_sgi(vcpu, irq) >= 0) {
        }
    }
    cs.lr[n] = lr | kLrPending;
    hw::write_lr(n, cs.lr[n]);
    g.vcpus[vcpu].stats.injected++;
    return true;
}

/// Moves pending, enabled interrupts of `vcpu` into list registers, most
/// urgent (lowest priority value) first, taking back less urgent ones the
/// guest has not acknowledged yet. What does not fit stays pending: a
/// maintenance interrupt (underflow) brings the vCPU back to refill.
void fill(Vgic& g, uint32_t vcpu)
{
    Vgic::CpuState& cs = g.cpu[vcpu];
    cs.flush = false;
    VirtualDistributor& d = g.dist;
    const bool forwarding = d.enabled();
    // LPIs skip the distributor (IHI 0069 5.1): GICD_CTLR does not gate
    // them. Only words that had a pending LPI when the fill began are
    // looked at: none become pending meanwhile (the lock is held) but one
    // taken back from a list register (read again then).
    uint32_t lpi_words = gic_version == 3 ? g.lpis.pending_words(vcpu) : 0;
    if (!forwarding && lpi_words == 0) {
        return;
    }
    // One look finds the most urgent candidate; a look that found only
    // one (the common case: one interrupt raised) and placed it in a free
    // list register is the last, as nothing can become pending while the
    // lock is held.
    for (bool last = false; !last;) {
        uint32_t best = 0;
        int best_priority = 0x100;
        uint32_t candidates = 0;
        // An interrupt not in a list register yet is a candidate. One whose
        // list register holds it taken (active) is pended there again.
        auto consider = [&](uint32_t irq, int priority) {
            const int n = lr_of(cs, irq);
            if (n < 0 || (re_pends(irq) && !pend_again(g, vcpu, static_cast<uint32_t>(n), irq))) {
                candidates++;
                if (priority < best_priority) {
                    best = irq;
                    best_priority = priority;
                }
            }
        };
        for (uint32_t word = 0; forwarding && word * 32 < d.irqs(); word++) {
            for (uint32_t m = d.deliverable_mask(vcpu, word); m != 0; m &= m - 1) {
                const uint32_t irq = word * 32 + static_cast<uint32_t>(__builtin_ctz(m));
                consider(irq, d.priority(vcpu, irq));
            }
        }
        for (uint32_t words = lpi_words; words != 0; words &= words - 1) {
            const auto word = static_cast<uint32_t>(__builtin_ctz(words));
            for (uint32_t m = g.lpis.deliverable_mask(vcpu, word); m != 0; m &= m - 1) {
                const uint32_t irq = VirtualLpis::kFirst + word * 32 + static_cast<uint32_t>(__builtin_ctz(m));
                consider(irq, g.lpis.priority(vcpu, irq));
            }
        }
        if (candidates == 0) {
            return;
        }
        last = candidates == 1;
        int n = free_lr(cs);
        if (n < 0) {
            n = evict_for(g, vcpu, best_priority);
            lpi_words = gic_version == 3 ? g.lpis.pending_words(vcpu) : 0;
            last = false; // what was taken back is a candidate now: look again (and ask for an underflow)
        }
        if (n < 0) {
            cs.flush = true;
            hw::write_hcr(kHcrEn | kHcrUie);
            return;
        }
        const auto priority = static_cast<uint8_t>(best_priority);
        g.vcpus[vcpu].stats.injected++;
        g.vcpus[vcpu].trap_wfi = true; // until a WFI exit sees the guest has completed it (docs/vcpu.md)
        if (best < 16) {
            // GICv3 SGIs carry no source: one list register takes them all.
            int source = d.take_sgi(vcpu, best);
            while (gic_version == 3 && d.take_sgi(vcpu, best) >= 0) {
            }
            place(cs, n, make_lr(best, priority, static_cast<uint32_t>(source), false));
        } else if (VirtualLpis::is_lpi(best)) {
            g.lpis.set_pending(vcpu, best, false); // the list register holds it now
            place(cs, n, make_lr(best, priority, 0, false));
        } else {
            d.set_pending(vcpu, best, false);
            const bool hw = best == kVtimerIntid ||
                            (best < VirtualDistributor::kMaxIrqs && (g.hw_spi[best / 32] >> (best % 32)) & 1);
            place(cs, n, make_lr(best, priority, best, hw));
        }
    }
}

/// Whether `cs` holds the hardware-linked timer interrupt not yet ended
/// by the guest: the physical PPI is then active on this CPU.
bool holds_timer(const Vgic::CpuState& cs)
{
    for (uint32_t n = 0; n < lr_count; n++) {
        const uint64_t lr = cs.lr[n];
        if ((cs.used & (1u << n)) && (lr & kLrHw) && (lr & kLrVirtMask) == kVtimerIntid && (lr & kLrStateMask)) {
            return true;
        }
    }
    return false;
}

void save(Vcpu& v)
{
    // The physical timer PPI never stays active across a switch: whatever
    // this guest did (its distributor or the PPI disabled, the interrupt
    // never taken), the next vCPU's timer must be able to fire here. If
    // this guest still holds the interrupt, restore() activates it again.
    gic::set_active(kVtimerIntid, false);
    Vgic::CpuState& cs = v.vgic->cpu[v.index];
    if (cs.reset) {
        return; // what the list registers hold belongs to the guest before the reset
    }
    for (uint32_t n = 0; n < lr_count; n++) {
        if (cs.used & (1u << n)) {
            cs.lr[n] = hw::read_lr(n);
            if ((cs.lr[n] & kLrStateMask) == 0) {
                cs.used &= ~(1u << n); // completed meanwhile
            }
        }
    }
    hw::save_cpu_if(cs);
}

void restore(Vcpu& v)
{
    const Vgic::CpuState& cs = v.vgic->cpu[v.index];
    for (uint32_t n = 0; n < lr_count; n++) {
        hw::write_lr(n, (cs.used & (1u << n)) ? cs.lr[n] : 0);
    }
    hw::restore_cpu_if(cs);
    if (holds_timer(cs)) {
        gic::set_active(kVtimerIntid, true); // the guest's EOI will deactivate it
    }
    hw::write_hcr(kHcrEn);
}

} // namespace

/// Interrupts of register word `word` (32 per word) that sit in list
/// registers as pending (or active): the distributor no longer holds that
/// state, but a guest reading ISPENDR/ISACTIVER must still see it. Private
/// words look at vCPU `vcpu` only, SPI words at every vCPU.
uint32_t Vgic::listed(uint32_t vcpu, uint32_t word, bool want_active)
{
    const uint64_t state = want_active ? 2ull << 62 : 1ull << 62;
    uint32_t bits = 0;
    for (uint32_t v = 0; v < vcpu_count; v++) {
        if (word == 0 && v != vcpu) {
            continue;
        }
        const CpuState& cs = cpu[v];
        const bool live = v < vcpu_count && this_cpu()->lr_owner == &vcpus[v];
        for (uint32_t n = 0; n < lr_count; n++) {
            if (!(cs.used & (1u << n))) {
                continue;
            }
            const uint64_t lr = live ? hw::read_lr(n) : cs.lr[n];
            const auto irq = static_cast<uint32_t>(lr & kLrVirtMask);
            if ((lr & state) && irq / 32 == word) {
                bits |= 1u << (irq % 32);
            }
        }
    }
    return bits;
}

namespace {

/// Whether the distributor has an interrupt for `vcpu`. Without the lock:
/// word reads of state others change under it, for a look only (see
/// has_pending and enter_slow for why no raise is lost).
bool anything_deliverable(const Vgic& g, uint32_t vcpu)
{
    for (uint32_t word = 0; word * 32 < g.dist.irqs(); word++) {
        if (g.dist.deliverable_mask(vcpu, word) != 0) {
            return true;
        }
    }
    return gic_version == 3 && g.lpis.anything_deliverable(vcpu); // looks at pending words only
}

} // namespace

namespace vgic {

namespace host_if {

unsigned gic_version() { return ::gic_version; }

uint64_t gicv_base() { return ::gicv_base; }

} // namespace host_if

bool available() { return lr_count != 0; }

unsigned version() { return lr_count != 0 ? gic_version : 0; }

bool init(const Platform& platform)
{
    if (gic::version() == 3) {
        lr_count = gic::v3::list_registers();
        apr_count = gic::v3::active_priority_registers();
    } else if (gic::version() == 2 && platform.gic.virt_cpu_if.size != 0 && platform.gic.hyp_if.size != 0) {
        gicv_base = platform.gic.virt_cpu_if.base;
        lr_count = gic::v2::list_registers();
    }
    if (lr_count > Vgic::kMaxLrs) {
        lr_count = Vgic::kMaxLrs;
    }
    gic_version = lr_count != 0 ? gic::version() : 0;
    return lr_count != 0;
}

void maintenance()
{
    if (lr_count != 0) {
        hw::write_hcr(kHcrEn);
    }
}

namespace {

/// LPIs the ITS took away (CLEAR, DISCARD), moved (MOVI, MOVALL) or gave a
/// new priority or enable (INV, INVALL) while one of `vcpu`'s list
/// registers (loaded here) held them pending (not yet taken, or taken and
/// pending again): that pending instance out of the list register, and
/// pending where it belongs now (nowhere, another
/// vCPU, or this one again, to be placed as the property table says).
/// Returns the vCPUs given one (bit n). Under the lock.
uint32_t recheck_lpis(Vgic& g, uint32_t vcpu)
{
    Vgic::CpuState& cs = g.cpu[vcpu];
    const int moved = g.lpis.moved_to(vcpu);
    uint32_t raised = 0;
    for (uint32_t n = 0; n < lr_count; n++) {
        const uint64_t lr = (cs.used & (1u << n)) ? hw::read_lr(n) : 0;
        const auto intid = static_cast<uint32_t>(lr & kLrVirtMask);
        if (!VirtualLpis::is_lpi(intid) || !(lr & kLrPending)) {
            continue; // not an LPI, or taken already: the guest's to end
        }
        int to;
        if (g.lpis.withdrawn(vcpu, intid)) {
            to = g.lpis.followed_to(vcpu, intid);
        } else if (moved >= 0) {
            to = moved;
        } else if (g.lpis.reconfigured(vcpu)) {
            to = static_cast<int>(vcpu);
        } else {
            continue;
        }
        // Taken and pending again (pend_again()): the guest keeps the
        // instance it took; the pending one goes.
        cs.lr[n] = (lr & kLrActive) ? lr & ~kLrPending : 0;
        hw::write_lr(n, cs.lr[n]);
        if (cs.lr[n] == 0) {
            cs.used &= ~(1u << n);
        }
        if (to >= 0) {
            g.lpis.set_pending(static_cast<uint32_t>(to), intid, true);
            raised |= 1u << to;
        }
    }
    g.lpis.rechecked(vcpu);
    return raised;
}

} // namespace

/// enter() when there is something to do: another vCPU's list registers
/// to swap out, a restart to clean up after, or interrupts to place.
void enter_slow(Vcpu& v, Vgic& g, Vgic::CpuState& cs)
{
    Vcpu*& owner = this_cpu()->lr_owner;
    if (cs.reset) {
        if (v.direct) {
            // Nothing is listed for a direct vCPU: its reset flag stays set,
            // so that every entry comes here (off the path of the others).
            direct::enter(v);
            return;
        }
        // First entry since the VM restarted: empty list registers, and the
        // timer PPI the old guest may have left active is released.
        cs.reset = false;
        cs.flush = true;
        if (owner == &v) {
            owner = nullptr;
        }
        gic::set_active(kVtimerIntid, false);
    }
    if (owner != &v) {
        if (owner != nullptr) {
            save(*owner);
        }
        restore(v);
        owner = &v;
    }
    if (cs.recheck_lpis) {
        uint32_t raised;
        {
            LockGuard guard(g.lock);
            cs.recheck_lpis = false;
            raised = recheck_lpis(g, v.index);
        }
        cs.flush = true;
        const uint32_t others = raised & ~(1u << v.index);
        if (others != 0) {
            g.flush(others);
            g.notify(others, others);
        }
    }
    if (cs.flush) {
        // Most looks find nothing new (a list register freed, an SGI for
        // another vCPU): those do not take the lock. The flag is cleared
        // before the look, with a full barrier between, so a raise that the
        // look misses sets it again for the next entry.
        __atomic_store_n(&cs.flush, false, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (anything_deliverable(g, v.index)) {
            LockGuard guard(g.lock);
            hw::write_hcr(kHcrEn);
            fill(g, v.index);
        }
    }
}

void release_cpu()
{
    if (lr_count == 0) {
        return;
    }
    Vcpu*& owner = this_cpu()->lr_owner;
    if (owner != nullptr) {
        save(*owner);
        for (uint32_t n = 0; n < lr_count; n++) {
            hw::write_lr(n, 0);
        }
        hw::write_hcr(0);
        owner = nullptr;
    }
}

namespace {

/// Whether `v`'s list registers are the ones in this CPU's hardware.
bool live(const Vcpu& v) { return this_cpu()->lr_owner == &v; }

/// The list register of `v` holding `intid` as pending only (not yet
/// taken), or -1.
int pending_lr(const Vcpu& v, const Vgic::CpuState& cs, uint32_t intid)
{
    for (uint32_t n = 0; n < lr_count; n++) {
        if ((cs.used & (1u << n)) && (cs.lr[n] & kLrVirtMask) == intid &&
            ((live(v) ? hw::read_lr(n) : cs.lr[n]) & kLrStateMask) == kLrPending) {
            return static_cast<int>(n);
        }
    }
    return -1;
}

/// Whether `intid` waits for the loaded vCPU `v`, in a list register or the distributor.
bool pending_anywhere(Vcpu& v, const Vgic::CpuState& cs, uint32_t intid)
{
    if (pending_lr(v, cs, intid) >= 0) {
        return true;
    }
    return v.vgic->dist.irq_pending(v.index, intid); // a word read: no lock for a look
}

/// A level-sensitive private interrupt of `v` went low: an
/// instance the guest has not taken yet goes away, from its list register
/// and the distributor. True if there was one.
bool withdraw(Vcpu& v, Vgic::CpuState& cs, uint32_t intid)
{
    bool withdrawn = false;
    const int n = pending_lr(v, cs, intid);
    if (n >= 0) {
        if (live(v)) {
            hw::write_lr(static_cast<uint32_t>(n), 0);
        }
        cs.lr[n] = 0;
        cs.used &= ~(1u << n);
        withdrawn = true;
    }
    if (v.vgic->dist.irq_pending(v.index, intid)) { // the lock only when there is something to take
        LockGuard guard(v.vgic->lock);
        if (v.vgic->dist.irq_pending(v.index, intid)) {
            v.vgic->dist.set_pending(v.index, intid, false);
            withdrawn = true;
        }
    }
    return withdrawn;
}

/// The virtual timer is level-sensitive (Arm DDI 0487, D11.2.4): once the
/// guest has disabled or masked it, or moved CVAL into the future, an
/// interrupt it raised and the guest has not taken yet goes away, from the
/// list register and the distributor alike, and the physical PPI (only
/// priority-dropped when it fired) is deactivated. Without FEAT_ECV the
/// timer's registers cannot be trapped, so this is noticed at the guest's
/// next exit; an interrupt already acknowledged stays the guest's to end.
__attribute__((noinline)) void settle_timer(Vcpu& v, Vgic::CpuState& cs)
{
    uint64_t ctl;
    asm volatile("mrs %0, cntv_ctl_el0" : "=r"(ctl));
    const bool asserted = (ctl & 7) == 5; // ENABLE, not IMASK, ISTATUS
    if (asserted) {
        cs.timer_raised = pending_anywhere(v, cs, kVtimerIntid); // still waiting for the guest to take it
        return;
    }
    if (withdraw(v, cs, kVtimerIntid)) {
        gic::set_active(kVtimerIntid, false); // only priority-dropped when it fired
    }
    cs.timer_raised = false;
}

} // namespace

/// exit() with list registers in use or a timer interrupt to watch.
void exit_slow(Vcpu& v, Vgic::CpuState& cs)
{
    if (cs.used != 0) {
        const uint64_t empty = hw::empty_lrs();
        for (uint32_t n = 0; n < lr_count; n++) {
            if ((cs.used & (1u << n)) && ((empty >> n) & 1)) {
                cs.used &= ~(1u << n); // the guest has completed it
                cs.flush = true;       // room for whatever waited
                if ((cs.lr[n] & kLrVirtMask) == kVtimerIntid) {
                    cs.timer_raised = false; // taken and ended: nothing left to withdraw
                }
            }
        }
    }
    if (cs.timer_raised) {
        settle_timer(v, cs);
    }
}

bool timer_owed(Vcpu& v)
{
    uint64_t ctl;
    asm volatile("mrs %0, cntv_ctl_el0" : "=r"(ctl));
    if ((ctl & 7) != 5) { // ENABLE, not IMASK, ISTATUS: the line is high
        return false;
    }
    const Vgic::CpuState& cs = v.vgic->cpu[v.index];
    if (in_lr(cs, kVtimerIntid)) {
        return false; // given to the guest already
    }
    if (v.vgic->dist.irq_pending(v.index, kVtimerIntid) || v.vgic->dist.irq_active(v.index, kVtimerIntid)) {
        return false;
    }
    // The line is high and the interrupt nowhere: the physical PPI has not
    // been signalled. QEMU's GICv2 does not look at a level-high PPI again
    // when a hardware-linked list register deactivates it (the guest's EOI
    // of the previous timer interrupt), until some other GIC event: the
    // vCPU would sleep through its timer. Setting its enable bit again (a
    // no-op to the architecture) makes the GIC look; on hardware the IRQ
    // is already on its way.
    gic::enable_local(kVtimerIntid);
    return true;
}

void set_private_level(Vcpu& v, uint32_t intid, bool level)
{
    Vgic::CpuState& cs = v.vgic->cpu[v.index];
    if (!level) {
        withdraw(v, cs, intid);
        return;
    }
    LockGuard guard(v.vgic->lock);
    if (!v.vgic->dist.irq_pending(v.index, intid)) {
        v.vgic->dist.set_pending(v.index, intid, true);
        cs.flush = true;
    }
}

bool lrs_in_use(const Vcpu& v) { return v.vgic->cpu[v.index].used != 0; }

bool has_pending(Vcpu& v)
{
    Vgic& g = *v.vgic;
    const Vgic::CpuState& cs = g.cpu[v.index];
    if (cs.used != 0) {
        return true;
    }
    // Without the lock: word reads of state others change under it. A
    // vCPU going to sleep looks again after publishing that it sleeps
    // (sched's block(), with a full barrier between), and whoever makes an
    // interrupt pending wakes it after releasing the lock: one of the two
    // sees the other, so no wake-up is lost. Taking the lock here made
    // every idle vCPU queue behind the busy ones (docs/performance.md).
    return anything_deliverable(g, v.index);
}

} // namespace vgic
