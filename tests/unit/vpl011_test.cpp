// The virtual PL011 as amba-pl011 sees it.
#include <gtest/gtest.h>
#include <string>
#include <vector>

#include "kernel/devices/uart/vpl011.hpp"

namespace {

class Vpl011 : public ::testing::Test {
protected:
    void SetUp() override
    {
        uart.connect([](void* ctx, char c) { static_cast<Vpl011*>(ctx)->out.push_back(c); },
                     [](void* ctx, bool level) { static_cast<Vpl011*>(ctx)->edges.push_back(level); }, this);
    }
    uint32_t r(uint64_t off)
    {
        uint64_t v = 0;
        EXPECT_TRUE(uart.read(0, off, 4, v));
        return static_cast<uint32_t>(v);
    }
    void w(uint64_t off, uint32_t v) { EXPECT_TRUE(uart.write(0, off, 4, v)); }
    VirtualPl011 uart;
    std::string out;
    std::vector<bool> edges;
};

TEST_F(Vpl011, PrimeCellIdentification)
{
    EXPECT_EQ(r(0xfe0), 0x11u);
    EXPECT_EQ(r(0xfe4), 0x10u);
    EXPECT_EQ(r(0xfe8) & 0xf, 0x4u) << "designer Arm, part 0x011";
    EXPECT_EQ(r(0xff0), 0x0du);
    EXPECT_EQ(r(0xff4), 0xf0u);
    EXPECT_EQ(r(0xff8), 0x05u);
    EXPECT_EQ(r(0xffc), 0xb1u);
}

TEST_F(Vpl011, TransmitGoesToTheSinkAndNeverFills)
{
    for (char c : std::string("hello\n")) {
        EXPECT_EQ(r(0x018) & (1u << 5), 0u) << "TXFF never set";
        w(0x000, static_cast<uint8_t>(c));
    }
    EXPECT_EQ(out, "hello\n");
    EXPECT_NE(r(0x018) & (1u << 7), 0u) << "TXFE";
}

TEST_F(Vpl011, ReceiveFifoOrderFlagsAndOverflow)
{
    EXPECT_NE(r(0x018) & (1u << 4), 0u) << "RXFE when empty";
    EXPECT_TRUE(uart.receive('a'));
    EXPECT_TRUE(uart.receive('b'));
    EXPECT_EQ(r(0x018) & (1u << 4), 0u);
    EXPECT_EQ(r(0x000), static_cast<uint32_t>('a'));
    EXPECT_EQ(r(0x000), static_cast<uint32_t>('b'));
    EXPECT_EQ(r(0x000), 0u) << "empty FIFO reads as zero";
    for (size_t i = 0; i < VirtualPl011::kFifo; i++) {
        EXPECT_TRUE(uart.receive(static_cast<uint8_t>(i)));
    }
    EXPECT_FALSE(uart.receive('x')) << "full";
    EXPECT_NE(r(0x018) & (1u << 6), 0u) << "RXFF";
}

TEST_F(Vpl011, InterruptsFollowMaskAndClear)
{
    EXPECT_FALSE(uart.irq_line()) << "all masked after reset";
    w(0x038, VirtualPl011::kRx | VirtualPl011::kRxTimeout);
    EXPECT_FALSE(uart.irq_line());
    uart.receive('z');
    EXPECT_TRUE(uart.irq_line());
    EXPECT_EQ(r(0x040), VirtualPl011::kRx | VirtualPl011::kRxTimeout) << "MIS";
    (void)r(0x000); // draining the FIFO drops the receive interrupts
    EXPECT_FALSE(uart.irq_line());
    w(0x038, VirtualPl011::kTx);
    EXPECT_TRUE(uart.irq_line()) << "transmitter empty";
    w(0x044, VirtualPl011::kTx);
    EXPECT_FALSE(uart.irq_line()) << "cleared by ICR";
    w(0x000, 'q');
    EXPECT_TRUE(uart.irq_line()) << "raised again once the byte is sent";
}

TEST_F(Vpl011, LineChangesAreReportedOnce)
{
    w(0x038, VirtualPl011::kRx);
    uart.receive('1');
    uart.receive('2');
    (void)r(0x000);
    (void)r(0x000);
    ASSERT_EQ(edges.size(), 2u) << "up on the first byte, down when drained";
    EXPECT_TRUE(edges[0]);
    EXPECT_FALSE(edges[1]);
}

TEST_F(Vpl011, ControlRegistersKeepTheirImplementedBits)
{
    EXPECT_EQ(r(0x030), 0x300u) << "CR reset: TXE, RXE";
    w(0x030, 0xffffffff);
    EXPECT_EQ(r(0x030), 0xff87u);
    w(0x02c, 0x1ff);
    EXPECT_EQ(r(0x02c), 0xffu);
    w(0x024, 0x12345);
    EXPECT_EQ(r(0x024), 0x2345u);
    w(0x028, 0xff);
    EXPECT_EQ(r(0x028), 0x3fu);
}

TEST_F(Vpl011, BadAccessesFaultOrAreIgnored)
{
    uint64_t v = 0;
    EXPECT_FALSE(uart.read(0, 0x002, 2, v)) << "misaligned";
    EXPECT_FALSE(uart.write(0, 0x000, 8, 'x')) << "64-bit";
    EXPECT_TRUE(uart.read(0, 0x800, 4, v)) << "reserved: zero";
    EXPECT_EQ(v, 0u);
    w(0x018, 0xffffffff); // FR is read-only
    EXPECT_EQ(r(0x018) & (1u << 5), 0u);
}

TEST_F(Vpl011, ResetKeepsTheSink)
{
    uart.receive('a');
    uart.reset();
    EXPECT_NE(r(0x018) & (1u << 4), 0u);
    w(0x000, 'k');
    EXPECT_EQ(out, "k");
}

} // namespace
