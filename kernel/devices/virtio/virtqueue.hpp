// A split virtqueue as the device sees it (virtio 1.2, section 2.7): the
// driver's descriptor table and available ring, the device's used ring,
// all in the guest's RAM. Every address and length the guest gives is
// checked against that RAM (GuestRam) before Vireo reads or writes a byte
// of it; a chain that loops, points outside the RAM or breaks the rules
// (a device-readable buffer after a device-writable one, an indirect
// descriptor, which is not offered) makes take() say Broken, and the
// device then wants a reset (DEVICE_NEEDS_RESET). With EVENT_IDX (2.7.7,
// 2.7.10) the device asks for a notification only when it has run out of
// chains, and interrupts only when the driver's used_event was passed.
// Pure logic: host tests drive it with a fake RAM.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/devices/guest_ram.hpp"

class Virtqueue {
public:
    static constexpr uint16_t kMaxSize = 256;
    // Per chain: Linux's transmit chains of a 64 KiB frame without indirect
    // descriptors, and its receive chains of "big packets", are
    // MAX_SKB_FRAGS + 2 (19 by default).
    static constexpr size_t kMaxBuffers = 32;

    // The transport's registers for this queue (virtio-mmio QueueNum,
    // QueueDesc, QueueDriver, QueueDevice, QueueReady).
    uint16_t size = 0;
    uint64_t desc = 0;
    uint64_t driver = 0; // the available ring
    uint64_t device = 0; // the used ring
    bool ready = false;
    bool event_idx = false; // VIRTIO_RING_F_EVENT_IDX negotiated
    bool quiet = false;     // the device never wants this queue's notifications

    struct Buffer {
        uint8_t* data;
        uint32_t length;
    };
    /// A descriptor chain: its device-readable buffers, then its writable
    /// ones (2.7.4.2: in that order), in one array.
    struct Chain {
        uint16_t head = 0;
        Buffer buffers[kMaxBuffers];
        size_t readable_count = 0;
        size_t writable_count = 0;
        uint64_t readable_bytes = 0;
        uint64_t writable_bytes = 0;
        const Buffer* readable() const { return buffers; }
        const Buffer* writable() const { return buffers + readable_count; }
    };
    enum class Take { Empty, Got, Broken };

    /// Back to the state after a device reset.
    void reset() { *this = Virtqueue{}; }
    /// QueueReady = 1: the rings must lie in the guest's RAM, aligned as
    /// the specification says (2.7: 16, 2 and 4 bytes). False, with `why`, if not.
    bool enable(GuestRam& ram, const char*& why);
    /// The next chain the driver made available, checked; Empty if none.
    Take take(GuestRam& ram, Chain& out, const char*& why);
    /// Gives the last `chains` chains back if the device did not use them after all.
    void untake(uint16_t chains = 1) { next_avail_ = static_cast<uint16_t>(next_avail_ - chains); }
    /// The chain at `head` is used, `written` bytes of it written: its used
    /// ring entry, not yet shown to the driver (publish()).
    void add_used(GuestRam& ram, uint16_t head, uint32_t written);
    /// Forgets the last `entries` add_used() before they were published.
    void unadd(uint16_t entries) { next_used_ = static_cast<uint16_t>(next_used_ - entries); }
    /// Shows the driver every used entry added so far (the used index).
    void publish(GuestRam& ram);
    /// add_used() and publish().
    void put(GuestRam& ram, uint16_t head, uint32_t written)
    {
        add_used(ram, head, written);
        publish(ram);
    }
    /// Whether the driver wants an interrupt for what was published since
    /// the last call (VIRTQ_AVAIL_F_NO_INTERRUPT, or with EVENT_IDX its
    /// used_event); with the barrier the specification asks for between them.
    bool needs_interrupt(GuestRam& ram);

private:
    /// With EVENT_IDX: the available index at which the driver is to notify next (avail_event).
    void ask_notification_at(uint8_t* used, uint16_t index);

    uint16_t next_avail_ = 0; // the available ring index the device takes next
    uint16_t next_used_ = 0;  // the used ring index it fills next
    uint16_t signalled_ = 0;  // the used index at the last needs_interrupt()
};

/// Copies `length` bytes from the chain's readable buffers, from byte
/// `offset` on, into `to`; returns how many there were.
size_t gather(const Virtqueue::Chain& chain, size_t offset, uint8_t* to, size_t length);
/// Copies `length` bytes into the chain's writable buffers, from byte
/// `offset` of them on; false if they do not hold that much (nothing is
/// written then).
bool scatter(const Virtqueue::Chain& chain, size_t offset, const uint8_t* from, size_t length);
/// The chain's writable byte `offset` bytes in; nullptr past their end.
uint8_t* writable_byte(const Virtqueue::Chain& chain, size_t offset);
