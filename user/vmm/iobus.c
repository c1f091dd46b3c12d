// SPDX-License-Identifier: GPL-2.0
/* Address range table of the VMM's exit dispatch. */
#include "vmm/iobus.h"

#include <errno.h>
#include <string.h>

void io_bus_init(struct io_bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
}

int io_bus_add(struct io_bus *b, uint64_t base, uint64_t len,
	       io_handler_fn *fn, void *opaque, const char *name)
{
	unsigned int i, pos;

	if (!len || base + len - 1 < base || !fn)
		return -EINVAL;
	for (i = 0; i < b->nr; i++) {
		const struct io_range *r = &b->range[i];

		if (base <= r->base + r->len - 1 && r->base <= base + len - 1)
			return -EINVAL;
	}
	if (b->nr == IO_BUS_MAX_RANGES)
		return -ENOSPC;
	for (pos = 0; pos < b->nr && b->range[pos].base < base; pos++)
		;
	memmove(&b->range[pos + 1], &b->range[pos],
		(b->nr - pos) * sizeof(b->range[0]));
	b->range[pos] = (struct io_range){
		.base = base, .len = len, .fn = fn, .opaque = opaque,
		.name = name,
	};
	b->nr++;
	return 0;
}

const struct io_range *io_bus_find(const struct io_bus *b, uint64_t addr,
				   unsigned int len)
{
	unsigned int lo = 0, hi = b->nr;

	/* The last range starting at or below addr is the only candidate. */
	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (b->range[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	{
		const struct io_range *r = &b->range[lo - 1];
		uint64_t off = addr - r->base;

		if (off >= r->len || len > r->len - off)
			return NULL;
		return r;
	}
}

bool io_bus_dispatch(const struct io_bus *b, struct io_access *a)
{
	const struct io_range *r = io_bus_find(b, a->addr, a->len);

	if (!r) {
		if (!a->write)
			a->val = ~0ULL;
		return false;
	}
	a->off = a->addr - r->base;
	r->fn(r->opaque, a);
	return true;
}
