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
bool init(const GicDesc& desc);
/// GICv3: the RD_base frame of the CPU with affinity `mpidr`; 0 if none.
uint64_t redistributor(uint64_t mpidr);
/// Sets up this CPU's interface (and GICv3 redistributor); `mpidr` is its affinity.
bool init_cpu(uint64_t mpidr);

/// Acknowledges the highest-priority pending interrupt; kSpurious if none.
uint32_t ack();
/// Ends it (priority drop and deactivation: EOImode 1, two steps).
void eoi(uint32_t intid);
/// Priority drop only: the interrupt stays active until a guest's EOI
/// deactivates it through a hardware-linked list register.
void priority_drop(uint32_t intid);
/// Enables an SGI or PPI on this CPU.
void enable_local(uint32_t intid);
/// Sets or clears the active state of an interrupt (an SGI or PPI: on this CPU).
void set_active(uint32_t intid, bool active);
/// Enables SPI `intid` (level-sensitive, or edge-triggered with `edge`),
/// delivered to the CPU with affinity `mpidr`.
void enable_spi(uint32_t intid, uint64_t mpidr, bool edge = false);
/// Whether SPI `intid` is configured edge-triggered (GICD_ICFGR).
bool spi_edge(uint32_t intid);
/// Sends SGI `sgi` (0-15) to the CPU with affinity `mpidr`.
void send_sgi(uint64_t mpidr, uint32_t sgi);

unsigned version();

/// GICv2 virtual interface control (GICH), for the virtual CPU interface.
namespace v2 {
uint32_t list_registers();
uint32_t read_lr(uint32_t n);
void write_lr(uint32_t n, uint32_t value);
uint64_t empty_lrs(); // GICH_ELRSR: bit n set = LR n holds nothing
void write_hcr(uint32_t value);
uint32_t read_vmcr();
void write_vmcr(uint32_t value);
uint32_t read_apr();
void write_apr(uint32_t value);
} // namespace v2

/// GICv3 virtual interface control (ICH_*_EL2 system registers, IHI 0069 12.4).
namespace v3 {
uint32_t list_registers();            // ICH_VTR_EL2.ListRegs + 1
uint32_t active_priority_registers(); // ICH_AP0R<n>/ICH_AP1R<n> in use: 1, 2 or 4
uint64_t read_lr(uint32_t n);
void write_lr(uint32_t n, uint64_t value);
uint64_t empty_lrs(); // ICH_ELRSR_EL2
void write_hcr(uint32_t value);
uint32_t read_vmcr();
void write_vmcr(uint32_t value);
uint32_t read_apr(unsigned group, unsigned n);
void write_apr(unsigned group, unsigned n, uint32_t value);
} // namespace v3

} // namespace gic
