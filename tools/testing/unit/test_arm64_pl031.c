// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/arch/arm64/pl031.c, on a clock the test moves: what
 * the AMBA bus and rtc-pl031 read, setting the time through LR, the match
 * interrupt and its mask, and the alarm the run loop would arm.
 */
#include <string.h>

#include "arch/arm64/pl031.h"
#include "tap.h"

static time_t fake_now;
static int irq_level, irq_changes;

static time_t clock_now(void)
{
	return fake_now;
}

static void set_irq(void *opaque, int level)
{
	irq_level = level;
	irq_changes++;
}

static uint32_t rd(struct pl031 *r, unsigned int off)
{
	uint32_t v = 0xdeadbeef;

	pl031_access(r, off, 4, false, &v);
	return v;
}

static void wr(struct pl031 *r, unsigned int off, uint32_t v)
{
	pl031_access(r, off, 4, true, &v);
}

static void test_probe_time(void)
{
	static const uint8_t ids[8] = { 0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };
	struct pl031 r;
	struct io_access a;
	unsigned int i;
	uint32_t v;
	int ok = 1;

	pl031_init(&r, set_irq, NULL);
	for (i = 0; i < 8; i++)
		ok &= rd(&r, 0xfe0 + 4 * i) == ids[i];
	TAP_CHECK(ok, "probe: PeriphID 0x00141031 (arm pl031 r1), PCellID 0xb105f00d");
	TAP_CHECK((time_t)rd(&r, PL031_DR) - time(NULL) <= 1 &&
		  time(NULL) - (time_t)rd(&r, PL031_DR) <= 1,
		  "DR: the host's clock by default");

	r.now = clock_now;
	fake_now = 1700000000;
	TAP_EQ_INT(rd(&r, PL031_DR), 1700000000, "DR: seconds of the clock");
	fake_now += 5;
	TAP_EQ_INT(rd(&r, PL031_DR), 1700000005, "DR: follows it");
	TAP_EQ_INT(rd(&r, PL031_CR), 0, "CR: start bit clear at reset");
	wr(&r, PL031_CR, 1);
	TAP_EQ_INT(rd(&r, PL031_CR), 1, "CR: start bit set");
	wr(&r, PL031_CR, 0);
	TAP_EQ_INT(rd(&r, PL031_CR), 1, "CR: cannot be cleared");

	wr(&r, PL031_LR, 1000);
	TAP_EQ_INT(rd(&r, PL031_DR), 1000, "LR: sets the counter");
	TAP_EQ_INT(rd(&r, PL031_LR), 1000, "LR: reads back");
	fake_now += 7;
	TAP_EQ_INT(rd(&r, PL031_DR), 1007, "LR: counter runs on from it");
	wr(&r, PL031_LR, 0xfffffffe);
	fake_now += 3;
	TAP_EQ_INT(rd(&r, PL031_DR), 1, "DR: 32-bit counter wraps");

	v = 7;
	pl031_access(&r, PL031_DR, 2, false, &v);
	TAP_EQ_INT(v, 0, "width: 16-bit read gives 0");
	v = 55;
	pl031_access(&r, PL031_LR, 1, true, &v);
	TAP_EQ_INT(rd(&r, PL031_LR), 0xfffffffe, "width: 8-bit write ignored");
	a = (struct io_access){ .off = PL031_DR, .len = 4 };
	pl031_io(&r, &a);
	TAP_EQ_INT(a.val, 1, "io handler: DR");
	TAP_EQ_INT(irq_changes, 0, "no interrupt without a match");
	pl031_destroy(&r);
}

static void test_match(void)
{
	struct pl031 r;

	pl031_init(&r, set_irq, NULL);
	r.now = clock_now;
	fake_now = 5000;
	irq_level = 0;
	TAP_EQ_INT(pl031_alarm_in(&r), -1, "alarm: none at reset");
	wr(&r, PL031_IMSC, 1);
	wr(&r, PL031_MR, 5010);
	TAP_EQ_INT(rd(&r, PL031_MR), 5010, "MR reads back");
	TAP_EQ_INT(pl031_alarm_in(&r), 10, "alarm: in 10 s");
	fake_now += 9;
	pl031_tick(&r);
	TAP_EQ_INT(irq_level, 0, "match: not after 9 s");
	TAP_EQ_INT(pl031_alarm_in(&r), 1, "alarm: 1 s left");
	fake_now += 1;
	pl031_tick(&r);
	TAP_EQ_INT(irq_level, 1, "match: raised at MR");
	TAP_EQ_INT(rd(&r, PL031_RIS), 1, "match: RIS");
	TAP_EQ_INT(rd(&r, PL031_MIS), 1, "match: MIS");
	TAP_EQ_INT(pl031_alarm_in(&r), -1, "alarm: none once raised");
	wr(&r, PL031_ICR, 1);
	TAP_EQ_INT(irq_level, 0, "match: ICR lowers it");
	TAP_EQ_INT(rd(&r, PL031_RIS), 0, "match: RIS cleared");
	fake_now += 100;
	pl031_tick(&r);
	TAP_EQ_INT(irq_level, 0, "match: fires once per MR write");

	wr(&r, PL031_IMSC, 0);
	wr(&r, PL031_MR, rd(&r, PL031_DR) + 2);
	fake_now += 2;
	TAP_EQ_INT(rd(&r, PL031_RIS), 1, "masked: RIS set by a guest access at the match");
	TAP_EQ_INT(irq_level, 0, "masked: line stays low");
	TAP_EQ_INT(rd(&r, PL031_MIS), 0, "masked: MIS 0");
	wr(&r, PL031_IMSC, 1);
	TAP_EQ_INT(irq_level, 1, "masked: unmasking raises it");
	wr(&r, PL031_ICR, 1);

	/* MR in the past: the counter has to wrap to reach it. */
	wr(&r, PL031_MR, rd(&r, PL031_DR) - 1);
	TAP_EQ_U64(pl031_alarm_in(&r), 0xffffffffULL, "alarm: MR behind the counter: after the wrap");
	TAP_EQ_INT(irq_level, 0, "match: not raised for an MR in the past");

	/* Setting the time moves the alarm. */
	wr(&r, PL031_MR, 200);
	wr(&r, PL031_LR, 150);
	TAP_EQ_INT(pl031_alarm_in(&r), 50, "alarm: LR moves the counter towards MR");
	wr(&r, PL031_LR, 200);
	TAP_EQ_INT(irq_level, 1, "match: LR = MR matches at once");
	pl031_destroy(&r);
}

int main(void)
{
	test_probe_time();
	test_match();
	return tap_done();
}
