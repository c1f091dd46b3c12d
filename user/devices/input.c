// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-input (virtio 1.x, section 5.8) passing a host evdev node through.
 *
 * The device configuration answers the driver's select/subsel queries
 * (name, serial, ids, property bits, per-type event-code bits, absolute
 * axis ranges) from what the evdev node reported when it was opened.
 * Events read from the node go to the event queue (queue 0), one per
 * buffer; while the driver has no buffers the node is not read, so the
 * kernel's evdev buffer holds them (and reports SYN_DROPPED when it
 * overflows, which the guest sees as it would on real hardware).  The
 * status queue (queue 1) carries LED and sound events back to the node;
 * other event types from the guest are dropped, so a guest can switch the
 * host keyboard's LEDs but cannot inject input.
 *
 * The node is grabbed (EVIOCGRAB) while the device exists: its input goes
 * to the guest only.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/input.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_input.h>

#include "devices/virtio_devs.h"
#include "lib/log.h"
#include "virtio/iov.h"

#define INPUT_QUEUE_SIZE	64
#define INPUT_MAX_SEGS		INPUT_QUEUE_SIZE
#define INPUT_EVQ		0
#define INPUT_STATUSQ		1
#define INPUT_PENDING		128	/* events read, waiting for buffers */

/**
 * struct input - a virtio-input device
 * @vd: transport (first member)
 * @fd: the evdev node (or a test's socket)
 * @grabbed: EVIOCGRAB succeeded on @fd
 * @path: the node, for messages
 * @info: what the driver is told (set at creation)
 * @src: @fd in the I/O loop
 * @polled: @src is in the loop (I/O thread, or parked)
 * @gone: @fd reached end of file or hung up: never read again
 * @pend: events read but not delivered (I/O thread)
 * @pend_head: first undelivered entry of @pend
 * @pend_n: entries of @pend in use
 * @partial: bytes of an incomplete struct input_event (I/O thread)
 * @partial_len: bytes in @partial
 * @iov: segments of the chain being served (I/O thread)
 * @buf: the chain being served
 */
struct input {
	struct virtio_dev vd;
	int fd;
	bool grabbed;
	char *path;
	struct input_info info;
	struct vloop_src src;
	bool polled;
	bool gone;
	struct virtio_input_event pend[INPUT_PENDING];
	unsigned int pend_head;
	unsigned int pend_n;
	uint8_t partial[sizeof(struct input_event)];
	size_t partial_len;
	struct iovec iov[INPUT_MAX_SEGS];
	struct vq_buf buf;
};

/* Bytes of a bitmap up to its last non-zero byte. */
static unsigned int bitmap_len(const uint8_t *b, unsigned int n)
{
	while (n && !b[n - 1])
		n--;
	return n;
}

/* Fill the answer for the current select/subsel.  Called with cfg_lock. */
static void input_config_fill(struct input *in)
{
	struct virtio_input_config *cfg = (void *)in->vd.config;
	const struct input_info *info = &in->info;
	unsigned int sub = cfg->subsel, size = 0;

	memset(&cfg->u, 0, sizeof(cfg->u));
	switch (cfg->select) {
	case VIRTIO_INPUT_CFG_ID_NAME:
		size = strnlen(info->name, sizeof(info->name));
		memcpy(cfg->u.string, info->name, size);
		break;
	case VIRTIO_INPUT_CFG_ID_SERIAL:
		size = strnlen(info->serial, sizeof(info->serial));
		memcpy(cfg->u.string, info->serial, size);
		break;
	case VIRTIO_INPUT_CFG_ID_DEVIDS:
		cfg->u.ids.bustype = htole16(info->bustype);
		cfg->u.ids.vendor = htole16(info->vendor);
		cfg->u.ids.product = htole16(info->product);
		cfg->u.ids.version = htole16(info->version);
		size = sizeof(cfg->u.ids);
		break;
	case VIRTIO_INPUT_CFG_PROP_BITS:
		size = bitmap_len(info->prop, sizeof(info->prop));
		memcpy(cfg->u.bitmap, info->prop, size);
		break;
	case VIRTIO_INPUT_CFG_EV_BITS:
		if (sub && sub < 32) {
			size = bitmap_len(info->ev[sub], sizeof(info->ev[sub]));
			memcpy(cfg->u.bitmap, info->ev[sub], size);
		}
		break;
	case VIRTIO_INPUT_CFG_ABS_INFO:
		if (sub < 64 && (info->ev[EV_ABS][sub / 8] & (1u << (sub % 8)))) {
			cfg->u.abs.min = htole32(info->abs[sub].min);
			cfg->u.abs.max = htole32(info->abs[sub].max);
			cfg->u.abs.fuzz = htole32(info->abs[sub].fuzz);
			cfg->u.abs.flat = htole32(info->abs[sub].flat);
			cfg->u.abs.res = htole32(info->abs[sub].res);
			size = sizeof(cfg->u.abs);
		}
		break;
	default:
		break;
	}
	cfg->size = size;
}

