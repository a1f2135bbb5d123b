// Vireo's own interrupts: kicks between physical CPUs (SGI 15) and the EL2
// physical timer that ends time slices. They arrive as IRQ exits while a
// guest runs, or wake an idle CPU from WFI; EL2 polls them with
// interrupts masked, so no handler ever interrupts Vireo itself.
#pragma once

#include <stdint.h>

struct Platform;
class Vgic;

namespace irq {

/// Boot CPU: the distributor. False (with a message) if the GIC is unusable;
/// Vireo then runs without kicks and time slices.
bool init(const Platform& platform);
/// Each CPU: its interface, the kick SGI and the EL2 timer PPI enabled.
void init_cpu();

/// Acknowledges and handles everything pending on this CPU.
void handle_pending();
/// The same after an IRQ exit, which never comes from a direct guest (its
/// CPU takes Vireo's interrupts as FIQs: kernel/devices/gic/direct.hpp).
void handle_irq_exit();

/// Gives SPI `intid` to a VM (a passthrough device's interrupt): routed to
/// physical CPU `pcpu`, each one handed to the VM's virtual GIC `vgic`.
/// False if it is not an SPI or already taken (by Vireo or another VM).
bool claim_spi(uint32_t intid, Vgic& vgic, uint32_t pcpu, bool edge = false);
/// Takes SPI `intid` for Vireo itself (an SMMU's event queue): routed to
/// this CPU, edge-triggered, `handler` called for each one (with
/// interrupts masked, like all of EL2). False if it is not free.
bool claim_own_spi(uint32_t intid, void (*handler)(uint32_t intid));
/// LPIs (GICv3, INTID 8192 and up) go to `handler`, after their EOI
/// (kernel/vm/msi.cpp: passed-through functions' MSIs).
void set_lpi_handler(void (*handler)(uint32_t intid));
/// Whether a VM has SPI `intid` (claim_spi).
bool spi_of_a_vm(uint32_t intid);
/// Whether claim_spi would take `intid`.
bool spi_free(uint32_t intid);
/// A VM restarts: its SPIs' physical active state is cleared, so
/// an interrupt its guest never ended cannot silence the device for good.
void reset_spis(const Vgic& vgic);

/// Interrupts physical CPU `pcpu` out of its guest or its idle WFI.
void kick(uint32_t pcpu);

/// Interrupts this CPU when the physical counter reaches `deadline`
/// (~0: never); the running vCPU's time slice then ends.
void arm_deadline(uint64_t deadline);
/// Brings the armed deadline forward to `deadline` if it is earlier: the
/// running vCPU then leaves its guest by then at the latest.
void deadline_by(uint64_t deadline);
/// True once the armed deadline has passed (cleared by arm_deadline).
bool slice_expired();
/// Calls `handler` from this CPU's interrupt handling once the physical
/// counter reaches `when` (a handler may ask again); nullptr cancels. One
/// per CPU, on the EL1 physical timer (CNTP), which no guest ever has.
void call_at(uint64_t when, void (*handler)());

bool available();

/// Whether vCPUs may be placed on physical CPU `cpu`: online and, when
/// Vireo drives a GIC, with its CPU interface (GICv3: redistributor) set
/// up, or nothing could kick it, end its time slices or deliver its timers.
bool cpu_usable(uint32_t cpu);

} // namespace irq
