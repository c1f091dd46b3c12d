/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw generic netlink for the virtio_bridge kselftests: no libnl, so a test
 * can build any message, including the malformed ones the module must
 * refuse.
 *
 * Low level:  vbst_msg_init(), vbst_put*(), vbst_nest_start/end(),
 *             vbst_nl_request() (send, collect replies, return the errno
 *             of the final ack), vbst_parse().
 * High level: vbst_dev_add/del/get/dump/set(), vbst_vm_get/dump(),
 *             vbst_event_next() on a socket that joined the "events" group.
 *
 * Everything returns 0 (or a count) on success and a negative errno on
 * failure; the text of the kernel's extended ack, if any, is kept in
 * nl->ext_msg for the test's log.
 *
 * Header-only (static functions) because every *_test.c is built on its own.
 */
#ifndef VBST_NL_H
#define VBST_NL_H

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "virtio_bridge.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define VBST_NL_BUFSZ	65536

struct vbst_nl {
	int fd;
	uint16_t family;
	uint32_t mcgrp_events;
	uint32_t portid;
	uint32_t seq;
	char ext_msg[256];	/* extack message of the last error */
};

struct vbst_msg {
	union {
		struct nlmsghdr nlh;
		char buf[8192];
	};
};

/* ------------------------------------------------------------------ */
/* Building                                                           */
/* ------------------------------------------------------------------ */

static inline void vbst_msg_init(struct vbst_msg *m, uint16_t family,
				 uint8_t cmd, uint16_t flags)
{
	struct genlmsghdr *g;

	memset(m, 0, sizeof(*m));
	m->nlh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	m->nlh.nlmsg_type = family;
	m->nlh.nlmsg_flags = NLM_F_REQUEST | flags;
	g = NLMSG_DATA(&m->nlh);
	g->cmd = cmd;
	g->version = VBRIDGE_GENL_VERSION;
}

static inline struct nlattr *vbst_msg_tail(struct vbst_msg *m)
{
	return (struct nlattr *)(m->buf + NLMSG_ALIGN(m->nlh.nlmsg_len));
}

