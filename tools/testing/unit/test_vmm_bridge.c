// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the pure parts of bridge mode (user/vmm/bridge.c): where a
 * configuration cycle of a bridged slot lands in the ECAM window, which
 * line (so which GSI) a bridged slot drives, as the provider computes it,
 * and which declared devices `vbridge run --vmid` refuses, saying what to
 * change.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/board.h"
#include "arch/x86/layout.h"
#include "bridge/backend.h"
#include "bridge/frontend.h"
#include "pci/pci.h"
#include "tap.h"
#include "vmm/bridge.h"

#define ECAM_16M	(16ULL << 20)

static void test_ecam_offset(void)
{
	TAP_EQ_INT(vmm_bridge_ecam_offset(ECAM_16M, PCI_DEVFN(16, 0), 0), 0,
		   "slot 16 function 0 is the ECAM window's first function");
	TAP_EQ_INT(vmm_bridge_ecam_offset(ECAM_16M, PCI_DEVFN(16, 1), 4), 0x1004,
		   "function 1's register 4 is 4 KiB + 4 into it");
	TAP_EQ_INT(vmm_bridge_ecam_offset(ECAM_16M, PCI_DEVFN(17, 0), 0x3c), 0x803c,
		   "the next slot is 32 KiB further");
	TAP_EQ_INT(vmm_bridge_ecam_offset(ECAM_16M, PCI_DEVFN(31, 7), 0xff),
		   (15 * 8 + 7) * 4096 + 0xff, "slot 31 function 7 is the last one");
	TAP_EQ_INT(vmm_bridge_ecam_offset(ECAM_16M, PCI_DEVFN(15, 7), 0), -1,
		   "slot 15 is an in-process slot, not bridged");
	TAP_EQ_INT(vmm_bridge_ecam_offset(ECAM_16M, PCI_DEVFN(1, 0), 0), -1,
		   "slot 1 is not bridged");
	TAP_EQ_INT(vmm_bridge_ecam_offset(ECAM_16M, PCI_DEVFN(16, 0), 4096), -1,
		   "a register past 4 KiB is refused");
	TAP_EQ_INT(vmm_bridge_ecam_offset(64 << 10, PCI_DEVFN(17, 7), 0), 0xf000,
		   "a 64 KiB window holds two slots");
	TAP_EQ_INT(vmm_bridge_ecam_offset(64 << 10, PCI_DEVFN(18, 0), 0), -1,
		   "the third slot is outside a 64 KiB window");
	TAP_EQ_INT(vmm_bridge_ecam_offset(6 << 10, PCI_DEVFN(16, 1), 0), -1,
		   "a function only partly inside the window is refused");
}

static void test_slot_line(void)
{
	unsigned int s, bad = 0;

	/*
	 * With the x86 example's eight lines at GSIs 16..23, a bridged slot
	 * 16 + s drives line s % 8: GSI 16 + (16 + s) % 8, the board's swizzle
	 * for INTA#, so in-process and bridged slots route alike.
	 */
	for (s = 0; s < VMM_BRIDGE_SLOTS; s++)
		if (16 + bridge_slot_line(s, 8) != 16 + (VMM_BRIDGE_FIRST_SLOT + s) % 8)
			bad++;
	TAP_EQ_INT(bad, 0, "8 lines: bridged slots follow the INTA# swizzle");
	TAP_EQ_INT(bridge_slot_line(5, 2), 1, "2 lines: slot 5 drives line 1");
	TAP_EQ_INT(bridge_slot_line(7, 0), 0, "no lines: line 0, never out of range");
}

/*
 * A provider told --pci-first-slot: the guide's node maps slot 1 to SPI 3,
 * the device's line 0, so slots 1..5 raise lines 0..4.
 */
static void test_func_line(void)
{
	unsigned int s, bad = 0;

	for (s = 1; s <= 5; s++)
		if (bridge_func_line(s, 1, 29) != (int)s - 1)
			bad++;
	TAP_EQ_INT(bad, 0, "first slot 1, 29 lines: slot s raises line s - 1");
	TAP_EQ_INT(bridge_func_line(0, 1, 29), -1, "first slot 1: slot 0 raises nothing");
	TAP_EQ_INT(bridge_func_line(3, 0, 29), 3, "first slot 0: slot s raises line s");
	TAP_EQ_INT(bridge_func_line(31, 1, 29), 1, "first slot 1: slot 31 wraps to line 1");
	TAP_EQ_INT(bridge_func_line(2, 1, 0), -1, "no lines: nothing raised");
}

/* How much of a config window reaches the end of a function. */
static void test_cfg_window_need(void)
{
	TAP_EQ_U64(bridge_cfg_window_need(PCI_CFG_ECAM, PCI_DEVFN(0, 0)), 4096,
		   "ECAM: 00.0 needs 4 KiB");
	TAP_EQ_U64(bridge_cfg_window_need(PCI_CFG_ECAM, PCI_DEVFN(31, 7)), 1 << 20,
		   "ECAM: 1f.7 needs the whole 1 MiB of bus 0");
	TAP_EQ_U64(bridge_cfg_window_need(PCI_CFG_CAM, PCI_DEVFN(5, 0)), 0x2900,
		   "CAM: 05.0 needs 0x2900 bytes (ends at 5 << 11 | 0xff)");
	TAP_EQ_U64(bridge_cfg_window_need(PCI_CFG_CAM, PCI_DEVFN(31, 7)), 64 << 10,
		   "CAM: 1f.7 needs the whole 64 KiB of bus 0");
}

