// What Vireo knows about the machine, discovered from the firmware's device
// tree (platform/fdt_platform.cpp). Plain data: no hardware access here.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "boot/layout.h"
#include "platform/psci.hpp"
#include "platform/uart.hpp"

struct Range {
    uint64_t base = 0;
    uint64_t size = 0;
    uint64_t end() const { return base + size; }
};

/// Whether [a, a + a_size) and [b, b + b_size) share a byte (ranges that do not wrap).
constexpr bool overlaps(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size)
{
    return a < b + b_size && b < a + a_size;
}

/// Affinity fields of MPIDR_EL1 (Aff3, Aff2, Aff1, Aff0), without the MT and U bits.
constexpr uint64_t kMpidrAffinityMask = 0xff00ffffffULL;

enum class EnableMethod : uint8_t { Unknown, Psci, SpinTable };

struct CpuDesc {
    uint64_t mpidr = 0; // affinity fields only (arch::kMpidrAffinityMask)
    EnableMethod method = EnableMethod::Unknown;
    uint64_t release_addr = 0; // spin-table only
    // Its PMU's overflow interrupt when that is an SPI of its own (the
    // DTB's pmu node names one per CPU in interrupt-affinity: the
    // Raspberry Pi 4's SPIs 16-19), as a GIC INTID; 0 when it is the PPI
    // Platform::pmu_ppi.
    uint32_t pmu_spi = 0;
};

struct GicDesc {
    unsigned version = 0; // 2 or 3; 0: none found
    Range dist;
    // GICv2: CPU interface, virtual interface control (GICH), virtual CPU interface (GICV).
    Range cpu_if;
    Range hyp_if;
    Range virt_cpu_if;
    // GICv3: redistributor regions.
    static constexpr size_t kMaxRedistRegions = 4;
    Range redist[kMaxRedistRegions];
    size_t redist_count = 0;
    // GICv2m MSI frame (arm,gic-v2m-frame): a device's write of an SPI
    // number to its MSI_SETSPI_NS register raises that SPI. Size 0: none.
    Range msi_frame;
    // GICv3: the first ITS (arm,gic-v3-its) and its phandle (msi-map names
    // it). Size 0: none.
    Range its;
    uint32_t its_phandle = 0;
    uint32_t maintenance_ppi = 0; // PPI number (0-15); 0 if the DTB gives none
    bool has_maintenance_irq = false;
};

struct TimerDesc {
    uint32_t frequency = 0; // from the DTB's clock-frequency; 0 means "use CNTFRQ_EL0"
    // PPI numbers (0-15) in DT order: secure phys, non-secure phys, virtual, hyp phys.
    uint32_t ppi[4] = {};
    bool found = false;
};

/// An SMMUv3 (compatible "arm,smmu-v3", status not "disabled") from the
/// DTB: Vireo's driver is platform/smmuv3.cpp.
struct SmmuDesc {
    Range regs;
    uint32_t phandle = 0; // what a bridge's iommu-map names it by
    // GIC INTIDs of its wired interrupts by interrupt-names ("eventq",
    // "priq", "cmdq-sync", "gerror"); 0 where the node gives none.
    uint32_t eventq_intid = 0;
    uint32_t priq_intid = 0;
    uint32_t cmdq_sync_intid = 0;
    uint32_t gerror_intid = 0;
    bool coherent = false; // dma-coherent: its table walks and queues snoop the CPUs' caches
};

/// A PCIe host bridge with a generic ECAM (compatible
/// "pci-host-ecam-generic"): its config space, windows and interrupts.
struct PciHostDesc {
    /// An iommu-map or msi-map (pci-iommu.txt, pci-msi.txt): requester IDs
    /// [rid_base, rid_base + length), masked by rid_mask, become IDs from
    /// id_base on, at the node with that phandle.
    struct IdMap {
        struct Entry {
            uint32_t rid_base = 0;
            uint32_t phandle = 0;
            uint32_t id_base = 0;
            uint32_t length = 0;
        };
        static constexpr size_t kMax = 4;
        Entry entries[kMax];
        size_t count = 0;
        uint32_t rid_mask = ~0u;

        /// The entry covering `rid`, and the ID it becomes there; nullptr if none.
        const Entry* find(uint32_t rid, uint32_t& id) const;
    };

