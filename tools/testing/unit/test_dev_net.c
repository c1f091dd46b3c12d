// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/devices/net.c: on a datagram socketpair standing in
 * for the tap (transmit, receive with and without mergeable buffers, flow
 * control, malformed buffers), then on a real tap created and configured
 * by the device, with UDP traffic to and from the host stack (skipped
 * without CAP_NET_ADMIN).
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "devices/virtio_devs.h"
#include "tap.h"
#include "vtest.h"

#define DEVFN	PCI_DEVFN(4, 0)
#define HDR	12

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };

struct ndev {
	struct vt_host *vh;
	struct pci_bus *bus;
	struct virtio_dev *vd;
	struct vt_dev d;
	int peer;
};

/* The device, its driver up with nq queues. */
static int ndev_up_nq(struct ndev *n, const struct net_cfg *c, uint64_t features,
		      unsigned int nq)
{
	n->vh = vt_host_new();
	n->bus = pci_bus_new(&n->vh->host);
	n->vd = net_new(c);
	if (!n->vd)
		return -1;
	pci_bus_add(n->bus, DEVFN, &n->vd->func);
	virtio_dev_start(n->vd);
	vt_probe(&n->d, n->vh, n->bus, DEVFN, 0xc0000000);
	return vt_bringup(&n->d, features, nq);
}

static int ndev_up(struct ndev *n, const struct net_cfg *c, uint64_t features)
{
	return ndev_up_nq(n, c, features, 2);
}

static void ndev_down(struct ndev *n)
{
	pci_bus_free(n->bus);
	vt_host_free(n->vh);
}

/* One buffer on queue q: writable (a receive buffer) or not (a frame to send). */
static void post_buf(struct ndev *n, unsigned int q, uint64_t gpa, uint32_t len,
		     bool write)
{
	struct vt_seg seg = { gpa, len, write };

	vt_add(&n->d, q, &seg, 1);
	vt_kick(&n->d, q);
}

static void post_rx(struct ndev *n, uint64_t gpa, uint32_t len)
{
	post_buf(n, 0, gpa, len, true);
}

