// SPDX-License-Identifier: GPL-2.0
/* MC146818-style CMOS clock, read-only time. */
#include "arch/x86/rtc.h"

#include <string.h>

#define RTC_SECONDS	0x00
#define RTC_MINUTES	0x02
#define RTC_HOURS	0x04
#define RTC_WEEKDAY	0x06
#define RTC_DAY		0x07
#define RTC_MONTH	0x08
#define RTC_YEAR	0x09
#define RTC_REG_A	0x0a
#define RTC_REG_B	0x0b
#define RTC_REG_C	0x0c
#define RTC_REG_D	0x0d
#define RTC_CENTURY	0x32

#define RTC_A_DEFAULT	0x26	/* 32.768 kHz, 1024 Hz, UIP clear */
#define RTC_B_24H	0x02	/* 24-hour, BCD, no interrupts */
#define RTC_D_VRT	0x80	/* valid RAM and time */

static time_t rtc_time_now(void)
{
	return time(NULL);
}

void rtc_init(struct rtc *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->now = rtc_time_now;
	r->cmos[RTC_REG_A] = RTC_A_DEFAULT;
	r->cmos[RTC_REG_B] = RTC_B_24H;
	r->cmos[RTC_REG_D] = RTC_D_VRT;
}

void rtc_destroy(struct rtc *r)
{
	pthread_mutex_destroy(&r->lock);
}

static uint8_t bcd(unsigned int v)
{
	return (v / 10) << 4 | (v % 10);
}

static uint8_t rtc_read(struct rtc *r, unsigned int reg)
{
	time_t t = r->now();
	struct tm tm;

	gmtime_r(&t, &tm);
	switch (reg) {
	case RTC_SECONDS:
		return bcd(tm.tm_sec > 59 ? 59 : tm.tm_sec);
	case RTC_MINUTES:
		return bcd(tm.tm_min);
	case RTC_HOURS:
		return bcd(tm.tm_hour);
	case RTC_WEEKDAY:
		return bcd(tm.tm_wday + 1);
	case RTC_DAY:
		return bcd(tm.tm_mday);
	case RTC_MONTH:
		return bcd(tm.tm_mon + 1);
	case RTC_YEAR:
		return bcd(tm.tm_year % 100);
	case RTC_CENTURY:
		return bcd((tm.tm_year + 1900) / 100);
	case RTC_REG_C:
		return 0;	/* no interrupt flags, ever */
	}
	return r->cmos[reg];
}

void rtc_io(void *opaque, struct io_access *a)
{
	struct rtc *r = opaque;

	pthread_mutex_lock(&r->lock);
	if (a->off == 0) {
		/* index; bit 7 is the NMI mask, which has no effect here */
		if (a->write)
			r->index = a->val & 0x7f;
		else
			a->val = 0xff;
	} else if (a->write) {
		switch (r->index) {
		case RTC_SECONDS: case RTC_MINUTES: case RTC_HOURS:
		case RTC_WEEKDAY: case RTC_DAY: case RTC_MONTH: case RTC_YEAR:
		case RTC_CENTURY: case RTC_REG_A: case RTC_REG_C:
		case RTC_REG_D:
			break;	/* the clock follows the host */
		case RTC_REG_B:
			/* keep 24-hour BCD; the SET/interrupt bits are moot */
			break;
		default:
			r->cmos[r->index] = a->val;
		}
	} else {
		a->val = rtc_read(r, r->index);
	}
	pthread_mutex_unlock(&r->lock);
}
