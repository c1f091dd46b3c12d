// SPDX-License-Identifier: GPL-2.0
/*
 * Findings of the adversarial review of virtio_bridge.ko, one test each
 * (every one of them failed before its fix), plus regression tests for the
 * way guest RAM is mapped through a backend node.
 *
 *  - guest RAM mapped by a backend is part of the memfd's reverse mapping:
 *    a hole the VMM punches (a ballooned page) reaches the backend too and
 *    the kernel never finds a page cache page still mapped when it drops it;
 *    a mapping inherited across fork() and a mapping of a memfd that the
 *    next VM registers again are still revoked, and a page a provider
 *    pinned is never the next VM's memory (a memfd backs one VM at a time
 *    and is punched when that VM is released);
 *  - VBRIDGE_GET_DOORBELL does not hold the lock the backend needs while it
 *    writes to the VMM's memory, nor VBRIDGE_BE_GET_STATE the state lock
 *    while it writes to the provider's;
 *  - the doorbell changes a VMM has not fetched are bounded per device;
 *  - a queued request withdrawn by a killed vCPU makes room for the callers
 *    waiting on a full queue;
 *  - no eventfd is both an irqfd and a resample fd in a VM.
 */
#include <linux/falloc.h>
#include <linux/userfaultfd.h>

#include "kselftest_harness.h"
#include "vbst_dev.h"

#define PAGE		4096UL
#define NOTIFY_ADDR	(VBST_BAR_ADDR + 0x3000)
#define TAINT_BAD_PAGE	0x20UL	/* 'B' in /proc/sys/kernel/tainted */

FIXTURE(rev) {
	struct vbst_world w;
	pid_t child[2];
	int kick;
};

FIXTURE_SETUP(rev)
{
	vbst_world_init(&self->w);
	self->child[0] = 0;
	self->child[1] = 0;
	self->kick = -1;
}

FIXTURE_TEARDOWN(rev)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (self->child[i] > 0) {
			kill(self->child[i], SIGKILL);
			waitpid(self->child[i], NULL, 0);
		}
	}
	vbst_world_fini(&self->w);
	if (self->kick >= 0)
		close(self->kick);
	EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

