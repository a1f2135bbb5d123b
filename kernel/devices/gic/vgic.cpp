// The device half of the virtual GIC: the guest's accesses to its
// distributor and redistributors (the register model is vgic_dist.cpp),
// routing of passthrough SPIs, SGIs, device lines and the virtual timer's
// interrupt. The list registers are list_registers.cpp.
#include "kernel/devices/gic/vgic.hpp"

#include "kernel/console/console.hpp"
#include "kernel/cpu/percpu.hpp"
#include "kernel/devices/gic/direct.hpp"
#include "kernel/devices/gic/host_if.hpp"
#include "kernel/devices/vm_host.hpp"
#include "kernel/mem/page_table.hpp"
#include "platform/gic.hpp"
#include "vcpu/vcpu.hpp"

using vgic::host_if::kVtimerIntid;

// Guest reads take no lock: each register's value comes from word reads
// of state that other CPUs change under the lock, so a read racing a write
// returns the value from just before or just after it, as on hardware,
// and nothing a read computes indexes by that state.
bool Vgic::read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value)
{
    if (size != 4 || offset < 0x200 || offset >= 0x400) {
        return dist.read(vcpu, offset, size, value);
    }
    dist.read(vcpu, offset, size, value);
    // ISPENDR/ICPENDR and ISACTIVER/ICACTIVER: add what the list registers
    // hold (a direct VM's own interrupts: what the hardware has).
    const auto word = static_cast<uint32_t>((offset & 0x7f) / 4);
    if (direct) {
        value = direct::state_read(*this, false, 0, word, offset >= 0x300, static_cast<uint32_t>(value));
    } else if (dist.version() == 2 || word != 0) {
        value |= listed(vcpu, word, offset >= 0x300);
    }
    return true;
}

bool Vgic::write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value)
{
    if (offset == 0xf00 && size == 4 && dist.version() == 2) {
        // GICD_SGIR, the guest's IPIs: straight to the SGI, and only their
        // targets need to look.
        uint32_t targets = 0;
        {
            LockGuard guard(lock);
            targets = dist.write_sgir(vcpu, static_cast<uint32_t>(value));
        }
        sgi_raised(vcpu, targets);
        return true;
    }
    {
        LockGuard guard(lock);
        dist.write(vcpu, offset, size, value);
        if (direct) {
            direct::after_write(*this, false, 0, offset, size, value);
        }
    }
    if (direct) {
        return true; // nothing is listed for its vCPUs: none needs to look
    }
    follow_routes(offset, size);
    // GICv2's SPENDSGIR and ISPENDR make interrupts pending.
    const bool raises =
        (dist.version() == 2 && offset >= 0xf20 && offset < 0xf30) || (offset >= 0x200 && offset < 0x280);
    changed(vcpu, raises);
    return true;
}

void Vgic::follow_routes(uint64_t offset, unsigned size)
{
    // GICv2 ITARGETSR (a byte per interrupt) or GICv3 IROUTER (8 bytes).
    const bool v3 = dist.version() == 3;
    const uint64_t base = v3 ? 0x6000 : 0x800;
    const uint64_t stride = v3 ? 8 : 1;
    if (vcpus == nullptr || offset < base || offset >= base + stride * VirtualDistributor::kMaxIrqs) {
        return;
    }
    const uint64_t first = (offset - base) / stride;
    const uint64_t last = (offset + size - 1 - base) / stride;
    for (uint64_t irq = first; irq <= last && irq < VirtualDistributor::kMaxIrqs; irq++) {
        if (!((hw_spi[irq / 32] >> (irq % 32)) & 1)) {
            continue;
        }
        // A passthrough SPI: the physical one follows to the target vCPU's CPU.
        const uint16_t targets = dist.targets(static_cast<uint32_t>(irq));
        if (targets != 0 && __builtin_ctz(targets) < static_cast<int>(vcpu_count)) {
            const Vcpu& target = vcpus[__builtin_ctz(targets)];
            const auto intid = static_cast<uint32_t>(irq);
            gic::enable_spi(intid, vireo_cpus[target.pcpu].mpidr, gic::spi_edge(intid)); // the trigger it has
        }
    }
}

bool Vgic::Redistributors::read(uint32_t, uint64_t offset, unsigned size, uint64_t& value)
{
    const auto target = static_cast<uint32_t>(offset / VirtualDistributor::kRedistSize);
    const uint64_t at = offset % VirtualDistributor::kRedistSize;
    if (VirtualLpis::owns(at)) {
        owner->lpis.read(target, at, size, value);
        return true;
    }
    owner->dist.redist_read(target, at, size, value);
    if (size == 4 && (at == 0x10200 || at == 0x10280 || at == 0x10300 || at == 0x10380)) {
        // GICR_I[SC]PENDR0, GICR_I[SC]ACTIVER0
        const bool active = at >= 0x10300;
        value = owner->direct ? direct::state_read(*owner, true, target, 0, active, static_cast<uint32_t>(value))
                              : value | owner->listed(target, 0, active);
    }
    return true;
}

