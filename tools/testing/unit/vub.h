/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test fixture: a small vhost-user-blk back-end that keeps its in-flight
 * requests in the INFLIGHT_SHMFD region, for the reconnection tests of
 * test_vhost_dev (Debian's QEMU 7.2 qemu-storage-daemon and virtiofsd do
 * not offer that protocol feature).
 *
 * It runs as its own process (the test binary again, vub_main()), so that
 * the test can SIGKILL it like a real daemon and start another on the same
 * socket (qsd_spawn()).  One connection at a time, one queue, split rings,
 * virtio-blk IN/OUT of 512-byte sectors from a raw image.
 *
 * The region, this back-end's own layout: per queue, one byte per
 * descriptor head, 1 while the request it starts was taken from the avail
 * ring and is not yet in the used ring.  When a queue is started (its kick
 * fd given), every head marked in the region is served first (it was in
 * flight when the last back-end died), then the avail ring from the used
 * index plus those.  Mode "hold" marks a request and serves nothing, and
 * says "held" on its standard output: a request in flight at the kill.
 * Mode "plain" does not offer INFLIGHT_SHMFD.
 */
#ifndef VBRIDGE_TEST_VUB_H
#define VBRIDGE_TEST_VUB_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "vhost/vhost_user.h"

#define VUB_MAX_REGIONS	8
#define VUB_QSIZE_MAX	1024

struct vub_region {
	uint64_t gpa, size, uva;
	uint8_t *p;
};

struct vub {
	int img, conn, kick, call;
	bool hold, inflight_pf;
	uint64_t pf;
	struct vub_region reg[VUB_MAX_REGIONS];
	unsigned int nreg;
	uint8_t *inflight;		/* the region: VUB_QSIZE_MAX bytes */
	uint16_t num, last_avail;
	uint64_t desc_uva, avail_uva, used_uva;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	bool started;
};

/* Our mapping of len bytes at addr: a front-end address, or a gpa. */
static void *vub_ptr(struct vub *b, uint64_t addr, uint64_t len, bool gpa)
{
	unsigned int i;

	for (i = 0; i < b->nreg; i++) {
		uint64_t base = gpa ? b->reg[i].gpa : b->reg[i].uva;

		if (addr >= base && addr - base + len <= b->reg[i].size)
			return b->reg[i].p + (addr - base);
	}
	return NULL;
}

/* Serve the request whose chain starts at head: header, data, status. */
static void vub_serve(struct vub *b, uint16_t head)
{
	struct vring_desc *d0 = &b->desc[head % b->num];
	struct vring_desc *d1 = &b->desc[d0->next % b->num];
	struct vring_desc *d2 = &b->desc[d1->next % b->num];
	struct virtio_blk_outhdr *h = vub_ptr(b, d0->addr, sizeof(*h), true);
	uint8_t *data = vub_ptr(b, d1->addr, d1->len, true);
	uint8_t *st = vub_ptr(b, d2->addr, 1, true);
	uint16_t u = b->used->idx;
	uint64_t one = 1;
	ssize_t r = -1;

	if (h && data && st) {
		if (h->type == VIRTIO_BLK_T_IN)
			r = pread(b->img, data, d1->len, h->sector * 512);
		else if (h->type == VIRTIO_BLK_T_OUT)
			r = pwrite(b->img, data, d1->len, h->sector * 512);
		*st = r == (ssize_t)d1->len ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	}
	b->used->ring[u % b->num].id = head;
	b->used->ring[u % b->num].len = (h && h->type == VIRTIO_BLK_T_IN ? d1->len : 0) + 1;
	__atomic_store_n(&b->used->idx, u + 1, __ATOMIC_RELEASE);
	if (b->inflight)
		b->inflight[head % b->num] = 0;
	if (b->call >= 0 && write(b->call, &one, sizeof(one)) < 0)
		perror("vub: call");
}

/* Take what the driver made available. */
static void vub_ring(struct vub *b)
{
	while (b->started &&
	       b->last_avail != __atomic_load_n(&b->avail->idx, __ATOMIC_ACQUIRE)) {
		uint16_t head = b->avail->ring[b->last_avail % b->num];

		b->last_avail++;
		if (b->inflight)
			b->inflight[head % b->num] = 1;
		if (b->hold) {
			printf("held %u\n", head);
			fflush(stdout);
			continue;
		}
		vub_serve(b, head);
	}
}

