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

#include "boot/el2_bits.h"