/* Accesses through a mapping that the compiler may neither drop nor merge. */
static uint8_t peek(const uint8_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void poke(uint8_t *p, uint8_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static unsigned long rev_taint(void)
{
	char buf[64];

	if (vbst_read_file("/proc/sys/kernel/tainted", buf, sizeof(buf)))
		return ~0UL;
	return strtoul(buf, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* Guest RAM through the backend node                                  */
/* ------------------------------------------------------------------ */

/*
 * A VMM gives guest pages back to the host (a balloon, free page
 * reporting) by punching holes into its memfd.  The backend's mapping must
 * follow: it sees the hole, then the page the VMM writes next; and the
 * page cache never drops a page that is still mapped (that is a "BUG: Bad
 * page cache" report and TAINT_BAD_PAGE, or a VM_BUG_ON with DEBUG_VM).
 */
TEST_F(rev, hole_punched_by_the_vmm_reaches_the_backend)
{
	unsigned long taint;
	uint8_t *p;

	ASSERT_EQ(0, vbst_world_unserved(&self->w, "")) {
		TH_LOG("%s", vbst_why);
	}
	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->w.be,
		 VBST_RAM_GPA);
	ASSERT_NE(MAP_FAILED, p);
	self->w.ram.p[0] = 0xaa;
	self->w.ram.p[PAGE] = 0xbb;
	ASSERT_EQ(0xaa, peek(&p[0]));
	ASSERT_EQ(0xbb, peek(&p[PAGE]));
	taint = rev_taint();

	/* fallocate() on the memfd... */
	ASSERT_EQ(0, fallocate(self->w.ram.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       0, PAGE));
	/* ...and MADV_REMOVE through the VMM's own mapping. */
	ASSERT_EQ(0, madvise(self->w.ram.p + PAGE, PAGE, MADV_REMOVE));
	EXPECT_EQ(0, rev_taint() & ~taint) {
		TH_LOG("kernel taint went from 0x%lx to 0x%lx", taint, rev_taint());
	}
	EXPECT_EQ(0, rev_taint() & TAINT_BAD_PAGE);

	/* The backend sees the holes, and afterwards the same pages as the VMM. */
	EXPECT_EQ(0, peek(&p[0]));
	EXPECT_EQ(0, peek(&p[PAGE]));
	self->w.ram.p[0] = 0x55;
	EXPECT_EQ(0x55, peek(&p[0]));
	poke(&p[PAGE + 16], 0x77);
	EXPECT_EQ(0x77, self->w.ram.p[PAGE + 16]);
	munmap(p, 2 * PAGE);
	EXPECT_EQ(0, rev_taint() & ~taint);
}

/* A child that touches an inherited mapping each time it is told to. */
struct toucher {
	pid_t pid;
	int cmd, ack;
};

/*
 * A child of the backend that maps a page of guest RAM through the node it
 * inherited (fork does not copy the parent's mapping: VM_DONTCOPY), then
 * touches it on each command.  Returns once the child's mapping exists.
 */
static int toucher_start(struct toucher *t, int be, int fe)
{
	struct pollfd pf;
	int c[2], a[2];
	char ch;

	if (pipe2(c, O_CLOEXEC) || pipe2(a, O_CLOEXEC))
		return -errno;
	t->pid = fork();
	if (t->pid < 0)
		return -errno;
	if (t->pid == 0) {
		uint8_t *p;

		/* Only the parent's frontend file may keep the VM alive. */
		close(fe);
		close(c[1]);
		close(a[0]);
		p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, be, VBST_RAM_GPA);
		if (p == MAP_FAILED)
			_exit(4);
		/* The mapping holds the node; the child's fd need not. */
		close(be);
		if (write(a[1], "r", 1) != 1)
			_exit(3);
		while (read(c[0], &ch, 1) == 1) {
			poke(&p[8], peek(&p[8]) + 1);
			if (write(a[1], "k", 1) != 1)
				_exit(3);
		}
		_exit(0);
	}
	close(c[0]);
	close(a[1]);
	t->cmd = c[1];
	t->ack = a[0];
	pf = (struct pollfd){ .fd = t->ack, .events = POLLIN };
	if (poll(&pf, 1, VBST_SOON_MS) != 1 || read(t->ack, &ch, 1) != 1)
		return -EIO;	/* the child could not map */
	return 0;
}

/* 1: the child touched the mapping, 0: it died trying. */
static int toucher_touch(struct toucher *t)
{
	struct pollfd p = { .fd = t->ack, .events = POLLIN };
	char ch;

	if (write(t->cmd, "t", 1) != 1)
		return 0;
	if (poll(&p, 1, VBST_SOON_MS) != 1)
		return 0;
	return read(t->ack, &ch, 1) == 1;
}

static int toucher_end(struct toucher *t)
{
	close(t->cmd);
	close(t->ack);
	return vbst_wait_child(t->pid, VBST_SOON_MS);
}

/*
 * A backend that forks, and whose child maps guest RAM through the node
 * it inherited: the child's mapping is revoked with the parent's once the
 * VM is released.
 */
TEST_F(rev, mapping_of_a_forked_child_is_revoked)
{
	struct vbridge_msg m;
	struct toucher t;
	int status;
	uint8_t *p;

	ASSERT_EQ(0, vbst_world_unserved(&self->w, "")) {
		TH_LOG("%s", vbst_why);
	}
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->w.be, VBST_RAM_GPA);
	ASSERT_NE(MAP_FAILED, p);
	poke(&p[8], 1);
	ASSERT_EQ(0, toucher_start(&t, self->w.be, self->w.fe));
	self->child[0] = t.pid;
	ASSERT_EQ(1, toucher_touch(&t));
	EXPECT_EQ(2, self->w.ram.p[8]);

	ASSERT_EQ(0, ioctl(self->w.fe, VBRIDGE_STOP));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_ack(self->w.be, m.id));
	/* Released (by a work item) once the VMM's file is gone too. */
	close(self->w.fe);
	self->w.fe = -1;
	ASSERT_EQ(0, vbst_wait_released(&self->w.nl, VBST_VMID));
	EXPECT_EQ(0, toucher_touch(&t));
	status = toucher_end(&t);
	self->child[0] = 0;
	EXPECT_EQ(128 + SIGBUS, status);
	munmap(p, PAGE);
}

