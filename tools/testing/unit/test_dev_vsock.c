// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/devices/vsock.c: the test plays the guest's vsock
 * transport on the virtqueues and host programs on Unix sockets.
 * Guest-initiated and host-initiated handshakes, data both ways, credit
 * flow control (both directions, including an overrun), shutdown and
 * reset, refused connections, malformed or spoofed packets, device reset.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>

#include "devices/virtio_devs.h"
#include "tap.h"
#include "vtest.h"

#define DEVFN	PCI_DEVFN(6, 0)
#define CID	42
#define HDR	sizeof(struct virtio_vsock_hdr)
#define RXDATA	4096

static char uds[108];

struct vg {
	struct vt_host *vh;
	struct pci_bus *bus;
	struct virtio_dev *vd;
	struct vt_dev d;
	uint64_t rx_hdr[256], rx_data[256];	/* by head */
};

static void post_rx(struct vg *g, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t h = vt_alloc(g->vh, HDR, 8), d = vt_alloc(g->vh, RXDATA, 8);
		struct vt_seg seg[2] = { { h, HDR, true }, { d, RXDATA, true } };
		uint16_t head = vt_add(&g->d, 0, seg, 2);

		g->rx_hdr[head] = h;
		g->rx_data[head] = d;
	}
	vt_kick(&g->d, 0);
}

static void gsend(struct vg *g, uint16_t op, uint32_t src, uint32_t dst,
		  uint32_t flags, const void *data, uint32_t len, uint32_t buf_alloc,
		  uint32_t fwd_cnt, uint64_t src_cid)
{
	uint64_t h = vt_alloc(g->vh, HDR, 8), d = len ? vt_alloc(g->vh, len, 8) : 0;
	struct virtio_vsock_hdr *p = vt_ptr(g->vh, h);
	struct vt_seg seg[2] = { { h, HDR, false }, { d, len, false } };
	uint32_t id, ulen;

	memset(p, 0, sizeof(*p));
	p->src_cid = htole64(src_cid);
	p->dst_cid = htole64(2);
	p->src_port = htole32(src);
	p->dst_port = htole32(dst);
	p->len = htole32(len);
	p->type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
	p->op = htole16(op);
	p->flags = htole32(flags);
	p->buf_alloc = htole32(buf_alloc);
	p->fwd_cnt = htole32(fwd_cnt);
	if (len)
		memcpy(vt_ptr(g->vh, d), data, len);
	vt_add(&g->d, 1, seg, len ? 2 : 1);
	vt_kick(&g->d, 1);
	vt_wait_used(&g->d, 1, &id, &ulen);
}

#define GSEND(g, op, src, dst, data, len) \
	gsend(g, op, src, dst, 0, data, len, 65536, 0, CID)

/* Next packet to the guest; returns its op, or -1 if none came. */
static int grecv(struct vg *g, struct virtio_vsock_hdr *h, void *data, size_t cap)
{
	uint32_t id, len;

	if (!vt_wait_used(&g->d, 0, &id, &len))
		return -1;
	memcpy(h, vt_ptr(g->vh, g->rx_hdr[id]), sizeof(*h));
	if (data)
		memcpy(data, vt_ptr(g->vh, g->rx_data[id]),
		       le32toh(h->len) < cap ? le32toh(h->len) : cap);
	return le16toh(h->op);
}

static bool host_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 5000) == 1;
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4))
		return -1;
	return fd;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Device up with rx_bufs receive buffers; buf_limit 0: the default. */
static int vg_up_limit(struct vg *g, unsigned int rx_bufs, size_t buf_limit)
{
	memset(g, 0, sizeof(*g));
	g->vh = vt_host_new();
	g->bus = pci_bus_new(&g->vh->host);
	g->vd = vsock_new(CID, uds);
	if (!g->vd)
		return -1;
	if (buf_limit)
		vsock_set_buf_limit(g->vd, buf_limit);
	pci_bus_add(g->bus, DEVFN, &g->vd->func);
	virtio_dev_start(g->vd);
	vt_probe(&g->d, g->vh, g->bus, DEVFN, 0xc0000000);
	if (vt_bringup(&g->d, 0, 3))
		return -1;
	post_rx(g, rx_bufs);
	return 0;
}

