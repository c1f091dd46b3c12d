/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-bridge: internal types shared by the files of the module.
 *
 * Objects
 * -------
 * A &struct vbridge_dev is declared over netlink and lives until it is
 * removed (or the module unloads); it owns the backend node
 * /dev/virtio/vm<N>/<name>.  A &struct vbridge_vm is allocated for every open
 * of /dev/virtio-bridge and becomes a running VM at VBRIDGE_ATTACH.  At attach
 * the VM takes a snapshot of the devices declared for its vmid and *binds*
 * each of them (dev->vm).  A vmid has at most one VM at a time (running or
 * stopping), so a device is bound to at most one VM at a time and the
 * per-VM state of a device (queue, interrupt lines, acknowledgment, the
 * mappings of guest memory) lives in the device itself.
 *
 * Each vmid has its own &struct vbridge_vmid and lock: declaring and
 * removing a vmid's devices, attaching, stopping and releasing its VM
 * (binding, unbinding, revoking mappings, cancelling VMSTOP timeouts) and
 * opening its backend nodes take that lock only, so one VM's slow teardown
 * delays no other vmid.  The device table's lock is held only to add,
 * remove or walk entries; nothing that sleeps for long runs under it.
 *
 * Lock order (outermost first; no lockdep on the Debian kernels, so this list
 * is the reference and every function below respects it):
 *
 *   the module parameters' lock (held around retry_timeout_ms's set)
 *     vbridge_devs_lock        (only to walk the device table)
 *   vm->lock                   frontend configuration of one VM
 *     vmid->lock               one vmid: its devices, its VM, its owner
 *       vbridge_devs_lock      the device table: ids, count, walks
 *         dev->lock (spinlock; reports read a device under both)
 *       dev->irq_lock          interrupt lines of a device
 *         eventfd ctx->wqh.lock (vfs_poll, eventfd_ctx_remove_wait_queue,
 *                                eventfd_signal)
 *         dev->lock (spinlock, VBRIDGE_BE_SET_IRQ reads the run state)
 *       dev->map_lock (rwsem) mapping state of a device
 *         dev->lock (spinlock) queue and state of a device
 *         vm->region_lock (spinlock)
 *         folio lock of a guest page (page faults), then the page table
 *         lock (vm_insert_page())
 *         a memfd's i_mmap_rwsem, then page table locks (revocation:
 *         unmap_mapping_range())
 *
 *   No two vmid locks are ever held at once.  The generic netlink family
 *   has parallel_ops: no genl_mutex around our handlers.
 *
 *   mm->mmap_lock -> dev->map_lock (mmap and page faults of backend nodes):
 *     therefore nothing copies from or to user memory while holding
 *     dev->map_lock, a vmid's lock, vbridge_devs_lock or any spinlock.
 *
 *   dev->read_mutex is taken without any other lock of the module held,
 *   and only dev->lock, vm->region_lock or (through copy_*_user)
 *   mm->mmap_lock -> dev->map_lock are taken under it.  It is the
 *   backend's own: a user copy may wait under it.  dev->state_mutex is a
 *   leaf: nothing but memory allocation happens under it (the state blob
 *   is copied from and to user space outside it).
 *
 *   dev->lock is held around wake_up_process() of a load's waiter (the
 *   scheduler's locks nest inside it), never around any other wake-up.
 *
 *   vm->db_lock is taken without any other lock of the module held, and
 *   never across a user copy: the VMM and the backends both need it.
 *
 *   The resample wait-queue callback runs under an eventfd's wqh.lock with
 *   interrupts off: it takes no lock of the module, it only sets a bit and
 *   queues dev->irq_work.
 *
 * Sleeping waits: accessors wait on dev->wq (interruptible before a request
 * was read by the backend, killable after), attachers wait killably on
 * vbridge_release_wq for a stopping VM, readers wait interruptibly on
 * dev->be_wq.  A reply wakes only the thread waiting for that load; a
 * request wakes the backend's readers and pollers only when the queue was
 * empty (they read until it is empty again).  No wait holds a lock, and
 * none blocks another VM.  System
 * calls and netlink commands take a vmid's lock killably (the frontend's
 * close and the release work, which must finish, do not).
 */
