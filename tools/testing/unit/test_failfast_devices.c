// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of what each device answers when a new process takes a guest
 * over and fails what the guest asked before (VIRTIO_RESUME_FAIL), against
 * rings crafted as a killed process leaves them: one request the old
 * process took (marked in its in-flight record), others made available
 * while no process ran.  Every request completes once, in order, with
 * the device's error answer, and nothing else happens:
 *
 *  - virtio-blk: VIRTIO_BLK_S_IOERR, used length 1; neither the image nor
 *    the guest's data buffers change (a read's buffer keeps its bytes);
 *    a request without room for the status fails the device;
 *  - virtio-rng: no bytes, the buffer as it was;
 *  - virtio-net: transmitted frames are dropped, receive buffers are kept
 *    and take the next frames (the one the old process took first);
 *  - virtio-console: output is dropped, input buffers are kept;
 *  - virtio-input: status events (LEDs) are not applied, event buffers
 *    are kept;
 *  - virtio-vsock: no connection is made for a request of that time, the
 *    guest gets a reset for each packet and TRANSPORT_RESET.
 *
 * Then a request the guest makes is served as usual.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/input.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_input.h>
#include <linux/virtio_net.h>
#include <linux/virtio_vsock.h>

#include "devices/virtio_devs.h"
#include "tap.h"
#include "virtio/vstate.h"
#include "vtest.h"

#define GEN		9
#define COOKIE		0xfa11fa11ull
#define DEVFN		PCI_DEVFN(0, 0)
#define BAR		0xe0000000ull
#define BLOB_MAX	65536
#define ST_RUNNING	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
			 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)
#define NET_HDR		12
#define CID		5
#define VSOCK_HDR	sizeof(struct virtio_vsock_hdr)

static struct vt_host *guest;
static uint8_t *blob;
static ssize_t blob_len;
static uint8_t *ifl;
static size_t ifl_len;
static char img[64];
static char uds[108];
static char msg[160];

#define T(what) (snprintf(msg, sizeof(msg), "%s: %s", name, what), msg)

/* --- processes on one guest ------------------------------------------------- */

/* Makes the device of a new process; its host end of things in *peer. */
typedef struct virtio_dev *(*make_fn)(int *peer);

