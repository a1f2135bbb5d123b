// The MMIO bus, the test device model and forwarded passthrough registers.
#include <gtest/gtest.h>

#include "kernel/devices/channel/doorbell.hpp"
#include "kernel/devices/mmio/forwarded.hpp"
#include "kernel/devices/mmio/mmio_bus.hpp"
#include "kernel/devices/mmio/test_device.hpp"

namespace {

TEST(MmioBus, DispatchesToTheDeviceWithRelativeOffsets)
{
    MmioBus bus;
    TestDevice dev;
    ASSERT_TRUE(bus.add(0x0a000000, TestDevice::kSize, dev));
    uint64_t value = 0;
    ASSERT_TRUE(bus.read(0, 0x0a000004, 4, value));
    EXPECT_EQ(value, 0x87868584u) << "reset pattern 0x80 | offset, little-endian";
    ASSERT_TRUE(bus.write(0, 0x0a000010, 8, 0x1122334455667788ull));
    ASSERT_TRUE(bus.read(0, 0x0a000010, 8, value));
    EXPECT_EQ(value, 0x1122334455667788ull);
    ASSERT_TRUE(bus.read(0, 0x0a000011, 2, value));
    EXPECT_EQ(value, 0x6677u) << "unaligned, narrower reads see the same bytes";
}

TEST(MmioBus, UnclaimedAndStraddlingAccessesFail)
{
    MmioBus bus;
    TestDevice dev;
    ASSERT_TRUE(bus.add(0x0a000000, TestDevice::kSize, dev));
    uint64_t value = 0;
    EXPECT_FALSE(bus.read(0, 0x09000000, 4, value));
    EXPECT_FALSE(bus.read(0, 0x0a000ffe, 4, value)) << "crosses the end of the region";
    EXPECT_FALSE(bus.write(0, 0x0a000100, 4, 0)) << "the device refuses its reserved range";
}

// The bus remembers the region of the last access (a hint, shared by a VM's
// vCPUs): accesses that alternate between devices, or leave the hinted
// device's range, must still reach the right device or fail.
TEST(MmioBus, AlternatingDevicesAndHolesAfterAHit)
{
    MmioBus bus;
    TestDevice a;
    TestDevice b;
    ASSERT_TRUE(bus.add(0x0a000000, TestDevice::kSize, a));
    ASSERT_TRUE(bus.add(0x0b000000, TestDevice::kSize, b));
    ASSERT_TRUE(bus.write(0, 0x0a000010, 4, 0xaaaa0001u));
    ASSERT_TRUE(bus.write(1, 0x0b000010, 4, 0xbbbb0002u));
    uint64_t value = 0;
    for (int round = 0; round < 3; round++) {
        ASSERT_TRUE(bus.read(0, 0x0a000010, 4, value));
        EXPECT_EQ(value, 0xaaaa0001u);
        ASSERT_TRUE(bus.read(1, 0x0b000010, 4, value));
        EXPECT_EQ(value, 0xbbbb0002u);
        ASSERT_TRUE(bus.read(1, 0x0b000010, 4, value));
        EXPECT_EQ(value, 0xbbbb0002u) << "a second access to the hinted device";
    }
    EXPECT_FALSE(bus.read(0, 0x0b000000 + TestDevice::kSize, 4, value)) << "just past the hinted device";
    EXPECT_FALSE(bus.read(0, 0x0b000ffe, 4, value)) << "straddling the hinted device's end";
    EXPECT_FALSE(bus.read(0, 0, 4, value)) << "below every device";

    MmioBus empty;
    EXPECT_FALSE(empty.read(0, 0, 1, value)) << "an empty bus holds no access, not even at 0";
}

// What unmapped-mmio = "ignore" asks before it drops an access: any byte of
// it in a device's range, the device's refusal stands.
TEST(MmioBus, OverlapsAnyByteOfADevicesRange)
{
    MmioBus bus;
    TestDevice dev;
    ASSERT_TRUE(bus.add(0x0a000000, TestDevice::kSize, dev));
    EXPECT_TRUE(bus.overlaps(0x0a000100, 4)) << "a range the device refuses is still its range";
    EXPECT_TRUE(bus.overlaps(0x09fffffc, 8)) << "straddling its start";
    EXPECT_TRUE(bus.overlaps(0x0a000ffc, 8)) << "straddling its end";
    EXPECT_FALSE(bus.overlaps(0x09fffff8, 8)) << "ends where the device starts";
    EXPECT_FALSE(bus.overlaps(0x0a001000, 4)) << "starts where the device ends";
}

// A refused access's log line names the device and gives its reason
// (kernel/exit/dispatch.cpp): the bus says whose range it was.
TEST(MmioBus, SaysWhichDeviceAnAccessReachedAndWhere)
{
    MmioBus bus;
    TestDevice dev;
    ASSERT_TRUE(bus.add(0x0a000000, TestDevice::kSize, dev));
    uint64_t offset = 0;
    EXPECT_EQ(bus.device_at(0x0a000104, 4, offset), &dev);
    EXPECT_EQ(offset, 0x104u);
    EXPECT_STREQ(bus.device_at(0x0a000104, 4, offset)->name(), "the test device");
    EXPECT_STREQ(dev.refusal(0x104, 4, true), "a reserved register");
    EXPECT_EQ(bus.device_at(0x09000000, 4, offset), nullptr) << "nobody's range";
    EXPECT_EQ(bus.device_at(0x0a000ffe, 4, offset), nullptr) << "straddles the end: no device takes it whole";
}

TEST(Doorbell, RefusalsSayWhyTheAccessWasRefused)
{
    Doorbell d;
    EXPECT_STREQ(d.name(), "the doorbell");
    uint64_t value = 0;
    ASSERT_FALSE(d.write(0, Doorbell::kMagic, 4, 1));
    EXPECT_STREQ(d.refusal(Doorbell::kMagic, 4, true), "a read-only register");
    ASSERT_FALSE(d.read(0, Doorbell::kRing, 4, value));
    EXPECT_STREQ(d.refusal(Doorbell::kRing, 4, false), "RING is write-only");
    ASSERT_FALSE(d.write(0, Doorbell::kRing, 8, 1));
    EXPECT_STREQ(d.refusal(Doorbell::kRing, 8, true), "RING takes 4-byte writes");
    ASSERT_FALSE(d.read(0, Doorbell::kMagic, 2, value));
    EXPECT_STREQ(d.refusal(Doorbell::kMagic, 2, false), "a 32-bit register, read as 4 bytes");
    ASSERT_FALSE(d.read(0, Doorbell::kShmBase + 2, 4, value));
    EXPECT_STREQ(d.refusal(Doorbell::kShmBase + 2, 4, false), "a 64-bit register, read as 8 bytes or by 4-byte halves");
    ASSERT_FALSE(d.read(0, 0x800, 4, value));
    EXPECT_STREQ(d.refusal(0x800, 4, false), "no register at this offset");
    ASSERT_FALSE(d.read(0, 0x2, 4, value));
    EXPECT_STREQ(d.refusal(0x2, 4, false), "no register at this offset") << "not at a register's start";
}

TEST(MmioBus, OverlappingRegistrationsAreRejected)
{
    MmioBus bus;
    TestDevice a, b;
    EXPECT_TRUE(bus.add(0x1000, 0x1000, a));
    EXPECT_FALSE(bus.add(0x1800, 0x1000, b));
    EXPECT_FALSE(bus.add(0x0, 0x1001, b));
    EXPECT_TRUE(bus.add(0x2000, 0x1000, b));
    EXPECT_FALSE(bus.add(0x3000, 0, b)) << "empty range";
}

TEST(TestDevice, ResetRestoresThePattern)
{
    TestDevice dev;
    ASSERT_TRUE(dev.write(0, 0, 1, 0));
    dev.reset();
    uint64_t value = 0;
    ASSERT_TRUE(dev.read(0, 0, 1, value));
    EXPECT_EQ(value, 0x80u);
}

// A forwarded device's registers, here a host buffer: a 0x200-byte window
// on the bus in the middle of a "page", as QEMU virt's virtio-mmio transports.
TEST(ForwardedDevice, ReachesExactlyItsWindowAtTheGuestsWidth)
{
    alignas(8) static uint8_t page[0x1000];
    for (size_t i = 0; i < sizeof page; i++) {
        page[i] = static_cast<uint8_t>(i);
    }
    ForwardedDevice device;
    device.init(reinterpret_cast<uintptr_t>(page) + 0xe00);
    MmioBus bus;
    ASSERT_TRUE(bus.add(0x0a003e00, 0x200, device));
    uint64_t value = 0;
    ASSERT_TRUE(bus.read(0, 0x0a003e00, 4, value));
    EXPECT_EQ(value, 0x03020100u);
    ASSERT_TRUE(bus.read(0, 0x0a003e08, 8, value));
    EXPECT_EQ(value, 0x0f0e0d0c0b0a0908ull);
    ASSERT_TRUE(bus.read(0, 0x0a003e11, 1, value));
    EXPECT_EQ(value, 0x11u);
    ASSERT_TRUE(bus.write(0, 0x0a003e70, 4, 0xdeadbeef));
    EXPECT_EQ(page[0xe70], 0xef);
    EXPECT_EQ(page[0xe73], 0xde);
    ASSERT_TRUE(bus.write(0, 0x0a003e72, 2, 0x1234));
    EXPECT_EQ(page[0xe72], 0x34);
    EXPECT_EQ(page[0xe73], 0x12);

    EXPECT_FALSE(bus.read(0, 0x0a003e02, 4, value)) << "unaligned: Device memory would fault at EL2";
    EXPECT_FALSE(bus.write(0, 0x0a003e01, 2, 0)) << "unaligned";
    EXPECT_FALSE(bus.read(0, 0x0a003c00, 4, value)) << "the neighbour below, in the same page";
    EXPECT_FALSE(bus.read(0, 0x0a003ffc + 4, 4, value)) << "past the window";
    EXPECT_FALSE(bus.read(0, 0x0a003ffc, 8, value)) << "straddling its end";
    EXPECT_EQ(page[0xdff], 0xff) << "nothing outside the window was written";
}

} // namespace
