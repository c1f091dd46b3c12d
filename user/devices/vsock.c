// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock (virtio 1.x, section 5.10) bridged to host Unix sockets,
 * the way Firecracker and cloud-hypervisor do it, so it needs no vhost and
 * works the same in the VMM and in the device daemon:
 *
 *  - the guest connects to host CID 2, port P: the device connects to the
 *    Unix socket "<uds>_P" (a host program listens there); no listener
 *    means the guest gets a reset (connection refused);
 *  - a host program connects to the Unix socket "<uds>" (the device
 *    listens there) and writes "CONNECT <port>\n": the device asks the
 *    guest's port <port> for a connection from a new host port H, and
 *    answers "OK <H>\n" once the guest accepted (or closes the socket if
 *    it refused).  Everything after that line is the stream.
 *
 * Streams only (no SEQPACKET).  Flow control is the protocol's credit
 * scheme in both directions: the device advertises a receive buffer of
 * VSOCK_BUF_ALLOC bytes per connection and holds what the host socket did
 * not take yet (at most that much, since the guest may not send more than
 * its credit), in a buffer made when needed and freed when drained, all
 * of them together at most VSOCK_BUF_TOTAL (past that the connection is
 * reset); it reads from the host socket only as much as the guest has
 * room for.  Everything runs on the device's I/O thread.
 *
 * Guest packets are untrusted: wrong source CID, malformed lengths,
 * unknown connections, credit overruns are dropped or answered with a
 * reset, and the number of connections is bounded.
 *
 * A device brought back in a new process (virtio_dev_takeover) has lost
 * every connection with the old one: it puts a TRANSPORT_RESET event on
 * the event queue, on which the driver resets all of its connections.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>

#include "devices/virtio_devs.h"
#include "lib/log.h"
#include "virtio/iov.h"

#define VSOCK_QUEUE_SIZE	256
#define VSOCK_MAX_SEGS		VSOCK_QUEUE_SIZE
#define VSOCK_RXQ		0
#define VSOCK_TXQ		1
#define VSOCK_EVQ		2
#define VSOCK_HOST_CID		2
#define VSOCK_HDR		sizeof(struct virtio_vsock_hdr)
#define VSOCK_BUF_ALLOC		(256 * 1024)
#define VSOCK_MAX_PKT		(64 * 1024)
#define VSOCK_MAX_CONNS		1024
#define VSOCK_BUF_TOTAL		(32u << 20)	/* all connections' buffers */
#define VSOCK_MAX_RST		64
#define VSOCK_HASH		256
#define VSOCK_LOCAL_PORT_BASE	(1u << 30)

enum vconn_state {
	VC_HANDSHAKE,	/* host connected to <uds>, CONNECT line not read */
	VC_CONNECTING,	/* REQUEST to the guest pending or sent */
	VC_ESTABLISHED,
	VC_CLOSING,	/* guest shut down both ways; flushing, then RST */
};

struct vsock;

/**
 * struct vconn - one stream between a guest port and a host Unix socket
 *
 * All fields belong to the I/O thread (or to reset/free while parked).
 *
 * @vs: owner
 * @hnext: next in the hash bucket (connections with ports)
 * @rxnext: next in the list of connections with something for the guest
 * @on_rx: on that list
 * @fd: the host Unix socket
 * @src: @fd in the I/O loop
 * @events: epoll events @src is registered for, 0 when not in the loop
 * @state: enum vconn_state
 * @local_port: host-side port (ours)
 * @peer_port: guest-side port
 * @peer_buf_alloc: guest's receive buffer (from its packets)
 * @peer_fwd_cnt: bytes the guest consumed (from its packets)
 * @tx_cnt: payload bytes sent to the guest
 * @rx_cnt: payload bytes received from the guest
 * @fwd_cnt: of those, bytes written to the host socket
 * @fwd_sent: @fwd_cnt as last told to the guest
 * @need_request: send REQUEST (host-initiated)
 * @need_response: send RESPONSE (guest-initiated, accepted)
 * @need_rst: send RST, then drop the connection
 * @need_credit: send CREDIT_UPDATE
 * @shut_flags: SHUTDOWN flags to send, 0 for none
 * @has_data: the host socket may have data for the guest
 * @host_eof: the host socket said end of file
 * @guest_shut: VIRTIO_VSOCK_SHUTDOWN_* received from the guest
 * @wr_shut: shutdown(SHUT_WR) done on @fd
 * @buf: guest data the host socket did not take yet (ring, lazily made)
 * @buf_head: first byte in @buf
 * @buf_len: bytes in @buf
 */
