// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/devices/console.c: guest output to a pipe, input from
 * a pipe with flow control (input waits while the guest has no buffers),
 * end of input, a regular file as input, and reset.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_ids.h>

#include "devices/virtio_devs.h"
#include "lib/out_ring.h"
#include "tap.h"
#include "vtest.h"

#define DEVFN PCI_DEVFN(1, 0)

static void put_rx(struct vt_dev *d, uint64_t gpa, uint32_t len)
{
	struct vt_seg seg = { gpa, len, true };

	vt_add(d, 0, &seg, 1);
	vt_kick(d, 0);
}

static void test_pipes(void)
{
	struct vt_host *vh = vt_host_new();
	struct pci_bus *bus = pci_bus_new(&vh->host);
	int in[2], out[2];
	struct console_cfg cfg;
	struct virtio_dev *vd;
	struct vt_dev d;
	uint64_t tx, rx1, rx2;
	uint32_t id, len;
	char got[64] = { 0 };
	ssize_t n;

	if (pipe(in) || pipe(out))
		return;
	cfg.in_fd = in[0];
	cfg.out_fd = out[1];
	cfg.close_fds = true;
	vd = console_new(&cfg);
	TAP_CHECK(vd != NULL, "console: created");
	pci_bus_add(bus, DEVFN, &vd->func);
	virtio_dev_start(vd);
	vt_probe(&d, vh, bus, DEVFN, 0xc0000000);
	TAP_EQ_INT(vt_cfg(&d, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_CONSOLE,
		   "console: device id 0x1043");
	TAP_EQ_INT(vt_bringup(&d, 0, 2), 0, "console: driver up");

	/* Output. */
	tx = vt_alloc(vh, 64, 8);
	memcpy(vt_ptr(vh, tx), "login: ", 7);
	memcpy(vt_ptr(vh, tx + 32), "root\n", 5);
	{
		struct vt_seg seg[2] = { { tx, 7, false }, { tx + 32, 5, false } };

		vt_add(&d, 1, seg, 2);
	}
	vt_kick(&d, 1);
	TAP_EQ_INT(vt_wait_used(&d, 1, &id, &len), 1, "console: output consumed");
	n = read(out[0], got, sizeof(got) - 1);
	TAP_CHECK(n == 12 && !memcmp(got, "login: root\n", 12),
		  "console: output reaches the sink in order");

	/* Input arriving before any receive buffer waits. */
	if (write(in[1], "abcdefgh", 8) != 8)
		return;
	vt_msleep(30);
	TAP_EQ_INT(vt_used_pending(&d, 0), 0, "console: no receive buffer, nothing delivered");
	rx1 = vt_alloc(vh, 64, 8);
	rx2 = vt_alloc(vh, 64, 8);
	put_rx(&d, rx1, 5);
	TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && len == 5 &&
		  !memcmp(vt_ptr(vh, rx1), "abcde", 5),
		  "console: first buffer gets 5 bytes");
	put_rx(&d, rx2, 64);
	TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && len == 3 &&
		  !memcmp(vt_ptr(vh, rx2), "fgh", 3),
		  "console: next buffer gets the rest");
	/* Buffer first, then input. */
	put_rx(&d, rx1, 64);
	if (write(in[1], "xyz", 3) != 3)
		return;
	TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && len == 3 &&
		  !memcmp(vt_ptr(vh, rx1), "xyz", 3),
		  "console: posted buffer filled when input arrives");

	/* Reset drops pending input and the device comes back. */
	if (write(in[1], "lost", 4) != 4)
		return;
	vt_msleep(30);
	TAP_EQ_INT(vt_bringup(&d, 0, 2), 0, "console: reset and up again");
	put_rx(&d, rx2, 64);
	if (write(in[1], "new", 3) != 3)
		return;
	TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && len >= 3,
		  "console: input flows after reset");

	/* End of input: the device keeps working for output. */
	close(in[1]);
	vt_msleep(30);
	memcpy(vt_ptr(vh, tx), "bye", 3);
	{
		struct vt_seg seg = { tx, 3, false };

		vt_add(&d, 1, &seg, 1);
	}
	vt_kick(&d, 1);
	TAP_EQ_INT(vt_wait_used(&d, 1, &id, &len), 1, "console: output after input EOF");
	n = read(out[0], got, sizeof(got));
	TAP_CHECK(n == 3 && !memcmp(got, "bye", 3), "console: ... reaches the sink");
	pci_bus_free(bus);
	close(out[0]);
	vt_host_free(vh);
}

