// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/vmm/iobus.c (exit dispatch table) and of the small
 * board devices behind it: ACPI PM1a block, i8042 reset, CMOS clock.
 */
#include <errno.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/power.h"
#include "arch/x86/rtc.h"
#include "tap.h"
#include "vmm/iobus.h"

static struct io_access seen;
static int seen_tag, calls;

static void handler(void *opaque, struct io_access *a)
{
	seen = *a;
	seen_tag = *(int *)opaque;
	calls++;
	if (!a->write)
		a->val = 0x1234;
}

static void test_bus(void)
{
	static int tag1 = 1, tag2 = 2, tag3 = 3;
	struct io_access a = { 0 };
	struct io_bus b;
	unsigned int i;
	int err = 0;

	io_bus_init(&b, "test");
	TAP_EQ_INT(io_bus_add(&b, 0x3f8, 8, handler, &tag1, "uart"), 0, "add 0x3f8+8");
	TAP_EQ_INT(io_bus_add(&b, 0x70, 2, handler, &tag2, "rtc"), 0,
		   "add a lower range after a higher one");
	TAP_EQ_INT(io_bus_add(&b, 0x3fc, 8, handler, &tag3, "x"), -EINVAL,
		   "overlap at the end rejected");
	TAP_EQ_INT(io_bus_add(&b, 0x3f0, 9, handler, &tag3, "x"), -EINVAL,
		   "overlap at the start rejected");
	TAP_EQ_INT(io_bus_add(&b, 0x3f0, 8, handler, &tag3, "x"), 0,
		   "adjacent range accepted");
	TAP_EQ_INT(io_bus_add(&b, 0x100, 0, handler, &tag3, "x"), -EINVAL,
		   "empty range rejected");
	TAP_EQ_INT(io_bus_add(&b, ~0ULL - 2, 8, handler, &tag3, "x"), -EINVAL,
		   "wrapping range rejected");
	TAP_CHECK(b.range[0].base == 0x70 && b.range[1].base == 0x3f0 &&
		  b.range[2].base == 0x3f8, "ranges kept sorted");

	a.addr = 0x3fd;
	a.len = 1;
	TAP_CHECK(io_bus_dispatch(&b, &a), "load inside a range is claimed");
	TAP_EQ_INT(seen_tag, 1, "right handler called");
	TAP_EQ_U64(seen.off, 5, "offset into the range");
	TAP_EQ_U64(a.val, 0x1234, "handler's value returned");

	a.addr = 0x3ff;
	a.len = 2;
	calls = 0;
	TAP_CHECK(!io_bus_dispatch(&b, &a), "access crossing the range end unclaimed");
	TAP_EQ_U64(a.val, ~0ULL, "unclaimed load reads all-ones");
	a.addr = 0x71;
	a.len = 1;
	a.write = true;
	a.val = 7;
	TAP_CHECK(io_bus_dispatch(&b, &a) && seen_tag == 2 && seen.val == 7 &&
		  seen.write, "store reaches the rtc range with its value");
	a.addr = 0x10;
	TAP_CHECK(!io_bus_dispatch(&b, &a), "below every range unclaimed");
	TAP_EQ_INT(calls, 1, "no handler called for unclaimed accesses");

	for (i = 0; i < IO_BUS_MAX_RANGES; i++)
		err = io_bus_add(&b, 0x10000 + i * 16, 16, handler, &tag3, "fill");
	TAP_EQ_INT(err, -ENOSPC, "full table rejects more ranges");
}

static int events[2];

static void power_event(void *ctx, enum power_event ev)
{
	events[ev]++;
}

static int sci_level, sci_calls;

static void power_sci(void *ctx, int level)
{
	sci_level = level;
	sci_calls++;
}

static uint64_t pm(struct power *p, unsigned int off, unsigned int len,
		   int write, uint64_t val)
{
	struct io_access a = { .addr = POWER_PM_BASE + off, .off = off,
			       .len = len, .write = write, .val = val };

	power_pm_io(p, &a);
	return a.val;
}

static void test_power(void)
{
	uint16_t s5 = POWER_S5_SLP_TYP << ACPI_PM1_SLP_TYP_SHIFT;
	struct io_access a = { .len = 1 };
	struct power p;

	power_init(&p, power_event, NULL, NULL);
	TAP_EQ_U64(pm(&p, 4, 2, 0, 0) & ACPI_PM1_SCI_EN, ACPI_PM1_SCI_EN,
		   "PM1 control: SCI_EN reads 1 (ACPI mode)");
	pm(&p, 2, 2, 1, 0x0121);
	TAP_EQ_U64(pm(&p, 2, 2, 0, 0), 0x0121, "PM1 enable is read/write");
	pm(&p, 0, 2, 1, 0xffff);
	TAP_EQ_U64(pm(&p, 0, 2, 0, 0), 0, "PM1 status write-1-to-clear");
	/* Linux writes SLP_TYP first, then SLP_TYP | SLP_EN */
	pm(&p, 4, 2, 1, s5);
	TAP_EQ_INT(events[POWER_OFF], 0, "SLP_TYP alone does not power off");
	pm(&p, 4, 2, 1, 3 << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN);
	TAP_EQ_INT(events[POWER_OFF], 0, "SLP_EN with another sleep type ignored");
	pm(&p, 4, 2, 1, s5 | ACPI_PM1_SLP_EN);
	TAP_EQ_INT(events[POWER_OFF], 1, "SLP_TYP(S5) | SLP_EN powers off");
	TAP_EQ_U64(pm(&p, 4, 2, 0, 0) & ACPI_PM1_SLP_EN, 0, "SLP_EN reads 0");
	pm(&p, 5, 1, 1, (s5 | ACPI_PM1_SLP_EN) >> 8);
	TAP_EQ_INT(events[POWER_OFF], 2, "byte write of the high half powers off");
	TAP_EQ_U64(pm(&p, 6, 2, 0, 0), 0xffff, "past the block reads all-ones");

	a.write = true;
	a.val = 0xd1;
	power_i8042_io(&p, &a);
	TAP_EQ_INT(events[POWER_RESET], 0, "other i8042 commands ignored");
	a.val = 0xfe;
	power_i8042_io(&p, &a);
	TAP_EQ_INT(events[POWER_RESET], 1, "i8042 pulse reset (0xfe) resets");
	a.write = false;
	power_i8042_io(&p, &a);
	TAP_EQ_U64(a.val, 0, "i8042 status: input buffer empty");
	power_destroy(&p);
}

