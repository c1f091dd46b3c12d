/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The virtio-pci modern transport (virtio 1.x, section 4.1) as a pci_func.
 *
 * A device embeds struct virtio_dev as its first member, fills in struct
 * virtio_dev_info and struct virtio_dev_ops, and calls virtio_dev_init().
 * The transport provides the PCI function (vendor 0x1af4, device
 * 0x1040 + id, INTA#), one 64-bit memory BAR (BAR 0, 32 KiB) holding the
 * common configuration, ISR, device configuration and notification
 * regions, feature negotiation, device status and reset, the virtqueues,
 * and an I/O thread per device (struct vloop) that services the queues'
 * kick eventfds and the device's own descriptors.
 *
 *   BAR 0 offset  region                        capability
 *   0x0000        common configuration (64 B)   VIRTIO_PCI_CAP_COMMON_CFG
 *   0x1000        ISR status (read clears)      VIRTIO_PCI_CAP_ISR_CFG
 *   0x2000        device configuration          VIRTIO_PCI_CAP_DEVICE_CFG
 *   0x3000        queue notify, 4 B per queue   VIRTIO_PCI_CAP_NOTIFY_CFG
 *   0x4000        MSI-X table, 16 B per vector  MSI-X (when the host has MSI)
 *   0x7000        MSI-X pending bits            MSI-X
 *   config space  BAR access window             VIRTIO_PCI_CAP_PCI_CFG
 *
 * Kicks: a store to queue q's notify address writes q's kick eventfd; once
 * the driver sets DRIVER_OK the transport asks the host for a doorbell
 * (pci_host_ops.add_doorbell) on that address and eventfd, so later kicks
 * skip the trap.  Doorbells follow BAR moves and are removed on reset.
 *
 * Interrupts: INTx, and MSI-X when the host delivers MSIs
 * (pci_host_ops.send_msi; virtio_dev_add_msix(), before the function goes
 * on the bus).  With INTx the ISR byte is 1 (queue) | 2 (config), the line
 * is high while it is non-zero and reading it clears it.  MSI-X has one
 * vector per queue plus one for configuration changes, in BAR 0 (user/pci/
 * msix.h); once the driver enables it, a used-buffer notification of
 * queue q raises the vector the driver wrote to q's queue_msix_vector,
 * and a configuration change the one in msix_config (none for
 * VIRTIO_MSI_NO_VECTOR), never INTx.  Without MSI-X those registers read
 * VIRTIO_MSI_NO_VECTOR whatever is written, as the specification says a
 * device that cannot map a vector does.
 *
 * Guest misbehaviour (a broken ring, DRIVER_OK without FEATURES_OK, a queue
 * enabled with rings outside RAM) sets DEVICE_NEEDS_RESET, raises a
 * configuration-change interrupt and halts the device's I/O thread until
 * the driver resets the device.
 *
 * Restart of the host under a running guest: virtio_dev_save() copies what
 * the driver set up (status, features, selectors, queue configuration,
 * ISR, configuration generation) and virtio_dev_takeover() puts it back in
 * the device of a new process, whose queues resume from their in-flight
 * records (virtio_dev_track, see virtqueue.h); the requests the guest made
 * before are then done (replayed) or completed with the device's error
 * status (failed), as the host decides.  state_seq changes whenever
 * something virtio_dev_save() copies may have changed, so the host knows
 * when to save again.  That state includes the vectors the driver chose
 * (msix_config, queue_msix_vector); the MSI-X table and PBA are the
 * host's to carry (pci_msix_save(), which state_seq also covers: guest
 * stores to the table and vectors newly held pending bump it), and a
 * takeover with MSI-X enabled interrupts through the restored table:
 * first the pending vectors the guest unmasked, then every running
 * queue's vector, or a failed device's configuration vector.
 *
 * Reset: a driver's write of 0 to device_status stops the queues and
 * returns; a thread of the device waits for the I/O thread and the
 * device's in-flight I/O without holding any lock a guest access needs,
 * then sets device_status to 0, which the driver polls for.  A hung disk
 * image thus stalls only its own device, never the vCPU or the bus.
 *
 * Locks (in this order): virtio_dev.lock (common configuration, queue
 * setup, doorbells; held across the host's own resets, so I/O-thread
 * callbacks never take it), virtio_dev.cfg_lock (device configuration bytes), virtio_dev.isr_lock
 * (ISR and the INTx level), then pci_func.lock.  virtio_dev.status is read
 * and changed with atomics so the I/O thread can see and fail it.
 */
