#include "platform/uart.hpp"

#include "platform/mmio.hpp"

namespace {

// PL011 (Arm PrimeCell UART TRM, DDI 0183): data at 0x00, flags at 0x18.
constexpr unsigned kPl011Dr = 0x00;
constexpr unsigned kPl011Fr = 0x18;
constexpr uint32_t kPl011FrTxFull = 1u << 5;
constexpr uint32_t kPl011FrRxEmpty = 1u << 4;
constexpr unsigned kPl011Imsc = 0x38;
constexpr uint32_t kPl011RxInterrupts = (1u << 4) | (1u << 6); // RXIM, RTIM (receive timeout)

// 8250/16550: transmit holding register 0, line status register 5.
constexpr unsigned kNs16550Thr = 0;
constexpr unsigned kNs16550Lsr = 5;
constexpr uint32_t kNs16550LsrThrEmpty = 1u << 5;
constexpr uint32_t kNs16550LsrDataReady = 1u << 0;
constexpr unsigned kNs16550Ier = 1;
constexpr uint32_t kNs16550IerRx = 1u << 0;

// Bound on polling a stuck UART, so a dead console cannot hang a CPU.
constexpr unsigned kMaxPolls = 1u << 20;

uint32_t bus_read(uintptr_t addr, uint8_t width)
{
    return width == 4 ? mmio::read<uint32_t>(addr) : mmio::read<uint8_t>(addr);
}

void bus_write(uintptr_t addr, uint8_t width, uint32_t value)
{
    if (width == 4) {
        mmio::write<uint32_t>(addr, value);
    } else {
        mmio::write<uint8_t>(addr, static_cast<uint8_t>(value));
    }
}

} // namespace

const char* uart_kind_name(UartKind kind)
{
    switch (kind) {
    case UartKind::Pl011: return "pl011";
    case UartKind::Ns16550: return "ns16550";
    case UartKind::None: break;
    }
    return "none";
}

const char* console_source_name(ConsoleSource source)
{
    switch (source) {
    case ConsoleSource::StdoutPath: return "/chosen/stdout-path";
    case ConsoleSource::Earlycon: return "earlycon in /chosen/bootargs";
    case ConsoleSource::FirstSerial: return "the first serial node";
    case ConsoleSource::None: break;
    }
    return "none";
}

void Uart::attach(const UartDesc& desc) { attach(desc, bus_read, bus_write); }

void Uart::attach(const UartDesc& desc, Read read, Write write)
{
    desc_ = desc;
    read_ = read;
    write_ = write;
}

uintptr_t Uart::reg(unsigned index) const { return desc_.base + (uintptr_t{index} << desc_.reg_shift); }

void Uart::put(char c)
{
    const auto byte = static_cast<uint8_t>(c);
    switch (desc_.kind) {
    case UartKind::Pl011:
        // PL011 registers sit at fixed offsets and take 32-bit transfers.
        for (unsigned i = 0; i < kMaxPolls && (read_(desc_.base + kPl011Fr, 4) & kPl011FrTxFull); i++) {
        }
        write_(desc_.base + kPl011Dr, 4, byte);
        break;
    case UartKind::Ns16550:
        for (unsigned i = 0; i < kMaxPolls && !(read_(reg(kNs16550Lsr), desc_.io_width) & kNs16550LsrThrEmpty); i++) {
        }
        write_(reg(kNs16550Thr), desc_.io_width, byte);
        break;
    case UartKind::None: break;
    }
}

int Uart::get()
{
    switch (desc_.kind) {
    case UartKind::Pl011:
        if (read_(desc_.base + kPl011Fr, 4) & kPl011FrRxEmpty) {
            return -1;
        }
        return static_cast<int>(read_(desc_.base + kPl011Dr, 4) & 0xff);
    case UartKind::Ns16550:
        if (!(read_(reg(kNs16550Lsr), desc_.io_width) & kNs16550LsrDataReady)) {
            return -1;
        }
        return static_cast<int>(read_(reg(kNs16550Thr), desc_.io_width) & 0xff); // RBR shares THR's offset
    case UartKind::None: break;
    }
    return -1;
}

void Uart::enable_rx_interrupt(bool on)
{
    switch (desc_.kind) {
    case UartKind::Pl011: {
        const uint32_t imsc = read_(desc_.base + kPl011Imsc, 4);
        write_(desc_.base + kPl011Imsc, 4, on ? imsc | kPl011RxInterrupts : imsc & ~kPl011RxInterrupts);
        break;
    }
    case UartKind::Ns16550: {
        const uint32_t ier = read_(reg(kNs16550Ier), desc_.io_width);
        write_(reg(kNs16550Ier), desc_.io_width, on ? ier | kNs16550IerRx : ier & ~kNs16550IerRx);
        break;
    }
    case UartKind::None: break;
    }
}
