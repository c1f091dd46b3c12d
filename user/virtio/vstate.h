/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The state a host keeps of its virtio-pci devices so that a new process
 * can take over a running guest from one that crashed or was stopped:
 *
 *  - the *blob*: what the guest programmed, per function its configuration
 *    header (pci_func_save_cfg), its transport state (virtio_dev_save)
 *    and its MSI-X table and pending bits (pci_msix_save), tagged with the
 *    generation of the VM it belongs to.  Small, saved whenever it changes
 *    (rare: negotiation, queue setup, DRIVER_OK, reset, BAR moves, MSI-X
 *    programming, a vector held pending while masked), kept elsewhere
 *    (the device daemon gives it to the module with
 *    VBRIDGE_BE_SET_STATE);
 *  - the *in-flight records*: per queue a struct vq_inflight (virtqueue.h),
 *    updated with every request, in memory that survives the process (a
 *    shared file mapping), behind a header that ties it to one blob.
 *
 * Both are checked before anything is trusted: a blob of another VM, of
 * another set of devices, or one that is damaged or could not have come
 * from these devices is refused with a message and the caller resets the
 * devices; in-flight records that do not belong to the blob make every
 * running device ask its driver for a reset (DEVICE_NEEDS_RESET).
 *
 * Both are in host byte order: they never leave the machine.
 *
 * Blob layout: struct vstate_hdr, then per device (in the order given)
 * struct vstate_dev, its queues' struct vstate_queue, then, when the
 * function has MSI-X (msix_nr vectors), msix_len bytes of its MSI-X table
 * and pending bits as pci_msix_save() lays them out (msix.h: the table,
 * then the PBA, as the guest reads them from the BAR), which keeps the
 * next device 8-byte aligned.  Message Control (Enable, Function Mask) is
 * in the configuration header; the vectors the driver chose are in
 * vstate_dev.msix_config and vstate_queue.msix_vector.  The checksum is
 * 32-bit FNV-1a over the whole blob with the checksum field 0.
 *
 * Version 1 had no MSI-X (reserved fields where the vectors are now, no
 * table): a provider refuses it and resets the devices, as for any blob
 * it cannot trust.
 *
 * In-flight file layout: struct vstate_ifl_hdr, then per device and queue
 * a struct vq_inflight with room for the device's maximum queue size, its
 * owner field (devfn << 16 | queue).
 */
#ifndef VBRIDGE_VSTATE_H
#define VBRIDGE_VSTATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "virtio/virtio_pci.h"

#define VSTATE_MAGIC		0x53444256u	/* "VBDS" */
#define VSTATE_IFL_MAGIC	0x4c464956u	/* "VIFL" */
#define VSTATE_VERSION		2	/* of the blob and the in-flight file */

/**
 * struct vstate_hdr - head of a blob
 * @magic: VSTATE_MAGIC
 * @version: VSTATE_VERSION
 * @hdr_len: sizeof(struct vstate_hdr)
 * @len: bytes of the whole blob
 * @checksum: FNV-1a of the blob with this field 0
 * @generation: the VM (vbridge generation) the state belongs to
 * @cookie: the one of the in-flight file the queues record into, 0: none
 * @nr_devs: device entries that follow
 * @dev_len: sizeof(struct vstate_dev)
 * @queue_len: sizeof(struct vstate_queue)
 */
struct vstate_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t hdr_len;
	uint32_t len;
	uint32_t checksum;
	uint64_t generation;
	uint64_t cookie;
	uint32_t nr_devs;
	uint16_t dev_len;
	uint16_t queue_len;
};

/**
 * struct vstate_dev - one function
 * @devfn: where it is on the bus
 * @device_id: virtio device ID
 * @num_queues: struct vstate_queue entries that follow
 * @queue_max: its maximum queue size
 * @status: device status
 * @isr: ISR bits
 * @config_generation: configuration generation
 * @reserved0: 0
 * @queue_select: queue_select
 * @msix_config: msix_config (VIRTIO_MSI_NO_VECTOR: none, always without
 *	MSI-X)
 * @dfselect: device_feature_select
 * @gfselect: driver_feature_select
 * @guest_features: driver features
 * @msix_nr: MSI-X vectors of the function, 0 without MSI-X
 * @reserved1: 0
 * @msix_len: bytes of MSI-X state after the queues:
 *	PCI_MSIX_STATE_SIZE(@msix_nr), 0 without MSI-X
 * @cfg: configuration space, first 256 bytes
 */
