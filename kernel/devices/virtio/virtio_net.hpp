// A virtio network device on the virtio-mmio transport, version 2 (virtio
// 1.2: 4.2.2 for the registers, 5.1 for the device), as Vireo gives a VM
// for each virtual network it joins (docs/config.md, "Networks"). Two
// queues: 0 receive, 1 transmit; features VERSION_1, MAC, STATUS (link
// up), checksum and TCP segmentation offload both ways (CSUM, GUEST_CSUM,
// HOST_/GUEST_TSO4, TSO6 and ECN: kernel/devices/virtio/net_offload.hpp),
// merged receive buffers (MRG_RXBUF: a frame of up to 64 KiB spread over
// several receive chains) and EVENT_IDX.
//
// Pure logic, not thread-safe: the VM layer (kernel/vm/networks.cpp) holds
// a lock around every call, and moves frames between devices itself, so
// that no device's lock is held while another's is taken.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/devices/mmio/mmio_bus.hpp"
#include "kernel/devices/virtio/net_offload.hpp"
#include "kernel/devices/virtio/virtqueue.hpp"

class VirtioNet final : public MmioDevice {
public:
    static constexpr uint64_t kSize = 0x200;
    static constexpr size_t kHeader = NetHeader::kSize;  // struct virtio_net_hdr with VERSION_1 (num_buffers included)
    static constexpr size_t kMaxFrame = kMaxPlainFrame;  // MTU 1500 and the Ethernet header
    static constexpr size_t kMaxBigFrame = kMaxGsoFrame; // a TCP segmentation offload's frame
    static constexpr size_t kMinFrame = 14;              // an Ethernet header
    static constexpr uint32_t kNeedsReset = 64;
    static constexpr uint32_t kDriverOk = 4;

    struct Owner {
        GuestRam* ram;
        void (*set_line)(void* context, bool level);    // its SPI
        void (*broken)(void* context, const char* why); // the device now needs a reset (once per reset)
        void* context;
        void (*dropped)(void* context, const char* why) = nullptr; // a frame it sent was refused, and why
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
    /// kMaxBigFrame bytes), with its virtio-net header; its chain given back
    /// as used; false when there is none. A chain that is broken, too short
    /// or too long for a frame, or whose header asks for an offload the
    /// frame does not allow (check_offload(): Owner::dropped says why) is
    /// given back unsent (a broken one also wants a reset).
    bool take_frame(uint8_t* frame, size_t& length, NetHeader& header);
    /// Puts a frame with header `header` into the next receive chain (with
    /// MRG_RXBUF, as many as it needs); false (dropped) when the driver is
    /// not ready, has not posted chains enough, or did not take the
    /// offload the header asks for (offloads()).
    bool deliver(const uint8_t* frame, size_t length, const NetHeader& header);
    /// What the driver accepted as a receiver (nothing until DRIVER_OK).
    Offloads offloads() const;
    const uint8_t* mac() const { return mac_; }

    uint64_t dropped = 0; // frames for this device that found no receive chain

private:
    void needs_reset(const char* why);
    void write_status(uint32_t value);
    void raise(uint32_t bits);
    void update_line();
    bool running() const { return (status_ & kDriverOk) != 0 && (status_ & kNeedsReset) == 0; }
    bool negotiated(uint64_t feature) const { return (driver_features_ & feature) != 0; }
    /// Gives back a receive chain's worth of used entries and chains: the frame did not fit.
    bool undeliver(uint16_t chains, uint16_t used);
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
