// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-bridge: the generic netlink family "virtio_bridge".
 *
 * Commands declare, remove, inspect and tune devices, inspect VMs and say
 * who may attach a vmid; mutations need CAP_NET_ADMIN (GENL_ADMIN_PERM),
 * and so does joining the "events" group.  Ids (uids, gids, pids) are
 * translated from the sender's namespaces and to the reader's.  Every command is
 * validated strictly against the policy (unknown attributes, trailing data
 * and nests without NLA_F_NESTED are refused by the netlink core), and every
 * further rejection carries an extack message.  Events go to the multicast
 * group "events".  The family lives in the initial network namespace.
 */
#include <linux/cred.h>
#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/uidgid.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "vbridge.h"

static struct genl_family vbridge_nl_family;
static bool vbridge_nl_registered;

static const struct nla_policy vbridge_window_policy[VBRIDGE_A_WINDOW_MAX + 1] = {
	[VBRIDGE_A_WINDOW_ADDR] = { .type = NLA_U64 },
	[VBRIDGE_A_WINDOW_SIZE] = { .type = NLA_U64 },
};

static const struct nla_policy vbridge_windows_policy[VBRIDGE_A_WINDOW + 1] = {
	[VBRIDGE_A_WINDOW] = NLA_POLICY_NESTED(vbridge_window_policy),
};

static const struct nla_policy vbridge_irq_policy[VBRIDGE_A_IRQ_MAX + 1] = {
	[VBRIDGE_A_IRQ_NUM] = { .type = NLA_U32 },
	[VBRIDGE_A_IRQ_FLAGS] = NLA_POLICY_MASK(NLA_U32, VBRIDGE_IRQ_F_LEVEL),
};

static const struct nla_policy vbridge_irqs_policy[VBRIDGE_A_IRQ + 1] = {
	[VBRIDGE_A_IRQ] = NLA_POLICY_NESTED(vbridge_irq_policy),
};

/* Not const: 6.1 declares the policy's range pointer non-const. */
static struct netlink_range_validation vbridge_timeout_range = {
	.min = 0,
	.max = VBRIDGE_VMSTOP_TIMEOUT_MAX,
};

static struct netlink_range_validation vbridge_inflight_range = {
	.min = 0,
	.max = VBRIDGE_INFLIGHT_TIMEOUT_MAX,
};

/*
 * One policy per command, each listing only the attributes that command
 * reads: with strict validation the core refuses any other one
 * ("Unsupported attribute", -EINVAL), so that a request never carries an
 * attribute that is silently ignored.
 */
#define VBRIDGE_POL_VMID \
	[VBRIDGE_A_VMID] = NLA_POLICY_MAX(NLA_U32, VBRIDGE_VMID_MAX)
#define VBRIDGE_POL_DEV_NAME \
	[VBRIDGE_A_DEV_NAME] = { .type = NLA_NUL_STRING, \
				 .len = VBRIDGE_NAME_MAX - 1 }
#define VBRIDGE_POL_OVERRIDES \
	[VBRIDGE_A_RETRY_TIMEOUT_MS] = { .type = NLA_S32 }, \
	[VBRIDGE_A_VMSTOP_TIMEOUT] = NLA_POLICY_FULL_RANGE(NLA_U32, \
							   &vbridge_timeout_range), \
	[VBRIDGE_A_VMSTOP_AUTOACK] = NLA_POLICY_MAX(NLA_U8, 1), \
	[VBRIDGE_A_INFLIGHT_TIMEOUT_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, \
							&vbridge_inflight_range)

static const struct nla_policy vbridge_dev_add_policy[VBRIDGE_A_MAX + 1] = {
	VBRIDGE_POL_VMID,
	VBRIDGE_POL_DEV_NAME,
	[VBRIDGE_A_BACKEND_VMID] = NLA_POLICY_MAX(NLA_U32, VBRIDGE_VMID_MAX),
	[VBRIDGE_A_WINDOWS] = NLA_POLICY_NESTED(vbridge_windows_policy),
	[VBRIDGE_A_IRQS] = NLA_POLICY_NESTED(vbridge_irqs_policy),
	VBRIDGE_POL_OVERRIDES,
	[VBRIDGE_A_PROVIDER_UID] = { .type = NLA_U32 },
	[VBRIDGE_A_PROVIDER_GID] = { .type = NLA_U32 },
	/* Permission bits only: no file type, setuid, setgid or sticky bit. */
	[VBRIDGE_A_NODE_MODE] = NLA_POLICY_RANGE(NLA_U32, 1, 0777),
};

