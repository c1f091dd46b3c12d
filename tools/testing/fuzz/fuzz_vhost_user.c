// SPDX-License-Identifier: GPL-2.0
/*
 * The vhost-user front-end's reply parser (user/vhost/vhost_user.c): a
 * reply comes from the back-end, another and untrusted process.
 *
 * Input: a selector byte (which request the reply answers; bit 7: the
 * reply came with MSG_CTRUNC), a byte of received fds (0 to 3), u8 queue
 * index (GET_VRING_BASE), u16 offset and u16 size (GET_CONFIG, the size
 * up to 300 so that too-big asks are tried too), then the message bytes.
 * Oracles: a failure has a message and a known code; a success means the
 * header was exactly what the request wants (check_header agrees), the
 * payload size is the one asked for, no fd came along (exactly one for
 * GET_INFLIGHT_FD), what was decoded is the bytes received, and an
 * inflight region has a size within bounds and an end that fits an off_t.
 */
#include <errno.h>
#include <string.h>

#include "fz.h"
#include "vhost/vhost_user.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static const struct {
	uint32_t request;
	enum vhost_user_reply_kind kind;
} kinds[] = {
	{ VHOST_USER_GET_FEATURES, VHOST_USER_REPLY_U64 },
	{ VHOST_USER_GET_PROTOCOL_FEATURES, VHOST_USER_REPLY_U64 },
	{ VHOST_USER_GET_QUEUE_NUM, VHOST_USER_REPLY_U64 },
	{ VHOST_USER_SET_MEM_TABLE, VHOST_USER_REPLY_U64 },	/* REPLY_ACK */
	{ VHOST_USER_SET_VRING_KICK, VHOST_USER_REPLY_U64 },	/* REPLY_ACK */
	{ VHOST_USER_GET_VRING_BASE, VHOST_USER_REPLY_STATE },
	{ VHOST_USER_GET_CONFIG, VHOST_USER_REPLY_CONFIG },
	{ VHOST_USER_GET_INFLIGHT_FD, VHOST_USER_REPLY_INFLIGHT },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t sel = fz_u8(&f);
	unsigned int nfds = fz_u8(&f) & 3;
	bool ctrunc = sel & 0x80;
	struct vhost_user_expect want = {
		.request = kinds[(sel & 0x7f) % (sizeof(kinds) / sizeof(kinds[0]))].request,
		.kind = kinds[(sel & 0x7f) % (sizeof(kinds) / sizeof(kinds[0]))].kind,
	};
	struct vhost_user_reply r;
	struct vhost_user_hdr hdr;
	char err[200];
	int ret, ret2;

	want.index = fz_u8(&f);
	want.cfg_offset = fz_u16(&f);
	want.cfg_size = fz_u16(&f) % 301;

	memset(err, 0, sizeof(err));
	ret = vhost_user_parse_reply(&want, f.p, f.n, nfds, ctrunc, &r, err,
				     sizeof(err));
	if (ret) {
		if (ret != -EPROTO && ret != -EIO && ret != -EINVAL)
			fz_fail("parse returned %d", ret);
		if (!err[0] || strnlen(err, sizeof(err)) >= sizeof(err))
			fz_fail("error %d without a message", ret);
		return 0;
	}
	if (ctrunc || nfds != (want.kind == VHOST_USER_REPLY_INFLIGHT))
		fz_fail("accepted a reply with %u fds", nfds);
	if (f.n < sizeof(hdr))
		fz_fail("accepted %zu bytes, shorter than a header", f.n);
	memcpy(&hdr, f.p, sizeof(hdr));
	ret2 = vhost_user_check_header(&want, &hdr, nfds, false, err, sizeof(err));
	if (ret2)
		fz_fail("parse accepted what check_header refuses: %s", err);
	if (hdr.request != want.request ||
	    hdr.flags != (VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY) ||
	    f.n != sizeof(hdr) + hdr.size)
		fz_fail("accepted a header that is not the reply asked for");
	switch (want.kind) {
	case VHOST_USER_REPLY_U64:
		if (hdr.size != 8 || memcmp(&r.u64, f.p + sizeof(hdr), 8))
			fz_fail("u64 reply of %u bytes or decoded wrong", hdr.size);
		break;
	case VHOST_USER_REPLY_STATE:
		if (hdr.size != 8 || r.state.index != want.index ||
		    memcmp(&r.state, f.p + sizeof(hdr), 8))
			fz_fail("vring state reply wrong");
		break;
	case VHOST_USER_REPLY_CONFIG:
		if (want.cfg_size > VHOST_USER_MAX_CONFIG ||
		    hdr.size != VHOST_USER_CONFIG_HDR + want.cfg_size ||
		    r.config.size != want.cfg_size ||
		    r.config.offset != want.cfg_offset ||
		    memcmp(r.config.payload, f.p + sizeof(hdr) + VHOST_USER_CONFIG_HDR,
			   want.cfg_size))
			fz_fail("config reply wrong");
		break;
	case VHOST_USER_REPLY_INFLIGHT:
		if (hdr.size != sizeof(r.inflight) ||
		    memcmp(&r.inflight, f.p + sizeof(hdr), sizeof(r.inflight)))
			fz_fail("inflight reply of %u bytes or decoded wrong", hdr.size);
		if (!r.inflight.mmap_size ||
		    r.inflight.mmap_size > VHOST_USER_INFLIGHT_MAX_SIZE ||
		    r.inflight.mmap_offset + r.inflight.mmap_size < r.inflight.mmap_offset ||
		    r.inflight.mmap_offset + r.inflight.mmap_size > (uint64_t)INT64_MAX)
			fz_fail("accepted an inflight region of %llu bytes at %llu",
				(unsigned long long)r.inflight.mmap_size,
				(unsigned long long)r.inflight.mmap_offset);
		break;
	}
	return 0;
}
