// VM configurations in DTS (guests/configs/, tests/dts/config_*.dts): what
// each property becomes, and the message for each mistake.
#include <cstring>
#include <gtest/gtest.h>
#include <libfdt.h>
#include <string>
#include <vector>

#include "kernel/loader/config.hpp"
#include "tests/unit/dtb_fixture.hpp"

namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr ConfigLimits kMachine{4, 2048 * kMiB}; // make run: 4 CPUs; RAM left for VMs

struct Parsed {
    std::vector<char> dtb;
    VmConfig vms[40];
    PassthroughDevice devices[40];
    size_t count = 0;
    bool ok = false;
    LoadError error;

    const VmConfig& vm(const char* name) const
    {
        for (size_t i = 0; i < count; i++) {
            if (strcmp(vms[i].name, name) == 0) {
                return vms[i];
            }
        }
        ADD_FAILURE() << "no VM " << name;
        return vms[0];
    }
    /// The error of VM `name`, or "ok".
    std::string error_of(const char* name) const
    {
        const VmConfig& v = vm(name);
        return v.ok ? "ok" : v.error;
    }
};

Parsed parse_config(const std::string& fixture, ConfigLimits limits = kMachine, size_t max = 40)
{
    Parsed result;
    result.dtb = load_dtb(fixture);
    const std::string file = "tests/dts/" + fixture + ".dts";
    result.ok = vm_config::parse(result.dtb.data(), result.dtb.size(), file.c_str(), limits, result.vms, max,
                                 result.devices, 40, result.count, result.error);
    return result;
}

TEST(VmConfig, ShippedLinuxConfigIsOneVmOnFourCpus)
{
    const Parsed r = parse_config("config_linux");
    ASSERT_TRUE(r.ok) << r.error.message;
    ASSERT_EQ(r.count, 1u);
    const VmConfig& vm = r.vms[0];
    ASSERT_TRUE(vm.ok) << vm.error;
    EXPECT_STREQ(vm.name, "linux");
    EXPECT_EQ(vm.vcpus, 4u);
    EXPECT_FALSE(vm.pinned) << "no pinning: the scheduler's default";
    EXPECT_EQ(vm.ram_base, 0x40000000u);
    EXPECT_EQ(vm.ram_size, 512 * kMiB);
    EXPECT_STREQ(vm.kernel, "linux");
    EXPECT_STREQ(vm.initrd, "initramfs");
    EXPECT_EQ(vm.dtb, nullptr) << "generated";
    EXPECT_STREQ(vm.bootargs, "console=ttyAMA0 earlycon=pl011,0x09000000 panic=-1");
    EXPECT_TRUE(vm.console_input) << "the only VM has the console";
    EXPECT_EQ(vm.smc_forward_count, 0u);
}

TEST(VmConfig, ShippedTwoLinuxConfigSplitsTheCpus)
{
    const Parsed r = parse_config("config_two_linux");
    ASSERT_TRUE(r.ok) << r.error.message;
    ASSERT_EQ(r.count, 2u);
    const VmConfig& a = r.vm("linux1");
    const VmConfig& b = r.vm("linux2");
    ASSERT_TRUE(a.ok) << a.error;
    ASSERT_TRUE(b.ok) << b.error;
    EXPECT_EQ(a.vcpus, 2u);
    EXPECT_EQ(a.pcpu[0], 0);
    EXPECT_EQ(a.pcpu[1], 1);
    EXPECT_TRUE(a.pinned);
    EXPECT_TRUE(b.pinned);
    EXPECT_EQ(b.pcpu[0], 2);
    EXPECT_EQ(b.pcpu[1], 3);
    EXPECT_EQ(a.ram_size, 256 * kMiB);
    EXPECT_EQ(b.ram_base, 0x40000000u) << "each VM has its own guest-physical space";
    EXPECT_STREQ(b.kernel, "linux");
    EXPECT_STREQ(b.initrd, "initramfs");
    EXPECT_TRUE(a.console_input) << "the first VM, by default";
    EXPECT_FALSE(b.console_input);
}

TEST(VmConfig, EveryPropertyLandsInItsField)
{
    const Parsed r = parse_config("config_full");
    ASSERT_TRUE(r.ok) << r.error.message;
    ASSERT_EQ(r.count, 2u);
    const VmConfig& vm = r.vm("full");
    ASSERT_TRUE(vm.ok) << vm.error;
    EXPECT_EQ(vm.vcpus, 3u);
    EXPECT_EQ(vm.pcpu[0], 3);
    EXPECT_EQ(vm.pcpu[1], 1);
    EXPECT_EQ(vm.pcpu[2], 1) << "vCPUs may share a CPU";
    EXPECT_EQ(vm.ram_base, 0x100000000u);
    EXPECT_EQ(vm.ram_size, 1024 * kMiB);
    EXPECT_STREQ(vm.kernel, "linux-6.1");
    EXPECT_STREQ(vm.initrd, "initramfs");
    EXPECT_STREQ(vm.dtb, "board.dtb");
    EXPECT_STREQ(vm.bootargs, "console=ttyAMA0 quiet");
    EXPECT_TRUE(vm.console_input);
    EXPECT_TRUE(vm.test_device);
    EXPECT_TRUE(vm.identity_mapped);
    EXPECT_EQ(vm.unmapped_mmio, UnmappedMmio::Ignore);
    ASSERT_EQ(vm.smc_forward_count, 2u);
    EXPECT_EQ(vm.smc_range(0).first, 0xc2000000u);
    EXPECT_EQ(vm.smc_range(0).last, 0xc200ffffu);
    EXPECT_EQ(vm.smc_range(1).first, 0x82000010u);
    EXPECT_EQ(vm.smc_range(1).last, 0x82000010u);
    // Strings point into the blob: no copies, no heap.
    EXPECT_GE(vm.kernel, r.dtb.data());
    EXPECT_LT(vm.kernel, r.dtb.data() + r.dtb.size());

    const VmConfig& minimal = r.vm("minimal");
    ASSERT_TRUE(minimal.ok) << minimal.error;
    EXPECT_EQ(minimal.ram_base, 0u);
    EXPECT_EQ(minimal.ram_size, 128 * kMiB) << "memory may end where the device window starts";
    EXPECT_EQ(minimal.initrd, nullptr);
    EXPECT_EQ(minimal.dtb, nullptr);
    EXPECT_EQ(minimal.bootargs, nullptr);
    EXPECT_FALSE(minimal.console_input) << "'full' asked for it";
    EXPECT_FALSE(minimal.test_device) << "a test aid, never there by default";
    EXPECT_FALSE(minimal.identity_mapped);
    EXPECT_EQ(minimal.unmapped_mmio, UnmappedMmio::Abort) << "an access with nothing behind it aborts by default";

    // The identity-mapped VMs are found before anything is parsed.
    vm_config::IdentityRange ranges[4];
    ASSERT_EQ(vm_config::identity_ranges(r.dtb.data(), r.dtb.size(), ranges, 4), 1u);
    EXPECT_STREQ(ranges[0].name, "full");
    EXPECT_EQ(ranges[0].base, 0x100000000u);
    EXPECT_EQ(ranges[0].size, 1024 * kMiB);
    EXPECT_EQ(vm_config::identity_ranges(r.dtb.data(), r.dtb.size(), ranges, 0), 0u) << "no room, none written";
    EXPECT_EQ(vm_config::identity_ranges("not a DTB", 9, ranges, 4), 0u);
}

