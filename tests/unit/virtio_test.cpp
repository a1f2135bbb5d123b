// Vireo's emulated virtio network (kernel/devices/virtio/): the split
// virtqueue with its checks of everything the guest gives, the virtio-mmio
// network device, and the switch between VMs. The guest's RAM is
// a host buffer at a fake guest-physical address.
#include <cstring>
#include <gtest/gtest.h>
#include <vector>

#include "kernel/devices/virtio/net_switch.hpp"
#include "kernel/devices/virtio/virtio_net.hpp"
#include "kernel/devices/virtio/virtqueue.hpp"
#include "tests/fake_ram.hpp"

namespace {

constexpr uint64_t kRam = 0x40000000;
constexpr uint64_t kRamSize = 1 << 20;

using FakeRam = ::FakeRam<kRam, kRamSize>;

// A queue of 8 at fixed places: descriptors, available ring, used ring.
constexpr uint64_t kDesc = kRam + 0x1000, kAvail = kRam + 0x2000, kUsed = kRam + 0x3000, kBuf = kRam + 0x10000;
constexpr uint16_t kNext = 1, kWrite = 2;

struct Driver {
    FakeRam& ram;
    uint64_t desc, avail, used;
    uint16_t avail_idx = 0;
    void descriptor(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0)
    {
        ram.put<uint64_t>(desc + 16 * i, addr);
        ram.put<uint32_t>(desc + 16 * i + 8, len);
        ram.put<uint16_t>(desc + 16 * i + 12, flags);
        ram.put<uint16_t>(desc + 16 * i + 14, next);
    }
    void offer(uint16_t head, uint16_t size = 8)
    {
        ram.put<uint16_t>(avail + 4 + 2 * (avail_idx % size), head);
        avail_idx++;
        ram.put<uint16_t>(avail + 2, avail_idx);
    }
    uint16_t used_idx() { return ram.get<uint16_t>(used + 2); }
};

Virtqueue ready_queue(FakeRam& ram)
{
    Virtqueue q;
    q.size = 8;
    q.desc = kDesc;
    q.driver = kAvail;
    q.device = kUsed;
    const char* why = nullptr;
    EXPECT_TRUE(q.enable(ram, why)) << why;
    return q;
}

TEST(Virtqueue, TakesAChainOfReadableThenWritableBuffers)
{
    FakeRam ram;
    Virtqueue q = ready_queue(ram);
    Driver d{ram, kDesc, kAvail, kUsed};
    d.descriptor(3, kBuf, 10, kNext, 5);
    d.descriptor(5, kBuf + 100, 20, kNext | kWrite, 6);
    d.descriptor(6, kBuf + 200, 30, kWrite);
    Virtqueue::Chain c;
    const char* why = nullptr;
    EXPECT_EQ(q.take(ram, c, why), Virtqueue::Take::Empty);
    d.offer(3);
    ASSERT_EQ(q.take(ram, c, why), Virtqueue::Take::Got) << why;
    EXPECT_EQ(c.head, 3);
    EXPECT_EQ(c.readable_count, 1u);
    EXPECT_EQ(c.writable_count, 2u);
    EXPECT_EQ(c.readable_bytes, 10u);
    EXPECT_EQ(c.writable_bytes, 50u);
    EXPECT_EQ(c.readable()[0].data, ram.at(kBuf, 1));
    q.put(ram, c.head, 42);
    EXPECT_EQ(d.used_idx(), 1);
    EXPECT_EQ(ram.get<uint32_t>(kUsed + 4), 3u);
    EXPECT_EQ(ram.get<uint32_t>(kUsed + 8), 42u);
    EXPECT_EQ(q.take(ram, c, why), Virtqueue::Take::Empty);
}

TEST(Virtqueue, ScatterAndGatherCrossBuffersFromAnOffset)
{
    uint8_t a[5] = {}, b[20] = {};
    Virtqueue::Chain c;
    c.buffers[0] = {a, sizeof a};
    c.buffers[1] = {b, sizeof b};
    c.writable_count = 2;
    c.writable_bytes = sizeof a + sizeof b;
    const uint8_t data[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    ASSERT_TRUE(scatter(c, 3, data, sizeof data));
    EXPECT_EQ(a[2], 0);
    EXPECT_EQ(a[3], 1);
    EXPECT_EQ(a[4], 2);
    EXPECT_EQ(b[0], 3);
    EXPECT_EQ(b[7], 10);
    EXPECT_EQ(b[8], 0);
    EXPECT_FALSE(scatter(c, 20, data, sizeof data)) << "past the chain's end: nothing written";
    EXPECT_EQ(b[19], 0);
    c.readable_count = 2; // the same buffers, now as readable ones
    c.writable_count = 0;
    uint8_t back[10] = {};
    EXPECT_EQ(gather(c, 3, back, sizeof back), sizeof back);
    EXPECT_EQ(memcmp(back, data, sizeof data), 0);
}

TEST(Virtqueue, RefusesWhatReachesOutsideTheGuestOrLoops)
{
    const char* why = nullptr;
    Virtqueue::Chain c;
    {
        FakeRam ram;
        Virtqueue q = ready_queue(ram);
        Driver d{ram, kDesc, kAvail, kUsed};
        d.descriptor(0, kRam + kRamSize - 8, 16, 0); // runs past the RAM's end
        d.offer(0);
        EXPECT_EQ(q.take(ram, c, why), Virtqueue::Take::Broken);
        EXPECT_STREQ(why, "a buffer outside the guest's RAM");
    }
    {
        FakeRam ram;
        Virtqueue q = ready_queue(ram);
        Driver d{ram, kDesc, kAvail, kUsed};
        d.descriptor(0, kBuf, 16, kNext, 1);
        d.descriptor(1, kBuf, 16, kNext, 0); // back to 0
        d.offer(0);
        EXPECT_EQ(q.take(ram, c, why), Virtqueue::Take::Broken);
        EXPECT_STREQ(why, "a descriptor chain loops");
    }
    {
        FakeRam ram;
        Virtqueue q = ready_queue(ram);
        Driver d{ram, kDesc, kAvail, kUsed};
        d.descriptor(0, 0xffffffff00000000ull, 0xffffffffu, 0); // wraps around
        d.offer(0);
        EXPECT_EQ(q.take(ram, c, why), Virtqueue::Take::Broken);
    }
    {
        FakeRam ram;
        Virtqueue q = ready_queue(ram);
        Driver d{ram, kDesc, kAvail, kUsed};
        d.offer(9); // head beyond the table
        EXPECT_EQ(q.take(ram, c, why), Virtqueue::Take::Broken);
        EXPECT_STREQ(why, "a chain head outside the descriptor table");
    }
    {
        FakeRam ram;
        Virtqueue q = ready_queue(ram);
        Driver d{ram, kDesc, kAvail, kUsed};
        d.descriptor(0, kBuf, 16, kNext | kWrite, 1);
        d.descriptor(1, kBuf, 16, 0);
        d.offer(0);
        EXPECT_EQ(q.take(ram, c, why), Virtqueue::Take::Broken);
        EXPECT_STREQ(why, "a device-readable buffer after a device-writable one");
    }
    {
        FakeRam ram;
        Virtqueue q = ready_queue(ram);
        ram.put<uint16_t>(kAvail + 2, 100); // more available than the queue holds
        EXPECT_EQ(q.take(ram, c, why), Virtqueue::Take::Broken);
    }
    FakeRam ram;
    Virtqueue q;
    q.size = 8;
    q.desc = kRam + kRamSize - 64; // the table does not fit
    q.driver = kAvail;
    q.device = kUsed;
    EXPECT_FALSE(q.enable(ram, why));
    q.desc = kDesc + 8; // misaligned
    EXPECT_FALSE(q.enable(ram, why));
    q.desc = kDesc;
    q.size = 0;
    EXPECT_FALSE(q.enable(ram, why));
    q.size = 12; // 2.7: a power of 2
    EXPECT_FALSE(q.enable(ram, why));
    q.size = 16;
    EXPECT_TRUE(q.enable(ram, why));
}

// Three ports with the addresses Vireo gave them, as kernel/vm/networks.cpp attaches them.
struct ThreeSwitch {
    NetSwitch sw;
    const uint8_t a[6] = {2, 0, 0, 0, 0, 0xa}, b[6] = {2, 0, 0, 0, 0, 0xb}, c[6] = {2, 0, 0, 0, 0, 0xc};
    uint8_t frame[60] = {};
    explicit ThreeSwitch(bool c_bridges = false)
    {
        EXPECT_EQ(sw.attach(a, false), 0);
        EXPECT_EQ(sw.attach(b, false), 1);
        EXPECT_EQ(sw.attach(c, c_bridges), 2);
    }
    NetSwitch::Route send(uint32_t from, const uint8_t* dst, const uint8_t* src, uint64_t now_ms = 0)
    {
        std::memcpy(frame, dst, 6);
        std::memcpy(frame + 6, src, 6);
        return sw.route(from, frame, sizeof frame, now_ms);
    }
};

constexpr uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

TEST(NetSwitch, DeliversUnicastByTheAddressesItGaveAndFloodsOnlyBroadcast)
{
    ThreeSwitch t;
    EXPECT_EQ(t.send(0, t.b, t.a).to, 0b010u) << "to b's port only, from the first frame on";
    EXPECT_EQ(t.send(1, t.a, t.b).to, 0b001u);
    EXPECT_EQ(t.send(2, kBroadcast, t.c).to, 0b011u) << "broadcast: every port but the sender";
    const uint8_t multicast[6] = {0x01, 0x00, 0x5e, 0, 0, 1};
    EXPECT_EQ(t.send(0, multicast, t.a).to, 0b110u) << "multicast as broadcast";
    EXPECT_EQ(t.send(0, t.a, t.a).to, 0u) << "to itself: not sent back";
    const uint8_t nobody[6] = {2, 0, 0, 0, 0, 0xd};
    const NetSwitch::Route unknown = t.send(0, nobody, t.a);
    EXPECT_EQ(unknown.to, 0u) << "an address no port owns: not flooded";
    EXPECT_EQ(unknown.drop, NetSwitch::Drop::Unknown);
    EXPECT_EQ(t.sw.counts(0).unknown, 1u);
    EXPECT_EQ(t.sw.route(2, t.frame, 13, 0).drop, NetSwitch::Drop::Runt);
    EXPECT_EQ(t.send(5, t.a, t.b).to, 0u) << "no such port";
}

TEST(NetSwitch, FramesFromAnotherAddressAreDroppedAndCounted)
{
    ThreeSwitch t;
    // c claims to be b: nothing reaches anyone, and b's traffic still goes to b.
    for (int i = 0; i < 100; i++) {
        const NetSwitch::Route r = t.send(2, t.a, t.b);
        EXPECT_EQ(r.to, 0u);
        EXPECT_EQ(r.drop, NetSwitch::Drop::Spoofed);
    }
    EXPECT_EQ(t.sw.counts(2).spoofed, 100u);
    EXPECT_EQ(t.send(0, t.b, t.a).to, 0b010u) << "a's frames for b still reach b, not c";
    // 64 new source addresses: no table to flush, a's unicast still goes to b only.
    for (uint8_t i = 0; i < 64; i++) {
        const uint8_t fresh[6] = {2, 0x55, 0, 0, 0, i};
        EXPECT_EQ(t.send(2, kBroadcast, fresh).drop, NetSwitch::Drop::Spoofed);
    }
    EXPECT_EQ(t.send(0, t.b, t.a).to, 0b010u);
    const uint8_t multicast_source[6] = {3, 0, 0, 0, 0, 0xc};
    EXPECT_EQ(t.send(2, t.a, multicast_source).drop, NetSwitch::Drop::Spoofed);
    t.sw.reset(2);
    EXPECT_EQ(t.sw.counts(2).spoofed, 0u) << "counts start afresh when the VM restarts";
}

TEST(NetSwitch, ABridgeSendsFromOtherAddressesButNeverAsAnotherPort)
{
    ThreeSwitch t(true);
    const uint8_t container[6] = {2, 0x42, 0, 0, 0, 1};
    EXPECT_EQ(t.send(2, t.a, container).to, 0b001u) << "c bridges: a container's frame goes out";
    EXPECT_EQ(t.send(0, container, t.a).to, 0b100u) << "unicast to an address no port owns: to the bridge";
    EXPECT_EQ(t.send(2, t.a, t.b).drop, NetSwitch::Drop::Spoofed) << "not even a bridge may be b";
    EXPECT_EQ(t.send(2, container, container).to, 0u) << "nothing back to the bridge itself";
}

TEST(NetSwitch, AttachRefusesMulticastAndTakenAddresses)
{
    NetSwitch sw;
    const uint8_t a[6] = {2, 0, 0, 0, 0, 0xa}, m[6] = {1, 0, 0, 0, 0, 0xa};
    EXPECT_EQ(sw.attach(a, false), 0);
    EXPECT_EQ(sw.attach(a, false), -1) << "two ports with one address";
    EXPECT_EQ(sw.attach(m, false), -1);
    for (uint8_t i = 1; i < NetSwitch::kMaxPorts; i++) {
        const uint8_t mac[6] = {2, 0, 0, 0, 1, i};
        EXPECT_EQ(sw.attach(mac, false), i);
    }
    const uint8_t late[6] = {2, 0, 0, 0, 2, 0};
    EXPECT_EQ(sw.attach(late, false), -1) << "full";
}

TEST(NetSwitch, StormControlGivesEachPortABurstThenARate)
{
    ThreeSwitch t;
    for (uint32_t i = 0; i < NetSwitch::kFloodBurst; i++) {
        ASSERT_EQ(t.send(2, kBroadcast, t.c, 100).to, 0b011u) << i;
    }
    const NetSwitch::Route over = t.send(2, kBroadcast, t.c, 100);
    EXPECT_EQ(over.to, 0u);
    EXPECT_EQ(over.drop, NetSwitch::Drop::Storm);
    EXPECT_EQ(t.send(0, kBroadcast, t.a, 100).to, 0b110u) << "another port has its own share";
    EXPECT_EQ(t.send(2, t.a, t.c, 100).to, 0b001u) << "unicast is not limited";
    // Refilled at kFloodPerMs a millisecond.
    EXPECT_EQ(t.send(2, kBroadcast, t.c, 101).to, 0b011u);
    EXPECT_EQ(t.send(2, kBroadcast, t.c, 101).drop, NetSwitch::Drop::Storm);
    uint32_t sent = 0;
    for (uint64_t ms = 102; ms < 1102; ms++) {
        for (int i = 0; i < 10; i++) {
            sent += t.send(2, kBroadcast, t.c, ms).to != 0 ? 1 : 0;
        }
    }
    EXPECT_EQ(sent, 1000u * NetSwitch::kFloodPerMs) << "a flood of 10 a millisecond gets the rate";
    EXPECT_EQ(t.sw.counts(2).storm, 2u + 9000u);
    EXPECT_EQ(t.send(2, kBroadcast, t.c, 100000).to, 0b011u) << "a quiet port has its burst back";
}

// The network device, driven as Linux's virtio_mmio and virtio_net drivers do.
struct Line {
    bool level = false;
    int broken = 0;
};

struct Device {
    FakeRam ram;
    Line line;
    VirtioNet net;
    Device()
    {
        const VirtioNet::Owner owner{&ram, [](void* c, bool level) { static_cast<Line*>(c)->level = level; },
                                     [](void* c, const char*) { static_cast<Line*>(c)->broken++; }, &line};
        const uint8_t mac[6] = {2, 1, 2, 3, 4, 5};
        net.init(owner, mac);
    }
    uint32_t rd(uint64_t offset)
    {
        uint64_t v = 0;
        EXPECT_TRUE(net.read(0, offset, 4, v));
        return static_cast<uint32_t>(v);
    }
    void wr(uint64_t offset, uint32_t v) { EXPECT_TRUE(net.write(0, offset, 4, v)); }
    void queue(uint32_t index, uint64_t base)
    {
        wr(0x030, index);
        EXPECT_EQ(rd(0x034), Virtqueue::kMaxSize);
        wr(0x038, 8);
        wr(0x080, static_cast<uint32_t>(base));
        wr(0x084, 0);
        wr(0x090, static_cast<uint32_t>(base + 0x1000));
        wr(0x0a0, static_cast<uint32_t>(base + 0x2000));
        wr(0x044, 1);
    }
    void bring_up(uint32_t features = 1u << 5) // MAC
    {
        wr(0x070, 1 | 2);
        wr(0x014, 1);
        EXPECT_EQ(rd(0x010), 1u) << "VERSION_1";
        wr(0x024, 1);
        wr(0x020, 1);
        wr(0x024, 0);
        wr(0x020, features);
        wr(0x070, 1 | 2 | 8);
        EXPECT_EQ(rd(0x070) & 8, 8u) << "FEATURES_OK kept";
        queue(0, kRam + 0x10000);
        queue(1, kRam + 0x20000);
        wr(0x070, 1 | 2 | 8 | 4);
    }
};

TEST(VirtioNet, IdentifiesItselfAsAModernNetworkDevice)
{
    Device d;
    EXPECT_EQ(d.rd(0x000), 0x74726976u);
    EXPECT_EQ(d.rd(0x004), 2u);
    EXPECT_EQ(d.rd(0x008), 1u);
    uint64_t byte = 0;
    ASSERT_TRUE(d.net.read(0, 0x100 + 5, 1, byte));
    EXPECT_EQ(byte, 5u) << "the MAC in the configuration space";
    uint64_t v = 0;
    EXPECT_FALSE(d.net.read(0, 0x002, 2, v)) << "registers are 32-bit";
    EXPECT_FALSE(d.net.read(0, 0x100 + 8, 1, v)) << "past the configuration space";
    EXPECT_STREQ(d.net.refusal(0x002, 2, false), "its registers take aligned 32-bit accesses (4.2.2.2)");
    EXPECT_STREQ(d.net.refusal(0x100 + 8, 1, false), "past its configuration space");
}

TEST(VirtioNet, FeaturesWithoutVersion1AreNotAccepted)
{
    Device d;
    d.wr(0x070, 1 | 2);
    d.wr(0x024, 0);
    d.wr(0x020, 1u << 5);
    d.wr(0x070, 1 | 2 | 8);
    EXPECT_EQ(d.rd(0x070) & 8, 0u) << "a legacy driver: FEATURES_OK refused";
    d.wr(0x070, 0);
    d.wr(0x070, 1 | 2);
    d.wr(0x024, 0);
    d.wr(0x020, 1u << 2); // a feature not offered (CTRL_GUEST_OFFLOADS)
    d.wr(0x024, 1);
    d.wr(0x020, 1);
    d.wr(0x070, 1 | 2 | 8);
    EXPECT_EQ(d.rd(0x070) & 8, 0u);
}

TEST(VirtioNet, DriverOkWithoutFeaturesOkWantsAResetAndSendsNothing)
{
    Device d;
    d.wr(0x070, 1 | 2);
    d.wr(0x024, 1);
    d.wr(0x020, 1);
    d.queue(0, kRam + 0x10000);
    d.queue(1, kRam + 0x20000);
    d.wr(0x070, 1 | 2 | 4); // 3.1.1 skipped: no FEATURES_OK
    EXPECT_EQ(d.rd(0x070) & VirtioNet::kNeedsReset, VirtioNet::kNeedsReset);
    EXPECT_EQ(d.line.broken, 1);
    Driver tx{d.ram, kRam + 0x20000, kRam + 0x21000, kRam + 0x22000};
    uint8_t packet[12 + 60] = {};
    std::memcpy(d.ram.at(kBuf, sizeof packet), packet, sizeof packet);
    tx.descriptor(0, kBuf, sizeof packet, 0);
    tx.offer(0);
    d.wr(0x050, 1);
    EXPECT_FALSE(d.net.take_tx_kick()) << "nothing transmitted";
    std::vector<uint8_t> big(VirtioNet::kMaxBigFrame);
    uint8_t* frame = big.data();
    NetHeader header;
    size_t length = 0;
    EXPECT_FALSE(d.net.take_frame(frame, length, header));
    EXPECT_EQ(tx.used_idx(), 0);
    d.wr(0x070, 1 | 2 | 4);
    EXPECT_EQ(d.line.broken, 1) << "reported once";
    d.wr(0x070, 0);
    d.bring_up();
    EXPECT_EQ(d.rd(0x070), 1u | 2 | 4 | 8) << "negotiated properly, it works";
}

TEST(VirtioNet, AQueueSizeThatIsNotAPowerOfTwoWantsAReset)
{
    Device d;
    d.wr(0x070, 1 | 2);
    d.wr(0x024, 1);
    d.wr(0x020, 1);
    d.wr(0x070, 1 | 2 | 8);
    d.wr(0x030, 0);
    d.wr(0x038, 6); // 2.7: a split virtqueue's size is a power of 2
    d.wr(0x080, static_cast<uint32_t>(kRam + 0x10000));
    d.wr(0x090, static_cast<uint32_t>(kRam + 0x11000));
    d.wr(0x0a0, static_cast<uint32_t>(kRam + 0x12000));
    d.wr(0x044, 1);
    EXPECT_EQ(d.rd(0x044), 0u) << "not made ready";
    EXPECT_EQ(d.rd(0x070) & VirtioNet::kNeedsReset, VirtioNet::kNeedsReset);
    d.wr(0x070, 0);
    d.wr(0x070, 1 | 2);
    d.wr(0x024, 1);
    d.wr(0x020, 1);
    d.wr(0x070, 1 | 2 | 8);
    d.queue(0, kRam + 0x10000); // 8
    EXPECT_EQ(d.rd(0x044), 1u);
    EXPECT_EQ(d.rd(0x070) & VirtioNet::kNeedsReset, 0u);
}

TEST(VirtioNet, SendsAndReceivesFramesAndInterrupts)
{
    Device d;
    d.bring_up();
    Driver tx{d.ram, kRam + 0x20000, kRam + 0x21000, kRam + 0x22000};
    uint8_t packet[12 + 60] = {};
    std::memset(packet + 12, 0xab, 60);
    std::memcpy(d.ram.at(kBuf, sizeof packet), packet, sizeof packet);
    tx.descriptor(0, kBuf, sizeof packet, 0);
    tx.offer(0);
    d.wr(0x050, 1);
    ASSERT_TRUE(d.net.take_tx_kick());
    std::vector<uint8_t> big(VirtioNet::kMaxBigFrame);
    uint8_t* frame = big.data();
    NetHeader header;
    size_t length = 0;
    ASSERT_TRUE(d.net.take_frame(frame, length, header));
    EXPECT_EQ(length, 60u) << "the virtio-net header is not part of the frame";
    EXPECT_EQ(frame[59], 0xab);
    EXPECT_EQ(tx.used_idx(), 1);
    EXPECT_TRUE(d.line.level) << "used buffer notification";
    EXPECT_EQ(d.rd(0x060), 1u);
    d.wr(0x064, 1);
    EXPECT_FALSE(d.line.level);
    EXPECT_FALSE(d.net.take_frame(frame, length, header));

    EXPECT_FALSE(d.net.deliver(frame, 60, NetHeader{})) << "no receive buffer posted: dropped";
    Driver rx{d.ram, kRam + 0x10000, kRam + 0x11000, kRam + 0x12000};
    rx.descriptor(0, kRam + 0x41000, 12 + 1514, kWrite);
    rx.offer(0);
    ASSERT_TRUE(d.net.deliver(frame, 60, NetHeader{}));
    EXPECT_EQ(rx.used_idx(), 1);
    EXPECT_EQ(d.ram.get<uint32_t>(kRam + 0x12000 + 8), 72u) << "header and frame written";
    EXPECT_EQ(d.ram.get<uint16_t>(kRam + 0x41000 + 10), 1u) << "num_buffers";
    EXPECT_EQ(d.ram.get<uint8_t>(kRam + 0x41000 + 12 + 59), 0xab);
    EXPECT_TRUE(d.line.level);
    rx.descriptor(1, kRam + 0x42000, 20, kWrite); // too small for this frame
    rx.offer(1);
    EXPECT_FALSE(d.net.deliver(frame, 60, NetHeader{}));
    EXPECT_EQ(rx.used_idx(), 1) << "the small chain stays the driver's";
    EXPECT_EQ(d.net.dropped, 2u);
}

TEST(VirtioNet, ABadDescriptorWantsAResetAndTouchesNothing)
{
    Device d;
    d.bring_up();
    Driver tx{d.ram, kRam + 0x20000, kRam + 0x21000, kRam + 0x22000};
    tx.descriptor(0, 0x1000, 64, 0); // not the guest's RAM
    tx.offer(0);
    d.wr(0x050, 1);
    ASSERT_TRUE(d.net.take_tx_kick());
    std::vector<uint8_t> big(VirtioNet::kMaxBigFrame);
    uint8_t* frame = big.data();
    NetHeader header;
    size_t length = 0;
    EXPECT_FALSE(d.net.take_frame(frame, length, header));
    EXPECT_EQ(d.rd(0x070) & VirtioNet::kNeedsReset, VirtioNet::kNeedsReset);
    EXPECT_EQ(d.line.broken, 1) << "reported once";
    EXPECT_EQ(d.rd(0x060) & 2, 2u) << "a configuration change interrupt";
    EXPECT_EQ(tx.used_idx(), 0) << "nothing was used";
    d.wr(0x050, 1);
    EXPECT_FALSE(d.net.take_tx_kick()) << "a device that needs a reset does nothing";
    EXPECT_FALSE(d.net.deliver(frame, 60, NetHeader{}));
    d.wr(0x070, 0);
    EXPECT_EQ(d.rd(0x070), 0u) << "reset";
    EXPECT_FALSE(d.line.level);
    d.bring_up();
    EXPECT_EQ(d.rd(0x070) & VirtioNet::kNeedsReset, 0u);
}

constexpr uint32_t kCsum = 1u << 0, kGuestCsum = 1u << 1, kGuestTso4 = 1u << 7, kHostTso4 = 1u << 11,
                   kMrgRxbuf = 1u << 15, kEventIdx = 1u << 29;

TEST(VirtioNet, OffersOffloadsAndRefusesThemWithoutTheirDependencies)
{
    Device d;
    EXPECT_EQ(d.rd(0x010), 0x2001bba3u) << "CSUM, GUEST_CSUM, MAC, GUEST_TSO4/6/ECN, HOST_TSO4/6/ECN, MRG_RXBUF, "
                                           "STATUS, EVENT_IDX";
    d.wr(0x070, 1 | 2);
    d.wr(0x024, 1);
    d.wr(0x020, 1);
    d.wr(0x024, 0);
    d.wr(0x020, kGuestTso4); // 5.1.3.1: GUEST_TSO4 requires GUEST_CSUM
    d.wr(0x070, 1 | 2 | 8);
    EXPECT_EQ(d.rd(0x070) & 8, 0u);
    d.wr(0x070, 0);
    d.bring_up(kHostTso4 | kCsum);
    EXPECT_EQ(d.rd(0x070) & 8, 8u);
}

TEST(VirtioNet, AFrameOfSixtyFourKibSpreadsOverMergedReceiveBuffersWithItsOffloads)
{
    Device d;
    d.bring_up(kGuestCsum | kGuestTso4 | kMrgRxbuf);
    Driver rx{d.ram, kRam + 0x10000, kRam + 0x11000, kRam + 0x12000};
    for (uint16_t i = 0; i < 8; i++) {
        rx.descriptor(i, kRam + 0x40000 + 0x1000 * i, 1000, kWrite);
        rx.offer(i);
    }
    std::vector<uint8_t> frame(2500);
    for (size_t i = 0; i < frame.size(); i++) {
        frame[i] = static_cast<uint8_t>(i * 3);
    }
    NetHeader gso;
    gso.flags = NetHeader::kNeedsCsum;
    gso.gso_type = NetHeader::kGsoTcp4;
    gso.gso_size = 1448;
    gso.hdr_len = 54;
    gso.csum_start = 34;
    gso.csum_offset = 16;
    ASSERT_TRUE(d.net.deliver(frame.data(), frame.size(), gso));
    EXPECT_EQ(rx.used_idx(), 3) << "12 + 2500 bytes in chains of 1000";
    const uint32_t lengths[3] = {1000, 1000, 512};
    for (uint32_t i = 0; i < 3; i++) {
        EXPECT_EQ(d.ram.get<uint32_t>(kRam + 0x12000 + 4 + 8 * i), i);
        EXPECT_EQ(d.ram.get<uint32_t>(kRam + 0x12000 + 8 + 8 * i), lengths[i]);
    }
    uint8_t raw[NetHeader::kSize];
    std::memcpy(raw, d.ram.at(kRam + 0x40000, sizeof raw), sizeof raw);
    const NetHeader got = NetHeader::decode(raw);
    EXPECT_EQ(got.num_buffers, 3);
    EXPECT_EQ(got.flags, NetHeader::kNeedsCsum);
    EXPECT_EQ(got.gso_type, NetHeader::kGsoTcp4);
    EXPECT_EQ(got.gso_size, 1448);
    EXPECT_EQ(got.csum_start, 34);
    EXPECT_EQ(d.ram.get<uint8_t>(kRam + 0x41000), frame[988]);
    EXPECT_EQ(d.ram.get<uint8_t>(kRam + 0x42000 + 511), frame[2499]);

    NetHeader v6 = gso;
    v6.gso_type = NetHeader::kGsoTcp6;
    EXPECT_FALSE(d.net.deliver(frame.data(), frame.size(), v6)) << "GUEST_TSO6 not taken";
    std::vector<uint8_t> big(6000);
    EXPECT_FALSE(d.net.deliver(big.data(), big.size(), gso)) << "5 chains left: 6012 bytes do not fit";
    EXPECT_EQ(rx.used_idx(), 3) << "nothing shown of it";
    ASSERT_TRUE(d.net.deliver(frame.data(), frame.size(), gso)) << "its chains were given back";
    EXPECT_EQ(rx.used_idx(), 6);
    EXPECT_EQ(d.ram.get<uint32_t>(kRam + 0x12000 + 4 + 8 * 3), 3u);
}

TEST(VirtioNet, EventIndexesSuppressNotificationsAndInterrupts)
{
    Device d;
    d.bring_up(kEventIdx);
    Driver tx{d.ram, kRam + 0x20000, kRam + 0x21000, kRam + 0x22000};
    const uint64_t avail_event = kRam + 0x22000 + 4 + 8 * 8, used_event = kRam + 0x21000 + 4 + 2 * 8;
    d.ram.put<uint16_t>(used_event, 1); // interrupt when the used index passes 1
    for (uint16_t i = 0; i < 3; i++) {
        tx.descriptor(i, kRam + 0x40000 + 0x100 * i, 12 + 60, 0);
        tx.offer(i);
    }
    std::vector<uint8_t> frame(VirtioNet::kMaxBigFrame);
    NetHeader header;
    size_t length = 0;
    ASSERT_TRUE(d.net.take_frame(frame.data(), length, header));
    EXPECT_FALSE(d.line.level) << "used index 1: not past used_event";
    ASSERT_TRUE(d.net.take_frame(frame.data(), length, header));
    EXPECT_TRUE(d.line.level) << "used index 2: past used_event";
    d.wr(0x064, 1);
    ASSERT_TRUE(d.net.take_frame(frame.data(), length, header));
    EXPECT_FALSE(d.line.level) << "used_event already passed";
    EXPECT_EQ(d.ram.get<uint16_t>(avail_event), 0) << "no notification asked for while chains came";
    EXPECT_FALSE(d.net.take_frame(frame.data(), length, header));
    EXPECT_EQ(d.ram.get<uint16_t>(avail_event), 3) << "out of chains: notify when adding the fourth";
    const uint64_t rx_flags = kRam + 0x12000, rx_avail_event = kRam + 0x12000 + 4 + 8 * 8;
    EXPECT_EQ(d.ram.get<uint16_t>(rx_flags), 0);
    EXPECT_EQ(d.ram.get<uint16_t>(rx_avail_event), 0xffff) << "receive buffers: never notify";
}

} // namespace
