// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 board: RAM at 0x40000000, the PL011s, the PL031 and the PL061
 * (with the power key) on the MMIO bus, the in-process PCI host behind an ECAM window, the device tree that
 * describes it all, and the boot of an Image (or of firmware at 0).
 */
#include "vmm/vmm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "arch/arm64/board.h"
#include "arch/arm64/fdt.h"
#include "lib/log.h"
#include "vmm/bridge.h"

/* KVM memory slot of --bios firmware (RAM takes the slots from 0). */
#define ARM64_BIOS_SLOT		(VMM_MAX_RAM_REGIONS + 1)

static void arm64_rtc_irq(void *opaque, int level)
{
	vmm_irq_set(opaque, ARM64_RTC_SPI, 0, level);
}

/*
 * How long the power key is held down.  gpio-keys reads the line a
 * debounce delay (5 ms) after its interrupt, from a work item: a release
 * that came before that work ran would lose the press.  QEMU's virt board
 * holds its key 100 ms; a nested guest under TCG can be slower than that.
 */
#define ARM64_POWER_KEY_MS	500

static void arm64_gpio_irq(void *opaque, int level)
{
	vmm_irq_set(opaque, ARM64_GPIO_SPI, 0, level);
}

/* Press the power key, and release it ARM64_POWER_KEY_MS later. */
bool arch_power_button(struct vmm *vm)
{
	int err = pl061_pulse(&vm->arch.gpio, ARM64_GPIO_POWER_LINE,
			      ARM64_POWER_KEY_MS);

	if (err) {
		log_error("cannot press the power key: %s", strerror(-err));
		return false;
	}
	return true;
}

void arch_vmm_init(struct vmm *vm)
{
	vm->arch.gic_fd = -1;
	vm->arch.its_fd = -1;
	pl031_init(&vm->arch.rtc, arm64_rtc_irq, vm);
	pl061_init(&vm->arch.gpio, arm64_gpio_irq, vm);
}

void arch_vmm_destroy(struct vmm *vm)
{
	unsigned int i;

	pl061_destroy(&vm->arch.gpio);
	pl031_destroy(&vm->arch.rtc);
	for (i = 0; i < vm->arch.nr_uarts; i++) {
		struct vmm_uart *u = &vm->arch.uarts[i];

		pl011_destroy(&u->uart);
		vmm_serial_close(&u->line);
	}
	if (vm->arch.bios_mem)
		munmap(vm->arch.bios_mem, vm->arch.bios_map_size);
	if (vm->arch.its_fd >= 0)
		close(vm->arch.its_fd);
	if (vm->arch.gic_fd >= 0)
		close(vm->arch.gic_fd);
	arm64_pci_host_dt_free(&vm->arch.pci_host_dt);
}

/* One piece: the memfd from offset 0 at ARM64_RAM_BASE. */
int arch_ram_layout(struct vmm *vm, uint64_t ram_size)
{
	if (ram_size < ARM64_RAM_MIN || ram_size > ARM64_RAM_MAX)
		return -ERANGE;
	if (ram_size & ((1ULL << 20) - 1))
		return -EINVAL;
	vm->nr_ram_regions = 1;
	vm->ram_regions[0] = (struct vmm_ram_region){
		.gpa = ARM64_RAM_BASE, .size = ram_size, .offset = 0,
	};
	return 0;
}

/* --- serial lines ------------------------------------------------------- */

int arch_serial_add(struct vmm *vm, unsigned int num, int out_fd,
		    bool own_fd, bool in)
{
	struct vmm_uart *u;
	unsigned int i;
	int ret;

	if (num < 1 || num > VMM_MAX_UARTS || vm->arch.nr_uarts == VMM_MAX_UARTS)
		return -EINVAL;
	for (i = 0; i < vm->arch.nr_uarts; i++)
		if (vm->arch.uarts[i].base == ARM64_UART_ADDR(num - 1))
			return -EBUSY;
	u = &vm->arch.uarts[vm->arch.nr_uarts];
	u->base = ARM64_UART_ADDR(num - 1);
	u->line = (struct vmm_serial){
		.vm = vm, .irq = ARM64_UART_SPI(num - 1), .src = vm->arch.nr_uarts,
		.out_fd = out_fd, .own_fd = own_fd, .in = in,
	};
	ret = pl011_init(&u->uart, out_fd, vmm_serial_set_irq,
			 vmm_serial_rx_drained, &u->line);
	if (ret)
		return ret;
	return vm->arch.nr_uarts++;
}

