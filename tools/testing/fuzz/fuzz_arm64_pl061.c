// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 board's PL061 GPIO (user/arch/arm64/pl061.c) against any
 * sequence of guest MMIO accesses and lines the board drives (the power
 * key's presses and releases).
 *
 * The input, as little-endian numbers: operations until it ends, each a
 * u8 selector:
 *   0  a guest access: u16 offset (up to 0x1fff: past the page too), u8
 *      size (1, 2, 4, 8 or 3 by its low 3 bits), u8 write (bit 0), u32
 *      value;
 *   1  the board drives a line: u8 line (0-8: 8 is not one), u8 level
 *      (bit 0);
 *   2  a press and release of the power key's line, at once;
 *   3  the last operation: pl061_pulse() on u8 line (0-8) and the PL061
 *      destroyed with the release still pending.
 *
 * Oracles, besides the sanitizers, after every operation: the interrupt
 * line is (GPIORIS & GPIOIE) != 0 and set_irq is called only when it
 * changes; GPIOMIS is GPIORIS & GPIOIE; a level-sensitive line's RIS bit
 * is its pin at GPIOIEV's level; input lines read what the board drives;
 * reading changes nothing; an access of a size other than 1, 2 or 4, or
 * a misaligned one, reads 0.
 */
#include <errno.h>
#include <stdlib.h>

#include "arch/arm64/layout.h"
#include "arch/arm64/pl061.h"
#include "fz.h"

static int irq_level, irq_bad;

static void set_irq(void *opaque, int level)
{
	if (level == irq_level)
		irq_bad = 1;	/* called without a change */
	irq_level = level;
}

static uint8_t rd(struct pl061 *p, unsigned int off)
{
	uint32_t v = 0xdeadbeef;

	pl061_access(p, off, 4, false, &v);
	if (v > 0xff)
		abort();	/* 8-bit registers */
	return v;
}

static void check(struct pl061 *p, uint8_t in)
{
	uint8_t data = rd(p, 0x3fc), dir = rd(p, PL061_DIR);
	uint8_t is = rd(p, PL061_IS), iev = rd(p, PL061_IEV);
	uint8_t ie = rd(p, PL061_IE), ris = rd(p, PL061_RIS);

	if (irq_bad || irq_level != ((ris & ie) != 0))
		abort();
	if (rd(p, PL061_MIS) != (ris & ie))
		abort();
	if ((ris & is) != (is & (uint8_t)~(data ^ iev)))
		abort();
	if ((data & ~dir) != (in & ~dir))
		abort();
	if (rd(p, 0x3fc) != data || rd(p, PL061_RIS) != ris)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { .p = data, .n = size };
	struct pl061 p;
	uint8_t in = 0;

	irq_level = 0;
	irq_bad = 0;
	pl061_init(&p, set_irq, NULL);
	while (f.n) {
		uint8_t op = fz_u8(&f) % 4;

		if (op == 0) {
			static const unsigned int sizes[8] = { 1, 2, 4, 8, 3, 1, 2, 4 };
			unsigned int off = fz_u16(&f) & 0x1fff;
			unsigned int len = sizes[fz_u8(&f) & 7];
			bool write = fz_u8(&f) & 1;
			struct io_access a = {
				.off = off, .len = len, .write = write, .val = fz_u32(&f),
			};

			pl061_io(&p, &a);
			if (!write && (len == 3 || len == 8 || (off & (len - 1)) ||
				       off >= PL061_SIZE) && a.val)
				abort();
		} else if (op == 1) {
			unsigned int line = fz_u8(&f) % 9;
			int level = fz_u8(&f) & 1;

			pl061_set_input(&p, line, level);
			if (line < PL061_LINES)
				in = level ? in | 1u << line : in & ~(1u << line);
		} else if (op == 2) {
			pl061_set_input(&p, ARM64_GPIO_POWER_LINE, 1);
			pl061_set_input(&p, ARM64_GPIO_POWER_LINE, 0);
			in &= ~(1u << ARM64_GPIO_POWER_LINE);
		} else {
			unsigned int line = fz_u8(&f) % 9;

			if (pl061_pulse(&p, line, 1000) != (line < PL061_LINES ? 0 : -EINVAL))
				abort();
			break;
		}
		check(&p, in);
	}
	pl061_destroy(&p);
	return 0;
}
