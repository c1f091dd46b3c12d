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
#include <sys/timerfd.h>
#include <time.h>
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
#define VHOST_DEV_RC_PERIOD_MS	100	/* between two reconnection attempts */
/* A reply during a reconnection: the I/O thread waits for it. */
#define VHOST_DEV_RC_TIMEOUT_MS	1000

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

/* A queue's rings as the driver set them when it was started. */
struct vhost_ring {
	uint16_t size;
	uint64_t desc, avail, used;
};

/*
 * The host's eventfd for a queue's MSI-X message (pci_host_ops.msi_fd_get),
 * which the back-end then writes itself: fd -1 while it writes ours.
 */
struct vhost_direct {
	int fd;
	uint64_t addr;
	uint32_t data;
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
 * @ring: where started queue i's rings are (@lock)
 * @call: the queues' call eventfds, which the back-end writes unless
 *	@direct says otherwise; the I/O thread raises the queue's interrupt
 * @call_src: @call in the I/O loop
 * @direct: started queue i's call fd is the host's eventfd for its MSI-X
 *	message, so the back-end's calls reach the guest without us
 *	(@lock)
 * @relayed: calls that went through @call (atomic; for tests and logs)
 * @hup_src: the connection in the I/O loop, for its closing only
 * @gone: the back-end closed the connection or broke the protocol
 *	(atomic)
 * @inflight: the inflight region GET_INFLIGHT_FD described (@lock)
 * @inflight_fd: its fd, from the first DRIVER_OK to the driver's next
 *	reset; -1 none (@lock)
 * @reconnect_ms: how long a back-end that closed the connection has to
 *	come back; 0 none
 * @rc_src: while reconnecting, a timerfd in the I/O loop; fd -1 otherwise
 *	(I/O thread)
 * @rc_start: when the back-end went away (ms, I/O thread)
 */
struct vhost_dev {
	struct virtio_dev vd;
	pthread_mutex_t lock;
	struct vhost_user vu;
	char *socket;
	enum vhost_dev_type type;
	uint64_t features;
	bool started[VHOST_DEV_MAX_QUEUES];
	struct vhost_ring ring[VHOST_DEV_MAX_QUEUES];
	int call[VHOST_DEV_MAX_QUEUES];
	struct vloop_src call_src[VHOST_DEV_MAX_QUEUES];
	struct vhost_direct direct[VHOST_DEV_MAX_QUEUES];
	uint64_t relayed;
	struct vloop_src hup_src;
	bool gone;
	struct vhost_user_inflight inflight;
	int inflight_fd;
	unsigned int reconnect_ms;
	struct vloop_src rc_src;
	int64_t rc_start;
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
	__atomic_fetch_add(&vh->relayed, 1, __ATOMIC_RELAXED);
	if (virtio_dev_running(&vh->vd))
		virtio_dev_raise(&vh->vd, q);
}

/* Queue q's call fd as the back-end should have it now. */
static int vh_call_fd(const struct vhost_dev *vh, unsigned int q)
{
	return vh->direct[q].fd >= 0 ? vh->direct[q].fd : vh->call[q];
}

static void vh_direct_put(struct vhost_dev *vh, struct vhost_direct *d)
{
	struct pci_host *h = pci_func_host(&vh->vd.func);

	if (d->fd >= 0 && h && h->ops->msi_fd_put)
		h->ops->msi_fd_put(h, &vh->vd.func, d->addr, d->data);
	d->fd = -1;
}

/*
 * Called with vh->lock: make queue q's call fd the one that fits how the
 * driver has its interrupt now, and with send tell a started queue's
 * back-end (else start_queue() gives it).  While the queue's MSI-X
 * vector is enabled and unmasked, and the host binds messages to eventfds,
 * the back-end writes the message's own eventfd: its calls reach the
 * guest with no thread of ours in the path.  Otherwise (INTx, the vector
 * masked, no vector) it writes ours, and the I/O thread raises the
 * interrupt, which the transport holds pending while it is masked.  A
 * call the back-end makes while the guest masks the vector, before the
 * back-end has the new fd, still reaches the guest: a spurious interrupt
 * to a driver, which a masked vector's is not supposed to be, but which
 * no driver minds (QEMU's vhost has the same window).
 */
static void vh_route_call(struct vhost_dev *vh, unsigned int q, bool send)
{
	struct virtio_dev *vd = &vh->vd;
	struct pci_host *h = pci_func_host(&vd->func);
	struct vhost_direct *cur = &vh->direct[q];
	struct vhost_direct want = { .fd = -1 };

	if (h && h->ops->msi_fd_get &&
	    virtio_dev_queue_msi(vd, q, &want.addr, &want.data)) {
		if (cur->fd >= 0 && cur->addr == want.addr &&
		    cur->data == want.data)
			return;
		want.fd = h->ops->msi_fd_get(h, &vd->func, want.addr, want.data);
		if (want.fd < 0)
			log_debug("%s: queue %u: no eventfd for MSI 0x%llx/0x%x (%s); its calls go through vbridge",
				  vd->info.name, q, (unsigned long long)want.addr,
				  want.data, strerror(-want.fd));
	}
	if (want.fd < 0 && cur->fd < 0)
		return;
	if (send && vh_check(vh, vhost_user_set_vring_call(&vh->vu, q,
			want.fd >= 0 ? want.fd : vh->call[q]))) {
		vh_direct_put(vh, &want);
		return;
	}
	log_debug("%s: queue %u: the back-end's calls go %s", vd->info.name,
		  q, want.fd >= 0 ? "straight to the guest" : "through vbridge");
	vh_direct_put(vh, cur);
	*cur = want;
}

/* Called with vh->lock, once a start handed the queues over: say where calls go. */
static void vh_log_calls(struct vhost_dev *vh)
{
	unsigned int q, direct = 0, started = 0;

	for (q = 0; q < vh->vd.info.num_queues; q++) {
		started += vh->started[q];
		direct += vh->started[q] && vh->direct[q].fd >= 0;
	}
	if (!direct)
		log_info("%s: the back-end's calls go through vbridge (%u queue%s; INTx or masked vectors)",
			 vh->vd.info.name, started, started == 1 ? "" : "s");
	else
		log_info("%s: the back-end's calls of %u of its %u queue%s go straight to the guest (MSI-X)",
			 vh->vd.info.name, direct, started,
			 started == 1 ? "" : "s");
}

/* Called with vh->lock: vh_route_call() for every started queue. */
static void vh_route_calls(struct vhost_dev *vh)
{
	unsigned int q;

	for (q = 0; q < vh->vd.info.num_queues; q++)
		if (vh->started[q] && !vh_gone(vh))
			vh_route_call(vh, q, true);
}

static int64_t vh_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The back-end keeps its unfinished requests in a region we hold. */
static bool vh_has_inflight(const struct vhost_dev *vh)
{
	return vh->vu.protocol_features &
	       (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD);
}

/* I/O thread: the back-end is gone for good ("closed the connection"). */
static void vh_lost(struct vhost_dev *vh, const char *why)
{
	if (virtio_dev_running(&vh->vd))
		virtio_dev_fail_host(&vh->vd, "the vhost-user back-end at '%s' %s",
				     vh->socket, why);
	else
		log_warn("%s: the vhost-user back-end at '%s' %s; the device fails when the driver starts it",
			 vh->vd.info.name, vh->socket, why);
}

static int vh_reconnect(struct vhost_dev *vh);
static int vh_connect_anew(struct vhost_dev *vh);

/* I/O thread: stop the reconnection attempts. */
static void rc_stop(struct vhost_dev *vh)
{
	if (vh->rc_src.fd < 0)
		return;
	vloop_del(virtio_dev_loop(&vh->vd), &vh->rc_src);
	close(vh->rc_src.fd);
	vh->rc_src.fd = -1;
}

/*
 * I/O thread, every VHOST_DEV_RC_PERIOD_MS while the back-end is gone:
 * one attempt; the device fails when time is up or a back-end came that
 * cannot take over.
 */
static void rc_cb(struct vloop_src *src, uint32_t events)
{
	struct vhost_dev *vh = src->arg;
	int64_t waited;
	uint64_t ticks;
	int ret;

	if (read(src->fd, &ticks, sizeof(ticks)) < 0)
		return;
	ret = vh_reconnect(vh);
	waited = vh_now_ms() - vh->rc_start;
	if (ret == -EAGAIN && waited < vh->reconnect_ms)
		return;
	rc_stop(vh);
	if (!ret) {
		log_info("%s: reconnected to the vhost-user back-end at '%s' after %lld ms",
			 vh->vd.info.name, vh->socket, (long long)waited);
		return;
	}
	if (ret == -EAGAIN)
		log_error("%s: the vhost-user back-end at '%s' did not come back within %u s",
			  vh->vd.info.name, vh->socket, vh->reconnect_ms / 1000);
	vh_lost(vh, ret == -EAGAIN ? "closed the connection and did not come back" :
		"came back but could not take over the device");
}

/* I/O thread: start trying to reach the back-end again.  0 or -errno. */
static int rc_begin(struct vhost_dev *vh)
{
	struct itimerspec its = {
		.it_interval = { 0, VHOST_DEV_RC_PERIOD_MS * 1000000L },
		.it_value = { 0, VHOST_DEV_RC_PERIOD_MS * 1000000L },
	};
	int fd, ret;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0 || timerfd_settime(fd, 0, &its, NULL)) {
		ret = -errno;
		log_errno("%s: reconnection timer", vh->vd.info.name);
		if (fd >= 0)
			close(fd);
		return ret;
	}
	vh->rc_src = (struct vloop_src){ .fd = fd, .fn = rc_cb, .arg = vh };
	ret = vloop_add(virtio_dev_loop(&vh->vd), &vh->rc_src, EPOLLIN);
	if (ret) {
		close(fd);
		vh->rc_src.fd = -1;
		return ret;
	}
	vh->rc_start = vh_now_ms();
	return 0;
}

