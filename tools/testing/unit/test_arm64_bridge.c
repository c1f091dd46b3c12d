// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/arch/arm64/bridge_host.c and the bridged host's node
 * of fdt.c: the configuration guide's device (dts/arm64-vm3-cvm2rb-pci.dts)
 * fits the arm64 machine and becomes a pci-host-ecam-generic node at its
 * windows with its SPIs; windows over RAM, the GIC, the UARTs, the RTC,
 * the in-process host, --bios firmware or another window, and lines on
 * the board's SPIs, are refused with one line saying what to change.
 */
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/arm64/bridge_host.h"
#include "arch/arm64/fdt.h"
#include "arch/arm64/image.h"
#include "arch/arm64/layout.h"
#include "bridge/frontend.h"
#include "arm64_example.h"
#include "tap.h"

#define MiB		(1ULL << 20)

static uint8_t blob[ARM64_DTB_MAX];

static const struct arm64_bridge_board board = {
	.ram_base = ARM64_RAM_BASE, .ram_size = 512 * MiB,
};

static void example(struct bridge_fe_device *d)
{
	arm64_example_device(d);
}

/* Refused, with err holding every one of the NULL-ended strings. */
static void refused(const struct arm64_bridge_board *b,
		    const struct bridge_fe_device *d, unsigned int n,
		    const char *what, ...)
{
	char err[512] = "", msg[200];
	int ret = arm64_bridge_check(b, 3, d, n, err, sizeof(err));
	const char *want;
	va_list ap;
	int ok = ret == -1 && !strchr(err, '\n');

	va_start(ap, what);
	while ((want = va_arg(ap, const char *)))
		if (!strstr(err, want)) {
			printf("# want \"%s\" in the message\n", want);
			ok = 0;
		}
	va_end(ap);
	snprintf(msg, sizeof(msg), "refused: %s", what);
	if (!TAP_CHECK(ok, msg))
		printf("# ret %d, message: %s\n", ret, err);
}

