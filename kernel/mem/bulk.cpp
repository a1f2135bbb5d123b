#include "kernel/mem/bulk.hpp"

#include <string.h>

namespace bulk {
namespace {

/// DC ZVA's block size in bytes, or 0 when the instruction is prohibited.
size_t zva_block()
{
    uint64_t dczid;
    asm volatile("mrs %0, dczid_el0" : "=r"(dczid));
    return (dczid & (1u << 4)) ? 0 : size_t{4} << (dczid & 0xf);
}

} // namespace

void zero(void* dst, size_t size)
{
    auto* p = static_cast<uint8_t*>(dst);
    uint8_t* const end = p + size;
    const size_t block = zva_block();
    if (block != 0 && size >= 2 * block) {
        auto* first = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(p) + block - 1) & ~(block - 1));
        memset(p, 0, static_cast<size_t>(first - p));
        for (p = first; p + block <= end; p += block) {
            asm volatile("dc zva, %0" ::"r"(p) : "memory");
        }
    }
    for (; p < end && (reinterpret_cast<uintptr_t>(p) & 7) != 0; p++) {
        *p = 0;
    }
    for (; p + 8 <= end; p += 8) {
        *reinterpret_cast<volatile uint64_t*>(p) = 0;
    }
    memset(p, 0, static_cast<size_t>(end - p));
}

void copy(void* dst, const void* src, size_t size)
{
    auto* d = static_cast<uint8_t*>(dst);
    const auto* s = static_cast<const uint8_t*>(src);
    if (((reinterpret_cast<uintptr_t>(d) ^ reinterpret_cast<uintptr_t>(s)) & 7) != 0) {
        memcpy(d, s, size); // differently aligned: rare, left to newlib
        return;
    }
    for (; size > 0 && (reinterpret_cast<uintptr_t>(d) & 7) != 0; size--) {
        *d++ = *s++;
    }
    for (; size >= 32; size -= 32, d += 32, s += 32) {
        const auto* from = reinterpret_cast<const uint64_t*>(s);
        auto* to = reinterpret_cast<volatile uint64_t*>(d); // volatile: GCC would turn the loop into memcpy
        const uint64_t a = from[0], b = from[1], c = from[2], e = from[3];
        to[0] = a;
        to[1] = b;
        to[2] = c;
        to[3] = e;
    }
    memcpy(d, s, size);
}

} // namespace bulk
