/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parsing of command-line values shared by every subcommand: sizes with
 * suffixes, integers in any base with range checks, and crosvm-style
 * "key=value,key=value" lists.
 */
#ifndef VBRIDGE_OPT_H
#define VBRIDGE_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Parse "4096", "64K", "512M", "2G", "1T" (binary units, optional trailing
 * "iB" or "B").  Returns 0, or -EINVAL for malformed text, -ERANGE when the
 * value does not fit in 64 bits.
 */
int opt_parse_size(const char *s, uint64_t *out);

/*
 * Parse an unsigned integer (decimal, 0x hex, 0 octal) no larger than max.
 * Returns 0, -EINVAL or -ERANGE.
 */
int opt_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* Parse a signed decimal integer in [min, max]. Returns 0, -EINVAL, -ERANGE. */
int opt_parse_s64(const char *s, int64_t min, int64_t max, int64_t *out);

/*
 * Iterator over "key=value,key,key=value".  A key without "=" gets value
 * NULL.  Commas inside a value are not supported (as in crosvm).
 */
struct opt_kv {
	char *buf;	/* private copy, split in place */
	char *next;
};

/* Returns 0, or -ENOMEM. */
int opt_kv_init(struct opt_kv *it, const char *list);
/*
 * Next pair: returns 1 and sets key/value, 0 at the end, -EINVAL for an
 * empty key (",," or "=x").
 */
int opt_kv_next(struct opt_kv *it, const char **key, const char **value);
void opt_kv_free(struct opt_kv *it);

/* Parse "yes/no/true/false/on/off/1/0"; NULL (bare key) is true. */
int opt_parse_bool(const char *s, bool *out);

#endif
