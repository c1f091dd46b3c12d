// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock (user/devices/vsock.c) driven by a fuzzed guest, bridged to
 * real Unix sockets in a temporary directory: the guest sends packets of
 * any shape and posts receive and event buffers; host operations play
 * the host programs: connect to the device's socket and send a CONNECT
 * line (well-formed or not), send data, read, shut down or close a
 * connection, and accept the connections the guest asked for on the two
 * listening ports (1024 and 1025; others are refused).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/virtio_devs.h"
#include "fz.h"

#define MAX_HOST	16
#define NR_LISTEN	2

struct vs_host {
	int lfd[NR_LISTEN];	/* <uds>_1024, <uds>_1025 */
	int fd[MAX_HOST];	/* host programs' connections, -1 when none */
};

static char uds[96];
static uint8_t big[64 * 1024];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(uds, sizeof(uds), "%s/v.sock", fz_tmpdir());
	return 0;
}

static int unix_socket(const char *path, bool listening)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		fz_fail("socket: %s", strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (listening) {
		unlink(path);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16))
			fz_fail("%s: %s", path, strerror(errno));
	} else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int *slot(struct vs_host *v, struct fz *f)
{
	return &v->fd[fz_u8(f) % MAX_HOST];
}

static void vs_host_op(struct fz_dev *d, struct fz *f)
{
	struct vs_host *v = d->priv;
	uint8_t what = fz_u8(f), buf[256];
	unsigned int len, i, n;
	int *fd, nfd;

	switch (what % 7) {
	case 0:		/* a host program connects: CONNECT <port> */
		fd = slot(v, f);
		n = fz_u32(f);
		if (*fd >= 0)
			close(*fd);
		*fd = unix_socket(uds, false);
		len = snprintf((char *)buf, sizeof(buf), "CONNECT %u\n", n);
		if (*fd >= 0 && send(*fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			fz_fail("send: %s", strerror(errno));
		break;
	case 1:		/* ... and says anything */
		fd = slot(v, f);
		if (*fd >= 0)
			close(*fd);
		*fd = unix_socket(uds, false);
		len = fz_u8(f);
		fz_bytes(f, buf, len);
		if (*fd >= 0)
			send(*fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case 2:		/* data: n copies of up to 255 bytes, or 64 KiB */
		fd = slot(v, f);
		n = 1 + (what >> 3) % 16;
		len = fz_u8(f);
		fz_bytes(f, buf, len);
		for (i = 0; i < n && *fd >= 0; i++)
			if (send(*fd, what & 0x80 ? big : buf, what & 0x80 ? sizeof(big) : len,
				 MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
				break;
		break;
	case 3:		/* read what arrived */
		fd = slot(v, f);
		while (*fd >= 0 && recv(*fd, big, sizeof(big), MSG_DONTWAIT) > 0)
			;
		break;
	case 4:
		fd = slot(v, f);
		if (*fd >= 0)
			shutdown(*fd, what & 8 ? SHUT_RDWR : SHUT_WR);
		break;
	case 5:
		fd = slot(v, f);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		break;
	default:	/* accept what the guest connected to */
		for (i = 0; i < NR_LISTEN; i++) {
			while ((nfd = accept4(v->lfd[i], NULL, NULL,
					      SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
				fd = slot(v, f);
				if (*fd >= 0)
					close(*fd);
				*fd = nfd;
			}
		}
		break;
	}
}

static const struct fz_dev_ops vs_fz_ops = {
	.host_op = vs_host_op,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t how = fz_u8(&f);
	struct fz_host *h = fz_host_reset(how & 1 ? -ENOSPC : 0);
	struct vs_host v;
	char path[128];
	struct virtio_dev *vd;
	struct fz_dev d;
	unsigned int i;

	for (i = 0; i < MAX_HOST; i++)
		v.fd[i] = -1;
	for (i = 0; i < NR_LISTEN; i++) {
		snprintf(path, sizeof(path), "%s_%u", uds, 1024 + i);
		v.lfd[i] = unix_socket(path, true);
	}
	vd = vsock_new(3 + (how >> 4), uds);
	if (!vd)
		fz_fail("vsock_new failed");
	fz_dev_init(&d, h, vd, PCI_DEVFN(6, 0), &vs_fz_ops, &v);
	fz_dev_bringup(&d, &f);
	fz_dev_run(&d, &f);
	fz_dev_free(&d);
	for (i = 0; i < MAX_HOST; i++)
		if (v.fd[i] >= 0)
			close(v.fd[i]);
	for (i = 0; i < NR_LISTEN; i++)
		close(v.lfd[i]);
	return 0;
}
