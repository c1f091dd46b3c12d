// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/devices/blk.c on a temporary image: read, write,
 * flush, get-id, discard, write-zeroes, read-only images, malformed
 * requests, 32 requests in flight, O_DIRECT, and the errors for missing,
 * empty, locked or odd images; multi-queue, completions out of order, and
 * resets with requests in flight.  Everything runs twice: on io_uring
 * (skipped where the kernel refuses it) and on the worker threads
 * (VBRIDGE_NO_IO_URING=1).
 */
#include <endian.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/userfaultfd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "devices/virtio_devs.h"
#include "lib/ioring.h"
#include "tap.h"
#include "vtest.h"

#define DEVFN		PCI_DEVFN(3, 0)
#define IMG_SIZE	(1 << 20)

static char img[64];
static const char *io_path = "uring";	/* which backend the run tests */

struct bdev {
	struct vt_host *vh;
	struct pci_bus *bus;
	struct virtio_dev *vd;
	struct vt_dev d;
};

/* The device, its driver up with c->num_queues queues (MQ when > 1). */
static int bdev_up(struct bdev *b, const struct blk_cfg *c)
{
	unsigned int nq = c->num_queues ? c->num_queues : 1;

	b->vh = vt_host_new();
	b->bus = pci_bus_new(&b->vh->host);
	b->vd = blk_new(c);
	if (!b->vd)
		return -1;
	pci_bus_add(b->bus, DEVFN, &b->vd->func);
	virtio_dev_start(b->vd);
	vt_probe(&b->d, b->vh, b->bus, DEVFN, 0xc0000000);
	return vt_bringup(&b->d, (1ull << VIRTIO_BLK_F_FLUSH) |
			  (1ull << VIRTIO_BLK_F_SEG_MAX) |
			  (1ull << VIRTIO_BLK_F_BLK_SIZE) |
			  (vt_device_features(&b->d) &
			   ((1ull << VIRTIO_BLK_F_RO) | (1ull << VIRTIO_BLK_F_DISCARD) |
			    (1ull << VIRTIO_BLK_F_WRITE_ZEROES))) |
			  (nq > 1 ? 1ull << VIRTIO_BLK_F_MQ : 0), nq);
}

static void bdev_down(struct bdev *b)
{
	pci_bus_free(b->bus);
	vt_host_free(b->vh);
}

/*
 * Submit one request: header, then optional readable data, then optional
 * writable data, then the status byte.  Returns the status (or -1 when not
 * completed) and sets *used.
 */
static int blk_req(struct bdev *b, uint32_t type, uint64_t sector,
		   uint64_t out_gpa, uint32_t out_len, uint64_t in_gpa,
		   uint32_t in_len, uint32_t *used)
{
	uint64_t hdr = vt_alloc(b->vh, 16, 16), st = vt_alloc(b->vh, 1, 1);
	struct virtio_blk_outhdr *h = vt_ptr(b->vh, hdr);
	struct vt_seg seg[4];
	unsigned int n = 0;
	uint32_t id, len;

	h->type = htole32(type);
	h->ioprio = 0;
	h->sector = htole64(sector);
	*(uint8_t *)vt_ptr(b->vh, st) = 0xee;
	seg[n++] = (struct vt_seg){ hdr, 16, false };
	if (out_len)
		seg[n++] = (struct vt_seg){ out_gpa, out_len, false };
	if (in_len)
		seg[n++] = (struct vt_seg){ in_gpa, in_len, true };
	seg[n++] = (struct vt_seg){ st, 1, true };
	vt_add(&b->d, 0, seg, n);
	vt_kick(&b->d, 0);
	if (!vt_wait_used(&b->d, 0, &id, &len))
		return -1;
	if (used)
		*used = len;
	return *(uint8_t *)vt_ptr(b->vh, st);
}

static void fill_image(void)
{
	int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	uint8_t *p = malloc(IMG_SIZE);
	unsigned int i;

	for (i = 0; i < IMG_SIZE; i++)
		p[i] = (i / 512) ^ (i & 0xff);
	if (write(fd, p, IMG_SIZE) != IMG_SIZE)
		abort();
	close(fd);
	free(p);
}

static uint8_t pattern(unsigned int off)
{
	return (off / 512) ^ (off & 0xff);
}

static bool data_ok(const uint8_t *p, unsigned int off, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		if (p[i] != pattern(off + i))
			return false;
	return true;
}

