#include "kernel/dev/vgic.hpp"

#include "kernel/irq.hpp"
#include "kernel/mem/page_table.hpp"
#include "kernel/percpu.hpp"
#include "kernel/sched.hpp"
#include "kernel/vm.hpp"
#include "platform/gic.hpp"
#include "platform/platform.hpp"

namespace {

// GICH_LR (IHI 0048B 5.3.9).
constexpr uint32_t kLrHw = 1u << 31;
constexpr uint32_t kLrPending = 1u << 28;
constexpr unsigned kLrPriorityShift = 23;
constexpr unsigned kLrPhysShift = 10;
constexpr uint32_t kLrVirtMask = 0x3ff;
constexpr uint32_t kHcrEn = 1;
constexpr uint32_t kHcrUie = 1u << 1; // maintenance interrupt when at most one LR is in use
constexpr uint32_t kVtimerIntid = 27;

constinit uint32_t lr_count = 0;
constinit uint64_t gicv_base = 0;

uint32_t make_lr(uint32_t virt, uint8_t priority, uint32_t phys_or_cpu, bool hw)
{
    return (hw ? kLrHw : 0) | kLrPending | uint32_t{static_cast<uint8_t>(priority >> 3)} << kLrPriorityShift |
           (phys_or_cpu & 0x3ff) << kLrPhysShift | virt;
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

bool in_lr(const Vgic::CpuState& cs, uint32_t irq)
{
    for (uint32_t n = 0; n < lr_count; n++) {
        if ((cs.used & (1u << n)) && (cs.lr[n] & kLrVirtMask) == irq) {
            return true;
        }
    }
    return false;
}

void place(Vgic::CpuState& cs, int n, uint32_t value)
{
    cs.lr[n] = value;
    cs.used |= 1u << n;
    gic::v2::write_lr(static_cast<uint32_t>(n), value);
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
        const uint32_t lr = gic::v2::read_lr(n);
        const int p = static_cast<int>((lr >> kLrPriorityShift) & 0x1f) << 3;
        if ((lr & (3u << 28)) == kLrPending && p > worst_priority) {
            worst = static_cast<int>(n);
            worst_priority = p;
        }
    }
    if (worst < 0) {
        return -1;
    }
    const uint32_t lr = gic::v2::read_lr(static_cast<uint32_t>(worst));
    const uint32_t irq = lr & kLrVirtMask;
    if (irq < 16) {
        g.dist.return_sgi(vcpu, irq, (lr >> kLrPhysShift) & 7);
    } else {
        g.dist.set_pending(vcpu, irq, true);
    }
    gic::v2::write_lr(static_cast<uint32_t>(worst), 0);
    cs.used &= ~(1u << worst);
    return worst;
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
    if (!d.enabled()) {
        return;
    }
    for (;;) {
        uint32_t best = 0;
        int best_priority = 0x100;
        for (uint32_t irq = 0; irq < d.irqs(); irq++) {
            if (d.deliverable(vcpu, irq) && d.priority(vcpu, irq) < best_priority && !in_lr(cs, irq)) {
                best = irq;
                best_priority = d.priority(vcpu, irq);
            }
        }
        if (best_priority == 0x100) {
            return;
        }
        int n = free_lr(cs);
        if (n < 0) {
            n = evict_for(g, vcpu, best_priority);
        }
        if (n < 0) {
            cs.flush = true;
            gic::v2::write_hcr(kHcrEn | kHcrUie);
            return;
        }
        const auto priority = static_cast<uint8_t>(best_priority);
        if (best < 16) {
            const int source = d.take_sgi(vcpu, best);
            place(cs, n, make_lr(best, priority, static_cast<uint32_t>(source), false));
        } else {
            d.set_pending(vcpu, best, false);
            place(cs, n, make_lr(best, priority, best, best == kVtimerIntid));
        }
    }
}

void save(Vcpu& v)
{
    Vgic::CpuState& cs = v.vm->vgic.cpu[v.index];
    for (uint32_t n = 0; n < lr_count; n++) {
        if (cs.used & (1u << n)) {
            cs.lr[n] = gic::v2::read_lr(n);
            if ((cs.lr[n] & (3u << 28)) == 0) {
                cs.used &= ~(1u << n); // completed meanwhile
            }
        }
    }
    cs.vmcr = gic::v2::read_vmcr();
    cs.apr = gic::v2::read_apr();
}

void restore(Vcpu& v)
{
    const Vgic::CpuState& cs = v.vm->vgic.cpu[v.index];
    for (uint32_t n = 0; n < lr_count; n++) {
        gic::v2::write_lr(n, (cs.used & (1u << n)) ? cs.lr[n] : 0);
    }
    gic::v2::write_vmcr(cs.vmcr);
    gic::v2::write_apr(cs.apr);
    gic::v2::write_hcr(kHcrEn);
}

} // namespace

bool Vgic::read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value)
{
    LockGuard guard(lock);
    return dist.read(vcpu, offset, size, value);
}

