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

// Direct interrupt delivery (kernel/devices/gic/direct.hpp): on a CPU
// whose guest takes its own interrupts at the real CPU interface (HCR_EL2
// IMO clear), Vireo's interrupts are Group 0, signalled as FIQs and taken
// at EL2 (FMO set), where the guest cannot acknowledge or mask them.

/// Whether Group 0 is Vireo's to use: GICv3 with one security state
/// (GICD_CTLR.DS). With two, Group 0 belongs to the secure world.
bool group0_usable();
/// Group 0: acknowledge (ICC_IAR0_EL1) and end (ICC_EOIR0_EL1: priority
/// drop and deactivation, EOImode being 0 on such a CPU).
uint32_t ack_group0();
void eoi_group0(uint32_t intid);
/// Sends Group 0 SGI `sgi` to the CPU with affinity `mpidr` (ICC_SGI0R_EL1).
void send_sgi_group0(uint64_t mpidr, uint32_t sgi);
/// This CPU's interface in direct mode (EOImode 0: the guest's EOIR1
/// deactivates, its DIR reaching only the virtual interface; CBPR set and
/// BPR0 at its minimum: the guest's BPR1 writes cannot make its
/// interrupts block Vireo's; Group 0 enabled), or back (`on` false: its
/// Group 1 active priorities cleared, EOImode 1, CBPR clear).
void cpu_direct(bool on);

/// The registers of one interrupt's state bit (IHI 0069 12.9), at the same
/// offsets in GICD (SPIs) and a redistributor's SGI frame (SGIs and PPIs).
enum class Bit : uint16_t {
    SetEnable = 0x100,
    ClearEnable = 0x180,
    SetPending = 0x200,
    ClearPending = 0x280,
    SetActive = 0x300,
    ClearActive = 0x380,
};
/// The frame holding `intid`'s state for the CPU with affinity `mpidr`:
/// its redistributor's SGI frame for INTIDs below 32 (GICv3, as the CPU
/// found it at start-up), else GICD. 0 if none.
uint64_t frame_of(uint32_t intid, uint64_t mpidr);
void write_bit(uint64_t frame, Bit reg, uint32_t intid);
/// Register word `word` of `reg` (interrupts 32 * word to 32 * word + 31).
uint32_t read_word(uint64_t frame, Bit reg, uint32_t word);
/// Group register word `word` (GICD_IGROUPR<n>, GICR_IGROUPR0): bit set = Group 1.
void set_groups(uint64_t frame, uint32_t word, uint32_t group1);
void set_priority(uint64_t frame, uint32_t intid, uint8_t priority);
/// SPI `intid` to the CPU with affinity `mpidr` (GICD_IROUTER).
void route_spi(uint32_t intid, uint64_t mpidr);
/// The priority of Vireo's own interrupts.
uint8_t own_priority();

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
