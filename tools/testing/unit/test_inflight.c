// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the virtqueue in-flight records (vq_track, vq_resume) in
 * user/virtio/virtqueue.c.  A "crash" is a struct virtqueue abandoned at
 * some point (as a killed process leaves its rings and record behind) and a
 * fresh one that resumes from the same rings and record.  The crash points
 * a pop or a completion can be cut at are crafted in the record by hand:
 * before the mark, after the mark, after the used ring was published but
 * before the marks were cleared, after the clearing but before accounting,
 * a used entry written but not published; completions out of order; and
 * records that do not add up, which must be refused without being changed.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "tap.h"
#include "virtio/virtqueue.h"

#define RAM_GPA		0x10000ull
#define RAM_SIZE	(1ull << 20)
#define QSZ		8
#define CAP		16	/* record room: larger than the queue */
#define DESC_GPA	RAM_GPA
#define AVAIL_GPA	(RAM_GPA + 0x1000)
#define USED_GPA	(RAM_GPA + 0x2000)
#define DATA_GPA	(RAM_GPA + 0x10000)

static uint8_t *ram;
static struct guest_mem mem;
static struct vq_inflight *rec;
static struct iovec iov[16];
static struct vq_buf buf = { .iov = iov, .cap = 16 };

static struct vring_avail *avail(void)
{
	return (struct vring_avail *)(ram + (AVAIL_GPA - RAM_GPA));
}

static struct vring_used *used(void)
{
	return (struct vring_used *)(ram + (USED_GPA - RAM_GPA));
}

/* One readable descriptor per head, at a distinct data address. */
static void fill_descs(void)
{
	struct vring_desc *d = (struct vring_desc *)(ram + (DESC_GPA - RAM_GPA));
	unsigned int i;

	for (i = 0; i < QSZ; i++) {
		d[i].addr = htole64(DATA_GPA + 0x100 * i);
		d[i].len = htole32(16);
		d[i].flags = 0;
		d[i].next = 0;
	}
}

static void publish(uint16_t head)
{
	uint16_t idx = le16toh(avail()->idx);

	avail()->ring[idx % QSZ] = htole16(head);
	avail()->idx = htole16(idx + 1);
}

static uint16_t used_idx(void)
{
	return le16toh(used()->idx);
}

static uint32_t used_id(uint16_t i)
{
	return le32toh(used()->ring[i % QSZ].id);
}

/* A new "process": a fresh virtqueue on the record. */
static void vq_new(struct virtqueue *vq)
{
	if (vq_init(vq))
		abort();
	vq_track(vq, rec, CAP);
}

static void start(struct virtqueue *vq)
{
	memset(ram, 0, RAM_SIZE);
	memset(rec, 0xa5, vq_inflight_bytes(CAP));	/* setup must clear it */
	fill_descs();
	vq_new(vq);
	if (vq_setup(vq, &mem, QSZ, DESC_GPA, AVAIL_GPA, USED_GPA, false, false))
		abort();
}

static int resume(struct virtqueue *vq)
{
	vq_new(vq);
	return vq_resume(vq, &mem, QSZ, DESC_GPA, AVAIL_GPA, USED_GPA, false,
			 false);
}

static int pop(struct virtqueue *vq)
{
	int r = vq_pop(vq, &buf);

	return r == 1 ? buf.head : -1 - r;
}

static uint64_t mark(uint64_t seq)
{
	return VQ_INFLIGHT_MARK | seq;
}