bool Vgic::Redistributors::write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value)
{
    const auto target = static_cast<uint32_t>(offset / VirtualDistributor::kRedistSize);
    const uint64_t at = offset % VirtualDistributor::kRedistSize;
    const char* refused = nullptr;
    {
        LockGuard guard(owner->lock);
        if (VirtualLpis::owns(at)) {
            refused = owner->lpis.write(target, at, size, value, *owner->ram);
            owner->note_lpi_changes();
        } else {
            owner->dist.redist_write(target, at, size, value);
            if (owner->direct && target < owner->vcpu_count) {
                direct::after_write(*owner, true, target, at, size, value);
            }
        }
    }
    if (refused != nullptr && owner->host->should_log_fault()) {
        log_warn("vm %s: vCPU %u's LPIs stay disabled: %s", owner->host->vm_name(), target, refused);
    }
    // GICR_ISPENDR0 raises; enabling LPIs may find pending ones in the table.
    owner->changed(vcpu, (at >= 0x10200 && at < 0x10280) || VirtualLpis::owns(at));
    return true;
}

bool Vgic::ItsFrame::read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value)
{
    {
        LockGuard guard(owner->lock); // a GITS_CREADR read runs queued commands
        owner->its.read(offset, size, value, owner->lpis, *owner->ram, *this);
    }
    deliver(vcpu);
    return true;
}

bool Vgic::ItsFrame::write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value)
{
    {
        LockGuard guard(owner->lock);
        owner->its.write(offset, size, value, owner->lpis, *owner->ram, *this);
    }
    deliver(vcpu);
    return true;
}

void Vgic::ItsFrame::deliver(uint32_t writer)
{
    uint32_t raised;
    bool changed;
    {
        LockGuard guard(owner->lock);
        raised = owner->its.take_raised();
        changed = owner->its.take_changed();
        owner->note_lpi_changes();
    }
    if (changed) {
        // An INV may have enabled a pending LPI anywhere; a CLEAR, DISCARD,
        // MOVI or INV may concern an LPI a list register holds: every vCPU
        // looks (list_registers.cpp, recheck_lpis), running ones at once.
        owner->changed(writer, true);
    } else if (raised != 0) {
        owner->sgi_raised(writer, raised); // like an IPI: only the targets look
    }
}

void Vgic::ItsFrame::command_ignored(const ItsCommandError& e)
{
    if (!owner->host->should_log_fault()) {
        return;
    }
    // Each command's own fields: MAPD names a device, MAPC and INVALL a
    // collection, SYNC and MOVALL redistributors (in `why`).
    const char* vm = owner->host->vm_name();
    if (e.command == nullptr) {
        log_warn("vm %s: ITS command 0x%02x ignored: %s", vm, e.code, e.why);
    } else if (e.code == 0x08) {
        log_warn("vm %s: ITS command MAPD (DeviceID 0x%x) ignored: %s", vm, e.device, e.why);
    } else if (e.code == 0x09 || e.code == 0x0d) {
        log_warn("vm %s: ITS command %s (ICID %u) ignored: %s", vm, e.command, e.collection, e.why);
    } else if (e.code == 0x05 || e.code == 0x0e) {
        log_warn("vm %s: ITS command %s ignored: %s", vm, e.command, e.why);
    } else if (e.code == 0x0a || e.code == 0x0b || e.code == 0x01) {
        log_warn("vm %s: ITS command %s (DeviceID 0x%x, EventID %u, ICID %u) ignored: %s", vm, e.command, e.device,
                 e.event, e.collection, e.why);
    } else {
        log_warn("vm %s: ITS command %s (DeviceID 0x%x, EventID %u) ignored: %s", vm, e.command, e.device, e.event,
                 e.why);
    }
}

void Vgic::ItsFrame::queue_stalled(const char* why)
{
    if (owner->host->should_log_fault()) {
        log_warn("vm %s: ITS command queue stalled: %s", owner->host->vm_name(), why);
    }
}

void Vgic::flush(uint32_t which)
{
    for (uint32_t v = 0; v < vcpu_count; v++) {
        if (which & (1u << v)) {
            __atomic_store_n(&cpu[v].flush, true, __ATOMIC_RELEASE);
        }
    }
}

void Vgic::changed(uint32_t writer, bool raises)
{
    flush_all(); // an enable, a pending bit or an SGI may concern any vCPU
    const uint32_t all = (1u << kMaxVcpus) - 1;
    notify(all, raises ? all & ~(1u << writer) : 0);
}

void Vgic::sgi_raised(uint32_t sender, uint32_t targets)
{
    flush(targets);
    notify(targets, targets & ~(1u << sender));
}

void Vgic::notify(uint32_t wake, uint32_t kick)
{
    for (uint32_t i = 0; host != nullptr && i < vcpu_count; i++) {
        if (wake & (1u << i)) {
            host->wake(i); // it sleeps on if nothing is for it
        }
        if ((kick & (1u << i)) && __atomic_load_n(&vcpus[i].state, __ATOMIC_ACQUIRE) == VcpuState::Running) {
            host->kick(i); // out of its guest on another CPU (no-op for this one)
        }
    }
}

