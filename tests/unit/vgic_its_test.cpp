// The virtual ITS and the redistributors' LPIs (vgic_its.hpp, vgic_lpi.hpp)
// as a guest driver sees them, against IHI 0069 chapters 5 and 6: tables
// and command queue in a fake guest RAM, commands written and CWRITER
// moved as a driver does, LPIs checked in the redistributor model.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernel/devices/gic/vgic_its.hpp"
#include "kernel/devices/gic/vgic_lpi.hpp"
#include "tests/fake_ram.hpp"

namespace {

constexpr uint64_t kRam = 0x40000000;
constexpr uint64_t kRamSize = 4 << 20;
constexpr uint64_t kProp = kRam + 0x100000;
constexpr uint64_t kPend = kRam + 0x110000;
constexpr uint64_t kQueue = kRam + 0x120000; // 4 KiB: 128 commands
constexpr uint64_t kDevices = kRam + 0x130000;
constexpr uint64_t kCollections = kRam + 0x140000;
constexpr uint64_t kItt = kRam + 0x150000;
constexpr uint64_t kLevel2 = kRam + 0x160000;
constexpr uint64_t kOutside = 0x80000000; // no RAM of the guest's

constexpr uint64_t kValid = 1ull << 63;
constexpr uint64_t kIndirect = 1ull << 62;
constexpr uint64_t kPtz = 1ull << 62;

// GICR and GITS register offsets.
constexpr uint64_t kGicrCtlr = 0x0, kPropbaser = 0x70, kPendbaser = 0x78, kInvlpir = 0xa0, kInvallr = 0xb0;
constexpr uint64_t kGitsCtlr = 0x0, kGitsIidr = 0x4, kGitsTyper = 0x8, kCbaser = 0x80, kCwriter = 0x88, kCreadr = 0x90,
                   kBaser0 = 0x100, kBaser1 = 0x108, kBaser2 = 0x110, kPidr2 = 0xffe8;

constexpr uint32_t kLpi = VirtualLpis::kFirst;

class Its : public ::testing::Test, public ItsReport {
protected:
    void SetUp() override
    {
        lpis.reset(4);
        its.reset(4);
        for (uint32_t i = 0; i < 64; i++) {
            ram.put<uint8_t>(kProp + i, 0xa1); // priority 0xa0, enabled
        }
    }

    void command_ignored(const ItsCommandError& e) override
    {
        errors.push_back(std::string(e.command != nullptr ? e.command : "?") + ": " + e.why);
    }
    void queue_stalled(const char* why) override { stalls.push_back(why); }

    uint64_t its_read(uint64_t offset, unsigned size = 8)
    {
        uint64_t v = ~0ull;
        its.read(offset, size, v, lpis, ram, *this);
        return v;
    }
    void its_write(uint64_t offset, uint64_t value, unsigned size = 8)
    {
        its.write(offset, size, value, lpis, ram, *this);
    }
    uint64_t rd_read(uint32_t vcpu, uint64_t offset, unsigned size = 8)
    {
        uint64_t v = ~0ull;
        lpis.read(vcpu, offset, size, v);
        return v;
    }
    const char* rd_write(uint32_t vcpu, uint64_t offset, uint64_t value, unsigned size = 8)
    {
        return lpis.write(vcpu, offset, size, value, ram);
    }

    /// GICR_PROPBASER (16 ID bits), GICR_PENDBASER, then EnableLPIs.
    const char* enable_lpis(uint32_t vcpu, uint64_t pendbaser = kPend | kPtz)
    {
        rd_write(vcpu, kPropbaser, kProp | 15);
        rd_write(vcpu, kPendbaser, pendbaser);
        return rd_write(vcpu, kGicrCtlr, 1, 4);
    }