class BadVms : public ::testing::Test {
protected:
    static void SetUpTestSuite() { parsed = new Parsed(parse_config("config_bad_vms")); }
    static void TearDownTestSuite() { delete parsed; }
    static std::string error(const char* vm) { return parsed->error_of(vm); }
    static Parsed* parsed;
};
Parsed* BadVms::parsed = nullptr;

#define FILE_AND_NODE(node) "tests/dts/config_bad_vms.dts: /" node ": "

TEST_F(BadVms, EveryVmIsReportedAndTheGoodOneStaysGood)
{
    ASSERT_TRUE(parsed->ok) << parsed->error.message;
    EXPECT_EQ(parsed->count, 36u);
    EXPECT_EQ(error("good"), "ok");
    EXPECT_TRUE(parsed->vm("good").console_input) << "the first good VM";
    for (size_t i = 1; i < parsed->count; i++) {
        EXPECT_FALSE(parsed->vms[i].ok) << parsed->vms[i].name;
    }
}

TEST_F(BadVms, KernelMustBeOnePackageEntryName)
{
    EXPECT_EQ(error("no-kernel"), FILE_AND_NODE("no-kernel") "property 'kernel' missing: expected the name of a "
                                                             "package entry holding an arm64 Image or a raw binary, "
                                                             "or 'entry' in an executable region (firmware)");
    EXPECT_EQ(error("kernel-not-terminated"),
              FILE_AND_NODE("kernel-not-terminated") "property 'kernel' is not a NUL-terminated string: expected the "
                                                     "name of a package entry holding an arm64 Image or a raw binary");
    EXPECT_EQ(error("kernel-two-strings"),
              FILE_AND_NODE("kernel-two-strings") "property 'kernel' holds several strings: expected one, the name of "
                                                  "a package entry holding an arm64 Image or a raw binary");
    EXPECT_EQ(error("kernel-empty"),
              FILE_AND_NODE("kernel-empty") "property 'kernel' is 0 characters long: expected the name of a package "
                                            "entry holding an arm64 Image or a raw binary (1 to 47 characters)");
    EXPECT_EQ(error("kernel-too-long")
                  .find(FILE_AND_NODE("kernel-too-long") "property 'kernel' is 48 characters "
                                                         "long"),
              0u);
}

TEST_F(BadVms, OtherStringsMustBeTerminated)
{
    EXPECT_EQ(error("initrd-not-terminated"),
              FILE_AND_NODE("initrd-not-terminated") "property 'initrd' is not a NUL-terminated string: expected the "
                                                     "name of a package entry holding an initramfs");
    EXPECT_EQ(error("bootargs-not-terminated"),
              FILE_AND_NODE("bootargs-not-terminated") "property 'bootargs' is not a NUL-terminated string: expected "
                                                       "the kernel command line");
}

TEST_F(BadVms, MemoryMustBeOneAlignedRangeOutsideTheDeviceWindowBelow1TiB)
{
    EXPECT_EQ(error("no-memory"),
              FILE_AND_NODE("no-memory") "property 'memory' missing: expected the guest-physical base and size of "
                                         "the VM's RAM, e.g. memory = <0x0 0x40000000 0x0 0x20000000>;");
    EXPECT_EQ(error("memory-three-cells"),
              FILE_AND_NODE("memory-three-cells") "property 'memory' has 12 bytes: expected 4 cells, <base-high "
                                                  "base-low size-high size-low>");
    EXPECT_EQ(error("memory-unaligned"),
              FILE_AND_NODE("memory-unaligned") "property 'memory' is base 0x40100000 size 0x10000000: expected a "
                                                "non-zero size, both multiples of 2 MiB");
    EXPECT_EQ(error("memory-empty"),
              FILE_AND_NODE("memory-empty") "property 'memory' is base 0x40000000 size 0x0: expected a non-zero size, "
                                            "both multiples of 2 MiB");
    EXPECT_EQ(error("memory-device-window"),
              FILE_AND_NODE("memory-device-window") "property 'memory' [0xa800000, 0x1a800000) overlaps the device "
                                                    "window [0x8000000, 0xb000000): expected memory outside it");
    EXPECT_EQ(error("memory-beyond-1tib"),
              FILE_AND_NODE("memory-beyond-1tib") "property 'memory' is base 0xffffe00000 size 0x400000: expected it "
                                                  "to end by 0x10000000000 (40-bit guest-physical addresses)");
}

