// SPDX-License-Identifier: GPL-2.0
#include "lib/opt.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"

int opt_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end || end == s)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int opt_parse_s64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	long long v;
	char *end;

	if (!s || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end || end == s)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int opt_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (*end) {
		end++;
		if (!strcasecmp(end, "iB") || !strcasecmp(end, "B"))
			end += strlen(end);
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

int opt_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "y", "yes", "true", "on" };
	static const char *const no[] = { "0", "n", "no", "false", "off" };
	size_t i;

	if (!s) {
		*out = true;
		return 0;
	}
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int opt_kv_init(struct opt_kv *it, const char *list)
{
	it->buf = strdup(list ? list : "");
	if (!it->buf)
		return -ENOMEM;
	it->next = it->buf;
	return 0;
}

int opt_kv_next(struct opt_kv *it, const char **key, const char **value)
{
	char *p = it->next, *comma, *eq;

	if (!p || !*p)
		return 0;
	comma = strchr(p, ',');
	if (comma) {
		*comma = '\0';
		it->next = comma + 1;
		if (!*it->next)
			return -EINVAL;	/* trailing comma */
	} else {
		it->next = NULL;
	}
	eq = strchr(p, '=');
	if (eq)
		*eq = '\0';
	if (!*p)
		return -EINVAL;
	*key = p;
	*value = eq ? eq + 1 : NULL;
	return 1;
}

void opt_kv_free(struct opt_kv *it)
{
	free(it->buf);
	it->buf = NULL;
	it->next = NULL;
}

static const struct option *opt_find(const struct option *opts,
				     const char *name, size_t len)
{
	for (; opts->name; opts++)
		if (strlen(opts->name) == len && !strncmp(opts->name, name, len))
			return opts;
	return NULL;
}

/* Same name but for '-' against '_' (--disable_sandbox): what was meant. */
static const struct option *opt_find_spelling(const struct option *opts,
					      const char *name, size_t len)
{
	size_t i;

	for (; opts->name; opts++) {
		if (strlen(opts->name) != len)
			continue;
		for (i = 0; i < len; i++) {
			char a = opts->name[i] == '_' ? '-' : opts->name[i];
			char b = name[i] == '_' ? '-' : name[i];

			if (a != b)
				break;
		}
		if (i == len)
			return opts;
	}
	return NULL;
}

/* The first of opts that name is a prefix of, for "did you mean". */
static const struct option *opt_find_prefix(const struct option *opts,
					    const char *name, size_t len)
{
	for (; opts->name; opts++)
		if (strlen(opts->name) > len && !strncmp(opts->name, name, len))
			return opts;
	return NULL;
}

/* One long option, "--name" or "--name=value"; *skip: its value follows. */
static int opt_check_long(const char *arg, const struct option *opts,
			  const struct opt_foreign *foreign,
			  const char *foreign_prog, const char *cmd, bool *skip)
{
	const char *name = arg + 2;
	size_t len = strcspn(name, "=");
	const struct option *o = opt_find(opts, name, len);

	*skip = false;
	if (o && o->has_arg == no_argument && name[len]) {
		log_error("--%s takes no value: give it as --%s (see %s --help)",
			  o->name, o->name, cmd);
		return -1;
	}
	if (o) {
		*skip = o->has_arg == required_argument && !name[len];
		return 0;
	}
	for (; foreign && foreign->name; foreign++) {
		if (strlen(foreign->name) != len || strncmp(foreign->name, name, len))
			continue;
		if (foreign->instead)
			log_error("--%.*s is a %s option that %s does not have: %s",
				  (int)len, name, foreign_prog, cmd, foreign->instead);
		else
			log_error("--%.*s is a %s option that %s does not have: drop it (see %s --help)",
				  (int)len, name, foreign_prog, cmd, cmd);
		return -1;
	}
	o = opt_find_spelling(opts, name, len);
	if (!o)
		o = opt_find_prefix(opts, name, len);
	if (o)
		log_error("unknown option '--%.*s': did you mean --%s? (see %s --help)",
			  (int)len, name, o->name, cmd);
	else
		log_error("unknown option '--%.*s' (see %s --help)", (int)len,
			  name, cmd);
	return -1;
}

int opt_check_names(int argc, char *const argv[], const char *shortopts,
		    const struct option *opts, const struct opt_foreign *foreign,
		    const char *foreign_prog, const char *cmd)
{
	bool skip;
	int i;

	/* --help wins over anything wrong beside it */
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 0;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--"))
			break;
		if (!strncmp(a, "--", 2)) {
			if (opt_check_long(a, opts, foreign, foreign_prog, cmd,
					   &skip))
				return -1;
			i += skip;
		} else if (a[0] == '-' && a[1]) {
			/* -abc: flags, until one that takes the rest or the next */
			for (a++; *a; a++) {
				const char *s = *a == ':' ? NULL : strchr(shortopts, *a);

				if (s && s[1] == ':') {
					i += !a[1];
					break;
				}
			}
		}
	}
	return 0;
}