bool Vgic::write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value)
{
    LockGuard guard(lock);
    dist.write(vcpu, offset, size, value);
    // An enable, a pending bit or an SGI may concern any vCPU.
    for (CpuState& cs : cpu) {
        cs.flush = true;
    }
    // SGIR and ISPENDR make interrupts pending: every other vCPU of the VM
    // looks again, out of WFI or out of its guest on another CPU.
    const bool raises = offset == 0xf00 || (offset >= 0x200 && offset < 0x280) || (offset >= 0xf20 && offset < 0xf30);
    for (size_t i = 0; vm != nullptr && i < vm->vcpu_count; i++) {
        Vcpu& other = vm->vcpus[i];
        sched::wake_blocked(other); // it sleeps on if nothing is for it
        if (raises && i != vcpu && __atomic_load_n(&other.state, __ATOMIC_ACQUIRE) == VcpuState::Running) {
            irq::kick(other.pcpu);
        }
    }
    return true;
}

namespace vgic {

bool available() { return lr_count != 0; }

bool init(const Platform& platform)
{
    if (platform.gic.version != 2 || platform.gic.virt_cpu_if.size == 0 || platform.gic.hyp_if.size == 0 ||
        gic::version() != 2) {
        return false;
    }
    gicv_base = platform.gic.virt_cpu_if.base;
    lr_count = gic::v2::list_registers();
    if (lr_count > Vgic::kMaxLrs) {
        lr_count = Vgic::kMaxLrs;
    }
    return lr_count != 0;
}

bool setup(Vgic& vgic, PageTable& stage2, Vm& vm, uint32_t vcpus)
{
    if (!available() || !stage2.map(Vgic::kGiccBase, gicv_base, 0x2000, MemType::Device)) {
        return false;
    }
    vgic.vm = &vm;
    vgic.dist.reset(64, vcpus);
    vgic.active = true;
    return true;
}

void enter(Vcpu& v)
{
    Vgic& g = v.vm->vgic;
    if (!g.active) {
        return;
    }
    Vcpu*& owner = this_cpu()->lr_owner;
    if (owner != &v) {
        if (owner != nullptr) {
            save(*owner);
        }
        restore(v);
        owner = &v;
    }
    if (g.cpu[v.index].flush) {
        LockGuard guard(g.lock);
        gic::v2::write_hcr(kHcrEn);
        fill(g, v.index);
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
            gic::v2::write_lr(n, 0);
        }
        gic::v2::write_hcr(0);
        owner = nullptr;
    }
}

void exit(Vcpu& v)
{
    Vgic::CpuState& cs = v.vm->vgic.cpu[v.index];
    if (!v.vm->vgic.active || cs.used == 0) {
        return;
    }
    const uint64_t empty = gic::v2::empty_lrs();
    for (uint32_t n = 0; n < lr_count; n++) {
        if ((cs.used & (1u << n)) && ((empty >> n) & 1)) {
            cs.used &= ~(1u << n); // the guest has completed it
            cs.flush = true;       // room for whatever waited
        }
    }
}

void timer_fired(Vcpu& v, uint32_t intid)
{
    Vgic& g = v.vm->vgic;
    if (!g.active) {
        // No interrupt controller for this guest: keep the line quiet.
        uint64_t ctl;
        asm volatile("mrs %0, cntv_ctl_el0" : "=r"(ctl));
        asm volatile("msr cntv_ctl_el0, %0\n\tisb" ::"r"(ctl | 2));
        gic::eoi(intid);
        return;
    }
    // Stays active until the guest's EOI deactivates it (hardware-linked LR).
    gic::priority_drop(intid);
    {
        LockGuard guard(g.lock);
        g.dist.set_pending(v.index, kVtimerIntid, true);
        g.cpu[v.index].flush = true;
    }
    sched::wake_blocked(v);
}

void set_spi_level(Vgic& g, uint32_t intid, bool level)
{
    if (!g.active || intid < VirtualDistributor::kPrivate || g.vm == nullptr) {
        return;
    }
    uint8_t targets;
    {
        LockGuard guard(g.lock);
        g.dist.set_pending(0, intid, level); // SPIs are shared: any vCPU index
        targets = g.dist.targets(intid);
        for (Vgic::CpuState& cs : g.cpu) {
            cs.flush = true;
        }
    }
    if (!level) {
        return;
    }
    for (size_t i = 0; i < g.vm->vcpu_count; i++) {
        if (targets & (1u << i)) {
            Vcpu& v = g.vm->vcpus[i];
            sched::wake_blocked(v);
            if (__atomic_load_n(&v.state, __ATOMIC_ACQUIRE) == VcpuState::Running && v.pcpu != this_cpu()->index) {
                irq::kick(v.pcpu);
            }
        }
    }
}

bool has_pending(Vcpu& v)
{
    Vgic& g = v.vm->vgic;
    const Vgic::CpuState& cs = g.cpu[v.index];
    if (cs.used != 0) {
        return true;
    }
    LockGuard guard(g.lock);
    const VirtualDistributor& d = g.dist;
    for (uint32_t irq = 0; irq < d.irqs(); irq++) {
        if (d.deliverable(v.index, irq)) {
            return true;
        }
    }
    return false;
}

} // namespace vgic
