// A hostile guest on a virtual network (docs/config.md, "Networks"), and
// a well-behaved peer (tests/configs/bare/netbad.dts). The hostile one
// gives its virtio network device descriptors outside its RAM, of absurd
// lengths, chains that loop, an available index far ahead and rings
// outside its RAM: each time the device must stop with DEVICE_NEEDS_RESET
// (Vireo logs one line and touches nothing), and work again after a reset.
// Then it sends one good broadcast frame, which the peer, which kept
// running all along, must receive intact.
#include <string.h>

#include "lib/gic.hpp"
#include "lib/guest.hpp"
#include "lib/vnet.hpp"

using namespace guest;
using namespace guest::vnet;
using guest::gic::frequency;

namespace {

constexpr uint16_t kSize = 8;

Queue<kSize> queues[2]; // 0 receive, 1 transmit
alignas(64) uint8_t rx_buffers[kSize][kHeader + kMaxFrame];
alignas(64) uint8_t tx_buffer[kHeader + 64];
uint16_t tx_avail;

/// Reset, features (VERSION_1), both queues, DRIVER_OK; the receive
/// queue full of buffers.
void bring_up()
{
    w32(kStatus, 0);
    memset(queues, 0, sizeof queues);
    tx_avail = 0;
    negotiate();
    for (uint16_t i = 0; i < kSize; i++) {
        queues[0].desc[i] = {addr(rx_buffers[i]), sizeof rx_buffers[i], kWrite, 0};
        queues[0].avail[2 + i] = i;
    }
    __atomic_store_n(&queues[0].avail[1], kSize, __ATOMIC_RELEASE);
    for (Queue<kSize>& q : queues) {
        setup_queue(static_cast<uint32_t>(&q - queues), q);
    }
    driver_ok();
}

/// Offers transmit chain `head` (its descriptors already written) and notifies.
void send(uint16_t head)
{
    queues[1].offer(tx_avail++, head);
    w32(kNotify, 1);
}

void hostile()
{
    bring_up();
    queues[1].desc[0] = {0x1000, 64, 0, 0}; // not its RAM
    send(0);
    test("netbad-buffer-outside-ram-needs-reset", needs_reset());
    bring_up();
    queues[1].desc[0] = {addr(tx_buffer), 0xffffffffu, 0, 0}; // runs far past its RAM
    send(0);
    test("netbad-absurd-length-needs-reset", needs_reset());
    bring_up();
    queues[1].desc[0] = {addr(tx_buffer), 8, kNext, 1};
    queues[1].desc[1] = {addr(tx_buffer), 8, kNext, 0}; // back to the head
    send(0);
    test("netbad-looping-chain-needs-reset", needs_reset());
    bring_up();
    queues[1].desc[0] = {addr(tx_buffer), 8, kNext, 77}; // next beyond the table
    send(0);
    test("netbad-next-outside-table-needs-reset", needs_reset());
    bring_up();
    __atomic_store_n(&queues[1].avail[1], uint16_t{1000}, __ATOMIC_RELEASE); // far ahead
    w32(kNotify, 1);
    test("netbad-available-index-ahead-needs-reset", needs_reset());
    bring_up();
    w32(kQueueSel, 1);
    w32(kQueueReady, 0);
    setup_queue(1, kSize, 0x7ff00000, addr(queues[1].avail), addr(queues[1].used)); // table outside its RAM
    test("netbad-ring-outside-ram-needs-reset", needs_reset());
    w32(kInterruptAck, 3);

    // After a reset the device works again: one good broadcast frame.
    bring_up();
    memset(tx_buffer, 0, sizeof tx_buffer);
    uint8_t* frame = tx_buffer + 12;
    memset(frame, 0xff, 6); // broadcast
    uint8_t own[6];
    mac(own);
    memcpy(frame + 6, own, 6); // its own address: the switch drops frames from any other
    frame[12] = 0x88;          // EtherType 0x88b5 (local experimental)
    frame[13] = 0xb5;
    memcpy(frame + 14, "still alive after abuse", 23);
    queues[1].desc[0] = {addr(tx_buffer), sizeof tx_buffer, 0, 0};
    // Every 50 ms for 3 s: the peer may not have its device up yet.
    for (uint16_t n = 1; n <= 60; n++) {
        send(0);
        const uint64_t start = counter();
        while (counter() - start < frequency() / 20) {
        }
        if (n == 1) {
            test("netbad-good-frame-sent-after-reset", queues[1].used_idx() == 1 && !needs_reset());
        }
    }
}

void peer()
{
    bring_up();
    // Wait (polling the used ring) for the hostile VM's good frame.
    const uint64_t start = counter();
    bool got = false;
    while (!got && counter() - start < 20 * frequency()) {
        const uint16_t n = queues[0].used_idx();
        for (uint16_t i = 0; i < n && !got; i++) {
            // used.ring[i].id: the low half of the element's first 32 bits (little-endian).
            const uint8_t* f = rx_buffers[queues[0].used_id(i) % kSize] + kHeader;
            got = f[12] == 0x88 && f[13] == 0xb5 && memcmp(f + 14, "still alive after abuse", 23) == 0;
        }
    }
    test("netbad-peer-received-the-good-frame", got && !needs_reset());
}

} // namespace

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    if (bootarg(dtb, "hostile", 0) != 0) {
        hostile();
    } else {
        peer();
    }
    call(kPsciSystemOff);
}
