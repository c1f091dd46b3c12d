/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Building a PCI function: the device-model side of user/pci/pci.h.
 *
 * A function is a 4 KiB configuration space with a write mask (which bits
 * the guest may change), a write-1-to-clear mask, up to six BARs, a
 * capability list and an INTx pin.  The device embeds struct pci_func in
 * its own state and supplies struct pci_func_ops; the bus calls those for
 * accesses to the function's BARs and to its device-specific configuration
 * registers.
 *
 * BAR sizing needs no code: a BAR register's write mask is ~(size - 1) (and
 * the flag bits read-only), so all-ones written reads back as the size mask,
 * for both halves of a 64-bit BAR.
 *
 * Locking: pci_func.lock protects cfg[] and the INTx state.  It is never held
 * while a pci_func_ops callback runs, so callbacks may call
 * pci_func_set_intx() and pci_func_bar_addr().  BAR callbacks run without the
 * bus lock; cfg_write and layout_changed run with the bus lock held for
 * writing (the layout is stable) and must not call pci_bus_* functions.
 */
#ifndef VBRIDGE_PCI_FUNC_H
#define VBRIDGE_PCI_FUNC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "pci/pci.h"

/* Configuration header registers (type 0) used by the model. */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define  PCI_COMMAND_IO		0x0001
#define  PCI_COMMAND_MEMORY	0x0002
#define  PCI_COMMAND_MASTER	0x0004
#define  PCI_COMMAND_PARITY	0x0040
#define  PCI_COMMAND_SERR	0x0100
#define  PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS		0x06
#define  PCI_STATUS_INTERRUPT	0x0008
#define  PCI_STATUS_CAP_LIST	0x0010
#define  PCI_STATUS_W1C		0xf900	/* error bits: write 1 to clear */
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_CACHE_LINE_SIZE	0x0c
#define PCI_LATENCY_TIMER	0x0d
#define PCI_HEADER_TYPE		0x0e
#define PCI_BASE_ADDRESS_0	0x10
#define  PCI_BASE_ADDRESS_SPACE_IO	0x01
#define  PCI_BASE_ADDRESS_MEM_TYPE_64	0x04
#define  PCI_BASE_ADDRESS_MEM_PREFETCH	0x08
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_ROM_ADDRESS		0x30
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d
#define PCI_CAP_ID_VNDR		0x09
#define PCI_STD_HEADER_SIZE	0x40
#define PCI_LEGACY_CFG_SIZE	0x100	/* conventional PCI: no extended space */

/* pci_func_add_bar() flags */
#define PCI_BAR_MEM64		(1u << 0)	/* 64-bit: takes bar and bar + 1 */
#define PCI_BAR_PREFETCH	(1u << 1)

struct pci_func;

struct pci_func_ops {
	/* Loads and stores inside BAR bar; off + len <= the BAR's size. */
	uint64_t (*bar_read)(struct pci_func *f, unsigned int bar,
			     uint64_t off, unsigned int len);
	void (*bar_write)(struct pci_func *f, unsigned int bar, uint64_t off,
			  unsigned int len, uint64_t val);
	/*
	 * Optional: a config read of [reg, reg + len) inside the capability
	 * area (reg >= 0x40) that has side effects; return true and set *val
	 * to take it over, false to read cfg[] as is.
	 */
	bool (*cfg_read)(struct pci_func *f, unsigned int reg,
			 unsigned int len, uint32_t *val);
	/*
	 * Optional: called after a guest write to the capability area was
	 * applied to cfg[] through the write mask.
	 */
	void (*cfg_write)(struct pci_func *f, unsigned int reg,
			  unsigned int len, uint32_t val);
	/* Optional: a BAR moved, or memory decoding was switched. */
	void (*layout_changed)(struct pci_func *f);
	/* Free the object that embeds f (pci_func_free calls it). */
	void (*free)(struct pci_func *f);
};

/**
 * struct pci_func - one PCI function
 * @lock: protects @cfg, @wmask, @w1cmask, @intx_level, @intx_line
 * @cfg: configuration space as the guest reads it
 * @wmask: bits the guest may write
 * @w1cmask: bits a guest write of 1 clears
 * @bar_size: size of each BAR, 0 when absent (upper half of a 64-bit: 0)
 * @bar_flags: PCI_BAR_* of each BAR
 * @cap_next: where the next capability goes (set up by pci_func_init only)
 * @cap_last: offset of the last capability, 0 when none
 * @intx_level: level the device asks for
 * @intx_line: level the host was last told
 * @ops: the device's callbacks (set by pci_func_init only)
 * @name: short name for messages (set by pci_func_init only)
 * @bus: the bus it is on, NULL before pci_bus_add (written under the bus
 *	lock)
 * @devfn: its slot and function on @bus
 * @dec_addr: where each BAR decodes, 0 when it does not (bus lock)
 */
