/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * virtio-bridge: forward a KVM guest's accesses to virtio-pci windows to a
 * device provider running in another process, over a kernel "virtio bus".
 *
 * Three interfaces:
 *
 *  - the frontend node /dev/virtio-bridge, used by a VMM: attach to a vmid,
 *    register guest RAM and interrupt eventfds, forward loads and stores that
 *    hit a bridged window, receive doorbell (ioeventfd) registrations;
 *  - one backend node /dev/virtio/vm<N>/<name> per declared device, used by
 *    the device provider: read() requests and VMSTART/VMSTOP messages,
 *    write() replies and the VMSTOP acknowledgment, mmap() the guest's RAM
 *    at offset = guest-physical address, set interrupt line levels;
 *  - the generic netlink family "virtio_bridge" that declares devices and
 *    reports state, counters and events (multicast group "events").
 *
 * Rules common to all structures: fixed size, every reserved field and every
 * undefined flag bit must be zero (-EINVAL otherwise), pointers travel as
 * __u64, and the kernel clears every byte it copies out.
 *
 * Documentation/virtio-bridge/uapi.rst describes every call and its errors.
 */
#ifndef _UAPI_VIRTIO_BRIDGE_H
#define _UAPI_VIRTIO_BRIDGE_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#define VBRIDGE_API_VERSION		1

#define VBRIDGE_FRONTEND_NODE		"/dev/virtio-bridge"
#define VBRIDGE_GENL_NAME		"virtio_bridge"
#define VBRIDGE_GENL_VERSION		1
#define VBRIDGE_GENL_MCGRP_EVENTS	"events"

/* Limits. */
#define VBRIDGE_NAME_MAX	32	/* device name incl. the NUL */
#define VBRIDGE_VMID_MAX	1023	/* vmids are 0..VBRIDGE_VMID_MAX */
#define VBRIDGE_MAX_WINDOWS	8	/* window 0: ECAM/config, then BARs */
#define VBRIDGE_MAX_IRQS	32	/* interrupt lines per device */
#define VBRIDGE_MAX_REGIONS	16	/* guest RAM regions per VM */
#define VBRIDGE_MAX_DOORBELLS	64	/* doorbells per device */
#define VBRIDGE_MAX_MSIS	256	/* MSI messages per device */
#define VBRIDGE_STATE_MAX	65536	/* device-state blob, bytes */

/**
 * struct vbridge_window - a guest-physical address window of a device
 * @addr: first guest-physical address, page aligned
 * @size: size in bytes, page aligned, non-zero
 */
struct vbridge_window {
	__u64 addr;
	__u64 size;
};

/* vbridge_irq.flags */
#define VBRIDGE_IRQ_F_LEVEL	_BITUL(0)	/* level-triggered line */

/**
 * struct vbridge_irq - an interrupt line as the guest platform numbers it
 * @num: guest interrupt number: GIC SPI number on arm64, IOAPIC GSI on x86
 * @flags: VBRIDGE_IRQ_F_*
 */
struct vbridge_irq {
	__u32 num;
	__u32 flags;
};

/* Device state bits, reported in flags/state fields and over netlink. */
#define VBRIDGE_DEV_S_OPEN	_BITUL(0)	/* backend node is open */
#define VBRIDGE_DEV_S_READY	_BITUL(1)	/* backend declared itself ready */
#define VBRIDGE_DEV_S_BROKEN	_BITUL(2)	/* a read request was lost */
#define VBRIDGE_DEV_S_RUNNING	_BITUL(3)	/* its frontend VM is running */
#define VBRIDGE_DEV_S_STOPPING	_BITUL(4)	/* VMSTOP not yet acknowledged */

/*
 * 0xB9: unassigned in Documentation/userspace-api/ioctl/ioctl-number.rst of
 * Linux 6.12 (0xB8 01-02 is uapi/misc/mrvl_cn10k_dpi.h).
 */
#define VBRIDGE_IOCTL_MAGIC	0xB9

/* ------------------------------------------------------------------------ */
/* Frontend: /dev/virtio-bridge                                             */
/* ------------------------------------------------------------------------ */

/*
 * VBRIDGE_GET_API_VERSION: returns VBRIDGE_API_VERSION.  Valid on both the
 * frontend and the backend nodes.
 */
#define VBRIDGE_GET_API_VERSION	_IO(VBRIDGE_IOCTL_MAGIC, 0x00)

