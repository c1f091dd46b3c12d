// SPDX-License-Identifier: GPL-2.0
/* 16550A UART emulation. */
#include "arch/x86/uart.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lib/out_ring.h"

int uart_init(struct uart *u, int out_fd,
	      void (*set_irq)(void *opaque, int level),
	      void (*rx_drained)(void *opaque), void *opaque)
{
	memset(u, 0, sizeof(*u));
	if (out_fd >= 0) {
		u->out = out_ring_new(out_fd, OUT_RING_SIZE, "serial");
		if (!u->out)
			return -errno;
	}
	pthread_mutex_init(&u->lock, NULL);
	u->out_fd = out_fd;
	u->set_irq = set_irq;
	u->rx_drained = rx_drained;
	u->opaque = opaque;
	u->dll = 0x0c;		/* 9600 baud, as a PC BIOS leaves it */
	u->lcr = 0x03;		/* 8N1 */
	u->mcr = UART_MCR_OUT2;
	return 0;
}

void uart_destroy(struct uart *u)
{
	out_ring_free(u->out, 2000);
	u->out = NULL;
	pthread_mutex_destroy(&u->lock);
}

uint64_t uart_out_dropped(struct uart *u)
{
	return u->out ? out_ring_dropped(u->out) : 0;
}

static uint8_t uart_msr(const struct uart *u)
{
	uint8_t m = u->mcr;

	if (!(m & UART_MCR_LOOP))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	/* Loopback: outputs wired back to the modem status inputs. */
	return (m & UART_MCR_RTS ? UART_MSR_CTS : 0) |
	       (m & UART_MCR_DTR ? UART_MSR_DSR : 0) |
	       (m & UART_MCR_OUT1 ? UART_MSR_RI : 0) |
	       (m & UART_MCR_OUT2 ? UART_MSR_DCD : 0);
}

/* The highest-priority pending interrupt, as IIR bits 3:0. */
static uint8_t uart_iid(const struct uart *u)
{
	if ((u->ier & UART_IER_RLSI) && u->lsr_oe)
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_RDI) && u->rx_count)
		return UART_IIR_RDI;
	if ((u->ier & UART_IER_THRI) && u->thri_pending)
		return UART_IIR_THRI;
	return UART_IIR_NO_INT;
}

static void uart_update_irq(struct uart *u)
{
	int level = uart_iid(u) != UART_IIR_NO_INT;

	if (level != u->irq_level) {
		u->irq_level = level;
		if (u->set_irq)
			u->set_irq(u->opaque, level);
	}
}

static bool uart_rx_put(struct uart *u, uint8_t c)
{
	if (u->rx_count == UART_RX_SIZE) {
		u->lsr_oe = true;
		return false;
	}
	u->rx[(u->rx_head + u->rx_count) % UART_RX_SIZE] = c;
	u->rx_count++;
	return true;
}

static void uart_rx_clear(struct uart *u)
{
	bool was_full = u->rx_count == UART_RX_SIZE;

	u->rx_head = 0;
	u->rx_count = 0;
	if (was_full && u->rx_drained)
		u->rx_drained(u->opaque);
}

static void uart_transmit(struct uart *u, uint8_t c)
{
	if (u->mcr & UART_MCR_LOOP) {
		uart_rx_put(u, c);
	} else if (u->out) {
		/* Never waits: a full ring drops the byte (and counts it). */
		out_ring_write(u->out, &c, 1);
	}
	u->thri_pending = true;		/* sent at once: THR empty again */
}

static void uart_write(struct uart *u, unsigned int off, uint8_t v)
{
	bool dlab = u->lcr & UART_LCR_DLAB;

	switch (off) {
	case UART_THR:
		if (dlab)
			u->dll = v;
		else
			uart_transmit(u, v);
		break;
	case UART_IER:
		if (dlab) {
			u->dlm = v;
		} else {
			/* Enabling THRI while THR is empty raises it. */
			if ((v & UART_IER_THRI) && !(u->ier & UART_IER_THRI))
				u->thri_pending = true;
			u->ier = v & 0x0f;
		}
		break;
	case UART_FCR:
		if ((v ^ u->fcr) & UART_FCR_ENABLE)
			v |= UART_FCR_CLR_RX;	/* toggling the FIFO clears it */
		if (v & UART_FCR_CLR_RX)
			uart_rx_clear(u);
		u->fcr = v & 0xc9;	/* enable, DMA mode, trigger level */
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1f;
		break;
	case UART_LSR:
	case UART_MSR:
		break;		/* read-only */
	case UART_SCR:
		u->scr = v;
		break;
	}
}

static uint8_t uart_read(struct uart *u, unsigned int off)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	uint8_t v = 0, iid;

	switch (off) {
	case UART_RBR:
		if (dlab)
			return u->dll;
		if (u->rx_count) {
			bool was_full = u->rx_count == UART_RX_SIZE;

			v = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % UART_RX_SIZE;
			u->rx_count--;
			if (was_full && u->rx_drained)
				u->rx_drained(u->opaque);
		}
		return v;
	case UART_IER:
		return dlab ? u->dlm : u->ier;
	case UART_IIR:
		iid = uart_iid(u);
		if (iid == UART_IIR_THRI)
			u->thri_pending = false;
		return iid | (u->fcr & UART_FCR_ENABLE ? UART_IIR_FIFO : 0);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		v = UART_LSR_THRE | UART_LSR_TEMT;
		if (u->rx_count)
			v |= UART_LSR_DR;
		if (u->lsr_oe)
			v |= UART_LSR_OE;
		u->lsr_oe = false;
		return v;
	case UART_MSR:
		return uart_msr(u);
	case UART_SCR:
		return u->scr;
	}
	return 0xff;
}

void uart_io(struct uart *u, unsigned int off, bool write, uint8_t *val)
{
	pthread_mutex_lock(&u->lock);
	if (off >= UART_NR_REGS) {
		if (!write)
			*val = 0xff;
	} else if (write) {
		uart_write(u, off, *val);
	} else {
		*val = uart_read(u, off);
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

unsigned int uart_rx_room(struct uart *u)
{
	unsigned int room;

	pthread_mutex_lock(&u->lock);
	room = UART_RX_SIZE - u->rx_count;
	pthread_mutex_unlock(&u->lock);
	return room;
}

size_t uart_rx_push(struct uart *u, const uint8_t *buf, size_t len)
{
	size_t i;

	pthread_mutex_lock(&u->lock);
	if (u->mcr & UART_MCR_LOOP) {
		/* In loopback the line is disconnected: input is lost. */
		pthread_mutex_unlock(&u->lock);
		return len;
	}
	for (i = 0; i < len && u->rx_count < UART_RX_SIZE; i++)
		uart_rx_put(u, buf[i]);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return i;
}
