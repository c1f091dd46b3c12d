// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-bridge: guest memory through the backend node, and its revocation.
 *
 * mmap() of a backend node at offset = guest-physical address maps the RAM
 * of the device's running VM, one registered region per mapping.  The
 * mapping is made a mapping of the region's memfd, though not through the
 * memfd itself: each mmap() creates a file of the memfd's inode with
 * operations of its own (struct vbridge_mapping as its private data), so
 * its f_mapping is the memfd's page cache, and the VMA is switched to it.
 * So the VMA sits in the memfd's reverse map like the VMM's own mapping:
 * truncation and hole punching (a balloon giving pages back), reclaim,
 * migration and memory-failure handling find and unmap its page table
 * entries.  Those operations have no mmap or fallocate, so nothing that
 * acts on the file behind a VMA (remap_file_pages(), MADV_REMOVE) can
 * reach the memfd around the checks below.  It holds the backend file, so
 * every mapping keeps the node open.
 *
 * Nothing is mapped at mmap() time: each page faults in from the memfd
 * (shmem_read_mapping_page()) and is inserted with vm_insert_page() while
 * the fault holds dev->map_lock for reading and the page lock, after
 * checking that the VM generation the mapping was made for is still the
 * one whose memory may be mapped (dev->map_gen).  Revocation takes the
 * lock for writing, clears map_gen and zaps the page table entries of the
 * VM's regions with unmap_mapping_range() (the VMM's own entries go too and
 * fault in again).  After that, any access through an old mapping faults
 * and gets SIGBUS: neither a stopped VM nor the next VM of the same vmid
 * can be reached through it, even when the VMM registers the same memfd
 * again.  A device's mappings only ever see the VM its vmid runs, so a
 * backend cannot reach another VM's memory.
 *
 * Revocation happens at the VMSTOP timeout (with or without autoack) and
 * unconditionally when the VM is released.  It cannot abort I/O that pinned
 * pages before (get_user_pages on the mapping): acknowledging VMSTOP is the
 * backend's promise that it has none left.  A revoked mapping that is not
 * unmapped keeps the memfd (and the memory in it) until it is.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>

#include "compat.h"
#include "vbridge.h"

/**
 * struct vbridge_mapping - one mmap() of guest RAM through a backend node
 * @be_file: the backend file (a reference): keeps the node open and the
 *	     device alive for as long as the mapping exists
 * @memfd: the region's memfd (a reference), whose page cache the mapping's
 *	   file shares
 * @gen: the VM generation the mapping was made in
 * @first: first page of @memfd the mapping may reach
 * @last: last page of @memfd the mapping may reach
 *
 * The private data of the mapping's file; immutable.  VMAs split or
 * copied from the mapping hold the file too, so it lives until the last
 * of them is unmapped.
 */
struct vbridge_mapping {
	struct file *be_file;
	struct file *memfd;
	u64 gen;
	pgoff_t first;
	pgoff_t last;
};

static int vbridge_mapping_release(struct inode *inode, struct file *file)
{
	struct vbridge_mapping *m = file->private_data;
	struct vbridge_dev *dev = m->be_file->private_data;

	atomic_dec(&dev->nr_maps);
	fput(m->memfd);
	fput(m->be_file);
	kfree(m);
	return 0;
}

/* No mmap, no fallocate: the file only carries the VMAs. */
static const struct file_operations vbridge_mapping_fops = {
	.owner = THIS_MODULE,
	.release = vbridge_mapping_release,
	.llseek = noop_llseek,
};

static vm_fault_t vbridge_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vbridge_mapping *m = vma->vm_file->private_data;
	struct address_space *mapping = vma->vm_file->f_mapping;
	struct vbridge_dev *dev = m->be_file->private_data;
	vm_fault_t ret = VM_FAULT_SIGBUS;
	struct folio *folio;
	struct page *page;
	int err;

	/* The VMA cannot grow, but it costs nothing to be sure. */
	if (vmf->pgoff < m->first || vmf->pgoff > m->last)
		return VM_FAULT_SIGBUS;

	down_read(&dev->map_lock);
	if (!dev->map_gen || dev->map_gen != m->gen)
		goto out;

	page = shmem_read_mapping_page(mapping, vmf->pgoff);
	if (IS_ERR(page)) {
		if (PTR_ERR(page) == -ENOMEM)
			ret = VM_FAULT_OOM;
		goto out;
	}
	/*
	 * Under the page lock, as a filesystem's fault maps a page: either
	 * the page is still in the memfd and a later truncation finds our
	 * entry through the reverse map, or it was truncated (a hole was
	 * punched) before we got the lock and the access faults again.
	 */
	folio = page_folio(page);
	folio_lock(folio);
	ret = VM_FAULT_NOPAGE;
	if (folio->mapping != mapping)
		goto unlock;
	/*
	 * The PTE is writable for a shared writable mapping whatever the
	 * fault; mark the page dirty now so that shmem keeps its contents,
	 * and zap_pte_range() propagates later dirtying at unmap.
	 */
	if (vma->vm_flags & VM_WRITE)
		folio_mark_dirty(folio);
	err = vm_insert_page(vma, vmf->address, page);
	if (err == -ENOMEM)
		ret = VM_FAULT_OOM;
	else if (err && err != -EBUSY)
		ret = VM_FAULT_SIGBUS;
