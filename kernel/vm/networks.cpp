#include "kernel/vm/networks.hpp"

#include <string.h>

#include "kernel/console/console.hpp"
#include "kernel/devices/gic/vgic.hpp"
#include "kernel/devices/vm_host.hpp"

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

uint64_t fnv1a(uint64_t hash, const char* text)
{
    for (; *text != '\0'; text++) {
        hash = (hash ^ static_cast<uint8_t>(*text)) * 0x100000001b3ull;
    }
    return hash;
}

} // namespace

void mac_for(const char* vm, const char* network, uint8_t (&mac)[6])
{
    const uint64_t hash = fnv1a(fnv1a(fnv1a(0xcbf29ce484222325ull, vm), "/"), network);
    mac[0] = 0x02; // locally administered, unicast
    for (int i = 1; i < 6; i++) {
        mac[i] = static_cast<uint8_t>(hash >> (8 * (i - 1)));
    }
}

bool NetPort::join(const char* name, VmHost& vm, Vgic& vgic, uint32_t intid, const char* vm_name)
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
                                     if (self->vm_->should_log_fault()) {
                                         log_info("vm %s: network %s: %s: the device needs a reset",
                                                  self->vm_->vm_name(), self->network_name(), why);
                                     }
                                 },
                                 this};
    device_.init(owner, mac);
    // Then onto the switch: from here on, other VMs' frames may come.
    Network* network = find_or_make(name);
    int port = -1;
    if (network != nullptr) {
        LockGuard guard(network->lock);
        port = network->sw.attach();
    }
    if (port < 0) {
        return false; // a device on no network: what it sends goes nowhere
    }
    network_ = network;
    port_ = static_cast<uint32_t>(port);
    __atomic_store_n(&network->ports[port_], this, __ATOMIC_RELEASE);
    return true;
}

const char* NetPort::network_name() const { return network_ != nullptr ? network_->name : "?"; }

void NetPort::reset()
{
    {
        LockGuard guard(lock_);
        device_.reset();
    }
    if (network_ != nullptr) {
        LockGuard guard(network_->lock);
        network_->sw.forget(port_);
    }
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
    if (kicked) {
        transmit(); // on the sender's vCPU, in its QueueNotify exit
    }
    return ok;
}

uint8_t* NetPort::at(uint64_t ipa, uint64_t size)
{
    const uint64_t pa = size != 0 ? vm_->ram_pa_of(ipa, size) : 0;
    return pa != 0 ? reinterpret_cast<uint8_t*>(pa) : nullptr; // RAM is identity-mapped at EL2
}

void NetPort::transmit()
{
    // One frame at a time, no two locks held at once: this device's to take
    // the frame, the switch's to route it, each receiver's to deliver it.
    uint8_t frame[VirtioNet::kMaxFrame];
    for (;;) {
        size_t length = 0;
        {
            LockGuard guard(lock_);
            if (!device_.take_frame(frame, length)) {
                return;
            }
        }
        if (network_ == nullptr) {
            continue; // on no network: dropped
        }
        uint32_t to;
        {
            LockGuard guard(network_->lock);
            to = network_->sw.route(port_, frame, length);
        }
        for (uint32_t p = 0; to != 0; p++, to >>= 1) {
            NetPort* target = (to & 1) ? __atomic_load_n(&network_->ports[p], __ATOMIC_ACQUIRE) : nullptr;
            if (target != nullptr) {
                target->receive(frame, length);
            }
        }
    }
}

void NetPort::receive(const uint8_t* frame, size_t length)
{
    LockGuard guard(lock_);
    device_.deliver(frame, length);
}

} // namespace vm_networks
