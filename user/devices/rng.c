// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng (virtio 1.x, section 5.4): one request queue; every writable
 * buffer the driver posts is filled from getrandom(2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <linux/virtio_ids.h>

#include "devices/virtio_devs.h"
#include "lib/log.h"

#define RNG_QUEUE_SIZE	64
#define RNG_MAX_SEGS	RNG_QUEUE_SIZE
#define RNG_MAX_REQ	(64 * 1024)	/* bytes filled per request */

/**
 * struct rng - a virtio-rng device
 * @vd: transport (first member)
 * @iov: segments of the request being served (I/O thread)
 * @buf: the request being served (I/O thread)
 */
struct rng {
	struct virtio_dev vd;
	struct iovec iov[RNG_MAX_SEGS];
	struct vq_buf buf;
};

static size_t fill_random(const struct iovec *iov, unsigned int n)
{
	size_t done = 0;
	unsigned int i;

	for (i = 0; i < n && done < RNG_MAX_REQ; i++) {
		size_t off = 0, want = iov[i].iov_len;

		if (want > RNG_MAX_REQ - done)
			want = RNG_MAX_REQ - done;
		while (off < want) {
			ssize_t r = getrandom((char *)iov[i].iov_base + off,
					      want - off, 0);

			if (r < 0) {
				if (errno == EINTR)
					continue;
				log_errno("virtio-rng: getrandom");
				return done + off;
			}
			off += r;
		}
		done += off;
	}
	return done;
}

static void rng_notify(struct virtio_dev *vd, unsigned int q)
{
	struct rng *r = (struct rng *)vd;
	bool pushed = false;

	while (virtio_dev_pop(vd, 0, &r->buf) > 0) {
		size_t n = fill_random(vq_buf_in(&r->buf), r->buf.nr_in);

		vq_push(virtio_dev_vq(vd, 0), r->buf.head, n);
		pushed = true;
	}
	if (pushed)
		virtio_dev_signal(vd, 0);
}

static void rng_free(struct virtio_dev *vd)
{
	free(vd);
}

/* A takeover that fails what the guest asked before: no entropy. */
static enum virtio_fail_result rng_fail_request(struct virtio_dev *vd,
						unsigned int q,
						const struct vq_buf *b,
						uint32_t *len)
{
	*len = 0;
	return VIRTIO_FAIL_DONE;
}

static const struct virtio_dev_ops rng_ops = {
	.queue_notify = rng_notify,
	.fail_request = rng_fail_request,
	.free = rng_free,
};

struct virtio_dev *rng_new(void)
{
	static const struct virtio_dev_info info = {
		.name = "virtio-rng",
		.device_id = VIRTIO_ID_RNG,
		.pci_class = 0xff0000,	/* unclassified */
		.num_queues = 1,
		.queue_size = RNG_QUEUE_SIZE,
	};
	struct rng *r = calloc(1, sizeof(*r));
	int ret;

	if (!r) {
		log_error("virtio-rng: out of memory");
		return NULL;
	}
	r->buf.iov = r->iov;
	r->buf.cap = RNG_MAX_SEGS;
	ret = virtio_dev_init(&r->vd, &rng_ops, &info);
	if (ret) {
		log_error("virtio-rng: cannot create the device: %s", strerror(-ret));
		free(r);
		return NULL;
	}
	return &r->vd;
}
