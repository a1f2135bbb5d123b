#include "kernel/devices/pci/config_space.hpp"

namespace {

// The type-0 header (PCI Local Bus 3.0, 6.1; PCIe Base 6.0, 7.5.1).
constexpr uint32_t kCommand = 0x04; // Command; Status in the upper half
constexpr uint32_t kBar0 = 0x10;
constexpr uint32_t kBarsEnd = 0x28;
constexpr uint32_t kRom = 0x30;
constexpr uint32_t kCapPointer = 0x34;
constexpr uint32_t kReserved38 = 0x38;
constexpr uint32_t kInterrupt = 0x3c; // Interrupt Line, Pin, Min_Gnt, Max_Lat
constexpr uint32_t kCapsStart = 0x40;
constexpr uint32_t kExtendedStart = 0x100;

constexpr uint32_t kCommandIoSpace = 1u << 0;
constexpr uint32_t kCommandMemorySpace = 1u << 1;
constexpr uint32_t kCommandBusMaster = 1u << 2;
constexpr uint32_t kCommandParity = 1u << 6;
constexpr uint32_t kCommandSerr = 1u << 8;
constexpr uint32_t kCommandIntxDisable = 1u << 10;
constexpr uint32_t kCommandGuest =
    kCommandMemorySpace | kCommandBusMaster | kCommandParity | kCommandSerr | kCommandIntxDisable;
constexpr uint32_t kStatusCapList = 1u << 4;
// Master Data Parity Error, Signaled and Received Target Abort, Received
// Master Abort, Signaled System Error, Detected Parity Error: RW1C.
constexpr uint32_t kStatusW1c = 0xf900;

constexpr uint32_t kBarMem64 = 1u << 2; // type 10b: anywhere in 64 bits
constexpr uint32_t kBarPrefetchable = 1u << 3;
constexpr uint32_t kBarFlags = 0xf;

// Capability IDs (PCI Code and ID Assignment 1.11, 2).
constexpr uint8_t kCapPowerManagement = 0x01;
constexpr uint8_t kCapMsi = pci_cap::kMsi;
constexpr uint8_t kCapVendor = 0x09;
constexpr uint8_t kCapExpress = pci_cap::kExpress;
constexpr uint8_t kCapMsix = pci_cap::kMsix;
constexpr uint8_t kCapAdvancedFeatures = 0x13;
// A list can hold no more: one capability per dword of 0x40-0xff.
constexpr unsigned kMaxListed = 48;

// The PCI Express capability (PCIe Base 6.0, 7.5.3): offsets in it.
constexpr uint32_t kExpDeviceCaps = 0x04;
constexpr uint32_t kExpDeviceCapsFlr = 1u << 28; // Function Level Reset Capability
constexpr uint32_t kExpDeviceControl = 0x08;     // Device Status (RW1C) in the upper half
constexpr uint32_t kExpDeviceControlFlr = 1u << 15;
constexpr uint32_t kExpDeviceControl2 = 0x28; // Device Status 2 (RsvdZ) in the upper half
// The Advanced Features capability's FLR Capability bit (byte 3, bit 1).
constexpr uint32_t kAfFlrCapability = 1u << 25;

constexpr uint32_t lanes(unsigned size) { return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1; }

bool hidden(uint8_t id, bool msi_shown)
{
    return id == kCapPowerManagement || (!msi_shown && (id == kCapMsi || id == kCapMsix));
}

/// The dwords a capability with this first dword is known to span; 0 for
/// the others, whose length is not in their header: they reach up to the
/// next capability.
unsigned known_dwords(uint32_t header)
{
    const uint32_t upper = header >> 16; // the capability's own bytes 2-3
    switch (header & 0xff) {
    // PMC; PMCSR, bridge extensions and data.
    case kCapPowerManagement: return 2;
    // Control, address, data; a 64-bit address takes one more, per-vector
    // masking two (mask and pending bits).
    case kCapMsi: return 3 + ((upper >> 7) & 1) + 2 * ((upper >> 8) & 1);
    // Control, table, PBA.
    case kCapMsix: return 3;
    // 6 bytes: capabilities, control, status.
    case kCapAdvancedFeatures: return 2;
    // Version 2 is 0x3c bytes; version 1 stopped after Root Status.
    case kCapExpress: return (upper & 0xf) >= 2 ? 0x3c / 4 : 0x24 / 4;
    // Its length byte counts the header too.
    case kCapVendor: return (upper & 0xff) > 4 ? ((upper & 0xff) + 3) / 4 : 1;
    default: return 0;
    }
}

} // namespace

