// SPDX-License-Identifier: GPL-2.0
/*
 * The retry policy across a restart of the device provider.
 *
 * backend_outage: VBRIDGE_BE_GET_INFO reports the device's effective
 * retry_timeout_ms (override, else the module parameter) and down_ms, how
 * long the running VM had no open backend before this open: at least the
 * time the node stayed closed; counted from the VM's start when no backend
 * was open then; 0 for an open before the VM, without a VM, and again
 * once a new VM starts.
 *
 * failfast: `vbridge devices` SIGKILLed under a running guest (this
 * process is the VMM, with memfd RAM, and the guest's virtio-blk driver)
 * while a write is in flight (crafted in its in-flight file, as taken by
 * the dead daemon) and another is queued, then started again, twice:
 *
 *  - retry_timeout_ms=0: the guest's accesses fail at once meanwhile
 *    (loads all-ones, the kick dropped), and both writes complete with
 *    VIRTIO_BLK_S_IOERR, the image untouched;
 *  - retry_timeout_ms=-1: the kick waits, both writes complete and land;
 *  - retry_timeout_ms > 0: the same when the daemon is back inside the
 *    window, IOERR when it comes back after it;
 *
 * and in every case a write made after the restart succeeds, each request
 * completes once, and the device stays as the driver set it up.
 *
 * Needs $VBRIDGE_BIN (default /root/vbridge); the failfast tests SKIP
 * without it.
 */
#include <signal.h>
#include <sys/wait.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "kselftest_harness.h"
#include "vbst_dev.h"

/* --- backend_outage: the module alone ------------------------------------ */

FIXTURE(backend_outage) {
	struct vbst_world w;
};

FIXTURE_SETUP(backend_outage)
{
	vbst_world_init(&self->w);
	ASSERT_EQ(0, vbst_load("retry_timeout_ms=250 vmstop_timeout=5"));
	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 1)) {
		TH_LOG("%s", vbst_why);
	}
}

