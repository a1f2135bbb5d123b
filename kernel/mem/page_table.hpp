// A 4 KiB-granule translation table builder for two regimes: Vireo's own
// EL2 stage-1 map and each VM's stage-2 map (Arm ARM D8.3: VMSAv8-64
// descriptors; D8.5: memory attributes and permissions). Pure logic over a
// table allocator, so host tests build tables in fake memory and walk them.
#pragma once

#include <stddef.h>
#include <stdint.h>

enum class MemType : uint8_t {
    Unmapped,       // invalid descriptor: any access faults (guard pages, MMIO traps)
    Normal,         // write-back cacheable, inner shareable, read-write, executable
    NormalReadOnly, // as Normal, writes fault (stage 2 only)
    NormalNoExec,   // as Normal, instruction fetches fault (stage 2 only)
    ReadOnlyNoExec, // as NormalReadOnly, instruction fetches fault (stage 2 only)
    Device,         // Device-nGnRE, never executable
};

enum class Regime : uint8_t {
    El2,    // stage 1 of the EL2 translation regime (Vireo's own map)
    Stage2, // a VM's intermediate-physical to physical map
};

/// Hands out zeroed, 4 KiB-aligned runs of pages for tables and translates
/// between the address the table walker sees and a pointer Vireo can write.
class TableAllocator {
public:
    /// `pages` contiguous pages aligned to their size; nullptr when exhausted.
    virtual uint64_t* alloc(size_t pages) = 0;
    virtual uint64_t phys(const uint64_t* table) const = 0;
    virtual uint64_t* virt(uint64_t phys) const = 0;

protected:
    ~TableAllocator() = default;
};

namespace pte {
constexpr uint64_t kValid = 1ull << 0;
constexpr uint64_t kTable = 1ull << 1;  // table (levels 0-2) or page (level 3)
constexpr unsigned kAttrShift = 2;      // stage 1: AttrIndx[4:2]; stage 2: MemAttr[5:2]
constexpr uint64_t kApRes1 = 1ull << 6; // stage 1 EL2: AP[1] is RES1
constexpr uint64_t kS2apRead = 1ull << 6;
constexpr uint64_t kS2apWrite = 1ull << 7;
constexpr uint64_t kShInner = 3ull << 8;
constexpr uint64_t kAf = 1ull << 10;
constexpr uint64_t kXn = 1ull << 54;
constexpr uint64_t kAddrMask = 0x0000fffffffff000ull;

// MAIR_EL2 attribute indices (see kMair).
constexpr uint64_t kAttrNormal = 0;
constexpr uint64_t kAttrDevice = 1;
/// Attr0: Normal, inner/outer write-back read/write-allocate; Attr1: Device-nGnRE.
constexpr uint64_t kMair = 0xffull | (0x04ull << 8);

// Stage-2 MemAttr (D8.5.5): Normal outer and inner write-back; Device-nGnRE.
constexpr uint64_t kS2Normal = 0xf;
constexpr uint64_t kS2Device = 0x1;
} // namespace pte

/// Tables start at level 1 (1 GiB blocks), then 2 MiB blocks and 4 KiB
/// pages. Input addresses may have 32 to 40 bits; 40 bits use two
/// concatenated level-1 tables (stage 2 only, D8.2.6).
class PageTable {
public:
    static constexpr unsigned kFirstLevel = 1;
    static constexpr uint64_t kPageSize = 4096;
    static constexpr unsigned kEl2VaBits = 39;

    PageTable(TableAllocator& alloc, Regime regime, unsigned input_bits)
        : alloc_(alloc), regime_(regime), input_bits_(input_bits)
    {
    }
    /// The tables under an existing root (from root_phys()), to change them.
    PageTable(TableAllocator& alloc, Regime regime, unsigned input_bits, uint64_t root_phys)
        : alloc_(alloc), regime_(regime), input_bits_(input_bits), root_(alloc.virt(root_phys))
    {
    }

    /// Allocates the root table; false when the allocator is empty or the
    /// input size is out of range for the regime.
    bool init();
    uint64_t root_phys() const { return alloc_.phys(root_); }
    unsigned input_bits() const { return input_bits_; }
    size_t root_pages() const;

    /// Maps [va, va + size) to [pa, ...) as `type`, splitting existing blocks
    /// where needed. Addresses and size must be page-aligned and inside the
    /// input range. False if the allocator ran out or the arguments are bad.
    /// Where a table already exists the mapping goes into it (allocating
    /// nothing), even for a chunk a block could map: replacing a live table
    /// by a block needs break-before-make, which is unlink()'s caller's.
    bool map(uint64_t va, uint64_t pa, uint64_t size, MemType type);

    /// Break-before-make's "break" for a block of level `level` (1 or 2) at
    /// `va`: the entry that points to a table becomes invalid. Returns the
    /// table's address (still allocated, still holding its descriptors, for
    /// relink()), 0 if the entry was not a table. The caller invalidates
    /// the TLBs, then map()s the block over the invalid entry.
    uint64_t unlink(uint64_t va, unsigned level);
    /// Makes the invalid level-`level` entry at `va` point to `table` (from
    /// unlink()), cleared first: everything under it unmapped. The table
    /// must be out of every walker's reach (unlinked, TLBs invalidated).
    bool relink(uint64_t va, unsigned level, uint64_t table);

    /// Valid leaf descriptors met walking [va, va + size), by size.
    struct Leaves {
        uint64_t pages = 0;     // 4 KiB, level 3
        uint64_t blocks_2m = 0; // level 2
        uint64_t blocks_1g = 0; // level 1
    };
    Leaves count(uint64_t va, uint64_t size) const;

    /// Walks the tables as the hardware would: the output address and type
    /// for `va`, MemType::Unmapped where there is no mapping.
    MemType lookup(uint64_t va, uint64_t* pa = nullptr, unsigned* level = nullptr) const;

    uint64_t leaf_attributes(MemType type) const;

    /// Calls visit(pa) with the physical address of each page of its
    /// tables the walker can reach: the root's pages, then the tables below.
    template <typename Visit> void for_each_table_page(Visit&& visit) const
    {
        for (size_t i = 0; i < root_pages(); i++) {
            visit(root_phys() + i * kPageSize);
        }
        visit_below(root_, root_pages() * kEntries, kFirstLevel, visit);
    }

private:
    static constexpr size_t kEntries = kPageSize / sizeof(uint64_t);
    template <typename Visit>
    void visit_below(const uint64_t* table, size_t entries, unsigned level, Visit& visit) const
    {
        for (size_t i = 0; level < 3 && i < entries; i++) {
            if ((table[i] & (pte::kValid | pte::kTable)) == (pte::kValid | pte::kTable)) {
                const uint64_t pa = table[i] & pte::kAddrMask;
                visit(pa);
                visit_below(alloc_.virt(pa), kEntries, level + 1, visit);
            }
        }
    }

    bool map_level(uint64_t* table, unsigned level, uint64_t va, uint64_t pa, uint64_t size, MemType type);
    uint64_t* next_table(uint64_t* entry, unsigned level);
    /// The entry the walk for `va` ends at: a leaf, an invalid entry, or the
    /// entry at level `stop` (in `level`); nullptr outside the input range.
    uint64_t* walk(uint64_t va, unsigned stop, unsigned* level) const;
    size_t root_index(uint64_t va) const;

    TableAllocator& alloc_;
    Regime regime_;
    unsigned input_bits_;
    uint64_t* root_ = nullptr;
};

constexpr unsigned level_shift(unsigned level) { return 12 + 9 * (3 - level); }