static void test_check(void)
{
	struct bridge_fe_device d[2];
	struct arm64_bridge_board b = board;
	char err[512] = "";

	example(&d[0]);
	TAP_EQ_INT(arm64_bridge_check(&board, 3, d, 1, err, sizeof(err)), 0,
		   "the guide's device fits a 512 MiB machine");
	if (err[0])
		printf("# %s\n", err);
	TAP_EQ_INT(arm64_bridge_check(&board, 3, d, 0, err, sizeof(err)), 0,
		   "no device fits");

	example(&d[0]);
	d[0].windows[1].addr = ARM64_RAM_BASE + 256 * MiB;
	refused(&board, d, 1, "BARs in RAM",
		"vmid 3: window 1 of bridged device 'cvm2rb-pci' (0x50000000, 1024 KiB) overlaps guest RAM",
		"move it into the free MMIO space 0x0..0x7ffffff or above RAM, 0x60000000..0xffffffffff in the device's overlay",
		"dts/arm64-vm3-cvm2rb-pci.dts", NULL);
	/* Just above RAM is free; its last byte is not. */
	d[0].windows[1].addr = ARM64_RAM_BASE + 512 * MiB;
	TAP_EQ_INT(arm64_bridge_check(&board, 3, d, 1, err, sizeof(err)), 0,
		   "BARs right above RAM fit");
	d[0].windows[1].addr = ARM64_RAM_BASE + 512 * MiB - 4096;
	refused(&board, d, 1, "BARs over RAM's last page", "overlaps guest RAM", NULL);

	example(&d[0]);
	d[0].windows[0].addr = 0x07ff0000;
	refused(&board, d, 1, "an ECAM that runs into the GIC distributor",
		"window 0 of bridged device 'cvm2rb-pci' (0x7ff0000, 16384 KiB) overlaps the GIC", NULL);
	example(&d[0]);
	d[0].windows[1] = (struct vbridge_window){ ARM64_GIC_REDIST_BASE + 0x100000, 4096 };
	refused(&board, d, 1, "a BAR window on the GICv3 redistributors",
		"overlaps the GIC", NULL);
	d[0].windows[1] = (struct vbridge_window){ ARM64_UART_ADDR(3), 4096 };
	refused(&board, d, 1, "a BAR window on UART 3", "overlaps the PL011 UARTs", NULL);
	d[0].windows[1] = (struct vbridge_window){ ARM64_RTC_BASE, 4096 };
	refused(&board, d, 1, "a BAR window on the RTC", "overlaps the PL031 RTC", NULL);
	d[0].windows[1] = (struct vbridge_window){ ARM64_GPIO_BASE, 4096 };
	refused(&board, d, 1, "a BAR window on the GPIO", "overlaps the PL061 GPIO", NULL);
	d[0].windows[1] = (struct vbridge_window){ ARM64_PCI_MMIO_BASE + 64 * MiB, MiB };
	refused(&board, d, 1, "a BAR window in the in-process BARs",
		"overlaps the in-process PCI host's BAR window", NULL);
	d[0].windows[1] = (struct vbridge_window){ ARM64_PCI_ECAM_BASE, MiB };
	refused(&board, d, 1, "a BAR window on the in-process ECAM",
		"overlaps the in-process PCI host's ECAM", NULL);
	d[0].windows[1] = (struct vbridge_window){ ARM64_IPA_LIMIT - MiB / 2, MiB };
	refused(&board, d, 1, "a BAR window past the 40-bit IPA space",
		"overlaps the end of the 40-bit guest-physical space", NULL);
	d[0].windows[1] = (struct vbridge_window){ ~0ULL - 4095, 8192 };
	refused(&board, d, 1, "a BAR window that wraps around",
		"the end of the 40-bit guest-physical space", NULL);
	d[0].windows[1] = (struct vbridge_window){ 0x09100000, MiB };
	TAP_EQ_INT(arm64_bridge_check(&board, 3, d, 1, err, sizeof(err)), 0,
		   "a BAR window in the hole after the RTC fits");

	/* --bios takes the low 128 MiB. */
	example(&d[0]);
	b.bios = true;
	refused(&b, d, 1, "the guide's windows with --bios firmware",
		"window 0 of bridged device 'cvm2rb-pci' (0x10000, 16384 KiB) overlaps the --bios firmware",
		"move it into the free MMIO space 0x60000000..0xffffffffff (above RAM; with --bios the low 128 MiB are the firmware's)",
		NULL);
	d[0].windows[0].addr = 0x100000000ULL;
	d[0].windows[1].addr = 0x101000000ULL;
	TAP_EQ_INT(arm64_bridge_check(&b, 3, d, 1, err, sizeof(err)), 0,
		   "with --bios, windows above RAM fit");

	example(&d[0]);
	d[0].nr_windows = 1;
	refused(&board, d, 1, "one window", "has 1 window(s); a PCI host needs two", NULL);
	example(&d[0]);
	d[0].windows[0].size = 512 * 1024;
	refused(&board, d, 1, "an ECAM smaller than bus 0",
		"the ECAM window of 'cvm2rb-pci' (512 KiB) does not hold bus 0", NULL);

	example(&d[0]);
	d[0].irqs[28].num = 36;
	refused(&board, d, 1, "a line on UART 1's SPI",
		"interrupt line 28 of bridged device 'cvm2rb-pci' is SPI 36, a UART's: give it a free SPI, 3..31 or 40..95",
		NULL);
	d[0].irqs[28].num = ARM64_UART0_SPI;
	refused(&board, d, 1, "a line on the console UART's SPI", "is SPI 1, a UART's", NULL);
	d[0].irqs[28].num = ARM64_RTC_SPI;
	refused(&board, d, 1, "a line on the RTC's SPI", "is SPI 2, the RTC's", NULL);
	d[0].irqs[28].num = ARM64_GPIO_SPI;
	refused(&board, d, 1, "a line on the GPIO's SPI", "is SPI 39, the GPIO's", NULL);
	d[0].irqs[28].num = 34;
	refused(&board, d, 1, "a line on the in-process INTC#",
		"is SPI 34, the in-process PCI host's", NULL);
	d[0].irqs[28].num = 96;
	refused(&board, d, 1, "a line past the GIC's SPIs",
		"is SPI 96; this GIC has SPIs 0..95", NULL);
	d[0].irqs[28].num = 95;
	TAP_EQ_INT(arm64_bridge_check(&board, 3, d, 1, err, sizeof(err)), 0,
		   "SPI 95, the GIC's last, fits");

	/* Two hosts: each its own windows and lines. */
	example(&d[0]);
	example(&d[1]);
	snprintf(d[1].name, sizeof(d[1].name), "second");
	d[1].windows[0].addr = 0x02010000;
	d[1].windows[1].addr = 0x03010000;
	d[1].nr_irqs = 2;
	d[1].irqs[0].num = 40;
	d[1].irqs[1].num = 41;
	TAP_EQ_INT(arm64_bridge_check(&board, 3, d, 2, err, sizeof(err)), 0,
		   "two hosts with their own windows and lines fit");
	d[1].windows[1].addr = 0x01010000 + 4096;
	refused(&board, d, 2, "a second host's BARs over the first's",
		"window 1 of bridged device 'second' (0x1011000, 1024 KiB) overlaps window 1 of 'cvm2rb-pci'",
		NULL);
	d[1].windows[1].addr = 0x03010000;
	d[1].irqs[1].num = 7;
	refused(&board, d, 2, "a second host's line on the first's SPI",
		"interrupt line 1 of bridged device 'second' is SPI 7, line 4 of 'cvm2rb-pci''s", NULL);
}

