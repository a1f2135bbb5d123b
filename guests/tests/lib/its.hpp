// A GICv3 ITS and LPIs as a driver sees them (GIC architecture
// specification, IHI 0069, chapters 5 "Locality-specific Peripheral
// Interrupts and the ITS" and 12 "Programmers' model"): the registers, the
// redistributor's LPI registers, the 32-byte commands and the command
// queue in the guest's own RAM. QEMU virt and Vireo put the ITS at the same
// address; everything else is read from GITS_TYPER and the GITS_BASERn.
#pragma once

#include <stdint.h>

#include "lib/gic.hpp"
#include "lib/guest.hpp"

namespace guest::its {

constexpr uint64_t kBase = 0x08080000;
constexpr uint64_t kTranslater = kBase + 0x10040; // in the translation frame, 64 KiB on

// ITS_base registers (12.19).
constexpr uint64_t kCtlr = 0x000; // bit 0 Enabled, bit 31 Quiescent
constexpr uint64_t kIidr = 0x004;
constexpr uint64_t kTyper = 0x008;
constexpr uint64_t kCbaser = 0x080;
constexpr uint64_t kCwriter = 0x088;
constexpr uint64_t kCreadr = 0x090; // bit 0 Stalled
constexpr uint64_t kBaser0 = 0x100; // GITS_BASER<n> at 0x100 + 8n
constexpr uint32_t kCtlrEnabled = 1u << 0;
constexpr uint32_t kCtlrQuiescent = 1u << 31;
constexpr uint64_t kCreadrStalled = 1u << 0;
constexpr uint64_t kQueueOffsetMask = 0xfffe0; // CWRITER/CREADR bits 19:5

// Redistributor LPI registers (12.11), in each vCPU's RD_base frame.
constexpr uint64_t kGicrCtlr = 0x00; // bit 0 EnableLPIs
constexpr uint64_t kGicrTyper = 0x08;
constexpr uint64_t kGicrPropbaser = 0x70;
constexpr uint64_t kGicrPendbaser = 0x78;
constexpr uint64_t kGicrInvlpir = 0xa0;
constexpr uint64_t kGicrInvallr = 0xb0;
constexpr uint64_t kGicrSyncr = 0xc0; // bit 0 Busy
constexpr uint64_t kPendbaserPtz = 1ull << 62;

constexpr uint32_t kFirstLpi = 8192;
constexpr uint64_t kValid = 1ull << 63;

inline uint64_t read64(uint64_t addr) { return *reinterpret_cast<volatile uint64_t*>(addr); }
inline void write64(uint64_t addr, uint64_t v) { *reinterpret_cast<volatile uint64_t*>(addr) = v; }
inline uint64_t reg(uint64_t offset) { return read64(kBase + offset); }
inline void set_reg(uint64_t offset, uint64_t v) { write64(kBase + offset, v); }
inline uint64_t redistributor(uint64_t cpu) { return gic::kGicr + cpu * 0x20000; }

/// GITS_TYPER decoded: each field is "value - 1" in hardware.
struct Typer {
    bool physical;
    uint32_t itt_entry_size; // bytes
    uint32_t event_bits;
    uint32_t device_bits;
    bool pta; // RDbase is a physical address, else a processor number
    uint32_t hcc;
    uint32_t collection_bits; // 16 unless CIL

