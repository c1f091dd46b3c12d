// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of `vbridge run` option parsing (user/vmm/run.c), the global
 * options before it (user/lib/global.c), and crosvm's command-line forms:
 * the ones accepted and the ones refused by name (user/vmm/crosvm_opts.c).
 */
#include <stdio.h>
#include <string.h>

#include "devices/devices.h"
#include "lib/global.h"
#include "lib/log.h"
#include "tap.h"
#include "vmm/run.h"

#define ARGV(...) ((char *[]){ "run", __VA_ARGS__, NULL })

static int parse(char **argv, struct run_config *cfg)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return run_parse(argc, argv, cfg);
}

static void test_good(void)
{
	struct run_config c;
	uint64_t m = 0;

	TAP_EQ_INT(parse(ARGV("--kernel", "bz"), &c), 0, "kernel alone");
	TAP_CHECK(!strcmp(c.kernel, "bz"), "kernel path kept");
	TAP_EQ_INT(c.cpus, 1, "default: 1 vCPU");
	TAP_EQ_U64(c.mem, 512ULL << 20, "default: 512 MiB");
	TAP_CHECK(!c.initrd && !c.params, "default: no initrd, no params");
	TAP_EQ_INT(c.shutdown_timeout, 5, "default: 5 s to power off");
	run_config_free(&c);

	TAP_EQ_INT(parse(ARGV("--kernel", "bz", "--shutdown-timeout", "0"), &c),
		   0, "--shutdown-timeout 0");
	TAP_EQ_INT(c.shutdown_timeout, 0, "--shutdown-timeout 0: stop at once");
	run_config_free(&c);
	TAP_EQ_INT(parse(ARGV("--kernel", "bz", "--shutdown-timeout=3600"), &c),
		   0, "--shutdown-timeout=3600");
	TAP_EQ_INT(c.shutdown_timeout, 3600, "--shutdown-timeout at its maximum");
	run_config_free(&c);

	TAP_EQ_INT(parse(ARGV("--kernel=bz", "--initrd", "rd", "--cpus", "4",
			      "--mem", "2G", "--params", "quiet",
			      "--params=rdinit=/init", "-v", "-v"), &c), 0,
		   "every option");
	TAP_CHECK(!strcmp(c.initrd, "rd"), "initrd path");
	TAP_EQ_INT(c.cpus, 4, "--cpus 4");
	TAP_EQ_U64(c.mem, 2ULL << 30, "--mem 2G");
	TAP_CHECK(c.params && !strcmp(c.params, "quiet rdinit=/init"),
		  "--params repeated are joined with a space");
	TAP_EQ_INT(c.verbose, 2, "-v twice");
	run_config_free(&c);

	TAP_EQ_INT(parse(ARGV("--kernel", "bz", "--kernel", "bz2"), &c), 0,
		   "--kernel twice: scripts override a default one");
	TAP_CHECK(!strcmp(c.kernel, "bz2"), "--kernel twice: the last one wins");
	run_config_free(&c);

	TAP_EQ_INT(parse(ARGV("--mem", "1024", "--kernel", "bz"), &c), 0,
		   "plain --mem number");
	TAP_EQ_U64(c.mem, 1ULL << 30, "plain --mem number is MiB");
	run_config_free(&c);

	TAP_EQ_INT(parse(ARGV("--help", "--bogus"), &c), 0, "--help wins over the rest");
	TAP_CHECK(c.help, "--help flagged");
	run_config_free(&c);

	TAP_EQ_INT(run_parse_mem("64M", &m), 0, "mem 64M");
	TAP_EQ_U64(m, 64ULL << 20, "mem 64M value");
}