static int vg_up(struct vg *g, unsigned int rx_bufs)
{
	return vg_up_limit(g, rx_bufs, 0);
}

static void vg_down(struct vg *g)
{
	pci_bus_free(g->bus);
	vt_host_free(g->vh);
}

static void test_guest_initiated(struct vg *g)
{
	struct virtio_vsock_hdr h;
	char path[128], buf[256];
	int lfd, hfd;

	snprintf(path, sizeof(path), "%s_1234", uds);
	lfd = listen_at(path);
	GSEND(g, VIRTIO_VSOCK_OP_REQUEST, 5000, 1234, NULL, 0);
	TAP_EQ_INT(grecv(g, &h, NULL, 0), VIRTIO_VSOCK_OP_RESPONSE, "g->h: RESPONSE");
	TAP_CHECK(le64toh(h.src_cid) == 2 && le64toh(h.dst_cid) == CID &&
		  le32toh(h.src_port) == 1234 && le32toh(h.dst_port) == 5000,
		  "g->h: RESPONSE addressed from host:1234 to guest:5000");
	TAP_EQ_INT(le32toh(h.buf_alloc), 256 * 1024, "g->h: device advertises 256 KiB");
	hfd = accept(lfd, NULL, NULL);
	TAP_CHECK(hfd >= 0, "g->h: host program accepted the connection on <uds>_1234");
	GSEND(g, VIRTIO_VSOCK_OP_RW, 5000, 1234, "hello", 5);
	memset(buf, 0, sizeof(buf));
	TAP_CHECK(host_readable(hfd) && read(hfd, buf, sizeof(buf)) == 5 &&
		  !strcmp(buf, "hello"), "g->h: guest data reaches the host program");
	if (write(hfd, "world", 5) != 5)
		return;
	TAP_EQ_INT(grecv(g, &h, buf, sizeof(buf)), VIRTIO_VSOCK_OP_RW, "g->h: RW to the guest");
	TAP_CHECK(le32toh(h.len) == 5 && !memcmp(buf, "world", 5), "g->h: host data reaches the guest");
	TAP_EQ_INT(le32toh(h.fwd_cnt), 5, "g->h: fwd_cnt counts the 5 forwarded bytes");
	GSEND(g, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 5000, 1234, NULL, 0);
	TAP_EQ_INT(grecv(g, &h, NULL, 0), VIRTIO_VSOCK_OP_CREDIT_UPDATE,
		   "g->h: CREDIT_REQUEST answered");

	/* The guest shuts down both ways: host sees EOF, guest gets RST. */
	gsend(g, VIRTIO_VSOCK_OP_SHUTDOWN, 5000, 1234, 3, NULL, 0, 65536, 5, CID);
	TAP_CHECK(host_readable(hfd) && read(hfd, buf, sizeof(buf)) == 0,
		  "g->h: guest shutdown closes the host socket");
	TAP_EQ_INT(grecv(g, &h, NULL, 0), VIRTIO_VSOCK_OP_RST, "g->h: RST after shutdown");
	close(hfd);

	/* Credit towards the guest: 10 bytes of room, 100 bytes waiting. */
	gsend(g, VIRTIO_VSOCK_OP_REQUEST, 5001, 1234, 0, NULL, 0, 10, 0, CID);
	grecv(g, &h, NULL, 0);
	hfd = accept(lfd, NULL, NULL);
	memset(buf, 'x', 100);
	if (write(hfd, buf, 100) != 100)
		return;
	TAP_EQ_INT(grecv(g, &h, NULL, 0), VIRTIO_VSOCK_OP_RW, "credit: first RW");
	TAP_EQ_INT(le32toh(h.len), 10, "credit: no more than the guest's 10 bytes");
	vt_msleep(50);
	TAP_EQ_INT(vt_used_pending(&g->d, 0), 0, "credit: nothing more without credit");
	gsend(g, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 5001, 1234, 0, NULL, 0, 10, 10, CID);
	TAP_EQ_INT(grecv(g, &h, NULL, 0), VIRTIO_VSOCK_OP_RW, "credit: update lets more through");
	TAP_EQ_INT(le32toh(h.len), 10, "credit: another 10 bytes");
	gsend(g, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 5001, 1234, 0, NULL, 0, 1000, 20, CID);
	TAP_EQ_INT(grecv(g, &h, NULL, 0), VIRTIO_VSOCK_OP_RW, "credit: bigger buffer");
	TAP_EQ_INT(le32toh(h.len), 80, "credit: the remaining 80 bytes");

	/* Host program closes: guest hears SHUTDOWN(SEND), then RSTs. */
	close(hfd);
	TAP_EQ_INT(grecv(g, &h, NULL, 0), VIRTIO_VSOCK_OP_SHUTDOWN, "close: SHUTDOWN to the guest");
	TAP_EQ_INT(le32toh(h.flags), VIRTIO_VSOCK_SHUTDOWN_SEND, "close: flags = SEND");
	GSEND(g, VIRTIO_VSOCK_OP_RST, 5001, 1234, NULL, 0);
	GSEND(g, VIRTIO_VSOCK_OP_RW, 5001, 1234, "late", 4);
	TAP_EQ_INT(grecv(g, &h, NULL, 0), VIRTIO_VSOCK_OP_RST,
		   "close: data for a closed connection is answered by RST");

	close(lfd);
	unlink(path);
}

