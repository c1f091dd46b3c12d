/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Output that never blocks its producer: a bounded byte ring drained into
 * an fd by a writer thread of its own.  A guest's console (the 16550's THR
 * stores on a vCPU thread, virtio-console's TX on its I/O thread) writes
 * here, so a terminal or pipe that stops reading stalls only the writer
 * thread, never the guest.  When the ring is full the bytes that do not
 * fit are dropped and counted; the writer thread logs the first drop once
 * (logging from the producer could block on the same stalled terminal).
 * Bytes that are kept arrive in the order they were written.
 *
 * The writer itself never waits in write(2): it writes what the output
 * takes now and waits in poll() for more room, or for out_ring_free()
 * (an eventfd), so freeing a ring whose reader has stalled for ever
 * always stops and joins its thread and frees everything, in a process
 * that creates and destroys devices for weeks as at an exit.  The
 * caller's fd keeps its flags: a pipe or terminal is written through a
 * non-blocking open of its own, a socket with MSG_DONTWAIT.
 *
 * Locking: the ring has its own mutex; out_ring_write() may be called with
 * any other lock held (it never waits for the fd).
 */
#ifndef VBRIDGE_LIB_OUT_RING_H
#define VBRIDGE_LIB_OUT_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define OUT_RING_SIZE	(256u << 10)

struct out_ring;

/*
 * A ring of size bytes (a power of two) draining into fd, which stays the
 * caller's; name is for the log.  NULL on failure (errno set).
 */
struct out_ring *out_ring_new(int fd, size_t size, const char *name);

/*
 * Wait until everything queued has been written, or until the writer has
 * made no progress for idle_ms.  Then stop the writer, drop what is left,
 * join it and free.  (Only an output that could be neither reopened
 * non-blocking nor trusted by poll(), a terminal without /proc, can hold
 * a write; such a writer is left behind, with the ring, after 2 s more.)
 * NULL is fine.
 */
void out_ring_free(struct out_ring *r, unsigned int idle_ms);

/* Queue len bytes; returns how many were kept (the rest were dropped). */
size_t out_ring_write(struct out_ring *r, const void *buf, size_t len);
/* The same for n segments, queued together. */
size_t out_ring_writev(struct out_ring *r, const struct iovec *iov,
		       unsigned int n);

/* Bytes dropped so far because the ring was full. */
uint64_t out_ring_dropped(struct out_ring *r);

/*
 * Wait until the ring is empty and the writer idle, or until it has made
 * no progress for idle_ms.  Returns 0, or -ETIMEDOUT.
 */
int out_ring_flush(struct out_ring *r, unsigned int idle_ms);

#endif
