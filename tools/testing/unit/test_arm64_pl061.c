// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/arch/arm64/pl061.c: what the AMBA bus and gpio-pl061
 * read and write (8-bit accesses, as Linux makes them), GPIODATA's address
 * mask, each interrupt sense mode, the interrupt line following
 * GPIORIS & GPIOIE, GPIOIC, and the power key's press and release.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "arch/arm64/pl061.h"
#include "tap.h"

static int irq_level, irq_changes;

static void set_irq(void *opaque, int level)
{
	irq_level = level;
	irq_changes++;
}

static uint32_t rd(struct pl061 *p, unsigned int off)
{
	uint32_t v = 0xdeadbeef;

	pl061_access(p, off, 1, false, &v);
	return v;
}

static void wr(struct pl061 *p, unsigned int off, uint32_t v)
{
	pl061_access(p, off, 1, true, &v);
}

static void setup(struct pl061 *p)
{
	irq_level = 0;
	irq_changes = 0;
	pl061_init(p, set_irq, NULL);
}

static void test_probe(void)
{
	static const uint8_t ids[8] = { 0x61, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };
	struct pl061 p;
	struct io_access a;
	unsigned int i;
	uint32_t v;
	int ok = 1;

	setup(&p);
	for (i = 0; i < 8; i++) {
		ok &= rd(&p, 0xfe0 + 4 * i) == ids[i];
		v = 0xdeadbeef;
		pl061_access(&p, 0xfe0 + 4 * i, 4, false, &v);
		ok &= v == ids[i];
	}
	TAP_CHECK(ok, "probe: PeriphID 0x00041061 (arm pl061), PCellID 0xb105f00d, 8 and 32 bits");
	ok = 1;
	for (i = PL061_DIR; i <= PL061_AFSEL; i += 4)
		ok &= rd(&p, i) == 0;
	TAP_CHECK(ok, "reset: every line an input, no interrupt sense, none enabled");
	TAP_EQ_INT(rd(&p, 0x3fc), 0, "reset: GPIODATA reads 0");

	a = (struct io_access){ .off = 0xff0, .len = 4, .write = false, .val = 7 };
	pl061_io(&p, &a);
	TAP_EQ_U64(a.val, 0x0d, "io: PCellID0 through the bus handler");
	a = (struct io_access){ .off = 0x1000, .len = 4, .write = false, .val = 7 };
	pl061_io(&p, &a);
	TAP_EQ_U64(a.val, 0, "io: beyond the page reads 0");
	v = 7;
	pl061_access(&p, PL061_DIR, 8, false, &v);
	TAP_EQ_INT(v, 0, "access: 8 bytes read 0");
	v = 7;
	pl061_access(&p, PL061_DIR + 1, 2, false, &v);
	TAP_EQ_INT(v, 0, "access: unaligned 16 bits read 0");
	wr(&p, PL061_DIR, 0x1ff);
	TAP_EQ_INT(rd(&p, PL061_DIR), 0xff, "registers are 8 bits");
	pl061_access(&p, PL061_DIR + 1, 1, true, &(uint32_t){ 0 });
	TAP_EQ_INT(rd(&p, PL061_DIR), 0xff, "a write to a slot's upper byte changes nothing");
	v = 0;
	pl061_access(&p, PL061_DIR, 2, false, &v);
	TAP_EQ_INT(v, 0xff, "16-bit read of an 8-bit register");
	wr(&p, PL061_AFSEL, 0x81);
	TAP_EQ_INT(rd(&p, PL061_AFSEL), 0x81, "GPIOAFSEL keeps what was written");
	pl061_destroy(&p);
}

static void test_data(void)
{
	struct pl061 p;

	setup(&p);
	wr(&p, PL061_DIR, 0x0f);		/* lines 0-3 outputs */
	wr(&p, 0x3fc, 0xff);			/* mask 0xff */
	TAP_EQ_INT(rd(&p, 0x3fc), 0x0f, "data: outputs take the write, inputs ignore it");
	wr(&p, 0x3fc, 0x00);
	wr(&p, 0x4 << 2, 0xff);			/* mask 0x04 */
	TAP_EQ_INT(rd(&p, 0x3fc), 0x04, "data: the address mask selects the bits a write changes");
	wr(&p, 0x3 << 2, 0xff);
	TAP_EQ_INT(rd(&p, 0x3fc), 0x07, "data: two bits at once");
	TAP_EQ_INT(rd(&p, 0x1 << 2), 0x01, "data: the address mask selects the bits a read returns");
	TAP_EQ_INT(rd(&p, 0x000), 0, "data: offset 0 reads nothing");
	wr(&p, 0x000, 0x00);
	TAP_EQ_INT(rd(&p, 0x3fc), 0x07, "data: offset 0 writes nothing");
	pl061_set_input(&p, 5, 1);
	pl061_set_input(&p, 1, 0);		/* an output: not its pin */
	TAP_EQ_INT(rd(&p, 0x3fc), 0x27, "data: inputs read what the board drives");
	TAP_EQ_INT(rd(&p, 0x20 << 2), 0x20, "data: ... masked as well");
	TAP_EQ_INT(pl061_get_pin(&p, 5), 1, "pin: the board's input");
	TAP_EQ_INT(pl061_get_pin(&p, 2), 1, "pin: an output's latch");
	wr(&p, PL061_DIR, 0x00);
	TAP_EQ_INT(rd(&p, 0x3fc), 0x20, "data: outputs turned inputs read the board's level");
	wr(&p, PL061_DIR, 0x0f);
	TAP_EQ_INT(rd(&p, 0x3fc), 0x27, "data: ... and their latch again as outputs");
	pl061_set_input(&p, 8, 1);
	TAP_EQ_INT(rd(&p, 0x3fc), 0x27, "input: line 8 does not exist");
	TAP_EQ_INT(irq_changes, 0, "no interrupt enabled: the line never moved");
	pl061_destroy(&p);
}