static uint32_t cell(const void *p, unsigned int i)
{
	return fdt32_to_cpu(((const fdt32_t *)p)[i]);
}

static const void *prop(const char *path, const char *name, int *len)
{
	int node = fdt_path_offset(blob, path);

	return node < 0 ? NULL : fdt_getprop(blob, node, name, len);
}

static int add_example(void *fdt, void *opaque)
{
	const struct bridge_fe_device *d = opaque;
	struct arm64_fdt_bridge_host h;

	arm64_bridge_host_desc(d, 0, false, &h);
	return arm64_fdt_add_bridge_host(fdt, &h);
}

static void test_node(void)
{
	static const uint32_t want_reg[] = { 0, 0x10000, 0, 0x01000000 };
	static const uint32_t want_ranges[] = {
		0x02000000, 0, 0x01010000, 0, 0x01010000, 0, 0x00100000,
	};
	struct arm64_fdt_config c;
	struct bridge_fe_device d;
	const char *path = "/pcie@10000";
	const void *p;
	char err[200] = "", cmd[128];
	unsigned int i, slot, pin, bad = 0;
	int len, size, ok;
	FILE *f;

	example(&d);
	arm64_fdt_default_config(&c, 512 * MiB, 2, 3, 1);
	c.add_nodes = add_example;
	c.opaque = &d;
	size = arm64_fdt_build(&c, blob, sizeof(blob), err, sizeof(err));
	if (!TAP_CHECK(size > 0, "the machine's tree with the guide's host builds")) {
		printf("# %s\n", err);
		return;
	}
	p = prop(path, "compatible", &len);
	TAP_CHECK(p && len == sizeof("pci-host-ecam-generic") &&
		  !memcmp(p, "pci-host-ecam-generic", len),
		  "the bridged host is a pci-host-ecam-generic at its ECAM's address");
	p = prop(path, "reg", &len);
	TAP_CHECK(p && len == sizeof(want_reg) && !memcmp(p, (fdt32_t[]){
		cpu_to_fdt32(want_reg[0]), cpu_to_fdt32(want_reg[1]),
		cpu_to_fdt32(want_reg[2]), cpu_to_fdt32(want_reg[3]) }, len),
		  "reg: the declared ECAM, 16 MiB at 0x10000");
	p = prop(path, "bus-range", &len);
	TAP_CHECK(p && len == 8 && cell(p, 0) == 0 && cell(p, 1) == 15,
		  "bus-range 0..15: what 16 MiB of ECAM holds");
	p = prop(path, "ranges", &len);
	ok = p && len == sizeof(want_ranges);
	for (i = 0; ok && i < sizeof(want_ranges) / 4; i++)
		ok = cell(p, i) == want_ranges[i];
	TAP_CHECK(ok, "ranges: the declared BAR window, 32-bit non-prefetchable, 1 MiB at 0x01010000");
	p = prop(path, "linux,pci-domain", &len);
	TAP_CHECK(p && len == 4 && cell(p, 0) == 1,
		  "linux,pci-domain 1 (the in-process host has 0)");
	p = prop("/pcie@3f000000", "linux,pci-domain", &len);
	TAP_CHECK(p && len == 4 && cell(p, 0) == 0, "the in-process host is still there, domain 0");
	TAP_CHECK(prop(path, "dma-coherent", &len) && !len, "dma-coherent");
	p = prop(path, "#interrupt-cells", &len);
	TAP_CHECK(p && len == 4 && cell(p, 0) == 1, "#interrupt-cells = <1>");
	TAP_CHECK(!prop(path, "msi-map", &len) && !prop(path, "msi-parent", &len),
		  "no ITS, no MSI: the provider's functions interrupt through INTx");
	p = prop(path, "interrupt-map-mask", &len);
	TAP_CHECK(p && len == 16 && cell(p, 0) == 0xf800 && !cell(p, 1) &&
		  !cell(p, 2) && cell(p, 3) == 7, "interrupt-map-mask <0xf800 0 0 7>");
	p = prop(path, "interrupt-map", &len);
	ok = p && len == 32 * 4 * 10 * 4;
	for (slot = 0; ok && slot < 32; slot++) {
		for (pin = 1; pin <= 4; pin++) {
			const void *e = (const fdt32_t *)p + (slot * 4 + pin - 1) * 10;

			if (cell(e, 0) != slot << 11 || cell(e, 1) || cell(e, 2) ||
			    cell(e, 3) != pin || cell(e, 4) != ARM64_FDT_PHANDLE_GIC ||
			    cell(e, 5) || cell(e, 6) || cell(e, 7) != 0 ||
			    cell(e, 8) != 3 + slot % 29 || cell(e, 9) != 4)
				bad++;
		}
	}
	TAP_CHECK(ok && !bad,
		  "interrupt-map: slot N's pins on the GIC's SPI 3 + N (mod 29), level high");

	/* dtc reads it back without a warning. */
	snprintf(cmd, sizeof(cmd), "/tmp/test_arm64_bridge.%d.dtb", getpid());
	f = fopen(cmd, "w");
	ok = f && fwrite(blob, 1, size, f) == (size_t)size;
	if (f)
		fclose(f);
	if (ok) {
		char out[4096] = "", run[256];
		FILE *pf;
		size_t n = 0;

		snprintf(run, sizeof(run), "dtc -I dtb -O dts -o /dev/null %s 2>&1; echo rc=$?", cmd);
		pf = popen(run, "r");
		if (pf) {
			n = fread(out, 1, sizeof(out) - 1, pf);
			pclose(pf);
		}
		out[n] = '\0';
		ok = !strcmp(out, "rc=0\n");
		if (!ok)
			printf("# dtc said:\n# %s", out);
	}
	unlink(cmd);
	TAP_CHECK(ok, "dtc decompiles the tree with the bridged host without a warning");

	/* Edge lines and more than one BAR window. */
	d.irqs[0].flags = 0;
	d.nr_irqs = 1;
	d.nr_windows = 3;
	d.windows[2] = (struct vbridge_window){ 0x8000000000ULL, 64 * MiB };
	size = arm64_fdt_build(&c, blob, sizeof(blob), err, sizeof(err));
	p = prop(path, "interrupt-map", &len);
	TAP_CHECK(size > 0 && p && len == 32 * 4 * 40 && cell(p, 8) == 3 &&
		  cell(p, 9) == 1 && cell((const fdt32_t *)p + 31 * 40, 8) == 3,
		  "one edge line: every slot on it, edge rising");
	p = prop(path, "ranges", &len);
	TAP_CHECK(p && len == 2 * 28 && cell(p, 7) == 0x03000000 &&
		  cell(p, 8) == 0x80 && cell(p, 12) == 0 && cell(p, 13) == 64 * MiB,
		  "a BAR window above 4 GiB is 64-bit memory in ranges");
}