#ifndef VBRIDGE_H
#define VBRIDGE_H

#include <linux/atomic.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/hashtable.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "compat.h"
#include "virtio_bridge.h"

struct eventfd_ctx;
struct file;
struct netlink_ext_ack;

/* Internal limits (not part of the uAPI). */
#define VBRIDGE_MAX_DEVICES	1024	/* devices declared at once */
/*
 * Device ids are 1..VBRIDGE_NR_MINORS, handed out cyclically: id N is
 * minor N - 1 of the module's major, which owns every minor, so an id (and
 * its node) comes back only after 2^20 later declarations.
 */
#define VBRIDGE_NR_MINORS	BIT(MINORBITS)
#define VBRIDGE_NODE_MODE_DEFAULT 0600
#define VBRIDGE_QUEUE_MAX	256	/* unread requests per device */
#define VBRIDGE_INFLIGHT_HASH_BITS 5	/* buckets of in-flight load ids */
#define VBRIDGE_READ_BATCH	32	/* messages per read() call */
#define VBRIDGE_VMSTOP_TIMEOUT_MAX 86400 /* seconds */
#define VBRIDGE_INFLIGHT_TIMEOUT_MAX 3600000 /* ms */
#define VBRIDGE_POLL_MAX_US 10000 /* the highest poll_max_us, us */
/* Doorbell and MSI changes of one device the VMM may leave unfetched. */
#define VBRIDGE_DB_EVENTS_MAX	(4 * VBRIDGE_MAX_DOORBELLS)

/* Module parameters (main.c), runtime-writable: read with READ_ONCE(). */
extern int vbridge_vmstop_timeout;
extern bool vbridge_vmstop_autoack;
extern int vbridge_retry_timeout_ms;
extern int vbridge_inflight_timeout_ms;
extern int vbridge_poll_max_us;

/* Global state (main.c). */
extern struct mutex vbridge_devs_lock;
extern struct xarray vbridge_devs;	/* id -> dev, vbridge_devs_lock */
/* memfd inode -> the one VM whose regions it backs; its own xa_lock */
extern struct xarray vbridge_memfds;
extern struct workqueue_struct *vbridge_wq;
extern wait_queue_head_t vbridge_release_wq;
extern VBRIDGE_CLASS_CONST struct class vbridge_class;
extern dev_t vbridge_devt;

/**
 * struct vbridge_owner - who may attach a vmid (netlink VM_SET)
 * @uid: a caller whose fsuid is this may attach; INVALID_UID for none
 * @gid: a member of this group may attach; INVALID_GID for none
 *
 * One per vmid, in &struct vbridge_vmid.  Without either, only
 * CAP_SYS_ADMIN may attach.
 */
struct vbridge_owner {
	kuid_t uid;
	kgid_t gid;
};

struct vbridge_vm;

/**
 * struct vbridge_vmid - one vmid: who may attach it, its devices, its VM
 * @lock: serializes everything about this vmid and nothing else (see the
 *	  lock order above); taken killably in system calls
 * @owner: who may attach the vmid; written under @lock, read under it
 *	   or, by reports, field by field with READ_ONCE()
 * @devs: the devices declared for the vmid, in declaration order
 *	  (&vbridge_dev.vmid_node); @lock
 * @vm: the VM running or stopping under the vmid, or NULL; the vmid's
 *	reference is the VM table's (&vbridge_vm.kref); @lock
 *
 * One for each vmid, vbridge_vmids[vmid], from module load to unload.
 */
struct vbridge_vmid {
	struct mutex lock;		/* this vmid, see above */
	struct vbridge_owner owner;
	struct list_head devs;
	struct vbridge_vm *vm;
};

extern struct vbridge_vmid vbridge_vmids[VBRIDGE_VMID_MAX + 1];

