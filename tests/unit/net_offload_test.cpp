// Checksum and segmentation offload on the virtual network
// (kernel/devices/virtio/net_offload.hpp, frame_pump.hpp): headers that
// lie are refused, checksums completed as RFC 1071 says, 64 KiB TCP frames
// cut into segments a receiver without TSO takes, and each receiver gets a
// frame as it negotiated.
#include <cstring>
#include <gtest/gtest.h>
#include <vector>

#include "kernel/devices/virtio/frame_pump.hpp"
#include "kernel/devices/virtio/net_offload.hpp"

namespace {

constexpr uint8_t kFin = 0x01, kPsh = 0x08, kAck = 0x10, kCwr = 0x80;

uint32_t sum_words(const uint8_t* p, size_t n, uint32_t sum = 0)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    }
    return (n & 1) != 0 ? sum + (static_cast<uint32_t>(p[n - 1]) << 8) : sum;
}
uint16_t fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<uint16_t>(sum);
}
uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) { return uint32_t{be16(p)} << 16 | be16(p + 2); }

/// The TCP/IP frame a driver with TSO sends: headers, `payload` bytes
/// counting up, the TCP checksum field holding the pseudo-header's sum (as
/// Linux leaves it for NEEDS_CSUM), and its header.
struct TcpFrame {
    std::vector<uint8_t> bytes;
    NetHeader header;
    size_t l4;

    TcpFrame(bool v6, size_t payload, uint16_t mss, uint8_t flags = kAck | kPsh | kFin)
    {
        l4 = v6 ? 54 : 34;
        bytes.assign(l4 + 20 + payload, 0);
        uint8_t* ip = bytes.data() + 14;
        bytes[12] = v6 ? 0x86 : 0x08;
        bytes[13] = v6 ? 0xdd : 0x00;
        const size_t tcp_length = 20 + payload;
        if (v6) {
            ip[0] = 0x60;
            ip[4] = static_cast<uint8_t>(tcp_length >> 8);
            ip[5] = static_cast<uint8_t>(tcp_length);
            ip[6] = 6;
            ip[7] = 64;
            ip[8] = 0xfd;
            ip[23] = 1; // fd00::1 to fd00::2
            ip[24] = 0xfd;
            ip[39] = 2;
        } else {
            ip[0] = 0x45;
            ip[4] = 0x12; // ID 0x1234
            ip[5] = 0x34;
            ip[6] = 0x40; // DF
            ip[8] = 64;
            ip[9] = 6;
            const uint8_t addresses[8] = {10, 0, 0, 1, 10, 0, 0, 2};
            std::memcpy(ip + 12, addresses, 8);
            ip[2] = static_cast<uint8_t>((20 + tcp_length) >> 8);
            ip[3] = static_cast<uint8_t>(20 + tcp_length);
            const uint16_t checksum = static_cast<uint16_t>(~fold(sum_words(ip, 20)));
            ip[10] = static_cast<uint8_t>(checksum >> 8);
            ip[11] = static_cast<uint8_t>(checksum);
        }
        uint8_t* tcp = bytes.data() + l4;
        tcp[0] = 0x9c; // ports 40000 to 5000
        tcp[1] = 0x40;
        tcp[2] = 0x13;
        tcp[3] = 0x88;
        tcp[4] = 0xff; // sequence number 0xfffff000: wraps within the frame
        tcp[5] = 0xff;
        tcp[6] = 0xf0;
        tcp[12] = 5 << 4;
        tcp[13] = flags;
        for (size_t i = 0; i < payload; i++) {
            bytes[l4 + 20 + i] = static_cast<uint8_t>(i * 7);
        }
        const uint32_t pseudo = v6 ? sum_words(ip + 8, 32) : sum_words(ip + 12, 8);
        const uint16_t partial = fold(pseudo + 6 + static_cast<uint32_t>(tcp_length));
        tcp[16] = static_cast<uint8_t>(partial >> 8);
        tcp[17] = static_cast<uint8_t>(partial);
        header.flags = NetHeader::kNeedsCsum;
        header.gso_type = mss == 0 ? NetHeader::kGsoNone : v6 ? NetHeader::kGsoTcp6 : NetHeader::kGsoTcp4;
        header.gso_size = mss;
        header.hdr_len = static_cast<uint16_t>(l4 + 20);
        header.csum_start = static_cast<uint16_t>(l4);
        header.csum_offset = 16;
    }
    const char* check(Offloads sent = {true, true, true, true}) const
    {
        return check_offload(header, sent, bytes.data(), bytes.size());
    }
};

