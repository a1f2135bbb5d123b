/*
 * Offsets of C++ structures that assembly reads. Each one is checked with
 * static_assert next to its structure, so a layout change breaks the build
 * instead of the boot.
 */
#pragma once

/* struct PerCpu (kernel/cpu/percpu.hpp) */
#define PERCPU_STACK_TOP 0
#define PERCPU_EXC_STACK_TOP 8

/* struct SecondaryBoot (kernel/cpu/smp.hpp) */
#define SECONDARY_BOOT_CPU 0
#define SECONDARY_BOOT_MMU 8
#define SECONDARY_BOOT_MPIDR 40
#define MPIDR_AFFINITY_MASK 0xff00ffffff

/* struct El2MmuConfig (kernel/mem/el2_map.hpp) */
#define MMU_CONFIG_MAIR 0
#define MMU_CONFIG_TCR 8
#define MMU_CONFIG_TTBR0 16
#define MMU_CONFIG_SCTLR 24

/* struct FatalFrame (kernel/base/fatal.hpp): x0..x30, then the interrupted SP. */
#define FATAL_FRAME_SP (31 * 8)
#define FATAL_FRAME_KIND (32 * 8)
#define FATAL_FRAME_SIZE (34 * 8)

/* struct PerCpu: the GuestRegs of the vCPU running on this CPU. */
#define PERCPU_GUEST_REGS 16

/* struct GuestRegs (vcpu/context.hpp) */
#define GUEST_REGS_X0 0
#define GUEST_REGS_SP_EL0 (31 * 8)
#define GUEST_REGS_ELR (32 * 8)
#define GUEST_REGS_SPSR (33 * 8)
#define GUEST_REGS_SIZE (34 * 8)

/* struct FpState (vcpu/context.hpp) */
#define FP_STATE_V0 0
#define FP_STATE_FPSR (32 * 16)
#define FP_STATE_FPCR (32 * 16 + 8)

/* Exit kinds vcpu/entry.S returns: the vector group of the exception. */
#define GUEST_EXIT_SYNC 0
#define GUEST_EXIT_IRQ 1
#define GUEST_EXIT_FIQ 2
#define GUEST_EXIT_SERROR 3