/* vbridge_attach.flags */
#define VBRIDGE_ATTACH_F_MSI	_BITUL(0)	/* the VMM routes backends' MSIs */

/**
 * struct vbridge_attach - VBRIDGE_ATTACH argument
 * @vmid: the VM this file descriptor will run (0..VBRIDGE_VMID_MAX)
 * @flags: VBRIDGE_ATTACH_F_* or 0
 * @nr_devices: out: devices declared for @vmid at attach time
 * @generation: out: this VM instance's number, also in VMSTART/VMSTOP
 * @reserved0: must be 0
 * @reserved: must be 0
 *
 * One attach per open file.  While an earlier VM of the same vmid is still
 * stopping, the call waits (killable) until every device has acknowledged;
 * with O_NONBLOCK it fails with -EBUSY instead.  A vmid held by another
 * running VM fails with -EBUSY at once.
 *
 * Only the vmid's owner may attach it: the caller's fsuid is the owner uid
 * (VBRIDGE_A_VMM_UID), or the caller is in the owner group
 * (VBRIDGE_A_VMM_GID), or it has CAP_SYS_ADMIN; anyone else gets -EPERM.
 * A vmid without an owner can be attached with CAP_SYS_ADMIN only.
 */
struct vbridge_attach {
	__u32 vmid;
	__u32 flags;
	__u32 nr_devices;
	__u32 reserved0;
	__u64 generation;
	__u64 reserved[2];
};

#define VBRIDGE_ATTACH		_IOWR(VBRIDGE_IOCTL_MAGIC, 0x01, struct vbridge_attach)

/**
 * struct vbridge_device_info - VBRIDGE_GET_DEVICE argument
 * @index: in: 0..nr_devices-1
 * @id: out: the device's id, used by VBRIDGE_SET_IRQFD and doorbells
 * @name: out: NUL-terminated device name
 * @backend_vmid: out: the VM (or host, 0) where its backend runs
 * @state: out: VBRIDGE_DEV_S_* at the time of the call
 * @nr_windows: out: valid entries in @windows
 * @nr_irqs: out: valid entries in @irqs
 * @windows: out: address windows; window 0 is the PCI config (ECAM) window
 * @irqs: out: interrupt lines, in the order of the declaration
 * @reserved: must be 0
 */
struct vbridge_device_info {
	__u32 index;
	__u32 id;
	char name[VBRIDGE_NAME_MAX];
	__u32 backend_vmid;
	__u32 state;
	__u32 nr_windows;
	__u32 nr_irqs;
	struct vbridge_window windows[VBRIDGE_MAX_WINDOWS];
	struct vbridge_irq irqs[VBRIDGE_MAX_IRQS];
	__u64 reserved[4];
};

#define VBRIDGE_GET_DEVICE	_IOWR(VBRIDGE_IOCTL_MAGIC, 0x02, struct vbridge_device_info)

/**
 * struct vbridge_mem_region - VBRIDGE_ADD_REGION argument
 * @guest_phys_addr: first guest-physical address, page aligned
 * @size: bytes, page aligned, non-zero
 * @fd_offset: offset of @guest_phys_addr in the memfd, page aligned
 * @fd: a memfd (shmem file) sealed with F_SEAL_SHRINK whose size covers
 *      @fd_offset + @size
 * @flags: must be 0
 * @reserved: must be 0
 *
 * Regions may not overlap each other; at most VBRIDGE_MAX_REGIONS.  The
 * module holds a reference on the memfd until the VM is released.
 */
struct vbridge_mem_region {
	__u64 guest_phys_addr;
	__u64 size;
	__u64 fd_offset;
	__s32 fd;
	__u32 flags;
	__u64 reserved[2];
};

#define VBRIDGE_ADD_REGION	_IOW(VBRIDGE_IOCTL_MAGIC, 0x03, struct vbridge_mem_region)

/**
 * struct vbridge_irqfd - VBRIDGE_SET_IRQFD argument
 * @device_id: from struct vbridge_device_info
 * @line: index into the device's interrupt lines
 * @fd: eventfd the VMM bound with KVM_IRQFD, or -1 to unbind
 * @resamplefd: for level-triggered lines bound with KVM_IRQFD_FLAG_RESAMPLE:
 *      the resample eventfd; the module re-asserts the line after each EOI
 *      for as long as the backend holds it high.  -1 for edge semantics
 *      (every rising edge signals @fd once).
 * @flags: must be 0
 * @reserved0: must be 0
 * @reserved: must be 0
 */
