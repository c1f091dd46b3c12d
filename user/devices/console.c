// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-console (virtio 1.x, section 5.3) with a single port and no
 * multiport feature: queue 0 carries input to the guest, queue 1 its
 * output.  The guest sees it as /dev/hvc0 (hvc1 ... for further devices).
 *
 * Input is read from in_fd only while the guest has buffers for it: bytes
 * that do not fit wait in a small buffer and in_fd is not polled until the
 * driver posts more receive buffers (flow control back to the source).
 *
 * Output goes through a bounded ring drained by a writer thread (see
 * lib/out_ring.h): a terminal that stops reading never holds up the I/O
 * thread; what does not fit is dropped and counted.  (Holding the guest's
 * buffers instead would not help: its hvc console spins until the device
 * has taken the bytes.)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#include "devices/virtio_devs.h"
#include "lib/log.h"
#include "lib/out_ring.h"
#include "virtio/iov.h"

#define CON_QUEUE_SIZE	128
#define CON_MAX_SEGS	CON_QUEUE_SIZE
#define CON_RX		0
#define CON_TX		1
#define CON_PENDING	4096

/**
 * struct console - a virtio-console device
 * @vd: transport (first member)
 * @in_fd: input source, -1 if none (set at creation)
 * @out_fd: output sink, -1 to discard (set at creation)
 * @out: the ring in front of @out_fd, NULL when @out_fd is -1 (set at
 *	creation): a terminal that stops reading never holds up the I/O
 *	thread, so neither the guest's hvc nor a reset or pause waits on it
 * @close_fds: close both when freed
 * @in_src: @in_fd in the I/O loop
 * @in_polled: @in_src is in the loop (I/O thread, or parked)
 * @in_file: @in_fd cannot be polled (a regular file): read it on demand
 * @in_eof: @in_fd reached end of file
 * @pending: input read but not yet given to the guest (I/O thread)
 * @pend_off: first byte of @pending not yet delivered
 * @pend_len: bytes in @pending
 * @tty_raw: @saved_tio must be restored on @in_fd
 * @saved_tio: terminal settings before raw mode
 * @iov: segments of the chain being served (I/O thread)
 * @buf: the chain being served (I/O thread)
 */
struct console {
	struct virtio_dev vd;
	int in_fd;
	int out_fd;
	struct out_ring *out;
	bool close_fds;
	struct vloop_src in_src;
	bool in_polled;
	bool in_file;
	bool in_eof;
	uint8_t pending[CON_PENDING];
	size_t pend_off;
	size_t pend_len;
	bool tty_raw;
	struct termios saved_tio;
	struct iovec iov[CON_MAX_SEGS];
	struct vq_buf buf;
};

static void con_poll_input(struct console *c, bool on)
{
	if (c->in_fd < 0 || c->in_file || on == c->in_polled)
		return;
	if (on && c->in_eof)
		return;
	if (on) {
		if (vloop_add(c->vd.loop, &c->in_src, EPOLLIN) == 0)
			c->in_polled = true;
	} else {
		vloop_del(c->vd.loop, &c->in_src);
		c->in_polled = false;
	}
}

/* Read more input when the buffer is empty.  Returns bytes now pending. */
static size_t con_fill(struct console *c)
{
	ssize_t n;

	if (c->pend_off < c->pend_len)
		return c->pend_len - c->pend_off;
	c->pend_off = c->pend_len = 0;
	if (c->in_fd < 0 || c->in_eof)
		return 0;
	n = read(c->in_fd, c->pending, sizeof(c->pending));
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		log_errno("virtio-console: reading input");
		n = 0;
	}
	if (n == 0) {
		c->in_eof = true;
		con_poll_input(c, false);
		return 0;
	}
	c->pend_len = n;
	return n;
}

/* Give pending input to the guest; poll the source only if all fit. */
static void con_deliver(struct console *c, bool readable)
{
	struct virtio_dev *vd = &c->vd;
	bool pushed = false;

	for (;;) {
		size_t avail = c->pend_len - c->pend_off, n;
		int ret;

		if (!avail && (readable || c->in_file)) {
			avail = con_fill(c);
			readable = false;
		}
		if (!avail)
			break;
		ret = virtio_dev_pop(vd, CON_RX, &c->buf);
		if (ret <= 0)
			break;
		n = iov_from_buf(vq_buf_in(&c->buf), c->buf.nr_in, 0,
				 c->pending + c->pend_off, avail);
		c->pend_off += n;
		vq_push(virtio_dev_vq(vd, CON_RX), c->buf.head, n);
		pushed = true;
	}
	if (pushed)
		virtio_dev_signal(vd, CON_RX);
	con_poll_input(c, c->pend_off == c->pend_len);
}

static void con_input_cb(struct vloop_src *src, uint32_t events)
{
	struct console *c = src->arg;

	if (virtio_dev_running(&c->vd))
		con_deliver(c, true);
}