static void test_socketpair(bool mrg)
{
	const char *tag = mrg ? "net(mrg)" : "net";
	struct net_cfg c = { .fd = -1, .has_mac = true };
	struct ndev n;
	int sv[2];
	uint8_t pkt[2048], got[2048];
	uint64_t tx, rx1, rx2, rx3;
	uint32_t id, len, len2;
	char msg[128];
	ssize_t r;

#define T(s) (snprintf(msg, sizeof(msg), "%s: %s", tag, s), msg)
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv))
		return;
	memcpy(c.mac, guest_mac, 6);
	c.fd = sv[0];
	n.peer = sv[1];
	TAP_EQ_INT(ndev_up(&n, &c, (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS) |
			   (mrg ? 1ull << VIRTIO_NET_F_MRG_RXBUF : 0)), 0, T("driver up"));
	TAP_EQ_INT(vt_cfg(&n.d, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_NET, T("device id 0x1041"));
	TAP_CHECK(vt_rd(&n.d, n.d.device, 4) == 0xaa005452u &&
		  vt_rd(&n.d, n.d.device + 4, 2) == 0xccbb, T("MAC in config space"));
	TAP_EQ_INT(vt_rd(&n.d, n.d.device + 6, 2), VIRTIO_NET_S_LINK_UP, T("link up"));

	/* Transmit: header and frame in two descriptors -> one datagram. */
	tx = vt_alloc(n.vh, 2048, 8);
	memset(vt_ptr(n.vh, tx), 0, HDR);
	memset(vt_ptr(n.vh, tx + 64), 0x42, 60);
	{
		struct vt_seg seg[2] = { { tx, HDR, false }, { tx + 64, 60, false } };

		vt_add(&n.d, 1, seg, 2);
	}
	vt_kick(&n.d, 1);
	TAP_EQ_INT(vt_wait_used(&n.d, 1, &id, &len), 1, T("tx: chain used"));
	r = recv(n.peer, got, sizeof(got), 0);
	TAP_CHECK(r == HDR + 60 && got[HDR] == 0x42 && got[HDR + 59] == 0x42,
		  T("tx: one datagram with header and frame"));
	{
		struct vt_seg seg = { tx, HDR, false };

		vt_add(&n.d, 1, &seg, 1);
	}
	vt_kick(&n.d, 1);
	TAP_EQ_INT(vt_wait_used(&n.d, 1, &id, &len), 1, T("tx: header-only chain used"));
	TAP_CHECK(recv(n.peer, got, sizeof(got), 0) < 0 && errno == EAGAIN,
		  T("tx: header-only chain not sent"));

	/* Receive. */
	memset(pkt, 0, HDR);
	memset(pkt + HDR, 0x37, 100);
	rx1 = vt_alloc(n.vh, 2048, 8);
	rx2 = vt_alloc(n.vh, 2048, 8);
	rx3 = vt_alloc(n.vh, 2048, 8);
	if (send(n.peer, pkt, HDR + 100, 0) != HDR + 100)
		return;
	vt_msleep(30);
	TAP_EQ_INT(vt_used_pending(&n.d, 0), 0, T("rx: frame waits without buffers"));
	if (mrg) {
		post_rx(&n, rx1, 64);
		vt_msleep(30);
		TAP_EQ_INT(vt_used_pending(&n.d, 0), 0,
			   T("rx: one 64-byte buffer is not enough for 112 bytes"));
		post_rx(&n, rx2, 64);
		TAP_EQ_INT(vt_wait_used(&n.d, 0, &id, &len), 1, T("rx: first buffer"));
		TAP_EQ_INT(vt_wait_used(&n.d, 0, NULL, &len2), 1, T("rx: second buffer"));
		TAP_CHECK(len == 64 && len2 == 48, T("rx: 64 + 48 bytes"));
		TAP_EQ_INT(le16toh(((struct virtio_net_hdr_mrg_rxbuf *)vt_ptr(n.vh, rx1))->num_buffers),
			   2, T("rx: num_buffers = 2"));
		TAP_CHECK(((uint8_t *)vt_ptr(n.vh, rx2))[47] == 0x37, T("rx: tail in buffer 2"));
	} else {
		post_rx(&n, rx1, 64);
		TAP_EQ_INT(vt_wait_used(&n.d, 0, &id, &len), 1, T("rx: small buffer used"));
		TAP_EQ_INT(len, 0, T("rx: frame larger than the buffer dropped"));
		if (send(n.peer, pkt, HDR + 100, 0) != HDR + 100)
			return;
		post_rx(&n, rx2, 1600);
		TAP_EQ_INT(vt_wait_used(&n.d, 0, &id, &len), 1, T("rx: big buffer used"));
		TAP_EQ_INT(len, HDR + 100, T("rx: whole frame"));
		TAP_EQ_INT(le16toh(((struct virtio_net_hdr_mrg_rxbuf *)vt_ptr(n.vh, rx2))->num_buffers),
			   1, T("rx: num_buffers = 1"));
	}
	{
		struct net_stats st;

		net_get_stats(n.vd, &st);
		TAP_EQ_INT(st.rx_bounced, 1,
			   T("rx: only the frame longer than its first buffer went through the bounce buffer"));
	}
	/*
	 * Zero copy: a frame that fits its first buffer is read straight
	 * into it, here a chain of two segments with the header split
	 * between them (num_buffers in the second).
	 */
	{
		struct vt_seg seg[2] = { { rx3, 6, true }, { rx3 + 64, 1600, true } };
		struct net_stats before, after;
		uint8_t *g = vt_ptr(n.vh, rx3);

		net_get_stats(n.vd, &before);
		memset(g, 0xee, 64 + 1600);
		for (int i = 0; i < 200; i++)
			pkt[HDR + i] = (uint8_t)(i * 7 + 1);
		vt_add(&n.d, 0, seg, 2);
		vt_kick(&n.d, 0);
		vt_msleep(10);
		if (send(n.peer, pkt, HDR + 200, 0) != HDR + 200)
			return;
		TAP_CHECK(vt_wait_used(&n.d, 0, &id, &len) && len == HDR + 200,
			  T("rx: frame into a two-segment chain, whole"));
		TAP_CHECK(!memcmp(g, pkt, 6) && !memcmp(g + 64, pkt + 6, 4) &&
			  le16toh(*(uint16_t *)(g + 64 + 4)) == 1 &&
			  !memcmp(g + 64 + 6, pkt + HDR, 200) && g[64 + 6 + 200] == 0xee,
			  T("rx: header split across the segments, num_buffers = 1, data in place, nothing past it"));
		net_get_stats(n.vd, &after);
		TAP_EQ_INT(after.rx_bounced - before.rx_bounced, 0,
			   T("rx: a frame that fits its first buffer is not bounced"));
		memset(pkt + HDR, 0x37, 200);
	}
	/* Buffer first, frame later. */
	post_rx(&n, rx3, 1600);
	vt_msleep(10);
	if (send(n.peer, pkt, HDR + 10, 0) != HDR + 10)
		return;
	TAP_CHECK(vt_wait_used(&n.d, 0, &id, &len) && len == HDR + 10,
		  T("rx: frame into a waiting buffer"));
	/* A first buffer smaller than the header. */
	post_rx(&n, rx1, 8);
	if (send(n.peer, pkt, HDR + 10, 0) != HDR + 10)
		return;
	TAP_CHECK(vt_wait_used(&n.d, 0, &id, &len) && len == 0,
		  T("rx: buffer smaller than the header returned empty"));
	/* Runt datagram (no full header) is skipped. */
	post_rx(&n, rx1, 1600);
	if (send(n.peer, pkt, 5, 0) != 5 || send(n.peer, pkt, HDR + 20, 0) != HDR + 20)
		return;
	TAP_CHECK(vt_wait_used(&n.d, 0, &id, &len) && len == HDR + 20,
		  T("rx: runt skipped, next frame delivered"));

	if (mrg) {
		struct net_stats st;
		uint8_t big[5000];
		uint64_t tiny[256];
		unsigned int i;

		/*
		 * A frame that needs more buffers than the ring can ever hold
		 * (256 buffers of 16 bytes: 4,096 bytes) is dropped and
		 * counted, and the next frame goes into the same buffers.
		 */
		for (i = 0; i < 256; i++) {
			struct vt_seg seg;

			tiny[i] = vt_alloc(n.vh, 16, 8);
			seg = (struct vt_seg){ tiny[i], 16, true };
			vt_add(&n.d, 0, &seg, 1);
		}
		memset(big, 0, HDR);
		memset(big + HDR, 0x61, sizeof(big) - HDR);
		if (send(n.peer, big, sizeof(big), 0) != (ssize_t)sizeof(big) ||
		    send(n.peer, pkt, HDR + 4, 0) != HDR + 4)
			return;
		vt_kick(&n.d, 0);
		TAP_CHECK(vt_wait_used(&n.d, 0, &id, &len) && len == HDR + 4,
			  T("rx: a frame larger than the whole ring is dropped, the next delivered"));
		net_get_stats(n.vd, &st);
		TAP_EQ_INT(st.rx_no_room, 1, T("rx: the drop is counted"));
		TAP_EQ_INT(st.rx_oversize, 0, T("rx: no oversize drop counted"));
		/* Leave the ring with no buffers: consume the rest by frames. */
		for (i = 1; i < 256; i++)
			if (send(n.peer, pkt, HDR + 4, 0) != HDR + 4)
				break;
		for (i = 1; i < 256; i++)
			if (!vt_wait_used(&n.d, 0, NULL, NULL))
				break;
		TAP_EQ_INT(i, 256, T("rx: the ring's other buffers used by later frames"));
	}

	/* Reset with a frame pending, then traffic again. */
	if (send(n.peer, pkt, HDR + 30, 0) != HDR + 30)
		return;
	vt_msleep(20);
	TAP_EQ_INT(vt_bringup(&n.d, (1ull << VIRTIO_NET_F_MAC) |
			      (mrg ? 1ull << VIRTIO_NET_F_MRG_RXBUF : 0), 2), 0,
		   T("reset and up again"));
	post_rx(&n, vt_alloc(n.vh, 2048, 8), 1600);
	if (send(n.peer, pkt, HDR + 40, 0) != HDR + 40)
		return;
	TAP_CHECK(vt_wait_used(&n.d, 0, &id, &len) && (len == HDR + 40 || len == HDR + 30),
		  T("rx: works after reset"));
	ndev_down(&n);
	close(sv[1]);
#undef T
}

static uint16_t ip_csum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (b[i] << 8) | b[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum);
}

static bool has_cap_net_admin(void)
{
	int fd = open("/dev/net/tun", O_RDWR);
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	bool ok;

	if (fd < 0)
		return false;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "vbprobe%%d");
	ok = ioctl(fd, TUNSETIFF, &ifr) == 0;
	close(fd);
	return ok;
}

