// The EL2 stage-1 identity map: RAM as Normal memory, everything else as
// Device memory, and an unmapped guard page below every CPU's stack.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kernel/cpu/asm_offsets.h"

struct Platform;
struct UartDesc;

/// What boot/start.S needs to switch the MMU on (el2_mmu_enable).
struct El2MmuConfig {
    uint64_t mair;
    uint64_t tcr;
    uint64_t ttbr0;
    uint64_t sctlr;
};

static_assert(offsetof(El2MmuConfig, mair) == MMU_CONFIG_MAIR);
static_assert(offsetof(El2MmuConfig, tcr) == MMU_CONFIG_TCR);
static_assert(offsetof(El2MmuConfig, ttbr0) == MMU_CONFIG_TTBR0);
static_assert(offsetof(El2MmuConfig, sctlr) == MMU_CONFIG_SCTLR);

extern "C" void el2_mmu_enable(const El2MmuConfig* config);

namespace el2_map {

/// Before the DTB is parsed: map Vireo's image and the DTB as Normal memory
/// and the early UART as Device, then turn the MMU and caches on, so that
/// newlib and libfdt can run (unaligned accesses, exclusives).
void enable_early(uint64_t dtb, uint64_t dtb_size, uint64_t uart_base);

/// After the DTB is parsed: the full map, with stack guard pages. Panics if
/// the table pool is too small (a Vireo bug, not a platform property).
void enable_final(const Platform& platform);

/// The configuration secondary CPUs switch their MMU on with.
const El2MmuConfig& config();

} // namespace el2_map
