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

int arch_bridge_check_devices(struct vmm *vm, uint32_t vmid,
			      const struct bridge_fe_device *devs,
			      unsigned int n)
{
	struct arm64_bridge_board b = {
		.ram_base = vm->ram_regions[0].gpa,
		.ram_size = vm->ram_regions[0].size,
		.bios = vm->arch.bios,
	};
	char err[512];

	struct arm64_pci_host_dt *h = &vm->arch.pci_host_dt;
	void *blob;
	size_t size;

	if (arm64_bridge_check(&b, vmid, devs, n, err, sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	if (!vm->pci_host_dt)
		return 0;
	if (arm64_pci_host_dt_load(vm->pci_host_dt, &blob, &size, err,
				   sizeof(err)) ||
	    arm64_pci_host_dt_parse(h, blob, size, vmid, devs, n, err,
				    sizeof(err))) {
		log_error("%s", err);
		return -1;
	}
	log_info("--pci-host-dt %s: the guest's node of '%s'; its provider needs vbridge devices --pci-config=%s --pci-first-slot=%d",
		 vm->pci_host_dt, devs[h->dev].name, h->cam ? "cam" : "ecam",
		 h->first_slot > 0 ? h->first_slot : 0);
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
		if (vm->arch.pci_host_dt.blob && vm->arch.pci_host_dt.dev == i) {
			ret = arm64_pci_host_dt_add(fdt, &vm->arch.pci_host_dt);
			if (ret < 0)
				return ret;
			continue;
		}
		arm64_bridge_host_desc(vmm_bridge_device(vm, i), i,
				       vm->arch.its_fd >= 0, &h);
		ret = arm64_fdt_add_bridge_host(fdt, &h);
		if (ret < 0)
			return ret;
	}
	return 0;
}

unsigned int arch_irq_routes_pins(const struct vmm *vm,
				  struct kvm_irq_routing_entry *e)
{
	return arm64_irq_routes_pins(e);
}

int arch_bridge_msi_route(const struct vmm *vm, unsigned int idx, uint32_t rid,
			  uint64_t addr, uint32_t data,
			  struct kvm_irq_routing_entry *e, char *err,
			  size_t err_len)
{
	return arm64_bridge_msi_route(vm->arch.its_fd >= 0, idx, rid, addr,
				      data, e, err, err_len);
}
