// SPDX-License-Identifier: GPL-2.0
/* vbridge ctl over generic netlink, with libnl-genl-3. */
#include "ctl/nl.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* What one request collects. */
struct cnl_req {
	struct ctl_nl *c;
	int done;
	int err;
	int (*parse)(struct nlattr **tb, void *arg);
	void *arg;
};

static void cnl_note_extack(struct ctl_nl *c, const struct nlmsgerr *e)
{
	const struct nlmsghdr *h = (const struct nlmsghdr *)e - 1;
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	int off = NLMSG_HDRLEN + sizeof(*e);

	c->ext_msg[0] = '\0';
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS) || (int)h->nlmsg_len <= off)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)h + off),
		      h->nlmsg_len - off, NULL))
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(c->ext_msg, sizeof(c->ext_msg), "%.*s", nla_len(tb[NLMSGERR_ATTR_MSG]),
			 (const char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
}

static int cnl_on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct cnl_req *r = arg;

	r->err = e->error;
	if (e->error)
		cnl_note_extack(r->c, e);
	r->done = 1;
	return NL_STOP;
}

static int cnl_on_ack(struct nl_msg *msg, void *arg)
{
	struct cnl_req *r = arg;

	r->done = 1;
	return NL_STOP;
}

static int cnl_on_finish(struct nl_msg *msg, void *arg)
{
	struct cnl_req *r = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	int err = 0;

	/* NLMSG_DONE carries the dump's errno. */
	if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
		memcpy(&err, nlmsg_data(h), sizeof(err));
	if (err)
		r->err = err;
	r->done = 1;
	return NL_STOP;
}

static int cnl_on_valid(struct nl_msg *msg, void *arg)
{
	struct cnl_req *r = arg;
	struct nlattr *tb[VBRIDGE_A_MAX + 1];
	int ret;

	if (!r->parse)
		return NL_OK;
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, VBRIDGE_A_MAX, NULL))
		return NL_SKIP;
	ret = r->parse(tb, r->arg);
	if (ret && !r->err)
		r->err = ret;
	return NL_OK;
}

/* Send msg (consumed) and collect its replies until the ack or the end of a dump. */
static int cnl_request(struct ctl_nl *c, struct nl_msg *msg,
		      int (*parse)(struct nlattr **tb, void *arg), void *arg)
{
	struct cnl_req r = { .c = c, .parse = parse, .arg = arg };
	struct nl_cb *cb;
	int ret;

	c->ext_msg[0] = '\0';
	cb = nl_cb_clone(nl_socket_get_cb(c->sk));
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, cnl_on_valid, &r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, cnl_on_ack, &r);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, cnl_on_finish, &r);
	nl_cb_err(cb, NL_CB_CUSTOM, cnl_on_error, &r);
	ret = nl_send_auto(c->sk, msg);
	nlmsg_free(msg);
	if (ret < 0) {
		nl_cb_put(cb);
		return -EIO;
	}
	while (!r.done) {
		ret = nl_recvmsgs(c->sk, cb);
		if (ret < 0 && !r.done) {
			r.err = ret == -NLE_NOMEM ? -ENOMEM : -EIO;
			break;
		}
	}
	nl_cb_put(cb);
	return r.err;
}

static struct nl_msg *cnl_msg_new(struct ctl_nl *c, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, c->family, 0, flags, cmd,
				VBRIDGE_GENL_VERSION)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

