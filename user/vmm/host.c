// SPDX-License-Identifier: GPL-2.0
/*
 * The in-process PCI host: how the device model's bus 0 is wired into the
 * VM.  Configuration cycles arrive through the architecture's host bridge
 * (CF8/CFC on x86), BAR accesses as MMIO exits in its window, INTx lines
 * become its interrupt lines (arch_pci_intx_irq), MSI-X vectors become
 * MSIs where the machine takes them (arch_pci_send_msi, or an eventfd
 * bound to the message for a vhost-user back-end: vmm/msi_fd.h), and queue
 * doorbells become KVM_IOEVENTFDs so kicks never leave the kernel.
 */
#include "vmm/vmm.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "lib/log.h"
#include "vmm/bridge.h"

#define PCI_INTERRUPT_LINE	0x3c

/* set_intx: the slot's pin is a board wire to an interrupt line. */
static void host_set_intx(struct pci_host *h, struct pci_func *f, int level)
{
	struct vmm *vm = h->priv;
	unsigned int devfn = pci_func_devfn(f), pin = pci_func_intx_pin(f);

	if (!pin || !PCI_SLOT(devfn))
		return;
	/* Slots sharing a GSI are distinct sources: the line is their OR. */
	vmm_irq_set(vm, arch_pci_intx_irq(vm, PCI_SLOT(devfn), pin),
		    PCI_SLOT(devfn), level);
}

static int host_ioeventfd(struct vmm *vm, uint64_t gpa, unsigned int len,
			  int efd, uint32_t flags)
{
	struct kvm_ioeventfd io = {
		.addr = gpa,
		.len = len,
		.fd = efd,
		.flags = flags,
	};

	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

static int host_add_doorbell(struct pci_host *h, uint64_t gpa,
			     unsigned int len, int efd)
{
	int err = host_ioeventfd(h->priv, gpa, len, efd, 0);

	if (err)
		log_debug("KVM_IOEVENTFD at 0x%llx (%u bytes): %s; kicks trap instead",
			  (unsigned long long)gpa, len, strerror(-err));
	return err;
}

static void host_del_doorbell(struct pci_host *h, uint64_t gpa,
			      unsigned int len, int efd)
{
	int err = host_ioeventfd(h->priv, gpa, len, efd,
				 KVM_IOEVENTFD_FLAG_DEASSIGN);

	if (err)
		log_debug("KVM_IOEVENTFD deassign at 0x%llx: %s",
			  (unsigned long long)gpa, strerror(-err));
}

static void host_send_msi(struct pci_host *h, struct pci_func *f,
			  uint64_t addr, uint32_t data)
{
	arch_pci_send_msi(h->priv, pci_func_devfn(f), addr, data);
}

static int host_msi_fd_get(struct pci_host *h, struct pci_func *f,
			   uint64_t addr, uint32_t data)
{
	return vmm_msi_fd_get(h->priv, pci_func_devfn(f), addr, data);
}

static void host_msi_fd_put(struct pci_host *h, struct pci_func *f,
			    uint64_t addr, uint32_t data)
{
	vmm_msi_fd_put(h->priv, pci_func_devfn(f), addr, data);
}

static const struct pci_host_ops host_ops = {
	.set_intx = host_set_intx,
	.add_doorbell = host_add_doorbell,
	.del_doorbell = host_del_doorbell,
};

/* A machine with MSIs: the functions on the bus get MSI-X. */
static const struct pci_host_ops host_ops_msi = {
	.set_intx = host_set_intx,
	.add_doorbell = host_add_doorbell,
	.del_doorbell = host_del_doorbell,
	.send_msi = host_send_msi,
	.msi_fd_get = host_msi_fd_get,
	.msi_fd_put = host_msi_fd_put,
};

/* Bus 0: the bridged slots (bridge.h), then the in-process functions. */
static uint32_t host_cfg_read(void *ctx, unsigned int devfn, unsigned int reg,
			      unsigned int len)
{
	struct vmm *vm = ctx;
	uint32_t val;

	if (vmm_bridge_cfg(vm, devfn, reg, len, false, &val))
		return val;
	return pci_bus_cfg_read(vm->bus, devfn, reg, len);
}

static void host_cfg_write(void *ctx, unsigned int devfn, unsigned int reg,
			   unsigned int len, uint32_t val)
{
	struct vmm *vm = ctx;

	if (!vmm_bridge_cfg(vm, devfn, reg, len, true, &val))
		pci_bus_cfg_write(vm->bus, devfn, reg, len, val);
}

const struct pci_cfg_ops vmm_pci_cfg_ops = {
	.read = host_cfg_read,
	.write = host_cfg_write,
};

/* MMIO in the PCI window: whatever BAR decodes it, wherever the guest put it. */
void vmm_pci_mmio(void *opaque, struct io_access *a)
{
	struct vmm *vm = opaque;

	if (vmm_bridge_mmio(vm, a))
		return;
	if (!pci_bus_mmio(vm->bus, a->addr, a->len, a->write, &a->val) &&
	    log_verbose() > 1)
		log_debug("unclaimed MMIO %s of %u bytes at 0x%llx in the PCI window",
			  a->write ? "store" : "load", a->len,
			  (unsigned long long)a->addr);
}

int vmm_pci_create(struct vmm *vm)
{
	vm->host.ops = arch_pci_msi(vm) ? &host_ops_msi : &host_ops;
	vm->host.mem = &vm->mem;
	vm->host.priv = vm;
	vm->bus = pci_bus_new(&vm->host);
	if (!vm->bus) {
		log_error("cannot create the PCI bus");
		return -1;
	}
	return 0;
}

int vmm_pci_attach(struct vmm *vm)
{
	uint64_t base, size;
	unsigned int devfn;
	int err;

	/* As firmware does: BARs packed into the window, decoding on. */
	arch_pci_window(vm, &base, &size);
	err = pci_bus_assign_bars(vm->bus, base, size);
	if (err) {
		log_error("the devices' BARs do not fit in the %llu MiB PCI window",
			  (unsigned long long)(size >> 20));
		return -1;
	}
	/* Interrupt Line tells guests without firmware routing the line. */
	for (devfn = PCI_DEVFN(1, 0); devfn <= 0xff; devfn++) {
		struct pci_func *f = pci_bus_func(vm->bus, devfn);
		unsigned int pin = f ? pci_func_intx_pin(f) : 0;

		if (pin)
			pci_bus_cfg_write(vm->bus, devfn, PCI_INTERRUPT_LINE, 1,
					  arch_pci_intx_irq(vm, PCI_SLOT(devfn), pin));
	}
	return arch_pci_attach(vm);
}
