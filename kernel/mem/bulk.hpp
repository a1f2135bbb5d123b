// Bulk memory for loading guests: clearing and copying megabytes at a time
// (newlib's -Os memset and memcpy go a byte at a time). General-purpose
// registers only, as all hypervisor code.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace bulk {

/// Sets [dst, dst + size) to `byte`, 64 bytes a step where 16-byte aligned.
void fill(void* dst, uint8_t byte, size_t size);
/// Zeroes [dst, dst + size), as fill().
void zero(void* dst, size_t size);
/// Zeroes [dst, dst + size) and cleans it to the point of coherency, in
/// one pass (a cache line zeroed, then cleaned): for memory a guest may
/// read with its caches off. `dst` and `size` must be multiples of 128.
void zero_to_poc(void* dst, size_t size);
/// Copies `size` bytes; the ranges must not overlap.
void copy(void* dst, const void* src, size_t size);

} // namespace bulk
