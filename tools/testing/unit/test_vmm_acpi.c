// SPDX-License-Identifier: GPL-2.0
/* Unit tests of user/vmm/acpi.c: the table chain, checksums, FADT and \_S5. */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "vmm/acpi.h"

#define GPA	0xe0000ULL

static uint8_t buf[0x10000];

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Guest-physical address to a pointer into buf, or NULL. */
static const uint8_t *at(uint64_t gpa, size_t len)
{
	if (gpa < GPA || gpa + len > GPA + sizeof(buf))
		return NULL;
	return buf + (gpa - GPA);
}

static const uint8_t *table(uint64_t gpa, const char *sig, const char *what)
{
	const uint8_t *t = at(gpa, 36);
	char msg[96];

	snprintf(msg, sizeof(msg), "%s: inside the table area", what);
	if (!TAP_CHECK(t != NULL, msg))
		return NULL;
	snprintf(msg, sizeof(msg), "%s: signature %s", what, sig);
	TAP_CHECK(!memcmp(t, sig, 4), msg);
	snprintf(msg, sizeof(msg), "%s: checksum", what);
	TAP_EQ_INT(acpi_sum(t, get32(t + 4)), 0, msg);
	return t;
}

int main(void)
{
	struct acpi_config cfg = {
		.pm1a_evt = 0x600, .pm1a_cnt = 0x604, .reset_port = 0xcf9,
		.reset_value = 6, .sci_irq = 9, .s5_slp_typ = 5,
	};
	const uint8_t *rsdp = buf, *xsdt, *rsdt, *fadt, *dsdt, *facs, *s5;
	int n;

	memset(buf, 0xa5, sizeof(buf));
	n = acpi_build(buf, sizeof(buf), GPA, &cfg);
	TAP_CHECK(n > 0 && n < 4096, "tables built, small");

	TAP_CHECK(!memcmp(rsdp, "RSD PTR ", 8), "RSDP signature");
	TAP_EQ_INT(acpi_sum(rsdp, 20), 0, "RSDP checksum (first 20 bytes)");
	TAP_EQ_INT(acpi_sum(rsdp, 36), 0, "RSDP extended checksum");
	TAP_EQ_INT(rsdp[15], 2, "RSDP revision 2 (has an XSDT)");
	TAP_EQ_INT(get32(rsdp + 20), 36, "RSDP length");

	xsdt = table(get64(rsdp + 24), "XSDT", "XSDT");
	rsdt = table(get32(rsdp + 16), "RSDT", "RSDT");
	if (!xsdt || !rsdt)
		return tap_done();
	TAP_EQ_INT(get32(xsdt + 4), 36 + 8, "XSDT has one entry");
	TAP_EQ_U64(get64(xsdt + 36), get32(rsdt + 36), "XSDT and RSDT agree");
	fadt = table(get64(xsdt + 36), "FACP", "FADT");
	if (!fadt)
		return tap_done();
	TAP_EQ_INT(fadt[8], 6, "FADT revision 6");
	TAP_EQ_INT(get32(fadt + 4), 276, "FADT length of revision 6");
	TAP_EQ_INT(fadt[46] | fadt[47] << 8, 9, "SCI on IRQ 9");
	TAP_EQ_INT(get32(fadt + 48), 0, "no SMI command port: always ACPI mode");
	TAP_EQ_INT(get32(fadt + 56), 0x600, "PM1a event block");
	TAP_EQ_INT(get32(fadt + 64), 0x604, "PM1a control block");
	TAP_EQ_INT(fadt[88], 4, "PM1 event length 4");
	TAP_EQ_INT(fadt[89], 2, "PM1 control length 2");
	TAP_CHECK(get32(fadt + 112) & (1u << 10), "reset register supported flag");
	TAP_EQ_INT(fadt[116], 1, "reset register in I/O space");
	TAP_EQ_U64(get64(fadt + 120), 0xcf9, "reset register port");
	TAP_EQ_INT(fadt[128], 6, "reset value");
	TAP_EQ_INT(fadt[109] & 2, 0, "no i8042 advertised");
	TAP_EQ_INT(fadt[148], 1, "X_PM1a_EVT in I/O space");
	TAP_EQ_U64(get64(fadt + 152), 0x600, "X_PM1a_EVT address");
	TAP_EQ_U64(get64(fadt + 176), 0x604, "X_PM1a_CNT address");
	TAP_EQ_U64(get64(fadt + 140), get32(fadt + 40), "X_DSDT equals DSDT");

	facs = at(get32(fadt + 36), 64);
	TAP_CHECK(facs && !memcmp(facs, "FACS", 4), "FACS present");
	TAP_CHECK(facs && (get32(fadt + 36) & 63) == 0, "FACS 64-byte aligned");

	dsdt = table(get32(fadt + 40), "DSDT", "DSDT");
	if (!dsdt)
		return tap_done();
	s5 = memmem(dsdt + 36, get32(dsdt + 4) - 36, "_S5_", 4);
	TAP_CHECK(s5 != NULL, "DSDT names \\_S5");
	if (s5) {
		TAP_EQ_INT(s5[-1], 0x08, "\\_S5 is a Name");
		TAP_EQ_INT(s5[4], 0x12, "\\_S5 is a Package");
		TAP_EQ_INT(s5[6], 4, "\\_S5 has four elements");
		TAP_EQ_INT(s5[7] == 0x0a ? s5[8] : -1, 5, "SLP_TYPa is the configured value");
		TAP_EQ_INT(s5 + 4 + 1 + s5[5], dsdt + get32(dsdt + 4),
			   "package length ends at the end of the DSDT");
	}

	TAP_EQ_INT(acpi_build(buf, 256, GPA, &cfg), -ENOSPC, "small buffer rejected");
	TAP_EQ_INT(acpi_build(buf, sizeof(buf), GPA + 8, &cfg), -EINVAL,
		   "unaligned address rejected");
	cfg.s5_slp_typ = 8;
	TAP_EQ_INT(acpi_build(buf, sizeof(buf), GPA, &cfg), -EINVAL,
		   "SLP_TYP wider than 3 bits rejected");
	return tap_done();
}