/* Append an attribute with len bytes of payload (any len, even "wrong"). */
static inline void vbst_put(struct vbst_msg *m, uint16_t type,
			    const void *data, size_t len)
{
	struct nlattr *a = vbst_msg_tail(m);
	size_t total = NLMSG_ALIGN(m->nlh.nlmsg_len) + NLA_ALIGN(NLA_HDRLEN + len);

	if (total > sizeof(m->buf)) {
		fprintf(stderr, "# vbst_put: message buffer full\n");
		abort();
	}
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	memset((char *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	m->nlh.nlmsg_len = total;
}

static inline void vbst_put_u8(struct vbst_msg *m, uint16_t t, uint8_t v)
{
	vbst_put(m, t, &v, sizeof(v));
}

static inline void vbst_put_u32(struct vbst_msg *m, uint16_t t, uint32_t v)
{
	vbst_put(m, t, &v, sizeof(v));
}

static inline void vbst_put_s32(struct vbst_msg *m, uint16_t t, int32_t v)
{
	vbst_put(m, t, &v, sizeof(v));
}

static inline void vbst_put_u64(struct vbst_msg *m, uint16_t t, uint64_t v)
{
	vbst_put(m, t, &v, sizeof(v));
}

/* A NUL-terminated string, as libnl's nla_put_string() sends it. */
static inline void vbst_put_str(struct vbst_msg *m, uint16_t t, const char *s)
{
	vbst_put(m, t, s, strlen(s) + 1);
}

static inline void vbst_put_flag(struct vbst_msg *m, uint16_t t)
{
	vbst_put(m, t, NULL, 0);
}

static inline struct nlattr *vbst_nest_start(struct vbst_msg *m, uint16_t t)
{
	struct nlattr *a = vbst_msg_tail(m);

	vbst_put(m, t | NLA_F_NESTED, NULL, 0);
	return a;
}

static inline void vbst_nest_end(struct vbst_msg *m, struct nlattr *a)
{
	a->nla_len = (char *)vbst_msg_tail(m) - (char *)a;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                            */
/* ------------------------------------------------------------------ */

/* Fill tb[0..max] from a stream of attributes; unknown types are ignored. */
static inline void vbst_parse(const struct nlattr **tb, int max,
			      const void *data, int len)
{
	const struct nlattr *a = data;

	memset(tb, 0, sizeof(*tb) * (max + 1));
	while (len >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= len) {
		int type = a->nla_type & NLA_TYPE_MASK;

		if (type <= max)
			tb[type] = a;
		len -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
}

static inline const void *vbst_nla_data(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

static inline int vbst_nla_len(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}

static inline uint32_t vbst_get_u32(const struct nlattr *a)
{
	uint32_t v = 0;

	memcpy(&v, vbst_nla_data(a), vbst_nla_len(a) < 4 ? vbst_nla_len(a) : 4);
	return v;
}

static inline uint64_t vbst_get_u64(const struct nlattr *a)
{
	uint64_t v = 0;

	memcpy(&v, vbst_nla_data(a), vbst_nla_len(a) < 8 ? vbst_nla_len(a) : 8);
	return v;
}

static inline uint8_t vbst_get_u8(const struct nlattr *a)
{
	return vbst_nla_len(a) ? *(const uint8_t *)vbst_nla_data(a) : 0;
}

/* Iterate the attributes inside a nest. */
#define vbst_nest_for_each(pos, nest, rem)					\
	for (pos = (const struct nlattr *)vbst_nla_data(nest),		\
	     rem = vbst_nla_len(nest);						\
	     rem >= (int)NLA_HDRLEN && pos->nla_len >= NLA_HDRLEN &&		\
	     pos->nla_len <= rem;						\
	     rem -= NLA_ALIGN(pos->nla_len),					\
	     pos = (const struct nlattr *)((const char *)pos + NLA_ALIGN(pos->nla_len)))

/* ------------------------------------------------------------------ */
/* Socket, requests                                                   */
/* ------------------------------------------------------------------ */

static inline int vbst_nl_socket(struct vbst_nl *nl)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t salen = sizeof(sa);
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -errno;
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(nl->fd, (struct sockaddr *)&sa, &salen)) {
		int err = -errno;

		close(nl->fd);
		nl->fd = -1;
		return err;
	}
	nl->portid = sa.nl_pid;
	nl->seq = 1000;
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	return 0;
}

static inline void vbst_nl_note_extack(struct vbst_nl *nl, const struct nlmsghdr *h)
{
	const struct nlmsgerr *e = NLMSG_DATA(h);
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	int off = NLMSG_HDRLEN + sizeof(*e);

	nl->ext_msg[0] = '\0';
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS) || (int)h->nlmsg_len <= off)
		return;
	vbst_parse(tb, NLMSGERR_ATTR_MAX, (const char *)h + off, h->nlmsg_len - off);
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(nl->ext_msg, sizeof(nl->ext_msg), "%.*s",
			 vbst_nla_len(tb[NLMSGERR_ATTR_MSG]),
			 (const char *)vbst_nla_data(tb[NLMSGERR_ATTR_MSG]));
}

/*
 * Called for each genetlink reply of a request: attrs/len are the
 * attributes after the genl header.  A non-zero return stops the walk and
 * becomes the request's result (after the ack has been drained).
 */
typedef int (*vbst_reply_cb)(const struct genlmsghdr *g, const void *attrs,
			     int len, void *arg);

static inline int vbst_nl_collect(struct vbst_nl *nl, uint32_t seq, char *rbuf,
				  vbst_reply_cb cb, void *arg)
{
	int cb_ret = 0;

	for (;;) {
		struct pollfd pfd = { .fd = nl->fd, .events = POLLIN };
		const struct nlmsghdr *h;
		ssize_t n;

		/* A request the kernel never answers must not hang a test. */
		if (poll(&pfd, 1, 10000) <= 0)
			return -ETIMEDOUT;
		n = recv(nl->fd, rbuf, VBST_NL_BUFSZ, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (h = (const struct nlmsghdr *)rbuf; NLMSG_OK(h, n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (e->error)
					vbst_nl_note_extack(nl, h);
				return e->error ? e->error : cb_ret;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				/* The end of a dump: its payload is the dump's errno. */
				int err = 0;

				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
					memcpy(&err, NLMSG_DATA(h), sizeof(int));
				return err ? err : cb_ret;
			}
			if (h->nlmsg_type < NLMSG_MIN_TYPE)
				continue;
			if (cb && !cb_ret && h->nlmsg_len >= NLMSG_LENGTH(GENL_HDRLEN)) {
				const struct genlmsghdr *g = NLMSG_DATA(h);

				cb_ret = cb(g, (const char *)g + GENL_HDRLEN,
					    h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), arg);
			}
		}
	}
}

/*
 * Send m (NLM_F_ACK is added) and read until its ack, error or the end of
 * the dump.  Returns the kernel's errno for the request (0 = success) or a
 * callback's non-zero return.
 */
static inline int vbst_nl_request(struct vbst_nl *nl, struct vbst_msg *m,
				  vbst_reply_cb cb, void *arg)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	uint32_t seq = ++nl->seq;
	char *rbuf;
	int ret;

	nl->ext_msg[0] = '\0';
	m->nlh.nlmsg_seq = seq;
	m->nlh.nlmsg_pid = nl->portid;
	m->nlh.nlmsg_flags |= NLM_F_ACK;
	if (sendto(nl->fd, m->buf, m->nlh.nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		return -errno;
	rbuf = malloc(VBST_NL_BUFSZ);
	if (!rbuf)
		return -ENOMEM;
	ret = vbst_nl_collect(nl, seq, rbuf, cb, arg);
	free(rbuf);
	return ret;
}

struct vbst_family_lookup {
	uint16_t id;
	uint32_t grp;
	const char *grp_name;
};

static inline int vbst_family_cb(const struct genlmsghdr *g, const void *attrs,
				 int len, void *arg)
{
	struct vbst_family_lookup *f = arg;
	const struct nlattr *tb[CTRL_ATTR_MAX + 1];
	const struct nlattr *grp;
	int rem;

	vbst_parse(tb, CTRL_ATTR_MAX, attrs, len);
	if (tb[CTRL_ATTR_FAMILY_ID])
		f->id = *(const uint16_t *)vbst_nla_data(tb[CTRL_ATTR_FAMILY_ID]);
	if (!tb[CTRL_ATTR_MCAST_GROUPS])
		return 0;
	vbst_nest_for_each(grp, tb[CTRL_ATTR_MCAST_GROUPS], rem) {
		const struct nlattr *gtb[CTRL_ATTR_MCAST_GRP_MAX + 1];

		vbst_parse(gtb, CTRL_ATTR_MCAST_GRP_MAX, vbst_nla_data(grp),
			   vbst_nla_len(grp));
		if (gtb[CTRL_ATTR_MCAST_GRP_NAME] && gtb[CTRL_ATTR_MCAST_GRP_ID] &&
		    !strcmp(vbst_nla_data(gtb[CTRL_ATTR_MCAST_GRP_NAME]), f->grp_name))
			f->grp = vbst_get_u32(gtb[CTRL_ATTR_MCAST_GRP_ID]);
	}
	return 0;
}

/*
 * Open a socket for the virtio_bridge family.  -ENOENT when the family is
 * not registered (module not loaded).
 */
static inline int vbst_nl_open(struct vbst_nl *nl)
{
	struct vbst_family_lookup f = { .grp_name = VBRIDGE_GENL_MCGRP_EVENTS };
	struct vbst_msg m;
	uint16_t seq_family = GENL_ID_CTRL;
	int ret;

	ret = vbst_nl_socket(nl);
	if (ret)
		return ret;
	vbst_msg_init(&m, seq_family, CTRL_CMD_GETFAMILY, 0);
	((struct genlmsghdr *)NLMSG_DATA(&m.nlh))->version = 2;
	vbst_put_str(&m, CTRL_ATTR_FAMILY_NAME, VBRIDGE_GENL_NAME);
	ret = vbst_nl_request(nl, &m, vbst_family_cb, &f);
	if (!ret && !f.id)
		ret = -ENOENT;
	if (ret) {
		close(nl->fd);
		nl->fd = -1;
		return ret;
	}
	nl->family = f.id;
	nl->mcgrp_events = f.grp;
	return 0;
}

static inline void vbst_nl_close(struct vbst_nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
}

/* Join the "events" multicast group: -ENOENT when the family has none. */
static inline int vbst_nl_subscribe(struct vbst_nl *nl)
{
	int grp = nl->mcgrp_events;

	if (!grp)
		return -ENOENT;
	if (setsockopt(nl->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)))
		return -errno;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Devices and VMs                                                    */
/* ------------------------------------------------------------------ */

struct vbst_devspec {
	uint32_t vmid;
	const char *name;
	uint32_t backend_vmid;
	unsigned int nr_windows;
	struct vbridge_window windows[VBRIDGE_MAX_WINDOWS + 2];
	unsigned int nr_irqs;
	struct vbridge_irq irqs[VBRIDGE_MAX_IRQS + 2];
};

/* Append the attributes of a declaration (DEV_ADD) to m. */
static inline void vbst_put_devspec(struct vbst_msg *m, const struct vbst_devspec *d)
{
	struct nlattr *nest, *one;
	unsigned int i;

	vbst_put_u32(m, VBRIDGE_A_VMID, d->vmid);
	vbst_put_str(m, VBRIDGE_A_DEV_NAME, d->name);
	vbst_put_u32(m, VBRIDGE_A_BACKEND_VMID, d->backend_vmid);
	nest = vbst_nest_start(m, VBRIDGE_A_WINDOWS);
	for (i = 0; i < d->nr_windows; i++) {
		one = vbst_nest_start(m, VBRIDGE_A_WINDOW);
		vbst_put_u64(m, VBRIDGE_A_WINDOW_ADDR, d->windows[i].addr);
		vbst_put_u64(m, VBRIDGE_A_WINDOW_SIZE, d->windows[i].size);
		vbst_nest_end(m, one);
	}
	vbst_nest_end(m, nest);
	if (d->nr_irqs) {
		nest = vbst_nest_start(m, VBRIDGE_A_IRQS);
		for (i = 0; i < d->nr_irqs; i++) {
			one = vbst_nest_start(m, VBRIDGE_A_IRQ);
			vbst_put_u32(m, VBRIDGE_A_IRQ_NUM, d->irqs[i].num);
			vbst_put_u32(m, VBRIDGE_A_IRQ_FLAGS, d->irqs[i].flags);
			vbst_nest_end(m, one);
		}
		vbst_nest_end(m, nest);
	}
}

static inline int vbst_dev_add(struct vbst_nl *nl, const struct vbst_devspec *d)
{
	struct vbst_msg m;

	vbst_msg_init(&m, nl->family, VBRIDGE_CMD_DEV_ADD, 0);
	vbst_put_devspec(&m, d);
	return vbst_nl_request(nl, &m, NULL, NULL);
}

static inline int vbst_dev_del(struct vbst_nl *nl, uint32_t vmid, const char *name)
{
	struct vbst_msg m;

	vbst_msg_init(&m, nl->family, VBRIDGE_CMD_DEV_DEL, 0);
	vbst_put_u32(&m, VBRIDGE_A_VMID, vmid);
	vbst_put_str(&m, VBRIDGE_A_DEV_NAME, name);
	return vbst_nl_request(nl, &m, NULL, NULL);
}

/* A device as DEV_GET reports it. */
struct vbst_devinfo {
	uint32_t vmid;
	char name[VBRIDGE_NAME_MAX + 8];
	bool has_id;
	uint32_t id;
	uint32_t backend_vmid;
	bool has_state;
	uint32_t state;
	unsigned int nr_windows;
	struct vbridge_window windows[VBRIDGE_MAX_WINDOWS];
	unsigned int nr_irqs;
	struct vbridge_irq irqs[VBRIDGE_MAX_IRQS];
	bool has_stats;
	uint64_t stats[VBRIDGE_STAT_MAX + 1];
	bool has_effective;
	int32_t eff_retry_timeout_ms;
	uint32_t eff_vmstop_timeout;
	uint8_t eff_vmstop_autoack;
	uint32_t eff_inflight_timeout_ms;
	/* Overrides, present only when set on the device. */
	bool has_retry_timeout_ms, has_vmstop_timeout, has_vmstop_autoack;
	bool has_inflight_timeout_ms;
	int32_t retry_timeout_ms;
	uint32_t vmstop_timeout;
	uint8_t vmstop_autoack;
	uint32_t inflight_timeout_ms;
	/* The backend node's owner and mode, and the vmid's owner if set. */
	bool has_node, has_vmm_uid, has_vmm_gid;
	uint32_t provider_uid, provider_gid, node_mode;
	uint32_t vmm_uid, vmm_gid;
};

static inline void vbst_parse_devinfo(struct vbst_devinfo *di, const void *attrs, int len)
{
	const struct nlattr *tb[VBRIDGE_A_MAX + 1];
	const struct nlattr *pos;
	int rem;

	memset(di, 0, sizeof(*di));
	vbst_parse(tb, VBRIDGE_A_MAX, attrs, len);
	if (tb[VBRIDGE_A_VMID])
		di->vmid = vbst_get_u32(tb[VBRIDGE_A_VMID]);
	if (tb[VBRIDGE_A_DEV_NAME])
		snprintf(di->name, sizeof(di->name), "%.*s",
			 vbst_nla_len(tb[VBRIDGE_A_DEV_NAME]),
			 (const char *)vbst_nla_data(tb[VBRIDGE_A_DEV_NAME]));
	if (tb[VBRIDGE_A_DEV_ID]) {
		di->has_id = true;
		di->id = vbst_get_u32(tb[VBRIDGE_A_DEV_ID]);
	}
	if (tb[VBRIDGE_A_BACKEND_VMID])
		di->backend_vmid = vbst_get_u32(tb[VBRIDGE_A_BACKEND_VMID]);
	if (tb[VBRIDGE_A_DEV_STATE]) {
		di->has_state = true;
		di->state = vbst_get_u32(tb[VBRIDGE_A_DEV_STATE]);
	}
	if (tb[VBRIDGE_A_WINDOWS]) {
		vbst_nest_for_each(pos, tb[VBRIDGE_A_WINDOWS], rem) {
			const struct nlattr *w[VBRIDGE_A_WINDOW_MAX + 1];

			if (di->nr_windows >= VBRIDGE_MAX_WINDOWS)
				break;
			vbst_parse(w, VBRIDGE_A_WINDOW_MAX, vbst_nla_data(pos), vbst_nla_len(pos));
			if (w[VBRIDGE_A_WINDOW_ADDR])
				di->windows[di->nr_windows].addr = vbst_get_u64(w[VBRIDGE_A_WINDOW_ADDR]);
			if (w[VBRIDGE_A_WINDOW_SIZE])
				di->windows[di->nr_windows].size = vbst_get_u64(w[VBRIDGE_A_WINDOW_SIZE]);
			di->nr_windows++;
		}
	}
	if (tb[VBRIDGE_A_IRQS]) {
		vbst_nest_for_each(pos, tb[VBRIDGE_A_IRQS], rem) {
			const struct nlattr *q[VBRIDGE_A_IRQ_MAX + 1];

			if (di->nr_irqs >= VBRIDGE_MAX_IRQS)
				break;
			vbst_parse(q, VBRIDGE_A_IRQ_MAX, vbst_nla_data(pos), vbst_nla_len(pos));
			if (q[VBRIDGE_A_IRQ_NUM])
				di->irqs[di->nr_irqs].num = vbst_get_u32(q[VBRIDGE_A_IRQ_NUM]);
			if (q[VBRIDGE_A_IRQ_FLAGS])
				di->irqs[di->nr_irqs].flags = vbst_get_u32(q[VBRIDGE_A_IRQ_FLAGS]);
			di->nr_irqs++;
		}
	}
	if (tb[VBRIDGE_A_STATS]) {
		di->has_stats = true;
		vbst_nest_for_each(pos, tb[VBRIDGE_A_STATS], rem) {
			int t = pos->nla_type & NLA_TYPE_MASK;

			if (t > VBRIDGE_STAT_PAD && t <= VBRIDGE_STAT_MAX)
				di->stats[t] = vbst_get_u64(pos);
		}
	}
	if (tb[VBRIDGE_A_EFFECTIVE]) {
		const struct nlattr *e[VBRIDGE_A_MAX + 1];

		di->has_effective = true;
		vbst_parse(e, VBRIDGE_A_MAX, vbst_nla_data(tb[VBRIDGE_A_EFFECTIVE]),
			   vbst_nla_len(tb[VBRIDGE_A_EFFECTIVE]));
		if (e[VBRIDGE_A_RETRY_TIMEOUT_MS])
			di->eff_retry_timeout_ms = (int32_t)vbst_get_u32(e[VBRIDGE_A_RETRY_TIMEOUT_MS]);
		if (e[VBRIDGE_A_VMSTOP_TIMEOUT])
			di->eff_vmstop_timeout = vbst_get_u32(e[VBRIDGE_A_VMSTOP_TIMEOUT]);
		if (e[VBRIDGE_A_VMSTOP_AUTOACK])
			di->eff_vmstop_autoack = vbst_get_u8(e[VBRIDGE_A_VMSTOP_AUTOACK]);
		if (e[VBRIDGE_A_INFLIGHT_TIMEOUT_MS])
			di->eff_inflight_timeout_ms = vbst_get_u32(e[VBRIDGE_A_INFLIGHT_TIMEOUT_MS]);
	}
	if (tb[VBRIDGE_A_RETRY_TIMEOUT_MS]) {
		di->has_retry_timeout_ms = true;
		di->retry_timeout_ms = (int32_t)vbst_get_u32(tb[VBRIDGE_A_RETRY_TIMEOUT_MS]);
	}
	if (tb[VBRIDGE_A_VMSTOP_TIMEOUT]) {
		di->has_vmstop_timeout = true;
		di->vmstop_timeout = vbst_get_u32(tb[VBRIDGE_A_VMSTOP_TIMEOUT]);
	}
	if (tb[VBRIDGE_A_VMSTOP_AUTOACK]) {
		di->has_vmstop_autoack = true;
		di->vmstop_autoack = vbst_get_u8(tb[VBRIDGE_A_VMSTOP_AUTOACK]);
	}
	if (tb[VBRIDGE_A_INFLIGHT_TIMEOUT_MS]) {
		di->has_inflight_timeout_ms = true;
		di->inflight_timeout_ms = vbst_get_u32(tb[VBRIDGE_A_INFLIGHT_TIMEOUT_MS]);
	}
	if (tb[VBRIDGE_A_PROVIDER_UID] && tb[VBRIDGE_A_PROVIDER_GID] &&
	    tb[VBRIDGE_A_NODE_MODE]) {
		di->has_node = true;
		di->provider_uid = vbst_get_u32(tb[VBRIDGE_A_PROVIDER_UID]);
		di->provider_gid = vbst_get_u32(tb[VBRIDGE_A_PROVIDER_GID]);
		di->node_mode = vbst_get_u32(tb[VBRIDGE_A_NODE_MODE]);
	}
	if (tb[VBRIDGE_A_VMM_UID]) {
		di->has_vmm_uid = true;
		di->vmm_uid = vbst_get_u32(tb[VBRIDGE_A_VMM_UID]);
	}
	if (tb[VBRIDGE_A_VMM_GID]) {
		di->has_vmm_gid = true;
		di->vmm_gid = vbst_get_u32(tb[VBRIDGE_A_VMM_GID]);
	}
}

struct vbst_devinfo_list {
	struct vbst_devinfo *v;
	int max;
	int n;
};

static inline int vbst_devinfo_cb(const struct genlmsghdr *g, const void *attrs,
				  int len, void *arg)
{
	struct vbst_devinfo_list *l = arg;

	if (l->n < l->max)
		vbst_parse_devinfo(&l->v[l->n], attrs, len);
	l->n++;
	return 0;
}

static inline int vbst_dev_get(struct vbst_nl *nl, uint32_t vmid, const char *name,
			       struct vbst_devinfo *di)
{
	struct vbst_devinfo_list l = { .v = di, .max = 1 };
	struct vbst_msg m;
	int ret;

	vbst_msg_init(&m, nl->family, VBRIDGE_CMD_DEV_GET, 0);
	vbst_put_u32(&m, VBRIDGE_A_VMID, vmid);
	vbst_put_str(&m, VBRIDGE_A_DEV_NAME, name);
	ret = vbst_nl_request(nl, &m, vbst_devinfo_cb, &l);
	if (ret)
		return ret;
	return l.n == 1 ? 0 : -EPROTO;
}

/* Dump every device; returns how many there are (di holds up to max). */
static inline int vbst_dev_dump(struct vbst_nl *nl, struct vbst_devinfo *di, int max)
{
	struct vbst_devinfo_list l = { .v = di, .max = max };
	struct vbst_msg m;
	int ret;

	vbst_msg_init(&m, nl->family, VBRIDGE_CMD_DEV_GET, NLM_F_DUMP);
	ret = vbst_nl_request(nl, &m, vbst_devinfo_cb, &l);
	return ret ? ret : l.n;
}

/* Per-device overrides for DEV_SET; only the has_* ones are sent. */
struct vbst_override {
	bool has_retry, has_timeout, has_autoack, has_inflight, clear;
	int32_t retry_timeout_ms;
	uint32_t vmstop_timeout;
	uint8_t vmstop_autoack;
	uint32_t inflight_timeout_ms;
};

static inline int vbst_dev_set(struct vbst_nl *nl, uint32_t vmid, const char *name,
			       const struct vbst_override *o)
{
	struct vbst_msg m;

	vbst_msg_init(&m, nl->family, VBRIDGE_CMD_DEV_SET, 0);
	vbst_put_u32(&m, VBRIDGE_A_VMID, vmid);
	vbst_put_str(&m, VBRIDGE_A_DEV_NAME, name);
	if (o->has_retry)
		vbst_put_s32(&m, VBRIDGE_A_RETRY_TIMEOUT_MS, o->retry_timeout_ms);
	if (o->has_timeout)
		vbst_put_u32(&m, VBRIDGE_A_VMSTOP_TIMEOUT, o->vmstop_timeout);
	if (o->has_autoack)
		vbst_put_u8(&m, VBRIDGE_A_VMSTOP_AUTOACK, o->vmstop_autoack);
	if (o->has_inflight)
		vbst_put_u32(&m, VBRIDGE_A_INFLIGHT_TIMEOUT_MS, o->inflight_timeout_ms);
	if (o->clear)
		vbst_put_flag(&m, VBRIDGE_A_CLEAR_OVERRIDES);
	return vbst_nl_request(nl, &m, NULL, NULL);
}

struct vbst_vminfo {
	uint32_t vmid;
	uint32_t state;
	uint64_t generation;
	uint32_t pid;
	uint32_t nr_devices;
	bool has_state, has_generation, has_pid, has_nr_devices;
};

struct vbst_vminfo_list {
	struct vbst_vminfo *v;
	int max;
	int n;
};

static inline int vbst_vminfo_cb(const struct genlmsghdr *g, const void *attrs,
				 int len, void *arg)
{
	struct vbst_vminfo_list *l = arg;
	const struct nlattr *tb[VBRIDGE_A_MAX + 1];
	struct vbst_vminfo *vi;

	if (l->n >= l->max) {
		l->n++;
		return 0;
	}
	vi = &l->v[l->n++];
	memset(vi, 0, sizeof(*vi));
	vbst_parse(tb, VBRIDGE_A_MAX, attrs, len);
	if (tb[VBRIDGE_A_VMID])
		vi->vmid = vbst_get_u32(tb[VBRIDGE_A_VMID]);
	if (tb[VBRIDGE_A_VM_STATE]) {
		vi->has_state = true;
		vi->state = vbst_get_u32(tb[VBRIDGE_A_VM_STATE]);
	}
	if (tb[VBRIDGE_A_VM_GENERATION]) {
		vi->has_generation = true;
		vi->generation = vbst_get_u64(tb[VBRIDGE_A_VM_GENERATION]);
	}
	if (tb[VBRIDGE_A_VM_PID]) {
		vi->has_pid = true;
		vi->pid = vbst_get_u32(tb[VBRIDGE_A_VM_PID]);
	}
	if (tb[VBRIDGE_A_NR_DEVICES]) {
		vi->has_nr_devices = true;
		vi->nr_devices = vbst_get_u32(tb[VBRIDGE_A_NR_DEVICES]);
	}
	return 0;
}

static inline int vbst_vm_get(struct vbst_nl *nl, uint32_t vmid, struct vbst_vminfo *vi)
{
	struct vbst_vminfo_list l = { .v = vi, .max = 1 };
	struct vbst_msg m;
	int ret;

	vbst_msg_init(&m, nl->family, VBRIDGE_CMD_VM_GET, 0);
	vbst_put_u32(&m, VBRIDGE_A_VMID, vmid);
	ret = vbst_nl_request(nl, &m, vbst_vminfo_cb, &l);
	if (ret)
		return ret;
	return l.n == 1 ? 0 : -EPROTO;
}

static inline int vbst_vm_dump(struct vbst_nl *nl, struct vbst_vminfo *vi, int max)
{
	struct vbst_vminfo_list l = { .v = vi, .max = max };
	struct vbst_msg m;
	int ret;

	vbst_msg_init(&m, nl->family, VBRIDGE_CMD_VM_GET, NLM_F_DUMP);
	ret = vbst_nl_request(nl, &m, vbst_vminfo_cb, &l);
	return ret ? ret : l.n;
}

/* ------------------------------------------------------------------ */
/* Events                                                             */
/* ------------------------------------------------------------------ */

struct vbst_event {
	uint8_t cmd;
	uint32_t ev;
	bool has_vmid, has_name, has_generation, has_pid;
	uint32_t vmid;
	char name[VBRIDGE_NAME_MAX + 8];
	uint64_t generation;
	uint32_t pid;
};

/*
 * Next event on a subscribed socket, waiting up to timeout_ms.  Returns 1
 * with *e filled, 0 on timeout, -errno (-ENOBUFS: events were lost).
 * Messages kept from an earlier recv are returned first.
 */
struct vbst_evbuf {
	char buf[VBST_NL_BUFSZ];
	int len;
	int off;
};

static inline int vbst_event_next(struct vbst_nl *nl, struct vbst_evbuf *b,
				  struct vbst_event *e, int timeout_ms)
{
	for (;;) {
		while (b->off < b->len) {
			const struct nlmsghdr *h = (const void *)(b->buf + b->off);
			int rem = b->len - b->off;
			const struct genlmsghdr *g;
			const struct nlattr *tb[VBRIDGE_A_MAX + 1];

			if (!NLMSG_OK(h, rem)) {
				b->off = b->len;
				break;
			}
			b->off += NLMSG_ALIGN(h->nlmsg_len);
			if (h->nlmsg_type != nl->family ||
			    h->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN))
				continue;
			g = NLMSG_DATA(h);
			memset(e, 0, sizeof(*e));
			e->cmd = g->cmd;
			vbst_parse(tb, VBRIDGE_A_MAX, (const char *)g + GENL_HDRLEN,
				   h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN));
			if (tb[VBRIDGE_A_EVENT])
				e->ev = vbst_get_u32(tb[VBRIDGE_A_EVENT]);
			if (tb[VBRIDGE_A_VMID]) {
				e->has_vmid = true;
				e->vmid = vbst_get_u32(tb[VBRIDGE_A_VMID]);
			}
			if (tb[VBRIDGE_A_DEV_NAME]) {
				e->has_name = true;
				snprintf(e->name, sizeof(e->name), "%.*s",
					 vbst_nla_len(tb[VBRIDGE_A_DEV_NAME]),
					 (const char *)vbst_nla_data(tb[VBRIDGE_A_DEV_NAME]));
			}
			if (tb[VBRIDGE_A_VM_GENERATION]) {
				e->has_generation = true;
				e->generation = vbst_get_u64(tb[VBRIDGE_A_VM_GENERATION]);
			}
			if (tb[VBRIDGE_A_VM_PID]) {
				e->has_pid = true;
				e->pid = vbst_get_u32(tb[VBRIDGE_A_VM_PID]);
			}
			return 1;
		}
		{
			struct pollfd pfd = { .fd = nl->fd, .events = POLLIN };
			ssize_t n;
			int r = poll(&pfd, 1, timeout_ms);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return r < 0 ? -errno : 0;
			n = recv(nl->fd, b->buf, sizeof(b->buf), 0);
			if (n < 0)
				return -errno;
			b->len = n;
			b->off = 0;
		}
	}
}

