// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/devices/device_set.c: the device options (good and
 * bad values, through getopt_long as a host uses them), the console and
 * UART answers, realizing onto a bus (slots, failure leaves the bus
 * empty), and the start / pause / reset / stop / free lifetime.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "devices/devices.h"
#include "devices/virtio_devs.h"
#include "tap.h"
#include "vtest.h"

/* Parse argv through getopt_long with the device options. */
static int parse_args(struct device_set *s, int argc, char **argv)
{
	int opt, ret = 0;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", device_set_long_options, NULL)) != -1) {
		int r = device_set_parse(s, opt, optarg);

		if (r <= 0)
			return -1;
		ret++;
	}
	return ret;
}

/* One option: returns device_set_parse's answer on a fresh set. */
static int one(const char *opt, const char *val)
{
	struct device_set *s = device_set_new();
	char *argv[3] = { "t", (char *)opt, (char *)val };
	int r = parse_args(s, val ? 3 : 2, argv);

	device_set_free(s);
	return r > 0 ? 1 : -1;
}

static void test_table(void)
{
	const struct option *o;
	bool vals_ok = true;
	int n = 0;

	for (o = device_set_long_options; o->name; o++, n++)
		if (o->val < 0x1000)
			vals_ok = false;
	TAP_EQ_INT(n, 12, "table: eleven device options, one with two spellings (--host_ip, --host-ip)");
	TAP_CHECK(vals_ok, "table: every .val >= 0x1000");
	TAP_CHECK(strstr(device_set_usage(), "--rwdisk") &&
		  strstr(device_set_usage(), "--cid"), "table: usage text");
	{
		struct device_set *s = device_set_new();

		TAP_EQ_INT(device_set_parse(s, 'x', "a"), 0, "parse: not a device option");
		device_set_free(s);
	}
}

static void test_good(void)
{
	TAP_EQ_INT(one("--serial", "hardware=virtio-console,type=stdout,num=1,console"), 1,
		   "good: virtio-console on stdout as the console");
	TAP_EQ_INT(one("--serial", "hardware=serial,type=file,num=2,path=/tmp/x.log"), 1,
		   "good: UART 2 to a file");
	TAP_EQ_INT(one("--serial", "type=sink"), 1, "good: defaults (serial, num 1)");
	TAP_EQ_INT(one("--serial", "hardware=virtio-console,num=8,stdin=on"), 1,
		   "good: virtio-console num 8 with stdin");
	TAP_EQ_INT(one("--rwdisk", "/tmp/a.img"), 1, "good: --rwdisk PATH");
	TAP_EQ_INT(one("--rwdisk", "/tmp/a.img,serial=abc,direct"), 1,
		   "good: --rwdisk with serial and direct");
	TAP_EQ_INT(one("--disk", "/tmp/a.img,direct=no"), 1, "good: --disk direct=no");
	TAP_EQ_INT(one("--host_ip", "192.168.7.1"), 1, "good: --host_ip");
	TAP_EQ_INT(one("--netmask", "255.255.255.252"), 1, "good: --netmask /30");
	TAP_EQ_INT(one("--netmask", "0.0.0.0"), 1, "good: --netmask /0");
	TAP_EQ_INT(one("--mac", "52:54:00:12:34:56"), 1, "good: --mac");
	TAP_EQ_INT(one("--mac", "02:AB:cd:ef:00:01"), 1, "good: --mac mixed case");
	TAP_EQ_INT(one("--tap", "tap0"), 1, "good: --tap");
	TAP_EQ_INT(one("--rng", NULL), 1, "good: --rng");
	TAP_EQ_INT(one("--evdev", "/dev/input/event0"), 1, "good: --evdev");
	TAP_EQ_INT(one("--cid", "3"), 1, "good: --cid 3");
	TAP_EQ_INT(one("--cid", "4294967294,uds=/tmp/v.sock"), 1, "good: --cid max with uds");
	TAP_EQ_INT(one("--cid", "0x10"), 1, "good: --cid in hex");
	TAP_EQ_INT(one("--vhost-user", "block,socket=/run/vu.sock"), 1,
		   "good: --vhost-user TYPE,socket= (crosvm's form)");
	TAP_EQ_INT(one("--vhost-user", "type=blk,socket=/run/vu.sock,num_queues=4"), 1,
		   "good: --vhost-user type=blk with num_queues");
	TAP_EQ_INT(one("--vhost-user", "fs,socket=/run/fs.sock,tag=share"), 1,
		   "good: --vhost-user fs with a tag");
	/* 0: no reconnection; 3600: the most. */
	TAP_CHECK(one("--vhost-user", "block,socket=/run/vu.sock,reconnect=0") == 1 &&
		  one("--vhost-user", "blk,socket=/run/vu.sock,reconnect=30") == 1 &&
		  one("--vhost-user", "block,reconnect=3600,socket=/run/vu.sock") == 1,
		  "good: --vhost-user reconnect=0, 30, 3600");
}

