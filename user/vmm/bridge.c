// SPDX-License-Identifier: GPL-2.0
/* `vbridge run --vmid N`: devices served through the bridge; see bridge.h. */
#include "vmm/bridge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bridge/backend.h"
#include "bridge/frontend.h"
#include "lib/log.h"
#include "pci/pci.h"
#include "vmm/vmm.h"

/* One installed doorbell: what KVM_IOEVENTFD was given for id. */
struct vmm_doorbell {
	uint32_t id;
	struct kvm_ioeventfd io;
};

/*
 * One interrupt line of a bridged device: what KVM_IRQFD is given for it
 * (the eventfd the module raises it through and, level-triggered, the
 * resample eventfd), bound at its first assertion.
 */
struct vmm_line {
	struct kvm_irqfd irqfd;
	const char *dev;
	unsigned int line;
};

/* One MSI message of a provider: its eventfd, bound to a GSI routed to it. */
struct vmm_msi {
	uint32_t id;
	int fd;
	unsigned int gsi;
};

/**
 * struct vmm_bridge - this VM's devices behind /dev/virtio-bridge.
 * @fe: the attached frontend file (constant once attached)
 * @vmid: the vmid it runs (constant)
 * @host: the bridged PCI host, whose slots are bus 0's from
 *	VMM_BRIDGE_FIRST_SLOT on, or NULL when no device is declared
 *	(constant)
 * @nr_slots: how many of its slots the ECAM window holds, at most
 *	VMM_BRIDGE_SLOTS (constant)
 * @nr_lines: entries of @lines made (set-up thread, then constant)
 * @lines: every device's interrupt lines, in the module's order; their
 *	eventfds are closed at the end
 * @lines_epfd: the lines not bound to KVM yet, each waiting for its
 *	first assertion (main thread after set-up), or -1
 * @nr_unbound: how many lines @lines_epfd waits for
 * @db_off: reading doorbell changes failed: stop polling for them, kicks
 *	are forwarded as stores instead (main thread only)
 * @nr_doorbells: entries of @doorbells (main thread only)
 * @doorbells: the KVM_IOEVENTFDs installed for the module's doorbells
 *	(main thread only)
 * @nr_msis: entries of @msis
 * @msis: the providers' MSI messages, each a KVM irqfd on its own GSI
 * @msi_refused: messages refused so far (the first one is a warning)
 */
struct vmm_bridge {
	struct bridge_fe *fe;
	uint32_t vmid;
	const struct bridge_fe_device *host;
	unsigned int nr_slots;
	unsigned int nr_lines;
	struct vmm_line *lines;
	int lines_epfd;
	unsigned int nr_unbound;
	bool db_off;
	unsigned int nr_doorbells;
	struct vmm_doorbell *doorbells;
	unsigned int nr_msis;
	struct vmm_msi *msis;
	unsigned long msi_refused;
};

int64_t vmm_bridge_ecam_offset(uint64_t ecam_size, unsigned int devfn,
			       unsigned int reg)
{
	unsigned int slot = PCI_SLOT(devfn);
	uint64_t off;

	if (slot < VMM_BRIDGE_FIRST_SLOT || reg >= 4096)
		return -1;
	off = (uint64_t)(devfn - PCI_DEVFN(VMM_BRIDGE_FIRST_SLOT, 0)) << 12;
	if (off >= ecam_size || ecam_size - off < 4096)
		return -1;
	return (int64_t)(off + reg);
}

static const char *vmm_bridge_state(const struct bridge_fe_device *d)
{
	return d->state & VBRIDGE_DEV_S_READY ? "ready" :
	       d->state & VBRIDGE_DEV_S_OPEN ? "opened, not ready" :
	       "no provider yet";
}

