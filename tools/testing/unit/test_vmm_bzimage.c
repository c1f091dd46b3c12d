// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/vmm/boot_x86.c: bzImage header checks on crafted
 * images, placement of kernel and initrd, and what lands in guest memory.
 */
#include <asm/bootparam.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "lib/guest_mem.h"
#include "tap.h"

#define IMG_LEN		(64 * 1024)
#define SETUP_SECTS	7

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

/* A well-formed bzImage header like Debian's kernels have. */
static uint8_t *make_image(void)
{
	uint8_t *img = calloc(1, IMG_LEN);
	uint32_t i;

	img[0x1f1] = SETUP_SECTS;
	put32(img + 0x1f4, (IMG_LEN - (SETUP_SECTS + 1) * 512) / 16);
	put16(img + 0x1fe, 0xaa55);
	img[0x200] = 0xeb;
	img[0x201] = 0x6a;		/* header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	put16(img + 0x206, 0x020f);
	img[0x211] = LOADED_HIGH;
	put32(img + 0x22c, 0x7fffffff);
	put32(img + 0x230, 0x200000);
	img[0x234] = 1;
	put16(img + 0x236, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	put32(img + 0x238, 2047);
	put32(img + 0x258, 0x1000000);	/* pref_address, low half */
	put32(img + 0x260, 0x3000000);	/* init_size: 48 MiB */
	for (i = (SETUP_SECTS + 1) * 512; i < IMG_LEN; i++)
		img[i] = (uint8_t)(i * 7);
	return img;
}

static void expect_reject(uint8_t *img, size_t len, const char *needle,
			  const char *what)
{
	struct bzimage bz;
	char err[200] = "";
	char msg[160];
	int ret = bzimage_parse(img, len, &bz, err, sizeof(err));

	snprintf(msg, sizeof(msg), "%s: rejected", what);
	TAP_EQ_INT(ret, -EINVAL, msg);
	snprintf(msg, sizeof(msg), "%s: message mentions '%s'", what, needle);
	if (!TAP_CHECK(strstr(err, needle) != NULL, msg))
		printf("#   message: %s\n", err);
}

static void test_parse(void)
{
	uint8_t *img = make_image();
	struct bzimage bz;
	char err[200] = "";

	TAP_EQ_INT(bzimage_parse(img, IMG_LEN, &bz, err, sizeof(err)), 0,
		   "good header accepted");
	TAP_EQ_INT(bz.version, 0x020f, "version 2.15");
	TAP_EQ_INT(bz.setup_size, (SETUP_SECTS + 1) * 512, "setup size from setup_sects");
	TAP_EQ_U64(bz.kernel_size, IMG_LEN - (SETUP_SECTS + 1) * 512, "kernel size");
	TAP_EQ_U64(bz.pref_address, 0x1000000, "preferred address");
	TAP_EQ_INT(bz.init_size, 0x3000000, "init_size");
	TAP_EQ_INT(bz.cmdline_size, 2047, "cmdline_size");
	TAP_EQ_INT(bz.hdr_len, 0x26c - 0x1f1, "setup header length from the jump");

	img[0x1f1] = 0;		/* 0 means 4 */
	put32(img + 0x1f4, (IMG_LEN - 5 * 512) / 16);
	TAP_EQ_INT(bzimage_parse(img, IMG_LEN, &bz, err, sizeof(err)), 0,
		   "setup_sects 0 accepted");
	TAP_EQ_INT(bz.setup_size, 5 * 512, "setup_sects 0 means 4");
	free(img);

	img = make_image();
	expect_reject(img, 0x100, "too short", "truncated header");
	img[0x1fe] = 0;
	expect_reject(img, IMG_LEN, "0xaa55", "no boot flag");
	free(img);

	img = make_image();
	memcpy(img + 0x202, "HdrX", 4);
	expect_reject(img, IMG_LEN, "HdrS", "bad magic");
	free(img);

	img = make_image();
	put16(img + 0x206, 0x020b);
	expect_reject(img, IMG_LEN, "2.11 is too old", "protocol 2.11");
	free(img);

	img = make_image();
	img[0x211] = 0;
	expect_reject(img, IMG_LEN, "zImage", "not loaded high");
	free(img);

	img = make_image();
	put16(img + 0x236, 0);
	expect_reject(img, IMG_LEN, "64-bit entry", "no XLF_KERNEL_64");
	free(img);

	img = make_image();
	img[0x1f1] = 200;	/* setup code past the end of the file */
	expect_reject(img, IMG_LEN, "truncated", "setup beyond the file");
	free(img);

	img = make_image();
	expect_reject(img, IMG_LEN / 2, "truncated", "kernel cut short");
	free(img);

	img = make_image();
	img[0x201] = 0x10;	/* header too short to hold init_size */
	expect_reject(img, IMG_LEN, "setup header", "jump inside the header");
	free(img);

	img = make_image();
	put32(img + 0x258, 0x1000);
	expect_reject(img, IMG_LEN, "preferred load address", "load address below 1 MiB");
	free(img);

	img = make_image();
	put32(img + 0x260, 0x100);
	expect_reject(img, IMG_LEN, "init_size", "init_size smaller than the kernel");
	free(img);
}