static void test_edges(void)
{
	struct pl061 p;

	setup(&p);
	/* Rising edge on line 3 (IS 0, IBE 0, IEV 1), as gpio-keys' trigger would be. */
	wr(&p, PL061_IEV, 0x08);
	wr(&p, PL061_IE, 0x08);
	TAP_EQ_INT(irq_level, 0, "rising: enabling raises nothing");
	pl061_set_input(&p, 3, 1);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0x08, "rising: RIS latches the rising edge");
	TAP_EQ_INT(rd(&p, PL061_MIS), 0x08, "rising: MIS");
	TAP_EQ_INT(irq_level, 1, "rising: the SPI goes high");
	pl061_set_input(&p, 3, 0);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0x08, "rising: the edge stays latched after the fall");
	wr(&p, PL061_IC, 0x08);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0, "rising: GPIOIC clears it");
	TAP_EQ_INT(irq_level, 0, "rising: the SPI goes low");
	TAP_EQ_INT(irq_changes, 2, "rising: one raise, one lower");

	/* Falling edge (IEV 0). */
	wr(&p, PL061_IEV, 0x00);
	pl061_set_input(&p, 3, 1);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0, "falling: a rise is no event");
	pl061_set_input(&p, 3, 0);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0x08, "falling: the fall is");
	TAP_EQ_INT(irq_level, 1, "falling: the SPI goes high");
	wr(&p, PL061_IC, 0x08);
	TAP_EQ_INT(irq_level, 0, "falling: GPIOIC lowers it");

	/* Both edges (IBE 1: IEV does not matter). */
	wr(&p, PL061_IBE, 0x08);
	pl061_set_input(&p, 3, 1);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0x08, "both: rise");
	wr(&p, PL061_IC, 0x08);
	pl061_set_input(&p, 3, 0);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0x08, "both: fall");
	wr(&p, PL061_IC, 0xff);
	pl061_set_input(&p, 3, 0);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0, "both: no change, no edge");

	/* The mask: edges latch in RIS whether enabled or not. */
	wr(&p, PL061_IE, 0x00);
	pl061_set_input(&p, 3, 1);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0x08, "masked: RIS latches");
	TAP_EQ_INT(rd(&p, PL061_MIS), 0, "masked: MIS 0");
	TAP_EQ_INT(irq_level, 0, "masked: the SPI stays low");
	wr(&p, PL061_IE, 0x08);
	TAP_EQ_INT(irq_level, 1, "masked: enabling raises the pending edge");
	wr(&p, PL061_IE, 0x00);
	TAP_EQ_INT(irq_level, 0, "masked: disabling lowers it");
	wr(&p, PL061_IC, 0x08);

	/* An output's own edge (the pin changes) counts too. */
	wr(&p, PL061_IBE, 0x00);
	wr(&p, PL061_IEV, 0x01);
	wr(&p, PL061_IE, 0x01);
	wr(&p, PL061_DIR, 0x01);
	wr(&p, 0x1 << 2, 0x01);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0x01, "output: its rising edge latches");
	TAP_EQ_INT(irq_level, 1, "output: the SPI goes high");
	wr(&p, PL061_IC, 0x01);
	TAP_EQ_INT(irq_level, 0, "output: GPIOIC lowers it");
	pl061_destroy(&p);
}

