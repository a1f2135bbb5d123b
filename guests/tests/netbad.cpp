// A hostile guest on a virtual network (docs/config.md, "Networks"), and
// a well-behaved peer (tests/configs/bare/netbad.dts). The hostile one
// gives its virtio network device descriptors outside its RAM, of absurd
// lengths, chains that loop, an available index far ahead and rings
// outside its RAM: each time the device must stop with DEVICE_NEEDS_RESET
// (Vireo logs one line and touches nothing), and work again after a reset.
// With checksum and segmentation offload negotiated it sends offload
// headers that lie (a segment size of 0, segments over 1514 bytes, a
// header length and a checksum offset past the frame): each frame is
// dropped with a line, the device keeps working. Then it sends one good
// broadcast frame and one 3000-byte TCP frame for segmentation, which the
// peer, which kept running all along and negotiated no offload, must
// receive intact: the one frame, and three TCP segments with their
// checksums computed.
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

// The TCP/IPv4 frame for segmentation: 3000 bytes of payload in segments of 1448.
constexpr uint32_t kTcpHeaders = 14 + 20 + 20, kPayload = 3000, kMss = 1448, kSeq = 0x10000000;
alignas(64) uint8_t gso_buffer[kHeader + kTcpHeaders + kPayload];

uint32_t sum16(const uint8_t* p, uint32_t n, uint32_t sum = 0)
{
    for (uint32_t i = 0; i + 1 < n; i += 2) {
        sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    }
    sum += (n & 1) != 0 ? static_cast<uint32_t>(p[n - 1] << 8) : 0;
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

/// The virtio-net header and the frame a driver with TSO sends: the TCP
/// checksum field holds the pseudo-header's sum, for the device to complete.
void make_gso_frame(const uint8_t (&own)[6])
{
    memset(gso_buffer, 0, sizeof gso_buffer);
    uint8_t* h = gso_buffer;
    h[0] = 1;           // NEEDS_CSUM
    h[1] = 1;           // GSO TCPV4
    h[2] = kTcpHeaders; // hdr_len
    h[4] = kMss & 0xff; // gso_size
    h[5] = kMss >> 8;
    h[6] = 34; // csum_start: the TCP header
    h[8] = 16; // csum_offset: its checksum
    uint8_t* f = gso_buffer + kHeader;
    memset(f, 0xff, 6);
    memcpy(f + 6, own, 6);
    f[12] = 0x08;
    uint8_t* ip = f + 14;
    const uint8_t ip_header[20] = {0x45, 0, 0x0b, 0xe0, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
    memcpy(ip, ip_header, sizeof ip_header);
    uint8_t* tcp = f + 34;
    const uint8_t tcp_header[20] = {0x9c, 0x40, 0x13, 0x88, kSeq >> 24, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x19};
    memcpy(tcp, tcp_header, sizeof tcp_header); // ACK, PSH, FIN
    for (uint32_t i = 0; i < kPayload; i++) {
        tcp[20 + i] = static_cast<uint8_t>(i * 7);
    }
    const uint32_t partial = sum16(ip + 12, 8, 6 + 20 + kPayload);
    tcp[16] = static_cast<uint8_t>(partial >> 8);
    tcp[17] = static_cast<uint8_t>(partial);
}

/// Whether `f` (`length` bytes) is one of make_gso_frame()'s segments with
/// its checksums right and its payload where it belongs; its index, or -1.
int segment_index(const uint8_t* f, uint32_t length)
{
    const uint8_t* ip = f + 14;
    const uint8_t* tcp = f + 34;
    if (length <= kTcpHeaders || f[12] != 0x08 || ip[9] != 6 || tcp[2] != 0x13 || tcp[3] != 0x88) {
        return -1;
    }
    const uint32_t n = length - kTcpHeaders;
    const uint32_t offset = static_cast<uint32_t>(tcp[4] << 24 | tcp[5] << 16 | tcp[6] << 8 | tcp[7]) - kSeq;
    const bool last = offset + n == kPayload;
    const bool fin = (tcp[13] & 1) != 0;
    bool payload = offset % kMss == 0 && offset + n <= kPayload && (n == kMss || last) && fin == last;
    for (uint32_t i = 0; payload && i < n; i++) {
        payload = tcp[20 + i] == static_cast<uint8_t>((offset + i) * 7);
    }
    const bool ip_ok = sum16(ip, 20) == 0xffff && (ip[2] << 8 | ip[3]) == 40 + static_cast<int>(n);
    const bool tcp_ok = sum16(tcp, 20 + n, sum16(ip + 12, 8, 6 + 20 + n)) == 0xffff;
    return payload && ip_ok && tcp_ok ? static_cast<int>(offset / kMss) : -1;
}

/// Reset, features (VERSION_1 and `features`), both queues, DRIVER_OK;
/// the receive queue full of buffers.
void bring_up(uint32_t features = 0)
{
    w32(kStatus, 0);
    memset(queues, 0, sizeof queues);
    tx_avail = 0;
    negotiate(features);
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

    // Offload headers that lie, each at one field of a good frame: dropped, the device fine.
    bring_up(kCsum | kHostTso4);
    uint8_t own[6];
    mac(own);
    const struct {
        uint32_t offset; // in the virtio-net header
        uint16_t value;
    } lies[] = {{4, 0}, {4, 1500}, {2, 0xffff}, {6, 0xfff0}}; // gso_size, gso_size, hdr_len, csum_start
    queues[1].desc[1] = {addr(gso_buffer), sizeof gso_buffer, 0, 0};
    for (const auto& lie : lies) {
        make_gso_frame(own);
        memcpy(gso_buffer + lie.offset, &lie.value, 2);
        send(1);
    }
    test("netbad-lying-offload-headers-dropped", queues[1].used_idx() == 4 && !needs_reset());

    // The device works: one good broadcast frame, and one for segmentation.
    bring_up(kCsum | kHostTso4);
    make_gso_frame(own);
    queues[1].desc[1] = {addr(gso_buffer), sizeof gso_buffer, 0, 0};
    memset(tx_buffer, 0, sizeof tx_buffer);
    uint8_t* frame = tx_buffer + 12;
    memset(frame, 0xff, 6);    // broadcast
    memcpy(frame + 6, own, 6); // its own address: the switch drops frames from any other
    frame[12] = 0x88;          // EtherType 0x88b5 (local experimental)
    frame[13] = 0xb5;
    memcpy(frame + 14, "still alive after abuse", 23);
    queues[1].desc[0] = {addr(tx_buffer), sizeof tx_buffer, 0, 0};
    // Every 50 ms for 3 s: the peer may not have its device up yet.
    for (uint16_t n = 1; n <= 60; n++) {
        send(1);
        send(0);
        const uint64_t start = counter();
        while (counter() - start < frequency() / 20) {
        }
        if (n == 1) {
            test("netbad-good-frame-sent-after-reset", queues[1].used_idx() == 2 && !needs_reset());
        }
    }
}

void peer()
{
    bring_up();
    // Wait (polling the used ring) for the hostile VM's good frame and the
    // three segments of its TCP frame (bit n: segment n).
    const uint64_t start = counter();
    bool got = false;
    uint32_t segments = 0;
    while ((!got || segments != 7) && counter() - start < 20 * frequency()) {
        const uint16_t n = queues[0].used_idx();
        for (uint16_t i = 0; i < n; i++) {
            // used.ring[i]: id and len, the low halves of its two 32-bit words (little-endian).
            const uint8_t* f = rx_buffers[queues[0].used_id(i) % kSize] + kHeader;
            const uint32_t length = queues[0].used[2 + 4 * (i % kSize) + 2] - kHeader;
            got = got || (f[12] == 0x88 && f[13] == 0xb5 && memcmp(f + 14, "still alive after abuse", 23) == 0);
            const int index = segment_index(f, length);
            segments |= index >= 0 ? 1u << index : 0;
        }
    }
    test("netbad-peer-received-the-good-frame", got && !needs_reset());
    test("netbad-peer-received-checked-tcp-segments", segments == 7);
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
