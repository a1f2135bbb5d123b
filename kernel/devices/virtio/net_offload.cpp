#include "kernel/devices/virtio/net_offload.hpp"

#include <string.h>

namespace {

constexpr size_t kEthernet = 14; // destination, source, EtherType (no VLAN tag: segmentation refuses one)
constexpr uint16_t kIpv4 = 0x0800, kIpv6 = 0x86dd;
constexpr uint8_t kTcp = 6;
constexpr size_t kTcpChecksum = 16; // the checksum's offset in the TCP header (RFC 9293)
constexpr uint8_t kFin = 0x01, kPsh = 0x08, kCwr = 0x80;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) { return uint32_t{be16(p)} << 16 | be16(p + 2); }
void put_be16(uint8_t* p, uint32_t v)
{
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
void put_be32(uint8_t* p, uint32_t v)
{
    put_be16(p, v >> 16);
    put_be16(p + 2, v);
}
uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
void put_le16(uint8_t* p, uint16_t v)
{
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
}

/// The ones'-complement sum of RFC 1071, unfolded: big-endian 16-bit
/// words, an odd last byte the high half of a word.
uint64_t add_bytes(uint64_t sum, const uint8_t* p, size_t n)
{
    for (; n >= 2; p += 2, n -= 2) {
        sum += be16(p);
    }
    return n != 0 ? sum + (uint32_t{p[0]} << 8) : sum;
}

uint16_t folded(uint64_t sum)
{
    while ((sum >> 16) != 0) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<uint16_t>(sum);
}

/// Where a TCP/IPv4 or TCP/IPv6 frame's TCP header and payload start.
struct TcpLayout {
    size_t l4 = 0;
    size_t headers = 0;
    bool v4 = true;
};

/// The frame's TCP layout; false if it is not an unfragmented TCP segment
/// over IPv4 or IPv6 (without extension headers) whose headers all lie in it.
bool tcp_layout(const uint8_t* frame, size_t length, TcpLayout& out)
{
    if (length < kEthernet + 40) {
        return false; // shorter than the smallest IP and TCP headers
    }
    const uint8_t* ip = frame + kEthernet;
    const uint16_t type = be16(frame + 12);
    if (type == kIpv4) {
        const size_t ihl = static_cast<size_t>(ip[0] & 0xf) * 4;
        const bool fragment = (be16(ip + 6) & 0x3fff) != 0; // MF or a fragment offset
        if (ip[0] >> 4 != 4 || ihl < 20 || ip[9] != kTcp || fragment) {
            return false;
        }
        out.l4 = kEthernet + ihl;
        out.v4 = true;
    } else if (type == kIpv6) {
        if (ip[0] >> 4 != 6 || ip[6] != kTcp) {
            return false;
        }
        out.l4 = kEthernet + 40;
        out.v4 = false;
    } else {
        return false;
    }
    if (out.l4 + 20 > length) {
        return false;
    }
    const size_t data_offset = static_cast<size_t>(frame[out.l4 + 12] >> 4) * 4;
    out.headers = out.l4 + data_offset;
    return data_offset >= 20 && out.headers <= length;
}

} // namespace

NetHeader NetHeader::decode(const uint8_t (&b)[kSize])
{
    NetHeader h;
    h.flags = b[0];
    h.gso_type = b[1];
    h.hdr_len = le16(b + 2);
    h.gso_size = le16(b + 4);
    h.csum_start = le16(b + 6);
    h.csum_offset = le16(b + 8);
    h.num_buffers = le16(b + 10);
    return h;
}

void NetHeader::encode(uint8_t (&b)[kSize]) const
{
    b[0] = flags;
    b[1] = gso_type;
    put_le16(b + 2, hdr_len);
    put_le16(b + 4, gso_size);
    put_le16(b + 6, csum_start);
    put_le16(b + 8, csum_offset);
    put_le16(b + 10, num_buffers);
}

bool Offloads::takes_whole(const NetHeader& h) const
{
    if (h.gso() == NetHeader::kGsoNone) {
        return !h.needs_csum() || csum;
    }
    const bool ecn_ok = (h.gso_type & NetHeader::kGsoEcn) == 0 || ecn;
    return csum && ecn_ok && (h.gso() == NetHeader::kGsoTcp4 ? tso4 : tso6);
}

