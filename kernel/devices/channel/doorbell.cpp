#include "kernel/devices/channel/doorbell.hpp"

void Doorbell::init(ChannelPorts& channel, uint32_t self, Region region, const Owner& owner)
{
    channel_ = &channel;
    self_ = self;
    region_ = region;
    owner_ = owner;
    pending_ = 0;
    ring_time_ = 0;
}

bool Doorbell::ring(uint32_t peer)
{
    Doorbell* target = channel_ != nullptr ? channel_->at(peer) : nullptr;
    if (target == nullptr) {
        return false;
    }
    target->rung_by(self_, owner_.now());
    __atomic_fetch_add(&rings_sent_, 1u, __ATOMIC_RELAXED);
    return true;
}

void Doorbell::rung_by(uint32_t member, uint64_t when)
{
    __atomic_store_n(&ring_time_, when - owner_.cntvoff, __ATOMIC_RELAXED);
    __atomic_fetch_add(&rings_got_, 1u, __ATOMIC_RELAXED);
    // Release: what the ringing VM wrote before its ring (its stores come
    // before this in its CPU's program order, exceptions included) is seen by
    // whoever takes the bit with the acquire in take_pending().
    const uint32_t before = __atomic_fetch_or(&pending_, 1u << member, __ATOMIC_ACQ_REL);
    if (before == 0) {
        owner_.set_line(owner_.context, owner_.intid, true);
    }
}

uint32_t Doorbell::take_pending()
{
    const uint32_t taken = __atomic_exchange_n(&pending_, 0u, __ATOMIC_ACQ_REL);
    owner_.set_line(owner_.context, owner_.intid, false);
    // A ring between the exchange and the lowering would be lost: look again.
    // (The other order, a ring raising the line after it was taken, costs at
    // most one interrupt that finds PENDING empty.)
    if (__atomic_load_n(&pending_, __ATOMIC_ACQUIRE) != 0) {
        owner_.set_line(owner_.context, owner_.intid, true);
    }
    return taken;
}

void Doorbell::reset()
{
    __atomic_store_n(&pending_, 0u, __ATOMIC_RELEASE);
    __atomic_store_n(&ring_time_, 0ull, __ATOMIC_RELAXED);
    if (owner_.set_line != nullptr) {
        owner_.set_line(owner_.context, owner_.intid, false);
    }
}

namespace {

/// A 64-bit register at `base` read whole (8 bytes at `base`) or by halves
/// (4 bytes at `base` or `base` + 4); false for other accesses.
bool part(uint64_t reg, uint64_t base, uint64_t offset, unsigned size, uint64_t& value)
{
    if (size == 8 && offset == base) {
        value = reg;
    } else if (size == 4 && (offset == base || offset == base + 4)) {
        value = offset == base ? reg & 0xffffffffu : reg >> 32;
    } else {
        return false;
    }
    return true;
}

} // namespace

bool Doorbell::read(uint32_t, uint64_t offset, unsigned size, uint64_t& value)
{
    if (offset >= kShmBase && offset < kShmBase + 8) {
        return part(region_.ipa, kShmBase, offset, size, value);
    }
    if (offset >= kShmSize && offset < kShmSize + 8) {
        return part(region_.size, kShmSize, offset, size, value);
    }
    if (offset >= kRingTime && offset < kRingTime + 8) {
        return part(__atomic_load_n(&ring_time_, __ATOMIC_RELAXED), kRingTime, offset, size, value);
    }
    if (size != 4) {
        return false;
    }
    switch (offset) {
    case kMagic: value = kMagicValue; return true;
    case kVersion: value = 1; return true;
    case kPeers: value = peers(); return true;
    case kSelf: value = self_; return true;
    case kPending: value = take_pending(); return true;
    case kFlags: value = region_.writable ? 1 : 0; return true;
    default: return false; // RING is write-only; the rest is not there
    }
}

bool Doorbell::write(uint32_t, uint64_t offset, unsigned size, uint64_t value)
{
    if (offset != kRing || size != 4) {
        return false; // everything else is read-only
    }
    ring(static_cast<uint32_t>(value)); // an absent member: ignored
    return true;
}

const char* Doorbell::refusal(uint64_t offset, unsigned, bool write) const
{
    // SHM_BASE, SHM_SIZE and RING_TIME are 64-bit, the others 32-bit.
    const bool wide = (offset >= kShmBase && offset < kFlags) || (offset >= kRingTime && offset < kRingTime + 8);
    const bool narrow = (offset <= kPending && offset % 4 == 0) || offset == kFlags;
    if (!wide && !narrow) {
        return "no register at this offset";
    }
    if (write) {
        return offset == kRing ? "RING takes 4-byte writes" : "a read-only register";
    }
    if (offset == kRing) {
        return "RING is write-only";
    }
    return wide ? "a 64-bit register, read as 8 bytes or by 4-byte halves" : "a 32-bit register, read as 4 bytes";
}
