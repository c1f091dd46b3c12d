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
 *
 * In-flight records (vq_track): a device provider that may crash and be
 * restarted while its guest runs keeps, per queue, a struct vq_inflight in
 * memory that outlives the process (a shared file mapping).  Every pop
 * marks its head there before the pop counts, every completion clears the
 * marks after the used index is published; vq_resume() then tells which
 * chains the dead process had taken and not completed, and hands them out
 * again, oldest first, before the rest of the avail ring.  The cost per
 * request is a few stores and, for the pop, an uncontended vq.lock.
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

/* vq_inflight.head[] entry: set while the chain at that head is in flight. */
#define VQ_INFLIGHT_MARK	(1ull << 63)

/**
 * struct vq_inflight - a queue's progress, where a crash cannot lose it
 * @seq: chains taken from the avail ring since the queue was set up, less
 *	those given back; its low 16 bits are the next avail entry to pop
 * @used_idx: the used index as last published and accounted here
 * @size: entries in @head (set by whoever lays the record out; at least the
 *	queue size)
 * @owner: free for the layout's use (which device and queue), kept as is
 * @head: per descriptor head: 0, or VQ_INFLIGHT_MARK | the @seq value of
 *	the pop that took the chain (its avail entry is that value's low 16
 *	bits)
 *
 * Written with plain stores in program order: a process killed at any
 * point leaves a state vq_resume() can reconcile.  A pop marks the head,
 * then advances @seq; a completion publishes the used ring, clears the
 * marks, then advances @used_idx.  Both happen under vq.lock, so no mark
 * of a new pop can fall between a completion's publication and its
 * accounting.
 */
struct vq_inflight {
	uint64_t seq;
	uint16_t used_idx;
	uint16_t size;
	uint32_t owner;
	uint64_t head[];
};

/**
 * struct virtqueue - device side of one split virtqueue
 * @lock: protects @used_idx, @signalled_used, @signalled_valid, the used
 *	ring and the stores to @ifl
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
 * @ifl: the in-flight record, NULL when none (vq_track)
 * @ifl_cap: heads @ifl has room for (vq_track)
 * @seq: chains popped and not given back since setup (popping thread)
 * @replay: heads vq_pop() hands out again before the avail ring, oldest
 *	first (vq_resume; popping thread)
 * @nr_replay: entries in @replay
 * @replay_pos: entries of @replay handed out
 * @replay_seq: @seq when vq_resume() ran
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
	struct vq_inflight *ifl;
	unsigned int ifl_cap;
	uint64_t seq;
	uint16_t *replay;
	unsigned int nr_replay;
	unsigned int replay_pos;
	uint64_t replay_seq;
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

/* Back to the state before vq_setup (device reset); clears the record. */
void vq_reset(struct virtqueue *vq);

/*
 * Record pops and completions in ifl from now on (NULL: stop); ifl has
 * room for cap heads (vq_inflight_bytes(cap) bytes; its own size field is
 * not trusted for that).  Call while the queue is not in use; the record
 * is not changed: vq_setup() and vq_reset() clear it, vq_resume() reads
 * it.  vq_setup() refuses a queue larger than cap.
 */
void vq_track(struct virtqueue *vq, struct vq_inflight *ifl, unsigned int cap);

/*
 * Bytes of a struct vq_inflight for a queue of at most size descriptors.
 */
static inline unsigned long vq_inflight_bytes(unsigned int size)
{
	return sizeof(struct vq_inflight) + 8ul * size;
}

/*
 * Take over a queue a previous process served, with the rings at the
 * given guest-physical addresses and the record given to vq_track():
 * completions the used ring shows are accounted, chains the record marks
 * as taken and not completed are handed out again by vq_pop() in the
 * order they were first taken, then popping goes on from the recorded
 * avail entry.  Returns 0, or -EINVAL with vq_error() saying what was
 * wrong (rings as for vq_setup(), no record, or a record that does not
 * add up: indices further apart than the queue size, marks that do not
 * match the indices, heads beyond the queue size); the queue is then not
 * usable and the record is left as it was.
 */
int vq_resume(struct virtqueue *vq, const struct guest_mem *mem,
	      unsigned int size, uint64_t desc, uint64_t avail, uint64_t used,
	      bool event_idx, bool indirect);

/*
 * Take the next available chain into b.  Returns 1, 0 when the ring is
 * empty (with EVENT_IDX, the driver is then asked to notify on the next
 * buffer), or -EIO when the ring is broken.  b->cap and b->iov must be set.
 */
int vq_pop(struct virtqueue *vq, struct vq_buf *b);

/* Give back the chain popped last (not pushed): it will be popped again. */
void vq_unpop(struct virtqueue *vq);

/*
 * Chains vq_pop() would hand out now if the driver added none: those
 * vq_resume() took again and not yet handed out, then those on the avail
 * ring.  0 when the queue is not set up; -EIO (the queue is then broken)
 * when the avail index ran more than a queue size ahead.  Popping thread.
 */
int vq_pending(struct virtqueue *vq);

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
