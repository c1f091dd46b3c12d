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

struct bridge_fe {
	int fd;
	uint32_t vmid;
	uint64_t generation;
	unsigned int nr_devices;
	struct bridge_fe_device *devices;
};

int bridge_fe_open(struct bridge_fe **out, const char *node, uint32_t vmid,
		   bool nonblock)
{
	struct vbridge_attach attach = { .vmid = vmid };
	struct bridge_fe *fe;
	unsigned int i;
	int ret, ver;

	if (!node)
		node = VBRIDGE_FRONTEND_NODE;
	fe = calloc(1, sizeof(*fe));
	if (!fe)
		return -ENOMEM;
	fe->vmid = vmid;
	fe->fd = open(node, O_RDWR | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
	if (fe->fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			log_error("%s does not exist: load the module (insmod virtio_bridge.ko)",
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
	if (ioctl(fe->fd, VBRIDGE_ATTACH, &attach)) {
		ret = -errno;
		if (ret == -EBUSY)
			log_error("vmid %u is in use by another VM%s", vmid,
				  nonblock ? " or still stopping" : "");
		else
			log_errno("cannot attach to vmid %u", vmid);
		goto err_close;
	}
	fe->generation = attach.generation;
	fe->nr_devices = attach.nr_devices;
	fe->devices = calloc(fe->nr_devices ? fe->nr_devices : 1,
			     sizeof(*fe->devices));
	if (!fe->devices) {
		ret = -ENOMEM;
		goto err_close;
	}
	for (i = 0; i < fe->nr_devices; i++) {
		struct vbridge_device_info info = { .index = i };
		struct bridge_fe_device *d = &fe->devices[i];

		if (ioctl(fe->fd, VBRIDGE_GET_DEVICE, &info)) {
			ret = -errno;
			log_errno("cannot read device %u of vmid %u", i, vmid);
			goto err_devices;
		}
		if (info.nr_windows > VBRIDGE_MAX_WINDOWS ||
		    info.nr_irqs > VBRIDGE_MAX_IRQS) {
			log_error("device %u of vmid %u has impossible counts", i, vmid);
			ret = -EPROTO;
			goto err_devices;
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
	}
	*out = fe;
	return 0;

err_devices:
	free(fe->devices);
err_close:
	close(fe->fd);
err_free:
	free(fe);
	return ret;
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
