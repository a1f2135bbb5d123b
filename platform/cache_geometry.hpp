// The CPU's caches as its ID registers describe them (Arm ARM D23.2:
// CLIDR_EL1, CCSIDR_EL1, CSSELR_EL1), decoded into values: pure, so the host
// unit tests call it. The last-level cache's way size over the page size is
// the number of page colours (issue 25: cache colouring): two physical pages
// of different colours never share a set of that cache.
#pragma once

#include <stdint.h>

/// One cache level's data or unified cache.
struct CacheLevel {
    uint32_t level = 0; // 1 to 7
    bool unified = false;
    uint32_t line_bytes = 0;
    uint32_t ways = 0;
    uint32_t sets = 0;

    constexpr uint64_t way_bytes() const { return uint64_t{sets} * line_bytes; }
    constexpr uint64_t bytes() const { return way_bytes() * ways; }
};

/// CLIDR_EL1.Ctype<level> (level 1 to 7): 0 none, 1 instruction only, 2 data
/// only, 3 separate instruction and data, 4 unified.
constexpr uint32_t cache_type(uint64_t clidr, uint32_t level)
{
    return level >= 1 && level <= 7 ? static_cast<uint32_t>((clidr >> (3 * (level - 1))) & 7) : 0;
}

/// Whether `level` has a data or unified cache (one CCSIDR_EL1 describes it).
constexpr bool has_data_cache(uint64_t clidr, uint32_t level)
{
    const uint32_t type = cache_type(clidr, level);
    return type == 2 || type == 3 || type == 4;
}

/// One CCSIDR_EL1 value: the 32-bit layout, or FEAT_CCIDX's 64-bit one
/// (ID_AA64MMFR2_EL1.CCIDX = 1: Associativity [23:3], NumSets [55:32]).
constexpr CacheLevel decode_ccsidr(uint64_t ccsidr, bool ccidx, uint32_t level, bool unified)
{
    CacheLevel c;
    c.level = level;
    c.unified = unified;
    c.line_bytes = 16u << (ccsidr & 7); // LineSize: log2(bytes) - 4
    if (ccidx) {
        c.ways = static_cast<uint32_t>((ccsidr >> 3) & 0x1fffff) + 1;
        c.sets = static_cast<uint32_t>((ccsidr >> 32) & 0xffffff) + 1;
    } else {
        c.ways = static_cast<uint32_t>((ccsidr >> 3) & 0x3ff) + 1;
        c.sets = static_cast<uint32_t>((ccsidr >> 13) & 0x7fff) + 1;
    }
    return c;
}

/// The last level (the highest numbered, up to CLIDR_EL1.LoC) with a data
/// or unified cache; `ccsidr(level)` reads CCSIDR_EL1 for its data side.
/// level 0 when the CPU reports none.
template <typename ReadCcsidr> CacheLevel last_level_cache(uint64_t clidr, bool ccidx, ReadCcsidr ccsidr)
{
    const auto loc = static_cast<uint32_t>((clidr >> 24) & 7); // the levels to the point of coherency
    for (uint32_t level = loc; level >= 1; level--) {
        if (has_data_cache(clidr, level)) {
            return decode_ccsidr(ccsidr(level), ccidx, level, cache_type(clidr, level) == 4);
        }
    }
    return {};
}

/// Page colours of 4 KiB pages in `llc`: its way size over the page size,
/// at least 1 (a way smaller than a page gives colouring nothing to split).
constexpr uint32_t page_colours(const CacheLevel& llc)
{
    const uint64_t colours = llc.way_bytes() / 4096;
    return colours > 1 ? static_cast<uint32_t>(colours) : 1;
}
