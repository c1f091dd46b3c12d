// SPDX-License-Identifier: GPL-2.0
/*
 * vbridge ctl against the real module: both dts/ examples round-trip
 * (load -> the module and status show them -> unload), unload by name,
 * all-or-nothing loads, set, owners (and their removal with a vmid's last
 * device), events, and the errors a user meets (module
 * not loaded, no CAP_NET_ADMIN, a malformed overlay) with their exit
 * statuses.  What ctl did is checked over raw netlink, not through ctl.
 *
 * Needs $VBRIDGE_BIN (default /root/vbridge), the examples in
 * $VBRIDGE_DTS (default /root/dts) and dtc in PATH; the tests SKIP
 * without them.
 */
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "vbst_dev.h"
#include "vbst_user.h"

#define ARM64_DTS	"arm64-vm3-cvm2rb-pci.dts"
#define X86_DTS		"x86_64-vm3-cvm2rb-pci.dts"

static const char *ctl_bin(void)
{
	const char *p = getenv("VBRIDGE_BIN");

	return p ? p : "/root/vbridge";
}

static const char *dts_path(const char *file)
{
	static char buf[4][256];
	static int i;
	const char *dir = getenv("VBRIDGE_DTS");

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir ? dir : "/root/dts", file);
	return buf[i];
}

/* Why these tests cannot run here, or NULL. */
static const char *missing(void)
{
	static char why[300];

	if (access(ctl_bin(), X_OK)) {
		snprintf(why, sizeof(why), "%s not found (set VBRIDGE_BIN)", ctl_bin());
		return why;
	}
	if (access(dts_path(ARM64_DTS), R_OK) || access(dts_path(X86_DTS), R_OK)) {
		snprintf(why, sizeof(why), "dts examples not found in %s (set VBRIDGE_DTS)",
			 dts_path(""));
		return why;
	}
	if (system("dtc --version >/dev/null 2>&1"))
		return "dtc not in PATH";
	return NULL;
}

#define DROP_NET_ADMIN ((const char *)1)

/*
 * Run "vbridge ctl ARGS..." (NULL-terminated), its standard output and
 * error together in out; returns its exit status, 128 + signal, or -1.
 * With DROP_NET_ADMIN as the first argument the command runs without
 * CAP_NET_ADMIN.
 */
static int ctl(char *out, size_t len, const char *first, ...)
{
	const char *argv[16] = { ctl_bin(), "ctl" };
	bool drop = first == DROP_NET_ADMIN;
	int n = 2, p[2], st;
	size_t got = 0;
	va_list ap;
	pid_t pid;
	ssize_t r;

	va_start(ap, first);
	for (argv[n] = drop ? va_arg(ap, const char *) : first; argv[n] && n < 15;)
		argv[++n] = va_arg(ap, const char *);
	va_end(ap);
	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		if (drop) {
			struct __user_cap_header_struct h = {
				.version = _LINUX_CAPABILITY_VERSION_3,
			};
			struct __user_cap_data_struct d[2];

			/* Root regains the bounding set on exec: drop it there too. */
			if (prctl(PR_CAPBSET_DROP, CAP_NET_ADMIN, 0, 0, 0) ||
			    syscall(SYS_capget, &h, d))
				_exit(99);
			d[0].effective &= ~CAP_TO_MASK(CAP_NET_ADMIN);
			d[0].permitted &= ~CAP_TO_MASK(CAP_NET_ADMIN);
			d[0].inheritable &= ~CAP_TO_MASK(CAP_NET_ADMIN);
			if (syscall(SYS_capset, &h, d))
				_exit(99);
		}
		execv(argv[0], (char **)argv);
		_exit(98);
	}
	close(p[1]);
	while (pid > 0 && got + 1 < len && (r = read(p[0], out + got, len - 1 - got)) > 0)
		got += r;
	out[got] = '\0';
	close(p[0]);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

FIXTURE(ctl) {
	bool skipped;
	struct vbst_nl nl;
	char out[16384];
	char tmp[64];
};

FIXTURE_SETUP(ctl)
{
	const char *why = missing();

	self->nl.fd = -1;
	self->tmp[0] = '\0';
	/* This harness runs the body after a SKIP in the setup: flag it. */
	if (why) {
		self->skipped = true;
		SKIP(return, "%s", why);
	}
	ASSERT_EQ(0, vbst_load(""));
	ASSERT_EQ(0, vbst_nl_open(&self->nl));
}

