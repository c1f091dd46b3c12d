// SPDX-License-Identifier: GPL-2.0
/*
 * retry_timeout_ms: what an access to a device whose backend is not ready
 * does.  <0 waits until the backend is ready (a signal interrupts it with
 * EINTR and nothing is sent, SIGKILL ends it); 0 fails at once; >0 waits at
 * least that long, then fails.  A failed load reads all-ones with
 * -ETIMEDOUT, a failed store is dropped: it never reaches a backend that
 * becomes ready later.  Per-device overrides beat the module parameter,
 * and a new rule reaches the accesses already waiting.
 */
#include "kselftest_harness.h"
#include "vbst_dev.h"

FIXTURE(retry) {
	struct vbst_world w;
};

FIXTURE_SETUP(retry)
{
	vbst_world_init(&self->w);
}

FIXTURE_TEARDOWN(retry)
{
	vbst_world_fini(&self->w);
	EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

/* Module with params, the standard device, its VM running, no backend. */
static void vm_up(struct __test_metadata *_metadata, struct vbst_world *w,
		  const char *params)
{
	ASSERT_EQ(0, vbst_load(params));
	ASSERT_EQ(0, vbst_world_declare(w, VBST_VMID, VBST_NAME, 1)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_world_start_vm(w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
}

/* Read what is queued on a backend without blocking; count LOAD/STORE. */
static int count_requests(int be)
{
	struct vbridge_msg m;
	int n = 0;

	while (vbst_be_read(be, &m, 0) == 1)
		n += m.type == VBRIDGE_MSG_LOAD || m.type == VBRIDGE_MSG_STORE;
	return n;
}

TEST_F(retry, negative_waits_until_ready)
{
	struct vbridge_msg m;
	struct vbst_async a;

	vm_up(_metadata, &self->w, "retry_timeout_ms=-1");
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, false, false));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR, 4, false, 0));
	vbst_sleep_ms(300);
	/* Open but not ready: the load waits and nothing is queued. */
	EXPECT_FALSE(vbst_async_done(&a));
	EXPECT_EQ(0, vbst_be_read(self->w.be, &m, 0));
	ASSERT_EQ(0, vbst_be_set_ready(self->w.be, 1));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_LOAD, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_reply(self->w.be, VBRIDGE_REPLY_LOAD, m.id, 0x600d, 0));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS));
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(0, a.acc.result);
	EXPECT_EQ(0x600d, a.acc.data);
}

TEST_F(retry, negative_waits_for_a_backend_to_appear)
{
	struct vbst_async a;

	vm_up(_metadata, &self->w, "retry_timeout_ms=-1");
	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR + 4, 4, false, 0));
	vbst_sleep_ms(300);
	EXPECT_FALSE(vbst_async_done(&a));
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, true, true));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS));
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(0, a.acc.result);
	EXPECT_EQ(vbst_pattern(VBST_BAR_ADDR + 4, 4), a.acc.data);
}

TEST_F(retry, negative_wait_interrupted_by_signal)
{
	struct vbridge_msg m;
	struct vbst_async a;
	uint64_t v;
	int32_t res;

	vm_up(_metadata, &self->w, "retry_timeout_ms=-1");
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, false, false));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR, 4, false, 0));
	vbst_sleep_ms(200);
	ASSERT_FALSE(vbst_async_done(&a));
	vbst_async_signal(&a);
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS)) {
		TH_LOG("a signal did not interrupt the wait");
	}
	EXPECT_EQ(-EINTR, a.ret);
	/* Nothing was sent: a backend that becomes ready finds no request. */
	ASSERT_EQ(0, vbst_be_set_ready(self->w.be, 1));
	EXPECT_EQ(0, count_requests(self->w.be));
	/* The VMM repeats the access, which now works. */
	ASSERT_EQ(0, vbst_server_start(&self->w.srv, self->w.be));
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_BAR_ADDR, 4, &v, &res));
	EXPECT_EQ(0, res);
	EXPECT_EQ(vbst_pattern(VBST_BAR_ADDR, 4), v);
	EXPECT_EQ(1, vbst_server_count(&self->w.srv, VBRIDGE_MSG_LOAD));
}

