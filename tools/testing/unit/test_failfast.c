// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of failing, instead of replaying, what a guest asked before a
 * new process took its devices over (VIRTIO_RESUME_FAIL):
 *
 *  - bridge_takeover_policy(): which policy a retry timeout and an outage
 *    give (a table);
 *  - vq_pending(): the boundary, chains taken again then the avail ring;
 *  - virtio_dev_takeover() on a test device whose fail_request callback
 *    records what it is asked: every request made before completes once,
 *    in order (the chains the old process took, oldest first, then the
 *    avail ring), with what the device said; a completion the old process
 *    published but did not account is not failed again; a queue the
 *    device keeps is served as usual; what the guest asks afterwards is
 *    served; a chain that cannot carry an error, or a hostile avail
 *    index, fails the device without touching the rings; a device without
 *    the callback, or one that was not running, is replayed.
 *
 * A "process" is a bus with its own device and host; guest RAM and the
 * in-flight records (a buffer here) outlive it, as they outlive a killed
 * device daemon.  The devices' own answers are in test_failfast_devices.c.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "bridge/backend.h"
#include "tap.h"
#include "virtio/vstate.h"
#include "vtest.h"

#define GEN		7
#define COOKIE		0x600df00dull
#define DEVFN		PCI_DEVFN(0, 0)
#define BAR		0xe0000000ull
#define QSIZE		16
#define BLOB_MAX	65536
#define DONE_LEN	7	/* what the device's normal service writes */
#define FAIL_LEN	3	/* what its fail_request says it wrote */
#define ST_RUNNING	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
			 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)

/* --- the policy ------------------------------------------------------------ */

static void test_policy(void)
{
	static const struct {
		bool known;
		int32_t retry;
		uint32_t down;
		uint64_t since_open;
		enum virtio_resume_policy want;
		const char *what;
	} t[] = {
		{ false, 0, 0, 0, VIRTIO_RESUME_REPLAY,
		  "module without the fields: replay, as before" },
		{ false, 0, 99999, 99999, VIRTIO_RESUME_REPLAY,
		  "module without the fields: whatever the outage" },
		{ true, -1, 0, 0, VIRTIO_RESUME_REPLAY, "retry -1, no outage: replay" },
		{ true, -1, UINT32_MAX, 100000, VIRTIO_RESUME_REPLAY,
		  "retry -1, the longest outage: replay" },
		{ true, INT32_MIN, 5, 0, VIRTIO_RESUME_REPLAY, "retry INT32_MIN: replay" },
		{ true, 0, 0, 0, VIRTIO_RESUME_FAIL, "retry 0, 0 ms: fail" },
		{ true, 0, 1, 0, VIRTIO_RESUME_FAIL, "retry 0, 1 ms: fail" },
		{ true, 0, 100000, 5, VIRTIO_RESUME_FAIL, "retry 0, long outage: fail" },
		{ true, 100, 50, 0, VIRTIO_RESUME_REPLAY, "retry 100, 50 ms: replay" },
		{ true, 100, 100, 0, VIRTIO_RESUME_REPLAY, "retry 100, 100 ms: replay" },
		{ true, 100, 101, 0, VIRTIO_RESUME_FAIL, "retry 100, 101 ms: fail" },
		{ true, 100, 60, 40, VIRTIO_RESUME_REPLAY,
		  "retry 100, 60 ms down + 40 since the open: replay" },
		{ true, 100, 60, 41, VIRTIO_RESUME_FAIL,
		  "retry 100, 60 ms down + 41 since the open: fail" },
		{ true, 100, 0, 101, VIRTIO_RESUME_FAIL,
		  "retry 100, a slow start alone: fail" },
		{ true, INT32_MAX, UINT32_MAX, 0, VIRTIO_RESUME_FAIL,
		  "retry INT32_MAX, saturated outage: fail" },
		{ true, INT32_MAX, INT32_MAX, 0, VIRTIO_RESUME_REPLAY,
		  "retry INT32_MAX, outage INT32_MAX: replay" },
		{ true, 1, 0, UINT64_MAX - UINT32_MAX, VIRTIO_RESUME_FAIL,
		  "a huge time since the open does not wrap" },
		{ true, INT32_MAX, 1, UINT64_MAX, VIRTIO_RESUME_FAIL,
		  "the outage plus the time since the open does not wrap" },
	};
	struct vbridge_backend_info info;
	unsigned int i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&info, 0, sizeof(info));
		info.flags = t[i].known ? VBRIDGE_BE_INFO_F_RETRY : 0;
		info.retry_timeout_ms = t[i].retry;
		info.down_ms = t[i].down;
		TAP_EQ_INT(bridge_takeover_policy(&info, t[i].since_open), t[i].want,
			   t[i].what);
	}
}

