#include "kernel/devices/gic/vgic_its.hpp"

#include <string.h>

#include "kernel/devices/mmio/reg64.hpp"

using reg64::half;
using reg64::merge;

namespace {

// ITS_base registers (IHI 0069, 12.19).
constexpr uint64_t kCtlr = 0x0000;
constexpr uint64_t kIidr = 0x0004;
constexpr uint64_t kTyper = 0x0008;
constexpr uint64_t kCbaser = 0x0080;
constexpr uint64_t kCwriter = 0x0088;
constexpr uint64_t kCreadr = 0x0090;
constexpr uint64_t kBaser = 0x0100; // GITS_BASER<n>, n = 0-7
constexpr uint64_t kPidr2 = 0xffe8;

constexpr uint32_t kCtlrEnabled = 1;
constexpr uint32_t kCtlrQuiescent = 1u << 31;
// ProductID 'V' (Vireo); no JEP106 implementer code is claimed.
constexpr uint32_t kIidrValue = 0x56u << 24;
constexpr uint32_t kPidr2Value = 0x30; // ArchRev: GICv3
// Physical LPIs, 8-byte ITT entries, 16-bit EventIDs and DeviceIDs, RDbase
// as a processor number (PTA 0), no collections held (HCC 0), no SEIS.
constexpr uint64_t kEntrySize = 8;
constexpr uint64_t kTyperValue =
    1 | (kEntrySize - 1) << 4 | uint64_t{VirtualIts::kIdBits - 1} << 8 | uint64_t{VirtualIts::kIdBits - 1} << 13;

constexpr uint64_t kValid = 1ull << 63;
constexpr uint64_t kIndirect = 1ull << 62;
constexpr uint64_t kAddress52 = ((1ull << 52) - 1) & ~0xfffull;
constexpr uint64_t kCbaserWritable = kValid | 7ull << 59 | 7ull << 53 | kAddress52 | 3ull << 10 | 0xff;
constexpr uint64_t kQueueOffset = 0xfffe0; // GITS_CWRITER/CREADR bits 19:5
constexpr uint64_t kStalled = 1;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kCommandSize = 32;
// GITS_BASER<n>: the writable fields (Valid, Indirect, caches, address,
// Shareability, PageSize, Size); Type and Entry_Size are fixed.
constexpr uint64_t kBaserWritable =
    kValid | kIndirect | 7ull << 59 | 7ull << 53 | 0x0000fffffffff000ull | 3ull << 10 | 3ull << 8 | 0xff;
constexpr uint64_t kTypeDevices = 1;
constexpr uint64_t kTypeCollections = 4;

constexpr uint8_t kMovi = 0x01, kInt = 0x03, kClear = 0x04, kSync = 0x05, kMapd = 0x08, kMapc = 0x09, kMapti = 0x0a,
                  kMapi = 0x0b, kInv = 0x0c, kInvall = 0x0d, kMovall = 0x0e, kDiscard = 0x0f;

/// A command's RDbase field (bits 51:16 of a doubleword): a processor
/// number, as GITS_TYPER.PTA is 0.
uint64_t rdbase(uint64_t dw) { return (dw >> 16) & 0xfffffffffull; }

} // namespace

uint64_t VirtualIts::Table::page_size() const
{
    const uint64_t field = (baser >> 8) & 3;
    return field == 0 ? 4096 : field == 1 ? 16384 : 65536;
}

uint64_t VirtualIts::Table::entries() const { return ((baser & 0xff) + 1) * page_size() / kEntrySize; }

void VirtualIts::reset(uint32_t vcpus)
{
    // Field by field: a temporary VirtualIts would not fit on Vireo's stack.
    // (host_ stays: the VM's functions are the same after a reset; the
    // host's translations were dropped by whoever reset the VM.)
    vcpus_ = vcpus == 0 ? 1 : vcpus;
    enabled_ = stalled_ = changed_ = false;
    cbaser_ = cwriter_ = creadr_ = 0;
    device_table_ = collection_table_ = Table{};
    memset(devices_, 0, sizeof devices_);
    memset(translations_, 0, sizeof translations_);
    memset(collection_, -1, sizeof collection_);
    raised_ = 0;
}

