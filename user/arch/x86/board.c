// SPDX-License-Identifier: GPL-2.0
/*
 * The x86 board: RAM layout, the legacy devices on port I/O (host bridge,
 * PM block, resets, CMOS clock, 16550s), the ACPI and MP tables, the PCI
 * host's window and INTx wiring, and the boot of a bzImage.
 */
#include "vmm/vmm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/board.h"
#include "lib/log.h"
#include "vmm/bridge.h"

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

/* The SCI: GSI 9, level-triggered active high (the MADT's override). */
static void vmm_power_sci(void *ctx, int level)
{
	arch_irq_line(ctx, VMM_SCI_IRQ, level);
}

bool arch_power_button(struct vmm *vm)
{
	power_button(&vm->arch.power);
	return true;
}

void arch_vmm_init(struct vmm *vm)
{
	pci_x86_init(&vm->arch.pci, NULL, NULL, vmm_pci_reset, vm);
	power_init(&vm->arch.power, vmm_power_event, vmm_power_sci, vm);
	rtc_init(&vm->arch.rtc);
}

void arch_vmm_destroy(struct vmm *vm)
{
	unsigned int i;

	pci_x86_destroy(&vm->arch.pci);
	power_destroy(&vm->arch.power);
	rtc_destroy(&vm->arch.rtc);
	for (i = 0; i < vm->arch.nr_uarts; i++) {
		struct vmm_uart *u = &vm->arch.uarts[i];

		uart_destroy(&u->uart);
		vmm_serial_close(&u->line);
	}
	free(vm->arch.cpuid);
}

