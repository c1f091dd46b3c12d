// SPDX-License-Identifier: GPL-2.0
/*
 * `vbridge devices` killed under a running guest and started again, with
 * the real module in between and this process as the VMM and as the
 * guest's virtio driver (rings in the memfd RAM, registers through the
 * ECAM and BAR windows):
 *
 *  - after SIGKILL and a restart, what the driver set up is still there
 *    (status, features, queues, a BAR the guest moved), requests posted
 *    while no daemon ran complete exactly once (with retry_timeout_ms=-1
 *    the kick waits for the new daemon), and the guest gets its
 *    interrupt (with retry_timeout_ms=0 the new daemon fails those
 *    requests instead: daemon_failfast_test.c);
 *  - a request the dead daemon had taken (crafted in its in-flight file)
 *    is done once by the next one;
 *  - a load the dead daemon had read comes back to the guest as all-ones
 *    with -EIO and marks the device broken; the new daemon clears that;
 *  - a saved state of another VM generation, or a damaged one, and a new
 *    VM, give power-on devices instead;
 *  - SIGTERM and a start resume too (an upgrade).
 *
 * Needs $VBRIDGE_BIN (default /root/vbridge); SKIPs without it.
 */
#include <signal.h>
#include <sys/wait.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "kselftest_harness.h"
#include "vbst_dev.h"

/* The device set's slot order: consoles, disks, net, rng, input, vsock. */
#define BLK_DEVFN	0	/* slot 0, interrupt line 0 */
#define RNG_DEVFN	8	/* slot 1, interrupt line 1 */
#define RNG_LINE	1
#define NR_LINES	4
#define ECAM(devfn, reg) (VBST_ECAM_ADDR + ((uint64_t)(devfn) << 12) + (reg))
#define QSZ		8
#define MOVED_BAR	(VBST_BAR_ADDR + 0x80000)
#define STATE_DIR	"/run/vbridge-resume-test"
#define DAEMON_LOG	"/tmp/daemon-resume-test.log"
#define DISK		"/tmp/daemon-resume-test-disk.img"
#define ST_RUNNING	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
			 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)
#define DATA_GPA	(VBST_RAM_GPA + 0x100000)

static const char *daemon_bin(void)
{
	const char *p = getenv("VBRIDGE_BIN");

	return p ? p : "/root/vbridge";
}

/* Start `vbridge devices` on the standard node; stderr appended to the log. */
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
	      "--state-dir", STATE_DIR, "--rwdisk", DISK, "--rng", (char *)NULL);
	_exit(127);
}

/* Wait for pid; its exit status, or 128 + signal, or -1 after timeout_ms. */
static int daemon_wait(pid_t pid, int timeout_ms)
{
	uint64_t end = vbst_now_ms() + timeout_ms;
	int st;

	do {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		vbst_sleep_ms(20);
	} while (vbst_now_ms() < end);
	return -1;
}

/* Whether the daemon's log has needle in it. */
static bool log_has(const char *needle)
{
	char buf[16384];
	ssize_t n;
	int fd = open(DAEMON_LOG, O_RDONLY);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, needle);
}

/* Device state bits over netlink, ~0 when the device cannot be read. */
static uint32_t dev_state(struct vbst_nl *nl)
{
	struct vbst_devinfo di;

	if (vbst_dev_get(nl, VBST_VMID, VBST_NAME, &di) || !di.has_state)
		return ~0u;
	return di.state;
}

/* Wait until the state has every bit of set and none of clear. */
static bool state_wait(struct vbst_nl *nl, uint32_t set, uint32_t clear)
{
	uint64_t end = vbst_now_ms() + VBST_SOON_MS;
	uint32_t s;

	do {
		s = dev_state(nl);
		if (s != ~0u && (s & set) == set && !(s & clear))
			return true;
		vbst_sleep_ms(20);
	} while (vbst_now_ms() < end);
	return false;
}

/* --- the guest's driver ------------------------------------------------- */

