// A VM's memory regions besides its RAM (docs/config.md, "Regions"): ROMs,
// more RAM, and CFI flash banks, each backed by pages of its own and filled
// from a package entry. ROM and RAM are plain memory at stage 2; a ROM's
// stores fault and come here to be dropped. A flash bank is mapped
// read-only while in read-array mode, so reads (and code running from it)
// never trap, and unmapped in every other mode, so its status, identifier
// and query replies come from the CFI model (kernel/devices/flash).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/base/spinlock.hpp"
#include "kernel/devices/flash/cfi_flash.hpp"
#include "kernel/devices/mmio/mmio_bus.hpp"
#include "kernel/loader/config.hpp"
#include "kernel/mem/page_table.hpp"

class Vm;
struct VmSpec;

class VmRegion final : public MmioDevice {
public:
    const RegionConfig* config = nullptr;
    Vm* vm = nullptr;
    uint64_t pa = 0; // its pages, config->size bytes

    bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) override;
    bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value) override;
    const char* name() const override { return "a memory region"; }

    /// The stage-2 type it has when mapped (a flash bank: in read-array mode).
    MemType mapped_type() const;
    /// A VM reset: RAM gets its contents again, a flash bank goes back to
    /// read-array mode (keeping what the guest programmed), a ROM stays.
    void reset(const uint8_t* contents, size_t contents_size);

    uint8_t* bytes() const { return reinterpret_cast<uint8_t*>(pa); }
    CfiFlash flash;
    uint8_t* flash_locks = nullptr; // a byte per erase block

private:
    /// Maps the flash bank (read-array mode) or takes it out of the stage 2.
    void set_mapped(bool mapped);
    void after_flash_write(uint32_t vcpu, uint64_t offset);

    SpinLock lock_; // the flash model and its mapping
    bool mapped_ = true;
    uint32_t unknown_seen_ = 0;
};

namespace vm_regions {

/// Allocates, fills and maps `vm`'s regions in `stage2` and puts the ROMs
/// and flash banks on its MMIO bus. False, with the reason logged, when
/// memory or room runs out.
bool set_up(Vm& vm, const VmSpec& spec, PageTable& stage2);
/// A VM reset (and its first start): every region as reset() says.
void reset(Vm& vm);
/// Gives the regions' pages back (a VM that could not be built).
void release(Vm& vm);

} // namespace vm_regions