/* DEV_DEL, and DEV_GET (its dump reads nothing). */
static const struct nla_policy vbridge_dev_name_policy[VBRIDGE_A_MAX + 1] = {
	VBRIDGE_POL_VMID,
	VBRIDGE_POL_DEV_NAME,
};

static const struct nla_policy vbridge_dev_set_policy[VBRIDGE_A_MAX + 1] = {
	VBRIDGE_POL_VMID,
	VBRIDGE_POL_DEV_NAME,
	VBRIDGE_POL_OVERRIDES,
	[VBRIDGE_A_CLEAR_OVERRIDES] = { .type = NLA_FLAG },
};

static const struct nla_policy vbridge_vm_get_policy[VBRIDGE_A_MAX + 1] = {
	VBRIDGE_POL_VMID,
};

static const struct nla_policy vbridge_vm_set_policy[VBRIDGE_A_MAX + 1] = {
	VBRIDGE_POL_VMID,
	[VBRIDGE_A_VMM_UID] = { .type = NLA_U32 },
	[VBRIDGE_A_VMM_GID] = { .type = NLA_U32 },
};

/* ------------------------------------------------------------------ */
/* Parsing                                                            */
/* ------------------------------------------------------------------ */

static int vbridge_nl_parse_name(const struct nlattr *attr, char *out,
				 struct netlink_ext_ack *extack)
{
	const char *s = nla_data(attr);	/* NUL-terminated: policy */
	size_t i, len = strlen(s);

	if (!len) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "device name is empty");
		return -EINVAL;
	}
	if (!strcmp(s, ".") || !strcmp(s, "..")) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "device name may not be \".\" or \"..\"");
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if (!isalnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-') {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "device name may only contain A-Z a-z 0-9 . _ -");
			return -EINVAL;
		}
	}
	strscpy(out, s, VBRIDGE_NAME_MAX);
	return 0;
}

static int vbridge_nl_parse_windows(const struct nlattr *nest,
				    struct vbridge_dev_config *cfg,
				    struct netlink_ext_ack *extack)
{
	struct nlattr *tb[VBRIDGE_A_WINDOW_MAX + 1];
	struct vbridge_window *w;
	const struct nlattr *a;
	u64 end;
	u32 i;
	int rem, ret;

	nla_for_each_nested(a, nest, rem) {
		if (cfg->nr_windows >= VBRIDGE_MAX_WINDOWS) {
			NL_SET_ERR_MSG_ATTR(extack, a, "too many windows");
			return -EINVAL;
		}
		ret = nla_parse_nested(tb, VBRIDGE_A_WINDOW_MAX, a,
				       vbridge_window_policy, extack);
		if (ret)
			return ret;
		if (!tb[VBRIDGE_A_WINDOW_ADDR] || !tb[VBRIDGE_A_WINDOW_SIZE]) {
			NL_SET_ERR_MSG_ATTR(extack, a, "a window needs an address and a size");
			return -EINVAL;
		}
		w = &cfg->windows[cfg->nr_windows];
		w->addr = nla_get_u64(tb[VBRIDGE_A_WINDOW_ADDR]);
		w->size = nla_get_u64(tb[VBRIDGE_A_WINDOW_SIZE]);
		if (!w->size) {
			NL_SET_ERR_MSG_ATTR(extack, a, "window size is zero");
			return -EINVAL;
		}
		if (!PAGE_ALIGNED(w->addr) || !PAGE_ALIGNED(w->size)) {
			NL_SET_ERR_MSG_ATTR(extack, a,
					    "window address and size must be page aligned");
			return -EINVAL;
		}
		if (check_add_overflow(w->addr, w->size, &end)) {
			NL_SET_ERR_MSG_ATTR(extack, a,
					    "window extends past the end of the address space");
			return -EINVAL;
		}
		for (i = 0; i < cfg->nr_windows; i++) {
			if (w->addr < cfg->windows[i].addr + cfg->windows[i].size &&
			    cfg->windows[i].addr < end) {
				NL_SET_ERR_MSG_ATTR(extack, a, "windows of the device overlap");
				return -EINVAL;
			}
		}
		cfg->nr_windows++;
	}
	if (!cfg->nr_windows) {
		NL_SET_ERR_MSG_ATTR(extack, nest, "a device needs at least one window");
		return -EINVAL;
	}
	return 0;
}

static int vbridge_nl_parse_irqs(const struct nlattr *nest,
				 struct vbridge_dev_config *cfg,
				 struct netlink_ext_ack *extack)
{
	struct nlattr *tb[VBRIDGE_A_IRQ_MAX + 1];
	const struct nlattr *a;
	int rem, ret;