/* Device options go to the device set; the serial lines the VMM emulates. */
static void test_devices(void)
{
	const struct serial_spec *sp;
	struct run_config c;

	TAP_EQ_INT(parse(ARGV("--kernel", "bz"), &c), 0, "no device options");
	TAP_CHECK(!c.serial_given, "no --serial: the default ttyS0 applies");
	TAP_EQ_INT(device_set_uarts(c.devs, &sp), 0, "no --serial: no UART lines");
	run_config_free(&c);

	TAP_EQ_INT(parse(ARGV("--kernel", "bz", "--rng", "--cid", "3",
			      "--serial", "hardware=serial,num=2,type=sink",
			      "--serial=hardware=virtio-console,num=1,type=stdout,console,stdin"),
		   &c), 0, "device options mixed with the VMM's");
	TAP_CHECK(c.serial_given, "--serial seen");
	TAP_EQ_INT(device_set_uarts(c.devs, &sp), 1, "one hardware=serial line");
	TAP_CHECK(sp[0].num == 2 && sp[0].type == SERIAL_SINK,
		  "the UART line: ttyS1, sink");
	TAP_CHECK(device_set_console(c.devs) &&
		  !strcmp(device_set_console(c.devs), "hvc0"),
		  "the virtio-console is the kernel console: hvc0");
	run_config_free(&c);

	TAP_EQ_INT(parse(ARGV("--kernel", "bz", "--serial",
			      "hardware=serial,num=1,type=file,path=/tmp/x,console"), &c),
		   0, "a ttyS0 console to a file");
	TAP_CHECK(device_set_console(c.devs) &&
		  !strcmp(device_set_console(c.devs), "ttyS0"),
		  "the UART is the kernel console: ttyS0");
	run_config_free(&c);
}

static void test_bad(void)
{
	const struct {
		char **argv;
		const char *what;
	} bad[] = {
		{ ARGV("--initrd", "rd"), "no --kernel" },
		{ ARGV("--kernel"), "--kernel without a value" },
		{ ARGV("--kernel", "bz", "--cpus", "0"), "--cpus 0" },
		{ ARGV("--kernel", "bz", "--cpus", "255"), "--cpus above the MP table limit" },
		{ ARGV("--kernel", "bz", "--cpus", "two"), "--cpus not a number" },
		{ ARGV("--kernel", "bz", "--cpus", "-1"), "--cpus negative" },
		{ ARGV("--kernel", "bz", "--mem", "16M"), "--mem below the minimum" },
		{ ARGV("--kernel", "bz", "--mem", "2T"), "--mem above the maximum" },
		{ ARGV("--kernel", "bz", "--mem", "1000K"), "--mem not a multiple of 1 MiB" },
		{ ARGV("--kernel", "bz", "--mem", "lots"), "--mem not a size" },
		{ ARGV("--kernel", "bz", "--mem", ""), "--mem empty" },
		{ ARGV("--kernel", "bz", "--shutdown-timeout", "3601"),
		  "--shutdown-timeout above an hour" },
		{ ARGV("--kernel", "bz", "--shutdown-timeout", "-1"),
		  "--shutdown-timeout negative" },
		{ ARGV("--kernel", "bz", "--shutdown-timeout", "5s"),
		  "--shutdown-timeout with a unit" },
		{ ARGV("--kernel", "bz", "--shutdown-timeout"),
		  "--shutdown-timeout without a value" },
		{ ARGV("--kernel", "bz", "--frobnicate"), "unknown option" },
		{ ARGV("--kernel", "bz", "extra"), "stray argument" },
		{ ARGV("bz", "bz2"), "two kernels as arguments" },
		{ ARGV("--netm", "1.2.3.4", "bz"), "an abbreviated option" },
		{ ARGV("--disable_sandbox", "bz"), "an option spelled with '_'" },
		{ ARGV("-c", "0", "bz"), "-c 0" },
		{ ARGV("-m", "lots", "bz"), "-m not a size" },
		{ ARGV("-i"), "-i without a value" },
		{ ARGV("--no-balloon=yes", "bz"), "--no-balloon takes no value" },
		{ ARGV("--disk", "d,block_size=1000", "bz"), "block_size not a power of two" },
		{ ARGV("--disk", "d,block_size=256", "bz"), "block_size below 512" },
		{ ARGV("--disk", "d,block_size=131072", "bz"), "block_size above 64 KiB" },
		{ ARGV("--disk", "d,o_direct=maybe", "bz"), "o_direct not a boolean" },
		{ ARGV("--disk", "d,id=", "bz"), "id empty" },
		{ ARGV("--disk", "d,sparse=false", "bz"), "crosvm's disk key sparse" },
		{ ARGV("--host-ip", "1.2.3.4", "--host_ip", "1.2.3.5", "bz"),
		  "--host-ip and --host_ip are one option: given twice" },
		{ ARGV("--kernel", "bz", "-x"), "unknown short option" },
		{ ARGV("--kernel", "bz", "--serial", "hardware=bogus"), "bad --serial hardware" },
		{ ARGV("--kernel", "bz", "--serial", "hardware=serial,num=5"), "ttyS4 does not exist" },
		{ ARGV("--kernel", "bz", "--serial"), "--serial without a value" },
		{ ARGV("--kernel", "bz", "--cid", "2"), "--cid of the host" },
		{ ARGV("--kernel", "bz", "--rwdisk"), "--rwdisk without a path" },
		{ ARGV("--kernel", "bz", "--pci-host-dt", "n.dts"),
		  "--pci-host-dt without --vmid" },
		{ ARGV("--kernel", "bz", "--vmid", "3", "--pci-host-dt", "n.dts"),
		  "--pci-host-dt on x86 (its bridged slots join the VMM's host)" },
		{ ARGV("--kernel", "bz", "--vmid", "3", "--pci-host-dt"),
		  "--pci-host-dt without a file" },
	};
	struct run_config c;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char msg[96];

		snprintf(msg, sizeof(msg), "rejected with status 2: %s", bad[i].what);
		TAP_EQ_INT(parse(bad[i].argv, &c), EXIT_USAGE, msg);
		run_config_free(&c);
	}
}

