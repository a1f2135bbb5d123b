// The virtual GICv2 distributor's register model, as a guest sees it.
#include <gtest/gtest.h>

#include "kernel/dev/vgic_dist.hpp"

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
