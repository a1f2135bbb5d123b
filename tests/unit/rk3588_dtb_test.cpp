// Platform discovery against the real RK3588 board DTBs Debian ships
// (linux-image 6.12, fetched by scripts/setup into build/deps/linux-6.12):
// Radxa ROCK 5B and Xunlong Orange Pi 5 Plus. Unlike tests/dts/rk3588.dts,
// these are exactly what U-Boot loads and hands on, before its fixups.
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <libfdt.h>
#include <string>
#include <vector>

#include "platform/platform.hpp"
#include "tests/unit/dtb_fixture.hpp"

namespace {

std::vector<char> load_board_dtb(const std::string& board)
{
    return load_deps_dtb("linux-6.12/usr/lib/linux-image-*/rockchip/rk3588-" + board + ".dtb");
}

void put_cells(std::vector<fdt32_t>& cells, uint64_t value)
{
    cells.push_back(cpu_to_fdt32(static_cast<uint32_t>(value >> 32)));
    cells.push_back(cpu_to_fdt32(static_cast<uint32_t>(value)));
}

// What mainline U-Boot writes on a 16 GiB RK3588 board: the DDR_MEM banks
// the Rockchip TPL leaves in ATAGS (holes at 0xf0000000-4G for MMIO,
// 0x3fc000000-0x3fc500000 and 0x3fff00000-0x4f0000000), with the first
// 2 MiB (TF-A's BL31) cut off by rockchip_dram_init_banksize() in
// arch/arm/mach-rockchip/sdram.c.
constexpr Range kUbootBanks[] = {
    {0x200000, 0xf0000000 - 0x200000},
    {0x100000000, 0x3fc000000 - 0x100000000},
    {0x3fc500000, 0x3fff00000 - 0x3fc500000},
    {0x4f0000000, 0x500000000 - 0x4f0000000},
};

// Rockchip's vendor U-Boot (shipped by board makers) on the same 16 GiB board
// also leaves out OP-TEE's 16 MiB at 0x8400000, so one bank more (its boot
// log prints these as "Adding bank: ...").
constexpr Range kVendorUbootBanks[] = {
    {0x200000, 0x8400000 - 0x200000},         {0x9400000, 0xf0000000 - 0x9400000},
    {0x100000000, 0x3fc000000 - 0x100000000}, {0x3fc500000, 0x3fff00000 - 0x3fc500000},
    {0x4f0000000, 0x500000000 - 0x4f0000000},
};

// A copy of `dtb` with the /memory node U-Boot's fdt_fixup_memory_banks()
// adds when the tree has none: a root subnode named "memory" with
// device_type = "memory" and reg in the root's #address-cells/#size-cells
// (2 and 2 on RK3588).
template <size_t N> std::vector<char> with_uboot_memory(const std::vector<char>& dtb, const Range (&banks)[N])
{
    std::vector<char> out(dtb.size() + 4096);
    EXPECT_EQ(fdt_open_into(dtb.data(), out.data(), static_cast<int>(out.size())), 0);
    EXPECT_EQ(fdt_address_cells(out.data(), 0), 2);
    EXPECT_EQ(fdt_size_cells(out.data(), 0), 2);
    const int node = fdt_add_subnode(out.data(), 0, "memory");
    EXPECT_GE(node, 0) << fdt_strerror(node);
    EXPECT_EQ(fdt_setprop_string(out.data(), node, "device_type", "memory"), 0);
    std::vector<fdt32_t> reg;
    for (const Range& bank : banks) {
        put_cells(reg, bank.base);
        put_cells(reg, bank.size);
    }
    EXPECT_EQ(fdt_setprop(out.data(), node, "reg", reg.data(), static_cast<int>(reg.size() * sizeof reg[0])), 0);
    EXPECT_EQ(fdt_pack(out.data()), 0);
    return out;
}

bool same(const Range& a, const Range& b) { return a.base == b.base && a.size == b.size; }

class Rk3588Dtb : public ::testing::TestWithParam<const char*> {
protected:
    void SetUp() override
    {
        dtb_ = load_board_dtb(GetParam());
        ASSERT_FALSE(dtb_.empty());
        patched_ = with_uboot_memory(dtb_, kUbootBanks);
        ASSERT_TRUE(parse_platform(patched_.data(), p_, error_)) << error_.message;
    }