#ifndef VBRIDGE_VIRTIO_PCI_H
#define VBRIDGE_VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pci/msix.h"
#include "pci/pci_func.h"
#include "virtio/virtqueue.h"
#include "virtio/vloop.h"

#define VIRTIO_PCI_VENDOR	0x1af4
#define VIRTIO_PCI_DEVICE_BASE	0x1040
#define VIRTIO_PCI_BAR		0
#define VIRTIO_PCI_BAR_SIZE	0x8000	/* 32 KiB, as the configuration guide lists */
#define VIRTIO_PCI_COMMON_OFF	0x0000
#define VIRTIO_PCI_COMMON_LEN	0x40
#define VIRTIO_PCI_ISR_OFF	0x1000
#define VIRTIO_PCI_ISR_LEN	4
#define VIRTIO_PCI_DEVCFG_OFF	0x2000
#define VIRTIO_PCI_NOTIFY_OFF	0x3000
#define VIRTIO_PCI_NOTIFY_MULT	4
#define VIRTIO_PCI_MAX_QUEUES	512	/* notify up to 0x3800 */
#define VIRTIO_PCI_MSIX_TABLE_OFF 0x4000
#define VIRTIO_PCI_MSIX_PBA_OFF	0x7000
#define VIRTIO_PCI_MAX_DEVCFG	0x1000

/* Transport features every device offers. */
#define VIRTIO_TRANSPORT_FEATURES \
	((1ull << 32) /* VERSION_1 */ | (1ull << 28) /* RING_INDIRECT_DESC */ | \
	 (1ull << 29) /* RING_EVENT_IDX */)

struct virtio_dev;

/*
 * What a device taken over under a running guest does with the requests
 * the guest made before (virtio_dev_takeover()): the ones the old process
 * took and did not complete, then the ones on the avail rings.
 */
enum virtio_resume_policy {
	/* Do them: the guest's accesses waited, its I/O completes late. */
	VIRTIO_RESUME_REPLAY,
	/*
	 * Complete each once, in order, with the device's error status,
	 * without doing it: the guest's accesses failed meanwhile, its I/O
	 * fails too instead of completing long after.
	 */
	VIRTIO_RESUME_FAIL,
};

/* What virtio_dev_ops.fail_request did with a chain. */
enum virtio_fail_result {
	VIRTIO_FAIL_DONE,	/* complete it, with the length given */
	VIRTIO_FAIL_KEEP,	/* leave it and the rest of the queue */
	VIRTIO_FAIL_BAD,	/* it cannot carry an error: fail the device */
};

/* What a device tells the transport about itself. */
struct virtio_dev_info {
	const char *name;		/* "virtio-blk": messages, firmware */
	uint16_t device_id;		/* VIRTIO_ID_* */
	uint32_t pci_class;		/* base << 16 | sub << 8 | prog-if */
	uint64_t features;		/* device-specific feature bits */
	unsigned int num_queues;
	uint16_t queue_size;		/* maximum (and default) per queue */
	unsigned int config_size;	/* bytes of device configuration */
	/*
	 * Another process serves the queues (a vhost-user back-end): the
	 * I/O thread does not watch the kick eventfds, which the back-end
	 * reads; features are exactly @features, since the back-end, not
	 * this transport, implements the rings; the device raises queue
	 * interrupts with virtio_dev_raise().
	 */
	bool external;
};

/*
 * Device callbacks.  "Parked" means the I/O thread is stopped between
 * callbacks (see vloop.h), so the callback owns all device state.
 */
