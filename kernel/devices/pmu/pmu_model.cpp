#include "kernel/devices/pmu/pmu_model.hpp"

namespace pmu {
namespace {

// Common events of what Vireo hides, in PMCEID0's upper half (event
// 0x4000 + bit - 32; Arm DDI 0487, "Common event numbers"): the
// statistical profiling samples (SAMPLE_POP, _FEED, _FILTRATE, _COLLISION,
// 0x4000-0x4003), the trace buffer's TRB_WRAP (0x400c) and TRB_TRIG
// (0x400e), PMU_HOVFS (0x400f: overflows of counters reserved for EL2),
// the trace unit's external outputs TRCEXTOUT0-3 (0x4010-0x4013) and the
// cross-trigger outputs CTI_TRIGOUT4-7 (0x4018-0x401b).
constexpr uint64_t kHiddenCeid0 = 0xfull << 32 | 1ull << 44 | 1ull << 46 | 1ull << 47 | 0xfull << 48 | 0xfull << 56;

constexpr uint32_t event_mask(unsigned pmuver) { return pmuver >= 4 ? 0xffff : 0x3ff; }

constexpr uint32_t filter_mask(const Events& events)
{
    return kTypeP | kTypeU | (events.el3 ? kTypeNsk | kTypeNsu | kTypeM : 0);
}

bool bit(uint64_t value, unsigned n) { return ((value >> n) & 1) != 0; }

} // namespace

unsigned guest_pmuver(uint64_t id_aa64dfr0)
{
    const auto version = static_cast<unsigned>((id_aa64dfr0 >> 8) & 0xf);
    if (version == 0 || version == 0xf) {
        return 0;
    }
    return version < kMaxPmuVer ? version : kMaxPmuVer;
}

Access decode(const vcpu::SysRegAccess& a)
{
    if (a.op0 != 3) {
        return {};
    }
    if (a.op1 == 0 && a.crn == 9 && a.crm == 14) {
        return {a.op2 == 1 ? Reg::Intenset : a.op2 == 2 ? Reg::Intenclr : Reg::None};
    }
    if (a.op1 != 3) {
        return {};
    }
    if (a.crn == 14 && a.crm >= 8) {
        const auto n = static_cast<uint8_t>((a.crm & 3) << 3 | a.op2);
        if (a.crm < 12) {
            return n < 31 ? Access{Reg::Evcntr, n} : Access{}; // CRm 11, op2 7 is unallocated
        }
        return {Reg::Evtyper, n}; // n = 31: PMCCFILTR_EL0
    }
    if (a.crn != 9) {
        return {};
    }
    static constexpr Reg kCrm12[] = {Reg::Pmcr,  Reg::Cntenset, Reg::Cntenclr, Reg::Ovsclr,
                                     Reg::Swinc, Reg::Selr,     Reg::Ceid0,    Reg::Ceid1};
    static constexpr Reg kCrm13[] = {Reg::Ccntr, Reg::Xevtyper, Reg::Xevcntr};
    switch (a.crm) {
    case 12: return {kCrm12[a.op2 & 7]};
    case 13: return {a.op2 < 3 ? kCrm13[a.op2] : Reg::None};
    case 14: return {a.op2 == 0 ? Reg::Userenr : a.op2 == 3 ? Reg::Ovsset : Reg::None};
    default: return {};
    }
}

uint64_t pmcr_read(uint64_t stored, uint64_t hw, unsigned counters)
{
    return (stored & kPmcrWritable) | (hw & kPmcrIdMask) | uint64_t{counters & 0x1f} << kPmcrNShift;
}

uint64_t guest_ceid(unsigned which, uint64_t hw, unsigned pmuver)
{
    const uint64_t value = pmuver >= 4 ? hw : hw & 0xffffffffull;
    return which == 0 ? value & ~kHiddenCeid0 : value;
}

bool event_passed(const Events& events, uint32_t event)
{
    if (event == kSwIncr) {
        return true;
    }
    const unsigned limit = events.pmuver >= 4 ? 0x4040 : 0x40;
    if (event < 0x40) {
        return bit(event < 0x20 ? events.ceid0 : events.ceid1, event & 0x1f);
    }
    if (event >= 0x4000 && event < limit) {
        return bit(event < 0x4020 ? events.ceid0 : events.ceid1, 32 + (event & 0x1f));
    }
    return false; // IMPLEMENTATION DEFINED, reserved, or a common event PMCEID cannot report
}

uint32_t type_write(const Events& events, uint32_t value, bool cycle)
{
    return value & (filter_mask(events) | (cycle ? 0 : event_mask(events.pmuver)));
}

uint32_t hw_type(const Events& events, uint32_t type, bool cycle)
{
    if (!cycle && !event_passed(events, type & event_mask(events.pmuver))) {
        return kTypeP | kTypeU; // EL1 and EL0 filtered out, EL2 (NSH clear) and EL3 (M != P) too
    }
    uint32_t hw = type_write(events, type, cycle) & ~kTypeM;
    if (events.el3 && (hw & kTypeP) == 0) {
        hw |= kTypeM; // M != P: nothing at EL3 (the firmware's time)
    }
    return hw;
}

bool counts_at(const Events& events, uint32_t type, unsigned el)
{
    const uint32_t exclude = el == 0 ? kTypeU : kTypeP;
    const uint32_t secure_pair = el == 0 ? kTypeNsu : kTypeNsk;
    if (!events.el3) {
        return (type & exclude) == 0;
    }
    return ((type & exclude) != 0) == ((type & secure_pair) != 0); // Non-secure: counted when equal
}

} // namespace pmu