/* --- vq_pending() ---------------------------------------------------------- */

static void test_pending(void)
{
	struct vt_host *vh = vt_host_new();
	uint64_t desc = vt_alloc(vh, 16 * 8, 16), avail = vt_alloc(vh, 6 + 2 * 8, 2);
	uint64_t used = vt_alloc(vh, 6 + 8 * 8, 4);
	struct vq_inflight *rec = calloc(1, vq_inflight_bytes(8));
	struct vring_desc *d = vt_ptr(vh, desc);
	struct vring_avail *a = vt_ptr(vh, avail);
	struct iovec iov[4];
	struct vq_buf b = { .iov = iov, .cap = 4 };
	struct virtqueue vq;
	unsigned int i;

	for (i = 0; i < 8; i++) {
		d[i].addr = htole64(vt_alloc(vh, 16, 8));
		d[i].len = htole32(16);
	}
	vq_init(&vq);
	TAP_EQ_INT(vq_pending(&vq), 0, "pending: a queue not set up has none");
	vq_track(&vq, rec, 8);
	vq_setup(&vq, &vh->mem, 8, desc, avail, used, false, false);
	TAP_EQ_INT(vq_pending(&vq), 0, "pending: an empty ring has none");
	for (i = 0; i < 3; i++)
		a->ring[i] = htole16(i);
	a->idx = htole16(3);
	TAP_EQ_INT(vq_pending(&vq), 3, "pending: three on the avail ring");
	vq_pop(&vq, &b);
	TAP_EQ_INT(vq_pending(&vq), 2, "pending: a pop takes one");
	vq_destroy(&vq);

	/* A new process: the one popped is in flight, two wait on the ring. */
	vq_init(&vq);
	vq_track(&vq, rec, 8);
	TAP_EQ_INT(vq_resume(&vq, &vh->mem, 8, desc, avail, used, false, false), 0,
		   "pending: resumed");
	TAP_EQ_INT(vq_pending(&vq), 3, "pending: the one taken again, then the ring's");
	TAP_EQ_INT(vq_pop(&vq, &b), 1, "pending: pop");
	TAP_EQ_INT(b.head, 0, "pending: the one taken again comes first");
	TAP_EQ_INT(vq_pending(&vq), 2, "pending: two left");
	a->idx = htole16(1 + 9);
	TAP_EQ_INT(vq_pending(&vq), -EIO, "pending: an avail index 9 ahead in 8 breaks the queue");
	TAP_CHECK(strstr(vq_error(&vq), "ran 9 entries ahead"), "pending: says why");
	TAP_EQ_INT(vq_pop(&vq, &b), -EIO, "pending: the queue is broken");
	vq_destroy(&vq);
	free(rec);
	vt_host_free(vh);
}

/* --- a test device ------------------------------------------------------------ */

enum td_mode {
	TD_NORMAL,	/* queue 0: DONE with FAIL_LEN; queue 1: KEEP */
	TD_BAD_THIRD,	/* the third chain asked about is BAD */
};

/**
 * struct td - a device that records what the transport asks it to fail
 * @vd: transport
 * @mode: how fail_request answers
 * @nr_asked: calls of fail_request
 * @asked_q: the queue of each call
 * @asked_head: the head of each call
 * @iov: segments of the chain being served (I/O thread)
 * @buf: that chain
 */
