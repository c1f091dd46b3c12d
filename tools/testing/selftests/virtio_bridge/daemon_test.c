// SPDX-License-Identifier: GPL-2.0
/*
 * The device provider `vbridge devices` serving a node through the real
 * module, with this process as the VMM: PCI config space through the ECAM
 * window, virtio registers through the BAR window, the VMSTOP
 * acknowledgement and the re-map at VMSTART, the --test-no-ack switch
 * against auto-ack, one provider per node, and exit statuses.
 *
 * Needs $VBRIDGE_BIN (default /root/vbridge); SKIPs without it.
 */
#include <signal.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vbst_dev.h"

/* The device set's slot order: consoles, disks, net, rng, input, vsock. */
#define BLK_DEVFN	0	/* slot 0 */
#define RNG_DEVFN	8	/* slot 1 */
#define ECAM(devfn, reg) (VBST_ECAM_ADDR + ((uint64_t)(devfn) << 12) + (reg))

static const char *daemon_bin(void)
{
	const char *p = getenv("VBRIDGE_BIN");

	return p ? p : "/root/vbridge";
}

/* Start `vbridge devices` on the standard node with extra arguments. */
static pid_t daemon_start(const char *disk, const char *extra)
{
	char node[128];
	pid_t pid;

	vbst_be_path(node, sizeof(node), VBST_VMID, VBST_NAME);
	pid = fork();
	if (pid)
		return pid;
	execl(daemon_bin(), "vbridge", "devices", "--pci-bus-devfd", node,
	      "--rng", "--rwdisk", disk, extra, (char *)NULL);
	_exit(127);
}

/* Wait for pid; its exit status, or 128 + signal, or -1 after timeout_ms. */
static int daemon_wait(pid_t pid, int timeout_ms)
{
	uint64_t end = vbst_now_ms() + timeout_ms;
	int st;

	while (vbst_now_ms() < end) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		vbst_sleep_ms(20);
	}
	return -1;
}

static uint64_t cfg_read(int fe, unsigned int devfn, unsigned int reg,
			 unsigned int len, int32_t *result)
{
	uint64_t v = 0;

	if (vbst_guest_read(fe, ECAM(devfn, reg), len, &v, result))
		return ~0ULL;
	return v;
}

FIXTURE(daemon) {
	struct vbst_nl nl;
	struct vbst_evbuf ev;
	struct vbst_ram ram;
	char disk[64];
	int fe;
	pid_t pid;
};

FIXTURE_VARIANT(daemon) {
	const char *params;
	const char *extra;	/* daemon argument */
};

/* Only the daemon's own acknowledgement can free the vmid. */
FIXTURE_VARIANT_ADD(daemon, acks) {
	.params = "vmstop_autoack=N vmstop_timeout=60 retry_timeout_ms=10000",
	.extra = "-v",
};

/* The daemon never acknowledges; the module's auto-ack must. */
FIXTURE_VARIANT_ADD(daemon, no_ack) {
	.params = "vmstop_autoack=Y vmstop_timeout=1 retry_timeout_ms=10000",
	.extra = "--test-no-ack",
};

FIXTURE_SETUP(daemon)
{
	struct vbst_devspec spec;
	int fd;

	self->fe = -1;
	self->pid = 0;
	if (access(daemon_bin(), X_OK))
		SKIP(return, "%s not found", daemon_bin());
	ASSERT_EQ(0, vbst_load(variant->params));
	ASSERT_EQ(0, vbst_nl_open(&self->nl));
	ASSERT_EQ(0, vbst_nl_subscribe(&self->nl));
	self->ev.len = self->ev.off = 0;
	vbst_std_spec(&spec, VBST_VMID, VBST_NAME, 4);
	ASSERT_EQ(0, vbst_dev_add(&self->nl, &spec));

	snprintf(self->disk, sizeof(self->disk), "/tmp/daemon-test-disk.img");
	fd = open(self->disk, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 1 << 20));
	close(fd);

	ASSERT_EQ(0, vbst_ram_create(&self->ram, VBST_RAM_SIZE, F_SEAL_SHRINK));
	self->fe = vbst_fe_open(0);
	ASSERT_LE(0, self->fe);
	ASSERT_EQ(0, vbst_fe_add_region(self->fe, VBST_RAM_GPA, VBST_RAM_SIZE,
					self->ram.fd, 0));
	ASSERT_EQ(0, vbst_fe_attach(self->fe, VBST_VMID, NULL));
	self->pid = daemon_start(self->disk, variant->extra);
	ASSERT_LT(0, self->pid);
}

