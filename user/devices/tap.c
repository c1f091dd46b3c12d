// SPDX-License-Identifier: GPL-2.0
/*
 * Taps for virtio-net: open one with IFF_VNET_HDR (an existing interface or
 * a new one), and give it an IPv4 address and bring it up (the interface
 * ioctls).
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
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/virtio_net.h>

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

/* ifr's address field as an AF_INET address of value a (network order) */
static void ifr_set_in(struct sockaddr *sa, uint32_t a)
{
	struct sockaddr_in in = { .sin_family = AF_INET };

	in.sin_addr.s_addr = a;
	memcpy(sa, &in, sizeof(in));
}

/*
 * The interface ioctls of an AF_INET socket, as ifconfig(8) uses them: no
 * library (libnl-route ran dozens of constructors at every start of
 * vbridge, for this one call of `vbridge run --host_ip`).
 */
int tap_configure(const char *name, uint32_t ip, uint32_t netmask)
{
	struct ifreq ifr = { 0 };
	const char *what;
	int s, ret = -1;

	if (strlen(name) >= IFNAMSIZ) {
		log_error("virtio-net: interface name '%s' is too long", name);
		return -1;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		log_error("virtio-net: cannot open an AF_INET socket to configure '%s': %s",
			  name, strerror(errno));
		return -1;
	}
	strcpy(ifr.ifr_name, name);
	what = "find interface";
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		goto fail;
	what = "give its address to";
	ifr_set_in(&ifr.ifr_addr, ip);
	if (ioctl(s, SIOCSIFADDR, &ifr))
		goto fail;
	ifr_set_in(&ifr.ifr_netmask, netmask);
	if (ioctl(s, SIOCSIFNETMASK, &ifr))
		goto fail;
	what = "bring up";
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		goto fail;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		goto fail;
	ret = 0;
	goto out;
fail:
	log_error("virtio-net: cannot %s '%s': %s%s", what, name, strerror(errno),
		  errno == EPERM ? " (needs CAP_NET_ADMIN)" : "");
out:
	close(s);
	return ret;
}
