// SPDX-License-Identifier: GPL-2.0
/*
 * `vbridge run --pci-host-dt FILE` (user/arch/arm64/pci_host_dt.c) on a
 * flattened device tree from the input: the node is found and checked
 * against the arm64 example's device (dts/arm64-vm3-cvm2rb-pci.dts), and
 * one that passes is put into a guest tree.  Inputs that are not a
 * flattened blob are skipped: the VMM hands those to dtc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "arch/arm64/pci_host_dt.h"
#include "bridge/frontend.h"
#include "fz.h"

static struct bridge_fe_device dev;
static uint8_t tree[64 << 10];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned int i;

	snprintf(dev.name, sizeof(dev.name), "cvm2rb-pci");
	dev.nr_windows = 2;
	dev.windows[0] = (struct vbridge_window){ 0x10000, 16 << 20 };
	dev.windows[1] = (struct vbridge_window){ 0x01010000, 1 << 20 };
	dev.nr_irqs = 29;
	for (i = 0; i < dev.nr_irqs; i++) {
		dev.irqs[i].num = 3 + i;
		dev.irqs[i].flags = VBRIDGE_IRQ_F_LEVEL;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arm64_pci_host_dt h;
	char err[512];
	void *blob;
	int ret;

	if (size < 4 || fdt_magic(data) != FDT_MAGIC)
		return -1;	/* not kept in the corpus */
	blob = malloc(size);
	if (!blob)
		fz_fail("out of memory");
	memcpy(blob, data, size);
	if (arm64_pci_host_dt_parse(&h, blob, size, 3, &dev, 1, err, sizeof(err)))
		return 0;	/* refused; blob freed */
	fdt_create_empty_tree(tree, sizeof(tree));
	fdt_setprop_u32(tree, 0, "#address-cells", 2);
	fdt_setprop_u32(tree, 0, "#size-cells", 2);
	ret = arm64_pci_host_dt_add(tree, &h);
	if (ret < 0 && ret != -FDT_ERR_NOSPACE &&
	    ret != -FDT_ERR_EXISTS)
		fz_fail("an accepted node does not go into the tree: %s",
			fdt_strerror(ret));
	arm64_pci_host_dt_free(&h);
	return 0;
}