	nla_for_each_nested(a, nest, rem) {
		if (cfg->nr_irqs >= VBRIDGE_MAX_IRQS) {
			NL_SET_ERR_MSG_ATTR(extack, a, "too many interrupt lines");
			return -EINVAL;
		}
		ret = nla_parse_nested(tb, VBRIDGE_A_IRQ_MAX, a,
				       vbridge_irq_policy, extack);
		if (ret)
			return ret;
		if (!tb[VBRIDGE_A_IRQ_NUM]) {
			NL_SET_ERR_MSG_ATTR(extack, a, "an interrupt line needs a number");
			return -EINVAL;
		}
		cfg->irqs[cfg->nr_irqs].num = nla_get_u32(tb[VBRIDGE_A_IRQ_NUM]);
		if (tb[VBRIDGE_A_IRQ_FLAGS])
			cfg->irqs[cfg->nr_irqs].flags =
				nla_get_u32(tb[VBRIDGE_A_IRQ_FLAGS]);
		cfg->nr_irqs++;
	}
	return 0;
}

/* Apply CLEAR_OVERRIDES, then any override given.  Returns true if any. */
static bool vbridge_nl_parse_overrides(struct nlattr **attrs,
				       struct vbridge_overrides *ovr)
{
	bool any = false;

	if (attrs[VBRIDGE_A_CLEAR_OVERRIDES]) {
		memset(ovr, 0, sizeof(*ovr));
		any = true;
	}
	if (attrs[VBRIDGE_A_RETRY_TIMEOUT_MS]) {
		ovr->has_retry = true;
		ovr->retry_timeout_ms =
			nla_get_s32(attrs[VBRIDGE_A_RETRY_TIMEOUT_MS]);
		any = true;
	}
	if (attrs[VBRIDGE_A_VMSTOP_TIMEOUT]) {
		ovr->has_timeout = true;
		ovr->vmstop_timeout = nla_get_u32(attrs[VBRIDGE_A_VMSTOP_TIMEOUT]);
		any = true;
	}
	if (attrs[VBRIDGE_A_VMSTOP_AUTOACK]) {
		ovr->has_autoack = true;
		ovr->vmstop_autoack = nla_get_u8(attrs[VBRIDGE_A_VMSTOP_AUTOACK]);
		any = true;
	}
	if (attrs[VBRIDGE_A_INFLIGHT_TIMEOUT_MS]) {
		ovr->has_inflight = true;
		ovr->inflight_timeout_ms =
			nla_get_u32(attrs[VBRIDGE_A_INFLIGHT_TIMEOUT_MS]);
		any = true;
	}
	return any;
}

/*
 * Ids arrive as the sender sees them, in its user namespace; one that has
 * no mapping there (including (u32)-1) is refused.
 */
static int vbridge_nl_parse_uid(const struct nlattr *attr, kuid_t *uid,
				struct netlink_ext_ack *extack)
{
	*uid = make_kuid(current_user_ns(), nla_get_u32(attr));
	if (!uid_valid(*uid)) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "uid is not valid in the sender's user namespace");
		return -EINVAL;
	}
	return 0;
}

static int vbridge_nl_parse_gid(const struct nlattr *attr, kgid_t *gid,
				struct netlink_ext_ack *extack)
{
	*gid = make_kgid(current_user_ns(), nla_get_u32(attr));
	if (!gid_valid(*gid)) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "gid is not valid in the sender's user namespace");
		return -EINVAL;
	}
	return 0;
}

/* The backend node's owner, group and mode: root, root, 0600 by default. */
static int vbridge_nl_parse_node(struct nlattr **attrs,
				 struct vbridge_dev_config *cfg,
				 struct netlink_ext_ack *extack)
{
	int ret;

	cfg->provider_uid = GLOBAL_ROOT_UID;
	cfg->provider_gid = GLOBAL_ROOT_GID;
	cfg->node_mode = VBRIDGE_NODE_MODE_DEFAULT;
	if (attrs[VBRIDGE_A_PROVIDER_UID]) {
		ret = vbridge_nl_parse_uid(attrs[VBRIDGE_A_PROVIDER_UID],
					   &cfg->provider_uid, extack);
		if (ret)
			return ret;
	}
	if (attrs[VBRIDGE_A_PROVIDER_GID]) {
		ret = vbridge_nl_parse_gid(attrs[VBRIDGE_A_PROVIDER_GID],
					   &cfg->provider_gid, extack);
		if (ret)
			return ret;
	}
	/* 1..0777: the policy. */
	if (attrs[VBRIDGE_A_NODE_MODE])
		cfg->node_mode = nla_get_u32(attrs[VBRIDGE_A_NODE_MODE]);
	return 0;
}

/*
 * The device named by VMID + DEV_NAME, with its vmid's lock held (taken
 * killably): the caller unlocks *@vp.  NULL with *@err set, and nothing
 * held, when there is none.
 */
