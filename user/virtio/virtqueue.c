// SPDX-License-Identifier: GPL-2.0
/* Split virtqueues, device side.  See virtqueue.h for the rules enforced. */
#include "virtio/virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

/* Keep the compiler from re-reading guest memory behind our back. */
#define barrier()	__asm__ __volatile__("" ::: "memory")

static inline uint16_t load16(const void *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}

static inline uint16_t load16_acquire(const void *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE));
}

static inline void store16(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}

static inline void store16_release(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELEASE);
}

static inline void store32(void *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, htole32(v), __ATOMIC_RELAXED);
}

static inline uint64_t load64(const void *p)
{
	return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
}

/*
 * Stores to the in-flight record.  Release ordering keeps them in program
 * order with every store before them, which is all a killed process needs:
 * what it stored before it died is there, what came later is not.
 */
static inline void ifl_store64(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline void ifl_store16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static uint16_t *used_event(const struct virtqueue *vq)
{
	return (uint16_t *)&vq->avail->ring[vq->size];
}

static uint16_t *avail_event(const struct virtqueue *vq)
{
	return (uint16_t *)&vq->used->ring[vq->size];
}

__attribute__((format(printf, 2, 3)))
static int vq_fail(struct virtqueue *vq, const char *fmt, ...)
{
	va_list ap;

	if (!vq->broken) {
		va_start(ap, fmt);
		vsnprintf(vq->error, sizeof(vq->error), fmt, ap);
		va_end(ap);
		vq->broken = true;
	}
	return -EIO;
}

int vq_init(struct virtqueue *vq)
{
	memset(vq, 0, sizeof(*vq));
	return -pthread_mutex_init(&vq->lock, NULL);
}

void vq_destroy(struct virtqueue *vq)
{
	free(vq->replay);
	vq->replay = NULL;
	pthread_mutex_destroy(&vq->lock);
}

const char *vq_error(const struct virtqueue *vq)
{
	return vq->error;
}

__attribute__((format(printf, 2, 3)))
static int setup_fail(struct virtqueue *vq, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vq->error, sizeof(vq->error), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Back to "not set up", the record aside.  Called with vq->lock. */
static void vq_clear(struct virtqueue *vq)
{
	vq->mem = NULL;
	vq->size = 0;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->ready = false;
	vq->broken = false;
	vq->error[0] = '\0';
	vq->seq = 0;
	free(vq->replay);
	vq->replay = NULL;
	vq->nr_replay = 0;
	vq->replay_pos = 0;
	vq->replay_seq = 0;
}

/* Nothing popped, nothing in flight.  Called with vq->lock. */
static void ifl_clear(struct virtqueue *vq)
{
	unsigned int i;

	ifl_store64(&vq->ifl->seq, 0);
	ifl_store16(&vq->ifl->used_idx, 0);
	for (i = 0; i < vq->ifl_cap; i++)
		ifl_store64(&vq->ifl->head[i], 0);
}

void vq_track(struct virtqueue *vq, struct vq_inflight *ifl, unsigned int cap)
{
	pthread_mutex_lock(&vq->lock);
	vq->ifl = ifl;
	vq->ifl_cap = ifl ? cap : 0;
	pthread_mutex_unlock(&vq->lock);
}

/* Check the ring layout and find the rings in guest memory. */
static int rings_find(struct virtqueue *vq, const struct guest_mem *mem,
		      unsigned int size, uint64_t desc, uint64_t avail,
		      uint64_t used, void **d, void **a, void **u)
{
	if (!size || size > VQ_MAX_SIZE || (size & (size - 1)))
		return setup_fail(vq, "queue size %u is not a power of two up to %u",
				  size, VQ_MAX_SIZE);
	if (vq->ifl && size > vq->ifl_cap)
		return setup_fail(vq, "queue size %u is larger than its in-flight record (%u)",
				  size, vq->ifl_cap);
	if ((desc & 15) || (avail & 1) || (used & 3))
		return setup_fail(vq, "misaligned ring (desc 0x%llx, avail 0x%llx, used 0x%llx)",
				  (unsigned long long)desc,
				  (unsigned long long)avail,
				  (unsigned long long)used);
	/* Room for used_event / avail_event too, negotiated or not. */
	*d = guest_mem_ptr(mem, desc, 16ull * size);
	*a = guest_mem_ptr(mem, avail, 6 + 2ull * size);
	*u = guest_mem_ptr(mem, used, 6 + 8ull * size);
	if (!*d || !*a || !*u)
		return setup_fail(vq, "%s ring at 0x%llx is not inside guest RAM",
				  !*d ? "descriptor" : !*a ? "driver" : "device",
				  (unsigned long long)(!*d ? desc : !*a ? avail : used));
	return 0;
}

/* Make the rings current.  Called with vq->lock. */
static void rings_set(struct virtqueue *vq, const struct guest_mem *mem,
		      unsigned int size, void *d, void *a, void *u,
		      bool event_idx, bool indirect)
{
	vq->mem = mem;
	vq->size = size;
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	vq->desc = d;
	vq->avail = a;
	vq->used = u;
}

int vq_setup(struct virtqueue *vq, const struct guest_mem *mem, unsigned int size,
	     uint64_t desc, uint64_t avail, uint64_t used, bool event_idx,
	     bool indirect)
{
	void *d, *a, *u;
	int ret;

	vq_reset(vq);
	ret = rings_find(vq, mem, size, desc, avail, used, &d, &a, &u);
	if (ret)
		return ret;
	pthread_mutex_lock(&vq->lock);
	rings_set(vq, mem, size, d, a, u, event_idx, indirect);
	vq->ready = true;
	pthread_mutex_unlock(&vq->lock);
	return 0;
}

void vq_reset(struct virtqueue *vq)
{
	pthread_mutex_lock(&vq->lock);
	vq_clear(vq);
	if (vq->ifl)
		ifl_clear(vq);
	pthread_mutex_unlock(&vq->lock);
}

static int seq_cmp(const void *x, const void *y)
{
	const uint64_t *a = x, *b = y;

	return *a < *b ? -1 : *a > *b;
}

int vq_resume(struct virtqueue *vq, const struct guest_mem *mem,
	      unsigned int size, uint64_t desc, uint64_t avail, uint64_t used,
	      bool event_idx, bool indirect)
{
	struct vq_inflight *r = vq->ifl;
	uint16_t first, inflight, done, idx_used, *replay = NULL;
	struct vring_used *u_ring;
	uint64_t seq, *taken = NULL;
	uint8_t *completed = NULL;
	unsigned int i, n = 0;
	void *d, *a, *u;
	int ret;

	pthread_mutex_lock(&vq->lock);
	vq_clear(vq);
	pthread_mutex_unlock(&vq->lock);
	if (!r)
		return setup_fail(vq, "no in-flight record to resume from");
	ret = rings_find(vq, mem, size, desc, avail, used, &d, &a, &u);
	if (ret)
		return ret;
	u_ring = u;
	seq = load64(&r->seq);
	first = __atomic_load_n(&r->used_idx, __ATOMIC_RELAXED);
	idx_used = load16_acquire(&u_ring->idx);
	inflight = (uint16_t)seq - first;
	done = idx_used - first;
	if (inflight > size)
		return setup_fail(vq, "record says %u chains are in flight (avail entry %u, used index %u) in a queue of %u",
				  inflight, (uint16_t)seq, first, size);
	if (done > inflight)
		return setup_fail(vq, "used index %u is %u entries past the recorded %u, but only %u chains were in flight",
				  idx_used, done, first, inflight);

	completed = calloc(size, 1);
	/* Pairs (pop sequence number, head) of the chains still in flight. */
	taken = calloc(size, 2 * sizeof(*taken));
	if (!completed || !taken) {
		ret = setup_fail(vq, "out of memory");
		goto out;
	}
	/* Completions published and not yet accounted: done, whatever marked. */
	for (i = 0; i < done; i++) {
		uint32_t id = le32toh(__atomic_load_n(&u_ring->ring[(uint16_t)(first + i) &
								     (size - 1)].id,
						      __ATOMIC_RELAXED));

		if (id >= size) {
			ret = setup_fail(vq, "used entry %u names head %u, beyond the queue size %u",
					 (uint16_t)(first + i), id, size);
			goto out;
		}
		completed[id] = 1;
	}
	for (i = 0; i < vq->ifl_cap; i++) {
		uint64_t m = load64(&r->head[i]), s;

		if (!m || (i < size && completed[i]))
			continue;
		if (!(m & VQ_INFLIGHT_MARK)) {
			ret = setup_fail(vq, "head %u has no valid mark (0x%llx)", i,
					 (unsigned long long)m);
			goto out;
		}
		if (i >= size) {
			ret = setup_fail(vq, "head %u is marked in flight, beyond the queue size %u",
					 i, size);
			goto out;
		}
		s = m & ~VQ_INFLIGHT_MARK;
		if (s == seq)
			continue;	/* marked, but the pop never counted */
		if (s > seq) {
			ret = setup_fail(vq, "head %u was taken by pop %llu, after the last recorded pop %llu",
					 i, (unsigned long long)s,
					 (unsigned long long)seq);
			goto out;
		}
		taken[2 * n] = s;
		taken[2 * n + 1] = i;
		n++;
	}
	if (n != (unsigned int)(inflight - done)) {
		ret = setup_fail(vq, "record marks %u chains in flight, its indices say %u",
				 n, inflight - done);
		goto out;
	}
	qsort(taken, n, 2 * sizeof(*taken), seq_cmp);
	for (i = 1; i < n; i++) {
		if (taken[2 * i] == taken[2 * (i - 1)]) {
			ret = setup_fail(vq, "heads %u and %u were taken by the same pop %llu",
					 (unsigned int)taken[2 * i - 1],
					 (unsigned int)taken[2 * i + 1],
					 (unsigned long long)taken[2 * i]);
			goto out;
		}
	}

	if (n) {
		replay = malloc(n * sizeof(*replay));
		if (!replay) {
			ret = setup_fail(vq, "out of memory");
			goto out;
		}
		for (i = 0; i < n; i++)
			replay[i] = taken[2 * i + 1];
	}

	pthread_mutex_lock(&vq->lock);
	rings_set(vq, mem, size, d, a, u, event_idx, indirect);
	/* Account the completions, drop the marks of pops that never counted. */
	for (i = 0; i < vq->ifl_cap; i++) {
		uint64_t m = load64(&r->head[i]);

		if (m && ((i < size && completed[i]) || (m & ~VQ_INFLIGHT_MARK) == seq))
			ifl_store64(&r->head[i], 0);
	}
	ifl_store16(&r->used_idx, idx_used);
	vq->seq = seq;
	vq->last_avail = (uint16_t)seq;
	vq->used_idx = idx_used;
	vq->replay_seq = seq;
	vq->replay = replay;
	vq->nr_replay = n;
	vq->ready = true;
	pthread_mutex_unlock(&vq->lock);
	ret = 0;
out:
	free(completed);
	free(taken);
	return ret;
}

/* Bytes of guest RAM from gpa to the end of its region, 0 if none. */
static uint64_t region_left(const struct guest_mem *m, uint64_t gpa)
{
	unsigned int i;

	for (i = 0; i < m->nr; i++) {
		const struct guest_mem_region *r = &m->region[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r->size - (gpa - r->gpa);
	}
	return 0;
}

static int add_segment(struct virtqueue *vq, struct vq_buf *b,
		       uint64_t addr, uint32_t len, bool write)
{
	uint64_t left = len;

	while (left) {
		uint64_t piece = left;
		void *p = guest_mem_ptr(vq->mem, addr, piece);
		unsigned int n = b->nr_out + b->nr_in;

		if (!p) {
			/* Maybe it runs on into an adjacent region. */
			piece = region_left(vq->mem, addr);
			if (piece > left)
				piece = left;
			p = piece ? guest_mem_ptr(vq->mem, addr, piece) : NULL;
			if (!p)
				return vq_fail(vq, "buffer at 0x%llx (%u bytes) is not inside guest RAM",
					       (unsigned long long)addr, len);
		}
		if (n >= b->cap)
			return vq_fail(vq, "chain needs more than %u segments",
				       b->cap);
		b->iov[n].iov_base = p;
		b->iov[n].iov_len = piece;
		if (write)
			b->nr_in++;
		else
			b->nr_out++;
		addr += piece;
		left -= piece;
	}
	return 0;
}

static int walk_chain(struct virtqueue *vq, uint16_t head, struct vq_buf *b)
{
	const struct vring_desc *table = vq->desc;
	unsigned int idx = head, table_n = vq->size, count = 0;
	uint64_t out = 0, in = 0;
	bool nested = false, seen_write = false;
	int ret;

	b->head = head;
	b->nr_out = b->nr_in = 0;
	if (head >= vq->size)
		return vq_fail(vq, "head index %u beyond queue size %u", head,
			       vq->size);
	for (;;) {
		struct vring_desc d;
		uint16_t flags;
		uint64_t addr;
		uint32_t len;

		memcpy(&d, &table[idx], sizeof(d));
		barrier();
		flags = le16toh(d.flags);
		addr = le64toh(d.addr);
		len = le32toh(d.len);

		/*
		 * Buffer descriptors count against the queue size, the one
		 * pointing at an indirect table does not (it ends the direct
		 * chain, so it cannot be part of a loop).
		 */
		if (!(flags & VRING_DESC_F_INDIRECT) && ++count > vq->size)
			return vq_fail(vq, "chain at head %u is longer than the queue size %u (loop?)",
				       head, vq->size);

		if (flags & VRING_DESC_F_INDIRECT) {
			if (!vq->indirect)
				return vq_fail(vq, "indirect descriptor but VIRTIO_F_RING_INDIRECT_DESC was not negotiated");
			if (nested)
				return vq_fail(vq, "indirect descriptor inside an indirect table");
			if (flags & VRING_DESC_F_NEXT)
				return vq_fail(vq, "indirect descriptor with NEXT set");
			if (!len || len % sizeof(struct vring_desc))
				return vq_fail(vq, "indirect table length %u is not a non-zero multiple of 16",
					       len);
			table = guest_mem_ptr(vq->mem, addr, len);
			if (!table)
				return vq_fail(vq, "indirect table at 0x%llx (%u bytes) is not inside guest RAM",
					       (unsigned long long)addr, len);
			table_n = len / sizeof(struct vring_desc);
			nested = true;
			idx = 0;
			continue;
		}

		if (flags & VRING_DESC_F_WRITE) {
			in += len;
			seen_write = true;
		} else {
			if (seen_write)
				return vq_fail(vq, "device-readable descriptor after a device-writable one");
			out += len;
		}
		if (in > UINT32_MAX || out > UINT32_MAX)
			return vq_fail(vq, "chain at head %u is larger than 4 GiB",
				       head);
		if (len) {
			ret = add_segment(vq, b, addr, len,
					  flags & VRING_DESC_F_WRITE);
			if (ret)
				return ret;
		}
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		idx = le16toh(d.next);
		if (idx >= table_n)
			return vq_fail(vq, "next index %u beyond %s size %u", idx,
				       nested ? "indirect table" : "queue",
				       table_n);
	}
	b->out_len = out;
	b->in_len = in;
	return 0;
}

int vq_pop(struct virtqueue *vq, struct vq_buf *b)
{
	uint16_t avail_idx, head;
	int ret;

	if (!vq->ready)
		return 0;
	if (vq->broken)
		return -EIO;
	if (vq->replay_pos < vq->nr_replay) {
		/* Taken by a previous process and never completed: again. */
		ret = walk_chain(vq, vq->replay[vq->replay_pos], b);
		if (ret)
			return ret;
		vq->replay_pos++;
		return 1;
	}
	avail_idx = load16_acquire(&vq->avail->idx);
	if (avail_idx == vq->last_avail) {
		if (!vq->event_idx)
			return 0;
		/* Ask for a kick on the next buffer, then look once more. */
		store16(avail_event(vq), vq->last_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = load16_acquire(&vq->avail->idx);
		if (avail_idx == vq->last_avail)
			return 0;
	}
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size)
		return vq_fail(vq, "avail index %u ran %u entries ahead of %u (queue size %u)",
			       avail_idx, (uint16_t)(avail_idx - vq->last_avail),
			       vq->last_avail, vq->size);
	head = load16(&vq->avail->ring[vq->last_avail & (vq->size - 1)]);
	ret = walk_chain(vq, head, b);
	if (ret)
		return ret;
	if (vq->ifl) {
		/* Mark the head, then count the pop: see struct vq_inflight. */
		pthread_mutex_lock(&vq->lock);
		ifl_store64(&vq->ifl->head[head], VQ_INFLIGHT_MARK | vq->seq);
		ifl_store64(&vq->ifl->seq, vq->seq + 1);
		pthread_mutex_unlock(&vq->lock);
	}
	vq->seq++;
	vq->last_avail++;
	return 1;
}

int vq_pending(struct virtqueue *vq)
{
	uint16_t avail_idx, ahead;

	if (!vq->ready)
		return 0;
	if (vq->broken)
		return -EIO;
	avail_idx = load16_acquire(&vq->avail->idx);
	ahead = avail_idx - vq->last_avail;
	if (ahead > vq->size)
		return vq_fail(vq, "avail index %u ran %u entries ahead of %u (queue size %u)",
			       avail_idx, ahead, vq->last_avail, vq->size);
	return (int)(vq->nr_replay - vq->replay_pos) + ahead;
}

void vq_unpop(struct virtqueue *vq)
{
	uint64_t mark;
	uint16_t head;
	unsigned int i;

	if (vq->seq == vq->replay_seq && vq->replay_pos) {
		/* Nothing popped from the ring since the replayed ones. */
		vq->replay_pos--;
		return;
	}
	vq->last_avail--;
	vq->seq--;
	if (!vq->ifl)
		return;
	/*
	 * Uncount the pop, then clear its mark.  The head is normally the
	 * one the avail entry still names; the guest may have rewritten it.
	 */
	mark = VQ_INFLIGHT_MARK | vq->seq;
	head = load16(&vq->avail->ring[vq->last_avail & (vq->size - 1)]);
	pthread_mutex_lock(&vq->lock);
	ifl_store64(&vq->ifl->seq, vq->seq);
	if (head >= vq->size || load64(&vq->ifl->head[head]) != mark) {
		head = vq->size;	/* none, unless found */
		for (i = 0; i < vq->size; i++)
			if (load64(&vq->ifl->head[i]) == mark)
				head = i;
	}
	if (head < vq->size)
		ifl_store64(&vq->ifl->head[head], 0);
	pthread_mutex_unlock(&vq->lock);
}

void vq_push_n(struct virtqueue *vq, const uint16_t *heads,
	       const uint32_t *lens, unsigned int n)
{
	struct vring_used_elem *e;
	unsigned int i;

	pthread_mutex_lock(&vq->lock);
	if (vq->ready) {
		for (i = 0; i < n; i++) {
			e = &vq->used->ring[(uint16_t)(vq->used_idx + i) &
					    (vq->size - 1)];
			store32(&e->id, heads[i]);
			store32(&e->len, lens[i]);
		}
		vq->used_idx += n;
		store16_release(&vq->used->idx, vq->used_idx);
		if (vq->ifl) {
			/* Published: now clear the marks, then account them. */
			for (i = 0; i < n; i++)
				if (heads[i] < vq->ifl_cap)
					ifl_store64(&vq->ifl->head[heads[i]], 0);
			ifl_store16(&vq->ifl->used_idx, vq->used_idx);
		}
	}
	pthread_mutex_unlock(&vq->lock);
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	vq_push_n(vq, &head, &len, 1);
}

bool vq_should_signal(struct virtqueue *vq)
{
	bool ret;

	pthread_mutex_lock(&vq->lock);
	if (!vq->ready) {
		ret = false;
	} else {
		/* The used index store must be visible before we look. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (!vq->event_idx) {
			ret = !(load16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
		} else {
			uint16_t ev = load16(used_event(vq));

			ret = !vq->signalled_valid ||
			      vring_need_event(ev, vq->used_idx, vq->signalled_used);
			vq->signalled_used = vq->used_idx;
			vq->signalled_valid = true;
		}
	}
	pthread_mutex_unlock(&vq->lock);
	return ret;
}