struct virtio_dev_ops {
	/* I/O thread: queue q was kicked (or became ready with buffers). */
	void (*queue_notify)(struct virtio_dev *vd, unsigned int q);
	/*
	 * Parked: the driver set DRIVER_OK; features are final.  Add the
	 * device's own descriptors to the loop here.  Non-zero: the device
	 * fails (DEVICE_NEEDS_RESET).  Optional.
	 */
	int (*start)(struct virtio_dev *vd);
	/*
	 * Parked: wait until no request of the device touches guest memory
	 * any more (worker threads).  Optional.
	 */
	void (*quiesce)(struct virtio_dev *vd);
	/*
	 * Parked and quiesced: back to the power-on state (remove the
	 * descriptors start added, drop pending data, restore the device
	 * configuration).  Optional.
	 */
	void (*reset)(struct virtio_dev *vd);
	/*
	 * The driver wrote len bytes at off of the device configuration
	 * (off + len <= config_size); called with cfg_lock held, may change
	 * vd->config.  NULL: the configuration is read-only.
	 */
	void (*config_write)(struct virtio_dev *vd, unsigned int off,
			     unsigned int len, const uint8_t *data);
	/*
	 * Parked, after virtio_dev_takeover() brought a running device back
	 * in a new process and start() ran: what the device kept only in
	 * the old process (host connections, buffered data) is gone; tell
	 * the driver where the device's protocol has a way.  Optional.
	 */
	void (*resume)(struct virtio_dev *vd);
	/*
	 * Parked, after resume(), when a takeover fails what the guest
	 * asked before it (VIRTIO_RESUME_FAIL): chain b of queue q is such
	 * a request.  Do not do it: write the device's error status into
	 * the chain where its protocol has one (and nothing else: the
	 * guest's data stays as it is), set *len to the bytes written, and
	 * return VIRTIO_FAIL_DONE; the transport completes the chain.
	 * VIRTIO_FAIL_KEEP leaves this chain and every later one of queue q
	 * to normal service: buffers the device fills on its own, such as
	 * receive buffers, are not requests.  VIRTIO_FAIL_BAD: the chain has
	 * no room for the status, the device fails.  NULL: the device's
	 * requests are replayed under either policy.
	 */
	enum virtio_fail_result (*fail_request)(struct virtio_dev *vd,
						unsigned int q,
						const struct vq_buf *b,
						uint32_t *len);
	/*
	 * The driver changed how a queue's interrupt is sent: MSI-X Enable
	 * or Function Mask, a vector's table entry, or a queue's vector.
	 * virtio_dev_queue_msi() says what holds now.  Called after the
	 * change, from the thread that made it, with no lock of the
	 * transport held (the bus lock may be).  Optional.
	 */
	void (*vectors_changed)(struct virtio_dev *vd);
	/* Release the device's resources and free the object. */
	void (*free)(struct virtio_dev *vd);
};

/**
 * struct virtio_queue - the transport's side of one queue
 * @vq: the ring (its own lock)
 * @vd: owner
 * @index: queue index
 * @size: queue_size as the driver set it (virtio_dev.lock)
 * @desc: queue_desc (virtio_dev.lock)
 * @driver: queue_driver, the avail ring (virtio_dev.lock)
 * @device: queue_device, the used ring (virtio_dev.lock)
 * @enabled: queue_enable was written with valid rings (virtio_dev.lock)
 * @ready: enabled and DRIVER_OK: kicks reach the device (atomic)
 * @kick_fd: eventfd written by a notify store or the doorbell
 * @kick_src: @kick_fd in the I/O loop
 * @doorbell_gpa: where the host's doorbell is, 0 if none (virtio_dev.lock)
 * @msix_vector: queue_msix_vector (written under virtio_dev.lock, read
 *	atomically by whoever signals the queue)
 */
struct virtio_queue {
	struct virtqueue vq;
	struct virtio_dev *vd;
	unsigned int index;
	uint16_t size;
	uint64_t desc, driver, device;
	bool enabled;
	bool ready;
	int kick_fd;
	struct vloop_src kick_src;
	uint64_t doorbell_gpa;
	uint16_t msix_vector;
};

/**
 * struct virtio_dev - a virtio-pci device
 * @func: the PCI function (must stay the first member)
 * @ops: device callbacks
 * @info: what the device is (copied at init)
 * @host_features: features offered: device bits | VIRTIO_TRANSPORT_FEATURES
 * @lock: see the header comment
 * @dfselect: device_feature_select (@lock)
 * @gfselect: driver_feature_select (@lock)
 * @guest_features: driver_feature (@lock; final once FEATURES_OK is set,
 *	then read freely)
 * @queue_select: queue_select (@lock)
 * @status: device_status (atomic)
 * @paused: virtio_dev_pause() holds a park (@lock)
 * @queues: @info.num_queues queues
 * @cfg_lock: protects @config and @config_generation
 * @config: device configuration, @info.config_size bytes
 * @config_generation: bumped on each device-side change
 * @isr_lock: protects @isr
 * @isr: ISR status bits
 * @pci_cfg_cap: offset of the VIRTIO_PCI_CAP_PCI_CFG capability
 * @loop: the I/O thread
 * @owner_slot: cleared when the device is freed (the device set's pointer)
 * @state_seq: bumped when what virtio_dev_save() copies, or @msix's table
 *	or PBA, may have changed (atomic)
 * @resetting: a driver's reset is completing on @reset_tid; guest writes
 *	to the common configuration are ignored meanwhile (@lock)
 * @reset_cond: signalled when @resetting clears (@lock)
 * @reset_tid: the thread completing the driver's last reset
 * @reset_joinable: @reset_tid is still to be joined (@lock)
 * @msix: MSI-X capability, table and PBA (unused, f NULL, without MSI-X)
 * @msix_config: msix_config (written under @lock, read atomically)
 */
