/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the device-model unit tests: a fake PCI host (guest RAM in a
 * malloc'ed buffer, INTx levels and doorbells recorded) and a small virtio
 * driver that talks to a function only through pci_bus_cfg_* and
 * pci_bus_mmio, as a guest does.
 */
#ifndef VBRIDGE_VTEST_H
#define VBRIDGE_VTEST_H

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "bridge/kick_gate.h"
#include "pci/msix.h"
#include "pci/pci_func.h"

#define VT_RAM_GPA	0x100000ull
#define VT_RAM_SIZE	(8ull << 20)
#define VT_MAX_DB	64

struct vt_doorbell {
	uint64_t gpa;
	unsigned int len;
	int efd;
};

struct vt_host {
	struct pci_host host;
	struct guest_mem mem;
	uint8_t *ram;
	uint64_t next;			/* bump allocator, gpa */
	int intx[256];			/* level per devfn */
	int intx_calls;
	int add_db_ret;			/* what add_doorbell returns */
	struct vt_doorbell db[VT_MAX_DB];
	int nr_db;
	int db_adds, db_dels;
	struct kick_gate *gate;		/* kick_defer asks it; NULL: never */
	int ram_fd;			/* vt_host_new_shared(): RAM's memfd */
};

static inline void vt_set_intx(struct pci_host *h, struct pci_func *f, int level)
{
	struct vt_host *vh = h->priv;

	__atomic_store_n(&vh->intx[pci_func_devfn(f)], level, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&vh->intx_calls, 1, __ATOMIC_SEQ_CST);
}

static inline int vt_add_db(struct pci_host *h, uint64_t gpa, unsigned int len,
			    int efd)
{
	struct vt_host *vh = h->priv;

	if (vh->add_db_ret)
		return vh->add_db_ret;
	if (vh->nr_db >= VT_MAX_DB)
		return -ENOSPC;
	vh->db[vh->nr_db].gpa = gpa;
	vh->db[vh->nr_db].len = len;
	vh->db[vh->nr_db].efd = efd;
	vh->nr_db++;
	vh->db_adds++;
	return 0;
}

static inline void vt_del_db(struct pci_host *h, uint64_t gpa, unsigned int len,
			     int efd)
{
	struct vt_host *vh = h->priv;
	int i;

	vh->db_dels++;
	for (i = 0; i < vh->nr_db; i++) {
		if (vh->db[i].gpa == gpa && vh->db[i].efd == efd) {
			vh->db[i] = vh->db[--vh->nr_db];
			return;
		}
	}
}

static inline bool vt_kick_defer(struct pci_host *h)
{
	struct vt_host *vh = h->priv;

	return vh->gate && kick_gate_defer(vh->gate);
}

static const struct pci_host_ops vt_host_ops = {
	.set_intx = vt_set_intx,
	.add_doorbell = vt_add_db,
	.del_doorbell = vt_del_db,
	.kick_defer = vt_kick_defer,
};

static inline void vt_host_init(struct vt_host *vh)
{
	vh->next = VT_RAM_GPA;
	vh->host.ops = &vt_host_ops;
	vh->host.mem = &vh->mem;
	vh->host.priv = vh;
}

static inline struct vt_host *vt_host_new(void)
{
	struct vt_host *vh = calloc(1, sizeof(*vh));

	vh->ram_fd = -1;
	vh->ram = calloc(1, VT_RAM_SIZE);
	guest_mem_add(&vh->mem, VT_RAM_GPA, VT_RAM_SIZE, vh->ram);
	vt_host_init(vh);
	return vh;
}

/*
 * Guest RAM in a memfd, as the VMM has it, so that another process (a
 * vhost-user back-end) can map it.  NULL when the memfd cannot be made.
 */
static inline struct vt_host *vt_host_new_shared(void)
{
	struct vt_host *vh = calloc(1, sizeof(*vh));

	vh->ram_fd = memfd_create("vt-ram", MFD_CLOEXEC);
	if (vh->ram_fd < 0 || ftruncate(vh->ram_fd, VT_RAM_SIZE))
		goto fail;
	vh->ram = mmap(NULL, VT_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vh->ram_fd, 0);
	if (vh->ram == MAP_FAILED)
		goto fail;
	guest_mem_add_fd(&vh->mem, VT_RAM_GPA, VT_RAM_SIZE, vh->ram, vh->ram_fd, 0);
	vt_host_init(vh);
	return vh;
fail:
	if (vh->ram_fd >= 0)
		close(vh->ram_fd);
	free(vh);
	return NULL;
}

static inline void vt_host_free(struct vt_host *vh)
{
	if (vh->ram_fd >= 0) {
		munmap(vh->ram, VT_RAM_SIZE);
		close(vh->ram_fd);
	} else {
		free(vh->ram);
	}
	free(vh);
}

/* Allocate guest RAM (zeroed), aligned to align. */
static inline uint64_t vt_alloc(struct vt_host *vh, uint64_t size, uint64_t align)
{
	uint64_t gpa = (vh->next + align - 1) & ~(align - 1);

	vh->next = gpa + size;
	if (vh->next > VT_RAM_GPA + VT_RAM_SIZE)
		abort();
	memset(vh->ram + (gpa - VT_RAM_GPA), 0, size);
	return gpa;
}

static inline void *vt_ptr(struct vt_host *vh, uint64_t gpa)
{
	return vh->ram + (gpa - VT_RAM_GPA);
}

static inline int vt_intx(struct vt_host *vh, unsigned int devfn)
{
	return __atomic_load_n(&vh->intx[devfn], __ATOMIC_SEQ_CST);
}

/* --- a virtio-pci driver ------------------------------------------------- */

struct vt_queue {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t avail_idx;		/* next avail index to publish */
	uint16_t last_used;		/* next used entry to consume */
	uint16_t next_desc;		/* round-robin descriptor allocator */
};

struct vt_dev {
	struct vt_host *vh;
	struct pci_bus *bus;
	unsigned int devfn;
	uint64_t bar;
	uint32_t common, isr, device, notify, notify_mult, pcfg;
	uint32_t device_len;
	struct vt_queue q[8];
};

static inline uint64_t vt_rd(struct vt_dev *d, uint64_t off, unsigned int len)
{
	uint64_t v = 0;

	if (!pci_bus_mmio(d->bus, d->bar + off, len, false, &v))
		return ~0ull;
	return v;
}

static inline void vt_wr(struct vt_dev *d, uint64_t off, unsigned int len,
			 uint64_t v)
{
	pci_bus_mmio(d->bus, d->bar + off, len, true, &v);
}

static inline uint32_t vt_cfg(struct vt_dev *d, unsigned int reg, unsigned int len)
{
	return pci_bus_cfg_read(d->bus, d->devfn, reg, len);
}

static inline void vt_cfgw(struct vt_dev *d, unsigned int reg, unsigned int len,
			   uint32_t v)
{
	pci_bus_cfg_write(d->bus, d->devfn, reg, len, v);
}

/*
 * Place BAR 0 at bar, enable memory decoding and find the virtio
 * capabilities.  Returns 0, or -1 if a required one is missing.
 */
static inline int vt_probe(struct vt_dev *d, struct vt_host *vh,
			   struct pci_bus *bus, unsigned int devfn, uint64_t bar)
{
	unsigned int cap;
	int guard = 0;

	memset(d, 0, sizeof(*d));
	d->vh = vh;
	d->bus = bus;
	d->devfn = devfn;
	d->bar = bar;
	vt_cfgw(d, PCI_BASE_ADDRESS_0, 4, (uint32_t)bar);
	vt_cfgw(d, PCI_BASE_ADDRESS_0 + 4, 4, bar >> 32);
	vt_cfgw(d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	d->common = d->isr = d->device = d->notify = ~0u;
	for (cap = vt_cfg(d, PCI_CAPABILITY_LIST, 1); cap && guard < 48;
	     cap = vt_cfg(d, cap + 1, 1), guard++) {
		unsigned int type = vt_cfg(d, cap + 3, 1);
		uint32_t off = vt_cfg(d, cap + 8, 4);

		if (vt_cfg(d, cap, 1) != PCI_CAP_ID_VNDR)
			continue;
		if (type == VIRTIO_PCI_CAP_COMMON_CFG)
			d->common = off;
		else if (type == VIRTIO_PCI_CAP_ISR_CFG)
			d->isr = off;
		else if (type == VIRTIO_PCI_CAP_DEVICE_CFG) {
			d->device = off;
			d->device_len = vt_cfg(d, cap + 12, 4);
		} else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
			d->notify = off;
			d->notify_mult = vt_cfg(d, cap + 16, 4);
		} else if (type == VIRTIO_PCI_CAP_PCI_CFG)
			d->pcfg = cap;
	}
	return d->common == ~0u || d->isr == ~0u || d->notify == ~0u ? -1 : 0;
}

static inline uint8_t vt_status(struct vt_dev *d)
{
	return vt_rd(d, d->common + VIRTIO_PCI_COMMON_STATUS, 1);
}

/*
 * Write device_status.  After a reset (0) wait, as a driver must, until it
 * reads 0 (failure guard of 10 s: the reset completes on a thread of the
 * device).
 */
static inline void vt_set_status(struct vt_dev *d, uint8_t s)
{
	int i;

	vt_wr(d, d->common + VIRTIO_PCI_COMMON_STATUS, 1, s);
	for (i = 0; !s && i < 10000 &&
	     vt_rd(d, d->common + VIRTIO_PCI_COMMON_STATUS, 1); i++) {
		struct timespec ts = { 0, 1000000L };

		nanosleep(&ts, NULL);
	}
}

static inline uint64_t vt_device_features(struct vt_dev *d)
{
	uint64_t f;

	vt_wr(d, d->common + VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	f = vt_rd(d, d->common + VIRTIO_PCI_COMMON_DF, 4);
	vt_wr(d, d->common + VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	f |= vt_rd(d, d->common + VIRTIO_PCI_COMMON_DF, 4) << 32;
	return f;
}

/*
 * Reset, ACKNOWLEDGE, DRIVER, write features, FEATURES_OK.  Returns the
 * status read back (FEATURES_OK set when the device accepted).
 */
static inline uint8_t vt_negotiate(struct vt_dev *d, uint64_t features)
{
	vt_set_status(d, 0);
	vt_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vt_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vt_wr(d, d->common + VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	vt_wr(d, d->common + VIRTIO_PCI_COMMON_GF, 4, (uint32_t)features);
	vt_wr(d, d->common + VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	vt_wr(d, d->common + VIRTIO_PCI_COMMON_GF, 4, features >> 32);
	vt_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			 VIRTIO_CONFIG_S_FEATURES_OK);
	return vt_status(d);
}

/* Rings for queue qi of size (0: the device's maximum); enable it. */
static inline int vt_queue_setup(struct vt_dev *d, unsigned int qi,
				 uint16_t size)
{
	struct vt_queue *q = &d->q[qi];
	uint64_t c = d->common;

	vt_wr(d, c + VIRTIO_PCI_COMMON_Q_SELECT, 2, qi);
	if (!size)
		size = vt_rd(d, c + VIRTIO_PCI_COMMON_Q_SIZE, 2);
	if (!size)
		return -1;
	memset(q, 0, sizeof(*q));
	q->size = size;
	q->desc = vt_alloc(d->vh, 16ull * size, 16);
	q->avail = vt_alloc(d->vh, 6 + 2ull * size, 2);
	q->used = vt_alloc(d->vh, 6 + 8ull * size, 4);
	vt_wr(d, c + VIRTIO_PCI_COMMON_Q_SIZE, 2, size);
	vt_wr(d, c + VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)q->desc);
	vt_wr(d, c + VIRTIO_PCI_COMMON_Q_DESCHI, 4, q->desc >> 32);
	vt_wr(d, c + VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)q->avail);
	vt_wr(d, c + VIRTIO_PCI_COMMON_Q_AVAILHI, 4, q->avail >> 32);
	vt_wr(d, c + VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)q->used);
	vt_wr(d, c + VIRTIO_PCI_COMMON_Q_USEDHI, 4, q->used >> 32);
	vt_wr(d, c + VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	return 0;
}

static inline void vt_driver_ok(struct vt_dev *d)
{
	vt_set_status(d, vt_status(d) | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* Full bring-up with the standard transport features.  Returns 0 or -1. */
static inline int vt_bringup(struct vt_dev *d, uint64_t extra_features,
			     unsigned int nq)
{
	uint64_t f = (1ull << VIRTIO_F_VERSION_1) |
		     (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
		     (1ull << VIRTIO_RING_F_EVENT_IDX) | extra_features;
	unsigned int i;

	if (!(vt_negotiate(d, f) & VIRTIO_CONFIG_S_FEATURES_OK))
		return -1;
	for (i = 0; i < nq; i++)
		if (vt_queue_setup(d, i, 0))
			return -1;
	vt_driver_ok(d);
	return 0;
}

struct vt_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Make a chain of n segments available; returns its head. */
static inline uint16_t vt_add(struct vt_dev *d, unsigned int qi,
			      const struct vt_seg *seg, unsigned int n)
{
	struct vt_queue *q = &d->q[qi];
	struct vring_desc *desc = vt_ptr(d->vh, q->desc);
	struct vring_avail *avail = vt_ptr(d->vh, q->avail);
	uint16_t head = q->next_desc % q->size;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint16_t idx = (head + i) % q->size;

		desc[idx].addr = htole64(seg[i].gpa);
		desc[idx].len = htole32(seg[i].len);
		desc[idx].flags = htole16((seg[i].write ? VRING_DESC_F_WRITE : 0) |
					  (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		desc[idx].next = htole16((idx + 1) % q->size);
	}
	q->next_desc = (head + n) % q->size;
	avail->ring[q->avail_idx % q->size] = htole16(head);
	__atomic_store_n(&avail->idx, htole16(++q->avail_idx), __ATOMIC_RELEASE);
	return head;
}

static inline void vt_kick(struct vt_dev *d, unsigned int qi)
{
	vt_wr(d, d->notify + (uint64_t)qi * d->notify_mult, 2, qi);
}

static inline void vt_msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Wait (up to 10 s: a failure guard, not a timing assertion) for the next
 * used entry of queue qi.  Returns 1 with *id and *len set, or 0 on timeout.
 */
static inline int vt_wait_used(struct vt_dev *d, unsigned int qi, uint32_t *id,
			       uint32_t *len)
{
	struct vt_queue *q = &d->q[qi];
	struct vring_used *used = vt_ptr(d->vh, q->used);
	int i;

	for (i = 0; i < 10000; i++) {
		uint16_t idx = le16toh(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE));

		if (idx != q->last_used) {
			struct vring_used_elem *e = &used->ring[q->last_used % q->size];

			if (id)
				*id = le32toh(e->id);
			if (len)
				*len = le32toh(e->len);
			q->last_used++;
			return 1;
		}
		vt_msleep(1);
	}
	return 0;
}

/* Number of used entries not yet consumed (no waiting). */
static inline unsigned int vt_used_pending(struct vt_dev *d, unsigned int qi)
{
	struct vt_queue *q = &d->q[qi];
	struct vring_used *used = vt_ptr(d->vh, q->used);

	return (uint16_t)(le16toh(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE)) -
			  q->last_used);
}

/* Wait (failure guard of 10 s) until cond(arg) holds. */
static inline bool vt_wait_for(bool (*cond)(void *), void *arg)
{
	int i;

	for (i = 0; i < 10000; i++) {
		if (cond(arg))
			return true;
		vt_msleep(1);
	}
	return false;
}

static inline bool vt_needs_reset_cond(void *arg)
{
	return vt_status(arg) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* The function's INTx line is up (its ISR has a bit). */
static inline bool vt_intx_cond(void *arg)
{
	struct vt_dev *d = arg;

	return vt_intx(d->vh, d->devfn);
}

/*
 * The ISR bits read (each read clears them) until one of want is among
 * them or 10 s passed.  An interrupt raised for earlier work may come
 * first; it is taken and the wait goes on.
 */
static inline uint8_t vt_wait_isr(struct vt_dev *d, uint8_t want)
{
	uint8_t seen = 0;
	int i;

	for (i = 0; i < 10000 && !(seen & want); i++) {
		if (vt_intx(d->vh, d->devfn))
			seen |= vt_rd(d, d->isr, 1);
		else
			vt_msleep(1);
	}
	return seen;
}

/*
 * The MSI-X table and PBA of nr vectors as a guest reads them, 4 bytes at
 * a time, from a BAR at bar (the table at table_off, the PBA at pba_off):
 * pci_msix_save()'s layout, PCI_MSIX_STATE_SIZE(nr) bytes into buf.
 */
static inline void vt_msix_image(struct pci_bus *bus, uint64_t bar,
				 uint64_t table_off, uint64_t pba_off,
				 unsigned int nr, uint8_t *buf)
{
	size_t i, t = PCI_MSIX_TABLE_SIZE(nr);
	uint64_t v;

	for (i = 0; i < PCI_MSIX_STATE_SIZE(nr); i += 4) {
		v = 0;
		pci_bus_mmio(bus, bar + (i < t ? table_off + i : pba_off + i - t),
			     4, false, &v);
		buf[i] = v;
		buf[i + 1] = v >> 8;
		buf[i + 2] = v >> 16;
		buf[i + 3] = v >> 24;
	}
}

/* A test point that could not run here: TAP SKIP with the reason. */
#define VT_SKIP(...)							\
	do {								\
		printf("ok %d - # SKIP ", ++tap_count);			\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		fflush(stdout);						\
	} while (0)

#endif
