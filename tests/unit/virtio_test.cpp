// Vireo's emulated virtio network (kernel/devices/virtio/): the split
// virtqueue with its checks of everything the guest gives, the virtio-mmio
// network device, and the learning switch between VMs. The guest's RAM is
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
    EXPECT_EQ(c.readable[0].data, ram.at(kBuf, 1));
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
    c.writable[0] = {a, sizeof a};
    c.writable[1] = {b, sizeof b};
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
    c.readable[0] = {a, sizeof a};
    c.readable[1] = {b, sizeof b};
    c.readable_count = 2;
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
}

TEST(NetSwitch, FloodsUntilItLearnsThenForwards)
{
    NetSwitch sw;
    ASSERT_EQ(sw.attach(), 0);
    ASSERT_EQ(sw.attach(), 1);
    ASSERT_EQ(sw.attach(), 2);
    uint8_t frame[60] = {};
    const uint8_t a[6] = {2, 0, 0, 0, 0, 0xa}, b[6] = {2, 0, 0, 0, 0, 0xb};
    std::memcpy(frame, b, 6);
    std::memcpy(frame + 6, a, 6);
    EXPECT_EQ(sw.route(0, frame, sizeof frame), 0b110u) << "b unknown: flooded to all but the sender";
    std::memcpy(frame, a, 6);
    std::memcpy(frame + 6, b, 6);
    EXPECT_EQ(sw.route(1, frame, sizeof frame), 0b001u) << "a was learned on port 0";
    std::memcpy(frame, b, 6);
    std::memcpy(frame + 6, a, 6);
    EXPECT_EQ(sw.route(0, frame, sizeof frame), 0b010u) << "b was learned on port 1";
    std::memset(frame, 0xff, 6);
    EXPECT_EQ(sw.route(2, frame, sizeof frame), 0b011u) << "broadcast";
    EXPECT_EQ(sw.route(2, frame, 13), 0u) << "a runt goes nowhere";
    std::memcpy(frame, a, 6);
    std::memcpy(frame + 6, a, 6);
    EXPECT_EQ(sw.route(0, frame, sizeof frame), 0u) << "to itself: not sent back";
    sw.forget(1);
    std::memcpy(frame, b, 6);
    EXPECT_EQ(sw.route(0, frame, sizeof frame), 0b110u) << "port 1 forgot b: flooded again";
    EXPECT_EQ(sw.route(5, frame, sizeof frame), 0u) << "no such port";
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
    void bring_up()
    {
        wr(0x070, 1 | 2);
        wr(0x014, 1);
        EXPECT_EQ(rd(0x010), 1u) << "VERSION_1";
        wr(0x024, 1);
        wr(0x020, 1);
        wr(0x024, 0);
        wr(0x020, 1u << 5); // MAC
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
    d.wr(0x020, 1u << 0); // a feature not offered
    d.wr(0x024, 1);
    d.wr(0x020, 1);
    d.wr(0x070, 1 | 2 | 8);
    EXPECT_EQ(d.rd(0x070) & 8, 0u);
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
    uint8_t frame[VirtioNet::kMaxFrame];
    size_t length = 0;
    ASSERT_TRUE(d.net.take_frame(frame, length));
    EXPECT_EQ(length, 60u) << "the virtio-net header is not part of the frame";
    EXPECT_EQ(frame[59], 0xab);
    EXPECT_EQ(tx.used_idx(), 1);
    EXPECT_TRUE(d.line.level) << "used buffer notification";
    EXPECT_EQ(d.rd(0x060), 1u);
    d.wr(0x064, 1);
    EXPECT_FALSE(d.line.level);
    EXPECT_FALSE(d.net.take_frame(frame, length));

    EXPECT_FALSE(d.net.deliver(frame, 60)) << "no receive buffer posted: dropped";
    Driver rx{d.ram, kRam + 0x10000, kRam + 0x11000, kRam + 0x12000};
    rx.descriptor(0, kBuf + 0x1000, 12 + 1514, kWrite);
    rx.offer(0);
    ASSERT_TRUE(d.net.deliver(frame, 60));
    EXPECT_EQ(rx.used_idx(), 1);
    EXPECT_EQ(d.ram.get<uint32_t>(kRam + 0x12000 + 8), 72u) << "header and frame written";
    EXPECT_EQ(d.ram.get<uint16_t>(kBuf + 0x1000 + 10), 1u) << "num_buffers";
    EXPECT_EQ(d.ram.get<uint8_t>(kBuf + 0x1000 + 12 + 59), 0xab);
    EXPECT_TRUE(d.line.level);
    rx.descriptor(1, kBuf + 0x2000, 20, kWrite); // too small for this frame
    rx.offer(1);
    EXPECT_FALSE(d.net.deliver(frame, 60));
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
    uint8_t frame[VirtioNet::kMaxFrame];
    size_t length = 0;
    EXPECT_FALSE(d.net.take_frame(frame, length));
    EXPECT_EQ(d.rd(0x070) & VirtioNet::kNeedsReset, VirtioNet::kNeedsReset);
    EXPECT_EQ(d.line.broken, 1) << "reported once";
    EXPECT_EQ(d.rd(0x060) & 2, 2u) << "a configuration change interrupt";
    EXPECT_EQ(tx.used_idx(), 0) << "nothing was used";
    d.wr(0x050, 1);
    EXPECT_FALSE(d.net.take_tx_kick()) << "a device that needs a reset does nothing";
    EXPECT_FALSE(d.net.deliver(frame, 60));
    d.wr(0x070, 0);
    EXPECT_EQ(d.rd(0x070), 0u) << "reset";
    EXPECT_FALSE(d.line.level);
    d.bring_up();
    EXPECT_EQ(d.rd(0x070) & VirtioNet::kNeedsReset, 0u);
}

} // namespace