struct vbridge_irqfd {
	__u32 device_id;
	__u32 line;
	__s32 fd;
	__s32 resamplefd;
	__u32 flags;
	__u32 reserved0;
	__u64 reserved[2];
};

#define VBRIDGE_SET_IRQFD	_IOW(VBRIDGE_IOCTL_MAGIC, 0x04, struct vbridge_irqfd)

/* vbridge_access.flags */
#define VBRIDGE_ACCESS_F_WRITE	_BITUL(0)

/**
 * struct vbridge_access - VBRIDGE_ACCESS argument: forward one guest access
 * @addr: guest-physical address, inside a window of a device of this VM
 * @data: store: the value (low @len bytes); load: out: the value, all-ones
 *        when the access failed
 * @len: 1, 2, 4 or 8, and the access may not cross a window's end
 * @flags: VBRIDGE_ACCESS_F_*
 * @result: out: 0, or a negative errno saying why the access failed:
 *          -ENODEV  no device window at @addr
 *          -ETIMEDOUT backend not ready within the retry timeout
 *          -EIO     the backend failed it or went away with it read
 *          -ESHUTDOWN the VM is stopping
 * @reserved0: must be 0
 * @reserved: must be 0
 *
 * A load waits for the backend's reply.  A store is posted: queued in order
 * behind earlier accesses to the same device, the call returns at once.  The
 * ioctl itself fails only for malformed input (-EINVAL, -EFAULT), a file not
 * attached (-ENOTCONN), or a signal while waiting for a backend to become
 * ready (-EINTR; nothing was sent, the call may be repeated).
 */
struct vbridge_access {
	__u64 addr;
	__u64 data;
	__u32 len;
	__u32 flags;
	__s32 result;
	__u32 reserved0;
	__u64 reserved[2];
};

#define VBRIDGE_ACCESS		_IOWR(VBRIDGE_IOCTL_MAGIC, 0x05, struct vbridge_access)

/* vbridge_doorbell.flags */
#define VBRIDGE_DOORBELL_F_DATAMATCH	_BITUL(0)	/* match @datamatch */
#define VBRIDGE_DOORBELL_F_DEASSIGN	_BITUL(1)	/* out: remove it */
#define VBRIDGE_DOORBELL_F_MSI		_BITUL(2)	/* out: an MSI message */

/**
 * struct vbridge_doorbell - VBRIDGE_GET_DOORBELL argument
 * @id: out: doorbell id, unique within the VM
 * @device_id: out: the device that asked for it
 * @addr: out: guest-physical notify address
 * @len: out: access length to match (1, 2, 4, 8)
 * @flags: out: VBRIDGE_DOORBELL_F_*
 * @fd: out: for an assignment, an eventfd installed in the caller's file
 *      table (O_CLOEXEC) to register with KVM_IOEVENTFD (a doorbell) or
 *      KVM_IRQFD (an MSI); -1 for a deassign (the VMM unregisters the
 *      eventfd it got for @id and closes it)
 * @rid: in: must be 0; out: for VBRIDGE_DOORBELL_F_MSI, the requester ID
 *       (bus << 8 | devfn, on the device's own PCI host) of the function
 *       that sends the message, else 0
 * @datamatch: out: value to match when VBRIDGE_DOORBELL_F_DATAMATCH is set;
 *             for VBRIDGE_DOORBELL_F_MSI, the message data
 * @reserved: must be 0
 *
 * The frontend fd polls readable while doorbell changes are pending;
 * VBRIDGE_GET_DOORBELL returns the oldest one, or -EAGAIN when none is.
 *
 * With VBRIDGE_DOORBELL_F_MSI (only for a VM attached with
 * VBRIDGE_ATTACH_F_MSI) the change is an MSI message of the device
 * (VBRIDGE_BE_ADD_MSI), not a doorbell: @addr and @datamatch are the
 * message's address and data, @len is 4, and the backend signals @fd to
 * send it.  The VMM routes a GSI to the message and binds @fd to it with
 * KVM_IRQFD, so the message reaches the guest without the VMM in the path.
 */
struct vbridge_doorbell {
	__u32 id;
	__u32 device_id;
	__u64 addr;
	__u32 len;
	__u32 flags;
	__s32 fd;
	__u32 rid;
	__u64 datamatch;
	__u64 reserved[2];
};

