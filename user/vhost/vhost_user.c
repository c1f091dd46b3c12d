// SPDX-License-Identifier: GPL-2.0
/*
 * The vhost-user front-end (see vhost_user.h).
 *
 * A request is one sendmsg() (its fds in SCM_RIGHTS with the first byte);
 * a reply is read as a header, checked, then exactly the payload the header
 * announced, which is checked again as a whole by the pure parser.  Every
 * read waits in poll() for what is left of the request's timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "lib/log.h"
#include "vhost/vhost_user.h"

static const char *const request_names[] = {
	[VHOST_USER_GET_FEATURES] = "GET_FEATURES",
	[VHOST_USER_SET_FEATURES] = "SET_FEATURES",
	[VHOST_USER_SET_OWNER] = "SET_OWNER",
	[VHOST_USER_RESET_OWNER] = "RESET_OWNER",
	[VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
	[VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
	[VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
	[VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
	[VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
	[VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VHOST_USER_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VHOST_USER_GET_CONFIG] = "GET_CONFIG",
	[VHOST_USER_SET_CONFIG] = "SET_CONFIG",
	[VHOST_USER_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	[VHOST_USER_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	[VHOST_USER_RESET_DEVICE] = "RESET_DEVICE",
};

const char *vhost_user_request_name(uint32_t request, char *buf, size_t len)
{
	size_t n = sizeof(request_names) / sizeof(request_names[0]);

	if (request < n && request_names[request])
		return request_names[request];
	snprintf(buf, len, "request %u", request);
	return buf;
}

/* The payload bytes the reply to want must have. */
static uint32_t expect_size(const struct vhost_user_expect *want)
{
	switch (want->kind) {
	case VHOST_USER_REPLY_STATE:
		return sizeof(struct vhost_user_vring_state);
	case VHOST_USER_REPLY_CONFIG:
		return VHOST_USER_CONFIG_HDR + want->cfg_size;
	case VHOST_USER_REPLY_INFLIGHT:
		return sizeof(struct vhost_user_inflight);
	case VHOST_USER_REPLY_U64:
	default:
		return sizeof(uint64_t);
	}
}

int vhost_user_check_header(const struct vhost_user_expect *want,
			    const struct vhost_user_hdr *hdr, unsigned int nfds,
			    bool ctrunc, char *err, size_t errlen)
{
	char b1[24], b2[24];
	const char *name = vhost_user_request_name(want->request, b1, sizeof(b1));
	uint32_t size = expect_size(want);
	unsigned int want_fds = want->kind == VHOST_USER_REPLY_INFLIGHT;

	if (hdr->request != want->request)
		return err_set(err, errlen, -EPROTO,
			       "backend answered %s with %s", name,
			       vhost_user_request_name(hdr->request, b2,
						       sizeof(b2)));
	if (hdr->flags != (VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY))
		return err_set(err, errlen, -EPROTO,
			       "backend's %s reply has flags 0x%x, want 0x%x (version 1, reply)",
			       name, hdr->flags,
			       VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY);
	if (ctrunc)
		return err_set(err, errlen, -EPROTO,
			       "backend's %s reply carried more file descriptors than fit (MSG_CTRUNC)",
			       name);
	if (nfds != want_fds)
		return err_set(err, errlen, -EPROTO,
			       "backend sent %u file descriptor%s with its %s reply, want %s",
			       nfds, nfds == 1 ? "" : "s", name,
			       want_fds ? "one" : "none");
	if (want->kind == VHOST_USER_REPLY_CONFIG && hdr->size == 0)
		return err_set(err, errlen, -EIO,
			       "backend refused %s of %u bytes at offset %u",
			       name, want->cfg_size, want->cfg_offset);
	if (hdr->size != size)
		return err_set(err, errlen, -EPROTO,
			       "backend answered %s with %u bytes, want %u",
			       name, hdr->size, size);
	return 0;
}

