// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net (virtio 1.x, section 5.1) on a tap with IFF_VNET_HDR: the
 * 12-byte virtio_net_hdr travels with every frame, so checksum and
 * segmentation offloads pass straight between the guest and the host
 * stack (TUNSETOFFLOAD follows the features the driver accepted).
 *
 * Queue 0 receives, queue 1 transmits.  With more than one queue pair
 * (VIRTIO_NET_F_MQ) queues 2i and 2i + 1 are pair i's, on queue i of a
 * multi-queue tap, and the control queue comes last (2 * max pairs; 2
 * when the driver takes VIRTIO_NET_F_CTRL_VQ without VIRTIO_NET_F_MQ).
 * The device starts, and restarts after every reset, on pair 0 alone;
 * VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET changes how many pairs it uses.  Only
 * those receive: the others' tap queues are detached (IFF_DETACH_QUEUE),
 * so the kernel steers no flow to them, and not polled.  The control
 * queue's other commands are answered as net_ctrl_cmd() says.  All the
 * pairs are served by the device's one I/O thread.
 *
 * Transmit chains
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
#include <limits.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "devices/virtio_devs.h"
#include "lib/log.h"
#include "virtio/iov.h"

#define NET_QUEUE_SIZE	256
#define NET_MAX_SEGS	NET_QUEUE_SIZE
#define NET_RX(i)	(2 * (i))	/* pair i's queues */
#define NET_TX(i)	(2 * (i) + 1)
#define NET_HDR_LEN	sizeof(struct virtio_net_hdr_mrg_rxbuf)	/* 12 */
#define NET_RXBUF	(NET_HDR_LEN + 65536)
#define NET_CFG_LEN	offsetof(struct virtio_net_config, mtu)
#define NET_CTRL_SEGS	16	/* readable + writable segments of a command */

struct net;

/**
 * struct net_pair - one receive/transmit queue pair and its tap queue
 * @n: the device
 * @index: the pair's number: queues 2 * @index (receive) and + 1
 * @fd: its tap queue (or a socket in tests)
 * @src: @fd in the I/O loop
 * @polled: @src is in the loop (I/O thread, or parked)
 * @detached: @fd is detached from the tap (IFF_DETACH_QUEUE): the kernel
 *	steers no frame to it (I/O thread, or parked)
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
 */
struct net_pair {
	struct net *n;
	unsigned int index;
	int fd;
	struct vloop_src src;
	bool polled;
	bool detached;
	size_t rx_len;
	uint8_t *rxbuf;
	uint16_t rx_heads[NET_QUEUE_SIZE];
	uint32_t rx_lens[NET_QUEUE_SIZE];
	struct iovec rx_iov[NET_MAX_SEGS + 1];
	struct vq_buf rx;
	struct iovec tx_iov[NET_MAX_SEGS];
	struct vq_buf tx;
};

/**
 * struct net - a virtio-net device
 * @vd: transport (first member)
 * @is_tap: the pairs' fds are tap queues (offload ioctls apply)
 * @ifname: the tap's name
 * @max_pairs: queue pairs offered (max_virtqueue_pairs); more than one
 *	adds VIRTIO_NET_F_MQ and the control queue, 2 * @max_pairs
 * @active: pairs in use: 1 until the driver sets more with
 *	VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET (I/O thread, or parked)
 * @pairs: @max_pairs pairs
 * @ctrl_iov: segments of the control command being handled (I/O thread)
 * @ctrl: the control command being handled
 * @rx_oversize: frames dropped as longer than NET_MAX_FRAME (I/O thread
 *	writes, net_get_stats() reads, atomically)
 * @rx_no_room: frames dropped as needing more buffers than the ring
 *	holds (as @rx_oversize)
 * @rx_bounced: frames that did not fit their first receive buffer and
 *	went through a pair's @rxbuf (as @rx_oversize)
 */
