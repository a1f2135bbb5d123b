#include "platform/gic_its.hpp"

#include "platform/cpu.hpp"
#include "platform/mmio.hpp"

namespace {

// ITS_base registers (IHI 0069, 12.19).
constexpr uint64_t kCtlr = 0x0000;
constexpr uint64_t kTyper = 0x0008;
constexpr uint64_t kCbaser = 0x0080;
constexpr uint64_t kCwriter = 0x0088;
constexpr uint64_t kCreadr = 0x0090;
constexpr uint64_t kBaser = 0x0100;
constexpr uint32_t kCtlrEnabled = 1;
constexpr uint32_t kCtlrQuiescent = 1u << 31;
constexpr uint64_t kTyperPta = 1ull << 19;

// Redistributor RD_base registers (12.11).
constexpr uint64_t kGicrCtlr = 0x0000;
constexpr uint64_t kGicrTyper = 0x0008;
constexpr uint64_t kGicrPropbaser = 0x0070;
constexpr uint64_t kGicrPendbaser = 0x0078;
constexpr uint64_t kGicrTyperPlpis = 1;
constexpr uint32_t kGicrCtlrEnableLpis = 1;

// Table attributes: Normal inner write-back read/write-allocate, inner
// shareable. An ITS that cannot honour them reads back something else;
// Vireo cleans what it writes to the point of coherency either way.
constexpr uint64_t kInnerWb = 7ull << 59;  // GITS_BASER/CBASER InnerCache
constexpr uint64_t kRdInnerWb = 7ull << 7; // GICR_PROPBASER/PENDBASER InnerCache
constexpr uint64_t kInnerShareable = 1ull << 10;
constexpr uint64_t kValid = 1ull << 63;
constexpr uint64_t kPendPtz = 1ull << 62;
constexpr uint64_t kTypeDevices = 1;
constexpr uint64_t kTypeCollections = 4;
constexpr uint64_t kQueueBytes = 4096;
constexpr uint32_t kMaxCpus = 64;
constexpr uint8_t kLpiPriority = 0x80; // Vireo's priority for everything (platform/gic.cpp)
constexpr uint8_t kLpiRes1 = 2;        // property byte bit 1 is RES1
constexpr uint32_t kSpinLimit = 1u << 24;

constexpr uint8_t kMovi = 0x01, kSync = 0x05, kMapd = 0x08, kMapc = 0x09, kMapti = 0x0a, kInv = 0x0c, kDiscard = 0x0f;

uint32_t rd32(uint64_t a) { return mmio::read<uint32_t>(a); }
void wr32(uint64_t a, uint32_t v) { mmio::write<uint32_t>(a, v); }
uint64_t rd64(uint64_t a) { return mmio::read<uint64_t>(a); }
void wr64(uint64_t a, uint64_t v) { mmio::write<uint64_t>(a, v); }

void clean(const void* p, uint64_t size) { arch::clean_dcache_to_poc(p, static_cast<size_t>(size)); }

/// Programs GITS_BASER<n> for a table of `entries` entries: the smallest
/// page size the ITS accepts that keeps it within 256 pages, memory from
/// `alloc`. False if neither works.
bool table(uint64_t reg, uint64_t entries, HostIts::Allocator alloc)
{
    const uint64_t esz = ((rd64(reg) >> 48) & 0x1f) + 1;
    const uint64_t bytes = entries * esz;
    for (uint64_t field = 0; field < 3; field++) {
        const uint64_t page = field == 0 ? 4096 : field == 1 ? 16384 : 65536;
        const uint64_t pages = (bytes + page - 1) / page;
        wr64(reg, field << 8);
        if (((rd64(reg) >> 8) & 3) != field || pages > 256) {
            continue; // that page size is not offered, or too small for the table
        }
        const uint64_t pa = alloc(pages * page, page);
        if (pa == 0) {
            return false;
        }
        clean(reinterpret_cast<void*>(pa), pages * page); // zeroed: no entry valid
        wr64(reg, kValid | kInnerWb | kInnerShareable | pa | field << 8 | (pages - 1));
        return (rd64(reg) & kValid) != 0;
    }
    return false;
}

} // namespace