int vhost_user_parse_reply(const struct vhost_user_expect *want,
			   const void *buf, size_t len, unsigned int nfds,
			   bool ctrunc, struct vhost_user_reply *out,
			   char *err, size_t errlen)
{
	const uint8_t *p = buf;
	struct vhost_user_hdr hdr;
	char b[24];
	const char *name = vhost_user_request_name(want->request, b, sizeof(b));
	int ret;

	if (want->kind == VHOST_USER_REPLY_CONFIG &&
	    want->cfg_size > VHOST_USER_MAX_CONFIG)
		return err_set(err, errlen, -EINVAL,
			       "%s of %u bytes asked, at most %u", name,
			       want->cfg_size, VHOST_USER_MAX_CONFIG);
	if (len < sizeof(hdr))
		return err_set(err, errlen, -EPROTO,
			       "backend's %s reply is %zu bytes, shorter than a header",
			       name, len);
	memcpy(&hdr, p, sizeof(hdr));
	ret = vhost_user_check_header(want, &hdr, nfds, ctrunc, err, errlen);
	if (ret)
		return ret;
	if (len - sizeof(hdr) != hdr.size)
		return err_set(err, errlen, -EPROTO,
			       "backend's %s reply has %zu payload bytes, its header says %u",
			       name, len - sizeof(hdr), hdr.size);
	p += sizeof(hdr);
	memset(out, 0, sizeof(*out));
	switch (want->kind) {
	case VHOST_USER_REPLY_U64:
		memcpy(&out->u64, p, sizeof(out->u64));
		break;
	case VHOST_USER_REPLY_STATE:
		memcpy(&out->state, p, sizeof(out->state));
		if (out->state.index != want->index)
			return err_set(err, errlen, -EPROTO,
				       "backend answered %s for queue %u, asked for queue %u",
				       name, out->state.index, want->index);
		break;
	case VHOST_USER_REPLY_CONFIG:
		memcpy(&out->config, p, hdr.size);
		if (out->config.offset != want->cfg_offset ||
		    out->config.size != want->cfg_size)
			return err_set(err, errlen, -EPROTO,
				       "backend answered %s with %u bytes at offset %u, asked for %u at %u",
				       name, out->config.size,
				       out->config.offset, want->cfg_size,
				       want->cfg_offset);
		break;
	case VHOST_USER_REPLY_INFLIGHT:
		memcpy(&out->inflight, p, sizeof(out->inflight));
		if (!out->inflight.mmap_size ||
		    out->inflight.mmap_size > VHOST_USER_INFLIGHT_MAX_SIZE)
			return err_set(err, errlen, -EPROTO,
				       "backend answered %s with a region of %llu bytes, want 1 to %llu",
				       name,
				       (unsigned long long)out->inflight.mmap_size,
				       VHOST_USER_INFLIGHT_MAX_SIZE);
		/* mmap() takes the end as an off_t. */
		if (out->inflight.mmap_offset >
		    (uint64_t)INT64_MAX - out->inflight.mmap_size)
			return err_set(err, errlen, -EPROTO,
				       "backend answered %s with a region at offset 0x%llx, past what a file can hold",
				       name,
				       (unsigned long long)out->inflight.mmap_offset);
		break;
	}
	return 0;
}

/* --- the connection --------------------------------------------------------- */

static int vu_vfail(struct vhost_user *vu, int ret, const char *fmt,
		    va_list ap) __attribute__((format(printf, 3, 0)));

static int vu_vfail(struct vhost_user *vu, int ret, const char *fmt,
		    va_list ap)
{
	char msg[sizeof(vu->err) - 16];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(vu->err, sizeof(vu->err), "vhost-user: %s", msg);
	if (vu->quiet)
		log_debug("%s", vu->err);
	else
		log_error("%s", vu->err);
	return ret;
}

