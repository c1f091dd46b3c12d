// SPDX-License-Identifier: GPL-2.0
/* ARM PL031 real-time clock emulation. */
#include "arch/arm64/pl031.h"

#include <string.h>

static const uint8_t pcell_id[4] = { 0x0d, 0xf0, 0x05, 0xb1 };

static time_t pl031_time_now(void)
{
	return time(NULL);
}

void pl031_init(struct pl031 *r, void (*set_irq)(void *opaque, int level),
		void *opaque)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->set_irq = set_irq;
	r->opaque = opaque;
	r->now = pl031_time_now;
}

void pl031_destroy(struct pl031 *r)
{
	pthread_mutex_destroy(&r->lock);
}

static uint32_t pl031_count(const struct pl031 *r)
{
	return (uint32_t)((int64_t)r->now() + r->offset);
}

static void pl031_arm(struct pl031 *r)
{
	r->armed = true;
	r->arm_count = pl031_count(r);
}

/* Seconds from now to the match, when armed. */
static uint32_t pl031_remaining(const struct pl031 *r)
{
	uint32_t due = r->mr - r->arm_count;
	uint32_t gone = pl031_count(r) - r->arm_count;

	return gone >= due ? 0 : due - gone;
}

static void pl031_update(struct pl031 *r)
{
	int level;

	if (r->armed && !pl031_remaining(r)) {
		r->armed = false;
		r->ris |= PL031_INT;
	}
	level = (r->ris & r->imsc) != 0;
	if (level != r->irq_level) {
		r->irq_level = level;
		if (r->set_irq)
			r->set_irq(r->opaque, level);
	}
}

static uint32_t pl031_read(struct pl031 *r, unsigned int off)
{
	switch (off) {
	case PL031_DR:
		return pl031_count(r);
	case PL031_MR:
		return r->mr;
	case PL031_LR:
		return r->lr;
	case PL031_CR:
		return r->cr;
	case PL031_IMSC:
		return r->imsc;
	case PL031_RIS:
		return r->ris;
	case PL031_MIS:
		return r->ris & r->imsc;
	}
	if (off >= PL031_PERIPH_ID0 && off < PL031_PERIPH_ID0 + 32) {
		unsigned int i = (off - PL031_PERIPH_ID0) / 4;

		return i < 4 ? (PL031_PERIPH_ID >> (8 * i)) & 0xff : pcell_id[i - 4];
	}
	return 0;
}

static void pl031_write(struct pl031 *r, unsigned int off, uint32_t v)
{
	switch (off) {
	case PL031_MR:
		r->mr = v;
		pl031_arm(r);
		break;
	case PL031_LR:
		r->lr = v;
		r->offset = (int64_t)v - (int64_t)r->now();
		if (r->armed)
			pl031_arm(r);	/* counts to MR from the new value */
		break;
	case PL031_CR:
		r->cr |= v & PL031_CR_START;	/* cannot be stopped */
		break;
	case PL031_IMSC:
		r->imsc = v & PL031_INT;
		break;
	case PL031_ICR:
		r->ris &= ~(v & PL031_INT);
		break;
	}
}

void pl031_access(struct pl031 *r, unsigned int off, unsigned int len,
		  bool write, uint32_t *val)
{
	if (len != 4 || (off & 3) || off >= PL031_SIZE) {
		if (!write)
			*val = 0;
		return;
	}
	pthread_mutex_lock(&r->lock);
	pl031_update(r);
	if (write)
		pl031_write(r, off, *val);
	else
		*val = pl031_read(r, off);
	pl031_update(r);
	pthread_mutex_unlock(&r->lock);
}

void pl031_io(void *opaque, struct io_access *a)
{
	uint32_t v = a->val;

	if (a->off >= PL031_SIZE) {
		if (!a->write)
			a->val = 0;
		return;
	}
	pl031_access(opaque, a->off, a->len, a->write, &v);
	if (!a->write)
		a->val = v;
}

int64_t pl031_alarm_in(struct pl031 *r)
{
	int64_t s = -1;

	pthread_mutex_lock(&r->lock);
	if (r->armed)
		s = pl031_remaining(r);
	pthread_mutex_unlock(&r->lock);
	return s;
}

void pl031_tick(struct pl031 *r)
{
	pthread_mutex_lock(&r->lock);
	pl031_update(r);
	pthread_mutex_unlock(&r->lock);
}