/* What the last parse_err() printed on standard error. */
static char err_text[4096];

/* run_parse() with standard error caught in err_text. */
static int parse_err(char **argv, struct run_config *cfg)
{
	struct tap_stderr c;
	int ret;

	if (tap_stderr_begin(&c))
		return -1;
	ret = parse(argv, cfg);
	tap_stderr_end(&c, err_text, sizeof(err_text));
	return ret;
}

/* crosvm's forms that mean what ours do. */
static void test_crosvm_accepted(void)
{
	struct run_config c;

	TAP_EQ_INT(parse(ARGV("-c", "2", "-m", "1024", "-p", "quiet", "-i", "rd",
			      "bz"), &c), 0, "-c -m -p -i and the kernel as the argument");
	TAP_CHECK(c.kernel && !strcmp(c.kernel, "bz"), "the last argument is the kernel");
	TAP_EQ_INT(c.cpus, 2, "-c 2: 2 vCPUs");
	TAP_EQ_U64(c.mem, 1ULL << 30, "-m 1024: MiB, as crosvm's");
	TAP_CHECK(c.params && !strcmp(c.params, "quiet"), "-p: kernel parameters");
	TAP_CHECK(c.initrd && !strcmp(c.initrd, "rd"), "-i: the initrd");
	run_config_free(&c);

	TAP_EQ_INT(parse(ARGV("-c2", "-m2G", "-pquiet", "bz", "--params", "ro"), &c),
		   0, "short options with glued values; options after the kernel");
	TAP_CHECK(c.cpus == 2 && c.mem == 2ULL << 30, "-c2 -m2G");
	TAP_CHECK(c.params && !strcmp(c.params, "quiet ro"),
		  "params before and after the kernel are joined in order");
	run_config_free(&c);

	TAP_EQ_INT(parse(ARGV("--params", "--net", "bz"), &c), 0,
		   "a value that looks like a crosvm option is a value");
	TAP_CHECK(c.params && !strcmp(c.params, "--net"), "... kept as given");
	run_config_free(&c);

	TAP_EQ_INT(parse(ARGV("--no-balloon", "--disable-sandbox", "bz"), &c), 0,
		   "--no-balloon and --disable-sandbox accepted");
	run_config_free(&c);

	TAP_EQ_INT(parse(ARGV("--host-ip", "10.0.0.1", "bz"), &c), 0, "--host-ip");
	run_config_free(&c);
	TAP_EQ_INT(parse(ARGV("--host_ip=10.0.0.1", "--netmask", "255.0.0.0", "bz"), &c),
		   0, "--host_ip (crosvm's old spelling)");
	run_config_free(&c);

	TAP_EQ_INT(parse(ARGV("--rwdisk", "d,o_direct=true,id=abc,block_size=4096",
			      "--disk", "e,o_direct=false,id=x", "bz"), &c), 0,
		   "disk keys o_direct=, id=, block_size=");
	run_config_free(&c);

	TAP_EQ_INT(parse(ARGV("--serial", "type=stdout,hardware=virtio-console,console,stdin",
			      "bz"), &c), 0, "--serial with bare console and stdin keys");
	TAP_CHECK(device_set_console(c.devs) &&
		  !strcmp(device_set_console(c.devs), "hvc0"), "... the console is hvc0");
	run_config_free(&c);
}

