// SPDX-License-Identifier: GPL-2.0
/* The x86 guest-physical memory map and the e820 table derived from it. */
#include "arch/x86/layout.h"

#include <errno.h>
#include <string.h>

static void e820_add(struct x86_layout *l, uint64_t addr, uint64_t size,
		     uint32_t type)
{
	struct x86_e820 *e = &l->e820[l->nr_e820++];

	e->addr = addr;
	e->size = size;
	e->type = type;
}

int x86_layout_compute(uint64_t ram_size, struct x86_layout *l)
{
	memset(l, 0, sizeof(*l));
	if (ram_size & ((1ULL << 20) - 1))
		return -EINVAL;
	if (ram_size < X86_RAM_MIN || ram_size > X86_RAM_MAX)
		return -ERANGE;

	l->ram_size = ram_size;
	l->low_size = ram_size < X86_PCI_HOLE_START ? ram_size : X86_PCI_HOLE_START;
	l->high_size = ram_size - l->low_size;

	/*
	 * The legacy area [0xa0000, 0x100000) is backed by RAM (nothing is
	 * emulated there) but reported as not usable, except for the VGA
	 * range, which is simply left out as on real machines.
	 */
	e820_add(l, 0, X86_EBDA_START, X86_E820_RAM);
	e820_add(l, X86_EBDA_START, 0xa0000 - X86_EBDA_START, X86_E820_RESERVED);
	e820_add(l, X86_BIOS_START, X86_HIGH_MEM_START - X86_BIOS_START,
		 X86_E820_RESERVED);
	e820_add(l, X86_HIGH_MEM_START, l->low_size - X86_HIGH_MEM_START,
		 X86_E820_RAM);
	if (l->high_size)
		e820_add(l, X86_4G, l->high_size, X86_E820_RAM);
	return 0;
}
