// SPDX-License-Identifier: GPL-2.0
/* A bounded output ring drained by a writer thread; see out_ring.h. */
#include "lib/out_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "lib/log.h"

/* How the writer reaches the output without ever waiting in write(2). */
enum out_mode {
	OUT_DIRECT,	/* @wfd does not block: non-blocking, or a file */
	OUT_SEND,	/* a socket: send(MSG_DONTWAIT) */
	OUT_CHUNK,	/* blocking, could not be reopened: poll, then PIPE_BUF */
};

/**
 * struct out_ring - see out_ring.h
 * @lock: protects every field below but the constant ones
 * @cond: signalled when bytes are queued, written, or @stop is set
 * @buf: the ring (constant pointer)
 * @size: its size, a power of two (constant)
 * @head: index of the oldest queued byte
 * @count: bytes queued, including those being written
 * @written: bytes written so far (progress for the flush)
 * @dropped: bytes dropped because the ring was full
 * @logged: the first drop has been logged
 * @stop: the writer must return
 * @exited: the writer has returned (for the bounded join)
 * @mode: how @wfd is written (constant)
 * @wfd: what the writer writes: the caller's fd, or a non-blocking open
 *	of the same pipe or terminal (constant)
 * @own_wfd: @wfd is ours to close (constant)
 * @stopfd: eventfd that wakes the writer out of poll() when @stop is set
 *	(constant)
 * @name: for the log (constant)
 * @thread: the writer
 */
struct out_ring {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint8_t *buf;
	size_t size;
	size_t head;
	size_t count;
	uint64_t written;
	uint64_t dropped;
	bool logged;
	bool stop;
	bool exited;
	enum out_mode mode;
	int wfd;
	bool own_wfd;
	int stopfd;
	char name[32];
	pthread_t thread;
};

/*
 * Write up to n bytes without waiting.  Returns the bytes written, 0 when
 * the output takes nothing now, -1 when it is gone (EPIPE, EIO...).
 */
static ssize_t out_try(struct out_ring *r, const uint8_t *p, size_t n)
{
	ssize_t w;

	if (r->mode == OUT_CHUNK && n > PIPE_BUF)
		n = PIPE_BUF;	/* what POLLOUT promises a pipe takes */
	for (;;) {
		if (r->mode == OUT_SEND)
			w = send(r->wfd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			w = write(r->wfd, p, n);
		if (w > 0)
			return w;
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
}

/* Wait until the output takes bytes, or until @stop.  False on stop. */
static bool out_wait(struct out_ring *r)
{
	struct pollfd pfd[2] = {
		{ .fd = r->wfd, .events = POLLOUT },
		{ .fd = r->stopfd, .events = POLLIN },
	};

	while (poll(pfd, 2, -1) < 0 && errno == EINTR)
		;
	return !(pfd[1].revents & POLLIN);
}

static void *writer(void *arg)
{
	struct out_ring *r = arg;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		size_t n;
		ssize_t w;

		while (!r->count && !r->stop)
			pthread_cond_wait(&r->cond, &r->lock);
		if (r->stop)
			break;
		if (r->dropped && !r->logged) {
			r->logged = true;
			pthread_mutex_unlock(&r->lock);
			log_warn("%s: output is not read fast enough: bytes dropped (the guest is never held up by its console)",
				 r->name);
			pthread_mutex_lock(&r->lock);
			continue;
		}
		/* The oldest bytes, up to the end of the ring. */
		n = r->count < r->size - r->head ? r->count : r->size - r->head;
		pthread_mutex_unlock(&r->lock);
		/*
		 * The producer only writes free space: [head, head + n) is
		 * ours.  A blocking output is polled first, so that no write
		 * waits.
		 */
		w = r->mode == OUT_CHUNK && !out_wait(r) ? 0 :
		    out_try(r, r->buf + r->head, n);
		if (!w && r->mode != OUT_CHUNK)
			out_wait(r);	/* full: until it takes more, or stop */
		pthread_mutex_lock(&r->lock);
		if (!w)
			continue;
		/* An output that went away loses the bytes, as a cable would. */
		if (w < 0)
			w = n;
		r->head = (r->head + w) & (r->size - 1);
		r->count -= w;
		r->written += w;
		pthread_cond_broadcast(&r->cond);
	}
	r->exited = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/*
 * Choose how to write fd without ever blocking, and without changing the
 * caller's open file (O_NONBLOCK set on a terminal or pipe shared with
 * other processes would make their writes fail): files and fds already
 * non-blocking are written as they are, sockets with MSG_DONTWAIT, pipes
 * and terminals through a non-blocking open of their own
 * (/proc/self/fd/N).  What cannot be reopened (no /proc, a pty master,
 * which would open a new pty) is polled and written PIPE_BUF at a time.
 */
static void out_setup(struct out_ring *r, int fd)
{
	char path[32];
	struct stat st;
	int fl, nfd;

	r->mode = OUT_DIRECT;
	r->wfd = fd;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fstat(fd, &st))
		return;		/* writes will fail: the bytes are lost */
	if ((fl & O_NONBLOCK) || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		return;
	if (S_ISSOCK(st.st_mode)) {
		r->mode = OUT_SEND;
		return;
	}
	r->mode = OUT_CHUNK;
	if (!S_ISFIFO(st.st_mode) && !(S_ISCHR(st.st_mode) && isatty(fd) &&
				       st.st_rdev != makedev(5, 2)))
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (nfd < 0) {
		log_debug("%s: cannot reopen the output non-blocking (%s); writing it in small pieces",
			  r->name, strerror(errno));
		return;
	}
	r->mode = OUT_DIRECT;
	r->wfd = nfd;
	r->own_wfd = true;
}

static void out_ring_release(struct out_ring *r)
{
	if (r->own_wfd)
		close(r->wfd);
	close(r->stopfd);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r->buf);
	free(r);
}

struct out_ring *out_ring_new(int fd, size_t size, const char *name)
{
	struct out_ring *r;
	sigset_t all, old;
	int ret;

	if (!size || (size & (size - 1))) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->buf = malloc(size);
	r->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!r->buf || r->stopfd < 0) {
		ret = errno;
		if (r->stopfd >= 0)
			close(r->stopfd);
		free(r->buf);
		free(r);
		errno = ret;
		return NULL;
	}
	r->size = size;
	snprintf(r->name, sizeof(r->name), "%s", name);
	out_setup(r, fd);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	/* Signals (SIGPIPE included) are for the other threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&r->thread, NULL, writer, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		out_ring_release(r);
		errno = ret;
		return NULL;
	}
	return r;
}

/* Called with r->lock. */
static size_t put_locked(struct out_ring *r, const void *buf, size_t len)
{
	size_t room = r->size - r->count, n, tail, first;

	n = len < room ? len : room;
	tail = (r->head + r->count) & (r->size - 1);
	first = n < r->size - tail ? n : r->size - tail;
	memcpy(r->buf + tail, buf, first);
	memcpy(r->buf, (const uint8_t *)buf + first, n - first);
	r->count += n;
	r->dropped += len - n;
	return n;
}

size_t out_ring_writev(struct out_ring *r, const struct iovec *iov,
		       unsigned int n)
{
	bool was_empty, was_dropping;
	size_t kept = 0;
	unsigned int i;

	pthread_mutex_lock(&r->lock);
	was_empty = !r->count;
	was_dropping = r->dropped;
	for (i = 0; i < n; i++)
		kept += put_locked(r, iov[i].iov_base, iov[i].iov_len);
	/* Wake the writer for new bytes, or to log the first drop. */
	if ((was_empty && r->count) || (!was_dropping && r->dropped))
		pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return kept;
}

size_t out_ring_write(struct out_ring *r, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };

	return out_ring_writev(r, &iov, 1);
}