#define VBRIDGE_GET_DOORBELL	_IOWR(VBRIDGE_IOCTL_MAGIC, 0x06, struct vbridge_doorbell)

/*
 * VBRIDGE_STOP: stop the VM now, as closing the file would: pending and
 * later accesses fail with -ESHUTDOWN and every backend gets VMSTOP.  The
 * vmid becomes free once every device has acknowledged.
 */
#define VBRIDGE_STOP		_IO(VBRIDGE_IOCTL_MAGIC, 0x07)

/* ------------------------------------------------------------------------ */
/* Backend: /dev/virtio/vm<N>/<name>                                        */
/* ------------------------------------------------------------------------ */

/* vbridge_msg.type */
#define VBRIDGE_MSG_LOAD	1	/* reply with VBRIDGE_REPLY_LOAD */
#define VBRIDGE_MSG_STORE	2	/* posted: no reply */
#define VBRIDGE_MSG_VMSTART	3	/* a VM started: remap, reset devices */
#define VBRIDGE_MSG_VMSTOP	4	/* stop DMA, unmap, then ack */

/**
 * struct vbridge_msg - what read() on a backend node returns
 * @type: VBRIDGE_MSG_*
 * @size: sizeof(struct vbridge_msg)
 * @id: LOAD/STORE: request id; VMSTART/VMSTOP: the VM's generation
 * @addr: LOAD/STORE: guest-physical address
 * @offset: LOAD/STORE: @addr minus the start of window @window
 * @data: STORE: the value
 * @len: LOAD/STORE: 1, 2, 4 or 8
 * @window: LOAD/STORE: index of the window containing @addr
 * @vmid: the frontend vmid
 * @reserved0: 0
 * @reserved: 0
 *
 * read() returns as many whole messages as fit in the buffer (at least one;
 * a buffer smaller than one message is -EINVAL), blocks until one is
 * available unless O_NONBLOCK (-EAGAIN).  Requests come in guest order.
 */
struct vbridge_msg {
	__u32 type;
	__u32 size;
	__u64 id;
	__u64 addr;
	__u64 offset;
	__u64 data;
	__u32 len;
	__u32 window;
	__u32 vmid;
	__u32 reserved0;
	__u64 reserved[1];
};

/* vbridge_reply.type */
#define VBRIDGE_REPLY_LOAD		1	/* answer a LOAD */
#define VBRIDGE_REPLY_VMSTOP_ACK	2	/* DMA stopped, mappings gone */

/**
 * struct vbridge_reply - what write() on a backend node takes
 * @type: VBRIDGE_REPLY_*
 * @size: sizeof(struct vbridge_reply)
 * @id: LOAD: the request id; VMSTOP_ACK: the generation from VMSTOP
 * @data: LOAD: the value (low len bytes are used)
 * @result: LOAD: 0, or a negative errno: the guest reads all-ones
 * @reserved0: must be 0
 *
 * write() takes one or more whole replies; it returns the bytes consumed
 * and stops at the first invalid one (an error if it was the first):
 * -EINVAL bad type/size/reserved, -ENOENT unknown or already answered id,
 * -ESTALE an ack for a generation that is not stopping.
 */
struct vbridge_reply {
	__u32 type;
	__u32 size;
	__u64 id;
	__u64 data;
	__s32 result;
	__u32 reserved0;
};

/* vbridge_backend_info.flags */
#define VBRIDGE_BE_INFO_F_RETRY	_BITUL(0)	/* retry_timeout_ms, down_ms valid */
#define VBRIDGE_BE_INFO_F_MSI	_BITUL(1)	/* the running VM takes MSIs */

/**
 * struct vbridge_backend_info - VBRIDGE_BE_GET_INFO argument (all out)
 * @api_version: VBRIDGE_API_VERSION
 * @id: the device id
 * @name: the device name
 * @vmid: frontend vmid
 * @backend_vmid: declared backend vmid
 * @state: VBRIDGE_DEV_S_*
 * @nr_windows: valid entries in @windows
 * @nr_irqs: valid entries in @irqs
 * @nr_regions: valid entries in @regions (0 unless the VM runs)
 * @generation: the running VM's generation, 0 if none
 * @windows: the device's windows
 * @irqs: the device's interrupt lines
 * @regions: the running VM's RAM, guest-physical (mmap offsets)
 * @flags: VBRIDGE_BE_INFO_F_*
 * @retry_timeout_ms: with VBRIDGE_BE_INFO_F_RETRY: the device's effective
 *      retry_timeout_ms (its override, else the module parameter)
 * @down_ms: with VBRIDGE_BE_INFO_F_RETRY: how long, in ms, the device had
 *      no open backend before this open while its current VM ran (since
 *      the previous backend closed, or since the VM started without one);
 *      0 when the node was open all along or no VM runs; saturates at
 *      U32_MAX
 * @poll_us: the device's polling mode (VBRIDGE_BE_SET_POLL): spin_us,
 *	     0 when off
 * @reserved: 0
 */
