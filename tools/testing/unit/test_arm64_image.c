// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/arch/arm64/image.c: Image header checks on crafted
 * files (and the header of Debian's 6.1 arm64 kernel), placement of
 * kernel, initrd and device tree, the --bios plan, and what lands in guest
 * memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arm64/image.h"
#include "arch/arm64/layout.h"
#include "lib/guest_mem.h"
#include "tap.h"

#define IMG_LEN		(64 * 1024)
#define MiB		(1ULL << 20)

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v);
	put32(p + 4, v >> 32);
}

/*
 * The first 64 bytes of Debian's linux-image-6.1.0-57-arm64 vmlinuz (an
 * uncompressed Image with an EFI stub): text_offset 0, image_size
 * 0x2010000, flags 0xa (little-endian, 4K pages, anywhere).
 */
static const uint8_t debian_hdr[64] = {
	0x4d, 0x5a, 0x40, 0xfa, 0x56, 0xa3, 0x59, 0x14,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00,
	0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x41, 0x52, 0x4d, 0x64, 0x40, 0x00, 0x00, 0x00,
};

/* A well-formed Image of IMG_LEN bytes, text_offset 0x80000, 16 MiB. */
static uint8_t *make_image(void)
{
	uint8_t *img = calloc(1, IMG_LEN);
	uint32_t i;

	put32(img, 0x91005a4d);		/* add x13, x18, #0x16 ("MZ") */
	put32(img + 4, 0x14000010);	/* b stext */
	put64(img + 0x08, 0x80000);
	put64(img + 0x10, 16 * MiB);
	put64(img + 0x18, 0x2 | ARM64_IMAGE_FLAG_ANYWHERE);
	memcpy(img + 0x38, "ARM\x64", 4);
	for (i = 64; i < IMG_LEN; i++)
		img[i] = (uint8_t)(i * 7);
	return img;
}

static void expect_reject(const uint8_t *img, size_t len, const char *needle,
			  const char *what)
{
	struct arm64_image im;
	char err[300] = "";
	int ret = arm64_image_parse(img, len, &im, err, sizeof(err));

	TAP_EQ_INT(ret, -EINVAL, what);
	if (!TAP_CHECK(strstr(err, needle), "  ... and says why"))
		printf("#   error was: %s\n#   wanted: %s\n", err, needle);
}

static void test_parse(void)
{
	struct arm64_image im;
	char err[300] = "";
	uint8_t *img = make_image();

	TAP_EQ_INT(arm64_image_parse(img, IMG_LEN, &im, err, sizeof(err)), 0,
		   "parse: a well-formed Image is accepted");
	TAP_EQ_U64(im.text_offset, 0x80000, "parse: text_offset");
	TAP_EQ_U64(im.image_size, 16 * MiB, "parse: image_size");
	TAP_EQ_U64(im.file_size, IMG_LEN, "parse: file size");
	TAP_EQ_INT(im.page_size, 4096, "parse: flags bits 1-2 = 1: 4K pages");
	TAP_CHECK(im.anywhere, "parse: flag bit 3: anywhere");
	TAP_CHECK(im.efi_stub, "parse: MZ in code0: EFI stub");

	img[0x18] = 0x4;
	arm64_image_parse(img, IMG_LEN, &im, err, sizeof(err));
	TAP_EQ_INT(im.page_size, 16384, "parse: page size 2: 16K");
	TAP_CHECK(!im.anywhere, "parse: bit 3 clear");
	img[0x18] = 0x6;
	arm64_image_parse(img, IMG_LEN, &im, err, sizeof(err));
	TAP_EQ_INT(im.page_size, 65536, "parse: page size 3: 64K");
	img[0x18] = 0;
	arm64_image_parse(img, IMG_LEN, &im, err, sizeof(err));
	TAP_EQ_INT(im.page_size, 0, "parse: page size 0: unspecified");
	put32(img, 0x14000010);
	arm64_image_parse(img, IMG_LEN, &im, err, sizeof(err));
	TAP_CHECK(!im.efi_stub, "parse: no MZ: no EFI stub");
	free(img);

	img = calloc(1, 0x1000);
	memcpy(img, debian_hdr, sizeof(debian_hdr));
	TAP_EQ_INT(arm64_image_parse(img, 0x1000, &im, err, sizeof(err)), 0,
		   "parse: Debian 6.1 arm64 header accepted");
	TAP_EQ_U64(im.text_offset, 0, "Debian: text_offset 0");
	TAP_EQ_U64(im.image_size, 0x2010000, "Debian: image_size");
	TAP_EQ_INT(im.page_size, 4096, "Debian: 4K pages");
	TAP_CHECK(im.anywhere && im.efi_stub, "Debian: anywhere, EFI stub");
	free(img);
}