int vmm_bridge_check(struct vmm *vm)
{
	struct vmm_bridge *br = vm->bridge;
	const struct bridge_fe_device *d;
	unsigned int n = bridge_fe_nr_devices(br->fe), i;

	for (i = PCI_DEVFN(VMM_BRIDGE_FIRST_SLOT, 0);
	     !VMM_ARCH_BRIDGE_OWN_HOST && n && i <= 0xff; i++) {
		if (pci_bus_func(vm->bus, i)) {
			log_error("vmid %u: too many in-process devices: with a bridge they take slots 1..%u of bus 0; give fewer device options",
				  br->vmid, VMM_BRIDGE_FIRST_SLOT - 1);
			return -1;
		}
	}
	if (!n) {
		log_warn("vmid %u: no devices are declared for it (vbridge ctl status); the guest gets none through the bridge",
			 br->vmid);
		return 0;
	}
	if (arch_bridge_check_devices(vm, br->vmid, bridge_fe_device(br->fe, 0),
				      n))
		return -1;
	d = bridge_fe_device(br->fe, 0);
	if (VMM_ARCH_BRIDGE_OWN_HOST) {
		for (i = 0; i < n; i++) {
			d = bridge_fe_device(br->fe, i);
			log_info("vmid %u: bridged device '%s' served by vm%u (%s), its own PCI host: ECAM at 0x%llx, %u line(s)",
				 br->vmid, d->name, d->backend_vmid,
				 vmm_bridge_state(d),
				 (unsigned long long)d->windows[0].addr,
				 d->nr_irqs);
		}
		return 0;
	}
	br->host = d;
	br->nr_slots = d->windows[0].size / VMM_BRIDGE_ECAM_SLOT;
	if (br->nr_slots > VMM_BRIDGE_SLOTS)
		br->nr_slots = VMM_BRIDGE_SLOTS;
	log_info("vmid %u: bridged device '%s' served by vm%u (%s), slots %u..%u of bus 0",
		 br->vmid, d->name, d->backend_vmid, vmm_bridge_state(d),
		 VMM_BRIDGE_FIRST_SLOT,
		 VMM_BRIDGE_FIRST_SLOT + br->nr_slots - 1);
	return 0;
}

int vmm_bridge_open(struct vmm *vm, const char *node, uint32_t vmid)
{
	struct vmm_bridge *br;
	unsigned int i;

	br = calloc(1, sizeof(*br));
	if (!br) {
		log_error("out of memory");
		return -1;
	}
	br->vmid = vmid;
	br->lines_epfd = -1;
	vm->bridge = br;
	if (bridge_fe_open(&br->fe, node))
		return -1;
	/* RAM first: the backends map it when they get VMSTART. */
	for (i = 0; i < vm->nr_ram_regions; i++) {
		const struct vmm_ram_region *r = &vm->ram_regions[i];

		if (bridge_fe_add_region(br->fe, r->gpa, r->size, vm->mem_fd,
					 r->offset))
			return -1;
	}
	/*
	 * Every architecture routes the providers' MSIs; whether a guest
	 * uses them is the architecture's description's (arm64: msi-map).
	 */
	if (bridge_fe_attach(br->fe, vmid, VBRIDGE_ATTACH_F_MSI, false))
		return -1;
	return 0;
}

/*
 * One line: its eventfds, given to the module; KVM gets them when the line
 * is first raised (vmm_bridge_lines()).  A line KVM has costs the VM's
 * teardown a wait for each of its resamplers (an SRCU grace period each:
 * 4 ms and more under nested virtualization), while most declared lines
 * are never raised: the example overlays declare a line for every slot.
 */
static int vmm_bridge_line(struct vmm *vm, const struct bridge_fe_device *d,
			   unsigned int line)
{
	struct vmm_bridge *br = vm->bridge;
	struct vmm_line *l = &br->lines[br->nr_lines];
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = br->nr_lines };
	int efd, rfd = -1;

	efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0)
		goto err;
	*l = (struct vmm_line){
		.irqfd = { .fd = efd, .gsi = d->irqs[line].num },
		.dev = d->name, .line = line,
	};
	br->nr_lines++;		/* closed by vmm_bridge_destroy() from here on */
	if (d->irqs[line].flags & VBRIDGE_IRQ_F_LEVEL) {
		rfd = eventfd(0, EFD_CLOEXEC);
		if (rfd < 0)
			goto err;
		l->irqfd.flags = KVM_IRQFD_FLAG_RESAMPLE;
		l->irqfd.resamplefd = rfd;
	}
	if (epoll_ctl(br->lines_epfd, EPOLL_CTL_ADD, efd, &ev))
		goto err;
	br->nr_unbound++;
	return bridge_fe_set_irqfd(br->fe, d->id, line, efd, rfd) ? -1 : 0;
err:
	log_errno("vmid %u: cannot make the eventfds of line %u (GSI %u) of '%s'",
		  br->vmid, line, d->irqs[line].num, d->name);
	return -1;
}

int vmm_bridge_lines_fd(const struct vmm *vm)
{
	const struct vmm_bridge *br = vm->bridge;

	return br && br->nr_unbound ? br->lines_epfd : -1;
}

