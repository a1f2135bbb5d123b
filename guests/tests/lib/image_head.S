/*
 * An arm64 Linux Image header (Documentation/arch/arm64/booting.rst) in
 * front of a test guest, so Vireo's Linux loader takes it like a kernel:
 * loaded at the 2 MiB-aligned start of RAM (text_offset 0), entered at the
 * header's first instruction with x0 = the DTB's address.
 */
	.section .text.head, "ax"
	.globl	_image_head
_image_head:
	b	_start			/* code0 */
	.word	0			/* code1 */
	.quad	0			/* text_offset */
	.quad	__image_size		/* image_size: the whole footprint, stacks included */
	.quad	0x2			/* flags: little-endian, 4 KiB pages, 2 MiB-aligned base */
	.quad	0, 0, 0			/* res2-res4 */
	.word	0x644d5241		/* magic "ARM\x64" */
	.word	0			/* res5 */
