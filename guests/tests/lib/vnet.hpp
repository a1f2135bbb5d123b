// The little of a virtio network driver (virtio 1.2, 4.2.2 and 5.1) the
// test guests need to drive the device of their VM's first network
// (docs/config.md, "Networks"): registers, split virtqueues
// (virtqueue.hpp), negotiation, and the device's MAC address.
#pragma once

#include <stdint.h>
#include <string.h>

#include "virtqueue.hpp"

namespace guest::vnet {

using virtqueue::addr;
using virtqueue::Desc;
using virtqueue::kNext;
using virtqueue::kWrite;
using virtqueue::Queue;

constexpr uint64_t kDev = 0x0a200000;
constexpr uint64_t kStatus = 0x070, kQueueSel = 0x030, kQueueNum = 0x038, kQueueReady = 0x044, kNotify = 0x050,
                   kDescLow = 0x080, kDescHigh = 0x084, kDriverLow = 0x090, kDeviceLow = 0x0a0,
                   kDriverFeaturesSel = 0x024, kDriverFeatures = 0x020, kInterruptAck = 0x064, kConfig = 0x100;
constexpr uint32_t kAck = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8, kNeedsReset = 64;
constexpr uint32_t kHeader = 12; // struct virtio_net_hdr with VERSION_1
constexpr uint32_t kMaxFrame = 1514;

inline void w32(uint64_t off, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(kDev + off) = v; }
inline uint32_t r32(uint64_t off) { return *reinterpret_cast<volatile uint32_t*>(kDev + off); }

/// QueueSel, QueueNum and the ring addresses of queue `index`, then QueueReady.
inline void setup_queue(uint32_t index, uint16_t size, uint64_t desc, uint64_t driver, uint64_t device)
{
    w32(kQueueSel, index);
    w32(kQueueNum, size);
    w32(kDescLow, static_cast<uint32_t>(desc));
    w32(kDescHigh, static_cast<uint32_t>(desc >> 32));
    w32(kDriverLow, static_cast<uint32_t>(driver));
    w32(kDeviceLow, static_cast<uint32_t>(device));
    w32(kQueueReady, 1);
}

template <uint16_t N> void setup_queue(uint32_t index, Queue<N>& q)
{
    setup_queue(index, N, addr(q.desc), addr(q.avail), addr(q.used));
}

constexpr uint32_t kCsum = 1u << 0, kHostTso4 = 1u << 11; // feature bits (5.1.3)

/// Reset, then ACKNOWLEDGE, DRIVER, VERSION_1 and `features` (of the low
/// 32 bits) and FEATURES_OK (3.1.1).
inline void negotiate(uint32_t features = 0)
{
    w32(kStatus, 0);
    w32(kStatus, kAck | kDriver);
    w32(kDriverFeaturesSel, 1);
    w32(kDriverFeatures, 1);
    w32(kDriverFeaturesSel, 0);
    w32(kDriverFeatures, features);
    w32(kStatus, kAck | kDriver | kFeaturesOk);
}

inline void driver_ok() { w32(kStatus, kAck | kDriver | kFeaturesOk | kDriverOk); }
inline bool needs_reset() { return (r32(kStatus) & kNeedsReset) != 0; }

/// The device's MAC address (its configuration space).
inline void mac(uint8_t (&out)[6])
{
    const uint32_t low = r32(kConfig);
    const uint32_t high = r32(kConfig + 4);
    memcpy(out, &low, 4);
    memcpy(out + 4, &high, 2);
}

/// An Ethernet header at `frame` (a frame, without the virtio-net header):
/// to `dst`, from `src`, EtherType 0x88b5 (local experimental).
inline void ether_header(uint8_t* frame, const uint8_t (&dst)[6], const uint8_t (&src)[6])
{
    memcpy(frame, dst, 6);
    memcpy(frame + 6, src, 6);
    frame[12] = 0x88;
    frame[13] = 0xb5;
}

/// Every descriptor of `q` one device-readable buffer: `frame`, `size` bytes.
template <uint16_t N> void point_all_at(Queue<N>& q, const void* frame, uint32_t size)
{
    for (Desc& d : q.desc) {
        d = {addr(frame), size, 0, 0};
    }
}

} // namespace guest::vnet
