// The register model of a virtual GIC distributor: GICv2 (Arm IHI 0048B,
// 4.3) or GICv3 with affinity routing (IHI 0069, 12.9 and 12.11: GICD plus
// one redistributor per vCPU). What a guest reads and writes at GICD_* and
// GICR_*, and the per-interrupt state the list-register logic draws from.
// Pure logic, host-tested; the guest-facing device is vgic.cpp, the
// hardware side (list registers) list_registers.cpp.
//
// SGIs (0-15) and PPIs (16-31) are banked per vCPU; SPIs are shared. On
// GICv3 the banked ones live in the redistributors (GICD's copies are
// RAZ/WI, as with ARE set), SPIs are routed by GICD_IROUTER to one vCPU
// (Aff0 = vCPU index; 1-of-N routing is not offered: GICD_TYPER.No1N),
// every interrupt is Group 1. GICD_TYPER and GICR_TYPER announce LPIs, which
// vgic_lpi.hpp models.
// SGIs are always enabled (ISENABLER0[15:0] read as one, writes ignored).
// Priorities keep their top 5 bits, as on GIC-400. Accesses of a width the
// architecture does not allow for a register, and accesses to reserved or
// absent interrupts, read as zero and ignore writes; they never fault.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "vcpu/limits.hpp"

class VirtualDistributor {
public:
    static constexpr uint32_t kMaxIrqs = limits::kIntids; // 32 private + SPIs
    static constexpr uint32_t kMaxVcpus = limits::kVcpusPerVm;
    static constexpr uint32_t kMaxVcpusV2 = limits::kVcpusPerGicv2Vm;
    static constexpr uint32_t kPrivate = 32;
    static constexpr uint64_t kSize = 0x1000;        // GICv2 GICD
    static constexpr uint64_t kSizeV3 = 0x10000;     // GICv3 GICD
    static constexpr uint64_t kRedistSize = 0x20000; // GICv3: RD_base + SGI_base frames per vCPU
    static constexpr uint8_t kPriorityMask = 0xf8;

    /// `irqs` is rounded up to a multiple of 32 and capped at kMaxIrqs;
    /// `version` is 2 or 3 (the architecture the guest sees); `vcpus` is
    /// capped at kMaxVcpus (GICv3) or kMaxVcpusV2 (GICv2).
    void reset(uint32_t irqs, uint32_t vcpus, uint32_t version = 2);

    /// A guest access from vCPU `vcpu`. Always true: GICD accesses never
    /// fault, invalid ones are RAZ/WI (the guest bus calls these).
    bool read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) const;
    bool write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value);
    /// GICv3: an access to vCPU `target`'s redistributor (`offset` within
    /// its two frames). Likewise never faults.
    bool redist_read(uint32_t target, uint64_t offset, unsigned size, uint64_t& value) const;
    bool redist_write(uint32_t target, uint64_t offset, unsigned size, uint64_t value);
    /// GICv3 SGI generation (a trapped ICC_SGI1R_EL1 write from `vcpu`).
    /// Returns the vCPUs it made the SGI pending for (bit n: vCPU n).
    uint32_t write_sgi1r(uint32_t vcpu, uint64_t value);
    /// The vCPUs a GICv3 ICC_SGI1R_EL1 write of `value` from `vcpu` names
    /// (what write_sgi1r() then makes pending; bit n: vCPU n).
    uint32_t sgi1r_targets(uint32_t vcpu, uint64_t value) const;
    /// The vCPUs a GICv2 GICD_SGIR write of `value` from `vcpu` reaches
    /// (what write() at SGIR then makes pending; bit n: vCPU n).
    uint32_t sgir_targets(uint32_t vcpu, uint32_t value) const;
    /// GICv2 SGI generation: a GICD_SGIR write of `value` from `vcpu`, as
    /// write() does it. Returns the vCPUs it made the SGI pending for.
    uint32_t write_sgir(uint32_t vcpu, uint32_t value);

    uint32_t version() const { return version_; }
    uint64_t dist_size() const { return version_ == 3 ? kSizeV3 : kSize; }

    // State for the CPU-interface side.
    bool enabled() const { return ctlr_ != 0; } // any group enabled
    bool irq_enabled(uint32_t vcpu, uint32_t irq) const;
    bool irq_pending(uint32_t vcpu, uint32_t irq) const;
    bool irq_active(uint32_t vcpu, uint32_t irq) const;
    uint8_t priority(uint32_t vcpu, uint32_t irq) const;
    uint16_t targets(uint32_t irq) const; // SPIs: vCPU bit mask
    /// Whether the distributor forwards `irq` to `vcpu`: forwarding on, the
    /// interrupt pending, enabled and (for an SPI) targeting that vCPU.
    bool deliverable(uint32_t vcpu, uint32_t irq) const;
    /// Bit n set: interrupt 32 * `word` + n is deliverable to `vcpu` (the
    /// list-register fill's fast path; same rule as deliverable()).
    uint32_t deliverable_mask(uint32_t vcpu, uint32_t word) const;
    /// Raises an interrupt from a device or timer (level or edge alike: pending).
    void set_pending(uint32_t vcpu, uint32_t irq, bool pending);
    /// Takes one pending source of SGI `sgi` for `vcpu` (lowest vCPU
    /// number first); -1 if none is pending.
    int take_sgi(uint32_t vcpu, uint32_t sgi);
    /// Puts a source back (an SGI taken out of a list register undelivered).
    void return_sgi(uint32_t vcpu, uint32_t sgi, uint32_t source);
    /// SGI sources pending for `vcpu`: bit n = pending from vCPU n.
    uint16_t sgi_sources(uint32_t vcpu, uint32_t sgi) const { return sgi < 16 ? sgi_pending_[vcpu][sgi] : 0; }
    uint32_t irqs() const { return irqs_; }

