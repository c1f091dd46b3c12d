// SPDX-License-Identifier: GPL-2.0
/* Unit tests of `vbridge run` option parsing (user/vmm/run.c). */
#include <string.h>

#include "devices/devices.h"
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
		{ ARGV("--kernel", "bz", "--frobnicate"), "unknown option" },
		{ ARGV("--kernel", "bz", "extra"), "stray argument" },
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

int main(void)
{
	log_set_prefix("test_run_opts (expected errors)");
	test_good();
	test_devices();
	test_bad();
	return tap_done();
}