/* The vmid object of @vmid, which the caller checked is in range. */
static inline struct vbridge_vmid *vbridge_vmid(u32 vmid)
{
	return &vbridge_vmids[vmid];
}

/**
 * enum vbridge_run_state - a device's view of its VM
 * @VBRIDGE_RUN_IDLE: not bound to a VM
 * @VBRIDGE_RUN_RUNNING: bound to a running VM
 * @VBRIDGE_RUN_STOPPING: bound to a stopping VM, not yet released
 */
enum vbridge_run_state {
	VBRIDGE_RUN_IDLE,
	VBRIDGE_RUN_RUNNING,
	VBRIDGE_RUN_STOPPING,
};

/**
 * enum vbridge_vm_life - lifecycle of a frontend VM object
 * @VBRIDGE_VM_DETACHED: frontend open, not attached yet
 * @VBRIDGE_VM_RUNNING: attached, devices bound
 * @VBRIDGE_VM_STOPPING: stopped, waiting for VMSTOP acknowledgments
 * @VBRIDGE_VM_RELEASED: every device acknowledged, vmid free
 */
enum vbridge_vm_life {
	VBRIDGE_VM_DETACHED,
	VBRIDGE_VM_RUNNING,
	VBRIDGE_VM_STOPPING,
	VBRIDGE_VM_RELEASED,
};

/**
 * struct vbridge_qmsg - a message in a device's read queue
 * @node: link in &vbridge_dev.msgq (or &vbridge_dev.inflight for a load
 *	  the backend has read); protected by &vbridge_dev.lock
 * @seq: position in the queue, unique per device; protected by
 *	 &vbridge_dev.lock.  read() uses it to find again the messages it
 *	 copied out without holding the lock.
 * @queued: the message is on &vbridge_dev.msgq; protected by
 *	    &vbridge_dev.lock
 * @msg: what read() returns; immutable while queued
 */
struct vbridge_qmsg {
	struct list_head node;
	u64 seq;
	bool queued;
	struct vbridge_msg msg;
};

/**
 * enum vbridge_req_state - where a forwarded access is
 * @VBRIDGE_REQ_QUEUED: on msgq, the backend has not read it
 * @VBRIDGE_REQ_READ: a load the backend has read (on the inflight list)
 * @VBRIDGE_REQ_DONE: a load that has its result
 */
enum vbridge_req_state {
	VBRIDGE_REQ_QUEUED,
	VBRIDGE_REQ_READ,
	VBRIDGE_REQ_DONE,
};

/**
 * struct vbridge_req - one forwarded guest access (LOAD or STORE)
 * @q: queue entry; @q.msg.id is the request id
 * @state: protected by &vbridge_dev.lock
 * @abandoned: the waiting vCPU thread was killed after the backend read
 *	       the load: whoever completes it frees it; &vbridge_dev.lock
 * @result: 0 or the negative errno for vbridge_access.result; valid once
 *	    @state is DONE; &vbridge_dev.lock
 * @data: the loaded value; valid once @state is DONE; &vbridge_dev.lock
 * @read_at: jiffies when the backend read the load; &vbridge_dev.lock
 * @id_node: link in &vbridge_dev.inflight_ids while @state is READ;
 *	     &vbridge_dev.lock
 * @waiter: the vCPU thread waiting for the load; a reply wakes it, and
 *	    only it, under &vbridge_dev.lock (the waiter cannot leave
 *	    vbridge_load_wait() without that lock, nor once @abandoned is
 *	    set).  Immutable once queued.
 *
 * Allocated from the module's request cache.  A store belongs to the queue
 * from the moment it is queued and is freed when it is read or failed.  A
 * load belongs to its waiter, except while it is abandoned.
 */
struct vbridge_req {
	struct vbridge_qmsg q;
	enum vbridge_req_state state;
	bool abandoned;
	int result;
	u64 data;
	unsigned long read_at;
	struct hlist_node id_node;
	struct task_struct *waiter;
};