    /// Flat 4 KiB device and collection tables, a 4 KiB queue, ITS on.
    void enable_its(uint64_t device_baser = kValid | kDevices, uint64_t collection_baser = kValid | kCollections)
    {
        its_write(kBaser0, device_baser);
        its_write(kBaser1, collection_baser);
        its_write(kCbaser, kValid | kQueue);
        its_write(kCwriter, 0);
        its_write(kGitsCtlr, 1, 4);
    }

    /// Queues one command and moves CWRITER past it, as a driver does.
    void command(uint64_t dw0, uint64_t dw1 = 0, uint64_t dw2 = 0, uint64_t dw3 = 0)
    {
        const uint64_t at = kQueue + cwriter;
        ram.put(at, dw0);
        ram.put(at + 8, dw1);
        ram.put(at + 16, dw2);
        ram.put(at + 24, dw3);
        cwriter = (cwriter + 32) % 4096;
        its_write(kCwriter, cwriter);
    }

    void mapd(uint32_t device, uint32_t event_bits, uint64_t itt = kItt, bool valid = true)
    {
        command(uint64_t{device} << 32 | 0x08, event_bits - 1, (valid ? kValid : 0) | itt);
    }
    void mapc(uint32_t icid, uint32_t vcpu, bool valid = true)
    {
        command(0x09, 0, (valid ? kValid : 0) | uint64_t{vcpu} << 16 | icid);
    }
    void mapti(uint32_t device, uint32_t event, uint32_t intid, uint32_t icid)
    {
        command(uint64_t{device} << 32 | 0x0a, uint64_t{intid} << 32 | event, icid);
    }
    void on_device(uint8_t code, uint32_t device, uint32_t event, uint32_t icid = 0)
    {
        command(uint64_t{device} << 32 | code, event, icid);
    }
    void int_(uint32_t device, uint32_t event) { on_device(0x03, device, event); }

    /// LPIs on for vCPUs 0 and 1, ITS on, collections 0 and 1 on those
    /// vCPUs, device 1 with 32 events, event 3 as LPI kLpi + 3 on collection 0.
    void typical()
    {
        ASSERT_EQ(enable_lpis(0), nullptr);
        ASSERT_EQ(enable_lpis(1), nullptr);
        enable_its();
        mapc(0, 0);
        mapc(1, 1);
        mapd(1, 5);
        mapti(1, 3, kLpi + 3, 0);
        ASSERT_TRUE(errors.empty()) << errors[0];
    }

    bool deliverable(uint32_t vcpu, uint32_t intid)
    {
        const uint32_t index = intid - kLpi;
        return (lpis.deliverable_mask(vcpu, index / 32) >> (index % 32)) & 1;
    }

