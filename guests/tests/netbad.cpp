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

using namespace guest;
using guest::gic::frequency;

namespace {

constexpr uint64_t kDev = 0x0a200000;
constexpr uint64_t kStatus = 0x070, kQueueSel = 0x030, kQueueNum = 0x038, kQueueReady = 0x044, kNotify = 0x050,
                   kDescLow = 0x080, kDescHigh = 0x084, kDriverLow = 0x090, kDeviceLow = 0x0a0,
                   kDriverFeaturesSel = 0x024, kDriverFeatures = 0x020, kInterruptAck = 0x064;
constexpr uint32_t kAck = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8, kNeedsReset = 64;
constexpr uint16_t kSize = 8;
constexpr uint16_t kNext = 1, kWrite = 2;

void w32(uint64_t off, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(kDev + off) = v; }
uint32_t r32(uint64_t off) { return *reinterpret_cast<volatile uint32_t*>(kDev + off); }

struct Desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
struct Queue {
    alignas(4096) Desc desc[kSize];
    alignas(4096) uint16_t avail[3 + kSize];
    alignas(4096) uint16_t used[3 + 4 * kSize];
};
Queue queues[2]; // 0 receive, 1 transmit
alignas(64) uint8_t rx_buffers[kSize][12 + 1514];
alignas(64) uint8_t tx_buffer[12 + 64];
uint16_t tx_avail;

uint64_t addr(const void* p) { return reinterpret_cast<uint64_t>(p); }

void setup_queue(uint32_t index, uint64_t desc, uint64_t driver, uint64_t device)
{
    w32(kQueueSel, index);
    w32(kQueueNum, kSize);
    w32(kDescLow, static_cast<uint32_t>(desc));
    w32(kDescHigh, static_cast<uint32_t>(desc >> 32));
    w32(kDriverLow, static_cast<uint32_t>(driver));
    w32(kDeviceLow, static_cast<uint32_t>(device));
    w32(kQueueReady, 1);
}

/// Reset, features (VERSION_1), both queues, DRIVER_OK; the receive
/// queue full of buffers.
void bring_up()
{
    w32(kStatus, 0);
    memset(queues, 0, sizeof queues);
    tx_avail = 0;
    w32(kStatus, kAck | kDriver);
    w32(kDriverFeaturesSel, 1);
    w32(kDriverFeatures, 1);
    w32(kDriverFeaturesSel, 0);
    w32(kDriverFeatures, 0);
    w32(kStatus, kAck | kDriver | kFeaturesOk);
    for (uint16_t i = 0; i < kSize; i++) {
        queues[0].desc[i] = {addr(rx_buffers[i]), sizeof rx_buffers[i], kWrite, 0};
        queues[0].avail[2 + i] = i;
    }
    __atomic_store_n(&queues[0].avail[1], kSize, __ATOMIC_RELEASE);
    for (uint32_t q = 0; q < 2; q++) {
        setup_queue(q, addr(queues[q].desc), addr(queues[q].avail), addr(queues[q].used));
    }
    w32(kStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
}

/// Offers transmit chain `head` (its descriptors already written) and notifies.
void send(uint16_t head)
{
    queues[1].avail[2 + tx_avail % kSize] = head;
    tx_avail++;
    __atomic_store_n(&queues[1].avail[1], tx_avail, __ATOMIC_RELEASE);
    w32(kNotify, 1);
}

bool needs_reset() { return (r32(kStatus) & kNeedsReset) != 0; }

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
    setup_queue(1, 0x7ff00000, addr(queues[1].avail), addr(queues[1].used)); // table outside its RAM
    test("netbad-ring-outside-ram-needs-reset", needs_reset());
    w32(kInterruptAck, 3);

    // After a reset the device works again: one good broadcast frame.
    bring_up();
    memset(tx_buffer, 0, sizeof tx_buffer);
    uint8_t* frame = tx_buffer + 12;
    memset(frame, 0xff, 6);                           // broadcast
    memcpy(frame + 6, "\x02\x00\x00\x00\x00\x01", 6); // a source address
    frame[12] = 0x88;                                 // EtherType 0x88b5 (local experimental)
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
            test("netbad-good-frame-sent-after-reset",
                 __atomic_load_n(&queues[1].used[1], __ATOMIC_ACQUIRE) == 1 && !needs_reset());
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
        const uint16_t n = __atomic_load_n(&queues[0].used[1], __ATOMIC_ACQUIRE);
        for (uint16_t i = 0; i < n && !got; i++) {
            // used.ring[i].id: the low half of the element's first 32 bits (little-endian).
            const uint32_t id = __atomic_load_n(&queues[0].used[2 + 4 * i], __ATOMIC_RELAXED);
            const uint8_t* f = rx_buffers[id % kSize] + 12;
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