static void test_tracking(void)
{
	struct virtqueue vq;
	uint16_t heads[2] = { 2, 0 };
	uint32_t lens[2] = { 0, 0 };
	unsigned int i, clear = 1;

	start(&vq);
	TAP_EQ_U64(rec->seq, 0, "track: setup clears seq");
	TAP_EQ_INT(rec->used_idx, 0, "track: setup clears used_idx");
	for (i = 0; i < CAP; i++)
		clear &= rec->head[i] == 0;
	TAP_CHECK(clear, "track: setup clears every mark, also beyond the queue");
	publish(2);
	publish(5);
	publish(0);
	TAP_EQ_INT(pop(&vq), 2, "track: pop head 2");
	TAP_EQ_U64(rec->head[2], mark(0), "track: head 2 marked with pop 0");
	TAP_EQ_U64(rec->seq, 1, "track: seq counts the pop");
	TAP_EQ_INT(pop(&vq), 5, "track: pop head 5");
	TAP_EQ_INT(pop(&vq), 0, "track: pop head 0");
	TAP_EQ_U64(rec->head[0], mark(2), "track: head 0 marked with pop 2");
	vq_unpop(&vq);
	TAP_EQ_U64(rec->seq, 2, "track: unpop uncounts");
	TAP_EQ_U64(rec->head[0], 0, "track: unpop clears the mark");
	TAP_EQ_INT(pop(&vq), 0, "track: unpopped head pops again");
	TAP_EQ_U64(rec->head[0], mark(2), "track: with the same pop number");
	vq_push_n(&vq, heads, lens, 2);
	TAP_EQ_U64(rec->head[2] | rec->head[0], 0, "track: completion clears marks");
	TAP_EQ_U64(rec->head[5], mark(1), "track: the other stays marked");
	TAP_EQ_INT(rec->used_idx, 2, "track: used_idx accounted");
	vq_push(&vq, 5, 0);
	TAP_EQ_INT(rec->used_idx, 3, "track: and the last one");
	/* The guest rewrites the avail entry of a popped chain; unpop copes. */
	publish(6);
	TAP_EQ_INT(pop(&vq), 6, "track: pop head 6");
	avail()->ring[3] = htole16(1);
	vq_unpop(&vq);
	TAP_EQ_U64(rec->head[6], 0, "track: unpop clears the mark the entry no longer names");
	TAP_EQ_U64(rec->head[1], 0, "track: and no other");
	TAP_EQ_U64(rec->seq, 3, "track: uncounted");
	vq_reset(&vq);
	TAP_EQ_U64(rec->seq + rec->used_idx + rec->head[5], 0, "track: reset clears the record");
	vq_destroy(&vq);

	start(&vq);
	vq_reset(&vq);
	TAP_EQ_INT(vq_setup(&vq, &mem, 32, DESC_GPA, AVAIL_GPA, USED_GPA, 0, 0),
		   -EINVAL, "track: a queue larger than its record is refused");
	TAP_CHECK(strstr(vq_error(&vq), "in-flight record"), "track: says why");
	vq_destroy(&vq);
}

/* Crashed after popping from the ring, before marking: nothing happened. */
static void test_crash_before_mark(void)
{
	struct virtqueue vq, vq2;

	start(&vq);
	publish(3);
	publish(4);
	/* Pop without a record: the store of the mark never happened. */
	vq_track(&vq, NULL, 0);
	TAP_EQ_INT(pop(&vq), 3, "before mark: popped");
	vq_destroy(&vq);
	TAP_EQ_INT(resume(&vq2), 0, "before mark: resumes");
	TAP_EQ_INT(pop(&vq2), 3, "before mark: head 3 popped from the ring again");
	TAP_EQ_INT(pop(&vq2), 4, "before mark: then head 4");
	TAP_EQ_INT(pop(&vq2), -1, "before mark: then nothing");
	vq_destroy(&vq2);
}

/* Marked but the pop not counted: the pop is done again, once. */
static void test_crash_mark_uncounted(void)
{
	struct virtqueue vq, vq2;

	start(&vq);
	publish(3);
	publish(4);
	TAP_EQ_INT(pop(&vq), 3, "uncounted: popped");
	/* Undo the seq store only: the mark of pop 1 is there, seq is 1. */
	TAP_EQ_INT(pop(&vq), 4, "uncounted: second popped");
	rec->seq = 1;
	vq_destroy(&vq);
	TAP_EQ_INT(resume(&vq2), 0, "uncounted: resumes");
	TAP_EQ_U64(rec->head[4], 0, "uncounted: the uncounted mark is dropped");
	TAP_EQ_INT(pop(&vq2), 3, "uncounted: head 3 replayed");
	TAP_EQ_INT(pop(&vq2), 4, "uncounted: head 4 popped from the ring");
	TAP_EQ_INT(pop(&vq2), -1, "uncounted: exactly once each");
	vq_destroy(&vq2);
}

