// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng (user/devices/rng.c) driven by a fuzzed guest: requests of
 * any shape on its queue.  getrandom(2) is replaced (link-time --wrap) by
 * a generator seeded per input, so the bytes the device writes into guest
 * memory, and so what a later step finds there, are the same every run;
 * the input may make it return short or fail.
 */
#include <errno.h>
#include <string.h>
#include <sys/types.h>

#include "devices/virtio_devs.h"
#include "fz.h"

static uint64_t rnd;
static uint8_t rnd_mode;	/* 0: whole, 1: short, 2: fail once */

ssize_t __wrap_getrandom(void *buf, size_t len, unsigned int flags);
ssize_t __wrap_getrandom(void *buf, size_t len, unsigned int flags)
{
	uint8_t *p = buf;
	size_t i;

	if (rnd_mode == 2) {
		rnd_mode = 0;
		errno = EIO;
		return -1;
	}
	if (rnd_mode == 1 && len > 1)
		len = len / 2;
	for (i = 0; i < len; i++) {
		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		p[i] = rnd;
	}
	return len;
}

static void rng_host_op(struct fz_dev *d, struct fz *f)
{
	rnd_mode = fz_u8(f) % 3;
}

static const struct fz_dev_ops rng_fz_ops = {
	.host_op = rng_host_op,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct fz_host *h = fz_host_reset(fz_u8(&f) & 1 ? -ENOSPC : 0);
	struct virtio_dev *vd;
	struct fz_dev d;

	rnd = 0x9e3779b97f4a7c15ull;
	rnd_mode = 0;
	vd = rng_new();
	if (!vd)
		fz_fail("rng_new failed");
	fz_dev_init(&d, h, vd, PCI_DEVFN(1, 0), &rng_fz_ops, NULL);
	fz_dev_bringup(&d, &f);
	fz_dev_run(&d, &f);
	fz_dev_free(&d);
	return 0;
}
