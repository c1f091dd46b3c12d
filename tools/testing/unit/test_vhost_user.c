// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/vhost/vhost_user.c, the vhost-user front-end:
 *
 *  (a) the reply parser against hand-made good and bad replies, and
 *      GET_INFLIGHT_FD's, the one reply that must carry an fd;
 *  (b) a fake back-end thread on a socketpair that misbehaves (wrong
 *      request code, short reply, an fd nobody asked for, no answer, a
 *      close half-way through a reply, a refusal): each gives its error,
 *      nothing hangs, and no fd is left open (/proc/self/fd counted),
 *      also when GET_INFLIGHT_FD is answered with no fd or two;
 *  (c) Debian's real qemu-storage-daemon serving a vhost-user-blk export:
 *      features, protocol features, queue count, config space, the
 *      inflight region (GET/SET_INFLIGHT_FD), then one
 *      queue set up over a memfd "guest memory" and a virtio-blk read the
 *      test builds in a split virtqueue itself, kicked through an eventfd
 *      and completed through another; the data must be the image's.
 *      Skipped, with the reason, only when the daemon is not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "qsd.h"
#include "tap.h"
#include "lib/log.h"
#include "vhost/vhost_user.h"


/* --- (a) the parser ----------------------------------------------------------- */

static size_t mk_reply(uint8_t *buf, uint32_t req, uint32_t flags,
		       const void *payload, uint32_t size)
{
	struct vhost_user_hdr h = { req, flags, size };

	memcpy(buf, &h, sizeof(h));
	if (size)
		memcpy(buf + sizeof(h), payload, size);
	return sizeof(h) + size;
}

#define RF	(VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY)

static void test_parser(void)
{
	struct vhost_user_expect u64 = { .request = VHOST_USER_GET_FEATURES,
					 .kind = VHOST_USER_REPLY_U64 };
	struct vhost_user_expect st = { .request = VHOST_USER_GET_VRING_BASE,
					.kind = VHOST_USER_REPLY_STATE, .index = 1 };
	struct vhost_user_expect cf = { .request = VHOST_USER_GET_CONFIG,
					.kind = VHOST_USER_REPLY_CONFIG,
					.cfg_offset = 0, .cfg_size = 8 };
	struct vhost_user_vring_state s = { 1, 42 };
	struct vhost_user_config c = { 0, 8, 0, { 1, 2, 3, 4, 5, 6, 7, 8 } };
	struct vhost_user_reply r;
	uint64_t v = 0x140000000ull;
	uint8_t buf[512];
	char err[200], nb[24];
	size_t n;

	n = mk_reply(buf, VHOST_USER_GET_FEATURES, RF, &v, 8);
	TAP_EQ_INT(vhost_user_parse_reply(&u64, buf, n, 0, false, &r, err,
					  sizeof(err)), 0, "parse: good u64 reply");
	TAP_EQ_U64(r.u64, v, "parse: u64 value");

	n = mk_reply(buf, VHOST_USER_GET_VRING_BASE, RF, &s, 8);
	TAP_EQ_INT(vhost_user_parse_reply(&st, buf, n, 0, false, &r, err,
					  sizeof(err)), 0, "parse: good vring state");
	TAP_EQ_INT(r.state.num, 42, "parse: vring state num");

	n = mk_reply(buf, VHOST_USER_GET_CONFIG, RF, &c, 12 + 8);
	TAP_EQ_INT(vhost_user_parse_reply(&cf, buf, n, 0, false, &r, err,
					  sizeof(err)), 0, "parse: good config");
	TAP_CHECK(!memcmp(r.config.payload, c.payload, 8), "parse: config bytes");

	n = mk_reply(buf, VHOST_USER_GET_FEATURES, RF, &v, 8);
	TAP_EQ_INT(vhost_user_parse_reply(&u64, buf, 11, 0, false, &r, err,
					  sizeof(err)), -EPROTO, "parse: shorter than a header");
	TAP_EQ_INT(vhost_user_parse_reply(&u64, buf, n - 1, 0, false, &r, err,
					  sizeof(err)), -EPROTO, "parse: payload cut short");
	TAP_CHECK(strstr(err, "7 payload bytes, its header says 8"),
		  "parse: says how many payload bytes came");

	n = mk_reply(buf, VHOST_USER_GET_FEATURES, RF, &v, 4);
	TAP_EQ_INT(vhost_user_parse_reply(&u64, buf, n, 0, false, &r, err,
					  sizeof(err)), -EPROTO, "parse: 4-byte u64");
	TAP_CHECK(!strcmp(err, "backend answered GET_FEATURES with 4 bytes, want 8"),
		  "parse: short size message");

	n = mk_reply(buf, VHOST_USER_SET_FEATURES, RF, &v, 8);
	TAP_EQ_INT(vhost_user_parse_reply(&u64, buf, n, 0, false, &r, err,
					  sizeof(err)), -EPROTO, "parse: wrong request code");
	TAP_CHECK(!strcmp(err, "backend answered GET_FEATURES with SET_FEATURES"),
		  "parse: wrong request message");

	n = mk_reply(buf, VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, &v, 8);
	TAP_EQ_INT(vhost_user_parse_reply(&u64, buf, n, 0, false, &r, err,
					  sizeof(err)), -EPROTO, "parse: no reply flag");
	n = mk_reply(buf, VHOST_USER_GET_FEATURES, 0x2 | VHOST_USER_FLAG_REPLY,
		     &v, 8);
	TAP_EQ_INT(vhost_user_parse_reply(&u64, buf, n, 0, false, &r, err,
					  sizeof(err)), -EPROTO, "parse: version 2");
	n = mk_reply(buf, VHOST_USER_GET_FEATURES, RF | VHOST_USER_FLAG_NEED_REPLY,
		     &v, 8);
	TAP_EQ_INT(vhost_user_parse_reply(&u64, buf, n, 0, false, &r, err,
					  sizeof(err)), -EPROTO, "parse: need-reply in a reply");

	n = mk_reply(buf, VHOST_USER_GET_FEATURES, RF, &v, 8);
	TAP_EQ_INT(vhost_user_parse_reply(&u64, buf, n, 1, false, &r, err,
					  sizeof(err)), -EPROTO, "parse: an fd came along");
	TAP_EQ_INT(vhost_user_parse_reply(&u64, buf, n, 0, true, &r, err,
					  sizeof(err)), -EPROTO, "parse: MSG_CTRUNC");

	s.index = 0;
	n = mk_reply(buf, VHOST_USER_GET_VRING_BASE, RF, &s, 8);
	TAP_EQ_INT(vhost_user_parse_reply(&st, buf, n, 0, false, &r, err,
					  sizeof(err)), -EPROTO, "parse: state of another queue");

	c.offset = 4;
	n = mk_reply(buf, VHOST_USER_GET_CONFIG, RF, &c, 12 + 8);
	TAP_EQ_INT(vhost_user_parse_reply(&cf, buf, n, 0, false, &r, err,
					  sizeof(err)), -EPROTO, "parse: config at another offset");
	c.offset = 0;
	n = mk_reply(buf, VHOST_USER_GET_CONFIG, RF, &c, 12 + 4);
	TAP_EQ_INT(vhost_user_parse_reply(&cf, buf, n, 0, false, &r, err,
					  sizeof(err)), -EPROTO, "parse: config of another size");
	n = mk_reply(buf, VHOST_USER_GET_CONFIG, RF, &c, 0);
	TAP_EQ_INT(vhost_user_parse_reply(&cf, buf, n, 0, false, &r, err,
					  sizeof(err)), -EIO, "parse: config refused (size 0)");
	cf.cfg_size = 300;
	TAP_EQ_INT(vhost_user_parse_reply(&cf, buf, n, 0, false, &r, err,
					  sizeof(err)), -EINVAL, "parse: config bigger than the protocol's");

	TAP_CHECK(!strcmp(vhost_user_request_name(99, nb, sizeof(nb)),
			  "request 99"), "request name of an unknown code");
}

