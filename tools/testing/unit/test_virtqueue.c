// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/virtio/virtqueue.c against crafted rings: good chains
 * (direct, indirect, split across memory regions, wrapped indices), event
 * index behaviour, and every hostile case the device must survive: loops,
 * out-of-range indices and addresses, oversized chains, nested or malformed
 * indirect tables, readable-after-writable, avail index running ahead.
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
#define DESC_GPA	RAM_GPA
#define AVAIL_GPA	(RAM_GPA + 0x1000)
#define USED_GPA	(RAM_GPA + 0x2000)
#define IND_GPA		(RAM_GPA + 0x3000)
#define DATA_GPA	(RAM_GPA + 0x10000)

static uint8_t *ram;
static struct guest_mem mem;
static struct virtqueue vq;
static struct iovec iov[64];
static struct vq_buf buf = { .iov = iov, .cap = 64 };

static struct vring_desc *desc_at(uint64_t gpa)
{
	return (struct vring_desc *)(ram + (gpa - RAM_GPA));
}

static struct vring_avail *avail(void)
{
	return (struct vring_avail *)(ram + (AVAIL_GPA - RAM_GPA));
}

static struct vring_used *used(void)
{
	return (struct vring_used *)(ram + (USED_GPA - RAM_GPA));
}

static void set_desc(uint64_t table, unsigned int i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *d = desc_at(table) + i;

	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

/* Publish head at the current avail index. */
static void publish(uint16_t head)
{
	uint16_t idx = le16toh(avail()->idx);

	avail()->ring[idx % QSZ] = htole16(head);
	avail()->idx = htole16(idx + 1);
}

static void fresh(bool event_idx, bool indirect)
{
	memset(ram, 0, RAM_SIZE);
	vq_reset(&vq);
	if (vq_setup(&vq, &mem, QSZ, DESC_GPA, AVAIL_GPA, USED_GPA, event_idx,
		     indirect))
		abort();
}

static void expect_broken(const char *what, const char *needle)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "%s: vq_pop fails", what);
	TAP_EQ_INT(vq_pop(&vq, &buf), -EIO, msg);
	snprintf(msg, sizeof(msg), "%s: error says '%s'", what, needle);
	if (!TAP_CHECK(strstr(vq_error(&vq), needle), msg))
		printf("#   error: %s\n", vq_error(&vq));
}

static void test_setup(void)
{
	TAP_EQ_INT(vq_setup(&vq, &mem, 6, DESC_GPA, AVAIL_GPA, USED_GPA, 0, 0),
		   -EINVAL, "setup: size 6 refused");
	TAP_CHECK(strstr(vq_error(&vq), "power of two"), "setup: says why");
	TAP_EQ_INT(vq_setup(&vq, &mem, 0, DESC_GPA, AVAIL_GPA, USED_GPA, 0, 0),
		   -EINVAL, "setup: size 0 refused");
	TAP_EQ_INT(vq_setup(&vq, &mem, 65536, DESC_GPA, AVAIL_GPA, USED_GPA, 0, 0),
		   -EINVAL, "setup: size 65536 refused");
	TAP_EQ_INT(vq_setup(&vq, &mem, QSZ, DESC_GPA + 8, AVAIL_GPA, USED_GPA, 0, 0),
		   -EINVAL, "setup: misaligned descriptor table");
	TAP_EQ_INT(vq_setup(&vq, &mem, QSZ, DESC_GPA, AVAIL_GPA + 1, USED_GPA, 0, 0),
		   -EINVAL, "setup: misaligned driver ring");
	TAP_EQ_INT(vq_setup(&vq, &mem, QSZ, DESC_GPA, AVAIL_GPA, USED_GPA + 2, 0, 0),
		   -EINVAL, "setup: misaligned device ring");
	TAP_EQ_INT(vq_setup(&vq, &mem, QSZ, 0x1000, AVAIL_GPA, USED_GPA, 0, 0),
		   -EINVAL, "setup: descriptor table outside RAM");
	TAP_CHECK(strstr(vq_error(&vq), "not inside guest RAM"), "setup: says where");
	TAP_EQ_INT(vq_setup(&vq, &mem, QSZ, DESC_GPA, RAM_GPA + RAM_SIZE - 8,
			    USED_GPA, 0, 0),
		   -EINVAL, "setup: driver ring running off the end of RAM");
	TAP_EQ_INT(vq_setup(&vq, &mem, 32768, DESC_GPA, AVAIL_GPA,
			    RAM_GPA + RAM_SIZE - 0x1000, 0, 0),
		   -EINVAL, "setup: device ring of a huge queue runs off the end of RAM");
	TAP_EQ_INT(vq_pop(&vq, &buf), 0, "setup: a queue not set up pops nothing");
	fresh(false, false);
	TAP_EQ_INT(vq_pop(&vq, &buf), 0, "setup: empty ring pops nothing");
}