/* The queue is started: finish what the last back-end left in flight. */
static void vub_start_ring(struct vub *b)
{
	unsigned int i, n = 0;

	b->desc = vub_ptr(b, b->desc_uva, 16ull * b->num, false);
	b->avail = vub_ptr(b, b->avail_uva, 6 + 2ull * b->num, false);
	b->used = vub_ptr(b, b->used_uva, 6 + 8ull * b->num, false);
	if (!b->desc || !b->avail || !b->used || !b->num) {
		fprintf(stderr, "vub: rings not in guest memory\n");
		exit(1);
	}
	b->started = true;
	if (!b->inflight)
		return;
	for (i = 0; i < b->num; i++)
		if (b->inflight[i])
			n++;
	b->last_avail = b->used->idx + n;
	printf("resubmitting %u\n", n);
	fflush(stdout);
	for (i = 0; i < b->num; i++)
		if (b->inflight[i])
			vub_serve(b, i);
}

static void vub_reply(struct vub *b, const struct vhost_user_hdr *req,
		      const void *payload, uint32_t size, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct vhost_user_hdr h = { req->request, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY, size };
	uint8_t msg[300];
	struct iovec iov = { msg, sizeof(h) + size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), payload, size);
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	}
	if (sendmsg(b->conn, &mh, MSG_NOSIGNAL) < 0)
		perror("vub: sendmsg");
}

