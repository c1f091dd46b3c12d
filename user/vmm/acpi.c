// SPDX-License-Identifier: GPL-2.0
/* Minimal ACPI tables: power-off through \_S5 and reset through the FADT. */
#include "vmm/acpi.h"

#include <errno.h>
#include <string.h>

/* Where each table goes, as offsets from the start of the buffer. */
#define OFF_RSDP	0x000
#define OFF_XSDT	0x040
#define OFF_RSDT	0x080
#define OFF_FACS	0x0c0	/* 64-byte aligned */
#define OFF_FADT	0x100
#define OFF_DSDT	0x240

#define HDR_LEN		36
#define RSDP_LEN	36
#define FACS_LEN	64
#define FADT_LEN	276	/* revision 6 */
#define FADT_REVISION	6

/* FADT field offsets (ACPI 6.5, table 5.9) */
#define FADT_FIRMWARE_CTRL	36
#define FADT_DSDT		40
#define FADT_SCI_INT		46
#define FADT_PM1A_EVT_BLK	56
#define FADT_PM1A_CNT_BLK	64
#define FADT_PM1_EVT_LEN	88
#define FADT_PM1_CNT_LEN	89
#define FADT_IAPC_BOOT_ARCH	109
#define FADT_FLAGS		112
#define FADT_RESET_REG		116
#define FADT_RESET_VALUE	128
#define FADT_X_DSDT		140
#define FADT_X_PM1A_EVT_BLK	148
#define FADT_X_PM1A_CNT_BLK	172

#define FADT_F_WBINVD		(1u << 0)
#define FADT_F_PWR_BUTTON	(1u << 4)	/* no fixed power button */
#define FADT_F_SLP_BUTTON	(1u << 5)	/* no fixed sleep button */
#define FADT_F_RESET_REG_SUP	(1u << 10)
#define FADT_BOOT_NO_VGA	(1u << 2)	/* no i8042 bit: no PS/2 */

#define GAS_SYSTEM_IO		1
#define GAS_ACCESS_BYTE		1
#define GAS_ACCESS_WORD		2
#define GAS_ACCESS_DWORD	3

/* AML opcodes used in the DSDT */
#define AML_NAME_OP		0x08
#define AML_PACKAGE_OP		0x12
#define AML_BYTE_PREFIX		0x0a
#define AML_ZERO_OP		0x00

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

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v);
	put32(p + 4, v >> 32);
}

/* Generic Address Structure for an I/O port register. */
static void put_gas_io(uint8_t *p, unsigned int bits, uint8_t access,
		       uint16_t port)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = bits;
	p[2] = 0;
	p[3] = access;
	put64(p + 4, port);
}

uint8_t acpi_sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

static void table_header(uint8_t *t, const char *sig, uint32_t len,
			 uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "VBRDGE", 6);		/* OEM ID */
	memcpy(t + 16, "VBRIDGE ", 8);		/* OEM table ID */
	put32(t + 24, 1);			/* OEM revision */
	memcpy(t + 28, "VBRG", 4);		/* creator ID */
	put32(t + 32, 1);			/* creator revision */
}

static void table_checksum(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = (uint8_t)-acpi_sum(t, len);
}

/* DSDT body: Name (_S5, Package (4) { typ, typ, Zero, Zero }) */
static size_t dsdt_body(uint8_t *p, uint8_t slp_typ)
{
	const uint8_t aml[] = {
		AML_NAME_OP, '_', 'S', '5', '_',
		AML_PACKAGE_OP,
		8,	/* PkgLength: itself + NumElements + 6 bytes of elements */
		4,	/* NumElements */
		AML_BYTE_PREFIX, slp_typ,
		AML_BYTE_PREFIX, slp_typ,
		AML_ZERO_OP,
		AML_ZERO_OP,
	};

	memcpy(p, aml, sizeof(aml));
	return sizeof(aml);
}

