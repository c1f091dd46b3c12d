// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupts: VBRIDGE_BE_SET_IRQ signals the eventfd the VMM registered for
 * that line (where a VMM would have bound it with KVM_IRQFD), edge lines
 * once per rising edge, level lines with a resample eventfd again after
 * each EOI while the backend holds them high.  A line raised before the
 * VMM binds its eventfd fires at the binding.
 */
#include "kselftest_harness.h"
#include "vbst_dev.h"

#define NR_LINES 4

FIXTURE(irq) {
	struct vbst_world w;
	int efd[NR_LINES];
	int rfd;
};

FIXTURE_SETUP(irq)
{
	struct vbridge_msg m;
	int i;

	vbst_world_init(&self->w);
	self->rfd = -1;
	for (i = 0; i < NR_LINES; i++)
		self->efd[i] = -1;
	ASSERT_EQ(0, vbst_load("vmstop_timeout=1"));
	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, NR_LINES)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, true, false));
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	for (i = 0; i < NR_LINES; i++) {
		self->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_LE(0, self->efd[i]);
	}
	self->rfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, self->rfd);
}

FIXTURE_TEARDOWN(irq)
{
	int i;

	vbst_world_fini(&self->w);
	for (i = 0; i < NR_LINES; i++)
		if (self->efd[i] >= 0)
			close(self->efd[i]);
	if (self->rfd >= 0)
		close(self->rfd);
	EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

static int set_irq(int be, uint32_t line, uint32_t level)
{
	struct vbridge_irq_level l = { .line = line, .level = level };

	return ioctl(be, VBRIDGE_BE_SET_IRQ, &l) ? -errno : 0;
}

TEST_F(irq, raise_signals_the_lines_eventfd)
{
	struct vbst_devinfo di;
	int i;

	for (i = 0; i < NR_LINES; i++)
		ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, i, self->efd[i], -1));
	ASSERT_EQ(0, set_irq(self->w.be, 2, 1));
	/* The eventfd is signalled by the module itself: no VMM involved. */
	EXPECT_EQ(1, vbst_efd_take(self->efd[2], VBST_SOON_MS));
	for (i = 0; i < NR_LINES; i++)
		if (i != 2)
			EXPECT_EQ(0, vbst_efd_take(self->efd[i], 0));
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(1, di.stats[VBRIDGE_STAT_IRQS]);
}

TEST_F(irq, edge_line_signals_once_per_rising_edge)
{
	ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, self->efd[0], -1));
	ASSERT_EQ(0, set_irq(self->w.be, 0, 1));
	ASSERT_EQ(0, set_irq(self->w.be, 0, 1));	/* still high: no edge */
	EXPECT_EQ(1, vbst_efd_take(self->efd[0], VBST_SOON_MS));
	ASSERT_EQ(0, set_irq(self->w.be, 0, 0));
	EXPECT_EQ(0, vbst_efd_take(self->efd[0], 0));
	ASSERT_EQ(0, set_irq(self->w.be, 0, 1));
	EXPECT_EQ(1, vbst_efd_take(self->efd[0], VBST_SOON_MS));
}

TEST_F(irq, level_line_reasserted_after_eoi_while_high)
{
	uint64_t one = 1;
	int i;

	ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 1, self->efd[1], self->rfd));
	ASSERT_EQ(0, set_irq(self->w.be, 1, 1));
	ASSERT_EQ(1, vbst_efd_take(self->efd[1], VBST_SOON_MS));
	/* KVM signals the resample eventfd on EOI; the line is still high. */
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(sizeof(one), write(self->rfd, &one, sizeof(one)));
		EXPECT_EQ(1, vbst_efd_take(self->efd[1], VBST_SOON_MS)) {
			TH_LOG("EOI %d did not re-assert the high line", i);
		}
	}
}

TEST_F(irq, level_line_quiet_after_eoi_when_low)
{
	uint64_t one = 1;

	ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 1, self->efd[1], self->rfd));
	ASSERT_EQ(0, set_irq(self->w.be, 1, 1));
	ASSERT_EQ(1, vbst_efd_take(self->efd[1], VBST_SOON_MS));
	ASSERT_EQ(0, set_irq(self->w.be, 1, 0));
	ASSERT_EQ(sizeof(one), write(self->rfd, &one, sizeof(one)));
	EXPECT_EQ(0, vbst_efd_take(self->efd[1], 300));
	/* Raised again: signalled again. */
	ASSERT_EQ(0, set_irq(self->w.be, 1, 1));
	EXPECT_EQ(1, vbst_efd_take(self->efd[1], VBST_SOON_MS));
}

TEST_F(irq, line_raised_before_set_irqfd_fires_when_bound)
{
	/* The backend raises the line before the VMM bound its eventfd. */
	ASSERT_EQ(0, set_irq(self->w.be, 0, 1));
	ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, self->efd[0], -1));
	EXPECT_EQ(1, vbst_efd_take(self->efd[0], VBST_SOON_MS)) {
		TH_LOG("the level raised before VBRIDGE_SET_IRQFD was lost");
	}
	/* Still high: no new edge, no second signal. */
	ASSERT_EQ(0, set_irq(self->w.be, 0, 1));
	EXPECT_EQ(0, vbst_efd_take(self->efd[0], 0));
}