static void test_refused_and_bad(struct vg *g)
{
	struct virtio_vsock_hdr h;

	GSEND(g, VIRTIO_VSOCK_OP_REQUEST, 6000, 4321, NULL, 0);
	TAP_EQ_INT(grecv(g, &h, NULL, 0), VIRTIO_VSOCK_OP_RST, "refused: no listener -> RST");
	TAP_CHECK(le32toh(h.src_port) == 4321 && le32toh(h.dst_port) == 6000,
		  "refused: RST addressed to the requester");
	GSEND(g, VIRTIO_VSOCK_OP_RW, 6001, 4321, "x", 1);
	TAP_EQ_INT(grecv(g, &h, NULL, 0), VIRTIO_VSOCK_OP_RST, "bad: RW without a connection -> RST");
	gsend(g, VIRTIO_VSOCK_OP_REQUEST, 6002, 4321, 0, NULL, 0, 0, 0, CID + 1);
	vt_msleep(50);
	TAP_EQ_INT(vt_used_pending(&g->d, 0), 0, "bad: spoofed source CID ignored");
	{
		/* A header claiming more payload than the chain carries. */
		uint64_t hp = vt_alloc(g->vh, HDR, 8);
		struct virtio_vsock_hdr *p = vt_ptr(g->vh, hp);
		struct vt_seg seg = { hp, HDR, false };
		uint32_t id, len;

		memset(p, 0, sizeof(*p));
		p->src_cid = htole64(CID);
		p->dst_cid = htole64(2);
		p->len = htole32(1000);
		p->type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
		p->op = htole16(VIRTIO_VSOCK_OP_RW);
		vt_add(&g->d, 1, &seg, 1);
		vt_kick(&g->d, 1);
		vt_wait_used(&g->d, 1, &id, &len);
		vt_msleep(30);
		TAP_EQ_INT(vt_used_pending(&g->d, 0), 0, "bad: short payload dropped silently");
	}
	GSEND(g, VIRTIO_VSOCK_OP_RST, 6003, 4321, NULL, 0);
	vt_msleep(30);
	TAP_EQ_INT(vt_used_pending(&g->d, 0), 0, "bad: RST for nothing is not answered");
	{
		uint64_t hp = vt_alloc(g->vh, 8, 8);
		struct vt_seg seg = { hp, 8, false };
		uint32_t id, len;

		vt_add(&g->d, 1, &seg, 1);
		vt_kick(&g->d, 1);
		TAP_CHECK(vt_wait_used(&g->d, 1, &id, &len), "bad: 8-byte packet consumed");
	}
	TAP_EQ_INT(vt_status(&g->d) & VIRTIO_CONFIG_S_NEEDS_RESET, 0,
		   "bad: none of that fails the device");
}