static void test_rw(bool direct)
{
	struct blk_cfg c = { .path = img, .serial = "SERIAL-0123456789ABC", .direct = direct };
	char tag[32];
	struct bdev b;
	struct virtio_blk_config cfg;
	uint64_t buf, buf2;
	uint32_t used = 0;
	char msg[128];
	unsigned int i;

#define T(s) (snprintf(msg, sizeof(msg), "%s: %s", tag, s), msg)
	snprintf(tag, sizeof(tag), "blk%s[%s]", direct ? "(direct)" : "", io_path);
	fill_image();
	if (bdev_up(&b, &c)) {
		if (direct) {
			VT_SKIP("O_DIRECT not supported on %s", img);
			if (b.vd)
				bdev_down(&b);
			return;
		}
		TAP_CHECK(0, T("device up"));
		return;
	}
	TAP_EQ_INT(vt_cfg(&b.d, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_BLOCK,
		   T("device id 0x1042"));
	for (i = 0; i < sizeof(cfg); i++)
		((uint8_t *)&cfg)[i] = vt_rd(&b.d, b.d.device + i, 1);
	TAP_EQ_U64(le64toh(cfg.capacity), IMG_SIZE / 512, T("capacity in sectors"));
	TAP_EQ_INT(le32toh(cfg.seg_max), 254, T("seg_max"));
	{
		/* With O_DIRECT: the file system's direct I/O alignment. */
		unsigned int want = 512;
		struct statx sx;
		int fd = open(img, O_RDONLY);

		if (direct && fd >= 0 &&
		    !statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) &&
		    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align > 512)
			want = sx.stx_dio_offset_align;
		if (fd >= 0)
			close(fd);
		TAP_EQ_INT(le32toh(cfg.blk_size), want, T("blk_size"));
	}

	buf = vt_alloc(b.vh, 65536, 4096);
	buf2 = vt_alloc(b.vh, 65536, 4096);
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, 8, 0, 0, buf, 4096, &used),
		   VIRTIO_BLK_S_OK, T("read 4K at sector 8"));
	TAP_EQ_INT(used, 4097, T("read: used length = data + status"));
	TAP_CHECK(data_ok(vt_ptr(b.vh, buf), 8 * 512, 4096), T("read: data matches the image"));

	memset(vt_ptr(b.vh, buf), 0x5a, 8192);
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_OUT, 100, buf, 8192, 0, 0, &used),
		   VIRTIO_BLK_S_OK, T("write 8K at sector 100"));
	TAP_EQ_INT(used, 1, T("write: used length = status"));
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, 100, 0, 0, buf2, 8192, NULL),
		   VIRTIO_BLK_S_OK, T("read back"));
	TAP_CHECK(!memcmp(vt_ptr(b.vh, buf2), vt_ptr(b.vh, buf), 8192),
		  T("read back: what was written"));
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, 0, &used),
		   VIRTIO_BLK_S_OK, T("flush"));

	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_GET_ID, 0, 0, 0, buf, 20, &used),
		   VIRTIO_BLK_S_OK, T("get-id"));
	TAP_CHECK(used == 21 && !memcmp(vt_ptr(b.vh, buf), "SERIAL-0123456789ABC", 20),
		  T("get-id: 20-byte serial"));

	/* Range and shape checks. */
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, IMG_SIZE / 512 - 1, 0, 0, buf, 1024, &used),
		   VIRTIO_BLK_S_IOERR, T("read past the end"));
	TAP_EQ_INT(used, 1, T("read past the end: nothing written"));
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, ~0ull - 1, 0, 0, buf, 1024, NULL),
		   VIRTIO_BLK_S_IOERR, T("read at a wrapping sector"));
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, 0, 0, 0, buf, 100, NULL),
		   VIRTIO_BLK_S_IOERR, T("read of 100 bytes (not whole sectors)"));
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_OUT, IMG_SIZE / 512, buf, 512, 0, 0, NULL),
		   VIRTIO_BLK_S_IOERR, T("write past the end"));
	TAP_EQ_INT(blk_req(&b, 77, 0, 0, 0, 0, 0, NULL), VIRTIO_BLK_S_UNSUPP,
		   T("unknown request type"));
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, 0, 0, 0, 0, 0, &used), VIRTIO_BLK_S_OK,
		   T("zero-length read"));

	/* Discard and write-zeroes. */
	if (vt_device_features(&b.d) & (1ull << VIRTIO_BLK_F_DISCARD)) {
		struct virtio_blk_discard_write_zeroes *s = vt_ptr(b.vh, buf);

		s->sector = htole64(16);
		s->num_sectors = htole32(8);
		s->flags = 0;
		TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_WRITE_ZEROES, 0, buf, 16, 0, 0, NULL),
			   VIRTIO_BLK_S_OK, T("write-zeroes 8 sectors"));
		blk_req(&b, VIRTIO_BLK_T_IN, 16, 0, 0, buf2, 4096, NULL);
		{
			static const uint8_t zero[4096];

			TAP_CHECK(!memcmp(vt_ptr(b.vh, buf2), zero, 4096),
				  T("write-zeroes: reads back zeros"));
		}
		TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, 24, 0, 0, buf2, 512, NULL),
			   VIRTIO_BLK_S_OK, T("read after the zeroed range"));
		TAP_CHECK(data_ok(vt_ptr(b.vh, buf2), 24 * 512, 512),
			  T("write-zeroes: neighbour untouched"));
		s->flags = htole32(VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
		s->sector = htole64(32);
		TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_WRITE_ZEROES, 0, buf, 16, 0, 0, NULL),
			   VIRTIO_BLK_S_OK, T("write-zeroes with unmap"));
		s->flags = 0;
		TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_DISCARD, 0, buf, 16, 0, 0, NULL),
			   VIRTIO_BLK_S_OK, T("discard"));
		s->flags = htole32(VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
		TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_DISCARD, 0, buf, 16, 0, 0, NULL),
			   VIRTIO_BLK_S_UNSUPP, T("discard with the unmap flag"));
		s->flags = htole32(0x80);
		TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_WRITE_ZEROES, 0, buf, 16, 0, 0, NULL),
			   VIRTIO_BLK_S_UNSUPP, T("write-zeroes with a reserved flag"));
		s->flags = 0;
		s->sector = htole64(IMG_SIZE / 512 - 4);
		TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_DISCARD, 0, buf, 16, 0, 0, NULL),
			   VIRTIO_BLK_S_IOERR, T("discard past the end"));
		TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_DISCARD, 0, buf, 12, 0, 0, NULL),
			   VIRTIO_BLK_S_IOERR, T("discard with a partial segment"));
		TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_DISCARD, 0, buf, 33 * 16, 0, 0, NULL),
			   VIRTIO_BLK_S_IOERR, T("discard with too many segments"));
	}

	/* 32 requests in flight at once, all correct. */
	{
		uint64_t bufs = vt_alloc(b.vh, 32 * 4096, 4096);
		uint64_t hdrs = vt_alloc(b.vh, 32 * 16, 16), sts = vt_alloc(b.vh, 32, 1);
		unsigned int ok = 0, done = 0;

		fill_image();
		for (i = 0; i < 32; i++) {
			struct virtio_blk_outhdr *h = vt_ptr(b.vh, hdrs + 16 * i);
			struct vt_seg seg[3] = {
				{ hdrs + 16 * i, 16, false },
				{ bufs + 4096 * i, 4096, true },
				{ sts + i, 1, true },
			};

			h->type = htole32(VIRTIO_BLK_T_IN);
			h->sector = htole64(8 * i);
			*(uint8_t *)vt_ptr(b.vh, sts + i) = 0xee;
			vt_add(&b.d, 0, seg, 3);
		}
		vt_kick(&b.d, 0);
		for (i = 0; i < 32; i++) {
			uint32_t id, len;

			if (!vt_wait_used(&b.d, 0, &id, &len))
				break;
			done++;
		}
		for (i = 0; i < 32; i++)
			if (*(uint8_t *)vt_ptr(b.vh, sts + i) == 0 &&
			    data_ok(vt_ptr(b.vh, bufs + 4096 * i), 4096 * i, 4096))
				ok++;
		TAP_EQ_INT(done, 32, T("QD32: all completed"));
		TAP_EQ_INT(ok, 32, T("QD32: all data correct"));
	}

	/* A request with no writable byte for the status fails the device. */
	{
		uint64_t hdr = vt_alloc(b.vh, 16, 16);
		struct vt_seg seg = { hdr, 16, false };

		vt_add(&b.d, 0, &seg, 1);
		vt_kick(&b.d, 0);
		TAP_CHECK(vt_wait_for(vt_needs_reset_cond, &b.d),
			  T("no status byte: DEVICE_NEEDS_RESET"));
	}
	bdev_down(&b);
#undef T
}

