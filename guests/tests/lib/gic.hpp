// What the test guests need of their virtual GIC (v2 or v3, whichever the
// VM has: ID_AA64PFR0_EL1.GIC says whether the GICv3 system registers are
// there) and of the virtual timer. GICv3 guests use Group 1 and affinity
// routing; vCPU n has affinity 0.0.0.n.
#pragma once

#include <stdint.h>

#include "guest.hpp"

namespace guest::gic {

constexpr uint64_t kGicd = 0x08000000;
constexpr uint64_t kGicc = 0x08010000; // GICv2 CPU interface
constexpr uint64_t kGicr = 0x080a0000; // GICv3 redistributors, 128 KiB each
constexpr uint64_t kSgiFrame = 0x10000;
constexpr uint32_t kTimer = 27; // the virtual timer's PPI
constexpr uint32_t kSpurious = 1023;

inline void write32(uint64_t addr, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(addr) = v; }
inline uint32_t read32(uint64_t addr) { return *reinterpret_cast<volatile uint32_t*>(addr); }
inline void write8(uint64_t addr, uint8_t v) { *reinterpret_cast<volatile uint8_t*>(addr) = v; }

inline int version_seen = 0; // reading the ID register traps: once is enough

inline bool v3()
{
    if (version_seen == 0) {
        uint64_t pfr0;
        asm volatile("mrs %0, id_aa64pfr0_el1" : "=r"(pfr0));
        version_seen = ((pfr0 >> 24) & 0xf) != 0 ? 3 : 2;
    }
    return version_seen == 3;
}

inline uint64_t self()
{
    uint64_t mpidr;
    asm volatile("mrs %0, mpidr_el1" : "=r"(mpidr));
    return mpidr & 0xff;
}

/// Where this vCPU's SGIs and PPIs are configured: GICv2's banked GICD
/// registers or its GICv3 redistributor's SGI frame (same layout).
inline uint64_t private_base() { return v3() ? kGicr + self() * 0x20000 + kSgiFrame : kGicd; }

/// GICD_CTLR: forward interrupts (GICv3: Group 1, affinity routing).
inline void enable_distributor() { write32(kGicd + 0x000, v3() ? 0x12 : 1); }
/// GICD_ISENABLER0 or GICR_ISENABLER0: one of this vCPU's SGIs or PPIs.
inline void enable_private(uint32_t intid) { write32(private_base() + 0x100, 1u << intid); }
inline void set_private_priority(uint32_t intid, uint8_t priority) { write8(private_base() + 0x400 + intid, priority); }
/// An SPI, enabled, routed to vCPU `vcpu`, at `priority` (GICv3: Group 1).
inline void enable_spi(uint32_t intid, uint32_t vcpu, uint8_t priority)
{
    if (v3()) {
        *reinterpret_cast<volatile uint64_t*>(kGicd + 0x6000 + 8 * intid) = vcpu; // GICD_IROUTER
    } else {
        write8(kGicd + 0x800 + intid, static_cast<uint8_t>(1u << vcpu)); // GICD_ITARGETSR
    }
    write8(kGicd + 0x400 + intid, priority);
    if (v3()) {
        write32(kGicd + 0x080 + 4 * (intid / 32), read32(kGicd + 0x080 + 4 * (intid / 32)) | 1u << (intid % 32));
    }
    write32(kGicd + 0x100 + 4 * (intid / 32), 1u << (intid % 32));
}

/// This vCPU's interface on, every priority let through.
inline void enable_cpu_interface()
{
    if (v3()) {
        const uint64_t rd = kGicr + self() * 0x20000;
        write32(rd + 0x14, read32(rd + 0x14) & ~2u); // GICR_WAKER: awake
        write32(rd + kSgiFrame + 0x080, ~0u);        // GICR_IGROUPR0: Group 1 (a real GIC resets to 0)
        asm volatile("msr icc_pmr_el1, %0\n\tmsr icc_igrpen1_el1, %1\n\tisb" ::"r"(uint64_t{0xf0}), "r"(uint64_t{1}));
        return;
    }
    write32(kGicc + 0x004, 0xf0); // GICC_PMR
    write32(kGicc + 0x000, 1);    // GICC_CTLR
}

/// The interrupt ID (GICv2: with the SGI source in bits 12:10).
inline uint32_t acknowledge()
{
    if (v3()) {
        uint64_t iar;
        asm volatile("mrs %0, icc_iar1_el1" : "=r"(iar));
        return static_cast<uint32_t>(iar);
    }
    return read32(kGicc + 0x0c); // GICC_IAR
}

inline void end(uint32_t iar)
{
    if (v3()) {
        asm volatile("msr icc_eoir1_el1, %0\n\tisb" ::"r"(uint64_t{iar}));
        return;
    }
    write32(kGicc + 0x10, iar); // GICC_EOIR
}

/// SGI `sgi` to the vCPUs in `targets` (bit n: vCPU n).
inline void send_sgi(uint32_t sgi, uint32_t targets)
{
    if (v3()) {
        asm volatile("msr icc_sgi1r_el1, %0\n\tisb" ::"r"(uint64_t{sgi} << 24 | targets));
        return;
    }
    write32(kGicd + 0xf00, targets << 16 | sgi); // GICD_SGIR
}

inline void send_sgi_to_others(uint32_t sgi)
{
    if (v3()) {
        asm volatile("msr icc_sgi1r_el1, %0\n\tisb" ::"r"(1ull << 40 | uint64_t{sgi} << 24));
        return;
    }
    write32(kGicd + 0xf00, 1u << 24 | sgi);
}

/// The virtual timer fires `ticks` counter ticks from now.
inline void arm_timer(uint64_t ticks)
{
    asm volatile("msr cntv_tval_el0, %0\n\tmsr cntv_ctl_el0, %1\n\tisb" ::"r"(ticks), "r"(uint64_t{1}));
}
inline void stop_timer() { asm volatile("msr cntv_ctl_el0, xzr\n\tisb"); }
/// In the timer's interrupt: how many ticks after its compare value it is taken.
inline uint64_t timer_lateness()
{
    uint64_t cval, now;
    asm volatile("mrs %0, cntv_cval_el0\n\tisb\n\tmrs %1, cntvct_el0" : "=r"(cval), "=r"(now));
    return now - cval;
}

inline uint64_t frequency()
{
    uint64_t freq;
    asm volatile("mrs %0, cntfrq_el0" : "=r"(freq));
    return freq;
}

/// Spins for `ms` milliseconds of counter time.
inline void pause_ms(uint64_t ms)
{
    const uint64_t begin = counter();
    while (counter() - begin < frequency() * ms / 1000) {
    }
}

/// Waits up to `ms` milliseconds of counter time for `done()`, spinning
/// with YIELD (no WFI: an interrupt that never comes would leave it there).
template <typename F> bool wait_ms(uint64_t ms, F done)
{
    const uint64_t begin = counter();
    while (!done() && counter() - begin < frequency() * ms / 1000) {
        asm volatile("yield");
    }
    return done();
}

/// Whether the VM is at its first boot, not restarted by a PSCI
/// SYSTEM_RESET: its virtual counter runs on across resets and Vireo
/// restarts a VM at most once a second (docs/architecture.md, "The life of
/// a VM"), so a counter below one second at entry is the first boot.
inline bool first_boot() { return counter() < frequency(); }

} // namespace guest::gic
