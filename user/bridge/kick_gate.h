/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The order of a bridged device's stores and kicks.
 *
 * The guest's stores to a bridged device are posted: the VMM queues them
 * in the module and the vCPU goes on.  A kick through a doorbell
 * (KVM_IOEVENTFD) does not go through that queue: it signals the queue's
 * eventfd at once, so the I/O thread may see it before the serving thread
 * has read and applied the stores the guest made before it.  The module
 * queues every store before the vCPU that made it can kick, so a kick
 * whose earlier stores are not applied yet finds them unread in the node
 * (poll() says POLLIN) or in the batch the serving thread is applying.
 * The gate defers such a kick; the serving thread kicks again when its
 * batch is done (Documentation/virtio-bridge/uapi.rst, "Stores and
 * kicks").
 *
 * In polling mode the serving thread may sit in a read() that spins for
 * the next message: a kick deferred then would wait for the spin's end.
 * kick_gate_interrupt_reads() makes the gate end that read with a signal
 * (KICK_GATE_SIGNAL, once per read, never while a batch is applied), so
 * the kick is taken at once.
 */
#ifndef VBRIDGE_BRIDGE_KICK_GATE_H
#define VBRIDGE_BRIDGE_KICK_GATE_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#define KICK_GATE_SIGNAL	SIGUSR2

/**
 * struct kick_gate - stores before kicks
 * @lock: protects @busy and @deferred, and orders @busy against poll()
 * @fd: the backend node (only polled here)
 * @busy: the serving thread is reading or applying a batch
 * @deferred: a kick was deferred since the last batch ended
 * @reading: the serving thread is in its read() (part of @busy)
 * @interrupt: a deferral signals @reader while @reading
 *	       (kick_gate_interrupt_reads())
 * @signalled: @reader was signalled since it started reading
 * @reader: the serving thread
 */
struct kick_gate {
	pthread_mutex_t lock;
	int fd;
	bool busy;
	bool deferred;
	bool reading;
	bool interrupt;
	bool signalled;
	pthread_t reader;
};

void kick_gate_init(struct kick_gate *g, int fd);
void kick_gate_destroy(struct kick_gate *g);
/*
 * Serving thread, in polling mode, once: a deferred kick ends its read
 * (KICK_GATE_SIGNAL gets a handler that does nothing, without SA_RESTART).
 * Returns 0 or -errno.
 */
int kick_gate_interrupt_reads(struct kick_gate *g);
/* Serving thread: before it reads the node. */
void kick_gate_reading(struct kick_gate *g);
/*
 * Serving thread: its read() returned (what it read is applied next, with
 * no signal of the gate's to interrupt the system calls that takes).
 */
void kick_gate_read_end(struct kick_gate *g);
/*
 * Serving thread: the batch it read is applied (or nothing was read).
 * Returns true when a kick was deferred meanwhile: kick every queue again.
 */
bool kick_gate_done(struct kick_gate *g);
/* I/O thread, on a kick: true defers it (the serving thread kicks again). */
bool kick_gate_defer(struct kick_gate *g);

#endif
