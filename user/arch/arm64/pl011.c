// SPDX-License-Identifier: GPL-2.0
/* ARM PL011 UART emulation. */
#include "arch/arm64/pl011.h"

#include <errno.h>
#include <string.h>

#include "lib/out_ring.h"

#define CR_RESET	(PL011_CR_TXE | PL011_CR_RXE)
#define IFLS_RESET	0x12	/* both trigger levels at 1/2 */

int pl011_init(struct pl011 *u, int out_fd,
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
	u->cr = CR_RESET;
	u->ifls = IFLS_RESET;
	return 0;
}

void pl011_destroy(struct pl011 *u)
{
	out_ring_free(u->out, 2000);
	u->out = NULL;
	pthread_mutex_destroy(&u->lock);
}

uint64_t pl011_out_dropped(struct pl011 *u)
{
	return u->out ? out_ring_dropped(u->out) : 0;
}

static unsigned int pl011_depth(const struct pl011 *u)
{
	return u->lcr_h & PL011_LCR_H_FEN ? PL011_FIFO : 1;
}

/* Receive FIFO level at which RX is raised. */
static unsigned int pl011_rx_trigger(const struct pl011 *u)
{
	static const unsigned int eighths[8] = { 1, 2, 4, 6, 7, 7, 7, 7 };

	if (!(u->lcr_h & PL011_LCR_H_FEN))
		return 1;
	return eighths[(u->ifls >> 3) & 7] * PL011_FIFO / 8;
}

static unsigned int pl011_room(const struct pl011 *u)
{
	unsigned int depth = pl011_depth(u);

	if ((u->cr & (PL011_CR_UARTEN | PL011_CR_RXE)) !=
	    (PL011_CR_UARTEN | PL011_CR_RXE))
		return 0;
	return u->rx_count < depth ? depth - u->rx_count : 0;
}

static void pl011_update_irq(struct pl011 *u)
{
	int level = (u->ris & u->imsc) != 0;

	if (level != u->irq_level) {
		u->irq_level = level;
		if (u->set_irq)
			u->set_irq(u->opaque, level);
	}
}

static void pl011_rx_put(struct pl011 *u, uint8_t c)
{
	if (u->rx_count >= pl011_depth(u)) {
		/* The chip keeps the FIFO and loses the new byte. */
		u->rsr |= PL011_RSR_OE;
		u->ris |= PL011_INT_OE;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % PL011_FIFO] = c;
	u->rx_count++;
	if (u->rx_count >= pl011_rx_trigger(u))
		u->ris |= PL011_INT_RX;
	u->ris |= PL011_INT_RT;
}

static uint32_t pl011_rx_pop(struct pl011 *u)
{
	uint32_t v = 0;

	if (u->rx_count) {
		v = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % PL011_FIFO;
		u->rx_count--;
	}
	if (u->rsr & PL011_RSR_OE)
		v |= PL011_DR_OE;
	if (u->rx_count < pl011_rx_trigger(u))
		u->ris &= ~PL011_INT_RX;
	if (!u->rx_count)
		u->ris &= ~PL011_INT_RT;
	return v;
}

static void pl011_transmit(struct pl011 *u, uint8_t c)
{
	if (u->cr & PL011_CR_LBE) {
		pl011_rx_put(u, c);
	} else if (u->out) {
		/* Never waits: a full ring drops the byte (and counts it). */
		out_ring_write(u->out, &c, 1);
	}
	u->ris |= PL011_INT_TX;		/* sent at once: FIFO empty again */
}

static uint32_t pl011_fr(const struct pl011 *u)
{
	uint32_t fr = PL011_FR_TXFE | PL011_FR_CTS | PL011_FR_DSR | PL011_FR_DCD;

	if (!u->rx_count)
		fr |= PL011_FR_RXFE;
	if (u->rx_count >= pl011_depth(u))
		fr |= PL011_FR_RXFF;
	return fr;
}

static uint32_t pl011_id(unsigned int off)
{
	unsigned int i = (off - PL011_PERIPH_ID0) / 4;

	if (i < 4)
		return (PL011_PERIPH_ID >> (8 * i)) & 0xff;
	return (PRIMECELL_ID >> (8 * (i - 4))) & 0xff;
}