int acpi_build(void *buf, size_t size, uint64_t gpa,
	       const struct acpi_config *cfg)
{
	uint8_t *b = buf, *rsdp, *xsdt, *rsdt, *facs, *fadt, *dsdt;
	uint32_t dsdt_len;
	size_t body;

	if (gpa & 15 || gpa + OFF_DSDT >= (1ULL << 32) || cfg->s5_slp_typ > 7)
		return -EINVAL;
	if (size < OFF_DSDT + HDR_LEN + 64)
		return -ENOSPC;
	memset(b, 0, OFF_DSDT + HDR_LEN + 64);
	rsdp = b + OFF_RSDP;
	xsdt = b + OFF_XSDT;
	rsdt = b + OFF_RSDT;
	facs = b + OFF_FACS;
	fadt = b + OFF_FADT;
	dsdt = b + OFF_DSDT;

	body = dsdt_body(dsdt + HDR_LEN, cfg->s5_slp_typ);
	dsdt_len = HDR_LEN + body;
	table_header(dsdt, "DSDT", dsdt_len, 2);
	table_checksum(dsdt, dsdt_len);

	memcpy(facs, "FACS", 4);
	put32(facs + 4, FACS_LEN);
	facs[32] = 2;				/* version */

	table_header(fadt, "FACP", FADT_LEN, FADT_REVISION);
	put32(fadt + FADT_FIRMWARE_CTRL, gpa + OFF_FACS);
	put32(fadt + FADT_DSDT, gpa + OFF_DSDT);
	put16(fadt + FADT_SCI_INT, cfg->sci_irq);
	/* SMI_CMD 0: the machine is always in ACPI mode. */
	put32(fadt + FADT_PM1A_EVT_BLK, cfg->pm1a_evt);
	put32(fadt + FADT_PM1A_CNT_BLK, cfg->pm1a_cnt);
	fadt[FADT_PM1_EVT_LEN] = 4;
	fadt[FADT_PM1_CNT_LEN] = 2;
	put16(fadt + FADT_IAPC_BOOT_ARCH, FADT_BOOT_NO_VGA);
	put32(fadt + FADT_FLAGS, FADT_F_WBINVD | FADT_F_PWR_BUTTON |
	      FADT_F_SLP_BUTTON | FADT_F_RESET_REG_SUP);
	put_gas_io(fadt + FADT_RESET_REG, 8, GAS_ACCESS_BYTE, cfg->reset_port);
	fadt[FADT_RESET_VALUE] = cfg->reset_value;
	put64(fadt + FADT_X_DSDT, gpa + OFF_DSDT);
	put_gas_io(fadt + FADT_X_PM1A_EVT_BLK, 32, GAS_ACCESS_WORD, cfg->pm1a_evt);
	put_gas_io(fadt + FADT_X_PM1A_CNT_BLK, 16, GAS_ACCESS_WORD, cfg->pm1a_cnt);
	table_checksum(fadt, FADT_LEN);

	table_header(xsdt, "XSDT", HDR_LEN + 8, 1);
	put64(xsdt + HDR_LEN, gpa + OFF_FADT);
	table_checksum(xsdt, HDR_LEN + 8);

	table_header(rsdt, "RSDT", HDR_LEN + 4, 1);
	put32(rsdt + HDR_LEN, gpa + OFF_FADT);
	table_checksum(rsdt, HDR_LEN + 4);

	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "VBRDGE", 6);
	rsdp[15] = 2;				/* ACPI 2.0+: XSDT */
	put32(rsdp + 16, gpa + OFF_RSDT);
	put32(rsdp + 20, RSDP_LEN);
	put64(rsdp + 24, gpa + OFF_XSDT);
	rsdp[8] = (uint8_t)-acpi_sum(rsdp, 20);
	rsdp[32] = (uint8_t)-acpi_sum(rsdp, RSDP_LEN);

	return OFF_DSDT + dsdt_len;
}