FIXTURE_TEARDOWN(ctl)
{
	if (self->skipped)
		return;
	if (self->tmp[0])
		unlink(self->tmp);
	vbst_nl_close(&self->nl);
	if (vbst_is_loaded())
		EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

/*
 * This harness runs a test's body even after its setup called SKIP(), so
 * each body is wrapped to run only when the setup found what it needs.
 */
#define CTL_TEST(name)								\
	static void body_##name(struct __test_metadata *_metadata,		\
			       FIXTURE_DATA(ctl) *self);			\
	TEST_F(ctl, name)							\
	{									\
		if (!self->skipped)						\
			body_##name(_metadata, self);				\
	}									\
	static void body_##name(struct __test_metadata *_metadata,		\
			       FIXTURE_DATA(ctl) *self)

static int dev_count(struct vbst_nl *nl)
{
	struct vbst_devinfo d[4];

	return vbst_dev_dump(nl, d, 4);
}

/* Write an overlay source to a temporary file named in self->tmp. */
static int write_tmp(char *tmp, const char *src)
{
	int fd;

	strcpy(tmp, "/tmp/ctl-test-XXXXXX.dts");
	fd = mkstemps(tmp, 4);
	if (fd < 0)
		return -errno;
	if (write(fd, src, strlen(src)) != (ssize_t)strlen(src)) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

CTL_TEST(arm64_example_round_trip)
{
	struct vbst_devinfo di;
	unsigned int i;

	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "load", dts_path(ARM64_DTS), NULL)) {
		TH_LOG("%s", self->out);
	}
	EXPECT_NE(NULL, strstr(self->out, "vm3/cvm2rb-pci"));
	/* What the module got is the guide's device. */
	ASSERT_EQ(0, vbst_dev_get(&self->nl, 3, "cvm2rb-pci", &di));
	EXPECT_EQ(2, di.backend_vmid);
	ASSERT_EQ(2, di.nr_windows);
	EXPECT_EQ(0x10000, di.windows[0].addr);
	EXPECT_EQ(16 << 20, di.windows[0].size);
	EXPECT_EQ(0x01010000, di.windows[1].addr);
	EXPECT_EQ(1 << 20, di.windows[1].size);
	ASSERT_EQ(29, di.nr_irqs);
	for (i = 0; i < di.nr_irqs; i++) {
		EXPECT_EQ(3 + i, di.irqs[i].num);
		EXPECT_EQ(VBRIDGE_IRQ_F_LEVEL, di.irqs[i].flags);
	}
	EXPECT_TRUE(vbst_be_exists(3, "cvm2rb-pci"));
	/* status shows it. */
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "status", NULL));
	EXPECT_NE(NULL, strstr(self->out, "vm3/cvm2rb-pci")) {
		TH_LOG("%s", self->out);
	}
	EXPECT_NE(NULL, strstr(self->out, "No VM attached"));
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "status", "-v", NULL));
	EXPECT_NE(NULL, strstr(self->out, "0x10000..0x100ffff"));
	EXPECT_NE(NULL, strstr(self->out, "0x1010000..0x110ffff"));
	/* unload by overlay takes it away again. */
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "unload", dts_path(ARM64_DTS), NULL)) {
		TH_LOG("%s", self->out);
	}
	EXPECT_EQ(-ENOENT, vbst_dev_get(&self->nl, 3, "cvm2rb-pci", &di));
	EXPECT_FALSE(vbst_be_exists(3, "cvm2rb-pci"));
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "status", NULL));
	EXPECT_EQ(NULL, strstr(self->out, "cvm2rb-pci"));
}

CTL_TEST(x86_64_example_round_trip)
{
	struct vbst_devinfo di;
	unsigned int i;

	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "load", dts_path(X86_DTS), NULL)) {
		TH_LOG("%s", self->out);
	}
	ASSERT_EQ(0, vbst_dev_get(&self->nl, 3, "cvm2rb-pci", &di));
	EXPECT_EQ(0xe0000000, di.windows[0].addr);
	EXPECT_EQ(0xe1000000, di.windows[1].addr);
	ASSERT_EQ(8, di.nr_irqs);
	for (i = 0; i < di.nr_irqs; i++)
		EXPECT_EQ(16 + i, di.irqs[i].num);
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "status", NULL));
	EXPECT_NE(NULL, strstr(self->out, "vm3/cvm2rb-pci"));
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "unload", dts_path(X86_DTS), NULL));
	EXPECT_EQ(0, dev_count(&self->nl));
	EXPECT_FALSE(vbst_be_exists(3, "cvm2rb-pci"));
}