static struct vbridge_dev *vbridge_nl_find_dev(struct genl_info *info,
					       struct vbridge_vmid **vp,
					       int *err)
{
	char name[VBRIDGE_NAME_MAX];
	struct vbridge_dev *dev;
	struct vbridge_vmid *v;
	u32 vmid;

	if (GENL_REQ_ATTR_CHECK(info, VBRIDGE_A_VMID) ||
	    GENL_REQ_ATTR_CHECK(info, VBRIDGE_A_DEV_NAME)) {
		*err = -EINVAL;
		return NULL;
	}
	*err = vbridge_nl_parse_name(info->attrs[VBRIDGE_A_DEV_NAME], name,
				     info->extack);
	if (*err)
		return NULL;
	vmid = nla_get_u32(info->attrs[VBRIDGE_A_VMID]);
	v = vbridge_vmid(vmid);
	if (mutex_lock_killable(&v->lock)) {
		*err = -EINTR;
		return NULL;
	}
	dev = vbridge_dev_find(vmid, name);
	if (!dev) {
		mutex_unlock(&v->lock);
		NL_SET_ERR_MSG(info->extack, "no device of this name is declared for this vmid");
		*err = -ENOENT;
		return NULL;
	}
	*vp = v;
	return dev;
}

/* ------------------------------------------------------------------ */
/* Messages                                                           */
/* ------------------------------------------------------------------ */