FIXTURE_TEARDOWN(daemon)
{
	if (self->pid > 0) {
		kill(self->pid, SIGKILL);
		daemon_wait(self->pid, 5000);
	}
	if (self->fe >= 0)
		close(self->fe);
	vbst_ram_destroy(&self->ram);
	vbst_nl_close(&self->nl);
	unlink(self->disk);
	/* The backend closed: the VM is released, the module unloads. */
	EXPECT_EQ(0, vbst_unload());
}

/* Vendor/device ids of every slot, read through the ECAM window. */
TEST_F(daemon, config_space_through_the_bridge)
{
	int32_t res = 1;

	VBST_SKIPPED_IN_SETUP();

	/* The first load waits (retry_timeout_ms) until the daemon is ready. */
	EXPECT_EQ(0x10441af4, cfg_read(self->fe, RNG_DEVFN, 0, 4, &res));
	EXPECT_EQ(0, res);
	EXPECT_EQ(0x10421af4, cfg_read(self->fe, BLK_DEVFN, 0, 4, &res));
	EXPECT_EQ(0x1af4, cfg_read(self->fe, BLK_DEVFN, 0, 2, &res));
	/* An empty slot reads all-ones, as on real hardware. */
	EXPECT_EQ(0xffffffff, cfg_read(self->fe, 16, 0, 4, &res));
	EXPECT_EQ(0, res);
	/* Interrupt pin A, line k for slot k (the bridge's convention). */
	EXPECT_EQ(1, cfg_read(self->fe, BLK_DEVFN, 0x3d, 1, &res));
}

/*
 * The BARs the daemon placed are inside window 1, memory decoding is on,
 * and the virtio common configuration answers through the BAR window.
 */
TEST_F(daemon, virtio_registers_through_the_bar_window)
{
	uint64_t bar = 0, cap, common = 0;
	int32_t res;
	int bir = -1, guard;

	VBST_SKIPPED_IN_SETUP();

	ASSERT_EQ(0x10441af4, cfg_read(self->fe, RNG_DEVFN, 0, 4, &res));
	EXPECT_EQ(0x2, cfg_read(self->fe, RNG_DEVFN, 4, 2, &res) & 0x2);
	/* Walk the capability list to the common configuration. */
	cap = cfg_read(self->fe, RNG_DEVFN, 0x34, 1, &res);
	for (guard = 0; cap && guard < 48; guard++) {
		if (cfg_read(self->fe, RNG_DEVFN, cap, 1, &res) == 0x09 &&
		    cfg_read(self->fe, RNG_DEVFN, cap + 3, 1, &res) == 1) {
			bir = cfg_read(self->fe, RNG_DEVFN, cap + 4, 1, &res);
			common = cfg_read(self->fe, RNG_DEVFN, cap + 8, 4, &res);
			break;
		}
		cap = cfg_read(self->fe, RNG_DEVFN, cap + 1, 1, &res);
	}
	ASSERT_LE(0, bir);
	ASSERT_GT(6, bir);
	bar = cfg_read(self->fe, RNG_DEVFN, 0x10 + 4 * bir, 4, &res) & ~0xfULL;
	if (cfg_read(self->fe, RNG_DEVFN, 0x10 + 4 * bir, 4, &res) & 0x4)
		bar |= cfg_read(self->fe, RNG_DEVFN, 0x14 + 4 * bir, 4, &res) << 32;
	EXPECT_LE(VBST_BAR_ADDR, bar);
	EXPECT_GT(VBST_BAR_ADDR + VBST_BAR_SIZE, bar);
	/* num_queues (offset 0x12) of virtio-rng is 1. */
	EXPECT_EQ(0, vbst_guest_read(self->fe, bar + common + 0x12, 2, &cap, &res));
	EXPECT_EQ(0, res);
	EXPECT_EQ(1, cap);
	/* A store goes through too: select queue 0, read its maximum size. */
	EXPECT_EQ(0, vbst_guest_write(self->fe, bar + common + 0x16, 2, 0, &res));
	EXPECT_EQ(0, vbst_guest_read(self->fe, bar + common + 0x18, 2, &cap, &res));
	EXPECT_NE(0, cap);
	EXPECT_EQ(0, cap & (cap - 1));
}

