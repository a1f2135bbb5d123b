#include "kernel/mem/phys_alloc.hpp"

namespace {
uint64_t align_up(uint64_t value, uint64_t align) { return (value + align - 1) & ~(align - 1); }
uint64_t align_down(uint64_t value, uint64_t align) { return value & ~(align - 1); }
} // namespace

void PhysAllocator::remove_at(size_t index)
{
    for (size_t i = index; i + 1 < count_; i++) {
        ranges_[i] = ranges_[i + 1];
    }
    count_--;
}

void PhysAllocator::insert(uint64_t base, uint64_t end)
{
    if (base >= end) {
        return;
    }
    // Keep the ranges sorted and disjoint; merge with touching neighbours.
    size_t i = 0;
    while (i < count_ && ranges_[i].end < base) {
        i++;
    }
    if (i < count_ && ranges_[i].base <= end) {
        if (base < ranges_[i].base) {
            ranges_[i].base = base;
        }
        if (end > ranges_[i].end) {
            ranges_[i].end = end;
        }
        while (i + 1 < count_ && ranges_[i + 1].base <= ranges_[i].end) {
            if (ranges_[i + 1].end > ranges_[i].end) {
                ranges_[i].end = ranges_[i + 1].end;
            }
            remove_at(i + 1);
        }
        return;
    }
    if (count_ == kMaxRanges) {
        overflowed_ = true; // the memory is lost, not corrupted
        return;
    }
    for (size_t j = count_; j > i; j--) {
        ranges_[j] = ranges_[j - 1];
    }
    ranges_[i] = {base, end};
    count_++;
}

void PhysAllocator::add(uint64_t base, uint64_t size) { insert(align_up(base, kPage), align_down(base + size, kPage)); }

bool PhysAllocator::is_free(uint64_t base, uint64_t size) const
{
    for (size_t i = 0; i < count_; i++) {
        if (ranges_[i].base <= base && base < ranges_[i].end && size <= ranges_[i].end - base) {
            return true;
        }
    }
    return false;
}

void PhysAllocator::reserve(uint64_t base, uint64_t size)
{
    const uint64_t start = align_down(base, kPage);
    const uint64_t end = align_up(base + size, kPage);
    for (size_t i = 0; i < count_;) {
        Range& r = ranges_[i];
        if (r.end <= start || r.base >= end) {
            i++;
            continue;
        }
        if (r.base >= start && r.end <= end) {
            remove_at(i);
            continue;
        }
        if (r.base < start && r.end > end) {
            const uint64_t tail = r.end;
            r.end = start;
            insert(end, tail);
            return;
        }
        if (r.base < start) {
            r.end = start;
        } else {
            r.base = end;
        }
        i++;
    }
}

uint64_t PhysAllocator::alloc(uint64_t size, uint64_t align)
{
    if (size == 0 || align < kPage || (align & (align - 1)) != 0) {
        return 0;
    }
    size = align_up(size, kPage);
    for (size_t i = 0; i < count_; i++) {
        const uint64_t base = align_up(ranges_[i].base, align);
        if (base >= ranges_[i].base && base < ranges_[i].end && ranges_[i].end - base >= size) {
            reserve(base, size);
            return base;
        }
    }
    return 0;
}

void PhysAllocator::free(uint64_t base, uint64_t size) { insert(base, base + align_up(size, kPage)); }

uint64_t PhysAllocator::free_bytes() const
{
    uint64_t total = 0;
    for (size_t i = 0; i < count_; i++) {
        total += ranges_[i].end - ranges_[i].base;
    }
    return total;
}

uint64_t PhysAllocator::largest_free() const
{
    uint64_t largest = 0;
    for (size_t i = 0; i < count_; i++) {
        if (ranges_[i].end - ranges_[i].base > largest) {
            largest = ranges_[i].end - ranges_[i].base;
        }
    }
    return largest;
}
