#include "kernel/devices/virtio/frame_pump.hpp"

bool FramePump::step()
{
    uint8_t frame[VirtioNet::kMaxFrame];
    copies_ = 0;
    while (copies_ < kCopiesPerStep) {
        size_t length = 0;
        if (!take(frame, length)) {
            return false;
        }
        copies_++;
        uint32_t to = route(frame, length);
        for (uint32_t p = 0; to != 0 && p < kMaxReceivers; p++, to >>= 1) {
            if ((to & 1) != 0 && deliver(p, frame, length)) {
                copies_++;
            }
        }
    }
    return true;
}
