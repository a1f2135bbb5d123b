// The virtual timer through the virtual GICv2: the guest enables PPI 27 in
// its (emulated) distributor, programs CNTV and counts interrupts taken
// through its (hardware) GICC, acknowledging and ending each one itself.
#include <stdio.h>

#include "lib/guest.hpp"

using namespace guest;

namespace {

constexpr uint64_t kGicd = 0x08000000;
constexpr uint64_t kGicc = 0x08010000;
constexpr uint32_t kTimer = 27;
constexpr int kWanted = 20;

volatile int taken;
volatile uint64_t worst_late;
volatile uint32_t wrong_id;
uint64_t period;

void w32(uint64_t addr, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(addr) = v; }
uint32_t r32(uint64_t addr) { return *reinterpret_cast<volatile uint32_t*>(addr); }

void arm_timer(uint64_t ticks)
{
    asm volatile("msr cntv_tval_el0, %0\n\tmsr cntv_ctl_el0, %1\n\tisb" ::"r"(ticks), "r"(uint64_t{1}));
}

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = r32(kGicc + 0x0c); // GICC_IAR
    if ((iar & 0x3ff) == kTimer) {
        uint64_t cval;
        asm volatile("mrs %0, cntv_cval_el0" : "=r"(cval));
        const uint64_t late = counter() - cval;
        if (late > worst_late) {
            worst_late = late;
        }
        taken = taken + 1;
        if (taken < kWanted) {
            arm_timer(period);
        } else {
            asm volatile("msr cntv_ctl_el0, xzr\n\tisb");
        }
    } else if ((iar & 0x3ff) != 1023) {
        wrong_id = iar;
    }
    w32(kGicc + 0x10, iar); // GICC_EOIR: ends it, and deactivates the physical timer interrupt
}

extern "C" void guest_main(uint64_t, uint64_t)
{
    uint64_t freq;
    asm volatile("mrs %0, cntfrq_el0" : "=r"(freq));
    period = freq / 1000; // 1 ms

    test("gicd-typer", (r32(kGicd + 0x004) & 0x1f) == 1); // 64 interrupts
    w32(kGicd + 0x100, 1u << kTimer);                     // GICD_ISENABLER0
    *reinterpret_cast<volatile uint8_t*>(kGicd + 0x400 + kTimer) = 0xa0;
    w32(kGicd + 0x000, 1);    // GICD_CTLR
    w32(kGicc + 0x004, 0xf0); // GICC_PMR
    w32(kGicc + 0x000, 1);    // GICC_CTLR
    test("gicd-timer-enabled", (r32(kGicd + 0x100) >> kTimer) & 1);

    const uint64_t start = counter();
    arm_timer(period);
    asm volatile("msr daifclr, #2");
    while (taken < kWanted && counter() - start < freq * 5) {
        asm volatile("wfi");
    }
    asm volatile("msr daifset, #2");
    const uint64_t elapsed = counter() - start;

    char details[80];
    snprintf(details, sizeof details, "%d interrupts", taken);
    test("vtimer-interrupts-delivered", taken == kWanted, details);
    test("vtimer-no-stray-interrupts", wrong_id == 0);
    // 20 periods of 1 ms each: at least that long, and not far beyond it.
    snprintf(details, sizeof details, "%lu ticks for %d periods of %lu", elapsed, kWanted, period);
    test("vtimer-period-count", elapsed >= kWanted * period && elapsed < kWanted * period * 3, details);
    snprintf(details, sizeof details, "worst %lu ticks late", worst_late);
    print("vtimer: worst latency %lu ticks (period %lu)\n", worst_late, period);
    test("vtimer-latency-within-a-period", worst_late < period, details);
}
