// SPDX-License-Identifier: GPL-2.0
/*
 * Access forwarding: loads wait for the backend's reply, stores are posted
 * in order and a later load orders behind them, the request carries the
 * right window/offset/length, a backend's error reads as all-ones, and a
 * request lost by its backend (closed, or VM stopped, with the request read
 * but unanswered) fails the access, marks the device broken and hangs
 * nothing, and so does one unanswered for inflight_timeout_ms.  Many loads
 * in flight at once are each answered with their own reply, in any order.
 */
#include "kselftest_harness.h"
#include "vbst_dev.h"

FIXTURE(fwd) {
	struct vbst_world w;
};

FIXTURE_SETUP(fwd)
{
	vbst_world_init(&self->w);
	ASSERT_EQ(0, vbst_world_unserved(&self->w, "vmstop_timeout=1 retry_timeout_ms=0")) {
		TH_LOG("%s", vbst_why);
	}
}

FIXTURE_TEARDOWN(fwd)
{
	vbst_world_fini(&self->w);
	EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

TEST_F(fwd, loads_of_every_length)
{
	static const uint32_t lens[] = { 1, 2, 4, 8 };
	struct vbridge_msg *m;
	uint64_t v, addr;
	int32_t res;
	unsigned int i;

	ASSERT_EQ(0, vbst_server_start(&self->w.srv, self->w.be));
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		addr = VBST_BAR_ADDR + 0x100 + 8 * i;
		v = 0;
		res = 1;
		ASSERT_EQ(0, vbst_guest_read(self->w.fe, addr, lens[i], &v, &res));
		EXPECT_EQ(0, res);
		EXPECT_EQ(vbst_pattern(addr, lens[i]), v) {
			TH_LOG("len %u", lens[i]);
		}
	}
	ASSERT_EQ(4, self->w.srv.nlog);
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		m = &self->w.srv.log[i];
		EXPECT_EQ(VBRIDGE_MSG_LOAD, m->type);
		EXPECT_EQ(sizeof(*m), m->size);
		EXPECT_EQ(VBST_BAR_ADDR + 0x100 + 8 * i, m->addr);
		EXPECT_EQ(0x100 + 8 * i, m->offset);
		EXPECT_EQ(1, m->window);
		EXPECT_EQ(lens[i], m->len);
		EXPECT_EQ(VBST_VMID, m->vmid);
		EXPECT_EQ(0, m->reserved0 | m->reserved[0]);
	}
	/* Request ids are unique. */
	EXPECT_NE(self->w.srv.log[0].id, self->w.srv.log[1].id);
	EXPECT_NE(self->w.srv.log[2].id, self->w.srv.log[3].id);
}

TEST_F(fwd, config_window_is_window_zero)
{
	uint64_t v;
	int32_t res;

	ASSERT_EQ(0, vbst_server_start(&self->w.srv, self->w.be));
	/* Bus 1, device 2, function 0, register 0x10 of the ECAM window. */
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_ECAM_ADDR + 0x110010, 4, &v, &res));
	EXPECT_EQ(0, res);
	ASSERT_EQ(1, self->w.srv.nlog);
	EXPECT_EQ(0, self->w.srv.log[0].window);
	EXPECT_EQ(0x110010, self->w.srv.log[0].offset);
	/* Last bytes of the window. */
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_ECAM_ADDR + VBST_ECAM_SIZE - 4, 4,
				     &v, &res));
	EXPECT_EQ(0, res);
	EXPECT_EQ(VBST_ECAM_SIZE - 4, self->w.srv.log[1].offset);
}

