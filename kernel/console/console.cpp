#include "kernel/console/console.hpp"

#include <stdio.h>

#include "platform/format.hpp"

#include "kernel/base/spinlock.hpp"

namespace console {
namespace {

Uart uart;
SpinLock lock;
bool locking = false;
LogLevel current_level = LogLevel::Info;

constexpr size_t kLineMax = 512;

void emit(const char* text, size_t length)
{
    for (size_t i = 0; i < length && text[i] != '\0'; i++) {
        if (text[i] == '\n') {
            uart.put('\r');
        }
        uart.put(text[i]);
    }
}

/// emit() under the console lock, once there is one.
void emit_locked(const char* text, size_t length)
{
    if (locking) {
        lock.lock();
        emit(text, length);
        lock.unlock();
    } else {
        emit(text, length);
    }
}

void vformat_and_emit(const char* prefix, const char* fmt, va_list args, bool newline)
{
    char line[kLineMax];
    int used = format(line, sizeof line, "%s", prefix);
    const int body = vsnprintf(line + used, sizeof line - static_cast<size_t>(used), fmt, args);
    if (body > 0) {
        used += body;
    }
    // Keep room for the newline: a truncated line still ends the line.
    size_t length = static_cast<size_t>(used) < sizeof line - 1 ? static_cast<size_t>(used) : sizeof line - 2;
    if (newline) {
        line[length++] = '\n';
        line[length] = '\0';
    }
    emit_locked(line, length);
}

} // namespace

void attach(const UartDesc& desc) { uart.attach(desc); }
const UartDesc& device() { return uart.desc(); }
void enable_locking() { locking = true; }
void set_level(LogLevel level) { current_level = level; }
LogLevel level() { return current_level; }

void write_raw(const char* text, size_t length) { emit(text, length); }

void write(const char* text, size_t length) { emit_locked(text, length); }

void vprint(const char* format, va_list args) { vformat_and_emit("", format, args, false); }

void print(const char* format, ...)
{
    va_list args;
    va_start(args, format);
    vprint(format, args);
    va_end(args);
}

void log(LogLevel level, const char* format, ...)
{
    if (level > current_level) {
        return;
    }
    static const char* const kPrefix[] = {"error: ", "warning: ", "", ""};
    va_list args;
    va_start(args, format);
    vformat_and_emit(kPrefix[static_cast<int>(level)], format, args, true);
    va_end(args);
}

void Line::add(const char* format, ...)
{
    if (used_ >= sizeof text_ - 1) {
        return;
    }
    va_list args;
    va_start(args, format);
    const int n = vsnprintf(text_ + used_, sizeof text_ - used_, format, args);
    va_end(args);
    if (n > 0) {
        used_ = used_ + static_cast<size_t>(n) < sizeof text_ - 1 ? used_ + static_cast<size_t>(n) : sizeof text_ - 1;
    }
}

void Line::print()
{
    console::print("%s\n", text_);
    used_ = 0;
    text_[0] = '\0';
}

bool lock_for_crash() { return locking && lock.lock_bounded(1u << 24); }

void unlock_after_crash(bool locked)
{
    if (locked) {
        lock.unlock();
    }
}

} // namespace console
