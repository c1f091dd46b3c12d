// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring through liburing: see ioring.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <liburing.h>

#include "lib/ioring.h"

struct ioring {
	struct io_uring ring;
	int efd;
};

static bool ioring_disabled(void)
{
	const char *v = getenv("VBRIDGE_NO_IO_URING");

	return v && *v && strcmp(v, "0");
}

struct ioring *ioring_new(unsigned int entries, int *err)
{
	struct ioring *r;
	int ret;

	if (ioring_disabled()) {
		*err = -ENOSYS;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	ret = io_uring_queue_init(entries, &r->ring, 0);
	if (ret) {
		free(r);
		*err = ret;
		return NULL;
	}
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0) {
		ret = -errno;
		goto fail;
	}
	ret = io_uring_register_eventfd(&r->ring, r->efd);
	if (ret) {
		close(r->efd);
		goto fail;
	}
	return r;
fail:
	io_uring_queue_exit(&r->ring);
	free(r);
	*err = ret;
	return NULL;
}

void ioring_free(struct ioring *r)
{
	if (!r)
		return;
	io_uring_queue_exit(&r->ring);
	close(r->efd);
	free(r);
}

int ioring_event_fd(const struct ioring *r)
{
	return r->efd;
}

/* A free submission slot, submitting the full queue first if need be. */
static struct io_uring_sqe *get_sqe(struct ioring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	int ret;

	if (sqe)
		return sqe;
	ret = io_uring_submit(&r->ring);
	if (ret < 0)
		return NULL;
	return io_uring_get_sqe(&r->ring);
}

int ioring_readv(struct ioring *r, int fd, const struct iovec *iov,
		 unsigned int n, uint64_t off, void *tag)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_readv(sqe, fd, iov, n, off);
	io_uring_sqe_set_data(sqe, tag);
	return 0;
}

int ioring_writev(struct ioring *r, int fd, const struct iovec *iov,
		  unsigned int n, uint64_t off, void *tag)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_writev(sqe, fd, iov, n, off);
	io_uring_sqe_set_data(sqe, tag);
	return 0;
}

int ioring_fdatasync(struct ioring *r, int fd, void *tag)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data(sqe, tag);
	return 0;
}

int ioring_fallocate(struct ioring *r, int fd, int mode, uint64_t off,
		     uint64_t len, void *tag)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_fallocate(sqe, fd, mode, off, len);
	io_uring_sqe_set_data(sqe, tag);
	return 0;
}

int ioring_submit(struct ioring *r)
{
	int ret;

	do
		ret = io_uring_submit(&r->ring);
	while (ret == -EINTR);
	return ret;
}

unsigned int ioring_reap(struct ioring *r, bool wait, ioring_done_fn fn,
			 void *arg)
{
	struct io_uring_cqe *cqe;
	unsigned int n = 0;
	uint64_t v;
	ssize_t rd;

	/*
	 * Clear the eventfd before looking: a completion posted after the
	 * look signals it again.  EAGAIN (not signalled) is fine too.
	 */
	rd = read(r->efd, &v, sizeof(v));
	(void)rd;
	if (wait) {
		int ret;

		do
			ret = io_uring_wait_cqe(&r->ring, &cqe);
		while (ret == -EINTR);
		if (ret)
			return 0;
	}
	while (!io_uring_peek_cqe(&r->ring, &cqe)) {
		void *tag = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&r->ring, cqe);
		fn(tag, res, arg);
		n++;
	}
	return n;
}
