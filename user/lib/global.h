/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Options given before the subcommand (`vbridge [GLOBAL OPTIONS] COMMAND`),
 * spelled as crosvm spells its own: --extended-status, --log-level.
 */
#ifndef VBRIDGE_GLOBAL_H
#define VBRIDGE_GLOBAL_H

#include <stdbool.h>

/* Exit statuses of `vbridge run` under --extended-status (crosvm's). */
enum {
	EXIT_VM_RESET = 32,	/* the guest rebooted */
	EXIT_VM_CRASH = 33,	/* the guest crashed (triple fault, KVM error) */
};

/**
 * struct global_opts - what the global options asked for
 * @extended_status: --extended-status: `vbridge run` tells a guest's
 *	reboot and crash apart in its exit status
 * @log_level: --log-level as a log_set_verbose() level: -2 errors only,
 *	-1 warnings too, 0 (the default) informational messages too, 1
 *	debug, 2 trace
 */
struct global_opts {
	bool extended_status;
	int log_level;
};

/* What main() parsed; zero (the defaults) until then. */
extern struct global_opts global_opts;

/*
 * Parse the options of argv[1..] that come before the command.  Returns
 * the index of the command in argv (argc when there is none), or -1 after
 * printing one line saying what is wrong.
 */
int global_parse(int argc, char **argv, struct global_opts *g);

/*
 * Parse a --log-level value: "LEVEL" and "MODULE=LEVEL" items separated
 * by commas, LEVEL one of off, error, warn, info, debug, trace (crosvm's).
 * The last plain LEVEL sets *level; vbridge has no per-module levels, so
 * MODULE=LEVEL items are checked and have no effect.  Returns 0 or
 * -EINVAL.
 */
int global_parse_log_level(const char *s, int *level);

/* Help text for the global options, for `vbridge --help`. */
const char *global_usage(void);

#endif