static void test_readonly(void)
{
	struct blk_cfg c = { .path = img, .readonly = true };
	struct bdev b;
	uint64_t buf;

	fill_image();
	TAP_EQ_INT(bdev_up(&b, &c), 0, "ro: device up");
	TAP_CHECK(vt_device_features(&b.d) & (1ull << VIRTIO_BLK_F_RO), "ro: RO feature");
	TAP_CHECK(!(vt_device_features(&b.d) & (1ull << VIRTIO_BLK_F_DISCARD)),
		  "ro: no discard offered");
	buf = vt_alloc(b.vh, 4096, 4096);
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, 0, 0, 0, buf, 512, NULL),
		   VIRTIO_BLK_S_OK, "ro: read works");
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_OUT, 0, buf, 512, 0, 0, NULL),
		   VIRTIO_BLK_S_IOERR, "ro: write fails");
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_DISCARD, 0, buf, 16, 0, 0, NULL),
		   VIRTIO_BLK_S_UNSUPP, "ro: discard unsupported");
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_GET_ID, 0, 0, 0, buf, 20, NULL),
		   VIRTIO_BLK_S_OK, "ro: get-id without a serial");
	TAP_EQ_INT(((uint8_t *)vt_ptr(b.vh, buf))[0], 0, "ro: empty serial");
	{
		int fd = open(img, O_RDONLY);
		uint8_t first;

		TAP_CHECK(fd >= 0 && read(fd, &first, 1) == 1 && first == pattern(0),
			  "ro: image unchanged");
		close(fd);
	}
	bdev_down(&b);
}

/* block_size= (crosvm's disk key): the logical block size offered. */
static void test_block_size(void)
{
	struct blk_cfg c = { .path = img, .block_size = 4096 };
	struct bdev b;
	uint64_t buf;
	uint32_t used = 0;

	fill_image();
	if (bdev_up(&b, &c)) {
		TAP_CHECK(0, "block_size: device up");
		return;
	}
	TAP_EQ_INT(vt_rd(&b.d, b.d.device + offsetof(struct virtio_blk_config, blk_size), 4),
		   4096, "block_size=4096: blk_size 4096");
	buf = vt_alloc(b.vh, 8192, 4096);
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, 8, 0, 0, buf, 4096, &used),
		   VIRTIO_BLK_S_OK, "block_size=4096: a 4 KiB read at a 4 KiB offset");
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, 1, 0, 0, buf, 4096, &used),
		   VIRTIO_BLK_S_IOERR, "block_size=4096: a read off the block grid refused");
	bdev_down(&b);
}

/* Whether every thread but the main one blocks sig (/proc's SigBlk). */
static int others_block(int sig, int *threads)
{
	char path[300], line[128];
	struct dirent *e;
	int ok = 1;
	DIR *d;

	*threads = 0;
	d = opendir("/proc/self/task");
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		unsigned long long blk = 0;
		FILE *f;

		if (e->d_name[0] == '.' || atoi(e->d_name) == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "SigBlk: %llx", &blk) == 1)
				break;
		fclose(f);
		(*threads)++;
		if (!(blk & 1ULL << (sig - 1)))
			ok = 0;
	}
	closedir(d);
	return ok;
}

/*
 * The I/O workers start with the device, before vbridge run blocks
 * SIGTERM for its signalfd: they must never take it (it would kill the
 * process instead of shutting the guest down).
 */
static void test_worker_signals(void)
{
	struct blk_cfg c = { .path = img };
	struct bdev b;
	char msg[128];
	int threads;

	fill_image();
	if (bdev_up(&b, &c)) {
		TAP_CHECK(0, "signals: device up");
		return;
	}
	/* (io_uring's own workers are the kernel's and block every signal) */
	snprintf(msg, sizeof(msg),
		 "signals[%s]: every I/O thread blocks SIGTERM (the main thread's signalfd takes it)",
		 io_path);
	TAP_CHECK(others_block(SIGTERM, &threads) &&
		  (threads > 0 || !strcmp(io_path, "uring")), msg);
	bdev_down(&b);
}

static void test_open_errors(void)
{
	struct blk_cfg c = { 0 };
	char empty[] = "/tmp/vbridge-blk-empty-XXXXXX";
	struct virtio_dev *vd, *vd2;
	int fd;

	c.path = "/nonexistent/disk.img";
	TAP_CHECK(blk_new(&c) == NULL, "open: missing image refused");
	c.path = "/tmp";
	TAP_CHECK(blk_new(&c) == NULL, "open: a directory refused");
	fd = mkstemp(empty);
	close(fd);
	c.path = empty;
	TAP_CHECK(blk_new(&c) == NULL, "open: empty image refused");
	unlink(empty);

	fill_image();
	c.path = img;
	vd = blk_new(&c);
	TAP_CHECK(vd != NULL, "lock: first writer");
	vd2 = blk_new(&c);
	TAP_CHECK(vd2 == NULL, "lock: second writer refused");
	c.readonly = true;
	vd2 = blk_new(&c);
	TAP_CHECK(vd2 == NULL, "lock: reader refused while a writer holds it");
	if (vd)
		pci_func_free(&vd->func);
	vd = blk_new(&c);
	vd2 = blk_new(&c);
	TAP_CHECK(vd && vd2, "lock: two readers share an image");
	if (vd)
		pci_func_free(&vd->func);
	if (vd2)
		pci_func_free(&vd2->func);

	/* An image that is not a multiple of 512 bytes: the tail is hidden. */
	fd = open(img, O_WRONLY | O_TRUNC);
	if (ftruncate(fd, 1000))
		abort();
	close(fd);
	c.readonly = false;
	vd = blk_new(&c);
	TAP_CHECK(vd && le64toh(*(uint64_t *)vd->config) == 1,
		  "odd size: capacity rounds down to one sector");
	if (vd)
		pci_func_free(&vd->func);

	if (geteuid() != 0) {
		fd = open(img, O_WRONLY);
		fchmod(fd, 0);
		close(fd);
		c.readonly = true;
		TAP_CHECK(blk_new(&c) == NULL, "open: unreadable image refused");
		chmod(img, 0600);
	} else {
		VT_SKIP("unreadable image: running as root");
	}
}

/*
 * inline_io: no worker threads; with the I/O loop driven by vloop_poll()
 * on this thread, every request of a batch is done by the time it
 * returns, in ring order.
 */
static void test_inline(void)
{
	struct blk_cfg c = { .path = img, .inline_io = true };
	struct vt_host *vh = vt_host_new();
	struct pci_bus *bus = pci_bus_new(&vh->host);
	struct virtio_dev *vd;
	struct vt_dev d;
	uint64_t hdr, buf, st;
	unsigned int i;
	uint32_t id, len;
	bool ok = true;

	fill_image();
	vd = blk_new(&c);
	TAP_CHECK(vd != NULL, "inline: device made without workers");
	if (!vd) {
		pci_bus_free(bus);
		vt_host_free(vh);
		return;
	}
	pci_bus_add(bus, DEVFN, &vd->func);
	vt_probe(&d, vh, bus, DEVFN, 0xc0000000);
	TAP_EQ_INT(vt_bringup(&d, 0, 1), 0, "inline: driver up, loop not started");
	vloop_poll(vd->loop);
	hdr = vt_alloc(vh, 4 * 16, 16);
	buf = vt_alloc(vh, 4 * 512, 512);
	st = vt_alloc(vh, 4, 1);
	for (i = 0; i < 4; i++) {
		struct virtio_blk_outhdr *h = vt_ptr(vh, hdr + 16 * i);
		struct vt_seg seg[3] = {
			{ hdr + 16 * i, 16, false },
			{ buf + 512 * i, 512, true },
			{ st + i, 1, true },
		};

		h->type = htole32(VIRTIO_BLK_T_IN);
		h->sector = htole64(i);
		*(uint8_t *)vt_ptr(vh, st + i) = 0xee;
		vt_add(&d, 0, seg, 3);
	}
	vt_kick(&d, 0);
	TAP_EQ_INT(vt_used_pending(&d, 0), 0, "inline: nothing done before the loop runs");
	TAP_CHECK(vloop_poll(vd->loop) > 0, "inline: the kick is dispatched here");
	TAP_EQ_INT(vt_used_pending(&d, 0), 4, "inline: all 4 done when vloop_poll returns");
	for (i = 0; i < 4; i++) {
		if (!vt_wait_used(&d, 0, &id, &len) || id != 3 * i || len != 513 ||
		    *(uint8_t *)vt_ptr(vh, st + i) != VIRTIO_BLK_S_OK ||
		    !data_ok(vt_ptr(vh, buf + 512 * i), 512 * i, 512))
			ok = false;
	}
	TAP_CHECK(ok, "inline: completed in ring order with the image's data");
	pci_bus_free(bus);
	vt_host_free(vh);
}

