// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of vbridge ctl's pure parts: device references, settings,
 * state and event text, the status tables; and of the binary's behaviour
 * that needs no module (usage errors, --help, --dry-run, exit statuses),
 * by running build/vbridge.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ctl/ctl.h"
#include "lib/log.h"
#include "tap.h"

static void test_devref(void)
{
	struct ctl_devref r;
	char err[256];

	TAP_EQ_INT(ctl_parse_devref("vm3/cvm2rb-pci", &r, err, sizeof(err)), 0, "devref vmN/NAME");
	TAP_CHECK(!r.any_vm && r.vmid == 3 && !strcmp(r.name, "cvm2rb-pci"), "devref vm3 values");
	TAP_EQ_INT(ctl_parse_devref("/dev/virtio/vm1023/x", &r, err, sizeof(err)), 0,
		   "devref node path");
	TAP_CHECK(r.vmid == 1023 && !strcmp(r.name, "x"), "devref node path values");
	TAP_EQ_INT(ctl_parse_devref("cvm2rb-pci", &r, err, sizeof(err)), 0, "devref bare name");
	TAP_CHECK(r.any_vm && !strcmp(r.name, "cvm2rb-pci"), "devref bare name is any VM");
	TAP_EQ_INT(ctl_parse_devref("vm1024/x", &r, err, sizeof(err)), -EINVAL,
		   "devref vmid out of range");
	TAP_CHECK(strstr(err, "1024") != NULL, "devref message quotes the number");
	TAP_EQ_INT(ctl_parse_devref("vmx/x", &r, err, sizeof(err)), -EINVAL, "devref vm not a number");
	TAP_EQ_INT(ctl_parse_devref("vm-1/x", &r, err, sizeof(err)), -EINVAL, "devref negative vm");
	TAP_EQ_INT(ctl_parse_devref("vm/x", &r, err, sizeof(err)), -EINVAL, "devref vm without number");
	TAP_EQ_INT(ctl_parse_devref("vm3/", &r, err, sizeof(err)), -EINVAL, "devref empty name");
	TAP_EQ_INT(ctl_parse_devref("vm3/a/b", &r, err, sizeof(err)), -EINVAL, "devref name with /");
	TAP_EQ_INT(ctl_parse_devref("host3/x", &r, err, sizeof(err)), -EINVAL, "devref not vmN");
	TAP_EQ_INT(ctl_parse_devref("", &r, err, sizeof(err)), -EINVAL, "devref empty");
	TAP_EQ_INT(ctl_parse_devref("/dev/virtio/x", &r, err, sizeof(err)), -EINVAL,
		   "devref node path without vm");
	TAP_EQ_INT(ctl_parse_devref("vm3/abcdefghijklmnopqrstuvwxyz0123456", &r, err, sizeof(err)),
		   -EINVAL, "devref name too long");
}

static void test_set(void)
{
	char *ok[] = { "retry_timeout_ms=-1", "vmstop_timeout=9", "vmstop_autoack=no", "clear" };
	char *one[] = { "vmstop_autoack=yes" };
	char *bad_key[] = { "retry=1" };
	char *bad_val[] = { "retry_timeout_ms=soon" };
	char *big[] = { "retry_timeout_ms=4294967296" };
	char *neg[] = { "vmstop_timeout=-1" };
	char *novalue[] = { "vmstop_autoack" };
	char *clearval[] = { "clear=1" };
	char *inflight[] = { "inflight_timeout_ms=3600000" };
	char *inflight_big[] = { "inflight_timeout_ms=3600001" };
	struct ctl_override o;
	char err[256];

	TAP_EQ_INT(ctl_parse_set(4, ok, &o, err, sizeof(err)), 0, "set: all settings");
	TAP_CHECK(o.clear && o.set == (CTL_OVR_RETRY | CTL_OVR_TIMEOUT | CTL_OVR_AUTOACK),
		  "set: every flag recorded");
	TAP_CHECK(o.retry_timeout_ms == -1 && o.vmstop_timeout == 9 && !o.vmstop_autoack,
		  "set: values");
	TAP_EQ_INT(ctl_parse_set(1, one, &o, err, sizeof(err)), 0, "set: one setting");
	TAP_CHECK(o.set == CTL_OVR_AUTOACK && o.vmstop_autoack && !o.clear, "set: only autoack");
	TAP_EQ_INT(ctl_parse_set(0, NULL, &o, err, sizeof(err)), -EINVAL, "set: nothing");
	TAP_EQ_INT(ctl_parse_set(1, bad_key, &o, err, sizeof(err)), -EINVAL, "set: unknown key");
	TAP_CHECK(strstr(err, "retry=1") != NULL, "set: message quotes the argument");
	TAP_EQ_INT(ctl_parse_set(1, bad_val, &o, err, sizeof(err)), -EINVAL, "set: not a number");
	TAP_EQ_INT(ctl_parse_set(1, big, &o, err, sizeof(err)), -EINVAL, "set: beyond s32");
	TAP_EQ_INT(ctl_parse_set(1, neg, &o, err, sizeof(err)), -EINVAL, "set: negative seconds");
	TAP_EQ_INT(ctl_parse_set(1, novalue, &o, err, sizeof(err)), -EINVAL, "set: key without value");
	TAP_EQ_INT(ctl_parse_set(1, clearval, &o, err, sizeof(err)), -EINVAL, "set: clear=1");
	TAP_EQ_INT(ctl_parse_set(1, inflight, &o, err, sizeof(err)), 0, "set: inflight_timeout_ms");
	TAP_CHECK(o.set == CTL_OVR_INFLIGHT && o.inflight_timeout_ms == 3600000,
		  "set: inflight_timeout_ms recorded");
	TAP_EQ_INT(ctl_parse_set(1, inflight_big, &o, err, sizeof(err)), -EINVAL,
		   "set: inflight_timeout_ms beyond an hour");
	TAP_CHECK(strstr(err, "0..3600000") != NULL, "set: ... says the range");
}