TEST_F(fwd, store_is_delivered)
{
	int32_t res = 1;

	ASSERT_EQ(0, vbst_guest_write(self->w.fe, VBST_BAR_ADDR + 0x3000, 2, 0xbeef, &res));
	EXPECT_EQ(0, res);
	ASSERT_EQ(0, vbst_server_start(&self->w.srv, self->w.be));
	ASSERT_EQ(0, vbst_server_wait(&self->w.srv, 1, VBST_SOON_MS));
	EXPECT_EQ(VBRIDGE_MSG_STORE, self->w.srv.log[0].type);
	EXPECT_EQ(VBST_BAR_ADDR + 0x3000, self->w.srv.log[0].addr);
	EXPECT_EQ(0x3000, self->w.srv.log[0].offset);
	EXPECT_EQ(1, self->w.srv.log[0].window);
	EXPECT_EQ(2, self->w.srv.log[0].len);
	EXPECT_EQ(0xbeef, self->w.srv.log[0].data);
}

TEST_F(fwd, stores_posted_in_order_before_a_load)
{
	struct vbridge_msg m[8];
	struct vbst_async a;
	int32_t res;
	ssize_t n;
	int i;

	/* Nobody reads the node: the stores still return at once. */
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, vbst_guest_write(self->w.fe, VBST_BAR_ADDR + 4 * i, 4, 0x100 + i,
					      &res));
		EXPECT_EQ(0, res);
	}
	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR + 0x40, 4, false, 0));
	/* Everything comes in guest order, the load last. */
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(1, vbst_be_read(self->w.be, &m[i], VBST_SOON_MS));
		if (i < 3) {
			EXPECT_EQ(VBRIDGE_MSG_STORE, m[i].type);
			EXPECT_EQ(0x100 + i, m[i].data);
			EXPECT_EQ(VBST_BAR_ADDR + 4 * i, m[i].addr);
		}
	}
	ASSERT_EQ(VBRIDGE_MSG_LOAD, m[3].type);
	EXPECT_EQ(VBST_BAR_ADDR + 0x40, m[3].addr);
	EXPECT_FALSE(vbst_async_done(&a));
	ASSERT_EQ(0, vbst_be_reply(self->w.be, VBRIDGE_REPLY_LOAD, m[3].id, 0x55, 0));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS));
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(0, a.acc.result);
	EXPECT_EQ(0x55, a.acc.data);
	/* Nothing else is queued. */
	ASSERT_EQ(0, fcntl(self->w.be, F_SETFL, O_NONBLOCK));
	n = read(self->w.be, m, sizeof(m));
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(fwd, read_returns_several_messages)
{
	struct vbridge_msg m[4];
	int32_t res;
	ssize_t n;
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, vbst_guest_write(self->w.fe, VBST_BAR_ADDR, 1, i, &res));
	n = read(self->w.be, m, sizeof(m));
	ASSERT_EQ(3 * sizeof(m[0]), n);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(i, m[i].data);
}

/*
 * More loads in flight than the module has buckets for their ids, answered
 * in reverse order: each vCPU thread gets its own reply, and a reply
 * finishes only the load it names.
 */
TEST_F(fwd, many_loads_in_flight_answered_out_of_order)
{
	enum { N = 80 };
	struct vbst_async *a = calloc(N, sizeof(*a));
	struct vbridge_msg *m = calloc(N, sizeof(*m));
	unsigned int got = 0, i, j, k;
	ssize_t n;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, m);
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, vbst_async_start(&a[i], self->w.fe,
					      VBST_BAR_ADDR + 8 * i, 8, false, 0));
	while (got < N) {
		ASSERT_EQ(1, vbst_be_read(self->w.be, &m[got], VBST_SOON_MS)) {
			TH_LOG("%u of %u loads read", got, N);
		}
		n = read(self->w.be, &m[got + 1], (N - got - 1) * sizeof(*m));
		got += 1 + (n > 0 ? n / sizeof(*m) : 0);
	}
	for (i = 0; i < N; i++)
		ASSERT_EQ(VBRIDGE_MSG_LOAD, m[i].type);
	for (k = 0; k < N; k++) {
		i = N - 1 - k;
		ASSERT_EQ(0, vbst_be_reply(self->w.be, VBRIDGE_REPLY_LOAD, m[i].id,
					   ~m[i].addr, 0));
		j = (m[i].addr - VBST_BAR_ADDR) / 8;
		ASSERT_EQ(0, vbst_async_join(&a[j], VBST_SOON_MS));
		EXPECT_EQ(0, a[j].ret);
		EXPECT_EQ(0, a[j].acc.result);
		EXPECT_EQ(~a[j].acc.addr, a[j].acc.data);
		/* The loads not answered yet are still waiting. */
		for (i = 0; i < N - 1 - k; i++)
			EXPECT_FALSE(vbst_async_done(&a[(m[i].addr - VBST_BAR_ADDR) / 8]));
	}
	/* Every id was answered once: none is in flight any more. */
	EXPECT_EQ(-ENOENT, vbst_be_reply(self->w.be, VBRIDGE_REPLY_LOAD, m[0].id, 0, 0));
	free(m);
	free(a);
}

