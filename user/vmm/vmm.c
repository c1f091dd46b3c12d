// SPDX-License-Identifier: GPL-2.0
/* The machine: RAM, board devices, firmware tables, vCPU lifecycle. */
#include "vmm/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/log.h"
#include "arch/x86/acpi.h"
#include "vmm/bridge.h"
#include "arch/x86/mptable.h"

static const struct {
	uint16_t port;
	uint8_t irq;
} vmm_com[VMM_MAX_UARTS] = {
	{ 0x3f8, 4 }, { 0x2f8, 3 }, { 0x3e8, 4 }, { 0x2e8, 3 },
};

#define VMM_PCI_RESET_VALUE	0x06	/* FADT reset value: RST_CPU | SYS_RST */
#define VMM_SCI_IRQ		9

static void vmm_pci_reset(void *ctx)
{
	vmm_request_exit(ctx, VMM_EXIT_RESET);
}

static void vmm_power_event(void *ctx, enum power_event ev)
{
	vmm_request_exit(ctx, ev == POWER_OFF ? VMM_EXIT_POWEROFF :
			 VMM_EXIT_RESET);
}

void vmm_init(struct vmm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = -1;
	vm->vm_fd = -1;
	vm->mem_fd = -1;
	io_bus_init(&vm->pio, "pio");
	io_bus_init(&vm->mmio, "mmio");
	pthread_mutex_init(&vm->irq_lock, NULL);
	pci_x86_init(&vm->pci, NULL, NULL, vmm_pci_reset, vm);
	power_init(&vm->power, vmm_power_event, vm);
	rtc_init(&vm->rtc);
	atomic_init(&vm->exit_reason, VMM_RUNNING);
	vm->done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->rx_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
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

void vmm_irq_set(struct vmm *vm, unsigned int gsi, unsigned int src,
		 int level)
{
	int line;

	if (gsi >= VMM_NR_GSIS)
		return;
	pthread_mutex_lock(&vm->irq_lock);
	line = vmm_irq_update(&vm->irq_sources[gsi], src, level);
	if (line >= 0)
		kvm_irq_line(vm, gsi, line);
	pthread_mutex_unlock(&vm->irq_lock);
}

int vmm_ram_create(struct vmm *vm, uint64_t ram_size)
{
	struct x86_layout *l = &vm->layout;
	int err;

	err = x86_layout_compute(ram_size, l);
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
	guest_mem_add(&vm->mem, 0, l->low_size, vm->ram);
	if (l->high_size)
		guest_mem_add(&vm->mem, X86_4G, l->high_size,
			      vm->ram + l->low_size);
	return 0;
}

static void vmm_uart_irq(void *opaque, int level)
{
	struct vmm_uart *u = opaque;

	vmm_irq_set(u->vm, u->irq, u - u->vm->uarts, level);
}

static void vmm_uart_rx_drained(void *opaque)
{
	struct vmm_uart *u = opaque;
	uint64_t one = 1;

	if (write(u->vm->rx_efd, &one, sizeof(one)) < 0)
		log_errno("cannot wake the console input");
}

static void vmm_uart_io(void *opaque, struct io_access *a)
{
	struct vmm_uart *u = opaque;
	uint8_t v = a->val;

	/* 16550 registers are bytes; wider accesses touch the first one. */
	uart_io(&u->uart, a->off, a->write, &v);
	if (!a->write)
		a->val = a->len == 1 ? v : (~0ULL << 8) | v;
}

int vmm_add_uart(struct vmm *vm, unsigned int num, int out_fd, bool own_fd,
		 bool in)
{
	struct vmm_uart *u;
	unsigned int i;
	int ret;

	if (num < 1 || num > VMM_MAX_UARTS || vm->nr_uarts == VMM_MAX_UARTS)
		return -EINVAL;
	for (i = 0; i < vm->nr_uarts; i++)
		if (vm->uarts[i].port == vmm_com[num - 1].port)
			return -EBUSY;
	u = &vm->uarts[vm->nr_uarts];
	u->vm = vm;
	u->port = vmm_com[num - 1].port;
	u->irq = vmm_com[num - 1].irq;
	u->out_fd = out_fd;
	u->own_fd = own_fd;
	u->in = in;
	ret = uart_init(&u->uart, out_fd, vmm_uart_irq, vmm_uart_rx_drained, u);
	if (!ret)
		vm->nr_uarts++;
	return ret;
}

static int vmm_add_pio(struct vmm *vm, uint64_t base, uint64_t len,
		       io_handler_fn *fn, void *opaque, const char *name)
{
	int err = io_bus_add(&vm->pio, base, len, fn, opaque, name);

	if (err)
		log_error("cannot claim ports 0x%llx+%llu for %s: %s",
			  (unsigned long long)base, (unsigned long long)len,
			  name, strerror(-err));
	return err;
}

/* The legacy board: host bridge, PM block, resets, RTC, UARTs. */
static int vmm_board_setup(struct vmm *vm)
{
	unsigned int i;
	int err = 0;

	err |= vmm_add_pio(vm, PCI_X86_CONF_PORT, PCI_X86_CONF_PORTS,
			   pci_x86_io, &vm->pci, "pci-host");
	err |= vmm_add_pio(vm, POWER_PM_BASE, POWER_PM_LEN, power_pm_io,
			   &vm->power, "acpi-pm");
	err |= vmm_add_pio(vm, POWER_I8042_CMD, 1, power_i8042_io,
			   &vm->power, "i8042-reset");
	err |= vmm_add_pio(vm, POWER_POST_PORT, 1, power_post_io, NULL, "post");
	err |= vmm_add_pio(vm, RTC_PORT, RTC_PORTS, rtc_io, &vm->rtc, "rtc");
	for (i = 0; i < vm->nr_uarts; i++)
		err |= vmm_add_pio(vm, vm->uarts[i].port, UART_NR_REGS,
				   vmm_uart_io, &vm->uarts[i], "uart");
	return err ? -1 : 0;
}

/* The board swizzle, or for a bridged slot the line its provider drives. */
static unsigned int vmm_intx_gsi(void *ctx, unsigned int slot, unsigned int pin)
{
	unsigned int gsi = vmm_bridge_slot_gsi(ctx, slot);

	return gsi ? gsi : pci_x86_intx_gsi(slot, pin);
}

static int vmm_firmware_tables(struct vmm *vm)
{
	struct acpi_config acpi = {
		.nr_cpus = vm->nr_vcpus,
		.lapic_addr = X86_LAPIC_BASE,
		.ioapic_id = vm->nr_vcpus,
		.ioapic_addr = X86_IOAPIC_BASE,
		.pci_mmio_base = X86_PCI_MMIO_BASE,
		.pci_mmio_size = X86_IOAPIC_BASE - X86_PCI_MMIO_BASE,
		.intx_gsi = vmm_intx_gsi,
		.intx_ctx = vm,
		.pm1a_evt = POWER_PM_EVT,
		.pm1a_cnt = POWER_PM_CNT,
		.reset_port = PCI_X86_RESET_PORT,
		.reset_value = VMM_PCI_RESET_VALUE,
		.sci_irq = VMM_SCI_IRQ,
		.s5_slp_typ = POWER_S5_SLP_TYP,
	};
	struct mptable_config mp = {
		.nr_cpus = vm->nr_vcpus,
		.ioapic_id = vm->nr_vcpus,
		.ioapic_addr = X86_IOAPIC_BASE,
		.intx_gsi = vmm_intx_gsi,
		.intx_ctx = vm,
	};
	void *p;
	int n;

	p = guest_mem_ptr(&vm->mem, VMM_ACPI_ADDR, VMM_ACPI_SIZE);
	if (!p)
		return -1;
	n = acpi_build(p, VMM_ACPI_SIZE, VMM_ACPI_ADDR, &acpi);
	if (n < 0) {
		log_error("cannot build the ACPI tables: %s", strerror(-n));
		return -1;
	}

	vcpu_cpu_signature(vm, &mp.cpu_signature, &mp.cpu_features);
	p = guest_mem_ptr(&vm->mem, VMM_MPTABLE_ADDR, VMM_MPTABLE_SIZE);
	if (!p)
		return -1;
	n = mptable_build(p, VMM_MPTABLE_SIZE, VMM_MPTABLE_ADDR, &mp);
	if (n < 0) {
		log_error("cannot build the MP table: %s", strerror(-n));
		return -1;
	}
	return 0;
}

int vmm_kvm_setup(struct vmm *vm, unsigned int nr_vcpus)
{
	unsigned int i;

	if (kvm_vm_create(vm))
		return -1;
	if (kvm_vm_add_ram(vm, 0, 0, vm->layout.low_size, vm->ram))
		return -1;
	if (vm->layout.high_size &&
	    kvm_vm_add_ram(vm, 1, X86_4G, vm->layout.high_size,
			   vm->ram + vm->layout.low_size))
		return -1;

	vm->vcpus = calloc(nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -1;
	vm->nr_vcpus = nr_vcpus;
	for (i = 0; i < nr_vcpus; i++)
		vm->vcpus[i].fd = -1;
	for (i = 0; i < nr_vcpus; i++)
		if (vcpu_create(vm, &vm->vcpus[i], i))
			return -1;
	if (vmm_board_setup(vm))
		return -1;
	return vmm_firmware_tables(vm);
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
	pci_x86_destroy(&vm->pci);
	power_destroy(&vm->power);
	rtc_destroy(&vm->rtc);
	for (i = 0; i < vm->nr_uarts; i++) {
		uart_destroy(&vm->uarts[i].uart);
		if (vm->uarts[i].own_fd && vm->uarts[i].out_fd >= 0)
			close(vm->uarts[i].out_fd);
	}
	free(vm->cpuid);
	if (vm->ram)
		munmap(vm->ram, vm->layout.ram_size);
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