unsigned int arch_serial_rx_room(struct vmm *vm, int idx)
{
	return pl011_rx_room(&vm->arch.uarts[idx].uart);
}

void arch_serial_rx_push(struct vmm *vm, int idx, const uint8_t *buf,
			 unsigned int n)
{
	pl011_rx_push(&vm->arch.uarts[idx].uart, buf, n);
}

void arch_serial_name(unsigned int num, char *buf, size_t len)
{
	snprintf(buf, len, "ttyAMA%u", num - 1);
}

/* --- the board ------------------------------------------------------------ */

static int arm64_add_mmio(struct vmm *vm, uint64_t base, uint64_t len,
			  io_handler_fn *fn, void *opaque, const char *name)
{
	int err = io_bus_add(&vm->mmio, base, len, fn, opaque, name);

	if (err)
		log_error("cannot claim MMIO 0x%llx+0x%llx for %s: %s",
			  (unsigned long long)base, (unsigned long long)len,
			  name, strerror(-err));
	return err;
}

/*
 * --bios: the firmware in a read-only slot at 0, outside the RAM memfd.
 * The slot covers the whole low 128 MiB, as QEMU virt's two flash banks
 * do: firmware looks for its environment in the second bank (u-boot's
 * qemu_arm64 reads 256 KiB at 0x4000000) and finds zeros at memory speed
 * instead of one MMIO exit per load.  Pages never written stay the zero
 * page; stores go to the MMIO bus, where nothing claims them.
 */
static int arm64_bios_map(struct vmm *vm, const uint8_t *bios, size_t len)
{
	struct kvm_userspace_memory_region r = {
		.slot = ARM64_BIOS_SLOT,
		.flags = KVM_MEM_READONLY,
		.guest_phys_addr = ARM64_BIOS_BASE,
	};
	size_t size = ARM64_BIOS_MAX;

	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0) {
		log_error("this KVM cannot map read-only memory (KVM_CAP_READONLY_MEM), which --bios needs");
		return -1;
	}
	vm->arch.bios_mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->arch.bios_mem == MAP_FAILED) {
		vm->arch.bios_mem = NULL;
		log_errno("cannot map %zu bytes for the firmware", size);
		return -1;
	}
	vm->arch.bios_map_size = size;
	memcpy(vm->arch.bios_mem, bios, len);
	r.memory_size = size;
	r.userspace_addr = (uintptr_t)vm->arch.bios_mem;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		log_errno("KVM_SET_USER_MEMORY_REGION (firmware, %zu MiB at 0)",
			  size >> 20);
		return -1;
	}
	return 0;
}

int arch_board_setup(struct vmm *vm)
{
	unsigned int i;
	int err = 0;

	if (arm64_gic_init(vm))
		return -1;
	for (i = 0; i < vm->arch.nr_uarts; i++)
		err |= arm64_add_mmio(vm, vm->arch.uarts[i].base, ARM64_UART_SIZE,
				      pl011_io, &vm->arch.uarts[i].uart, "pl011");
	err |= arm64_add_mmio(vm, ARM64_RTC_BASE, ARM64_RTC_SIZE, pl031_io,
			      &vm->arch.rtc, "pl031");
	err |= arm64_add_mmio(vm, ARM64_GPIO_BASE, ARM64_GPIO_SIZE, pl061_io,
			      &vm->arch.gpio, "pl061");
	return err ? -1 : 0;
}

