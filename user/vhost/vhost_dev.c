// SPDX-License-Identifier: GPL-2.0
/*
 * A virtio-pci device served by a vhost-user back-end: see vhost_dev.h.
 */
#include "vhost/vhost_dev.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "lib/log.h"
#include "pci/pci_func.h"
#include "vhost/vhost_user.h"
#include "virtio/virtio_pci.h"

#define VHOST_DEV_QUEUE_SIZE	256

/*
 * The back-end's feature bits the guest may see: the device type's own
 * (0-23), the ring features the back-end implements (indirect
 * descriptors, event index, in-order), VERSION_1 and ORDER_PLATFORM.  Not
 * F_PROTOCOL_FEATURES (vhost-user's own), nor what this transport does not
 * do: packed rings, notification data, queue reset, an IOMMU.
 */
#define VHOST_DEV_GUEST_FEATURES					\
	(((1ull << 24) - 1) |						\
	 1ull << VIRTIO_RING_F_INDIRECT_DESC |				\
	 1ull << VIRTIO_RING_F_EVENT_IDX |				\
	 1ull << VIRTIO_F_VERSION_1 |					\
	 1ull << VIRTIO_F_IN_ORDER |					\
	 1ull << VIRTIO_F_ORDER_PLATFORM)

/*
 * How much of the virtio-blk configuration to ask for: all of it, then
 * up to the secure-erase fields (what QEMU 7.2's qemu-storage-daemon has),
 * then up to num_queues (what every back-end has).  A back-end refuses a size
 * larger than its own.
 */
static const unsigned int blk_config_sizes[] = {
	sizeof(struct virtio_blk_config),
	offsetof(struct virtio_blk_config, max_secure_erase_sectors),
	offsetof(struct virtio_blk_config, num_queues) + sizeof(__le16),
};

/**
 * struct vhost_dev - a device whose queues a vhost-user back-end serves
 * @vd: transport (first member)
 * @lock: the connection: every request on @vu, and @started
 * @vu: the connection to the back-end (@lock)
 * @socket: the back-end's socket path
 * @type: what the device is
 * @features: what the back-end offered (creation, then read-only)
 * @started: queue i was handed to the back-end and not stopped (@lock)
 * @call: the queues' call eventfds, which the back-end writes
 * @call_src: @call in the I/O loop
 * @hup_src: the connection in the I/O loop, for its closing only
 * @gone: the back-end closed the connection or broke the protocol
 *	(atomic)
 */
struct vhost_dev {
	struct virtio_dev vd;
	pthread_mutex_t lock;
	struct vhost_user vu;
	char *socket;
	enum vhost_dev_type type;
	uint64_t features;
	bool started[VHOST_DEV_MAX_QUEUES];
	int call[VHOST_DEV_MAX_QUEUES];
	struct vloop_src call_src[VHOST_DEV_MAX_QUEUES];
	struct vloop_src hup_src;
	bool gone;
};

static const char *const type_names[] = {
	[VHOST_DEV_BLOCK] = "block",
	[VHOST_DEV_FS] = "fs",
};

const char *vhost_dev_type_name(enum vhost_dev_type type)
{
	return (unsigned int)type < sizeof(type_names) / sizeof(type_names[0]) ?
	       type_names[type] : NULL;
}

int vhost_dev_type_parse(const char *name, enum vhost_dev_type *type)
{
	if (!strcmp(name, "block") || !strcmp(name, "blk")) {
		*type = VHOST_DEV_BLOCK;
		return 0;
	}
	if (!strcmp(name, "fs")) {
		*type = VHOST_DEV_FS;
		return 0;
	}
	return -EINVAL;
}

static struct vhost_dev *to_vh(struct virtio_dev *vd)
{
	return (struct vhost_dev *)vd;
}

/*
 * A request failed: the connection is unusable when the back-end went
 * away or broke the protocol, and then so is the device.
 */
static int vh_check(struct vhost_dev *vh, int ret)
{
	if (ret == -EPIPE || ret == -EPROTO || ret == -ETIMEDOUT ||
	    vh->vu.broken || vh->vu.disconnected)
		__atomic_store_n(&vh->gone, true, __ATOMIC_RELEASE);
	return ret;
}

static bool vh_gone(struct vhost_dev *vh)
{
	return __atomic_load_n(&vh->gone, __ATOMIC_ACQUIRE);
}

/* I/O thread: the back-end used buffers of queue q. */
static void call_cb(struct vloop_src *src, uint32_t events)
{
	struct vhost_dev *vh = src->arg;
	unsigned int q = src - vh->call_src;
	uint64_t v;

	if (read(src->fd, &v, sizeof(v)) < 0)
		return;
	if (virtio_dev_running(&vh->vd))
		virtio_dev_raise(&vh->vd, q);
}