static void input_config_write(struct virtio_dev *vd, unsigned int off,
			       unsigned int len, const uint8_t *data)
{
	struct virtio_input_config *cfg = (void *)vd->config;
	unsigned int i;
	bool changed = false;

	for (i = 0; i < len; i++) {
		if (off + i == offsetof(struct virtio_input_config, select)) {
			cfg->select = data[i];
			changed = true;
		} else if (off + i == offsetof(struct virtio_input_config, subsel)) {
			cfg->subsel = data[i];
			changed = true;
		}
	}
	if (changed)
		input_config_fill((struct input *)vd);
}

static void input_poll(struct input *in, bool on)
{
	if (on && in->gone)
		return;
	if (on == in->polled)
		return;
	if (on) {
		if (!vloop_add(in->vd.loop, &in->src, EPOLLIN))
			in->polled = true;
	} else {
		vloop_del(in->vd.loop, &in->src);
		in->polled = false;
	}
}

static void input_gone(struct input *in)
{
	log_warn("virtio-input: %s went away; no more input from it", in->path);
	input_poll(in, false);
	in->gone = true;
}

/* Read events while there is room; returns false at end of file. */
static bool input_read(struct input *in)
{
	struct input_event ev[32];
	uint8_t *raw = (uint8_t *)ev;
	size_t room = INPUT_PENDING - in->pend_n, have, i;
	ssize_t r;

	if (in->gone)
		return true;
	if (room > 32)
		room = 32;
	if (!room)
		return true;
	memcpy(raw, in->partial, in->partial_len);
	r = read(in->fd, raw + in->partial_len,
		 room * sizeof(ev[0]) - in->partial_len);
	if (r < 0)
		return errno == EAGAIN || errno == EINTR;
	if (r == 0)
		return false;
	have = in->partial_len + r;
	for (i = 0; i < have / sizeof(ev[0]); i++) {
		struct virtio_input_event *e =
			&in->pend[(in->pend_head + in->pend_n) % INPUT_PENDING];

		e->type = htole16(ev[i].type);
		e->code = htole16(ev[i].code);
		e->value = htole32(ev[i].value);
		in->pend_n++;
	}
	in->partial_len = have % sizeof(ev[0]);
	memcpy(in->partial, raw + have - in->partial_len, in->partial_len);
	return true;
}

/* Deliver pending events, reading more while buffers last. */
static void input_deliver(struct input *in, bool readable)
{
	struct virtio_dev *vd = &in->vd;
	bool pushed = false, eof = false;

	for (;;) {
		int ret;

		if (!in->pend_n && readable) {
			eof = !input_read(in);
			readable = false;
			if (!in->pend_n)
				break;
		}
		if (!in->pend_n)
			break;
		ret = virtio_dev_pop(vd, INPUT_EVQ, &in->buf);
		if (ret < 0)
			return;
		if (ret == 0)
			break;
		vq_push(virtio_dev_vq(vd, INPUT_EVQ), in->buf.head,
			iov_from_buf(vq_buf_in(&in->buf), in->buf.nr_in, 0,
				     &in->pend[in->pend_head],
				     sizeof(in->pend[0])));
		in->pend_head = (in->pend_head + 1) % INPUT_PENDING;
		in->pend_n--;
		pushed = true;
		if (!in->pend_n)
			readable = true;	/* more may be waiting */
	}
	if (pushed)
		virtio_dev_signal(vd, INPUT_EVQ);
	if (eof) {
		input_gone(in);
		return;
	}
	input_poll(in, in->pend_n == 0);
}

