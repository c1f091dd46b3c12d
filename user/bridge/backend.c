// SPDX-License-Identifier: GPL-2.0
/* The device provider's side of the bridge; see backend.h. */
#include "bridge/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "bridge/kick_gate.h"
#include "bridge/state_file.h"
#include "devices/devices.h"
#include "lib/log.h"
#include "virtio/vstate.h"

#define BE_BATCH 64

struct be_doorbell {
	uint64_t gpa;
	unsigned int len;
	int efd;
	uint32_t id;
};

/*
 * An MSI message registered with the module (VBRIDGE_BE_ADD_MSI): the
 * VMM routes it and binds efd to it, so a write to efd sends it.  Keyed
 * by what is sent, not by vector: a message the guest reprograms is a new
 * one, so a signal can never leave with a route the VMM has not applied.
 * @users counts the vhost-user back-ends that hold efd as a call fd
 * (be_msi_fd_get()): such a message is not evicted.
 */
struct be_msi {
	uint64_t addr;
	uint32_t data;
	uint16_t rid;
	int efd;
	uint32_t id;
	uint64_t last_used;
	unsigned int users;
};

/**
 * struct bridge_be - a served backend node
 * @fd: the node
 * @node: its path
 * @no_ack: --test-no-ack
 * @stale_read: --test-stale-read: keep a stopped VM's mapping and read it
 *	at the next VMSTART (implies @no_ack)
 * @msi_init: --test-msi-init: every MSI goes also as an INIT
 * @state_dir: where the in-flight file goes
 * @cfg_layout: how window 0 is decoded (ECAM or CAM)
 * @first_slot: the slot that drives line 0
 * @poll_us: the device's polling mode (0: off); the node is then
 *	O_NONBLOCK, so a read that spun for nothing ends the batch
 * @info: the device's description (refreshed at VMSTART)
 * @opened_ms: CLOCK_MONOTONIC ms when the node was opened
 * @host: the pci_host the device model runs against
 * @mem: the running VM's RAM, mapped
 * @generation: of the mapped VM, 0 when none
 * @served: a VM was served by this process (it has no state to take over)
 * @sf: the in-flight file (@sf.mem NULL when there is none)
 * @blob: VBRIDGE_STATE_MAX bytes for saving and restoring the state
 * @cookie: of the in-flight records the queues use, 0 when none
 * @saved_seq: vstate_seq() when the state was last saved
 * @dirty: a configuration write since the last save
 * @save_warned: a failed save was reported
 * @gate: orders doorbell kicks after the stores the guest made before
 *	them (its own lock)
 * @lock: protects the fields below
 * @line_slots: slots asserting each line
 * @doorbells: the doorbells registered with the module
 * @nr_doorbells: entries in @doorbells
 * @msis: the MSI messages registered with the module, for its running VM
 * @nr_msis: entries in @msis
 * @msi_clock: ticks with every message sent (for evicting the oldest)
 * @msi_refused: the running VM takes no MSI: said once, nothing sent
 *
 * All but the last nine belong to the serving thread.
 */
struct bridge_be {
	int fd;
	const char *node;
	bool no_ack;
	bool stale_read;
	bool msi_init;
	const char *state_dir;
	enum pci_cfg_layout cfg_layout;
	unsigned int first_slot;
	unsigned int poll_us;
	struct vbridge_backend_info info;
	uint64_t opened_ms;
	struct pci_host host;
	struct guest_mem mem;
	uint64_t generation;
	bool served;
	struct state_file sf;
	uint8_t *blob;
	uint64_t cookie;
	uint32_t saved_seq;
	bool dirty;
	bool save_warned;

	struct kick_gate gate;
	pthread_mutex_t lock;
	uint32_t line_slots[VBRIDGE_MAX_IRQS];
	struct be_doorbell doorbells[VBRIDGE_MAX_DOORBELLS];
	unsigned int nr_doorbells;
	struct be_msi msis[VBRIDGE_MAX_MSIS];
	unsigned int nr_msis;
	uint64_t msi_clock;
	bool msi_refused;
};

unsigned int bridge_slot_line(unsigned int slot, unsigned int nr_irqs)
{
	return nr_irqs ? slot % nr_irqs : 0;
}

uint64_t bridge_cfg_window_need(enum pci_cfg_layout layout, unsigned int devfn)
{
	return ((uint64_t)devfn + 1) << (layout == PCI_CFG_CAM ? 8 : 12);
}

int bridge_be_check_layout(const struct bridge_be *be, struct pci_bus *bus)
{
	uint64_t size = be->info.windows[0].size;
	unsigned int devfn;

	for (devfn = 0; devfn < 256; devfn++) {
		uint64_t need = bridge_cfg_window_need(be->cfg_layout, devfn);

		if (!pci_bus_func(bus, devfn) || need <= size)
			continue;
		log_error("%s: function %02x.%x needs %llu bytes of %s config window; the device declares %llu: declare a larger window 0 or give a lower --pci-first-slot",
			  be->node, PCI_SLOT(devfn), PCI_FUNC(devfn),
			  (unsigned long long)need,
			  be->cfg_layout == PCI_CFG_CAM ? "CAM" : "ECAM",
			  (unsigned long long)size);
		return -EINVAL;
	}
	return 0;
}

int bridge_func_line(unsigned int slot, unsigned int first_slot,
		     unsigned int nr_irqs)
{
	if (!nr_irqs || slot < first_slot)
		return -1;
	return bridge_slot_line(slot - first_slot, nr_irqs);
}

static uint64_t be_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum virtio_resume_policy
bridge_takeover_policy(const struct vbridge_backend_info *info,
		       uint64_t since_open_ms)
{
	int32_t retry = info->retry_timeout_ms;

	if (!(info->flags & VBRIDGE_BE_INFO_F_RETRY) || retry < 0)
		return VIRTIO_RESUME_REPLAY;
	/* down_ms + since_open_ms <= retry, without overflowing. */
	if (retry > 0 && since_open_ms <= (uint64_t)retry &&
	    info->down_ms <= (uint64_t)retry - since_open_ms)
		return VIRTIO_RESUME_REPLAY;
	return VIRTIO_RESUME_FAIL;
}

static void be_set_intx(struct pci_host *h, struct pci_func *f, int level)
{
	struct bridge_be *be = h->priv;
	unsigned int slot = PCI_SLOT(pci_func_devfn(f));
	struct vbridge_irq_level irq = { 0 };
	uint32_t before, after;
	int line = bridge_func_line(slot, be->first_slot, be->info.nr_irqs);

	if (line < 0)
		return;
	irq.line = line;
	pthread_mutex_lock(&be->lock);
	before = be->line_slots[irq.line];
	if (level)
		be->line_slots[irq.line] |= 1U << slot;
	else
		be->line_slots[irq.line] &= ~(1U << slot);
	after = be->line_slots[irq.line];
	/* Tell the module only when the line's level changes. */
	if (!before != !after) {
		irq.level = !!after;
		if (ioctl(be->fd, VBRIDGE_BE_SET_IRQ, &irq) && errno != ENOTCONN)
			log_errno("%s: cannot set interrupt line %u to %u",
				  be->node, irq.line, irq.level);
	}
	pthread_mutex_unlock(&be->lock);
}

static int be_add_doorbell(struct pci_host *h, uint64_t gpa, unsigned int len,
			   int efd)
{
	struct bridge_be *be = h->priv;
	struct vbridge_doorbell_req req = {
		.addr = gpa,
		.len = len,
		.fd = efd,
	};
	int ret = 0;

	pthread_mutex_lock(&be->lock);
	if (be->nr_doorbells == VBRIDGE_MAX_DOORBELLS) {
		ret = -ENOSPC;
	} else if (ioctl(be->fd, VBRIDGE_BE_ADD_DOORBELL, &req)) {
		ret = -errno;
	} else {
		be->doorbells[be->nr_doorbells++] = (struct be_doorbell) {
			.gpa = gpa, .len = len, .efd = efd, .id = req.id,
		};
	}
	pthread_mutex_unlock(&be->lock);
	if (ret)
		log_debug("%s: no doorbell at 0x%llx: %s (kicks trap instead)",
			  be->node, (unsigned long long)gpa, strerror(-ret));
	return ret;
}

static void be_del_doorbell(struct pci_host *h, uint64_t gpa, unsigned int len,
			    int efd)
{
	struct bridge_be *be = h->priv;
	unsigned int i;

	pthread_mutex_lock(&be->lock);
	for (i = 0; i < be->nr_doorbells; i++) {
		struct be_doorbell *db = &be->doorbells[i];

		if (db->gpa != gpa || db->len != len || db->efd != efd)
			continue;
		/* Gone already when the VM stopped: nothing to undo then. */
		ioctl(be->fd, VBRIDGE_BE_DEL_DOORBELL, (unsigned long)db->id);
		*db = be->doorbells[--be->nr_doorbells];
		break;
	}
	pthread_mutex_unlock(&be->lock);
}

/* Under be->lock: drop message i (its id is gone in the module, or goes). */
static void be_msi_drop(struct bridge_be *be, unsigned int i, bool del)
{
	struct be_msi *m = &be->msis[i];

	if (del)
		ioctl(be->fd, VBRIDGE_BE_DEL_MSI, (unsigned long)m->id);
	close(m->efd);
	*m = be->msis[--be->nr_msis];
}

/* Under be->lock: the VM ended; the module dropped its messages with it. */
static void be_msi_forget(struct bridge_be *be)
{
	while (be->nr_msis)
		be_msi_drop(be, be->nr_msis - 1, false);
	be->msi_refused = false;
}

/*
 * Under be->lock: register a new message, evicting the one sent longest
 * ago when the module's limit is reached.  Returns its entry or NULL.
 */
static struct be_msi *be_msi_add(struct bridge_be *be, uint16_t rid,
				 uint64_t addr, uint32_t data)
{
	struct vbridge_msi_req req = {
		.addr = addr, .data = data, .rid = rid,
	};
	unsigned int i, old = 0;
	int ret;

	if (be->nr_msis == VBRIDGE_MAX_MSIS) {
		old = be->nr_msis;
		for (i = 0; i < be->nr_msis; i++)
			if (!be->msis[i].users && (old == be->nr_msis ||
			    be->msis[i].last_used < be->msis[old].last_used))
				old = i;
		if (old == be->nr_msis) {
			log_error("%s: every one of the %u MSI messages the module takes is held by a vhost-user back-end; 0x%llx/0x%x is lost",
				  be->node, be->nr_msis, (unsigned long long)addr,
				  data);
			return NULL;
		}
		be_msi_drop(be, old, true);
	}
	req.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (req.fd < 0) {
		log_errno("%s: no eventfd for an MSI", be->node);
		return NULL;
	}
	/*
	 * -EAGAIN: the VMM has not fetched this device's last 256 changes
	 * yet.  It will (its main loop does nothing else with them), and
	 * the interrupt must not be lost: wait for it, 1 s at most.
	 */
	for (i = 0;; i++) {
		ret = ioctl(be->fd, VBRIDGE_BE_ADD_MSI, &req);
		if (!ret || errno != EAGAIN || i == 1000)
			break;
		usleep(1000);
	}
	if (ret) {
		int err = errno;

		close(req.fd);
		if (err == EOPNOTSUPP || err == ENOTTY) {
			/* Said once; the guest's MSI-X is then of no use. */
			log_error("%s: %s takes no MSI: the guest's MSI-X interrupts of this device are lost; run the same vbridge version and module on both sides",
				  be->node, err == ENOTTY ?
				  "the module (an older virtio_bridge.ko?)" :
				  "the VMM (a vbridge run older than this provider?)");
			be->msi_refused = true;
		} else if (err != ENOTCONN) {
			errno = err;
			log_errno("%s: cannot register MSI 0x%llx/0x%x",
				  be->node, (unsigned long long)addr, data);
		}
		return NULL;
	}
	be->msis[be->nr_msis] = (struct be_msi) {
		.addr = addr, .data = data, .rid = rid, .efd = req.fd,
		.id = req.id,
	};
	return &be->msis[be->nr_msis++];
}

/* Under be->lock: the registered message, or NULL. */
static struct be_msi *be_msi_find(struct bridge_be *be, uint16_t rid,
				  uint64_t addr, uint32_t data)
{
	unsigned int i;

	for (i = 0; i < be->nr_msis; i++)
		if (be->msis[i].addr == addr && be->msis[i].data == data &&
		    be->msis[i].rid == rid)
			return &be->msis[i];
	return NULL;
}

/*
 * A function sends an MSI: one eventfd write, which KVM turns into the
 * message; a message seen for the first time is registered first (the
 * VMM binds it when it reads the change, and KVM then sends what was
 * signalled meanwhile).
 */
static void be_msi_send(struct bridge_be *be, uint16_t rid, uint64_t addr,
			uint32_t data)
{
	struct be_msi *m = be_msi_find(be, rid, addr, data);

	if (!m && !be->msi_refused)
		m = be_msi_add(be, rid, addr, data);
	if (m) {
		m->last_used = ++be->msi_clock;
		if (eventfd_write(m->efd, 1))
			log_errno("%s: cannot signal MSI %u", be->node, m->id);
	}
}

static void be_send_msi(struct pci_host *h, struct pci_func *f, uint64_t addr,
			uint32_t data)
{
	struct bridge_be *be = h->priv;
	uint16_t rid = pci_func_devfn(f);

	pthread_mutex_lock(&be->lock);
	/* The hostile copy first: a guest it reached would not see the real one. */
	if (be->msi_init)
		be_msi_send(be, rid, addr, (data & ~0x700U) | 0x500U);
	be_msi_send(be, rid, addr, data);
	pthread_mutex_unlock(&be->lock);
}

/*
 * A vhost-user back-end's call fd for the message: the registered
 * message's own eventfd, which the VMM binds as a KVM irqfd.  It stays
 * registered while held.  A VM's end drops every message (the back-end's
 * copy then signals nothing); a put after it finds none.
 */
static int be_msi_fd_get(struct pci_host *h, struct pci_func *f,
			 uint64_t addr, uint32_t data)
{
	struct bridge_be *be = h->priv;
	uint16_t rid = pci_func_devfn(f);
	struct be_msi *m;
	int fd = -ENOTCONN;

	/* --test-msi-init sends each message twice: only send_msi can. */
	if (be->msi_init)
		return fd;
	pthread_mutex_lock(&be->lock);
	m = be_msi_find(be, rid, addr, data);
	if (!m && !be->msi_refused)
		m = be_msi_add(be, rid, addr, data);
	if (m) {
		m->users++;
		fd = m->efd;
	}
	pthread_mutex_unlock(&be->lock);
	return fd;
}

static void be_msi_fd_put(struct pci_host *h, struct pci_func *f,
			  uint64_t addr, uint32_t data)
{
	struct bridge_be *be = h->priv;
	struct be_msi *m;

	pthread_mutex_lock(&be->lock);
	m = be_msi_find(be, pci_func_devfn(f), addr, data);
	if (m && m->users)
		m->users--;
	pthread_mutex_unlock(&be->lock);
}

static bool be_kick_defer(struct pci_host *h)
{
	struct bridge_be *be = h->priv;

	return kick_gate_defer(&be->gate);
}

static const struct pci_host_ops be_host_ops = {
	.set_intx = be_set_intx,
	.add_doorbell = be_add_doorbell,
	.del_doorbell = be_del_doorbell,
	.kick_defer = be_kick_defer,
};

/* --msi: the same, and the functions offer MSI-X. */
static const struct pci_host_ops be_host_ops_msi = {
	.set_intx = be_set_intx,
	.add_doorbell = be_add_doorbell,
	.del_doorbell = be_del_doorbell,
	.kick_defer = be_kick_defer,
	.send_msi = be_send_msi,
	.msi_fd_get = be_msi_fd_get,
	.msi_fd_put = be_msi_fd_put,
};

/* The module's poll_max_us, -1 when it cannot be read. */
static int be_poll_max_us(void)
{
	FILE *f = fopen("/sys/module/virtio_bridge/parameters/poll_max_us", "re");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

int bridge_be_open(struct bridge_be **out, const struct bridge_be_opts *opts)
{
	struct bridge_be *be;
	int ret, ver;

	be = calloc(1, sizeof(*be));
	if (!be)
		return -ENOMEM;
	be->node = opts->node;
	be->no_ack = opts->no_ack || opts->stale_read;
	be->stale_read = opts->stale_read;
	be->msi_init = opts->msi_init;
	be->state_dir = state_dir_choose(opts->state_dir);
	be->cfg_layout = opts->cfg_layout;
	be->first_slot = opts->first_slot;
	be->sf.fd = -1;
	be->blob = malloc(VBRIDGE_STATE_MAX);
	if (!be->blob) {
		free(be);
		return -ENOMEM;
	}
	pthread_mutex_init(&be->lock, NULL);
	be->fd = open(opts->node, O_RDWR | O_CLOEXEC);
	be->opened_ms = be_now_ms();
	if (be->fd < 0) {
		ret = -errno;
		if (ret == -EBUSY)
			log_error("%s is already served by another process", opts->node);
		else if (ret == -ENOENT)
			log_error("%s does not exist: declare the device first (vbridge ctl load OVERLAY)",
				  opts->node);
		else
			log_errno("cannot open %s", opts->node);
		goto err_free;
	}
	ver = ioctl(be->fd, VBRIDGE_GET_API_VERSION);
	if (ver != VBRIDGE_API_VERSION) {
		log_error("%s speaks bridge API %d, this vbridge speaks %d",
			  opts->node, ver, VBRIDGE_API_VERSION);
		ret = -EPROTO;
		goto err_close;
	}
	if (ioctl(be->fd, VBRIDGE_BE_GET_INFO, &be->info)) {
		ret = -errno;
		log_errno("cannot read the description of %s", opts->node);
		goto err_close;
	}
	if (be->info.nr_windows < 1 || be->info.nr_windows > VBRIDGE_MAX_WINDOWS ||
	    be->info.nr_irqs > VBRIDGE_MAX_IRQS) {
		log_error("%s: device has %u windows and %u lines; need a config window",
			  opts->node, be->info.nr_windows, be->info.nr_irqs);
		ret = -EINVAL;
		goto err_close;
	}
	if (opts->poll_us) {
		struct vbridge_poll poll = { .spin_us = opts->poll_us };

		if (ioctl(be->fd, VBRIDGE_BE_SET_POLL, &poll)) {
			ret = -errno;
			if (ret == -ERANGE)
				log_error("--poll-us=%u: the module allows at most %d us (its parameter poll_max_us, in /sys/module/virtio_bridge/parameters/)",
					  opts->poll_us, be_poll_max_us());
			else
				log_errno("%s: cannot turn polling on", opts->node);
			goto err_close;
		}
		if (fcntl(be->fd, F_SETFL, fcntl(be->fd, F_GETFL) | O_NONBLOCK)) {
			ret = -errno;
			log_errno("%s: cannot make it non-blocking", opts->node);
			goto err_close;
		}
		be->poll_us = opts->poll_us;
		log_info("%s: polling mode: each side spins up to %u us before it sleeps",
			 opts->node, opts->poll_us);
	}
	kick_gate_init(&be->gate, be->fd);
	be->host.ops = opts->msi ? &be_host_ops_msi : &be_host_ops;
	be->host.mem = &be->mem;
	be->host.priv = be;
	*out = be;
	return 0;

err_close:
	close(be->fd);
err_free:
	pthread_mutex_destroy(&be->lock);
	free(be->blob);
	free(be);
	return ret;
}

static void be_unmap(struct bridge_be *be)
{
	unsigned int i;

	for (i = 0; i < be->mem.nr; i++) {
		munmap(be->mem.region[i].hva, be->mem.region[i].size);
		close(be->mem.region[i].fd);
	}
	memset(&be->mem, 0, sizeof(be->mem));
	be->generation = 0;
}

void bridge_be_close(struct bridge_be *be)
{
	if (!be)
		return;
	be_unmap(be);
	state_file_close(&be->sf);
	be_msi_forget(be);	/* closing the node withdraws them */
	close(be->fd);
	kick_gate_destroy(&be->gate);
	pthread_mutex_destroy(&be->lock);
	free(be->blob);
	free(be);
}

const struct vbridge_backend_info *bridge_be_info(const struct bridge_be *be)
{
	return &be->info;
}

struct pci_host *bridge_be_host(struct bridge_be *be)
{
	return &be->host;
}

/* --- the state a restarted daemon takes over ------------------------------ */

/* Open the node's in-flight file; without one the queues record nothing. */
static void be_state_open(struct bridge_be *be, struct device_set *devs)
{
	struct virtio_dev *const *d;
	unsigned int n;

	d = device_set_devices(devs, &n);
	if (state_file_open(&be->sf, be->state_dir, be->info.vmid, be->info.name,
			    vstate_ifl_size(d, n)))
		log_warn("%s: no in-flight records: if this provider restarts while its VM runs, the running devices will have to be reset by their drivers",
			 be->node);
}

/* Save the devices' state with the module when it changed (or force). */
static void be_state_save(struct bridge_be *be, struct device_set *devs,
			  bool force)
{
	struct vbridge_state_blob sb = { 0 };
	struct virtio_dev *const *d;
	unsigned int n;
	uint32_t seq;
	ssize_t len;

	d = device_set_devices(devs, &n);
	seq = vstate_seq(d, n);
	if (!force && !be->dirty && seq == be->saved_seq)
		return;
	len = vstate_save(d, n, be->generation, be->cookie, be->blob,
			  VBRIDGE_STATE_MAX);
	if (len >= 0) {
		sb.buf = (uintptr_t)be->blob;
		sb.len = len;
		if (ioctl(be->fd, VBRIDGE_BE_SET_STATE, &sb))
			len = -errno;
	}
	if (len < 0) {
		if (!be->save_warned)
			log_warn("%s: cannot save the device state (%s): a restarted provider will reset the devices",
				 be->node, strerror((int)-len));
		be->save_warned = true;
		return;
	}
	be->saved_seq = seq;
	be->dirty = false;
}

static uint64_t be_new_cookie(void)
{
	uint64_t c = 0;

	if (getrandom(&c, sizeof(c), GRND_NONBLOCK) != sizeof(c))
		c = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
	return c ? c : 1;
}

/* Fresh in-flight records for the running VM (devices reset or failed). */
static void be_state_fresh(struct bridge_be *be, struct device_set *devs)
{
	struct virtio_dev *const *d;
	unsigned int n;

	d = device_set_devices(devs, &n);
	be->cookie = be->sf.mem ? be_new_cookie() : 0;
	vstate_ifl_init(d, n, be->sf.mem, be->sf.len, be->generation, be->cookie);
}

/* One line: the policy applied and its count per device. */
static void be_log_policy(struct bridge_be *be, struct virtio_dev *const *d,
			  unsigned int n, enum virtio_resume_policy policy,
			  const unsigned int *counts, uint64_t away_ms)
{
	bool fail = policy == VIRTIO_RESUME_FAIL;
	char list[512] = "", why[128];
	size_t len = 0;
	unsigned int i;

	for (i = 0; i < n && len < sizeof(list); i++) {
		unsigned int devfn = pci_func_devfn(&d[i]->func);

		len += snprintf(list + len, sizeof(list) - len, "%s%s at %02x.%x: %u",
				i ? ", " : "", d[i]->info.name, PCI_SLOT(devfn),
				PCI_FUNC(devfn), counts[i]);
	}
	if (!(be->info.flags & VBRIDGE_BE_INFO_F_RETRY))
		snprintf(why, sizeof(why), "the module does not report its retry timeout: policy replay");
	else
		snprintf(why, sizeof(why), "no provider for %llu ms, retry_timeout_ms %d: policy %s, the guest's accesses %s meanwhile",
			 (unsigned long long)away_ms, be->info.retry_timeout_ms,
			 fail ? "fail" : "replay", fail ? "failed" : "waited");
	log_info("%s: %s; requests %s: %s", be->node, why,
		 fail ? "failed" : "taken again", list);
}

/*
 * Take over the devices a previous daemon served for VM generation, from
 * the state it saved; the requests the guest made before are replayed or
 * failed (bridge_takeover_policy()).  Returns 0, or -errno when the
 * devices must start from power-on (the reason is logged).
 */
static int be_state_resume(struct bridge_be *be, struct device_set *devs,
			   uint64_t generation)
{
	struct vbridge_state_blob sb = {
		.buf = (uintptr_t)be->blob,
		.len = VBRIDGE_STATE_MAX,
	};
	enum virtio_resume_policy policy;
	struct virtio_dev *const *d;
	unsigned int *counts, n, i, total = 0;
	uint64_t since_open;
	char why[256];
	int ret;

	if (ioctl(be->fd, VBRIDGE_BE_GET_STATE, &sb)) {
		ret = -errno;
		log_errno("%s: cannot read the saved device state", be->node);
		return ret;
	}
	d = device_set_devices(devs, &n);
	ret = vstate_check(d, n, be->blob, sb.len, generation, why, sizeof(why));
	if (ret == -ESTALE) {
		log_info("%s: %s: the devices start from power-on", be->node, why);
		return ret;
	}
	if (ret) {
		log_warn("%s: saved device state refused: %s; the devices are reset (their drivers find them at power-on)",
			 be->node, why);
		return ret;
	}
	counts = calloc(n ? n : 1, sizeof(*counts));
	if (!counts) {
		log_error("%s: out of memory taking the devices over", be->node);
		return -ENOMEM;
	}
	be->cookie = vstate_cookie(be->blob);
	since_open = be_now_ms() - be->opened_ms;
	policy = bridge_takeover_policy(&be->info, since_open);
	if (vstate_takeover(d, n, be->blob, sb.len, be->sf.mem, be->sf.len,
			    policy, counts, why, sizeof(why))) {
		log_warn("%s: in-flight records not used: %s; running devices ask their drivers for a reset",
			 be->node, why);
		be_state_fresh(be, devs);
	}
	for (i = 0; i < n; i++)
		total += counts[i];
	log_info("%s: resumed VM generation %llu: %u devices as the guest left them, %u requests %s",
		 be->node, (unsigned long long)generation, n, total,
		 policy == VIRTIO_RESUME_FAIL ? "failed" : "taken again");
	be_log_policy(be, d, n, policy, counts,
		      (uint64_t)be->info.down_ms + since_open);
	free(counts);
	return 0;
}

/*
 * VMSTART: map the VM's RAM; take the devices over from a previous daemon
 * when this is the VM it served, else give the guest power-on devices.
 */
static int be_vmstart(struct bridge_be *be, struct device_set *devs,
		      uint64_t generation)
{
	unsigned int i;
	bool resumed;

	if (be->stale_read && be->mem.nr) {
		/*
		 * The test switch kept the stopped VM's mapping: the module
		 * revoked it when it released that VM, so this read must die
		 * of SIGBUS (the promise to users: no access after the stop).
		 */
		log_info("%s: reading the stopped VM's guest RAM through the old mapping (--test-no-ack)",
			 be->node);
		(void)*(volatile uint8_t *)be->mem.region[0].hva;
		log_error("%s: the stopped VM's guest RAM is still readable",
			  be->node);
	}
	be_unmap(be);
	if (ioctl(be->fd, VBRIDGE_BE_GET_INFO, &be->info)) {
		log_errno("%s: cannot read the new VM's memory layout", be->node);
		return -errno;
	}
	if (be->info.nr_regions > VBRIDGE_MAX_REGIONS) {
		log_error("%s: module reports %u RAM regions", be->node,
			  be->info.nr_regions);
		return -EPROTO;
	}
	for (i = 0; i < be->info.nr_regions; i++) {
		const struct vbridge_window *r = &be->info.regions[i];
		struct vbridge_mem_fd mf = { .gpa = r->addr, .size = r->size };
		int err;
		void *p;

		p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 be->fd, (off_t)r->addr);
		if (p == MAP_FAILED) {
			err = -errno;
			log_errno("%s: cannot map guest RAM 0x%llx+0x%llx", be->node,
				  (unsigned long long)r->addr,
				  (unsigned long long)r->size);
			be_unmap(be);
			return err;
		}
		/*
		 * For a vhost-user back-end: a file of this region alone, from
		 * its offset 0, as libvhost-user maps it (mmap_offset + size
		 * bytes from offset 0); its mappings are the node's.
		 */
		if (ioctl(be->fd, VBRIDGE_BE_MEM_FD, &mf)) {
			err = -errno;
			log_errno("%s: cannot make a file of guest RAM 0x%llx+0x%llx for vhost-user back-ends",
				  be->node, (unsigned long long)r->addr,
				  (unsigned long long)r->size);
			munmap(p, r->size);
			be_unmap(be);
			return err;
		}
		if (guest_mem_add_fd(&be->mem, r->addr, r->size, p, mf.fd, 0)) {
			munmap(p, r->size);
			close(mf.fd);
			be_unmap(be);
			log_error("%s: overlapping guest RAM regions", be->node);
			return -EPROTO;
		}
	}
	be->generation = generation;
	memset(be->line_slots, 0, sizeof(be->line_slots));
	pthread_mutex_lock(&be->lock);
	be_msi_forget(be);	/* of a VM this process saw no VMSTOP of */
	pthread_mutex_unlock(&be->lock);
	resumed = !be->served && !be_state_resume(be, devs, generation);
	if (!resumed) {
		device_set_reset(devs);
		be_state_fresh(be, devs);
	}
	be->served = true;
	/* Loads the old daemon had read were failed: the device was broken. */
	if (ioctl(be->fd, VBRIDGE_BE_RESET))
		log_errno("%s: cannot clear the device's broken state", be->node);
	be_state_save(be, devs, true);
	log_info("%s: VM generation %llu started (vmid %u, %u RAM regions)%s",
		 be->node, (unsigned long long)generation, be->info.vmid,
		 be->mem.nr, resumed ? ", devices resumed" : "");
	return 0;
}

/* VMSTOP: no more DMA, no more mappings, then acknowledge. */
static int be_vmstop(struct bridge_be *be, struct device_set *devs,
		     uint64_t generation)
{
	struct vbridge_reply ack = {
		.type = VBRIDGE_REPLY_VMSTOP_ACK,
		.size = sizeof(ack),
		.id = generation,
	};

	device_set_pause(devs);
	pthread_mutex_lock(&be->lock);
	be->nr_doorbells = 0;	/* the module dropped them with the VM */
	be_msi_forget(be);
	pthread_mutex_unlock(&be->lock);
	if (!be->stale_read)
		be_unmap(be);
	if (be->no_ack) {
		log_info("%s: VM generation %llu stopped; not acknowledging%s",
			 be->node, (unsigned long long)generation,
			 be->stale_read ? ", its RAM still mapped (--test-stale-read)" :
			 " (--test-no-ack)");
		return 0;
	}
	if (write(be->fd, &ack, sizeof(ack)) != sizeof(ack)) {
		log_errno("%s: cannot acknowledge VMSTOP", be->node);
		return -errno;
	}
	log_info("%s: VM generation %llu stopped, acknowledged", be->node,
		 (unsigned long long)generation);
	return 0;
}

static uint64_t be_access(struct bridge_be *be, struct pci_bus *bus,
			  const struct vbridge_msg *m, bool write)
{
	uint64_t val = write ? m->data : 0;

	if (m->window == 0) {
		/* Anything the guest programs there is saved state. */
		be->dirty |= write;
		pci_bus_cfg_window_access(bus, be->cfg_layout, m->offset,
					  m->len, write, &val);
	} else if (!pci_bus_mmio(bus, m->addr, m->len, write, &val)) {
		log_debug("%s: %s at 0x%llx hits no BAR", be->node,
			  write ? "store" : "load", (unsigned long long)m->addr);
		val = ~0ULL;
	}
	return val;
}

/*
 * Send replies; one the module no longer wants (the VM stopped and the
 * request was failed meanwhile: -ENOENT) is skipped, not fatal.
 */
static int be_send_replies(struct bridge_be *be,
			   const struct vbridge_reply *r, unsigned int nr)
{
	while (nr) {
		ssize_t n = write(be->fd, r, nr * sizeof(*r));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ENOENT) {
				log_errno("%s: cannot send %u replies", be->node, nr);
				return -errno;
			}
			log_debug("%s: reply %llu no longer wanted", be->node,
				  (unsigned long long)r->id);
			n = sizeof(*r);
		}
		r += n / sizeof(*r);
		nr -= n / sizeof(*r);
	}
	return 0;
}

/*
 * Serve the guest's accesses from now on.  After a takeover, look at every
 * queue once more: a kick the guest made before this moment may have
 * been dropped (retry_timeout_ms 0) after the takeover's own look.
 */
static int be_set_ready(struct bridge_be *be, struct device_set *devs,
			bool look)
{
	struct virtio_dev *const *d;
	unsigned int n, i;

	if (ioctl(be->fd, VBRIDGE_BE_SET_READY, 1UL)) {
		log_errno("%s: cannot declare the device ready", be->node);
		return -errno;
	}
	if (look) {
		d = device_set_devices(devs, &n);
		for (i = 0; i < n; i++)
			if (d[i])
				virtio_dev_kick_all(d[i]);
	}
	return 0;
}

/* The batch read is applied: kicks that came meanwhile are taken now. */
static void be_batch_done(struct bridge_be *be, struct device_set *devs)
{
	struct virtio_dev *const *d;
	unsigned int n, i;

	if (!kick_gate_done(&be->gate))
		return;
	d = device_set_devices(devs, &n);
	for (i = 0; i < n; i++)
		if (d[i])
			virtio_dev_kick_all(d[i]);
}

int bridge_be_serve(struct bridge_be *be, struct pci_bus *bus,
		    struct device_set *devs, volatile bool *stop)
{
	struct vbridge_msg msgs[BE_BATCH];
	struct vbridge_reply replies[BE_BATCH];
	struct pollfd pfd = { .fd = be->fd, .events = POLLIN };
	bool ready = false, busy = false;
	int ret = 0;

	if (be->info.nr_windows > 1 &&
	    pci_bus_assign_bars(bus, be->info.windows[1].addr,
				be->info.windows[1].size)) {
		log_error("%s: the BARs do not fit in window 1 (0x%llx bytes)",
			  be->node, (unsigned long long)be->info.windows[1].size);
		return -ENOSPC;
	}
	be_state_open(be, devs);
	if (be->poll_us) {
		ret = kick_gate_interrupt_reads(&be->gate);
		if (ret) {
			log_error("%s: cannot set up polling mode: %s", be->node, strerror(-ret));
			return ret;
		}
	}
	/*
	 * A VM that ran when the node was opened comes first, as VMSTART: the
	 * takeover it leads to decides what becomes of the requests the guest
	 * made so far.  Until it is done the device is not ready, so that
	 * every request the guest makes while it is ready is served.
	 */
	if (!(be->info.state & VBRIDGE_DEV_S_RUNNING)) {
		ret = be_set_ready(be, devs, false);
		if (ret)
			return ret;
		ready = true;
	}

	while (!*stop) {
		unsigned int n, i, nr = 0;
		ssize_t len;

		/*
		 * In polling mode a batch is followed by a read at once: the
		 * module spins in it for the next message, and only a read
		 * that found none sends this thread to sleep in poll().
		 */
		if (!(be->poll_us && busy) && poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		kick_gate_reading(&be->gate);
		len = read(be->fd, msgs, sizeof(msgs));
		kick_gate_read_end(&be->gate);
		busy = len > 0;
		if (len < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				be_batch_done(be, devs);
				continue;
			}
			ret = -errno;
			log_errno("%s: read", be->node);
			break;
		}
		n = len / sizeof(msgs[0]);
		for (i = 0; i < n && !ret; i++) {
			const struct vbridge_msg *m = &msgs[i];

			switch (m->type) {
			case VBRIDGE_MSG_LOAD:
				replies[nr++] = (struct vbridge_reply) {
					.type = VBRIDGE_REPLY_LOAD,
					.size = sizeof(replies[0]),
					.id = m->id,
					.data = be_access(be, bus, m, false),
				};
				break;
			case VBRIDGE_MSG_STORE:
				be_access(be, bus, m, true);
				break;
			case VBRIDGE_MSG_VMSTART:
				ret = be_vmstart(be, devs, m->id);
				break;
			case VBRIDGE_MSG_VMSTOP:
				ret = be_vmstop(be, devs, m->id);
				break;
			default:
				log_warn("%s: unknown message type %u ignored",
					 be->node, m->type);
			}
		}
		/* What a load answered is saved before the guest sees it. */
		if (!ret && be->generation)
			be_state_save(be, devs, false);
		if (!ret && nr)
			ret = be_send_replies(be, replies, nr);
		if (!ret && !ready) {
			ret = be_set_ready(be, devs, true);
			ready = true;
		}
		if (ret)
			break;
		be_batch_done(be, devs);
	}
	kick_gate_done(&be->gate);
	ioctl(be->fd, VBRIDGE_BE_SET_READY, 0UL);
	return ret;
}
