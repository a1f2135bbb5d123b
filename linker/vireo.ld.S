/*
 * Vireo is linked as a position-independent executable at address 0 and
 * relocates itself at boot (boot/start.S applies .rela.dyn), so any loader
 * may place it at any 4 KiB-aligned address (arm64 Image header flag bit 3).
 */
#include "boot/layout.h"

OUTPUT_FORMAT("elf64-littleaarch64")
OUTPUT_ARCH(aarch64)
ENTRY(_start)

SECTIONS
{
	. = 0;
	_text = .;
	.text : {
		KEEP(*(.text.head))
		*(.text.boot)
		*(.text .text.*)
	}
	. = ALIGN(16);
	.rodata : { *(.rodata .rodata.*) }
	.eh_frame : { *(.eh_frame) }
	.init_array : { KEEP(*(.init_array .init_array.*)) }
	. = ALIGN(8);
	.rela.dyn : {
		__rela_start = .;
		*(.rela .rela.*)
		__rela_end = .;
	}
	.dynamic : { *(.dynamic) }
	.dynsym : { *(.dynsym) }
	.dynstr : { *(.dynstr) }
	.hash : { *(.hash) }
	.gnu.hash : { *(.gnu.hash) }
	. = ALIGN(VIREO_PAGE_SIZE);
	_data = .;
	.data : {
		*(.data.rel.ro .data.rel.ro.*)
		*(.data .data.*)
		*(.got .got.*)
		*(.got.plt)
	}
	. = ALIGN(16);
	_edata = .;
	.bss (NOLOAD) : {
		__bss_start = .;
		*(.bss .bss.* COMMON)
		. = ALIGN(16);
		__bss_end = .;
	}
	/* Per-CPU stacks, each above an unmapped guard page (kernel/mem). */
	. = ALIGN(VIREO_PAGE_SIZE);
	.stacks (NOLOAD) : {
		__stacks_start = .;
		. += VIREO_MAX_CPUS * VIREO_STACK_SLOT;
		__stacks_end = .;
	}
	. = ALIGN(VIREO_PAGE_SIZE);
	_end = .;

	/* arm64 Image header fields (Documentation/arch/arm64/booting.rst). */
	_image_size = ABSOLUTE(_end - _text);

	ASSERT(SIZEOF(.init_array) == 0, "Vireo runs no global constructors: make the object constexpr-initialised")

	/DISCARD/ : { *(.interp) *(.note.*) *(.comment) *(.fini_array*) }
}
