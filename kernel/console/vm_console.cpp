#include "kernel/console/vm_console.hpp"

#include "kernel/console/console.hpp"
#include "kernel/console/input.hpp"

namespace {

constinit bool shared_terminal = false;
constinit SpinLock output_lock;                 // whole lines of several VMs
constinit const VmConsole* open_line = nullptr; // whose unfinished line is on the terminal

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
        console::write(text, length);
        return;
    }
    LockGuard guard(output_lock);
    for (size_t i = 0; i < length; i++) {
        const char c = text[i];
        if (c == '\n') {
            emit_line(true);
        } else if (c != '\r') {
            line_[line_used_++] = c;
            if (line_used_ == sizeof line_ - 1) {
                emit_line(false);
            }
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
    line_[line_used_] = '\0';
    if (open_line == this) {
        console::print("%s%s", line_, complete ? "\n" : ""); // the rest of the line already begun
    } else {
        console::print("%s[%s] %s%s", open_line != nullptr ? "\n" : "", name_, line_, complete ? "\n" : "");
    }
    open_line = complete ? nullptr : this;
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
