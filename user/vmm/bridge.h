/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `vbridge run --vmid N`: the guest's devices served by another process
 * through virtio_bridge.ko (/dev/virtio-bridge; see bridge/frontend.h).
 *
 * The module declares, per vmid, devices with address windows and
 * interrupt lines (from a device-tree overlay, `vbridge ctl load`).  Each
 * device is a PCI host served by `vbridge devices`: window 0 is its ECAM
 * (configuration space of its bus 0), the other windows hold its BARs, and
 * the function in its slot S drives its line S mod (number of lines).
 *
 * An arm64 guest (VMM_ARCH_BRIDGE_OWN_HOST) sees each device as its own
 * PCI host at the declared windows, described by the architecture (its
 * device tree): configuration cycles are loads and stores to the ECAM
 * window, forwarded like any other.
 *
 * An x86 guest reaches configuration space through ports 0xcf8/0xcfc on
 * its bus 0, whose low slots hold the in-process devices.  So the bridged
 * host's slot S appears as slot VMM_BRIDGE_FIRST_SLOT + S of bus 0: the
 * VMM turns those configuration cycles into accesses to the ECAM window,
 * and describes the slot's INTx routing (ACPI _PRT, MP table) as the GSI
 * of the line that slot drives.  Loads and stores to any window are
 * forwarded (VBRIDGE_ACCESS); the module's doorbell requests become
 * KVM_IOEVENTFDs, so kicks go straight to the provider; every line is a
 * KVM irqfd (level-triggered ones with a resample eventfd), so interrupts
 * go straight from the provider to the guest.
 */
#ifndef VBRIDGE_VMM_BRIDGE_H
#define VBRIDGE_VMM_BRIDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/iobus.h"

/* The bridged host's slot S is slot 16 + S of the guest's bus 0. */
#define VMM_BRIDGE_FIRST_SLOT	16
#define VMM_BRIDGE_SLOTS	16
/* An ECAM window addresses 4 KiB per function, 8 functions per slot. */
#define VMM_BRIDGE_ECAM_SLOT	(8U << 12)

struct bridge_fe_device;
struct vmm;
struct vmm_bridge;

/*
 * Open node (NULL: /dev/virtio-bridge), register the guest's RAM and
 * attach to vmid (waiting, and saying so, while its previous VM stops).
 * Call after vmm_ram_create().  Returns 0, or -1 after saying what is
 * wrong.
 */
int vmm_bridge_open(struct vmm *vm, const char *node, uint32_t vmid);

/*
 * After vmm_bridge_open(), before vmm_kvm_setup() (the firmware tables
 * route the bridged slots): check the devices declared for the vmid
 * against this machine (vmm_bridge_check_devices, and the in-process
 * devices leave the bridged slots free) and take the bridged PCI host.
 * Returns 0, or -1 after saying what is wrong and what to change: a
 * configuration error, which `vbridge run` reports with status 2.
 */
int vmm_bridge_check(struct vmm *vm);

/*
 * After vmm_kvm_setup(): one KVM irqfd per declared line, bound to it in
 * the module, and the windows outside the PCI hole claimed.  Returns 0 or
 * -1 after saying what is wrong.
 */
int vmm_bridge_setup(struct vmm *vm);

/*
 * The fd to poll (POLLIN) for a bridged line raised the first time, or -1
 * when every line is bound to KVM (or there is no bridge); then
 * vmm_bridge_lines() binds the lines raised (main thread).
 */
int vmm_bridge_lines_fd(const struct vmm *vm);
void vmm_bridge_lines(struct vmm *vm);

/* The fd to poll for doorbell requests (POLLIN), or -1 without a bridge. */
int vmm_bridge_fd(const struct vmm *vm);

/* Turn every pending doorbell request into a KVM_IOEVENTFD change. */
void vmm_bridge_doorbells(struct vmm *vm);

/*
 * A guest access: when a bridged window holds it, forward it (a load
 * that fails reads all-ones) and return true; false otherwise.
 */
bool vmm_bridge_mmio(struct vmm *vm, struct io_access *a);

/*
 * A configuration cycle of bus 0 to devfn: when its slot is a bridged
 * one, forward it to the ECAM window and return true.
 */
bool vmm_bridge_cfg(struct vmm *vm, unsigned int devfn, unsigned int reg,
		    unsigned int len, bool write, uint32_t *val);

/*
 * GSI of INTx pin of slot on bus 0 when the slot is a bridged one (the
 * line the provider drives for it), else 0.
 */
unsigned int vmm_bridge_slot_gsi(const struct vmm *vm, unsigned int slot);

/*
 * The devices declared for the vmid (0 without a bridge), and device i
 * (i < vmm_bridge_nr_devices()); after vmm_bridge_check().  For the
 * architecture's description of them (arm64: device-tree nodes).
 */
unsigned int vmm_bridge_nr_devices(const struct vmm *vm);
const struct bridge_fe_device *vmm_bridge_device(const struct vmm *vm,
						 unsigned int i);

/* Stop the VM in the module: waits of vCPUs in forwarded loads end. */
void vmm_bridge_stop(struct vmm *vm);
void vmm_bridge_destroy(struct vmm *vm);

/*
 * The pure parts, for the unit tests.  ECAM offset of bus 0's devfn, reg
 * for a bridged slot (devfn's slot >= VMM_BRIDGE_FIRST_SLOT) in a window
 * of ecam_size bytes, or -1 when that slot is not in the window.
 */
int64_t vmm_bridge_ecam_offset(uint64_t ecam_size, unsigned int devfn,
			       unsigned int reg);

#endif