CTL_TEST(unload_by_name)
{
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "load", dts_path(ARM64_DTS), NULL));
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "unload", "vm3/cvm2rb-pci", NULL)) {
		TH_LOG("%s", self->out);
	}
	EXPECT_EQ(0, dev_count(&self->nl));
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "load", dts_path(ARM64_DTS), NULL));
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "unload", "/dev/virtio/vm3/cvm2rb-pci",
			 NULL));
	EXPECT_EQ(0, dev_count(&self->nl));
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "load", dts_path(ARM64_DTS), NULL));
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "unload", "cvm2rb-pci", NULL));
	EXPECT_EQ(0, dev_count(&self->nl));
	/* Nothing left to remove. */
	EXPECT_EQ(1, ctl(self->out, sizeof(self->out), "unload", "vm3/cvm2rb-pci", NULL));
	EXPECT_NE(NULL, strstr(self->out, "vm3/cvm2rb-pci"));
}

CTL_TEST(bare_name_in_two_vms_is_ambiguous)
{
	struct vbst_devspec d;

	vbst_std_spec(&d, 4, "cvm2rb-pci", 1);
	ASSERT_EQ(0, vbst_dev_add(&self->nl, &d));
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "load", dts_path(ARM64_DTS), NULL));
	EXPECT_EQ(2, ctl(self->out, sizeof(self->out), "unload", "cvm2rb-pci", NULL));
	EXPECT_NE(NULL, strstr(self->out, "vmN/cvm2rb-pci")) {
		TH_LOG("%s", self->out);
	}
	EXPECT_EQ(2, dev_count(&self->nl));
}

CTL_TEST(load_twice_fails_and_keeps_the_first)
{
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "load", dts_path(ARM64_DTS), NULL));
	EXPECT_EQ(1, ctl(self->out, sizeof(self->out), "load", dts_path(ARM64_DTS), NULL));
	EXPECT_NE(NULL, strstr(self->out, "vm3/cvm2rb-pci")) {
		TH_LOG("%s", self->out);
	}
	EXPECT_EQ(1, dev_count(&self->nl));
	EXPECT_TRUE(vbst_be_exists(3, "cvm2rb-pci"));
}

CTL_TEST(load_is_all_or_nothing)
{
	static const char src[] =
		"/dts-v1/;\n/plugin/;\n&{/} {\n\tvm5 {\n"
		"\t\tcompatible = \"vl,virtio-bridge-vm\";\n\t\tvl,vmid = <5>;\n"
		"\t\t#address-cells = <2>;\n\t\t#size-cells = <2>;\n"
		"\t\tfirst@10000 {\n\t\t\tcompatible = \"vl,virtio-device,mmio\";\n"
		"\t\t\treg = <0x0 0x10000 0x0 0x1000000>;\n\t\t\tinterrupts = <0 3 4>;\n"
		"\t\t\tvl,device-vmid = <2>;\n\t\t\tvl,device-name = \"first\";\n\t\t};\n"
		"\t\tsecond@40000000 {\n\t\t\tcompatible = \"vl,virtio-device,mmio\";\n"
		"\t\t\treg = <0x0 0x40000000 0x0 0x100000>;\n\t\t\tinterrupts = <0 4 4>;\n"
		"\t\t\tvl,device-vmid = <2>;\n\t\t\tvl,device-name = \"taken\";\n\t\t};\n"
		"\t};\n};\n";
	struct vbst_devspec d;

	/* "taken" exists already: the module refuses the second device. */
	vbst_std_spec(&d, 5, "taken", 1);
	d.windows[0].addr = 0x50000000;
	d.windows[1].addr = 0x51000000;
	ASSERT_EQ(0, vbst_dev_add(&self->nl, &d));
	ASSERT_EQ(0, write_tmp(self->tmp, src));
	EXPECT_EQ(1, ctl(self->out, sizeof(self->out), "load", self->tmp, NULL));
	EXPECT_NE(NULL, strstr(self->out, "vm5/taken")) {
		TH_LOG("%s", self->out);
	}
	/* The first one was declared, then removed again. */
	EXPECT_EQ(1, dev_count(&self->nl));
	EXPECT_FALSE(vbst_be_exists(5, "first"));
	EXPECT_TRUE(vbst_be_exists(5, "taken"));
}

