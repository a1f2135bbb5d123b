#include "kernel/devices/gic/direct.hpp"

#include "kernel/console/console.hpp"
#include "kernel/cpu/percpu.hpp"
#include "kernel/devices/gic/vgic.hpp"
#include "kernel/devices/vm_host.hpp"
#include "kernel/loader/passthrough_check.hpp"
#include "platform/gic.hpp"
#include "vcpu/vcpu.hpp"

namespace direct {
namespace {

constexpr uint32_t kVtimer = 27;
constexpr uint64_t kSgiFrame = 0x10000;     // a redistributor's SGI frame, in the guest's view
constexpr uint64_t kStateRegisters = 0x200; // ISPENDR, ICPENDR, ISACTIVER, ICACTIVER: 0x80 each

/// The physical priority for a guest's: below Vireo's 0x80 (so that its
/// FIQs preempt whatever the guest handles), in the guest's order, in the
/// five bits a GIC keeps (two guest levels to one).
uint8_t physical_priority(uint8_t guest)
{
    const uint32_t p = 0x88u + guest / 2u;
    return static_cast<uint8_t>(p > 0xf8 ? 0xf8 : p & 0xf8);
}

uint64_t private_frame(const Vcpu& v) { return gic::frame_of(0, vireo_cpus[v.pcpu].mpidr); }
uint64_t spi_frame() { return gic::frame_of(32, 0); }

/// The VM's own interrupts among those of register word `word`: vCPU
/// `target`'s private ones in a redistributor, its passthrough SPIs in GICD.
uint32_t own_bits(const Vgic& g, bool redist, uint32_t word)
{
    if (redist) {
        return word == 0 ? kOwnPrivate : 0;
    }
    return word != 0 && word < VirtualDistributor::kMaxIrqs / 32 ? g.hw_spi[word] : 0;
}

/// Calls `each(intid)` for each of the VM's passthrough SPIs.
template <typename F> void for_each_spi(const Vgic& g, F each)
{
    for (uint32_t intid = 32; intid < g.irqs && intid < VirtualDistributor::kMaxIrqs; intid++) {
        if (g.hw_spi[intid / 32] >> (intid % 32) & 1) {
            each(intid);
        }
    }
}

/// vCPU `v`'s private interrupts: the model's enables and priorities.
void apply_private(Vgic& g, uint32_t v)
{
    const uint64_t frame = private_frame(g.vcpus[v]);
    const bool forwarding = g.dist.enabled();
    for (uint32_t intid = 0; intid < 32; intid++) {
        if (kOwnPrivate >> intid & 1) {
            gic::set_priority(frame, intid, physical_priority(g.dist.priority(v, intid)));
            const bool on = forwarding && g.dist.irq_enabled(v, intid);
            gic::write_bit(frame, on ? gic::Bit::SetEnable : gic::Bit::ClearEnable, intid);
        }
    }
}

/// The VM's passthrough SPIs: the model's enables, priorities and routes
/// (to the CPU of the vCPU the guest chose; disabled if it chose none).
void apply_spis(Vgic& g)
{
    const bool forwarding = g.dist.enabled();
    for_each_spi(g, [&](uint32_t intid) {
        const uint16_t targets = g.dist.targets(intid);
        const uint32_t target = targets != 0 ? static_cast<uint32_t>(__builtin_ctz(targets)) : ~0u;
        if (target < g.vcpu_count) {
            gic::route_spi(intid, vireo_cpus[g.vcpus[target].pcpu].mpidr);
        }
        gic::set_priority(spi_frame(), intid, physical_priority(g.dist.priority(0, intid)));
        const bool on = forwarding && target < g.vcpu_count && g.dist.irq_enabled(0, intid);
        gic::write_bit(spi_frame(), on ? gic::Bit::SetEnable : gic::Bit::ClearEnable, intid);
    });
}

/// The guest's private interrupts at `frame` (its CPU's) disabled, not
/// pending, not active.
void quiet_private(uint64_t frame)
{
    for (uint32_t intid = 0; intid < 32; intid++) {
        if (kOwnPrivate >> intid & 1) {
            gic::write_bit(frame, gic::Bit::ClearEnable, intid);
            gic::write_bit(frame, gic::Bit::ClearPending, intid);
            gic::write_bit(frame, gic::Bit::ClearActive, intid);
        }
    }
}

} // namespace

const char* unusable_why()
{
    if (gic::version() != 3) {
        return vm_check::kDirectNeedsGicv3;
    }
    return gic::group0_usable() ? nullptr : vm_check::kDirectNeedsGroup0;
}

bool needs_enter(const Vcpu& v) { return this_cpu()->direct != &v || v.vgic->cpu[v.index].restarted; }

void enter_slow(Vcpu& v)
{
    Vgic& g = *v.vgic;
    PerCpu& cpu = *this_cpu();
    if (cpu.lr_owner != nullptr) {
        vgic::release_cpu();
    }
    gic::v3::write_hcr(0); // the virtual CPU interface off: nothing is listed for a direct guest
    const uint64_t frame = private_frame(v);
    // From a clean state (after a reset of the VM: what its last run left).
    quiet_private(frame);
    // Its SPIs, should Vireo have taken one while this CPU was its own
    // (irq.cpp leaves them active for a list register), are let go.
    for_each_spi(g, [](uint32_t intid) { gic::write_bit(spi_frame(), gic::Bit::ClearActive, intid); });
    gic::cpu_direct(false);
    gic::set_groups(frame, 0, kOwnPrivate); // the rest, Vireo's, Group 0
    gic::cpu_direct(true);
    vcpu_hcr_direct(true);
    cpu.direct = &v;
    LockGuard guard(g.lock);
    g.cpu[v.index].restarted = false;
    apply_private(g, v.index);
    apply_spis(g);
}

void leave(Vcpu& v)
{
    PerCpu& cpu = *this_cpu();
    if (cpu.direct != &v) {
        return;
    }
    const uint64_t frame = private_frame(v);
    quiet_private(frame);
    for (uint32_t intid = 0; intid < 32; intid++) {
        if (kOwnPrivate >> intid & 1) {
            gic::set_priority(frame, intid, gic::own_priority());
        }
    }
    // The SPIs routed to this vCPU stay off until it runs again (its VM's
    // other vCPUs, if still running, keep theirs).
    Vgic& g = *v.vgic;
    for_each_spi(g, [&](uint32_t intid) {
        const uint16_t targets = g.dist.targets(intid);
        if (targets == 0 || static_cast<uint32_t>(__builtin_ctz(targets)) == v.index) {
            gic::write_bit(spi_frame(), gic::Bit::ClearEnable, intid);
        }
    });
    gic::set_groups(frame, 0, ~0u);
    gic::write_bit(frame, gic::Bit::SetEnable, kVtimer); // Vireo's again (irq::init_cpu)
    gic::cpu_direct(false);
    vcpu_hcr_direct(false);
    cpu.direct = nullptr;
}

void after_write(Vgic& g, bool redist, uint32_t target, uint64_t offset, unsigned size, uint64_t value)
{
    const uint64_t at = redist ? offset - kSgiFrame : offset;
    if (redist && offset < kSgiFrame) {
        return; // RD_base: WAKER and the like, nothing of the interrupts
    }
    if (size == 4 && at >= kStateRegisters && at < kStateRegisters + 4 * 0x80) {
        // ISPENDR, ICPENDR, ISACTIVER, ICACTIVER: the VM's own bits to the hardware.
        const auto word = static_cast<uint32_t>(at % 0x80 / 4);
        const auto reg = static_cast<gic::Bit>(kStateRegisters + (at - kStateRegisters) / 0x80 * 0x80);
        const uint32_t bits = static_cast<uint32_t>(value) & own_bits(g, redist, word);
        const uint64_t frame = redist ? private_frame(g.vcpus[target]) : spi_frame();
        for (uint32_t bit = 0; bit < 32; bit++) {
            if (bits >> bit & 1) {
                gic::write_bit(frame, reg, 32 * word + bit);
            }
        }
        return;
    }
    if (redist) {
        apply_private(g, target);
        return;
    }
    apply_spis(g);
    if (offset == 0) { // GICD_CTLR: forwarding on or off for every interrupt
        for (uint32_t v = 0; v < g.vcpu_count; v++) {
            apply_private(g, v);
        }
    }
}

uint32_t state_read(const Vgic& g, bool redist, uint32_t target, uint32_t word, bool active, uint32_t value)
{
    const uint32_t own = own_bits(g, redist, word);
    if (own == 0 || (redist && target >= g.vcpu_count)) {
        return value;
    }
    const uint64_t frame = redist ? private_frame(g.vcpus[target]) : spi_frame();
    const uint32_t hw = gic::read_word(frame, active ? gic::Bit::SetActive : gic::Bit::SetPending, word);
    return (value & ~own) | (hw & own);
}

void send_sgi(Vcpu& v, uint64_t value)
{
    Vgic& g = *v.vgic;
    const auto sgi = static_cast<uint32_t>((value >> 24) & 0xf);
    if (sgi == kKickSgi) {
        if (g.host->should_log_fault()) {
            log_warn("vm %s: vCPU %u's SGI %u not sent: SGI %u is Vireo's on a direct VM's CPUs (it has 0-%u)",
                     g.host->vm_name(), v.index, sgi, kKickSgi, kKickSgi - 1);
        }
        return;
    }
    const uint32_t targets = g.dist.sgi1r_targets(v.index, value);
    for (uint32_t t = 0; t < g.vcpu_count; t++) {
        if (targets >> t & 1) {
            gic::send_sgi(vireo_cpus[g.vcpus[t].pcpu].mpidr, sgi);
        }
    }
}

} // namespace direct
