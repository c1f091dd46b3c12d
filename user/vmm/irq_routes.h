/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM's GSI routing table, for MSIs a bridged device provider sends
 * through KVM irqfds (vmm/bridge.c).
 *
 * KVM_SET_GSI_ROUTING replaces the whole table, KVM's default one
 * included, so the table set is always the architecture's pin routes
 * (arch_irq_routes_pins(): what KVM made when the irqchip was created, so
 * the INTx irqfds keep working), then one MSI route per GSI from the
 * architecture's first free one on.  A freed GSI is reused.
 *
 * Locking: none; the VMM's main thread owns the table.
 */
#ifndef VBRIDGE_VMM_IRQ_ROUTES_H
#define VBRIDGE_VMM_IRQ_ROUTES_H

#include <linux/kvm.h>
#include <stdbool.h>

/* KVM's limit on a VM's routing table (KVM_MAX_IRQ_ROUTES). */
#define IRQ_ROUTES_MAX	4096

/**
 * struct irq_routes - the routing table
 * @pins: the architecture's pin routes (set by irq_routes_init)
 * @nr_pins: entries of @pins
 * @first_gsi: the first GSI above every pin route's
 * @msi: MSI route of GSI @first_gsi + i; type 0 while free
 * @nr_msi: entries of @msi, used or free
 */
struct irq_routes {
	struct kvm_irq_routing_entry *pins;
	unsigned int nr_pins;
	unsigned int first_gsi;
	struct kvm_irq_routing_entry *msi;
	unsigned int nr_msi;
};

/* Start from pins (copied).  Returns 0 or -ENOMEM. */
int irq_routes_init(struct irq_routes *r,
		    const struct kvm_irq_routing_entry *pins,
		    unsigned int nr_pins);
void irq_routes_free(struct irq_routes *r);

/*
 * Take a GSI for e (a KVM_IRQ_ROUTING_MSI entry; its gsi is set here).
 * Returns the GSI, or -ENOSPC beyond IRQ_ROUTES_MAX routes, or -ENOMEM.
 * The table is not yet given to KVM: call irq_routes_table().
 */
int irq_routes_add(struct irq_routes *r, const struct kvm_irq_routing_entry *e);
/* Free gsi's MSI route (a GSI that has none is ignored). */
void irq_routes_del(struct irq_routes *r, unsigned int gsi);

/*
 * The table as KVM_SET_GSI_ROUTING takes it (malloc'ed, free() it):
 * the pin routes, then the MSI routes in use.  NULL when out of memory.
 */
struct kvm_irq_routing *irq_routes_table(const struct irq_routes *r);

#endif
