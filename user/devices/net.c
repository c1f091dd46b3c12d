// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net (virtio 1.x, section 5.1) on a tap with IFF_VNET_HDR: the
 * 12-byte virtio_net_hdr travels with every frame, so checksum and
 * segmentation offloads pass straight between the guest and the host
 * stack (TUNSETOFFLOAD follows the features the driver accepted).
 *
 * Queue 0 receives, queue 1 transmits; no control queue.  Transmit chains
 * are written to the tap as they are (writev straight from guest memory).
 * A frame is received straight into guest memory too: one readv() into
 * the first receive buffer, followed by the bounce buffer for whatever
 * does not fit there.  Every frame that fits one buffer (all of them
 * without VIRTIO_NET_F_MRG_RXBUF, where the driver posts buffers for the
 * largest frame it accepts, and up to its buffer size with it) is never
 * copied.  A longer one is put back together in the bounce buffer and
 * copied into as many buffers as it needs with VIRTIO_NET_F_MRG_RXBUF
 * (published together).  While the driver has no receive buffers the tap
 * is not polled: frames wait in the kernel's tap queue (or are dropped
 * there), never in unbounded memory here.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "devices/virtio_devs.h"
#include "lib/log.h"
#include "virtio/iov.h"

#define NET_QUEUE_SIZE	256
#define NET_MAX_SEGS	NET_QUEUE_SIZE
#define NET_RX		0
#define NET_TX		1
#define NET_HDR_LEN	sizeof(struct virtio_net_hdr_mrg_rxbuf)	/* 12 */
#define NET_RXBUF	(NET_HDR_LEN + 65536)
#define NET_CFG_LEN	offsetof(struct virtio_net_config, mtu)

/**
 * struct net - a virtio-net device
 * @vd: transport (first member)
 * @fd: the tap (or a packet socket in tests)
 * @is_tap: @fd is a tap (offload ioctls apply)
 * @ifname: the tap's name
 * @src: @fd in the I/O loop
 * @polled: @src is in the loop (I/O thread, or parked)
 * @rx_len: bytes of the frame waiting in @rxbuf, 0 if none (I/O thread)
 * @rxbuf: a frame read from the tap, header first (NET_RXBUF + 1 bytes:
 *	a frame that fills them is too long)
 * @rx_heads: heads of the receive buffers a frame is going into
 * @rx_lens: bytes written to each
 * @rx_iov: segments of the receive buffer being filled, and one more for
 *	the bounce buffer behind them (I/O thread)
 * @rx: the receive buffer being filled
 * @tx_iov: segments of the transmit chain being sent (I/O thread)
 * @tx: the transmit chain being sent
 * @rx_oversize: frames dropped as longer than NET_MAX_FRAME (I/O thread
 *	writes, net_get_stats() reads, atomically)
 * @rx_no_room: frames dropped as needing more buffers than the ring
 *	holds (as @rx_oversize)
 * @rx_bounced: frames that did not fit their first receive buffer and
 *	went through @rxbuf (as @rx_oversize)
 */
struct net {
	struct virtio_dev vd;
	int fd;
	bool is_tap;
	char ifname[16];
	struct vloop_src src;
	bool polled;
	size_t rx_len;
	uint8_t *rxbuf;
	uint16_t rx_heads[NET_QUEUE_SIZE];
	uint32_t rx_lens[NET_QUEUE_SIZE];
	struct iovec rx_iov[NET_MAX_SEGS + 1];
	struct vq_buf rx;
	struct iovec tx_iov[NET_MAX_SEGS];
	struct vq_buf tx;
	uint64_t rx_oversize;
	uint64_t rx_no_room;
	uint64_t rx_bounced;
};

static void net_poll(struct net *n, bool on)
{
	if (on == n->polled)
		return;
	if (on) {
		if (!vloop_add(n->vd.loop, &n->src, EPOLLIN))
			n->polled = true;
	} else {
		vloop_del(n->vd.loop, &n->src);
		n->polled = false;
	}
}

/* Count a dropped received frame; say so the first time. */
static void net_drop(struct net *n, uint64_t *counter, const char *why)
{
	if (!__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED))
		log_warn("virtio-net: %s: dropping received frames %s (counted)",
			 n->ifname, why);
}