static int vbridge_nl_put_stats(struct sk_buff *skb, const u64 *stats)
{
	struct nlattr *nest;
	int i;

	nest = nla_nest_start(skb, VBRIDGE_A_STATS);
	if (!nest)
		return -EMSGSIZE;
	for (i = VBRIDGE_STAT_FORWARDED; i <= VBRIDGE_STAT_MAX; i++)
		if (nla_put_u64_64bit(skb, i, stats[i], VBRIDGE_STAT_PAD))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int vbridge_nl_put_effective(struct sk_buff *skb, int retry,
				    u32 timeout, bool autoack, u32 inflight)
{
	struct nlattr *nest;

	nest = nla_nest_start(skb, VBRIDGE_A_EFFECTIVE);
	if (!nest ||
	    nla_put_s32(skb, VBRIDGE_A_RETRY_TIMEOUT_MS, retry) ||
	    nla_put_u32(skb, VBRIDGE_A_VMSTOP_TIMEOUT, timeout) ||
	    nla_put_u8(skb, VBRIDGE_A_VMSTOP_AUTOACK, autoack) ||
	    nla_put_u32(skb, VBRIDGE_A_INFLIGHT_TIMEOUT_MS, inflight))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* The vmid's owner as the reader sees it (each id read once). */
static int vbridge_nl_put_owner(struct sk_buff *skb, u32 vmid)
{
	struct vbridge_owner o = vbridge_vm_owner(vmid);
	struct user_namespace *ns = current_user_ns();

	if ((uid_valid(o.uid) &&
	     nla_put_u32(skb, VBRIDGE_A_VMM_UID, from_kuid_munged(ns, o.uid))) ||
	    (gid_valid(o.gid) &&
	     nla_put_u32(skb, VBRIDGE_A_VMM_GID, from_kgid_munged(ns, o.gid))))
		return -EMSGSIZE;
	return 0;
}

static int vbridge_nl_fill_dev(struct sk_buff *skb, struct vbridge_dev *dev,
			       u32 portid, u32 seq, int flags)
{
	struct vbridge_overrides ovr;
	u64 stats[VBRIDGE_STAT_MAX + 1];
	struct nlattr *nest, *item;
	void *hdr;
	u64 gen;
	u32 i;

	hdr = genlmsg_put(skb, portid, seq, &vbridge_nl_family, flags,
			  VBRIDGE_CMD_DEV_GET);
	if (!hdr)
		return -EMSGSIZE;

	spin_lock(&dev->lock);
	ovr = dev->cfg.ovr;
	gen = dev->vm ? dev->gen : 0;
	spin_unlock(&dev->lock);
	vbridge_dev_stats(dev, stats);

	if (nla_put_u32(skb, VBRIDGE_A_VMID, dev->cfg.vmid) ||
	    nla_put_string(skb, VBRIDGE_A_DEV_NAME, dev->cfg.name) ||
	    nla_put_u32(skb, VBRIDGE_A_DEV_ID, dev->id) ||
	    nla_put_u32(skb, VBRIDGE_A_BACKEND_VMID, dev->cfg.backend_vmid) ||
	    nla_put_u32(skb, VBRIDGE_A_DEV_STATE, vbridge_dev_state(dev)) ||
	    nla_put_u32(skb, VBRIDGE_A_PROVIDER_UID,
			from_kuid_munged(current_user_ns(),
					 dev->cfg.provider_uid)) ||
	    nla_put_u32(skb, VBRIDGE_A_PROVIDER_GID,
			from_kgid_munged(current_user_ns(),
					 dev->cfg.provider_gid)) ||
	    nla_put_u32(skb, VBRIDGE_A_NODE_MODE, dev->cfg.node_mode) ||
	    vbridge_nl_put_owner(skb, dev->cfg.vmid))
		goto nomem;
	if (gen && nla_put_u64_64bit(skb, VBRIDGE_A_VM_GENERATION, gen,
				     VBRIDGE_A_PAD))
		goto nomem;

	nest = nla_nest_start(skb, VBRIDGE_A_WINDOWS);
	if (!nest)
		goto nomem;
	for (i = 0; i < dev->cfg.nr_windows; i++) {
		item = nla_nest_start(skb, VBRIDGE_A_WINDOW);
		if (!item ||
		    nla_put_u64_64bit(skb, VBRIDGE_A_WINDOW_ADDR,
				      dev->cfg.windows[i].addr,
				      VBRIDGE_A_WINDOW_PAD) ||
		    nla_put_u64_64bit(skb, VBRIDGE_A_WINDOW_SIZE,
				      dev->cfg.windows[i].size,
				      VBRIDGE_A_WINDOW_PAD))
			goto nomem;
		nla_nest_end(skb, item);
	}
	nla_nest_end(skb, nest);

	nest = nla_nest_start(skb, VBRIDGE_A_IRQS);
	if (!nest)
		goto nomem;
	for (i = 0; i < dev->cfg.nr_irqs; i++) {
		item = nla_nest_start(skb, VBRIDGE_A_IRQ);
		if (!item ||
		    nla_put_u32(skb, VBRIDGE_A_IRQ_NUM, dev->cfg.irqs[i].num) ||
		    nla_put_u32(skb, VBRIDGE_A_IRQ_FLAGS, dev->cfg.irqs[i].flags))
			goto nomem;
		nla_nest_end(skb, item);
	}
	nla_nest_end(skb, nest);

	if ((ovr.has_retry &&
	     nla_put_s32(skb, VBRIDGE_A_RETRY_TIMEOUT_MS, ovr.retry_timeout_ms)) ||
	    (ovr.has_timeout &&
	     nla_put_u32(skb, VBRIDGE_A_VMSTOP_TIMEOUT, ovr.vmstop_timeout)) ||
	    (ovr.has_autoack &&
	     nla_put_u8(skb, VBRIDGE_A_VMSTOP_AUTOACK, ovr.vmstop_autoack)) ||
	    (ovr.has_inflight &&
	     nla_put_u32(skb, VBRIDGE_A_INFLIGHT_TIMEOUT_MS,
			 ovr.inflight_timeout_ms)))
		goto nomem;
	if (vbridge_nl_put_effective(skb, vbridge_dev_retry_ms(dev),
				     vbridge_dev_vmstop_timeout(dev),
				     vbridge_dev_autoack(dev),
				     vbridge_dev_inflight_ms(dev)) ||
	    vbridge_nl_put_stats(skb, stats))
		goto nomem;

	genlmsg_end(skb, hdr);
	return 0;

nomem:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static int vbridge_nl_fill_vm(struct sk_buff *skb, struct vbridge_vm *vm,
			      u32 portid, u32 seq, int flags)
{
	u64 stats[VBRIDGE_STAT_MAX + 1] = {}, one[VBRIDGE_STAT_MAX + 1];
	unsigned int i, s;
	pid_t pid;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &vbridge_nl_family, flags,
			  VBRIDGE_CMD_VM_GET);
	if (!hdr)
		return -EMSGSIZE;
	for (i = 0; i < vm->nr_devs; i++) {
		vbridge_dev_stats(vm->devs[i], one);
		for (s = 0; s <= VBRIDGE_STAT_MAX; s++)
			stats[s] += one[s];
	}
	/* The VMM's pid in the reader's pid namespace, if it has one there. */
	pid = pid_vnr(vm->tgid);

	if (nla_put_u32(skb, VBRIDGE_A_VMID, vm->vmid) ||
	    nla_put_u32(skb, VBRIDGE_A_VM_STATE,
			vm->life == VBRIDGE_VM_RUNNING ? VBRIDGE_VM_S_RUNNING :
							 VBRIDGE_VM_S_STOPPING) ||
	    nla_put_u64_64bit(skb, VBRIDGE_A_VM_GENERATION, vm->generation,
			      VBRIDGE_A_PAD) ||
	    (pid > 0 && nla_put_u32(skb, VBRIDGE_A_VM_PID, pid)) ||
	    nla_put_u32(skb, VBRIDGE_A_NR_DEVICES, vm->nr_devs) ||
	    vbridge_nl_put_owner(skb, vm->vmid) ||
	    vbridge_nl_put_effective(skb, READ_ONCE(vbridge_retry_timeout_ms),
				     READ_ONCE(vbridge_vmstop_timeout),
				     READ_ONCE(vbridge_vmstop_autoack),
				     READ_ONCE(vbridge_inflight_timeout_ms)) ||
	    vbridge_nl_put_stats(skb, stats)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Commands                                                           */
/* ------------------------------------------------------------------ */

static int vbridge_nl_dev_add(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct vbridge_dev_config *cfg;
	struct vbridge_vmid *v;
	struct vbridge_dev *dev;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, VBRIDGE_A_VMID) ||
	    GENL_REQ_ATTR_CHECK(info, VBRIDGE_A_DEV_NAME) ||
	    GENL_REQ_ATTR_CHECK(info, VBRIDGE_A_WINDOWS))
		return -EINVAL;

	cfg = kzalloc(sizeof(*cfg), GFP_KERNEL);
	if (!cfg)
		return -ENOMEM;
	cfg->vmid = nla_get_u32(info->attrs[VBRIDGE_A_VMID]);
	ret = vbridge_nl_parse_name(info->attrs[VBRIDGE_A_DEV_NAME], cfg->name,
				    extack);
	if (ret)
		goto out;
	if (info->attrs[VBRIDGE_A_BACKEND_VMID])
		cfg->backend_vmid =
			nla_get_u32(info->attrs[VBRIDGE_A_BACKEND_VMID]);
	ret = vbridge_nl_parse_windows(info->attrs[VBRIDGE_A_WINDOWS], cfg,
				       extack);
	if (ret)
		goto out;
	if (info->attrs[VBRIDGE_A_IRQS]) {
		ret = vbridge_nl_parse_irqs(info->attrs[VBRIDGE_A_IRQS], cfg,
					    extack);
		if (ret)
			goto out;
	}
	vbridge_nl_parse_overrides(info->attrs, &cfg->ovr);
	ret = vbridge_nl_parse_node(info->attrs, cfg, extack);
	if (ret)
		goto out;

	v = vbridge_vmid(cfg->vmid);
	ret = -EINTR;
	if (mutex_lock_killable(&v->lock))
		goto out;
	dev = vbridge_dev_create(cfg, extack);
	ret = PTR_ERR_OR_ZERO(dev);
	if (!ret)
		vbridge_nl_event(VBRIDGE_EV_DEV_ADDED, cfg->vmid, cfg->name, 0, 0);
	mutex_unlock(&v->lock);
out:
	kfree(cfg);
	return ret;
}

static int vbridge_nl_dev_del(struct sk_buff *skb, struct genl_info *info)
{
	char name[VBRIDGE_NAME_MAX];
	struct vbridge_vmid *v;
	struct vbridge_dev *dev;
	bool open, bound;
	u32 vmid;
	int ret;

	dev = vbridge_nl_find_dev(info, &v, &ret);
	if (!dev)
		return ret;
	spin_lock(&dev->lock);
	open = dev->be_open;
	bound = dev->vm;
	spin_unlock(&dev->lock);
	ret = -EBUSY;
	if (open) {
		NL_SET_ERR_MSG(info->extack, "the device's backend node is open");
		goto out;
	}
	if (bound) {
		NL_SET_ERR_MSG(info->extack, "the device's VM is running or stopping");
		goto out;
	}
	vmid = dev->cfg.vmid;
	strscpy(name, dev->cfg.name, sizeof(name));
	vbridge_dev_remove(dev);
	vbridge_nl_event(VBRIDGE_EV_DEV_REMOVED, vmid, name, 0, 0);
	ret = 0;
out:
	mutex_unlock(&v->lock);
	return ret;
}

static int vbridge_nl_dev_set(struct sk_buff *skb, struct genl_info *info)
{
	struct vbridge_overrides ovr;
	struct vbridge_vmid *v;
	struct vbridge_dev *dev;
	int ret;

	dev = vbridge_nl_find_dev(info, &v, &ret);
	if (!dev)
		return ret;
	spin_lock(&dev->lock);
	ovr = dev->cfg.ovr;
	spin_unlock(&dev->lock);
	if (!vbridge_nl_parse_overrides(info->attrs, &ovr)) {
		NL_SET_ERR_MSG(info->extack, "nothing to set: give an override or CLEAR_OVERRIDES");
		ret = -EINVAL;
		goto out;
	}
	spin_lock(&dev->lock);
	dev->cfg.ovr = ovr;
	spin_unlock(&dev->lock);
	/* New retry and in-flight rules apply to accesses already waiting. */
	wake_up_all(&dev->wq);
	ret = 0;
out:
	mutex_unlock(&v->lock);
	return ret;
}

static int vbridge_nl_dev_get(struct sk_buff *skb, struct genl_info *info)
{
	struct vbridge_vmid *v;
	struct vbridge_dev *dev;
	struct sk_buff *msg;
	int ret;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	dev = vbridge_nl_find_dev(info, &v, &ret);
	if (dev) {
		ret = vbridge_nl_fill_dev(msg, dev, info->snd_portid,
					  info->snd_seq, 0);
		mutex_unlock(&v->lock);
	}
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

static int vbridge_nl_dev_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct vbridge_dev *dev;
	unsigned long idx;

	if (mutex_lock_killable(&vbridge_devs_lock))
		return -EINTR;
	xa_for_each_start(&vbridge_devs, idx, dev, cb->args[0]) {
		if (vbridge_nl_fill_dev(skb, dev, NETLINK_CB(cb->skb).portid,
					cb->nlh->nlmsg_seq, NLM_F_MULTI))
			break;
		cb->args[0] = idx + 1;
	}
	mutex_unlock(&vbridge_devs_lock);
	return skb->len;
}

static int vbridge_nl_vm_get(struct sk_buff *skb, struct genl_info *info)
{
	struct vbridge_vmid *v;
	struct vbridge_vm *vm;
	struct sk_buff *msg;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, VBRIDGE_A_VMID))
		return -EINVAL;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	v = vbridge_vmid(nla_get_u32(info->attrs[VBRIDGE_A_VMID]));
	if (mutex_lock_killable(&v->lock)) {
		nlmsg_free(msg);
		return -EINTR;
	}
	vm = v->vm;
	if (vm) {
		ret = vbridge_nl_fill_vm(msg, vm, info->snd_portid,
					 info->snd_seq, 0);
	} else {
		NL_SET_ERR_MSG(info->extack, "no VM runs under this vmid");
		ret = -ENOENT;
	}
	mutex_unlock(&v->lock);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

/* One vmid at a time, each under its own lock; cb->args[0]: the next. */
static int vbridge_nl_vm_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct vbridge_vmid *v;
	unsigned long i;
	int ret = 0;

	for (i = cb->args[0]; i <= VBRIDGE_VMID_MAX; i++) {
		v = vbridge_vmid(i);
		if (mutex_lock_killable(&v->lock))
			return -EINTR;
		if (v->vm)
			ret = vbridge_nl_fill_vm(skb, v->vm,
						 NETLINK_CB(cb->skb).portid,
						 cb->nlh->nlmsg_seq, NLM_F_MULTI);
		mutex_unlock(&v->lock);
		if (ret)
			break;
		cb->args[0] = i + 1;
	}
	return skb->len;
}