/* Marked and counted, never completed: replayed, in pop order. */
static void test_crash_after_mark(void)
{
	struct virtqueue vq, vq2;
	unsigned int n;

	start(&vq);
	publish(6);
	publish(1);
	publish(3);
	TAP_EQ_INT(pop(&vq), 6, "after mark: pop 6");
	TAP_EQ_INT(pop(&vq), 1, "after mark: pop 1");
	vq_destroy(&vq);
	TAP_EQ_INT(resume(&vq2), 0, "after mark: resumes");
	TAP_EQ_INT(pop(&vq2), 6, "after mark: head 6 again first");
	TAP_EQ_INT(pop(&vq2), 1, "after mark: then head 1");
	TAP_EQ_INT(pop(&vq2), 3, "after mark: then the ring goes on with head 3");
	TAP_EQ_INT(pop(&vq2), -1, "after mark: nothing more");
	TAP_EQ_U64(rec->head[6], mark(0), "after mark: replayed head keeps its pop number");
	vq_push(&vq2, 1, 7);
	vq_push(&vq2, 6, 8);
	vq_push(&vq2, 3, 9);
	n = used_idx();
	TAP_EQ_INT(n, 3, "after mark: three completions in all");
	TAP_CHECK(used_id(0) == 1 && used_id(1) == 6 && used_id(2) == 3,
		  "after mark: each head completed once");
	TAP_EQ_INT(rec->used_idx, 3, "after mark: accounted");
	vq_destroy(&vq2);

	/* Resuming a clean record replays nothing. */
	TAP_EQ_INT(resume(&vq2), 0, "after mark: a clean record resumes");
	TAP_EQ_INT(pop(&vq2), -1, "after mark: and replays nothing");
	vq_destroy(&vq2);
}

/* Published in the used ring, marks not cleared: done, not replayed. */
static void test_crash_after_publish(void)
{
	struct virtqueue vq, vq2;
	uint64_t m2;

	start(&vq);
	publish(2);
	publish(7);
	TAP_EQ_INT(pop(&vq), 2, "published: pop 2");
	TAP_EQ_INT(pop(&vq), 7, "published: pop 7");
	m2 = rec->head[2];
	vq_push(&vq, 2, 5);
	/* Cut after the used index store: marks and accounting undone. */
	rec->head[2] = m2;
	rec->used_idx = 0;
	vq_destroy(&vq);
	TAP_EQ_INT(resume(&vq2), 0, "published: resumes");
	TAP_EQ_U64(rec->head[2], 0, "published: the completed head is cleared");
	TAP_EQ_INT(rec->used_idx, 1, "published: and accounted");
	TAP_EQ_INT(pop(&vq2), 7, "published: only head 7 is replayed");
	TAP_EQ_INT(pop(&vq2), -1, "published: head 2 is not");
	vq_push(&vq2, 7, 1);
	TAP_EQ_INT(used_idx(), 2, "published: the next completion goes after it");
	TAP_EQ_INT(used_id(1), 7, "published: in the next used entry");
	vq_destroy(&vq2);

	/* Cut after clearing, before accounting: the same outcome. */
	start(&vq);
	publish(2);
	publish(7);
	pop(&vq);
	pop(&vq);
	vq_push(&vq, 2, 5);
	rec->used_idx = 0;
	vq_destroy(&vq);
	TAP_EQ_INT(resume(&vq2), 0, "cleared: resumes");
	TAP_EQ_INT(pop(&vq2), 7, "cleared: head 7 replayed");
	TAP_EQ_INT(pop(&vq2), -1, "cleared: head 2 not");
	vq_destroy(&vq2);
}

