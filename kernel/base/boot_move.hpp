// Vireo moves itself, its DTB and the boot package to the top of RAM before
// anything else runs (docs/boot.md, "Where Vireo puts itself").
#pragma once

#include <stdint.h>

/// What boot_move() did, for the boot log (primary_main prints it).
struct BootMoved {
    uint64_t dtb = 0;          // where the DTB is now
    uint64_t package_from = 0; // where the boot package was, if it moved; else 0
    uint64_t why = 0;          // a BootStay, when nothing moved
};

enum BootStay : uint64_t {
    kMoved = 0,
    kStayNoDtb,  // no usable DTB: nothing to read RAM from
    kStayEl3,    // entered at EL3: its vectors are in the image
    kStayNoRam,  // the DTB names no RAM, or too much reserved memory to place anything safely
    kStayNoRoom, // no free RAM holds the three together
    kStayAsked,  // vireo.stay on the command line
};

/// boot/start.S, MMU off, stack in the image as loaded: copies the DTB
/// and the boot package to their new places (updating the copy's /chosen)
/// and returns the image's new base, which the caller copies the image to
/// (the loaded image's base when nothing moves). `entry_el` is the EL
/// Vireo was entered at.
extern "C" uint64_t boot_move(uint64_t dtb, uint64_t image_base, uint64_t image_size, uint64_t entry_el,
                              BootMoved* moved);

/// The reason for a BootStay, for the boot log.
const char* boot_stay_reason(uint64_t why);
