// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-bridge: interrupt lines and doorbells.
 *
 * Interrupt lines
 * ---------------
 * The VMM binds an eventfd to a guest GSI with KVM_IRQFD and hands it to us
 * per device line (VBRIDGE_SET_IRQFD).  The backend sets line levels
 * (VBRIDGE_BE_SET_IRQ); a rising edge signals the eventfd, so KVM injects
 * without the VMM's involvement.  A level set while no eventfd is bound is
 * kept, and binding an eventfd to a high line signals it at once.
 *
 * For a level-triggered line the VMM also passes the resample eventfd of a
 * KVM_IRQFD_FLAG_RESAMPLE binding.  KVM then keeps the GSI asserted until
 * the guest's EOI, de-asserts it and signals the resample eventfd.  As KVM
 * does for its own irqfds, we add an entry to that eventfd's wait queue;
 * its callback consumes the count and, if the backend still holds the line
 * high, queues dev->irq_work, which signals the irqfd again.  The callback
 * runs under the eventfd's wait-queue lock (possibly inside KVM's EOI path
 * that signals other eventfds), which is why the re-assertion is deferred.
 *
 * Doorbells
 * ---------
 * A backend registers an eventfd for a notify address (VBRIDGE_BE_ADD_
 * DOORBELL).  The VMM fetches the change with VBRIDGE_GET_DOORBELL, which
 * installs the same eventfd file in the VMM's file table; the VMM registers
 * it with KVM_IOEVENTFD, so guest kicks reach the backend without leaving
 * the kernel.  Removal, the backend's close and the end of the VM withdraw
 * doorbells; the VMM gets every change in order, withdrawals as deassignments.
 *
 * MSI messages
 * ------------
 * A backend registers an eventfd for a message (address, data, requester
 * id) of its device (VBRIDGE_BE_ADD_MSI), if the VM was attached with
 * VBRIDGE_ATTACH_F_MSI.  A message is a doorbell of another kind: same list,
 * same change queue and ids, same withdrawals, and the VMM fetches it with
 * VBRIDGE_GET_DOORBELL (VBRIDGE_DOORBELL_F_MSI), then binds the eventfd to a
 * GSI routed to the message with KVM_IRQFD.  Only the limit differs
 * (VBRIDGE_MAX_MSIS, counted apart) and messages never conflict: the
 * module does not interpret them, the VMM checks them.
 */
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "vbridge.h"

/* ------------------------------------------------------------------ */
/* Interrupt lines                                                    */
/* ------------------------------------------------------------------ */

static void vbridge_irq_work(struct work_struct *work)
{
	struct vbridge_dev *dev = container_of(work, struct vbridge_dev,
					       irq_work);
	struct vbridge_irqline *line;
	unsigned int i;

	for (i = 0; i < dev->cfg.nr_irqs; i++) {
		if (!test_and_clear_bit(i, dev->resample_pending))
			continue;
		line = &dev->lines[i];
		mutex_lock(&dev->irq_lock);
		if (line->irqfd && line->resample && line->level) {
			vbridge_eventfd_signal(line->irqfd);
			vbridge_stat_inc(dev, VBRIDGE_STAT_IRQS);
		}
		mutex_unlock(&dev->irq_lock);
	}
}

/* Runs under the resample eventfd's wqh.lock, interrupts disabled. */
static int vbridge_resample_wake(wait_queue_entry_t *wait, unsigned int mode,
				 int sync, void *key)
{
	struct vbridge_irqline *line = container_of(wait, struct vbridge_irqline,
						    wait);
	u64 cnt;

	if (!(key_to_poll(key) & EPOLLIN))
		return 0;
	eventfd_ctx_do_read(line->resample, &cnt);
	if (READ_ONCE(line->level)) {
		set_bit(line->index, line->dev->resample_pending);
		queue_work(vbridge_wq, &line->dev->irq_work);
	}
	return 0;
}

static void vbridge_resample_ptable(struct file *file, wait_queue_head_t *wqh,
				    poll_table *pt)
{
	struct vbridge_irqline *line = container_of(pt, struct vbridge_irqline,
						    pt);

	add_wait_queue(wqh, &line->wait);
}