struct proc {
	struct vt_host *vh;
	struct pci_bus *bus;
	struct virtio_dev *vd;
	int peer;
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

static int proc_start(struct proc *p, make_fn make)
{
	p->peer = -1;
	p->vh = host_new();
	p->bus = pci_bus_new(&p->vh->host);
	p->vd = make(&p->peer);
	if (!p->vd)
		return -1;
	pci_bus_add(p->bus, DEVFN, &p->vd->func);
	return virtio_dev_start(p->vd);
}

static void proc_kill(struct proc *p)
{
	pci_bus_free(p->bus);
	free(p->vh);
	if (p->peer >= 0)
		close(p->peer);
	p->bus = NULL;
}

/*
 * Process A: the driver brings the device up (nq queues), the state is
 * saved, and A stops taking requests: it is about to die.
 */
static int first_process(struct proc *a, make_fn make, struct vt_dev *d,
			 unsigned int nq, uint64_t features)
{
	if (proc_start(a, make))
		return -1;
	ifl_len = vstate_ifl_size(&a->vd, 1);
	free(ifl);
	ifl = calloc(1, ifl_len);
	vstate_ifl_init(&a->vd, 1, ifl, ifl_len, GEN, COOKIE);
	vt_probe(d, guest, a->bus, DEVFN, BAR);
	if (vt_bringup(d, features, nq))
		return -1;
	virtio_dev_pause(a->vd);
	blob_len = vstate_save(&a->vd, 1, GEN, COOKIE, blob, BLOB_MAX);
	return blob_len > 0 ? 0 : -1;
}

/* The old process took the chain at queue q's next avail entry. */
static void took(struct proc *a, unsigned int q, uint16_t head)
{
	struct vq_inflight *r = a->vd->queues[q].vq.ifl;

	r->head[head] = VQ_INFLIGHT_MARK | r->seq;
	r->seq++;
}

/* Process B takes over, failing; returns the requests failed, or -1. */
static int take_over(struct proc *b, make_fn make, struct vt_dev *d)
{
	unsigned int count = 0;
	char why[256] = "";

	if (proc_start(b, make))
		return -1;
	d->bus = b->bus;
	if (vstate_check(&b->vd, 1, blob, blob_len, GEN, why, sizeof(why)) ||
	    vstate_takeover(&b->vd, 1, blob, blob_len, ifl, ifl_len,
			    VIRTIO_RESUME_FAIL, &count, why, sizeof(why))) {
		printf("#   %s\n", why);
		return -1;
	}
	return count;
}

/* The next used entry of queue q, already there (the takeover is synchronous). */
static bool used_now(struct vt_dev *d, unsigned int q, uint32_t *id, uint32_t *len)
{
	return vt_used_pending(d, q) && vt_wait_used(d, q, id, len);
}

static bool filled_with(uint64_t gpa, uint8_t v, size_t len)
{
	const uint8_t *p = vt_ptr(guest, gpa);
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

static bool nothing_to_read(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 50) == 0;
}

/* --- virtio-rng ----------------------------------------------------------------- */

static struct virtio_dev *make_rng(int *peer)
{
	return rng_new();
}

static uint16_t rng_post(struct vt_dev *d, uint64_t *buf)
{
	struct vt_seg seg = { vt_alloc(guest, 64, 8), 64, true };

	memset(vt_ptr(guest, seg.gpa), 0xab, 64);
	*buf = seg.gpa;
	return vt_add(d, 0, &seg, 1);
}

static void test_rng(void)
{
	const char *name = "rng";
	uint64_t buf[3];
	uint16_t h[3];
	struct proc a, b;
	struct vt_dev d;
	uint32_t id, len;

	TAP_CHECK(!first_process(&a, make_rng, &d, 1, 0), T("process A up"));
	h[0] = rng_post(&d, &buf[0]);
	h[1] = rng_post(&d, &buf[1]);
	took(&a, 0, h[0]);
	proc_kill(&a);
	TAP_EQ_INT(take_over(&b, make_rng, &d), 2, T("two requests failed"));
	TAP_CHECK(used_now(&d, 0, &id, &len) && id == h[0] && len == 0,
		  T("the one taken completes first, with no bytes"));
	TAP_CHECK(used_now(&d, 0, &id, &len) && id == h[1] && len == 0,
		  T("then the ring's, with no bytes"));
	TAP_CHECK(filled_with(buf[0], 0xab, 64) && filled_with(buf[1], 0xab, 64),
		  T("their buffers are untouched"));
	h[2] = rng_post(&d, &buf[2]);
	vt_kick(&d, 0);
	TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && id == h[2] && len == 64,
		  T("a request made after is served, once"));
	TAP_CHECK(!filled_with(buf[2], 0xab, 64), T("with entropy"));
	proc_kill(&b);
}

/* --- virtio-blk ------------------------------------------------------------------ */

static struct virtio_dev *make_blk(int *peer)
{
	struct blk_cfg c = { .path = img };

	return blk_new(&c);
}

struct blk_req {
	uint16_t head;
	uint64_t data, status;
};

/* A request of type at sector; data buffer of 512 bytes filled with fill. */
static struct blk_req blk_post(struct vt_dev *d, uint32_t type, uint64_t sector,
			       uint8_t fill)
{
	uint64_t hdr = vt_alloc(guest, 16, 16);
	struct virtio_blk_outhdr *oh = vt_ptr(guest, hdr);
	struct blk_req r = {
		.data = vt_alloc(guest, 512, 512),
		.status = vt_alloc(guest, 1, 1),
	};
	struct vt_seg seg[3] = {
		{ hdr, 16, false },
		{ r.data, 512, type == VIRTIO_BLK_T_IN },
		{ r.status, 1, true },
	};

	oh->type = htole32(type);
	oh->ioprio = 0;
	oh->sector = htole64(sector);
	memset(vt_ptr(guest, r.data), fill, 512);
	*(uint8_t *)vt_ptr(guest, r.status) = 0xee;
	r.head = vt_add(d, 0, seg, 3);
	return r;
}