/*
 * The bounce buffer O_DIRECT uses for unaligned guest buffers is bounded:
 * the device advertises size_max and seg_max, refuses a request larger
 * than both allow (before allocating anything), and bounces what it
 * serves in bounded pieces.
 */
static void test_direct_bounds(void)
{
	struct blk_cfg c = { .path = img, .direct = true };
	struct vt_seg seg[256];
	uint64_t hdr, st, buf, back;
	struct bdev b;
	uint32_t size_max, seg_max, id, len, i;
	const uint32_t big = 5 * (1 << 19);	/* 2.5 MiB: several bounce pieces */
	uint8_t *p;
	int fd;

	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 64 << 20)) {
		TAP_CHECK(0, "bounds: a 64 MiB sparse image");
		return;
	}
	close(fd);
	if (bdev_up(&b, &c)) {
		VT_SKIP("bounds: O_DIRECT not supported on %s", img);
		if (b.vd)
			bdev_down(&b);
		return;
	}
	TAP_CHECK(vt_device_features(&b.d) & (1ull << VIRTIO_BLK_F_SIZE_MAX),
		  "bounds: SIZE_MAX offered");
	size_max = vt_rd(&b.d, b.d.device + offsetof(struct virtio_blk_config, size_max), 4);
	seg_max = vt_rd(&b.d, b.d.device + offsetof(struct virtio_blk_config, seg_max), 4);
	TAP_CHECK(size_max >= 4096 && (uint64_t)size_max * seg_max <= (64u << 20),
		  "bounds: size_max x seg_max bounds a request (at most 64 MiB)");
	if (!size_max || seg_max > 254) {
		bdev_down(&b);
		return;
	}

	/* seg_max unaligned segments each larger than size_max: refused. */
	hdr = vt_alloc(b.vh, 16, 16);
	st = vt_alloc(b.vh, 1, 1);
	buf = vt_alloc(b.vh, size_max + 8192, 4096);
	((struct virtio_blk_outhdr *)vt_ptr(b.vh, hdr))->type = htole32(VIRTIO_BLK_T_IN);
	((struct virtio_blk_outhdr *)vt_ptr(b.vh, hdr))->sector = 0;
	*(uint8_t *)vt_ptr(b.vh, st) = 0xee;
	seg[0] = (struct vt_seg){ hdr, 16, false };
	for (i = 0; i < seg_max; i++)
		seg[1 + i] = (struct vt_seg){ buf + 512, size_max + 4096, true };
	seg[1 + seg_max] = (struct vt_seg){ st, 1, true };
	vt_add(&b.d, 0, seg, seg_max + 2);
	vt_kick(&b.d, 0);
	TAP_CHECK(vt_wait_used(&b.d, 0, &id, &len) &&
		  *(uint8_t *)vt_ptr(b.vh, st) == VIRTIO_BLK_S_IOERR && len == 1,
		  "bounds: a request larger than seg_max x size_max gets IOERR");

	/* A large unaligned write and read still work, through the bounce. */
	buf = vt_alloc(b.vh, big + 4096, 4096);
	back = vt_alloc(b.vh, big, 4096);
	p = vt_ptr(b.vh, buf + 512);
	for (i = 0; i < big; i++)
		p[i] = (uint8_t)(i * 7 + i / 4096);
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_OUT, 2048, buf + 512, big, 0, 0, &len),
		   VIRTIO_BLK_S_OK, "bounds: 2.5 MiB write from an unaligned buffer");
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, 2048, 0, 0, back, big, &len),
		   VIRTIO_BLK_S_OK, "bounds: read back into an aligned buffer");
	TAP_CHECK(!memcmp(vt_ptr(b.vh, back), p, big), "bounds: the data is whole");
	memset(p, 0, big);
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, 2048, 0, 0, buf + 512, big, &len),
		   VIRTIO_BLK_S_OK, "bounds: 2.5 MiB read into an unaligned buffer");
	TAP_CHECK(!memcmp(vt_ptr(b.vh, back), p, big), "bounds: bounced read is whole");
	bdev_down(&b);
}

static char loopdev[32];

static void loop_detach(void)
{
	char cmd[64];

	if (!loopdev[0])
		return;
	snprintf(cmd, sizeof(cmd), "losetup -d %s", loopdev);
	if (system(cmd))
		printf("# cannot detach %s\n", loopdev);
	loopdev[0] = '\0';
}

/*
 * ,direct on storage with 4 KiB logical blocks: a loop device made with
 * --sector-size 4096.  The device must say blk_size 4096 and refuse what is
 * not aligned to it (O_DIRECT cannot do it), and still bounce unaligned
 * guest buffers.
 */