uint64_t out_ring_dropped(struct out_ring *r)
{
	uint64_t d;

	pthread_mutex_lock(&r->lock);
	d = r->dropped;
	pthread_mutex_unlock(&r->lock);
	return d;
}

/* CLOCK_REALTIME ms from now, for pthread_cond_timedwait. */
static void deadline(struct timespec *ts, unsigned int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int out_ring_flush(struct out_ring *r, unsigned int idle_ms)
{
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	while (r->count) {
		uint64_t before = r->written;
		struct timespec ts;

		deadline(&ts, idle_ms);
		while (r->count && r->written == before) {
			if (pthread_cond_timedwait(&r->cond, &r->lock, &ts) == ETIMEDOUT)
				break;
		}
		if (r->count && r->written == before) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* How long a stopped writer may take to return before it is given up. */
#define OUT_STOP_MS	2000

void out_ring_free(struct out_ring *r, unsigned int idle_ms)
{
	struct timespec ts;
	uint64_t one = 1;
	bool exited;

	if (!r)
		return;
	if (out_ring_flush(r, idle_ms))
		log_warn("%s: output stalled; what is left of it is dropped", r->name);
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	/* Out of poll(): the writer never waits anywhere else on the fd. */
	if (write(r->stopfd, &one, sizeof(one)) < 0)
		log_errno("%s: cannot stop the output thread", r->name);
	/*
	 * Bounded, for the one case where it could still wait: an output
	 * written OUT_CHUNK (or the log on a stalled stderr) that took less
	 * than poll() promised.
	 */
	deadline(&ts, OUT_STOP_MS);
	pthread_mutex_lock(&r->lock);
	while (!r->exited)
		if (pthread_cond_timedwait(&r->cond, &r->lock, &ts) == ETIMEDOUT)
			break;
	exited = r->exited;
	pthread_mutex_unlock(&r->lock);
	if (!exited) {
		/*
		 * Left with the ring, which it still uses; it returns, without
		 * writing more, when the write does.
		 */
		log_warn("%s: the output thread is stuck in a write; left behind",
			 r->name);
		pthread_detach(r->thread);
		return;
	}
	pthread_join(r->thread, NULL);
	if (r->dropped)
		log_info("%s: %llu output bytes dropped in all", r->name,
			 (unsigned long long)r->dropped);
	out_ring_release(r);
}
