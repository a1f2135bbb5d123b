// Platform discovery from device trees shaped like those of QEMU virt,
// Raspberry Pi 4 and RK3588, and from broken ones.
#include <cstring>
#include <gtest/gtest.h>
#include <libfdt.h>

#include "platform/platform.hpp"
#include "tests/unit/dtb_fixture.hpp"

namespace {

struct Parsed {
    std::vector<char> dtb;
    Platform platform;
    PlatformError error;
    bool ok = false;
};

Parsed parse(const std::string& name)
{
    Parsed result;
    result.dtb = load_dtb(name);
    result.ok = parse_platform(result.dtb.data(), result.platform, result.error);
    return result;
}

TEST(FdtPlatform, QemuVirtGicV2DescribesMemoryCpusGicTimerAndConsole)
{
    const Parsed r = parse("qemu-virt-gicv2");
    ASSERT_TRUE(r.ok) << r.error.message;
    const Platform& p = r.platform;
    EXPECT_STREQ(p.model, "linux,dummy-virt");
    ASSERT_EQ(p.memory_count, 1u);
    EXPECT_EQ(p.memory[0].base, 0x40000000u);
    EXPECT_EQ(p.total_memory(), 1ull << 30);
    ASSERT_EQ(p.cpu_count, 2u);
    EXPECT_EQ(p.cpus[1].mpidr, 1u);
    EXPECT_EQ(p.cpus[1].method, EnableMethod::Psci);
    EXPECT_EQ(p.psci_conduit, Conduit::Smc);
    EXPECT_EQ(p.gic.version, 2u);
    EXPECT_EQ(p.gic.dist.base, 0x8000000u);
    EXPECT_EQ(p.gic.cpu_if.base, 0x8010000u);
    EXPECT_EQ(p.gic.hyp_if.base, 0x8030000u);
    EXPECT_EQ(p.gic.virt_cpu_if.base, 0x8040000u);
    EXPECT_TRUE(p.gic.has_maintenance_irq);
    EXPECT_EQ(p.gic.maintenance_ppi, 9u);
    EXPECT_TRUE(p.timer.found);
    EXPECT_EQ(p.timer.ppi[0], 13u);
    EXPECT_EQ(p.timer.ppi[1], 14u);
    EXPECT_EQ(p.timer.ppi[2], 11u);
    EXPECT_EQ(p.timer.ppi[3], 10u);
    EXPECT_EQ(p.timer.frequency, 0u) << "no clock-frequency: CNTFRQ_EL0 is used";
    // stdout-path through an alias, with options after ':'.
    EXPECT_EQ(p.uart.kind, UartKind::Pl011);
    EXPECT_EQ(p.uart.base, 0x9000000u);
    EXPECT_STREQ(p.bootargs, "loglevel=3 vireo.poweroff");
}

TEST(FdtPlatform, QemuVirtGicV3FindsRedistributorsMemreserveAndReservedMemory)
{
    const Parsed r = parse("qemu-virt-gicv3");
    ASSERT_TRUE(r.ok) << r.error.message;
    const Platform& p = r.platform;
    EXPECT_STREQ(p.model, "(no model)");
    EXPECT_EQ(p.total_memory(), 4ull << 30);
    EXPECT_EQ(p.memory[0].end(), 0x140000000u);
    EXPECT_EQ(p.cpu_count, 4u);
    EXPECT_EQ(p.gic.version, 3u);
    EXPECT_EQ(p.gic.dist.base, 0x8000000u);
    ASSERT_EQ(p.gic.redist_count, 1u);
    EXPECT_EQ(p.gic.redist[0].base, 0x80a0000u);
    EXPECT_EQ(p.gic.redist[0].size, 0xf60000u);
    EXPECT_EQ(p.gic.cpu_if.size, 0u) << "no GICC region given";
    // One /memreserve/ and one static /reserved-memory node; the dynamic pool has no reg.
    ASSERT_EQ(p.reserved_count, 2u);
    EXPECT_EQ(p.reserved[0].base, 0x48000000u);
    EXPECT_EQ(p.reserved[0].size, 0x100000u);
    EXPECT_EQ(p.reserved[1].base, 0x7e000000u);
    EXPECT_EQ(p.uart.base, 0x9000000u);
    EXPECT_EQ(p.uart.intid, 33u) << "SPI 1";
    EXPECT_EQ(p.initrd.base, 0x48100000u) << "64-bit linux,initrd-start";
    EXPECT_EQ(p.initrd.size, 0x1f00000u);
}

TEST(FdtPlatform, PmuInterruptIsTheDtbsPmuPpiElseQemuVirts)
{
    const Parsed none = parse("qemu-virt-gicv3");
    ASSERT_TRUE(none.ok) << none.error.message;
    EXPECT_EQ(none.platform.pmu_ppi, 7u) << "no pmu node: QEMU virt's PPI 7 (INTID 23)";

    std::vector<char> dtb = load_dtb("qemu-virt-gicv3");
    dtb.resize(dtb.size() + 256);
    ASSERT_EQ(fdt_open_into(dtb.data(), dtb.data(), static_cast<int>(dtb.size())), 0);
    const int pmu = fdt_add_subnode(dtb.data(), 0, "pmu");
    ASSERT_GE(pmu, 0);
    ASSERT_EQ(fdt_setprop_string(dtb.data(), pmu, "compatible", "arm,armv8-pmuv3"), 0);
    const fdt32_t interrupts[] = {cpu_to_fdt32(1), cpu_to_fdt32(5), cpu_to_fdt32(4)};
    ASSERT_EQ(fdt_setprop(dtb.data(), pmu, "interrupts", interrupts, sizeof interrupts), 0);
    Platform p;
    PlatformError error;
    ASSERT_TRUE(parse_platform(dtb.data(), p, error)) << error.message;
    EXPECT_EQ(p.pmu_ppi, 5u);
}

TEST(FdtPlatform, RaspberryPi4PmuInterruptsAreOneSpiPerCpuByInterruptAffinity)
{
    const Parsed r = parse("rpi4");
    ASSERT_TRUE(r.ok) << r.error.message;
    ASSERT_EQ(r.platform.cpu_count, 4u);
    for (uint32_t i = 0; i < 4; i++) {
        EXPECT_EQ(r.platform.cpus[i].pmu_spi, 48 + i) << "SPI 16 + i (INTID 48 + i) belongs to CPU " << i;
    }
}

TEST(FdtPlatform, PmuSpiWithoutACpuOfItsOwnIsNotTaken)
{
    std::vector<char> dtb = load_dtb("qemu-virt-gicv3");
    dtb.resize(dtb.size() + 256);
    ASSERT_EQ(fdt_open_into(dtb.data(), dtb.data(), static_cast<int>(dtb.size())), 0);
    const int pmu = fdt_add_subnode(dtb.data(), 0, "pmu");
    ASSERT_GE(pmu, 0);
    ASSERT_EQ(fdt_setprop_string(dtb.data(), pmu, "compatible", "arm,armv8-pmuv3"), 0);
    const fdt32_t interrupts[] = {cpu_to_fdt32(0), cpu_to_fdt32(12), cpu_to_fdt32(4)};
    ASSERT_EQ(fdt_setprop(dtb.data(), pmu, "interrupts", interrupts, sizeof interrupts), 0);
    Platform p;
    PlatformError error;
    ASSERT_TRUE(parse_platform(dtb.data(), p, error)) << error.message;
    for (size_t i = 0; i < p.cpu_count; i++) {
        EXPECT_EQ(p.cpus[i].pmu_spi, 0u) << "one SPI for all CPUs: no CPU could act on it alone";
    }
}

TEST(FdtPlatform, RaspberryPi4TranslatesSocAddressesAndUsesSpinTable)
{
    const Parsed r = parse("rpi4");
    ASSERT_TRUE(r.ok) << r.error.message;
    const Platform& p = r.platform;
    EXPECT_STREQ(p.model, "Raspberry Pi 4 Model B");
    EXPECT_EQ(p.total_memory(), 0x3c000000u);
    ASSERT_EQ(p.cpu_count, 4u);
    for (size_t i = 0; i < 4; i++) {
        EXPECT_EQ(p.cpus[i].method, EnableMethod::SpinTable);
        EXPECT_EQ(p.cpus[i].release_addr, 0xd8u + 8 * i);
    }
    EXPECT_EQ(p.psci_conduit, Conduit::None);
    EXPECT_EQ(p.gic.version, 2u);
    EXPECT_EQ(p.gic.dist.base, 0xff841000u) << "bus 0x40041000 through /soc ranges";
    EXPECT_EQ(p.gic.cpu_if.base, 0xff842000u);
    EXPECT_EQ(p.gic.hyp_if.base, 0xff844000u);
    EXPECT_EQ(p.gic.virt_cpu_if.base, 0xff846000u);
    EXPECT_EQ(p.gic.maintenance_ppi, 9u);
    // The mini UART (8250-like, 32-bit registers 4 bytes apart) at bus 0x7e215040.
    EXPECT_EQ(p.uart.kind, UartKind::Ns16550);
    EXPECT_EQ(p.uart.base, 0xfe215040u);
    EXPECT_EQ(p.uart.reg_shift, 2u);
    EXPECT_EQ(p.uart.io_width, 4u);
    ASSERT_EQ(p.reserved_count, 1u);
    EXPECT_EQ(p.reserved[0].size, 0x1000u);
}

TEST(FdtPlatform, Rk3588HasEightCpusByAff1AndFourCellInterrupts)
{
    const Parsed r = parse("rk3588");
    ASSERT_TRUE(r.ok) << r.error.message;
    const Platform& p = r.platform;
    ASSERT_EQ(p.cpu_count, 8u);
    EXPECT_EQ(p.cpus[7].mpidr, 0x700u);
    // Real MPIDR_EL1 values carry the MT bit (24); lookups compare affinity only.
    EXPECT_EQ(p.cpu_index(0x81000500u), 5);
    EXPECT_EQ(p.cpu_index(0x800u), -1);
    EXPECT_EQ(p.memory_count, 2u);
    EXPECT_EQ(p.total_memory(), 0xefe00000ull + (4ull << 30));
    EXPECT_EQ(p.gic.version, 3u);
    EXPECT_EQ(p.gic.redist[0].base, 0xfe680000u);
    EXPECT_TRUE(p.gic.has_maintenance_irq);
    EXPECT_EQ(p.gic.maintenance_ppi, 9u);
    EXPECT_EQ(p.timer.ppi[2], 11u);
    EXPECT_EQ(p.uart.kind, UartKind::Ns16550);
    EXPECT_EQ(p.uart.base, 0xfeb50000u);
    EXPECT_EQ(p.uart.reg_shift, 2u);
    EXPECT_EQ(p.uart.io_width, 4u);
}

TEST(FdtPlatform, NullPointerIsReportedAsMissing)
{
    Platform p;
    PlatformError error;
    EXPECT_FALSE(parse_platform(nullptr, p, error));
    EXPECT_NE(strstr(error.message, "no device tree"), nullptr) << error.message;
}

TEST(FdtPlatform, CorruptHeaderIsRejectedWithLibfdtReason)
{
    std::vector<char> dtb = load_dtb("qemu-virt-gicv2");
    dtb[0] = 0; // break the magic
    Platform p;
    PlatformError error;
    EXPECT_FALSE(parse_platform(dtb.data(), p, error));
    EXPECT_NE(strstr(error.message, "not a valid device tree"), nullptr) << error.message;
}

TEST(FdtPlatform, TruncatedTreeIsRejected)
{
    std::vector<char> dtb = load_dtb("qemu-virt-gicv2");
    // Claim a bigger totalsize than the structure block allows: libfdt's
    // header check catches the inconsistent offsets.
    auto* header = reinterpret_cast<fdt_header*>(dtb.data());
    header->off_dt_struct = cpu_to_fdt32(0x7fffff00);
    Platform p;
    PlatformError error;
    EXPECT_FALSE(parse_platform(dtb.data(), p, error));
    EXPECT_NE(strstr(error.message, "not a valid device tree"), nullptr) << error.message;
}

TEST(FdtPlatform, MissingMemoryIsAnError)
{
    const Parsed r = parse("no-memory");
    EXPECT_FALSE(r.ok);
    EXPECT_NE(strstr(r.error.message, "no memory"), nullptr) << r.error.message;
}

TEST(FdtPlatform, MissingGicIsAnError)
{
    const Parsed r = parse("no-gic");
    EXPECT_FALSE(r.ok);
    EXPECT_NE(strstr(r.error.message, "no interrupt controller"), nullptr) << r.error.message;
}

TEST(FdtPlatform, CpuWithoutRegNamesTheNode)
{
    const Parsed r = parse("cpu-without-reg");
    EXPECT_FALSE(r.ok);
    EXPECT_NE(strstr(r.error.message, "/cpus/cpu@0"), nullptr) << r.error.message;
    EXPECT_NE(strstr(r.error.message, "reg"), nullptr) << r.error.message;
}

TEST(FdtPlatform, SpinTableWithoutReleaseAddressIsUnusableAndDisabledCpusAreSkipped)
{
    const Parsed r = parse("bad-cpus");
    ASSERT_TRUE(r.ok) << r.error.message;
    ASSERT_EQ(r.platform.cpu_count, 1u);
    EXPECT_EQ(r.platform.cpus[0].method, EnableMethod::Unknown);
    EXPECT_EQ(r.platform.uart.kind, UartKind::None) << "no /chosen: board default console";
}

TEST(Bootargs, FindsBareWordsAndValues)
{
    char value[16];
    const char* args = "  loglevel=3 vireo.poweroff\tquiet";
    ASSERT_NE(find_bootarg(args, "loglevel", value, sizeof value), nullptr);
    EXPECT_STREQ(value, "3");
    ASSERT_NE(find_bootarg(args, "vireo.poweroff", value, sizeof value), nullptr);
    EXPECT_STREQ(value, "");
    EXPECT_NE(find_bootarg(args, "quiet", value, sizeof value), nullptr);
}

TEST(Bootargs, DoesNotMatchPrefixesOrMissingWords)
{
    char value[16];
    EXPECT_EQ(find_bootarg("loglevelx=3 vireo.poweroffs", "loglevel", value, sizeof value), nullptr);
    EXPECT_EQ(find_bootarg("loglevelx=3 vireo.poweroffs", "vireo.poweroff", value, sizeof value), nullptr);
    EXPECT_EQ(find_bootarg("", "loglevel", value, sizeof value), nullptr);
}

TEST(Bootargs, TruncatesLongValuesSafely)
{
    char value[4];
    ASSERT_NE(find_bootarg("name=abcdefgh", "name", value, sizeof value), nullptr);
    EXPECT_STREQ(value, "abc");
}

} // namespace
