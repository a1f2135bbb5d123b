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
    uint32_t maintenance_ppi = 0; // PPI number (0-15); 0 if the DTB gives none
    bool has_maintenance_irq = false;
};

struct TimerDesc {
    uint32_t frequency = 0; // from the DTB's clock-frequency; 0 means "use CNTFRQ_EL0"
    // PPI numbers (0-15) in DT order: secure phys, non-secure phys, virtual, hyp phys.
    uint32_t ppi[4] = {};
    bool found = false;
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
    // The PMU's overflow interrupt (PPI number, 0-15): the DTB's pmu node
    // (arm,armv8-pmuv3), else QEMU virt's; unused where the node gives
    // each CPU an SPI instead (CpuDesc::pmu_spi).
    uint32_t pmu_ppi = 7;
    UartDesc uart;
    ConsoleSource uart_source = ConsoleSource::None;
    Range initrd; // /chosen linux,initrd-start/end: where the boot loader put Vireo's package; size 0 if none
    char bootargs[256] = {};

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
