// The physical memory allocator: RAM minus what must not be handed out.
#include <gtest/gtest.h>

#include "kernel/mem/phys_alloc.hpp"

namespace {

constexpr uint64_t kMiB = 1ull << 20;

TEST(PhysAllocator, ReservedRegionsAreNeverHandedOut)
{
    PhysAllocator mem;
    mem.add(0x40000000, 1024 * kMiB);
    mem.reserve(0x40200000, 0xab000);  // the hypervisor image
    mem.reserve(0x48000000, 0x100000); // the DTB
    EXPECT_EQ(mem.free_bytes(), 1024 * kMiB - 0xab000 - 0x100000);
    for (int i = 0; i < 200; i++) {
        const uint64_t page = mem.alloc(4096, 4096);
        ASSERT_NE(page, 0u);
        EXPECT_FALSE(page >= 0x40200000 && page < 0x402ab000) << std::hex << page;
        EXPECT_FALSE(page >= 0x48000000 && page < 0x48100000) << std::hex << page;
    }
}

TEST(PhysAllocator, AlignedRunsForBlockMappings)
{
    PhysAllocator mem;
    mem.add(0x40000000, 256 * kMiB);
    mem.reserve(0x40200000, 0x10000);
    const uint64_t run = mem.alloc(64 * kMiB, 2 * kMiB);
    EXPECT_EQ(run % (2 * kMiB), 0u);
    EXPECT_GE(run, 0x40400000u) << "not over the reserved image";
    const uint64_t small = mem.alloc(4096, 4096);
    EXPECT_EQ(small, 0x40000000u) << "lowest fit first";
}

TEST(PhysAllocator, FreeMergesNeighboursBack)
{
    PhysAllocator mem;
    mem.add(0x80000000, 16 * kMiB);
    const uint64_t a = mem.alloc(4 * kMiB, 4096);
    const uint64_t b = mem.alloc(4 * kMiB, 4096);
    EXPECT_EQ(mem.free_bytes(), 8 * kMiB);
    mem.free(a, 4 * kMiB);
    mem.free(b, 4 * kMiB);
    EXPECT_EQ(mem.range_count(), 1u);
    EXPECT_EQ(mem.largest_free(), 16 * kMiB);
}

TEST(PhysAllocator, ExhaustionReturnsZero)
{
    PhysAllocator mem;
    mem.add(0x1000, 0x3000);
    EXPECT_EQ(mem.alloc(0x4000, 4096), 0u);
    EXPECT_NE(mem.alloc(0x3000, 4096), 0u);
    EXPECT_EQ(mem.alloc(4096, 4096), 0u);
    EXPECT_EQ(mem.alloc(4096, 3000), 0u) << "alignment must be a power of two and at least a page";
}

TEST(PhysAllocator, BanksAreTrimmedToPages)
{
    PhysAllocator mem;
    mem.add(0x1800, 0x3000); // 0x1800..0x4800 -> 0x2000..0x4000
    EXPECT_EQ(mem.free_bytes(), 0x2000u);
    mem.reserve(0x2fff, 2); // touches two pages
    EXPECT_EQ(mem.free_bytes(), 0u);
}

TEST(PhysAllocator, ReserveInTheMiddleSplitsARange)
{
    PhysAllocator mem;
    mem.add(0x0, 0x10000);
    mem.reserve(0x4000, 0x1000);
    EXPECT_EQ(mem.range_count(), 2u);
    EXPECT_EQ(mem.free_bytes(), 0xf000u);
    EXPECT_EQ(mem.largest_free(), 0xb000u);
}

} // namespace

TEST(PhysAllocator, IsFreeOnlyWithinOneFreeRun)
{
    PhysAllocator a;
    a.add(0x40000000, 0x10000000);
    a.reserve(0x40200000, 0x100000); // Vireo's image, say
    EXPECT_TRUE(a.is_free(0x40000000, 0x200000));
    EXPECT_FALSE(a.is_free(0x40000000, 0x300000)) << "runs into the reserved range";
    EXPECT_TRUE(a.is_free(0x40300000, 0xfd00000)) << "up to the end of the bank";
    EXPECT_FALSE(a.is_free(0x40300000, 0xfd01000)) << "past it";
    EXPECT_FALSE(a.is_free(0x30000000, 0x1000)) << "not RAM";
    EXPECT_FALSE(a.is_free(0x4ffff000, ~0ull)) << "no overflow";
}
