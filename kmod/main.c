// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-bridge: module entry, parameters and the frontend misc device.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>

#include "virtio_bridge.h"

static int vmstop_timeout = 5;
module_param(vmstop_timeout, int, 0644);
MODULE_PARM_DESC(vmstop_timeout,
		 "Seconds a stopping VM waits for every device's VMSTOP acknowledgement (default 5)");

static bool vmstop_autoack = true;
module_param(vmstop_autoack, bool, 0644);
MODULE_PARM_DESC(vmstop_autoack,
		 "Acknowledge VMSTOP on a silent backend's behalf when the timeout expires (default Y)");

static int retry_timeout_ms = 1000;
module_param(retry_timeout_ms, int, 0644);
MODULE_PARM_DESC(retry_timeout_ms,
		 "Access to a device whose backend is not ready: <0 wait, 0 fail at once, >0 wait up to this many ms (default 1000)");

static long vbridge_fe_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case VBRIDGE_GET_API_VERSION:
		return VBRIDGE_API_VERSION;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations vbridge_fe_fops = {
	.owner = THIS_MODULE,
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

static int __init vbridge_init(void)
{
	return misc_register(&vbridge_fe_misc);
}

static void __exit vbridge_exit(void)
{
	misc_deregister(&vbridge_fe_misc);
}

module_init(vbridge_init);
module_exit(vbridge_exit);

MODULE_DESCRIPTION("virtio-bridge: a virtio bus between KVM VMMs and device providers");
MODULE_AUTHOR("virtio-bridge developers");
MODULE_LICENSE("GPL");
