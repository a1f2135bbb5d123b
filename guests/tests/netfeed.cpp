// One notification, a transmit queue that never empties, and a neighbour
// that must not notice (tests/configs/bare/netfeed.dts, docs/config.md
// "Networks"). The feeder VM's second vCPU keeps its transmit queue full
// for 2 s, never more than a queue ahead of what Vireo has taken, every
// entry one valid frame addressed to the feeder itself, while its first
// vCPU writes QueueNotify once. The ticker VM, on the feeder's first
// vCPU's physical CPU, takes its virtual timer every millisecond for 3 s
// and notes how late each interrupt came: never more than one time slice
// (10 ms), since Vireo moves a bounded number of frames per exit and does
// the rest in steps on the feeder's time, looking at interrupts between
// steps.
#include <stdio.h>

#include "lib/gic.hpp"
#include "lib/guest.hpp"
#include "lib/vnet.hpp"

using namespace guest;
using namespace guest::gic;

namespace {

constexpr uint16_t kSize = 256;
constexpr uint64_t kSliceMs = 10;

vnet::Queue<kSize> tx;
vnet::Queue<4> rx;
alignas(64) uint8_t tx_frame[vnet::kHeader + vnet::kMaxFrame];
alignas(64) uint8_t rx_buffers[4][vnet::kHeader + vnet::kMaxFrame];
volatile bool feeding = false;
volatile bool fed = false;
uint64_t offered = 0;

/// The second vCPU: keeps the transmit queue full for `ticks`, never notifying.
void feed(uint64_t ticks)
{
    uint16_t idx = 0;
    const uint64_t start = counter();
    while (counter() - start < ticks) {
        // A deadline 20 us ahead, masked (never taken): under QEMU's
        // -icount, CPUs take turns at timer deadlines, so this one gets to
        // run (and refill the queue) while the other is busy in Vireo.
        asm volatile("msr cntv_tval_el0, %0\n\tmsr cntv_ctl_el0, %1" ::"r"(frequency() / 50000), "r"(uint64_t{3}));
        while (static_cast<uint16_t>(idx - tx.used_idx()) < kSize) {
            tx.offer(idx, idx % kSize);
            idx++;
            offered++;
        }
        feeding = true; // a full queue: the first vCPU notifies
    }
    fed = true;
}

void feeder()
{
    vnet::negotiate();
    uint8_t own[6];
    vnet::mac(own);
    vnet::ether_header(tx_frame + vnet::kHeader, own, own); // to itself: the switch sends it nowhere
    vnet::point_all_at(tx, tx_frame, sizeof tx_frame);
    for (uint16_t i = 0; i < 4; i++) {
        rx.desc[i] = {vnet::addr(rx_buffers[i]), sizeof rx_buffers[i], vnet::kWrite, 0};
    }
    vnet::setup_queue(0, rx);
    vnet::setup_queue(1, tx);
    vnet::driver_ok();
    call(kPsciCpuOn, 1, reinterpret_cast<uint64_t>(secondary_entry), 0);
    // 300 ms first, giving the CPU away: the ticker, on this CPU, is taking its timer by then.
    const uint64_t boot = counter();
    while (!feeding || counter() - boot < frequency() * 3 / 10) {
        call(kHcYield);
    }
    const uint64_t start = counter();
    vnet::w32(vnet::kNotify, 1); // once
    const uint64_t took = counter() - start;
    while (!fed) {
    }
    char details[80];
    snprintf(details, sizeof details, "%lu frames offered, %u taken, the notification took %lu ms", offered,
             tx.used_idx(), took * 1000 / frequency());
    print("netfeed: %s\n", details);
    test("netfeed-frames-moved", tx.used_idx() + 0u == offered % 65536 && offered > 4 * kSize && !vnet::needs_reset(),
         details);
}

volatile uint64_t worst_late = 0;
volatile uint64_t taken = 0;
uint64_t period;

void ticker()
{
    const uint64_t freq = frequency();
    period = freq / 1000;
    enable_private(kTimer);
    enable_distributor();
    enable_cpu_interface();
    const uint64_t start = counter();
    arm_timer(period);
    asm volatile("msr daifclr, #2");
    while (counter() - start < 3 * freq) {
        asm volatile("wfi");
    }
    asm volatile("msr daifset, #2");
    stop_timer();
    char details[64];
    snprintf(details, sizeof details, "%lu interrupts, the latest %lu us late", taken, worst_late * 1000000 / freq);
    print("ticker: %s\n", details);
    test("netfeed-neighbour-timer-within-a-slice", taken > 100 && worst_late <= kSliceMs * freq / 1000, details);
}

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = acknowledge();
    if ((iar & 0x3ff) == kTimer) {
        const uint64_t late = timer_lateness();
        worst_late = late > worst_late ? late : worst_late;
        taken = taken + 1;
        arm_timer(period);
    }
    end(iar);
}

extern "C" void guest_secondary(uint64_t, uint64_t) { feed(2 * frequency()); }

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    if (bootarg(dtb, "feeder", 0) != 0) {
        feeder();
    } else {
        ticker();
    }
}