    FakeRam<kRam, kRamSize> ram;
    VirtualLpis lpis;
    VirtualIts its;
    uint64_t cwriter = 0;
    std::vector<std::string> errors;
    std::vector<std::string> stalls;
};

TEST_F(Its, IdentifiesAsAGicv3Its)
{
    EXPECT_EQ(its_read(kPidr2, 4) >> 4 & 0xf, 3u) << "GITS_PIDR2.ArchRev: Linux gives up on anything else";
    EXPECT_NE(its_read(kGitsIidr, 4), 0u);
    const uint64_t typer = its_read(kGitsTyper);
    EXPECT_EQ(typer & 1, 1u) << "Physical";
    EXPECT_EQ((typer >> 4 & 0xf) + 1, 8u) << "ITT_entry_size";
    EXPECT_EQ((typer >> 8 & 0x1f) + 1, 16u) << "ID_bits";
    EXPECT_EQ((typer >> 13 & 0x1f) + 1, 16u) << "Devbits";
    EXPECT_EQ(typer >> 18 & 1, 0u) << "SEIS";
    EXPECT_EQ(typer >> 19 & 1, 0u) << "PTA: RDbase is a processor number";
    EXPECT_EQ(typer >> 24 & 0xff, 0u) << "HCC";
    EXPECT_EQ(its_read(kGitsTyper + 4, 4), typer >> 32) << "upper half alone";
    EXPECT_EQ(its_read(kGitsCtlr, 4), 1u << 31) << "disabled and quiescent";
}

TEST_F(Its, TablesDescribeThemselvesAndKeepWhatIsWritable)
{
    EXPECT_EQ(its_read(kBaser0) >> 56 & 7, 1u) << "BASER0: devices";
    EXPECT_EQ(its_read(kBaser1) >> 56 & 7, 4u) << "BASER1: collections";
    EXPECT_EQ((its_read(kBaser0) >> 48 & 0x1f) + 1, 8u) << "8-byte entries";
    EXPECT_EQ(its_read(kBaser2), 0u) << "no third table";
    its_write(kBaser0, ~0ull);
    const uint64_t b = its_read(kBaser0);
    EXPECT_EQ(b >> 56 & 7, 1u) << "Type is read-only";
    EXPECT_TRUE(b & kIndirect) << "two-level tables are supported";
    EXPECT_EQ(b >> 8 & 3, 2u) << "the reserved page size reads as 64 KiB";
    its_write(kBaser0, kValid | kDevices | 1 << 8);
    EXPECT_EQ(its_read(kBaser0) & 0x0000fffffffff000ull, kDevices);
    EXPECT_EQ(its_read(kBaser0) >> 8 & 3, 1u) << "16 KiB pages";
    its_write(kGitsCtlr, 1, 4);
    its_write(kBaser0, kValid | kItt);
    EXPECT_EQ(its_read(kBaser0) & 0x0000fffffffff000ull, kDevices) << "ignored while enabled";
    EXPECT_EQ(its_read(kGitsCtlr, 4), 1u) << "enabled";
}

TEST_F(Its, LpiRegistersHoldTheTables)
{
    rd_write(0, kPropbaser, kProp | 15 | 1ull << 63);
    EXPECT_EQ(rd_read(0, kPropbaser), kProp | 15) << "reserved bits read as zero";
    rd_write(0, kPendbaser, kPend | kPtz);
    EXPECT_EQ(rd_read(0, kPendbaser), kPend) << "PTZ reads as zero";
    rd_write(0, kPendbaser + 4, 0, 4);
    EXPECT_EQ(rd_read(0, kPendbaser), kPend) << "an upper half written alone";
    EXPECT_EQ(rd_read(0, kGicrCtlr, 4), 0u);
    EXPECT_EQ(rd_write(0, kGicrCtlr, 1, 4), nullptr);
    EXPECT_EQ(rd_read(0, kGicrCtlr, 4), 1u) << "EnableLPIs";
    rd_write(0, kPropbaser, kItt | 15);
    EXPECT_EQ(rd_read(0, kPropbaser), kProp | 15) << "tables are fixed while LPIs are on";
}

TEST_F(Its, TablesOutsideRamLeaveLpisOff)
{
    rd_write(0, kPropbaser, kOutside | 15);
    rd_write(0, kPendbaser, kPend);
    EXPECT_STREQ(rd_write(0, kGicrCtlr, 1, 4), "its LPI property table (GICR_PROPBASER) is not in its RAM");
    EXPECT_EQ(rd_read(0, kGicrCtlr, 4), 0u);
    rd_write(0, kPropbaser, kProp | 15);
    rd_write(0, kPendbaser, kOutside);
    EXPECT_STREQ(rd_write(0, kGicrCtlr, 1, 4), "its LPI pending table (GICR_PENDBASER) is not in its RAM");
    EXPECT_FALSE(lpis.enabled(0));
    lpis.set_pending(0, kLpi, true);
    EXPECT_FALSE(lpis.pending(0, kLpi)) << "a redistributor without LPIs drops them";
}

TEST_F(Its, FewIdBitsMeanNoUsableLpis)
{
    rd_write(0, kPropbaser, kOutside | 12); // 13 bits: INTIDs below 8192, no LPI
    rd_write(0, kPendbaser, kOutside);
    EXPECT_EQ(rd_write(0, kGicrCtlr, 1, 4), nullptr) << "no table is read";
    lpis.set_pending(0, kLpi, true);
    EXPECT_FALSE(deliverable(0, kLpi));
}

TEST_F(Its, IntRaisesTheMappedLpiAtItsCollection)
{
    typical();
    int_(1, 3);
    EXPECT_TRUE(errors.empty());
    EXPECT_TRUE(lpis.pending(0, kLpi + 3));
    EXPECT_TRUE(deliverable(0, kLpi + 3));
    EXPECT_EQ(lpis.priority(0, kLpi + 3), 0xa0);
    EXPECT_EQ(its.take_raised(), 1u) << "vCPU 0 looks";
    EXPECT_EQ(its.take_raised(), 0u);
    EXPECT_FALSE(lpis.pending(1, kLpi + 3));
}

TEST_F(Its, TranslaterWritesFromAVcpuUseItsDeviceId)
{
    typical();
    its_write(kGitsCtlr, 0, 4);
    its_write(kBaser0, kValid | kDevices | 127); // 512 KiB: all 65536 DeviceIDs
    its_write(kGitsCtlr, 1, 4);
    mapd(VirtualIts::kCpuDeviceId, 2);
    mapti(VirtualIts::kCpuDeviceId, 1, kLpi + 9, 1);
    its_write(VirtualIts::kTranslater, 1, 4);
    EXPECT_TRUE(lpis.pending(1, kLpi + 9));
    EXPECT_EQ(its.take_raised(), 2u);
    its_write(VirtualIts::kTranslater, 3, 4); // an EventID it has not mapped
    EXPECT_EQ(its.take_raised(), 0u);
    EXPECT_TRUE(its.translate(1, 3, lpis)) << "a device's MSI";
    its_write(kGitsCtlr, 0, 4);
    EXPECT_FALSE(its.translate(1, 3, lpis)) << "a disabled ITS drops MSIs";
}

TEST_F(Its, PropertyChangesTakeEffectOnInvalidation)
{
    typical();
    int_(1, 3);
    ram.put<uint8_t>(kProp + 3, 0xa0); // disabled in the table
    EXPECT_TRUE(deliverable(0, kLpi + 3)) << "cached until invalidated";
    on_device(0x0c, 1, 3); // INV
    EXPECT_FALSE(deliverable(0, kLpi + 3));
    EXPECT_TRUE(lpis.pending(0, kLpi + 3)) << "still pending, only disabled";
    EXPECT_TRUE(its.take_changed());
    ram.put<uint8_t>(kProp + 3, 0x41);
    rd_write(0, kInvlpir, kLpi + 3); // GICR_INVLPIR
    EXPECT_TRUE(deliverable(0, kLpi + 3));
    EXPECT_EQ(lpis.priority(0, kLpi + 3), 0x40);
    ram.put<uint8_t>(kProp + 3, 0x21);
    rd_write(0, kInvallr, 0); // GICR_INVALLR
    EXPECT_EQ(lpis.priority(0, kLpi + 3), 0x20);
    ram.put<uint8_t>(kProp + 3, 0x11);
    command(0x0d, 0, 0); // INVALL of collection 0
    EXPECT_EQ(lpis.priority(0, kLpi + 3), 0x10);
}

TEST_F(Its, MoviTakesThePendingStateAlong)
{
    typical();
    int_(1, 3);
    on_device(0x01, 1, 3, 1); // MOVI to collection 1 (vCPU 1)
    EXPECT_TRUE(errors.empty());
    EXPECT_FALSE(lpis.pending(0, kLpi + 3));
    EXPECT_TRUE(lpis.pending(1, kLpi + 3));
    its.take_raised();
    int_(1, 3);
    EXPECT_EQ(its.take_raised(), 2u) << "later INTs go to the new collection";
}

TEST_F(Its, MovallMovesEveryPendingLpi)
{
    typical();
    mapti(1, 4, kLpi + 40, 0);
    int_(1, 3);
    int_(1, 4);
    command(0x0e, 0, 0 << 16, 1 << 16); // MOVALL vCPU 0 -> 1
    EXPECT_TRUE(errors.empty());
    EXPECT_TRUE(lpis.pending(1, kLpi + 3));
    EXPECT_TRUE(lpis.pending(1, kLpi + 40));
    EXPECT_FALSE(lpis.pending(0, kLpi + 3));
}

TEST_F(Its, ClearAndDiscard)
{
    typical();
    int_(1, 3);
    on_device(0x04, 1, 3); // CLEAR
    EXPECT_FALSE(lpis.pending(0, kLpi + 3));
    int_(1, 3);
    on_device(0x0f, 1, 3); // DISCARD
    EXPECT_FALSE(lpis.pending(0, kLpi + 3)) << "DISCARD removes the pending state too";
    int_(1, 3);
    EXPECT_FALSE(lpis.pending(0, kLpi + 3));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0], "INT: no interrupt is mapped for its EventID");
}

