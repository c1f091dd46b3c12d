// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 Image header parser and boot planner of `vbridge run`
 * (user/arch/arm64/image.c): the kernel file is user input.
 *
 * Input: u32 RAM size in MiB (XOR 512), u32 initrd size in KiB, u32
 * firmware size in KiB, then the file.  Oracles: a parse either succeeds
 * with a header that makes sense or fails with a message; a plan that
 * succeeds puts kernel, initrd and device tree inside RAM, aligned, and
 * apart; the --bios plan keeps the firmware below the devices.
 */
#include <errno.h>
#include <string.h>

#include "arch/arm64/image.h"
#include "arch/arm64/layout.h"
#include "fz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static void check_err(int ret, const char *err, const char *what)
{
	if (ret >= 0)
		return;
	if (!err[0] || strlen(err) >= 300)
		fz_fail("%s: error %d without a message", what, ret);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint64_t ram = (uint64_t)(fz_u32(&f) ^ 512) << 20;
	uint64_t initrd = (uint64_t)fz_u32(&f) << 10;
	uint64_t bios = (uint64_t)fz_u32(&f) << 10;
	uint64_t ram_end = ARM64_RAM_BASE + ram;
	struct arm64_boot_plan p;
	struct arm64_image im;
	char err[300];
	int ret;

	memset(err, 0, sizeof(err));
	ret = arm64_image_parse(f.p, f.n, &im, err, sizeof(err));
	check_err(ret, err, "parse");
	if (ret == 0) {
		if (im.image_size < f.n || im.text_offset >= ARM64_SZ_2M ||
		    (im.flags & ARM64_IMAGE_FLAG_BE) || f.n < ARM64_IMAGE_HDR_SIZE)
			fz_fail("parse accepted a bad header");
		if (im.page_size && im.page_size != 4096 && im.page_size != 16384 &&
		    im.page_size != 65536)
			fz_fail("page size %u", im.page_size);

		memset(err, 0, sizeof(err));
		ret = arm64_boot_plan(&im, ram, initrd, &p, err, sizeof(err));
		check_err(ret, err, "plan");
		if (ret == 0) {
			if (p.kernel_addr != ARM64_RAM_BASE + im.text_offset ||
			    p.kernel_end != p.kernel_addr + im.image_size ||
			    p.kernel_end > ram_end)
				fz_fail("kernel outside RAM");
			if (p.dtb_addr % ARM64_SZ_2M || p.dtb_addr < p.kernel_end ||
			    p.dtb_addr + p.dtb_max > ram_end ||
			    p.dtb_addr + p.dtb_max > ARM64_RAM_BASE + ARM64_SZ_1G)
				fz_fail("device tree misplaced at 0x%llx",
					(unsigned long long)p.dtb_addr);
			if (p.initrd_size != initrd)
				fz_fail("initrd size changed");
			if (initrd && (p.initrd_addr % ARM64_SZ_4K ||
				       p.initrd_addr < p.kernel_end ||
				       p.initrd_addr + p.initrd_size > p.dtb_addr))
				fz_fail("initrd misplaced at 0x%llx",
					(unsigned long long)p.initrd_addr);
		}
	}

	memset(err, 0, sizeof(err));
	ret = arm64_bios_plan(bios, ram, &p, err, sizeof(err));
	check_err(ret, err, "bios plan");
	if (ret == 0 && (p.bios_addr + p.bios_size > ARM64_LOW_FREE_SIZE ||
			 p.dtb_addr != ARM64_RAM_BASE || p.dtb_max > ram))
		fz_fail("bios plan out of place");
	return 0;
}
