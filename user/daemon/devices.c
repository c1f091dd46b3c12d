// SPDX-License-Identifier: GPL-2.0
/*
 * vbridge devices: the device provider.  Serves one bridged device node as
 * a PCI host bridge whose functions are the virtio devices named on the
 * command line, using the same device model as `vbridge run`.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/backend.h"
#include "cmd.h"
#include "devices/devices.h"
#include "lib/log.h"
#include "lib/opt.h"

enum {
	OPT_NODE = 0x100,
	OPT_NO_ACK,
	OPT_STALE_READ,
	OPT_MSI,
	OPT_NO_MSI,
	OPT_MSI_INIT,
	OPT_STATE_DIR,
	OPT_PCI_CONFIG,
	OPT_PCI_FIRST_SLOT,
	OPT_POLL_US,
};

static const struct option devices_own_options[] = {
	{ "pci-bus-devfd", required_argument, NULL, OPT_NODE },
	{ "test-no-ack", no_argument, NULL, OPT_NO_ACK },
	{ "test-stale-read", no_argument, NULL, OPT_STALE_READ },
	{ "msi", no_argument, NULL, OPT_MSI },
	{ "no-msi", no_argument, NULL, OPT_NO_MSI },
	{ "test-msi-init", no_argument, NULL, OPT_MSI_INIT },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "pci-config", required_argument, NULL, OPT_PCI_CONFIG },
	{ "pci-first-slot", required_argument, NULL, OPT_PCI_FIRST_SLOT },
	{ "poll-us", required_argument, NULL, OPT_POLL_US },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
};

static volatile bool devices_stop;

static void devices_on_signal(int sig)
{
	devices_stop = true;
}

static void devices_usage(FILE *f)
{
	fprintf(f,
		"Usage: vbridge devices --pci-bus-devfd=NODE [DEVICE OPTIONS]\n"
		"\n"
		"Serve the bridged device NODE (/dev/virtio/vm<N>/<name>, created when\n"
		"the device is declared with `vbridge ctl load`) as a PCI host bridge\n"
		"whose functions are the virtio devices given below.  Guest RAM is\n"
		"mapped through NODE while the VM runs; on VMSTOP every queue stops and\n"
		"the mapping goes before the stop is acknowledged.\n"
		"\n"
		"Started again after a crash (or a stop) while its VM runs, it takes\n"
		"the devices over as the guest left them, from the state saved with\n"
		"the module and the in-flight records in the state directory: the\n"
		"guest keeps running.  The requests it made before complete once:\n"
		"done, when its accesses waited for the provider (the node's\n"
		"retry_timeout_ms is -1, or the provider was back within it), else\n"
		"with an error (virtio-blk: VIRTIO_BLK_S_IOERR, nothing written).\n"
		"\n"
		"Options:\n"
		"  --pci-bus-devfd=NODE  the backend node to serve (required)\n"
		"  --state-dir=DIR       where the in-flight records of NODE go\n"
		"                        (default $VBRIDGE_STATE_DIR, else /run/vbridge)\n"
		"  --pci-config=ecam|cam how the guest's PCI host node decodes the\n"
		"                        config window: ecam (pci-host-ecam-generic,\n"
		"                        4 KiB per function; the default) or cam\n"
		"                        (pci-host-cam-generic, 256 bytes per function)\n"
		"  --pci-first-slot=N    put the functions in slots N, N+1, ... (default\n"
		"                        0): the slot whose interrupt-map entry is the\n"
		"                        device's first interrupt line (1 for the\n"
		"                        configuration guide's node)\n"
		"  --no-msi              INTx lines only: the functions offer no MSI-X\n"
		"                        (by default they do, and each message goes to\n"
		"                        the guest through an eventfd the VMM binds to\n"
		"                        it: no process in the path, no ISR read; a\n"
		"                        guest without an MSI controller uses INTx)\n"
		"  --msi                 the default, accepted for older command lines\n"
		"  --poll-us=US          polling mode: both sides of a forwarded access,\n"
		"                        this provider waiting for a request and the\n"
		"                        guest's vCPU thread waiting for the reply to\n"
		"                        a load, spin up to US microseconds before they\n"
		"                        sleep (at most the module's poll_max_us, 1000\n"
		"                        by default): no sleep and no wake-up while the\n"
		"                        other side answers in time, each keeping its\n"
		"                        CPU busy meanwhile (default 0: off)\n"
		"  --test-no-ack         never acknowledge VMSTOP (for testing the\n"
		"                        module's timeout and auto-ack)\n"
		"  --test-stale-read     as --test-no-ack, and keep the stopped VM's\n"
		"                        RAM mapped, then read it when the next VM\n"
		"                        starts: the module revoked it, so the\n"
		"                        daemon dies of SIGBUS (for testing)\n"
		"  --test-msi-init       as --msi, and send every MSI also with the x86\n"
		"                        INIT delivery mode, as a hostile provider\n"
		"                        would: the VMM refuses it and the guest runs\n"
		"                        on (for testing)\n"
		"  -v, --verbose         more messages\n"
		"  -h, --help            this text\n"
		"\n"
		"Device options:\n%s"
		"\n"
		"Example (the configuration guide's cvm2rb):\n"
		"  vbridge devices --pci-bus-devfd=/dev/virtio/vm3/cvm2rb-pci --cid=3 \\\n"
		"      --serial=hardware=virtio-console,num=1,type=file,path=/var/log/vm3.log \\\n"
		"      --rwdisk=/var/lib/vm3/disk.img --host_ip 192.168.3.1 \\\n"
		"      --netmask 255.255.255.0 --mac 52:54:00:00:03:02\n"
		"\n"
		"Exit status: 0 when stopped by SIGINT/SIGTERM, 1 when serving failed,\n"
		"2 for bad options or unusable files.\n",
		device_set_usage());
}

/* getopt_long table: our options followed by the device set's. */
static struct option *devices_options(void)
{
	size_t own = sizeof(devices_own_options) / sizeof(devices_own_options[0]);
	size_t dev = 0;
	struct option *all;

