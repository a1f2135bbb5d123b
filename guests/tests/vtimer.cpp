// The virtual timer through the virtual GIC (v2 or v3): the guest enables PPI 27 in
// its (emulated) distributor, programs CNTV and counts interrupts taken
// through its (hardware) CPU interface, acknowledging and ending each one itself.
#include <stdio.h>

#include "lib/gic.hpp"
#include "lib/guest.hpp"

using namespace guest;
using namespace guest::gic;

namespace {

constexpr int kWanted = 20;

volatile int taken;
volatile uint64_t worst_late;
volatile uint32_t wrong_id;
volatile uint32_t uart_irqs;
volatile uint32_t uart_mis;
constexpr uint32_t kUartSpi = 33;
constexpr uint64_t kUart = 0x09000000;
uint64_t period;

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = acknowledge();
    if ((iar & 0x3ff) == kTimer) {
        const uint64_t late = timer_lateness();
        if (late > worst_late) {
            worst_late = late;
        }
        taken = taken + 1;
        if (taken < kWanted) {
            arm_timer(period);
        } else {
            stop_timer();
        }
    } else if ((iar & 0x3ff) == kUartSpi) {
        uart_mis = read32(kUart + 0x40); // UARTMIS
        write32(kUart + 0x44, 1u << 5);  // UARTICR: transmit interrupt handled
        write32(kUart + 0x38, 0);        // UARTIMSC: no more
        uart_irqs = uart_irqs + 1;
    } else if ((iar & 0x3ff) != kSpurious) {
        wrong_id = iar;
    }
    end(iar); // also deactivates the physical timer interrupt (hardware-linked)
}

extern "C" void guest_main(uint64_t, uint64_t)
{
    const uint64_t freq = frequency();
    period = freq / 1000; // 1 ms

    test("gicd-typer", (read32(kGicd + 0x004) & 0x1f) == 1); // 64 interrupts
    enable_private(kTimer);
    set_private_priority(kTimer, 0xa0);
    enable_distributor();
    enable_cpu_interface();
    test("gicd-timer-enabled", (read32(private_base() + 0x100) >> kTimer) & 1);

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

    // Each of those interrupts came through Vireo (an IRQ exit): EXIT_COUNT
    // for all kinds (~0) counts them beside the synchronous exits, which
    // are read first (the calls after them only add to the total).
    const uint64_t irqs = static_cast<uint64_t>(call(kHcExitCount, kExitIrq));
    uint64_t synchronous = 0;
    for (uint64_t kind = 0; kind < kExitIrq; kind++) {
        synchronous += static_cast<uint64_t>(call(kHcExitCount, kind));
    }
    const uint64_t all = static_cast<uint64_t>(call(kHcExitCount, ~0ull));
    snprintf(details, sizeof details, "%lu in all, %lu synchronous, %lu IRQ", all, synchronous, irqs);
    test("exit-count-all-includes-interrupts", irqs >= kWanted && all >= synchronous + irqs, details);

    // The virtual PL011's interrupt line (SPI 33) through the distributor:
    // unmasking its transmit interrupt (the transmitter is empty) raises it.
    enable_spi(kUartSpi, 0, 0x80);
    asm volatile("msr daifclr, #2");
    write32(kUart + 0x38, 1u << 5); // UARTIMSC.TXIM
    const uint64_t wait = counter();
    while (uart_irqs == 0 && counter() - wait < freq) {
        call(kHcYield);
    }
    asm volatile("msr daifset, #2");
    test("uart-tx-interrupt-as-spi-33", uart_irqs == 1 && (uart_mis & (1u << 5)));
}
