// SPDX-License-Identifier: GPL-2.0
/*
 * The VM lifecycle: VMSTOP reaches every device with an open backend when
 * the VMM closes its file or calls VBRIDGE_STOP; the vmid stays busy until
 * every device acknowledged (an ack, a closed backend, or the timeout with
 * vmstop_autoack); the backends' mappings are revoked after the timeout
 * (SIGBUS, checked in a forked child) with or without autoack; a re-attach
 * waits for the stop to end; VMSTART reaches the backends on attach.
 *
 * Where the module completes something asynchronously the test waits for
 * the netlink event that announces it, never for a fixed time; the only
 * sleeps are lower bounds ("still busy after twice the timeout").
 */
#include <sched.h>

#include "kselftest_harness.h"
#include "vbst_dev.h"

FIXTURE(stop) {
	struct vbst_world w;
	struct vbst_nl sub;
	struct vbst_evbuf *eb;
	int be2;
	pid_t child;
};

FIXTURE_SETUP(stop)
{
	vbst_world_init(&self->w);
	self->sub.fd = -1;
	self->be2 = -1;
	self->child = 0;
	self->eb = calloc(1, sizeof(*self->eb));
	ASSERT_NE(NULL, self->eb);
}

FIXTURE_TEARDOWN(stop)
{
	if (self->child > 0)
		vbst_wait_child(self->child, 0);
	if (self->be2 >= 0)
		close(self->be2);
	vbst_nl_close(&self->sub);
	vbst_world_fini(&self->w);
	free(self->eb);
	EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

/*
 * Module with params; devices "cvm2rb-pci" and "second" for vm3 with their
 * backends open (ready), the VM running, VMSTART read by both backends, and
 * an events subscription.
 */
static void two_backends_up(struct __test_metadata *_metadata,
			    FIXTURE_DATA(stop) *self, const char *params)
{
	struct vbst_devspec d;
	struct vbridge_msg m;

	ASSERT_EQ(0, vbst_load(params));
	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 1)) {
		TH_LOG("%s", vbst_why);
	}
	vbst_std_spec(&d, VBST_VMID, "second", 1);
	d.windows[0].addr = 0x20000000;
	d.windows[1].addr = 0x21000000;
	ASSERT_EQ(0, vbst_dev_add(&self->w.nl, &d));
	ASSERT_EQ(0, vbst_nl_open(&self->sub));
	ASSERT_EQ(0, vbst_nl_subscribe(&self->sub));
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, true, false));
	self->be2 = vbst_be_open(VBST_VMID, "second", 0);
	ASSERT_LE(0, self->be2);
	ASSERT_EQ(0, vbst_be_set_ready(self->be2, 1));
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_expect(self->be2, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
}

static void close_fe(struct vbst_world *w)
{
	close(w->fe);
	w->fe = -1;
}

/* Attach vm3 with O_NONBLOCK on a new file: fd, or -errno. */
static int try_attach(struct vbridge_attach *a)
{
	int fe = vbst_fe_open(O_NONBLOCK);
	int ret;

	if (fe < 0)
		return fe;
	ret = vbst_fe_attach(fe, VBST_VMID, a);
	if (ret) {
		close(fe);
		return ret;
	}
	return fe;
}

static int wait_event(FIXTURE_DATA(stop) *self, uint32_t ev, const char *name,
		      struct vbst_event *e, int timeout_ms)
{
	return vbst_event_wait(&self->sub, self->eb, ev, VBST_VMID, name, e, timeout_ms);
}

