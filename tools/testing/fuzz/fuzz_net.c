// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net (user/devices/net.c) driven by a fuzzed guest, with a
 * datagram socketpair standing in for the tap (net_cfg.fd: one frame,
 * virtio_net_hdr first, per datagram, as a tap delivers them).  Host
 * operations put frames of any length and content on the "tap", or
 * read back (and so make room for) what the guest transmitted; the
 * guest posts receive and transmit chains of any shape, with or without
 * VIRTIO_NET_F_MRG_RXBUF.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio_devs.h"
#include "fz.h"

static uint8_t frame[65536 + 64];

static void net_host_op(struct fz_dev *d, struct fz *f)
{
	int peer = *(int *)d->priv;
	uint8_t what = fz_u8(f);
	unsigned int i, n, len;

	switch (what % 3) {
	case 0:		/* frames to the guest: n copies of one */
		n = 1 + (what >> 2) % 8;
		len = fz_u16(f);
		if (what & 0x80)
			len += 65536 - 0x8000;	/* the largest ones */
		fz_bytes(f, frame, len > sizeof(frame) ? sizeof(frame) : len);
		for (i = 0; i < n; i++)
			if (send(peer, frame, len > sizeof(frame) ? sizeof(frame) : len,
				 MSG_DONTWAIT) < 0)
				break;
		break;
	case 1:		/* what the guest sent */
		while (recv(peer, frame, sizeof(frame), MSG_DONTWAIT) >= 0)
			;
		break;
	default:	/* a short frame, without a whole header */
		len = fz_u8(f) % 12;
		fz_bytes(f, frame, len);
		if (send(peer, frame, len, MSG_DONTWAIT) < 0 && errno != EAGAIN)
			fz_fail("send: %s", strerror(errno));
		break;
	}
}

static const struct fz_dev_ops net_fz_ops = {
	.host_op = net_host_op,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t how = fz_u8(&f);
	struct fz_host *h = fz_host_reset(how & 1 ? -ENOSPC : 0);
	struct net_cfg c = { .has_mac = how & 2, .mac = { 2, 0, 0, 0, 0, 1 } };
	struct virtio_dev *vd;
	struct fz_dev d;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		fz_fail("socketpair: %s", strerror(errno));
	c.fd = sv[0];
	vd = net_new(&c);
	if (!vd)
		fz_fail("net_new failed");
	fz_dev_init(&d, h, vd, PCI_DEVFN(3, 0), &net_fz_ops, &sv[1]);
	fz_dev_bringup(&d, &f);
	fz_dev_run(&d, &f);
	fz_dev_free(&d);	/* closes sv[0] */
	close(sv[1]);
	return 0;
}
