// The hypervisor console: formatted output (newlib's vsnprintf) over the
// physical UART, one whole line at a time under a lock.
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "platform/uart.hpp"

enum class LogLevel : int { Error = 0, Warn = 1, Info = 2, Debug = 3 };

namespace console {

/// Uses `desc` for output from now on.
void attach(const UartDesc& desc);
const UartDesc& device();

/// Lines from several CPUs are serialised once the MMU is on (the lock needs
/// exclusives on Normal memory); before that only the boot CPU runs.
void enable_locking();

void set_level(LogLevel level);
LogLevel level();

namespace detail {
extern LogLevel current_level;
}
/// Whether debug lines are printed: log_debug's arguments (a VM's name, a
/// register) are not even gathered otherwise, on exit paths that are hot.
inline bool debugging() { return detail::current_level >= LogLevel::Debug; }

/// Writes raw bytes (no lock: for the early path and the fatal path).
void write_raw(const char* text, size_t length);
/// Writes raw bytes under the lock: the output of `owner`, the only VM's
/// console (its escape sequences pass).
void write(const void* owner, const char* text, size_t length);
/// A piece of a line of `owner`, one of several VMs' consoles sharing the
/// terminal: `text` (no newlines) goes on the line `owner` left unfinished
/// if nobody wrote since, else on a new line after "[name] "; `complete`
/// ends the line. A backspace never erases more than `owner` wrote there.
void write_part(const void* owner, const char* name, const char* text, size_t length, bool complete);

/// While held (the monitor's `top` has the terminal), what VMs write is
/// kept, up to kHoldMax bytes (the rest is counted and lost), and printed
/// when the hold ends, with a line saying how much was lost.
constexpr size_t kHoldMax = 16 * 1024;
void hold_guests(bool hold);

// Whatever else is printed (print, log, Line, write_raw) is Vireo's: it
// starts on a new line when a VM has left the current one unfinished.

/// Prints unconditionally, whatever the log level.
void print(const char* format, ...) __attribute__((format(printf, 1, 2)));
void vprint(const char* format, va_list args);

/// Prints one line (the newline is added) if `level` is enabled. Errors and
/// warnings are prefixed so the test runner and a user can spot them.
void log(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

/// For the fatal path: takes the lock if it can within a bounded time.
bool lock_for_crash();
void unlock_after_crash(bool locked);

/// Builds one line from several pieces, printed whole (never interleaved
/// with other CPUs' lines). Text beyond the buffer is dropped.
class Line {
public:
    void add(const char* format, ...) __attribute__((format(printf, 2, 3)));
    void print();

private:
    char text_[256] = {};
    size_t used_ = 0;
};

} // namespace console

#define log_error(...) console::log(LogLevel::Error, __VA_ARGS__)
#define log_warn(...) console::log(LogLevel::Warn, __VA_ARGS__)
#define log_info(...) console::log(LogLevel::Info, __VA_ARGS__)
#define log_debug(...)                                                                                                 \
    do {                                                                                                               \
        if (console::debugging()) {                                                                                    \
            console::log(LogLevel::Debug, __VA_ARGS__);                                                                \
        }                                                                                                              \
    } while (0)