static int vu_fail(struct vhost_user *vu, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int vu_fail(struct vhost_user *vu, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ret = vu_vfail(vu, ret, fmt, ap);
	va_end(ap);
	return ret;
}

/*
 * The stream can no longer be trusted (or the back-end is gone): later
 * requests fail at once.
 */
static int vu_broken(struct vhost_user *vu, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int vu_broken(struct vhost_user *vu, int ret, const char *fmt, ...)
{
	va_list ap;

	if (ret == -EPIPE)
		vu->disconnected = true;
	else
		vu->broken = true;
	va_start(ap, fmt);
	ret = vu_vfail(vu, ret, fmt, ap);
	va_end(ap);
	return ret;
}

void vhost_user_init_fd(struct vhost_user *vu, int fd)
{
	memset(vu, 0, sizeof(*vu));
	vu->fd = fd;
	vu->timeout_ms = VHOST_USER_TIMEOUT_MS;
}

int vhost_user_connect(struct vhost_user *vu, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	bool quiet = vu->quiet;
	int fd;

	vhost_user_init_fd(vu, -1);
	vu->quiet = quiet;
	if (strlen(path) >= sizeof(sa.sun_path))
		return vu_fail(vu, -ENAMETOOLONG, "socket path '%s' is too long",
			       path);
	strcpy(sa.sun_path, path);
	/*
	 * Non-blocking (every read and write polls anyway): a back-end that
	 * listens but does not accept, its backlog full, gives -EAGAIN at
	 * once instead of a connect() that waits for ever.
	 */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return vu_fail(vu, -errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return vu_fail(vu, -e, "cannot connect to '%s': %s", path,
			       e == EAGAIN ? "it does not accept connections (backlog full)" :
			       strerror(e));
	}
	vu->fd = fd;
	return 0;
}

void vhost_user_close(struct vhost_user *vu)
{
	if (vu->fd >= 0)
		close(vu->fd);
	vu->fd = -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on the socket until deadline; 1 ready, 0 timed out. */
static int wait_fd(struct vhost_user *vu, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = vu->fd, .events = events };
	int64_t left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left < 0)
			left = 0;
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

static bool is_disconnect(int e)
{
	return e == EPIPE || e == ECONNRESET || e == ENOTCONN;
}

static int vu_usable(struct vhost_user *vu, const char *name)
{
	if (vu->fd < 0)
		return vu_fail(vu, -ENOTCONN, "%s: not connected", name);
	if (vu->disconnected)
		return vu_fail(vu, -EPIPE, "%s: the backend disconnected earlier",
			       name);
	if (vu->broken)
		return vu_fail(vu, -EPROTO,
			       "%s: the connection is unusable after an earlier error",
			       name);
	return 0;
}

static int vu_send(struct vhost_user *vu, uint32_t request, uint32_t flags,
		   const void *payload, uint32_t size, const int *fds,
		   unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_REGIONS)];
		struct cmsghdr align;
	} ctl;
	struct vhost_user_hdr hdr = {
		.request = request,
		.flags = VHOST_USER_VERSION | flags,
		.size = size,
	};
	uint8_t msg[sizeof(hdr) + sizeof(struct vhost_user_mem)];
	size_t len = sizeof(hdr) + size, done = 0;
	int64_t deadline = now_ms() + vu->timeout_ms;
	char b[24];
	const char *name = vhost_user_request_name(request, b, sizeof(b));

	if (size > sizeof(msg) - sizeof(hdr))
		return vu_fail(vu, -EINVAL, "%s payload of %u bytes is too big",
			       name, size);
	memcpy(msg, &hdr, sizeof(hdr));
	if (size)
		memcpy(msg + sizeof(hdr), payload, size);
	while (done < len) {
		struct iovec iov = { msg + done, len - done };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t r;

		if (!done && nfds) {
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
		r = sendmsg(vu->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r >= 0) {
			done += r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int w = wait_fd(vu, POLLOUT, deadline);

			if (w > 0)
				continue;
			if (w == 0)
				return vu_broken(vu, -ETIMEDOUT,
						 "backend took no %s for %d ms",
						 name, vu->timeout_ms);
			errno = -w;
		}
		if (is_disconnect(errno))
			return vu_broken(vu, -EPIPE,
					 "the backend disconnected (sending %s)",
					 name);
		return vu_broken(vu, -errno, "sending %s: %s", name,
				 strerror(errno));
	}
	return 0;
}

/*
 * Read exactly len bytes by deadline.  Any fds that come along are
 * counted into *nfds; the first is kept in *fd (when it is -1: the
 * caller closes it), every other closed at once.  Only GET_INFLIGHT_FD's
 * reply may carry one, and the caller decides whether it is kept.
 */
