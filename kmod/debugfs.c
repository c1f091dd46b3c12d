// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-bridge: debugfs view of devices and VMs.
 *
 *   /sys/kernel/debug/virtio_bridge/devices/vm<N>:<name>   one device
 *   /sys/kernel/debug/virtio_bridge/vms                    running VMs
 *
 * Each device file shows its state, its effective parameters and its
 * counters as "key value" lines.  Removing a file waits for its readers, so
 * a device outlives every read of its file.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "vbridge.h"

static struct dentry *vbridge_debugfs_root;
static struct dentry *vbridge_debugfs_devices;

static const char *const vbridge_stat_names[VBRIDGE_STAT_MAX + 1] = {
	[VBRIDGE_STAT_FORWARDED] = "forwarded",
	[VBRIDGE_STAT_COMPLETED] = "completed",
	[VBRIDGE_STAT_TIMEDOUT] = "timedout",
	[VBRIDGE_STAT_FAILED] = "failed",
	[VBRIDGE_STAT_VMSTOPS] = "vmstops",
	[VBRIDGE_STAT_AUTOACKS] = "autoacks",
	[VBRIDGE_STAT_IRQS] = "irqs",
};

static int vbridge_dev_show(struct seq_file *m, void *v)
{
	struct vbridge_dev *dev = m->private;
	u64 stats[VBRIDGE_STAT_MAX + 1];
	unsigned int queued, inflight = 0;
	struct vbridge_req *req;
	u64 gen;
	u32 state;
	int i;

	state = vbridge_dev_state(dev);
	spin_lock(&dev->lock);
	queued = dev->nr_queued;
	list_for_each_entry(req, &dev->inflight, q.node)
		inflight++;
	gen = dev->vm ? dev->gen : 0;
	spin_unlock(&dev->lock);

	seq_printf(m, "id %u\nvmid %u\nbackend_vmid %u\n", dev->id,
		   dev->cfg.vmid, dev->cfg.backend_vmid);
	seq_printf(m, "open %d\nready %d\nbroken %d\nrunning %d\nstopping %d\n",
		   !!(state & VBRIDGE_DEV_S_OPEN),
		   !!(state & VBRIDGE_DEV_S_READY),
		   !!(state & VBRIDGE_DEV_S_BROKEN),
		   !!(state & VBRIDGE_DEV_S_RUNNING),
		   !!(state & VBRIDGE_DEV_S_STOPPING));
	seq_printf(m, "generation %llu\nqueued %u\ninflight %u\n", gen, queued,
		   inflight);
	seq_printf(m, "retry_timeout_ms %d\nvmstop_timeout %u\nvmstop_autoack %d\n",
		   vbridge_dev_retry_ms(dev), vbridge_dev_vmstop_timeout(dev),
		   vbridge_dev_autoack(dev));
	seq_printf(m, "inflight_timeout_ms %d\n", vbridge_dev_inflight_ms(dev));
	seq_printf(m, "down_ms %u\n", vbridge_dev_down_ms(dev));
	vbridge_dev_stats(dev, stats);
	for (i = VBRIDGE_STAT_FORWARDED; i <= VBRIDGE_STAT_MAX; i++)
		seq_printf(m, "%s %lld\n", vbridge_stat_names[i],
			   (long long)stats[i]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vbridge_dev);

static int vbridge_vms_show(struct seq_file *m, void *unused)
{
	struct vbridge_vmid *v;
	struct vbridge_vm *vm;
	unsigned int i;

	for (i = 0; i <= VBRIDGE_VMID_MAX; i++) {
		v = vbridge_vmid(i);
		if (mutex_lock_killable(&v->lock))
			return -EINTR;
		vm = v->vm;
		if (vm)
			seq_printf(m, "vm%u generation %llu pid %d devices %u %s\n",
				   vm->vmid, vm->generation, vm->pid, vm->nr_devs,
				   vm->life == VBRIDGE_VM_RUNNING ? "running" : "stopping");
		mutex_unlock(&v->lock);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vbridge_vms);

void vbridge_debugfs_init(void)
{
	vbridge_debugfs_root = debugfs_create_dir("virtio_bridge", NULL);
	vbridge_debugfs_devices = debugfs_create_dir("devices",
						     vbridge_debugfs_root);
	debugfs_create_file("vms", 0400, vbridge_debugfs_root, NULL,
			    &vbridge_vms_fops);
}

void vbridge_debugfs_exit(void)
{
	debugfs_remove(vbridge_debugfs_root);
}

void vbridge_debugfs_add_dev(struct vbridge_dev *dev)
{
	char name[VBRIDGE_NAME_MAX + 16];

	snprintf(name, sizeof(name), "vm%u:%s", dev->cfg.vmid, dev->cfg.name);
	dev->debugfs = debugfs_create_file(name, 0400, vbridge_debugfs_devices,
					   dev, &vbridge_dev_fops);
}

void vbridge_debugfs_remove_dev(struct vbridge_dev *dev)
{
	debugfs_remove(dev->debugfs);
	dev->debugfs = NULL;
}
