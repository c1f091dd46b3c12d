// SPDX-License-Identifier: GPL-2.0
/*
 * Bridge mode on arm64: each bridged device will be its own
 * pci-host-ecam-generic node of the guest's device tree (issue 12); until
 * then a vmid with bridged devices is refused with the reason.
 */
#include "vmm/vmm.h"

#include "bridge/frontend.h"
#include "lib/log.h"

int arch_bridge_check_devices(const struct vmm *vm, uint32_t vmid,
			      const struct bridge_fe_device *devs,
			      unsigned int n)
{
	if (!n)
		return 0;
	log_error("vmid %u: %u bridged device(s) are declared for it, and bridge mode is not available on arm64 yet: run the guest without --vmid, with in-process devices",
		  vmid, n);
	return -1;
}
