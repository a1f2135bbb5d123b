// A passthrough device: QEMU virt's PL031 RTC (0x09010000) and its SPI 34,
// given to this VM. The guest programs the RTC's match register a second
// ahead and waits in WFI for the interrupt, three times: each one arrives
// as the same INTID through the virtual GIC, and the guest's EOI
// deactivates the physical interrupt (else the next could not come). The
// SPI is routed to vCPU 1 the last time (deactivation from another CPU).
#include <stdio.h>

#include "lib/gic.hpp"
#include "lib/guest.hpp"

using namespace guest;
using namespace guest::gic;

namespace {

constexpr uint64_t kRtc = 0x09010000;
constexpr uint32_t kRtcSpi = 34;
constexpr uint32_t kDr = 0x00, kMr = 0x04, kImsc = 0x10, kMis = 0x18, kIcr = 0x1c;

volatile uint32_t hits[2];
volatile uint32_t stray;
volatile uint64_t secondary_up;
volatile uint64_t done;

void wait_for_hit(uint32_t cpu, uint32_t count)
{
    const uint64_t start = counter();
    while (hits[cpu] < count && counter() - start < 5 * frequency()) {
        asm volatile("wfi");
    }
}

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = acknowledge();
    if ((iar & 0x3ff) == kRtcSpi) {
        if (read32(kRtc + kMis) & 1) {
            write32(kRtc + kIcr, 1); // the device lowers its line
            hits[cpu_id()] = hits[cpu_id()] + 1;
        }
    } else if ((iar & 0x3ff) != kSpurious) {
        stray = iar;
    }
    end(iar);
}

extern "C" void guest_secondary(uint64_t, uint64_t)
{
    enable_cpu_interface();
    asm volatile("msr daifclr, #2");
    secondary_up = 1;
    while (done == 0) {
        asm volatile("wfi");
    }
    asm volatile("msr daifset, #2");
}

extern "C" void guest_main(uint64_t, uint64_t)
{
    test("rtc-registers-mapped", read32(kRtc + 0xfe0) == 0x31); // PL031 PeriphID0
    enable_distributor();
    enable_cpu_interface();
    enable_spi(kRtcSpi, 0, 0x80);
    write32(kRtc + kImsc, 1);
    asm volatile("msr daifclr, #2");
    for (uint32_t n = 1; n <= 2; n++) {
        write32(kRtc + kMr, read32(kRtc + kDr) + 1);
        wait_for_hit(0, n);
    }
    char details[48];
    snprintf(details, sizeof details, "%u interrupts", hits[0]);
    test("rtc-interrupts-through-passthrough", hits[0] == 2, details);

    call(kPsciCpuOn, 1, reinterpret_cast<uint64_t>(secondary_entry), 0);
    while (secondary_up == 0) {
        call(kHcYield);
    }
    enable_spi(kRtcSpi, 1, 0x80); // now to vCPU 1
    write32(kRtc + kMr, read32(kRtc + kDr) + 1);
    const uint64_t start = counter();
    while (hits[1] == 0 && counter() - start < 5 * frequency()) {
        call(kHcYield);
    }
    test("rtc-interrupt-to-vcpu-1", hits[1] == 1);
    done = 1;
    write32(kRtc + kImsc, 0);
    asm volatile("msr daifset, #2");
    test("rtc-no-stray-interrupts", stray == 0);
}