/*
 * Put the frame in rxbuf into receive buffers.  Returns 1 when delivered
 * (or dropped as undeliverable), 0 when the driver has too few buffers
 * (nothing consumed), -1 when the device failed.
 */
static int net_deliver(struct net *n)
{
	struct virtio_dev *vd = &n->vd;
	struct virtqueue *vq = virtio_dev_vq(vd, NET_RX);
	bool mrg = virtio_dev_has(vd, VIRTIO_NET_F_MRG_RXBUF);
	struct iovec nb_iov[2];
	unsigned int k = 0, nb_n = 0, i;
	uint16_t nb;
	size_t off = 0;
	int ret;

	while (off < n->rx_len) {
		if (k == vq->size || k == NET_QUEUE_SIZE) {
			/*
			 * The ring's every buffer is taken and the frame still
			 * does not fit: it never will.  Give the buffers back
			 * for the next frame and drop this one.
			 */
			for (i = 0; i < k; i++)
				vq_unpop(vq);
			net_drop(n, &n->rx_no_room,
				 "that need more buffers than the receive ring holds");
			return 1;
		}
		ret = virtio_dev_pop(vd, NET_RX, &n->rx);
		if (ret < 0)
			return -1;
		if (ret == 0)
			goto short_of_buffers;
		if (!k && (n->rx.in_len < NET_HDR_LEN ||
			   (!mrg && n->rx.in_len < n->rx_len))) {
			/* The frame cannot go there: drop it, return the buffer. */
			vq_push(vq, n->rx.head, 0);
			return 1;
		}
		if (!k)	/* where num_buffers goes: bytes 10-11 of the header */
			nb_n = iov_slice(vq_buf_in(&n->rx), n->rx.nr_in,
					 offsetof(struct virtio_net_hdr_mrg_rxbuf,
						  num_buffers),
					 2, nb_iov, 2, NULL);
		n->rx_heads[k] = n->rx.head;
		n->rx_lens[k] = iov_from_buf(vq_buf_in(&n->rx), n->rx.nr_in, 0,
					     n->rxbuf + off, n->rx_len - off);
		off += n->rx_lens[k];
		k++;
	}
	nb = htole16(mrg ? k : 1);
	iov_from_buf(nb_iov, nb_n, 0, &nb, sizeof(nb));
	vq_push_n(vq, n->rx_heads, n->rx_lens, k);
	return 1;

short_of_buffers:
	for (i = 0; i < k; i++)
		vq_unpop(vq);
	return 0;
}

/* What net_read() did */
enum net_read_result {
	NET_READ_FAILED,	/* the device failed */
	NET_READ_NO_BUFFER,	/* the driver has no receive buffer */
	NET_READ_NO_FRAME,	/* the tap has no frame (or an error) */
	NET_READ_DROPPED,	/* a frame was read and dropped */
	NET_READ_DELIVERED,	/* a frame is in the guest's buffer, pushed */
	NET_READ_BOUNCED,	/* a frame is in rxbuf (rx_len), for net_deliver() */
};

/*
 * Read the next frame into the first receive buffer, the bounce buffer
 * taking what does not fit.
 */
static enum net_read_result net_read(struct net *n)
{
	struct virtio_dev *vd = &n->vd;
	struct virtqueue *vq = virtio_dev_vq(vd, NET_RX);
	struct iovec *in = NULL;
	unsigned int nr = 0;
	size_t cap = 0;
	uint16_t nb;
	ssize_t r;
	int ret;

