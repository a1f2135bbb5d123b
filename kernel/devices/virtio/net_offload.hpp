// Checksum and segmentation offload on the virtual network (virtio 1.2,
// 5.1.6.2 and 5.1.6.4; docs/config.md, "Networks"): the virtio-net header
// a sender's driver puts before each frame, the checks that it describes
// the frame it comes with, the checksum Vireo completes for a receiver
// that did not take GUEST_CSUM, and the TCP segments it cuts a large
// (GSO) frame into for a receiver that did not take GUEST_TSO4/6.
// Nothing here trusts the header: every offset and length is checked
// against the frame before a byte is read or written.
// Pure logic: host tests and a fuzz target drive it.
#pragma once

#include <stddef.h>
#include <stdint.h>

/// struct virtio_net_hdr (5.1.6), little-endian, 12 bytes with VERSION_1.
struct NetHeader {
    static constexpr size_t kSize = 12;
    static constexpr uint8_t kNeedsCsum = 1, kDataValid = 2;                           // flags
    static constexpr uint8_t kGsoNone = 0, kGsoTcp4 = 1, kGsoTcp6 = 4, kGsoEcn = 0x80; // gso_type

    uint8_t flags = 0;
    uint8_t gso_type = kGsoNone;
    uint16_t hdr_len = 0;
    uint16_t gso_size = 0;
    uint16_t csum_start = 0;
    uint16_t csum_offset = 0;
    uint16_t num_buffers = 0;

    static NetHeader decode(const uint8_t (&bytes)[kSize]);
    void encode(uint8_t (&bytes)[kSize]) const;
    bool needs_csum() const { return (flags & kNeedsCsum) != 0; }
    uint8_t gso() const { return gso_type & static_cast<uint8_t>(~kGsoEcn); }
};

/// What one end of the network negotiated: as a sender (CSUM, HOST_*) or
/// as a receiver (GUEST_CSUM, GUEST_*).
struct Offloads {
    bool csum = false;
    bool tso4 = false;
    bool tso6 = false;
    bool ecn = false;
    /// Whether a frame with header `h` may go to this receiver as it is.
    bool takes_whole(const NetHeader& h) const;
};

/// Largest frames: one without segmentation offload (MTU 1500 and the
/// Ethernet header), and one with it (an IP datagram's 64 KiB and the
/// Ethernet header).
constexpr size_t kMaxPlainFrame = 1514;
constexpr size_t kMaxGsoFrame = 14 + 65535;

/// Whether frame [frame, frame + length) with header `h` is one a sender
/// that negotiated `sent` may send: nullptr if so, else why not (a line
/// for the log; the frame is dropped). A GSO frame must be TCP over IPv4
/// or IPv6 as its type says, ask for its TCP checksum, and cut into
/// segments of at most kMaxPlainFrame bytes.
const char* check_offload(const NetHeader& h, const Offloads& sent, const uint8_t* frame, size_t length);

/// Completes the checksum a NEEDS_CSUM frame asks for (5.1.6.2: the
/// ones'-complement sum from csum_start to the end, stored at csum_start +
/// csum_offset), in place; check_offload() passed the frame.
void complete_checksum(const NetHeader& h, uint8_t* frame, size_t length);

/// The TCP segments a GSO frame that check_offload() passed stands for
/// (each at most kMaxPlainFrame bytes): its headers copied, IPv4 total
/// length, ID and header checksum, IPv6 payload length, TCP sequence
/// number and flags (FIN and PSH on the last only, CWR on the first only)
/// fixed, the TCP checksum computed.
class TcpSegments {
public:
    TcpSegments(const NetHeader& h, const uint8_t* frame, size_t length);
    size_t count() const { return count_; }
    /// Writes segment `index` (< count()) to `out` (room for
    /// kMaxPlainFrame bytes); returns its length.
    size_t make(size_t index, uint8_t* out) const;

private:
    const uint8_t* frame_;
    size_t l4_ = 0;      // where the TCP header starts
    size_t headers_ = 0; // where the payload starts
    size_t payload_ = 0;
    size_t mss_ = 1;
    size_t count_ = 0;
    bool v4_ = true;
};
