// Virtual networks between VMs (docs/config.md, "Networks"): each network
// a VM configuration names in `networks` is a learning switch
// (kernel/devices/virtio/net_switch.hpp), and each VM on it gets a virtio
// network device (kernel/devices/virtio/virtio_net.hpp) for it: a NetPort,
// which adds the locking the device model leaves out and moves frames from
// a sender's transmit chains to the receivers' receive chains.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/base/spinlock.hpp"
#include "kernel/devices/mmio/mmio_bus.hpp"
#include "kernel/devices/virtio/net_switch.hpp"
#include "kernel/devices/virtio/virtio_net.hpp"

class VmHost;
struct Vgic;

namespace vm_networks {

constexpr size_t kMaxPerVm = 4;        // networks one VM joins
constexpr size_t kMaxNetworks = 16;    // in a configuration
constexpr uint64_t kBase = 0x0a200000; // the VM's device for its n-th network: kBase + n * kStride
constexpr uint64_t kStride = 0x1000;
constexpr uint32_t kIntidBase = 104; // and its SPI: kIntidBase + n
constexpr size_t kNameSize = 32;

inline uint64_t device_ipa(uint32_t n) { return kBase + kStride * n; }
inline uint32_t intid(uint32_t n) { return kIntidBase + n; }

/// The MAC address of VM `vm`'s device on network `network`: locally
/// administered, unicast, the rest a hash of the two names (stable across boots).
void mac_for(const char* vm, const char* network, uint8_t (&mac)[6]);

struct Network;

class NetPort final : public MmioDevice, public GuestRam {
public:
    /// Joins network `name` (made on first use); false when there are too
    /// many networks or the network has no port left.
    bool join(const char* name, VmHost& vm, Vgic& vgic, uint32_t intid, const char* vm_name);
    /// The VM restarts: the device reset, what the switch learned of it forgotten.
    void reset();

    bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) override;
    bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value) override;
    uint8_t* at(uint64_t ipa, uint64_t size) override;

    const uint8_t* mac() const { return device_.mac(); }
    const char* network_name() const;

private:
    void transmit();
    void receive(const uint8_t* frame, size_t length);

    SpinLock lock_; // the device
    VirtioNet device_;
    Network* network_ = nullptr;
    uint32_t port_ = 0;
    VmHost* vm_ = nullptr;
    Vgic* vgic_ = nullptr;
    uint32_t intid_ = 0;
};

} // namespace vm_networks
