// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/vmm/acpi.c: the table chain and checksums, the FADT
 * power-off/reset registers, the MADT, and the DSDT's AML (\_S5 and the PCI
 * root bridge with its _CRS and _PRT), decoded here independently.
 */
#include <errno.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "tap.h"

#define GPA	0xe0000ULL
#define NCPUS	3

static uint8_t buf[0x10000];

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

/* The routing callback; ctx is the first GSI, to see it passed along. */
static unsigned int gsi_base = 16;

static unsigned int gsi_of(void *ctx, unsigned int slot, unsigned int pin)
{
	return *(const unsigned int *)ctx + (slot + pin - 1) % 8;
}

/* Guest-physical address to a pointer into buf, or NULL. */
static const uint8_t *at(uint64_t gpa, size_t len)
{
	if (gpa < GPA || gpa + len > GPA + sizeof(buf))
		return NULL;
	return buf + (gpa - GPA);
}

static const uint8_t *table(uint64_t gpa, const char *sig)
{
	const uint8_t *t = at(gpa, 36);
	char msg[96];

	snprintf(msg, sizeof(msg), "%s: inside the table area", sig);
	if (!TAP_CHECK(t != NULL, msg))
		return NULL;
	snprintf(msg, sizeof(msg), "%s: signature", sig);
	TAP_CHECK(!memcmp(t, sig, 4), msg);
	snprintf(msg, sizeof(msg), "%s: checksum", sig);
	TAP_EQ_INT(acpi_sum(t, get32(t + 4)), 0, msg);
	return t;
}

/* AML PkgLength: returns the length and sets *n to its byte count. */
static unsigned int pkglen(const uint8_t *p, unsigned int *n)
{
	unsigned int follow = p[0] >> 6, len, i;

	if (!follow) {
		*n = 1;
		return p[0] & 0x3f;
	}
	len = p[0] & 0x0f;
	for (i = 0; i < follow; i++)
		len |= (unsigned int)p[1 + i] << (4 + 8 * i);
	*n = 1 + follow;
	return len;
}

/* AML integer (Zero, One, Byte/Word/DWordPrefix); *n gets its size. */
static uint32_t aml_int(const uint8_t *p, unsigned int *n)
{
	switch (p[0]) {
	case 0x00: *n = 1; return 0;
	case 0x01: *n = 1; return 1;
	case 0x0a: *n = 2; return p[1];
	case 0x0b: *n = 3; return get16(p + 1);
	case 0x0c: *n = 5; return get32(p + 1);
	}
	*n = 1;
	return 0xdeadbeef;
}

static void test_madt(const uint8_t *madt)
{
	const uint8_t *e = madt + 44, *end = madt + get32(madt + 4);
	unsigned int cpus = 0, ioapics = 0, isos = 0, nmis = 0, ids_ok = 1;

	TAP_EQ_U64(get32(madt + 36), 0xfee00000, "MADT: local APIC address");
	TAP_EQ_INT(get32(madt + 40) & 1, 1, "MADT: PC-AT compatible (8259s present)");
	while (e < end && e[1]) {
		switch (e[0]) {
		case 0:
			if (e[2] != cpus || e[3] != cpus || get32(e + 4) != 1)
				ids_ok = 0;
			cpus++;
			break;
		case 1:
			ioapics++;
			TAP_EQ_INT(e[2], NCPUS, "MADT: IOAPIC id");
			TAP_EQ_U64(get32(e + 4), 0xfec00000, "MADT: IOAPIC address");
			TAP_EQ_INT(get32(e + 8), 0, "MADT: IOAPIC GSI base 0");
			break;
		case 2:
			isos++;
			TAP_CHECK(e[3] == 9 && get32(e + 4) == 9 && get16(e + 8) == 0x0d,
				  "MADT: SCI override IRQ 9 -> GSI 9, level");
			break;
		case 4:
			nmis++;
			TAP_CHECK(e[2] == 0xff && e[5] == 1, "MADT: NMI on LINT1 of every CPU");
			break;
		}
		e += e[1];
	}
	TAP_CHECK(e == end, "MADT: entries fill the table exactly");
	TAP_EQ_INT(cpus, NCPUS, "MADT: one local APIC per CPU");
	TAP_CHECK(ids_ok, "MADT: UIDs and APIC ids 0..n-1, enabled");
	TAP_EQ_INT(ioapics, 1, "MADT: one IOAPIC");
	TAP_EQ_INT(isos, 1, "MADT: one interrupt source override");
	TAP_EQ_INT(nmis, 1, "MADT: one local APIC NMI");
}

