// Physical console UARTs, described as data: a kind plus the register layout
// the device tree gives (reg-shift, reg-io-width). The firmware or
// bootloader has set the baud rate; Vireo keeps it.
#pragma once

#include <stdint.h>

enum class UartKind : uint8_t {
    None,
    Pl011,  // arm,pl011 (QEMU virt, Raspberry Pi 4)
    Ns16550 // ns16550a, snps,dw-apb-uart, brcm,bcm2835-aux-uart (8250 family)
};

struct UartDesc {
    UartKind kind = UartKind::None;
    uint64_t base = 0;
    uint8_t reg_shift = 0; // register n is at base + (n << reg_shift)
    uint8_t io_width = 1;  // bytes per register access: 1 or 4
    uint32_t intid = 0;    // its GIC interrupt (an SPI, 32 and up); 0 if the DTB gives none
};

const char* uart_kind_name(UartKind kind);

/// Where the console's description came from (platform/early_fdt.hpp).
enum class ConsoleSource : uint8_t {
    None,        // the DTB names no UART Vireo can drive: Vireo writes nothing
    StdoutPath,  // /chosen/stdout-path (or linux,stdout-path)
    Earlycon,    // earlycon=NAME,[mmio|mmio32,]ADDRESS in /chosen/bootargs
    FirstSerial, // the first enabled node with a UART compatible, in DT order
};

const char* console_source_name(ConsoleSource source);

/// Register-level driver. Bus access goes through the two function pointers
/// so host tests can run the driver against fake registers.
class Uart {
public:
    using Read = uint32_t (*)(uintptr_t addr, uint8_t width);
    using Write = void (*)(uintptr_t addr, uint8_t width, uint32_t value);

    void attach(const UartDesc& desc);
    void attach(const UartDesc& desc, Read read, Write write);
    const UartDesc& desc() const { return desc_; }
    bool present() const { return desc_.kind != UartKind::None; }

    /// Writes one byte, waiting while the transmit FIFO is full.
    void put(char c);
    /// A received byte, or -1 when none is waiting.
    int get();
    /// Raises the UART's interrupt while received data waits (or not).
    void enable_rx_interrupt(bool on);

private:
    uintptr_t reg(unsigned index) const;

    UartDesc desc_;
    Read read_ = nullptr;
    Write write_ = nullptr;
};