static void test_tap(void)
{
	struct net_cfg c = { .fd = -1, .has_ip = true, .has_mac = true };
	struct ndev n;
	struct ifreq ifr;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { 5, 0 };
	uint8_t frame[128];
	uint64_t tx;
	uint32_t id, len;
	char got[16];
	int us, s, i, found = 0;

	if (!has_cap_net_admin()) {
		VT_SKIP("tap: no CAP_NET_ADMIN or no /dev/net/tun");
		return;
	}
	inet_pton(AF_INET, "10.199.77.1", &c.host_ip);
	inet_pton(AF_INET, "255.255.255.252", &c.netmask);
	memcpy(c.mac, guest_mac, 6);
	if (ndev_up(&n, &c, (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_MRG_RXBUF))) {
		TAP_CHECK(0, "tap: created and configured");
		return;
	}
	TAP_CHECK(vt_device_features(&n.d) & (1ull << VIRTIO_NET_F_MAC),
		  "tap: created and configured, MAC offered");

	/* The device named its tap; find it by the address we gave. */
	s = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	{
		struct if_nameindex *ifs = if_nameindex(), *p;

		for (p = ifs; p && p->if_name; p++) {
			snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", p->if_name);
			if (!ioctl(s, SIOCGIFADDR, &ifr) &&
			    ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr == c.host_ip)
				break;
			ifr.ifr_name[0] = '\0';
		}
		if_freenameindex(ifs);
	}
	TAP_CHECK(ifr.ifr_name[0], "tap: an interface has 10.199.77.1");
	TAP_CHECK(!ioctl(s, SIOCGIFNETMASK, &ifr) &&
		  ((struct sockaddr_in *)&ifr.ifr_netmask)->sin_addr.s_addr == c.netmask,
		  "tap: its netmask is 255.255.255.252");
	TAP_CHECK(!ioctl(s, SIOCGIFFLAGS, &ifr) && (ifr.ifr_flags & IFF_UP), "tap: it is up");
	ioctl(s, SIOCGIFHWADDR, &ifr);
	close(s);

	/* Guest -> host: a UDP datagram to a socket bound on the tap address. */
	us = socket(AF_INET, SOCK_DGRAM, 0);
	sa.sin_port = htons(5555);
	sa.sin_addr.s_addr = c.host_ip;
	setsockopt(us, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	TAP_EQ_INT(bind(us, (struct sockaddr *)&sa, sizeof(sa)), 0, "tap: host socket bound");
	memset(frame, 0, sizeof(frame));
	memcpy(frame, ifr.ifr_hwaddr.sa_data, 6);	/* dst: the tap */
	memcpy(frame + 6, guest_mac, 6);
	frame[12] = 0x08;
	{
		uint8_t *ip = frame + 14, *udp = ip + 20;

		ip[0] = 0x45;
		ip[3] = 20 + 8 + 5;
		ip[8] = 64;
		ip[9] = 17;
		inet_pton(AF_INET, "10.199.77.2", ip + 12);
		memcpy(ip + 16, &c.host_ip, 4);
		*(uint16_t *)(ip + 10) = ip_csum(ip, 20);
		udp[0] = 4444 >> 8;
		udp[1] = 4444 & 0xff;
		udp[2] = 5555 >> 8;
		udp[3] = 5555 & 0xff;
		udp[5] = 8 + 5;
		memcpy(udp + 8, "hello", 5);
	}
	tx = vt_alloc(n.vh, 256, 8);
	memset(vt_ptr(n.vh, tx), 0, HDR);
	memcpy(vt_ptr(n.vh, tx + HDR), frame, 14 + 33);
	{
		struct vt_seg seg = { tx, HDR + 14 + 33, false };

		vt_add(&n.d, 1, &seg, 1);
	}
	vt_kick(&n.d, 1);
	vt_wait_used(&n.d, 1, &id, &len);
	memset(got, 0, sizeof(got));
	TAP_CHECK(recv(us, got, sizeof(got), 0) == 5 && !memcmp(got, "hello", 5),
		  "tap: guest frame reaches a host socket");

	/* Host -> guest: sending to 10.199.77.2 makes the host ARP through the tap. */
	for (i = 0; i < 8; i++)
		post_rx(&n, vt_alloc(n.vh, 2048, 8), 2048);
	sa.sin_port = htons(4444);
	inet_pton(AF_INET, "10.199.77.2", &sa.sin_addr);
	sendto(us, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa));
	for (i = 0; i < 8 && !found; i++) {
		uint8_t *f;

		if (!vt_wait_used(&n.d, 0, &id, &len))
			break;
		f = vt_ptr(n.vh, le64toh(((struct vring_desc *)vt_ptr(n.vh, n.d.q[0].desc))[id].addr));
		if (len >= HDR + 14 && f[HDR + 12] == 0x08 && f[HDR + 13] == 0x06)
			found = 1;
	}
	TAP_CHECK(found, "tap: the host's ARP request reaches the guest");
	close(us);
	ndev_down(&n);
}

/*
 * A tap at its largest MTU (65,521: tun's limit of 65,535 less the Ethernet
 * header) takes a VLAN-tagged frame of 65,539 bytes, longer with its
 * 12-byte header than the device's receive buffer; tun's read() then
 * returns the frame's whole length while copying only what fits.  The device must drop (and count) such a frame, never pass on
 * bytes it did not read.
 */
