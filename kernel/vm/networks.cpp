#include "kernel/vm/networks.hpp"

#include <string.h>

#include "kernel/console/console.hpp"
#include "kernel/devices/gic/vgic.hpp"
#include "kernel/devices/vm_host.hpp"
#include "platform/cpu.hpp"

namespace vm_networks {

struct Network {
    char name[kNameSize] = {};
    SpinLock lock; // the switch
    NetSwitch sw;
    NetPort* ports[NetSwitch::kMaxPorts] = {}; // published with release stores
};

namespace {

constinit Network networks[kMaxNetworks] = {};
constinit size_t network_count = 0;
constinit SpinLock networks_lock;

Network* find_or_make(const char* name)
{
    LockGuard guard(networks_lock);
    for (size_t i = 0; i < network_count; i++) {
        if (strcmp(networks[i].name, name) == 0) {
            return &networks[i];
        }
    }
    if (network_count == kMaxNetworks) {
        return nullptr;
    }
    Network& n = networks[network_count++];
    strncpy(n.name, name, sizeof n.name - 1);
    return &n;
}

} // namespace

const char* NetPort::join(const char* name, VmHost& vm, Vgic& vgic, uint32_t intid, const char* vm_name, bool bridges)
{
    vm_ = &vm;
    vgic_ = &vgic;
    intid_ = intid;
    uint8_t mac[6];
    mac_for(vm_name, name, mac);
    const VirtioNet::Owner owner{this,
                                 [](void* context, bool level) {
                                     auto* self = static_cast<NetPort*>(context);
                                     vgic::set_spi_level(*self->vgic_, self->intid_, level);
                                 },
                                 [](void* context, const char* why) {
                                     auto* self = static_cast<NetPort*>(context);
                                     self->needed_reset_++; // under lock_: the device calls it
                                     if (self->vm_->should_log_fault()) {
                                         log_info("vm %s: network %s: %s: the device needs a reset",
                                                  self->vm_->vm_name(), self->network_name(), why);
                                     }
                                 },
                                 this,
                                 [](void* context, const char* why) {
                                     auto* self = static_cast<NetPort*>(context);
                                     if (self->vm_->should_log_fault()) {
                                         log_info("vm %s: network %s: %s: frame dropped", self->vm_->vm_name(),
                                                  self->network_name(), why);
                                     }
                                 }};
    device_.init(owner, mac);
    // Then onto the switch: from here on, other VMs' frames may come.
    Network* network = find_or_make(name);
    static_assert(kMaxNetworks == 16 && NetSwitch::kMaxPorts == 16, "the messages below say 16");
    static_assert(NetSwitch::kMaxPorts <= FramePump::kMaxReceivers);
    if (network == nullptr) {
        return "no room (a configuration has at most 16 networks)";
    }
    int port;
    {
        LockGuard guard(network->lock);
        port = network->sw.attach(mac, bridges);
    }
    if (port < 0) {
        return network->sw.ports() == NetSwitch::kMaxPorts
                   ? "no room (at most 16 VMs on a network)"
                   : "its MAC address is another VM's on this network (the names hash alike: rename one)";
    }
    network_ = network;
    port_ = static_cast<uint32_t>(port);
    __atomic_store_n(&network->ports[port_], this, __ATOMIC_RELEASE);
    return nullptr;
}

const char* NetPort::network_name() const { return network_ != nullptr ? network_->name : "?"; }

void NetPort::reset()
{
    {
        LockGuard guard(lock_);
        device_.reset();
        device_.dropped = 0;
        sent_ = received_ = bytes_sent_ = bytes_received_ = needed_reset_ = 0;
        logged_ = 0;
    }
    if (network_ != nullptr) {
        LockGuard guard(network_->lock);
        network_->sw.reset(port_);
    }
}

NetPort::Counts NetPort::counts()
{
    Counts c;
    {
        LockGuard guard(lock_);
        c.sent = sent_;
        c.received = received_;
        c.bytes_sent = bytes_sent_;
        c.bytes_received = bytes_received_;
        c.needed_reset = needed_reset_;
        c.no_buffer = device_.dropped;
    }
    if (network_ != nullptr) {
        LockGuard guard(network_->lock);
        c.refused = network_->sw.counts(port_);
    }
    return c;
}

bool NetPort::read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value)
{
    LockGuard guard(lock_);
    return device_.read(vcpu, offset, size, value);
}

