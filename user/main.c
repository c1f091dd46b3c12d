// SPDX-License-Identifier: GPL-2.0
/*
 * vbridge: one binary, three jobs.
 *
 *   vbridge run      the KVM VMM (user/vmm/)
 *   vbridge devices  the device provider daemon (user/daemon/)
 *   vbridge ctl      control of the kernel module (user/ctl/)
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "lib/global.h"
#include "lib/log.h"

struct cmd {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *summary;
};

/* Subcommands; each lands with its implementation. NULL-terminated. */
static const struct cmd cmds[] = {
	{ "run", cmd_run, "boot a Linux guest on KVM (the VMM)" },
	{ "devices", cmd_devices, "serve a bridged device's virtio functions (device provider)" },
	{ "ctl", cmd_ctl, "control: load DT overlays, status, events, overrides" },
	{ NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: vbridge [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
		"\n"
		"virtio-bridge: virtio devices for KVM guests, served in the VMM or\n"
		"by a separate device provider through the virtio_bridge module.\n"
		"\n"
		"Commands:\n");
	for (i = 0; cmds[i].name; i++)
		fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f,
		"  help      this text\n"
		"  version   print the version\n"
		"\n"
		"%s"
		"\n"
		"'vbridge COMMAND --help' explains each command.\n",
		global_usage());
}

int main(int argc, char **argv)
{
	const char *cmd;
	size_t i;
	int c;

	c = global_parse(argc, argv, &global_opts);
	if (c < 0)
		return EXIT_USAGE;
	log_set_verbose(global_opts.log_level);
	if (c >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[c];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") ||
	    !strcmp(cmd, "-h")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("vbridge %s\n", VBRIDGE_VERSION);
		return EXIT_OK;
	}
	for (i = 0; cmds[i].name; i++) {
		if (!strcmp(cmd, cmds[i].name)) {
			char prefix[64];

			snprintf(prefix, sizeof(prefix), "vbridge %s", cmds[i].name);
			log_set_prefix(strdup(prefix));
			return cmds[i].main(argc - c, argv + c);
		}
	}
	if (cmd[0] == '-')
		fprintf(stderr, "vbridge: unknown global option '%s'\n\n", cmd);
	else
		fprintf(stderr, "vbridge: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
