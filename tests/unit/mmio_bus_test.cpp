// The MMIO bus and the test device model.
#include <gtest/gtest.h>

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

} // namespace