struct virtio_dev {
	struct pci_func func;
	const struct virtio_dev_ops *ops;
	struct virtio_dev_info info;
	uint64_t host_features;
	pthread_mutex_t lock;
	uint32_t dfselect;
	uint32_t gfselect;
	uint64_t guest_features;
	uint16_t queue_select;
	uint8_t status;
	bool paused;
	struct virtio_queue *queues;
	pthread_mutex_t cfg_lock;
	uint8_t *config;
	uint8_t config_generation;
	pthread_mutex_t isr_lock;
	uint8_t isr;
	unsigned int pci_cfg_cap;
	struct vloop *loop;
	struct virtio_dev **owner_slot;
	uint32_t state_seq;
	bool resetting;
	pthread_cond_t reset_cond;
	pthread_t reset_tid;
	bool reset_joinable;
	struct pci_msix msix;
	uint16_t msix_config;
};

/*
 * Initialise vd (embedded at the start of the device's calloc'ed object):
 * PCI identity and capabilities, queues, kick eventfds, the I/O loop (not
 * started).  config starts zeroed; fill it in before the device is used.
 * Returns 0 or -errno; on failure nothing is left to free but the object.
 */
int virtio_dev_init(struct virtio_dev *vd, const struct virtio_dev_ops *ops,
		    const struct virtio_dev_info *info);
/*
 * Give vd an MSI-X capability (a vector per queue and one for
 * configuration changes), for a bus whose host delivers MSIs.  Before the
 * function is on the bus.  Returns 0 or -errno.
 */
int virtio_dev_add_msix(struct virtio_dev *vd);

/* Lifecycle, for the device set. */
int virtio_dev_start(struct virtio_dev *vd);	/* start the I/O thread */
void virtio_dev_stop(struct virtio_dev *vd);	/* stop it, drain I/O */
void virtio_dev_pause(struct virtio_dev *vd);	/* park + quiesce */
void virtio_dev_reset(struct virtio_dev *vd);	/* power-on state; unpauses */
/*
 * Wait until a driver's reset in progress (if any) has completed: for a
 * host or a test that drives the device one step at a time and must not
 * run its loop while the reset thread works.  Not for guest accesses.
 */
void virtio_dev_wait_reset(struct virtio_dev *vd);

/* --- restart of the host under a running guest ----------------------------- */

/* A queue as the driver configured it. */
struct virtio_queue_state {
	uint16_t size;
	bool enabled;
	uint64_t desc, driver, device;
	uint16_t msix_vector;		/* VIRTIO_MSI_NO_VECTOR: none */
};

/*
 * The transport state of a device as its driver set it up.  queues points
 * at info.num_queues entries the caller provides.
 */
struct virtio_dev_state {
	uint8_t status;
	uint8_t isr;
	uint8_t config_generation;
	uint16_t queue_select;
	uint32_t dfselect;
	uint32_t gfselect;
	uint64_t guest_features;
	uint16_t msix_config;		/* VIRTIO_MSI_NO_VECTOR: none */
	struct virtio_queue_state *queues;
};

void virtio_dev_save(struct virtio_dev *vd, struct virtio_dev_state *st);

/*
 * Whether st could have come from virtio_dev_save() of this device: a
 * status this transport never accepts (DRIVER_OK without FEATURES_OK),
 * features it does not offer once FEATURES_OK is set, queues enabled
 * before that or of a size it never accepts, unknown ISR bits, MSI-X
 * vectors it does not have (other than VIRTIO_MSI_NO_VECTOR).  Returns 0,
 * or -EINVAL with a message in why.
 */
int virtio_dev_check_state(const struct virtio_dev *vd,
			   const struct virtio_dev_state *st, char *why,
			   size_t len);