static void test_basic(void)
{
	uint8_t *data = ram + (DATA_GPA - RAM_GPA);

	fresh(false, false);
	memcpy(data, "hello", 5);
	set_desc(DESC_GPA, 0, DATA_GPA, 5, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, DATA_GPA + 0x100, 3, VRING_DESC_F_NEXT, 2);
	set_desc(DESC_GPA, 2, DATA_GPA + 0x200, 100, VRING_DESC_F_WRITE, 0);
	publish(0);
	TAP_EQ_INT(vq_pop(&vq, &buf), 1, "basic: pop a 3-descriptor chain");
	TAP_CHECK(buf.head == 0 && buf.nr_out == 2 && buf.nr_in == 1,
		  "basic: 2 readable + 1 writable segments");
	TAP_CHECK(buf.out_len == 8 && buf.in_len == 100, "basic: byte counts");
	TAP_CHECK(iov[0].iov_base == data && !memcmp(iov[0].iov_base, "hello", 5),
		  "basic: segment points into guest RAM");
	TAP_CHECK(vq_buf_in(&buf)->iov_base == data + 0x200, "basic: writable segment");
	TAP_EQ_INT(vq_pop(&vq, &buf), 0, "basic: then empty");
	vq_push(&vq, 0, 42);
	TAP_EQ_INT(le16toh(used()->idx), 1, "basic: used idx advanced");
	TAP_CHECK(le32toh(used()->ring[0].id) == 0 && le32toh(used()->ring[0].len) == 42,
		  "basic: used element id and len");
	TAP_CHECK(vq_should_signal(&vq), "basic: no EVENT_IDX: signal");
	avail()->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	vq_push(&vq, 0, 1);
	TAP_CHECK(!vq_should_signal(&vq), "basic: NO_INTERRUPT suppresses the signal");

	/* Zero-length descriptors contribute nothing (no address check). */
	set_desc(DESC_GPA, 3, 0xdead0000, 0, VRING_DESC_F_NEXT, 4);
	set_desc(DESC_GPA, 4, DATA_GPA, 16, 0, 0);
	publish(3);
	TAP_EQ_INT(vq_pop(&vq, &buf), 1, "zero-length: accepted");
	TAP_CHECK(buf.nr_out == 1 && buf.out_len == 16, "zero-length: skipped");

	/* Unpop gives the chain back. */
	set_desc(DESC_GPA, 5, DATA_GPA, 16, 0, 0);
	publish(5);
	TAP_EQ_INT(vq_pop(&vq, &buf), 1, "unpop: pop");
	vq_unpop(&vq);
	TAP_EQ_INT(vq_pop(&vq, &buf), 1, "unpop: popped again");
	TAP_EQ_INT(buf.head, 5, "unpop: same head");
}

static void test_wrap(void)
{
	unsigned int i, ok = 0;

	fresh(true, false);
	/* Driver and device start near the 16-bit wrap. */
	vq.last_avail = 65530;
	vq.used_idx = 65530;
	avail()->idx = htole16(65530);
	used()->idx = htole16(65530);
	for (i = 0; i < 12; i++) {
		set_desc(DESC_GPA, i % QSZ, DATA_GPA, 8, 0, 0);
		publish(i % QSZ);
		if (vq_pop(&vq, &buf) == 1 && buf.head == i % QSZ)
			ok++;
		vq_push(&vq, buf.head, 0);
	}
	TAP_EQ_INT(ok, 12, "wrap: 12 chains across the 16-bit index wrap");
	TAP_EQ_INT(le16toh(used()->idx), (uint16_t)(65530 + 12), "wrap: used idx wrapped");
	TAP_EQ_INT(vq_pop(&vq, &buf), 0, "wrap: empty after");
}

