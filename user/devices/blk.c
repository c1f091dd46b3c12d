// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (virtio 1.x, section 5.2) on a raw image: read, write, flush,
 * get-id, discard and write-zeroes (fallocate), read-only images, O_DIRECT.
 *
 * Multi-queue (VIRTIO_BLK_F_MQ): blk_cfg.num_queues request queues, all
 * served by the device's one I/O thread.
 *
 * Requests run in parallel, on io_uring when the kernel allows it: each
 * queue has its own ring (lib/ioring.h); a kick pops every available chain
 * and queues its read, write, fdatasync (FLUSH) or fallocate (DISCARD:
 * PUNCH_HOLE; WRITE_ZEROES: ZERO_RANGE, or PUNCH_HOLE when the driver
 * allows unmapping) on the queue's ring, submitted once per kick.  The
 * ring's eventfd is a source of the device's loop, whose callback writes
 * the status bytes and pushes the used entries, in completion order.  What
 * the ring cannot do in one go is finished synchronously on the I/O
 * thread: GET_ID, requests answered with an error, O_DIRECT with
 * unaligned guest buffers (bounced), a short transfer's remainder, and
 * write-zeroes on a file system without fallocate modes (zeros written).
 *
 * Without io_uring (the kernel has none, forbids it, or the environment
 * says VBRIDGE_NO_IO_URING=1) a small pool of worker threads does
 * preadv/pwritev straight into guest memory instead.  A lone request with
 * nothing else in flight is served on the I/O thread itself, which saves
 * two thread switches at queue depth 1.  Without either
 * (blk_cfg.inline_io) every request is served there, in ring order.
 *
 * A reset, a pause (VMSTOP) or a stop first parks the I/O thread, then
 * quiesce waits for every request on a ring or with a worker and
 * completes it: nothing of the device touches guest memory afterwards.
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
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "devices/virtio_devs.h"
#include "lib/ioring.h"
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
#define BLK_MAX_QUEUES		64	/* num_queues */

struct blk;

/* What a request does on a ring. */
enum blk_op {
	BLK_OP_READ,
	BLK_OP_WRITE,
	BLK_OP_FLUSH,
	BLK_OP_DISCARD,
	BLK_OP_ZEROES,
};

/* A discard or write-zeroes segment, checked. */
struct blk_seg {
	uint64_t off;
	uint64_t len;
	bool unmap;
};

/**
 * struct blk_queue - one request queue
 * @b: its device
 * @q: its index
 * @ring: its io_uring, NULL when the device uses worker threads
 * @src: @ring's eventfd in the device's loop
 * @inflight: requests on @ring not completed yet (I/O thread)
 */
struct blk_queue {
	struct blk *b;
	unsigned int q;
	struct ioring *ring;
	struct vloop_src src;
	unsigned int inflight;
};

/**
 * struct blk_req - one request
 * @b: its device
 * @next: in the work list or the free list (blk.lock)
 * @q: the queue it came from
 * @buf: the chain
 * @iov: its segments
 * @op: on a ring: what it does
 * @pending: on a ring: operations not completed yet
 * @status: on a ring: the answer so far
 * @redo_zeroes: on a ring: a write-zeroes segment needs the fallback
 * @off: on a ring: byte offset of a read or write
 * @len: on a ring: its length
 * @nr_data: on a ring: segments in @data
 * @data: on a ring: the data segments of a read or write
 */
struct blk_req {
	struct blk *b;
	struct blk_req *next;
	unsigned int q;
	struct vq_buf buf;
	struct iovec iov[BLK_MAX_SEGS];
	enum blk_op op;
	unsigned int pending;
	uint8_t status;
	bool redo_zeroes;
	uint64_t off;
	size_t len;
	unsigned int nr_data;
	struct iovec data[BLK_MAX_SEGS];
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
 * @nr_queues: entries in @queues
 * @queues: the request queues
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
	unsigned int nr_queues;
	struct blk_queue queues[BLK_MAX_QUEUES];
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

/*
 * Check a discard or write-zeroes request's segments and put them in segs
 * (BLK_MAX_DISCARD_SEG entries; empty ones left out, *nr set).  Returns
 * VIRTIO_BLK_S_OK or the status to answer.
 */
static uint8_t blk_discard_check(struct blk *b, struct vq_buf *rb, bool zeroes,
				 struct blk_seg *segs, unsigned int *nr)
{
	unsigned int nseg, i;
	size_t bytes = rb->out_len - sizeof(struct virtio_blk_outhdr);

