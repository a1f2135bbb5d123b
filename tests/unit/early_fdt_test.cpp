// The console Vireo finds before its MMU is on (platform/early_fdt.cpp):
// on the real DTBs of QEMU virt, Raspberry Pi 4 and RK3588, and on trees
// built here for earlycon=, the first-serial fallback, bus translation and
// malformed input.
#include <gtest/gtest.h>
#include <libfdt.h>

#include <functional>
#include <string>
#include <vector>

#include "platform/early_fdt.hpp"
#include "tests/unit/dtb_fixture.hpp"

namespace {

using Body = std::function<void(void*)>;

void prop_cells(void* fdt, const char* name, std::initializer_list<uint32_t> cells)
{
    std::vector<fdt32_t> be;
    for (uint32_t c : cells) {
        be.push_back(cpu_to_fdt32(c));
    }
    ASSERT_EQ(fdt_property(fdt, name, be.data(), static_cast<int>(be.size() * 4)), 0);
}

void prop_strings(void* fdt, const char* name, const std::string& nul_separated)
{
    ASSERT_EQ(fdt_property(fdt, name, nul_separated.data(), static_cast<int>(nul_separated.size() + 1)), 0);
}

/// A tree whose root has #address-cells = #size-cells = 2, then `body`.
std::vector<char> make_dtb(const Body& body)
{
    std::vector<char> buf(16384);
    void* fdt = buf.data();
    EXPECT_EQ(fdt_create(fdt, static_cast<int>(buf.size())), 0);
    EXPECT_EQ(fdt_finish_reservemap(fdt), 0);
    EXPECT_EQ(fdt_begin_node(fdt, ""), 0);
    prop_cells(fdt, "#address-cells", {2});
    prop_cells(fdt, "#size-cells", {2});
    body(fdt);
    EXPECT_EQ(fdt_end_node(fdt), 0);
    EXPECT_EQ(fdt_finish(fdt), 0);
    buf.resize(fdt_totalsize(fdt));
    return buf;
}

void chosen(void* fdt, const char* stdout_path, const char* bootargs)
{
    ASSERT_EQ(fdt_begin_node(fdt, "chosen"), 0);
    if (stdout_path != nullptr) {
        prop_strings(fdt, "stdout-path", stdout_path);
    }
    if (bootargs != nullptr) {
        prop_strings(fdt, "bootargs", bootargs);
    }
    ASSERT_EQ(fdt_end_node(fdt), 0);
}

void pl011(void* fdt, const char* name, uint32_t base, const char* status)
{
    ASSERT_EQ(fdt_begin_node(fdt, name), 0);
    prop_strings(fdt, "compatible", std::string("arm,pl011") + '\0' + "arm,primecell");
    prop_cells(fdt, "reg", {0, base, 0, 0x1000});
    if (status != nullptr) {
        prop_strings(fdt, "status", status);
    }
    ASSERT_EQ(fdt_end_node(fdt), 0);
}

/// A Raspberry-Pi-like /soc bus: 32-bit bus addresses 0x7e000000 seen by the
/// CPU at 0xfe000000, with a mini UART (8250 family) at 0x7e215040.
void soc_with_aux_uart(void* fdt, bool with_ranges)
{
    ASSERT_EQ(fdt_begin_node(fdt, "soc"), 0);
    prop_cells(fdt, "#address-cells", {1});
    prop_cells(fdt, "#size-cells", {1});
    if (with_ranges) {
        prop_cells(fdt, "ranges", {0x7e000000, 0x0, 0xfe000000, 0x1800000});
    }
    ASSERT_EQ(fdt_begin_node(fdt, "serial@7e215040"), 0);
    prop_strings(fdt, "compatible", "brcm,bcm2835-aux-uart");
    prop_cells(fdt, "reg", {0x7e215040, 0x40});
    ASSERT_EQ(fdt_end_node(fdt), 0);
    ASSERT_EQ(fdt_end_node(fdt), 0);
}

TEST(EarlyFdt, QemuVirtStdoutPathNamesThePl011)
{
    const std::vector<char> dtb = load_dtb("qemu-virt-gicv3");
    const early_fdt::Console c = early_fdt::find_console(dtb.data());
    EXPECT_EQ(c.source, ConsoleSource::StdoutPath);
    EXPECT_EQ(c.uart.kind, UartKind::Pl011);
    EXPECT_EQ(c.uart.base, 0x9000000u);
    EXPECT_EQ(c.uart.reg_shift, 2);
    EXPECT_EQ(c.uart.io_width, 4);
    EXPECT_EQ(c.node, fdt_path_offset(dtb.data(), "/pl011@9000000"));
}

TEST(EarlyFdt, RaspberryPi4AliasLeadsToTheMiniUartThroughSocRanges)
{
    const std::vector<char> dtb = load_deps_dtb("linux/usr/lib/linux-image-*/broadcom/bcm2711-rpi-4-b.dtb");
    ASSERT_FALSE(dtb.empty());
    const early_fdt::Console c = early_fdt::find_console(dtb.data());
    EXPECT_EQ(c.source, ConsoleSource::StdoutPath); // "serial1:115200n8"
    EXPECT_EQ(c.uart.kind, UartKind::Ns16550);
    EXPECT_EQ(c.uart.base, 0xfe215040u);
    EXPECT_EQ(c.uart.reg_shift, 2);
    EXPECT_EQ(c.uart.io_width, 4);
    EXPECT_EQ(c.node, fdt_path_offset(dtb.data(), "/soc/serial@7e215040"));
}

TEST(EarlyFdt, Rk3588AliasLeadsToTheDwApbUart)
{
    for (const char* board : {"rock-5b", "orangepi-5-plus"}) {
        const std::vector<char> dtb =
            load_deps_dtb(std::string("linux-6.12/usr/lib/linux-image-*/rockchip/rk3588-") + board + ".dtb");
        ASSERT_FALSE(dtb.empty());
        const early_fdt::Console c = early_fdt::find_console(dtb.data());
        EXPECT_EQ(c.source, ConsoleSource::StdoutPath) << board; // "serial2:1500000n8"
        EXPECT_EQ(c.uart.kind, UartKind::Ns16550) << board;
        EXPECT_EQ(c.uart.base, 0xfeb50000u) << board;
        EXPECT_EQ(c.uart.reg_shift, 2) << board;
        EXPECT_EQ(c.uart.io_width, 4) << board;
        EXPECT_EQ(c.node, fdt_path_offset(dtb.data(), "/serial@feb50000")) << board;
    }
}

TEST(EarlyFdt, PathWithoutUnitAddressAndWithOptionsMatches)
{
    const std::vector<char> dtb = make_dtb([](void* fdt) {
        chosen(fdt, "/soc/serial:115200n8", nullptr);
        soc_with_aux_uart(fdt, true);
    });
    const early_fdt::Console c = early_fdt::find_console(dtb.data());
    EXPECT_EQ(c.source, ConsoleSource::StdoutPath);
    EXPECT_EQ(c.uart.base, 0xfe215040u);
}

TEST(EarlyFdt, EarlyconSpellingsFromLinuxKernelParameters)
{
    struct Case {
        const char* bootargs;
        UartKind kind;
        uint64_t base;
        uint8_t shift;
        uint8_t width;
    };
    const Case cases[] = {
        {"earlycon=pl011,0x9000000", UartKind::Pl011, 0x9000000, 2, 4},
        {"console=ttyAMA0 earlycon=pl011,mmio32,0x9000000 quiet", UartKind::Pl011, 0x9000000, 2, 4},
        {"earlycon=uart8250,mmio32,0xfeb50000,1500000n8", UartKind::Ns16550, 0xfeb50000, 2, 4},
        {"earlycon=uart,mmio,0x10000000", UartKind::Ns16550, 0x10000000, 0, 1},
        {"earlycon=ns16550a,0x10000000", UartKind::Ns16550, 0x10000000, 0, 1},
    };
    for (const Case& want : cases) {
        const std::vector<char> dtb = make_dtb([&](void* fdt) { chosen(fdt, nullptr, want.bootargs); });
        const early_fdt::Console c = early_fdt::find_console(dtb.data());
        EXPECT_EQ(c.source, ConsoleSource::Earlycon) << want.bootargs;
        EXPECT_EQ(c.uart.kind, want.kind) << want.bootargs;
        EXPECT_EQ(c.uart.base, want.base) << want.bootargs;
        EXPECT_EQ(c.uart.reg_shift, want.shift) << want.bootargs;
        EXPECT_EQ(c.uart.io_width, want.width) << want.bootargs;
        EXPECT_EQ(c.node, -1);
    }
}

TEST(EarlyFdt, EarlyconThatNamesNoMmioUartIsNotUsed)
{
    for (const char* bootargs : {"earlycon", "earlycon=uart8250,io,0x3f8", "earlycon=sbi", "earlycon=pl011,",
                                 "earlycon=pl011,0xzz", "xearlycon=pl011,0x9000000"}) {
        const std::vector<char> dtb = make_dtb([&](void* fdt) { chosen(fdt, nullptr, bootargs); });
        const early_fdt::Console c = early_fdt::find_console(dtb.data());
        EXPECT_EQ(c.source, ConsoleSource::None) << bootargs;
        EXPECT_EQ(c.uart.kind, UartKind::None) << bootargs;
    }
}

TEST(EarlyFdt, StdoutPathComesBeforeEarlyconAndABrokenOneFallsThrough)
{
    const std::vector<char> both = make_dtb([](void* fdt) {
        chosen(fdt, "/pl011@9000000", "earlycon=pl011,0x9040000");
        pl011(fdt, "pl011@9000000", 0x9000000, nullptr);
    });
    EXPECT_EQ(early_fdt::find_console(both.data()).uart.base, 0x9000000u);
    const std::vector<char> broken = make_dtb([](void* fdt) {
        chosen(fdt, "serial9", "earlycon=pl011,0x9040000"); // no /aliases
        pl011(fdt, "pl011@9000000", 0x9000000, nullptr);
    });
    const early_fdt::Console c = early_fdt::find_console(broken.data());
    EXPECT_EQ(c.source, ConsoleSource::Earlycon);
    EXPECT_EQ(c.uart.base, 0x9040000u);
}

TEST(EarlyFdt, FirstEnabledSerialNodeWhenChosenSaysNothing)
{
    const std::vector<char> dtb = make_dtb([](void* fdt) {
        pl011(fdt, "pl011@9000000", 0x9000000, "disabled");
        ASSERT_EQ(fdt_begin_node(fdt, "timer"), 0);
        ASSERT_EQ(fdt_end_node(fdt), 0);
        pl011(fdt, "pl011@9040000", 0x9040000, "okay");
        pl011(fdt, "pl011@9080000", 0x9080000, nullptr);
    });
    const early_fdt::Console c = early_fdt::find_console(dtb.data());
    EXPECT_EQ(c.source, ConsoleSource::FirstSerial);
    EXPECT_EQ(c.uart.base, 0x9040000u);
    EXPECT_EQ(c.node, fdt_path_offset(dtb.data(), "/pl011@9040000"));
}

TEST(EarlyFdt, UartOnABusWithoutRangesIsNotReachable)
{
    const std::vector<char> dtb = make_dtb([](void* fdt) {
        chosen(fdt, "/soc/serial@7e215040", nullptr);
        soc_with_aux_uart(fdt, false);
    });
    const early_fdt::Console c = early_fdt::find_console(dtb.data());
    EXPECT_EQ(c.source, ConsoleSource::None);
    Range reg;
    EXPECT_FALSE(early_fdt::node_reg(dtb.data(), fdt_path_offset(dtb.data(), "/soc/serial@7e215040"), 0, reg));
}

TEST(EarlyFdt, NoUartAtAllMeansNothingIsWritten)
{
    const std::vector<char> dtb = make_dtb([](void* fdt) { chosen(fdt, "/nowhere", "console=ttyS0"); });
    const early_fdt::Console c = early_fdt::find_console(dtb.data());
    EXPECT_EQ(c.source, ConsoleSource::None);
    EXPECT_EQ(c.uart.kind, UartKind::None);
    EXPECT_EQ(c.uart.base, 0u);
}

// Every byte of the structure and strings blocks flipped in turn: the reader
// must stay inside totalsize (ASan checks) and answer something.
TEST(EarlyFdt, CorruptedTreesNeverReadOutsideTheBlob)
{
    const std::vector<char> good = make_dtb([](void* fdt) {
        chosen(fdt, "/soc/serial@7e215040:115200", "earlycon=pl011,0x9000000");
        soc_with_aux_uart(fdt, true);
        pl011(fdt, "pl011@9000000", 0x9000000, nullptr);
    });
    const uint32_t start = fdt_off_dt_struct(good.data());
    for (size_t i = start; i < good.size(); i++) {
        for (const char flip : {'\xff', '\x00', '\x01', '\x03'}) {
            std::vector<char> bad = good;
            bad[i] = flip;
            const early_fdt::Console c = early_fdt::find_console(bad.data());
            EXPECT_TRUE(c.uart.kind == UartKind::None || c.uart.base != 0) << "byte " << i;
        }
    }
    std::vector<char> header = good;
    reinterpret_cast<fdt32_t*>(header.data())[2] =
        cpu_to_fdt32(static_cast<uint32_t>(good.size() + 4)); // off_dt_struct
    EXPECT_EQ(early_fdt::find_console(header.data()).source, ConsoleSource::None);
}

} // namespace