static void test_event_idx(void)
{
	uint16_t *used_event, *avail_event;

	fresh(true, false);
	used_event = (uint16_t *)&avail()->ring[QSZ];
	avail_event = (uint16_t *)&used()->ring[QSZ];
	*avail_event = htole16(0x5555);
	TAP_EQ_INT(vq_pop(&vq, &buf), 0, "event: empty");
	TAP_EQ_INT(le16toh(*avail_event), 0, "event: empty pop asks for a kick at last_avail");
	set_desc(DESC_GPA, 0, DATA_GPA, 8, 0, 0);
	publish(0);
	publish(0);
	TAP_EQ_INT(vq_pop(&vq, &buf), 1, "event: pop 1");
	TAP_EQ_INT(vq_pop(&vq, &buf), 1, "event: pop 2");
	TAP_EQ_INT(le16toh(*avail_event), 0, "event: no re-arm while work is found");
	TAP_EQ_INT(vq_pop(&vq, &buf), 0, "event: empty again");
	TAP_EQ_INT(le16toh(*avail_event), 2, "event: re-armed at 2");

	*used_event = htole16(0);
	vq_push(&vq, 0, 0);
	TAP_CHECK(vq_should_signal(&vq), "event: first push signals (used_event 0)");
	vq_push(&vq, 0, 0);
	TAP_CHECK(!vq_should_signal(&vq), "event: used_event 0 already passed: no signal");
	*used_event = htole16(2);
	vq_push(&vq, 0, 0);
	TAP_CHECK(vq_should_signal(&vq), "event: crossing used_event 2 signals");
	avail()->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	*used_event = htole16(3);
	vq_push(&vq, 0, 0);
	TAP_CHECK(vq_should_signal(&vq), "event: with EVENT_IDX the flag is ignored");
}

