// SPDX-License-Identifier: GPL-2.0
/* arm64 Image header checks and the boot plan. */
#include "arch/arm64/image.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/arm64/layout.h"
#include "lib/log.h"

#define HDR_TEXT_OFFSET		0x08
#define HDR_IMAGE_SIZE		0x10
#define HDR_FLAGS		0x18
#define HDR_MAGIC		0x38

/* Below 3.17, image_size was 0 and text_offset's endianness undefined. */
#define TEXT_OFFSET_MAX		ARM64_SZ_2M

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint64_t mib_up(uint64_t v)
{
	return (v + (1 << 20) - 1) >> 20;
}

#define DEBIAN_HINT							\
	"use an uncompressed arm64 Image (Debian's linux-image-*-arm64 "	\
	"packages ship /boot/vmlinuz-* as one)"

/* What a file that is not an Image seems to be, for the error message. */
static int not_an_image(const uint8_t *img, size_t len, char *err,
			size_t errlen)
{
	static const struct {
		const char *magic;
		size_t len;
		const char *what;
	} packed[] = {
		{ "\x1f\x8b", 2, "gzip" },
		{ "\xfd" "7zXZ", 5, "xz" },
		{ "\x28\xb5\x2f\xfd", 4, "zstd" },
		{ "BZh", 3, "bzip2" },
		{ "\x02\x21\x4c\x18", 4, "lz4" },
		{ "\x89LZO", 4, "lzo" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(packed) / sizeof(packed[0]); i++) {
		if (len >= packed[i].len &&
		    !memcmp(img, packed[i].magic, packed[i].len))
			return err_set(err, errlen, -EINVAL,
				    "not an arm64 Image but a %s-compressed file (a vmlinuz.%s?): decompress it first, or "
				    DEBIAN_HINT, packed[i].what,
				    !strcmp(packed[i].what, "gzip") ? "gz" : packed[i].what);
	}
	if (len >= 0x1c && !memcmp(img, "MZ", 2) && !memcmp(img + 4, "zimg", 4)) {
		char comp[8] = "";
		size_t n = len - 0x18 < sizeof(comp) - 1 ? len - 0x18 : sizeof(comp) - 1;

		memcpy(comp, img + 0x18, n);
		for (i = 0; comp[i]; i++)
			if (comp[i] < 'a' || comp[i] > 'z')
				comp[i] = '?';
		return err_set(err, errlen, -EINVAL,
			    "not an arm64 Image but an EFI zboot image (%s-compressed): boot it from EFI firmware (--bios), or "
			    DEBIAN_HINT, comp);
	}
	if (len >= 4 && !memcmp(img, "\x7f" "ELF", 4))
		return err_set(err, errlen, -EINVAL,
			    "not an arm64 Image but an ELF file (vmlinux?): use arch/arm64/boot/Image");
	if (len >= 0x206 && !memcmp(img + 0x202, "HdrS", 4))
		return err_set(err, errlen, -EINVAL,
			    "not an arm64 Image but an x86 bzImage");
	if (len >= 4 && !memcmp(img, "\x27\x05\x19\x56", 4))
		return err_set(err, errlen, -EINVAL,
			    "not an arm64 Image but a u-boot uImage: use the Image inside it");
	if (len < ARM64_IMAGE_HDR_SIZE)
		return err_set(err, errlen, -EINVAL,
			    "not an arm64 Image: %zu bytes is too short for its 64-byte header",
			    len);
	return err_set(err, errlen, -EINVAL,
		    "not an arm64 Image: no \"ARM\\x64\" magic at offset 0x38; "
		    DEBIAN_HINT);
}

int arm64_image_parse(const uint8_t *img, size_t len, struct arm64_image *im,
		      char *err, size_t errlen)
{
	unsigned int pg;

	memset(im, 0, sizeof(*im));
	if (len < ARM64_IMAGE_HDR_SIZE || get32(img + HDR_MAGIC) != ARM64_IMAGE_MAGIC)
		return not_an_image(img, len, err, errlen);

	im->text_offset = get64(img + HDR_TEXT_OFFSET);
	im->image_size = get64(img + HDR_IMAGE_SIZE);
	im->flags = get64(img + HDR_FLAGS);
	im->file_size = len;
	im->efi_stub = img[0] == 'M' && img[1] == 'Z';
	im->anywhere = im->flags & ARM64_IMAGE_FLAG_ANYWHERE;
	pg = (im->flags & ARM64_IMAGE_FLAG_PAGE_MASK) >> ARM64_IMAGE_FLAG_PAGE_SHIFT;
	im->page_size = pg ? 1u << (10 + 2 * pg) : 0;

	if (!im->image_size)
		return err_set(err, errlen, -EINVAL,
			    "arm64 Image with image_size 0 (a kernel older than 3.17) is not supported");
	if (im->flags & ARM64_IMAGE_FLAG_BE)
		return err_set(err, errlen, -EINVAL,
			    "big-endian arm64 kernel: only little-endian guests are supported");
	if (im->text_offset >= TEXT_OFFSET_MAX || im->text_offset & 0xfff)
		return err_set(err, errlen, -EINVAL,
			    "corrupt arm64 Image: text_offset 0x%llx is not a page inside a 2 MiB block",
			    (unsigned long long)im->text_offset);
	if (im->image_size < len)
		return err_set(err, errlen, -EINVAL,
			    "corrupt arm64 Image: image_size %llu is smaller than the file (%zu bytes)",
			    (unsigned long long)im->image_size, len);
	if (im->image_size > ARM64_RAM_MAX)
		return err_set(err, errlen, -EINVAL,
			    "corrupt arm64 Image: image_size %llu MiB is more than any guest's RAM",
			    (unsigned long long)mib_up(im->image_size));
	return 0;
}

int arm64_boot_plan(const struct arm64_image *im, uint64_t ram_size,
		    uint64_t initrd_size, struct arm64_boot_plan *p,
		    char *err, size_t errlen)
{
	uint64_t ram_end = ARM64_RAM_BASE + ram_size;
	uint64_t top, bottom;

	memset(p, 0, sizeof(*p));
	p->kernel_addr = ARM64_RAM_BASE + im->text_offset;
	p->kernel_end = p->kernel_addr + im->image_size;
	p->entry = p->kernel_addr;
	if (ram_size > ARM64_RAM_MAX)
		return err_set(err, errlen, -ENOSPC,
			    "%llu MiB of RAM does not fit the guest's 40-bit address space above 0x40000000: at most %llu MiB",
			    (unsigned long long)(ram_size >> 20),
			    (unsigned long long)(ARM64_RAM_MAX >> 20));
	if (p->kernel_end > ram_end)
		return err_set(err, errlen, -ENOSPC,
			    "the kernel needs %llu MiB of RAM to boot but there is %llu MiB: raise --mem",
			    (unsigned long long)mib_up(p->kernel_end - ARM64_RAM_BASE),
			    (unsigned long long)(ram_size >> 20));

	/* The device tree alone in the last 2 MiB block of the first GiB. */
	top = ram_size < ARM64_SZ_1G ? ram_end : ARM64_RAM_BASE + ARM64_SZ_1G;
	top &= ~(ARM64_SZ_2M - 1);
	bottom = (p->kernel_end + ARM64_SZ_2M - 1) & ~(ARM64_SZ_2M - 1);
	if (top < bottom + ARM64_SZ_2M)
		return err_set(err, errlen, -ENOSPC,
			    "no room for the device tree after the kernel (%llu MiB of RAM needed, there is %llu): raise --mem",
			    (unsigned long long)mib_up(bottom + ARM64_SZ_2M - ARM64_RAM_BASE),
			    (unsigned long long)(ram_size >> 20));
	p->dtb_addr = top - ARM64_SZ_2M;
	p->dtb_max = ARM64_DTB_MAX;

	if (!initrd_size)
		return 0;
	if (initrd_size > p->dtb_addr - p->kernel_end ||
	    ((p->dtb_addr - initrd_size) & ~(ARM64_SZ_4K - 1)) < p->kernel_end)
		return err_set(err, errlen, -ENOSPC,
			    "the initrd (%llu MiB) does not fit between the kernel (to %llu MiB) and the device tree (at %llu MiB of the first GiB of RAM): raise --mem",
			    (unsigned long long)mib_up(initrd_size),
			    (unsigned long long)mib_up(p->kernel_end - ARM64_RAM_BASE),
			    (unsigned long long)((p->dtb_addr - ARM64_RAM_BASE) >> 20));
	p->initrd_addr = (p->dtb_addr - initrd_size) & ~(ARM64_SZ_4K - 1);
	p->initrd_size = initrd_size;
	return 0;
}

int arm64_bios_plan(uint64_t bios_size, uint64_t ram_size,
		    struct arm64_boot_plan *p, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	if (!bios_size)
		return err_set(err, errlen, -EINVAL, "the --bios file is empty");
	if (bios_size > ARM64_BIOS_MAX)
		return err_set(err, errlen, -E2BIG,
			    "the --bios file is %llu MiB; firmware must fit in the %llu MiB below the devices",
			    (unsigned long long)mib_up(bios_size),
			    (unsigned long long)(ARM64_BIOS_MAX >> 20));
	if (ram_size < ARM64_DTB_MAX)
		return err_set(err, errlen, -ENOSPC,
			    "%llu KiB of RAM cannot hold the device tree: raise --mem",
			    (unsigned long long)(ram_size >> 10));
	p->bios_addr = ARM64_BIOS_BASE;
	p->bios_size = bios_size;
	p->entry = ARM64_BIOS_BASE;
	p->dtb_addr = ARM64_RAM_BASE;
	p->dtb_max = ARM64_DTB_MAX;
	return 0;
}

int arm64_boot_load(struct guest_mem *m, const struct arm64_boot_plan *p,
		    const uint8_t *img, size_t len, const void *dtb,
		    size_t dtb_size)
{
	void *dst;

	if (dtb_size > p->dtb_max)
		return -E2BIG;
	if (img) {
		if (len > p->kernel_end - p->kernel_addr)
			return -EFAULT;
		dst = guest_mem_ptr(m, p->kernel_addr, len);
		if (!dst)
			return -EFAULT;
		memcpy(dst, img, len);
	}
	dst = guest_mem_ptr(m, p->dtb_addr, dtb_size);
	if (!dst)
		return -EFAULT;
	memcpy(dst, dtb, dtb_size);
	return 0;
}