struct vbridge_backend_info {
	__u32 api_version;
	__u32 id;
	char name[VBRIDGE_NAME_MAX];
	__u32 vmid;
	__u32 backend_vmid;
	__u32 state;
	__u32 nr_windows;
	__u32 nr_irqs;
	__u32 nr_regions;
	__u64 generation;
	struct vbridge_window windows[VBRIDGE_MAX_WINDOWS];
	struct vbridge_irq irqs[VBRIDGE_MAX_IRQS];
	struct vbridge_window regions[VBRIDGE_MAX_REGIONS];
	__u32 flags;
	__s32 retry_timeout_ms;
	__u32 down_ms;
	__u32 poll_us;
	__u64 reserved[2];
};

#define VBRIDGE_BE_GET_INFO	_IOR(VBRIDGE_IOCTL_MAGIC, 0x20, struct vbridge_backend_info)

/*
 * VBRIDGE_BE_SET_READY: argument 1 = ready to serve requests, 0 = not.
 * Accesses to a device that is not ready follow the retry timeout.  Closing
 * the node makes the device not ready.
 */
#define VBRIDGE_BE_SET_READY	_IO(VBRIDGE_IOCTL_MAGIC, 0x21)

/**
 * struct vbridge_irq_level - VBRIDGE_BE_SET_IRQ argument
 * @line: index of the device's interrupt line
 * @level: 1 = assert, 0 = deassert
 * @reserved: must be 0
 *
 * Raising a line signals the eventfd the VMM registered for it; the VMM
 * process is not involved.  A line raised before the VMM registers its
 * eventfd is signalled at the registration.  -ENOTCONN when no VM runs.
 */
struct vbridge_irq_level {
	__u32 line;
	__u32 level;
	__u64 reserved;
};

#define VBRIDGE_BE_SET_IRQ	_IOW(VBRIDGE_IOCTL_MAGIC, 0x22, struct vbridge_irq_level)

/**
 * struct vbridge_doorbell_req - VBRIDGE_BE_ADD_DOORBELL argument
 * @addr: guest-physical notify address inside one of the device's windows
 * @len: 1, 2, 4 or 8
 * @fd: an eventfd the backend will read kicks from
 * @datamatch: with VBRIDGE_DOORBELL_F_DATAMATCH, only this value kicks
 * @flags: VBRIDGE_DOORBELL_F_DATAMATCH or 0
 * @id: out: the doorbell's id (for VBRIDGE_BE_DEL_DOORBELL)
 * @reserved: must be 0
 *
 * The module passes the eventfd to the VMM (VBRIDGE_GET_DOORBELL), which
 * registers it with KVM_IOEVENTFD: stores of @len bytes to @addr then
 * signal @fd without leaving the kernel.  Doorbells end with the VM.
 */
struct vbridge_doorbell_req {
	__u64 addr;
	__u32 len;
	__s32 fd;
	__u64 datamatch;
	__u32 flags;
	__u32 id;
	__u64 reserved[2];
};

#define VBRIDGE_BE_ADD_DOORBELL	_IOWR(VBRIDGE_IOCTL_MAGIC, 0x23, struct vbridge_doorbell_req)
/* VBRIDGE_BE_DEL_DOORBELL: argument is the doorbell id. */
#define VBRIDGE_BE_DEL_DOORBELL	_IO(VBRIDGE_IOCTL_MAGIC, 0x24)

