// A 4 KiB-granule translation table builder for the EL2 stage-1 regime
// (Arm ARM D8.3: VMSAv8-64 descriptors). Pure logic over a table allocator,
// so host tests can build tables in fake memory and walk them.
#pragma once

#include <stddef.h>
#include <stdint.h>

enum class MemType : uint8_t {
    Unmapped, // invalid descriptor: any access faults (guard pages)
    Normal,   // write-back cacheable, inner shareable, executable
    Device,   // Device-nGnRE, never executable
};

/// Hands out zeroed, 4 KiB-aligned pages for tables and translates between
/// the address the table walker sees and a pointer Vireo can write through.
class TableAllocator {
public:
    virtual uint64_t* alloc() = 0; // nullptr when exhausted
    virtual uint64_t phys(const uint64_t* table) const = 0;
    virtual uint64_t* virt(uint64_t phys) const = 0;

protected:
    ~TableAllocator() = default;
};

namespace pte {
constexpr uint64_t kValid = 1ull << 0;
constexpr uint64_t kTable = 1ull << 1; // table (levels 0-2) or page (level 3)
constexpr unsigned kAttrIndxShift = 2;
constexpr uint64_t kApRes1 = 1ull << 6; // AP[1] is RES1 in the EL2 regime
constexpr unsigned kShShift = 8;
constexpr uint64_t kShInner = 3ull << kShShift;
constexpr uint64_t kAf = 1ull << 10;
constexpr uint64_t kXn = 1ull << 54;
constexpr uint64_t kAddrMask = 0x0000fffffffff000ull;

// MAIR_EL2 attribute indices (see kMair).
constexpr uint64_t kAttrNormal = 0;
constexpr uint64_t kAttrDevice = 1;
/// Attr0: Normal, inner/outer write-back read/write-allocate; Attr1: Device-nGnRE.
constexpr uint64_t kMair = 0xffull | (0x04ull << 8);
} // namespace pte

/// Translation regime with 39-bit input addresses: levels 1-3, 1 GiB and
/// 2 MiB blocks, 4 KiB pages.
class PageTable {
public:
    static constexpr unsigned kVaBits = 39;
    static constexpr unsigned kFirstLevel = 1;
    static constexpr uint64_t kPageSize = 4096;

    explicit PageTable(TableAllocator& alloc) : alloc_(alloc) {}

    /// Allocates the root table; false when the allocator is empty.
    bool init();
    uint64_t root_phys() const { return alloc_.phys(root_); }

    /// Maps [va, va + size) to [pa, ...) as `type`, splitting existing blocks
    /// where needed. Addresses and size must be page-aligned and below 2^39.
    /// Returns false if the allocator ran out or the arguments are invalid.
    bool map(uint64_t va, uint64_t pa, uint64_t size, MemType type);

    /// Walks the tables: the output address and type for `va`, as hardware
    /// would see them. Returns MemType::Unmapped where there is no mapping.
    MemType lookup(uint64_t va, uint64_t* pa = nullptr, unsigned* level = nullptr) const;

    static uint64_t leaf_attributes(MemType type);

private:
    bool map_level(uint64_t* table, unsigned level, uint64_t va, uint64_t pa, uint64_t size, MemType type);
    uint64_t* next_table(uint64_t* entry, unsigned level);

    TableAllocator& alloc_;
    uint64_t* root_ = nullptr;
};

constexpr unsigned level_shift(unsigned level) { return 12 + 9 * (3 - level); }
