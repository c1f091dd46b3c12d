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
 * eventfd per queue, which this device's I/O thread turns into the
 * queue's interrupt (INTx or its MSI-X vector).
 *
 * Control path, in order:
 *   creation   connect, GET_FEATURES, protocol features (MQ, REPLY_ACK,
 *              CONFIG), SET_OWNER, GET_QUEUE_NUM, GET_CONFIG (block) or the
 *              configuration built here (fs: tag and request queues)
 *   DRIVER_OK  SET_FEATURES (the driver's), SET_MEM_TABLE, then for each
 *              enabled queue SET_VRING_NUM/BASE/ADDR/KICK/CALL and
 *              SET_VRING_ENABLE
 *   reset,     GET_VRING_BASE of every started queue: the back-end stops
 *   VMSTOP     them and touches no ring of this guest any more
 *
 * The back-end is another, untrusted process: every reply is checked
 * (user/vhost/vhost_user.h) and waited for at most 5 s.  When it closes the
 * connection, or a reply is malformed or late, the device fails: the
 * driver sees DEVICE_NEEDS_RESET, and every later start fails until a new
 * back-end is given (no reconnection yet).
 *
 * Locks: vhost_dev.lock (the connection) is taken inside the transport's
 * virtio_dev.lock and virtio_dev.cfg_lock, and takes nothing itself.
 */
#ifndef VBRIDGE_VHOST_VHOST_DEV_H
#define VBRIDGE_VHOST_VHOST_DEV_H

#include <stdbool.h>

struct virtio_dev;

enum vhost_dev_type {
	VHOST_DEV_BLOCK,	/* virtio-blk: the back-end's configuration */
	VHOST_DEV_FS,		/* virtio-fs: tag= names the file system */
};

#define VHOST_DEV_TAG_MAX	36	/* virtio_fs_config.tag */
#define VHOST_DEV_MAX_QUEUES	64

/**
 * struct vhost_dev_spec - what --vhost-user asked for
 * @type: the device type
 * @socket: the back-end's listening Unix socket
 * @tag: VHOST_DEV_FS: the file system's tag, 1..36 bytes
 * @num_queues: request queues wanted (0: as many as the back-end serves,
 *	up to VHOST_DEV_MAX_QUEUES)
 */
struct vhost_dev_spec {
	enum vhost_dev_type type;
	const char *socket;
	const char *tag;
	unsigned int num_queues;
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

#endif
