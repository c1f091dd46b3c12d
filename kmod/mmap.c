// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-bridge: guest memory through the backend node, and its revocation.
 *
 * mmap() of a backend node at offset = guest-physical address maps the RAM
 * of the device's running VM.  Nothing is mapped at mmap() time: each page
 * faults in from the VM's memfd (shmem_read_mapping_page()) and is inserted
 * with vm_insert_page(), a refcounted mapping of a page-cache page.  The
 * fault handler holds dev->map_lock for reading and checks that the VM
 * generation the mapping was made for is still the one whose memory may be
 * mapped (dev->map_gen); revocation takes the lock for writing, clears
 * map_gen and zaps every PTE of the node's file with unmap_mapping_range().
 * After that, any access through an old mapping faults and gets SIGBUS:
 * neither a stopped VM nor the next VM of the same vmid can be reached
 * through it.  A device's mappings only ever see the VM its vmid runs, so a
 * backend cannot reach another VM's memory.
 *
 * Revocation happens at the VMSTOP timeout (with or without autoack) and
 * unconditionally when the VM is released.  It cannot abort I/O that pinned
 * pages before (get_user_pages on the mapping): acknowledging VMSTOP is the
 * backend's promise that it has none left.
 *
 * The VMM must not punch holes into a registered region while the VM runs:
 * a page already mapped through a backend node stays mapped there.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>

#include "compat.h"
#include "vbridge.h"

static vm_fault_t vbridge_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vbridge_dev *dev = vma->vm_file->private_data;
	unsigned long gen = (unsigned long)vma->vm_private_data;
	u64 gpa = (u64)vmf->pgoff << PAGE_SHIFT;
	struct address_space *mapping = NULL;
	struct vbridge_region *r;
	vm_fault_t ret = VM_FAULT_SIGBUS;
	struct vbridge_vm *vm;
	struct page *page;
	pgoff_t index = 0;
	unsigned int i;
	int err;

	down_read(&dev->map_lock);
	vm = dev->map_vm;
	if (!vm || !dev->map_gen || (unsigned long)dev->map_gen != gen)
		goto out;

	/* Regions are only removed after revocation, under map_lock. */
	spin_lock(&vm->region_lock);
	for (i = 0; i < vm->nr_regions; i++) {
		r = &vm->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size) {
			mapping = r->file->f_mapping;
			index = (r->fd_offset + (gpa - r->gpa)) >> PAGE_SHIFT;
			break;
		}
	}
	spin_unlock(&vm->region_lock);
	if (!mapping)
		goto out;

	page = shmem_read_mapping_page(mapping, index);
	if (IS_ERR(page)) {
		if (PTR_ERR(page) == -ENOMEM)
			ret = VM_FAULT_OOM;
		goto out;
	}
	/*
	 * The PTE is writable for a shared writable mapping whatever the
	 * fault; mark the page dirty now so that shmem keeps its contents,
	 * and zap_pte_range() propagates later dirtying at unmap.
	 */
	if (vma->vm_flags & VM_WRITE)
		set_page_dirty_lock(page);
	err = vm_insert_page(vma, vmf->address, page);
	put_page(page);
	if (!err || err == -EBUSY)
		ret = VM_FAULT_NOPAGE;
	else if (err == -ENOMEM)
		ret = VM_FAULT_OOM;
out:
	up_read(&dev->map_lock);
	return ret;
}

static const struct vm_operations_struct vbridge_vm_ops = {
	.fault = vbridge_vm_fault,
};

/**
 * vbridge_be_mmap() - mmap() of a backend node
 * @file: the backend file
 * @vma: the new mapping; offset is a guest-physical address
 *
 * Return: 0; -EINVAL for a private mapping or a range that is not inside
 * one registered region; -EPERM for an executable one; -ENXIO when the
 * device's VM is not running.
 */
int vbridge_be_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vbridge_dev *dev = file->private_data;
	u64 gpa, len, end;
	struct vbridge_region *r;
	struct vbridge_vm *vm;
	bool running, inside = false;
	unsigned int i;
	int ret;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	if (vma->vm_pgoff > (U64_MAX >> PAGE_SHIFT))
		return -EINVAL;
	gpa = (u64)vma->vm_pgoff << PAGE_SHIFT;
	len = vma->vm_end - vma->vm_start;
	if (check_add_overflow(gpa, len, &end))
		return -EINVAL;

	down_read(&dev->map_lock);
	ret = -ENXIO;
	vm = dev->map_vm;
	if (!vm || !dev->map_gen)
		goto out;
	spin_lock(&dev->lock);
	running = dev->run_state == VBRIDGE_RUN_RUNNING && dev->vm == vm;
	spin_unlock(&dev->lock);
	if (!running)
		goto out;

	ret = -EINVAL;
	spin_lock(&vm->region_lock);
	for (i = 0; i < vm->nr_regions; i++) {
		r = &vm->regions[i];
		if (gpa >= r->gpa && end <= r->gpa + r->size) {
			inside = true;
			break;
		}
	}
	spin_unlock(&vm->region_lock);
	if (!inside)
		goto out;

	vbridge_vm_flags_set(vma, VM_MIXEDMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vbridge_vm_flags_clear(vma, VM_MAYEXEC);
	vma->vm_private_data = (void *)(unsigned long)dev->map_gen;
	vma->vm_ops = &vbridge_vm_ops;
	ret = 0;
out:
	up_read(&dev->map_lock);
	return ret;
}

/* The device's mappings may now fault in @vm's memory. */
void vbridge_map_bind(struct vbridge_dev *dev, struct vbridge_vm *vm)
{
	down_write(&dev->map_lock);
	dev->map_vm = vm;
	dev->map_gen = vm->generation;
	up_write(&dev->map_lock);
}

/*
 * Revoke: no fault succeeds anymore, and every PTE already inserted is
 * zapped.  Waits for faults in progress (they hold map_lock for reading).
 */
void vbridge_map_revoke(struct vbridge_dev *dev)
{
	down_write(&dev->map_lock);
	dev->map_vm = NULL;
	dev->map_gen = 0;
	if (dev->be_file)
		unmap_mapping_range(dev->be_file->f_mapping, 0, 0, 1);
	up_write(&dev->map_lock);
}

/* The open backend file, whose address_space holds the mappings. */
void vbridge_map_set_file(struct vbridge_dev *dev, struct file *file)
{
	down_write(&dev->map_lock);
	dev->be_file = file;
	up_write(&dev->map_lock);
}
