// A split virtqueue as the device sees it (virtio 1.2, section 2.7): the
// driver's descriptor table and available ring, the device's used ring,
// all in the guest's RAM. Every address and length the guest gives is
// checked against that RAM (GuestRam) before Vireo reads or writes a byte
// of it; a chain that loops, points outside the RAM or breaks the rules
// (a device-readable buffer after a device-writable one, an indirect
// descriptor, which is not offered) makes take() say Broken, and the
// device then wants a reset (DEVICE_NEEDS_RESET). Pure logic: host tests
// drive it with a fake RAM.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/devices/guest_ram.hpp"

class Virtqueue {
public:
    static constexpr uint16_t kMaxSize = 256;
    static constexpr size_t kMaxBuffers = 16; // per chain

    // The transport's registers for this queue (virtio-mmio QueueNum,
    // QueueDesc, QueueDriver, QueueDevice, QueueReady).
    uint16_t size = 0;
    uint64_t desc = 0;
    uint64_t driver = 0; // the available ring
    uint64_t device = 0; // the used ring
    bool ready = false;

    struct Buffer {
        uint8_t* data;
        uint32_t length;
    };
    /// A descriptor chain: its device-readable buffers, then its writable ones.
    struct Chain {
        uint16_t head = 0;
        Buffer readable[kMaxBuffers];
        size_t readable_count = 0;
        Buffer writable[kMaxBuffers];
        size_t writable_count = 0;
        uint64_t readable_bytes = 0;
        uint64_t writable_bytes = 0;
    };
    enum class Take { Empty, Got, Broken };

    /// Back to the state after a device reset.
    void reset() { *this = Virtqueue{}; }
    /// QueueReady = 1: the rings must lie in the guest's RAM, aligned as
    /// the specification says (2.7: 16, 2 and 4 bytes). False, with `why`, if not.
    bool enable(GuestRam& ram, const char*& why);
    /// The next chain the driver made available, checked; Empty if none.
    Take take(GuestRam& ram, Chain& out, const char*& why);
    /// Gives the chain back if the device did not use it after all.
    void untake() { next_avail_--; }
    /// The chain at `head` is used, `written` bytes of it written.
    void put(GuestRam& ram, uint16_t head, uint32_t written);
    /// Whether the driver asked not to be interrupted (VIRTQ_AVAIL_F_NO_INTERRUPT);
    /// after put(), with the barrier the specification asks for between them.
    bool interrupts_suppressed(GuestRam& ram);

private:
    uint16_t next_avail_ = 0; // the available ring index the device takes next
    uint16_t next_used_ = 0;  // the used ring index it fills next
};

/// Copies `length` bytes from the chain's readable buffers, from byte
/// `offset` on, into `to`; returns how many there were.
size_t gather(const Virtqueue::Chain& chain, size_t offset, uint8_t* to, size_t length);
/// Copies `length` bytes into the chain's writable buffers, from byte
/// `offset` of them on; false if they do not hold that much (nothing is
/// written then).
bool scatter(const Virtqueue::Chain& chain, size_t offset, const uint8_t* from, size_t length);