TEST_F(stop, vmstop_reaches_every_open_backend)
{
	struct vbst_devinfo di;
	struct vbst_devspec d;
	struct vbst_event e;
	struct vbridge_msg m;
	uint64_t gen;

	two_backends_up(_metadata, self, "vmstop_timeout=20");
	gen = self->w.att.generation;
	/* A third device whose backend is not open gets nothing. */
	vbst_std_spec(&d, VBST_VMID, "third", 1);
	d.windows[0].addr = 0x30000000;
	d.windows[1].addr = 0x31000000;
	ASSERT_EQ(0, vbst_dev_add(&self->w.nl, &d));
	close_fe(&self->w);
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	EXPECT_EQ(gen, m.id);
	EXPECT_EQ(VBST_VMID, m.vmid);
	EXPECT_EQ(sizeof(m), m.size);
	ASSERT_EQ(0, vbst_be_expect(self->be2, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	EXPECT_EQ(gen, m.id);
	ASSERT_EQ(1, wait_event(self, VBRIDGE_EV_VMSTOP, NULL, &e, VBST_SOON_MS));
	EXPECT_EQ(gen, e.generation);
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(1, di.stats[VBRIDGE_STAT_VMSTOPS]);
	EXPECT_TRUE(di.state & VBRIDGE_DEV_S_STOPPING);
	EXPECT_EQ(0, di.state & VBRIDGE_DEV_S_RUNNING);
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, "third", &di));
	EXPECT_EQ(0, di.stats[VBRIDGE_STAT_VMSTOPS]);
	EXPECT_EQ(0, di.state & VBRIDGE_DEV_S_STOPPING);
}

TEST_F(stop, stop_ioctl_sends_vmstop)
{
	struct vbst_vminfo vi;
	struct vbridge_msg m;

	two_backends_up(_metadata, self, "vmstop_timeout=20");
	ASSERT_EQ(0, ioctl(self->w.fe, VBRIDGE_STOP));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	EXPECT_EQ(self->w.att.generation, m.id);
	ASSERT_EQ(0, vbst_vm_get(&self->w.nl, VBST_VMID, &vi));
	EXPECT_EQ(VBRIDGE_VM_S_STOPPING, vi.state);
	/* Stopping twice is harmless and sends nothing more. */
	EXPECT_EQ(0, ioctl(self->w.fe, VBRIDGE_STOP));
	EXPECT_EQ(0, vbst_be_read(self->w.be, &m, 200));
}

TEST_F(stop, ack_from_every_device_frees_the_vmid)
{
	struct vbridge_attach a;
	struct vbst_vminfo vi;
	struct vbridge_msg m;
	struct vbst_event e;
	uint64_t gen;
	int fe;

	two_backends_up(_metadata, self, "vmstop_timeout=20");
	gen = self->w.att.generation;
	close_fe(&self->w);
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_expect(self->be2, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	EXPECT_EQ(-EBUSY, try_attach(&a));

	ASSERT_EQ(0, vbst_be_ack(self->w.be, gen));
	ASSERT_EQ(1, wait_event(self, VBRIDGE_EV_VMSTOP_ACK, VBST_NAME, &e, VBST_SOON_MS));
	EXPECT_EQ(gen, e.generation);
	/* One device still has to acknowledge. */
	EXPECT_EQ(-EBUSY, try_attach(&a));
	ASSERT_EQ(0, vbst_vm_get(&self->w.nl, VBST_VMID, &vi));
	EXPECT_EQ(VBRIDGE_VM_S_STOPPING, vi.state);

	ASSERT_EQ(0, vbst_be_ack(self->be2, gen));
	ASSERT_EQ(1, wait_event(self, VBRIDGE_EV_VM_RELEASED, NULL, &e, VBST_SOON_MS));
	EXPECT_EQ(gen, e.generation);
	EXPECT_EQ(-ENOENT, vbst_vm_get(&self->w.nl, VBST_VMID, &vi));
	/* An ack for a VM that is gone. */
	EXPECT_EQ(-ESTALE, vbst_be_ack(self->w.be, gen));
	fe = try_attach(&a);
	ASSERT_LE(0, fe) {
		TH_LOG("vm3 still busy after every ack: %s", strerror(-fe));
	}
	EXPECT_NE(gen, a.generation);
	close(fe);
}

TEST_F(stop, closing_the_backend_counts_as_ack)
{
	struct vbridge_attach a;
	struct vbridge_msg m;
	int fe;

	two_backends_up(_metadata, self, "vmstop_timeout=20");
	close_fe(&self->w);
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_ack(self->w.be, m.id));
	EXPECT_EQ(-EBUSY, try_attach(&a));
	close(self->be2);
	self->be2 = -1;
	ASSERT_EQ(1, wait_event(self, VBRIDGE_EV_VM_RELEASED, NULL, NULL, VBST_SOON_MS));
	fe = try_attach(&a);
	ASSERT_LE(0, fe);
	close(fe);
}

/*
 * A child the provider forks does not inherit its mapping of guest RAM
 * (VM_DONTCOPY).  The mapping holds the node open: inherited, it would
 * keep the node open in a process that never heard of it, and the
 * provider's close would no longer acknowledge VMSTOP.
 */