/*
 * Who may attach a vmid: VMM_UID and VMM_GID, each an id in the sender's
 * user namespace or VBRIDGE_ID_NONE to remove it.  Either may come alone;
 * the other is left as it was.
 */
static int vbridge_nl_vm_set(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *ua = info->attrs[VBRIDGE_A_VMM_UID];
	struct nlattr *ga = info->attrs[VBRIDGE_A_VMM_GID];
	kuid_t uid = INVALID_UID;
	kgid_t gid = INVALID_GID;
	struct vbridge_owner o;
	struct vbridge_vmid *v;
	u32 vmid;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, VBRIDGE_A_VMID))
		return -EINVAL;
	if (!ua && !ga) {
		NL_SET_ERR_MSG(extack, "nothing to set: give VMM_UID or VMM_GID");
		return -EINVAL;
	}
	if (ua && nla_get_u32(ua) != VBRIDGE_ID_NONE) {
		ret = vbridge_nl_parse_uid(ua, &uid, extack);
		if (ret)
			return ret;
	}
	if (ga && nla_get_u32(ga) != VBRIDGE_ID_NONE) {
		ret = vbridge_nl_parse_gid(ga, &gid, extack);
		if (ret)
			return ret;
	}
	vmid = nla_get_u32(info->attrs[VBRIDGE_A_VMID]);
	v = vbridge_vmid(vmid);
	if (mutex_lock_killable(&v->lock))
		return -EINTR;
	o = vbridge_vm_owner(vmid);
	if (ua)
		o.uid = uid;
	if (ga)
		o.gid = gid;
	vbridge_vm_set_owner(vmid, &o);
	mutex_unlock(&v->lock);
	return 0;
}