TEST_F(BadVms, VcpusMustBeOneCellFrom1To8)
{
    EXPECT_EQ(error("no-vcpus"), FILE_AND_NODE("no-vcpus") "property 'vcpus' missing: expected the number of vCPUs, "
                                                           "1 to 16, e.g. vcpus = <2>;");
    EXPECT_EQ(error("vcpus-zero"), FILE_AND_NODE("vcpus-zero") "property 'vcpus' is 0: expected 1 to 16");
    EXPECT_EQ(error("vcpus-seventeen"), FILE_AND_NODE("vcpus-seventeen") "property 'vcpus' is 17: expected 1 to 16");
    EXPECT_EQ(error("vcpus-two-cells"),
              FILE_AND_NODE("vcpus-two-cells") "property 'vcpus' has 8 bytes: expected one cell, the number of vCPUs "
                                               "(1 to 16)");
}

TEST_F(BadVms, CpusNamesOneExistingCpuPerVcpu)
{
    EXPECT_EQ(error("cpus-one-short"),
              FILE_AND_NODE("cpus-one-short") "property 'cpus' has 4 bytes: expected one cell per vCPU (2), each a "
                                              "physical CPU number");
    EXPECT_EQ(error("cpus-no-such-cpu"),
              FILE_AND_NODE("cpus-no-such-cpu") "property 'cpus' puts vCPU 1 on CPU 4: expected a CPU of this "
                                                "machine, which has 4 numbered from 0");
}

TEST_F(BadVms, UnknownPropertiesAndChildNodesAreErrors)
{
    EXPECT_EQ(error("misspelt-property"),
              FILE_AND_NODE("misspelt-property") "property 'kernal' is not known: expected one of vcpus, cpus, "
                                                 "memory, kernel, kernel-address, entry, initrd, dtb, dtb-address, "
                                                 "bootargs, console-input, smc-forward, test-device, identity-mapped, "
                                                 "networks, bridged-networks, unmapped-mmio, "
                                                 "pci-functions, unconfined-dma, colours, interrupts");
    EXPECT_EQ(error("child-node"),
              FILE_AND_NODE("child-node") "unexpected child node 'uart': expected only 'passthrough' and 'regions'");
    EXPECT_EQ(error("passthrough-no-reg"),
              FILE_AND_NODE("passthrough-no-reg") "passthrough/rtc: property 'reg' missing: expected the device's "
                                                  "registers, e.g. reg = <0x0 0x9010000 0x0 0x1000>;, or path");
    EXPECT_EQ(
        error("passthrough-path-and-reg"),
        FILE_AND_NODE("passthrough-path-and-reg") "passthrough/rtc: property 'path' takes reg, interrupts and "
                                                  "compatible from the host's DTB: expected either path or those");
    EXPECT_EQ(error("passthrough-relative-path"),
              FILE_AND_NODE("passthrough-relative-path") "passthrough/rtc: property 'path' is not a node path: "
                                                         "expected e.g. path = \"/virtio_mmio@a003e00\";");
    EXPECT_EQ(error("passthrough-ppi"), FILE_AND_NODE("passthrough-ppi") "passthrough/timer: property 'interrupts' "
                                                                         "names INTID 27: expected SPIs, 32 to 1019");
    EXPECT_EQ(error("passthrough-unaligned"),
              FILE_AND_NODE("passthrough-unaligned") "passthrough/rtc: property 'reg' is base 0x9010802 size 0x1000: "
                                                     "expected a non-zero range of whole 32-bit words below 1 TiB");
}

TEST(GoodVms, PassthroughDevicesAreRead)
{
    const Parsed r = parse_config("config_full");
    ASSERT_TRUE(r.ok) << r.error.message;
    const VmConfig& vm = r.vm("full");
    ASSERT_TRUE(vm.ok) << vm.error;
    ASSERT_EQ(vm.passthrough_count, 2u);
    const PassthroughConfig& disk = vm.passthrough[1];
    EXPECT_STREQ(disk.name, "disk");
    EXPECT_STREQ(disk.path, "/virtio_mmio@a003e00") << "reg and the rest come from the host DTB at build";
    EXPECT_EQ(disk.size, 0u);
    const PassthroughConfig& p = vm.passthrough[0];
    EXPECT_STREQ(p.name, "rtc@9010000");
    EXPECT_STREQ(p.compatible, "arm,pl031");
    EXPECT_EQ(p.base, 0x9010000u);
    EXPECT_EQ(p.size, 0x1000u);
    ASSERT_EQ(p.intids.count, 1u);
    EXPECT_EQ(p.intids[0], 34u);
}

TEST(VmConfig, ColoursAreAMaskOfTheCachesPageColours)
{
    ConfigLimits sixteen = kMachine;
    sixteen.page_colours = 16;
    const Parsed r = parse_config("config_colours", sixteen);
    ASSERT_TRUE(r.ok) << r.error.message;
    const VmConfig& good = r.vm("coloured");
    ASSERT_TRUE(good.ok) << good.error;
    EXPECT_EQ(good.colours, 0x10fu);
    EXPECT_EQ(r.vm("colours-empty").colours, 0u);
    EXPECT_STREQ(r.vm("colours-empty").error,
                 "tests/dts/config_colours.dts: /colours-empty: property 'colours' has 0 bytes: expected one or more "
                 "cells, each a page colour, e.g. colours = <0 1 2 3>;");
    EXPECT_STREQ(r.vm("colours-beyond").error,
                 "tests/dts/config_colours.dts: /colours-beyond: property 'colours' names colour 16: expected 0 to 15 "
                 "(this machine's last-level cache gives 16 page colours)");
    EXPECT_STREQ(r.vm("colours-identity").error,
                 "tests/dts/config_colours.dts: /colours-identity: property 'colours' with 'identity-mapped': a "
                 "coloured VM's RAM is pages of its colours spread over a larger run, an identity-mapped VM's is the "
                 "one run at its guest-physical address; expected one of the two");
}

