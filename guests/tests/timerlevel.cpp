// The virtual timer is level-sensitive: an interrupt it raised that the
// guest has not taken yet goes away once the guest disables the timer,
// masks it, or moves CVAL into the future (noticed at the guest's next
// exit: the timer registers do not trap). With IRQs masked the guest lets
// the timer fire, withdraws it one of the three ways, makes one exit, and
// then neither the distributor shows the interrupt pending nor does it
// arrive when IRQs are unmasked.
#include <stdio.h>

#include "lib/gic.hpp"
#include "lib/guest.hpp"

using namespace guest;
using namespace guest::gic;

namespace {

volatile uint32_t taken;

uint64_t timer_ctl()
{
    uint64_t ctl;
    asm volatile("isb\n\tmrs %0, cntv_ctl_el0" : "=r"(ctl));
    return ctl;
}

bool timer_pending_in_gic() { return (read32(private_base() + 0x200) >> kTimer) & 1; } // ISPENDR0

/// Lets the timer fire with IRQs masked and waits until Vireo has made it
/// pending for this vCPU; true if it did.
bool raise_masked()
{
    asm volatile("msr daifset, #2");
    arm_timer(frequency() / 1000); // 1 ms
    const uint64_t start = counter();
    while (counter() - start < frequency() / 10) {
        if ((timer_ctl() & 4) != 0 && timer_pending_in_gic()) {
            return true;
        }
    }
    return false;
}

/// After one exit: not pending any more, and not delivered for 20 ms.
void check_withdrawn(const char* name)
{
    call(kHcNull); // an exit: Vireo looks at the timer's line
    const bool pending = timer_pending_in_gic();
    const uint32_t before = taken;
    asm volatile("msr daifclr, #2");
    const uint64_t start = counter();
    while (counter() - start < frequency() / 50) {
    }
    asm volatile("msr daifset, #2");
    char details[64];
    snprintf(details, sizeof details, "pending %d, taken %u", pending, taken - before);
    test(name, !pending && taken == before, details);
    stop_timer();
}

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = acknowledge();
    if ((iar & 0x3ff) == kTimer) {
        taken = taken + 1;
        stop_timer();
    }
    end(iar);
}

extern "C" void guest_main(uint64_t, uint64_t)
{
    enable_distributor();
    enable_private(kTimer);
    enable_cpu_interface();

    test("timer-raised-while-masked", raise_masked());
    asm volatile("msr cntv_ctl_el0, xzr\n\tisb"); // ENABLE = 0
    check_withdrawn("timer-disabled-interrupt-withdrawn");

    test("timer-raised-again", raise_masked());
    asm volatile("msr cntv_ctl_el0, %0\n\tisb" ::"r"(uint64_t{3})); // ENABLE, IMASK
    check_withdrawn("timer-masked-interrupt-withdrawn");

    test("timer-raised-a-third-time", raise_masked());
    uint64_t now;
    asm volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(now));
    asm volatile("msr cntv_cval_el0, %0\n\tisb" ::"r"(now + 100 * frequency())); // 100 s from now
    check_withdrawn("timer-moved-into-the-future-interrupt-withdrawn");

    // And a timer that stays asserted is still delivered.
    const uint32_t before = taken;
    test("timer-raised-a-fourth-time", raise_masked());
    call(kHcNull);
    asm volatile("msr daifclr, #2");
    const uint64_t start = counter();
    while (taken == before && counter() - start < frequency() / 10) {
    }
    asm volatile("msr daifset, #2");
    test("timer-still-asserted-is-delivered", taken == before + 1);
}
