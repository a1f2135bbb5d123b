#include "kernel/devices/virtio/net_switch.hpp"

#include <string.h>

int NetSwitch::attach()
{
    if (ports_ == kMaxPorts) {
        return -1;
    }
    return static_cast<int>(ports_++);
}

uint32_t NetSwitch::route(uint32_t from, const uint8_t* frame, size_t length)
{
    if (length < kHeader || from >= ports_) {
        return 0;
    }
    const uint8_t* dst = frame;
    const uint8_t* src = frame + 6;
    clock_++;
    // Learn the source (a multicast source is bogus: not learned).
    if ((src[0] & 1) == 0) {
        Entry* slot = nullptr;
        for (Entry& e : table_) {
            if (e.used && memcmp(e.mac, src, 6) == 0) {
                slot = &e;
                break;
            }
        }
        if (slot == nullptr) {
            slot = &table_[0];
            for (Entry& e : table_) {
                if (!e.used) {
                    slot = &e;
                    break;
                }
                if (e.stamp < slot->stamp) {
                    slot = &e;
                }
            }
            memcpy(slot->mac, src, 6);
            slot->used = true;
        }
        slot->port = static_cast<uint8_t>(from);
        slot->stamp = clock_;
    }
    const uint32_t others = ((ports_ == 32 ? ~0u : (1u << ports_) - 1)) & ~(1u << from);
    if (dst[0] & 1) {
        return others; // broadcast and multicast
    }
    for (const Entry& e : table_) {
        if (e.used && memcmp(e.mac, dst, 6) == 0) {
            return e.port == from ? 0 : 1u << e.port;
        }
    }
    return others; // unknown unicast: flooded
}

void NetSwitch::forget(uint32_t port)
{
    for (Entry& e : table_) {
        if (e.used && e.port == port) {
            e.used = false;
        }
    }
}