struct net {
	struct virtio_dev vd;
	bool is_tap;
	char ifname[16];
	unsigned int max_pairs;
	unsigned int active;
	struct net_pair *pairs;
	struct iovec ctrl_iov[NET_CTRL_SEGS];
	struct vq_buf ctrl;
	uint64_t rx_oversize;
	uint64_t rx_no_room;
	uint64_t rx_bounced;
};

static void net_poll(struct net_pair *p, bool on)
{
	if (on == p->polled)
		return;
	if (on) {
		if (!vloop_add(p->n->vd.loop, &p->src, EPOLLIN))
			p->polled = true;
	} else {
		vloop_del(p->n->vd.loop, &p->src);
		p->polled = false;
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
static int net_deliver(struct net_pair *p)
{
	struct net *n = p->n;
	struct virtio_dev *vd = &n->vd;
	struct virtqueue *vq = virtio_dev_vq(vd, NET_RX(p->index));
	bool mrg = virtio_dev_has(vd, VIRTIO_NET_F_MRG_RXBUF);
	struct iovec nb_iov[2];
	unsigned int k = 0, nb_n = 0, i;
	uint16_t nb;
	size_t off = 0;
	int ret;

	while (off < p->rx_len) {
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
		ret = virtio_dev_pop(vd, NET_RX(p->index), &p->rx);
		if (ret < 0)
			return -1;
		if (ret == 0)
			goto short_of_buffers;
		if (!k && (p->rx.in_len < NET_HDR_LEN ||
			   (!mrg && p->rx.in_len < p->rx_len))) {
			/* The frame cannot go there: drop it, return the buffer. */
			vq_push(vq, p->rx.head, 0);
			return 1;
		}
		if (!k)	/* where num_buffers goes: bytes 10-11 of the header */
			nb_n = iov_slice(vq_buf_in(&p->rx), p->rx.nr_in,
					 offsetof(struct virtio_net_hdr_mrg_rxbuf,
						  num_buffers),
					 2, nb_iov, 2, NULL);
		p->rx_heads[k] = p->rx.head;
		p->rx_lens[k] = iov_from_buf(vq_buf_in(&p->rx), p->rx.nr_in, 0,
					     p->rxbuf + off, p->rx_len - off);
		off += p->rx_lens[k];
		k++;
	}
	nb = htole16(mrg ? k : 1);
	iov_from_buf(nb_iov, nb_n, 0, &nb, sizeof(nb));
	vq_push_n(vq, p->rx_heads, p->rx_lens, k);
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
static enum net_read_result net_read(struct net_pair *p)
{
	struct net *n = p->n;
	struct virtio_dev *vd = &n->vd;
	struct virtqueue *vq = virtio_dev_vq(vd, NET_RX(p->index));
	struct iovec *in = NULL;
	unsigned int nr = 0;
	size_t cap = 0;
	uint16_t nb;
	ssize_t r;
	int ret;

	ret = virtio_dev_pop(vd, NET_RX(p->index), &p->rx);
	if (ret <= 0)
		return ret < 0 ? NET_READ_FAILED : NET_READ_NO_BUFFER;
	if (p->rx.in_len >= NET_HDR_LEN) {
		in = vq_buf_in(&p->rx);
		nr = p->rx.nr_in;
		cap = p->rx.in_len;
	} else {
		vq_unpop(vq);	/* net_deliver() drops the frame, returns it */
	}
	/*
	 * One byte more than the largest frame behind the guest's buffer: a
	 * longer frame fills it, whether the fd reports the bytes copied
	 * (sockets) or the frame's whole length (tun).  Either way only the
	 * bytes read may ever reach the guest.
	 */
	p->rx_iov[p->rx.nr_out + nr] = (struct iovec){ p->rxbuf, NET_RXBUF + 1 };
	r = readv(p->fd, p->rx_iov + p->rx.nr_out, nr + 1);
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
		vq_push(vq, p->rx.head, r);
		return NET_READ_DELIVERED;
	}
	/* Longer than the buffer: whole in the bounce buffer, the slow way. */
	if (in) {
		memmove(p->rxbuf + cap, p->rxbuf, r - cap);
		iov_to_buf(in, nr, 0, p->rxbuf, cap);
		vq_unpop(vq);
	}
	p->rx_len = r;
	__atomic_fetch_add(&n->rx_bounced, 1, __ATOMIC_RELAXED);
	return NET_READ_BOUNCED;
}

static void net_rx(struct net_pair *p)
{
	struct virtio_dev *vd = &p->n->vd;
	bool pushed = false, starved = false;

	for (;;) {
		int ret;

		if (!p->rx_len) {
			switch (net_read(p)) {
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
		ret = net_deliver(p);
		if (ret < 0)
			return;
		if (ret == 0) {
			starved = true;	/* the frame waits in rxbuf */
			break;
		}
		p->rx_len = 0;
		pushed = true;
	}
out:
	if (pushed)
		virtio_dev_signal(vd, NET_RX(p->index));
	/* Without receive buffers, frames wait in the tap's queue. */
	net_poll(p, !starved);
}

static void net_tx(struct net_pair *p)
{
	struct net *n = p->n;
	struct virtio_dev *vd = &n->vd;
	unsigned int q = NET_TX(p->index);
	/*
	 * What the driver still sends on a pair it stopped using goes out
	 * through pair 0: a detached tap queue takes no frames.
	 */
	int fd = p->index < n->active ? p->fd : n->pairs[0].fd;
	bool pushed = false;

	while (virtio_dev_pop(vd, q, &p->tx) > 0) {
		if (p->tx.out_len > NET_HDR_LEN) {
			ssize_t w;

			do {
				w = writev(fd, p->tx.iov, p->tx.nr_out);
			} while (w < 0 && errno == EINTR);
			if (w < 0 && errno != EAGAIN && errno != EIO &&
			    errno != ENOBUFS)
				log_errno("virtio-net: writing to %s", n->ifname);
		}
		vq_push(virtio_dev_vq(vd, q), p->tx.head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_dev_signal(vd, q);
}

static void net_tap_cb(struct vloop_src *src, uint32_t events)
{
	struct net_pair *p = src->arg;

	if (virtio_dev_running(&p->n->vd) && p->index < p->n->active)
		net_rx(p);
}

/*
 * Attach (on) or detach pair p's tap queue: the kernel steers flows only
 * to attached queues, and purges a detached one.
 */
static void net_tap_queue(struct net *n, struct net_pair *p, bool on)
{
	struct ifreq ifr;

	if (!n->is_tap || p->detached != on)
		return;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	if (ioctl(p->fd, TUNSETQUEUE, &ifr)) {
		log_warn("virtio-net: %s: cannot %s queue %u: %s", n->ifname,
			 on ? "attach" : "detach", p->index, strerror(errno));
		return;
	}
	p->detached = !on;
}

/*
 * Use pairs 0 .. k - 1 from now on: the others stop receiving (a frame
 * one of them held is dropped) and their tap queues are detached.
 */
static void net_set_pairs(struct net *n, unsigned int k)
{
	unsigned int i;

	for (i = 0; i < n->max_pairs; i++) {
		struct net_pair *p = &n->pairs[i];

		net_tap_queue(n, p, i < k);
		if (i >= k) {
			net_poll(p, false);
			p->rx_len = 0;
		} else if (i >= n->active && virtio_dev_running(&n->vd)) {
			net_poll(p, true);
		}
	}
	n->active = k;
}

/* --- control queue (virtio 1.x, 5.1.6.5) ---------------------------------- */

/* The control queue's index, once features are final. */
static unsigned int net_ctrl_q(const struct net *n)
{
	if (!virtio_dev_has(&n->vd, VIRTIO_NET_F_CTRL_VQ))
		return UINT_MAX;
	return virtio_dev_has(&n->vd, VIRTIO_NET_F_MQ) ? 2 * n->max_pairs : 2;
}

/*
 * Carry out the command in n->ctrl whose class and command are hdr, with
 * len bytes of data behind the header; returns VIRTIO_NET_OK or _ERR.
 *
 * The device has no receive filter: a tap passes whatever the host sends
 * it, and the guest's stack drops what is not for it.  So what only adds
 * to the frames received (promiscuous and all-multicast modes on, a MAC
 * table, a VLAN added) is accepted, and what would need a filter (those
 * modes off, a VLAN removed) or a feature the device does not offer is
 * refused.
 */
static uint8_t net_ctrl_cmd(struct net *n, const struct virtio_net_ctrl_hdr *hdr,
			    size_t len)
{
	const struct iovec *out = n->ctrl.iov;
	unsigned int nr = n->ctrl.nr_out;
	size_t off = sizeof(*hdr);
	uint32_t entries;
	uint16_t pairs;
	uint8_t on;

	switch (hdr->class << 8 | hdr->cmd) {
	case VIRTIO_NET_CTRL_RX << 8 | VIRTIO_NET_CTRL_RX_PROMISC:
	case VIRTIO_NET_CTRL_RX << 8 | VIRTIO_NET_CTRL_RX_ALLMULTI:
	case VIRTIO_NET_CTRL_RX << 8 | VIRTIO_NET_CTRL_RX_ALLUNI:
	case VIRTIO_NET_CTRL_RX << 8 | VIRTIO_NET_CTRL_RX_NOMULTI:
	case VIRTIO_NET_CTRL_RX << 8 | VIRTIO_NET_CTRL_RX_NOUNI:
	case VIRTIO_NET_CTRL_RX << 8 | VIRTIO_NET_CTRL_RX_NOBCAST:
		if (len != 1)
			return VIRTIO_NET_ERR;
		iov_to_buf(out, nr, off, &on, 1);
		/* PROMISC to ALLUNI on, or NOMULTI to NOBCAST off, widen. */
		return !on == (hdr->cmd >= VIRTIO_NET_CTRL_RX_NOMULTI) ?
		       VIRTIO_NET_OK : VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_MAC << 8 | VIRTIO_NET_CTRL_MAC_TABLE_SET:
		/* Two tables (unicast, multicast): le32 entries, 6 bytes each. */
		for (int t = 0; t < 2; t++) {
			if (len - (off - sizeof(*hdr)) < 4)
				return VIRTIO_NET_ERR;
			iov_to_buf(out, nr, off, &entries, 4);
			entries = le32toh(entries);
			off += 4;
			if (entries > (len - (off - sizeof(*hdr))) / ETH_ALEN)
				return VIRTIO_NET_ERR;
			off += (size_t)entries * ETH_ALEN;
		}
		return off - sizeof(*hdr) == len ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_VLAN << 8 | VIRTIO_NET_CTRL_VLAN_ADD:
		return len == 2 ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_ANNOUNCE << 8 | VIRTIO_NET_CTRL_ANNOUNCE_ACK:
		/* The device never asks for an announcement: nothing to clear. */
		return len ? VIRTIO_NET_ERR : VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_MQ << 8 | VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET:
		if (!virtio_dev_has(&n->vd, VIRTIO_NET_F_MQ) || len != 2)
			return VIRTIO_NET_ERR;
		iov_to_buf(out, nr, off, &pairs, 2);
		pairs = le16toh(pairs);
		if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > n->max_pairs)
			return VIRTIO_NET_ERR;
		net_set_pairs(n, pairs);
		return VIRTIO_NET_OK;
	default:	/* MAC_ADDR_SET, VLAN_DEL, RSS, offloads, coalescing ... */
		return VIRTIO_NET_ERR;
	}
}

/*
 * Commands: the header in the first readable bytes, then the command's
 * data (the rest of the readable bytes), the ack in the last writable
 * byte.  A chain with no writable byte cannot be answered: it is given
 * back unanswered (used length 0), as a receive buffer too small for a
 * frame is; one too short for its header gets VIRTIO_NET_ERR.
 */
static void net_ctrl(struct net *n)
{
	struct virtio_dev *vd = &n->vd;
	unsigned int q = net_ctrl_q(n);
	struct virtio_net_ctrl_hdr hdr;
	bool pushed = false;
	int ret;

	while ((ret = virtio_dev_pop(vd, q, &n->ctrl)) > 0) {
		uint8_t ack = VIRTIO_NET_ERR;
		uint32_t len = 0;

		if (n->ctrl.in_len) {
			if (n->ctrl.out_len >= sizeof(hdr)) {
				iov_to_buf(n->ctrl.iov, n->ctrl.nr_out, 0, &hdr,
					   sizeof(hdr));
				ack = net_ctrl_cmd(n, &hdr,
						   n->ctrl.out_len - sizeof(hdr));
			}
			iov_from_buf(vq_buf_in(&n->ctrl), n->ctrl.nr_in,
				     n->ctrl.in_len - 1, &ack, 1);
			len = 1;
		}
		vq_push(virtio_dev_vq(vd, q), n->ctrl.head, len);
		pushed = true;
	}
	if (pushed)
		virtio_dev_signal(vd, q);
}

static void net_notify(struct virtio_dev *vd, unsigned int q)
{
	struct net *n = (struct net *)vd;

	if (q == net_ctrl_q(n))
		net_ctrl(n);
	else if (q / 2 >= n->max_pairs)
		return;
	else if (q % 2)
		net_tx(&n->pairs[q / 2]);
	else if (q / 2 < n->active)	/* else its buffers wait for VQ_PAIRS_SET */
		net_rx(&n->pairs[q / 2]);
}

static int net_start(struct virtio_dev *vd)
{
	struct net *n = (struct net *)vd;
	unsigned int off = 0, i;

	if (n->is_tap) {
		if (virtio_dev_has(vd, VIRTIO_NET_F_GUEST_CSUM))
			off |= TUN_F_CSUM;
		if (virtio_dev_has(vd, VIRTIO_NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (virtio_dev_has(vd, VIRTIO_NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
		/* The tap's, set through each queue attached now. */
		for (i = 0; i < n->max_pairs; i++) {
			if (n->pairs[i].detached)
				continue;
			if (ioctl(n->pairs[i].fd, TUNSETOFFLOAD, off))
				log_warn("virtio-net: %s: cannot set offloads 0x%x: %s",
					 n->ifname, off, strerror(errno));
		}
	}
	for (i = 0; i < n->active; i++)
		net_poll(&n->pairs[i], true);
	return 0;
}

static void net_reset(struct virtio_dev *vd)
{
	struct net *n = (struct net *)vd;
	unsigned int i;

	for (i = 0; i < n->max_pairs; i++) {
		net_poll(&n->pairs[i], false);
		n->pairs[i].rx_len = 0;
	}
	/* Pair 0 only until the next driver sets more (5.1.6.5.5). */
	net_set_pairs(n, 1);
}

static void net_free_pairs(struct net *n, bool close_fds)
{
	unsigned int i;

	for (i = 0; n->pairs && i < n->max_pairs; i++) {
		if (close_fds && n->pairs[i].fd >= 0)
			close(n->pairs[i].fd);
		free(n->pairs[i].rxbuf);
	}
	free(n->pairs);
	free(n);
}

static void net_free(struct virtio_dev *vd)
{
	net_free_pairs((struct net *)vd, true);
}

/*
 * A takeover that fails what the guest asked before: its frames are not
 * sent (completed, dropped), its control commands fail (VIRTIO_NET_ERR,
 * nothing done); receive buffers stay for the next frames.
 */
static enum virtio_fail_result net_fail_request(struct virtio_dev *vd,
						unsigned int q,
						const struct vq_buf *b,
						uint32_t *len)
{
	struct net *n = (struct net *)vd;
	uint8_t ack = VIRTIO_NET_ERR;

	*len = 0;
	if (q == net_ctrl_q(n)) {
		if (b->in_len) {	/* else unanswered, as net_ctrl() does */
			iov_from_buf(vq_buf_in(b), b->nr_in, b->in_len - 1, &ack, 1);
			*len = 1;
		}
		return VIRTIO_FAIL_DONE;
	}
	if (q % 2 == 0)
		return VIRTIO_FAIL_KEEP;
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
	unsigned int pairs = c->queue_pairs ? c->queue_pairs : 1, i;
	int fds[NET_PAIRS_MAX];
	struct virtio_net_config cfg;
	struct net *n;
	int ret;

	if (pairs > NET_PAIRS_MAX) {
		log_error("virtio-net: %u queue pairs: at most %d", pairs,
			  NET_PAIRS_MAX);
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (n)
		n->pairs = calloc(pairs, sizeof(*n->pairs));
	if (!n || !n->pairs) {
		log_error("virtio-net: out of memory");
		free(n);
		return NULL;
	}
	n->max_pairs = pairs;
	n->active = pairs;	/* until net_set_pairs() below */
	n->ctrl.iov = n->ctrl_iov;
	n->ctrl.cap = NET_CTRL_SEGS;
	if (c->fd >= 0) {
		fds[0] = c->fd;
		for (i = 1; i < pairs; i++)
			fds[i] = c->more_fds[i - 1];
		snprintf(n->ifname, sizeof(n->ifname), "fd %d", c->fd);
	} else {
		if (c->tap)
			snprintf(n->ifname, sizeof(n->ifname), "%s", c->tap);
		if (tap_open(n->ifname, fds, pairs))
			goto fail;
		n->is_tap = true;
	}
	for (i = 0; i < pairs; i++) {
		struct net_pair *p = &n->pairs[i];

		p->n = n;
		p->index = i;
		p->fd = fds[i];
		p->src.fd = p->fd;
		p->src.fn = net_tap_cb;
		p->src.arg = p;
		p->rx.iov = p->rx_iov;
		p->rx.cap = NET_MAX_SEGS;
		p->tx.iov = p->tx_iov;
		p->tx.cap = NET_MAX_SEGS;
		p->rxbuf = malloc(NET_RXBUF + 1);
		if (!p->rxbuf) {
			log_error("virtio-net: out of memory");
			goto fail;
		}
	}
	if (n->is_tap && c->has_ip &&
	    tap_configure(n->ifname, c->host_ip, c->netmask))
		goto fail;
	if (c->has_mac)
		info.features |= 1ull << VIRTIO_NET_F_MAC;
	if (pairs > 1) {
		info.features |= (1ull << VIRTIO_NET_F_MQ) |
				 (1ull << VIRTIO_NET_F_CTRL_VQ);
		info.num_queues = 2 * pairs + 1;
	}
	ret = virtio_dev_init(&n->vd, &net_ops, &info);
	if (ret) {
		log_error("virtio-net: cannot create the device: %s", strerror(-ret));
		goto fail;
	}
	net_set_pairs(n, 1);
	memset(&cfg, 0, sizeof(cfg));
	if (c->has_mac)
		memcpy(cfg.mac, c->mac, sizeof(cfg.mac));
	cfg.status = htole16(VIRTIO_NET_S_LINK_UP);
	cfg.max_virtqueue_pairs = htole16(pairs);
	memcpy(n->vd.config, &cfg, NET_CFG_LEN);
	if (n->is_tap && pairs > 1)
		log_info("virtio-net: on tap %s, %u queue pairs", n->ifname, pairs);
	else if (n->is_tap)
		log_info("virtio-net: on tap %s", n->ifname);
	return &n->vd;
fail:
	if (n->is_tap)
		for (i = 0; i < pairs; i++)
			close(fds[i]);
	net_free_pairs(n, false);
	return NULL;
}
