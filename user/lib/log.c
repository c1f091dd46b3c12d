// SPDX-License-Identifier: GPL-2.0
#include "lib/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *log_prefix = "vbridge";
static int log_level;

void log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

void log_set_verbose(int level)
{
	log_level = level;
}

int log_verbose(void)
{
	return log_level;
}

static void log_vline(const char *tag, const char *fmt, va_list ap, int err)
{
	char buf[1024];
	int n;

	n = snprintf(buf, sizeof(buf), "%s: %s", log_prefix, tag);
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = 0;
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (err)
		fprintf(stderr, "%s: %s\n", buf, strerror(err));
	else
		fprintf(stderr, "%s\n", buf);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_level < 0)
		return;
	va_start(ap, fmt);
	log_vline("", fmt, ap, 0);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_level <= 0)
		return;
	va_start(ap, fmt);
	log_vline("debug: ", fmt, ap, 0);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	if (log_level < -1)
		return;
	va_start(ap, fmt);
	log_vline("warning: ", fmt, ap, 0);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("error: ", fmt, ap, 0);
	va_end(ap);
}

void log_errno(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vline("error: ", fmt, ap, err);
	va_end(ap);
}

void log_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("error: ", fmt, ap, 0);
	va_end(ap);
	exit(status);
}

int err_set(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}
