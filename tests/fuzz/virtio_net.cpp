// The emulated virtio network device, its switch and the transmit steps
// between them (kernel/devices/virtio/): whatever two guests write to
// their devices' registers and leave in their rings, and however a feeder
// keeps advancing an available index between notifications, nothing
// outside the RAM is read or written (AddressSanitizer and the fake RAM's
// bounds), frames stay within their limits, and no transmit step does
// more than its budget of copies. Offload headers that lie (checksum
// offsets past the frame, segment sizes of 0 or over a frame, header
// lengths past the end, frames that are not TCP) are refused, and every
// TCP segment cut from a frame that passed fits a 1514-byte frame and
// carries its share of the payload. The switch, fed spoofed and random
// source addresses, sends a frame only to the port whose address it names
// (or, for an address no port owns, to bridging ports; for broadcast and
// multicast, to every other port), never back to the sender, and nothing
// from a port that claims another's address.
#include <cstring>
#include <vector>

#include "kernel/devices/virtio/frame_pump.hpp"
#include "kernel/devices/virtio/net_offload.hpp"
#include "kernel/devices/virtio/net_switch.hpp"
#include "kernel/devices/virtio/virtio_net.hpp"
#include "tests/fake_ram.hpp"
#include "tests/fuzz/input.hpp"

namespace {

constexpr uint64_t kRam = 0x40000000;
constexpr uint64_t kRamSize = 64 * 1024;
constexpr uint32_t kDevices = 2; // ports 0 and 1 of the switch
constexpr uint32_t kPorts = 4;   // and two more without a device

using Ram = FakeRam<kRam, kRamSize>;

constexpr uint8_t kMacs[kPorts][6] = {{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 0, 3}, {2, 0, 0, 0, 0, 4}};

/// What the harness remembers of one device's registers: the queue its
/// driver selected, and where it put the transmit queue's available ring.
struct Shadow {
    uint32_t queue_sel = 0;
    uint64_t tx_driver = 0;
};

/// The VM layer's pump without its locks, counting what it does.
class Pump final : public FramePump {
public:
    Pump(VirtioNet* devices, NetSwitch& sw, uint32_t from, uint64_t now_ms, Offloads others)
        : devices_(devices), sw_(sw), from_(from), now_ms_(now_ms), others_(others)
    {
    }
    uint32_t taken = 0;
    uint32_t delivered = 0;

private:
    bool take(uint8_t* frame, size_t& length, NetHeader& header) override
    {
        if (!devices_[from_].take_frame(frame, length, header)) {
            return false;
        }
        FUZZ_CHECK(length >= VirtioNet::kMinFrame && length <= VirtioNet::kMaxBigFrame);
        FUZZ_CHECK(length <= VirtioNet::kMaxFrame || header.gso() != NetHeader::kGsoNone);
        taken++;
        return true;
    }
    uint32_t route(const uint8_t* frame, size_t length) override
    {
        const uint32_t to = sw_.route(from_, frame, length, now_ms_).to;
        FUZZ_CHECK((to & (1u << from_)) == 0 && to >> kPorts == 0);
        return to;
    }
    Offloads offloads(uint32_t port) override { return port < kDevices ? devices_[port].offloads() : others_; }
    bool deliver(uint32_t port, const uint8_t* frame, size_t length, const NetHeader& header) override
    {
        // Each receiver gets only what it takes: segments of a frame, or its checksum completed.
        FUZZ_CHECK(offloads(port).takes_whole(header));
        FUZZ_CHECK(length <= (header.gso() != NetHeader::kGsoNone ? VirtioNet::kMaxBigFrame : VirtioNet::kMaxFrame));
        if (port < kDevices) {
            devices_[port].deliver(frame, length, header);
        }
        delivered++;
        return true;
    }