/*
 * A VMM that restarts its guest registers the same memfd for the next VM.
 * A backend that kept its old mapping can neither read or write the new
 * guest's memory through it nor punch holes into it (MADV_REMOVE acts on
 * the file behind a mapping without a page fault, remap_file_pages() maps
 * that file again).
 */
TEST_F(rev, stale_mapping_of_a_reused_memfd)
{
	struct vbridge_msg m;
	struct toucher t;
	int status;
	uint8_t *p;

	ASSERT_EQ(0, vbst_world_unserved(&self->w, "")) {
		TH_LOG("%s", vbst_why);
	}
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->w.be, VBST_RAM_GPA);
	ASSERT_NE(MAP_FAILED, p);
	poke(&p[8], 1);
	ASSERT_EQ(0, toucher_start(&t, self->w.be, self->w.fe));
	self->child[0] = t.pid;

	ASSERT_EQ(0, ioctl(self->w.fe, VBRIDGE_STOP));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_ack(self->w.be, m.id));
	close(self->w.fe);
	self->w.fe = -1;
	/* Same memfd, next VM (the attach waits for the release). */
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	self->w.ram.p[8] = 0x42;

	EXPECT_EQ(-1, madvise(p, PAGE, MADV_REMOVE));
	EXPECT_EQ(0x42, self->w.ram.p[8]);
	/* Nor map the file behind it again (that has no page fault either). */
	EXPECT_EQ(-1, remap_file_pages(p, PAGE, 0, 0, 0));
	EXPECT_EQ(0, toucher_touch(&t));
	status = toucher_end(&t);
	self->child[0] = 0;
	EXPECT_EQ(128 + SIGBUS, status);
	EXPECT_EQ(0x42, self->w.ram.p[8]);
	munmap(p, PAGE);
}

/*
 * Revocation unmaps a provider's mapping, but a page it holds through GUP
 * (vmsplice here; O_DIRECT and io_uring fixed buffers pin the same way)
 * outlives it.  When the VMM registers the same memfd for its next VM,
 * that page must not be the new guest's memory: the released VM's ranges
 * are punched out of the memfd, so the next VM gets fresh pages and the
 * held page reaches only what the dead guest left.
 */
TEST_F(rev, pinned_page_never_reaches_the_next_vm)
{
	struct iovec iov;
	struct vbridge_msg m;
	uint8_t back[16];
	int pipefd[2];
	uint8_t *p;

	ASSERT_EQ(0, vbst_world_unserved(&self->w, "")) {
		TH_LOG("%s", vbst_why);
	}
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->w.be, VBST_RAM_GPA);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x11, 16);
	ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));
	/* The pipe takes a reference to the page itself, not a copy. */
	iov.iov_base = p;
	iov.iov_len = 16;
	ASSERT_EQ(16, vmsplice(pipefd[1], &iov, 1, 0));

	ASSERT_EQ(0, ioctl(self->w.fe, VBRIDGE_STOP));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_ack(self->w.be, m.id));
	munmap(p, PAGE);
	close(self->w.fe);
	self->w.fe = -1;
	/* Same memfd, next VM (the attach waits for the release). */
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	/* The new guest starts from zeroed memory, not the old guest's... */
	EXPECT_EQ(0, self->w.ram.p[0]);
	EXPECT_EQ(0, self->w.ram.p[15]);
	memset(self->w.ram.p, 0x42, 16);
	/* ...and what the pipe holds is not the new guest's memory. */
	ASSERT_EQ(16, read(pipefd[0], back, sizeof(back)));
	EXPECT_EQ(0x11, back[0]) {
		TH_LOG("a page pinned in the stopped VM is the next VM's memory");
	}
	EXPECT_EQ(0x11, back[15]);
	close(pipefd[0]);
	close(pipefd[1]);
}

