#include "kernel/devices/pmu/vpmu.hpp"

#include "kernel/console/console.hpp"
#include "kernel/cpu/percpu.hpp"
#include "kernel/devices/gic/vgic.hpp"
#include "kernel/devices/pmu/pmu_model.hpp"
#include "platform/cpu.hpp"
#include "vcpu/vcpu.hpp"

using pmu::Reg;

namespace {

// The host's PMU registers, as EL2 sees them (Arm DDI 0487, the PMU register descriptions).
namespace hw {

// Accessors as platform/cpu.hpp declares its own (read-only for the ID registers).
VIREO_SYSREG_RW(pmcr, pmcr_el0)
VIREO_SYSREG_RW(cntenset, pmcntenset_el0)
VIREO_SYSREG_RW(cntenclr, pmcntenclr_el0)
VIREO_SYSREG_RW(ovsset, pmovsset_el0)
VIREO_SYSREG_RW(ovsclr, pmovsclr_el0)
VIREO_SYSREG_RW(intenset, pmintenset_el1)
VIREO_SYSREG_RW(intenclr, pmintenclr_el1)
VIREO_SYSREG_RW(selr, pmselr_el0)
VIREO_SYSREG_RW(ccntr, pmccntr_el0)
VIREO_SYSREG_RW(ccfiltr, pmccfiltr_el0)
VIREO_SYSREG_RW(xevtyper, pmxevtyper_el0)
VIREO_SYSREG_RW(xevcntr, pmxevcntr_el0)
VIREO_SYSREG_RW(userenr, pmuserenr_el0)
VIREO_SYSREG_RO(ceid0, pmceid0_el0)
VIREO_SYSREG_RO(ceid1, pmceid1_el0)
VIREO_SYSREG_RW(mdcr, mdcr_el2)
VIREO_SYSREG_RO(dfr0, id_aa64dfr0_el1)
VIREO_SYSREG_RO(pfr0, id_aa64pfr0_el1)

/// Event counter `n` through PMSELR_EL0 (Vireo's own selection: the
/// guest's is kept in its PmuState). The ISB makes PMXEV* see the
/// selection (PMXEVCNTR_EL0 is an indirect view of the selected counter).
void select(unsigned n)
{
    write_selr(n);
    asm volatile("isb");
}

uint32_t counter(unsigned n)
{
    select(n);
    return static_cast<uint32_t>(read_xevcntr());
}

void set_counter(unsigned n, uint32_t value)
{
    select(n);
    write_xevcntr(value);
}

void set_type(unsigned n, uint32_t value)
{
    select(n);
    write_xevtyper(value);
}

/// No counter enabled, flagged or interrupting, EL0 access trapped to EL1:
/// what a CPU holds while no PMU user is loaded on it.
void idle()
{
    write_pmcr(0);
    write_cntenclr(~0u);
    write_intenclr(~0u);
    write_ovsclr(~0u);
    write_userenr(0);
}

} // namespace hw

// MDCR_EL2: HPMN [4:0], HPMD (FEAT_PMUv3p1: no event counting at
// EL2), HCCD (FEAT_PMUv3p5: no cycle counting at EL2). Vireo also never
// lets a counter's filter count at EL2 (pmu::hw_type), which is all a
// PMUv3 without those bits has.
constexpr uint64_t kMdcrHpmnMask = 0x1f;
constexpr uint64_t kMdcrHpmd = 1ull << 17;
constexpr uint64_t kMdcrHccd = 1ull << 23;

constinit bool present = false;
constinit unsigned host_pmuver = 0;
constinit unsigned n_counters = 0;
constinit uint64_t pmcr_id = 0; // the hardware PMCR_EL0's IMP and IDCODE
constinit pmu::Events events;
Vcpu*& owner_here() { return this_cpu()->pmu_owner; }

uint32_t mask() { return pmu::counter_mask(n_counters); }

/// Brings the virtual overflow interrupt of `v` (whose counters this CPU
/// holds) up to date, and masks in the hardware the interrupt of every
/// counter that has overflowed: the physical line then stays low until the
/// guest clears the flag (a trapped write), so a counter that overflows
/// constantly costs its guest an exit per overflow and nobody else anything.
void settle(Vcpu& v, bool wake)
{
    PmuState& s = v.pmu;
    const auto ovs = static_cast<uint32_t>(hw::read_ovsset()) & mask();
    hw::write_intenclr(ovs);
    hw::write_intenset(s.inten & ~ovs);
    const bool level = pmu::irq_level(s.pmcr, ovs, s.inten);
    if ((level || s.level) && v.vgic != nullptr) {
        // Raised again while high: the guest may have cleared the pending
        // state, which a level-sensitive line sets again (GIC IHI 0069, level-sensitive interrupts).
        vgic::set_private_level(v, vpmu::kIntid, level);
        if (level && wake) {
            v.vgic->notify(1u << v.index, 0);
        }
    }
    s.level = level;
}

void save(Vcpu& v)
{
    PmuState& s = v.pmu;
    settle(v, true);
    s.ovs = static_cast<uint32_t>(hw::read_ovsset()) & mask();
    s.ccntr = hw::read_ccntr();
    for (unsigned n = 0; n < n_counters; n++) {
        s.evcntr[n] = hw::counter(n);
    }
    hw::idle();
}

void restore(const Vcpu& v)
{
    const PmuState& s = v.pmu;
    hw::write_pmcr(0); // stopped while programmed
    for (unsigned n = 0; n < n_counters; n++) {
        hw::set_type(n, pmu::hw_type(events, s.evtyper[n], false));
        hw::set_counter(n, s.evcntr[n]);
    }
    hw::write_ccfiltr(pmu::hw_type(events, static_cast<uint32_t>(s.ccfiltr), true));
    hw::write_ccntr(s.ccntr);
    hw::write_cntenclr(~s.cnten);
    hw::write_cntenset(s.cnten);
    hw::write_ovsclr(~s.ovs);
    hw::write_ovsset(s.ovs);
    hw::write_intenclr(~0u);
    hw::write_intenset(s.inten & ~s.ovs);
    hw::write_userenr(s.userenr);
    hw::write_pmcr(s.pmcr);
}

/// The guest's first access since its reset (or since another vCPU had
/// the counters): its state goes into the hardware.
void take(Vcpu& v)
{
    Vcpu*& o = owner_here();
    if (o == &v) {
        return;
    }
    if (o != nullptr) {
        save(*o);
    }
    v.pmu.used = true;
    restore(v);
    o = &v;
}

/// PMSWINC_EL0: each counter in `bits` counting SW_INCR, enabled,
/// and not filtered at the writer's exception level, increments; one that
/// wraps sets its overflow flag. Emulated, because the write executes at
/// EL2, where no guest counter may count.
void software_increment(Vcpu& v, uint32_t bits, unsigned el)
{
    const PmuState& s = v.pmu;
    if ((s.pmcr & pmu::kPmcrE) == 0) {
        return;
    }
    const uint32_t enabled = bits & s.cnten & mask() & ~PmuState::kCycleBit;
    for (unsigned n = 0; n < n_counters; n++) {
        const uint32_t t = s.evtyper[n];
        if ((enabled >> n & 1) == 0 || (t & 0xffff) != pmu::kSwIncr || !pmu::counts_at(events, t, el)) {
            continue;
        }
        const uint32_t value = hw::counter(n) + 1;
        hw::set_counter(n, value);
        if (value == 0) {
            hw::write_ovsset(1u << n);
        }
    }
}

uint64_t read(Vcpu& v, pmu::Access r, bool& ok)
{
    PmuState& s = v.pmu;
    switch (r.reg) {
    case Reg::Pmcr: return pmu::pmcr_read(s.pmcr, pmcr_id, n_counters);
    case Reg::Cntenset:
    case Reg::Cntenclr: return s.cnten;
    case Reg::Intenset:
    case Reg::Intenclr: return s.inten;
    case Reg::Ovsset:
    case Reg::Ovsclr: return hw::read_ovsset() & mask();
    case Reg::Selr: return s.selr;
    case Reg::Ceid0: return pmu::guest_ceid(0, events.ceid0, events.pmuver);
    case Reg::Ceid1: return pmu::guest_ceid(1, events.ceid1, events.pmuver);
    case Reg::Ccntr: return hw::read_ccntr();
    case Reg::Userenr: return s.userenr;
    case Reg::Evcntr: return hw::counter(r.n);
    case Reg::Evtyper: return r.n == 31 ? s.ccfiltr : s.evtyper[r.n];
    default: ok = false; return 0; // PMSWINC is write-only
    }
}

void write(Vcpu& v, pmu::Access r, uint64_t value, unsigned el, bool& ok)
{
    PmuState& s = v.pmu;
    const auto bits = static_cast<uint32_t>(value) & mask();
    switch (r.reg) {
    case Reg::Pmcr:
        s.pmcr = value & pmu::kPmcrWritable;
        // P and C reset the counters; at EL2 P covers all of them, which
        // are the guest's (HPMN = N).
        hw::write_pmcr(s.pmcr | (value & (pmu::kPmcrP | pmu::kPmcrC)));
        break;
    case Reg::Cntenset:
        s.cnten |= bits;
        hw::write_cntenset(bits);
        break;
    case Reg::Cntenclr:
        s.cnten &= ~bits;
        hw::write_cntenclr(bits);
        break;
    case Reg::Intenset: s.inten |= bits; break;
    case Reg::Intenclr: s.inten &= ~bits; break;
    case Reg::Ovsset: hw::write_ovsset(bits); break;
    case Reg::Ovsclr: hw::write_ovsclr(bits); break;
    case Reg::Swinc: software_increment(v, bits, el); break;
    case Reg::Selr: s.selr = static_cast<uint32_t>(value & 0x1f); break;
    case Reg::Ccntr: hw::write_ccntr(value); break;
    case Reg::Userenr:
        s.userenr = static_cast<uint32_t>(value) & pmu::kUserenrMask;
        hw::write_userenr(s.userenr);
        break;
    case Reg::Evcntr: hw::set_counter(r.n, static_cast<uint32_t>(value)); break;
    case Reg::Evtyper: {
        const bool cycle = r.n == 31;
        const uint32_t type = pmu::type_write(events, static_cast<uint32_t>(value), cycle);
        if (cycle) {
            s.ccfiltr = type;
            hw::write_ccfiltr(pmu::hw_type(events, type, true));
        } else {
            s.evtyper[r.n] = type;
            hw::set_type(r.n, pmu::hw_type(events, type, false));
        }
        break;
    }
    default: ok = false; break; // PMCEID0/1 are read-only
    }
}

} // namespace

