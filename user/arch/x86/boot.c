// SPDX-License-Identifier: GPL-2.0
/* bzImage checks and the 64-bit Linux boot protocol. */
#include "arch/x86/boot.h"
#include "lib/log.h"

#include <asm/bootparam.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Offsets of setup header fields in the bzImage file. */
#define HDR_SETUP_SECTS		0x1f1
#define HDR_SYSSIZE		0x1f4
#define HDR_BOOT_FLAG		0x1fe
#define HDR_JUMP		0x200
#define HDR_MAGIC		0x202
#define HDR_VERSION		0x206
#define HDR_LOADFLAGS		0x211
#define HDR_INITRD_ADDR_MAX	0x22c
#define HDR_KERNEL_ALIGNMENT	0x230
#define HDR_RELOCATABLE		0x234
#define HDR_XLOADFLAGS		0x236
#define HDR_CMDLINE_SIZE	0x238
#define HDR_PREF_ADDRESS	0x258
#define HDR_INIT_SIZE		0x260
#define HDR_END_MIN		0x264	/* end of init_size: all we read */

#define BOOT_FLAG_MAGIC		0xaa55
#define SETUP_SECTS_DEFAULT	4
#define ENTRY64_OFFSET		0x200

static uint16_t get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

int bzimage_parse(const uint8_t *img, size_t len, struct bzimage *bz,
		  char *err, size_t errlen)
{
	unsigned int setup_sects, hdr_end;
	uint64_t syssize;

	memset(bz, 0, sizeof(*bz));
	if (len < HDR_END_MIN)
		return err_set(err, errlen, -EINVAL,
			    "not a bzImage: %zu bytes is too short for a boot header",
			    len);
	if (get16(img + HDR_BOOT_FLAG) != BOOT_FLAG_MAGIC)
		return err_set(err, errlen, -EINVAL,
			    "not a bzImage: no 0xaa55 boot flag at offset 0x1fe");
	if (memcmp(img + HDR_MAGIC, "HdrS", 4))
		return err_set(err, errlen, -EINVAL,
			    "not a bzImage: no \"HdrS\" setup header at offset 0x202");
	bz->version = get16(img + HDR_VERSION);
	if (bz->version < BZIMAGE_MIN_VERSION)
		return err_set(err, errlen, -EINVAL,
			    "boot protocol %u.%02u is too old: 2.12 or later is needed for the 64-bit entry",
			    bz->version >> 8, bz->version & 0xff);
	if (!(img[HDR_LOADFLAGS] & LOADED_HIGH))
		return err_set(err, errlen, -EINVAL,
			    "zImage (loaded below 1 MiB) is not supported: build a bzImage");
	if (!(get16(img + HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return err_set(err, errlen, -EINVAL,
			    "kernel has no 64-bit entry point (XLF_KERNEL_64 not set): build it for x86_64");

	setup_sects = img[HDR_SETUP_SECTS];
	if (!setup_sects)
		setup_sects = SETUP_SECTS_DEFAULT;
	bz->setup_size = (setup_sects + 1) * 512;
	if (bz->setup_size >= len)
		return err_set(err, errlen, -EINVAL,
			    "truncated bzImage: %u bytes of setup code but the file has %zu",
			    bz->setup_size, len);
	bz->kernel_size = len - bz->setup_size;
	syssize = (uint64_t)get32(img + HDR_SYSSIZE) * 16;
	if (syssize > bz->kernel_size)
		return err_set(err, errlen, -EINVAL,
			    "truncated bzImage: header says %llu bytes of kernel, the file has %llu",
			    (unsigned long long)syssize,
			    (unsigned long long)bz->kernel_size);

	/* The header ends where the jump at 0x200 lands. */
	hdr_end = HDR_JUMP + 2 + img[HDR_JUMP + 1];
	if (hdr_end < HDR_END_MIN || hdr_end > bz->setup_size)
		return err_set(err, errlen, -EINVAL,
			    "corrupt bzImage: setup header would end at 0x%x", hdr_end);
	bz->hdr_len = hdr_end - HDR_SETUP_SECTS;
	if (bz->hdr_len > sizeof(struct setup_header))
		bz->hdr_len = sizeof(struct setup_header);

	bz->initrd_addr_max = get32(img + HDR_INITRD_ADDR_MAX);
	bz->kernel_alignment = get32(img + HDR_KERNEL_ALIGNMENT);
	bz->relocatable = img[HDR_RELOCATABLE];
	bz->cmdline_size = get32(img + HDR_CMDLINE_SIZE);
	bz->pref_address = get64(img + HDR_PREF_ADDRESS);
	bz->init_size = get32(img + HDR_INIT_SIZE);

	if (bz->pref_address < X86_HIGH_MEM_START || bz->pref_address >= X86_4G ||
	    bz->pref_address & 0xfff)
		return err_set(err, errlen, -EINVAL,
			    "corrupt bzImage: preferred load address 0x%llx is not a page in 1 MiB..4 GiB",
			    (unsigned long long)bz->pref_address);
	if (bz->init_size < bz->kernel_size)
		return err_set(err, errlen, -EINVAL,
			    "corrupt bzImage: init_size %u is smaller than the kernel (%llu bytes)",
			    bz->init_size, (unsigned long long)bz->kernel_size);
	if (!bz->cmdline_size)
		return err_set(err, errlen, -EINVAL,
			    "corrupt bzImage: cmdline_size is 0");
	return 0;
}

int x86_boot_plan(const struct bzimage *bz, const struct x86_layout *l,
		  uint64_t initrd_size, size_t cmdline_len,
		  struct x86_boot_plan *p, char *err, size_t errlen)
{
	uint64_t top;

	memset(p, 0, sizeof(*p));
	if (cmdline_len > bz->cmdline_size ||
	    cmdline_len >= X86_BOOT_CMDLINE_MAX)
		return err_set(err, errlen, -E2BIG,
			    "kernel command line is %zu bytes; this kernel takes at most %u",
			    cmdline_len, bz->cmdline_size);

	p->kernel_addr = bz->pref_address;
	p->kernel_end = p->kernel_addr + bz->init_size;
	p->entry = p->kernel_addr + ENTRY64_OFFSET;
	if (p->kernel_end > l->low_size)
		return err_set(err, errlen, -ENOSPC,
			    "the kernel needs RAM up to %llu MiB to boot but there is %llu MiB: raise --mem",
			    (unsigned long long)((p->kernel_end + (1 << 20) - 1) >> 20),
			    (unsigned long long)(l->low_size >> 20));

	if (!initrd_size)
		return 0;
	/* As high as possible below initrd_addr_max, above the kernel. */
	top = l->low_size;
	if (top > (uint64_t)bz->initrd_addr_max + 1)
		top = (uint64_t)bz->initrd_addr_max + 1;
	if (initrd_size > top || ((top - initrd_size) & ~0xfffULL) < p->kernel_end)
		return err_set(err, errlen, -ENOSPC,
			    "the initrd (%llu MiB) does not fit between the kernel (up to %llu MiB) and %llu MiB: raise --mem",
			    (unsigned long long)((initrd_size + (1 << 20) - 1) >> 20),
			    (unsigned long long)((p->kernel_end + (1 << 20) - 1) >> 20),
			    (unsigned long long)(top >> 20));
	p->initrd_addr = (top - initrd_size) & ~0xfffULL;
	p->initrd_size = initrd_size;
	return 0;
}

/* Identity map of the low 4 GiB with 2 MiB pages. */
static int boot_page_tables(struct guest_mem *m)
{
	uint64_t *pml4, *pdpt, *pd;
	unsigned int i;

	pml4 = guest_mem_ptr(m, X86_BOOT_PML4, 4096);
	pdpt = guest_mem_ptr(m, X86_BOOT_PDPT, 4096);
	pd = guest_mem_ptr(m, X86_BOOT_PD, 4 * 4096);
	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	/* present | writable */
	pml4[0] = X86_BOOT_PDPT | 0x3;
	for (i = 0; i < 4; i++)
		pdpt[i] = (X86_BOOT_PD + i * 4096) | 0x3;
	/* present | writable | page size (2 MiB) */
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;
	return 0;
}

static int boot_gdt(struct guest_mem *m)
{
	static const uint64_t gdt[6] = {
		0,
		0,
		0x00af9b000000ffffULL,	/* 0x10: 64-bit code, DPL 0 */
		0x00cf93000000ffffULL,	/* 0x18: 4 GiB data, DPL 0 */
		0x00008b0000000067ULL,	/* 0x20: busy 64-bit TSS ... */
		0,			/* ... base bits 63:32 */
	};
	void *p = guest_mem_ptr(m, X86_BOOT_GDT, sizeof(gdt));

	if (!p)
		return -EFAULT;
	memcpy(p, gdt, sizeof(gdt));
	return 0;
}

int x86_boot_load(struct guest_mem *m, const struct bzimage *bz,
		  const uint8_t *img, const struct x86_boot_plan *p,
		  const struct x86_layout *l, const char *cmdline,
		  uint64_t rsdp)
{
	size_t cmdline_len = strlen(cmdline);
	struct boot_params *bp;
	void *dst;
	unsigned int i;

	dst = guest_mem_ptr(m, p->kernel_addr, bz->kernel_size);
	if (!dst)
		return -EFAULT;
	memcpy(dst, img + bz->setup_size, bz->kernel_size);

	dst = guest_mem_ptr(m, X86_BOOT_CMDLINE, cmdline_len + 1);
	if (!dst || cmdline_len >= X86_BOOT_CMDLINE_MAX)
		return -EFAULT;
	memcpy(dst, cmdline, cmdline_len + 1);

	bp = guest_mem_ptr(m, X86_BOOT_ZERO_PAGE, sizeof(*bp));
	if (!bp)
		return -EFAULT;
	memset(bp, 0, sizeof(*bp));
	memcpy(&bp->hdr, img + 0x1f1, bz->hdr_len);
	bp->hdr.type_of_loader = 0xff;		/* undefined boot loader */
	bp->hdr.loadflags &= ~(KEEP_SEGMENTS | QUIET_FLAG);
	bp->hdr.code32_start = p->kernel_addr;
	bp->hdr.cmd_line_ptr = (uint32_t)X86_BOOT_CMDLINE;
	bp->ext_cmd_line_ptr = 0;
	bp->hdr.ramdisk_image = (uint32_t)p->initrd_addr;
	bp->hdr.ramdisk_size = (uint32_t)p->initrd_size;
	bp->ext_ramdisk_image = p->initrd_addr >> 32;
	bp->ext_ramdisk_size = p->initrd_size >> 32;
	if (bz->version >= 0x020e)
		bp->acpi_rsdp_addr = rsdp;
	for (i = 0; i < l->nr_e820; i++) {
		bp->e820_table[i].addr = l->e820[i].addr;
		bp->e820_table[i].size = l->e820[i].size;
		bp->e820_table[i].type = l->e820[i].type;
	}
	bp->e820_entries = l->nr_e820;

	if (boot_page_tables(m) || boot_gdt(m))
		return -EFAULT;
	return 0;
}
