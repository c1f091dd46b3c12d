// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/lib/out_ring.c: a console's output ring whose reader
 * stops reading for good (a blocking pipe, a terminal, a socket, a
 * non-blocking pipe).  The producer never waits, the caller's fd keeps
 * its flags, and out_ring_free() always stops and joins the writer thread
 * (none is left behind, so nothing leaks: the ASan build checks that),
 * as a long-lived `vbridge devices` that creates and destroys consoles
 * needs.  Kept bytes arrive complete and in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <termios.h>

#include "tap.h"
#include "lib/out_ring.h"

#define RING_SIZE	(64u << 10)
#define STALL_BYTES	(4u << 20)	/* more than any buffer on the way */

/*
 * The stream: 8-byte records, a 0xff marker then a counter in 7 bits a
 * byte.  The ring keeps the start of a write it cannot take whole, so a
 * record may be cut short, and later ones still arrive: the reader checks
 * that the whole records it gets have increasing counters.
 */
#define REC	8

static void record(uint8_t *rec, uint64_t k)
{
	unsigned int j;

	rec[0] = 0xff;
	for (j = 1; j < REC; j++)
		rec[j] = (k >> (7 * (j - 1))) & 0x7f;
}

/* Queue STALL_BYTES a record at a time; returns the bytes kept. */
static size_t produce(struct out_ring *r)
{
	uint8_t rec[REC];
	size_t kept = 0;
	uint64_t k;

	for (k = 0; k < STALL_BYTES / REC; k++) {
		record(rec, k);
		kept += out_ring_write(r, rec, REC);
	}
	return kept;
}

/*
 * Read what rfd holds now (non-blocking).  *in_order: every whole record
 * has a larger counter than the one before, and nothing precedes the
 * first marker.  Returns the bytes read; *records the whole records.
 */
static size_t drain_check(int rfd, bool *in_order, size_t *records)
{
	uint8_t buf[4096], rec[REC];
	size_t total = 0, fill = 0;
	uint64_t last = 0, k;
	bool any = false;
	ssize_t n, i;
	unsigned int j;

	*in_order = true;
	*records = 0;
	fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) | O_NONBLOCK);
	for (;;) {
		n = read(rfd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (buf[i] == 0xff) {
				fill = 0;	/* a record cut short before */
			} else if (!total && !i) {
				*in_order = false;	/* not a record's start */
				continue;
			}
			rec[fill++] = buf[i];
			if (fill < REC)
				continue;
			for (k = 0, j = 1; j < REC; j++)
				k |= (uint64_t)rec[j] << (7 * (j - 1));
			if (any && k <= last)
				*in_order = false;
			last = k;
			any = true;
			(*records)++;
			fill = 0;
		}
		total += n;
	}
	return total;
}

/*
 * wfd is the ring's output, rfd its reader's end, never read until the
 * ring is freed.
 */
static void stalled(const char *what, int wfd, int rfd)
{
	char msg[160];
	int threads, flags;
	struct out_ring *r;
	size_t kept, got, records;
	bool in_order;

	threads = tap_dir_entries("/proc/self/task");
	flags = fcntl(wfd, F_GETFL);
	r = out_ring_new(wfd, RING_SIZE, what);
	snprintf(msg, sizeof(msg), "%s: ring up", what);
	if (!TAP_CHECK(r, msg))
		return;
	kept = produce(r);
	snprintf(msg, sizeof(msg), "%s: the producer never waits; what did not fit is dropped and counted", what);
	TAP_CHECK(kept < STALL_BYTES &&
		  out_ring_dropped(r) == STALL_BYTES - kept, msg);
	/* Short: nobody will read. */
	out_ring_free(r, 100);
	snprintf(msg, sizeof(msg), "%s: free stops and joins the writer, though nobody reads", what);
	TAP_EQ_INT(tap_dir_entries("/proc/self/task"), threads, msg);
	snprintf(msg, sizeof(msg), "%s: the caller's fd keeps its flags", what);
	TAP_EQ_INT(fcntl(wfd, F_GETFL), flags, msg);
	got = drain_check(rfd, &in_order, &records);
	snprintf(msg, sizeof(msg), "%s: what was written arrived in order, no more than was kept", what);
	TAP_CHECK(records > 0 && got <= kept && in_order, msg);
}

static void test_pipe(bool nonblock)
{
	int p[2];

	if (pipe2(p, nonblock ? O_NONBLOCK : 0)) {
		TAP_CHECK(0, "pipe");
		return;
	}
	stalled(nonblock ? "non-blocking pipe" : "pipe", p[1], p[0]);
	close(p[0]);
	close(p[1]);
}

static void test_socket(void)
{
	int s[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s)) {
		TAP_CHECK(0, "socketpair");
		return;
	}
	stalled("socket", s[1], s[0]);
	close(s[0]);
	close(s[1]);
}

static void test_tty(void)
{
	struct termios tio;
	int m, s;

	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m)) {
		printf("ok %d - # SKIP terminal: no pty (%s)\n", ++tap_count,
		       strerror(errno));
		if (m >= 0)
			close(m);
		return;
	}
	s = open(ptsname(m), O_RDWR | O_NOCTTY);
	if (s < 0) {
		TAP_CHECK(0, "terminal: open the pty's terminal");
		close(m);
		return;
	}
	/* Raw: the bytes arrive as written (no \n to \r\n). */
	if (!tcgetattr(s, &tio)) {
		cfmakeraw(&tio);
		tcsetattr(s, TCSANOW, &tio);
	}
	stalled("terminal", s, m);
	close(s);
	close(m);
}

/* A reader that went away: the bytes are lost at once, nothing waits. */
static void test_gone(void)
{
	struct out_ring *r;
	int p[2], threads;

	if (pipe(p)) {
		TAP_CHECK(0, "pipe");
		return;
	}
	close(p[0]);
	threads = tap_dir_entries("/proc/self/task");
	r = out_ring_new(p[1], RING_SIZE, "gone");
	if (!TAP_CHECK(r, "gone: ring up"))
		return;
	produce(r);
	TAP_EQ_INT(out_ring_flush(r, 10000), 0,
		   "gone: a closed reader loses the bytes, the flush does not stall");
	out_ring_free(r, 10000);
	TAP_EQ_INT(tap_dir_entries("/proc/self/task"), threads, "gone: the writer is joined");
	close(p[1]);
}

int main(void)
{
	test_pipe(false);
	test_pipe(true);
	test_socket();
	test_tty();
	test_gone();
	return tap_done();
}