static void test_text(void)
{
	struct ctl_event e = { .ev = VBRIDGE_EV_VMSTART, .has_vmid = true, .vmid = 3,
			       .has_generation = true, .generation = 7, .has_pid = true,
			       .pid = 1234 };
	char buf[256];

	TAP_CHECK(!strcmp(ctl_dev_state_str(0, buf, sizeof(buf)), "-"), "state: none");
	TAP_CHECK(!strcmp(ctl_dev_state_str(VBRIDGE_DEV_S_OPEN | VBRIDGE_DEV_S_READY |
					    VBRIDGE_DEV_S_RUNNING, buf, sizeof(buf)),
			  "open,ready,running"), "state: open,ready,running");
	TAP_CHECK(!strcmp(ctl_dev_state_str(VBRIDGE_DEV_S_BROKEN | 0x100, buf, sizeof(buf)),
			  "broken,0x100"), "state: unknown bits in hex");
	TAP_CHECK(!strcmp(ctl_dev_state_str(0x1f, buf, 8), "open,re"), "state: truncated safely");
	ctl_format_event(&e, buf, sizeof(buf));
	TAP_CHECK(!strcmp(buf, "vmstart vm=3 generation=7 pid=1234"), "event: vmstart line");
	memset(&e, 0, sizeof(e));
	e.ev = VBRIDGE_EV_BACKEND_READY;
	e.has_vmid = e.has_name = true;
	e.vmid = 3;
	strcpy(e.name, "cvm2rb-pci");
	ctl_format_event(&e, buf, sizeof(buf));
	TAP_CHECK(!strcmp(buf, "backend-ready vm=3 device=cvm2rb-pci"), "event: device line");
	e.ev = 99;
	e.has_vmid = e.has_name = false;
	ctl_format_event(&e, buf, sizeof(buf));
	TAP_CHECK(!strcmp(buf, "event-99"), "event: unknown number");
	TAP_CHECK(!strcmp(ctl_vm_state_str(VBRIDGE_VM_S_STOPPING), "stopping"), "vm state text");
}

/* Show text in the TAP log, each line a comment. */
static void log_lines(const char *text)
{
	const char *p = text, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		printf("# %.*s\n", (int)(nl - p), p);
		p = *nl ? nl + 1 : nl;
	}
}

