// What the test guests need of their (virtual) GICv2 and virtual timer.
#pragma once

#include <stdint.h>

namespace guest::gicv2 {

constexpr uint64_t kGicd = 0x08000000;
constexpr uint64_t kGicc = 0x08010000;
constexpr uint32_t kTimer = 27; // the virtual timer's PPI
constexpr uint32_t kSpurious = 1023;

inline void write32(uint64_t addr, uint32_t v) { *reinterpret_cast<volatile uint32_t*>(addr) = v; }
inline uint32_t read32(uint64_t addr) { return *reinterpret_cast<volatile uint32_t*>(addr); }

/// GICD_CTLR: forward interrupts to the CPU interfaces.
inline void enable_distributor() { write32(kGicd + 0x000, 1); }
/// GICD_ISENABLER0 (banked): one of this vCPU's SGIs or PPIs.
inline void enable_private(uint32_t intid) { write32(kGicd + 0x100, 1u << intid); }
/// GICC_PMR and GICC_CTLR: this vCPU's interface on, every priority let through.
inline void enable_cpu_interface()
{
    write32(kGicc + 0x004, 0xf0);
    write32(kGicc + 0x000, 1);
}
inline uint32_t acknowledge() { return read32(kGicc + 0x0c); } // GICC_IAR
inline void end(uint32_t iar) { write32(kGicc + 0x10, iar); }  // GICC_EOIR

/// The virtual timer fires `ticks` counter ticks from now.
inline void arm_timer(uint64_t ticks)
{
    asm volatile("msr cntv_tval_el0, %0\n\tmsr cntv_ctl_el0, %1\n\tisb" ::"r"(ticks), "r"(uint64_t{1}));
}
inline void stop_timer() { asm volatile("msr cntv_ctl_el0, xzr\n\tisb"); }

inline uint64_t frequency()
{
    uint64_t freq;
    asm volatile("mrs %0, cntfrq_el0" : "=r"(freq));
    return freq;
}

} // namespace guest::gicv2
