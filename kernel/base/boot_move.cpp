#include "kernel/base/boot_move.hpp"

#include "kernel/base/early.hpp"
#include "kernel/mem/el2_map.hpp"
#include "platform/boot_place.hpp"
#include "platform/cpu.hpp"
#include "platform/early_fdt.hpp"

namespace {

/// Copies with the MMU off: every access is to Device memory, so aligned
/// loads and stores only, and volatile ones, so that the compiler makes no
/// memcpy call (newlib's may be unaligned) and no SIMD access of them.
void copy(uint64_t to, uint64_t from, uint64_t size)
{
    uint64_t done = 0;
    if (to % 8 == 0 && from % 8 == 0) {
        // 32 bytes a step (a boot package is tens of MiB).
        for (; done + 32 <= size; done += 32) {
            uint64_t a, b, c, e;
            asm volatile("ldp %0, %1, [%4]\n\tldp %2, %3, [%4, #16]"
                         : "=&r"(a), "=&r"(b), "=&r"(c), "=&r"(e)
                         : "r"(from + done)
                         : "memory");
            asm volatile("stp %0, %1, [%4]\n\tstp %2, %3, [%4, #16]" ::"r"(a), "r"(b), "r"(c), "r"(e), "r"(to + done)
                         : "memory");
        }
        auto* d = reinterpret_cast<volatile uint64_t*>(to);
        const auto* s = reinterpret_cast<const volatile uint64_t*>(from);
        for (; done + 8 <= size; done += 8) {
            d[done / 8] = s[done / 8];
        }
    }
    auto* d = reinterpret_cast<volatile uint8_t*>(to);
    const auto* s = reinterpret_cast<const volatile uint8_t*>(from);
    for (; done < size; done++) {
        d[done] = s[done];
    }
}

} // namespace

extern "C" uint64_t boot_move(uint64_t dtb, uint64_t image_base, uint64_t image_size, uint64_t entry_el,
                              BootMoved* moved)
{
    *moved = {dtb, 0, kMoved};
    const uint32_t dtb_size = early_dtb_size(dtb);
    early_fdt::BootMemory memory;
    if (dtb_size == 0) {
        moved->why = kStayNoDtb;
        return image_base;
    }
    if (entry_el == 3) {
        moved->why = kStayEl3;
        return image_base;
    }
    if (early_fdt::bootargs_word(reinterpret_cast<const void*>(dtb), "vireo.stay")) {
        moved->why = kStayAsked;
        return image_base;
    }
    if (!early_fdt::boot_memory(reinterpret_cast<const void*>(dtb), memory) || memory.reserved_overflow) {
        moved->why = kStayNoRam;
        return image_base;
    }
    const boot_place::Plan plan =
        boot_place::plan(boot_place::inputs(memory, {image_base, image_size}, {dtb, dtb_size}, el2_map::kIdentityEnd));
    if (!plan.move) {
        moved->why = kStayNoRoom;
        return image_base;
    }
    // Lines of the new places that earlier software left in the caches go
    // first: dirty ones would be written back over the copies later, clean
    // ones would hide them once the caches are on. With the MMU off every
    // data access is Non-cacheable and allocates no line, so none comes
    // back before el2_mmu_enable.
    arch::invalidate_dcache(reinterpret_cast<const void*>(plan.image), image_size);
    arch::invalidate_dcache(reinterpret_cast<const void*>(plan.dtb), dtb_size);
    copy(plan.dtb, dtb, dtb_size);
    moved->dtb = plan.dtb;
    if (plan.package != 0) {
        arch::invalidate_dcache(reinterpret_cast<const void*>(plan.package), memory.package.size);
        copy(plan.package, memory.package.base, memory.package.size);
        // /chosen names the copy; if its cells cannot hold the new place
        // (one cell, above 4 GiB), the package stays where it was.
        if (early_fdt::set_package(reinterpret_cast<void*>(plan.dtb), {plan.package, memory.package.size})) {
            moved->package_from = memory.package.base;
        }
    }
    return plan.image;
}

const char* boot_stay_reason(uint64_t why)
{
    switch (why) {
    case kStayNoDtb: return "no usable DTB";
    case kStayEl3: return "entered at EL3, whose vectors are in the image";
    case kStayNoRam: return "the DTB names no RAM, or more reserved ranges than Vireo reads";
    case kStayNoRoom: return "no free RAM holds the image, the DTB and the boot package together";
    case kStayAsked: return "vireo.stay on the command line";
    default: return "";
    }
}