/**
 * struct vbridge_msi_req - VBRIDGE_BE_ADD_MSI argument
 * @addr: the message address, as the guest programmed it
 * @data: the message data
 * @fd: an eventfd the backend signals to send the message
 * @rid: requester ID of the sending function on the device's PCI host
 *       (bus << 8 | devfn), at most 0xffff
 * @flags: must be 0
 * @id: out: the message's id (for VBRIDGE_BE_DEL_MSI), unique in the VM
 *      among doorbells and messages
 * @reserved0: must be 0
 * @reserved: must be 0
 *
 * The module passes the eventfd to the VMM (VBRIDGE_GET_DOORBELL, with
 * VBRIDGE_DOORBELL_F_MSI), which routes a GSI to the message and binds the
 * eventfd to it with KVM_IRQFD: a write to @fd then sends the message
 * without the VMM in the path.  A signal made before the VMM bound it is
 * sent when it does.  The VMM may refuse a message its architecture does
 * not let a device send (it says so in its log; the signal is then lost).
 * Messages end with the VM, like doorbells.  Only a VM attached with
 * VBRIDGE_ATTACH_F_MSI takes them (VBRIDGE_BE_INFO_F_MSI): else
 * -EOPNOTSUPP.
 */
struct vbridge_msi_req {
	__u64 addr;
	__u32 data;
	__s32 fd;
	__u32 rid;
	__u32 flags;
	__u32 id;
	__u32 reserved0;
	__u64 reserved[2];
};

#define VBRIDGE_BE_ADD_MSI	_IOWR(VBRIDGE_IOCTL_MAGIC, 0x28, struct vbridge_msi_req)
/* VBRIDGE_BE_DEL_MSI: argument is the message id. */
#define VBRIDGE_BE_DEL_MSI	_IO(VBRIDGE_IOCTL_MAGIC, 0x29)

/**
 * struct vbridge_mem_fd - VBRIDGE_BE_MEM_FD argument
 * @gpa: the guest-physical address offset 0 of the new file stands for;
 *       page aligned
 * @size: bytes of guest-physical space the file covers from @gpa; page
 *        aligned, not 0, @gpa + @size not past 2^64
 * @flags: must be 0
 * @fd: out: the new file descriptor (close-on-exec)
 * @reserved: must be 0
 *
 * A file whose mmap() at offset X is mmap() of the node at offset @gpa + X,
 * for a range inside [@gpa, @gpa + @size): for a program that maps a memory
 * file from its offset 0, such as a vhost-user back-end built on QEMU 7.2's
 * libvhost-user (Debian 12's; it maps mmap_offset + size bytes from offset
 * 0 of the file it gets with SET_MEM_TABLE).  Handed over with mmap_offset 0,
 * it gives such a back-end one region of guest RAM that does not start at
 * guest-physical 0.  Its mappings are the node's in every way: made only
 * inside one region of the running VM, revoked at VMSTOP.  It has the
 * node's access mode and holds the node open until it is closed.  Nothing
 * is checked against the VM's regions until mmap().
 */
struct vbridge_mem_fd {
	__u64 gpa;
	__u64 size;
	__u32 flags;
	__s32 fd;
	__u64 reserved[2];
};

#define VBRIDGE_BE_MEM_FD	_IOWR(VBRIDGE_IOCTL_MAGIC, 0x2a, struct vbridge_mem_fd)

/**
 * struct vbridge_poll - VBRIDGE_BE_SET_POLL argument
 * @spin_us: microseconds each side of a forwarded access spins before it
 *	     sleeps, 0 (the default) for none: the backend's read() of an
 *	     empty queue, and a vCPU thread waiting for the reply to a load;
 *	     at most the module parameter poll_max_us
 * @flags: must be 0
 * @reserved: must be 0
 *
 * Polling mode of the device, chosen by its backend: busy-polling in the
 * two system calls the round trip makes anyway (vhost-net's busyloop
 * timeout does the same), so that neither side sleeps, and none has to be
 * woken, while the other answers within @spin_us.  A spin ends early when
 * its CPU is wanted by another task or a signal is pending.  The backend's
 * close turns it off.
 */
struct vbridge_poll {
	__u32 spin_us;
	__u32 flags;
	__u64 reserved;
};

#define VBRIDGE_BE_SET_POLL	_IOW(VBRIDGE_IOCTL_MAGIC, 0x2b, struct vbridge_poll)

/**
 * struct vbridge_state_blob - VBRIDGE_BE_{SET,GET}_STATE argument
 * @buf: user pointer
 * @len: SET: bytes at @buf (<= VBRIDGE_STATE_MAX); GET: in: room at @buf,
 *       out: bytes stored (-ENOSPC with @len set when @buf is too small)
 * @flags: must be 0
 * @reserved: must be 0
 *
 * An opaque blob the module keeps with the device across the backend's
 * close and reopen (not across device removal), so that a restarted device
 * provider can resume serving a running guest.
 */
