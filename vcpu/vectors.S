/*
 * The EL2 exception vector table (Arm ARM D1.10.2: four groups of four,
 * 0x80 bytes each). Exceptions from a guest (the lower-EL groups) leave
 * through guest_exit (vcpu/entry.S) with the vector group as the exit kind.
 * Exceptions taken from EL2 itself are unexpected: they are reported with
 * all registers and halt their CPU.
 *
 * The report runs on a per-CPU exception stack, so an overflow of the
 * normal stack into its guard page can still be reported.
 */
#include "boot/asm.h"
#include "kernel/cpu/asm_offsets.h"

.macro unexpected kind
	.balign	0x80
	msr	tpidrro_el0, x0		/* two scratch registers; this CPU stops anyway */
	msr	tpidr_el0, x1
	mov	x1, #\kind
	b	el2_unexpected
.endm

/* From a guest: push its x0/x1 on the host stack, x1 = the exit kind. */
.macro from_guest kind
	.balign	0x80
	stp	x0, x1, [sp, #-16]!
	mov	x1, #\kind
	b	guest_exit
.endm

	.section .text, "ax"
	.balign	2048
	.globl	el2_vectors
el2_vectors:
	unexpected 0	/* current EL, SP_EL0: sync */
	unexpected 1	/* IRQ */
	unexpected 2	/* FIQ */
	unexpected 3	/* SError */
	unexpected 4	/* current EL, SP_EL2: sync */
	unexpected 5
	unexpected 6
	unexpected 7
	from_guest GUEST_EXIT_SYNC	/* lower EL, AArch64 */
	from_guest GUEST_EXIT_IRQ
	from_guest GUEST_EXIT_FIQ
	from_guest GUEST_EXIT_SERROR
	from_guest GUEST_EXIT_SYNC	/* lower EL, AArch32 (guest EL0) */
	from_guest GUEST_EXIT_IRQ
	from_guest GUEST_EXIT_FIQ
	from_guest GUEST_EXIT_SERROR

/* x1 = vector kind; x0 and x1 of the interrupted code in TPIDRRO_EL0/TPIDR_EL0. */
el2_unexpected:
	mrs	x0, tpidr_el2
	cbz	x0, 1f
	ldr	x0, [x0, #PERCPU_EXC_STACK_TOP]
	cbnz	x0, 2f
1:	mov	x0, sp			/* no exception stack yet: use what we have */
	and	x0, x0, #~15
2:	sub	x0, x0, #FATAL_FRAME_SIZE
	str	x1, [x0, #FATAL_FRAME_KIND]
	mov	x1, sp
	str	x1, [x0, #FATAL_FRAME_SP]
	mov	sp, x0
	store_x2_to_x30 sp
	mrs	x0, tpidrro_el0
	mrs	x1, tpidr_el0
	stp	x0, x1, [sp]
	mov	x0, sp
	mov	x29, xzr
	bl	el2_fatal_exception	/* never returns */
	b	halt
