// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-bridge: device objects and their request queues.
 *
 * Forwarding
 * ----------
 * A guest access becomes a &struct vbridge_req on the device's msgq, which
 * the backend drains with read().  Stores are posted: the vCPU thread
 * returns once the store is queued.  Loads wait for the backend's reply.
 * Because every access of a device goes through the one FIFO, a load is
 * read by the backend only after every store queued before it.
 *
 * Admission follows the retry timeout while the backend is not ready (not
 * open, or not VBRIDGE_BE_SET_READY): wait interruptibly for readiness, up
 * to retry_timeout_ms (<0: without limit, 0: not at all).  A change of the
 * rule (netlink DEV_SET, the module parameter) wakes the waiters, which
 * follow the new rule timed from the start of their wait.  A load that is
 * queued but not yet read falls back to the same rule whenever the backend
 * stops being ready, and is failed (-ETIMEDOUT) if it stays unread; nothing
 * was delivered, so that is safe.  Once the backend has read a load, only
 * the backend's reply, its close (-EIO) or the VM's stop (-ESHUTDOWN) end
 * it, and the latter two mark the device broken.  That wait is killable,
 * never interruptible: a vCPU thread cannot tell a half-done access from a
 * retried one.
 *
 * Unread requests survive a backend's close: a restarted device provider
 * finds them behind its VMSTART (and can restore its state with
 * VBRIDGE_BE_GET_STATE first).  It also learns how long the running VM had
 * no backend (down_ms in VBRIDGE_BE_GET_INFO), to tell with the retry
 * timeout whether the guest's accesses waited for it or failed meanwhile.
 *
 * Control messages
 * ----------------
 * VMSTART and VMSTOP use two slots embedded in the device, so stopping a VM
 * never allocates.  A new VMSTART supersedes unread VMSTART/VMSTOP messages
 * of older generations (a VMSTART implies the end of every earlier one).
 */
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "vbridge.h"

/*
 * Forwarded requests come from their own cache: one is allocated per
 * access, and the cache keeps that off kmalloc's general paths.  Every
 * request is freed before the module can go (each belongs to an open
 * node's VM or device), which kmem_cache_destroy() checks.
 */
static struct kmem_cache *vbridge_req_cache;

int __init vbridge_dev_init(void)
{
	vbridge_req_cache = KMEM_CACHE(vbridge_req, SLAB_ACCOUNT);
	return vbridge_req_cache ? 0 : -ENOMEM;
}

void vbridge_dev_exit(void)
{
	kmem_cache_destroy(vbridge_req_cache);
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                           */
/* ------------------------------------------------------------------ */

void vbridge_dev_get(struct vbridge_dev *dev)
{
	get_device(&dev->node);
}

static void vbridge_req_free(struct vbridge_req *req)
{
	kmem_cache_free(vbridge_req_cache, req);
}

/*
 * The last reference goes when the device is removed and no VM and no
 * backend file holds it anymore.  Its works are idle by then: the stop
 * work and the irq work only run while the device is bound to a VM, and
 * unbinding cancels them synchronously.
 */
static void vbridge_dev_release(struct device *node)
{
	struct vbridge_dev *dev = container_of(node, struct vbridge_dev, node);
	struct vbridge_qmsg *q, *tmp;

	list_for_each_entry_safe(q, tmp, &dev->msgq, node) {
		list_del(&q->node);
		if (q != &dev->start_msg && q != &dev->stop_msg)
			vbridge_req_free(container_of(q, struct vbridge_req, q));
	}
	vbridge_irq_destroy(dev);
	kvfree(dev->state_blob);
	kfree(dev->bounce_seq);
	kfree(dev->bounce);
	kfree(dev);
}

void vbridge_dev_put(struct vbridge_dev *dev)
{
	put_device(&dev->node);
}

static dev_t vbridge_dev_devt(struct vbridge_dev *dev)
{
	return MKDEV(MAJOR(vbridge_devt), MINOR(vbridge_devt) + dev->id - 1);
}

/* The device @name of @vmid, or NULL; under the vmid's lock. */
struct vbridge_dev *vbridge_dev_find(u32 vmid, const char *name)
{
	struct vbridge_vmid *v = vbridge_vmid(vmid);
	struct vbridge_dev *dev;

	lockdep_assert_held(&v->lock);
	list_for_each_entry(dev, &v->devs, vmid_node)
		if (!strcmp(dev->cfg.name, name))
			return dev;
	return NULL;
}

static bool vbridge_windows_overlap(const struct vbridge_window *a,
				    const struct vbridge_window *b)
{
	/* Sizes are non-zero and addr + size does not overflow. */
	return a->addr < b->addr + b->size && b->addr < a->addr + a->size;
}

static void vbridge_dev_stop_timeout(struct work_struct *work);

/* Devices declared now, and the next id to try; vbridge_devs_lock. */
static unsigned int vbridge_nr_devs;
static u32 vbridge_next_id = 1;

/*
 * The backend node's name, owner and mode, for devtmpfs and for the
 * uevent (DEVMODE, DEVUID, DEVGID), from which udev takes them.  Called
 * while the node is registered, which the device outlives.
 */
static char *vbridge_node_devnode(VBRIDGE_DEVNODE_CONST struct device *node,
				  umode_t *mode, kuid_t *uid, kgid_t *gid)
{
	const struct vbridge_dev *dev = dev_get_drvdata(node);

	if (mode)
		*mode = dev->cfg.node_mode;
	if (uid)
		*uid = dev->cfg.provider_uid;
	if (gid)
		*gid = dev->cfg.provider_gid;
	return kasprintf(GFP_KERNEL, "virtio/vm%u/%s", dev->cfg.vmid,
			 dev->cfg.name);
}

static const struct device_type vbridge_node_type = {
	.name = "virtio-bridge-backend",
	.devnode = vbridge_node_devnode,
};

static void vbridge_qmsg_init_ctl(struct vbridge_dev *dev,
				  struct vbridge_qmsg *q, u32 type)
{
	INIT_LIST_HEAD(&q->node);
	q->msg.type = type;
	q->msg.size = sizeof(q->msg);
	q->msg.vmid = dev->cfg.vmid;
}

/* Take @dev's id out of the device table; it is not given out again soon. */
static void vbridge_dev_unlist(struct vbridge_dev *dev)
{
	mutex_lock(&vbridge_devs_lock);
	xa_erase(&vbridge_devs, dev->id);
	vbridge_nr_devs--;
	mutex_unlock(&vbridge_devs_lock);
}

/**
 * vbridge_dev_create() - declare a device and create its backend node
 * @cfg: the validated declaration
 * @extack: where to say why it failed
 *
 * Called with the vmid's lock held.  The windows of @cfg were checked on
 * their own; this checks them against the other devices of the same vmid.
 *
 * Return: the device (holding the device table's reference) or an
 * ERR_PTR().
 */
struct vbridge_dev *vbridge_dev_create(const struct vbridge_dev_config *cfg,
				       struct netlink_ext_ack *extack)
{
	struct vbridge_vmid *v = vbridge_vmid(cfg->vmid);
	struct vbridge_dev *dev, *other;
	u32 i, j;
	int ret;

	lockdep_assert_held(&v->lock);

	if (vbridge_dev_find(cfg->vmid, cfg->name)) {
		NL_SET_ERR_MSG(extack, "a device of this name is already declared for this vmid");
		return ERR_PTR(-EEXIST);
	}
	list_for_each_entry(other, &v->devs, vmid_node) {
		for (i = 0; i < cfg->nr_windows; i++)
			for (j = 0; j < other->cfg.nr_windows; j++)
				if (vbridge_windows_overlap(&cfg->windows[i],
							    &other->cfg.windows[j])) {
					NL_SET_ERR_MSG(extack,
						       "a window overlaps a window of another device of this vmid");
					return ERR_PTR(-EEXIST);
				}
	}

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return ERR_PTR(-ENOMEM);
	/* From here on the last put_device() frees it. */
	device_initialize(&dev->node);
	dev->node.class = &vbridge_class;
	dev->node.type = &vbridge_node_type;
	dev->node.release = vbridge_dev_release;
	dev_set_drvdata(&dev->node, dev);
	dev->cfg = *cfg;
	INIT_LIST_HEAD(&dev->vmid_node);
	spin_lock_init(&dev->lock);
	INIT_LIST_HEAD(&dev->msgq);
	INIT_LIST_HEAD(&dev->inflight);
	hash_init(dev->inflight_ids);
	vbridge_qmsg_init_ctl(dev, &dev->start_msg, VBRIDGE_MSG_VMSTART);
	vbridge_qmsg_init_ctl(dev, &dev->stop_msg, VBRIDGE_MSG_VMSTOP);
	init_waitqueue_head(&dev->wq);
	init_waitqueue_head(&dev->be_wq);
	mutex_init(&dev->read_mutex);
	mutex_init(&dev->state_mutex);
	init_rwsem(&dev->map_lock);
	atomic_set(&dev->nr_maps, 0);
	INIT_DELAYED_WORK(&dev->stop_work, vbridge_dev_stop_timeout);

	ret = -ENOMEM;
	dev->bounce = kcalloc(VBRIDGE_READ_BATCH, sizeof(*dev->bounce), GFP_KERNEL);
	dev->bounce_seq = kcalloc(VBRIDGE_READ_BATCH, sizeof(*dev->bounce_seq),
				  GFP_KERNEL);
	if (!dev->bounce || !dev->bounce_seq)
		goto err_free;
	ret = vbridge_irq_init(dev);
	if (ret)
		goto err_free;

	mutex_lock(&vbridge_devs_lock);
	if (vbridge_nr_devs >= VBRIDGE_MAX_DEVICES) {
		mutex_unlock(&vbridge_devs_lock);
		NL_SET_ERR_MSG(extack, "too many devices declared");
		ret = -ENOSPC;
		goto err_free;
	}
	/*
	 * Cyclic: a removed device's id and minor are not given to the next
	 * one, so its node, kept open by path somewhere (a bind mount into a
	 * provider's sandbox), cannot open a later device.
	 */
	ret = xa_alloc_cyclic(&vbridge_devs, &dev->id, dev,
			      XA_LIMIT(1, VBRIDGE_NR_MINORS), &vbridge_next_id,
			      GFP_KERNEL);
	if (ret >= 0)
		vbridge_nr_devs++;
	mutex_unlock(&vbridge_devs_lock);
	if (ret < 0) {
		if (ret == -EBUSY) {
			NL_SET_ERR_MSG(extack, "too many devices declared");
			ret = -ENOSPC;
		}
		goto err_free;
	}

	/*
	 * The node's device is the cdev's parent: an open node keeps it,
	 * and with it the whole structure, until its last close.
	 */
	dev->node.devt = vbridge_dev_devt(dev);
	cdev_init(&dev->cdev, &vbridge_backend_fops);
	dev->cdev.owner = THIS_MODULE;
	ret = dev_set_name(&dev->node, "vm%u:%s", dev->cfg.vmid, dev->cfg.name);
	if (!ret)
		ret = cdev_device_add(&dev->cdev, &dev->node);
	if (ret) {
		NL_SET_ERR_MSG(extack, "cannot create the backend node");
		goto err_xa;
	}
	vbridge_debugfs_add_dev(dev);
	list_add_tail(&dev->vmid_node, &v->devs);
	return dev;

err_xa:
	vbridge_dev_unlist(dev);
err_free:
	vbridge_dev_put(dev);
	return ERR_PTR(ret);
}

/**
 * vbridge_dev_remove() - remove a device and its backend node
 * @dev: a device that is not bound and whose backend is closed (or, at
 *	 module exit, any device: nothing can be open then)
 *
 * Called with the vmid's lock held.  Drops the device table's reference.
 */
void vbridge_dev_remove(struct vbridge_dev *dev)
{
	lockdep_assert_held(&vbridge_vmid(dev->cfg.vmid)->lock);
	dev->removed = true;
	list_del_init(&dev->vmid_node);
	vbridge_dev_unlist(dev);
	vbridge_debugfs_remove_dev(dev);
	cdev_device_del(&dev->cdev, &dev->node);
	vbridge_dev_put(dev);
}

void vbridge_dev_remove_all(void)
{
	struct vbridge_dev *dev, *tmp;
	struct vbridge_vmid *v;
	unsigned int i;

	for (i = 0; i <= VBRIDGE_VMID_MAX; i++) {
		v = vbridge_vmid(i);
		mutex_lock(&v->lock);
		list_for_each_entry_safe(dev, tmp, &v->devs, vmid_node)
			vbridge_dev_remove(dev);
		mutex_unlock(&v->lock);
	}
}

/* retry_timeout_ms or inflight_timeout_ms changed: tell the waiters. */
void vbridge_dev_params_changed(void)
{
	struct vbridge_dev *dev;
	unsigned long idx;

	mutex_lock(&vbridge_devs_lock);
	xa_for_each(&vbridge_devs, idx, dev)
		wake_up_all(&dev->wq);
	mutex_unlock(&vbridge_devs_lock);
}

/* ------------------------------------------------------------------ */
/* State and parameters                                               */
/* ------------------------------------------------------------------ */

static bool vbridge_dev_ready(struct vbridge_dev *dev)
{
	return READ_ONCE(dev->be_open) && READ_ONCE(dev->be_ready);
}

u32 vbridge_dev_state(struct vbridge_dev *dev)
{
	u32 s = 0;

	spin_lock(&dev->lock);
	if (dev->be_open)
		s |= VBRIDGE_DEV_S_OPEN;
	if (dev->be_ready)
		s |= VBRIDGE_DEV_S_READY;
	if (dev->broken)
		s |= VBRIDGE_DEV_S_BROKEN;
	if (dev->run_state == VBRIDGE_RUN_RUNNING)
		s |= VBRIDGE_DEV_S_RUNNING;
	if (dev->stop_pending)
		s |= VBRIDGE_DEV_S_STOPPING;
	spin_unlock(&dev->lock);
	return s;
}

static int vbridge_dev_retry_ms_locked(struct vbridge_dev *dev)
{
	if (dev->cfg.ovr.has_retry)
		return dev->cfg.ovr.retry_timeout_ms;
	return READ_ONCE(vbridge_retry_timeout_ms);
}

int vbridge_dev_retry_ms(struct vbridge_dev *dev)
{
	int v;

	spin_lock(&dev->lock);
	v = vbridge_dev_retry_ms_locked(dev);
	spin_unlock(&dev->lock);
	return v;
}

int vbridge_dev_inflight_ms(struct vbridge_dev *dev)
{
	int v;

	spin_lock(&dev->lock);
	if (dev->cfg.ovr.has_inflight)
		v = dev->cfg.ovr.inflight_timeout_ms;
	else
		v = READ_ONCE(vbridge_inflight_timeout_ms);
	spin_unlock(&dev->lock);
	return clamp(v, 0, VBRIDGE_INFLIGHT_TIMEOUT_MAX);
}

/*
 * Jiffies left of a wait for readiness that began at @start under the
 * retry rule @tmo: MAX_SCHEDULE_TIMEOUT for a negative rule, 0 when the
 * access must fail now.  The rule in effect is read again whenever it
 * changes (netlink DEV_SET, the module parameter), so a new rule reaches
 * accesses already waiting, timed from the start of their wait.
 */
static long vbridge_retry_left(int tmo, unsigned long start)
{
	unsigned long end;

	if (tmo < 0)
		return MAX_SCHEDULE_TIMEOUT;
	end = start + msecs_to_jiffies(tmo);
	if (!tmo || time_after_eq(jiffies, end))
		return 0;
	return end - jiffies;
}

/* How long the open backend's device had none, see &vbridge_dev.down_ms. */
u32 vbridge_dev_down_ms(struct vbridge_dev *dev)
{
	u32 v;

	spin_lock(&dev->lock);
	v = dev->down_ms;
	spin_unlock(&dev->lock);
	return v;
}

unsigned int vbridge_dev_vmstop_timeout(struct vbridge_dev *dev)
{
	int v;

	spin_lock(&dev->lock);
	if (dev->cfg.ovr.has_timeout)
		v = dev->cfg.ovr.vmstop_timeout;
	else
		v = READ_ONCE(vbridge_vmstop_timeout);
	spin_unlock(&dev->lock);
	return clamp(v, 0, VBRIDGE_VMSTOP_TIMEOUT_MAX);
}

bool vbridge_dev_autoack(struct vbridge_dev *dev)
{
	bool v;

	spin_lock(&dev->lock);
	if (dev->cfg.ovr.has_autoack)
		v = dev->cfg.ovr.vmstop_autoack;
	else
		v = READ_ONCE(vbridge_vmstop_autoack);
	spin_unlock(&dev->lock);
	return v;
}

/* The VM a backend call acts on: bound and running, with a reference. */
struct vbridge_vm *vbridge_dev_running_vm(struct vbridge_dev *dev)
{
	struct vbridge_vm *vm = NULL;

	spin_lock(&dev->lock);
	if (dev->run_state == VBRIDGE_RUN_RUNNING) {
		vm = dev->vm;
		vbridge_vm_get(vm);
	}
	spin_unlock(&dev->lock);
	return vm;
}

/* A snapshot of the counters: each is read whole (64-bit kernels). */
void vbridge_dev_stats(struct vbridge_dev *dev, u64 *stats)
{
	int i;

	for (i = 0; i <= VBRIDGE_STAT_MAX; i++)
		stats[i] = READ_ONCE(dev->stats[i]);
}

/* ------------------------------------------------------------------ */
/* The message queue (all under dev->lock)                            */
/* ------------------------------------------------------------------ */

static bool vbridge_qmsg_is_ctl(struct vbridge_dev *dev, struct vbridge_qmsg *q)
{
	return q == &dev->start_msg || q == &dev->stop_msg;
}

static void vbridge_q_add(struct vbridge_dev *dev, struct vbridge_qmsg *q,
			  bool head)
{
	q->seq = ++dev->next_seq;
	q->queued = true;
	if (head)
		list_add(&q->node, &dev->msgq);
	else
		list_add_tail(&q->node, &dev->msgq);
	WRITE_ONCE(dev->nr_msgs, dev->nr_msgs + 1);
	if (!vbridge_qmsg_is_ctl(dev, q))
		WRITE_ONCE(dev->nr_queued, dev->nr_queued + 1);
}

static void vbridge_q_del(struct vbridge_dev *dev, struct vbridge_qmsg *q)
{
	list_del_init(&q->node);
	q->queued = false;
	WRITE_ONCE(dev->nr_msgs, dev->nr_msgs - 1);
	if (!vbridge_qmsg_is_ctl(dev, q))
		WRITE_ONCE(dev->nr_queued, dev->nr_queued - 1);
}

/* A load the backend read goes in flight: on the list and in the id hash. */
static void vbridge_inflight_add(struct vbridge_dev *dev, struct vbridge_req *req)
{
	list_add_tail(&req->q.node, &dev->inflight);
	hash_add(dev->inflight_ids, &req->id_node, req->q.msg.id);
}

static void vbridge_inflight_del(struct vbridge_req *req)
{
	list_del_init(&req->q.node);
	hash_del(&req->id_node);
}

static struct vbridge_req *vbridge_inflight_find(struct vbridge_dev *dev, u64 id)
{
	struct vbridge_req *req;

	hash_for_each_possible(dev->inflight_ids, req, id_node, id)
		if (req->q.msg.id == id)
			return req;
	return NULL;
}

static void vbridge_drop_ctl(struct vbridge_dev *dev)
{
	if (dev->start_msg.queued)
		vbridge_q_del(dev, &dev->start_msg);
	if (dev->stop_msg.queued)
		vbridge_q_del(dev, &dev->stop_msg);
}

/*
 * VMSTART goes at the tail when a VM attaches (the queue then holds no
 * request), and at the head when a backend opens while its VM runs, ahead of
 * requests a previous opener left unread.  No reader can be active in the
 * latter case, which read()'s resynchronisation relies on.
 */
static void vbridge_queue_start(struct vbridge_dev *dev, u64 gen, bool head)
{
	vbridge_drop_ctl(dev);
	dev->start_msg.msg.id = gen;
	vbridge_q_add(dev, &dev->start_msg, head);
}

static void vbridge_queue_stop(struct vbridge_dev *dev, u64 gen)
{
	if (dev->stop_msg.queued)
		vbridge_q_del(dev, &dev->stop_msg);
	dev->stop_msg.msg.id = gen;
	vbridge_q_add(dev, &dev->stop_msg, false);
}

/* Give a load its result; the caller wakes dev->wq. */
static void vbridge_req_finish(struct vbridge_dev *dev, struct vbridge_req *req,
			       int result, u64 data)
{
	if (req->abandoned) {
		vbridge_req_free(req);
		return;
	}
	req->result = result;
	req->data = data;
	WRITE_ONCE(req->state, VBRIDGE_REQ_DONE);
}

/* Fail a request that is still on msgq (nothing was delivered). */
static void vbridge_req_fail_queued(struct vbridge_dev *dev,
				    struct vbridge_req *req, int result)
{
	vbridge_q_del(dev, &req->q);
	vbridge_stat_inc(dev, result == -ETIMEDOUT ? VBRIDGE_STAT_TIMEDOUT :
						     VBRIDGE_STAT_FAILED);
	if (req->q.msg.type == VBRIDGE_MSG_STORE)
		vbridge_req_free(req);
	else
		vbridge_req_finish(dev, req, result, ~0ULL);
}

/*
 * Fail every load the backend has read: the backend went away (-EIO) or the
 * VM stops (-ESHUTDOWN).  Returns true when there was one, which makes the
 * device broken.
 */
static bool vbridge_fail_inflight(struct vbridge_dev *dev, int result)
{
	struct vbridge_req *req, *tmp;
	bool any = false;

	list_for_each_entry_safe(req, tmp, &dev->inflight, q.node) {
		vbridge_inflight_del(req);
		vbridge_stat_inc(dev, VBRIDGE_STAT_FAILED);
		vbridge_req_finish(dev, req, result, ~0ULL);
		any = true;
	}
	return any;
}

/* ------------------------------------------------------------------ */
/* Frontend side: forwarding an access                                */
/* ------------------------------------------------------------------ */

/* Lockless wait conditions of admission: something changed that matters. */
static bool vbridge_vm_gone(struct vbridge_dev *dev, struct vbridge_vm *vm)
{
	return READ_ONCE(dev->vm) != vm ||
	       READ_ONCE(dev->run_state) != VBRIDGE_RUN_RUNNING;
}

/* Wait conditions may take dev->lock: they run before the task sleeps. */
static bool vbridge_ready_cond(struct vbridge_dev *dev, struct vbridge_vm *vm,
			       int tmo)
{
	return vbridge_vm_gone(dev, vm) || vbridge_dev_ready(dev) ||
	       vbridge_dev_retry_ms(dev) != tmo;
}

static bool vbridge_room_cond(struct vbridge_dev *dev, struct vbridge_vm *vm)
{
	return vbridge_vm_gone(dev, vm) || !vbridge_dev_ready(dev) ||
	       READ_ONCE(dev->nr_queued) < VBRIDGE_QUEUE_MAX;
}

/*
 * A queued load has an answer, is unread while the backend is not ready,
 * or the device's inflight_timeout_ms is no longer itmo.
 */
static bool vbridge_load_cond(struct vbridge_dev *dev, struct vbridge_req *req,
			      int itmo)
{
	enum vbridge_req_state s = READ_ONCE(req->state);

	return s == VBRIDGE_REQ_DONE ||
	       (s == VBRIDGE_REQ_QUEUED && !vbridge_dev_ready(dev)) ||
	       vbridge_dev_inflight_ms(dev) != itmo;
}

static long vbridge_load_wait_timeout(struct vbridge_dev *dev,
				      struct vbridge_req *req, int itmo,
				      long left)
{
	return wait_event_killable_timeout(dev->wq,
					   vbridge_load_cond(dev, req, itmo),
					   left);
}

/*
 * How long a load may still wait under inflight_timeout_ms itmo (> 0):
 * what is left of it since the backend read the load, or all of it while
 * the load is unread (the wait then looks again).  0: it has expired.
 * Under dev->lock.
 */
static long vbridge_inflight_left(struct vbridge_req *req, int itmo)
{
	unsigned long end;

	if (req->state != VBRIDGE_REQ_READ)
		return msecs_to_jiffies(itmo);
	end = req->read_at + msecs_to_jiffies(itmo);
	return time_after(end, jiffies) ? (long)(end - jiffies) : 0;
}

static bool vbridge_unready_cond(struct vbridge_dev *dev,
				 struct vbridge_req *req, int tmo)
{
	return READ_ONCE(req->state) != VBRIDGE_REQ_QUEUED ||
	       vbridge_dev_ready(dev) || vbridge_dev_retry_ms(dev) != tmo;
}

/**
 * vbridge_dev_poll_us() - how long a side of @dev's round trip may spin
 * @dev: the device
 *
 * Its backend's choice (VBRIDGE_BE_SET_POLL), bounded by poll_max_us as it
 * is now.  Lockless.
 *
 * Return: microseconds, 0 when the device does not poll.
 */
u32 vbridge_dev_poll_us(struct vbridge_dev *dev)
{
	return min_t(u32, READ_ONCE(dev->poll_us),
		     max(READ_ONCE(vbridge_poll_max_us), 0));
}

/*
 * Busy-poll for at most @us microseconds until @cond holds, with no lock
 * held; as vhost's busy loop, give up at once when the CPU is wanted by
 * another task or a signal is pending.  Evaluates to whether @cond held.
 */
#define vbridge_spin_until(cond, us)					\
({									\
	u64 __end = ktime_get_ns() + (u64)(us) * NSEC_PER_USEC;	\
	bool __held;							\
									\
	while (!(__held = (cond))) {					\
		if (need_resched() || signal_pending(current) ||	\
		    ktime_get_ns() >= __end)				\
			break;						\
		cpu_relax();						\
	}								\
	__held;								\
})

static u64 vbridge_len_mask(u32 len)
{
	return len == 8 ? ~0ULL : (1ULL << (len * 8)) - 1;
}

/*
 * Wait for a queued load.  Returns 0 with acc filled in, or -EINTR when a
 * signal arrived before the backend read it (it was withdrawn) or a fatal
 * signal arrived after (it was abandoned).  With inflight_timeout_ms, a
 * load the backend read and did not answer in time fails with -EIO and
 * makes the device broken, as when the backend closes.
 */
static int vbridge_load_wait(struct vbridge_dev *dev, struct vbridge_req *req,
			     struct vbridge_access *acc)
{
	bool was_full, broke = false;
	unsigned long start;
	int tmo, itmo, ret;
	long left;
	u32 us;

	/*
	 * Polling mode: the reply may come before this thread would have
	 * gone to sleep.  The waits below then find it done and do not
	 * sleep, and the reply's wake-up finds this thread running.
	 */
	us = vbridge_dev_poll_us(dev);
	if (us)
		vbridge_spin_until(READ_ONCE(req->state) == VBRIDGE_REQ_DONE, us);

	for (;;) {
		itmo = vbridge_dev_inflight_ms(dev);
		if (itmo > 0) {
			spin_lock(&dev->lock);
			left = vbridge_inflight_left(req, itmo);
			spin_unlock(&dev->lock);
			if (left)
				left = vbridge_load_wait_timeout(dev, req, itmo,
								 left);
			ret = left < 0 ? (int)left : 0;
		} else {
			ret = wait_event_killable(dev->wq,
						  vbridge_load_cond(dev, req, itmo));
		}

		spin_lock(&dev->lock);
		if (req->state == VBRIDGE_REQ_DONE)
			break;
		if (ret) {
			/* Killed: withdraw it, or leave it to the reply. */
			was_full = false;
			if (req->state == VBRIDGE_REQ_QUEUED) {
				was_full = dev->nr_queued >= VBRIDGE_QUEUE_MAX;
				vbridge_q_del(dev, &req->q);
				vbridge_req_free(req);
			} else {
				req->abandoned = true;
			}
			spin_unlock(&dev->lock);
			/*
			 * Callers may be waiting for room, and read() wakes
			 * them only when it finds the queue full: this made
			 * room without a read.
			 */
			if (was_full)
				wake_up_all(&dev->wq);
			return -EINTR;
		}
		if (req->state == VBRIDGE_REQ_READ && itmo > 0 &&
		    !vbridge_inflight_left(req, itmo)) {
			/* Read and not answered in time: lost, as on a close. */
			vbridge_inflight_del(req);
			vbridge_stat_inc(dev, VBRIDGE_STAT_FAILED);
			vbridge_req_finish(dev, req, -EIO, ~0ULL);
			broke = !dev->broken;
			dev->broken = true;
			break;
		}
		if (req->state != VBRIDGE_REQ_QUEUED || vbridge_dev_ready(dev)) {
			spin_unlock(&dev->lock);
			continue;
		}

		/* Unread and the backend is not ready: the retry rule. */
		start = jiffies;
		for (;;) {
			tmo = vbridge_dev_retry_ms_locked(dev);
			left = vbridge_retry_left(tmo, start);
			if (!left) {
				vbridge_req_fail_queued(dev, req, -ETIMEDOUT);
				break;
			}
			spin_unlock(&dev->lock);
			left = wait_event_interruptible_timeout(dev->wq,
								vbridge_unready_cond(dev, req, tmo),
								left);
			spin_lock(&dev->lock);
			if (req->state != VBRIDGE_REQ_QUEUED ||
			    vbridge_dev_ready(dev))
				break;
			if (left < 0) {
				vbridge_q_del(dev, &req->q);
				spin_unlock(&dev->lock);
				vbridge_req_free(req);
				return -EINTR;
			}
			/* Timed out, or a new rule: look again. */
		}
		if (req->state == VBRIDGE_REQ_DONE)
			break;
		spin_unlock(&dev->lock);
	}
	acc->result = req->result;
	acc->data = req->data;
	spin_unlock(&dev->lock);
	vbridge_req_free(req);
	if (broke)
		vbridge_nl_event(VBRIDGE_EV_DEV_BROKEN, dev->cfg.vmid,
				 dev->cfg.name, 0, 0);
	return 0;
}

/**
 * vbridge_dev_access() - forward one guest access to a device's backend
 * @dev: a device of @vm's snapshot
 * @vm: the calling VM
 * @window: index of the window containing @acc->addr
 * @acc: the validated access; result (and data of a load) are filled in
 *
 * Return: 0 (the outcome is in @acc->result), -EINTR when a signal
 * interrupted a wait before the backend read the access (nothing was
 * delivered), -ENOMEM.
 */
int vbridge_dev_access(struct vbridge_dev *dev, struct vbridge_vm *vm,
		       u32 window, struct vbridge_access *acc)
{
	bool store = acc->flags & VBRIDGE_ACCESS_F_WRITE;
	unsigned long start = jiffies;
	struct vbridge_req *req;
	bool first;
	long left;
	int tmo, ret;

	req = kmem_cache_zalloc(vbridge_req_cache, GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	INIT_LIST_HEAD(&req->q.node);
	req->waiter = current;
	req->q.msg.type = store ? VBRIDGE_MSG_STORE : VBRIDGE_MSG_LOAD;
	req->q.msg.size = sizeof(req->q.msg);
	req->q.msg.addr = acc->addr;
	req->q.msg.offset = acc->addr - dev->cfg.windows[window].addr;
	req->q.msg.data = store ? acc->data & vbridge_len_mask(acc->len) : 0;
	req->q.msg.len = acc->len;
	req->q.msg.window = window;
	req->q.msg.vmid = dev->cfg.vmid;

	spin_lock(&dev->lock);
	for (;;) {
		if (dev->vm != vm || dev->run_state != VBRIDGE_RUN_RUNNING) {
			ret = -ESHUTDOWN;
			goto fail;
		}
		if (vbridge_dev_ready(dev)) {
			if (dev->nr_queued < VBRIDGE_QUEUE_MAX)
				break;
			/* Full queue, live backend: wait for room. */
			spin_unlock(&dev->lock);
			if (wait_event_interruptible(dev->wq,
						     vbridge_room_cond(dev, vm)))
				goto intr;
			spin_lock(&dev->lock);
			continue;
		}
		tmo = vbridge_dev_retry_ms_locked(dev);
		left = vbridge_retry_left(tmo, start);
		if (!left) {
			ret = -ETIMEDOUT;
			goto fail;
		}
		spin_unlock(&dev->lock);
		left = wait_event_interruptible_timeout(dev->wq,
							vbridge_ready_cond(dev, vm, tmo),
							left);
		if (left < 0)
			goto intr;
		spin_lock(&dev->lock);
	}

	req->q.msg.id = ++dev->next_id;
	req->state = VBRIDGE_REQ_QUEUED;
	first = !dev->nr_msgs;
	vbridge_q_add(dev, &req->q, false);
	vbridge_stat_inc(dev, VBRIDGE_STAT_FORWARDED);
	spin_unlock(&dev->lock);
	/*
	 * Readers and pollers learn of a queue that was empty; one that was
	 * not had them woken already, and they read until it is empty (a
	 * level-triggered poll looks again, an edge-triggered user reads to
	 * EAGAIN).  wq_has_sleeper() orders nr_msgs before the look at the
	 * wait queue, paired with the reader's prepare_to_wait().
	 */
	if (first && wq_has_sleeper(&dev->be_wq))
		wake_up_interruptible_poll(&dev->be_wq, EPOLLIN | EPOLLRDNORM);

	if (store) {
		acc->result = 0;
		return 0;
	}
	return vbridge_load_wait(dev, req, acc);

fail:
	vbridge_stat_inc(dev, ret == -ETIMEDOUT ? VBRIDGE_STAT_TIMEDOUT :
						  VBRIDGE_STAT_FAILED);
	spin_unlock(&dev->lock);
	vbridge_req_free(req);
	acc->result = ret;
	if (!store)
		acc->data = ~0ULL;
	return 0;

intr:
	vbridge_req_free(req);
	return -EINTR;
}

/* ------------------------------------------------------------------ */
/* VM binding, VMSTOP and acknowledgment                             */
/* ------------------------------------------------------------------ */

/**
 * vbridge_dev_bind() - make a device part of a starting VM
 * @dev: a device declared for @vm's vmid, not bound
 * @vm: the attaching VM
 *
 * Called with the vmid's lock held.  Clears a broken state, resets the
 * interrupt lines, lets mappings of @vm's memory fault in and sends VMSTART
 * to an open backend.
 */
void vbridge_dev_bind(struct vbridge_dev *dev, struct vbridge_vm *vm)
{
	lockdep_assert_held(&vbridge_vmid(dev->cfg.vmid)->lock);
	vbridge_irq_lower_all(dev);
	vbridge_map_bind(dev, vm);

	spin_lock(&dev->lock);
	WRITE_ONCE(dev->vm, vm);
	dev->gen = vm->generation;
	WRITE_ONCE(dev->run_state, VBRIDGE_RUN_RUNNING);
	dev->broken = false;
	dev->stop_pending = false;
	/* An open backend predates this VM: it was never away in its life. */
	dev->down_ms = 0;
	dev->down_since = dev->be_open ? 0 : ktime_get_ns();
	if (dev->be_open)
		vbridge_queue_start(dev, dev->gen, false);
	spin_unlock(&dev->lock);

	wake_up_all(&dev->wq);
	wake_up_interruptible_poll(&dev->be_wq, EPOLLIN | EPOLLRDNORM);
}

/**
 * vbridge_dev_stop() - the device's VM stops
 * @dev: a device bound to @vm
 * @vm: the stopping VM
 *
 * Called with the vmid's lock held, from vbridge_vm_stop().  Fails the
 * device's pending accesses, sends VMSTOP to an open backend (counting one
 * more pending acknowledgment in @vm) and arms the VMSTOP timeout.  With a
 * timeout of 0 it revokes the device's mappings first, before any backend
 * can read VMSTOP.
 *
 * Return: true when an acknowledgment is now pending.
 */
bool vbridge_dev_stop(struct vbridge_dev *dev, struct vbridge_vm *vm)
{
	unsigned int tmo = vbridge_dev_vmstop_timeout(dev);
	struct vbridge_qmsg *q, *tmp;
	struct vbridge_req *req;
	bool broke = false, pending = false;

	lockdep_assert_held(&vbridge_vmid(dev->cfg.vmid)->lock);

	/* Binding and stopping hold the vmid's lock: this cannot change. */
	if (dev->vm != vm || dev->run_state != VBRIDGE_RUN_RUNNING)
		return false;
	/*
	 * vmstop_timeout=0 revokes at once: before VMSTOP is queued, so that
	 * a backend that reads it can no longer reach the guest's memory.
	 */
	if (!tmo)
		vbridge_map_revoke(dev);

	spin_lock(&dev->lock);
	WRITE_ONCE(dev->run_state, VBRIDGE_RUN_STOPPING);
	list_for_each_entry_safe(q, tmp, &dev->msgq, node) {
		if (vbridge_qmsg_is_ctl(dev, q))
			continue;
		req = container_of(q, struct vbridge_req, q);
		vbridge_req_fail_queued(dev, req, -ESHUTDOWN);
	}
	if (vbridge_fail_inflight(dev, -ESHUTDOWN) && !dev->broken) {
		dev->broken = true;
		broke = true;
	}
	if (dev->be_open) {
		atomic_inc(&vm->acks_pending);
		dev->stop_pending = true;
		dev->stop_gen = vm->generation;
		vbridge_queue_stop(dev, vm->generation);
		vbridge_stat_inc(dev, VBRIDGE_STAT_VMSTOPS);
		pending = true;
	}
	spin_unlock(&dev->lock);

	wake_up_all(&dev->wq);
	wake_up_interruptible_poll(&dev->be_wq, EPOLLIN | EPOLLRDNORM);
	if (broke)
		vbridge_nl_event(VBRIDGE_EV_DEV_BROKEN, dev->cfg.vmid,
				 dev->cfg.name, 0, 0);
	/*
	 * The release work cancels this synchronously, and it cannot run
	 * before vbridge_vm_stop() dropped its bias on acks_pending.
	 */
	if (pending)
		queue_delayed_work(vbridge_wq, &dev->stop_work,
				   msecs_to_jiffies(tmo * 1000U));
	return pending;
}

/**
 * vbridge_dev_unbind() - detach a device from its released VM
 * @dev: a device bound to a VM whose every device acknowledged VMSTOP
 *
 * Called with the vmid's lock held (and no other), from the VM's release
 * work.  Revokes every mapping of the VM's memory, stops the VMSTOP timeout
 * and drops the interrupt eventfds.
 */
void vbridge_dev_unbind(struct vbridge_dev *dev)
{
	lockdep_assert_held(&vbridge_vmid(dev->cfg.vmid)->lock);
	vbridge_map_revoke(dev);
	cancel_delayed_work_sync(&dev->stop_work);
	vbridge_irq_unbind_all(dev);

	spin_lock(&dev->lock);
	WRITE_ONCE(dev->vm, NULL);
	WRITE_ONCE(dev->run_state, VBRIDGE_RUN_IDLE);
	dev->stop_pending = false;
	dev->gen = 0;
	dev->down_since = 0;
	dev->down_ms = 0;
	spin_unlock(&dev->lock);
	wake_up_all(&dev->wq);
}

/**
 * vbridge_dev_ack() - a device acknowledges VMSTOP
 * @dev: the device
 * @gen: the generation acknowledged
 * @how: reply, close or timeout
 *
 * Return: 0, or -ESTALE when @gen is not a generation this device still
 * owes an acknowledgment for.
 */
int vbridge_dev_ack(struct vbridge_dev *dev, u64 gen, enum vbridge_ack_how how)
{
	struct vbridge_vm *vm;

	spin_lock(&dev->lock);
	if (!dev->stop_pending || dev->stop_gen != gen) {
		spin_unlock(&dev->lock);
		return -ESTALE;
	}
	dev->stop_pending = false;
	/* Acknowledged before reading it: nothing left to tell. */
	if (how == VBRIDGE_ACK_REPLY && dev->stop_msg.queued)
		vbridge_q_del(dev, &dev->stop_msg);
	vm = dev->vm;
	if (how == VBRIDGE_ACK_AUTO)
		vbridge_stat_inc(dev, VBRIDGE_STAT_AUTOACKS);
	spin_unlock(&dev->lock);

	if (how == VBRIDGE_ACK_AUTO) {
		vbridge_nl_event(VBRIDGE_EV_VMSTOP_AUTOACK, dev->cfg.vmid,
				 dev->cfg.name, gen, 0);
	} else {
		/* Not _sync: this may run in the work itself. */
		cancel_delayed_work(&dev->stop_work);
		vbridge_nl_event(VBRIDGE_EV_VMSTOP_ACK, dev->cfg.vmid,
				 dev->cfg.name, gen, 0);
	}
	/* @vm cannot be released before this: it waits for our ack. */
	vbridge_vm_ack_put(vm);
	return 0;
}

/*
 * VMSTOP timeout: revoke the backend's mappings of the stopping VM's memory,
 * always, then acknowledge on its behalf if autoack is on.  Without autoack
 * the VM keeps waiting for the backend's ack or close.
 */
static void vbridge_dev_stop_timeout(struct work_struct *work)
{
	struct vbridge_dev *dev = container_of(to_delayed_work(work),
					       struct vbridge_dev, stop_work);
	u64 gen;

	spin_lock(&dev->lock);
	if (!dev->stop_pending) {
		spin_unlock(&dev->lock);
		return;
	}
	gen = dev->stop_gen;
	spin_unlock(&dev->lock);

	vbridge_map_revoke(dev);
	if (vbridge_dev_autoack(dev))
		vbridge_dev_ack(dev, gen, VBRIDGE_ACK_AUTO);
}

/* ------------------------------------------------------------------ */
/* Backend side                                                       */
/* ------------------------------------------------------------------ */

/**
 * vbridge_dev_be_open() - a backend opens the device's node
 * @dev: the device
 *
 * Called with the vmid's lock held.  A running VM's VMSTART is queued first.
 * The time the running VM had no backend is kept for VBRIDGE_BE_GET_INFO.
 *
 * Return: 0 or -EBUSY when the node is already open.
 */
int vbridge_dev_be_open(struct vbridge_dev *dev)
{
	u64 down = 0;

	lockdep_assert_held(&vbridge_vmid(dev->cfg.vmid)->lock);

	spin_lock(&dev->lock);
	if (dev->be_open) {
		spin_unlock(&dev->lock);
		return -EBUSY;
	}
	WRITE_ONCE(dev->be_open, true);
	WRITE_ONCE(dev->be_ready, false);
	if (dev->run_state == VBRIDGE_RUN_RUNNING) {
		if (dev->down_since)
			down = div_u64(ktime_get_ns() - dev->down_since,
				       NSEC_PER_MSEC);
		vbridge_queue_start(dev, dev->gen, true);
	}
	dev->down_ms = min_t(u64, down, U32_MAX);
	dev->down_since = 0;
	spin_unlock(&dev->lock);
	return 0;
}

/**
 * vbridge_dev_be_release() - the backend's file is released
 * @dev: the device
 *
 * Its mappings are gone (they held the file).  Its interrupt lines drop
 * and its doorbells and MSI messages are deassigned first, while the node
 * still counts as open: a new opener cannot come in before and lose its
 * own doorbells, messages and line levels to this release.  Then loads it
 * had read fail with -EIO and make the device broken; unread requests stay
 * queued for the next opener; and a pending VMSTOP counts as acknowledged.
 */
void vbridge_dev_be_release(struct vbridge_dev *dev)
{
	struct vbridge_vm *vm;
	bool broke = false, pending;
	u64 gen;

	/* No call on this file can raise a line or add a doorbell anymore. */
	vbridge_irq_lower_all(dev);
	spin_lock(&dev->lock);
	vm = dev->vm;
	if (vm)
		vbridge_vm_get(vm);
	spin_unlock(&dev->lock);
	if (vm)
		vbridge_db_drop_dev(vm, dev);

	spin_lock(&dev->lock);
	if (vbridge_fail_inflight(dev, -EIO) && !dev->broken) {
		dev->broken = true;
		broke = true;
	}
	vbridge_drop_ctl(dev);
	WRITE_ONCE(dev->be_open, false);
	WRITE_ONCE(dev->be_ready, false);
	WRITE_ONCE(dev->poll_us, 0);
	if (dev->run_state == VBRIDGE_RUN_RUNNING)
		dev->down_since = ktime_get_ns();
	pending = dev->stop_pending;
	gen = dev->stop_gen;
	spin_unlock(&dev->lock);
	wake_up_all(&dev->wq);

	if (pending)
		vbridge_dev_ack(dev, gen, VBRIDGE_ACK_CLOSE);
	if (broke)
		vbridge_nl_event(VBRIDGE_EV_DEV_BROKEN, dev->cfg.vmid,
				 dev->cfg.name, 0, 0);
	vbridge_nl_event(VBRIDGE_EV_BACKEND_GONE, dev->cfg.vmid, dev->cfg.name,
			 0, 0);
	if (vm)
		vbridge_vm_put(vm);
}

/* A message the reader copied out is consumed (under dev->lock). */
static void vbridge_q_consume(struct vbridge_dev *dev, struct vbridge_qmsg *q)
{
	struct vbridge_req *req;

	vbridge_q_del(dev, q);
	if (vbridge_qmsg_is_ctl(dev, q))
		return;
	req = container_of(q, struct vbridge_req, q);
	if (req->q.msg.type == VBRIDGE_MSG_STORE) {
		vbridge_req_free(req);
		return;
	}
	req->read_at = jiffies;
	WRITE_ONCE(req->state, VBRIDGE_REQ_READ);
	vbridge_inflight_add(dev, req);
}

/**
 * vbridge_dev_read() - read() on a backend node
 * @dev: the device
 * @buf: user buffer
 * @count: its size
 * @nonblock: O_NONBLOCK
 *
 * Messages are copied under dev->lock into a bounce buffer, copied to user
 * space without it, and then consumed: those still at the head of the
 * queue are popped (a load becomes in flight).  One that vanished meanwhile
 * (its waiter gave up, or the VM stopped) was failed already; a reply to it
 * gets -ENOENT.  Readers are serialized by dev->read_mutex.
 *
 * Return: bytes read (whole messages) or a negative errno.
 */
ssize_t vbridge_dev_read(struct vbridge_dev *dev, char __user *buf,
			 size_t count, bool nonblock)
{
	const size_t sz = sizeof(struct vbridge_msg);
	struct vbridge_qmsg *q;
	unsigned int n, k = 0, i, copied;
	bool full, spun = false;
	unsigned long left;
	ssize_t ret;
	u32 us;

	if (count < sz)
		return -EINVAL;
	n = min_t(size_t, count / sz, VBRIDGE_READ_BATCH);

	if (nonblock) {
		if (!mutex_trylock(&dev->read_mutex))
			return -EAGAIN;
	} else if (mutex_lock_interruptible(&dev->read_mutex)) {
		return -ERESTARTSYS;
	}

	spin_lock(&dev->lock);
	while (!dev->nr_msgs) {
		spin_unlock(&dev->lock);
		/*
		 * Polling mode: spin once for a message before giving up
		 * (O_NONBLOCK) or sleeping.  A spinning reader is not on
		 * @be_wq, so a new message wakes no one.
		 */
		us = spun ? 0 : vbridge_dev_poll_us(dev);
		spun = true;
		if (us && vbridge_spin_until(READ_ONCE(dev->nr_msgs), us)) {
			spin_lock(&dev->lock);
			continue;
		}
		if (nonblock) {
			ret = -EAGAIN;
			goto out;
		}
		ret = wait_event_interruptible(dev->be_wq, READ_ONCE(dev->nr_msgs));
		if (ret)
			goto out;
		spin_lock(&dev->lock);
	}
	list_for_each_entry(q, &dev->msgq, node) {
		if (k == n)
			break;
		dev->bounce[k] = q->msg;
		dev->bounce_seq[k] = q->seq;
		k++;
	}
	spin_unlock(&dev->lock);

	left = copy_to_user(buf, dev->bounce, k * sz);
	copied = (k * sz - left) / sz;

	spin_lock(&dev->lock);
	full = dev->nr_queued >= VBRIDGE_QUEUE_MAX;
	for (i = 0; i < copied; i++) {
		q = list_first_entry_or_null(&dev->msgq, struct vbridge_qmsg, node);
		if (q && q->seq == dev->bounce_seq[i])
			vbridge_q_consume(dev, q);
	}
	spin_unlock(&dev->lock);
	/*
	 * Room for admission waiters (a load withdrawn from a full queue
	 * wakes them itself).  A load becoming in flight needs no wake-up of
	 * its own: its waiter looks at the state again on the reply, a
	 * readiness change, its timeout or a signal, and then waits killably.
	 */
	if (full)
		wake_up_all(&dev->wq);

	ret = copied ? copied * sz : -EFAULT;
out:
	mutex_unlock(&dev->read_mutex);
	return ret;
}

/**
 * vbridge_dev_reply() - one reply written to a backend node
 * @dev: the device
 * @r: the reply, copied from user space
 *
 * Return: 0, -EINVAL for a malformed reply, -ENOENT for a load id that is
 * not in flight, -ESTALE for an acknowledgment of a generation that is not
 * stopping.
 */
int vbridge_dev_reply(struct vbridge_dev *dev, const struct vbridge_reply *r)
{
	struct task_struct *waiter;
	struct vbridge_req *req;

	if (r->size != sizeof(*r) || r->reserved0)
		return -EINVAL;

	switch (r->type) {
	case VBRIDGE_REPLY_LOAD:
		if (r->result > 0 || r->result < -MAX_ERRNO)
			return -EINVAL;
		spin_lock(&dev->lock);
		req = vbridge_inflight_find(dev, r->id);
		if (!req) {
			spin_unlock(&dev->lock);
			return -ENOENT;
		}
		vbridge_inflight_del(req);
		waiter = req->abandoned ? NULL : req->waiter;
		vbridge_stat_inc(dev, VBRIDGE_STAT_COMPLETED);
		if (r->result) {
			vbridge_stat_inc(dev, VBRIDGE_STAT_FAILED);
			vbridge_req_finish(dev, req, -EIO, ~0ULL);
		} else {
			vbridge_req_finish(dev, req, 0,
					   r->data & vbridge_len_mask(req->q.msg.len));
		}
		/*
		 * Only the load's own vCPU thread has anything to learn.  It
		 * sleeps on dev->wq, but cannot leave vbridge_load_wait()
		 * without dev->lock, so it is still there to be woken.
		 */
		if (waiter)
			wake_up_process(waiter);
		spin_unlock(&dev->lock);
		return 0;
	case VBRIDGE_REPLY_VMSTOP_ACK:
		return vbridge_dev_ack(dev, r->id, VBRIDGE_ACK_REPLY);
	default:
		return -EINVAL;
	}
}

int vbridge_dev_set_ready(struct vbridge_dev *dev, bool ready)
{
	bool was;

	spin_lock(&dev->lock);
	was = dev->be_ready;
	WRITE_ONCE(dev->be_ready, ready);
	spin_unlock(&dev->lock);
	wake_up_all(&dev->wq);
	if (ready && !was)
		vbridge_nl_event(VBRIDGE_EV_BACKEND_READY, dev->cfg.vmid,
				 dev->cfg.name, 0, 0);
	return 0;
}

void vbridge_dev_reset(struct vbridge_dev *dev)
{
	spin_lock(&dev->lock);
	dev->broken = false;
	spin_unlock(&dev->lock);
}

/**
 * vbridge_dev_set_poll() - VBRIDGE_BE_SET_POLL: the device's polling mode
 * @dev: the device, whose backend node the caller has open
 * @spin_us: microseconds to spin, 0 for none
 *
 * Return: 0, or -ERANGE when @spin_us is above poll_max_us.
 */
int vbridge_dev_set_poll(struct vbridge_dev *dev, u32 spin_us)
{
	if (spin_us > (u32)max(READ_ONCE(vbridge_poll_max_us), 0))
		return -ERANGE;
	spin_lock(&dev->lock);
	WRITE_ONCE(dev->poll_us, spin_us);
	spin_unlock(&dev->lock);
	return 0;
}

__poll_t vbridge_dev_poll(struct vbridge_dev *dev, struct file *file,
			  poll_table *pt)
{
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	poll_wait(file, &dev->be_wq, pt);
	if (READ_ONCE(dev->nr_msgs))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}