struct td {
	struct virtio_dev vd;
	enum td_mode mode;
	unsigned int nr_asked;
	unsigned int asked_q[64];
	uint16_t asked_head[64];
	struct iovec iov[QSIZE];
	struct vq_buf buf;
};

/* Normal service: every chain completes with DONE_LEN. */
static void td_notify(struct virtio_dev *vd, unsigned int q)
{
	struct td *t = (struct td *)vd;
	bool pushed = false;

	while (virtio_dev_pop(vd, q, &t->buf) > 0) {
		vq_push(virtio_dev_vq(vd, q), t->buf.head, DONE_LEN);
		pushed = true;
	}
	if (pushed)
		virtio_dev_signal(vd, q);
}

static enum virtio_fail_result td_fail(struct virtio_dev *vd, unsigned int q,
				       const struct vq_buf *b, uint32_t *len)
{
	struct td *t = (struct td *)vd;
	unsigned int n = t->nr_asked++;

	if (n < 64) {
		t->asked_q[n] = q;
		t->asked_head[n] = b->head;
	}
	if (t->mode == TD_BAD_THIRD && n == 2)
		return VIRTIO_FAIL_BAD;
	if (q == 1)
		return VIRTIO_FAIL_KEEP;
	*len = FAIL_LEN;
	return VIRTIO_FAIL_DONE;
}

static void td_free(struct virtio_dev *vd)
{
	free(vd);
}

static const struct virtio_dev_ops td_ops = {
	.queue_notify = td_notify,
	.fail_request = td_fail,
	.free = td_free,
};

/* The same without fail_request: its requests are replayed. */
static const struct virtio_dev_ops td_ops_nofail = {
	.queue_notify = td_notify,
	.free = td_free,
};

static struct virtio_dev *td_new(const struct virtio_dev_ops *ops)
{
	static const struct virtio_dev_info info = {
		.name = "test-dev",
		.device_id = 63,
		.pci_class = 0xff0000,
		.num_queues = 2,
		.queue_size = QSIZE,
	};
	struct td *t = calloc(1, sizeof(*t));

	t->buf.iov = t->iov;
	t->buf.cap = QSIZE;
	if (virtio_dev_init(&t->vd, ops, &info)) {
		free(t);
		return NULL;
	}
	return &t->vd;
}

/* --- processes on one guest -------------------------------------------------- */

static struct vt_host *guest;
static uint8_t *ifl;
static size_t ifl_len;
static uint8_t *blob;
static ssize_t blob_len;

struct proc {
	struct vt_host *vh;
	struct pci_bus *bus;
	struct virtio_dev *vd;
};

static struct vt_host *host_new(void)
{
	struct vt_host *h = calloc(1, sizeof(*h));

	h->ram = guest->ram;
	guest_mem_add(&h->mem, VT_RAM_GPA, VT_RAM_SIZE, h->ram);
	h->host.ops = &vt_host_ops;
	h->host.mem = &h->mem;
	h->host.priv = h;
	return h;
}

static int proc_start(struct proc *p, const struct virtio_dev_ops *ops)
{
	p->vh = host_new();
	p->bus = pci_bus_new(&p->vh->host);
	p->vd = td_new(ops);
	if (!p->vd)
		return -1;
	pci_bus_add(p->bus, DEVFN, &p->vd->func);
	return virtio_dev_start(p->vd);
}

static void proc_kill(struct proc *p)
{
	pci_bus_free(p->bus);
	free(p->vh);
	p->bus = NULL;
}

static struct td *td_of(struct proc *p)
{
	return (struct td *)p->vd;
}

/* A one-descriptor chain of 16 writable bytes; returns its head. */
static uint16_t post(struct vt_dev *d, unsigned int q)
{
	struct vt_seg seg = { vt_alloc(guest, 16, 8), 16, true };

	return vt_add(d, q, &seg, 1);
}

