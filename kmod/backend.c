// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-bridge: the backend nodes /dev/virtio/vm<N>/<name>, used by device
 * providers.  One opener at a time.  read() returns requests and VMSTART/
 * VMSTOP messages (device.c), write() takes replies and acknowledgments,
 * mmap() maps the running VM's RAM (mmap.c), ioctls set interrupt levels,
 * doorbells, MSI messages, readiness and the state blob, and make files
 * that map RAM from offset 0 (mmap.c).
 */
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vbridge.h"

/*
 * The cdev being opened is the device's own, and the open holds it (and
 * with it the device, its parent) until it returns; a device removed
 * meanwhile has @removed set under its vmid's lock.
 */
static int vbridge_be_open(struct inode *inode, struct file *file)
{
	struct vbridge_dev *dev = container_of(inode->i_cdev,
					       struct vbridge_dev, cdev);
	struct vbridge_vmid *v = vbridge_vmid(dev->cfg.vmid);
	int ret;

	if (mutex_lock_killable(&v->lock))
		return -EINTR;
	if (dev->removed) {
		ret = -ENODEV;
		goto out;
	}
	ret = vbridge_dev_be_open(dev);
	if (ret)
		goto out;
	vbridge_dev_get(dev);
	file->private_data = dev;
out:
	mutex_unlock(&v->lock);
	if (ret)
		return ret;
	return stream_open(inode, file);
}

static int vbridge_be_release(struct inode *inode, struct file *file)
{
	struct vbridge_dev *dev = file->private_data;

	vbridge_dev_be_release(dev);
	vbridge_dev_put(dev);
	return 0;
}

static ssize_t vbridge_be_read(struct file *file, char __user *buf,
			       size_t count, loff_t *ppos)
{
	return vbridge_dev_read(file->private_data, buf, count,
				file->f_flags & O_NONBLOCK);
}

static ssize_t vbridge_be_write(struct file *file, const char __user *buf,
				size_t count, loff_t *ppos)
{
	struct vbridge_dev *dev = file->private_data;
	struct vbridge_reply r;
	size_t done = 0;
	int ret = 0;

	if (count < sizeof(r))
		return -EINVAL;
	while (count - done >= sizeof(r)) {
		if (copy_from_user(&r, buf + done, sizeof(r))) {
			ret = -EFAULT;
			break;
		}
		ret = vbridge_dev_reply(dev, &r);
		if (ret)
			break;
		done += sizeof(r);
	}
	return done ? done : ret;
}

static __poll_t vbridge_be_poll(struct file *file, poll_table *pt)
{
	return vbridge_dev_poll(file->private_data, file, pt);
}

static long vbridge_be_get_info(struct vbridge_dev *dev, void __user *uarg)
{
	struct vbridge_backend_info *info;
	struct vbridge_vm *vm;
	long ret;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	info->api_version = VBRIDGE_API_VERSION;
	info->id = dev->id;
	strscpy(info->name, dev->cfg.name, sizeof(info->name));
	info->vmid = dev->cfg.vmid;
	info->backend_vmid = dev->cfg.backend_vmid;
	info->state = vbridge_dev_state(dev);
	info->nr_windows = dev->cfg.nr_windows;
	info->nr_irqs = dev->cfg.nr_irqs;
	memcpy(info->windows, dev->cfg.windows,
	       dev->cfg.nr_windows * sizeof(info->windows[0]));
	memcpy(info->irqs, dev->cfg.irqs,
	       dev->cfg.nr_irqs * sizeof(info->irqs[0]));
	info->flags = VBRIDGE_BE_INFO_F_RETRY;
	info->retry_timeout_ms = vbridge_dev_retry_ms(dev);
	info->down_ms = vbridge_dev_down_ms(dev);
	info->poll_us = READ_ONCE(dev->poll_us);
	vm = vbridge_dev_running_vm(dev);
	if (vm) {
		info->generation = vm->generation;
		if (vm->attach_flags & VBRIDGE_ATTACH_F_MSI)
			info->flags |= VBRIDGE_BE_INFO_F_MSI;
		info->nr_regions = vbridge_vm_copy_regions(vm, info->regions,
							   VBRIDGE_MAX_REGIONS);
		vbridge_vm_put(vm);
	}
	ret = copy_to_user(uarg, info, sizeof(*info)) ? -EFAULT : 0;
	kfree(info);
	return ret;
}

/* VBRIDGE_BE_ADD_DOORBELL, or with @msi VBRIDGE_BE_ADD_MSI. */
static long vbridge_be_add_db(struct vbridge_dev *dev, void __user *uarg,
			      bool msi)
{
	union {
		struct vbridge_doorbell_req db;
		struct vbridge_msi_req msi;
	} req;
	size_t size = msi ? sizeof(req.msi) : sizeof(req.db);
	u32 id;
	int ret;

	if (copy_from_user(&req, uarg, size))
		return -EFAULT;
	if (msi) {
		ret = vbridge_msi_add(dev, &req.msi);
		id = req.msi.id;
	} else {
		ret = vbridge_db_add(dev, &req.db);
		id = req.db.id;
	}
	if (ret)
		return ret;
	if (copy_to_user(uarg, &req, size)) {
		/* The caller cannot know the id: take it back. */
		vbridge_db_del(dev, id, msi);
		return -EFAULT;
	}
	return 0;
}

/*
 * The state blob (up to VBRIDGE_STATE_MAX, 64 KiB) is copied from and to
 * user space with dev->state_mutex not held: a provider whose buffer
 * faults slowly (userfaultfd, FUSE) must not hold up the other calls on
 * its node.  It is allocated with kvmalloc() (no order-4 kmalloc) and
 * charged to the caller's memory cgroup.  The mutex is taken killably.
 */
static long vbridge_be_set_state(struct vbridge_dev *dev, void __user *uarg)
{
	struct vbridge_state_blob s;
	void *blob = NULL, *old;

	if (copy_from_user(&s, uarg, sizeof(s)))
		return -EFAULT;
	if (s.flags || s.reserved[0] || s.reserved[1] ||
	    s.len > VBRIDGE_STATE_MAX)
		return -EINVAL;
	if (s.len) {
		blob = kvmalloc(s.len, GFP_KERNEL_ACCOUNT);
		if (!blob)
			return -ENOMEM;
		if (copy_from_user(blob, u64_to_user_ptr(s.buf), s.len)) {
			kvfree(blob);
			return -EFAULT;
		}
	}
	if (mutex_lock_killable(&dev->state_mutex)) {
		kvfree(blob);
		return -EINTR;
	}
	old = dev->state_blob;
	dev->state_blob = blob;
	dev->state_len = s.len;
	mutex_unlock(&dev->state_mutex);
	kvfree(old);
	return 0;
}

static long vbridge_be_get_state(struct vbridge_dev *dev, void __user *uarg)
{
	struct vbridge_state_blob s;
	void *copy = NULL;
	u32 len;

	if (copy_from_user(&s, uarg, sizeof(s)))
		return -EFAULT;
	if (s.flags || s.reserved[0] || s.reserved[1])
		return -EINVAL;
	if (mutex_lock_killable(&dev->state_mutex))
		return -EINTR;
	len = dev->state_len;
	if (s.len < len) {
		mutex_unlock(&dev->state_mutex);
		/* Says how much room it takes. */
		s.len = len;
		return copy_to_user(uarg, &s, sizeof(s)) ? -EFAULT : -ENOSPC;
	}
	if (len) {
		copy = kvmalloc(len, GFP_KERNEL_ACCOUNT);
		if (!copy) {
			mutex_unlock(&dev->state_mutex);
			return -ENOMEM;
		}
		memcpy(copy, dev->state_blob, len);
	}
	mutex_unlock(&dev->state_mutex);

	s.len = len;
	if ((len && copy_to_user(u64_to_user_ptr(s.buf), copy, len)) ||
	    copy_to_user(uarg, &s, sizeof(s))) {
		kvfree(copy);
		return -EFAULT;
	}
	kvfree(copy);
	return 0;
}

static long vbridge_be_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct vbridge_dev *dev = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct vbridge_irq_level lvl;
	struct vbridge_poll poll;

	switch (cmd) {
	case VBRIDGE_GET_API_VERSION:
		return VBRIDGE_API_VERSION;
	case VBRIDGE_BE_GET_INFO:
		return vbridge_be_get_info(dev, uarg);
	case VBRIDGE_BE_SET_READY:
		if (arg > 1)
			return -EINVAL;
		return vbridge_dev_set_ready(dev, arg);
	case VBRIDGE_BE_SET_IRQ:
		if (copy_from_user(&lvl, uarg, sizeof(lvl)))
			return -EFAULT;
		return vbridge_irq_set_level(dev, &lvl);
	case VBRIDGE_BE_ADD_DOORBELL:
		return vbridge_be_add_db(dev, uarg, false);
	case VBRIDGE_BE_ADD_MSI:
		return vbridge_be_add_db(dev, uarg, true);
	case VBRIDGE_BE_DEL_DOORBELL:
	case VBRIDGE_BE_DEL_MSI:
		if (arg > U32_MAX)
			return -EINVAL;
		return vbridge_db_del(dev, arg, cmd == VBRIDGE_BE_DEL_MSI);
	case VBRIDGE_BE_SET_STATE:
		return vbridge_be_set_state(dev, uarg);
	case VBRIDGE_BE_GET_STATE:
		return vbridge_be_get_state(dev, uarg);
	case VBRIDGE_BE_RESET:
		vbridge_dev_reset(dev);
		return 0;
	case VBRIDGE_BE_MEM_FD:
		return vbridge_be_mem_fd(file, uarg);
	case VBRIDGE_BE_SET_POLL:
		if (copy_from_user(&poll, uarg, sizeof(poll)))
			return -EFAULT;
		if (poll.flags || poll.reserved)
			return -EINVAL;
		return vbridge_dev_set_poll(dev, poll.spin_us);
	default:
		return -ENOTTY;
	}
}

const struct file_operations vbridge_backend_fops = {
	.owner = THIS_MODULE,
	.open = vbridge_be_open,
	.release = vbridge_be_release,
	.read = vbridge_be_read,
	.write = vbridge_be_write,
	.poll = vbridge_be_poll,
	.mmap = vbridge_be_mmap,
	.unlocked_ioctl = vbridge_be_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};