static int image_byte(uint64_t off)
{
	int fd = open(img, O_RDONLY);
	uint8_t v = 0xff;

	if (fd >= 0) {
		if (pread(fd, &v, 1, off) != 1)
			v = 0xff;
		close(fd);
	}
	return v;
}

static void make_image(void)
{
	int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	uint8_t s[512];

	if (fd < 0 || ftruncate(fd, 1 << 20))
		abort();
	memset(s, 0x5e, sizeof(s));
	if (pwrite(fd, s, sizeof(s), 2 * 512) != sizeof(s))	/* sector 2 */
		abort();
	close(fd);
}

static void test_blk(void)
{
	const char *name = "blk";
	struct blk_req w1, r1, w2, w3;
	struct proc a, b;
	struct vt_dev d;
	uint32_t id, len;

	make_image();
	TAP_CHECK(!first_process(&a, make_blk, &d, 1, 0), T("process A up"));
	w1 = blk_post(&d, VIRTIO_BLK_T_OUT, 3, 0x33);
	r1 = blk_post(&d, VIRTIO_BLK_T_IN, 2, 0xcd);
	w2 = blk_post(&d, VIRTIO_BLK_T_OUT, 4, 0x44);
	took(&a, 0, w1.head);
	proc_kill(&a);
	TAP_EQ_INT(take_over(&b, make_blk, &d), 3, T("three requests failed"));
	TAP_CHECK(used_now(&d, 0, &id, &len) && id == w1.head && len == 1,
		  T("the write taken first, 1 byte (the status)"));
	TAP_CHECK(used_now(&d, 0, &id, &len) && id == r1.head && len == 1,
		  T("then the read, 1 byte"));
	TAP_CHECK(used_now(&d, 0, &id, &len) && id == w2.head && len == 1,
		  T("then the second write"));
	TAP_EQ_INT(*(uint8_t *)vt_ptr(guest, w1.status), VIRTIO_BLK_S_IOERR,
		   T("write 1: VIRTIO_BLK_S_IOERR"));
	TAP_EQ_INT(*(uint8_t *)vt_ptr(guest, r1.status), VIRTIO_BLK_S_IOERR,
		   T("read: VIRTIO_BLK_S_IOERR"));
	TAP_EQ_INT(*(uint8_t *)vt_ptr(guest, w2.status), VIRTIO_BLK_S_IOERR,
		   T("write 2: VIRTIO_BLK_S_IOERR"));
	TAP_CHECK(image_byte(3 * 512) == 0 && image_byte(3 * 512 + 511) == 0 &&
		  image_byte(4 * 512) == 0, T("the image is not written"));
	TAP_CHECK(filled_with(r1.data, 0xcd, 512),
		  T("the read's buffer keeps the guest's bytes"));
	TAP_CHECK(filled_with(w1.data, 0x33, 512) && filled_with(w2.data, 0x44, 512),
		  T("the writes' buffers are untouched"));

	w3 = blk_post(&d, VIRTIO_BLK_T_OUT, 5, 0x55);
	vt_kick(&d, 0);
	TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && id == w3.head && len == 1,
		  T("a write made after completes next"));
	TAP_EQ_INT(*(uint8_t *)vt_ptr(guest, w3.status), VIRTIO_BLK_S_OK, T("with OK"));
	TAP_EQ_INT(image_byte(5 * 512), 0x55, T("and is on the image"));
	r1 = blk_post(&d, VIRTIO_BLK_T_IN, 2, 0xcd);
	vt_kick(&d, 0);
	TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && id == r1.head && len == 513,
		  T("a read made after is served"));
	TAP_CHECK(filled_with(r1.data, 0x5e, 512), T("with the image's bytes"));
	proc_kill(&b);
}

