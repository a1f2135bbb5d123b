// The DTB a Linux guest boots with, read back with libfdt: every node and
// property the kernel needs, for a GICv2 and a GICv3 VM.
#include <cstring>
#include <gtest/gtest.h>
#include <libfdt.h>
#include <string>
#include <vector>

#include "kernel/loader/guest_fdt.hpp"

namespace {

GuestFdtSpec spec(uint32_t gic_version)
{
    GuestFdtSpec s;
    s.ram_base = 0x40000000;
    s.ram_size = 0x20000000;
    s.vcpus = 4;
    s.gic_version = gic_version;
    s.bootargs = "console=ttyAMA0 earlycon=pl011,0x09000000 panic=-1";
    s.initrd_start = 0x5f000000;
    s.initrd_end = 0x5f812345;
    return s;
}

struct Built {
    std::vector<char> dtb = std::vector<char>(16384);
    int size = 0;
    const char* error = nullptr;
};

Built build(const GuestFdtSpec& s)
{
    Built b;
    b.size = guest_fdt::build(s, b.dtb.data(), b.dtb.size(), b.error);
    return b;
}

int node(const Built& b, const char* path)
{
    const int offset = fdt_path_offset(b.dtb.data(), path);
    EXPECT_GE(offset, 0) << "no node " << path;
    return offset;
}

bool has(const Built& b, const char* path, const char* name)
{
    return fdt_getprop(b.dtb.data(), node(b, path), name, nullptr) != nullptr;
}

/// Property `name` of `path` as its bytes ("" and a failure if absent).
std::string raw(const Built& b, const char* path, const char* name)
{
    int length = 0;
    const void* value = fdt_getprop(b.dtb.data(), node(b, path), name, &length);
    EXPECT_NE(value, nullptr) << path << " has no " << name;
    return value != nullptr ? std::string(static_cast<const char*>(value), static_cast<size_t>(length)) : "";
}

/// A string property, without its NUL; string lists keep their inner NULs.
std::string str(const Built& b, const char* path, const char* name)
{
    const std::string value = raw(b, path, name);
    EXPECT_TRUE(!value.empty() && value.back() == '\0') << path << " " << name << " is not a string";
    return value.empty() ? value : value.substr(0, value.size() - 1);
}

std::vector<uint32_t> cells(const Built& b, const char* path, const char* name)
{
    const std::string value = raw(b, path, name);
    EXPECT_EQ(value.size() % 4, 0u) << path << " " << name;
    std::vector<uint32_t> out;
    for (size_t i = 0; i + 4 <= value.size(); i += 4) {
        out.push_back(fdt32_ld(reinterpret_cast<const fdt32_t*>(value.data() + i)));
    }
    return out;
}

using Cells = std::vector<uint32_t>;

void expect_common(const Built& b)
{
    ASSERT_GT(b.size, 0) << b.error;
    EXPECT_EQ(fdt_check_full(b.dtb.data(), b.dtb.size()), 0);
    EXPECT_EQ(static_cast<int>(fdt_totalsize(b.dtb.data())), b.size);

    EXPECT_EQ(cells(b, "/", "#address-cells"), Cells{2});
    EXPECT_EQ(cells(b, "/", "#size-cells"), Cells{2});
    EXPECT_EQ(str(b, "/", "compatible"), "vireo,virt");
    EXPECT_EQ(cells(b, "/", "interrupt-parent"), Cells{guest_fdt::kGicPhandle});

    EXPECT_EQ(str(b, "/memory@40000000", "device_type"), "memory");
    EXPECT_EQ(cells(b, "/memory@40000000", "reg"), (Cells{0, 0x40000000, 0, 0x20000000}));

    EXPECT_EQ(cells(b, "/cpus", "#address-cells"), Cells{1});
    EXPECT_EQ(cells(b, "/cpus", "#size-cells"), Cells{0});
    int count = 0;
    int cpu = 0;
    fdt_for_each_subnode(cpu, b.dtb.data(), node(b, "/cpus"))
    {
        const std::string path = "/cpus/cpu@" + std::to_string(count);
        EXPECT_STREQ(fdt_get_name(b.dtb.data(), cpu, nullptr), path.c_str() + 6);
        EXPECT_EQ(str(b, path.c_str(), "device_type"), "cpu");
        EXPECT_EQ(str(b, path.c_str(), "compatible"), "arm,armv8");
        EXPECT_EQ(cells(b, path.c_str(), "reg"), Cells{static_cast<uint32_t>(count)}) << "MPIDR Aff0";
        EXPECT_EQ(str(b, path.c_str(), "enable-method"), "psci");
        count++;
    }
    EXPECT_EQ(count, 4);

    EXPECT_EQ(str(b, "/psci", "compatible"), std::string("arm,psci-1.0\0arm,psci-0.2", 25));
    EXPECT_EQ(str(b, "/psci", "method"), "hvc");

    EXPECT_EQ(cells(b, "/interrupt-controller@8000000", "#interrupt-cells"), Cells{3});
    EXPECT_EQ(raw(b, "/interrupt-controller@8000000", "interrupt-controller"), "");
    EXPECT_EQ(cells(b, "/interrupt-controller@8000000", "phandle"), Cells{guest_fdt::kGicPhandle});

    EXPECT_EQ(str(b, "/timer", "compatible"), "arm,armv8-timer");

    EXPECT_EQ(str(b, "/apb-pclk", "compatible"), "fixed-clock");
    EXPECT_EQ(cells(b, "/apb-pclk", "#clock-cells"), Cells{0});
    EXPECT_EQ(cells(b, "/apb-pclk", "clock-frequency"), Cells{24000000});
    EXPECT_EQ(cells(b, "/apb-pclk", "phandle"), Cells{guest_fdt::kClockPhandle});

    EXPECT_EQ(str(b, "/pl011@9000000", "compatible"), std::string("arm,pl011\0arm,primecell", 23));
    EXPECT_EQ(cells(b, "/pl011@9000000", "reg"), (Cells{0, 0x09000000, 0, 0x1000}));
    EXPECT_EQ(cells(b, "/pl011@9000000", "interrupts"), (Cells{0, 1, 4})) << "SPI 1 (INTID 33), level-high";
    EXPECT_EQ(cells(b, "/pl011@9000000", "clocks"), (Cells{guest_fdt::kClockPhandle, guest_fdt::kClockPhandle}));
    EXPECT_EQ(str(b, "/pl011@9000000", "clock-names"), std::string("uartclk\0apb_pclk", 16));

    EXPECT_EQ(str(b, "/chosen", "bootargs"), "console=ttyAMA0 earlycon=pl011,0x09000000 panic=-1");
    EXPECT_EQ(str(b, "/chosen", "stdout-path"), "/pl011@9000000");
    EXPECT_EQ(str(b, "/aliases", "serial0"), "/pl011@9000000");
    EXPECT_EQ(cells(b, "/chosen", "linux,initrd-start"), (Cells{0, 0x5f000000}));
    EXPECT_EQ(cells(b, "/chosen", "linux,initrd-end"), (Cells{0, 0x5f812345}));
}

TEST(GuestFdt, GicV2VmHasTheCortexA15GicAndCpuMasksInPpiFlags)
{
    const Built b = build(spec(2));
    expect_common(b);
    const char* gic = "/interrupt-controller@8000000";
    EXPECT_EQ(str(b, gic, "compatible"), "arm,cortex-a15-gic");
    EXPECT_EQ(cells(b, gic, "reg"), (Cells{0, 0x08000000, 0, 0x10000, 0, 0x08010000, 0, 0x2000})) << "GICD, GICC";
    EXPECT_FALSE(has(b, gic, "#redistributor-regions"));
    // Four vCPUs: CPU mask 0xf in bits 8-15 of each PPI's flags.
    EXPECT_EQ(cells(b, gic, "interrupts"), (Cells{1, 9, 0xf04})) << "maintenance: PPI 9, level-high";
    EXPECT_EQ(cells(b, "/timer", "interrupts"), (Cells{1, 13, 0xf08, 1, 14, 0xf08, 1, 11, 0xf08, 1, 10, 0xf08}))
        << "secure, non-secure, virtual, hypervisor timers: level-low";
}

TEST(GuestFdt, GicV3VmHasOneRedistributorRegionForAllVcpus)
{
    const Built b = build(spec(3));
    expect_common(b);
    const char* gic = "/interrupt-controller@8000000";
    EXPECT_EQ(str(b, gic, "compatible"), "arm,gic-v3");
    EXPECT_EQ(cells(b, gic, "reg"), (Cells{0, 0x08000000, 0, 0x10000, 0, 0x080a0000, 0, 4 * 0x20000}))
        << "GICD, GICR: 128 KiB per vCPU";
    EXPECT_EQ(cells(b, gic, "#redistributor-regions"), Cells{1});
    EXPECT_EQ(cells(b, gic, "interrupts"), (Cells{1, 9, 4})) << "no CPU mask on GICv3";
    EXPECT_EQ(cells(b, "/timer", "interrupts"), (Cells{1, 13, 8, 1, 14, 8, 1, 11, 8, 1, 10, 8}));
}

TEST(GuestFdt, ItsIsAChildOfTheGicv3)
{
    GuestFdtSpec s = spec(3);
    EXPECT_LT(fdt_path_offset(build(s).dtb.data(), "/interrupt-controller@8000000/its@8080000"), 0)
        << "no ITS unless asked";
    s.its_base = 0x08080000;
    const Built b = build(s);
    ASSERT_GT(b.size, 0) << b.error;
    const char* its = "/interrupt-controller@8000000/its@8080000";
    EXPECT_EQ(str(b, its, "compatible"), "arm,gic-v3-its");
    EXPECT_TRUE(has(b, its, "msi-controller"));
    EXPECT_EQ(cells(b, its, "#msi-cells"), Cells{1});
    EXPECT_EQ(cells(b, its, "reg"), (Cells{0, 0x08080000, 0, 0x20000})) << "ITS_base and translation frames";
    EXPECT_EQ(cells(b, "/interrupt-controller@8000000", "#address-cells"), Cells{2});
    EXPECT_TRUE(has(b, "/interrupt-controller@8000000", "ranges")) << "the ITS's address is the parent's";
    GuestFdtSpec v2 = spec(2);
    v2.its_base = 0x08080000;
    const Built refused = build(v2);
    EXPECT_LT(refused.size, 0);
    EXPECT_STREQ(refused.error, "guest DTB: an ITS needs a GICv3");
}

TEST(GuestFdt, PmuNodeOnlyWhenTheVmHasAPmu)
{
    const Built none = build(spec(3));
    expect_common(none);
    EXPECT_LT(fdt_path_offset(none.dtb.data(), "/pmu"), 0) << "no PMU, no node";

    GuestFdtSpec s = spec(3);
    s.pmu = true;
    const Built v3 = build(s);
    expect_common(v3);
    EXPECT_EQ(str(v3, "/pmu", "compatible"), "arm,armv8-pmuv3");
    EXPECT_EQ(cells(v3, "/pmu", "interrupts"), (Cells{1, 7, 4})) << "PPI 7 (INTID 23), level-high, no CPU mask";

    s = spec(2);
    s.pmu = true;
    const Built v2 = build(s);
    expect_common(v2);
    EXPECT_EQ(cells(v2, "/pmu", "interrupts"), (Cells{1, 7, 0xf04})) << "GICv2: the four vCPUs in the CPU mask";
}

TEST(GuestFdt, SixteenVcpusOnGicv3EachWithItsCpuNodeAndRedistributor)
{
    GuestFdtSpec s = spec(3);
    s.vcpus = 16;
    const Built b = build(s);
    ASSERT_GT(b.size, 0) << b.error;
    EXPECT_EQ(cells(b, "/cpus/cpu@f", "reg"), Cells{15}) << "MPIDR Aff0; unit addresses are hex";
    EXPECT_LT(fdt_path_offset(b.dtb.data(), "/cpus/cpu@10"), 0);
    EXPECT_EQ(cells(b, "/interrupt-controller@8000000", "reg"),
              (Cells{0, 0x08000000, 0, 0x10000, 0, 0x080a0000, 0, 16 * 0x20000}));
}

TEST(GuestFdt, CpuMaskFollowsTheVcpuCount)
{
    GuestFdtSpec s = spec(2);
    s.vcpus = 8;
    EXPECT_EQ(cells(build(s), "/timer", "interrupts")[2], 0xff08u);
    s.vcpus = 1;
    const Built one = build(s);
    EXPECT_EQ(cells(one, "/timer", "interrupts")[2], 0x108u);
    EXPECT_LT(fdt_path_offset(one.dtb.data(), "/cpus/cpu@1"), 0);
}

TEST(GuestFdt, NoInitrdNoBootargsMeansNoSuchProperties)
{
    GuestFdtSpec s = spec(3);
    s.bootargs = nullptr;
    s.initrd_start = 0;
    s.initrd_end = 0;
    const Built b = build(s);
    ASSERT_GT(b.size, 0) << b.error;
    EXPECT_FALSE(has(b, "/chosen", "bootargs"));
    EXPECT_FALSE(has(b, "/chosen", "linux,initrd-start"));
    EXPECT_FALSE(has(b, "/chosen", "linux,initrd-end"));
    EXPECT_EQ(str(b, "/chosen", "stdout-path"), "/pl011@9000000");
}

TEST(GuestFdt, RngSeedIsAPlaceholderTheLoaderFillsInPlace)
{
    GuestFdtSpec s = spec(3);
    Built without = build(s);
    ASSERT_GT(without.size, 0) << without.error;
    EXPECT_FALSE(has(without, "/chosen", "rng-seed"));
    EXPECT_EQ(guest_fdt::rng_seed(without.dtb.data()), nullptr);

    s.rng_seed = true;
    Built with = build(s);
    ASSERT_GT(with.size, 0) << with.error;
    EXPECT_EQ(raw(with, "/chosen", "rng-seed"), std::string(guest_fdt::kRngSeedSize, '\0'));
    uint8_t* seed = guest_fdt::rng_seed(with.dtb.data());
    ASSERT_NE(seed, nullptr);
    seed[0] = 0xa5; // what Vireo writes there at each load is what the guest reads
    seed[guest_fdt::kRngSeedSize - 1] = 0x5a;
    const std::string bytes = raw(with, "/chosen", "rng-seed");
    EXPECT_EQ(static_cast<uint8_t>(bytes.front()), 0xa5);
    EXPECT_EQ(static_cast<uint8_t>(bytes.back()), 0x5a);
}

TEST(GuestFdt, NodeNamesFollowTheAddresses)
{
    GuestFdtSpec s = spec(3);
    s.ram_base = 0x80000000;
    s.uart_base = 0x1c090000;
    s.uart_spi = 5;
    s.gicd_base = 0x2f000000;
    const Built b = build(s);
    ASSERT_GT(b.size, 0) << b.error;
    EXPECT_EQ(cells(b, "/memory@80000000", "reg")[1], 0x80000000u);
    EXPECT_EQ(cells(b, "/pl011@1c090000", "interrupts"), (Cells{0, 5, 4}));
    EXPECT_EQ(str(b, "/chosen", "stdout-path"), "/pl011@1c090000");
    EXPECT_EQ(cells(b, "/interrupt-controller@2f000000", "reg")[1], 0x2f000000u);
}

TEST(GuestFdt, TooSmallABufferFailsCleanlyAtEverySize)
{
    const Built full = build(spec(2));
    ASSERT_GT(full.size, 0) << full.error;
    for (int size = 0; size < full.size; size++) {
        std::vector<char> buf(static_cast<size_t>(size) + 64, 0x5a);
        const char* error = nullptr;
        ASSERT_EQ(guest_fdt::build(spec(2), buf.data(), static_cast<size_t>(size), error), -FDT_ERR_NOSPACE) << size;
        ASSERT_STREQ(error, "guest DTB: the buffer is too small");
        for (size_t i = static_cast<size_t>(size); i < buf.size(); i++) {
            ASSERT_EQ(buf[i], 0x5a) << "wrote past the buffer of " << size << " bytes";
        }
    }
    std::vector<char> exact(static_cast<size_t>(full.size));
    const char* error = nullptr;
    EXPECT_EQ(guest_fdt::build(spec(2), exact.data(), exact.size(), error), full.size);
}

TEST(GuestFdt, RejectsAnImpossibleSpec)
{
    GuestFdtSpec s = spec(3);
    s.vcpus = 0;
    Built b = build(s);
    EXPECT_LT(b.size, 0);
    EXPECT_STREQ(b.error, "guest DTB: vcpus must be 1 to 16");
    s.vcpus = 17;
    EXPECT_STREQ(build(s).error, "guest DTB: vcpus must be 1 to 16");
    s = spec(2);
    s.vcpus = 9;
    EXPECT_STREQ(build(s).error, "guest DTB: a VM with a GICv2 has 1 to 8 vCPUs");
    s = spec(4);
    EXPECT_STREQ(build(s).error, "guest DTB: gic_version must be 2 or 3");
    s = spec(3);
    s.ram_size = 0;
    EXPECT_STREQ(build(s).error, "guest DTB: the VM has no RAM");
    s = spec(3);
    s.initrd_end = s.initrd_start - 1;
    EXPECT_STREQ(build(s).error, "guest DTB: the initrd is empty or ends before it starts");
    const char* error = nullptr;
    EXPECT_LT(guest_fdt::build(spec(3), nullptr, 4096, error), 0);
    EXPECT_STREQ(error, "guest DTB: no buffer");
}

} // namespace