private:
    struct Bank {
        uint32_t enable = 0;
        uint32_t pending = 0;
        uint32_t active = 0;
        uint8_t priority[kPrivate] = {};
        uint32_t config[2] = {}; // ICFGR0-1
    };

    // Which interrupts a register frame shows: GICv2's GICD all of them,
    // GICv3's GICD the SPIs, a GICv3 redistributor its vCPU's SGIs and PPIs.
    enum class View { kGicdV2, kGicdV3, kRedist };

    uint32_t* bits(uint32_t vcpu, uint32_t word, int which);
    const uint32_t* bits(uint32_t vcpu, uint32_t word, int which) const;
    uint8_t* priority_field(uint32_t vcpu, uint32_t irq);
    bool shows(View view, uint32_t irq) const;
    static bool accessible(uint64_t offset, unsigned size);
    static bool byte_registers(uint64_t offset, View view);
    bool interrupt_read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value, View view) const;
    bool interrupt_write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value, View view);
    uint32_t header_word(uint64_t offset) const; // GICD_CTLR, TYPER, IIDR, TYPER2
    uint32_t read_word(uint32_t vcpu, uint64_t offset, View view) const;
    void write_word(uint32_t vcpu, uint64_t offset, uint32_t value, View view);
    void raise_sgi(uint32_t source, uint32_t targets, uint32_t sgi);
    void set_route(uint32_t irq, uint64_t route);
    void set_sgi_sources(uint32_t vcpu, uint32_t sgi, uint16_t sources);

    uint32_t irqs_ = kPrivate;
    uint32_t vcpus_ = 1;
    uint32_t version_ = 2;
    uint32_t ctlr_ = 0;
    bool asleep_[kMaxVcpus] = {}; // GICR_WAKER.ProcessorSleep
    Bank bank_[kMaxVcpus];
    uint32_t spi_enable_[(kMaxIrqs - kPrivate) / 32] = {};
    uint32_t spi_pending_[(kMaxIrqs - kPrivate) / 32] = {};
    uint32_t spi_active_[(kMaxIrqs - kPrivate) / 32] = {};
    uint8_t spi_priority_[kMaxIrqs - kPrivate] = {};
    uint16_t spi_target_[kMaxIrqs - kPrivate] = {}; // vCPU bit mask (GICv3: from the route)
    uint64_t spi_route_[kMaxIrqs - kPrivate] = {};  // GICv3 GICD_IROUTER
    uint32_t spi_config_[(kMaxIrqs - kPrivate) / 16] = {};
    uint16_t sgi_pending_[kMaxVcpus][16] = {}; // per target vCPU and SGI: source vCPU bits
    uint16_t sgi_any_[kMaxVcpus] = {};         // per target vCPU: bit n set iff SGI n has a source
};