/* Each of bad (option, value, why) is refused alone. */
static void refused(const char *tag, const char *const bad[][3], size_t n)
{
	char msg[128];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(msg, sizeof(msg), "%s: %s %s (%s) refused", tag, bad[i][0],
			 bad[i][1], bad[i][2]);
		TAP_EQ_INT(one(bad[i][0], bad[i][1]), -1, msg);
	}
}

static void test_bad(void)
{
	static const char *const bad[][3] = {
		{ "--serial", "hardware=virtio-gpu", "unknown hardware" },
		{ "--serial", "type=syslog", "unsupported type" },
		{ "--serial", "num=0", "num 0" },
		{ "--serial", "num=9,hardware=virtio-console", "num 9" },
		{ "--serial", "hardware=serial,num=5", "UART num 5" },
		{ "--serial", "num=x", "num not a number" },
		{ "--serial", "type=file", "type=file without path" },
		{ "--serial", "type=stdout,path=/tmp/x", "path without type=file" },
		{ "--serial", "console=maybe", "console not a boolean" },
		{ "--serial", "speed=9600", "unknown key" },
		{ "--serial", "num=1,,type=sink", "empty item" },
		{ "--serial", "type=sink,", "trailing comma" },
		{ "--rwdisk", "", "empty path" },
		{ "--rwdisk", "path=/tmp/a", "key=value instead of a path" },
		{ "--rwdisk", "/tmp/a,serial=123456789012345678901", "serial of 21 chars" },
		{ "--rwdisk", "/tmp/a,serial=", "empty serial" },
		{ "--rwdisk", "/tmp/a,serial=a\tb", "serial with a tab" },
		{ "--rwdisk", "/tmp/a,cache=none", "unknown disk key" },
		{ "--disk", "/tmp/a,direct=2", "direct not a boolean" },
		{ "--host_ip", "192.168.1", "short address" },
		{ "--host_ip", "192.168.1.256", "octet 256" },
		{ "--host_ip", "fe80::1", "IPv6 address" },
		{ "--netmask", "255.0.255.0", "non-contiguous netmask" },
		{ "--netmask", "24", "prefix length instead of a mask" },
		{ "--mac", "52:54:00:12:34", "short MAC" },
		{ "--mac", "52:54:00:12:34:5g", "non-hex MAC" },
		{ "--mac", "52-54-00-12-34-56", "dashes" },
		{ "--mac", "01:00:5e:00:00:01", "multicast MAC" },
		{ "--mac", "00:00:00:00:00:00", "zero MAC" },
		{ "--mac", "52:54:00:12:34:56:", "trailing colon" },
		{ "--tap", "averyveryverylongname", "name too long" },
		{ "--tap", "a/b", "slash in name" },
		{ "--tap", "", "empty tap name" },
		{ "--evdev", "", "empty evdev path" },
		{ "--cid", "2", "CID 2 (the host)" },
		{ "--cid", "0", "CID 0" },
		{ "--cid", "4294967295", "CID -1 (any)" },
		{ "--cid", "-3", "negative CID" },
		{ "--cid", "3,port=5", "unknown vsock key" },
		{ "--cid", "uds=/tmp/x", "uds without a CID" },
		{ "--cid", "3,uds=", "empty uds" },
		{ "--vhost-user", "socket=/run/vu.sock", "no type" },
		{ "--vhost-user", "block", "no socket" },
		{ "--vhost-user", "net,socket=/run/vu.sock", "a type not served" },
		{ "--vhost-user", "block,socket=", "empty socket" },
		{ "--vhost-user", "fs,socket=/run/fs.sock", "fs without a tag" },
		{ "--vhost-user", "block,socket=/run/vu.sock,tag=x", "tag on a block device" },
		{ "--vhost-user", "fs,socket=/s,tag=0123456789012345678901234567890123456", "tag of 37 bytes" },
		{ "--vhost-user", "block,socket=/s,num_queues=0", "0 queues" },
		{ "--vhost-user", "block,socket=/s,num_queues=65", "65 queues" },
		{ "--vhost-user", "block,socket=/s,cache=none", "unknown key" },
		{ "--vhost-user", "block,socket=/s,reconnect", "reconnect without a value" },
		{ "--vhost-user", "block,socket=/s,reconnect=", "empty reconnect" },
		{ "--vhost-user", "block,socket=/s,reconnect=-1", "negative reconnect" },
		{ "--vhost-user", "block,socket=/s,reconnect=3601", "reconnect over an hour" },
		{ "--vhost-user", "block,socket=/s,reconnect=5s", "reconnect with a unit" },
	};

	refused("bad", bad, sizeof(bad) / sizeof(bad[0]));
}

