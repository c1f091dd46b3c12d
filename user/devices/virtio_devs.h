/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Constructors of the virtio devices, for device_set.c and the unit tests.
 *
 * Each returns a device initialised on the virtio-pci transport but not on
 * a bus (pci_bus_add(&vd->func) puts it there; pci_func_free(&vd->func)
 * frees it otherwise), or NULL after printing one message that says what
 * failed, on which path, and what to do about it.
 */
#ifndef VBRIDGE_VIRTIO_DEVS_H
#define VBRIDGE_VIRTIO_DEVS_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtio_pci.h"

/* virtio-rng: entropy from getrandom(2). */
struct virtio_dev *rng_new(void);

/*
 * virtio-console (one port, no multiport): the guest's output goes to
 * out_fd (-1: discarded), in_fd (-1: none) feeds the guest's input.  A
 * terminal on in_fd is put in raw mode (signals still work) until the
 * device is freed.  close_fds: the device closes both when freed.
 */
struct console_cfg {
	int in_fd;
	int out_fd;
	bool close_fds;
};
struct virtio_dev *console_new(const struct console_cfg *c);
/* Output bytes dropped because out_fd was not read fast enough. */
uint64_t console_out_dropped(struct virtio_dev *vd);
/* Wait until the output is written (or idle_ms without progress): 0 or -ETIMEDOUT. */
int console_out_flush(struct virtio_dev *vd, unsigned int idle_ms);

/*
 * virtio-blk on a raw image (a file or a block device).  serial: up to 20
 * bytes for VIRTIO_BLK_T_GET_ID (NULL: none).  direct: O_DIRECT.
 */
struct blk_cfg {
	const char *path;
	bool readonly;
	bool direct;
	const char *serial;
	unsigned int block_size;	/* logical block size offered, 0: 512
					 * (or what O_DIRECT needs) */
	unsigned int num_queues;	/* request queues (1..64), 0 = 1 */
	unsigned int workers;	/* I/O worker threads without io_uring,
				 * 0 = default */
	bool inline_io;		/* no workers: every request is served on
				 * the I/O thread, in ring order (fuzzing) */
};
struct virtio_dev *blk_new(const struct blk_cfg *c);

/*
 * virtio-net on a tap opened with IFF_VNET_HDR: tap names an existing
 * interface or the name for a new one ("vbridge%d" when NULL); with
 * host_ip set the tap gets that address and netmask and is brought up
 * (SIOCSIFADDR, SIOCSIFFLAGS).  fd >= 0 instead uses that packet socket (one frame with
 * its 12-byte virtio_net_hdr per datagram, as a tap delivers them): for
 * tests.  mac: the guest's MAC (VIRTIO_NET_F_MAC) when has_mac.
 * queue_pairs > 1: that many receive/transmit queue pairs
 * (VIRTIO_NET_F_MQ, with a control queue) on a multi-queue tap, one tap
 * queue per pair; with fd >= 0, more_fds gives the other pairs' sockets.
 * A device that was created closes the fds it was given when freed.
 */
#define NET_PAIRS_MAX	16
struct net_cfg {
	const char *tap;
	bool has_ip;
	uint32_t host_ip;	/* network byte order */
	uint32_t netmask;	/* network byte order */
	bool has_mac;
	uint8_t mac[6];
	int fd;
	unsigned int queue_pairs;	/* 0: 1; at most NET_PAIRS_MAX */
	const int *more_fds;	/* with fd >= 0: pairs 1 .. queue_pairs - 1 */
};
struct virtio_dev *net_new(const struct net_cfg *c);
/*
 * Received frames the device dropped: rx_oversize, longer than the
 * largest frame it takes (NET_MAX_FRAME); rx_no_room, needing more
 * receive buffers than the driver's ring can hold at once.  rx_bounced:
 * frames copied through the device's bounce buffer because they did not
 * fit their first receive buffer (the others are read straight into
 * guest memory).
 */
struct net_stats {
	uint64_t rx_oversize;
	uint64_t rx_no_room;
	uint64_t rx_bounced;
};
void net_get_stats(struct virtio_dev *vd, struct net_stats *st);

/*
 * Open a tap with IFF_VNET_HDR (tap.c), n queues (IFF_MULTI_QUEUE when
 * n > 1) into fds[0 .. n).  name: in: wanted, out: actual.  Returns 0, or
 * -1 with a message printed.
 */
int tap_open(char name[16], int *fds, unsigned int n);
/* Give the tap an IPv4 address and bring it up (the interface ioctls). */
int tap_configure(const char *name, uint32_t ip, uint32_t netmask);

/*
 * What virtio-input tells the driver about the device: taken from an evdev
 * node by input_info_from_evdev(), or made up by a test.
 */
struct input_absinfo_le {
	int32_t min, max, fuzz, flat, res;
};
struct input_info {
	char name[128];
	char serial[128];
	uint16_t bustype, vendor, product, version;
	uint8_t prop[128];		/* INPUT_PROP_* bitmap */
	uint8_t ev[32][128];		/* per EV_* type: code bitmap */
	struct input_absinfo_le abs[64];
};
int input_info_from_evdev(int fd, struct input_info *info);

/*
 * virtio-input passthrough: events read from fd (struct input_event) go to
 * the event queue; the status queue's events are written back to fd.
 * path: for messages.  The device closes fd when freed.
 */
struct virtio_dev *input_new(int fd, const char *path,
			     const struct input_info *info);
/* Open an evdev node, read its description, grab it, make the device. */
struct virtio_dev *input_new_evdev(const char *path);

/*
 * virtio-vsock with guest CID cid, bridged to Unix sockets: guest connects
 * to host port P reach "<uds>_P"; host programs connect to "<uds>" and
 * send "CONNECT <port>\n" to reach guest port <port>.
 */
struct virtio_dev *vsock_new(uint64_t cid, const char *uds);
/*
 * The connections' buffers (256 KiB each, made while a host program does
 * not keep up) may take at most 32 MiB in all; a connection that would
 * pass that is reset and counted (vsock_buf_refused()).  Tests lower the
 * limit, before the device starts.
 */
void vsock_set_buf_limit(struct virtio_dev *vd, size_t bytes);
uint64_t vsock_buf_refused(struct virtio_dev *vd);

#endif