struct vconn {
	struct vsock *vs;
	struct vconn *hnext;
	struct vconn *rxnext;
	bool on_rx;
	int fd;
	struct vloop_src src;
	uint32_t events;
	enum vconn_state state;
	uint32_t local_port;
	uint32_t peer_port;
	uint32_t peer_buf_alloc;
	uint32_t peer_fwd_cnt;
	uint32_t tx_cnt;
	uint32_t rx_cnt;
	uint32_t fwd_cnt;
	uint32_t fwd_sent;
	bool need_request;
	bool need_response;
	bool need_rst;
	bool need_credit;
	uint32_t shut_flags;
	bool has_data;
	bool host_eof;
	uint32_t guest_shut;
	bool wr_shut;
	uint8_t *buf;
	uint32_t buf_head;
	uint32_t buf_len;
};

struct vrst {
	uint64_t src_cid;
	uint32_t local_port;
	uint32_t peer_port;
};

/**
 * struct vsock - a virtio-vsock device
 * @vd: transport (first member)
 * @cid: the guest's CID (set at creation)
 * @uds: the listening socket's path (set at creation)
 * @lfd: the listening socket
 * @lsrc: @lfd in the loop
 * @lpolled: @lsrc is in the loop
 * @hash: connections with ports, by local and peer port
 * @handshakes: connections still in VC_HANDSHAKE (linked by hnext)
 * @nconns: connections in @hash and @handshakes
 * @rx_head: first connection with something for the guest
 * @rx_tail: last one
 * @rst: resets for packets that match no connection
 * @nr_rst: entries in @rst
 * @next_port: next local port to try for host-initiated connections
 * @rx_iov: segments of the receive buffer being filled
 * @rx: the receive buffer being filled
 * @tx_iov: segments of the packet from the guest being handled
 * @tx: that packet
 * @ev_iov: segments of the event buffer being filled
 * @ev: that buffer
 * @reset_event: a TRANSPORT_RESET event is owed to the driver
 * @buf_total: bytes in the connections' buffers (allocated)
 * @buf_limit: most @buf_total may reach (VSOCK_BUF_TOTAL by default)
 * @buf_refused: connections reset because @buf_limit was reached
 *	(written on the I/O thread, read by vsock_buf_refused(), atomically)
 *
 * All but the first three belong to the I/O thread (or reset/free while
 * parked).
 */
struct vsock {
	struct virtio_dev vd;
	uint64_t cid;
	char *uds;
	int lfd;
	struct vloop_src lsrc;
	bool lpolled;
	struct vconn *hash[VSOCK_HASH];
	struct vconn *handshakes;
	unsigned int nconns;
	struct vconn *rx_head;
	struct vconn *rx_tail;
	struct vrst rst[VSOCK_MAX_RST];
	unsigned int nr_rst;
	uint32_t next_port;
	struct iovec rx_iov[VSOCK_MAX_SEGS];
	struct vq_buf rx;
	struct iovec tx_iov[VSOCK_MAX_SEGS];
	struct vq_buf tx;
	struct iovec ev_iov[VSOCK_MAX_SEGS];
	struct vq_buf ev;
	bool reset_event;
	size_t buf_total;
	size_t buf_limit;
	uint64_t buf_refused;
};

static void conn_cb(struct vloop_src *src, uint32_t events);

static unsigned int vhash(uint32_t local, uint32_t peer)
{
	return (local * 31u + peer * 2654435761u) % VSOCK_HASH;
}

static struct vconn *conn_find(struct vsock *vs, uint32_t local, uint32_t peer)
{
	struct vconn *c;

	for (c = vs->hash[vhash(local, peer)]; c; c = c->hnext)
		if (c->local_port == local && c->peer_port == peer)
			return c;
	return NULL;
}

static bool local_port_used(struct vsock *vs, uint32_t port)
{
	unsigned int i;
	struct vconn *c;

	for (i = 0; i < VSOCK_HASH; i++)
		for (c = vs->hash[i]; c; c = c->hnext)
			if (c->local_port == port)
				return true;
	return false;
}

static void conn_hash_add(struct vsock *vs, struct vconn *c)
{
	unsigned int h = vhash(c->local_port, c->peer_port);

	c->hnext = vs->hash[h];
	vs->hash[h] = c;
}

static void list_unlink(struct vconn **head, struct vconn *c)
{
	struct vconn **p;

	for (p = head; *p; p = &(*p)->hnext) {
		if (*p == c) {
			*p = c->hnext;
			return;
		}
	}
}

static void rx_add(struct vsock *vs, struct vconn *c)
{
	if (c->on_rx)
		return;
	c->on_rx = true;
	c->rxnext = NULL;
	if (vs->rx_tail)
		vs->rx_tail->rxnext = c;
	else
		vs->rx_head = c;
	vs->rx_tail = c;
}

static void rx_remove(struct vsock *vs, struct vconn *c)
{
	struct vconn **p, *prev = NULL;

	if (!c->on_rx)
		return;
	for (p = &vs->rx_head; *p; prev = *p, p = &(*p)->rxnext) {
		if (*p == c) {
			*p = c->rxnext;
			if (vs->rx_tail == c)
				vs->rx_tail = prev;
			break;
		}
	}
	c->on_rx = false;
}