/* The x86 example overlay's device: dts/x86_64-vm3-cvm2rb-pci.dts. */
static void example(struct bridge_fe_device *d)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "cvm2rb-pci");
	d->backend_vmid = 2;
	d->nr_windows = 2;
	d->windows[0] = (struct vbridge_window){ .addr = 0xe0000000, .size = 16 << 20 };
	d->windows[1] = (struct vbridge_window){ .addr = 0xe1000000, .size = 1 << 20 };
	d->nr_irqs = 8;
	for (i = 0; i < 8; i++)
		d->irqs[i] = (struct vbridge_irq){ .num = 16 + i,
						   .flags = VBRIDGE_IRQ_F_LEVEL };
}

static char said[1024];

/* x86_bridge_check_devices() with its message caught in said[]. */
static int check(uint64_t mem, const struct bridge_fe_device *d, unsigned int n)
{
	struct tap_stderr c;
	struct x86_layout l;
	int ret;

	said[0] = '\0';
	if (x86_layout_compute(mem, &l) || tap_stderr_begin(&c)) {
		printf("# cannot set the test up\n");
		return -100;
	}
	ret = x86_bridge_check_devices(&l, 9, d, n);
	tap_stderr_end(&c, said, sizeof(said));
	return ret;
}

static void says(const char *what, const char *text)
{
	if (!TAP_CHECK(strstr(said, text), what))
		printf("#   said: %s", said);
}

static void test_check_devices(void)
{
	struct bridge_fe_device d[2];

	example(&d[0]);
	TAP_EQ_INT(check(256 << 20, d, 1), 0, "the x86 example fits a 256 MiB guest");
	TAP_EQ_INT(check(4ULL << 30, d, 1), 0, "... and a 4 GiB one (RAM above 4 GiB)");
	TAP_EQ_INT(check(256 << 20, d, 0), 0, "no declared device is no error");

	example(&d[0]);
	d[0].irqs[7].num = 24;
	TAP_EQ_INT(check(256 << 20, d, 1), -1, "GSI 24 (past the IOAPIC's 24 pins) is refused");
	says("... naming the line and its GSI", "interrupt line 7 of bridged device 'cvm2rb-pci' is GSI 24");
	says("... and what to change", "GSIs 16..23: change its interrupts in the device's overlay");
	d[0].irqs[7].num = 4;
	TAP_EQ_INT(check(256 << 20, d, 1), -1, "GSI 4 (an ISA interrupt) is refused");

	example(&d[0]);
	d[0].windows[0].addr = 0x08000000;
	d[0].windows[1].addr = 0x09000000;
	TAP_EQ_INT(check(256 << 20, d, 1), -1, "a window over guest RAM is refused");
	says("... saying so", "window 0 of bridged device 'cvm2rb-pci' (0x8000000, 16384 KiB) overlaps guest RAM");
	says("... and what to change", "move it into the free MMIO space 0xe0000000..0xfebfffff");
	says("... or how much --mem leaves it free", "or give --mem 128M or less");
	TAP_EQ_INT(check(128 << 20, d, 1), 0, "with --mem 128M the same windows fit");
	example(&d[0]);
	d[0].windows[1].addr = 0x100100000ULL;
	TAP_EQ_INT(check(4ULL << 30, d, 1), -1, "a window over RAM above 4 GiB is refused");
	says("... and --mem up to it is the way out", "or give --mem 3073M or less");
	TAP_EQ_INT(check(3ULL << 30, d, 1), 0, "with 3 GiB (none above 4 GiB) it fits");

	example(&d[0]);
	d[0].windows[1].addr = X86_LAPIC_BASE;
	TAP_EQ_INT(check(256 << 20, d, 1), -1, "a window over the local APICs is refused");
	says("... saying so", "window 1 of bridged device 'cvm2rb-pci' (0xfee00000, 1024 KiB) overlaps the IOAPIC, local APICs and firmware");
	example(&d[0]);
	d[0].windows[1].addr = X86_IOAPIC_BASE - 0x1000;
	TAP_EQ_INT(check(256 << 20, d, 1), -1, "a window that ends in the IOAPIC is refused");
	says("... with no --mem advice", "in the device's overlay (see dts/");

	example(&d[0]);
	d[0].windows[1].addr = 0xd0000000;
	TAP_EQ_INT(check(256 << 20, d, 1), -1, "a window over the in-process BARs is refused");
	says("... saying so", "overlaps the in-process devices' BAR window");

	example(&d[0]);
	example(&d[1]);
	snprintf(d[1].name, sizeof(d[1].name), "second");
	d[1].windows[0].addr = 0xe2000000;
	d[1].windows[1].addr = 0xe3000000;
	TAP_EQ_INT(check(256 << 20, d, 2), -1, "two bridged hosts for one guest are refused");
	says("... naming them", "2 bridged devices are declared for it ('cvm2rb-pci', 'second')");
	says("... and what to change", "unload all but one (vbridge ctl unload) or declare the others for other vmids");

	example(&d[0]);
	d[0].nr_windows = 1;
	TAP_EQ_INT(check(256 << 20, d, 1), -1, "a host without a BAR window is refused");
	example(&d[0]);
	d[0].windows[0].size = 16 << 10;
	TAP_EQ_INT(check(256 << 20, d, 1), -1, "an ECAM window smaller than a slot is refused");
	says("... and how big it must be", "give it at least 32 KiB");
}

int main(void)
{
	test_ecam_offset();
	test_slot_line();
	test_func_line();
	test_cfg_window_need();
	test_check_devices();
	return tap_done();
}