/* GET_INFLIGHT_FD's reply: a region description and exactly one fd. */
static void test_parser_inflight(void)
{
	struct vhost_user_expect in = { .request = VHOST_USER_GET_INFLIGHT_FD,
					.kind = VHOST_USER_REPLY_INFLIGHT };
	struct vhost_user_expect u64 = { .request = VHOST_USER_GET_FEATURES,
					 .kind = VHOST_USER_REPLY_U64 };
	struct vhost_user_inflight d = { 0x21000, 0, 2, 256, 0 };
	struct vhost_user_reply r;
	uint64_t v = 1;
	uint8_t buf[128];
	char err[200];
	size_t n;

	TAP_EQ_INT(sizeof(d), 24, "inflight: the description is 24 bytes on the wire");
	n = mk_reply(buf, VHOST_USER_GET_INFLIGHT_FD, RF, &d, sizeof(d));
	TAP_EQ_INT(vhost_user_parse_reply(&in, buf, n, 1, false, &r, err,
					  sizeof(err)), 0, "inflight: good reply with one fd");
	TAP_CHECK(r.inflight.mmap_size == 0x21000 && r.inflight.mmap_offset == 0 &&
		  r.inflight.num_queues == 2 && r.inflight.queue_size == 256,
		  "inflight: description decoded");
	TAP_EQ_INT(vhost_user_parse_reply(&in, buf, n, 0, false, &r, err,
					  sizeof(err)), -EPROTO, "inflight: no fd");
	TAP_CHECK(strstr(err, "sent 0 file descriptors with its GET_INFLIGHT_FD reply, want one"),
		  "inflight: no fd is reported");
	TAP_EQ_INT(vhost_user_parse_reply(&in, buf, n, 2, false, &r, err,
					  sizeof(err)), -EPROTO, "inflight: two fds");
	TAP_EQ_INT(vhost_user_parse_reply(&in, buf, n, 1, true, &r, err,
					  sizeof(err)), -EPROTO, "inflight: MSG_CTRUNC");
	TAP_EQ_INT(vhost_user_parse_reply(&in, buf, n - 1, 1, false, &r, err,
					  sizeof(err)), -EPROTO, "inflight: truncated payload");
	TAP_EQ_INT(vhost_user_parse_reply(&in, buf, 8, 1, false, &r, err,
					  sizeof(err)), -EPROTO, "inflight: truncated header");
	n = mk_reply(buf, VHOST_USER_GET_INFLIGHT_FD, RF, &d, 16);
	TAP_EQ_INT(vhost_user_parse_reply(&in, buf, n, 1, false, &r, err,
					  sizeof(err)), -EPROTO, "inflight: 16-byte description");

	d.mmap_size = 0;
	n = mk_reply(buf, VHOST_USER_GET_INFLIGHT_FD, RF, &d, sizeof(d));
	TAP_EQ_INT(vhost_user_parse_reply(&in, buf, n, 1, false, &r, err,
					  sizeof(err)), -EPROTO, "inflight: empty region");
	d.mmap_size = VHOST_USER_INFLIGHT_MAX_SIZE + 1;
	n = mk_reply(buf, VHOST_USER_GET_INFLIGHT_FD, RF, &d, sizeof(d));
	TAP_EQ_INT(vhost_user_parse_reply(&in, buf, n, 1, false, &r, err,
					  sizeof(err)), -EPROTO, "inflight: region too big");
	TAP_CHECK(strstr(err, "a region of 1073741825 bytes"), "inflight: size reported");
	d.mmap_size = VHOST_USER_INFLIGHT_MAX_SIZE;
	d.mmap_offset = UINT64_MAX - 4095;
	n = mk_reply(buf, VHOST_USER_GET_INFLIGHT_FD, RF, &d, sizeof(d));
	TAP_EQ_INT(vhost_user_parse_reply(&in, buf, n, 1, false, &r, err,
					  sizeof(err)), -EPROTO, "inflight: offset + size overflows");
	d.mmap_offset = (uint64_t)INT64_MAX - VHOST_USER_INFLIGHT_MAX_SIZE + 1;
	n = mk_reply(buf, VHOST_USER_GET_INFLIGHT_FD, RF, &d, sizeof(d));
	TAP_EQ_INT(vhost_user_parse_reply(&in, buf, n, 1, false, &r, err,
					  sizeof(err)), -EPROTO, "inflight: ends past an off_t");
	d.mmap_offset -= 1;
	n = mk_reply(buf, VHOST_USER_GET_INFLIGHT_FD, RF, &d, sizeof(d));
	TAP_EQ_INT(vhost_user_parse_reply(&in, buf, n, 1, false, &r, err,
					  sizeof(err)), 0, "inflight: ends at the last off_t");

	/* Every other reply still refuses an fd. */
	n = mk_reply(buf, VHOST_USER_GET_FEATURES, RF, &v, 8);
	TAP_EQ_INT(vhost_user_parse_reply(&u64, buf, n, 1, false, &r, err,
					  sizeof(err)), -EPROTO, "inflight: a u64 reply with an fd still refused");
}

