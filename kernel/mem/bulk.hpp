// Copying and clearing memory: the hypervisor's memcpy, memmove and memset
// (newlib's -Os ones go a byte at a time), and clearing guest RAM to the
// point of coherency. General-purpose registers only, as all hypervisor
// code.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace bulk {

// A word at a time, aligned accesses only (kernel/mem/copy.cpp).

/// Copies `size` bytes; the ranges must not overlap.
void copy(void* dst, const void* src, size_t size);
/// Copies `size` bytes; the ranges may overlap.
void move(void* dst, const void* src, size_t size);
/// Sets [dst, dst + size) to `byte`.
void fill(void* dst, uint8_t byte, size_t size);
/// Zeroes [dst, dst + size).
inline void zero(void* dst, size_t size) { fill(dst, 0, size); }

/// Zeroes [dst, dst + size) and cleans it to the point of coherency, in
/// one pass (a cache line zeroed, then cleaned): for memory a guest may
/// read with its caches off. `dst` and `size` must be multiples of 128.
void zero_to_poc(void* dst, size_t size);

} // namespace bulk