void PciConfigSpace::init(PciFunction& function, const PciBar (&bars)[kBars], bool show_msi)
{
    function_ = &function;
    msi_shown_ = show_msi;
    for (unsigned i = 0; i < kBars; i++) {
        bars_[i] = bars[i];
        roles_[i] = BarRole::Unused;
    }
    // A BAR's size is a power of two its address is aligned to; a placement
    // that is not one is shown as unimplemented rather than as a lie.
    for (unsigned i = 0; i < kBars; i++) {
        const PciBar& bar = bars_[i];
        if (bar.size == 0 || (bar.size & (bar.size - 1)) != 0 || bar.base % bar.size != 0) {
            continue;
        }
        if (bar.is64 && i + 1 < kBars) {
            roles_[i] = BarRole::Low64;
            roles_[++i] = BarRole::High64;
        } else if (!bar.is64 && bar.base + bar.size <= uint64_t{1} << 32) {
            roles_[i] = BarRole::Low32;
        }
    }
    reset();
    moved_ = 0; // where Vireo placed them is where the VM maps them first
    find_capabilities();
}

void PciConfigSpace::reset()
{
    for (bool& sizing : sizing_) {
        sizing = false;
    }
    for (unsigned i = 0; i < kBars; i++) {
        moved_ |= guest_[i] != bars_[i].base ? 1u << i : 0;
        guest_[i] = bars_[i].base;
    }
    interrupt_line_ = 0;
    bus_master_ = false;
}

// Walks the function's list once: what it says now is what the guest gets
// (capabilities do not come and go). Each capability claims the dwords it
// is known to span; those of unknown length then extend to the next claimed
// dword. Two claims on one dword mean overlapping capabilities: writes
// passed to one could reach a hidden one, so none is shown.
void PciConfigSpace::find_capabilities()
{
    cap_count_ = 0;
    for (uint8_t& owner : owner_) {
        owner = kNoCap;
    }
    if ((function_->read32(kCommand) >> 16 & kStatusCapList) == 0) {
        return; // the pointer means nothing (PCI Local Bus 3.0, 6.2.3 and 6.7)
    }
    struct Listed {
        uint8_t offset;
        uint8_t id;
        unsigned dwords;
    };
    Listed listed[kMaxListed];
    uint8_t claim[kCapDwords];
    for (uint8_t& c : claim) {
        c = kNoCap;
    }
    size_t count = 0;
    for (uint32_t at = function_->read32(kCapPointer) & 0xff; at != 0 && count < kMaxListed;) {
        // Into the header, unaligned, or back into the list (a loop): the
        // list ends. Each offset is read once.
        if (at < kCapsStart || at % 4 != 0 || claim[(at - kCapsStart) / 4] != kNoCap) {
            break;
        }
        const uint32_t header = function_->read32(at);
        listed[count] = {static_cast<uint8_t>(at), static_cast<uint8_t>(header), known_dwords(header)};
        claim[(at - kCapsStart) / 4] = static_cast<uint8_t>(count);
        count++;
        at = header >> 8 & 0xff;
    }
    for (size_t i = 0; i < count; i++) {
        const unsigned first = (listed[i].offset - kCapsStart) / 4;
        for (unsigned d = first + 1; d < first + listed[i].dwords && d < kCapDwords; d++) {
            if (claim[d] != kNoCap) {
                return;
            }
            claim[d] = static_cast<uint8_t>(i);
        }
    }
    for (size_t i = 0; i < count; i++) {
        if (listed[i].dwords == 0) {
            for (unsigned d = (listed[i].offset - kCapsStart) / 4 + 1; d < kCapDwords && claim[d] == kNoCap; d++) {
                claim[d] = static_cast<uint8_t>(i);
            }
        }
    }
    uint8_t shown_as[kMaxListed];
    for (size_t i = 0; i < count; i++) {
        shown_as[i] = kNoCap;
        if (hidden(listed[i].id, msi_shown_)) {
            continue;
        }
        if (cap_count_ > 0) {
            caps_[cap_count_ - 1].next = listed[i].offset;
        }
        shown_as[i] = static_cast<uint8_t>(cap_count_);
        caps_[cap_count_++] = {listed[i].offset, listed[i].id, 0};
    }
    for (unsigned d = 0; d < kCapDwords; d++) {
        owner_[d] = claim[d] == kNoCap ? kNoCap : shown_as[claim[d]];
    }
}

