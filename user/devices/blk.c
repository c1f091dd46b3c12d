// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (virtio 1.x, section 5.2) on a raw image: read, write, flush,
 * get-id, discard and write-zeroes (fallocate), read-only images, O_DIRECT.
 *
 * Requests run in parallel: the I/O thread pops every available chain and
 * hands them to a small pool of worker threads doing preadv/pwritev straight
 * into guest memory.  A lone request with nothing else in flight is served
 * on the I/O thread itself, which saves two thread switches at queue depth 1.
 * Without a pool (blk_cfg.inline_io) every request is served there, in
 * ring order.
 *
 * Requests are checked as hostile input: header and status byte present,
 * data a multiple of 512 bytes and at most seg_max x size_max (what the
 * driver was told), every sector range inside the image,
 * discard/write-zeroes segment counts and flags as advertised.  A request
 * without room for its status byte cannot be answered and fails the device;
 * anything else gets VIRTIO_BLK_S_IOERR or VIRTIO_BLK_S_UNSUPP.
 *
 * A takeover that fails what the guest asked before (VIRTIO_RESUME_FAIL)
 * answers each such request VIRTIO_BLK_S_IOERR without touching the image
 * or the request's data buffers.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "devices/virtio_devs.h"
#include "lib/log.h"
#include "virtio/iov.h"

#define BLK_QUEUE_SIZE		256
#define BLK_SEG_MAX		(BLK_QUEUE_SIZE - 2)	/* data segments */
#define BLK_MAX_SEGS		BLK_QUEUE_SIZE
#define BLK_SECTOR		512
#define BLK_WORKERS		4
#define BLK_MAX_DISCARD_SEG	32
#define BLK_MAX_DISCARD_SECT	(UINT32_MAX / BLK_SECTOR)
#define BLK_DIRECT_ALIGN	4096
#define BLK_SIZE_MAX		(128 * 1024)	/* bytes per data segment */
#define BLK_MAX_XFER		((size_t)BLK_SEG_MAX * BLK_SIZE_MAX)	/* per request */
#define BLK_BOUNCE_MAX		(1024 * 1024)	/* O_DIRECT bounce piece */
#define BLK_ZERO_CHUNK		(256 * 1024)

struct blk;

/**
 * struct blk_req - one request
 * @b: its device
 * @next: in the work list or the free list (blk.lock)
 * @buf: the chain
 * @iov: its segments
 */
struct blk_req {
	struct blk *b;
	struct blk_req *next;
	struct vq_buf buf;
	struct iovec iov[BLK_MAX_SEGS];
};

/**
 * struct blk - a virtio-blk device
 * @vd: transport (first member)
 * @fd: the image (set at creation)
 * @readonly: opened read-only, VIRTIO_BLK_F_RO offered
 * @direct: opened with O_DIRECT
 * @serial: VIRTIO_BLK_T_GET_ID answer, zero padded
 * @sectors: capacity in 512-byte sectors
 * @lbs: logical block size (blk_size): what O_DIRECT needs offsets and
 *	lengths aligned to, 512 without O_DIRECT (set at creation)
 * @path: the image path, for messages
 * @lock: protects @work, @work_tail, @free_reqs, @busy, @stop
 * @work_cond: signalled when @work gets requests or @stop is set
 * @idle_cond: signalled when @busy drops to 0
 * @work: requests waiting for a worker
 * @work_tail: last entry of @work
 * @free_reqs: request objects not in use
 * @busy: requests handed to workers and not yet completed
 * @stop: workers must exit
 * @nr_workers: threads in @workers
 * @workers: the pool
 */
struct blk {
	struct virtio_dev vd;
	int fd;
	bool readonly;
	bool direct;
	char serial[VIRTIO_BLK_ID_BYTES];
	uint64_t sectors;
	uint32_t lbs;
	char *path;
	pthread_mutex_t lock;
	pthread_cond_t work_cond;
	pthread_cond_t idle_cond;
	struct blk_req *work;
	struct blk_req *work_tail;
	struct blk_req *free_reqs;
	unsigned int busy;
	bool stop;
	unsigned int nr_workers;
	pthread_t workers[16];
};

static bool range_ok(const struct blk *b, uint64_t sector, uint64_t nsect)
{
	return sector <= b->sectors && nsect <= b->sectors - sector;
}