TEST(VmConfig, VireosOwnColoursAreAMaskAtTheRoot)
{
    ConfigLimits sixteen = kMachine;
    sixteen.page_colours = 16;
    const auto own = [&](const char* fixture, uint64_t& set, LoadError& error) {
        const Parsed r = parse_config(fixture, sixteen);
        EXPECT_TRUE(r.ok) << r.error.message;
        const std::string file = std::string("tests/dts/") + fixture + ".dts";
        return vm_config::own_colours(r.dtb.data(), file.c_str(), sixteen, set, error);
    };
    uint64_t set = 1;
    LoadError error;
    EXPECT_TRUE(own("config_colours", set, error)) << error.message;
    EXPECT_EQ(set, 0xc000u);
    EXPECT_TRUE(own("config_linux", set, error)) << error.message;
    EXPECT_EQ(set, 0u) << "none named: any colour";
    EXPECT_FALSE(own("config_own_colours_beyond", set, error));
    EXPECT_STREQ(error.message, "tests/dts/config_own_colours_beyond.dts: /: property 'vireo-colours' names colour "
                                "16: expected 0 to 15 (this machine's last-level cache gives 16 page colours)");
    EXPECT_FALSE(own("config_own_colours_empty", set, error));
    EXPECT_STREQ(error.message,
                 "tests/dts/config_own_colours_empty.dts: /: property 'vireo-colours' has 0 bytes: expected one or "
                 "more cells, each a page colour for Vireo's own memory, e.g. vireo-colours = <15>;");
}

TEST(VmConfig, DirectInterruptsNeedCpusOfTheirOwn)
{
    const Parsed r = parse_config("config_direct");
    ASSERT_TRUE(r.ok) << r.error.message;
    const VmConfig& good = r.vm("direct");
    ASSERT_TRUE(good.ok) << good.error;
    EXPECT_TRUE(good.direct);
    ASSERT_TRUE(r.vm("emulated").ok) << r.vm("emulated").error;
    EXPECT_FALSE(r.vm("emulated").direct);
    const auto error = [&](const char* node, const char* message) {
        EXPECT_EQ(std::string(r.vm(node).error), std::string("tests/dts/config_direct.dts: /") + node + ": " + message);
    };
    error("misspelt", "property 'interrupts' is \"drect\": expected \"direct\" or \"emulated\"");
    error("unpinned", "property 'interrupts' is \"direct\" without 'cpus': expected each vCPU pinned to a CPU of its "
                      "own, e.g. cpus = <1 2>;");
    error("on-cpu-0", "property 'interrupts' is \"direct\" and vcpu 1 is pinned to cpu 0, which takes Vireo's console, "
                      "SMMU and unrouted MSI interrupts: expected CPUs other than 0");
    error("sharing", "property 'interrupts' is \"direct\" and vcpus 0 and 2 share cpu 1: expected each vCPU on a CPU "
                     "of its own");
    error("networked", "property 'interrupts' is \"direct\" with 'networks': those devices' interrupts reach a guest "
                       "through the virtual GIC's list registers, which a direct VM does not use; expected one of the "
                       "two");
}

TEST(VmConfig, DmaDevicesNeedIdentityMappedRam)
{
    const Parsed r = parse_config("config_dma");
    ASSERT_TRUE(r.ok) << r.error.message;
    const auto refused = [](const char* node, const char* device, const char* reason) {
        return std::string("tests/dts/config_dma.dts: /") + node + ": passthrough/" + device +
               ": the device does DMA (" + reason +
               ") and the VM's RAM is not identity-mapped, so without an SMMU it would read and write memory that is "
               "not the VM's: expected identity-mapped; on the VM, or no-dma; on a device that does no DMA";
    };
    EXPECT_EQ(r.error_of("virtio-identity"), "ok");
    EXPECT_EQ(r.error_of("virtio-not-identity"),
              refused("virtio-not-identity", "disk@a003e00", "compatible \"virtio,mmio\""))
        << "the PL031 before it does no DMA";
    EXPECT_EQ(r.error_of("virtio-said-no-dma"), "ok");
    EXPECT_EQ(r.error_of("declared-dma"), refused("declared-dma", "engine", "its property 'dma'"));
    EXPECT_EQ(r.error_of("declared-dma-by-path"), refused("declared-dma-by-path", "engine", "its property 'dma'"))
        << "known before the host DTB is read";
    EXPECT_EQ(r.error_of("path-said-no-dma"), "ok") << "what the host DTB says is checked when it is read";
    EXPECT_EQ(r.error_of("no-dma-device"), "ok");
    EXPECT_EQ(r.error_of("both"), "tests/dts/config_dma.dts: /both: passthrough/engine: properties 'dma' and 'no-dma' "
                                  "contradict each other: expected one of them");
    EXPECT_EQ(r.error_of("dma-with-value"), "tests/dts/config_dma.dts: /dma-with-value: passthrough/engine: property "
                                            "'dma' has 4 bytes: expected no value (dma;)");
    EXPECT_TRUE(r.vm("virtio-said-no-dma").passthrough[0].declares_no_dma);
    EXPECT_TRUE(r.vm("virtio-identity").passthrough[0].compatible_with("virtio,mmio"));
}

TEST(VmConfig, NetworksAndTheOnesAVmBridges)
{
    const Parsed r = parse_config("config_networks");
    ASSERT_TRUE(r.ok) << r.error.message;
    EXPECT_EQ(r.error_of("two-networks"), "ok");
    const VmConfig& vm = r.vm("two-networks");
    ASSERT_EQ(vm.network_count, 2u);
    EXPECT_STREQ(vm.network(1), "lan1");
    EXPECT_FALSE(vm.bridges(0)) << "off by default";
    EXPECT_TRUE(vm.bridges(1));
    const std::string at = "tests/dts/config_networks.dts: /";
    EXPECT_EQ(r.error_of("not-strings"),
              at + "not-strings: property 'networks' is not a list of strings: expected e.g. networks = \"lan0\";");
    EXPECT_EQ(r.error_of("twice"), at + "twice: property 'networks' names \"lan0\" twice");
    EXPECT_EQ(r.error_of("bad-name"),
              at + "bad-name: property 'networks' names \"lan 0\": expected letters, digits, '-' and '_'");
    EXPECT_EQ(r.error_of("bridges-a-network-it-is-not-on"),
              at + "bridges-a-network-it-is-not-on: property 'bridged-networks' names \"lan1\": expected networks "
                   "the VM joins (its 'networks')");
    EXPECT_EQ(r.error_of("bridged-not-strings"),
              at + "bridged-not-strings: property 'bridged-networks' is not a list of strings: expected e.g. "
                   "bridged-networks = \"lan0\";");
}

