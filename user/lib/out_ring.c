// SPDX-License-Identifier: GPL-2.0
/* A bounded output ring drained by a writer thread; see out_ring.h. */
#include "lib/out_ring.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

/**
 * struct out_ring - see out_ring.h
 * @lock: protects every field below but the constant ones
 * @cond: signalled when bytes are queued, written, or @stop is set
 * @buf: the ring (constant pointer)
 * @size: its size, a power of two (constant)
 * @head: index of the oldest queued byte
 * @count: bytes queued, including those being written
 * @busy: the writer is writing the oldest @busy bytes
 * @written: bytes written so far (progress for the flush)
 * @dropped: bytes dropped because the ring was full
 * @logged: the first drop has been logged
 * @stop: the writer must return
 * @fd: the output (constant)
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
	size_t busy;
	uint64_t written;
	uint64_t dropped;
	bool logged;
	bool stop;
	int fd;
	char name[32];
	pthread_t thread;
};

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
		r->busy = n;
		pthread_mutex_unlock(&r->lock);
		/* The producer only writes free space: [head, head + n) is ours. */
		for (;;) {
			struct pollfd pfd = { .fd = r->fd, .events = POLLOUT };

			w = write(r->fd, r->buf + r->head, n);
			if (w >= 0 || (errno != EINTR && errno != EAGAIN))
				break;
			/* A non-blocking fd: wait until it takes more. */
			if (errno == EAGAIN)
				poll(&pfd, 1, -1);
		}
		pthread_mutex_lock(&r->lock);
		/* An output that went away loses the bytes, as a cable would. */
		if (w < 0)
			w = n;
		r->head = (r->head + w) & (r->size - 1);
		r->count -= w;
		r->busy = 0;
		r->written += w;
		pthread_cond_broadcast(&r->cond);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
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
	if (!r->buf) {
		free(r);
		return NULL;
	}
	r->size = size;
	r->fd = fd;
	snprintf(r->name, sizeof(r->name), "%s", name);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	/* Signals (SIGPIPE included) are for the other threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&r->thread, NULL, writer, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->lock);
		free(r->buf);
		free(r);
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

int out_ring_flush(struct out_ring *r, unsigned int idle_ms)
{
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	while (r->count) {
		uint64_t before = r->written;
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += idle_ms / 1000;
		ts.tv_nsec += (long)(idle_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
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

void out_ring_free(struct out_ring *r, unsigned int idle_ms)
{
	size_t stuck;

	if (!r)
		return;
	if (out_ring_flush(r, idle_ms))
		log_warn("%s: output stalled; what is left of it is dropped", r->name);
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	stuck = r->busy;
	pthread_mutex_unlock(&r->lock);
	if (stuck) {
		/*
		 * The writer is blocked in write() (nobody reads).  It cannot
		 * be interrupted safely (pthread_cancel needs libgcc_s, which a
		 * minimal root may lack), so it is left with the ring, which
		 * it still uses: it returns, without writing more, if the
		 * write ever does.  This happens at exit only.
		 */
		pthread_detach(r->thread);
		return;
	}
	pthread_join(r->thread, NULL);
	if (r->dropped)
		log_info("%s: %llu output bytes dropped in all", r->name,
			 (unsigned long long)r->dropped);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r->buf);
	free(r);
}