struct pci_func {
	pthread_mutex_t lock;
	uint8_t cfg[PCI_CFG_SPACE_SIZE];
	uint8_t wmask[PCI_CFG_SPACE_SIZE];
	uint8_t w1cmask[PCI_CFG_SPACE_SIZE];
	uint64_t bar_size[PCI_NUM_BARS];
	unsigned int bar_flags[PCI_NUM_BARS];
	unsigned int cap_next;
	unsigned int cap_last;
	int intx_level;
	int intx_line;
	const struct pci_func_ops *ops;
	const char *name;
	struct pci_bus *bus;
	unsigned int devfn;
	uint64_t dec_addr[PCI_NUM_BARS];
};

/* Identity of a function for pci_func_init(). */
struct pci_func_id {
	uint16_t vendor, device;
	uint16_t subsys_vendor, subsys;
	uint8_t revision;
	uint32_t class;		/* base << 16 | sub << 8 | prog-if */
	unsigned int intx_pin;	/* 0 = none, 1 = INTA# ... 4 */
};

/*
 * Set up a header-type-0 function.  name must outlive f.  Returns 0 or
 * -errno (mutex creation).
 */
int pci_func_init(struct pci_func *f, const struct pci_func_ops *ops,
		  const char *name, const struct pci_func_id *id);

/*
 * Declare a memory BAR of size bytes (a power of two, >= 16).  Returns 0 or
 * -EINVAL (bad size, bar taken, a 64-bit BAR in bar 5).
 */
int pci_func_add_bar(struct pci_func *f, unsigned int bar, uint64_t size,
		     unsigned int flags);

/*
 * Append a capability.  cap[0..len) is its body including the two header
 * bytes (ID and next), which are filled in here.  Returns the capability's
 * offset in config space, or -ENOSPC / -EINVAL.  Its bytes are read-only
 * unless pci_func_set_wmask() says otherwise.
 */
int pci_func_add_cap(struct pci_func *f, uint8_t id, const void *cap,
		     unsigned int len);
void pci_func_set_wmask(struct pci_func *f, unsigned int reg,
			const uint8_t *mask, unsigned int len);

/*
 * Set the level the function drives on its INTx pin.  Status.Interrupt
 * follows it; the host sees it only while Command.INTx-disable is clear.
 */
void pci_func_set_intx(struct pci_func *f, int level);

/*
 * Guest-physical address of a memory BAR while memory decoding is on, else
 * 0.  For a 64-bit BAR pass the lower index.
 */
uint64_t pci_func_bar_addr(struct pci_func *f, unsigned int bar);

/* The host of the bus f is on, or NULL. */
struct pci_host *pci_func_host(const struct pci_func *f);

/*
 * For a host that restarts while its guest runs: save what the guest
 * programmed into f (a copy of the first PCI_LEGACY_CFG_SIZE bytes of its
 * configuration space; the extended space is read-only), and put it back
 * into the same function of a new process.  Restoring takes every
 * guest-writable bit from cfg and recomputes BAR decoding (layout_changed
 * when it moved) and the INTx line the host sees.  The read-only bytes of
 * cfg (identity, BAR types, capabilities) must be f's own, Status apart
 * (pci_func_check_cfg() says whether they are): otherwise it returns
 * -EINVAL and changes nothing.  It takes the bus lock for writing, so not
 * from a callback of the bus.
 */
void pci_func_save_cfg(struct pci_func *f, uint8_t cfg[PCI_LEGACY_CFG_SIZE]);
int pci_func_check_cfg(struct pci_func *f, const uint8_t cfg[PCI_LEGACY_CFG_SIZE]);
int pci_func_restore_cfg(struct pci_func *f,
			 const uint8_t cfg[PCI_LEGACY_CFG_SIZE]);

/* Raw little-endian accessors of cfg[] for the device (take f->lock). */
uint32_t pci_func_cfg_get(struct pci_func *f, unsigned int reg,
			  unsigned int len);
void pci_func_cfg_set(struct pci_func *f, unsigned int reg, unsigned int len,
		      uint32_t val);

#endif