TEST(VmConfig, PciFunctionsAreBusDeviceFunctionInHex)
{
    const Parsed r = parse_config("config_pci");
    ASSERT_TRUE(r.ok) << r.error.message;
    EXPECT_EQ(r.error_of("two-functions"), "ok");
    const VmConfig& vm = r.vm("two-functions");
    ASSERT_EQ(vm.pci_count, 2u);
    EXPECT_EQ(vm.pci[0].rid(), 0x10u) << "00:02.0";
    EXPECT_EQ(vm.pci[1].rid(), 0x1ffu) << "01:1f.7";
    const std::string at = "tests/dts/config_pci.dts: /";
    EXPECT_EQ(r.error_of("not-strings"), at + "not-strings: property 'pci-functions' is not a list of strings: "
                                              "expected e.g. pci-functions = \"00:02.0\";");
    EXPECT_EQ(r.error_of("twice"), at + "twice: property 'pci-functions' names \"00:02.0\" twice");
    const std::string expected = "\": expected bus:device.function in hexadecimal, e.g. \"00:02.0\" (device 00-1f, "
                                 "function 0-7)";
    EXPECT_EQ(r.error_of("device-too-big"), at + "device-too-big: property 'pci-functions' names \"00:20.0" + expected);
    EXPECT_EQ(r.error_of("function-too-big"),
              at + "function-too-big: property 'pci-functions' names \"00:02.8" + expected);
    EXPECT_EQ(r.error_of("not-hex"), at + "not-hex: property 'pci-functions' names \"0:2.0" + expected);
    EXPECT_EQ(r.error_of("nine"),
              at + "nine: property 'pci-functions' names more than 8 functions: expected at most 8");
}

TEST(PassthroughDevice, WhatCountsAsDma)
{
    static const char kVirtio[] = "vendor,x\0virtio,mmio";
    PassthroughDevice d;
    EXPECT_EQ(d.dma_reason(), nullptr) << "registers and interrupts only";
    d.iommus = true;
    EXPECT_STREQ(d.dma_reason(), "iommus in the host DTB");
    d.dma_coherent = true;
    EXPECT_STREQ(d.dma_reason(), "dma-coherent in the host DTB");
    d.compatible = kVirtio;
    d.compatible_length = sizeof kVirtio;
    EXPECT_STREQ(d.dma_reason(), "compatible \"virtio,mmio\"") << "any string of the list";
    d.declares_dma = true;
    EXPECT_STREQ(d.dma_reason(), "its property 'dma'");
    d.declares_no_dma = true;
    EXPECT_EQ(d.dma_reason(), nullptr) << "no-dma overrides every rule";

    VmConfig vm;
    vm.identity_mapped = true;
    d.declares_no_dma = false;
    char why[320];
    EXPECT_FALSE(vm_config::dma_refused(vm, d, why, sizeof why)) << "identity-mapped RAM takes any device";
}

TEST_F(BadVms, FlagsTakeNoValue)
{
    EXPECT_EQ(error("console-input-value"),
              FILE_AND_NODE("console-input-value") "property 'console-input' has 4 bytes: expected no value "
                                                   "(console-input;)");
    EXPECT_EQ(error("test-device-value"),
              FILE_AND_NODE("test-device-value") "property 'test-device' has 4 bytes: expected no value "
                                                 "(test-device;)");
}

TEST_F(BadVms, SmcForwardIsOrderedPairs)
{
    const std::string pairs = "expected pairs of cells <first last>, inclusive ranges of SMCCC function IDs";
    EXPECT_EQ(error("smc-odd-cells"), FILE_AND_NODE("smc-odd-cells") "property 'smc-forward' has 12 bytes: " + pairs);
    EXPECT_EQ(error("smc-empty"), FILE_AND_NODE("smc-empty") "property 'smc-forward' has 0 bytes: " + pairs);
    EXPECT_EQ(error("smc-reversed"), FILE_AND_NODE("smc-reversed") "property 'smc-forward' pair 0 is <0xc200ffff "
                                                                   "0xc2000000>: expected first <= last");
}

TEST_F(BadVms, UnmappedMmioIsAbortOrIgnore)
{
    EXPECT_EQ(error("unmapped-mmio-unknown"),
              FILE_AND_NODE("unmapped-mmio-unknown") "property 'unmapped-mmio' is \"zero\": expected \"abort\" or "
                                                     "\"ignore\"");
    EXPECT_EQ(error("unmapped-mmio-flag"),
              FILE_AND_NODE("unmapped-mmio-flag") "property 'unmapped-mmio' is not a NUL-terminated string: expected "
                                                  "\"abort\" or \"ignore\"");
    EXPECT_EQ(error("unmapped-mmio-two-strings"),
              FILE_AND_NODE("unmapped-mmio-two-strings") "property 'unmapped-mmio' holds several strings: expected "
                                                         "one, \"abort\" or \"ignore\"");
}

TEST_F(BadVms, VmNamesHaveAtMost31Characters)
{
    const VmConfig& vm = parsed->vms[parsed->count - 1];
    EXPECT_STREQ(vm.name, "a-vm-name-of-thirty-two-chars-x") << "cut to fit, for listing";
    EXPECT_FALSE(vm.ok);
    EXPECT_STREQ(vm.error, FILE_AND_NODE("a-vm-name-of-thirty-two-chars-xx") "the VM name has 32 characters: "
                                                                             "expected 1 to 31");
}