TEST_F(fwd, load_value_is_truncated_to_its_length)
{
	struct vbridge_msg m;
	struct vbst_async a;

	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR, 2, false, 0));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_LOAD, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_reply(self->w.be, VBRIDGE_REPLY_LOAD, m.id, 0x1122334455667788ULL, 0));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS));
	EXPECT_EQ(0x7788, a.acc.data);
}

TEST_F(fwd, backend_error_reads_all_ones)
{
	struct vbst_devinfo di;
	struct vbridge_msg m;
	struct vbst_async a;

	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR, 4, false, 0));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_LOAD, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_reply(self->w.be, VBRIDGE_REPLY_LOAD, m.id, 0x42, -EIO));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS));
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(-EIO, a.acc.result);
	EXPECT_EQ(~0ULL, a.acc.data);
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(1, di.stats[VBRIDGE_STAT_FAILED]);
	/* An answered error is not a lost request. */
	EXPECT_EQ(0, di.state & VBRIDGE_DEV_S_BROKEN);
}

TEST_F(fwd, lost_request_on_backend_close_marks_broken)
{
	struct vbst_evbuf *eb = calloc(1, sizeof(*eb));
	struct vbridge_backend_info bi;
	struct vbridge_device_info fdi;
	struct vbst_devinfo di;
	struct vbridge_msg m;
	struct vbst_async a;
	struct vbst_nl sub;
	uint64_t v;
	int32_t res;

	ASSERT_NE(NULL, eb);
	ASSERT_EQ(0, vbst_nl_open(&sub));
	ASSERT_EQ(0, vbst_nl_subscribe(&sub));
	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR + 8, 4, false, 0));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_LOAD, &m, VBST_SOON_MS));
	/* The provider dies with the request read and unanswered. */
	close(self->w.be);
	self->w.be = -1;
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS)) {
		TH_LOG("the load hangs after its backend closed");
	}
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(-EIO, a.acc.result);
	EXPECT_EQ(~0ULL, a.acc.data);
	/* Broken, for netlink, the VMM and the event listeners alike. */
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_TRUE(di.state & VBRIDGE_DEV_S_BROKEN);
	EXPECT_EQ(0, di.state & VBRIDGE_DEV_S_OPEN);
	ASSERT_EQ(0, vbst_fe_get_device(self->w.fe, self->w.dev.index, &fdi));
	EXPECT_TRUE(fdi.state & VBRIDGE_DEV_S_BROKEN);
	EXPECT_EQ(1, vbst_event_wait(&sub, eb, VBRIDGE_EV_DEV_BROKEN, VBST_VMID, VBST_NAME,
				     NULL, VBST_SOON_MS));
	/* The VM keeps running: with no backend, accesses fail at once. */
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_BAR_ADDR, 4, &v, &res));
	EXPECT_EQ(-ETIMEDOUT, res);
	/* A new provider finds the device broken; its late reply is unknown. */
	self->w.be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	ASSERT_LE(0, self->w.be);
	ASSERT_EQ(0, vbst_be_info(self->w.be, &bi));
	EXPECT_TRUE(bi.state & VBRIDGE_DEV_S_BROKEN);
	EXPECT_EQ(-ENOENT, vbst_be_reply(self->w.be, VBRIDGE_REPLY_LOAD, m.id, 0, 0));
	/* Until it resets the device. */
	ASSERT_EQ(0, ioctl(self->w.be, VBRIDGE_BE_RESET));
	ASSERT_EQ(0, vbst_be_info(self->w.be, &bi));
	EXPECT_EQ(0, bi.state & VBRIDGE_DEV_S_BROKEN);
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(0, di.state & VBRIDGE_DEV_S_BROKEN);
	vbst_nl_close(&sub);
	free(eb);
}