void VirtualIts::read(uint64_t offset, unsigned size, uint64_t& value, VirtualLpis& lpis, GuestRam& ram,
                      ItsReport& report)
{
    value = 0;
    int shift;
    if (offset == kCtlr && size == 4) {
        value = enabled_ ? kCtlrEnabled : kCtlrQuiescent; // commands finish before the access returns
    } else if (offset == kIidr && size == 4) {
        value = kIidrValue;
    } else if ((shift = half(offset, kTyper, size)) >= 0) {
        value = reg64::part(kTyperValue, size, shift);
    } else if ((shift = half(offset, kCbaser, size)) >= 0) {
        value = reg64::part(cbaser_, size, shift);
    } else if ((shift = half(offset, kCwriter, size)) >= 0) {
        value = reg64::part(cwriter_, size, shift);
    } else if ((shift = half(offset, kCreadr, size)) >= 0) {
        run(lpis, ram, report); // a driver waiting for its commands polls here
        value = reg64::part(creadr_ | (stalled_ ? kStalled : 0), size, shift);
    } else if (offset >= kBaser && offset < kBaser + 64) {
        const uint64_t n = (offset - kBaser) / 8;
        if ((shift = half(offset, kBaser + 8 * n, size)) >= 0 && n < 2) {
            const Table& table = n == 0 ? device_table_ : collection_table_;
            const uint64_t type = n == 0 ? kTypeDevices : kTypeCollections;
            value = reg64::part(table.baser | type << 56 | (kEntrySize - 1) << 48, size, shift);
        }
    } else if (offset == kPidr2 && size == 4) {
        value = kPidr2Value;
    }
}

void VirtualIts::write(uint64_t offset, unsigned size, uint64_t value, VirtualLpis& lpis, GuestRam& ram,
                       ItsReport& report)
{
    int shift;
    if (offset == kCtlr && size == 4) {
        enabled_ = (value & kCtlrEnabled) != 0;
        run(lpis, ram, report);
    } else if ((shift = half(offset, kCbaser, size)) >= 0) {
        // The queue is the ITS's while it is enabled (12.19.1: UNPREDICTABLE): ignored.
        if (!enabled_) {
            cbaser_ = merge(cbaser_, value, size, shift) & kCbaserWritable;
            creadr_ = 0; // as the architecture says a GITS_CBASER write does
            stalled_ = false;
        }
    } else if ((shift = half(offset, kCwriter, size)) >= 0) {
        const uint64_t offset_in_queue = merge(cwriter_, value, size, shift) & kQueueOffset;
        if (offset_in_queue >= ((cbaser_ & 0xff) + 1) * kPage) {
            stalled_ = true;
            report.queue_stalled("GITS_CWRITER is beyond the end of its command queue");
            return;
        }
        cwriter_ = offset_in_queue;
        stalled_ = false; // a valid GITS_CWRITER (with Retry or not) resumes the queue
        run(lpis, ram, report);
    } else if (offset >= kBaser && offset < kBaser + 16 && !enabled_) {
        const uint64_t n = (offset - kBaser) / 8;
        if ((shift = half(offset, kBaser + 8 * n, size)) >= 0) {
            Table& table = n == 0 ? device_table_ : collection_table_;
            table.baser = merge(table.baser, value, size, shift) & kBaserWritable;
            if (((table.baser >> 8) & 3) == 3) {
                table.baser &= ~(1ull << 8); // the reserved page size: 64 KiB
            }
        }
    } else if (offset == kTranslater && (size == 4 || size == 2)) {
        translate(kCpuDeviceId, static_cast<uint32_t>(value), lpis);
    }
}