/*
 * I/O thread: the back-end closed the connection.  With the inflight
 * region it can be resumed: try to reconnect; without, the device fails.
 */
static void hup_cb(struct vloop_src *src, uint32_t events)
{
	struct vhost_dev *vh = src->arg;

	vloop_del(virtio_dev_loop(&vh->vd), src);
	__atomic_store_n(&vh->gone, true, __ATOMIC_RELEASE);
	if (vh->reconnect_ms && vh_has_inflight(vh) && vh->rc_src.fd < 0 &&
	    !rc_begin(vh)) {
		log_warn("%s: the vhost-user back-end at '%s' closed the connection; reconnecting for up to %u s",
			 vh->vd.info.name, vh->socket, vh->reconnect_ms / 1000);
		return;
	}
	vh_lost(vh, "closed the connection");
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
 * Called with vh->lock: hand queue q, whose rings are vh->ring[q], to the
 * back-end.  They are valid guest memory (the transport checked them when
 * the driver enabled the queue).  The back-end goes on from the used index
 * the ring holds: 0 for a ring the driver just set up, where the last
 * back-end stopped after a reconnection.
 */
static int start_queue(struct vhost_dev *vh, unsigned int q)
{
	struct virtio_dev *vd = &vh->vd;
	const struct vhost_ring *vq = &vh->ring[q];
	struct pci_host *h = pci_func_host(&vd->func);
	struct vhost_user_vring_addr addr = { .index = q };
	void *desc, *avail, *used;
	uint16_t used_idx;
	int ret;

	desc = guest_mem_ptr(h->mem, vq->desc, 16ull * vq->size);
	avail = guest_mem_ptr(h->mem, vq->avail, 6 + 2ull * vq->size);
	used = guest_mem_ptr(h->mem, vq->used, 6 + 8ull * vq->size);
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
		ret = vhost_user_set_vring_call(&vh->vu, q, vh_call_fd(vh, q));
	if (!ret && (vh->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
		ret = vhost_user_set_vring_enable(&vh->vu, q, true);
	if (!ret)
		vh->started[q] = true;
	return vh_check(vh, ret);
}

/*
 * Called with vh->lock: the inflight region to the back-end, asked for at
 * the first start after the driver's reset and kept until the next.
 */
static int set_inflight(struct vhost_dev *vh)
{
	struct virtio_dev *vd = &vh->vd;
	int ret = 0;

	if (vh->inflight_fd < 0)
		ret = vh_check(vh, vhost_user_get_inflight_fd(&vh->vu,
				vd->info.num_queues, vd->info.queue_size,
				&vh->inflight, &vh->inflight_fd));
	if (!ret)
		ret = vh_check(vh, vhost_user_set_inflight_fd(&vh->vu,
				&vh->inflight, vh->inflight_fd));
	return ret;
}

/* Parked, under the transport's lock: the driver set DRIVER_OK. */
static int vh_start(struct virtio_dev *vd)
{
	struct vhost_dev *vh = to_vh(vd);
	uint64_t f = vd->guest_features;
	unsigned int i;
	int ret;

	pthread_mutex_lock(&vh->lock);
	/*
	 * A back-end lost before the driver's last reset left nothing in
	 * force: one that listens on the socket again (restarted, without
	 * an inflight region to resume from) serves this start.  Not while
	 * the I/O thread's reconnection is under way: that one resumes.
	 */
	if (vh_gone(vh) && vh->rc_src.fd < 0)
		vh_connect_anew(vh);
	if (vh_gone(vh)) {
		log_error("%s: the vhost-user back-end at '%s' is gone; restart it, then the driver (or the VM)",
			  vd->info.name, vh->socket);
		ret = -ENOTCONN;
		goto out;
	}
	f |= vh->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	ret = vh_check(vh, vhost_user_set_features(&vh->vu, f));
	if (!ret)
		ret = send_mem_table(vh);
	if (!ret && vh_has_inflight(vh))
		ret = set_inflight(vh);
	for (i = 0; !ret && i < vd->info.num_queues; i++) {
		const struct virtio_queue *vq = &vd->queues[i];

		if (!vq->enabled)
			continue;
		vh->ring[i] = (struct vhost_ring){
			.size = vq->size, .desc = vq->desc,
			.avail = vq->driver, .used = vq->device,
		};
		vh_route_call(vh, i, false);
		ret = start_queue(vh, i);
	}
	if (!ret)
		vh_log_calls(vh);
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
	/*
	 * Stopped (or gone): no back-end writes a call fd any more.  Every
	 * queue's, a start that failed half-way may have taken one.
	 */
	for (i = 0; i < VHOST_DEV_MAX_QUEUES; i++)
		vh_direct_put(vh, &vh->direct[i]);
	pthread_mutex_unlock(&vh->lock);
}

/* The driver changed a queue's vector or the vector table. */
static void vh_vectors_changed(struct virtio_dev *vd)
{
	struct vhost_dev *vh = to_vh(vd);

	pthread_mutex_lock(&vh->lock);
	vh_route_calls(vh);
	pthread_mutex_unlock(&vh->lock);
}

/* Parked and quiesced: the driver reset the device; a fresh region next time. */
static void vh_reset(struct virtio_dev *vd)
{
	struct vhost_dev *vh = to_vh(vd);

	pthread_mutex_lock(&vh->lock);
	if (vh->inflight_fd >= 0)
		close(vh->inflight_fd);
	vh->inflight_fd = -1;
	memset(&vh->inflight, 0, sizeof(vh->inflight));
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
	if (vh->inflight_fd >= 0)
		close(vh->inflight_fd);
	if (vh->rc_src.fd >= 0)
		close(vh->rc_src.fd);
	for (i = 0; i < VHOST_DEV_MAX_QUEUES; i++)
		if (vh->call[i] >= 0)
			close(vh->call[i]);
	pthread_mutex_destroy(&vh->lock);
	free(vh->socket);
	free(vh);
}

static void vh_free(struct virtio_dev *vd)
{
	struct vhost_dev *vh = to_vh(vd);
	unsigned int i;

	for (i = 0; i < VHOST_DEV_MAX_QUEUES; i++)
		vh_direct_put(vh, &vh->direct[i]);
	log_info("%s: %llu of the back-end's calls went through vbridge",
		 vd->info.name, (unsigned long long)vh->relayed);
	vh_release(vh);
}

uint64_t vhost_dev_relayed(struct virtio_dev *vd)
{
	return __atomic_load_n(&to_vh(vd)->relayed, __ATOMIC_RELAXED);
}

static const struct virtio_dev_ops vhost_dev_ops = {
	.start = vh_start,
	.quiesce = vh_quiesce,
	.reset = vh_reset,
	.config_write = vh_config_write,
	.vectors_changed = vh_vectors_changed,
	.free = vh_free,
};

/*
 * Features in *features, protocol features (those of pf_want offered) and
 * ownership; the back-end's queue count in *nq.
 */
static int vh_handshake(struct vhost_dev *vh, uint64_t pf_want,
			uint64_t *features, uint64_t *nq)
{
	uint64_t pf = 0;
	int ret;

	*nq = 1;
	ret = vhost_user_get_features(&vh->vu, features);
	if (ret)
		return ret;
	if (!(*features & (1ull << VIRTIO_F_VERSION_1))) {
		log_error("vhost-user back-end at '%s' does not offer VIRTIO_F_VERSION_1 (features 0x%llx); a legacy-only back-end cannot serve a virtio-pci modern device",
			  vh->socket, (unsigned long long)*features);
		return -EPROTO;
	}
	if (*features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) {
		ret = vhost_user_get_protocol_features(&vh->vu, &pf);
		if (!ret)
			ret = vhost_user_set_protocol_features(&vh->vu,
					pf & pf_want);
		if (ret)
			return ret;
	}
	ret = vhost_user_set_owner(&vh->vu);
	if (!ret && (vh->vu.protocol_features & (1ull << VHOST_USER_PROTOCOL_F_MQ)))
		ret = vhost_user_get_queue_num(&vh->vu, nq);
	return ret;
}

/*
 * Called with vh->lock, connected again: the same handshake, and the new
 * back-end must offer what is in force: the protocol features (pf, which
 * include INFLIGHT_SHMFD), the queues, and the features the driver took
 * (when it runs) or may take.
 */
static int vh_rehandshake(struct vhost_dev *vh, uint64_t pf)
{
	const uint64_t pbit = 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
	struct virtio_dev *vd = &vh->vd;
	uint64_t f, nq, want;
	int ret;

	want = virtio_dev_running(vd) ? vd->guest_features :
	       vh->features & VHOST_DEV_GUEST_FEATURES;
	want |= vh->features & pbit;
	ret = vh_handshake(vh, pf, &f, &nq);
	if (ret)
		return ret;
	if ((f & want) != want || vh->vu.protocol_features != pf ||
	    ((pf & (1ull << VHOST_USER_PROTOCOL_F_MQ)) &&
	     nq < vd->info.num_queues)) {
		log_error("%s: the vhost-user back-end at '%s' came back with less than the device has: features 0x%llx (want 0x%llx), protocol features 0x%llx (want 0x%llx), %llu queues (want %u)",
			  vd->info.name, vh->socket, (unsigned long long)f,
			  (unsigned long long)want,
			  (unsigned long long)vh->vu.protocol_features,
			  (unsigned long long)pf, (unsigned long long)nq,
			  vd->info.num_queues);
		return -EPROTO;
	}
	return 0;
}

/*
 * I/O thread: connect to the back-end's socket again and give the new
 * back-end what the old one had: the driver's features, guest memory, the
 * inflight region and every started queue, then kick them.  0 done,
 * -EAGAIN nobody answers yet, another -errno: the back-end came but
 * cannot take over.
 */
static int vh_reconnect(struct vhost_dev *vh)
{
	struct virtio_dev *vd = &vh->vd;
	struct vhost_user vu = { .quiet = true };
	bool started[VHOST_DEV_MAX_QUEUES], any = false;
	uint64_t pf, one = 1;
	unsigned int i;
	int ret;

	if (vhost_user_connect(&vu, vh->socket))
		return -EAGAIN;
	log_info("%s: the vhost-user back-end at '%s' is back; handing the device over",
		 vd->info.name, vh->socket);
	pthread_mutex_lock(&vh->lock);
	pf = vh->vu.protocol_features;
	vhost_user_close(&vh->vu);
	vh->vu = vu;
	vh->vu.quiet = false;
	vh->vu.timeout_ms = VHOST_DEV_RC_TIMEOUT_MS;
	for (i = 0; i < vd->info.num_queues; i++) {
		started[i] = vh->started[i];
		any |= started[i];
	}
	ret = vh_rehandshake(vh, pf);
	if (!ret && any) {
		ret = vhost_user_set_features(&vh->vu, vd->guest_features |
					      (vh->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)));
		if (!ret)
			ret = send_mem_table(vh);
		if (!ret)
			ret = set_inflight(vh);
		for (i = 0; !ret && i < vd->info.num_queues; i++) {
			if (!started[i])
				continue;
			/* The driver may have masked or moved it meanwhile. */
			vh_route_call(vh, i, false);
			ret = start_queue(vh, i);
		}
	}
	vh->vu.timeout_ms = VHOST_USER_TIMEOUT_MS;
	if (!ret) {
		vh->hup_src.fd = vh->vu.fd;
		ret = vloop_add(virtio_dev_loop(vd), &vh->hup_src, EPOLLRDHUP);
	}
	if (ret) {
		vhost_user_close(&vh->vu);
		vh->vu.protocol_features = pf;	/* for the next attempt */
		/* It went away again half-way: it may come back once more. */
		if (ret == -EPIPE)
			ret = -EAGAIN;
	} else {
		__atomic_store_n(&vh->gone, false, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&vh->lock);
	/* The back-end looks at the rings: what the driver made available meanwhile. */
	for (i = 0; !ret && i < vd->info.num_queues; i++)
		if (started[i] &&
		    write(virtio_dev_kick_fd(vd, i), &one, sizeof(one)) < 0)
			log_errno("%s: kicking queue %u", vd->info.name, i);
	return ret;
}

/*
 * Called with vh->lock at a start, the I/O thread parked: a new connection
 * to a back-end that was lost, and the same handshake; it must offer what
 * the device was made with.  Nothing else is handed over here: the start
 * does that.  0, or -errno with the device still gone.
 */
static int vh_connect_anew(struct vhost_dev *vh)
{
	struct virtio_dev *vd = &vh->vd;
	struct vhost_user vu = { .quiet = true };
	uint64_t pf = vh->vu.protocol_features;
	int ret;

	ret = vhost_user_connect(&vu, vh->socket);
	if (ret)
		return ret;
	vhost_user_close(&vh->vu);
	vh->vu = vu;
	vh->vu.quiet = false;
	ret = vh_rehandshake(vh, pf);
	if (!ret) {
		vh->hup_src.fd = vh->vu.fd;
		ret = vloop_add(virtio_dev_loop(vd), &vh->hup_src, EPOLLRDHUP);
	}
	if (ret) {
		vhost_user_close(&vh->vu);
		vh->vu.protocol_features = pf;	/* for the next start */
		log_error("%s: the vhost-user back-end at '%s' listens again but cannot serve the device",
			  vd->info.name, vh->socket);
		return ret;
	}
	__atomic_store_n(&vh->gone, false, __ATOMIC_RELEASE);
	log_info("%s: reconnected to the vhost-user back-end at '%s' (a new connection: the driver reset the device since the last one was lost)",
		 vd->info.name, vh->socket);
	return 0;
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
	for (i = 0; i < VHOST_DEV_MAX_QUEUES; i++) {
		vh->call[i] = -1;
		vh->direct[i].fd = -1;
	}
	vh->inflight_fd = -1;
	vh->rc_src.fd = -1;
	pthread_mutex_init(&vh->lock, NULL);
	vh->type = spec->type;
	vh->reconnect_ms = (spec->reconnect < VHOST_DEV_RECONNECT_MAX ?
			    spec->reconnect : VHOST_DEV_RECONNECT_MAX) * 1000;
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
	if (vh_handshake(vh, VHOST_USER_PROTOCOL_SUPPORTED, &vh->features, &nq))
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
	log_info("%s: %llu queue%s served by the vhost-user back-end at '%s'%s",
		 info.name, (unsigned long long)nq, nq == 1 ? "" : "s",
		 vh->socket, !vh_has_inflight(vh) ? "" : vh->reconnect_ms ?
		 ", resumed if it restarts (inflight region)" :
		 " (inflight region; reconnect=0: no reconnection)");
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
