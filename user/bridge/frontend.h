/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMM's side of the bridge: /dev/virtio-bridge.
 *
 * A VMM attaches to a vmid, learns the devices declared for it, registers
 * its guest RAM (memfd regions) and one eventfd per interrupt line, then
 * forwards every guest access that falls into a bridged window.  Doorbell
 * changes (eventfds a backend wants bound to a notify address) arrive on the
 * file descriptor; the VMM turns them into KVM_IOEVENTFD registrations.
 *
 * Thread safety: bridge_fe_access() may be called from every vCPU thread at
 * once; everything else is for the VMM's set-up and event-loop thread.
 */
#ifndef VBRIDGE_BRIDGE_FRONTEND_H
#define VBRIDGE_BRIDGE_FRONTEND_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio_bridge.h"

struct bridge_fe;

/* A device declared for the attached vmid (from VBRIDGE_GET_DEVICE). */
struct bridge_fe_device {
	uint32_t id;
	char name[VBRIDGE_NAME_MAX];
	uint32_t backend_vmid;
	uint32_t state;
	unsigned int nr_windows;
	struct vbridge_window windows[VBRIDGE_MAX_WINDOWS];
	unsigned int nr_irqs;
	struct vbridge_irq irqs[VBRIDGE_MAX_IRQS];
};

/*
 * Open `node` (NULL: /dev/virtio-bridge) and check the API version.  The
 * file is a detached VM: register guest RAM (bridge_fe_add_region) before
 * bridge_fe_attach(), so that backends find it at VMSTART.  Returns 0 or
 * -errno with a message printed.
 */
int bridge_fe_open(struct bridge_fe **out, const char *node);

/*
 * Attach to vmid with flags (VBRIDGE_ATTACH_F_*; a module that refuses
 * them is attached without, with a warning) and read the device list.
 * While an earlier VM of that
 * vmid is still stopping (its backends acknowledging VMSTOP) this says so
 * and waits, unless nonblock: then it fails with -EBUSY.  A vmid another
 * VM still runs is retried for 5 s (a VMM just killed takes a moment to
 * go), then -EBUSY.  Returns 0 or -errno with a message printed.
 */
int bridge_fe_attach(struct bridge_fe *fe, uint32_t vmid, uint32_t flags,
		     bool nonblock);
void bridge_fe_close(struct bridge_fe *fe);

/* The attached VM's generation, the fd (poll it for doorbells). */
uint64_t bridge_fe_generation(const struct bridge_fe *fe);
int bridge_fe_fd(const struct bridge_fe *fe);

unsigned int bridge_fe_nr_devices(const struct bridge_fe *fe);
const struct bridge_fe_device *bridge_fe_device(const struct bridge_fe *fe,
						unsigned int i);

/* Register guest RAM [gpa, gpa + size) backed by memfd at offset. */
int bridge_fe_add_region(struct bridge_fe *fe, uint64_t gpa, uint64_t size,
			 int memfd, uint64_t offset);

/* Bind a device's interrupt line to an irqfd (and resamplefd, or -1). */
int bridge_fe_set_irqfd(struct bridge_fe *fe, uint32_t device_id,
			unsigned int line, int irqfd, int resamplefd);

/*
 * The device whose window contains [addr, addr + len), and the window's
 * index, or NULL.  Lock-free: the table is fixed after bridge_fe_attach().
 */
const struct bridge_fe_device *bridge_fe_lookup(const struct bridge_fe *fe,
						uint64_t addr, unsigned int len,
						unsigned int *window);

/*
 * Forward one access.  Load: *val gets the value, all-ones on failure.
 * Returns 0 when the access completed (even if the bridge failed it: the
 * guest sees all-ones, as on real hardware), -errno only when the ioctl
 * itself failed (-EINTR: a signal while waiting for a backend to become
 * ready; the caller may retry or give up).
 */
int bridge_fe_access(struct bridge_fe *fe, uint64_t addr, unsigned int len,
		     bool write, uint64_t *val);

/*
 * Take the next pending doorbell change, if any: returns 1 and fills *db
 * (for an assignment db->fd is a new eventfd owned by the caller), 0 when
 * none is pending, -errno on error.
 */
int bridge_fe_next_doorbell(struct bridge_fe *fe, struct vbridge_doorbell *db);

/* Stop the VM now (also done by bridge_fe_close). */
int bridge_fe_stop(struct bridge_fe *fe);

#endif
