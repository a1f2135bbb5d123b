// Where Vireo moves itself, the DTB it was handed and the boot package at
// boot (docs/boot.md, "Where Vireo puts itself"): to the top of RAM, so
// that the rest of RAM, the RAM base included, is free for VMs that must be
// identity-mapped (firmware guests built for a fixed RAM base, DMA without
// an IOMMU). Pure: host-tested, and run by boot/start.S with the MMU off.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "platform/early_fdt.hpp"
#include "platform/platform.hpp"

namespace boot_place {

constexpr uint64_t kImageAlign = 2ull << 20; // the arm64 Image protocol's
constexpr uint64_t kPage = 4096;

struct Inputs {
    const Range* banks = nullptr;
    size_t bank_count = 0;
    const Range* reserved = nullptr; // /memreserve/ and /reserved-memory
    size_t reserved_count = 0;
    Range image;        // where the loader put Vireo: base, and its effective size (BSS and stacks included)
    Range dtb;          // the DTB's bytes
    Range package;      // the boot package's bytes; size 0 if there is none
    uint64_t limit = 0; // nothing may end above it (the EL2 identity map's end)
};

/// The inputs for what the DTB says (`memory`, which must outlive them),
/// the image and the DTB as they are, and the limit.
Inputs inputs(const early_fdt::BootMemory& memory, Range image, Range dtb, uint64_t limit);

/// Where each goes. The three form one block at the top of the highest
/// RAM that holds it: the image (2 MiB-aligned) above the DTB above the
/// package (each page-aligned), clear of reserved memory and of where all
/// three are now, so that copying one never overwrites another.
struct Plan {
    bool move = false; // false: everything stays where it is (`why` says why)
    uint64_t image = 0;
    uint64_t dtb = 0;
    uint64_t package = 0; // 0 when there is no package, or it stays (see below)
    const char* why = "";
};

/// A package that is not inside RAM, or that overlaps the image or the DTB,
/// is the boot loader's mistake: it stays where it is, to be refused with
/// the reason later (memory::package_placed).
Plan plan(const Inputs& in);

/// Whether `package` is one plan() takes along.
bool package_movable(const Inputs& in);

} // namespace boot_place