// Found by fuzzing (tests/fuzz/early_fdt.cpp): hostile blobs the console
// reader must refuse, not follow.
namespace {

TEST(EarlyFdtHostile, AUartAtZeroIsNoConsole)
{
    const std::vector<char> dtb = make_dtb([](void* fdt) {
        chosen(fdt, "/pl011@0", nullptr);
        pl011(fdt, "pl011@0", 0, nullptr);
    });
    const early_fdt::Console c = early_fdt::find_console(dtb.data());
    EXPECT_EQ(c.uart.kind, UartKind::None) << "0 stands for no UART";
}

/// Sets the length word of the property `name` of the node at `path` to
/// `length` (whatever the blob holds after it).
void set_prop_length(std::vector<char>& dtb, const char* path, const char* name, uint32_t length)
{
    const int node = fdt_path_offset(dtb.data(), path);
    ASSERT_GE(node, 0);
    int len = 0;
    const auto* value = static_cast<const char*>(fdt_getprop(dtb.data(), node, name, &len));
    ASSERT_NE(value, nullptr);
    auto* word = reinterpret_cast<fdt32_t*>(const_cast<char*>(value) - 8); // FDT_PROP, len, nameoff, value
    *word = cpu_to_fdt32(length);
}

TEST(EarlyFdtHostile, APropertyLengthThatWrapsEndsTheWalk)
{
    // 0xfffffff4 + 12 is 2^32: a 32-bit walk would come back to the same
    // property for ever; a length reaching past the blob must not be read.
    for (const uint32_t length : {0xfffffff4u, 0xfffffff0u, 0x7fffffffu}) {
        std::vector<char> dtb = make_dtb([](void* fdt) {
            pl011(fdt, "pl011@9000000", 0x9000000, nullptr);
            chosen(fdt, "/pl011@9000000", nullptr);
        });
        set_prop_length(dtb, "/pl011@9000000", "compatible", length);
        const early_fdt::Console c = early_fdt::find_console(dtb.data()); // returns: no endless walk
        EXPECT_EQ(c.uart.kind, UartKind::None) << std::hex << length;
    }
}

} // namespace

