/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PCI functions, a PCI bus and the host they live in.
 *
 * This is the seam between the device model and whoever runs it:
 *
 *  - the device model (user/virtio/, user/devices/) builds struct pci_func
 *    objects: config space, BARs, and BAR handlers;
 *  - a host puts them on a struct pci_bus and feeds it guest accesses:
 *    the VMM (user/vmm/) from KVM exits (CF8/CFC config cycles on x86,
 *    MMIO exits for BARs), the device daemon (user/daemon/) from requests
 *    read off its virtio_bridge backend node (ECAM window, BAR window);
 *  - the host supplies struct pci_host: guest memory, how to set a
 *    function's INTx level, and optionally how to turn a notify address
 *    into an eventfd doorbell (KVM_IOEVENTFD in the VMM,
 *    VBRIDGE_BE_ADD_DOORBELL in the daemon).
 *
 * Nothing here knows which host it runs in: that is the whole point.
 *
 * Threads: pci_bus_* calls may come from several threads at once (vCPU
 * threads); the bus serialises layout changes (config writes that move
 * BARs) against lookups.  BAR handlers run without the bus lock held and
 * must do their own locking.
 */
#ifndef VBRIDGE_PCI_H
#define VBRIDGE_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/guest_mem.h"

#define PCI_CFG_SPACE_SIZE	4096	/* ECAM reaches all; CF8/CFC the first 256 */
#define PCI_NUM_BARS		6
#define PCI_DEVFN(slot, fn)	((((slot) & 0x1f) << 3) | ((fn) & 7))
#define PCI_SLOT(devfn)		(((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)		((devfn) & 7)

struct pci_func;
struct pci_bus;
struct pci_host;

/*
 * Configuration cycles of bus 0 as a host bridge delivers them (CF8/CFC on
 * x86, an ECAM window on arm64), whatever serves them.
 */
struct pci_cfg_ops {
	uint32_t (*read)(void *ctx, unsigned int devfn, unsigned int reg,
			 unsigned int len);
	void (*write)(void *ctx, unsigned int devfn, unsigned int reg,
		      unsigned int len, uint32_t val);
};

struct pci_host_ops {
	/* Drive function f's INTx line to level (0 or 1). */
	void (*set_intx)(struct pci_host *h, struct pci_func *f, int level);
	/*
	 * Optional fast path (NULL: none).  From now on, guest stores of len
	 * bytes to gpa signal eventfd efd instead of reaching the BAR handler.
	 * Returns 0 or -errno; on failure the store keeps reaching the BAR
	 * handler, which must therefore also handle it.
	 */
	int (*add_doorbell)(struct pci_host *h, uint64_t gpa, unsigned int len,
			    int efd);
	void (*del_doorbell)(struct pci_host *h, uint64_t gpa, unsigned int len,
			     int efd);
	/*
	 * Optional (NULL: kicks are taken at once).  The I/O thread asks
	 * before it looks at a kicked queue; true defers the kick: stores the
	 * guest made before it may not have reached the device yet (a
	 * bridge's posted stores, which a doorbell overtakes), and the host
	 * kicks the device's queues again once they have.
	 */
	bool (*kick_defer)(struct pci_host *h);
	/*
	 * Optional (NULL: the host takes no MSI, and functions on its bus
	 * offer none).  Deliver the message function f's MSI-X vector holds:
	 * a store of data to addr, as the guest programmed them.
	 */
	void (*send_msi)(struct pci_host *h, struct pci_func *f, uint64_t addr,
			 uint32_t data);
	/*
	 * Optional (NULL: none), with send_msi.  An eventfd whose every
	 * write sends function f's message addr/data as send_msi would,
	 * with no thread of this process in the path: what a device whose
	 * interrupts another process raises (a vhost-user back-end's call
	 * fd) hands that process.  The host owns the fd; it stays open and
	 * bound to the message until as many msi_fd_put() of the message
	 * as msi_fd_get() succeeded.  Returns the fd or -errno (then the
	 * device sends through send_msi as before).
	 */
	int (*msi_fd_get)(struct pci_host *h, struct pci_func *f,
			  uint64_t addr, uint32_t data);
	void (*msi_fd_put)(struct pci_host *h, struct pci_func *f,
			   uint64_t addr, uint32_t data);
};

