// A VM that only wants to run: for 3 s of counter time it notes the
// longest stretch it did not run, which must stay a few time slices long
// whatever the VM beside it on the same physical CPU does.
#include <stdio.h>

#include "lib/gic.hpp"
#include "lib/guest.hpp"

using namespace guest;

extern "C" void guest_main(uint64_t, uint64_t)
{
    const uint64_t freq = gic::frequency();
    const uint64_t start = counter();
    uint64_t last = start;
    uint64_t longest = 0;
    while (last - start < 3 * freq) {
        const uint64_t now = counter();
        if (now - last > longest) {
            longest = now - last;
        }
        last = now;
    }
    char details[48];
    snprintf(details, sizeof details, "longest stall %lu ms", longest * 1000 / freq);
    print("neighbour: %s\n", details);
    test("neighbour-never-starved", longest < freq / 5, details); // 200 ms: 20 time slices
}
