// The virtual GICv2 distributor's register model, as a guest sees it.
#include <gtest/gtest.h>

#include "kernel/devices/gic/vgic_dist.hpp"

namespace {

class VgicDist : public ::testing::Test {
protected:
    void SetUp() override { d.reset(96, 4); } // SPIs 32-95, 4 vCPUs
    uint32_t r32(uint64_t off, uint32_t vcpu = 0)
    {
        uint64_t v = 0;
        EXPECT_TRUE(d.read(vcpu, off, 4, v));
        return static_cast<uint32_t>(v);
    }
    uint8_t r8(uint64_t off, uint32_t vcpu = 0)
    {
        uint64_t v = 0;
        EXPECT_TRUE(d.read(vcpu, off, 1, v));
        return static_cast<uint8_t>(v);
    }
    void w32(uint64_t off, uint32_t value, uint32_t vcpu = 0) { EXPECT_TRUE(d.write(vcpu, off, 4, value)); }
    void w8(uint64_t off, uint8_t value, uint32_t vcpu = 0) { EXPECT_TRUE(d.write(vcpu, off, 1, value)); }
    VirtualDistributor d;
};

TEST_F(VgicDist, TyperReportsLinesAndCpus)
{
    EXPECT_EQ(r32(0x004) & 0x1f, 2u) << "ITLinesNumber: 96 interrupts";
    EXPECT_EQ((r32(0x004) >> 5) & 7, 3u) << "CPUNumber: 4 CPU interfaces";
    EXPECT_EQ(r32(0xfe8) >> 4, 2u) << "ICPIDR2.ArchRev";
}

// The control and ID words have their own path in read(): what it gives
// at each width and alignment, on both architectures.
TEST_F(VgicDist, HeaderWordsAtEveryWidth)
{
    EXPECT_EQ(r32(0x008), 0u) << "GICD_IIDR: no implementer claimed";
    EXPECT_EQ(r32(0x00c), 0u) << "reserved on GICv2";
    EXPECT_EQ(r8(0x004), 0u) << "byte reads of word registers are RAZ";
    uint64_t v = 1;
    EXPECT_TRUE(d.read(0, 0x006, 4, v));
    EXPECT_EQ(v, 0u) << "unaligned";
    EXPECT_TRUE(d.read(7, 0x004, 4, v));
    EXPECT_EQ(v & 0x1f, 2u) << "any vCPU number reads the same TYPER";

    VirtualDistributor v3;
    v3.reset(96, 4, 3);
    EXPECT_TRUE(v3.read(0, 0x000, 4, v));
    EXPECT_EQ(v, 0x50u) << "GICD_CTLR: ARE and DS set, groups disabled";
    EXPECT_TRUE(v3.write(0, 0x000, 4, 2));
    EXPECT_TRUE(v3.read(0, 0x000, 4, v));
    EXPECT_EQ(v, 0x52u) << "EnableGrp1A";
    EXPECT_TRUE(v3.read(0, 0x004, 4, v));
    EXPECT_EQ(v & 0x1f, 2u) << "ITLinesNumber";
    EXPECT_NE(v & (1u << 25), 0u) << "No1N";
    EXPECT_TRUE(v3.read(0, 0x00c, 4, v));
    EXPECT_EQ(v, 0u) << "GICD_TYPER2: no extensions";
}

TEST_F(VgicDist, CtlrEnableBitOnly)
{
    w32(0x000, 0xffffffff);
    EXPECT_EQ(r32(0x000), 1u);
    EXPECT_TRUE(d.enabled());
}

TEST_F(VgicDist, EnableSetAndClearAreSeparateAndPpisAreBanked)
{
    w32(0x100, 1u << 27, 1); // vCPU 1 enables its timer PPI
    EXPECT_TRUE(d.irq_enabled(1, 27));
    EXPECT_FALSE(d.irq_enabled(0, 27)) << "PPIs are per vCPU";
    EXPECT_EQ(r32(0x100, 1), 0xffffu | 1u << 27) << "SGIs always read as enabled";
    w32(0x180, 0xffffffff, 1);
    EXPECT_EQ(r32(0x100, 1), 0xffffu) << "ICENABLER cannot disable SGIs";
    w32(0x104, 0x5); // SPIs 32 and 34, shared
    EXPECT_TRUE(d.irq_enabled(2, 34));
    w32(0x184, 0x1, 3);
    EXPECT_FALSE(d.irq_enabled(0, 32));
    EXPECT_TRUE(d.irq_enabled(0, 34));
}

TEST_F(VgicDist, PendingAndActive)
{
    w32(0x204, 1u << 3); // SPI 35 pending
    EXPECT_TRUE(d.irq_pending(0, 35));
    w32(0x284, 1u << 3);
    EXPECT_FALSE(d.irq_pending(0, 35));
    d.set_pending(2, 27, true); // the timer fires for vCPU 2
    EXPECT_EQ(r32(0x200, 2), 1u << 27);
    EXPECT_EQ(r32(0x200, 0), 0u);
    w32(0x304, 1u << 1);
    EXPECT_TRUE(d.irq_active(1, 33));
    w32(0x384, 1u << 1);
    EXPECT_FALSE(d.irq_active(1, 33));
    w32(0x200, 0xffff); // SGI bits of ISPENDR0 are ignored
    EXPECT_FALSE(d.irq_pending(0, 3));
}

TEST_F(VgicDist, PriorityByteAndWordAccessKeepsTopFiveBits)
{
    w8(0x400 + 40, 0xff);
    EXPECT_EQ(d.priority(0, 40), 0xf8u);
    w32(0x400 + 44, 0x10203047);
    EXPECT_EQ(r8(0x400 + 44), 0x40u);
    EXPECT_EQ(r8(0x400 + 47), 0x10u);
    EXPECT_EQ(r32(0x400 + 44), 0x10203040u);
    w8(0x400 + 27, 0xa0, 3);
    EXPECT_EQ(d.priority(3, 27), 0xa0u);
    EXPECT_EQ(d.priority(0, 27), 0u) << "private priorities are banked";
}

TEST_F(VgicDist, TargetsOnlyForSpisAndOnlyExistingCpus)
{
    EXPECT_EQ(r8(0x800 + 5, 2), 0x4u) << "private interrupts target the reading vCPU";
    w8(0x800 + 5, 0xff, 2);
    EXPECT_EQ(r8(0x800 + 5, 2), 0x4u) << "read-only";
    w8(0x800 + 40, 0xff);
    EXPECT_EQ(d.targets(40), 0x0fu) << "4 vCPUs: upper bits do not stick";
    w32(0x800 + 44, 0x08040201);
    EXPECT_EQ(d.targets(45), 0x2u);
    EXPECT_EQ(r32(0x800 + 44), 0x08040201u);
}

TEST_F(VgicDist, SgirDeliversWithSourceAndFilters)
{
    w32(0xf00, 0x3u << 16 | 5, 2); // SGI 5 from vCPU 2 to vCPUs 0 and 1
    EXPECT_EQ(d.sgi_sources(0, 5), 1u << 2);
    EXPECT_EQ(d.sgi_sources(1, 5), 1u << 2);
    EXPECT_EQ(d.sgi_sources(2, 5), 0u);
    EXPECT_TRUE(d.irq_pending(1, 5));
    EXPECT_EQ(r32(0x200, 1) & 0xffff, 1u << 5);
    w32(0xf00, 1u << 24 | 7, 0); // all but self
    EXPECT_EQ(d.sgi_sources(0, 7), 0u);
    EXPECT_EQ(d.sgi_sources(3, 7), 1u);
    w32(0xf00, 2u << 24 | 9, 3); // self
    EXPECT_EQ(d.sgi_sources(3, 9), 1u << 3);
    EXPECT_EQ(r8(0xf20 + 9, 3), 1u << 3) << "SPENDSGIR shows sources";
    w8(0xf10 + 9, 1u << 3, 3); // CPENDSGIR clears them
    EXPECT_FALSE(d.irq_pending(3, 9));
    w8(0xf20 + 1, 0xff, 3);
    EXPECT_EQ(d.sgi_sources(3, 1), 0x0fu) << "only existing source vCPUs";
}

// Vgic's GICD_SGIR path calls write_sgir() directly (under its lock).
TEST_F(VgicDist, WriteSgirMakesPendingWhatItReturns)
{
    EXPECT_EQ(d.write_sgir(1, 0x5u << 16 | 3), 0x5u); // SGI 3 from vCPU 1 to vCPUs 0 and 2
    EXPECT_EQ(d.sgi_sources(0, 3), 1u << 1);
    EXPECT_EQ(d.sgi_sources(2, 3), 1u << 1);
    EXPECT_EQ(d.sgi_sources(1, 3), 0u);
    EXPECT_EQ(d.write_sgir(9, 1u << 24 | 4), 0u) << "a vCPU the VM does not have sends nothing";
    EXPECT_EQ(d.sgi_sources(0, 4), 0u);
}

TEST_F(VgicDist, SgirTargetsNameWhomAnSgiReaches)
{
    // What the virtual GIC wakes and kicks for a guest's IPI (4 vCPUs).
    EXPECT_EQ(d.sgir_targets(2, 0x3u << 16 | 5), 0x3u);
    EXPECT_EQ(d.sgir_targets(2, 0xf0u << 16 | 5), 0u) << "targets beyond the VM";
    EXPECT_EQ(d.sgir_targets(0, 1u << 24 | 7), 0xeu) << "all but self";
    EXPECT_EQ(d.sgir_targets(3, 2u << 24 | 9), 0x8u) << "self";
    EXPECT_EQ(d.sgir_targets(1, 3u << 24 | 0xff0000), 0u) << "reserved filter";
}

TEST_F(VgicDist, SgiSourcesAreTakenOneAtATimeAndCanBeReturned)
{
    w32(0xf00, 1u << 16 | 4, 2); // from vCPU 2
    w32(0xf00, 1u << 16 | 4, 3); // from vCPU 3
    EXPECT_EQ(d.take_sgi(0, 4), 2);
    EXPECT_EQ(d.take_sgi(0, 4), 3);
    EXPECT_EQ(d.take_sgi(0, 4), -1);
    d.return_sgi(0, 4, 3); // evicted from a list register undelivered
    EXPECT_EQ(d.sgi_sources(0, 4), 1u << 3);
    d.return_sgi(0, 4, 9); // no such source
    EXPECT_EQ(d.sgi_sources(0, 4), 1u << 3);
}

TEST_F(VgicDist, DeliverableNeedsForwardingPendingEnabledAndTarget)
{
    w32(0x104, 1u << 8); // SPI 40 enabled
    w8(0x800 + 40, 0x2); // targets vCPU 1
    w32(0x204, 1u << 8); // and pending
    EXPECT_FALSE(d.deliverable(1, 40)) << "distributor forwarding is off";
    w32(0x000, 1);
    EXPECT_TRUE(d.deliverable(1, 40));
    EXPECT_FALSE(d.deliverable(0, 40)) << "not a target";
    w32(0x184, 1u << 8);
    EXPECT_FALSE(d.deliverable(1, 40)) << "disabled";
    w32(0xf00, 1u << 16 | 3, 2); // SGI 3 to vCPU 0: always enabled
    EXPECT_TRUE(d.deliverable(0, 3));
}

TEST_F(VgicDist, ConfigKeepsSgisEdgeAndOnlyTheEdgeBit)
{
    EXPECT_EQ(r32(0xc00), 0xaaaaaaaau);
    w32(0xc00, 0);
    EXPECT_EQ(r32(0xc00), 0xaaaaaaaau) << "SGI configuration is fixed";
    w32(0xc08, 0xffffffff);
    EXPECT_EQ(r32(0xc08), 0xaaaaaaaau) << "bit 0 of each field is reserved";
}

TEST_F(VgicDist, OutOfRangeAndBadWidthsAreIgnoredSafely)
{
    w32(0x100 + 4 * 5, 0xffffffff); // ISENABLER5: IRQs 160-191 do not exist
    EXPECT_EQ(r32(0x100 + 4 * 5), 0u);
    EXPECT_FALSE(d.irq_enabled(0, 170));
    w8(0x400 + 200, 0x80);
    EXPECT_EQ(r8(0x400 + 200), 0u);
    d.set_pending(0, 500, true);
    EXPECT_FALSE(d.irq_pending(0, 500));
    uint64_t v = 123;
    EXPECT_TRUE(d.read(0, 0x100, 2, v)) << "halfword accesses never fault";
    EXPECT_EQ(v, 0u);
    EXPECT_TRUE(d.write(0, 0x104, 2, 0xffff));
    EXPECT_FALSE(d.irq_enabled(0, 32)) << "and have no effect";
    EXPECT_TRUE(d.read(7, 0x100, 4, v)) << "a vCPU number beyond the VM";
    EXPECT_EQ(v, 0u);
    EXPECT_TRUE(d.read(0, 0x2000, 4, v));
    EXPECT_TRUE(d.write(0, 0x101, 4, 1)) << "misaligned";
    EXPECT_EQ(r32(0x080), 0u) << "IGROUPR reads as zero";
}

TEST_F(VgicDist, ResetClampsSizes)
{
    d.reset(1000, 20);
    EXPECT_EQ(d.irqs(), VirtualDistributor::kMaxIrqs);
    EXPECT_EQ((r32(0x004) >> 5) & 7, 7u);
    d.reset(40, 1);
    EXPECT_EQ(d.irqs(), 64u) << "rounded up to a multiple of 32";
}

} // namespace

