// SPDX-License-Identifier: GPL-2.0
#include "virtio/iov.h"

#include <string.h>

size_t iov_size(const struct iovec *iov, unsigned int n)
{
	size_t total = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		total += iov[i].iov_len;
	return total;
}

/* Shared walker: op 0 = to buf, 1 = from buf, 2 = zero. */
static size_t iov_walk(const struct iovec *iov, unsigned int n, size_t off,
		       void *buf, size_t len, int op)
{
	size_t done = 0;
	unsigned int i;

	for (i = 0; i < n && done < len; i++) {
		size_t chunk;
		char *p;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		p = (char *)iov[i].iov_base + off;
		chunk = iov[i].iov_len - off;
		if (chunk > len - done)
			chunk = len - done;
		if (op == 0)
			memcpy((char *)buf + done, p, chunk);
		else if (op == 1)
			memcpy(p, (const char *)buf + done, chunk);
		else
			memset(p, 0, chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t off,
		  void *dst, size_t len)
{
	return iov_walk(iov, n, off, dst, len, 0);
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t off,
		    const void *src, size_t len)
{
	return iov_walk(iov, n, off, (void *)src, len, 1);
}

size_t iov_memset0(const struct iovec *iov, unsigned int n, size_t off,
		   size_t len)
{
	return iov_walk(iov, n, off, NULL, len, 2);
}

unsigned int iov_slice(const struct iovec *iov, unsigned int n, size_t off,
		       size_t len, struct iovec *dst, unsigned int cap,
		       size_t *got)
{
	unsigned int i, k = 0;
	size_t done = 0;

	for (i = 0; i < n && done < len && k < cap; i++) {
		size_t chunk;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		chunk = iov[i].iov_len - off;
		if (chunk > len - done)
			chunk = len - done;
		dst[k].iov_base = (char *)iov[i].iov_base + off;
		dst[k].iov_len = chunk;
		k++;
		done += chunk;
		off = 0;
	}
	if (got)
		*got = done;
	return k;
}
