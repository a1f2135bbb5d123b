#include "kernel/devices/gic/vgic_lpi.hpp"

#include <string.h>

#include "kernel/devices/mmio/reg64.hpp"

using reg64::half;
using reg64::merge;

namespace {

// RD_base registers (IHI 0069, 12.11).
constexpr uint64_t kCtlr = 0x0000;
constexpr uint64_t kPropbaser = 0x0070;
constexpr uint64_t kPendbaser = 0x0078;
constexpr uint64_t kInvlpir = 0x00a0;
constexpr uint64_t kInvallr = 0x00b0;
constexpr uint64_t kSyncr = 0x00c0;

constexpr uint64_t kCtlrEnableLpis = 1;
constexpr uint64_t kCacheShare = 7ull << 56 | 3ull << 10 | 7ull << 7; // OuterCache, Shareability, InnerCache
constexpr uint64_t kPropAddress = ((1ull << 52) - 1) & ~0xfffull;
constexpr uint64_t kPropIdBits = 0x1f;
constexpr uint64_t kPendAddress = ((1ull << 52) - 1) & ~0xffffull;
constexpr uint64_t kPendPtz = 1ull << 62;
// The pending table's first 1 KiB stands for INTIDs 0-8191: no LPIs.
constexpr uint64_t kPendLpiOffset = VirtualLpis::kFirst / 8;

} // namespace

void VirtualLpis::reset(uint32_t vcpus)
{
    vcpus_ = vcpus == 0 ? 1 : vcpus > kMaxVcpus ? kMaxVcpus : vcpus;
    memset(rd_, 0, sizeof rd_); // all fields zero: LPIs off, nothing cached or pending
}

bool VirtualLpis::owns(uint64_t offset)
{
    const uint64_t word = offset & ~7ull;
    return offset == kCtlr || word == kPropbaser || word == kPendbaser || word == kInvlpir || word == kInvallr ||
           offset == kSyncr;
}

void VirtualLpis::read(uint32_t target, uint64_t offset, unsigned size, uint64_t& value) const
{
    value = 0;
    if (target >= vcpus_) {
        return;
    }
    const Redistributor& rd = rd_[target];
    int shift;
    if (offset == kCtlr && size == 4) {
        value = rd.enabled ? kCtlrEnableLpis : 0; // RWP and UWP: never busy
    } else if ((shift = half(offset, kPropbaser, size)) >= 0) {
        value = reg64::part(rd.propbaser, size, shift);
    } else if ((shift = half(offset, kPendbaser, size)) >= 0) {
        value = reg64::part(rd.pendbaser & ~kPendPtz, size, shift); // PTZ reads as zero
    }
    // GICR_SYNCR.Busy, INVLPIR and INVALLR: zero (invalidation is done by the write).
}

const char* VirtualLpis::write(uint32_t target, uint64_t offset, unsigned size, uint64_t value, GuestRam& ram)
{
    if (target >= vcpus_) {
        return nullptr;
    }
    Redistributor& rd = rd_[target];
    int shift;
    if (offset == kCtlr && size == 4) {
        const bool on = (value & kCtlrEnableLpis) != 0;
        if (on && !rd.enabled) {
            return enable(rd, ram);
        }
        if (!on && rd.enabled) {
            disable(rd, ram);
        }
    } else if ((shift = half(offset, kPropbaser, size)) >= 0) {
        // While LPIs are enabled the tables are the redistributor's: a
        // change would be UNPREDICTABLE (12.11.25); it is ignored.
        if (!rd.enabled) {
            rd.propbaser = merge(rd.propbaser, value, size, shift) & (kCacheShare | kPropAddress | kPropIdBits);
        }
    } else if ((shift = half(offset, kPendbaser, size)) >= 0) {
        if (!rd.enabled) {
            rd.pendbaser = merge(rd.pendbaser, value, size, shift) & (kCacheShare | kPendAddress | kPendPtz);
        }
    } else if (half(offset, kInvlpir, size) == 0) {
        if (!invalidate(target, static_cast<uint32_t>(value), ram)) {
            return "its LPI property table (GICR_PROPBASER) is no longer in its RAM";
        }
    } else if (half(offset, kInvallr, size) == 0) {
        if (!invalidate_all(target, ram)) {
            return "its LPI property table (GICR_PROPBASER) is no longer in its RAM";
        }
    }
    return nullptr;
}

