// The physical interrupt controller, GICv2 or GICv3 as the DTB says: what
// Vireo itself needs of it (its own interrupts: SGIs between physical CPUs,
// its EL2 timer). Interrupts are taken only while a guest runs (HCR_EL2.IMO)
// or polled after WFI; EL2 never runs with interrupts unmasked.
#pragma once

#include <stdint.h>

struct GicDesc;

namespace gic {

constexpr uint32_t kSpurious = 1023;
constexpr uint32_t kPpiBase = 16;

/// Sets up the distributor (boot CPU, once). False if the DTB's GIC cannot be used.
bool init(const GicDesc& desc, uint64_t boot_mpidr);
/// Sets up this CPU's interface (and GICv3 redistributor); `mpidr` is its affinity.
bool init_cpu(uint64_t mpidr);

/// Acknowledges the highest-priority pending interrupt; kSpurious if none.
uint32_t ack();
/// Ends it (priority drop and deactivation).
void eoi(uint32_t intid);
/// Enables an SGI or PPI on this CPU.
void enable_local(uint32_t intid);
/// Sends SGI `sgi` (0-15) to the CPU with affinity `mpidr`.
void send_sgi(uint64_t mpidr, uint32_t sgi);

unsigned version();

} // namespace gic