TEST_F(stop, a_forked_child_does_not_inherit_the_mapping)
{
	struct vbridge_attach a;
	struct vbridge_msg m;
	int go[2], fe;
	uint8_t *p;

	two_backends_up(_metadata, self, "vmstop_timeout=20");
	close(self->be2);
	self->be2 = -1;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, self->w.be, VBST_RAM_GPA);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, pipe(go));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child) {
		/* msync() of a range with no mapping fails with ENOMEM. */
		int inherited = msync(p, 4096, MS_ASYNC) == 0;
		char ch;

		/* Keep no fd of the parent's but the pipe: only the mapping. */
		dup2(go[0], 0);
		close_range(3, ~0U, 0);
		while (read(0, &ch, 1) < 0 && errno == EINTR)
			;
		_exit(inherited);
	}
	close(go[0]);
	munmap(p, 4096);
	close_fe(&self->w);
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	close(self->w.be);
	self->w.be = -1;
	/* The child still runs: the provider's close alone is the ack. */
	EXPECT_EQ(1, wait_event(self, VBRIDGE_EV_VM_RELEASED, NULL, NULL, VBST_SOON_MS)) {
		TH_LOG("the forked child's copy of the mapping kept the node open");
	}
	close(go[1]);
	EXPECT_EQ(0, vbst_wait_child(self->child, VBST_SOON_MS)) {
		TH_LOG("the child had the parent's mapping of guest RAM");
	}
	self->child = 0;
	fe = try_attach(&a);
	ASSERT_LE(0, fe);
	close(fe);
}

TEST_F(stop, ack_with_wrong_generation_is_estale)
{
	struct vbridge_attach a;
	struct vbridge_msg m;
	uint64_t gen;

	two_backends_up(_metadata, self, "vmstop_timeout=20");
	gen = self->w.att.generation;
	close(self->be2);
	self->be2 = -1;
	close_fe(&self->w);
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	EXPECT_EQ(-ESTALE, vbst_be_ack(self->w.be, gen + 1));
	EXPECT_EQ(-ESTALE, vbst_be_ack(self->w.be, 0));
	EXPECT_EQ(-EBUSY, try_attach(&a));
	EXPECT_EQ(0, vbst_be_ack(self->w.be, gen));
	EXPECT_EQ(1, wait_event(self, VBRIDGE_EV_VM_RELEASED, NULL, NULL, VBST_SOON_MS));
}

TEST_F(stop, vm_without_backends_is_released_at_once)
{
	struct vbridge_attach a;
	int fe;

	ASSERT_EQ(0, vbst_load("vmstop_timeout=20"));
	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 1));
	ASSERT_EQ(0, vbst_nl_open(&self->sub));
	ASSERT_EQ(0, vbst_nl_subscribe(&self->sub));
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME));
	close_fe(&self->w);
	ASSERT_EQ(1, wait_event(self, VBRIDGE_EV_VM_RELEASED, NULL, NULL, VBST_SOON_MS)) {
		TH_LOG("nobody to acknowledge, yet the VM is not released");
	}
	fe = try_attach(&a);
	ASSERT_LE(0, fe);
	close(fe);
}

TEST_F(stop, autoack_after_timeout_frees_the_vmid)
{
	struct vbridge_attach a;
	struct vbst_devinfo di;
	struct vbridge_msg m;
	struct vbst_event e;
	uint64_t gen;
	int fe;

	two_backends_up(_metadata, self, "vmstop_timeout=1 vmstop_autoack=Y");
	gen = self->w.att.generation;
	close(self->be2);
	self->be2 = -1;
	close_fe(&self->w);
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	/* The backend stays silent. */
	ASSERT_EQ(1, wait_event(self, VBRIDGE_EV_VMSTOP_AUTOACK, VBST_NAME, &e, 10000)) {
		TH_LOG("no autoack within 10 s of a 1 s vmstop_timeout");
	}
	EXPECT_EQ(gen, e.generation);
	ASSERT_EQ(1, wait_event(self, VBRIDGE_EV_VM_RELEASED, NULL, NULL, VBST_SOON_MS));
	fe = try_attach(&a);
	ASSERT_LE(0, fe);
	close(fe);
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(1, di.stats[VBRIDGE_STAT_AUTOACKS]);
	/* The late ack refers to a VM that is gone. */
	EXPECT_EQ(-ESTALE, vbst_be_ack(self->w.be, gen));
}