bool PciConfigSpace::read(uint32_t offset, unsigned size, uint32_t& value)
{
    if (!access_ok(offset, size)) {
        return false;
    }
    value = read_dword(offset & ~3u) >> (8 * (offset % 4)) & lanes(size);
    return true;
}

bool PciConfigSpace::write(uint32_t offset, unsigned size, uint32_t value)
{
    if (!access_ok(offset, size)) {
        return false;
    }
    const unsigned shift = 8 * (offset % 4);
    write_dword(offset & ~3u, lanes(size) << shift, (value & lanes(size)) << shift);
    return true;
}

uint32_t PciConfigSpace::read_dword(uint32_t reg)
{
    if (reg >= kExtendedStart) {
        return 0;
    }
    if (reg >= kCapsStart) {
        return capability_read(reg);
    }
    if (reg >= kBar0 && reg < kBarsEnd) {
        return bar_read((reg - kBar0) / 4);
    }
    switch (reg) {
    case kCommand: {
        const uint32_t real = function_->read32(kCommand);
        const uint32_t status = (real >> 16 & ~kStatusCapList) | (cap_count_ > 0 ? kStatusCapList : 0);
        return (real & kCommandGuest) | status << 16;
    }
    case kRom:
    case kReserved38: return 0;
    case kCapPointer: return cap_count_ > 0 ? caps_[0].offset : 0;
    case kInterrupt: return (function_->read32(kInterrupt) & ~0xffu) | interrupt_line_;
    default: return function_->read32(reg); // IDs, class, header type, subsystem
    }
}

void PciConfigSpace::write_dword(uint32_t reg, uint32_t bytes, uint32_t data)
{
    if (reg == kCommand) {
        command_write(bytes, data);
    } else if (reg >= kBar0 && reg < kBarsEnd) {
        bar_write((reg - kBar0) / 4, bytes, data);
    } else if (reg == kInterrupt && (bytes & 0xff) != 0) {
        interrupt_line_ = static_cast<uint8_t>(data);
    } else if (reg >= kCapsStart && reg < kExtendedStart) {
        capability_write(reg, bytes, data);
    }
    // Anything else (IDs, BIST, Cache Line Size, the ROM BAR, extended
    // capabilities) is read-only to the guest.
}

uint32_t PciConfigSpace::bar_read(unsigned index) const
{
    const unsigned low = low_half(index);
    const PciBar& bar = bars_[low];
    const uint64_t address = sizing_[index] ? ~(bar.size - 1) : guest_[low];
    switch (roles_[index]) {
    case BarRole::Unused: return 0;
    case BarRole::High64: return static_cast<uint32_t>(address >> 32);
    case BarRole::Low32:
    case BarRole::Low64: break;
    }
    const uint32_t type = (roles_[index] == BarRole::Low64 ? kBarMem64 : 0) | (bar.prefetchable ? kBarPrefetchable : 0);
    return (static_cast<uint32_t>(address) & ~kBarFlags) | type;
}