/**
 * vbridge_nl_event() - multicast an event to the "events" group
 * @event: VBRIDGE_EV_*
 * @vmid: the vmid
 * @name: device name, or NULL when the event has none
 * @gen: VM generation, or 0 when the event has none
 * @pid: VMM tgid, or 0 when the event has none
 *
 * Process context only (allocates with GFP_KERNEL); no spinlock held.
 */
void vbridge_nl_event(u32 event, u32 vmid, const char *name, u64 gen, u32 pid)
{
	struct sk_buff *msg;
	void *hdr;

	if (!READ_ONCE(vbridge_nl_registered) ||
	    !genl_has_listeners(&vbridge_nl_family, &init_net, 0))
		return;
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &vbridge_nl_family, 0, VBRIDGE_CMD_EVENT);
	if (!hdr)
		goto err;
	if (nla_put_u32(msg, VBRIDGE_A_EVENT, event) ||
	    nla_put_u32(msg, VBRIDGE_A_VMID, vmid) ||
	    (name && nla_put_string(msg, VBRIDGE_A_DEV_NAME, name)) ||
	    (gen && nla_put_u64_64bit(msg, VBRIDGE_A_VM_GENERATION, gen,
				      VBRIDGE_A_PAD)) ||
	    (pid && nla_put_u32(msg, VBRIDGE_A_VM_PID, pid)))
		goto err;
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&vbridge_nl_family, msg, 0, 0, GFP_KERNEL);
	return;
