// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-input (user/devices/input.c) driven by a fuzzed guest, with a
 * stream socketpair standing in for the evdev node and a description
 * (name, serial, ids, property and event bitmaps, axes) from the input.
 * The guest queries the configuration (select/subsel through BAR
 * stores), posts event buffers and status events of any shape; host
 * operations send events, whole or cut anywhere, hang up the "node", or
 * read what the guest sent back (LEDs, sounds).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio_devs.h"
#include "fz.h"

static void input_host_op(struct fz_dev *d, struct fz *f)
{
	int *peer = d->priv;
	uint8_t what = fz_u8(f), buf[256];
	unsigned int i, n, len;

	if (*peer < 0)
		return;
	switch (what % 4) {
	case 0:		/* n events (24 bytes each), maybe cut short */
		n = 1 + (what >> 2) % 10;
		len = fz_u8(f);
		if (len > sizeof(buf))
			len = sizeof(buf);
		fz_bytes(f, buf, len);
		for (i = 0; i < n; i++)
			if (send(*peer, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
				break;
		break;
	case 1:		/* what the guest wrote to the node */
		while (recv(*peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		break;
	case 2:		/* the node hangs up */
		close(*peer);
		*peer = -1;
		break;
	default:	/* it stops sending: end of file */
		shutdown(*peer, SHUT_WR);
		break;
	}
}

static const struct fz_dev_ops input_fz_ops = {
	.host_op = input_host_op,
};

static void read_info(struct fz *f, struct input_info *info)
{
	unsigned int n, i;

	memset(info, 0, sizeof(*info));
	fz_bytes(f, info->name, fz_u8(f) % sizeof(info->name));
	fz_bytes(f, info->serial, fz_u8(f) % sizeof(info->serial));
	info->bustype = fz_u16(f);
	info->vendor = fz_u16(f);
	info->product = fz_u16(f);
	info->version = fz_u16(f);
	n = fz_u8(f) % sizeof(info->prop);
	info->prop[n] = fz_u8(f);
	/* Bitmap bytes and axes: (type, byte, value) and (axis, values). */
	n = fz_u8(f) % 16;
	for (i = 0; i < n; i++) {
		uint8_t t = fz_u8(f) % 32, byte = fz_u8(f) % 128;

		info->ev[t][byte] = fz_u8(f);
	}
	n = fz_u8(f) % 8;
	for (i = 0; i < n; i++) {
		struct input_absinfo_le *a = &info->abs[fz_u8(f) % 64];

		a->min = fz_u32(f);
		a->max = fz_u32(f);
		a->res = fz_u32(f);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t how = fz_u8(&f);
	struct fz_host *h = fz_host_reset(how & 1 ? -ENOSPC : 0);
	struct input_info info;
	struct virtio_dev *vd;
	struct fz_dev d;
	int sv[2];

	read_info(&f, &info);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		fz_fail("socketpair: %s", strerror(errno));
	vd = input_new(sv[0], "fuzz", &info);
	if (!vd)
		fz_fail("input_new failed");
	fz_dev_init(&d, h, vd, PCI_DEVFN(5, 0), &input_fz_ops, &sv[1]);
	fz_dev_bringup(&d, &f);
	fz_dev_run(&d, &f);
	fz_dev_free(&d);	/* closes sv[0] */
	if (sv[1] >= 0)
		close(sv[1]);
	return 0;
}