/// Whether a TCP/IP frame's IPv4 header and TCP checksums are right.
bool checksums_valid(const uint8_t* frame, size_t length)
{
    const bool v6 = frame[12] == 0x86;
    const uint8_t* ip = frame + 14;
    const size_t l4 = v6 ? 54 : 34;
    if (!v6 && fold(sum_words(ip, 20)) != 0xffff) {
        return false;
    }
    const auto tcp_length = static_cast<uint32_t>(length - l4);
    const uint32_t pseudo = (v6 ? sum_words(ip + 8, 32) : sum_words(ip + 12, 8)) + 6 + tcp_length;
    return fold(sum_words(frame + l4, tcp_length, pseudo)) == 0xffff;
}

TEST(NetOffload, CompletesAChecksumTheDriverLeftPartial)
{
    for (const size_t payload : {100u, 101u, 1460u}) {
        TcpFrame f(false, payload, 0);
        ASSERT_EQ(f.check(), nullptr);
        EXPECT_FALSE(checksums_valid(f.bytes.data(), f.bytes.size()));
        complete_checksum(f.header, f.bytes.data(), f.bytes.size());
        EXPECT_TRUE(checksums_valid(f.bytes.data(), f.bytes.size())) << payload << " bytes of payload";
    }
}

TEST(NetOffload, RefusesHeadersThatLie)
{
    TcpFrame f(false, 3000, 1448);
    ASSERT_EQ(f.check(), nullptr);
    EXPECT_STREQ(f.check({false, true, true, true}), "a checksum offload it did not negotiate (CSUM)");
    EXPECT_STREQ(f.check({true, false, true, true}), "a segmentation offload type it did not negotiate");
    TcpFrame lie = f;
    lie.header.csum_start = static_cast<uint16_t>(f.bytes.size() - 17);
    EXPECT_STREQ(lie.check(), "a checksum offset past the frame's end");
    lie = f;
    lie.header.gso_size = 0;
    EXPECT_STREQ(lie.check(), "segmentation offload with a segment size of 0");
    lie = f;
    lie.header.gso_size = 1500; // 54 bytes of headers and 1500 of payload: over 1514
    EXPECT_STREQ(lie.check(), "segmentation offload into segments over 1514 bytes");
    lie = f;
    lie.header.hdr_len = static_cast<uint16_t>(f.bytes.size() + 1);
    EXPECT_STREQ(lie.check(), "a header length past the frame's end");
    lie = f;
    lie.header.gso_type = NetHeader::kGsoTcp6;
    EXPECT_STREQ(lie.check(), "segmentation offload of a frame that is not TCP over IP as its type says");
    lie = f;
    lie.bytes[14 + 9] = 17; // UDP
    EXPECT_STREQ(lie.check(), "segmentation offload of a frame that is not TCP over IP as its type says");
    lie = f;
    lie.bytes[f.l4 + 12] = 8 << 4; // a TCP header of 32 bytes (timestamps): 1514-byte segments, fine
    EXPECT_EQ(lie.check(), nullptr);
    lie.header.csum_start = 14;
    EXPECT_STREQ(lie.check(), "segmentation offload without its TCP checksum to complete");
    lie = f;
    lie.header.gso_type = NetHeader::kGsoNone;
    EXPECT_STREQ(lie.check(), "a frame over 1514 bytes without segmentation offload");
}

TEST(NetOffload, CutsATcpIpv4FrameIntoCheckedSegments)
{
    TcpFrame f(false, 3000, 1448, kAck | kPsh | kFin | kCwr);
    f.header.gso_type |= NetHeader::kGsoEcn;
    ASSERT_EQ(f.check(), nullptr);
    const TcpSegments segments(f.header, f.bytes.data(), f.bytes.size());
    ASSERT_EQ(segments.count(), 3u);
    const size_t payloads[3] = {1448, 1448, 104};
    uint8_t out[kMaxPlainFrame];
    for (size_t i = 0; i < 3; i++) {
        const size_t n = segments.make(i, out);
        ASSERT_EQ(n, 54 + payloads[i]);
        EXPECT_EQ(be16(out + 14 + 2), 40 + payloads[i]) << "IPv4 total length";
        EXPECT_EQ(be16(out + 14 + 4), 0x1234 + i) << "IPv4 ID";
        EXPECT_EQ(be32(out + 34 + 4), 0xfffff000u + 1448 * i) << "sequence number";
        EXPECT_EQ(out[34 + 13], i == 2 ? kAck | kPsh | kFin : i == 0 ? kAck | kCwr : kAck) << "flags of " << i;
        EXPECT_EQ(std::memcmp(out + 54, f.bytes.data() + 54 + 1448 * i, payloads[i]), 0);
        EXPECT_TRUE(checksums_valid(out, n)) << "segment " << i;
    }
}

