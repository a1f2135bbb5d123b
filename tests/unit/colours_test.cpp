// Cache colouring's arithmetic (kernel/mem/colours.hpp): which physical
// pages a coloured VM's RAM takes.
#include <gtest/gtest.h>

#include "kernel/mem/colours.hpp"

namespace {

TEST(Colours, EveryPageOfAColouredVmHasOneOfItsColours)
{
    constexpr uint32_t kColours = 16;
    const uint64_t set = 0b1000'0000'0110'0001; // 0, 5, 6, 15
    const uint64_t run = 0x48000000;            // 16-page aligned
    const uint64_t pages = (8ull << 20) / colours::kPage;
    uint64_t previous = 0;
    for (uint64_t i = 0; i < pages; i++) {
        const uint64_t pa = colours::page_pa(run, set, kColours, i);
        ASSERT_TRUE(set >> colours::of(pa, kColours) & 1) << "page " << i;
        ASSERT_GT(pa, previous) << "pages in address order, none twice";
        ASSERT_LT(pa, run + colours::run_bytes(8ull << 20, set, kColours)) << "inside the run";
        previous = pa;
    }
    EXPECT_EQ(colours::run_bytes(8ull << 20, set, kColours), 32ull << 20) << "4 of 16 colours: 4 times the RAM";
    EXPECT_EQ(colours::page_pa(run, set, kColours, 0), run);
    EXPECT_EQ(colours::page_pa(run, set, kColours, 1), run + 5 * colours::kPage);
    EXPECT_EQ(colours::page_pa(run, set, kColours, 4), run + 16 * colours::kPage) << "the next period";
}

TEST(Colours, RunsRoundUpToWholePeriods)
{
    EXPECT_EQ(colours::run_bytes(3 * colours::kPage, 0b11, 4), 2 * 4 * colours::kPage) << "3 pages, 2 a period";
    EXPECT_EQ(colours::run_bytes(1ull << 20, 0, 16), 0u) << "no colours, no run";
    EXPECT_EQ(colours::run_bytes(1ull << 20, 0xffff, 16), 1ull << 20) << "all colours: the RAM itself";
}

TEST(Colours, LargeCachesAreColouredInSixtyFour)
{
    EXPECT_EQ(colours::usable(16), 16u);
    EXPECT_EQ(colours::usable(128), 64u);
    // Disjoint sets modulo 64 stay disjoint modulo 128.
    for (uint64_t page = 0; page < 1024; page++) {
        for (uint64_t other = 0; other < 1024; other += 7) {
            if (page % 64 != other % 64) {
                ASSERT_NE(page % 128, other % 128);
            }
        }
    }
}

TEST(Colours, DescribedAsFoldedRanges)
{
    char text[64];
    EXPECT_STREQ(colours::describe(0b1111, text, sizeof text), "0-3");
    EXPECT_STREQ(colours::describe(0b1'0110'0001, text, sizeof text), "0,5-6,8");
    EXPECT_STREQ(colours::describe(uint64_t{1} << 63 | uint64_t{3} << 10, text, sizeof text), "10-11,63");
    EXPECT_STREQ(colours::describe(0, text, sizeof text), "");
    EXPECT_STREQ(colours::describe(~0ull, text, 4), "0-6") << "cut to the buffer";
}

} // namespace