/*
 * The pages of a memfd are punched out when the VM whose regions it backs
 * is released; so no other VM may register it meanwhile, attached or not.
 */
TEST_F(rev, memfd_backs_one_vm_at_a_time)
{
	struct vbridge_msg m;
	struct vbst_ram other;
	int fe2;

	ASSERT_EQ(0, vbst_world_unserved(&self->w, "")) {
		TH_LOG("%s", vbst_why);
	}
	fe2 = vbst_fe_open(0);
	ASSERT_LE(0, fe2);
	EXPECT_EQ(-EBUSY, vbst_fe_add_region(fe2, VBST_RAM_GPA, VBST_RAM_SIZE,
					     self->w.ram.fd, 0));
	/* Another part of it is the same memfd. */
	EXPECT_EQ(-EBUSY, vbst_fe_add_region(fe2, VBST_RAM_GPA, 0x1000,
					     self->w.ram.fd, VBST_RAM_SIZE - 0x1000));
	ASSERT_EQ(0, vbst_ram_create(&other, VBST_RAM_SIZE, F_SEAL_SHRINK));
	EXPECT_EQ(0, vbst_fe_add_region(fe2, VBST_RAM_GPA, VBST_RAM_SIZE, other.fd, 0));
	/* The same VM may use one memfd for several regions. */
	EXPECT_EQ(0, vbst_fe_add_region(self->w.fe, 0x80000000ULL, 0x1000,
					self->w.ram.fd, 0x1000));
	/* A refused or closed registration leaves nothing claimed. */
	close(fe2);
	fe2 = vbst_fe_open(0);
	ASSERT_LE(0, fe2);
	EXPECT_EQ(0, vbst_fe_add_region(fe2, VBST_RAM_GPA, VBST_RAM_SIZE, other.fd, 0));
	close(fe2);

	/* Released, the memfd is free again (and punched: it reads zeros). */
	self->w.ram.p[0] = 0x77;
	ASSERT_EQ(0, ioctl(self->w.fe, VBRIDGE_STOP));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_ack(self->w.be, m.id));
	close(self->w.fe);
	self->w.fe = -1;
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	EXPECT_EQ(0, self->w.ram.p[0]);
	vbst_ram_destroy(&other);
}

/* ------------------------------------------------------------------ */
/* Doorbells                                                           */
/* ------------------------------------------------------------------ */

struct db_call {
	pthread_t thr;
	int fd;
	unsigned long cmd;
	void *arg;
	int ret;
	bool started;
};

static void *db_call_main(void *arg)
{
	struct db_call *c = arg;

	c->ret = ioctl(c->fd, c->cmd, c->arg) ? -errno : 0;
	return NULL;
}

static int db_call_start(struct db_call *c, int fd, unsigned long cmd, void *arg)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->cmd = cmd;
	c->arg = arg;
	if (pthread_create(&c->thr, NULL, db_call_main, c))
		return -EAGAIN;
	c->started = true;
	return 0;
}

static int db_call_join(struct db_call *c, int timeout_ms)
{
	struct timespec ts;

	if (!c->started)
		return -EINVAL;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(c->thr, NULL, &ts))
		return -ETIMEDOUT;
	c->started = false;
	return 0;
}

