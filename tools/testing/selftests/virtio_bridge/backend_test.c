// SPDX-License-Identifier: GPL-2.0
/*
 * The backend node /dev/virtio/vm<N>/<name> as a device provider uses it:
 * one opener, BE_GET_INFO, readiness, the message and reply formats and
 * every malformed read, write and ioctl refused with its errno, and the
 * device-state blob that survives a close and reopen.
 */
#include "kselftest_harness.h"
#include "vbst_dev.h"

FIXTURE(be) {
	struct vbst_world w;
};

FIXTURE_SETUP(be)
{
	vbst_world_init(&self->w);
	ASSERT_EQ(0, vbst_load("vmstop_timeout=1 retry_timeout_ms=0"));
	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 4)) {
		TH_LOG("%s", vbst_why);
	}
	self->w.be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	ASSERT_LE(0, self->w.be) {
		TH_LOG("%s", vbst_why);
	}
}

FIXTURE_TEARDOWN(be)
{
	vbst_world_fini(&self->w);
	EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

static ssize_t write_replies(int be, const struct vbridge_reply *r, size_t n)
{
	ssize_t ret = write(be, r, n * sizeof(*r));

	return ret < 0 ? -errno : ret;
}

/* Start the VM and a load that waits for the backend; read its request. */
static int pending_load(struct vbst_world *w, struct vbst_async *a, struct vbridge_msg *m)
{
	int ret;

	ret = vbst_world_start_vm(w, VBST_VMID, VBST_NAME);
	if (ret)
		return ret;
	ret = vbst_be_expect(w->be, VBRIDGE_MSG_VMSTART, m, VBST_SOON_MS);
	if (ret)
		return ret;
	ret = vbst_be_set_ready(w->be, 1);
	if (ret)
		return vbst_fail(ret, "BE_SET_READY");
	ret = vbst_async_start(a, w->fe, VBST_BAR_ADDR + 0x10, 4, false, 0);
	if (ret)
		return ret;
	return vbst_be_expect(w->be, VBRIDGE_MSG_LOAD, m, VBST_SOON_MS);
}

TEST_F(be, one_opener)
{
	EXPECT_EQ(-EBUSY, vbst_be_open(VBST_VMID, VBST_NAME, 0));
	close(self->w.be);
	self->w.be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	EXPECT_LE(0, self->w.be);
}

TEST_F(be, api_version_and_unknown_ioctls)
{
	EXPECT_EQ(VBRIDGE_API_VERSION, ioctl(self->w.be, VBRIDGE_GET_API_VERSION));
	EXPECT_EQ(-1, ioctl(self->w.be, _IO(VBRIDGE_IOCTL_MAGIC, 0x3f)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->w.be, _IO('T', 0x01)));
	EXPECT_EQ(ENOTTY, errno);
	/* A frontend ioctl on a backend node. */
	EXPECT_EQ(-1, ioctl(self->w.be, VBRIDGE_STOP));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(be, info_without_vm)
{
	struct vbridge_backend_info bi;

	memset(&bi, 0xff, sizeof(bi));
	ASSERT_EQ(0, ioctl(self->w.be, VBRIDGE_BE_GET_INFO, &bi));
	EXPECT_EQ(VBRIDGE_API_VERSION, bi.api_version);
	EXPECT_STREQ(VBST_NAME, bi.name);
	EXPECT_EQ(VBST_VMID, bi.vmid);
	EXPECT_EQ(VBST_BE_VMID, bi.backend_vmid);
	EXPECT_EQ(VBRIDGE_DEV_S_OPEN, bi.state);
	ASSERT_EQ(2, bi.nr_windows);
	EXPECT_EQ(VBST_ECAM_ADDR, bi.windows[0].addr);
	EXPECT_EQ(VBST_BAR_SIZE, bi.windows[1].size);
	ASSERT_EQ(4, bi.nr_irqs);
	EXPECT_EQ(VBST_FIRST_SPI + 3, bi.irqs[3].num);
	EXPECT_EQ(0, bi.nr_regions);
	EXPECT_EQ(0, bi.generation);
	/* Every byte was written: unused slots and reserved words are zero. */
	EXPECT_EQ(0, bi.windows[2].addr);
	EXPECT_EQ(0, bi.irqs[4].num);
	EXPECT_EQ(0, bi.regions[0].size);
	EXPECT_EQ(0, bi.poll_us | bi.reserved[0] | bi.reserved[1]);
	EXPECT_EQ(0, bi.name[VBRIDGE_NAME_MAX - 1]);
}

TEST_F(be, info_with_vm)
{
	struct vbridge_backend_info bi;

	ASSERT_EQ(0, vbst_be_set_ready(self->w.be, 1));
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_be_info(self->w.be, &bi));
	EXPECT_EQ(self->w.dev.id, bi.id);
	EXPECT_EQ(self->w.att.generation, bi.generation);
	EXPECT_EQ(VBRIDGE_DEV_S_OPEN | VBRIDGE_DEV_S_READY | VBRIDGE_DEV_S_RUNNING, bi.state);
	ASSERT_EQ(1, bi.nr_regions);
	EXPECT_EQ(VBST_RAM_GPA, bi.regions[0].addr);
	EXPECT_EQ(VBST_RAM_SIZE, bi.regions[0].size);
}

TEST_F(be, set_ready_values)
{
	struct vbridge_backend_info bi;

	EXPECT_EQ(-EINVAL, vbst_be_set_ready(self->w.be, 2));
	ASSERT_EQ(0, vbst_be_info(self->w.be, &bi));
	EXPECT_EQ(0, bi.state & VBRIDGE_DEV_S_READY);
	EXPECT_EQ(0, vbst_be_set_ready(self->w.be, 1));
	ASSERT_EQ(0, vbst_be_info(self->w.be, &bi));
	EXPECT_TRUE(bi.state & VBRIDGE_DEV_S_READY);
	EXPECT_EQ(0, vbst_be_set_ready(self->w.be, 0));
	ASSERT_EQ(0, vbst_be_info(self->w.be, &bi));
	EXPECT_EQ(0, bi.state & VBRIDGE_DEV_S_READY);
}

TEST_F(be, read_needs_room_for_a_message)
{
	struct vbridge_msg m[2];
	ssize_t n;

	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME));
	/* VMSTART is pending; a short buffer must not eat it. */
	n = read(self->w.be, m, sizeof(m[0]) - 1);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EINVAL, errno);
	/* One and a half messages of room: one message. */
	n = read(self->w.be, m, sizeof(m[0]) + sizeof(m[0]) / 2);
	ASSERT_EQ(sizeof(m[0]), n);
	EXPECT_EQ(VBRIDGE_MSG_VMSTART, m[0].type);
	EXPECT_EQ(sizeof(m[0]), m[0].size);
	EXPECT_EQ(self->w.att.generation, m[0].id);
	EXPECT_EQ(VBST_VMID, m[0].vmid);
	EXPECT_EQ(0, m[0].reserved0);
	EXPECT_EQ(0, m[0].reserved[0]);
}