CTL_TEST(malformed_overlay_is_refused_before_the_module)
{
	static const char src[] =
		"/dts-v1/;\n/plugin/;\n&{/} {\n\tvm3 {\n"
		"\t\tcompatible = \"vl,virtio-bridge-vm\";\n\t\tvl,vmid = <3>;\n"
		"\t\t#address-cells = <2>;\n\t\t#size-cells = <2>;\n"
		"\t\tbroken@10000 {\n\t\t\tcompatible = \"vl,virtio-device,mmio\";\n"
		"\t\t\treg = <0x0 0x10000 0x1000000>;\n\t\t\tinterrupts = <0 3 4>;\n"
		"\t\t\tvl,device-vmid = <2>;\n\t\t\tvl,device-name = \"broken\";\n\t\t};\n"
		"\t};\n};\n";

	ASSERT_EQ(0, write_tmp(self->tmp, src));
	EXPECT_EQ(2, ctl(self->out, sizeof(self->out), "load", self->tmp, NULL));
	EXPECT_NE(NULL, strstr(self->out, "broken@10000"));
	EXPECT_NE(NULL, strstr(self->out, "reg")) {
		TH_LOG("%s", self->out);
	}
	EXPECT_EQ(0, dev_count(&self->nl));
}

CTL_TEST(set_and_clear_overrides)
{
	struct vbst_devinfo di;

	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "load", dts_path(ARM64_DTS), NULL));
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "set", "vm3/cvm2rb-pci",
			 "retry_timeout_ms=0", "vmstop_timeout=2", "vmstop_autoack=no",
			 "inflight_timeout_ms=750", NULL)) {
		TH_LOG("%s", self->out);
	}
	ASSERT_EQ(0, vbst_dev_get(&self->nl, 3, "cvm2rb-pci", &di));
	EXPECT_TRUE(di.has_retry_timeout_ms);
	EXPECT_EQ(0, di.eff_retry_timeout_ms);
	EXPECT_EQ(2, di.eff_vmstop_timeout);
	EXPECT_EQ(0, di.eff_vmstop_autoack);
	EXPECT_TRUE(di.has_inflight_timeout_ms);
	EXPECT_EQ(750, di.eff_inflight_timeout_ms);
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "status", "-v", NULL));
	EXPECT_NE(NULL, strstr(self->out, "retry_timeout_ms=0*")) {
		TH_LOG("%s", self->out);
	}
	EXPECT_NE(NULL, strstr(self->out, "inflight_timeout_ms=750*")) {
		TH_LOG("%s", self->out);
	}
	/* Out of range: refused before netlink, and by the module. */
	EXPECT_NE(0, ctl(self->out, sizeof(self->out), "set", "vm3/cvm2rb-pci",
			 "inflight_timeout_ms=3600001", NULL));
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "set", "cvm2rb-pci", "clear", NULL));
	ASSERT_EQ(0, vbst_dev_get(&self->nl, 3, "cvm2rb-pci", &di));
	EXPECT_FALSE(di.has_retry_timeout_ms);
	EXPECT_FALSE(di.has_vmstop_timeout);
	EXPECT_FALSE(di.has_vmstop_autoack);
	EXPECT_FALSE(di.has_inflight_timeout_ms);
	EXPECT_EQ(1000, di.eff_retry_timeout_ms);
	EXPECT_EQ(0, di.eff_inflight_timeout_ms);
	/* A device that does not exist. */
	EXPECT_EQ(1, ctl(self->out, sizeof(self->out), "set", "vm9/nothing", "clear", NULL));
}

/*
 * Start "vbridge ctl events" with its standard output on *fd, and wait
 * until it has joined the group (events before that go unseen): declare
 * and remove probe devices of vm 6 until one shows.  What it printed so
 * far is left in buf.  Returns its pid, or -1 (buf then says why).
 */