/**
 * struct vbridge_irqline - one interrupt line of a device
 * @dev: the device (immutable)
 * @index: line number (immutable)
 * @irqfd: eventfd the VMM bound with KVM_IRQFD, or NULL; written under
 *	   &vbridge_dev.irq_lock and the bound VM's &vbridge_vm.lock (or,
 *	   at the VM's release, when no binding can change anymore), read
 *	   under either
 * @resample: resample eventfd for level semantics, or NULL; like @irqfd
 * @wait: our entry on @resample's wait queue; added and removed under
 *	  &vbridge_dev.irq_lock, run under @resample's wqh.lock
 * @pt: poll table used once to add @wait
 * @level: the level the backend set; written under &vbridge_dev.irq_lock,
 *	   read locklessly (READ_ONCE) by the resample callback
 */
struct vbridge_irqline {
	struct vbridge_dev *dev;
	unsigned int index;
	struct eventfd_ctx *irqfd;
	struct eventfd_ctx *resample;
	wait_queue_entry_t wait;
	poll_table pt;
	bool level;
};

/**
 * struct vbridge_overrides - per-device parameter overrides (netlink)
 * @has_retry: @retry_timeout_ms is set
 * @has_timeout: @vmstop_timeout is set
 * @has_autoack: @vmstop_autoack is set
 * @has_inflight: @inflight_timeout_ms is set
 * @retry_timeout_ms: like the module parameter
 * @vmstop_timeout: seconds
 * @vmstop_autoack: like the module parameter
 * @inflight_timeout_ms: like the module parameter
 *
 * Protected by &vbridge_dev.lock.
 */
struct vbridge_overrides {
	bool has_retry;
	bool has_timeout;
	bool has_autoack;
	bool has_inflight;
	int retry_timeout_ms;
	u32 vmstop_timeout;
	bool vmstop_autoack;
	u32 inflight_timeout_ms;
};

/**
 * struct vbridge_dev_config - what a device declaration carries
 * @vmid: frontend vmid
 * @backend_vmid: where the backend runs (informational)
 * @name: device name
 * @nr_windows: entries in @windows
 * @nr_irqs: entries in @irqs
 * @windows: address windows, window 0 is the ECAM/config window
 * @irqs: interrupt lines
 * @ovr: parameter overrides given with the declaration
 * @provider_uid: owner of the backend node
 * @provider_gid: group of the backend node
 * @node_mode: permission bits of the backend node (1..0777)
 *
 * Immutable once the device exists, except @ovr (&vbridge_dev.lock).
 */
struct vbridge_dev_config {
	u32 vmid;
	u32 backend_vmid;
	char name[VBRIDGE_NAME_MAX];
	u32 nr_windows;
	u32 nr_irqs;
	struct vbridge_window windows[VBRIDGE_MAX_WINDOWS];
	struct vbridge_irq irqs[VBRIDGE_MAX_IRQS];
	struct vbridge_overrides ovr;
	kuid_t provider_uid;
	kgid_t provider_gid;
	umode_t node_mode;
};

