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

static int ndev_up(struct ndev *n, const struct net_cfg *c, uint64_t features)
{
	n->vh = vt_host_new();
	n->bus = pci_bus_new(&n->vh->host);
	n->vd = net_new(c);
	if (!n->vd)
		return -1;
	pci_bus_add(n->bus, DEVFN, &n->vd->func);
	virtio_dev_start(n->vd);
	vt_probe(&n->d, n->vh, n->bus, DEVFN, 0xc0000000);
	return vt_bringup(&n->d, features, 2);
}

static void ndev_down(struct ndev *n)
{
	pci_bus_free(n->bus);
	vt_host_free(n->vh);
}

static void post_rx(struct ndev *n, uint64_t gpa, uint32_t len)
{
	struct vt_seg seg = { gpa, len, true };

	vt_add(&n->d, 0, &seg, 1);
	vt_kick(&n->d, 0);
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

int main(void)
{
	test_socketpair(true);
	test_socketpair(false);
	test_tap();
	test_tap_oversize();
	test_errors();
	return tap_done();
}