/*
 * Wait for a given event (optionally for a given vmid / device name),
 * skipping others.  Returns 1, 0 on timeout, or -errno.
 */
static inline int vbst_event_wait(struct vbst_nl *nl, struct vbst_evbuf *b,
				  uint32_t ev, int vmid, const char *name,
				  struct vbst_event *out, int timeout_ms)
{
	struct vbst_event e;
	int r;

	for (;;) {
		r = vbst_event_next(nl, b, &e, timeout_ms);
		if (r <= 0)
			return r;
		if (e.ev != ev)
			continue;
		if (vmid >= 0 && (!e.has_vmid || e.vmid != (uint32_t)vmid))
			continue;
		if (name && (!e.has_name || strcmp(e.name, name)))
			continue;
		if (out)
			*out = e;
		return 1;
	}
}

static inline const char *vbst_event_name(uint32_t ev)
{
	static const char *const names[] = {
		[VBRIDGE_EV_DEV_ADDED] = "DEV_ADDED",
		[VBRIDGE_EV_DEV_REMOVED] = "DEV_REMOVED",
		[VBRIDGE_EV_BACKEND_READY] = "BACKEND_READY",
		[VBRIDGE_EV_BACKEND_GONE] = "BACKEND_GONE",
		[VBRIDGE_EV_VMSTART] = "VMSTART",
		[VBRIDGE_EV_VMSTOP] = "VMSTOP",
		[VBRIDGE_EV_VMSTOP_ACK] = "VMSTOP_ACK",
		[VBRIDGE_EV_VMSTOP_AUTOACK] = "VMSTOP_AUTOACK",
		[VBRIDGE_EV_DEV_BROKEN] = "DEV_BROKEN",
		[VBRIDGE_EV_VM_RELEASED] = "VM_RELEASED",
	};

	if (ev < ARRAY_SIZE(names) && names[ev])
		return names[ev];
	return "?";
}

#endif
