/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MSI-X for a PCI function (PCI Local Bus 3.0, section 6.8.2; PCIe Base,
 * "MSI-X Capability and Table Structure"): the capability in configuration
 * space, and the vector table and pending-bit array (PBA) in one of the
 * function's memory BARs.
 *
 * The function owns a struct pci_msix.  Its BAR handlers pass accesses to
 * the table and the PBA to pci_msix_bar_access(), its cfg_write callback
 * calls pci_msix_cfg_write(), and it raises vector v with
 * pci_msix_notify(), which says whether MSI-X is on.  A vector that is
 * masked (its own Mask bit, or the
 * capability's Function Mask) when raised has its pending bit set instead,
 * and is sent when it is unmasked.  Sending is the host's
 * (pci_host_ops.send_msi): the message's address and data as the guest
 * programmed them.  While MSI-X is disabled (Message Control.Enable clear)
 * the function uses INTx instead.
 *
 * After reset every vector is masked with address and data 0, as the
 * specification has it; the table is not part of a virtio device reset.
 *
 * A host restarted under a running guest carries the table and the PBA
 * over (pci_msix_save(), pci_msix_check(), pci_msix_restore()); Message
 * Control is in configuration space, which it carries on its own.  A
 * restore sends nothing; once the function is back the host calls
 * pci_msix_send_pending(), which sends every pending vector the restored
 * state has unmasked (MSI-X enabled, no Function Mask, its Mask bit
 * clear).  Such a vector exists when the old process died between setting
 * the bit and sending, or when the table and Message Control were saved
 * at different moments around an unmask: sending it can at worst repeat
 * a message, which a guest takes as a spurious interrupt, while holding
 * it would lose one for good.
 *
 * Locking: pci_msix.lock protects the table and the PBA, and orders a
 * vector raised against the guest unmasking it (Message Control, in the
 * function's cfg[], is read under it).  It nests outside pci_func.lock.
 * The host's send_msi runs under it, so messages leave in the order they
 * were raised, and must not call back into the function.
 */
#ifndef VBRIDGE_PCI_MSIX_H
#define VBRIDGE_PCI_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pci_func;

#define PCI_CAP_ID_MSIX			0x11
#define PCI_MSIX_FLAGS			2	/* Message Control, in the cap */
#define  PCI_MSIX_FLAGS_QSIZE		0x07ff	/* table size - 1 */
#define  PCI_MSIX_FLAGS_MASKALL		0x4000
#define  PCI_MSIX_FLAGS_ENABLE		0x8000
#define PCI_MSIX_TABLE			4	/* offset | BIR */
#define PCI_MSIX_PBA			8	/* offset | BIR */
#define PCI_MSIX_CAP_LEN		12
#define PCI_MSIX_ENTRY_SIZE		16
#define PCI_MSIX_ENTRY_LOWER_ADDR	0
#define PCI_MSIX_ENTRY_UPPER_ADDR	4
#define PCI_MSIX_ENTRY_DATA		8
#define PCI_MSIX_ENTRY_VECTOR_CTRL	12
#define  PCI_MSIX_ENTRY_CTRL_MASKBIT	1
#define PCI_MSIX_MAX_VECTORS		2048

/**
 * struct pci_msix - MSI-X state of one function
 * @f: the function (set by pci_msix_init only)
 * @cap: offset of the capability in configuration space (pci_msix_init)
 * @bar: the BAR holding the table and the PBA (pci_msix_init)
 * @table_off: offset of the table in @bar (pci_msix_init)
 * @pba_off: offset of the PBA in @bar (pci_msix_init)
 * @nr: number of vectors (pci_msix_init)
 * @lock: protects @table and @pba
 * @table: @nr entries of PCI_MSIX_ENTRY_SIZE bytes, little-endian
 * @pba: pending bits, one per vector, in 64-bit words (host byte order)
 * @sent: messages sent, for tests and statistics (atomic)
 */
struct pci_msix {
	struct pci_func *f;
	unsigned int cap;
	unsigned int bar;
	uint32_t table_off;
	uint32_t pba_off;
	unsigned int nr;
	pthread_mutex_t lock;
	uint8_t *table;
	uint64_t *pba;
	uint64_t sent;
};

/* Bytes the table and the PBA of nr vectors take in the BAR. */
#define PCI_MSIX_TABLE_SIZE(nr)	((nr) * PCI_MSIX_ENTRY_SIZE)
#define PCI_MSIX_PBA_SIZE(nr)	((((nr) + 63) / 64) * 8)

/*
 * Add the capability to f for nr vectors (1..PCI_MSIX_MAX_VECTORS) whose
 * table and PBA are at table_off and pba_off (8-byte aligned) of memory
 * BAR bar, which f already has and which must hold both.  Returns 0,
 * -EINVAL, -ENOSPC (no room for the capability) or -ENOMEM.
 */
int pci_msix_init(struct pci_msix *m, struct pci_func *f, unsigned int bar,
		  uint32_t table_off, uint32_t pba_off, unsigned int nr);
void pci_msix_destroy(struct pci_msix *m);

/* Message Control.Enable is set: the function must not use INTx. */
bool pci_msix_enabled(struct pci_msix *m);

/*
 * An access of len bytes at off of the BAR: true when it falls in the
 * table or the PBA, which then handled it (*val is the value loaded or
 * stored).  Table entries take naturally aligned 4- and 8-byte accesses
 * (others read 0 and are ignored); the PBA is read-only.
 */
bool pci_msix_bar_access(struct pci_msix *m, uint64_t off, unsigned int len,
			 bool write, uint64_t *val);

/*
 * The function's cfg_write callback saw a write to [reg, reg + len): when
 * it touched Message Control, send the pending vectors it unmasked and
 * return true (Enable may have changed).
 */
bool pci_msix_cfg_write(struct pci_msix *m, unsigned int reg, unsigned int len);

/* What pci_msix_notify() did. */
enum pci_msix_raised {
	PCI_MSIX_OFF,		/* MSI-X is disabled: nothing, the function uses INTx */
	PCI_MSIX_DONE,		/* sent, pending already, or no such vector */
	PCI_MSIX_HELD,		/* masked: its pending bit is newly set */
};

/*
 * Raise vector v: send it, or set its pending bit while it is masked.
 * PCI_MSIX_OFF (0) when MSI-X is disabled; PCI_MSIX_HELD tells a host
 * that saves the PBA that it changed.  Vectors out of range
 * (VIRTIO_MSI_NO_VECTOR among them) are ignored.
 */
enum pci_msix_raised pci_msix_notify(struct pci_msix *m, unsigned int v);

/*
 * Whether vector v would be sent now if raised (MSI-X enabled, no
 * Function Mask, v in range and its Mask bit clear), and then its message
 * in *addr and *data.
 */
bool pci_msix_vector_live(struct pci_msix *m, unsigned int v, uint64_t *addr,
			  uint32_t *data);

/* Vector v's pending bit (for tests). */
bool pci_msix_pending(struct pci_msix *m, unsigned int v);

/*
 * The saved state of nr vectors: the table, then the PBA, each exactly
 * as the guest reads it from the BAR (PCI_MSIX_TABLE_SIZE(nr) bytes of
 * little-endian entries, then PCI_MSIX_PBA_SIZE(nr) bytes, vector v's
 * pending bit being bit v % 8 of byte v / 8).  A multiple of 8 bytes.
 */
#define PCI_MSIX_STATE_SIZE(nr)	(PCI_MSIX_TABLE_SIZE(nr) + PCI_MSIX_PBA_SIZE(nr))

/* Copy the table and the PBA into buf (PCI_MSIX_STATE_SIZE(m->nr) bytes). */
void pci_msix_save(struct pci_msix *m, void *buf);

/*
 * Whether buf (PCI_MSIX_STATE_SIZE(m->nr) bytes) could have come from
 * pci_msix_save() of m: no bit the guest cannot set (an address's two low
 * bits, Vector Control's reserved bits), no pending bit past the last
 * vector.  Returns 0, or -EINVAL with a message in why (len bytes; NULL
 * with len 0: none).
 */
int pci_msix_check(struct pci_msix *m, const void *buf, char *why, size_t len);

/*
 * Put back a table and PBA that pci_msix_check() accepts (else -EINVAL,
 * nothing changed).  Sends nothing, even for pending vectors that are
 * unmasked: the host calls pci_msix_send_pending() once the function is
 * back.  Returns 0 or -EINVAL.
 */
int pci_msix_restore(struct pci_msix *m, const void *buf);

/*
 * Send, and clear, every pending vector that is unmasked and enabled, as
 * an unmask by the guest does.
 */
void pci_msix_send_pending(struct pci_msix *m);

#endif
