// SPDX-License-Identifier: GPL-2.0
/* Per-device I/O thread: epoll loop with park/unpark.  See vloop.h. */
#include "virtio/vloop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/log.h"

#define VLOOP_BATCH 32

/**
 * struct vloop - an I/O thread
 * @lock: protects @park_req, @parked, @halted, @stop, @running
 * @cond: signalled when @parked or @park_req/@halted/@stop change
 * @thread: the thread, valid while @running
 * @running: the thread exists
 * @park_req: outstanding vloop_park() calls
 * @parked: the thread waits in the park point
 * @halted: park without a caller (device failed)
 * @stop: the thread is asked to exit
 * @epfd: the epoll set
 * @wake: eventfd that interrupts epoll_wait
 * @wake_src: @wake as a source
 * @batch: events being dispatched (thread only; entries of deleted sources
 *	are cleared by vloop_del)
 * @batch_pos: index being dispatched
 * @batch_n: entries in @batch
 * @name: thread name
 */
struct vloop {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running;
	unsigned int park_req;
	bool parked;
	bool halted;
	bool stop;
	int epfd;
	int wake;
	struct vloop_src wake_src;
	struct epoll_event batch[VLOOP_BATCH];
	int batch_pos;
	int batch_n;
	char name[16];
};

struct vloop *vloop_new(const char *name)
{
	struct vloop *l = calloc(1, sizeof(*l));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->wake < 0)
		goto fail;
	l->wake_src.fd = l->wake;
	ev.data.ptr = &l->wake_src;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake, &ev))
		goto fail;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	snprintf(l->name, sizeof(l->name), "%s", name);
	return l;
fail:
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->wake >= 0)
		close(l->wake);
	free(l);
	return NULL;
}

void vloop_free(struct vloop *l)
{
	if (!l)
		return;
	vloop_stop(l);
	close(l->epfd);
	close(l->wake);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

int vloop_add(struct vloop *l, struct vloop_src *src, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, src->fd, &ev) ? -errno : 0;
}

int vloop_mod(struct vloop *l, struct vloop_src *src, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, src->fd, &ev) ? -errno : 0;
}

void vloop_del(struct vloop *l, struct vloop_src *src)
{
	int i;

	epoll_ctl(l->epfd, EPOLL_CTL_DEL, src->fd, NULL);
	/* Drop events of src still waiting in the batch being dispatched. */
	if (vloop_in_thread(l))
		for (i = l->batch_pos + 1; i < l->batch_n; i++)
			if (l->batch[i].data.ptr == src)
				l->batch[i].data.ptr = NULL;
}

bool vloop_in_thread(const struct vloop *l)
{
	return l->running && pthread_equal(l->thread, pthread_self());
}

static void kick_wake(struct vloop *l)
{
	uint64_t one = 1;

	if (write(l->wake, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_errno("%s: cannot wake the I/O thread", l->name);
}

/*
 * Wait up to timeout ms (-1: for ever) for events and dispatch one batch.
 * Returns the events dispatched, or -errno from epoll_wait (logged unless
 * -EINTR).
 */
static int vloop_batch(struct vloop *l, int timeout)
{
	int n, done = 0;

	n = epoll_wait(l->epfd, l->batch, VLOOP_BATCH, timeout);
	if (n < 0) {
		n = -errno;
		if (n != -EINTR)
			log_errno("%s: epoll_wait", l->name);
		return n;
	}
	l->batch_n = n;
	for (l->batch_pos = 0; l->batch_pos < n; l->batch_pos++) {
		struct vloop_src *src = l->batch[l->batch_pos].data.ptr;
		uint64_t v;

		if (!src)
			continue;
		if (src == &l->wake_src) {
			if (read(l->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_errno("%s: wake eventfd", l->name);
			continue;
		}
		if (__atomic_load_n(&l->halted, __ATOMIC_RELAXED))
			break;
		src->fn(src, l->batch[l->batch_pos].events);
		done++;
	}
	l->batch_n = 0;
	l->batch_pos = 0;
	return done;
}

static void *vloop_thread(void *arg)
{
	struct vloop *l = arg;

	for (;;) {
		int n;

		pthread_mutex_lock(&l->lock);
		if ((l->park_req || l->halted) && !l->stop) {
			l->parked = true;
			pthread_cond_broadcast(&l->cond);
			while ((l->park_req || l->halted) && !l->stop)
				pthread_cond_wait(&l->cond, &l->lock);
			l->parked = false;
		}
		if (l->stop) {
			pthread_mutex_unlock(&l->lock);
			break;
		}
		pthread_mutex_unlock(&l->lock);

		n = vloop_batch(l, -1);
		if (n < 0 && n != -EINTR)
			break;
	}
	pthread_mutex_lock(&l->lock);
	l->parked = false;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

int vloop_start(struct vloop *l)
{
	sigset_t all, old;
	int ret;

	pthread_mutex_lock(&l->lock);
	if (l->running) {
		pthread_mutex_unlock(&l->lock);
		return 0;
	}
	l->stop = false;
	/* Signals belong to the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&l->thread, NULL, vloop_thread, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!ret) {
		l->running = true;
		pthread_setname_np(l->thread, l->name);
	}
	pthread_mutex_unlock(&l->lock);
	return -ret;
}

void vloop_stop(struct vloop *l)
{
	pthread_mutex_lock(&l->lock);
	if (!l->running) {
		pthread_mutex_unlock(&l->lock);
		return;
	}
	l->stop = true;
	pthread_cond_broadcast(&l->cond);
	kick_wake(l);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	pthread_mutex_lock(&l->lock);
	l->running = false;
	l->stop = false;
	pthread_mutex_unlock(&l->lock);
}

void vloop_park(struct vloop *l)
{
	pthread_mutex_lock(&l->lock);
	l->park_req++;
	if (l->running && !vloop_in_thread(l)) {
		kick_wake(l);
		while (!l->parked && !l->stop)
			pthread_cond_wait(&l->cond, &l->lock);
	}
	pthread_mutex_unlock(&l->lock);
}

void vloop_unpark(struct vloop *l)
{
	pthread_mutex_lock(&l->lock);
	if (l->park_req && !--l->park_req)
		pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

void vloop_halt(struct vloop *l)
{
	pthread_mutex_lock(&l->lock);
	__atomic_store_n(&l->halted, true, __ATOMIC_RELAXED);
	if (l->running && !vloop_in_thread(l))
		kick_wake(l);
	pthread_mutex_unlock(&l->lock);
}

void vloop_clear_halt(struct vloop *l)
{
	pthread_mutex_lock(&l->lock);
	__atomic_store_n(&l->halted, false, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

int vloop_poll(struct vloop *l)
{
	bool idle;
	int n;

	pthread_mutex_lock(&l->lock);
	if (l->running) {
		pthread_mutex_unlock(&l->lock);
		return -EBUSY;
	}
	/* Parked or halted: nothing runs, as in the thread. */
	idle = l->park_req || l->halted;
	pthread_mutex_unlock(&l->lock);
	if (idle)
		return 0;
	do {
		n = vloop_batch(l, 0);
	} while (n == -EINTR);
	return n;
}