TEST(VmConfig, MemoryOfAllVmsMustFitTheMachine)
{
    const Parsed r = parse_config("config_memory_total");
    ASSERT_TRUE(r.ok) << r.error.message;
    EXPECT_EQ(r.error_of("first"), "ok");
    EXPECT_NE(r.error_of("broken"), "ok");
    EXPECT_EQ(r.error_of("second"), "ok") << "the broken VM's memory does not count";
    EXPECT_EQ(r.error_of("third"), "tests/dts/config_memory_total.dts: /third: property 'memory' of 512 MiB brings the "
                                   "VMs' memory to 2560 MiB: expected at most the 2 GiB Vireo can give them");
    const Parsed roomy = parse_config("config_memory_total", {4, 4096 * kMiB});
    EXPECT_EQ(roomy.error_of("third"), "ok");
}

TEST(VmConfig, OnlyOneVmMayAskForTheConsoleInput)
{
    const Parsed r = parse_config("config_console_twice");
    ASSERT_TRUE(r.ok) << r.error.message;
    EXPECT_FALSE(r.vm("first").console_input) << "the default goes, as 'second' asks";
    EXPECT_TRUE(r.vm("second").ok);
    EXPECT_TRUE(r.vm("second").console_input);
    EXPECT_EQ(r.error_of("third"), "tests/dts/config_console_twice.dts: /third: property 'console-input' is also set "
                                   "for /second: expected it on one VM only");
}

TEST(VmConfig, PinningNeedsTheMachinesCpus)
{
    const Parsed r = parse_config("config_two_linux", {2, 2048 * kMiB});
    ASSERT_TRUE(r.ok) << r.error.message;
    EXPECT_EQ(r.error_of("linux1"), "ok");
    EXPECT_EQ(r.error_of("linux2"), "tests/dts/config_two_linux.dts: /linux2: property 'cpus' puts vCPU 0 on CPU 2: "
                                    "expected a CPU of this machine, which has 2 numbered from 0");
}

// --- whole-file failures ---------------------------------------------------------

TEST(VmConfig, RejectsABlobThatIsNotADeviceTree)
{
    const std::string text = "/dts-v1/; / { compatible = \"vireo,config\"; };";
    VmConfig vms[2];
    size_t count = 7;
    LoadError error;
    EXPECT_FALSE(vm_config::parse(text.data(), text.size(), "linux.dts", kMachine, vms, 2, nullptr, 0, count, error));
    EXPECT_EQ(count, 0u);
    EXPECT_STREQ(error.message, "linux.dts: not a device tree (no FDT magic): expected a DTB compiled by dtc");
    EXPECT_FALSE(vm_config::parse(nullptr, 0, "linux.dtb", kMachine, vms, 2, nullptr, 0, count, error));
}

TEST(VmConfig, RejectsATruncatedOrCorruptDeviceTree)
{
    std::vector<char> dtb = load_dtb("config_linux");
    VmConfig vms[2];
    size_t count = 0;
    LoadError error;
    EXPECT_FALSE(vm_config::parse(dtb.data(), dtb.size() - 1, "linux.dtb", kMachine, vms, 2, nullptr, 0, count, error));
    EXPECT_EQ(std::string(error.message), "linux.dtb: device tree truncated: its header says " +
                                              std::to_string(dtb.size()) + " bytes, only " +
                                              std::to_string(dtb.size() - 1) + " are there");
    // The structure block's first token, FDT_BEGIN_NODE, made invalid.
    const uint32_t structure = fdt_off_dt_struct(dtb.data());
    dtb[structure] = 0x7f;
    EXPECT_FALSE(vm_config::parse(dtb.data(), dtb.size(), "linux.dtb", kMachine, vms, 2, nullptr, 0, count, error));
    EXPECT_EQ(std::string(error.message).find("linux.dtb: not a valid device tree: "), 0u) << error.message;
}

TEST(VmConfig, RejectsADeviceTreeThatIsNotAVireoConfiguration)
{
    for (const char* fixture : {"config_no_compatible", "config_wrong_compatible", "qemu-virt-gicv3"}) {
        const Parsed r = parse_config(fixture);
        EXPECT_FALSE(r.ok);
        EXPECT_EQ(r.count, 0u);
        EXPECT_EQ(std::string(r.error.message),
                  "tests/dts/" + std::string(fixture) +
                      ".dts: not a Vireo VM configuration: expected compatible = \"vireo,config\" at /");
    }
}

TEST(VmConfig, RejectsAConfigurationWithoutVms)
{
    const Parsed r = parse_config("config_no_vms");
    EXPECT_FALSE(r.ok);
    EXPECT_STREQ(r.error.message, "tests/dts/config_no_vms.dts: no VMs: expected one child node of / per VM");
}

TEST(VmConfig, RejectsMoreVmsThanTheCallerHasRoomFor)
{
    const Parsed r = parse_config("config_two_linux", kMachine, 1);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.count, 0u);
    EXPECT_STREQ(r.error.message, "tests/dts/config_two_linux.dts: 2 VMs: expected at most 1");
}

TEST(VmConfig, RejectsAVmPropertyAtTheRoot)
{
    const Parsed r = parse_config("config_root_property");
    EXPECT_FALSE(r.ok);
    EXPECT_STREQ(r.error.message, "tests/dts/config_root_property.dts: /: property 'vcpus' is not known: expected "
                                  "compatible, model or vireo-colours; each VM is a child node of /");
}

