// Vireo's own pages when the configuration gives it colours (`vireo-colours`,
// docs/config.md "Cache colouring"): runs of physical memory ("chunks")
// taken whole from the allocator, each starting at colour 0, of which only
// the pages of Vireo's colours are handed out, so that Vireo's state shares
// no set of the last-level cache with a VM of other colours. Handing out
// single pages straight from the allocator instead would split one of its
// free ranges per page. A chunk goes back once none of its pages is in use.
// Pure logic over a PhysAllocator: host-tested.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/mem/phys_alloc.hpp"

class ColourPool {
public:
    static constexpr size_t kMaxChunks = 32;
    /// A chunk is this many periods of the cache's colours (4 MiB for 16
    /// colours), at most 64 * 64 pages: a 64-word bitmap.
    static constexpr uint64_t kPeriods = 64;

    /// Hands out pages of `set` (a mask of colours below `colours`, a power
    /// of two up to 64); an empty set turns the pool off.
    void init(uint64_t set, uint32_t colours);
    bool active() const { return set_ != 0; }
    uint64_t set() const { return set_; }

    /// Whether a run of `pages` consecutive pages aligned to `align_pages`
    /// (a power of two) can be of the set's colours at all: consecutive
    /// pages have consecutive colours.
    bool fits(size_t pages, size_t align_pages) const;
    /// Such a run, from a chunk it has or a new one taken from `phys`; 0
    /// when it cannot fit() or memory (or room for chunks) has run out.
    uint64_t alloc(PhysAllocator& phys, size_t pages, size_t align_pages);
    /// Gives back a run alloc() returned (its chunk to `phys` once empty).
    void free(PhysAllocator& phys, uint64_t pa, size_t pages);
    /// Whether `pa` lies in one of its chunks.
    bool owns(uint64_t pa) const { return chunk_of(pa) != nullptr; }

    size_t chunk_count() const { return count_; }
    uint64_t chunk_bytes() const { return kPeriods * colours_ * PhysAllocator::kPage; }
    uint64_t pages_in_use() const;

private:
    struct Chunk {
        uint64_t base;
        uint64_t used[kPeriods]; // a bit per page of the chunk
        uint64_t in_use;         // pages handed out
    };
    bool of_set(uint64_t page) const { return set_ >> (page % colours_) & 1; }
    /// The first page index of a free aligned run in `chunk`, or -1.
    int64_t find(const Chunk& chunk, size_t pages, size_t align_pages) const;
    void mark(Chunk& chunk, uint64_t first, size_t pages, bool used);
    const Chunk* chunk_of(uint64_t pa) const;
    Chunk* chunk_of(uint64_t pa) { return const_cast<Chunk*>(static_cast<const ColourPool*>(this)->chunk_of(pa)); }

    uint64_t set_ = 0;
    uint32_t colours_ = 0; // set by init(); all zero until then, so the pool is in .bss
    Chunk chunks_[kMaxChunks] = {};
    size_t count_ = 0;
};