/* I/O thread: the back-end closed the connection. */
static void hup_cb(struct vloop_src *src, uint32_t events)
{
	struct vhost_dev *vh = src->arg;

	vloop_del(virtio_dev_loop(&vh->vd), src);
	__atomic_store_n(&vh->gone, true, __ATOMIC_RELEASE);
	if (virtio_dev_running(&vh->vd))
		virtio_dev_fail_host(&vh->vd, "the vhost-user back-end at '%s' closed the connection",
				     vh->socket);
	else
		log_warn("%s: the vhost-user back-end at '%s' closed the connection; the device fails when the driver starts it",
			 vh->vd.info.name, vh->socket);
}

/* Called with vh->lock: guest RAM, as the back-end must map it. */
static int send_mem_table(struct vhost_dev *vh)
{
	struct pci_host *h = pci_func_host(&vh->vd.func);
	struct vhost_user_region r[VHOST_USER_MAX_REGIONS];
	unsigned int i;

	if (!h || !h->mem)
		return -EINVAL;
	if (h->mem->nr > VHOST_USER_MAX_REGIONS) {
		log_error("%s: guest RAM has %u regions, more than the %d a vhost-user back-end takes",
			  vh->vd.info.name, h->mem->nr, VHOST_USER_MAX_REGIONS);
		return -E2BIG;
	}
	for (i = 0; i < h->mem->nr; i++) {
		const struct guest_mem_region *g = &h->mem->region[i];

		if (!g->has_fd) {
			log_error("%s: guest RAM at 0x%llx is not in a file a vhost-user back-end could map",
				  vh->vd.info.name, (unsigned long long)g->gpa);
			return -EINVAL;
		}
		r[i] = (struct vhost_user_region){
			.guest_addr = g->gpa,
			.size = g->size,
			.user_addr = (uintptr_t)g->hva,
			.mmap_offset = g->fd_offset,
			.fd = g->fd,
		};
	}
	return vh_check(vh, vhost_user_set_mem_table(&vh->vu, r, h->mem->nr));
}

/*
 * Called with vh->lock: hand queue q to the back-end.  Its rings are
 * valid guest memory (the transport checked them when the driver enabled
 * the queue).  The back-end goes on from the used index the ring holds: 0
 * for a ring the driver just set up.
 */
