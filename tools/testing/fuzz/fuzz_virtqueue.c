// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueues (user/virtio/virtqueue.c) against a guest that writes
 * anything into its rings: the input lays out guest RAM (up to three
 * regions, each its own allocation of exactly its size, adjacent or not),
 * then runs operations: set a queue up (any size, any ring addresses,
 * EVENT_IDX and INDIRECT_DESC or not), write guest RAM (descriptors,
 * indirect tables, avail entries and index, flags, used_event), publish a
 * well-formed chain, pop with any room for segments, push, push several,
 * unpop, count pending chains, ask whether to signal, reset, and record
 * into or resume from an in-flight record whose contents the input may
 * also write.
 *
 * Besides the sanitizers, every chain vq_pop() hands out is checked: its
 * segments lie inside guest RAM regions, fit the room given, and add up
 * to the lengths reported; its head is inside the queue.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "fz.h"
#include "virtio/virtqueue.h"

#define MAX_REGIONS	3
#define MAX_POPPED	64
#define MAX_CAP		300

struct vqf {
	struct guest_mem mem;
	uint8_t *ram[MAX_REGIONS];
	struct virtqueue vq;
	unsigned int size;		/* as last set up, 0 when not */
	uint64_t desc, avail, used;
	bool event_idx, indirect;
	uint16_t avail_idx;		/* next avail index to publish */
	uint16_t next_desc;
	uint16_t popped[MAX_POPPED];	/* heads taken and not pushed */
	unsigned int nr_popped;
	bool can_unpop;			/* the last operation popped a chain */
	struct vq_inflight *ifl;
	unsigned int ifl_cap;
	struct iovec iov[MAX_CAP];
};

static void *gpa_ptr(struct vqf *v, uint64_t gpa, uint64_t len)
{
	return guest_mem_ptr(&v->mem, gpa, len);
}

static void gwrite(struct vqf *v, uint64_t gpa, const void *src, size_t len)
{
	const uint8_t *s = src;
	uint8_t *p;

	for (; len; len--, gpa++, s++)
		if ((p = gpa_ptr(v, gpa, 1)))
			*p = *s;
}

static void gput16(struct vqf *v, uint64_t gpa, uint16_t val)
{
	val = htole16(val);
	gwrite(v, gpa, &val, 2);
}

/* Every segment inside one region, within the room, lengths adding up. */
static void check_buf(struct vqf *v, const struct vq_buf *b)
{
	uint64_t out = 0, in = 0;
	unsigned int i, r;

	if (b->head >= v->vq.size)
		fz_fail("popped head %u, queue size %u", b->head, v->vq.size);
	if (b->nr_out + b->nr_in > b->cap)
		fz_fail("chain of %u + %u segments, room for %u", b->nr_out,
			b->nr_in, b->cap);
	for (i = 0; i < b->nr_out + b->nr_in; i++) {
		const uint8_t *p = b->iov[i].iov_base;
		size_t len = b->iov[i].iov_len;
		bool inside = false;

		if (!len)
			fz_fail("segment %u is empty", i);
		for (r = 0; r < v->mem.nr; r++) {
			const struct guest_mem_region *g = &v->mem.region[r];

			if (p >= g->hva && p < g->hva + g->size &&
			    len <= (size_t)(g->hva + g->size - p))
				inside = true;
		}
		if (!inside)
			fz_fail("segment %u (%zu bytes) is not inside a guest RAM region",
				i, len);
		if (i < b->nr_out)
			out += len;
		else
			in += len;
	}
	if (out != b->out_len || in != b->in_len)
		fz_fail("segments add up to %llu/%llu bytes, the chain says %u/%u",
			(unsigned long long)out, (unsigned long long)in,
			b->out_len, b->in_len);
}