static struct vq_inflight *record(struct proc *p, unsigned int q)
{
	return p->vd->queues[q].vq.ifl;
}

/* The old process took the chain at the next avail entry (pop counted). */
static void took(struct vq_inflight *r, uint16_t head)
{
	r->head[head] = VQ_INFLIGHT_MARK | r->seq;
	r->seq++;
}

/*
 * ... and published its completion in the used ring, then died before it
 * cleared the mark and accounted it.
 */
static void published(struct vt_dev *d, unsigned int q, uint16_t head)
{
	struct vring_used *u = vt_ptr(guest, d->q[q].used);
	uint16_t idx = le16toh(u->idx);

	u->ring[idx % d->q[q].size].id = htole32(head);
	u->ring[idx % d->q[q].size].len = htole32(DONE_LEN);
	__atomic_store_n(&u->idx, htole16(idx + 1), __ATOMIC_RELEASE);
}

static uint16_t post(struct vt_dev *d, unsigned int q);

/*
 * Process A: the driver brings the device up and A serves one request on
 * queue 0 (its head in *served, may be NULL); the state is saved; then A
 * takes nothing more, as a process that is about to die.
 */
static int first_process(struct proc *a, struct vt_dev *d, uint16_t *served)
{
	uint32_t id, len;
	uint16_t c;

	if (proc_start(a, &td_ops))
		return -1;
	ifl_len = vstate_ifl_size(&a->vd, 1);
	free(ifl);
	ifl = calloc(1, ifl_len);
	vstate_ifl_init(&a->vd, 1, ifl, ifl_len, GEN, COOKIE);
	vt_probe(d, guest, a->bus, DEVFN, BAR);
	if (vt_bringup(d, 0, 2))
		return -1;
	c = post(d, 0);
	vt_kick(d, 0);
	if (!vt_wait_used(d, 0, &id, &len) || id != c || len != DONE_LEN)
		return -1;
	if (served)
		*served = c;
	blob_len = vstate_save(&a->vd, 1, GEN, COOKIE, blob, BLOB_MAX);
	virtio_dev_pause(a->vd);
	return blob_len > 0 ? 0 : -1;
}

/* Process B takes over with policy; returns vstate_takeover()'s result. */
static int take_over(struct proc *b, struct vt_dev *d,
		     const struct virtio_dev_ops *ops,
		     enum virtio_resume_policy policy, unsigned int *count)
{
	char why[256] = "";
	int ret;

	if (proc_start(b, ops))
		return -100;
	d->bus = b->bus;
	if (vstate_check(&b->vd, 1, blob, blob_len, GEN, why, sizeof(why))) {
		printf("#   %s\n", why);
		return -101;
	}
	ret = vstate_takeover(&b->vd, 1, blob, blob_len, ifl, ifl_len, policy, count,
			      why, sizeof(why));
	if (ret)
		printf("#   %s\n", why);
	return ret;
}

/* The next used entry of queue q: its head and length, without waiting. */
static bool used_next(struct vt_dev *d, unsigned int q, uint32_t *id, uint32_t *len)
{
	if (!vt_used_pending(d, q))
		return false;
	return vt_wait_used(d, q, id, len);
}

/*
 * The old process completed c0, took c1, took c2 and published its
 * completion, took c3; c4 waits on the ring.  On queue 1 it took k0; k1
 * waits.  The new process fails: c1, c3, c4 complete once, in that order,
 * with what the device said; c2 is not failed again; queue 1 is kept and
 * served; what the guest asks then is served.
 */
