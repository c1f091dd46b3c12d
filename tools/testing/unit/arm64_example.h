/* SPDX-License-Identifier: GPL-2.0 */
/* The device of dts/arm64-vm3-cvm2rb-pci.dts, as the module lists it. */
#ifndef VBRIDGE_TEST_ARM64_EXAMPLE_H
#define VBRIDGE_TEST_ARM64_EXAMPLE_H

#include <stdio.h>
#include <string.h>

#include "bridge/frontend.h"

static inline void arm64_example_device(struct bridge_fe_device *d)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "cvm2rb-pci");
	d->backend_vmid = 2;
	d->nr_windows = 2;
	d->windows[0] = (struct vbridge_window){ 0x10000, 16ULL << 20 };
	d->windows[1] = (struct vbridge_window){ 0x01010000, 1ULL << 20 };
	d->nr_irqs = 29;
	for (i = 0; i < d->nr_irqs; i++) {
		d->irqs[i].num = 3 + i;
		d->irqs[i].flags = VBRIDGE_IRQ_F_LEVEL;
	}
}

#endif
