// Channels between VMs: the configuration's channels node
// (kernel/loader/channel_config.cpp), the doorbell register model
// (kernel/devices/channel/doorbell.cpp) and the guest DTB's description.
#include <cstring>
#include <gtest/gtest.h>
#include <libfdt.h>
#include <string>
#include <vector>

#include "kernel/devices/channel/doorbell.hpp"
#include "kernel/loader/channel_config.hpp"
#include "kernel/loader/guest_fdt.hpp"
#include "tests/unit/dtb_fixture.hpp"

namespace {

struct Parsed {
    std::vector<char> dtb;
    VmConfig vms[8];
    PassthroughDevice devices[8];
    size_t vm_count = 0;
    ChannelConfig channels[20];
    size_t count = 0;

    const ChannelConfig& channel(const char* name) const
    {
        for (size_t i = 0; i < count; i++) {
            if (strcmp(channels[i].name, name) == 0) {
                return channels[i];
            }
        }
        ADD_FAILURE() << "no channel " << name;
        return channels[0];
    }
    std::string error_of(const char* name) const
    {
        const ChannelConfig& c = channel(name);
        return c.ok ? "ok" : c.error;
    }
};

Parsed parse(const std::string& fixture)
{
    Parsed r;
    r.dtb = load_dtb(fixture);
    LoadError error;
    const std::string file = "tests/dts/" + fixture + ".dts";
    EXPECT_TRUE(vm_config::parse(r.dtb.data(), r.dtb.size(), file.c_str(), {4, 1ull << 31}, r.vms, 8, r.devices, 8,
                                 r.vm_count, error))
        << error.message;
    r.count = channel_config::parse(r.dtb.data(), file.c_str(), r.vms, r.vm_count, r.channels, 20);
    return r;
}

TEST(ChannelConfig, MembersAddressesAndAccessAreRead)
{
    const Parsed r = parse("config_channels");
    ASSERT_EQ(r.vm_count, 3u) << "the channels node is not a VM";
    ASSERT_EQ(r.count, 2u);
    const ChannelConfig& ring = r.channel("ring0");
    ASSERT_TRUE(ring.ok) << ring.error;
    EXPECT_EQ(ring.size, 0x10000u);
    ASSERT_EQ(ring.member_count, 2u);
    EXPECT_STREQ(ring.members[0].vm, "producer");
    EXPECT_EQ(ring.members[0].ipa, 0x50000000u);
    EXPECT_STREQ(ring.members[1].vm, "consumer");
    EXPECT_EQ(ring.members[1].ipa, 0x60000000u);
    EXPECT_EQ(ring.members[1].vm_index, 1u);
    EXPECT_TRUE(ring.members[0].writable && ring.members[1].writable);
    EXPECT_EQ(ring.members[0].doorbell, 0u);
    const ChannelConfig& watch = r.channel("watch");
    ASSERT_TRUE(watch.ok) << watch.error;
    EXPECT_TRUE(watch.members[0].writable);
    EXPECT_FALSE(watch.members[1].writable) << "read-only;";
    EXPECT_EQ(watch.members[1].doorbell, 1u) << "the consumer's second channel: doorbell page 1";
    EXPECT_EQ(channel_config::doorbell_ipa(1), 0x0a101000u);
    EXPECT_EQ(channel_config::intid(1), 97u);
}

#define WHERE(node) "tests/dts/config_bad_channels.dts: /channels/" node

TEST(ChannelConfig, EachMistakeHasItsMessage)
{
    const Parsed r = parse("config_bad_channels");
    EXPECT_EQ(r.error_of("good"), "ok");
    EXPECT_EQ(r.error_of("stranger"), WHERE("stranger/nobody") ": no VM named 'nobody' in this file: expected a "
                                                               "member node named after a VM");
    EXPECT_EQ(r.error_of("on-ram"), WHERE("on-ram/a") ": property 'address' [0x40100000, +0x1000) overlaps the VM's "
                                                      "RAM [0x40000000, +0x400000)");
    EXPECT_EQ(r.error_of("overlapping"), WHERE("overlapping/b") ": property 'address' [0x4ffff000, +0x2000) overlaps "
                                                                "channel good's region in the VM");
    EXPECT_EQ(r.error_of("in-devices"), WHERE("in-devices/a") ": property 'address' [0x9000000, +0x1000) overlaps "
                                                              "the VM's device window [0x8000000, 0xb000000)");
    EXPECT_EQ(r.error_of("lonely"),
              WHERE("lonely") ": 1 VMs: expected a child node for each of at least two VMs, named after them");
    EXPECT_EQ(r.error_of("odd-size"),
              WHERE("odd-size") ": property 'size' is 0x1234: expected a non-zero multiple of 4 KiB, at most 1 GiB");
    EXPECT_EQ(r.error_of("flag-value"),
              WHERE("flag-value/b") ": property 'read-only' has a value: expected none (read-only;)");
    EXPECT_EQ(r.error_of("unknown"),
              WHERE("unknown") ": property 'colour' is not known: expected size, and a child node per VM");
    EXPECT_EQ(r.error_of("no-size"), WHERE("no-size") ": property 'size' missing: expected the region's bytes, e.g. "
                                                      "size = <0x0 0x100000>;");
    EXPECT_EQ(r.error_of("unaligned"), WHERE("unaligned/a") ": property 'address' is 0x5b000800: expected a 4 KiB-"
                                                            "aligned address with the region below 1 TiB");
    EXPECT_EQ(r.error_of("on-good"), WHERE("on-good/a") ": property 'address' [0x50000000, +0x1000) overlaps channel "
                                                        "good's region in the VM");
    EXPECT_EQ(r.error_of("to-refused"),
              WHERE("to-refused/refused") ": VM 'refused' was refused (above): its channels cannot be set up");
}

TEST(ChannelConfig, MoreThanTheMostAreRefused)
{
    const Parsed r = parse("config_many_channels");
    ASSERT_EQ(r.count, channel_config::kMaxChannels + 2);
    EXPECT_EQ(r.error_of("c16"), "tests/dts/config_many_channels.dts: /channels/c16: more than 16 channels: expected "
                                 "at most 16 (this one and any after it are left out)");
    EXPECT_EQ(r.error_of("c17"), "tests/dts/config_many_channels.dts: /channels/c17: more than 16 channels: expected "
                                 "at most 16 (this one and any after it are left out)");
    EXPECT_EQ(r.error_of("c7"), "ok");
    EXPECT_EQ(r.error_of("c8"), "tests/dts/config_many_channels.dts: /channels/c8/a: VM 'a' is already on 8 channels: "
                                "expected at most 8 per VM")
        << "a VM's ninth channel";
}

// The doorbell, with fake lines and a fake clock.
struct Line {
    bool level = false;
    int changes = 0;
    uint32_t intid = 0;
};
uint64_t now_value = 1000;
uint64_t fake_now() { return now_value; }

struct Pair {
    ChannelPorts channel;
    Doorbell a, b;
    Line la, lb;
    Pair()
    {
        channel.count = 3; // member 2's VM did not start
        auto set = [](void* context, uint32_t intid, bool level) {
            auto* l = static_cast<Line*>(context);
            l->changes += l->level != level ? 1 : 0;
            l->level = level;
            l->intid = intid;
        };
        a.init(channel, 0, {0x50000000, 0x10000, true}, {set, &la, 96, fake_now, 100});
        b.init(channel, 1, {0x60000000, 0x10000, false}, {set, &lb, 97, fake_now, 400});
        channel.publish(0, &a);
        channel.publish(1, &b);
    }
};

uint64_t read(Doorbell& d, uint64_t offset, unsigned size = 4)
{
    uint64_t v = ~0ull;
    EXPECT_TRUE(d.read(0, offset, size, v)) << "offset " << offset;
    return v;
}

TEST(Doorbell, RegistersDescribeTheChannel)
{
    Pair p;
    EXPECT_EQ(read(p.b, Doorbell::kMagic), 0x4e484356u);
    EXPECT_EQ(read(p.b, Doorbell::kVersion), 1u);
    EXPECT_EQ(read(p.b, Doorbell::kPeers), 3u);
    EXPECT_EQ(read(p.b, Doorbell::kSelf), 1u);
    EXPECT_EQ(read(p.b, Doorbell::kShmBase, 8), 0x60000000u);
    EXPECT_EQ(read(p.b, Doorbell::kShmBase), 0x60000000u);
    EXPECT_EQ(read(p.b, Doorbell::kShmBase + 4), 0u);
    EXPECT_EQ(read(p.b, Doorbell::kShmSize, 8), 0x10000u);
    EXPECT_EQ(read(p.b, Doorbell::kFlags), 0u) << "read-only for this VM";
    EXPECT_EQ(read(p.a, Doorbell::kFlags), 1u);
    uint64_t v = 0;
    EXPECT_FALSE(p.a.read(0, Doorbell::kRing, 4, v)) << "RING is write-only";
    EXPECT_FALSE(p.a.read(0, Doorbell::kPeers, 8, v)) << "a 32-bit register read as 64 bits";
    EXPECT_FALSE(p.a.read(0, Doorbell::kShmBase + 4, 8, v)) << "a 64-bit read of the upper half";
    EXPECT_FALSE(p.a.read(0, 0x2, 2, v));
    EXPECT_FALSE(p.a.read(0, 0x800, 4, v)) << "past the registers";
    EXPECT_FALSE(p.a.write(0, Doorbell::kPeers, 4, 1)) << "read-only registers refuse writes";
    EXPECT_FALSE(p.a.write(0, Doorbell::kRing, 8, 1)) << "RING is 32 bits";
}

TEST(Doorbell, RingSetsThePeersBitAndLineUntilTaken)
{
    Pair p;
    now_value = 5000;
    ASSERT_TRUE(p.a.write(0, Doorbell::kRing, 4, 1));
    EXPECT_TRUE(p.lb.level);
    EXPECT_EQ(p.lb.intid, 97u);
    EXPECT_FALSE(p.la.level) << "the ringer's own line stays low";
    EXPECT_EQ(read(p.b, Doorbell::kRingTime, 8), 5000u - 400u) << "in the peer's virtual counter";
    ASSERT_TRUE(p.b.write(0, Doorbell::kRing, 4, 1)); // itself too
    ASSERT_TRUE(p.a.write(0, Doorbell::kRing, 4, 1));
    EXPECT_EQ(p.lb.changes, 1) << "raised once while something is pending";
    EXPECT_EQ(read(p.b, Doorbell::kPending), 0b11u) << "rung by member 0 and by itself";
    EXPECT_FALSE(p.lb.level);
    EXPECT_EQ(read(p.b, Doorbell::kPending), 0u) << "the read cleared them";
    EXPECT_FALSE(p.a.ring(2)) << "member 2's VM did not start: ignored";
    EXPECT_FALSE(p.a.ring(3)) << "no member 3";
    EXPECT_TRUE(p.a.write(0, Doorbell::kRing, 4, 7)) << "a write naming nobody is ignored, not a fault";
    EXPECT_FALSE(p.lb.level);
    p.a.ring(1);
    p.b.reset();
    EXPECT_FALSE(p.lb.level) << "a reset drops what was pending";
    EXPECT_EQ(p.b.take_pending(), 0u);
}

TEST(GuestFdtChannels, RegionIsReservedAndTheDoorbellPointsAtIt)
{
    GuestFdtSpec spec;
    spec.ram_base = 0x40000000;
    spec.ram_size = 0x400000;
    spec.gic_version = 3;
    const GuestFdtChannel channels[] = {{"ring0", 0x50000000, 0x10000, 0x0a100000, 0x1000, 96, true},
                                        {"watch", 0x50100000, 0x1000, 0x0a101000, 0x1000, 97, false}};
    spec.channels = channels;
    spec.channel_count = 2;
    std::vector<char> buf(64 * 1024);
    const char* error = nullptr;
    ASSERT_GT(guest_fdt::build(spec, buf.data(), buf.size(), error), 0) << error;
    const void* fdt = buf.data();
    const int region = fdt_path_offset(fdt, "/reserved-memory/watch@50100000");
    ASSERT_GE(region, 0);
    EXPECT_NE(fdt_getprop(fdt, region, "no-map", nullptr), nullptr);
    const int node = fdt_path_offset(fdt, "/vireo-channel@a101000");
    ASSERT_GE(node, 0);
    EXPECT_EQ(fdt_node_check_compatible(fdt, node, "vireo,channel"), 0);
    EXPECT_STREQ(static_cast<const char*>(fdt_getprop(fdt, node, "label", nullptr)), "watch");
    EXPECT_NE(fdt_getprop(fdt, node, "read-only", nullptr), nullptr);
    const auto* phandle = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "memory-region", nullptr));
    ASSERT_NE(phandle, nullptr);
    EXPECT_EQ(fdt_node_offset_by_phandle(fdt, fdt32_to_cpu(*phandle)), region);
    int length = 0;
    const auto* irq = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "interrupts", &length));
    ASSERT_EQ(length, 12);
    EXPECT_EQ(fdt32_to_cpu(irq[1]), 97u - 32u);
    EXPECT_EQ(fdt_path_offset(fdt, "/reserved-memory/ring0@50000000") >= 0, true);
    EXPECT_EQ(fdt_getprop(fdt, fdt_path_offset(fdt, "/vireo-channel@a100000"), "read-only", nullptr), nullptr);
}

} // namespace
