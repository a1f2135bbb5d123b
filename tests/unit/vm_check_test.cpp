// The checks Vireo and vireo-check share (kernel/loader/vm_check.hpp,
// passthrough_check.hpp, network_config.hpp): the same input, the same message.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "kernel/loader/network_config.hpp"
#include "kernel/loader/passthrough_check.hpp"
#include "kernel/loader/pci_check.hpp"
#include "kernel/loader/vm_check.hpp"

namespace {

/// A device at [base, base + size) with the given interrupts.
void device(PassthroughDevice& d, const char* name, uint64_t base, uint64_t size,
            std::initializer_list<uint32_t> intids)
{
    d.name = name;
    d.base = base;
    d.size = size;
    size_t n = 0;
    for (uint32_t intid : intids) {
        d.intid_cells[4 * n] = static_cast<uint8_t>(intid >> 24);
        d.intid_cells[4 * n + 1] = static_cast<uint8_t>(intid >> 16);
        d.intid_cells[4 * n + 2] = static_cast<uint8_t>(intid >> 8);
        d.intid_cells[4 * n + 3] = static_cast<uint8_t>(intid);
        n++;
    }
    d.intids = {d.intid_cells, n};
}

struct Vm {
    VmConfig config;
    PassthroughDevice devices[4];
    Vm(const char* name, uint64_t ram_base, uint64_t ram_size)
    {
        strncpy(config.name, name, sizeof config.name - 1);
        config.vcpus = 2;
        config.ram_base = ram_base;
        config.ram_size = ram_size;
        config.passthrough = devices;
    }
};

bool all_free(uint32_t) { return true; }
bool none_free(uint32_t) { return false; }

Platform board()
{
    Platform p;
    p.memory[0] = {0x40000000, 1ull << 30};
    p.memory_count = 1;
    p.gic.dist = {0x08000000, 0x10000};
    return p;
}

std::string passthrough_message(const Vm& vm, const Platform& host, const VmConfig* const* others = nullptr,
                                size_t other_count = 0, bool (*spi_free)(uint32_t) = all_free)
{
    char why[vm_check::kMessageSize] = "";
    return vm_check::passthrough_clear(vm.config, host, others, other_count, spi_free, why, sizeof why) ? "" : why;
}

TEST(VmCheck, PassthroughDevicesClearOfEverythingPass)
{
    Vm vm("a", 0x40000000, 0x1000000);
    device(vm.devices[0], "disk", 0x0a003e00, 0x200, {79});
    device(vm.devices[1], "net", 0x0a003c00, 0x200, {78});
    vm.config.passthrough_count = 2;
    EXPECT_EQ(passthrough_message(vm, board()), "");
}

TEST(VmCheck, PassthroughOverlapsNameWhatTheyOverlap)
{
    Vm vm("a", 0x40000000, 0x1000000);
    device(vm.devices[0], "gicd", 0x08000000, 0x1000, {});
    vm.config.passthrough_count = 1;
    EXPECT_EQ(passthrough_message(vm, board()),
              "vm a: passthrough [0x8000000, +0x1000) overlaps the VM's virtual GIC [0x8000000, +0x2a0000)");
    device(vm.devices[0], "ram", 0x50000000, 0x1000, {});
    EXPECT_EQ(passthrough_message(vm, board()),
              "vm a: passthrough [0x50000000, +0x1000) is RAM: expected a device's registers");
}

TEST(VmCheck, InterruptsListedTwiceOrTakenAreRefused)
{
    Vm vm("a", 0x40000000, 0x1000000);
    device(vm.devices[0], "x", 0x0c000000, 0x1000, {70, 70});
    vm.config.passthrough_count = 1;
    EXPECT_EQ(passthrough_message(vm, board()), "vm a: passthrough x: interrupt 70 is listed twice");
    device(vm.devices[0], "x", 0x0c000000, 0x1000, {70});
    EXPECT_EQ(passthrough_message(vm, board(), nullptr, 0, none_free),
              "vm a: passthrough interrupt 70: expected a free SPI (32-1019) not used by Vireo or another VM");
}

TEST(VmCheck, AnotherVmsDeviceIsRefused)
{
    Vm first("first", 0x40000000, 0x1000000);
    device(first.devices[0], "x", 0x0c000000, 0x1000, {70});
    first.config.passthrough_count = 1;
    Vm second("second", 0x40000000, 0x1000000);
    device(second.devices[0], "y", 0x0c000800, 0x100, {71});
    second.config.passthrough_count = 1;
    const VmConfig* others[] = {&first.config};
    EXPECT_EQ(passthrough_message(second, board(), others, 1),
              "vm second: passthrough [0xc000800, +0x100) is already vm first's");
}

TEST(VmCheck, EmulatedDevicesClearOfPassthrough)
{
    Vm vm("a", 0x40000000, 0x1000000);
    device(vm.devices[0], "x", network_config::device_ipa(0), 0x200, {});
    vm.config.passthrough_count = 1;
    const char names[] = "lan0";
    vm.config.networks = names;
    vm.config.network_count = 1;
    char why[vm_check::kMessageSize] = "";
    EXPECT_FALSE(vm_check::emulated_clear(vm.config, nullptr, 0, why, sizeof why));
    EXPECT_STREQ(why, "vm a: passthrough x [0xa200000, +0x200) overlaps the device of network lan0 [0xa200000, "
                      "+0x1000)");
}

TEST(VmCheck, IdentityRamOutsideTheBoardsBanks)
{
    char reason[160] = "";
    EXPECT_TRUE(vm_check::in_board_ram(board(), 0x60000000, 0x1000000, reason, sizeof reason));
    EXPECT_FALSE(vm_check::in_board_ram(board(), 0x7ff00000, 0x200000, reason, sizeof reason)) << "past the bank";
    char why[vm_check::kMessageSize] = "";
    vm_check::identity_refused("c.dts", "vm1", 0x7ff00000, 0x200000, reason, why, sizeof why);
    EXPECT_STREQ(why, "c.dts: /vm1: property 'memory' [0x7ff00000, 0x80100000) is identity-mapped but is not RAM of "
                      "this machine (the DTB's /memory banks): expected free RAM of this machine");
}

TEST(VmCheck, VcpusAGicv2VmCanHave)
{
    Vm vm("a", 0x40000000, 0x1000000);
    vm.config.vcpus = 9;
    char why[vm_check::kMessageSize] = "";
    EXPECT_TRUE(vm_check::vcpus_fit(vm.config, 3, why, sizeof why));
    EXPECT_FALSE(vm_check::vcpus_fit(vm.config, 2, why, sizeof why));
    EXPECT_STREQ(why, "vm a: 9 vCPUs, expected 1 to 8 (a virtual GICv2 addresses at most 8)");
}

TEST(VmCheck, DirectVmsKeepTheirCpusToThemselves)
{
    const auto pin = [](Vm& vm, std::initializer_list<int16_t> cpus) {
        vm.config.pinned = true;
        vm.config.vcpus = 0;
        for (int16_t cpu : cpus) {
            vm.config.pcpu[vm.config.vcpus++] = cpu;
        }
    };
    Vm plain("plain", 0x40000000, 0x1000000), late("late", 0x40000000, 0x1000000);
    Vm owner("owner", 0x40000000, 0x1000000), thief("thief", 0x40000000, 0x1000000);
    pin(plain, {1});
    pin(late, {2, 1});
    late.config.direct = true;
    pin(owner, {2});
    owner.config.direct = true;
    pin(thief, {3, 2});
    char why[vm_check::kMessageSize] = "";
    const VmConfig* built[] = {&plain.config, &owner.config};
    EXPECT_FALSE(vm_check::direct_clear(late.config, built, 1, 3, why, sizeof why));
    EXPECT_STREQ(why, "vm late: takes its interrupts directly, but cpu 1 (its vcpu 1's) already runs another VM's "
                      "vCPU: expected CPUs no other VM has");
    EXPECT_TRUE(vm_check::direct_clear(owner.config, built, 1, 3, why, sizeof why));
    EXPECT_FALSE(vm_check::direct_clear(thief.config, built, 2, 3, why, sizeof why));
    EXPECT_STREQ(why, "vm thief: vcpu 1 is pinned to cpu 2, which direct vm owner has to itself");
    EXPECT_FALSE(vm_check::direct_clear(owner.config, built, 1, 2, why, sizeof why));
    EXPECT_STREQ(
        why, (std::string("vm owner: cannot take its interrupts directly: ") + vm_check::kDirectNeedsGicv3).c_str());
    EXPECT_TRUE(vm_check::direct_clear(plain.config, built, 0, 2, why, sizeof why)) << "not direct: any GIC";
}

TEST(VmCheck, GuestDtbDescriptionHasTheVmsNetworksAndFlash)
{
    Vm vm("a", 0x40000000, 0x1000000);
    const char names[] = "lan0\0lan1";
    vm.config.networks = names;
    vm.config.network_count = 2;
    vm.config.regions[0] = {"flash0", 0x0, 0x4000000, RegionType::Flash, nullptr, true};
    vm.config.regions[1] = {"rom", 0x4000000, 0x1000, RegionType::Rom, nullptr, false};
    vm.config.region_count = 2;
    VmSpec spec;
    spec.config = &vm.config;
    spec.initrd_size = 0x1000;
    GuestLayout layout;
    layout.initrd_start = 0x40f00000;
    vm_check::GuestFdtParts parts;
    GuestFdtSpec fdt;
    vm_check::describe_guest(spec, layout, {2, false}, parts, fdt);
    EXPECT_EQ(fdt.gic_version, 2u);
    EXPECT_EQ(fdt.its_base, 0u) << "no ITS on GICv2";
    EXPECT_FALSE(fdt.pmu);
    ASSERT_EQ(fdt.virtio_count, 2u);
    EXPECT_EQ(fdt.virtio[1].base, network_config::device_ipa(1));
    EXPECT_EQ(fdt.virtio[1].intid, network_config::intid(1));
    ASSERT_EQ(fdt.flash_count, 1u) << "only the flash bank";
    EXPECT_EQ(fdt.initrd_end, 0x40f01000u);
}

const char* usable(uint32_t) { return nullptr; }

TEST(VmCheck, PciFunctionsGivenOnceOnTheRootBusAndConfined)
{
    Platform host = board();
    host.has_pci = true;
    host.pci.bus_first = 0;
    host.pci.mmio32 = {0x10000000, 0x2eff0000};
    host.pci.mmio32_pci = 0x10000000;
    Vm vm("second", 0x40000000, 0x1000000);
    vm.config.pci[0] = {0, 2, 0};
    vm.config.pci_count = 1;
    char why[vm_check::kMessageSize] = "";
    const vm_check::PciClaim taken[] = {{"first", vm.config.pci[0].rid(), true, 0, 0x10}};
    EXPECT_FALSE(vm_check::pci_given_once(vm.config, vm.config.pci[0], taken, 1, why, sizeof why));
    EXPECT_STREQ(why, "vm second: property 'pci-functions': 00:02.0 is already given to vm first");
    const PciFunctionConfig behind{1, 0, 0};
    EXPECT_FALSE(vm_check::pci_on_root_bus(vm.config, host, behind, why, sizeof why));
    // No iommu-map in this host: the DMA would not be confined.
    vm_check::PciClaim mine;
    const char* problem = nullptr;
    const char* unconfined = vm_check::pci_stream(vm.config, host, vm.config.pci[0], usable, mine, problem);
    ASSERT_NE(unconfined, nullptr);
    EXPECT_FALSE(mine.confined);
    EXPECT_FALSE(
        vm_check::pci_stream_clear(vm.config, vm.config.pci[0], mine, unconfined, nullptr, 0, why, sizeof why));
    vm.config.unconfined_dma = true;
    EXPECT_TRUE(vm_check::pci_stream_clear(vm.config, vm.config.pci[0], mine, unconfined, nullptr, 0, why, sizeof why));
    EXPECT_TRUE(vm_check::pci_window_usable(vm.config, host, why, sizeof why));
    EXPECT_TRUE(vm_check::pci_ram_clear(vm.config, host.pci.mmio32, why, sizeof why));
    vm.config.ram_base = 0x10000000;
    EXPECT_FALSE(vm_check::pci_ram_clear(vm.config, host.pci.mmio32, why, sizeof why));
}

TEST(VmCheck, ConfinedFunctionsOfTwoVmsMayNotShareAStream)
{
    Vm vm("second", 0x40000000, 0x1000000);
    vm.config.pci[0] = {0, 3, 0};
    vm.config.pci_count = 1;
    const vm_check::PciClaim mine{"second", vm.config.pci[0].rid(), true, 0, 0x10};
    const vm_check::PciClaim own{"second", 0x10, true, 0, 0x10};
    const vm_check::PciClaim other{"first", 0x10, true, 0, 0x10};
    char why[vm_check::kMessageSize] = "";
    EXPECT_TRUE(vm_check::pci_stream_clear(vm.config, vm.config.pci[0], mine, nullptr, &own, 1, why, sizeof why))
        << "a VM's own functions may share one";
    EXPECT_FALSE(vm_check::pci_stream_clear(vm.config, vm.config.pci[0], mine, nullptr, &other, 1, why, sizeof why));
    EXPECT_STREQ(why, "vm second: property 'pci-functions': 00:03.0 would share SMMU 0 stream 0x10 with 00:02.0 of vm "
                      "first: expected functions whose streams no other VM uses");
}

TEST(NetworkConfig, MacAddressesAreStableLocalAndUnicast)
{
    uint8_t mac[6];
    network_config::mac_for("alpha", "lan0", mac);
    // The address the system tests and docs/guide.md show for alpha on lan0.
    const uint8_t expected[6] = {0x02, 0x75, 0xb5, 0x56, 0x2c, 0xff};
    EXPECT_EQ(memcmp(mac, expected, 6), 0);
    uint8_t other[6];
    network_config::mac_for("beta", "lan0", other);
    EXPECT_NE(memcmp(mac, other, 6), 0);
}

} // namespace
