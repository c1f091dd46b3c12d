/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bridge mode on arm64, the pure part (built and unit-tested on any host):
 * does a device declared for the vmid fit the arm64 machine (layout.h),
 * and the pci-host-ecam-generic node that describes it to the guest.
 *
 * Each bridged device is its own PCI host, as the configuration guide
 * has it: window 0 is its ECAM (bus 0 from its first byte, 1 MiB per
 * bus), the other windows hold its BARs, and line n of its interrupts is
 * an SPI the function in slot s drives when n = s mod (number of lines).
 * The guest reaches the windows through forwarded MMIO; there is no
 * CF8/CFC on arm64.
 */
#ifndef VBRIDGE_ARCH_ARM64_BRIDGE_HOST_H
#define VBRIDGE_ARCH_ARM64_BRIDGE_HOST_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/arm64/fdt.h"

struct bridge_fe_device;

/* The first bridged host's linux,pci-domain (the in-process host's is 0). */
#define ARM64_BRIDGE_DOMAIN_FIRST	1
#define ARM64_BRIDGE_EXAMPLE		"see dts/arm64-vm3-cvm2rb-pci.dts"

/**
 * struct arm64_bridge_board - what of the machine a bridged window or
 *	line must stay clear of besides layout.h's fixed devices.
 * @ram_base, @ram_size: guest RAM
 * @bios: --bios firmware is mapped over the low 128 MiB
 */
struct arm64_bridge_board {
	uint64_t ram_base, ram_size;
	bool bios;
};

/*
 * Do the n devices declared for vmid fit board b?  Every window must be
 * clear of RAM, the GIC, the UARTs, the RTC, the in-process PCI host's
 * ECAM and BAR windows, --bios firmware and each other's, and inside the
 * 40-bit guest-physical space; window 0 (the ECAM) must hold at least
 * bus 0 (1 MiB); every line must be an SPI the board does not use.
 * Returns 0, or -1 with one line in err that says what is wrong and what
 * to change.
 */
int arm64_bridge_check(const struct arm64_bridge_board *b, uint32_t vmid,
		       const struct bridge_fe_device *devs, unsigned int n,
		       char *err, size_t err_len);

/*
 * The node of device d (checked), the idx-th bridged host of the VM; its
 * functions send MSIs through the ITS when its is true (and idx <
 * ARM64_ITS_BRIDGE_HOSTS).
 */
void arm64_bridge_host_desc(const struct bridge_fe_device *d, unsigned int idx,
			    bool its, struct arm64_fdt_bridge_host *h);

/* KVM's default routes with a vGIC: GSI n is SPI n.  ARM64_GIC_NR_SPIS. */
unsigned int arm64_irq_routes_pins(struct kvm_irq_routing_entry *e);

/*
 * The route of a message that function rid of bridged host idx sends
 * (e->gsi left 0), or -1 with what is wrong in err when it must not
 * reach the guest: without an ITS (its false) none does; else only a
 * store to GITS_TRANSLATER from a requester ID of the host's bus 0, sent
 * with the host's ITS device ID for it (so a provider can raise only
 * interrupts the guest mapped for its own functions).
 */
int arm64_bridge_msi_route(bool its, unsigned int idx, uint32_t rid,
			   uint64_t addr, uint32_t data,
			   struct kvm_irq_routing_entry *e, char *err,
			   size_t err_len);
/*
 * The same for in-process function devfn (vbridge run's own bus 0, whose
 * ITS device IDs are the requester IDs themselves): what
 * arch_pci_send_msi() sends, for an eventfd bound to it.
 */
int arm64_pci_msi_route(bool its, unsigned int devfn, uint64_t addr,
			uint32_t data, struct kvm_irq_routing_entry *e,
			char *err, size_t err_len);

#endif