static void test_fail_order(void)
{
	uint16_t c[6], k[2];
	struct proc a, b;
	struct vt_dev d;
	struct vq_inflight *r0, *r1;
	unsigned int count = 99, i;
	uint32_t id, len;
	bool clear = true;

	TAP_CHECK(!first_process(&a, &d, &c[0]), "order: process A up, serves c0");
	r0 = record(&a, 0);
	r1 = record(&a, 1);
	for (i = 1; i <= 4; i++)
		c[i] = post(&d, 0);
	took(r0, c[1]);
	took(r0, c[2]);
	published(&d, 0, c[2]);
	took(r0, c[3]);
	k[0] = post(&d, 1);
	k[1] = post(&d, 1);
	took(r1, k[0]);
	proc_kill(&a);

	TAP_EQ_INT(take_over(&b, &d, &td_ops, VIRTIO_RESUME_FAIL, &count), 0,
		   "order: B takes over, failing");
	TAP_EQ_INT(count, 3, "order: three requests failed");
	TAP_EQ_INT(td_of(&b)->nr_asked, 4, "order: the device was asked about four chains");
	TAP_CHECK(td_of(&b)->asked_q[0] == 0 && td_of(&b)->asked_head[0] == c[1] &&
		  td_of(&b)->asked_q[1] == 0 && td_of(&b)->asked_head[1] == c[3] &&
		  td_of(&b)->asked_q[2] == 0 && td_of(&b)->asked_head[2] == c[4],
		  "order: queue 0: the taken ones oldest first, then the ring's");
	TAP_CHECK(td_of(&b)->asked_q[3] == 1 && td_of(&b)->asked_head[3] == k[0],
		  "order: queue 1 asked once, about the chain taken again");

	/* The used ring right after the takeover, nothing waited for. */
	TAP_CHECK(used_next(&d, 0, &id, &len) && id == c[2] && len == DONE_LEN,
		  "order: the completion A published stands");
	TAP_CHECK(used_next(&d, 0, &id, &len) && id == c[1] && len == FAIL_LEN,
		  "order: c1 failed first");
	TAP_CHECK(used_next(&d, 0, &id, &len) && id == c[3] && len == FAIL_LEN,
		  "order: then c3");
	TAP_CHECK(used_next(&d, 0, &id, &len) && id == c[4] && len == FAIL_LEN,
		  "order: then c4 from the ring");
	TAP_EQ_INT(r0->seq, 5, "order: the record counts every pop");
	TAP_EQ_INT(r0->used_idx, 5, "order: and every completion");
	for (i = 0; i < QSIZE; i++)
		clear &= !r0->head[i];
	TAP_CHECK(clear, "order: no chain of queue 0 is marked in flight");
	TAP_CHECK(vt_intx(b.vh, DEVFN), "order: the guest is interrupted");

	/* Queue 1 is the device's to serve: taken again, then the ring. */
	TAP_CHECK(vt_wait_used(&d, 1, &id, &len) && id == k[0] && len == DONE_LEN,
		  "order: queue 1's chain taken again is served");
	TAP_CHECK(vt_wait_used(&d, 1, &id, &len) && id == k[1] && len == DONE_LEN,
		  "order: then its ring");

	/* Exactly once: the next request completes next, and is served. */
	c[5] = post(&d, 0);
	vt_kick(&d, 0);
	TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && id == c[5] && len == DONE_LEN,
		  "order: a request made after the takeover is served");
	virtio_dev_pause(b.vd);
	TAP_EQ_INT(vt_used_pending(&d, 0) + vt_used_pending(&d, 1), 0,
		   "order: nothing completed twice");
	TAP_EQ_INT(vt_status(&d), ST_RUNNING, "order: the device runs on");
	proc_kill(&b);
}

/* The same crash replayed: the taken chains and the ring are served. */
static void test_replay(void)
{
	uint16_t c[4];
	struct proc a, b;
	struct vt_dev d;
	unsigned int count = 99, i;
	uint32_t id, len;

	TAP_CHECK(!first_process(&a, &d, NULL), "replay: process A up");
	for (i = 0; i < 3; i++)
		c[i] = post(&d, 0);
	took(record(&a, 0), c[0]);
	took(record(&a, 0), c[1]);
	proc_kill(&a);
	TAP_EQ_INT(take_over(&b, &d, &td_ops, VIRTIO_RESUME_REPLAY, &count), 0,
		   "replay: B takes over, replaying");
	TAP_EQ_INT(count, 2, "replay: two requests taken again");
	TAP_EQ_INT(td_of(&b)->nr_asked, 0, "replay: nothing is failed");
	for (i = 0; i < 3; i++)
		TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && id == c[i] && len == DONE_LEN,
			  i == 0 ? "replay: c0 served" : i == 1 ? "replay: c1 served" :
			  "replay: c2 served");
	c[3] = post(&d, 0);
	vt_kick(&d, 0);
	TAP_CHECK(vt_wait_used(&d, 0, &id, NULL) && id == c[3], "replay: and c3 next");
	proc_kill(&b);
}