struct vstate_dev {
	uint16_t devfn;
	uint16_t device_id;
	uint16_t num_queues;
	uint16_t queue_max;
	uint8_t status;
	uint8_t isr;
	uint8_t config_generation;
	uint8_t reserved0;
	uint16_t queue_select;
	uint16_t msix_config;
	uint32_t dfselect;
	uint32_t gfselect;
	uint64_t guest_features;
	uint16_t msix_nr;
	uint16_t reserved1;
	uint32_t msix_len;
	uint8_t cfg[PCI_LEGACY_CFG_SIZE];
};

/**
 * struct vstate_queue - one queue
 * @size: queue_size
 * @enabled: 0 or 1
 * @msix_vector: queue_msix_vector (VIRTIO_MSI_NO_VECTOR: none)
 * @reserved: 0
 * @desc: queue_desc
 * @driver: queue_driver
 * @device: queue_device
 */
struct vstate_queue {
	uint16_t size;
	uint16_t enabled;
	uint16_t msix_vector;
	uint16_t reserved;
	uint64_t desc;
	uint64_t driver;
	uint64_t device;
};

/**
 * struct vstate_ifl_hdr - head of an in-flight file
 * @magic: VSTATE_IFL_MAGIC
 * @version: VSTATE_VERSION
 * @hdr_len: sizeof(struct vstate_ifl_hdr)
 * @size: bytes of the whole file
 * @cookie: random, also in the blob of the same VM
 * @generation: the VM
 * @nr_queues: struct vq_inflight records that follow
 * @reserved: 0
 */
struct vstate_ifl_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t hdr_len;
	uint64_t size;
	uint64_t cookie;
	uint64_t generation;
	uint32_t nr_queues;
	uint32_t reserved;
};

/* Sum of the devices' state_seq: changes when a save is due. */
uint32_t vstate_seq(struct virtio_dev *const *devs, unsigned int n);

/*
 * Write the blob of devs (n devices) into buf (cap bytes).  Returns its
 * length, or -ENOSPC when cap is too small.
 */
ssize_t vstate_save(struct virtio_dev *const *devs, unsigned int n,
		    uint64_t generation, uint64_t cookie, void *buf, size_t cap);

/* Set the checksum of a blob of len bytes (vstate_save does). */
void vstate_seal(void *blob, size_t len);

/*
 * Whether blob (len bytes) is a state of devs for VM generation: 0, or
 * -ESTALE (of another VM, or empty) or -EINVAL (of another format
 * version, damaged, of other devices, another MSI-X vector count among
 * them, or a state these devices cannot have been in, such as a vector
 * they do not have or table bits a guest cannot set), with a message in
 * why.
 */
int vstate_check(struct virtio_dev *const *devs, unsigned int n,
		 const void *blob, size_t len, uint64_t generation, char *why,
		 size_t wlen);

/* The cookie of a checked blob. */
uint64_t vstate_cookie(const void *blob);

/* Bytes of the in-flight file of devs. */
size_t vstate_ifl_size(struct virtio_dev *const *devs, unsigned int n);

/*
 * Lay out fresh in-flight records in mem (len bytes, at least
 * vstate_ifl_size()) for VM generation and cookie, and let every queue of
 * devs record into them.  mem NULL: no records (queues stop recording).
 * Call while the devices are reset.  Returns 0, or -ENOSPC.
 */
int vstate_ifl_init(struct virtio_dev *const *devs, unsigned int n, void *mem,
		    size_t len, uint64_t generation, uint64_t cookie);

/*
 * Bring devs (started, not used yet) back to a checked blob: first the
 * in-flight records at mem (len bytes; NULL when there is no file) are
 * checked against the blob and attached; then every function's
 * configuration header, then its transport state (virtio_dev_restore()).
 * In-flight records that are missing or do not belong to the blob are
 * not used, with a message in why: the running devices then ask their
 * drivers for a reset.  A function's MSI-X table and PBA come back after
 * its header (so Message Control is back first) and before its transport
 * state, whose takeover sends what the restored state has pending and
 * unmasked.  Returns 0 when the records were used, -EINVAL
 * when not; *replayed (may be NULL) counts the requests the devices take
 * again.
 */
int vstate_restore(struct virtio_dev *const *devs, unsigned int n,
		   const void *blob, size_t len, void *mem, size_t mem_len,
		   unsigned int *replayed, char *why, size_t wlen);

/*
 * vstate_restore() with a policy for the requests the guest made before
 * (virtio_dev_takeover()): counts (n entries, may be NULL) gets per
 * device the requests it takes again (VIRTIO_RESUME_REPLAY) or failed
 * (VIRTIO_RESUME_FAIL).
 */
int vstate_takeover(struct virtio_dev *const *devs, unsigned int n,
		    const void *blob, size_t len, void *mem, size_t mem_len,
		    enum virtio_resume_policy policy, unsigned int *counts,
		    char *why, size_t wlen);

#endif
