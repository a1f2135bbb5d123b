// The EL1 physical timer (CNTP_CTL/CVAL/TVAL_EL0, PPI 30), which Vireo
// emulates: its registers read back as written, TVAL counts down to CVAL
// on the physical counter, ISTATUS follows the compare, its interrupt
// arrives through the virtual GIC (periodically, and waking WFI), and, as
// a level-sensitive interrupt, disappears once the timer is disabled.
#include <stdio.h>

#include "lib/gic.hpp"
#include "lib/guest.hpp"

using namespace guest;
using namespace guest::gic;

namespace {

constexpr uint32_t kPtimer = 30;
volatile uint32_t taken;
volatile bool rearm;
uint64_t period;

uint64_t pct()
{
    uint64_t v;
    asm volatile("isb\n\tmrs %0, cntpct_el0" : "=r"(v));
    return v;
}
uint64_t ctl()
{
    uint64_t v;
    asm volatile("mrs %0, cntp_ctl_el0" : "=r"(v));
    return v;
}
void set_ctl(uint64_t v) { asm volatile("msr cntp_ctl_el0, %0\n\tisb" ::"r"(v)); }
uint64_t cval()
{
    uint64_t v;
    asm volatile("mrs %0, cntp_cval_el0" : "=r"(v));
    return v;
}
void set_cval(uint64_t v) { asm volatile("msr cntp_cval_el0, %0\n\tisb" ::"r"(v)); }
uint64_t tval()
{
    uint64_t v;
    asm volatile("mrs %0, cntp_tval_el0" : "=r"(v));
    return v;
}
void set_tval(uint64_t v) { asm volatile("msr cntp_tval_el0, %0\n\tisb" ::"r"(v)); }

bool ptimer_pending() { return (read32(private_base() + 0x200) >> kPtimer) & 1; }

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = acknowledge();
    if ((iar & 0x3ff) == kPtimer) {
        taken = taken + 1;
        if (rearm) {
            set_tval(period);
        } else {
            set_ctl(0);
        }
    }
    end(iar);
}

extern "C" void guest_main(uint64_t, uint64_t)
{
    const uint64_t freq = frequency();
    period = freq / 1000; // 1 ms
    enable_distributor();
    enable_private(kPtimer);
    enable_cpu_interface();

    // Registers.
    set_ctl(0);
    set_cval(0x123456789abcull);
    test("ptimer-cval-reads-back", cval() == 0x123456789abcull);
    set_ctl(3);
    test("ptimer-ctl-reads-back", (ctl() & 3) == 3);
    set_ctl(0);
    const uint64_t before = pct();
    set_tval(freq); // one second from now
    const uint64_t later = cval();
    test("ptimer-tval-sets-cval", later >= before + freq && later <= pct() + freq);
    const auto left = static_cast<int32_t>(tval());
    test("ptimer-tval-counts-down", left > 0 && static_cast<uint64_t>(left) <= freq);
    uint64_t vct;
    asm volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(vct));
    test("ptimer-physical-counter-runs-ahead-of-virtual", pct() >= vct);

    // ISTATUS follows the compare, masked or not.
    set_cval(pct() - 1);
    set_ctl(3); // enabled, masked
    test("ptimer-istatus-when-due", (ctl() & 4) != 0);
    set_cval(pct() + 100 * freq);
    test("ptimer-no-istatus-before", (ctl() & 4) == 0);
    set_ctl(0);

    // Periodic interrupts, 1 ms apart, the vCPU in WFI between them.
    rearm = true;
    taken = 0;
    asm volatile("msr daifclr, #2");
    set_tval(period);
    set_ctl(1);
    const uint64_t start = counter();
    while (taken < 10 && counter() - start < freq) {
        asm volatile("wfi");
    }
    rearm = false;
    set_ctl(0);
    asm volatile("msr daifset, #2");
    char details[48];
    snprintf(details, sizeof details, "%u interrupts", taken);
    test("ptimer-interrupts-delivered", taken >= 10, details);

    // Level-sensitive: raised with IRQs masked, then disabled: gone.
    set_tval(period);
    set_ctl(1);
    const uint64_t raised_at = counter();
    while (!ptimer_pending() && counter() - raised_at < freq / 10) {
        call(kHcYield); // the EL2 timer notices the deadline; a yield lets Vireo look
    }
    test("ptimer-raised-while-masked", ptimer_pending());
    set_ctl(0);
    const uint32_t count = taken;
    test("ptimer-disabled-interrupt-withdrawn", !ptimer_pending());
    asm volatile("msr daifclr, #2");
    const uint64_t wait = counter();
    while (counter() - wait < freq / 50) {
    }
    asm volatile("msr daifset, #2");
    test("ptimer-disabled-no-stale-interrupt", taken == count);
}