/* A request with no writable byte cannot be told it failed. */
static void test_blk_no_status(void)
{
	const char *name = "blk, no room for the status";
	struct vt_seg seg[2];
	struct proc a, b;
	struct vt_dev d;
	struct virtio_blk_outhdr *oh;

	make_image();
	TAP_CHECK(!first_process(&a, make_blk, &d, 1, 0), T("process A up"));
	seg[0] = (struct vt_seg) { vt_alloc(guest, 16, 16), 16, false };
	seg[1] = (struct vt_seg) { vt_alloc(guest, 512, 512), 512, false };
	oh = vt_ptr(guest, seg[0].gpa);
	oh->type = htole32(VIRTIO_BLK_T_OUT);
	oh->sector = 0;
	vt_add(&d, 0, seg, 2);
	proc_kill(&a);
	TAP_EQ_INT(take_over(&b, make_blk, &d), 0, T("nothing failed"));
	TAP_EQ_INT(vt_used_pending(&d, 0), 0, T("nothing completed"));
	TAP_EQ_INT(vt_status(&d), ST_RUNNING | VIRTIO_CONFIG_S_NEEDS_RESET,
		   T("the device asks for a reset"));
	proc_kill(&b);
}

/* --- virtio-net ------------------------------------------------------------------ */

static struct virtio_dev *make_net(int *peer)
{
	struct net_cfg c = { .fd = -1 };
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv))
		return NULL;
	c.fd = sv[0];
	*peer = sv[1];
	return net_new(&c);
}

static uint16_t net_tx(struct vt_dev *d, uint8_t fill)
{
	struct vt_seg seg = { vt_alloc(guest, NET_HDR + 60, 8), NET_HDR + 60, false };

	memset(vt_ptr(guest, seg.gpa), 0, NET_HDR);
	memset((uint8_t *)vt_ptr(guest, seg.gpa) + NET_HDR, fill, 60);
	return vt_add(d, 1, &seg, 1);
}

static uint16_t net_rxbuf(struct vt_dev *d, uint64_t *gpa)
{
	struct vt_seg seg = { vt_alloc(guest, 2048, 8), 2048, true };

	*gpa = seg.gpa;
	return vt_add(d, 0, &seg, 1);
}

static bool frame_in(uint64_t gpa, uint8_t fill)
{
	return filled_with(gpa + NET_HDR, fill, 60);
}

static void test_net(void)
{
	const char *name = "net";
	uint8_t frame[NET_HDR + 60], got[256];
	uint16_t t1, t2, t3, x1, x2;
	uint64_t g1, g2;
	struct proc a, b;
	struct vt_dev d;
	uint32_t id, len;

	TAP_CHECK(!first_process(&a, make_net, &d, 2, 0), T("process A up"));
	t1 = net_tx(&d, 0x11);
	t2 = net_tx(&d, 0x22);
	x1 = net_rxbuf(&d, &g1);
	x2 = net_rxbuf(&d, &g2);
	took(&a, 1, t1);
	took(&a, 0, x1);	/* a frame was going into it */
	proc_kill(&a);
	TAP_EQ_INT(take_over(&b, make_net, &d), 2, T("two frames failed"));
	TAP_CHECK(used_now(&d, 1, &id, &len) && id == t1 && len == 0,
		  T("the frame taken completes first"));
	TAP_CHECK(used_now(&d, 1, &id, &len) && id == t2 && len == 0,
		  T("then the ring's"));
	TAP_CHECK(nothing_to_read(b.peer), T("neither is sent"));
	TAP_EQ_INT(vt_used_pending(&d, 0), 0, T("receive buffers are not completed"));

	memset(frame, 0, NET_HDR);
	memset(frame + NET_HDR, 0x77, 60);
	TAP_EQ_INT(send(b.peer, frame, sizeof(frame), 0), sizeof(frame), T("a frame arrives"));
	TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && id == x1 && len == sizeof(frame),
		  T("it goes into the buffer the old process had taken"));
	TAP_CHECK(frame_in(g1, 0x77), T("all of it"));
	memset(frame + NET_HDR, 0x78, 60);
	send(b.peer, frame, sizeof(frame), 0);
	TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && id == x2 && frame_in(g2, 0x78),
		  T("the next into the ring's buffer"));

	t3 = net_tx(&d, 0x33);
	vt_kick(&d, 1);
	TAP_CHECK(vt_wait_used(&d, 1, &id, NULL) && id == t3,
		  T("a frame sent after completes next"));
	TAP_CHECK(recv(b.peer, got, sizeof(got), 0) == NET_HDR + 60 && got[NET_HDR] == 0x33,
		  T("and is the only one sent"));
	proc_kill(&b);
}

