// Copying and filling memory a word at a time, for the hypervisor's
// memcpy, memmove and memset (kernel/base/libc_glue.cpp). newlib-nano is
// built -Os, and its versions go a byte at a time: six instructions per
// byte, which made up most of what the virtual network cost per frame
// (docs/performance.md). Aligned accesses only, as the rest of Vireo
// (-mstrict-align): some copies run before the MMU is on, when every
// access is to Device memory and an unaligned one faults (Arm ARM B2.5.2).
//
// This file is built with -fno-tree-loop-distribute-patterns: GCC would
// otherwise turn these loops back into calls to memcpy and memset.
#include "kernel/mem/bulk.hpp"

namespace {

using Word = uint64_t __attribute__((may_alias));
constexpr size_t kWord = sizeof(Word);

bool aligned(const void* p) { return (reinterpret_cast<uintptr_t>(p) & (kWord - 1)) == 0; }

/// Copies whole words from a source `Offset` bytes (1-7) past a word
/// boundary to an aligned destination: each word stored is put together
/// from two aligned loads (little-endian), which GCC makes one EXTR with
/// the shift a constant. Four words a step: a frame's payload is seldom
/// at the same offset in a guest's buffer as in the switch's, and this
/// copy was a third of the virtual network's cost with one word a step.
/// Reads only words that hold bytes to be copied. Returns the number of
/// bytes copied.
template <unsigned Offset> size_t copy_shifted(uint8_t* d, const uint8_t* s, size_t size)
{
    constexpr unsigned kShift = Offset * 8;
    const Word* from = reinterpret_cast<const Word*>(s - Offset);
    Word* to = reinterpret_cast<Word*>(d);
    const size_t words = size / kWord;
    auto join = [](Word low, Word high) { return low >> kShift | high << (64 - kShift); };
    Word low = from[0];
    size_t i = 0;
    for (; i + 4 <= words; i += 4) {
        const Word a = from[i + 1], b = from[i + 2], c = from[i + 3], e = from[i + 4];
        to[i] = join(low, a);
        to[i + 1] = join(a, b);
        to[i + 2] = join(b, c);
        to[i + 3] = join(c, e);
        low = e;
    }
    for (; i < words; i++) {
        const Word high = from[i + 1];
        to[i] = join(low, high);
        low = high;
    }
    return words * kWord;
}

size_t copy_shifted(uint8_t* d, const uint8_t* s, size_t size, unsigned offset)
{
    switch (offset) {
    case 1: return copy_shifted<1>(d, s, size);
    case 2: return copy_shifted<2>(d, s, size);
    case 3: return copy_shifted<3>(d, s, size);
    case 4: return copy_shifted<4>(d, s, size);
    case 5: return copy_shifted<5>(d, s, size);
    case 6: return copy_shifted<6>(d, s, size);
    default: return copy_shifted<7>(d, s, size);
    }
}

} // namespace

namespace bulk {

void copy(void* dst, const void* src, size_t size)
{
    auto* d = static_cast<uint8_t*>(dst);
    const auto* s = static_cast<const uint8_t*>(src);
    if (size >= 2 * kWord) {
        for (; !aligned(d); size--) {
            *d++ = *s++;
        }
        const unsigned offset = reinterpret_cast<uintptr_t>(s) & (kWord - 1);
        size_t done = 0;
        if (offset != 0) {
            done = copy_shifted(d, s, size, offset);
        } else {
            const Word* from = reinterpret_cast<const Word*>(s);
            Word* to = reinterpret_cast<Word*>(d);
            for (; size - done >= 4 * kWord; done += 4 * kWord, from += 4, to += 4) {
                const Word a = from[0], b = from[1], c = from[2], e = from[3];
                to[0] = a;
                to[1] = b;
                to[2] = c;
                to[3] = e;
            }
            for (; size - done >= kWord; done += kWord) {
                *to++ = *from++;
            }
        }
        d += done;
        s += done;
        size -= done;
    }
    for (; size > 0; size--) {
        *d++ = *s++;
    }
}

void move(void* dst, const void* src, size_t size)
{
    auto* d = static_cast<uint8_t*>(dst);
    const auto* s = static_cast<const uint8_t*>(src);
    // A forward copy never overwrites a source byte before reading it when
    // the destination starts below the source (copy() loads each word
    // before storing the one below it).
    if (d <= s || d >= s + size) {
        copy(dst, src, size);
        return;
    }
    // Overlapping, destination above: backwards. Rare (no hot path).
    while (size > 0) {
        size--;
        d[size] = s[size];
    }
}

// Plain stores rather than DC ZVA: on hardware both run at memory
// bandwidth for regions far larger than the caches, but QEMU's TCG
// emulates each DC ZVA with a helper call: zeroing a 512 MiB VM took
// 250-270 ms with DC ZVA and 105-135 ms with stores (2026-12-01).
void fill(void* dst, uint8_t byte, size_t size)
{
    auto* d = static_cast<uint8_t*>(dst);
    if (size >= 2 * kWord) {
        for (; !aligned(d); size--) {
            *d++ = byte;
        }
        const Word word = byte * 0x0101010101010101ull;
        Word* to = reinterpret_cast<Word*>(d);
        for (; size >= 8 * kWord; size -= 8 * kWord, to += 8) {
            to[0] = word;
            to[1] = word;
            to[2] = word;
            to[3] = word;
            to[4] = word;
            to[5] = word;
            to[6] = word;
            to[7] = word;
        }
        for (; size >= kWord; size -= kWord) {
            *to++ = word;
        }
        d = reinterpret_cast<uint8_t*>(to);
    }
    for (; size > 0; size--) {
        *d++ = byte;
    }
}

} // namespace bulk
