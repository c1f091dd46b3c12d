// SPDX-License-Identifier: GPL-2.0
/* The device provider's side of the bridge; see backend.h. */
#include "bridge/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/devices.h"
#include "lib/log.h"

#define BE_BATCH 64

struct be_doorbell {
	uint64_t gpa;
	unsigned int len;
	int efd;
	uint32_t id;
};

struct bridge_be {
	int fd;
	const char *node;
	bool no_ack;
	struct vbridge_backend_info info;
	struct pci_host host;
	struct guest_mem mem;		/* the running VM's RAM, mapped */
	uint64_t generation;		/* of the mapped VM, 0 when none */

	pthread_mutex_t lock;		/* protects the fields below */
	uint32_t line_slots[VBRIDGE_MAX_IRQS];	/* slots asserting each line */
	struct be_doorbell doorbells[VBRIDGE_MAX_DOORBELLS];
	unsigned int nr_doorbells;
};

unsigned int bridge_slot_line(unsigned int slot, unsigned int nr_irqs)
{
	return nr_irqs ? slot % nr_irqs : 0;
}

static void be_set_intx(struct pci_host *h, struct pci_func *f, int level)
{
	struct bridge_be *be = h->priv;
	unsigned int slot = PCI_SLOT(pci_func_devfn(f));
	struct vbridge_irq_level irq = { 0 };
	uint32_t before, after;

	if (!be->info.nr_irqs)
		return;
	irq.line = bridge_slot_line(slot, be->info.nr_irqs);
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

static const struct pci_host_ops be_host_ops = {
	.set_intx = be_set_intx,
	.add_doorbell = be_add_doorbell,
	.del_doorbell = be_del_doorbell,
};

int bridge_be_open(struct bridge_be **out, const struct bridge_be_opts *opts)
{
	struct bridge_be *be;
	int ret, ver;

	be = calloc(1, sizeof(*be));
	if (!be)
		return -ENOMEM;
	be->node = opts->node;
	be->no_ack = opts->no_ack;
	pthread_mutex_init(&be->lock, NULL);
	be->fd = open(opts->node, O_RDWR | O_CLOEXEC);
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
	be->host.ops = &be_host_ops;
	be->host.mem = &be->mem;
	be->host.priv = be;
	*out = be;
	return 0;

err_close:
	close(be->fd);
err_free:
	pthread_mutex_destroy(&be->lock);
	free(be);
	return ret;
}

static void be_unmap(struct bridge_be *be)
{
	unsigned int i;

	for (i = 0; i < be->mem.nr; i++)
		munmap(be->mem.region[i].hva, be->mem.region[i].size);
	memset(&be->mem, 0, sizeof(be->mem));
	be->generation = 0;
}

void bridge_be_close(struct bridge_be *be)
{
	if (!be)
		return;
	be_unmap(be);
	close(be->fd);
	pthread_mutex_destroy(&be->lock);
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

/* VMSTART: map the new VM's RAM, give the guest power-on devices. */
static int be_vmstart(struct bridge_be *be, struct device_set *devs,
		      uint64_t generation)
{
	unsigned int i;

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
		void *p;

		p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 be->fd, (off_t)r->addr);
		if (p == MAP_FAILED) {
			log_errno("%s: cannot map guest RAM 0x%llx+0x%llx", be->node,
				  (unsigned long long)r->addr,
				  (unsigned long long)r->size);
			be_unmap(be);
			return -errno;
		}
		if (guest_mem_add(&be->mem, r->addr, r->size, p)) {
			munmap(p, r->size);
			be_unmap(be);
			log_error("%s: overlapping guest RAM regions", be->node);
			return -EPROTO;
		}
	}
	be->generation = generation;
	memset(be->line_slots, 0, sizeof(be->line_slots));
	device_set_reset(devs);
	log_info("%s: VM generation %llu started (vmid %u, %u RAM regions)",
		 be->node, (unsigned long long)generation, be->info.vmid,
		 be->mem.nr);
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
	pthread_mutex_unlock(&be->lock);
	be_unmap(be);
	if (be->no_ack) {
		log_info("%s: VM generation %llu stopped; not acknowledging (--test-no-ack)",
			 be->node, (unsigned long long)generation);
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
		pci_bus_ecam_access(bus, m->offset, m->len, write, &val);
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

int bridge_be_serve(struct bridge_be *be, struct pci_bus *bus,
		    struct device_set *devs, volatile bool *stop)
{
	struct vbridge_msg msgs[BE_BATCH];
	struct vbridge_reply replies[BE_BATCH];
	struct pollfd pfd = { .fd = be->fd, .events = POLLIN };
	int ret = 0;

	if (be->info.nr_windows > 1 &&
	    pci_bus_assign_bars(bus, be->info.windows[1].addr,
				be->info.windows[1].size)) {
		log_error("%s: the BARs do not fit in window 1 (0x%llx bytes)",
			  be->node, (unsigned long long)be->info.windows[1].size);
		return -ENOSPC;
	}
	if (ioctl(be->fd, VBRIDGE_BE_SET_READY, 1UL)) {
		log_errno("%s: cannot declare the device ready", be->node);
		return -errno;
	}

	while (!*stop) {
		unsigned int n, i, nr = 0;
		ssize_t len;

		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		len = read(be->fd, msgs, sizeof(msgs));
		if (len < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
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
		if (!ret && nr)
			ret = be_send_replies(be, replies, nr);
		if (ret)
			break;
	}
	ioctl(be->fd, VBRIDGE_BE_SET_READY, 0UL);
	return ret;
}
