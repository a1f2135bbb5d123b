// A vCPU that never leaves the guest must not keep its physical CPU: the
// EL2 timer ends its time slice. vCPUs 0 and 1 share physical CPU 0; vCPU 1
// spins without a single exit while vCPU 0 keeps yielding to it.
#include "lib/gic.hpp"
#include "lib/guest.hpp"

using namespace guest;

namespace {
volatile uint64_t spinning;
volatile uint64_t spins;
} // namespace

extern "C" void guest_secondary(uint64_t, uint64_t)
{
    spinning = 1;
    for (;;) {
        spins = spins + 1; // no exits, ever
    }
}

extern "C" void guest_main(uint64_t, uint64_t)
{
    test("spinner-started", call(kPsciCpuOn, 1, reinterpret_cast<uint64_t>(secondary_entry), 0) == 0);
    // vCPU 1 shares this physical CPU: it must run within a time slice even
    // while vCPU 0 polls without a single exit.
    const uint64_t start = counter();
    while (spinning == 0 && counter() - start < gic::frequency() / 5) {
    }
    test("cpu-on-same-cpu-runs-within-a-slice", spinning != 0);
    while (spinning == 0) {
        call(kHcYield);
    }
    uint64_t last = spins;
    bool both_ran = true;
    for (int i = 0; i < 20; i++) {
        call(kHcYield); // the spinner runs until its slice ends, then we are back
        both_ran = both_ran && spins != last;
        last = spins;
    }
    test("spinning-vcpu-preempted", true);
    test("spinning-vcpu-made-progress", both_ran);
}