int ctl_nl_open(struct ctl_nl *c)
{
	int one = 1, ret;

	memset(c, 0, sizeof(*c));
	c->sk = nl_socket_alloc();
	if (!c->sk)
		return -ENOMEM;
	if (genl_connect(c->sk)) {
		ctl_nl_close(c);
		return -EIO;
	}
	ret = genl_ctrl_resolve(c->sk, VBRIDGE_GENL_NAME);
	if (ret < 0) {
		ctl_nl_close(c);
		return ret == -NLE_OBJ_NOTFOUND ? -ENOENT : -EIO;
	}
	c->family = ret;
	ret = genl_ctrl_resolve_grp(c->sk, VBRIDGE_GENL_NAME, VBRIDGE_GENL_MCGRP_EVENTS);
	c->mcgrp = ret > 0 ? ret : 0;
	setsockopt(nl_socket_get_fd(c->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(c->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	return 0;
}

void ctl_nl_close(struct ctl_nl *c)
{
	if (c->sk)
		nl_socket_free(c->sk);
	c->sk = NULL;
}

int ctl_nl_dev_add(struct ctl_nl *c, const struct dt_device *d)
{
	struct nl_msg *msg = cnl_msg_new(c, VBRIDGE_CMD_DEV_ADD, 0);
	struct nlattr *nest, *one;
	unsigned int i;

	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, VBRIDGE_A_VMID, d->vmid) ||
	    nla_put_string(msg, VBRIDGE_A_DEV_NAME, d->name) ||
	    nla_put_u32(msg, VBRIDGE_A_BACKEND_VMID, d->backend_vmid))
		goto full;
	nest = nla_nest_start(msg, VBRIDGE_A_WINDOWS);
	if (!nest)
		goto full;
	for (i = 0; i < d->nr_windows; i++) {
		one = nla_nest_start(msg, VBRIDGE_A_WINDOW);
		if (!one || nla_put_u64(msg, VBRIDGE_A_WINDOW_ADDR, d->windows[i].addr) ||
		    nla_put_u64(msg, VBRIDGE_A_WINDOW_SIZE, d->windows[i].size))
			goto full;
		nla_nest_end(msg, one);
	}
	nla_nest_end(msg, nest);
	nest = nla_nest_start(msg, VBRIDGE_A_IRQS);
	if (!nest)
		goto full;
	for (i = 0; i < d->nr_irqs; i++) {
		one = nla_nest_start(msg, VBRIDGE_A_IRQ);
		if (!one || nla_put_u32(msg, VBRIDGE_A_IRQ_NUM, d->irqs[i].num) ||
		    nla_put_u32(msg, VBRIDGE_A_IRQ_FLAGS, d->irqs[i].flags))
			goto full;
		nla_nest_end(msg, one);
	}
	nla_nest_end(msg, nest);
	if ((d->has_provider_uid && nla_put_u32(msg, VBRIDGE_A_PROVIDER_UID, d->provider_uid)) ||
	    (d->has_provider_gid && nla_put_u32(msg, VBRIDGE_A_PROVIDER_GID, d->provider_gid)) ||
	    (d->has_node_mode && nla_put_u32(msg, VBRIDGE_A_NODE_MODE, d->node_mode)))
		goto full;
	return cnl_request(c, msg, NULL, NULL);
full:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

int ctl_nl_vm_set(struct ctl_nl *c, uint32_t vmid, const struct ctl_override *o)
{
	struct nl_msg *msg = cnl_msg_new(c, VBRIDGE_CMD_VM_SET, 0);

	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, VBRIDGE_A_VMID, vmid) ||
	    ((o->vm_set & CTL_VM_UID) && nla_put_u32(msg, VBRIDGE_A_VMM_UID, o->vmm_uid)) ||
	    ((o->vm_set & CTL_VM_GID) && nla_put_u32(msg, VBRIDGE_A_VMM_GID, o->vmm_gid))) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return cnl_request(c, msg, NULL, NULL);
}

