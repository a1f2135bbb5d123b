// Guest debug registers: what the guest reads back, and what the hardware
// may hold, which must never match at EL2, in Secure state or on a VMID.
#include <gtest/gtest.h>

#include "kernel/devices/sysreg/debug_regs.hpp"
#include "kernel/devices/sysreg/sysreg_emul.hpp"
#include "vcpu/exit.hpp"

using namespace debug_rules;
using sysreg_emul::debug_read;
using sysreg_emul::debug_write;
using vcpu::sysreg_encoding;

namespace {

// QEMU's Cortex-A72: DebugVer 6, 6 breakpoints (2 context-aware), 4 watchpoints, double lock.
constexpr uint64_t kA72Dfr0 = 0x10305106;
const DebugLimits kA72 = limits_from_dfr0(kA72Dfr0);

constexpr uint64_t bcr(uint64_t pmc, uint64_t hmc, uint64_t ssc, uint64_t bt, uint64_t lbn = 0)
{
    return 1 | pmc << 1 | 0xfull << 5 | hmc << 13 | ssc << 14 | lbn << 16 | bt << 20;
}
constexpr uint64_t wcr(uint64_t pac, uint64_t lsc, uint64_t hmc, uint64_t ssc, uint64_t mask = 0)
{
    return 1 | pac << 1 | lsc << 3 | 0xffull << 5 | hmc << 13 | ssc << 14 | mask << 24;
}

constexpr uint32_t dbgbcr(unsigned n) { return sysreg_encoding(2, 0, 0, n, 5); }
constexpr uint32_t dbgbvr(unsigned n) { return sysreg_encoding(2, 0, 0, n, 4); }
constexpr uint32_t dbgwcr(unsigned n) { return sysreg_encoding(2, 0, 0, n, 7); }
constexpr uint32_t kMdscr = sysreg_encoding(2, 0, 0, 2, 2);
constexpr uint32_t kOslar = sysreg_encoding(2, 0, 1, 0, 4);
constexpr uint32_t kOslsr = sysreg_encoding(2, 0, 1, 1, 4);
constexpr uint32_t kOsdlr = sysreg_encoding(2, 0, 1, 3, 4);

TEST(DebugLimits, CountsComeFromDfr0)
{
    EXPECT_EQ(kA72.breakpoints, 6u);
    EXPECT_EQ(kA72.watchpoints, 4u);
    EXPECT_EQ(kA72.context_breakpoints, 2u);
    EXPECT_TRUE(kA72.double_lock);
    EXPECT_FALSE(kA72.context_aware(3));
    EXPECT_TRUE(kA72.context_aware(4)) << "the highest-numbered ones";
    EXPECT_TRUE(kA72.context_aware(5));
    EXPECT_FALSE(kA72.context_aware(6));
    const DebugLimits most = limits_from_dfr0(0xfull << 36 | 0xfull << 28 | 0xfull << 20 | 0xfull << 12);
    EXPECT_EQ(most.breakpoints, 16u);
    EXPECT_EQ(most.watchpoints, 16u);
    EXPECT_FALSE(most.double_lock) << "DoubleLock 0b1111: not implemented";
}

TEST(DebugRules, El1AndEl0BreakpointsReachTheHardwareAsWritten)
{
    for (uint64_t pmc = 1; pmc <= 3; pmc++) {
        EXPECT_EQ(bcr_for_hardware(bcr(pmc, 0, 0, 0), 0, kA72), bcr(pmc, 0, 0, 0));
        EXPECT_EQ(bcr_for_hardware(bcr(pmc, 0, 1, 0), 0, kA72), bcr(pmc, 0, 1, 0)) << "Non-secure only";
    }
}

TEST(DebugRules, HmcNeverReachesTheHardware)
{
    // HMC 1, SSC 00, PMC 11: EL2, EL1 and EL0; the hardware gets EL1 and EL0.
    EXPECT_EQ(bcr_for_hardware(bcr(3, 1, 0, 0), 0, kA72), bcr(3, 0, 0, 0));
    EXPECT_EQ(wcr_for_hardware(wcr(3, 3, 1, 1), kA72), wcr(3, 3, 0, 1));
    // The encodings that match at EL2 only (PMC 00) are disabled.
    for (uint64_t ssc = 0; ssc <= 3; ssc++) {
        EXPECT_EQ(bcr_for_hardware(bcr(0, 1, ssc, 0), 0, kA72), 0u) << "SSC " << ssc;
        EXPECT_EQ(wcr_for_hardware(wcr(0, 3, 1, ssc), kA72), 0u) << "SSC " << ssc;
    }
}

TEST(DebugRules, SecureOnlyAndReservedSecurityEncodingsAreDisabled)
{
    EXPECT_EQ(bcr_for_hardware(bcr(3, 0, 2, 0), 0, kA72), 0u);
    EXPECT_EQ(bcr_for_hardware(bcr(1, 0, 3, 0), 0, kA72), 0u);
    EXPECT_EQ(wcr_for_hardware(wcr(3, 3, 0, 2), kA72), 0u);
}

TEST(DebugRules, VmidAndEl2ContextBreakpointTypesAreDisabled)
{
    for (uint64_t bt = 4; bt <= 15; bt++) {
        EXPECT_EQ(bcr_for_hardware(bcr(3, 0, 0, bt), 5, kA72), 0u) << "BT " << bt;
    }
}

TEST(DebugRules, ContextIdBreakpointsOnlyOnContextAwareBreakpoints)
{
    EXPECT_EQ(bcr_for_hardware(bcr(3, 0, 0, 2), 4, kA72), bcr(3, 0, 0, 2));
    EXPECT_EQ(bcr_for_hardware(bcr(3, 0, 0, 3), 5, kA72), bcr(3, 0, 0, 3));
    EXPECT_EQ(bcr_for_hardware(bcr(3, 0, 0, 2), 3, kA72), 0u);
}

TEST(DebugRules, LinksMustNameAContextAwareBreakpoint)
{
    EXPECT_EQ(bcr_for_hardware(bcr(3, 0, 0, 1, 5), 0, kA72), bcr(3, 0, 0, 1, 5));
    EXPECT_EQ(bcr_for_hardware(bcr(3, 0, 0, 1, 2), 0, kA72), 0u);
    EXPECT_EQ(bcr_for_hardware(bcr(3, 0, 0, 1, 9), 0, kA72), 0u) << "past the last breakpoint";
    const uint64_t linked = wcr(3, 3, 0, 0) | 1ull << 20;
    EXPECT_EQ(wcr_for_hardware(linked | 4ull << 16, kA72), linked | 4ull << 16);
    EXPECT_EQ(wcr_for_hardware(linked | 1ull << 16, kA72), 0u);
}

TEST(DebugRules, ReservedWatchpointEncodingsAreDisabled)
{
    EXPECT_EQ(wcr_for_hardware(wcr(3, 0, 0, 0), kA72), 0u) << "LSC 00";
    EXPECT_EQ(wcr_for_hardware(wcr(3, 2, 0, 0, 1), kA72), 0u) << "MASK 1";
    EXPECT_EQ(wcr_for_hardware(wcr(3, 2, 0, 0, 2), kA72), 0u) << "MASK 2";
    EXPECT_EQ(wcr_for_hardware(wcr(3, 2, 0, 0, 12), kA72), wcr(3, 2, 0, 0, 12)) << "a 4 KiB range";
}

TEST(DebugRules, UndefinedBitsNeverReachTheHardware)
{
    EXPECT_EQ(bcr_for_hardware(bcr(3, 0, 0, 0) | ~kBcrFields, 0, kA72), bcr(3, 0, 0, 0));
    EXPECT_EQ(wcr_for_hardware(wcr(3, 3, 0, 0) | ~kWcrFields, kA72), wcr(3, 3, 0, 0));
}

TEST(DebugRules, OsLockTakesDebugExceptionsOutOfMdscr)
{
    DebugState s = {};
    s.mdscr = kMdscrSs | kMdscrKde | kMdscrMde | kMdscrTdcc | 1ull << 14 /* HDE */;
    EXPECT_EQ(mdscr_for_hardware(s), kMdscrGuest) << "no halting debug";
    EXPECT_TRUE(live(s));
    s.os_lock = true;
    EXPECT_EQ(mdscr_for_hardware(s), kMdscrTdcc);
    s.os_lock = false;
    s.double_lock = true;
    EXPECT_EQ(mdscr_for_hardware(s), kMdscrTdcc);
}

TEST(DebugRules, EnabledBreakpointsWithoutMdeAreNotLive)
{
    DebugState s = {};
    s.bcr[0] = bcr(3, 0, 0, 0);
    s.wcr[0] = wcr(3, 3, 0, 0);
    EXPECT_FALSE(live(s)) << "nothing can fire with MDSCR_EL1 clear: the hardware stays clean";
    s.mdscr = kMdscrTdcc;
    EXPECT_FALSE(live(s)) << "what Linux sets at boot: MDSCR_EL1 only";
    s.mdscr = kMdscrMde;
    EXPECT_TRUE(live(s));
    s.os_lock = true;
    EXPECT_FALSE(live(s));
}

TEST(DebugRegs, BreakpointsReadBackAsWritten)
{
    DebugState s = {};
    ASSERT_TRUE(debug_write(s, kA72, dbgbvr(5), 0x1237)); // a context ID: every bit counts
    ASSERT_TRUE(debug_write(s, kA72, dbgbcr(5), bcr(3, 1, 0, 0) | 1ull << 30));
    uint64_t v = 0;
    ASSERT_TRUE(debug_read(s, kA72, dbgbvr(5), v));
    EXPECT_EQ(v, 0x1237u);
    ASSERT_TRUE(debug_read(s, kA72, dbgbcr(5), v));
    EXPECT_EQ(v, bcr(3, 1, 0, 0)) << "HMC reads back; RES0 bit 30 does not";
}

TEST(DebugRegs, RefusedBreakpointsAndWatchpointsReadBackDisabled)
{
    DebugState s = {};
    uint64_t v = 0;
    ASSERT_TRUE(debug_write(s, kA72, dbgbcr(4), bcr(3, 0, 0, 8)));
    ASSERT_TRUE(debug_read(s, kA72, dbgbcr(4), v));
    EXPECT_EQ(v, bcr(3, 0, 0, 8) & ~kCrEnable) << "VMID match";
    ASSERT_TRUE(debug_write(s, kA72, dbgbcr(0), bcr(0, 1, 1, 0)));
    ASSERT_TRUE(debug_read(s, kA72, dbgbcr(0), v));
    EXPECT_EQ(v & kCrEnable, 0u) << "EL2 only";
    ASSERT_TRUE(debug_write(s, kA72, dbgwcr(3), wcr(0, 3, 1, 1)));
    ASSERT_TRUE(debug_read(s, kA72, dbgwcr(3), v));
    EXPECT_EQ(v & kCrEnable, 0u);
}

TEST(DebugRegs, WatchpointAddressesDropTheirRes0Bits)
{
    DebugState s = {};
    ASSERT_TRUE(debug_write(s, kA72, sysreg_encoding(2, 0, 0, 3, 6), 0x40001237));
    EXPECT_EQ(s.wvr[3], 0x40001234u);
}

TEST(DebugRegs, ComparatorsPastTheCountAreUndefined)
{
    DebugState s = {};
    uint64_t v = 0;
    EXPECT_TRUE(debug_read(s, kA72, dbgbcr(5), v));
    EXPECT_FALSE(debug_read(s, kA72, dbgbcr(6), v));
    EXPECT_FALSE(debug_write(s, kA72, dbgbvr(15), 0));
    EXPECT_TRUE(debug_write(s, kA72, dbgwcr(3), 0));
    EXPECT_FALSE(debug_write(s, kA72, dbgwcr(4), 0));
}

TEST(DebugRegs, OsLockIsPerStateAndReadThroughOslsr)
{
    DebugState s = {};
    uint64_t v = 0;
    ASSERT_TRUE(debug_read(s, kA72, kOslsr, v));
    EXPECT_EQ(v, 0x8u) << "OSLM 0b10, unlocked at reset";
    ASSERT_TRUE(debug_write(s, kA72, kOslar, 1));
    ASSERT_TRUE(debug_read(s, kA72, kOslsr, v));
    EXPECT_EQ(v, 0xau) << "OSLK";
    EXPECT_TRUE(s.os_lock);
    EXPECT_FALSE(debug_read(s, kA72, kOslar, v)) << "OSLAR_EL1 is write-only";
    EXPECT_FALSE(debug_write(s, kA72, kOslsr, 0)) << "OSLSR_EL1 is read-only";
    ASSERT_TRUE(debug_write(s, kA72, kOslar, 0));
    EXPECT_FALSE(s.os_lock);
}

TEST(DebugRegs, DoubleLockOnlyWhereImplemented)
{
    DebugState s = {};
    uint64_t v = 0;
    ASSERT_TRUE(debug_write(s, kA72, kOsdlr, 1));
    ASSERT_TRUE(debug_read(s, kA72, kOsdlr, v));
    EXPECT_EQ(v, 1u);
    DebugState t = {};
    const DebugLimits no_double_lock = limits_from_dfr0(kA72Dfr0 | 0xfull << 36);
    ASSERT_TRUE(debug_write(t, no_double_lock, kOsdlr, 1));
    ASSERT_TRUE(debug_read(t, no_double_lock, kOsdlr, v));
    EXPECT_EQ(v, 0u) << "RAZ/WI";
    EXPECT_FALSE(t.double_lock);
}

TEST(DebugRegs, MdscrKeepsOnlyTheSelfHostedDebugControls)
{
    DebugState s = {};
    ASSERT_TRUE(debug_write(s, kA72, kMdscr, ~0ull));
    uint64_t v = 0;
    ASSERT_TRUE(debug_read(s, kA72, kMdscr, v));
    EXPECT_EQ(v, kMdscrGuest);
}

TEST(DebugRegs, OtherDebugRegistersReadAsZeroAndIgnoreWrites)
{
    DebugState s = {};
    const uint32_t dbgclaimset = sysreg_encoding(2, 0, 7, 8, 6);
    const uint32_t dbgprcr = sysreg_encoding(2, 0, 1, 4, 4);
    uint64_t v = 1;
    EXPECT_TRUE(debug_write(s, kA72, dbgclaimset, 0xff));
    EXPECT_TRUE(debug_read(s, kA72, dbgclaimset, v));
    EXPECT_EQ(v, 0u);
    EXPECT_TRUE(debug_write(s, kA72, dbgprcr, 1));
    EXPECT_TRUE(debug_read(s, kA72, dbgprcr, v));
    EXPECT_EQ(v, 0u);
}

} // namespace
