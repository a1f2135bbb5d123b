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
        for (uint64_t* run : runs_) {
            std::free(run);
        }
    }
    uint64_t* alloc(size_t pages) override
    {
        if (allocated_.size() + pages > pages_) {
            return nullptr;
        }
        // One host allocation, registered page by page so phys() and virt()
        // see consecutive fake physical addresses.
        auto* run = static_cast<uint64_t*>(std::aligned_alloc(4096 * pages, 4096 * pages));
        std::fill(run, run + 512 * pages, 0);
        while (allocated_.size() % pages != 0) {
            allocated_.push_back(nullptr); // keep the run's fake address aligned
        }
        for (size_t i = 0; i < pages; i++) {
            allocated_.push_back(run + 512 * i);
        }
        runs_.push_back(run);
        return run;
    }
    uint64_t phys(const uint64_t* table) const override
    {
        for (size_t i = 0; i < allocated_.size(); i++) {
            if (allocated_[i] == table && table != nullptr) {
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
    std::vector<uint64_t*> runs_;
};

constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kMiB = 1ull << 20;

TEST(PageTable, GigabyteAlignedRangeUsesLevelOneBlocks)
{
    FakeTables alloc(4);
    PageTable table(alloc, Regime::El2, 39);
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
    PageTable table(alloc, Regime::El2, 39);
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
    PageTable table(alloc, Regime::El2, 39);
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
    PageTable table(alloc, Regime::El2, 39);
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
    FakeTables alloc(1);
    const PageTable table(alloc, Regime::El2, 39);
    const uint64_t normal = table.leaf_attributes(MemType::Normal);
    const uint64_t device = table.leaf_attributes(MemType::Device);
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
    PageTable table(alloc, Regime::El2, 39);
    ASSERT_TRUE(table.init());
    EXPECT_FALSE(table.map(0x1001, 0x1000, 0x1000, MemType::Normal));
    EXPECT_FALSE(table.map(0x1000, 0x1000, 0x800, MemType::Normal));
    EXPECT_FALSE(table.map(1ull << 39, 0, 0x1000, MemType::Normal));
    EXPECT_FALSE(table.map((1ull << 39) - 0x1000, 0, 0x2000, MemType::Normal));
}

TEST(PageTable, ReportsExhaustedAllocator)
{
    FakeTables alloc(2);
    PageTable table(alloc, Regime::El2, 39);
    ASSERT_TRUE(table.init());
    // Needs a level-2 and a level-3 table: only one is left.
    EXPECT_FALSE(table.map(0x40001000, 0x40001000, 0x1000, MemType::Normal));
}

TEST(PageTable, UninitialisedTableRefusesToMap)
{
    FakeTables alloc(0);
    PageTable table(alloc, Regime::El2, 39);
    EXPECT_FALSE(table.init());
    EXPECT_FALSE(table.map(0, 0, 0x1000, MemType::Normal));
}

TEST(Stage2, FortyBitInputUsesTwoConcatenatedRootPages)
{
    FakeTables alloc(8);
    PageTable table(alloc, Regime::Stage2, 40);
    ASSERT_TRUE(table.init());
    EXPECT_EQ(table.root_pages(), 2u);
    // Above 512 GiB: an entry in the second root page.
    const uint64_t high = 0x9000000000ull;
    ASSERT_TRUE(table.map(high, 0x80000000, 2 * kMiB, MemType::Normal));
    uint64_t pa = 0;
    EXPECT_EQ(table.lookup(high + 0x1234, &pa), MemType::Normal);
    EXPECT_EQ(pa, 0x80001234u);
    EXPECT_EQ(table.lookup(high - 0x1000), MemType::Unmapped);
    EXPECT_FALSE(table.map(1ull << 40, 0, 0x1000, MemType::Normal)) << "beyond the IPA size";
}

TEST(Stage2, GuestRamDeviceAndReadOnlyMappings)
{
    FakeTables alloc(8);
    PageTable table(alloc, Regime::Stage2, 40);
    ASSERT_TRUE(table.init());
    // 64 MiB of guest RAM at IPA 0x40000000, backed by PA 0x50000000.
    ASSERT_TRUE(table.map(0x40000000, 0x50000000, 64 * kMiB, MemType::Normal));
    ASSERT_TRUE(table.map(0x08040000, 0x08040000, 0x2000, MemType::Device));
    ASSERT_TRUE(table.map(0x48000000, 0x60000000, 0x1000, MemType::NormalReadOnly));
    uint64_t pa = 0;
    unsigned level = 0;
    EXPECT_EQ(table.lookup(0x40000000 + 3 * kMiB + 8, &pa, &level), MemType::Normal);
    EXPECT_EQ(pa, 0x50000000u + 3 * kMiB + 8);
    EXPECT_EQ(level, 2u) << "2 MiB blocks for aligned RAM";
    EXPECT_EQ(table.lookup(0x08041000, &pa), MemType::Device);
    EXPECT_EQ(table.lookup(0x48000000, &pa), MemType::NormalReadOnly);
    EXPECT_EQ(pa, 0x60000000u);
    EXPECT_EQ(table.lookup(0x09000000), MemType::Unmapped) << "no device model: traps as MMIO";
    EXPECT_EQ(table.lookup(0x40000000 + 64 * kMiB), MemType::Unmapped);
}

TEST(Stage2, DescriptorsCarryStage2Attributes)
{
    FakeTables alloc(1);
    const PageTable table(alloc, Regime::Stage2, 40);
    const uint64_t ram = table.leaf_attributes(MemType::Normal);
    const uint64_t ro = table.leaf_attributes(MemType::NormalReadOnly);
    const uint64_t dev = table.leaf_attributes(MemType::Device);
    EXPECT_EQ((ram >> 2) & 0xf, 0xfu) << "MemAttr: Normal write-back";
    EXPECT_EQ((ram >> 6) & 3, 3u) << "S2AP read-write";
    EXPECT_EQ((ro >> 6) & 3, 1u) << "S2AP read-only";
    EXPECT_EQ((dev >> 2) & 0xf, 0x1u) << "MemAttr: Device-nGnRE";
    EXPECT_NE(dev & (1ull << 54), 0u) << "device memory never executable";
    EXPECT_EQ(ram & (1ull << 54), 0u);
}

TEST(Stage2, SmallIpaSizes)
{
    FakeTables alloc(4);
    PageTable table(alloc, Regime::Stage2, 36);
    ASSERT_TRUE(table.init());
    EXPECT_EQ(table.root_pages(), 1u);
    EXPECT_TRUE(table.map(0xf00000000ull, 0, kGiB, MemType::Normal));
    EXPECT_FALSE(table.map(0x1000000000ull, 0, kGiB, MemType::Normal));
    PageTable bad(alloc, Regime::Stage2, 44);
    EXPECT_FALSE(bad.init()) << "more than 40 bits is not supported";
}

} // namespace

TEST(Stage2, RamBlocksMappedLaterAllocateNothing)
{
    // How a VM's RAM is built (kernel/vm/ram.cpp): every 64 KiB block
    // mapped Unmapped first, so its level-3 entries exist; blocks are
    // mapped when first touched and unmapped again on a reset, through a
    // second PageTable over the same root, without allocating tables.
    constexpr uint64_t kBlock = 64 * 1024;
    FakeTables alloc(16);
    PageTable built(alloc, Regime::Stage2, 40);
    ASSERT_TRUE(built.init());
    for (uint64_t off = 0; off < 8 * kMiB; off += kBlock) {
        ASSERT_TRUE(built.map(0x40000000 + off, 0x80000000 + off, kBlock, MemType::Unmapped));
    }
    const size_t tables = alloc.used();
    EXPECT_EQ(tables, 2u + 1 + 4) << "two concatenated root pages, a level-2 table, a level-3 table per 2 MiB";
    EXPECT_EQ(built.lookup(0x40000000 + 3 * kMiB), MemType::Unmapped);
    PageTable live(alloc, Regime::Stage2, 40, built.root_phys());
    const uint64_t block = 0x40000000 + 3 * kMiB;
    ASSERT_TRUE(live.map(block, 0x80000000 + 3 * kMiB, kBlock, MemType::Normal));
    uint64_t pa = 0;
    unsigned level = 0;
    EXPECT_EQ(built.lookup(block + kBlock - 8, &pa, &level), MemType::Normal);
    EXPECT_EQ(pa, 0x80000000u + 3 * kMiB + kBlock - 8);
    EXPECT_EQ(level, 3u);
    EXPECT_EQ(built.lookup(block + kBlock), MemType::Unmapped) << "only the block touched";
    EXPECT_EQ(built.lookup(block - 8), MemType::Unmapped);
    ASSERT_TRUE(live.map(block, 0x80000000 + 3 * kMiB, kBlock, MemType::Unmapped));
    EXPECT_EQ(built.lookup(block), MemType::Unmapped);
    EXPECT_EQ(alloc.used(), tables) << "no table allocated after the build";
}

TEST(Stage2, NoExecTypesSetXnAndReadBackAsThemselves)
{
    FakeTables alloc(8);
    PageTable table(alloc, Regime::Stage2, 40);
    ASSERT_TRUE(table.init());
    ASSERT_TRUE(table.map(0x04000000, 0x60000000, 2 * kMiB, MemType::ReadOnlyNoExec));
    ASSERT_TRUE(table.map(0x100000000ull, 0x62000000, 0x10000, MemType::NormalNoExec));
    EXPECT_EQ(table.lookup(0x04000010), MemType::ReadOnlyNoExec);
    EXPECT_EQ(table.lookup(0x100000010ull), MemType::NormalNoExec);
    EXPECT_NE(table.leaf_attributes(MemType::ReadOnlyNoExec) & (1ull << 54), 0u) << "stage-2 XN";
    EXPECT_EQ((table.leaf_attributes(MemType::ReadOnlyNoExec) >> 6) & 3, 1u) << "S2AP read-only";
    EXPECT_EQ((table.leaf_attributes(MemType::NormalNoExec) >> 6) & 3, 3u) << "S2AP read-write";
    EXPECT_EQ(table.leaf_attributes(MemType::NormalReadOnly) & (1ull << 54), 0u) << "a ROM firmware runs from";
}

TEST(Stage2, CountsLeavesBySize)
{
    FakeTables alloc(8);
    PageTable table(alloc, Regime::Stage2, 40);
    ASSERT_TRUE(table.init());
    // 1 GiB + 4 MiB + 12 KiB at IPA 0x40000000, all aligned: one 1 GiB
    // block, two 2 MiB blocks, three pages.
    ASSERT_TRUE(table.map(0x40000000, 0x40000000, kGiB + 4 * kMiB + 0x3000, MemType::Normal));
    const PageTable::Leaves all = table.count(0x40000000, 2 * kGiB);
    EXPECT_EQ(all.blocks_1g, 1u);
    EXPECT_EQ(all.blocks_2m, 2u);
    EXPECT_EQ(all.pages, 3u);
    const PageTable::Leaves tail = table.count(0x80000000, 4 * kMiB + 0x2000);
    EXPECT_EQ(tail.blocks_1g, 0u);
    EXPECT_EQ(tail.blocks_2m, 2u);
    EXPECT_EQ(tail.pages, 2u) << "only the pages inside the range";
    const PageTable::Leaves none = table.count(0x100000000ull, kGiB);
    EXPECT_EQ(none.pages + none.blocks_2m + none.blocks_1g, 0u);
}

TEST(Stage2, UnalignedPhysicalRamStaysInPages)
{
    FakeTables alloc(8);
    PageTable table(alloc, Regime::Stage2, 40);
    ASSERT_TRUE(table.init());
    // IPA 2 MiB aligned, PA only 64 KiB aligned: no block can map it.
    ASSERT_TRUE(table.map(0x40000000, 0x50010000, 4 * kMiB, MemType::Normal));
    const PageTable::Leaves l = table.count(0x40000000, 4 * kMiB);
    EXPECT_EQ(l.pages, 1024u);
    EXPECT_EQ(l.blocks_2m, 0u);
}

TEST(Stage2, MappingOverATableKeepsTheTable)
{
    // A block over a live table would need break-before-make: map() maps
    // into the table instead; only unlink() takes a table away.
    FakeTables alloc(8);
    PageTable table(alloc, Regime::Stage2, 40);
    ASSERT_TRUE(table.init());
    ASSERT_TRUE(table.map(0x40000000, 0x80000000, 64 * 1024, MemType::Unmapped));
    const size_t tables = alloc.used();
    ASSERT_TRUE(table.map(0x40000000, 0x80000000, 2 * kMiB, MemType::Normal));
    unsigned level = 0;
    EXPECT_EQ(table.lookup(0x40000000 + kMiB, nullptr, &level), MemType::Normal);
    EXPECT_EQ(level, 3u);
    EXPECT_EQ(alloc.used(), tables);
}

TEST(Stage2, PromotionToABlockAndBackKeepsItsTable)
{
    // What kernel/vm/ram.cpp does with a 2 MiB region of lazily mapped
    // RAM: its level-3 table built Unmapped, pages mapped 64 KiB at a time,
    // the region promoted to one block once all of it is mapped, and on a
    // reset the block unmapped and the same table put back, empty.
    constexpr uint64_t kBlock = 64 * 1024;
    constexpr uint64_t ipa = 0x40000000 + 2 * kMiB;
    constexpr uint64_t pa = 0x80000000 + 2 * kMiB;
    FakeTables alloc(8);
    PageTable table(alloc, Regime::Stage2, 40);
    ASSERT_TRUE(table.init());
    for (uint64_t off = 0; off < 4 * kMiB; off += kBlock) {
        ASSERT_TRUE(table.map(0x40000000 + off, 0x80000000 + off, kBlock, MemType::Unmapped));
    }
    const size_t tables = alloc.used();
    for (int reset = 0; reset < 3; reset++) {
        for (uint64_t off = 0; off < 2 * kMiB; off += kBlock) {
            ASSERT_TRUE(table.map(ipa + off, pa + off, kBlock, MemType::Normal));
        }
        EXPECT_EQ(table.count(ipa, 2 * kMiB).pages, 512u);
        EXPECT_EQ(table.unlink(ipa, 3), 0u) << "a page is not a table";
        const uint64_t pages = table.unlink(ipa, 2);
        ASSERT_NE(pages, 0u);
        EXPECT_EQ(table.lookup(ipa), MemType::Unmapped) << "the break: the region unmapped";
        EXPECT_EQ(table.unlink(ipa, 2), 0u) << "nothing left to unlink";
        ASSERT_TRUE(table.map(ipa, pa, 2 * kMiB, MemType::Normal));
        unsigned level = 0;
        uint64_t out = 0;
        EXPECT_EQ(table.lookup(ipa + 0x1234, &out, &level), MemType::Normal);
        EXPECT_EQ(level, 2u);
        EXPECT_EQ(out, pa + 0x1234);
        const PageTable::Leaves promoted = table.count(0x40000000, 4 * kMiB);
        EXPECT_EQ(promoted.blocks_2m, 1u);
        EXPECT_EQ(promoted.pages, 0u) << "the other region untouched";
        // forget_ram: everything Unmapped, then the table relinked, empty.
        ASSERT_TRUE(table.map(0x40000000, 0x80000000, 4 * kMiB, MemType::Unmapped));
        EXPECT_EQ(table.lookup(ipa), MemType::Unmapped);
        EXPECT_FALSE(table.relink(0x40000000, 2, pages)) << "the first region still has its table";
        ASSERT_TRUE(table.relink(ipa, 2, pages));
        const PageTable::Leaves forgotten = table.count(0x40000000, 4 * kMiB);
        EXPECT_EQ(forgotten.pages + forgotten.blocks_2m, 0u) << "the relinked table holds no stale pages";
        EXPECT_EQ(alloc.used(), tables) << "no table allocated after the build, reset " << reset;
    }
}