/*
 * A page whose writes block in a page fault until released: write-protected
 * through a userfaultfd that nobody serves (as a VMM or provider whose
 * memory faults slowly: a FUSE file, a userfaultfd of its own).
 */
struct wp_page {
	int uffd;
	void *p;
	struct uffdio_writeprotect wp;
};

/* 0; -EOPNOTSUPP when the kernel cannot (a SKIP); else -errno.  Why: vbst_why. */
static int wp_page_new(struct wp_page *w)
{
	struct uffdio_register reg = { 0 };
	struct uffdio_api api = { .api = UFFD_API };
	int ret;

	memset(w, 0, sizeof(*w));
	w->p = MAP_FAILED;
	w->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (w->uffd < 0)
		return vbst_fail(-EOPNOTSUPP, "userfaultfd: %s", strerror(errno));
	if (ioctl(w->uffd, UFFDIO_API, &api)) {
		ret = vbst_fail(-errno, "UFFDIO_API");
		goto err;
	}
	w->p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->p == MAP_FAILED) {
		ret = vbst_fail(-errno, "mmap");
		goto err;
	}
	memset(w->p, 0, PAGE);
	reg.range.start = (uintptr_t)w->p;
	reg.range.len = PAGE;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(w->uffd, UFFDIO_REGISTER, &reg)) {
		ret = vbst_fail(-EOPNOTSUPP, "userfaultfd write-protect: %s", strerror(errno));
		goto err;
	}
	w->wp.range = reg.range;
	w->wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	if (ioctl(w->uffd, UFFDIO_WRITEPROTECT, &w->wp)) {
		ret = vbst_fail(-errno, "UFFDIO_WRITEPROTECT");
		goto err;
	}
	return 0;
err:
	if (w->p != MAP_FAILED)
		munmap(w->p, PAGE);
	close(w->uffd);
	return ret;
}

/* Let the blocked writes through. */
static int wp_page_release(struct wp_page *w)
{
	w->wp.mode = 0;
	return ioctl(w->uffd, UFFDIO_WRITEPROTECT, &w->wp) ? -errno : 0;
}

static void wp_page_free(struct wp_page *w)
{
	munmap(w->p, PAGE);
	close(w->uffd);
}

/*
 * VBRIDGE_GET_DOORBELL writes its result into the VMM's memory, which can
 * take as long as the VMM likes (here: a write-protected userfaultfd page
 * nobody resolves; unprivileged, a page of a FUSE file it serves itself).
 * The backend's doorbell calls and its close must not wait for that.
 */
TEST_F(rev, get_doorbell_does_not_hold_off_the_backend)
{
	struct wp_page wpp;
	struct pollfd pfd;
	struct vbridge_doorbell d, *slow;
	struct db_call get, del;
	uint32_t id = 0;
	int ret;

	ASSERT_EQ(0, vbst_world_unserved(&self->w, "")) {
		TH_LOG("%s", vbst_why);
	}
	self->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, self->kick);
	ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 4, self->kick, 0, 0, &id));

	ret = wp_page_new(&wpp);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "%s", vbst_why);
	ASSERT_EQ(0, ret) {
		TH_LOG("%s", vbst_why);
	}
	slow = wpp.p;

	/* The VMM fetches into the write-protected page: it blocks there. */
	ASSERT_EQ(0, db_call_start(&get, self->w.fe, VBRIDGE_GET_DOORBELL, slow));
	pfd.fd = wpp.uffd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, VBST_SOON_MS)) {
		TH_LOG("VBRIDGE_GET_DOORBELL never wrote its result");
	}

	/* Meanwhile the backend withdraws its doorbell. */
	ASSERT_EQ(0, db_call_start(&del, self->w.be, VBRIDGE_BE_DEL_DOORBELL,
				   (void *)(unsigned long)id));
	ret = db_call_join(&del, VBST_SOON_MS);
	EXPECT_EQ(0, ret) {
		TH_LOG("VBRIDGE_BE_DEL_DOORBELL waits for the VMM's page fault");
	}

	/* The VMM's fault resolves: it gets the assignment, then the removal. */
	ASSERT_EQ(0, wp_page_release(&wpp));
	ASSERT_EQ(0, db_call_join(&get, VBST_SOON_MS));
	if (ret)
		ASSERT_EQ(0, db_call_join(&del, VBST_SOON_MS));
	EXPECT_EQ(0, del.ret);
	EXPECT_EQ(0, get.ret);
	EXPECT_EQ(id, slow->id);
	EXPECT_EQ(0, slow->flags & VBRIDGE_DOORBELL_F_DEASSIGN);
	EXPECT_LE(0, slow->fd);
	if (slow->fd >= 0)
		close(slow->fd);
	ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
	EXPECT_EQ(id, d.id);
	EXPECT_TRUE(d.flags & VBRIDGE_DOORBELL_F_DEASSIGN);
	EXPECT_EQ(-EAGAIN, vbst_fe_get_doorbell(self->w.fe, &d));
	wp_page_free(&wpp);
}

