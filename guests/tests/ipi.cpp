// Virtual SGIs between vCPUs (GICv2 GICD_SGIR or GICv3 ICC_SGI1R_EL1): each
// delivered exactly once, waking a target blocked in WFI or running on
// another physical CPU; more SGIs pending at once than there are list
// registers (the maintenance path); delivery in priority order. GICv3 does
// not report an SGI's source, so in the all-to-all phase the sender is
// told by the SGI number (4 + sender); GICv2's IAR source is checked too.
#include <stdio.h>

#include "lib/gic.hpp"
#include "lib/guest.hpp"

using namespace guest;
using namespace guest::gic;

namespace {

constexpr uint64_t kCpus = 4;

constexpr uint32_t kAllToAllSgi = 4; // + the sender's index

volatile uint8_t received[kCpus][16]; // [target][sgi]
volatile uint32_t wrong_source;       // GICv2: an IAR naming another sender
volatile uint8_t order[16];           // phase 3: arrival order at vCPU 1
volatile uint32_t order_count;
volatile uint64_t ready[kCpus];
volatile uint64_t phase;
volatile uint64_t phase_done[kCpus];
volatile uint32_t stray;
volatile uint64_t masked;  // phase 3: vCPU 1 has interrupts masked
volatile uint64_t release; // phase 3: vCPU 1 may take them

// Polls (yielding): nothing may be due to interrupt this vCPU, so no WFI.
bool wait_until(bool (*done)(), uint64_t seconds)
{
    const uint64_t start = counter();
    while (!done()) {
        if (counter() - start > seconds * frequency()) {
            return false;
        }
        call(kHcYield);
    }
    return true;
}

uint32_t total(uint64_t target, uint32_t sgi) { return received[target][sgi]; }

void cpu_setup()
{
    // Phase 3 priorities: SGI n gets (15 - n) * 8, so 15 comes first; all
    // stay above the priority mask (0xf0).
    for (uint32_t sgi = 0; sgi < 16; sgi++) {
        set_private_priority(sgi, static_cast<uint8_t>((15 - sgi) << 3));
    }
    enable_cpu_interface();
    asm volatile("msr daifclr, #2");
}

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = acknowledge();
    const uint32_t id = iar & 0x3ff;
    const uint32_t source = (iar >> 10) & 7;
    if (id < 16) {
        const uint64_t self = cpu_id();
        received[self][id] = static_cast<uint8_t>(received[self][id] + 1);
        const bool all_to_all = phase == 2 && id >= kAllToAllSgi && id < kAllToAllSgi + kCpus;
        if (all_to_all && !v3() && source != id - kAllToAllSgi) {
            wrong_source = iar;
        }
        if (self == 1 && phase == 3) {
            order[order_count] = static_cast<uint8_t>(id);
            order_count = order_count + 1;
        }
    } else if (id != kSpurious) {
        stray = iar;
    }
    end(iar);
}

extern "C" void guest_secondary(uint64_t cpu, uint64_t)
{
    cpu_setup();
    ready[cpu] = 1;
    while (phase != 2) {
        asm volatile("wfi"); // blocked: SGIs must wake it
    }
    send_sgi_to_others(kAllToAllSgi + static_cast<uint32_t>(cpu));
    phase_done[cpu] = 1;
    if (cpu == 1) {
        // Phase 3: take all sixteen only once they are all pending.
        while (phase != 3) {
            call(kHcYield);
        }
        asm volatile("msr daifset, #2");
        masked = 1;
        while (release == 0) {
            call(kHcYield);
        }
        asm volatile("msr daifclr, #2");
    }
    while (phase != 4) {
        asm volatile("wfi");
    }
    asm volatile("msr daifset, #2");
}

extern "C" void guest_main(uint64_t, uint64_t)
{
    enable_distributor();
    cpu_setup();
    for (uint64_t cpu = 1; cpu < kCpus; cpu++) {
        call(kPsciCpuOn, cpu, reinterpret_cast<uint64_t>(secondary_entry), 0);
    }
    test("ipi-secondaries-ready", wait_until([] { return ready[1] && ready[2] && ready[3]; }, 5));

    // Phase 1: one SGI to each secondary, asleep in WFI.
    phase = 1;
    for (uint32_t cpu = 1; cpu < kCpus; cpu++) {
        send_sgi(1, 1u << cpu);
    }
    test("ipi-wakes-blocked-vcpus",
         wait_until([] { return total(1, 1) >= 1 && total(2, 1) >= 1 && total(3, 1) >= 1; }, 5));
    bool once = true;
    for (uint64_t cpu = 1; cpu < kCpus; cpu++) {
        once = once && total(cpu, 1) == 1;
    }
    test("ipi-delivered-once", once);

    // Phase 2: everyone sends SGI 4 + self to all others.
    phase = 2;
    send_sgi_to_others(kAllToAllSgi);
    phase_done[0] = 1;
    const auto all_arrived = [] {
        uint32_t n = 0;
        for (uint64_t t = 0; t < kCpus; t++) {
            for (uint32_t s = 0; s < kCpus; s++) {
                n += total(t, kAllToAllSgi + s);
            }
        }
        return n >= kCpus * (kCpus - 1);
    };
    test("ipi-all-to-all", wait_until(all_arrived, 5));
    bool each_source_once = true;
    for (uint64_t t = 0; t < kCpus; t++) {
        for (uint32_t s = 0; s < kCpus; s++) {
            each_source_once = each_source_once && total(t, kAllToAllSgi + s) == (t == s ? 0 : 1);
        }
    }
    test("ipi-all-to-all-each-source-once", each_source_once);
    test("ipi-source-reported", wrong_source == 0);

    // Phase 3: all 16 SGIs pending at vCPU 1 at once, more than its list
    // registers hold: they must all arrive, most urgent first.
    phase = 3;
    test("ipi-target-masked", wait_until([] { return masked != 0; }, 5));
    for (uint32_t sgi = 0; sgi < 16; sgi++) {
        send_sgi(sgi, 1u << 1);
    }
    release = 1;
    test("ipi-more-than-list-registers", wait_until([] { return order_count >= 16; }, 5));
    uint32_t seen = 0;
    for (uint32_t i = 0; i < order_count && i < 16; i++) {
        seen |= 1u << order[i];
    }
    test("ipi-sixteen-each-once", seen == 0xffff && order_count == 16);
    test("ipi-no-stray-interrupts", stray == 0);
    bool by_priority = order_count == 16;
    for (uint32_t i = 0; i < order_count && i < 16; i++) {
        by_priority = by_priority && order[i] == 15 - i;
    }
    test("ipi-priority-order", by_priority);
    char details[64];
    int n = snprintf(details, sizeof details, "order:");
    for (uint32_t i = 0; i < order_count && i < 16 && n < 60; i++) {
        n += snprintf(details + n, sizeof details - static_cast<size_t>(n), " %u", order[i]);
    }
    print("ipi: %s\n", details);
    phase = 4;
}
