#include "kernel/console/console.hpp"

#include <stdio.h>

#include "platform/format.hpp"

#include "kernel/base/spinlock.hpp"

namespace console {

LogLevel detail::current_level = LogLevel::Info;
using detail::current_level;

namespace {

Uart uart;
SpinLock lock;
bool locking = false;

constexpr size_t kLineMax = 512;

// Whose text ends the terminal's current line, unfinished: nobody (at a
// line start), Vireo (the monitor's prompt), or a VM's console. Whoever
// writes next on someone else's unfinished line starts a new one first,
// so Vireo's lines always begin in column 0 and a VM's text never passes
// for Vireo's or another VM's (a guest prompt left open is the usual case).
const char kVireo = 0;
const void* line_owner = nullptr;
size_t owner_column = 0; // shared terminal: what the owner VM has on the line after its prefix

// The VMs' output while held (hold_guests): their own line state, so that
// it reads as it would have on the terminal.
struct Held {
    bool on = false;
    bool writing = false; // put() goes to text[], not the UART
    char text[kHoldMax] = {};
    size_t used = 0;
    uint64_t lost = 0;
    const void* line_owner = nullptr;
    size_t owner_column = 0;
};
constinit Held held;

void put(char c)
{
    if (!held.writing) {
        uart.put(c);
    } else if (held.used < sizeof held.text) {
        held.text[held.used++] = c;
    } else {
        held.lost++;
    }
}

void emit(const char* text, size_t length)
{
    for (size_t i = 0; i < length && text[i] != '\0'; i++) {
        if (text[i] == '\n') {
            put('\r');
        }
        put(text[i]);
    }
}

/// While the VMs' output is held, a VM's write goes to the held text, with
/// the held text's line state (swapped in for its duration).
class GuestWrite {
public:
    GuestWrite() : divert_(held.on)
    {
        if (divert_) {
            swap();
            held.writing = true;
        }
    }
    ~GuestWrite()
    {
        if (divert_) {
            held.writing = false;
            swap();
        }
    }
    GuestWrite(const GuestWrite&) = delete;
    GuestWrite& operator=(const GuestWrite&) = delete;

private:
    static void swap()
    {
        const void* o = line_owner;
        line_owner = held.line_owner;
        held.line_owner = o;
        const size_t c = owner_column;
        owner_column = held.owner_column;
        held.owner_column = c;
    }
    bool divert_;
};

/// Ends another writer's unfinished line before `owner` writes.
void take_line(const void* owner)
{
    if (line_owner != nullptr && line_owner != owner) {
        emit("\n", 1);
        line_owner = nullptr;
    }
}

/// `text` as `owner`'s, who then has the line if the text leaves it unfinished.
void emit_as(const void* owner, const char* text, size_t length)
{
    size_t end = 0;
    while (end < length && text[end] != '\0') {
        end++;
    }
    if (end == 0) {
        return;
    }
    take_line(owner);
    emit(text, end);
    line_owner = text[end - 1] == '\n' ? nullptr : owner;
}

/// The console lock, for as long as it exists, once there is one.
class Locked {
public:
    Locked() : taken_(locking)
    {
        if (taken_) {
            lock.lock();
        }
    }
    ~Locked()
    {
        if (taken_) {
            lock.unlock();
        }
    }
    Locked(const Locked&) = delete;
    Locked& operator=(const Locked&) = delete;

private:
    bool taken_;
};

/// emit_as() under the console lock, once there is one.
void emit_locked(const void* owner, const char* text, size_t length)
{
    Locked locked;
    emit_as(owner, text, length);
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
    emit_locked(&kVireo, line, length);
}

} // namespace

void attach(const UartDesc& desc) { uart.attach(desc); }
const UartDesc& device() { return uart.desc(); }
void enable_locking() { locking = true; }
void set_level(LogLevel level) { current_level = level; }
LogLevel level() { return current_level; }

void write_raw(const char* text, size_t length) { emit_as(&kVireo, text, length); }

void write(const void* owner, const char* text, size_t length)
{
    Locked locked;
    GuestWrite diverted;
    emit_as(owner, text, length);
}

void write_part(const void* owner, const char* name, const char* text, size_t length, bool complete)
{
    Locked locked;
    GuestWrite diverted;
    if (line_owner != owner) {
        take_line(owner);
        emit("[", 1);
        emit(name, kLineMax);
        emit("] ", 2);
        owner_column = 0;
    }
    for (size_t i = 0; i < length; i++) {
        // A backspace may erase only what the owner printed on this line.
        if (text[i] == '\b') {
            if (owner_column == 0) {
                continue;
            }
            owner_column--;
        } else {
            owner_column++;
        }
        put(text[i]);
    }
    if (complete) {
        emit("\n", 1);
    }
    line_owner = complete ? nullptr : owner;
}

void vprint(const char* format, va_list args) { vformat_and_emit("", format, args, false); }

void hold_guests(bool hold)
{
    Locked locked;
    if (hold == held.on) {
        return;
    }
    if (hold) {
        take_line(&kVireo); // Vireo's view starts on a line of its own
        held.on = true;
        held.used = 0;
        held.lost = 0;
        held.line_owner = nullptr;
        held.owner_column = 0;
        return;
    }
    held.on = false;
    // The held text starts at a line start: Vireo's view ended its lines.
    take_line(&kVireo);
    for (size_t i = 0; i < held.used; i++) {
        uart.put(held.text[i]);
    }
    line_owner = held.line_owner;
    owner_column = held.owner_column;
    if (held.lost != 0) {
        char note[96];
        const int n = format(note, sizeof note, "%sconsole: %lu bytes of VM output lost while it was held\n",
                             line_owner != nullptr ? "\n" : "", held.lost);
        emit(note, static_cast<size_t>(n));
        line_owner = nullptr;
    }
}

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
