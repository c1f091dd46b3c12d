// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the pure parts of bridge mode (user/vmm/bridge.c): where a
 * configuration cycle of a bridged slot lands in the ECAM window, and which
 * line (so which GSI) a bridged slot drives, as the provider computes it.
 */
#include <stdint.h>

#include "bridge/backend.h"
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

int main(void)
{
	test_ecam_offset();
	test_slot_line();
	return tap_done();
}
