/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An ARM PL061 GPIO controller (PrimeCell) as Linux's gpio-pl061 drives
 * it: eight lines, GPIODATA with address-masked access (bits 9:2 of the
 * offset select the data bits a read returns or a write changes), GPIODIR,
 * the interrupt sense registers GPIOIS/GPIOIBE/GPIOIEV, GPIOIE, GPIORIS,
 * GPIOMIS, GPIOIC, GPIOAFSEL and the PeriphID/PCellID registers the AMBA
 * bus reads when it probes.  The board wires its power key to one line
 * (QEMU's virt board does the same, read by Linux's gpio-keys).
 *
 * A line's pin is the output latch when GPIODIR makes it an output, else
 * what the board drives on it (pl061_set_input()).  Interrupts:
 *   level (GPIOIS 1): the RIS bit is set while the pin is at the level
 *       GPIOIEV names (1 high, 0 low) and clear otherwise; GPIOIC cannot
 *       clear it;
 *   edge (GPIOIS 0): the RIS bit latches when the pin changes to GPIOIEV's
 *       level (1 rising, 0 falling), or on either change with GPIOIBE; it
 *       stays set until GPIOIC clears it (or GPIOIS makes the line
 *       level-sensitive).
 * The one interrupt line (GPIOINTR, a level-triggered SPI) is
 * (GPIORIS & GPIOIE) != 0.
 *
 * Every register is 8 bits wide in a 32-bit slot; Linux reads and writes
 * them with 8-bit accesses.  Accesses of 1, 2 or 4 bytes work: a read
 * returns the bytes of the slot at (off & ~3) selected by off & 3 (the
 * upper ones read 0), a write at off & 3 == 0 stores its low byte (others
 * are ignored).
 *
 * The power key is pressed for a while and released (pl061_pulse()), so
 * that the guest sees a press and a release: gpio-keys reads the line
 * after a debounce delay, so a release that came before it would lose the
 * press.  The release comes from a thread of the PL061's own.
 *
 * Locking: every entry point takes p->lock; set_irq is called with it
 * held.  pl061_pulse() and pl061_destroy() are called from one thread
 * (the VMM's main thread).
 */
#ifndef VBRIDGE_ARCH_ARM64_PL061_H
#define VBRIDGE_ARCH_ARM64_PL061_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "vmm/iobus.h"

#define PL061_SIZE	0x1000
#define PL061_LINES	8

/* Register offsets. */
#define PL061_DATA	0x000	/* 0x000-0x3fc: offset bits 9:2 are the mask */
#define PL061_DATA_END	0x400
#define PL061_DIR	0x400
#define PL061_IS	0x404
#define PL061_IBE	0x408
#define PL061_IEV	0x40c
#define PL061_IE	0x410
#define PL061_RIS	0x414
#define PL061_MIS	0x418
#define PL061_IC	0x41c
#define PL061_AFSEL	0x420
#define PL061_PERIPH_ID0 0xfe0	/* 0xfe0-0xfec, then PCellID 0xff0-0xffc */

/* PeriphID0-3 (part 0x061, designer ARM 0x41, revision 0). */
#define PL061_PERIPH_ID	0x00041061

/**
 * struct pl061 - one PL061.
 * @lock: protects every field below but the constant ones and those the
 *	pulse caller's thread owns
 * @dir, @is, @ibe, @iev, @ie, @afsel: registers as last written
 * @out: the output latch (GPIODATA as written)
 * @in: the levels the board drives on the lines
 * @edge: latched edge interrupts (the edge part of GPIORIS)
 * @irq_level: level last given to @set_irq
 * @set_irq: drive the interrupt line (constant, optional)
 * @opaque: its argument (constant)
 * @pulse_cond: wakes the release thread early (pl061_destroy())
 * @pulse_pending: a pulse's line is still held high
 * @pulse_stop: the release thread is to end now
 * @pulse_line: the line held high
 * @pulse_end: when to release it (CLOCK_MONOTONIC)
 * @pulse_thread, @pulse_started: the release thread, and whether it is
 *	to be joined (the pulse caller's thread only)
 */
struct pl061 {
	pthread_mutex_t lock;
	uint8_t dir, is, ibe, iev, ie, afsel;
	uint8_t out, in;
	uint8_t edge;
	int irq_level;
	void (*set_irq)(void *opaque, int level);
	void *opaque;
	pthread_cond_t pulse_cond;
	bool pulse_pending, pulse_stop;
	unsigned int pulse_line;
	struct timespec pulse_end;
	pthread_t pulse_thread;
	bool pulse_started;
};

void pl061_init(struct pl061 *p, void (*set_irq)(void *opaque, int level),
		void *opaque);
/* Ends a pending pulse at once (the line stays as it is), then frees. */
void pl061_destroy(struct pl061 *p);

/* A guest access of len (1, 2 or 4) bytes at offset off. */
void pl061_access(struct pl061 *p, unsigned int off, unsigned int len,
		  bool write, uint32_t *val);

/* The same as an MMIO bus handler (opaque: the struct pl061). */
io_handler_fn pl061_io;

/* The board drives line (0-7) to level (0 or 1). */
void pl061_set_input(struct pl061 *p, unsigned int line, int level);

/* The pin of line as the guest would read it. */
int pl061_get_pin(struct pl061 *p, unsigned int line);

/*
 * Drive line high now and low again after ms milliseconds, from a thread
 * of its own.  A pulse that is still pending is left as it is.  Returns
 * 0, or -errno when the thread cannot start (the line is then low again).
 */
int pl061_pulse(struct pl061 *p, unsigned int line, unsigned int ms);

#endif