/* --- virtio-console ------------------------------------------------------------- */

static int con_in[2] = { -1, -1 };

static struct virtio_dev *make_console(int *peer)
{
	struct console_cfg c = { .close_fds = true };
	int out[2];

	if (pipe2(con_in, O_NONBLOCK | O_CLOEXEC) || pipe2(out, O_NONBLOCK | O_CLOEXEC))
		return NULL;
	c.in_fd = con_in[0];
	c.out_fd = out[1];
	*peer = out[0];
	return console_new(&c);
}

static uint16_t con_tx(struct vt_dev *d, const char *s)
{
	struct vt_seg seg = { vt_alloc(guest, 64, 8), strlen(s), false };

	memcpy(vt_ptr(guest, seg.gpa), s, strlen(s));
	return vt_add(d, 1, &seg, 1);
}

static void test_console(void)
{
	const char *name = "console";
	uint16_t o1, o2, o3, i1;
	struct vt_seg in;
	struct proc a, b;
	struct vt_dev d;
	uint32_t id, len;
	char got[64];

	TAP_CHECK(!first_process(&a, make_console, &d, 2, 0), T("process A up"));
	close(con_in[1]);
	o1 = con_tx(&d, "taken");
	o2 = con_tx(&d, "queued");
	in = (struct vt_seg) { vt_alloc(guest, 64, 8), 64, true };
	i1 = vt_add(&d, 0, &in, 1);
	took(&a, 1, o1);
	proc_kill(&a);
	TAP_EQ_INT(take_over(&b, make_console, &d), 2, T("two outputs failed"));
	TAP_CHECK(used_now(&d, 1, &id, &len) && id == o1 && len == 0,
		  T("the output taken completes first"));
	TAP_CHECK(used_now(&d, 1, &id, &len) && id == o2 && len == 0,
		  T("then the ring's"));
	TAP_CHECK(nothing_to_read(b.peer), T("neither is written out"));
	TAP_EQ_INT(vt_used_pending(&d, 0), 0, T("the input buffer is not completed"));
	TAP_EQ_INT(write(con_in[1], "abc", 3), 3, T("input arrives"));
	TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && id == i1 && len == 3 &&
		  !memcmp(vt_ptr(guest, in.gpa), "abc", 3), T("it goes into the kept buffer"));
	o3 = con_tx(&d, "after");
	vt_kick(&d, 1);
	TAP_CHECK(vt_wait_used(&d, 1, &id, NULL) && id == o3,
		  T("output made after completes next"));
	/* The console's writer thread writes it out after completion. */
	{
		struct pollfd p = { .fd = b.peer, .events = POLLIN };

		poll(&p, 1, 10000);	/* failure guard, not a timing assertion */
	}
	TAP_CHECK(read(b.peer, got, sizeof(got)) == 5 && !memcmp(got, "after", 5),
		  T("and is all that is written out"));
	close(con_in[1]);
	proc_kill(&b);
}

