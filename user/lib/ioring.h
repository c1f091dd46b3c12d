/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small io_uring (liburing) wrapper for devices that do file I/O off
 * their event loop: queue operations, submit them in one system call per
 * batch, and learn of completions through an eventfd the caller watches
 * (registered with the ring, so the kernel signals it for every
 * completion).  Each operation carries an opaque tag handed back with its
 * result.  Not thread-safe: one thread (the device's I/O thread, or a
 * thread that owns the device while that one is parked) drives a ring.
 *
 * io_uring may be missing (ENOSYS), forbidden (EPERM: a seccomp policy,
 * kernel.io_uring_disabled) or disabled on purpose: with the environment
 * variable VBRIDGE_NO_IO_URING set to anything but "" or "0",
 * ioring_new() fails with -ENOSYS as if the kernel had none, so callers'
 * fallbacks can be tested.
 */
#ifndef VBRIDGE_IORING_H
#define VBRIDGE_IORING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct ioring;

/* Called for each completion: res is the system call's result or -errno. */
typedef void (*ioring_done_fn)(void *tag, int res, void *arg);

/* A ring of entries submission slots.  Returns NULL and sets *err (-errno). */
struct ioring *ioring_new(unsigned int entries, int *err);
/* Waits for nothing: callers drain first (see ioring_reap()). */
void ioring_free(struct ioring *r);
/* The eventfd that becomes readable when completions are ready. */
int ioring_event_fd(const struct ioring *r);

/*
 * Queue one operation (submitted by the next ioring_submit(); a full
 * submission queue is submitted first).  iov must stay valid until the
 * operation completes.  Return 0 or -errno.
 */
int ioring_readv(struct ioring *r, int fd, const struct iovec *iov,
		 unsigned int n, uint64_t off, void *tag);
int ioring_writev(struct ioring *r, int fd, const struct iovec *iov,
		  unsigned int n, uint64_t off, void *tag);
int ioring_fdatasync(struct ioring *r, int fd, void *tag);
int ioring_fallocate(struct ioring *r, int fd, int mode, uint64_t off,
		     uint64_t len, void *tag);

/* Submit what is queued.  Returns the operations submitted or -errno. */
int ioring_submit(struct ioring *r);

/*
 * Call fn for every completion ready now; with wait, first block until
 * there is at least one.  Clears the eventfd.  Returns the completions
 * handled.
 */
unsigned int ioring_reap(struct ioring *r, bool wait, ioring_done_fn fn,
			 void *arg);

#endif