TEST_F(be, read_nonblocking_when_empty)
{
	struct vbridge_msg m;
	int fl = fcntl(self->w.be, F_GETFL);
	struct pollfd p = { .fd = self->w.be, .events = POLLIN };

	ASSERT_EQ(0, fcntl(self->w.be, F_SETFL, fl | O_NONBLOCK));
	EXPECT_EQ(-1, read(self->w.be, &m, sizeof(m)));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, poll(&p, 1, 0));
}

TEST_F(be, write_malformed_replies)
{
	struct vbridge_msg m;
	struct vbst_async a;
	struct vbridge_reply r;

	ASSERT_EQ(0, pending_load(&self->w, &a, &m)) {
		TH_LOG("%s", vbst_why);
	}
	memset(&r, 0, sizeof(r));
	r.type = VBRIDGE_REPLY_LOAD;
	r.size = sizeof(r);
	r.id = m.id;
	r.data = 0x1234;
	/* Not a whole reply. */
	EXPECT_EQ(-1, write(self->w.be, &r, sizeof(r) - 1));
	EXPECT_EQ(EINVAL, errno);
	r.type = 77;
	EXPECT_EQ(-EINVAL, write_replies(self->w.be, &r, 1));
	r.type = VBRIDGE_REPLY_LOAD;
	r.size = sizeof(r) + 8;
	EXPECT_EQ(-EINVAL, write_replies(self->w.be, &r, 1));
	r.size = sizeof(r);
	r.reserved0 = 1;
	EXPECT_EQ(-EINVAL, write_replies(self->w.be, &r, 1));
	r.reserved0 = 0;
	/* A result is 0 or a negative errno. */
	r.result = 1;
	EXPECT_EQ(-EINVAL, write_replies(self->w.be, &r, 1));
	r.result = -4096;
	EXPECT_EQ(-EINVAL, write_replies(self->w.be, &r, 1));
	r.result = 0;
	/* None of them completed the load. */
	EXPECT_FALSE(vbst_async_done(&a));
	EXPECT_EQ(sizeof(r), write_replies(self->w.be, &r, 1));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS));
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(0, a.acc.result);
	EXPECT_EQ(0x1234, a.acc.data);
}

