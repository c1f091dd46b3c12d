/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An ARM PL031 real-time clock as Linux's rtc-pl031 drives it: a 32-bit
 * seconds counter (DR) that follows the host's clock plus the offset the
 * guest set through LR, a match register (MR) with its interrupt (IMSC,
 * RIS, MIS, ICR), CR's start bit, and the PeriphID/PCellID registers the
 * AMBA bus reads when it probes.
 *
 * The counter runs from reset (CR.START reads 0 until the guest sets it;
 * clearing it has no effect, as on the chip).  The match interrupt, one
 * level-triggered line, is raised when the counter reaches MR after MR
 * (or LR) was written; since nothing here runs by itself, the caller asks
 * pl031_alarm_in() how many seconds remain, arms a timer for that, and
 * calls pl031_tick() when it expires (every guest access re-checks too).
 *
 * 32-bit accesses only (what Linux makes); other widths read 0 and are
 * ignored.
 *
 * Locking: every entry point takes r->lock; set_irq is called with it
 * held.
 */
#ifndef VBRIDGE_ARCH_ARM64_PL031_H
#define VBRIDGE_ARCH_ARM64_PL031_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "vmm/iobus.h"

#define PL031_SIZE	0x1000

#define PL031_DR	0x000
#define PL031_MR	0x004
#define PL031_LR	0x008
#define PL031_CR	0x00c
#define PL031_IMSC	0x010
#define PL031_RIS	0x014
#define PL031_MIS	0x018
#define PL031_ICR	0x01c
#define PL031_PERIPH_ID0 0xfe0

#define PL031_CR_START	0x1
#define PL031_INT	0x1

/* PeriphID0-3 (part 0x031, designer ARM 0x41, revision 1). */
#define PL031_PERIPH_ID	0x00141031

/**
 * struct pl031 - one PL031.
 * @lock: protects every field below but the constant ones
 * @offset: counter value minus the host's seconds
 * @mr, @lr, @cr, @imsc: registers as last written
 * @ris: raw interrupt status (match)
 * @armed: the match interrupt is still to come
 * @arm_count: counter value when it was armed
 * @irq_level: level last given to @set_irq
 * @set_irq: drive the interrupt line (constant, optional)
 * @opaque: its argument (constant)
 * @now: the host clock, time(2) unless a test replaces it (constant)
 */
struct pl031 {
	pthread_mutex_t lock;
	int64_t offset;
	uint32_t mr, lr, cr, imsc;
	uint32_t ris;
	bool armed;
	uint32_t arm_count;
	int irq_level;
	void (*set_irq)(void *opaque, int level);
	void *opaque;
	time_t (*now)(void);
};

void pl031_init(struct pl031 *r, void (*set_irq)(void *opaque, int level),
		void *opaque);
void pl031_destroy(struct pl031 *r);

/* A guest access of len bytes at offset off. */
void pl031_access(struct pl031 *r, unsigned int off, unsigned int len,
		  bool write, uint32_t *val);

/* The same as an MMIO bus handler (opaque: the struct pl031). */
io_handler_fn pl031_io;

/* Seconds until the match interrupt is due (0: now), -1 when none is. */
int64_t pl031_alarm_in(struct pl031 *r);

/* Raise the match interrupt if it is due. */
void pl031_tick(struct pl031 *r);

#endif