FIXTURE_TEARDOWN(backend_outage)
{
	vbst_world_fini(&self->w);
	EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

/* GET_INFO on the open backend; ~0u when it fails. */
static uint32_t down_ms(int be)
{
	struct vbridge_backend_info bi;

	if (vbst_be_info(be, &bi) || !(bi.flags & VBRIDGE_BE_INFO_F_RETRY))
		return ~0u;
	return bi.down_ms;
}

static int reopen(struct vbst_world *w)
{
	if (w->be >= 0)
		close(w->be);
	w->be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	return w->be;
}

TEST_F(backend_outage, reports_the_retry_timeout_and_its_overrides)
{
	struct vbst_override o = { .has_retry = true };
	struct vbridge_backend_info bi;

	ASSERT_LE(0, reopen(&self->w));
	memset(&bi, 0xa5, sizeof(bi));
	ASSERT_EQ(0, vbst_be_info(self->w.be, &bi));
	EXPECT_EQ(VBRIDGE_BE_INFO_F_RETRY, bi.flags);
	EXPECT_EQ(250, bi.retry_timeout_ms);
	EXPECT_EQ(0, bi.down_ms);
	EXPECT_EQ(0, bi.poll_us | bi.reserved[0] | bi.reserved[1]);

	o.retry_timeout_ms = -1;
	ASSERT_EQ(0, vbst_dev_set(&self->w.nl, VBST_VMID, VBST_NAME, &o));
	ASSERT_EQ(0, vbst_be_info(self->w.be, &bi));
	EXPECT_EQ(-1, bi.retry_timeout_ms);
	o.retry_timeout_ms = 0;
	ASSERT_EQ(0, vbst_dev_set(&self->w.nl, VBST_VMID, VBST_NAME, &o));
	ASSERT_EQ(0, vbst_be_info(self->w.be, &bi));
	EXPECT_EQ(0, bi.retry_timeout_ms);
	/* The parameter changes under an override: the override wins. */
	ASSERT_EQ(0, vbst_write_file(VBRIDGE_PARAM_DIR "retry_timeout_ms", "777"));
	ASSERT_EQ(0, vbst_be_info(self->w.be, &bi));
	EXPECT_EQ(0, bi.retry_timeout_ms);
	/* Overrides cleared: the parameter as it is now. */
	memset(&o, 0, sizeof(o));
	o.clear = true;
	ASSERT_EQ(0, vbst_dev_set(&self->w.nl, VBST_VMID, VBST_NAME, &o));
	ASSERT_EQ(0, vbst_be_info(self->w.be, &bi));
	EXPECT_EQ(777, bi.retry_timeout_ms);
}

/*
 * Bounds taken around the kernel's own moments (before the close, after
 * the open) hold whatever the machine's speed: no timing is assumed.
 */
TEST_F(backend_outage, a_reopened_backend_sees_how_long_it_was_closed)
{
	uint64_t before, after;
	uint32_t d;

	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_LE(0, reopen(&self->w));
	before = vbst_now_ms();
	close(self->w.be);
	self->w.be = -1;
	vbst_sleep_ms(400);
	ASSERT_LE(0, reopen(&self->w));
	after = vbst_now_ms();
	d = down_ms(self->w.be);
	ASSERT_NE(~0u, d);
	EXPECT_LE(400, d);
	EXPECT_GE(after - before, d);
	/* Fixed at the open. */
	vbst_sleep_ms(100);
	EXPECT_EQ(d, down_ms(self->w.be));
	/* A reopen reports its own gap, not the sum. */
	before = vbst_now_ms();
	ASSERT_LE(0, reopen(&self->w));
	after = vbst_now_ms();
	EXPECT_GE(after - before, down_ms(self->w.be));
}

TEST_F(backend_outage, counted_from_the_vm_start_when_no_backend_was_open)
{
	uint64_t before, after;

	before = vbst_now_ms();
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	vbst_sleep_ms(300);
	ASSERT_LE(0, reopen(&self->w));
	after = vbst_now_ms();
	EXPECT_LE(300, down_ms(self->w.be));
	EXPECT_GE(after - before, down_ms(self->w.be));
}

TEST_F(backend_outage, zero_without_a_running_vm)
{
	ASSERT_LE(0, reopen(&self->w));
	close(self->w.be);
	self->w.be = -1;
	vbst_sleep_ms(200);
	ASSERT_LE(0, reopen(&self->w));
	EXPECT_EQ(0, down_ms(self->w.be));
	/* Opened before the VM: the VM never lacked it. */
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	EXPECT_EQ(0, down_ms(self->w.be));
}

TEST_F(backend_outage, a_new_vm_starts_from_zero)
{
	struct vbridge_msg m;
	struct vbst_event e;
	struct vbst_evbuf ev = { 0 };

	ASSERT_EQ(0, vbst_nl_subscribe(&self->w.nl));
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	vbst_sleep_ms(200);
	ASSERT_LE(0, reopen(&self->w));
	EXPECT_LE(200, down_ms(self->w.be));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	/* The VM stops; the backend acknowledges and stays open. */
	close(self->w.fe);
	self->w.fe = -1;
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_ack(self->w.be, m.id));
	ASSERT_EQ(1, vbst_event_wait(&self->w.nl, &ev, VBRIDGE_EV_VM_RELEASED, VBST_VMID,
				     NULL, &e, VBST_SOON_MS));
	EXPECT_EQ(0, down_ms(self->w.be));
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	EXPECT_EQ(0, down_ms(self->w.be));
}

/* --- failfast: the daemon ----------------------------------------------- */

#define BLK_DEVFN	0	/* slot 0, interrupt line 0 */
#define NR_LINES	4
#define ECAM(devfn, reg) (VBST_ECAM_ADDR + ((uint64_t)(devfn) << 12) + (reg))
#define QSZ		8
#define STATE_DIR	"/run/vbridge-failfast-test"
#define IFL_FILE	STATE_DIR "/vm3-" VBST_NAME ".inflight"
#define IFL_BLK		40	/* virtio-blk's record: after the file header */
#define IFL_MARK	(1ULL << 63)
#define DAEMON_LOG	"/tmp/daemon-failfast-test.log"
#define DISK		"/tmp/daemon-failfast-test-disk.img"
#define ST_RUNNING	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
			 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)
