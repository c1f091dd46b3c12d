// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-bridge: module entry, parameters and global state.
 *
 * The module is a "virtio bus" between KVM VMMs (frontend node
 * /dev/virtio-bridge, frontend.c) and device providers (one backend node
 * /dev/virtio/vm<N>/<name> per declared device, backend.c).  Devices are
 * declared over generic netlink (netlink.c).  See vbridge.h for the objects
 * and the lock order, and Documentation/virtio-bridge/ for the interfaces.
 */
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>

#include "compat.h"
#include "vbridge.h"

int vbridge_vmstop_timeout = 5;
bool vbridge_vmstop_autoack = true;
int vbridge_retry_timeout_ms = 1000;
int vbridge_inflight_timeout_ms;
int vbridge_poll_max_us = 1000;

/* An int parameter of 0..max. */
static int vbridge_param_set_range(const char *val,
				   const struct kernel_param *kp, int max)
{
	int v, ret;

	ret = kstrtoint(val, 0, &v);
	if (ret)
		return ret;
	if (v < 0 || v > max)
		return -EINVAL;
	WRITE_ONCE(*(int *)kp->arg, v);
	return 0;
}

/* vmstop_timeout: seconds, 0..VBRIDGE_VMSTOP_TIMEOUT_MAX. */
static int vbridge_param_set_timeout(const char *val,
				     const struct kernel_param *kp)
{
	return vbridge_param_set_range(val, kp, VBRIDGE_VMSTOP_TIMEOUT_MAX);
}

static const struct kernel_param_ops vbridge_timeout_ops = {
	.set = vbridge_param_set_timeout,
	.get = param_get_int,
};

module_param_cb(vmstop_timeout, &vbridge_timeout_ops, &vbridge_vmstop_timeout, 0644);
MODULE_PARM_DESC(vmstop_timeout,
		 "Seconds a stopping VM waits for every device's VMSTOP acknowledgment, 0..86400 (default 5)");

module_param_named(vmstop_autoack, vbridge_vmstop_autoack, bool, 0644);
MODULE_PARM_DESC(vmstop_autoack,
		 "Acknowledge VMSTOP on a silent backend's behalf when the timeout expires (default Y)");

/* retry_timeout_ms: a new value reaches the accesses already waiting. */
static int vbridge_param_set_retry(const char *val,
				   const struct kernel_param *kp)
{
	int ret = param_set_int(val, kp);

	if (!ret)
		vbridge_dev_params_changed();
	return ret;
}

static const struct kernel_param_ops vbridge_retry_ops = {
	.set = vbridge_param_set_retry,
	.get = param_get_int,
};

module_param_cb(retry_timeout_ms, &vbridge_retry_ops, &vbridge_retry_timeout_ms, 0644);
MODULE_PARM_DESC(retry_timeout_ms,
		 "Access to a device whose backend is not ready: <0 wait, 0 fail at once, >0 wait up to this many ms (default 1000)");

/*
 * inflight_timeout_ms: 0..VBRIDGE_INFLIGHT_TIMEOUT_MAX; a new value reaches
 * the loads already waiting.
 */
static int vbridge_param_set_inflight(const char *val,
				      const struct kernel_param *kp)
{
	int ret = vbridge_param_set_range(val, kp,
					  VBRIDGE_INFLIGHT_TIMEOUT_MAX);

	if (!ret)
		vbridge_dev_params_changed();
	return ret;
}

static const struct kernel_param_ops vbridge_inflight_ops = {
	.set = vbridge_param_set_inflight,
	.get = param_get_int,
};

module_param_cb(inflight_timeout_ms, &vbridge_inflight_ops,
		&vbridge_inflight_timeout_ms, 0644);
MODULE_PARM_DESC(inflight_timeout_ms,
		 "A load the backend has read and not answered fails after this many ms and marks the device broken, 0..3600000; 0 waits for the answer (default 0)");

