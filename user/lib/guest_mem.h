/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's RAM as the host process sees it: a few regions, each a
 * guest-physical range mapped at a host address.  The VMM maps its memfd;
 * the device daemon maps the backend node (offset = guest-physical address).
 *
 * Every device-model access to guest memory goes through guest_mem_ptr(),
 * which refuses ranges that are not wholly inside one region.
 */
#ifndef VBRIDGE_GUEST_MEM_H
#define VBRIDGE_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 16

/*
 * A region's guest-physical and host addresses agree modulo this, so a ring
 * or descriptor that is aligned in guest-physical terms is aligned in host
 * memory too (16 is the largest alignment a virtio structure needs).
 */
#define GUEST_MEM_ALIGN 16

struct guest_mem_region {
	uint64_t gpa;		/* first guest-physical address */
	uint64_t size;		/* bytes */
	uint8_t *hva;		/* where it is mapped in this process */
	bool has_fd;		/* @fd and @fd_offset are set */
	int fd;			/* the file it maps (not owned) */
	uint64_t fd_offset;	/* where @gpa is in @fd */
};

struct guest_mem {
	unsigned int nr;
	struct guest_mem_region region[GUEST_MEM_MAX_REGIONS];
};

/*
 * Host pointer to [gpa, gpa + len), or NULL when that range is not wholly
 * inside one region (including on overflow of gpa + len).  len 0 is valid
 * when gpa lies inside a region.
 */
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/*
 * Add a region; returns 0, -ENOSPC (table full) or -EINVAL (overlap, 0 size,
 * or gpa and hva that disagree modulo GUEST_MEM_ALIGN).
 */
int guest_mem_add(struct guest_mem *m, uint64_t gpa, uint64_t size, void *hva);
/*
 * The same, for a region that maps fd (which the caller keeps open) at
 * offset: what an external back-end needs to map it too (vhost-user's
 * SET_MEM_TABLE).
 */
int guest_mem_add_fd(struct guest_mem *m, uint64_t gpa, uint64_t size,
		     void *hva, int fd, uint64_t offset);

#endif
