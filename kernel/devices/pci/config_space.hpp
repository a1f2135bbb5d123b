// The guest's view of the configuration space of one PCIe function Vireo
// gave it (a type-0 header): reads and writes pass to the real function
// only where that is safe, everything else is emulated here. Pure logic over
// a PciFunction (ECAM on the host, a fake in tests).
//
// What the guest sees (docs/config.md, "PCIe functions"):
// - BARs start where Vireo placed them (guest address = host address). A
//   guest sizes them as usual (write all-ones to a BAR's dword, either half
//   of a 64-bit one, and read the size mask with the type bits) and may
//   move them: any other write is a new guest address (the bits below the
//   BAR's size and the type bits read-only), which the VM maps to the
//   same host BAR, or leaves unmapped if it is outside the VM's window
//   (kernel/vm/pci.cpp). The physical BARs are never written here. I/O
//   BARs read as unimplemented (0).
// - Command: only Memory Space, Bus Master Enable, Parity and SERR
//   responses and Interrupt Disable reach the function (the other bits keep
//   their real values, I/O Space is always cleared) and only they read
//   back. Status reads as the function's, except that "capabilities list"
//   says whether any capability is shown; its error bits (write 1 to clear)
//   are cleared only by the 1s a guest writes to Status itself.
// - The expansion ROM BAR reads 0; BIST and Cache Line Size writes are
//   ignored; Interrupt Line is a scratch byte of the guest's (0 at reset).
//   IDs, class, header type, subsystem and Interrupt Pin are the function's.
// - Capabilities are relinked without the ones a guest must not touch:
//   power management, and MSI / MSI-X unless init() is told the VM can
//   signal them (it owns an MSI frame). Reads inside a shown one are the
//   function's (its Next pointer skipping the hidden ones); writes reach
//   vendor-specific and (when shown) MSI capabilities in full, MSI-X's
//   Message Control, and in the PCI Express capability only Device Control (without
//   Initiate Function Level Reset) and Device Control 2: a guest cannot
//   reset the function or disable or retrain the link. Its Device
//   Capabilities and Advanced Features capability do not offer a
//   function-level reset the guest cannot start. Bytes 0x40-0xff outside a
//   shown capability read 0. Extended capabilities (SR-IOV, ATS/PRI,
//   resizable BAR, AER) are all hidden: offset 0x100 and above read 0.
// - A broken or hostile capability list (a loop, a pointer below 0x40 or
//   unaligned, more than 48 entries) is followed only as far as it is
//   sound; a list whose capabilities overlap is shown as empty, since no
//   reading of it can keep the hidden ones out of reach.
//
// The real function is accessed in 32-bit units, so a guest's 1- or 2-byte
// write becomes a read-modify-write of its dword: the other bytes are
// written with their current values, except write-1-to-clear status bytes
// (Status, Device Status), which are written as 0.
#pragma once

#include <stddef.h>
#include <stdint.h>

/// Capability IDs Vireo looks for (PCI Code and ID Assignment 1.11, 2).
namespace pci_cap {
constexpr uint8_t kMsi = 0x05;
constexpr uint8_t kExpress = 0x10; // PCI Express
constexpr uint8_t kMsix = 0x11;
} // namespace pci_cap

/// The real function's configuration space (4 KiB), 32-bit accesses at
/// 4-byte-aligned offsets.
class PciFunction {
public:
    virtual uint32_t read32(uint32_t offset) = 0;
    virtual void write32(uint32_t offset, uint32_t value) = 0;

protected:
    ~PciFunction() = default;
};

/// A memory BAR as Vireo placed it: the address decodes at `base`, `size`
/// bytes (a power of two); size 0: not implemented (or an I/O BAR).
/// A 64-bit BAR occupies its index and the next; the next one's entry is
/// unused (size 0).
struct PciBar {
    uint64_t base = 0;
    uint64_t size = 0;
    bool is64 = false;
    bool prefetchable = false;
};