/*
 * poll_max_us: 0..VBRIDGE_POLL_MAX_US; bounds every device's polling mode
 * from the next spin on, so lowering it reaches the devices that poll.
 */
static int vbridge_param_set_poll(const char *val,
				  const struct kernel_param *kp)
{
	return vbridge_param_set_range(val, kp, VBRIDGE_POLL_MAX_US);
}

static const struct kernel_param_ops vbridge_poll_ops = {
	.set = vbridge_param_set_poll,
	.get = param_get_int,
};

module_param_cb(poll_max_us, &vbridge_poll_ops, &vbridge_poll_max_us, 0644);
MODULE_PARM_DESC(poll_max_us,
		 "The longest spin a backend may choose for its device's polling mode (VBRIDGE_BE_SET_POLL), 0..10000 us; 0 forbids polling (default 1000)");

/* The device table; each vmid's own state: see vbridge.h. */
DEFINE_MUTEX(vbridge_devs_lock);
DEFINE_XARRAY_ALLOC1(vbridge_devs);
struct vbridge_vmid vbridge_vmids[VBRIDGE_VMID_MAX + 1];
DEFINE_XARRAY(vbridge_memfds);
DECLARE_WAIT_QUEUE_HEAD(vbridge_release_wq);
struct workqueue_struct *vbridge_wq;
VBRIDGE_CLASS_CONST struct class vbridge_class =
	VBRIDGE_CLASS_INIT("virtio-bridge");
dev_t vbridge_devt;

static int __init vbridge_init(void)
{
	int ret;

	/* The sizes uapi.rst documents: read() and write() move whole ones. */
	BUILD_BUG_ON(sizeof(struct vbridge_msg) != 64);
	BUILD_BUG_ON(sizeof(struct vbridge_reply) != 32);

	vbridge_vmids_init();
	ret = vbridge_dev_init();
	if (ret)
		return ret;
	vbridge_wq = alloc_workqueue("virtio_bridge", 0, 0);
	if (!vbridge_wq) {
		ret = -ENOMEM;
		goto err_dev;
	}

	ret = alloc_chrdev_region(&vbridge_devt, 0, VBRIDGE_NR_MINORS,
				  "virtio-bridge");
	if (ret)
		goto err_wq;

	ret = class_register(&vbridge_class);
	if (ret)
		goto err_chrdev;

	vbridge_debugfs_init();

	ret = vbridge_frontend_init();
	if (ret)
		goto err_class;

	ret = vbridge_nl_init();
	if (ret)
		goto err_frontend;

	return 0;

err_frontend:
	vbridge_frontend_exit();
err_class:
	vbridge_debugfs_exit();
	class_unregister(&vbridge_class);
err_chrdev:
	unregister_chrdev_region(vbridge_devt, VBRIDGE_NR_MINORS);
err_wq:
	destroy_workqueue(vbridge_wq);
err_dev:
	vbridge_dev_exit();
	return ret;
}

/*
 * Every open node, and every guest RAM mapping made through a backend
 * node, holds a module reference (fops.owner), so when this runs no such
 * file is open.  A VM whose frontend and backends are all closed is
 * released by a work item: flush those (they send events) before the
 * netlink family and the devices they reference go away.
 */
static void __exit vbridge_exit(void)
{
	vbridge_frontend_exit();
	flush_workqueue(vbridge_wq);
	vbridge_nl_exit();
	vbridge_dev_remove_all();
	destroy_workqueue(vbridge_wq);
	vbridge_debugfs_exit();
	class_unregister(&vbridge_class);
	unregister_chrdev_region(vbridge_devt, VBRIDGE_NR_MINORS);
	vbridge_dev_exit();
}

module_init(vbridge_init);
module_exit(vbridge_exit);

MODULE_DESCRIPTION("virtio-bridge: a virtio bus between KVM VMMs and device providers");
MODULE_AUTHOR("virtio-bridge developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(VBRIDGE_VERSION);