static uint32_t pl011_read(struct pl011 *u, unsigned int reg)
{
	switch (reg) {
	case PL011_DR:
		return pl011_rx_pop(u);
	case PL011_RSR:
		return u->rsr;
	case PL011_FR:
		return pl011_fr(u);
	case PL011_ILPR:
		return u->ilpr;
	case PL011_IBRD:
		return u->ibrd;
	case PL011_FBRD:
		return u->fbrd;
	case PL011_LCR_H:
		return u->lcr_h;
	case PL011_CR:
		return u->cr;
	case PL011_IFLS:
		return u->ifls;
	case PL011_IMSC:
		return u->imsc;
	case PL011_RIS:
		return u->ris;
	case PL011_MIS:
		return u->ris & u->imsc;
	case PL011_DMACR:
		return u->dmacr;
	}
	if (reg >= PL011_PERIPH_ID0 && reg < PL011_SIZE)
		return pl011_id(reg);
	return 0;		/* ICR is write-only; reserved reads as zero */
}

static void pl011_write(struct pl011 *u, unsigned int reg, uint32_t v)
{
	switch (reg) {
	case PL011_DR:
		pl011_transmit(u, v);
		break;
	case PL011_RSR:		/* ECR: any write clears the errors */
		u->rsr = 0;
		break;
	case PL011_ILPR:
		u->ilpr = v & 0xff;
		break;
	case PL011_IBRD:
		u->ibrd = v & 0xffff;
		break;
	case PL011_FBRD:
		u->fbrd = v & 0x3f;
		break;
	case PL011_LCR_H:
		u->lcr_h = v & 0xff;
		/* A FIFO shorter than its content keeps the oldest bytes. */
		if (u->rx_count > pl011_depth(u))
			u->rx_count = pl011_depth(u);
		if (u->rx_count >= pl011_rx_trigger(u))
			u->ris |= PL011_INT_RX;
		break;
	case PL011_CR:
		u->cr = v & 0xff87;	/* bits 6:3 are reserved */
		break;
	case PL011_IFLS:
		u->ifls = v & 0x3f;
		break;
	case PL011_IMSC:
		u->imsc = v & PL011_INT_ALL;
		break;
	case PL011_ICR:
		u->ris &= ~(v & PL011_INT_ALL);
		break;
	case PL011_DMACR:
		u->dmacr = v & 0x7;	/* no DMA: the bits just read back */
		break;
	}
}

void pl011_access(struct pl011 *u, unsigned int off, unsigned int len,
		  bool write, uint32_t *val)
{
	unsigned int reg = off & ~3u, shift = 8 * (off & 3), room;
	uint32_t mask = len >= 4 ? ~0u : (1u << (8 * len)) - 1;

	if (off >= PL011_SIZE || (len != 1 && len != 2 && len != 4) ||
	    (off & 3) + len > 4) {
		if (!write)
			*val = 0;
		return;
	}
	pthread_mutex_lock(&u->lock);
	room = pl011_room(u);
	if (write)
		pl011_write(u, reg, (*val & mask) << shift);
	else
		*val = (pl011_read(u, reg) >> shift) & mask;
	pl011_update_irq(u);
	if (!room && pl011_room(u) && u->rx_drained)
		u->rx_drained(u->opaque);
	pthread_mutex_unlock(&u->lock);
}

void pl011_io(void *opaque, struct io_access *a)
{
	uint32_t v = a->val;

	if (a->off >= PL011_SIZE) {
		if (!a->write)
			a->val = 0;
		return;
	}
	pl011_access(opaque, a->off, a->len, a->write, &v);
	if (!a->write)
		a->val = v;
}

unsigned int pl011_rx_room(struct pl011 *u)
{
	unsigned int room;

	pthread_mutex_lock(&u->lock);
	room = pl011_room(u);
	pthread_mutex_unlock(&u->lock);
	return room;
}

size_t pl011_rx_push(struct pl011 *u, const uint8_t *buf, size_t len)
{
	size_t i, n;

	pthread_mutex_lock(&u->lock);
	if (u->cr & PL011_CR_LBE) {
		/* In loopback the line is disconnected: input is lost. */
		pthread_mutex_unlock(&u->lock);
		return len;
	}
	n = pl011_room(u);
	if (n > len)
		n = len;
	for (i = 0; i < n; i++)
		pl011_rx_put(u, buf[i]);
	pl011_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}
