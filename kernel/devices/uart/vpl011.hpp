// A virtual PL011 UART (Arm DDI 0183): the registers Linux's amba-pl011
// driver uses, PrimeCell identification, a 32-byte receive FIFO and the
// interrupt status. Transmitted bytes go to a sink (the VM's console line);
// the transmitter never fills. Pure logic, host-tested.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/devices/mmio/mmio_bus.hpp"

class VirtualPl011 final : public MmioDevice {
public:
    static constexpr uint64_t kSize = 0x1000;
    static constexpr size_t kFifo = 32;

    // Interrupt bits (RIS, MIS, IMSC, ICR).
    static constexpr uint32_t kRx = 1u << 4;
    static constexpr uint32_t kTx = 1u << 5;
    static constexpr uint32_t kRxTimeout = 1u << 6;

    using Sink = void (*)(void* context, char c);
    using LineChanged = void (*)(void* context, bool level);

    constexpr VirtualPl011() = default;
    /// Where transmitted bytes go, and who hears the interrupt line change.
    void connect(Sink sink, LineChanged line, void* context)
    {
        sink_ = sink;
        line_changed_ = line;
        context_ = context;
    }
    void reset();

    bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) override;
    bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value) override;
    const char* name() const override { return "the virtual PL011"; }
    const char* refusal(uint64_t, unsigned, bool) const override
    {
        return "its registers take aligned accesses of at most 4 bytes";
    }

    /// A byte typed for this VM; false if the receive FIFO is full.
    bool receive(uint8_t byte);
    /// The level of the UART's interrupt line (MIS non-zero).
    bool irq_line() const { return (ris_ & imsc_) != 0; }
    uint32_t raw_status() const { return ris_; }

private:
    void update_line();

    Sink sink_ = nullptr;
    LineChanged line_changed_ = nullptr;
    void* context_ = nullptr;
    bool line_ = false;
    uint8_t fifo_[kFifo] = {};
    size_t head_ = 0;
    size_t count_ = 0;
    uint32_t ris_ = kTx; // the transmitter is empty
    uint32_t imsc_ = 0;
    uint32_t cr_ = 0x300; // TXE, RXE
    uint32_t lcr_h_ = 0;
    uint32_t ibrd_ = 0;
    uint32_t fbrd_ = 0;
    uint32_t ifls_ = 0x12;
    uint32_t dmacr_ = 0;
    uint32_t ilpr_ = 0;
};