/* --- the in-process PCI host ---------------------------------------------- */

/* ECAM: bus in bits 27:20, devfn in 19:12, register in 11:0; bus 0 only. */
static void arm64_ecam_io(void *opaque, struct io_access *a)
{
	struct vmm *vm = opaque;
	unsigned int bus = a->off >> 20, devfn = (a->off >> 12) & 0xff;
	unsigned int reg = a->off & 0xfff;
	uint32_t v;

	if (bus || a->len > 4 || (reg & (a->len - 1))) {
		if (!a->write)
			a->val = ~0ULL;
		return;
	}
	if (a->write)
		vmm_pci_cfg_ops.write(vm, devfn, reg, a->len, a->val);
	else {
		v = vmm_pci_cfg_ops.read(vm, devfn, reg, a->len);
		a->val = v;
	}
}

void arch_pci_window(const struct vmm *vm, uint64_t *base, uint64_t *size)
{
	*base = ARM64_PCI_MMIO_BASE;
	*size = ARM64_PCI_MMIO_SIZE;
}

/* The swizzle the device tree's interrupt-map describes (fdt.c). */
unsigned int arch_pci_intx_irq(const struct vmm *vm, unsigned int slot,
			       unsigned int pin)
{
	return ARM64_PCI_INTX_SPI + (slot + pin - 1) % 4;
}

int arch_pci_attach(struct vmm *vm)
{
	if (arm64_add_mmio(vm, ARM64_PCI_ECAM_BASE, ARM64_PCI_ECAM_SIZE,
			   arm64_ecam_io, vm, "pci-ecam") ||
	    arm64_add_mmio(vm, ARM64_PCI_MMIO_BASE, ARM64_PCI_MMIO_SIZE,
			   vmm_pci_mmio, vm, "pci-mmio"))
		return -1;
	return 0;
}

/* --- booting an Image, or firmware --------------------------------------- */

int arch_boot_parse(struct run_boot *boot, char *err, size_t err_len)
{
	if (boot->bios && boot->img) {
		snprintf(err, err_len, "give either --kernel or --bios: the firmware loads the kernel itself");
		return -1;
	}
	if (boot->bios)
		return 0;
	return arm64_image_parse(boot->img, boot->len, &boot->arch.image, err,
				 err_len) ? -1 : 0;
}

int arch_boot_plan(struct vmm *vm, struct run_boot *boot, char *err,
		   size_t err_len)
{
	uint64_t ram = vm->ram_regions[0].size;

	vm->arch.bios = boot->bios != NULL;
	if (boot->bios) {
		if (boot->initrd_size) {
			snprintf(err, err_len, "--initrd needs --kernel: the firmware loads its own");
			return -1;
		}
		return arm64_bios_plan(boot->bios_len, ram, &boot->arch.plan,
				       err, err_len) ? -1 : 0;
	}
	return arm64_boot_plan(&boot->arch.image, ram, boot->initrd_size,
			       &boot->arch.plan, err, err_len) ? -1 : 0;
}

uint64_t arch_boot_initrd_addr(const struct run_boot *boot)
{
	return boot->arch.plan.initrd_addr;
}

/*
 * The device tree of this VM: its vCPUs (with the MPIDRs KVM gave them),
 * its GIC, UARTs, clock and PCI host, and for a kernel its command line
 * and initrd.  Returns its size or -errno after saying why.
 */