const char* check_offload(const NetHeader& h, const Offloads& sent, const uint8_t* frame, size_t length)
{
    if (h.needs_csum()) {
        if (!sent.csum) {
            return "a checksum offload it did not negotiate (CSUM)";
        }
        if (size_t{h.csum_start} + h.csum_offset + 2 > length) {
            return "a checksum offset past the frame's end";
        }
    }
    if (h.gso_type == NetHeader::kGsoNone) {
        return length <= kMaxPlainFrame ? nullptr : "a frame over 1514 bytes without segmentation offload";
    }
    const bool v4 = h.gso() == NetHeader::kGsoTcp4;
    const bool ecn = (h.gso_type & NetHeader::kGsoEcn) != 0;
    if ((!v4 && h.gso() != NetHeader::kGsoTcp6) || !(v4 ? sent.tso4 : sent.tso6) || (ecn && !sent.ecn)) {
        return "a segmentation offload type it did not negotiate";
    }
    if (h.hdr_len > length) {
        return "a header length past the frame's end";
    }
    if (h.gso_size == 0) {
        return "segmentation offload with a segment size of 0";
    }
    TcpLayout t;
    if (!tcp_layout(frame, length, t) || t.v4 != v4 || t.headers == length) {
        return "segmentation offload of a frame that is not TCP over IP as its type says";
    }
    if (!h.needs_csum() || h.csum_start != t.l4 || h.csum_offset != kTcpChecksum) {
        return "segmentation offload without its TCP checksum to complete";
    }
    if (t.headers + h.gso_size > kMaxPlainFrame) {
        return "segmentation offload into segments over 1514 bytes";
    }
    return nullptr;
}

void complete_checksum(const NetHeader& h, uint8_t* frame, size_t length)
{
    // The field holds the pseudo-header's sum the driver put there; the sum
    // over it and the rest is the checksum (5.1.6.2).
    const uint16_t sum = folded(add_bytes(0, frame + h.csum_start, length - h.csum_start));
    put_be16(frame + h.csum_start + h.csum_offset, static_cast<uint16_t>(~sum));
}

TcpSegments::TcpSegments(const NetHeader& h, const uint8_t* frame, size_t length) : frame_(frame)
{
    TcpLayout t;
    if (!tcp_layout(frame, length, t) || h.gso_size == 0) {
        return; // check_offload() refuses these: no segments
    }
    l4_ = t.l4;
    headers_ = t.headers;
    v4_ = t.v4;
    payload_ = length - t.headers;
    mss_ = h.gso_size;
    count_ = (payload_ + mss_ - 1) / mss_;
}

size_t TcpSegments::make(size_t index, uint8_t* out) const
{
    const size_t offset = index * mss_;
    const size_t n = payload_ - offset < mss_ ? payload_ - offset : mss_;
    memcpy(out, frame_, headers_);
    memcpy(out + headers_, frame_ + headers_ + offset, n);
    const auto tcp_length = static_cast<uint32_t>(headers_ - l4_ + n);
    uint8_t* ip = out + kEthernet;
    uint64_t pseudo;
    if (v4_) {
        put_be16(ip + 2, static_cast<uint32_t>(l4_ - kEthernet) + tcp_length); // total length
        put_be16(ip + 4, be16(ip + 4) + static_cast<uint32_t>(index));         // identification
        put_be16(ip + 10, 0);
        put_be16(ip + 10, static_cast<uint16_t>(~folded(add_bytes(0, ip, l4_ - kEthernet))));
        pseudo = add_bytes(0, ip + 12, 8); // source and destination
    } else {
        put_be16(ip + 4, tcp_length); // payload length
        pseudo = add_bytes(0, ip + 8, 32);
    }
    uint8_t* tcp = out + l4_;
    put_be32(tcp + 4, be32(tcp + 4) + static_cast<uint32_t>(offset)); // sequence number
    if (index + 1 < count_) {
        tcp[13] &= static_cast<uint8_t>(~(kFin | kPsh));
    }
    if (index > 0) {
        tcp[13] &= static_cast<uint8_t>(~kCwr); // congestion window reduced: said once
    }
    put_be16(tcp + kTcpChecksum, 0);
    const uint64_t sum = add_bytes(pseudo + kTcp + tcp_length, tcp, tcp_length);
    put_be16(tcp + kTcpChecksum, static_cast<uint16_t>(~folded(sum)));
    return headers_ + n;
}
