/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal TAP producer for the host unit tests.
 *
 *	TAP_CHECK(cond, "what");        one test point
 *	TAP_EQ_INT(got, want, "what");   integers, prints both on failure
 *	return tap_done();               plan + status
 *
 * The plan ("1..N") is printed at the end, so a test that crashes half-way
 * leaves no plan and the aggregator counts it as failed.
 */
#ifndef VBRIDGE_TAP_H
#define VBRIDGE_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_count, tap_failed;

static inline int tap_result(int ok, const char *file, int line,
			     const char *what)
{
	tap_count++;
	if (!ok)
		tap_failed++;
	printf("%sok %d - %s\n", ok ? "" : "not ", tap_count, what);
	if (!ok)
		printf("#   failed at %s:%d\n", file, line);
	fflush(stdout);
	return ok;
}

#define TAP_CHECK(cond, what) tap_result(!!(cond), __FILE__, __LINE__, (what))

#define TAP_EQ_INT(got, want, what)					\
	do {								\
		long long _g = (long long)(got), _w = (long long)(want);\
		if (!tap_result(_g == _w, __FILE__, __LINE__, (what)))	\
			printf("#   got %lld, want %lld\n", _g, _w);	\
	} while (0)

#define TAP_EQ_U64(got, want, what)					\
	do {								\
		uint64_t _g = (uint64_t)(got), _w = (uint64_t)(want);	\
		if (!tap_result(_g == _w, __FILE__, __LINE__, (what)))	\
			printf("#   got 0x%" PRIx64 ", want 0x%" PRIx64 "\n",\
			       _g, _w);					\
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
