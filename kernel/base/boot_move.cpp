#include "kernel/base/boot_move.hpp"

#include "kernel/base/early.hpp"
#include "kernel/mem/bulk.hpp"
#include "kernel/mem/el2_map.hpp"
#include "platform/boot_place.hpp"
#include "platform/cpu.hpp"
#include "platform/early_fdt.hpp"

extern "C" uint64_t boot_move(uint64_t dtb, uint64_t image_base, uint64_t image_size, uint64_t entry_el,
                              BootMoved* moved)
{
    *moved = {dtb, 0, kMoved};
    const uint32_t dtb_size = early_dtb_size(dtb);
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
    early_fdt::BootMemory memory;
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
    // back before el2_mmu_enable. The copies are bulk::copy's: aligned
    // accesses only, as Device memory (all of it, with the MMU off) needs.
    arch::invalidate_dcache(reinterpret_cast<const void*>(plan.image), image_size);
    arch::invalidate_dcache(reinterpret_cast<const void*>(plan.dtb), dtb_size);
    bulk::copy(reinterpret_cast<void*>(plan.dtb), reinterpret_cast<const void*>(dtb), dtb_size);
    moved->dtb = plan.dtb;
    if (plan.package != 0) {
        arch::invalidate_dcache(reinterpret_cast<const void*>(plan.package), memory.package.size);
        bulk::copy(reinterpret_cast<void*>(plan.package), reinterpret_cast<const void*>(memory.package.base),
                   memory.package.size);
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