TEST_F(fwd, lost_request_on_vm_stop_marks_broken)
{
	struct vbst_devinfo di;
	uint64_t load_id;
	struct vbridge_msg m;
	struct vbst_async a;

	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR + 8, 4, false, 0));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_LOAD, &m, VBST_SOON_MS));
	load_id = m.id;
	ASSERT_EQ(0, ioctl(self->w.fe, VBRIDGE_STOP));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS)) {
		TH_LOG("the load hangs after VBRIDGE_STOP");
	}
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(-ESHUTDOWN, a.acc.result);
	EXPECT_EQ(~0ULL, a.acc.data);
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_TRUE(di.state & VBRIDGE_DEV_S_BROKEN);
	/* The backend hears of the stop; its late answer is unknown. */
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	EXPECT_EQ(-ENOENT, vbst_be_reply(self->w.be, VBRIDGE_REPLY_LOAD, load_id, 0, 0));
}

TEST_F(fwd, accesses_after_stop_fail_at_once)
{
	struct vbridge_msg m;
	uint64_t v = 0;
	int32_t res = 0;

	ASSERT_EQ(0, ioctl(self->w.fe, VBRIDGE_STOP));
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_BAR_ADDR, 8, &v, &res));
	EXPECT_EQ(-ESHUTDOWN, res);
	EXPECT_EQ(~0ULL, v);
	ASSERT_EQ(0, vbst_guest_write(self->w.fe, VBST_BAR_ADDR, 4, 1, &res));
	EXPECT_EQ(-ESHUTDOWN, res);
	/* Only the VMSTOP reaches the backend. */
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	EXPECT_EQ(0, vbst_be_read(self->w.be, &m, 200));
}

/* A child VMM blocked in a load whose backend never answers dies on SIGKILL. */
TEST_F(fwd, blocked_load_is_killable)
{
	struct vbridge_msg m;
	pid_t pid;
	uint64_t v;
	int32_t res;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		vbst_guest_read(self->w.fe, VBST_BAR_ADDR, 4, &v, &res);
		_exit(0);
	}
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_LOAD, &m, VBST_SOON_MS));
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, vbst_wait_child(pid, VBST_SOON_MS));
	/* The parent's VM is still usable once the request is answered. */
	/* Its request is answered or already gone; either is fine here. */
	(void)vbst_be_reply(self->w.be, VBRIDGE_REPLY_LOAD, m.id, 1, 0);
	ASSERT_EQ(0, vbst_server_start(&self->w.srv, self->w.be));
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_BAR_ADDR + 4, 4, &v, &res));
	EXPECT_EQ(0, res);
	EXPECT_EQ(vbst_pattern(VBST_BAR_ADDR + 4, 4), v);
}

TEST_F(fwd, read_returns_at_most_32_messages)
{
	struct vbridge_msg *m = calloc(64, sizeof(*m));
	int32_t res;
	ssize_t n;
	int i;

	ASSERT_NE(NULL, m);
	for (i = 0; i < 40; i++)
		ASSERT_EQ(0, vbst_guest_write(self->w.fe, VBST_BAR_ADDR, 4, i, &res));
	n = read(self->w.be, m, 64 * sizeof(*m));
	EXPECT_EQ(32 * sizeof(*m), n);
	n = read(self->w.be, m, 64 * sizeof(*m));
	EXPECT_EQ(8 * sizeof(*m), n);
	EXPECT_EQ(39, m[7].data);
	free(m);
}

