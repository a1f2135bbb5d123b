// One step of a port's transmit work on a virtual network (docs/config.md,
// "Networks"): frames taken from the sender's transmit queue, routed by
// the switch and copied into the receivers' receive queues, until the
// step's budget is spent. A guest can keep its queue full for as long as
// it likes (from another vCPU, say), so no step may run until the queue is
// empty: the VM layer does one step per exit and the rest in steps on the
// sender's time (kernel/vm/networks.cpp, kernel/sched).
// Pure logic: the VM layer supplies the locked operations, the fuzz
// target plain ones.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/devices/virtio/virtio_net.hpp"

class FramePump {
public:
    // Each frame taken from the transmit queue and each copy delivered
    // counts one. A step stops taking frames once it has spent this much,
    // so it copies at most kCopiesPerStep + kMaxReceivers frames (of at
    // most VirtioNet::kMaxFrame bytes).
    static constexpr uint32_t kCopiesPerStep = 16;
    static constexpr uint32_t kMaxReceivers = 16;

    /// One step; true if the queue may hold more (the budget ran out
    /// before it was empty).
    bool step();
    /// Copies the last step made (taken and delivered).
    uint32_t last_copies() const { return copies_; }

protected:
    ~FramePump() = default;
    /// The sender's next frame, copied to `frame`; false when there is none.
    virtual bool take(uint8_t* frame, size_t& length) = 0;
    /// The ports (bit n: port n, n < kMaxReceivers) a frame goes to.
    virtual uint32_t route(const uint8_t* frame, size_t length) = 0;
    /// Puts the frame into port `port`'s receive queue; false if there is no such port.
    virtual bool deliver(uint32_t port, const uint8_t* frame, size_t length) = 0;

private:
    uint32_t copies_ = 0;
};