TEST_F(be, reply_unknown_or_answered_id)
{
	struct vbridge_msg m;
	struct vbst_async a;

	ASSERT_EQ(0, pending_load(&self->w, &a, &m)) {
		TH_LOG("%s", vbst_why);
	}
	EXPECT_EQ(-ENOENT, vbst_be_reply(self->w.be, VBRIDGE_REPLY_LOAD, m.id + 1000, 1, 0));
	EXPECT_FALSE(vbst_async_done(&a));
	ASSERT_EQ(0, vbst_be_reply(self->w.be, VBRIDGE_REPLY_LOAD, m.id, 0xabcd, 0));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS));
	EXPECT_EQ(0xabcd, a.acc.data);
	/* Twice for the same request. */
	EXPECT_EQ(-ENOENT, vbst_be_reply(self->w.be, VBRIDGE_REPLY_LOAD, m.id, 0xabcd, 0));
}

TEST_F(be, write_stops_at_first_invalid_reply)
{
	struct vbridge_reply r[2];
	struct vbridge_msg m;
	struct vbst_async a;

	ASSERT_EQ(0, pending_load(&self->w, &a, &m)) {
		TH_LOG("%s", vbst_why);
	}
	memset(r, 0, sizeof(r));
	r[0].type = VBRIDGE_REPLY_LOAD;
	r[0].size = sizeof(r[0]);
	r[0].id = m.id;
	r[0].data = 0x77;
	r[1] = r[0];
	r[1].type = 0;
	EXPECT_EQ(sizeof(r[0]), write_replies(self->w.be, r, 2));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS));
	EXPECT_EQ(0x77, a.acc.data);
}

TEST_F(be, ack_for_a_vm_not_stopping_is_estale)
{
	struct vbridge_msg m;

	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	EXPECT_EQ(-ESTALE, vbst_be_ack(self->w.be, m.id));
	EXPECT_EQ(-ESTALE, vbst_be_ack(self->w.be, m.id + 1));
}

TEST_F(be, ack_without_vm_is_estale)
{
	EXPECT_EQ(-ESTALE, vbst_be_ack(self->w.be, 1));
}

TEST_F(be, reset_clears_nothing_when_healthy)
{
	struct vbridge_backend_info bi;

	EXPECT_EQ(0, ioctl(self->w.be, VBRIDGE_BE_RESET));
	ASSERT_EQ(0, vbst_be_info(self->w.be, &bi));
	EXPECT_EQ(0, bi.state & VBRIDGE_DEV_S_BROKEN);
}

static int set_state(int be, const void *buf, uint32_t len)
{
	struct vbridge_state_blob b = { .buf = (uintptr_t)buf, .len = len };

	return ioctl(be, VBRIDGE_BE_SET_STATE, &b) ? -errno : 0;
}