struct vbridge_state_blob {
	__u64 buf;
	__u32 len;
	__u32 flags;
	__u64 reserved[2];
};

#define VBRIDGE_BE_SET_STATE	_IOW(VBRIDGE_IOCTL_MAGIC, 0x25, struct vbridge_state_blob)
#define VBRIDGE_BE_GET_STATE	_IOWR(VBRIDGE_IOCTL_MAGIC, 0x26, struct vbridge_state_blob)

/*
 * VBRIDGE_BE_RESET: the backend reset its device: clears
 * VBRIDGE_DEV_S_BROKEN.
 */
#define VBRIDGE_BE_RESET	_IO(VBRIDGE_IOCTL_MAGIC, 0x27)

/* ------------------------------------------------------------------------ */
/* Generic netlink: family VBRIDGE_GENL_NAME                                */
/* ------------------------------------------------------------------------ */

/*
 * VBRIDGE_A_VMM_UID / VBRIDGE_A_VMM_GID value: no owner (uid)/no group.
 * (uid_t)-1 is never a valid id.
 */
#define VBRIDGE_ID_NONE		0xffffffffU

enum vbridge_cmd {
	VBRIDGE_CMD_UNSPEC,
	VBRIDGE_CMD_DEV_ADD,	/* admin: declare a device */
	VBRIDGE_CMD_DEV_DEL,	/* admin: remove one (VMID + DEV_NAME) */
	VBRIDGE_CMD_DEV_GET,	/* one device (VMID + DEV_NAME), or dump */
	VBRIDGE_CMD_DEV_SET,	/* admin: per-device parameter overrides */
	VBRIDGE_CMD_VM_GET,	/* one VM (VMID), or dump */
	VBRIDGE_CMD_EVENT,	/* multicast notification on "events" */
	VBRIDGE_CMD_VM_SET,	/* admin: who may attach VMID (VMM_UID/GID) */
	__VBRIDGE_CMD_MAX,
};

#define VBRIDGE_CMD_MAX (__VBRIDGE_CMD_MAX - 1)

enum vbridge_attr {
	VBRIDGE_A_UNSPEC,
	VBRIDGE_A_PAD,
	VBRIDGE_A_VMID,			/* u32: frontend vmid */
	VBRIDGE_A_DEV_NAME,		/* string, < VBRIDGE_NAME_MAX */
	VBRIDGE_A_DEV_ID,		/* u32 */
	VBRIDGE_A_BACKEND_VMID,		/* u32 */
	VBRIDGE_A_WINDOWS,		/* nest of VBRIDGE_A_WINDOW */
	VBRIDGE_A_IRQS,			/* nest of VBRIDGE_A_IRQ */
	VBRIDGE_A_DEV_STATE,		/* u32: VBRIDGE_DEV_S_* */
	VBRIDGE_A_RETRY_TIMEOUT_MS,	/* s32 override */
	VBRIDGE_A_VMSTOP_TIMEOUT,	/* u32 override, seconds */
	VBRIDGE_A_VMSTOP_AUTOACK,	/* u8 override, 0 or 1 */
	VBRIDGE_A_CLEAR_OVERRIDES,	/* flag: back to module parameters */
	VBRIDGE_A_STATS,		/* nest of VBRIDGE_STAT_* (u64) */
	VBRIDGE_A_VM_STATE,		/* u32: VBRIDGE_VM_S_* */
	VBRIDGE_A_VM_GENERATION,	/* u64 */
	VBRIDGE_A_VM_PID,		/* u32: tgid of the VMM */
	VBRIDGE_A_EVENT,		/* u32: VBRIDGE_EV_* */
	VBRIDGE_A_NR_DEVICES,		/* u32 */
	/*
	 * nest: the effective RETRY_TIMEOUT_MS, VMSTOP_TIMEOUT,
	 * VMSTOP_AUTOACK and INFLIGHT_TIMEOUT_MS
	 */
	VBRIDGE_A_EFFECTIVE,
	/* Backend node: owner, group (default 0) and mode (default 0600). */
	VBRIDGE_A_PROVIDER_UID,		/* u32: uid */
	VBRIDGE_A_PROVIDER_GID,		/* u32: gid */
	VBRIDGE_A_NODE_MODE,		/* u32: permission bits, 1..0777 */
	/* Who may attach VMID; VBRIDGE_ID_NONE: nobody (but CAP_SYS_ADMIN). */
	VBRIDGE_A_VMM_UID,		/* u32: this uid */
	VBRIDGE_A_VMM_GID,		/* u32: members of this group */
	VBRIDGE_A_INFLIGHT_TIMEOUT_MS,	/* u32 override, ms, 0..3600000 */
	__VBRIDGE_A_MAX,
};