static int vu_recv(struct vhost_user *vu, void *buf, size_t len,
		   int64_t deadline, unsigned int *nfds, int *keep,
		   bool *ctrunc, const char *name)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_REGIONS)];
		struct cmsghdr align;
	} ctl;
	size_t done = 0;

	while (done < len) {
		struct iovec iov = { (uint8_t *)buf + done, len - done };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		struct cmsghdr *c;
		ssize_t r;
		int w;

		w = wait_fd(vu, POLLIN, deadline);
		if (w == 0)
			return vu_broken(vu, -ETIMEDOUT,
					 "backend did not answer %s within %d ms",
					 name, vu->timeout_ms);
		if (w < 0)
			return vu_broken(vu, w, "waiting for the %s reply: %s",
					 name, strerror(-w));
		r = recvmsg(vu->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			if (is_disconnect(errno))
				return vu_broken(vu, -EPIPE,
						 "the backend disconnected (waiting for the %s reply)",
						 name);
			return vu_broken(vu, -errno, "reading the %s reply: %s",
					 name, strerror(errno));
		}
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			size_t i, n;
			int fd;

			if (c->cmsg_level != SOL_SOCKET ||
			    c->cmsg_type != SCM_RIGHTS)
				continue;
			n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < n; i++) {
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
				       sizeof(fd));
				if (*keep < 0)
					*keep = fd;
				else
					close(fd);
				(*nfds)++;
			}
		}
		if (mh.msg_flags & MSG_CTRUNC)
			*ctrunc = true;
		if (r == 0)
			return vu_broken(vu, -EPIPE,
					 "the backend disconnected (waiting for the %s reply)",
					 name);
		done += r;
	}
	return 0;
}

/*
 * Read and check the reply to want.  *fd: the fd a REPLY_INFLIGHT reply
 * carries (NULL for every other kind); whatever fd came with a reply
 * that is refused, or that wants none, is closed.
 */
static int vu_reply(struct vhost_user *vu, const struct vhost_user_expect *want,
		    struct vhost_user_reply *out, int *fd)
{
	uint8_t msg[sizeof(struct vhost_user_hdr) + sizeof(struct vhost_user_config)];
	int64_t deadline = now_ms() + vu->timeout_ms;
	struct vhost_user_hdr hdr;
	unsigned int nfds = 0;
	bool ctrunc = false;
	char err[200], b[24];
	const char *name = vhost_user_request_name(want->request, b, sizeof(b));
	int ret, got = -1;

	ret = vu_recv(vu, &hdr, sizeof(hdr), deadline, &nfds, &got, &ctrunc,
		      name);
	if (ret)
		goto out;
	ret = vhost_user_check_header(want, &hdr, nfds, ctrunc, err, sizeof(err));
	if (ret == -EIO) {
		/* A well-formed refusal: the stream is still in step. */
		ret = vu_fail(vu, ret, "%s", err);
		goto out;
	}
	if (ret) {
		ret = vu_broken(vu, ret, "%s", err);
		goto out;
	}
	memcpy(msg, &hdr, sizeof(hdr));
	ret = vu_recv(vu, msg + sizeof(hdr), hdr.size, deadline, &nfds, &got,
		      &ctrunc, name);
	if (ret)
		goto out;
	ret = vhost_user_parse_reply(want, msg, sizeof(hdr) + hdr.size, nfds,
				     ctrunc, out, err, sizeof(err));
	if (ret)
		ret = vu_broken(vu, ret, "%s", err);
out:
	if (!ret && fd) {
		*fd = got;
		got = -1;
	}
	if (got >= 0)
		close(got);
	return ret;
}

/*
 * Send a request that has no reply of its own; with REPLY_ACK, ask for
 * and check the back-end's acknowledgement.
 */
