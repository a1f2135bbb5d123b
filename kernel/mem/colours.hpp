// Cache colouring's arithmetic (docs/architecture.md, "Caches"): a page's
// colour is its page number modulo the colours the last-level cache gives,
// so pages of different colours never share a set of that cache. A
// coloured VM's RAM is taken from a run of physical memory whose first page
// has colour 0, only the pages of the VM's colours, in order. Pure: the host
// unit tests call it.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace colours {

constexpr uint64_t kPage = 4096;
/// Colour sets are 64-bit masks. A cache with more colours is coloured in
/// 64: pages whose numbers differ modulo 64 also differ modulo any larger
/// power of two, so VMs of disjoint sets still share no set of the cache.
constexpr uint32_t kMaxColours = 64;

/// The colours Vireo colours with, from the cache's (a power of two).
constexpr uint32_t usable(uint32_t cache_colours) { return cache_colours < kMaxColours ? cache_colours : kMaxColours; }

/// The colours in `set` (a loop: __builtin_popcountll is a libgcc call on
/// FP/SIMD registers, which the hypervisor must not touch).
constexpr uint32_t count(uint64_t set)
{
    uint32_t n = 0;
    for (; set != 0; set &= set - 1) {
        n++;
    }
    return n;
}

/// The colour of the page at physical address `pa`.
constexpr uint32_t of(uint64_t pa, uint32_t colours) { return static_cast<uint32_t>((pa / kPage) % colours); }

/// Bytes of the run a VM of `ram_bytes` (whole pages) with colour set
/// `set` (of `colours`) takes its pages from: one period of `colours` pages
/// gives it count(set) of them.
constexpr uint64_t run_bytes(uint64_t ram_bytes, uint64_t set, uint32_t colours)
{
    const uint64_t pages = ram_bytes / kPage;
    const uint64_t per_period = count(set);
    return per_period == 0 ? 0 : (pages + per_period - 1) / per_period * colours * kPage;
}

/// The physical address of the VM's page `index` (its RAM's index-th
/// page) in the run at `run_pa` (aligned to colours * kPage, so that its
/// first page has colour 0).
inline uint64_t page_pa(uint64_t run_pa, uint64_t set, uint32_t colours, uint64_t index)
{
    const uint32_t per_period = count(set);
    const uint64_t period = index / per_period;
    uint32_t nth = static_cast<uint32_t>(index % per_period);
    uint64_t rest = set;
    while (nth-- > 0) {
        rest &= rest - 1; // drop the lowest colour
    }
    const auto colour = static_cast<uint32_t>(__builtin_ctzll(rest));
    return run_pa + (period * colours + colour) * kPage;
}

/// `set` as text, ranges folded: "0-3,8,10-11". Returns `out`.
inline char* describe(uint64_t set, char* out, size_t size)
{
    size_t used = 0;
    auto put = [&](char c) {
        if (used + 1 < size) {
            out[used++] = c;
        }
    };
    auto number = [&](uint32_t n) {
        if (n >= 10) {
            put(static_cast<char>('0' + n / 10));
        }
        put(static_cast<char>('0' + n % 10));
    };
    for (uint32_t c = 0; c < kMaxColours; c++) {
        if (!(set >> c & 1)) {
            continue;
        }
        uint32_t last = c;
        while (last + 1 < kMaxColours && (set >> (last + 1) & 1)) {
            last++;
        }
        if (used != 0) {
            put(',');
        }
        number(c);
        if (last != c) {
            put('-');
            number(last);
        }
        c = last;
    }
    if (size != 0) {
        out[used] = 0;
    }
    return out;
}

} // namespace colours