    static Typer read()
    {
        const uint64_t v = reg(kTyper);
        const bool cil = (v >> 36) & 1;
        return {(v & 1) != 0,
                static_cast<uint32_t>((v >> 4) & 0xf) + 1,
                static_cast<uint32_t>((v >> 8) & 0x1f) + 1,
                static_cast<uint32_t>((v >> 13) & 0x1f) + 1,
                ((v >> 19) & 1) != 0,
                static_cast<uint32_t>((v >> 24) & 0xff),
                cil ? static_cast<uint32_t>((v >> 32) & 0xf) + 1 : 16};
    }
};

/// GITS_BASER<n> fields.
namespace baser {
constexpr uint64_t kIndirect = 1ull << 62;
constexpr uint64_t kDevices = 1; // Type
constexpr uint64_t kCollections = 4;
inline uint64_t type(uint64_t v) { return (v >> 56) & 7; }
inline uint32_t entry_size(uint64_t v) { return static_cast<uint32_t>((v >> 48) & 0x1f) + 1; }
inline uint64_t page_size_field(uint64_t v) { return (v >> 8) & 3; } // 0: 4 KiB, 1: 16 KiB, 2: 64 KiB
inline uint64_t page_size(uint64_t field) { return field == 0 ? 0x1000 : field == 1 ? 0x4000 : 0x10000; }
/// A table at `address` of `pages` pages of 4 KiB (Size is pages - 1).
inline uint64_t make(uint64_t address, uint64_t pages, bool indirect)
{
    return kValid | (indirect ? kIndirect : 0) | address | (pages - 1);
}
} // namespace baser

/// A command (chapter 6, "ITS commands"): four doublewords, the code in DW0[7:0].
struct Command {
    uint64_t dw[4];
};

namespace cmd {
constexpr uint64_t kMovi = 0x01, kInt = 0x03, kClear = 0x04, kSync = 0x05, kMapd = 0x08, kMapc = 0x09, kMapti = 0x0a,
                   kMapi = 0x0b, kInv = 0x0c, kInvall = 0x0d, kMovall = 0x0e, kDiscard = 0x0f;

/// The commands that name an event of a device: DeviceID in DW0[63:32],
/// EventID in DW1[31:0].
constexpr Command event(uint64_t code, uint32_t device, uint32_t id, uint64_t dw1_high = 0, uint64_t dw2 = 0)
{
    return {{code | uint64_t{device} << 32, id | dw1_high << 32, dw2, 0}};
}
/// RDbase sits in DW2 or DW3 bits 50:16.
constexpr uint64_t rd(uint64_t rdbase) { return rdbase << 16; }

/// `event_bits` EventIDs for `device`, its ITT at `itt` (256-byte aligned).
constexpr Command mapd(uint32_t device, uint64_t itt, uint32_t event_bits, bool valid = true)
{
    return {{kMapd | uint64_t{device} << 32, event_bits - 1, (valid ? kValid : 0) | itt, 0}};
}
constexpr Command mapc(uint32_t icid, uint64_t rdbase, bool valid = true)
{
    return {{kMapc, 0, (valid ? kValid : 0) | rd(rdbase) | icid, 0}};
}
constexpr Command mapti(uint32_t device, uint32_t id, uint32_t intid, uint32_t icid)
{
    return event(kMapti, device, id, intid, icid);
}
constexpr Command mapi(uint32_t device, uint32_t id, uint32_t icid) { return event(kMapi, device, id, 0, icid); }
constexpr Command movi(uint32_t device, uint32_t id, uint32_t icid) { return event(kMovi, device, id, 0, icid); }
constexpr Command int_(uint32_t device, uint32_t id) { return event(kInt, device, id); }
constexpr Command clear(uint32_t device, uint32_t id) { return event(kClear, device, id); }
constexpr Command discard(uint32_t device, uint32_t id) { return event(kDiscard, device, id); }
constexpr Command inv(uint32_t device, uint32_t id) { return event(kInv, device, id); }
constexpr Command invall(uint32_t icid) { return {{kInvall, 0, icid, 0}}; }
constexpr Command sync(uint64_t rdbase) { return {{kSync, 0, rd(rdbase), 0}}; }
constexpr Command movall(uint64_t from, uint64_t to) { return {{kMovall, 0, rd(from), rd(to)}}; }
constexpr Command raw(uint64_t code) { return {{code, 0, 0, 0}}; }
} // namespace cmd

/// The command queue (chapter 6): a ring of `size` bytes the ITS reads from
/// GITS_CREADR up to GITS_CWRITER. The guest never writes more than
/// size - 32 bytes ahead of what the ITS has read, so a full queue is told
/// from an empty one.
class CommandQueue {
public:
    /// GITS_CBASER for `pages` 4 KiB pages at `address` (the ITS disabled);
    /// writing it resets GITS_CREADR to 0, and CWRITER follows.
    void init(uint64_t address, uint64_t pages)
    {
        base_ = address;
        size_ = pages * 0x1000;
        write_ = 0;
        set_reg(kCbaser, kValid | address | (pages - 1));
        set_reg(kCwriter, 0);
    }

