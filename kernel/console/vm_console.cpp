#include "kernel/console/vm_console.hpp"

#include "kernel/console/console.hpp"
#include "kernel/console/input.hpp"

namespace {

constinit bool shared_terminal = false;
constinit SpinLock output_lock; // the VMs' unprinted lines

} // namespace

void VmConsole::set_shared(bool shared) { shared_terminal = shared; }

void VmConsole::init(const char* name, VirtualPl011::LineChanged irq_line, void* context)
{
    name_ = name;
    irq_line_ = irq_line;
    irq_context_ = context;
    uart_.connect([](void* self, char c) { static_cast<VmConsole*>(self)->output(&c, 1); },
                  [](void* self, bool level) {
                      const VmConsole& console = *static_cast<VmConsole*>(self);
                      if (console.irq_line_ != nullptr) {
                          console.irq_line_(console.irq_context_, level);
                      }
                  },
                  this);
}

void VmConsole::reset()
{
    LockGuard guard(lock_);
    uart_.reset();
    input_count_ = 0;
}

void VmConsole::output(const char* text, size_t length)
{
    if (!shared_terminal) {
        console::write(this, text, length);
        return;
    }
    // Several VMs share the terminal: nothing a guest prints may pass for
    // another VM's line or for Vireo's. Control characters other than tab
    // and backspace are shown in caret notation (ESC as "^["), carriage
    // returns are dropped, and backspaces never reach into the prefix.
    LockGuard guard(output_lock);
    for (size_t i = 0; i < length; i++) {
        const auto c = static_cast<uint8_t>(text[i]);
        if (c == '\n') {
            emit_line(true);
            continue;
        }
        if (c == '\r') {
            continue;
        }
        const bool caret = (c < 0x20 && c != '\t' && c != '\b') || c == 0x7f;
        if (line_used_ + (caret ? 2 : 1) > sizeof line_ - 1) {
            emit_line(false);
        }
        if (caret) {
            line_[line_used_++] = '^';
            line_[line_used_++] = static_cast<char>(c ^ 0x40);
        } else {
            line_[line_used_++] = static_cast<char>(c);
        }
    }
}

void VmConsole::flush()
{
    // Only the console with the input shows unfinished lines (its prompt):
    // the others' lines stay whole, however their bytes interleave.
    if (line_used_ == 0 || !console_input::has_focus(*this)) {
        return;
    }
    LockGuard guard(output_lock);
    if (line_used_ != 0) {
        emit_line(false);
    }
}

void VmConsole::emit_line(bool complete)
{
    console::write_part(this, name_, line_, line_used_, complete);
    line_used_ = 0;
}

void VmConsole::feed_uart()
{
    while (input_count_ > 0 && uart_.receive(input_[input_head_])) {
        input_head_ = (input_head_ + 1) % kInputBuffer;
        input_count_--;
    }
}

void VmConsole::type(uint8_t byte)
{
    LockGuard guard(lock_);
    if (input_count_ < kInputBuffer) {
        input_[(input_head_ + input_count_) % kInputBuffer] = byte;
        input_count_++;
    }
    feed_uart();
}

bool VmConsole::read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value)
{
    LockGuard guard(lock_);
    const bool ok = uart_.read(vcpu, offset, size, value);
    feed_uart(); // the read may have made room in the FIFO
    return ok;
}

bool VmConsole::write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value)
{
    LockGuard guard(lock_);
    return uart_.write(vcpu, offset, size, value);
}
