// The virtual PMU's register model (kernel/devices/pmu/pmu_model.hpp): what
// a guest may program, what reaches the hardware, and what it reads back.
#include <gtest/gtest.h>

#include "kernel/devices/pmu/pmu_model.hpp"

using namespace pmu;

namespace {

vcpu::SysRegAccess reg(unsigned op1, unsigned crn, unsigned crm, unsigned op2)
{
    vcpu::SysRegAccess a;
    a.op0 = 3;
    a.op1 = static_cast<uint8_t>(op1);
    a.crn = static_cast<uint8_t>(crn);
    a.crm = static_cast<uint8_t>(crm);
    a.op2 = static_cast<uint8_t>(op2);
    return a;
}

// QEMU's cortex-a72 (PMUv3, no EL3 under virtualization=on alone): SW_INCR and
// CPU_CYCLES; -cpu max adds STALL_FRONTEND/BACKEND (PMCEID1).
Events qemu_a72() { return {0x20001, 0, 1, false}; }
Events v3p1_el3() { return {0x20001 | 0xfull << 32 | 1ull << 36, 0x18 | 1ull << 33, 4, true}; }

TEST(PmuModel, GuestPmuVersionIsTheHostsCappedAtPmuv3p1)
{
    EXPECT_EQ(guest_pmuver(1u << 8), 1u) << "PMUv3";
    EXPECT_EQ(guest_pmuver(4u << 8), 4u) << "PMUv3p1";
    EXPECT_EQ(guest_pmuver(6u << 8 | 0x6), 4u) << "PMUv3p5 (QEMU max) capped";
    EXPECT_EQ(guest_pmuver(0), 0u) << "no PMU";
    EXPECT_EQ(guest_pmuver(0xfu << 8), 0u) << "an IMPLEMENTATION DEFINED PMU is no PMUv3";
}

TEST(PmuModel, DecodesEveryPmuRegisterAndNothingElse)
{
    EXPECT_EQ(decode(reg(3, 9, 12, 0)).reg, Reg::Pmcr);
    EXPECT_EQ(decode(reg(3, 9, 12, 1)).reg, Reg::Cntenset);
    EXPECT_EQ(decode(reg(3, 9, 12, 2)).reg, Reg::Cntenclr);
    EXPECT_EQ(decode(reg(3, 9, 12, 3)).reg, Reg::Ovsclr);
    EXPECT_EQ(decode(reg(3, 9, 12, 4)).reg, Reg::Swinc);
    EXPECT_EQ(decode(reg(3, 9, 12, 5)).reg, Reg::Selr);
    EXPECT_EQ(decode(reg(3, 9, 12, 6)).reg, Reg::Ceid0);
    EXPECT_EQ(decode(reg(3, 9, 12, 7)).reg, Reg::Ceid1);
    EXPECT_EQ(decode(reg(3, 9, 13, 0)).reg, Reg::Ccntr);
    EXPECT_EQ(decode(reg(3, 9, 13, 1)).reg, Reg::Xevtyper);
    EXPECT_EQ(decode(reg(3, 9, 13, 2)).reg, Reg::Xevcntr);
    EXPECT_EQ(decode(reg(3, 9, 14, 0)).reg, Reg::Userenr);
    EXPECT_EQ(decode(reg(3, 9, 14, 3)).reg, Reg::Ovsset);
    EXPECT_EQ(decode(reg(0, 9, 14, 1)).reg, Reg::Intenset);
    EXPECT_EQ(decode(reg(0, 9, 14, 2)).reg, Reg::Intenclr);
    EXPECT_EQ(decode(reg(0, 9, 14, 6)).reg, Reg::None) << "PMMIR_EL1: PMUv3p4, not given";
    EXPECT_EQ(decode(reg(3, 9, 13, 3)).reg, Reg::None);
    EXPECT_EQ(decode(reg(3, 14, 2, 1)).reg, Reg::None) << "CNTP_CTL_EL0 is the timer's";
    vcpu::SysRegAccess debug = reg(0, 0, 2, 2);
    debug.op0 = 2;
    EXPECT_EQ(decode(debug).reg, Reg::None) << "MDSCR_EL1";
}

TEST(PmuModel, EventCounterNumbersComeFromCrmAndOp2)
{
    EXPECT_EQ(decode(reg(3, 14, 8, 0)).reg, Reg::Evcntr);
    EXPECT_EQ(decode(reg(3, 14, 8, 0)).n, 0);
    EXPECT_EQ(decode(reg(3, 14, 9, 3)).n, 11);
    EXPECT_EQ(decode(reg(3, 14, 11, 6)).n, 30);
    EXPECT_EQ(decode(reg(3, 14, 11, 7)).reg, Reg::None) << "no PMEVCNTR31";
    EXPECT_EQ(decode(reg(3, 14, 12, 5)).reg, Reg::Evtyper);
    EXPECT_EQ(decode(reg(3, 14, 12, 5)).n, 5);
    EXPECT_EQ(decode(reg(3, 14, 15, 7)).reg, Reg::Evtyper) << "PMCCFILTR_EL0";
    EXPECT_EQ(decode(reg(3, 14, 15, 7)).n, 31);
}

TEST(PmuModel, PmcrShowsTheGuestsCountersAndBitsAndTheHardwaresIds)
{
    const uint64_t hw = 0x41023000 | kPmcrE; // cortex-a72: N = 6
    const uint64_t v = pmcr_read(kPmcrE | kPmcrLc | kPmcrP | kPmcrC, hw, 6);
    EXPECT_EQ(v & kPmcrIdMask, 0x41020000u) << "IMP and IDCODE";
    EXPECT_EQ((v & kPmcrNMask) >> kPmcrNShift, 6u);
    EXPECT_EQ(v & (kPmcrP | kPmcrC), 0u) << "P and C are write-only";
    EXPECT_EQ(v & (kPmcrE | kPmcrLc), kPmcrE | kPmcrLc);
    EXPECT_EQ(pmcr_read(0, hw, 6) & kPmcrE, 0u) << "the hardware's E is not the guest's";
}

TEST(PmuModel, CeidHidesProfilingAndTraceEventsAndTheUpperHalfBeforePmuv3p1)
{
    const uint64_t all = ~0ull;
    const uint64_t v = guest_ceid(0, all, 4);
    EXPECT_EQ((v >> 32) & 0xf, 0u) << "SAMPLE_POP, _FEED, _FILTRATE, _COLLISION";
    EXPECT_EQ((v >> 44) & 0xd, 0u) << "TRB_WRAP, TRB_TRIG, PMU_HOVFS";
    EXPECT_EQ((v >> 48) & 0xf, 0u) << "TRCEXTOUT0-3";
    EXPECT_EQ((v >> 56) & 0xf, 0u) << "CTI_TRIGOUT4-7";
    EXPECT_EQ((v >> 36) & 1, 1u) << "CNT_CYCLES (0x4004) stays";
    EXPECT_EQ(v & 0xffffffffu, 0xffffffffu) << "events 0x00-0x1f stay";
    EXPECT_EQ(guest_ceid(0, all, 1) >> 32, 0u) << "PMUv3: no upper half";
    EXPECT_EQ(guest_ceid(1, 0x18, 1), 0x18u) << "PMCEID1 as the hardware's";
}

TEST(PmuModel, OnlyEventsTheGuestIsToldOfArePassed)
{
    const Events e = v3p1_el3();
    EXPECT_TRUE(event_passed(e, kSwIncr));
    EXPECT_TRUE(event_passed(e, 0x11)) << "CPU_CYCLES";
    EXPECT_FALSE(event_passed(e, 0x08)) << "INST_RETIRED: not reported";
    EXPECT_TRUE(event_passed(e, 0x23)) << "STALL_FRONTEND (PMCEID1)";
    EXPECT_TRUE(event_passed(e, 0x4004)) << "CNT_CYCLES (PMCEID0's upper half)";
    EXPECT_TRUE(event_passed(e, 0x4021)) << "PMCEID1's upper half";
    EXPECT_FALSE(event_passed(e, 0xc0)) << "IMPLEMENTATION DEFINED";
    EXPECT_FALSE(event_passed(e, 0x8000)) << "beyond what PMCEID reports";
    EXPECT_FALSE(event_passed(qemu_a72(), 0x4004)) << "PMUv3 has no 0x4000 events";
}

TEST(PmuModel, GuestTypesNeverCountAtEl2OrEl3)
{
    for (const Events& e : {qemu_a72(), v3p1_el3()}) {
        for (uint64_t guest = 0; guest < (1ull << 32); guest += 0x01000011) {
            const uint32_t hw = hw_type(e, static_cast<uint32_t>(guest), false);
            EXPECT_EQ(hw & kTypeNsh, 0u) << std::hex << guest;
            if (e.el3) {
                EXPECT_NE((hw & kTypeM) != 0, (hw & kTypeP) != 0) << "M differs from P: nothing at EL3";
            } else {
                EXPECT_EQ(hw & kTypeM, 0u) << "RES0 without EL3";
            }
        }
        const uint32_t filter = hw_type(e, ~0u, true);
        EXPECT_EQ(filter & kTypeNsh, 0u) << "PMCCFILTR";
        EXPECT_EQ(filter & 0xffff, 0u) << "PMCCFILTR has no event number";
    }
}

TEST(PmuModel, AnEventNotPassedCountsNothing)
{
    const Events e = qemu_a72();
    EXPECT_EQ(hw_type(e, 0xc0, false), kTypeP | kTypeU);
    EXPECT_FALSE(counts_at(e, hw_type(e, 0xc0, false), 0));
    EXPECT_FALSE(counts_at(e, hw_type(e, 0xc0, false), 1));
    EXPECT_EQ(hw_type(e, 0x11 | kTypeU, false), 0x11 | kTypeU) << "a passed event keeps its event and filters";
}

TEST(PmuModel, TypeReadBackKeepsFiltersAndEventNumberWidth)
{
    EXPECT_EQ(type_write(qemu_a72(), 0xffffffff, false), kTypeP | kTypeU | 0x3ff) << "PMUv3: 10-bit events, no EL3";
    EXPECT_EQ(type_write(v3p1_el3(), 0xffffffff, false), kTypeP | kTypeU | kTypeNsk | kTypeNsu | kTypeM | 0xffff);
    EXPECT_EQ(type_write(v3p1_el3(), 0xffffffff, true), kTypeP | kTypeU | kTypeNsk | kTypeNsu | kTypeM)
        << "PMCCFILTR: no NSH (no EL2 for the guest), no event";
}

TEST(PmuModel, SoftwareIncrementFollowsTheFilters)
{
    const Events no_el3 = qemu_a72();
    EXPECT_TRUE(counts_at(no_el3, 0, 1));
    EXPECT_FALSE(counts_at(no_el3, kTypeP, 1));
    EXPECT_TRUE(counts_at(no_el3, kTypeP, 0)) << "P is EL1's";
    EXPECT_FALSE(counts_at(no_el3, kTypeU, 0));
    const Events el3 = v3p1_el3();
    EXPECT_TRUE(counts_at(el3, 0, 1));
    EXPECT_FALSE(counts_at(el3, kTypeP, 1)) << "NSK differs from P";
    EXPECT_TRUE(counts_at(el3, kTypeP | kTypeNsk, 1)) << "NSK equal to P: Non-secure EL1 counts";
    EXPECT_FALSE(counts_at(el3, kTypeNsu, 0));
}

TEST(PmuModel, OverflowInterruptIsEnabledOverflowedAndUnmasked)
{
    EXPECT_TRUE(irq_level(kPmcrE, 1u << 31, 1u << 31));
    EXPECT_FALSE(irq_level(0, 1u << 31, 1u << 31)) << "PMCR_EL0.E clear";
    EXPECT_FALSE(irq_level(kPmcrE, 1u << 31, 1)) << "another counter's interrupt";
    EXPECT_FALSE(irq_level(kPmcrE, 0, ~0u)) << "nothing overflowed";
}

TEST(PmuModel, CounterMaskHasTheEventCountersAndTheCycleCounter)
{
    EXPECT_EQ(counter_mask(6), 0x8000003fu);
    EXPECT_EQ(counter_mask(0), 0x80000000u);
    EXPECT_EQ(counter_mask(31), 0xffffffffu);
}

} // namespace