#define VBRIDGE_A_MAX (__VBRIDGE_A_MAX - 1)

/* Inside VBRIDGE_A_WINDOWS: VBRIDGE_A_WINDOW nests, in order. */
enum vbridge_window_attr {
	VBRIDGE_A_WINDOW_UNSPEC,
	VBRIDGE_A_WINDOW,		/* nest of ADDR + SIZE */
	VBRIDGE_A_WINDOW_ADDR,		/* u64 */
	VBRIDGE_A_WINDOW_SIZE,		/* u64 */
	VBRIDGE_A_WINDOW_PAD,
	__VBRIDGE_A_WINDOW_MAX,
};

#define VBRIDGE_A_WINDOW_MAX (__VBRIDGE_A_WINDOW_MAX - 1)

/* Inside VBRIDGE_A_IRQS: VBRIDGE_A_IRQ nests, in order. */
enum vbridge_irq_attr {
	VBRIDGE_A_IRQ_UNSPEC,
	VBRIDGE_A_IRQ,			/* nest of NUM + FLAGS */
	VBRIDGE_A_IRQ_NUM,		/* u32 */
	VBRIDGE_A_IRQ_FLAGS,		/* u32: VBRIDGE_IRQ_F_* */
	__VBRIDGE_A_IRQ_MAX,
};

#define VBRIDGE_A_IRQ_MAX (__VBRIDGE_A_IRQ_MAX - 1)

/* Inside VBRIDGE_A_STATS. */
enum vbridge_stat_attr {
	VBRIDGE_STAT_UNSPEC,
	VBRIDGE_STAT_PAD,
	VBRIDGE_STAT_FORWARDED,		/* accesses queued to the backend */
	VBRIDGE_STAT_COMPLETED,		/* loads answered by the backend */
	VBRIDGE_STAT_TIMEDOUT,		/* failed: backend not ready in time */
	VBRIDGE_STAT_FAILED,		/* failed: any other reason */
	VBRIDGE_STAT_VMSTOPS,		/* VMSTOPs delivered */
	VBRIDGE_STAT_AUTOACKS,		/* VMSTOPs acknowledged by timeout */
	VBRIDGE_STAT_IRQS,		/* interrupt signals to the VMM */
	__VBRIDGE_STAT_MAX,
};

#define VBRIDGE_STAT_MAX (__VBRIDGE_STAT_MAX - 1)

/* VBRIDGE_A_VM_STATE */
enum vbridge_vm_state {
	VBRIDGE_VM_S_RUNNING = 1,
	VBRIDGE_VM_S_STOPPING = 2,
};

/* VBRIDGE_A_EVENT */
enum vbridge_event {
	VBRIDGE_EV_UNSPEC,
	VBRIDGE_EV_DEV_ADDED,		/* VMID, DEV_NAME */
	VBRIDGE_EV_DEV_REMOVED,		/* VMID, DEV_NAME */
	VBRIDGE_EV_BACKEND_READY,	/* VMID, DEV_NAME */
	VBRIDGE_EV_BACKEND_GONE,	/* VMID, DEV_NAME */
	VBRIDGE_EV_VMSTART,		/* VMID, VM_GENERATION, VM_PID */
	VBRIDGE_EV_VMSTOP,		/* VMID, VM_GENERATION */
	VBRIDGE_EV_VMSTOP_ACK,		/* VMID, DEV_NAME, VM_GENERATION */
	VBRIDGE_EV_VMSTOP_AUTOACK,	/* VMID, DEV_NAME, VM_GENERATION */
	VBRIDGE_EV_DEV_BROKEN,		/* VMID, DEV_NAME */
	VBRIDGE_EV_VM_RELEASED,		/* VMID, VM_GENERATION: vmid free */
	__VBRIDGE_EV_MAX,
};

#define VBRIDGE_EV_MAX (__VBRIDGE_EV_MAX - 1)

#endif /* _UAPI_VIRTIO_BRIDGE_H */