void vmm_bridge_lines(struct vmm *vm)
{
	struct vmm_bridge *br = vm->bridge;
	struct epoll_event ev[8];
	int i, n;

	n = epoll_wait(br->lines_epfd, ev, 8, 0);
	for (i = 0; i < n; i++) {
		struct vmm_line *l = &br->lines[ev[i].data.u32];

		epoll_ctl(br->lines_epfd, EPOLL_CTL_DEL, l->irqfd.fd, NULL);
		br->nr_unbound--;
		/*
		 * KVM looks at the eventfd as it binds it: the assertion
		 * that woke us is delivered now.
		 */
		if (ioctl(vm->vm_fd, KVM_IRQFD, &l->irqfd) < 0) {
			log_errno("vmid %u: cannot bind line %u (GSI %u) of '%s' to KVM: its interrupts are lost",
				  br->vmid, l->line, l->irqfd.gsi, l->dev);
			continue;
		}
		log_info("vmid %u: line %u (GSI %u) of '%s' bound to KVM at its first interrupt",
			 br->vmid, l->line, l->irqfd.gsi, l->dev);
	}
}

/* Windows outside the PCI window are not seen by the PCI host's handler. */
static void vmm_bridge_window_io(void *opaque, struct io_access *a)
{
	vmm_bridge_mmio(opaque, a);
}

int vmm_bridge_setup(struct vmm *vm)
{
	struct vmm_bridge *br = vm->bridge;
	unsigned int i, j, n = 0;

	for (i = 0; i < bridge_fe_nr_devices(br->fe); i++)
		n += bridge_fe_device(br->fe, i)->nr_irqs;
	br->lines = calloc(n ? n : 1, sizeof(*br->lines));
	br->lines_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!br->lines || br->lines_epfd < 0) {
		log_errno("vmid %u: cannot set up the bridged devices' %u interrupt lines",
			  br->vmid, n);
		return -1;
	}
	for (i = 0; i < bridge_fe_nr_devices(br->fe); i++) {
		const struct bridge_fe_device *d = bridge_fe_device(br->fe, i);

		for (j = 0; j < d->nr_irqs; j++)
			if (vmm_bridge_line(vm, d, j))
				return -1;
		for (j = 0; j < d->nr_windows; j++) {
			const struct vbridge_window *w = &d->windows[j];
			const struct io_range *r = io_bus_find(&vm->mmio, w->addr, 1);
			int err;

			if (r && r->fn == vmm_pci_mmio &&
			    w->addr + w->size <= r->base + r->len)
				continue;	/* host.c's window holds it */
			err = io_bus_add(&vm->mmio, w->addr, w->size,
					 vmm_bridge_window_io, vm, d->name);
			if (err) {
				log_error("vmid %u: cannot claim window %u of '%s': %s",
					  br->vmid, j, d->name, strerror(-err));
				return -1;
			}
		}
	}
	return 0;
}

int vmm_bridge_fd(const struct vmm *vm)
{
	const struct vmm_bridge *br = vm->bridge;

	return br && br->fe && !br->db_off ? bridge_fe_fd(br->fe) : -1;
}

static void vmm_bridge_doorbell_add(struct vmm *vm,
				    const struct vbridge_doorbell *db)
{
	struct vmm_bridge *br = vm->bridge;
	struct vmm_doorbell *n;
	struct kvm_ioeventfd io = {
		.addr = db->addr,
		.len = db->len,
		.fd = db->fd,
		.datamatch = db->datamatch,
		.flags = db->flags & VBRIDGE_DOORBELL_F_DATAMATCH ?
			 KVM_IOEVENTFD_FLAG_DATAMATCH : 0,
	};

	n = realloc(br->doorbells, (br->nr_doorbells + 1) * sizeof(*n));
	if (!n || ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
		/* Kicks to it still arrive, as forwarded stores. */
		log_warn("vmid %u: doorbell at 0x%llx (%u bytes) of device %u: %s; its kicks are forwarded instead",
			 br->vmid, (unsigned long long)db->addr, db->len,
			 db->device_id, n ? strerror(errno) : "out of memory");
		if (n)
			br->doorbells = n;
		close(db->fd);
		return;
	}
	br->doorbells = n;
	n[br->nr_doorbells++] = (struct vmm_doorbell){ .id = db->id, .io = io };
	log_debug("vmid %u: doorbell %u at 0x%llx (%u bytes) of device %u",
		  br->vmid, db->id, (unsigned long long)db->addr, db->len,
		  db->device_id);
}