static void test_plan(void)
{
	uint8_t *img = make_image();
	struct x86_boot_plan p;
	struct x86_layout l;
	struct bzimage bz;
	char err[200];

	bzimage_parse(img, IMG_LEN, &bz, err, sizeof(err));
	x86_layout_compute(512ULL << 20, &l);

	TAP_EQ_INT(x86_boot_plan(&bz, &l, 0, 100, &p, err, sizeof(err)), 0,
		   "plan: kernel alone fits in 512M");
	TAP_EQ_U64(p.kernel_addr, 0x1000000, "plan: kernel at its preferred address");
	TAP_EQ_U64(p.entry, 0x1000200, "plan: 64-bit entry at +0x200");
	TAP_EQ_U64(p.kernel_end, 0x4000000, "plan: kernel needs init_size");
	TAP_EQ_U64(p.initrd_addr, 0, "plan: no initrd");

	TAP_EQ_INT(x86_boot_plan(&bz, &l, 10 << 20, 100, &p, err, sizeof(err)), 0,
		   "plan: 10M initrd fits");
	TAP_EQ_U64(p.initrd_addr, (512ULL << 20) - (10 << 20),
		   "plan: initrd at the top of RAM");
	TAP_EQ_U64(p.initrd_addr & 0xfff, 0, "plan: initrd page aligned");

	TAP_EQ_INT(x86_boot_plan(&bz, &l, 12345, 100, &p, err, sizeof(err)), 0,
		   "plan: odd-sized initrd fits");
	TAP_EQ_U64(p.initrd_addr, ((512ULL << 20) - 12345) & ~0xfffULL,
		   "plan: odd-sized initrd rounded down to a page");

	TAP_EQ_INT(x86_boot_plan(&bz, &l, 500ULL << 20, 100, &p, err, sizeof(err)),
		   -ENOSPC, "plan: initrd overlapping the kernel rejected");
	TAP_CHECK(strstr(err, "initrd") && strstr(err, "--mem"),
		  "plan: message names the initrd and --mem");

	TAP_EQ_INT(x86_boot_plan(&bz, &l, 0, 2048, &p, err, sizeof(err)), -E2BIG,
		   "plan: command line longer than cmdline_size rejected");
	TAP_EQ_INT(x86_boot_plan(&bz, &l, 0, 2047, &p, err, sizeof(err)), 0,
		   "plan: command line of exactly cmdline_size accepted");

	x86_layout_compute(48ULL << 20, &l);
	TAP_EQ_INT(x86_boot_plan(&bz, &l, 0, 10, &p, err, sizeof(err)), -ENOSPC,
		   "plan: RAM smaller than the kernel's needs rejected");
	TAP_CHECK(strstr(err, "--mem") != NULL, "plan: message says to raise --mem");

	/* initrd_addr_max below the top of RAM caps the initrd's place */
	bz.initrd_addr_max = (256 << 20) - 1;
	x86_layout_compute(1ULL << 30, &l);
	TAP_EQ_INT(x86_boot_plan(&bz, &l, 1 << 20, 10, &p, err, sizeof(err)), 0,
		   "plan: initrd with a low initrd_addr_max");
	TAP_EQ_U64(p.initrd_addr + p.initrd_size, 256 << 20,
		   "plan: initrd ends at initrd_addr_max + 1");

	/* More than 3G: the initrd still goes below the PCI hole */
	bz.initrd_addr_max = 0x7fffffff;
	x86_layout_compute(8ULL << 30, &l);
	TAP_EQ_INT(x86_boot_plan(&bz, &l, 1 << 20, 10, &p, err, sizeof(err)), 0,
		   "plan: 8G guest");
	TAP_EQ_U64(p.initrd_addr + p.initrd_size, 0x80000000ULL,
		   "plan: 8G guest has its initrd below 2 GiB");
	free(img);
}