TEST_F(Its, MapiUsesTheEventIdAsLpi)
{
    typical();
    mapd(2, 16, kItt + 0x1000);
    command(uint64_t{2} << 32 | 0x0b, kLpi + 7, 1); // MAPI event 8199 to collection 1
    int_(2, kLpi + 7);
    EXPECT_TRUE(errors.empty()) << errors[0];
    EXPECT_TRUE(lpis.pending(1, kLpi + 7));
}

TEST_F(Its, BrokenCommandsAreIgnoredAndTheQueueGoesOn)
{
    typical();
    mapd(600, 5);                // beyond the flat 4 KiB device table (512 entries)
    mapd(3, 17);                 // more EventID bits than GITS_TYPER has
    mapd(4, 5, kOutside);        // an ITT outside RAM
    mapti(1, 32, kLpi + 1, 0);   // an EventID beyond the device's 32
    mapti(1, 1, 100, 0);         // not an LPI
    mapti(1, 1, kLpi + 1024, 0); // beyond the VM's LPIs
    mapti(1, 1, kLpi + 1, 64);   // an ICID beyond what Vireo keeps
    mapti(9, 1, kLpi + 1, 0);    // an unmapped device
    mapc(2, 4);                  // no vCPU 4 (4 vCPUs: 0-3)
    command(0x05, 0, 7 << 16);   // SYNC to no vCPU
    command(0x2a);               // no such command
    int_(1, 4);                  // nothing mapped at event 4
    mapti(1, 5, kLpi + 5, 2);    // collection 2 exists in the table but is unmapped...
    int_(1, 5);                  // ...so INT cannot deliver
    const std::vector<std::string> expected = {
        "MAPD: DeviceID beyond the device table",
        "MAPD: its Size is beyond the 16 EventID bits of GITS_TYPER.ID_bits",
        "MAPD: its ITT is not in its RAM",
        "MAPTI: EventID beyond its device's ITT",
        "MAPTI: its pINTID is not one of the VM's LPIs (8192-9215)",
        "MAPTI: its pINTID is not one of the VM's LPIs (8192-9215)",
        "MAPTI: ICID beyond the collections Vireo keeps (64)",
        "MAPTI: its device is not mapped",
        "MAPC: its RDbase names no vCPU of the VM",
        "SYNC: its RDbase names no vCPU of the VM",
        "?: not a command of this ITS",
        "INT: no interrupt is mapped for its EventID",
        "INT: its collection is not mapped",
    };
    EXPECT_EQ(errors, expected);
    int_(1, 3);
    EXPECT_TRUE(lpis.pending(0, kLpi + 3)) << "good commands after bad ones work";
    EXPECT_EQ(its_read(kCreadr), cwriter) << "everything processed";
}

