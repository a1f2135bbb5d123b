/*
 * Vireo's entry point: arm64 Image header, primary and secondary CPU entry,
 * EL3 -> EL2 drop, self-relocation, and the EL2 MMU switch-on.
 *
 * Boot protocol (Linux Documentation/arch/arm64/booting.rst): x0 holds the
 * physical address of the DTB, MMU and D-cache off, interrupts masked.
 */
#include "boot/asm.h"
#include "boot/layout.h"
#include "kernel/cpu/asm_offsets.h"

	.section .text.head, "ax"
	.globl	_start
_start:
	b	primary_entry		/* code0 */
	.long	0			/* code1 */
	.quad	0			/* text_offset: any 2 MiB-aligned base */
	.quad	_image_size		/* effective image size, BSS and stacks included */
	.quad	0xa			/* flags: little-endian, 4K pages, anywhere in RAM */
	.quad	0			/* res2 */
	.quad	0			/* res3 */
	.quad	0			/* res4 */
	.ascii	"ARM\x64"		/* magic */
	.long	0			/* res5: no PE/COFF header */

	.section .text.boot, "ax"
primary_entry:
	mrs	x20, cntpct_el0		/* boot timestamp, before anything else */
	mov	x19, x0			/* DTB */

	adr_l	x0, _start
	bl	apply_relocations

	mrs	x21, CurrentEL
	lsr	x21, x21, #2
	cmp	x21, #3
	b.ne	1f
	adr_l	x0, primary_at_el2
	b	drop_from_el3
1:	cmp	x21, #2
	b.ne	primary_wrong_el

primary_at_el2:
	bl	el2_cpu_init
	bl	clear_bss
	adr_l	x1, __stacks_start
	add	sp, x1, #VIREO_STACK_SLOT
	/*
	 * To the top of RAM (kernel/base/boot_move.cpp): the DTB and the boot
	 * package are copied there by boot_move, which returns the image's new
	 * base; the image is copied here, relocated for that base and entered
	 * there. x22: the base it was loaded at; x23: the DTB as handed over.
	 */
	adr_l	x22, _start
	mov	x23, x19
	sub	sp, sp, #32
	mov	x0, x19
	mov	x1, x22
	adr_l	x2, _end
	sub	x2, x2, x22		/* the effective size: BSS and stacks too */
	mov	x3, x21
	mov	x4, sp			/* struct BootMoved */
	bl	boot_move
	ldr	x19, [sp]		/* the DTB, wherever it is now */
	mov	x25, x0
	cmp	x25, x22
	b.eq	primary_moved		/* nothing moved */
	/* [_start, _edata): code, read-only data, relocations and data. */
	adr_l	x2, _edata
	mov	x0, x22
	mov	x1, x25
1:	ldp	x3, x4, [x0], #16
	stp	x3, x4, [x1], #16
	cmp	x0, x2
	b.lo	1b
	mov	x0, x25
	bl	apply_relocations	/* its entries (read here) are the copy's */
	dsb	sy			/* the copy is in memory (caches are off) */
	ic	iallu			/* no stale instructions for its addresses */
	dsb	sy
	isb
	adr_l	x0, primary_moved
	sub	x0, x0, x22
	add	x0, x0, x25
	br	x0