	*nr = 0;
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
		segs[*nr].off = sector * BLK_SECTOR;
		segs[*nr].len = (uint64_t)nsect * BLK_SECTOR;
		segs[*nr].unmap = flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
		++*nr;
	}
	return VIRTIO_BLK_S_OK;
}

/* fallocate's mode for a discard or write-zeroes segment. */
static int blk_discard_mode(bool zeroes, const struct blk_seg *seg)
{
	return FALLOC_FL_KEEP_SIZE |
	       (!zeroes || seg->unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE);
}

static uint8_t blk_discard(struct blk *b, struct vq_buf *rb, bool zeroes)
{
	struct blk_seg segs[BLK_MAX_DISCARD_SEG];
	unsigned int nseg, i;
	uint8_t status = blk_discard_check(b, rb, zeroes, segs, &nseg);

	for (i = 0; i < nseg && status == VIRTIO_BLK_S_OK; i++) {
		int ret;

		if (zeroes) {
			ret = blk_zero(b, segs[i].off, segs[i].len, segs[i].unmap);
		} else {
			ret = fallocate(b->fd, blk_discard_mode(false, &segs[i]),
					segs[i].off, segs[i].len) ? -errno : 0;
			if (ret == -EOPNOTSUPP)
				ret = 0;	/* discard is a hint */
		}
		if (ret)
			status = VIRTIO_BLK_S_IOERR;
	}
	return status;
}

/*
 * The data segments of a read (!write) or write request into data
 * (BLK_MAX_SEGS entries), checked: whole sectors, within size limits,
 * block size and image.  Returns the segment count (*len set), or -1.
 */
static int blk_rw_check(struct blk *b, struct vq_buf *rb, bool write,
			uint64_t sector, struct iovec *data, size_t *len)
{
	size_t got;
	unsigned int k;

	if (write) {
		*len = rb->out_len - sizeof(struct virtio_blk_outhdr);
		k = iov_slice(rb->iov, rb->nr_out, sizeof(struct virtio_blk_outhdr),
			      *len, data, BLK_MAX_SEGS, &got);
		if (b->readonly)
			return -1;
	} else {
		*len = rb->in_len - 1;
		k = iov_slice(vq_buf_in(rb), rb->nr_in, 0, *len, data,
			      BLK_MAX_SEGS, &got);
	}
	if (got != *len || *len % BLK_SECTOR || *len > BLK_MAX_XFER ||
	    !lbs_ok(b, sector, *len) || !range_ok(b, sector, *len / BLK_SECTOR))
		return -1;
	return k;
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
	size_t len;
	uint32_t written = 0;
	int k;
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
		k = blk_rw_check(b, rb, false, sector, data, &len);
		if (k < 0 || blk_rw(b, false, data, k, sector * BLK_SECTOR, len)) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		written = len;
		break;
	case VIRTIO_BLK_T_OUT:
		k = blk_rw_check(b, rb, true, sector, data, &len);
		if (k < 0 || blk_rw(b, true, data, k, sector * BLK_SECTOR, len))
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
		virtio_dev_complete(&b->vd, req->q, req->buf.head, len);
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

/* --- io_uring ------------------------------------------------------------ */

/*
 * Queue req's operations on its queue's ring.  Returns true when they are
 * queued (the ring's completion finishes req), false when req is to be
 * served synchronously (blk_finish()): nothing was queued.
 */
static bool blk_ring_prep(struct blk *b, struct blk_queue *bq,
			  struct blk_req *req)
{
	struct vq_buf *rb = &req->buf;
	struct virtio_blk_outhdr hdr;
	struct blk_seg segs[BLK_MAX_DISCARD_SEG];
	unsigned int nseg = 0, i;
	uint64_t sector;
	int k, ret = 0;

	if (rb->in_len < 1 ||
	    iov_to_buf(rb->iov, rb->nr_out, 0, &hdr, sizeof(hdr)) != sizeof(hdr))
		return false;
	sector = le64toh(hdr.sector);
	req->status = VIRTIO_BLK_S_OK;
	req->redo_zeroes = false;
	req->len = 0;
	switch (le32toh(hdr.type)) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		req->op = le32toh(hdr.type) == VIRTIO_BLK_T_IN ? BLK_OP_READ :
								BLK_OP_WRITE;
		k = blk_rw_check(b, rb, req->op == BLK_OP_WRITE, sector,
				 req->data, &req->len);
		if (k < 0 ||
		    (b->direct && !aligned_iov(req->data, k, direct_align(b))))
			return false;	/* an error, or bounced */
		req->nr_data = k;
		req->off = sector * BLK_SECTOR;
		if (!req->len)
			return false;
		ret = req->op == BLK_OP_READ ?
			ioring_readv(bq->ring, b->fd, req->data, k, req->off, req) :
			ioring_writev(bq->ring, b->fd, req->data, k, req->off, req);
		req->pending = 1;
		break;
	case VIRTIO_BLK_T_FLUSH:
		req->op = BLK_OP_FLUSH;
		ret = ioring_fdatasync(bq->ring, b->fd, req);
		req->pending = 1;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		req->op = le32toh(hdr.type) == VIRTIO_BLK_T_DISCARD ? BLK_OP_DISCARD :
								  BLK_OP_ZEROES;
		if (b->readonly ||
		    blk_discard_check(b, rb, req->op == BLK_OP_ZEROES, segs,
				      &nseg) != VIRTIO_BLK_S_OK || !nseg)
			return false;
		for (i = 0; i < nseg && !ret; i++)
			ret = ioring_fallocate(bq->ring, b->fd,
					       blk_discard_mode(req->op == BLK_OP_ZEROES,
								&segs[i]),
					       segs[i].off, segs[i].len, req);
		req->pending = i;
		break;
	default:
		return false;
	}
	if (ret) {
		/*
		 * No submission slot even after submitting: cannot happen
		 * with a ring as large as the queue; the segments queued
		 * still complete, the rest fails.
		 */
		req->status = VIRTIO_BLK_S_IOERR;
		if (!--req->pending)
			return false;
	}
	bq->inflight++;
	return true;
}