TEST_F(Its, UnmappingADeviceOrCollection)
{
    typical();
    mapc(0, 0, false);
    int_(1, 3);
    EXPECT_EQ(errors.back(), "INT: its collection is not mapped");
    mapc(0, 0);
    mapd(1, 5, kItt, false);
    int_(1, 3);
    EXPECT_EQ(errors.back(), "INT: its device is not mapped");
    mapd(1, 5);
    int_(1, 3);
    EXPECT_EQ(errors.back(), "INT: no interrupt is mapped for its EventID") << "a new ITT starts empty";
}

TEST_F(Its, TwoLevelTables)
{
    ASSERT_EQ(enable_lpis(0), nullptr);
    // One level-1 page: 512 entries, each a 4 KiB level-2 page of 512 IDs.
    ram.put<uint64_t>(kDevices + 8 * 2, kValid | kLevel2); // DeviceIDs 1024-1535
    ram.put<uint64_t>(kCollections, kValid | (kLevel2 + 0x1000));
    enable_its(kValid | kIndirect | kDevices, kValid | kIndirect | kCollections);
    mapc(0, 0);
    mapd(1030, 2);
    mapti(1030, 1, kLpi + 1, 0);
    on_device(0x03, 1030, 1);
    EXPECT_TRUE(errors.empty()) << errors[0];
    EXPECT_TRUE(lpis.pending(0, kLpi + 1));
    mapd(5, 2); // level-1 entry 0: not valid
    EXPECT_EQ(errors.back(), "MAPD: its level-2 table is not valid");
    ram.put<uint64_t>(kDevices + 8 * 3, kValid | kOutside);
    mapd(1600, 2);
    EXPECT_EQ(errors.back(), "MAPD: its device table entry is not in its RAM");
    mapd(1u << 16, 2);
    EXPECT_EQ(errors.back(), "MAPD: DeviceID beyond the 16 bits of GITS_TYPER.Devbits");
}

