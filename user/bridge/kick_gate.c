// SPDX-License-Identifier: GPL-2.0
/* Stores before kicks on a bridged device: see kick_gate.h. */
#include "bridge/kick_gate.h"

#include <errno.h>
#include <poll.h>

void kick_gate_init(struct kick_gate *g, int fd)
{
	pthread_mutex_init(&g->lock, NULL);
	g->fd = fd;
	g->busy = false;
	g->deferred = false;
	g->reading = false;
	g->interrupt = false;
	g->signalled = false;
}

void kick_gate_destroy(struct kick_gate *g)
{
	pthread_mutex_destroy(&g->lock);
}

static void kick_gate_on_signal(int sig)
{
}

int kick_gate_interrupt_reads(struct kick_gate *g)
{
	struct sigaction sa = { .sa_handler = kick_gate_on_signal };

	sigemptyset(&sa.sa_mask);
	if (sigaction(KICK_GATE_SIGNAL, &sa, NULL))
		return -errno;
	pthread_mutex_lock(&g->lock);
	g->reader = pthread_self();
	g->interrupt = true;
	pthread_mutex_unlock(&g->lock);
	return 0;
}

void kick_gate_reading(struct kick_gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->busy = true;
	g->reading = true;
	g->signalled = false;
	pthread_mutex_unlock(&g->lock);
}

void kick_gate_read_end(struct kick_gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->reading = false;
	pthread_mutex_unlock(&g->lock);
}

bool kick_gate_done(struct kick_gate *g)
{
	bool again;

	pthread_mutex_lock(&g->lock);
	g->busy = false;
	again = g->deferred;
	g->deferred = false;
	pthread_mutex_unlock(&g->lock);
	return again;
}

bool kick_gate_defer(struct kick_gate *g)
{
	struct pollfd pfd = { .fd = g->fd, .events = POLLIN };
	bool defer;

	/*
	 * Under the lock the serving thread cannot start a read: what poll()
	 * finds unread stays unread until the batch that takes it is done.
	 */
	pthread_mutex_lock(&g->lock);
	defer = g->busy || (poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN));
	if (defer)
		g->deferred = true;
	/* A read that spins would keep it until the spin ends. */
	if (g->reading && g->interrupt && !g->signalled) {
		g->signalled = true;
		pthread_kill(g->reader, KICK_GATE_SIGNAL);
	}
	pthread_mutex_unlock(&g->lock);
	return defer;
}