namespace {

TEST(GuestFdt, PassthroughDevicesWithACompatibleAreDescribed)
{
    GuestFdtSpec s = spec(3);
    static const char kRtc[] = "arm,pl031\0arm,primecell";
    static const char kPlain[] = "acme,widget";
    // The interrupts as the configuration blob holds them: big-endian cells.
    static const uint8_t k34[] = {0, 0, 0, 34};
    static const uint8_t k40[] = {0, 0, 0, 40};
    static const uint8_t kMany[] = {0, 0, 0, 41, 0, 0, 0, 42, 0, 0, 0, 43, 0, 0, 0, 44, 0, 0, 0, 45, 0, 0, 1, 0};
    const GuestFdtDevice devices[] = {
        {"rtc@9010000", kRtc, sizeof kRtc, 0x9010000, 0x1000, {k34, 1}},
        {"mystery@a000000", nullptr, 0, 0xa000000, 0x1000, {k40, 1}}, // no compatible: not described
        {"widget@a001000", kPlain, sizeof kPlain, 0xa001000, 0x2000, {kMany, 6}},
    };
    s.devices = devices;
    s.device_count = 3;
    const Built b = build(s);
    ASSERT_GT(b.size, 0) << b.error;
    EXPECT_EQ(raw(b, "/rtc@9010000", "compatible"), std::string(kRtc, sizeof kRtc));
    EXPECT_EQ(cells(b, "/rtc@9010000", "reg"), (std::vector<uint32_t>{0, 0x9010000, 0, 0x1000}));
    EXPECT_EQ(cells(b, "/rtc@9010000", "interrupts"), (std::vector<uint32_t>{0, 2, 4})) << "SPI 2, level-high";
    EXPECT_EQ(cells(b, "/rtc@9010000", "clocks"), (std::vector<uint32_t>{guest_fdt::kClockPhandle}));
    EXPECT_EQ(str(b, "/rtc@9010000", "clock-names"), "apb_pclk") << "a PrimeCell needs its bus clock";
    EXPECT_LT(fdt_path_offset(b.dtb.data(), "/mystery@a000000"), 0) << "no compatible, no node";
    EXPECT_EQ(cells(b, "/widget@a001000", "interrupts"),
              (std::vector<uint32_t>{0, 9, 4, 0, 10, 4, 0, 11, 4, 0, 12, 4, 0, 13, 4, 0, 224, 4}))
        << "every interrupt, up to INTID 256 (SPI 224)";
    EXPECT_FALSE(has(b, "/widget@a001000", "clocks"));
    EXPECT_FALSE(has(b, "/rtc@9010000", "dma-coherent"));
    EXPECT_FALSE(has(b, "/rtc@9010000", "arm,primecell-periphid")) << "none given, none written";
}

TEST(GuestFdt, PrimecellFromTheHostKeepsItsPeriphid)
{
    GuestFdtSpec s = spec(3);
    static const char kPl011[] = "arm,pl011\0arm,primecell";
    GuestFdtDevice uart{"uart0", kPl011, sizeof kPl011, 0xfe201000, 0x200, {}};
    uart.path = "/soc/serial@7e201000";
    uart.primecell_periphid = 0x341011;
    s.devices = &uart;
    s.device_count = 1;
    const Built b = build(s);
    ASSERT_GT(b.size, 0) << b.error;
    EXPECT_EQ(cells(b, "/serial@7e201000", "arm,primecell-periphid"), (std::vector<uint32_t>{0x341011}));
    EXPECT_EQ(str(b, "/serial@7e201000", "clock-names"), "apb_pclk");
}

TEST(GuestFdt, DeviceFromTheHostDtbKeepsItsTriggerAndDmaCoherence)
{
    // As kernel/vm/configs.cpp fills a device named by its host DTB path.
    GuestFdtSpec s = spec(3);
    static const char kVirtio[] = "virtio,mmio";
    static const uint8_t k79[] = {0, 0, 0, 79};
    GuestFdtDevice disk{"disk", kVirtio, sizeof kVirtio, 0xa003e00, 0x200, {k79, 1}};
    disk.path = "/virtio_mmio@a003e00";
    disk.dma_coherent = true;
    disk.edge = true;
    s.devices = &disk;
    s.device_count = 1;
    const Built b = build(s);
    ASSERT_GT(b.size, 0) << b.error;
    // The host's node name and exact registers (not the page around them).
    EXPECT_EQ(cells(b, "/virtio_mmio@a003e00", "reg"), (std::vector<uint32_t>{0, 0xa003e00, 0, 0x200}));
    EXPECT_EQ(cells(b, "/virtio_mmio@a003e00", "interrupts"), (std::vector<uint32_t>{0, 47, 1}))
        << "SPI 47, edge-rising";
    EXPECT_TRUE(has(b, "/virtio_mmio@a003e00", "dma-coherent"));
}

} // namespace

