// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-bridge: the frontend node /dev/virtio-bridge, used by VMMs.
 *
 * Every open file is a &struct vbridge_vm.  The VMM may register guest RAM
 * (VBRIDGE_ADD_REGION) before or after VBRIDGE_ATTACH; registering it
 * before means backends find every region when they get VMSTART.  After
 * attach it binds its interrupt eventfds (VBRIDGE_SET_IRQFD), fetches
 * doorbells (poll + VBRIDGE_GET_DOORBELL) and forwards the guest's accesses
 * to bridged windows (VBRIDGE_ACCESS), from any number of vCPU threads.
 * Closing the file, or VBRIDGE_STOP, stops the VM.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vbridge.h"

static int vbridge_fe_open(struct inode *inode, struct file *file)
{
	struct vbridge_vm *vm = vbridge_vm_alloc();

	if (!vm)
		return -ENOMEM;
	file->private_data = vm;
	return stream_open(inode, file);
}

static int vbridge_fe_release(struct inode *inode, struct file *file)
{
	struct vbridge_vm *vm = file->private_data;

	vbridge_vm_stop(vm);
	vbridge_vm_put(vm);
	return 0;
}

static __poll_t vbridge_fe_poll(struct file *file, poll_table *pt)
{
	struct vbridge_vm *vm = file->private_data;

	poll_wait(file, &vm->db_wq, pt);
	return vbridge_db_pending(vm) ? EPOLLIN | EPOLLRDNORM : 0;
}

/* -ENOTCONN before attach, -ESHUTDOWN once stopped, else 0. */
static int vbridge_fe_running(struct vbridge_vm *vm)
{
	/* Pairs with the release in attach: vm->devs is valid once RUNNING. */
	switch (smp_load_acquire(&vm->life)) {
	case VBRIDGE_VM_DETACHED:
		return -ENOTCONN;
	case VBRIDGE_VM_RUNNING:
		return 0;
	default:
		return -ESHUTDOWN;
	}
}

static long vbridge_fe_attach(struct file *file, struct vbridge_vm *vm,
			      struct vbridge_attach __user *uarg)
{
	struct vbridge_attach a;
	int ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags & ~VBRIDGE_ATTACH_F_MSI || a.reserved0 ||
	    a.reserved[0] || a.reserved[1] || a.vmid > VBRIDGE_VMID_MAX)
		return -EINVAL;
	/* Prove the result can be written before the VM starts. */
	if (copy_to_user(uarg, &a, sizeof(a)))
		return -EFAULT;

	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	if (vm->life != VBRIDGE_VM_DETACHED) {
		ret = -EBUSY;	/* one attach per open file */
		goto out;
	}
	ret = vbridge_vm_attach(vm, a.vmid, a.flags,
				file->f_flags & O_NONBLOCK);
	if (ret)
		goto out;
	a.nr_devices = vm->nr_devs;
	a.generation = vm->generation;
	if (copy_to_user(uarg, &a, sizeof(a)))
		ret = -EFAULT;
out:
	mutex_unlock(&vm->lock);
	return ret;
}

static long vbridge_fe_get_device(struct vbridge_vm *vm,
				  struct vbridge_device_info __user *uarg)
{
	struct vbridge_device_info *info;
	struct vbridge_dev *dev;
	u32 index;
	long ret;

	info = kmalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	ret = -EFAULT;
	if (copy_from_user(info, uarg, sizeof(*info)))
		goto out;
	ret = -EINVAL;
	if (memchr_inv(info->reserved, 0, sizeof(info->reserved)))
		goto out;
	ret = vbridge_fe_running(vm);
	if (ret == -ENOTCONN)
		goto out;
	ret = -EINVAL;
	index = info->index;
	if (index >= vm->nr_devs)
		goto out;

	dev = vm->devs[index];
	memset(info, 0, sizeof(*info));
	info->index = index;
	info->id = dev->id;
	strscpy(info->name, dev->cfg.name, sizeof(info->name));
	info->backend_vmid = dev->cfg.backend_vmid;
	info->state = vbridge_dev_state(dev);
	info->nr_windows = dev->cfg.nr_windows;
	info->nr_irqs = dev->cfg.nr_irqs;
	memcpy(info->windows, dev->cfg.windows,
	       dev->cfg.nr_windows * sizeof(info->windows[0]));
	memcpy(info->irqs, dev->cfg.irqs,
	       dev->cfg.nr_irqs * sizeof(info->irqs[0]));
	ret = copy_to_user(uarg, info, sizeof(*info)) ? -EFAULT : 0;
out:
	kfree(info);
	return ret;
}

static long vbridge_fe_add_region(struct vbridge_vm *vm,
				  struct vbridge_mem_region __user *uarg)
{
	struct vbridge_mem_region r;
	long ret;

	if (copy_from_user(&r, uarg, sizeof(r)))
		return -EFAULT;
	if (r.flags || r.reserved[0] || r.reserved[1])
		return -EINVAL;
	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	ret = vbridge_fe_running(vm);
	if (ret == -ENOTCONN)
		ret = 0;	/* regions may come before attach */
	if (!ret)
		ret = vbridge_vm_add_region(vm, &r);
	mutex_unlock(&vm->lock);
	return ret;
}

static long vbridge_fe_set_irqfd(struct vbridge_vm *vm,
				 struct vbridge_irqfd __user *uarg)
{
	struct vbridge_irqfd a;
	struct vbridge_dev *dev;
	long ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.reserved0 || a.reserved[0] || a.reserved[1])
		return -EINVAL;
	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	ret = vbridge_fe_running(vm);
	if (ret)
		goto out;
	dev = vbridge_vm_find_dev(vm, a.device_id);
	ret = -ENOENT;
	if (dev)
		ret = vbridge_irq_set_irqfd(vm, dev, &a);
out:
	mutex_unlock(&vm->lock);
	return ret;
}

static long vbridge_fe_access(struct vbridge_vm *vm,
			      struct vbridge_access __user *uarg)
{
	struct vbridge_access a;
	struct vbridge_dev *dev;
	u32 window;
	int ret, state;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags & ~VBRIDGE_ACCESS_F_WRITE || a.reserved0 ||
	    a.reserved[0] || a.reserved[1])
		return -EINVAL;
	if (a.len != 1 && a.len != 2 && a.len != 4 && a.len != 8)
		return -EINVAL;
	state = vbridge_fe_running(vm);
	if (state == -ENOTCONN)
		return -ENOTCONN;

	ret = vbridge_vm_lookup(vm, a.addr, a.len, &dev, &window);
	if (ret == -EINVAL)
		return -EINVAL;
	if (state || ret) {
		a.result = state ?: ret;
		if (!(a.flags & VBRIDGE_ACCESS_F_WRITE))
			a.data = ~0ULL;
	} else {
		ret = vbridge_dev_access(dev, vm, window, &a);
		if (ret)
			return ret;
	}
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

static long vbridge_fe_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct vbridge_vm *vm = file->private_data;
	void __user *uarg = (void __user *)arg;
	long ret;

	switch (cmd) {
	case VBRIDGE_GET_API_VERSION:
		return VBRIDGE_API_VERSION;
	case VBRIDGE_ATTACH:
		return vbridge_fe_attach(file, vm, uarg);
	case VBRIDGE_GET_DEVICE:
		return vbridge_fe_get_device(vm, uarg);
	case VBRIDGE_ADD_REGION:
		return vbridge_fe_add_region(vm, uarg);
	case VBRIDGE_SET_IRQFD:
		return vbridge_fe_set_irqfd(vm, uarg);
	case VBRIDGE_ACCESS:
		return vbridge_fe_access(vm, uarg);
	case VBRIDGE_GET_DOORBELL:
		if (vbridge_fe_running(vm) == -ENOTCONN)
			return -ENOTCONN;
		return vbridge_db_get(vm, uarg);
	case VBRIDGE_STOP:
		if (mutex_lock_killable(&vm->lock))
			return -EINTR;
		ret = vbridge_fe_running(vm);
		if (ret != -ENOTCONN) {
			vbridge_vm_stop(vm);
			ret = 0;
		}
		mutex_unlock(&vm->lock);
		return ret;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations vbridge_fe_fops = {
	.owner = THIS_MODULE,
	.open = vbridge_fe_open,
	.release = vbridge_fe_release,
	.poll = vbridge_fe_poll,
	.unlocked_ioctl = vbridge_fe_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice vbridge_fe_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "virtio-bridge",
	.fops = &vbridge_fe_fops,
	.mode = 0600,
};

int vbridge_frontend_init(void)
{
	return misc_register(&vbridge_fe_misc);
}

void vbridge_frontend_exit(void)
{
	misc_deregister(&vbridge_fe_misc);
}
