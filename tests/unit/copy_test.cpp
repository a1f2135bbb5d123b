// The hypervisor's memcpy, memmove and memset (kernel/mem/copy.cpp) against
// byte-by-byte references, over every alignment of both ends and sizes
// around the word and unrolled-loop boundaries.
#include <gtest/gtest.h>

#include <vector>

#include "kernel/mem/bulk.hpp"

namespace {

constexpr size_t kArena = 256;
constexpr size_t kSizes[] = {0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 190};

std::vector<uint8_t> pattern(size_t size, uint8_t seed)
{
    std::vector<uint8_t> bytes(size);
    for (size_t i = 0; i < size; i++) {
        bytes[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 3));
    }
    return bytes;
}

} // namespace

TEST(Copy, EveryAlignmentAndSizeCopiesExactlyTheRange)
{
    alignas(8) uint8_t source[kArena];
    alignas(8) uint8_t dest[kArena];
    const std::vector<uint8_t> from = pattern(kArena, 3);
    for (size_t s = 0; s < 8; s++) {
        for (size_t d = 0; d < 8; d++) {
            for (size_t size : kSizes) {
                std::copy(from.begin(), from.end(), source);
                std::fill(dest, dest + kArena, 0xee);
                bulk::copy(dest + d, source + s, size);
                for (size_t i = 0; i < kArena; i++) {
                    const uint8_t expected = i >= d && i < d + size ? from[s + i - d] : 0xee;
                    ASSERT_EQ(dest[i], expected)
                        << "source +" << s << " dest +" << d << " size " << size << " at " << i;
                }
            }
        }
    }
}

TEST(Copy, MoveHandlesOverlapBothWays)
{
    alignas(8) uint8_t bytes[kArena];
    for (size_t s = 0; s < 24; s++) {
        for (size_t d = 0; d < 24; d++) {
            for (size_t size : {size_t{1}, size_t{9}, size_t{40}, size_t{129}}) {
                const std::vector<uint8_t> before = pattern(kArena, static_cast<uint8_t>(s + d));
                std::copy(before.begin(), before.end(), bytes);
                bulk::move(bytes + d, bytes + s, size);
                for (size_t i = 0; i < kArena; i++) {
                    const uint8_t expected = i >= d && i < d + size ? before[s + i - d] : before[i];
                    ASSERT_EQ(bytes[i], expected) << "from +" << s << " to +" << d << " size " << size << " at " << i;
                }
            }
        }
    }
}

TEST(Copy, FillSetsExactlyTheRange)
{
    alignas(8) uint8_t bytes[kArena];
    for (size_t d = 0; d < 8; d++) {
        for (size_t size : kSizes) {
            std::fill(bytes, bytes + kArena, 0x11);
            bulk::fill(bytes + d, 0xa5, size);
            for (size_t i = 0; i < kArena; i++) {
                ASSERT_EQ(bytes[i], i >= d && i < d + size ? 0xa5 : 0x11) << "dest +" << d << " size " << size;
            }
        }
    }
}
