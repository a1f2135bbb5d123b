/*
 * Guest entry and exit. vcpu_enter() saves the host's callee-saved
 * registers on the host stack, loads the guest's GuestRegs and ERETs. An
 * exception from the guest comes back through el2_vectors (lower EL groups),
 * which saves the guest registers into the same GuestRegs (found through
 * TPIDR_EL2 -> PerCpu.guest_regs) and returns from vcpu_enter. SP_EL2 is not
 * touched by the guest, so it still points at the saved host registers.
 */
#include "boot/asm.h"
#include "kernel/cpu/asm_offsets.h"

#define HOST_FRAME (12 * 8)

	.section .text, "ax"
	.globl	vcpu_enter
vcpu_enter:
	sub	sp, sp, #HOST_FRAME
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	mrs	x1, tpidr_el2
	str	x0, [x1, #PERCPU_GUEST_REGS]

	ldp	x1, x2, [x0, #GUEST_REGS_SP_EL0]	/* sp_el0, elr */
	ldr	x3, [x0, #GUEST_REGS_SPSR]
	msr	sp_el0, x1
	msr	elr_el2, x2
	msr	spsr_el2, x3
	ldp	x2, x3, [x0, #16]
	ldp	x4, x5, [x0, #32]
	ldp	x6, x7, [x0, #48]
	ldp	x8, x9, [x0, #64]
	ldp	x10, x11, [x0, #80]
	ldp	x12, x13, [x0, #96]
	ldp	x14, x15, [x0, #112]
	ldp	x16, x17, [x0, #128]
	ldp	x18, x19, [x0, #144]
	ldp	x20, x21, [x0, #160]
	ldp	x22, x23, [x0, #176]
	ldp	x24, x25, [x0, #192]
	ldp	x26, x27, [x0, #208]
	ldp	x28, x29, [x0, #224]
	ldr	x30, [x0, #240]
	ldp	x0, x1, [x0, #0]
	eret
	dsb	nsh			/* no straight-line speculation past the ERET */
	isb

/*
 * From el2_vectors: guest x0 and x1 are pushed on the host stack, x1 holds
 * the exit kind.
 */
	.globl	guest_exit
guest_exit:
	mrs	x0, tpidr_el2
	ldr	x0, [x0, #PERCPU_GUEST_REGS]
	store_x2_to_x30 x0
	ldp	x2, x3, [sp], #16	/* guest x0, x1 */
	stp	x2, x3, [x0, #0]
	mrs	x2, sp_el0
	mrs	x3, elr_el2
	mrs	x4, spsr_el2
	stp	x2, x3, [x0, #GUEST_REGS_SP_EL0]
	str	x4, [x0, #GUEST_REGS_SPSR]
	mov	x0, x1

	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	add	sp, sp, #HOST_FRAME
	ret