struct pci_host {
	const struct pci_host_ops *ops;
	struct guest_mem *mem;	/* the guest's RAM as this process maps it */
	void *priv;		/* the host's own state */
};

/* --- the bus: what a host calls -------------------------------------- */

struct pci_bus *pci_bus_new(struct pci_host *host);
/* Frees the bus and every function on it (pci_func_free). */
void pci_bus_free(struct pci_bus *b);

/* Put f at devfn; returns 0, -EBUSY (taken) or -EINVAL. */
int pci_bus_add(struct pci_bus *b, unsigned int devfn, struct pci_func *f);
/* The bus's host delivers MSIs (pci_host_ops.send_msi). */
bool pci_bus_has_msi(const struct pci_bus *b);
struct pci_func *pci_bus_func(struct pci_bus *b, unsigned int devfn);

/*
 * Config space access of bus 0 (len 1, 2 or 4, reg aligned to len).  An
 * empty devfn reads all-ones and ignores writes, as real hardware does.
 */
uint32_t pci_bus_cfg_read(struct pci_bus *b, unsigned int devfn,
			  unsigned int reg, unsigned int len);
void pci_bus_cfg_write(struct pci_bus *b, unsigned int devfn,
		       unsigned int reg, unsigned int len, uint32_t val);

/*
 * An access to an ECAM window: offset = bus << 20 | devfn << 12 | reg.
 * Buses other than 0 are empty.
 */
void pci_bus_ecam_access(struct pci_bus *b, uint64_t offset, unsigned int len,
			 bool write, uint64_t *val);

/*
 * An access to a CAM window (pci-host-cam-generic): 256 bytes of
 * configuration space per function, offset = bus << 16 | devfn << 8 | reg.
 * Buses other than 0 are empty; the extended space is out of reach.
 */
void pci_bus_cam_access(struct pci_bus *b, uint64_t offset, unsigned int len,
			bool write, uint64_t *val);

/* How a host bridge's configuration window is decoded. */
enum pci_cfg_layout {
	PCI_CFG_ECAM,		/* 4 KiB per function, 1 MiB per bus */
	PCI_CFG_CAM,		/* 256 B per function, 64 KiB per bus */
};

/* pci_bus_ecam_access() or pci_bus_cam_access(), as layout says. */
void pci_bus_cfg_window_access(struct pci_bus *b, enum pci_cfg_layout layout,
			       uint64_t offset, unsigned int len, bool write,
			       uint64_t *val);

/*
 * A memory access at guest-physical addr, len 1/2/4/8.  Returns true when
 * an enabled memory BAR claimed it (load: *val set), false when none did.
 */
bool pci_bus_mmio(struct pci_bus *b, uint64_t addr, unsigned int len,
		  bool write, uint64_t *val);

/*
 * Program every memory BAR of every function into [base, base + size), as
 * firmware does, and enable memory decoding.  Returns 0 or -ENOSPC.
 */
int pci_bus_assign_bars(struct pci_bus *b, uint64_t base, uint64_t size);

/* --- a function: what the device model provides ------------------------- */

/* Interrupt pin the function uses: 1 = INTA# ... 4 = INTD#, 0 = none. */
unsigned int pci_func_intx_pin(const struct pci_func *f);
/* devfn on its bus. */
unsigned int pci_func_devfn(const struct pci_func *f);
/* A short name for messages and firmware tables ("virtio-blk"). */
const char *pci_func_name(const struct pci_func *f);
/* Free a function not on a bus (on a bus: pci_bus_free does it). */
void pci_func_free(struct pci_func *f);

#endif
