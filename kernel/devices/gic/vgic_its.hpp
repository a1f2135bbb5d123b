// A VM's virtual ITS (IHI 0069, chapter 6 and 12.19): the registers of its
// ITS_base frame and GITS_TRANSLATER, the command queue in the guest's RAM,
// and the translation of (DeviceID, EventID) to an LPI and a vCPU.
//
// What a guest sees is a GICv3.0 physical ITS: GITS_TYPER says 16-bit
// DeviceIDs and EventIDs, 8-byte ITT entries, processor numbers as RDbase
// (PTA = 0), no collections held in the ITS (HCC = 0), and no SError on a
// command error (SEIS = 0). GITS_BASER0 describes a device table, BASER1 a
// collection table, both flat or two-level as the guest chooses, in pages
// of 4, 16 or 64 KiB.
//
// Vireo keeps the mappings themselves (devices, translations, collections)
// in this object, not in the guest's tables: the architecture makes those
// tables the ITS's own, and a guest that wrote them could otherwise make
// Vireo read anything. The guest's tables and ITTs still decide what is
// valid: a DeviceID or ICID must fall inside its table (and, two-level,
// inside a level-2 page the guest marked valid), and every table, ITT and
// command-queue address is checked against the VM's RAM.
//
// A command that breaks a rule is ignored and reported through the
// ItsReport given to the call (the caller logs one rate-limited line);
// processing goes on with the next command, as the architecture allows
// when SEIS is 0. A GITS_CWRITER beyond the queue stalls it
// (GITS_CREADR.Stalled) until a valid one is written. At most
// kCommandsPerStep commands run per guest access, so no guest holds a CPU
// in Vireo: the rest run on the next GITS_CREADR read, which is how a
// driver waits for them.
//
// Pure logic, host-tested and fuzzed; vgic.cpp puts it on the VM's bus.
#pragma once

#include <stdint.h>

#include "kernel/devices/gic/vgic_lpi.hpp"
#include "kernel/devices/guest_ram.hpp"

/// A command the ITS ignored, decoded for a log line.
struct ItsCommandError {
    const char* command; // "MAPTI", or "unknown command 0x.." as `code`
    uint8_t code;
    uint32_t device;
    uint32_t event;
    uint32_t collection;
    const char* why;
};

class ItsReport {
public:
    virtual void command_ignored(const ItsCommandError& error) = 0;
    /// The command queue cannot be read (outside RAM) or CWRITER is
    /// beyond it: the queue stalls until the guest fixes it.
    virtual void queue_stalled(const char* why) = 0;

protected:
    ~ItsReport() = default;
};

/// What a VM's ITS asks of the host for DeviceIDs whose MSIs come from
/// hardware (passed-through PCIe functions): the same translations made in
/// the host's ITS, so the function's MSI becomes a host LPI that Vireo
/// turns back into (DeviceID, EventID) for this ITS (kernel/vm/msi.cpp).
class ItsHost {
public:
    /// Whether `device` is one of the VM's passed-through functions.
    virtual bool owns(uint32_t device) = 0;
    /// (device, event) is translated now, towards vCPU `vcpu` (-1: its
    /// collection is not mapped yet). Nullptr, or why the host cannot.
    virtual const char* map(uint32_t device, uint32_t event, int vcpu) = 0;
    /// Its collection now targets vCPU `vcpu`.
    virtual void move(uint32_t device, uint32_t event, uint32_t vcpu) = 0;
    /// Not translated any more.
    virtual void unmap(uint32_t device, uint32_t event) = 0;

protected:
    ~ItsHost() = default;
};

class VirtualIts {
public:
    static constexpr uint64_t kBase = 0x08080000; // the guest's ITS, as on QEMU virt
    static constexpr uint64_t kSize = 0x20000;    // ITS_base and translation frames
    static constexpr uint64_t kTranslater = 0x10040;
    /// The DeviceID a vCPU's own write to GITS_TRANSLATER translates with
    /// (the architecture leaves a CPU's DeviceID to the implementation).
    static constexpr uint32_t kCpuDeviceId = 0xffff;
    static constexpr uint32_t kMaxDevices = 64;
    static constexpr uint32_t kMaxTranslations = VirtualLpis::kCount;
    static constexpr uint32_t kMaxCollections = 64;
    static constexpr uint32_t kCommandsPerStep = 64;
    static constexpr uint32_t kIdBits = 16; // DeviceIDs and EventIDs

