/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A device's I/O thread: an epoll loop over the device's file descriptors
 * (queue kick eventfds, taps, sockets, evdev nodes) with a "park" handshake
 * so another thread can stop it at a known point.
 *
 * vloop_park() returns once the thread is between callbacks and will stay
 * there until the matching vloop_unpark(): while parked, the caller may
 * change anything the callbacks use (reset a device, unmap guest memory).
 * Parks nest.  vloop_halt() parks the loop for good (until
 * vloop_clear_halt()): a failed device stops polling its descriptors, which
 * would otherwise stay readable and spin the loop.
 *
 * Sources: the caller embeds struct vloop_src and keeps it alive while
 * added.  vloop_add/mod/del may be called from the loop's own callbacks, or
 * from another thread while the loop is parked or not started.
 */
#ifndef VBRIDGE_VLOOP_H
#define VBRIDGE_VLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct vloop;
struct vloop_src;

typedef void (*vloop_fn)(struct vloop_src *src, uint32_t events);

struct vloop_src {
	int fd;
	vloop_fn fn;
	void *arg;
};

struct vloop *vloop_new(const char *name);
/* Stops the thread if running, then frees. */
void vloop_free(struct vloop *l);

/* Returns 0 or -errno. */
int vloop_add(struct vloop *l, struct vloop_src *src, uint32_t events);
int vloop_mod(struct vloop *l, struct vloop_src *src, uint32_t events);
void vloop_del(struct vloop *l, struct vloop_src *src);

/* Start / stop (join) the thread.  Start returns 0 or -errno. */
int vloop_start(struct vloop *l);
void vloop_stop(struct vloop *l);

void vloop_park(struct vloop *l);
void vloop_unpark(struct vloop *l);
void vloop_halt(struct vloop *l);
void vloop_clear_halt(struct vloop *l);

/*
 * Without the thread: dispatch one batch of the events ready now on the
 * calling thread, as the thread would (nothing while parked or halted).
 * For a loop that is not started (tests and fuzzing drive a device this
 * way, one step at a time).  Returns the callbacks run (0: nothing was
 * ready), -EBUSY when the thread runs, or -errno from epoll_wait.
 */
int vloop_poll(struct vloop *l);

/* True when called from l's own thread. */
bool vloop_in_thread(const struct vloop *l);

#endif