static uint32_t peer_credit(const struct vconn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static bool can_send_data(const struct vconn *c)
{
	return c->state == VC_ESTABLISHED && c->has_data && !c->host_eof &&
	       !(c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_RCV) && peer_credit(c);
}

static bool has_rx_work(const struct vconn *c)
{
	return c->need_rst || c->need_request || c->need_response ||
	       c->shut_flags || c->need_credit || can_send_data(c);
}

static void conn_set_poll(struct vconn *c)
{
	struct vloop *l = c->vs->vd.loop;
	uint32_t want = 0;

	if (c->need_rst)
		want = 0;	/* going away */
	else if (c->state == VC_HANDSHAKE)
		/*
		 * Edge-triggered: part of a CONNECT line stays in the socket
		 * (it is only peeked at) while the rest is awaited, and would
		 * keep a level-triggered source ready, spinning the thread.
		 */
		want = EPOLLIN | EPOLLET;
	else if (c->state == VC_ESTABLISHED && !c->has_data && !c->host_eof &&
		 !(c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_RCV))
		want = EPOLLIN;
	if (c->buf_len && !c->need_rst)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	if (!want)
		vloop_del(l, &c->src);
	else if (!c->events)
		vloop_add(l, &c->src, want);
	else
		vloop_mod(l, &c->src, want);
	c->events = want;
}

static void conn_destroy(struct vsock *vs, struct vconn *c)
{
	if (c->events)
		vloop_del(vs->vd.loop, &c->src);
	rx_remove(vs, c);
	if (c->state == VC_HANDSHAKE)
		list_unlink(&vs->handshakes, c);
	else
		list_unlink(&vs->hash[vhash(c->local_port, c->peer_port)], c);
	close(c->fd);
	if (c->buf)
		vs->buf_total -= VSOCK_BUF_ALLOC;
	free(c->buf);
	free(c);
	vs->nconns--;
}

static void queue_rst(struct vsock *vs, uint64_t src_cid, uint32_t local,
		      uint32_t peer)
{
	if (vs->nr_rst >= VSOCK_MAX_RST)
		return;	/* a reset is a courtesy: drop it rather than grow */
	vs->rst[vs->nr_rst].src_cid = src_cid;
	vs->rst[vs->nr_rst].local_port = local;
	vs->rst[vs->nr_rst].peer_port = peer;
	vs->nr_rst++;
}

/* Reset a connection: RST to the guest, then it goes away. */
static void conn_reset(struct vsock *vs, struct vconn *c)
{
	c->need_rst = true;
	c->has_data = false;
	c->buf_len = 0;
	conn_set_poll(c);
	rx_add(vs, c);
}

static struct vconn *conn_new(struct vsock *vs, int fd, enum vconn_state st)
{
	struct vconn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->vs = vs;
	c->fd = fd;
	c->state = st;
	c->src.fd = fd;
	c->src.fn = conn_cb;
	c->src.arg = c;
	vs->nconns++;
	return c;
}

/* --- guest -> host data ---------------------------------------------------- */

static ssize_t sock_sendv(int fd, const struct iovec *iov, unsigned int n)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
	ssize_t w;

	do {
		w = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (w < 0 && errno == EINTR);
	if (w < 0 && errno == EAGAIN)
		return 0;
	return w;
}

static void note_forwarded(struct vsock *vs, struct vconn *c, uint32_t n)
{
	c->fwd_cnt += n;
	if (c->fwd_cnt - c->fwd_sent >= VSOCK_BUF_ALLOC / 4) {
		c->need_credit = true;
		rx_add(vs, c);
	}
}

/* Shut down or close the host side once buffered data is written. */
static void conn_after_flush(struct vsock *vs, struct vconn *c)
{
	if (c->buf_len)
		return;
	if (c->state == VC_CLOSING) {
		conn_reset(vs, c);
		return;
	}
	if ((c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) && !c->wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->wr_shut = true;
	}
}

static void conn_flush(struct vsock *vs, struct vconn *c)
{
	while (c->buf_len) {
		struct iovec v[2];
		uint32_t first = VSOCK_BUF_ALLOC - c->buf_head;
		unsigned int n = 1;
		ssize_t w;

		v[0].iov_base = c->buf + c->buf_head;
		v[0].iov_len = first < c->buf_len ? first : c->buf_len;
		if (c->buf_len > first) {
			v[1].iov_base = c->buf;
			v[1].iov_len = c->buf_len - first;
			n = 2;
		}
		w = sock_sendv(c->fd, v, n);
		if (w < 0) {
			conn_reset(vs, c);
			return;
		}
		if (!w)
			break;
		c->buf_head = (c->buf_head + w) % VSOCK_BUF_ALLOC;
		c->buf_len -= w;
		note_forwarded(vs, c, w);
	}
	if (!c->buf_len && c->buf) {
		/* Drained: give the memory back to the other connections. */
		free(c->buf);
		c->buf = NULL;
		c->buf_head = 0;
		vs->buf_total -= VSOCK_BUF_ALLOC;
	}
	conn_after_flush(vs, c);
	conn_set_poll(c);
}

/* Payload of an RW packet: straight to the socket, the rest buffered. */
static void conn_write(struct vsock *vs, struct vconn *c, uint32_t len)
{
	struct iovec part[VSOCK_MAX_SEGS];
	size_t got, off = VSOCK_HDR;
	unsigned int k;
	ssize_t w = 0;

	/*
	 * The guest may send what we last said we had room for: fwd_sent
	 * (<= fwd_cnt) bounds what it can know, and so what we buffer.
	 */
	if (c->rx_cnt - c->fwd_sent + len > VSOCK_BUF_ALLOC) {
		log_debug("virtio-vsock: guest port %u overran its credit; resetting",
			  c->peer_port);
		conn_reset(vs, c);
		return;
	}
	c->rx_cnt += len;
	if (!c->buf_len) {
		k = iov_slice(vs->tx.iov, vs->tx.nr_out, off, len, part,
			      VSOCK_MAX_SEGS, &got);
		w = sock_sendv(c->fd, part, k);
		if (w < 0) {
			conn_reset(vs, c);
			return;
		}
		note_forwarded(vs, c, w);
	}
	if ((uint32_t)w < len) {
		uint32_t rest = len - w, tail, first;

		if (!c->buf) {
			/*
			 * Every connection may be owed 256 KiB; all of them
			 * together may not: past buf_limit the connection
			 * whose host program does not keep up is reset.
			 */
			if (vs->buf_total + VSOCK_BUF_ALLOC > vs->buf_limit) {
				if (!__atomic_fetch_add(&vs->buf_refused, 1,
							__ATOMIC_RELAXED))
					log_warn("virtio-vsock: %zu bytes of connection buffers in use; resetting connections whose host programs do not read (counted)",
						 vs->buf_total);
				conn_reset(vs, c);
				return;
			}
			c->buf = malloc(VSOCK_BUF_ALLOC);
			if (!c->buf) {
				conn_reset(vs, c);
				return;
			}
			vs->buf_total += VSOCK_BUF_ALLOC;
		}
		tail = (c->buf_head + c->buf_len) % VSOCK_BUF_ALLOC;
		first = VSOCK_BUF_ALLOC - tail;
		if (first > rest)
			first = rest;
		iov_to_buf(vs->tx.iov, vs->tx.nr_out, off + w, c->buf + tail, first);
		iov_to_buf(vs->tx.iov, vs->tx.nr_out, off + w + first, c->buf,
			   rest - first);
		c->buf_len += rest;
	}
	conn_after_flush(vs, c);
	conn_set_poll(c);
}

/* --- host -> guest packets --------------------------------------------- */

static void hdr_fill(struct vsock *vs, struct virtio_vsock_hdr *h,
		     uint64_t src_cid, uint32_t local, uint32_t peer, uint16_t op,
		     uint32_t len, uint32_t flags, uint32_t fwd_cnt)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = htole64(src_cid);
	h->dst_cid = htole64(vs->cid);
	h->src_port = htole32(local);
	h->dst_port = htole32(peer);
	h->len = htole32(len);
	h->type = htole16(VIRTIO_VSOCK_TYPE_STREAM);
	h->op = htole16(op);
	h->flags = htole32(flags);
	h->buf_alloc = htole32(VSOCK_BUF_ALLOC);
	h->fwd_cnt = htole32(fwd_cnt);
}

