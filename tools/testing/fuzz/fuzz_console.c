// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-console (user/devices/console.c) driven by a fuzzed guest, its
 * input from a pipe (or, as the input chooses, a regular file, which the
 * device reads on demand) and its output into a pipe.  Host operations
 * feed input of any size (past the device's pending buffer, so flow
 * control runs), end it, and read the guest's output.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "devices/virtio_devs.h"
#include "fz.h"

struct con_host {
	int in_w;	/* the writing end of the input pipe, -1 when closed */
	int out_r;	/* the reading end of the output pipe */
	int file;	/* the input is this regular file (-1: a pipe) */
};

static char path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(path, sizeof(path), "%s/console-in", fz_tmpdir());
	return 0;
}

static void con_host_op(struct fz_dev *d, struct fz *f)
{
	struct con_host *c = d->priv;
	uint8_t what = fz_u8(f), buf[256];
	unsigned int i, n, len;

	switch (what % 3) {
	case 0:		/* input: n copies of up to 255 bytes */
		n = 1 + (what >> 2) % 64;
		len = fz_u8(f);
		fz_bytes(f, buf, len);
		for (i = 0; i < n; i++) {
			int fd = c->file >= 0 ? c->file : c->in_w;

			if (fd < 0 || write(fd, buf, len) < 0)
				break;
		}
		break;
	case 1:		/* the guest's output */
		while (read(c->out_r, buf, sizeof(buf)) > 0)
			;
		break;
	default:	/* end of input */
		if (c->in_w >= 0)
			close(c->in_w);
		c->in_w = -1;
		break;
	}
}

static const struct fz_dev_ops con_fz_ops = {
	.host_op = con_host_op,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t how = fz_u8(&f);
	struct fz_host *h = fz_host_reset(how & 1 ? -ENOSPC : 0);
	struct con_host c = { .in_w = -1, .file = -1 };
	struct console_cfg cfg = { .close_fds = true };
	struct virtio_dev *vd;
	struct fz_dev d;
	int in[2], out[2];

	if (pipe2(out, O_NONBLOCK | O_CLOEXEC))
		fz_fail("pipe: %s", strerror(errno));
	if (how & 2) {
		/* A regular file the device reads on demand. */
		c.file = open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
			      0600);
		cfg.in_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (c.file < 0 || cfg.in_fd < 0)
			fz_fail("%s: %s", path, strerror(errno));
	} else {
		if (pipe2(in, O_NONBLOCK | O_CLOEXEC))
			fz_fail("pipe: %s", strerror(errno));
		cfg.in_fd = in[0];
		c.in_w = in[1];
	}
	cfg.out_fd = how & 4 ? -1 : out[1];
	c.out_r = out[0];
	vd = console_new(&cfg);
	if (!vd)
		fz_fail("console_new failed");
	fz_dev_init(&d, h, vd, PCI_DEVFN(4, 0), &con_fz_ops, &c);
	fz_dev_bringup(&d, &f);
	fz_dev_run(&d, &f);
	/*
	 * The host's end of the output goes away first, as a terminal
	 * closed at exit does: the device's output thread then drops what
	 * is queued at once, instead of giving a reader that never comes
	 * its 2 s at the free.
	 */
	close(out[0]);
	fz_dev_free(&d);	/* closes in_fd, out_fd */
	if (c.in_w >= 0)
		close(c.in_w);
	if (c.file >= 0)
		close(c.file);
	if (how & 4)
		close(out[1]);
	return 0;
}