namespace {

// What boot/start.S reads before it moves Vireo to the top of RAM.
TEST(EarlyFdtBootMemory, QemuVirtBanksReservedAndPackage)
{
    const std::vector<char> dtb = load_dtb("qemu-virt-gicv3");
    early_fdt::BootMemory m;
    ASSERT_TRUE(early_fdt::boot_memory(dtb.data(), m));
    ASSERT_EQ(m.bank_count, 1u);
    EXPECT_EQ(m.banks[0].base, 0x40000000u);
    EXPECT_EQ(m.banks[0].size, 0x100000000u);
    // /reserved-memory's node with a reg (the one with only a size is the
    // OS's to place), then /memreserve/.
    ASSERT_EQ(m.reserved_count, 2u);
    EXPECT_EQ(m.reserved[0].base, 0x7e000000u);
    EXPECT_EQ(m.reserved[0].size, 0x200000u);
    EXPECT_EQ(m.reserved[1].base, 0x48000000u);
    EXPECT_EQ(m.reserved[1].size, 0x100000u);
    EXPECT_FALSE(m.reserved_overflow);
    EXPECT_EQ(m.package.base, 0x48100000u);
    EXPECT_EQ(m.package.end(), 0x4a000000u);
}

TEST(EarlyFdtBootMemory, BanksOfEveryMemoryNodeAndEntry)
{
    const std::vector<char> rk = load_dtb("rk3588");
    early_fdt::BootMemory m;
    ASSERT_TRUE(early_fdt::boot_memory(rk.data(), m));
    ASSERT_EQ(m.bank_count, 2u);
    EXPECT_EQ(m.banks[0].base, 0x200000u);
    EXPECT_EQ(m.banks[1].base, 0x100000000u);
    EXPECT_EQ(m.banks[1].size, 0x100000000u);
    EXPECT_EQ(m.package.size, 0u) << "no /chosen initrd";

    const std::vector<char> pi = load_dtb("rpi4");
    ASSERT_TRUE(early_fdt::boot_memory(pi.data(), m));
    ASSERT_GE(m.bank_count, 1u);
    EXPECT_EQ(m.banks[0].base, 0u);
    EXPECT_EQ(m.banks[0].size, 0x3c000000u);
    ASSERT_GE(m.reserved_count, 1u);
    EXPECT_EQ(m.reserved[m.reserved_count - 1].base, 0u) << "the spin-table page (/memreserve/)";
}

TEST(EarlyFdtBootMemory, PackageCellsAreRewrittenInPlace)
{
    std::vector<char> two = load_dtb("qemu-virt-gicv3");
    ASSERT_TRUE(early_fdt::set_package(two.data(), {0x13e000000, 0x1f00000}));
    early_fdt::BootMemory m;
    ASSERT_TRUE(early_fdt::boot_memory(two.data(), m));
    EXPECT_EQ(m.package.base, 0x13e000000u);
    EXPECT_EQ(m.package.end(), 0x13ff00000u);

    // One cell each (as some loaders write them) cannot name an address above 4 GiB.
    std::vector<char> one = make_dtb([](void* fdt) {
        ASSERT_EQ(fdt_begin_node(fdt, "memory@40000000"), 0);
        prop_strings(fdt, "device_type", "memory");
        prop_cells(fdt, "reg", {0, 0x40000000, 0, 0x40000000});
        ASSERT_EQ(fdt_end_node(fdt), 0);
        ASSERT_EQ(fdt_begin_node(fdt, "chosen"), 0);
        prop_cells(fdt, "linux,initrd-start", {0x48000000});
        prop_cells(fdt, "linux,initrd-end", {0x48100000});
        prop_strings(fdt, "bootargs", "console=ttyAMA0 vireo.stay quiet");
        ASSERT_EQ(fdt_end_node(fdt), 0);
    });
    EXPECT_FALSE(early_fdt::set_package(one.data(), {0x100000000, 0x1000}));
    ASSERT_TRUE(early_fdt::set_package(one.data(), {0x7f000000, 0x100000}));
    ASSERT_TRUE(early_fdt::boot_memory(one.data(), m));
    EXPECT_EQ(m.package.base, 0x7f000000u);
    EXPECT_EQ(m.package.size, 0x100000u);
    EXPECT_TRUE(early_fdt::bootargs_word(one.data(), "vireo.stay"));
    EXPECT_FALSE(early_fdt::bootargs_word(one.data(), "vireo.sta"));
    EXPECT_FALSE(early_fdt::bootargs_word(two.data(), "vireo.stay"));
}

} // namespace
