#include "kernel/devices/virtio/frame_pump.hpp"

namespace {

/// One per kMaxPlainFrame bytes begun.
uint32_t copies_of(size_t length)
{
    return length <= kMaxPlainFrame ? 1 : static_cast<uint32_t>((length + kMaxPlainFrame - 1) / kMaxPlainFrame);
}

} // namespace

bool FramePump::step()
{
    copies_ = 0;
    while (copies_ < kCopiesPerStep) {
        size_t length = 0;
        NetHeader header;
        if (!take(frame_, length, header)) {
            return false;
        }
        copies_ += copies_of(length);
        uint32_t to = route(frame_, length);
        for (uint32_t p = 0; to != 0 && p < kMaxReceivers; p++, to >>= 1) {
            if ((to & 1) != 0) {
                copies_ += deliver_to(p, length, header);
            }
        }
    }
    return true;
}

uint32_t FramePump::deliver_to(uint32_t port, size_t length, NetHeader& header)
{
    const Offloads accepts = offloads(port);
    if (accepts.takes_whole(header)) {
        return deliver(port, frame_, length, header) ? copies_of(length) : 0;
    }
    if (header.gso() == NetHeader::kGsoNone) {
        // A checksum to complete, once: every later receiver then gets a
        // frame whose checksum is known good (5.1.6.3.2: DATA_VALID).
        complete_checksum(header, frame_, length);
        header.flags = NetHeader::kDataValid;
        return deliver(port, frame_, length, header) ? 1 : 0;
    }
    const TcpSegments segments(header, frame_, length);
    NetHeader plain;
    plain.flags = accepts.csum ? NetHeader::kDataValid : 0; // their checksums are computed
    uint32_t copies = 0;
    for (size_t i = 0; i < segments.count(); i++) {
        const size_t n = segments.make(i, segment_);
        copies += deliver(port, segment_, n, plain) ? 1 : 0;
    }
    return copies;
}