/* Queue the output; what does not fit in the ring is dropped and counted. */
static void con_write_all(struct console *c, const struct iovec *iov,
			  unsigned int n)
{
	if (c->out)
		out_ring_writev(c->out, iov, n);
}

uint64_t console_out_dropped(struct virtio_dev *vd)
{
	struct console *c = (struct console *)vd;

	return c->out ? out_ring_dropped(c->out) : 0;
}

int console_out_flush(struct virtio_dev *vd, unsigned int idle_ms)
{
	struct console *c = (struct console *)vd;

	return c->out ? out_ring_flush(c->out, idle_ms) : 0;
}

static void con_notify(struct virtio_dev *vd, unsigned int q)
{
	struct console *c = (struct console *)vd;
	bool pushed = false;

	if (q == CON_RX) {
		con_deliver(c, false);
		return;
	}
	while (virtio_dev_pop(vd, CON_TX, &c->buf) > 0) {
		con_write_all(c, c->buf.iov, c->buf.nr_out);
		vq_push(virtio_dev_vq(vd, CON_TX), c->buf.head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_dev_signal(vd, CON_TX);
}

static int con_start(struct virtio_dev *vd)
{
	struct console *c = (struct console *)vd;

	con_poll_input(c, true);
	return 0;
}

static void con_reset(struct virtio_dev *vd)
{
	struct console *c = (struct console *)vd;

	con_poll_input(c, false);
	c->pend_off = c->pend_len = 0;
}

static void con_free(struct virtio_dev *vd)
{
	struct console *c = (struct console *)vd;

	/* What the guest wrote last, given a little time to get out. */
	out_ring_free(c->out, 2000);
	if (c->tty_raw)
		tcsetattr(c->in_fd, TCSAFLUSH, &c->saved_tio);
	if (c->close_fds) {
		if (c->in_fd >= 0)
			close(c->in_fd);
		if (c->out_fd >= 0 && c->out_fd != c->in_fd)
			close(c->out_fd);
	}
	free(c);
}

/*
 * A takeover that fails what the guest asked before: its output is
 * dropped; input buffers stay for the next input.
 */
static enum virtio_fail_result con_fail_request(struct virtio_dev *vd,
						unsigned int q,
						const struct vq_buf *b,
						uint32_t *len)
{
	if (q == CON_RX)
		return VIRTIO_FAIL_KEEP;
	*len = 0;
	return VIRTIO_FAIL_DONE;
}

static const struct virtio_dev_ops con_ops = {
	.queue_notify = con_notify,
	.start = con_start,
	.reset = con_reset,
	.fail_request = con_fail_request,
	.free = con_free,
};

struct virtio_dev *console_new(const struct console_cfg *cfg)
{
	static const struct virtio_dev_info info = {
		.name = "virtio-console",
		.device_id = VIRTIO_ID_CONSOLE,
		.pci_class = 0x078000,	/* simple communication controller */
		.num_queues = 2,
		.queue_size = CON_QUEUE_SIZE,
		.config_size = sizeof(struct virtio_console_config),
	};
	struct console *c = calloc(1, sizeof(*c));
	struct stat st;
	int ret;

	if (!c) {
		log_error("virtio-console: out of memory");
		return NULL;
	}
	c->in_fd = cfg->in_fd;
	c->out_fd = cfg->out_fd;
	c->close_fds = cfg->close_fds;
	c->buf.iov = c->iov;
	c->buf.cap = CON_MAX_SEGS;
	c->in_src.fd = c->in_fd;
	c->in_src.fn = con_input_cb;
	c->in_src.arg = c;
	if (c->in_fd >= 0 && !fstat(c->in_fd, &st) &&
	    (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		c->in_file = true;	/* epoll refuses regular files */

	if (c->out_fd >= 0) {
		c->out = out_ring_new(c->out_fd, OUT_RING_SIZE, "virtio-console");
		if (!c->out) {
			log_errno("virtio-console: cannot start the output thread");
			free(c);
			return NULL;
		}
	}
	ret = virtio_dev_init(&c->vd, &con_ops, &info);
	if (ret) {
		log_error("virtio-console: cannot create the device: %s",
			  strerror(-ret));
		out_ring_free(c->out, 0);
		free(c);
		return NULL;
	}
	if (c->in_fd >= 0 && isatty(c->in_fd) &&
	    !tcgetattr(c->in_fd, &c->saved_tio)) {
		struct termios raw = c->saved_tio;

		/* Keystrokes go to the guest as typed; ^C still stops us. */
		cfmakeraw(&raw);
		raw.c_lflag |= ISIG;
		raw.c_oflag |= OPOST | ONLCR;
		if (!tcsetattr(c->in_fd, TCSAFLUSH, &raw))
			c->tty_raw = true;
	}
	return &c->vd;
}
