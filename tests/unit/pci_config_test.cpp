// The guest's view of a PCIe function's config space and the virtual ECAM
// it reaches it through (kernel/devices/pci/), against a fake function laid
// out like QEMU's virtio-net-pci behind a PCIe root port.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kernel/devices/pci/config_space.hpp"
#include "kernel/devices/pci/virtual_ecam.hpp"

namespace {

/// A function's 4 KiB of config space with per-dword writable and
/// write-1-to-clear bits, as hardware has them, and a log of every write.
class FakeFunction final : public PciFunction {
public:
    uint32_t read32(uint32_t offset) override { return regs[offset / 4]; }
    void write32(uint32_t offset, uint32_t value) override
    {
        writes.push_back({offset, value});
        uint32_t& reg = regs[offset / 4];
        reg = ((reg & ~rw[offset / 4]) | (value & rw[offset / 4])) & ~(value & w1c[offset / 4]);
    }
    void set(uint32_t offset, uint32_t value, uint32_t writable = 0, uint32_t clear = 0)
    {
        regs[offset / 4] = value;
        rw[offset / 4] = writable;
        w1c[offset / 4] = clear;
    }
    bool written(uint32_t offset) const
    {
        for (const auto& w : writes) {
            if (w.offset == offset) {
                return true;
            }
        }
        return false;
    }

    struct Write {
        uint32_t offset;
        uint32_t value;
    };
    uint32_t regs[1024] = {};
    uint32_t rw[1024] = {};
    uint32_t w1c[1024] = {};
    std::vector<Write> writes;
};

// Capabilities of the fake, in list order: what lspci would show for it.
constexpr uint32_t kPm = 0x40;        // power management, 2 dwords
constexpr uint32_t kCommonCfg = 0x48; // vendor-specific (virtio common config), 16 bytes
constexpr uint32_t kNotify = 0x58;    // vendor-specific (virtio notify), 20 bytes
constexpr uint32_t kMsix = 0x70;      // MSI-X, 3 dwords
constexpr uint32_t kExpress = 0x80;   // PCI Express, version 2, 0x3c bytes
constexpr uint32_t kPciCfg = 0xc0;    // vendor-specific (virtio PCI config access), 20 bytes
constexpr uint32_t kMsi = 0xd4;       // MSI, 64-bit with masking: 6 dwords
constexpr uint32_t kAf = 0xec;        // Advanced Features

constexpr uint64_t kBar1 = 0x10040000;      // 32-bit, 4 KiB
constexpr uint64_t kBar4 = 0x8000000000ull; // 64-bit prefetchable, 16 KiB

uint32_t cap(uint32_t id, uint32_t next, uint32_t upper = 0) { return id | next << 8 | upper << 16; }

class PciConfig : public ::testing::Test {
protected:
    void SetUp() override
    {
        f.set(0x00, 0x10411af4);                        // virtio-net (modern)
        f.set(0x04, 0x00100000, 0x07ff, 0xf900u << 16); // Status: capabilities list
        f.set(0x08, 0x02000001);                        // Ethernet controller, revision 1
        f.set(0x0c, 0x00800010, 0x000000ff);            // multi-function header, cache line 64 bytes
        f.set(0x14, kBar1, 0xfffff000);
        f.set(0x20, 0x0000000c, 0xffffc000); // 64-bit prefetchable, low half
        f.set(0x24, 0x80, 0xffffffff);
        f.set(0x2c, 0x11001af4);
        f.set(0x30, 0xfeb80001, 0xfffc0001); // a ROM left enabled by firmware
        f.set(0x34, kPm);
        f.set(0x3c, 0x0000010b, 0xff); // INTA, line 11 from firmware
        f.set(kPm, cap(0x01, kCommonCfg, 0x0003));
        f.set(kPm + 4, 0, 0x3);
        f.set(kCommonCfg, cap(0x09, kNotify, 0x0110)); // length 16, cfg_type 1
        f.set(kCommonCfg + 4, 0x00000004, 0xffffffff);
        f.set(kCommonCfg + 8, 0x00000000, 0xffffffff);
        f.set(kNotify, cap(0x09, kMsix, 0x0214));
        f.set(kMsix, cap(0x11, kExpress, 0x0003));
        f.set(kMsix + 4, 0x00000001, 0xffffffff);
        f.set(kExpress, cap(0x10, kPciCfg, 0x0002)); // version 2, endpoint
        f.set(kExpress + 0x04, 0x10008fc0);          // Device Capabilities, FLR capable
        f.set(kExpress + 0x08, 0x00002810, 0x0000ffff, 0x000f0000);
        f.set(kExpress + 0x10, 0x00000000, 0x0000ffff, 0xc0000000); // Link Control, Link Status
        f.set(kExpress + 0x28, 0x00000000, 0x0000ffff);
        f.set(kPciCfg, cap(0x09, kMsi, 0x0514));
        f.set(kPciCfg + 4, 0, 0xffffffff);
        f.set(kMsi, cap(0x05, kAf, 0x0180), 0x00010000); // 64-bit, per-vector masking
        f.set(kMsi + 4, 0, 0xffffffff);
        f.set(kAf, cap(0x13, 0, 0x0306)); // TP and FLR capable
        f.set(kAf + 4, 0, 0x1);
        f.set(0x100, 0x14010001, 0xffffffff); // AER, then SR-IOV at 0x140
        f.set(0x140, 0x00010010, 0xffffffff);
        bars[1] = {kBar1, 0x1000, false, false};
        bars[4] = {kBar4, 0x4000, true, true};
        space.init(f, bars);
    }
    uint32_t r(uint32_t offset, unsigned size = 4)
    {
        uint32_t value = 0xdeadbeef;
        EXPECT_TRUE(space.read(offset, size, value)) << std::hex << offset;
        return value;
    }
    void w(uint32_t offset, uint32_t value, unsigned size = 4) { EXPECT_TRUE(space.write(offset, size, value)); }
    /// The capability IDs the guest finds from 0x34, with their offsets.
    std::vector<std::pair<uint32_t, uint32_t>> walk()
    {
        std::vector<std::pair<uint32_t, uint32_t>> found;
        for (uint32_t at = r(0x34, 1); at != 0 && found.size() < 64; at = r(at + 1, 1)) {
            found.push_back({at, r(at, 1)});
        }
        return found;
    }