static void input_fd_cb(struct vloop_src *src, uint32_t events)
{
	struct input *in = src->arg;

	if (!virtio_dev_running(&in->vd))
		return;
	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
		input_gone(in);
		return;
	}
	input_deliver(in, true);
}

static void input_status(struct input *in)
{
	struct virtio_dev *vd = &in->vd;
	bool pushed = false;

	while (virtio_dev_pop(vd, INPUT_STATUSQ, &in->buf) > 0) {
		struct virtio_input_event e;
		struct input_event ev;

		if (iov_to_buf(in->buf.iov, in->buf.nr_out, 0, &e, sizeof(e)) ==
		    sizeof(e)) {
			memset(&ev, 0, sizeof(ev));
			ev.type = le16toh(e.type);
			ev.code = le16toh(e.code);
			ev.value = (int32_t)le32toh(e.value);
			/* LEDs and sounds only: the guest may not inject input. */
			if ((ev.type == EV_LED || ev.type == EV_SND) &&
			    write(in->fd, &ev, sizeof(ev)) != sizeof(ev))
				log_debug("virtio-input: %s: status event not written: %s",
					  in->path, strerror(errno));
		}
		vq_push(virtio_dev_vq(vd, INPUT_STATUSQ), in->buf.head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_dev_signal(vd, INPUT_STATUSQ);
}

static void input_notify(struct virtio_dev *vd, unsigned int q)
{
	struct input *in = (struct input *)vd;

	if (q == INPUT_EVQ)
		input_deliver(in, true);
	else
		input_status(in);
}

static int input_start(struct virtio_dev *vd)
{
	input_poll((struct input *)vd, true);
	return 0;
}

static void input_reset(struct virtio_dev *vd)
{
	struct input *in = (struct input *)vd;
	struct virtio_input_config *cfg = (void *)vd->config;

	input_poll(in, false);
	in->pend_head = in->pend_n = 0;
	in->partial_len = 0;
	pthread_mutex_lock(&vd->cfg_lock);
	cfg->select = cfg->subsel = 0;
	input_config_fill(in);
	pthread_mutex_unlock(&vd->cfg_lock);
}

static void input_free(struct virtio_dev *vd)
{
	struct input *in = (struct input *)vd;

	if (in->grabbed)
		ioctl(in->fd, EVIOCGRAB, 0);
	close(in->fd);
	free(in->path);
	free(in);
}

/*
 * A takeover that fails what the guest asked before: its status events
 * (LEDs, sounds) are not applied; event buffers stay for the next events.
 */
static enum virtio_fail_result input_fail_request(struct virtio_dev *vd,
						  unsigned int q,
						  const struct vq_buf *b,
						  uint32_t *len)
{
	if (q == INPUT_EVQ)
		return VIRTIO_FAIL_KEEP;
	*len = 0;
	return VIRTIO_FAIL_DONE;
}

static const struct virtio_dev_ops input_ops = {
	.queue_notify = input_notify,
	.start = input_start,
	.reset = input_reset,
	.config_write = input_config_write,
	.fail_request = input_fail_request,
	.free = input_free,
};

struct virtio_dev *input_new(int fd, const char *path,
			     const struct input_info *info)
{
	static const struct virtio_dev_info vinfo = {
		.name = "virtio-input",
		.device_id = VIRTIO_ID_INPUT,
		.pci_class = 0x098000,	/* input device, other */
		.num_queues = 2,
		.queue_size = INPUT_QUEUE_SIZE,
		.config_size = sizeof(struct virtio_input_config),
	};
	struct input *in = calloc(1, sizeof(*in));
	int ret;

	if (!in || !(in->path = strdup(path))) {
		log_error("virtio-input: out of memory");
		free(in);
		return NULL;
	}
	in->fd = fd;
	in->info = *info;
	in->buf.iov = in->iov;
	in->buf.cap = INPUT_MAX_SEGS;
	in->src.fd = fd;
	in->src.fn = input_fd_cb;
	in->src.arg = in;
	ret = virtio_dev_init(&in->vd, &input_ops, &vinfo);
	if (ret) {
		log_error("virtio-input: cannot create the device: %s", strerror(-ret));
		free(in->path);
		free(in);
		return NULL;
	}
	input_config_fill(in);
	return &in->vd;
}

int input_info_from_evdev(int fd, struct input_info *info)
{
	struct input_id id;
	unsigned int t, a;

	memset(info, 0, sizeof(*info));
	if (ioctl(fd, EVIOCGID, &id) < 0)
		return -errno;
	info->bustype = id.bustype;
	info->vendor = id.vendor;
	info->product = id.product;
	info->version = id.version;
	if (ioctl(fd, EVIOCGNAME(sizeof(info->name) - 1), info->name) < 0)
		info->name[0] = '\0';
	if (ioctl(fd, EVIOCGUNIQ(sizeof(info->serial) - 1), info->serial) < 0)
		info->serial[0] = '\0';
	if (ioctl(fd, EVIOCGPROP(sizeof(info->prop)), info->prop) < 0)
		memset(info->prop, 0, sizeof(info->prop));
	if (ioctl(fd, EVIOCGBIT(0, sizeof(info->ev[0])), info->ev[0]) < 0)
		return -errno;
	for (t = 1; t < 32 && t <= EV_MAX; t++) {
		if (!(info->ev[0][t / 8] & (1u << (t % 8))))
			continue;
		if (ioctl(fd, EVIOCGBIT(t, sizeof(info->ev[t])), info->ev[t]) < 0)
			memset(info->ev[t], 0, sizeof(info->ev[t]));
	}
	for (a = 0; a < 64 && a <= ABS_MAX; a++) {
		struct input_absinfo abs;

		if (!(info->ev[EV_ABS][a / 8] & (1u << (a % 8))))
			continue;
		if (ioctl(fd, EVIOCGABS(a), &abs) < 0)
			continue;
		info->abs[a].min = abs.minimum;
		info->abs[a].max = abs.maximum;
		info->abs[a].fuzz = abs.fuzz;
		info->abs[a].flat = abs.flat;
		info->abs[a].res = abs.resolution;
	}
	return 0;
}

struct virtio_dev *input_new_evdev(const char *path)
{
	struct input_info *info;
	struct virtio_dev *vd;
	int fd, version, ret;
	bool grabbed = false;

	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) {
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0)
			log_warn("virtio-input: %s is read-only for us: the guest cannot set its LEDs",
				 path);
	}
	if (fd < 0) {
		if (errno == ENOENT)
			log_error("virtio-input: %s does not exist (see /dev/input/by-id/ or /proc/bus/input/devices for the event nodes)",
				  path);
		else if (errno == EACCES || errno == EPERM)
			log_error("virtio-input: cannot open %s: permission denied (run as root or join the 'input' group)",
				  path);
		else
			log_errno("virtio-input: cannot open %s", path);
		return NULL;
	}
	if (ioctl(fd, EVIOCGVERSION, &version) < 0) {
		log_error("virtio-input: %s is not an evdev node (use /dev/input/eventN)",
			  path);
		close(fd);
		return NULL;
	}
	info = calloc(1, sizeof(*info));
	if (!info) {
		close(fd);
		return NULL;
	}
	ret = input_info_from_evdev(fd, info);
	if (ret) {
		log_error("virtio-input: cannot read the description of %s: %s",
			  path, strerror(-ret));
		goto fail;
	}
	if (ioctl(fd, EVIOCGRAB, 1) == 0)
		grabbed = true;
	else if (errno == EBUSY)
		log_warn("virtio-input: %s is grabbed by another program; the host keeps seeing its events too",
			 path);
	vd = input_new(fd, path, info);
	if (!vd)
		goto fail;
	((struct input *)vd)->grabbed = grabbed;
	free(info);
	log_info("virtio-input: %s (\"%s\")", path, ((struct input *)vd)->info.name);
	return vd;
fail:
	if (grabbed)
		ioctl(fd, EVIOCGRAB, 0);
	close(fd);
	free(info);
	return NULL;
}