static void test_direct_4k(void)
{
	struct blk_cfg c = { .direct = true };
	struct bdev b;
	uint64_t buf;
	uint32_t used = 0;
	char cmd[128];
	FILE *f;

	if (geteuid()) {
		VT_SKIP("direct 4K: not root, cannot make a loop device");
		return;
	}
	fill_image();
	snprintf(cmd, sizeof(cmd),
		 "losetup --find --show --sector-size 4096 %s 2>/dev/null", img);
	f = popen(cmd, "r");
	if (!f || !fgets(loopdev, sizeof(loopdev), f) || loopdev[0] != '/') {
		loopdev[0] = '\0';
		if (f)
			pclose(f);
		VT_SKIP("direct 4K: losetup --sector-size 4096 failed (no loop devices?)");
		return;
	}
	pclose(f);
	atexit(loop_detach);
	loopdev[strcspn(loopdev, "\n")] = '\0';
	c.path = loopdev;
	if (bdev_up(&b, &c)) {
		TAP_CHECK(0, "direct 4K: device up on the loop device");
		loop_detach();
		return;
	}
	TAP_EQ_INT(vt_rd(&b.d, b.d.device +
			 offsetof(struct virtio_blk_config, blk_size), 4), 4096, "direct 4K: blk_size is the logical block size");
	TAP_EQ_U64(vt_rd(&b.d, b.d.device, 4) |
		   vt_rd(&b.d, b.d.device + 4, 4) << 32, IMG_SIZE / 512, "direct 4K: capacity still in 512-byte sectors");
	buf = vt_alloc(b.vh, 3 * 4096, 4096);
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, 8, 0, 0, buf, 4096, &used),
		   VIRTIO_BLK_S_OK, "direct 4K: aligned 4K read");
	TAP_CHECK(data_ok(vt_ptr(b.vh, buf), 8 * 512, 4096), "direct 4K: data matches");
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, 16, 0, 0, buf + 512, 4096, &used),
		   VIRTIO_BLK_S_OK, "direct 4K: read into an unaligned buffer (bounced)");
	TAP_CHECK(data_ok(vt_ptr(b.vh, buf + 512), 16 * 512, 4096),
		  "direct 4K: bounced data matches");
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, 9, 0, 0, buf, 4096, &used),
		   VIRTIO_BLK_S_IOERR, "direct 4K: read at an unaligned offset refused");
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, 8, 0, 0, buf, 512, &used),
		   VIRTIO_BLK_S_IOERR, "direct 4K: 512-byte read refused");
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_OUT, 24, buf, 1024, 0, 0, &used),
		   VIRTIO_BLK_S_IOERR, "direct 4K: 1 KiB write refused");
	memset(vt_ptr(b.vh, buf), 0xc3, 8192);
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_OUT, 24, buf, 8192, 0, 0, &used),
		   VIRTIO_BLK_S_OK, "direct 4K: aligned 8K write");
	memset(vt_ptr(b.vh, buf), 0, 8192);
	TAP_CHECK(blk_req(&b, VIRTIO_BLK_T_IN, 32, 0, 0, buf, 4096, &used) ==
		  VIRTIO_BLK_S_OK && ((uint8_t *)vt_ptr(b.vh, buf))[4095] == 0xc3,
		  "direct 4K: written data reads back");
	bdev_down(&b);
	loop_detach();
}

/*
 * A reset must not wait for the image's I/O while holding what other
 * vCPUs need.  The I/O is made to hang for real: the request's buffer is a
 * guest page registered with userfaultfd, so the worker's preadv() blocks
 * in the kernel until the test resolves the fault.  Meanwhile one thread
 * resets the device through VIRTIO_PCI_CAP_PCI_CFG (the path that holds
 * the bus lock) and another uses a second device's config space: both
 * must complete while the I/O is stuck.
 */
struct stuck {
	struct bdev *b;
	unsigned int other;
	sem_t reset_done, other_done, waited;
};

/* The host waits for the driver's reset (virtio_dev_wait_reset). */
static void *stuck_wait(void *arg)
{
	struct stuck *st = arg;

	virtio_dev_wait_reset(st->b->vd);
	sem_post(&st->waited);
	return NULL;
}

static void *stuck_reset(void *arg)
{
	struct stuck *st = arg;
	unsigned int cap = st->b->d.pcfg;

	vt_cfgw(&st->b->d, cap + 4, 1, 0);
	vt_cfgw(&st->b->d, cap + 8, 4, st->b->d.common + VIRTIO_PCI_COMMON_STATUS);
	vt_cfgw(&st->b->d, cap + 12, 4, 1);
	vt_cfgw(&st->b->d, cap + 16, 4, 0);	/* device_status = 0: reset */
	sem_post(&st->reset_done);
	return NULL;
}

static void *stuck_other(void *arg)
{
	struct stuck *st = arg;
	uint32_t cmd = pci_bus_cfg_read(st->b->bus, st->other, PCI_COMMAND, 2);

	/* A config write takes the bus lock for writing. */
	pci_bus_cfg_write(st->b->bus, st->other, PCI_COMMAND, 2, cmd);
	sem_post(&st->other_done);
	return NULL;
}

/* Wait (failure guard of 10 s, not a timing assertion) for sem. */
static bool sem_wait10(sem_t *sem)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	while (sem_timedwait(sem, &ts))
		if (errno != EINTR)
			return false;
	return true;
}

/*
 * One page of b's guest RAM, page-aligned in the host and not present,
 * registered with a new userfaultfd: an access to it waits until the test
 * resolves the fault.  Returns the userfaultfd (the range in *reg, the
 * page at *page, guest-physical *gpa), or -1 after a SKIP line for what.
 */
static int uffd_page(struct bdev *b, const char *what,
		     struct uffdio_register *reg, uintptr_t *page, uint64_t *gpa)
{
	struct uffdio_api api = { .api = UFFD_API };
	uintptr_t host;
	uint64_t buf;
	char msg[96];
	int uffd;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
		VT_SKIP("%s: userfaultfd unavailable here (%s): no way to hold the I/O",
			what, strerror(errno));
		if (uffd >= 0)
			close(uffd);
		return -1;
	}
	buf = vt_alloc(b->vh, 3 * 4096, 4096);
	host = (uintptr_t)vt_ptr(b->vh, buf);
	*page = (host + 4095) & ~(uintptr_t)4095;
	*gpa = buf + (*page - host);
	madvise((void *)*page, 4096, MADV_DONTNEED);
	reg->mode = UFFDIO_REGISTER_MODE_MISSING;
	reg->range.start = *page;
	reg->range.len = 4096;
	snprintf(msg, sizeof(msg), "%s: page registered", what);
	TAP_EQ_INT(ioctl(uffd, UFFDIO_REGISTER, reg), 0, msg);
	return uffd;
}