static void setup_regions(struct vqf *v, struct fz *f)
{
	uint64_t gpa = 0x1000;
	unsigned int n = 1 + fz_u8(f) % MAX_REGIONS, i;

	memset(&v->mem, 0, sizeof(v->mem));
	for (i = 0; i < n; i++) {
		uint8_t how = fz_u8(f);
		uint64_t size = 0x4000 ^ ((uint64_t)fz_u16(f) << 2);

		if (!size)
			size = 1;
		if (how & 1)		/* a gap before it */
			gpa += (uint64_t)fz_u16(f) << 4;
		if (how & 2)		/* anywhere */
			gpa = fz_u64(f);
		v->ram[i] = calloc(1, size);
		if (!v->ram[i])
			fz_fail("out of memory");
		if (guest_mem_add(&v->mem, gpa, size, v->ram[i])) {
			free(v->ram[i]);
			v->ram[i] = NULL;
			continue;
		}
		gpa += size;
	}
}

/* Rings at the start of the first region unless the input says. */
static void op_setup(struct vqf *v, struct fz *f, bool resume)
{
	uint64_t base = v->mem.nr ? v->mem.region[0].gpa : 0;
	uint8_t flags = fz_u8(f);
	unsigned int size = 16 ^ fz_u16(f);
	int ret;

	v->desc = base;
	v->avail = v->desc + 16ull * size;
	v->used = (v->avail + 6 + 2ull * size + 3) & ~3ull;
	if (flags & 4) {
		v->desc ^= fz_u64(f);
		v->avail ^= fz_u64(f);
		v->used ^= fz_u64(f);
	}
	v->event_idx = !(flags & 1);
	v->indirect = !(flags & 2);
	if (resume)
		ret = vq_resume(&v->vq, &v->mem, size, v->desc, v->avail, v->used,
				v->event_idx, v->indirect);
	else
		ret = vq_setup(&v->vq, &v->mem, size, v->desc, v->avail, v->used,
			       v->event_idx, v->indirect);
	if (!ret && vq_error(&v->vq)[0])
		fz_fail("queue set up, yet an error: %s", vq_error(&v->vq));
	if (ret && !vq_error(&v->vq)[0])
		fz_fail("set-up refused (%d) without saying why", ret);
	v->size = ret ? 0 : size;
	v->avail_idx = 0;
	v->next_desc = 0;
	v->nr_popped = 0;
	if (resume && !ret) {
		/* The driver goes on from its index. */
		const uint16_t *idx = gpa_ptr(v, v->avail + 2, 2);

		if (!idx)
			fz_fail("queue resumed with its avail index outside RAM");
		v->avail_idx = le16toh(*idx);
	}
}

static void put_desc(struct vqf *v, uint64_t at, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct vring_desc d = {
		.addr = htole64(addr),
		.len = htole32(len),
		.flags = htole16(flags),
		.next = htole16(next),
	};

	gwrite(v, at, &d, sizeof(d));
}

static void publish(struct vqf *v, uint16_t head)
{
	if (!v->size)
		return;
	gput16(v, v->avail + 4 + 2ull * (v->avail_idx & (v->size - 1)), head);
	v->avail_idx++;
	gput16(v, v->avail + 2, v->avail_idx);
}

/* A well-formed chain of buffers in the first region (an easy start). */
static void op_chain(struct vqf *v, struct fz *f)
{
	uint8_t x = fz_u8(f);
	unsigned int n = 1 + (x & 7), i;
	uint64_t base = v->mem.nr ? v->mem.region[0].gpa : 0;
	uint16_t head;

	if (!v->size)
		return;
	head = v->next_desc & (v->size - 1);
	if (x & 8) {	/* through an indirect table after the used ring */
		uint64_t tab = v->used + 6 + 8ull * v->size + 2;

		tab = (tab + 15) & ~15ull;
		for (i = 0; i < n; i++) {
			uint64_t a = base + fz_u16(f);
			uint32_t len = fz_u16(f);
			uint8_t w = fz_u8(f) & 1;

			put_desc(v, tab + 16ull * i, a, len,
				 (w ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0), i + 1);
		}
		put_desc(v, v->desc + 16ull * head, tab, 16 * n,
			 VRING_DESC_F_INDIRECT, 0);
		v->next_desc = head + 1;
	} else {
		for (i = 0; i < n; i++) {
			uint16_t idx = (head + i) & (v->size - 1);
			uint64_t a = base + fz_u16(f);
			uint32_t len = fz_u16(f);
			uint8_t w = fz_u8(f) & 1;

			put_desc(v, v->desc + 16ull * idx, a, len,
				 (w ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0),
				 (idx + 1) & (v->size - 1));
		}
		v->next_desc = head + n;
	}
	publish(v, head);
}