static void test_levels(void)
{
	struct pl061 p;

	setup(&p);
	/* High level on line 3 (IS 1, IEV 1). */
	wr(&p, PL061_IS, 0x08);
	wr(&p, PL061_IEV, 0x08);
	wr(&p, PL061_IE, 0x08);
	TAP_EQ_INT(irq_level, 0, "high level: a low line raises nothing");
	pl061_set_input(&p, 3, 1);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0x08, "high level: RIS while high");
	TAP_EQ_INT(irq_level, 1, "high level: the SPI goes high");
	wr(&p, PL061_IC, 0x08);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0x08, "high level: GPIOIC cannot clear it");
	TAP_EQ_INT(irq_level, 1, "high level: the SPI stays high");
	pl061_set_input(&p, 3, 0);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0, "high level: gone with the level");
	TAP_EQ_INT(irq_level, 0, "high level: the SPI follows");

	/* Low level (IEV 0): a low line is at once an interrupt. */
	wr(&p, PL061_IEV, 0x00);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0x08, "low level: RIS while low");
	TAP_EQ_INT(irq_level, 1, "low level: the SPI goes high");
	pl061_set_input(&p, 3, 1);
	TAP_EQ_INT(irq_level, 0, "low level: a high line lowers it");

	/* Level to edge: the level no longer counts, and made no edge. */
	pl061_set_input(&p, 3, 0);
	wr(&p, PL061_IS, 0x00);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0, "level to edge: nothing pending");
	TAP_EQ_INT(irq_level, 0, "level to edge: the SPI low");

	/* Edge to level: a latched edge does not outlive the change. */
	wr(&p, PL061_IEV, 0x08);
	pl061_set_input(&p, 3, 1);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0x08, "edge to level: an edge latched");
	wr(&p, PL061_IS, 0x08);
	wr(&p, PL061_IEV, 0x00);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0, "edge to level: only the level counts (line high, low level)");
	wr(&p, PL061_IS, 0x00);
	TAP_EQ_INT(rd(&p, PL061_RIS), 0, "edge to level and back: the old edge is gone");
	pl061_set_input(&p, 3, 0);
	wr(&p, PL061_IC, 0xff);

	/* Two lines: the SPI is the OR of the enabled ones. */
	wr(&p, PL061_IS, 0x09);
	wr(&p, PL061_IEV, 0x09);
	wr(&p, PL061_IE, 0x09);
	pl061_set_input(&p, 0, 1);
	pl061_set_input(&p, 3, 1);
	TAP_EQ_INT(rd(&p, PL061_MIS), 0x09, "two lines: MIS");
	pl061_set_input(&p, 0, 0);
	TAP_EQ_INT(irq_level, 1, "two lines: one still high keeps the SPI high");
	wr(&p, PL061_IE, 0x01);
	TAP_EQ_INT(irq_level, 0, "two lines: masking the other lowers it");
	pl061_destroy(&p);
}

static int64_t ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)(t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Wait up to ms for the pin to read level. */
static int wait_pin(struct pl061 *p, unsigned int line, int level, int ms)
{
	struct timespec t0, d = { 0, 2000000 };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (pl061_get_pin(p, line) != level && ms_since(&t0) < ms)
		nanosleep(&d, NULL);
	return pl061_get_pin(p, line) == level;
}

static void test_power_key(void)
{
	struct timespec t0;
	struct pl061 p;
	int64_t held;

	setup(&p);
	/* What gpio-pl061 sets up for gpio-keys: both edges, enabled. */
	wr(&p, PL061_IBE, 0x08);
	wr(&p, PL061_IE, 0x08);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	TAP_EQ_INT(pl061_pulse(&p, 3, 100), 0, "key: pressed");
	TAP_EQ_INT(pl061_get_pin(&p, 3), 1, "key: the line is high at once");
	TAP_EQ_INT(irq_level, 1, "key: the press raises the SPI");
	TAP_EQ_INT(rd(&p, 0x8 << 2), 0x08, "key: the guest reads it pressed");
	wr(&p, PL061_IC, 0x08);
	TAP_EQ_INT(irq_level, 0, "key: the guest acknowledges the press");
	TAP_EQ_INT(pl061_pulse(&p, 3, 100), 0, "key: a second press while held is fine");
	TAP_CHECK(wait_pin(&p, 3, 0, 2000), "key: released");
	held = ms_since(&t0);
	TAP_CHECK(held >= 100 && held < 1000, "key: held about 100 ms, not extended by the second press");
	if (held < 100 || held >= 1000)
		printf("#   held %lld ms\n", (long long)held);
	TAP_EQ_INT(irq_level, 1, "key: the release raises the SPI again");
	TAP_EQ_INT(rd(&p, 0x8 << 2), 0, "key: the guest reads it released");
	wr(&p, PL061_IC, 0x08);

	/* Pressed again after a release: a new press, a new thread. */
	TAP_EQ_INT(pl061_pulse(&p, 3, 20), 0, "key: pressed again");
	TAP_EQ_INT(irq_level, 1, "key: the new press raises the SPI");
	TAP_CHECK(wait_pin(&p, 3, 0, 2000), "key: released again");
	wr(&p, PL061_IC, 0x08);
	TAP_EQ_INT(pl061_pulse(&p, 8, 20), -EINVAL, "key: line 8 does not exist");

	/* Destroyed while held: no release comes after. */
	TAP_EQ_INT(pl061_pulse(&p, 3, 60000), 0, "key: a long press");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pl061_destroy(&p);
	TAP_CHECK(ms_since(&t0) < 1000, "key: destroy does not wait for the release");
}

int main(void)
{
	test_probe();
	test_data();
	test_edges();
	test_levels();
	test_power_key();
	return tap_done();
}
