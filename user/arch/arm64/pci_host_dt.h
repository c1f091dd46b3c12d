/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vbridge run --pci-host-dt FILE (arm64): the guest's node of a bridged
 * PCI host, written by the operator (the configuration guide's
 * pci-host-cam-generic node, for one), instead of the one the VMM
 * generates.  The pure part, built and unit-tested on any host.
 *
 * FILE is device-tree source (.dts/.dtsi: compiled with dtc as a plugin,
 * so that &gic is left for the VMM to resolve) or a blob (.dtbo/.dtb,
 * built with dtc -@).  It holds exactly one node whose compatible is
 * pci-host-cam-generic or pci-host-ecam-generic, anywhere in the tree.
 * Its reg, ranges and interrupt-map are read in the node's own context:
 * its parent's #address-cells and #size-cells (2 and 1 when the parent
 * does not say, as the devicetree specification has it: the guide's
 * "reg = <0x0 0x10000 0x1000000>" is one 64-bit address and one 32-bit
 * size), and &gic's parent unit address as the entries write it (none in
 * the guide: "0x0800 0 0 1 &gic 0x0 0x03 0x4").
 *
 * It must describe one device declared for the VM, and only it:
 *  - reg is exactly that device's window 0 (the config window);
 *  - #address-cells 3, #size-cells 2, device_type "pci";
 *  - every ranges entry maps PCI addresses 1:1 (the provider decodes BARs
 *    at guest-physical addresses) into one of its BAR windows (1..n);
 *  - bus-range fits the config window (64 KiB a bus for CAM, 1 MiB for
 *    ECAM);
 *  - every interrupt-map entry refers to &gic (the only label the VMM
 *    resolves) and names an SPI that is one of the device's declared
 *    lines, with its trigger (4 level, 1 edge).
 *
 * The VMM then puts the node into the guest's tree as written, but for
 * &gic, which becomes its GIC's phandle, and the interrupt-map's parent
 * unit address, which is written with that GIC's #address-cells
 * (ARM64_FDT_GIC_ADDR_CELLS zero cells).  A node whose context differs
 * from the root's (2 and 2) goes into a simple-bus container with the
 * node's context and an empty ranges (1:1), so that its reg reads as the
 * operator wrote it.
 */
#ifndef VBRIDGE_ARCH_ARM64_PCI_HOST_DT_H
#define VBRIDGE_ARCH_ARM64_PCI_HOST_DT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bridge_fe_device;

/**
 * struct arm64_pci_host_dt - a checked --pci-host-dt node.
 * @blob: the fragment (owned), &gic references patched to
 *	ARM64_FDT_PHANDLE_GIC
 * @node: the PCI host node's offset in @blob
 * @dev: index of the declared device it describes
 * @addr_cells, @size_cells: its parent's (its context)
 * @cam: pci-host-cam-generic (else ECAM)
 * @imap: its interrupt-map for the VMM's GIC (owned; NULL: none)
 * @imap_cells: cells in @imap
 * @first_slot: the slot whose entry is the device's line 0 (-1: none);
 *	the provider's --pci-first-slot
 */
struct arm64_pci_host_dt {
	void *blob;
	int node;
	unsigned int dev;
	uint32_t addr_cells, size_cells;
	bool cam;
	uint32_t *imap;
	unsigned int imap_cells;
	int first_slot;
};

/*
 * Read FILE into a malloc'ed blob: a flattened tree as is, source through
 * dtc as a plugin.  Returns 0 or -errno with one line in err.
 */
int arm64_pci_host_dt_load(const char *path, void **blob, size_t *size,
			   char *err, size_t errlen);

/*
 * Find and check the PCI host node of blob (size bytes; taken: freed with
 * h, or on error; anything libfdt could not walk safely is refused) against the n devices declared for vmid.  Returns 0, or -EINVAL
 * with one line in err that says what is wrong and what to change.
 */
int arm64_pci_host_dt_parse(struct arm64_pci_host_dt *h, void *blob,
			    size_t size, uint32_t vmid,
			    const struct bridge_fe_device *devs, unsigned int n,
			    char *err, size_t errlen);

/*
 * Add h's node to fdt (read-write libfdt API) under its root (or its
 * container), &gic being ARM64_FDT_PHANDLE_GIC.  Returns 0 or a negative
 * libfdt error.
 */
int arm64_pci_host_dt_add(void *fdt, const struct arm64_pci_host_dt *h);

void arm64_pci_host_dt_free(struct arm64_pci_host_dt *h);

#endif