static pid_t events_start(struct vbst_nl *nl, int *fd, char *buf, size_t len)
{
	struct vbst_devspec d;
	struct pollfd pfd;
	char name[32];
	ssize_t r = 0;
	int p[2], i;
	pid_t pid;

	snprintf(buf, len, "cannot start vbridge ctl events");
	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], 1);
		execl(ctl_bin(), ctl_bin(), "ctl", "events", NULL);
		_exit(98);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	for (i = 0; i < 50 && r <= 0; i++) {
		snprintf(name, sizeof(name), "probe%d", i);
		vbst_std_spec(&d, 6, name, 1);
		if (vbst_dev_add(nl, &d) || vbst_dev_del(nl, 6, name))
			break;
		if (poll(&pfd, 1, 200) == 1)
			r = read(p[0], buf, len - 1);
	}
	if (r <= 0) {
		snprintf(buf, len, "vbridge ctl events printed nothing");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(p[0]);
		return -1;
	}
	buf[r] = '\0';
	*fd = p[0];
	return pid;
}

CTL_TEST(events_prints_one_line_per_event)
{
	struct vbst_devspec d;
	char buf[4096];
	struct pollfd pfd;
	size_t got = 0;
	int fd = -1, st;
	pid_t pid;
	ssize_t r;

	pid = events_start(&self->nl, &fd, buf, sizeof(buf));
	ASSERT_LT(0, pid) {
		TH_LOG("%s", buf);
	}
	/*
	 * The first line is a probe's: its DEV_ADD, or its DEV_DEL when
	 * ctl events subscribed between the two.
	 */
	EXPECT_TRUE(!strncmp(buf, "dev-added vm=6 device=probe", 27) ||
		    !strncmp(buf, "dev-removed vm=6 device=probe", 29)) {
		TH_LOG("%s", buf);
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	/* Now subscribed: one line per event, in order. */
	vbst_std_spec(&d, 7, "watched", 1);
	ASSERT_EQ(0, vbst_dev_add(&self->nl, &d));
	ASSERT_EQ(0, vbst_dev_del(&self->nl, 7, "watched"));
	while (!strstr(buf, "dev-removed vm=7 device=watched\n") &&
	       poll(&pfd, 1, VBST_SOON_MS) == 1) {
		r = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (r <= 0)
			break;
		got += r;
		buf[got] = '\0';
	}
	EXPECT_NE(NULL, strstr(buf, "dev-added vm=7 device=watched\ndev-removed vm=7 device=watched\n")) {
		TH_LOG("%s", buf);
	}
	/* SIGINT ends it cleanly. */
	kill(pid, SIGINT);
	EXPECT_EQ(0, waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	close(fd);
}

/*
 * A SIGINT that comes while ctl events is reading or printing events, not
 * waiting for them, still ends it.  It used to set the stop flag only for
 * the next wait to block for ever.  A burst of events keeps it busy when
 * the signal comes; a few rounds make a wait-time arrival unlikely to hide
 * the bug.
 */
CTL_TEST(events_ends_on_sigint_while_busy)
{
	struct vbst_devspec d;
	char buf[4096], name[32];
	int round, i, fd = -1, st = 0;
	pid_t pid, done;
	int ms;

	for (round = 0; round < 4; round++) {
		pid = events_start(&self->nl, &fd, buf, sizeof(buf));
		ASSERT_LT(0, pid) {
			TH_LOG("%s", buf);
		}
		ASSERT_EQ(0, fcntl(fd, F_SETFL, O_NONBLOCK));
		for (i = 0; i < 100; i++) {
			snprintf(name, sizeof(name), "burst%d", i);
			vbst_std_spec(&d, 8, name, 1);
			ASSERT_EQ(0, vbst_dev_add(&self->nl, &d));
			ASSERT_EQ(0, vbst_dev_del(&self->nl, 8, name));
		}
		kill(pid, SIGINT);
		/* Drain its output so it never waits on a full pipe. */
		for (done = 0, ms = 0; !done && ms < VBST_SOON_MS; ms += 50) {
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			done = waitpid(pid, &st, WNOHANG);
			if (!done)
				usleep(50000);
		}
		if (!done) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		close(fd);
		ASSERT_EQ(pid, done) {
			TH_LOG("round %d: vbridge ctl events still running %d ms after SIGINT",
			       round, VBST_SOON_MS);
		}
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
}

CTL_TEST(changes_need_cap_net_admin)
{
	ASSERT_EQ(1, ctl(self->out, sizeof(self->out), DROP_NET_ADMIN, "load",
			 dts_path(ARM64_DTS), NULL));
	EXPECT_NE(NULL, strstr(self->out, "CAP_NET_ADMIN")) {
		TH_LOG("%s", self->out);
	}
	EXPECT_EQ(0, dev_count(&self->nl));
	/* Reading needs no privilege. */
	EXPECT_EQ(0, ctl(self->out, sizeof(self->out), DROP_NET_ADMIN, "status", NULL)) {
		TH_LOG("%s", self->out);
	}
}

CTL_TEST(module_not_loaded)
{
	vbst_nl_close(&self->nl);
	ASSERT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
	EXPECT_EQ(1, ctl(self->out, sizeof(self->out), "load", dts_path(ARM64_DTS), NULL));
	EXPECT_NE(NULL, strstr(self->out, "not loaded")) {
		TH_LOG("%s", self->out);
	}
	EXPECT_EQ(1, ctl(self->out, sizeof(self->out), "status", NULL));
	/* The dry run needs no module. */
	EXPECT_EQ(0, ctl(self->out, sizeof(self->out), "load", "-n", dts_path(X86_DTS), NULL));
	EXPECT_NE(NULL, strstr(self->out, "0xe0000000"));
}

/*
 * The owners of an overlay reach the module: the node's owner, group and
 * mode, and who may attach the vmid; ctl set vmN changes the latter, and
 * without CAP_NET_ADMIN it cannot.
 */
CTL_TEST(owners_from_overlay_and_set)
{
	static const char src[] =
		"/dts-v1/;\n/plugin/;\n&{/} {\n"
		"  vm5 { compatible = \"vl,virtio-bridge-vm\"; vl,vmid = <5>;\n"
		"    #address-cells = <2>; #size-cells = <2>; vl,vmm-uid = <4244>;\n"
		"    d@10000 { compatible = \"vl,virtio-device,mmio\";\n"
		"      reg = <0x0 0x10000 0x0 0x100000>; interrupts = <0 3 4>;\n"
		"      vl,device-vmid = <2>; vl,device-name = \"owned\";\n"
		"      vl,provider-uid = <4242>; vl,provider-gid = <4243>;\n"
		"      vl,node-mode = <0x1a0>; }; };\n};\n";
	struct vbst_devinfo di;
	struct stat st;

	ASSERT_EQ(0, write_tmp(self->tmp, src));
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "load", self->tmp, NULL)) {
		TH_LOG("%s", self->out);
	}
	ASSERT_EQ(0, vbst_dev_get(&self->nl, 5, "owned", &di));
	EXPECT_TRUE(di.has_node);
	EXPECT_EQ(4242, di.provider_uid);
	EXPECT_EQ(4243, di.provider_gid);
	EXPECT_EQ(0640, di.node_mode);
	EXPECT_TRUE(di.has_vmm_uid);
	EXPECT_EQ(4244, di.vmm_uid);
	EXPECT_FALSE(di.has_vmm_gid);
	ASSERT_EQ(0, stat("/dev/virtio/vm5/owned", &st));
	EXPECT_EQ(4242, st.st_uid);
	EXPECT_EQ(4243, st.st_gid);
	EXPECT_EQ(0640, st.st_mode & 07777);

	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "set", "vm5", "vmm_uid=none",
			 "vmm-gid=4245", NULL)) {
		TH_LOG("%s", self->out);
	}
	ASSERT_EQ(0, vbst_dev_get(&self->nl, 5, "owned", &di));
	EXPECT_FALSE(di.has_vmm_uid);
	EXPECT_TRUE(di.has_vmm_gid);
	EXPECT_EQ(4245, di.vmm_gid);
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "status", "-v", NULL));
	EXPECT_NE(NULL, strstr(self->out, "owner 4242 group 4243 mode 0640")) {
		TH_LOG("%s", self->out);
	}
	EXPECT_NE(NULL, strstr(self->out, "vmm      group 4245"));
	EXPECT_EQ(1, ctl(self->out, sizeof(self->out), DROP_NET_ADMIN, "set", "vm5",
			 "vmm_uid=0", NULL));
	EXPECT_NE(NULL, strstr(self->out, "CAP_NET_ADMIN")) {
		TH_LOG("%s", self->out);
	}
	ASSERT_EQ(0, vbst_dev_get(&self->nl, 5, "owned", &di));
	EXPECT_FALSE(di.has_vmm_uid);
	EXPECT_EQ(0, ctl(self->out, sizeof(self->out), "unload", "vm5/owned", NULL));
}

