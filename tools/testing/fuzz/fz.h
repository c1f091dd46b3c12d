/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the libFuzzer harnesses share (tools/testing/fuzz/fz.c):
 *
 *  - struct fz, the input as a stream of little-endian numbers: reading
 *    past its end gives zeros, so a short input is still a whole one;
 *  - a host (struct fz_host): guest RAM in two adjacent regions, each its
 *    own allocation of exactly its size (so AddressSanitizer sees a
 *    device that reads or writes past a region), INTx levels and
 *    doorbells recorded;
 *  - a virtio-pci driver (struct fz_dev) that reaches the device only
 *    through the bus (pci_bus_cfg_*, pci_bus_mmio) as a guest does, and an
 *    interpreter of driver operations read from the input (fz_dev_run):
 *    guest RAM writes, descriptor chains (direct and indirect), raw ring
 *    entries, kicks, loads and stores anywhere in the BAR or in config
 *    space, feature renegotiation, device pause and reset, and a
 *    device-specific host operation (a frame on the tap, console input,
 *    a vsock host connection ...);
 *  - fz_poll(): the device's I/O loop is never started; after every
 *    operation, once a driver's reset in progress has completed on its
 *    thread (virtio_dev_wait_reset), its ready events are dispatched on
 *    the calling thread (vloop_poll), so an input always runs the same
 *    way, and a loop that never becomes idle (a source that stays ready:
 *    the thread would spin) aborts.
 *
 * Numbers the input gives for a setting are XORed with a sensible default,
 * so that zeros (and a short input) mean the common case.
 */
#ifndef VBRIDGE_FUZZ_FZ_H
#define VBRIDGE_FUZZ_FZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pci/pci.h"
#include "virtio/virtio_pci.h"

/* libFuzzer's entry points. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* --- the input ------------------------------------------------------------ */

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t v = fz_u8(f);

	return v | (uint16_t)fz_u8(f) << 8;
}

static inline uint32_t fz_u32(struct fz *f)
{
	uint32_t v = fz_u16(f);

	return v | (uint32_t)fz_u16(f) << 16;
}

static inline uint64_t fz_u64(struct fz *f)
{
	uint64_t v = fz_u32(f);

	return v | (uint64_t)fz_u32(f) << 32;
}

/* Copy up to len bytes (zeros past the end); returns the bytes taken. */
size_t fz_bytes(struct fz *f, void *dst, size_t len);

/* An access length: mostly 1, 2, 4 or 8, sometimes anything up to 15. */
unsigned int fz_len(struct fz *f);

/* A pointer to the next len bytes, or NULL when fewer are left. */
const uint8_t *fz_take(struct fz *f, size_t len);

/* Fail the run: a harness oracle found the device misbehaving. */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * A temporary directory for this process, in $TMPDIR when its path is at
 * most 60 characters long, else in /tmp; removed at a normal exit (a
 * crash leaves it for the post-mortem).
 */
const char *fz_tmpdir(void);

/* --- guest RAM and the host ------------------------------------------------ */

#define FZ_RAM_A	0x100000ull	/* rings and buffers */
#define FZ_RAM_A_SIZE	0x10000ull
#define FZ_RAM_B	(FZ_RAM_A + FZ_RAM_A_SIZE)	/* adjacent: split buffers */
#define FZ_RAM_B_SIZE	0x4000ull
#define FZ_RAM_END	(FZ_RAM_B + FZ_RAM_B_SIZE)
#define FZ_RAM_SIZE	(FZ_RAM_END - FZ_RAM_A)
#define FZ_DATA		(FZ_RAM_A + 0x8000)	/* where chains' buffers go */
#define FZ_BAR		0xc0000000ull		/* BAR 0 of the function */

struct fz_host {
	struct pci_host host;
	struct guest_mem mem;
	uint8_t *ram_a, *ram_b;
	int intx;		/* last level set */
	int add_db_ret;		/* what add_doorbell answers */
	unsigned int nr_db;	/* doorbells registered */
	unsigned int nr_msi;	/* MSIs sent */
	struct pci_func *func;	/* whose doorbells these are (NULL: any) */
};

/* The host, guest RAM zeroed; one per process, reset for every input. */
struct fz_host *fz_host_reset(int add_db_ret);
/* From now on the host takes MSIs (its functions may get MSI-X). */
void fz_host_msi(struct fz_host *h);

/* Host pointer to guest RAM at gpa (which must be inside one region). */
void *fz_ram(uint64_t gpa);

/* Write len bytes at gpa, clipped to guest RAM. */
void fz_ram_write(uint64_t gpa, const void *src, size_t len);

/* --- the driver ----------------------------------------------------------- */

/*
 * Rings of queues 0-3 from FZ_RAM_A (0x2000 apart, below FZ_DATA); a
 * fifth (virtio-net's control queue behind two pairs) at the end of
 * FZ_RAM_B.
 */
#define FZ_MAX_QUEUES	5

struct fz_queue {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t avail_idx;	/* next avail index to publish */
	uint16_t next_desc;	/* round-robin descriptor allocator */
	uint64_t next_ind;	/* where the next indirect table goes */
};

struct fz_dev;

/*
 * The device-specific side of a harness: host_op() runs one host-side
 * operation read from the input (may be NULL).
 */
struct fz_dev_ops {
	void (*host_op)(struct fz_dev *d, struct fz *f);
};

struct fz_dev {
	struct fz_host *h;
	struct pci_bus *bus;
	struct virtio_dev *vd;
	unsigned int devfn;
	unsigned int nq;
	const struct fz_dev_ops *ops;
	void *priv;
	struct fz_queue q[FZ_MAX_QUEUES];
};

/*
 * Put vd on a new bus of host h at devfn, BAR 0 at FZ_BAR, memory
 * decoding on.  vd belongs to the bus from then on (fz_dev_free frees it).
 */
void fz_dev_init(struct fz_dev *d, struct fz_host *h, struct virtio_dev *vd,
		 unsigned int devfn, const struct fz_dev_ops *ops, void *priv);
void fz_dev_free(struct fz_dev *d);

/*
 * As a driver probing the device: BAR 0 assigned and memory decoding on
 * again (the input may have undone them, as the PCI core would not let a
 * driver see), reset and wait for device_status 0, negotiate features,
 * set up every queue and set DRIVER_OK, all read from the input (zeros:
 * every feature the device offers, every queue at its maximum size with
 * rings at the usual places).
 */
void fz_dev_bringup(struct fz_dev *d, struct fz *f);

/* Run driver operations from the input until it ends. */
void fz_dev_run(struct fz_dev *d, struct fz *f);

/*
 * Publish a chain on queue q: n segments (gpa, len, write), laid out from
 * the queue's descriptor allocator, or through an indirect table when
 * indirect.  Returns its head.
 */
struct fz_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};
uint16_t fz_chain(struct fz_dev *d, unsigned int q, const struct fz_seg *seg,
		  unsigned int n, bool indirect);

/* Store to the notify address of queue q, then run the loop. */
void fz_kick(struct fz_dev *d, unsigned int q);

/* Loads and stores in BAR 0 through the bus. */
uint64_t fz_rd(struct fz_dev *d, uint64_t off, unsigned int len);
void fz_wr(struct fz_dev *d, uint64_t off, unsigned int len, uint64_t val);

/* Run the device's I/O loop until idle (aborts if it never is). */
void fz_poll(struct virtio_dev *vd);

#endif
