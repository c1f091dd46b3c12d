// SPDX-License-Identifier: GPL-2.0
/*
 * The parsers of what an operator types: the device options shared by
 * `vbridge run` and `vbridge devices` (device_set_parse(): --serial
 * key=value lists, disk specs, addresses, MAC, CID and socket path), the
 * number, size and key=value parsers under them (user/lib/opt.c), and
 * `vbridge ctl`'s device references and `ctl set` arguments
 * (user/ctl/args.c), and command lines as a whole: the spelling check
 * before getopt_long() (opt_check_names(): values skipped, crosvm's
 * options refused) and the global options (user/lib/global.c).
 *
 * The input is a selector byte, then NUL-separated strings: for the
 * device options, pairs of (option index, argument) one after the other
 * into one device set, as getopt_long hands them over.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "devices/devices.h"
#include "fz.h"
#include "lib/global.h"
#include "lib/opt.h"

#define MAX_ARGS	32

/* Split the rest of the input into at most MAX_ARGS strings. */
static unsigned int split(struct fz *f, char *buf, size_t cap, char **argv)
{
	size_t n = f->n < cap - 1 ? f->n : cap - 1;
	unsigned int argc = 0;
	size_t i, start = 0;

	memcpy(buf, f->p, n);
	buf[n] = '\0';
	for (i = 0; i <= n && argc < MAX_ARGS; i++) {
		if (buf[i] == '\0') {
			argv[argc++] = buf + start;
			start = i + 1;
		}
	}
	argv[argc] = NULL;
	return argc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t sel = fz_u8(&f);
	char *argv[MAX_ARGS + 1], buf[4096], err[256];
	unsigned int argc, i, nopts = 0;
	const struct serial_spec *specs;
	struct device_set *s;
	struct ctl_devref ref;
	struct ctl_override o;
	struct opt_kv kv;
	const char *key, *val;
	uint64_t u;
	int64_t v;
	bool b;

	static const struct opt_foreign foreign[] = {
		{ "net", "use --tap" }, { "gpu", NULL }, { NULL, NULL },
	};
	struct global_opts g;
	int lv;

	argc = split(&f, buf, sizeof(buf), argv);
	switch (sel % 5) {
	case 0:		/* device options, in order */
		while (device_set_long_options[nopts].name)
			nopts++;
		s = device_set_new();
		if (!s)
			fz_fail("out of memory");
		for (i = 0; i + 1 < argc; i += 2) {
			const struct option *opt =
				&device_set_long_options[(uint8_t)argv[i][0] % nopts];

			if (device_set_parse(s, opt->val,
					     opt->has_arg ? argv[i + 1] : NULL) < 0)
				break;
		}
		device_set_uarts(s, &specs);
		device_set_console(s);
		device_set_free(s);
		break;
	case 1:		/* vbridge ctl: device references, set arguments */
		for (i = 0; i < argc; i++)
			ctl_parse_devref(argv[i], &ref, err, sizeof(err));
		memset(&o, 0, sizeof(o));
		ctl_parse_set(argc, argv, &o, err, sizeof(err));
		break;
	case 2:		/* numbers and sizes */
		for (i = 0; i < argc; i++) {
			opt_parse_size(argv[i], &u);
			opt_parse_u64(argv[i], sel & 0x80 ? UINT64_MAX : 4096, &u);
			opt_parse_s64(argv[i], -1000, sel & 0x40 ? INT64_MAX : 1000, &v);
			opt_parse_bool(argv[i], &b);
		}
		break;
	case 3:		/* key=value lists */
		for (i = 0; i < argc; i++) {
			if (opt_kv_init(&kv, argv[i]))
				continue;
			while (opt_kv_next(&kv, &key, &val) > 0)
				if (val)
					opt_parse_bool(val, &b);
			opt_kv_free(&kv);
		}
		break;
	default:	/* whole command lines: names, then global options */
		opt_check_names(argc, argv, ":vhc:m:p:i:", device_set_long_options,
				foreign, "crosvm", "fuzz");
		global_parse(argc, argv, &g);
		for (i = 0; i < argc; i++)
			global_parse_log_level(argv[i], &lv);
		break;
	}
	return 0;
}
