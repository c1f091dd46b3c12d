// SPDX-License-Identifier: GPL-2.0
/*
 * Bridge mode on x86: the bridged PCI host's slots join bus 0 behind the
 * CF8/CFC bridge (vmm/bridge.c), so its windows must stay clear of RAM,
 * the in-process BAR window and the APICs, and its lines must be IOAPIC
 * GSIs.
 */
#include "vmm/vmm.h"

#include <stdio.h>

#include "arch/x86/board.h"
#include "arch/x86/msi.h"
#include "bridge/frontend.h"
#include "lib/log.h"
#include "vmm/bridge.h"

/* Does [addr, addr + size) overlap [base, base + len)? */
static bool overlaps(uint64_t addr, uint64_t size, uint64_t base, uint64_t len)
{
	return addr < base + len && base < addr + size;
}

#define VMM_BRIDGE_EXAMPLE	"see dts/x86_64-vm3-cvm2rb-pci.dts"

/*
 * The most --mem that leaves a window at addr clear of RAM, in MiB, or 0
 * when no --mem can (it is below the least RAM a guest gets).
 */
static uint64_t vmm_bridge_mem_below(uint64_t addr)
{
	uint64_t mem;

	if (addr >= X86_4G)
		mem = X86_PCI_HOLE_START + (addr - X86_4G);
	else
		mem = addr < X86_PCI_HOLE_START ? addr : X86_PCI_HOLE_START;
	return mem < X86_RAM_MIN ? 0 : mem >> 20;
}

/* A window must not hide RAM, the in-process BARs or the APICs. */
static int vmm_bridge_check_window(const struct x86_layout *l, uint32_t vmid,
				   const struct bridge_fe_device *d,
				   unsigned int w)
{
	const struct vbridge_window *win = &d->windows[w];
	static const struct {
		uint64_t base, len;
		const char *what;
	} fixed[] = {
		{ X86_PCI_MMIO_BASE, X86_PCI_MMIO_SIZE,
		  "the in-process devices' BAR window" },
		{ X86_IOAPIC_BASE, X86_4G - X86_IOAPIC_BASE,
		  "the IOAPIC, local APICs and firmware" },
	};
	const char *what = NULL;
	char mem[80] = "";
	unsigned int i;

	if (overlaps(win->addr, win->size, 0, l->low_size) ||
	    (l->high_size &&
	     overlaps(win->addr, win->size, X86_4G, l->high_size))) {
		what = "guest RAM";
		if (vmm_bridge_mem_below(win->addr))
			snprintf(mem, sizeof(mem), ", or give --mem %lluM or less",
				 (unsigned long long)vmm_bridge_mem_below(win->addr));
	}
	for (i = 0; !what && i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (overlaps(win->addr, win->size, fixed[i].base, fixed[i].len))
			what = fixed[i].what;
	if (!what)
		return 0;
	log_error("vmid %u: window %u of bridged device '%s' (0x%llx, %llu KiB) overlaps %s: move it into the free MMIO space 0x%llx..0x%llx in the device's overlay%s (" VMM_BRIDGE_EXAMPLE ")",
		  vmid, w, d->name, (unsigned long long)win->addr,
		  (unsigned long long)(win->size >> 10), what,
		  (unsigned long long)(X86_PCI_MMIO_BASE + X86_PCI_MMIO_SIZE),
		  (unsigned long long)X86_IOAPIC_BASE - 1, mem);
	return -1;
}

int x86_bridge_check_devices(const struct x86_layout *l, uint32_t vmid,
			     const struct bridge_fe_device *devs,
			     unsigned int n)
{
	const struct bridge_fe_device *d = devs;
	char names[160] = "";
	size_t len = 0;
	unsigned int i, w;

	if (!n)
		return 0;
	if (n > 1) {
		for (i = 0; i < n && len < sizeof(names); i++)
			len += snprintf(names + len, sizeof(names) - len, "%s'%s'",
					i ? ", " : "", devs[i].name);
		log_error("vmid %u: %u bridged devices are declared for it (%s); an x86 guest takes one bridged PCI host, in slots %u..%u of its bus 0: unload all but one (vbridge ctl unload) or declare the others for other vmids",
			  vmid, n, names, VMM_BRIDGE_FIRST_SLOT,
			  VMM_BRIDGE_FIRST_SLOT + VMM_BRIDGE_SLOTS - 1);
		return -1;
	}
	if (d->nr_windows < 2) {
		log_error("vmid %u: bridged device '%s' has %u window(s); a PCI host needs two: give its reg the ECAM window, then the BAR window (" VMM_BRIDGE_EXAMPLE ")",
			  vmid, d->name, d->nr_windows);
		return -1;
	}
	for (w = 0; w < d->nr_windows; w++)
		if (vmm_bridge_check_window(l, vmid, d, w))
			return -1;
	for (i = 0; i < d->nr_irqs; i++) {
		unsigned int gsi = d->irqs[i].num;

		if (gsi < PCI_X86_INTX_GSI_BASE || gsi >= VMM_NR_IRQS) {
			log_error("vmid %u: interrupt line %u of bridged device '%s' is GSI %u; on x86 bridged PCI interrupts are IOAPIC GSIs %u..%u: change its interrupts in the device's overlay (" VMM_BRIDGE_EXAMPLE ")",
				  vmid, i, d->name, gsi,
				  PCI_X86_INTX_GSI_BASE, VMM_NR_IRQS - 1);
			return -1;
		}
	}
	if (d->windows[0].size < VMM_BRIDGE_ECAM_SLOT) {
		log_error("vmid %u: the ECAM window of '%s' (%llu bytes) holds no whole slot: give it at least %u KiB, %u MiB for all %u slots (" VMM_BRIDGE_EXAMPLE ")",
			  vmid, d->name,
			  (unsigned long long)d->windows[0].size,
			  VMM_BRIDGE_ECAM_SLOT >> 10,
			  (VMM_BRIDGE_ECAM_SLOT * VMM_BRIDGE_SLOTS) >> 20,
			  VMM_BRIDGE_SLOTS);
		return -1;
	}
	return 0;
}

int arch_bridge_check_devices(struct vmm *vm, uint32_t vmid,
			      const struct bridge_fe_device *devs,
			      unsigned int n)
{
	return x86_bridge_check_devices(&vm->arch.layout, vmid, devs, n);
}

unsigned int arch_irq_routes_pins(const struct vmm *vm,
				  struct kvm_irq_routing_entry *e)
{
	return x86_irq_routes_pins(e);
}

/* Every function is on bus 0 of the one PCI segment: rid says nothing. */
int arch_bridge_msi_route(const struct vmm *vm, unsigned int idx, uint32_t rid,
			  uint64_t addr, uint32_t data,
			  struct kvm_irq_routing_entry *e, char *err,
			  size_t err_len)
{
	return x86_msi_route(addr, data, e, err, err_len);
}