TEST_F(Its, TablesThatAreNotThere)
{
    ASSERT_EQ(enable_lpis(0), nullptr);
    enable_its(0, kValid | kCollections); // no device table
    mapd(1, 2);
    EXPECT_EQ(errors.back(), "MAPD: the device table (GITS_BASER0) is not valid");
    errors.clear();
    its_write(kGitsCtlr, 0, 4);
    its_write(kBaser0, kValid | kOutside);
    its_write(kGitsCtlr, 1, 4);
    mapd(1, 2);
    EXPECT_EQ(errors.back(), "MAPD: its device table entry is not in its RAM");
}

TEST_F(Its, TheQueueWrapsAround)
{
    typical();
    for (int i = 0; i < 300; i++) { // more than twice round the 128-entry queue
        int_(1, 3);
        on_device(0x04, 1, 3);
    }
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(its_read(kCreadr), cwriter);
    int_(1, 3);
    EXPECT_TRUE(lpis.pending(0, kLpi + 3));
}

TEST_F(Its, ABatchRunsInStepsAsTheDriverPolls)
{
    typical();
    its_write(kGitsCtlr, 0, 4);
    its_write(kCbaser, kValid | kQueue | 1); // 8 KiB: 256 commands
    its_write(kCwriter, 0);
    its_write(kGitsCtlr, 1, 4);
    for (uint64_t i = 0; i < 200; i++) {
        ram.put<uint64_t>(kQueue + 32 * i, 0x05); // SYNC to vCPU 0
        ram.put<uint64_t>(kQueue + 32 * i + 16, 0);
    }
    its_write(kCwriter, 32 * 200);
    const uint64_t step = 32 * VirtualIts::kCommandsPerStep;
    EXPECT_EQ(its_read(kCreadr), 2 * step) << "one step at the CWRITER write, one at each CREADR read";
    EXPECT_EQ(its_read(kCreadr), 3 * step);
    EXPECT_EQ(its_read(kCreadr), 32u * 200);
    EXPECT_TRUE(errors.empty());
}