int vbridge_irq_init(struct vbridge_dev *dev)
{
	unsigned int i;

	mutex_init(&dev->irq_lock);
	INIT_WORK(&dev->irq_work, vbridge_irq_work);
	dev->lines = kcalloc(max(dev->cfg.nr_irqs, 1U), sizeof(*dev->lines),
			     GFP_KERNEL);
	if (!dev->lines)
		return -ENOMEM;
	for (i = 0; i < dev->cfg.nr_irqs; i++) {
		dev->lines[i].dev = dev;
		dev->lines[i].index = i;
	}
	return 0;
}

/* Under dev->irq_lock. */
static void vbridge_irqline_detach(struct vbridge_irqline *line)
{
	u64 cnt;

	if (line->resample) {
		eventfd_ctx_remove_wait_queue(line->resample, &line->wait, &cnt);
		eventfd_ctx_put(line->resample);
		line->resample = NULL;
	}
	if (line->irqfd) {
		eventfd_ctx_put(line->irqfd);
		line->irqfd = NULL;
	}
}

/* The device leaves its VM: drop every eventfd, wait for irq_work. */
void vbridge_irq_unbind_all(struct vbridge_dev *dev)
{
	unsigned int i;

	mutex_lock(&dev->irq_lock);
	for (i = 0; i < dev->cfg.nr_irqs; i++) {
		vbridge_irqline_detach(&dev->lines[i]);
		WRITE_ONCE(dev->lines[i].level, false);
	}
	mutex_unlock(&dev->irq_lock);
	/* No resample callback can queue it anymore. */
	cancel_work_sync(&dev->irq_work);
	bitmap_zero(dev->resample_pending, VBRIDGE_MAX_IRQS);
}

void vbridge_irq_destroy(struct vbridge_dev *dev)
{
	if (dev->lines) {
		vbridge_irq_unbind_all(dev);
		kfree(dev->lines);
		dev->lines = NULL;
	}
}

/* Backend gone or VM restarting: every line low (nothing to signal). */
void vbridge_irq_lower_all(struct vbridge_dev *dev)
{
	unsigned int i;

	mutex_lock(&dev->irq_lock);
	for (i = 0; i < dev->cfg.nr_irqs; i++)
		WRITE_ONCE(dev->lines[i].level, false);
	mutex_unlock(&dev->irq_lock);
}

/*
 * Would binding @irqfd and @resample to @self make an eventfd both an
 * irqfd and a resample fd in @vm?  A re-assertion signals a line's irqfd;
 * were that eventfd another line's resample fd, the wake-up would look
 * like an EOI of that line and queue its re-assertion in turn: two lines
 * bound crosswise would keep a kworker signalling for as long as the
 * backend holds them high, without any EOI.  Every binding of the VM's
 * lines changes under vm->lock, which the caller holds.
 */
static bool vbridge_irq_crossed(struct vbridge_vm *vm,
				const struct vbridge_irqline *self,
				struct eventfd_ctx *irqfd,
				struct eventfd_ctx *resample)
{
	const struct vbridge_irqline *l;
	unsigned int i, j;

	for (i = 0; i < vm->nr_devs; i++) {
		for (j = 0; j < vm->devs[i]->cfg.nr_irqs; j++) {
			l = &vm->devs[i]->lines[j];
			if (l == self)
				continue;
			if ((irqfd && l->resample == irqfd) ||
			    (resample && l->irqfd == resample))
				return true;
		}
	}
	return false;
}

/**
 * vbridge_irq_set_irqfd() - bind (or unbind) a line's eventfds
 * @vm: the caller's running VM; the caller holds vm->lock, so the VM
 *	stays running and its devices bound
 * @dev: a device of @vm
 * @a: the request, flags and reserved fields checked
 *
 * Return: 0; -EINVAL for a bad line, fd combination, a file that is not an
 * eventfd, the same eventfd as irqfd and resamplefd, or an eventfd that
 * another line of the VM uses in the other role; -EBADF.
 */
int vbridge_irq_set_irqfd(struct vbridge_vm *vm, struct vbridge_dev *dev,
			  const struct vbridge_irqfd *a)
{
	struct eventfd_ctx *irqfd = NULL, *resample = NULL;
	struct vbridge_irqline *line;
	struct file *rfile = NULL;
	int ret;

	if (a->line >= dev->cfg.nr_irqs)
		return -EINVAL;
	if (a->fd < 0) {
		if (a->fd != -1 || a->resamplefd != -1)
			return -EINVAL;
	} else {
		if (a->resamplefd < -1)
			return -EINVAL;
		irqfd = eventfd_ctx_fdget(a->fd);
		if (IS_ERR(irqfd))
			return PTR_ERR(irqfd);
		if (a->resamplefd >= 0) {
			ret = -EBADF;
			rfile = fget(a->resamplefd);
			if (!rfile)
				goto err;
			resample = eventfd_ctx_fileget(rfile);
			if (IS_ERR(resample)) {
				ret = PTR_ERR(resample);
				resample = NULL;
				goto err;
			}
			ret = -EINVAL;
			if (resample == irqfd)
				goto err;
		}
	}

	line = &dev->lines[a->line];
	ret = -EINVAL;
	if (vbridge_irq_crossed(vm, line, irqfd, resample))
		goto err;
	mutex_lock(&dev->irq_lock);
	vbridge_irqline_detach(line);
	line->irqfd = irqfd;
	if (resample) {
		line->resample = resample;
		init_waitqueue_func_entry(&line->wait, vbridge_resample_wake);
		init_poll_funcptr(&line->pt, vbridge_resample_ptable);
		vfs_poll(rfile, &line->pt);
	}
	/* A line the backend already holds high fires now. */
	if (irqfd && line->level) {
		vbridge_eventfd_signal(irqfd);
		vbridge_stat_inc(dev, VBRIDGE_STAT_IRQS);
	}
	mutex_unlock(&dev->irq_lock);
	if (rfile)
		fput(rfile);
	return 0;

err:
	if (resample)
		eventfd_ctx_put(resample);
	if (rfile)
		fput(rfile);
	eventfd_ctx_put(irqfd);
	return ret;
}

/**
 * vbridge_irq_set_level() - VBRIDGE_BE_SET_IRQ
 * @dev: the backend's device
 * @a: the request
 *
 * The level is recorded even while the VMM has bound no eventfd to the
 * line (a backend may raise it before the VMM's VBRIDGE_SET_IRQFD, say
 * right after the VM starts): vbridge_irq_set_irqfd() then signals the
 * new eventfd for a line that is still high, so no interrupt is lost.
 *
 * Return: 0; -EINVAL; -ENOTCONN when the device's VM does not run.
 */
int vbridge_irq_set_level(struct vbridge_dev *dev,
			  const struct vbridge_irq_level *a)
{
	struct vbridge_irqline *line;
	bool running;
	int ret = 0;

	if (a->reserved || a->level > 1 || a->line >= dev->cfg.nr_irqs)
		return -EINVAL;
	line = &dev->lines[a->line];

	mutex_lock(&dev->irq_lock);
	spin_lock(&dev->lock);
	running = dev->run_state == VBRIDGE_RUN_RUNNING;
	spin_unlock(&dev->lock);
	if (!running) {
		ret = -ENOTCONN;
	} else {
		bool was = line->level;

		WRITE_ONCE(line->level, a->level);
		if (line->irqfd && a->level && !was) {
			vbridge_eventfd_signal(line->irqfd);
			vbridge_stat_inc(dev, VBRIDGE_STAT_IRQS);
		}
	}
	mutex_unlock(&dev->irq_lock);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Doorbells                                                          */
/* ------------------------------------------------------------------ */

/**
 * struct vbridge_dbev - a change the VMM has not fetched yet
 * @node: link in &vbridge_vm.db_events; &vbridge_vm.db_lock
 * @dev: the device whose backend made the change (counted in its
 *	 &vbridge_dev.db_events while queued); immutable
 * @seq: position in the queue, unique in the VM; set when queued, then
 *	 immutable.  VBRIDGE_GET_DOORBELL uses it to find the change again
 *	 after writing it out without the lock.
 * @info: what VBRIDGE_GET_DOORBELL returns (fd filled in then)
 * @file: an assignment's eventfd (one reference), NULL for a deassignment
 * @dbell: an assignment's doorbell or message while it exists, else NULL
 */
struct vbridge_dbev {
	struct list_head node;
	struct vbridge_dev *dev;
	u64 seq;
	struct vbridge_doorbell info;
	struct file *file;
	struct vbridge_dbell *dbell;
};

/**
 * struct vbridge_dbell - a doorbell or an MSI message of a VM
 * @node: link in &vbridge_vm.doorbells; &vbridge_vm.db_lock
 * @dev: the device whose backend registered it; immutable
 * @info: id, address, length, datamatch (a message's data), requester id;
 *	  VBRIDGE_DOORBELL_F_MSI in its flags makes it a message; immutable
 * @assign: its assignment while still unfetched, else NULL; db_lock
 * @deassign: preallocated deassignment, so that withdrawing never fails;
 *	      queued (and handed to the queue) under db_lock
 */
struct vbridge_dbell {
	struct list_head node;
	struct vbridge_dev *dev;
	struct vbridge_doorbell info;
	struct vbridge_dbev *assign;
	struct vbridge_dbev *deassign;
};

/* Queue a change for the VMM, under vm->db_lock. */
static void vbridge_dbev_queue(struct vbridge_vm *vm, struct vbridge_dbev *ev)
{
	ev->seq = ++vm->db_seq;
	list_add_tail(&ev->node, &vm->db_events);
	ev->dev->db_events++;
}

/* A change leaves the queue (fetched or dropped), under vm->db_lock. */
static void vbridge_dbev_unqueue(struct vbridge_dbev *ev)
{
	list_del(&ev->node);
	ev->dev->db_events--;
}

static bool vbridge_db_is_msi(const struct vbridge_doorbell *info)
{
	return info->flags & VBRIDGE_DOORBELL_F_MSI;
}

static bool vbridge_db_conflict(const struct vbridge_doorbell *a,
				const struct vbridge_doorbell *b)
{
	/* KVM_IOEVENTFD's rule: same place, and datamatch does not tell apart. */
	if (a->addr != b->addr || a->len != b->len)
		return false;
	if (!(a->flags & VBRIDGE_DOORBELL_F_DATAMATCH) ||
	    !(b->flags & VBRIDGE_DOORBELL_F_DATAMATCH))
		return true;
	return a->datamatch == b->datamatch;
}

/*
 * Register @info (checked, but for its id and device) with the eventfd
 * @fd in @dev's running VM and queue its assignment: what adding a
 * doorbell and adding an MSI message have in common.  Each kind has its
 * own limit; only doorbells can conflict.  The id is stored in @id.
 */
static int vbridge_db_insert(struct vbridge_dev *dev,
			     const struct vbridge_doorbell *info, int fd,
			     u32 *id)
{
	bool msi = vbridge_db_is_msi(info);
	struct vbridge_dbell *db, *it;
	struct eventfd_ctx *ctx;
	struct vbridge_vm *vm;
	struct file *file;
	unsigned int n = 0;
	int ret;

	file = fget(fd);
	if (!file)
		return -EBADF;
	ctx = eventfd_ctx_fileget(file);
	if (IS_ERR(ctx)) {
		fput(file);
		return PTR_ERR(ctx);
	}
	eventfd_ctx_put(ctx);

	ret = -ENOMEM;
	db = kzalloc(sizeof(*db), GFP_KERNEL_ACCOUNT);
	if (!db)
		goto err_fput;
	db->assign = kzalloc(sizeof(*db->assign), GFP_KERNEL_ACCOUNT);
	db->deassign = kzalloc(sizeof(*db->deassign), GFP_KERNEL_ACCOUNT);
	if (!db->assign || !db->deassign)
		goto err_free;

	ret = -ENOTCONN;
	vm = vbridge_dev_running_vm(dev);
	if (!vm)
		goto err_free;
	/* An older VMM would not know what to do with the change. */
	ret = -EOPNOTSUPP;
	if (msi && !(vm->attach_flags & VBRIDGE_ATTACH_F_MSI))
		goto err_put;

	db->dev = dev;
	db->info = *info;
	db->info.device_id = dev->id;

	ret = -ENOTCONN;
	mutex_lock(&vm->db_lock);
	/* The release work drops doorbells after the VM left RUNNING. */
	if (smp_load_acquire(&vm->life) != VBRIDGE_VM_RUNNING)
		goto err_unlock;
	list_for_each_entry(it, &vm->doorbells, node) {
		if (it->dev != dev || vbridge_db_is_msi(&it->info) != msi)
			continue;
		ret = -EEXIST;
		if (!msi && vbridge_db_conflict(&it->info, &db->info))
			goto err_unlock;
		n++;
	}
	ret = -ENOSPC;
	if (n >= (msi ? VBRIDGE_MAX_MSIS : VBRIDGE_MAX_DOORBELLS))
		goto err_unlock;
	/*
	 * Each change is memory (and an assignment an eventfd reference)
	 * until the VMM fetches it: a backend cannot queue them without
	 * limit.  Removals are never refused, so this is the only bound.
	 */
	ret = -EAGAIN;
	if (dev->db_events >= VBRIDGE_DB_EVENTS_MAX)
		goto err_unlock;
	db->info.id = ++vm->next_db_id;
	db->assign->info = db->info;
	db->assign->file = file;
	db->assign->dbell = db;
	db->assign->dev = dev;
	db->deassign->dev = dev;
	list_add_tail(&db->node, &vm->doorbells);
	vbridge_dbev_queue(vm, db->assign);
	mutex_unlock(&vm->db_lock);
	wake_up_interruptible_poll(&vm->db_wq, EPOLLIN | EPOLLRDNORM);

	*id = db->info.id;
	vbridge_vm_put(vm);
	return 0;

err_unlock:
	mutex_unlock(&vm->db_lock);
err_put:
	vbridge_vm_put(vm);
err_free:
	if (db) {
		kfree(db->assign);
		kfree(db->deassign);
		kfree(db);
	}
err_fput:
	fput(file);
	return ret;
}

/**
 * vbridge_db_add() - VBRIDGE_BE_ADD_DOORBELL
 * @dev: the backend's device
 * @req: the request; @req->id is filled in
 *
 * Return: 0; -EINVAL; -EBADF; -ENOTCONN when the VM does not run; -EEXIST
 * for a doorbell KVM could not tell from an existing one; -ENOSPC beyond
 * VBRIDGE_MAX_DOORBELLS per device; -EAGAIN while VBRIDGE_DB_EVENTS_MAX
 * changes of the device wait for the VMM; -ENOMEM.
 */
int vbridge_db_add(struct vbridge_dev *dev, struct vbridge_doorbell_req *req)
{
	struct vbridge_doorbell info = { };
	bool inside = false;
	u32 w;

	if (req->flags & ~VBRIDGE_DOORBELL_F_DATAMATCH ||
	    req->reserved[0] || req->reserved[1])
		return -EINVAL;
	if (req->len != 1 && req->len != 2 && req->len != 4 && req->len != 8)
		return -EINVAL;
	for (w = 0; w < dev->cfg.nr_windows; w++) {
		const struct vbridge_window *win = &dev->cfg.windows[w];

		if (req->addr >= win->addr &&
		    req->addr - win->addr < win->size &&
		    req->len <= win->size - (req->addr - win->addr))
			inside = true;
	}
	if (!inside)
		return -EINVAL;

	info.addr = req->addr;
	info.len = req->len;
	info.flags = req->flags;
	info.datamatch = req->flags & VBRIDGE_DOORBELL_F_DATAMATCH ?
			 req->datamatch : 0;
	return vbridge_db_insert(dev, &info, req->fd, &req->id);
}

/**
 * vbridge_msi_add() - VBRIDGE_BE_ADD_MSI
 * @dev: the backend's device
 * @req: the request; @req->id is filled in
 *
 * The message is not checked against any architecture's rules: the VMM
 * does that when it routes it.  The same message may be added twice.
 *
 * Return: 0; -EINVAL; -EBADF; -ENOTCONN when the VM does not run;
 * -EOPNOTSUPP when it was not attached with VBRIDGE_ATTACH_F_MSI; -ENOSPC
 * beyond VBRIDGE_MAX_MSIS per device; -EAGAIN while VBRIDGE_DB_EVENTS_MAX
 * changes of the device wait for the VMM; -ENOMEM.
 */
int vbridge_msi_add(struct vbridge_dev *dev, struct vbridge_msi_req *req)
{
	struct vbridge_doorbell info = { };

	if (req->flags || req->reserved0 || req->reserved[0] ||
	    req->reserved[1] || req->rid > 0xffff)
		return -EINVAL;

	info.addr = req->addr;
	info.len = sizeof(req->data);
	info.flags = VBRIDGE_DOORBELL_F_MSI;
	info.rid = req->rid;
	info.datamatch = req->data;
	return vbridge_db_insert(dev, &info, req->fd, &req->id);
}

/*
 * Withdraw one doorbell or message, under vm->db_lock.  The VMM gets every change in
 * order, so an assignment it has not fetched yet stays queued, followed by
 * the deassignment.
 */
static void vbridge_db_remove(struct vbridge_vm *vm, struct vbridge_dbell *db)
{
	struct vbridge_dbev *ev = db->deassign;

	list_del(&db->node);
	if (db->assign)
		db->assign->dbell = NULL;
	ev->info = db->info;
	ev->info.flags |= VBRIDGE_DOORBELL_F_DEASSIGN;
	ev->info.fd = -1;
	vbridge_dbev_queue(vm, ev);
	kfree(db);
}

/**
 * vbridge_db_del() - VBRIDGE_BE_DEL_DOORBELL, VBRIDGE_BE_DEL_MSI
 * @dev: the backend's device
 * @id: an id from VBRIDGE_BE_ADD_DOORBELL or VBRIDGE_BE_ADD_MSI
 * @msi: @id is an MSI message's, not a doorbell's
 *
 * Return: 0, or -ENOENT when @dev has no doorbell (or, with @msi, no
 * message) @id in its current VM.
 */
int vbridge_db_del(struct vbridge_dev *dev, u32 id, bool msi)
{
	struct vbridge_dbell *db;
	struct vbridge_vm *vm;
	int ret = -ENOENT;

	spin_lock(&dev->lock);
	vm = dev->vm;
	if (vm)
		vbridge_vm_get(vm);
	spin_unlock(&dev->lock);
	if (!vm)
		return -ENOENT;

	mutex_lock(&vm->db_lock);
	list_for_each_entry(db, &vm->doorbells, node) {
		if (db->dev == dev && db->info.id == id &&
		    vbridge_db_is_msi(&db->info) == msi) {
			vbridge_db_remove(vm, db);
			ret = 0;
			break;
		}
	}
	mutex_unlock(&vm->db_lock);
	if (!ret)
		wake_up_interruptible_poll(&vm->db_wq, EPOLLIN | EPOLLRDNORM);
	vbridge_vm_put(vm);
	return ret;
}

/* The backend of @dev closed: withdraw its doorbells and messages. */
void vbridge_db_drop_dev(struct vbridge_vm *vm, struct vbridge_dev *dev)
{
	struct vbridge_dbell *db, *tmp;
	bool any = false;

	mutex_lock(&vm->db_lock);
	list_for_each_entry_safe(db, tmp, &vm->doorbells, node) {
		if (db->dev == dev) {
			vbridge_db_remove(vm, db);
			any = true;
		}
	}
	mutex_unlock(&vm->db_lock);
	if (any)
		wake_up_interruptible_poll(&vm->db_wq, EPOLLIN | EPOLLRDNORM);
}

/*
 * The VM is released (or freed): drop every doorbell, message and pending
 * change.
 */
void vbridge_db_release(struct vbridge_vm *vm)
{
	struct vbridge_dbell *db, *dtmp;
	struct vbridge_dbev *ev, *etmp;

	mutex_lock(&vm->db_lock);
	list_for_each_entry_safe(ev, etmp, &vm->db_events, node) {
		vbridge_dbev_unqueue(ev);
		if (ev->dbell)
			ev->dbell->assign = NULL;
		if (ev->file)
			fput(ev->file);
		kfree(ev);
	}
	list_for_each_entry_safe(db, dtmp, &vm->doorbells, node) {
		list_del(&db->node);
		kfree(db->deassign);
		kfree(db);
	}
	mutex_unlock(&vm->db_lock);
}

bool vbridge_db_pending(struct vbridge_vm *vm)
{
	return !list_empty_careful(&vm->db_events);
}

/**
 * vbridge_db_get() - VBRIDGE_GET_DOORBELL
 * @vm: the calling VM
 * @uarg: the user's struct vbridge_doorbell
 *
 * The oldest change is written out without vm->db_lock held: the VMM's
 * memory may take as long as the VMM likes to accept it (a userfaultfd or
 * FUSE page), and backends need the lock to add, remove and close.  The
 * change is consumed only if it is still the oldest one afterwards (else
 * another caller took it, or the VM was released, and the next one is
 * tried), and only then is the eventfd of an assignment installed in the
 * caller's file table, by receive_fd() so that an LSM sees (and may refuse)
 * the provider's file reaching the VMM: a failure leaves the change pending.
 * The fd number is written last; should that write fault, the fd stays
 * installed (closing it again would race with the VMM's other threads).
 *
 * Return: 0; -EAGAIN when no change is pending; -EINVAL; -EFAULT; -EMFILE;
 * an LSM's refusal (-EPERM, -EACCES).
 */
int vbridge_db_get(struct vbridge_vm *vm, struct vbridge_doorbell __user *uarg)
{
	struct vbridge_doorbell d;
	struct vbridge_dbev *ev;
	bool assign;
	int fd;
	u64 seq;

	if (copy_from_user(&d, uarg, sizeof(d)))
		return -EFAULT;
	if (d.rid || d.reserved[0] || d.reserved[1])
		return -EINVAL;

	for (;;) {
		mutex_lock(&vm->db_lock);
		ev = list_first_entry_or_null(&vm->db_events, struct vbridge_dbev,
					      node);
		if (!ev) {
			mutex_unlock(&vm->db_lock);
			return -EAGAIN;
		}
		seq = ev->seq;
		assign = ev->file;
		memset(&d, 0, sizeof(d));
		d.id = ev->info.id;
		d.device_id = ev->info.device_id;
		d.addr = ev->info.addr;
		d.len = ev->info.len;
		d.flags = ev->info.flags;
		d.rid = ev->info.rid;
		d.datamatch = ev->info.datamatch;
		d.fd = -1;
		mutex_unlock(&vm->db_lock);

		if (copy_to_user(uarg, &d, sizeof(d)))
			return -EFAULT;

		mutex_lock(&vm->db_lock);
		ev = list_first_entry_or_null(&vm->db_events, struct vbridge_dbev,
					      node);
		if (ev && ev->seq == seq)
			break;
		mutex_unlock(&vm->db_lock);
	}
	fd = -1;
	if (assign) {
		/*
		 * receive_fd() lets the LSM check the transfer and installs
		 * its own reference: the change stays pending if it fails.
		 * It touches no user memory, so db_lock may be held.
		 */
		fd = vbridge_receive_fd(ev->file, O_CLOEXEC);
		if (fd < 0) {
			mutex_unlock(&vm->db_lock);
			return fd;
		}
		fput(ev->file);
	}
	vbridge_dbev_unqueue(ev);
	if (ev->dbell)
		ev->dbell->assign = NULL;
	mutex_unlock(&vm->db_lock);
	kfree(ev);

	/*
	 * The fd is in the VMM's table already; the struct was written out
	 * above, so this only fails if the VMM itself unmapped or protected
	 * it meanwhile.  Taking the fd back would race with the VMM's other
	 * threads, so it stays installed.
	 */
	if (fd >= 0 && put_user(fd, &uarg->fd))
		return -EFAULT;
	return 0;
}