/* A used entry written, its index never published: done again. */
static void test_crash_before_publish(void)
{
	struct virtqueue vq, vq2;

	start(&vq);
	publish(4);
	TAP_EQ_INT(pop(&vq), 4, "unpublished: pop 4");
	used()->ring[0].id = htole32(4);
	used()->ring[0].len = htole32(99);
	vq_destroy(&vq);
	TAP_EQ_INT(resume(&vq2), 0, "unpublished: resumes");
	TAP_EQ_INT(pop(&vq2), 4, "unpublished: head 4 replayed");
	vq_push(&vq2, 4, 16);
	TAP_EQ_INT(used_idx(), 1, "unpublished: completed once");
	TAP_EQ_INT(le32toh(used()->ring[0].len), 16, "unpublished: in the same used entry");
	vq_destroy(&vq2);
}

/* Completions out of order: only the ones still out are replayed. */
static void test_out_of_order(void)
{
	struct virtqueue vq, vq2;
	unsigned int i;

	start(&vq);
	for (i = 0; i < 5; i++)
		publish(i);
	for (i = 0; i < 5; i++)
		pop(&vq);
	vq_push(&vq, 3, 0);
	vq_push(&vq, 1, 0);
	vq_push(&vq, 4, 0);
	/* The last completion published but not cleared. */
	rec->head[4] = mark(4);
	rec->used_idx = 2;
	vq_destroy(&vq);
	TAP_EQ_INT(resume(&vq2), 0, "out of order: resumes");
	TAP_EQ_INT(pop(&vq2), 0, "out of order: head 0 replayed first");
	TAP_EQ_INT(pop(&vq2), 2, "out of order: then head 2");
	TAP_EQ_INT(pop(&vq2), -1, "out of order: 1, 3 and 4 are done");
	/* Unpop gives back the replayed chains, in reverse. */
	vq_unpop(&vq2);
	TAP_EQ_INT(pop(&vq2), 2, "out of order: an unpopped replay comes back");
	publish(6);
	TAP_EQ_INT(pop(&vq2), 6, "out of order: then the ring");
	vq_unpop(&vq2);
	TAP_EQ_U64(rec->head[6], 0, "out of order: unpop of a ring pop clears its mark");
	vq_unpop(&vq2);
	vq_unpop(&vq2);
	TAP_EQ_INT(pop(&vq2), 0, "out of order: all replays given back");
	TAP_EQ_INT(pop(&vq2), 2, "out of order: in order");
	TAP_EQ_INT(pop(&vq2), 6, "out of order: the ring entry after them");
	vq_destroy(&vq2);
}

/* Indices across the 16-bit wrap, pop numbers beyond it. */
static void test_wrap(void)
{
	struct virtqueue vq, vq2;

	start(&vq);
	vq_destroy(&vq);
	/* A queue that served 65534 + 3 * 65536 chains. */
	rec->seq = 65534 + 3 * 65536ull;
	rec->used_idx = 65533;
	rec->head[5] = mark(65533 + 3 * 65536ull);
	avail()->idx = htole16(65534);
	used()->idx = htole16(65533);
	publish(1);
	publish(2);
	TAP_EQ_INT(resume(&vq2), 0, "wrap: resumes");
	TAP_EQ_INT(pop(&vq2), 5, "wrap: the old chain first");
	TAP_EQ_INT(pop(&vq2), 1, "wrap: then avail entry 65534");
	TAP_EQ_INT(pop(&vq2), 2, "wrap: then 65535");
	TAP_EQ_U64(rec->head[2], mark(65535 + 3 * 65536ull), "wrap: marks keep counting");
	vq_push(&vq2, 5, 0);
	vq_push(&vq2, 2, 0);
	TAP_EQ_INT(used_idx(), 65535, "wrap: used index");
	vq_push(&vq2, 1, 0);
	TAP_EQ_INT(used_idx(), 0, "wrap: used index wraps");
	TAP_EQ_INT(rec->used_idx, 0, "wrap: recorded too");
	vq_destroy(&vq2);
}

