// Decoding guest exits: syndromes as the Arm ARM defines them, and the
// load/store instructions Vireo must emulate when the syndrome is not valid.
// Instruction words were produced by aarch64-linux-gnu-as.
#include <gtest/gtest.h>

#include "vcpu/exit.hpp"

using namespace vcpu;

namespace {

constexpr uint64_t ec(unsigned value) { return uint64_t{value} << 26 | 1ull << 25; }
// Data abort syndrome with a valid ISS: translation fault level 3 (DFSC 0x07).
constexpr uint64_t data_abort(bool write, unsigned sas, bool sse, unsigned srt, bool sf, bool ar = false)
{
    return ec(0x24) | 1ull << 24 | uint64_t{sas} << 22 | uint64_t{sse} << 21 | uint64_t{srt} << 16 |
           uint64_t{sf} << 15 | uint64_t{ar} << 14 | uint64_t{write} << 6 | 0x07;
}
constexpr uint64_t kHpfar = 0x0a000000ull >> 8; // FIPA = IPA[47:12] in bits [43:4]

TEST(DecodeSync, DataAbortWithSyndromeIsADecodedMmioRead)
{
    const Exit exit = decode_sync(data_abort(false, 2, false, 3, false), 0xffff000012345678ull, kHpfar);
    ASSERT_EQ(exit.kind, ExitKind::Mmio);
    EXPECT_EQ(exit.mmio.ipa, 0x0a000678u) << "page from HPFAR_EL2, offset from FAR_EL2";
    EXPECT_EQ(exit.mmio.size, 4u);
    EXPECT_FALSE(exit.mmio.write);
    EXPECT_FALSE(exit.mmio.sign_extend);
    EXPECT_FALSE(exit.mmio.reg64);
    EXPECT_EQ(exit.mmio.rt, 3u);
}

TEST(DecodeSync, SignExtendingByteLoadIntoXRegister)
{
    const Exit exit = decode_sync(data_abort(false, 0, true, 9, true), 0x1000, kHpfar);
    ASSERT_EQ(exit.kind, ExitKind::Mmio);
    EXPECT_EQ(exit.mmio.size, 1u);
    EXPECT_TRUE(exit.mmio.sign_extend);
    EXPECT_TRUE(exit.mmio.reg64);
    EXPECT_EQ(exit.mmio.rt, 9u);
}

TEST(DecodeSync, StoreFromXzrWithReleaseSemantics)
{
    const Exit exit = decode_sync(data_abort(true, 3, false, 31, true, true), 0x1008, kHpfar);
    ASSERT_EQ(exit.kind, ExitKind::Mmio);
    EXPECT_TRUE(exit.mmio.write);
    EXPECT_EQ(exit.mmio.size, 8u);
    EXPECT_EQ(exit.mmio.rt, 31u) << "31 is XZR for loads and stores";
    EXPECT_TRUE(exit.mmio.acquire_release);
}

TEST(DecodeSync, DataAbortWithoutSyndromeNeedsTheInstruction)
{
    const uint64_t esr = ec(0x24) | 1ull << 6 | 0x06; // no ISV, write, translation fault level 2
    const Exit exit = decode_sync(esr, 0x2040, kHpfar);
    EXPECT_EQ(exit.kind, ExitKind::MmioNeedsDecode);
    EXPECT_EQ(exit.mmio.ipa, 0x0a000040u);
    EXPECT_TRUE(exit.mmio.write);
}

TEST(DecodeSync, StoreToReadOnlyMemoryIsMmioWithTheIpaStillToFind)
{
    // A ROM or a flash bank in read-array mode: its device model gets the store.
    const uint64_t esr = ec(0x24) | 1ull << 24 | 2ull << 22 | 3ull << 16 | 1ull << 6 | 0x0f; // STR W3, permission L3
    const Exit exit = decode_sync(esr, 0x4000010, 0x4000000 >> 8);
    EXPECT_EQ(exit.kind, ExitKind::Mmio);
    EXPECT_TRUE(exit.permission_fault);
    EXPECT_TRUE(exit.mmio.write);
    EXPECT_EQ(exit.mmio.size, 4);
    EXPECT_EQ(exit.mmio.rt, 3);
}

TEST(DecodeSync, CacheMaintenanceOnReadOnlyMemoryIsSkipped)
{
    const uint64_t esr = ec(0x24) | 1ull << 8 | 1ull << 6 | 0x0f; // DC IVAC: CM, WnR, permission fault
    EXPECT_EQ(decode_sync(esr, 0x1000, 0x1000 >> 8).kind, ExitKind::CacheMaintenance);
}

TEST(DecodeSync, ReadPermissionFaultIsAGuestFaultNotMmio)
{
    const uint64_t esr = ec(0x24) | 1ull << 24 | 0x0f; // a load, permission fault level 3
    const Exit exit = decode_sync(esr, 0x40001000, 0x40001000 >> 8);
    EXPECT_EQ(exit.kind, ExitKind::GuestFault);
    EXPECT_FALSE(exit.permission_fault);
    EXPECT_EQ(exit.ipa, 0x40001000u);
}

TEST(DecodeSync, TranslationFaultNeedsNoIpaFromFar)
{
    const uint64_t esr = ec(0x24) | 1ull << 24 | 2ull << 22 | 1ull << 6 | 0x07;
    EXPECT_FALSE(decode_sync(esr, 0x0a000010, 0x0a000000 >> 8).permission_fault);
}

TEST(DecodeSync, StageTwoFaultOnTheGuestsPageTableWalkIsAGuestFault)
{
    const uint64_t esr = ec(0x24) | 1ull << 7 | 0x07; // S1PTW
    EXPECT_EQ(decode_sync(esr, 0, kHpfar).kind, ExitKind::GuestFault);
}

TEST(DecodeSync, CacheMaintenanceOnMmioIsSkipped)
{
    const uint64_t esr = ec(0x24) | 1ull << 8 | 1ull << 6 | 0x07; // CM
    EXPECT_EQ(decode_sync(esr, 0, kHpfar).kind, ExitKind::CacheMaintenance);
}

TEST(DecodeSync, InstructionAbortIsAGuestFault)
{
    const Exit exit = decode_sync(ec(0x20) | 0x07, 0x5000, 0x5000 >> 8);
    EXPECT_EQ(exit.kind, ExitKind::GuestFault);
    EXPECT_TRUE(exit.instruction_fault);
    EXPECT_EQ(exit.ipa, 0x5000u);
}

TEST(DecodeSync, HvcAndSmcCarryTheirImmediate)
{
    Exit exit = decode_sync(ec(0x16) | 0x1234, 0, 0);
    EXPECT_EQ(exit.kind, ExitKind::Hvc);
    EXPECT_EQ(exit.imm, 0x1234u);
    exit = decode_sync(ec(0x17), 0, 0);
    EXPECT_EQ(exit.kind, ExitKind::Smc);
    EXPECT_EQ(exit.imm, 0u);
}

TEST(DecodeSync, WfiAndWfe)
{
    EXPECT_EQ(decode_sync(ec(0x01) | 0, 0, 0).kind, ExitKind::Wfi);
    EXPECT_EQ(decode_sync(ec(0x01) | 1, 0, 0).kind, ExitKind::Wfe);
}

TEST(DecodeSync, MrsOfIdAa64Pfr0)
{
    // MRS x5, ID_AA64PFR0_EL1: op0 3, op1 0, CRn 0, CRm 4, op2 0, read.
    const uint64_t iss = 3ull << 20 | 0ull << 17 | 0ull << 14 | 0ull << 10 | 5ull << 5 | 4ull << 1 | 1;
    const Exit exit = decode_sync(ec(0x18) | iss, 0, 0);
    ASSERT_EQ(exit.kind, ExitKind::SysReg);
    EXPECT_TRUE(exit.sysreg.read);
    EXPECT_EQ(exit.sysreg.rt, 5u);
    EXPECT_EQ(exit.sysreg.encoding(), sysreg_encoding(3, 0, 0, 4, 0));
}

TEST(DecodeSync, MsrToActlrWithAllFields)
{
    // MSR S3_1_C15_C2_7, x30 (op0 3, op1 1, CRn 15, CRm 2, op2 7), write.
    const uint64_t iss = 3ull << 20 | 7ull << 17 | 1ull << 14 | 15ull << 10 | 30ull << 5 | 2ull << 1 | 0;
    const Exit exit = decode_sync(ec(0x18) | iss, 0, 0);
    ASSERT_EQ(exit.kind, ExitKind::SysReg);
    EXPECT_FALSE(exit.sysreg.read);
    EXPECT_EQ(exit.sysreg.op0, 3u);
    EXPECT_EQ(exit.sysreg.op1, 1u);
    EXPECT_EQ(exit.sysreg.crn, 15u);
    EXPECT_EQ(exit.sysreg.crm, 2u);
    EXPECT_EQ(exit.sysreg.op2, 7u);
    EXPECT_EQ(exit.sysreg.rt, 30u);
}

TEST(DecodeSync, FpTrapAndUnknownClasses)
{
    EXPECT_EQ(decode_sync(ec(0x07), 0, 0).kind, ExitKind::FpSimdTrap);
    EXPECT_EQ(decode_sync(ec(0x00), 0, 0).kind, ExitKind::Undefined);
    EXPECT_EQ(decode_sync(ec(0x19), 0, 0).kind, ExitKind::Undefined) << "SVE is hidden from guests";
    EXPECT_EQ(decode_sync(ec(0x3c), 0, 0).kind, ExitKind::Undefined) << "BRK";
}

MmioAccess decoded(uint32_t insn)
{
    MmioAccess access;
    EXPECT_TRUE(decode_load_store(insn, access)) << std::hex << insn;
    return access;
}

TEST(DecodeLoadStore, PostIndexedLoad)
{
    const MmioAccess a = decoded(0xf8408441); // ldr x1, [x2], #8
    EXPECT_EQ(a.size, 8u);
    EXPECT_FALSE(a.write);
    EXPECT_TRUE(a.reg64);
    EXPECT_EQ(a.rt, 1u);
    EXPECT_TRUE(a.writeback);
    EXPECT_EQ(a.rn, 2u);
    EXPECT_EQ(a.offset, 8);
}

TEST(DecodeLoadStore, PreIndexedLoadWithNegativeOffset)
{
    const MmioAccess a = decoded(0xb85fcc83); // ldr w3, [x4, #-4]!
    EXPECT_EQ(a.size, 4u);
    EXPECT_FALSE(a.reg64);
    EXPECT_EQ(a.rt, 3u);
    EXPECT_EQ(a.rn, 4u);
    EXPECT_TRUE(a.writeback);
    EXPECT_EQ(a.offset, -4);
}

TEST(DecodeLoadStore, PostIndexedStore)
{
    const MmioAccess a = decoded(0xf80104c5); // str x5, [x6], #16
    EXPECT_TRUE(a.write);
    EXPECT_EQ(a.size, 8u);
    EXPECT_EQ(a.rt, 5u);
    EXPECT_EQ(a.offset, 16);
}

TEST(DecodeLoadStore, SignExtendingForms)
{
    MmioAccess a = decoded(0x38801507); // ldrsb x7, [x8], #1
    EXPECT_EQ(a.size, 1u);
    EXPECT_TRUE(a.sign_extend);
    EXPECT_TRUE(a.reg64);
    a = decoded(0x38c01549); // ldrsb w9, [x10], #1
    EXPECT_TRUE(a.sign_extend);
    EXPECT_FALSE(a.reg64);
    a = decoded(0x78802d8b); // ldrsh x11, [x12, #2]!
    EXPECT_EQ(a.size, 2u);
    EXPECT_TRUE(a.reg64);
    EXPECT_EQ(a.offset, 2);
    a = decoded(0x78dfe5cd); // ldrsh w13, [x14], #-2
    EXPECT_FALSE(a.reg64);
    EXPECT_EQ(a.offset, -2);
    a = decoded(0xb880460f); // ldrsw x15, [x16], #4
    EXPECT_EQ(a.size, 4u);
    EXPECT_TRUE(a.sign_extend);
    EXPECT_TRUE(a.reg64);
}

TEST(DecodeLoadStore, ByteAndHalfwordStoresIncludingXzr)
{
    MmioAccess a = decoded(0x38001651); // strb w17, [x18], #1
    EXPECT_TRUE(a.write);
    EXPECT_EQ(a.size, 1u);
    EXPECT_EQ(a.rt, 17u);
    a = decoded(0x7800267f); // strh wzr, [x19], #2
    EXPECT_EQ(a.size, 2u);
    EXPECT_EQ(a.rt, 31u);
    EXPECT_EQ(a.rn, 19u);
}

TEST(DecodeLoadStore, Pairs)
{
    MmioAccess a = decoded(0xa8c10861); // ldp x1, x2, [x3], #16
    EXPECT_TRUE(a.pair);
    EXPECT_FALSE(a.write);
    EXPECT_EQ(a.size, 8u);
    EXPECT_EQ(a.rt, 1u);
    EXPECT_EQ(a.rt2, 2u);
    EXPECT_EQ(a.rn, 3u);
    EXPECT_TRUE(a.writeback);
    EXPECT_EQ(a.offset, 16);
    a = decoded(0x29ff14c4); // ldp w4, w5, [x6, #-8]!
    EXPECT_EQ(a.size, 4u);
    EXPECT_FALSE(a.reg64);
    EXPECT_EQ(a.offset, -8);
    EXPECT_TRUE(a.writeback);
    a = decoded(0xa9022127); // stp x7, x8, [x9, #32]
    EXPECT_TRUE(a.write);
    EXPECT_FALSE(a.writeback);
    EXPECT_EQ(a.offset, 32);
    a = decoded(0x69402d8a); // ldpsw x10, x11, [x12]
    EXPECT_TRUE(a.sign_extend);
    EXPECT_TRUE(a.reg64);
    EXPECT_EQ(a.size, 4u);
    a = decoded(0xa9bf7c1f); // stp xzr, xzr, [x0, #-16]!
    EXPECT_EQ(a.rt, 31u);
    EXPECT_EQ(a.rt2, 31u);
    EXPECT_EQ(a.offset, -16);
}

TEST(DecodeLoadStore, RegisterOffsetUnscaledUnsignedOffsetAndSpBase)
{
    MmioAccess a = decoded(0xf8767ab4); // ldr x20, [x21, x22, lsl #3]
    EXPECT_EQ(a.rt, 20u);
    EXPECT_FALSE(a.writeback);
    a = decoded(0x384017f7); // ldrb w23, [sp], #1
    EXPECT_EQ(a.rn, 31u) << "31 is SP as a base register";
    EXPECT_TRUE(a.writeback);
    a = decoded(0xf85fd338); // ldur x24, [x25, #-3]
    EXPECT_FALSE(a.writeback);
    EXPECT_EQ(a.size, 8u);
    a = decoded(0xf947ff7a); // ldr x26, [x27, #4088]
    EXPECT_EQ(a.rt, 26u);
    EXPECT_FALSE(a.writeback);
}

TEST(DecodeLoadStore, RejectsWhatItCannotEmulate)
{
    MmioAccess a;
    EXPECT_FALSE(decode_load_store(0x3cc10420, a)) << "ldr q0: SIMD&FP";
    EXPECT_FALSE(decode_load_store(0xf9800020, a)) << "prfm: no data access";
    EXPECT_FALSE(decode_load_store(0xc85f7c20, a)) << "ldxr: exclusive";
    EXPECT_FALSE(decode_load_store(0xd503201f, a)) << "nop";
}

TEST(LoadResult, ExtendsAndTruncatesLikeTheInstruction)
{
    MmioAccess a;
    a.size = 1;
    a.sign_extend = true;
    a.reg64 = true;
    EXPECT_EQ(load_result(a, 0x80), 0xffffffffffffff80ull) << "LDRSB Xt";
    a.reg64 = false;
    EXPECT_EQ(load_result(a, 0x80), 0xffffff80ull) << "LDRSB Wt zeroes bits [63:32]";
    a.size = 2;
    EXPECT_EQ(load_result(a, 0x7fff), 0x7fffull);
    a.reg64 = true;
    EXPECT_EQ(load_result(a, 0x12348765), 0xffffffffffff8765ull) << "LDRSH Xt uses only 2 bytes";
    a.size = 4;
    EXPECT_EQ(load_result(a, 0x80000000), 0xffffffff80000000ull) << "LDRSW";
    a.sign_extend = false;
    EXPECT_EQ(load_result(a, 0xdeadbeef80000000ull), 0x80000000ull);
    a.size = 8;
    EXPECT_EQ(load_result(a, 0xdeadbeef80000000ull), 0xdeadbeef80000000ull);
}

TEST(StoreValue, TakesTheLowBytesOfTheRegister)
{
    MmioAccess a;
    a.size = 2;
    EXPECT_EQ(store_value(a, 0x1122334455667788ull), 0x7788u);
    a.size = 8;
    EXPECT_EQ(store_value(a, 0x1122334455667788ull), 0x1122334455667788ull);
}

} // namespace

namespace {

TEST(DecodeLoadStore, NothingOfTheLastAccessSurvivesInAReusedRecord)
{
    MmioAccess a;
    ASSERT_TRUE(decode_load_store(0x69402d8a, a)); // ldpsw x10, x11, [x12]: sign-extending pair
    a.ipa = 0x0a000090;
    ASSERT_TRUE(decode_load_store(0x384017f7, a)); // ldrb w23, [sp], #1
    EXPECT_FALSE(a.sign_extend) << "LDRB zero-extends";
    EXPECT_FALSE(a.pair);
    EXPECT_FALSE(a.reg64);
    EXPECT_EQ(a.ipa, 0x0a000090u) << "the address is the caller's";
    EXPECT_EQ(load_result(a, 0x90), 0x90u);
}

} // namespace