/**
 * struct vbridge_dev - a declared device and its backend node
 * @node: the backend node's struct device.  Its reference count is the
 *	  device's: the device table, each bound VM and the open backend
 *	  file hold one (vbridge_dev_get()), and so does @cdev while it is
 *	  in use; the last put frees the structure.  Registered with @cdev
 *	  under the vmid's lock.
 * @cdev: character device of the backend node; the vmid's lock
 * @cfg: the declaration; immutable except @cfg.ovr (&vbridge_dev.lock)
 * @id: device id, also the minor number's index; immutable
 * @vmid_node: link in &vbridge_vmid.devs; the vmid's lock
 * @removed: removed from the device table; the vmid's lock
 * @debugfs: debugfs file; the vmid's lock
 * @lock: protects the fields below down to @poll_us
 * @vm: the VM the device is bound to, or NULL (also written under
 *	the vmid's lock, so either lock suffices to read it)
 * @run_state: &enum vbridge_run_state
 * @gen: generation of @vm
 * @be_open: the backend node is open
 * @be_ready: the backend called VBRIDGE_BE_SET_READY(1) since it opened
 * @broken: a request the backend had read was lost
 * @stop_pending: VMSTOP of generation @stop_gen awaits acknowledgment
 * @stop_gen: generation of the last VMSTOP sent
 * @msgq: messages the backend has not read yet, in order
 * @nr_msgs: entries on @msgq (read locklessly for wait conditions)
 * @nr_queued: requests (not control messages) on @msgq
 * @inflight: loads the backend has read and not answered
 * @inflight_ids: the same loads hashed by id, for the reply's lookup
 * @next_id: last request id handed out
 * @next_seq: last queue sequence number handed out
 * @start_msg: the VMSTART message slot (at most one queued)
 * @stop_msg: the VMSTOP message slot (at most one queued)
 * @down_since: ktime_get_ns() when the device was left without an open
 *		backend while its VM ran (the backend closed, or the VM started
 *		without one); 0 while a backend is open or no VM is bound
 * @down_ms: for the open backend: how long the device had none before it
 *	     opened while the current VM ran (VBRIDGE_BE_GET_INFO), 0 if
 *	     it never went away in this VM's life
 * @poll_us: the open backend's polling mode (VBRIDGE_BE_SET_POLL), 0 when
 *	     off; read locklessly (vbridge_dev_poll_us())
 * @wq: accessors wait here for readiness, queue room and completions
 * @be_wq: backend readers and pollers wait here for messages
 * @read_mutex: serializes readers of the backend node
 * @bounce: read() copies messages here under @lock; @read_mutex
 * @bounce_seq: sequence numbers of the messages in @bounce; @read_mutex
 * @state_mutex: protects @state_blob and @state_len; taken killably
 * @state_blob: opaque state kept across backend close/reopen (kvmalloc'ed,
 *		charged to the memory cgroup of the provider that set it)
 * @state_len: bytes in @state_blob
 * @irq_lock: protects @lines (except the lockless reads documented there)
 * @lines: interrupt lines, @cfg.nr_irqs entries
 * @resample_pending: lines whose resample fired; atomic bitops
 * @irq_work: re-asserts resampled lines that are still high
 * @db_events: changes of this device's doorbells and MSI messages queued
 *	       for the VMM and
 *	       not fetched yet; protected by the &vbridge_vm.db_lock of the
 *	       VM the device is bound to (they are all dropped before the
 *	       device can be bound to the next VM)
 * @map_lock: taken for read by mmap() and page faults, for write by
 *	      revocation and binding; protects @map_vm, @map_gen
 * @map_vm: the VM whose memory mappings may currently fault in, or NULL
 * @map_gen: generation of @map_vm, 0 when mappings are revoked
 * @nr_maps: guest RAM mappings of the node that exist (mmap.c); atomic,
 *	     incremented under @map_lock
 * @stop_work: VMSTOP timeout of this device
 * @stats: counters indexed by VBRIDGE_STAT_*; VBRIDGE_STAT_IRQS is written
 *	   under @irq_lock, the others under @lock; read locklessly
 *	   (vbridge_dev_stats())
 */
struct vbridge_dev {
	struct device node;
	struct cdev cdev;
	struct vbridge_dev_config cfg;
	u32 id;

	struct list_head vmid_node;
	bool removed;
	struct dentry *debugfs;

	spinlock_t lock;		/* queue and state, see above */
	struct vbridge_vm *vm;
	enum vbridge_run_state run_state;
	u64 gen;
	bool be_open;
	bool be_ready;
	bool broken;
	bool stop_pending;
	u64 stop_gen;
	struct list_head msgq;
	unsigned int nr_msgs;
	unsigned int nr_queued;
	struct list_head inflight;
	DECLARE_HASHTABLE(inflight_ids, VBRIDGE_INFLIGHT_HASH_BITS);
	u64 next_id;
	u64 next_seq;
	struct vbridge_qmsg start_msg;
	struct vbridge_qmsg stop_msg;
	u64 down_since;
	u32 down_ms;
	u32 poll_us;