TEST_F(retry, negative_wait_is_killable)
{
	uint64_t v;
	int32_t res;
	pid_t pid;

	vm_up(_metadata, &self->w, "retry_timeout_ms=-1");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		vbst_guest_read(self->w.fe, VBST_BAR_ADDR, 4, &v, &res);
		_exit(0);
	}
	vbst_sleep_ms(200);
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, vbst_wait_child(pid, VBST_SOON_MS));
}

TEST_F(retry, zero_fails_at_once)
{
	struct vbst_devinfo di;
	uint64_t v = 0;
	int32_t res = 0;

	vm_up(_metadata, &self->w, "retry_timeout_ms=0");
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, false, false));
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_BAR_ADDR, 4, &v, &res));
	EXPECT_EQ(-ETIMEDOUT, res);
	EXPECT_EQ(~0ULL, v);
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_BAR_ADDR, 1, &v, &res));
	EXPECT_EQ(-ETIMEDOUT, res);
	EXPECT_EQ(~0ULL, v);
	ASSERT_EQ(0, vbst_guest_write(self->w.fe, VBST_BAR_ADDR, 4, 0x5151, &res));
	EXPECT_TRUE(res == 0 || res == -ETIMEDOUT) {
		TH_LOG("dropped store: result %d", res);
	}
	/* The dropped store never reaches the backend once it is ready. */
	ASSERT_EQ(0, vbst_be_set_ready(self->w.be, 1));
	EXPECT_EQ(0, count_requests(self->w.be));
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(3, di.stats[VBRIDGE_STAT_TIMEDOUT]);
	EXPECT_EQ(0, di.stats[VBRIDGE_STAT_COMPLETED]);
}

TEST_F(retry, positive_waits_at_least_the_timeout)
{
	uint64_t t0, v = 0;
	int32_t res = 0;

	vm_up(_metadata, &self->w, "retry_timeout_ms=400");
	t0 = vbst_now_ms();
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_BAR_ADDR, 2, &v, &res));
	/* A lower bound only: a slow machine may take longer, never shorter. */
	EXPECT_LE(400, vbst_now_ms() - t0);
	EXPECT_EQ(-ETIMEDOUT, res);
	EXPECT_EQ(~0ULL, v);
}

/*
 * And an upper bound: a load fails within the timeout plus a margin, both
 * when it waits to be admitted and when it was queued and the backend
 * stops being ready.  The margin, 2 s for a 300 ms timeout, is what nested
 * TCG cannot break: the timer is a jiffies timer (4 ms at HZ=250) and the
 * waiting thread must run again, which on a 2-vCPU test VM under TCG takes
 * tens of ms, a few hundred when the host is loaded; a stall of seconds is
 * the whole VM stalling, which vm-run's heartbeat reports.  A module that
 * forgets the timeout, or restarts it on a spurious wake-up, misses it.
 */
#define RETRY_TMO_MS	300
#define RETRY_MARGIN_MS	2000