static int start_queue(struct vhost_dev *vh, unsigned int q)
{
	struct virtio_dev *vd = &vh->vd;
	struct virtio_queue *vq = &vd->queues[q];
	struct pci_host *h = pci_func_host(&vd->func);
	struct vhost_user_vring_addr addr = { .index = q };
	void *desc, *avail, *used;
	uint16_t used_idx;
	int ret;

	desc = guest_mem_ptr(h->mem, vq->desc, 16ull * vq->size);
	avail = guest_mem_ptr(h->mem, vq->driver, 6 + 2ull * vq->size);
	used = guest_mem_ptr(h->mem, vq->device, 6 + 8ull * vq->size);
	if (!desc || !avail || !used)
		return -EFAULT;
	addr.desc = (uintptr_t)desc;
	addr.avail = (uintptr_t)avail;
	addr.used = (uintptr_t)used;
	memcpy(&used_idx, (uint8_t *)used + 2, sizeof(used_idx));
	ret = vhost_user_set_vring_num(&vh->vu, q, vq->size);
	if (!ret)
		ret = vhost_user_set_vring_base(&vh->vu, q, le16toh(used_idx));
	if (!ret)
		ret = vhost_user_set_vring_addr(&vh->vu, &addr);
	if (!ret)
		ret = vhost_user_set_vring_kick(&vh->vu, q, virtio_dev_kick_fd(vd, q));
	if (!ret)
		ret = vhost_user_set_vring_call(&vh->vu, q, vh->call[q]);
	if (!ret && (vh->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
		ret = vhost_user_set_vring_enable(&vh->vu, q, true);
	if (!ret)
		vh->started[q] = true;
	return vh_check(vh, ret);
}

/* Parked, under the transport's lock: the driver set DRIVER_OK. */
static int vh_start(struct virtio_dev *vd)
{
	struct vhost_dev *vh = to_vh(vd);
	uint64_t f = vd->guest_features;
	unsigned int i;
	int ret;

	pthread_mutex_lock(&vh->lock);
	if (vh_gone(vh)) {
		log_error("%s: the vhost-user back-end at '%s' is gone; restart it and the VM",
			  vd->info.name, vh->socket);
		ret = -ENOTCONN;
		goto out;
	}
	f |= vh->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	ret = vh_check(vh, vhost_user_set_features(&vh->vu, f));
	if (!ret)
		ret = send_mem_table(vh);
	for (i = 0; !ret && i < vd->info.num_queues; i++)
		if (vd->queues[i].enabled)
			ret = start_queue(vh, i);
out:
	pthread_mutex_unlock(&vh->lock);
	return ret;
}

/*
 * Parked: stop every queue handed to the back-end.  Its GET_VRING_BASE
 * reply says the ring is stopped; a back-end that does not answer in time
 * is given up (the device fails at its next start).
 */
static void vh_quiesce(struct virtio_dev *vd)
{
	struct vhost_dev *vh = to_vh(vd);
	unsigned int i, base;

	pthread_mutex_lock(&vh->lock);
	for (i = 0; i < vd->info.num_queues; i++) {
		if (!vh->started[i])
			continue;
		vh->started[i] = false;
		if (!vh_gone(vh))
			vh_check(vh, vhost_user_get_vring_base(&vh->vu, i, &base));
	}
	pthread_mutex_unlock(&vh->lock);
}

/* Called with cfg_lock: the driver wrote the configuration (block: wce). */
static void vh_config_write(struct virtio_dev *vd, unsigned int off,
			    unsigned int len, const uint8_t *data)
{
	struct vhost_dev *vh = to_vh(vd);

	if (!(vh->vu.protocol_features & (1ull << VHOST_USER_PROTOCOL_F_CONFIG)))
		return;
	pthread_mutex_lock(&vh->lock);
	if (!vh_gone(vh) &&
	    !vh_check(vh, vhost_user_set_config(&vh->vu, off, data, len)))
		memcpy(vd->config + off, data, len);
	pthread_mutex_unlock(&vh->lock);
}

static void vh_release(struct vhost_dev *vh)
{
	unsigned int i;

	vhost_user_close(&vh->vu);
	for (i = 0; i < VHOST_DEV_MAX_QUEUES; i++)
		if (vh->call[i] >= 0)
			close(vh->call[i]);
	pthread_mutex_destroy(&vh->lock);
	free(vh->socket);
	free(vh);
}

static void vh_free(struct virtio_dev *vd)
{
	vh_release(to_vh(vd));
}

static const struct virtio_dev_ops vhost_dev_ops = {
	.start = vh_start,
	.quiesce = vh_quiesce,
	.config_write = vh_config_write,
	.free = vh_free,
};

/* Protocol features and ownership; the back-end's queue count in *nq. */
static int vh_handshake(struct vhost_dev *vh, uint64_t *nq)
{
	uint64_t pf = 0;
	int ret;

	*nq = 1;
	ret = vhost_user_get_features(&vh->vu, &vh->features);
	if (ret)
		return ret;
	if (!(vh->features & (1ull << VIRTIO_F_VERSION_1))) {
		log_error("vhost-user back-end at '%s' does not offer VIRTIO_F_VERSION_1 (features 0x%llx); a legacy-only back-end cannot serve a virtio-pci modern device",
			  vh->socket, (unsigned long long)vh->features);
		return -EPROTO;
	}
	if (vh->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) {
		ret = vhost_user_get_protocol_features(&vh->vu, &pf);
		if (!ret)
			ret = vhost_user_set_protocol_features(&vh->vu,
					pf & VHOST_USER_PROTOCOL_SUPPORTED);
		if (ret)
			return ret;
	}
	ret = vhost_user_set_owner(&vh->vu);
	if (!ret && (vh->vu.protocol_features & (1ull << VHOST_USER_PROTOCOL_F_MQ)))
		ret = vhost_user_get_queue_num(&vh->vu, nq);
	return ret;
}

/* The block device's configuration, as the back-end has it. */
static int blk_config(struct vhost_dev *vh, struct virtio_blk_config *cfg,
		      unsigned int *len)
{
	unsigned int i;
	int ret = -EIO;

	if (!(vh->vu.protocol_features & (1ull << VHOST_USER_PROTOCOL_F_CONFIG))) {
		log_error("vhost-user back-end at '%s' does not give its configuration (no VHOST_USER_PROTOCOL_F_CONFIG), which a block device needs",
			  vh->socket);
		return -EPROTO;
	}
	for (i = 0; i < sizeof(blk_config_sizes) / sizeof(blk_config_sizes[0]); i++) {
		*len = blk_config_sizes[i];
		ret = vhost_user_get_config(&vh->vu, 0, cfg, *len);
		if (ret != -EIO)
			break;
	}
	return ret;
}

struct virtio_dev *vhost_dev_new(const struct vhost_dev_spec *spec)
{
	struct virtio_dev_info info = {
		.queue_size = VHOST_DEV_QUEUE_SIZE,
		.external = true,
	};
	union {
		struct virtio_blk_config blk;
		struct virtio_fs_config fs;
	} cfg;
	unsigned int i, cfg_len = 0, want = spec->num_queues;
	struct vhost_dev *vh;
	uint64_t nq = 1;
	int ret;

	memset(&cfg, 0, sizeof(cfg));
	if (want > VHOST_DEV_MAX_QUEUES)
		want = VHOST_DEV_MAX_QUEUES;
	vh = calloc(1, sizeof(*vh));
	if (!vh) {
		log_error("vhost-user: out of memory");
		return NULL;
	}
	for (i = 0; i < VHOST_DEV_MAX_QUEUES; i++)
		vh->call[i] = -1;
	pthread_mutex_init(&vh->lock, NULL);
	vh->type = spec->type;
	vh->socket = strdup(spec->socket);
	if (!vh->socket)
		goto fail;
	/* Failures here are reported below, with what to do about them. */
	vh->vu.quiet = true;
	if (vhost_user_connect(&vh->vu, spec->socket)) {
		log_error("vhost-user %s: no back-end listens on '%s' (%s); start it first, e.g. qemu-storage-daemon --export type=vhost-user-blk,addr.type=unix,addr.path=%s,... or virtiofsd --socket-path=%s",
			  vhost_dev_type_name(spec->type), spec->socket,
			  vh->vu.err, spec->socket, spec->socket);
		goto fail;
	}
	if (vh_handshake(vh, &nq))
		goto fail_proto;
	if (!nq || nq > VHOST_DEV_MAX_QUEUES)
		nq = nq ? VHOST_DEV_MAX_QUEUES : 1;

	switch (spec->type) {
	case VHOST_DEV_BLOCK:
		info.name = "vhost-user-blk";
		info.device_id = VIRTIO_ID_BLOCK;
		info.pci_class = 0x018000;	/* mass storage, other */
		if (blk_config(vh, &cfg.blk, &cfg_len))
			goto fail_proto;
		if (want && want < nq)
			nq = want;
		if (!(vh->features & (1ull << VIRTIO_BLK_F_MQ)))
			nq = 1;
		cfg.blk.num_queues = htole16(nq);
		break;
	case VHOST_DEV_FS:
		info.name = "vhost-user-fs";
		info.device_id = VIRTIO_ID_FS;
		info.pci_class = 0x018000;
		/* hiprio, then the request queues */
		if (nq < 2)
			nq = 2;
		if (want && want + 1 < nq)
			nq = want + 1;
		if (!spec->tag || !*spec->tag ||
		    strlen(spec->tag) > VHOST_DEV_TAG_MAX) {
			log_error("vhost-user fs: tag= must name the file system in 1 to %d bytes",
				  VHOST_DEV_TAG_MAX);
			goto fail;
		}
		memcpy(cfg.fs.tag, spec->tag, strlen(spec->tag));
		cfg.fs.num_request_queues = htole32(nq - 1);
		cfg_len = sizeof(cfg.fs);
		break;
	default:
		log_error("vhost-user: unknown device type %d", spec->type);
		goto fail;
	}
	info.num_queues = nq;
	info.config_size = cfg_len;
	info.features = vh->features & VHOST_DEV_GUEST_FEATURES;
	for (i = 0; i < nq; i++) {
		vh->call[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vh->call[i] < 0) {
			log_errno("%s: eventfd", info.name);
			goto fail;
		}
	}
	ret = virtio_dev_init(&vh->vd, &vhost_dev_ops, &info);
	if (ret) {
		log_error("%s: cannot create the device: %s", info.name,
			  strerror(-ret));
		goto fail;
	}
	memcpy(vh->vd.config, &cfg, cfg_len);
	for (i = 0; i < nq; i++) {
		vh->call_src[i] = (struct vloop_src){
			.fd = vh->call[i], .fn = call_cb, .arg = vh,
		};
		if (vloop_add(virtio_dev_loop(&vh->vd), &vh->call_src[i], EPOLLIN))
			goto fail_dev;
	}
	vh->hup_src = (struct vloop_src){
		.fd = vh->vu.fd, .fn = hup_cb, .arg = vh,
	};
	if (vloop_add(virtio_dev_loop(&vh->vd), &vh->hup_src, EPOLLRDHUP))
		goto fail_dev;
	vh->vu.quiet = false;
	log_info("%s: %llu queue%s served by the vhost-user back-end at '%s'",
		 info.name, (unsigned long long)nq, nq == 1 ? "" : "s",
		 vh->socket);
	return &vh->vd;

fail_dev:
	log_error("%s: cannot watch the back-end's eventfds", info.name);
	pci_func_free(&vh->vd.func);
	return NULL;
fail_proto:
	log_error("vhost-user %s: the back-end at '%s' cannot serve the device (%s)",
		  vhost_dev_type_name(spec->type), spec->socket, vh->vu.err);
fail:
	vh_release(vh);
	return NULL;
}