static void op_pop(struct vqf *v, struct fz *f)
{
	uint16_t x = fz_u16(f);
	struct vq_buf b = { .cap = 1 + (x & 0x7fff) % MAX_CAP, .iov = v->iov };
	int ret, pending = 1;

	/* Ask first, as fail_queue() does, or pop straight away. */
	if (x & 0x8000)
		pending = vq_pending(&v->vq);

	ret = vq_pop(&v->vq, &b);
	if (ret < 0 && !vq_error(&v->vq)[0])
		fz_fail("vq_pop failed without saying why");
	if (ret > 0 && pending == 0)
		fz_fail("vq_pop took a chain, vq_pending said there was none");
	if (ret != 1)
		return;
	check_buf(v, &b);
	if (v->nr_popped < MAX_POPPED) {
		v->popped[v->nr_popped++] = b.head;
		v->can_unpop = true;
	} else {
		vq_push(&v->vq, b.head, 0);
	}
}

static void op_push(struct vqf *v, struct fz *f, bool many)
{
	uint16_t heads[MAX_POPPED];
	uint32_t lens[MAX_POPPED];
	unsigned int n = many ? fz_u8(f) % (MAX_POPPED + 1) : 1, i, k = 0;

	for (i = 0; i < n && v->nr_popped; i++) {
		unsigned int j = fz_u8(f) % v->nr_popped;

		heads[k] = v->popped[j];
		lens[k++] = fz_u32(f);
		v->popped[j] = v->popped[--v->nr_popped];
	}
	if (many)
		vq_push_n(&v->vq, heads, lens, k);
	else if (k)
		vq_push(&v->vq, heads[0], lens[0]);
}

/* An in-flight record of cap heads; the input may write into it. */
static void op_track(struct vqf *v, struct fz *f)
{
	uint8_t how = fz_u8(f);
	unsigned int cap = 16 ^ fz_u16(f);

	/* As its callers do: while the queue is reset. */
	vq_reset(&v->vq);
	v->size = 0;
	v->nr_popped = 0;
	vq_track(&v->vq, NULL, 0);
	free(v->ifl);
	v->ifl = NULL;
	v->ifl_cap = 0;
	if (how & 1 || cap > VQ_MAX_SIZE)
		return;		/* no record */
	v->ifl = calloc(1, vq_inflight_bytes(cap));
	if (!v->ifl)
		fz_fail("out of memory");
	v->ifl_cap = cap;
	v->ifl->size = cap;
	vq_track(&v->vq, v->ifl, cap);
}

static void op_ifl_write(struct vqf *v, struct fz *f)
{
	uint8_t which = fz_u8(f);
	uint64_t val = fz_u64(f);

	if (!v->ifl)
		return;
	switch (which & 3) {
	case 0:
		v->ifl->seq = val;
		break;
	case 1:
		v->ifl->used_idx = val;
		break;
	default:
		if (v->ifl_cap)
			v->ifl->head[(which >> 2) % v->ifl_cap] =
				which & 1 ? val : (val & 0xffff) | VQ_INFLIGHT_MARK;
		break;
	}
}