	ret = virtio_dev_pop(vd, NET_RX, &n->rx);
	if (ret <= 0)
		return ret < 0 ? NET_READ_FAILED : NET_READ_NO_BUFFER;
	if (n->rx.in_len >= NET_HDR_LEN) {
		in = vq_buf_in(&n->rx);
		nr = n->rx.nr_in;
		cap = n->rx.in_len;
	} else {
		vq_unpop(vq);	/* net_deliver() drops the frame, returns it */
	}
	/*
	 * One byte more than the largest frame behind the guest's buffer: a
	 * longer frame fills it, whether the fd reports the bytes copied
	 * (sockets) or the frame's whole length (tun).  Either way only the
	 * bytes read may ever reach the guest.
	 */
	n->rx_iov[n->rx.nr_out + nr] = (struct iovec){ n->rxbuf, NET_RXBUF + 1 };
	r = readv(n->fd, n->rx_iov + n->rx.nr_out, nr + 1);
	if (r < 0 || (size_t)r < NET_HDR_LEN || (size_t)r > NET_RXBUF) {
		if (in)
			vq_unpop(vq);
		if (r < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_errno("virtio-net: reading from %s", n->ifname);
			return NET_READ_NO_FRAME;
		}
		if ((size_t)r > NET_RXBUF)
			net_drop(n, &n->rx_oversize, "longer than 65,536 bytes");
		return NET_READ_DROPPED;	/* (a runt has no header) */
	}
	if ((size_t)r <= cap) {
		nb = htole16(1);	/* bytes 10-11 of the header */
		iov_from_buf(in, nr, offsetof(struct virtio_net_hdr_mrg_rxbuf,
					      num_buffers), &nb, sizeof(nb));
		vq_push(vq, n->rx.head, r);
		return NET_READ_DELIVERED;
	}
	/* Longer than the buffer: whole in the bounce buffer, the slow way. */
	if (in) {
		memmove(n->rxbuf + cap, n->rxbuf, r - cap);
		iov_to_buf(in, nr, 0, n->rxbuf, cap);
		vq_unpop(vq);
	}
	n->rx_len = r;
	__atomic_fetch_add(&n->rx_bounced, 1, __ATOMIC_RELAXED);
	return NET_READ_BOUNCED;
}

static void net_rx(struct net *n)
{
	struct virtio_dev *vd = &n->vd;
	bool pushed = false, starved = false;

	for (;;) {
		int ret;

		if (!n->rx_len) {
			switch (net_read(n)) {
			case NET_READ_FAILED:
				return;
			case NET_READ_NO_BUFFER:
				starved = true;
				goto out;
			case NET_READ_NO_FRAME:
				goto out;
			case NET_READ_DELIVERED:
				pushed = true;
				continue;
			case NET_READ_DROPPED:
				continue;
			case NET_READ_BOUNCED:
				break;
			}
		}
		ret = net_deliver(n);
		if (ret < 0)
			return;
		if (ret == 0) {
			starved = true;	/* the frame waits in rxbuf */
			break;
		}
		n->rx_len = 0;
		pushed = true;
	}
out:
	if (pushed)
		virtio_dev_signal(vd, NET_RX);
	/* Without receive buffers, frames wait in the tap's queue. */
	net_poll(n, !starved);
}