static int get_state(int be, void *buf, uint32_t *len)
{
	struct vbridge_state_blob b = { .buf = (uintptr_t)buf, .len = *len };
	int ret = ioctl(be, VBRIDGE_BE_GET_STATE, &b) ? -errno : 0;

	*len = b.len;
	return ret;
}

TEST_F(be, state_blob_survives_reopen)
{
	static uint8_t blob[4096], back[8192];
	uint32_t len = sizeof(back);
	unsigned int i;

	for (i = 0; i < sizeof(blob); i++)
		blob[i] = i * 7 + 3;
	/* Nothing stored yet. */
	ASSERT_EQ(0, get_state(self->w.be, back, &len));
	EXPECT_EQ(0, len);
	ASSERT_EQ(0, set_state(self->w.be, blob, sizeof(blob)));
	close(self->w.be);
	self->w.be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	ASSERT_LE(0, self->w.be);
	len = sizeof(back);
	ASSERT_EQ(0, get_state(self->w.be, back, &len));
	ASSERT_EQ(sizeof(blob), len);
	EXPECT_EQ(0, memcmp(blob, back, sizeof(blob)));
	/* Replaced, not appended. */
	ASSERT_EQ(0, set_state(self->w.be, "xyz", 3));
	len = sizeof(back);
	ASSERT_EQ(0, get_state(self->w.be, back, &len));
	EXPECT_EQ(3, len);
	EXPECT_EQ(0, memcmp(back, "xyz", 3));
	/* An empty blob clears it. */
	ASSERT_EQ(0, set_state(self->w.be, NULL, 0));
	len = sizeof(back);
	ASSERT_EQ(0, get_state(self->w.be, back, &len));
	EXPECT_EQ(0, len);
}

TEST_F(be, state_blob_gone_with_device)
{
	uint8_t back[16];
	uint32_t len = sizeof(back);

	ASSERT_EQ(0, set_state(self->w.be, "abc", 3));
	close(self->w.be);
	self->w.be = -1;
	ASSERT_EQ(0, vbst_dev_del(&self->w.nl, VBST_VMID, VBST_NAME));
	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 4));
	self->w.be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	ASSERT_LE(0, self->w.be);
	ASSERT_EQ(0, get_state(self->w.be, back, &len));
	EXPECT_EQ(0, len);
}

TEST_F(be, state_blob_bad_arguments)
{
	static uint8_t big[VBRIDGE_STATE_MAX + 1];
	struct vbridge_state_blob b;
	uint8_t small[4];
	char back[16];
	uint32_t len;

	EXPECT_EQ(-EINVAL, set_state(self->w.be, big, sizeof(big)));
	EXPECT_EQ(0, set_state(self->w.be, big, VBRIDGE_STATE_MAX));
	ASSERT_EQ(0, set_state(self->w.be, "0123456789", 10));
	len = sizeof(small);
	EXPECT_EQ(-ENOSPC, get_state(self->w.be, small, &len));
	EXPECT_EQ(10, len);
	memset(&b, 0, sizeof(b));
	b.buf = (uintptr_t)small;
	b.len = 1;
	b.flags = 1;
	EXPECT_EQ(-1, ioctl(self->w.be, VBRIDGE_BE_SET_STATE, &b));
	EXPECT_EQ(EINVAL, errno);
	b.flags = 0;
	b.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(self->w.be, VBRIDGE_BE_SET_STATE, &b));
	EXPECT_EQ(EINVAL, errno);
	b.reserved[1] = 0;
	b.buf = 8;
	EXPECT_EQ(-1, ioctl(self->w.be, VBRIDGE_BE_SET_STATE, &b));
	EXPECT_EQ(EFAULT, errno);
	/* The failed calls kept the stored blob. */
	len = sizeof(back);
	ASSERT_EQ(0, get_state(self->w.be, back, &len));
	EXPECT_EQ(10, len);
	EXPECT_EQ(0, memcmp(back, "0123456789", 10));
}

TEST_HARNESS_MAIN