/* One request from the front-end; -1 when the connection closed. */
static int vub_request(struct vub *b)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VUB_MAX_REGIONS)];
		struct cmsghdr align;
	} ctl;
	struct vhost_user_hdr h;
	uint8_t p[300];
	int fds[VUB_MAX_REGIONS], nfds = 0;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	uint64_t v = 0, ack = 0, one = 1;
	unsigned int i;

	if (recvmsg(b->conn, &mh, MSG_CMSG_CLOEXEC) != sizeof(h) || h.size > sizeof(p) ||
	    (h.size && recv(b->conn, p, h.size, MSG_WAITALL) != (ssize_t)h.size))
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		for (i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) &&
			    nfds < VUB_MAX_REGIONS; i++)
			memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	memcpy(&v, p, h.size < 8 ? h.size : 8);
	switch (h.request) {
	case VHOST_USER_GET_FEATURES:
		/* What vt_bringup() asks for; kicks and calls are never suppressed. */
		v = 1ull << VIRTIO_F_VERSION_1 | 1ull << VHOST_USER_F_PROTOCOL_FEATURES |
		    1ull << VIRTIO_RING_F_INDIRECT_DESC | 1ull << VIRTIO_RING_F_EVENT_IDX;
		vub_reply(b, &h, &v, 8, -1);
		return 0;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		v = 1ull << VHOST_USER_PROTOCOL_F_MQ | 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK |
		    1ull << VHOST_USER_PROTOCOL_F_CONFIG;
		if (b->inflight_pf)
			v |= 1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD;
		vub_reply(b, &h, &v, 8, -1);
		return 0;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		b->pf = v;
		return 0;
	case VHOST_USER_GET_QUEUE_NUM:
		v = 1;
		vub_reply(b, &h, &v, 8, -1);
		return 0;
	case VHOST_USER_GET_CONFIG: {
		struct vhost_user_config *cfg = (void *)p;
		struct virtio_blk_config bc = { .capacity = QSD_IMG_SIZE / 512, .num_queues = 1 };

		memset(cfg->payload, 0, cfg->size);
		memcpy(cfg->payload, &bc, cfg->size < sizeof(bc) ? cfg->size : sizeof(bc));
		vub_reply(b, &h, cfg, h.size, -1);
		return 0;
	}
	case VHOST_USER_SET_MEM_TABLE: {
		struct vhost_user_mem *m = (void *)p;

		b->nreg = 0;
		for (i = 0; i < m->nregions && (int)i < nfds; i++) {
			struct vhost_user_mem_region *r = &m->regions[i];
			uint8_t *q = mmap(NULL, r->size + r->mmap_offset, PROT_READ | PROT_WRITE,
					  MAP_SHARED, fds[i], 0);

			if (q == MAP_FAILED)
				ack = 1;
			else
				b->reg[b->nreg++] = (struct vub_region){
					r->guest_addr, r->size, r->user_addr, q + r->mmap_offset,
				};
		}
		break;
	}
	case VHOST_USER_GET_INFLIGHT_FD: {
		struct vhost_user_inflight *d = (void *)p;
		int mfd = memfd_create("vub-inflight", MFD_CLOEXEC);

		d->mmap_size = VUB_QSIZE_MAX;
		d->mmap_offset = 0;
		if (mfd < 0 || ftruncate(mfd, VUB_QSIZE_MAX))
			exit(1);
		vub_reply(b, &h, d, sizeof(*d), mfd);
		close(mfd);
		printf("inflight region made\n");
		fflush(stdout);
		return 0;
	}
	case VHOST_USER_SET_INFLIGHT_FD: {
		struct vhost_user_inflight *d = (void *)p;

		if (nfds != 1 || d->mmap_size < VUB_QSIZE_MAX)
			ack = 1;
		else
			b->inflight = mmap(NULL, d->mmap_size, PROT_READ | PROT_WRITE,
					   MAP_SHARED, fds[0], d->mmap_offset);
		if (b->inflight == MAP_FAILED) {
			b->inflight = NULL;
			ack = 1;
		}
		printf("inflight region set\n");
		fflush(stdout);
		break;
	}
	case VHOST_USER_SET_VRING_NUM:
		b->num = ((struct vhost_user_vring_state *)p)->num;
		if (b->num > VUB_QSIZE_MAX)
			ack = 1;
		break;
	case VHOST_USER_SET_VRING_BASE:
		b->last_avail = ((struct vhost_user_vring_state *)p)->num;
		break;
	case VHOST_USER_SET_VRING_ADDR: {
		struct vhost_user_vring_addr *a = (void *)p;

		b->desc_uva = a->desc;
		b->avail_uva = a->avail;
		b->used_uva = a->used;
		break;
	}
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_KICK: {
		bool kick = h.request == VHOST_USER_SET_VRING_KICK;
		int *slot = kick ? &b->kick : &b->call;

		if (*slot >= 0)
			close(*slot);
		*slot = nfds ? fds[0] : -1;
		nfds = 0;
		if (!kick) {
			/*
			 * As libvhost-user does: what was completed before the
			 * call fd came (the kick fd comes first) gets its
			 * interrupt.
			 */
			if (b->call >= 0 && write(b->call, &one, sizeof(one)) < 0)
				perror("vub: call");
			break;
		}
		if (b->pf & (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) && !b->inflight) {
			fprintf(stderr, "vub: a kick fd before the inflight region\n");
			exit(1);
		}
		vub_start_ring(b);
		break;
	}
	case VHOST_USER_GET_VRING_BASE: {
		struct vhost_user_vring_state s = { 0, b->last_avail };

		b->started = false;
		vub_reply(b, &h, &s, sizeof(s), -1);
		break;
	}
	default:
		break;
	}
	/* Mappings keep what they need; the kick and call fds were taken. */
	for (i = 0; i < (unsigned int)nfds; i++)
		close(fds[i]);
	if (h.flags & VHOST_USER_FLAG_NEED_REPLY)
		vub_reply(b, &h, &ack, 8, -1);
	return 0;
}

/* argv: program, "--vub", socket, image, mode ("inflight", "hold", "plain"). */
static int vub_main(char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vub b = { .conn = -1, .kick = -1, .call = -1 };
	int ls;

	b.hold = !strcmp(argv[4], "hold");
	b.inflight_pf = strcmp(argv[4], "plain") != 0;
	b.img = open(argv[3], O_RDWR | O_CLOEXEC);
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[2]);
	unlink(argv[2]);
	if (b.img < 0 || ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(ls, 1)) {
		perror("vub");
		return 1;
	}
	for (;;) {
		b.conn = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (b.conn < 0)
			return 1;
		for (;;) {
			struct pollfd pfd[2] = {
				{ .fd = b.conn, .events = POLLIN },
				{ .fd = b.started ? b.kick : -1, .events = POLLIN },
			};
			uint64_t n;

			if (poll(pfd, 2, -1) < 0)
				return 1;
			if (pfd[1].revents && read(b.kick, &n, sizeof(n)) == sizeof(n))
				vub_ring(&b);
			if (pfd[0].revents && vub_request(&b))
				break;
		}
		close(b.conn);
		b.started = false;
	}
}

#endif
