/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Messages for the vbridge tools: one line each, prefixed with the program
 * and subcommand, to standard error.
 */
#ifndef VBRIDGE_LOG_H
#define VBRIDGE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Exit statuses shared by every subcommand. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* runtime failure: guest crashed, I/O error */
	EXIT_USAGE = 2,		/* bad option, missing or invalid input file */
};

void log_set_prefix(const char *prefix);
/*
 * 0 (the default): errors, warnings and information; -1: no information;
 * -2: errors only; 1 and more: debug messages too (-v).
 */
void log_set_verbose(int level);
int log_verbose(void);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_error() with strerror(errno) appended. */
void log_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * For functions that report to their caller rather than to stderr: format
 * one reason into err (errlen bytes) and return ret.
 */
int err_set(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

void log_die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

#endif
