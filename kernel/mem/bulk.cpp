#include "kernel/mem/bulk.hpp"

#include "platform/cpu.hpp"

namespace bulk {

void zero_to_poc(void* dst, size_t size)
{
    auto* p = static_cast<uint8_t*>(dst);
    uint8_t* const end = p + size;
    if (arch::dcache_line_size() != 64) { // not the usual 64-byte lines
        zero(dst, size);
        arch::clean_dcache_to_poc(dst, size);
        return;
    }
    // 128 bytes a step: two lines zeroed, each then cleaned and
    // invalidated (half the instructions of zeroing, then cleaning).
    for (; p < end; p += 128) {
        asm volatile("stp xzr, xzr, [%0]\n\t"
                     "stp xzr, xzr, [%0, #16]\n\t"
                     "stp xzr, xzr, [%0, #32]\n\t"
                     "stp xzr, xzr, [%0, #48]\n\t"
                     "dc civac, %0\n\t"
                     "stp xzr, xzr, [%0, #64]\n\t"
                     "stp xzr, xzr, [%0, #80]\n\t"
                     "stp xzr, xzr, [%0, #96]\n\t"
                     "stp xzr, xzr, [%0, #112]\n\t"
                     "dc civac, %1" ::"r"(p),
                     "r"(p + 64)
                     : "memory");
    }
    asm volatile("dsb ish" ::: "memory");
}

} // namespace bulk