static int vu_request(struct vhost_user *vu, uint32_t request,
		      const void *payload, uint32_t size, const int *fds,
		      unsigned int nfds)
{
	bool ack = vu->protocol_features &
		   (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
	struct vhost_user_expect want = {
		.request = request, .kind = VHOST_USER_REPLY_U64,
	};
	struct vhost_user_reply r;
	char b[24];
	const char *name = vhost_user_request_name(request, b, sizeof(b));
	int ret;

	ret = vu_usable(vu, name);
	if (ret)
		return ret;
	ret = vu_send(vu, request, ack ? VHOST_USER_FLAG_NEED_REPLY : 0,
		      payload, size, fds, nfds);
	if (ret || !ack)
		return ret;
	ret = vu_reply(vu, &want, &r, NULL);
	if (ret)
		return ret;
	if (r.u64)
		return vu_fail(vu, -EIO, "backend failed %s (status %llu)",
			       name, (unsigned long long)r.u64);
	return 0;
}

/* Send a request and read its own reply. */
static int vu_query(struct vhost_user *vu, const struct vhost_user_expect *want,
		    const void *payload, uint32_t size,
		    struct vhost_user_reply *out, int *fd)
{
	char b[24];
	int ret;

	ret = vu_usable(vu, vhost_user_request_name(want->request, b, sizeof(b)));
	if (ret)
		return ret;
	ret = vu_send(vu, want->request, 0, payload, size, NULL, 0);
	if (ret)
		return ret;
	return vu_reply(vu, want, out, fd);
}

static int vu_get_u64(struct vhost_user *vu, uint32_t request, uint64_t *val)
{
	struct vhost_user_expect want = {
		.request = request, .kind = VHOST_USER_REPLY_U64,
	};
	struct vhost_user_reply r;
	int ret;

	ret = vu_query(vu, &want, NULL, 0, &r, NULL);
	if (!ret)
		*val = r.u64;
	return ret;
}

static int vu_set_u64(struct vhost_user *vu, uint32_t request, uint64_t val)
{
	return vu_request(vu, request, &val, sizeof(val), NULL, 0);
}

static bool has_pf(struct vhost_user *vu, unsigned int bit)
{
	return vu->protocol_features & (1ull << bit);
}

static int need_pf(struct vhost_user *vu, unsigned int bit, uint32_t request,
		   const char *pf)
{
	char b[24];

	if (has_pf(vu, bit))
		return 0;
	return vu_fail(vu, -EINVAL, "%s needs the %s protocol feature, not negotiated",
		       vhost_user_request_name(request, b, sizeof(b)), pf);
}

int vhost_user_get_features(struct vhost_user *vu, uint64_t *features)
{
	return vu_get_u64(vu, VHOST_USER_GET_FEATURES, features);
}

int vhost_user_set_features(struct vhost_user *vu, uint64_t features)
{
	return vu_set_u64(vu, VHOST_USER_SET_FEATURES, features);
}

int vhost_user_get_protocol_features(struct vhost_user *vu, uint64_t *pf)
{
	return vu_get_u64(vu, VHOST_USER_GET_PROTOCOL_FEATURES, pf);
}

int vhost_user_set_protocol_features(struct vhost_user *vu, uint64_t pf)
{
	int ret;

	if (pf & ~VHOST_USER_PROTOCOL_SUPPORTED)
		return vu_fail(vu, -EINVAL,
			       "protocol features 0x%llx include ones this client does not implement (0x%llx)",
			       (unsigned long long)pf,
			       (unsigned long long)(pf & ~VHOST_USER_PROTOCOL_SUPPORTED));
	/* The ack is not asked for: REPLY_ACK is not in force until set. */
	ret = vu_set_u64(vu, VHOST_USER_SET_PROTOCOL_FEATURES, pf);
	if (!ret)
		vu->protocol_features = pf;
	return ret;
}

int vhost_user_set_owner(struct vhost_user *vu)
{
	return vu_request(vu, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
}

int vhost_user_reset(struct vhost_user *vu)
{
	if (has_pf(vu, VHOST_USER_PROTOCOL_F_RESET_DEVICE))
		return vu_request(vu, VHOST_USER_RESET_DEVICE, NULL, 0, NULL, 0);
	return vu_request(vu, VHOST_USER_RESET_OWNER, NULL, 0, NULL, 0);
}

int vhost_user_get_queue_num(struct vhost_user *vu, uint64_t *num)
{
	uint64_t n;
	int ret = need_pf(vu, VHOST_USER_PROTOCOL_F_MQ,
			  VHOST_USER_GET_QUEUE_NUM, "MQ");

	if (!ret)
		ret = vu_get_u64(vu, VHOST_USER_GET_QUEUE_NUM, &n);
	if (ret)
		return ret;
	/* SET_VRING_KICK and _CALL name a queue in 8 bits. */
	if (!n || n > VHOST_USER_VRING_IDX_MASK + 1)
		return vu_fail(vu, -EPROTO,
			       "backend answered GET_QUEUE_NUM with %llu queues, want 1 to %u",
			       (unsigned long long)n,
			       VHOST_USER_VRING_IDX_MASK + 1);
	*num = n;
	return 0;
}

int vhost_user_set_mem_table(struct vhost_user *vu,
			     const struct vhost_user_region *r, unsigned int n)
{
	struct vhost_user_mem mem;
	int fds[VHOST_USER_MAX_REGIONS];
	unsigned int i;

	if (!n || n > VHOST_USER_MAX_REGIONS)
		return vu_fail(vu, -EINVAL,
			       "SET_MEM_TABLE with %u regions, want 1 to %u",
			       n, VHOST_USER_MAX_REGIONS);
	memset(&mem, 0, sizeof(mem));
	mem.nregions = n;
	for (i = 0; i < n; i++) {
		if (r[i].fd < 0 || !r[i].size)
			return vu_fail(vu, -EINVAL,
				       "SET_MEM_TABLE region %u has no fd or no size",
				       i);
		mem.regions[i].guest_addr = r[i].guest_addr;
		mem.regions[i].size = r[i].size;
		mem.regions[i].user_addr = r[i].user_addr;
		mem.regions[i].mmap_offset = r[i].mmap_offset;
		fds[i] = r[i].fd;
	}
	/* The payload carries the regions sent, not all eight. */
	return vu_request(vu, VHOST_USER_SET_MEM_TABLE, &mem,
			  8 + n * sizeof(mem.regions[0]), fds, n);
}

static int vu_set_state(struct vhost_user *vu, uint32_t request,
			unsigned int index, unsigned int num)
{
	struct vhost_user_vring_state s = { .index = index, .num = num };

	return vu_request(vu, request, &s, sizeof(s), NULL, 0);
}

int vhost_user_set_vring_num(struct vhost_user *vu, unsigned int index,
			     unsigned int num)
{
	return vu_set_state(vu, VHOST_USER_SET_VRING_NUM, index, num);
}

int vhost_user_set_vring_addr(struct vhost_user *vu,
			      const struct vhost_user_vring_addr *addr)
{
	return vu_request(vu, VHOST_USER_SET_VRING_ADDR, addr, sizeof(*addr),
			  NULL, 0);
}

int vhost_user_set_vring_base(struct vhost_user *vu, unsigned int index,
			      unsigned int base)
{
	return vu_set_state(vu, VHOST_USER_SET_VRING_BASE, index, base);
}

int vhost_user_get_vring_base(struct vhost_user *vu, unsigned int index,
			      unsigned int *base)
{
	struct vhost_user_vring_state s = { .index = index };
	struct vhost_user_expect want = {
		.request = VHOST_USER_GET_VRING_BASE,
		.kind = VHOST_USER_REPLY_STATE,
		.index = index,
	};
	struct vhost_user_reply r;
	int ret;

	ret = vu_query(vu, &want, &s, sizeof(s), &r, NULL);
	if (!ret)
		*base = r.state.num;
	return ret;
}

static int vu_set_vring_fd(struct vhost_user *vu, uint32_t request,
			   unsigned int index, int fd)
{
	uint64_t val = index & VHOST_USER_VRING_IDX_MASK;
	char b[24];

	if (index > VHOST_USER_VRING_IDX_MASK)
		return vu_fail(vu, -EINVAL, "%s: queue %u does not fit the message",
			       vhost_user_request_name(request, b, sizeof(b)),
			       index);
	if (fd < 0)
		val |= VHOST_USER_VRING_NOFD;
	return vu_request(vu, request, &val, sizeof(val), fd < 0 ? NULL : &fd,
			  fd < 0 ? 0 : 1);
}

int vhost_user_set_vring_kick(struct vhost_user *vu, unsigned int index, int fd)
{
	return vu_set_vring_fd(vu, VHOST_USER_SET_VRING_KICK, index, fd);
}

int vhost_user_set_vring_call(struct vhost_user *vu, unsigned int index, int fd)
{
	return vu_set_vring_fd(vu, VHOST_USER_SET_VRING_CALL, index, fd);
}

int vhost_user_set_vring_enable(struct vhost_user *vu, unsigned int index,
				bool enable)
{
	return vu_set_state(vu, VHOST_USER_SET_VRING_ENABLE, index, enable);
}

static int check_config(struct vhost_user *vu, uint32_t request,
			uint32_t offset, uint32_t len)
{
	char b[24];
	int ret = need_pf(vu, VHOST_USER_PROTOCOL_F_CONFIG, request, "CONFIG");

	if (ret)
		return ret;
	if (!len || len > VHOST_USER_MAX_CONFIG)
		return vu_fail(vu, -EINVAL, "%s of %u bytes, want 1 to %u",
			       vhost_user_request_name(request, b, sizeof(b)),
			       len, VHOST_USER_MAX_CONFIG);
	return 0;
}

int vhost_user_get_config(struct vhost_user *vu, uint32_t offset, void *buf,
			  uint32_t len)
{
	struct vhost_user_config cfg = { .offset = offset, .size = len };
	struct vhost_user_expect want = {
		.request = VHOST_USER_GET_CONFIG,
		.kind = VHOST_USER_REPLY_CONFIG,
		.cfg_offset = offset,
		.cfg_size = len,
	};
	struct vhost_user_reply r;
	int ret;

	ret = check_config(vu, VHOST_USER_GET_CONFIG, offset, len);
	if (ret)
		return ret;
	ret = vu_query(vu, &want, &cfg, VHOST_USER_CONFIG_HDR + len, &r, NULL);
	if (!ret)
		memcpy(buf, r.config.payload, len);
	return ret;
}

int vhost_user_set_config(struct vhost_user *vu, uint32_t offset,
			  const void *buf, uint32_t len)
{
	struct vhost_user_config cfg = { .offset = offset, .size = len };
	int ret;

	ret = check_config(vu, VHOST_USER_SET_CONFIG, offset, len);
	if (ret)
		return ret;
	memcpy(cfg.payload, buf, len);
	return vu_request(vu, VHOST_USER_SET_CONFIG, &cfg,
			  VHOST_USER_CONFIG_HDR + len, NULL, 0);
}

int vhost_user_get_inflight_fd(struct vhost_user *vu, unsigned int num_queues,
			       unsigned int queue_size,
			       struct vhost_user_inflight *out, int *fd)
{
	struct vhost_user_inflight in = {
		.num_queues = num_queues, .queue_size = queue_size,
	};
	struct vhost_user_expect want = {
		.request = VHOST_USER_GET_INFLIGHT_FD,
		.kind = VHOST_USER_REPLY_INFLIGHT,
	};
	struct vhost_user_reply r;
	int ret = need_pf(vu, VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD,
			  VHOST_USER_GET_INFLIGHT_FD, "INFLIGHT_SHMFD");

	*fd = -1;
	if (ret)
		return ret;
	if (!num_queues || num_queues > UINT16_MAX || !queue_size ||
	    queue_size > UINT16_MAX)
		return vu_fail(vu, -EINVAL,
			       "GET_INFLIGHT_FD of %u queues of %u entries, want 1 to %u of each",
			       num_queues, queue_size, UINT16_MAX);
	ret = vu_query(vu, &want, &in, sizeof(in), &r, fd);
	if (!ret)
		*out = r.inflight;
	return ret;
}

int vhost_user_set_inflight_fd(struct vhost_user *vu,
			       const struct vhost_user_inflight *in, int fd)
{
	int ret = need_pf(vu, VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD,
			  VHOST_USER_SET_INFLIGHT_FD, "INFLIGHT_SHMFD");

	if (ret)
		return ret;
	if (fd < 0 || !in->mmap_size)
		return vu_fail(vu, -EINVAL, "SET_INFLIGHT_FD without a region");
	return vu_request(vu, VHOST_USER_SET_INFLIGHT_FD, in, sizeof(*in),
			  &fd, 1);
}