TEST(GuestFdt, FlashBanksAreCfiFlashNodesWithTheBankWidth)
{
    GuestFdtSpec s = spec(3);
    const GuestFdtFlash banks[] = {{0x04000000, 0x04000000}};
    s.flash = banks;
    s.flash_count = 1;
    const Built b = build(s);
    ASSERT_GT(b.size, 0) << b.error;
    EXPECT_EQ(str(b, "/flash@4000000", "compatible"), "cfi-flash");
    EXPECT_EQ(cells(b, "/flash@4000000", "reg"), (std::vector<uint32_t>{0, 0x04000000, 0, 0x04000000}));
    EXPECT_EQ(cells(b, "/flash@4000000", "bank-width"), (std::vector<uint32_t>{4}));
}

TEST(GuestFdt, NoFlashRegionNoFlashNode)
{
    const Built b = build(spec(3));
    ASSERT_GT(b.size, 0) << b.error;
    EXPECT_EQ(fdt_path_offset(b.dtb.data(), "/flash@4000000"), -FDT_ERR_NOTFOUND);
}

/// A VM's host bridge as Vireo makes it on QEMU virt: its ECAM, the host's 32-bit window.
GuestFdtPci qemu_virt_bridge()
{
    GuestFdtPci pci;
    pci.ecam_base = 0x3f000000;
    pci.ecam_size = 0x100000;
    pci.mmio_base = 0x10000000;
    pci.mmio_size = 0x2eff0000;
    return pci;
}

