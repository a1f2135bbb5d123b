// Run in two VMs at once: each fills its RAM with its own pattern, yields,
// and checks the pattern is intact, so neither VM can see the other's memory.
// First it checks that RAM no image was loaded into (Vireo clears each
// 64 KiB block on the guest's first touch) reads as zeros.
#include "lib/guest.hpp"

using namespace guest;

extern "C" char _end[];

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    // Different in each VM: its configuration passes a tag in its bootargs
    // (read before the pattern below overwrites the DTB).
    const uint64_t vm_tag = bootarg(dtb, "tag", 0);
    const uint64_t seed = (vm_tag + 1) * 0x9e3779b97f4a7c15ull;
    test("vm-has-its-tag", vm_tag == 0xa || vm_tag == 0xb);
    constexpr uint64_t kRam = 0x40000000ull, kRamSize = 8ull << 20;
    // This image is in the first 2 MiB, the DTB in the last: the 4 MiB
    // between were never written by Vireo for this VM.
    bool zeros = true;
    for (auto* p = reinterpret_cast<volatile uint64_t*>(kRam + (2ull << 20));
         p < reinterpret_cast<volatile uint64_t*>(kRam + (6ull << 20)); p++) {
        zeros = zeros && *p == 0;
    }
    test("vm-untouched-ram-reads-zero", zeros);
    auto* start = reinterpret_cast<volatile uint64_t*>(_end);
    auto* end = reinterpret_cast<volatile uint64_t*>(kRam + kRamSize);
    for (volatile uint64_t* p = start; p < end; p += 512) {
        *p = seed ^ reinterpret_cast<uint64_t>(p);
    }
    for (int i = 0; i < 50; i++) {
        call(kHcYield);
    }
    bool same = true;
    for (volatile uint64_t* p = start; p < end; p += 512) {
        same = same && *p == (seed ^ reinterpret_cast<uint64_t>(p));
    }
    test("vm-memory-private", same);
    test("vm-ram-ends-where-configured",
         expect_fault([] { (void)*reinterpret_cast<volatile uint64_t*>(0x40000000ull + (8ull << 20)); }).esr >> 26 ==
             0x25);
}
