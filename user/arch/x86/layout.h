/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The x86 guest-physical address map of `vbridge run`.
 *
 *   0x0000_0000  RAM (boot structures below 1 MiB, see boot_x86.h)
 *   0x0009_fc00  reserved up to 0xa0000 (where an EBDA would be)
 *   0x000e_0000  reserved: ACPI tables, MP table (firmware area)
 *   0x0010_0000  RAM up to the 32-bit PCI hole or the end of RAM
 *   0xc000_0000  32-bit PCI hole: BAR window of the in-process devices ...
 *   0xe000_0000  ... then free MMIO space (bridged windows) ...
 *   0xfec0_0000  IOAPIC (in-kernel), 0xfee0_0000 local APICs (in-kernel)
 *   0x1_0000_0000  the rest of RAM
 *
 * RAM is one memfd; the part below the hole and the part above 4 GiB are
 * two consecutive ranges of it, so guest-physical address gpa of high RAM
 * is file offset gpa - 4 GiB + low_size.
 */
#ifndef VBRIDGE_ARCH_X86_LAYOUT_H
#define VBRIDGE_ARCH_X86_LAYOUT_H

#include <stdint.h>

#define X86_EBDA_START		0x9fc00ULL
#define X86_BIOS_START		0xe0000ULL	/* firmware tables live here */
#define X86_HIGH_MEM_START	0x100000ULL	/* 1 MiB */
#define X86_PCI_HOLE_START	0xc0000000ULL	/* low RAM ends here at most */
#define X86_PCI_MMIO_BASE	X86_PCI_HOLE_START
#define X86_PCI_MMIO_SIZE	0x20000000ULL	/* 512 MiB of BAR space */
#define X86_IOAPIC_BASE		0xfec00000ULL
#define X86_LAPIC_BASE		0xfee00000ULL
#define X86_4G			0x100000000ULL

#define X86_RAM_MIN		(32ULL << 20)
#define X86_RAM_MAX		(1ULL << 40)	/* 1 TiB */

/* e820 types, as in the boot protocol */
#define X86_E820_RAM		1
#define X86_E820_RESERVED	2

#define X86_E820_MAX		8

struct x86_e820 {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/**
 * struct x86_layout - where the guest's RAM is.  Computed once, read-only.
 * @ram_size: total RAM in bytes (the memfd's size)
 * @low_size: RAM at guest-physical [0, low_size), file offset 0
 * @high_size: RAM at [4 GiB, 4 GiB + high_size), file offset low_size
 * @e820: the memory map given to the guest, sorted, non-overlapping
 * @nr_e820: entries used in @e820
 */
struct x86_layout {
	uint64_t ram_size;
	uint64_t low_size;
	uint64_t high_size;
	struct x86_e820 e820[X86_E820_MAX];
	unsigned int nr_e820;
};

/*
 * Lay out ram_size bytes of RAM.  ram_size must be a multiple of 1 MiB in
 * [X86_RAM_MIN, X86_RAM_MAX].  Returns 0, -EINVAL (not a multiple of
 * 1 MiB) or -ERANGE (too small or too large).
 */
int x86_layout_compute(uint64_t ram_size, struct x86_layout *l);

#endif