enum {
	OP_SETUP,	/* flags, size16 ^ 16, [desc, avail, used ^ defaults] */
	OP_WRITE,	/* region8, off16, len8, bytes */
	OP_CHAIN,	/* n|indirect, n x (off16, len16, write8) */
	OP_DESC,	/* idx16, addr64, len32, flags16, next16 */
	OP_AVAIL,	/* head16 */
	OP_AVAIL_IDX,	/* idx16 */
	OP_POP,		/* cap16 */
	OP_PUSH,	/* which8, len32 */
	OP_PUSH_N,	/* n8, n x (which8, len32) */
	OP_UNPOP,
	OP_SIGNAL,
	OP_EVENT,	/* which8, val16: avail flags or used_event */
	OP_RESET,
	OP_TRACK,	/* how8, cap16 ^ 16 */
	OP_IFL,		/* which8, val64 */
	OP_RESUME,	/* as OP_SETUP */
	OP_MAX
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct vqf *v = calloc(1, sizeof(*v));
	unsigned int i;

	if (!v || vq_init(&v->vq))
		fz_fail("out of memory");
	setup_regions(v, &f);
	op_setup(v, &f, false);
	while (f.n) {
		uint8_t op = fz_u8(&f) % OP_MAX;
		bool could_unpop = v->can_unpop;

		/* The guest may write its rings between a pop and an unpop. */
		if (op != OP_WRITE && op != OP_AVAIL && op != OP_AVAIL_IDX &&
		    op != OP_DESC && op != OP_EVENT)
			v->can_unpop = false;
		switch (op) {
		case OP_SETUP:
			op_setup(v, &f, false);
			break;
		case OP_WRITE: {
			uint8_t buf[256];
			unsigned int r = fz_u8(&f), len;
			uint64_t gpa;

			gpa = fz_u16(&f);
			len = fz_u8(&f);
			fz_bytes(&f, buf, len);
			if (v->mem.nr)
				gwrite(v, v->mem.region[r % v->mem.nr].gpa + gpa, buf,
				       len);
			break;
		}
		case OP_CHAIN:
			op_chain(v, &f);
			break;
		case OP_DESC: {
			unsigned int idx = fz_u16(&f);
			uint64_t addr = fz_u64(&f);
			uint32_t len = fz_u32(&f);
			uint16_t flags = fz_u16(&f), next = fz_u16(&f);

			if (v->size)
				put_desc(v, v->desc + 16ull * (idx & (v->size - 1)),
					 addr ^ (v->mem.nr ? v->mem.region[0].gpa : 0),
					 len, flags, next);
			break;
		}
		case OP_AVAIL:
			publish(v, fz_u16(&f));
			break;
		case OP_AVAIL_IDX:
			v->avail_idx = fz_u16(&f);
			if (v->size)
				gput16(v, v->avail + 2, v->avail_idx);
			break;
		case OP_POP:
			op_pop(v, &f);
			break;
		case OP_PUSH:
			op_push(v, &f, false);
			break;
		case OP_PUSH_N:
			op_push(v, &f, true);
			break;
		case OP_UNPOP:
			/* Only right after a pop, as its callers do. */
			if (could_unpop) {
				vq_unpop(&v->vq);
				v->nr_popped--;
			}
			break;
		case OP_SIGNAL:
			vq_should_signal(&v->vq);
			break;
		case OP_EVENT: {
			uint8_t which = fz_u8(&f);
			uint16_t val = fz_u16(&f);

			if (v->size)
				gput16(v, which & 1 ? v->avail + 4 + 2ull * v->size :
					  v->avail, val);
			break;
		}
		case OP_RESET:
			vq_reset(&v->vq);
			v->size = 0;
			v->nr_popped = 0;
			break;
		case OP_TRACK:
			op_track(v, &f);
			break;
		case OP_IFL:
			op_ifl_write(v, &f);
			break;
		case OP_RESUME:
			op_setup(v, &f, true);
			break;
		}
	}
	vq_destroy(&v->vq);
	free(v->ifl);
	for (i = 0; i < MAX_REGIONS; i++)
		free(v->ram[i]);
	free(v);
	return 0;
}
