#include "kernel/base/chacha20.hpp"

namespace chacha20 {

namespace {

constexpr uint32_t rotl(uint32_t v, unsigned n) { return (v << n) | (v >> (32 - n)); }

/// RFC 8439, 2.1.
void quarter_round(uint32_t (&s)[kBlockWords], unsigned a, unsigned b, unsigned c, unsigned d)
{
    s[a] += s[b];
    s[d] = rotl(s[d] ^ s[a], 16);
    s[c] += s[d];
    s[b] = rotl(s[b] ^ s[c], 12);
    s[a] += s[b];
    s[d] = rotl(s[d] ^ s[a], 8);
    s[c] += s[d];
    s[b] = rotl(s[b] ^ s[c], 7);
}

} // namespace

void block(const uint32_t (&key)[kKeyWords], uint32_t counter, const uint32_t (&nonce)[kNonceWords],
           uint32_t (&out)[kBlockWords])
{
    // "expand 32-byte k", then key, counter and nonce (2.3).
    uint32_t initial[kBlockWords] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
    for (unsigned i = 0; i < kKeyWords; i++) {
        initial[4 + i] = key[i];
    }
    initial[12] = counter;
    for (unsigned i = 0; i < kNonceWords; i++) {
        initial[13 + i] = nonce[i];
    }
    for (unsigned i = 0; i < kBlockWords; i++) {
        out[i] = initial[i];
    }
    for (int round = 0; round < 10; round++) { // 20 rounds: a column and a diagonal round each
        quarter_round(out, 0, 4, 8, 12);
        quarter_round(out, 1, 5, 9, 13);
        quarter_round(out, 2, 6, 10, 14);
        quarter_round(out, 3, 7, 11, 15);
        quarter_round(out, 0, 5, 10, 15);
        quarter_round(out, 1, 6, 11, 12);
        quarter_round(out, 2, 7, 8, 13);
        quarter_round(out, 3, 4, 9, 14);
    }
    for (unsigned i = 0; i < kBlockWords; i++) {
        out[i] += initial[i];
    }
}

} // namespace chacha20