/*
 * Stopping the VM: the daemon acknowledges (variant acks: autoack is off
 * and the timeout is a minute, so only its ack frees the vmid) or the
 * module auto-acks for it after one second (variant no_ack).  Either way
 * the next VM of the vmid is served again at once, with RAM re-mapped.
 */
TEST_F(daemon, vmstop_then_the_next_vm_is_served)
{
	struct vbst_event e;
	uint32_t want;
	int32_t res;

	VBST_SKIPPED_IN_SETUP();

	ASSERT_EQ(0x10441af4, cfg_read(self->fe, RNG_DEVFN, 0, 4, &res));
	close(self->fe);
	self->fe = -1;
	want = strcmp(variant->extra, "--test-no-ack") ?
		VBRIDGE_EV_VMSTOP_ACK : VBRIDGE_EV_VMSTOP_AUTOACK;
	ASSERT_EQ(1, vbst_event_wait(&self->nl, &self->ev, want, VBST_VMID,
				     VBST_NAME, &e, VBST_SOON_MS)) {
		TH_LOG("no %s for %s", vbst_event_name(want), VBST_NAME);
	}
	ASSERT_EQ(1, vbst_event_wait(&self->nl, &self->ev, VBRIDGE_EV_VM_RELEASED,
				     VBST_VMID, NULL, &e, VBST_SOON_MS));
	/* The daemon survived the stop, and serves the next VM. */
	EXPECT_EQ(-1, daemon_wait(self->pid, 0));
	self->fe = vbst_fe_open(O_NONBLOCK);
	ASSERT_LE(0, self->fe);
	ASSERT_EQ(0, vbst_fe_add_region(self->fe, VBST_RAM_GPA, VBST_RAM_SIZE,
					self->ram.fd, 0));
	ASSERT_EQ(0, vbst_fe_attach(self->fe, VBST_VMID, NULL));
	EXPECT_EQ(0x10441af4, cfg_read(self->fe, RNG_DEVFN, 0, 4, &res));
	EXPECT_EQ(0, res);
}

/* SIGTERM stops the daemon with status 0 and the device is not ready. */
TEST_F(daemon, sigterm_stops_cleanly)
{
	struct vbst_devinfo di;
	int32_t res;

	VBST_SKIPPED_IN_SETUP();

	ASSERT_EQ(0x10441af4, cfg_read(self->fe, RNG_DEVFN, 0, 4, &res));
	ASSERT_EQ(0, kill(self->pid, SIGTERM));
	EXPECT_EQ(0, daemon_wait(self->pid, VBST_SOON_MS));
	self->pid = 0;
	ASSERT_EQ(0, vbst_dev_get(&self->nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(0, di.state & (VBRIDGE_DEV_S_OPEN | VBRIDGE_DEV_S_READY));
}

/* A second provider for the same node is refused; the first keeps going. */
TEST_F(daemon, one_provider_per_node)
{
	int32_t res;
	pid_t second;

	VBST_SKIPPED_IN_SETUP();

	ASSERT_EQ(0x10441af4, cfg_read(self->fe, RNG_DEVFN, 0, 4, &res));
	second = daemon_start(self->disk, "-v");
	ASSERT_LT(0, second);
	EXPECT_EQ(1, daemon_wait(second, VBST_SOON_MS));
	EXPECT_EQ(0x10441af4, cfg_read(self->fe, RNG_DEVFN, 0, 4, &res));
	EXPECT_EQ(0, res);
}

/* Options that cannot work are refused with status 2 before serving. */
TEST(bad_invocations)
{
	static const char *const argvs[][6] = {
		{ "vbridge", "devices", NULL },				/* no node */
		{ "vbridge", "devices", "--pci-bus-devfd", "/dev/virtio/vm9/none", "--rng", NULL },
		{ "vbridge", "devices", "--pci-bus-devfd", "/dev/null", "--bogus", NULL },
		{ "vbridge", "devices", "--pci-bus-devfd", "/dev/null",
		  "--serial=hardware=serial,type=sink", NULL },	/* a UART */
	};
	unsigned int i;

	if (access(daemon_bin(), X_OK))
		SKIP(return, "%s not found", daemon_bin());
	for (i = 0; i < ARRAY_SIZE(argvs); i++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (!pid) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 2);
			execv(daemon_bin(), (char *const *)argvs[i]);
			_exit(127);
		}
		EXPECT_EQ(2, daemon_wait(pid, VBST_SOON_MS)) {
			TH_LOG("invocation %u", i);
		}
	}
}

TEST_HARNESS_MAIN
