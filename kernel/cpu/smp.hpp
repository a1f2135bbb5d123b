// Bringing up the secondary CPUs: PSCI CPU_ON or spin-table release.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/cpu/asm_offsets.h"
#include "kernel/cpu/percpu.hpp"
#include "kernel/mem/el2_map.hpp"

struct Platform;
struct CpuDesc;

/// What the primary hands to one starting secondary (boot/start.S reads it
/// with its MMU off, so it is cleaned to the point of coherency). `mpidr`
/// names the CPU it is for: a CPU that comes online after the primary gave
/// up on it finds the next CPU's here, and parks instead of taking that
/// CPU's per-CPU area and stack. One cache line, written back whole: a
/// secondary that reads `cpu` and then `mpidr` and finds its own MPIDR
/// read the `cpu` published with it.
struct alignas(64) SecondaryBoot {
    PerCpu* cpu;
    El2MmuConfig mmu;
    uint64_t mpidr; // affinity fields only (kMpidrAffinityMask)
};

static_assert(offsetof(SecondaryBoot, cpu) == SECONDARY_BOOT_CPU);
static_assert(offsetof(SecondaryBoot, mmu) == SECONDARY_BOOT_MMU);
static_assert(offsetof(SecondaryBoot, mpidr) == SECONDARY_BOOT_MPIDR);
static_assert(sizeof(SecondaryBoot) == 64, "one cache line");

namespace smp {

/// The physical CPUs after start_secondaries(): `numbered` have a number
/// (0 to numbered - 1), `online` of them came online.
struct Cpus {
    size_t numbered;
    size_t online;
};

/// Starts every CPU in `platform` except the boot CPU, one at a time, and
/// waits for each to report in. The boot CPU is cpu 0, the others follow
/// the DTB's /cpus order. A CPU that does not start keeps its number, so
/// the numbers the boot log prints are the ones a configuration's `cpus`
/// names, whichever CPUs failed.
Cpus start_secondaries(const Platform& platform, size_t boot_index);

/// Why CPU `index` is not online, as the boot log said (e.g. "PSCI CPU_ON
/// returned -2 (INVALID_PARAMETERS)"); nullptr when it is online.
const char* why_offline(uint32_t index);

/// Asks the firmware (PSCI CPU_ON) or the spin-table to start the CPU `desc`
/// at secondary_entry as cpu `index`. A failure is reported, with the PSCI
/// error, and returns false.
bool release(const CpuDesc& desc, const Platform& platform, uint32_t index);

} // namespace smp