err:
	nlmsg_free(msg);
}

static const struct genl_ops vbridge_nl_ops[] = {
	{
		.cmd = VBRIDGE_CMD_DEV_ADD,
		.flags = GENL_ADMIN_PERM,
		.doit = vbridge_nl_dev_add,
		.policy = vbridge_dev_add_policy,
		.maxattr = VBRIDGE_A_MAX,
	},
	{
		.cmd = VBRIDGE_CMD_DEV_DEL,
		.flags = GENL_ADMIN_PERM,
		.doit = vbridge_nl_dev_del,
		.policy = vbridge_dev_name_policy,
		.maxattr = VBRIDGE_A_MAX,
	},
	{
		.cmd = VBRIDGE_CMD_DEV_GET,
		.doit = vbridge_nl_dev_get,
		.dumpit = vbridge_nl_dev_dump,
		.policy = vbridge_dev_name_policy,
		.maxattr = VBRIDGE_A_MAX,
	},
	{
		.cmd = VBRIDGE_CMD_DEV_SET,
		.flags = GENL_ADMIN_PERM,
		.doit = vbridge_nl_dev_set,
		.policy = vbridge_dev_set_policy,
		.maxattr = VBRIDGE_A_MAX,
	},
	{
		.cmd = VBRIDGE_CMD_VM_GET,
		.doit = vbridge_nl_vm_get,
		.dumpit = vbridge_nl_vm_dump,
		.policy = vbridge_vm_get_policy,
		.maxattr = VBRIDGE_A_MAX,
	},
	{
		.cmd = VBRIDGE_CMD_VM_SET,
		.flags = GENL_ADMIN_PERM,
		.doit = vbridge_nl_vm_set,
		.policy = vbridge_vm_set_policy,
		.maxattr = VBRIDGE_A_MAX,
	},
};

/* Events name every VM's VMM pid and every device: administrators only. */
static const struct genl_multicast_group vbridge_nl_mcgrps[] = {
	{
		.name = VBRIDGE_GENL_MCGRP_EVENTS,
		.flags = GENL_MCAST_CAP_NET_ADMIN,
	},
};

static struct genl_family vbridge_nl_family __ro_after_init = {
	.name = VBRIDGE_GENL_NAME,
	.version = VBRIDGE_GENL_VERSION,
	/* The attribute buffer's size: each command has its own policy. */
	.maxattr = VBRIDGE_A_MAX,
	.module = THIS_MODULE,
	.ops = vbridge_nl_ops,
	.n_ops = ARRAY_SIZE(vbridge_nl_ops),
	/* Every command: strict validation, reserved header fields zero. */
	.resv_start_op = 0,
	/* Our own locks serialize what needs it (vbridge.h), per vmid. */
	.parallel_ops = true,
	.mcgrps = vbridge_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(vbridge_nl_mcgrps),
};

int vbridge_nl_init(void)
{
	int ret = genl_register_family(&vbridge_nl_family);

	if (!ret)
		WRITE_ONCE(vbridge_nl_registered, true);
	return ret;
}

void vbridge_nl_exit(void)
{
	WRITE_ONCE(vbridge_nl_registered, false);
	genl_unregister_family(&vbridge_nl_family);
}