/*
 * A forked device provider that maps guest RAM and touches it each time it
 * is told to.  It answers 'k' per touch; a revoked mapping kills it with
 * SIGBUS.
 */
struct mapper {
	pid_t pid;
	int cmd, ack;
};

static int mapper_start(struct mapper *mp, FIXTURE_DATA(stop) *self)
{
	int c[2], a[2];

	if (pipe2(c, O_CLOEXEC) || pipe2(a, O_CLOEXEC))
		return -errno;
	mp->pid = fork();
	if (mp->pid < 0)
		return -errno;
	if (mp->pid == 0) {
		/* volatile: every touch must really reach the mapping. */
		volatile uint8_t *p;
		char ch;

		/* Only the parent's frontend file may keep the VM alive. */
		close(self->w.fe);
		close(c[1]);
		close(a[0]);
		p = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_SHARED, self->w.be,
			 VBST_RAM_GPA);
		if (p == MAP_FAILED)
			_exit(2);
		while (read(c[0], &ch, 1) == 1) {
			p[0]++;
			(void)p[0x1800];
			if (write(a[1], "k", 1) != 1)
				_exit(3);
		}
		_exit(0);
	}
	close(c[0]);
	close(a[1]);
	mp->cmd = c[1];
	mp->ack = a[0];
	self->child = mp->pid;
	return 0;
}

/* 1: the child touched its mapping, 0: it died (or hung) trying. */
static int mapper_touch(struct mapper *mp)
{
	struct pollfd p = { .fd = mp->ack, .events = POLLIN };
	char ch;

	if (write(mp->cmd, "t", 1) != 1)
		return 0;
	if (poll(&p, 1, VBST_SOON_MS) != 1)
		return 0;
	return read(mp->ack, &ch, 1) == 1;
}

static int mapper_end(struct mapper *mp, FIXTURE_DATA(stop) *self)
{
	close(mp->cmd);
	close(mp->ack);
	self->child = 0;
	return vbst_wait_child(mp->pid, VBST_SOON_MS);
}

TEST_F_TIMEOUT(stop, autoack_revokes_mappings, 60)
{
	struct vbridge_msg m;
	struct mapper mp;

	two_backends_up(_metadata, self, "vmstop_timeout=1 vmstop_autoack=Y");
	close(self->be2);
	self->be2 = -1;
	ASSERT_EQ(0, mapper_start(&mp, self));
	ASSERT_EQ(1, mapper_touch(&mp)) {
		TH_LOG("the provider could not use its mapping while the VM ran");
	}
	close_fe(&self->w);
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	ASSERT_EQ(1, wait_event(self, VBRIDGE_EV_VMSTOP_AUTOACK, VBST_NAME, NULL, 10000));
	/* A stray access after the autoack must fault. */
	EXPECT_EQ(0, mapper_touch(&mp));
	EXPECT_EQ(128 + SIGBUS, mapper_end(&mp, self));
}

/* Run on one CPU only; false when there is no such CPU. */
static bool pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return !sched_setaffinity(0, sizeof(set), &set);
}

/*
 * vmstop_timeout=0 revokes at once: a provider that reads VMSTOP and
 * touches its mapping straight away already gets SIGBUS; there is no
 * timeout to wait for, so no window.  To give a revocation that came
 * later (from a work item queued on the stopping CPU) the chance to lose,
 * the VMM stops the VM from CPU 0 at real-time priority and keeps that
 * CPU for 200 ms, while the provider reads and touches on CPU 1.
 */
