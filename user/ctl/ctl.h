/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vbridge ctl: what the module reports (devices, VMs, events), how the
 * command line names a device, and the pure helpers that turn one into the
 * other (ctl/args.c, ctl/format.c; unit-tested on the host).  The netlink
 * client is ctl/nl.h, the subcommands are ctl/cmd_*.c.
 */
#ifndef VBRIDGE_CTL_H
#define VBRIDGE_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "virtio_bridge.h"

/**
 * struct ctl_dev - a device as VBRIDGE_CMD_DEV_GET reports it
 * @vmid: frontend vmid
 * @name: device name
 * @id: device id
 * @backend_vmid: where its backend runs
 * @state: VBRIDGE_DEV_S_*
 * @nr_windows: entries of @windows
 * @windows: address windows, ECAM first
 * @nr_irqs: entries of @irqs
 * @irqs: interrupt lines
 * @stats: VBRIDGE_STAT_* counters (index = attribute type)
 * @retry_timeout_ms: effective value
 * @vmstop_timeout: effective value, seconds
 * @vmstop_autoack: effective value
 * @inflight_timeout_ms: effective value, 0: no limit
 * @overridden: CTL_OVR_* bits of the values set on the device itself
 * @has_node: @provider_uid, @provider_gid and @node_mode are known
 * @provider_uid: owner of the backend node
 * @provider_gid: group of the backend node
 * @node_mode: permission bits of the backend node
 * @vmm_uid: who may attach the device's vmid, VBRIDGE_ID_NONE if no one
 * @vmm_gid: whose members may attach it, VBRIDGE_ID_NONE if none
 */
struct ctl_dev {
	uint32_t vmid;
	char name[VBRIDGE_NAME_MAX];
	uint32_t id;
	uint32_t backend_vmid;
	uint32_t state;
	unsigned int nr_windows;
	struct vbridge_window windows[VBRIDGE_MAX_WINDOWS];
	unsigned int nr_irqs;
	struct vbridge_irq irqs[VBRIDGE_MAX_IRQS];
	uint64_t stats[VBRIDGE_STAT_MAX + 1];
	int32_t retry_timeout_ms;
	uint32_t vmstop_timeout;
	bool vmstop_autoack;
	uint32_t inflight_timeout_ms;
	unsigned int overridden;
	bool has_node;
	uint32_t provider_uid, provider_gid, node_mode;
	uint32_t vmm_uid, vmm_gid;
};

#define CTL_OVR_RETRY	(1u << 0)
#define CTL_OVR_TIMEOUT	(1u << 1)
#define CTL_OVR_AUTOACK	(1u << 2)
#define CTL_OVR_INFLIGHT (1u << 3)

/* A VM as VBRIDGE_CMD_VM_GET reports it. */
struct ctl_vm {
	uint32_t vmid;
	uint32_t state;		/* VBRIDGE_VM_S_* */
	uint64_t generation;
	uint32_t pid;		/* 0: not in our pid namespace */
	uint32_t nr_devices;
	uint32_t vmm_uid;	/* VBRIDGE_ID_NONE: no owner uid */
	uint32_t vmm_gid;	/* VBRIDGE_ID_NONE: no owner group */
};

/* One notification of the "events" group. */
struct ctl_event {
	uint32_t ev;		/* VBRIDGE_EV_* */
	bool has_vmid, has_name, has_generation, has_pid;
	uint32_t vmid;
	char name[VBRIDGE_NAME_MAX];
	uint64_t generation;
	uint32_t pid;
};

#define CTL_VM_UID	(1u << 0)
#define CTL_VM_GID	(1u << 1)

/*
 * Settings of ctl set: overrides for VBRIDGE_CMD_DEV_SET, or the owner of
 * a vmid for VBRIDGE_CMD_VM_SET (vm_set; never both in one command).
 */
struct ctl_override {
	bool clear;
	unsigned int set;	/* CTL_OVR_* */
	int32_t retry_timeout_ms;
	uint32_t vmstop_timeout;
	bool vmstop_autoack;
	uint32_t inflight_timeout_ms;
	unsigned int vm_set;	/* CTL_VM_* */
	uint32_t vmm_uid;	/* VBRIDGE_ID_NONE: remove */
	uint32_t vmm_gid;	/* VBRIDGE_ID_NONE: remove */
};

/* A device named on the command line. */
struct ctl_devref {
	bool any_vm;		/* only a name was given */
	uint32_t vmid;
	char name[VBRIDGE_NAME_MAX];
};

/* --- ctl/args.c -------------------------------------------------------- */

/*
 * "vm3/cvm2rb-pci", "/dev/virtio/vm3/cvm2rb-pci", or a bare "cvm2rb-pci"
 * (any VM, resolved against the module's list).  Returns 0 or -EINVAL
 * with err saying why.
 */
int ctl_parse_devref(const char *s, struct ctl_devref *r, char *err, size_t errlen);

/*
 * "retry_timeout_ms=N", "vmstop_timeout=S", "vmstop_autoack=yes|no",
 * "inflight_timeout_ms=N", "clear", any number of them; or the owner of a VM, "vmm_uid=N|none" and
 * "vmm_gid=N|none" (also spelled vmm-uid=, vmm-gid=), not mixed with the
 * others.  Returns 0 or -EINVAL with err naming the argument at fault.
 */
int ctl_parse_set(int argc, char **argv, struct ctl_override *o, char *err, size_t errlen);

/* "vm3" or "/dev/virtio/vm3": a vmid.  0 or -EINVAL with err. */
int ctl_parse_vmref(const char *s, uint32_t *vmid, char *err, size_t errlen);

/* --- ctl/format.c ------------------------------------------------------ */

/* "open,ready,running", or "-" for none; unknown bits as hex. */
const char *ctl_dev_state_str(uint32_t state, char *buf, size_t len);
const char *ctl_vm_state_str(uint32_t state);
/* "vmstart", "backend-ready", ... ("event-N" for unknown ones). */
const char *ctl_event_str(uint32_t ev);
/* One line (no newline): "vmstart vm=3 generation=7 pid=1234". */
void ctl_format_event(const struct ctl_event *e, char *buf, size_t len);
/* The status tables; verbose adds windows, lines and parameters. */
void ctl_print_status(FILE *f, const struct ctl_vm *vms, size_t nr_vms,
		      const struct ctl_dev *devs, size_t nr_devs, bool verbose);

#endif
