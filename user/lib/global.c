// SPDX-License-Identifier: GPL-2.0
/* Options given before the subcommand; see global.h. */
#include "lib/global.h"

#include <errno.h>
#include <string.h>

#include "lib/log.h"
#include "lib/opt.h"

struct global_opts global_opts;

static int global_level(const char *s)
{
	static const char *const names[] = {
		"off", "error", "warn", "info", "debug", "trace",
	};
	static const int levels[] = { -2, -2, -1, 0, 1, 2 };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i]))
			return levels[i];
	return -3;
}

int global_parse_log_level(const char *s, int *level)
{
	const char *key, *val;
	struct opt_kv it;
	int ret, lv = 0;

	if (!s || !*s)
		return -EINVAL;
	if (opt_kv_init(&it, s))
		return -EINVAL;
	while ((ret = opt_kv_next(&it, &key, &val)) > 0) {
		int l = global_level(val ? val : key);

		if (l < -2) {
			ret = -EINVAL;
			break;
		}
		if (!val)
			lv = l;
	}
	opt_kv_free(&it);
	if (ret < 0)
		return -EINVAL;
	*level = lv;
	return 0;
}

const char *global_usage(void)
{
	return
"Global options (before COMMAND; crosvm's spelling):\n"
"  --log-level LEVEL[,MODULE=LEVEL...]\n"
"                    which messages to print: off or error (errors only),\n"
"                    warn, info (the default), debug (as -v), trace (as\n"
"                    -v -v); MODULE=LEVEL items are accepted and ignored\n"
"                      --log-level info,disk=off\n"
"  --extended-status\n"
"                    vbridge run exits with status 32 when the guest\n"
"                    reboots and 33 when it crashes (else 0 and 1)\n";
}

/* crosvm's global options that vbridge does not have. */
static const struct opt_foreign global_crosvm[] = {
	{ "syslog-tag", "vbridge logs to standard error only: drop it" },
	{ "no-syslog", "vbridge never logs to syslog: drop it" },
	{ NULL, NULL },
};

int global_parse(int argc, char **argv, struct global_opts *g)
{
	int i;

	memset(g, 0, sizeof(*g));
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *val = NULL;
		const struct opt_foreign *f;

		if (!strcmp(a, "--extended-status")) {
			g->extended_status = true;
			continue;
		}
		if (!strncmp(a, "--log-level=", 12)) {
			val = a + 12;
		} else if (!strcmp(a, "--log-level")) {
			if (i + 1 >= argc) {
				log_error("--log-level needs a value, e.g. --log-level info (see vbridge --help)");
				return -1;
			}
			val = argv[++i];
		} else {
			/* --help, --version and the like are the caller's */
			for (f = global_crosvm; f->name; f++) {
				size_t n = strlen(f->name);

				if (!strncmp(a, "--", 2) && !strncmp(a + 2, f->name, n) &&
				    (!a[n + 2] || a[n + 2] == '=')) {
					log_error("--%s is a crosvm option that vbridge does not have: %s",
						  f->name, f->instead);
					return -1;
				}
			}
			return i;
		}
		if (global_parse_log_level(val, &g->log_level)) {
			log_error("--log-level '%s': give off, error, warn, info, debug or trace, optionally followed by MODULE=LEVEL items (info,disk=off)",
				  val);
			return -1;
		}
	}
	return i;
}
