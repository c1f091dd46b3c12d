/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-bridge: every difference between the kernels the module supports
 * (Debian bookworm's 6.1 and 6.12, and later ones) lives here, so that the
 * rest of the module is written against one API.
 *
 * checkpatch.pl warns about every LINUX_VERSION_CODE test below ("should be
 * avoided", "constant on the right side"): this header is the one place
 * where an out-of-tree module has to test it, and the comparisons are
 * written the way the kernel's own compat code writes them.
 */
#ifndef VBRIDGE_COMPAT_H
#define VBRIDGE_COMPAT_H

#include <linux/version.h>
#include <linux/device.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/mm.h>

/*
 * struct class became const-correct and module-independent in 6.4:
 * class_register() takes a const class, which has no owner anymore.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define VBRIDGE_CLASS_CONST	const
#define VBRIDGE_CLASS_INIT(n)	{ .name = (n) }
#else
#define VBRIDGE_CLASS_CONST
#define VBRIDGE_CLASS_INIT(n)	{ .name = (n), .owner = THIS_MODULE }
#endif

/*
 * The devnode callbacks of struct class and struct device_type take a
 * const struct device since 6.2.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define VBRIDGE_DEVNODE_CONST const
#else
#define VBRIDGE_DEVNODE_CONST
#endif

/* eventfd_signal() lost its count argument in 6.8 (it always added 1). */
static inline void vbridge_eventfd_signal(struct eventfd_ctx *ctx)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

/*
 * vma->vm_flags became read-only in 6.3; writers use vm_flags_set() and
 * vm_flags_clear(), which also take care of the per-VMA lock.
 */
static inline void vbridge_vm_flags_set(struct vm_area_struct *vma,
					unsigned long flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

static inline void vbridge_vm_flags_clear(struct vm_area_struct *vma,
					  unsigned long flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

/*
 * receive_fd() installs a new reference to @file in the caller's file
 * table after the LSM's file_receive check and returns the fd.  6.10 added
 * a user pointer that it writes the fd to; with NULL it writes nothing,
 * as 6.1's version (whose __receive_fd() taking one is not exported).
 */
static inline int vbridge_receive_fd(struct file *file, unsigned int o_flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
	return receive_fd(file, NULL, o_flags);
#else
	return receive_fd(file, o_flags);
#endif
}

#endif /* VBRIDGE_COMPAT_H */