TEST_F(retry, positive_fails_within_the_timeout_and_a_margin)
{
	struct pollfd pfd = { .events = POLLIN };
	struct vbridge_msg m;
	struct vbst_async a;
	uint64_t t0, el, v = 0;
	int32_t res = 0;

	vm_up(_metadata, &self->w, "retry_timeout_ms=300");
	/* No backend: the load waits to be admitted. */
	t0 = vbst_now_ms();
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_BAR_ADDR, 4, &v, &res));
	el = vbst_now_ms() - t0;
	EXPECT_EQ(-ETIMEDOUT, res);
	EXPECT_LE(RETRY_TMO_MS, el);
	EXPECT_GE(RETRY_TMO_MS + RETRY_MARGIN_MS, el);

	/* Queued to a ready backend that does not read it, which then is not ready. */
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, true, false));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR + 4, 4, false, 0));
	/* Wait until it is queued: the backend polls readable. */
	pfd.fd = self->w.be;
	ASSERT_EQ(1, poll(&pfd, 1, VBST_SOON_MS));
	t0 = vbst_now_ms();
	ASSERT_EQ(0, vbst_be_set_ready(self->w.be, 0));
	while (!vbst_async_done(&a) && vbst_now_ms() - t0 < VBST_SOON_MS)
		usleep(1000);
	el = vbst_now_ms() - t0;
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS));
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(-ETIMEDOUT, a.acc.result);
	EXPECT_LE(RETRY_TMO_MS, el);
	EXPECT_GE(RETRY_TMO_MS + RETRY_MARGIN_MS, el);
	/* It was withdrawn: the backend finds nothing. */
	EXPECT_EQ(0, count_requests(self->w.be));
}

TEST_F(retry, positive_drops_the_store)
{
	int32_t res = 0;

	vm_up(_metadata, &self->w, "retry_timeout_ms=300");
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, false, false));
	ASSERT_EQ(0, vbst_guest_write(self->w.fe, VBST_BAR_ADDR, 4, 0x77, &res));
	/* Well past the timeout, the backend gets ready: no stale store. */
	vbst_sleep_ms(900);
	ASSERT_EQ(0, vbst_be_set_ready(self->w.be, 1));
	EXPECT_EQ(0, count_requests(self->w.be));
}

TEST_F(retry, positive_succeeds_when_ready_in_time)
{
	struct vbst_async a;

	vm_up(_metadata, &self->w, "retry_timeout_ms=20000");
	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR + 8, 8, false, 0));
	vbst_sleep_ms(200);
	EXPECT_FALSE(vbst_async_done(&a));
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, true, true));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS));
	EXPECT_EQ(0, a.acc.result);
	EXPECT_EQ(vbst_pattern(VBST_BAR_ADDR + 8, 8), a.acc.data);
}

TEST_F(retry, not_ready_again_after_set_ready_0)
{
	struct vbst_devinfo di;
	uint64_t v;
	int32_t res;

	vm_up(_metadata, &self->w, "retry_timeout_ms=0");
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, true, true));
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_BAR_ADDR, 4, &v, &res));
	EXPECT_EQ(0, res);
	ASSERT_EQ(0, vbst_be_set_ready(self->w.be, 0));
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_BAR_ADDR, 4, &v, &res));
	EXPECT_EQ(-ETIMEDOUT, res);
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(0, di.state & VBRIDGE_DEV_S_READY);
	EXPECT_TRUE(di.state & VBRIDGE_DEV_S_OPEN);
}

TEST_F(retry, closing_the_backend_makes_it_not_ready)
{
	struct vbst_devinfo di;
	uint64_t v;
	int32_t res;

	vm_up(_metadata, &self->w, "retry_timeout_ms=0");
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, true, true));
	vbst_server_stop(&self->w.srv);
	close(self->w.be);
	self->w.be = -1;
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_BAR_ADDR, 4, &v, &res));
	EXPECT_EQ(-ETIMEDOUT, res);
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(0, di.state & (VBRIDGE_DEV_S_READY | VBRIDGE_DEV_S_OPEN));
	/* Reopening alone is not ready either. */
	self->w.be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	ASSERT_LE(0, self->w.be);
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_BAR_ADDR, 4, &v, &res));
	EXPECT_EQ(-ETIMEDOUT, res);
}

TEST_F(retry, device_override_beats_parameter)
{
	struct vbst_override o = { .has_retry = true, .retry_timeout_ms = 0 };
	struct vbst_async a;

	vm_up(_metadata, &self->w, "retry_timeout_ms=-1");
	ASSERT_EQ(0, vbst_dev_set(&self->w.nl, VBST_VMID, VBST_NAME, &o));
	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR, 4, false, 0));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS)) {
		TH_LOG("the load waits despite retry_timeout_ms=0 on the device");
	}
	EXPECT_EQ(-ETIMEDOUT, a.acc.result);
}