/* Low RAM below the PCI hole, the rest from 4 GiB: two pieces of the memfd. */
int arch_ram_layout(struct vmm *vm, uint64_t ram_size)
{
	struct x86_layout *l = &vm->arch.layout;
	int err = x86_layout_compute(ram_size, l);

	if (err)
		return err;
	vm->nr_ram_regions = 0;
	vm->ram_regions[vm->nr_ram_regions++] = (struct vmm_ram_region){
		.gpa = 0, .size = l->low_size, .offset = 0,
	};
	if (l->high_size)
		vm->ram_regions[vm->nr_ram_regions++] = (struct vmm_ram_region){
			.gpa = X86_4G, .size = l->high_size,
			.offset = l->low_size,
		};
	return 0;
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

int arch_serial_add(struct vmm *vm, unsigned int num, int out_fd,
		    bool own_fd, bool in)
{
	struct vmm_uart *u;
	unsigned int i;
	int ret;

	if (num < 1 || num > VMM_MAX_UARTS || vm->arch.nr_uarts == VMM_MAX_UARTS)
		return -EINVAL;
	for (i = 0; i < vm->arch.nr_uarts; i++)
		if (vm->arch.uarts[i].port == vmm_com[num - 1].port)
			return -EBUSY;
	u = &vm->arch.uarts[vm->arch.nr_uarts];
	u->port = vmm_com[num - 1].port;
	u->line = (struct vmm_serial){
		.vm = vm, .irq = vmm_com[num - 1].irq, .src = vm->arch.nr_uarts,
		.out_fd = out_fd, .own_fd = own_fd, .in = in,
	};
	ret = uart_init(&u->uart, out_fd, vmm_serial_set_irq,
			vmm_serial_rx_drained, &u->line);
	if (ret)
		return ret;
	return vm->arch.nr_uarts++;
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

unsigned int arch_serial_rx_room(struct vmm *vm, int idx)
{
	return uart_rx_room(&vm->arch.uarts[idx].uart);
}

void arch_serial_rx_push(struct vmm *vm, int idx, const uint8_t *buf,
			 unsigned int n)
{
	uart_rx_push(&vm->arch.uarts[idx].uart, buf, n);
}

void arch_serial_name(unsigned int num, char *buf, size_t len)
{
	snprintf(buf, len, "ttyS%u", num - 1);
}

/* The legacy board: host bridge, PM block, resets, RTC, UARTs. */
static int vmm_board_setup(struct vmm *vm)
{
	unsigned int i;
	int err = 0;

	err |= vmm_add_pio(vm, PCI_X86_CONF_PORT, PCI_X86_CONF_PORTS,
			   pci_x86_io, &vm->arch.pci, "pci-host");
	err |= vmm_add_pio(vm, POWER_PM_BASE, POWER_PM_LEN, power_pm_io,
			   &vm->arch.power, "acpi-pm");
	err |= vmm_add_pio(vm, POWER_I8042_CMD, 1, power_i8042_io,
			   &vm->arch.power, "i8042-reset");
	err |= vmm_add_pio(vm, POWER_POST_PORT, 1, power_post_io, NULL, "post");
	err |= vmm_add_pio(vm, RTC_PORT, RTC_PORTS, rtc_io, &vm->arch.rtc, "rtc");
	for (i = 0; i < vm->arch.nr_uarts; i++)
		err |= vmm_add_pio(vm, vm->arch.uarts[i].port, UART_NR_REGS,
				   vmm_uart_io, &vm->arch.uarts[i], "uart");
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

	x86_cpu_signature(vm, &mp.cpu_signature, &mp.cpu_features);
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

int arch_board_setup(struct vmm *vm)
{
	if (vmm_board_setup(vm))
		return -1;
	return vmm_firmware_tables(vm);
}

/* --- the in-process PCI host --------------------------------------------- */

void arch_pci_window(const struct vmm *vm, uint64_t *base, uint64_t *size)
{
	*base = X86_PCI_MMIO_BASE;
	*size = X86_PCI_MMIO_SIZE;
}

unsigned int arch_pci_intx_irq(const struct vmm *vm, unsigned int slot,
			       unsigned int pin)
{
	return pci_x86_intx_gsi(slot, pin);
}

int arch_pci_attach(struct vmm *vm)
{
	int err;

	vm->arch.pci.ops = &vmm_pci_cfg_ops;
	vm->arch.pci.ctx = vm;
	/*
	 * The whole hole up to the IOAPIC, as the DSDT's _CRS window says:
	 * the guest may move BARs anywhere in it.
	 */
	err = io_bus_add(&vm->mmio, X86_PCI_MMIO_BASE,
			 X86_IOAPIC_BASE - X86_PCI_MMIO_BASE, vmm_pci_mmio, vm,
			 "pci-mmio");
	if (err) {
		log_error("cannot claim the PCI MMIO window: %s", strerror(-err));
		return -1;
	}
	return 0;
}

/* --- booting a bzImage ---------------------------------------------------- */

int arch_boot_parse(struct run_boot *boot, char *err, size_t err_len)
{
	if (boot->bios) {
		snprintf(err, err_len, "--bios: the x86_64 machine boots a bzImage itself, without firmware; give --kernel");
		return -1;
	}
	return bzimage_parse(boot->img, boot->len, &boot->arch.bz, err,
			     err_len) ? -1 : 0;
}

int arch_boot_plan(struct vmm *vm, struct run_boot *boot, char *err,
		   size_t err_len)
{
	return x86_boot_plan(&boot->arch.bz, &vm->arch.layout,
			     boot->initrd_size, strlen(boot->cmdline),
			     &boot->arch.plan, err, err_len) ? -1 : 0;
}

uint64_t arch_boot_initrd_addr(const struct run_boot *boot)
{
	return boot->arch.plan.initrd_addr;
}

int arch_boot_load(struct vmm *vm, struct run_boot *boot)
{
	if (x86_boot_load(&vm->mem, &boot->arch.bz, boot->img,
			  &boot->arch.plan, &vm->arch.layout, boot->cmdline,
			  VMM_ACPI_ADDR)) {
		log_error("cannot load the kernel into guest memory");
		return -1;
	}
	return 0;
}

int arch_boot_regs(struct vmm *vm, struct run_boot *boot)
{
	return x86_vcpu_boot_regs(&vm->vcpus[0], boot->arch.plan.entry,
				  X86_BOOT_ZERO_PAGE);
}

void arch_boot_describe(const struct run_boot *boot)
{
	const struct x86_boot_plan *p = &boot->arch.plan;

	log_debug("kernel at 0x%llx..0x%llx, initrd at 0x%llx (%llu bytes), command line \"%s\"",
		  (unsigned long long)p->kernel_addr,
		  (unsigned long long)p->kernel_end,
		  (unsigned long long)p->initrd_addr,
		  (unsigned long long)boot->initrd_size, boot->cmdline);
}