/* A record that does not add up is refused and left alone. */
static void expect_refused(const char *what, const char *needle)
{
	struct virtqueue vq2;
	unsigned long n = vq_inflight_bytes(CAP);
	uint8_t *before = malloc(n);
	char msg[160];

	memcpy(before, rec, n);
	snprintf(msg, sizeof(msg), "hostile: %s: refused", what);
	TAP_EQ_INT(resume(&vq2), -EINVAL, msg);
	snprintf(msg, sizeof(msg), "hostile: %s: says '%s'", what, needle);
	if (!TAP_CHECK(strstr(vq_error(&vq2), needle), msg))
		printf("#   error: %s\n", vq_error(&vq2));
	snprintf(msg, sizeof(msg), "hostile: %s: record unchanged", what);
	TAP_CHECK(!memcmp(before, rec, n), msg);
	snprintf(msg, sizeof(msg), "hostile: %s: queue not usable", what);
	TAP_EQ_INT(pop(&vq2), -1, msg);
	vq_destroy(&vq2);
	free(before);
}

/* Two chains popped, none completed, as the base of each hostile case. */
static void base(void)
{
	struct virtqueue vq;

	start(&vq);
	publish(1);
	publish(2);
	pop(&vq);
	pop(&vq);
	vq_destroy(&vq);
}

static void test_hostile(void)
{
	struct virtqueue vq2;

	base();
	rec->seq = 9;
	expect_refused("more in flight than the queue holds", "in a queue of 8");

	base();
	used()->idx = htole16(3);
	expect_refused("used index beyond what was in flight", "only 2 chains were in flight");

	base();
	used()->idx = htole16(1);
	used()->ring[0].id = htole32(8);
	expect_refused("used entry naming a head beyond the queue", "beyond the queue size");

	base();
	rec->head[1] = 5;
	expect_refused("a mark without its bit", "no valid mark");

	base();
	rec->head[12] = mark(0);
	expect_refused("a mark beyond the queue size", "beyond the queue size 8");

	base();
	rec->head[2] = mark(7);
	expect_refused("a pop after the last one", "after the last recorded pop");

	base();
	rec->head[2] = mark(0);
	expect_refused("one pop, two heads", "same pop");

	base();
	rec->head[2] = 0;
	expect_refused("a mark missing", "its indices say 2");

	base();
	rec->head[5] = mark(1) - 1;
	expect_refused("a mark too many", "marks 3 chains");

	base();
	vq_new(&vq2);
	vq_track(&vq2, NULL, 0);
	TAP_EQ_INT(vq_resume(&vq2, &mem, QSZ, DESC_GPA, AVAIL_GPA, USED_GPA, 0, 0),
		   -EINVAL, "hostile: no record: refused");
	TAP_CHECK(strstr(vq_error(&vq2), "no in-flight record"), "hostile: no record: says so");
	vq_destroy(&vq2);

	base();
	vq_new(&vq2);
	TAP_EQ_INT(vq_resume(&vq2, &mem, QSZ, DESC_GPA, RAM_GPA + RAM_SIZE, USED_GPA, 0, 0),
		   -EINVAL, "hostile: rings outside RAM: refused");
	vq_destroy(&vq2);

	/* A replayed chain the guest broke meanwhile breaks the queue. */
	base();
	((struct vring_desc *)ram)[1].addr = htole64(RAM_GPA + RAM_SIZE);
	TAP_EQ_INT(resume(&vq2), 0, "hostile: broken replayed chain: resume works");
	TAP_EQ_INT(vq_pop(&vq2, &buf), -EIO, "hostile: broken replayed chain: pop fails");
	vq_destroy(&vq2);
}

int main(void)
{
	ram = calloc(1, RAM_SIZE);
	rec = calloc(1, vq_inflight_bytes(CAP));
	if (!ram || !rec || guest_mem_add(&mem, RAM_GPA, RAM_SIZE, ram))
		return 1;
	rec->size = CAP;
	test_tracking();
	test_crash_before_mark();
	test_crash_mark_uncounted();
	test_crash_after_mark();
	test_crash_after_publish();
	test_crash_before_publish();
	test_out_of_order();
	test_wrap();
	test_hostile();
	free(rec);
	free(ram);
	return tap_done();
}