/* --- (b) a fake back-end ------------------------------------------------------- */

enum fb_mode {
	FB_GOOD, FB_WRONG_CODE, FB_SHORT, FB_EXTRA_FD, FB_SILENT,
	FB_CLOSE_MID, FB_BAD_FLAGS, FB_NACK, FB_REFUSE,
	FB_INFLIGHT,	/* a region description with val fds (memfds) */
};

struct fb {
	int fd;
	enum fb_mode mode;
	uint64_t val;
	struct vhost_user_hdr req;	/* what it was asked */
	uint8_t payload[512];
	unsigned int req_fds;
	pthread_t thread;
};

static int fb_read(struct fb *b, void *buf, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;
	size_t done = 0;

	while (done < len) {
		struct iovec iov = { (uint8_t *)buf + done, len - done };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		struct cmsghdr *c;
		ssize_t r = recvmsg(b->fd, &mh, MSG_CMSG_CLOEXEC);

		if (r <= 0)
			return -1;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			size_t i, n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int fd;

			for (i = 0; i < n; i++) {
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
				close(fd);
				b->req_fds++;
			}
		}
		done += r;
	}
	return 0;
}

static void fb_send(struct fb *b, uint32_t req, uint32_t flags,
		    const void *payload, uint32_t size, const int *fds,
		    unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 2)];
		struct cmsghdr align;
	} ctl;
	uint8_t msg[600];
	struct iovec iov = { msg, mk_reply(msg, req, flags, payload, size) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	if (sendmsg(b->fd, &mh, MSG_NOSIGNAL) < 0)
		perror("fake backend: sendmsg");
}