unlock:
	folio_unlock(folio);
	put_page(page);
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
 * device's VM is not running; -ENOMEM.
 */
int vbridge_be_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vbridge_dev *dev = file->private_data;
	struct vbridge_region *r = NULL;
	struct vbridge_mapping *m;
	struct file *map_file;
	u64 gpa, len, end;
	struct file *memfd = NULL;
	struct vbridge_vm *vm;
	pgoff_t first = 0;
	unsigned int i;
	bool running;
	int ret;

	/*
	 * MAP_SHARED only: a private mapping would copy guest pages on write.
	 * VM_MAYSHARE, not VM_SHARED: a node opened read-only gets a shared
	 * read-only mapping (mmap clears VM_SHARED and VM_MAYWRITE for it).
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	if (vma->vm_pgoff > (U64_MAX >> PAGE_SHIFT))
		return -EINVAL;
	gpa = (u64)vma->vm_pgoff << PAGE_SHIFT;
	len = vma->vm_end - vma->vm_start;
	if (check_add_overflow(gpa, len, &end))
		return -EINVAL;

	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return -ENOMEM;

	down_read(&dev->map_lock);
	ret = -ENXIO;
	vm = dev->map_vm;
	if (!vm || !dev->map_gen)
		goto err_unlock;
	spin_lock(&dev->lock);
	running = dev->run_state == VBRIDGE_RUN_RUNNING && dev->vm == vm;
	spin_unlock(&dev->lock);
	if (!running)
		goto err_unlock;

	/* Regions are only removed after revocation, under map_lock. */
	ret = -EINVAL;
	spin_lock(&vm->region_lock);
	for (i = 0; i < vm->nr_regions; i++) {
		if (gpa >= vm->regions[i].gpa &&
		    end <= vm->regions[i].gpa + vm->regions[i].size) {
			r = &vm->regions[i];
			break;
		}
	}
	if (r) {
		memfd = r->file;
		first = (r->fd_offset + (gpa - r->gpa)) >> PAGE_SHIFT;
	}
	spin_unlock(&vm->region_lock);
	if (!r)
		goto err_unlock;

	m->be_file = get_file(file);
	m->memfd = get_file(memfd);
	m->gen = dev->map_gen;
	m->first = first;
	m->last = first + (len >> PAGE_SHIFT) - 1;
	/*
	 * A file of the memfd's own inode: its f_mapping is the memfd's page
	 * cache, and what the kernel reads of a shmem file's inode (the
	 * seals, which do_mmap() checks since 6.1.1xx) is the memfd's.  An
	 * anon inode with a borrowed f_mapping looked like a shmem file
	 * whose inode is not one.
	 */
	ihold(file_inode(memfd));
	__module_get(THIS_MODULE);	/* the file's fops_put() drops it */
	map_file = alloc_file_pseudo(file_inode(memfd), memfd->f_path.mnt,
				     "[virtio-bridge-ram]", O_RDWR,
				     &vbridge_mapping_fops);
	if (IS_ERR(map_file)) {
		module_put(THIS_MODULE);
		iput(file_inode(memfd));
		ret = PTR_ERR(map_file);
		fput(m->memfd);
		fput(m->be_file);
		goto err_unlock;
	}
	/* From here on, the file's release frees m. */
	map_file->private_data = m;
	/* Counted under map_lock: revocation sees every mapping made. */
	atomic_inc(&dev->nr_maps);
	up_read(&dev->map_lock);

	/*
	 * VM_DONTCOPY: a child the provider forks does not inherit guest RAM.
	 * The mapping holds the node open, so an inherited one would keep the
	 * node open behind the provider's back, and its close would no longer
	 * acknowledge VMSTOP.
	 */
	vbridge_vm_flags_set(vma, VM_MIXEDMAP | VM_DONTEXPAND | VM_DONTDUMP |
			     VM_DONTCOPY);
	vbridge_vm_flags_clear(vma, VM_MAYEXEC);
	vma_set_file(vma, map_file);
	fput(map_file);		/* the VMA holds its own reference */
	vma->vm_pgoff = first;
	vma->vm_ops = &vbridge_vm_ops;
	return 0;