TEST_F_TIMEOUT(stop, zero_timeout_revokes_before_vmstop_is_read, 120)
{
	struct sched_param rt = { .sched_priority = 1 }, other = { 0 };
	struct vbridge_msg m;
	int round, c[2], st;
	uint64_t t;
	char ch;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	two_backends_up(_metadata, self, "vmstop_timeout=0 vmstop_autoack=Y");
	close(self->be2);
	self->be2 = -1;
	ASSERT_TRUE(pin_to(0));
	for (round = 0; round < 4; round++) {
		ASSERT_EQ(0, pipe2(c, O_CLOEXEC));
		self->child = fork();
		ASSERT_LE(0, self->child);
		if (self->child == 0) {
			volatile uint8_t *p;

			close(self->w.fe);
			close(c[0]);
			if (!pin_to(1))
				_exit(5);
			p = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_SHARED,
				 self->w.be, VBST_RAM_GPA);
			if (p == MAP_FAILED)
				_exit(2);
			p[0]++;
			if (write(c[1], "r", 1) != 1)
				_exit(3);
			do {
				if (vbst_be_read(self->w.be, &m, VBST_SOON_MS) != 1)
					_exit(4);
			} while (m.type != VBRIDGE_MSG_VMSTOP);
			/* The first thing after reading VMSTOP. */
			p[0x1800]++;
			_exit(0);
		}
		close(c[1]);
		ASSERT_EQ(1, read(c[0], &ch, 1)) {
			TH_LOG("the provider could not map guest RAM");
		}
		close(c[0]);
		ASSERT_EQ(0, sched_setscheduler(0, SCHED_FIFO, &rt));
		close_fe(&self->w);
		for (t = vbst_now_ms(); vbst_now_ms() - t < 200;)
			;
		ASSERT_EQ(0, sched_setscheduler(0, SCHED_OTHER, &other));
		st = vbst_wait_child(self->child, VBST_SOON_MS);
		self->child = 0;
		ASSERT_EQ(128 + SIGBUS, st) {
			TH_LOG("round %d: the provider's access after VMSTOP ended with status %d",
			       round, st);
		}
		/* Acknowledged at once, by the module: the vmid runs again. */
		vbst_ram_destroy(&self->w.ram);
		ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
			TH_LOG("%s", vbst_why);
		}
	}
}

TEST_F_TIMEOUT(stop, without_autoack_vmid_stays_busy_until_close, 60)
{
	struct vbridge_attach a;
	struct vbst_devinfo di;
	struct vbridge_msg m;
	struct mapper mp;
	uint64_t end;
	int fe, alive = 1;

	two_backends_up(_metadata, self, "vmstop_timeout=1 vmstop_autoack=N");
	close(self->be2);
	self->be2 = -1;
	ASSERT_EQ(0, mapper_start(&mp, self));
	ASSERT_EQ(1, mapper_touch(&mp));
	close_fe(&self->w);
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	/* The mappings are revoked after the timeout even without autoack. */
	end = vbst_now_ms() + 15000;
	while (alive && vbst_now_ms() < end) {
		vbst_sleep_ms(200);
		alive = mapper_touch(&mp);
	}
	EXPECT_EQ(0, alive) {
		TH_LOG("mapping still usable 15 s after a 1 s vmstop_timeout");
	}
	EXPECT_EQ(128 + SIGBUS, mapper_end(&mp, self));
	/* Twice the timeout has passed: still no ack, still busy. */
	vbst_sleep_ms(2000);
	EXPECT_EQ(-EBUSY, try_attach(&a));
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_TRUE(di.state & VBRIDGE_DEV_S_STOPPING);
	EXPECT_EQ(0, di.stats[VBRIDGE_STAT_AUTOACKS]);
	/* The provider goes away: that is its ack. */
	close(self->w.be);
	self->w.be = -1;
	ASSERT_EQ(1, wait_event(self, VBRIDGE_EV_VM_RELEASED, NULL, NULL, VBST_SOON_MS));
	fe = try_attach(&a);
	ASSERT_LE(0, fe);
	close(fe);
}

/*
 * A mapping belongs to the VM it was made in: after that VM is released
 * and the vmid runs again, a stray access through it faults instead of
 * reaching the new guest's memory.
 */
TEST_F_TIMEOUT(stop, old_mapping_faults_in_the_next_vm, 60)
{
	struct vbridge_msg m;
	struct mapper mp;

	two_backends_up(_metadata, self, "vmstop_timeout=20");
	close(self->be2);
	self->be2 = -1;
	ASSERT_EQ(0, mapper_start(&mp, self));
	ASSERT_EQ(1, mapper_touch(&mp));
	close_fe(&self->w);
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	/* The provider acknowledges but "forgets" to unmap. */
	ASSERT_EQ(0, vbst_be_ack(self->w.be, m.id));
	ASSERT_EQ(1, wait_event(self, VBRIDGE_EV_VM_RELEASED, NULL, NULL, VBST_SOON_MS));
	vbst_ram_destroy(&self->w.ram);
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	EXPECT_EQ(0, mapper_touch(&mp));
	EXPECT_EQ(128 + SIGBUS, mapper_end(&mp, self));
	/* The new guest's memory was not touched. */
	EXPECT_EQ(0, self->w.ram.p[0]);
}

