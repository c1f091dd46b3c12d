// SPDX-License-Identifier: GPL-2.0
/* x86 routes for bridged MSIs; see msi.h. */
#include "arch/x86/msi.h"

#include <stdio.h>
#include <string.h>

unsigned int x86_irq_routes_pins(struct kvm_irq_routing_entry *e)
{
	unsigned int gsi, n = 0;

	memset(e, 0, X86_IRQ_ROUTES_PINS * sizeof(*e));
	for (gsi = 0; gsi < 24; gsi++) {
		e[n].gsi = gsi;
		e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		e[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e[n++].u.irqchip.pin = gsi;
		if (gsi >= 16)
			continue;
		e[n].gsi = gsi;
		e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		e[n].u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
						   KVM_IRQCHIP_PIC_SLAVE;
		e[n++].u.irqchip.pin = gsi % 8;
	}
	return n;
}

int x86_msi_route(uint64_t addr, uint32_t data,
		  struct kvm_irq_routing_entry *e, char *err, size_t err_len)
{
	uint32_t mode = data & X86_MSI_DATA_MODE;

	if ((addr & ~X86_MSI_ADDR_OFFSET) != X86_MSI_ADDR_BASE) {
		snprintf(err, err_len, "address 0x%llx is not in the local APICs' window 0xfee00000..0xfeefffff",
			 (unsigned long long)addr);
		return -1;
	}
	if (data & ~(X86_MSI_DATA_VECTOR | X86_MSI_DATA_MODE |
		     X86_MSI_DATA_LEVEL | X86_MSI_DATA_TRIGGER)) {
		snprintf(err, err_len, "data 0x%x sets reserved bits", data);
		return -1;
	}
	if (mode != X86_MSI_MODE_FIXED && mode != X86_MSI_MODE_LOWPRI) {
		snprintf(err, err_len, "data 0x%x asks for delivery mode %u; a device may send fixed (0) or lowest-priority (1) interrupts only",
			 data, mode >> 8);
		return -1;
	}
	if ((data & X86_MSI_DATA_VECTOR) < X86_MSI_VECTOR_MIN) {
		snprintf(err, err_len, "data 0x%x asks for vector %u, an exception's",
			 data, data & X86_MSI_DATA_VECTOR);
		return -1;
	}
	memset(e, 0, sizeof(*e));
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = 0;
	e->u.msi.data = data;
	return 0;
}
