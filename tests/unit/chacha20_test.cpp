#include "kernel/base/chacha20.hpp"

#include <gtest/gtest.h>

namespace {

TEST(Chacha20, BlockMatchesRfc8439TestVector)
{
    // RFC 8439, 2.3.2: key 00:01:..:1f, nonce 00:00:00:09:00:00:00:4a:00:00:00:00, counter 1.
    uint32_t key[chacha20::kKeyWords];
    for (uint32_t i = 0; i < chacha20::kKeyWords; i++) {
        const uint32_t b = 4 * i;
        key[i] = b | (b + 1) << 8 | (b + 2) << 16 | (b + 3) << 24;
    }
    const uint32_t nonce[chacha20::kNonceWords] = {0x09000000, 0x4a000000, 0x00000000};
    uint32_t out[chacha20::kBlockWords];
    chacha20::block(key, 1, nonce, out);
    const uint32_t expected[chacha20::kBlockWords] = {
        0xe4e7f110, 0x15593bd1, 0x1fdd0f50, 0xc47120a3, 0xc7f4d1c7, 0x0368c033, 0x9aaa2204, 0x4e6cd4c3,
        0x466482d2, 0x09aa9f07, 0x05d7c214, 0xa2028bd9, 0xd19c12b5, 0xb94e16de, 0xe883d0cb, 0x4e3c50a2};
    for (unsigned i = 0; i < chacha20::kBlockWords; i++) {
        EXPECT_EQ(out[i], expected[i]) << "word " << i;
    }
}

TEST(Chacha20, EveryCounterGivesAnotherBlock)
{
    const uint32_t key[chacha20::kKeyWords] = {};
    const uint32_t nonce[chacha20::kNonceWords] = {};
    uint32_t a[chacha20::kBlockWords];
    uint32_t b[chacha20::kBlockWords];
    chacha20::block(key, 0, nonce, a);
    chacha20::block(key, 1, nonce, b);
    EXPECT_NE(a[0], b[0]);
    // RFC 8439, A.1, test vector #1: the all-zero key and nonce, counter 0.
    EXPECT_EQ(a[0], 0xade0b876u);
    EXPECT_EQ(a[1], 0x903df1a0u);
}

} // namespace