static void test_tap_oversize(void)
{
	static uint8_t frame[18 + 65521];
	struct net_cfg c = { .fd = -1, .has_mac = true };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_halen = 6 };
	struct net_stats st;
	struct ifreq ifr;
	struct ndev n;
	char name[16], path[96];
	uint32_t id, len;
	int s, ps, fd, i, found = 0;

	if (!has_cap_net_admin()) {
		VT_SKIP("tap oversize: no CAP_NET_ADMIN or no /dev/net/tun");
		return;
	}
	snprintf(name, sizeof(name), "vbt%d", (int)getpid() % 1000000);
	c.tap = name;
	memcpy(c.mac, guest_mac, 6);
	if (ndev_up(&n, &c, (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_MRG_RXBUF))) {
		TAP_CHECK(0, "tap oversize: tap created");
		return;
	}
	/* No IPv6 chatter on the tap: only our frames reach the guest. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			printf("# cannot disable IPv6 on %s\n", name);
		close(fd);
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_mtu = 65521;
	TAP_EQ_INT(ioctl(s, SIOCSIFMTU, &ifr), 0, "tap oversize: MTU 65521");
	TAP_EQ_INT(ioctl(s, SIOCGIFFLAGS, &ifr), 0, "tap oversize: flags read");
	ifr.ifr_flags |= IFF_UP;
	TAP_EQ_INT(ioctl(s, SIOCSIFFLAGS, &ifr), 0, "tap oversize: up");
	close(s);

	for (i = 0; i < 6; i++)
		post_rx(&n, vt_alloc(n.vh, 40000, 8), 40000);
	ps = socket(AF_PACKET, SOCK_RAW, 0);
	sll.sll_ifindex = if_nametoindex(name);
	memcpy(sll.sll_addr, guest_mac, 6);
	memcpy(frame, guest_mac, 6);
	memcpy(frame + 6, "\x02\x00\x00\x00\x00\x01", 6);
	frame[12] = 0x81;	/* 802.1Q, VLAN 5 */
	frame[13] = 0x00;
	frame[14] = 0x00;
	frame[15] = 0x05;
	frame[16] = 0x88;	/* local experimental ethertype */
	frame[17] = 0xb5;
	memset(frame + 18, 0x5a, sizeof(frame) - 18);
	TAP_EQ_INT(sendto(ps, frame, sizeof(frame), 0, (struct sockaddr *)&sll, sizeof(sll)),
		   sizeof(frame), "tap oversize: a 65,539-byte tagged frame sent to the tap");
	frame[18] = 0x11;
	TAP_EQ_INT(sendto(ps, frame, 60, 0, (struct sockaddr *)&sll, sizeof(sll)), 60,
		   "tap oversize: a 60-byte frame sent after it");
	close(ps);
	for (i = 0; i < 6 && !found; i++) {
		struct vring_desc *desc = vt_ptr(n.vh, n.d.q[0].desc);
		uint8_t *f;

		if (!vt_wait_used(&n.d, 0, &id, &len))
			break;
		f = vt_ptr(n.vh, le64toh(desc[id].addr));
		if (len < HDR + 18 || f[HDR + 16] != 0x88 || f[HDR + 17] != 0xb5)
			continue;	/* not ours */
		found = 1;
		TAP_CHECK(len == HDR + 60 && f[HDR + 18] == 0x11 &&
			  le16toh(((struct virtio_net_hdr_mrg_rxbuf *)f)->num_buffers) == 1,
			  "tap oversize: the first frame the guest sees is the 60-byte one");
		if (len != HDR + 60)
			printf("#   got a frame of %u bytes in its first buffer\n", len);
	}
	TAP_CHECK(found, "tap oversize: a frame of ours reached the guest");
	net_get_stats(n.vd, &st);
	TAP_EQ_INT(st.rx_oversize, 1, "tap oversize: the oversized frame is counted");
	ndev_down(&n);
}

static void test_errors(void)
{
	struct net_cfg c = { .fd = -1, .tap = "lo" };

	if (!has_cap_net_admin()) {
		VT_SKIP("tap errors: no CAP_NET_ADMIN");
		return;
	}
	TAP_CHECK(net_new(&c) == NULL, "tap: 'lo' is not a tap: refused");
}

/* --- multi-queue (VIRTIO_NET_F_MQ) and the control queue ------------------------ */

#define MQ_FEATURES	((1ull << VIRTIO_NET_F_MQ) | (1ull << VIRTIO_NET_F_CTRL_VQ) | \
			 (1ull << VIRTIO_NET_F_MRG_RXBUF))
#define MQ_CTRL		4	/* the control queue of two pairs */
#define NO_ANSWER	-1

/*
 * Send a control command: class and command in a 2-byte descriptor, len
 * bytes of data in the next, the ack in the last byte of a 4-byte
 * writable one.  Returns the ack, NO_ANSWER when the chain came back with
 * nothing written, -2 when bytes before the ack were touched or nothing
 * came back.
 */
static int ctrl_cmd(struct ndev *n, uint8_t class, uint8_t cmd, const void *data,
		    uint32_t len)
{
	uint64_t g = vt_alloc(n->vh, 256, 8);
	uint8_t *p = vt_ptr(n->vh, g);
	struct vt_seg seg[3] = { { g, 2, false }, { g + 16, len, false },
				 { g + 128, 4, true } };
	uint32_t ulen;

	p[0] = class;
	p[1] = cmd;
	memset(p + 128, 0xee, 4);
	if (len) {
		memcpy(p + 16, data, len);
		vt_add(&n->d, MQ_CTRL, seg, 3);
	} else {
		seg[1] = seg[2];
		vt_add(&n->d, MQ_CTRL, seg, 2);
	}
	vt_kick(&n->d, MQ_CTRL);
	if (!vt_wait_used(&n->d, MQ_CTRL, NULL, &ulen))
		return -2;
	if (!ulen)
		return NO_ANSWER;
	if (ulen != 1 || p[128] != 0xee || p[129] != 0xee || p[130] != 0xee)
		return -2;
	return p[131];
}

static int set_pairs(struct ndev *n, uint16_t pairs)
{
	uint16_t v = htole16(pairs);

	return ctrl_cmd(n, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v, 2);
}

/* A chain of segs on the control queue; returns the used length (or -1). */
static int ctrl_chain(struct ndev *n, const struct vt_seg *seg, unsigned int nseg)
{
	uint32_t len;

	vt_add(&n->d, MQ_CTRL, seg, nseg);
	vt_kick(&n->d, MQ_CTRL);
	return vt_wait_used(&n->d, MQ_CTRL, NULL, &len) ? (int)len : -1;
}

/* Two pairs on two socketpairs; peer[i] is pair i's tap side. */
static int mq_up(struct ndev *n, int peer[2], uint64_t features)
{
	struct net_cfg c = { .fd = -1, .queue_pairs = 2 };
	int a[2], b[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, a))
		return -1;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, b)) {
		close(a[0]);
		close(a[1]);
		return -1;
	}
	c.fd = a[0];
	c.more_fds = &b[0];
	peer[0] = a[1];
	peer[1] = b[1];
	return ndev_up_nq(n, &c, features, 5);
}

static void mq_down(struct ndev *n, int peer[2])
{
	ndev_down(n);
	close(peer[0]);
	close(peer[1]);
}

