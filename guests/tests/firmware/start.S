/*
 * A minimal EL3 firmware for testing Vireo's SMC forwarding on QEMU virt
 * (-M virt,secure=on,virtualization=on -smp 1 -bios el3fw.bin, Vireo loaded
 * at 0x40200000 with -device loader). It answers SMCCC and PSCI discovery,
 * PSCI SYSTEM_OFF (through semihosting: QEMU exits), and one SiP call whose
 * result depends on every argument register.
 */
	.section .text.entry, "ax"
	.globl	_start
_start:
	adrp	x0, __stack_top
	add	x0, x0, :lo12:__stack_top
	mov	sp, x0
	adr	x0, el3_vectors
	msr	vbar_el3, x0
	msr	cptr_el3, xzr		/* FP/SIMD untrapped (libfdt uses it) */
	isb
	adrp	x0, __bss_start
	add	x0, x0, :lo12:__bss_start
	adrp	x1, __bss_end
	add	x1, x1, :lo12:__bss_end
1:	cmp	x0, x1
	b.hs	2f
	str	xzr, [x0], #8
	b	1b
2:	bl	firmware_main		/* returns the DTB address in x0 */
	mov	x19, x0
	mov	x0, #0x531		/* SCR_EL3: NS, RES1, HCE, RW */
	msr	scr_el3, x0
	ldr	x0, =0x30c50830		/* SCTLR_EL2 RES1, MMU off */
	msr	sctlr_el2, x0
	mov	x0, #0x3c9		/* EL2h, DAIF masked */
	msr	spsr_el3, x0
	ldr	x0, =0x40200000		/* Vireo, placed by -device loader */
	msr	elr_el3, x0
	mov	x0, x19
	mov	x1, xzr
	mov	x2, xzr
	mov	x3, xzr
	isb
	eret

/* SMCs from EL2: x0-x17 in a frame, firmware_smc() answers in x0-x3. */
	.balign	2048
el3_vectors:
	.rept	8
	b	.
	.balign	128
	.endr
	/* lower EL, AArch64, sync */
	sub	sp, sp, #(18 * 8)
	stp	x0, x1, [sp, #0]
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	b	smc_entry
	.balign	128
	.rept	7
	b	.
	.balign	128
	.endr

smc_entry:
	stp	x16, x17, [sp, #128]
	stp	x18, x30, [sp, #-16]!
	add	x0, sp, #16
	bl	firmware_smc		/* updates frame[0..3] */
	ldp	x18, x30, [sp], #16
	ldp	x0, x1, [sp, #0]
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	add	sp, sp, #(18 * 8)
	eret

/* Semihosting SYS_EXIT (ADP_Stopped_ApplicationExit): QEMU exits with 0. */
	.globl	semihosting_exit
semihosting_exit:
	adr	x1, exit_block
	mov	x0, #0x18
	hlt	#0xf000
	b	.
	.balign	8
exit_block:
	.quad	0x20026
	.quad	0
	.ltorg