/* --- virtio-input --------------------------------------------------------------- */

static struct virtio_dev *make_input(int *peer)
{
	struct input_info info;
	int sv[2];

	memset(&info, 0, sizeof(info));
	strcpy(info.name, "failfast keyboard");
	info.ev[0][0] = (1 << EV_SYN) | (1 << EV_KEY);
	info.ev[0][EV_LED / 8] |= 1 << (EV_LED % 8);
	info.ev[EV_LED][0] = 1 << LED_CAPSL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		return NULL;
	*peer = sv[1];
	return input_new(sv[0], "failfast", &info);
}

static uint16_t led_post(struct vt_dev *d, int32_t value)
{
	struct vt_seg seg = { vt_alloc(guest, 8, 8), 8, false };
	struct virtio_input_event *e = vt_ptr(guest, seg.gpa);

	e->type = htole16(EV_LED);
	e->code = htole16(LED_CAPSL);
	e->value = htole32(value);
	return vt_add(d, 1, &seg, 1);
}

static void test_input(void)
{
	const char *name = "input";
	struct input_event ev = { .type = EV_KEY, .code = KEY_A, .value = 1 };
	struct virtio_input_event *got;
	uint16_t s1, s2, s3, e1;
	struct vt_seg evbuf;
	struct input_event back;
	struct proc a, b;
	struct vt_dev d;
	uint32_t id, len;

	TAP_CHECK(!first_process(&a, make_input, &d, 2, 0), T("process A up"));
	s1 = led_post(&d, 1);
	s2 = led_post(&d, 0);
	evbuf = (struct vt_seg) { vt_alloc(guest, 8, 8), 8, true };
	e1 = vt_add(&d, 0, &evbuf, 1);
	took(&a, 1, s1);
	proc_kill(&a);
	TAP_EQ_INT(take_over(&b, make_input, &d), 2, T("two status events failed"));
	TAP_CHECK(used_now(&d, 1, &id, &len) && id == s1 && len == 0,
		  T("the one taken completes first"));
	TAP_CHECK(used_now(&d, 1, &id, &len) && id == s2 && len == 0, T("then the ring's"));
	TAP_CHECK(nothing_to_read(b.peer), T("no LED is set on the host device"));
	TAP_EQ_INT(vt_used_pending(&d, 0), 0, T("the event buffer is not completed"));
	TAP_EQ_INT(write(b.peer, &ev, sizeof(ev)), sizeof(ev), T("a key is pressed"));
	TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && id == e1 && len == 8,
		  T("it goes into the kept buffer"));
	got = vt_ptr(guest, evbuf.gpa);
	TAP_CHECK(le16toh(got->type) == EV_KEY && le16toh(got->code) == KEY_A,
		  T("as KEY_A"));
	s3 = led_post(&d, 1);
	vt_kick(&d, 1);
	TAP_CHECK(vt_wait_used(&d, 1, &id, NULL) && id == s3,
		  T("a status event made after completes next"));
	TAP_CHECK(read(b.peer, &back, sizeof(back)) == sizeof(back) &&
		  back.type == EV_LED && back.value == 1, T("and is applied"));
	TAP_CHECK(nothing_to_read(b.peer), T("alone"));
	proc_kill(&b);
}

/* --- virtio-vsock ----------------------------------------------------------------- */

static struct virtio_dev *make_vsock(int *peer)
{
	return vsock_new(CID, uds);
}

