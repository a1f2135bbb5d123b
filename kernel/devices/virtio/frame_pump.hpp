// One step of a port's transmit work on a virtual network (docs/config.md,
// "Networks"): frames taken from the sender's transmit queue, routed by
// the switch and copied into the receivers' receive queues, until the
// step's budget is spent. A guest can keep its queue full for as long as
// it likes (from another vCPU, say), so no step may run until the queue is
// empty: the VM layer does one step per exit and the rest in steps on the
// sender's time (kernel/vm/networks.cpp, kernel/sched).
// Each receiver gets a frame as it negotiated (net_offload.hpp): whole,
// offloads and all, if it took them; with its checksum completed if it
// did not take GUEST_CSUM; cut into TCP segments if it did not take the
// frame's GUEST_TSO4/6 (or GUEST_ECN). Checksums are computed only for such
// a receiver, never between two ends that offload them.
// Pure logic: the VM layer supplies the locked operations, the fuzz
// target plain ones.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/devices/virtio/net_offload.hpp"

class FramePump {
public:
    // Work is counted in copies of a frame of up to kMaxPlainFrame bytes:
    // a frame taken from the transmit queue counts one per kMaxPlainFrame
    // bytes begun (a 64 KiB frame 44), and so does each copy delivered (a
    // segment one). A step stops taking frames once it has spent this much,
    // so it copies at most kCopiesPerStep - 1 frames and then one frame to
    // at most kMaxReceivers - 1 ports.
    static constexpr uint32_t kCopiesPerStep = 16;
    static constexpr uint32_t kMaxReceivers = 16;

    /// One step; true if the queue may hold more (the budget ran out
    /// before it was empty).
    bool step();
    /// Copies the last step made (taken and delivered).
    uint32_t last_copies() const { return copies_; }

protected:
    ~FramePump() = default;
    /// The sender's next frame, copied to `frame` (room for kMaxGsoFrame
    /// bytes) with its header (check_offload() passed them); false when
    /// there is none.
    virtual bool take(uint8_t* frame, size_t& length, NetHeader& header) = 0;
    /// The ports (bit n: port n, n < kMaxReceivers) a frame goes to.
    virtual uint32_t route(const uint8_t* frame, size_t length) = 0;
    /// What port `port`'s receiver accepts.
    virtual Offloads offloads(uint32_t port) = 0;
    /// Puts the frame into port `port`'s receive queue; false if there is no such port.
    virtual bool deliver(uint32_t port, const uint8_t* frame, size_t length, const NetHeader& header) = 0;

private:
    /// The frame taken to port `port`, as its receiver takes it; the copies made.
    uint32_t deliver_to(uint32_t port, size_t length, NetHeader& header);

    uint32_t copies_ = 0;
    uint8_t frame_[kMaxGsoFrame];
    uint8_t segment_[kMaxPlainFrame];
};
