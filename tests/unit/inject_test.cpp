// Exception injection: the state a guest sees is what the architecture
// would have produced had it taken the exception itself.
#include <gtest/gtest.h>

#include "vcpu/inject.hpp"

using namespace vcpu;

namespace {

constexpr uint64_t kVbar = 0xffff800008010000ull;

TEST(Inject, UndefinedFromEl1hGoesToCurrentElSpxVector)
{
    const Injection in = inject_undefined({0x40001234, 0x60000005, kVbar}); // EL1h, Z and C set
    EXPECT_EQ(in.pc, kVbar + 0x200);
    EXPECT_EQ(in.esr_el1, 1ull << 25) << "EC 0x00, IL";
    EXPECT_EQ(in.elr_el1, 0x40001234u) << "the faulting instruction itself";
    EXPECT_EQ(in.spsr_el1, 0x60000005u) << "the interrupted PSTATE";
    EXPECT_EQ(in.pstate, 0x3c5u) << "EL1h with DAIF masked";
}

TEST(Inject, VectorOffsetFollowsTheSourceElAndStackPointer)
{
    EXPECT_EQ(inject_undefined({0, 0x4, kVbar}).pc, kVbar + 0x000) << "EL1t";
    EXPECT_EQ(inject_undefined({0, 0x5, kVbar}).pc, kVbar + 0x200) << "EL1h";
    EXPECT_EQ(inject_undefined({0, 0x0, kVbar}).pc, kVbar + 0x400) << "EL0 AArch64";
    EXPECT_EQ(inject_undefined({0, 0x10, kVbar}).pc, kVbar + 0x600) << "EL0 AArch32";
}

TEST(Inject, DataAbortFromEl1IsSameElExternalAbort)
{
    const Injection in = inject_abort({0x40000800, 0x3c5, kVbar}, 0x0b000000, false, true);
    EXPECT_EQ(in.esr_el1 >> 26, 0x25u) << "data abort, same EL";
    EXPECT_EQ(in.esr_el1 & 0x3f, 0x10u) << "synchronous external abort";
    EXPECT_NE(in.esr_el1 & (1ull << 6), 0u) << "WnR for a write";
    EXPECT_NE(in.esr_el1 & (1ull << 25), 0u) << "IL";
    EXPECT_EQ(in.far_el1, 0x0b000000u);
    EXPECT_EQ(in.elr_el1, 0x40000800u);
    EXPECT_EQ(in.pc, kVbar + 0x200);
}

TEST(Inject, AbortsFromEl0UseLowerElClassesAndVector)
{
    Injection in = inject_abort({0x400000, 0x0, kVbar}, 0x1000, false, false);
    EXPECT_EQ(in.esr_el1 >> 26, 0x24u);
    EXPECT_EQ(in.esr_el1 & (1ull << 6), 0u) << "read";
    EXPECT_EQ(in.pc, kVbar + 0x400);
    in = inject_abort({0x400000, 0x0, kVbar}, 0x400000, true, false);
    EXPECT_EQ(in.esr_el1 >> 26, 0x20u) << "instruction abort, lower EL";
    in = inject_abort({0x400000, 0x5, kVbar}, 0x400000, true, false);
    EXPECT_EQ(in.esr_el1 >> 26, 0x21u) << "instruction abort, same EL";
}

} // namespace

namespace {

// A guest single-stepping an instruction that faults: the instruction did
// not complete, so the handler sees SPSR_EL1.SS set (its ERET steps the
// instruction again), and the handler itself runs with PSTATE.SS clear
// (Arm ARM D2, "Software Step exceptions").
TEST(Inject, StepStateOfAFaultingSteppedInstructionGoesToSpsrEl1)
{
    const uint64_t stepping = 0x5 | kPstateSs; // EL1h, D clear, active-not-pending
    Injection in = inject_abort({0x40000800, stepping, kVbar}, 0x0b000000, false, false);
    EXPECT_EQ(in.spsr_el1, stepping);
    EXPECT_EQ(in.pstate & kPstateSs, 0u);
    in = inject_undefined({0x40000800, stepping, kVbar});
    EXPECT_EQ(in.spsr_el1 & kPstateSs, kPstateSs);
    EXPECT_EQ(in.pstate & kPstateSs, 0u);
}

} // namespace