static struct nl_msg *cnl_msg_dev(struct ctl_nl *c, uint8_t cmd, uint32_t vmid,
				 const char *name)
{
	struct nl_msg *msg = cnl_msg_new(c, cmd, 0);

	if (msg && (nla_put_u32(msg, VBRIDGE_A_VMID, vmid) ||
		    nla_put_string(msg, VBRIDGE_A_DEV_NAME, name))) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

int ctl_nl_dev_del(struct ctl_nl *c, uint32_t vmid, const char *name)
{
	struct nl_msg *msg = cnl_msg_dev(c, VBRIDGE_CMD_DEV_DEL, vmid, name);

	return msg ? cnl_request(c, msg, NULL, NULL) : -ENOMEM;
}

int ctl_nl_dev_set(struct ctl_nl *c, uint32_t vmid, const char *name,
		   const struct ctl_override *o)
{
	struct nl_msg *msg;
	int ret;

	if (o->clear) {
		msg = cnl_msg_dev(c, VBRIDGE_CMD_DEV_SET, vmid, name);
		if (!msg || nla_put_flag(msg, VBRIDGE_A_CLEAR_OVERRIDES)) {
			nlmsg_free(msg);
			return -ENOMEM;
		}
		ret = cnl_request(c, msg, NULL, NULL);
		if (ret || !o->set)
			return ret;
	}
	msg = cnl_msg_dev(c, VBRIDGE_CMD_DEV_SET, vmid, name);
	if (!msg)
		return -ENOMEM;
	if (((o->set & CTL_OVR_RETRY) &&
	     nla_put_s32(msg, VBRIDGE_A_RETRY_TIMEOUT_MS, o->retry_timeout_ms)) ||
	    ((o->set & CTL_OVR_TIMEOUT) &&
	     nla_put_u32(msg, VBRIDGE_A_VMSTOP_TIMEOUT, o->vmstop_timeout)) ||
	    ((o->set & CTL_OVR_AUTOACK) &&
	     nla_put_u8(msg, VBRIDGE_A_VMSTOP_AUTOACK, o->vmstop_autoack)) ||
	    ((o->set & CTL_OVR_INFLIGHT) &&
	     nla_put_u32(msg, VBRIDGE_A_INFLIGHT_TIMEOUT_MS, o->inflight_timeout_ms))) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return cnl_request(c, msg, NULL, NULL);
}

struct cnl_list {
	void *v;
	size_t elem;
	int n, cap;
};

static void *cnl_list_next(struct cnl_list *l)
{
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 8;
		void *v = realloc(l->v, cap * l->elem);

		if (!v)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	memset((char *)l->v + l->n * l->elem, 0, l->elem);
	return (char *)l->v + l->n++ * l->elem;
}

static int cnl_parse_dev(struct nlattr **tb, void *arg)
{
	struct ctl_dev *d = cnl_list_next(arg);
	struct nlattr *pos;
	int rem;

	if (!d)
		return -ENOMEM;
	if (tb[VBRIDGE_A_VMID])
		d->vmid = nla_get_u32(tb[VBRIDGE_A_VMID]);
	if (tb[VBRIDGE_A_DEV_NAME])
		nla_strlcpy(d->name, tb[VBRIDGE_A_DEV_NAME], sizeof(d->name));
	if (tb[VBRIDGE_A_DEV_ID])
		d->id = nla_get_u32(tb[VBRIDGE_A_DEV_ID]);
	if (tb[VBRIDGE_A_BACKEND_VMID])
		d->backend_vmid = nla_get_u32(tb[VBRIDGE_A_BACKEND_VMID]);
	if (tb[VBRIDGE_A_DEV_STATE])
		d->state = nla_get_u32(tb[VBRIDGE_A_DEV_STATE]);
	if (tb[VBRIDGE_A_WINDOWS]) {
		nla_for_each_nested(pos, tb[VBRIDGE_A_WINDOWS], rem) {
			struct nlattr *w[VBRIDGE_A_WINDOW_MAX + 1];

			if (d->nr_windows == VBRIDGE_MAX_WINDOWS ||
			    nla_parse_nested(w, VBRIDGE_A_WINDOW_MAX, pos, NULL))
				break;
			if (w[VBRIDGE_A_WINDOW_ADDR])
				d->windows[d->nr_windows].addr = nla_get_u64(w[VBRIDGE_A_WINDOW_ADDR]);
			if (w[VBRIDGE_A_WINDOW_SIZE])
				d->windows[d->nr_windows].size = nla_get_u64(w[VBRIDGE_A_WINDOW_SIZE]);
			d->nr_windows++;
		}
	}
	if (tb[VBRIDGE_A_IRQS]) {
		nla_for_each_nested(pos, tb[VBRIDGE_A_IRQS], rem) {
			struct nlattr *q[VBRIDGE_A_IRQ_MAX + 1];

			if (d->nr_irqs == VBRIDGE_MAX_IRQS ||
			    nla_parse_nested(q, VBRIDGE_A_IRQ_MAX, pos, NULL))
				break;
			if (q[VBRIDGE_A_IRQ_NUM])
				d->irqs[d->nr_irqs].num = nla_get_u32(q[VBRIDGE_A_IRQ_NUM]);
			if (q[VBRIDGE_A_IRQ_FLAGS])
				d->irqs[d->nr_irqs].flags = nla_get_u32(q[VBRIDGE_A_IRQ_FLAGS]);
			d->nr_irqs++;
		}
	}
	if (tb[VBRIDGE_A_STATS]) {
		nla_for_each_nested(pos, tb[VBRIDGE_A_STATS], rem) {
			int t = nla_type(pos);

			if (t > VBRIDGE_STAT_PAD && t <= VBRIDGE_STAT_MAX && nla_len(pos) == 8)
				d->stats[t] = nla_get_u64(pos);
		}
	}
	if (tb[VBRIDGE_A_EFFECTIVE]) {
		struct nlattr *e[VBRIDGE_A_MAX + 1];

		if (!nla_parse_nested(e, VBRIDGE_A_MAX, tb[VBRIDGE_A_EFFECTIVE], NULL)) {
			if (e[VBRIDGE_A_RETRY_TIMEOUT_MS])
				d->retry_timeout_ms = nla_get_s32(e[VBRIDGE_A_RETRY_TIMEOUT_MS]);
			if (e[VBRIDGE_A_VMSTOP_TIMEOUT])
				d->vmstop_timeout = nla_get_u32(e[VBRIDGE_A_VMSTOP_TIMEOUT]);
			if (e[VBRIDGE_A_VMSTOP_AUTOACK])
				d->vmstop_autoack = nla_get_u8(e[VBRIDGE_A_VMSTOP_AUTOACK]);
			if (e[VBRIDGE_A_INFLIGHT_TIMEOUT_MS])
				d->inflight_timeout_ms =
					nla_get_u32(e[VBRIDGE_A_INFLIGHT_TIMEOUT_MS]);
		}
	}
	if (tb[VBRIDGE_A_PROVIDER_UID] && tb[VBRIDGE_A_PROVIDER_GID] && tb[VBRIDGE_A_NODE_MODE]) {
		d->has_node = true;
		d->provider_uid = nla_get_u32(tb[VBRIDGE_A_PROVIDER_UID]);
		d->provider_gid = nla_get_u32(tb[VBRIDGE_A_PROVIDER_GID]);
		d->node_mode = nla_get_u32(tb[VBRIDGE_A_NODE_MODE]);
	}
	d->vmm_uid = tb[VBRIDGE_A_VMM_UID] ? nla_get_u32(tb[VBRIDGE_A_VMM_UID]) : VBRIDGE_ID_NONE;
	d->vmm_gid = tb[VBRIDGE_A_VMM_GID] ? nla_get_u32(tb[VBRIDGE_A_VMM_GID]) : VBRIDGE_ID_NONE;
	if (tb[VBRIDGE_A_RETRY_TIMEOUT_MS])
		d->overridden |= CTL_OVR_RETRY;
	if (tb[VBRIDGE_A_VMSTOP_TIMEOUT])
		d->overridden |= CTL_OVR_TIMEOUT;
	if (tb[VBRIDGE_A_VMSTOP_AUTOACK])
		d->overridden |= CTL_OVR_AUTOACK;
	if (tb[VBRIDGE_A_INFLIGHT_TIMEOUT_MS])
		d->overridden |= CTL_OVR_INFLIGHT;
	return 0;
}

static int cnl_parse_vm(struct nlattr **tb, void *arg)
{
	struct ctl_vm *v = cnl_list_next(arg);

	if (!v)
		return -ENOMEM;
	if (tb[VBRIDGE_A_VMID])
		v->vmid = nla_get_u32(tb[VBRIDGE_A_VMID]);
	if (tb[VBRIDGE_A_VM_STATE])
		v->state = nla_get_u32(tb[VBRIDGE_A_VM_STATE]);
	if (tb[VBRIDGE_A_VM_GENERATION])
		v->generation = nla_get_u64(tb[VBRIDGE_A_VM_GENERATION]);
	if (tb[VBRIDGE_A_VM_PID])
		v->pid = nla_get_u32(tb[VBRIDGE_A_VM_PID]);
	if (tb[VBRIDGE_A_NR_DEVICES])
		v->nr_devices = nla_get_u32(tb[VBRIDGE_A_NR_DEVICES]);
	v->vmm_uid = tb[VBRIDGE_A_VMM_UID] ? nla_get_u32(tb[VBRIDGE_A_VMM_UID]) : VBRIDGE_ID_NONE;
	v->vmm_gid = tb[VBRIDGE_A_VMM_GID] ? nla_get_u32(tb[VBRIDGE_A_VMM_GID]) : VBRIDGE_ID_NONE;
	return 0;
}

static int cnl_dump(struct ctl_nl *c, uint8_t cmd, size_t elem,
		   int (*parse)(struct nlattr **tb, void *arg), void **out)
{
	struct cnl_list l = { .elem = elem };
	struct nl_msg *msg = cnl_msg_new(c, cmd, NLM_F_DUMP);
	int ret;

	if (!msg)
		return -ENOMEM;
	ret = cnl_request(c, msg, parse, &l);
	if (ret) {
		free(l.v);
		return ret;
	}
	*out = l.v;
	return l.n;
}

int ctl_nl_dev_dump(struct ctl_nl *c, struct ctl_dev **out)
{
	return cnl_dump(c, VBRIDGE_CMD_DEV_GET, sizeof(**out), cnl_parse_dev, (void **)out);
}

int ctl_nl_vm_dump(struct ctl_nl *c, struct ctl_vm **out)
{
	return cnl_dump(c, VBRIDGE_CMD_VM_GET, sizeof(**out), cnl_parse_vm, (void **)out);
}

int ctl_nl_subscribe(struct ctl_nl *c)
{
	if (!c->mcgrp)
		return -ENOENT;
	nl_socket_disable_seq_check(c->sk);
	nl_socket_set_buffer_size(c->sk, 1 << 20, 0);
	return nl_socket_add_membership(c->sk, c->mcgrp) ? -EIO : 0;
}

struct cnl_ev {
	struct ctl_nl *c;
	int (*fn)(const struct ctl_event *e, void *arg);
	void *arg;
	int ret;
};

static int cnl_on_event(struct nl_msg *msg, void *arg)
{
	struct cnl_ev *x = arg;
	struct nlattr *tb[VBRIDGE_A_MAX + 1];
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct ctl_event e;

	if (x->ret || h->nlmsg_type != x->c->family ||
	    genlmsg_parse(h, 0, tb, VBRIDGE_A_MAX, NULL) ||
	    ((struct genlmsghdr *)nlmsg_data(h))->cmd != VBRIDGE_CMD_EVENT)
		return NL_SKIP;
	memset(&e, 0, sizeof(e));
	if (tb[VBRIDGE_A_EVENT])
		e.ev = nla_get_u32(tb[VBRIDGE_A_EVENT]);
	if (tb[VBRIDGE_A_VMID]) {
		e.has_vmid = true;
		e.vmid = nla_get_u32(tb[VBRIDGE_A_VMID]);
	}
	if (tb[VBRIDGE_A_DEV_NAME]) {
		e.has_name = true;
		nla_strlcpy(e.name, tb[VBRIDGE_A_DEV_NAME], sizeof(e.name));
	}
	if (tb[VBRIDGE_A_VM_GENERATION]) {
		e.has_generation = true;
		e.generation = nla_get_u64(tb[VBRIDGE_A_VM_GENERATION]);
	}
	if (tb[VBRIDGE_A_VM_PID]) {
		e.has_pid = true;
		e.pid = nla_get_u32(tb[VBRIDGE_A_VM_PID]);
	}
	x->ret = x->fn(&e, x->arg);
	return NL_OK;
}

int ctl_nl_events(struct ctl_nl *c, int timeout_ms, const sigset_t *sigmask,
		  int (*fn)(const struct ctl_event *e, void *arg), void *arg)
{
	struct cnl_ev x = { .c = c, .fn = fn, .arg = arg };
	struct pollfd p = { .fd = nl_socket_get_fd(c->sk), .events = POLLIN };
	struct timespec ts = {
		.tv_sec = timeout_ms / 1000,
		.tv_nsec = (long)(timeout_ms % 1000) * 1000000,
	};
	struct nl_cb *cb;
	int ret;

	cb = nl_cb_clone(nl_socket_get_cb(c->sk));
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, cnl_on_event, &x);
	while (!x.ret) {
		ret = ppoll(&p, 1, timeout_ms < 0 ? NULL : &ts, sigmask);
		if (ret < 0) {
			x.ret = -errno;
			break;
		}
		if (ret == 0)
			break;
		ret = nl_recvmsgs(c->sk, cb);
		if (ret == -NLE_NOMEM && !x.ret) {
			/* ENOBUFS: the kernel dropped events for us. */
			x.ret = -ENOBUFS;
		} else if (ret < 0 && !x.ret) {
			x.ret = -EIO;
		}
	}
	nl_cb_put(cb);
	return x.ret;
}