static int add_example_its(void *fdt, void *opaque)
{
	const struct bridge_fe_device *d = opaque;
	struct arm64_fdt_bridge_host h;

	/* The second bridged host of the VM. */
	arm64_bridge_host_desc(d, 1, true, &h);
	return arm64_fdt_add_bridge_host(fdt, &h);
}

/* A bridged host's MSIs go through the ITS, with device IDs of its own. */
static void test_msi(void)
{
	struct kvm_irq_routing_entry pins[ARM64_GIC_NR_SPIS], e;
	struct arm64_fdt_config c;
	struct bridge_fe_device d;
	const char *path = "/pcie@10000";
	char err[200] = "";
	unsigned int i, n, bad = 0;
	const void *p;
	int len, size;

	example(&d);
	arm64_fdt_default_config(&c, 512 * MiB, 2, 3, 1);
	c.gic_its_base = ARM64_GIC_ITS_BASE;
	c.add_nodes = add_example_its;
	c.opaque = &d;
	size = arm64_fdt_build(&c, blob, sizeof(blob), err, sizeof(err));
	if (!TAP_CHECK(size > 0, "msi: the tree with an ITS and the bridged host builds"))
		printf("# %s\n", err);
	p = prop(path, "msi-map", &len);
	TAP_CHECK(p && len == 16 && cell(p, 0) == 0 &&
		  cell(p, 1) == ARM64_FDT_PHANDLE_ITS && cell(p, 2) == 0x200 &&
		  cell(p, 3) == 0x100,
		  "msi: the second bridged host maps bus 0's requester IDs to ITS device IDs 0x200..0x2ff");
	p = prop("/pcie@3f000000", "msi-map", &len);
	TAP_CHECK(p && len == 16 && cell(p, 2) == 0 && cell(p, 3) == 0x100,
		  "msi: the in-process host keeps device IDs 0..0xff (its bus 0)");

	n = arm64_irq_routes_pins(pins);
	for (i = 0; i < n; i++)
		bad += pins[i].gsi != i || pins[i].type != KVM_IRQ_ROUTING_IRQCHIP ||
		       pins[i].u.irqchip.irqchip || pins[i].u.irqchip.pin != i;
	TAP_CHECK(n == ARM64_GIC_NR_SPIS && !bad,
		  "msi: the pin routes are KVM's default, GSI n on SPI n, all 96");

	TAP_EQ_INT(arm64_bridge_msi_route(true, 1, 0x08, ARM64_GITS_TRANSLATER,
					  5, &e, err, sizeof(err)), 0,
		   "msi: function 01.0 of bridged host 1 writing GITS_TRANSLATER is routed");
	TAP_CHECK(e.type == KVM_IRQ_ROUTING_MSI && e.flags == KVM_MSI_VALID_DEVID &&
		  e.u.msi.devid == 0x208 && e.u.msi.data == 5 &&
		  e.u.msi.address_lo == (uint32_t)ARM64_GITS_TRANSLATER &&
		  !e.u.msi.address_hi && !e.gsi,
		  "msi: ... with device ID 0x200 + 0x08 and the message's event ID");
	TAP_EQ_INT(arm64_bridge_msi_route(true, 254, 0xff, ARM64_GITS_TRANSLATER,
					  0, &e, err, sizeof(err)), 0,
		   "msi: the 255th bridged host has device IDs");
	TAP_CHECK(e.u.msi.devid == 0xffff, "msi: ... the last one, 0xffff");
	TAP_EQ_INT(arm64_bridge_msi_route(false, 0, 0, ARM64_GITS_TRANSLATER, 0,
					  &e, err, sizeof(err)), -1,
		   "msi: without an ITS nothing is routed");
	TAP_CHECK(strstr(err, "no ITS"), "msi: ... and the reason says so");
	TAP_EQ_INT(arm64_bridge_msi_route(true, 255, 0, ARM64_GITS_TRANSLATER, 0,
					  &e, err, sizeof(err)), -1,
		   "msi: the 256th bridged host has no device IDs (16-bit)");
	TAP_EQ_INT(arm64_bridge_msi_route(true, 0, 0x100, ARM64_GITS_TRANSLATER,
					  0, &e, err, sizeof(err)), -1,
		   "msi: a requester ID off bus 0 would be another host's device ID: refused");
	TAP_EQ_INT(arm64_bridge_msi_route(true, 0, 0, ARM64_GIC_DIST_BASE + 0x40,
					  0, &e, err, sizeof(err)), -1,
		   "msi: a store anywhere but GITS_TRANSLATER (here the distributor's SETSPI) is refused");
	TAP_CHECK(strstr(err, "0x8000040") && strstr(err, "GITS_TRANSLATER"),
		  "msi: ... naming the address and what it should be");

	/* vbridge run's own functions (a vhost-user back-end's call fd). */
	TAP_EQ_INT(arm64_pci_msi_route(true, 0x10, ARM64_GITS_TRANSLATER, 3,
				       &e, err, sizeof(err)), 0,
		   "msi: in-process function 02.0 writing GITS_TRANSLATER is routed");
	TAP_CHECK(e.type == KVM_IRQ_ROUTING_MSI && e.flags == KVM_MSI_VALID_DEVID &&
		  e.u.msi.devid == 0x10 && e.u.msi.data == 3,
		  "msi: ... with its requester ID as device ID, as KVM_SIGNAL_MSI has it");
	TAP_EQ_INT(arm64_pci_msi_route(false, 0x10, ARM64_GITS_TRANSLATER, 3,
				       &e, err, sizeof(err)), -1,
		   "msi: in-process, without an ITS: no route");
	TAP_EQ_INT(arm64_pci_msi_route(true, 0x10, ARM64_GIC_DIST_BASE + 0x40,
				       3, &e, err, sizeof(err)), -1,
		   "msi: in-process, a store elsewhere than GITS_TRANSLATER: no route");
}

int main(void)
{
	test_check();
	test_node();
	test_msi();
	return tap_done();
}
