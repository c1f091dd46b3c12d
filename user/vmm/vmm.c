// SPDX-License-Identifier: GPL-2.0
/*
 * The machine: guest RAM, KVM, interrupt lines, the vCPU lifecycle; the
 * board is the architecture's (vmm/arch.h).
 */
#include "vmm/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/bridge.h"

void vmm_init(struct vmm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = -1;
	vm->vm_fd = -1;
	vm->mem_fd = -1;
	io_bus_init(&vm->pio, "pio");
	io_bus_init(&vm->mmio, "mmio");
	pthread_mutex_init(&vm->irq_lock, NULL);
	vmm_routes_init(&vm->routes);
	atomic_init(&vm->exit_reason, VMM_RUNNING);
	vm->done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->rx_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	arch_vmm_init(vm);
}

void vmm_request_exit(struct vmm *vm, enum vmm_exit why)
{
	int expected = VMM_RUNNING;
	uint64_t one = 1;

	if (atomic_compare_exchange_strong(&vm->exit_reason, &expected, why))
		if (write(vm->done_efd, &one, sizeof(one)) < 0)
			log_errno("cannot wake the main thread");
}

int vmm_irq_update(uint32_t *sources, unsigned int src, int level)
{
	uint32_t before = *sources;

	if (src >= 32)
		return -1;
	if (level)
		*sources |= 1u << src;
	else
		*sources &= ~(1u << src);
	return !before == !*sources ? -1 : !!*sources;
}

void vmm_irq_set(struct vmm *vm, unsigned int irq, unsigned int src,
		 int level)
{
	int line;

	if (irq >= VMM_NR_IRQS)
		return;
	pthread_mutex_lock(&vm->irq_lock);
	line = vmm_irq_update(&vm->irq_sources[irq], src, level);
	if (line >= 0)
		arch_irq_line(vm, irq, line);
	pthread_mutex_unlock(&vm->irq_lock);
}

void vmm_serial_set_irq(void *opaque, int level)
{
	struct vmm_serial *s = opaque;

	vmm_irq_set(s->vm, s->irq, s->src, level);
}

void vmm_serial_rx_drained(void *opaque)
{
	struct vmm_serial *s = opaque;
	uint64_t one = 1;

	if (write(s->vm->rx_efd, &one, sizeof(one)) < 0)
		log_errno("cannot wake the console input");
}

void vmm_serial_close(struct vmm_serial *s)
{
	if (s->own_fd && s->out_fd >= 0)
		close(s->out_fd);
	s->out_fd = -1;
}

int vmm_ram_create(struct vmm *vm, uint64_t ram_size)
{
	unsigned int i;
	int err;

	err = arch_ram_layout(vm, ram_size);
	if (err) {
		log_error("cannot lay out %llu bytes of RAM: %s",
			  (unsigned long long)ram_size, strerror(-err));
		return -1;
	}
	vm->mem_fd = memfd_create("vbridge-guest-ram",
				  MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (vm->mem_fd < 0) {
		log_errno("memfd_create for guest RAM");
		return -1;
	}
	if (ftruncate(vm->mem_fd, ram_size) < 0) {
		log_errno("cannot size guest RAM to %llu MiB",
			  (unsigned long long)(ram_size >> 20));
		return -1;
	}
	/* The bridge maps this memfd into device providers: fix its size. */
	if (fcntl(vm->mem_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0) {
		log_errno("cannot seal the guest RAM memfd");
		return -1;
	}
	vm->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_NORESERVE, vm->mem_fd, 0);
	if (vm->ram == MAP_FAILED) {
		vm->ram = NULL;
		log_errno("cannot map %llu MiB of guest RAM",
			  (unsigned long long)(ram_size >> 20));
		return -1;
	}
	vm->ram_size = ram_size;
	for (i = 0; i < vm->nr_ram_regions; i++) {
		const struct vmm_ram_region *r = &vm->ram_regions[i];

		if (guest_mem_add_fd(&vm->mem, r->gpa, r->size, vm->ram + r->offset,
				     vm->mem_fd, r->offset)) {
			log_error("RAM region %u (0x%llx, %llu MiB) overlaps another",
				  i, (unsigned long long)r->gpa,
				  (unsigned long long)(r->size >> 20));
			return -1;
		}
	}
	return 0;
}

int vmm_kvm_setup(struct vmm *vm, unsigned int nr_vcpus)
{
	unsigned int i;

	if (kvm_vm_create(vm))
		return -1;
	for (i = 0; i < vm->nr_ram_regions; i++) {
		const struct vmm_ram_region *r = &vm->ram_regions[i];

		if (kvm_vm_add_ram(vm, i, r->gpa, r->size, vm->ram + r->offset))
			return -1;
	}

	vm->vcpus = calloc(nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -1;
	vm->nr_vcpus = nr_vcpus;
	for (i = 0; i < nr_vcpus; i++)
		vm->vcpus[i].fd = -1;
	for (i = 0; i < nr_vcpus; i++)
		if (vcpu_create(vm, &vm->vcpus[i], i))
			return -1;
	return arch_board_setup(vm);
}

int vmm_start(struct vmm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_start(&vm->vcpus[i]))
			return -1;
	return 0;
}

void vmm_stop(struct vmm *vm)
{
	unsigned int i;

	vmm_request_exit(vm, VMM_EXIT_STOPPED);
	/* vCPUs waiting for a bridged device's reply return at once. */
	vmm_bridge_stop(vm);
	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(&vm->vcpus[i]);
}

void vmm_destroy(struct vmm *vm)
{
	unsigned int i;

	if (vm->vcpus) {
		vmm_stop(vm);
		for (i = 0; i < vm->nr_vcpus; i++)
			vcpu_destroy(&vm->vcpus[i]);
		free(vm->vcpus);
	}
	/* No vCPU runs any more: the functions can go (devices stopped). */
	vmm_bridge_destroy(vm);
	if (vm->bus)
		pci_bus_free(vm->bus);
	vm->bus = NULL;
	vmm_routes_destroy(&vm->routes);
	arch_vmm_destroy(vm);
	if (vm->ram)
		munmap(vm->ram, vm->ram_size);
	if (vm->mem_fd >= 0)
		close(vm->mem_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->done_efd >= 0)
		close(vm->done_efd);
	if (vm->rx_efd >= 0)
		close(vm->rx_efd);
	pthread_mutex_destroy(&vm->irq_lock);
}