static void test_set_vmm(void)
{
	char *both[] = { "vmm_uid=1000", "vmm-gid=none" };
	char *zero[] = { "vmm-uid=0" };
	char *mixed[] = { "vmm_uid=1", "retry_timeout_ms=1" };
	char *mixed_clear[] = { "clear", "vmm_gid=1" };
	char *minus1[] = { "vmm_uid=4294967295" };
	char *neg[] = { "vmm_uid=-1" };
	char *name[] = { "vmm_gid=kvm" };
	char *empty[] = { "vmm_uid=" };
	char *novalue[] = { "vmm_uid" };
	char *typo[] = { "vmm_pid=1" };
	struct ctl_override o;
	uint32_t vmid;
	char err[256];

	TAP_EQ_INT(ctl_parse_set(2, both, &o, err, sizeof(err)), 0, "set vmm: uid and gid");
	TAP_CHECK(o.vm_set == (CTL_VM_UID | CTL_VM_GID) && o.vmm_uid == 1000 &&
		  o.vmm_gid == VBRIDGE_ID_NONE && !o.set && !o.clear, "set vmm: values, none");
	TAP_EQ_INT(ctl_parse_set(1, zero, &o, err, sizeof(err)), 0, "set vmm: uid 0 (root)");
	TAP_CHECK(o.vm_set == CTL_VM_UID && o.vmm_uid == 0, "set vmm: uid 0 kept");
	TAP_EQ_INT(ctl_parse_set(2, mixed, &o, err, sizeof(err)), -EINVAL,
		   "set vmm: not with device settings");
	TAP_CHECK(strstr(err, "vmN") != NULL, "set vmm: message says VM");
	TAP_EQ_INT(ctl_parse_set(2, mixed_clear, &o, err, sizeof(err)), -EINVAL,
		   "set vmm: not with clear");
	TAP_EQ_INT(ctl_parse_set(1, minus1, &o, err, sizeof(err)), -EINVAL, "set vmm: -1 is no uid");
	TAP_EQ_INT(ctl_parse_set(1, neg, &o, err, sizeof(err)), -EINVAL, "set vmm: negative");
	TAP_EQ_INT(ctl_parse_set(1, name, &o, err, sizeof(err)), -EINVAL, "set vmm: names refused");
	TAP_EQ_INT(ctl_parse_set(1, empty, &o, err, sizeof(err)), -EINVAL, "set vmm: empty");
	TAP_EQ_INT(ctl_parse_set(1, novalue, &o, err, sizeof(err)), -EINVAL, "set vmm: no value");
	TAP_EQ_INT(ctl_parse_set(1, typo, &o, err, sizeof(err)), -EINVAL, "set vmm: unknown key");

	TAP_EQ_INT(ctl_parse_vmref("vm3", &vmid, err, sizeof(err)), 0, "vmref vm3");
	TAP_EQ_INT(vmid, 3, "vmref vm3 value");
	TAP_EQ_INT(ctl_parse_vmref("/dev/virtio/vm1023", &vmid, err, sizeof(err)), 0,
		   "vmref node folder");
	TAP_EQ_INT(vmid, 1023, "vmref node folder value");
	TAP_EQ_INT(ctl_parse_vmref("vm1024", &vmid, err, sizeof(err)), -EINVAL, "vmref 1024");
	TAP_EQ_INT(ctl_parse_vmref("vm3/x", &vmid, err, sizeof(err)), -EINVAL, "vmref a device");
	TAP_EQ_INT(ctl_parse_vmref("vm", &vmid, err, sizeof(err)), -EINVAL, "vmref no number");
	TAP_EQ_INT(ctl_parse_vmref("3", &vmid, err, sizeof(err)), -EINVAL, "vmref bare number");
	TAP_EQ_INT(ctl_parse_vmref("vm-1", &vmid, err, sizeof(err)), -EINVAL, "vmref negative");
}

static void test_status(void)
{
	struct ctl_vm vms[2] = {
		{ .vmid = 4, .state = VBRIDGE_VM_S_STOPPING, .generation = 9, .pid = 77,
		  .nr_devices = 0 },
		{ .vmid = 3, .state = VBRIDGE_VM_S_RUNNING, .generation = 8, .pid = 66,
		  .nr_devices = 1 },
	};
	struct ctl_dev d = {
		.vmid = 3, .name = "cvm2rb-pci", .id = 5, .backend_vmid = 2,
		.state = VBRIDGE_DEV_S_OPEN | VBRIDGE_DEV_S_RUNNING, .nr_windows = 2,
		.windows = { { 0x10000, 0x1000000 }, { 0x1010000, 0x100000 } },
		.nr_irqs = 2, .irqs = { { 3, VBRIDGE_IRQ_F_LEVEL }, { 4, 0 } },
		.retry_timeout_ms = -1, .vmstop_timeout = 5, .vmstop_autoack = true,
		.inflight_timeout_ms = 250,
		.overridden = CTL_OVR_RETRY | CTL_OVR_INFLIGHT, .has_node = true,
		.provider_uid = 1000,
		.provider_gid = 1001, .node_mode = 0640, .vmm_uid = 1002,
		.vmm_gid = VBRIDGE_ID_NONE,
	};
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	d.stats[VBRIDGE_STAT_FORWARDED] = 123;
	d.stats[VBRIDGE_STAT_IRQS] = 45;
	f = open_memstream(&out, &len);
	if (!f)
		abort();
	ctl_print_status(f, vms, 2, &d, 1, true);
	fclose(f);
	log_lines(out);
	TAP_CHECK(strstr(out, "vm3/cvm2rb-pci") != NULL, "status: device named vmN/NAME");
	TAP_CHECK(strstr(out, "open,running") != NULL, "status: device state");
	TAP_CHECK(strstr(out, "123") && strstr(out, "45"), "status: counters");
	TAP_CHECK(strstr(out, "stopping") && strstr(out, "running"), "status: VM states");
	TAP_CHECK(strstr(out, "vm3 ") < strstr(out, "vm4 "), "status: VMs sorted");
	TAP_CHECK(strstr(out, "0x10000..0x100ffff") != NULL, "status -v: windows");
	TAP_CHECK(strstr(out, "4(edge)") != NULL, "status -v: edge line marked");
	TAP_CHECK(strstr(out, "retry_timeout_ms=-1*") != NULL, "status -v: override marked");
	TAP_CHECK(strstr(out, "inflight_timeout_ms=250*") != NULL,
		  "status -v: inflight_timeout_ms, marked");
	TAP_CHECK(strstr(out, "owner 1000 group 1001 mode 0640") != NULL, "status -v: node owner");
	TAP_CHECK(strstr(out, "vmm      uid 1002\n") != NULL, "status -v: vmm owner");
	free(out);
	out = NULL;
	f = open_memstream(&out, &len);
	if (!f)
		abort();
	ctl_print_status(f, NULL, 0, NULL, 0, false);
	fclose(f);
	TAP_CHECK(strstr(out, "No VM attached") && strstr(out, "No device declared"),
		  "status: empty module");
	free(out);
}

