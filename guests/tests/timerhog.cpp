// A guest that arms its virtual timer but can never take its interrupt:
// its distributor stays off (bootargs "mode=0") or the timer's PPI stays
// disabled in an enabled distributor ("mode=1"). It keeps the CPU busy
// for 250 ms, yielding, then powers its VM off. It may only starve
// itself: another VM's timer on the same physical CPU must keep working
// (tests/configs/bare/timerhog.dts pairs it with the vtimer guest).
#include "lib/gic.hpp"
#include "lib/guest.hpp"

using namespace guest;
using namespace guest::gic;

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    if (bootarg(dtb, "mode", 0) == 1) {
        enable_distributor(); // but never INTID 27
    }
    asm volatile("msr cntv_cval_el0, xzr\n\tmsr cntv_ctl_el0, %0\n\tisb" ::"r"(uint64_t{1})); // fires at once, for ever
    const uint64_t start = counter();
    while (counter() - start < frequency() / 4) { // 250 ms of guest time
        call(kHcYield);
    }
    test("timerhog-ran", true);
}