	wait_queue_head_t wq;
	wait_queue_head_t be_wq;

	struct mutex read_mutex;	/* one reader at a time */
	struct vbridge_msg *bounce;
	u64 *bounce_seq;

	struct mutex state_mutex;	/* the state blob */
	void *state_blob;
	u32 state_len;

	struct mutex irq_lock;		/* interrupt lines */
	struct vbridge_irqline *lines;
	DECLARE_BITMAP(resample_pending, VBRIDGE_MAX_IRQS);
	struct work_struct irq_work;

	unsigned int db_events;

	struct rw_semaphore map_lock;
	struct vbridge_vm *map_vm;
	u64 map_gen;
	atomic_t nr_maps;

	struct delayed_work stop_work;

	u64 stats[VBRIDGE_STAT_MAX + 1];
};

/**
 * struct vbridge_region - a guest RAM region of a VM
 * @gpa: first guest-physical address
 * @size: bytes
 * @fd_offset: offset of @gpa in @file
 * @file: the memfd; the region holds a reference and a writable-mapping
 *	  count on its mapping (so F_SEAL_WRITE cannot be added under us)
 *
 * An entry of &vbridge_vm.regions, protected by &vbridge_vm.region_lock;
 * immutable once added, and removed only after every mapping of the VM's
 * devices was revoked, so that mmap() and revocation, holding
 * &vbridge_dev.map_lock, may use @file after dropping region_lock.
 */
struct vbridge_region {
	u64 gpa;
	u64 size;
	u64 fd_offset;
	struct file *file;
};

/**
 * struct vbridge_vm_win - one window of a VM's device snapshot
 * @addr: first guest-physical address (the window's)
 * @size: its size
 * @dev: the device (&vbridge_vm.devs holds its reference)
 * @index: the window's index in the device's declaration
 */
struct vbridge_vm_win {
	u64 addr;
	u64 size;
	struct vbridge_dev *dev;
	u32 index;
};

/**
 * struct vbridge_vm - a frontend VM (one per open /dev/virtio-bridge)
 * @kref: references: the frontend file, its vmid while attached,
 *	  short-lived users (backend calls and releases, an attacher waiting
 *	  for the VM's release)
 * @lock: serializes the frontend's configuration calls (attach, stop,
 *	  regions, irqfds)
 * @life: &enum vbridge_vm_life; written under the vmid's lock with
 *	  smp_store_release(), read with smp_load_acquire()
 * @vmid: the vmid; set at attach, then immutable
 * @attach_flags: VBRIDGE_ATTACH_F_*; set at attach before the devices are
 *	  bound (a backend finds the VM through &vbridge_dev.lock, which
 *	  orders it), then immutable
 * @generation: this instance's number; set at attach, then immutable
 * @pid: tgid of the attaching process in the initial pid namespace (for
 *	 events); set at attach
 * @tgid: the attaching process's tgid as a &struct pid, with a reference
 *	  (reported with pid_vnr() to each reader); set at attach
 * @nr_devs: entries in @devs; set before @life becomes RUNNING, immutable
 * @devs: the device snapshot taken at attach, each with a reference; kept
 *	  until the VM is freed so that late calls on a stopped VM stay safe
 * @nr_wins: entries in @wins; like @nr_devs
 * @wins: the windows of @devs sorted by address (they do not overlap), for
 *	  VBRIDGE_ACCESS's binary search; like @devs
 * @region_lock: protects @nr_regions and @regions (entries are only added
 *	  while the VM lives, and removed once every mapping is revoked)
 * @nr_regions: entries in @regions
 * @regions: guest RAM
 * @acks_pending: devices that still owe a VMSTOP acknowledgment, plus one
 *	  while vbridge_vm_stop() runs
 * @release_work: releases the VM once @acks_pending drops to zero
 * @db_lock: protects @doorbells, @db_events, @next_db_id, @db_seq
 * @doorbells: doorbells and MSI messages (&struct vbridge_dbell) of this VM
 * @db_events: their changes not yet fetched with VBRIDGE_GET_DOORBELL
 * @next_db_id: last doorbell or MSI message id handed out
 * @db_seq: last sequence number given to a change on @db_events
 * @db_wq: the frontend's pollers wait here for doorbell changes
 */
