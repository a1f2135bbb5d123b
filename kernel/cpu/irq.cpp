#include "kernel/cpu/irq.hpp"

#include "kernel/console/console.hpp"
#include "kernel/console/input.hpp"
#include "kernel/cpu/percpu.hpp"
#include "kernel/devices/gic/direct.hpp"
#include "kernel/devices/gic/vgic.hpp"
#include "kernel/devices/pmu/vpmu.hpp"
#include "platform/cpu.hpp"
#include "platform/format.hpp"
#include "platform/gic.hpp"
#include "platform/platform.hpp"

namespace irq {
namespace {

// SGI 15: a direct VM's guest has SGIs 0-14 (kernel/devices/gic/direct.hpp).
constexpr uint32_t kSgiKick = direct::kKickSgi;
constinit bool ready = false;
constinit uint32_t hyp_timer_intid = gic::kPpiBase + 10; // CNTHP: PPI 10 unless the DTB says otherwise
constinit uint32_t vtimer_intid = gic::kPpiBase + 11;    // CNTV: the guests' virtual timer
// CNTP: the EL1 physical timer. Guests never have it (CNTHCTL_EL2.EL1PCEN
// is clear: their CNTP accesses trap and are emulated, kernel/devices/timer),
// so it is Vireo's for call_at().
constinit uint32_t ptimer_intid = gic::kPpiBase + 14;
constinit uint32_t maintenance_intid = gic::kSpurious; // GICH maintenance, from the DTB
constinit uint32_t pmu_intid = gic::kPpiBase + 7;      // the PMU's overflow interrupt (kSpurious: SPIs instead)

// PMU overflow SPIs, one per CPU where the DTB gives them (CpuDesc::pmu_spi):
// each is routed to its own CPU only. The overflow is of that CPU's
// counters, so only that CPU can act on it (vpmu::overflow reads its own
// PMU), and one target per SPI is what GICv2's ITARGETSR and GICv3's
// IROUTER give anyway; 1-of-N delivery would send it to any CPU.
struct PmuSpi {
    uint64_t mpidr;
    uint32_t intid;
};
constinit PmuSpi pmu_spis[Platform::kMaxCpus] = {};
constinit size_t pmu_spi_count = 0;

bool is_pmu_spi(uint32_t intid)
{
    for (size_t i = 0; i < pmu_spi_count; i++) {
        if (pmu_spis[i].intid == intid) {
            return true;
        }
    }
    return false;
}

constexpr uint32_t kMaxIntid = 1020;
constexpr uint32_t kFirstLpi = 8192;
// Vireo's own SPIs (claim_own_spi) and their handlers.
struct OwnSpi {
    uint32_t intid;
    void (*handler)(uint32_t);
};
constexpr size_t kMaxOwnSpis = 8;
constinit OwnSpi own_spis[kMaxOwnSpis] = {};
constinit size_t own_spi_count = 0;

const OwnSpi* own_spi(uint32_t intid)
{
    for (size_t i = 0; i < own_spi_count; i++) {
        if (own_spis[i].intid == intid) {
            return &own_spis[i];
        }
    }
    return nullptr;
}
using LpiHandler = void (*)(uint32_t intid);
constinit LpiHandler lpi_handler = nullptr;
constinit Vgic* spi_owner[kMaxIntid] = {}; // passthrough SPIs: the virtual GIC of the VM that has each

// CNTHP_CTL_EL2: ENABLE (bit 0), IMASK (bit 1).
void timer_off() { asm volatile("msr cnthp_ctl_el2, %0\n\tisb" ::"r"(uint64_t{0})); }
void call_timer_off() { asm volatile("msr cntp_ctl_el0, %0\n\tisb" ::"r"(uint64_t{0})); }

} // namespace

bool available() { return ready; }

bool init(const Platform& platform)
{
    if (platform.timer.found && platform.timer.ppi[3] != 0) {
        hyp_timer_intid = gic::kPpiBase + platform.timer.ppi[3];
    }
    if (platform.gic.has_maintenance_irq) {
        maintenance_intid = gic::kPpiBase + platform.gic.maintenance_ppi;
    }
    if (platform.timer.found && platform.timer.ppi[2] != 0) {
        vtimer_intid = gic::kPpiBase + platform.timer.ppi[2];
    }
    if (platform.timer.found && platform.timer.ppi[1] != 0) {
        ptimer_intid = gic::kPpiBase + platform.timer.ppi[1];
    }
    pmu_intid = gic::kPpiBase + platform.pmu_ppi;
    for (size_t i = 0; i < platform.cpu_count; i++) {
        if (platform.cpus[i].pmu_spi != 0) {
            pmu_spis[pmu_spi_count++] = {platform.cpus[i].mpidr, platform.cpus[i].pmu_spi};
            pmu_intid = gic::kSpurious;
        }
    }
    if (pmu_spi_count != 0) {
        char list[5 * Platform::kMaxCpus + 1] = {}; // " 1019" at most per CPU
        size_t used = 0;
        for (size_t i = 0; i < pmu_spi_count; i++) {
            used += static_cast<size_t>(format(list + used, sizeof list - used, " %u", pmu_spis[i].intid));
        }
        log_info("pmu: overflow interrupts are SPIs, each routed to its own CPU only: INTID%s", list);
    }
    if (!gic::init(platform.gic)) {
        log_error("GICv%u at 0x%lx cannot be driven; no time slices or CPU kicks", platform.gic.version,
                  platform.gic.dist.base);
        return false;
    }
    ready = true;
    return true;
}

void init_cpu()
{
    if (!ready) {
        return;
    }
    const uint64_t mpidr = arch::read_mpidr() & kMpidrAffinityMask;
    if (!gic::init_cpu(mpidr)) {
        log_error("cpu %u: no GIC redistributor or CPU interface for mpidr 0x%lx", this_cpu()->index, mpidr);
        return;
    }
    __atomic_store_n(&this_cpu()->gic_ready, 1u, __ATOMIC_RELEASE);
    timer_off();
    call_timer_off(); // its reset value is not known
    gic::enable_local(kSgiKick);
    gic::enable_local(hyp_timer_intid);
    gic::enable_local(ptimer_intid);
    gic::enable_local(vtimer_intid);
    if (maintenance_intid != gic::kSpurious) {
        gic::enable_local(maintenance_intid);
    }
    if (vpmu::available() && pmu_intid != gic::kSpurious) {
        gic::enable_local(pmu_intid);
    }
    for (size_t i = 0; i < pmu_spi_count && vpmu::available(); i++) {
        if (pmu_spis[i].mpidr == mpidr) {
            gic::enable_spi(pmu_spis[i].intid, mpidr); // this CPU's own, to this CPU
        }
    }
}

namespace {

/// Acknowledges and handles everything pending: Group 1 (`Direct` false),
/// or on a CPU whose guest takes its own interrupts (direct.hpp) Group 0,
/// where Vireo's are there (EOImode 0: ending is one step).
template <bool Direct> [[gnu::always_inline]] inline void take_all()
{
    const auto eoi = [](uint32_t intid) { Direct ? gic::eoi_group0(intid) : gic::eoi(intid); };
    for (;;) {
        const uint32_t intid = Direct ? gic::ack_group0() : gic::ack();
        if (intid >= 1020 && intid <= gic::kSpurious) {
            return; // special INTIDs: nothing (more) to take; LPIs lie above them
        }
        // The two most frequent first: a guest's virtual timer, and an SGI,
        // the kick (whose job was to make this CPU leave the guest and look).
        if (intid == vtimer_intid) {
            if (Vcpu* loaded = this_cpu()->loaded; loaded != nullptr) {
                vgic::timer_fired(*loaded, intid); // ends (or hands on) the interrupt itself
                continue;
            }
            eoi(intid);
            continue;
        }
        if (intid < 16) {
            eoi(intid);
            continue;
        }
        if (intid >= kFirstLpi) {
            // An MSI: an edge with no active state. Ended first, so that the
            // next one can be signalled while this one is handed on.
            eoi(intid);
            if (lpi_handler != nullptr) {
                lpi_handler(intid);
            }
            continue;
        }
        if (intid >= 32 && intid < kMaxIntid && spi_owner[intid] != nullptr) {
            // Stays active until the guest's EOI deactivates it (hardware-linked
            // LR; a direct VM's, taken while its CPU was Vireo's: until the
            // CPU is its again, direct::enter_slow()).
            gic::priority_drop(intid);
            vgic::set_spi_level(*spi_owner[intid], intid, true);
            continue;
        }
        if (const OwnSpi* own = intid >= 32 ? own_spi(intid) : nullptr) {
            own->handler(intid);
        } else if (intid >= 32 && intid == console_input::intid()) {
            console_input::on_interrupt();
        } else if (intid == hyp_timer_intid) {
            timer_off();
            this_cpu()->slice_expired = true;
        } else if (intid == ptimer_intid) [[unlikely]] {
            call_timer_off();
            void (*handler)() = this_cpu()->call_handler;
            this_cpu()->call_handler = nullptr;
            if (handler != nullptr) {
                handler(); // may call call_at() again
            }
        }
        if (intid == pmu_intid || is_pmu_spi(intid)) {
            vpmu::overflow(); // masks the overflowing counters' interrupts: the line is low before the EOI
        }
        // The kick SGI and the vGIC maintenance interrupt need nothing
        // more: their job was to make this CPU leave the guest and look.
        if (intid == maintenance_intid) {
            vgic::maintenance(); // underflow seen: stop asking until the next refill needs it
        }
        eoi(intid);
    }
}

[[gnu::noinline]] void take_group0() { take_all<true>(); }

/// A direct VM's CPU has the kick in Group 0 while its guest runs, in
/// Group 1 otherwise: both SGIs reach the one pending bit.
[[gnu::noinline]] void kick_direct(uint64_t mpidr)
{
    gic::send_sgi_group0(mpidr, kSgiKick);
    gic::send_sgi(mpidr, kSgiKick);
}

} // namespace

void handle_pending()
{
    if (!ready) {
        return;
    }
    if (this_cpu()->direct != nullptr) [[unlikely]] {
        take_group0();
        return;
    }
    take_all<false>();
}

void handle_irq_exit()
{
    if (ready) {
        take_all<false>();
    }
}

bool spi_free(uint32_t intid)
{
    return ready && intid >= 32 && intid < kMaxIntid && spi_owner[intid] == nullptr &&
           intid != console_input::intid() && !is_pmu_spi(intid) && own_spi(intid) == nullptr;
}

void set_lpi_handler(void (*handler)(uint32_t intid)) { lpi_handler = handler; }

bool spi_of_a_vm(uint32_t intid) { return intid >= 32 && intid < kMaxIntid && spi_owner[intid] != nullptr; }

bool claim_own_spi(uint32_t intid, void (*handler)(uint32_t intid))
{
    if (!spi_free(intid) || own_spi_count == kMaxOwnSpis) {
        return false;
    }
    own_spis[own_spi_count++] = {intid, handler};
    gic::enable_spi(intid, arch::read_mpidr() & kMpidrAffinityMask, true);
    return true;
}

bool claim_spi(uint32_t intid, Vgic& vgic, uint32_t pcpu, bool edge)
{
    if (!spi_free(intid)) {
        return false;
    }
    spi_owner[intid] = &vgic;
    gic::enable_spi(intid, vireo_cpus[pcpu].mpidr, edge);
    return true;
}

void reset_spis(const Vgic& vgic)
{
    for (uint32_t intid = 32; intid < kMaxIntid; intid++) {
        if (spi_owner[intid] == &vgic) {
            gic::set_active(intid, false);
        }
    }
}

void kick(uint32_t pcpu)
{
    arch::dsb_ish();
    arch::sev();
    if (ready && pcpu != this_cpu()->index) {
        // (direct_vm is set when VMs are built, before any runs.)
        const PerCpu& target = vireo_cpus[pcpu];
        const uint64_t mpidr = target.mpidr;
        if (target.direct_vm != nullptr) [[unlikely]] {
            kick_direct(mpidr);
            return;
        }
        gic::send_sgi(mpidr, kSgiKick);
    }
}

void arm_deadline(uint64_t deadline)
{
    PerCpu& cpu = *this_cpu();
    cpu.slice_expired = false;
    cpu.deadline = deadline;
    if (!ready || deadline == ~0ull) {
        timer_off();
        return;
    }
    asm volatile("msr cnthp_cval_el2, %0\n\tmsr cnthp_ctl_el2, %1\n\tisb" ::"r"(deadline), "r"(uint64_t{1}));
}

void deadline_by(uint64_t deadline)
{
    PerCpu& cpu = *this_cpu();
    if (deadline < cpu.deadline && !cpu.slice_expired) {
        arm_deadline(deadline);
    }
}

bool slice_expired() { return this_cpu()->slice_expired; }

void call_at(uint64_t when, void (*handler)())
{
    this_cpu()->call_handler = handler;
    if (!ready || handler == nullptr) {
        call_timer_off();
        return;
    }
    asm volatile("msr cntp_cval_el0, %0\n\tmsr cntp_ctl_el0, %1\n\tisb" ::"r"(when), "r"(uint64_t{1}));
}

bool cpu_usable(uint32_t cpu)
{
    return cpu < VIREO_MAX_CPUS && __atomic_load_n(&vireo_cpus[cpu].online, __ATOMIC_ACQUIRE) != 0 &&
           (!ready || __atomic_load_n(&vireo_cpus[cpu].gic_ready, __ATOMIC_ACQUIRE) != 0);
}

} // namespace irq
