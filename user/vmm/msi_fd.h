/* SPDX-License-Identifier: GPL-2.0 */
/*
 * MSI messages bound to eventfds: a GSI routed to the message
 * (vmm/irq_routes.h) and a KVM irqfd on it, so that a write to the
 * eventfd is the interrupt and no thread of the VMM is in its path.  Two
 * kinds share the VM's one routing table:
 *
 *  - a bridged device provider's messages (vmm/bridge.c): the provider
 *    made the eventfd and the module passed it; vmm_routes_bind();
 *  - an in-process function's (pci_host_ops.msi_fd_get of the in-process
 *    host): a vhost-user back-end's call fd.  vmm_msi_fd_get() makes one
 *    eventfd per message and function, counts its users and unbinds it
 *    with the last vmm_msi_fd_put().
 *
 * Locking: vmm_routes.lock protects everything here: the main thread
 * binds providers' messages, vCPU threads (a driver unmasking a vector)
 * and the devices' I/O threads bind in-process ones.  Nothing is called
 * with it held.
 */
#ifndef VBRIDGE_VMM_MSI_FD_H
#define VBRIDGE_VMM_MSI_FD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/irq_routes.h"

struct vmm;

/* One in-process message's eventfd. */
struct vmm_msi_fd {
	uint64_t addr;
	uint32_t data;
	unsigned int devfn;
	int fd;
	int gsi;
	unsigned int users;
};

/**
 * struct vmm_routes - the VM's GSI routing table and what is bound to it
 * @lock: protects the fields below
 * @table: the routing table, set up with the first message
 * @set: @table is set up
 * @fds: the in-process functions' message eventfds
 * @nr_fds: entries of @fds
 */
struct vmm_routes {
	pthread_mutex_t lock;
	struct irq_routes table;
	bool set;
	struct vmm_msi_fd *fds;
	unsigned int nr_fds;
};

void vmm_routes_init(struct vmm_routes *r);
/* After every user is gone; KVM drops its irqfds with the VM. */
void vmm_routes_destroy(struct vmm_routes *r);

/*
 * Route a new GSI to e (a KVM_IRQ_ROUTING_MSI entry) and bind eventfd fd
 * to it.  Returns the GSI, or -errno with nothing left behind.
 */
int vmm_routes_bind(struct vmm *vm, const struct kvm_irq_routing_entry *e,
		    int fd);
/*
 * Unbind fd from gsi and free the GSI for the next message.  Its route
 * stays in KVM's table until then: each table change costs KVM an SRCU
 * grace period, and nothing is bound to it.
 */
void vmm_routes_unbind(struct vmm *vm, int gsi, int fd);

/*
 * The eventfd that sends in-process function devfn's message addr/data
 * (the architecture must let a device send it: arch_pci_msi_route()).
 * Returns the fd, which the VMM owns, or -errno; each success wants a
 * vmm_msi_fd_put() of the same message.
 */
int vmm_msi_fd_get(struct vmm *vm, unsigned int devfn, uint64_t addr,
		   uint32_t data);
void vmm_msi_fd_put(struct vmm *vm, unsigned int devfn, uint64_t addr,
		    uint32_t data);

#endif
