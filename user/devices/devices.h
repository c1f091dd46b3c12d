/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The set of virtio devices a command line asks for, shared by
 * `vbridge run` (in-process devices) and `vbridge devices` (served over the
 * bridge): the same options, the same device model.
 *
 * Device options (crosvm style, as in the configuration guide):
 *   --serial hardware=virtio-console|serial,type=stdout|file|sink,
 *            num=N,path=P[,console][,stdin]
 *   --rwdisk PATH[,serial=ID][,direct]     --disk PATH[,...] (read-only)
 *   --host_ip A --netmask M --mac X        virtio-net on a tap created and
 *   --tap NAME                             configured here, or an existing tap;
 *                                          ,queue_pairs=N (crosvm: vq_pairs=)
 *                                          after A or NAME: N queue pairs on a
 *                                          multi-queue tap
 *   --rng                                  virtio-rng
 *   --evdev /dev/input/eventN              virtio-input passthrough
 *   --cid N[,uds=PATH]                     virtio-vsock with guest CID N,
 *                                          host side on Unix sockets PATH
 *                                          and PATH_<port>
 *   --vhost-user TYPE,socket=PATH[,tag=T]  a device an external vhost-user
 *                                          back-end serves (block, fs)
 *
 * Lifetime: parse all options, realize onto a bus, start; stop before
 * freeing.  The daemon also pauses (VMSTOP) and resets (VMSTART).
 */
#ifndef VBRIDGE_DEVICES_H
#define VBRIDGE_DEVICES_H

#include <getopt.h>
#include <stdbool.h>

#include "pci/pci.h"

struct device_set;

/* Where a `--serial hardware=serial` line goes (the VMM's 16550 UARTs). */
struct serial_spec {
	unsigned int num;	/* 1 = ttyS0 / hvc0, ... */
	enum { SERIAL_STDOUT, SERIAL_FILE, SERIAL_SINK } type;
	const char *path;	/* SERIAL_FILE */
	bool console;		/* the guest console (console=...) */
	bool stdin;		/* feeds standard input to the guest */
};

struct device_set *device_set_new(void);
void device_set_free(struct device_set *s);

/*
 * Request queues of a disk without num_queues=: DEVICE_SET_DEFAULT_QUEUES
 * unless the host knows better (vbridge run: one per vCPU, at most 64).
 * The device provider does not know the guest's vCPUs; the guest's driver
 * uses min(vCPUs, queues), so a surplus queue only costs an idle ring.
 */
#define DEVICE_SET_DEFAULT_QUEUES	4
void device_set_default_queues(struct device_set *s, unsigned int n);

/*
 * getopt_long table entries for the device options (terminated by a zero
 * entry), with .val values >= 0x1000 so they do not collide with the
 * caller's own.
 */
extern const struct option device_set_long_options[];
/* Help text for the device options, for --help. */
const char *device_set_usage(void);

/*
 * Handle an option returned by getopt_long: returns 1 when it was a device
 * option and was valid, 0 when it is not a device option, -1 when it was
 * invalid (one clear message printed).
 */
int device_set_parse(struct device_set *s, int opt, const char *arg);

/* Serial lines the host must emulate as 16550 UARTs (hardware=serial). */
unsigned int device_set_uarts(const struct device_set *s,
			      const struct serial_spec **specs);
/* The kernel console argument the options imply ("hvc0", "ttyS0"), or NULL. */
const char *device_set_console(const struct device_set *s);

/*
 * The directory of the default vsock socket (--cid N without uds=):
 * $VBRIDGE_STATE_DIR (the systemd unit's runtime directory), else
 * /run/vbridge for root, else $XDG_RUNTIME_DIR/vbridge.  Never /tmp: a
 * unit's PrivateTmp= would hide it from host programs.  Returns 0,
 * -ENOENT when none applies, -ENAMETOOLONG.
 */
int vsock_default_dir(char *buf, size_t len);
/*
 * The default socket path DIR/vbridge-vsock-CID.sock; creates DIR (one
 * level, 0755) when it does not exist.  Returns 0 or -errno, with a
 * message printed.
 */
int vsock_default_uds(char *buf, size_t len, uint64_t cid);

/*
 * Create the PCI functions and put them on bus from devfn first_devfn on,
 * one slot each.  Opens files, taps, evdev nodes.  Returns 0, or -1 with
 * a message printed (what, which path, and what to do about it).
 */
int device_set_realize(struct device_set *s, struct pci_bus *bus,
		       unsigned int first_devfn);

/* Start / stop the devices' I/O threads. */
int device_set_start(struct device_set *s);
void device_set_stop(struct device_set *s);

/*
 * For the device daemon.  pause: stop every queue and wait until no I/O
 * into guest memory is in flight (after it returns guest memory may be
 * unmapped).  reset: back to the power-on state (for a new guest).
 */
void device_set_pause(struct device_set *s);
void device_set_reset(struct device_set *s);

/*
 * The realized devices in slot order, *n of them (entries become NULL
 * once the bus freed them): for a host that saves and restores their
 * state (user/virtio/vstate.h).
 */
struct virtio_dev;
struct virtio_dev *const *device_set_devices(const struct device_set *s,
					     unsigned int *n);

#endif
