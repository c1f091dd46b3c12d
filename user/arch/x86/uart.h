/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A 16550A UART as Linux's 8250 driver probes and drives it: divisor
 * latch, IER/IIR with the THR-empty interrupt semantics of the real chip,
 * FIFO control, loopback, modem status, scratch register.  Transmission
 * is instant (THR is always empty), bytes go to an output fd (or nowhere)
 * through a bounded ring drained by a writer thread (lib/out_ring.h), so a
 * THR store never waits for the terminal: when it does not keep up, bytes
 * are dropped and counted rather than the vCPU held up; received bytes
 * come from uart_rx_push() and wait in a FIFO.
 *
 * Locking: every entry point takes u->lock; set_irq is called with it
 * held (it must not call back into the UART).
 */
#ifndef VBRIDGE_ARCH_X86_UART_H
#define VBRIDGE_ARCH_X86_UART_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UART_NR_REGS	8
#define UART_RX_SIZE	256

/* Register offsets and bits used by the tests as well. */
#define UART_RBR	0	/* DLAB=0, read */
#define UART_THR	0	/* DLAB=0, write */
#define UART_DLL	0	/* DLAB=1 */
#define UART_IER	1	/* DLAB=0 */
#define UART_DLM	1	/* DLAB=1 */
#define UART_IIR	2	/* read */
#define UART_FCR	2	/* write */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define UART_IER_RDI	0x01
#define UART_IER_THRI	0x02
#define UART_IER_RLSI	0x04
#define UART_IER_MSI	0x08
#define UART_IIR_NO_INT	0x01
#define UART_IIR_MSI	0x00
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_IIR_RLSI	0x06
#define UART_IIR_FIFO	0xc0
#define UART_FCR_ENABLE	0x01
#define UART_FCR_CLR_RX	0x02
#define UART_FCR_CLR_TX	0x04
#define UART_LCR_DLAB	0x80
#define UART_MCR_DTR	0x01
#define UART_MCR_RTS	0x02
#define UART_MCR_OUT1	0x04
#define UART_MCR_OUT2	0x08
#define UART_MCR_LOOP	0x10
#define UART_LSR_DR	0x01
#define UART_LSR_OE	0x02
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_MSR_CTS	0x10
#define UART_MSR_DSR	0x20
#define UART_MSR_RI	0x40
#define UART_MSR_DCD	0x80

/**
 * struct uart - one 16550A.
 * @lock: protects every field below but the constant ones
 * @ier, @fcr, @lcr, @mcr, @scr, @dll, @dlm: registers as last written
 * @lsr_oe: an overrun happened since LSR was last read
 * @thri_pending: THR-empty interrupt condition, cleared by reading IIR
 *	when it is the reported source, or by writing THR
 * @rx, @rx_head, @rx_count: receive FIFO (ring)
 * @irq_level: level last given to @set_irq
 * @out_fd: where transmitted bytes go, -1 for nowhere (constant)
 * @out: the ring in front of @out_fd, NULL when @out_fd is -1 (constant)
 * @set_irq: drive the interrupt line (constant)
 * @rx_drained: called (with @lock held) when the guest takes bytes out of
 *	a full receive FIFO, so the input side may push again (constant,
 *	optional)
 * @opaque: argument of @set_irq and @rx_drained (constant)
 */
struct uart {
	pthread_mutex_t lock;
	uint8_t ier, fcr, lcr, mcr, scr, dll, dlm;
	bool lsr_oe;
	bool thri_pending;
	uint8_t rx[UART_RX_SIZE];
	unsigned int rx_head, rx_count;
	int irq_level;
	int out_fd;
	struct out_ring *out;
	void (*set_irq)(void *opaque, int level);
	void (*rx_drained)(void *opaque);
	void *opaque;
};

/* Returns 0, or -errno when the output thread cannot start. */
int uart_init(struct uart *u, int out_fd,
	      void (*set_irq)(void *opaque, int level),
	      void (*rx_drained)(void *opaque), void *opaque);
/* Gives queued output a little time to get out, then frees. */
void uart_destroy(struct uart *u);

/* Output bytes dropped because out_fd was not read fast enough. */
uint64_t uart_out_dropped(struct uart *u);

/* A one-byte guest access to register off (0..7). */
void uart_io(struct uart *u, unsigned int off, bool write, uint8_t *val);

/* Room left in the receive FIFO. */
unsigned int uart_rx_room(struct uart *u);

/* Queue received bytes; returns how many fitted (the rest is the caller's). */
size_t uart_rx_push(struct uart *u, const uint8_t *buf, size_t len);

#endif
