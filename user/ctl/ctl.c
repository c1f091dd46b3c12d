// SPDX-License-Identifier: GPL-2.0
/*
 * vbridge ctl: control of the virtio_bridge module.  Dispatch, help, and
 * the pieces every subcommand shares (opening the family, reporting the
 * module's refusals, resolving device names).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ctl/subcmd.h"
#include "lib/log.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} ctl_cmds[] = {
	{ "load", ctl_cmd_load, "declare the devices of device-tree overlays" },
	{ "unload", ctl_cmd_unload, "remove devices, by overlay or by name" },
	{ "status", ctl_cmd_status, "VMs and devices: states and counters" },
	{ "events", ctl_cmd_events, "print the module's events until interrupted" },
	{ "set", ctl_cmd_set, "per-device overrides of the module parameters" },
};

static void ctl_usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: vbridge ctl COMMAND [ARGS]\n"
		"\n"
		"Control of the virtio_bridge kernel module over generic netlink: declare\n"
		"bridged devices from device-tree overlays, report VMs and devices, follow\n"
		"events, and override module parameters per device.\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", ctl_cmds[i].name, ctl_cmds[i].summary);
	fprintf(f,
		"\n"
		"DEVICE arguments are vmN/NAME (as in /dev/virtio/vmN/NAME), the node path\n"
		"itself, or a NAME that only one VM uses.  Changes need CAP_NET_ADMIN.\n"
		"'vbridge ctl COMMAND --help' explains each command.\n"
		"\n"
		"Exit status: 0 done, 1 failed (module not loaded, change refused),\n"
		"2 bad usage or a malformed overlay.\n");
}

int ctl_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	}
	return 0;
}

int ctl_open(struct ctl_nl *c)
{
	int ret = ctl_nl_open(c);

	if (!ret)
		return 0;
	if (ret == -ENOENT)
		log_error("the virtio_bridge module is not loaded (generic netlink family '%s' not found); load it with insmod virtio_bridge.ko",
			  VBRIDGE_GENL_NAME);
	else
		log_error("cannot talk to the virtio_bridge module: %s", strerror(-ret));
	return EXIT_FAIL;
}

int ctl_report(struct ctl_nl *c, int err, const char *what, uint32_t vmid, const char *name)
{
	const char *hint = "";

	switch (err) {
	case -EPERM:
		hint = " (changing devices needs CAP_NET_ADMIN: run as root)";
		break;
	case -EEXIST:
		hint = " (already declared: 'vbridge ctl unload' it first, or another device of that VM uses these addresses)";
		break;
	case -ENOENT:
		hint = " (no such device: see 'vbridge ctl status')";
		break;
	case -EBUSY:
		hint = " (in use)";
		break;
	}
	log_error("%s vm%u/%s: %s%s%s%s", what, vmid, name, strerror(-err),
		  c->ext_msg[0] ? ": " : "", c->ext_msg, hint);
	return EXIT_FAIL;
}

int ctl_resolve(struct ctl_nl *c, const char *arg, uint32_t *vmid, char *name)
{
	struct ctl_devref r;
	struct ctl_dev *d = NULL;
	char err[256];
	int n, i, found = -1, matches = 0;

	if (ctl_parse_devref(arg, &r, err, sizeof(err))) {
		log_error("%s", err);
		return EXIT_USAGE;
	}
	strcpy(name, r.name);
	if (!r.any_vm) {
		*vmid = r.vmid;
		return 0;
	}
	n = ctl_nl_dev_dump(c, &d);
	if (n < 0) {
		log_error("listing devices: %s", strerror(-n));
		return EXIT_FAIL;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(d[i].name, r.name))
			continue;
		if (!matches++)
			found = i;
	}
	if (matches == 1)
		*vmid = d[found].vmid;
	free(d);
	if (matches == 1)
		return 0;
	if (!matches) {
		log_error("no device called '%s' (see 'vbridge ctl status')", r.name);
		return EXIT_FAIL;
	}
	log_error("'%s' names a device in %d VMs: say which, as vmN/%s", r.name, matches, r.name);
	return EXIT_USAGE;
}

int cmd_ctl(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		ctl_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		ctl_usage(stdout);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		if (!strcmp(argv[1], ctl_cmds[i].name))
			return ctl_cmds[i].fn(argc - 1, argv + 1);
	log_error("unknown command '%s' (see 'vbridge ctl --help')", argv[1]);
	return EXIT_USAGE;
}