/*
 * The next packet of c into the receive buffer vs->rx.  Returns its total
 * length, or 0 when c has nothing to send after all.  *dead is set when c
 * must go away once the packet is pushed.
 */
static uint32_t conn_packet(struct vsock *vs, struct vconn *c, bool *dead)
{
	struct iovec *in = vq_buf_in(&vs->rx);
	struct virtio_vsock_hdr h;
	uint32_t len = 0, flags = 0;
	uint16_t op;

	*dead = false;
	for (;;) {
		if (c->need_rst) {
			op = VIRTIO_VSOCK_OP_RST;
			*dead = true;
		} else if (c->need_request) {
			op = VIRTIO_VSOCK_OP_REQUEST;
			c->need_request = false;
		} else if (c->need_response) {
			op = VIRTIO_VSOCK_OP_RESPONSE;
			c->need_response = false;
		} else if (can_send_data(c)) {
			struct iovec part[VSOCK_MAX_SEGS];
			uint32_t room = vs->rx.in_len - VSOCK_HDR;
			uint32_t want = peer_credit(c);
			unsigned int k;
			ssize_t r;

			if (want > room)
				want = room;
			if (want > VSOCK_MAX_PKT)
				want = VSOCK_MAX_PKT;
			if (!want)
				return 0;
			k = iov_slice(in, vs->rx.nr_in, VSOCK_HDR, want, part,
				      VSOCK_MAX_SEGS, NULL);
			do {
				r = readv(c->fd, part, k);
			} while (r < 0 && errno == EINTR);
			if (r > 0) {
				op = VIRTIO_VSOCK_OP_RW;
				len = r;
				c->tx_cnt += r;
			} else if (r == 0) {
				/* The host program is done sending. */
				c->host_eof = true;
				c->has_data = false;
				c->shut_flags |= VIRTIO_VSOCK_SHUTDOWN_SEND;
				conn_set_poll(c);
				continue;
			} else if (errno == EAGAIN) {
				c->has_data = false;
				conn_set_poll(c);
				continue;
			} else {
				c->need_rst = true;
				continue;
			}
		} else if (c->shut_flags) {
			op = VIRTIO_VSOCK_OP_SHUTDOWN;
			flags = c->shut_flags;
			c->shut_flags = 0;
		} else if (c->need_credit) {
			op = VIRTIO_VSOCK_OP_CREDIT_UPDATE;
		} else {
			return 0;
		}
		break;
	}
	c->need_credit = false;
	c->fwd_sent = c->fwd_cnt;
	hdr_fill(vs, &h, VSOCK_HOST_CID, c->local_port, c->peer_port, op, len,
		 flags, c->fwd_cnt);
	iov_from_buf(in, vs->rx.nr_in, 0, &h, sizeof(h));
	return VSOCK_HDR + len;
}

