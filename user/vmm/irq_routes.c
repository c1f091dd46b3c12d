// SPDX-License-Identifier: GPL-2.0
/* The VM's GSI routing table; see irq_routes.h. */
#include "vmm/irq_routes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int irq_routes_init(struct irq_routes *r,
		    const struct kvm_irq_routing_entry *pins,
		    unsigned int nr_pins)
{
	unsigned int i;

	memset(r, 0, sizeof(*r));
	if (!nr_pins)
		return 0;
	r->pins = calloc(nr_pins, sizeof(*pins));
	if (!r->pins)
		return -ENOMEM;
	memcpy(r->pins, pins, nr_pins * sizeof(*pins));
	r->nr_pins = nr_pins;
	for (i = 0; i < nr_pins; i++)
		if (pins[i].gsi >= r->first_gsi)
			r->first_gsi = pins[i].gsi + 1;
	return 0;
}

void irq_routes_free(struct irq_routes *r)
{
	free(r->pins);
	free(r->msi);
	memset(r, 0, sizeof(*r));
}

int irq_routes_add(struct irq_routes *r, const struct kvm_irq_routing_entry *e)
{
	struct kvm_irq_routing_entry *n;
	unsigned int i, used = r->nr_pins;

	for (i = 0; i < r->nr_msi; i++) {
		if (!r->msi[i].type)
			break;
		used++;
	}
	if (i == r->nr_msi) {
		if (used >= IRQ_ROUTES_MAX || r->first_gsi + i >= IRQ_ROUTES_MAX)
			return -ENOSPC;
		n = realloc(r->msi, (r->nr_msi + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->msi = n;
		r->nr_msi++;
	}
	r->msi[i] = *e;
	r->msi[i].gsi = r->first_gsi + i;
	return r->msi[i].gsi;
}

void irq_routes_del(struct irq_routes *r, unsigned int gsi)
{
	if (gsi < r->first_gsi || gsi - r->first_gsi >= r->nr_msi)
		return;
	memset(&r->msi[gsi - r->first_gsi], 0, sizeof(r->msi[0]));
	/* Trailing free entries go, so that the table does not only grow. */
	while (r->nr_msi && !r->msi[r->nr_msi - 1].type)
		r->nr_msi--;
}

struct kvm_irq_routing *irq_routes_table(const struct irq_routes *r)
{
	struct kvm_irq_routing *t;
	unsigned int i;

	t = calloc(1, sizeof(*t) +
		   (r->nr_pins + r->nr_msi) * sizeof(t->entries[0]));
	if (!t)
		return NULL;
	memcpy(t->entries, r->pins, r->nr_pins * sizeof(t->entries[0]));
	t->nr = r->nr_pins;
	for (i = 0; i < r->nr_msi; i++)
		if (r->msi[i].type)
			t->entries[t->nr++] = r->msi[i];
	return t;
}