void VirtualIts::run(VirtualLpis& lpis, GuestRam& ram, ItsReport& report)
{
    if (!enabled_ || !(cbaser_ & kValid) || stalled_) {
        return;
    }
    const uint64_t base = cbaser_ & kAddress52;
    const uint64_t size = ((cbaser_ & 0xff) + 1) * kPage;
    for (uint32_t n = 0; n < kCommandsPerStep && creadr_ != cwriter_; n++) {
        const uint8_t* at = ram.at(base + creadr_, kCommandSize);
        if (at == nullptr) {
            stalled_ = true;
            report.queue_stalled("its command queue (GITS_CBASER) is not in its RAM");
            return;
        }
        Command c;
        memcpy(c.dw, at, sizeof c.dw);
        if (const char* why = execute(c, lpis, ram)) {
            const uint8_t code = c.code();
            report.command_ignored({name(code), code, c.device(), c.event(), c.collection(), why});
        }
        creadr_ = (creadr_ + kCommandSize) % size;
    }
}

const char* VirtualIts::name(uint8_t code)
{
    switch (code) {
    case kMovi: return "MOVI";
    case kInt: return "INT";
    case kClear: return "CLEAR";
    case kSync: return "SYNC";
    case kMapd: return "MAPD";
    case kMapc: return "MAPC";
    case kMapti: return "MAPTI";
    case kMapi: return "MAPI";
    case kInv: return "INV";
    case kInvall: return "INVALL";
    case kMovall: return "MOVALL";
    case kDiscard: return "DISCARD";
    default: return nullptr;
    }
}

const char* VirtualIts::execute(const Command& c, VirtualLpis& lpis, GuestRam& ram)
{
    const char* why = nullptr;
    Translation* t = nullptr;
    int to = -1;
    switch (c.code()) {
    case kMapd: return map_device(c, ram);
    case kMapc: return map_collection(c, ram);
    case kMapti: return map_translation(c, static_cast<uint32_t>(c.dw[1] >> 32), ram);
    case kMapi: return map_translation(c, c.event(), ram);
    case kSync: return rdbase(c.dw[2]) < vcpus_ ? nullptr : "its RDbase names no vCPU of the VM";
    case kMovall: {
        const uint64_t from = rdbase(c.dw[2]);
        const uint64_t onto = rdbase(c.dw[3]);
        if (from >= vcpus_ || onto >= vcpus_) {
            return "an RDbase names no vCPU of the VM";
        }
        lpis.move_all(static_cast<uint32_t>(from), static_cast<uint32_t>(onto));
        raised_ |= 1u << onto;
        changed_ = true;
        return nullptr;
    }
    case kInvall:
        if ((to = target(c.collection())) < 0) {
            return "its collection is not mapped";
        }
        changed_ = true;
        return lpis.invalidate_all(static_cast<uint32_t>(to), ram) ? nullptr
                                                                   : "the LPI property table is not in its RAM";
    case kInt:
    case kClear:
    case kInv:
    case kDiscard:
    case kMovi:
        if ((t = find(c.device(), c.event(), why)) == nullptr) {
            return why;
        }
        break;
    default: return "not a command of this ITS";
    }
    const int from = target(t->collection);
    if (c.code() == kDiscard) {
        if (from >= 0) {
            lpis.withdraw(static_cast<uint32_t>(from), t->intid);
            changed_ = true;
        }
        if (hardware(t->device)) {
            host_->unmap(devices_[t->device].id, t->event);
        }
        t->valid = false;
        return nullptr;
    }
    if (from < 0) {
        return "its collection is not mapped";
    }
    const auto vcpu = static_cast<uint32_t>(from);
    switch (c.code()) {
    case kInt: raise(vcpu, t->intid, lpis); return nullptr;
    case kClear:
        lpis.withdraw(vcpu, t->intid);
        changed_ = true;
        return nullptr;
    case kInv:
        changed_ = true;
        return lpis.invalidate(vcpu, t->intid, ram) ? nullptr : "the LPI property table is not in its RAM";
    default: break; // MOVI
    }
    if ((why = in_table(collection_table_, c.collection(), kMaxCollections, ram)) != nullptr) {
        return why;
    }
    if ((to = target(c.collection())) < 0) {
        return "the collection it moves to is not mapped";
    }
    t->collection = static_cast<uint16_t>(c.collection());
    if (hardware(t->device)) {
        host_->move(devices_[t->device].id, t->event, static_cast<uint32_t>(to));
    }
    if (static_cast<uint32_t>(to) != vcpu) {
        // The pending state follows the interrupt, from a list register too
        // (the old vCPU gives it up at its next entry; then it is raised here).
        const bool was_pending = lpis.pending(vcpu, t->intid);
        lpis.withdraw(vcpu, t->intid);
        changed_ = true;
        if (was_pending) {
            raise(static_cast<uint32_t>(to), t->intid, lpis);
        } else {
            lpis.follow(vcpu, t->intid, static_cast<uint32_t>(to));
        }
    }
    return nullptr;
}

