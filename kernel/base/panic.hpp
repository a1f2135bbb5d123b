// panic(): for broken invariants of Vireo itself, never for guest input.
#pragma once

[[noreturn]] void panic(const char* format, ...) __attribute__((format(printf, 1, 2)));

#define VIREO_ASSERT(cond)                                                                                             \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            panic("assertion failed: %s (%s:%d)", #cond, __FILE__, __LINE__);                                          \
        }                                                                                                              \
    } while (0)
