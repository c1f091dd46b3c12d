/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tiny arm64 kernels for the e2e tests' error paths and make bench's
 * halting VM, the counterpart of the x86 tiny bzImages (guest-image.sh,
 * mk_tiny_image).  One source, one program per define; run-e2e and
 * run-bench assemble each with the cross toolchain and keep the raw
 * binary:
 *
 *   TINY_SPIN   sets x1..x3 to known values and spins at the symbol "spin"
 *               (SIGTERM, Ctrl-A x, the register dump of -vv)
 *   TINY_HUGE   the same, but its header asks for 1 GiB from the start of
 *               RAM (image_size): a kernel too big for --mem
 *   TINY_ABORT  loads from MMIO with LD1 (multiple structures): a data
 *               abort without a syndrome that the VMM does not decode, so
 *               it must inject an external data abort.  The guest's
 *               vector prints "E2E-ABORT A" on the PL011 when it got a
 *               synchronous external abort at its own EL (ESR_EL1.EC 0x25,
 *               DFSC 0x10), "E2E-ABORT E" for any other exception and
 *               "E2E-ABORT R" when the load returned, then ESR_EL1 in hex;
 *               then PSCI SYSTEM_OFF.
 *   TINY_HALT   waits for interrupts for ever (WFI, none ever comes): the
 *               VM that only holds its vmid, for make bench's VMSTOP to
 *               restart measurement (tools/bench/run-bench)
 *
 * Entered as Linux is (booting.rst): EL1, MMU and caches off, x0 = the
 * device tree, loaded at the start of RAM (text_offset 0).
 */

#define UART_DR		0x09000000	/* PL011 data register (layout.h) */
#define MMIO_HOLE	0x10000000	/* the PCI window: no BAR there */
#define PSCI_SYSTEM_OFF	0x84000008

	.text
	.globl	_head
_head:
	b	start			/* code0 */
	.long	0			/* code1 */
	.quad	0			/* text_offset */
#ifdef TINY_HUGE
#define TINY_SPIN
	.quad	0x40000000		/* image_size: 1 GiB */
#else
	.quad	image_end - _head	/* image_size */
#endif
	.quad	2			/* flags: little-endian, 4 KiB pages */
	.quad	0, 0, 0			/* res2..res4 */
	.ascii	"ARM\x64"		/* magic, at 0x38 */
	.long	0			/* res5 */

start:
#ifdef TINY_SPIN
	ldr	x1, =0x1122334455667788
	ldr	x2, =0x99aabbccddeeff00
	mov	x3, #0x2a
	.globl	spin
spin:
	b	spin
#endif

#ifdef TINY_HALT
1:	wfi
	b	1b
#endif

#ifdef TINY_ABORT
	adr	x9, vectors
	msr	vbar_el1, x9
	mov	x9, #(3 << 20)		/* CPACR_EL1.FPEN: no FP/SIMD trap */
	msr	cpacr_el1, x9
	isb
	mov	x3, #0
	ldr	x2, =MMIO_HOLE
	ld1	{v0.16b, v1.16b}, [x2]
	mov	w1, #'R'
	b	report

	.balign	0x800
vectors:
	.skip	0x200			/* current EL with SP0: unused */
	mrs	x3, esr_el1		/* current EL with SPx, synchronous */
	mov	w1, #'E'
	ubfx	x4, x3, #26, #6		/* EC (KVM 6.1 sets bits 63:32 too) */
	cmp	x4, #0x25		/* data abort, same EL */
	b.ne	report
	and	x4, x3, #0x3f
	cmp	x4, #0x10		/* synchronous external abort */
	b.ne	report
	mov	w1, #'A'
report:
	ldr	x5, =UART_DR
	adr	x6, msg
1:	ldrb	w7, [x6], #1
	cbz	w7, 2f
	strb	w7, [x5]
	b	1b
2:	strb	w1, [x5]
	mov	w7, #' '
	strb	w7, [x5]
	mov	x8, #60			/* x3 in hex, from the top nibble */
3:	lsr	x9, x3, x8
	and	x9, x9, #0xf
	add	x10, x9, #'0'
	add	x11, x9, #('a' - 10)
	cmp	x9, #10
	csel	x9, x10, x11, lo
	strb	w9, [x5]
	subs	x8, x8, #4
	b.ge	3b
	mov	w7, #'\n'
	strb	w7, [x5]
	ldr	x0, =PSCI_SYSTEM_OFF
	hvc	#0
	b	.
msg:
	.asciz	"E2E-ABORT "
#endif

	.ltorg
	.balign	8
image_end:
