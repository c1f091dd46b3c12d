// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-bridge: VM objects, attach, VMSTOP and release.
 *
 * Life of a VM (one per open /dev/virtio-bridge):
 *
 *   DETACHED --ATTACH--> RUNNING --STOP/close--> STOPPING --last ack--> RELEASED
 *
 * ATTACH takes the vmid (waiting while an earlier VM of that vmid is still
 * STOPPING), snapshots the devices declared for it, gives the VM a new
 * generation and binds every device (VMSTART to open backends).
 *
 * STOP fails pending and later accesses, sends VMSTOP to every open backend
 * and arms each device's VMSTOP timeout.  Every device that got VMSTOP owes
 * an acknowledgment: a VMSTOP_ACK reply, its backend's close, or (with
 * autoack) the timeout.  The last one queues the release work, which revokes
 * every mapping of the VM's memory, drops irqfds, doorbells and the guest
 * RAM regions (punched out of their memfds: pages pinned through a revoked
 * mapping must not become a later VM's memory), and frees the vmid for the
 * next attach.
 */
#include <linux/types.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "vbridge.h"

/* Last generation handed out. */
static atomic64_t vbridge_generation = ATOMIC64_INIT(0);

void vbridge_vmids_init(void)
{
	struct vbridge_vmid *v;
	unsigned int i;

	for (i = 0; i <= VBRIDGE_VMID_MAX; i++) {
		v = vbridge_vmid(i);
		mutex_init(&v->lock);
		v->owner.uid = INVALID_UID;
		v->owner.gid = INVALID_GID;
		INIT_LIST_HEAD(&v->devs);
		v->vm = NULL;
	}
}

/*
 * The owner of @vmid (at most VBRIDGE_VMID_MAX) as a report sees it: under
 * the vmid's lock, or field by field without it.
 */
struct vbridge_owner vbridge_vm_owner(u32 vmid)
{
	const struct vbridge_owner *o = &vbridge_vmid(vmid)->owner;
	struct vbridge_owner ret;

	ret.uid = READ_ONCE(o->uid);
	ret.gid = READ_ONCE(o->gid);
	return ret;
}

/* Under the vmid's lock; later attaches of @vmid follow @owner. */
void vbridge_vm_set_owner(u32 vmid, const struct vbridge_owner *owner)
{
	struct vbridge_owner *o = &vbridge_vmid(vmid)->owner;

	lockdep_assert_held(&vbridge_vmid(vmid)->lock);
	WRITE_ONCE(o->uid, owner->uid);
	WRITE_ONCE(o->gid, owner->gid);
}

/*
 * May the caller attach @vmid?  Its owner (fsuid, as for a file it would
 * own), a member of its group, or CAP_SYS_ADMIN.  Under the vmid's lock.
 */
static bool vbridge_may_attach(struct vbridge_vmid *v)
{
	const struct vbridge_owner *o = &v->owner;

	lockdep_assert_held(&v->lock);
	if (uid_valid(o->uid) && uid_eq(current_fsuid(), o->uid))
		return true;
	if (gid_valid(o->gid) && in_egroup_p(o->gid))
		return true;
	return capable(CAP_SYS_ADMIN);
}

static void vbridge_vm_release_work(struct work_struct *work);

struct vbridge_vm *vbridge_vm_alloc(void)
{
	struct vbridge_vm *vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);

	if (!vm)
		return NULL;
	kref_init(&vm->kref);
	mutex_init(&vm->lock);
	vm->life = VBRIDGE_VM_DETACHED;
	spin_lock_init(&vm->region_lock);
	INIT_WORK(&vm->release_work, vbridge_vm_release_work);
	mutex_init(&vm->db_lock);
	INIT_LIST_HEAD(&vm->doorbells);
	INIT_LIST_HEAD(&vm->db_events);
	init_waitqueue_head(&vm->db_wq);
	return vm;
}

void vbridge_vm_get(struct vbridge_vm *vm)
{
	kref_get(&vm->kref);
}

/*
 * A memfd backs the regions of one VM at a time (vbridge_memfds): the
 * pages a released VM's regions are punched out of cannot be another VM's
 * memory meanwhile.
 */
static int vbridge_memfd_claim(struct vbridge_vm *vm, struct inode *inode,
			       bool *claimed)
{
	void *cur;

	/*
	 * One step: a claim another VM's release erases meanwhile cannot
	 * make a free memfd look taken (an insert, then a load, could).
	 */
	*claimed = false;
	cur = xa_cmpxchg(&vbridge_memfds, (unsigned long)inode, NULL, vm,
			 GFP_KERNEL_ACCOUNT);
	if (xa_is_err(cur))
		return xa_err(cur);
	if (!cur) {
		*claimed = true;
		return 0;
	}
	return cur == vm ? 0 : -EBUSY;
}

/* Every memfd @vm claimed is free again. */
static void vbridge_memfd_unclaim_all(struct vbridge_vm *vm)
{
	unsigned long idx;
	void *entry;

	xa_for_each(&vbridge_memfds, idx, entry)
		if (entry == vm)
			xa_erase(&vbridge_memfds, idx);
}

/*
 * Drop the VM's regions.  With @punch (a VM that ran, released after every
 * mapping of its memory was revoked) the registered ranges are punched out
 * of their memfds first: a page a provider still holds through GUP
 * (O_DIRECT, an io_uring fixed buffer, vmsplice) then belongs to no file,
 * so it can never be memory of a later VM that registers the same memfd.
 */
static void vbridge_vm_drop_regions(struct vbridge_vm *vm, bool punch)
{
	struct vbridge_region r;
	int ret;

	for (;;) {
		spin_lock(&vm->region_lock);
		if (!vm->nr_regions) {
			spin_unlock(&vm->region_lock);
			break;
		}
		r = vm->regions[--vm->nr_regions];
		memset(&vm->regions[vm->nr_regions], 0, sizeof(r));
		spin_unlock(&vm->region_lock);
		if (punch) {
			ret = vfs_fallocate(r.file, FALLOC_FL_PUNCH_HOLE |
					    FALLOC_FL_KEEP_SIZE,
					    r.fd_offset, r.size);
			if (ret)
				pr_warn_ratelimited("vm%u: cannot punch the released guest RAM at 0x%llx out of its memfd (%d)\n",
						    vm->vmid, r.gpa, ret);
		}
		mapping_unmap_writable(r.file->f_mapping);
		fput(r.file);
	}
	vbridge_memfd_unclaim_all(vm);
}

/*
 * The last reference: the frontend is closed and the VM, if it ever ran,
 * was released (the VM table holds a reference until then).
 */
static void vbridge_vm_free(struct kref *kref)
{
	struct vbridge_vm *vm = container_of(kref, struct vbridge_vm, kref);
	unsigned int i;

	vbridge_db_release(vm);
	vbridge_vm_drop_regions(vm, false);
	for (i = 0; i < vm->nr_devs; i++)
		vbridge_dev_put(vm->devs[i]);
	kfree(vm->devs);
	kfree(vm->wins);
	put_pid(vm->tgid);
	kfree(vm);
}

void vbridge_vm_put(struct vbridge_vm *vm)
{
	kref_put(&vm->kref, vbridge_vm_free);
}

static bool vbridge_vm_released(struct vbridge_vm *vm)
{
	/* Pairs with the release store in the release work. */
	return smp_load_acquire(&vm->life) == VBRIDGE_VM_RELEASED;
}

static int vbridge_win_cmp(const void *a, const void *b)
{
	const struct vbridge_vm_win *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The windows of @devs, sorted by address; NULL on -ENOMEM. */
static struct vbridge_vm_win *vbridge_vm_wins(struct vbridge_dev **devs,
					      unsigned int nr_devs,
					      unsigned int *nr_wins)
{
	struct vbridge_vm_win *wins;
	unsigned int i, n = 0;
	u32 w;

	for (i = 0; i < nr_devs; i++)
		n += devs[i]->cfg.nr_windows;
	wins = kcalloc(max(n, 1U), sizeof(*wins), GFP_KERNEL_ACCOUNT);
	if (!wins)
		return NULL;
	n = 0;
	for (i = 0; i < nr_devs; i++) {
		for (w = 0; w < devs[i]->cfg.nr_windows; w++) {
			wins[n].addr = devs[i]->cfg.windows[w].addr;
			wins[n].size = devs[i]->cfg.windows[w].size;
			wins[n].dev = devs[i];
			wins[n].index = w;
			n++;
		}
	}
	sort(wins, n, sizeof(*wins), vbridge_win_cmp, NULL);
	*nr_wins = n;
	return wins;
}

/**
 * vbridge_vm_attach() - run a VM under a vmid
 * @vm: a detached VM; the caller holds vm->lock
 * @vmid: 0..VBRIDGE_VMID_MAX
 * @flags: VBRIDGE_ATTACH_F_* (checked by the caller)
 * @nonblock: fail with -EBUSY instead of waiting for a stopping VM
 *
 * The caller must be allowed to attach @vmid (vbridge_may_attach()); that
 * is checked again after every wait, since the owner may change meanwhile.
 *
 * Takes the vmid's lock (killably) and no other: attaching one vmid never
 * waits for another vmid's VM, however slow its release.
 *
 * Return: 0, -EPERM (not the vmid's owner), -EBUSY (the vmid runs, or is
 * stopping and @nonblock), -EINTR (killed while waiting for the vmid's
 * lock or its stopping VM), -ENOMEM.
 */
int vbridge_vm_attach(struct vbridge_vm *vm, u32 vmid, u32 flags,
		      bool nonblock)
{
	struct vbridge_vmid *v = vbridge_vmid(vmid);
	struct vbridge_dev *dev, **devs;
	struct vbridge_vm_win *wins;
	struct vbridge_vm *old;
	unsigned int n, nr_wins;
	int ret;

	for (;;) {
		if (mutex_lock_killable(&v->lock))
			return -EINTR;
		if (!vbridge_may_attach(v)) {
			mutex_unlock(&v->lock);
			return -EPERM;
		}
		old = v->vm;
		if (!old)
			break;
		if (old->life == VBRIDGE_VM_RUNNING || nonblock) {
			mutex_unlock(&v->lock);
			return -EBUSY;
		}
		vbridge_vm_get(old);
		mutex_unlock(&v->lock);
		ret = wait_event_killable(vbridge_release_wq,
					  vbridge_vm_released(old));
		vbridge_vm_put(old);
		if (ret)
			return -EINTR;
	}

	n = 0;
	list_for_each_entry(dev, &v->devs, vmid_node)
		n++;
	devs = kcalloc(max(n, 1U), sizeof(*devs), GFP_KERNEL_ACCOUNT);
	if (!devs) {
		ret = -ENOMEM;
		goto out;
	}
	n = 0;
	list_for_each_entry(dev, &v->devs, vmid_node)
		devs[n++] = dev;
	wins = vbridge_vm_wins(devs, n, &nr_wins);
	if (!wins) {
		kfree(devs);
		ret = -ENOMEM;
		goto out;
	}
	vm->devs = devs;
	vm->nr_devs = n;
	for (n = 0; n < vm->nr_devs; n++)
		vbridge_dev_get(devs[n]);
	vm->wins = wins;
	vm->nr_wins = nr_wins;
	vm->vmid = vmid;
	vm->attach_flags = flags;
	vm->generation = atomic64_inc_return(&vbridge_generation);
	vm->pid = task_tgid_nr(current);
	vm->tgid = get_pid(task_tgid(current));
	vbridge_vm_get(vm);	/* the vmid's reference */
	v->vm = vm;

	for (n = 0; n < vm->nr_devs; n++)
		vbridge_dev_bind(vm->devs[n], vm);
	/* Publishes vm->devs and vm->wins to lockless readers (VBRIDGE_ACCESS). */
	smp_store_release(&vm->life, VBRIDGE_VM_RUNNING);
	vbridge_nl_event(VBRIDGE_EV_VMSTART, vmid, NULL, vm->generation,
			 vm->pid);
	ret = 0;
out:
	mutex_unlock(&v->lock);
	return ret;
}

/**
 * vbridge_vm_stop() - stop a running VM (STOP ioctl, or frontend close)
 * @vm: the VM; a VM that is not running is left alone
 *
 * Takes the vmid's lock without giving up on a fatal signal: the frontend's
 * close must stop its VM.
 */
void vbridge_vm_stop(struct vbridge_vm *vm)
{
	struct vbridge_vmid *v;
	unsigned int i;

	/* Only attach sets vmid, before life leaves DETACHED. */
	if (smp_load_acquire(&vm->life) == VBRIDGE_VM_DETACHED)
		return;
	v = vbridge_vmid(vm->vmid);
	mutex_lock(&v->lock);
	if (vm->life != VBRIDGE_VM_RUNNING) {
		mutex_unlock(&v->lock);
		return;
	}
	/* One bias reference so that no ack can release the VM under us. */
	atomic_set(&vm->acks_pending, 1);
	/* Lockless readers see STOPPING, and fail, from here on. */
	smp_store_release(&vm->life, VBRIDGE_VM_STOPPING);
	vbridge_nl_event(VBRIDGE_EV_VMSTOP, vm->vmid, NULL, vm->generation, 0);
	for (i = 0; i < vm->nr_devs; i++)
		vbridge_dev_stop(vm->devs[i], vm);
	mutex_unlock(&v->lock);

	wake_up_interruptible(&vm->db_wq);
	vbridge_vm_ack_put(vm);
}

void vbridge_vm_ack_put(struct vbridge_vm *vm)
{
	if (atomic_dec_and_test(&vm->acks_pending))
		queue_work(vbridge_wq, &vm->release_work);
}

static void vbridge_vm_release_work(struct work_struct *work)
{
	struct vbridge_vm *vm = container_of(work, struct vbridge_vm,
					     release_work);
	struct vbridge_vmid *v = vbridge_vmid(vm->vmid);
	unsigned int i;

	/* Revocation waits for this vmid's lock only, never another's. */
	mutex_lock(&v->lock);
	for (i = 0; i < vm->nr_devs; i++)
		vbridge_dev_unbind(vm->devs[i]);
	mutex_unlock(&v->lock);

	/* No mapping can reach the memory anymore: let it go. */
	vbridge_db_release(vm);
	vbridge_vm_drop_regions(vm, true);

	mutex_lock(&v->lock);
	v->vm = NULL;
	/* Attachers waiting for this VM may go once they see it. */
	smp_store_release(&vm->life, VBRIDGE_VM_RELEASED);
	vbridge_nl_event(VBRIDGE_EV_VM_RELEASED, vm->vmid, NULL,
			 vm->generation, 0);
	mutex_unlock(&v->lock);

	wake_up_all(&vbridge_release_wq);
	vbridge_vm_put(vm);
}

/**
 * vbridge_vm_add_region() - register guest RAM backed by a memfd
 * @vm: a detached or running VM; the caller holds vm->lock
 * @r: the request (flags and reserved fields already checked)
 *
 * Return: 0; -EINVAL for a misaligned, empty or overflowing range, a file
 * that is not a memfd, one without F_SEAL_SHRINK or too small; -EBADF;
 * -EACCES for a memfd not open for reading and writing; -EPERM for a memfd
 * sealed against writing; -EEXIST when it overlaps a region; -ENOSPC when
 * VBRIDGE_MAX_REGIONS are registered; -EBUSY when the memfd backs regions
 * of another VM (running, stopping, or not attached yet).
 */
int vbridge_vm_add_region(struct vbridge_vm *vm,
			  const struct vbridge_mem_region *r)
{
	struct vbridge_region *reg;
	struct inode *inode;
	struct file *file;
	u64 gpa_end, fd_end;
	unsigned int seals, i;
	bool claimed;
	int ret;

	if (!r->size || !PAGE_ALIGNED(r->guest_phys_addr) ||
	    !PAGE_ALIGNED(r->size) || !PAGE_ALIGNED(r->fd_offset) ||
	    check_add_overflow(r->guest_phys_addr, r->size, &gpa_end) ||
	    check_add_overflow(r->fd_offset, r->size, &fd_end) ||
	    fd_end > (u64)LLONG_MAX)
		return -EINVAL;

	file = fget(r->fd);
	if (!file)
		return -EBADF;
	inode = file_inode(file);
	ret = -EINVAL;
	if (!S_ISREG(inode->i_mode) || !shmem_mapping(file->f_mapping))
		goto err_fput;
	ret = -EACCES;
	if ((file->f_mode & (FMODE_READ | FMODE_WRITE)) !=
	    (FMODE_READ | FMODE_WRITE))
		goto err_fput;
	seals = READ_ONCE(SHMEM_I(inode)->seals);
	ret = -EPERM;
	if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
		goto err_fput;
	ret = -EINVAL;
	if (!(seals & F_SEAL_SHRINK) || i_size_read(inode) < (loff_t)fd_end)
		goto err_fput;
	ret = vbridge_memfd_claim(vm, inode, &claimed);
	if (ret)
		goto err_fput;
	/* As a writable shared mapping would: F_SEAL_WRITE now fails. */
	ret = mapping_map_writable(file->f_mapping);
	if (ret)
		goto err_unclaim;

	spin_lock(&vm->region_lock);
	ret = -ENOSPC;
	if (vm->nr_regions >= VBRIDGE_MAX_REGIONS)
		goto err_unlock;
	ret = -EEXIST;
	for (i = 0; i < vm->nr_regions; i++) {
		reg = &vm->regions[i];
		if (r->guest_phys_addr < reg->gpa + reg->size &&
		    reg->gpa < gpa_end)
			goto err_unlock;
	}
	reg = &vm->regions[vm->nr_regions];
	reg->gpa = r->guest_phys_addr;
	reg->size = r->size;
	reg->fd_offset = r->fd_offset;
	reg->file = file;
	vm->nr_regions++;
	spin_unlock(&vm->region_lock);
	return 0;

err_unlock:
	spin_unlock(&vm->region_lock);
	mapping_unmap_writable(file->f_mapping);
err_unclaim:
	/* No other region of this VM uses the memfd if this call claimed it. */
	if (claimed)
		xa_erase(&vbridge_memfds, (unsigned long)inode);
err_fput:
	fput(file);
	return ret;
}

unsigned int vbridge_vm_copy_regions(struct vbridge_vm *vm,
				     struct vbridge_window *out,
				     unsigned int max)
{
	unsigned int i, n;

	spin_lock(&vm->region_lock);
	n = min(vm->nr_regions, max);
	for (i = 0; i < n; i++) {
		out[i].addr = vm->regions[i].gpa;
		out[i].size = vm->regions[i].size;
	}
	spin_unlock(&vm->region_lock);
	return n;
}

/* A device of the VM's snapshot by id, or NULL. */
struct vbridge_dev *vbridge_vm_find_dev(struct vbridge_vm *vm, u32 id)
{
	unsigned int i;

	for (i = 0; i < vm->nr_devs; i++)
		if (vm->devs[i]->id == id)
			return vm->devs[i];
	return NULL;
}

/**
 * vbridge_vm_lookup() - which device window an access falls into
 * @vm: an attached VM (its snapshot is immutable)
 * @addr: guest-physical address
 * @len: access length
 * @devp: out: the device
 * @windowp: out: the window index
 *
 * Return: 0, -ENODEV when no window contains @addr, -EINVAL when the access
 * crosses the end of the window that contains @addr.
 */
int vbridge_vm_lookup(struct vbridge_vm *vm, u64 addr, u32 len,
		      struct vbridge_dev **devp, u32 *windowp)
{
	const struct vbridge_vm_win *win;
	unsigned int lo = 0, hi = vm->nr_wins, mid;

	/* The last window that starts at or below @addr. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (vm->wins[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -ENODEV;
	win = &vm->wins[lo - 1];
	if (addr - win->addr >= win->size)
		return -ENODEV;
	if (len > win->size - (addr - win->addr))
		return -EINVAL;
	*devp = win->dev;
	*windowp = win->index;
	return 0;
}
