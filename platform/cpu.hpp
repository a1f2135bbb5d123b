// The one layer through which Vireo touches CPU system registers, barriers
// and caches. Everything above it is plain C++.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "platform/cache_geometry.hpp"

namespace arch {

// One accessor pair per system register (read_NAME, write_NAME); the
// macros stay defined for other sets (the PMU's: kernel/devices/pmu/vpmu.cpp).
#define VIREO_SYSREG_RO(name, reg)                                                                                     \
    inline uint64_t read_##name()                                                                                      \
    {                                                                                                                  \
        uint64_t value;                                                                                                \
        asm volatile("mrs %0, " #reg : "=r"(value));                                                                   \
        return value;                                                                                                  \
    }
#define VIREO_SYSREG_RW(name, reg)                                                                                     \
    VIREO_SYSREG_RO(name, reg)                                                                                         \
    inline void write_##name(uint64_t value) { asm volatile("msr " #reg ", %0" ::"r"(value)); }

VIREO_SYSREG_RO(current_el, CurrentEL)
VIREO_SYSREG_RO(mpidr, mpidr_el1)
VIREO_SYSREG_RO(midr, midr_el1)
VIREO_SYSREG_RO(id_aa64mmfr0, id_aa64mmfr0_el1)
VIREO_SYSREG_RO(cntfrq, cntfrq_el0)
VIREO_SYSREG_RO(esr_el2, esr_el2)
VIREO_SYSREG_RO(elr_el2, elr_el2)
VIREO_SYSREG_RO(far_el2, far_el2)
VIREO_SYSREG_RO(spsr_el2, spsr_el2)
VIREO_SYSREG_RW(tpidr_el2, tpidr_el2)
VIREO_SYSREG_RW(ttbr0_el2, ttbr0_el2)
VIREO_SYSREG_RO(clidr, clidr_el1)
VIREO_SYSREG_RO(id_aa64mmfr2, id_aa64mmfr2_el1)

inline void isb() { asm volatile("isb" ::: "memory"); }

/// This CPU's last-level data or unified cache. Selects each level through
/// CSSELR_EL1, which is guest state: call it only where no guest's EL1
/// registers are loaded (at boot).
inline CacheLevel last_level_cache()
{
    const bool ccidx = ((read_id_aa64mmfr2() >> 20) & 0xf) == 1; // FEAT_CCIDX: 64-bit CCSIDR_EL1
    return ::last_level_cache(read_clidr(), ccidx, [](uint32_t level) {
        uint64_t ccsidr;
        // CSSELR_EL1.Level is level - 1, InD = 0 (data or unified); the ISB
        // makes the selection visible to the CCSIDR_EL1 read (D23.2.36).
        asm volatile("msr csselr_el1, %1\n\tisb\n\tmrs %0, ccsidr_el1" : "=r"(ccsidr) : "r"(uint64_t{level - 1} << 1));
        return ccsidr;
    });
}
inline void dsb_ish() { asm volatile("dsb ish" ::: "memory"); }
inline void sev() { asm volatile("sev" ::: "memory"); }
inline void wfe() { asm volatile("wfe" ::: "memory"); }
inline void wfi() { asm volatile("wfi" ::: "memory"); }
inline void cpu_relax() { asm volatile("yield" ::: "memory"); }

/// The physical counter, ordered after earlier instructions.
inline uint64_t counter()
{
    isb();
    uint64_t value;
    asm volatile("mrs %0, cntpct_el0" : "=r"(value));
    return value;
}

/// 64 random bits from the CPU's RNDR (FEAT_RNG: ID_AA64ISAR0_EL1.RNDR,
/// bits 63:60, non-zero); false on a CPU without it, or when it had none
/// to give this time (it then sets PSTATE.Z, Arm ARM C5.2.14).
inline bool rndr(uint64_t& value)
{
    uint64_t isar0;
    asm volatile("mrs %0, id_aa64isar0_el1" : "=r"(isar0));
    if ((isar0 >> 60) == 0) {
        return false;
    }
    uint64_t ok;
    asm volatile("mrs %0, s3_3_c2_c4_0\n\tcset %1, ne" : "=r"(value), "=r"(ok)::"cc"); // RNDR
    return ok != 0;
}

/// The smallest data cache line, in bytes (CTR_EL0.DminLine counts words).
inline uintptr_t dcache_line_size()
{
    uint64_t ctr;
    asm volatile("mrs %0, ctr_el0" : "=r"(ctr));
    return uintptr_t{4} << ((ctr >> 16) & 0xf);
}

/// Cleans and invalidates [start, start + size) to the point of coherency,
/// so a CPU with its caches off sees what this CPU wrote.
inline void clean_dcache_to_poc(const void* start, size_t size)
{
    const uintptr_t kLine = dcache_line_size();
    uintptr_t addr = reinterpret_cast<uintptr_t>(start) & ~(kLine - 1);
    const uintptr_t end = reinterpret_cast<uintptr_t>(start) + size;
    for (; addr < end; addr += kLine) {
        asm volatile("dc civac, %0" ::"r"(addr) : "memory");
    }
    dsb_ish();
}

/// Invalidates [start, start + size) from the data caches without writing
/// back: for memory written with the caches off, before turning them on.
inline void invalidate_dcache(const void* start, size_t size)
{
    const uintptr_t line = dcache_line_size();
    const uintptr_t end = reinterpret_cast<uintptr_t>(start) + size;
    for (uintptr_t addr = reinterpret_cast<uintptr_t>(start) & ~(line - 1); addr < end; addr += line) {
        asm volatile("dc ivac, %0" ::"r"(addr) : "memory");
    }
    dsb_ish();
}

/// Switches the EL2 stage-1 tables; both must map the running code alike.
inline void switch_el2_tables(uint64_t ttbr)
{
    write_ttbr0_el2(ttbr);
    isb();
    asm volatile("tlbi alle2\n\tdsb ish\n\tisb" ::: "memory");
}

} // namespace arch

extern "C" [[noreturn]] void halt();
