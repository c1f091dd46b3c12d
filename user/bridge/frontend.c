// SPDX-License-Identifier: GPL-2.0
/* The VMM's side of the bridge; see frontend.h. */
#include "bridge/frontend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/log.h"

/* How long an attach retries a vmid that another VM still runs: 5 s. */
#define BRIDGE_FE_BUSY_TRIES	50
#define BRIDGE_FE_BUSY_US	100000

struct bridge_fe {
	int fd;
	uint32_t vmid;
	uint64_t generation;
	unsigned int nr_devices;
	struct bridge_fe_device *devices;
};

int bridge_fe_open(struct bridge_fe **out, const char *node)
{
	struct bridge_fe *fe;
	int ret, ver;

	if (!node)
		node = VBRIDGE_FRONTEND_NODE;
	fe = calloc(1, sizeof(*fe));
	if (!fe)
		return -ENOMEM;
	fe->fd = open(node, O_RDWR | O_CLOEXEC);
	if (fe->fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			log_error("%s does not exist: load the module (modprobe virtio_bridge)",
				  node);
		else
			log_errno("cannot open %s", node);
		goto err_free;
	}
	ver = ioctl(fe->fd, VBRIDGE_GET_API_VERSION);
	if (ver != VBRIDGE_API_VERSION) {
		log_error("%s speaks bridge API %d, this vbridge speaks %d: use matching module and tools",
			  node, ver, VBRIDGE_API_VERSION);
		ret = -EPROTO;
		goto err_close;
	}
	*out = fe;
	return 0;

err_close:
	close(fe->fd);
err_free:
	free(fe);
	return ret;
}

