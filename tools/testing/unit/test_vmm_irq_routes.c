// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of bridge mode's MSI routing on the VMM side: the GSI
 * routing table (user/vmm/irq_routes.c) that KVM_SET_GSI_ROUTING gets,
 * and x86's pin routes and which messages a provider may send
 * (user/arch/x86/msi.c).  arm64's are in test_arm64_bridge.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/msi.h"
#include "tap.h"
#include "vmm/irq_routes.h"

static struct kvm_irq_routing_entry msi_entry(uint32_t data)
{
	struct kvm_irq_routing_entry e = { .type = KVM_IRQ_ROUTING_MSI };

	e.u.msi.address_lo = 0xfee00000;
	e.u.msi.data = data;
	return e;
}

static void test_table(void)
{
	struct kvm_irq_routing_entry pins[X86_IRQ_ROUTES_PINS], e;
	struct kvm_irq_routing *t;
	struct irq_routes r;
	unsigned int n, i, bad = 0;
	int g0, g1, g2;

	n = x86_irq_routes_pins(pins);
	TAP_EQ_INT(irq_routes_init(&r, pins, n), 0, "table: set up from the 40 pin routes");
	TAP_EQ_INT(r.first_gsi, 24, "table: MSIs start above the IOAPIC's GSIs 0..23");
	t = irq_routes_table(&r);
	TAP_CHECK(t && t->nr == 40 && !memcmp(t->entries, pins, sizeof(pins)),
		  "table: with no MSI it is exactly KVM's default");
	free(t);

	e = msi_entry(0x41);
	e.gsi = 7;	/* ignored: the table picks the GSI */
	g0 = irq_routes_add(&r, &e);
	e = msi_entry(0x42);
	g1 = irq_routes_add(&r, &e);
	e = msi_entry(0x43);
	g2 = irq_routes_add(&r, &e);
	TAP_CHECK(g0 == 24 && g1 == 25 && g2 == 26, "table: MSIs get GSIs 24, 25, 26");
	t = irq_routes_table(&r);
	TAP_CHECK(t && t->nr == 43 && !memcmp(t->entries, pins, sizeof(pins)) &&
		  t->entries[40].gsi == 24 && t->entries[40].u.msi.data == 0x41 &&
		  t->entries[42].gsi == 26 && t->entries[42].u.msi.data == 0x43,
		  "table: the pin routes, then each MSI on its GSI");
	free(t);

	irq_routes_del(&r, g1);
	t = irq_routes_table(&r);
	TAP_CHECK(t && t->nr == 42 && t->entries[41].gsi == 26,
		  "table: a freed GSI leaves the table");
	free(t);
	e = msi_entry(0x44);
	TAP_EQ_INT(irq_routes_add(&r, &e), 25, "table: and is taken again first");
	irq_routes_del(&r, 3);
	irq_routes_del(&r, 1000);
	t = irq_routes_table(&r);
	TAP_CHECK(t && t->nr == 43 && t->entries[3].gsi == pins[3].gsi,
		  "table: freeing a pin's GSI or one never given changes nothing");
	free(t);
	irq_routes_del(&r, 26);
	irq_routes_del(&r, 25);
	irq_routes_del(&r, 24);
	TAP_EQ_INT(r.nr_msi, 0, "table: with every MSI freed it shrinks back");

	for (i = 0; i < IRQ_ROUTES_MAX - 40; i++) {
		e = msi_entry(0x40 + i % 128);
		if (irq_routes_add(&r, &e) != (int)(24 + i))
			bad++;
	}
	TAP_CHECK(!bad, "table: KVM's 4096 routes fit: 40 pin routes and 4056 MSIs");
	e = msi_entry(0x50);
	TAP_EQ_INT(irq_routes_add(&r, &e), -ENOSPC,
		   "table: one more than KVM takes is refused with -ENOSPC");
	irq_routes_free(&r);
}

static void test_x86_pins(void)
{
	struct kvm_irq_routing_entry e[X86_IRQ_ROUTES_PINS];
	unsigned int n = x86_irq_routes_pins(e), i, ioapic = 0, pic = 0, bad = 0;

	for (i = 0; i < n; i++) {
		if (e[i].type != KVM_IRQ_ROUTING_IRQCHIP)
			bad++;
		else if (e[i].u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC)
			bad += e[i].u.irqchip.pin != e[i].gsi || !++ioapic;
		else
			bad += e[i].gsi >= 16 || e[i].u.irqchip.pin != e[i].gsi % 8 ||
			       e[i].u.irqchip.irqchip != (e[i].gsi < 8 ?
					KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE) ||
			       !++pic;
	}
	TAP_CHECK(n == 40 && ioapic == 24 && pic == 16 && !bad,
		  "x86 pins: GSI n on IOAPIC pin n (0..23) and on PIC pin n mod 8 (0..15), as KVM_CREATE_IRQCHIP has them");
}

static void test_x86_msi(void)
{
	static const struct {
		uint64_t addr;
		uint32_t data;
		const char *why;	/* NULL: routed */
		const char *what;
	} cases[] = {
		{ 0xfee00000, 0x0041, NULL, "fixed vector 0x41 to APIC 0" },
		{ 0xfee0300c, 0x0122, NULL, "lowest priority, logical destination 3, redirection hint" },
		{ 0xfeeff000, 0xc0ff, NULL, "level-triggered assert, vector 255, APIC 255" },
		{ 0xfed00000, 0x0041, "not in the local APICs' window", "an address below the window" },
		{ 0x1fee00000ULL, 0x0041, "not in the local APICs' window", "address bits above 4 GiB" },
		{ 0xfee00000, 0x0200, "delivery mode 2", "SMI" },
		{ 0xfee00000, 0x0400, "delivery mode 4", "NMI" },
		{ 0xfee00000, 0x0500, "delivery mode 5", "INIT" },
		{ 0xfee00000, 0x0641, "delivery mode 6", "start-up (SIPI)" },
		{ 0xfee00000, 0x0741, "delivery mode 7", "ExtINT" },
		{ 0xfee00000, 0x000e, "vector 14", "vector 14 (a page fault's)" },
		{ 0xfee00000, 0x10041, "reserved bits", "data bits 16..31" },
		{ 0xfee00000, 0x0841, "reserved bits", "data bit 11" },
	};
	struct kvm_irq_routing_entry e;
	char err[200];
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char what[200];
		int ret;

		err[0] = '\0';
		ret = x86_msi_route(cases[i].addr, cases[i].data, &e, err, sizeof(err));
		snprintf(what, sizeof(what), "x86 msi: %s %s%s%s", cases[i].what,
			 cases[i].why ? "is refused: " : "is routed",
			 cases[i].why ? "\"" : "", cases[i].why ? cases[i].why : "");
		if (cases[i].why) {
			TAP_CHECK(ret == -1 && strstr(err, cases[i].why), what);
			if (ret != -1 || !strstr(err, cases[i].why))
				printf("# got %d: %s\n", ret, err);
		} else {
			TAP_CHECK(!ret && e.type == KVM_IRQ_ROUTING_MSI && !e.flags &&
				  e.u.msi.address_lo == cases[i].addr &&
				  !e.u.msi.address_hi && e.u.msi.data == cases[i].data,
				  what);
		}
	}
}

int main(void)
{
	test_table();
	test_x86_pins();
	test_x86_msi();
	return tap_done();
}
