// SPDX-License-Identifier: GPL-2.0
/* Stores before kicks on a bridged device: see kick_gate.h. */
#include "bridge/kick_gate.h"

#include <poll.h>

void kick_gate_init(struct kick_gate *g, int fd)
{
	pthread_mutex_init(&g->lock, NULL);
	g->fd = fd;
	g->busy = false;
	g->deferred = false;
}

void kick_gate_destroy(struct kick_gate *g)
{
	pthread_mutex_destroy(&g->lock);
}

void kick_gate_reading(struct kick_gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->busy = true;
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
	pthread_mutex_unlock(&g->lock);
	return defer;
}
