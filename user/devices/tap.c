// SPDX-License-Identifier: GPL-2.0
/*
 * Taps for virtio-net: open one with IFF_VNET_HDR (an existing interface or
 * a new one), and give it an IPv4 address and bring it up with libnl-route.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include <netlink/addr.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include "devices/virtio_devs.h"
#include "lib/log.h"

int tap_open(char name[16])
{
	struct ifreq ifr;
	unsigned int features = 0;
	int fd, hdr = sizeof(struct virtio_net_hdr_mrg_rxbuf);

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		log_errno("virtio-net: cannot open /dev/net/tun (is the tun module loaded?)");
		return -1;
	}
	if (ioctl(fd, TUNGETFEATURES, &features) == 0 && !(features & IFF_VNET_HDR)) {
		log_error("virtio-net: the kernel's tun driver lacks IFF_VNET_HDR");
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s",
		 name[0] ? name : "vbridge%d");
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		int err = errno;

		if (err == EPERM)
			log_error("virtio-net: creating or attaching tap '%s' needs CAP_NET_ADMIN (run as root, or create a persistent tap owned by this user with 'ip tuntap add %s mode tap user $USER' and pass --tap)",
				  ifr.ifr_name, name[0] ? name : "vbridge0");
		else if (err == EBUSY)
			log_error("virtio-net: tap '%s' is already in use (another VM?) or was created without vnet headers",
				  ifr.ifr_name);
		else if (err == EINVAL)
			log_error("virtio-net: '%s' exists and is not a tap", ifr.ifr_name);
		else
			log_error("virtio-net: cannot attach tap '%s': %s",
				  ifr.ifr_name, strerror(err));
		goto fail;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr)) {
		log_errno("virtio-net: cannot set the vnet header size of '%s'",
			  ifr.ifr_name);
		goto fail;
	}
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = '\0';
	return fd;
fail:
	close(fd);
	return -1;
}

static int prefix_len(uint32_t netmask)
{
	uint32_t m = ntohl(netmask);
	int n = 0;

	while (m & 0x80000000u) {
		n++;
		m <<= 1;
	}
	return n;
}

int tap_configure(const char *name, uint32_t ip, uint32_t netmask)
{
	struct rtnl_link *link = NULL, *change = NULL;
	struct rtnl_addr *addr = NULL;
	struct nl_addr *local = NULL;
	struct nl_sock *sk;
	int ret = -1, err;

	sk = nl_socket_alloc();
	if (!sk) {
		log_error("virtio-net: out of memory");
		return -1;
	}
	err = nl_connect(sk, NETLINK_ROUTE);
	if (err < 0) {
		log_error("virtio-net: cannot talk to rtnetlink: %s", nl_geterror(err));
		goto out;
	}
	err = rtnl_link_get_kernel(sk, 0, name, &link);
	if (err < 0) {
		log_error("virtio-net: cannot find interface '%s': %s", name,
			  nl_geterror(err));
		goto out;
	}

	addr = rtnl_addr_alloc();
	local = nl_addr_build(AF_INET, &ip, sizeof(ip));
	change = rtnl_link_alloc();
	if (!addr || !local || !change) {
		log_error("virtio-net: out of memory");
		goto out;
	}
	nl_addr_set_prefixlen(local, prefix_len(netmask));
	rtnl_addr_set_ifindex(addr, rtnl_link_get_ifindex(link));
	rtnl_addr_set_family(addr, AF_INET);
	err = rtnl_addr_set_local(addr, local);
	if (!err)
		err = rtnl_addr_add(sk, addr, NLM_F_REPLACE);
	if (err < 0 && err != -NLE_EXIST) {
		log_error("virtio-net: cannot give '%s' its address: %s%s", name,
			  nl_geterror(err),
			  err == -NLE_PERM ? " (needs CAP_NET_ADMIN)" : "");
		goto out;
	}
	rtnl_link_set_flags(change, IFF_UP);
	err = rtnl_link_change(sk, link, change, 0);
	if (err < 0) {
		log_error("virtio-net: cannot bring '%s' up: %s", name,
			  nl_geterror(err));
		goto out;
	}
	ret = 0;
out:
	if (local)
		nl_addr_put(local);
	if (addr)
		rtnl_addr_put(addr);
	if (change)
		rtnl_link_put(change);
	if (link)
		rtnl_link_put(link);
	nl_socket_free(sk);
	return ret;
}
