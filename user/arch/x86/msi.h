/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86 interrupt routes for bridge mode's MSIs (vmm/irq_routes.h), the
 * pure part: the pin routes KVM_CREATE_IRQCHIP made, and which messages
 * a bridged device's provider may send the guest.
 *
 * A message is a store of its data to its address in the local APICs'
 * window (Intel SDM vol. 3, "Message Signalled Interrupts"): address
 * 0xfeeX_XXXX (destination in bits 19:12, redirection hint bit 3,
 * destination mode bit 2), data with the vector in bits 7:0, the
 * delivery mode in bits 10:8, level in bit 14 and trigger mode in bit 15.
 * A provider is trusted with its own functions' interrupts, not with the
 * vCPUs: only fixed and lowest-priority delivery of vectors 16..255 is
 * routed (no SMI, NMI, INIT, SIPI or ExtINT, no exception vectors).
 */
#ifndef VBRIDGE_ARCH_X86_MSI_H
#define VBRIDGE_ARCH_X86_MSI_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#define X86_MSI_ADDR_BASE	0xfee00000ULL
#define X86_MSI_ADDR_OFFSET	0x000fffffULL	/* destination and mode bits */
#define X86_MSI_DATA_VECTOR	0x000000ffU
#define X86_MSI_DATA_MODE	0x00000700U
#define  X86_MSI_MODE_FIXED	0x000
#define  X86_MSI_MODE_LOWPRI	0x100
#define X86_MSI_DATA_LEVEL	0x00004000U
#define X86_MSI_DATA_TRIGGER	0x00008000U
#define X86_MSI_VECTOR_MIN	16

/* GSIs 0..15 on IOAPIC and PIC pins, 16..23 on IOAPIC pins: 40 routes. */
#define X86_IRQ_ROUTES_PINS	40

/* KVM's default routes into e (X86_IRQ_ROUTES_PINS entries). */
unsigned int x86_irq_routes_pins(struct kvm_irq_routing_entry *e);

/*
 * The route of a message a bridged device sends (e->gsi left 0), or -1
 * with what is wrong in err when the guest must not get it.
 */
int x86_msi_route(uint64_t addr, uint32_t data,
		  struct kvm_irq_routing_entry *e, char *err, size_t err_len);

#endif
