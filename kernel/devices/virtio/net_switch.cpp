#include "kernel/devices/virtio/net_switch.hpp"

#include <string.h>

namespace {

bool multicast(const uint8_t* mac) { return (mac[0] & 1) != 0; } // broadcast included

} // namespace

int NetSwitch::attach(const uint8_t (&mac)[6], bool bridges)
{
    if (ports_ == kMaxPorts || multicast(mac) || owner(mac) >= 0) {
        return -1;
    }
    Port& p = ports_data_[ports_];
    memcpy(p.mac, mac, sizeof p.mac);
    p.bridges = bridges;
    reset(ports_);
    return static_cast<int>(ports_++);
}

void NetSwitch::reset(uint32_t port)
{
    Port& p = ports_data_[port];
    p.flood_tokens = kFloodBurst;
    p.refilled_ms = 0;
    p.counts = {};
}

int NetSwitch::owner(const uint8_t* mac) const
{
    for (uint32_t p = 0; p < ports_; p++) {
        if (memcmp(ports_data_[p].mac, mac, 6) == 0) {
            return static_cast<int>(p);
        }
    }
    return -1;
}

bool NetSwitch::may_flood(Port& port, uint64_t now_ms)
{
    // A token bucket: kFloodPerMs tokens a millisecond, at most kFloodBurst.
    if (now_ms > port.refilled_ms) {
        const uint64_t gained = (now_ms - port.refilled_ms) * kFloodPerMs;
        port.flood_tokens =
            gained >= kFloodBurst - port.flood_tokens ? kFloodBurst : port.flood_tokens + static_cast<uint32_t>(gained);
        port.refilled_ms = now_ms;
    }
    if (port.flood_tokens == 0) {
        return false;
    }
    port.flood_tokens--;
    return true;
}

NetSwitch::Route NetSwitch::route(uint32_t from, const uint8_t* frame, size_t length, uint64_t now_ms)
{
    if (length < kHeader || from >= ports_) {
        return {0, Drop::Runt};
    }
    Port& sender = ports_data_[from];
    const uint8_t* dst = frame;
    const uint8_t* src = frame + 6;
    const int src_owner = owner(src);
    const bool own_source = src_owner == static_cast<int>(from);
    if (!own_source && (!sender.bridges || src_owner >= 0 || multicast(src))) {
        sender.counts.spoofed++;
        return {0, Drop::Spoofed};
    }
    const uint32_t all = (1u << ports_) - 1; // kMaxPorts < 32
    const uint32_t others = all & ~(1u << from);
    if (multicast(dst)) {
        if (!may_flood(sender, now_ms)) {
            sender.counts.storm++;
            return {0, Drop::Storm};
        }
        return {others, Drop::None};
    }
    const int to = owner(dst);
    if (to >= 0) {
        return {to == static_cast<int>(from) ? 0 : 1u << to, Drop::None};
    }
    uint32_t bridges = 0;
    for (uint32_t p = 0; p < ports_; p++) {
        bridges |= ports_data_[p].bridges ? 1u << p : 0;
    }
    if ((bridges & others) == 0) {
        sender.counts.unknown++;
        return {0, Drop::Unknown};
    }
    return {bridges & others, Drop::None};
}
