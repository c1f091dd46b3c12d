// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/arch/arm64/fdt.c: the arm64 machine's device tree is
 * read back with libfdt and every property Linux and u-boot look at is
 * checked; dtc decompiles it without a warning and dt-validate (dt-schema)
 * finds nothing; bad configurations are refused; the add_nodes hook adds
 * nodes.
 */
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/arm64/fdt.h"
#include "arch/arm64/image.h"
#include "arch/arm64/layout.h"
#include "tap.h"

#define MiB		(1ULL << 20)

static uint8_t blob[ARM64_DTB_MAX];

static uint32_t cell(const void *p, unsigned int i)
{
	return fdt32_to_cpu(((const fdt32_t *)p)[i]);
}

static uint64_t cell64(const void *p, unsigned int i)
{
	return (uint64_t)cell(p, i) << 32 | cell(p, i + 1);
}

/* The property's value, NULL when absent; *len its length. */
static const void *prop(const char *path, const char *name, int *len)
{
	int node = fdt_path_offset(blob, path);

	if (node < 0)
		return NULL;
	return fdt_getprop(blob, node, name, len);
}

static int prop_is_str(const char *path, const char *name, const char *want,
		       size_t want_len)
{
	int len;
	const void *p = prop(path, name, &len);

	return p && (size_t)len == want_len && !memcmp(p, want, want_len);
}

#define STR_IS(path, name, lit, what) \
	TAP_CHECK(prop_is_str(path, name, lit, sizeof(lit)), what)

static int reg_is(const char *path, unsigned int idx, uint64_t base,
		  uint64_t size)
{
	int len;
	const void *p = prop(path, "reg", &len);

	if (!p || len < (int)((idx + 1) * 16))
		return 0;
	return cell64(p, idx * 4) == base && cell64(p, idx * 4 + 2) == size;
}

static uint32_t u32_of(const char *path, const char *name)
{
	int len;
	const void *p = prop(path, name, &len);

	return p && len == 4 ? cell(p, 0) : 0xdeadbeef;
}

static int build_cfg(const struct arm64_fdt_config *c)
{
	char err[200] = "";
	int ret = arm64_fdt_build(c, blob, sizeof(blob), err, sizeof(err));

	if (ret < 0)
		printf("# build: %s\n", err);
	return ret;
}

/*
 * Run "tool FILE" on the blob (size bytes) and return what it printed on
 * stdout and stderr, followed by "rc=<exit status>\n", in out.
 */