/* VBRIDGE_ATTACH; says why it waits when the vmid is still stopping. */
static int bridge_fe_do_attach(struct bridge_fe *fe, struct vbridge_attach *a,
			       bool nonblock)
{
	int flags = fcntl(fe->fd, F_GETFL), ret;

	if (flags < 0 || fcntl(fe->fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	ret = ioctl(fe->fd, VBRIDGE_ATTACH, a) ? -errno : 0;
	if (ret == -EBUSY && !nonblock) {
		unsigned int tries;

		/*
		 * Another VM runs this vmid, or the previous one is still
		 * stopping.  A blocking attach waits for the stop; it fails
		 * at once while the other VM runs, which is also the case
		 * for a moment after its VMM was killed, until that process
		 * is gone and its file closed: give it a few seconds.
		 */
		log_info("vmid %u: waiting for its previous VM to stop (the backends' VMSTOP acknowledgments)",
			 a->vmid);
		if (fcntl(fe->fd, F_SETFL, flags) < 0)
			return -errno;
		for (tries = 0; tries < BRIDGE_FE_BUSY_TRIES; tries++) {
			ret = ioctl(fe->fd, VBRIDGE_ATTACH, a) ? -errno : 0;
			if (ret != -EBUSY)
				break;
			usleep(BRIDGE_FE_BUSY_US);
		}
	}
	/* Only the attach looks at O_NONBLOCK; leave the file as opened. */
	if (fcntl(fe->fd, F_SETFL, flags) < 0 && !ret)
		ret = -errno;
	return ret;
}

int bridge_fe_attach(struct bridge_fe *fe, uint32_t vmid, uint32_t flags,
		     bool nonblock)
{
	struct vbridge_attach attach = { .vmid = vmid, .flags = flags };
	unsigned int i;
	int ret;

	ret = bridge_fe_do_attach(fe, &attach, nonblock);
	if (ret == -EINVAL && flags && vmid <= VBRIDGE_VMID_MAX) {
		/* A module older than the flags: without them, then. */
		log_warn("%s does not take attach flags 0x%x (an older virtio_bridge.ko?): bridged functions interrupt through INTx only",
			 VBRIDGE_FRONTEND_NODE, flags);
		attach = (struct vbridge_attach){ .vmid = vmid };
		ret = bridge_fe_do_attach(fe, &attach, nonblock);
	}
	if (ret) {
		if (ret == -EBUSY)
			log_error("vmid %u is in use by another VM%s", vmid,
				  nonblock ? " or still stopping" :
				  " (it still ran 5 s later): stop that VMM first");
		else if (ret == -EINVAL)
			log_error("cannot attach to vmid %u: out of range (0..%u)",
				  vmid, VBRIDGE_VMID_MAX);
		else
			log_error("cannot attach to vmid %u: %s", vmid,
				  strerror(-ret));
		return ret;
	}
	fe->vmid = vmid;
	fe->generation = attach.generation;
	fe->devices = calloc(attach.nr_devices ? attach.nr_devices : 1,
			     sizeof(*fe->devices));
	if (!fe->devices)
		return -ENOMEM;
	for (i = 0; i < attach.nr_devices; i++) {
		struct vbridge_device_info info = { .index = i };
		struct bridge_fe_device *d = &fe->devices[i];

		if (ioctl(fe->fd, VBRIDGE_GET_DEVICE, &info)) {
			ret = -errno;
			log_errno("cannot read device %u of vmid %u", i, vmid);
			return ret;
		}
		if (info.nr_windows > VBRIDGE_MAX_WINDOWS ||
		    info.nr_irqs > VBRIDGE_MAX_IRQS) {
			log_error("device %u of vmid %u has impossible counts", i, vmid);
			return -EPROTO;
		}
		d->id = info.id;
		memcpy(d->name, info.name, sizeof(d->name));
		d->name[sizeof(d->name) - 1] = '\0';
		d->backend_vmid = info.backend_vmid;
		d->state = info.state;
		d->nr_windows = info.nr_windows;
		memcpy(d->windows, info.windows, sizeof(d->windows));
		d->nr_irqs = info.nr_irqs;
		memcpy(d->irqs, info.irqs, sizeof(d->irqs));
		fe->nr_devices++;
	}
	return 0;
}

void bridge_fe_close(struct bridge_fe *fe)
{
	if (!fe)
		return;
	close(fe->fd);
	free(fe->devices);
	free(fe);
}

uint64_t bridge_fe_generation(const struct bridge_fe *fe)
{
	return fe->generation;
}

int bridge_fe_fd(const struct bridge_fe *fe)
{
	return fe->fd;
}

unsigned int bridge_fe_nr_devices(const struct bridge_fe *fe)
{
	return fe->nr_devices;
}

const struct bridge_fe_device *bridge_fe_device(const struct bridge_fe *fe,
						unsigned int i)
{
	return i < fe->nr_devices ? &fe->devices[i] : NULL;
}

int bridge_fe_add_region(struct bridge_fe *fe, uint64_t gpa, uint64_t size,
			 int memfd, uint64_t offset)
{
	struct vbridge_mem_region r = {
		.guest_phys_addr = gpa,
		.size = size,
		.fd_offset = offset,
		.fd = memfd,
	};

	if (ioctl(fe->fd, VBRIDGE_ADD_REGION, &r)) {
		int ret = -errno;

		log_errno("cannot register guest RAM 0x%llx+0x%llx with the bridge",
			  (unsigned long long)gpa, (unsigned long long)size);
		return ret;
	}
	return 0;
}

int bridge_fe_set_irqfd(struct bridge_fe *fe, uint32_t device_id,
			unsigned int line, int irqfd, int resamplefd)
{
	struct vbridge_irqfd f = {
		.device_id = device_id,
		.line = line,
		.fd = irqfd,
		.resamplefd = resamplefd,
	};

	if (ioctl(fe->fd, VBRIDGE_SET_IRQFD, &f)) {
		int ret = -errno;

		log_errno("cannot bind interrupt line %u of bridged device %u",
			  line, device_id);
		return ret;
	}
	return 0;
}

const struct bridge_fe_device *bridge_fe_lookup(const struct bridge_fe *fe,
						uint64_t addr, unsigned int len,
						unsigned int *window)
{
	unsigned int i, w;

	for (i = 0; i < fe->nr_devices; i++) {
		const struct bridge_fe_device *d = &fe->devices[i];

		for (w = 0; w < d->nr_windows; w++) {
			const struct vbridge_window *win = &d->windows[w];

			if (addr >= win->addr && addr - win->addr < win->size &&
			    len <= win->size - (addr - win->addr)) {
				if (window)
					*window = w;
				return d;
			}
		}
	}
	return NULL;
}

int bridge_fe_access(struct bridge_fe *fe, uint64_t addr, unsigned int len,
		     bool write, uint64_t *val)
{
	struct vbridge_access a = {
		.addr = addr,
		.len = len,
		.flags = write ? VBRIDGE_ACCESS_F_WRITE : 0,
		.data = write ? *val : 0,
	};

	if (ioctl(fe->fd, VBRIDGE_ACCESS, &a)) {
		if (!write)
			*val = ~0ULL;
		return -errno;
	}
	if (!write)
		*val = a.data;
	if (a.result)
		log_debug("bridged %s of %u bytes at 0x%llx failed: %s",
			  write ? "store" : "load", len,
			  (unsigned long long)addr, strerror(-a.result));
	return 0;
}

int bridge_fe_next_doorbell(struct bridge_fe *fe, struct vbridge_doorbell *db)
{
	memset(db, 0, sizeof(*db));
	if (ioctl(fe->fd, VBRIDGE_GET_DOORBELL, db)) {
		if (errno == EAGAIN)
			return 0;
		return -errno;
	}
	return 1;
}

int bridge_fe_stop(struct bridge_fe *fe)
{
	return ioctl(fe->fd, VBRIDGE_STOP) ? -errno : 0;
}