static void test_combinations(void)
{
	struct device_set *s;
	const struct serial_spec *u;
	char *a1[] = { "t", "--serial", "hardware=serial,num=1,console",
		       "--serial", "hardware=serial,num=1" };
	char *a2[] = { "t", "--serial", "num=1,console", "--serial",
		       "hardware=virtio-console,num=1,console" };
	char *a3[] = { "t", "--serial", "num=1,stdin", "--serial",
		       "hardware=virtio-console,stdin" };
	char *a4[] = { "t", "--cid", "3", "--cid", "4" };
	char *a5[] = { "t", "--mac", "52:54:00:12:34:56", "--mac", "52:54:00:12:34:57" };
	char *a6[] = { "t", "--serial", "hardware=virtio-console,num=2,type=sink",
		       "--serial", "hardware=virtio-console,num=1,type=sink,console",
		       "--serial", "hardware=serial,num=2,type=sink",
		       "--serial", "hardware=virtio-console,num=1,type=sink" };
	char *a7[] = { "t", "--serial", "hardware=virtio-console,num=3,type=sink,console",
		       "--serial", "hardware=virtio-console,num=1,type=sink",
		       "--serial", "hardware=serial,num=2,type=file,path=/tmp/u" };

	s = device_set_new();
	TAP_EQ_INT(parse_args(s, 5, a1), -1, "combo: the same UART twice refused");
	device_set_free(s);
	s = device_set_new();
	TAP_EQ_INT(parse_args(s, 5, a2), -1, "combo: two consoles refused");
	device_set_free(s);
	s = device_set_new();
	TAP_EQ_INT(parse_args(s, 5, a3), -1, "combo: two stdin readers refused");
	device_set_free(s);
	s = device_set_new();
	TAP_EQ_INT(parse_args(s, 5, a4), -1, "combo: --cid twice refused");
	device_set_free(s);
	s = device_set_new();
	TAP_EQ_INT(parse_args(s, 5, a5), -1, "combo: --mac twice refused");
	device_set_free(s);
	s = device_set_new();
	TAP_EQ_INT(parse_args(s, 9, a6), -1,
		   "combo: the same virtio-console num twice refused");
	device_set_free(s);

	s = device_set_new();
	TAP_EQ_INT(parse_args(s, 7, a7), 3, "combo: consoles and a UART");
	TAP_CHECK(device_set_console(s) && !strcmp(device_set_console(s), "hvc1"),
		  "combo: virtio-console num 3 after num 1 is hvc1");
	TAP_EQ_INT(device_set_uarts(s, &u), 1, "combo: one UART");
	TAP_CHECK(u[0].num == 2 && u[0].type == SERIAL_FILE && !strcmp(u[0].path, "/tmp/u"),
		  "combo: UART spec num, type and path");
	device_set_free(s);

	s = device_set_new();
	TAP_CHECK(device_set_console(s) == NULL, "combo: no console without options");
	TAP_EQ_INT(device_set_uarts(s, &u), 0, "combo: no UARTs without options");
	device_set_free(s);
	{
		char *a8[] = { "t", "--serial", "hardware=serial,num=3,console" };

		s = device_set_new();
		parse_args(s, 3, a8);
		TAP_CHECK(device_set_console(s) && !strcmp(device_set_console(s), "ttyS2"),
			  "combo: UART num 3 is ttyS2");
		device_set_free(s);
	}
}

