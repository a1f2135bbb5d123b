// Physical memory: the allocator over all RAM not used by Vireo, the DTB or
// reserved regions, and a table allocator for stage-2 tables carved from it.
#pragma once

#include <stdint.h>

#include "kernel/mem/page_table.hpp"
#include "kernel/mem/phys_alloc.hpp"
#include "platform/platform.hpp"

struct Platform;

namespace memory {

/// Hands all RAM in `platform` to the allocator, minus Vireo's image, the
/// DTB and the reserved regions.
void init(const Platform& platform, uint64_t dtb, uint64_t dtb_size);

PhysAllocator& phys();

/// Takes [base, base + size) out of the free memory for VM `name`'s
/// identity-mapped RAM. False when it is not all free RAM of this machine,
/// with `why` (of `why_size` bytes) saying what it collides with: no RAM
/// there, Vireo's image, the DTB, the boot package, reserved memory,
/// another VM's identity-mapped RAM, or memory Vireo has taken already.
bool claim(const char* name, uint64_t base, uint64_t size, char* why, size_t why_size);

/// Where the boot loader put Vireo's image and the DTB before boot/start.S
/// moved them (docs/boot.md): a package the loader placed over either is
/// still its mistake.
void note_loaded(Range image, Range dtb);

/// Whether the boot package (/chosen linux,initrd-start/end) lies in RAM,
/// clear of Vireo's image and DTB: anything else is the boot loader's
/// mistake, and reading it (as Device memory, or being overwritten) would
/// crash or mislead Vireo. False with `why` saying what is wrong.
bool package_placed(char* why, size_t why_size);

/// Tables for stage-2 maps, from phys() (identity-mapped at EL2).
TableAllocator& stage2_tables();

/// The page colours coloured VMs choose from (the last-level cache's, at
/// most colours::kMaxColours; 1 until set at boot).
void set_page_colours(uint32_t colours);
uint32_t page_colours();

/// The colours Vireo's own allocations (objects and tables made from now
/// on) are taken from, the configuration's `vireo-colours`; 0: any.
void set_own_colours(uint64_t set);
uint64_t own_colours();

/// `bytes` (whole pages) for Vireo's objects (make<T>): identity-mapped,
/// or with own colours that hold no run so long, pages of those colours
/// made one run in the window. nullptr when memory has run out.
void* alloc_objects(uint64_t bytes);
void free_objects(void* objects, uint64_t bytes);
/// The physical address of an object alloc_objects() made (its first
/// byte; for the monitor's colour check).
uint64_t own_phys(const void* objects);

} // namespace memory
