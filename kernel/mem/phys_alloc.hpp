// The physical memory allocator: owns all RAM the DTB reports, minus
// Vireo's image, the DTB and reserved regions. Hands out aligned contiguous
// runs (guest RAM, stage-2 tables). Pure logic: host-tested.
#pragma once

#include <stddef.h>
#include <stdint.h>

class PhysAllocator {
public:
    static constexpr size_t kMaxRanges = 64;
    static constexpr uint64_t kPage = 4096;

    /// Adds [base, base + size) as free memory (page-aligned inwards).
    void add(uint64_t base, uint64_t size);
    /// Removes [base, base + size) from the free memory (page-aligned outwards).
    void reserve(uint64_t base, uint64_t size);

    /// `size` bytes aligned to `align` (a power of two, at least a page), from
    /// the lowest free range that fits; 0 when nothing fits.
    uint64_t alloc(uint64_t size, uint64_t align);
    /// Whether all of [base, base + size) is free (one free run holds it).
    bool is_free(uint64_t base, uint64_t size) const;
    /// Returns a run to the free memory, merging with its neighbours.
    void free(uint64_t base, uint64_t size);

    uint64_t free_bytes() const;
    size_t range_count() const { return count_; }
    /// The largest free run.
    uint64_t largest_free() const;

private:
    struct Range {
        uint64_t base;
        uint64_t end;
    };
    void insert(uint64_t base, uint64_t end);
    void remove_at(size_t index);

    Range ranges_[kMaxRanges] = {};
    size_t count_ = 0;
    bool overflowed_ = false;
};