TEST(VmConfig, RejectsTwoVmsOfTheSameName)
{
    // dtc merges nodes of one name, so build such a blob by hand.
    std::vector<char> blob(4096);
    const auto string = [&](const char* name, const char* value) {
        return fdt_property(blob.data(), name, value, static_cast<int>(strlen(value) + 1));
    };
    ASSERT_EQ(fdt_create(blob.data(), static_cast<int>(blob.size())), 0);
    ASSERT_EQ(fdt_finish_reservemap(blob.data()), 0);
    ASSERT_EQ(fdt_begin_node(blob.data(), ""), 0);
    ASSERT_EQ(string("compatible", "vireo,config"), 0);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(fdt_begin_node(blob.data(), "twin"), 0);
        ASSERT_EQ(fdt_property_u32(blob.data(), "vcpus", 1), 0);
        const fdt32_t memory[] = {cpu_to_fdt32(0), cpu_to_fdt32(0x40000000), cpu_to_fdt32(0), cpu_to_fdt32(0x200000)};
        ASSERT_EQ(fdt_property(blob.data(), "memory", memory, sizeof memory), 0);
        ASSERT_EQ(string("kernel", "linux"), 0);
        ASSERT_EQ(fdt_end_node(blob.data()), 0);
    }
    ASSERT_EQ(fdt_end_node(blob.data()), 0);
    ASSERT_EQ(fdt_finish(blob.data()), 0);
    VmConfig vms[2];
    size_t count = 0;
    LoadError error;
    ASSERT_TRUE(vm_config::parse(blob.data(), blob.size(), "twins.dtb", kMachine, vms, 2, nullptr, 0, count, error));
    ASSERT_EQ(count, 2u);
    EXPECT_TRUE(vms[0].ok);
    EXPECT_STREQ(vms[1].error, "twins.dtb: /twin: a VM of this name comes earlier in the file: expected unique names");
}

} // namespace

namespace {

TEST(VmConfigNodes, CountsEveryVmNodeSoTheCallerCanMakeRoom)
{
    const std::vector<char> bad = load_dtb("config_bad_vms");
    EXPECT_EQ(vm_config::room(bad.data(), bad.size()).vms, 36u) << "bad VMs included";
    EXPECT_EQ(vm_config::room(bad.data(), bad.size()).devices, 5u) << "every device node, even of bad VMs";
    const std::vector<char> two = load_dtb("config_two_linux");
    EXPECT_EQ(vm_config::room(two.data(), two.size()).vms, 2u);
    EXPECT_EQ(vm_config::room(two.data(), two.size()).devices, 0u);
    EXPECT_EQ(vm_config::room(two.data(), 16).vms, 0u) << "truncated";
    const char garbage[64] = "not a device tree";
    EXPECT_EQ(vm_config::room(garbage, sizeof garbage).vms, 0u);
    EXPECT_EQ(vm_config::room(nullptr, 0).vms, 0u);
}

TEST(VmConfigRoom, ListsAreAsLongAsTheFileMakesThem)
{
    const Parsed r = parse_config("config_many");
    ASSERT_TRUE(r.ok) << r.error.message;
    const VmConfig& vm = r.vm("many");
    ASSERT_TRUE(vm.ok) << vm.error;
    ASSERT_EQ(vm.smc_forward_count, 6u);
    for (uint32_t i = 0; i < 6; i++) {
        EXPECT_EQ(vm.smc_range(i).first, 0xc2000000u + 2 * i);
        EXPECT_EQ(vm.smc_range(i).last, 0xc2000001u + 2 * i);
    }
    ASSERT_EQ(vm.passthrough_count, 6u);
    for (uint32_t i = 0; i < 6; i++) {
        EXPECT_EQ(vm.passthrough[i].base, 0x0c000000u + 0x1000 * i);
    }
    const PassthroughDevice& wide = vm.passthrough[5];
    ASSERT_EQ(wide.intids.count, 8u);
    for (uint32_t n = 0; n < 8; n++) {
        EXPECT_EQ(wide.intids[n], 100u + n);
    }
    const VmConfig& other = r.vm("other");
    ASSERT_TRUE(other.ok) << other.error;
    ASSERT_EQ(other.passthrough_count, 1u);
    EXPECT_EQ(other.passthrough[0].base, 0x0d000000u) << "its own records, after the first VM's";

    Parsed tight;
    tight.dtb = load_dtb("config_many");
    tight.ok = vm_config::parse(tight.dtb.data(), tight.dtb.size(), "many", kMachine, tight.vms, 40, tight.devices, 6,
                                tight.count, tight.error);
    ASSERT_TRUE(tight.ok);
    EXPECT_TRUE(tight.vm("many").ok);
    EXPECT_EQ(tight.error_of("other"), "many: /other: passthrough/dev@d000000: no room for another passthrough "
                                       "device record (the caller gave 6)");
}

} // namespace

namespace {

TEST(VmConfigBlob, OldDeviceTreeVersionsAreRefusedBeforeLibfdtLooks)
{
    std::vector<char> dtb = load_dtb("config_linux");
    dtb[20] = 0; // version (big-endian u32 at 20): 2, a format dtc has not written for decades
    dtb[21] = 0;
    dtb[22] = 0;
    dtb[23] = 2;
    VmConfig vms[2];
    size_t count = 0;
    LoadError error;
    EXPECT_FALSE(vm_config::parse(dtb.data(), dtb.size(), "old.dtb", kMachine, vms, 2, nullptr, 0, count, error));
    EXPECT_STREQ(error.message, "old.dtb: device tree version 2: expected version 16 or later, as dtc writes");
    EXPECT_EQ(vm_config::room(dtb.data(), dtb.size()).vms, 0u);
}

} // namespace

