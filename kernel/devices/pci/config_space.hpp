// The guest's view of the configuration space of one PCIe function Vireo
// gave it (a type-0 header): reads and writes pass to the real function
// only where that is safe, everything else is emulated here. Pure logic over
// a PciFunction (ECAM on the host, a fake in tests).
//
// What the guest sees (docs/config.md, "PCIe functions"):
// - BARs stay where Vireo placed them (guest address = host address). A
//   guest sizes them as usual (write all-ones, read the size mask); any
//   other write is ignored, so the BAR reads back its address. The physical
//   BARs are never written here. I/O BARs read as unimplemented (0).
// - Command: only Memory Space, Bus Master Enable, Parity and SERR
//   responses and Interrupt Disable reach the function; I/O Space never.
// - The expansion ROM BAR reads 0; BIST writes are ignored; Interrupt Line
//   is a scratch byte of the guest's.
// - Capabilities are relinked without the ones a guest must not touch
//   (power management, and MSI / MSI-X until Vireo can confine messages);
//   in the PCI Express capability a guest cannot start a function-level
//   reset or disable or retrain the link. Extended capabilities (SR-IOV,
//   ATS/PRI, resizable BAR, AER) are all hidden: offset 0x100 reads 0.
#pragma once

#include <stddef.h>
#include <stdint.h>

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
    /// capability list once to decide what is shown.
    void init(PciFunction& function, const PciBar (&bars)[kBars]);

    /// A guest access of `size` (1, 2 or 4) bytes at `offset` (< kSize,
    /// aligned to `size`). Reads of what is hidden return 0; writes to it
    /// are ignored. False only for a bad size or alignment (the guest then
    /// gets an abort).
    bool read(uint32_t offset, unsigned size, uint32_t& value);
    bool write(uint32_t offset, unsigned size, uint32_t value);

    /// Whether the guest has set Bus Master Enable (DMA allowed).
    bool bus_master() const;

    /// The guest's view as after a reset (Interrupt Line, BAR sizing
    /// state), for a VM restart; the caller quiesces the function itself.
    void reset();

    // ... private state as you need it
};
