// Transmit batching has a bound (docs/config.md, "Networks"). A kick of
// the transmit queue within 1 ms of the vCPU's previous one, its
// interrupts unmasked, is done at the vCPU's next exit; this guest makes
// none: it sends 200 frames, each as soon as the last was used, and waits
// for each by polling the used ring with interrupts unmasked but none
// enabled, as a polling driver may. Every frame must still be used within
// the bound (1 ms, under -icount an exact counter), not when the guest
// happens to exit. It notes how long the longest took.
#include <stdio.h>
#include <string.h>

#include "lib/gic.hpp"
#include "lib/guest.hpp"
#include "lib/vnet.hpp"

using namespace guest;

namespace {

constexpr uint16_t kSize = 16;
constexpr uint32_t kFrames = 200;

vnet::Queue<kSize> tx;
vnet::Queue<4> rx;
alignas(64) uint8_t frame[vnet::kHeader + 64];
alignas(64) uint8_t rx_buffers[4][vnet::kHeader + vnet::kMaxFrame];

} // namespace

extern "C" void guest_main(uint64_t, uint64_t)
{
    vnet::negotiate();
    uint8_t own[6];
    vnet::mac(own);
    const uint8_t nobody[6] = {0x02, 0, 0, 0, 0, 1}; // the switch drops it (counted): only its use matters here
    vnet::ether_header(frame + vnet::kHeader, nobody, own);
    vnet::point_all_at(tx, frame, sizeof frame);
    for (uint16_t i = 0; i < 4; i++) {
        rx.desc[i] = {vnet::addr(rx_buffers[i]), sizeof rx_buffers[i], vnet::kWrite, 0};
    }
    vnet::setup_queue(0, rx);
    vnet::setup_queue(1, tx);
    vnet::driver_ok();

    const uint64_t freq = gic::frequency();
    uint64_t longest = 0;
    uint32_t used = 0;
    asm volatile("msr daifclr, #2"); // unmasked, and nothing enabled at the GIC: no interrupt comes
    for (uint32_t i = 0; i < kFrames; i++) {
        tx.offer(static_cast<uint16_t>(i), static_cast<uint16_t>(i % kSize));
        vnet::w32(vnet::kNotify, 1);
        const uint64_t start = counter();
        while (tx.used_idx() != static_cast<uint16_t>(i + 1) && counter() - start < 2 * freq) {
        }
        const uint64_t took = counter() - start;
        longest = took > longest ? took : longest;
        if (tx.used_idx() != static_cast<uint16_t>(i + 1)) {
            break;
        }
        used++;
    }
    asm volatile("msr daifset, #2");
    char details[96];
    snprintf(details, sizeof details, "%u of %u frames used, the longest wait %lu us", used, kFrames,
             longest * 1000000 / freq);
    print("netburst: %s\n", details);
    test("netburst-every-frame-used-within-the-bound", used == kFrames && longest <= 2 * freq / 1000, details);
}