static void test_indirect(void)
{
	unsigned int i;

	fresh(false, true);
	set_desc(IND_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 2);
	set_desc(IND_GPA, 2, DATA_GPA + 0x100, 32, VRING_DESC_F_NEXT, 1);
	set_desc(IND_GPA, 1, DATA_GPA + 0x200, 64, VRING_DESC_F_WRITE, 0);
	set_desc(DESC_GPA, 0, DATA_GPA + 0x300, 4, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, IND_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	TAP_EQ_INT(vq_pop(&vq, &buf), 1, "indirect: direct then indirect table");
	TAP_CHECK(buf.nr_out == 3 && buf.nr_in == 1 && buf.out_len == 52 &&
		  buf.in_len == 64, "indirect: segments from both tables, in order");

	fresh(false, false);
	set_desc(DESC_GPA, 0, IND_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("indirect without the feature", "not negotiated");

	fresh(false, true);
	set_desc(IND_GPA, 0, IND_GPA + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(DESC_GPA, 0, IND_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("indirect inside indirect", "inside an indirect table");

	fresh(false, true);
	set_desc(DESC_GPA, 0, IND_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	publish(0);
	expect_broken("indirect with NEXT", "NEXT");

	fresh(false, true);
	set_desc(DESC_GPA, 0, IND_GPA, 24, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("indirect length 24", "multiple of 16");

	fresh(false, true);
	set_desc(DESC_GPA, 0, IND_GPA, 0, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("indirect length 0", "multiple of 16");

	fresh(false, true);
	set_desc(DESC_GPA, 0, RAM_GPA + RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("indirect table past the end of RAM", "not inside guest RAM");

	fresh(false, true);
	set_desc(IND_GPA, 0, DATA_GPA, 8, VRING_DESC_F_NEXT, 5);
	set_desc(DESC_GPA, 0, IND_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("indirect next beyond the table", "beyond indirect table");

	/* A full queue-size table behind one indirect descriptor is fine. */
	fresh(false, true);
	for (i = 0; i < QSZ; i++)
		set_desc(IND_GPA, i, DATA_GPA, 8, i + 1 < QSZ ? VRING_DESC_F_NEXT : 0, i + 1);
	set_desc(DESC_GPA, 0, IND_GPA, QSZ * 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	TAP_EQ_INT(vq_pop(&vq, &buf), 1, "indirect: queue-size entries accepted");
	TAP_EQ_INT(buf.nr_out, QSZ, "indirect: all of them");
	fresh(false, true);
	for (i = 0; i <= QSZ; i++)
		set_desc(IND_GPA, i, DATA_GPA, 8, i < QSZ ? VRING_DESC_F_NEXT : 0, i + 1);
	set_desc(DESC_GPA, 0, IND_GPA, (QSZ + 1) * 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("indirect chain of queue size + 1", "longer than the queue size");
	fresh(false, true);
	set_desc(IND_GPA, 0, DATA_GPA, 8, 0, 0);
	for (i = 0; i < QSZ; i++)
		set_desc(DESC_GPA, i, DATA_GPA, 8, VRING_DESC_F_NEXT, i + 1);
	set_desc(DESC_GPA, QSZ - 1, IND_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	TAP_EQ_INT(vq_pop(&vq, &buf), 1,
		   "indirect: queue-size - 1 direct + 1 indirect entry accepted");

	fresh(false, true);
	set_desc(IND_GPA, 0, DATA_GPA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(IND_GPA, 1, DATA_GPA, 8, VRING_DESC_F_NEXT, 0);
	set_desc(DESC_GPA, 0, IND_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken("loop inside an indirect table", "longer than the queue size");
}

static void test_hostile(void)
{
	unsigned int i;

	fresh(false, false);
	publish(QSZ);
	expect_broken("head index = queue size", "head index 8");

	fresh(false, false);
	set_desc(DESC_GPA, 0, DATA_GPA, 8, VRING_DESC_F_NEXT, 200);
	publish(0);
	expect_broken("next index out of range", "next index 200");

	fresh(false, false);
	set_desc(DESC_GPA, 0, DATA_GPA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, DATA_GPA, 8, VRING_DESC_F_NEXT, 0);
	publish(0);
	expect_broken("two-descriptor loop", "longer than the queue size");

	fresh(false, false);
	set_desc(DESC_GPA, 3, DATA_GPA, 8, VRING_DESC_F_NEXT, 3);
	publish(3);
	expect_broken("self loop", "longer than the queue size");

	TAP_EQ_INT(vq_pop(&vq, &buf), -EIO, "broken: stays broken");
	vq_reset(&vq);
	TAP_CHECK(!vq.broken && vq_error(&vq)[0] == '\0', "broken: reset clears it");

	fresh(false, false);
	set_desc(DESC_GPA, 0, 0x1000, 8, 0, 0);
	publish(0);
	expect_broken("buffer below RAM", "not inside guest RAM");

	fresh(false, false);
	set_desc(DESC_GPA, 0, RAM_GPA + RAM_SIZE - 4, 8, 0, 0);
	publish(0);
	expect_broken("buffer running off the end of RAM", "not inside guest RAM");

	fresh(false, false);
	set_desc(DESC_GPA, 0, UINT64_MAX - 3, 8, 0, 0);
	publish(0);
	expect_broken("buffer address wrapping around", "not inside guest RAM");

	fresh(false, false);
	set_desc(DESC_GPA, 0, DATA_GPA, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, DATA_GPA, 8, 0, 0);
	publish(0);
	expect_broken("readable after writable", "after a device-writable");

	fresh(false, false);
	avail()->idx = htole16(QSZ + 1);
	expect_broken("avail idx 9 ahead of 0", "ran 9 entries ahead");

	fresh(false, false);
	avail()->idx = htole16(0xffff);
	expect_broken("avail idx behind (65535 ahead)", "ahead");

	/* Exactly a full ring is fine. */
	fresh(false, false);
	for (i = 0; i < QSZ; i++) {
		set_desc(DESC_GPA, i, DATA_GPA, 8, 0, 0);
		publish(i);
	}
	for (i = 0; i < QSZ; i++)
		if (vq_pop(&vq, &buf) != 1)
			break;
	TAP_EQ_INT(i, QSZ, "full ring: all queue-size chains pop");

	/* A chain as long as the queue is fine; one more is not possible. */
	fresh(false, false);
	for (i = 0; i < QSZ; i++)
		set_desc(DESC_GPA, i, DATA_GPA, 8, i + 1 < QSZ ? VRING_DESC_F_NEXT : 0, i + 1);
	publish(0);
	TAP_EQ_INT(vq_pop(&vq, &buf), 1, "chain of queue size: accepted");
	TAP_EQ_INT(buf.nr_out, QSZ, "chain of queue size: all segments");

	/* More segments than the caller has room for. */
	{
		struct iovec small[4];
		struct vq_buf sb = { .iov = small, .cap = 4 };

		fresh(false, false);
		for (i = 0; i < 5; i++)
			set_desc(DESC_GPA, i, DATA_GPA, 8, i < 4 ? VRING_DESC_F_NEXT : 0, i + 1);
		publish(0);
		TAP_EQ_INT(vq_pop(&vq, &sb), -EIO, "segments: more than cap fails");
		TAP_CHECK(strstr(vq_error(&vq), "more than 4 segments"),
			  "segments: error says so");
	}
}

static void test_regions(void)
{
	static _Alignas(16) uint8_t second[0x1000];
	struct guest_mem m2 = mem;
	struct iovec *in;

	/* A second region right after the first: a buffer may span both. */
	guest_mem_add(&m2, RAM_GPA + RAM_SIZE, sizeof(second), second);
	memset(ram, 0, RAM_SIZE);
	vq_reset(&vq);
	vq_setup(&vq, &m2, QSZ, DESC_GPA, AVAIL_GPA, USED_GPA, false, false);
	set_desc(DESC_GPA, 0, RAM_GPA + RAM_SIZE - 0x10, 0x30, VRING_DESC_F_WRITE, 0);
	publish(0);
	TAP_EQ_INT(vq_pop(&vq, &buf), 1, "regions: buffer spanning two regions");
	in = vq_buf_in(&buf);
	TAP_CHECK(buf.nr_in == 2 && in[0].iov_len == 0x10 && in[1].iov_len == 0x20 &&
		  in[1].iov_base == second, "regions: split into two segments");

	/* A huge chain (> 4 GiB) in a region that is never touched. */
	{
		struct guest_mem m3 = mem;

		guest_mem_add(&m3, 1ull << 40, 16ull << 30, (void *)0x1000);
		memset(ram, 0, RAM_SIZE);
		vq_reset(&vq);
		vq_setup(&vq, &m3, QSZ, DESC_GPA, AVAIL_GPA, USED_GPA, false, false);
		set_desc(DESC_GPA, 0, 1ull << 40, 0xffffffff, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
		set_desc(DESC_GPA, 1, (1ull << 40) + (8ull << 30), 0x10, VRING_DESC_F_WRITE, 0);
		publish(0);
		TAP_EQ_INT(vq_pop(&vq, &buf), -EIO, "regions: chain over 4 GiB refused");
		TAP_CHECK(strstr(vq_error(&vq), "larger than 4 GiB"), "regions: says so");
	}

	/*
	 * A region whose host address is aligned differently from its guest
	 * address would turn an aligned ring into a misaligned host pointer.
	 */
	{
		struct guest_mem m4 = mem;

		TAP_EQ_INT(guest_mem_add(&m4, 1ull << 40, 0x100, second + 1), -EINVAL,
			   "regions: host address aligned unlike the guest address refused");
		TAP_EQ_INT(guest_mem_add(&m4, (1ull << 40) + 4, 0x100, second + 8), -EINVAL,
			   "regions: 4 apart modulo 16 refused");
		TAP_EQ_INT(guest_mem_add(&m4, (1ull << 40) + 4, 0x100, second + 4), 0,
			   "regions: congruent modulo 16 accepted");
	}
}

int main(void)
{
	ram = aligned_alloc(4096, RAM_SIZE);
	guest_mem_add(&mem, RAM_GPA, RAM_SIZE, ram);
	vq_init(&vq);
	test_setup();
	test_basic();
	test_wrap();
	test_event_idx();
	test_indirect();
	test_hostile();
	test_regions();
	vq_destroy(&vq);
	free(ram);
	return tap_done();
}
