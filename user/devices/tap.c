// SPDX-License-Identifier: GPL-2.0
/*
 * Taps for virtio-net: open one with IFF_VNET_HDR (an existing interface or
 * a new one), and give it an IPv4 address and bring it up with libnl-route.
 *
 * Several queue pairs get a multi-queue tap (IFF_MULTI_QUEUE): one file
 * descriptor per queue, each attached with TUNSETIFF of the same name;
 * the kernel spreads the flows it sends to the tap over the attached
 * queues, and takes frames from any of them.  An existing tap must have
 * been created multi-queue (ip tuntap add NAME mode tap multi_queue) for
 * that; a single queue is also taken from a multi-queue tap.
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

/*
 * The TUN_* flags of the existing tun/tap interface name, from sysfs:
 * -ENOENT when there is no such tun/tap interface.
 */
static int tap_existing_flags(const char *name, unsigned int *flags)
{
	char path[64];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", name);
	f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	ok = fscanf(f, "%x", flags) == 1;
	fclose(f);
	return ok ? 0 : -ENOENT;
}

/* Say why TUNSETIFF of an existing interface failed with EINVAL. */
static void tap_explain_einval(const char *name, bool mq)
{
	unsigned int flags;

	if (tap_existing_flags(name, &flags) || !(flags & IFF_TAP))
		log_error("virtio-net: '%s' exists and is not a tap", name);
	else if (mq && !(flags & IFF_MULTI_QUEUE))
		log_error("virtio-net: tap '%s' was not created multi-queue: recreate it with 'ip tuntap del %s mode tap; ip tuntap add %s mode tap multi_queue' (and user $USER if needed), or ask for queue_pairs=1",
			  name, name, name);
	else
		log_error("virtio-net: cannot attach tap '%s': %s", name,
			  strerror(EINVAL));
}

/*
 * Attach fd to the tap name ("vbridge%d" makes a new one) as one of its
 * queues; name gets the actual name.  Returns 0 or -1 (said why).
 */
static int tap_attach(int fd, char name[IFNAMSIZ], bool mq)
{
	int hdr = sizeof(struct virtio_net_hdr_mrg_rxbuf);
	struct ifreq ifr;
	unsigned int flags;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	/* One queue of a tap made multi-queue by someone else works too. */
	if (mq || (name[0] && !strchr(name, '%') &&
		   !tap_existing_flags(name, &flags) && (flags & IFF_MULTI_QUEUE)))
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		int err = errno;

		if (err == EPERM)
			log_error("virtio-net: creating or attaching tap '%s' needs CAP_NET_ADMIN (run as root, or create a persistent tap owned by this user with 'ip tuntap add %s mode tap%s user $USER' and pass --tap)",
				  ifr.ifr_name,
				  strchr(name, '%') ? "vbridge0" : name,
				  mq ? " multi_queue" : "");
		else if (err == EBUSY)
			log_error("virtio-net: tap '%s' is already in use (another VM?) or was created without vnet headers",
				  ifr.ifr_name);
		else if (err == EINVAL)
			tap_explain_einval(ifr.ifr_name, mq);
		else
			log_error("virtio-net: cannot attach tap '%s': %s",
				  ifr.ifr_name, strerror(err));
		return -1;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr)) {
		log_errno("virtio-net: cannot set the vnet header size of '%s'",
			  ifr.ifr_name);
		return -1;
	}
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = '\0';
	return 0;
}

int tap_open(char name[16], int *fds, unsigned int n)
{
	unsigned int features = 0, i;
	char want[IFNAMSIZ];

	snprintf(want, sizeof(want), "%s", name[0] ? name : "vbridge%d");
	for (i = 0; i < n; i++) {
		fds[i] = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (fds[i] < 0) {
			log_errno("virtio-net: cannot open /dev/net/tun (is the tun module loaded?)");
			goto fail;
		}
		if (!i && ioctl(fds[i], TUNGETFEATURES, &features) == 0) {
			if (!(features & IFF_VNET_HDR)) {
				log_error("virtio-net: the kernel's tun driver lacks IFF_VNET_HDR");
				i++;
				goto fail;
			}
			if (n > 1 && !(features & IFF_MULTI_QUEUE)) {
				log_error("virtio-net: the kernel's tun driver lacks IFF_MULTI_QUEUE: use queue_pairs=1");
				i++;
				goto fail;
			}
		}
		/* The first queue names a new tap; the others join it. */
		if (tap_attach(fds[i], want, n > 1)) {
			i++;
			goto fail;
		}
	}
	memcpy(name, want, IFNAMSIZ);
	return 0;
fail:
	while (i--)
		close(fds[i]);
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
