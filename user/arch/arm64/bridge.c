// SPDX-License-Identifier: GPL-2.0
/*
 * Bridge mode on arm64 (vmm/bridge.h): each bridged device is its own
 * pci-host-ecam-generic host of the guest's device tree, at the windows
 * its overlay declares, which the core forwards as MMIO; its lines are
 * SPIs, which the core binds with KVM irqfds (GSI n is SPI n with the
 * in-kernel vGIC's default routing).  The checks and the node are pure
 * (bridge_host.c).
 */
#include "vmm/vmm.h"

#include <libfdt.h>

#include "arch/arm64/board.h"
#include "arch/arm64/bridge_host.h"
#include "bridge/frontend.h"
#include "lib/log.h"
#include "vmm/bridge.h"

int arch_bridge_check_devices(const struct vmm *vm, uint32_t vmid,
			      const struct bridge_fe_device *devs,
			      unsigned int n)
{
	struct arm64_bridge_board b = {
		.ram_base = vm->ram_regions[0].gpa,
		.ram_size = vm->ram_regions[0].size,
		.bios = vm->arch.bios,
	};
	char err[512];

	if (arm64_bridge_check(&b, vmid, devs, n, err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

int arm64_bridge_fdt_nodes(void *fdt, void *opaque)
{
	const struct vmm *vm = opaque;
	struct arm64_fdt_bridge_host h;
	unsigned int i, n = vmm_bridge_nr_devices(vm);
	int ret;

	/* In reverse: each node is added first among the root's children. */
	for (i = n; i-- > 0;) {
		arm64_bridge_host_desc(vmm_bridge_device(vm, i), i, &h);
		ret = arm64_fdt_add_bridge_host(fdt, &h);
		if (ret < 0)
			return ret;
	}
	return 0;
}