static void vmm_bridge_doorbell_del(struct vmm *vm, uint32_t id)
{
	struct vmm_bridge *br = vm->bridge;
	unsigned int i;

	for (i = 0; i < br->nr_doorbells; i++) {
		struct vmm_doorbell *d = &br->doorbells[i];

		if (d->id != id)
			continue;
		d->io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &d->io) < 0)
			log_errno("vmid %u: cannot remove doorbell %u", br->vmid, id);
		close(d->io.fd);
		*d = br->doorbells[--br->nr_doorbells];
		return;
	}
	/* One that could not be installed: nothing to undo. */
}

/* The index of the device with module id id, or -1. */
static int vmm_bridge_dev_index(const struct vmm_bridge *br, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < bridge_fe_nr_devices(br->fe); i++)
		if (bridge_fe_device(br->fe, i)->id == id)
			return i;
	return -1;
}

/* Give KVM the routing table.  Returns 0 or -errno. */
/*
 * A provider's MSI message: a GSI routed to it, and its eventfd bound to
 * that GSI, so that the provider's eventfd write is the interrupt.  One
 * the architecture does not let a device send is refused (and its
 * eventfd closed: the provider's signals go nowhere).
 */
static void vmm_bridge_msi_add(struct vmm *vm, const struct vbridge_doorbell *db)
{
	struct vmm_bridge *br = vm->bridge;
	int idx = vmm_bridge_dev_index(br, db->device_id);
	struct kvm_irq_routing_entry e;
	struct vmm_msi *n;
	char why[200] = "no such device";
	int gsi, err;

	if (idx < 0 || arch_bridge_msi_route(vm, idx, db->rid, db->addr,
					     (uint32_t)db->datamatch, &e, why,
					     sizeof(why))) {
		if (!br->msi_refused++)
			log_warn("vmid %u: MSI 0x%llx/0x%x of device %u (requester 0x%x) refused: %s",
				 br->vmid, (unsigned long long)db->addr,
				 (uint32_t)db->datamatch, db->device_id, db->rid,
				 why);
		else
			log_debug("vmid %u: MSI 0x%llx/0x%x of device %u refused: %s",
				  br->vmid, (unsigned long long)db->addr,
				  (uint32_t)db->datamatch, db->device_id, why);
		close(db->fd);
		return;
	}
	n = realloc(br->msis, (br->nr_msis + 1) * sizeof(*n));
	if (!n) {
		err = -ENOMEM;
		goto err;
	}
	br->msis = n;
	gsi = vmm_routes_bind(vm, &e, db->fd);
	if (gsi < 0) {
		err = gsi;
		goto err;
	}
	n[br->nr_msis++] = (struct vmm_msi){
		.id = db->id, .fd = db->fd, .gsi = gsi,
	};
	log_debug("vmid %u: MSI %u (0x%llx/0x%x) of device %u on GSI %d",
		  br->vmid, db->id, (unsigned long long)db->addr,
		  (uint32_t)db->datamatch, db->device_id, gsi);
	return;
err:
	log_warn("vmid %u: cannot route MSI 0x%llx/0x%x of device %u: %s; that interrupt is lost",
		 br->vmid, (unsigned long long)db->addr, (uint32_t)db->datamatch,
		 db->device_id, strerror(-err));
	close(db->fd);
}

/* The provider dropped a message (its route stays: msi_fd.h). */
static void vmm_bridge_msi_del(struct vmm *vm, uint32_t id)
{
	struct vmm_bridge *br = vm->bridge;
	unsigned int i;

	for (i = 0; i < br->nr_msis; i++) {
		struct vmm_msi *m = &br->msis[i];

		if (m->id != id)
			continue;
		vmm_routes_unbind(vm, m->gsi, m->fd);
		close(m->fd);
		*m = br->msis[--br->nr_msis];
		return;
	}
	/* One that was refused: nothing to undo. */
}