static void test_reset_stuck_io(void)
{
	struct blk_cfg c = { .path = img };
	struct uffdio_register reg;
	struct uffdio_zeropage zp = { .mode = 0 };
	struct stuck st = { .other = PCI_DEVFN(4, 0) };
	struct virtio_dev *rng;
	struct pollfd pfd;
	struct uffd_msg msg;
	pthread_t ta, tb, tw;
	uint64_t hdr, sts, page_gpa;
	uintptr_t page;
	struct bdev b;
	struct vt_seg seg[3];
	bool reset_ok, other_ok, waited;
	int uffd, i;

	fill_image();
	if (bdev_up(&b, &c)) {
		TAP_CHECK(0, "reset/stuck: device up");
		return;
	}
	st.b = &b;
	rng = rng_new();
	TAP_CHECK(rng && !pci_bus_add(b.bus, st.other, &rng->func),
		  "reset/stuck: a second device on the bus");
	uffd = uffd_page(&b, "reset/stuck", &reg, &page, &page_gpa);
	if (uffd < 0) {
		bdev_down(&b);
		return;
	}

	/* A read into that page: the worker's preadv() faults and waits. */
	hdr = vt_alloc(b.vh, 16, 16);
	sts = vt_alloc(b.vh, 1, 1);
	((struct virtio_blk_outhdr *)vt_ptr(b.vh, hdr))->type = htole32(VIRTIO_BLK_T_IN);
	((struct virtio_blk_outhdr *)vt_ptr(b.vh, hdr))->sector = 0;
	seg[0] = (struct vt_seg){ hdr, 16, false };
	seg[1] = (struct vt_seg){ page_gpa, 4096, true };
	seg[2] = (struct vt_seg){ sts, 1, true };
	vt_add(&b.d, 0, seg, 3);
	vt_kick(&b.d, 0);
	pfd = (struct pollfd){ .fd = uffd, .events = POLLIN };
	TAP_CHECK(poll(&pfd, 1, 10000) == 1 && read(uffd, &msg, sizeof(msg)) == sizeof(msg) &&
		  msg.event == UFFD_EVENT_PAGEFAULT,
		  "reset/stuck: the request's I/O is stuck on the page");

	sem_init(&st.reset_done, 0, 0);
	sem_init(&st.other_done, 0, 0);
	pthread_create(&ta, NULL, stuck_reset, &st);
	reset_ok = sem_wait10(&st.reset_done);
	TAP_CHECK(reset_ok, "reset/stuck: the reset through PCI_CFG returns while the I/O is stuck");
	pthread_create(&tb, NULL, stuck_other, &st);
	other_ok = sem_wait10(&st.other_done);
	TAP_CHECK(other_ok, "reset/stuck: another device's config space is usable meanwhile");
	if (reset_ok) {
		struct virtio_queue_state qs[1];
		struct virtio_dev_state vs = { .queues = qs };

		TAP_CHECK(vt_status(&b.d) != 0,
			  "reset/stuck: device_status is not 0 until the reset completed");
		virtio_dev_save(b.vd, &vs);
		TAP_CHECK(vs.status == 0 && !qs[0].enabled && !vs.guest_features,
			  "reset/stuck: a takeover meanwhile would start from the reset device");
	} else {
		VT_SKIP("reset/stuck: device_status (the reset did not return)");
	}

	/* The host's wait for the reset waits for the stuck I/O too. */
	sem_init(&st.waited, 0, 0);
	pthread_create(&tw, NULL, stuck_wait, &st);
	TAP_CHECK(sem_trywait(&st.waited) && vt_status(&b.d) != 0,
		  "reset/stuck: virtio_dev_wait_reset waits while the I/O is stuck");

	/* Let the I/O finish: the reset completes, device_status reads 0. */
	zp.range.start = page;
	zp.range.len = 4096;
	TAP_EQ_INT(ioctl(uffd, UFFDIO_ZEROPAGE, &zp), 0, "reset/stuck: fault resolved");
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	waited = sem_wait10(&st.waited);
	TAP_CHECK(waited && vt_status(&b.d) == 0,
		  "reset/stuck: virtio_dev_wait_reset returns with the reset complete");
	if (waited)
		pthread_join(tw, NULL);
	for (i = 0; i < 10000 && vt_status(&b.d); i++)
		vt_msleep(1);
	TAP_EQ_INT(vt_status(&b.d), 0, "reset/stuck: device_status 0 once the I/O is done");
	TAP_EQ_INT(vt_bringup(&b.d, 0, 1), 0, "reset/stuck: the device comes up again");
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, 0, 0, 0, page_gpa, 512, NULL),
		   VIRTIO_BLK_S_OK, "reset/stuck: and reads");
	sem_destroy(&st.waited);
	sem_destroy(&st.reset_done);
	sem_destroy(&st.other_done);
	ioctl(uffd, UFFDIO_UNREGISTER, &reg.range);
	close(uffd);
	bdev_down(&b);
}

/* Put a read of len bytes at sector on queue q (no kick); returns its head. */
static uint16_t add_read(struct vt_dev *d, unsigned int q, uint64_t sector,
			 uint64_t buf, uint32_t len, uint64_t st)
{
	uint64_t hdr = vt_alloc(d->vh, 16, 16);
	struct virtio_blk_outhdr *h = vt_ptr(d->vh, hdr);
	struct vt_seg seg[3] = {
		{ hdr, 16, false }, { buf, len, true }, { st, 1, true },
	};

	h->type = htole32(VIRTIO_BLK_T_IN);
	h->ioprio = 0;
	h->sector = htole64(sector);
	*(uint8_t *)vt_ptr(d->vh, st) = 0xee;
	return vt_add(d, q, seg, 3);
}

/*
 * num_queues: VIRTIO_BLK_F_MQ and the configuration's num_queues; each
 * queue's requests complete on that queue.
 */
static void test_mq(void)
{
	struct blk_cfg c = { .path = img, .num_queues = 4 };
	struct virtio_blk_config cfg;
	struct bdev b;
	uint64_t buf[4], st;
	uint16_t head[4];
	unsigned int q, i;
	uint32_t id, len;
	bool ok = true;
	char msg[96];

	fill_image();
	TAP_EQ_INT(bdev_up(&b, &c), 0, "mq: device with 4 queues, all up");
	if (!b.vd) {
		bdev_down(&b);
		return;
	}
	TAP_CHECK(vt_device_features(&b.d) & (1ull << VIRTIO_BLK_F_MQ),
		  "mq: VIRTIO_BLK_F_MQ offered");
	for (i = 0; i < sizeof(cfg); i++)
		((uint8_t *)&cfg)[i] = vt_rd(&b.d, b.d.device + i, 1);
	TAP_EQ_INT(le16toh(cfg.num_queues), 4, "mq: config num_queues = 4");
	st = vt_alloc(b.vh, 4, 1);
	for (q = 0; q < 4; q++) {
		buf[q] = vt_alloc(b.vh, 4096, 4096);
		head[q] = add_read(&b.d, q, 8 * q, buf[q], 4096, st + q);
	}
	for (q = 0; q < 4; q++)
		vt_kick(&b.d, q);
	for (q = 0; q < 4; q++) {
		snprintf(msg, sizeof(msg), "mq[%s]: queue %u's read completes on queue %u with its data",
			 io_path, q, q);
		TAP_CHECK(vt_wait_used(&b.d, q, &id, &len) && id == head[q] && len == 4097 &&
			  *(uint8_t *)vt_ptr(b.vh, st + q) == VIRTIO_BLK_S_OK &&
			  data_ok(vt_ptr(b.vh, buf[q]), 8 * q * 512, 4096), msg);
	}
	for (q = 0; q < 4; q++)
		if (vt_used_pending(&b.d, q))
			ok = false;
	TAP_CHECK(ok, "mq: nothing else on any used ring");
	bdev_down(&b);

	c.num_queues = 1;
	b.vh = vt_host_new();
	b.bus = pci_bus_new(&b.vh->host);
	b.vd = blk_new(&c);
	if (b.vd) {
		pci_bus_add(b.bus, DEVFN, &b.vd->func);
		vt_probe(&b.d, b.vh, b.bus, DEVFN, 0xc0000000);
		TAP_CHECK(!(vt_device_features(&b.d) & (1ull << VIRTIO_BLK_F_MQ)),
			  "mq: one queue: no VIRTIO_BLK_F_MQ");
	}
	bdev_down(&b);
	c.num_queues = 65;
	TAP_CHECK(blk_new(&c) == NULL, "mq: 65 queues refused");
}

