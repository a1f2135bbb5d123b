// Where a VM's virtual network devices appear and the MAC addresses they
// get (docs/config.md, "Networks"): fixed by the configuration alone, so
// Vireo (kernel/vm/networks.cpp) and vireo-check agree. Pure logic.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace network_config {

constexpr uint64_t kBase = 0x0a200000; // the VM's device for its n-th network: kBase + n * kStride
constexpr uint64_t kStride = 0x1000;
constexpr uint32_t kIntidBase = 104; // and its SPI: kIntidBase + n

inline uint64_t device_ipa(uint32_t n) { return kBase + kStride * n; }
inline uint32_t intid(uint32_t n) { return kIntidBase + n; }

/// The MAC address of VM `vm`'s device on network `network`: locally
/// administered, unicast, the rest a hash of the two names (stable across boots).
void mac_for(const char* vm, const char* network, uint8_t (&mac)[6]);

} // namespace network_config