static void test_host_initiated(struct vg *g)
{
	struct virtio_vsock_hdr h;
	char buf[64];
	uint32_t hp;
	int fd;

	fd = connect_to(uds);
	TAP_CHECK(fd >= 0, "h->g: host program connects to <uds>");
	if (fd < 0)
		return;
	if (write(fd, "CONNECT 52\n", 11) != 11)
		return;
	TAP_EQ_INT(grecv(g, &h, NULL, 0), VIRTIO_VSOCK_OP_REQUEST, "h->g: REQUEST to the guest");
	hp = le32toh(h.src_port);
	TAP_CHECK(le32toh(h.dst_port) == 52 && hp >= (1u << 30),
		  "h->g: to guest port 52 from a host port above 2^30");
	GSEND(g, VIRTIO_VSOCK_OP_RESPONSE, 52, hp, NULL, 0);
	memset(buf, 0, sizeof(buf));
	snprintf(buf + 32, 32, "OK %u\n", hp);
	TAP_CHECK(host_readable(fd) && read(fd, buf, 32) == (ssize_t)strlen(buf + 32) &&
		  !memcmp(buf, buf + 32, strlen(buf + 32)), "h->g: host program reads OK <port>");
	if (write(fd, "ping", 4) != 4)
		return;
	TAP_EQ_INT(grecv(g, &h, buf, sizeof(buf)), VIRTIO_VSOCK_OP_RW, "h->g: data to the guest");
	TAP_CHECK(le32toh(h.len) == 4 && !memcmp(buf, "ping", 4), "h->g: ping");
	GSEND(g, VIRTIO_VSOCK_OP_RW, 52, hp, "pong", 4);
	TAP_CHECK(host_readable(fd) && read(fd, buf, sizeof(buf)) == 4 && !memcmp(buf, "pong", 4),
		  "h->g: pong back to the host");
	GSEND(g, VIRTIO_VSOCK_OP_RST, 52, hp, NULL, 0);
	TAP_CHECK(host_readable(fd) && read(fd, buf, sizeof(buf)) == 0,
		  "h->g: guest RST closes the host socket");
	close(fd);

	/* The guest refuses. */
	fd = connect_to(uds);
	if (write(fd, "CONNECT 53\n", 11) != 11)
		return;
	grecv(g, &h, NULL, 0);
	GSEND(g, VIRTIO_VSOCK_OP_RST, 53, le32toh(h.src_port), NULL, 0);
	TAP_CHECK(host_readable(fd) && read(fd, buf, sizeof(buf)) == 0,
		  "h->g: refused by the guest: socket closed, no OK");
	close(fd);

	/* Not a CONNECT line. */
	fd = connect_to(uds);
	if (write(fd, "HELLO 53\n", 9) != 9)
		return;
	TAP_CHECK(host_readable(fd) && read(fd, buf, sizeof(buf)) <= 0,
		  "h->g: a bad first line closes the socket");
	close(fd);
	fd = connect_to(uds);
	if (write(fd, "CONNECT 99999999999\n", 20) != 20)
		return;
	TAP_CHECK(host_readable(fd) && read(fd, buf, sizeof(buf)) <= 0,
		  "h->g: a port beyond 32 bits closes the socket");
	close(fd);
	vt_msleep(20);
	TAP_EQ_INT(vt_used_pending(&g->d, 0), 0, "h->g: nothing reached the guest for those");

	/* Device reset drops live connections. */
	fd = connect_to(uds);
	if (write(fd, "CONNECT 54\n", 11) != 11)
		return;
	grecv(g, &h, NULL, 0);
	GSEND(g, VIRTIO_VSOCK_OP_RESPONSE, 54, le32toh(h.src_port), NULL, 0);
	host_readable(fd);
	if (read(fd, buf, sizeof(buf)) < 0)
		return;
	vt_set_status(&g->d, 0);
	TAP_CHECK(host_readable(fd) && read(fd, buf, sizeof(buf)) == 0,
		  "reset: host sockets are closed");
	close(fd);
}

