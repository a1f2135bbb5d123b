/*
 * EL2 and EL3 register values shared by the assembly and C++ (plain
 * macros, no assembler syntax).
 */
#pragma once

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