static void test_prt(const uint8_t *p, const uint8_t *end)
{
	unsigned int n, len, count, i, good = 0, seen[32][4];
	const uint8_t *pkg_end;

	memset(seen, 0, sizeof(seen));
	TAP_EQ_INT(p[0], 0x12, "_PRT: a Package");
	len = pkglen(p + 1, &n);
	pkg_end = p + 1 + len;
	TAP_CHECK(pkg_end <= end, "_PRT: inside the device");
	p += 1 + n;
	count = *p++;
	TAP_EQ_INT(count, 31 * 4, "_PRT: INTA-D of slots 1-31");
	for (i = 0; i < count && p < pkg_end; i++) {
		uint32_t addr, pin, src, gsi;
		const uint8_t *q;

		if (p[0] != 0x12)
			break;
		len = pkglen(p + 1, &n);
		q = p + 1 + n;
		if (*q++ != 4)
			break;
		addr = aml_int(q, &n); q += n;
		pin = aml_int(q, &n); q += n;
		src = aml_int(q, &n); q += n;
		gsi = aml_int(q, &n); q += n;
		if (q != p + 1 + len)
			break;
		if ((addr & 0xffff) == 0xffff && (addr >> 16) < 32 && pin < 4 &&
		    src == 0 && gsi == gsi_of(&gsi_base, addr >> 16, pin + 1)) {
			good++;
			seen[addr >> 16][pin]++;
		}
		p = q;
	}
	TAP_EQ_INT(good, 31 * 4, "_PRT: every entry {slot:0xffff, pin, 0, GSI} right");
	TAP_CHECK(p == pkg_end, "_PRT: entries end with the package");
	TAP_CHECK(seen[1][0] == 1 && seen[31][3] == 1 && seen[0][0] == 0,
		  "_PRT: slot 0 (host bridge) has none, 1 and 31 have theirs");
}

static void test_crs(const uint8_t *p)
{
	unsigned int n, len, blen, words = 0, mem = 0;
	const uint8_t *d, *end;

	TAP_EQ_INT(p[0], 0x11, "_CRS: a Buffer");
	len = pkglen(p + 1, &n);
	d = p + 1 + n;
	blen = aml_int(d, &n);
	d += n;
	end = d + blen;
	TAP_CHECK(end == p + 1 + len, "_CRS: buffer size matches its package");
	while (d < end) {
		if (d[0] == 0x79) {		/* end tag */
			d += 2;
			break;
		}
		if (d[0] & 0x80) {		/* large item */
			if (d[0] == 0x88)
				words++;
			if (d[0] == 0x87) {
				mem++;
				TAP_EQ_U64(get32(d + 10), 0xc0000000, "_CRS: memory window base");
				TAP_EQ_U64(get32(d + 14), 0xfebfffff, "_CRS: memory window end");
				TAP_EQ_U64(get32(d + 22), 0x3ec00000, "_CRS: memory window length");
			}
			d += 3 + get16(d + 1);
		} else {
			d += 1 + (d[0] & 7);
		}
	}
	TAP_CHECK(d == end, "_CRS: descriptors end with the end tag at the buffer end");
	TAP_EQ_INT(words, 3, "_CRS: bus range and two I/O ranges");
	TAP_EQ_INT(mem, 1, "_CRS: one memory window");
}

static void test_dsdt(const uint8_t *dsdt)
{
	const uint8_t *end = dsdt + get32(dsdt + 4), *s5, *sb, *dev, *p;
	unsigned int n, len;

	s5 = memmem(dsdt + 36, end - dsdt - 36, "\x08_S5_", 5);
	TAP_CHECK(s5 != NULL, "DSDT: Name (_S5, ...)");
	if (s5) {
		TAP_EQ_INT(s5[5], 0x12, "\\_S5 is a Package");
		TAP_EQ_INT(s5[7], 4, "\\_S5 has four elements");
		TAP_EQ_INT(s5[8] == 0x0a ? s5[9] : -1, 5, "\\_S5 SLP_TYPa is the configured value");
	}
	sb = memmem(dsdt + 36, end - dsdt - 36, "\\_SB_", 5);
	TAP_CHECK(sb && memchr(dsdt + 36, 0x10, sb - dsdt - 36),
		  "DSDT: Scope (\\_SB)");
	dev = memmem(dsdt + 36, end - dsdt - 36, "\x5b\x82", 2);
	if (!TAP_CHECK(dev != NULL, "DSDT: a Device"))
		return;
	len = pkglen(dev + 2, &n);
	TAP_CHECK(dev + 2 + len == end, "DSDT: Device and Scope end with the table");
	TAP_CHECK(!memcmp(dev + 2 + n, "PCI0", 4), "DSDT: the Device is PCI0");
	p = memmem(dev, end - dev, "\x08_HID\x0c", 6);
	TAP_CHECK(p && get32(p + 6) == 0x030ad041, "PCI0: _HID is EisaId (PNP0A03)");
	p = memmem(dev, end - dev, "\x08_CRS", 5);
	if (TAP_CHECK(p != NULL, "PCI0: _CRS"))
		test_crs(p + 5);
	p = memmem(dev, end - dev, "\x08_PRT", 5);
	if (TAP_CHECK(p != NULL, "PCI0: _PRT"))
		test_prt(p + 5, end);
}