/*
 * VBRIDGE_BE_GET_STATE writes up to 64 KiB into the provider's memory,
 * which may fault as slowly as the provider likes (a write-protected
 * userfaultfd page here).  The device's state lock must not be held
 * meanwhile: a VBRIDGE_BE_SET_STATE of another thread (the provider's
 * periodic save) would wait, uninterruptibly, for that fault.
 */
TEST_F(rev, get_state_does_not_hold_off_set_state)
{
	struct wp_page wpp;
	struct vbridge_state_blob gb = { 0 }, sb = { 0 };
	struct db_call get, set;
	struct pollfd pfd;
	char *slow;
	int ret;

	ASSERT_EQ(0, vbst_world_unserved(&self->w, "")) {
		TH_LOG("%s", vbst_why);
	}
	sb.buf = (uintptr_t)"first";
	sb.len = 5;
	ASSERT_EQ(0, ioctl(self->w.be, VBRIDGE_BE_SET_STATE, &sb));

	ret = wp_page_new(&wpp);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "%s", vbst_why);
	ASSERT_EQ(0, ret) {
		TH_LOG("%s", vbst_why);
	}
	slow = wpp.p;

	/* The provider reads its state into the write-protected page. */
	gb.buf = (uintptr_t)slow;
	gb.len = PAGE;
	ASSERT_EQ(0, db_call_start(&get, self->w.be, VBRIDGE_BE_GET_STATE, &gb));
	pfd.fd = wpp.uffd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, VBST_SOON_MS)) {
		TH_LOG("VBRIDGE_BE_GET_STATE never wrote the blob");
	}

	/* Meanwhile another thread saves a new state. */
	sb.buf = (uintptr_t)"second";
	sb.len = 6;
	ASSERT_EQ(0, db_call_start(&set, self->w.be, VBRIDGE_BE_SET_STATE, &sb));
	ret = db_call_join(&set, VBST_SOON_MS);
	EXPECT_EQ(0, ret) {
		TH_LOG("VBRIDGE_BE_SET_STATE waits for the reader's page fault");
	}

	/* The fault resolves: the reader got the state as it was. */
	ASSERT_EQ(0, wp_page_release(&wpp));
	ASSERT_EQ(0, db_call_join(&get, VBST_SOON_MS));
	if (ret)
		ASSERT_EQ(0, db_call_join(&set, VBST_SOON_MS));
	EXPECT_EQ(0, get.ret);
	EXPECT_EQ(0, set.ret);
	EXPECT_EQ(5, gb.len);
	EXPECT_EQ(0, memcmp(slow, "first", 5));
	memset(slow, 0, PAGE);
	gb.len = PAGE;
	ASSERT_EQ(0, ioctl(self->w.be, VBRIDGE_BE_GET_STATE, &gb));
	EXPECT_EQ(6, gb.len);
	EXPECT_EQ(0, memcmp(slow, "second", 6));
	wp_page_free(&wpp);
}

