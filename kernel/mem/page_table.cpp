#include "kernel/mem/page_table.hpp"

namespace {
constexpr uint64_t block_size(unsigned level) { return 1ull << level_shift(level); }
} // namespace

uint64_t PageTable::leaf_attributes(MemType type) const
{
    if (regime_ == Regime::El2) {
        switch (type) {
        case MemType::Normal:
        case MemType::NormalReadOnly:
        case MemType::NormalNoExec:
        case MemType::ReadOnlyNoExec:
            return pte::kAttrNormal << pte::kAttrShift | pte::kApRes1 | pte::kShInner | pte::kAf;
        case MemType::Device: return pte::kAttrDevice << pte::kAttrShift | pte::kApRes1 | pte::kAf | pte::kXn;
        case MemType::Unmapped: break;
        }
        return 0;
    }
    switch (type) {
    case MemType::Normal:
        return pte::kS2Normal << pte::kAttrShift | pte::kS2apRead | pte::kS2apWrite | pte::kShInner | pte::kAf;
    case MemType::NormalReadOnly: return pte::kS2Normal << pte::kAttrShift | pte::kS2apRead | pte::kShInner | pte::kAf;
    // Stage-2 XN (bit 54, XN[1] with FEAT_XNX, XN[0] = 0): no EL1 or EL0
    // instruction fetch from the page (D8.5.8).
    case MemType::NormalNoExec: return leaf_attributes(MemType::Normal) | pte::kXn;
    case MemType::ReadOnlyNoExec: return leaf_attributes(MemType::NormalReadOnly) | pte::kXn;
    case MemType::Device:
        return pte::kS2Device << pte::kAttrShift | pte::kS2apRead | pte::kS2apWrite | pte::kAf | pte::kXn;
    case MemType::Unmapped: break;
    }
    return 0;
}

size_t PageTable::root_pages() const { return input_bits_ > 39 ? size_t{1} << (input_bits_ - 39) : 1; }

size_t PageTable::root_index(uint64_t va) const { return va >> level_shift(kFirstLevel); }

bool PageTable::init()
{
    const unsigned max_bits = regime_ == Regime::El2 ? 39 : 40;
    if (input_bits_ < 32 || input_bits_ > max_bits) {
        return false;
    }
    root_ = alloc_.alloc(root_pages());
    return root_ != nullptr;
}

uint64_t* PageTable::next_table(uint64_t* entry, unsigned level)
{
    const uint64_t old = *entry;
    if ((old & pte::kValid) && (old & pte::kTable)) {
        return alloc_.virt(old & pte::kAddrMask);
    }
    uint64_t* table = alloc_.alloc(1);
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
    // Callers build tables that are not live yet, or change mappings nobody
    // is using (guard pages), or flush the TLB afterwards (stage 2).
    *entry = alloc_.phys(table) | pte::kTable | pte::kValid;
    return table;
}

bool PageTable::map_level(uint64_t* table, unsigned level, uint64_t va, uint64_t pa, uint64_t size, MemType type)
{
    const uint64_t block = block_size(level);
    while (size > 0) {
        const size_t index = level == kFirstLevel ? root_index(va) : (va >> level_shift(level)) & (kEntries - 1);
        uint64_t* entry = &table[index];
        const uint64_t chunk_end = (va & ~(block - 1)) + block;
        const uint64_t chunk = size < chunk_end - va ? size : chunk_end - va;
        const bool table_below = level < 3 && (*entry & pte::kValid) && (*entry & pte::kTable);
        if (chunk == block && (pa & (block - 1)) == 0 && !table_below) {
            // Level 1 and 2 hold blocks, level 3 pages.
            *entry = type == MemType::Unmapped
                         ? 0
                         : (pa & pte::kAddrMask) | leaf_attributes(type) | pte::kValid | (level == 3 ? pte::kTable : 0);
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
    const uint64_t limit = 1ull << input_bits_;
    if (root_ == nullptr || ((va | pa | size) & (kPageSize - 1)) != 0 || va >= limit || size > limit - va) {
        return false;
    }
    return map_level(root_, kFirstLevel, va, pa, size, type);
}

uint64_t* PageTable::walk(uint64_t va, unsigned stop, unsigned* level) const
{
    if (root_ == nullptr || va >= (1ull << input_bits_)) {
        return nullptr;
    }
    uint64_t* table = root_;
    for (unsigned l = kFirstLevel;; l++) {
        const size_t index = l == kFirstLevel ? root_index(va) : (va >> level_shift(l)) & (kEntries - 1);
        uint64_t* entry = &table[index];
        if (l == stop || l == 3 || (*entry & (pte::kValid | pte::kTable)) != (pte::kValid | pte::kTable)) {
            *level = l;
            return entry;
        }
        table = alloc_.virt(*entry & pte::kAddrMask);
    }
}

uint64_t PageTable::unlink(uint64_t va, unsigned level)
{
    unsigned at = 0;
    uint64_t* entry = walk(va, level, &at);
    const uint64_t old = entry != nullptr ? *entry : 0;
    if (at != level || level == 3 || (old & (pte::kValid | pte::kTable)) != (pte::kValid | pte::kTable)) {
        return 0;
    }
    *entry = 0;
    return old & pte::kAddrMask;
}

bool PageTable::relink(uint64_t va, unsigned level, uint64_t table)
{
    unsigned at = 0;
    uint64_t* entry = walk(va, level, &at);
    if (entry == nullptr || at != level || level == 3 || (*entry & pte::kValid) || table == 0) {
        return false;
    }
    uint64_t* below = alloc_.virt(table);
    for (uint64_t i = 0; i < kEntries; i++) {
        below[i] = 0;
    }
    *entry = table | pte::kTable | pte::kValid;
    return true;
}

PageTable::Leaves PageTable::count(uint64_t va, uint64_t size) const
{
    Leaves leaves;
    const uint64_t end = va + size;
    while (va < end) {
        unsigned level = 0;
        const uint64_t* entry = walk(va, 3, &level);
        if (entry == nullptr) {
            break;
        }
        if ((*entry & pte::kValid) && (level < 3 || (*entry & pte::kTable))) {
            (level == 1 ? leaves.blocks_1g : level == 2 ? leaves.blocks_2m : leaves.pages)++;
        }
        va = (va & ~(block_size(level) - 1)) + block_size(level); // past what this entry maps
    }
    return leaves;
}

MemType PageTable::lookup(uint64_t va, uint64_t* pa, unsigned* level) const
{
    unsigned l = 0;
    const uint64_t* found = walk(va, 3, &l);
    if (found == nullptr) {
        return MemType::Unmapped;
    }
    const uint64_t entry = *found;
    if (!(entry & pte::kValid)) {
        return MemType::Unmapped;
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
    const uint64_t attr = (entry >> pte::kAttrShift) & 0xf;
    if (regime_ == Regime::El2) {
        return (attr & 7) == pte::kAttrDevice ? MemType::Device : MemType::Normal;
    }
    if (attr != pte::kS2Normal) {
        return MemType::Device;
    }
    if (entry & pte::kXn) {
        return (entry & pte::kS2apWrite) ? MemType::NormalNoExec : MemType::ReadOnlyNoExec;
    }
    return (entry & pte::kS2apWrite) ? MemType::Normal : MemType::NormalReadOnly;
}