    uint64_t size() const { return size_; }
    uint64_t write_offset() const { return write_; }
    uint64_t read_offset() const { return reg(kCreadr) & kQueueOffsetMask; }
    bool stalled() const { return (reg(kCreadr) & kCreadrStalled) != 0; }

    /// Queues `commands` and waits until the ITS has read them all; false
    /// when it does not (stalled, or still busy after a second).
    template <class... C> bool send(const C&... commands) { return (push(commands) && ...) && drain(); }

    /// Queues one command, publishing what is queued when the ring is full.
    bool push(const Command& c)
    {
        const uint64_t next = (write_ + 32) % size_;
        if (next == read_offset()) {
            publish();
            if (!wait([this, next] { return next != read_offset(); })) {
                return false;
            }
        }
        auto* slot = reinterpret_cast<volatile uint64_t*>(base_ + write_);
        for (int i = 0; i < 4; i++) {
            slot[i] = c.dw[i];
        }
        write_ = next;
        return true;
    }

    /// GITS_CWRITER = what is queued, the commands written before it (the
    /// ITS reads them as a device would: DSB).
    void publish()
    {
        asm volatile("dsb st" ::: "memory");
        set_reg(kCwriter, write_);
    }

    bool drain()
    {
        publish();
        return wait([this] { return read_offset() == write_ || stalled(); }) && !stalled();
    }

    /// Sets the guest's write offset to what the ITS reads next (after a
    /// stall the guest gave up on).
    void resync() { write_ = read_offset(); }

private:
    template <class F> static bool wait(F done)
    {
        const uint64_t start = counter();
        while (!done()) {
            if (counter() - start > gic::frequency()) {
                return false;
            }
        }
        return true;
    }

    uint64_t base_ = 0;
    uint64_t size_ = 0x1000;
    uint64_t write_ = 0;
};

/// An LPI's byte in the property table (chapter 5): priority in bits 7:2, bit 1
/// RES1, bit 0 enable.
constexpr uint8_t property(uint8_t priority, bool enabled)
{
    return static_cast<uint8_t>((priority & 0xfc) | 2 | (enabled ? 1 : 0));
}

/// A table of one page for the GITS_BASER<n> at `offset` (in the page
/// size the ITS keeps of those asked for), from allocate().
inline void one_page_table(uint64_t offset)
{
    set_reg(offset, 0); // 4 KiB pages asked for
    const uint64_t field = baser::page_size_field(reg(offset));
    const uint64_t page = baser::page_size(field);
    set_reg(offset, kValid | allocate(page, page) | field << 8);
}

/// The least a driver does before its first command: LPIs on in vCPU
/// `cpu`'s redistributor, the first `lpis` of them enabled at `priority`
/// (14 ID bits: an 8 KiB property table and a 2 KiB pending table, zeroed),
/// a page for each table a GITS_BASER<n> asks for (devices, collections:
/// DeviceIDs and ICIDs up to 511 with 8-byte entries), a one-page `queue`,
/// the ITS enabled. Returns the RDbase by which MAPC and SYNC name `cpu`.
inline uint64_t start(CommandQueue& queue, uint32_t cpu, uint32_t lpis, uint8_t priority)
{
    auto* properties = reinterpret_cast<uint8_t*>(allocate(8192, 4096));
    for (uint32_t i = 0; i < lpis; i++) {
        properties[i] = property(priority, true);
    }
    const uint64_t pending = allocate(2048, 0x10000);
    const uint64_t rd = redistributor(cpu);
    write64(rd + kGicrPropbaser, reinterpret_cast<uint64_t>(properties) | 13);
    write64(rd + kGicrPendbaser, pending | kPendbaserPtz);
    gic::write32(rd + kGicrCtlr, 1);
    for (uint64_t n = 0; n < 8; n++) {
        const uint64_t type = baser::type(reg(kBaser0 + 8 * n));
        if (type == baser::kDevices || type == baser::kCollections) {
            one_page_table(kBaser0 + 8 * n);
        }
    }
    queue.init(allocate(4096, 4096), 1);
    gic::write32(kBase + kCtlr, kCtlrEnabled); // a 32-bit register
    return Typer::read().pta ? rd : (read64(rd + kGicrTyper) >> 8) & 0xffff;
}

} // namespace guest::its
