/* Helpers shared by Vireo's assembly files. */
#pragma once

/* Load the run-time address of a symbol (±4 GiB, position independent). */
.macro adr_l reg, sym
	adrp	\reg, \sym
	add	\reg, \reg, :lo12:\sym
.endm

/* Store x2-x30 at [base + 16] onwards: the layout of GuestRegs and FatalFrame. */
.macro store_x2_to_x30 base
	stp	x2, x3, [\base, #16]
	stp	x4, x5, [\base, #32]
	stp	x6, x7, [\base, #48]
	stp	x8, x9, [\base, #64]
	stp	x10, x11, [\base, #80]
	stp	x12, x13, [\base, #96]
	stp	x14, x15, [\base, #112]
	stp	x16, x17, [\base, #128]
	stp	x18, x19, [\base, #144]
	stp	x20, x21, [\base, #160]
	stp	x22, x23, [\base, #176]
	stp	x24, x25, [\base, #192]
	stp	x26, x27, [\base, #208]
	stp	x28, x29, [\base, #224]
	str	x30, [\base, #240]
.endm

/* SCTLR_EL2 with the MMU and caches off; bits 4,5,11,16,18,22,23,28,29 are RES1. */
#define SCTLR_EL2_RES1 0x30c50830
#define SCTLR_M (1 << 0)
#define SCTLR_C (1 << 2)
#define SCTLR_SA (1 << 3)
#define SCTLR_I (1 << 12)

/* HCR_EL2.RW: EL1 is AArch64. */
#define HCR_RW (1 << 31)

/* CPTR_EL2 (E2H=0): RES1 bits 0-9, 12, 13; TFP (bit 10) clear so FP/SIMD
 * does not trap (newlib and libfdt use SIMD registers). */
#define CPTR_EL2_NO_TRAPS 0x33ff

/* SCR_EL3: NS, RES1 bits 4-5, HCE (HVC enabled), RW (EL2 is AArch64). */
#define SCR_EL3_TO_EL2 ((1 << 0) | (3 << 4) | (1 << 8) | (1 << 10))

/* SPSR for an ERET into EL2h with D, A, I, F masked. */
#define SPSR_EL2H_MASKED 0x3c9
