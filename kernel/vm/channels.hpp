// The channels between VMs at run time: each good channel of the
// configuration (kernel/loader/channel_config.hpp) with its region, which
// is allocated once, zeroed and cleaned to the point of coherency (a guest
// may read it with its caches off), and its members' doorbells, which the
// members' VMs publish as they are built (kernel/vm/build.cpp).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/devices/channel/doorbell.hpp"
#include "kernel/loader/channel_config.hpp"

namespace vm_channels {

struct Channel {
    const ChannelConfig* config = nullptr;
    uint64_t pa = 0; // the region, host-physical
    ChannelPorts ports;
};

/// Takes the channel records of the configuration: reports each bad one
/// (left out, the VMs still start), allocates the region of each good one
/// (one that finds no memory is reported and left out).
void set_up(const ChannelConfig* configs, size_t count);

size_t count();
Channel& at(size_t index);

} // namespace vm_channels