static void test_overrun(void)
{
	struct virtio_vsock_hdr h;
	char path[128], buf[4096];
	struct vg g;
	int lfd, hfd, i, op = -1;
	static char big[65536];
	ssize_t total = 0, r;

	/*
	 * One receive buffer for the RESPONSE, then none: the guest hears of
	 * no credit beyond the first 256 KiB, and sends 384 KiB anyway.
	 */
	snprintf(path, sizeof(path), "%s_1234", uds);
	lfd = listen_at(path);
	if (vg_up(&g, 1))
		return;
	gsend(&g, VIRTIO_VSOCK_OP_REQUEST, 5002, 1234, 0, NULL, 0, 65536, 0, CID);
	grecv(&g, &h, NULL, 0);
	hfd = accept(lfd, NULL, NULL);
	for (i = 0; i < 6; i++)
		GSEND(&g, VIRTIO_VSOCK_OP_RW, 5002, 1234, big, sizeof(big));
	post_rx(&g, 8);
	for (i = 0; i < 8; i++) {
		op = grecv(&g, &h, NULL, 0);
		if (op == VIRTIO_VSOCK_OP_RST || op < 0)
			break;
	}
	TAP_EQ_INT(op, VIRTIO_VSOCK_OP_RST, "overrun: 384 KiB against 256 KiB of credit resets");
	while (host_readable(hfd) && (r = read(hfd, buf, sizeof(buf))) > 0)
		total += r;
	TAP_CHECK(total <= 256 * 1024,
		  "overrun: the host program got no more than the credit allowed");
	TAP_CHECK(host_readable(hfd) && read(hfd, buf, sizeof(buf)) == 0,
		  "overrun: host socket closed");
	close(hfd);
	close(lfd);
	unlink(path);
	vg_down(&g);
}

/*
 * Guest data a host program does not read waits in the device, up to the
 * credit it gave (256 KiB a connection), but all connections' buffers
 * together are bounded: with the limit lowered to one buffer, a second
 * connection that needs one is reset (and counted), the first keeps its
 * data, and once it is drained its memory serves a third.
 */
static void test_buf_limit(void)
{
	static char big[65536], buf[65536];
	struct virtio_vsock_hdr h;
	char path[128];
	struct vg g;
	int lfd, hfd[3], i, k, op, rst = 0;
	ssize_t r, total[3] = { 0, 0, 0 };

	snprintf(path, sizeof(path), "%s_1234", uds);
	lfd = listen_at(path);
	if (vg_up_limit(&g, 32, 256 * 1024)) {
		TAP_CHECK(0, "buf limit: device up");
		return;
	}
	memset(big, 'b', sizeof(big));
	for (k = 0; k < 3; k++) {
		gsend(&g, VIRTIO_VSOCK_OP_REQUEST, 6000 + k, 1234, 0, NULL, 0, 65536, 0, CID);
		do
			op = grecv(&g, &h, NULL, 0);
		while (op >= 0 && !(op == VIRTIO_VSOCK_OP_RESPONSE &&
				    le32toh(h.dst_port) == 6000u + k));
		hfd[k] = accept(lfd, NULL, NULL);
		/* 256 KiB, all the credit: more than the host socket takes. */
		for (i = 0; i < 4; i++)
			GSEND(&g, VIRTIO_VSOCK_OP_RW, 6000 + k, 1234, big, sizeof(big));
		if (k == 1) {
			/* Its packets, up to the RST (credit updates before). */
			for (i = 0; i < 16 && !rst; i++) {
				op = grecv(&g, &h, NULL, 0);
				if (op < 0)
					break;
				rst = op == VIRTIO_VSOCK_OP_RST && le32toh(h.dst_port) == 6001;
			}
			TAP_CHECK(rst, "buf limit: a second connection needing a buffer is reset");
			TAP_EQ_INT(vsock_buf_refused(g.vd), 1, "buf limit: the reset is counted");
			/* The first one keeps all its data; reading frees its buffer. */
			while (total[0] < 4 * 65536 && host_readable(hfd[0]) &&
			       (r = read(hfd[0], buf, sizeof(buf))) > 0)
				total[0] += r;
			TAP_EQ_INT(total[0], 4 * 65536,
				   "buf limit: the first connection's 256 KiB all reach its host program");
		}
	}
	while (total[2] < 4 * 65536 && host_readable(hfd[2]) &&
	       (r = read(hfd[2], buf, sizeof(buf))) > 0)
		total[2] += r;
	TAP_EQ_INT(total[2], 4 * 65536,
		   "buf limit: a drained buffer's memory serves a third connection");
	TAP_EQ_INT(vsock_buf_refused(g.vd), 1, "buf limit: no other reset");
	for (k = 0; k < 3; k++)
		close(hfd[k]);
	close(lfd);
	unlink(path);
	vg_down(&g);
}