/* A device without fail_request is replayed under the fail policy too. */
static void test_no_callback(void)
{
	uint16_t c[2];
	struct proc a, b;
	struct vt_dev d;
	unsigned int count = 99;
	uint32_t id, len;

	TAP_CHECK(!first_process(&a, &d, NULL), "no callback: process A up");
	c[0] = post(&d, 0);
	c[1] = post(&d, 0);
	took(record(&a, 0), c[0]);
	proc_kill(&a);
	TAP_EQ_INT(take_over(&b, &d, &td_ops_nofail, VIRTIO_RESUME_FAIL, &count), 0,
		   "no callback: B takes over");
	TAP_EQ_INT(count, 1, "no callback: counts the one taken again");
	TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && id == c[0] && len == DONE_LEN,
		  "no callback: the taken one is served");
	TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && id == c[1] && len == DONE_LEN,
		  "no callback: the ring's too");
	proc_kill(&b);
}

/* A chain that cannot carry the error fails the device; no more is done. */
static void test_bad_chain(void)
{
	uint16_t c[4];
	struct proc a, b;
	struct vt_dev d;
	unsigned int count = 99, i;
	uint32_t id, len;
	uint64_t v = 0;

	TAP_CHECK(!first_process(&a, &d, NULL), "bad chain: process A up");
	for (i = 0; i < 3; i++)
		c[i] = post(&d, 0);
	proc_kill(&a);
	TAP_CHECK(proc_start(&b, &td_ops) == 0, "bad chain: process B up");
	td_of(&b)->mode = TD_BAD_THIRD;
	d.bus = b.bus;
	{
		char why[256];

		vstate_takeover(&b.vd, 1, blob, blob_len, ifl, ifl_len,
				VIRTIO_RESUME_FAIL, &count, why, sizeof(why));
	}
	TAP_EQ_INT(count, 2, "bad chain: the two before it failed");
	TAP_CHECK(used_next(&d, 0, &id, &len) && id == c[0] && len == FAIL_LEN &&
		  used_next(&d, 0, &id, &len) && id == c[1] && len == FAIL_LEN,
		  "bad chain: in order");
	TAP_EQ_INT(vt_used_pending(&d, 0), 0, "bad chain: nothing after it completed");
	TAP_EQ_INT(vt_status(&d), ST_RUNNING | VIRTIO_CONFIG_S_NEEDS_RESET,
		   "bad chain: the device asks for a reset");
	pci_bus_mmio(b.bus, BAR + VIRTIO_PCI_ISR_OFF, 1, false, &v);
	TAP_CHECK(v & 2, "bad chain: with a configuration interrupt");
	c[3] = post(&d, 0);
	vt_kick(&d, 0);
	vt_msleep(20);
	TAP_EQ_INT(vt_used_pending(&d, 0), 0, "bad chain: the failed device takes nothing");
	TAP_CHECK(!vt_bringup(&d, 0, 2), "bad chain: the driver resets it");
	post(&d, 0);
	vt_kick(&d, 0);
	TAP_CHECK(vt_wait_used(&d, 0, NULL, &len) && len == DONE_LEN,
		  "bad chain: and it works again");
	proc_kill(&b);
}

