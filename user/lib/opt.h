/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parsing of command-line values shared by every subcommand: sizes with
 * suffixes, integers in any base with range checks, and crosvm-style
 * "key=value,key=value" lists.
 */
#ifndef VBRIDGE_OPT_H
#define VBRIDGE_OPT_H

#include <getopt.h>
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

/*
 * An option of another program (crosvm) that a command refuses by name:
 * @name without "--", @instead what to do (a phrase such as "use --tap
 * NAME"), or NULL when there is nothing to use (the message says to drop
 * it).  Tables end with a NULL name.
 */
struct opt_foreign {
	const char *name;
	const char *instead;
};

/**
 * opt_check_names() - check option names before getopt_long() sees them
 * @argc: argument count, as for getopt_long()
 * @argv: arguments; argv[0] is the command's name
 * @shortopts: the short options, as for getopt_long()
 * @opts: the long options, ending with a zero entry
 * @foreign: options of @foreign_prog to refuse by name, or NULL
 * @foreign_prog: the other program's name, for the messages ("crosvm")
 * @cmd: the command, for the messages ("vbridge run")
 *
 * getopt_long() takes any unambiguous prefix for a long option: crosvm's
 * --net would be our --netmask.  Here every long option must be spelled
 * out in full, and one of @foreign gets a message that names it and says
 * what to use instead.  Values of options that take one are skipped, as
 * getopt_long() would; "--" ends the options.  Short options are left to
 * getopt_long(), and so is everything when -h or --help is given.
 *
 * Return: 0, or -1 after printing one line saying what is wrong.
 */
int opt_check_names(int argc, char *const argv[], const char *shortopts,
		    const struct option *opts, const struct opt_foreign *foreign,
		    const char *foreign_prog, const char *cmd);

#endif
