// A channel's doorbell as one member VM sees it: a 4 KiB page of emulated
// registers (docs/config.md, "Channels") through which the VM rings a peer
// (setting the VM's bit in the peer's PENDING and raising the peer's SPI)
// and takes the rings it got. The register map:
//
//   0x00 MAGIC      RO  0x4e484356 ("VCHN")
//   0x04 VERSION    RO  1
//   0x08 PEERS      RO  the members of the channel, this VM included
//   0x0c SELF       RO  this VM's index among them (the bit it sets in a peer's PENDING)
//   0x10 RING       WO  write a member's index: ring it (an absent member: ignored)
//   0x14 PENDING    RO  bit i: member i rang since the last read; the read clears them
//                       and lowers the SPI. Read it before reading what the peers
//                       wrote: that read orders their writes before yours.
//   0x18 SHM_BASE   RO  64-bit: where the channel's region is in this VM
//   0x20 SHM_SIZE   RO  64-bit: its bytes
//   0x28 FLAGS      RO  bit 0: the region is writable for this VM
//   0x30 RING_TIME  RO  64-bit: this VM's virtual counter when it was last rung
//
// 32-bit accesses to any register, 64-bit ones to the 64-bit registers;
// anything else faults in the guest. Pure logic: the owner's SPI line and
// the clock come in as functions, so host tests drive it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/devices/mmio/mmio_bus.hpp"

class Doorbell;

/// The doorbells of one channel's members, by member index; nullptr where
/// that VM did not start. Published with release stores: a member's VM may
/// already run (and ring) while a later one is built.
struct ChannelPorts {
    static constexpr uint32_t kMax = 8;
    Doorbell* ports[kMax] = {};
    uint32_t count = 0;

    Doorbell* at(uint32_t index) const
    {
        return index < count ? __atomic_load_n(&ports[index], __ATOMIC_ACQUIRE) : nullptr;
    }
    void publish(uint32_t index, Doorbell* port) { __atomic_store_n(&ports[index], port, __ATOMIC_RELEASE); }
};

class Doorbell final : public MmioDevice {
public:
    static constexpr uint64_t kSize = 0x1000;
    static constexpr uint64_t kMagic = 0x00;
    static constexpr uint64_t kVersion = 0x04;
    static constexpr uint64_t kPeers = 0x08;
    static constexpr uint64_t kSelf = 0x0c;
    static constexpr uint64_t kRing = 0x10;
    static constexpr uint64_t kPending = 0x14;
    static constexpr uint64_t kShmBase = 0x18;
    static constexpr uint64_t kShmSize = 0x20;
    static constexpr uint64_t kFlags = 0x28;
    static constexpr uint64_t kRingTime = 0x30;
    static constexpr uint32_t kMagicValue = 0x4e484356;

    /// The VM this doorbell belongs to.
    struct Owner {
        void (*set_line)(void* context, uint32_t intid, bool level); // its SPI
        void* context;
        uint32_t intid;
        uint64_t (*now)();    // the physical counter
        uint64_t cntvoff = 0; // its virtual counter = physical - cntvoff
    };
    struct Region {
        uint64_t ipa = 0;
        uint64_t size = 0;
        bool writable = true;
    };

    /// Before the owner's virtual GIC is set up: the line is not touched.
    void init(ChannelPorts& channel, uint32_t self, Region region, const Owner& owner);

    /// Rings member `peer` (any member, this one included); false if there
    /// is no such member or its VM did not start.
    bool ring(uint32_t peer);
    /// The PENDING bits, cleared; the SPI lowered.
    uint32_t take_pending();
    uint32_t peers() const { return channel_ != nullptr ? channel_->count : 0; }
    uint32_t self() const { return self_; }
    const Region& region() const { return region_; }
    /// The owner VM restarts: nothing pending, the line low.
    void reset();
    /// Rings this member made (of any member, itself included) and got, since boot.
    uint64_t rings_sent() const { return __atomic_load_n(&rings_sent_, __ATOMIC_RELAXED); }
    uint64_t rings_got() const { return __atomic_load_n(&rings_got_, __ATOMIC_RELAXED); }

    bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) override;
    bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value) override;
    const char* name() const override { return "the doorbell"; }
    const char* refusal(uint64_t offset, unsigned size, bool write) const override;

private:
    void rung_by(uint32_t member, uint64_t when);

    ChannelPorts* channel_ = nullptr;
    uint32_t self_ = 0;
    Region region_;
    Owner owner_{};
    uint32_t pending_ = 0;    // atomic: rung from any CPU
    uint64_t ring_time_ = 0;  // atomic: the owner's virtual counter at the last ring
    uint64_t rings_sent_ = 0; // atomic (relaxed, statistics): rung by the owner's vCPUs
    uint64_t rings_got_ = 0;  // atomic (relaxed, statistics): rung from any CPU
};
