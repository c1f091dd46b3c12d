/* SPDX-License-Identifier: GPL-2.0 */
/* Copying between flat buffers and iovec arrays (guest buffers). */
#ifndef VBRIDGE_IOV_H
#define VBRIDGE_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* Total bytes of iov[0..n). */
size_t iov_size(const struct iovec *iov, unsigned int n);

/* Copy up to len bytes starting off bytes into iov to dst; returns bytes. */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t off,
		  void *dst, size_t len);

/* Copy up to len bytes from src into iov at off; returns bytes copied. */
size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t off,
		    const void *src, size_t len);

/* Fill up to len bytes of iov at off with zeros; returns bytes. */
size_t iov_memset0(const struct iovec *iov, unsigned int n, size_t off,
		   size_t len);

/*
 * Describe bytes [off, off + len) of iov with at most cap entries of dst.
 * Returns the number of entries used; *got is set to the bytes covered
 * (less than len when iov is shorter or cap is too small).
 */
unsigned int iov_slice(const struct iovec *iov, unsigned int n, size_t off,
		       size_t len, struct iovec *dst, unsigned int cap,
		       size_t *got);

#endif