/*
 * A vmid whose last device is unloaded loses its owner: an overlay that
 * declares devices for it later without vl,vmm-uid leaves it to
 * CAP_SYS_ADMIN, and its old owner, attacking as itself, cannot attach it
 * and be served by the new overlay's provider.
 */
CTL_TEST(owner_goes_with_the_last_device)
{
	static const char owned[] =
		"/dts-v1/;\n/plugin/;\n&{/} {\n"
		"  vm5 { compatible = \"vl,virtio-bridge-vm\"; vl,vmid = <5>;\n"
		"    #address-cells = <2>; #size-cells = <2>; vl,vmm-uid = <4244>;\n"
		"    d@10000 { compatible = \"vl,virtio-device,mmio\";\n"
		"      reg = <0x0 0x10000 0x0 0x100000>; interrupts = <0 3 4>;\n"
		"      vl,device-vmid = <2>; vl,device-name = \"owned\"; }; };\n};\n";
	static const char unowned[] =
		"/dts-v1/;\n/plugin/;\n&{/} {\n"
		"  vm5 { compatible = \"vl,virtio-bridge-vm\"; vl,vmid = <5>;\n"
		"    #address-cells = <2>; #size-cells = <2>;\n"
		"    d@200000 { compatible = \"vl,virtio-device,mmio\";\n"
		"      reg = <0x0 0x200000 0x0 0x100000>; interrupts = <0 3 4>;\n"
		"      vl,device-vmid = <2>; vl,device-name = \"fresh\"; }; };\n};\n";
	struct attach_arg a = { .vmid = 5 };
	struct vbst_devinfo di;

	ASSERT_EQ(0, write_tmp(self->tmp, owned));
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "load", self->tmp, NULL)) {
		TH_LOG("%s", self->out);
	}
	ASSERT_EQ(0, vbst_dev_get(&self->nl, 5, "owned", &di));
	EXPECT_TRUE(di.has_vmm_uid);

	/* While vm5 has a device left, its owner stays. */
	ASSERT_EQ(0, write_tmp(self->tmp, unowned));
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "load", self->tmp, NULL)) {
		TH_LOG("%s", self->out);
	}
	EXPECT_EQ(0, ctl(self->out, sizeof(self->out), "unload", "vm5/fresh", NULL));
	EXPECT_EQ(NULL, strstr(self->out, "owner removed")) {
		TH_LOG("%s", self->out);
	}
	ASSERT_EQ(0, vbst_dev_get(&self->nl, 5, "owned", &di));
	EXPECT_TRUE(di.has_vmm_uid);
	EXPECT_EQ(4244, di.vmm_uid);

	EXPECT_EQ(0, ctl(self->out, sizeof(self->out), "unload", "vm5/owned", NULL));
	EXPECT_NE(NULL, strstr(self->out, "vm5: no device left, owner removed")) {
		TH_LOG("%s", self->out);
	}
	ASSERT_EQ(0, ctl(self->out, sizeof(self->out), "load", self->tmp, NULL)) {
		TH_LOG("%s", self->out);
	}
	ASSERT_EQ(0, vbst_dev_get(&self->nl, 5, "fresh", &di));
	EXPECT_FALSE(di.has_vmm_uid);
	EXPECT_FALSE(di.has_vmm_gid);
	a.fe = vbst_fe_open(0);
	ASSERT_LE(0, a.fe);
	EXPECT_EQ(-EPERM, run_as(4244, 4244, NULL, 0, try_attach, &a));
	close(a.fe);
	/* An unload that leaves no device behind and no owner says nothing of one. */
	EXPECT_EQ(0, ctl(self->out, sizeof(self->out), "unload", self->tmp, NULL));
	EXPECT_EQ(NULL, strstr(self->out, "owner removed")) {
		TH_LOG("%s", self->out);
	}
}

TEST_HARNESS_MAIN