static void test_realize(void)
{
	struct vt_host *vh = vt_host_new();
	struct pci_bus *bus = pci_bus_new(&vh->host);
	struct device_set *s;
	char img[] = "/tmp/vbridge-ds-XXXXXX";
	char *spec;
	int fd = mkstemp(img);
	char *bad[] = { "t", "--rng", "--serial", "hardware=virtio-console,type=sink",
			"--rwdisk", "/nonexistent/x.img" };
	char *nomask[] = { "t", "--netmask", "255.255.255.0" };
	struct vt_dev d;

	if (fd < 0 || ftruncate(fd, 1 << 20))
		return;
	close(fd);

	/* A failing device leaves nothing on the bus. */
	s = device_set_new();
	parse_args(s, 6, bad);
	TAP_EQ_INT(device_set_realize(s, bus, PCI_DEVFN(1, 0)), -1,
		   "realize: missing disk fails");
	TAP_CHECK(!pci_bus_func(bus, PCI_DEVFN(1, 0)) && !pci_bus_func(bus, PCI_DEVFN(2, 0)),
		  "realize: failure leaves the bus empty");
	device_set_free(s);
	s = device_set_new();
	parse_args(s, 3, nomask);
	TAP_EQ_INT(device_set_realize(s, bus, PCI_DEVFN(1, 0)), -1,
		   "realize: --netmask without --host_ip fails");
	device_set_free(s);

	/* A good set: console, disk, rng in slots 1, 2, 3. */
	if (asprintf(&spec, "%s,serial=ds", img) < 0)
		return;
	{
		char *good[] = { "t", "--rng", "--rwdisk", spec, "--serial",
				 "hardware=virtio-console,type=sink,console" };

		s = device_set_new();
		TAP_EQ_INT(parse_args(s, 6, good), 3, "realize: parse a good set");
	}
	TAP_EQ_INT(device_set_realize(s, bus, PCI_DEVFN(1, 0)), 0, "realize: good set");
	TAP_EQ_INT(device_set_realize(s, bus, PCI_DEVFN(8, 0)), -1, "realize: only once");
	TAP_CHECK(pci_bus_func(bus, PCI_DEVFN(1, 0)) &&
		  !strcmp(pci_func_name(pci_bus_func(bus, PCI_DEVFN(1, 0))), "virtio-console"),
		  "realize: console first (slot 1)");
	TAP_CHECK(pci_bus_func(bus, PCI_DEVFN(2, 0)) &&
		  !strcmp(pci_func_name(pci_bus_func(bus, PCI_DEVFN(2, 0))), "virtio-blk"),
		  "realize: then the disk (slot 2)");
	TAP_CHECK(pci_bus_func(bus, PCI_DEVFN(3, 0)) &&
		  !strcmp(pci_func_name(pci_bus_func(bus, PCI_DEVFN(3, 0))), "virtio-rng"),
		  "realize: then rng (slot 3)");
	TAP_EQ_INT(pci_func_intx_pin(pci_bus_func(bus, PCI_DEVFN(3, 0))), 1,
		   "realize: INTA#");
	TAP_CHECK(!strcmp(device_set_console(s), "hvc0"), "realize: console is hvc0");

	TAP_EQ_INT(device_set_start(s), 0, "life: start");
	vt_probe(&d, vh, bus, PCI_DEVFN(3, 0), 0xc0000000);
	vt_bringup(&d, 0, 1);
	{
		uint64_t a = vt_alloc(vh, 64, 8);
		struct vt_seg seg = { a, 64, true };
		uint32_t id, len;

		vt_add(&d, 0, &seg, 1);
		vt_kick(&d, 0);
		TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && len == 64, "life: rng serves");
		device_set_pause(s);
		vt_add(&d, 0, &seg, 1);
		vt_kick(&d, 0);
		vt_msleep(30);
		TAP_EQ_INT(vt_used_pending(&d, 0), 0, "life: paused set serves nothing");
		device_set_reset(s);
		TAP_EQ_INT(vt_status(&d), 0, "life: reset set is at power-on state");
		vt_bringup(&d, 0, 1);
		vt_add(&d, 0, &seg, 1);
		vt_kick(&d, 0);
		TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && len == 64,
			  "life: serves again after reset");
	}
	device_set_reset(s);
	device_set_stop(s);
	/* Free the bus first, then the set: both orders must be safe. */
	pci_bus_free(bus);
	device_set_free(s);

	bus = pci_bus_new(&vh->host);
	{
		char *good[] = { "t", "--rng" };

		s = device_set_new();
		parse_args(s, 2, good);
	}
	device_set_realize(s, bus, PCI_DEVFN(31, 0));
	TAP_CHECK(pci_bus_func(bus, PCI_DEVFN(31, 0)) != NULL, "realize: last slot");
	device_set_start(s);
	device_set_stop(s);
	device_set_free(s);
	pci_bus_free(bus);

	bus = pci_bus_new(&vh->host);
	{
		char *two[] = { "t", "--rng", "--serial", "hardware=virtio-console,type=sink" };

		s = device_set_new();
		parse_args(s, 4, two);
	}
	TAP_EQ_INT(device_set_realize(s, bus, PCI_DEVFN(31, 0)), -1,
		   "realize: out of slots fails");
	TAP_CHECK(!pci_bus_func(bus, PCI_DEVFN(31, 0)), "realize: ... leaving nothing");
	device_set_free(s);
	pci_bus_free(bus);

	/* vsock (socket in /tmp) and, with CAP_NET_ADMIN, net on a new tap. */
	bus = pci_bus_new(&vh->host);
	{
		char cid[128];
		char *all[] = { "t", "--cid", cid, "--host_ip", "10.199.78.1",
				"--mac", "52:54:00:00:00:01" };
		bool tap_ok = access("/dev/net/tun", R_OK | W_OK) == 0 && geteuid() == 0;

		snprintf(cid, sizeof(cid), "7,uds=/tmp/vbridge-ds-%d.sock", (int)getpid());
		s = device_set_new();
		parse_args(s, tap_ok ? 7 : 3, all);
		TAP_EQ_INT(device_set_realize(s, bus, PCI_DEVFN(1, 0)), 0,
			   tap_ok ? "realize: vsock and net" : "realize: vsock");
		TAP_CHECK(pci_bus_func(bus, PCI_DEVFN(tap_ok ? 2 : 1, 0)) &&
			  !strcmp(pci_func_name(pci_bus_func(bus, PCI_DEVFN(tap_ok ? 2 : 1, 0))),
				  "virtio-vsock"), "realize: vsock last");
		if (tap_ok)
			TAP_CHECK(!strcmp(pci_func_name(pci_bus_func(bus, PCI_DEVFN(1, 0))),
					  "virtio-net"), "realize: net before vsock");
		else
			VT_SKIP("realize: net needs CAP_NET_ADMIN and /dev/net/tun");
		snprintf(cid, sizeof(cid), "/tmp/vbridge-ds-%d.sock", (int)getpid());
		TAP_EQ_INT(access(cid, F_OK), 0, "realize: vsock listens on uds=");
		device_set_start(s);
		device_set_stop(s);
		pci_bus_free(bus);
		device_set_free(s);
		TAP_CHECK(access(cid, F_OK) != 0, "free: vsock socket removed");
	}

	free(spec);
	unlink(img);
	vt_host_free(vh);
}