TEST_F(Its, ACwriterBeyondTheQueueStallsIt)
{
    typical();
    its_write(kCwriter, 4096);
    EXPECT_EQ(its_read(kCreadr) & 1, 1u) << "Stalled";
    ASSERT_EQ(stalls.size(), 1u);
    EXPECT_EQ(stalls[0], "GITS_CWRITER is beyond the end of its command queue");
    int_(1, 3); // a valid CWRITER resumes it
    EXPECT_EQ(its_read(kCreadr), cwriter);
    EXPECT_TRUE(lpis.pending(0, kLpi + 3));
}

TEST_F(Its, AQueueOutsideRamStalls)
{
    typical();
    its_write(kGitsCtlr, 0, 4);
    its_write(kCbaser, kValid | (kRam + kRamSize - 0x1000) | 1); // its second page is not RAM
    EXPECT_EQ(its_read(kCreadr), 0u) << "a new queue starts at 0";
    its_write(kGitsCtlr, 1, 4);
    its_write(kCwriter, 4096 + 64);
    EXPECT_EQ(its_read(kCreadr), 4096u | 1) << "stalled at the first command it cannot read";
    EXPECT_EQ(stalls.back(), "its command queue (GITS_CBASER) is not in its RAM");
}

TEST_F(Its, PendingTableIsReadAtEnableAndWrittenAtDisable)
{
    ram.put<uint8_t>(kPend + 1024 + 1, 0x04);  // LPI 8192 + 10
    ASSERT_EQ(enable_lpis(0, kPend), nullptr); // PTZ clear: the table counts
    EXPECT_TRUE(lpis.pending(0, kLpi + 10));
    EXPECT_TRUE(deliverable(0, kLpi + 10));
    lpis.set_pending(0, kLpi + 11, true);
    rd_write(0, kGicrCtlr, 0, 4);
    EXPECT_EQ(ram.get<uint8_t>(kPend + 1024 + 1), 0x0c) << "written back";
    EXPECT_FALSE(lpis.pending(0, kLpi + 11));
    ASSERT_EQ(enable_lpis(1), nullptr); // PTZ: the table is taken as zero
    EXPECT_FALSE(lpis.pending(1, kLpi + 10));
}

TEST_F(Its, ResetForgetsEverything)
{
    typical();
    int_(1, 3);
    its.reset(4);
    lpis.reset(4);
    EXPECT_FALSE(lpis.pending(0, kLpi + 3));
    EXPECT_EQ(its_read(kGitsCtlr, 4), 1u << 31);
    EXPECT_EQ(its_read(kBaser0) & kValid, 0u);
    EXPECT_FALSE(its.translate(1, 3, lpis));
}

} // namespace