static void run_on_blob(const char *tool, int size, char *out, size_t len)
{
	/* dt-validate tells a blob from YAML by the name. */
	char path[] = "/tmp/test_arm64_fdt.XXXXXX.dtb", cmd[256];
	int fd = mkstemps(path, 4);
	size_t n = 0;
	FILE *f;

	out[0] = '\0';
	if (fd < 0)
		return;
	if (write(fd, blob, size) != size) {
		close(fd);
		unlink(path);
		return;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s %s 2>&1; echo rc=$?", tool, path);
	f = popen(cmd, "r");
	if (f) {
		n = fread(out, 1, len - 1, f);
		pclose(f);
	}
	out[n] = '\0';
	unlink(path);
}

/* dtc -I dtb -O dts: no warning, exit status 0. */
static int dtc_clean(int size)
{
	char out[4096];
	int ok;

	run_on_blob("dtc -I dtb -O dts -o /dev/null", size, out, sizeof(out));
	ok = !strcmp(out, "rc=0\n");
	if (!ok)
		printf("# dtc said:\n# %s", out);
	return ok;
}

static int have_dt_validate(void)
{
	return system("command -v dt-validate >/dev/null 2>&1") == 0;
}

/*
 * dt-validate (dt-schema's core schemas: root, chosen, memory, cpus, PCI
 * bus ...) finds nothing to say.
 */
static void dt_validate_clean(int size, const char *what)
{
	char out[8192];
	int ok;

	if (!have_dt_validate()) {
		printf("ok %d - %s # SKIP dt-validate (dt-schema) not installed\n",
		       ++tap_count, what);
		return;
	}
	run_on_blob("dt-validate", size, out, sizeof(out));
	ok = !strcmp(out, "rc=0\n");
	if (!TAP_CHECK(ok, what))
		printf("# dt-validate said:\n# %s", out);
}

static void test_default_v3(void)
{
	static const uint8_t seed[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct arm64_fdt_config *c = calloc(1, sizeof(*c));
	const void *p;
	int len, size, i, node;
	unsigned int slot, pin;
	char path[64];

	arm64_fdt_default_config(c, 512 * MiB, 20, 3, 2);
	c->bootargs = "console=ttyAMA0 root=/dev/vda";
	c->initrd_start = 0x7e000000;
	c->initrd_end = 0x7fa00000;
	c->kaslr_seed = 0x1122334455667788ULL;
	c->rng_seed = seed;
	c->rng_seed_len = sizeof(seed);
	size = build_cfg(c);
	TAP_CHECK(size > 0 && size < 64 * 1024, "v3: builds, well under 2 MiB");
	TAP_EQ_INT(fdt_check_header(blob), 0, "v3: header valid");
	TAP_EQ_INT(fdt_totalsize(blob), size, "v3: returned size is the packed size");

	/* root */
	STR_IS("/", "compatible", "linux,dummy-virt", "root: linux,dummy-virt");
	TAP_EQ_INT(u32_of("/", "#address-cells"), 2, "root: #address-cells 2");
	TAP_EQ_INT(u32_of("/", "#size-cells"), 2, "root: #size-cells 2");
	TAP_EQ_INT(u32_of("/", "interrupt-parent"), ARM64_FDT_PHANDLE_GIC,
		   "root: interrupt-parent is the GIC");

	/* memory */
	STR_IS("/memory@40000000", "device_type", "memory", "memory: device_type");
	TAP_CHECK(reg_is("/memory@40000000", 0, 0x40000000, 512 * MiB),
		  "memory: 512 MiB at 0x40000000");

	/* cpus */
	TAP_EQ_INT(u32_of("/cpus", "#address-cells"), 1, "cpus: #address-cells 1");
	TAP_EQ_INT(u32_of("/cpus", "#size-cells"), 0, "cpus: #size-cells 0");
	for (i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "/cpus/cpu@%x", (i & 15) | (i >> 4) << 8);
		TAP_EQ_INT(u32_of(path, "reg"), (i & 15) | (i >> 4) << 8,
			   "cpus: reg = MPIDR affinity (Aff0 = id % 16, Aff1 = id / 16)");
		if (i == 0 || i == 19) {
			STR_IS(path, "enable-method", "psci", "cpu: enable-method psci");
			STR_IS(path, "device_type", "cpu", "cpu: device_type");
			STR_IS(path, "compatible", "arm,arm-v8", "cpu: arm,arm-v8");
		}
	}
	TAP_CHECK(fdt_path_offset(blob, "/cpus/cpu@104") < 0, "cpus: exactly 20");
	node = fdt_first_subnode(blob, fdt_path_offset(blob, "/cpus"));
	TAP_CHECK(node >= 0 && !strcmp(fdt_get_name(blob, node, NULL), "cpu@0"),
		  "cpus: cpu@0 comes first");

	/* psci, timer */
	TAP_CHECK(prop_is_str("/psci", "compatible", "arm,psci-1.0\0arm,psci-0.2",
			      sizeof("arm,psci-1.0\0arm,psci-0.2")),
		  "psci: 1.0 (and 0.2)");
	STR_IS("/psci", "method", "hvc", "psci: method hvc");
	STR_IS("/timer", "compatible", "arm,armv8-timer", "timer: armv8");
	p = prop("/timer", "interrupts", &len);
	TAP_EQ_INT(len, 48, "timer: 4 PPIs");
	if (p && len == 48) {
		static const uint32_t want[] = {
			1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4,
		};
		for (i = 0; i < 12 && cell(p, i) == want[i]; i++)
			;
		TAP_EQ_INT(i, 12, "timer: PPIs 13 14 11 10, level, no CPU mask on v3");
	}

	/* GIC */
	STR_IS("/intc@8000000", "compatible", "arm,gic-v3", "gic: arm,gic-v3");
	TAP_CHECK(reg_is("/intc@8000000", 0, 0x08000000, 0x10000), "gic: distributor");
	TAP_CHECK(reg_is("/intc@8000000", 1, 0x080a0000, 20 * 0x20000),
		  "gic: redistributors, 128 KiB per vCPU");
	TAP_CHECK(prop("/intc@8000000", "interrupt-controller", &len) && !len,
		  "gic: interrupt-controller");
	TAP_EQ_INT(u32_of("/intc@8000000", "#interrupt-cells"), 3, "gic: 3 cells");
	TAP_EQ_INT(u32_of("/intc@8000000", "phandle"), ARM64_FDT_PHANDLE_GIC,
		   "gic: phandle");
	TAP_CHECK(fdt_path_offset(blob, "/intc@8000000/its@8080000") < 0,
		  "gic: no ITS unless asked for");

	/* clock, UARTs, RTC */
	STR_IS("/apb-pclk", "compatible", "fixed-clock", "clock: fixed-clock");
	TAP_EQ_INT(u32_of("/apb-pclk", "clock-frequency"), 24000000, "clock: 24 MHz");
	TAP_EQ_INT(u32_of("/apb-pclk", "#clock-cells"), 0, "clock: #clock-cells 0");
	TAP_EQ_INT(u32_of("/apb-pclk", "phandle"), ARM64_FDT_PHANDLE_CLK,
		   "clock: phandle");
	TAP_CHECK(prop_is_str("/serial@9000000", "compatible",
			      "arm,pl011\0arm,primecell",
			      sizeof("arm,pl011\0arm,primecell")),
		  "uart0: arm,pl011 + arm,primecell");
	TAP_CHECK(reg_is("/serial@9000000", 0, 0x09000000, 0x1000), "uart0: reg");
	TAP_CHECK(reg_is("/serial@9001000", 0, 0x09001000, 0x1000), "uart1: reg");
	TAP_CHECK(fdt_path_offset(blob, "/serial@9002000") < 0, "uarts: just 2");
	p = prop("/serial@9000000", "interrupts", &len);
	TAP_CHECK(p && len == 12 && cell(p, 0) == 0 && cell(p, 1) == 1 &&
		  cell(p, 2) == 4, "uart0: SPI 1, level high");
	p = prop("/serial@9001000", "interrupts", &len);
	TAP_CHECK(p && len == 12 && cell(p, 1) == 36, "uart1: SPI 36");
	p = prop("/serial@9000000", "clocks", &len);
	TAP_CHECK(p && len == 8 && cell(p, 0) == ARM64_FDT_PHANDLE_CLK &&
		  cell(p, 1) == ARM64_FDT_PHANDLE_CLK, "uart0: clocks");
	TAP_CHECK(prop_is_str("/serial@9000000", "clock-names", "uartclk\0apb_pclk",
			      sizeof("uartclk\0apb_pclk")),
		  "uart0: clock-names uartclk, apb_pclk");
	STR_IS("/aliases", "serial0", "/serial@9000000", "aliases: serial0");
	STR_IS("/aliases", "serial1", "/serial@9001000", "aliases: serial1");
	TAP_CHECK(prop_is_str("/rtc@9010000", "compatible", "arm,pl031\0arm,primecell",
			      sizeof("arm,pl031\0arm,primecell")),
		  "rtc: arm,pl031 + arm,primecell");
	TAP_CHECK(reg_is("/rtc@9010000", 0, 0x09010000, 0x1000), "rtc: reg");
	p = prop("/rtc@9010000", "interrupts", &len);
	TAP_CHECK(p && len == 12 && cell(p, 0) == 0 && cell(p, 1) == 2,
		  "rtc: SPI 2");
	STR_IS("/rtc@9010000", "clock-names", "apb_pclk", "rtc: clock-names");

	/* GPIO and its power key, as Linux's gpio-pl061 and gpio-keys read them */
	TAP_CHECK(prop_is_str("/pl061@9030000", "compatible", "arm,pl061\0arm,primecell",
			      sizeof("arm,pl061\0arm,primecell")),
		  "gpio: arm,pl061 + arm,primecell");
	TAP_CHECK(reg_is("/pl061@9030000", 0, 0x09030000, 0x1000), "gpio: reg");
	p = prop("/pl061@9030000", "interrupts", &len);
	TAP_CHECK(p && len == 12 && cell(p, 0) == 0 && cell(p, 1) == 39 &&
		  cell(p, 2) == 4, "gpio: SPI 39, level high");
	p = prop("/pl061@9030000", "clocks", &len);
	TAP_CHECK(p && len == 4 && cell(p, 0) == ARM64_FDT_PHANDLE_CLK,
		  "gpio: clocks = the apb_pclk");
	STR_IS("/pl061@9030000", "clock-names", "apb_pclk", "gpio: clock-names");
	TAP_CHECK(prop("/pl061@9030000", "gpio-controller", &len) && !len,
		  "gpio: gpio-controller");
	TAP_EQ_INT(u32_of("/pl061@9030000", "#gpio-cells"), 2, "gpio: 2 gpio cells");
	STR_IS("/gpio-keys", "compatible", "gpio-keys", "power key: gpio-keys");
	STR_IS("/gpio-keys/poweroff", "label", "GPIO Key Poweroff", "power key: label");
	TAP_EQ_INT(u32_of("/gpio-keys/poweroff", "linux,code"), 116,
		   "power key: linux,code KEY_POWER");
	p = prop("/gpio-keys/poweroff", "gpios", &len);
	TAP_CHECK(p && len == 12 && cell(p, 1) == ARM64_GPIO_POWER_LINE &&
		  cell(p, 2) == 0, "power key: line 3, active high");
	TAP_CHECK(p && len == 12 &&
		  fdt_node_offset_by_phandle(blob, cell(p, 0)) ==
		  fdt_path_offset(blob, "/pl061@9030000") &&
		  fdt_path_offset(blob, "/pl061@9030000") >= 0,
		  "power key: its gpios phandle is the PL061's node");

	/* PCI */
	STR_IS("/pcie@3f000000", "compatible", "pci-host-ecam-generic",
	       "pci: pci-host-ecam-generic");
	STR_IS("/pcie@3f000000", "device_type", "pci", "pci: device_type");
	TAP_CHECK(reg_is("/pcie@3f000000", 0, 0x3f000000, 0x100000),
		  "pci: ECAM of one bus");
	p = prop("/pcie@3f000000", "bus-range", &len);
	TAP_CHECK(p && len == 8 && cell(p, 0) == 0 && cell(p, 1) == 0,
		  "pci: bus-range 0-0");
	TAP_EQ_INT(u32_of("/pcie@3f000000", "linux,pci-domain"), 0, "pci: domain 0");
	TAP_CHECK(prop("/pcie@3f000000", "dma-coherent", &len) && !len,
		  "pci: dma-coherent");
	TAP_EQ_INT(u32_of("/pcie@3f000000", "#address-cells"), 3, "pci: 3 address cells");
	TAP_EQ_INT(u32_of("/pcie@3f000000", "#size-cells"), 2, "pci: 2 size cells");
	TAP_EQ_INT(u32_of("/pcie@3f000000", "#interrupt-cells"), 1, "pci: 1 interrupt cell");
	p = prop("/pcie@3f000000", "ranges", &len);
	TAP_CHECK(p && len == 28 && cell(p, 0) == 0x02000000 &&
		  cell64(p, 1) == 0x10000000 && cell64(p, 3) == 0x10000000 &&
		  cell64(p, 5) == 0x2f000000,
		  "pci: one 32-bit MMIO window 0x10000000-0x3effffff, identity");
	p = prop("/pcie@3f000000", "interrupt-map-mask", &len);
	TAP_CHECK(p && len == 16 && cell(p, 0) == 0xf800 && cell(p, 1) == 0 &&
		  cell(p, 2) == 0 && cell(p, 3) == 7, "pci: interrupt-map-mask");
	p = prop("/pcie@3f000000", "interrupt-map", &len);
	TAP_EQ_INT(len, 32 * 4 * 10 * 4, "pci: interrupt-map: 128 entries of 10 cells");
	if (p && len == 32 * 4 * 10 * 4) {
		int bad = 0;

		for (slot = 0; slot < 32; slot++) {
			for (pin = 1; pin <= 4; pin++) {
				unsigned int e = (slot * 4 + pin - 1) * 10;

				bad |= cell(p, e) != slot << 11 || cell(p, e + 1) ||
				       cell(p, e + 2) || cell(p, e + 3) != pin ||
				       cell(p, e + 4) != ARM64_FDT_PHANDLE_GIC ||
				       cell(p, e + 5) || cell(p, e + 6) ||
				       cell(p, e + 7) != 0 ||
				       cell(p, e + 8) != 32 + (slot + pin - 1) % 4 ||
				       cell(p, e + 9) != 4;
			}
		}
		TAP_CHECK(!bad, "pci: slot s pin p -> SPI 32 + (s + p - 1) % 4, level");
		TAP_EQ_INT(cell(p, (3 * 4 + 1) * 10 + 8), 32 + 0,
			   "pci: slot 3 INTB# is SPI 32 (swizzle wraps)");
	}
	TAP_CHECK(!prop("/pcie@3f000000", "msi-map", &len), "pci: no msi-map without ITS");

	/* chosen */
	STR_IS("/chosen", "bootargs", "console=ttyAMA0 root=/dev/vda", "chosen: bootargs");
	STR_IS("/chosen", "stdout-path", "/serial@9000000", "chosen: stdout-path = UART 0");
	p = prop("/chosen", "linux,initrd-start", &len);
	TAP_CHECK(p && len == 8 && cell64(p, 0) == 0x7e000000, "chosen: initrd-start");
	p = prop("/chosen", "linux,initrd-end", &len);
	TAP_CHECK(p && len == 8 && cell64(p, 0) == 0x7fa00000, "chosen: initrd-end");
	p = prop("/chosen", "kaslr-seed", &len);
	TAP_CHECK(p && len == 8 && cell64(p, 0) == 0x1122334455667788ULL,
		  "chosen: kaslr-seed");
	p = prop("/chosen", "rng-seed", &len);
	TAP_CHECK(p && len == 8 && !memcmp(p, seed, 8), "chosen: rng-seed");

	TAP_CHECK(dtc_clean(size), "v3: dtc decompiles it without a warning");
	if (have_dt_validate()) {
		char out[8192];

		/*
		 * A blob has no types: dt-validate reads the 64-bit initrd
		 * cells as two u32 and says so.  That it does shows it really
		 * checks /chosen; the trees below, without an initrd, must
		 * pass it whole.
		 */
		run_on_blob("dt-validate", size, out, sizeof(out));
		TAP_CHECK(strstr(out, "linux,initrd-start") &&
			  !strstr(out, "serial@") && !strstr(out, "pcie@") &&
			  !strstr(out, "cpu@") && !strstr(out, "memory@"),
			  "v3: dt-validate checks it (and flags only the untyped initrd cells)");
	}
	c->initrd_end = 0;
	size = build_cfg(c);
	dt_validate_clean(size, "v3 without initrd: dt-validate finds nothing");
	free(c);
}

static void test_v2_its_options(void)
{
	struct arm64_fdt_config *c = calloc(1, sizeof(*c));
	const void *p;
	int len, size;

	arm64_fdt_default_config(c, 256 * MiB, 4, 2, 1);
	c->has_rtc = false;
	c->has_gpio = false;
	c->pci.bus_last = 3;
	c->pci.domain = 0;
	c->pci.mmio64_base = 0x8000000000ULL;
	c->pci.mmio64_size = 0x8000000000ULL;
	size = build_cfg(c);
	TAP_CHECK(size > 0, "v2: builds");
	TAP_CHECK(prop_is_str("/intc@8000000", "compatible", "arm,cortex-a15-gic",
			      sizeof("arm,cortex-a15-gic")), "v2: arm,cortex-a15-gic");
	TAP_CHECK(reg_is("/intc@8000000", 1, 0x08010000, 0x2000), "v2: CPU interface");
	p = prop("/timer", "interrupts", &len);
	TAP_CHECK(p && len == 48 && cell(p, 2) == (0xf << 8 | 4) &&
		  cell(p, 11) == (0xf << 8 | 4),
		  "v2: timer PPIs carry the CPU mask of 4 vCPUs");
	TAP_CHECK(fdt_path_offset(blob, "/rtc@9010000") < 0, "v2: no RTC when not asked");
	TAP_CHECK(fdt_path_offset(blob, "/pl061@9030000") < 0 &&
		  fdt_path_offset(blob, "/gpio-keys") < 0,
		  "v2: no GPIO and no power key when not asked");
	TAP_CHECK(!prop("/chosen", "bootargs", &len) &&
		  !prop("/chosen", "linux,initrd-start", &len) &&
		  !prop("/chosen", "kaslr-seed", &len),
		  "chosen: no bootargs, initrd or seed unless given");
	TAP_CHECK(reg_is("/pcie@3f000000", 0, 0x3f000000, 4 * 0x100000),
		  "pci: ECAM covers buses 0-3");
	p = prop("/pcie@3f000000", "ranges", &len);
	TAP_CHECK(p && len == 56 && cell(p, 7) == 0x43000000 &&
		  cell64(p, 8) == 0x8000000000ULL && cell64(p, 12) == 0x8000000000ULL,
		  "pci: 64-bit prefetchable window");
	TAP_CHECK(dtc_clean(size), "v2: dtc decompiles it without a warning");
	dt_validate_clean(size, "v2: dt-validate finds nothing");

	arm64_fdt_default_config(c, 256 * MiB, 2, 3, 4);
	c->gic_its_base = ARM64_GIC_ITS_BASE;
	c->stdout_uart = 2;
	size = build_cfg(c);
	TAP_CHECK(size > 0, "its: builds");
	TAP_CHECK(prop_is_str("/intc@8000000/its@8080000", "compatible",
			      "arm,gic-v3-its", sizeof("arm,gic-v3-its")), "its: node");
	TAP_CHECK(reg_is("/intc@8000000/its@8080000", 0, 0x08080000, 0x20000), "its: reg");
	TAP_CHECK(prop("/intc@8000000/its@8080000", "msi-controller", &len),
		  "its: msi-controller");
	p = prop("/pcie@3f000000", "msi-map", &len);
	TAP_CHECK(p && len == 16 && cell(p, 0) == 0 && cell(p, 1) == ARM64_FDT_PHANDLE_ITS &&
		  cell(p, 2) == 0 && cell(p, 3) == 0x100,
		  "its: PCI msi-map, bus 0's requester IDs on device IDs 0..0xff");
	STR_IS("/chosen", "stdout-path", "/serial@9002000", "stdout: UART 2 when asked");
	p = prop("/serial@9003000", "interrupts", &len);
	TAP_CHECK(p && len == 12 && cell(p, 1) == 38, "uart3: SPI 38");
	TAP_CHECK(dtc_clean(size), "its: dtc decompiles it without a warning");
	dt_validate_clean(size, "its: dt-validate finds nothing");
	free(c);
}

static int hook_calls;

static int add_bridge_host(void *fdt, void *opaque)
{
	int node = fdt_add_subnode(fdt, 0, "pcie@10000");

	hook_calls++;
	if (node < 0)
		return node;
	return fdt_setprop_string(fdt, node, "compatible", (const char *)opaque);
}

static void test_hook_and_errors(void)
{
	struct arm64_fdt_config *c = calloc(1, sizeof(*c));
	char err[200] = "", small[512];
	int ret;

	arm64_fdt_default_config(c, 256 * MiB, 1, 3, 1);
	c->add_nodes = add_bridge_host;
	c->opaque = "pci-host-cam-generic";
	TAP_CHECK(build_cfg(c) > 0, "hook: builds");
	TAP_EQ_INT(hook_calls, 1, "hook: called once");
	STR_IS("/pcie@10000", "compatible", "pci-host-cam-generic",
	       "hook: its node is in the tree");
	c->add_nodes = NULL;

	ret = arm64_fdt_build(c, small, sizeof(small), err, sizeof(err));
	TAP_EQ_INT(ret, -ENOSPC, "error: 512 bytes is too small");
	TAP_CHECK(strstr(err, "does not fit"), "error: ... says so");

#define EXPECT_EINVAL(what, needle) do {					\
		ret = arm64_fdt_build(c, blob, sizeof(blob), err, sizeof(err));	\
		TAP_EQ_INT(ret, -EINVAL, what);					\
		if (!TAP_CHECK(strstr(err, needle), "  ... and says why"))	\
			printf("#   error was: %s\n", err);			\
		arm64_fdt_default_config(c, 256 * MiB, 1, 3, 1);		\
	} while (0)

	arm64_fdt_default_config(c, 256 * MiB, 9, 2, 1);
	EXPECT_EINVAL("error: 9 vCPUs on GICv2", "1 to 8");
	arm64_fdt_default_config(c, 256 * MiB, 124, 3, 1);
	EXPECT_EINVAL("error: 124 vCPUs on GICv3", "1 to 123");
	c->nr_cpus = 0;
	EXPECT_EINVAL("error: no vCPU", "0 vCPUs");
	c->gic_version = 4;
	EXPECT_EINVAL("error: GICv4", "only 2 and 3");
	arm64_fdt_default_config(c, 256 * MiB, 2, 3, 1);
	c->mpidr[1] = 0;
	EXPECT_EINVAL("error: two vCPUs with one MPIDR", "same MPIDR");
	c->mpidr[0] = 1ULL << 32;
	EXPECT_EINVAL("error: Aff3", "Aff3");
	c->stdout_uart = 1;
	EXPECT_EINVAL("error: console UART missing", "console UART 1 of 1");
	c->pci.bus_first = 1;
	EXPECT_EINVAL("error: empty bus range", "bus range 1-0");
	c->ram_size = 0;
	EXPECT_EINVAL("error: no RAM", "no RAM");
	c->power_key_line = 8;
	EXPECT_EINVAL("error: power key on GPIO line 8", "lines 0-7");
	c->power_key_line = -1;
	TAP_CHECK(build_cfg(c) > 0 && fdt_path_offset(blob, "/gpio-keys") < 0 &&
		  fdt_path_offset(blob, "/pl061@9030000") >= 0,
		  "no power key: the GPIO without gpio-keys");
	arm64_fdt_default_config(c, 256 * MiB, 1, 3, 1);
	c->initrd_start = 2;
	c->initrd_end = 1;
	EXPECT_EINVAL("error: initrd backwards", "initrd");
	free(c);
}

int main(void)
{
	test_default_v3();
	test_v2_its_options();
	test_hook_and_errors();
	return tap_done();
}