/*
 * The default vsock socket lives in the runtime/state directory, never in
 * /tmp (the unit's PrivateTmp= would hide it from host programs).
 */
static void test_vsock_default(void)
{
	char dir[256], path[256], want[300];
	char *old_state = getenv("VBRIDGE_STATE_DIR");
	char *old_xdg = getenv("XDG_RUNTIME_DIR");
	char *save_state = old_state ? strdup(old_state) : NULL;
	char *save_xdg = old_xdg ? strdup(old_xdg) : NULL;
	char base[] = "/tmp/vbridge-dsdef-XXXXXX";
	struct stat st;

	TAP_CHECK(mkdtemp(base) != NULL, "vsock default: temporary directory");
	snprintf(want, sizeof(want), "%s/inst", base);
	setenv("VBRIDGE_STATE_DIR", want, 1);
	setenv("XDG_RUNTIME_DIR", "/nonexistent-xdg", 1);
	TAP_EQ_INT(vsock_default_dir(dir, sizeof(dir)), 0, "vsock default: state dir");
	TAP_CHECK(!strcmp(dir, want), "vsock default: $VBRIDGE_STATE_DIR wins");
	TAP_EQ_INT(vsock_default_uds(path, sizeof(path), 7), 0, "vsock default: path made");
	snprintf(want, sizeof(want), "%s/inst/vbridge-vsock-7.sock", base);
	TAP_CHECK(!strcmp(path, want), "vsock default: path under the state dir");
	snprintf(want, sizeof(want), "%s/inst", base);
	TAP_CHECK(!stat(want, &st) && S_ISDIR(st.st_mode), "vsock default: directory created");
	TAP_CHECK(strncmp(path, "/tmp/vbridge-vsock", 18), "vsock default: not /tmp/vbridge-vsock-N");
	rmdir(want);

	/* Realized without uds=: the socket is in the state directory. */
	{
		struct vt_host *vh = vt_host_new();
		struct pci_bus *bus = pci_bus_new(&vh->host);
		struct device_set *s = device_set_new();
		char *argv[] = { "t", "--cid", "9" };

		TAP_EQ_INT(parse_args(s, 3, argv), 1, "vsock default: parse --cid 9");
		TAP_EQ_INT(device_set_realize(s, bus, PCI_DEVFN(1, 0)), 0,
			   "vsock default: realize --cid 9");
		snprintf(path, sizeof(path), "%s/inst/vbridge-vsock-9.sock", base);
		TAP_EQ_INT(access(path, F_OK), 0, "vsock default: realized socket is in $VBRIDGE_STATE_DIR");
		TAP_CHECK(access("/tmp/vbridge-vsock-9.sock", F_OK) != 0,
			  "vsock default: no socket in /tmp");
		pci_bus_free(bus);
		device_set_free(s);
		vt_host_free(vh);
		rmdir(want);
	}

	unsetenv("VBRIDGE_STATE_DIR");
	TAP_EQ_INT(vsock_default_dir(dir, sizeof(dir)), 0, "vsock default: no state dir");
	if (geteuid() == 0)
		TAP_CHECK(!strcmp(dir, "/run/vbridge"), "vsock default: root gets /run/vbridge");
	else
		TAP_CHECK(!strcmp(dir, "/nonexistent-xdg/vbridge"),
			  "vsock default: user gets $XDG_RUNTIME_DIR/vbridge");
	unsetenv("XDG_RUNTIME_DIR");
	if (geteuid() == 0)
		VT_SKIP("vsock default: no directory for a user without XDG_RUNTIME_DIR (running as root)");
	else
		TAP_EQ_INT(vsock_default_dir(dir, sizeof(dir)), -ENOENT,
			   "vsock default: a user without XDG_RUNTIME_DIR must give uds=");
	rmdir(base);
	if (save_state)
		setenv("VBRIDGE_STATE_DIR", save_state, 1);
	if (save_xdg)
		setenv("XDG_RUNTIME_DIR", save_xdg, 1);
	free(save_state);
	free(save_xdg);
}