/* Run build/vbridge with a shell command line; its exit status. */
static int run(const char *args)
{
	char cmd[512];
	int st;

	snprintf(cmd, sizeof(cmd), "build/vbridge %s >/dev/null 2>&1", args);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_binary(void)
{
	if (access("build/vbridge", X_OK)) {
		printf("ok %d - vbridge binary # SKIP build/vbridge not built\n", ++tap_count);
		return;
	}
	TAP_EQ_INT(run("ctl --help"), EXIT_OK, "ctl --help: 0");
	TAP_EQ_INT(run("ctl load --help"), EXIT_OK, "ctl load --help: 0");
	TAP_EQ_INT(run("ctl unload --help"), EXIT_OK, "ctl unload --help: 0");
	TAP_EQ_INT(run("ctl status --help"), EXIT_OK, "ctl status --help: 0");
	TAP_EQ_INT(run("ctl events --help"), EXIT_OK, "ctl events --help: 0");
	TAP_EQ_INT(run("ctl set --help"), EXIT_OK, "ctl set --help: 0");
	TAP_EQ_INT(run("ctl"), EXIT_USAGE, "ctl alone: usage");
	TAP_EQ_INT(run("ctl frobnicate"), EXIT_USAGE, "unknown subcommand: usage");
	TAP_EQ_INT(run("ctl load"), EXIT_USAGE, "load without overlay: usage");
	TAP_EQ_INT(run("ctl load --bogus x"), EXIT_USAGE, "load bad option: usage");
	TAP_EQ_INT(run("ctl status extra"), EXIT_USAGE, "status extra argument: usage");
	TAP_EQ_INT(run("ctl events --count 0"), EXIT_USAGE, "events --count 0: usage");
	TAP_EQ_INT(run("ctl set vm3/x"), EXIT_USAGE, "set without setting: usage");
	TAP_EQ_INT(run("ctl set vm3/x colour=blue"), EXIT_USAGE, "set bad setting: usage");
	TAP_EQ_INT(run("ctl load -n dts/arm64-vm3-cvm2rb-pci.dts"), EXIT_OK,
		   "load -n arm64 example: 0");
	TAP_EQ_INT(run("ctl load -n dts/x86_64-vm3-cvm2rb-pci.dts"), EXIT_OK,
		   "load -n x86_64 example: 0");
	TAP_EQ_INT(run("ctl load -n dts/arm64-vm3-cvm2rb-pci.dts dts/x86_64-vm3-cvm2rb-pci.dts"),
		   EXIT_USAGE, "load -n of both: the same device twice");
	TAP_EQ_INT(run("ctl load -n /nonexistent.dtbo"), EXIT_USAGE, "load -n missing file: usage");
	TAP_EQ_INT(run("ctl load -n Makefile"), EXIT_USAGE, "load -n of a non-dts file: usage");
	TAP_EQ_INT(run("ctl load -n dts/guest-arm64-cvm2rb-pcie.dtsi"), EXIT_USAGE,
		   "load -n of the guest fragment: nothing to declare");
}

int main(void)
{
	test_devref();
	test_set();
	test_set_vmm();
	test_text();
	test_status();
	test_binary();
	return tap_done();
}
