// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net (user/devices/net.c) driven by a fuzzed guest, with a
 * datagram socketpair standing in for the tap (net_cfg.fd: one frame,
 * virtio_net_hdr first, per datagram, as a tap delivers them).  Host
 * operations put frames of any length and content on the "tap", or
 * read back (and so make room for) what the guest transmitted; the
 * guest posts receive and transmit chains of any shape, with or without
 * VIRTIO_NET_F_MRG_RXBUF.  With two queue pairs (VIRTIO_NET_F_MQ) each
 * pair has its own socketpair, frames go to either, and the guest's
 * commands on the control queue (queue 4, or 2 without MQ) reach the
 * command parser with any layout and content.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio_devs.h"
#include "fz.h"

static uint8_t frame[65536 + 64];

/* The "tap" side of each pair's socketpair; pairs of them. */
struct net_peers {
	int peer[2];
	unsigned int pairs;
};

static void net_host_op(struct fz_dev *d, struct fz *f)
{
	struct net_peers *np = d->priv;
	uint8_t what = fz_u8(f);
	/* bit 5: pair 1's tap queue (when there is one) */
	int peer = np->peer[(what >> 5 & 1) % np->pairs];
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
		for (i = 0; i < np->pairs; i++)
			while (recv(np->peer[i], frame, sizeof(frame), MSG_DONTWAIT) >= 0)
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
	struct net_peers np = { .pairs = how & 4 ? 2 : 1 };
	struct virtio_dev *vd;
	struct fz_dev d;
	int sv[2][2];
	unsigned int i;

	for (i = 0; i < np.pairs; i++) {
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
			       sv[i]))
			fz_fail("socketpair: %s", strerror(errno));
		np.peer[i] = sv[i][1];
	}
	c.fd = sv[0][0];
	c.more_fds = &sv[1][0];
	c.queue_pairs = np.pairs;
	vd = net_new(&c);
	if (!vd)
		fz_fail("net_new failed");
	fz_dev_init(&d, h, vd, PCI_DEVFN(3, 0), &net_fz_ops, &np);
	fz_dev_bringup(&d, &f);
	fz_dev_run(&d, &f);
	fz_dev_free(&d);	/* closes sv[i][0] */
	for (i = 0; i < np.pairs; i++)
		close(np.peer[i]);
	return 0;
}