    VirtioNet* devices_;
    NetSwitch& sw_;
    uint32_t from_;
    uint64_t now_ms_;
    Offloads others_;
};

/// A frame from port `from` with a destination and source the input picks
/// among the ports' addresses, broadcast, multicast and anything else.
void make_frame(FuzzInput& in, uint8_t (&frame)[64], uint32_t from)
{
    for (size_t i = 0; i < sizeof frame; i++) {
        frame[i] = in.u8();
    }
    for (uint8_t* field : {frame, frame + 6}) {
        switch (in.below(4)) {
        case 0: std::memcpy(field, kMacs[field == frame ? in.below(kPorts) : from], 6); break;
        case 1: std::memcpy(field, kMacs[in.below(kPorts)], 6); break;
        case 2: std::memset(field, 0xff, 6); break;
        default: break; // as the input made it
        }
    }
}

/// Where a frame from `from` may go, by the addresses Vireo assigned.
void check_route(const NetSwitch::Route& r, const uint8_t (&frame)[64], uint32_t from, uint32_t bridges)
{
    const uint32_t others = ((1u << kPorts) - 1) & ~(1u << from);
    FUZZ_CHECK((r.to & ~others) == 0); // never the sender, only ports there are
    int src_port = -1, dst_port = -1;
    for (uint32_t p = 0; p < kPorts; p++) {
        src_port = std::memcmp(frame + 6, kMacs[p], 6) == 0 ? static_cast<int>(p) : src_port;
        dst_port = std::memcmp(frame, kMacs[p], 6) == 0 ? static_cast<int>(p) : dst_port;
    }
    const bool own = src_port == static_cast<int>(from);
    if (!own && (src_port >= 0 || (bridges >> from & 1) == 0 || (frame[6] & 1) != 0)) {
        FUZZ_CHECK(r.to == 0 && r.drop == NetSwitch::Drop::Spoofed);
    }
    if ((frame[0] & 1) != 0) {
        return; // broadcast, multicast: every other port, or none (storm control)
    }
    if (dst_port >= 0) {
        FUZZ_CHECK((r.to & ~(1u << dst_port)) == 0); // only the port it is addressed to
    } else {
        FUZZ_CHECK((r.to & ~bridges) == 0); // an address no port owns: bridges only
    }
}

NetHeader make_header(FuzzInput& in)
{
    NetHeader h;
    h.flags = static_cast<uint8_t>(in.below(4));
    const uint8_t types[] = {NetHeader::kGsoNone, NetHeader::kGsoTcp4, NetHeader::kGsoTcp6, 3, 0x81, 0x84};
    h.gso_type = types[in.below(sizeof types)];
    h.hdr_len = static_cast<uint16_t>(in.u32());
    h.gso_size = static_cast<uint16_t>(in.flag() ? in.below(2000) : in.u32());
    h.csum_start = static_cast<uint16_t>(in.flag() ? in.below(80) : in.u32());
    h.csum_offset = static_cast<uint16_t>(in.flag() ? 16 : in.u32());
    return h;
}

/// An offload header and a frame, most often a TCP/IPv4 or TCP/IPv6 one
/// the header describes, sometimes lying, through the checks and the segmenter.
void check_segments(FuzzInput& in)
{
    static uint8_t frame[kMaxGsoFrame];
    static uint8_t segment[kMaxPlainFrame];
    const size_t length = in.flag() ? in.below(4000) : in.below(kMaxGsoFrame + 1);
    std::memset(frame, in.u8(), length);
    const bool v6 = in.flag();
    if (length >= 74) {
        frame[12] = v6 ? 0x86 : 0x08;
        frame[13] = v6 ? 0xdd : 0x00;
        frame[14] = v6 ? 0x60 : static_cast<uint8_t>(0x45 + in.below(2));
        frame[v6 ? 20 : 23] = in.flag() ? 6 : in.u8(); // TCP, or not
        frame[20] = v6 ? frame[20] : 0x40;             // IPv4: DF, no fragment
        frame[21] = v6 ? frame[21] : 0;
        frame[(v6 ? 54 : 34) + 12] = static_cast<uint8_t>((5 + in.below(11)) << 4); // TCP data offset
    }
    for (int i = in.below(8); i > 0; i--) {
        frame[in.below(length + 1)] = in.u8(); // and lies anywhere
    }
    const NetHeader h = make_header(in);
    const Offloads all{true, true, true, true};
    if (check_offload(h, all, frame, length) != nullptr) {
        return;
    }
    FUZZ_CHECK(!h.needs_csum() || size_t{h.csum_start} + h.csum_offset + 2 <= length);
    if (h.gso() == NetHeader::kGsoNone) {
        FUZZ_CHECK(length <= kMaxPlainFrame);
        if (h.needs_csum()) {
            complete_checksum(h, frame, length);
        }
        return;
    }
    const TcpSegments segments(h, frame, length);
    FUZZ_CHECK(segments.count() >= 1);
    size_t total = 0;
    for (size_t i = 0; i < segments.count(); i++) {
        const size_t n = segments.make(i, segment);
        FUZZ_CHECK(n <= kMaxPlainFrame && n > h.csum_start);
        total += n;
    }
    FUZZ_CHECK(total >= length); // every byte of payload in some segment, the headers in each
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    Ram ram;
    // The RAM starts as the input says (rings and descriptors included).
    const size_t fill = in.below(kRamSize);
    for (size_t i = 0; i < fill && !in.done(); i++) {
        ram.bytes[in.below(kRamSize)] = in.u8();
    }
    bool line = false;
    const VirtioNet::Owner owner{&ram, [](void* c, bool level) { *static_cast<bool*>(c) = level; },
                                 [](void*, const char*) {}, &line};
    static VirtioNet devices[kDevices]; // a frame's worth of stack per call otherwise
    Shadow shadow[kDevices];
    NetSwitch sw;
    const uint32_t bridges = in.below(1u << kPorts);
    for (uint32_t p = 0; p < kPorts; p++) {
        if (p < kDevices) {
            devices[p].init(owner, kMacs[p]);
        }
        FUZZ_CHECK(sw.attach(kMacs[p], (bridges >> p & 1) != 0) == static_cast<int>(p));
    }
    FUZZ_CHECK(sw.attach(kMacs[0], false) == -1); // one address, one port
    uint64_t now_ms = 0;
    for (int op = 0; op < 96 && !in.done(); op++) {
        const uint32_t d = in.below(kDevices);
        VirtioNet& net = devices[d];
        const uint64_t offset = in.below(0x110);
        switch (in.below(9)) {
        case 0: {
            uint64_t v = 0;
            net.read(0, offset, 1u << in.below(4), v);
            break;
        }
        case 1: {
            // Registers with values near what a driver writes: ring addresses in or around the RAM.
            const uint64_t value = in.flag() ? kRam + in.below(kRamSize + 0x100) : in.u32();
            net.write(0, offset & ~3ull, 4, value);
            shadow[d].queue_sel = (offset & ~3ull) == 0x030 ? static_cast<uint32_t>(value) : shadow[d].queue_sel;
            if ((offset & ~3ull) == 0x090 && shadow[d].queue_sel == 1) {
                shadow[d].tx_driver = value & 0xffffffffu;
            }
            break;
        }
        case 2: {
            // The feeder: more entries in the transmit queue's available ring, without a notification.
            uint8_t* avail = ram.at(shadow[d].tx_driver, 4 + 2 * Virtqueue::kMaxSize);
            if (avail != nullptr) {
                uint16_t idx;
                std::memcpy(&idx, avail + 2, 2);
                const uint32_t more = in.below(Virtqueue::kMaxSize) + 1;
                for (uint32_t i = 0; i < more; i++, idx++) {
                    const uint16_t head = static_cast<uint16_t>(in.below(8));
                    std::memcpy(avail + 4 + 2 * (idx % Virtqueue::kMaxSize), &head, 2);
                }
                std::memcpy(avail + 2, &idx, 2);
            }
            break;
        }
        case 3: {
            // A transmit step, as a notification's exit or the device work after it does.
            now_ms += in.below(4);
            const Offloads others{in.flag(), in.flag(), in.flag(), in.flag()};
            Pump pump(devices, sw, d, now_ms, others);
            pump.step();
            FUZZ_CHECK(pump.last_copies() == pump.taken + pump.delivered);
            FUZZ_CHECK(pump.last_copies() < FramePump::kCopiesPerStep + FramePump::kMaxReceivers);
            break;
        }
        case 4: {
            static uint8_t frame[VirtioNet::kMaxBigFrame];
            const size_t length =
                in.flag() ? in.below(VirtioNet::kMaxFrame + 2) : in.below(VirtioNet::kMaxBigFrame + 2);
            std::memset(frame, in.u8(), length < sizeof frame ? length : sizeof frame);
            net.deliver(frame, length < sizeof frame ? length : sizeof frame, make_header(in));
            break;
        }
        case 5: {
            // The switch alone: spoofed, random and real addresses from any port.
            uint8_t frame[64];
            const uint32_t from = in.below(kPorts);
            make_frame(in, frame, from);
            now_ms += in.below(3);
            check_route(sw.route(from, frame, sizeof frame, now_ms), frame, from, bridges);
            break;
        }
        case 7: check_segments(in); break;
        default: ram.bytes[in.below(kRamSize)] = in.u8(); break;
        }
    }
    return 0;
}
