// One VM's console: its virtual PL011 as the VM's bus sees it, the bytes
// typed for it that wait for room in the PL011's receive FIFO, and its
// output on the shared terminal. With one VM the output goes straight
// through, escape sequences included (full-screen programs work); with
// several, a whole line at a time prefixed with the VM's name, control
// characters neutralised (flush() shows an unfinished line, e.g. a prompt,
// of the VM that has the input).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/base/spinlock.hpp"
#include "kernel/devices/mmio/mmio_bus.hpp"
#include "kernel/devices/uart/vpl011.hpp"

class VmConsole final : public MmioDevice {
public:
    static constexpr size_t kInputBuffer = 4096; // typed bytes waiting for the guest (a pasted block fits)
    static constexpr size_t kLine = 200;         // a longer line is shown in pieces

    /// Whether several VMs share the terminal (their lines get prefixes).
    static void set_shared(bool shared);

    /// Names the VM for prefixes and connects the PL011's interrupt line.
    void init(const char* name, VirtualPl011::LineChanged irq_line, void* context);
    /// The VM restarts: the PL011 back to reset, typed bytes dropped.
    void reset();

    /// Guest output (the console hypercall or the PL011's transmitter).
    void output(const char* text, size_t length);
    /// Prints the unfinished line, if any and if this console has the
    /// input (a vCPU went idle: it may wait for input after a prompt).
    void flush();
    /// The bytes of the unfinished line flush() would show (several VMs):
    /// while not zero, the VM's vCPUs go through Vireo when they idle.
    const size_t* unfinished() const { return &line_used_; }
    /// A byte typed on the terminal for this VM.
    void type(uint8_t byte);

    // The PL011's registers, under the console's lock.
    bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) override;
    bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value) override;
    const char* name() const override { return uart_.name(); }
    const char* refusal(uint64_t offset, unsigned size, bool write) const override
    {
        return uart_.refusal(offset, size, write);
    }

private:
    void emit_line(bool complete);
    void feed_uart(); // typed bytes into the PL011's FIFO; lock_ held

    const char* name_ = "";
    VirtualPl011::LineChanged irq_line_ = nullptr;
    void* irq_context_ = nullptr;
    VirtualPl011 uart_;
    SpinLock lock_; // the PL011 and the typed bytes
    uint8_t input_[kInputBuffer] = {};
    size_t input_head_ = 0;
    size_t input_count_ = 0;
    char line_[kLine] = {}; // output not yet printed (several VMs)
    size_t line_used_ = 0;
};
