// The EL2 stage-1 table builder, over fake memory: built tables are walked
// the way the MMU would walk them.
#include <cstdint>
#include <cstdlib>
#include <gtest/gtest.h>
#include <vector>

#include "kernel/mem/page_table.hpp"

namespace {

/// Table pages in host memory, given fake physical addresses from 0x80000000.
class FakeTables final : public TableAllocator {
public:
    explicit FakeTables(size_t pages) : pages_(pages) {}
    ~FakeTables()
    {
        for (uint64_t* page : allocated_) {
            std::free(page);
        }
    }
    uint64_t* alloc() override
    {
        if (allocated_.size() == pages_) {
            return nullptr;
        }
        auto* page = static_cast<uint64_t*>(std::aligned_alloc(4096, 4096));
        std::fill(page, page + 512, 0);
        allocated_.push_back(page);
        return page;
    }
    uint64_t phys(const uint64_t* table) const override
    {
        for (size_t i = 0; i < allocated_.size(); i++) {
            if (allocated_[i] == table) {
                return kBase + i * 4096;
            }
        }
        ADD_FAILURE() << "phys() of a table this allocator did not hand out";
        return 0;
    }
    uint64_t* virt(uint64_t phys) const override
    {
        const size_t index = (phys - kBase) / 4096;
        EXPECT_LT(index, allocated_.size()) << "descriptor points outside the table pool";
        return index < allocated_.size() ? allocated_[index] : nullptr;
    }
    size_t used() const { return allocated_.size(); }

private:
    static constexpr uint64_t kBase = 0x80000000;
    size_t pages_;
    std::vector<uint64_t*> allocated_;
};

constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kMiB = 1ull << 20;

TEST(PageTable, GigabyteAlignedRangeUsesLevelOneBlocks)
{
    FakeTables alloc(4);
    PageTable table(alloc);
    ASSERT_TRUE(table.init());
    ASSERT_TRUE(table.map(0, 0, 4 * kGiB, MemType::Device));
    unsigned level = 0;
    uint64_t pa = 0;
    EXPECT_EQ(table.lookup(0x09000000, &pa, &level), MemType::Device);
    EXPECT_EQ(pa, 0x09000000u);
    EXPECT_EQ(level, 1u);
    EXPECT_EQ(alloc.used(), 1u) << "only the root table";
    EXPECT_EQ(table.lookup(4 * kGiB), MemType::Unmapped);
}

TEST(PageTable, RamOverDeviceSplitsOnlyWhereNeeded)
{
    FakeTables alloc(8);
    PageTable table(alloc);
    ASSERT_TRUE(table.init());
    ASSERT_TRUE(table.map(0, 0, 8 * kGiB, MemType::Device));
    // 1 GiB + 6 MiB of RAM at 0x40000000: one 1 GiB block, then 2 MiB blocks.
    ASSERT_TRUE(table.map(0x40000000, 0x40000000, kGiB + 6 * kMiB, MemType::Normal));
    unsigned level = 0;
    EXPECT_EQ(table.lookup(0x40001000, nullptr, &level), MemType::Normal);
    EXPECT_EQ(level, 1u);
    EXPECT_EQ(table.lookup(0x80000000 + 5 * kMiB, nullptr, &level), MemType::Normal);
    EXPECT_EQ(level, 2u);
    EXPECT_EQ(table.lookup(0x80000000 + 6 * kMiB, nullptr, &level), MemType::Device)
        << "the rest of the split block keeps the old mapping";
    EXPECT_EQ(level, 2u);
    EXPECT_EQ(table.lookup(0x09000000), MemType::Device);
    EXPECT_EQ(alloc.used(), 2u);
}

TEST(PageTable, GuardPageIsUnmappedBetweenMappedNeighbours)
{
    FakeTables alloc(8);
    PageTable table(alloc);
    ASSERT_TRUE(table.init());
    ASSERT_TRUE(table.map(0x40000000, 0x40000000, kGiB, MemType::Normal));
    const uint64_t guard = 0x40263000;
    ASSERT_TRUE(table.map(guard, guard, 4096, MemType::Unmapped));
    unsigned level = 0;
    EXPECT_EQ(table.lookup(guard), MemType::Unmapped);
    EXPECT_EQ(table.lookup(guard + 0xfff), MemType::Unmapped);
    EXPECT_EQ(table.lookup(guard - 1, nullptr, &level), MemType::Normal);
    EXPECT_EQ(level, 3u);
    uint64_t pa = 0;
    EXPECT_EQ(table.lookup(guard + 4096 + 0x10, &pa), MemType::Normal);
    EXPECT_EQ(pa, guard + 4096 + 0x10);
    EXPECT_EQ(table.lookup(0x40000000 + 512 * kMiB, nullptr, &level), MemType::Normal);
    EXPECT_EQ(level, 2u);
}

TEST(PageTable, NonIdentityMappingTranslates)
{
    FakeTables alloc(4);
    PageTable table(alloc);
    ASSERT_TRUE(table.init());
    ASSERT_TRUE(table.map(0x1000, 0x7654000, 0x2000, MemType::Normal));
    uint64_t pa = 0;
    EXPECT_EQ(table.lookup(0x1abc, &pa), MemType::Normal);
    EXPECT_EQ(pa, 0x7654abcu);
    EXPECT_EQ(table.lookup(0x2fff, &pa), MemType::Normal);
    EXPECT_EQ(pa, 0x7655fffu);
    EXPECT_EQ(table.lookup(0x3000), MemType::Unmapped);
}

TEST(PageTable, DescriptorsCarryArchitecturalAttributes)
{
    const uint64_t normal = PageTable::leaf_attributes(MemType::Normal);
    const uint64_t device = PageTable::leaf_attributes(MemType::Device);
    EXPECT_EQ((normal >> 2) & 7, 0u) << "MAIR index 0: write-back";
    EXPECT_EQ((normal >> 8) & 3, 3u) << "inner shareable";
    EXPECT_NE(normal & (1ull << 10), 0u) << "access flag set, or the first access faults";
    EXPECT_EQ(normal & (1ull << 54), 0u) << "RAM is executable (Vireo runs from it)";
    EXPECT_EQ((device >> 2) & 7, 1u) << "MAIR index 1: Device-nGnRE";
    EXPECT_NE(device & (1ull << 54), 0u) << "device memory is never executable";
    EXPECT_EQ(pte::kMair & 0xff, 0xffu);
    EXPECT_EQ((pte::kMair >> 8) & 0xff, 0x04u);
}

TEST(PageTable, RejectsUnalignedOrOutOfRangeRequests)
{
    FakeTables alloc(4);
    PageTable table(alloc);
    ASSERT_TRUE(table.init());
    EXPECT_FALSE(table.map(0x1001, 0x1000, 0x1000, MemType::Normal));
    EXPECT_FALSE(table.map(0x1000, 0x1000, 0x800, MemType::Normal));
    EXPECT_FALSE(table.map(1ull << 39, 0, 0x1000, MemType::Normal));
    EXPECT_FALSE(table.map((1ull << 39) - 0x1000, 0, 0x2000, MemType::Normal));
}

TEST(PageTable, ReportsExhaustedAllocator)
{
    FakeTables alloc(2);
    PageTable table(alloc);
    ASSERT_TRUE(table.init());
    // Needs a level-2 and a level-3 table: only one is left.
    EXPECT_FALSE(table.map(0x40001000, 0x40001000, 0x1000, MemType::Normal));
}

TEST(PageTable, UninitialisedTableRefusesToMap)
{
    FakeTables alloc(0);
    PageTable table(alloc);
    EXPECT_FALSE(table.init());
    EXPECT_FALSE(table.map(0, 0, 0x1000, MemType::Normal));
}

} // namespace
