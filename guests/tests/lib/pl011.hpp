// The guest's own PL011 (Vireo's virtual one, docs/config.md): where it is,
// its receive interrupt, and output a byte at a time through its data
// register (not the console hypercall), for the guests that test console
// input and interleaving.
#pragma once

#include <stdint.h>

#include "lib/gic.hpp"

namespace guest::pl011 {

constexpr uint64_t kBase = 0x09000000;
constexpr uint32_t kSpi = 33;                             // its receive interrupt's INTID
constexpr uint32_t kRxInterrupts = (1u << 4) | (1u << 6); // UARTIMSC: RXIM, RTIM

inline void put(char c) { gic::write32(kBase + 0x00, static_cast<uint8_t>(c)); }

inline void put_text(const char* text)
{
    for (; *text != '\0'; text++) {
        put(*text);
    }
}

} // namespace guest::pl011