namespace {

/// A host whose ITS has the VM's function at DeviceID 0x10, recording
/// what the virtual ITS asks of it.
class RecordingHost final : public ItsHost {
public:
    bool owns(uint32_t device) override { return device == 0x10; }
    const char* map(uint32_t device, uint32_t event, int vcpu) override
    {
        calls.push_back("map " + std::to_string(device) + " " + std::to_string(event) + " " + std::to_string(vcpu));
        return event == 2047 ? "no host LPI left" : nullptr;
    }
    void move(uint32_t device, uint32_t event, uint32_t vcpu) override
    {
        calls.push_back("move " + std::to_string(device) + " " + std::to_string(event) + " " + std::to_string(vcpu));
    }
    void unmap(uint32_t device, uint32_t event) override
    {
        calls.push_back("unmap " + std::to_string(device) + " " + std::to_string(event));
    }
    std::vector<std::string> calls;
};

class ItsWithFunction : public Its {
protected:
    void SetUp() override
    {
        Its::SetUp();
        its.set_host(&host);
    }
    RecordingHost host;
};

TEST_F(ItsWithFunction, OnlyTheVmsOwnFunctionsReachTheHost)
{
    typical(); // device 1: emulated, never the host's business
    mapd(0x10, 11);
    mapti(0x10, 5, kLpi + 20, 1);
    mapti(0x10, 6, kLpi + 21, 3); // collection 3 not mapped yet
    mapti(0x8, 5, kLpi + 22, 0);  // another VM's function: not mapped (its device is not)
    mapd(0x8, 2);
    mapti(0x8, 1, kLpi + 22, 0); // mapped only in this VM's model
    on_device(0x01, 0x10, 5, 0); // MOVI
    mapc(1, 2);                  // collection 1 to vCPU 2: event 5 is on collection 0 now, nothing moves
    on_device(0x0f, 0x10, 6);    // DISCARD
    mapti(0x10, 2047, kLpi + 30, 0);
    mapd(0x10, 11, kItt, false); // unmapped: what is left goes
    const std::vector<std::string> expected = {"map 16 5 1", "map 16 6 -1",   "move 16 5 0",
                                               "unmap 16 6", "map 16 2047 0", "unmap 16 5"};
    EXPECT_EQ(host.calls, expected);
    ASSERT_FALSE(errors.empty());
    EXPECT_EQ(errors.back(), "MAPTI: no host LPI left") << "the host's refusal is the command's";
}

TEST_F(ItsWithFunction, AHostMsiRaisesWhatTheGuestMapped)
{
    typical();
    mapd(0x10, 11);
    mapti(0x10, 5, kLpi + 20, 1);
    its.take_raised();
    EXPECT_TRUE(its.translate(0x10, 5, lpis)) << "the host LPI handed back as (DeviceID, EventID)";
    EXPECT_TRUE(lpis.pending(1, kLpi + 20));
    EXPECT_EQ(its.take_raised(), 2u);
    EXPECT_FALSE(its.translate(0x10, 6, lpis)) << "an event the guest did not map raises nothing";
}

} // namespace

namespace {

TEST_F(Its, WhatAListRegisterMayHoldIsLookedOverAfterTheCommands)
{
    typical();
    mapti(1, 4, kLpi + 4, 1);
    mapti(1, 5, kLpi + 5, 0);
    lpis.rechecked(0); // enabling LPIs read the property table: looked over once
    EXPECT_FALSE(lpis.must_recheck(0));
    on_device(0x04, 1, 3); // CLEAR: an LPI vCPU 0 may hold in a list register
    EXPECT_TRUE(lpis.must_recheck(0));
    EXPECT_TRUE(lpis.withdrawn(0, kLpi + 3));
    EXPECT_EQ(lpis.followed_to(0, kLpi + 3), -1) << "cleared: gone from the list register";
    on_device(0x01, 1, 5, 1); // MOVI of a not-pending LPI to collection 1 (vCPU 1)
    EXPECT_TRUE(lpis.withdrawn(0, kLpi + 5));
    EXPECT_EQ(lpis.followed_to(0, kLpi + 5), 1) << "found in a list register: raised at vCPU 1";
    EXPECT_FALSE(lpis.pending(1, kLpi + 5)) << "not raised unless it was somewhere";
    lpis.rechecked(0);
    EXPECT_FALSE(lpis.must_recheck(0));
    EXPECT_FALSE(lpis.withdrawn(0, kLpi + 3));
    command(0x0e, 0, 1 << 16, 0 << 16); // MOVALL vCPU 1 -> 0
    EXPECT_EQ(lpis.moved_to(1), 0);
    ram.put<uint8_t>(kProp + 4, 0x41);
    on_device(0x0c, 1, 4); // INV of vCPU 1's LPI
    EXPECT_TRUE(lpis.reconfigured(1)) << "a list register may hold it at its old priority";
    EXPECT_TRUE(its.take_changed()) << "so every vCPU looks";
}

} // namespace
