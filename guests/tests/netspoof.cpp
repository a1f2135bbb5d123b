// Three VMs on one virtual network (tests/configs/bare/netspoof.dts,
// docs/config.md "Networks"): alpha and beta exchange numbered, checked
// requests and replies for 3 s while the attacker, having heard their
// addresses in their greetings, sends frames with beta's address as their
// source every 5 ms, then from 64 new source addresses, then floods the
// network with broadcasts. The switch delivers unicast by the addresses
// Vireo gave the ports, drops frames from addresses not the sender's own
// and limits each port's broadcasts: alpha loses no reply (and rarely
// has to ask twice), and the attacker overhears none of their unicast.
#include <stdio.h>

#include "lib/gic.hpp"
#include "lib/guest.hpp"
#include "lib/vnet.hpp"

using namespace guest;
using guest::gic::frequency;

namespace {

constexpr uint16_t kRxSize = 256; // a broadcast burst (64) and 190 ms of the rate: room while the host runs others
constexpr uint16_t kSize = 16;
constexpr uint8_t kHello = 0, kRequest = 1, kReply = 2, kNoise = 3;
constexpr uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
enum Role : uint64_t { kAlpha = 0, kBeta = 1, kAttacker = 2 };

vnet::Queue<kRxSize> rx;
vnet::Queue<kSize> tx;
alignas(64) uint8_t rx_buffers[kRxSize][vnet::kHeader + vnet::kMaxFrame];
alignas(64) uint8_t tx_buffers[kSize][vnet::kHeader + vnet::kMaxFrame];
uint16_t rx_seen = 0; // used entries of the receive queue handled
uint16_t tx_next = 0;
uint8_t own[6];
uint8_t peers[3][6]; // by role, once heard
bool heard[3] = {};
uint64_t role;
uint64_t overheard = 0; // unicast frames for somebody else

// The frames: EtherType 0x88b5 (local experimental), then "VIRO", kind,
// the sender's role and a 32-bit number, then bytes that follow from it.
struct Payload {
    uint8_t magic[4];
    uint8_t kind;
    uint8_t role;
    uint32_t seq;
};
constexpr size_t kPayloadAt = 14;
constexpr size_t kFill = 32;

void bring_up()
{
    vnet::negotiate();
    vnet::mac(own);
    for (uint16_t i = 0; i < kRxSize; i++) {
        rx.desc[i] = {vnet::addr(rx_buffers[i]), sizeof rx_buffers[i], vnet::kWrite, 0};
        rx.avail[2 + i] = i;
    }
    __atomic_store_n(&rx.avail[1], kRxSize, __ATOMIC_RELEASE);
    vnet::setup_queue(0, rx);
    vnet::setup_queue(1, tx);
    vnet::driver_ok();
}

/// Queues a frame (not yet sent: notify() sends what is queued).
void queue(const uint8_t* dst, const uint8_t* src, uint8_t kind, uint32_t seq, size_t length = 64)
{
    const uint16_t slot = tx_next % kSize;
    uint8_t* f = tx_buffers[slot] + vnet::kHeader;
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x88;
    f[13] = 0xb5;
    const Payload p{{'V', 'I', 'R', 'O'}, kind, static_cast<uint8_t>(role), seq};
    memcpy(f + kPayloadAt, &p, sizeof p);
    for (size_t i = 0; i < kFill; i++) {
        f[kPayloadAt + sizeof p + i] = static_cast<uint8_t>(seq * 7 + i);
    }
    tx.desc[slot] = {vnet::addr(tx_buffers[slot]), static_cast<uint32_t>(vnet::kHeader + length), 0, 0};
    tx.offer(tx_next++, slot);
}

/// Sends what is queued: Vireo has taken all of it when the write returns.
void notify() { vnet::w32(vnet::kNotify, 1); }

void send(const uint8_t* dst, uint8_t kind, uint32_t seq)
{
    queue(dst, own, kind, seq);
    notify();
}

/// Handles every frame received since the last call; true if it was the
/// reply `want` (alpha) or calls `on_request` for requests (beta).
bool poll(uint32_t want = ~0u)
{
    bool got = false;
    for (; rx_seen != rx.used_idx(); rx_seen++) {
        const uint16_t head = rx.used_id(rx_seen);
        const uint8_t* f = rx_buffers[head % kRxSize] + vnet::kHeader;
        Payload p;
        memcpy(&p, f + kPayloadAt, sizeof p);
        const bool ours = f[12] == 0x88 && f[13] == 0xb5 && memcmp(p.magic, "VIRO", 4) == 0 && p.role < 3;
        const bool unicast = (f[0] & 1) == 0;
        if (unicast && memcmp(f, own, 6) != 0) {
            overheard++;
        }
        bool intact = ours;
        for (size_t i = 0; intact && i < kFill; i++) {
            intact = f[kPayloadAt + sizeof p + i] == static_cast<uint8_t>(p.seq * 7 + i);
        }
        if (intact && p.kind == kHello && !heard[p.role]) {
            memcpy(peers[p.role], f + 6, 6);
            heard[p.role] = true;
        }
        if (intact && p.kind == kRequest && role == kBeta && unicast) {
            send(f + 6, kReply, p.seq);
        }
        got = got || (intact && p.kind == kReply && p.seq == want && memcmp(f + 6, peers[kBeta], 6) == 0);
        rx.offer(static_cast<uint16_t>(rx_seen + kRxSize), head); // the buffer back to the device
    }
    return got;
}

uint64_t ms(uint64_t n) { return frequency() / 1000 * n; }

/// Greets every 20 ms until `ready()`, then for the rest of the test every 200 ms.
template <typename Ready> void greet_until(Ready ready)
{
    uint64_t last = 0;
    while (!ready()) {
        if (counter() - last > ms(20)) {
            send(kBroadcast, kHello, 0);
            last = counter();
        }
        poll();
    }
}

void alpha(uint64_t end)
{
    greet_until([] { return heard[kBeta]; });
    uint32_t exchanges = 0, lost = 0, resent = 0;
    uint64_t greeted = counter();
    while (counter() < end) {
        // A request goes again after 250 ms without its reply: a receiver the
        // host did not run for a while can find its queue full, as on any
        // Ethernet. Lost is no reply in 1 s; resending must stay rare.
        bool got = false;
        for (int attempt = 0; attempt < 4 && !got; attempt++) {
            resent += attempt != 0 ? 1 : 0;
            send(peers[kBeta], kRequest, exchanges);
            const uint64_t sent = counter();
            while (!got && counter() - sent < ms(250)) {
                got = poll(exchanges);
            }
        }
        lost += got ? 0 : 1;
        exchanges++;
        if (counter() - greeted > ms(200)) {
            send(kBroadcast, kHello, 0); // for a peer that came late
            greeted = counter();
        }
    }
    char details[64];
    snprintf(details, sizeof details, "%u exchanges, %u lost, %u requests sent again", exchanges, lost, resent);
    print("alpha: %s\n", details);
    // 120-1300 exchanges seen under TCG with other tests beside it; 20 over the 3 s the attack mostly spans.
    test("netspoof-no-reply-lost", lost == 0 && exchanges >= 20 && resent * 10 <= exchanges, details);
}

void beta(uint64_t end)
{
    greet_until([] { return heard[kAlpha]; });
    uint64_t greeted = counter();
    while (counter() < end) {
        poll();
        if (counter() - greeted > ms(200)) {
            send(kBroadcast, kHello, 0);
            greeted = counter();
        }
    }
}

void attacker(uint64_t end)
{
    greet_until([] { return heard[kAlpha] && heard[kBeta]; });
    // Frames with beta's address as their source, to itself, every 5 ms for 500 ms.
    uint64_t start = counter();
    uint32_t spoofed = 0;
    while (counter() - start < ms(500)) {
        queue(own, peers[kBeta], kNoise, spoofed++);
        notify();
        const uint64_t sent = counter();
        while (counter() - sent < ms(5)) {
            poll();
        }
    }
    // 64 new source addresses: a learning switch's table flushed.
    for (uint32_t i = 0; i < 64; i++) {
        const uint8_t fresh[6] = {0x02, 0x5f, 0x00, 0x00, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
        queue(kBroadcast, fresh, kNoise, i);
        if (i % 8 == 7) {
            notify();
            poll();
        }
    }
    // Then a broadcast storm of full-sized frames, kSize at a time, for 1 s.
    start = counter();
    uint64_t storm = 0;
    while (counter() - start < ms(1000)) {
        for (uint16_t i = 0; i < kSize; i++) {
            queue(kBroadcast, own, kNoise, static_cast<uint32_t>(storm++), vnet::kMaxFrame);
        }
        notify();
        poll();
    }
    while (counter() < end) {
        poll();
    }
    char details[80];
    snprintf(details, sizeof details, "%u spoofed, %lu storm frames sent; %lu unicast frames overheard", spoofed, storm,
             overheard);
    print("attacker: %s\n", details);
    test("netspoof-attacker-overheard-nothing", overheard == 0 && storm > 1000, details);
}

} // namespace

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    role = bootarg(dtb, "role", kAlpha);
    bring_up();
    const uint64_t end = counter() + 3 * frequency();
    switch (role) {
    case kAlpha: alpha(end); break;
    case kBeta: beta(end + ms(1500)); break; // answering until alpha has its last reply
    default: attacker(end + ms(500)); break;
    }
    test("netspoof-device-never-needed-a-reset", !vnet::needs_reset());
}