    FakeFunction f;
    PciBar bars[PciConfigSpace::kBars] = {};
    PciConfigSpace space;
};

TEST_F(PciConfig, IdentityClassHeaderAndSubsystemAreTheFunctions)
{
    EXPECT_EQ(r(0x00), 0x10411af4u);
    EXPECT_EQ(r(0x08), 0x02000001u);
    EXPECT_EQ(r(0x0e, 1), 0x80u) << "header type";
    EXPECT_EQ(r(0x2e, 2), 0x1100u);
    EXPECT_EQ(r(0x3d, 1), 1u) << "Interrupt Pin: INTA";
}

TEST_F(PciConfig, CommandReachesTheFunctionOnlyInTheBitsAGuestMaySet)
{
    w(0x04, 0xffff, 2);
    EXPECT_EQ(f.regs[1] & 0xffff, 0x0546u) << "Memory, BME, Parity, SERR, Interrupt Disable";
    EXPECT_EQ(r(0x04, 2), 0x0546u);
    w(0x04, 0x0000, 2);
    EXPECT_EQ(f.regs[1] & 0xffff, 0u);
}

TEST_F(PciConfig, CommandWriteKeepsTheRealValueOfBitsTheGuestMayNotChange)
{
    f.regs[1] |= 1u << 4 | 1u << 9; // Memory Write and Invalidate, Fast Back-to-Back: not the guest's
    w(0x04, 0x0006, 2);
    EXPECT_EQ(f.regs[1] & 0xffff, 0x0216u);
    EXPECT_EQ(r(0x04, 2), 0x0006u) << "and the guest does not see them";
}

TEST_F(PciConfig, IoSpaceIsNeverEnabledEvenIfFirmwareLeftItOn)
{
    f.regs[1] |= 1; // I/O Space
    EXPECT_EQ(r(0x04, 2), 0u);
    w(0x04, 0x0007, 2);
    EXPECT_EQ(f.regs[1] & 0xffff, 0x0006u);
}

TEST_F(PciConfig, ByteWritesToCommandKeepTheOtherByteAndNeverClearStatusErrors)
{
    f.regs[1] |= 1u << 29 | 1u << 8; // Status: Received Master Abort; SERR enabled
    w(0x04, 0x06, 1);
    EXPECT_EQ(f.regs[1] & 0xffff, 0x0106u) << "SERR (byte 0x05) kept";
    EXPECT_NE(f.regs[1] & 1u << 29, 0u) << "Status error bit still set";
    w(0x05, 0x04, 1); // Interrupt Disable
    EXPECT_EQ(f.regs[1] & 0xffff, 0x0406u) << "Memory and BME (byte 0x04) kept";
    w(0x04, 0x0002, 2);
    w(0x04, 0x00000002);
    EXPECT_NE(f.regs[1] & 1u << 29, 0u) << "a dword write with Status 0 clears nothing";
}

TEST_F(PciConfig, StatusErrorBitsClearOnlyWhereTheGuestWritesOnes)
{
    f.regs[1] |= 1u << 29 | 1u << 28 | 0x0106; // two errors; Memory, BME, SERR on
    w(0x06, 1u << 13, 2);
    EXPECT_EQ(f.regs[1] >> 16, 0x1010u) << "Received Master Abort cleared, Received Target Abort kept";
    EXPECT_EQ(f.regs[1] & 0xffff, 0x0106u) << "Command unchanged by a Status write";
    w(0x07, 0x10, 1);
    EXPECT_EQ(f.regs[1] >> 16, 0x0010u);
}

TEST_F(PciConfig, StatusSaysCapabilitiesExistExactlyWhenSomeAreShown)
{
    EXPECT_EQ(r(0x06, 2) & 0x10, 0x10u);
    EXPECT_EQ(r(0x34), kCommonCfg);
    // A function whose only capabilities are power management and MSI-X.
    f.set(kPm, cap(0x01, kMsix, 0x0003));
    f.set(kMsix, cap(0x11, 0, 0x0003));
    space.init(f, bars);
    EXPECT_EQ(r(0x06, 2) & 0x10, 0u);
    EXPECT_EQ(r(0x34), 0u);
}

TEST_F(PciConfig, BusMasterFollowsTheLastCommandWrittenAndResetClearsIt)
{
    EXPECT_FALSE(space.bus_master()) << "after init";
    w(0x04, 0x0006, 2);
    EXPECT_TRUE(space.bus_master());
    w(0x06, 0xffff, 2);
    EXPECT_TRUE(space.bus_master()) << "a Status write is no Command write";
    w(0x04, 0x02, 1);
    EXPECT_FALSE(space.bus_master());
    w(0x04, 0x04, 1);
    space.reset();
    EXPECT_FALSE(space.bus_master()) << "after reset";
}

TEST_F(PciConfig, BarsReadWhereVireoPlacedThemWithTheirTypeBits)
{
    EXPECT_EQ(r(0x14), 0x10040000u) << "32-bit, not prefetchable";
    EXPECT_EQ(r(0x20), 0x0000000cu) << "64-bit prefetchable, low half";
    EXPECT_EQ(r(0x24), 0x00000080u) << "high half";
    EXPECT_EQ(r(0x10), 0u) << "unimplemented";
    EXPECT_EQ(r(0x18), 0u);
    EXPECT_EQ(r(0x1c), 0u);
    EXPECT_EQ(r(0x16, 2), 0x1004u) << "a narrow read of a BAR";
}

TEST_F(PciConfig, SizingA32BitBarReadsItsSizeMaskUntilAnyOtherWrite)
{
    w(0x14, 0xffffffff);
    EXPECT_EQ(r(0x14), 0xfffff000u) << "4 KiB, memory, 32-bit";
    w(0x14, 0x10040000);
    EXPECT_EQ(r(0x14), 0x10040000u) << "the address written back";
    EXPECT_EQ(space.take_moved(), 0u) << "sizing moves nothing";
    w(0x14, 0xffffffff);
    w(0x14, 0xff, 1);
    EXPECT_EQ(r(0x14), 0x10040000u) << "a narrow write is no sizing";
}

TEST_F(PciConfig, TheGuestMovesA32BitBarToASizeAlignedAddress)
{
    EXPECT_EQ(space.take_moved(), 0u) << "nothing moved at init";
    w(0x14, 0x20001234);
    EXPECT_EQ(r(0x14), 0x20001000u) << "bits below the size read 0";
    EXPECT_EQ(space.guest_bar(1), 0x20001000u);
    EXPECT_EQ(space.take_moved(), 1u << 1);
    EXPECT_EQ(space.take_moved(), 0u) << "taken once";
    w(0x14, 0x20001000);
    EXPECT_EQ(space.take_moved(), 0u) << "the same address again";
    w(0x16, 0x3000, 2);
    EXPECT_EQ(space.guest_bar(1), 0x30001000u) << "a narrow write changes its bytes";
    EXPECT_EQ(space.take_moved(), 1u << 1);
    EXPECT_FALSE(f.written(0x14)) << "the physical BAR stays";
}

TEST_F(PciConfig, TheGuestMovesA64BitBarOneHalfAtATime)
{
    w(0x20, 0x10008000);
    EXPECT_EQ(space.guest_bar(4), 0x8010008000ull) << "the high half is still the old one";
    EXPECT_EQ(space.take_moved(), 1u << 4);
    w(0x24, 0);
    EXPECT_EQ(space.guest_bar(4), 0x10008000u);
    EXPECT_EQ(space.take_moved(), 1u << 4) << "the BAR's bit, not the high half's";
    EXPECT_EQ(r(0x20), 0x1000800cu) << "with its type bits";
    EXPECT_EQ(r(0x24), 0u);
    EXPECT_EQ(space.guest_bar(5), 0u) << "the high half is no BAR of its own";
}

TEST_F(PciConfig, ResetPutsMovedBarsBackWhereVireoPlacedThem)
{
    w(0x14, 0x20000000);
    w(0x24, 0x1);
    space.take_moved();
    space.reset();
    EXPECT_EQ(space.take_moved(), (1u << 1) | (1u << 4));
    EXPECT_EQ(r(0x14), 0x10040000u);
    EXPECT_EQ(space.guest_bar(4), kBar4);
    space.reset();
    EXPECT_EQ(space.take_moved(), 0u) << "nothing to put back";
}

TEST_F(PciConfig, BothHalvesOfA64BitBarSize)
{
    w(0x20, 0xffffffff);
    w(0x24, 0xffffffff);
    EXPECT_EQ(r(0x20), 0xffffc00cu);
    EXPECT_EQ(r(0x24), 0xffffffffu);
    w(0x20, 0x0000000c); // the address back, as a driver restores it
    EXPECT_EQ(r(0x20), 0x0000000cu);
    EXPECT_EQ(r(0x24), 0xffffffffu) << "each half sizes on its own";
    w(0x24, 0x80);
    EXPECT_EQ(r(0x24), 0x80u);
    EXPECT_EQ(space.take_moved(), 0u);
    // A BAR of 8 GiB: its high half sizes too.
    bars[4].size = 8ull << 30;
    bars[4].base = 0x8000000000ull;
    space.init(f, bars);
    w(0x24, 0xffffffff);
    EXPECT_EQ(r(0x24), 0xfffffffeu);
}

TEST_F(PciConfig, UnimplementedBarsStayZeroWhenSized)
{
    w(0x10, 0xffffffff);
    EXPECT_EQ(r(0x10), 0u);
}

TEST_F(PciConfig, ThePhysicalBarsAndRomAreNeverWritten)
{
    for (uint32_t reg = 0x10; reg <= 0x30; reg += 4) {
        w(reg, 0xffffffff);
        w(reg, 0x12345678);
        w(reg + 2, 0xffff, 2);
        w(reg + 1, 0, 1);
    }
    for (uint32_t reg = 0x10; reg <= 0x30; reg += 4) {
        EXPECT_FALSE(f.written(reg)) << std::hex << reg;
    }
}

TEST_F(PciConfig, TheRomBarReadsZeroAndDoesNotSize)
{
    EXPECT_EQ(r(0x30), 0u);
    w(0x30, 0xfffff800);
    EXPECT_EQ(r(0x30), 0u);
    EXPECT_EQ(f.regs[0x30 / 4], 0xfeb80001u);
}

TEST_F(PciConfig, InterruptLineIsTheGuestsScratchByteUntilReset)
{
    EXPECT_EQ(r(0x3c, 1), 0u) << "not firmware's line";
    w(0x3c, 0x2a, 1);
    EXPECT_EQ(r(0x3c), 0x0000012au);
    EXPECT_FALSE(f.written(0x3c));
    w(0x3d, 0x04, 1);
    EXPECT_EQ(r(0x3d, 1), 1u) << "Interrupt Pin is read-only";
    space.reset();
    EXPECT_EQ(r(0x3c, 1), 0u);
}

TEST_F(PciConfig, CacheLineSizeAndBistWritesAreIgnored)
{
    w(0x0c, 0x40000020);
    EXPECT_FALSE(f.written(0x0c));
}

TEST_F(PciConfig, ResetEndsBarSizing)
{
    w(0x14, 0xffffffff);
    w(0x24, 0xffffffff);
    space.reset();
    EXPECT_EQ(r(0x14), 0x10040000u);
    EXPECT_EQ(r(0x24), 0x80u);
}

TEST_F(PciConfig, TheCapabilityListSkipsPowerManagementMsiAndMsix)
{
    const std::vector<std::pair<uint32_t, uint32_t>> want = {
        {kCommonCfg, 0x09}, {kNotify, 0x09}, {kExpress, 0x10}, {kPciCfg, 0x09}, {kAf, 0x13}};
    EXPECT_EQ(walk(), want);
    EXPECT_EQ(r(kCommonCfg + 2, 2), 0x0110u) << "the rest of the header is the function's";
}

TEST_F(PciConfig, AVmWithAnMsiFrameSeesAndProgramsMsiAndMsix)
{
    space.init(f, bars, true);
    const std::vector<std::pair<uint32_t, uint32_t>> want = {{kCommonCfg, 0x09}, {kNotify, 0x09}, {kMsix, 0x11},
                                                             {kExpress, 0x10},   {kPciCfg, 0x09}, {kMsi, 0x05},
                                                             {kAf, 0x13}};
    EXPECT_EQ(walk(), want) << "power management stays hidden";
    f.rw[kMsix / 4] = 0xc0000000; // Message Control: enable and function mask
    w(kMsix, 0x80000000);
    EXPECT_EQ(f.regs[kMsix / 4] >> 16, 0x8003u) << "MSI-X enabled, table size kept";
    w(kMsix + 4, 0xffffffff);
    EXPECT_FALSE(f.written(kMsix + 4)) << "the table's place is the function's";
    w(kMsi + 4, 0x08020040);
    EXPECT_EQ(f.regs[(kMsi + 4) / 4], 0x08020040u) << "the message address: the SMMU checks the write it makes";
}

TEST_F(PciConfig, HiddenCapabilitiesAndGapsReadZeroAndIgnoreWrites)
{
    for (uint32_t reg : {kPm, kPm + 4, kMsix, kMsix + 8, kMsi, kMsi + 0x14, 0x6cu, 0xbcu}) {
        EXPECT_EQ(r(reg), 0u) << std::hex << reg;
        w(reg, 0xffffffff);
        w(reg + 3, 0xff, 1);
        EXPECT_FALSE(f.written(reg)) << std::hex << reg;
    }
}

TEST_F(PciConfig, VendorCapabilitiesPassReadsAndWritesInFull)
{
    w(kCommonCfg + 4, 0x11223344);
    EXPECT_EQ(f.regs[(kCommonCfg + 4) / 4], 0x11223344u);
    w(kCommonCfg + 5, 0xab, 1);
    EXPECT_EQ(f.regs[(kCommonCfg + 4) / 4], 0x1122ab44u) << "the other bytes written back as they were";
    EXPECT_EQ(r(kCommonCfg + 4), 0x1122ab44u);
    w(kPciCfg + 4, 0x01000004);
    EXPECT_EQ(f.regs[(kPciCfg + 4) / 4], 0x01000004u);
    w(kNotify + 0x14, 0xffffffff);
    EXPECT_FALSE(f.written(kNotify + 0x14)) << "past its 20 bytes: a gap";
}

TEST_F(PciConfig, DeviceControlPassesWithoutInitiatingAFunctionLevelReset)
{
    f.regs[(kExpress + 8) / 4] |= 1u << 16;     // Correctable Error Detected
    w(kExpress + 8, 0x8000 | 0x5000 | 0x0f, 2); // FLR, MRRS 4096, error reporting
    EXPECT_EQ(f.regs[(kExpress + 8) / 4] & 0xffff, 0x500fu);
    EXPECT_NE(f.regs[(kExpress + 8) / 4] & 1u << 16, 0u) << "Device Status untouched";
    w(kExpress + 9, 0x80, 1);
    EXPECT_EQ(f.regs[(kExpress + 8) / 4] & 0xffff, 0x000fu) << "byte 8 kept, FLR still off";
    for (const auto& write : f.writes) {
        EXPECT_EQ(write.value & 0x8000, 0u);
    }
}

TEST_F(PciConfig, DeviceStatusErrorsAreNotClearedThroughDeviceControl)
{
    f.regs[(kExpress + 8) / 4] |= 1u << 16;
    w(kExpress + 8, 0x000f2810);
    EXPECT_NE(f.regs[(kExpress + 8) / 4] & 1u << 16, 0u);
}

TEST_F(PciConfig, DeviceControl2PassesAsIs)
{
    w(kExpress + 0x28, 0x0000ffff);
    EXPECT_EQ(f.regs[(kExpress + 0x28) / 4], 0xffffu);
}

TEST_F(PciConfig, OtherPciExpressRegistersIgnoreWrites)
{
    w(kExpress + 0x10, 0x00000030); // Link Control: Link Disable, Retrain Link
    w(kExpress + 0x30, 0x0000000f); // Link Control 2
    w(kExpress, 0xffffffff);
    EXPECT_FALSE(f.written(kExpress + 0x10));
    EXPECT_FALSE(f.written(kExpress + 0x30));
    EXPECT_FALSE(f.written(kExpress));
}

TEST_F(PciConfig, NoFunctionLevelResetIsOfferedToTheGuest)
{
    EXPECT_EQ(r(kExpress + 4), 0x00008fc0u) << "Device Capabilities without FLR";
    EXPECT_EQ(r(kAf + 3, 1), 0x01u) << "Advanced Features: TP only";
    w(kAf + 4, 1, 1);
    EXPECT_FALSE(f.written(kAf + 4)) << "other capabilities ignore writes";
}

TEST_F(PciConfig, ExtendedConfigSpaceIsHidden)
{
    EXPECT_EQ(r(0x100), 0u) << "no extended capabilities";
    EXPECT_EQ(r(0x140), 0u);
    w(0x100, 0xffffffff);
    w(0x140, 0xffffffff);
    w(0xffc, 0xffffffff);
    EXPECT_FALSE(f.written(0x100));
    EXPECT_FALSE(f.written(0x140));
    EXPECT_FALSE(f.written(0xffc));
}

TEST_F(PciConfig, BadSizesAndAlignmentsAreRefused)
{
    uint32_t value = 0;
    EXPECT_FALSE(space.read(0x02, 4, value));
    EXPECT_FALSE(space.read(0x01, 2, value));
    EXPECT_FALSE(space.read(0x00, 3, value));
    EXPECT_FALSE(space.read(0x00, 8, value));
    EXPECT_FALSE(space.read(0x1000, 4, value));
    EXPECT_FALSE(space.write(0x06, 4, 0));
    EXPECT_TRUE(f.writes.empty());
}

TEST_F(PciConfig, ALoopingCapabilityListEndsAtTheFirstRepeat)
{
    f.set(kNotify, cap(0x09, kCommonCfg, 0x0214)); // back to the second
    space.init(f, bars);
    const std::vector<std::pair<uint32_t, uint32_t>> want = {{kCommonCfg, 0x09}, {kNotify, 0x09}};
    EXPECT_EQ(walk(), want);
}

TEST_F(PciConfig, ACapabilityPointerIntoTheHeaderOrUnalignedEndsTheList)
{
    f.set(kNotify, cap(0x09, 0x10, 0x0214));
    space.init(f, bars);
    EXPECT_EQ(walk().size(), 2u) << "a pointer at a BAR";
    f.set(kNotify, cap(0x09, kExpress + 2, 0x0214));
    space.init(f, bars);
    EXPECT_EQ(walk().size(), 2u) << "an unaligned pointer";
    EXPECT_EQ(r(kExpress), 0u) << "and what it pointed at is not shown";
}

TEST_F(PciConfig, OverlappingCapabilitiesShowNone)
{
    // A vendor-specific capability inside MSI-X's dwords: writes through it
    // would reach MSI-X.
    f.set(kMsix, cap(0x11, kMsix + 4, 0x0003));
    f.set(kMsix + 4, cap(0x09, kExpress, 0x0008), 0xffffffff);
    space.init(f, bars);
    EXPECT_TRUE(walk().empty());
    EXPECT_EQ(r(0x06, 2) & 0x10, 0u);
    w(kMsix + 4, 0x12345678);
    EXPECT_FALSE(f.written(kMsix + 4));
}

TEST_F(PciConfig, NoCapabilitiesWhenStatusSaysThereAreNone)
{
    f.regs[1] &= ~(0x10u << 16);
    space.init(f, bars);
    EXPECT_TRUE(walk().empty());
}

TEST_F(PciConfig, AFullListOf48CapabilitiesIsShown)
{
    f.set(0x34, 0x40);
    for (uint32_t at = 0x40; at < 0x100; at += 4) {
        f.set(at, cap(0x12, at + 4 < 0x100 ? at + 4 : 0)); // SATA: a capability of unknown length
    }
    space.init(f, bars);
    EXPECT_EQ(walk().size(), 48u);
}

// --- the virtual ECAM ---

class Ecam : public PciConfig {
protected:
    uint64_t er(uint64_t offset, unsigned size)
    {
        uint64_t value = 0;
        EXPECT_TRUE(ecam.read(0, offset, size, value));
        return value;
    }
    VirtualEcam ecam;
};

TEST_F(Ecam, FunctionsItDoesNotHoldReadAllOnesAndIgnoreWrites)
{
    ASSERT_TRUE(ecam.add(2, 0, space));
    EXPECT_EQ(er(0, 4), 0xffffffffu);
    EXPECT_EQ(er(0x2, 2), 0xffffu);
    EXPECT_EQ(er(2 << 15 | 1 << 12, 1), 0xffu) << "function 1 of the held device";
    EXPECT_TRUE(ecam.write(0, 0x04, 2, 0x0006));
    EXPECT_TRUE(f.writes.empty());
}

TEST_F(Ecam, HeldFunctionsAreReachedAtDeviceAndFunction)
{
    ASSERT_TRUE(ecam.add(3, 5, space));
    const uint64_t base = 3 << 15 | 5 << 12;
    EXPECT_EQ(er(base, 4), 0x10411af4u);
    EXPECT_EQ(er(base + 0x14, 4), kBar1);
    EXPECT_TRUE(ecam.write(0, base + 0x04, 2, 0x0006));
    EXPECT_TRUE(space.bus_master());
    EXPECT_EQ(er(base + 0x100, 4), 0u) << "the model's hidden extended space, not absent";
}

TEST_F(Ecam, AddRefusesATakenSlotOutOfRangeNumbersAndANinthFunction)
{
    PciConfigSpace more[VirtualEcam::kMaxFunctions];
    ASSERT_TRUE(ecam.add(0, 0, space));
    EXPECT_FALSE(ecam.add(0, 0, more[0]));
    EXPECT_FALSE(ecam.add(32, 0, more[0]));
    EXPECT_FALSE(ecam.add(0, 8, more[0]));
    for (uint32_t i = 1; i < VirtualEcam::kMaxFunctions; i++) {
        EXPECT_TRUE(ecam.add(i, 0, more[i]));
    }
    EXPECT_FALSE(ecam.add(31, 7, more[0]));
}

TEST_F(Ecam, WideAndMisalignedAccessesAreRefusedWithAReason)
{
    ASSERT_TRUE(ecam.add(0, 0, space));
    uint64_t value = 0;
    EXPECT_FALSE(ecam.read(0, 0, 8, value));
    EXPECT_STREQ(ecam.refusal(0, 8, false), "configuration space takes 1-, 2- and 4-byte accesses");
    EXPECT_FALSE(ecam.write(0, 0x2, 4, 0));
    EXPECT_FALSE(ecam.read(0, 1 << 15 | 0x1, 2, value)) << "an absent function is refused the same";
    EXPECT_STREQ(ecam.refusal(0x2, 4, true), "an access not aligned to its size (PCIe Base 7.2.2)");
    EXPECT_FALSE(ecam.read(0, VirtualEcam::kSize, 4, value));
    EXPECT_STREQ(ecam.name(), "the PCIe config space");
}

TEST_F(Ecam, ResetResetsEveryHeldFunction)
{
    ASSERT_TRUE(ecam.add(1, 0, space));
    EXPECT_TRUE(ecam.write(0, 1 << 15 | 0x04, 2, 0x0006));
    EXPECT_TRUE(ecam.write(0, 1 << 15 | 0x3c, 1, 9));
    ecam.reset();
    EXPECT_FALSE(space.bus_master());
    EXPECT_EQ(er(1 << 15 | 0x3c, 1), 0u);
}

} // namespace