uint8_t* VirtualLpis::property_table(const Redistributor& rd, GuestRam& ram)
{
    return ram.at(rd.propbaser & kPropAddress, rd.usable);
}

uint8_t* VirtualLpis::pending_table(const Redistributor& rd, GuestRam& ram)
{
    return ram.at((rd.pendbaser & kPendAddress) + kPendLpiOffset, rd.usable / 8);
}

void VirtualLpis::cache(Redistributor& rd, uint32_t index, uint8_t config)
{
    rd.config[index] = config;
    const uint32_t bit = 1u << (index % 32);
    rd.enable[index / 32] = (config & 1) ? rd.enable[index / 32] | bit : rd.enable[index / 32] & ~bit;
}

const char* VirtualLpis::enable(Redistributor& rd, GuestRam& ram)
{
    // INTIDs below 2^(IDbits + 1), at most GICD_TYPER's (12.11.25).
    uint32_t bits = static_cast<uint32_t>(rd.propbaser & kPropIdBits) + 1;
    bits = bits > kIdBits ? kIdBits : bits;
    const uint32_t ids = 1u << bits;
    rd.usable = ids <= kFirst ? 0 : ids - kFirst > kCount ? kCount : ids - kFirst;
    if (rd.usable != 0 && property_table(rd, ram) == nullptr) {
        return "its LPI property table (GICR_PROPBASER) is not in its RAM";
    }
    if (rd.usable != 0 && pending_table(rd, ram) == nullptr) {
        return "its LPI pending table (GICR_PENDBASER) is not in its RAM";
    }
    rd.enabled = true;
    invalidate_all(static_cast<uint32_t>(&rd - rd_), ram);
    memset(rd.pending, 0, sizeof rd.pending);
    if (rd.usable != 0 && !(rd.pendbaser & kPendPtz)) {
        memcpy(rd.pending, pending_table(rd, ram), rd.usable / 8); // bit n of byte k: LPI 8k + n, as in a word
    }
    for (uint32_t w = 0; w < kWords; w++) {
        note_pending(rd, w);
    }
    rd.pendbaser &= ~kPendPtz; // it described the table then, not later
    return nullptr;
}

void VirtualLpis::disable(Redistributor& rd, GuestRam& ram)
{
    // The pending state goes back to the table, where re-enabling finds it.
    if (uint8_t* table = rd.usable != 0 ? pending_table(rd, ram) : nullptr) {
        memcpy(table, rd.pending, rd.usable / 8);
    }
    rd.enabled = false;
    rd.usable = 0;
    memset(rd.config, 0, sizeof rd.config);
    memset(rd.enable, 0, sizeof rd.enable);
    memset(rd.pending, 0, sizeof rd.pending);
    rd.pending_words = 0;
}

void VirtualLpis::set_pending(uint32_t vcpu, uint32_t intid, bool pending)
{
    if (vcpu >= vcpus_ || !is_lpi(intid) || !rd_[vcpu].enabled) {
        return;
    }
    const uint32_t index = intid - kFirst;
    uint32_t& word = rd_[vcpu].pending[index / 32];
    word = pending ? word | 1u << (index % 32) : word & ~(1u << (index % 32));
    note_pending(rd_[vcpu], index / 32);
}

bool VirtualLpis::pending(uint32_t vcpu, uint32_t intid) const
{
    if (vcpu >= vcpus_ || !is_lpi(intid)) {
        return false;
    }
    const uint32_t index = intid - kFirst;
    return (rd_[vcpu].pending[index / 32] >> (index % 32)) & 1;
}

void VirtualLpis::withdraw(uint32_t vcpu, uint32_t intid)
{
    if (vcpu >= vcpus_ || !is_lpi(intid)) {
        return;
    }
    set_pending(vcpu, intid, false);
    const uint32_t index = intid - kFirst;
    rd_[vcpu].withdrawn[index / 32] |= 1u << (index % 32);
    rd_[vcpu].recheck = true;
}

