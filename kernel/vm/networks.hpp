// Virtual networks between VMs (docs/config.md, "Networks"): each network
// a VM configuration names in `networks` is a switch that knows every
// port's address (kernel/devices/virtio/net_switch.hpp), and each VM on it
// gets a virtio network device (kernel/devices/virtio/virtio_net.hpp) for
// it: a NetPort, which adds the locking the device model leaves out and
// moves frames from a sender's transmit chains to the receivers' receive
// chains, a step's budget per exit (kernel/devices/virtio/frame_pump.hpp;
// the rest on the sender's time, in steps: Vcpu::device_work).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/base/spinlock.hpp"
#include "kernel/devices/mmio/mmio_bus.hpp"
#include "kernel/devices/virtio/frame_pump.hpp"
#include "kernel/devices/virtio/net_switch.hpp"
#include "kernel/devices/virtio/virtio_net.hpp"
#include "kernel/loader/network_config.hpp"

class VmHost;
struct Vgic;

namespace vm_networks {

constexpr size_t kMaxPerVm = 4;     // networks one VM joins
constexpr size_t kMaxNetworks = 16; // in a configuration
constexpr size_t kNameSize = 32;
using network_config::device_ipa;
using network_config::intid;
using network_config::kStride;
using network_config::mac_for;

struct Network;

class NetPort final : public MmioDevice, public GuestRam, private FramePump {
public:
    /// Joins network `name` (made on first use), as a bridge of other
    /// hosts if `bridges`; nullptr, or why it could not (the device then
    /// stays unconnected: what it sends goes nowhere).
    const char* join(const char* name, VmHost& vm, Vgic& vgic, uint32_t intid, const char* vm_name, bool bridges);
    /// The VM restarts: the device reset, its switch port's counts and share afresh.
    void reset();
    /// One step of transmit work (FramePump: at most a step's budget of
    /// copies); true if the transmit queue may hold more.
    bool transmit_step() { return step(); }

    /// What went through the port since the VM (re)started.
    struct Counts {
        uint64_t sent = 0;       // frames the switch took from it
        uint64_t received = 0;   // frames put into its receive chains
        uint64_t bytes_sent = 0; // their Ethernet frames' bytes (a segmentation offload's frame whole)
        uint64_t bytes_received = 0;
        uint64_t needed_reset = 0; // times the device went into NEEDS_RESET (a driver's bad queue or descriptor)
        uint64_t no_buffer = 0;    // frames for it that found no receive chain
        NetSwitch::Counts refused; // frames it sent that the switch dropped, by reason
    };
    Counts counts();

    bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) override;
    bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value) override;
    uint8_t* at(uint64_t ipa, uint64_t size) override;
    const char* name() const override { return "the virtio network device"; }
    const char* refusal(uint64_t offset, unsigned size, bool write) const override
    {
        return device_.refusal(offset, size, write);
    }

    const uint8_t* mac() const { return device_.mac(); }
    const char* network_name() const;

private:
    // FramePump: each under its own lock, never two at once.
    bool take(uint8_t* frame, size_t& length, NetHeader& header) override;
    uint32_t route(const uint8_t* frame, size_t length) override;
    Offloads offloads(uint32_t port) override;
    bool deliver(uint32_t port, const uint8_t* frame, size_t length, const NetHeader& header) override;
    /// The port `port` of this port's network, or nullptr.
    NetPort* peer(uint32_t port) const;
    /// One log line for the first frame of each kind the switch refused since the VM started.
    void note_refused(NetSwitch::Drop drop, const uint8_t* frame);

    SpinLock lock_; // the device and the counts
    VirtioNet device_;
    uint64_t sent_ = 0;
    uint64_t received_ = 0;
    uint64_t bytes_sent_ = 0;
    uint64_t bytes_received_ = 0;
    uint64_t needed_reset_ = 0;
    uint32_t logged_ = 0; // bit n: a frame refused for reason n was logged
    Network* network_ = nullptr;
    uint32_t port_ = 0;
    VmHost* vm_ = nullptr;
    Vgic* vgic_ = nullptr;
    uint32_t intid_ = 0;
};

} // namespace vm_networks
