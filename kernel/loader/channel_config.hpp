// Shared-memory channels between VMs: the top-level `channels` node of a VM
// configuration (docs/config.md, "Channels"). Each child is one channel: a
// region of `size` bytes that Vireo allocates once, zeroed, and maps into
// each member VM (a child node named after the VM) at that VM's `address`,
// read-write or `read-only`; each member also gets the channel's doorbell
// page (kernel/devices/channel/doorbell.hpp). Members are numbered in the
// order of the file: that is the peer index a doorbell rings.
//
// parse() checks everything the file alone can say and fills a record per
// channel node, bad ones marked (ok == false) with a message naming file,
// node and property; a bad channel is left out, the VMs still start.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/loader/config.hpp"

struct ChannelMember {
    char vm[VmConfig::kNameSize] = {}; // the VM's name (its node in the file)
    size_t vm_index = 0;               // into the VmConfig records parse() was given
    uint64_t ipa = 0;                  // where the region appears in that VM
    bool writable = true;              // false: `read-only` (stage 2 refuses the VM's writes)
    uint32_t doorbell = 0;             // the VM's doorbell page number for this channel (0 for its first channel)
};

struct ChannelConfig {
    static constexpr size_t kNameSize = 32;
    static constexpr size_t kMaxMembers = 8; // bits of a doorbell's PENDING register in use

    char name[kNameSize] = {};
    uint64_t size = 0;
    ChannelMember members[kMaxMembers];
    size_t member_count = 0;
    bool ok = false;
    char error[256] = {};
};

namespace channel_config {

constexpr const char* kNode = "channels";
constexpr size_t kMaxChannels = 16; // in one configuration
constexpr size_t kMaxPerVm = 8;     // doorbell pages in a VM's window
constexpr uint64_t kMaxSize = 1ull << 30;
/// A VM's doorbell pages: page k for its k-th channel (in file order), and
/// the SPI each raises.
constexpr uint64_t kDoorbellBase = 0x0a100000;
constexpr uint64_t kDoorbellSize = 0x1000;
constexpr uint32_t kIntidBase = 96;

inline uint64_t doorbell_ipa(uint32_t doorbell) { return kDoorbellBase + kDoorbellSize * doorbell; }
inline uint32_t intid(uint32_t doorbell) { return kIntidBase + doorbell; }

/// Is the node at `node` of `blob` the channels node (not a VM)?
bool is_channels_node(const void* blob, int node);

/// Parses /channels of the configuration `blob` (already checked by
/// vm_config::parse, which gave `vms[0..vm_count)`), read from `file_name`:
/// one record per channel node into out[0..max), in file order; returns how
/// many. Members must be VMs of the file that parsed well; a VM's region
/// must stay clear of its RAM, the device window, its explicit passthrough
/// devices and its other channels' regions.
size_t parse(const void* blob, const char* file_name, const VmConfig* vms, size_t vm_count, ChannelConfig* out,
             size_t max);

} // namespace channel_config
