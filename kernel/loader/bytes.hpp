// Little-endian fields of the binary formats guests come in (the arm64
// Image header, Vireo packages), read a byte at a time: the data may sit at
// any alignment, and the reads must not depend on the CPU's endianness.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace bytes {

inline uint64_t load_le(const uint8_t* p, size_t width)
{
    uint64_t value = 0;
    for (size_t i = width; i-- > 0;) {
        value = value << 8 | p[i];
    }
    return value;
}

inline uint32_t load_le32(const uint8_t* p) { return static_cast<uint32_t>(load_le(p, 4)); }

/// A big-endian 32-bit value (a device-tree cell).
inline uint32_t load_be32(const uint8_t* p)
{
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint64_t load_le64(const uint8_t* p) { return load_le(p, 8); }

/// `value` rounded up / down to a multiple of `align` (a power of two).
/// align_up saturates instead of wrapping: callers compare the result.
constexpr uint64_t align_down(uint64_t value, uint64_t align) { return value & ~(align - 1); }
constexpr uint64_t align_up(uint64_t value, uint64_t align)
{
    return value > UINT64_MAX - (align - 1) ? align_down(UINT64_MAX, align) : align_down(value + align - 1, align);
}

} // namespace bytes