static void test_mq_features(void)
{
	struct net_cfg c = { .fd = -1, .queue_pairs = NET_PAIRS_MAX + 1 };
	struct ndev n;
	uint64_t f;
	int peer[2], sv[2];

	/* One pair (the default): what the device always was. */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv))
		return;
	c.fd = sv[0];
	TAP_CHECK(net_new(&c) == NULL, "mq: 17 queue pairs refused");
	c.queue_pairs = 0;
	TAP_EQ_INT(ndev_up(&n, &c, 0), 0, "mq: one pair: driver up");
	f = vt_device_features(&n.d);
	TAP_CHECK(!(f & (1ull << VIRTIO_NET_F_MQ)) && !(f & (1ull << VIRTIO_NET_F_CTRL_VQ)),
		  "mq: one pair: neither MQ nor CTRL_VQ offered");
	TAP_EQ_INT(vt_rd(&n.d, n.d.common + VIRTIO_PCI_COMMON_NUMQ, 2), 2,
		   "mq: one pair: two queues");
	TAP_EQ_INT(vt_rd(&n.d, n.d.device + 8, 2), 1, "mq: one pair: max_virtqueue_pairs = 1");
	ndev_down(&n);
	close(sv[1]);

	TAP_EQ_INT(mq_up(&n, peer, MQ_FEATURES), 0, "mq: two pairs: driver up with MQ and CTRL_VQ");
	f = vt_device_features(&n.d);
	TAP_CHECK((f & (1ull << VIRTIO_NET_F_MQ)) && (f & (1ull << VIRTIO_NET_F_CTRL_VQ)),
		  "mq: two pairs: MQ and CTRL_VQ offered");
	TAP_EQ_INT(vt_rd(&n.d, n.d.common + VIRTIO_PCI_COMMON_NUMQ, 2), 5,
		   "mq: two pairs: five queues (rx0 tx0 rx1 tx1 ctrl)");
	TAP_EQ_INT(vt_rd(&n.d, n.d.device + 8, 2), 2, "mq: two pairs: max_virtqueue_pairs = 2");
	mq_down(&n, peer);
}

static void test_mq_ctrl(void)
{
	static const uint8_t on[1] = { 1 }, off[1] = { 0 }, vid[2] = { 5, 0 };
	static const uint8_t short_pairs[1] = { 2 };
	/* One unicast entry, then two multicast ones (or none: 14 bytes). */
	static const uint8_t table[4 + 6 + 4 + 12] = {
		1, 0, 0, 0, 0x52, 0, 0, 0, 0, 1, 2, 0, 0, 0,
		0x01, 0, 0x5e, 0, 0, 1, 0x33, 0x33, 0, 0, 0, 1 };
	static const uint8_t table0[4 + 6 + 4] = {
		1, 0, 0, 0, 0x52, 0, 0, 0, 0, 1, 0, 0, 0, 0 };
	static const struct {
		uint8_t class, cmd;
		const uint8_t *data;
		uint32_t len;
		int ack;
		const char *what;
	} cmds[] = {
		{ VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, short_pairs, 1, VIRTIO_NET_ERR,
		  "VQ_PAIRS_SET with one byte of data refused" },
		{ VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_RSS_CONFIG, vid, 2, VIRTIO_NET_ERR,
		  "RSS_CONFIG refused (not offered)" },
		{ VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, on, 1, VIRTIO_NET_OK,
		  "promiscuous on: OK (a tap has no filter)" },
		{ VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, on, 1, VIRTIO_NET_OK,
		  "all-multicast on: OK" },
		{ VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, off, 1, VIRTIO_NET_ERR,
		  "promiscuous off refused (no filter)" },
		{ VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOMULTI, off, 1, VIRTIO_NET_OK,
		  "no-multicast off: OK" },
		{ VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOMULTI, on, 1, VIRTIO_NET_ERR,
		  "no-multicast on refused (a filter)" },
		{ VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLUNI, on, 1, VIRTIO_NET_OK,
		  "all-unicast on: OK" },
		{ VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, vid, 2, VIRTIO_NET_ERR,
		  "promiscuous with two bytes refused" },
		{ VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table0, sizeof(table0),
		  VIRTIO_NET_OK, "MAC table (one unicast, no multicast) OK" },
		{ VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table, sizeof(table) - 12,
		  VIRTIO_NET_ERR, "MAC table longer than its data refused" },
		{ VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table, sizeof(table),
		  VIRTIO_NET_OK, "MAC table with two multicast entries OK" },
		{ VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, table + 4, 6,
		  VIRTIO_NET_ERR, "MAC_ADDR_SET refused (not offered)" },
		{ VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD, vid, 2, VIRTIO_NET_OK,
		  "VLAN add OK (every VLAN passes)" },
		{ VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_DEL, vid, 2, VIRTIO_NET_ERR,
		  "VLAN del refused (no filter)" },
		{ VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0, VIRTIO_NET_OK,
		  "announce ack OK" },
		{ 99, 0, NULL, 0, VIRTIO_NET_ERR, "unknown class refused" },
	};
	struct ndev n;
	char msg[128];
	uint64_t g;
	uint8_t *p;
	size_t i;
	int peer[2];

	if (mq_up(&n, peer, MQ_FEATURES)) {
		TAP_CHECK(0, "ctrl: driver up");
		return;
	}
	TAP_EQ_INT(set_pairs(&n, 2), VIRTIO_NET_OK, "ctrl: VQ_PAIRS_SET 2 acked OK");
	TAP_EQ_INT(set_pairs(&n, 1), VIRTIO_NET_OK, "ctrl: VQ_PAIRS_SET 1 acked OK");
	TAP_EQ_INT(set_pairs(&n, 3), VIRTIO_NET_ERR, "ctrl: VQ_PAIRS_SET 3 (> max) refused");
	TAP_EQ_INT(set_pairs(&n, 0), VIRTIO_NET_ERR, "ctrl: VQ_PAIRS_SET 0 refused");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(msg, sizeof(msg), "ctrl: %s", cmds[i].what);
		TAP_EQ_INT(ctrl_cmd(&n, cmds[i].class, cmds[i].cmd, cmds[i].data, cmds[i].len),
			   cmds[i].ack, msg);
	}

	/* Chains the guest laid out its own way, or wrongly. */
	g = vt_alloc(n.vh, 256, 8);
	p = vt_ptr(n.vh, g);
	p[0] = VIRTIO_NET_CTRL_MQ;
	p[1] = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
	p[2] = 2;
	p[3] = 0;
	{
		/* Header and data split 1 + 3, ack after a 2-byte writable one. */
		struct vt_seg seg[4] = { { g, 1, false }, { g + 1, 3, false },
					 { g + 64, 2, true }, { g + 96, 1, true } };

		memset(p + 64, 0xee, 2);
		p[96] = 0xee;
		TAP_EQ_INT(ctrl_chain(&n, seg, 4), 1, "ctrl: split chain: one byte written");
		TAP_CHECK(p[96] == VIRTIO_NET_OK && p[64] == 0xee && p[65] == 0xee,
			  "ctrl: split chain: OK in the last writable byte, nothing else");
	}
	{
		/* One readable byte: no whole header. */
		struct vt_seg seg[2] = { { g, 1, false }, { g + 96, 1, true } };

		p[96] = 0xee;
		TAP_EQ_INT(ctrl_chain(&n, seg, 2), 1, "ctrl: short header: answered");
		TAP_EQ_INT(p[96], VIRTIO_NET_ERR, "ctrl: short header: VIRTIO_NET_ERR");
	}
	{
		/* Nothing writable: cannot be answered, given back empty. */
		struct vt_seg seg = { g, 4, false };

		TAP_EQ_INT(ctrl_chain(&n, &seg, 1), 0, "ctrl: no ack byte: used, length 0");
		TAP_CHECK(!(vt_status(&n.d) & VIRTIO_CONFIG_S_NEEDS_RESET),
			  "ctrl: no ack byte: the device keeps working");
	}
	TAP_EQ_INT(set_pairs(&n, 2), VIRTIO_NET_OK, "ctrl: still answering after bad chains");
	mq_down(&n, peer);

	/* CTRL_VQ without MQ: the control queue is queue 2, no pairs to set. */
	if (mq_up(&n, peer, (1ull << VIRTIO_NET_F_CTRL_VQ))) {
		TAP_CHECK(0, "ctrl without mq: driver up");
		return;
	}
	{
		uint16_t v = htole16(1);
		uint64_t c = vt_alloc(n.vh, 64, 8);
		uint8_t *q = vt_ptr(n.vh, c);
		struct vt_seg seg[2] = { { c, 4, false }, { c + 32, 1, true } };
		uint32_t len;

		q[0] = VIRTIO_NET_CTRL_MQ;
		q[1] = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
		memcpy(q + 2, &v, 2);
		q[32] = 0xee;
		vt_add(&n.d, 2, seg, 2);
		vt_kick(&n.d, 2);
		TAP_CHECK(vt_wait_used(&n.d, 2, NULL, &len) && len == 1 &&
			  q[32] == VIRTIO_NET_ERR,
			  "ctrl without mq: queue 2 is the control queue, VQ_PAIRS_SET refused");
	}
	mq_down(&n, peer);
}

