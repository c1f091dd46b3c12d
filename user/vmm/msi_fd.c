// SPDX-License-Identifier: GPL-2.0
/* MSI messages bound to eventfds through KVM irqfds.  See msi_fd.h. */
#include "vmm/msi_fd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/arch.h"
#include "vmm/vmm.h"

void vmm_routes_init(struct vmm_routes *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
}

void vmm_routes_destroy(struct vmm_routes *r)
{
	unsigned int i;

	for (i = 0; i < r->nr_fds; i++)
		close(r->fds[i].fd);
	free(r->fds);
	irq_routes_free(&r->table);
	pthread_mutex_destroy(&r->lock);
	memset(r, 0, sizeof(*r));
}

/* Called with r->lock: the pin routes KVM made, then room for messages. */
static int routes_setup(struct vmm *vm)
{
	struct vmm_routes *r = &vm->routes;
	struct kvm_irq_routing_entry *pins;
	unsigned int n;
	int ret;

	if (r->set)
		return 0;
	pins = calloc(VMM_ARCH_IRQ_ROUTE_PINS, sizeof(*pins));
	if (!pins)
		return -ENOMEM;
	n = arch_irq_routes_pins(vm, pins);
	ret = irq_routes_init(&r->table, pins, n);
	free(pins);
	r->set = !ret;
	return ret;
}

/* Called with r->lock: give KVM the table. */
static int routes_commit(struct vmm *vm)
{
	struct kvm_irq_routing *t = irq_routes_table(&vm->routes.table);
	int ret = 0;

	if (!t)
		return -ENOMEM;
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, t) < 0)
		ret = -errno;
	free(t);
	return ret;
}

/* Called with r->lock. */
static int routes_bind(struct vmm *vm, const struct kvm_irq_routing_entry *e,
		       int fd)
{
	struct vmm_routes *r = &vm->routes;
	struct kvm_irqfd irqfd = { .fd = fd };
	int gsi, err;

	err = routes_setup(vm);
	if (err)
		return err;
	gsi = irq_routes_add(&r->table, e);
	if (gsi < 0)
		return gsi;
	err = routes_commit(vm);
	irqfd.gsi = gsi;
	if (!err && ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		err = -errno;
	if (err) {
		irq_routes_del(&r->table, gsi);
		return err;
	}
	return gsi;
}

/* Called with r->lock. */
static void routes_unbind(struct vmm *vm, int gsi, int fd)
{
	struct kvm_irqfd irqfd = {
		.fd = fd, .gsi = gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN,
	};

	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		log_errno("cannot unbind the eventfd of GSI %d", gsi);
	irq_routes_del(&vm->routes.table, gsi);
}

int vmm_routes_bind(struct vmm *vm, const struct kvm_irq_routing_entry *e,
		    int fd)
{
	int ret;

	pthread_mutex_lock(&vm->routes.lock);
	ret = routes_bind(vm, e, fd);
	pthread_mutex_unlock(&vm->routes.lock);
	return ret;
}

void vmm_routes_unbind(struct vmm *vm, int gsi, int fd)
{
	pthread_mutex_lock(&vm->routes.lock);
	routes_unbind(vm, gsi, fd);
	pthread_mutex_unlock(&vm->routes.lock);
}

/* Called with r->lock: the entry of a message, or NULL. */
static struct vmm_msi_fd *msi_fd_find(struct vmm_routes *r, unsigned int devfn,
				      uint64_t addr, uint32_t data)
{
	unsigned int i;

	for (i = 0; i < r->nr_fds; i++)
		if (r->fds[i].devfn == devfn && r->fds[i].addr == addr &&
		    r->fds[i].data == data)
			return &r->fds[i];
	return NULL;
}

int vmm_msi_fd_get(struct vmm *vm, unsigned int devfn, uint64_t addr,
		   uint32_t data)
{
	struct vmm_routes *r = &vm->routes;
	struct kvm_irq_routing_entry e;
	struct vmm_msi_fd *m, *n;
	char why[200];
	int fd, gsi;

	pthread_mutex_lock(&r->lock);
	m = msi_fd_find(r, devfn, addr, data);
	if (m) {
		m->users++;
		fd = m->fd;
		goto out;
	}
	if (arch_pci_msi_route(vm, devfn, addr, data, &e, why, sizeof(why))) {
		log_debug("MSI 0x%llx/0x%x of %02x.%x takes no eventfd: %s",
			  (unsigned long long)addr, data, PCI_SLOT(devfn),
			  PCI_FUNC(devfn), why);
		fd = -EINVAL;
		goto out;
	}
	n = realloc(r->fds, (r->nr_fds + 1) * sizeof(*n));
	if (!n) {
		fd = -ENOMEM;
		goto out;
	}
	r->fds = n;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		fd = -errno;
		goto out;
	}
	gsi = routes_bind(vm, &e, fd);
	if (gsi < 0) {
		log_warn("cannot route MSI 0x%llx/0x%x of %02x.%x to an eventfd: %s; it is sent as before",
			 (unsigned long long)addr, data, PCI_SLOT(devfn),
			 PCI_FUNC(devfn), strerror(-gsi));
		close(fd);
		fd = gsi;
		goto out;
	}
	r->fds[r->nr_fds++] = (struct vmm_msi_fd){
		.addr = addr, .data = data, .devfn = devfn, .fd = fd,
		.gsi = gsi, .users = 1,
	};
out:
	pthread_mutex_unlock(&r->lock);
	return fd;
}

void vmm_msi_fd_put(struct vmm *vm, unsigned int devfn, uint64_t addr,
		    uint32_t data)
{
	struct vmm_routes *r = &vm->routes;
	struct vmm_msi_fd *m;

	pthread_mutex_lock(&r->lock);
	m = msi_fd_find(r, devfn, addr, data);
	if (m && !--m->users) {
		routes_unbind(vm, m->gsi, m->fd);
		close(m->fd);
		*m = r->fds[--r->nr_fds];
	}
	pthread_mutex_unlock(&r->lock);
}
