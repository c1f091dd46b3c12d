// SPDX-License-Identifier: GPL-2.0
/*
 * Polling mode (VBRIDGE_BE_SET_POLL): the backend chooses it, bounded by
 * poll_max_us, and its close turns it off; malformed arguments are
 * refused.  With it on, loads are answered right by a backend that serves
 * as vbridge devices --poll-us does (a read at once after each batch, which
 * spins, and poll() only after a read that found nothing); a load whose
 * reply comes after the vCPU's spin still gets it; a non-blocking read of
 * an empty queue spins and then says EAGAIN; a blocking one takes a
 * message that comes later, and a signal ends it.  What the spins save is
 * measured by make bench, not here.
 */
#include <signal.h>

#include "kselftest_harness.h"
#include "vbst_dev.h"

#define POLL_PARAM VBRIDGE_PARAM_DIR "poll_max_us"

FIXTURE(poll) {
	struct vbst_world w;
};

FIXTURE_SETUP(poll)
{
	vbst_world_init(&self->w);
	ASSERT_EQ(0, vbst_world_unserved(&self->w, "vmstop_timeout=1 retry_timeout_ms=0")) {
		TH_LOG("%s", vbst_why);
	}
}

FIXTURE_TEARDOWN(poll)
{
	vbst_world_fini(&self->w);
	EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

static int set_poll(int fd, uint32_t spin_us, uint32_t flags, uint64_t reserved)
{
	struct vbridge_poll p = { .spin_us = spin_us, .flags = flags, .reserved = reserved };

	return ioctl(fd, VBRIDGE_BE_SET_POLL, &p) ? -errno : 0;
}

static uint32_t poll_us(int be)
{
	struct vbridge_backend_info bi;

	if (vbst_be_info(be, &bi))
		return ~0U;
	return bi.poll_us;
}

TEST_F(poll, set_poll_is_checked_and_reported)
{
	EXPECT_EQ(0, poll_us(self->w.be));
	EXPECT_EQ(-EINVAL, set_poll(self->w.be, 10, 1, 0));
	EXPECT_EQ(-EINVAL, set_poll(self->w.be, 10, 0, 1));
	EXPECT_EQ(-ERANGE, set_poll(self->w.be, 1001, 0, 0));
	EXPECT_EQ(0, poll_us(self->w.be));
	EXPECT_EQ(0, set_poll(self->w.be, 1000, 0, 0));
	EXPECT_EQ(1000, poll_us(self->w.be));
	EXPECT_EQ(0, set_poll(self->w.be, 0, 0, 0));
	EXPECT_EQ(0, poll_us(self->w.be));
	/* Not a frontend's to choose. */
	EXPECT_EQ(-ENOTTY, set_poll(self->w.fe, 10, 0, 0));
}

TEST_F(poll, the_backends_close_turns_it_off)
{
	ASSERT_EQ(0, set_poll(self->w.be, 500, 0, 0));
	EXPECT_EQ(500, poll_us(self->w.be));
	close(self->w.be);
	self->w.be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	ASSERT_LE(0, self->w.be);
	EXPECT_EQ(0, poll_us(self->w.be));
}

TEST_F(poll, poll_max_us_bounds_the_choice)
{
	char buf[32];

	ASSERT_STREQ("1000", vbst_param("poll_max_us", buf, sizeof(buf)));
	/* Out of its range: refused, unchanged. */
	EXPECT_NE(0, vbst_write_file(POLL_PARAM, "10001"));
	EXPECT_NE(0, vbst_write_file(POLL_PARAM, "-1"));
	EXPECT_STREQ("1000", vbst_param("poll_max_us", buf, sizeof(buf)));
	/* 0 forbids polling; turning it off stays allowed. */
	ASSERT_EQ(0, vbst_write_file(POLL_PARAM, "0"));
	EXPECT_EQ(-ERANGE, set_poll(self->w.be, 1, 0, 0));
	EXPECT_EQ(0, set_poll(self->w.be, 0, 0, 0));
	ASSERT_EQ(0, vbst_write_file(POLL_PARAM, "10000"));
	EXPECT_EQ(0, set_poll(self->w.be, 10000, 0, 0));
	EXPECT_EQ(10000, poll_us(self->w.be));
	EXPECT_EQ(0, vbst_write_file(POLL_PARAM, "1000"));
}

/*
 * A backend serving as vbridge devices --poll-us does: the node
 * non-blocking, a read at once after each batch (the module spins in it),
 * poll() only after one that found nothing.
 */
struct poller {
	pthread_t thr;
	int be;
	int stop[2];
	unsigned int served, polls;
	int err;
};

static void *poller_main(void *arg)
{
	struct poller *p = arg;
	struct vbridge_msg buf[8];
	bool busy = false;

	for (;;) {
		struct pollfd pf[2] = {
			{ .fd = p->be, .events = POLLIN },
			{ .fd = p->stop[0], .events = POLLIN },
		};
		ssize_t n;
		unsigned int i;

		if (!busy) {
			p->polls++;
			if (poll(pf, 2, -1) < 0) {
				if (errno == EINTR)
					continue;
				p->err = -errno;
				break;
			}
			if (pf[1].revents)
				break;
		}
		n = read(p->be, buf, sizeof(buf));
		busy = n > 0;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			p->err = -errno;
			break;
		}
		for (i = 0; i < n / sizeof(buf[0]); i++) {
			if (buf[i].type != VBRIDGE_MSG_LOAD)
				continue;
			if (vbst_be_reply(p->be, VBRIDGE_REPLY_LOAD, buf[i].id,
					  vbst_pattern(buf[i].addr, buf[i].len), 0)) {
				p->err = -EIO;
				return NULL;
			}
			p->served++;
		}
	}
	return NULL;
}

