// The SMMUv3s and the ECAM PCIe host bridge found in QEMU virt's own DTBs
// (tests/dts/qemu-virt-*pci.dts, dumped from QEMU 10 with iommu=smmuv3 or
// without), in Debian's ROCK 5B DTB, and in broken variants of QEMU's.
#include <gtest/gtest.h>
#include <libfdt.h>

#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "platform/fdt_pci.hpp"
#include "platform/platform.hpp"
#include "tests/unit/dtb_fixture.hpp"

namespace {

constexpr uint32_t kSmmuPhandle = 0x8005; // QEMU's phandle for its SMMUv3
constexpr uint32_t kFirstIntxIntid = 35;  // SPI 3

struct Parsed {
    Platform platform;
    PlatformError error;
    bool ok = false;
};

Parsed parse(const std::vector<char>& dtb)
{
    Parsed result;
    result.ok = parse_platform(dtb.data(), result.platform, result.error);
    return result;
}

/// QEMU's GICv3 DTB with the SMMU and the bridge, changed by `edit` (given
/// the tree, the pcie node and the smmu node).
std::vector<char> edited(const std::function<void(void*, int, int)>& edit)
{
    const std::vector<char> dtb = load_dtb("qemu-virt-gicv3-smmu-pci");
    std::vector<char> out(dtb.size() + 4096);
    EXPECT_EQ(fdt_open_into(dtb.data(), out.data(), static_cast<int>(out.size())), 0);
    const int pcie = fdt_path_offset(out.data(), "/pcie@10000000");
    const int smmu = fdt_path_offset(out.data(), "/smmuv3@9050000");
    EXPECT_GE(pcie, 0);
    EXPECT_GE(smmu, 0);
    edit(out.data(), pcie, smmu);
    return out;
}

/// Property `name` of `node` without its last `cells` cells.
void truncate(void* fdt, int node, const char* name, int cells)
{
    int len = 0;
    const void* value = fdt_getprop(fdt, node, name, &len);
    ASSERT_NE(value, nullptr) << name;
    const std::vector<char> copy(static_cast<const char*>(value), static_cast<const char*>(value) + len);
    ASSERT_EQ(fdt_setprop(fdt, node, name, copy.data(), len - 4 * cells), 0);
}

void set_cells(void* fdt, int node, const char* name, std::vector<uint32_t> cells)
{
    for (uint32_t& cell : cells) {
        cell = cpu_to_fdt32(cell);
    }
    ASSERT_EQ(fdt_setprop(fdt, node, name, cells.data(), static_cast<int>(cells.size() * 4)), 0);
}

/// Cell `index` of property `name` of `node` set to `value`.
void set_cell(void* fdt, int node, const char* name, int index, uint32_t value)
{
    const fdt32_t cell = cpu_to_fdt32(value);
    ASSERT_EQ(fdt_setprop_inplace_namelen_partial(fdt, node, name, static_cast<int>(strlen(name)),
                                                  static_cast<uint32_t>(index) * 4, &cell, sizeof cell),
              0);
}

class QemuVirtPci : public ::testing::TestWithParam<const char*> {};

TEST_P(QemuVirtPci, SmmuV3AtItsAddressWithItsFourNamedSpisAndCoherent)
{
    const Parsed r = parse(load_dtb(GetParam()));
    ASSERT_TRUE(r.ok) << r.error.message;
    const Platform& p = r.platform;
    ASSERT_EQ(p.smmu_count, 1u);
    EXPECT_EQ(p.smmus_ignored, 0u);
    const SmmuDesc& smmu = p.smmu[0];
    EXPECT_EQ(smmu.regs.base, 0x9050000u);
    EXPECT_EQ(smmu.regs.size, 0x20000u);
    EXPECT_EQ(smmu.phandle, kSmmuPhandle);
    EXPECT_EQ(smmu.eventq_intid, 106u) << "SPI 74";
    EXPECT_EQ(smmu.priq_intid, 107u);
    EXPECT_EQ(smmu.cmdq_sync_intid, 108u);
    EXPECT_EQ(smmu.gerror_intid, 109u);
    EXPECT_TRUE(smmu.coherent);
}

TEST_P(QemuVirtPci, EcamBridgeWithAllBusesItsThreeWindowsAndCoherent)
{
    const Parsed r = parse(load_dtb(GetParam()));
    ASSERT_TRUE(r.ok) << r.error.message;
    const Platform& p = r.platform;
    ASSERT_TRUE(p.has_pci) << p.pci_problem;
    EXPECT_STREQ(p.pci_problem, "");
    const PciHostDesc& pci = p.pci;
    EXPECT_EQ(pci.ecam.base, 0x4010000000u);
    EXPECT_EQ(pci.ecam.size, 0x10000000u);
    EXPECT_EQ(pci.bus_first, 0u);
    EXPECT_EQ(pci.bus_last, 255u);
    EXPECT_EQ(pci.mmio32.base, 0x10000000u);
    EXPECT_EQ(pci.mmio32.size, 0x2eff0000u);
    EXPECT_EQ(pci.mmio32_pci, 0x10000000u) << "identity on QEMU virt";
    EXPECT_EQ(pci.mmio64.base, 0x8000000000u);
    EXPECT_EQ(pci.mmio64.size, 0x8000000000u);
    EXPECT_EQ(pci.mmio64_pci, 0x8000000000u);
    EXPECT_EQ(pci.io.base, 0x3eff0000u);
    EXPECT_EQ(pci.io.size, 0x10000u);
    EXPECT_EQ(pci.io_pci, 0u) << "port 0 upwards";
    EXPECT_TRUE(pci.coherent);
}

TEST_P(QemuVirtPci, IntxFollowsTheStandardSwizzleOverSpis3To6)
{
    const Parsed r = parse(load_dtb(GetParam()));
    ASSERT_TRUE(r.ok) << r.error.message;
    const PciHostDesc& pci = r.platform.pci;
    EXPECT_EQ(pci.intx_count, 16u);
    EXPECT_EQ(pci.intx_intid(2, 1), 37u) << "the edu device at 00:02.0, INTA";
    // interrupt-map-mask keeps device bits 11-12 only: device 4 is device 0 again.
    for (uint32_t device = 0; device < 32; device++) {
        for (uint32_t pin = 1; pin <= 4; pin++) {
            EXPECT_EQ(pci.intx_intid(device, pin), kFirstIntxIntid + (device + pin - 1) % 4)
                << "device " << device << " pin " << pin;
        }
    }
    EXPECT_EQ(pci.intx_intid(2, 0), 0u) << "pin 0: the function uses no INTx";
    EXPECT_EQ(pci.intx_intid(2, 5), 0u);
    EXPECT_EQ(pci.intx_intid(32, 1), 0u) << "there are 32 devices on a bus";
}

TEST_P(QemuVirtPci, RequesterIdIsTheStreamIdOnTheSmmu)
{
    const Parsed r = parse(load_dtb(GetParam()));
    ASSERT_TRUE(r.ok) << r.error.message;
    const PciHostDesc& pci = r.platform.pci;
    ASSERT_EQ(pci.iommu.count, 1u);
    size_t smmu = 99;
    uint32_t sid = 0;
    ASSERT_TRUE(pci.stream_of(0x10, r.platform, smmu, sid)) << "00:02.0";
    EXPECT_EQ(smmu, 0u);
    EXPECT_EQ(sid, 0x10u);
    ASSERT_TRUE(pci.stream_of(0xffff, r.platform, smmu, sid));
    EXPECT_EQ(sid, 0xffffu);
    EXPECT_FALSE(pci.stream_of(0x10000, r.platform, smmu, sid)) << "past the map's 0x10000 IDs";
}

INSTANTIATE_TEST_SUITE_P(Gic, QemuVirtPci, ::testing::Values("qemu-virt-gicv3-smmu-pci", "qemu-virt-gicv2-smmu-pci"),
                         [](const ::testing::TestParamInfo<const char*>& param) {
                             return std::string(strstr(param.param, "gicv3") != nullptr ? "V3" : "V2");
                         });

TEST(FdtPci, WithoutIommuSmmuv3TheBridgeIsThereButNoStreamIsConfined)
{
    const Parsed r = parse(load_dtb("qemu-virt-gicv3-pci"));
    ASSERT_TRUE(r.ok) << r.error.message;
    EXPECT_EQ(r.platform.smmu_count, 0u);
    ASSERT_TRUE(r.platform.has_pci) << r.platform.pci_problem;
    EXPECT_EQ(r.platform.pci.iommu.count, 0u);
    EXPECT_EQ(r.platform.pci.intx_intid(2, 1), 37u);
    size_t smmu = 0;
    uint32_t sid = 0;
    EXPECT_FALSE(r.platform.pci.stream_of(0x10, r.platform, smmu, sid));
}

TEST(FdtPci, Rock5bSmmusAreDisabledAndItsDesignWarePcieIsNotEcamGeneric)
{
    const std::vector<char> dtb = load_deps_dtb("linux-6.12/usr/lib/linux-image-*/rockchip/rk3588-rock-5b.dtb");
    ASSERT_FALSE(dtb.empty());
    // Called directly: the shipped tree has no /memory, so parse_platform stops before them.
    const int gic = fdt_node_offset_by_compatible(dtb.data(), -1, "arm,gic-v3");
    ASSERT_GE(gic, 0);
    Platform p;
    fdt_pci::parse_smmus(dtb.data(), gic, p);
    fdt_pci::parse_host_bridge(dtb.data(), gic, p);
    EXPECT_EQ(p.smmu_count, 0u) << "iommu@fc900000 and iommu@fcb00000 are disabled";
    EXPECT_FALSE(p.has_pci);
    EXPECT_STREQ(p.pci_problem, "pcie@fe190000: rockchip,rk3588-pcie is not pci-host-ecam-generic");
}

TEST(FdtPci, ADisabledSmmuIsNotFoundAndItsStreamsAreNotConfined)
{
    const Parsed r =
        parse(edited([](void* fdt, int, int smmu) { fdt_setprop_string(fdt, smmu, "status", "disabled"); }));
    ASSERT_TRUE(r.ok) << r.error.message;
    EXPECT_EQ(r.platform.smmu_count, 0u);
    ASSERT_TRUE(r.platform.has_pci);
    size_t smmu = 0;
    uint32_t sid = 0;
    EXPECT_FALSE(r.platform.pci.stream_of(0x10, r.platform, smmu, sid));
}

TEST(FdtPci, SmmuInterruptsFollowTheirNamesOrWithoutNamesTheBindingsOrder)
{
    const auto reordered = [](void* fdt, int, int smmu) {
        static const char kNames[] = "gerror\0cmdq-sync\0eventq"; // 3 interrupts: SPIs 74-76
        fdt_setprop(fdt, smmu, "interrupt-names", kNames, sizeof kNames);
    };
    Parsed r = parse(edited(reordered));
    ASSERT_EQ(r.platform.smmu_count, 1u);
    EXPECT_EQ(r.platform.smmu[0].gerror_intid, 106u);
    EXPECT_EQ(r.platform.smmu[0].cmdq_sync_intid, 107u);
    EXPECT_EQ(r.platform.smmu[0].eventq_intid, 108u);
    EXPECT_EQ(r.platform.smmu[0].priq_intid, 0u) << "not named";

    r = parse(edited([](void* fdt, int, int smmu) { fdt_delprop(fdt, smmu, "interrupt-names"); }));
    ASSERT_EQ(r.platform.smmu_count, 1u);
    EXPECT_EQ(r.platform.smmu[0].eventq_intid, 106u);
    EXPECT_EQ(r.platform.smmu[0].priq_intid, 107u);
    EXPECT_EQ(r.platform.smmu[0].cmdq_sync_intid, 108u);
    EXPECT_EQ(r.platform.smmu[0].gerror_intid, 109u);

    r = parse(edited([](void* fdt, int, int smmu) { truncate(fdt, smmu, "interrupts", 3); }));
    ASSERT_EQ(r.platform.smmu_count, 1u) << "an SMMU with fewer interrupts is still an SMMU";
    EXPECT_EQ(r.platform.smmu[0].cmdq_sync_intid, 108u);
    EXPECT_EQ(r.platform.smmu[0].gerror_intid, 0u);
}

TEST(FdtPci, SmmusPastTheFourthAreCountedAndIgnored)
{
    const Parsed r = parse(edited([](void* fdt, int, int) {
        for (uint32_t i = 1; i <= 4; i++) {
            const std::string name = "smmu@" + std::to_string(0x9100000 + i * 0x20000);
            const int node = fdt_add_subnode(fdt, 0, name.c_str());
            ASSERT_GE(node, 0);
            fdt_setprop_string(fdt, node, "compatible", "arm,smmu-v3");
            set_cells(fdt, node, "reg", {0, 0x9100000 + i * 0x20000, 0, 0x20000});
        }
    }));
    ASSERT_TRUE(r.ok) << r.error.message;
    EXPECT_EQ(r.platform.smmu_count, Platform::kMaxSmmus);
    EXPECT_EQ(r.platform.smmus_ignored, 1u);
    // fdt_add_subnode put the new nodes first: QEMU's is the fifth in the tree.
    for (size_t i = 0; i < r.platform.smmu_count; i++) {
        EXPECT_NE(r.platform.smmu[i].regs.base, 0x9050000u) << i;
    }
}

TEST(FdtPci, BusRangeIsCappedToWhatTheEcamHolds)
{
    const Parsed r = parse(edited([](void* fdt, int pcie, int) {
        set_cells(fdt, pcie, "bus-range", {0x10, 0xff});
        set_cells(fdt, pcie, "reg", {0x40, 0x10000000, 0, 0x800000}); // 8 buses
    }));
    ASSERT_TRUE(r.platform.has_pci) << r.platform.pci_problem;
    EXPECT_EQ(r.platform.pci.bus_first, 0x10u);
    EXPECT_EQ(r.platform.pci.bus_last, 0x17u);
}

struct Broken {
    const char* what;
    std::function<void(void*, int)> edit;
    const char* problem;
};

void PrintTo(const Broken& broken, std::ostream* out) { *out << broken.what; }

class BrokenBridge : public ::testing::TestWithParam<Broken> {};

TEST_P(BrokenBridge, IsNotUsedAndSaysWhy)
{
    const Broken& broken = GetParam();
    const Parsed r = parse(edited([&](void* fdt, int pcie, int) { broken.edit(fdt, pcie); }));
    ASSERT_TRUE(r.ok) << "Vireo boots without PCIe: " << r.error.message;
    EXPECT_FALSE(r.platform.has_pci);
    EXPECT_EQ(std::string(r.platform.pci_problem), std::string("pcie@10000000: ") + broken.problem);
    EXPECT_EQ(r.platform.pci.ecam.size, 0u) << "nothing half-parsed is left";
    EXPECT_EQ(r.platform.pci.intx_count, 0u);
    EXPECT_EQ(r.platform.smmu_count, 1u) << "the SMMU does not depend on the bridge";
}

INSTANTIATE_TEST_SUITE_P(
    FdtPci, BrokenBridge,
    ::testing::Values(
        Broken{"TruncatedInterruptMap", [](void* fdt, int pcie) { truncate(fdt, pcie, "interrupt-map", 1); },
               "interrupt-map is truncated"},
        Broken{"InterruptMapWithAnUnknownParent",
               [](void* fdt, int pcie) { set_cell(fdt, pcie, "interrupt-map", 4 + 10 * 5, 0x1234); },
               "interrupt-map names an unknown parent or one without usable #interrupt-cells"},
        Broken{"ShortInterruptMapMask", [](void* fdt, int pcie) { truncate(fdt, pcie, "interrupt-map-mask", 1); },
               "interrupt-map needs a 4-cell interrupt-map-mask and #interrupt-cells = 1"},
        Broken{"RangesOfAWrongLength", [](void* fdt, int pcie) { truncate(fdt, pcie, "ranges", 1); },
               "ranges is missing or not whole <pci-address cpu-address size> entries"},
        Broken{"RangesWithoutMemory",
               [](void* fdt, int pcie) {
                   set_cells(fdt, pcie, "ranges", {0x1000000, 0, 0, 0, 0x3eff0000, 0, 0x10000});
               },
               "ranges gives no memory window"},
        Broken{"RangesNotWholeCells", [](void* fdt, int pcie) { fdt_setprop(fdt, pcie, "ranges", "abcdefg", 7); },
               "ranges is missing or not whole <pci-address cpu-address size> entries"},
        Broken{"BusRangeReversed",
               [](void* fdt, int pcie) {
                   set_cells(fdt, pcie, "bus-range", {5, 4});
               },
               "bus-range is not <first last> within 0-255"},
        Broken{"EcamUnderOneBus",
               [](void* fdt, int pcie) {
                   set_cells(fdt, pcie, "reg", {0x40, 0x10000000, 0, 0x1000});
               },
               "reg gives no ECAM of at least one bus (1 MiB)"},
        Broken{"NotAPciBus", [](void* fdt, int pcie) { set_cells(fdt, pcie, "#address-cells", {2}); },
               "#address-cells and #size-cells are not 3 and 2 (a PCI bus)"},
        Broken{"IommuMapOfAWrongLength", [](void* fdt, int pcie) { truncate(fdt, pcie, "iommu-map", 1); },
               "iommu-map is not whole <rid-base iommu sid-base length> entries"}),
    [](const ::testing::TestParamInfo<Broken>& param) { return std::string(param.param.what); });

TEST(FdtPci, IommuMapEntryNamingAnUnknownPhandleIsLeftOut)
{
    const Parsed r = parse(edited([](void* fdt, int pcie, int) {
        set_cells(fdt, pcie, "iommu-map", {0, 0x1234, 0, 0x100, 0x100, kSmmuPhandle, 0x4000, 0x100});
    }));
    ASSERT_TRUE(r.platform.has_pci) << r.platform.pci_problem;
    ASSERT_EQ(r.platform.pci.iommu.count, 1u);
    size_t smmu = 0;
    uint32_t sid = 0;
    EXPECT_FALSE(r.platform.pci.stream_of(0x10, r.platform, smmu, sid)) << "behind no SMMU Vireo knows";
    ASSERT_TRUE(r.platform.pci.stream_of(0x110, r.platform, smmu, sid));
    EXPECT_EQ(sid, 0x4010u) << "sid-base + (rid - rid-base)";
}

TEST(FdtPci, IommuMapMaskSelectsTheRequesterIdBitsLookedUp)
{
    const Parsed r = parse(edited([](void* fdt, int pcie, int) { set_cells(fdt, pcie, "iommu-map-mask", {0xfff8}); }));
    ASSERT_TRUE(r.platform.has_pci) << r.platform.pci_problem;
    size_t smmu = 0;
    uint32_t sid = 0;
    ASSERT_TRUE(r.platform.pci.stream_of(0x13, r.platform, smmu, sid)) << "00:02.3";
    EXPECT_EQ(sid, 0x10u) << "all functions of a device share its stream";
}

TEST(FdtPci, InterruptMapEntriesThatAreNotGicSpisAreLeftOut)
{
    const Parsed r = parse(edited([](void* fdt, int pcie, int) {
        set_cell(fdt, pcie, "interrupt-map", 7 + 10 * 2, 1); // the third entry (device 0, INTC) a PPI
    }));
    ASSERT_TRUE(r.platform.has_pci) << r.platform.pci_problem;
    EXPECT_EQ(r.platform.pci.intx_count, 15u);
    EXPECT_EQ(r.platform.pci.intx_intid(0, 3), 0u);
    EXPECT_EQ(r.platform.pci.intx_intid(0, 4), 38u);
}

TEST(FdtPci, TheFirstEnabledEcamBridgeIsTaken)
{
    // A disabled copy of QEMU's bridge with its ECAM elsewhere, first in the tree.
    const Parsed r = parse(edited([](void* fdt, int pcie, int) {
        std::vector<std::pair<std::string, std::vector<char>>> properties;
        int property = 0;
        fdt_for_each_property_offset(property, fdt, pcie)
        {
            const char* name = nullptr;
            int len = 0;
            const auto* value = static_cast<const char*>(fdt_getprop_by_offset(fdt, property, &name, &len));
            properties.emplace_back(name, std::vector<char>(value, value + len));
        }
        const int copy = fdt_add_subnode(fdt, 0, "pcie@20000000");
        ASSERT_GE(copy, 0);
        for (const auto& [name, value] : properties) {
            ASSERT_EQ(fdt_setprop(fdt, copy, name.c_str(), value.data(), static_cast<int>(value.size())), 0);
        }
        set_cells(fdt, copy, "reg", {0x50, 0, 0, 0x10000000});
        fdt_setprop_string(fdt, copy, "status", "disabled");
        ASSERT_LT(copy, fdt_path_offset(fdt, "/pcie@10000000"));
    }));
    ASSERT_TRUE(r.platform.has_pci) << r.platform.pci_problem;
    EXPECT_EQ(r.platform.pci.ecam.base, 0x4010000000u);
}

} // namespace