/* Every crosvm option vbridge run lacks: refused, named, with what to do. */
static void test_crosvm_refused(void)
{
	const struct opt_foreign *f;
	struct run_config c;
	unsigned int n = 0, bad = 0;

	for (f = run_crosvm_options; f->name; f++) {
		char opt[64], want[96];
		int ret;

		snprintf(opt, sizeof(opt), "--%s", f->name);
		snprintf(want, sizeof(want), "--%s is a crosvm option", f->name);
		ret = parse_err(ARGV(opt, "x", "bz"), &c);
		run_config_free(&c);
		n++;
		if (ret != EXIT_USAGE || !strstr(err_text, want) ||
		    !strstr(err_text, f->instead ? f->instead : "drop it") ||
		    strchr(err_text, '\n') != err_text + strlen(err_text) - 1) {
			printf("# %s: status %d, said: %s", opt, ret, err_text);
			bad++;
		}
	}
	TAP_CHECK(n > 100, "the table holds crosvm's run options");
	TAP_EQ_INT(bad, 0, "each refused with status 2 and one line naming it and what to use");

	TAP_EQ_INT(parse_err(ARGV("--net", "tap-name=t0", "bz"), &c), EXIT_USAGE,
		   "--net refused (not taken for --netmask)");
	TAP_CHECK(strstr(err_text, "--net is a crosvm option") &&
		  strstr(err_text, "use --tap NAME"), "--net: says to use --tap or --host_ip");
	run_config_free(&c);

	TAP_EQ_INT(parse_err(ARGV("--vsock=cid=3", "bz"), &c), EXIT_USAGE,
		   "--vsock=cid=3 refused");
	TAP_CHECK(strstr(err_text, "--vsock is a crosvm option") &&
		  strstr(err_text, "use --cid N"), "--vsock: says to use --cid");
	run_config_free(&c);

	TAP_EQ_INT(parse(ARGV("--vhost-user", "type=block,socket=/run/vu.sock", "bz"), &c), 0,
		   "--vhost-user, crosvm's spelling, is taken (a vhost-user device)");
	run_config_free(&c);

	TAP_EQ_INT(parse_err(ARGV("--gpu", "backend=2d", "bz"), &c), EXIT_USAGE,
		   "--gpu refused");
	TAP_CHECK(strstr(err_text, "drop it (see vbridge run --help)"),
		  "--gpu: nothing to use instead, says to drop it");
	run_config_free(&c);

	TAP_EQ_INT(parse_err(ARGV("--netm", "1.2.3.4", "bz"), &c), EXIT_USAGE,
		   "--netm refused");
	TAP_CHECK(strstr(err_text, "did you mean --netmask?"), "--netm: suggests --netmask");
	run_config_free(&c);

	TAP_EQ_INT(parse_err(ARGV("--", "--gpu"), &c), 0,
		   "after --, --gpu is an argument, not refused as crosvm's");
	TAP_CHECK(c.kernel && !strcmp(c.kernel, "--gpu"), "... the kernel's path");
	run_config_free(&c);
}

