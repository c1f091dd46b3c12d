// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (user/devices/blk.c) on a real image file driven by a
 * fuzzed guest: requests of any shape (reads, writes, flush, get-id,
 * discard and write-zeroes with any segments, unknown types), chains of
 * any layout, the image read-only or not, opened with O_DIRECT or not
 * (when the temporary directory allows it), and the image shrinking
 * under the device (a host operation).
 *
 * The device runs without worker threads (blk_cfg.inline_io), so the
 * requests of an input are done in the same order every run; the image
 * is emptied again before every input.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "devices/virtio_devs.h"
#include "fz.h"

#define IMG_SIZE	(64 * 1024)

static char img[128];
static int img_fd = -1;
static bool direct_ok;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	snprintf(img, sizeof(img), "%s/disk.img", fz_tmpdir());
	img_fd = open(img, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (img_fd < 0)
		fz_fail("cannot create %s: %s", img, strerror(errno));
	fd = open(img, O_RDWR | O_DIRECT | O_CLOEXEC);
	direct_ok = fd >= 0;
	if (fd >= 0)
		close(fd);
	return 0;
}

/* The image shrinks (or grows) under the device. */
static void blk_host_op(struct fz_dev *d, struct fz *f)
{
	if (ftruncate(img_fd, (off_t)fz_u16(f) * 16))
		fz_fail("ftruncate: %s", strerror(errno));
}

static const struct fz_dev_ops blk_fz_ops = {
	.host_op = blk_host_op,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t how = fz_u8(&f);
	struct fz_host *h = fz_host_reset(how & 1 ? -ENOSPC : 0);
	char serial[24];
	struct blk_cfg c = {
		.path = img,
		.readonly = how & 2,
		.direct = (how & 4) && direct_ok,
		.inline_io = true,
	};
	struct virtio_dev *vd;
	struct fz_dev d;

	/* A fresh image: zeros, sometimes with a partial last sector. */
	if (ftruncate(img_fd, 0) ||
	    ftruncate(img_fd, IMG_SIZE + (how & 8 ? 100 : 0)))
		fz_fail("ftruncate: %s", strerror(errno));
	if (how & 16) {
		fz_bytes(&f, serial, 21);
		serial[21] = '\0';
		c.serial = serial;
	}
	vd = blk_new(&c);
	if (!vd)
		fz_fail("blk_new failed");
	fz_dev_init(&d, h, vd, PCI_DEVFN(2, 0), &blk_fz_ops, NULL);
	fz_dev_bringup(&d, &f);
	fz_dev_run(&d, &f);
	fz_dev_free(&d);
	return 0;
}