err_unlock:
	up_read(&dev->map_lock);
	kfree(m);
	return ret;
}

/**
 * struct vbridge_mem_file - a file of VBRIDGE_BE_MEM_FD
 * @be_file: the backend file (a reference)
 * @gpa: the guest-physical address of offset 0
 * @size: bytes it covers
 *
 * The private data of the file; immutable.
 */
struct vbridge_mem_file {
	struct file *be_file;
	u64 gpa;
	u64 size;
};

static int vbridge_mem_file_release(struct inode *inode, struct file *file)
{
	struct vbridge_mem_file *mf = file->private_data;

	fput(mf->be_file);
	kfree(mf);
	return 0;
}

/* The node's mmap() at @gpa + offset; the VMA leaves this file for good. */
static int vbridge_mem_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vbridge_mem_file *mf = file->private_data;
	u64 off, len = vma->vm_end - vma->vm_start;

	if (vma->vm_pgoff > (U64_MAX >> PAGE_SHIFT))
		return -EINVAL;
	off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	if (off >= mf->size || len > mf->size - off)
		return -EINVAL;
	vma->vm_pgoff = (mf->gpa + off) >> PAGE_SHIFT;
	return vbridge_be_mmap(mf->be_file, vma);
}

static const struct file_operations vbridge_mem_file_fops = {
	.owner = THIS_MODULE,
	.release = vbridge_mem_file_release,
	.mmap = vbridge_mem_file_mmap,
	.llseek = noop_llseek,
};

/**
 * vbridge_be_mem_fd() - VBRIDGE_BE_MEM_FD
 * @be_file: the backend file
 * @uarg: struct vbridge_mem_fd
 *
 * Return: 0 with the new file's descriptor in @uarg->fd; -EFAULT; -EINVAL
 * for flags, reserved fields, an unaligned, empty or wrapping range;
 * -EMFILE, -ENOMEM.
 */
long vbridge_be_mem_fd(struct file *be_file, void __user *uarg)
{
	struct vbridge_mem_fd req;
	struct vbridge_mem_file *mf;
	struct file *file;
	u64 end;
	int fd, ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.reserved[0] || req.reserved[1])
		return -EINVAL;
	if (!req.size || !PAGE_ALIGNED(req.gpa) || !PAGE_ALIGNED(req.size) ||
	    check_add_overflow(req.gpa, req.size - 1, &end))
		return -EINVAL;

	mf = kzalloc(sizeof(*mf), GFP_KERNEL_ACCOUNT);
	if (!mf)
		return -ENOMEM;
	mf->gpa = req.gpa;
	mf->size = req.size;
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_free;
	}
	mf->be_file = get_file(be_file);
	file = anon_inode_getfile("[virtio-bridge-mem]", &vbridge_mem_file_fops, mf,
				  (be_file->f_mode & FMODE_WRITE) ? O_RDWR : O_RDONLY);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_fd;
	}
	req.fd = fd;
	if (copy_to_user(uarg, &req, sizeof(req))) {
		put_unused_fd(fd);
		fput(file);		/* its release frees mf */
		return -EFAULT;
	}
	fd_install(fd, file);
	return 0;

err_fd:
	fput(mf->be_file);
	put_unused_fd(fd);
err_free:
	kfree(mf);
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
 * The mappings live in the reverse maps of the VM's memfds, so the zap
 * covers the regions' ranges there (the VMM's entries included: they fault
 * in again); a device without mappings has nothing to zap.  The regions
 * stay until the VM is released, after every revocation.
 */
void vbridge_map_revoke(struct vbridge_dev *dev)
{
	struct {
		struct address_space *mapping;
		loff_t start;
		loff_t len;
	} zap[VBRIDGE_MAX_REGIONS];
	struct vbridge_vm *vm;
	unsigned int i, n = 0;

	down_write(&dev->map_lock);
	vm = dev->map_vm;
	dev->map_vm = NULL;
	dev->map_gen = 0;
	if (vm && atomic_read(&dev->nr_maps)) {
		spin_lock(&vm->region_lock);
		for (i = 0; i < vm->nr_regions; i++) {
			zap[n].mapping = vm->regions[i].file->f_mapping;
			zap[n].start = vm->regions[i].fd_offset;
			zap[n].len = vm->regions[i].size;
			n++;
		}
		spin_unlock(&vm->region_lock);
	}
	for (i = 0; i < n; i++)
		unmap_mapping_range(zap[i].mapping, zap[i].start, zap[i].len, 0);
	up_write(&dev->map_lock);
}
