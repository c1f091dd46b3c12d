// SPDX-License-Identifier: GPL-2.0
#include "lib/guest_mem.h"

#include <errno.h>

void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < m->nr; i++) {
		const struct guest_mem_region *r = &m->region[i];
		uint64_t off;

		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		off = gpa - r->gpa;
		if (len > r->size - off)
			return NULL;
		return r->hva + off;
	}
	return NULL;
}

int guest_mem_add(struct guest_mem *m, uint64_t gpa, uint64_t size, void *hva)
{
	unsigned int i;

	if (!size || gpa + size < gpa ||
	    ((gpa ^ (uintptr_t)hva) & (GUEST_MEM_ALIGN - 1)))
		return -EINVAL;
	if (m->nr >= GUEST_MEM_MAX_REGIONS)
		return -ENOSPC;
	for (i = 0; i < m->nr; i++) {
		const struct guest_mem_region *r = &m->region[i];

		if (gpa < r->gpa + r->size && r->gpa < gpa + size)
			return -EINVAL;
	}
	m->region[m->nr] = (struct guest_mem_region){
		.gpa = gpa, .size = size, .hva = hva, .fd = -1,
	};
	m->nr++;
	return 0;
}

int guest_mem_add_fd(struct guest_mem *m, uint64_t gpa, uint64_t size,
		     void *hva, int fd, uint64_t offset)
{
	int ret;

	if (fd < 0)
		return -EINVAL;
	ret = guest_mem_add(m, gpa, size, hva);
	if (ret)
		return ret;
	m->region[m->nr - 1].has_fd = true;
	m->region[m->nr - 1].fd = fd;
	m->region[m->nr - 1].fd_offset = offset;
	return 0;
}