TEST_F(retry, parameter_change_applies_at_once)
{
	struct vbst_async a;

	vm_up(_metadata, &self->w, "retry_timeout_ms=-1");
	ASSERT_EQ(0, vbst_write_file(VBRIDGE_PARAM_DIR "retry_timeout_ms", "0"));
	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR, 4, false, 0));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS)) {
		TH_LOG("the load waits despite retry_timeout_ms=0");
	}
	EXPECT_EQ(-ETIMEDOUT, a.acc.result);
}

/*
 * A new rule reaches the accesses already waiting, timed from the start of
 * their wait: after 300 ms under -1, a change to 0 or to 200 ms ends the
 * wait at once, both for a load waiting to be admitted and for one that
 * is queued while the backend is not ready.
 */
static void change_ends_wait(struct __test_metadata *_metadata, struct vbst_world *w,
			     int32_t new_ms, bool queued)
{
	struct vbst_override o = { .has_retry = true, .retry_timeout_ms = -1 };
	struct pollfd pfd = { .events = POLLIN };
	struct vbridge_msg m;
	struct vbst_async a;

	vm_up(_metadata, w, "retry_timeout_ms=1000");
	ASSERT_EQ(0, vbst_dev_set(&w->nl, VBST_VMID, VBST_NAME, &o));
	if (queued) {
		ASSERT_EQ(0, vbst_world_backend(w, VBST_VMID, VBST_NAME, true, false));
		ASSERT_EQ(0, vbst_be_expect(w->be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	}
	ASSERT_EQ(0, vbst_async_start(&a, w->fe, VBST_BAR_ADDR, 4, false, 0));
	if (queued) {
		pfd.fd = w->be;
		ASSERT_EQ(1, poll(&pfd, 1, VBST_SOON_MS));
		ASSERT_EQ(0, vbst_be_set_ready(w->be, 0));
	}
	vbst_sleep_ms(300);
	ASSERT_FALSE(vbst_async_done(&a)) {
		TH_LOG("the load did not wait under retry_timeout_ms=-1");
	}
	o.retry_timeout_ms = new_ms;
	ASSERT_EQ(0, vbst_dev_set(&w->nl, VBST_VMID, VBST_NAME, &o));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS)) {
		TH_LOG("the load still waits after the override became %d", new_ms);
		/* Let it go, or the teardown waits for it. */
		vbst_async_signal(&a);
		vbst_async_join(&a, VBST_SOON_MS);
	}
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(-ETIMEDOUT, a.acc.result);
	EXPECT_EQ(~0ULL, a.acc.data);
	if (queued)
		EXPECT_EQ(0, count_requests(w->be));
}

TEST_F(retry, override_to_zero_ends_a_wait_for_admission)
{
	change_ends_wait(_metadata, &self->w, 0, false);
}

TEST_F(retry, override_to_zero_ends_a_queued_wait)
{
	change_ends_wait(_metadata, &self->w, 0, true);
}

TEST_F(retry, shorter_override_ends_a_longer_wait)
{
	change_ends_wait(_metadata, &self->w, 200, false);
}

TEST_F(retry, parameter_to_zero_ends_a_wait)
{
	struct vbst_async a;

	vm_up(_metadata, &self->w, "retry_timeout_ms=-1");
	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR, 4, false, 0));
	vbst_sleep_ms(300);
	ASSERT_FALSE(vbst_async_done(&a));
	ASSERT_EQ(0, vbst_write_file(VBRIDGE_PARAM_DIR "retry_timeout_ms", "0"));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS)) {
		TH_LOG("the load still waits after retry_timeout_ms became 0");
		vbst_async_signal(&a);
		vbst_async_join(&a, VBST_SOON_MS);
	}
	EXPECT_EQ(-ETIMEDOUT, a.acc.result);
}

TEST_HARNESS_MAIN
