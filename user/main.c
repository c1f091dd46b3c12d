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
		"Usage: vbridge COMMAND [OPTIONS]\n"
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
		"'vbridge COMMAND --help' explains each command.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("vbridge %s\n", VBRIDGE_VERSION);
		return EXIT_OK;
	}
	for (i = 0; cmds[i].name; i++) {
		if (!strcmp(argv[1], cmds[i].name)) {
			char prefix[64];

			snprintf(prefix, sizeof(prefix), "vbridge %s", cmds[i].name);
			log_set_prefix(strdup(prefix));
			return cmds[i].main(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "vbridge: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
