// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/virtio/vloop.c without its thread: vloop_poll()
 * dispatches what is ready on the calling thread, nothing while the loop
 * is parked or halted, and refuses a loop whose thread runs.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tap.h"
#include "virtio/vloop.h"

struct ev {
	struct vloop_src src;
	int calls;
};

static void ev_cb(struct vloop_src *src, uint32_t events)
{
	struct ev *e = src->arg;
	uint64_t v;

	e->calls++;
	if (read(src->fd, &v, sizeof(v)) != sizeof(v))
		e->calls += 100;	/* ready, yet nothing to read */
}

static void signal_ev(struct ev *e)
{
	uint64_t one = 1;

	if (write(e->src.fd, &one, sizeof(one)) != sizeof(one))
		e->calls += 1000;
}

int main(void)
{
	struct vloop *l = vloop_new("test");
	struct ev a = { .src.fn = ev_cb }, b = { .src.fn = ev_cb };

	a.src.arg = &a;
	b.src.arg = &b;
	a.src.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	b.src.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	TAP_CHECK(l && a.src.fd >= 0 && b.src.fd >= 0, "loop and eventfds made");
	TAP_EQ_INT(vloop_add(l, &a.src, EPOLLIN), 0, "source a added");
	TAP_EQ_INT(vloop_add(l, &b.src, EPOLLIN), 0, "source b added");

	TAP_EQ_INT(vloop_poll(l), 0, "nothing ready: no callback");
	signal_ev(&a);
	TAP_EQ_INT(vloop_poll(l), 1, "a ready: one callback");
	TAP_EQ_INT(a.calls, 1, "a's callback ran on this thread");
	TAP_EQ_INT(vloop_poll(l), 0, "a consumed: nothing more");
	signal_ev(&a);
	signal_ev(&b);
	TAP_EQ_INT(vloop_poll(l), 2, "both ready: both in one batch");
	TAP_CHECK(a.calls == 2 && b.calls == 1, "each callback once");

	signal_ev(&a);
	vloop_park(l);
	TAP_EQ_INT(vloop_poll(l), 0, "parked: nothing runs");
	vloop_unpark(l);
	vloop_halt(l);
	TAP_EQ_INT(vloop_poll(l), 0, "halted: nothing runs");
	TAP_EQ_INT(a.calls, 2, "a's event waited");
	vloop_clear_halt(l);
	TAP_EQ_INT(vloop_poll(l), 1, "halt cleared: a's event dispatched");
	TAP_EQ_INT(a.calls, 3, "a's callback ran");

	TAP_EQ_INT(vloop_start(l), 0, "thread started");
	TAP_EQ_INT(vloop_poll(l), -EBUSY, "thread running: vloop_poll refuses");
	vloop_stop(l);
	signal_ev(&b);
	TAP_EQ_INT(vloop_poll(l), 1, "thread stopped: vloop_poll works again");

	vloop_del(l, &a.src);
	vloop_del(l, &b.src);
	vloop_free(l);
	close(a.src.fd);
	close(b.src.fd);
	return tap_done();
}
