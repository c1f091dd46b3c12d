/* SPDX-License-Identifier: GPL-2.0 */
/* Options of `vbridge run` (user/vmm/run.c), split out for the unit tests. */
#ifndef VBRIDGE_VMM_RUN_H
#define VBRIDGE_VMM_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/opt.h"

#define RUN_DEFAULT_MEM		(512ULL << 20)
#define RUN_DEFAULT_CPUS	1
#define RUN_DEFAULT_SHUTDOWN_TIMEOUT	5	/* s */
#define RUN_MAX_SHUTDOWN_TIMEOUT	3600	/* s */

/**
 * struct run_config - what the command line asked for.
 * @kernel: kernel path (bzImage, arm64 Image; --kernel or the last
 *	argument), or NULL with @bios
 * @bios: firmware path (--bios, arm64), or NULL
 * @initrd: initrd path or NULL
 * @params: extra kernel parameters (every --params, space-separated), or
 *	NULL; owned
 * @cpus: vCPUs
 * @mem: guest RAM in bytes
 * @verbose: -v count
 * @help: --help was given (nothing else is checked)
 * @devs: the device options (--serial, --rwdisk, ...); owned
 * @serial_given: at least one --serial (no default ttyS0 then)
 * @bridge: --vmid was given: attach to the virtio bridge
 * @vmid: the vmid (--vmid)
 * @bridge_node: the bridge's frontend node (--bridge-node), or NULL
 * @pci_host_dt: the bridged PCI host's guest node (--pci-host-dt), or NULL
 * @shutdown_timeout: seconds the guest has to power off after SIGINT,
 *	SIGTERM or SIGHUP pressed its power button (--shutdown-timeout);
 *	0: stop it at once
 */
struct run_config {
	const char *kernel;
	const char *bios;
	const char *initrd;
	char *params;
	unsigned int cpus;
	uint64_t mem;
	int verbose;
	bool help;
	struct device_set *devs;
	bool serial_given;
	bool bridge;
	uint32_t vmid;
	const char *bridge_node;
	const char *pci_host_dt;
	unsigned int shutdown_timeout;
};

/*
 * Parse argv (argv[0] is "run").  Returns 0, or EXIT_USAGE after printing
 * one line saying what is wrong.  Free with run_config_free() either way.
 */
int run_parse(int argc, char **argv, struct run_config *cfg);
void run_config_free(struct run_config *cfg);

/* Parse a --mem value: "512M", "2G", or a bare number of MiB. */
int run_parse_mem(const char *s, uint64_t *bytes);

/* crosvm's options that vbridge run refuses, by name (crosvm_opts.c). */
extern const struct opt_foreign run_crosvm_options[];

#endif
