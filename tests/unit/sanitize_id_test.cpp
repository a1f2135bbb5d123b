// What guests read from ID registers: features Vireo does not switch per
// vCPU are hidden, everything else passes through.
#include <gtest/gtest.h>

#include "kernel/devices/sysreg/sysreg_emul.hpp"

using sysreg_emul::sanitize_id;
using vcpu::sysreg_encoding;

namespace {

constexpr uint64_t field(uint64_t value, unsigned lsb) { return (value >> lsb) & 0xf; }

TEST(SanitizeId, Pfr0HidesSveAmuMpamAndEl2)
{
    // -cpu max: SVE 1, AMU 1, MPAM 1, EL2 1, AdvSIMD/FP 1, GIC 1.
    const uint64_t hw = 1ull << 32 | 1ull << 44 | 1ull << 40 | 1ull << 8 | 1ull << 24 | 0x11;
    const uint64_t v = sanitize_id(sysreg_encoding(3, 0, 0, 4, 0), hw);
    EXPECT_EQ(field(v, 32), 0u) << "SVE";
    EXPECT_EQ(field(v, 44), 0u) << "AMU";
    EXPECT_EQ(field(v, 40), 0u) << "MPAM";
    EXPECT_EQ(field(v, 8), 0u) << "EL2";
    EXPECT_EQ(field(v, 24), 1u) << "GIC system registers stay";
    EXPECT_EQ(v & 0xff, 0x11u) << "EL0/EL1 AArch64 stay";
}

TEST(SanitizeId, Isar1HidesPointerAuthenticationOnly)
{
    const uint64_t hw = 0x0211'1111'1111'1111ull;
    const uint64_t v = sanitize_id(sysreg_encoding(3, 0, 0, 6, 1), hw);
    EXPECT_EQ(field(v, 4), 0u) << "APA";
    EXPECT_EQ(field(v, 8), 0u) << "API";
    EXPECT_EQ(field(v, 24), 0u) << "GPA";
    EXPECT_EQ(field(v, 28), 0u) << "GPI";
    EXPECT_EQ(field(v, 0), 1u) << "DPB stays";
    EXPECT_EQ(field(v, 20), 1u) << "LRCPC stays";
}

TEST(SanitizeId, Pfr1HidesMteAndSme)
{
    const uint64_t v = sanitize_id(sysreg_encoding(3, 0, 0, 4, 1), 0x0000'0000'0100'0221ull);
    EXPECT_EQ(field(v, 8), 0u) << "MTE";
    EXPECT_EQ(field(v, 24), 0u) << "SME";
    EXPECT_EQ(field(v, 0), 1u) << "BT stays";
    EXPECT_EQ(field(v, 4), 2u) << "SSBS stays";
}

TEST(SanitizeId, DebugFeaturesHideTraceAndProfiling)
{
    const uint64_t v = sanitize_id(sysreg_encoding(3, 0, 0, 5, 0), 0x1111'1111'f051'5196ull);
    EXPECT_EQ(field(v, 8), 1u) << "PMUVer: PMUv3, the virtual PMU's";
    EXPECT_EQ(field(v, 4), 0u) << "TraceVer";
    EXPECT_EQ(field(v, 32), 0u) << "PMSVer";
    EXPECT_EQ(field(v, 40), 0u) << "TraceFilt";
    EXPECT_EQ(field(v, 44), 0u) << "TraceBuffer";
    EXPECT_EQ(field(v, 52), 0u) << "BRBE";
    EXPECT_EQ(field(v, 56), 0u) << "ExtTrcBuff";
    EXPECT_EQ(field(v, 0), 6u) << "DebugVer stays";
}

TEST(SanitizeId, PmuVersionIsCappedAndItsExtrasHidden)
{
    const uint32_t dfr0 = sysreg_encoding(3, 0, 0, 5, 0);
    // -cpu max: PMUv3p5 (6), PMU snapshots, SEBEP and HPMN0 present.
    const uint64_t max = 1ull << 60 | 1ull << 24 | 1ull << 16 | 6ull << 8 | 0x6;
    const uint64_t v = sanitize_id(dfr0, max);
    EXPECT_EQ(field(v, 8), 4u) << "PMUVer capped at PMUv3p1";
    EXPECT_EQ(field(v, 16), 0u) << "PMSS";
    EXPECT_EQ(field(v, 24), 0u) << "SEBEP";
    EXPECT_EQ(field(v, 60), 0u) << "HPMN0";
    EXPECT_EQ(field(sanitize_id(dfr0, 0xfull << 8), 8), 0u) << "an IMPLEMENTATION DEFINED PMU: none";
    EXPECT_EQ(field(sanitize_id(dfr0, 0x6), 8), 0u) << "no PMU: none";
}

TEST(SanitizeId, Dfr1OffersNothing)
{
    // Every field set, as a CPU with FEAT_Debugv8p9 (64 breakpoints), a
    // System PMU, PMICNTR, ABLE, ITE, EBEP and DPFZS could report.
    const uint64_t v = sanitize_id(sysreg_encoding(3, 0, 0, 5, 1), 0x1111111111f3f3f1ull);
    EXPECT_EQ(v, 0u) << "no extended breakpoints or watchpoints, no System PMU, no fixed instruction counter";
    EXPECT_EQ(sanitize_id(sysreg_encoding(3, 0, 0, 5, 1), ~0ull), 0u);
}

TEST(SanitizeId, DebugFeaturesReportTheRealBreakpointsAndWatchpoints)
{
    // QEMU's Cortex-A72: 6 breakpoints, 2 of them context-aware, 4 watchpoints.
    const uint64_t v = sanitize_id(sysreg_encoding(3, 0, 0, 5, 0), 0x10305106ull);
    EXPECT_EQ(field(v, 12), 5u) << "BRPs";
    EXPECT_EQ(field(v, 20), 3u) << "WRPs";
    EXPECT_EQ(field(v, 28), 1u) << "CTX_CMPs";
    EXPECT_EQ(field(v, 36), 0u) << "DoubleLock implemented";
}

TEST(SanitizeId, SveAndSmeFeatureRegistersReadAsZero)
{
    EXPECT_EQ(sanitize_id(sysreg_encoding(3, 0, 0, 4, 4), ~0ull), 0u);
    EXPECT_EQ(sanitize_id(sysreg_encoding(3, 0, 0, 4, 5), ~0ull), 0u);
}

TEST(SanitizeId, OtherRegistersPassThrough)
{
    EXPECT_EQ(sanitize_id(sysreg_encoding(3, 0, 0, 7, 0), 0x1122334455667788ull), 0x1122334455667788ull)
        << "ID_AA64MMFR0_EL1";
    EXPECT_EQ(sanitize_id(sysreg_encoding(3, 0, 0, 6, 0), 0x1234ull), 0x1234ull) << "ID_AA64ISAR0_EL1";
}

} // namespace