TEST(GuestFdt, PciHostBridgeHoldsOnlyTheVmsInterruptLinesAndIsProbeOnly)
{
    GuestFdtSpec s = spec(3);
    GuestFdtPci pci = qemu_virt_bridge();
    pci.intx[0] = {2, 1, 37}; // 00:02.0 INTA: SPI 5
    pci.intx[1] = {3, 2, 35}; // 00:03.x INTB: SPI 3
    pci.intx_count = 2;
    s.pci = &pci;
    const Built b = build(s);
    ASSERT_GT(b.size, 0) << b.error;
    const char* at = "/pcie@3f000000";
    EXPECT_EQ(str(b, at, "compatible"), "pci-host-ecam-generic");
    EXPECT_EQ(str(b, at, "device_type"), "pci");
    EXPECT_EQ(cells(b, at, "reg"), (std::vector<uint32_t>{0, 0x3f000000, 0, 0x100000}));
    EXPECT_EQ(cells(b, at, "bus-range"), (std::vector<uint32_t>{0, 0}));
    EXPECT_EQ(cells(b, at, "#address-cells"), (std::vector<uint32_t>{3}));
    EXPECT_EQ(cells(b, at, "#size-cells"), (std::vector<uint32_t>{2}));
    EXPECT_EQ(cells(b, at, "#interrupt-cells"), (std::vector<uint32_t>{1}));
    EXPECT_EQ(cells(b, at, "ranges"), (std::vector<uint32_t>{0x02000000, 0, 0x10000000, 0, 0x10000000, 0, 0x2eff0000}))
        << "32-bit memory, PCI address = guest-physical address";
    EXPECT_TRUE(has(b, at, "dma-coherent"));
    EXPECT_EQ(cells(b, at, "interrupt-map-mask"), (std::vector<uint32_t>{0xf800, 0, 0, 7}));
    EXPECT_EQ(cells(b, at, "interrupt-map"),
              (std::vector<uint32_t>{2 << 11, 0, 0, 1, guest_fdt::kGicPhandle, 0, 0, 0, 5, 4,
                                     3 << 11, 0, 0, 2, guest_fdt::kGicPhandle, 0, 0, 0, 3, 4}))
        << "device, pin, then the GIC's (two address cells and) SPI, level-high";
    EXPECT_EQ(cells(b, "/chosen", "linux,pci-probe-only"), (std::vector<uint32_t>{1}))
        << "the guest keeps Vireo's BARs";
    EXPECT_EQ(cells(b, "/interrupt-controller@8000000", "#address-cells"), (std::vector<uint32_t>{2}))
        << "what each interrupt-map entry gives for the GIC's unit address";
    EXPECT_FALSE(has(b, at, "msi-parent")) << "no MSI frame: INTx only";
}

