/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading a Linux bzImage for the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"): the
 * protected-mode kernel at its preferred address, boot_params ("zero
 * page") with the e820 map, command line and initrd, identity page tables
 * and a GDT with __BOOT_CS/__BOOT_DS; the BSP enters at load address +
 * 0x200 in long mode with %rsi pointing at boot_params.
 *
 * Fixed guest-physical addresses below 1 MiB (all in e820 RAM: the kernel
 * reuses them once it has copied what it needs):
 */
#ifndef VBRIDGE_ARCH_X86_BOOT_H
#define VBRIDGE_ARCH_X86_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/guest_mem.h"
#include "arch/x86/layout.h"

#define X86_BOOT_GDT		0x0500ULL	/* 6 descriptors */
#define X86_BOOT_ZERO_PAGE	0x7000ULL	/* struct boot_params */
#define X86_BOOT_STACK		0x8ff0ULL
#define X86_BOOT_PML4		0x9000ULL
#define X86_BOOT_PDPT		0xa000ULL
#define X86_BOOT_PD		0xb000ULL	/* 4 pages: 4 GiB of 2 MiB pages */
#define X86_BOOT_CMDLINE	0x20000ULL
#define X86_BOOT_CMDLINE_MAX	0x10000ULL	/* bytes reserved, NUL included */

#define X86_BOOT_CS		0x10		/* __BOOT_CS */
#define X86_BOOT_DS		0x18		/* __BOOT_DS */
#define X86_BOOT_TSS		0x20

/* Oldest boot protocol accepted: 2.12 brought xloadflags (XLF_KERNEL_64). */
#define BZIMAGE_MIN_VERSION	0x020c

/**
 * struct bzimage - what the loader needs from a bzImage's setup header.
 * @version: boot protocol version (0x020f = 2.15)
 * @setup_size: bytes of real-mode setup code, boot sector included
 * @kernel_size: bytes of protected-mode kernel following the setup code
 * @init_size: memory the kernel needs from its load address to boot
 * @initrd_addr_max: highest address the initrd may occupy
 * @cmdline_size: longest command line the kernel takes (NUL excluded)
 * @kernel_alignment: alignment a relocatable kernel needs
 * @pref_address: where the kernel wants to be loaded
 * @relocatable: the kernel may be loaded elsewhere (we still use
 *	@pref_address)
 * @hdr_len: bytes of setup header, from offset 0x1f1, to copy into
 *	boot_params
 */
struct bzimage {
	uint16_t version;
	uint32_t setup_size;
	uint64_t kernel_size;
	uint32_t init_size;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint32_t kernel_alignment;
	uint64_t pref_address;
	bool relocatable;
	unsigned int hdr_len;
};

/*
 * Check the header of the bzImage in img[0..len) and describe it.  Returns
 * 0, or -EINVAL with a one-line reason in err (what is wrong with the
 * file).
 */
int bzimage_parse(const uint8_t *img, size_t len, struct bzimage *bz,
		  char *err, size_t errlen);

/**
 * struct x86_boot_plan - where everything goes in guest-physical memory.
 * @kernel_addr: load address of the protected-mode kernel
 * @kernel_end: end of the memory the kernel needs to boot (init_size)
 * @initrd_addr: load address of the initrd (0: none)
 * @initrd_size: its size in bytes
 * @entry: 64-bit entry point (kernel_addr + 0x200)
 */
struct x86_boot_plan {
	uint64_t kernel_addr;
	uint64_t kernel_end;
	uint64_t initrd_addr;
	uint64_t initrd_size;
	uint64_t entry;
};

/*
 * Place a kernel, an initrd of initrd_size bytes (0: none) and a command
 * line of cmdline_len bytes (NUL excluded) in the layout.  Returns 0, or
 * -ENOSPC / -E2BIG with a one-line reason in err saying what does not fit
 * and what to change.
 */
int x86_boot_plan(const struct bzimage *bz, const struct x86_layout *l,
		  uint64_t initrd_size, size_t cmdline_len,
		  struct x86_boot_plan *p, char *err, size_t errlen);

/*
 * Write the kernel, command line, boot_params, page tables and GDT into
 * guest memory according to plan p (the caller puts the initrd at
 * p->initrd_addr).  rsdp is the ACPI RSDP address for boot_params (0:
 * none).  Returns 0 or -EFAULT when guest memory lacks a range (a bug: the
 * plan was checked against the same layout).
 */
int x86_boot_load(struct guest_mem *m, const struct bzimage *bz,
		  const uint8_t *img, const struct x86_boot_plan *p,
		  const struct x86_layout *l, const char *cmdline,
		  uint64_t rsdp);

#endif
