// The ChaCha20 block function (RFC 8439, section 2.3): 64 bytes of
// keystream from a 256-bit key, a 32-bit block counter and a 96-bit
// nonce. Vireo's random bytes for guests are its keystream
// (kernel/base/entropy.hpp). Pure logic: host tests check it against the
// RFC's test vector.
#pragma once

#include <stdint.h>

namespace chacha20 {

constexpr unsigned kKeyWords = 8;
constexpr unsigned kNonceWords = 3;
constexpr unsigned kBlockWords = 16;

/// The block for `counter`: the serialized state is `out` read as
/// little-endian words (RFC 8439, 2.3.2).
void block(const uint32_t (&key)[kKeyWords], uint32_t counter, const uint32_t (&nonce)[kNonceWords],
           uint32_t (&out)[kBlockWords]);

} // namespace chacha20