static void test_file_input_and_sink(void)
{
	struct vt_host *vh = vt_host_new();
	struct pci_bus *bus = pci_bus_new(&vh->host);
	char path[] = "/tmp/vbridge-con-XXXXXX";
	int fd = mkstemp(path);
	struct console_cfg cfg;
	struct virtio_dev *vd;
	struct vt_dev d;
	uint64_t rx, tx;
	uint32_t id, len;

	if (fd < 0 || write(fd, "from a file", 11) != 11)
		return;
	lseek(fd, 0, SEEK_SET);
	unlink(path);
	cfg.in_fd = fd;
	cfg.out_fd = -1;
	cfg.close_fds = true;
	vd = console_new(&cfg);
	pci_bus_add(bus, DEVFN, &vd->func);
	virtio_dev_start(vd);
	vt_probe(&d, vh, bus, DEVFN, 0xc0000000);
	vt_bringup(&d, 0, 2);
	rx = vt_alloc(vh, 64, 8);
	put_rx(&d, rx, 64);
	TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && len == 11 &&
		  !memcmp(vt_ptr(vh, rx), "from a file", 11),
		  "console: a regular file as input is read on demand");
	tx = vt_alloc(vh, 16, 8);
	{
		struct vt_seg seg = { tx, 16, false };

		vt_add(&d, 1, &seg, 1);
	}
	vt_kick(&d, 1);
	TAP_EQ_INT(vt_wait_used(&d, 1, &id, &len), 1, "console: sink output consumed");
	pci_bus_free(bus);
	vt_host_free(vh);
}

struct reader {
	int fd;
	uint8_t *buf;
	size_t cap, total;
};

/* Read fd to its end (keeping the first cap bytes). */
static void *pipe_reader(void *arg)
{
	struct reader *r = arg;
	uint8_t sink[4096];
	ssize_t n;

	for (;;) {
		if (r->total < r->cap)
			n = read(r->fd, r->buf + r->total, r->cap - r->total);
		else
			n = read(r->fd, sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		if (r->total < r->cap)
			r->total += n;
	}
}

/*
 * Output to a pipe nobody reads: the guest's TX buffers keep being
 * consumed (the I/O thread never waits for the terminal), what does not
 * fit is dropped and counted, and what was kept arrives in order once
 * someone reads.
 */
#define STALL_CHUNK	(64u << 10)
#define STALL_CHUNKS	24u

static void test_stalled_output(void)
{
	static uint8_t got[STALL_CHUNK * STALL_CHUNKS];
	struct vt_host *vh = vt_host_new();
	struct pci_bus *bus = pci_bus_new(&vh->host);
	struct reader rd = { .buf = got, .cap = sizeof(got) };
	struct console_cfg cfg;
	struct virtio_dev *vd;
	struct vt_dev d;
	uint64_t tx, dropped;
	uint32_t id, len;
	unsigned int k, consumed = 0;
	bool order = true;
	pthread_t rt;
	size_t i;
	int out[2];

	if (pipe(out))
		return;
	cfg.in_fd = -1;
	cfg.out_fd = out[1];
	cfg.close_fds = true;
	vd = console_new(&cfg);
	pci_bus_add(bus, DEVFN, &vd->func);
	virtio_dev_start(vd);
	vt_probe(&d, vh, bus, DEVFN, 0xc0000000);
	TAP_EQ_INT(vt_bringup(&d, 0, 2), 0, "stall: console up");
	tx = vt_alloc(vh, STALL_CHUNK, 8);
	for (k = 0; k < STALL_CHUNKS; k++) {
		struct vt_seg seg = { tx, STALL_CHUNK, false };

		memset(vt_ptr(vh, tx), k, STALL_CHUNK);
		vt_add(&d, 1, &seg, 1);
		vt_kick(&d, 1);
		if (!vt_wait_used(&d, 1, &id, &len))
			break;
		consumed++;
	}
	TAP_EQ_INT(consumed, STALL_CHUNKS,
		   "stall: every TX buffer consumed while nobody reads the output");
	dropped = console_out_dropped(vd);
	TAP_CHECK(dropped > 0 && dropped <= (uint64_t)STALL_CHUNK * STALL_CHUNKS - OUT_RING_SIZE,
		  "stall: the bytes that did not fit were dropped and counted");
	rd.fd = out[0];
	pthread_create(&rt, NULL, pipe_reader, &rd);
	if (consumed < STALL_CHUNKS) {
		/* Without the ring: let the stuck write finish. */
		vt_wait_used(&d, 1, &id, &len);
		consumed++;
	}
	TAP_EQ_INT(console_out_flush(vd, 10000), 0, "stall: with a reader the output drains");
	pci_bus_free(bus);	/* closes out[1] */
	pthread_join(rt, NULL);
	/*
	 * Chunk k is k's bytes.  How much of each chunk was dropped depends
	 * on when the output thread moved the earlier ones into the pipe, so
	 * what arrives is not a prefix; it must never go back to an earlier
	 * chunk.
	 */
	for (i = 0; i < rd.total; i++)
		if (got[i] >= STALL_CHUNKS || (i && got[i] < got[i - 1]))
			order = false;
	TAP_EQ_INT(rd.total, (uint64_t)STALL_CHUNK * consumed - dropped,
		   "stall: every byte kept arrives");
	TAP_CHECK(order, "stall: in the order written");
	close(out[0]);
	vt_host_free(vh);
}

int main(void)
{
	test_pipes();
	test_stalled_output();
	test_file_input_and_sink();
	return tap_done();
}