const char* VirtualIts::in_table(const Table& table, uint32_t id, uint32_t limit, GuestRam& ram) const
{
    const bool devices = &table == &device_table_;
    if (id >= limit) {
        return devices ? "DeviceID beyond the 16 bits of GITS_TYPER.Devbits"
                       : "ICID beyond the collections Vireo keeps (64)";
    }
    if (!(table.baser & kValid)) {
        return devices ? "the device table (GITS_BASER0) is not valid"
                       : "the collection table (GITS_BASER1) is not valid";
    }
    const uint64_t page = table.page_size();
    const uint64_t base = table.baser & 0x0000fffffffff000ull & ~(page - 1);
    uint64_t entry = base + uint64_t{id} * kEntrySize;
    if (table.baser & kIndirect) {
        // Two-level (6.2.1): a level-1 entry per page of level-2 entries.
        const uint64_t per_page = page / kEntrySize;
        const uint64_t level1 = id / per_page;
        if (level1 >= table.entries()) {
            return devices ? "DeviceID beyond the device table" : "ICID beyond the collection table";
        }
        const uint8_t* at = ram.at(base + level1 * kEntrySize, kEntrySize);
        if (at == nullptr) {
            return devices ? "the device table is not in its RAM" : "the collection table is not in its RAM";
        }
        uint64_t descriptor;
        memcpy(&descriptor, at, sizeof descriptor);
        if (!(descriptor & kValid)) {
            return "its level-2 table is not valid";
        }
        entry = (descriptor & kAddress52 & ~(page - 1)) + (id % per_page) * kEntrySize;
    } else if (id >= table.entries()) {
        return devices ? "DeviceID beyond the device table" : "ICID beyond the collection table";
    }
    if (ram.at(entry, kEntrySize) == nullptr) {
        return devices ? "its device table entry is not in its RAM" : "its collection table entry is not in its RAM";
    }
    return nullptr;
}