namespace {

#define RAW_NODE(node) "tests/dts/config_raw.dts: /" node ": "

TEST(VmConfig, RawImagesTheirEntryAndTheDtbAddress)
{
    const Parsed r = parse_config("config_raw");
    ASSERT_TRUE(r.ok) << r.error.message;
    const VmConfig& raw = r.vm("raw");
    ASSERT_TRUE(raw.ok) << raw.error;
    EXPECT_TRUE(raw.kernel_raw);
    EXPECT_EQ(raw.kernel_address, 0x40080000u);
    EXPECT_EQ(raw.entry, 0x40081000u);
    EXPECT_TRUE(raw.dtb_fixed);
    EXPECT_EQ(raw.dtb_address, 0x40000000u);
    const VmConfig& plain = r.vm("raw-default-entry");
    ASSERT_TRUE(plain.ok) << plain.error;
    EXPECT_EQ(plain.entry, 0x40000000u) << "the load address";
    EXPECT_FALSE(plain.dtb_fixed) << "Vireo chooses";
    const VmConfig& image = r.vm("image-dtb-at-base");
    ASSERT_TRUE(image.ok) << image.error;
    EXPECT_FALSE(image.kernel_raw) << "no kernel-address: an arm64 Image";
    EXPECT_TRUE(image.dtb_fixed);
    EXPECT_EQ(r.error_of("entry-without-address"),
              RAW_NODE("entry-without-address") "property 'entry' without 'kernel-address': an arm64 Image starts "
                                                "at its load address; expected 'kernel-address' to load the kernel "
                                                "as a raw binary");
    EXPECT_EQ(r.error_of("address-outside-ram"),
              RAW_NODE("address-outside-ram") "property 'kernel-address' is 0x41000000: expected an address in the "
                                              "VM's RAM [0x40000000, 0x41000000)");
    EXPECT_EQ(r.error_of("address-one-cell"),
              RAW_NODE("address-one-cell") "property 'kernel-address' has 4 bytes: expected 2 cells, "
                                           "<address-high address-low>");
    EXPECT_EQ(r.error_of("entry-unaligned"),
              RAW_NODE("entry-unaligned") "property 'entry' is 0x40080002: expected a multiple of 4 (an "
                                          "instruction's address)");
    EXPECT_EQ(r.error_of("dtb-unaligned"),
              RAW_NODE("dtb-unaligned") "property 'dtb-address' is 0x40000004: expected a multiple of 8 (the arm64 "
                                        "boot protocol)");
}

} // namespace

namespace {

#define REGION_NODE(node) "tests/dts/config_regions.dts: /" node ": "

TEST(VmConfig, RegionsAndAFirmwareEntryLandInTheirFields)
{
    const Parsed r = parse_config("config_regions");
    ASSERT_TRUE(r.ok) << r.error.message;
    const VmConfig& fw = r.vm("firmware");
    ASSERT_TRUE(fw.ok) << fw.error;
    EXPECT_EQ(fw.kernel, nullptr);
    EXPECT_TRUE(fw.entry_in_region);
    EXPECT_EQ(fw.entry, 0u);
    ASSERT_EQ(fw.region_count, 3u);
    EXPECT_STREQ(fw.regions[0].name, "flash0");
    EXPECT_EQ(fw.regions[0].type, RegionType::Rom);
    EXPECT_EQ(fw.regions[0].base, 0u);
    EXPECT_EQ(fw.regions[0].size, 0x4000000u);
    EXPECT_STREQ(fw.regions[0].contents, "u-boot");
    EXPECT_TRUE(fw.regions[0].executable);
    EXPECT_EQ(fw.regions[1].type, RegionType::Flash);
    EXPECT_EQ(fw.regions[1].base, 0x4000000u);
    EXPECT_EQ(fw.regions[1].contents, nullptr) << "an erased bank";
    EXPECT_FALSE(fw.regions[1].executable);
    EXPECT_EQ(fw.regions[2].type, RegionType::Ram);
    EXPECT_EQ(fw.regions[2].base, 0x100000000u);
}

TEST(VmConfig, RegionMistakesNameTheRegionAndProperty)
{
    const Parsed r = parse_config("config_regions");
    ASSERT_TRUE(r.ok) << r.error.message;
    EXPECT_EQ(r.error_of("no-kernel-no-entry"),
              REGION_NODE("no-kernel-no-entry") "property 'kernel' missing: expected the name of a package entry "
                                                "holding an arm64 Image or a raw binary, or 'entry' in an executable "
                                                "region (firmware)");
    EXPECT_EQ(r.error_of("entry-not-executable"),
              REGION_NODE("entry-not-executable") "property 'entry' is 0x0 and there is no 'kernel': expected an "
                                                  "address in a region marked 'executable'");
    EXPECT_EQ(r.error_of("address-without-kernel"),
              REGION_NODE("address-without-kernel") "property 'kernel-address' without 'kernel': expected 'kernel' "
                                                    "to name the raw binary");
    EXPECT_EQ(r.error_of("type-unknown"),
              REGION_NODE("type-unknown") "regions/rom: property 'type' is not \"rom\", \"ram\" or \"flash\"");
    EXPECT_EQ(r.error_of("no-type"),
              REGION_NODE("no-type") "regions/rom: property 'type' missing: expected \"rom\", \"ram\" or \"flash\"");
    EXPECT_EQ(r.error_of("flash-not-whole-blocks"),
              REGION_NODE("flash-not-whole-blocks") "regions/nor: property 'reg' is base 0x0 size 0x30000: expected a "
                                                    "non-zero size, both multiples of 256 KiB (the flash's erase "
                                                    "block), at most 65536 blocks");
    EXPECT_EQ(r.error_of("over-ram"),
              REGION_NODE("over-ram") "regions/rom: property 'reg' [0x40f00000, 0x41100000) overlaps the VM's RAM "
                                      "[0x40000000, 0x41000000): expected a region outside it");
    EXPECT_EQ(r.error_of("in-device-window"),
              REGION_NODE("in-device-window") "regions/rom: property 'reg' [0x9000000, 0x9010000) overlaps the device "
                                              "window [0x8000000, 0xb000000): expected a region outside it");
    EXPECT_EQ(r.error_of("overlapping"),
              REGION_NODE("overlapping") "regions/b: property 'reg' [0x100000, 0x300000) overlaps region a [0x0, "
                                         "0x200000)");
    EXPECT_EQ(r.error_of("unknown-property"),
              REGION_NODE("unknown-property") "regions/rom: property 'writable' is not known: expected type, reg, "
                                              "contents or executable");
}

} // namespace