/*
 * A host program that sends part of its CONNECT line and waits: the
 * device must wait for the rest without spinning.  With its I/O loop
 * driven here by vloop_poll(), the connection, once looked at, must not
 * be ready again until more bytes come (found by fuzz_vsock: a level
 * triggered EPOLLIN on bytes that stay in the socket spun the thread).
 */
static void test_partial_connect(void)
{
	struct virtio_vsock_hdr h;
	struct vg g;
	unsigned int i, busy = 0;
	int fd;

	memset(&g, 0, sizeof(g));
	g.vh = vt_host_new();
	g.bus = pci_bus_new(&g.vh->host);
	g.vd = vsock_new(CID, uds);
	TAP_CHECK(g.vd != NULL, "partial: device made (its thread not started)");
	if (!g.vd)
		return;
	pci_bus_add(g.bus, DEVFN, &g.vd->func);
	vt_probe(&g.d, g.vh, g.bus, DEVFN, 0xc0000000);
	TAP_EQ_INT(vt_bringup(&g.d, 0, 3), 0, "partial: driver up");
	post_rx(&g, 4);
	while (vloop_poll(g.vd->loop) > 0)
		;
	fd = connect_to(uds);
	TAP_CHECK(fd >= 0 && write(fd, "CONNECT 5", 9) == 9,
		  "partial: host program sends 'CONNECT 5' and no newline");
	vloop_poll(g.vd->loop);		/* accepts it */
	TAP_EQ_INT(vloop_poll(g.vd->loop), 1, "partial: the device looks at the line");
	for (i = 0; i < 10; i++)
		if (vloop_poll(g.vd->loop) > 0)
			busy++;
	TAP_EQ_INT(busy, 0, "partial: then the loop is idle until more bytes come");
	TAP_EQ_INT(vt_used_pending(&g.d, 0), 0, "partial: no REQUEST to the guest yet");
	TAP_CHECK(write(fd, "2\n", 2) == 2, "partial: host program sends the rest");
	while (vloop_poll(g.vd->loop) > 0)
		;
	TAP_EQ_INT(grecv(&g, &h, NULL, 0), VIRTIO_VSOCK_OP_REQUEST,
		   "partial: REQUEST to the guest once the line is whole");
	TAP_EQ_INT(le32toh(h.dst_port), 52, "partial: to guest port 52");
	if (fd >= 0)
		close(fd);
	vg_down(&g);
}

int main(void)
{
	struct vg g;

	signal(SIGPIPE, SIG_IGN);
	snprintf(uds, sizeof(uds), "/tmp/vbridge-vsock-test-%d.sock", (int)getpid());
	TAP_CHECK(vsock_new(2, uds) == NULL, "new: CID 2 refused");
	TAP_CHECK(vsock_new(CID, "/nonexistent/dir/v.sock") == NULL,
		  "new: socket in a missing directory refused");
	TAP_EQ_INT(vg_up(&g, 64), 0, "vsock: device up, listening on <uds>");
	TAP_EQ_INT(vt_cfg(&g.d, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_VSOCK,
		   "vsock: device id 0x1053");
	TAP_EQ_U64(vt_rd(&g.d, g.d.device, 8), CID, "vsock: guest_cid in config space");
	test_guest_initiated(&g);
	test_refused_and_bad(&g);
	test_host_initiated(&g);
	vg_down(&g);
	test_overrun();
	test_buf_limit();
	test_partial_connect();
	TAP_CHECK(access(uds, F_OK) != 0, "vsock: listening socket removed when freed");
	return tap_done();
}
