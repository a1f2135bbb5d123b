// Vireo's own coloured pages: chunks from the allocator, pages of its
// colours only, chunks given back when empty.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "kernel/mem/colour_pool.hpp"
#include "kernel/mem/colours.hpp"

namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kPage = 4096;

TEST(ColourPool, EveryPageIsOfTheSetAndNoneTwice)
{
    PhysAllocator mem;
    mem.add(0x40000000, 256 * kMiB);
    mem.reserve(0x40200000, 0x13000); // an image that leaves the free memory unaligned to a period
    ColourPool pool;
    const uint64_t set = 1ull << 3 | 1ull << 9;
    pool.init(set, 16);
    std::set<uint64_t> seen;
    for (int i = 0; i < 300; i++) { // more than one chunk's 128 pages of two colours
        const uint64_t pa = pool.alloc(mem, 1, 1);
        ASSERT_NE(pa, 0u);
        EXPECT_TRUE(set >> colours::of(pa, 16) & 1) << std::hex << pa;
        EXPECT_TRUE(seen.insert(pa).second) << "handed out twice: " << std::hex << pa;
        EXPECT_FALSE(mem.is_free(pa, kPage)) << "still free in the allocator";
    }
    EXPECT_EQ(pool.chunk_count(), 3u);
    EXPECT_EQ(pool.pages_in_use(), 300u);
    EXPECT_EQ(pool.chunk_bytes(), 4 * kMiB);
}

TEST(ColourPool, RunsNeedConsecutiveColoursAndTheirAlignment)
{
    PhysAllocator mem;
    mem.add(0x40000000, 64 * kMiB);
    ColourPool pool;
    pool.init(1ull << 14 | 1ull << 15, 16);
    EXPECT_TRUE(pool.fits(2, 2)) << "colours 14 and 15: a page pair aligned to 8 KiB";
    EXPECT_FALSE(pool.fits(3, 1));
    const uint64_t pair = pool.alloc(mem, 2, 2);
    ASSERT_NE(pair, 0u);
    EXPECT_EQ(pair % (2 * kPage), 0u);
    EXPECT_EQ(colours::of(pair, 16), 14u);

    ColourPool wrap;
    wrap.init(1ull << 15 | 1ull << 0, 16); // consecutive only across the period's end
    EXPECT_TRUE(wrap.fits(2, 1));
    EXPECT_FALSE(wrap.fits(2, 2)) << "15 then 0 starts at an odd page";
    EXPECT_EQ(wrap.alloc(mem, 2, 2), 0u);
    const uint64_t across = wrap.alloc(mem, 2, 1);
    ASSERT_NE(across, 0u);
    EXPECT_EQ(colours::of(across, 16), 15u);

    ColourPool off;
    EXPECT_FALSE(off.active());
    EXPECT_FALSE(off.fits(1, 1));
    EXPECT_EQ(off.alloc(mem, 1, 1), 0u);
}

TEST(ColourPool, EmptyChunksGoBackToTheAllocator)
{
    PhysAllocator mem;
    mem.add(0x40000000, 64 * kMiB);
    const uint64_t before = mem.free_bytes();
    ColourPool pool;
    pool.init(1ull << 5, 16);
    std::vector<uint64_t> pages;
    for (int i = 0; i < 100; i++) { // two chunks of 64 pages of colour 5
        pages.push_back(pool.alloc(mem, 1, 1));
        ASSERT_NE(pages.back(), 0u);
    }
    EXPECT_EQ(pool.chunk_count(), 2u);
    EXPECT_EQ(mem.free_bytes(), before - 2 * pool.chunk_bytes());
    // A page given back is the next one handed out.
    pool.free(mem, pages[10], 1);
    EXPECT_EQ(pool.alloc(mem, 1, 1), pages[10]);
    for (uint64_t pa : pages) {
        EXPECT_TRUE(pool.owns(pa));
        pool.free(mem, pa, 1);
    }
    EXPECT_EQ(pool.chunk_count(), 0u);
    EXPECT_EQ(mem.free_bytes(), before);
    EXPECT_EQ(mem.range_count(), 1u) << "merged back whole";
    pool.free(mem, 0x40000000, 1); // not the pool's: ignored
    EXPECT_EQ(mem.free_bytes(), before);
}

TEST(ColourPool, RunsOutWithTheAllocatorOrItsChunks)
{
    PhysAllocator mem;
    mem.add(0x40000000, 6 * kMiB); // room for one 4 MiB chunk
    ColourPool pool;
    pool.init(1ull << 0, 16);
    for (int i = 0; i < 64; i++) {
        ASSERT_NE(pool.alloc(mem, 1, 1), 0u);
    }
    EXPECT_EQ(pool.alloc(mem, 1, 1), 0u);
    EXPECT_EQ(pool.chunk_count(), 1u);

    PhysAllocator big;
    big.add(0x40000000, 1024 * kMiB);
    ColourPool many;
    many.init(1ull << 0, 16);
    for (size_t i = 0; i < ColourPool::kMaxChunks * 64; i++) {
        ASSERT_NE(many.alloc(big, 1, 1), 0u);
    }
    EXPECT_EQ(many.alloc(big, 1, 1), 0u) << "no room for a 33rd chunk";
}

} // namespace