// --- GICv3: distributor with affinity routing, one redistributor per vCPU ---

namespace {

class VgicV3 : public ::testing::Test {
protected:
    void SetUp() override { d.reset(96, 4, 3); }
    uint64_t rd(uint64_t off, unsigned size = 4, uint32_t vcpu = 0)
    {
        uint64_t v = 0xdead;
        EXPECT_TRUE(d.read(vcpu, off, size, v));
        return v;
    }
    void wd(uint64_t off, uint64_t value, unsigned size = 4, uint32_t vcpu = 0)
    {
        EXPECT_TRUE(d.write(vcpu, off, size, value));
    }
    uint64_t rr(uint32_t target, uint64_t off, unsigned size = 4)
    {
        uint64_t v = 0xdead;
        EXPECT_TRUE(d.redist_read(target, off, size, v));
        return v;
    }
    void wr(uint32_t target, uint64_t off, uint64_t value, unsigned size = 4)
    {
        EXPECT_TRUE(d.redist_write(target, off, size, value));
    }
    static constexpr uint64_t kSgi = 0x10000; // SGI_base frame
    VirtualDistributor d;
};

TEST_F(VgicV3, IdentityAndControl)
{
    EXPECT_EQ(d.dist_size(), 0x10000u);
    EXPECT_EQ(rd(0xffe8) >> 4 & 0xf, 3u) << "GICD_PIDR2.ArchRev";
    const uint64_t typer = rd(0x004);
    EXPECT_EQ(typer & 0x1f, 2u) << "ITLinesNumber: 96 interrupts";
    EXPECT_EQ(typer >> 19 & 0x1f, 15u) << "IDbits: 16-bit INTIDs, LPIs included";
    EXPECT_EQ(typer >> 25 & 1, 1u) << "No1N";
    EXPECT_EQ(typer >> 17 & 1, 1u) << "LPIS";
    EXPECT_EQ(typer >> 11 & 0x1f, 9u) << "num_LPIs: 2^10 LPIs";
    wd(0x000, 0xffffffff);
    EXPECT_EQ(rd(0x000), 0x53u) << "EnableGrp0/1 writable; ARE and DS read as one";
    EXPECT_TRUE(d.enabled());
    wd(0x000, 0);
    EXPECT_EQ(rd(0x000), 0x50u);
    EXPECT_FALSE(d.enabled());
    EXPECT_EQ(rd(0x084), 0xffffffffu) << "SPIs are Group 1";
}

TEST_F(VgicV3, PrivateInterruptsLiveInTheRedistributorsOnly)
{
    wd(0x100, 1u << 27); // GICD_ISENABLER0: RAZ/WI with affinity routing
    EXPECT_FALSE(d.irq_enabled(0, 27));
    EXPECT_EQ(rd(0x100), 0u);
    wd(0x400 + 27, 0x80, 1);
    EXPECT_EQ(d.priority(0, 27), 0u);
    wr(2, kSgi + 0x100, 1u << 27); // GICR_ISENABLER0 of vCPU 2
    EXPECT_TRUE(d.irq_enabled(2, 27));
    EXPECT_FALSE(d.irq_enabled(0, 27)) << "banked per redistributor";
    EXPECT_EQ(rr(2, kSgi + 0x100) >> 27 & 1, 1u);
    wr(2, kSgi + 0x400 + 27, 0xa7, 1);
    EXPECT_EQ(d.priority(2, 27), 0xa0) << "five priority bits";
    EXPECT_EQ(rr(2, kSgi + 0x080), 0xffffffffu) << "GICR_IGROUPR0: Group 1";
    EXPECT_EQ(rr(2, kSgi + 0x104), 0u) << "no SPIs in a redistributor";
    wr(1, kSgi + 0xc04, 0xffffffff);
    EXPECT_EQ(rr(1, kSgi + 0xc04), 0xaaaaaaaau) << "PPI edge/level bits";
    wr(1, kSgi + 0xc00, 0);
    EXPECT_EQ(rr(1, kSgi + 0xc00), 0xaaaaaaaau) << "SGI configuration is fixed";
}

TEST_F(VgicV3, RedistributorIdentity)
{
    for (uint32_t v = 0; v < 4; v++) {
        const uint64_t typer = rr(v, 0x8, 8);
        EXPECT_EQ(typer >> 32, v) << "affinity 0.0.0.v";
        EXPECT_EQ(typer >> 8 & 0xffff, v) << "Processor_Number";
        EXPECT_EQ(typer >> 4 & 1, v == 3 ? 1u : 0u) << "Last only on the final redistributor";
        EXPECT_EQ(typer & 1, 1u) << "PLPIS";
        EXPECT_EQ(typer >> 3 & 1, 0u) << "no DirectLPI";
        EXPECT_EQ(rr(v, 0xc), v) << "upper half read alone";
    }
    EXPECT_EQ(rr(0, 0xffe8) >> 4 & 0xf, 3u);
    EXPECT_EQ(rr(4, 0x8, 8), 0u) << "beyond the VM's vCPUs";
}

TEST_F(VgicV3, WakerSleepsAndWakes)
{
    EXPECT_EQ(rr(1, 0x14), 0u);
    wr(1, 0x14, 2);
    EXPECT_EQ(rr(1, 0x14), 6u) << "ProcessorSleep and ChildrenAsleep";
    EXPECT_EQ(rr(0, 0x14), 0u);
    wr(1, 0x14, 0);
    EXPECT_EQ(rr(1, 0x14), 0u);
}

TEST_F(VgicV3, IrouterRoutesSpisToOneVcpu)
{
    EXPECT_EQ(d.targets(40), 1u) << "reset: vCPU 0";
    wd(0x6000 + 8 * 40, 2, 8);
    EXPECT_EQ(rd(0x6000 + 8 * 40, 8), 2u);
    EXPECT_EQ(d.targets(40), 1u << 2);
    wd(0x000, 2);       // EnableGrp1
    wd(0x104, 1u << 8); // enable SPI 40
    d.set_pending(0, 40, true);
    EXPECT_TRUE(d.deliverable(2, 40));
    EXPECT_FALSE(d.deliverable(0, 40));
    wd(0x6000 + 8 * 40, 1u << 8, 8); // affinity 0.0.1.0: no such vCPU
    EXPECT_EQ(d.targets(40), 0u);
    EXPECT_FALSE(d.deliverable(2, 40));
    wd(0x6000 + 8 * 40, 1ull << 32, 8); // affinity 1.0.0.0
    wd(0x6000 + 8 * 40, 3, 4);          // low word alone
    EXPECT_EQ(d.targets(40), 0u) << "Aff3 is still set";
    wd(0x6000 + 8 * 40 + 4, 0, 4);
    wd(0x6000 + 8 * 40, 3, 4);
    EXPECT_EQ(d.targets(40), 1u << 3);
    wd(0x6000 + 8 * 5, 1, 8); // a private interrupt has no route
    EXPECT_EQ(rd(0x6000 + 8 * 5, 8), 0u);
    wd(0x6000 + 8 * 200, 1, 8); // beyond the implemented SPIs
    EXPECT_EQ(rd(0x6000 + 8 * 200, 8), 0u);
    EXPECT_EQ(rd(0x800 + 40, 1), 0u) << "no GICD_ITARGETSR";
}

TEST_F(VgicV3, Sgi1rTargetsAloneMakeNothingPending)
{
    // A direct VM's SGIs go to the hardware (kernel/devices/gic/direct.cpp): the targets, no model state.
    EXPECT_EQ(d.sgi1r_targets(0, 5ull << 24 | 0b1010), 0b1010u);
    EXPECT_EQ(d.sgi1r_targets(2, 7ull << 24 | 1ull << 40), 0b1011u);
    EXPECT_EQ(d.sgi1r_targets(0, 6ull << 24 | 1ull << 16 | 1), 0u);
    EXPECT_EQ(d.sgi1r_targets(9, 5ull << 24 | 1), 0u) << "a sender beyond the VM";
    for (uint32_t v = 0; v < 4; v++) {
        EXPECT_FALSE(d.irq_pending(v, 5));
        EXPECT_FALSE(d.irq_pending(v, 7));
    }
}

TEST_F(VgicV3, Sgi1rTargetsListRangeAndAllButSelf)
{
    EXPECT_EQ(d.write_sgi1r(0, 5ull << 24 | 0b1010), 0b1010u); // SGI 5 to vCPUs 1 and 3
    EXPECT_TRUE(d.irq_pending(1, 5));
    EXPECT_TRUE(d.irq_pending(3, 5));
    EXPECT_FALSE(d.irq_pending(2, 5));
    EXPECT_EQ(d.write_sgi1r(0, 6ull << 24 | 1ull << 16 | 1), 0u); // Aff1 = 1: no vCPU there
    EXPECT_EQ(d.write_sgi1r(0, 6ull << 24 | 1ull << 44 | 1), 0u); // RS = 1: vCPUs 16-31
    for (uint32_t v = 0; v < 4; v++) {
        EXPECT_FALSE(d.irq_pending(v, 6));
    }
    EXPECT_EQ(d.write_sgi1r(2, 7ull << 24 | 1ull << 40), 0b1011u); // IRM: all but self
    EXPECT_TRUE(d.irq_pending(0, 7));
    EXPECT_TRUE(d.irq_pending(1, 7));
    EXPECT_FALSE(d.irq_pending(2, 7));
    EXPECT_TRUE(d.irq_pending(3, 7));
    EXPECT_EQ(d.write_sgi1r(0, 8ull << 24 | 0xfff0), 0u); // targets beyond the VM only
    EXPECT_FALSE(d.irq_pending(0, 8));
    wr(1, kSgi + 0x280, 1u << 5); // GICR_ICPENDR0 clears an SGI
    EXPECT_FALSE(d.irq_pending(1, 5));
    wr(2, kSgi + 0x200, 1u << 9); // GICR_ISPENDR0 sets one
    EXPECT_TRUE(d.irq_pending(2, 9));
    EXPECT_EQ(rr(2, kSgi + 0x200) >> 9 & 1, 1u);
}

TEST(VgicV3Sixteen, SixteenVcpusAreRoutedAndSignalledOneByOne)
{
    VirtualDistributor d;
    d.reset(96, 16, 3);
    uint64_t v = 0;
    EXPECT_TRUE(d.redist_read(15, 0x008, 8, v)); // GICR_TYPER of the last vCPU
    EXPECT_EQ(v >> 32, 15u) << "affinity 0.0.0.15";
    EXPECT_TRUE(v & (1u << 4)) << "Last";
    EXPECT_TRUE(d.read(0, 0x004, 4, v));
    EXPECT_EQ((v >> 5) & 7, 7u) << "CPUNumber saturates at 8 PEs";
    d.write_sgi1r(3, 1ull << 24 | 1u << 15 | 1u << 12); // SGI 1 to vCPUs 12 and 15
    for (uint32_t t = 0; t < 16; t++) {
        EXPECT_EQ(d.irq_pending(t, 1), t == 12 || t == 15) << "vCPU " << t;
    }
    EXPECT_EQ(d.take_sgi(15, 1), 3) << "from vCPU 3";
    d.write_sgi1r(15, 2ull << 24 | 1ull << 40); // IRM from vCPU 15: everyone else
    for (uint32_t t = 0; t < 16; t++) {
        EXPECT_EQ(d.irq_pending(t, 2), t != 15) << "vCPU " << t;
    }
    EXPECT_TRUE(d.write(0, 0x6000 + 8 * 40, 8, 13)); // route SPI 40 to vCPU 13
    EXPECT_EQ(d.targets(40), 1u << 13);
    EXPECT_TRUE(d.write(0, 0x000, 4, 2));       // EnableGrp1
    EXPECT_TRUE(d.write(0, 0x104, 4, 1u << 8)); // enable SPI 40
    d.set_pending(0, 40, true);
    EXPECT_TRUE(d.deliverable(13, 40));
    EXPECT_FALSE(d.deliverable(0, 40));
}

TEST(VgicV2Cap, AGicv2DistributorServesAtMostEightVcpus)
{
    VirtualDistributor d;
    d.reset(64, 16, 2);
    uint64_t v = 0;
    EXPECT_TRUE(d.read(0, 0x004, 4, v));
    EXPECT_EQ((v >> 5) & 7, 7u) << "8 CPU interfaces";
    EXPECT_TRUE(d.write(0, 0x800 + 40, 1, 0xff)); // ITARGETSR: every CPU
    EXPECT_EQ(d.targets(40), 0xffu) << "CPUs 0-7 only";
}

TEST_F(VgicV3, Gicv2OnlyRegistersAreAbsent)
{
    wd(0xf00, 0x00020001); // GICD_SGIR
    EXPECT_FALSE(d.irq_pending(1, 1));
    wd(0xf20, 0xff, 1); // SPENDSGIR
    EXPECT_FALSE(d.irq_pending(0, 0));
    EXPECT_EQ(rd(0xfe8), 0u) << "no GICv2 ICPIDR2";
    VirtualDistributor v2;
    v2.reset(64, 2);
    v2.write_sgi1r(0, 1ull << 24 | 2);
    EXPECT_FALSE(v2.irq_pending(1, 1)) << "a GICv2 model ignores ICC_SGI1R";
    uint64_t v = 1;
    EXPECT_TRUE(v2.redist_read(0, 0x8, 8, v));
    EXPECT_EQ(v, 0u) << "nor has redistributors";
}

} // namespace

