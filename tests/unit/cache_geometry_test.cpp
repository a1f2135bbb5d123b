// The cache ID registers decoded (platform/cache_geometry.hpp): what the
// boot log reports and what page colours will be computed from.
#include <gtest/gtest.h>

#include "platform/cache_geometry.hpp"

namespace {

// Cortex-A72's registers as QEMU and the TRM give them: L1 separate
// instruction and data caches, L2 unified, LoC 2.
constexpr uint64_t kA72Clidr = 0x0a200023;
constexpr uint64_t kA72L1d = 0x701fe00a; // 32 KiB, 2 ways, 256 sets, 64-byte lines
constexpr uint64_t kA72L2 = 0x707fe07a;  // 1 MiB, 16 ways, 1024 sets, 64-byte lines

uint64_t a72_ccsidr(uint32_t level) { return level == 1 ? kA72L1d : kA72L2; }

TEST(CacheGeometry, TheLastLevelIsTheHighestDataOrUnifiedCacheUpToTheCoherencePoint)
{
    const CacheLevel llc = last_level_cache(kA72Clidr, false, a72_ccsidr);
    EXPECT_EQ(llc.level, 2u);
    EXPECT_TRUE(llc.unified);
    EXPECT_EQ(llc.line_bytes, 64u);
    EXPECT_EQ(llc.ways, 16u);
    EXPECT_EQ(llc.sets, 1024u);
    EXPECT_EQ(llc.bytes(), 1024u * 1024);
    EXPECT_EQ(llc.way_bytes(), 64u * 1024);
    EXPECT_EQ(page_colours(llc), 16u) << "64 KiB a way: 16 pages of 4 KiB";

    const uint64_t loc1 = (kA72Clidr & ~(uint64_t{7} << 24)) | uint64_t{1} << 24;
    const CacheLevel l1 = last_level_cache(loc1, false, a72_ccsidr);
    EXPECT_EQ(l1.level, 1u) << "levels beyond LoC are not counted";
    EXPECT_FALSE(l1.unified) << "L1 is separate instruction and data caches";
    EXPECT_EQ(l1.bytes(), 32u * 1024);
    EXPECT_EQ(page_colours(l1), 4u);
}

TEST(CacheGeometry, AnInstructionOnlyLevelIsSkipped)
{
    // L1 separate, L2 instruction only (type 1), L3 unified, LoC 3.
    const uint64_t clidr = uint64_t{3} << 24 | uint64_t{4} << 6 | uint64_t{1} << 3 | 3;
    uint32_t asked = 0;
    const CacheLevel llc = last_level_cache(clidr, false, [&](uint32_t level) {
        asked = level;
        return kA72L2;
    });
    EXPECT_EQ(llc.level, 3u);
    EXPECT_EQ(asked, 3u) << "CCSIDR read for the chosen level only";
    const uint64_t two_loc = (clidr & ~(uint64_t{7} << 24)) | uint64_t{2} << 24;
    EXPECT_EQ(last_level_cache(two_loc, false, a72_ccsidr).level, 1u) << "L2 holds no data";
}

TEST(CacheGeometry, Feat_CcidxLayoutHasWiderFields)
{
    // 64-bit CCSIDR_EL1: 8 MiB, 16 ways, 8192 sets, 64-byte lines.
    const uint64_t ccsidr = uint64_t{8191} << 32 | uint64_t{15} << 3 | 2;
    const CacheLevel c = decode_ccsidr(ccsidr, true, 3, true);
    EXPECT_EQ(c.sets, 8192u);
    EXPECT_EQ(c.ways, 16u);
    EXPECT_EQ(c.bytes(), 8u << 20);
    EXPECT_EQ(page_colours(c), 128u);
    EXPECT_NE(decode_ccsidr(ccsidr, false, 3, true).sets, 8192u) << "the 32-bit layout reads other bits";
}

TEST(CacheGeometry, NoCacheOrATinyWayGivesOneColour)
{
    EXPECT_EQ(last_level_cache(0, false, a72_ccsidr).level, 0u) << "CLIDR_EL1 with no cache";
    EXPECT_EQ(page_colours(CacheLevel{}), 1u);
    const CacheLevel tiny = decode_ccsidr(uint64_t{31} << 13 | uint64_t{3} << 3 | 2, false, 1, true); // 2 KiB ways
    EXPECT_EQ(tiny.way_bytes(), 2048u);
    EXPECT_EQ(page_colours(tiny), 1u);
}

} // namespace
