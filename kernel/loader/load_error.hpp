// How the guest loader (kernel/loader/) reports what is wrong with a kernel,
// a package or a VM configuration: one message a user can act on, formatted
// into a fixed buffer (no heap).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "platform/format.hpp"

struct LoadError {
    char message[200] = {};
};

template <typename... Args> bool fail(LoadError& error, const char* fmt, Args... args)
{
    format(error.message, sizeof error.message, fmt, args...);
    return false;
}

/// A size in the largest binary unit that divides it exactly ("512 MiB",
/// "12 KiB", "100 bytes"), for messages.
struct SizeText {
    char text[32] = {};
};

inline SizeText size_text(uint64_t bytes)
{
    SizeText out;
    if (bytes != 0 && bytes % (1ull << 30) == 0) {
        format(out.text, sizeof out.text, "%lu GiB", static_cast<unsigned long>(bytes >> 30));
    } else if (bytes != 0 && bytes % (1ull << 20) == 0) {
        format(out.text, sizeof out.text, "%lu MiB", static_cast<unsigned long>(bytes >> 20));
    } else if (bytes != 0 && bytes % (1ull << 10) == 0) {
        format(out.text, sizeof out.text, "%lu KiB", static_cast<unsigned long>(bytes >> 10));
    } else {
        format(out.text, sizeof out.text, "%lu bytes", static_cast<unsigned long>(bytes));
    }
    return out;
}
