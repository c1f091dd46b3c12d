// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/vmm/mptable.c: checksums, the floating pointer, and
 * the entries Linux's MP parser relies on.
 */
#include <errno.h>
#include <string.h>

#include "arch/x86/mptable.h"
#include "tap.h"

#define GPA	0xf0000

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* The routing callback; ctx is the first GSI, to see it passed along. */
static unsigned int gsi_base = 16;

static unsigned int gsi_of(void *ctx, unsigned int slot, unsigned int pin)
{
	return *(const unsigned int *)ctx + (slot + pin - 1) % 8;
}

static uint16_t get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static void test_table(unsigned int ncpus)
{
	static uint8_t buf[8192];
	struct mptable_config cfg = {
		.nr_cpus = ncpus,
		.cpu_signature = 0x830f10,
		.cpu_features = 0x178bfbff,
		.ioapic_id = ncpus,
		.ioapic_addr = 0xfec00000,
		.intx_gsi = gsi_of, .intx_ctx = &gsi_base,
	};
	unsigned int cpus = 0, bps = 0, buses = 0, ioapics = 0, isa = 0, pci = 0;
	unsigned int lint = 0, count, len, i, apic_ids_ok = 1, pci_ok = 1;
	unsigned int isa_ok = 1;
	const uint8_t *hdr, *e;
	char msg[128];
	int n;

	memset(buf, 0xcc, sizeof(buf));
	n = mptable_build(buf, sizeof(buf), GPA, &cfg);
	snprintf(msg, sizeof(msg), "%u CPUs: table built", ncpus);
	TAP_CHECK(n > 0, msg);
	if (n <= 0)
		return;

	TAP_CHECK(!memcmp(buf, "_MP_", 4), "floating pointer signature");
	TAP_EQ_INT(buf[8], 1, "floating pointer length is 1 paragraph");
	TAP_EQ_INT(buf[9], 4, "MP spec 1.4");
	TAP_EQ_INT(sum(buf, 16), 0, "floating pointer checksum");
	TAP_EQ_INT(buf[11], 0, "feature byte 1: a configuration table follows");
	TAP_EQ_U64(get32(buf + 4), GPA + 16, "floating pointer points at the table");

	hdr = buf + 16;
	len = get16(hdr + 4);
	count = get16(hdr + 34);
	TAP_CHECK(!memcmp(hdr, "PCMP", 4), "configuration table signature");
	TAP_EQ_INT(len + 16, n, "table length covers every entry");
	TAP_EQ_INT(sum(hdr, len), 0, "configuration table checksum");
	TAP_EQ_U64(get32(hdr + 36), 0xfee00000, "local APIC address");

	e = hdr + 44;
	for (i = 0; i < count && e < hdr + len; i++) {
		switch (e[0]) {
		case 0:
			if (e[1] != cpus)
				apic_ids_ok = 0;
			if (e[3] & 2)
				bps++;
			if (get32(e + 4) != 0x830f10)
				apic_ids_ok = 0;
			cpus++;
			e += 20;
			break;
		case 1:
			buses++;
			e += 8;
			break;
		case 2:
			ioapics++;
			TAP_EQ_INT(e[1], ncpus, "IOAPIC id after the CPUs'");
			TAP_EQ_U64(get32(e + 4), 0xfec00000, "IOAPIC address");
			e += 8;
			break;
		case 3:
			if (e[4] == 1) {	/* ISA */
				isa++;
				if (e[5] != e[7] || e[5] == 2 || get16(e + 2) != 0)
					isa_ok = 0;
			} else {		/* PCI */
				unsigned int slot = e[5] >> 2, pin = (e[5] & 3) + 1;

				pci++;
				if (e[7] != gsi_of(&gsi_base, slot, pin) || get16(e + 2) != 0x0d ||
				    slot == 0)
					pci_ok = 0;
			}
			e += 8;
			break;
		case 4:
			lint++;
			e += 8;
			break;
		default:
			e = hdr + len + 1;	/* unknown type: stop */
		}
	}
	TAP_CHECK(e == hdr + len, "entries end exactly at the table length");
	TAP_EQ_INT(i, count, "entry count matches");
	TAP_EQ_INT(cpus, ncpus, "one processor entry per vCPU");
	TAP_CHECK(apic_ids_ok, "APIC ids 0..n-1 with the CPU signature");
	TAP_EQ_INT(bps, 1, "exactly one boot processor");
	TAP_EQ_INT(buses, 2, "PCI and ISA buses");
	TAP_EQ_INT(ioapics, 1, "one IOAPIC");
	TAP_EQ_INT(isa, 15, "ISA IRQs 0-15 but the cascade");
	TAP_CHECK(isa_ok, "ISA IRQ n on pin n, edge");
	TAP_EQ_INT(pci, 31 * 4, "INTA-D of slots 1-31");
	TAP_CHECK(pci_ok, "PCI INTx level-triggered to the board's GSI");
	TAP_EQ_INT(lint, 2, "ExtINT and NMI local interrupts");
}

static void test_errors(void)
{
	uint8_t buf[256];
	struct mptable_config cfg = {
		.nr_cpus = 2, .ioapic_id = 2, .ioapic_addr = 0xfec00000,
		.intx_gsi = gsi_of, .intx_ctx = &gsi_base,
	};

	TAP_EQ_INT(mptable_build(buf, sizeof(buf), GPA, &cfg), -ENOSPC,
		   "too small a buffer rejected");
	cfg.ioapic_id = 1;
	TAP_EQ_INT(mptable_build(buf, sizeof(buf), GPA, &cfg), -EINVAL,
		   "IOAPIC id clashing with a CPU rejected");
	cfg.ioapic_id = 2;
	cfg.nr_cpus = 0;
	TAP_EQ_INT(mptable_build(buf, sizeof(buf), GPA, &cfg), -EINVAL,
		   "no CPUs rejected");
	cfg.nr_cpus = MPTABLE_MAX_CPUS + 1;
	cfg.ioapic_id = 255;
	TAP_EQ_INT(mptable_build(buf, sizeof(buf), GPA, &cfg), -EINVAL,
		   "more CPUs than xAPIC ids rejected");
	cfg.nr_cpus = 1;
	cfg.ioapic_id = 1;
	TAP_EQ_INT(mptable_build(buf, sizeof(buf), GPA + 4, &cfg), -EINVAL,
		   "unaligned address rejected");
}

int main(void)
{
	test_table(1);
	test_table(4);
	test_table(MPTABLE_MAX_CPUS);
	test_errors();
	return tap_done();
}