	while (device_set_long_options[dev].name)
		dev++;
	all = calloc(own + dev + 1, sizeof(*all));
	if (!all)
		return NULL;
	memcpy(all, devices_own_options, sizeof(devices_own_options));
	memcpy(all + own, device_set_long_options, dev * sizeof(*all));
	return all;
}

int cmd_devices(int argc, char **argv)
{
	struct bridge_be_opts opts = { .msi = true };
	struct sigaction sa = { .sa_handler = devices_on_signal };
	struct device_set *devs;
	struct bridge_be *be = NULL;
	struct pci_bus *bus = NULL;
	const struct serial_spec *uarts;
	struct option *options;
	uint64_t slot, poll_us;
	int opt, ret, status = EXIT_USAGE;

	devs = device_set_new();
	options = devices_options();
	if (!devs || !options)
		log_die(EXIT_FAIL, "out of memory");

	if (opt_check_names(argc, argv, "vh", options, NULL, NULL,
			    "vbridge devices"))
		goto out;
	while ((opt = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		switch (opt) {
		case OPT_NODE:
			opts.node = optarg;
			break;
		case OPT_NO_ACK:
			opts.no_ack = true;
			break;
		case OPT_STALE_READ:
			opts.stale_read = true;
			break;
		case OPT_MSI:
			opts.msi = true;
			break;
		case OPT_NO_MSI:
			opts.msi = false;
			break;
		case OPT_MSI_INIT:
			opts.msi = opts.msi_init = true;
			break;
		case OPT_STATE_DIR:
			if (!*optarg) {
				log_error("--state-dir needs a directory");
				goto out;
			}
			opts.state_dir = optarg;
			break;
		case OPT_PCI_CONFIG:
			if (!strcmp(optarg, "cam")) {
				opts.cfg_layout = PCI_CFG_CAM;
			} else if (!strcmp(optarg, "ecam")) {
				opts.cfg_layout = PCI_CFG_ECAM;
			} else {
				log_error("--pci-config=%s: give ecam (pci-host-ecam-generic) or cam (pci-host-cam-generic)",
					  optarg);
				goto out;
			}
			break;
		case OPT_PCI_FIRST_SLOT:
			if (opt_parse_u64(optarg, 31, &slot)) {
				log_error("--pci-first-slot=%s: give a slot number, 0..31",
					  optarg);
				goto out;
			}
			opts.first_slot = slot;
			break;
		case OPT_POLL_US:
			if (opt_parse_u64(optarg, 10000, &poll_us)) {
				log_error("--poll-us=%s: give microseconds, 0..10000", optarg);
				goto out;
			}
			opts.poll_us = poll_us;
			break;
		case 'v':
			log_set_verbose(log_verbose() + 1);
			break;
		case 'h':
			devices_usage(stdout);
			status = EXIT_OK;
			goto out;
		default:
			ret = device_set_parse(devs, opt, optarg);
			if (ret > 0)
				break;
			if (ret == 0)
				fprintf(stderr, "Try 'vbridge devices --help'.\n");
			goto out;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!opts.node) {
		log_error("no node to serve: give --pci-bus-devfd=/dev/virtio/vm<N>/<name>");
		goto out;
	}
	if (device_set_uarts(devs, &uarts)) {
		log_error("--serial hardware=serial is a UART of the VMM; a bridged device can serve hardware=virtio-console");
		goto out;
	}

	ret = bridge_be_open(&be, &opts);
	if (ret) {
		/* Served by someone else is a runtime state, not bad input. */
		if (ret == -EBUSY)
			status = EXIT_FAIL;
		goto out;
	}
	bus = pci_bus_new(bridge_be_host(be));
	if (!bus)
		log_die(EXIT_FAIL, "out of memory");
	if (device_set_realize(devs, bus, PCI_DEVFN(opts.first_slot, 0)))
		goto out;
	if (bridge_be_check_layout(be, bus))
		goto out;

	status = EXIT_FAIL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (device_set_start(devs))
		goto out;
	log_info("serving %s (vmid %u, %u windows, %u interrupt lines)", opts.node,
		 bridge_be_info(be)->vmid, bridge_be_info(be)->nr_windows,
		 bridge_be_info(be)->nr_irqs);
	ret = bridge_be_serve(be, bus, devs, &devices_stop);
	device_set_stop(devs);
	if (!ret) {
		log_info("stopped");
		status = EXIT_OK;
	}
out:
	if (bus)
		pci_bus_free(bus);	/* frees the functions first */
	device_set_free(devs);
	bridge_be_close(be);
	free(options);
	return status;
}