const char* HostIts::init(uint64_t base, Allocator alloc)
{
    base_ = base;
    if (rd32(base + kCtlr) & kCtlrEnabled) {
        wr32(base + kCtlr, 0); // firmware left it on: off, and wait until it is idle
    }
    for (uint32_t i = 0; i < kSpinLimit && !(rd32(base + kCtlr) & kCtlrQuiescent); i++) {
    }
    if (!(rd32(base + kCtlr) & kCtlrQuiescent)) {
        return "it does not become quiescent";
    }
    typer_ = rd64(base + kTyper);
    if (!(typer_ & 1)) {
        return "it has no physical LPIs (GITS_TYPER.Physical)";
    }
    itt_entry_size_ = static_cast<uint32_t>((typer_ >> 4) & 0xf) + 1;
    device_bits_ = static_cast<uint32_t>((typer_ >> 13) & 0x1f) + 1;
    device_bits_ = device_bits_ > 16 ? 16 : device_bits_; // PCI requester IDs
    for (uint64_t n = 0; n < 8; n++) {
        const uint64_t reg = base + kBaser + 8 * n;
        const uint64_t type = (rd64(reg) >> 56) & 7;
        if (type == kTypeDevices && !table(reg, 1ull << device_bits_, alloc)) {
            return "no memory for its device table";
        }
        if (type == kTypeCollections && !table(reg, kMaxCpus, alloc)) {
            return "no memory for its collection table";
        }
        if (type != kTypeDevices && type != kTypeCollections && type != 0) {
            wr64(reg, 0); // vPE tables and the like: not used
        }
    }
    queue_ = reinterpret_cast<uint64_t*>(alloc(kQueueBytes, kQueueBytes));
    properties_ = reinterpret_cast<uint8_t*>(alloc(kLpis, 4096));
    if (queue_ == nullptr || properties_ == nullptr) {
        return "no memory for its command queue or the LPI property table";
    }
    for (uint32_t i = 0; i < kLpis; i++) {
        properties_[i] = kLpiPriority | kLpiRes1; // all disabled until mapped
    }
    clean(properties_, kLpis);
    clean(queue_, kQueueBytes);
    wr64(base + kCbaser, kValid | kInnerWb | kInnerShareable | reinterpret_cast<uint64_t>(queue_));
    wr64(base + kCwriter, 0);
    cwriter_ = 0;
    wr32(base + kCtlr, kCtlrEnabled);
    return nullptr;
}

const char* HostIts::add_cpu(uint32_t cpu, uint64_t rd, Allocator alloc)
{
    if (cpu >= kMaxCpus) {
        return "beyond the CPUs Vireo's collection table holds";
    }
    const uint64_t typer = rd64(rd + kGicrTyper);
    if (!(typer & kGicrTyperPlpis)) {
        return "its redistributor has no LPIs";
    }
    if (rd32(rd + kGicrCtlr) & kGicrCtlrEnableLpis) {
        // Its tables cannot be changed any more (12.11.2: EnableLPIs may be one-way).
        return "LPIs were enabled before Vireo ran";
    }
    // 2^kIdBits / 8 bytes of pending bits, in a 64 KiB-aligned table.
    const uint64_t pending = alloc(65536, 65536);
    if (pending == 0) {
        return "no memory for its LPI pending table";
    }
    clean(reinterpret_cast<void*>(pending), (1u << kIdBits) / 8);
    wr64(rd + kGicrPropbaser, reinterpret_cast<uint64_t>(properties_) | kRdInnerWb | kInnerShareable | (kIdBits - 1));
    wr64(rd + kGicrPendbaser, pending | kRdInnerWb | kInnerShareable | kPendPtz);
    arch::dsb_ish();
    wr32(rd + kGicrCtlr, rd32(rd + kGicrCtlr) | kGicrCtlrEnableLpis);
    // MAPC's RDbase: the redistributor's address or its processor number (GITS_TYPER.PTA).
    rd_target_[cpu] = (typer_ & kTyperPta) ? (rd & 0x000fffffffff0000ull) : ((typer >> 8) & 0xffff) << 16;
    command(kMapc, 0, kValid | rd_target_[cpu] | cpu, 0);
    sync(cpu);
    return nullptr;
}