TEST_F(fwd, unread_requests_survive_a_backend_restart)
{
	struct vbridge_msg m;
	int32_t res;

	ASSERT_EQ(0, vbst_guest_write(self->w.fe, VBST_BAR_ADDR + 0x20, 4, 0xfeed, &res));
	EXPECT_EQ(0, res);
	/* The provider restarts without having read the store. */
	close(self->w.be);
	self->w.be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	ASSERT_LE(0, self->w.be);
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_STORE, &m, VBST_SOON_MS));
	EXPECT_EQ(0xfeed, m.data);
	EXPECT_EQ(VBST_BAR_ADDR + 0x20, m.addr);
}

TEST_F(fwd, full_queue_makes_callers_wait)
{
	struct vbridge_msg *m = calloc(32, sizeof(*m));
	struct vbst_async a;
	int32_t res;
	int i;

	ASSERT_NE(NULL, m);
	/* 256 unread requests fill the device's queue... */
	for (i = 0; i < 256; i++) {
		ASSERT_EQ(0, vbst_guest_write(self->w.fe, VBST_BAR_ADDR, 4, i, &res));
		ASSERT_EQ(0, res);
	}
	/* ...the next store waits for room, it is not dropped... */
	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR, 4, true, 256));
	vbst_sleep_ms(300);
	EXPECT_FALSE(vbst_async_done(&a));
	/* ...and gets in once the backend reads. */
	ASSERT_LT(0, read(self->w.be, m, 32 * sizeof(*m)));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS));
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(0, a.acc.result);
	/* Nothing lost: 257 stores in order. */
	for (i = 32; i < 257; i += 32) {
		ssize_t n = read(self->w.be, m, 32 * sizeof(*m));

		ASSERT_LT(0, n);
		EXPECT_EQ(i, m[0].data);
	}
	free(m);
}

TEST_F(fwd, broken_is_cleared_by_the_next_vmstart)
{
	struct vbst_devinfo di;
	struct vbridge_msg m;
	struct vbst_async a;

	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR, 4, false, 0));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_LOAD, &m, VBST_SOON_MS));
	close(self->w.be);
	self->w.be = -1;
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	ASSERT_TRUE(di.state & VBRIDGE_DEV_S_BROKEN);
	/* The VM restarts (no backend open: released at once). */
	close(self->w.fe);
	self->w.fe = -1;
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(0, di.state & VBRIDGE_DEV_S_BROKEN);
}

/*
 * inflight_timeout_ms: a load the backend read and never answers fails
 * with -EIO and makes the device broken, as a lost one does; 0, the
 * default, waits for the answer; a new value reaches loads already
 * waiting.
 */