struct vbridge_vm {
	struct kref kref;
	struct mutex lock;		/* frontend configuration */
	enum vbridge_vm_life life;
	u32 vmid;
	u32 attach_flags;
	u64 generation;
	pid_t pid;
	struct pid *tgid;
	unsigned int nr_devs;
	struct vbridge_dev **devs;
	unsigned int nr_wins;
	struct vbridge_vm_win *wins;

	spinlock_t region_lock;		/* guest RAM regions */
	unsigned int nr_regions;
	struct vbridge_region regions[VBRIDGE_MAX_REGIONS];

	atomic_t acks_pending;
	struct work_struct release_work;

	struct mutex db_lock;		/* doorbells */
	struct list_head doorbells;
	struct list_head db_events;
	u32 next_db_id;
	u64 db_seq;
	wait_queue_head_t db_wq;
};

/* How a VMSTOP was acknowledged. */
enum vbridge_ack_how {
	VBRIDGE_ACK_REPLY,	/* VBRIDGE_REPLY_VMSTOP_ACK */
	VBRIDGE_ACK_CLOSE,	/* the backend closed its node */
	VBRIDGE_ACK_AUTO,	/* timeout with vmstop_autoack */
};

/*
 * Counters change under the lock their event happens under, so the
 * forwarding path has no shared atomic of its own.
 */
static inline void vbridge_stat_inc(struct vbridge_dev *dev, int stat)
{
	if (stat == VBRIDGE_STAT_IRQS)
		lockdep_assert_held(&dev->irq_lock);
	else
		lockdep_assert_held(&dev->lock);
	WRITE_ONCE(dev->stats[stat], dev->stats[stat] + 1);
}

void vbridge_dev_stats(struct vbridge_dev *dev, u64 *stats);

/* device.c */
int vbridge_dev_init(void);
void vbridge_dev_exit(void);
struct vbridge_dev *vbridge_dev_create(const struct vbridge_dev_config *cfg,
				       struct netlink_ext_ack *extack);
void vbridge_dev_remove(struct vbridge_dev *dev);
struct vbridge_dev *vbridge_dev_find(u32 vmid, const char *name);
void vbridge_dev_get(struct vbridge_dev *dev);
void vbridge_dev_put(struct vbridge_dev *dev);
u32 vbridge_dev_state(struct vbridge_dev *dev);
int vbridge_dev_inflight_ms(struct vbridge_dev *dev);
int vbridge_dev_retry_ms(struct vbridge_dev *dev);
u32 vbridge_dev_down_ms(struct vbridge_dev *dev);
unsigned int vbridge_dev_vmstop_timeout(struct vbridge_dev *dev);
bool vbridge_dev_autoack(struct vbridge_dev *dev);
int vbridge_dev_access(struct vbridge_dev *dev, struct vbridge_vm *vm,
		       u32 window, struct vbridge_access *acc);
void vbridge_dev_bind(struct vbridge_dev *dev, struct vbridge_vm *vm);
bool vbridge_dev_stop(struct vbridge_dev *dev, struct vbridge_vm *vm);
void vbridge_dev_unbind(struct vbridge_dev *dev);
int vbridge_dev_ack(struct vbridge_dev *dev, u64 gen, enum vbridge_ack_how how);
struct vbridge_vm *vbridge_dev_running_vm(struct vbridge_dev *dev);
int vbridge_dev_be_open(struct vbridge_dev *dev);
void vbridge_dev_be_release(struct vbridge_dev *dev);
ssize_t vbridge_dev_read(struct vbridge_dev *dev, char __user *buf,
			 size_t count, bool nonblock);