bool HostIts::map_device(uint32_t device, uint32_t event_bits, Allocator alloc)
{
    if (device >> device_bits_ || event_bits == 0 || event_bits > ((typer_ >> 8) & 0x1f) + 1) {
        return false;
    }
    Device* d = nullptr;
    for (uint32_t i = 0; i < device_count_; i++) {
        if (devices_[i].id == device && devices_[i].event_bits >= event_bits) {
            d = &devices_[i];
        }
    }
    if (d == nullptr) {
        const uint64_t bytes = (uint64_t{1} << event_bits) * itt_entry_size_;
        const uint64_t itt = device_count_ < 32 ? alloc(bytes < 4096 ? 4096 : bytes, 4096) : 0;
        if (itt == 0) {
            return false;
        }
        clean(reinterpret_cast<void*>(itt), bytes);
        d = &devices_[device_count_++];
        *d = {device, event_bits, itt};
    }
    command(uint64_t{device} << 32 | kMapd, 0, 0, 0); // whatever it had is gone
    command(uint64_t{device} << 32 | kMapd, d->event_bits - 1, kValid | d->itt, 0);
    sync(0);
    return true;
}

void HostIts::unmap_device(uint32_t device)
{
    command(uint64_t{device} << 32 | kMapd, 0, 0, 0);
    sync(0);
}

void HostIts::set_lpi(uint32_t lpi, bool enabled)
{
    uint8_t& entry = properties_[lpi - kFirstLpi];
    entry = static_cast<uint8_t>(kLpiPriority | kLpiRes1 | (enabled ? 1 : 0));
    clean(&entry, 1); // the redistributors read it from memory at the INV
}

void HostIts::map_event(uint32_t device, uint32_t event, uint32_t lpi, uint32_t cpu)
{
    set_lpi(lpi, true);
    command(uint64_t{device} << 32 | kMapti, uint64_t{lpi} << 32 | event, cpu, 0);
    command(uint64_t{device} << 32 | kInv, event, 0, 0);
    sync(cpu);
}

void HostIts::move_event(uint32_t device, uint32_t event, uint32_t cpu)
{
    command(uint64_t{device} << 32 | kMovi, event, cpu, 0);
    sync(cpu);
}

void HostIts::unmap_event(uint32_t device, uint32_t event, uint32_t lpi)
{
    set_lpi(lpi, false);
    command(uint64_t{device} << 32 | kInv, event, 0, 0);
    command(uint64_t{device} << 32 | kDiscard, event, 0, 0);
    sync(0);
}

void HostIts::sync(uint32_t cpu) { command(kSync, 0, rd_target_[cpu < kMaxCpus ? cpu : 0], 0); }

void HostIts::command(uint64_t dw0, uint64_t dw1, uint64_t dw2, uint64_t dw3)
{
    uint64_t* slot = queue_ + cwriter_ / 8;
    slot[0] = dw0;
    slot[1] = dw1;
    slot[2] = dw2;
    slot[3] = dw3;
    clean(slot, 32); // the ITS reads the queue from memory
    cwriter_ = (cwriter_ + 32) % kQueueBytes;
    wr64(base_ + kCwriter, cwriter_);
    // One command at a time: the queue never fills, and when this returns
    // the ITS has done it (after a SYNC, so have the redistributors).
    for (uint32_t i = 0; i < kSpinLimit; i++) {
        if ((rd64(base_ + kCreadr) & 0xfffe0) == cwriter_) {
            return;
        }
    }
    command_failures_++;
}