/*
 * A backend that adds and removes a doorbell in a loop while the VMM does
 * not fetch the changes must not make the kernel queue them without limit
 * (each one is memory and an eventfd reference).  Enough for two full
 * re-registrations are kept; beyond that the backend gets -EAGAIN until
 * the VMM catches up, and nothing is lost.
 */
TEST_F(rev, unfetched_doorbell_changes_are_bounded)
{
	struct vbridge_doorbell d;
	int i, n = 0, ret = 0, got = 0;
	uint32_t id, expect = 0;

	ASSERT_EQ(0, vbst_world_unserved(&self->w, "")) {
		TH_LOG("%s", vbst_why);
	}
	self->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, self->kick);

	for (i = 0; i < 8192; i++) {
		ret = vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 4, self->kick, 0, 0, &id);
		if (ret)
			break;
		ASSERT_EQ(0, ioctl(self->w.be, VBRIDGE_BE_DEL_DOORBELL, (unsigned long)id));
		n += 2;
	}
	EXPECT_EQ(-EAGAIN, ret) {
		TH_LOG("%d unfetched doorbell changes queued without complaint", n);
	}
	EXPECT_LE(4 * VBRIDGE_MAX_DOORBELLS, n);

	/* Every change queued so far arrives, in order. */
	for (;;) {
		ret = vbst_fe_get_doorbell(self->w.fe, &d);
		if (ret)
			break;
		if (!(got & 1)) {
			expect = d.id;
			EXPECT_EQ(0, d.flags & VBRIDGE_DOORBELL_F_DEASSIGN);
			if (d.fd >= 0)
				close(d.fd);
		} else {
			EXPECT_EQ(expect, d.id);
			EXPECT_TRUE(d.flags & VBRIDGE_DOORBELL_F_DEASSIGN);
		}
		got++;
	}
	EXPECT_EQ(-EAGAIN, ret);
	EXPECT_EQ(n, got);
	/* Fetched: there is room again. */
	EXPECT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 4, self->kick, 0, 0, NULL));
}

/* ------------------------------------------------------------------ */
/* Admission                                                           */
/* ------------------------------------------------------------------ */

/* Is the task sleeping in the module's admission wait? */
static bool in_admission(pid_t pid)
{
	char path[64], buf[128];

	snprintf(path, sizeof(path), "/proc/%d/wchan", pid);
	if (vbst_read_file(path, buf, sizeof(buf)))
		return false;
	return strstr(buf, "vbridge_dev_access");
}

/*
 * 256 unread requests fill a device's queue; further callers wait for
 * room.  A queued load whose vCPU is killed leaves the queue: the waiting
 * caller must be woken for the room it made, whatever happens next (here
 * the backend drains the queue, which was no longer full when it read).
 */