TEST(NetOffload, CutsATcpIpv6FrameIntoCheckedSegments)
{
    TcpFrame f(true, 2000, 1000);
    ASSERT_EQ(f.check(), nullptr);
    const TcpSegments segments(f.header, f.bytes.data(), f.bytes.size());
    ASSERT_EQ(segments.count(), 2u);
    uint8_t out[kMaxPlainFrame];
    for (size_t i = 0; i < 2; i++) {
        const size_t n = segments.make(i, out);
        ASSERT_EQ(n, 74u + 1000);
        EXPECT_EQ(be16(out + 14 + 4), 1020) << "IPv6 payload length";
        EXPECT_TRUE(checksums_valid(out, n)) << "segment " << i;
    }
}

TEST(NetOffload, AReceiverTakesWholeOnlyWhatItNegotiated)
{
    const TcpFrame gso(false, 3000, 1448);
    const TcpFrame plain(false, 100, 0);
    EXPECT_TRUE((Offloads{true, true, false, false}).takes_whole(gso.header));
    EXPECT_FALSE((Offloads{true, false, true, true}).takes_whole(gso.header)) << "TSO6 only";
    EXPECT_FALSE((Offloads{false, true, true, true}).takes_whole(gso.header));
    EXPECT_TRUE((Offloads{true, false, false, false}).takes_whole(plain.header));
    EXPECT_FALSE((Offloads{}).takes_whole(plain.header));
    EXPECT_TRUE((Offloads{}).takes_whole(NetHeader{}));
    NetHeader ecn = gso.header;
    ecn.gso_type |= NetHeader::kGsoEcn;
    EXPECT_FALSE((Offloads{true, true, true, false}).takes_whole(ecn));
}

/// A pump between one sender and three receivers that accept, in order,
/// everything, checksums only, and nothing.
class Pump final : public FramePump {
public:
    std::vector<TcpFrame> queue;
    struct Delivered {
        uint32_t port;
        std::vector<uint8_t> frame;
        NetHeader header;
    };
    std::vector<Delivered> delivered;

private:
    bool take(uint8_t* frame, size_t& length, NetHeader& header) override
    {
        if (queue.empty()) {
            return false;
        }
        length = queue.front().bytes.size();
        std::memcpy(frame, queue.front().bytes.data(), length);
        header = queue.front().header;
        queue.erase(queue.begin());
        return true;
    }
    uint32_t route(const uint8_t*, size_t) override { return 0b111; }
    Offloads offloads(uint32_t port) override
    {
        return port == 0   ? Offloads{true, true, true, true}
               : port == 1 ? Offloads{true, false, false, false}
                           : Offloads{};
    }
    bool deliver(uint32_t port, const uint8_t* frame, size_t length, const NetHeader& header) override
    {
        delivered.push_back({port, std::vector<uint8_t>(frame, frame + length), header});
        return true;
    }
};

TEST(FramePump, EachReceiverGetsAFrameAsItNegotiated)
{
    static Pump pump; // a 64 KiB frame buffer
    pump.queue = {TcpFrame(false, 3000, 1448), TcpFrame(false, 100, 0)};
    const TcpFrame sent_plain = pump.queue[1];
    EXPECT_TRUE(pump.step()) << "16 copies spent: the budget ran out";
    EXPECT_FALSE(pump.step());
    ASSERT_EQ(pump.delivered.size(), 1u + 3 + 3 + 3u);
    const auto& whole = pump.delivered[0];
    EXPECT_EQ(whole.port, 0u);
    EXPECT_EQ(whole.frame.size(), 3054u) << "one 64 KiB-style frame to the receiver with TSO";
    EXPECT_EQ(whole.header.gso_size, 1448);
    EXPECT_EQ(whole.header.flags, NetHeader::kNeedsCsum);
    for (size_t i = 1; i < 7; i++) {
        const auto& d = pump.delivered[i];
        EXPECT_EQ(d.port, i < 4 ? 1u : 2u);
        EXPECT_EQ(d.header.gso_type, NetHeader::kGsoNone);
        EXPECT_EQ(d.header.flags, i < 4 ? NetHeader::kDataValid : 0) << "segments' checksums are computed";
        EXPECT_TRUE(checksums_valid(d.frame.data(), d.frame.size()));
    }
    const auto& partial = pump.delivered[7];
    EXPECT_EQ(partial.port, 0u);
    EXPECT_EQ(partial.header.flags, NetHeader::kNeedsCsum);
    EXPECT_EQ(partial.frame, sent_plain.bytes) << "never computed between two ends that offload checksums";
    EXPECT_EQ(pump.delivered[8].header.flags, NetHeader::kNeedsCsum);
    EXPECT_EQ(pump.delivered[9].port, 2u);
    EXPECT_EQ(pump.delivered[9].header.flags, NetHeader::kDataValid);
    EXPECT_TRUE(checksums_valid(pump.delivered[9].frame.data(), pump.delivered[9].frame.size()))
        << "completed for the receiver without GUEST_CSUM";
}

} // namespace