/* queue_pairs= (crosvm's vq_pairs=) of --tap and --host_ip. */
static void test_net_pairs(void)
{
	static const char *const bad[][3] = {
		{ "--tap", "tap0,queue_pairs=0", "0 pairs" },
		{ "--tap", "tap0,queue_pairs=17", "17 pairs" },
		{ "--tap", "tap0,queue_pairs=two", "pairs not a number" },
		{ "--tap", "tap0,queue_pairs", "queue_pairs without a value" },
		{ "--tap", "tap0,txqueuelen=5", "unknown key" },
		{ "--tap", "queue_pairs=2", "pairs without a name" },
		{ "--tap", "tap0,", "trailing comma" },
		{ "--host_ip", "10.0.0.1,vq_pairs=0", "0 pairs (crosvm's key)" },
		{ "--host_ip", "queue_pairs=2", "pairs without an address" },
		{ "--host_ip", "10.0.0.1,num_queues=2", "the disk key" },
	};
	char *same[] = { "t", "--tap", "tap0,queue_pairs=2", "--host_ip", "10.0.0.1,vq_pairs=2" };
	char *differ[] = { "t", "--tap", "tap0,queue_pairs=2", "--host-ip", "10.0.0.1,queue_pairs=4" };
	struct device_set *s;

	TAP_EQ_INT(one("--tap", "tap0,queue_pairs=4"), 1, "pairs: --tap NAME,queue_pairs=4");
	TAP_EQ_INT(one("--tap", "tap0,vq_pairs=16"), 1, "pairs: --tap NAME,vq_pairs=16 (crosvm's key)");
	TAP_EQ_INT(one("--host-ip", "10.0.0.1,queue_pairs=1"), 1,
		   "pairs: --host-ip ADDR,queue_pairs=1");
	TAP_EQ_INT(one("--host_ip", "10.0.0.1,vq_pairs=0x2"), 1, "pairs: --host_ip ADDR,vq_pairs=0x2");
	refused("pairs", bad, sizeof(bad) / sizeof(bad[0]));
	s = device_set_new();
	TAP_EQ_INT(parse_args(s, 5, same), 2, "pairs: the same count on --tap and --host_ip");
	device_set_free(s);
	s = device_set_new();
	TAP_EQ_INT(parse_args(s, 5, differ), -1, "pairs: different counts refused");
	device_set_free(s);
	TAP_CHECK(strstr(device_set_usage(), "queue_pairs=N") &&
		  strstr(device_set_usage(), "vq_pairs="), "pairs: in the usage text");

	/* Realized: a device with that many pairs (and a control queue). */
	if (access("/dev/net/tun", R_OK | W_OK) || geteuid()) {
		VT_SKIP("pairs: realize needs CAP_NET_ADMIN and /dev/net/tun");
		return;
	}
	{
		char *args[] = { "t", "--host_ip", "10.199.78.5,queue_pairs=3" };
		struct vt_host *vh = vt_host_new();
		struct pci_bus *bus = pci_bus_new(&vh->host);
		struct virtio_dev *const *devs;
		unsigned int n;

		s = device_set_new();
		parse_args(s, 3, args);
		TAP_EQ_INT(device_set_realize(s, bus, PCI_DEVFN(1, 0)), 0,
			   "pairs: realize net with queue_pairs=3");
		devs = device_set_devices(s, &n);
		TAP_CHECK(n == 1 && devs[0]->info.num_queues == 7,
			  "pairs: three pairs and a control queue");
		pci_bus_free(bus);
		device_set_free(s);
		vt_host_free(vh);
	}
}

int main(void)
{
	test_vsock_default();
	test_table();
	test_good();
	test_bad();
	test_combinations();
	test_realize();
	test_net_pairs();
	return tap_done();
}
