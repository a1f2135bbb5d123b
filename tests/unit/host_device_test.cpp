// Devices named by their host DTB path (kernel/loader/host_device.cpp),
// from tests/dts/host_devices.dts.
#include <gtest/gtest.h>
#include <string>

#include "kernel/loader/host_device.hpp"
#include "tests/unit/dtb_fixture.hpp"

namespace {

struct Read {
    bool ok;
    HostDevice device;
    std::string why;
};

Read read(const char* path)
{
    static const std::vector<char> dtb = load_dtb("host_devices");
    Read r{};
    char why[200] = "";
    r.ok = host_device::read(dtb.data(), path, r.device, why, sizeof why);
    r.why = why;
    return r;
}

TEST(HostDevice, RootBusDeviceWithGicSpi)
{
    const Read r = read("/virtio_mmio@a003e00");
    ASSERT_TRUE(r.ok) << r.why;
    EXPECT_EQ(r.device.base, 0xa003e00u);
    EXPECT_EQ(r.device.size, 0x200u);
    ASSERT_EQ(r.device.intid_count, 1u);
    EXPECT_EQ(r.device.intids[0], 32u + 0x2f) << "GIC_SPI 47 is INTID 79";
    EXPECT_TRUE(r.device.edge);
    EXPECT_TRUE(r.device.dma_coherent);
    EXPECT_FALSE(r.device.iommus);
    ASSERT_NE(r.device.compatible, nullptr);
    EXPECT_STREQ(r.device.compatible, "virtio,mmio");
    EXPECT_EQ(r.device.compatible_length, sizeof "virtio,mmio");
}

TEST(HostDevice, SeveralInterruptsAndACompatibleList)
{
    const Read r = read("/two-irqs@9020000");
    ASSERT_TRUE(r.ok) << r.why;
    ASSERT_EQ(r.device.intid_count, 2u);
    EXPECT_EQ(r.device.intids[0], 48u);
    EXPECT_EQ(r.device.intids[1], 49u);
    EXPECT_FALSE(r.device.edge) << "level-high";
    EXPECT_FALSE(r.device.dma_coherent);
    EXPECT_EQ(r.device.compatible_length, sizeof "vendor,two" + sizeof "vendor,generic");
}

TEST(HostDevice, ADeviceBehindAnIommuIsSaidToBe)
{
    const Read r = read("/dma-engine@9060000");
    ASSERT_TRUE(r.ok) << r.why;
    EXPECT_TRUE(r.device.iommus) << "iommus: it does DMA through the SMMU";
    EXPECT_FALSE(r.device.dma_coherent);
    EXPECT_FALSE(read("/two-irqs@9020000").device.iommus);
}

TEST(HostDevice, ParentBusRangesTranslateTheRegisters)
{
    const Read r = read("/soc/serial@7e215040");
    ASSERT_TRUE(r.ok) << r.why;
    EXPECT_EQ(r.device.base, 0xfe215040u) << "0x7e000000 on the bus is 0xfe000000 for the CPU";
    EXPECT_EQ(r.device.size, 0x40u);
    EXPECT_EQ(r.device.intids[0], 32u + 93);
}

TEST(HostDevice, PrimecellPeriphidIsKeptForTheGuest)
{
    const Read r = read("/soc/serial@7e201000");
    ASSERT_TRUE(r.ok) << r.why;
    EXPECT_EQ(r.device.base, 0xfe201000u);
    EXPECT_EQ(r.device.primecell_periphid, 0x341011u) << "the Raspberry Pi 4's 0x200-byte PL011";
    EXPECT_EQ(read("/soc/serial@7e215040").device.primecell_periphid, 0u);
}

TEST(HostDevice, Refusals)
{
    EXPECT_EQ(read("/no-such-node").why, "the host DTB has no node /no-such-node");
    EXPECT_EQ(read("/no-reg").why, "node /no-reg has no 'reg' Vireo can read: expected its registers");
    EXPECT_EQ(read("/soc/outside@7f900000").why, "its registers at 0x7f900000 are in none of bus soc's 'ranges'");
    EXPECT_EQ(read("/closed-bus/device@1000").why,
              "its bus closed-bus has no 'ranges': expected a bus that maps it into the CPU's addresses");
    EXPECT_EQ(read("/ppi-device@9030000").why, "interrupt <1 9 4> is not an SPI: expected SPIs (GIC_SPI, 0 to 987)");
    EXPECT_EQ(read("/other-parent@9040000").why,
              "its interrupt parent is not a GIC with 3-cell specifiers: expected interrupts of the GIC");
}

} // namespace