bool VirtualLpis::withdrawn(uint32_t vcpu, uint32_t intid) const
{
    const uint32_t index = intid - kFirst;
    return vcpu < vcpus_ && is_lpi(intid) && ((rd_[vcpu].withdrawn[index / 32] >> (index % 32)) & 1);
}

void VirtualLpis::follow(uint32_t vcpu, uint32_t intid, uint32_t to)
{
    if (vcpu >= vcpus_ || to >= vcpus_ || !is_lpi(intid)) {
        return;
    }
    for (Redistributor::Follow& f : rd_[vcpu].follows) {
        if (f.to == 0 || f.index == intid - kFirst) {
            f = {static_cast<uint16_t>(intid - kFirst), static_cast<uint8_t>(to + 1)};
            return;
        }
    }
    // More MOVIs between two entries of the vCPU than are kept: this one
    // is raised at its target if a list register holds it (as MOVALL).
    rd_[vcpu].move_to = static_cast<uint8_t>(to + 1);
}

int VirtualLpis::followed_to(uint32_t vcpu, uint32_t intid) const
{
    if (vcpu >= vcpus_ || !is_lpi(intid)) {
        return -1;
    }
    for (const Redistributor::Follow& f : rd_[vcpu].follows) {
        if (f.to != 0 && f.index == intid - kFirst) {
            return f.to - 1;
        }
    }
    return -1;
}

void VirtualLpis::rechecked(uint32_t vcpu)
{
    if (vcpu < vcpus_) {
        memset(rd_[vcpu].withdrawn, 0, sizeof rd_[vcpu].withdrawn);
        rd_[vcpu].reconfigured = false;
        rd_[vcpu].recheck = false;
        rd_[vcpu].move_to = 0;
        memset(rd_[vcpu].follows, 0, sizeof rd_[vcpu].follows);
    }
}

void VirtualLpis::move_all(uint32_t from, uint32_t to)
{
    if (from >= vcpus_ || to >= vcpus_ || from == to) {
        return;
    }
    // What `from`'s list registers hold pending moves too: they are
    // looked over at its next entry (moved_to()).
    rd_[from].recheck = true;
    rd_[from].move_to = static_cast<uint8_t>(to + 1);
    for (uint32_t w = 0; w < kWords; w++) {
        if (rd_[to].enabled) {
            rd_[to].pending[w] |= rd_[from].pending[w];
        }
        rd_[from].pending[w] = 0;
        note_pending(rd_[to], w);
        note_pending(rd_[from], w);
    }
}

bool VirtualLpis::invalidate(uint32_t vcpu, uint32_t intid, GuestRam& ram)
{
    if (vcpu >= vcpus_ || !is_lpi(intid) || !rd_[vcpu].enabled || intid - kFirst >= rd_[vcpu].usable) {
        return true; // nothing cached for it
    }
    Redistributor& rd = rd_[vcpu];
    const uint8_t* table = property_table(rd, ram);
    if (table == nullptr) {
        return false;
    }
    cache(rd, intid - kFirst, table[intid - kFirst]);
    rd.reconfigured = rd.recheck = true; // a list register may hold it at its old priority
    return true;
}

bool VirtualLpis::invalidate_all(uint32_t vcpu, GuestRam& ram)
{
    if (vcpu >= vcpus_ || !rd_[vcpu].enabled || rd_[vcpu].usable == 0) {
        return true;
    }
    Redistributor& rd = rd_[vcpu];
    const uint8_t* table = property_table(rd, ram);
    if (table == nullptr) {
        return false;
    }
    for (uint32_t i = 0; i < rd.usable; i++) {
        cache(rd, i, table[i]);
    }
    rd.reconfigured = rd.recheck = true;
    return true;
}

uint32_t VirtualLpis::deliverable_mask(uint32_t vcpu, uint32_t word) const
{
    if (vcpu >= vcpus_ || word >= kWords) {
        return 0;
    }
    const Redistributor& rd = rd_[vcpu];
    return rd.enabled ? rd.pending[word] & rd.enable[word] : 0;
}

bool VirtualLpis::anything_deliverable(uint32_t vcpu) const
{
    for (uint32_t words = pending_words(vcpu); words != 0; words &= words - 1) {
        if (deliverable_mask(vcpu, static_cast<uint32_t>(__builtin_ctz(words))) != 0) {
            return true;
        }
    }
    return false;
}