/**
 * struct tdev - the test's driver of one virtio-pci function
 * @devfn: its slot
 * @bar: where BAR 0 is
 * @common: common configuration, offset in BAR 0
 * @isr: ISR, offset in BAR 0
 * @notify: notifications, offset in BAR 0
 * @mult: notify_off_multiplier
 * @desc: queue 0's descriptor table, guest-physical
 * @avail: its driver ring
 * @used: its device ring
 * @avail_idx: next avail index to publish
 * @next_desc: next free descriptor
 * @heads: the head of each request made, in order
 */
struct tdev {
	unsigned int devfn;
	uint64_t bar;
	uint32_t common, isr, notify, mult;
	uint64_t desc, avail, used;
	uint16_t avail_idx, next_desc;
	uint16_t heads[64];
};

/* A load: the value, or ~0 when the access failed (*res says why). */
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

/* A store: its result (0, or why it failed). */
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

/* BAR 0 and the virtio capabilities, read through the ECAM window. */
static int tdev_probe(int fe, struct tdev *d, unsigned int devfn)
{
	uint64_t cap;
	int guard;

	memset(d, 0, sizeof(*d));
	d->devfn = devfn;
	d->bar = rd(fe, ECAM(devfn, 0x10), 4, NULL) & ~0xfULL;
	d->bar |= rd(fe, ECAM(devfn, 0x14), 4, NULL) << 32;
	d->common = ~0u;
	d->isr = ~0u;
	d->notify = ~0u;
	cap = rd(fe, ECAM(devfn, 0x34), 1, NULL);
	for (guard = 0; cap && cap < 0x100 && guard < 48; guard++) {
		if (rd(fe, ECAM(devfn, cap), 1, NULL) == 0x09) {
			unsigned int type = rd(fe, ECAM(devfn, cap + 3), 1, NULL);
			uint32_t off = rd(fe, ECAM(devfn, cap + 8), 4, NULL);

			if (type == VIRTIO_PCI_CAP_COMMON_CFG) {
				d->common = off;
			} else if (type == VIRTIO_PCI_CAP_ISR_CFG) {
				d->isr = off;
			} else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
				d->notify = off;
				d->mult = rd(fe, ECAM(devfn, cap + 16), 4, NULL);
			}
		}
		cap = rd(fe, ECAM(devfn, cap + 1), 1, NULL);
	}
	return d->common == ~0u || d->isr == ~0u || d->notify == ~0u ? -1 : 0;
}

static uint64_t creg(int fe, struct tdev *d, unsigned int off, unsigned int len)
{
	return rd(fe, d->bar + d->common + off, len, NULL);
}

static void cset(int fe, struct tdev *d, unsigned int off, unsigned int len,
		 uint64_t v)
{
	wr(fe, d->bar + d->common + off, len, v);
}