// All-ones in the whole dword sizes the BAR; anything else is an address
// (the bits below its size and the type bits read-only, as in hardware),
// for the VM to map the BAR at (kernel/vm/pci.cpp).
void PciConfigSpace::bar_write(unsigned index, uint32_t bytes, uint32_t data)
{
    sizing_[index] = bytes == 0xffffffff && data == 0xffffffff;
    if (sizing_[index] || roles_[index] == BarRole::Unused) {
        return;
    }
    const unsigned low = low_half(index);
    const unsigned shift = low != index ? 32 : 0;
    const uint32_t now = static_cast<uint32_t>(guest_[low] >> shift);
    const uint32_t dword = (now & ~bytes) | (data & bytes);
    const uint64_t address = (guest_[low] & ~(uint64_t{0xffffffff} << shift)) | uint64_t{dword} << shift;
    const uint64_t placed = address & ~(bars_[low].size - 1) & ~uint64_t{kBarFlags};
    if (placed != guest_[low]) {
        guest_[low] = placed;
        moved_ |= 1u << low;
    }
}

uint32_t PciConfigSpace::take_moved()
{
    const uint32_t moved = moved_;
    moved_ = 0;
    return moved;
}

// One write to the real dword carries both registers: Command's bytes the
// guest did not write keep their real values, but Status is written with
// 0s there, since writing back its set error bits would clear them.
void PciConfigSpace::command_write(uint32_t bytes, uint32_t data)
{
    const uint32_t real = function_->read32(kCommand);
    const uint32_t command = ((data & bytes) | (real & ~bytes)) & 0xffff;
    if ((bytes & 0xffff) != 0) {
        bus_master_ = (command & kCommandBusMaster) != 0;
    }
    const uint32_t kept = real & 0xffff & ~kCommandGuest & ~kCommandIoSpace;
    const uint32_t cleared = (data >> 16) & kStatusW1c; // 0 in lanes not written
    function_->write32(kCommand, kept | (command & kCommandGuest) | cleared << 16);
}

uint32_t PciConfigSpace::capability_read(uint32_t reg)
{
    const uint8_t index = owner_[(reg - kCapsStart) / 4];
    if (index == kNoCap) {
        return 0;
    }
    const ShownCap& cap = caps_[index];
    uint32_t value = function_->read32(reg);
    const uint32_t at = reg - cap.offset;
    if (at == 0) {
        value = (value & ~0xff00u) | uint32_t{cap.next} << 8;
    }
    // A reset the guest cannot start is not offered to it.
    if (cap.id == kCapExpress && at == kExpDeviceCaps) {
        value &= ~kExpDeviceCapsFlr;
    } else if (cap.id == kCapAdvancedFeatures && at == 0) {
        value &= ~kAfFlrCapability;
    }
    return value;
}

void PciConfigSpace::capability_write(uint32_t reg, uint32_t bytes, uint32_t data)
{
    const uint8_t index = owner_[(reg - kCapsStart) / 4];
    if (index == kNoCap) {
        return;
    }
    const ShownCap& cap = caps_[index];
    const uint32_t at = reg - cap.offset;
    // Vendor-specific and (when shown) MSI capabilities are the guest's
    // whole; of MSI-X only Message Control is writable (its table is in a
    // BAR the guest has).
    if (cap.id == kCapVendor || cap.id == kCapMsi || (cap.id == kCapMsix && at == 0)) {
        function_->write32(reg, (data & bytes) | (function_->read32(reg) & ~bytes));
        return;
    }
    // Device Status (RW1C) and Device Status 2 (RsvdZ) are written as 0.
    const bool control = at == kExpDeviceControl || at == kExpDeviceControl2;
    if (cap.id != kCapExpress || !control || (bytes & 0xffff) == 0) {
        return;
    }
    uint32_t value = ((data & bytes) | (function_->read32(reg) & ~bytes)) & 0xffff;
    if (at == kExpDeviceControl) {
        value &= ~kExpDeviceControlFlr;
    }
    function_->write32(reg, value);
}