TEST(GuestFdt, AVmWithTheMsiFrameHasItUnderTheGicAsTheBridgesMsiParent)
{
    GuestFdtSpec s = spec(2);
    GuestFdtPci pci = qemu_virt_bridge();
    pci.msi_frame_base = 0x08020000;
    pci.msi_frame_size = 0x1000;
    pci.msi_first = 110;
    pci.msi_count = 34;
    s.pci = &pci;
    const Built b = build(s);
    ASSERT_GT(b.size, 0) << b.error;
    const char* frame = "/interrupt-controller@8000000/v2m@8020000";
    EXPECT_EQ(str(b, frame, "compatible"), "arm,gic-v2m-frame");
    EXPECT_TRUE(has(b, frame, "msi-controller"));
    EXPECT_EQ(cells(b, frame, "reg"), (std::vector<uint32_t>{0, 0x08020000, 0, 0x1000}));
    EXPECT_TRUE(has(b, "/interrupt-controller@8000000", "ranges")) << "the frame's address is the parent's";
    EXPECT_EQ(cells(b, frame, "arm,msi-base-spi"), (std::vector<uint32_t>{110})) << "only the SPIs the VM has";
    EXPECT_EQ(cells(b, frame, "arm,msi-num-spis"), (std::vector<uint32_t>{34}));
    EXPECT_EQ(cells(b, "/pcie@3f000000", "msi-parent"), cells(b, frame, "phandle"));
}

TEST(GuestFdt, NoPciFunctionsNoHostBridge)
{
    const Built b = build(spec(2));
    ASSERT_GT(b.size, 0) << b.error;
    EXPECT_EQ(fdt_path_offset(b.dtb.data(), "/pcie@3f000000"), -FDT_ERR_NOTFOUND);
    EXPECT_FALSE(has(b, "/chosen", "linux,pci-probe-only"));
}