    Range ecam;             // reg: 1 MiB of config space per bus, from bus_first
    uint32_t bus_first = 0; // bus-range (default 0-255, capped by the ECAM's size)
    uint32_t bus_last = 0;
    // ranges: the 32-bit non-prefetchable memory window, the 64-bit one and
    // the I/O window, as CPU addresses and the PCI bus addresses they show as.
    Range mmio32;
    uint64_t mmio32_pci = 0;
    Range mmio64;
    uint64_t mmio64_pci = 0;
    Range io;
    uint64_t io_pci = 0;
    // interrupt-map (after interrupt-map-mask): the INTx of a function is
    // the entry whose masked (device << 11) and pin (1 = INTA .. 4 = INTD)
    // match; interrupts go to the GIC as SPIs, level-triggered.
    struct IntxEntry {
        uint32_t devfn_bits = 0; // the child unit address' first cell, masked
        uint32_t pin = 0;        // 1-4
        uint32_t intid = 0;      // GIC INTID (SPI 0 = 32)
    };
    static constexpr size_t kMaxIntx = 32;
    IntxEntry intx[kMaxIntx];
    size_t intx_count = 0;
    uint32_t intx_mask = 0;     // interrupt-map-mask's first cell
    uint32_t intx_pin_mask = 0; // interrupt-map-mask's last (interrupt) cell
    IdMap iommu;                // iommu-map: requester IDs to StreamIDs of an SMMU
    IdMap msi;                  // msi-map: requester IDs to DeviceIDs of an ITS (or a GICv2m frame)
    bool coherent = false;      // dma-coherent

    /// The INTID of `pin` (1-4) of device `device` on the bridge's root bus
    /// (interrupt-map), or 0 if the map has none.
    uint32_t intx_intid(uint32_t device, uint32_t pin) const;
    /// The SMMU (index into Platform::smmu) and StreamID that requester ID
    /// `rid` (bus << 8 | device << 3 | function) is translated by; false if
    /// no iommu-map entry covers it (its DMA is not confined).
    bool stream_of(uint32_t rid, const struct Platform& platform, size_t& smmu, uint32_t& sid) const;
    /// The DeviceID that requester ID `rid`'s MSIs carry at the host's ITS
    /// (msi-map); false if the map sends them elsewhere or has no entry.
    bool device_id_of(uint32_t rid, const struct Platform& platform, uint32_t& device) const;
};

struct Platform {
    static constexpr size_t kMaxMemory = 8;
    static constexpr size_t kMaxReserved = 16;
    static constexpr size_t kMaxCpus = VIREO_MAX_CPUS;

    char model[64] = {};
    Range memory[kMaxMemory];
    size_t memory_count = 0;
    Range reserved[kMaxReserved];
    size_t reserved_count = 0;
    CpuDesc cpus[kMaxCpus];
    size_t cpu_count = 0;
    size_t cpus_ignored = 0; // beyond kMaxCpus
    Conduit psci_conduit = Conduit::None;
    GicDesc gic;
    TimerDesc timer;
    static constexpr size_t kMaxSmmus = 4;
    SmmuDesc smmu[kMaxSmmus];
    size_t smmu_count = 0;
    size_t smmus_ignored = 0; // beyond kMaxSmmus
    // The first ECAM PCIe host bridge (others are not used: docs/config.md).
    PciHostDesc pci;
    bool has_pci = false;
    // Why the DTB's PCIe host bridge is not used, for the boot log ("" when
    // there is none or has_pci): a malformed property or a bridge that is
    // not ECAM-generic. Vireo runs without PCIe then.
    char pci_problem[96] = {};
    // The PMU's overflow interrupt (PPI number, 0-15): the DTB's pmu node
    // (arm,armv8-pmuv3), else QEMU virt's; unused where the node gives
    // each CPU an SPI instead (CpuDesc::pmu_spi).
    uint32_t pmu_ppi = 7;
    UartDesc uart;
    ConsoleSource uart_source = ConsoleSource::None;
    Range initrd; // /chosen linux,initrd-start/end: where the boot loader put Vireo's package; size 0 if none
    char bootargs[256] = {};
    // /chosen/rng-seed: secret random bytes from the boot loader (QEMU
    // virt gives 32), the first kMaxRngSeed of them; size 0 if none.
    static constexpr size_t kMaxRngSeed = 64;
    uint8_t rng_seed[kMaxRngSeed] = {};
    size_t rng_seed_size = 0;

    uint64_t total_memory() const;
    /// Index of the CPU with this MPIDR (affinity fields compared), or -1.
    int cpu_index(uint64_t mpidr) const;
};

/// A parse error: what went wrong, in words a user can act on.
struct PlatformError {
    char message[160] = {};
};

/// Fills `out` from the flattened device tree at `fdt`. Returns false and an
/// explanation in `error` when the tree is missing pieces Vireo cannot run
/// without (valid header, memory, CPUs, GIC) or is malformed.
bool parse_platform(const void* fdt, Platform& out, PlatformError& error);

/// Looks for `option` as a whitespace-separated word (or `option=value`) in
/// bootargs; returns the value (empty for a bare word) or nullptr.
const char* find_bootarg(const char* bootargs, const char* option, char* value, size_t value_size);
