// A vCPU's PMUv3 registers as its guest wrote them (kernel/devices/pmu).
// Plain data: the model that gives it meaning and moves it in and out of
// the hardware is kernel/devices/pmu/vpmu.cpp.
#pragma once

#include <stdint.h>

struct PmuState {
    static constexpr unsigned kMaxCounters = 31; // PMCR_EL0.N is 5 bits; 31 selects the cycle counter
    static constexpr uint32_t kCycleBit = 1u << 31;

    uint64_t pmcr = 0;    // the writable bits the guest set (E, D, DP, LC)
    uint64_t ccntr = 0;   // PMCCNTR_EL0, while not in the hardware
    uint64_t ccfiltr = 0; // PMCCFILTR_EL0 as the guest reads it
    uint32_t evcntr[kMaxCounters] = {};
    uint32_t evtyper[kMaxCounters] = {}; // as the guest reads them back
    uint32_t cnten = 0;                  // PMCNTENSET: bit n event counter n, bit 31 the cycle counter
    uint32_t inten = 0;                  // PMINTENSET, same bits
    uint32_t ovs = 0;                    // PMOVSSET, while not in the hardware
    uint32_t selr = 0;                   // PMSELR_EL0.SEL
    uint32_t userenr = 0;                // PMUSERENR_EL0: EN, SW, CR, ER
    bool used = false;                   // the guest has touched a PMU register since its reset: its state is switched
    bool level = false;                  // the overflow interrupt's line as last given to the virtual GIC
    // Set by Vcpu::reset on whichever CPU resets it; the vCPU's own CPU
    // drops whatever of it the hardware holds before its next entry.
    bool reset_requested = false;

    void request_reset() { __atomic_store_n(&reset_requested, true, __ATOMIC_RELEASE); }
};
