// SPDX-License-Identifier: GPL-2.0
/*
 * Declarations the module must refuse: missing attributes, bad names,
 * vmids out of range, too many windows or interrupt lines, unaligned,
 * empty, wrapping or overlapping windows, unknown flags, duplicates, and
 * attributes of another command.
 *
 * Every refusal is checked for its errno and for leaving no state behind:
 * the device list stays as it was, no node appears, and the same call with
 * the mistake fixed then works.  Errors a netlink policy produces may be
 * -EINVAL or -ERANGE depending on how the policy is written; both are
 * accepted there and only there.
 */
#include "kselftest_harness.h"
#include "vbst_dev.h"

FIXTURE(bad) {
	struct vbst_nl nl;
	struct vbst_devspec d;
};

FIXTURE_SETUP(bad)
{
	self->nl.fd = -1;
	ASSERT_EQ(0, vbst_load(""));
	ASSERT_EQ(0, vbst_nl_open(&self->nl));
	vbst_std_spec(&self->d, VBST_VMID, VBST_NAME, 4);
}

FIXTURE_TEARDOWN(bad)
{
	vbst_nl_close(&self->nl);
	EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

static int dev_count(struct vbst_nl *nl)
{
	struct vbst_devinfo di[4];

	return vbst_dev_dump(nl, di, 4);
}

static bool is_policy_err(int ret)
{
	return ret == -EINVAL || ret == -ERANGE;
}

/* A DEV_ADD of d that must fail with one of the given errnos. */
#define EXPECT_ADD_FAILS(self, d, ok)						\
	do {									\
		int __ret = vbst_dev_add(&(self)->nl, (d));			\
		EXPECT_TRUE(ok(__ret)) {					\
			TH_LOG("DEV_ADD gave %d (%s) [%s]", __ret,		\
			       strerror(-__ret), (self)->nl.ext_msg);		\
		}								\
		EXPECT_EQ(0, dev_count(&(self)->nl));				\
		EXPECT_FALSE(vbst_be_exists((d)->vmid, (d)->name));		\
	} while (0)

static bool is_einval(int ret)
{
	return ret == -EINVAL;
}

/* uapi.rst: out-of-range values are refused by the policy, -ERANGE. */
static bool is_erange(int ret)
{
	return ret == -ERANGE;
}

/* Send a DEV_ADD built from d minus one top-level attribute. */
static int add_without(struct vbst_nl *nl, const struct vbst_devspec *d, int skip)
{
	struct vbst_msg m, full;
	const struct nlattr *a;
	int rem;

	vbst_msg_init(&full, nl->family, VBRIDGE_CMD_DEV_ADD, 0);
	vbst_put_devspec(&full, d);
	vbst_msg_init(&m, nl->family, VBRIDGE_CMD_DEV_ADD, 0);
	a = (const struct nlattr *)((char *)NLMSG_DATA(&full.nlh) + GENL_HDRLEN);
	rem = full.nlh.nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	while (rem >= (int)NLA_HDRLEN) {
		if ((a->nla_type & NLA_TYPE_MASK) != skip) {
			memcpy(vbst_msg_tail(&m), a, NLA_ALIGN(a->nla_len));
			m.nlh.nlmsg_len = NLMSG_ALIGN(m.nlh.nlmsg_len) + NLA_ALIGN(a->nla_len);
		}
		rem -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	return vbst_nl_request(nl, &m, NULL, NULL);
}

TEST_F(bad, missing_vmid)
{
	EXPECT_EQ(-EINVAL, add_without(&self->nl, &self->d, VBRIDGE_A_VMID));
	EXPECT_EQ(0, dev_count(&self->nl));
	EXPECT_EQ(0, vbst_dev_add(&self->nl, &self->d));
}

TEST_F(bad, missing_name)
{
	EXPECT_EQ(-EINVAL, add_without(&self->nl, &self->d, VBRIDGE_A_DEV_NAME));
	EXPECT_EQ(0, dev_count(&self->nl));
	EXPECT_EQ(0, vbst_dev_add(&self->nl, &self->d));
}

TEST_F(bad, missing_windows)
{
	EXPECT_EQ(-EINVAL, add_without(&self->nl, &self->d, VBRIDGE_A_WINDOWS));
	EXPECT_EQ(0, dev_count(&self->nl));
	/* An empty nest is no better: window 0 (ECAM) is required. */
	self->d.nr_windows = 0;
	EXPECT_ADD_FAILS(self, &self->d, is_einval);
	self->d.nr_windows = 2;
	EXPECT_EQ(0, vbst_dev_add(&self->nl, &self->d));
}

TEST_F(bad, window_without_size)
{
	struct vbst_msg m;
	struct nlattr *n, *w;

	vbst_msg_init(&m, self->nl.family, VBRIDGE_CMD_DEV_ADD, 0);
	vbst_put_u32(&m, VBRIDGE_A_VMID, VBST_VMID);
	vbst_put_str(&m, VBRIDGE_A_DEV_NAME, VBST_NAME);
	vbst_put_u32(&m, VBRIDGE_A_BACKEND_VMID, VBST_BE_VMID);
	n = vbst_nest_start(&m, VBRIDGE_A_WINDOWS);
	w = vbst_nest_start(&m, VBRIDGE_A_WINDOW);
	vbst_put_u64(&m, VBRIDGE_A_WINDOW_ADDR, VBST_ECAM_ADDR);
	vbst_nest_end(&m, w);
	vbst_nest_end(&m, n);
	EXPECT_EQ(-EINVAL, vbst_nl_request(&self->nl, &m, NULL, NULL));
	EXPECT_EQ(0, dev_count(&self->nl));
	EXPECT_FALSE(vbst_be_exists(VBST_VMID, VBST_NAME));
}

TEST_F(bad, wrong_attribute_size)
{
	struct vbst_msg m;
	int ret;

	vbst_msg_init(&m, self->nl.family, VBRIDGE_CMD_DEV_ADD, 0);
	vbst_put(&m, VBRIDGE_A_VMID, "\3\0", 2);	/* u16 for a u32 */
	vbst_put_str(&m, VBRIDGE_A_DEV_NAME, VBST_NAME);
	ret = vbst_nl_request(&self->nl, &m, NULL, NULL);
	EXPECT_TRUE(is_policy_err(ret)) {
		TH_LOG("short VMID: %d [%s]", ret, self->nl.ext_msg);
	}
	EXPECT_EQ(0, dev_count(&self->nl));
}

TEST_F(bad, name_too_long)
{
	char name[VBRIDGE_NAME_MAX + 1];

	/* VBRIDGE_NAME_MAX includes the NUL: 31 characters fit, 32 do not. */
	memset(name, 'n', VBRIDGE_NAME_MAX);
	name[VBRIDGE_NAME_MAX] = '\0';
	self->d.name = name;
	EXPECT_ADD_FAILS(self, &self->d, is_policy_err);
	name[VBRIDGE_NAME_MAX - 1] = '\0';
	EXPECT_EQ(0, vbst_dev_add(&self->nl, &self->d)) {
		TH_LOG("31 characters: %s", self->nl.ext_msg);
	}
	EXPECT_TRUE(vbst_be_exists(VBST_VMID, name));
}

TEST_F(bad, name_empty)
{
	self->d.name = "";
	EXPECT_ADD_FAILS(self, &self->d, is_einval);
}

TEST_F(bad, name_with_slash)
{
	self->d.name = "a/b";
	EXPECT_ADD_FAILS(self, &self->d, is_einval);
	EXPECT_NE(0, access("/dev/virtio/vm3/a", F_OK));
	self->d.name = "/abs";
	EXPECT_ADD_FAILS(self, &self->d, is_einval);
}

TEST_F(bad, name_dot_and_dotdot)
{
	self->d.name = "..";
	EXPECT_ADD_FAILS(self, &self->d, is_einval);
	self->d.name = ".";
	EXPECT_ADD_FAILS(self, &self->d, is_einval);
	/* Dots inside a name are fine. */
	self->d.name = "a..b";
	EXPECT_EQ(0, vbst_dev_add(&self->nl, &self->d));
}

TEST_F(bad, duplicate_name)
{
	struct vbst_devinfo di;

	ASSERT_EQ(0, vbst_dev_add(&self->nl, &self->d));
	ASSERT_EQ(0, vbst_dev_get(&self->nl, VBST_VMID, VBST_NAME, &di));
	/* Different windows, same (vmid, name). */
	self->d.windows[0].addr = 0x30000000;
	self->d.windows[1].addr = 0x31000000;
	EXPECT_EQ(-EEXIST, vbst_dev_add(&self->nl, &self->d));
	EXPECT_EQ(1, dev_count(&self->nl));
	ASSERT_EQ(0, vbst_dev_get(&self->nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(VBST_ECAM_ADDR, di.windows[0].addr);
}

TEST_F(bad, vmid_out_of_range)
{
	self->d.vmid = VBRIDGE_VMID_MAX + 1;
	EXPECT_ADD_FAILS(self, &self->d, is_erange);
	self->d.vmid = VBRIDGE_VMID_MAX;
	EXPECT_EQ(0, vbst_dev_add(&self->nl, &self->d));
	EXPECT_TRUE(vbst_be_exists(VBRIDGE_VMID_MAX, VBST_NAME));
}

TEST_F(bad, backend_vmid_out_of_range)
{
	self->d.backend_vmid = VBRIDGE_VMID_MAX + 1;
	EXPECT_ADD_FAILS(self, &self->d, is_erange);
}

TEST_F(bad, too_many_windows)
{
	unsigned int i;

	self->d.nr_windows = VBRIDGE_MAX_WINDOWS + 1;
	for (i = 0; i < self->d.nr_windows; i++) {
		self->d.windows[i].addr = 0x10000000ULL * (i + 1);
		self->d.windows[i].size = 0x100000;
	}
	EXPECT_ADD_FAILS(self, &self->d, is_einval);
	self->d.nr_windows = VBRIDGE_MAX_WINDOWS;
	EXPECT_EQ(0, vbst_dev_add(&self->nl, &self->d));
}

TEST_F(bad, too_many_irqs)
{
	unsigned int i;

	self->d.nr_irqs = VBRIDGE_MAX_IRQS + 1;
	for (i = 0; i < self->d.nr_irqs; i++) {
		self->d.irqs[i].num = 32 + i;
		self->d.irqs[i].flags = VBRIDGE_IRQ_F_LEVEL;
	}
	EXPECT_ADD_FAILS(self, &self->d, is_einval);
	self->d.nr_irqs = VBRIDGE_MAX_IRQS;
	EXPECT_EQ(0, vbst_dev_add(&self->nl, &self->d));
}

TEST_F(bad, irq_unknown_flag)
{
	self->d.irqs[1].flags = 0x80;
	EXPECT_ADD_FAILS(self, &self->d, is_einval);
}

TEST_F(bad, window_unaligned)
{
	self->d.windows[1].addr = VBST_BAR_ADDR + 0x800;
	EXPECT_ADD_FAILS(self, &self->d, is_einval);
	self->d.windows[1].addr = VBST_BAR_ADDR;
	self->d.windows[1].size = VBST_BAR_SIZE - 4;
	EXPECT_ADD_FAILS(self, &self->d, is_einval);
}

TEST_F(bad, window_empty_or_wrapping)
{
	self->d.windows[1].size = 0;
	EXPECT_ADD_FAILS(self, &self->d, is_einval);
	self->d.windows[1].addr = 0xfffffffffff00000ULL;
	self->d.windows[1].size = 0x200000;
	EXPECT_ADD_FAILS(self, &self->d, is_einval);
}

TEST_F(bad, windows_overlap_in_device)
{
	/* The BAR window starts inside the ECAM window. */
	self->d.windows[1].addr = VBST_ECAM_ADDR + VBST_ECAM_SIZE - 0x1000;
	EXPECT_ADD_FAILS(self, &self->d, is_einval);
}

TEST_F(bad, windows_overlap_other_device)
{
	struct vbst_devspec o;
	int ret;

	ASSERT_EQ(0, vbst_dev_add(&self->nl, &self->d));
	/* Another device of the same VM decoding part of the same BARs. */
	vbst_std_spec(&o, VBST_VMID, "other", 1);
	o.windows[0].addr = 0x20000000;
	o.windows[1].addr = VBST_BAR_ADDR + 0x80000;
	o.windows[1].size = 0x100000;
	ret = vbst_dev_add(&self->nl, &o);
	EXPECT_EQ(-EEXIST, ret) {
		TH_LOG("overlapping device: [%s]", self->nl.ext_msg);
	}
	EXPECT_EQ(1, dev_count(&self->nl));
	EXPECT_FALSE(vbst_be_exists(VBST_VMID, "other"));
	/* The same windows in another VM do not conflict. */
	o.vmid = 4;
	EXPECT_EQ(0, vbst_dev_add(&self->nl, &o));
}

TEST_F(bad, unknown_command)
{
	struct vbst_msg m;
	int ret;

	vbst_msg_init(&m, self->nl.family, __VBRIDGE_CMD_MAX + 3, 0);
	ret = vbst_nl_request(&self->nl, &m, NULL, NULL);
	EXPECT_TRUE(ret == -EOPNOTSUPP || ret == -EINVAL) {
		TH_LOG("unknown command: %d", ret);
	}
	/* EVENT is a notification, not a request. */
	vbst_msg_init(&m, self->nl.family, VBRIDGE_CMD_EVENT, 0);
	ret = vbst_nl_request(&self->nl, &m, NULL, NULL);
	EXPECT_TRUE(ret == -EOPNOTSUPP || ret == -EINVAL) {
		TH_LOG("EVENT as a request: %d", ret);
	}
}

/*
 * Each command has its own policy: an attribute another command reads (or
 * one the module only sends) is refused by the core, -EINVAL with an
 * extended ack, and the command does nothing.  With one family-wide
 * policy, DEV_DEL carrying NODE_MODE deleted the device.
 */
static int request_with(struct vbst_nl *nl, int cmd, bool dev, int extra)
{
	struct vbst_msg m;

	vbst_msg_init(&m, nl->family, cmd, 0);
	vbst_put_u32(&m, VBRIDGE_A_VMID, VBST_VMID);
	if (dev)
		vbst_put_str(&m, VBRIDGE_A_DEV_NAME, VBST_NAME);
	if (cmd == VBRIDGE_CMD_DEV_SET)
		vbst_put_s32(&m, VBRIDGE_A_RETRY_TIMEOUT_MS, 7);
	if (cmd == VBRIDGE_CMD_VM_SET)
		vbst_put_u32(&m, VBRIDGE_A_VMM_UID, 1000);
	vbst_put_u32(&m, extra, 0600);
	return vbst_nl_request(nl, &m, NULL, NULL);
}

/* DEV_ADD of d plus attribute extra (a flag for CLEAR_OVERRIDES). */
static int add_with(struct vbst_nl *nl, const struct vbst_devspec *d, int extra)
{
	struct vbst_msg m;

	vbst_msg_init(&m, nl->family, VBRIDGE_CMD_DEV_ADD, 0);
	vbst_put_devspec(&m, d);
	if (extra == VBRIDGE_A_CLEAR_OVERRIDES)
		vbst_put_flag(&m, extra);
	else
		vbst_put_u32(&m, extra, 0);
	return vbst_nl_request(nl, &m, NULL, NULL);
}

#define EXPECT_FOREIGN_REFUSED(self, cmd, dev, extra)				\
	do {									\
		int __ret = request_with(&(self)->nl, cmd, dev, extra);	\
		EXPECT_EQ(-EINVAL, __ret) {					\
			TH_LOG(#cmd " with " #extra ": %d [%s]", __ret,	\
			       (self)->nl.ext_msg);				\
		}								\
		EXPECT_NE(0, (self)->nl.ext_msg[0]) {				\
			TH_LOG(#cmd " with " #extra ": no extended ack");	\
		}								\
	} while (0)

TEST_F(bad, attribute_of_another_command)
{
	struct vbst_devinfo di;
	struct vbst_vminfo vi;

	ASSERT_EQ(0, vbst_dev_add(&self->nl, &self->d));
	/* Each command's own attributes plus one it does not read. */
	EXPECT_FOREIGN_REFUSED(self, VBRIDGE_CMD_DEV_DEL, true, VBRIDGE_A_NODE_MODE);
	EXPECT_FOREIGN_REFUSED(self, VBRIDGE_CMD_DEV_DEL, true, VBRIDGE_A_VMM_UID);
	EXPECT_FOREIGN_REFUSED(self, VBRIDGE_CMD_DEV_SET, true, VBRIDGE_A_NODE_MODE);
	EXPECT_FOREIGN_REFUSED(self, VBRIDGE_CMD_DEV_SET, true, VBRIDGE_A_PROVIDER_UID);
	EXPECT_FOREIGN_REFUSED(self, VBRIDGE_CMD_DEV_GET, true, VBRIDGE_A_BACKEND_VMID);
	EXPECT_FOREIGN_REFUSED(self, VBRIDGE_CMD_VM_GET, false, VBRIDGE_A_VMM_UID);
	EXPECT_FOREIGN_REFUSED(self, VBRIDGE_CMD_VM_SET, false, VBRIDGE_A_NODE_MODE);
	EXPECT_FOREIGN_REFUSED(self, VBRIDGE_CMD_VM_SET, true, VBRIDGE_A_PROVIDER_GID);
	/* What only the module sends, or only DEV_SET reads: not in DEV_ADD. */
	self->d.name = "other";
	self->d.windows[0].addr = 0x20000000;
	self->d.windows[1].addr = VBST_BAR_ADDR + 0x200000;
	EXPECT_EQ(-EINVAL, add_with(&self->nl, &self->d, VBRIDGE_A_DEV_STATE)) {
		TH_LOG("DEV_ADD with DEV_STATE: [%s]", self->nl.ext_msg);
	}
	EXPECT_EQ(-EINVAL, add_with(&self->nl, &self->d, VBRIDGE_A_VMM_UID)) {
		TH_LOG("DEV_ADD with VMM_UID: [%s]", self->nl.ext_msg);
	}
	EXPECT_EQ(-EINVAL, add_with(&self->nl, &self->d, VBRIDGE_A_CLEAR_OVERRIDES)) {
		TH_LOG("DEV_ADD with CLEAR_OVERRIDES: [%s]", self->nl.ext_msg);
	}
	EXPECT_FALSE(vbst_be_exists(VBST_VMID, "other"));
	/* Nothing was done: the device is there, without an override... */
	EXPECT_EQ(1, dev_count(&self->nl));
	ASSERT_EQ(0, vbst_dev_get(&self->nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_FALSE(di.has_retry_timeout_ms);
	/* ... and its vmid without an owner (no VM runs: no VM to get). */
	EXPECT_FALSE(di.has_vmm_uid);
	EXPECT_EQ(-ENOENT, vbst_vm_get(&self->nl, VBST_VMID, &vi));
	/* The same requests without the foreign attribute work. */
	EXPECT_EQ(0, vbst_dev_add(&self->nl, &self->d));
	EXPECT_EQ(0, vbst_dev_del(&self->nl, VBST_VMID, VBST_NAME));
	EXPECT_EQ(1, dev_count(&self->nl));
}

TEST_HARNESS_MAIN
