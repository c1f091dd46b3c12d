/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A vhost-user front-end: the client side of the protocol QEMU documents in
 * docs/interop/vhost-user.rst, over a Unix stream socket to a back-end
 * process (qemu-storage-daemon's vhost-user-blk export, virtiofsd ...).
 *
 * The back-end is another, untrusted process: every reply is checked
 * (request code, flags, size, no file descriptors but the one
 * GET_INFLIGHT_FD's reply must carry) before it is used, every
 * wait for a reply has a timeout, and a back-end that goes away is reported
 * as such (-EPIPE) instead of killing us with SIGPIPE.  After a malformed
 * reply or a timeout the stream is out of step, so the connection is marked
 * broken and every later request fails at once; the caller decides what
 * the device does (reconnect, or mark itself broken).
 *
 * Every failure is logged with log_error() and kept in vu->err.
 */
#ifndef VBRIDGE_VHOST_VHOST_USER_H
#define VBRIDGE_VHOST_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Requests (front-end to back-end). */
enum {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_GET_INFLIGHT_FD = 31,
	VHOST_USER_SET_INFLIGHT_FD = 32,
	VHOST_USER_RESET_DEVICE = 34,
};

/* Header flags: the version in bits 0-1, then reply and need-reply. */
#define VHOST_USER_VERSION		0x1u
#define VHOST_USER_VERSION_MASK		0x3u
#define VHOST_USER_FLAG_REPLY		(1u << 2)
#define VHOST_USER_FLAG_NEED_REPLY	(1u << 3)

/* The virtio feature bit that says the back-end has protocol features. */
#define VHOST_USER_F_PROTOCOL_FEATURES	30

/* Protocol feature bits. */
#define VHOST_USER_PROTOCOL_F_MQ		0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK		3
#define VHOST_USER_PROTOCOL_F_CONFIG		9
#define VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD	12
#define VHOST_USER_PROTOCOL_F_RESET_DEVICE	13

/* The protocol features this client implements (what it may ack). */
#define VHOST_USER_PROTOCOL_SUPPORTED				\
	((1ull << VHOST_USER_PROTOCOL_F_MQ) |			\
	 (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |		\
	 (1ull << VHOST_USER_PROTOCOL_F_CONFIG) |		\
	 (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |	\
	 (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE))

#define VHOST_USER_MAX_REGIONS		8	/* SET_MEM_TABLE, one fd each */
#define VHOST_USER_MAX_CONFIG		256	/* GET_CONFIG/SET_CONFIG payload */
/* SET_VRING_KICK/CALL: the queue index, and "no fd: poll the ring". */
#define VHOST_USER_VRING_IDX_MASK	0xffu
#define VHOST_USER_VRING_NOFD		(1u << 8)

#define VHOST_USER_TIMEOUT_MS		5000	/* default reply timeout */

/* The wire format: host byte order, no padding but where the spec has it. */
struct vhost_user_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;			/* payload bytes after the header */
} __attribute__((packed));

struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
} __attribute__((packed));

struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;			/* front-end virtual addresses */
	uint64_t used;
	uint64_t avail;
	uint64_t log;
} __attribute__((packed));

struct vhost_user_mem_region {
	uint64_t guest_addr;
	uint64_t size;
	uint64_t user_addr;		/* where the front-end mapped it */
	uint64_t mmap_offset;		/* of the region in its fd */
} __attribute__((packed));

struct vhost_user_mem {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_mem_region regions[VHOST_USER_MAX_REGIONS];
} __attribute__((packed));

struct vhost_user_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t payload[VHOST_USER_MAX_CONFIG];
} __attribute__((packed));

#define VHOST_USER_CONFIG_HDR	12u	/* offset, size, flags */

/*
 * GET_INFLIGHT_FD/SET_INFLIGHT_FD: the shared region where the back-end
 * keeps track of the requests it took from the rings but has not
 * completed, so that a back-end that restarts can finish them.  The
 * front-end asks with the queue count and size; the back-end answers with
 * the region's size and offset in the one fd that comes with the reply.
 * 24 bytes on the wire: QEMU's layout, padded to 8.
 */
struct vhost_user_inflight {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
	uint32_t padding;
} __attribute__((packed));

/* More than any queue count and size could need (64 x 32768 x 32 bytes). */
#define VHOST_USER_INFLIGHT_MAX_SIZE	(1ull << 30)

/* --- parsing a reply (pure: bytes in, decoded reply or error out) -------- */

enum vhost_user_reply_kind {
	VHOST_USER_REPLY_U64,		/* GET_*FEATURES, GET_QUEUE_NUM, ack */
	VHOST_USER_REPLY_STATE,		/* GET_VRING_BASE */
	VHOST_USER_REPLY_CONFIG,	/* GET_CONFIG */
	VHOST_USER_REPLY_INFLIGHT,	/* GET_INFLIGHT_FD: exactly one fd */
};

/**
 * struct vhost_user_expect - what the reply to one request must be
 * @request: the request it answers
 * @kind: its payload
 * @index: REPLY_STATE: the queue asked about
 * @cfg_offset: REPLY_CONFIG: the offset asked for
 * @cfg_size: REPLY_CONFIG: the bytes asked for (at most VHOST_USER_MAX_CONFIG)
 */
struct vhost_user_expect {
	uint32_t request;
	enum vhost_user_reply_kind kind;
	uint32_t index;
	uint32_t cfg_offset;
	uint32_t cfg_size;
};

