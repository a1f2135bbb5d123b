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
/// with its MMU off, so it is cleaned to the point of coherency).
struct SecondaryBoot {
    PerCpu* cpu;
    El2MmuConfig mmu;
};

static_assert(offsetof(SecondaryBoot, cpu) == SECONDARY_BOOT_CPU);
static_assert(offsetof(SecondaryBoot, mmu) == SECONDARY_BOOT_MMU);

namespace smp {

/// Starts every CPU in `platform` except the boot CPU, one at a time, and
/// waits for each to report in. Returns how many CPUs are online in all.
size_t start_secondaries(const Platform& platform, size_t boot_index);

/// Asks the firmware (PSCI CPU_ON) or the spin-table to start the CPU `desc`
/// at secondary_entry as cpu `index`. A failure is reported, with the PSCI
/// error, and returns false.
bool release(const CpuDesc& desc, const Platform& platform, uint32_t index);

} // namespace smp