static uint16_t vs_packet(struct vt_dev *d, uint16_t op, uint32_t src, uint32_t dst)
{
	struct vt_seg seg = { vt_alloc(guest, VSOCK_HDR, 8), VSOCK_HDR, false };
	struct virtio_vsock_hdr *h = vt_ptr(guest, seg.gpa);

	memset(h, 0, sizeof(*h));
	h->src_cid = htole64(CID);
	h->dst_cid = htole64(2);
	h->src_port = htole32(src);
	h->dst_port = htole32(dst);
	h->type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
	h->op = htole16(op);
	h->buf_alloc = htole32(65536);
	return vt_add(d, 1, &seg, 1);
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_vsock(void)
{
	const char *name = "vsock";
	uint64_t rxg[2], evg;
	struct virtio_vsock_hdr *h;
	struct vt_seg seg;
	uint16_t p1, p2, rx[2];
	struct proc a, b;
	struct vt_dev d;
	uint32_t id, len;
	char port_path[128];
	unsigned int i, rst_req = 0, rst_rw = 0;
	int lfd;

	snprintf(port_path, sizeof(port_path), "%s_1234", uds);
	lfd = listen_at(port_path);
	TAP_CHECK(lfd >= 0, T("a host program listens on port 1234"));
	TAP_CHECK(!first_process(&a, make_vsock, &d, 3, 0), T("process A up"));
	p1 = vs_packet(&d, VIRTIO_VSOCK_OP_REQUEST, 5000, 1234);
	p2 = vs_packet(&d, VIRTIO_VSOCK_OP_RW, 5001, 1235);
	for (i = 0; i < 2; i++) {
		seg = (struct vt_seg) { vt_alloc(guest, 4096, 8), 4096, true };
		rxg[i] = seg.gpa;
		rx[i] = vt_add(&d, 0, &seg, 1);
	}
	seg = (struct vt_seg) { vt_alloc(guest, 8, 8), 8, true };
	evg = seg.gpa;
	vt_add(&d, 2, &seg, 1);
	took(&a, 1, p1);
	proc_kill(&a);
	TAP_EQ_INT(take_over(&b, make_vsock, &d), 2, T("two packets failed"));
	TAP_CHECK(used_now(&d, 1, &id, &len) && id == p1 && len == 0,
		  T("the connection request taken completes first"));
	TAP_CHECK(used_now(&d, 1, &id, &len) && id == p2 && len == 0,
		  T("then the ring's packet"));
	TAP_CHECK(vt_wait_used(&d, 2, NULL, &len) &&
		  len == sizeof(struct virtio_vsock_event) &&
		  le32toh(*(uint32_t *)vt_ptr(guest, evg)) == VIRTIO_VSOCK_EVENT_TRANSPORT_RESET,
		  T("the driver is told its connections are gone"));
	for (i = 0; i < 2; i++) {
		if (!vt_wait_used(&d, 0, &id, &len) || len != VSOCK_HDR)
			break;
		h = vt_ptr(guest, id == rx[0] ? rxg[0] : rxg[1]);
		if (le16toh(h->op) != VIRTIO_VSOCK_OP_RST)
			continue;
		rst_req += le32toh(h->dst_port) == 5000 && le32toh(h->src_port) == 1234;
		rst_rw += le32toh(h->dst_port) == 5001 && le32toh(h->src_port) == 1235;
	}
	TAP_EQ_INT(rst_req, 1, T("the connection request is refused with a reset"));
	TAP_EQ_INT(rst_rw, 1, T("the packet of a gone connection gets a reset"));
	TAP_CHECK(accept(lfd, NULL, NULL) < 0 && errno == EAGAIN,
		  T("no connection was made to the host program"));
	close(lfd);
	unlink(port_path);
	proc_kill(&b);
}

int main(void)
{
	snprintf(img, sizeof(img), "/tmp/vbridge-failfast-%d.img", (int)getpid());
	snprintf(uds, sizeof(uds), "/tmp/vbridge-failfast-%d.sock", (int)getpid());
	guest = vt_host_new();
	blob = malloc(BLOB_MAX);
	test_rng();
	test_blk();
	test_blk_no_status();
	test_net();
	test_console();
	test_input();
	test_vsock();
	free(blob);
	free(ifl);
	vt_host_free(guest);
	unlink(img);
	unlink(uds);
	return tap_done();
}