static int send_frame(int peer, uint8_t fill, size_t len)
{
	uint8_t pkt[2048];

	memset(pkt, 0, HDR);
	memset(pkt + HDR, fill, len);
	return send(peer, pkt, HDR + len, 0) == (ssize_t)(HDR + len) ? 0 : -1;
}

static void test_mq_pairs(void)
{
	struct net_stats before, after;
	struct ndev n;
	uint8_t got[2048];
	uint64_t rx0, rx1, tx;
	uint32_t len;
	int peer[2];

	if (mq_up(&n, peer, MQ_FEATURES)) {
		TAP_CHECK(0, "pairs: driver up");
		return;
	}
	rx0 = vt_alloc(n.vh, 2048, 8);
	rx1 = vt_alloc(n.vh, 2048, 8);
	post_rx(&n, rx0, 2048);
	post_buf(&n, 2, rx1, 2048, true);
	if (send_frame(peer[1], 0x11, 100))
		return;
	vt_msleep(50);
	TAP_EQ_INT(vt_used_pending(&n.d, 2), 0,
		   "pairs: a frame on tap queue 1 does not reach rx1 before VQ_PAIRS_SET");
	TAP_EQ_INT(vt_used_pending(&n.d, 0), 0, "pairs: ... nor rx0");

	net_get_stats(n.vd, &before);
	TAP_EQ_INT(set_pairs(&n, 2), VIRTIO_NET_OK, "pairs: VQ_PAIRS_SET 2");
	TAP_CHECK(vt_wait_used(&n.d, 2, NULL, &len) && len == HDR + 100 &&
		  ((uint8_t *)vt_ptr(n.vh, rx1))[HDR] == 0x11,
		  "pairs: then it arrives on rx1");
	TAP_EQ_INT(vt_used_pending(&n.d, 0), 0, "pairs: and not on rx0");
	net_get_stats(n.vd, &after);
	TAP_EQ_INT(after.rx_bounced - before.rx_bounced, 0,
		   "pairs: read straight into rx1's buffer (not bounced)");
	if (send_frame(peer[0], 0x22, 60))
		return;
	TAP_CHECK(vt_wait_used(&n.d, 0, NULL, &len) && len == HDR + 60 &&
		  ((uint8_t *)vt_ptr(n.vh, rx0))[HDR] == 0x22,
		  "pairs: a frame on tap queue 0 arrives on rx0");

	/* Transmit on tx1: out through tap queue 1. */
	tx = vt_alloc(n.vh, 256, 8);
	memset(vt_ptr(n.vh, tx), 0, HDR);
	memset(vt_ptr(n.vh, tx + HDR), 0x33, 60);
	post_buf(&n, 3, tx, HDR + 60, false);
	TAP_EQ_INT(vt_wait_used(&n.d, 3, NULL, NULL), 1, "pairs: tx1 chain used");
	TAP_CHECK(recv(peer[1], got, sizeof(got), 0) == HDR + 60 && got[HDR] == 0x33,
		  "pairs: the tx1 frame reaches tap queue 1");
	TAP_CHECK(recv(peer[0], got, sizeof(got), 0) < 0,
		  "pairs: and not tap queue 0");

	/* Back to one pair: queue 1's frames stay there. */
	TAP_EQ_INT(set_pairs(&n, 1), VIRTIO_NET_OK, "pairs: VQ_PAIRS_SET 1");
	post_rx(&n, rx0, 2048);
	post_buf(&n, 2, rx1, 2048, true);
	if (send_frame(peer[1], 0x44, 100))
		return;
	vt_msleep(50);
	TAP_EQ_INT(vt_used_pending(&n.d, 2) + vt_used_pending(&n.d, 0), 0,
		   "pairs: after VQ_PAIRS_SET 1 tap queue 1's frame reaches no queue");
	/* tx1 frames the driver still had queued go out (through pair 0). */
	post_buf(&n, 3, tx, HDR + 60, false);
	TAP_EQ_INT(vt_wait_used(&n.d, 3, NULL, NULL), 1,
		   "pairs: tx1 still completes after VQ_PAIRS_SET 1");
	TAP_CHECK(recv(peer[0], got, sizeof(got), 0) == HDR + 60,
		  "pairs: ... through tap queue 0");

	/* Up to two, then a reset: one pair again until VQ_PAIRS_SET. */
	TAP_EQ_INT(set_pairs(&n, 2), VIRTIO_NET_OK, "pairs: VQ_PAIRS_SET 2 again");
	TAP_CHECK(vt_wait_used(&n.d, 2, NULL, &len) && len == HDR + 100,
		  "pairs: the waiting frame arrives on rx1");
	TAP_EQ_INT(vt_bringup(&n.d, MQ_FEATURES, 5), 0, "pairs: reset and up again");
	rx1 = vt_alloc(n.vh, 2048, 8);
	post_buf(&n, 2, rx1, 2048, true);
	post_rx(&n, vt_alloc(n.vh, 2048, 8), 2048);
	if (send_frame(peer[1], 0x55, 100))
		return;
	vt_msleep(50);
	TAP_EQ_INT(vt_used_pending(&n.d, 2) + vt_used_pending(&n.d, 0), 0,
		   "pairs: after a reset only pair 0 receives");
	if (send_frame(peer[0], 0x66, 100))
		return;
	TAP_CHECK(vt_wait_used(&n.d, 0, NULL, &len) && len == HDR + 100,
		  "pairs: after a reset pair 0 receives");
	TAP_EQ_INT(set_pairs(&n, 2), VIRTIO_NET_OK, "pairs: VQ_PAIRS_SET 2 after the reset");
	TAP_CHECK(vt_wait_used(&n.d, 2, NULL, &len) && len == HDR + 100 &&
		  ((uint8_t *)vt_ptr(n.vh, rx1))[HDR] == 0x55,
		  "pairs: then rx1 receives");
	mq_down(&n, peer);
}