static void test_reject(void)
{
	uint8_t *img = make_image(), *short_zboot;
	uint8_t buf[IMG_LEN];

	expect_reject(img, 63, "too short", "reject: 63 bytes");

	memset(buf, 0, sizeof(buf));
	buf[0] = 0x1f;
	buf[1] = 0x8b;
	buf[2] = 8;
	expect_reject(buf, sizeof(buf), "gzip-compressed file (a vmlinuz.gz?)",
		      "reject: gzip'd vmlinuz named as such");
	expect_reject(buf, sizeof(buf), "Debian's linux-image-*-arm64",
		      "reject: gzip'd vmlinuz points at Debian's Image");
	memcpy(buf, "\x28\xb5\x2f\xfd", 4);
	expect_reject(buf, sizeof(buf), "zstd-compressed", "reject: zstd");
	memcpy(buf, "\xfd" "7zXZ\0", 6);
	expect_reject(buf, sizeof(buf), "xz-compressed", "reject: xz");

	memset(buf, 0, sizeof(buf));
	memcpy(buf, "MZ\0\0zimg", 8);
	memcpy(buf + 0x18, "zstd", 5);
	expect_reject(buf, sizeof(buf), "EFI zboot image (zstd-compressed)",
		      "reject: EFI zboot, with its compression");
	memcpy(buf + 0x18, "\x01\xff\x80zzzzzzzzzzzz", 15);
	expect_reject(buf, sizeof(buf), "EFI zboot image (???zzzz-compressed)",
		      "reject: EFI zboot, odd compression name made printable");

	/* Found by fuzz_arm64_image: the name was read past a short file. */
	short_zboot = malloc(0x1c);
	memcpy(short_zboot, buf, 0x18);
	memcpy(short_zboot + 0x18, "gzip", 4);
	expect_reject(short_zboot, 0x1c, "EFI zboot image (gzip-compressed)",
		      "reject: EFI zboot cut before its compression name");
	free(short_zboot);

	memset(buf, 0, sizeof(buf));
	memcpy(buf, "\x7f" "ELF", 4);
	expect_reject(buf, sizeof(buf), "ELF file", "reject: ELF vmlinux");
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 0x202, "HdrS", 4);
	expect_reject(buf, sizeof(buf), "x86 bzImage", "reject: x86 bzImage");
	memset(buf, 0, sizeof(buf));
	expect_reject(buf, sizeof(buf), "no \"ARM\\x64\" magic", "reject: no magic");

	put64(img + 0x18, 0xb);
	expect_reject(img, IMG_LEN, "big-endian", "reject: big-endian kernel");
	put64(img + 0x18, 0xa);

	put64(img + 0x10, 0);
	expect_reject(img, IMG_LEN, "older than 3.17", "reject: image_size 0");
	put64(img + 0x10, IMG_LEN - 1);
	expect_reject(img, IMG_LEN, "smaller than the file",
		      "reject: image_size below the file size");
	put64(img + 0x10, 1ULL << 41);
	expect_reject(img, IMG_LEN, "more than any guest's RAM",
		      "reject: image_size beyond any RAM");
	put64(img + 0x10, 16 * MiB);

	put64(img + 0x08, 0x200000);
	expect_reject(img, IMG_LEN, "text_offset 0x200000",
		      "reject: text_offset of 2 MiB");
	put64(img + 0x08, 0x80008);
	expect_reject(img, IMG_LEN, "text_offset 0x80008",
		      "reject: text_offset not a page");
	put64(img + 0x08, ~0ULL);
	expect_reject(img, IMG_LEN, "not a page inside", "reject: text_offset -1");
	free(img);
}