namespace {

TEST(VgicDeliverableMask, PendingEnabledAndTargetedPer32Interrupts)
{
    VirtualDistributor d;
    d.reset(96, 3, 3);
    d.write(0, 0x000, 4, 2);           // EnableGrp1
    d.write(0, 0x104, 4, 0x0000ff0f);  // SPIs 32-35, 40-47 enabled
    d.write(0, 0x6000 + 8 * 33, 8, 1); // SPI 33 to vCPU 1
    d.write(0, 0x6000 + 8 * 41, 8, 2); // SPI 41 to vCPU 2; the others stay with vCPU 0
    for (uint32_t irq = 32; irq < 96; irq += 3) {
        d.set_pending(0, irq, true); // 32, 35, 38, 41, 44, 47, ...
    }
    d.set_pending(0, 33, true);
    d.redist_write(1, 0x10100, 4, 1u << 27); // vCPU 1's timer PPI enabled
    d.set_pending(1, 27, true);
    d.set_pending(2, 27, true);           // pending but not enabled at vCPU 2
    d.write_sgi1r(0, 5ull << 24 | 0b110); // SGI 5 to vCPUs 1 and 2
    EXPECT_EQ(d.deliverable_mask(0, 0), 0u);
    EXPECT_EQ(d.deliverable_mask(1, 0), 1u << 27 | 1u << 5);
    EXPECT_EQ(d.deliverable_mask(2, 0), 1u << 5) << "PPI 27 is not enabled at vCPU 2";
    EXPECT_EQ(d.deliverable_mask(0, 1), 1u << 0 | 1u << 3 | 1u << 12 | 1u << 15) << "SPIs 32, 35, 44, 47";
    EXPECT_EQ(d.deliverable_mask(1, 1), 1u << 1) << "SPI 33 only";
    EXPECT_EQ(d.deliverable_mask(2, 1), 1u << 9) << "SPI 41 only";
    for (uint32_t v = 0; v < 3; v++) {
        EXPECT_EQ(d.deliverable_mask(v, 2), 0u) << "SPIs 64-95 are pending but disabled";
    }
    EXPECT_EQ(d.deliverable_mask(0, 3), 0u) << "beyond the implemented interrupts";
    EXPECT_TRUE(d.deliverable(2, 41));
    EXPECT_FALSE(d.deliverable(0, 41));
    d.write(0, 0x000, 4, 0);
    EXPECT_EQ(d.deliverable_mask(1, 0), 0u) << "distributor off";
}

} // namespace

TEST(VgicV3Sixteen, RedistributorSetPendingKeepsHighVcpuSources)
{
    // GICR_ISPENDR0 of vCPU 12 makes its SGIs pending with itself as the
    // source; sources above vCPU 7 once fell out of an 8-bit truncation.
    VirtualDistributor d;
    d.reset(64, 16, 3);
    EXPECT_TRUE(d.write(0, 0, 4, 2)); // GICD_CTLR: EnableGrp1
    EXPECT_TRUE(d.redist_write(12, 0x10000 + 0x200, 4, 1u << 3));
    EXPECT_EQ(d.sgi_sources(12, 3), 1u << 12);
    EXPECT_TRUE(d.irq_pending(12, 3));
    EXPECT_EQ(d.deliverable_mask(12, 0) & 0xffff, 1u << 3);
    EXPECT_EQ(d.take_sgi(12, 3), 12);
    EXPECT_EQ(d.deliverable_mask(12, 0) & 0xffff, 0u) << "the last source taken";
    EXPECT_FALSE(d.irq_pending(12, 3));
}