#define RINGS_GPA	(VBST_RAM_GPA + 0x20000)
#define DATA_GPA	(VBST_RAM_GPA + 0x100000)

static const char *daemon_bin(void)
{
	const char *p = getenv("VBRIDGE_BIN");

	return p ? p : "/root/vbridge";
}

static pid_t daemon_start(void)
{
	char node[128];
	pid_t pid;
	int fd;

	vbst_be_path(node, sizeof(node), VBST_VMID, VBST_NAME);
	pid = fork();
	if (pid)
		return pid;
	fd = open(DAEMON_LOG, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd >= 0)
		dup2(fd, 2);
	execl(daemon_bin(), "vbridge", "devices", "--pci-bus-devfd", node,
	      "--state-dir", STATE_DIR, "--rwdisk", DISK, (char *)NULL);
	_exit(127);
}

/* How many times the daemon's log has needle. */
static int log_count(const char *needle)
{
	static char buf[65536];
	ssize_t n;
	char *p;
	int fd = open(DAEMON_LOG, O_RDONLY), count = 0;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (p = strstr(buf, needle); p; p = strstr(p + 1, needle))
		count++;
	return count;
}

static bool state_wait(struct vbst_nl *nl, uint32_t set)
{
	uint64_t end = vbst_now_ms() + VBST_SOON_MS;
	struct vbst_devinfo di;

	do {
		if (!vbst_dev_get(nl, VBST_VMID, VBST_NAME, &di) && di.has_state &&
		    (di.state & set) == set)
			return true;
		vbst_sleep_ms(20);
	} while (vbst_now_ms() < end);
	return false;
}

/* The guest's virtio-blk driver: BAR 0 registers, queue 0 of QSZ. */
struct gblk {
	uint64_t bar;
	uint32_t common, notify;
	uint64_t desc, avail, used;
	uint16_t avail_idx, next_desc;
	uint16_t heads[64];
};

static uint64_t rd(int fe, uint64_t addr, unsigned int len, int32_t *res)
{
	uint64_t v = 0;
	int32_t r = 0;

	if (vbst_guest_read(fe, addr, len, &v, &r) || r)
		v = ~0ULL;
	if (res)
		*res = r;
	return v;
}

static int32_t wr(int fe, uint64_t addr, unsigned int len, uint64_t v)
{
	int32_t r = 0;

	if (vbst_guest_write(fe, addr, len, v, &r))
		return -EIO;
	return r;
}

static void *gpa(struct vbst_ram *ram, uint64_t a)
{
	return ram->p + (a - VBST_RAM_GPA);
}

static uint64_t creg(int fe, struct gblk *g, unsigned int off, unsigned int len)
{
	return rd(fe, g->bar + g->common + off, len, NULL);
}

static void cset(int fe, struct gblk *g, unsigned int off, unsigned int len, uint64_t v)
{
	wr(fe, g->bar + g->common + off, len, v);
}