/* Options before the subcommand, as crosvm has them. */
static void test_global(void)
{
	struct global_opts g;
	int lv;

	TAP_EQ_INT(global_parse(3, ARGV("--extended-status", "run"), &g), 2,
		   "--extended-status: the command follows");
	TAP_CHECK(g.extended_status, "--extended-status set");
	TAP_EQ_INT(global_parse(2, ARGV("run"), &g), 1, "no global options");
	TAP_CHECK(!g.extended_status && g.log_level == 0, "defaults");
	TAP_EQ_INT(global_parse(3, ARGV("--log-level=debug", "run"), &g), 2,
		   "--log-level=debug");
	TAP_EQ_INT(g.log_level, 1, "debug is -v");
	TAP_EQ_INT(global_parse(2, ARGV("--help"), &g), 1, "--help is left to main");

	TAP_EQ_INT(global_parse_log_level("info,disk=off", &lv), 0, "info,disk=off");
	TAP_EQ_INT(lv, 0, "info,disk=off is info");
	TAP_EQ_INT(global_parse_log_level("off", &lv), 0, "off");
	TAP_EQ_INT(lv, -2, "off: errors only");
	TAP_EQ_INT(global_parse_log_level("warn", &lv), 0, "warn");
	TAP_EQ_INT(lv, -1, "warn: no information");
	TAP_EQ_INT(global_parse_log_level("trace", &lv), 0, "trace");
	TAP_EQ_INT(lv, 2, "trace is -v -v");
	TAP_CHECK(global_parse_log_level("loud", &lv) < 0, "unknown level refused");
	TAP_CHECK(global_parse_log_level("disk=loud", &lv) < 0,
		  "unknown module level refused");
	TAP_CHECK(global_parse_log_level("", &lv) < 0, "empty level refused");
	TAP_CHECK(global_parse_log_level("info,", &lv) < 0, "trailing comma refused");

	TAP_EQ_INT(global_parse(3, ARGV("--log-level", "loud", "run"), &g), -1,
		   "--log-level loud refused");
	TAP_EQ_INT(global_parse(2, ARGV("--log-level"), &g), -1,
		   "--log-level without a value refused");
	TAP_EQ_INT(global_parse(4, ARGV("--syslog-tag", "t", "run"), &g), -1,
		   "crosvm's --syslog-tag refused");
	TAP_EQ_INT(global_parse(3, ARGV("--no-syslog", "run"), &g), -1,
		   "crosvm's --no-syslog refused");
}

/* The command line, unchanged but for the paths. */
static void test_seed_line(void)
{
	char **argv = ARGV("--extended-status", "--log-level", "info,disk=off",
		"run", "--disable-sandbox", "--cid", "2051", "--no-balloon",
		"--cpus", "1",
		"--serial=type=file,path=/tmp/console.log,hardware=serial,num=1",
		"--serial=type=file,path=/tmp/hvc0.log,hardware=virtio-console,num=1",
		"--serial=type=file,path=/tmp/vm.log,hardware=virtio-console,num=3",
		"--disk", "DISK", "--initrd", "INITRD", "--params", "console=ttyS0",
		"KERNEL", "--params", "crashkernel=17M");
	const struct serial_spec *sp;
	struct global_opts g;
	struct run_config c;
	int argc = 0, i;

	argv[0] = "vbridge";
	while (argv[argc])
		argc++;
	i = global_parse(argc, argv, &g);
	TAP_EQ_INT(i, 4, "seed line: global options, then the command");
	TAP_CHECK(i == 4 && !strcmp(argv[i], "run"), "seed line: the command is run");
	TAP_CHECK(g.extended_status && g.log_level == 0,
		  "seed line: --extended-status, --log-level info");
	TAP_EQ_INT(run_parse(argc - 4, argv + 4, &c), 0, "seed line: run's options parse");
	TAP_CHECK(c.kernel && !strcmp(c.kernel, "KERNEL"), "seed line: the kernel");
	TAP_CHECK(c.initrd && !strcmp(c.initrd, "INITRD"), "seed line: the initrd");
	TAP_CHECK(c.params && !strcmp(c.params, "console=ttyS0 crashkernel=17M"),
		  "seed line: both --params, in order");
	TAP_EQ_INT(c.cpus, 1, "seed line: 1 vCPU");
	TAP_CHECK(c.serial_given, "seed line: --serial given");
	TAP_EQ_INT(device_set_uarts(c.devs, &sp), 1, "seed line: one UART line");
	TAP_CHECK(sp[0].num == 1 && sp[0].type == SERIAL_FILE &&
		  !strcmp(sp[0].path, "/tmp/console.log"), "seed line: ttyS0 to console.log");
	run_config_free(&c);
}

int main(void)
{
	log_set_prefix("test_run_opts (expected errors)");
	test_good();
	test_devices();
	test_bad();
	test_crosvm_accepted();
	test_crosvm_refused();
	test_global();
	test_seed_line();
	return tap_done();
}
