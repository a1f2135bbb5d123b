// Per-CPU state: one PerCpu per physical CPU, reached through TPIDR_EL2.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "boot/layout.h"
#include "kernel/cpu/asm_offsets.h"

struct DebugState;
struct GuestRegs;
class Vcpu;

struct PerCpu {
    uint64_t stack_top = 0;          // read by boot/start.S
    uint64_t exc_stack_top = 0;      // read by vcpu/vectors.S
    GuestRegs* guest_regs = nullptr; // the running vCPU's registers, for vcpu/entry.S
    Vcpu* loaded = nullptr;          // whose EL1 state is in the registers
    Vcpu* fp_owner = nullptr;        // whose FP/SIMD state is in the registers
    Vcpu* lr_owner = nullptr;        // whose virtual GIC list registers are in GICH
    Vcpu* pmu_owner = nullptr;       // whose counters the PMU holds (kernel/devices/pmu/vpmu.cpp)
    uint64_t mpidr = 0;
    uint32_t index = 0;
    uint32_t online = 0;        // set by the CPU itself once it runs C++ with the MMU on
    uint32_t gic_ready = 0;     // its GIC CPU interface (GICv3: redistributor) found and set up
    bool slice_expired = false; // the EL2 timer ended the running vCPU's time slice
    uint64_t deadline = ~0ull;  // the EL2 timer's deadline last armed (irq::arm_deadline); passed once slice_expired
    void (*call_handler)() = nullptr; // irq::call_at(): run when the EL1 physical timer fires
    uint64_t idle_ticks = 0;          // counter ticks spent waiting for work (sched's idle())
    // What Vireo last wrote for a guest (-1: nothing yet): whether HCR_EL2
    // traps WFI (TWI) and whether CPTR_EL2 traps FP/SIMD (TFP). Flags, not
    // the registers' values: comparing them costs no constants per entry.
    // A direct vCPU's HCR_EL2 (vcpu_hcr_direct) counts as WFI not trapped.
    int8_t wfi_trapped = -1;
    int8_t fp_trapped = -1;
    uint32_t vcpus = 0; // vCPUs assigned to this CPU (kernel/vm/build.cpp); atomic
    // Direct interrupt delivery (kernel/devices/gic/direct.hpp): the VM
    // whose vCPU has this CPU to itself (its name; set when it is built,
    // for its life), and the vCPU whose interrupts the CPU interface
    // delivers straight to its guest now (nullptr: Vireo takes them all).
    const char* direct_vm = nullptr;
    Vcpu* direct = nullptr;
    // Whose breakpoints and watchpoints are in the hardware (nullptr: all disabled; vcpu/debug.cpp).
    const DebugState* debug_owner = nullptr;
};

static_assert(offsetof(PerCpu, stack_top) == PERCPU_STACK_TOP);
static_assert(offsetof(PerCpu, exc_stack_top) == PERCPU_EXC_STACK_TOP);
static_assert(offsetof(PerCpu, guest_regs) == PERCPU_GUEST_REGS);

extern "C" PerCpu vireo_cpus[VIREO_MAX_CPUS];

/// The calling CPU's PerCpu; nullptr before boot/start.S has set it.
inline PerCpu* this_cpu()
{
    uint64_t value;
    asm volatile("mrs %0, tpidr_el2" : "=r"(value));
    return reinterpret_cast<PerCpu*>(value);
}

/// Sets up CPU `index`'s area: stack, exception stack, MPIDR.
void percpu_init(uint32_t index, uint64_t mpidr);

/// The usable stack of CPU `index` (above its guard page).
struct StackRange {
    uint64_t base;
    uint64_t top;
};
StackRange percpu_stack(uint32_t index);
