/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An ARM PL011 UART (PrimeCell r1p5) as Linux's amba-pl011 driver (and its
 * pl011 earlycon) and u-boot's pl01x driver drive it: DR, RSR/ECR, FR,
 * IBRD/FBRD, LCR_H, CR, IFLS, IMSC, RIS, MIS, ICR, DMACR and the PeriphID/
 * PCellID registers the AMBA bus reads when it probes.
 *
 * Transmission is instant (the TX FIFO is always empty, TXFE set, BUSY
 * and TXFF never), whether or not CR enables the UART (QEMU does the same:
 * a kernel's earlycon writes before anyone sets UARTEN); bytes go to an
 * output fd (or nowhere) through a bounded ring drained by a writer thread
 * (lib/out_ring.h), so a DR store never waits for the terminal.  Received
 * bytes come from pl011_rx_push() and wait in the receive FIFO: 32 bytes
 * with LCR_H.FEN set, a 1-byte holding register without, as on the chip,
 * and only while CR has UARTEN and RXE set (no room otherwise); what does
 * not fit stays the caller's, and rx_drained tells it when the guest made
 * room where there was none (read a full FIFO, enabled the FIFO or the
 * receiver).  Loopback (CR.LBE) sends transmitted
 * bytes to the receive FIFO instead.
 *
 * Interrupts, one level-triggered line (UARTINTR) = RIS & IMSC != 0:
 *   RX  set when the receive FIFO reaches the IFLS trigger level (any byte
 *       without FIFO); cleared by reading below it, or by ICR;
 *   RT  receive timeout: set when bytes arrive (no more follow within the
 *       timeout, since a push is all that arrives at once); cleared when
 *       the FIFO empties, or by ICR;
 *   TX  set each time a byte is transmitted (the FIFO passes the trigger
 *       level on its way to empty); cleared by ICR;
 *   OE  receive overrun (a byte came when the FIFO was full: loopback);
 *       cleared by ICR.  Modem status interrupts never fire (the lines
 *       are fixed: CTS, DSR, DCD asserted).
 *
 * Accesses: 32-bit ones at register offsets are what u-boot makes; Linux
 * makes 16-bit ones (readw/writew: ARM's PL011 is not an access_32b
 * vendor) and its earlycon 8-bit stores to DR, so 8- and 16-bit accesses
 * work too: a read returns the bytes of the register at (off & ~3)
 * selected by off & 3, a write stores val << 8 * (off & 3) to it.  Wider
 * accesses read 0 and are ignored.
 *
 * Locking: every entry point takes u->lock; set_irq and rx_drained are
 * called with it held (they must not call back into the UART).
 */
#ifndef VBRIDGE_ARCH_ARM64_PL011_H
#define VBRIDGE_ARCH_ARM64_PL011_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/iobus.h"

#define PL011_SIZE	0x1000
#define PL011_FIFO	32

/* Register offsets. */
#define PL011_DR	0x000
#define PL011_RSR	0x004	/* read: receive status; write: ECR, clears it */
#define PL011_FR	0x018
#define PL011_ILPR	0x020
#define PL011_IBRD	0x024
#define PL011_FBRD	0x028
#define PL011_LCR_H	0x02c
#define PL011_CR	0x030
#define PL011_IFLS	0x034
#define PL011_IMSC	0x038
#define PL011_RIS	0x03c
#define PL011_MIS	0x040
#define PL011_ICR	0x044
#define PL011_DMACR	0x048
#define PL011_PERIPH_ID0 0xfe0	/* 0xfe0-0xfec, then PCellID 0xff0-0xffc */

/* DR read: error bits above the data byte. */
#define PL011_DR_OE	0x800
/* RSR */
#define PL011_RSR_OE	0x8
/* FR */
#define PL011_FR_CTS	0x001
#define PL011_FR_DSR	0x002
#define PL011_FR_DCD	0x004
#define PL011_FR_BUSY	0x008
#define PL011_FR_RXFE	0x010
#define PL011_FR_TXFF	0x020
#define PL011_FR_RXFF	0x040
#define PL011_FR_TXFE	0x080
#define PL011_FR_RI	0x100
/* LCR_H */
#define PL011_LCR_H_FEN	0x10
#define PL011_LCR_H_WLEN_8 0x60
/* CR */
#define PL011_CR_UARTEN	0x001
#define PL011_CR_LBE	0x080
#define PL011_CR_TXE	0x100
#define PL011_CR_RXE	0x200
/* Interrupt bits of IMSC, RIS, MIS, ICR. */
#define PL011_INT_RI	0x001
#define PL011_INT_CTS	0x002
#define PL011_INT_DCD	0x004
#define PL011_INT_DSR	0x008
#define PL011_INT_RX	0x010
#define PL011_INT_TX	0x020
#define PL011_INT_RT	0x040
#define PL011_INT_FE	0x080
#define PL011_INT_PE	0x100
#define PL011_INT_BE	0x200
#define PL011_INT_OE	0x400
#define PL011_INT_ALL	0x7ff

/* PeriphID0-3 (part 0x011, designer ARM 0x41, revision 1), PCellID0-3. */
#define PL011_PERIPH_ID	0x00141011
#define PRIMECELL_ID	0xb105f00d

/**
 * struct pl011 - one PL011.
 * @lock: protects every field below but the constant ones
 * @rsr: receive status (overrun)
 * @ibrd, @fbrd, @lcr_h, @cr, @ifls, @imsc, @dmacr, @ilpr: registers as
 *	last written
 * @ris: raw interrupt status
 * @rx, @rx_head, @rx_count: receive FIFO (ring of PL011_FIFO bytes)
 * @irq_level: level last given to @set_irq
 * @out_fd: where transmitted bytes go, -1 for nowhere (constant)
 * @out: the ring in front of @out_fd, NULL when @out_fd is -1 (constant)
 * @set_irq: drive the interrupt line (constant)
 * @rx_drained: called (with @lock held) when a guest access turns a
 *	receive side without room into one with room, so the input side
 *	may push again (constant, optional)
 * @opaque: argument of @set_irq and @rx_drained (constant)
 */
struct pl011 {
	pthread_mutex_t lock;
	uint32_t rsr;
	uint32_t ibrd, fbrd, lcr_h, cr, ifls, imsc, dmacr, ilpr;
	uint32_t ris;
	uint8_t rx[PL011_FIFO];
	unsigned int rx_head, rx_count;
	int irq_level;
	int out_fd;
	struct out_ring *out;
	void (*set_irq)(void *opaque, int level);
	void (*rx_drained)(void *opaque);
	void *opaque;
};

/* Returns 0, or -errno when the output thread cannot start. */
int pl011_init(struct pl011 *u, int out_fd,
	       void (*set_irq)(void *opaque, int level),
	       void (*rx_drained)(void *opaque), void *opaque);
/* Gives queued output a little time to get out, then frees. */
void pl011_destroy(struct pl011 *u);

/* Output bytes dropped because out_fd was not read fast enough. */
uint64_t pl011_out_dropped(struct pl011 *u);

/* A guest access of len (1, 2 or 4) bytes at offset off (0 .. 0xfff). */
void pl011_access(struct pl011 *u, unsigned int off, unsigned int len,
		  bool write, uint32_t *val);

/* The same as an MMIO bus handler (opaque: the struct pl011). */
io_handler_fn pl011_io;

/* Room left in the receive FIFO. */
unsigned int pl011_rx_room(struct pl011 *u);

/* Queue received bytes; returns how many fitted (the rest is the caller's). */
size_t pl011_rx_push(struct pl011 *u, const uint8_t *buf, size_t len);

#endif
