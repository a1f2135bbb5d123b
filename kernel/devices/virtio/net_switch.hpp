// The learning switch of one virtual network between VMs (docs/config.md,
// "Networks"): where an Ethernet frame from a port goes. A frame to a
// broadcast or multicast address, or to a unicast address the switch has
// not seen as a source yet, goes to every other port (flooding); one to a
// learned address goes to that port only (or nowhere, if that is the
// sender's own). Each frame's source address is learned for its port.
// Pure logic: host tests and a fuzz target drive it.
#pragma once

#include <stddef.h>
#include <stdint.h>

class NetSwitch {
public:
    static constexpr uint32_t kMaxPorts = 16;
    static constexpr size_t kTable = 64;  // learned addresses; the oldest goes first
    static constexpr size_t kHeader = 14; // destination, source, EtherType

    /// A port for a new member; -1 when the switch is full.
    int attach();
    uint32_t ports() const { return ports_; }
    /// The ports (bit n: port n) frame [frame, frame + length) from port
    /// `from` goes to; learns its source. A runt (shorter than a header)
    /// goes nowhere.
    uint32_t route(uint32_t from, const uint8_t* frame, size_t length);
    /// The port forgets what it learned (its VM restarted).
    void forget(uint32_t port);

private:
    struct Entry {
        uint8_t mac[6];
        uint8_t port;
        bool used;
        uint64_t stamp;
    };
    Entry table_[kTable] = {};
    uint32_t ports_ = 0;
    uint64_t clock_ = 0;
};
