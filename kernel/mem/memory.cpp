#include "kernel/mem/memory.hpp"

#include "kernel/mem/colour_pool.hpp"
#include "kernel/mem/colours.hpp"
#include "kernel/mem/el2_map.hpp"

#include <string.h>

#include "kernel/console/console.hpp"
#include "kernel/loader/passthrough_check.hpp"
#include "platform/format.hpp"
#include "platform/platform.hpp"
#include "vcpu/limits.hpp"

extern "C" char _text[], _end[];

namespace memory {
namespace {

constinit PhysAllocator allocator;
// Vireo's own pages when the configuration colours them (set_own_colours).
constinit ColourPool own_pool;

/// `pages` pages aligned to `align_pages` for Vireo itself: of its colours
/// when it has some, else from anywhere. 0 when there is no memory, or
/// when its colours hold no such run (then `uncolourable` is set).
uint64_t own_run(size_t pages, size_t align_pages, bool* uncolourable = nullptr)
{
    if (!own_pool.active()) {
        return allocator.alloc(pages * PhysAllocator::kPage, align_pages * PhysAllocator::kPage);
    }
    if (!own_pool.fits(pages, align_pages)) {
        if (uncolourable != nullptr) {
            *uncolourable = true;
        }
        return 0;
    }
    return own_pool.alloc(allocator, pages, align_pages);
}

void free_run(uint64_t pa, size_t pages)
{
    if (own_pool.owns(pa)) {
        own_pool.free(allocator, pa, pages);
    } else {
        allocator.free(pa, pages * PhysAllocator::kPage);
    }
}

class PhysTables final : public TableAllocator {
public:
    uint64_t* alloc(size_t pages) override
    {
        bool uncolourable = false;
        uint64_t pa = own_run(pages, pages, &uncolourable);
        if (uncolourable) {
            // A stage-2 root of two concatenated tables needs two colours
            // 2k and 2k + 1: without them it is of any colour, and said once.
            if (!told_uncolourable) {
                char set[160];
                log_warn("memory: Vireo's colours %s hold no %lu consecutive pages aligned to their size: tables of "
                         "%lu pages (stage-2 roots) are of any colour",
                         colours::describe(own_pool.set(), set, sizeof set), pages, pages);
                told_uncolourable = true;
            }
            pa = allocator.alloc(pages * PhysAllocator::kPage, pages * PhysAllocator::kPage);
        }
        if (pa == 0) {
            return nullptr;
        }
        auto* table = reinterpret_cast<uint64_t*>(pa);
        memset(table, 0, pages * PhysAllocator::kPage);
        return table;
    }
    uint64_t phys(const uint64_t* table) const override { return reinterpret_cast<uint64_t>(table); }
    uint64_t* virt(uint64_t phys) const override { return reinterpret_cast<uint64_t*>(phys); }

private:
    bool told_uncolourable = false;
};

constinit PhysTables tables;

// What claim() checks a range against, kept from init().
constinit const Platform* machine = nullptr;
constinit Range boot_dtb = {};
struct Claim {
    const char* name;
    Range range;
};
constinit Claim claims[limits::kVms] = {};
constinit size_t claim_count = 0;

bool overlaps(uint64_t base, uint64_t size, const Range& r)
{
    return r.size != 0 && base < r.end() && r.base < base + size;
}

} // namespace

void init(const Platform& platform, uint64_t dtb, uint64_t dtb_size)
{
    for (size_t i = 0; i < platform.memory_count; i++) {
        // Only what the EL2 identity map covers can be handed out.
        const uint64_t limit = el2_map::kIdentityEnd;
        const Range& bank = platform.memory[i];
        if (bank.base < limit) {
            allocator.add(bank.base, (bank.end() < limit ? bank.end() : limit) - bank.base);
        }
    }
    const auto text = reinterpret_cast<uint64_t>(_text);
    allocator.reserve(text, reinterpret_cast<uint64_t>(_end) - text);
    allocator.reserve(dtb, dtb_size);
    machine = &platform;
    boot_dtb = {dtb, dtb_size};
    allocator.reserve(platform.initrd.base, platform.initrd.size); // the boot package
    for (size_t i = 0; i < platform.reserved_count; i++) {
        allocator.reserve(platform.reserved[i].base, platform.reserved[i].size);
    }
    log_info("memory: %lu MiB free for VMs (largest run %lu MiB)", allocator.free_bytes() >> 20,
             allocator.largest_free() >> 20);
}

PhysAllocator& phys() { return allocator; }

namespace {

constinit Range loaded_image = {};
constinit Range loaded_dtb = {};

/// Whether [base, base + size) is clear of `image` (Vireo's) and `dtb` (the
/// one it was booted with); else `why` says which it overlaps.
bool apart_from(uint64_t base, uint64_t size, const Range& image, const Range& dtb, char* why, size_t why_size)
{
    if (overlaps(base, size, image)) {
        format(why, why_size, "overlaps Vireo's image [0x%lx, 0x%lx)", image.base, image.end());
    } else if (overlaps(base, size, dtb)) {
        format(why, why_size, "overlaps the DTB Vireo was booted with [0x%lx, 0x%lx)", dtb.base, dtb.end());
    } else {
        return true;
    }
    return false;
}

/// Whether [base, base + size) lies in one RAM bank, clear of Vireo's image
/// and of the DTB it was booted with; else `why` says which.
bool in_ram_apart_from_vireo(uint64_t base, uint64_t size, char* why, size_t why_size)
{
    const auto text = reinterpret_cast<uint64_t>(_text);
    const Range image{text, reinterpret_cast<uint64_t>(_end) - text};
    return vm_check::in_board_ram(*machine, base, size, why, why_size) &&
           apart_from(base, size, image, boot_dtb, why, why_size);
}

} // namespace

void note_loaded(Range image, Range dtb)
{
    loaded_image = image;
    loaded_dtb = dtb;
}

bool package_placed(char* why, size_t why_size)
{
    // Where the loader put them first: a package it placed over either is
    // its mistake even though they have moved since.
    const Range& package = machine->initrd;
    return apart_from(package.base, package.size, loaded_image, loaded_dtb, why, why_size) &&
           in_ram_apart_from_vireo(package.base, package.size, why, why_size);
}

bool claim(const char* name, uint64_t base, uint64_t size, char* why, size_t why_size)
{
    const Platform& p = *machine;
    if (!in_ram_apart_from_vireo(base, size, why, why_size)) {
        return false;
    }
    if (overlaps(base, size, p.initrd)) {
        format(why, why_size, "overlaps the boot package [0x%lx, 0x%lx)", p.initrd.base, p.initrd.end());
    } else {
        for (size_t i = 0; i < p.reserved_count; i++) {
            if (overlaps(base, size, p.reserved[i])) {
                format(why, why_size,
                       "overlaps reserved memory [0x%lx, 0x%lx) (the DTB's /reserved-memory or /memreserve/)",
                       p.reserved[i].base, p.reserved[i].end());
                return false;
            }
        }
        for (size_t i = 0; i < claim_count; i++) {
            if (overlaps(base, size, claims[i].range)) {
                format(why, why_size, "overlaps VM %s's identity-mapped RAM [0x%lx, 0x%lx)", claims[i].name,
                       claims[i].range.base, claims[i].range.end());
                return false;
            }
        }
        if (!allocator.is_free(base, size)) {
            format(why, why_size, "is partly in use by Vireo already (its own allocations)");
            return false;
        }
        if (claim_count < limits::kVms) {
            claims[claim_count++] = {name, {base, size}};
        }
        allocator.reserve(base, size);
        return true;
    }
    return false;
}

TableAllocator& stage2_tables() { return tables; }

namespace {
uint32_t colours_of_cache = 1;
} // namespace

void set_page_colours(uint32_t colours) { colours_of_cache = colours != 0 ? colours : 1; }
uint32_t page_colours() { return colours_of_cache; }

void set_own_colours(uint64_t set) { own_pool.init(set, colours_of_cache); }
uint64_t own_colours() { return own_pool.set(); }

void* alloc_objects(uint64_t bytes)
{
    const size_t pages = bytes / PhysAllocator::kPage;
    if (!own_pool.active() || own_pool.fits(pages, 1)) {
        // One run (RAM is identity-mapped at EL2); nullptr when out of memory.
        return reinterpret_cast<void*>(own_run(pages, 1));
    }
    // More pages than Vireo's colours give consecutively: single pages of
    // its colours, made one run in the window.
    const uint64_t va = el2_map::window_reserve(bytes);
    if (va == 0) {
        return nullptr;
    }
    for (size_t i = 0; i < pages; i++) {
        const uint64_t pa = own_pool.alloc(allocator, 1, 1);
        if (pa == 0 || !el2_map::window_map(va + i * PhysAllocator::kPage, pa, PhysAllocator::kPage)) {
            if (pa != 0) {
                own_pool.free(allocator, pa, 1);
            }
            free_objects(reinterpret_cast<void*>(va), bytes); // the pages mapped so far
            return nullptr;
        }
    }
    return reinterpret_cast<void*>(va);
}

void free_objects(void* objects, uint64_t bytes)
{
    const auto va = reinterpret_cast<uint64_t>(objects);
    if (va < el2_map::kIdentityEnd) {
        free_run(va, bytes / PhysAllocator::kPage);
        return;
    }
    for (uint64_t offset = 0; offset < bytes; offset += PhysAllocator::kPage) {
        if (const uint64_t pa = el2_map::window_phys(va + offset)) {
            free_run(pa, 1);
        }
    }
    el2_map::window_unmap(va, bytes);
    el2_map::window_release(va, bytes);
}

uint64_t own_phys(const void* objects)
{
    const auto va = reinterpret_cast<uint64_t>(objects);
    return va < el2_map::kIdentityEnd ? va : el2_map::window_phys(va);
}

} // namespace memory