static void net_tx(struct net *n)
{
	struct virtio_dev *vd = &n->vd;
	bool pushed = false;

	while (virtio_dev_pop(vd, NET_TX, &n->tx) > 0) {
		if (n->tx.out_len > NET_HDR_LEN) {
			ssize_t w;

			do {
				w = writev(n->fd, n->tx.iov, n->tx.nr_out);
			} while (w < 0 && errno == EINTR);
			if (w < 0 && errno != EAGAIN && errno != EIO &&
			    errno != ENOBUFS)
				log_errno("virtio-net: writing to %s", n->ifname);
		}
		vq_push(virtio_dev_vq(vd, NET_TX), n->tx.head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_dev_signal(vd, NET_TX);
}

static void net_tap_cb(struct vloop_src *src, uint32_t events)
{
	struct net *n = src->arg;

	if (virtio_dev_running(&n->vd))
		net_rx(n);
}

static void net_notify(struct virtio_dev *vd, unsigned int q)
{
	struct net *n = (struct net *)vd;

	if (q == NET_RX)
		net_rx(n);
	else if (q == NET_TX)
		net_tx(n);
}

static int net_start(struct virtio_dev *vd)
{
	struct net *n = (struct net *)vd;
	unsigned int off = 0;

	if (n->is_tap) {
		if (virtio_dev_has(vd, VIRTIO_NET_F_GUEST_CSUM))
			off |= TUN_F_CSUM;
		if (virtio_dev_has(vd, VIRTIO_NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (virtio_dev_has(vd, VIRTIO_NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
		if (ioctl(n->fd, TUNSETOFFLOAD, off))
			log_warn("virtio-net: %s: cannot set offloads 0x%x: %s",
				 n->ifname, off, strerror(errno));
	}
	net_poll(n, true);
	return 0;
}

static void net_reset(struct virtio_dev *vd)
{
	struct net *n = (struct net *)vd;

	net_poll(n, false);
	n->rx_len = 0;
}

static void net_free(struct virtio_dev *vd)
{
	struct net *n = (struct net *)vd;

	if (n->fd >= 0)
		close(n->fd);
	free(n->rxbuf);
	free(n);
}

/*
 * A takeover that fails what the guest asked before: its frames are not
 * sent (completed, dropped); receive buffers stay for the next frames.
 */
static enum virtio_fail_result net_fail_request(struct virtio_dev *vd,
						unsigned int q,
						const struct vq_buf *b,
						uint32_t *len)
{
	if (q == NET_RX)
		return VIRTIO_FAIL_KEEP;
	*len = 0;
	return VIRTIO_FAIL_DONE;
}

static const struct virtio_dev_ops net_ops = {
	.queue_notify = net_notify,
	.start = net_start,
	.reset = net_reset,
	.fail_request = net_fail_request,
	.free = net_free,
};

void net_get_stats(struct virtio_dev *vd, struct net_stats *st)
{
	struct net *n = (struct net *)vd;

	st->rx_oversize = __atomic_load_n(&n->rx_oversize, __ATOMIC_RELAXED);
	st->rx_no_room = __atomic_load_n(&n->rx_no_room, __ATOMIC_RELAXED);
	st->rx_bounced = __atomic_load_n(&n->rx_bounced, __ATOMIC_RELAXED);
}

struct virtio_dev *net_new(const struct net_cfg *c)
{
	struct virtio_dev_info info = {
		.name = "virtio-net",
		.device_id = VIRTIO_ID_NET,
		.pci_class = 0x020000,	/* ethernet */
		.num_queues = 2,
		.queue_size = NET_QUEUE_SIZE,
		.config_size = NET_CFG_LEN,
		.features = (1ull << VIRTIO_NET_F_CSUM) |
			    (1ull << VIRTIO_NET_F_GUEST_CSUM) |
			    (1ull << VIRTIO_NET_F_GUEST_TSO4) |
			    (1ull << VIRTIO_NET_F_GUEST_TSO6) |
			    (1ull << VIRTIO_NET_F_HOST_TSO4) |
			    (1ull << VIRTIO_NET_F_HOST_TSO6) |
			    (1ull << VIRTIO_NET_F_MRG_RXBUF) |
			    (1ull << VIRTIO_NET_F_STATUS),
	};
	struct virtio_net_config cfg;
	struct net *n;
	int ret;

	n = calloc(1, sizeof(*n));
	if (!n || !(n->rxbuf = malloc(NET_RXBUF + 1))) {
		log_error("virtio-net: out of memory");
		if (n)
			free(n);
		return NULL;
	}
	n->rx.iov = n->rx_iov;
	n->rx.cap = NET_MAX_SEGS;
	n->tx.iov = n->tx_iov;
	n->tx.cap = NET_MAX_SEGS;
	if (c->fd >= 0) {
		n->fd = c->fd;
		snprintf(n->ifname, sizeof(n->ifname), "fd %d", c->fd);
	} else {
		if (c->tap)
			snprintf(n->ifname, sizeof(n->ifname), "%s", c->tap);
		if (tap_open(n->ifname, &n->fd, 1))
			goto fail;
		n->is_tap = true;
		if (c->has_ip && tap_configure(n->ifname, c->host_ip, c->netmask))
			goto fail;
	}
	n->src.fd = n->fd;
	n->src.fn = net_tap_cb;
	n->src.arg = n;
	if (c->has_mac)
		info.features |= 1ull << VIRTIO_NET_F_MAC;
	ret = virtio_dev_init(&n->vd, &net_ops, &info);
	if (ret) {
		log_error("virtio-net: cannot create the device: %s", strerror(-ret));
		goto fail;
	}
	memset(&cfg, 0, sizeof(cfg));
	if (c->has_mac)
		memcpy(cfg.mac, c->mac, sizeof(cfg.mac));
	cfg.status = htole16(VIRTIO_NET_S_LINK_UP);
	cfg.max_virtqueue_pairs = htole16(1);
	memcpy(n->vd.config, &cfg, NET_CFG_LEN);
	if (n->is_tap)
		log_info("virtio-net: on tap %s", n->ifname);
	return &n->vd;
fail:
	if (n->fd >= 0 && n->is_tap)
		close(n->fd);
	free(n->rxbuf);
	free(n);
	return NULL;
}