bool NetPort::write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value)
{
    bool ok;
    bool kicked;
    {
        LockGuard guard(lock_);
        ok = device_.write(vcpu, offset, size, value);
        kicked = device_.take_tx_kick();
    }
    // A step on the sender's vCPU, in its QueueNotify exit; what is left
    // over is done in steps on its time before its guest runs again, so a
    // queue the guest keeps filling (from another vCPU, say) cannot hold
    // this CPU for longer than a step.
    if (kicked && !vm_->defer_work(vcpu) && transmit_step()) {
        vm_->owe_work(vcpu);
    }
    return ok;
}

uint8_t* NetPort::at(uint64_t ipa, uint64_t size) { return size != 0 ? vm_->ram_at(ipa, size) : nullptr; }

namespace {

uint64_t now_ms()
{
    const uint64_t per_ms = arch::read_cntfrq() / 1000;
    return arch::counter() / (per_ms != 0 ? per_ms : 1); // a firmware that left CNTFRQ unset: a tick a "ms"
}

} // namespace

bool NetPort::take(uint8_t* frame, size_t& length, NetHeader& header)
{
    LockGuard guard(lock_);
    return device_.take_frame(frame, length, header);
}

uint32_t NetPort::route(const uint8_t* frame, size_t length)
{
    if (network_ == nullptr) {
        return 0; // on no network: dropped
    }
    NetSwitch::Route route;
    {
        LockGuard guard(network_->lock);
        route = network_->sw.route(port_, frame, length, now_ms());
    }
    if (route.drop != NetSwitch::Drop::None) {
        note_refused(route.drop, frame);
    } else {
        LockGuard guard(lock_);
        sent_++;
        bytes_sent_ += length;
    }
    return route.to;
}

NetPort* NetPort::peer(uint32_t port) const
{
    return port < NetSwitch::kMaxPorts ? __atomic_load_n(&network_->ports[port], __ATOMIC_ACQUIRE) : nullptr;
}

Offloads NetPort::offloads(uint32_t port)
{
    NetPort* target = peer(port);
    if (target == nullptr) {
        return {};
    }
    LockGuard guard(target->lock_);
    return target->device_.offloads();
}

bool NetPort::deliver(uint32_t port, const uint8_t* frame, size_t length, const NetHeader& header)
{
    NetPort* target = peer(port);
    if (target == nullptr) {
        return false;
    }
    // Its offloads may have changed since offloads() (a reset): the device
    // drops a frame it no longer takes.
    LockGuard guard(target->lock_);
    if (target->device_.deliver(frame, length, header)) {
        target->received_++;
        target->bytes_received_ += length;
    }
    return true;
}

void NetPort::note_refused(NetSwitch::Drop drop, const uint8_t* frame)
{
    const uint32_t bit = 1u << static_cast<unsigned>(drop);
    {
        LockGuard guard(lock_);
        if ((logged_ & bit) != 0) {
            return;
        }
        logged_ |= bit;
    }
    if (!vm_->should_log_fault()) {
        return;
    }
    const uint8_t* src = frame + 6;
    switch (drop) {
    case NetSwitch::Drop::Spoofed:
        log_info("vm %s: network %s: frames from %02x:%02x:%02x:%02x:%02x:%02x, not its MAC address: dropped "
                 "(counted; bridged-networks lets a VM send from other addresses)",
                 vm_->vm_name(), network_name(), src[0], src[1], src[2], src[3], src[4], src[5]);
        break;
    case NetSwitch::Drop::Storm:
        log_info("vm %s: network %s: broadcast and multicast frames over its share (%u at once, %u a second): "
                 "dropped (counted)",
                 vm_->vm_name(), network_name(), NetSwitch::kFloodBurst, NetSwitch::kFloodPerMs * 1000);
        break;
    default: break; // runts and unicast to nobody: counted only, as an Ethernet loses them
    }
}

} // namespace vm_networks