static int arm64_board_fdt(struct vmm *vm, const struct run_boot *boot,
			   void *buf, size_t size)
{
	const struct arm64_boot_plan *p = &boot->arch.plan;
	struct arm64_fdt_config c;
	uint8_t seed[32];
	char err[200];
	unsigned int i;
	int n;

	arm64_fdt_default_config(&c, vm->ram_size, vm->nr_vcpus,
				 vm->arch.gic_v3 ? 3 : 2, 0);
	/* The ITS and the PCI host's msi-map, when there is an ITS. */
	c.gic_its_base = vm->arch.its_fd >= 0 ? ARM64_GIC_ITS_BASE : 0;
	for (i = 0; i < vm->nr_vcpus; i++) {
		n = arm64_get_mpidr(&vm->vcpus[i], &c.mpidr[i]);
		if (n)
			return n;
	}
	c.stdout_uart = -1;
	for (i = 0; i < vm->arch.nr_uarts; i++) {
		const struct vmm_uart *u = &vm->arch.uarts[i];

		c.uart[i].base = u->base;
		c.uart[i].spi = u->line.irq;
		if (u->line.in || c.stdout_uart < 0)
			c.stdout_uart = i;
	}
	c.nr_uarts = vm->arch.nr_uarts;
	for (i = 0; i < 4; i++)
		c.pci.intx_spi[i] = arch_pci_intx_irq(vm, 0, i + 1);
	if (!boot->bios) {
		c.bootargs = boot->cmdline;
		if (boot->initrd_size) {
			c.initrd_start = p->initrd_addr;
			c.initrd_end = p->initrd_addr + boot->initrd_size;
		}
	}
	if (vm->bridge) {
		c.add_nodes = arm64_bridge_fdt_nodes;
		c.opaque = vm;
	}
	/*
	 * The operator's node is the guest's PCI host: without in-process
	 * functions the in-process host stays out, so that it has domain 0
	 * as on the configuration guide's platform.
	 */
	if (vm->arch.pci_host_dt.blob) {
		for (i = 0; i < 256 && !pci_bus_func(vm->bus, i); i++)
			;
		c.has_pci = i < 256;
	}
	if (getrandom(seed, sizeof(seed), 0) == sizeof(seed)) {
		memcpy(&c.kaslr_seed, seed, sizeof(c.kaslr_seed));
		c.rng_seed = seed;
		c.rng_seed_len = sizeof(seed);
	}
	n = arm64_fdt_build(&c, buf, size, err, sizeof(err));
	if (n < 0)
		log_error("cannot build the device tree: %s", err);
	return n;
}

/* The device tree needs the vCPUs and the GIC: it is made at the end. */
int arch_boot_load(struct vmm *vm, struct run_boot *boot)
{
	return 0;
}

int arch_boot_regs(struct vmm *vm, struct run_boot *boot)
{
	const struct arm64_boot_plan *p = &boot->arch.plan;
	void *dtb = malloc(ARM64_DTB_MAX);
	int size, err;

	if (!dtb) {
		log_error("out of memory");
		return -1;
	}
	size = arm64_board_fdt(vm, boot, dtb, ARM64_DTB_MAX);
	if (size < 0) {
		free(dtb);
		return -1;
	}
	err = arm64_boot_load(&vm->mem, p, boot->img, boot->len, dtb, size);
	free(dtb);
	if (err) {
		log_error("cannot load the %s into guest memory: %s",
			  boot->bios ? "device tree" : "kernel", strerror(-err));
		return -1;
	}
	if (boot->bios && arm64_bios_map(vm, boot->bios, boot->bios_len))
		return -1;
	return arm64_vcpu_boot_regs(&vm->vcpus[0], p->entry, p->dtb_addr);
}

void arch_boot_describe(const struct run_boot *boot)
{
	const struct arm64_boot_plan *p = &boot->arch.plan;

	if (boot->bios)
		log_debug("firmware at 0x%llx (%llu bytes, read-only), device tree at 0x%llx",
			  (unsigned long long)p->bios_addr,
			  (unsigned long long)p->bios_size,
			  (unsigned long long)p->dtb_addr);
	else
		log_debug("kernel at 0x%llx..0x%llx, initrd at 0x%llx (%llu bytes), device tree at 0x%llx, command line \"%s\"",
			  (unsigned long long)p->kernel_addr,
			  (unsigned long long)p->kernel_end,
			  (unsigned long long)p->initrd_addr,
			  (unsigned long long)boot->initrd_size,
			  (unsigned long long)p->dtb_addr, boot->cmdline);
}