namespace vpmu {

void probe()
{
    const unsigned pmuver = pmu::guest_pmuver(hw::read_dfr0());
    if (pmuver == 0) {
        return; // no PMU: MDCR_EL2.TPM keeps every PMU register UNDEFINED
    }
    host_pmuver = static_cast<unsigned>((hw::read_dfr0() >> 8) & 0xf);
    const uint64_t n = (hw::read_pmcr() & pmu::kPmcrNMask) >> pmu::kPmcrNShift;
    n_counters = n < PmuState::kMaxCounters ? static_cast<unsigned>(n) : PmuState::kMaxCounters;
    pmcr_id = hw::read_pmcr() & pmu::kPmcrIdMask;
    events.ceid0 = hw::read_ceid0();
    events.ceid1 = hw::read_ceid1();
    events.pmuver = pmuver;
    events.el3 = ((hw::read_pfr0() >> 12) & 0xf) != 0;
    present = true;
    log_info("pmu: the host's PMUVer %u, %u event counters and the cycle counter, switched with each vCPU (guests: "
             "PMUVer %u)",
             host_pmuver, n_counters, pmuver);
}

void init_cpu()
{
    if (!present) {
        return;
    }
    uint64_t mdcr = hw::read_mdcr();
    if (n_counters != 0) {
        mdcr = (mdcr & ~kMdcrHpmnMask) | n_counters; // HPMN 0 is CONSTRAINED UNPREDICTABLE without FEAT_HPMN0
    }
    if (host_pmuver >= 4) {
        mdcr |= kMdcrHpmd;
    }
    if (host_pmuver >= 6) {
        mdcr |= kMdcrHccd;
    }
    hw::write_mdcr(mdcr);
    asm volatile("isb");
    hw::write_ccfiltr(0);
    for (unsigned n = 0; n < n_counters; n++) {
        hw::set_type(n, pmu::kTypeP | pmu::kTypeU);
    }
    hw::idle();
    hw::write_pmcr(pmu::kPmcrP | pmu::kPmcrC);
}

bool available() { return pmu::guest_pmuver(hw::read_dfr0()) != 0; } // also before init_cpu (irq::init_cpu asks)

unsigned counters() { return n_counters; }

bool access(Vcpu& v, const vcpu::SysRegAccess& a)
{
    pmu::Access r = pmu::decode(a);
    if (!present || r.reg == Reg::None) {
        return false;
    }
    const unsigned el = (v.regs.spsr >> 2) & 3;
    if (el == 0 && (r.reg == Reg::Intenset || r.reg == Reg::Intenclr || (r.reg == Reg::Userenr && !a.read))) {
        return false; // EL1 registers (the hardware makes them UNDEFINED at EL0 before trapping)
    }
    if (r.reg == Reg::Xevcntr || r.reg == Reg::Xevtyper) {
        // PMSELR_EL0.SEL picks the counter; 31 with PMXEVTYPER is PMCCFILTR.
        const uint32_t sel = v.pmu.selr;
        const bool cycle_filter = r.reg == Reg::Xevtyper && sel == 31;
        if (sel >= n_counters && !cycle_filter) {
            // CONSTRAINED UNPREDICTABLE (no such counter): reads as zero, ignores writes.
            v.set_reg(a.rt, 0);
            return true;
        }
        r = {r.reg == Reg::Xevcntr ? Reg::Evcntr : Reg::Evtyper, static_cast<uint8_t>(sel)};
    } else if ((r.reg == Reg::Evcntr || r.reg == Reg::Evtyper) && r.n >= n_counters && r.n != 31) {
        return false; // a counter this PMU does not have
    }
    take(v);
    bool ok = true;
    if (a.read) {
        const uint64_t value = read(v, r, ok);
        if (ok) {
            v.set_reg(a.rt, value);
        }
    } else {
        write(v, r, v.reg(a.rt), el, ok);
        settle(v, false);
    }
    return ok;
}

void enter_slow(Vcpu& v)
{
    Vcpu*& o = owner_here();
    if (__atomic_load_n(&v.pmu.reset_requested, __ATOMIC_ACQUIRE)) {
        if (o == &v) {
            hw::idle(); // the state from before the reset goes unsaved
            o = nullptr;
        }
        if (v.pmu.level && v.vgic != nullptr) {
            vgic::set_private_level(v, kIntid, false);
        }
        v.pmu = PmuState{};
    }
    if (o == &v || (o == nullptr && !v.pmu.used)) {
        return; // no switch, or nobody's counters to move
    }
    if (o != nullptr) {
        save(*o);
        o = nullptr;
    }
    if (v.pmu.used) {
        restore(v);
        o = &v;
    }
}

void update(Vcpu& v)
{
    if (present && owner_here() == &v) {
        settle(v, false);
    }
}

void overflow()
{
    Vcpu* o = owner_here();
    if (!present) {
        return;
    }
    if (o == nullptr) {
        hw::write_intenclr(~0u); // nobody's: nothing may interrupt
        return;
    }
    settle(*o, true);
}

} // namespace vpmu
