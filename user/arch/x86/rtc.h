/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The CMOS real-time clock at ports 0x70/0x71, enough for Linux to read
 * the wall clock when kvmclock is not used: the time registers report
 * the host's UTC time (in BCD, 24-hour mode), status registers say the
 * time is valid and never updating.  Guest writes to the time are
 * ignored; the other 114 CMOS bytes are plain storage.  No interrupts.
 */
#ifndef VBRIDGE_ARCH_X86_RTC_H
#define VBRIDGE_ARCH_X86_RTC_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "vmm/iobus.h"

#define RTC_PORT	0x70
#define RTC_PORTS	2

/**
 * struct rtc - CMOS index latch and storage.
 * @lock: protects @index and @cmos
 * @index: register selected through port 0x70
 * @cmos: storage for the registers that are not the clock
 * @now: the clock, time(2) unless a test replaces it (constant)
 */
struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t cmos[128];
	time_t (*now)(void);
};

void rtc_init(struct rtc *r);
void rtc_destroy(struct rtc *r);
io_handler_fn rtc_io;

#endif