/* Reset, negotiate VERSION_1 only, queue 0 of QSZ in RAM, DRIVER_OK. */
static int tdev_bringup(int fe, struct vbst_ram *ram, struct tdev *d,
			uint64_t rings)
{
	d->desc = rings;
	d->avail = rings + 0x1000;
	d->used = rings + 0x2000;
	d->avail_idx = 0;
	d->next_desc = 0;
	memset(gpa(ram, rings), 0, 0x3000);
	cset(fe, d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	cset(fe, d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	cset(fe, d, VIRTIO_PCI_COMMON_STATUS, 1,
	     VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	cset(fe, d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	cset(fe, d, VIRTIO_PCI_COMMON_GF, 4, 0);
	cset(fe, d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	cset(fe, d, VIRTIO_PCI_COMMON_GF, 4, 1);	/* VERSION_1 */
	cset(fe, d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	     VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(creg(fe, d, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK))
		return -1;
	cset(fe, d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	cset(fe, d, VIRTIO_PCI_COMMON_Q_SIZE, 2, QSZ);
	cset(fe, d, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)d->desc);
	cset(fe, d, VIRTIO_PCI_COMMON_Q_DESCHI, 4, d->desc >> 32);
	cset(fe, d, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)d->avail);
	cset(fe, d, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, d->avail >> 32);
	cset(fe, d, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)d->used);
	cset(fe, d, VIRTIO_PCI_COMMON_Q_USEDHI, 4, d->used >> 32);
	cset(fe, d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	cset(fe, d, VIRTIO_PCI_COMMON_STATUS, 1, ST_RUNNING);
	return creg(fe, d, VIRTIO_PCI_COMMON_STATUS, 1) == ST_RUNNING ? 0 : -1;
}

/* Make a chain available (not kicked): n segments of gpa/len/writable. */
static void tdev_add(struct vbst_ram *ram, struct tdev *d, const uint64_t *addr,
		     const uint32_t *len, const bool *write, unsigned int n)
{
	struct vring_desc *desc = gpa(ram, d->desc);
	struct vring_avail *avail = gpa(ram, d->avail);
	uint16_t head = d->next_desc % QSZ;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint16_t k = (head + i) % QSZ;

		desc[k].addr = addr[i];
		desc[k].len = len[i];
		desc[k].flags = (write[i] ? VRING_DESC_F_WRITE : 0) |
				(i + 1 < n ? VRING_DESC_F_NEXT : 0);
		desc[k].next = (k + 1) % QSZ;
	}
	d->next_desc = (head + n) % QSZ;
	d->heads[d->avail_idx % 64] = head;
	avail->ring[d->avail_idx % QSZ] = head;
	__atomic_store_n(&avail->idx, ++d->avail_idx, __ATOMIC_RELEASE);
}

/* A 64-byte entropy request to the rng. */
static void rng_post(struct vbst_ram *ram, struct tdev *d)
{
	uint64_t a = DATA_GPA + 0x1000 * (d->avail_idx % 16);
	uint32_t l = 64;
	bool w = true;

	tdev_add(ram, d, &a, &l, &w, 1);
}

/* A write of 512 bytes of value at sector; the status byte's address. */
static uint64_t blk_post(struct vbst_ram *ram, struct tdev *d, uint64_t sector,
			 uint8_t value)
{
	uint64_t base = DATA_GPA + 0x40000 + 0x1000 * (d->avail_idx % 16);
	struct virtio_blk_outhdr *h = gpa(ram, base);
	uint64_t addr[3] = { base, base + 0x200, base + 0x400 };
	uint32_t len[3] = { sizeof(*h), 512, 1 };
	bool write[3] = { false, false, true };

	h->type = VIRTIO_BLK_T_OUT;
	h->ioprio = 0;
	h->sector = sector;
	memset(gpa(ram, base + 0x200), value, 512);
	*(uint8_t *)gpa(ram, base + 0x400) = 0xee;
	tdev_add(ram, d, addr, len, write, 3);
	return base + 0x400;
}

static int32_t tdev_kick(int fe, struct tdev *d)
{
	return wr(fe, d->bar + d->notify, 2, 0);
}

static uint16_t used_idx(struct vbst_ram *ram, struct tdev *d)
{
	struct vring_used *u = gpa(ram, d->used);

	return __atomic_load_n(&u->idx, __ATOMIC_ACQUIRE);
}

static uint32_t used_id(struct vbst_ram *ram, struct tdev *d, unsigned int i)
{
	struct vring_used *u = gpa(ram, d->used);

	return u->ring[i % QSZ].id;
}

/* Wait until the used index reaches n; false if not within VBST_SOON_MS. */
static bool used_wait(struct vbst_ram *ram, struct tdev *d, uint16_t n)
{
	uint64_t end = vbst_now_ms() + VBST_SOON_MS;

	do {
		if ((uint16_t)(used_idx(ram, d) - n) < 0x8000)
			return true;
		vbst_sleep_ms(5);
	} while (vbst_now_ms() < end);
	return false;
}

/*
 * Take every pending doorbell change, as the VMM does; the number of
 * assignments at addr.
 */
static int doorbells_at(int fe, uint64_t addr)
{
	struct vbridge_doorbell db;
	int n = 0;

	for (;;) {
		memset(&db, 0, sizeof(db));
		if (ioctl(fe, VBRIDGE_GET_DOORBELL, &db))
			break;
		if (!(db.flags & VBRIDGE_DOORBELL_F_DEASSIGN) && db.addr == addr)
			n++;
		if (db.fd >= 0)
			close(db.fd);
	}
	return n;
}

static int disk_byte(uint64_t off)
{
	int fd = open(DISK, O_RDONLY);
	uint8_t b = 0;

	if (fd < 0)
		return -1;
	if (pread(fd, &b, 1, off) != 1)
		b = 0;
	close(fd);
	return b;
}

/* 32-bit FNV-1a, as user/virtio/vstate.c checksums its blob. */
static uint32_t fnv1a(const uint8_t *p, size_t len)
{
	uint32_t h = 0x811c9dc5u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x01000193u;
	}
	return h;
}

/* Blob header offsets (struct vstate_hdr, host byte order). */
#define BLOB_MAGIC	0x53444256u
#define BLOB_CHECKSUM	12
#define BLOB_GEN	16

/* --- the fixture -------------------------------------------------------------- */

FIXTURE(resume) {
	struct vbst_nl nl;
	struct vbst_evbuf ev;
	struct vbst_ram ram;
	struct tdev rng, blk;
	int fe;
	int efd[NR_LINES];
	pid_t pid;
	bool loaded;
};

FIXTURE_VARIANT(resume) {
	const char *params;
	bool waits;	/* accesses wait for a backend (retry_timeout_ms < 0) */
};

/* The guest's accesses wait for the new daemon. */
FIXTURE_VARIANT_ADD(resume, waits) {
	.params = "retry_timeout_ms=-1 vmstop_timeout=5",
	.waits = true,
};

/* Attach the VM, bind its interrupt lines to eventfds. */
static int vm_start(FIXTURE_DATA(resume) *self)
{
	struct vbridge_device_info di;
	struct vbridge_attach a = { 0 };
	unsigned int i;
	int ret;

	self->fe = vbst_fe_open(0);
	if (self->fe < 0)
		return self->fe;
	ret = vbst_fe_add_region(self->fe, VBST_RAM_GPA, VBST_RAM_SIZE,
				 self->ram.fd, 0);
	if (!ret)
		ret = vbst_fe_attach(self->fe, VBST_VMID, &a);
	if (!ret)
		ret = vbst_fe_find_device(self->fe, a.nr_devices, VBST_NAME, &di);
	for (i = 0; !ret && i < NR_LINES; i++)
		ret = vbst_fe_set_irqfd(self->fe, di.id, i, self->efd[i], -1);
	return ret;
}

/* Start the daemon and wait until it declared itself ready. */
static bool daemon_up(FIXTURE_DATA(resume) *self)
{
	self->pid = daemon_start();
	return self->pid > 0 &&
	       state_wait(&self->nl, VBRIDGE_DEV_S_OPEN | VBRIDGE_DEV_S_READY, 0);
}

static void daemon_kill(FIXTURE_DATA(resume) *self, int sig)
{
	kill(self->pid, sig);
	daemon_wait(self->pid, VBST_SOON_MS);
	self->pid = 0;
}

FIXTURE_SETUP(resume)
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
	for (i = 0; i < NR_LINES; i++)
		self->efd[i] = -1;
	if (access(daemon_bin(), X_OK))
		SKIP(return, "%s not found", daemon_bin());
	ASSERT_EQ(0, vbst_load(variant->params));
	self->loaded = true;
	ASSERT_EQ(0, vbst_nl_open(&self->nl));
	ASSERT_EQ(0, vbst_nl_subscribe(&self->nl));
	self->ev.len = 0;
	self->ev.off = 0;
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

	/* The guest's drivers bring both devices up and use the rng once. */
	ASSERT_EQ(0, tdev_probe(self->fe, &self->rng, RNG_DEVFN));
	ASSERT_EQ(0, tdev_probe(self->fe, &self->blk, BLK_DEVFN));
	ASSERT_EQ(0, tdev_bringup(self->fe, &self->ram, &self->rng,
				  VBST_RAM_GPA + 0x10000));
	ASSERT_EQ(0, tdev_bringup(self->fe, &self->ram, &self->blk,
				  VBST_RAM_GPA + 0x20000));
	rng_post(&self->ram, &self->rng);
	ASSERT_EQ(0, tdev_kick(self->fe, &self->rng));
	ASSERT_TRUE(used_wait(&self->ram, &self->rng, 1));
}

FIXTURE_TEARDOWN(resume)
{
	unsigned int i;

	if (self->pid > 0)
		daemon_kill(self, SIGKILL);
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
	/* The backend closed: the VM is released, the module unloads. */
	if (self->loaded)
		EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

/*
 * SIGKILL: the restarted daemon keeps what the driver set up, and the
 * requests posted while no daemon ran complete exactly once.
 */
TEST_F_TIMEOUT(resume, kill9_and_restart_keeps_the_devices, 120)
{
	struct vbst_async kick_rng, kick_blk;
	uint64_t status_gpa, data = 0;
	int32_t res;
	unsigned int i;

	VBST_SKIPPED_IN_SETUP();

	/* The guest moves the rng's BAR. */
	EXPECT_EQ(0, wr(self->fe, ECAM(RNG_DEVFN, 0x04), 2, 0));
	EXPECT_EQ(0, wr(self->fe, ECAM(RNG_DEVFN, 0x10), 4, (uint32_t)MOVED_BAR));
	EXPECT_EQ(0, wr(self->fe, ECAM(RNG_DEVFN, 0x14), 4, MOVED_BAR >> 32));
	EXPECT_EQ(0, wr(self->fe, ECAM(RNG_DEVFN, 0x04), 2, 0x6));
	self->rng.bar = MOVED_BAR;
	ASSERT_EQ(ST_RUNNING, creg(self->fe, &self->rng, VIRTIO_PCI_COMMON_STATUS, 1));
	for (i = 0; i < NR_LINES; i++)
		vbst_efd_take(self->efd[i], 0);
	EXPECT_EQ(1, doorbells_at(self->fe, MOVED_BAR + self->rng.notify));

	daemon_kill(self, SIGKILL);

	/* While no daemon runs, the guest makes requests and kicks. */
	rng_post(&self->ram, &self->rng);
	status_gpa = blk_post(&self->ram, &self->blk, 5, 0x5a);
	if (variant->waits) {
		ASSERT_EQ(0, vbst_async_start(&kick_rng, self->fe, self->rng.bar +
					      self->rng.notify, 2, true, 0));
		ASSERT_EQ(0, vbst_async_start(&kick_blk, self->fe, self->blk.bar +
					      self->blk.notify, 2, true, 0));
	} else {
		/* Nothing waits: the kick is dropped, a load reads all-ones. */
		EXPECT_EQ(-ETIMEDOUT, tdev_kick(self->fe, &self->rng));
		EXPECT_EQ(-ETIMEDOUT, tdev_kick(self->fe, &self->blk));
		EXPECT_EQ(0, vbst_guest_read(self->fe, self->rng.bar + self->rng.common +
					     VIRTIO_PCI_COMMON_STATUS, 1, &data, &res));
		EXPECT_EQ(~0ULL, data);
		EXPECT_EQ(-ETIMEDOUT, res);
	}
	EXPECT_EQ(1, used_idx(&self->ram, &self->rng));
	EXPECT_EQ(0, used_idx(&self->ram, &self->blk));

	ASSERT_TRUE(daemon_up(self));
	if (variant->waits) {
		ASSERT_EQ(0, vbst_async_join(&kick_rng, VBST_SOON_MS));
		ASSERT_EQ(0, vbst_async_join(&kick_blk, VBST_SOON_MS));
		EXPECT_EQ(0, kick_rng.acc.result);
		EXPECT_EQ(0, kick_blk.acc.result);
	}
	/* The requests complete: the kicks, or the new daemon's look. */
	EXPECT_TRUE(used_wait(&self->ram, &self->rng, 2));
	EXPECT_TRUE(used_wait(&self->ram, &self->blk, 1));
	EXPECT_EQ(VIRTIO_BLK_S_OK, *(uint8_t *)gpa(&self->ram, status_gpa));
	EXPECT_EQ(0x5a, disk_byte(5 * 512));
	EXPECT_EQ(0x5a, disk_byte(5 * 512 + 511));
	/* And the guest is interrupted. */
	EXPECT_LT(0, vbst_efd_take(self->efd[RNG_LINE], VBST_SOON_MS));

	/* Not reset: status, queue, BAR as the driver left them. */
	EXPECT_EQ(ST_RUNNING, creg(self->fe, &self->rng, VIRTIO_PCI_COMMON_STATUS, 1));
	EXPECT_EQ(ST_RUNNING, creg(self->fe, &self->blk, VIRTIO_PCI_COMMON_STATUS, 1));
	cset(self->fe, &self->rng, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	EXPECT_EQ(1, creg(self->fe, &self->rng, VIRTIO_PCI_COMMON_Q_ENABLE, 2));
	EXPECT_EQ(QSZ, creg(self->fe, &self->rng, VIRTIO_PCI_COMMON_Q_SIZE, 2));
	EXPECT_EQ(self->rng.desc, creg(self->fe, &self->rng, VIRTIO_PCI_COMMON_Q_DESCLO, 4) |
		  creg(self->fe, &self->rng, VIRTIO_PCI_COMMON_Q_DESCHI, 4) << 32);
	cset(self->fe, &self->rng, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	EXPECT_EQ(1, creg(self->fe, &self->rng, VIRTIO_PCI_COMMON_GF, 4));
	EXPECT_EQ((uint32_t)MOVED_BAR, rd(self->fe, ECAM(RNG_DEVFN, 0x10), 4, NULL) & ~0xfu);
	EXPECT_EQ(0x6, rd(self->fe, ECAM(RNG_DEVFN, 0x04), 2, NULL) & 0x6);
	/* The doorbells are back, the rng's at its moved BAR. */
	EXPECT_EQ(1, doorbells_at(self->fe, MOVED_BAR + self->rng.notify));

	/*
	 * Exactly once: a request made now completes next.  The device
	 * serves its ring in order, so a second completion of an earlier
	 * request would come before it.
	 */
	rng_post(&self->ram, &self->rng);
	EXPECT_EQ(0, tdev_kick(self->fe, &self->rng));
	EXPECT_TRUE(used_wait(&self->ram, &self->rng, 3));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(self->rng.heads[i], used_id(&self->ram, &self->rng, i));
	blk_post(&self->ram, &self->blk, 6, 0x6b);
	EXPECT_EQ(0, tdev_kick(self->fe, &self->blk));
	EXPECT_TRUE(used_wait(&self->ram, &self->blk, 2));
	for (i = 0; i < 2; i++)
		EXPECT_EQ(self->blk.heads[i], used_id(&self->ram, &self->blk, i));
	EXPECT_EQ(0x6b, disk_byte(6 * 512));

	EXPECT_EQ(0, dev_state(&self->nl) & VBRIDGE_DEV_S_BROKEN);
	EXPECT_TRUE(log_has("devices resumed"));
}

/*
 * A load the daemon had read when it died comes back to the guest as
 * all-ones and breaks the device; the restarted daemon mends it.  The
 * test stands in for the daemon that reads and dies.
 */
TEST_F_TIMEOUT(resume, a_lost_load_reads_all_ones_and_broken_is_cleared, 120)
{
	struct vbst_async load;
	struct vbridge_msg m;
	int be;

	VBST_SKIPPED_IN_SETUP();

	daemon_kill(self, SIGKILL);
	be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	ASSERT_LE(0, be);
	ASSERT_EQ(0, vbst_be_expect(be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_set_ready(be, 1));
	ASSERT_EQ(0, vbst_async_start(&load, self->fe, self->rng.bar + self->rng.common +
				      VIRTIO_PCI_COMMON_STATUS, 1, false, 0));
	ASSERT_EQ(0, vbst_be_expect(be, VBRIDGE_MSG_LOAD, &m, VBST_SOON_MS));
	close(be);
	ASSERT_EQ(0, vbst_async_join(&load, VBST_SOON_MS));
	EXPECT_EQ(-EIO, load.acc.result);
	EXPECT_EQ(~0ULL, load.acc.data);
	EXPECT_TRUE(dev_state(&self->nl) & VBRIDGE_DEV_S_BROKEN);

	ASSERT_TRUE(daemon_up(self));
	EXPECT_TRUE(state_wait(&self->nl, VBRIDGE_DEV_S_READY, VBRIDGE_DEV_S_BROKEN));
	EXPECT_EQ(ST_RUNNING, creg(self->fe, &self->rng, VIRTIO_PCI_COMMON_STATUS, 1));
	rng_post(&self->ram, &self->rng);
	EXPECT_EQ(0, tdev_kick(self->fe, &self->rng));
	EXPECT_TRUE(used_wait(&self->ram, &self->rng, 2));
}

/*
 * The in-flight file's layout (user/virtio/vstate.h): a 40-byte header,
 * then per device in slot order and per queue a record of a u64 pop
 * count, a u16 used index, a u16 size, a u32 owner and size u64 marks.
 * virtio-blk comes first, with one queue of 256.
 */
#define IFL_FILE	STATE_DIR "/vm3-" VBST_NAME ".inflight"
#define IFL_BLK		40
#define IFL_MARK	(1ULL << 63)

/*
 * A request the dead daemon had taken from the ring and not completed
 * (crafted in its in-flight file: the pop counted, the head marked) is
 * done by the next daemon, once, and the ring goes on after it.
 */
TEST_F_TIMEOUT(resume, a_request_taken_by_the_dead_daemon_completes_once, 120)
{
	struct {
		uint64_t seq;
		uint16_t used_idx, size;
		uint32_t owner;
		uint64_t head0;
	} rec;
	uint64_t status_gpa;
	int fd;

	VBST_SKIPPED_IN_SETUP();

	daemon_kill(self, SIGKILL);
	status_gpa = blk_post(&self->ram, &self->blk, 7, 0x7c);
	fd = open(IFL_FILE, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(rec), pread(fd, &rec, sizeof(rec), IFL_BLK));
	ASSERT_EQ(256, rec.size);
	ASSERT_EQ(0, rec.owner);
	ASSERT_EQ(0, rec.seq);
	rec.head0 = IFL_MARK | 0;	/* head 0, taken by pop 0 */
	rec.seq = 1;
	ASSERT_EQ(sizeof(rec), pwrite(fd, &rec, sizeof(rec), IFL_BLK));
	close(fd);

	ASSERT_TRUE(daemon_up(self));
	EXPECT_TRUE(used_wait(&self->ram, &self->blk, 1));
	EXPECT_EQ(self->blk.heads[0], used_id(&self->ram, &self->blk, 0));
	EXPECT_EQ(VIRTIO_BLK_S_OK, *(uint8_t *)gpa(&self->ram, status_gpa));
	EXPECT_EQ(0x7c, disk_byte(7 * 512));
	/* A load is answered after VMSTART was handled (and logged). */
	EXPECT_EQ(ST_RUNNING, creg(self->fe, &self->blk, VIRTIO_PCI_COMMON_STATUS, 1));
	EXPECT_TRUE(log_has("1 requests taken again"));
	/* Not popped from the ring a second time: the next one follows. */
	blk_post(&self->ram, &self->blk, 8, 0x8d);
	EXPECT_EQ(0, tdev_kick(self->fe, &self->blk));
	EXPECT_TRUE(used_wait(&self->ram, &self->blk, 2));
	EXPECT_EQ(self->blk.heads[1], used_id(&self->ram, &self->blk, 1));
	EXPECT_EQ(0x8d, disk_byte(8 * 512));
}

/* Rewrite the saved state while no daemon runs: spoil() it, reseal or not. */
static int spoil_state(bool other_generation)
{
	struct vbridge_state_blob sb = { 0 };
	struct vbridge_msg m;
	uint64_t gen;
	uint32_t sum = 0, magic;
	uint8_t *buf;
	int be, ret = -1;

	buf = malloc(VBRIDGE_STATE_MAX);
	be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	if (!buf || be < 0 || vbst_be_expect(be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS))
		goto out;
	sb.buf = (uintptr_t)buf;
	sb.len = VBRIDGE_STATE_MAX;
	if (ioctl(be, VBRIDGE_BE_GET_STATE, &sb) || sb.len < 40)
		goto out;
	memcpy(&magic, buf, 4);
	memcpy(&gen, buf + BLOB_GEN, 8);
	if (magic != BLOB_MAGIC || gen != m.id)
		goto out;
	if (other_generation) {
		gen++;
		memcpy(buf + BLOB_GEN, &gen, 8);
		memcpy(buf + BLOB_CHECKSUM, &sum, 4);
		sum = fnv1a(buf, sb.len);
		memcpy(buf + BLOB_CHECKSUM, &sum, 4);
	} else {
		buf[sb.len - 1] ^= 0x10;	/* a bit flipped */
	}
	if (ioctl(be, VBRIDGE_BE_SET_STATE, &sb))
		goto out;
	ret = 0;
out:
	if (be >= 0)
		close(be);
	free(buf);
	return ret;
}

/* A saved state of another VM generation is not taken over. */
TEST_F_TIMEOUT(resume, a_state_of_another_generation_resets, 120)
{
	VBST_SKIPPED_IN_SETUP();

	daemon_kill(self, SIGKILL);
	ASSERT_EQ(0, spoil_state(true));
	ASSERT_TRUE(daemon_up(self));
	EXPECT_EQ(0, creg(self->fe, &self->rng, VIRTIO_PCI_COMMON_STATUS, 1));
	cset(self->fe, &self->rng, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	EXPECT_EQ(0, creg(self->fe, &self->rng, VIRTIO_PCI_COMMON_Q_ENABLE, 2));
	EXPECT_TRUE(log_has("state is of VM generation"));
	/* The driver can bring it up again. */
	EXPECT_EQ(0, tdev_bringup(self->fe, &self->ram, &self->rng,
				  VBST_RAM_GPA + 0x30000));
	rng_post(&self->ram, &self->rng);
	EXPECT_EQ(0, tdev_kick(self->fe, &self->rng));
	EXPECT_TRUE(used_wait(&self->ram, &self->rng, 1));
}

/* A damaged saved state is refused, with the reason in the log. */
TEST_F_TIMEOUT(resume, a_damaged_state_resets, 120)
{
	VBST_SKIPPED_IN_SETUP();

	daemon_kill(self, SIGKILL);
	ASSERT_EQ(0, spoil_state(false));
	ASSERT_TRUE(daemon_up(self));
	EXPECT_EQ(0, creg(self->fe, &self->rng, VIRTIO_PCI_COMMON_STATUS, 1));
	EXPECT_EQ(0, creg(self->fe, &self->blk, VIRTIO_PCI_COMMON_STATUS, 1));
	EXPECT_TRUE(log_has("saved device state refused: state is damaged"));
}

/* The VM stops while no daemon runs; the next VM gets power-on devices. */
TEST_F_TIMEOUT(resume, a_new_vm_gets_power_on_devices, 120)
{
	struct vbst_event e;

	VBST_SKIPPED_IN_SETUP();

	daemon_kill(self, SIGKILL);
	close(self->fe);
	self->fe = -1;
	ASSERT_EQ(1, vbst_event_wait(&self->nl, &self->ev, VBRIDGE_EV_VM_RELEASED,
				     VBST_VMID, NULL, &e, VBST_SOON_MS));
	ASSERT_EQ(0, vm_start(self)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_TRUE(daemon_up(self));
	EXPECT_EQ(0, creg(self->fe, &self->rng, VIRTIO_PCI_COMMON_STATUS, 1));
	EXPECT_EQ(0, creg(self->fe, &self->blk, VIRTIO_PCI_COMMON_STATUS, 1));
	EXPECT_TRUE(log_has("state is of VM generation"));
}

/* SIGTERM (an upgrade, say) and a start resume as well. */
TEST_F_TIMEOUT(resume, sigterm_and_start_resumes, 120)
{
	VBST_SKIPPED_IN_SETUP();

	kill(self->pid, SIGTERM);
	EXPECT_EQ(0, daemon_wait(self->pid, VBST_SOON_MS));
	self->pid = 0;
	rng_post(&self->ram, &self->rng);
	ASSERT_TRUE(daemon_up(self));
	EXPECT_EQ(ST_RUNNING, creg(self->fe, &self->rng, VIRTIO_PCI_COMMON_STATUS, 1));
	EXPECT_TRUE(used_wait(&self->ram, &self->rng, 2));
	rng_post(&self->ram, &self->rng);
	EXPECT_EQ(0, tdev_kick(self->fe, &self->rng));
	EXPECT_TRUE(used_wait(&self->ram, &self->rng, 3));
	EXPECT_EQ(3, used_idx(&self->ram, &self->rng));
}

TEST_HARNESS_MAIN
