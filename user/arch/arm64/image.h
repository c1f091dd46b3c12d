/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading an arm64 Linux Image (Documentation/arch/arm64/booting.rst) and
 * planning where kernel, initrd and device tree go, or planning a --bios
 * boot (firmware at 0, device tree at the start of RAM, as QEMU's virt
 * board does).
 *
 * The Image header (64 bytes, little-endian):
 *
 *   0x00 code0, 0x04 code1   branch to the kernel's entry (an EFI stub's
 *                            "MZ" lives in code0)
 *   0x08 text_offset         where in a 2 MiB aligned block the kernel goes
 *   0x10 image_size          memory it needs from there (bss included)
 *   0x18 flags               bit 0: big-endian; bits 1-2: page size
 *                            (1 4K, 2 16K, 3 64K, 0 unspecified); bit 3:
 *                            may be placed anywhere in RAM (0: as close to
 *                            the start of RAM as possible)
 *   0x38 magic               "ARM\x64"
 *   0x3c res5                offset of the PE header (EFI stub), else 0
 *
 * Kernel placement: at ARM64_RAM_BASE + text_offset (the lowest 2 MiB
 * aligned base, right for both values of flag bit 3).
 *
 * Device tree and initrd placement for a direct kernel boot: at the end of
 * the first GiB of RAM (or of RAM when there is less), the device tree
 * alone in the last 2 MiB block (booting.rst: at most 2 MiB, 8-byte
 * aligned, mapped with 2 MiB blocks), the initrd right below it, page
 * aligned.  Keeping both in the first GiB keeps them inside the 1 GiB
 * aligned window that also holds the kernel, which older kernels required
 * of an initrd, and away from the kernel: the plan fails when they would
 * overlap [kernel, kernel + image_size).
 */
#ifndef VBRIDGE_ARCH_ARM64_IMAGE_H
#define VBRIDGE_ARCH_ARM64_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/guest_mem.h"

#define ARM64_IMAGE_HDR_SIZE	64
#define ARM64_IMAGE_MAGIC	0x644d5241	/* "ARM\x64" little-endian */
#define ARM64_IMAGE_FLAG_BE	0x1
#define ARM64_IMAGE_FLAG_PAGE_SHIFT 1
#define ARM64_IMAGE_FLAG_PAGE_MASK 0x6
#define ARM64_IMAGE_FLAG_ANYWHERE 0x8

#define ARM64_DTB_MAX		0x200000ULL	/* 2 MiB */
#define ARM64_DTB_ALIGN		8

/**
 * struct arm64_image - what the loader takes from an Image header.
 * @text_offset: offset of the kernel from a 2 MiB aligned base
 * @image_size: bytes of memory the kernel needs from its load address
 * @file_size: bytes of the file (copied to guest memory)
 * @flags: the header's flags, as they are
 * @page_size: page size the kernel was built for (4096, 16384, 65536), 0
 *	when the header does not say
 * @anywhere: flag bit 3, the kernel may be anywhere in RAM
 * @efi_stub: the file is also a PE/COFF EFI application ("MZ" in code0)
 */
struct arm64_image {
	uint64_t text_offset;
	uint64_t image_size;
	uint64_t file_size;
	uint64_t flags;
	unsigned int page_size;
	bool anywhere;
	bool efi_stub;
};

/*
 * Check the header of the Image in img[0..len) and describe it.  Returns
 * 0, or -EINVAL with a one-line reason in err: not an Image (naming what
 * it looks like instead when it can tell: gzip'd or otherwise compressed
 * vmlinuz, EFI zboot, ELF vmlinux, x86 bzImage), big-endian, a corrupt
 * header.
 */
int arm64_image_parse(const uint8_t *img, size_t len, struct arm64_image *im,
		      char *err, size_t errlen);

/**
 * struct arm64_boot_plan - where everything goes in guest-physical memory.
 * @entry: where the boot vCPU starts (x0 = @dtb_addr, x1-x3 = 0)
 * @kernel_addr: load address of the Image (0 for --bios)
 * @kernel_end: @kernel_addr + image_size
 * @bios_addr, @bios_size: the firmware, read-only (0 size: none)
 * @initrd_addr, @initrd_size: the initrd (0 size: none)
 * @dtb_addr: the device tree
 * @dtb_max: room there: the device tree built must not be larger
 */
struct arm64_boot_plan {
	uint64_t entry;
	uint64_t kernel_addr;
	uint64_t kernel_end;
	uint64_t bios_addr;
	uint64_t bios_size;
	uint64_t initrd_addr;
	uint64_t initrd_size;
	uint64_t dtb_addr;
	uint64_t dtb_max;
};

/*
 * Place a kernel, an initrd of initrd_size bytes (0: none) and a device
 * tree of at most ARM64_DTB_MAX bytes in ram_size bytes of RAM at
 * ARM64_RAM_BASE.  Returns 0, or -ENOSPC with a one-line reason in err
 * saying what does not fit and what to change.
 */
int arm64_boot_plan(const struct arm64_image *im, uint64_t ram_size,
		    uint64_t initrd_size, struct arm64_boot_plan *p,
		    char *err, size_t errlen);

/*
 * Plan a --bios boot: bios_size bytes of firmware at ARM64_BIOS_BASE
 * (read-only, entered there), the device tree at the start of RAM.
 * Returns 0, or -EINVAL (empty file) / -E2BIG (larger than the free low
 * 128 MiB) / -ENOSPC (RAM too small for the device tree) with a reason
 * in err.
 */
int arm64_bios_plan(uint64_t bios_size, uint64_t ram_size,
		    struct arm64_boot_plan *p, char *err, size_t errlen);

/*
 * Copy the kernel (img, len bytes: the whole Image file) and the device
 * tree (dtb, dtb_size bytes) to guest memory according to plan p (the
 * caller puts the initrd at p->initrd_addr and the firmware, which is not
 * RAM, at p->bios_addr).  img may be NULL for a --bios plan.  Returns 0,
 * -E2BIG when the device tree exceeds p->dtb_max, or -EFAULT when guest
 * memory lacks a range (a bug: the plan was checked against the same RAM).
 */
int arm64_boot_load(struct guest_mem *m, const struct arm64_boot_plan *p,
		    const uint8_t *img, size_t len, const void *dtb,
		    size_t dtb_size);

#endif
