// SPDX-License-Identifier: GPL-2.0
/* ARM PL061 GPIO controller emulation. */
#include "arch/arm64/pl061.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

static const uint8_t pcell_id[4] = { 0x0d, 0xf0, 0x05, 0xb1 };

void pl061_init(struct pl061 *p, void (*set_irq)(void *opaque, int level),
		void *opaque)
{
	pthread_condattr_t attr;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->pulse_cond, &attr);
	pthread_condattr_destroy(&attr);
	p->set_irq = set_irq;
	p->opaque = opaque;
}

void pl061_destroy(struct pl061 *p)
{
	if (p->pulse_started) {
		pthread_mutex_lock(&p->lock);
		p->pulse_stop = true;
		pthread_cond_signal(&p->pulse_cond);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->pulse_thread, NULL);
		p->pulse_started = false;
	}
	pthread_cond_destroy(&p->pulse_cond);
	pthread_mutex_destroy(&p->lock);
}

/* The pins: outputs from the latch, inputs from the board. */
static uint8_t pl061_pins(const struct pl061 *p)
{
	return (p->out & p->dir) | (p->in & ~p->dir);
}

/* GPIORIS: latched edges, and level-sensitive lines at their level. */
static uint8_t pl061_ris(const struct pl061 *p)
{
	return p->edge | (p->is & (uint8_t)~(pl061_pins(p) ^ p->iev));
}

static void pl061_update_irq(struct pl061 *p)
{
	int level = (pl061_ris(p) & p->ie) != 0;

	if (level != p->irq_level) {
		p->irq_level = level;
		if (p->set_irq)
			p->set_irq(p->opaque, level);
	}
}

/* The pins went from old to what they are now: latch their edges. */
static void pl061_pins_changed(struct pl061 *p, uint8_t old)
{
	uint8_t now = pl061_pins(p), changed = old ^ now;

	p->edge |= changed & (uint8_t)~p->is &
		   (p->ibe | (uint8_t)~(now ^ p->iev));
}

static uint8_t pl061_read(struct pl061 *p, unsigned int off)
{
	if (off < PL061_DATA_END)
		return pl061_pins(p) & (off >> 2);
	switch (off) {
	case PL061_DIR:
		return p->dir;
	case PL061_IS:
		return p->is;
	case PL061_IBE:
		return p->ibe;
	case PL061_IEV:
		return p->iev;
	case PL061_IE:
		return p->ie;
	case PL061_RIS:
		return pl061_ris(p);
	case PL061_MIS:
		return pl061_ris(p) & p->ie;
	case PL061_AFSEL:
		return p->afsel;
	}
	if (off >= PL061_PERIPH_ID0 && off < PL061_PERIPH_ID0 + 32) {
		unsigned int i = (off - PL061_PERIPH_ID0) / 4;

		return i < 4 ? (PL061_PERIPH_ID >> (8 * i)) & 0xff : pcell_id[i - 4];
	}
	return 0;
}

static void pl061_write(struct pl061 *p, unsigned int off, uint8_t v)
{
	uint8_t old = pl061_pins(p);

	if (off < PL061_DATA_END) {
		uint8_t mask = off >> 2;

		p->out = (p->out & ~mask) | (v & mask);
	} else {
		switch (off) {
		case PL061_DIR:
			p->dir = v;
			break;
		case PL061_IS:
			p->is = v;
			p->edge &= ~v;	/* a level line latches no edge */
			break;
		case PL061_IBE:
			p->ibe = v;
			break;
		case PL061_IEV:
			p->iev = v;
			break;
		case PL061_IE:
			p->ie = v;
			break;
		case PL061_IC:
			p->edge &= ~v;
			break;
		case PL061_AFSEL:
			p->afsel = v;
			break;
		}
	}
	/* An output written, or a line turned around, may make an edge. */
	pl061_pins_changed(p, old);
}

void pl061_access(struct pl061 *p, unsigned int off, unsigned int len,
		  bool write, uint32_t *val)
{
	unsigned int shift = 8 * (off & 3);

	if ((len != 1 && len != 2 && len != 4) || (off & (len - 1)) ||
	    off >= PL061_SIZE) {
		if (!write)
			*val = 0;
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (write) {
		if (!shift)
			pl061_write(p, off, *val & 0xff);
	} else {
		uint32_t v = shift ? 0 : pl061_read(p, off & ~3u);

		*val = len == 4 ? v : (v >> shift) & ((1u << (8 * len)) - 1);
	}
	pl061_update_irq(p);
	pthread_mutex_unlock(&p->lock);
}

void pl061_io(void *opaque, struct io_access *a)
{
	uint32_t v = a->val;

	if (a->off >= PL061_SIZE) {
		if (!a->write)
			a->val = 0;
		return;
	}
	pl061_access(opaque, a->off, a->len, a->write, &v);
	if (!a->write)
		a->val = v;
}

static void pl061_set_input_locked(struct pl061 *p, unsigned int line,
				   int level)
{
	uint8_t old = pl061_pins(p), bit = 1u << line;

	p->in = level ? p->in | bit : p->in & ~bit;
	pl061_pins_changed(p, old);
	pl061_update_irq(p);
}

void pl061_set_input(struct pl061 *p, unsigned int line, int level)
{
	if (line >= PL061_LINES)
		return;
	pthread_mutex_lock(&p->lock);
	pl061_set_input_locked(p, line, level);
	pthread_mutex_unlock(&p->lock);
}

int pl061_get_pin(struct pl061 *p, unsigned int line)
{
	int v;

	if (line >= PL061_LINES)
		return 0;
	pthread_mutex_lock(&p->lock);
	v = (pl061_pins(p) >> line) & 1;
	pthread_mutex_unlock(&p->lock);
	return v;
}

/* The release: wait for pulse_end (or pl061_destroy()), then drop it. */
static void *pl061_pulse_thread(void *arg)
{
	struct pl061 *p = arg;

	pthread_mutex_lock(&p->lock);
	while (!p->pulse_stop &&
	       pthread_cond_timedwait(&p->pulse_cond, &p->lock,
				      &p->pulse_end) != ETIMEDOUT)
		;
	if (!p->pulse_stop)
		pl061_set_input_locked(p, p->pulse_line, 0);
	p->pulse_pending = false;
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int pl061_pulse(struct pl061 *p, unsigned int line, unsigned int ms)
{
	struct timespec end;
	sigset_t all, old;
	bool pending;
	int ret;

	if (line >= PL061_LINES)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	pending = p->pulse_pending;
	pthread_mutex_unlock(&p->lock);
	if (pending)
		return 0;
	if (p->pulse_started) {		/* the last release is done */
		pthread_join(p->pulse_thread, NULL);
		p->pulse_started = false;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (long)(ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&p->lock);
	p->pulse_pending = true;
	p->pulse_stop = false;
	p->pulse_line = line;
	p->pulse_end = end;
	pl061_set_input_locked(p, line, 1);
	pthread_mutex_unlock(&p->lock);
	/* No signal for the release thread: SIGTERM is the main thread's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&p->pulse_thread, NULL, pl061_pulse_thread, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		pthread_mutex_lock(&p->lock);
		pl061_set_input_locked(p, line, 0);
		p->pulse_pending = false;
		pthread_mutex_unlock(&p->lock);
		return -ret;
	}
	p->pulse_started = true;
	return 0;
}