/* GET_INFLIGHT_FD's reply: 4 KiB at offset 0 of each of n (0-2) memfds. */
static void fb_send_inflight(struct fb *b, uint32_t req, unsigned int n)
{
	struct vhost_user_inflight d = { 4096, 0, 1, 16, 0 };
	int fds[2] = { -1, -1 };
	unsigned int i;

	for (i = 0; i < n && i < 2; i++) {
		fds[i] = memfd_create("vu-inflight", MFD_CLOEXEC);
		if (fds[i] < 0 || ftruncate(fds[i], 4096))
			perror("fake backend: memfd");
	}
	fb_send(b, req, RF, &d, sizeof(d), fds, i);
	while (i--)
		close(fds[i]);
}

/* Answers one request as its mode says, then waits for the client to go. */
static void *fb_main(void *arg)
{
	struct fb *b = arg;
	uint32_t req;
	uint8_t drain;
	int efd;

	if (fb_read(b, &b->req, sizeof(b->req)) ||
	    b->req.size > sizeof(b->payload) ||
	    fb_read(b, b->payload, b->req.size))
		goto out;
	req = b->req.request;
	switch (b->mode) {
	case FB_GOOD:
	case FB_NACK:
		fb_send(b, req, RF, &b->val, 8, NULL, 0);
		break;
	case FB_WRONG_CODE:
		fb_send(b, req + 1, RF, &b->val, 8, NULL, 0);
		break;
	case FB_SHORT:
		fb_send(b, req, RF, &b->val, 4, NULL, 0);
		break;
	case FB_EXTRA_FD:
		efd = eventfd(0, EFD_CLOEXEC);
		fb_send(b, req, RF, &b->val, 8, &efd, 1);
		close(efd);
		break;
	case FB_SILENT:
		break;
	case FB_CLOSE_MID:
		/* The header says 8 bytes follow; none do. */
		{
			struct vhost_user_hdr h = { req, RF, 8 };

			if (write(b->fd, &h, sizeof(h)) < 0)
				perror("fake backend: write");
		}
		goto out;
	case FB_BAD_FLAGS:
		fb_send(b, req, VHOST_USER_VERSION, &b->val, 8, NULL, 0);
		break;
	case FB_REFUSE:
		fb_send(b, req, RF, NULL, 0, NULL, 0);
		break;
	case FB_INFLIGHT:
		fb_send_inflight(b, req, b->val);
		break;
	}
	/* Until the client closes its end. */
	while (read(b->fd, &drain, 1) > 0)
		;
out:
	close(b->fd);
	return NULL;
}

/* A client connected to a fake back-end in mode; the client times out fast. */
static void fb_start(struct fb *b, struct vhost_user *vu, enum fb_mode mode,
		     uint64_t val)
{
	int sv[2];

	memset(b, 0, sizeof(*b));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		perror("socketpair");
		exit(1);
	}
	b->fd = sv[1];
	b->mode = mode;
	b->val = val;
	vhost_user_init_fd(vu, sv[0]);
	vu->timeout_ms = 300;
	pthread_create(&b->thread, NULL, fb_main, b);
}

static void fb_stop(struct fb *b, struct vhost_user *vu)
{
	vhost_user_close(vu);
	pthread_join(b->thread, NULL);
}