TEST_F(rev, room_made_by_a_killed_vcpu_wakes_waiters)
{
	struct vbridge_msg m;
	struct vbst_devinfo di;
	uint64_t end, v;
	int32_t res;
	pid_t load, store;
	int i, status;

	ASSERT_EQ(0, vbst_world_unserved(&self->w, "")) {
		TH_LOG("%s", vbst_why);
	}
	/* A vCPU (another process sharing the VM's file) waits in a load. */
	load = fork();
	ASSERT_LE(0, load);
	if (load == 0) {
		vbst_guest_read(self->w.fe, VBST_BAR_ADDR, 4, &v, &res);
		_exit(0);
	}
	self->child[0] = load;
	end = vbst_now_ms() + VBST_SOON_MS;
	do {
		ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
		if (di.stats[VBRIDGE_STAT_FORWARDED] >= 1)
			break;
		vbst_sleep_ms(10);
	} while (vbst_now_ms() < end);
	ASSERT_EQ(1, di.stats[VBRIDGE_STAT_FORWARDED]);

	/* Stores fill the queue behind it. */
	for (i = 1; i < 256; i++) {
		ASSERT_EQ(0, vbst_guest_write(self->w.fe, VBST_BAR_ADDR + 8, 4, i, &res));
		ASSERT_EQ(0, res);
	}
	/* One more store waits for room. */
	store = fork();
	ASSERT_LE(0, store);
	if (store == 0) {
		if (vbst_guest_write(self->w.fe, VBST_BAR_ADDR + 8, 4, 256, &res) || res)
			_exit(1);
		_exit(0);
	}
	self->child[1] = store;
	end = vbst_now_ms() + VBST_SOON_MS;
	while (!in_admission(store) && vbst_now_ms() < end)
		vbst_sleep_ms(10);
	if (!in_admission(store))
		SKIP(return, "cannot see the store wait in /proc/%d/wchan", store);

	/* The load's vCPU dies: its request leaves the queue. */
	kill(load, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, vbst_wait_child(load, VBST_SOON_MS));
	self->child[0] = 0;
	/* The backend drains what is left. */
	while (vbst_be_read(self->w.be, &m, 0) == 1)
		;

	status = vbst_wait_child(store, VBST_SOON_MS);
	self->child[1] = 0;
	EXPECT_EQ(0, status) {
		TH_LOG("the waiting store never got the room: %d", status);
	}
}

/* ------------------------------------------------------------------ */
/* Interrupt lines                                                     */
/* ------------------------------------------------------------------ */

/*
 * One line's irqfd must not be another line's resample fd (in the VM):
 * each re-assertion of the first would look like an EOI of the second and
 * re-assert it.  Two lines bound crosswise signalled each other from a
 * kworker, without any EOI, for as long as the backend held both high.
 */
TEST_F(rev, irqfd_of_one_line_is_not_the_resample_fd_of_another)
{
	struct vbridge_irq_level lvl = { .level = 1 };
	struct vbst_devinfo di;
	int fe, id, e[4], i;

	ASSERT_EQ(0, vbst_load(""));
	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 2)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, true, false));
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	fe = self->w.fe;
	id = self->w.dev.id;
	for (i = 0; i < 4; i++) {
		e[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_LE(0, e[i]);
	}

	ASSERT_EQ(0, vbst_fe_set_irqfd(fe, id, 0, e[0], e[1]));
	EXPECT_EQ(-EINVAL, vbst_fe_set_irqfd(fe, id, 1, e[1], e[0]));
	EXPECT_EQ(-EINVAL, vbst_fe_set_irqfd(fe, id, 1, e[1], -1));
	EXPECT_EQ(-EINVAL, vbst_fe_set_irqfd(fe, id, 1, e[2], e[0]));
	/* The same role on several lines is fine (lines sharing a GSI). */
	EXPECT_EQ(0, vbst_fe_set_irqfd(fe, id, 1, e[0], e[1]));
	EXPECT_EQ(0, vbst_fe_set_irqfd(fe, id, 1, e[2], e[3]));
	/* A line may swap its own eventfds when no other line uses them. */
	EXPECT_EQ(0, vbst_fe_set_irqfd(fe, id, 0, e[1], e[0]));

	/* Both lines high: one signal each, and nothing keeps signalling. */
	lvl.line = 0;
	ASSERT_EQ(0, ioctl(self->w.be, VBRIDGE_BE_SET_IRQ, &lvl));
	lvl.line = 1;
	ASSERT_EQ(0, ioctl(self->w.be, VBRIDGE_BE_SET_IRQ, &lvl));
	EXPECT_EQ(1, vbst_efd_take(e[1], VBST_SOON_MS));
	EXPECT_EQ(1, vbst_efd_take(e[2], VBST_SOON_MS));
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(2, di.stats[VBRIDGE_STAT_IRQS]);
	for (i = 0; i < 4; i++)
		close(e[i]);
}

TEST_HARNESS_MAIN
