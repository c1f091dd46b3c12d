/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Exit dispatch: a table of guest address ranges (one table for port I/O,
 * one for MMIO) and the handler of each.  A KVM_EXIT_IO or KVM_EXIT_MMIO is
 * looked up here; what no range claims reads as all-ones and ignores
 * writes, as an empty bus does.  Bridged windows (forwarded to
 * /dev/virtio-bridge) are just another range with another handler.
 *
 * Ranges are added before the vCPUs start and never change afterwards, so
 * lookups take no lock.  Handlers run on vCPU threads, several at once,
 * and do their own locking.
 */
#ifndef VBRIDGE_VMM_IOBUS_H
#define VBRIDGE_VMM_IOBUS_H

#include <stdbool.h>
#include <stdint.h>

#define IO_BUS_MAX_RANGES	32

/**
 * struct io_access - one guest load or store.
 * @addr: guest address (port number or guest-physical address)
 * @off: @addr minus the start of the range that claimed it
 * @len: 1, 2, 4 or 8 bytes
 * @write: store (true) or load
 * @val: value stored, or where the handler puts the value loaded
 *	(little-endian, low @len bytes)
 */
struct io_access {
	uint64_t addr;
	uint64_t off;
	unsigned int len;
	bool write;
	uint64_t val;
};

typedef void io_handler_fn(void *opaque, struct io_access *a);

struct io_range {
	uint64_t base;
	uint64_t len;
	io_handler_fn *fn;
	void *opaque;
	const char *name;
};

/**
 * struct io_bus - the ranges of one address space, sorted by base.
 * @name: "pio" or "mmio", for messages
 * @nr: ranges in use
 * @range: the ranges, non-overlapping, sorted
 */
struct io_bus {
	const char *name;
	unsigned int nr;
	struct io_range range[IO_BUS_MAX_RANGES];
};

void io_bus_init(struct io_bus *b, const char *name);

/*
 * Claim [base, base + len) for fn.  Returns 0, -EINVAL (empty, wrapping
 * or overlapping an existing range) or -ENOSPC (table full).
 */
int io_bus_add(struct io_bus *b, uint64_t base, uint64_t len,
	       io_handler_fn *fn, void *opaque, const char *name);

/* The range that wholly contains [addr, addr + len), or NULL. */
const struct io_range *io_bus_find(const struct io_bus *b, uint64_t addr,
				   unsigned int len);

/*
 * Dispatch an access.  Returns true when a range claimed it; false when
 * none did (a load then reads all-ones).
 */
bool io_bus_dispatch(const struct io_bus *b, struct io_access *a);

#endif
