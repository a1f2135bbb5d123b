// A virtio network device on the virtio-mmio transport, version 2 (virtio
// 1.2: 4.2.2 for the registers, 5.1 for the device), as Vireo gives a VM
// for each virtual network it joins (docs/config.md, "Networks"). Two
// queues: 0 receive, 1 transmit; features VERSION_1, MAC and STATUS (link
// up), nothing else (no checksum offload, no GSO, no merged receive
// buffers: a frame is at most 1514 bytes and fills one receive chain).
//
// Pure logic, not thread-safe: the VM layer (kernel/vm/networks.cpp) holds
// a lock around every call, and moves frames between devices itself, so
// that no device's lock is held while another's is taken.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/devices/mmio/mmio_bus.hpp"
#include "kernel/devices/virtio/virtqueue.hpp"

class VirtioNet final : public MmioDevice {
public:
    static constexpr uint64_t kSize = 0x200;
    static constexpr size_t kHeader = 12;     // struct virtio_net_hdr with VERSION_1 (num_buffers included)
    static constexpr size_t kMaxFrame = 1514; // MTU 1500 and the Ethernet header
    static constexpr size_t kMinFrame = 14;   // an Ethernet header
    static constexpr uint32_t kNeedsReset = 64;
    static constexpr uint32_t kDriverOk = 4;

    struct Owner {
        GuestRam* ram;
        void (*set_line)(void* context, bool level);    // its SPI
        void (*broken)(void* context, const char* why); // the device now needs a reset (once per reset)
        void* context;
    };
    void init(const Owner& owner, const uint8_t (&mac)[6]);
    /// Device reset (Status = 0, or the VM restarts).
    void reset();

    bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) override;
    bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value) override;
    const char* name() const override { return "the virtio network device"; }
    const char* refusal(uint64_t offset, unsigned size, bool write) const override;

    /// The driver notified the transmit queue since the last call.
    bool take_tx_kick()
    {
        const bool kicked = tx_kick_;
        tx_kick_ = false;
        return kicked;
    }
    /// The next frame the driver gave to send, copied to `frame` (room for
    /// kMaxFrame bytes), its chain given back as used; false when there is
    /// none. A chain that is broken, or too short or too long for a frame,
    /// is given back unsent (a broken one also wants a reset).
    bool take_frame(uint8_t* frame, size_t& length);
    /// Puts a frame into the next receive chain; false (dropped) when the
    /// driver is not ready, has posted no chain or one too small.
    bool deliver(const uint8_t* frame, size_t length);
    const uint8_t* mac() const { return mac_; }

    uint64_t dropped = 0; // frames for this device that found no receive chain

private:
    void needs_reset(const char* why);
    void write_status(uint32_t value);
    void raise(uint32_t bits);
    void update_line();
    bool running() const { return (status_ & kDriverOk) != 0 && (status_ & kNeedsReset) == 0; }
    Virtqueue* selected() { return queue_sel_ < 2 ? &queues_[queue_sel_] : nullptr; }

    Owner owner_{};
    uint8_t mac_[6] = {};
    Virtqueue queues_[2]; // 0 receive, 1 transmit
    uint32_t status_ = 0;
    uint32_t device_features_sel_ = 0;
    uint32_t driver_features_sel_ = 0;
    uint64_t driver_features_ = 0;
    uint32_t queue_sel_ = 0;
    uint32_t interrupt_status_ = 0;
    bool line_ = false;
    bool tx_kick_ = false;
};