/*
 * One completion of a ring operation of req (any of its operations).
 * arg: NULL to interrupt the driver for each request completed, else a
 * bool set when a used entry was pushed without one (the caller signals
 * once for the batch).
 */
static void blk_ring_done(void *tag, int res, void *arg)
{
	bool *pushed = arg;
	struct blk_req *req = tag;
	struct blk *b = req->b;
	struct blk_queue *bq = &b->queues[req->q];
	uint32_t written = 0;

	switch (req->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		if (res >= 0 && (size_t)res < req->len) {
			/* Short: the rest synchronously (EIO if the image shrank). */
			struct iovec part[BLK_MAX_SEGS];
			unsigned int k = iov_slice(req->data, req->nr_data, res,
						   req->len - res, part,
						   BLK_MAX_SEGS, NULL);

			res = blk_rw(b, req->op == BLK_OP_WRITE, part, k,
				     req->off + res, req->len - res);
		} else if (res > 0) {
			res = 0;
		}
		break;
	case BLK_OP_DISCARD:
		if (res == -EOPNOTSUPP)
			res = 0;	/* discard is a hint */
		break;
	case BLK_OP_ZEROES:
		if (res == -EOPNOTSUPP || res == -EINVAL) {
			req->redo_zeroes = true;
			res = 0;
		}
		break;
	case BLK_OP_FLUSH:
		break;
	}
	if (res < 0)
		req->status = VIRTIO_BLK_S_IOERR;
	if (--req->pending)
		return;
	/* The file system has no such fallocate mode: blk_zero() falls back. */
	if (req->redo_zeroes && req->status == VIRTIO_BLK_S_OK)
		req->status = blk_discard(b, &req->buf, true);
	if (req->status == VIRTIO_BLK_S_OK && req->op == BLK_OP_READ)
		written = req->len;
	iov_from_buf(vq_buf_in(&req->buf), req->buf.nr_in, req->buf.in_len - 1,
		     &req->status, 1);
	bq->inflight--;
	if (pushed) {
		vq_push(virtio_dev_vq(&b->vd, req->q), req->buf.head, written + 1);
		*pushed = true;
	} else {
		virtio_dev_complete(&b->vd, req->q, req->buf.head, written + 1);
	}
	req_put(b, req);
}

/* Complete what bq's ring has done; one interrupt for the lot. */
static void blk_ring_reap(struct blk_queue *bq)
{
	bool pushed = false;

	ioring_reap(bq->ring, false, blk_ring_done, &pushed);
	if (pushed)
		virtio_dev_signal(&bq->b->vd, bq->q);
}

/* The loop's callback: queue bq's ring has completions. */
static void blk_ring_event(struct vloop_src *src, uint32_t events)
{
	blk_ring_reap(src->arg);
}