    std::vector<char> dtb_;     // as Debian ships it
    std::vector<char> patched_; // after U-Boot's memory fixup
    Platform p_;
    PlatformError error_;
};

TEST_P(Rk3588Dtb, ShippedTreeHasNoMemoryNodeSoDiscoveryFailsUntilTheBootloaderAddsOne)
{
    EXPECT_LT(fdt_node_offset_by_prop_value(dtb_.data(), -1, "device_type", "memory", sizeof "memory"), 0);
    EXPECT_LT(fdt_path_offset(dtb_.data(), "/memory"), 0);
    Platform p;
    PlatformError error;
    EXPECT_FALSE(parse_platform(dtb_.data(), p, error));
    EXPECT_STREQ(error.message, "no memory: no /memory node with a usable reg property");
}

TEST_P(Rk3588Dtb, MemoryIsWhatUbootAdds)
{
    ASSERT_EQ(p_.memory_count, std::size(kUbootBanks));
    for (size_t i = 0; i < std::size(kUbootBanks); i++) {
        EXPECT_EQ(p_.memory[i].base, kUbootBanks[i].base) << "bank " << i;
        EXPECT_EQ(p_.memory[i].size, kUbootBanks[i].size) << "bank " << i;
    }
    EXPECT_EQ(p_.memory[0].end(), 0xf0000000u);
    EXPECT_EQ(p_.total_memory(), 0xefe00000ull + 0x2fc000000ull + 0x3a00000ull + 0x10000000ull);
}

TEST_P(Rk3588Dtb, MemoryIsWhatVendorUbootAddsWithTheOpteeHole)
{
    const std::vector<char> vendor = with_uboot_memory(dtb_, kVendorUbootBanks);
    Platform p;
    PlatformError error;
    ASSERT_TRUE(parse_platform(vendor.data(), p, error)) << error.message;
    ASSERT_EQ(p.memory_count, std::size(kVendorUbootBanks));
    for (size_t i = 0; i < std::size(kVendorUbootBanks); i++) {
        EXPECT_EQ(p.memory[i].base, kVendorUbootBanks[i].base) << "bank " << i;
        EXPECT_EQ(p.memory[i].size, kVendorUbootBanks[i].size) << "bank " << i;
    }
    EXPECT_EQ(p.total_memory(), p_.total_memory() - 0x1000000u);
}

TEST_P(Rk3588Dtb, NoMemreserveAndOneReservedMemoryNodeTheScmiSharedMemory)
{
    EXPECT_EQ(fdt_num_mem_rsv(dtb_.data()), 0);
    ASSERT_EQ(p_.reserved_count, 1u) << "/reserved-memory/shmem@10f000 only";
    EXPECT_EQ(p_.reserved[0].base, 0x10f000u);
    EXPECT_EQ(p_.reserved[0].size, 0x100u);
}

TEST_P(Rk3588Dtb, EightPsciCpusWithAff1AsCoreNumberAndSmcConduit)
{
    ASSERT_EQ(p_.cpu_count, 8u) << "cpu-map, idle-states and l2-cache nodes under /cpus are not CPUs";
    EXPECT_EQ(p_.cpus_ignored, 0u);
    for (size_t i = 0; i < 8; i++) {
        EXPECT_EQ(p_.cpus[i].mpidr, 0x100u * i) << "cpu " << i;
        EXPECT_EQ(p_.cpus[i].method, EnableMethod::Psci) << "cpu " << i;
    }
    EXPECT_EQ(p_.psci_conduit, Conduit::Smc) << "/psci method, not /firmware/optee's";
}

TEST_P(Rk3588Dtb, GicV3WithOneRedistributorRegionAndMaintenanceInterrupt)
{
    EXPECT_EQ(p_.gic.version, 3u);
    EXPECT_EQ(p_.gic.dist.base, 0xfe600000u);
    EXPECT_EQ(p_.gic.dist.size, 0x10000u);
    ASSERT_EQ(p_.gic.redist_count, 1u) << "no #redistributor-regions";
    EXPECT_EQ(p_.gic.redist[0].base, 0xfe680000u);
    EXPECT_EQ(p_.gic.redist[0].size, 0x100000u) << "8 redistributors of 128 KiB";
    // The ITS children (msi-controller@fe640000/fe660000) are not GICv2 regions.
    EXPECT_EQ(p_.gic.cpu_if.size, 0u);
    EXPECT_EQ(p_.gic.hyp_if.size, 0u);
    EXPECT_EQ(p_.gic.virt_cpu_if.size, 0u);
    EXPECT_TRUE(p_.gic.has_maintenance_irq);
    EXPECT_EQ(p_.gic.maintenance_ppi, 9u);
}

TEST_P(Rk3588Dtb, TimerPpisFromFourCellSpecifiers)
{
    ASSERT_TRUE(p_.timer.found);
    // sec-phys, phys, virt, hyp-phys; the fifth (hyp-virt, PPI 12) is not read.
    EXPECT_EQ(p_.timer.ppi[0], 13u);
    EXPECT_EQ(p_.timer.ppi[1], 14u);
    EXPECT_EQ(p_.timer.ppi[2], 11u);
    EXPECT_EQ(p_.timer.ppi[3], 10u);
    EXPECT_EQ(p_.timer.frequency, 0u) << "no clock-frequency: CNTFRQ_EL0";
}

TEST_P(Rk3588Dtb, ConsoleIsUart2ThroughTheSerial2Alias)
{
    const int chosen = fdt_path_offset(dtb_.data(), "/chosen");
    ASSERT_GE(chosen, 0);
    EXPECT_STREQ(static_cast<const char*>(fdt_getprop(dtb_.data(), chosen, "stdout-path", nullptr)),
                 "serial2:1500000n8");
    EXPECT_STREQ(fdt_get_alias(dtb_.data(), "serial2"), "/serial@feb50000");
    EXPECT_EQ(p_.uart.kind, UartKind::Ns16550) << "snps,dw-apb-uart";
    EXPECT_EQ(p_.uart.base, 0xfeb50000u);
    EXPECT_EQ(p_.uart.reg_shift, 2u);
    EXPECT_EQ(p_.uart.io_width, 4u);
    EXPECT_EQ(p_.uart.intid, 32u + 333u) << "SPI 333 (0x14d)";
    EXPECT_EQ(p_.bootargs[0], '\0') << "U-Boot would add bootargs";
    EXPECT_EQ(p_.initrd.size, 0u);
}

std::string board_test_name(const ::testing::TestParamInfo<const char*>& board)
{
    std::string name = board.param;
    for (char& c : name) {
        c = c == '-' ? '_' : c;
    }
    return name;
}

INSTANTIATE_TEST_SUITE_P(Boards, Rk3588Dtb, ::testing::Values("rock-5b", "orangepi-5-plus"), board_test_name);

TEST(Rk3588Dtbs, Rock5bAndOrangePi5PlusDifferOnlyInTheirModel)
{
    const std::vector<char> rock = load_board_dtb("rock-5b");
    const std::vector<char> opi = load_board_dtb("orangepi-5-plus");
    ASSERT_FALSE(rock.empty());
    ASSERT_FALSE(opi.empty());
    const std::vector<char> rock_patched = with_uboot_memory(rock, kUbootBanks);
    const std::vector<char> opi_patched = with_uboot_memory(opi, kUbootBanks);
    Platform a;
    Platform b;
    PlatformError error;
    ASSERT_TRUE(parse_platform(rock_patched.data(), a, error)) << error.message;
    ASSERT_TRUE(parse_platform(opi_patched.data(), b, error)) << error.message;
    EXPECT_STREQ(a.model, "Radxa ROCK 5B");
    EXPECT_STREQ(b.model, "Xunlong Orange Pi 5 Plus");
    // Everything else Vireo reads is the same.
    ASSERT_EQ(a.memory_count, b.memory_count);
    for (size_t i = 0; i < a.memory_count; i++) {
        EXPECT_TRUE(same(a.memory[i], b.memory[i])) << "memory " << i;
    }
    ASSERT_EQ(a.reserved_count, b.reserved_count);
    for (size_t i = 0; i < a.reserved_count; i++) {
        EXPECT_TRUE(same(a.reserved[i], b.reserved[i])) << "reserved " << i;
    }
    ASSERT_EQ(a.cpu_count, b.cpu_count);
    for (size_t i = 0; i < a.cpu_count; i++) {
        EXPECT_EQ(a.cpus[i].mpidr, b.cpus[i].mpidr);
        EXPECT_EQ(a.cpus[i].method, b.cpus[i].method);
        EXPECT_EQ(a.cpus[i].release_addr, b.cpus[i].release_addr);
    }
    EXPECT_EQ(a.psci_conduit, b.psci_conduit);
    EXPECT_EQ(a.gic.version, b.gic.version);
    EXPECT_TRUE(same(a.gic.dist, b.gic.dist));
    EXPECT_TRUE(same(a.gic.cpu_if, b.gic.cpu_if));
    EXPECT_TRUE(same(a.gic.hyp_if, b.gic.hyp_if));
    EXPECT_TRUE(same(a.gic.virt_cpu_if, b.gic.virt_cpu_if));
    ASSERT_EQ(a.gic.redist_count, b.gic.redist_count);
    for (size_t i = 0; i < a.gic.redist_count; i++) {
        EXPECT_TRUE(same(a.gic.redist[i], b.gic.redist[i]));
    }
    EXPECT_EQ(a.gic.has_maintenance_irq, b.gic.has_maintenance_irq);
    EXPECT_EQ(a.gic.maintenance_ppi, b.gic.maintenance_ppi);
    EXPECT_EQ(a.timer.found, b.timer.found);
    EXPECT_EQ(a.timer.frequency, b.timer.frequency);
    for (size_t i = 0; i < 4; i++) {
        EXPECT_EQ(a.timer.ppi[i], b.timer.ppi[i]);
    }
    EXPECT_EQ(a.uart.kind, b.uart.kind);
    EXPECT_EQ(a.uart.base, b.uart.base);
    EXPECT_EQ(a.uart.reg_shift, b.uart.reg_shift);
    EXPECT_EQ(a.uart.io_width, b.uart.io_width);
    EXPECT_EQ(a.uart.intid, b.uart.intid);
    EXPECT_TRUE(same(a.initrd, b.initrd));
    EXPECT_STREQ(a.bootargs, b.bootargs);
}

} // namespace