static void test_fake_backend(void)
{
	struct vhost_user vu;
	struct fb b;
	uint64_t v = 0;
	unsigned int base = 0;
	uint8_t cfg[8];
	int64_t t0;
	int fds0 = tap_dir_entries("/proc/self/fd"), ret, sv[2], mfd, ifd = 0;
	struct vhost_user_inflight infl;
	struct stat stb;

	fb_start(&b, &vu, FB_GOOD, 0x1234);
	TAP_EQ_INT(vhost_user_get_features(&vu, &v), 0, "fake: GET_FEATURES");
	TAP_EQ_U64(v, 0x1234, "fake: features value");
	TAP_EQ_INT(b.req.request, VHOST_USER_GET_FEATURES, "fake: request code sent");
	TAP_EQ_INT(b.req.flags, VHOST_USER_VERSION, "fake: request flags: version 1");
	TAP_EQ_INT(b.req.size, 0, "fake: GET_FEATURES has no payload");
	fb_stop(&b, &vu);

	fb_start(&b, &vu, FB_WRONG_CODE, 0);
	TAP_EQ_INT(vhost_user_get_features(&vu, &v), -EPROTO, "fake: wrong request code");
	TAP_CHECK(strstr(vu.err, "answered GET_FEATURES with SET_FEATURES"),
		  "fake: wrong request code is named");
	TAP_EQ_INT(vhost_user_set_owner(&vu), -EPROTO,
		   "fake: connection unusable after a malformed reply");
	TAP_CHECK(strstr(vu.err, "unusable after an earlier error"),
		  "fake: and says so");
	fb_stop(&b, &vu);

	fb_start(&b, &vu, FB_SHORT, 0);
	TAP_EQ_INT(vhost_user_get_protocol_features(&vu, &v), -EPROTO, "fake: short reply");
	TAP_CHECK(!strcmp(vu.err, "vhost-user: backend answered GET_PROTOCOL_FEATURES with 4 bytes, want 8"),
		  "fake: short reply message");
	fb_stop(&b, &vu);

	fb_start(&b, &vu, FB_EXTRA_FD, 7);
	TAP_EQ_INT(vhost_user_get_features(&vu, &v), -EPROTO, "fake: reply with an fd");
	TAP_CHECK(strstr(vu.err, "sent 1 file descriptor with its GET_FEATURES reply"),
		  "fake: the fd is reported");
	fb_stop(&b, &vu);

	fb_start(&b, &vu, FB_SILENT, 0);
	t0 = qsd_ms();
	ret = vhost_user_get_features(&vu, &v);
	t0 = qsd_ms() - t0;
	TAP_EQ_INT(ret, -ETIMEDOUT, "fake: no reply times out");
	TAP_CHECK(t0 >= 290 && t0 < 3000, "fake: after the timeout, not a hang");
	TAP_CHECK(strstr(vu.err, "did not answer GET_FEATURES within 300 ms"),
		  "fake: timeout message");
	fb_stop(&b, &vu);

	fb_start(&b, &vu, FB_CLOSE_MID, 0);
	TAP_EQ_INT(vhost_user_get_features(&vu, &v), -EPIPE, "fake: close mid-reply");
	TAP_CHECK(vu.disconnected && strstr(vu.err, "the backend disconnected"),
		  "fake: reported as a disconnect");
	TAP_EQ_INT(vhost_user_set_owner(&vu), -EPIPE, "fake: later requests: disconnected");
	fb_stop(&b, &vu);

	fb_start(&b, &vu, FB_BAD_FLAGS, 0);
	TAP_EQ_INT(vhost_user_get_features(&vu, &v), -EPROTO, "fake: reply without the reply flag");
	fb_stop(&b, &vu);

	/* REPLY_ACK: the request asks for an ack, its fds go with it. */
	fb_start(&b, &vu, FB_NACK, 1);
	vu.protocol_features = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK;
	mfd = memfd_create("vu-test", MFD_CLOEXEC);
	{
		struct vhost_user_region reg = { 0x100000, 4096, 0x7000000, 0, mfd };

		TAP_EQ_INT(vhost_user_set_mem_table(&vu, &reg, 1), -EIO,
			   "fake: nonzero ack is a failure");
	}
	close(mfd);
	TAP_CHECK(strstr(vu.err, "backend failed SET_MEM_TABLE (status 1)"),
		  "fake: failure message");
	TAP_EQ_INT(b.req.flags, VHOST_USER_VERSION | VHOST_USER_FLAG_NEED_REPLY,
		   "fake: need-reply flag sent with REPLY_ACK");
	TAP_EQ_INT(b.req.size, 8 + 32, "fake: SET_MEM_TABLE payload: one region");
	TAP_EQ_INT(b.req_fds, 1, "fake: SET_MEM_TABLE carried its fd");
	fb_stop(&b, &vu);

	fb_start(&b, &vu, FB_GOOD, (uint64_t)7 << 32 | 3);
	TAP_EQ_INT(vhost_user_get_vring_base(&vu, 0, &base), -EPROTO,
		   "fake: GET_VRING_BASE answered for another queue");
	fb_stop(&b, &vu);

	fb_start(&b, &vu, FB_REFUSE, 0);
	vu.protocol_features = 1ull << VHOST_USER_PROTOCOL_F_CONFIG;
	TAP_EQ_INT(vhost_user_get_config(&vu, 0, cfg, sizeof(cfg)), -EIO,
		   "fake: GET_CONFIG refused");
	TAP_CHECK(!vu.broken && !vu.disconnected,
		  "fake: a refusal leaves the connection usable");
	fb_stop(&b, &vu);

	fb_start(&b, &vu, FB_GOOD, 257);
	vu.protocol_features = 1ull << VHOST_USER_PROTOCOL_F_MQ;
	v = 0;
	TAP_EQ_INT(vhost_user_get_queue_num(&vu, &v), -EPROTO,
		   "fake: more queues than the protocol can name");
	TAP_CHECK(v == 0 && strstr(vu.err, "with 257 queues, want 1 to 256"),
		  "fake: the queue count is reported, not returned");
	fb_stop(&b, &vu);

	vhost_user_init_fd(&vu, -1);
	TAP_EQ_INT(vhost_user_get_queue_num(&vu, &v), -EINVAL,
		   "GET_QUEUE_NUM without MQ negotiated");
	TAP_EQ_INT(vhost_user_get_inflight_fd(&vu, 1, 16, &infl, &ifd), -EINVAL,
		   "GET_INFLIGHT_FD without INFLIGHT_SHMFD negotiated");
	TAP_EQ_INT(ifd, -1, "... and no fd");

	/* GET_INFLIGHT_FD: the one fd is kept, every fd of a refused reply closed. */
	fb_start(&b, &vu, FB_INFLIGHT, 1);
	vu.protocol_features = 1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD;
	TAP_EQ_INT(vhost_user_get_inflight_fd(&vu, 1, 16, &infl, &ifd), 0,
		   "fake: GET_INFLIGHT_FD with one fd");
	TAP_CHECK(ifd >= 0 && fstat(ifd, &stb) == 0 && stb.st_size == 4096 &&
		  infl.mmap_size == 4096,
		  "fake: the fd is the back-end's 4 KiB region");
	TAP_CHECK(b.req.size == 24 && !memcmp(b.payload, &(struct vhost_user_inflight){ 0, 0, 1, 16, 0 }, 24),
		  "fake: GET_INFLIGHT_FD asked for 1 queue of 16 entries");
	if (ifd >= 0)
		close(ifd);
	fb_stop(&b, &vu);
	fb_start(&b, &vu, FB_INFLIGHT, 0);
	vu.protocol_features = 1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD;
	TAP_EQ_INT(vhost_user_get_inflight_fd(&vu, 1, 16, &infl, &ifd), -EPROTO,
		   "fake: GET_INFLIGHT_FD reply without an fd");
	TAP_EQ_INT(ifd, -1, "fake: ... gives no fd");
	fb_stop(&b, &vu);
	fb_start(&b, &vu, FB_INFLIGHT, 2);
	vu.protocol_features = 1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD;
	TAP_EQ_INT(vhost_user_get_inflight_fd(&vu, 1, 16, &infl, &ifd), -EPROTO,
		   "fake: GET_INFLIGHT_FD reply with two fds");
	TAP_CHECK(ifd == -1 && strstr(vu.err, "sent 2 file descriptors"),
		  "fake: ... refused, no fd given");
	fb_stop(&b, &vu);
	fb_start(&b, &vu, FB_GOOD, 0);
	vu.protocol_features = 1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD |
			       1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK;
	ifd = memfd_create("vu-test", MFD_CLOEXEC);
	infl = (struct vhost_user_inflight){ 4096, 0, 1, 16, 0 };
	TAP_EQ_INT(vhost_user_set_inflight_fd(&vu, &infl, ifd), 0,
		   "fake: SET_INFLIGHT_FD, acked");
	close(ifd);
	fb_stop(&b, &vu);
	TAP_CHECK(b.req.request == VHOST_USER_SET_INFLIGHT_FD && b.req.size == 24 &&
		  b.req_fds == 1, "fake: SET_INFLIGHT_FD sent the description and its fd");

	/* A back-end that listens but never accepts: no wait in connect(). */
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		struct vhost_user held[3];
		int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), n = 0;

		snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/vu-full-%d.sock", (int)getpid());
		unlink(sa.sun_path);
		if (ls >= 0 && !bind(ls, (struct sockaddr *)&sa, sizeof(sa)) && !listen(ls, 0)) {
			t0 = qsd_ms();
			while (n < 3 && !vhost_user_connect(&held[n], sa.sun_path))
				n++;
			ret = n < 3 ? vhost_user_connect(&vu, sa.sun_path) : 0;
			TAP_CHECK(n < 3 && ret == -EAGAIN && qsd_ms() - t0 < 1000,
				  "connect: a full backlog gives -EAGAIN at once");
			while (n--)
				vhost_user_close(&held[n]);
		} else {
			TAP_CHECK(0, "connect: cannot make a listening socket");
		}
		if (ls >= 0)
			close(ls);
		unlink(sa.sun_path);
	}

	/* A dead back-end: EPIPE, not SIGPIPE. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
		close(sv[1]);
		vhost_user_init_fd(&vu, sv[0]);
		TAP_EQ_INT(vhost_user_set_owner(&vu), -EPIPE,
			   "dead backend: sending gives -EPIPE");
		TAP_CHECK(strstr(vu.err, "the backend disconnected (sending SET_OWNER)"),
			  "dead backend: message");
		vhost_user_close(&vu);
	}

	TAP_EQ_INT(tap_dir_entries("/proc/self/fd"), fds0, "fake: no fd leaked");
}

/* --- (c) the real qemu-storage-daemon ----------------------------------------- */