void vmm_bridge_doorbells(struct vmm *vm)
{
	struct vbridge_doorbell db;
	int ret;

	while ((ret = bridge_fe_next_doorbell(vm->bridge->fe, &db)) > 0) {
		bool msi = db.flags & VBRIDGE_DOORBELL_F_MSI;

		if (db.flags & VBRIDGE_DOORBELL_F_DEASSIGN) {
			if (msi)
				vmm_bridge_msi_del(vm, db.id);
			else
				vmm_bridge_doorbell_del(vm, db.id);
		} else if (msi) {
			vmm_bridge_msi_add(vm, &db);
		} else {
			vmm_bridge_doorbell_add(vm, &db);
		}
	}
	if (ret < 0) {
		/* Still pending: polling again would spin.  Kicks still work. */
		vm->bridge->db_off = true;
		if (ret != -ESHUTDOWN)
			log_warn("vmid %u: cannot read doorbell and MSI changes (%s): kicks are forwarded from now on, and MSIs the provider has not sent yet are lost",
				 vm->bridge->vmid, strerror(-ret));
	}
}

/* Forward one access; a signal that is not the end of the VM retries. */
static void vmm_bridge_forward(struct vmm *vm, uint64_t addr, unsigned int len,
			       bool write, uint64_t *val)
{
	int err;

	do {
		err = bridge_fe_access(vm->bridge->fe, addr, len, write, val);
	} while (err == -EINTR && !vmm_stopping(vm));
	if (err && err != -EINTR)
		log_debug("vmid %u: forwarding a %u-byte %s at 0x%llx: %s",
			  vm->bridge->vmid, len, write ? "store" : "load",
			  (unsigned long long)addr, strerror(-err));
	if (err && !write)
		*val = ~0ULL;
}

bool vmm_bridge_mmio(struct vmm *vm, struct io_access *a)
{
	if (!vm->bridge || !vm->bridge->fe ||
	    !bridge_fe_lookup(vm->bridge->fe, a->addr, a->len, NULL))
		return false;
	vmm_bridge_forward(vm, a->addr, a->len, a->write, &a->val);
	return true;
}

bool vmm_bridge_cfg(struct vmm *vm, unsigned int devfn, unsigned int reg,
		    unsigned int len, bool write, uint32_t *val)
{
	const struct vmm_bridge *br = vm->bridge;
	uint64_t v = write ? *val : 0;
	int64_t off;

	if (!br || !br->host || PCI_SLOT(devfn) < VMM_BRIDGE_FIRST_SLOT)
		return false;
	off = vmm_bridge_ecam_offset((uint64_t)br->nr_slots * VMM_BRIDGE_ECAM_SLOT,
				     devfn, reg);
	if (off < 0) {
		/* A slot beyond the window: nothing there. */
		if (!write)
			*val = len >= 4 ? ~0U : (1U << (8 * len)) - 1;
		return true;
	}
	vmm_bridge_forward(vm, br->host->windows[0].addr + off, len, write, &v);
	if (!write)
		*val = (uint32_t)v;
	return true;
}

unsigned int vmm_bridge_slot_gsi(const struct vmm *vm, unsigned int slot)
{
	const struct vmm_bridge *br = vm->bridge;
	unsigned int s;

	if (!br || !br->host || !br->host->nr_irqs ||
	    slot < VMM_BRIDGE_FIRST_SLOT)
		return 0;
	s = slot - VMM_BRIDGE_FIRST_SLOT;
	return br->host->irqs[bridge_slot_line(s, br->host->nr_irqs)].num;
}

unsigned int vmm_bridge_nr_devices(const struct vmm *vm)
{
	return vm->bridge && vm->bridge->fe ? bridge_fe_nr_devices(vm->bridge->fe) : 0;
}

const struct bridge_fe_device *vmm_bridge_device(const struct vmm *vm,
						 unsigned int i)
{
	return bridge_fe_device(vm->bridge->fe, i);
}

void vmm_bridge_stop(struct vmm *vm)
{
	if (vm->bridge && vm->bridge->fe)
		bridge_fe_stop(vm->bridge->fe);
}

void vmm_bridge_destroy(struct vmm *vm)
{
	struct vmm_bridge *br = vm->bridge;
	unsigned int i;

	if (!br)
		return;
	for (i = 0; i < br->nr_doorbells; i++)
		close(br->doorbells[i].io.fd);
	free(br->doorbells);
	for (i = 0; i < br->nr_msis; i++)
		close(br->msis[i].fd);
	free(br->msis);
	for (i = 0; i < br->nr_lines; i++) {
		close(br->lines[i].irqfd.fd);
		if (br->lines[i].irqfd.flags & KVM_IRQFD_FLAG_RESAMPLE)
			close(br->lines[i].irqfd.resamplefd);
	}
	free(br->lines);
	if (br->lines_epfd >= 0)
		close(br->lines_epfd);
	bridge_fe_close(br->fe);
	free(br);
	vm->bridge = NULL;
}