/* Fill receive buffers with whatever the connections have for the guest. */
static void vsock_rx(struct vsock *vs)
{
	struct virtio_dev *vd = &vs->vd;
	struct virtqueue *vq = virtio_dev_vq(vd, VSOCK_RXQ);
	bool pushed = false;

	while (vs->nr_rst || vs->rx_head) {
		struct vconn *c;
		uint32_t len;
		bool dead;

		if (virtio_dev_pop(vd, VSOCK_RXQ, &vs->rx) <= 0)
			break;
		if (vs->rx.in_len < VSOCK_HDR) {
			/* Cannot hold a header: hand it back unused. */
			vq_push(vq, vs->rx.head, 0);
			pushed = true;
			continue;
		}
		if (vs->nr_rst) {
			struct vrst *r = &vs->rst[--vs->nr_rst];
			struct virtio_vsock_hdr h;

			hdr_fill(vs, &h, r->src_cid, r->local_port, r->peer_port,
				 VIRTIO_VSOCK_OP_RST, 0, 0, 0);
			iov_from_buf(vq_buf_in(&vs->rx), vs->rx.nr_in, 0, &h, sizeof(h));
			vq_push(vq, vs->rx.head, VSOCK_HDR);
			pushed = true;
			continue;
		}
		c = vs->rx_head;
		len = conn_packet(vs, c, &dead);
		if (!len) {
			vq_unpop(vq);
			rx_remove(vs, c);
			continue;
		}
		vq_push(vq, vs->rx.head, len);
		pushed = true;
		rx_remove(vs, c);
		if (dead)
			conn_destroy(vs, c);
		else if (has_rx_work(c))
			rx_add(vs, c);	/* to the back: take turns */
	}
	if (pushed)
		virtio_dev_signal(vd, VSOCK_RXQ);
}

/* --- packets from the guest ------------------------------------------------ */

static void guest_request(struct vsock *vs, const struct virtio_vsock_hdr *h,
			  uint32_t local, uint32_t peer)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vconn *c;
	int fd;

	if (conn_find(vs, local, peer) || vs->nconns >= VSOCK_MAX_CONNS) {
		queue_rst(vs, VSOCK_HOST_CID, local, peer);
		return;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", vs->uds, local);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		log_debug("virtio-vsock: guest port %u -> host port %u: %s: %s",
			  peer, local, sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		queue_rst(vs, VSOCK_HOST_CID, local, peer);
		return;
	}
	c = conn_new(vs, fd, VC_ESTABLISHED);
	if (!c) {
		close(fd);
		queue_rst(vs, VSOCK_HOST_CID, local, peer);
		return;
	}
	c->local_port = local;
	c->peer_port = peer;
	c->peer_buf_alloc = le32toh(h->buf_alloc);
	c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	c->need_response = true;
	conn_hash_add(vs, c);
	conn_set_poll(c);
	rx_add(vs, c);
}