/* Entries of /sys/class/net/NAME/queues named rx-N: the tap's attached queues. */
static int tap_rx_queues(const char *name)
{
	char path[96];
	int i, n = 0;

	for (i = 0; i < 8; i++) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%d", name, i);
		n += access(path, F_OK) == 0;
	}
	return n;
}

static unsigned int tap_flags(const char *name)
{
	char path[96];
	unsigned int f = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", name);
	fp = fopen(path, "r");
	if (fp) {
		if (fscanf(fp, "%x", &f) != 1)
			f = 0;
		fclose(fp);
	}
	return f;
}

#define MQ_PORT	7777

/*
 * Send n IPv4/UDP frames to the guest through the tap, each its own flow
 * (source port first + i), so that the tap spreads them over its queues.
 */
static int tap_send_flows(const char *name, unsigned int first, unsigned int n)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_halen = 6 };
	uint8_t f[14 + 20 + 8 + 4];
	unsigned int i;
	int ps, sent = 0;

	ps = socket(AF_PACKET, SOCK_RAW, 0);
	if (ps < 0)
		return -1;
	sll.sll_ifindex = if_nametoindex(name);
	memcpy(sll.sll_addr, guest_mac, 6);
	memset(f, 0, sizeof(f));
	memcpy(f, guest_mac, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x02", 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[17] = sizeof(f) - 14;
	f[22] = 64;
	f[23] = 17;
	inet_pton(AF_INET, "10.199.79.1", f + 26);
	inet_pton(AF_INET, "10.199.79.2", f + 30);
	*(uint16_t *)(f + 24) = ip_csum(f + 14, 20);
	f[36] = MQ_PORT >> 8;
	f[37] = MQ_PORT & 0xff;
	f[39] = 12;
	for (i = 0; i < n; i++) {
		f[34] = (first + i) >> 8;
		f[35] = (first + i) & 0xff;
		sent += sendto(ps, f, sizeof(f), 0, (struct sockaddr *)&sll,
			       sizeof(sll)) == (ssize_t)sizeof(f);
	}
	close(ps);
	return sent;
}

/* Take the used entries of receive queue q for up to ms: how many are ours. */
static unsigned int tap_take_flows(struct ndev *n, unsigned int q, unsigned int ms)
{
	struct vring_desc *desc = vt_ptr(n->vh, n->d.q[q].desc);
	unsigned int found = 0, t;
	uint32_t id, len;

	for (t = 0; t < ms; t += 5) {
		while (vt_used_pending(&n->d, q) && vt_wait_used(&n->d, q, &id, &len)) {
			uint8_t *f = vt_ptr(n->vh, le64toh(desc[id].addr));

			if (len >= HDR + 38 && f[HDR + 12] == 0x08 &&
			    f[HDR + 36] == MQ_PORT >> 8 && f[HDR + 37] == (MQ_PORT & 0xff))
				found++;
		}
		vt_msleep(5);
	}
	return found;
}

/* Post 64 receive buffers on queue q. */
static void tap_fill(struct ndev *n, unsigned int q)
{
	int i;

	for (i = 0; i < 64; i++) {
		struct vt_seg seg = { vt_alloc(n->vh, 2048, 8), 2048, true };

		vt_add(&n->d, q, &seg, 1);
	}
	vt_kick(&n->d, q);
}

