/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device-tree declarations of bridged devices: a flattened device tree
 * (a .dtbo overlay, or any .dtb) in, a list of devices to declare out.
 *
 * The binding (Documentation/virtio-bridge/dt-binding/) in short:
 *
 *	vm3 {
 *		compatible = "vl,virtio-bridge-vm";
 *		vl,vmid = <3>;			// the frontend VM
 *		#address-cells = <2>;
 *		#size-cells = <2>;
 *		#interrupt-cells = <3>;		// optional: 3 = GIC (default),
 *						// 2 = <gsi flags> (x86 IOAPIC)
 *		cvm2rb-pci@10000 {
 *			compatible = "vl,virtio-device,mmio";
 *			reg = <0x0 0x00010000 0x0 0x01000000>,	// ECAM window
 *			      <0x0 0x01010000 0x0 0x00100000>;	// BAR window(s)
 *			interrupts = <0 3 4>, <0 4 4>, ...;	// line 0, 1, ...
 *			vl,device-vmid = <2>;		// where the backend runs
 *			vl,device-name = "cvm2rb-pci";
 *			vl,provider-uid = <1000>;	// optional: backend node
 *			vl,provider-gid = <1000>;	// owner, group and mode
 *			vl,node-mode = <0x180>;		// (0600 = 0x180), default
 *		};					// root, root, 0600
 *	};
 *
 * and optionally, in the vm node, vl,vmm-uid and vl,vmm-gid: who may
 * attach the vmid (without either, only CAP_SYS_ADMIN).
 *
 * Parsing is a pure function of the blob, so it is unit-tested on the host.
 */
#ifndef VBRIDGE_CTL_DT_H
#define VBRIDGE_CTL_DT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_bridge.h"

#define DT_COMPAT_VM	"vl,virtio-bridge-vm"
#define DT_COMPAT_DEV	"vl,virtio-device,mmio"

#define DT_PATH_MAX	256
#define DT_ERR_MAX	512

/* Largest GIC SPI number: INTIDs 32..1019 are SPIs 0..987. */
#define DT_GIC_SPI_MAX	987

/* Trigger types of interrupt specifiers (dt-bindings/interrupt-controller/irq.h). */
#define DT_IRQ_EDGE_RISING	1
#define DT_IRQ_EDGE_FALLING	2
#define DT_IRQ_LEVEL_HIGH	4
#define DT_IRQ_LEVEL_LOW	8

/**
 * struct dt_device - one device declaration found in a blob
 * @vmid: frontend vmid (from the enclosing vl,virtio-bridge-vm node)
 * @backend_vmid: vl,device-vmid
 * @name: vl,device-name: 1..31 of A-Z a-z 0-9 . _ -, NUL-terminated
 * @node: the node's full path, for messages
 * @nr_windows: entries of @windows (reg), at least 1
 * @windows: window 0 is the ECAM window, the rest BAR windows
 * @nr_irqs: entries of @irqs (interrupts), at least 1
 * @irqs: GIC SPI numbers or x86 GSIs, VBRIDGE_IRQ_F_LEVEL for level triggers
 * @has_provider_uid: vl,provider-uid was given, in @provider_uid
 * @has_provider_gid: vl,provider-gid was given, in @provider_gid
 * @has_node_mode: vl,node-mode was given, in @node_mode (1..0777)
 * @has_vmm_uid: the vm node has vl,vmm-uid, in @vmm_uid
 * @has_vmm_gid: the vm node has vl,vmm-gid, in @vmm_gid
 */
struct dt_device {
	uint32_t vmid;
	uint32_t backend_vmid;
	char name[VBRIDGE_NAME_MAX];
	char node[DT_PATH_MAX];
	unsigned int nr_windows;
	struct vbridge_window windows[VBRIDGE_MAX_WINDOWS];
	unsigned int nr_irqs;
	struct vbridge_irq irqs[VBRIDGE_MAX_IRQS];
	bool has_provider_uid, has_provider_gid, has_node_mode;
	uint32_t provider_uid, provider_gid, node_mode;
	bool has_vmm_uid, has_vmm_gid;
	uint32_t vmm_uid, vmm_gid;
};

struct dt_devices {
	unsigned int nr;
	unsigned int cap;
	struct dt_device *dev;
};

/*
 * Is blob (size bytes) a flattened tree libfdt can walk safely: magic,
 * version 17, totalsize within size, a structure block whose every token
 * moves forward inside it, and fdt_check_full()?  Returns 0 or -EINVAL
 * with one line in err.
 */
int dt_check_blob(const void *blob, size_t size, char *err, size_t errlen);

/*
 * Every enabled vl,virtio-device,mmio node of the blob, in tree order.
 * Returns 0 (possibly with out->nr == 0), -EINVAL for a malformed blob or
 * declaration (err then names the node and property at fault and what is
 * wrong with it), or -ENOMEM.  On failure *out is left empty.
 */
int dt_parse_devices(const void *blob, size_t size, struct dt_devices *out,
		     char *err, size_t errlen);

void dt_devices_free(struct dt_devices *d);

/* Do two declarations give their vmid the same owner (vl,vmm-uid/gid)? */
bool dt_same_vmm(const struct dt_device *a, const struct dt_device *b);

#endif