namespace {

/// A direct VM's emulated device raised SPI `intid`: its guest will not
/// see it (its emulated devices' interrupts would need the list registers;
/// docs/vcpu.md). Said once. Its passthrough SPIs come here only when
/// Vireo took one while its CPU was not the guest's.
void told_undelivered(Vgic& g, uint32_t intid)
{
    const bool passthrough = intid < VirtualDistributor::kMaxIrqs && (g.hw_spi[intid / 32] >> (intid % 32) & 1);
    if (!passthrough && !g.told_undelivered) {
        g.told_undelivered = true;
        log_warn("vm %s: SPI %u of an emulated device is not delivered: the VM takes its interrupts directly, "
                 "only its passthrough devices' reach it",
                 g.host->vm_name(), intid);
    }
}

} // namespace

namespace vgic {

bool setup(Vgic& vgic, PageTable& stage2, VmHost& host, GuestRam& ram, Vcpu* vcpus, uint32_t vcpu_count, uint32_t irqs)
{
    if (!available()) {
        return false;
    }
    if (host_if::gic_version() == 2 && !stage2.map(Vgic::kGiccBase, host_if::gicv_base(), 0x2000, MemType::Device)) {
        return false;
    }
    vgic.host = &host;
    vgic.vcpus = vcpus;
    vgic.vcpu_count = vcpu_count;
    vgic.ram = &ram;
    vgic.redists.owner = &vgic;
    vgic.its_frame.owner = &vgic;
    vgic.irqs = irqs;
    vgic.dist.reset(irqs, vcpu_count, host_if::gic_version());
    vgic.lpis.reset(vcpu_count);
    vgic.its.reset(vcpu_count);
    for (uint32_t i = 0; i < vcpu_count; i++) {
        vcpus[i].vgic = &vgic;
        vgic.cpu[i].reset = vgic.direct; // a direct vCPU's entries go by enter_slow()'s reset path
    }
    vgic.active = true;
    return true;
}

void reset(Vgic& g)
{
    if (!g.active) {
        return;
    }
    LockGuard guard(g.lock);
    g.dist.reset(g.irqs, g.vcpu_count, host_if::gic_version());
    g.lpis.reset(g.vcpu_count);
    g.its.reset(g.vcpu_count);
    for (Vgic::CpuState& cs : g.cpu) {
        cs = Vgic::CpuState{};
        cs.reset = true;
        cs.restarted = true;
    }
}

void send_sgi1r(Vcpu& v, uint64_t value)
{
    Vgic& g = *v.vgic;
    uint32_t targets;
    {
        LockGuard guard(g.lock);
        targets = g.dist.write_sgi1r(v.index, value);
    }
    g.sgi_raised(v.index, targets);
}

void timer_fired(Vcpu& v, uint32_t intid)
{
    if (v.vgic == nullptr) {
        // No interrupt controller for this guest: keep the line quiet.
        uint64_t ctl;
        asm volatile("mrs %0, cntv_ctl_el0" : "=r"(ctl));
        asm volatile("msr cntv_ctl_el0, %0\n\tisb" ::"r"(ctl | 2));
        gic::eoi(intid);
        return;
    }
    // Stays active until the guest's EOI deactivates it (hardware-linked LR).
    gic::priority_drop(intid);
    Vgic& g = *v.vgic;
    {
        LockGuard guard(g.lock);
        g.dist.set_pending(v.index, kVtimerIntid, true);
        g.cpu[v.index].flush = true;
        g.cpu[v.index].timer_raised = true; // level-sensitive: vgic::exit() watches the line from now on
    }
    g.host->wake(v.index);
}

void msi(Vgic& g, uint32_t device, uint32_t event)
{
    if (!g.active) {
        return;
    }
    uint32_t raised;
    {
        LockGuard guard(g.lock);
        g.its.translate(device, event, g.lpis);
        raised = g.its.take_raised();
    }
    g.flush(raised);
    g.notify(raised, raised);
}

void set_spi_level(Vgic& g, uint32_t intid, bool level)
{
    if (!g.active || intid < VirtualDistributor::kPrivate) {
        return;
    }
    if (g.direct && level) [[unlikely]] {
        told_undelivered(g, intid);
    }
    uint16_t targets;
    {
        LockGuard guard(g.lock);
        g.dist.set_pending(0, intid, level); // SPIs are shared: any vCPU index
        if (level && intid < VirtualDistributor::kMaxIrqs) {
            uint32_t& n = g.spis_raised[intid - VirtualDistributor::kPrivate];
            __atomic_store_n(&n, n + 1, __ATOMIC_RELAXED);
        }
        targets = g.dist.targets(intid);
        g.flush_all();
    }
    if (level) {
        g.notify(targets, targets);
    }
}

} // namespace vgic