/* A kick of a queue with a ring: everything available, one submission. */
static void blk_ring_notify(struct blk *b, struct blk_queue *bq)
{
	struct blk_req *req;
	bool queued = false;
	int ret;

	for (;;) {
		req = req_get(b);
		if (!req) {
			log_error("virtio-blk: out of memory; requests wait for the next kick");
			break;
		}
		if (virtio_dev_pop(&b->vd, bq->q, &req->buf) <= 0) {
			req_put(b, req);
			break;
		}
		req->q = bq->q;
		if (blk_ring_prep(b, bq, req)) {
			queued = true;
			continue;
		}
		blk_finish(b, req);
		req_put(b, req);
	}
	if (!queued)
		return;
	ret = ioring_submit(bq->ring);
	if (ret < 0)
		log_error("virtio-blk: io_uring submission failed: %s",
			  strerror(-ret));
	/*
	 * Reads from the page cache complete inside the submission: answer
	 * them now rather than one more trip through the loop.
	 */
	blk_ring_reap(bq);
}

/*
 * Wait for every request on bq's ring and complete it (parked or stopped).
 * Operations a failed submission left queued are submitted first.
 */
static void blk_ring_drain(struct blk_queue *bq)
{
	while (bq->inflight) {
		ioring_submit(bq->ring);
		ioring_reap(bq->ring, true, blk_ring_done, NULL);
	}
}

/*
 * One ring per queue, its eventfd in the device's loop.  Returns 0, or
 * -errno when io_uring cannot be used (nothing left behind).
 */
static int blk_ring_setup(struct blk *b)
{
	unsigned int q;
	int err = 0, ret;

	for (q = 0; q < b->nr_queues; q++) {
		struct blk_queue *bq = &b->queues[q];

		bq->ring = ioring_new(BLK_QUEUE_SIZE, &err);
		if (!bq->ring)
			goto fail;
		bq->src.fd = ioring_event_fd(bq->ring);
		bq->src.fn = blk_ring_event;
		bq->src.arg = bq;
		ret = vloop_add(b->vd.loop, &bq->src, EPOLLIN);
		if (ret) {
			err = ret;
			ioring_free(bq->ring);
			bq->ring = NULL;
			goto fail;
		}
	}
	return 0;
fail:
	while (q--) {
		vloop_del(b->vd.loop, &b->queues[q].src);
		ioring_free(b->queues[q].ring);
		b->queues[q].ring = NULL;
	}
	return err;
}

/* --- kicks ------------------------------------------------------------- */

static void blk_notify(struct virtio_dev *vd, unsigned int q)
{
	struct blk *b = (struct blk *)vd;
	struct blk_req *head = NULL, *tail = NULL, *req;
	unsigned int n = 0;
	bool idle;

	if (b->queues[q].ring) {
		blk_ring_notify(b, &b->queues[q]);
		return;
	}
	for (;;) {
		req = req_get(b);
		if (!req) {
			log_error("virtio-blk: out of memory; requests wait for the next kick");
			break;
		}
		if (virtio_dev_pop(vd, q, &req->buf) <= 0) {
			req_put(b, req);
			break;
		}
		req->q = q;
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
	unsigned int q;

	for (q = 0; q < b->nr_queues; q++)
		if (b->queues[q].ring)
			blk_ring_drain(&b->queues[q]);
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
	unsigned int q;

	blk_stop_workers(b);
	/* After quiesce: nothing in flight; the loop is gone already. */
	for (q = 0; q < b->nr_queues; q++)
		ioring_free(b->queues[q].ring);
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
	unsigned int nq = c->num_queues ? c->num_queues : 1;
	int ret;

	if (nq > BLK_MAX_QUEUES) {
		log_error("virtio-blk: num_queues=%u is more than the %d a disk can have",
			  nq, BLK_MAX_QUEUES);
		return NULL;
	}

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
	b->nr_queues = nq;
	for (i = 0; i < nq; i++) {
		b->queues[i].b = b;
		b->queues[i].q = i;
	}
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
	if (nq > 1)
		info.features |= 1ull << VIRTIO_BLK_F_MQ;
	info.num_queues = nq;
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
	cfg.num_queues = htole16(nq);
	cfg.max_discard_sectors = htole32(BLK_MAX_DISCARD_SECT);
	cfg.max_discard_seg = htole32(BLK_MAX_DISCARD_SEG);
	cfg.discard_sector_alignment = htole32(direct_align(b) / BLK_SECTOR);
	cfg.max_write_zeroes_sectors = htole32(BLK_MAX_DISCARD_SECT);
	cfg.max_write_zeroes_seg = htole32(BLK_MAX_DISCARD_SEG);
	cfg.write_zeroes_may_unmap = 1;
	memcpy(b->vd.config, &cfg, sizeof(cfg));

	if (c->inline_io)
		return &b->vd;
	ret = blk_ring_setup(b);
	if (!ret)
		return &b->vd;
	log_info("virtio-blk: '%s': io_uring unavailable (%s); using %u worker threads",
		 b->path, strerror(-ret), nw);
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
