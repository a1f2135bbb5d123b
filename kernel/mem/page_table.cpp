#include "kernel/mem/page_table.hpp"

namespace {
constexpr uint64_t kEntries = 512;
constexpr uint64_t block_size(unsigned level) { return 1ull << level_shift(level); }
} // namespace

uint64_t PageTable::leaf_attributes(MemType type)
{
    switch (type) {
    case MemType::Normal: return pte::kAttrNormal << pte::kAttrIndxShift | pte::kApRes1 | pte::kShInner | pte::kAf;
    case MemType::Device: return pte::kAttrDevice << pte::kAttrIndxShift | pte::kApRes1 | pte::kAf | pte::kXn;
    case MemType::Unmapped: break;
    }
    return 0;
}

bool PageTable::init()
{
    root_ = alloc_.alloc();
    return root_ != nullptr;
}

uint64_t* PageTable::next_table(uint64_t* entry, unsigned level)
{
    const uint64_t old = *entry;
    if ((old & pte::kValid) && (old & pte::kTable)) {
        return alloc_.virt(old & pte::kAddrMask);
    }
    uint64_t* table = alloc_.alloc();
    if (table == nullptr) {
        return nullptr;
    }
    if (old & pte::kValid) {
        // Split a block into the same mapping one level down.
        const uint64_t child_size = block_size(level + 1);
        const uint64_t child_type = level + 1 == 3 ? pte::kTable : 0;
        for (uint64_t i = 0; i < kEntries; i++) {
            table[i] = (old + i * child_size) | child_type;
        }
    }
    // Break-before-make is not needed here: callers build tables that are
    // not live, or change mappings nobody is using (guard pages).
    *entry = alloc_.phys(table) | pte::kTable | pte::kValid;
    return table;
}

bool PageTable::map_level(uint64_t* table, unsigned level, uint64_t va, uint64_t pa, uint64_t size, MemType type)
{
    const uint64_t block = block_size(level);
    while (size > 0) {
        uint64_t* entry = &table[(va >> level_shift(level)) & (kEntries - 1)];
        const uint64_t chunk_end = (va & ~(block - 1)) + block;
        const uint64_t chunk = size < chunk_end - va ? size : chunk_end - va;
        // Level 1 and 2 may hold blocks; level 3 only pages.
        if (chunk == block && (pa & (block - 1)) == 0) {
            if (type == MemType::Unmapped) {
                *entry = 0;
            } else {
                *entry = (pa & pte::kAddrMask) | leaf_attributes(type) | pte::kValid | (level == 3 ? pte::kTable : 0);
            }
            // A table this entry replaced is left allocated: tables are
            // built once at boot and never freed.
        } else {
            uint64_t* next = next_table(entry, level);
            if (next == nullptr || !map_level(next, level + 1, va, pa, chunk, type)) {
                return false;
            }
        }
        va += chunk;
        pa += chunk;
        size -= chunk;
    }
    return true;
}

bool PageTable::map(uint64_t va, uint64_t pa, uint64_t size, MemType type)
{
    constexpr uint64_t kLimit = 1ull << kVaBits;
    if (root_ == nullptr || ((va | pa | size) & (kPageSize - 1)) != 0 || va >= kLimit || size > kLimit - va) {
        return false;
    }
    return map_level(root_, kFirstLevel, va, pa, size, type);
}

MemType PageTable::lookup(uint64_t va, uint64_t* pa, unsigned* level) const
{
    const uint64_t* table = root_;
    for (unsigned l = kFirstLevel; table != nullptr && l <= 3; l++) {
        const uint64_t entry = table[(va >> level_shift(l)) & (kEntries - 1)];
        if (!(entry & pte::kValid)) {
            return MemType::Unmapped;
        }
        if (l < 3 && (entry & pte::kTable)) {
            table = alloc_.virt(entry & pte::kAddrMask);
            continue;
        }
        if (l == 3 && !(entry & pte::kTable)) {
            return MemType::Unmapped; // reserved encoding at level 3
        }
        if (pa != nullptr) {
            *pa = (entry & pte::kAddrMask & ~(block_size(l) - 1)) | (va & (block_size(l) - 1));
        }
        if (level != nullptr) {
            *level = l;
        }
        const uint64_t index = (entry >> pte::kAttrIndxShift) & 7;
        return index == pte::kAttrDevice ? MemType::Device : MemType::Normal;
    }
    return MemType::Unmapped;
}