int VirtualIts::device_slot(uint32_t id) const
{
    for (uint32_t i = 0; i < kMaxDevices; i++) {
        if (devices_[i].valid && devices_[i].id == id) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

const char* VirtualIts::map_device(const Command& c, GuestRam& ram)
{
    const uint32_t id = c.device();
    if (const char* why = in_table(device_table_, id, 1u << kIdBits, ram)) {
        return why;
    }
    int slot = device_slot(id);
    if (slot >= 0) {
        // Unmapped, or mapped to a new ITT: its old translations are gone.
        host_unmap_all(slot);
        for (Translation& t : translations_) {
            if (t.valid && t.device == slot) {
                t.valid = false;
            }
        }
        devices_[slot].valid = false;
    }
    if (!(c.dw[2] & kValid)) {
        return nullptr;
    }
    const auto bits = static_cast<uint8_t>((c.dw[1] & 0x1f) + 1);
    if (bits > kIdBits) {
        return "its Size is beyond the 16 EventID bits of GITS_TYPER.ID_bits";
    }
    const uint64_t itt = c.dw[2] & ((1ull << 52) - 1) & ~0xffull;
    if (ram.at(itt, (1ull << bits) * kEntrySize) == nullptr) {
        return "its ITT is not in its RAM";
    }
    for (slot = 0; slot < static_cast<int>(kMaxDevices) && devices_[slot].valid; slot++) {
    }
    if (slot == static_cast<int>(kMaxDevices)) {
        return "Vireo maps at most 64 devices per VM";
    }
    devices_[slot] = {true, bits, id};
    return nullptr;
}

const char* VirtualIts::map_collection(const Command& c, GuestRam& ram)
{
    const uint32_t icid = c.collection();
    if (const char* why = in_table(collection_table_, icid, kMaxCollections, ram)) {
        return why;
    }
    if (!(c.dw[2] & kValid)) {
        collection_[icid] = -1;
        return nullptr;
    }
    const uint64_t vcpu = rdbase(c.dw[2]);
    if (vcpu >= vcpus_) {
        return "its RDbase names no vCPU of the VM";
    }
    collection_[icid] = static_cast<int8_t>(vcpu);
    host_move_collection(icid, static_cast<uint32_t>(vcpu));
    return nullptr;
}

const char* VirtualIts::map_translation(const Command& c, uint32_t intid, GuestRam& ram)
{
    const int slot = device_slot(c.device());
    if (slot < 0) {
        return "its device is not mapped";
    }
    if (c.event() >> devices_[slot].event_bits) {
        return "EventID beyond its device's ITT";
    }
    if (!VirtualLpis::is_lpi(intid)) {
        return "its pINTID is not one of the VM's LPIs (8192-9215)";
    }
    if (const char* why = in_table(collection_table_, c.collection(), kMaxCollections, ram)) {
        return why;
    }
    Translation* free = nullptr;
    for (Translation& t : translations_) {
        if (t.valid && t.device == slot && t.event == c.event()) {
            free = &t; // mapped again: the new translation replaces it
            break;
        }
        if (!t.valid && free == nullptr) {
            free = &t;
        }
    }
    if (free == nullptr) {
        return "Vireo keeps at most 1024 translations per VM";
    }
    if (hardware(slot)) {
        if (const char* why = host_->map(c.device(), c.event(), target(c.collection()))) {
            return why;
        }
    }
    *free = {true, static_cast<uint8_t>(slot), static_cast<uint16_t>(c.collection()), c.event(), intid};
    return nullptr;
}

VirtualIts::Translation* VirtualIts::find(uint32_t device, uint32_t event, const char*& why)
{
    const int slot = device_slot(device);
    if (slot < 0) {
        why = "its device is not mapped";
        return nullptr;
    }
    if (event >> devices_[slot].event_bits) {
        why = "EventID beyond its device's ITT";
        return nullptr;
    }
    for (Translation& t : translations_) {
        if (t.valid && t.device == slot && t.event == event) {
            return &t;
        }
    }
    why = "no interrupt is mapped for its EventID";
    return nullptr;
}

void VirtualIts::host_unmap_all(int slot)
{
    for (const Translation& t : translations_) {
        if (t.valid && t.device == slot && hardware(slot)) {
            host_->unmap(devices_[slot].id, t.event);
        }
    }
}

void VirtualIts::host_move_collection(uint32_t collection, uint32_t vcpu)
{
    for (const Translation& t : translations_) {
        if (t.valid && t.collection == collection && hardware(t.device)) {
            host_->move(devices_[t.device].id, t.event, vcpu);
        }
    }
}

void VirtualIts::raise(uint32_t vcpu, uint32_t intid, VirtualLpis& lpis)
{
    lpis.set_pending(vcpu, intid, true);
    raised_ |= 1u << vcpu;
}

bool VirtualIts::translate(uint32_t device, uint32_t event, VirtualLpis& lpis)
{
    if (!enabled_) {
        return false;
    }
    const char* why;
    const Translation* t = find(device, event, why);
    const int vcpu = t != nullptr ? target(t->collection) : -1;
    if (vcpu < 0) {
        return false;
    }
    raise(static_cast<uint32_t>(vcpu), t->intid, lpis);
    return true;
}

uint32_t VirtualIts::take_raised()
{
    const uint32_t raised = raised_;
    raised_ = 0;
    return raised;
}

bool VirtualIts::take_changed()
{
    const bool changed = changed_;
    changed_ = false;
    return changed;
}