#define QUEUES		2
#define QSZ		16
#define MEM_GPA		0x40000000ull
#define MEM_SIZE	(1u << 20)
#define OFF_DESC	0x0000
#define OFF_AVAIL	0x1000
#define OFF_USED	0x2000
#define OFF_HDR		0x3000
#define OFF_DATA	0x4000
#define OFF_STATUS	0x5000
#define SECTOR		5

static void test_qsd(void)
{
	const uint64_t want_f = (1ull << VIRTIO_F_VERSION_1) |
				(1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	struct virtio_blk_config cfg;
	struct vhost_user vu = { .fd = -1 };
	struct vhost_user_region reg;
	struct vhost_user_vring_addr addr;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct virtio_blk_outhdr *hdr;
	uint8_t *mem = MAP_FAILED, *status, want[512];
	uint64_t features = 0, pf = 0, nq = 0, cnt;
	unsigned int base = 0, i;
	struct pollfd pfd;
	struct qsd q;
	const char *why = NULL;
	int fds0 = tap_dir_entries("/proc/self/fd"), mfd = -1, kick = -1, call = -1, ok = 0;
	int ifd = -1;
	struct vhost_user_inflight infl;
	struct stat stb;
	size_t cfg_len = offsetof(struct virtio_blk_config, num_queues) +
			 sizeof(cfg.num_queues);

	if (access(QSD, X_OK)) {
		printf("ok %d - qemu-storage-daemon # SKIP %s is not installed (package qemu-system-common)\n",
		       ++tap_count, QSD);
		return;
	}
	if (!qsd_start(&q, QUEUES, &why) && vhost_user_connect(&vu, q.sock))
		why = "cannot connect to its socket";
	if (why) {
		TAP_CHECK(0, why);
		qsd_print_log(&q);
		qsd_stop(&q);
		return;
	}
	TAP_CHECK(1, "qsd: connected to qemu-storage-daemon's vhost-user-blk export");

	if (!TAP_CHECK(vhost_user_get_features(&vu, &features) == 0, "qsd: GET_FEATURES"))
		goto out;
	printf("#   features 0x%llx\n", (unsigned long long)features);
	TAP_CHECK((features & want_f) == want_f,
		  "qsd: features include VERSION_1 and PROTOCOL_FEATURES");
	if (!TAP_CHECK(vhost_user_get_protocol_features(&vu, &pf) == 0,
		       "qsd: GET_PROTOCOL_FEATURES"))
		goto out;
	printf("#   protocol features 0x%llx\n", (unsigned long long)pf);
	TAP_CHECK(pf & (1ull << VHOST_USER_PROTOCOL_F_CONFIG), "qsd: protocol feature CONFIG");
	TAP_CHECK(pf & (1ull << VHOST_USER_PROTOCOL_F_MQ), "qsd: protocol feature MQ");
	TAP_CHECK(pf & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK), "qsd: protocol feature REPLY_ACK");
	if (!TAP_CHECK(vhost_user_set_protocol_features(&vu, pf & VHOST_USER_PROTOCOL_SUPPORTED) == 0,
		       "qsd: SET_PROTOCOL_FEATURES"))
		goto out;
	TAP_CHECK(vhost_user_get_queue_num(&vu, &nq) == 0, "qsd: GET_QUEUE_NUM");
	TAP_EQ_INT(nq, QUEUES, "qsd: queue count is num-queues");
	if (!TAP_CHECK(vhost_user_set_owner(&vu) == 0, "qsd: SET_OWNER (acked)"))
		goto out;
	memset(&cfg, 0, sizeof(cfg));
	TAP_CHECK(vhost_user_get_config(&vu, 0, &cfg, cfg_len) == 0, "qsd: GET_CONFIG");
	TAP_EQ_U64(cfg.capacity, QSD_IMG_SIZE / 512, "qsd: capacity is the image's sectors");
	TAP_EQ_INT(cfg.num_queues, QUEUES, "qsd: config num_queues");
	if (!TAP_CHECK(vhost_user_set_features(&vu, features & want_f) == 0,
		       "qsd: SET_FEATURES"))
		goto out;

	/* Guest memory: a memfd the back-end maps too. */
	mfd = memfd_create("vu-guest", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, MEM_SIZE))
		goto out;
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (mem == MAP_FAILED)
		goto out;
	reg = (struct vhost_user_region){
		.guest_addr = MEM_GPA, .size = MEM_SIZE,
		.user_addr = (uintptr_t)mem, .mmap_offset = 0, .fd = mfd,
	};
	if (!TAP_CHECK(vhost_user_set_mem_table(&vu, &reg, 1) == 0, "qsd: SET_MEM_TABLE"))
		goto out;
	/*
	 * With INFLIGHT_SHMFD acked, libvhost-user wants the region before a
	 * kick.  QEMU 7.2's export does not offer it (its protocol features
	 * are 0x8f2b); a later one may.
	 */
	printf("#   INFLIGHT_SHMFD %soffered\n",
	       pf & (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) ? "" : "not ");
	if (pf & (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)) {
		if (!TAP_CHECK(vhost_user_get_inflight_fd(&vu, 1, QSZ, &infl, &ifd) == 0,
			       "qsd: GET_INFLIGHT_FD"))
			goto out;
		printf("#   inflight region: %llu bytes at %llu\n",
		       (unsigned long long)infl.mmap_size,
		       (unsigned long long)infl.mmap_offset);
		TAP_CHECK(fstat(ifd, &stb) == 0 &&
			  (uint64_t)stb.st_size >= infl.mmap_offset + infl.mmap_size,
			  "qsd: the inflight fd holds the region");
		if (!TAP_CHECK(vhost_user_set_inflight_fd(&vu, &infl, ifd) == 0,
			       "qsd: SET_INFLIGHT_FD"))
			goto out;
	}
	kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	addr = (struct vhost_user_vring_addr){
		.index = 0,
		.desc = (uintptr_t)(mem + OFF_DESC),
		.used = (uintptr_t)(mem + OFF_USED),
		.avail = (uintptr_t)(mem + OFF_AVAIL),
	};
	if (!TAP_CHECK(vhost_user_set_vring_num(&vu, 0, QSZ) == 0 &&
		       vhost_user_set_vring_base(&vu, 0, 0) == 0 &&
		       vhost_user_set_vring_addr(&vu, &addr) == 0 &&
		       vhost_user_set_vring_call(&vu, 0, call) == 0 &&
		       vhost_user_set_vring_kick(&vu, 0, kick) == 0 &&
		       vhost_user_set_vring_enable(&vu, 0, true) == 0,
		       "qsd: queue 0 set up (NUM, BASE, ADDR, CALL, KICK, ENABLE)"))
		goto out;

	/* One read of sector SECTOR: header, data, status. */
	desc = (struct vring_desc *)(mem + OFF_DESC);
	avail = (struct vring_avail *)(mem + OFF_AVAIL);
	used = (struct vring_used *)(mem + OFF_USED);
	hdr = (struct virtio_blk_outhdr *)(mem + OFF_HDR);
	status = mem + OFF_STATUS;
	hdr->type = VIRTIO_BLK_T_IN;
	hdr->sector = SECTOR;
	memset(mem + OFF_DATA, 0xee, 512);
	*status = 0xff;
	desc[0] = (struct vring_desc){ MEM_GPA + OFF_HDR, sizeof(*hdr),
				       VRING_DESC_F_NEXT, 1 };
	desc[1] = (struct vring_desc){ MEM_GPA + OFF_DATA, 512,
				       VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2 };
	desc[2] = (struct vring_desc){ MEM_GPA + OFF_STATUS, 1,
				       VRING_DESC_F_WRITE, 0 };
	avail->ring[0] = 0;
	__atomic_store_n(&avail->idx, 1, __ATOMIC_RELEASE);
	/*
	 * libvhost-user signals a call eventfd once when it is given one
	 * (against a lost interrupt after a reconnection): that is not our
	 * completion.
	 */
	if (read(call, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		goto out;
	cnt = 1;
	if (write(kick, &cnt, sizeof(cnt)) != sizeof(cnt))
		goto out;
	pfd = (struct pollfd){ .fd = call, .events = POLLIN };
	if (!TAP_CHECK(poll(&pfd, 1, 5000) == 1, "qsd: call eventfd signalled after the kick"))
		goto out;
	TAP_EQ_INT(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE), 1, "qsd: used index 1");
	TAP_EQ_INT(used->ring[0].id, 0, "qsd: used element is the chain's head");
	TAP_EQ_INT(used->ring[0].len, 512 + 1, "qsd: used length: data and status");
	TAP_EQ_INT(*status, VIRTIO_BLK_S_OK, "qsd: status OK");
	for (i = 0; i < 512; i++)
		want[i] = qsd_img_byte(SECTOR * 512 + i);
	TAP_CHECK(!memcmp(mem + OFF_DATA, want, 512), "qsd: the data read is the image's");

	TAP_CHECK(vhost_user_get_vring_base(&vu, 0, &base) == 0, "qsd: GET_VRING_BASE");
	TAP_EQ_INT(base, 1, "qsd: the ring stopped at avail index 1");
	TAP_EQ_INT(vhost_user_reset(&vu), 0, "qsd: reset (RESET_OWNER or RESET_DEVICE), acked");
	ok = 1;
out:
	if (!ok) {
		TAP_CHECK(0, vu.err[0] ? vu.err : "qsd: setup failed");
		qsd_print_log(&q);
	}
	vhost_user_close(&vu);
	qsd_stop(&q);
	if (mem != MAP_FAILED)
		munmap(mem, MEM_SIZE);
	if (mfd >= 0)
		close(mfd);
	if (kick >= 0)
		close(kick);
	if (call >= 0)
		close(call);
	if (ifd >= 0)
		close(ifd);
	TAP_EQ_INT(tap_dir_entries("/proc/self/fd"), fds0, "qsd: no fd leaked");
}

int main(void)
{
	log_set_prefix("test_vhost_user");
	test_parser();
	test_parser_inflight();
	test_fake_backend();
	test_qsd();
	return tap_done();
}
