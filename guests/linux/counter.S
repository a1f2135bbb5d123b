/*
 * /bin/counter in the Linux guest's initramfs: prints the virtual counter
 * (CNTVCT_EL0, which Linux lets EL0 read) in decimal. guests/linux/init
 * prints it first thing, so that make bench can tell how long firmware,
 * boot loader and kernel took to reach /init (scripts/bench-distro): under
 * Vireo a VM's counter starts when the VM is built, natively when QEMU
 * starts the machine.
 */
	.text
	.globl	_start
_start:
	isb				/* not read ahead of the program start */
	mrs	x1, cntvct_el0
	adrp	x2, digits_end
	add	x2, x2, :lo12:digits_end
	mov	x6, x2
	mov	x3, #10
	mov	w5, #'\n'
	strb	w5, [x2, #-1]!
1:	udiv	x4, x1, x3
	msub	x5, x4, x3, x1
	add	w5, w5, #'0'
	strb	w5, [x2, #-1]!
	mov	x1, x4
	cbnz	x1, 1b
	mov	x0, #1			/* stdout */
	mov	x1, x2
	sub	x2, x6, x2
	mov	x8, #64			/* write */
	svc	#0
	mov	x0, #0
	mov	x8, #93			/* exit */
	svc	#0

	.bss
digits:
	.space	32
digits_end:
