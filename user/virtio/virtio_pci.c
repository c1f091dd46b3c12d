// SPDX-License-Identifier: GPL-2.0
/* virtio-pci modern transport.  See virtio_pci.h. */
#include "virtio/virtio_pci.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "lib/log.h"

#define ST_RESET_KEEP	VIRTIO_CONFIG_S_NEEDS_RESET
#define ISR_QUEUE	0x1	/* a used buffer notification */
#define ISR_CONFIG	0x2	/* a configuration change */

static struct virtio_dev *to_vd(struct pci_func *f)
{
	return (struct virtio_dev *)f;	/* func is the first member */
}

static uint8_t status_get(const struct virtio_dev *vd)
{
	return __atomic_load_n(&vd->status, __ATOMIC_ACQUIRE);
}

/* Something virtio_dev_save() copies may have changed. */
static void state_changed(struct virtio_dev *vd)
{
	__atomic_fetch_add(&vd->state_seq, 1, __ATOMIC_RELEASE);
}

bool virtio_dev_running(const struct virtio_dev *vd)
{
	uint8_t s = status_get(vd);

	return (s & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(s & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void put_le(uint8_t *p, unsigned int len, uint64_t v)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		p[i] = v >> (8 * i);
}

/* --- interrupts ------------------------------------------------------------ */

static void isr_raise(struct virtio_dev *vd, uint8_t bits)
{
	pthread_mutex_lock(&vd->isr_lock);
	vd->isr |= bits;
	pci_func_set_intx(&vd->func, 1);
	pthread_mutex_unlock(&vd->isr_lock);
}

static uint8_t isr_read_clear(struct virtio_dev *vd)
{
	uint8_t v;

	pthread_mutex_lock(&vd->isr_lock);
	v = vd->isr;
	vd->isr = 0;
	pci_func_set_intx(&vd->func, 0);
	pthread_mutex_unlock(&vd->isr_lock);
	return v;
}

/*
 * With MSI-X enabled, the vector the driver chose, if any (NO_VECTOR is
 * past every table); never INTx.  False: MSI-X is off.
 */
static bool msix_raise(struct virtio_dev *vd, const uint16_t *vector)
{
	enum pci_msix_raised r;

	r = pci_msix_notify(&vd->msix, __atomic_load_n(vector, __ATOMIC_ACQUIRE));
	if (r == PCI_MSIX_HELD)
		state_changed(vd);	/* the PBA is saved: the guest may unmask it later */
	return r != PCI_MSIX_OFF;
}

static void config_irq(struct virtio_dev *vd)
{
	if (!msix_raise(vd, &vd->msix_config)) {
		isr_raise(vd, ISR_CONFIG);
		return;
	}
	/* The ISR still tells a driver that looks why. */
	pthread_mutex_lock(&vd->isr_lock);
	vd->isr |= ISR_CONFIG;
	pthread_mutex_unlock(&vd->isr_lock);
}

void virtio_dev_signal(struct virtio_dev *vd, unsigned int q)
{
	if (vq_should_signal(&vd->queues[q].vq) &&
	    !msix_raise(vd, &vd->queues[q].msix_vector))
		isr_raise(vd, ISR_QUEUE);
}

void virtio_dev_raise(struct virtio_dev *vd, unsigned int q)
{
	if (!msix_raise(vd, &vd->queues[q].msix_vector))
		isr_raise(vd, ISR_QUEUE);
}

bool virtio_dev_queue_msi(struct virtio_dev *vd, unsigned int q,
			  uint64_t *addr, uint32_t *data)
{
	if (q >= vd->info.num_queues || !vd->msix.f)
		return false;
	return pci_msix_vector_live(&vd->msix,
				    __atomic_load_n(&vd->queues[q].msix_vector,
						    __ATOMIC_ACQUIRE),
				    addr, data);
}

/* After the driver changed what virtio_dev_queue_msi() says. */
static void vectors_changed(struct virtio_dev *vd)
{
	if (vd->ops->vectors_changed)
		vd->ops->vectors_changed(vd);
}

void virtio_dev_complete(struct virtio_dev *vd, unsigned int q, uint16_t head,
			 uint32_t len)
{
	vq_push(&vd->queues[q].vq, head, len);
	virtio_dev_signal(vd, q);
}

/* DEVICE_NEEDS_RESET, logged once as "<what>: <message>". */
__attribute__((format(printf, 3, 0)))
static void dev_fail(struct virtio_dev *vd, const char *what, const char *fmt,
		     va_list ap)
{
	uint8_t old;
	char msg[256];

	old = __atomic_fetch_or(&vd->status, VIRTIO_CONFIG_S_NEEDS_RESET,
				__ATOMIC_ACQ_REL);
	if (!(old & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		vsnprintf(msg, sizeof(msg), fmt, ap);
		log_warn("%s at %02x.%x: %s: %s; the device stops until the driver resets it",
			 vd->info.name, PCI_SLOT(vd->func.devfn),
			 PCI_FUNC(vd->func.devfn), what, msg);
	}
	state_changed(vd);
	vloop_halt(vd->loop);
	if (old & VIRTIO_CONFIG_S_DRIVER_OK)
		config_irq(vd);
}

void virtio_dev_fail(struct virtio_dev *vd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dev_fail(vd, "guest driver error", fmt, ap);
	va_end(ap);
}

void virtio_dev_fail_host(struct virtio_dev *vd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dev_fail(vd, "host error", fmt, ap);
	va_end(ap);
}

int virtio_dev_pop(struct virtio_dev *vd, unsigned int q, struct vq_buf *b)
{
	struct virtio_queue *vq = &vd->queues[q];
	int ret;

	if (!__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE) ||
	    !virtio_dev_running(vd))
		return 0;
	ret = vq_pop(&vq->vq, b);
	if (ret < 0)
		virtio_dev_fail(vd, "queue %u: %s", q, vq_error(&vq->vq));
	return ret;
}

void virtio_dev_config_update(struct virtio_dev *vd, unsigned int off,
			      const void *data, unsigned int len)
{
	if (off > vd->info.config_size || len > vd->info.config_size - off)
		return;
	pthread_mutex_lock(&vd->cfg_lock);
	memcpy(vd->config + off, data, len);
	vd->config_generation++;
	pthread_mutex_unlock(&vd->cfg_lock);
	state_changed(vd);
	if (virtio_dev_running(vd))
		config_irq(vd);
}

/* --- doorbells and kicks ------------------------------------------------- */

static void kick(struct virtio_queue *q)
{
	uint64_t one = 1;

	if (write(q->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_errno("%s: queue %u kick", q->vd->info.name, q->index);
}

static void kick_drain(struct virtio_queue *q)
{
	uint64_t v;

	while (read(q->kick_fd, &v, sizeof(v)) > 0)
		;
}

/* I/O thread. */
static void kick_cb(struct vloop_src *src, uint32_t events)
{
	struct virtio_queue *q = src->arg;
	struct virtio_dev *vd = q->vd;
	struct pci_host *h = pci_func_host(&vd->func);
	uint64_t v;

	if (read(q->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	if (!__atomic_load_n(&q->ready, __ATOMIC_ACQUIRE) ||
	    !virtio_dev_running(vd))
		return;
	/* The host kicks again once the stores before this one are done. */
	if (h && h->ops && h->ops->kick_defer && h->ops->kick_defer(h))
		return;
	vd->ops->queue_notify(vd, q->index);
}

/* Called with vd->lock. */
static void doorbells_del(struct virtio_dev *vd)
{
	struct pci_host *h = pci_func_host(&vd->func);
	unsigned int i;

	for (i = 0; i < vd->info.num_queues; i++) {
		struct virtio_queue *q = &vd->queues[i];

		if (!q->doorbell_gpa)
			continue;
		if (h && h->ops && h->ops->del_doorbell)
			h->ops->del_doorbell(h, q->doorbell_gpa, 2, q->kick_fd);
		q->doorbell_gpa = 0;
	}
}

/* Called with vd->lock: doorbells for every ready queue that has none. */
static void doorbells_add(struct virtio_dev *vd)
{
	struct pci_host *h = pci_func_host(&vd->func);
	uint64_t base;
	unsigned int i;

	if (!h || !h->ops || !h->ops->add_doorbell || !virtio_dev_running(vd))
		return;
	base = pci_func_bar_addr(&vd->func, VIRTIO_PCI_BAR);
	if (!base)
		return;
	for (i = 0; i < vd->info.num_queues; i++) {
		struct virtio_queue *q = &vd->queues[i];
		uint64_t gpa = base + VIRTIO_PCI_NOTIFY_OFF +
			       (uint64_t)i * VIRTIO_PCI_NOTIFY_MULT;
		int ret;

		if (q->doorbell_gpa || !q->ready)
			continue;
		ret = h->ops->add_doorbell(h, gpa, 2, q->kick_fd);
		if (ret) {
			log_debug("%s: no doorbell for queue %u at 0x%llx (%s); kicks keep trapping",
				  vd->info.name, i, (unsigned long long)gpa,
				  strerror(-ret));
			continue;
		}
		q->doorbell_gpa = gpa;
	}
}

static void layout_changed(struct pci_func *f)
{
	struct virtio_dev *vd = to_vd(f);

	pthread_mutex_lock(&vd->lock);
	doorbells_del(vd);
	doorbells_add(vd);
	pthread_mutex_unlock(&vd->lock);
}

/* --- reset and DRIVER_OK ------------------------------------------------- */

/*
 * A reset in three steps, so that the waiting one can run without vd->lock
 * (and without the bus lock a VIRTIO_PCI_CAP_PCI_CFG access holds):
 * reset_begin() stops new work (vd->lock), reset_drain() waits for the I/O
 * thread and the device's in-flight I/O (no lock needed), reset_finish()
 * puts the device in its power-on state (vd->lock).
 */
static void reset_begin(struct virtio_dev *vd)
{
	unsigned int i;

	doorbells_del(vd);
	for (i = 0; i < vd->info.num_queues; i++)
		__atomic_store_n(&vd->queues[i].ready, false, __ATOMIC_RELEASE);
}

static void reset_drain(struct virtio_dev *vd)
{
	vloop_park(vd->loop);
	if (vd->ops->quiesce)
		vd->ops->quiesce(vd);
}

static void reset_finish(struct virtio_dev *vd)
{
	unsigned int i;

	if (vd->ops->reset)
		vd->ops->reset(vd);
	for (i = 0; i < vd->info.num_queues; i++) {
		struct virtio_queue *q = &vd->queues[i];

		__atomic_store_n(&q->ready, false, __ATOMIC_RELEASE);
		vq_reset(&q->vq);
		q->size = vd->info.queue_size;
		q->desc = q->driver = q->device = 0;
		q->enabled = false;
		__atomic_store_n(&q->msix_vector, VIRTIO_MSI_NO_VECTOR,
				 __ATOMIC_RELEASE);
		kick_drain(q);
	}
	__atomic_store_n(&vd->msix_config, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELEASE);
	vd->dfselect = vd->gfselect = 0;
	vd->guest_features = 0;
	vd->queue_select = 0;
	__atomic_store_n(&vd->status, 0, __ATOMIC_RELEASE);
	isr_read_clear(vd);
	vloop_clear_halt(vd->loop);
	vloop_unpark(vd->loop);
	state_changed(vd);
}

/* Called with vd->lock: a reset that waits here, for the host's own use. */
static void do_reset(struct virtio_dev *vd)
{
	reset_begin(vd);
	reset_drain(vd);
	reset_finish(vd);
}

/* The second half of a driver's reset, on its own thread. */
static void *reset_thread(void *arg)
{
	struct virtio_dev *vd = arg;

	reset_drain(vd);
	pthread_mutex_lock(&vd->lock);
	reset_finish(vd);
	vd->resetting = false;
	pthread_cond_broadcast(&vd->reset_cond);
	pthread_mutex_unlock(&vd->lock);
	return NULL;
}

/*
 * Called with vd->lock: wait until no driver reset is in progress (it may
 * wait for the device's in-flight I/O).  Not for guest accesses.
 */
static void reset_wait(struct virtio_dev *vd)
{
	while (vd->resetting)
		pthread_cond_wait(&vd->reset_cond, &vd->lock);
	if (vd->reset_joinable) {
		/* Finished: it only has to return. */
		pthread_join(vd->reset_tid, NULL);
		vd->reset_joinable = false;
	}
}

/*
 * Called with vd->lock, from a guest access: the driver wrote 0 to
 * device_status.  The access must not wait for the device's I/O (a hung
 * image would stall the vCPU, and through VIRTIO_PCI_CAP_PCI_CFG every
 * vCPU, since that path holds the bus lock), so the reset completes on a
 * thread of its own; device_status keeps its old value until it has, and
 * the driver polls it until it reads 0 (virtio 1.2, 4.1.4.3.2).
 */
static void driver_reset(struct virtio_dev *vd)
{
	sigset_t all, old;
	int ret;

	if (vd->resetting)
		return;		/* one is under way */
	if (vd->reset_joinable) {
		pthread_join(vd->reset_tid, NULL);
		vd->reset_joinable = false;
	}
	if (!status_get(vd)) {
		/*
		 * Nothing was started since the last reset, so nothing waits;
		 * and device_status, already 0, could not tell the driver when
		 * a reset in the background has completed.
		 */
		do_reset(vd);
		return;
	}
	reset_begin(vd);
	vd->resetting = true;
	state_changed(vd);	/* a takeover now starts from the reset device */
	/* Signals are for the vCPU and main threads, not this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&vd->reset_tid, NULL, reset_thread, vd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!ret) {
		vd->reset_joinable = true;
		return;
	}
	log_warn("%s: no thread for the reset (%s); resetting in the guest's access",
		 vd->info.name, strerror(ret));
	reset_drain(vd);
	reset_finish(vd);
	vd->resetting = false;
}

/* Called with vd->lock; DRIVER_OK is already in status. */
static void do_driver_ok(struct virtio_dev *vd)
{
	unsigned int i;
	int ret = 0;

	vloop_park(vd->loop);
	for (i = 0; i < vd->info.num_queues; i++)
		if (vd->queues[i].enabled)
			__atomic_store_n(&vd->queues[i].ready, true,
					 __ATOMIC_RELEASE);
	if (vd->ops->start)
		ret = vd->ops->start(vd);
	vloop_unpark(vd->loop);
	if (ret) {
		virtio_dev_fail(vd, "the device could not start (%s)",
				strerror(ret < 0 ? -ret : ret));
		return;
	}
	/* Buffers made available before DRIVER_OK. */
	for (i = 0; i < vd->info.num_queues; i++)
		if (vd->queues[i].ready)
			kick(&vd->queues[i]);
	doorbells_add(vd);
}

static bool features_ok(struct virtio_dev *vd)
{
	uint64_t extra = vd->guest_features & ~vd->host_features;

	if (extra) {
		log_debug("%s: driver asked for features 0x%llx the device does not offer",
			  vd->info.name, (unsigned long long)extra);
		return false;
	}
	if (!(vd->guest_features & (1ull << VIRTIO_F_VERSION_1))) {
		log_debug("%s: driver did not accept VIRTIO_F_VERSION_1 (legacy drivers are not supported)",
			  vd->info.name);
		return false;
	}
	return true;
}

/* Called with vd->lock. */
static void status_write(struct virtio_dev *vd, uint8_t val)
{
	uint8_t old = status_get(vd);
	bool driver_ok = false;

	if (!val) {
		driver_reset(vd);
		return;
	}
	val &= ~ST_RESET_KEEP;	/* the device's bit */
	if ((val & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(old & VIRTIO_CONFIG_S_FEATURES_OK) && !features_ok(vd))
		val &= ~VIRTIO_CONFIG_S_FEATURES_OK;	/* driver sees refusal */
	if ((val & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
		if (!((val | old) & VIRTIO_CONFIG_S_FEATURES_OK)) {
			val &= ~VIRTIO_CONFIG_S_DRIVER_OK;
			__atomic_fetch_or(&vd->status, val, __ATOMIC_ACQ_REL);
			virtio_dev_fail(vd, "DRIVER_OK set before FEATURES_OK was accepted");
			return;
		}
		driver_ok = true;
	}
	/* Bits are only ever added; clearing one takes a reset. */
	__atomic_fetch_or(&vd->status, val, __ATOMIC_ACQ_REL);
	if (driver_ok && !(old & VIRTIO_CONFIG_S_NEEDS_RESET))
		do_driver_ok(vd);
}

/* Called with vd->lock. */
static void queue_enable(struct virtio_dev *vd, struct virtio_queue *q)
{
	struct pci_host *h = pci_func_host(&vd->func);
	uint8_t st = status_get(vd);
	int ret;

	if (q->enabled)
		return;
	if (!(st & VIRTIO_CONFIG_S_FEATURES_OK)) {
		virtio_dev_fail(vd, "queue %u enabled before FEATURES_OK", q->index);
		return;
	}
	if (!h || !h->mem) {
		virtio_dev_fail(vd, "queue %u enabled but the host has no guest memory",
				q->index);
		return;
	}
	if (q->size > vd->info.queue_size) {
		virtio_dev_fail(vd, "queue %u size %u is larger than the maximum %u",
				q->index, q->size, vd->info.queue_size);
		return;
	}
	ret = vq_setup(&q->vq, h->mem, q->size, q->desc, q->driver, q->device,
		       virtio_dev_has(vd, VIRTIO_RING_F_EVENT_IDX),
		       virtio_dev_has(vd, VIRTIO_RING_F_INDIRECT_DESC));
	if (ret) {
		virtio_dev_fail(vd, "queue %u: %s", q->index, vq_error(&q->vq));
		return;
	}
	q->enabled = true;
	if (virtio_dev_running(vd)) {
		/* Enabled after DRIVER_OK: usable at once. */
		__atomic_store_n(&q->ready, true, __ATOMIC_RELEASE);
		kick(q);
		doorbells_add(vd);
	}
}

/* --- the BAR ---------------------------------------------------------------- */

static void common_snapshot(struct virtio_dev *vd, uint8_t *c)
{
	unsigned int qs = vd->queue_select;
	uint64_t w;

	memset(c, 0, VIRTIO_PCI_COMMON_LEN);
	put_le(c + VIRTIO_PCI_COMMON_DFSELECT, 4, vd->dfselect);
	w = vd->dfselect < 2 ? vd->host_features >> (32 * vd->dfselect) : 0;
	put_le(c + VIRTIO_PCI_COMMON_DF, 4, w);
	put_le(c + VIRTIO_PCI_COMMON_GFSELECT, 4, vd->gfselect);
	w = vd->gfselect < 2 ? vd->guest_features >> (32 * vd->gfselect) : 0;
	put_le(c + VIRTIO_PCI_COMMON_GF, 4, w);
	put_le(c + VIRTIO_PCI_COMMON_MSIX, 2, vd->msix_config);
	put_le(c + VIRTIO_PCI_COMMON_NUMQ, 2, vd->info.num_queues);
	c[VIRTIO_PCI_COMMON_STATUS] = status_get(vd);
	pthread_mutex_lock(&vd->cfg_lock);
	c[VIRTIO_PCI_COMMON_CFGGENERATION] = vd->config_generation;
	pthread_mutex_unlock(&vd->cfg_lock);
	put_le(c + VIRTIO_PCI_COMMON_Q_SELECT, 2, qs);
	if (qs < vd->info.num_queues) {
		struct virtio_queue *q = &vd->queues[qs];

		put_le(c + VIRTIO_PCI_COMMON_Q_SIZE, 2, q->size);
		put_le(c + VIRTIO_PCI_COMMON_Q_MSIX, 2, q->msix_vector);
		put_le(c + VIRTIO_PCI_COMMON_Q_ENABLE, 2, q->enabled);
		put_le(c + VIRTIO_PCI_COMMON_Q_NOFF, 2, qs);
		put_le(c + VIRTIO_PCI_COMMON_Q_DESCLO, 8, q->desc);
		put_le(c + VIRTIO_PCI_COMMON_Q_AVAILLO, 8, q->driver);
		put_le(c + VIRTIO_PCI_COMMON_Q_USEDLO, 8, q->device);
	}
}

static uint64_t common_read(struct virtio_dev *vd, unsigned int off,
			    unsigned int len)
{
	uint8_t c[VIRTIO_PCI_COMMON_LEN];
	uint64_t v = 0;
	unsigned int i;

	if (off >= VIRTIO_PCI_COMMON_LEN)
		return 0;
	pthread_mutex_lock(&vd->lock);
	common_snapshot(vd, c);
	pthread_mutex_unlock(&vd->lock);
	for (i = 0; i < len && off + i < VIRTIO_PCI_COMMON_LEN; i++)
		v |= (uint64_t)c[off + i] << (8 * i);
	return v;
}

/* Set the 32-bit half at byte 0 or 4 of a 64-bit field, or all of it. */
static void set_addr(uint64_t *field, unsigned int half, unsigned int len,
		     uint64_t val)
{
	if (len == 8)
		*field = val;
	else if (half)
		*field = (*field & 0xffffffffull) | (val << 32);
	else
		*field = (*field & ~0xffffffffull) | (uint32_t)val;
}

/* What msix_config or queue_msix_vector keeps of a driver's write. */
static uint16_t msix_vector_ok(const struct virtio_dev *vd, uint64_t val)
{
	return vd->msix.f && val < vd->msix.nr ? val : VIRTIO_MSI_NO_VECTOR;
}

static void common_write(struct virtio_dev *vd, unsigned int off,
			 unsigned int len, uint64_t val)
{
	struct virtio_queue *q;
	unsigned int word;
	bool vectors = false;

	pthread_mutex_lock(&vd->lock);
	if (vd->resetting) {
		/* The driver must wait for device_status 0 first. */
		pthread_mutex_unlock(&vd->lock);
		return;
	}
	q = vd->queue_select < vd->info.num_queues ?
	    &vd->queues[vd->queue_select] : NULL;
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		if (len == 4)
			vd->dfselect = val;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		if (len == 4)
			vd->gfselect = val;
		break;
	case VIRTIO_PCI_COMMON_GF:
		word = vd->gfselect;
		if (len != 4 || word > 1 ||
		    (status_get(vd) & VIRTIO_CONFIG_S_FEATURES_OK))
			break;
		vd->guest_features &= ~(0xffffffffull << (32 * word));
		vd->guest_features |= (val & 0xffffffffull) << (32 * word);
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		if (len == 1)
			status_write(vd, val);
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		if (len == 2)
			__atomic_store_n(&vd->msix_config, msix_vector_ok(vd, val),
					 __ATOMIC_RELEASE);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		if (len == 2)
			vd->queue_select = val;
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		if (len == 2 && q) {
			__atomic_store_n(&q->msix_vector, msix_vector_ok(vd, val),
					 __ATOMIC_RELEASE);
			vectors = true;
		}
		break;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		if (len == 2 && q && !q->enabled)
			q->size = val;
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (len == 2 && q && val == 1)
			queue_enable(vd, q);
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		if (q && !q->enabled && (len == 4 || (len == 8 && !(off & 4))))
			set_addr(&q->desc, off & 4, len, val);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		if (q && !q->enabled && (len == 4 || (len == 8 && !(off & 4))))
			set_addr(&q->driver, off & 4, len, val);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		if (q && !q->enabled && (len == 4 || (len == 8 && !(off & 4))))
			set_addr(&q->device, off & 4, len, val);
		break;
	default:
		/* Read-only fields, queue_reset. */
		break;
	}
	state_changed(vd);
	pthread_mutex_unlock(&vd->lock);
	if (vectors)
		vectors_changed(vd);
}

static uint64_t devcfg_read(struct virtio_dev *vd, unsigned int off,
			    unsigned int len)
{
	uint64_t v = 0;
	unsigned int i;

	pthread_mutex_lock(&vd->cfg_lock);
	for (i = 0; i < len && off + i < vd->info.config_size; i++)
		v |= (uint64_t)vd->config[off + i] << (8 * i);
	pthread_mutex_unlock(&vd->cfg_lock);
	return v;
}

static void devcfg_write(struct virtio_dev *vd, unsigned int off,
			 unsigned int len, uint64_t val)
{
	uint8_t data[8];

	if (!vd->ops->config_write || off >= vd->info.config_size ||
	    len > vd->info.config_size - off)
		return;
	put_le(data, len, val);
	pthread_mutex_lock(&vd->cfg_lock);
	vd->ops->config_write(vd, off, len, data);
	pthread_mutex_unlock(&vd->cfg_lock);
}

static uint64_t bar_read(struct pci_func *f, unsigned int bar, uint64_t off,
			 unsigned int len)
{
	struct virtio_dev *vd = to_vd(f);
	uint64_t v;

	if (bar != VIRTIO_PCI_BAR)
		return 0;
	if (pci_msix_bar_access(&vd->msix, off, len, false, &v))
		return v;
	if (off < VIRTIO_PCI_ISR_OFF)
		return common_read(vd, off, len);
	if (off < VIRTIO_PCI_ISR_OFF + VIRTIO_PCI_ISR_LEN)
		return off == VIRTIO_PCI_ISR_OFF ? isr_read_clear(vd) : 0;
	if (off >= VIRTIO_PCI_DEVCFG_OFF && off < VIRTIO_PCI_NOTIFY_OFF)
		return devcfg_read(vd, off - VIRTIO_PCI_DEVCFG_OFF, len);
	return 0;
}

static void bar_write(struct pci_func *f, unsigned int bar, uint64_t off,
		      unsigned int len, uint64_t val)
{
	struct virtio_dev *vd = to_vd(f);

	if (bar != VIRTIO_PCI_BAR)
		return;
	if (pci_msix_bar_access(&vd->msix, off, len, true, &val)) {
		state_changed(vd);	/* the table is saved state */
		vectors_changed(vd);
		return;
	}
	if (off < VIRTIO_PCI_ISR_OFF) {
		common_write(vd, off, len, val);
	} else if (off >= VIRTIO_PCI_DEVCFG_OFF && off < VIRTIO_PCI_NOTIFY_OFF) {
		devcfg_write(vd, off - VIRTIO_PCI_DEVCFG_OFF, len, val);
	} else if (off >= VIRTIO_PCI_NOTIFY_OFF) {
		uint64_t n = off - VIRTIO_PCI_NOTIFY_OFF;

		if (!(n % VIRTIO_PCI_NOTIFY_MULT) &&
		    n / VIRTIO_PCI_NOTIFY_MULT < vd->info.num_queues)
			kick(&vd->queues[n / VIRTIO_PCI_NOTIFY_MULT]);
	}
}

/* --- VIRTIO_PCI_CAP_PCI_CFG: BAR access through config space ------------- */

#define PCFG_BAR	offsetof(struct virtio_pci_cap, bar)
#define PCFG_OFFSET	offsetof(struct virtio_pci_cap, offset)
#define PCFG_LENGTH	offsetof(struct virtio_pci_cap, length)
#define PCFG_DATA	offsetof(struct virtio_pci_cfg_cap, pci_cfg_data)

static bool pcfg_window(struct virtio_dev *vd, uint64_t *off,
			unsigned int *len)
{
	unsigned int cap = vd->pci_cfg_cap;
	uint32_t bar = pci_func_cfg_get(&vd->func, cap + PCFG_BAR, 1);

	*off = pci_func_cfg_get(&vd->func, cap + PCFG_OFFSET, 4);
	*len = pci_func_cfg_get(&vd->func, cap + PCFG_LENGTH, 4);
	return bar == VIRTIO_PCI_BAR && (*len == 1 || *len == 2 || *len == 4) &&
	       !(*off & (*len - 1)) && *off + *len <= VIRTIO_PCI_BAR_SIZE;
}

static bool cfg_read(struct pci_func *f, unsigned int reg, unsigned int len,
		     uint32_t *val)
{
	struct virtio_dev *vd = to_vd(f);
	unsigned int data = vd->pci_cfg_cap + PCFG_DATA;
	unsigned int wlen;
	uint64_t off;

	if (reg + len <= data || reg >= data + 4)
		return false;
	if (pcfg_window(vd, &off, &wlen))
		pci_func_cfg_set(f, data, 4,
				 bar_read(f, VIRTIO_PCI_BAR, off, wlen));
	return false;	/* now read cfg[] as usual */
}

static void cfg_write(struct pci_func *f, unsigned int reg, unsigned int len,
		      uint32_t val)
{
	struct virtio_dev *vd = to_vd(f);
	unsigned int data = vd->pci_cfg_cap + PCFG_DATA;
	unsigned int wlen;
	uint64_t off;

	if (pci_msix_cfg_write(&vd->msix, reg, len)) {
		/* INTx is for a driver without MSI-X only. */
		pthread_mutex_lock(&vd->isr_lock);
		pci_func_set_intx(f, vd->isr && !pci_msix_enabled(&vd->msix));
		pthread_mutex_unlock(&vd->isr_lock);
		vectors_changed(vd);
	}
	if (reg + len <= data || reg >= data + 4)
		return;
	if (pcfg_window(vd, &off, &wlen))
		bar_write(f, VIRTIO_PCI_BAR, off, wlen,
			  pci_func_cfg_get(f, data, 4) &
			  (wlen == 4 ? 0xffffffffu : (1u << (8 * wlen)) - 1));
}

/* --- lifetime ---------------------------------------------------------------- */

int virtio_dev_add_msix(struct virtio_dev *vd)
{
	return pci_msix_init(&vd->msix, &vd->func, VIRTIO_PCI_BAR,
			     VIRTIO_PCI_MSIX_TABLE_OFF, VIRTIO_PCI_MSIX_PBA_OFF,
			     vd->info.num_queues + 1);
}

static void transport_free(struct pci_func *f)
{
	struct virtio_dev *vd = to_vd(f);
	unsigned int i;

	pthread_mutex_lock(&vd->lock);
	reset_wait(vd);
	pthread_mutex_unlock(&vd->lock);
	vloop_stop(vd->loop);
	pthread_mutex_lock(&vd->lock);
	doorbells_del(vd);
	pthread_mutex_unlock(&vd->lock);
	if (vd->ops->quiesce)
		vd->ops->quiesce(vd);
	if (vd->owner_slot)
		*vd->owner_slot = NULL;
	vloop_free(vd->loop);
	for (i = 0; i < vd->info.num_queues; i++) {
		close(vd->queues[i].kick_fd);
		vq_destroy(&vd->queues[i].vq);
	}
	free(vd->queues);
	free(vd->config);
	pthread_cond_destroy(&vd->reset_cond);
	pthread_mutex_destroy(&vd->lock);
	pthread_mutex_destroy(&vd->cfg_lock);
	pthread_mutex_destroy(&vd->isr_lock);
	pci_msix_destroy(&vd->msix);
	if (vd->ops->free)
		vd->ops->free(vd);
}

static const struct pci_func_ops virtio_pci_ops = {
	.bar_read = bar_read,
	.bar_write = bar_write,
	.cfg_read = cfg_read,
	.cfg_write = cfg_write,
	.layout_changed = layout_changed,
	.free = transport_free,
};

static int add_vcap(struct virtio_dev *vd, uint8_t type, uint32_t off,
		    uint32_t len, unsigned int size, uint32_t extra)
{
	uint8_t buf[sizeof(struct virtio_pci_notify_cap)] = { 0 };
	struct virtio_pci_cap *cap = (struct virtio_pci_cap *)buf;

	cap->cap_len = size;
	cap->cfg_type = type;
	cap->bar = VIRTIO_PCI_BAR;
	cap->offset = htole32(off);
	cap->length = htole32(len);
	if (size > sizeof(*cap))
		put_le(buf + sizeof(*cap), 4, extra);
	return pci_func_add_cap(&vd->func, PCI_CAP_ID_VNDR, buf, size);
}

int virtio_dev_init(struct virtio_dev *vd, const struct virtio_dev_ops *ops,
		    const struct virtio_dev_info *info)
{
	static const uint8_t pcfg_wmask[sizeof(struct virtio_pci_cfg_cap)] = {
		[PCFG_BAR] = 0xff,
		[PCFG_OFFSET ... PCFG_OFFSET + 3] = 0xff,
		[PCFG_LENGTH ... PCFG_LENGTH + 3] = 0xff,
		[PCFG_DATA ... PCFG_DATA + 3] = 0xff,
	};
	struct pci_func_id id = {
		.vendor = VIRTIO_PCI_VENDOR,
		.device = VIRTIO_PCI_DEVICE_BASE + info->device_id,
		.subsys_vendor = VIRTIO_PCI_VENDOR,
		.subsys = 0x1100,
		.revision = 1,
		.class = info->pci_class,
		.intx_pin = 1,
	};
	unsigned int i, nq = info->num_queues;
	int ret, off;

	if (!nq || nq > VIRTIO_PCI_MAX_QUEUES || !info->queue_size ||
	    info->queue_size > VQ_MAX_SIZE ||
	    (info->queue_size & (info->queue_size - 1)) ||
	    info->config_size > VIRTIO_PCI_MAX_DEVCFG)
		return -EINVAL;
	ret = pci_func_init(&vd->func, &virtio_pci_ops, info->name, &id);
	if (ret)
		return ret;
	vd->ops = ops;
	vd->info = *info;
	vd->host_features = info->features;
	if (!info->external)
		vd->host_features |= VIRTIO_TRANSPORT_FEATURES;
	vd->msix_config = VIRTIO_MSI_NO_VECTOR;
	pthread_mutex_init(&vd->lock, NULL);
	pthread_mutex_init(&vd->cfg_lock, NULL);
	pthread_mutex_init(&vd->isr_lock, NULL);
	pthread_cond_init(&vd->reset_cond, NULL);

	ret = -ENOMEM;
	vd->config = calloc(1, info->config_size ? info->config_size : 1);
	vd->queues = calloc(nq, sizeof(*vd->queues));
	vd->loop = vloop_new(info->name);
	if (!vd->config || !vd->queues || !vd->loop)
		goto fail;
	for (i = 0; i < nq; i++) {
		struct virtio_queue *q = &vd->queues[i];

		q->kick_fd = -1;
		if (vq_init(&q->vq))
			goto fail_queues;
		q->vd = vd;
		q->index = i;
		q->size = info->queue_size;
		q->msix_vector = VIRTIO_MSI_NO_VECTOR;
		q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->kick_fd < 0) {
			ret = -errno;
			vq_destroy(&q->vq);
			goto fail_queues;
		}
		q->kick_src.fd = q->kick_fd;
		q->kick_src.fn = kick_cb;
		q->kick_src.arg = q;
		/* An external device's back-end reads the kicks. */
		ret = info->external ? 0 :
		      vloop_add(vd->loop, &q->kick_src, EPOLLIN);
		if (ret) {
			close(q->kick_fd);
			vq_destroy(&q->vq);
			goto fail_queues;
		}
	}

	if (pci_func_add_bar(&vd->func, VIRTIO_PCI_BAR, VIRTIO_PCI_BAR_SIZE,
			     PCI_BAR_MEM64) ||
	    add_vcap(vd, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF,
		     VIRTIO_PCI_COMMON_LEN, sizeof(struct virtio_pci_cap), 0) < 0 ||
	    add_vcap(vd, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF,
		     VIRTIO_PCI_ISR_LEN, sizeof(struct virtio_pci_cap), 0) < 0 ||
	    (info->config_size &&
	     add_vcap(vd, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVCFG_OFF,
		      info->config_size, sizeof(struct virtio_pci_cap), 0) < 0) ||
	    add_vcap(vd, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
		     nq * VIRTIO_PCI_NOTIFY_MULT,
		     sizeof(struct virtio_pci_notify_cap),
		     VIRTIO_PCI_NOTIFY_MULT) < 0) {
		ret = -ENOSPC;
		goto fail_queues_all;
	}
	off = add_vcap(vd, VIRTIO_PCI_CAP_PCI_CFG, 0, 0,
		       sizeof(struct virtio_pci_cfg_cap), 0);
	if (off < 0) {
		ret = off;
		goto fail_queues_all;
	}
	vd->pci_cfg_cap = off;
	pci_func_set_wmask(&vd->func, off, pcfg_wmask, sizeof(pcfg_wmask));
	return 0;

fail_queues_all:
	i = nq;
fail_queues:
	while (i--) {
		close(vd->queues[i].kick_fd);
		vq_destroy(&vd->queues[i].vq);
	}
fail:
	vloop_free(vd->loop);
	free(vd->queues);
	free(vd->config);
	pthread_cond_destroy(&vd->reset_cond);
	pthread_mutex_destroy(&vd->lock);
	pthread_mutex_destroy(&vd->cfg_lock);
	pthread_mutex_destroy(&vd->isr_lock);
	pthread_mutex_destroy(&vd->func.lock);
	return ret;
}

int virtio_dev_start(struct virtio_dev *vd)
{
	return vloop_start(vd->loop);
}

void virtio_dev_stop(struct virtio_dev *vd)
{
	pthread_mutex_lock(&vd->lock);
	reset_wait(vd);
	pthread_mutex_unlock(&vd->lock);
	vloop_stop(vd->loop);
	if (vd->ops->quiesce)
		vd->ops->quiesce(vd);
}

void virtio_dev_pause(struct virtio_dev *vd)
{
	pthread_mutex_lock(&vd->lock);
	reset_wait(vd);
	if (!vd->paused) {
		vloop_park(vd->loop);
		if (vd->ops->quiesce)
			vd->ops->quiesce(vd);
		vd->paused = true;
	}
	pthread_mutex_unlock(&vd->lock);
}

void virtio_dev_wait_reset(struct virtio_dev *vd)
{
	pthread_mutex_lock(&vd->lock);
	reset_wait(vd);
	pthread_mutex_unlock(&vd->lock);
}

void virtio_dev_reset(struct virtio_dev *vd)
{
	pthread_mutex_lock(&vd->lock);
	reset_wait(vd);
	do_reset(vd);
	if (vd->paused) {
		vd->paused = false;
		vloop_unpark(vd->loop);
	}
	pthread_mutex_unlock(&vd->lock);
}

/* --- restart of the host under a running guest ----------------------------- */

void virtio_dev_track(struct virtio_dev *vd, unsigned int q,
		      struct vq_inflight *ifl, unsigned int cap)
{
	if (q < vd->info.num_queues)
		vq_track(&vd->queues[q].vq, ifl, cap);
}

void virtio_dev_save(struct virtio_dev *vd, struct virtio_dev_state *st)
{
	unsigned int i;

	pthread_mutex_lock(&vd->lock);
	st->status = status_get(vd);
	st->dfselect = vd->dfselect;
	st->gfselect = vd->gfselect;
	st->guest_features = vd->guest_features;
	st->queue_select = vd->queue_select;
	for (i = 0; i < vd->info.num_queues; i++) {
		const struct virtio_queue *q = &vd->queues[i];

		st->queues[i] = (struct virtio_queue_state) {
			.size = q->size,
			.enabled = q->enabled,
			.desc = q->desc,
			.driver = q->driver,
			.device = q->device,
			.msix_vector = q->msix_vector,
		};
	}
	st->msix_config = vd->msix_config;
	pthread_mutex_lock(&vd->cfg_lock);
	st->config_generation = vd->config_generation;
	pthread_mutex_unlock(&vd->cfg_lock);
	pthread_mutex_lock(&vd->isr_lock);
	st->isr = vd->isr;
	pthread_mutex_unlock(&vd->isr_lock);
	if (vd->resetting) {
		/*
		 * The driver's reset was answered and it polls for 0: a
		 * process taking over must present the reset device, not
		 * the one before (whose requests the reset voided).
		 */
		st->status = 0;
		st->isr = 0;
		st->dfselect = st->gfselect = 0;
		st->guest_features = 0;
		st->queue_select = 0;
		st->msix_config = VIRTIO_MSI_NO_VECTOR;
		for (i = 0; i < vd->info.num_queues; i++)
			st->queues[i] = (struct virtio_queue_state) {
				.size = vd->info.queue_size,
				.msix_vector = VIRTIO_MSI_NO_VECTOR,
			};
	}
	pthread_mutex_unlock(&vd->lock);
}

int virtio_dev_check_state(const struct virtio_dev *vd,
			   const struct virtio_dev_state *st, char *why,
			   size_t len)
{
	bool fok = st->status & VIRTIO_CONFIG_S_FEATURES_OK;
	uint64_t extra = st->guest_features & ~vd->host_features;
	unsigned int i;

	if ((st->status & VIRTIO_CONFIG_S_DRIVER_OK) && !fok) {
		snprintf(why, len, "status 0x%02x has DRIVER_OK without FEATURES_OK",
			 st->status);
		return -EINVAL;
	}
	if (fok && (extra || !(st->guest_features & (1ull << VIRTIO_F_VERSION_1)))) {
		snprintf(why, len, "features 0x%llx were never accepted (offered 0x%llx)",
			 (unsigned long long)st->guest_features,
			 (unsigned long long)vd->host_features);
		return -EINVAL;
	}
	if (st->isr & ~(ISR_QUEUE | ISR_CONFIG)) {
		snprintf(why, len, "ISR 0x%02x has unknown bits", st->isr);
		return -EINVAL;
	}
	if (msix_vector_ok(vd, st->msix_config) != st->msix_config) {
		snprintf(why, len, "msix_config %u is neither one of its %u MSI-X vectors nor NO_VECTOR",
			 st->msix_config, vd->msix.f ? vd->msix.nr : 0);
		return -EINVAL;
	}
	for (i = 0; i < vd->info.num_queues; i++) {
		const struct virtio_queue_state *q = &st->queues[i];

		if (msix_vector_ok(vd, q->msix_vector) != q->msix_vector) {
			snprintf(why, len, "queue %u: MSI-X vector %u is neither one of its %u nor NO_VECTOR",
				 i, q->msix_vector, vd->msix.f ? vd->msix.nr : 0);
			return -EINVAL;
		}
		if (!q->enabled)
			continue;
		if (!fok) {
			snprintf(why, len, "queue %u is enabled without FEATURES_OK", i);
			return -EINVAL;
		}
		if (!q->size || q->size > vd->info.queue_size ||
		    (q->size & (q->size - 1))) {
			snprintf(why, len, "queue %u has size %u (at most %u, a power of two)",
				 i, q->size, vd->info.queue_size);
			return -EINVAL;
		}
	}
	return 0;
}

__attribute__((format(printf, 2, 3)))
static void resume_fail(struct virtio_dev *vd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dev_fail(vd, "cannot resume", fmt, ap);
	va_end(ap);
}

/*
 * VIRTIO_RESUME_FAIL for queue qi: complete what it hands out now (the
 * chains taken again, then the avail ring up to its index now) with the
 * device's error status, in that order.  Called with vd->lock, parked.
 * Returns the chains failed; sets why when the device must fail.
 */
static unsigned int fail_queue(struct virtio_dev *vd, unsigned int qi,
			       struct vq_buf *b, char *why, size_t wlen)
{
	struct virtqueue *vq = &vd->queues[qi].vq;
	unsigned int done = 0;
	uint32_t len;
	int n, ret;

	n = vq_pending(vq);
	if (n < 0) {
		snprintf(why, wlen, "queue %u: %s", qi, vq_error(vq));
		return 0;
	}
	for (; n > 0; n--) {
		ret = vq_pop(vq, b);
		if (ret < 0) {
			snprintf(why, wlen, "queue %u: %s", qi, vq_error(vq));
			break;
		}
		if (!ret)	/* the driver moved its index back */
			break;
		len = 0;
		switch (vd->ops->fail_request(vd, qi, b, &len)) {
		case VIRTIO_FAIL_DONE:
			vq_push(vq, b->head, len);
			done++;
			break;
		case VIRTIO_FAIL_KEEP:
			vq_unpop(vq);
			return done;
		default:
			snprintf(why, wlen, "queue %u: request at head %u has no room for an error status",
				 qi, b->head);
			return done;
		}
	}
	return done;
}

/* VIRTIO_RESUME_FAIL for every ready queue.  Called with vd->lock, parked. */
static unsigned int fail_all(struct virtio_dev *vd, char *why, size_t wlen)
{
	struct vq_buf b = { .cap = 2u * vd->info.queue_size };
	unsigned int i, done = 0;

	b.iov = calloc(b.cap, sizeof(*b.iov));
	if (!b.iov) {
		snprintf(why, wlen, "out of memory failing the requests made before");
		return 0;
	}
	for (i = 0; i < vd->info.num_queues && !*why; i++)
		if (vd->queues[i].ready)
			done += fail_queue(vd, i, &b, why, wlen);
	free(b.iov);
	return done;
}

unsigned int virtio_dev_takeover(struct virtio_dev *vd,
				 const struct virtio_dev_state *st,
				 enum virtio_resume_policy policy)
{
	struct pci_host *h = pci_func_host(&vd->func);
	bool failed = st->status & VIRTIO_CONFIG_S_NEEDS_RESET;
	bool running = (st->status & VIRTIO_CONFIG_S_DRIVER_OK) && !failed;
	bool event_idx, indirect;
	unsigned int i, count = 0;
	char why[160] = "";
	uint8_t isr;
	int ret = 0;

	pthread_mutex_lock(&vd->lock);
	reset_wait(vd);
	vloop_park(vd->loop);
	vd->dfselect = st->dfselect;
	vd->gfselect = st->gfselect;
	vd->guest_features = st->guest_features;
	vd->queue_select = st->queue_select;
	pthread_mutex_lock(&vd->cfg_lock);
	vd->config_generation = st->config_generation;
	pthread_mutex_unlock(&vd->cfg_lock);
	__atomic_store_n(&vd->msix_config, msix_vector_ok(vd, st->msix_config),
			 __ATOMIC_RELEASE);
	for (i = 0; i < vd->info.num_queues; i++)
		__atomic_store_n(&vd->queues[i].msix_vector,
				 msix_vector_ok(vd, st->queues[i].msix_vector),
				 __ATOMIC_RELEASE);
	event_idx = virtio_dev_has(vd, VIRTIO_RING_F_EVENT_IDX);
	indirect = virtio_dev_has(vd, VIRTIO_RING_F_INDIRECT_DESC);
	for (i = 0; i < vd->info.num_queues; i++) {
		const struct virtio_queue_state *qs = &st->queues[i];
		struct virtio_queue *q = &vd->queues[i];

		q->size = qs->size;
		q->desc = qs->desc;
		q->driver = qs->driver;
		q->device = qs->device;
		q->enabled = false;
		__atomic_store_n(&q->ready, false, __ATOMIC_RELEASE);
		if (!qs->enabled || failed || *why)
			continue;
		if (!h || !h->mem)
			ret = -EINVAL;
		else if (running)
			ret = vq_resume(&q->vq, h->mem, q->size, q->desc, q->driver,
					q->device, event_idx, indirect);
		else	/* not started yet: nothing was taken from it */
			ret = vq_setup(&q->vq, h->mem, q->size, q->desc, q->driver,
				       q->device, event_idx, indirect);
		if (ret)
			snprintf(why, sizeof(why), "queue %u: %s", i,
				 h && h->mem ? vq_error(&q->vq) : "no guest memory");
		else
			q->enabled = true;
	}
	if (failed || *why)	/* the registers as the driver left them */
		for (i = 0; i < vd->info.num_queues; i++)
			vd->queues[i].enabled = st->queues[i].enabled;
	__atomic_store_n(&vd->status, st->status, __ATOMIC_RELEASE);
	if (failed)
		vloop_halt(vd->loop);	/* as virtio_dev_fail() left it */
	if (running && !*why) {
		for (i = 0; i < vd->info.num_queues; i++)
			if (vd->queues[i].enabled)
				__atomic_store_n(&vd->queues[i].ready, true,
						 __ATOMIC_RELEASE);
		ret = vd->ops->start ? vd->ops->start(vd) : 0;
		if (ret)
			snprintf(why, sizeof(why), "the device could not start (%s)",
				 strerror(ret < 0 ? -ret : ret));
		else if (vd->ops->resume)
			vd->ops->resume(vd);
	}
	if (running && !*why) {
		if (policy == VIRTIO_RESUME_FAIL && vd->ops->fail_request)
			count = fail_all(vd, why, sizeof(why));
		else
			for (i = 0; i < vd->info.num_queues; i++)
				count += vd->queues[i].vq.nr_replay;
	}
	if (pci_msix_enabled(&vd->msix)) {
		/*
		 * Messages, never INTx; the ISR only says why (and, not read
		 * by a driver using MSI-X, cannot say whether one was lost).
		 * What the old process held pending and the guest has
		 * unmasked goes out first (see msix.h), then, as below, a
		 * used-buffer interrupt that may have died with it, or the
		 * configuration interrupt of a device that had failed.
		 */
		pthread_mutex_lock(&vd->isr_lock);
		vd->isr = st->isr;
		pthread_mutex_unlock(&vd->isr_lock);
		pci_msix_send_pending(&vd->msix);
		for (i = 0; running && i < vd->info.num_queues; i++)
			if (vd->queues[i].ready)
				msix_raise(vd, &vd->queues[i].msix_vector);
		if (failed)
			msix_raise(vd, &vd->msix_config);
	} else {
		/* A used-buffer interrupt may have died with the old process. */
		isr = st->isr | (running ? ISR_QUEUE : 0);
		if (isr)
			isr_raise(vd, isr);
	}
	vloop_unpark(vd->loop);
	if (*why) {
		resume_fail(vd, "%s", why);
	} else if (running) {
		/* So may a kick: look at every queue. */
		for (i = 0; i < vd->info.num_queues; i++)
			if (vd->queues[i].ready)
				kick(&vd->queues[i]);
		doorbells_add(vd);
	}
	state_changed(vd);
	pthread_mutex_unlock(&vd->lock);
	return count;
}

void virtio_dev_restore(struct virtio_dev *vd, const struct virtio_dev_state *st)
{
	virtio_dev_takeover(vd, st, VIRTIO_RESUME_REPLAY);
}

void virtio_dev_kick_all(struct virtio_dev *vd)
{
	unsigned int i;

	if (!virtio_dev_running(vd))
		return;
	for (i = 0; i < vd->info.num_queues; i++)
		if (__atomic_load_n(&vd->queues[i].ready, __ATOMIC_ACQUIRE))
			kick(&vd->queues[i]);
}
