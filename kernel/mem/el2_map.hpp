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

/// EL2 addresses are the physical ones below kIdentityEnd. Above it, to the
/// end of the 39-bit map, is the window: runs of EL2 addresses for memory
/// made of scattered pages (a coloured VM's RAM), so that Vireo reaches it
/// as one run. Physical memory up there is not used (QEMU virt, the
/// Raspberry Pi 4 and RK3588 have none).
constexpr uint64_t kIdentityEnd = 0x70'0000'0000; // 448 GiB
constexpr uint64_t kWindowEnd = 1ull << 39;

/// `size` bytes (whole pages) of window, 2 MiB aligned; 0 when the window
/// is used up.
uint64_t window_reserve(uint64_t size);
/// Gives back window_reserve(size)'s `va` (unmapped first).
void window_release(uint64_t va, uint64_t size);
/// The physical address window address `va` maps to; 0 if none.
uint64_t window_phys(uint64_t va);
/// Maps window [va, va + size) to physical [pa, pa + size) as Normal
/// memory. Its tables come from memory::stage2_tables(). False when they
/// run out. Only ever fills entries that were invalid: no TLB holds them.
bool window_map(uint64_t va, uint64_t pa, uint64_t size);
/// Unmaps window [va, va + size) on every CPU (the memory is given back).
void window_unmap(uint64_t va, uint64_t size);

} // namespace el2_map
