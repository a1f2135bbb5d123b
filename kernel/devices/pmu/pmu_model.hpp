// The PMUv3 register model of a vCPU (Arm DDI 0487, "The Performance
// Monitors Extension" and its register descriptions): which register a trapped
// access names, what of a guest's write may reach the hardware, and what
// the guest reads. Pure, so the host tests check it; kernel/devices/pmu/
// vpmu.cpp applies it to the hardware.
#pragma once

#include <stdint.h>

#include "vcpu/exit.hpp"

namespace pmu {

/// The PMUVer Vireo gives guests at most: FEAT_PMUv3p1 (16-bit event
/// numbers, the upper halves of PMCEID0/1). Later versions add registers and
/// controls it does not switch (PMMIR_EL1, 64-bit event counters, threshold
/// counting, EL0 controls of v3p9).
constexpr unsigned kMaxPmuVer = 4;

/// ID_AA64DFR0_EL1.PMUVer a guest sees for the host's register value: the
/// host's, capped at kMaxPmuVer; 0 (no PMU) where the host has none or an
/// IMPLEMENTATION DEFINED one (0xf).
unsigned guest_pmuver(uint64_t id_aa64dfr0);

enum class Reg : uint8_t {
    None,
    Pmcr,
    Cntenset,
    Cntenclr,
    Ovsclr,
    Ovsset,
    Swinc,
    Selr,
    Ceid0,
    Ceid1,
    Ccntr,
    Xevtyper,
    Xevcntr,
    Userenr,
    Intenset,
    Intenclr,
    Evcntr,  // PMEVCNTR<n>_EL0
    Evtyper, // PMEVTYPER<n>_EL0; n = 31 is PMCCFILTR_EL0
};

struct Access {
    Reg reg = Reg::None;
    uint8_t n = 0; // Evcntr, Evtyper
};

/// The PMU register an MRS/MSR encoding names (MDCR_EL2.TPM traps them all).
Access decode(const vcpu::SysRegAccess& access);

// PMCR_EL0 fields.
constexpr uint64_t kPmcrE = 1u << 0;
constexpr uint64_t kPmcrP = 1u << 1; // write-only: reset the event counters
constexpr uint64_t kPmcrC = 1u << 2; // write-only: reset the cycle counter
constexpr uint64_t kPmcrD = 1u << 3;
constexpr uint64_t kPmcrDp = 1u << 5;
constexpr uint64_t kPmcrLc = 1u << 6;
constexpr uint64_t kPmcrWritable = kPmcrE | kPmcrD | kPmcrDp | kPmcrLc;
constexpr unsigned kPmcrNShift = 11;
constexpr uint64_t kPmcrNMask = 0x1full << kPmcrNShift;
constexpr uint64_t kPmcrIdMask = 0xffff0000ull; // IMP, IDCODE

/// What the guest reads from PMCR_EL0: its writable bits, `counters` as N,
/// the implementer and ID codes of the hardware's `hw` value.
uint64_t pmcr_read(uint64_t stored, uint64_t hw, unsigned counters);

// PMEVTYPER<n>_EL0 / PMCCFILTR_EL0 filter bits (Arm DDI 0487, "Filtering by
// Exception level and Security state").
constexpr uint32_t kTypeP = 1u << 31;   // do not count at EL1
constexpr uint32_t kTypeU = 1u << 30;   // do not count at EL0
constexpr uint32_t kTypeNsk = 1u << 29; // with EL3: Non-secure EL1 counts only if NSK == P
constexpr uint32_t kTypeNsu = 1u << 28; // with EL3: Non-secure EL0 counts only if NSU == U
constexpr uint32_t kTypeNsh = 1u << 27; // count at EL2: never given to a guest
constexpr uint32_t kTypeM = 1u << 26;   // with EL3: EL3 counts only if M == P

/// The events a host reports (PMCEID0/1_EL0) and what it has of the filters.
struct Events {
    uint64_t ceid0 = 0;  // bits 0-31: events 0x00-0x1f; 32-63: 0x4000-0x401f
    uint64_t ceid1 = 0;  // bits 0-31: events 0x20-0x3f; 32-63: 0x4020-0x403f
    unsigned pmuver = 0; // the guest's PMUVer
    bool el3 = false;    // NSK, NSU and M mean something only with EL3
};

constexpr uint32_t kSwIncr = 0x00;

/// PMCEID0/1 as the guest reads them (`which` 0 or 1): the host's, less the
/// events of what Vireo hides (statistical profiling, trace, the trace
/// buffer and cross-trigger outputs) and, before PMUv3p1, the upper half.
uint64_t guest_ceid(unsigned which, uint64_t hw, unsigned pmuver);

/// Whether a guest's counter may count event `event`: SW_INCR (Vireo's own
/// emulation) or a common event the guest's PMCEID reports.
bool event_passed(const Events& events, uint32_t event);

/// The bits of a PMEVTYPER (`cycle` false) or PMCCFILTR write the guest
/// reads back: the EL filters (NSK, NSU only with EL3) and, for events,
/// the event number (10 bits, 16 from PMUv3p1).
uint32_t type_write(const Events& events, uint32_t value, bool cycle);

/// What the hardware is programmed with for the guest's `type`: never
/// counting at EL2 (NSH clear) or EL3 (M differs from P), whatever the
/// guest wrote; an event Vireo does not pass counts nothing (P and U set).
uint32_t hw_type(const Events& events, uint32_t type, bool cycle);

/// Whether a counter with filter `type` counts a software increment made at
/// the guest's exception level `el` (0 or 1, Non-secure).
bool counts_at(const Events& events, uint32_t type, unsigned el);

/// The counters a guest with `counters` event counters has: bits 0 to
/// counters - 1 and bit 31, the cycle counter.
constexpr uint32_t counter_mask(unsigned counters)
{
    return (counters >= 31 ? 0x7fffffffu : (1u << counters) - 1) | (1u << 31);
}

/// The overflow interrupt's level (Arm DDI 0487, "Generating overflow
/// interrupt requests"): some counter has overflowed with its interrupt enabled, while
/// PMCR_EL0.E enables the counters. (The counter's own enable is not part
/// of it.)
constexpr bool irq_level(uint64_t pmcr, uint32_t ovs, uint32_t inten)
{
    return (pmcr & kPmcrE) != 0 && (ovs & inten) != 0;
}

/// PMUSERENR_EL0: EN (everything at EL0), SW (PMSWINC), CR (PMCCNTR reads),
/// ER (event counter reads, PMSELR).
constexpr uint32_t kUserenrMask = 0xf;

} // namespace pmu