/* Find BAR 0's registers, negotiate VERSION_1, set up queue 0, DRIVER_OK. */
static int gblk_up(int fe, struct vbst_ram *ram, struct gblk *g)
{
	uint64_t cap;
	int guard;

	memset(g, 0, sizeof(*g));
	g->bar = rd(fe, ECAM(BLK_DEVFN, 0x10), 4, NULL) & ~0xfULL;
	g->bar |= rd(fe, ECAM(BLK_DEVFN, 0x14), 4, NULL) << 32;
	g->common = ~0u;
	g->notify = ~0u;
	cap = rd(fe, ECAM(BLK_DEVFN, 0x34), 1, NULL);
	for (guard = 0; cap && cap < 0x100 && guard < 48; guard++) {
		if (rd(fe, ECAM(BLK_DEVFN, cap), 1, NULL) == 0x09) {
			unsigned int type = rd(fe, ECAM(BLK_DEVFN, cap + 3), 1, NULL);
			uint32_t off = rd(fe, ECAM(BLK_DEVFN, cap + 8), 4, NULL);

			if (type == VIRTIO_PCI_CAP_COMMON_CFG)
				g->common = off;
			else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
				g->notify = off;
		}
		cap = rd(fe, ECAM(BLK_DEVFN, cap + 1), 1, NULL);
	}
	if (g->common == ~0u || g->notify == ~0u)
		return -1;
	g->desc = RINGS_GPA;
	g->avail = RINGS_GPA + 0x1000;
	g->used = RINGS_GPA + 0x2000;
	memset(gpa(ram, RINGS_GPA), 0, 0x3000);
	cset(fe, g, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	cset(fe, g, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	     VIRTIO_CONFIG_S_DRIVER);
	cset(fe, g, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	cset(fe, g, VIRTIO_PCI_COMMON_GF, 4, 1);	/* VERSION_1 */
	cset(fe, g, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	     VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	cset(fe, g, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	cset(fe, g, VIRTIO_PCI_COMMON_Q_SIZE, 2, QSZ);
	cset(fe, g, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)g->desc);
	cset(fe, g, VIRTIO_PCI_COMMON_Q_DESCHI, 4, g->desc >> 32);
	cset(fe, g, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)g->avail);
	cset(fe, g, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, g->avail >> 32);
	cset(fe, g, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)g->used);
	cset(fe, g, VIRTIO_PCI_COMMON_Q_USEDHI, 4, g->used >> 32);
	cset(fe, g, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	cset(fe, g, VIRTIO_PCI_COMMON_STATUS, 1, ST_RUNNING);
	return creg(fe, g, VIRTIO_PCI_COMMON_STATUS, 1) == ST_RUNNING ? 0 : -1;
}

/* Make a write of 512 bytes of value at sector available; its head. */
static uint16_t gblk_write(struct vbst_ram *ram, struct gblk *g, uint64_t sector,
			   uint8_t value, uint64_t *status_gpa)
{
	uint64_t base = DATA_GPA + 0x1000 * (g->avail_idx % 64);
	struct virtio_blk_outhdr *h = gpa(ram, base);
	struct vring_desc *desc = gpa(ram, g->desc);
	struct vring_avail *avail = gpa(ram, g->avail);
	uint64_t addr[3] = { base, base + 0x200, base + 0x400 };
	uint32_t len[3] = { sizeof(*h), 512, 1 };
	uint16_t head = g->next_desc % QSZ;
	unsigned int i;

	h->type = VIRTIO_BLK_T_OUT;
	h->ioprio = 0;
	h->sector = sector;
	memset(gpa(ram, base + 0x200), value, 512);
	*(uint8_t *)gpa(ram, base + 0x400) = 0xee;
	for (i = 0; i < 3; i++) {
		uint16_t k = (head + i) % QSZ;

		desc[k].addr = addr[i];
		desc[k].len = len[i];
		desc[k].flags = (i == 2 ? VRING_DESC_F_WRITE : 0) |
				(i < 2 ? VRING_DESC_F_NEXT : 0);
		desc[k].next = (k + 1) % QSZ;
	}
	g->next_desc = (head + 3) % QSZ;
	g->heads[g->avail_idx % 64] = head;
	avail->ring[g->avail_idx % QSZ] = head;
	__atomic_store_n(&avail->idx, ++g->avail_idx, __ATOMIC_RELEASE);
	*status_gpa = base + 0x400;
	return head;
}

static uint64_t kick_addr(struct gblk *g)
{
	return g->bar + g->notify;
}

static uint16_t used_idx(struct vbst_ram *ram, struct gblk *g)
{
	struct vring_used *u = gpa(ram, g->used);

	return __atomic_load_n(&u->idx, __ATOMIC_ACQUIRE);
}

static uint32_t used_id(struct vbst_ram *ram, struct gblk *g, unsigned int i)
{
	struct vring_used *u = gpa(ram, g->used);

	return u->ring[i % QSZ].id;
}

static bool used_wait(struct vbst_ram *ram, struct gblk *g, uint16_t n)
{
	uint64_t end = vbst_now_ms() + VBST_SOON_MS;

	do {
		if ((uint16_t)(used_idx(ram, g) - n) < 0x8000)
			return true;
		vbst_sleep_ms(5);
	} while (vbst_now_ms() < end);
	return false;
}

static int disk_byte(uint64_t off)
{
	int fd = open(DISK, O_RDONLY);
	uint8_t b = 0xff;

	if (fd < 0)
		return -1;
	if (pread(fd, &b, 1, off) != 1)
		b = 0xff;
	close(fd);
	return b;
}

/*
 * Mark head as taken by the dead daemon in its in-flight file: the pop
 * counted, the head marked with the pop's number (struct vq_inflight: a
 * u64 pop count, u16 used index, u16 size, u32 owner, then the marks).
 */
static int mark_taken(uint16_t head)
{
	uint64_t seq, mark;
	int fd, ret = -1;

	fd = open(IFL_FILE, O_RDWR);
	if (fd < 0)
		return -1;
	if (pread(fd, &seq, 8, IFL_BLK) != 8)
		goto out;
	mark = IFL_MARK | seq;
	seq++;
	if (pwrite(fd, &mark, 8, IFL_BLK + 16 + 8 * head) == 8 &&
	    pwrite(fd, &seq, 8, IFL_BLK) == 8)
		ret = 0;
out:
	close(fd);
	return ret;
}

FIXTURE(failfast) {
	struct vbst_nl nl;
	struct vbst_ram ram;
	struct gblk blk;
	int fe;
	int efd[NR_LINES];
	pid_t pid;
	bool loaded;
	uint16_t done;		/* requests completed so far */
	uint8_t next_value;
	uint64_t next_sector;
};

FIXTURE_VARIANT(failfast) {
	const char *params;
	int retry;		/* the module's retry_timeout_ms */
	unsigned int away_ms;	/* the daemon stays away at least this long */
	bool fails;		/* what the takeover must do */
};

/* The guest's accesses fail at once: what was asked before fails. */
FIXTURE_VARIANT_ADD(failfast, retry_0_fails) {
	.params = "retry_timeout_ms=0 vmstop_timeout=5",
	.retry = 0,
	.away_ms = 0,
	.fails = true,
};

/* The guest's accesses wait: what was asked before is done. */
FIXTURE_VARIANT_ADD(failfast, retry_minus_1_replays) {
	.params = "retry_timeout_ms=-1 vmstop_timeout=5",
	.retry = -1,
	.away_ms = 0,
	.fails = false,
};

/*
 * Back inside the window: replayed.  The window is far longer than a
 * restart takes, even in the test VM (a restart takes about a second).
 */
FIXTURE_VARIANT_ADD(failfast, back_inside_the_window_replays) {
	.params = "retry_timeout_ms=60000 vmstop_timeout=5",
	.retry = 60000,
	.away_ms = 0,
	.fails = false,
};

/* Back after the window: the guest's accesses failed, so does its I/O. */
FIXTURE_VARIANT_ADD(failfast, back_after_the_window_fails) {
	.params = "retry_timeout_ms=300 vmstop_timeout=5",
	.retry = 300,
	.away_ms = 800,
	.fails = true,
};

static int vm_start(FIXTURE_DATA(failfast) *self)
{
	struct vbridge_device_info di;
	struct vbridge_attach a = { 0 };
	unsigned int i;
	int ret;

	self->fe = vbst_fe_open(0);
	if (self->fe < 0)
		return self->fe;
	ret = vbst_fe_add_region(self->fe, VBST_RAM_GPA, VBST_RAM_SIZE, self->ram.fd, 0);
	if (!ret)
		ret = vbst_fe_attach(self->fe, VBST_VMID, &a);
	if (!ret)
		ret = vbst_fe_find_device(self->fe, a.nr_devices, VBST_NAME, &di);
	for (i = 0; !ret && i < NR_LINES; i++)
		ret = vbst_fe_set_irqfd(self->fe, di.id, i, self->efd[i], -1);
	return ret;
}

static bool daemon_up(FIXTURE_DATA(failfast) *self)
{
	self->pid = daemon_start();
	return self->pid > 0 &&
	       state_wait(&self->nl, VBRIDGE_DEV_S_OPEN | VBRIDGE_DEV_S_READY);
}

static void daemon_kill(FIXTURE_DATA(failfast) *self)
{
	kill(self->pid, SIGKILL);
	vbst_wait_child(self->pid, VBST_SOON_MS);
	self->pid = 0;
}

FIXTURE_SETUP(failfast)
{
	struct vbst_devspec spec;
	unsigned int i;
	int fd;

	self->fe = -1;
	self->pid = 0;
	self->loaded = false;
	self->ram.fd = -1;
	self->ram.p = NULL;
	self->nl.fd = -1;
	self->done = 0;
	self->next_value = 0x10;
	self->next_sector = 1;
	for (i = 0; i < NR_LINES; i++)
		self->efd[i] = -1;
	if (access(daemon_bin(), X_OK))
		SKIP(return, "%s not found", daemon_bin());
	ASSERT_EQ(0, vbst_load(variant->params));
	self->loaded = true;
	ASSERT_EQ(0, vbst_nl_open(&self->nl));
	vbst_std_spec(&spec, VBST_VMID, VBST_NAME, NR_LINES);
	ASSERT_EQ(0, vbst_dev_add(&self->nl, &spec));
	fd = open(DISK, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 1 << 20));
	close(fd);
	unlink(DAEMON_LOG);
	ASSERT_EQ(0, system("rm -rf " STATE_DIR));
	for (i = 0; i < NR_LINES; i++) {
		self->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_LE(0, self->efd[i]);
	}
	ASSERT_EQ(0, vbst_ram_create(&self->ram, VBST_RAM_SIZE, F_SEAL_SHRINK));
	ASSERT_EQ(0, vm_start(self)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_TRUE(daemon_up(self));
	ASSERT_EQ(0, gblk_up(self->fe, &self->ram, &self->blk));
}

FIXTURE_TEARDOWN(failfast)
{
	unsigned int i;

	if (self->pid > 0)
		daemon_kill(self);
	if (self->fe >= 0)
		close(self->fe);
	for (i = 0; i < NR_LINES; i++)
		if (self->efd[i] >= 0)
			close(self->efd[i]);
	vbst_ram_destroy(&self->ram);
	if (self->nl.fd >= 0)
		vbst_nl_close(&self->nl);
	unlink(DISK);
	if (system("rm -rf " STATE_DIR))
		TH_LOG("cannot remove " STATE_DIR);
	if (self->loaded)
		EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

/* A write made while the daemon serves: it completes with OK, on disk. */
static void write_served(struct __test_metadata *_metadata,
			 FIXTURE_DATA(failfast) *self)
{
	uint64_t sector = self->next_sector++, st;
	uint8_t value = self->next_value++;
	uint16_t head;

	head = gblk_write(&self->ram, &self->blk, sector, value, &st);
	EXPECT_EQ(0, wr(self->fe, kick_addr(&self->blk), 2, 0));
	ASSERT_TRUE(used_wait(&self->ram, &self->blk, self->done + 1));
	EXPECT_EQ(head, used_id(&self->ram, &self->blk, self->done));
	EXPECT_EQ(VIRTIO_BLK_S_OK, *(uint8_t *)gpa(&self->ram, st));
	EXPECT_EQ(value, disk_byte(sector * 512));
	EXPECT_EQ(value, disk_byte(sector * 512 + 511));
	self->done++;
	/* Nothing else completed: the used index is exactly here. */
	EXPECT_EQ(self->done, used_idx(&self->ram, &self->blk));
}

/*
 * Kill the daemon with one write in flight (taken, crafted in its
 * in-flight file) and one queued while it is away; start it again; both
 * complete once, in order, failed or done as the variant says.
 */
static void crash_and_restart(struct __test_metadata *_metadata,
			      FIXTURE_DATA(failfast) *self,
			      const FIXTURE_VARIANT(failfast) *variant,
			      const char *round)
{
	uint64_t sector[2], st[2], data = 0;
	uint8_t value[2];
	uint16_t head[2];
	struct vbst_async kick;
	bool waiting = false;
	int32_t res;
	unsigned int i;

	TH_LOG("%s", round);
	daemon_kill(self);
	for (i = 0; i < 2; i++) {
		sector[i] = self->next_sector++;
		value[i] = self->next_value++;
		head[i] = gblk_write(&self->ram, &self->blk, sector[i], value[i], &st[i]);
		if (i == 0)
			ASSERT_EQ(0, mark_taken(head[0]));
	}
	if (variant->retry == 0) {
		/* Nothing waits: the kick is dropped, a load reads all-ones. */
		EXPECT_EQ(-ETIMEDOUT, wr(self->fe, kick_addr(&self->blk), 2, 0));
		EXPECT_EQ(0, vbst_guest_read(self->fe, self->blk.bar + self->blk.common +
					     VIRTIO_PCI_COMMON_STATUS, 1, &data, &res));
		EXPECT_EQ(~0ULL, data);
		EXPECT_EQ(-ETIMEDOUT, res);
	} else if (variant->away_ms) {
		/* The kick waits for the window, then it is dropped. */
		EXPECT_EQ(-ETIMEDOUT, wr(self->fe, kick_addr(&self->blk), 2, 0));
	} else {
		/* The kick waits for the new daemon (a vCPU stalls). */
		ASSERT_EQ(0, vbst_async_start(&kick, self->fe, kick_addr(&self->blk),
					      2, true, 0));
		waiting = true;
	}
	vbst_sleep_ms(variant->away_ms);
	EXPECT_EQ(self->done, used_idx(&self->ram, &self->blk));

	ASSERT_TRUE(daemon_up(self));
	if (waiting) {
		ASSERT_EQ(0, vbst_async_join(&kick, VBST_SOON_MS));
		EXPECT_EQ(0, kick.ret);
		EXPECT_EQ(0, kick.acc.result);
	}
	ASSERT_TRUE(used_wait(&self->ram, &self->blk, self->done + 2));
	if (variant->fails) {
		/* Failed in order: the one taken, then the ring's. */
		EXPECT_EQ(head[0], used_id(&self->ram, &self->blk, self->done));
		EXPECT_EQ(head[1], used_id(&self->ram, &self->blk, self->done + 1));
	} else {
		/* Done by parallel workers: each once, in either order. */
		EXPECT_TRUE((used_id(&self->ram, &self->blk, self->done) == head[0] &&
			     used_id(&self->ram, &self->blk, self->done + 1) == head[1]) ||
			    (used_id(&self->ram, &self->blk, self->done) == head[1] &&
			     used_id(&self->ram, &self->blk, self->done + 1) == head[0]));
	}
	for (i = 0; i < 2; i++) {
		if (variant->fails) {
			EXPECT_EQ(VIRTIO_BLK_S_IOERR, *(uint8_t *)gpa(&self->ram, st[i]));
			EXPECT_EQ(0, disk_byte(sector[i] * 512));
			EXPECT_EQ(0, disk_byte(sector[i] * 512 + 511));
		} else {
			EXPECT_EQ(VIRTIO_BLK_S_OK, *(uint8_t *)gpa(&self->ram, st[i]));
			EXPECT_EQ(value[i], disk_byte(sector[i] * 512));
			EXPECT_EQ(value[i], disk_byte(sector[i] * 512 + 511));
		}
	}
	self->done += 2;
	/* The guest stays up: its device as it set it up, and it works. */
	EXPECT_EQ(ST_RUNNING, creg(self->fe, &self->blk, VIRTIO_PCI_COMMON_STATUS, 1));
	write_served(_metadata, self);
}

TEST_F_TIMEOUT(failfast, sigkill_with_io_in_flight_and_queued, 240)
{
	char line[160];

	VBST_SKIPPED_IN_SETUP();

	write_served(_metadata, self);
	crash_and_restart(_metadata, self, variant, "first crash");
	/* The takeover kept its own records: a second crash is the same. */
	crash_and_restart(_metadata, self, variant, "second crash");

	snprintf(line, sizeof(line), "retry_timeout_ms %d: policy %s", variant->retry,
		 variant->fails ? "fail" : "replay");
	EXPECT_EQ(2, log_count(line)) {
		TH_LOG("the log does not say '%s' twice", line);
	}
	EXPECT_EQ(2, log_count(variant->fails ? "requests failed: virtio-blk at 00.0: 2" :
			       "requests taken again: virtio-blk at 00.0: 1"));
	EXPECT_EQ(2, log_count("devices resumed"));
}

TEST_HARNESS_MAIN
