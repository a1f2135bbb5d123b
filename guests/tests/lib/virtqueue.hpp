// A split virtqueue (virtio 1.2, 2.7) in the test guest's own memory, as
// its virtio-mmio and virtio-pci drivers share it: descriptors, available
// ring and used ring, each on a page of its own.
#pragma once

#include <stdint.h>

namespace guest::virtqueue {

constexpr uint16_t kNext = 1, kWrite = 2; // descriptor flags: chained; the device writes the buffer

inline uint64_t addr(const void* p) { return reinterpret_cast<uint64_t>(p); }

struct Desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

/// A split virtqueue of N entries: descriptors, available ring (flags,
/// idx, ring), used ring (flags, idx, {id, len} elements as 16-bit halves).
template <uint16_t N> struct Queue {
    alignas(4096) Desc desc[N];
    alignas(4096) uint16_t avail[3 + N];
    alignas(4096) uint16_t used[3 + 4 * N];

    uint16_t used_idx() const { return __atomic_load_n(&used[1], __ATOMIC_ACQUIRE); }
    /// The head of used element `i`: the low half of its first 32 bits (little-endian).
    uint16_t used_id(uint16_t i) const { return __atomic_load_n(&used[2 + 4 * (i % N)], __ATOMIC_RELAXED); }
    /// Makes chain `head` available as entry `idx` (the new available index is idx + 1).
    void offer(uint16_t idx, uint16_t head)
    {
        avail[2 + idx % N] = head;
        __atomic_store_n(&avail[1], static_cast<uint16_t>(idx + 1), __ATOMIC_RELEASE);
    }
};

} // namespace guest::virtqueue