TEST_F(fwd, unanswered_load_fails_after_inflight_timeout)
{
	struct vbst_evbuf *eb = calloc(1, sizeof(*eb));
	struct vbst_devinfo di;
	struct vbridge_msg m, m2;
	struct vbst_async a;
	struct vbst_nl sub;
	char buf[32];
	uint64_t t0;

	ASSERT_NE(NULL, eb);
	ASSERT_EQ(0, vbst_nl_open(&sub));
	ASSERT_EQ(0, vbst_nl_subscribe(&sub));
	/* The default: read, unanswered, still waiting. */
	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR + 8, 4, false, 0));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_LOAD, &m, VBST_SOON_MS));
	EXPECT_EQ(-ETIMEDOUT, vbst_async_join(&a, 500)) {
		TH_LOG("a read load ended without its answer and without a timeout");
	}
	/* Read over 200 ms ago: the new value fails it at once. */
	ASSERT_EQ(0, vbst_write_file(VBRIDGE_PARAM_DIR "inflight_timeout_ms", "200"));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS)) {
		TH_LOG("the load still waits with inflight_timeout_ms=200");
	}
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(-EIO, a.acc.result);
	EXPECT_EQ(~0ULL, a.acc.data);
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_TRUE(di.state & VBRIDGE_DEV_S_BROKEN);
	EXPECT_TRUE(di.state & VBRIDGE_DEV_S_OPEN);
	EXPECT_EQ(1, vbst_event_wait(&sub, eb, VBRIDGE_EV_DEV_BROKEN, VBST_VMID, VBST_NAME,
				     NULL, VBST_SOON_MS));
	/* Its late answer is one the module no longer wants. */
	EXPECT_EQ(-ENOENT, vbst_be_reply(self->w.be, VBRIDGE_REPLY_LOAD, m.id, 0, 0));
	/* A broken device still serves: an answer in time is taken. */
	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR + 8, 4, false, 0));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_LOAD, &m2, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_reply(self->w.be, VBRIDGE_REPLY_LOAD, m2.id, 0x1234, 0));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS));
	EXPECT_EQ(0, a.acc.result);
	EXPECT_EQ(0x1234, a.acc.data);
	/* Unanswered: it fails, and not before its time (jiffies: 150 ms). */
	t0 = vbst_now_ms();
	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR + 8, 4, false, 0));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_LOAD, &m2, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS));
	EXPECT_GE(vbst_now_ms() - t0, 150);
	EXPECT_EQ(-EIO, a.acc.result);
	/* Out of range is refused; the value stays. */
	EXPECT_EQ(-EINVAL, vbst_write_file(VBRIDGE_PARAM_DIR "inflight_timeout_ms", "3600001"));
	EXPECT_EQ(-EINVAL, vbst_write_file(VBRIDGE_PARAM_DIR "inflight_timeout_ms", "-1"));
	EXPECT_STREQ("200", vbst_param("inflight_timeout_ms", buf, sizeof(buf)));
	vbst_nl_close(&sub);
	free(eb);
}

/* A device's own inflight_timeout_ms, over netlink, beats the module's. */
TEST_F(fwd, inflight_timeout_per_device)
{
	struct vbst_override o = { .has_inflight = true, .inflight_timeout_ms = 200 };
	struct vbst_devinfo di;
	struct vbridge_msg m;
	struct vbst_async a;
	int ret;

	/* Waiting under the module's 0: the device's value reaches it. */
	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR + 8, 4, false, 0));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_LOAD, &m, VBST_SOON_MS));
	EXPECT_EQ(-ETIMEDOUT, vbst_async_join(&a, 300));
	ASSERT_EQ(0, vbst_dev_set(&self->w.nl, VBST_VMID, VBST_NAME, &o));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS)) {
		TH_LOG("the load still waits with the device's inflight_timeout_ms=200");
	}
	EXPECT_EQ(-EIO, a.acc.result);
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_TRUE(di.state & VBRIDGE_DEV_S_BROKEN);
	EXPECT_TRUE(di.has_inflight_timeout_ms);
	EXPECT_EQ(200, di.eff_inflight_timeout_ms);
	/* Out of range: the policy refuses it, the value stays. */
	o.inflight_timeout_ms = 3600001;
	ret = vbst_dev_set(&self->w.nl, VBST_VMID, VBST_NAME, &o);
	EXPECT_TRUE(ret == -ERANGE || ret == -EINVAL) {
		TH_LOG("inflight_timeout_ms=3600001: %d [%s]", ret, self->w.nl.ext_msg);
	}
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(200, di.eff_inflight_timeout_ms);
	/* The device's 0 beats the module's 100: the load waits again. */
	ASSERT_EQ(0, vbst_write_file(VBRIDGE_PARAM_DIR "inflight_timeout_ms", "100"));
	o.inflight_timeout_ms = 0;
	ASSERT_EQ(0, vbst_dev_set(&self->w.nl, VBST_VMID, VBST_NAME, &o));
	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR + 8, 4, false, 0));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_LOAD, &m, VBST_SOON_MS));
	EXPECT_EQ(-ETIMEDOUT, vbst_async_join(&a, 400));
	ASSERT_EQ(0, vbst_be_reply(self->w.be, VBRIDGE_REPLY_LOAD, m.id, 0x77, 0));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS));
	EXPECT_EQ(0, a.acc.result);
	EXPECT_EQ(0x77, a.acc.data);
}

TEST_HARNESS_MAIN
