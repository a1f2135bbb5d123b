// The switch of one virtual network between VMs (docs/config.md,
// "Networks"): where an Ethernet frame from a port goes. Vireo gives every
// port its MAC address, so the switch learns nothing a guest could fill or
// spoof: a unicast frame goes to the port whose address it names (nowhere
// if that is the sender's own), a broadcast or multicast frame to every
// other port, within the sender's share (storm control), and a unicast
// frame to an address no port owns only to the ports that bridge other
// hosts. A frame whose source address is not the sender's own is dropped,
// unless the port bridges; even a bridging port cannot send as another
// port. Every drop is counted per port.
// Pure logic: host tests and a fuzz target drive it.
#pragma once

#include <stddef.h>
#include <stdint.h>

class NetSwitch {
public:
    static constexpr uint32_t kMaxPorts = 16;
    static constexpr size_t kHeader = 14; // destination, source, EtherType
    // Storm control: each port may flood (broadcast or multicast) a burst
    // of kFloodBurst frames, refilled at kFloodPerMs frames a millisecond.
    static constexpr uint32_t kFloodBurst = 64;
    static constexpr uint32_t kFloodPerMs = 1;

    /// Why a frame went nowhere (or less far than asked).
    enum class Drop : uint8_t {
        None,
        Runt,    // shorter than an Ethernet header
        Spoofed, // source address not the port's own (or multicast, or another port's)
        Storm,   // a broadcast or multicast over the port's share
        Unknown, // unicast to an address no port owns, and no port bridges
    };
    struct Route {
        uint32_t to; // bit n: port n
        Drop drop;
    };
    /// What one port's frames came to (since it attached or was last reset).
    struct Counts {
        uint64_t spoofed = 0;
        uint64_t storm = 0;
        uint64_t unknown = 0;
    };

    /// A port for a new member with address `mac` (unicast); `bridges`: it
    /// may send frames from other addresses (not other ports') and gets
    /// unicast frames to addresses no port owns. -1 when the switch is
    /// full or `mac` is already a port's.
    int attach(const uint8_t (&mac)[6], bool bridges);
    uint32_t ports() const { return ports_; }
    /// Where frame [frame, frame + length) from port `from` goes, at time
    /// `now_ms` (milliseconds, any origin, never decreasing).
    Route route(uint32_t from, const uint8_t* frame, size_t length, uint64_t now_ms);
    /// The port's VM restarted: its counts and flood share start afresh.
    void reset(uint32_t port);
    const Counts& counts(uint32_t port) const { return ports_data_[port].counts; }

private:
    struct Port {
        uint8_t mac[6];
        bool bridges;
        uint32_t flood_tokens;
        uint64_t refilled_ms;
        Counts counts;
    };
    /// The port whose address `mac` is, or -1.
    int owner(const uint8_t* mac) const;
    bool may_flood(Port& port, uint64_t now_ms);

    Port ports_data_[kMaxPorts] = {};
    uint32_t ports_ = 0;
};