struct vhost_user_reply {
	uint64_t u64;
	struct vhost_user_vring_state state;
	struct vhost_user_config config;
	struct vhost_user_inflight inflight;
};

/*
 * Check a reply's header before its payload is read: request code, flags
 * (exactly version 1 and the reply bit), size, and that the fds that came
 * with it (nfds) are what the kind wants (one for REPLY_INFLIGHT, none for
 * every other) and none were cut off (ctrunc).  0, or -EPROTO with the
 * reason in err.
 */
int vhost_user_check_header(const struct vhost_user_expect *want,
			    const struct vhost_user_hdr *hdr, unsigned int nfds,
			    bool ctrunc, char *err, size_t errlen);

/*
 * Decode a whole reply (header and payload, len bytes of buf) into out.
 * REPLY_INFLIGHT: the region must have a size, at most
 * VHOST_USER_INFLIGHT_MAX_SIZE, and end within what mmap() can take.
 * 0, or -EPROTO with the reason in err.
 */
int vhost_user_parse_reply(const struct vhost_user_expect *want,
			   const void *buf, size_t len, unsigned int nfds,
			   bool ctrunc, struct vhost_user_reply *out,
			   char *err, size_t errlen);

/* "GET_FEATURES" or "request 99". */
const char *vhost_user_request_name(uint32_t request, char *buf, size_t len);

/* --- the client ------------------------------------------------------------ */

/**
 * struct vhost_user - one connection to a back-end
 * @fd: the connected socket (-1: none)
 * @timeout_ms: how long a reply may take
 * @protocol_features: what SET_PROTOCOL_FEATURES acked
 * @broken: a reply was malformed or late: the stream is out of step
 * @disconnected: the back-end closed the connection
 * @quiet: failures go to @err and the debug log only, for a caller that
 *	reports them itself (or has a fallback)
 * @err: the last failure, as logged
 */
struct vhost_user {
	int fd;
	int timeout_ms;
	uint64_t protocol_features;
	bool broken;
	bool disconnected;
	bool quiet;
	char err[256];
};

/* A region of guest memory for SET_MEM_TABLE, with the fd that backs it. */
struct vhost_user_region {
	uint64_t guest_addr;
	uint64_t size;
	uint64_t user_addr;
	uint64_t mmap_offset;
	int fd;
};

/*
 * Connect to the back-end listening on path, without waiting: 0 or a
 * negative errno (-EAGAIN: it listens but its backlog is full).
 */
int vhost_user_connect(struct vhost_user *vu, const char *path);
/* Use fd, a connected Unix stream socket, which vu now owns. */
void vhost_user_init_fd(struct vhost_user *vu, int fd);
void vhost_user_close(struct vhost_user *vu);

/*
 * The requests.  Each returns 0, or a negative errno: -EPIPE the back-end
 * disconnected, -ETIMEDOUT it did not answer in time, -EPROTO its reply was
 * malformed (or the connection was already broken), -EIO it answered with
 * a failure (REPLY_ACK nonzero, GET_CONFIG refused), -EINVAL a request this
 * connection cannot make (a protocol feature not negotiated, bad argument).
 */
int vhost_user_get_features(struct vhost_user *vu, uint64_t *features);
int vhost_user_set_features(struct vhost_user *vu, uint64_t features);
int vhost_user_get_protocol_features(struct vhost_user *vu, uint64_t *pf);
int vhost_user_set_protocol_features(struct vhost_user *vu, uint64_t pf);
int vhost_user_set_owner(struct vhost_user *vu);
/* RESET_DEVICE when that protocol feature was acked, else RESET_OWNER. */
int vhost_user_reset(struct vhost_user *vu);
int vhost_user_get_queue_num(struct vhost_user *vu, uint64_t *num);
int vhost_user_set_mem_table(struct vhost_user *vu,
			     const struct vhost_user_region *r, unsigned int n);
int vhost_user_set_vring_num(struct vhost_user *vu, unsigned int index,
			     unsigned int num);
int vhost_user_set_vring_addr(struct vhost_user *vu,
			      const struct vhost_user_vring_addr *addr);
int vhost_user_set_vring_base(struct vhost_user *vu, unsigned int index,
			      unsigned int base);
/* Stops the ring; *base is where the back-end would go on. */
int vhost_user_get_vring_base(struct vhost_user *vu, unsigned int index,
			      unsigned int *base);
/* fd < 0: no eventfd (the back-end polls the ring / nobody is signalled). */
int vhost_user_set_vring_kick(struct vhost_user *vu, unsigned int index, int fd);
int vhost_user_set_vring_call(struct vhost_user *vu, unsigned int index, int fd);
int vhost_user_set_vring_enable(struct vhost_user *vu, unsigned int index,
				bool enable);
int vhost_user_get_config(struct vhost_user *vu, uint32_t offset, void *buf,
			  uint32_t len);
int vhost_user_set_config(struct vhost_user *vu, uint32_t offset,
			  const void *buf, uint32_t len);
/*
 * INFLIGHT_SHMFD: ask for the inflight region of num_queues queues of
 * queue_size entries.  0 with the description in *out and its fd in *fd
 * (the caller's to close); on failure no fd is left open.
 */
int vhost_user_get_inflight_fd(struct vhost_user *vu, unsigned int num_queues,
			       unsigned int queue_size,
			       struct vhost_user_inflight *out, int *fd);
/* Hand the region (as GET_INFLIGHT_FD described it) to the back-end. */
int vhost_user_set_inflight_fd(struct vhost_user *vu,
			       const struct vhost_user_inflight *in, int fd);

#endif