    void reset(uint32_t vcpus);
    /// Who makes translations of passed-through functions real (nullptr:
    /// none; every DeviceID is emulated). Kept across reset().
    void set_host(ItsHost* host) { host_ = host; }

    /// Guest accesses to the ITS's 128 KiB (offset from kBase). Reads of
    /// GITS_CREADR run queued commands first. Never fault: invalid
    /// accesses read as zero and are ignored.
    void read(uint64_t offset, unsigned size, uint64_t& value, VirtualLpis& lpis, GuestRam& ram, ItsReport& report);
    void write(uint64_t offset, unsigned size, uint64_t value, VirtualLpis& lpis, GuestRam& ram, ItsReport& report);

    /// An MSI: DeviceID `device` wrote `event` to GITS_TRANSLATER. Makes
    /// the translated LPI pending at its collection's vCPU; false when the
    /// ITS is disabled or nothing is mapped for it (the write is dropped).
    bool translate(uint32_t device, uint32_t event, VirtualLpis& lpis);

    /// vCPUs given a newly pending LPI since the last call (bit n: vCPU n),
    /// and whether a property-table invalidation may have changed what is
    /// deliverable anywhere; both cleared by the call.
    uint32_t take_raised();
    bool take_changed();

    bool enabled() const { return enabled_; }

private:
    struct Table {
        uint64_t baser = 0;
        uint64_t entries() const;
        uint64_t page_size() const;
    };
    struct Device { // plain data, as Translation: reset() clears them
        bool valid;
        uint8_t event_bits;
        uint32_t id;
    };
    struct Translation {
        bool valid;
        uint8_t device; // index in devices_
        uint16_t collection;
        uint32_t event;
        uint32_t intid;
    };
    struct Command {
        uint64_t dw[4];
        uint8_t code() const { return static_cast<uint8_t>(dw[0]); }
        uint32_t device() const { return static_cast<uint32_t>(dw[0] >> 32); }
        uint32_t event() const { return static_cast<uint32_t>(dw[1]); }
        uint32_t collection() const { return static_cast<uint32_t>(dw[2] & 0xffff); }
    };

    void run(VirtualLpis& lpis, GuestRam& ram, ItsReport& report);
    /// nullptr, or why the command is ignored.
    const char* execute(const Command& c, VirtualLpis& lpis, GuestRam& ram);
    const char* map_device(const Command& c, GuestRam& ram);
    const char* map_collection(const Command& c, GuestRam& ram);
    const char* map_translation(const Command& c, uint32_t intid, GuestRam& ram);
    const char* in_table(const Table& table, uint32_t id, uint32_t limit, GuestRam& ram) const;
    /// The translation of (device, event), its device checked as mapped
    /// and event in its range; nullptr with `why` set otherwise.
    Translation* find(uint32_t device, uint32_t event, const char*& why);
    int device_slot(uint32_t id) const;
    /// The vCPU collection `icid` is mapped to, or -1.
    int target(uint32_t icid) const { return icid < kMaxCollections ? collection_[icid] : -1; }
    void raise(uint32_t vcpu, uint32_t intid, VirtualLpis& lpis);
    /// The host forgets the translations of device slot `slot` (all of
    /// them, or those of collection `collection` only, moved to `vcpu`).
    void host_unmap_all(int slot);
    void host_move_collection(uint32_t collection, uint32_t vcpu);
    bool hardware(int slot) const { return host_ != nullptr && host_->owns(devices_[slot].id); }
    static const char* name(uint8_t code);

    uint32_t vcpus_ = 1;
    bool enabled_ = false;
    bool stalled_ = false;
    uint64_t cbaser_ = 0;
    uint64_t cwriter_ = 0;
    uint64_t creadr_ = 0;
    Table device_table_;
    Table collection_table_;
    Device devices_[kMaxDevices] = {};
    Translation translations_[kMaxTranslations] = {};
    int8_t collection_[kMaxCollections] = {};
    uint32_t raised_ = 0;
    bool changed_ = false;
    ItsHost* host_ = nullptr;
};
