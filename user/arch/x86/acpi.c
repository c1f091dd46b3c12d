// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI tables: power-off, reset, CPUs and interrupt routing for a stock
 * kernel, with a DSDT written by a few lines of AML emitter.
 */
#include "arch/x86/acpi.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Fixed places of the small tables; MADT and DSDT follow. */
#define OFF_RSDP	0x000
#define OFF_XSDT	0x040
#define OFF_RSDT	0x080
#define OFF_FACS	0x0c0	/* 64-byte aligned */
#define OFF_FADT	0x100
#define OFF_MADT	0x240

#define HDR_LEN		36
#define RSDP_LEN	36
#define FACS_LEN	64
#define FADT_LEN	276	/* revision 6 */
#define FADT_REVISION	6
#define NR_TABLES	2	/* in the XSDT/RSDT: FADT, MADT */

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
#define FADT_F_SLP_BUTTON	(1u << 5)	/* no fixed sleep button */
#define FADT_F_RESET_REG_SUP	(1u << 10)
#define FADT_BOOT_NO_VGA	(1u << 2)	/* and no i8042 bit: no PS/2 */

#define GAS_SYSTEM_IO		1
#define GAS_ACCESS_BYTE		1
#define GAS_ACCESS_WORD		2

/* MADT (ACPI 6.5, 5.2.12) */
#define MADT_PCAT_COMPAT	1
#define MADT_LAPIC		0
#define MADT_IOAPIC		1
#define MADT_ISO		2
#define MADT_LAPIC_NMI		4
#define MADT_LAPIC_ENABLED	1
#define MADT_IRQ_LEVEL_HIGH	0x000d	/* trigger level (3 << 2), active high (1) */

/* AML opcodes (ACPI 6.5, 20.2) */
#define AML_ZERO		0x00
#define AML_ONE			0x01
#define AML_NAME		0x08
#define AML_BYTE		0x0a
#define AML_WORD		0x0b
#define AML_DWORD		0x0c
#define AML_SCOPE		0x10
#define AML_BUFFER		0x11
#define AML_PACKAGE		0x12
#define AML_EXT			0x5b
#define AML_EXT_DEVICE		0x82
#define AML_ROOT		'\\'

#define EISA_PNP0A03		0x030ad041	/* EisaId("PNP0A03"): PCI bus */
#define PCI_SLOTS		32

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
	t[9] = 0;
	t[9] = (uint8_t)-acpi_sum(t, len);
}

/* --- AML emitter ----------------------------------------------------------- */

/*
 * Bytes appended to a bounded buffer; running out sets .overflow and
 * further output is dropped (the caller checks once at the end).
 */