TEST(FdtPci, GicV2HasItsV2mFrameGicV3None)
{
    const Parsed v2 = parse(load_dtb("qemu-virt-gicv2-smmu-pci"));
    ASSERT_TRUE(v2.ok) << v2.error.message;
    EXPECT_EQ(v2.platform.gic.msi_frame.base, 0x8020000u) << "QEMU virt's GICv2m frame, a child of the GIC";
    EXPECT_EQ(v2.platform.gic.msi_frame.size, 0x1000u);
    const Parsed v3 = parse(load_dtb("qemu-virt-gicv3-smmu-pci"));
    ASSERT_TRUE(v3.ok) << v3.error.message;
    EXPECT_EQ(v3.platform.gic.msi_frame.size, 0u) << "GICv3 has an ITS instead";
}

TEST(FdtPci, MsiMapGivesEachFunctionItsDeviceIdAtTheIts)
{
    const Parsed v3 = parse(load_dtb("qemu-virt-gicv3-smmu-pci"));
    ASSERT_TRUE(v3.ok) << v3.error.message;
    EXPECT_EQ(v3.platform.gic.its.base, 0x08080000u);
    EXPECT_EQ(v3.platform.gic.its.size, 0x20000u);
    EXPECT_NE(v3.platform.gic.its_phandle, 0u);
    uint32_t device = 0;
    ASSERT_TRUE(v3.platform.pci.device_id_of(0x10, v3.platform, device)) << "00:02.0";
    EXPECT_EQ(device, 0x10u) << "msi-map = <0 &its 0 0x10000>: the requester ID";
    const Parsed v2 = parse(load_dtb("qemu-virt-gicv2-smmu-pci"));
    ASSERT_TRUE(v2.ok) << v2.error.message;
    EXPECT_EQ(v2.platform.gic.its.size, 0u) << "a GICv2 has no ITS";
    EXPECT_FALSE(v2.platform.pci.device_id_of(0x10, v2.platform, device)) << "its msi-map names the GICv2m frame";
}
