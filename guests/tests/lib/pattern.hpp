// Memory patterns for the DMA tests (pcidma, pcivirtio): a run of 64-bit
// words derived from a seed, written and checked in place, so that a
// transfer that should not have happened shows as a changed word.
#pragma once

#include <stdint.h>

namespace guest::pattern {

inline volatile uint64_t* words(uint64_t address) { return reinterpret_cast<volatile uint64_t*>(address); }
inline uint64_t word(uint64_t seed, uint64_t i) { return seed ^ (i * 0x9e3779b97f4a7c15ull); }

/// Fills [address, address + bytes) with the words of `seed`.
inline void fill(uint64_t address, uint64_t bytes, uint64_t seed)
{
    for (uint64_t i = 0; i < bytes / 8; i++) {
        words(address)[i] = word(seed, i);
    }
}

/// Whether [address, address + bytes) still holds the words of `seed`.
inline bool holds(uint64_t address, uint64_t bytes, uint64_t seed)
{
    bool same = true;
    for (uint64_t i = 0; i < bytes / 8; i++) {
        same = same && words(address)[i] == word(seed, i);
    }
    return same;
}

} // namespace guest::pattern