/*
 * Put a checked st back into a started device nobody used yet: the
 * driver's registers, then its queues (vq_resume() from their in-flight
 * records when the driver is running, vq_setup() before), then, when
 * running, start() and resume(), what policy says with the requests the
 * guest made before (see enum virtio_resume_policy), the doorbells, a
 * used-buffer interrupt (one may have been lost with the old process;
 * with MSI-X enabled, after the pending vectors the guest unmasked: call
 * it after the configuration header and pci_msix_restore()) and a kick of
 * every queue (so may a kick).  A queue that cannot be
 * resumed, or that has no record, fails the device: DEVICE_NEEDS_RESET
 * tells the driver to reset it, and nothing of its rings is trusted.
 *
 * Returns the requests the device takes again (VIRTIO_RESUME_REPLAY: the
 * chains the old process took and did not complete) or the ones it
 * failed (VIRTIO_RESUME_FAIL: those, then the avail rings' chains up to
 * their index at the call, completed in that order).
 */
unsigned int virtio_dev_takeover(struct virtio_dev *vd,
				 const struct virtio_dev_state *st,
				 enum virtio_resume_policy policy);

/* virtio_dev_takeover() with VIRTIO_RESUME_REPLAY. */
void virtio_dev_restore(struct virtio_dev *vd, const struct virtio_dev_state *st);

/*
 * Look at every queue of a running device again, as a kick would: for a
 * host that could not take kicks for a while (the bridge before it
 * declared itself ready).  Any thread.
 */
void virtio_dev_kick_all(struct virtio_dev *vd);

static inline uint32_t virtio_dev_state_seq(const struct virtio_dev *vd)
{
	return __atomic_load_n(&vd->state_seq, __ATOMIC_ACQUIRE);
}

/*
 * Keep queue q's progress in ifl, room for cap heads (vq_track()); NULL
 * stops.  While the device is reset or parked.
 */
void virtio_dev_track(struct virtio_dev *vd, unsigned int q,
		      struct vq_inflight *ifl, unsigned int cap);

/* --- for devices ---------------------------------------------------------- */

/* Queue q's kick eventfd (an external device hands it to its back-end). */
static inline int virtio_dev_kick_fd(const struct virtio_dev *vd, unsigned int q)
{
	return vd->queues[q].kick_fd;
}

static inline struct virtqueue *virtio_dev_vq(struct virtio_dev *vd,
					      unsigned int q)
{
	return &vd->queues[q].vq;
}

/* The driver accepted feature bit (after FEATURES_OK). */
static inline bool virtio_dev_has(const struct virtio_dev *vd, unsigned int bit)
{
	return (vd->guest_features >> bit) & 1;
}

/* DRIVER_OK is set and the device has not failed. */
bool virtio_dev_running(const struct virtio_dev *vd);

/*
 * vq_pop() on queue q; a broken ring fails the device (returns -EIO).
 * Returns 1, 0 (empty or not running) or -EIO.
 */
int virtio_dev_pop(struct virtio_dev *vd, unsigned int q, struct vq_buf *b);
/* vq_push() then, if the driver wants it, an interrupt. */
void virtio_dev_complete(struct virtio_dev *vd, unsigned int q, uint16_t head,
			 uint32_t len);
/* Interrupt for queue q if the driver wants one (after vq_push()es). */
void virtio_dev_signal(struct virtio_dev *vd, unsigned int q);

/*
 * Queue q's interrupt, whatever the ring's suppression says: for an
 * external device, whose back-end already decided (its call eventfd).
 */
void virtio_dev_raise(struct virtio_dev *vd, unsigned int q);

/*
 * Whether queue q's interrupt is an MSI-X message that is sent as soon as
 * it is raised (MSI-X on, its vector valid and unmasked), and then the
 * message in *addr and *data.  An external device whose host has
 * msi_fd_get hands the message's eventfd to its back-end while this holds.
 */
bool virtio_dev_queue_msi(struct virtio_dev *vd, unsigned int q,
			  uint64_t *addr, uint32_t *data);

/*
 * Guest misbehaviour: log once, set DEVICE_NEEDS_RESET, interrupt the
 * driver (configuration change), halt the I/O thread.  Any thread.
 */
void virtio_dev_fail(struct virtio_dev *vd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same for a failure of the host side (a back-end gone), not the guest's. */
void virtio_dev_fail_host(struct virtio_dev *vd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Change len bytes of the device configuration at off and notify the
 * driver (generation bump, configuration-change interrupt when running).
 */
void virtio_dev_config_update(struct virtio_dev *vd, unsigned int off,
			      const void *data, unsigned int len);

static inline struct vloop *virtio_dev_loop(struct virtio_dev *vd)
{
	return vd->loop;
}

#endif