struct aml {
	uint8_t *buf;
	size_t size, len;
	bool overflow;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || a->size - a->len < n) {
		a->overflow = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* Integer data, in the shortest encoding. */
static void aml_int(struct aml *a, uint32_t v)
{
	uint8_t b[5];

	if (v == 0) {
		aml_byte(a, AML_ZERO);
	} else if (v == 1) {
		aml_byte(a, AML_ONE);
	} else if (v <= 0xff) {
		b[0] = AML_BYTE;
		b[1] = v;
		aml_bytes(a, b, 2);
	} else if (v <= 0xffff) {
		b[0] = AML_WORD;
		put16(b + 1, v);
		aml_bytes(a, b, 3);
	} else {
		b[0] = AML_DWORD;
		put32(b + 1, v);
		aml_bytes(a, b, 5);
	}
}

/* Open a PkgLength-prefixed body: 4 bytes reserved, trimmed on close. */
static size_t aml_open(struct aml *a)
{
	size_t start = a->len;

	aml_bytes(a, "\0\0\0\0", 4);
	return start;
}

/*
 * PkgLength counts its own bytes and the body (ACPI 6.5, 20.2.4): one byte
 * up to 63, else a lead byte with the count of following bytes in bits
 * 7:6 and the low nibble in bits 3:0.
 */
static void aml_close(struct aml *a, size_t start)
{
	size_t body, n, total;
	uint8_t *p;

	if (a->overflow)
		return;
	body = a->len - start - 4;
	for (n = 1; n <= 4; n++) {
		total = body + n;
		if ((n == 1 && total <= 63) || (n > 1 && total < (1u << (4 + 8 * (n - 1)))))
			break;
	}
	if (n > 4) {
		a->overflow = true;
		return;
	}
	p = a->buf + start;
	memmove(p + n, p + 4, body);
	a->len -= 4 - n;
	if (n == 1) {
		p[0] = total;
		return;
	}
	p[0] = (n - 1) << 6 | (total & 0xf);
	p[1] = total >> 4;
	if (n > 2)
		p[2] = total >> 12;
	if (n > 3)
		p[3] = total >> 20;
}

static void aml_name(struct aml *a, const char *seg)
{
	aml_byte(a, AML_NAME);
	aml_bytes(a, seg, 4);
}

/* Name (_S5, Package (4) { typ, typ, Zero, Zero }) */
static void aml_s5(struct aml *a, uint8_t typ)
{
	size_t pkg;

	aml_name(a, "_S5_");
	aml_byte(a, AML_PACKAGE);
	pkg = aml_open(a);
	aml_byte(a, 4);
	aml_int(a, typ);
	aml_int(a, typ);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_close(a, pkg);
}

/* Word Address Space Descriptor (ACPI 6.5, 6.4.3.5.3), producer, fixed. */
static void res_word(struct aml *a, uint8_t type, uint8_t type_flags,
		     uint16_t min, uint16_t max)
{
	uint8_t d[16] = { 0x88, 13, 0, type, 0x0c, type_flags };

	put16(d + 8, min);
	put16(d + 10, max);
	put16(d + 14, max - min + 1);
	aml_bytes(a, d, sizeof(d));
}

/* DWord Memory descriptor (ACPI 6.5, 6.4.3.5.2): read-write, uncached. */
static void res_dword_mem(struct aml *a, uint32_t min, uint32_t len)
{
	uint8_t d[26] = { 0x87, 23, 0, 0, 0x0c, 0x01 };

	put32(d + 10, min);
	put32(d + 14, min + len - 1);
	put32(d + 22, len);
	aml_bytes(a, d, sizeof(d));
}

/* Name (_CRS, ResourceTemplate () { bus 0-255, ports, memory window }) */
static void aml_pci_crs(struct aml *a, const struct acpi_config *cfg)
{
	/* IO (Decode16, 0xcf8, 0xcf8, 1, 8): the configuration ports */
	static const uint8_t cf8[8] = { 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 1, 8 };
	static const uint8_t end[2] = { 0x79, 0x00 };
	size_t buf, size_at, body;

	aml_name(a, "_CRS");
	aml_byte(a, AML_BUFFER);
	buf = aml_open(a);
	aml_byte(a, AML_WORD);		/* BufferSize, patched below */
	size_at = a->len;
	aml_bytes(a, "\0\0", 2);
	body = a->len;
	res_word(a, 2, 0, 0x00, 0xff);			/* bus numbers */
	aml_bytes(a, cf8, sizeof(cf8));
	res_word(a, 1, 0x03, 0x0000, 0x0cf7);		/* I/O below ... */
	res_word(a, 1, 0x03, 0x0d00, 0xffff);		/* ... and above 0xcf8 */
	res_dword_mem(a, cfg->pci_mmio_base, cfg->pci_mmio_size);
	aml_bytes(a, end, sizeof(end));
	if (!a->overflow)
		put16(a->buf + size_at, a->len - body);
	aml_close(a, buf);
}

/* Name (_PRT, Package () { Package () { 0xSSSSFFFF, pin, Zero, GSI }, ... }) */
static void aml_pci_prt(struct aml *a, const struct acpi_config *cfg)
{
	unsigned int slot, pin;
	size_t prt, ent;

	aml_name(a, "_PRT");
	aml_byte(a, AML_PACKAGE);
	prt = aml_open(a);
	aml_byte(a, (PCI_SLOTS - 1) * 4);
	for (slot = 1; slot < PCI_SLOTS; slot++) {
		for (pin = 1; pin <= 4; pin++) {
			aml_byte(a, AML_PACKAGE);
			ent = aml_open(a);
			aml_byte(a, 4);
			aml_int(a, slot << 16 | 0xffff);
			aml_int(a, pin - 1);
			aml_int(a, 0);			/* no link device: a GSI */
			aml_int(a, cfg->intx_gsi(cfg->intx_ctx, slot, pin));
			aml_close(a, ent);
		}
	}
	aml_close(a, prt);
}

/* Scope (\_SB) { Device (PCI0) { _HID, _UID, _CRS, _PRT } } */
static void aml_pci_root(struct aml *a, const struct acpi_config *cfg)
{
	size_t scope, dev;

	aml_byte(a, AML_SCOPE);
	scope = aml_open(a);
	aml_byte(a, AML_ROOT);
	aml_bytes(a, "_SB_", 4);

	aml_byte(a, AML_EXT);
	aml_byte(a, AML_EXT_DEVICE);
	dev = aml_open(a);
	aml_bytes(a, "PCI0", 4);
	aml_name(a, "_HID");
	aml_int(a, EISA_PNP0A03);
	aml_name(a, "_UID");
	aml_int(a, 0);
	aml_pci_crs(a, cfg);
	aml_pci_prt(a, cfg);
	aml_close(a, dev);

	aml_close(a, scope);
}

/* --- tables ---------------------------------------------------------------- */

static size_t build_madt(uint8_t *t, size_t room, const struct acpi_config *cfg)
{
	size_t len = HDR_LEN + 8 + cfg->nr_cpus * 8 + 12 + 10 + 6;
	uint8_t *e;
	unsigned int i;

	if (len > room)
		return 0;
	memset(t, 0, len);
	put32(t + HDR_LEN, cfg->lapic_addr);
	put32(t + HDR_LEN + 4, MADT_PCAT_COMPAT);
	e = t + HDR_LEN + 8;
	for (i = 0; i < cfg->nr_cpus; i++, e += 8) {
		e[0] = MADT_LAPIC;
		e[1] = 8;
		e[2] = i;			/* ACPI processor UID */
		e[3] = i;			/* APIC id */
		put32(e + 4, MADT_LAPIC_ENABLED);
	}
	e[0] = MADT_IOAPIC;
	e[1] = 12;
	e[2] = cfg->ioapic_id;
	put32(e + 4, cfg->ioapic_addr);
	put32(e + 8, 0);			/* GSI base */
	e += 12;
	/* The SCI is level-triggered; KVM drives it active high. */
	e[0] = MADT_ISO;
	e[1] = 10;
	e[2] = 0;				/* ISA */
	e[3] = cfg->sci_irq;
	put32(e + 4, cfg->sci_irq);
	put16(e + 8, MADT_IRQ_LEVEL_HIGH);
	e += 10;
	e[0] = MADT_LAPIC_NMI;
	e[1] = 6;
	e[2] = 0xff;				/* every processor */
	put16(e + 3, 0);
	e[5] = 1;				/* LINT1 */
	table_header(t, "APIC", len, 5);
	return len;
}

static size_t build_dsdt(uint8_t *t, size_t room, const struct acpi_config *cfg)
{
	struct aml a = { .buf = t, .size = room };

	if (room < HDR_LEN)
		return 0;
	a.len = HDR_LEN;
	aml_s5(&a, cfg->s5_slp_typ);
	aml_pci_root(&a, cfg);
	if (a.overflow)
		return 0;
	table_header(t, "DSDT", a.len, 2);
	return a.len;
}

static void build_fadt(uint8_t *fadt, uint64_t gpa, uint64_t dsdt,
		       const struct acpi_config *cfg)
{
	memset(fadt, 0, FADT_LEN);
	put32(fadt + FADT_FIRMWARE_CTRL, gpa + OFF_FACS);
	put32(fadt + FADT_DSDT, dsdt);
	put16(fadt + FADT_SCI_INT, cfg->sci_irq);
	/* SMI_CMD 0: the machine is always in ACPI mode. */
	put32(fadt + FADT_PM1A_EVT_BLK, cfg->pm1a_evt);
	put32(fadt + FADT_PM1A_CNT_BLK, cfg->pm1a_cnt);
	fadt[FADT_PM1_EVT_LEN] = 4;
	fadt[FADT_PM1_CNT_LEN] = 2;
	put16(fadt + FADT_IAPC_BOOT_ARCH, FADT_BOOT_NO_VGA);
	/* PWR_BUTTON clear: the fixed-feature power button (PM1 bit 8). */
	put32(fadt + FADT_FLAGS, FADT_F_WBINVD | FADT_F_SLP_BUTTON |
	      FADT_F_RESET_REG_SUP);
	put_gas_io(fadt + FADT_RESET_REG, 8, GAS_ACCESS_BYTE, cfg->reset_port);
	fadt[FADT_RESET_VALUE] = cfg->reset_value;
	put64(fadt + FADT_X_DSDT, dsdt);
	put_gas_io(fadt + FADT_X_PM1A_EVT_BLK, 32, GAS_ACCESS_WORD, cfg->pm1a_evt);
	put_gas_io(fadt + FADT_X_PM1A_CNT_BLK, 16, GAS_ACCESS_WORD, cfg->pm1a_cnt);
	table_header(fadt, "FACP", FADT_LEN, FADT_REVISION);
}

int acpi_build(void *buf, size_t size, uint64_t gpa,
	       const struct acpi_config *cfg)
{
	uint8_t *b = buf, *rsdp = b + OFF_RSDP, *xsdt = b + OFF_XSDT;
	uint8_t *rsdt = b + OFF_RSDT, *facs = b + OFF_FACS;
	size_t madt_len, dsdt_off, dsdt_len;

	if (gpa & 15 || gpa + size > (1ULL << 32) || cfg->s5_slp_typ > 7 ||
	    !cfg->nr_cpus || cfg->nr_cpus > ACPI_MAX_CPUS || !cfg->intx_gsi ||
	    !cfg->pci_mmio_size)
		return -EINVAL;
	if (size < OFF_MADT)
		return -ENOSPC;
	memset(b, 0, OFF_MADT);

	madt_len = build_madt(b + OFF_MADT, size - OFF_MADT, cfg);
	if (!madt_len)
		return -ENOSPC;
	dsdt_off = (OFF_MADT + madt_len + 15) & ~(size_t)15;
	if (dsdt_off >= size)
		return -ENOSPC;
	dsdt_len = build_dsdt(b + dsdt_off, size - dsdt_off, cfg);
	if (!dsdt_len)
		return -ENOSPC;

	memcpy(facs, "FACS", 4);
	put32(facs + 4, FACS_LEN);
	facs[32] = 2;				/* version */

	build_fadt(b + OFF_FADT, gpa, gpa + dsdt_off, cfg);

	put64(xsdt + HDR_LEN, gpa + OFF_FADT);
	put64(xsdt + HDR_LEN + 8, gpa + OFF_MADT);
	table_header(xsdt, "XSDT", HDR_LEN + 8 * NR_TABLES, 1);
	put32(rsdt + HDR_LEN, gpa + OFF_FADT);
	put32(rsdt + HDR_LEN + 4, gpa + OFF_MADT);
	table_header(rsdt, "RSDT", HDR_LEN + 4 * NR_TABLES, 1);

	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "VBRDGE", 6);
	rsdp[15] = 2;				/* ACPI 2.0+: XSDT */
	put32(rsdp + 16, gpa + OFF_RSDT);
	put32(rsdp + 20, RSDP_LEN);
	put64(rsdp + 24, gpa + OFF_XSDT);
	rsdp[8] = (uint8_t)-acpi_sum(rsdp, 20);
	rsdp[32] = (uint8_t)-acpi_sum(rsdp, RSDP_LEN);

	return dsdt_off + dsdt_len;
}
