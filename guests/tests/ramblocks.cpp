// Lazily mapped RAM becomes 2 MiB stage-2 blocks once a whole 2 MiB
// region has been touched (kernel/vm/ram.cpp), and a VM reset takes the
// blocks away again: after it the region reads as zeros and is mapped 64
// KiB at a time until it is whole again. The RAM_MAPPING hypercall
// (docs/hypercalls.md) shows how the RAM is mapped.
//
// 8 MiB of RAM (tests/configs/bare/ramblocks.dts): this image in the
// first 2 MiB, the DTB in the last; regions A = [2, 4) MiB and B = [4, 6)
// MiB are touched only here. The first boot resets the VM, and so does
// every boot until the counter passes 5 s (restarts wait a second
// apart): the checks run at each boot.
#include <stdio.h>

#include "lib/gic.hpp"
#include "lib/guest.hpp"

using namespace guest;

namespace {

constexpr uint64_t kHcRamMapping = 0x86000008;
constexpr uint64_t kRam = 0x40000000;
constexpr uint64_t kRegion = 2ull << 20;
constexpr uint64_t kBlock = 64 * 1024;
constexpr uint64_t kRegionA = kRam + kRegion;
constexpr uint64_t kRegionB = kRam + 2 * kRegion;

struct Mapping {
    uint64_t pages, blocks_2m, blocks_1g;
};

Mapping mapping()
{
    const Regs r = hvc(kHcRamMapping);
    return {r.x[1], r.x[2], r.x[3]};
}

volatile uint64_t* word(uint64_t address) { return reinterpret_cast<volatile uint64_t*>(address); }

bool first = true; // the first boot, not one after a reset

/// A test named `name`, "-after-reset" appended after a reset; the details
/// are the mapping `m` it looked at.
void check(const char* name, bool pass, const Mapping& m)
{
    char full[80];
    char details[96];
    snprintf(full, sizeof full, "%s%s", name, first ? "" : "-after-reset");
    snprintf(details, sizeof details, "%lu pages, %lu 2 MiB blocks, %lu 1 GiB blocks", m.pages, m.blocks_2m,
             m.blocks_1g);
    test(full, pass, details);
}

/// Whether all of [base, base + size) reads as zeros.
bool zeros(uint64_t base, uint64_t size)
{
    bool all = true;
    for (uint64_t a = base; a < base + size; a += 8) {
        all = all && *word(a) == 0;
    }
    return all;
}

} // namespace

extern "C" void guest_main(uint64_t, uint64_t)
{
    first = gic::first_boot();
    const Mapping start = mapping();
    check("ram-mapping-call-answers", start.pages > 0 && start.pages % 16 == 0 && start.blocks_1g == 0, start);

    // Region B, one 64 KiB block at a time: 16 pages each, no block yet,
    // until the last one makes the region one 2 MiB block.
    *word(kRegionB) = 0x5eed;
    const Mapping one = mapping();
    check("ram-first-touch-maps-16-pages", one.pages == start.pages + 16 && one.blocks_2m == start.blocks_2m, one);
    for (uint64_t a = kRegionB + kBlock; a < kRegionB + kRegion - kBlock; a += kBlock) {
        *word(a + 8) = a;
    }
    const Mapping almost = mapping();
    check("ram-region-short-of-one-block-stays-in-pages",
          almost.pages == start.pages + 31 * 16 && almost.blocks_2m == start.blocks_2m, almost);
    *word(kRegionB + kRegion - 8) = 0xb10c;
    const Mapping whole = mapping();
    check("ram-whole-region-becomes-one-2m-block", whole.pages == start.pages && whole.blocks_2m == start.blocks_2m + 1,
          whole);
    bool kept = *word(kRegionB) == 0x5eed && *word(kRegionB + kRegion - 8) == 0xb10c;
    for (uint64_t a = kRegionB + kBlock; a < kRegionB + kRegion - kBlock; a += kBlock) {
        kept = kept && *word(a + 8) == a;
    }
    check("ram-promotion-keeps-what-was-written", kept, whole);

    // Region A read whole: zeros (after a reset too), then a block as well.
    check("ram-untouched-region-reads-zero", zeros(kRegionA, kRegion), whole);
    const Mapping both = mapping();
    check("ram-read-region-becomes-one-2m-block", both.pages == start.pages && both.blocks_2m == start.blocks_2m + 2,
          both);
    *word(kRegionA + 0x1238) = 0xa;
    check("ram-block-is-writable", *word(kRegionA + 0x1238) == 0xa, both);

    if (counter() < 5 * gic::frequency()) {
        print("ramblocks: resetting the VM\n");
        call(kPsciSystemReset);
    }
}
