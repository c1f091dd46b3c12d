// SPDX-License-Identifier: GPL-2.0
/* Unit tests of user/vmm/layout.c: RAM placement and the e820 map. */
#include <errno.h>

#include "arch/x86/layout.h"
#include "tap.h"

/* The map must be sorted, non-overlapping, and its RAM must add up. */
static void check_e820(const struct x86_layout *l, const char *what)
{
	uint64_t ram = 0, end = 0;
	unsigned int i;
	int sorted = 1;
	char msg[128];

	for (i = 0; i < l->nr_e820; i++) {
		if (l->e820[i].addr < end)
			sorted = 0;
		end = l->e820[i].addr + l->e820[i].size;
		if (l->e820[i].type == X86_E820_RAM)
			ram += l->e820[i].size;
	}
	snprintf(msg, sizeof(msg), "%s: e820 sorted and disjoint", what);
	TAP_CHECK(sorted, msg);
	/* RAM in e820 = all RAM minus the legacy hole 0x9fc00..0x100000 */
	snprintf(msg, sizeof(msg), "%s: e820 RAM adds up", what);
	TAP_EQ_U64(ram, l->ram_size - (X86_HIGH_MEM_START - X86_EBDA_START), msg);
}

static void test_small(void)
{
	struct x86_layout l;

	TAP_EQ_INT(x86_layout_compute(512ULL << 20, &l), 0, "512M: accepted");
	TAP_EQ_U64(l.low_size, 512ULL << 20, "512M: all below the hole");
	TAP_EQ_U64(l.high_size, 0, "512M: nothing above 4G");
	TAP_EQ_INT(l.nr_e820, 4, "512M: four e820 entries");
	TAP_EQ_U64(l.e820[0].addr, 0, "512M: RAM from 0");
	TAP_EQ_U64(l.e820[0].size, X86_EBDA_START, "512M: low RAM up to the EBDA");
	TAP_EQ_INT(l.e820[2].type, X86_E820_RESERVED, "512M: BIOS area reserved");
	TAP_EQ_U64(l.e820[2].addr, X86_BIOS_START, "512M: BIOS area at 0xe0000");
	TAP_EQ_U64(l.e820[3].addr, 1 << 20, "512M: RAM from 1 MiB");
	TAP_EQ_U64(l.e820[3].addr + l.e820[3].size, 512ULL << 20,
		   "512M: RAM up to 512M");
	check_e820(&l, "512M");
}

static void test_hole(void)
{
	struct x86_layout l;

	TAP_EQ_INT(x86_layout_compute(3ULL << 30, &l), 0, "3G: accepted");
	TAP_EQ_U64(l.low_size, 3ULL << 30, "3G: fills up to the hole exactly");
	TAP_EQ_U64(l.high_size, 0, "3G: nothing above 4G");
	check_e820(&l, "3G");

	TAP_EQ_INT(x86_layout_compute(8ULL << 30, &l), 0, "8G: accepted");
	TAP_EQ_U64(l.low_size, X86_PCI_HOLE_START, "8G: low part stops at the PCI hole");
	TAP_EQ_U64(l.high_size, (8ULL << 30) - X86_PCI_HOLE_START,
		   "8G: the rest above 4G");
	TAP_EQ_INT(l.nr_e820, 5, "8G: five e820 entries");
	TAP_EQ_U64(l.e820[4].addr, X86_4G, "8G: high RAM starts at 4G");
	TAP_EQ_INT(l.e820[4].type, X86_E820_RAM, "8G: high RAM is RAM");
	TAP_CHECK(l.e820[3].addr + l.e820[3].size <= X86_PCI_MMIO_BASE,
		  "8G: no RAM in the PCI MMIO window");
	check_e820(&l, "8G");
}

static void test_bad(void)
{
	struct x86_layout l;

	TAP_EQ_INT(x86_layout_compute((512ULL << 20) + 4096, &l), -EINVAL,
		   "not a multiple of 1 MiB rejected");
	TAP_EQ_INT(x86_layout_compute(16ULL << 20, &l), -ERANGE,
		   "below the minimum rejected");
	TAP_EQ_INT(x86_layout_compute(X86_RAM_MAX + (1 << 20), &l), -ERANGE,
		   "above the maximum rejected");
	TAP_EQ_INT(x86_layout_compute(0, &l), -ERANGE, "zero rejected");
}

int main(void)
{
	test_small();
	test_hole();
	test_bad();
	return tap_done();
}