/* In the image's final place (moved or not); x19-x23 as above, [sp] BootMoved. */
primary_moved:
	ldr	x24, [sp, #8]		/* BootMoved.package_from */
	ldr	x25, [sp, #16]		/* BootMoved.why */
	bl	el2_cpu_init		/* VBAR_EL2: this copy's vectors */
	bl	clear_bss
	adr_l	x0, vireo_cpus		/* CPU 0's per-CPU area */
	msr	tpidr_el2, x0
	adr_l	x1, __stacks_start
	add	sp, x1, #VIREO_STACK_SLOT
	mov	x29, xzr
	mov	x30, xzr
	mov	x0, x19
	mov	x1, x20
	mov	x2, x21			/* the EL Vireo was entered at */
	mov	x3, x22			/* where it was loaded */
	mov	x4, x23			/* the DTB as handed over */
	mov	x5, x24			/* where the boot package was, if it moved */
	mov	x6, x25			/* why nothing moved, if so */
	bl	primary_main		/* never returns */
	b	halt

/* Entered below EL2: say so on the DTB's console (if any) and stop. */
primary_wrong_el:
	bl	clear_bss
	adr_l	x1, __stacks_start
	add	sp, x1, #VIREO_STACK_SLOT
	mov	x0, x21
	mov	x1, x19			/* DTB */
	bl	early_wrong_el		/* never returns */
	b	halt

/*
 * Secondary CPUs enter here (PSCI CPU_ON or spin-table release) with the MMU
 * off. The primary publishes one CPU at a time in vireo_secondary_boot and
 * cleans it to the point of coherency, so it is readable with caches off.
 */
	.globl	secondary_entry
secondary_entry:
	mrs	x0, CurrentEL
	lsr	x0, x0, #2
	cmp	x0, #3
	b.ne	1f
	adr_l	x0, secondary_at_el2
	b	drop_from_el3
1:	cmp	x0, #2
	b.ne	halt			/* the primary reports it as not online */
secondary_at_el2:
	bl	el2_cpu_init
	adr_l	x0, vireo_secondary_boot
	ldr	x19, [x0, #SECONDARY_BOOT_CPU]
	dmb	ishld			/* the CPU pointer, then the MPIDR it was published with */
	ldr	x2, [x0, #SECONDARY_BOOT_MPIDR]
	mrs	x3, mpidr_el1
	ldr	x4, =MPIDR_AFFINITY_MASK
	and	x3, x3, x4
	cmp	x2, x3
	b.ne	halt			/* published for another CPU: this one came too late */
	add	x0, x0, #SECONDARY_BOOT_MMU
	bl	el2_mmu_enable		/* before touching the stack: caches on */
	ldr	x1, [x19, #PERCPU_STACK_TOP]
	mov	sp, x1
	msr	tpidr_el2, x19
	mov	x29, xzr
	mov	x30, xzr
	mov	x0, x19
	bl	secondary_main		/* never returns */
	b	halt

/* x0: where to continue at EL2. */
drop_from_el3:
	mov	x1, #SCR_EL3_TO_EL2
	msr	scr_el3, x1
	msr	cptr_el3, xzr		/* no FP/SIMD traps to EL3 */
	adr_l	x1, el3_vectors		/* SMCs from EL2 answer NOT_SUPPORTED */
	msr	vbar_el3, x1
	ldr	x1, =SCTLR_EL2_RES1
	msr	sctlr_el2, x1
	mov	x1, #SPSR_EL2H_MASKED
	msr	spsr_el3, x1
	msr	elr_el3, x0
	isb
	eret

/* Per-CPU EL2 set-up before any C++ runs: MMU off, FP/SIMD on, vectors. */
el2_cpu_init:
	ldr	x0, =SCTLR_EL2_RES1
	msr	sctlr_el2, x0
	isb
	mov	x0, #HCR_RW
	msr	hcr_el2, x0
	mov	x0, #CPTR_EL2_NO_TRAPS
	msr	cptr_el2, x0
	adr_l	x0, el2_vectors
	msr	vbar_el2, x0
	mov	x0, #3			/* EL1PCTEN | EL1PCEN */
	msr	cnthctl_el2, x0
	msr	cntvoff_el2, xzr
	msr	vttbr_el2, xzr
	msr	tpidr_el2, xzr
	isb
	ret

/* Apply R_AARCH64_RELATIVE relocations for load address x0 (linked at 0). */
apply_relocations:
	adr_l	x1, __rela_start
	adr_l	x2, __rela_end
1:	cmp	x1, x2
	b.hs	3f
	ldp	x3, x4, [x1], #16	/* r_offset, r_info */
	ldr	x5, [x1], #8		/* r_addend */
	cbz	w4, 1b			/* R_AARCH64_NONE (left by --gc-sections) */
	cmp	w4, #1027		/* R_AARCH64_RELATIVE */
	b.ne	2f
	add	x5, x5, x0
	str	x5, [x0, x3]
	b	1b
2:	b	halt			/* the Makefile rejects any other type at link time */
3:	ret

clear_bss:
	adr_l	x0, __bss_start
	adr_l	x1, __bss_end
1:	cmp	x0, x1
	b.hs	2f
	stp	xzr, xzr, [x0], #16
	b	1b
2:	ret

/*
 * x0: struct El2MmuConfig { mair, tcr, ttbr0, sctlr } (kernel/mem/el2_map).
 * Turns on the EL2 stage-1 MMU with identity-mapped tables.
 */
	.globl	el2_mmu_enable
el2_mmu_enable:
	ldp	x1, x2, [x0, #MMU_CONFIG_MAIR]
	ldp	x3, x4, [x0, #MMU_CONFIG_TTBR0]
	msr	mair_el2, x1
	msr	tcr_el2, x2
	msr	ttbr0_el2, x3
	isb
	tlbi	alle2
	dsb	ish
	isb
	msr	sctlr_el2, x4
	isb
	ic	iallu
	dsb	nsh
	isb
	ret

	.globl	halt
halt:
	msr	daifset, #0xf
1:	wfe
	b	1b

/*
 * Used only when Vireo was entered at EL3 (no firmware): every SMC from EL2
 * returns SMCCC NOT_SUPPORTED (-1) instead of jumping to a random vector.
 */
	.balign	2048
el3_vectors:
	.rept	16
	mov	x0, #-1
	eret
	.balign	128
	.endr

	.ltorg