class PciConfigSpace {
public:
    static constexpr uint32_t kSize = 4096;
    static constexpr unsigned kBars = 6;

    /// Binds the model to `function` with BARs placed as `bars`, walking its
    /// capability list once to decide what is shown. With `show_msi`, the
    /// MSI and MSI-X capabilities are shown and the guest writes them (its
    /// VM owns an MSI frame the function's messages can reach, and nothing
    /// else they could: the SMMU checks every message write).
    void init(PciFunction& function, const PciBar (&bars)[kBars], bool show_msi = false);

    /// A guest access of `size` (1, 2 or 4) bytes at `offset` (< kSize,
    /// aligned to `size`). Reads of what is hidden return 0; writes to it
    /// are ignored. False only for a bad size or alignment (the guest then
    /// gets an abort).
    bool read(uint32_t offset, unsigned size, uint32_t& value);
    bool write(uint32_t offset, unsigned size, uint32_t value);

    /// Where the guest has put BAR `index` (its low dword's index for a
    /// 64-bit one): the address it reads back, size-aligned.
    uint64_t guest_bar(unsigned index) const { return index < kBars ? guest_[index] : 0; }
    /// The BARs (bit n: BAR n) whose guest address changed since the last
    /// call, by a guest write or reset().
    uint32_t take_moved();

    /// Whether the guest has set Bus Master Enable (DMA allowed).
    bool bus_master() const { return bus_master_; }

    /// The guest's view as after a reset (Interrupt Line, BAR sizing
    /// state, BARs back where Vireo placed them), for a VM restart; the
    /// caller quiesces the function itself.
    void reset();

    /// Whether `size` bytes at `offset` is an access config space takes.
    static bool access_ok(uint32_t offset, unsigned size)
    {
        return (size == 1 || size == 2 || size == 4) && offset % size == 0 && offset < kSize;
    }

private:
    // Offsets 0x40-0xff in dwords: who owns each.
    static constexpr unsigned kCapDwords = (0x100 - 0x40) / 4;
    static constexpr unsigned kMaxCaps = kCapDwords; // one per dword at most
    static constexpr uint8_t kNoCap = 0xff;

    enum class BarRole : uint8_t { Unused, Low32, Low64, High64 };

    /// A capability the guest sees, in list order.
    struct ShownCap {
        uint8_t offset;
        uint8_t id;
        uint8_t next; // the next shown one's offset, 0 at the end
    };

    void find_capabilities();
    uint32_t read_dword(uint32_t reg);
    // `bytes` has 0xff in each byte lane the guest wrote, `data` its value
    // in those lanes.
    void write_dword(uint32_t reg, uint32_t bytes, uint32_t data);
    /// The BAR a BAR dword belongs to: its own index, or for a 64-bit
    /// BAR's high dword the low one's.
    unsigned low_half(unsigned index) const { return roles_[index] == BarRole::High64 ? index - 1 : index; }
    uint32_t bar_read(unsigned index) const;
    void bar_write(unsigned index, uint32_t bytes, uint32_t data);
    void command_write(uint32_t bytes, uint32_t data);
    uint32_t capability_read(uint32_t reg);
    void capability_write(uint32_t reg, uint32_t bytes, uint32_t data);

    PciFunction* function_ = nullptr;
    PciBar bars_[kBars] = {};
    BarRole roles_[kBars] = {};
    bool sizing_[kBars] = {}; // all-ones written: the dword reads its size mask
    uint64_t guest_[kBars] = {};
    uint32_t moved_ = 0;
    uint8_t interrupt_line_ = 0;
    bool msi_shown_ = false;
    bool bus_master_ = false;
    ShownCap caps_[kMaxCaps] = {};
    size_t cap_count_ = 0;
    uint8_t owner_[kCapDwords] = {}; // index into caps_, or kNoCap
};
