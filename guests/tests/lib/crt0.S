/*
 * Test-guest entry. The boot vCPU starts at _start (x0 = 0 or a DTB); PSCI
 * CPU_ON starts the others at secondary_entry with the context id in x0.
 * Each vCPU gets a 16 KiB stack by its MPIDR Aff0. MMU off throughout.
 */
	.section .text.entry, "ax"
	.globl	_start
_start:
	mov	x19, x0
	bl	cpu_setup
	adrp	x0, __bss_start
	add	x0, x0, :lo12:__bss_start
	adrp	x1, __bss_end
	add	x1, x1, :lo12:__bss_end
1:	cmp	x0, x1
	b.hs	2f
	str	xzr, [x0], #8
	b	1b
2:	mov	x1, x19
	bl	guest_main
	bl	guest_system_off
	b	.

	.globl	secondary_entry
secondary_entry:
	mov	x19, x0
	bl	cpu_setup
	mov	x1, x19
	bl	guest_secondary
	bl	guest_cpu_off
	b	.

/* Vectors, FP/SIMD on, stack; x0 = cpu number on return. */
cpu_setup:
	adrp	x0, guest_vectors
	add	x0, x0, :lo12:guest_vectors
	msr	vbar_el1, x0
	mov	x0, #(3 << 20)		/* CPACR_EL1.FPEN: no FP/SIMD traps */
	msr	cpacr_el1, x0
	isb
	mrs	x0, mpidr_el1
	and	x0, x0, #0xff
	adrp	x1, __stacks
	add	x1, x1, :lo12:__stacks
	add	x2, x0, #1
	lsl	x2, x2, #14
	add	sp, x1, x2
	ret

/* Exceptions at EL1: save everything, let C++ look, restore, return. */
.macro vector kind
	.balign	0x80
	sub	sp, sp, #(34 * 8)
	stp	x0, x1, [sp, #0]
	mov	x1, #\kind
	b	vector_common
.endm

	.balign	2048
	.globl	guest_vectors
guest_vectors:
	.irp	k, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	vector	\k
	.endr

vector_common:
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	mrs	x2, elr_el1
	stp	x30, x2, [sp, #240]
	mrs	x2, spsr_el1
	str	x2, [sp, #256]
	mov	x0, sp
	bl	guest_exception
	ldp	x30, x2, [sp, #240]
	msr	elr_el1, x2
	ldr	x2, [sp, #256]
	msr	spsr_el1, x2
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x19, [sp, #144]
	ldp	x20, x21, [sp, #160]
	ldp	x22, x23, [sp, #176]
	ldp	x24, x25, [sp, #192]
	ldp	x26, x27, [sp, #208]
	ldp	x28, x29, [sp, #224]
	ldp	x0, x1, [sp, #0]
	add	sp, sp, #(34 * 8)
	eret