/* Byte offset and length whole logical blocks (what O_DIRECT can do). */
static bool lbs_ok(const struct blk *b, uint64_t sector, uint64_t bytes)
{
	return !(((sector * BLK_SECTOR) | bytes) & (b->lbs - 1));
}

/* Buffer alignment O_DIRECT needs: a page, or a larger logical block. */
static size_t direct_align(const struct blk *b)
{
	return b->lbs > BLK_DIRECT_ALIGN ? b->lbs : BLK_DIRECT_ALIGN;
}

static bool aligned_iov(const struct iovec *iov, unsigned int n, size_t align)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & (align - 1))
			return false;
	return true;
}

/*
 * Full-length positioned I/O; returns 0 or -errno (-EIO on a short read).
 * Unaligned buffers with O_DIRECT go through a bounce buffer of at most
 * BLK_BOUNCE_MAX bytes, one piece at a time, whatever the request's size.
 */
static int blk_rw(struct blk *b, bool write, struct iovec *iov,
		  unsigned int n, uint64_t off, size_t len)
{
	size_t align = direct_align(b), done = 0;
	void *bounce = NULL;
	int ret = 0;

	if (b->direct && !aligned_iov(iov, n, align)) {
		size_t size = len < BLK_BOUNCE_MAX ? len : BLK_BOUNCE_MAX;

		if (posix_memalign(&bounce, align, (size + align - 1) & ~(align - 1)))
			return -ENOMEM;
	}
	while (done < len) {
		struct iovec part[BLK_MAX_SEGS];
		unsigned int k;
		ssize_t r;

		if (bounce) {
			size_t piece = len - done;

			if (piece > BLK_BOUNCE_MAX)
				piece = BLK_BOUNCE_MAX;
			if (write)
				iov_to_buf(iov, n, done, bounce, piece);
			part[0].iov_base = bounce;
			part[0].iov_len = piece;
			k = 1;
		} else {
			k = iov_slice(iov, n, done, len - done, part, BLK_MAX_SEGS,
				      NULL);
		}
		r = write ? pwritev(b->fd, part, k, off + done) :
			    preadv(b->fd, part, k, off + done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (r == 0) {
			ret = -EIO;	/* the image shrank under us */
			break;
		}
		if (bounce && !write)
			iov_from_buf(iov, n, done, bounce, r);
		done += r;
	}
	free(bounce);
	return ret;
}

static int blk_zero(struct blk *b, uint64_t off, uint64_t len, bool unmap)
{
	static const uint8_t zeros[BLK_ZERO_CHUNK] __attribute__((aligned(BLK_DIRECT_ALIGN)));
	int mode = FALLOC_FL_KEEP_SIZE |
		   (unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE);

	if (!fallocate(b->fd, mode, off, len))
		return 0;
	if (!unmap && (errno == EOPNOTSUPP || errno == EINVAL) &&
	    !fallocate(b->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, off, len))
		return 0;
	if (errno != EOPNOTSUPP && errno != EINVAL)
		return -errno;
	/* No fallocate support: write the zeros. */
	while (len) {
		size_t n = len > sizeof(zeros) ? sizeof(zeros) : len;
		ssize_t w = pwrite(b->fd, zeros, n, off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += w;
		len -= w;
	}
	return 0;
}

static uint8_t blk_discard(struct blk *b, struct vq_buf *rb, bool zeroes)
{
	unsigned int nseg, i;
	size_t bytes = rb->out_len - sizeof(struct virtio_blk_outhdr);

	if (b->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (!bytes || bytes % sizeof(struct virtio_blk_discard_write_zeroes))
		return VIRTIO_BLK_S_IOERR;
	nseg = bytes / sizeof(struct virtio_blk_discard_write_zeroes);
	if (nseg > BLK_MAX_DISCARD_SEG)
		return VIRTIO_BLK_S_IOERR;
	for (i = 0; i < nseg; i++) {
		struct virtio_blk_discard_write_zeroes seg;
		uint64_t sector;
		uint32_t nsect, flags;
		int ret;

		iov_to_buf(rb->iov, rb->nr_out,
			   sizeof(struct virtio_blk_outhdr) + i * sizeof(seg),
			   &seg, sizeof(seg));
		sector = le64toh(seg.sector);
		nsect = le32toh(seg.num_sectors);
		flags = le32toh(seg.flags);
		if (flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
			return VIRTIO_BLK_S_UNSUPP;
		if (!zeroes && flags)
			return VIRTIO_BLK_S_UNSUPP;	/* unmap is for write-zeroes */
		if (!range_ok(b, sector, nsect) || nsect > BLK_MAX_DISCARD_SECT ||
		    !lbs_ok(b, sector, (uint64_t)nsect * BLK_SECTOR))
			return VIRTIO_BLK_S_IOERR;
		if (!nsect)
			continue;
		if (zeroes) {
			ret = blk_zero(b, sector * BLK_SECTOR,
				       (uint64_t)nsect * BLK_SECTOR,
				       flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
		} else {
			ret = fallocate(b->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
					sector * BLK_SECTOR,
					(uint64_t)nsect * BLK_SECTOR) ? -errno : 0;
			if (ret == -EOPNOTSUPP)
				ret = 0;	/* discard is a hint */
		}
		if (ret)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/*
 * Serve one request; returns the used length (bytes written into the
 * chain), or -1 when the request cannot even carry a status byte.
 */
static int64_t blk_handle(struct blk *b, struct blk_req *req)
{
	struct vq_buf *rb = &req->buf;
	struct iovec *in = vq_buf_in(rb);
	struct virtio_blk_outhdr hdr;
	struct iovec data[BLK_MAX_SEGS];
	uint8_t status = VIRTIO_BLK_S_OK;
	size_t got, len;
	uint32_t written = 0;
	unsigned int k;
	uint64_t sector;

	if (rb->in_len < 1)
		return -1;
	if (iov_to_buf(rb->iov, rb->nr_out, 0, &hdr, sizeof(hdr)) != sizeof(hdr)) {
		status = VIRTIO_BLK_S_IOERR;
		goto out;
	}
	sector = le64toh(hdr.sector);
	switch (le32toh(hdr.type)) {
	case VIRTIO_BLK_T_IN:
		len = rb->in_len - 1;
		k = iov_slice(in, rb->nr_in, 0, len, data, BLK_MAX_SEGS, &got);
		if (got != len || len % BLK_SECTOR || len > BLK_MAX_XFER ||
		    !lbs_ok(b, sector, len) ||
		    !range_ok(b, sector, len / BLK_SECTOR) ||
		    blk_rw(b, false, data, k, sector * BLK_SECTOR, len)) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		written = len;
		break;
	case VIRTIO_BLK_T_OUT:
		len = rb->out_len - sizeof(hdr);
		k = iov_slice(rb->iov, rb->nr_out, sizeof(hdr), len, data,
			      BLK_MAX_SEGS, &got);
		if (b->readonly || got != len || len % BLK_SECTOR ||
		    len > BLK_MAX_XFER || !lbs_ok(b, sector, len) ||
		    !range_ok(b, sector, len / BLK_SECTOR) ||
		    blk_rw(b, true, data, k, sector * BLK_SECTOR, len))
			status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (fdatasync(b->fd))
			status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID:
		len = rb->in_len - 1;
		if (len > VIRTIO_BLK_ID_BYTES)
			len = VIRTIO_BLK_ID_BYTES;
		written = iov_from_buf(in, rb->nr_in, 0, b->serial, len);
		break;
	case VIRTIO_BLK_T_DISCARD:
		status = b->readonly ? VIRTIO_BLK_S_UNSUPP : blk_discard(b, rb, false);
		break;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		status = b->readonly ? VIRTIO_BLK_S_UNSUPP : blk_discard(b, rb, true);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
out:
	if (status != VIRTIO_BLK_S_OK)
		written = 0;
	iov_from_buf(in, rb->nr_in, rb->in_len - 1, &status, 1);
	return written + 1;
}

static void blk_finish(struct blk *b, struct blk_req *req)
{
	int64_t len = blk_handle(b, req);

	if (len < 0)
		virtio_dev_fail(&b->vd, "request at head %u has no room for a status byte",
				req->buf.head);
	else
		virtio_dev_complete(&b->vd, 0, req->buf.head, len);
}

static void *blk_worker(void *arg)
{
	struct blk *b = arg;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		struct blk_req *req;

		while (!b->work && !b->stop)
			pthread_cond_wait(&b->work_cond, &b->lock);
		if (b->stop)
			break;
		req = b->work;
		b->work = req->next;
		if (!b->work)
			b->work_tail = NULL;
		pthread_mutex_unlock(&b->lock);

		blk_finish(b, req);

		pthread_mutex_lock(&b->lock);
		req->next = b->free_reqs;
		b->free_reqs = req;
		if (!--b->busy)
			pthread_cond_broadcast(&b->idle_cond);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

static struct blk_req *req_get(struct blk *b)
{
	struct blk_req *req;

	pthread_mutex_lock(&b->lock);
	req = b->free_reqs;
	if (req)
		b->free_reqs = req->next;
	pthread_mutex_unlock(&b->lock);
	if (!req) {
		req = malloc(sizeof(*req));
		if (!req)
			return NULL;
		req->b = b;
		req->buf.iov = req->iov;
		req->buf.cap = BLK_MAX_SEGS;
	}
	req->next = NULL;
	return req;
}

static void req_put(struct blk *b, struct blk_req *req)
{
	pthread_mutex_lock(&b->lock);
	req->next = b->free_reqs;
	b->free_reqs = req;
	pthread_mutex_unlock(&b->lock);
}

static void blk_notify(struct virtio_dev *vd, unsigned int q)
{
	struct blk *b = (struct blk *)vd;
	struct blk_req *head = NULL, *tail = NULL, *req;
	unsigned int n = 0;
	bool idle;

	for (;;) {
		req = req_get(b);
		if (!req) {
			log_error("virtio-blk: out of memory; requests wait for the next kick");
			break;
		}
		if (virtio_dev_pop(vd, 0, &req->buf) <= 0) {
			req_put(b, req);
			break;
		}
		if (tail)
			tail->next = req;
		else
			head = req;
		tail = req;
		n++;
	}
	if (!n)
		return;

	pthread_mutex_lock(&b->lock);
	idle = !b->busy;
	pthread_mutex_unlock(&b->lock);
	if (!b->nr_workers) {
		/* No pool (blk_cfg.inline_io): one after the other, here. */
		while ((req = head)) {
			head = req->next;
			blk_finish(b, req);
			req_put(b, req);
		}
		return;
	}
	if (n == 1 && idle) {
		blk_finish(b, head);
		req_put(b, head);
		return;
	}
	pthread_mutex_lock(&b->lock);
	if (b->work_tail)
		b->work_tail->next = head;
	else
		b->work = head;
	b->work_tail = tail;
	b->busy += n;
	if (n == 1)
		pthread_cond_signal(&b->work_cond);
	else
		pthread_cond_broadcast(&b->work_cond);
	pthread_mutex_unlock(&b->lock);
}

static void blk_quiesce(struct virtio_dev *vd)
{
	struct blk *b = (struct blk *)vd;

	pthread_mutex_lock(&b->lock);
	while (b->busy)
		pthread_cond_wait(&b->idle_cond, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

static void blk_stop_workers(struct blk *b)
{
	unsigned int i;

	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_cond_broadcast(&b->work_cond);
	pthread_mutex_unlock(&b->lock);
	for (i = 0; i < b->nr_workers; i++)
		pthread_join(b->workers[i], NULL);
	b->nr_workers = 0;
}

static void blk_destroy(struct blk *b)
{
	struct blk_req *req;

	blk_stop_workers(b);
	while ((req = b->free_reqs)) {
		b->free_reqs = req->next;
		free(req);
	}
	pthread_cond_destroy(&b->work_cond);
	pthread_cond_destroy(&b->idle_cond);
	pthread_mutex_destroy(&b->lock);
	if (b->fd >= 0)
		close(b->fd);
	free(b->path);
	free(b);
}

static void blk_free(struct virtio_dev *vd)
{
	blk_destroy((struct blk *)vd);
}

/* A request made before a takeover that fails them: IOERR, data untouched. */
static enum virtio_fail_result blk_fail_request(struct virtio_dev *vd,
						unsigned int q,
						const struct vq_buf *b,
						uint32_t *len)
{
	uint8_t status = VIRTIO_BLK_S_IOERR;

	if (b->in_len < 1)
		return VIRTIO_FAIL_BAD;
	iov_from_buf(vq_buf_in(b), b->nr_in, b->in_len - 1, &status, 1);
	*len = 1;
	return VIRTIO_FAIL_DONE;
}

static const struct virtio_dev_ops blk_ops = {
	.queue_notify = blk_notify,
	.quiesce = blk_quiesce,
	.fail_request = blk_fail_request,
	.free = blk_free,
};

/*
 * The logical block size O_DIRECT works in: the block device's (BLKSSZGET),
 * or for a file the file system's direct I/O offset alignment (statx
 * STATX_DIOALIGN, when the kernel reports it), at least 512.  Returns 0 or
 * -1 (logged).
 */
static int blk_direct_lbs(struct blk *b, const struct stat *st)
{
	unsigned int lbs = BLK_SECTOR;

	if (S_ISBLK(st->st_mode)) {
		int ss;

		if (ioctl(b->fd, BLKSSZGET, &ss)) {
			log_errno("virtio-blk: cannot get the logical block size of '%s'",
				  b->path);
			return -1;
		}
		lbs = ss;
	} else {
		struct statx sx;

		if (!statx(b->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) &&
		    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align)
			lbs = sx.stx_dio_offset_align;
	}
	if (lbs < BLK_SECTOR)
		lbs = BLK_SECTOR;
	if (lbs & (lbs - 1) || lbs > 65536) {
		log_error("virtio-blk: '%s' has a logical block size of %u bytes, which virtio-blk cannot offer",
			  b->path, lbs);
		return -1;
	}
	b->lbs = lbs;
	return 0;
}

/* Open and check the image; fills fd, sectors, lbs.  Returns 0 or -1 (logged). */
static int blk_open(struct blk *b, const struct blk_cfg *c)
{
	const char *opt = c->readonly ? "--disk" : "--rwdisk";
	int flags = (c->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC |
		    (c->direct ? O_DIRECT : 0);
	struct stat st;
	uint64_t size;

	b->fd = open(c->path, flags);
	if (b->fd < 0) {
		int err = errno;

		if (err == ENOENT)
			log_error("virtio-blk: disk image '%s' does not exist (check the path given to %s)",
				  c->path, opt);
		else if (!c->readonly && (err == EACCES || err == EROFS || err == EPERM))
			log_error("virtio-blk: cannot open disk image '%s' for writing: %s (use --disk for a read-only disk)",
				  c->path, strerror(err));
		else if (c->direct && err == EINVAL)
			log_error("virtio-blk: the file system of '%s' does not support O_DIRECT (drop ',direct')",
				  c->path);
		else
			log_error("virtio-blk: cannot open disk image '%s': %s",
				  c->path, strerror(err));
		return -1;
	}
	if (fstat(b->fd, &st)) {
		log_errno("virtio-blk: cannot stat '%s'", c->path);
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		size = st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(b->fd, BLKGETSIZE64, &size)) {
			log_errno("virtio-blk: cannot get the size of block device '%s'",
				  c->path);
			return -1;
		}
	} else {
		log_error("virtio-blk: '%s' is not a regular file or a block device",
			  c->path);
		return -1;
	}
	if (size < BLK_SECTOR) {
		log_error("virtio-blk: disk image '%s' is empty (%llu bytes); make it larger, e.g. truncate -s 1G %s",
			  c->path, (unsigned long long)size, c->path);
		return -1;
	}
	if (size % BLK_SECTOR)
		log_warn("virtio-blk: '%s': the last %llu bytes are not a whole 512-byte sector; the guest does not see them",
			 c->path, (unsigned long long)(size % BLK_SECTOR));
	if (flock(b->fd, (c->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		if (errno == EWOULDBLOCK)
			log_error("virtio-blk: disk image '%s' is in use by another process (locked); use --disk to share it read-only",
				  c->path);
		else
			log_errno("virtio-blk: cannot lock '%s'", c->path);
		return -1;
	}
	b->lbs = BLK_SECTOR;
	if (c->direct && blk_direct_lbs(b, &st))
		return -1;
	if (c->block_size && c->block_size < b->lbs) {
		log_error("virtio-blk: block_size=%u is below the %u bytes O_DIRECT needs on '%s'; give block_size=%u or more",
			  c->block_size, b->lbs, c->path, b->lbs);
		return -1;
	}
	if (c->block_size)
		b->lbs = c->block_size;
	/* Probe one sector: an unreadable image should fail now, not in the guest. */
	{
		void *p;
		ssize_t r;

		if (posix_memalign(&p, direct_align(b), direct_align(b)))
			return -1;
		r = pread(b->fd, p, c->direct ? direct_align(b) : BLK_SECTOR, 0);
		free(p);
		if (r < 0) {
			log_errno("virtio-blk: cannot read disk image '%s'", c->path);
			return -1;
		}
	}
	b->sectors = size / BLK_SECTOR;
	return 0;
}

struct virtio_dev *blk_new(const struct blk_cfg *c)
{
	struct virtio_dev_info info = {
		.name = "virtio-blk",
		.device_id = VIRTIO_ID_BLOCK,
		.pci_class = 0x018000,	/* mass storage, other */
		.num_queues = 1,
		.queue_size = BLK_QUEUE_SIZE,
		.config_size = sizeof(struct virtio_blk_config),
	};
	struct virtio_blk_config cfg;
	pthread_attr_t attr;
	sigset_t all, old;
	struct blk *b;
	unsigned int i, nw = c->workers ? c->workers : BLK_WORKERS;
	int ret;

	b = calloc(1, sizeof(*b));
	if (!b) {
		log_error("virtio-blk: out of memory");
		return NULL;
	}
	b->fd = -1;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->work_cond, NULL);
	pthread_cond_init(&b->idle_cond, NULL);
	b->readonly = c->readonly;
	b->direct = c->direct;
	b->path = strdup(c->path);
	if (c->serial)	/* zero padded, not terminated when 20 long */
		memcpy(b->serial, c->serial,
		       strnlen(c->serial, sizeof(b->serial)));
	if (!b->path || blk_open(b, c))
		goto fail;

	info.features = (1ull << VIRTIO_BLK_F_SIZE_MAX) |
			(1ull << VIRTIO_BLK_F_SEG_MAX) |
			(1ull << VIRTIO_BLK_F_BLK_SIZE) |
			(1ull << VIRTIO_BLK_F_FLUSH);
	if (b->readonly)
		info.features |= 1ull << VIRTIO_BLK_F_RO;
	else
		info.features |= (1ull << VIRTIO_BLK_F_DISCARD) |
				 (1ull << VIRTIO_BLK_F_WRITE_ZEROES);
	ret = virtio_dev_init(&b->vd, &blk_ops, &info);
	if (ret) {
		log_error("virtio-blk: cannot create the device: %s", strerror(-ret));
		goto fail;
	}

	memset(&cfg, 0, sizeof(cfg));
	cfg.capacity = htole64(b->sectors);
	cfg.size_max = htole32(BLK_SIZE_MAX);
	cfg.seg_max = htole32(BLK_SEG_MAX);
	cfg.blk_size = htole32(b->lbs);
	cfg.num_queues = htole16(1);
	cfg.max_discard_sectors = htole32(BLK_MAX_DISCARD_SECT);
	cfg.max_discard_seg = htole32(BLK_MAX_DISCARD_SEG);
	cfg.discard_sector_alignment = htole32(direct_align(b) / BLK_SECTOR);
	cfg.max_write_zeroes_sectors = htole32(BLK_MAX_DISCARD_SECT);
	cfg.max_write_zeroes_seg = htole32(BLK_MAX_DISCARD_SEG);
	cfg.write_zeroes_may_unmap = 1;
	memcpy(b->vd.config, &cfg, sizeof(cfg));

	if (c->inline_io)
		return &b->vd;
	if (nw > sizeof(b->workers) / sizeof(b->workers[0]))
		nw = sizeof(b->workers) / sizeof(b->workers[0]);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	/*
	 * Signals belong to the main thread: the workers start before it
	 * blocks SIGTERM for its signalfd, and a worker taking one would
	 * kill the process.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < nw; i++) {
		ret = pthread_create(&b->workers[i], &attr, blk_worker, b);
		if (ret) {
			log_error("virtio-blk: cannot start I/O workers: %s",
				  strerror(ret));
			break;
		}
		b->nr_workers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (!b->nr_workers) {
		pci_func_free(&b->vd.func);
		return NULL;
	}
	return &b->vd;
fail:
	blk_destroy(b);
	return NULL;
}