static void test_load(void)
{
	uint8_t *img = make_image(), *ram;
	struct x86_boot_plan p;
	struct guest_mem m = { 0 };
	struct x86_layout l;
	struct bzimage bz;
	struct boot_params *bp;
	uint64_t *pml4, *pd;
	char err[200];

	bzimage_parse(img, IMG_LEN, &bz, err, sizeof(err));
	x86_layout_compute(128ULL << 20, &l);
	ram = calloc(1, l.ram_size);
	guest_mem_add(&m, 0, l.low_size, ram);
	x86_boot_plan(&bz, &l, 4096, 20, &p, err, sizeof(err));

	TAP_EQ_INT(x86_boot_load(&m, &bz, img, &p, &l, "console=ttyS0 quiet",
				 0xe0000), 0, "load: succeeds");
	TAP_CHECK(!memcmp(ram + 0x1000000, img + bz.setup_size, bz.kernel_size),
		  "load: kernel copied to its load address");
	TAP_CHECK(!strcmp((char *)ram + X86_BOOT_CMDLINE, "console=ttyS0 quiet"),
		  "load: command line in place");
	bp = (struct boot_params *)(ram + X86_BOOT_ZERO_PAGE);
	TAP_EQ_INT(bp->hdr.type_of_loader, 0xff, "load: type_of_loader set");
	TAP_EQ_U64(bp->hdr.cmd_line_ptr, X86_BOOT_CMDLINE, "load: cmd_line_ptr");
	TAP_EQ_U64(bp->hdr.ramdisk_image, p.initrd_addr, "load: ramdisk_image");
	TAP_EQ_U64(bp->hdr.ramdisk_size, 4096, "load: ramdisk_size");
	TAP_EQ_INT(bp->e820_entries, l.nr_e820, "load: e820 entries");
	TAP_EQ_U64(bp->e820_table[3].addr, 1 << 20, "load: e820 copied");
	TAP_EQ_U64(bp->acpi_rsdp_addr, 0xe0000, "load: RSDP address for 2.14+");
	TAP_EQ_U64(bp->hdr.header, 0x53726448, "load: setup header copied (HdrS)");
	TAP_EQ_INT(bp->hdr.version, 0x020f, "load: version copied");
	pml4 = (uint64_t *)(ram + X86_BOOT_PML4);
	pd = (uint64_t *)(ram + X86_BOOT_PD);
	TAP_EQ_U64(pml4[0], X86_BOOT_PDPT | 3, "load: PML4 points at the PDPT");
	TAP_EQ_U64(pd[8], (8ULL << 21) | 0x83, "load: 2 MiB identity pages");
	TAP_EQ_U64(pd[2047], (2047ULL << 21) | 0x83, "load: identity map covers 4 GiB");
	TAP_EQ_U64(*(uint64_t *)(ram + X86_BOOT_GDT + X86_BOOT_CS),
		   0x00af9b000000ffffULL, "load: __BOOT_CS is a 64-bit code segment");

	/* a plan that does not fit this memory is refused, not written */
	p.kernel_addr = 200ULL << 20;
	TAP_EQ_INT(x86_boot_load(&m, &bz, img, &p, &l, "x", 0), -EFAULT,
		   "load: kernel outside guest memory refused");
	free(ram);
	free(img);
}

int main(void)
{
	test_parse();
	test_plan();
	test_load();
	return tap_done();
}