int vbridge_dev_reply(struct vbridge_dev *dev, const struct vbridge_reply *r);
int vbridge_dev_set_ready(struct vbridge_dev *dev, bool ready);
void vbridge_dev_reset(struct vbridge_dev *dev);
int vbridge_dev_set_poll(struct vbridge_dev *dev, u32 spin_us);
u32 vbridge_dev_poll_us(struct vbridge_dev *dev);
__poll_t vbridge_dev_poll(struct vbridge_dev *dev, struct file *file,
			  poll_table *pt);
void vbridge_dev_remove_all(void);
void vbridge_dev_params_changed(void);

/* vm.c */
struct vbridge_vm *vbridge_vm_alloc(void);
void vbridge_vm_get(struct vbridge_vm *vm);
void vbridge_vm_put(struct vbridge_vm *vm);
int vbridge_vm_attach(struct vbridge_vm *vm, u32 vmid, u32 flags,
		      bool nonblock);
void vbridge_vm_stop(struct vbridge_vm *vm);
void vbridge_vm_ack_put(struct vbridge_vm *vm);
int vbridge_vm_add_region(struct vbridge_vm *vm,
			  const struct vbridge_mem_region *r);
struct vbridge_dev *vbridge_vm_find_dev(struct vbridge_vm *vm, u32 id);
int vbridge_vm_lookup(struct vbridge_vm *vm, u64 addr, u32 len,
		      struct vbridge_dev **devp, u32 *windowp);
unsigned int vbridge_vm_copy_regions(struct vbridge_vm *vm,
				     struct vbridge_window *out,
				     unsigned int max);
void vbridge_vmids_init(void);
struct vbridge_owner vbridge_vm_owner(u32 vmid);
void vbridge_vm_set_owner(u32 vmid, const struct vbridge_owner *owner);

/* mmap.c */
int vbridge_be_mmap(struct file *file, struct vm_area_struct *vma);
long vbridge_be_mem_fd(struct file *be_file, void __user *uarg);
void vbridge_map_bind(struct vbridge_dev *dev, struct vbridge_vm *vm);
void vbridge_map_revoke(struct vbridge_dev *dev);

/* irq.c */
int vbridge_irq_init(struct vbridge_dev *dev);
void vbridge_irq_destroy(struct vbridge_dev *dev);
int vbridge_irq_set_irqfd(struct vbridge_vm *vm, struct vbridge_dev *dev,
			  const struct vbridge_irqfd *a);
int vbridge_irq_set_level(struct vbridge_dev *dev,
			  const struct vbridge_irq_level *a);
void vbridge_irq_lower_all(struct vbridge_dev *dev);
void vbridge_irq_unbind_all(struct vbridge_dev *dev);
int vbridge_db_add(struct vbridge_dev *dev, struct vbridge_doorbell_req *req);
int vbridge_db_del(struct vbridge_dev *dev, u32 id, bool msi);
int vbridge_msi_add(struct vbridge_dev *dev, struct vbridge_msi_req *req);
void vbridge_db_drop_dev(struct vbridge_vm *vm, struct vbridge_dev *dev);
void vbridge_db_release(struct vbridge_vm *vm);
int vbridge_db_get(struct vbridge_vm *vm, struct vbridge_doorbell __user *uarg);
bool vbridge_db_pending(struct vbridge_vm *vm);

/* frontend.c */
int vbridge_frontend_init(void);
void vbridge_frontend_exit(void);

/* backend.c */
extern const struct file_operations vbridge_backend_fops;

/* netlink.c */
int vbridge_nl_init(void);
void vbridge_nl_exit(void);
void vbridge_nl_event(u32 event, u32 vmid, const char *name, u64 gen, u32 pid);

/* debugfs.c */
void vbridge_debugfs_init(void);
void vbridge_debugfs_exit(void);
void vbridge_debugfs_add_dev(struct vbridge_dev *dev);
void vbridge_debugfs_remove_dev(struct vbridge_dev *dev);

#endif /* VBRIDGE_H */
