// SPDX-License-Identifier: GPL-2.0
/* vbridge ctl status / events / set: reports and overrides. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/subcmd.h"
#include "lib/log.h"
#include "lib/opt.h"

static void status_usage(FILE *f)
{
	fprintf(f,
		"Usage: vbridge ctl status [-v]\n"
		"\n"
		"The attached VMs (state, generation, VMM pid) and the declared devices\n"
		"(backend, state, counters; with -v their node's owner and mode and who\n"
		"may attach their VM).  Device states: open (a provider has the\n"
		"backend node open), ready, running (its VM runs), stopping (VMSTOP not\n"
		"yet acknowledged), broken (a request was lost; cleared by a device reset).\n"
		"\n"
		"  -v, --verbose  also windows, interrupt lines and effective parameters\n");
}

int ctl_cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_dev *devs = NULL;
	struct ctl_vm *vms = NULL;
	bool verbose = false;
	struct ctl_nl c;
	int opt, nd, nv, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			verbose = true;
			break;
		case 'h':
			status_usage(stdout);
			return EXIT_OK;
		default:
			status_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		log_error("status: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	ret = ctl_open(&c);
	if (ret)
		return ret;
	nv = ctl_nl_vm_dump(&c, &vms);
	nd = nv < 0 ? 0 : ctl_nl_dev_dump(&c, &devs);
	ctl_nl_close(&c);
	if (nv < 0 || nd < 0) {
		log_error("reading the module's state: %s", strerror(-(nv < 0 ? nv : nd)));
		free(vms);
		return EXIT_FAIL;
	}
	ctl_print_status(stdout, vms, nv, devs, nd, verbose);
	free(vms);
	free(devs);
	return EXIT_OK;
}

static void events_usage(FILE *f)
{
	fprintf(f,
		"Usage: vbridge ctl events [-c N]\n"
		"\n"
		"Follow the module's \"events\" multicast group and print one line per\n"
		"event, e.g. 'vmstop vm=3 generation=7', until interrupted (SIGINT or\n"
		"SIGTERM end it with status 0).  Lost events are reported on standard\n"
		"error.\n"
		"\n"
		"  -c, --count N  stop after N events\n");
}

static volatile sig_atomic_t events_stop;

static void events_signal(int sig)
{
	events_stop = 1;
}

struct events_state {
	unsigned long seen, count;
};

static int events_print(const struct ctl_event *e, void *arg)
{
	struct events_state *s = arg;
	char line[256];

	ctl_format_event(e, line, sizeof(line));
	printf("%s\n", line);
	fflush(stdout);
	return s->count && ++s->seen >= s->count;
}

int ctl_cmd_events(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = events_signal };
	struct events_state s = { 0 };
	sigset_t stop, waiting;
	struct ctl_nl c;
	uint64_t n;
	int opt, ret;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (opt_parse_u64(optarg, 1UL << 31, &n) || !n) {
				log_error("events: --count wants a positive number, not '%s'", optarg);
				return EXIT_USAGE;
			}
			s.count = n;
			break;
		case 'h':
			events_usage(stdout);
			return EXIT_OK;
		default:
			events_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		log_error("events: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	ret = ctl_open(&c);
	if (ret)
		return ret;
	ret = ctl_nl_subscribe(&c);
	if (ret) {
		log_error("cannot join the '%s' group: %s", VBRIDGE_GENL_MCGRP_EVENTS,
			  strerror(-ret));
		ctl_nl_close(&c);
		return EXIT_FAIL;
	}
	/*
	 * No SA_RESTART, and the stop signals blocked except inside the wait:
	 * one that came while an event was being read or printed would
	 * otherwise set the flag just after it was checked, and the next wait
	 * would never end.
	 */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, &waiting);
	while (!events_stop) {
		ret = ctl_nl_events(&c, -1, &waiting, events_print, &s);
		if (ret == -ENOBUFS) {
			log_warn("events were lost (the reader was too slow)");
			continue;
		}
		if (ret == -EINTR)
			continue;
		break;
	}
	ctl_nl_close(&c);
	if (ret < 0 && ret != -EINTR) {
		log_error("reading events: %s", strerror(-ret));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static void set_usage(FILE *f)
{
	fprintf(f,
		"Usage: vbridge ctl set DEVICE SETTING...\n"
		"       vbridge ctl set vmN vmm_uid=UID|none [vmm_gid=GID|none]\n"
		"\n"
		"Override module parameters for one device (see 'vbridge ctl status -v'):\n"
		"\n"
		"  retry_timeout_ms=N   backend not ready: <0 wait, 0 fail at once,\n"
		"                       >0 wait up to N ms\n"
		"  vmstop_timeout=S     seconds to wait for the VMSTOP acknowledgement\n"
		"  vmstop_autoack=yes|no  acknowledge on the device's behalf after it\n"
		"  inflight_timeout_ms=N  a load the provider read and has not answered\n"
		"                       fails after N ms, and the device is broken\n"
		"                       (0: wait for the answer)\n"
		"  clear                back to the module parameters (applied first)\n"
		"\n"
		"Or say who may attach VM N (run its VMM), as vl,vmm-uid and vl,vmm-gid\n"
		"of an overlay do; numeric ids, 'none' removes one:\n"
		"\n"
		"  vmm_uid=UID|none     this user may attach vmN\n"
		"  vmm_gid=GID|none     members of this group may attach vmN\n"
		"\n"
		"Without either, only a process with CAP_SYS_ADMIN may attach it; the\n"
		"VM running now keeps running (vmm-uid=, vmm-gid= work too).\n");
}

int ctl_cmd_set(int argc, char **argv)
{
	char name[VBRIDGE_NAME_MAX], err[256];
	struct ctl_override o;
	struct ctl_nl c;
	uint32_t vmid;
	int ret;

	if (ctl_wants_help(argc, argv)) {
		set_usage(stdout);
		return EXIT_OK;
	}
	if (argc < 3) {
		log_error("set: give a DEVICE and at least one SETTING");
		set_usage(stderr);
		return EXIT_USAGE;
	}
	if (ctl_parse_set(argc - 2, argv + 2, &o, err, sizeof(err))) {
		log_error("set: %s", err);
		return EXIT_USAGE;
	}
	if (o.vm_set) {
		if (ctl_parse_vmref(argv[1], &vmid, err, sizeof(err))) {
			log_error("set: %s", err);
			return EXIT_USAGE;
		}
		ret = ctl_open(&c);
		if (ret)
			return ret;
		ret = ctl_nl_vm_set(&c, vmid, &o);
		if (ret) {
			log_error("setting the owner of vm%u: %s%s%s%s", vmid, strerror(-ret),
				  c.ext_msg[0] ? ": " : "", c.ext_msg,
				  ret == -EPERM ? " (needs CAP_NET_ADMIN: run as root)" : "");
			ret = EXIT_FAIL;
		} else {
			printf("set vm%u\n", vmid);
		}
		ctl_nl_close(&c);
		return ret;
	}
	ret = ctl_open(&c);
	if (ret)
		return ret;
	ret = ctl_resolve(&c, argv[1], &vmid, name);
	if (!ret) {
		int e = ctl_nl_dev_set(&c, vmid, name, &o);

		ret = e ? ctl_report(&c, e, "setting", vmid, name) : EXIT_OK;
		if (!e)
			printf("set vm%u/%s\n", vmid, name);
	}
	ctl_nl_close(&c);
	return ret;
}