static void test_tap_mq(void)
{
	struct net_cfg c = { .fd = -1, .has_mac = true, .queue_pairs = 2 };
	struct ifreq ifr;
	struct ndev n;
	char name[16], path[96];
	unsigned int on0, on1;
	int s, fd;

	if (!has_cap_net_admin()) {
		VT_SKIP("tap mq: no CAP_NET_ADMIN or no /dev/net/tun");
		return;
	}
	snprintf(name, sizeof(name), "vbq%d", (int)getpid() % 1000000);
	c.tap = name;
	memcpy(c.mac, guest_mac, 6);
	if (ndev_up_nq(&n, &c, MQ_FEATURES | (1ull << VIRTIO_NET_F_MAC), 5)) {
		TAP_CHECK(0, "tap mq: tap created, driver up");
		return;
	}
	TAP_CHECK(tap_flags(name) & IFF_MULTI_QUEUE, "tap mq: the new tap is multi-queue");
	TAP_EQ_INT(tap_rx_queues(name), 1, "tap mq: one queue attached before VQ_PAIRS_SET");
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			printf("# cannot disable IPv6 on %s\n", name);
		close(fd);
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	TAP_EQ_INT(ioctl(s, SIOCSIFFLAGS, &ifr), 0, "tap mq: up");
	close(s);

	tap_fill(&n, 0);
	tap_fill(&n, 2);
	TAP_EQ_INT(tap_send_flows(name, 1000, 16), 16, "tap mq: 16 flows sent to the tap");
	on0 = tap_take_flows(&n, 0, 300);
	on1 = tap_take_flows(&n, 2, 50);
	TAP_CHECK(on0 == 16 && on1 == 0, "tap mq: before VQ_PAIRS_SET every flow reaches rx0");
	if (on0 != 16 || on1)
		printf("#   rx0 %u, rx1 %u\n", on0, on1);

	TAP_EQ_INT(set_pairs(&n, 2), VIRTIO_NET_OK, "tap mq: VQ_PAIRS_SET 2");
	TAP_EQ_INT(tap_rx_queues(name), 2, "tap mq: both queues attached");
	TAP_EQ_INT(tap_send_flows(name, 2000, 32), 32, "tap mq: 32 flows sent to the tap");
	on0 = tap_take_flows(&n, 0, 300);
	on1 = tap_take_flows(&n, 2, 100);
	TAP_CHECK(on0 + on1 == 32 && on0 && on1,
		  "tap mq: after VQ_PAIRS_SET 2 the flows reach rx0 and rx1");
	printf("#   rx0 %u, rx1 %u\n", on0, on1);

	/* Guest -> host on tx1: the tap sees the frame. */
	{
		struct sockaddr_ll sll = { .sll_family = AF_PACKET,
					   .sll_protocol = htons(0x88b5) };
		struct timeval tv = { 2, 0 };
		uint64_t tx = vt_alloc(n.vh, 256, 8);
		uint8_t *p = vt_ptr(n.vh, tx), got[256];
		struct vt_seg seg = { tx, HDR + 60, false };
		int ps = socket(AF_PACKET, SOCK_RAW, htons(0x88b5)), ok = 0;

		sll.sll_ifindex = if_nametoindex(name);
		bind(ps, (struct sockaddr *)&sll, sizeof(sll));
		setsockopt(ps, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		memset(p, 0, HDR + 60);
		memset(p + HDR, 0xff, 6);
		memcpy(p + HDR + 6, guest_mac, 6);
		p[HDR + 12] = 0x88;
		p[HDR + 13] = 0xb5;
		p[HDR + 14] = 0x77;
		vt_add(&n.d, 3, &seg, 1);
		vt_kick(&n.d, 3);
		TAP_EQ_INT(vt_wait_used(&n.d, 3, NULL, NULL), 1, "tap mq: tx1 chain used");
		while (!ok && recv(ps, got, sizeof(got), 0) >= 15)
			ok = got[14] == 0x77;
		TAP_CHECK(ok, "tap mq: a frame sent on tx1 reaches the tap");
		close(ps);
	}

	TAP_EQ_INT(vt_bringup(&n.d, MQ_FEATURES | (1ull << VIRTIO_NET_F_MAC), 5), 0,
		   "tap mq: reset and up again");
	TAP_EQ_INT(tap_rx_queues(name), 1, "tap mq: after the reset one queue is attached");
	tap_fill(&n, 0);
	tap_fill(&n, 2);
	tap_send_flows(name, 3000, 16);
	on0 = tap_take_flows(&n, 0, 300);
	on1 = tap_take_flows(&n, 2, 50);
	TAP_CHECK(on0 == 16 && on1 == 0, "tap mq: after the reset every flow reaches rx0");
	ndev_down(&n);
}

/* net_new(c), its messages in log (up to len bytes). */
static struct virtio_dev *net_new_logged(const struct net_cfg *c, char *log, size_t len)
{
	FILE *tmp = tmpfile();
	struct virtio_dev *vd;
	int saved = dup(STDERR_FILENO);
	size_t r;

	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	vd = net_new(c);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	r = fread(log, 1, len - 1, tmp);
	log[r] = '\0';
	fclose(tmp);
	fputs(log, stderr);
	return vd;
}

/* A tap made here and kept open (flags: IFF_MULTI_QUEUE or 0); -1 if not. */
static int make_tap(const char *name, short flags)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | flags };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_tap_mq_errors(void)
{
	struct net_cfg c = { .fd = -1, .queue_pairs = 2 };
	struct virtio_dev *vd;
	char name[16], log[1024];
	int fd;

	if (!has_cap_net_admin()) {
		VT_SKIP("tap mq errors: no CAP_NET_ADMIN");
		return;
	}
	snprintf(name, sizeof(name), "vbs%d", (int)getpid() % 1000000);
	c.tap = name;
	fd = make_tap(name, 0);
	TAP_CHECK(fd >= 0, "tap mq errors: a single-queue tap made");
	vd = net_new_logged(&c, log, sizeof(log));
	TAP_CHECK(!vd, "tap mq errors: two pairs on a single-queue tap refused");
	TAP_CHECK(strstr(log, "not created multi-queue") && strstr(log, "multi_queue") &&
		  strstr(log, "queue_pairs=1"),
		  "tap mq errors: the message says to recreate it multi_queue or use one pair");
	if (vd)
		pci_func_free(&vd->func);
	close(fd);

	fd = make_tap(name, IFF_MULTI_QUEUE);
	TAP_CHECK(fd >= 0, "tap mq errors: a multi-queue tap made");
	c.queue_pairs = 2;
	vd = net_new_logged(&c, log, sizeof(log));
	TAP_CHECK(vd, "tap mq errors: two pairs join an existing multi-queue tap");
	if (vd)
		pci_func_free(&vd->func);
	c.queue_pairs = 1;
	vd = net_new_logged(&c, log, sizeof(log));
	TAP_CHECK(vd, "tap mq errors: one pair joins an existing multi-queue tap");
	if (vd)
		pci_func_free(&vd->func);
	close(fd);
}

/* tap_configure's errors name the interface and what failed. */
static void test_tap_configure_errors(void)
{
	struct tap_stderr c;
	uint32_t ip, mask;
	char log[512];
	int ret;

	inet_pton(AF_INET, "10.199.78.1", &ip);
	inet_pton(AF_INET, "255.255.255.0", &mask);
	TAP_CHECK(!tap_stderr_begin(&c), "tap configure errors: standard error caught");
	ret = tap_configure("vbnone0", ip, mask);
	tap_stderr_end(&c, log, sizeof(log));
	TAP_EQ_INT(ret, -1, "tap configure errors: no such interface fails");
	TAP_CHECK(strstr(log, "cannot find interface 'vbnone0'") && strstr(log, "No such device"),
		  "tap configure errors: the message names the interface and the cause");
	TAP_CHECK(!tap_stderr_begin(&c), "tap configure errors: standard error caught again");
	ret = tap_configure("vbridge-name-far-too-long", ip, mask);
	tap_stderr_end(&c, log, sizeof(log));
	TAP_EQ_INT(ret, -1, "tap configure errors: a name of IFNAMSIZ or more fails");
	TAP_CHECK(strstr(log, "'vbridge-name-far-too-long' is too long"),
		  "tap configure errors: the message says the name is too long");
}

int main(void)
{
	test_socketpair(true);
	test_socketpair(false);
	test_tap();
	test_tap_oversize();
	test_errors();
	test_mq_features();
	test_mq_ctrl();
	test_mq_pairs();
	test_tap_mq();
	test_tap_mq_errors();
	test_tap_configure_errors();
	return tap_done();
}
