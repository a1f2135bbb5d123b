// UART drivers against fake registers: the right register, width and
// polling for each kind the device tree can name.
#include <gtest/gtest.h>
#include <map>
#include <vector>

#include "platform/psci.hpp"
#include "platform/uart.hpp"

namespace {

struct Access {
    uintptr_t addr;
    uint8_t width;
    uint32_t value;
};

std::vector<Access> writes;
std::map<uintptr_t, std::vector<uint32_t>> read_script; // successive values per address
std::vector<Access> reads;

uint32_t fake_read(uintptr_t addr, uint8_t width)
{
    reads.push_back({addr, width, 0});
    auto& values = read_script[addr];
    if (values.empty()) {
        return 0;
    }
    const uint32_t value = values.front();
    if (values.size() > 1) {
        values.erase(values.begin());
    }
    return value;
}

void fake_write(uintptr_t addr, uint8_t width, uint32_t value) { writes.push_back({addr, width, value}); }

class UartTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        writes.clear();
        reads.clear();
        read_script.clear();
    }
};

TEST_F(UartTest, Pl011ReceivesOnlyWhenTheFifoHoldsData)
{
    Uart uart;
    uart.attach({UartKind::Pl011, 0x9000000, 2, 4}, fake_read, fake_write);
    read_script[0x9000018] = {1u << 4, 0};  // RXFE, then data
    read_script[0x9000000] = {0x100 | 'x'}; // an error flag above the byte
    EXPECT_EQ(uart.get(), -1);
    EXPECT_EQ(uart.get(), 'x');
    read_script[0x9000038] = {0x20};
    uart.enable_rx_interrupt(true);
    ASSERT_EQ(writes.size(), 1u);
    EXPECT_EQ(writes[0].addr, 0x9000038u) << "UARTIMSC";
    EXPECT_EQ(writes[0].value, 0x20u | 0x10u | 0x40u) << "RXIM and RTIM added, others kept";
}

TEST_F(UartTest, Ns16550ReceivesThroughLineStatusAndEnablesRxInterrupt)
{
    Uart uart;
    uart.attach({UartKind::Ns16550, 0xfe215040, 2, 4}, fake_read, fake_write);
    read_script[0xfe215040 + (5 << 2)] = {0, 1}; // LSR: nothing, then data ready
    read_script[0xfe215040] = {'q'};
    EXPECT_EQ(uart.get(), -1);
    EXPECT_EQ(uart.get(), 'q');
    uart.enable_rx_interrupt(true);
    ASSERT_EQ(writes.size(), 1u);
    EXPECT_EQ(writes[0].addr, 0xfe215040u + (1 << 2)) << "IER";
    EXPECT_EQ(writes[0].value, 1u);
}

TEST_F(UartTest, Pl011WaitsWhileTransmitFifoIsFullThenWritesData)
{
    Uart uart;
    uart.attach({UartKind::Pl011, 0x9000000, 2, 4}, fake_read, fake_write);
    read_script[0x9000018] = {1u << 5, 1u << 5, 0}; // TXFF twice, then room
    uart.put('A');
    ASSERT_EQ(writes.size(), 1u);
    EXPECT_EQ(writes[0].addr, 0x9000000u);
    EXPECT_EQ(writes[0].width, 4u);
    EXPECT_EQ(writes[0].value, 'A');
    EXPECT_EQ(reads.size(), 3u);
}

TEST_F(UartTest, DwApbUartUsesRegShiftAndIoWidth)
{
    Uart uart;
    uart.attach({UartKind::Ns16550, 0xfeb50000, 2, 4}, fake_read, fake_write);
    read_script[0xfeb50000 + (5 << 2)] = {0, 1u << 5}; // LSR: busy, then THR empty
    uart.put('x');
    ASSERT_EQ(writes.size(), 1u);
    EXPECT_EQ(writes[0].addr, 0xfeb50000u);
    EXPECT_EQ(writes[0].width, 4u);
    EXPECT_EQ(reads.size(), 2u);
    EXPECT_EQ(reads[0].addr, 0xfeb50014u);
}

TEST_F(UartTest, Ns16550WithByteRegisters)
{
    Uart uart;
    uart.attach({UartKind::Ns16550, 0x1000, 0, 1}, fake_read, fake_write);
    read_script[0x1005] = {1u << 5};
    uart.put('z');
    ASSERT_EQ(writes.size(), 1u);
    EXPECT_EQ(writes[0].addr, 0x1000u);
    EXPECT_EQ(writes[0].width, 1u);
    EXPECT_EQ(reads[0].addr, 0x1005u);
}

TEST_F(UartTest, StuckUartDoesNotHangForever)
{
    Uart uart;
    uart.attach({UartKind::Pl011, 0x9000000, 2, 4}, fake_read, fake_write);
    read_script[0x9000018] = {1u << 5}; // always full
    uart.put('A');
    EXPECT_EQ(writes.size(), 1u) << "gives up polling after a bound and writes anyway";
}

TEST_F(UartTest, NoUartWritesNothing)
{
    Uart uart;
    uart.attach({}, fake_read, fake_write);
    EXPECT_FALSE(uart.present());
    uart.put('A');
    EXPECT_TRUE(writes.empty());
}

TEST(UartKindName, NamesEveryKind)
{
    EXPECT_STREQ(uart_kind_name(UartKind::Pl011), "pl011");
    EXPECT_STREQ(uart_kind_name(UartKind::Ns16550), "ns16550");
    EXPECT_STREQ(uart_kind_name(UartKind::None), "none");
}

TEST(PsciErrorName, NamesTheArchitecturalCodes)
{
    EXPECT_STREQ(psci::error_name(psci::kAlreadyOn), "ALREADY_ON");
    EXPECT_STREQ(psci::error_name(psci::kInvalidParameters), "INVALID_PARAMETERS");
    EXPECT_STREQ(psci::error_name(-9), "INVALID_ADDRESS");
    EXPECT_STREQ(psci::error_name(-42), "unknown");
}

} // namespace
