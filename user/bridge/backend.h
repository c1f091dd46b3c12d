/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device provider's side of the bridge: one backend node,
 * /dev/virtio/vm<N>/<name>, served as a PCI host bridge.
 *
 * Requests read off the node are guest loads and stores to the device's
 * windows: window 0 is the ECAM (config) window, fed to pci_bus_ecam_access;
 * the others hold BARs, fed to pci_bus_mmio.  Guest RAM is mapped through the
 * node at VMSTART and unmapped, after the devices are paused, at VMSTOP.
 * Interrupts: the function in slot k drives the device's line k
 * (VBRIDGE_BE_SET_IRQ); the VMM describes the same routing to the guest.
 *
 * Restart under a running guest: what the guest set up is saved with the
 * module (VBRIDGE_BE_SET_STATE, tagged with the VM's generation) whenever
 * it changes, and the queues record their progress in the node's
 * in-flight file (bridge/state_file.h).  A daemon that opens the node
 * while its VM runs gets VMSTART with that VM's generation first: when
 * the saved state is of that generation, checks out, and this process has
 * served no VM yet, the devices are restored (user/virtio/vstate.h)
 * instead of reset.  The requests the guest made before (those the dead
 * daemon took and did not complete, then those on the avail rings) are
 * done once, or completed once with the devices' error status, as
 * bridge_takeover_policy() says; the node is declared ready only after
 * that, so what the guest asks once it is ready is always served.
 * Either way VBRIDGE_BE_RESET clears the device's broken state.
 */
#ifndef VBRIDGE_BRIDGE_BACKEND_H
#define VBRIDGE_BRIDGE_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "pci/pci.h"
#include "virtio/virtio_pci.h"
#include "virtio_bridge.h"

struct bridge_be;
struct device_set;

struct bridge_be_opts {
	const char *node;	/* /dev/virtio/vm<N>/<name> */
	const char *state_dir;	/* in-flight files; NULL: state_dir_choose() */
	bool no_ack;		/* test switch: never acknowledge VMSTOP */
	bool stale_read;	/* test switch: no_ack, keep the stopped VM's
				 * mapping and read it at the next VMSTART */
};

/*
 * Open the node (exclusively: -EBUSY when another provider serves it) and
 * read the device's description.  Returns 0 or -errno, message printed.
 */
int bridge_be_open(struct bridge_be **out, const struct bridge_be_opts *opts);
void bridge_be_close(struct bridge_be *be);

const struct vbridge_backend_info *bridge_be_info(const struct bridge_be *be);

/* The pci_host the device model is realized against. */
struct pci_host *bridge_be_host(struct bridge_be *be);

/*
 * Serve: place BARs in window 1, open the in-flight file, declare
 * readiness (when a VM ran at the open: once its VMSTART was handled)
 * and handle messages until *stop becomes true (checked after each
 * batch; a signal that sets it interrupts the wait) or the node fails.
 * Returns 0 or -errno.
 */
int bridge_be_serve(struct bridge_be *be, struct pci_bus *bus,
		    struct device_set *devs, volatile bool *stop);

/*
 * What a provider taking over a running guest does with the requests the
 * guest made before, given the node's description (read at the open) and
 * the ms from the open to now: replay them when the guest's accesses
 * waited for a provider (retry_timeout_ms < 0, or > 0 and the device had
 * none for no longer: down_ms plus the time since the open), else fail
 * them; a guest whose accesses failed meanwhile sees its I/O fail too.
 * A module that does not report its retry timeout
 * (no VBRIDGE_BE_INFO_F_RETRY) gets replay, as before it could.
 */
enum virtio_resume_policy
bridge_takeover_policy(const struct vbridge_backend_info *info,
		       uint64_t since_open_ms);

/* The line slot k of the bus drives (exported for tests and the VMM). */
unsigned int bridge_slot_line(unsigned int slot, unsigned int nr_irqs);

#endif