static void test_plan(void)
{
	struct arm64_boot_plan p;
	struct arm64_image im = {
		.text_offset = 0x80000, .image_size = 32 * MiB,
		.file_size = 30 * MiB,
	};
	char err[300] = "";

	TAP_EQ_INT(arm64_boot_plan(&im, 512 * MiB, 0, &p, err, sizeof(err)), 0,
		   "plan: kernel alone in 512 MiB");
	TAP_EQ_U64(p.kernel_addr, 0x40080000, "plan: kernel at RAM + text_offset");
	TAP_EQ_U64(p.entry, 0x40080000, "plan: entered at its first byte");
	TAP_EQ_U64(p.kernel_end, 0x40080000 + 32 * MiB, "plan: kernel end = image_size");
	TAP_EQ_U64(p.dtb_addr, 0x40000000 + 510 * MiB,
		   "plan: DTB in the last 2 MiB block of RAM");
	TAP_EQ_U64(p.dtb_max, 2 * MiB, "plan: DTB may take 2 MiB");
	TAP_EQ_U64(p.initrd_size, 0, "plan: no initrd");
	TAP_EQ_U64(p.bios_size, 0, "plan: no firmware");

	TAP_EQ_INT(arm64_boot_plan(&im, 4096 * MiB, 100 * MiB + 123, &p, err,
				   sizeof(err)), 0, "plan: initrd in 4 GiB");
	TAP_EQ_U64(p.dtb_addr, 0x40000000 + 1022 * MiB,
		   "plan: DTB at the end of the first GiB");
	TAP_EQ_U64(p.initrd_addr, (0x40000000 + 922 * MiB - 123) & ~0xfffULL,
		   "plan: initrd right below the DTB, page aligned");
	TAP_CHECK(p.initrd_addr + p.initrd_size <= p.dtb_addr,
		  "plan: initrd ends before the DTB");
	TAP_CHECK(p.initrd_addr >= p.kernel_end, "plan: initrd after the kernel");
	TAP_CHECK(p.dtb_addr % 8 == 0 && p.dtb_addr % (2 * MiB) == 0,
		  "plan: DTB aligned");

	/* Tight: kernel to 32.5 MiB (2 MiB rounded: 34), DTB at 34 MiB. */
	TAP_EQ_INT(arm64_boot_plan(&im, 36 * MiB, 0, &p, err, sizeof(err)), 0,
		   "plan: 36 MiB is just enough for kernel and DTB");
	TAP_CHECK(p.dtb_addr >= p.kernel_end, "plan: DTB after the kernel's image_size");
	TAP_EQ_U64(p.dtb_addr, 0x40000000 + 34 * MiB, "plan: ... DTB at 34 MiB");
	TAP_EQ_INT(arm64_boot_plan(&im, 34 * MiB, 0, &p, err, sizeof(err)), -ENOSPC,
		   "plan: 34 MiB has no room for the DTB");
	TAP_CHECK(strstr(err, "device tree") && strstr(err, "--mem"),
		  "plan: ... says so and what to change");
	TAP_EQ_INT(arm64_boot_plan(&im, 32 * MiB, 0, &p, err, sizeof(err)), -ENOSPC,
		   "plan: kernel larger than RAM");
	TAP_CHECK(strstr(err, "needs 33 MiB") && strstr(err, "--mem"),
		  "plan: ... says how much it needs");

	/*
	 * The initrd must not reach into [kernel, kernel + image_size):
	 * in 64 MiB the DTB is at 62 MiB, the kernel ends at 32.5 MiB.
	 */
	TAP_EQ_INT(arm64_boot_plan(&im, 64 * MiB, 29 * MiB + 0x80001, &p, err,
				   sizeof(err)), -ENOSPC,
		   "plan: initrd would overlap the kernel's image_size");
	TAP_CHECK(strstr(err, "initrd") && strstr(err, "--mem"),
		  "plan: ... says so");
	TAP_EQ_INT(arm64_boot_plan(&im, 64 * MiB, 29 * MiB + 0x80000, &p, err,
				   sizeof(err)), 0, "plan: initrd that just fits");
	TAP_EQ_U64(p.initrd_addr, p.kernel_end, "plan: ... starts at the kernel's end");
	TAP_EQ_INT(arm64_boot_plan(&im, 64 * MiB, ~0ULL, &p, err, sizeof(err)),
		   -ENOSPC, "plan: huge initrd does not wrap around");

	/* More RAM than the IPA space takes. */
	TAP_EQ_INT(arm64_boot_plan(&im, 1ULL << 40, 0, &p, err, sizeof(err)),
		   -ENOSPC, "plan: RAM beyond the 40-bit IPA space refused");
	TAP_CHECK(strstr(err, "40-bit") && strstr(err, "at most 1047552 MiB"),
		  "plan: ... says the limit");
}