/*
 * On io_uring, with the device's loop driven here (vloop_poll): a read
 * the page cache holds is answered within its kick (io_uring completes it
 * inside the submission); write, flush, discard and write-zeroes complete
 * when the loop handles the ring's eventfd, with the results on the image.
 */
static void test_ring_loop(void)
{
	struct blk_cfg c = { .path = img, .num_queues = 2 };
	struct vt_host *vh;
	struct pci_bus *bus;
	struct virtio_dev *vd;
	struct vt_dev d;
	uint64_t hdr, data, st, seg;
	struct virtio_blk_discard_write_zeroes *dz;
	static const uint32_t types[] = {
		VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_DISCARD,
		VIRTIO_BLK_T_WRITE_ZEROES,
	};
	unsigned int i, done = 0, polls;
	uint32_t id, len;
	uint8_t sect[512];
	bool ok = true;
	int fd;

	if (strcmp(io_path, "uring"))
		return;
	fill_image();
	vh = vt_host_new();
	bus = pci_bus_new(&vh->host);
	vd = blk_new(&c);
	if (!vd) {
		TAP_CHECK(0, "ring: device up");
		pci_bus_free(bus);
		vt_host_free(vh);
		return;
	}
	pci_bus_add(bus, DEVFN, &vd->func);
	vt_probe(&d, vh, bus, DEVFN, 0xc0000000);
	TAP_EQ_INT(vt_bringup(&d, (1ull << VIRTIO_BLK_F_MQ) | (1ull << VIRTIO_BLK_F_FLUSH) |
			      (1ull << VIRTIO_BLK_F_DISCARD) |
			      (1ull << VIRTIO_BLK_F_WRITE_ZEROES), 2), 0,
		   "ring: driver up, loop not started");
	vloop_poll(vd->loop);
	{
		uint64_t rbuf = vt_alloc(vh, 4096, 4096), rst = vt_alloc(vh, 1, 1);
		uint16_t rh = add_read(&d, 0, 8, rbuf, 4096, rst);

		vt_kick(&d, 0);
		TAP_CHECK(vloop_poll(vd->loop) > 0, "ring: the kick is dispatched");
		TAP_CHECK(vt_used_pending(&d, 0) == 1 && vt_wait_used(&d, 0, &id, &len) &&
			  id == rh && len == 4097 && data_ok(vt_ptr(vh, rbuf), 8 * 512, 4096),
			  "ring: a cached read is answered within its kick");
	}
	/* On queue 1: write sector 1 (0x77), flush, discard 8-15, zero 16-23. */
	hdr = vt_alloc(vh, 4 * 16, 16);
	data = vt_alloc(vh, 512, 512);
	seg = vt_alloc(vh, 2 * sizeof(*dz), 8);
	st = vt_alloc(vh, 4, 1);
	memset(vt_ptr(vh, data), 0x77, 512);
	dz = vt_ptr(vh, seg);
	dz[0] = (struct virtio_blk_discard_write_zeroes){ htole64(8), htole32(8), 0 };
	dz[1] = (struct virtio_blk_discard_write_zeroes){ htole64(16), htole32(8), 0 };
	for (i = 0; i < 4; i++) {
		struct virtio_blk_outhdr *h = vt_ptr(vh, hdr + 16 * i);
		struct vt_seg sg[3];
		unsigned int n = 0;

		h->type = htole32(types[i]);
		h->sector = htole64(1);
		sg[n++] = (struct vt_seg){ hdr + 16 * i, 16, false };
		if (i == 0)
			sg[n++] = (struct vt_seg){ data, 512, false };
		else if (i >= 2)
			sg[n++] = (struct vt_seg){ seg + (i - 2) * sizeof(*dz), sizeof(*dz), false };
		sg[n++] = (struct vt_seg){ st + i, 1, true };
		*(uint8_t *)vt_ptr(vh, st + i) = 0xee;
		vt_add(&d, 1, sg, n);
		if (i == 0) {
			/* The write first: the others must see it done. */
			vt_kick(&d, 1);
			vloop_poll(vd->loop);
			for (polls = 0; polls < 10000 && !vt_used_pending(&d, 1); polls++)
				if (vloop_poll(vd->loop) <= 0)
					vt_msleep(1);
			TAP_CHECK(vt_wait_used(&d, 1, &id, &len) && len == 1,
				  "ring: the write completes through the loop");
		}
	}
	vt_kick(&d, 1);
	for (polls = 0; polls < 10000 && vt_used_pending(&d, 1) < 3; polls++)
		if (vloop_poll(vd->loop) <= 0)
			vt_msleep(1);
	while (vt_used_pending(&d, 1) && vt_wait_used(&d, 1, &id, &len))
		done++;
	TAP_EQ_INT(done, 3, "ring: flush, discard, write-zeroes completed by the loop");
	for (i = 1; i < 4; i++)
		if (*(uint8_t *)vt_ptr(vh, st + i) != VIRTIO_BLK_S_OK)
			ok = false;
	TAP_CHECK(ok && *(uint8_t *)vt_ptr(vh, st) == VIRTIO_BLK_S_OK, "ring: all OK");
	TAP_EQ_INT(vt_used_pending(&d, 0), 0, "ring: queue 0 untouched");
	fd = open(img, O_RDONLY);
	ok = fd >= 0 && pread(fd, sect, 512, 512) == 512;
	for (i = 0; ok && i < 512; i++)
		ok = sect[i] == 0x77;
	TAP_CHECK(ok, "ring: the write is on the image");
	for (i = 8; ok && i < 24; i++) {
		unsigned int j;

		ok = pread(fd, sect, 512, i * 512) == 512;
		for (j = 0; ok && j < 512; j++)
			ok = !sect[j];
	}
	TAP_CHECK(ok, "ring: discarded and zeroed sectors read zeros");
	if (fd >= 0)
		close(fd);
	pci_bus_free(bus);
	vt_host_free(vh);
}

/*
 * Completions out of order: a write whose data page is held by a page
 * fault (userfaultfd) and a read behind it in the same kick; the read
 * completes first.  A write, not a read: io_uring hands a buffered write
 * to its own workers on file systems without non-blocking buffered
 * writes (tmpfs, ext4), while a read into a faulting page would hold the
 * submitting thread itself.
 */