int main(void)
{
	struct acpi_config cfg = {
		.nr_cpus = NCPUS, .lapic_addr = 0xfee00000, .ioapic_id = NCPUS,
		.ioapic_addr = 0xfec00000, .pci_mmio_base = 0xc0000000,
		.pci_mmio_size = 0xfec00000 - 0xc0000000, .intx_gsi = gsi_of, .intx_ctx = &gsi_base,
		.pm1a_evt = 0x600, .pm1a_cnt = 0x604, .reset_port = 0xcf9,
		.reset_value = 6, .sci_irq = 9, .s5_slp_typ = 5,
	};
	const uint8_t *rsdp = buf, *xsdt, *rsdt, *fadt, *dsdt, *madt, *facs;
	int n;

	memset(buf, 0xa5, sizeof(buf));
	n = acpi_build(buf, sizeof(buf), GPA, &cfg);
	TAP_CHECK(n > 0 && n < 8192, "tables built, small");

	TAP_CHECK(!memcmp(rsdp, "RSD PTR ", 8), "RSDP signature");
	TAP_EQ_INT(acpi_sum(rsdp, 20), 0, "RSDP checksum (first 20 bytes)");
	TAP_EQ_INT(acpi_sum(rsdp, 36), 0, "RSDP extended checksum");
	TAP_EQ_INT(rsdp[15], 2, "RSDP revision 2 (has an XSDT)");

	xsdt = table(get64(rsdp + 24), "XSDT");
	rsdt = table(get32(rsdp + 16), "RSDT");
	if (!xsdt || !rsdt)
		return tap_done();
	TAP_EQ_INT(get32(xsdt + 4), 36 + 16, "XSDT has two entries");
	TAP_CHECK(get64(xsdt + 36) == get32(rsdt + 36) &&
		  get64(xsdt + 44) == get32(rsdt + 40), "XSDT and RSDT agree");
	fadt = table(get64(xsdt + 36), "FACP");
	madt = table(get64(xsdt + 44), "APIC");
	if (!fadt || !madt)
		return tap_done();
	TAP_EQ_INT(fadt[8], 6, "FADT revision 6");
	TAP_EQ_INT(get32(fadt + 4), 276, "FADT length of revision 6");
	TAP_EQ_INT(get16(fadt + 46), 9, "SCI on IRQ 9");
	TAP_EQ_INT(get32(fadt + 48), 0, "no SMI command port: always ACPI mode");
	TAP_EQ_INT(get32(fadt + 56), 0x600, "PM1a event block");
	TAP_EQ_INT(get32(fadt + 64), 0x604, "PM1a control block");
	TAP_EQ_INT(fadt[88], 4, "PM1 event length 4");
	TAP_EQ_INT(fadt[89], 2, "PM1 control length 2");
	TAP_CHECK(get32(fadt + 112) & (1u << 10), "reset register supported flag");
	TAP_EQ_INT(get32(fadt + 112) & (1u << 4), 0,
		   "PWR_BUTTON clear: a fixed-feature power button");
	TAP_EQ_INT(fadt[116], 1, "reset register in I/O space");
	TAP_EQ_U64(get64(fadt + 120), 0xcf9, "reset register port");
	TAP_EQ_INT(fadt[128], 6, "reset value");
	TAP_EQ_INT(fadt[109] & 2, 0, "no i8042 advertised");
	TAP_EQ_U64(get64(fadt + 152), 0x600, "X_PM1a_EVT address");
	TAP_EQ_U64(get64(fadt + 176), 0x604, "X_PM1a_CNT address");
	TAP_EQ_U64(get64(fadt + 140), get32(fadt + 40), "X_DSDT equals DSDT");

	facs = at(get32(fadt + 36), 64);
	TAP_CHECK(facs && !memcmp(facs, "FACS", 4), "FACS present");
	TAP_CHECK(facs && (get32(fadt + 36) & 63) == 0, "FACS 64-byte aligned");

	test_madt(madt);
	dsdt = table(get32(fadt + 40), "DSDT");
	if (dsdt)
		test_dsdt(dsdt);

	TAP_EQ_INT(acpi_build(buf, 1024, GPA, &cfg), -ENOSPC,
		   "small buffer rejected");
	TAP_EQ_INT(acpi_build(buf, sizeof(buf), GPA + 8, &cfg), -EINVAL,
		   "unaligned address rejected");
	cfg.s5_slp_typ = 8;
	TAP_EQ_INT(acpi_build(buf, sizeof(buf), GPA, &cfg), -EINVAL,
		   "SLP_TYP wider than 3 bits rejected");
	cfg.s5_slp_typ = 5;
	cfg.nr_cpus = ACPI_MAX_CPUS + 1;
	TAP_EQ_INT(acpi_build(buf, sizeof(buf), GPA, &cfg), -EINVAL,
		   "more CPUs than xAPIC ids rejected");
	cfg.nr_cpus = ACPI_MAX_CPUS;
	cfg.ioapic_id = 0xfe;
	TAP_CHECK(acpi_build(buf, sizeof(buf), GPA, &cfg) > 0,
		  "254 CPUs fit in 64 KiB");
	return tap_done();
}