TEST_F(poll, loads_are_answered_in_polling_mode)
{
	static const uint32_t lens[] = { 1, 2, 4, 8 };
	struct poller p = { .be = self->w.be };
	unsigned int i, bad = 0;
	uint64_t v, addr;
	int32_t res;

	ASSERT_EQ(0, set_poll(self->w.be, 1000, 0, 0));
	ASSERT_EQ(0, fcntl(self->w.be, F_SETFL, fcntl(self->w.be, F_GETFL) | O_NONBLOCK));
	ASSERT_EQ(0, pipe2(p.stop, O_CLOEXEC));
	ASSERT_EQ(0, pthread_create(&p.thr, NULL, poller_main, &p));
	for (i = 0; i < 400; i++) {
		addr = VBST_BAR_ADDR + 8 * (i % 64);
		v = 0;
		res = 1;
		ASSERT_EQ(0, vbst_guest_read(self->w.fe, addr, lens[i % 4], &v, &res));
		if (res || v != vbst_pattern(addr, lens[i % 4]))
			bad++;
	}
	EXPECT_EQ(0, write(p.stop[1], "x", 1) == 1 ? 0 : -1);
	pthread_join(p.thr, NULL);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, p.err);
	EXPECT_EQ(400, p.served);
	TH_LOG("400 loads; the backend slept in poll() %u times", p.polls);
	close(p.stop[0]);
	close(p.stop[1]);
}

TEST_F(poll, a_reply_after_the_vcpus_spin_still_gets_through)
{
	struct vbst_async a;
	struct vbridge_msg m;

	ASSERT_EQ(0, set_poll(self->w.be, 100, 0, 0));
	ASSERT_EQ(0, vbst_async_start(&a, self->w.fe, VBST_BAR_ADDR + 0x40, 4, false, 0));
	ASSERT_EQ(1, vbst_be_read(self->w.be, &m, VBST_SOON_MS));
	ASSERT_EQ(VBRIDGE_MSG_LOAD, m.type);
	/* Well past the 100 us spin: the vCPU thread sleeps by now. */
	vbst_sleep_ms(50);
	EXPECT_FALSE(vbst_async_done(&a));
	ASSERT_EQ(0, vbst_be_reply(self->w.be, VBRIDGE_REPLY_LOAD, m.id, 0x12345678, 0));
	ASSERT_EQ(0, vbst_async_join(&a, VBST_SOON_MS));
	EXPECT_EQ(0, a.ret);
	EXPECT_EQ(0, a.acc.result);
	EXPECT_EQ(0x12345678, a.acc.data);
}

TEST_F(poll, a_nonblocking_read_of_an_empty_queue_spins_then_says_eagain)
{
	struct vbridge_msg m;

	ASSERT_EQ(0, set_poll(self->w.be, 1000, 0, 0));
	ASSERT_EQ(0, fcntl(self->w.be, F_SETFL, fcntl(self->w.be, F_GETFL) | O_NONBLOCK));
	EXPECT_EQ(-1, read(self->w.be, &m, sizeof(m)));
	EXPECT_EQ(EAGAIN, errno);
}

struct reader {
	pthread_t thr;
	int be;
	ssize_t n;
	int err;
	bool done;		/* __atomic */
	struct vbridge_msg m;
};

static void reader_sigusr1(int sig)
{
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	r->n = read(r->be, &r->m, sizeof(r->m));
	r->err = r->n < 0 ? errno : 0;
	__atomic_store_n(&r->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static bool reader_done_within(struct reader *r, int ms)
{
	uint64_t end = vbst_now_ms() + ms;

	while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE)) {
		if (vbst_now_ms() > end)
			return false;
		vbst_sleep_ms(1);
	}
	return true;
}

TEST_F(poll, a_blocking_read_takes_a_later_message_and_a_signal_ends_it)
{
	struct sigaction sa = { .sa_handler = reader_sigusr1 };
	struct reader r = { .be = self->w.be };
	int32_t res = 1;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, set_poll(self->w.be, 1000, 0, 0));
	/* A store posted after the reader spun and went to sleep. */
	ASSERT_EQ(0, pthread_create(&r.thr, NULL, reader_main, &r));
	vbst_sleep_ms(50);
	EXPECT_FALSE(__atomic_load_n(&r.done, __ATOMIC_ACQUIRE));
	ASSERT_EQ(0, vbst_guest_write(self->w.fe, VBST_BAR_ADDR + 0x10, 4, 0xab, &res));
	EXPECT_EQ(0, res);
	ASSERT_TRUE(reader_done_within(&r, VBST_SOON_MS));
	pthread_join(r.thr, NULL);
	EXPECT_EQ(sizeof(r.m), r.n);
	EXPECT_EQ(VBRIDGE_MSG_STORE, r.m.type);
	EXPECT_EQ(0xab, r.m.data);

	/* Nothing comes: a signal ends the wait, spin or sleep. */
	memset(&r, 0, sizeof(r));
	r.be = self->w.be;
	ASSERT_EQ(0, pthread_create(&r.thr, NULL, reader_main, &r));
	vbst_sleep_ms(50);
	EXPECT_FALSE(__atomic_load_n(&r.done, __ATOMIC_ACQUIRE));
	pthread_kill(r.thr, SIGUSR1);
	ASSERT_TRUE(reader_done_within(&r, VBST_SOON_MS));
	pthread_join(r.thr, NULL);
	EXPECT_EQ(-1, r.n);
	EXPECT_EQ(EINTR, r.err);
}

TEST_HARNESS_MAIN