static void guest_response(struct vsock *vs, struct vconn *c)
{
	char line[32];
	int n;

	if (c->state != VC_CONNECTING) {
		conn_reset(vs, c);
		return;
	}
	c->state = VC_ESTABLISHED;
	n = snprintf(line, sizeof(line), "OK %u\n", c->local_port);
	if (send(c->fd, line, n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
		conn_reset(vs, c);
		return;
	}
	conn_set_poll(c);
}

static void guest_shutdown(struct vsock *vs, struct vconn *c, uint32_t flags)
{
	c->guest_shut |= flags & (VIRTIO_VSOCK_SHUTDOWN_RCV |
				  VIRTIO_VSOCK_SHUTDOWN_SEND);
	if ((c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_RCV) &&
	    (c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_SEND))
		c->state = VC_CLOSING;	/* flush, then RST */
	conn_after_flush(vs, c);
	if (!c->need_rst)
		conn_set_poll(c);
}

static void guest_packet(struct vsock *vs)
{
	struct virtio_vsock_hdr h;
	uint32_t local, peer, len;
	struct vconn *c;
	uint16_t op;

	if (iov_to_buf(vs->tx.iov, vs->tx.nr_out, 0, &h, sizeof(h)) != sizeof(h))
		return;		/* no header: drop */
	if (le64toh(h.src_cid) != vs->cid)
		return;		/* spoofed source: drop */
	local = le32toh(h.dst_port);
	peer = le32toh(h.src_port);
	len = le32toh(h.len);
	op = le16toh(h.op);
	if (len > vs->tx.out_len - VSOCK_HDR || len > VSOCK_MAX_PKT)
		return;		/* payload not all there: drop */
	if (le64toh(h.dst_cid) != VSOCK_HOST_CID) {
		/* No other VMs here: refuse at once rather than time out. */
		if (op == VIRTIO_VSOCK_OP_REQUEST)
			queue_rst(vs, le64toh(h.dst_cid), local, peer);
		return;
	}
	if (le16toh(h.type) != VIRTIO_VSOCK_TYPE_STREAM) {
		if (op != VIRTIO_VSOCK_OP_RST)
			queue_rst(vs, VSOCK_HOST_CID, local, peer);
		return;
	}
	if (op == VIRTIO_VSOCK_OP_REQUEST) {
		guest_request(vs, &h, local, peer);
		return;
	}
	c = conn_find(vs, local, peer);
	if (!c || c->need_rst) {
		if (op != VIRTIO_VSOCK_OP_RST && !c)
			queue_rst(vs, VSOCK_HOST_CID, local, peer);
		return;
	}
	c->peer_buf_alloc = le32toh(h.buf_alloc);
	c->peer_fwd_cnt = le32toh(h.fwd_cnt);
	switch (op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		guest_response(vs, c);
		break;
	case VIRTIO_VSOCK_OP_RST:
		conn_destroy(vs, c);
		return;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		guest_shutdown(vs, c, le32toh(h.flags));
		break;
	case VIRTIO_VSOCK_OP_RW:
		if (c->state != VC_ESTABLISHED ||
		    (c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_SEND)) {
			conn_reset(vs, c);
			return;
		}
		if (len)
			conn_write(vs, c, len);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->need_credit = true;
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break;
	default:
		conn_reset(vs, c);
		return;
	}
	/* New credit may let waiting host data through. */
	if (has_rx_work(c))
		rx_add(vs, c);
}

static void vsock_tx(struct vsock *vs)
{
	struct virtio_dev *vd = &vs->vd;
	bool pushed = false;

	while (virtio_dev_pop(vd, VSOCK_TXQ, &vs->tx) > 0) {
		guest_packet(vs);
		vq_push(virtio_dev_vq(vd, VSOCK_TXQ), vs->tx.head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_dev_signal(vd, VSOCK_TXQ);
}

/* --- host sockets ---------------------------------------------------------- */

/* Read "CONNECT <port>\n" without taking a byte of the stream after it. */
static void conn_handshake(struct vsock *vs, struct vconn *c)
{
	char line[40], *nl, *end;
	unsigned long port;
	ssize_t n;

	n = recv(c->fd, line, sizeof(line) - 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0)
		goto refuse;
	line[n] = '\0';
	nl = memchr(line, '\n', n);
	if (!nl) {
		if (n == sizeof(line) - 1)
			goto refuse;	/* too long to be a CONNECT line */
		return;		/* wait for the rest */
	}
	if (recv(c->fd, line, nl - line + 1, MSG_DONTWAIT) != nl - line + 1)
		goto refuse;
	*nl = '\0';
	if (nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	if (strncmp(line, "CONNECT ", 8) || line[8] < '0' || line[8] > '9')
		goto refuse;
	errno = 0;
	port = strtoul(line + 8, &end, 10);
	if (*end || errno || port > UINT32_MAX)
		goto refuse;

	list_unlink(&vs->handshakes, c);
	do {
		vs->next_port++;
		if (vs->next_port < VSOCK_LOCAL_PORT_BASE)
			vs->next_port = VSOCK_LOCAL_PORT_BASE;
	} while (local_port_used(vs, vs->next_port));
	c->local_port = vs->next_port;
	c->peer_port = port;
	c->state = VC_CONNECTING;
	c->need_request = true;
	conn_hash_add(vs, c);
	conn_set_poll(c);
	rx_add(vs, c);
	return;
refuse:
	log_debug("virtio-vsock: a host connection did not send CONNECT <port>; closed");
	conn_destroy(vs, c);
}

static void conn_cb(struct vloop_src *src, uint32_t events)
{
	struct vconn *c = src->arg;
	struct vsock *vs = c->vs;

	if (!virtio_dev_running(&vs->vd))
		return;
	if (c->state == VC_HANDSHAKE) {
		conn_handshake(vs, c);
	} else {
		if (events & EPOLLOUT)
			conn_flush(vs, c);
		if (!c->need_rst && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
			if (c->state == VC_ESTABLISHED &&
			    !(c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_RCV)) {
				c->has_data = true;
			} else if (events & (EPOLLHUP | EPOLLERR)) {
				c->need_rst = true;	/* the host side is gone */
			}
			conn_set_poll(c);
			rx_add(vs, c);
		}
	}
	vsock_rx(vs);
}

static void listen_cb(struct vloop_src *src, uint32_t events)
{
	struct vsock *vs = src->arg;
	struct vconn *c;
	int fd;

	if (!virtio_dev_running(&vs->vd))
		return;
	while ((fd = accept4(vs->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (vs->nconns >= VSOCK_MAX_CONNS ||
		    !(c = conn_new(vs, fd, VC_HANDSHAKE))) {
			close(fd);
			continue;
		}
		c->hnext = vs->handshakes;
		vs->handshakes = c;
		conn_set_poll(c);
	}
}

/* --- device ------------------------------------------------------------------ */

/* The owed TRANSPORT_RESET, once the driver has an event buffer for it. */
static void vsock_evq(struct vsock *vs)
{
	struct virtio_dev *vd = &vs->vd;
	struct virtio_vsock_event ev = {
		.id = htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET),
	};

	while (vs->reset_event && virtio_dev_pop(vd, VSOCK_EVQ, &vs->ev) > 0) {
		size_t n = 0;

		if (vs->ev.in_len >= sizeof(ev)) {
			n = iov_from_buf(vq_buf_in(&vs->ev), vs->ev.nr_in, 0, &ev,
					 sizeof(ev));
			vs->reset_event = false;
		}
		/* A buffer too small for an event goes back unused. */
		vq_push(virtio_dev_vq(vd, VSOCK_EVQ), vs->ev.head, n);
		virtio_dev_signal(vd, VSOCK_EVQ);
	}
}

static void vsock_notify(struct virtio_dev *vd, unsigned int q)
{
	struct vsock *vs = (struct vsock *)vd;

	if (q == VSOCK_EVQ)
		vsock_evq(vs);
	if (q == VSOCK_TXQ)
		vsock_tx(vs);
	/* Receive buffers (or replies to the packets just handled). */
	vsock_rx(vs);
}

static int vsock_start(struct virtio_dev *vd)
{
	struct vsock *vs = (struct vsock *)vd;

	if (!vs->lpolled && !vloop_add(vd->loop, &vs->lsrc, EPOLLIN))
		vs->lpolled = true;
	return 0;
}

static void vsock_resume(struct virtio_dev *vd)
{
	struct vsock *vs = (struct vsock *)vd;

	/* Sent when the event queue is kicked, as every queue is now. */
	vs->reset_event = true;
}

static void vsock_drop_all(struct vsock *vs)
{
	unsigned int i;

	while (vs->handshakes)
		conn_destroy(vs, vs->handshakes);
	for (i = 0; i < VSOCK_HASH; i++)
		while (vs->hash[i])
			conn_destroy(vs, vs->hash[i]);
	vs->nr_rst = 0;
}

static void vsock_reset(struct virtio_dev *vd)
{
	struct vsock *vs = (struct vsock *)vd;

	/* The guest forgot every connection: so do we. */
	vsock_drop_all(vs);
	vs->reset_event = false;
	if (vs->lpolled) {
		vloop_del(vd->loop, &vs->lsrc);
		vs->lpolled = false;
	}
}

static void vsock_free(struct virtio_dev *vd)
{
	struct vsock *vs = (struct vsock *)vd;
	unsigned int i;
	struct vconn *c;

	/* The loop is stopped: no need to remove sources from it. */
	for (i = 0; i < VSOCK_HASH; i++)
		for (c = vs->hash[i]; c; c = c->hnext)
			c->events = 0;
	for (c = vs->handshakes; c; c = c->hnext)
		c->events = 0;
	vsock_drop_all(vs);
	if (vs->lfd >= 0) {
		close(vs->lfd);
		unlink(vs->uds);
	}
	free(vs->uds);
	free(vs);
}

/*
 * A takeover that fails what the guest asked before: the connections are
 * gone with the old process (the driver gets TRANSPORT_RESET), so a
 * packet of that time is answered with a reset, never acted upon: a
 * connection request is refused rather than made late.  Receive and event
 * buffers stay (the event queue's carries the TRANSPORT_RESET).
 */
static enum virtio_fail_result vsock_fail_request(struct virtio_dev *vd,
						  unsigned int q,
						  const struct vq_buf *b,
						  uint32_t *len)
{
	struct vsock *vs = (struct vsock *)vd;
	struct virtio_vsock_hdr h;

	if (q != VSOCK_TXQ)
		return VIRTIO_FAIL_KEEP;
	*len = 0;
	if (iov_to_buf(b->iov, b->nr_out, 0, &h, sizeof(h)) == sizeof(h) &&
	    le64toh(h.src_cid) == vs->cid &&
	    le16toh(h.op) != VIRTIO_VSOCK_OP_RST)
		queue_rst(vs, le64toh(h.dst_cid), le32toh(h.dst_port),
			  le32toh(h.src_port));
	return VIRTIO_FAIL_DONE;
}

static const struct virtio_dev_ops vsock_ops = {
	.queue_notify = vsock_notify,
	.start = vsock_start,
	.reset = vsock_reset,
	.resume = vsock_resume,
	.fail_request = vsock_fail_request,
	.free = vsock_free,
};

static int vsock_listen(struct vsock *vs)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(vs->uds) + 12 > sizeof(sa.sun_path)) {
		log_error("virtio-vsock: socket path '%s' is too long (at most %zu characters)",
			  vs->uds, sizeof(sa.sun_path) - 12);
		return -1;
	}
	strcpy(sa.sun_path, vs->uds);
	if (!lstat(vs->uds, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("virtio-vsock: '%s' exists and is not a socket; choose another uds= path",
				  vs->uds);
			return -1;
		}
		/* A stale socket from an earlier run. */
		unlink(vs->uds);
	}
	vs->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (vs->lfd < 0 ||
	    bind(vs->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(vs->lfd, 64)) {
		log_errno("virtio-vsock: cannot listen on '%s' (does its directory exist and is it writable?)",
			  vs->uds);
		if (vs->lfd >= 0)
			close(vs->lfd);
		vs->lfd = -1;
		return -1;
	}
	return 0;
}

void vsock_set_buf_limit(struct virtio_dev *vd, size_t bytes)
{
	((struct vsock *)vd)->buf_limit = bytes;
}

uint64_t vsock_buf_refused(struct virtio_dev *vd)
{
	return __atomic_load_n(&((struct vsock *)vd)->buf_refused, __ATOMIC_RELAXED);
}

struct virtio_dev *vsock_new(uint64_t cid, const char *uds)
{
	static const struct virtio_dev_info info = {
		.name = "virtio-vsock",
		.device_id = VIRTIO_ID_VSOCK,
		.pci_class = 0xff0000,
		.num_queues = 3,
		.queue_size = VSOCK_QUEUE_SIZE,
		.config_size = sizeof(struct virtio_vsock_config),
	};
	struct virtio_vsock_config cfg;
	struct vsock *vs;
	int ret;

	if (cid < 3 || cid > 0xfffffffeull) {
		log_error("virtio-vsock: %llu is not a guest CID (3 to 4294967294)",
			  (unsigned long long)cid);
		return NULL;
	}
	vs = calloc(1, sizeof(*vs));
	if (!vs || !(vs->uds = strdup(uds))) {
		log_error("virtio-vsock: out of memory");
		free(vs);
		return NULL;
	}
	vs->cid = cid;
	vs->lfd = -1;
	vs->buf_limit = VSOCK_BUF_TOTAL;
	vs->next_port = VSOCK_LOCAL_PORT_BASE;
	vs->rx.iov = vs->rx_iov;
	vs->rx.cap = VSOCK_MAX_SEGS;
	vs->tx.iov = vs->tx_iov;
	vs->tx.cap = VSOCK_MAX_SEGS;
	vs->ev.iov = vs->ev_iov;
	vs->ev.cap = VSOCK_MAX_SEGS;
	if (vsock_listen(vs))
		goto fail;
	vs->lsrc.fd = vs->lfd;
	vs->lsrc.fn = listen_cb;
	vs->lsrc.arg = vs;
	ret = virtio_dev_init(&vs->vd, &vsock_ops, &info);
	if (ret) {
		log_error("virtio-vsock: cannot create the device: %s", strerror(-ret));
		close(vs->lfd);
		unlink(vs->uds);
		goto fail;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.guest_cid = htole64(cid);
	memcpy(vs->vd.config, &cfg, sizeof(cfg));
	return &vs->vd;
fail:
	free(vs->uds);
	free(vs);
	return NULL;
}