static void test_bios(void)
{
	struct arm64_boot_plan p;
	char err[300] = "";

	TAP_EQ_INT(arm64_bios_plan(4 * MiB, 256 * MiB, &p, err, sizeof(err)), 0,
		   "bios: 4 MiB of firmware");
	TAP_EQ_U64(p.bios_addr, 0, "bios: firmware at 0");
	TAP_EQ_U64(p.entry, 0, "bios: entered at 0");
	TAP_EQ_U64(p.dtb_addr, 0x40000000, "bios: DTB at the start of RAM");
	TAP_EQ_U64(p.kernel_addr + p.initrd_size, 0, "bios: no kernel, no initrd");
	TAP_EQ_INT(arm64_bios_plan(128 * MiB, 256 * MiB, &p, err, sizeof(err)), 0,
		   "bios: 128 MiB just fits below the GIC");
	TAP_EQ_INT(arm64_bios_plan(128 * MiB + 1, 256 * MiB, &p, err, sizeof(err)),
		   -E2BIG, "bios: one byte more does not");
	TAP_CHECK(strstr(err, "128 MiB"), "bios: ... says the limit");
	TAP_EQ_INT(arm64_bios_plan(0, 256 * MiB, &p, err, sizeof(err)), -EINVAL,
		   "bios: empty file refused");
}

static void test_load(void)
{
	struct guest_mem m = { 0 };
	struct arm64_boot_plan p;
	struct arm64_image im;
	uint64_t ram = 64 * MiB;
	uint8_t *mem = aligned_alloc(4096, ram), *img = make_image();
	char err[300] = "", dtb[100];

	memset(mem, 0xee, ram);
	memset(dtb, 0xd7, sizeof(dtb));
	guest_mem_add(&m, ARM64_RAM_BASE, ram, mem);
	arm64_image_parse(img, IMG_LEN, &im, err, sizeof(err));
	TAP_EQ_INT(arm64_boot_plan(&im, ram, 0, &p, err, sizeof(err)), 0,
		   "load: plan");
	TAP_EQ_INT(arm64_boot_load(&m, &p, img, IMG_LEN, dtb, sizeof(dtb)), 0,
		   "load: loads");
	TAP_CHECK(!memcmp(mem + 0x80000, img, IMG_LEN), "load: kernel at text_offset");
	TAP_EQ_INT(mem[0x80000 - 1], 0xee, "load: nothing before it");
	TAP_EQ_INT(mem[0x80000 + IMG_LEN], 0xee, "load: nothing after the file");
	TAP_CHECK(!memcmp(mem + (p.dtb_addr - ARM64_RAM_BASE), dtb, sizeof(dtb)),
		  "load: DTB where planned");
	TAP_EQ_INT(arm64_boot_load(&m, &p, img, IMG_LEN, dtb, 2 * MiB + 1), -E2BIG,
		   "load: DTB over 2 MiB refused");

	TAP_EQ_INT(arm64_bios_plan(MiB, ram, &p, err, sizeof(err)), 0, "load: bios plan");
	memset(dtb, 0x5a, sizeof(dtb));
	TAP_EQ_INT(arm64_boot_load(&m, &p, NULL, 0, dtb, sizeof(dtb)), 0,
		   "load: bios plan loads the DTB only");
	TAP_CHECK(!memcmp(mem, dtb, sizeof(dtb)), "load: DTB at the start of RAM");
	free(mem);
	free(img);
}

int main(void)
{
	test_parse();
	test_reject();
	test_plan();
	test_bios();
	test_load();
	return tap_done();
}
