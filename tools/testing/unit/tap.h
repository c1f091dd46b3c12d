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

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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

/*
 * Standard error caught while a test runs what prints on it:
 * tap_stderr_begin(), then tap_stderr_end() puts what was printed into
 * buf (len bytes, NUL-terminated).  begin returns 0, or -1 when nothing
 * can be caught (end then gives an empty string).
 */
struct tap_stderr {
	FILE *f;
	int saved;
};

static inline int tap_stderr_begin(struct tap_stderr *c)
{
	c->f = tmpfile();
	c->saved = c->f ? dup(STDERR_FILENO) : -1;
	if (c->saved < 0) {
		if (c->f)
			fclose(c->f);
		c->f = NULL;
		return -1;
	}
	fflush(stderr);
	dup2(fileno(c->f), STDERR_FILENO);
	return 0;
}

static inline void tap_stderr_end(struct tap_stderr *c, char *buf, size_t len)
{
	size_t got = 0;

	if (c->f) {
		fflush(stderr);
		dup2(c->saved, STDERR_FILENO);
		close(c->saved);
		rewind(c->f);
		got = fread(buf, 1, len - 1, c->f);
		fclose(c->f);
	}
	buf[got] = '\0';
}

/*
 * Entries of a directory but "." and "..", -1 when it cannot be read:
 * a process's threads (/proc/self/task) or open fds (/proc/self/fd, the
 * count includes the one reading it), to check that nothing is left over.
 */
static inline int tap_dir_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
