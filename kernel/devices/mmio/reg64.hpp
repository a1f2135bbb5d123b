// A 64-bit device register that the architecture lets a guest reach with
// one 8-byte access or with 4-byte accesses to either half (the GIC's
// *BASER, TYPER and queue registers, IHI 0069 12.1.3).
#pragma once

#include <stdint.h>

namespace reg64 {

/// Where in register `reg` an access of `size` bytes at `offset` lands
/// (the shift of its low bit: 0 or 32), or -1 if it is not one of those.
inline int half(uint64_t offset, uint64_t reg, unsigned size)
{
    if (offset == reg && (size == 8 || size == 4)) {
        return 0;
    }
    return offset == reg + 4 && size == 4 ? 32 : -1;
}

/// The register's new value after writing `value` to the part at `shift`.
inline uint64_t merge(uint64_t old, uint64_t value, unsigned size, int shift)
{
    if (size == 8) {
        return value;
    }
    const uint64_t mask = 0xffffffffull << shift;
    return (old & ~mask) | ((value << shift) & mask);
}

/// What a read of the part at `shift` returns.
inline uint64_t part(uint64_t reg, unsigned size, int shift) { return size == 8 ? reg : (reg >> shift) & 0xffffffff; }

} // namespace reg64
