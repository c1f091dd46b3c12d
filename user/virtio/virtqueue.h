/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Split virtqueues (virtio 1.x, section 2.7) as the device sees them, with
 * indirect descriptors and VIRTIO_F_EVENT_IDX.
 *
 * The guest owns the rings and may write anything into them at any time, so
 * everything read from them is checked: ring addresses and sizes at setup;
 * the avail index (it may not run more than a queue size ahead), head and
 * next indices, chain length (at most the queue size, which also catches
 * loops), indirect tables (inside guest RAM, a multiple of 16 bytes, never
 * nested), the order of readable and writable descriptors, and every buffer
 * (through guest_mem_ptr()).  A violation marks the queue broken: vq_pop()
 * returns -EIO from then on and vq_error() says why; the transport turns
 * that into DEVICE_NEEDS_RESET.  The host process is never at risk.
 *
 * Threads: one thread pops (the device's I/O thread); any thread may push
 * and ask whether to signal (vq.lock serialises those).
 */
#ifndef VBRIDGE_VIRTQUEUE_H
#define VBRIDGE_VIRTQUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lib/guest_mem.h"

#define VQ_MAX_SIZE	32768	/* the split ring's limit */

/**
 * struct vq_buf - one descriptor chain, popped from the avail ring
 * @head: its head index, for vq_push()
 * @nr_out: device-readable segments: iov[0 .. nr_out)
 * @nr_in: device-writable segments: iov[nr_out .. nr_out + nr_in)
 * @out_len: bytes in the readable segments
 * @in_len: bytes in the writable segments
 * @cap: entries @iov has room for (set by the caller)
 * @iov: segments, host addresses inside guest RAM (set by the caller)
 *
 * A descriptor that spans two guest memory regions takes two segments; a
 * zero-length descriptor takes none.
 */
struct vq_buf {
	uint16_t head;
	unsigned int nr_out;
	unsigned int nr_in;
	uint32_t out_len;
	uint32_t in_len;
	unsigned int cap;
	struct iovec *iov;
};

static inline struct iovec *vq_buf_in(const struct vq_buf *b)
{
	return b->iov + b->nr_out;
}

struct vring_desc;
struct vring_avail;
struct vring_used;

/**
 * struct virtqueue - device side of one split virtqueue
 * @lock: protects @used_idx, @signalled_used, @signalled_valid and the
 *	used ring
 * @mem: guest memory (vq_setup)
 * @size: number of descriptors, a power of two (vq_setup)
 * @event_idx: VIRTIO_F_EVENT_IDX negotiated (vq_setup)
 * @indirect: VIRTIO_F_RING_INDIRECT_DESC negotiated (vq_setup)
 * @desc: descriptor table in guest RAM (vq_setup)
 * @avail: driver ring (vq_setup)
 * @used: device ring (vq_setup)
 * @last_avail: next avail entry to pop (popping thread)
 * @used_idx: next used entry to fill
 * @signalled_used: @used_idx when the driver was last notified
 * @signalled_valid: @signalled_used means something
 * @ready: set up and usable
 * @broken: a guest error was found (popping thread; read anywhere)
 * @error: what it was
 */
struct virtqueue {
	pthread_mutex_t lock;
	const struct guest_mem *mem;
	uint16_t size;
	bool event_idx;
	bool indirect;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used;
	bool signalled_valid;
	bool ready;
	bool broken;
	char error[128];
};

/* Before first use / after last use. */
int vq_init(struct virtqueue *vq);
void vq_destroy(struct virtqueue *vq);

/*
 * Make the queue usable with rings at the given guest-physical addresses.
 * Returns 0, or -EINVAL with vq_error() saying what was wrong (size not a
 * power of two, misaligned or out-of-RAM ring).
 */
int vq_setup(struct virtqueue *vq, const struct guest_mem *mem, unsigned int size,
	     uint64_t desc, uint64_t avail, uint64_t used, bool event_idx,
	     bool indirect);

/* Back to the state before vq_setup (device reset). */
void vq_reset(struct virtqueue *vq);

/*
 * Take the next available chain into b.  Returns 1, 0 when the ring is
 * empty (with EVENT_IDX, the driver is then asked to notify on the next
 * buffer), or -EIO when the ring is broken.  b->cap and b->iov must be set.
 */
int vq_pop(struct virtqueue *vq, struct vq_buf *b);

/* Give back the chain popped last (not pushed): it will be popped again. */
void vq_unpop(struct virtqueue *vq);

/* Put a chain on the used ring; len = bytes written into it. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);

/*
 * Put n chains on the used ring and publish them with one index update, so
 * the driver sees all or none (a mergeable receive packet).
 */
void vq_push_n(struct virtqueue *vq, const uint16_t *heads,
	       const uint32_t *lens, unsigned int n);

/* Whether the driver wants an interrupt for what was pushed since the last. */
bool vq_should_signal(struct virtqueue *vq);

/* Why the queue is broken, or why vq_setup() failed ("" when neither). */
const char *vq_error(const struct virtqueue *vq);

#endif