static void test_power_button(void)
{
	struct power p;

	power_init(&p, power_event, power_sci, NULL);
	sci_level = sci_calls = 0;
	power_button(&p);
	TAP_EQ_U64(pm(&p, 0, 2, 0, 0), POWER_PM1_PWRBTN,
		   "button press sets PWRBTN_STS");
	TAP_EQ_INT(sci_calls, 0, "no SCI while PWRBTN_EN is clear");
	pm(&p, 2, 2, 1, POWER_PM1_PWRBTN);
	TAP_EQ_INT(sci_level, 1, "enabling PWRBTN_EN raises the pending SCI");
	pm(&p, 0, 2, 1, 0x00ff);
	TAP_EQ_INT(sci_level, 1, "writing 1s to other status bits keeps it");
	pm(&p, 1, 1, 1, POWER_PM1_PWRBTN >> 8);
	TAP_EQ_U64(pm(&p, 0, 2, 0, 0), 0, "PWRBTN_STS write-1-to-clear");
	TAP_EQ_INT(sci_level, 0, "clearing the status lowers the SCI");
	TAP_EQ_INT(sci_calls, 2, "the SCI is driven only when it changes");
	power_button(&p);
	TAP_EQ_INT(sci_level, 1, "a press with PWRBTN_EN set raises the SCI");
	power_button(&p);
	TAP_EQ_INT(sci_calls, 3, "a second press while pending changes nothing");
	pm(&p, 2, 2, 1, 0);
	TAP_EQ_INT(sci_level, 0, "disabling PWRBTN_EN lowers the SCI");
	TAP_EQ_U64(pm(&p, 0, 2, 0, 0), POWER_PM1_PWRBTN,
		   "the status stays set while disabled");
	pm(&p, 2, 2, 1, POWER_PM1_PWRBTN);
	TAP_EQ_INT(sci_level, 1, "re-enabling raises it again");
	pm(&p, 0, 4, 1, POWER_PM1_PWRBTN);
	TAP_EQ_INT(sci_level, 0, "a 4-byte write clears the status too");
	TAP_EQ_U64(pm(&p, 2, 2, 0, 0), 0, "...and writes PM1_EN (upper half)");
	power_destroy(&p);
}

static time_t fixed_time(void)
{
	return 1700000000;	/* 2023-11-14 22:13:20 UTC, a Tuesday */
}

static uint8_t cmos(struct rtc *r, uint8_t reg)
{
	struct io_access a = { .addr = 0x70, .off = 0, .len = 1, .write = true,
			       .val = reg | 0x80 };

	rtc_io(r, &a);
	a.addr = 0x71;
	a.off = 1;
	a.write = false;
	rtc_io(r, &a);
	return a.val;
}

static void test_rtc(void)
{
	struct io_access a = { .addr = 0x71, .off = 1, .len = 1, .write = true };
	struct rtc r;

	rtc_init(&r);
	r.now = fixed_time;
	TAP_EQ_INT(cmos(&r, 0x00), 0x20, "RTC seconds in BCD");
	TAP_EQ_INT(cmos(&r, 0x02), 0x13, "RTC minutes");
	TAP_EQ_INT(cmos(&r, 0x04), 0x22, "RTC hours, 24-hour");
	TAP_EQ_INT(cmos(&r, 0x07), 0x14, "RTC day of month");
	TAP_EQ_INT(cmos(&r, 0x08), 0x11, "RTC month");
	TAP_EQ_INT(cmos(&r, 0x09), 0x23, "RTC year");
	TAP_EQ_INT(cmos(&r, 0x32), 0x20, "RTC century");
	TAP_EQ_INT(cmos(&r, 0x06), 0x03, "RTC day of week (Sunday = 1)");
	TAP_EQ_INT(cmos(&r, 0x0a) & 0x80, 0, "RTC never updating (UIP clear)");
	TAP_EQ_INT(cmos(&r, 0x0b), 0x02, "RTC BCD, 24-hour");
	TAP_EQ_INT(cmos(&r, 0x0d), 0x80, "RTC time valid");
	cmos(&r, 0x40);
	a.val = 0x5a;
	rtc_io(&r, &a);
	TAP_EQ_INT(cmos(&r, 0x40), 0x5a, "CMOS RAM byte stored");
	cmos(&r, 0x00);
	a.val = 0x59;
	rtc_io(&r, &a);
	TAP_EQ_INT(cmos(&r, 0x00), 0x20, "guest writes to the clock ignored");
	rtc_destroy(&r);
}

int main(void)
{
	test_bus();
	test_power();
	test_power_button();
	test_rtc();
	return tap_done();
}
