/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A virtio-pci device whose queues an external vhost-user back-end serves
 * (qemu-storage-daemon's vhost-user-blk export, virtiofsd): the transport
 * (user/virtio/virtio_pci.c) is ours, the rings are the back-end's.
 *
 * Data path: no request passes through this process.  The back-end maps
 * guest memory from the file descriptors of SET_MEM_TABLE (the VMM's RAM
 * memfd, or a device provider's backend node, so that a VMSTOP's
 * revocation reaches the back-end too), reads the queues' kick eventfds
 * (the doorbells the host installs write them directly) and writes a call
 * eventfd per queue.  While the queue's MSI-X vector is enabled and
 * unmasked, and the host binds MSI messages to eventfds (a KVM irqfd: the
 * VMM in-process, the module and the VMM for a provider started with
 * --msi), that eventfd is the message's own, so the call is the interrupt
 * with no thread of ours in the path; SET_VRING_CALL switches it whenever
 * the driver changes the vector, its entry or MSI-X itself.  Otherwise
 * (INTx, a masked vector) it is this device's, and its I/O thread raises
 * the queue's interrupt.
 *
 * Control path, in order:
 *   creation   connect, GET_FEATURES, protocol features (MQ, REPLY_ACK,
 *              CONFIG, INFLIGHT_SHMFD), SET_OWNER, GET_QUEUE_NUM,
 *              GET_CONFIG (block) or the configuration built here (fs:
 *              tag and request queues)
 *   DRIVER_OK  SET_FEATURES (the driver's), SET_MEM_TABLE, with
 *              INFLIGHT_SHMFD GET_INFLIGHT_FD (once per driver reset: the
 *              region is kept) and SET_INFLIGHT_FD, then for each enabled
 *              queue SET_VRING_NUM/BASE/ADDR/KICK/CALL and SET_VRING_ENABLE
 *   reset,     GET_VRING_BASE of every started queue: the back-end stops
 *   VMSTOP     them and touches no ring of this guest any more; a driver's
 *              reset also drops the inflight region
 *
 * The back-end is another, untrusted process: every reply is checked
 * (user/vhost/vhost_user.h) and waited for at most 5 s.  When a reply is
 * malformed or late, the device fails: the driver sees DEVICE_NEEDS_RESET.
 * Its next start (after the driver's reset, or a new VM's in a provider)
 * connects to the socket anew, and fails again while nothing listens
 * there: a restarted back-end serves the device again from a reset, as
 * nothing of the lost connection is in force then.
 *
 * Reconnection: when the back-end closes the connection and INFLIGHT_SHMFD
 * was negotiated (the back-end kept its unfinished requests in the region
 * this device holds), the device does not fail: its I/O thread tries to
 * connect to the same socket every 100 ms for up to reconnect= seconds;
 * the new back-end gets the same handshake (its features and protocol
 * features must include the ones in force), then SET_FEATURES,
 * SET_MEM_TABLE, SET_INFLIGHT_FD with the kept region and every started
 * queue as DRIVER_OK handed it over (from the used index in the ring),
 * and each queue's kick eventfd is written once.  The back-end finishes
 * what the region says was in flight and goes on with the rings; the
 * guest sees only a delay.  Without INFLIGHT_SHMFD, with reconnect=0, or
 * when no back-end answers in time, the device fails as above.  What is
 * not resumed: a configuration write made while the back-end was gone
 * (the driver sees the old value) and a back-end's own state outside the
 * rings and the region.
 *
 * Locks: vhost_dev.lock (the connection) is taken inside the transport's
 * virtio_dev.lock and virtio_dev.cfg_lock, and takes nothing itself.  The
 * reconnection runs in the I/O thread's callbacks (so never at the same
 * time as the parked start and quiesce), takes vhost_dev.lock only while
 * it talks to a connected back-end, and sleeps in the loop, holding
 * nothing.
 */
#ifndef VBRIDGE_VHOST_VHOST_DEV_H
#define VBRIDGE_VHOST_VHOST_DEV_H

#include <stdbool.h>
#include <stdint.h>

struct virtio_dev;

enum vhost_dev_type {
	VHOST_DEV_BLOCK,	/* virtio-blk: the back-end's configuration */
	VHOST_DEV_FS,		/* virtio-fs: tag= names the file system */
};

#define VHOST_DEV_TAG_MAX	36	/* virtio_fs_config.tag */
#define VHOST_DEV_MAX_QUEUES	64
/* reconnect=: --vhost-user's default, and the most it takes (seconds). */
#define VHOST_DEV_RECONNECT_DEFAULT	10
#define VHOST_DEV_RECONNECT_MAX		3600

/**
 * struct vhost_dev_spec - what --vhost-user asked for
 * @type: the device type
 * @socket: the back-end's listening Unix socket
 * @tag: VHOST_DEV_FS: the file system's tag, 1..36 bytes
 * @num_queues: request queues wanted (0: as many as the back-end serves,
 *	up to VHOST_DEV_MAX_QUEUES)
 * @reconnect: how many seconds a back-end that closed the connection has
 *	to come back (0: none, the device fails at once)
 */
struct vhost_dev_spec {
	enum vhost_dev_type type;
	const char *socket;
	const char *tag;
	unsigned int num_queues;
	unsigned int reconnect;
};

/* "block", "fs"; NULL for a type this build does not know. */
const char *vhost_dev_type_name(enum vhost_dev_type type);
/* "block" or "blk", "fs": 0 and *type, or -EINVAL. */
int vhost_dev_type_parse(const char *name, enum vhost_dev_type *type);

/*
 * Connect to the back-end and make the device.  NULL with one message
 * logged (which socket, what failed, what to do) when the back-end is not
 * there or cannot serve such a device.
 */
struct virtio_dev *vhost_dev_new(const struct vhost_dev_spec *spec);

/*
 * Calls of the back-end that went through vbridge's I/O thread: all of
 * them under INTx or a masked vector, none while the host takes the
 * queue's MSI-X message as an eventfd (pci_host_ops.msi_fd_get), which the
 * back-end then writes itself.
 */
uint64_t vhost_dev_relayed(struct virtio_dev *vd);

#endif