struct attacher {
	pthread_t thr;
	struct vbridge_attach a;
	int fe;
	int ret;
	bool done;		/* __atomic accesses */
};

static void *attacher_main(void *arg)
{
	struct attacher *t = arg;

	t->ret = vbst_fe_attach(t->fe, VBST_VMID, &t->a);
	__atomic_store_n(&t->done, true, __ATOMIC_RELEASE);
	return NULL;
}

TEST_F(stop, reattach_waits_for_the_stop)
{
	struct attacher t = { 0 };
	struct vbridge_msg m;
	uint64_t gen;
	int i;

	two_backends_up(_metadata, self, "vmstop_timeout=20");
	gen = self->w.att.generation;
	close(self->be2);
	self->be2 = -1;
	close_fe(&self->w);
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	t.fe = vbst_fe_open(0);
	ASSERT_LE(0, t.fe);
	ASSERT_EQ(0, pthread_create(&t.thr, NULL, attacher_main, &t));
	vbst_sleep_ms(300);
	EXPECT_FALSE(__atomic_load_n(&t.done, __ATOMIC_ACQUIRE)) {
		TH_LOG("attach of a stopping vmid returned %d at once", t.ret);
	}
	ASSERT_EQ(0, vbst_be_ack(self->w.be, gen));
	for (i = 0; i < VBST_SOON_MS / 10 && !__atomic_load_n(&t.done, __ATOMIC_ACQUIRE); i++)
		vbst_sleep_ms(10);
	ASSERT_TRUE(__atomic_load_n(&t.done, __ATOMIC_ACQUIRE)) {
		TH_LOG("attach still waiting after the last ack");
	}
	pthread_join(t.thr, NULL);
	EXPECT_EQ(0, t.ret);
	EXPECT_NE(gen, t.a.generation);
	/* The new VM starts: the backend hears of it. */
	self->w.fe = t.fe;
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	EXPECT_EQ(t.a.generation, m.id);
}

TEST_F(stop, vmstart_on_attach)
{
	struct vbridge_msg m;
	struct vbst_event e;

	ASSERT_EQ(0, vbst_load("vmstop_timeout=20"));
	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 1));
	ASSERT_EQ(0, vbst_nl_open(&self->sub));
	ASSERT_EQ(0, vbst_nl_subscribe(&self->sub));
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, false, false));
	/* Nothing before the VM exists. */
	EXPECT_EQ(0, vbst_be_read(self->w.be, &m, 100));
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	EXPECT_EQ(self->w.att.generation, m.id);
	EXPECT_EQ(VBST_VMID, m.vmid);
	EXPECT_EQ(sizeof(m), m.size);
	ASSERT_EQ(1, wait_event(self, VBRIDGE_EV_VMSTART, NULL, &e, VBST_SOON_MS));
	EXPECT_EQ(self->w.att.generation, e.generation);
	EXPECT_EQ(getpid(), e.pid);
}

TEST_F(stop, restart_after_ack_sends_vmstart)
{
	struct vbridge_msg m;
	uint64_t gen, v;
	int32_t res;

	two_backends_up(_metadata, self, "vmstop_timeout=20");
	close(self->be2);
	self->be2 = -1;
	gen = self->w.att.generation;
	close_fe(&self->w);
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_ack(self->w.be, m.id));
	ASSERT_EQ(1, wait_event(self, VBRIDGE_EV_VM_RELEASED, NULL, NULL, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	EXPECT_EQ(self->w.att.generation, m.id);
	EXPECT_NE(gen, m.id);
	/* And it serves the new VM. */
	ASSERT_EQ(0, vbst_server_start(&self->w.srv, self->w.be));
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_BAR_ADDR, 4, &v, &res));
	EXPECT_EQ(0, res);
	EXPECT_EQ(vbst_pattern(VBST_BAR_ADDR, 4), v);
}

TEST_HARNESS_MAIN
