/* void smc_forward(const uint64_t args[18], uint64_t results[4]) */
	.section .text, "ax"
	.globl	firmware_smc_forward
firmware_smc_forward:
	stp	x19, x20, [sp, #-16]!
	mov	x19, x1			/* results, callee-saved across the SMC */
	mov	x20, x0
	ldp	x0, x1, [x20, #0]
	ldp	x2, x3, [x20, #16]
	ldp	x4, x5, [x20, #32]
	ldp	x6, x7, [x20, #48]
	ldp	x8, x9, [x20, #64]
	ldp	x10, x11, [x20, #80]
	ldp	x12, x13, [x20, #96]
	ldp	x14, x15, [x20, #112]
	ldp	x16, x17, [x20, #128]
	smc	#0
	stp	x0, x1, [x19, #0]
	stp	x2, x3, [x19, #16]
	ldp	x19, x20, [sp], #16
	ret