/* An avail index that ran too far ahead: failed device, rings untouched. */
static void test_hostile_index(void)
{
	struct vring_avail *av;
	struct vring_used *u;
	struct proc a, b;
	struct vt_dev d;
	unsigned int count = 99;
	uint16_t before;

	TAP_CHECK(!first_process(&a, &d, NULL), "hostile index: process A up");
	post(&d, 0);
	proc_kill(&a);
	av = vt_ptr(guest, d.q[0].avail);
	u = vt_ptr(guest, d.q[0].used);
	av->idx = htole16(le16toh(av->idx) + QSIZE + 1);
	before = le16toh(u->idx);
	take_over(&b, &d, &td_ops, VIRTIO_RESUME_FAIL, &count);
	TAP_EQ_INT(count, 0, "hostile index: nothing failed");
	TAP_EQ_INT(td_of(&b)->nr_asked, 0, "hostile index: the device was asked nothing");
	TAP_EQ_INT(le16toh(u->idx), before, "hostile index: the used ring is untouched");
	TAP_EQ_INT(vt_status(&d), ST_RUNNING | VIRTIO_CONFIG_S_NEEDS_RESET,
		   "hostile index: the device asks for a reset");
	proc_kill(&b);
}

/*
 * A chain made available after the takeover, whose kick the host lost,
 * is found when the host looks at every queue (virtio_dev_kick_all).
 */
static void test_kick_all(void)
{
	struct proc a, b;
	struct vt_dev d;
	unsigned int count;
	uint32_t id;
	uint16_t c;

	TAP_CHECK(!first_process(&a, &d, NULL), "look again: process A up");
	proc_kill(&a);
	take_over(&b, &d, &td_ops, VIRTIO_RESUME_FAIL, &count);
	/* A request served: the takeover's own look has run by then. */
	post(&d, 0);
	vt_kick(&d, 0);
	TAP_CHECK(vt_wait_used(&d, 0, NULL, NULL), "look again: a kicked request is served");
	c = post(&d, 0);
	vt_msleep(20);
	TAP_EQ_INT(vt_used_pending(&d, 0), 0, "look again: not seen without a kick");
	virtio_dev_kick_all(b.vd);
	TAP_CHECK(vt_wait_used(&d, 0, &id, NULL) && id == c,
		  "look again: served after virtio_dev_kick_all");
	proc_kill(&b);
}

/* Saved before DRIVER_OK: nothing was taken, nothing is failed. */
static void test_not_running(void)
{
	struct proc a, b;
	struct vt_dev d;
	unsigned int count = 99;
	uint32_t len;
	char why[256];

	TAP_CHECK(!proc_start(&a, &td_ops), "not running: process A up");
	vstate_ifl_init(&a.vd, 1, ifl, ifl_len, GEN, COOKIE);
	vt_probe(&d, guest, a.bus, DEVFN, BAR);
	vt_negotiate(&d, 1ull << VIRTIO_F_VERSION_1);
	vt_queue_setup(&d, 0, 8);
	post(&d, 0);
	blob_len = vstate_save(&a.vd, 1, GEN, COOKIE, blob, BLOB_MAX);
	proc_kill(&a);
	TAP_CHECK(!proc_start(&b, &td_ops), "not running: process B up");
	d.bus = b.bus;
	vstate_takeover(&b.vd, 1, blob, blob_len, ifl, ifl_len, VIRTIO_RESUME_FAIL,
			&count, why, sizeof(why));
	TAP_EQ_INT(count, 0, "not running: nothing failed");
	TAP_EQ_INT(td_of(&b)->nr_asked, 0, "not running: the device was asked nothing");
	vt_driver_ok(&d);
	TAP_CHECK(vt_wait_used(&d, 0, NULL, &len) && len == DONE_LEN,
		  "not running: the driver finishes; the request is served");
	proc_kill(&b);
}

int main(void)
{
	guest = vt_host_new();
	blob = malloc(BLOB_MAX);
	test_policy();
	test_pending();
	test_fail_order();
	test_replay();
	test_no_callback();
	test_bad_chain();
	test_hostile_index();
	test_kick_all();
	test_not_running();
	free(blob);
	free(ifl);
	vt_host_free(guest);
	return tap_done();
}