static void test_out_of_order(void)
{
	struct blk_cfg c = { .path = img };
	struct uffdio_register reg;
	struct uffdio_copy cp = { .mode = 0 };
	uint64_t buf2, sts, page_gpa;
	uintptr_t page;
	struct pollfd pfd;
	struct uffd_msg m;
	uint16_t h1, h2;
	uint32_t id = 0, len;
	struct bdev b;
	char msg[96];
	void *src;
	int uffd;

	fill_image();
	if (bdev_up(&b, &c)) {
		TAP_CHECK(0, "ooo: device up");
		return;
	}
	uffd = uffd_page(&b, "ooo", &reg, &page, &page_gpa);
	if (uffd < 0) {
		bdev_down(&b);
		return;
	}
	buf2 = vt_alloc(b.vh, 4096, 4096);
	sts = vt_alloc(b.vh, 2, 1);
	{
		uint64_t hdr = vt_alloc(b.vh, 16, 16);
		struct virtio_blk_outhdr *h = vt_ptr(b.vh, hdr);
		struct vt_seg seg[3] = {
			{ hdr, 16, false }, { page_gpa, 4096, false }, { sts, 1, true },
		};

		h->type = htole32(VIRTIO_BLK_T_OUT);
		h->ioprio = 0;
		h->sector = htole64(0);
		*(uint8_t *)vt_ptr(b.vh, sts) = 0xee;
		h1 = vt_add(&b.d, 0, seg, 3);
	}
	h2 = add_read(&b.d, 0, 16, buf2, 4096, sts + 1);
	vt_kick(&b.d, 0);
	pfd = (struct pollfd){ .fd = uffd, .events = POLLIN };
	TAP_CHECK(poll(&pfd, 1, 10000) == 1 && read(uffd, &m, sizeof(m)) == sizeof(m) &&
		  m.event == UFFD_EVENT_PAGEFAULT, "ooo: the write is held on its data page");
	snprintf(msg, sizeof(msg), "ooo[%s]: the read behind it completes first", io_path);
	TAP_CHECK(vt_wait_used(&b.d, 0, &id, &len) && id == h2 && len == 4097 &&
		  data_ok(vt_ptr(b.vh, buf2), 16 * 512, 4096), msg);
	src = aligned_alloc(4096, 4096);
	memset(src, 0x3c, 4096);
	cp.dst = page;
	cp.src = (uintptr_t)src;
	cp.len = 4096;
	TAP_EQ_INT(ioctl(uffd, UFFDIO_COPY, &cp), 0, "ooo: fault resolved");
	TAP_CHECK(vt_wait_used(&b.d, 0, &id, &len) && id == h1 && len == 1 &&
		  *(uint8_t *)vt_ptr(b.vh, sts) == VIRTIO_BLK_S_OK,
		  "ooo: then the write");
	memset(src, 0, 4096);
	{
		int fd = open(img, O_RDONLY);

		TAP_CHECK(fd >= 0 && pread(fd, src, 4096, 0) == 4096 &&
			  ((uint8_t *)src)[0] == 0x3c && ((uint8_t *)src)[4095] == 0x3c,
			  "ooo: with the data the page got");
		if (fd >= 0)
			close(fd);
	}
	free(src);
	ioctl(uffd, UFFDIO_UNREGISTER, &reg.range);
	close(uffd);
	bdev_down(&b);
}

/*
 * A reset with requests in flight on several queues: when device_status
 * reads 0 every request taken was completed, and nothing reaches a used
 * ring after that; the device then works again.
 */
static void test_reset_inflight(void)
{
	struct blk_cfg c = { .path = img, .num_queues = 4 };
	uint16_t used_at_reset[4];
	struct bdev b;
	uint64_t buf, st;
	unsigned int q, i;
	bool ok = true;
	char msg[96];

	fill_image();
	if (bdev_up(&b, &c)) {
		TAP_CHECK(0, "reset/inflight: device up");
		if (b.vd)
			bdev_down(&b);
		return;
	}
	buf = vt_alloc(b.vh, 4 * 32 * 4096, 4096);
	st = vt_alloc(b.vh, 4 * 32, 1);
	for (q = 0; q < 4; q++) {
		for (i = 0; i < 32; i++)
			add_read(&b.d, q, 8 * i, buf + (q * 32 + i) * 4096, 4096,
				 st + q * 32 + i);
		vt_kick(&b.d, q);
	}
	vt_set_status(&b.d, 0);
	snprintf(msg, sizeof(msg), "reset/inflight[%s]: the reset completes", io_path);
	TAP_EQ_INT(vt_status(&b.d), 0, msg);
	for (q = 0; q < 4; q++) {
		struct vring_used *u = vt_ptr(b.vh, b.d.q[q].used);

		used_at_reset[q] = le16toh(__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE));
		/* Every request with a used entry has its status written. */
		for (i = 0; i < used_at_reset[q] && i < 32; i++) {
			struct vring_used_elem *e = &u->ring[i];
			unsigned int k;

			for (k = 0; k < 32; k++)
				if (le32toh(e->id) == (uint32_t)(3 * k) &&
				    *(uint8_t *)vt_ptr(b.vh, st + q * 32 + k) != VIRTIO_BLK_S_OK)
					ok = false;
		}
	}
	TAP_CHECK(ok, "reset/inflight: every completed request has its status");
	vt_msleep(50);
	ok = true;
	for (q = 0; q < 4; q++) {
		struct vring_used *u = vt_ptr(b.vh, b.d.q[q].used);

		if (le16toh(__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE)) != used_at_reset[q])
			ok = false;
	}
	TAP_CHECK(ok, "reset/inflight: no used entry after the reset completed");
	memset(b.d.q, 0, sizeof(b.d.q));
	TAP_EQ_INT(vt_bringup(&b.d, 1ull << VIRTIO_BLK_F_MQ, 4), 0,
		   "reset/inflight: the device comes up again");
	TAP_EQ_INT(blk_req(&b, VIRTIO_BLK_T_IN, 0, 0, 0, buf, 4096, NULL),
		   VIRTIO_BLK_S_OK, "reset/inflight: and reads");
	bdev_down(&b);
}

int main(void)
{
	struct ioring *r;
	int pass, err = 0;

	snprintf(img, sizeof(img), "/tmp/vbridge-blk-%d.img", (int)getpid());
	for (pass = 0; pass < 2; pass++) {
		if (pass) {
			io_path = "threads";
			setenv("VBRIDGE_NO_IO_URING", "1", 1);
			r = ioring_new(8, &err);
			TAP_CHECK(!r && err == -ENOSYS,
				  "VBRIDGE_NO_IO_URING=1 makes io_uring unavailable");
			ioring_free(r);
		} else {
			unsetenv("VBRIDGE_NO_IO_URING");
			r = ioring_new(8, &err);
			if (!r) {
				VT_SKIP("io_uring unavailable here (%s): its pass is not run",
					strerror(-err));
				continue;
			}
			ioring_free(r);
		}
		printf("# requests served on %s\n", io_path);
		test_rw(false);
		test_rw(true);
		test_readonly();
		test_block_size();
		test_worker_signals();
		test_open_errors();
		test_direct_4k();
		test_direct_bounds();
		test_reset_stuck_io();
		test_mq();
		test_ring_loop();
		test_out_of_order();
		test_reset_inflight();
	}
	test_inline();
	unlink(img);
	return tap_done();
}