TEST_F(irq, level_line_raised_before_set_irqfd_resamples)
{
	uint64_t one = 1;

	ASSERT_EQ(0, set_irq(self->w.be, 1, 1));
	ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 1, self->efd[1], self->rfd));
	ASSERT_EQ(1, vbst_efd_take(self->efd[1], VBST_SOON_MS));
	/* EOI while still high: re-asserted, as for a line raised after. */
	ASSERT_EQ(sizeof(one), write(self->rfd, &one, sizeof(one)));
	EXPECT_EQ(1, vbst_efd_take(self->efd[1], VBST_SOON_MS));
}

TEST_F(irq, line_lowered_before_set_irqfd_stays_quiet)
{
	ASSERT_EQ(0, set_irq(self->w.be, 0, 1));
	ASSERT_EQ(0, set_irq(self->w.be, 0, 0));
	ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, self->efd[0], -1));
	/* The binding signals synchronously: nothing to wait for. */
	EXPECT_EQ(0, vbst_efd_take(self->efd[0], 0));
	/* Unbound again, a raise is kept for the next binding only. */
	ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, -1, -1));
	ASSERT_EQ(0, set_irq(self->w.be, 0, 1));
	EXPECT_EQ(0, vbst_efd_take(self->efd[0], 0));
	ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, self->efd[2], -1));
	EXPECT_EQ(1, vbst_efd_take(self->efd[2], VBST_SOON_MS));
}

TEST_F(irq, rebinding_moves_the_line)
{
	ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, self->efd[0], -1));
	ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, self->efd[3], -1));
	ASSERT_EQ(0, set_irq(self->w.be, 0, 1));
	EXPECT_EQ(1, vbst_efd_take(self->efd[3], VBST_SOON_MS));
	EXPECT_EQ(0, vbst_efd_take(self->efd[0], 0));
}

TEST_F(irq, eventfd_may_be_closed_by_the_vmm)
{
	/* The module holds its own reference, as KVM_IRQFD does. */
	ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, self->efd[0], -1));
	close(self->efd[0]);
	self->efd[0] = -1;
	EXPECT_EQ(0, set_irq(self->w.be, 0, 1));
}

TEST_F(irq, bad_arguments)
{
	struct vbridge_irq_level l = { .line = 0, .level = 1, .reserved = 1 };

	ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, self->efd[0], -1));
	EXPECT_EQ(-EINVAL, set_irq(self->w.be, NR_LINES, 1));
	EXPECT_EQ(-EINVAL, set_irq(self->w.be, 0, 2));
	EXPECT_EQ(-1, ioctl(self->w.be, VBRIDGE_BE_SET_IRQ, &l));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, vbst_efd_take(self->efd[0], 0));
}

TEST_F(irq, no_vm_is_enotconn)
{
	struct vbridge_msg m;

	ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, self->efd[0], -1));
	ASSERT_EQ(0, ioctl(self->w.fe, VBRIDGE_STOP));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_ack(self->w.be, m.id));
	close(self->w.fe);
	self->w.fe = -1;
	EXPECT_EQ(-ENOTCONN, set_irq(self->w.be, 0, 1));
	EXPECT_EQ(0, vbst_efd_take(self->efd[0], 0));
}

TEST_F(irq, line_already_high_is_signalled_when_bound)
{
	ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, self->efd[0], -1));
	ASSERT_EQ(0, set_irq(self->w.be, 0, 1));
	ASSERT_EQ(1, vbst_efd_take(self->efd[0], VBST_SOON_MS));
	/* The VMM rebinds the high line (say, after a GSI change). */
	ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, self->efd[1], self->rfd));
	EXPECT_EQ(1, vbst_efd_take(self->efd[1], VBST_SOON_MS));
	EXPECT_EQ(0, vbst_efd_take(self->efd[0], 0));
}

TEST_F(irq, resample_count_is_consumed)
{
	uint64_t one = 1, v;

	ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 1, self->efd[1], self->rfd));
	ASSERT_EQ(0, set_irq(self->w.be, 1, 1));
	ASSERT_EQ(1, vbst_efd_take(self->efd[1], VBST_SOON_MS));
	ASSERT_EQ(sizeof(one), write(self->rfd, &one, sizeof(one)));
	ASSERT_EQ(1, vbst_efd_take(self->efd[1], VBST_SOON_MS));
	/* The module read the EOI: nothing left for anyone else. */
	EXPECT_EQ(-1, read(self->rfd, &v, sizeof(v)));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(irq, backend_close_lowers_its_lines)
{
	uint64_t one = 1;

	ASSERT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 1, self->efd[1], self->rfd));
	ASSERT_EQ(0, set_irq(self->w.be, 1, 1));
	ASSERT_EQ(1, vbst_efd_take(self->efd[1], VBST_SOON_MS));
	/* The provider dies holding the line high. */
	close(self->w.be);
	self->w.be = -1;
	ASSERT_EQ(sizeof(one), write(self->rfd, &one, sizeof(one)));
	EXPECT_EQ(0, vbst_efd_take(self->efd[1], 300));
}

TEST_HARNESS_MAIN
