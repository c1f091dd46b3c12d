// SPDX-License-Identifier: GPL-2.0
/* Bridge mode on arm64, the pure part: see bridge_host.h. */
#include "arch/arm64/bridge_host.h"

#include <stdio.h>
#include <string.h>

#include "arch/arm64/layout.h"
#include "bridge/frontend.h"

/* Does [addr, addr + size) overlap [base, base + len)? */
static bool overlaps(uint64_t addr, uint64_t size, uint64_t base, uint64_t len)
{
	return addr < base + len && base < addr + size;
}

/* What window w of d overlaps on board b, or NULL. */
static const char *arm64_bridge_window_clash(const struct arm64_bridge_board *b,
					     const struct vbridge_window *win)
{
	static const struct {
		uint64_t base, len;
		const char *what;
	} fixed[] = {
		{ ARM64_GIC_DIST_BASE, ARM64_UART_BASE - ARM64_GIC_DIST_BASE,
		  "the GIC (distributor, CPU interface, ITS, redistributors)" },
		{ ARM64_UART_BASE, ARM64_UART_MAX * ARM64_UART_SIZE,
		  "the PL011 UARTs" },
		{ ARM64_RTC_BASE, ARM64_RTC_SIZE, "the PL031 RTC" },
		{ ARM64_GPIO_BASE, ARM64_GPIO_SIZE, "the PL061 GPIO" },
		{ ARM64_PCI_MMIO_BASE, ARM64_PCI_MMIO_SIZE,
		  "the in-process PCI host's BAR window" },
		{ ARM64_PCI_ECAM_BASE, ARM64_PCI_ECAM_SIZE,
		  "the in-process PCI host's ECAM" },
	};
	unsigned int i;

	if (b->bios && overlaps(win->addr, win->size, ARM64_BIOS_BASE,
				ARM64_BIOS_MAX))
		return "the --bios firmware (read-only, the low 128 MiB)";
	if (overlaps(win->addr, win->size, b->ram_base, b->ram_size))
		return "guest RAM";
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (overlaps(win->addr, win->size, fixed[i].base, fixed[i].len))
			return fixed[i].what;
	return NULL;
}

/* What the board uses SPI spi for, or NULL when it is free. */
static const char *arm64_bridge_spi_user(uint32_t spi)
{
	unsigned int i;

	if (spi == ARM64_RTC_SPI)
		return "the RTC's";
	if (spi == ARM64_GPIO_SPI)
		return "the GPIO's";
	for (i = 0; i < ARM64_UART_MAX; i++)
		if (spi == ARM64_UART_SPI(i))
			return "a UART's";
	if (spi >= ARM64_PCI_INTX_SPI && spi < ARM64_PCI_INTX_SPI + 4)
		return "the in-process PCI host's";
	return NULL;
}

int arm64_bridge_check(const struct arm64_bridge_board *b, uint32_t vmid,
		       const struct bridge_fe_device *devs, unsigned int n,
		       char *err, size_t err_len)
{
	uint64_t ram_end = b->ram_base + b->ram_size;
	char free_space[160];
	unsigned int i, j, k, l, w;

	if (b->bios)
		snprintf(free_space, sizeof(free_space),
			 "0x%llx..0x%llx (above RAM; with --bios the low 128 MiB are the firmware's)",
			 (unsigned long long)ram_end,
			 (unsigned long long)ARM64_IPA_LIMIT - 1);
	else
		snprintf(free_space, sizeof(free_space),
			 "0x%llx..0x%llx or above RAM, 0x%llx..0x%llx",
			 (unsigned long long)ARM64_LOW_FREE_BASE,
			 (unsigned long long)(ARM64_LOW_FREE_BASE +
					      ARM64_LOW_FREE_SIZE - 1),
			 (unsigned long long)ram_end,
			 (unsigned long long)ARM64_IPA_LIMIT - 1);
	for (i = 0; i < n; i++) {
		const struct bridge_fe_device *d = &devs[i];

		if (d->nr_windows < 2) {
			snprintf(err, err_len, "vmid %u: bridged device '%s' has %u window(s); a PCI host needs two: give its reg the ECAM window, then the BAR window (" ARM64_BRIDGE_EXAMPLE ")",
				 vmid, d->name, d->nr_windows);
			return -1;
		}
		if (d->windows[0].size < ARM64_PCI_ECAM_BUS_SIZE) {
			snprintf(err, err_len, "vmid %u: the ECAM window of '%s' (%llu KiB) does not hold bus 0: give it at least 1 MiB, 1 MiB per bus (" ARM64_BRIDGE_EXAMPLE ")",
				 vmid, d->name,
				 (unsigned long long)(d->windows[0].size >> 10));
			return -1;
		}
		for (w = 0; w < d->nr_windows; w++) {
			const struct vbridge_window *win = &d->windows[w];
			const char *what = arm64_bridge_window_clash(b, win);
			char other[VBRIDGE_NAME_MAX + 40];

			if (!what && (win->addr + win->size < win->addr ||
				      win->addr + win->size > ARM64_IPA_LIMIT))
				what = "the end of the 40-bit guest-physical space";
			for (j = 0; !what && j <= i; j++)
				for (k = 0; k < devs[j].nr_windows &&
				     (j < i || k < w); k++)
					if (overlaps(win->addr, win->size,
						     devs[j].windows[k].addr,
						     devs[j].windows[k].size)) {
						snprintf(other, sizeof(other),
							 "window %u of '%s'", k,
							 devs[j].name);
						what = other;
						break;
					}
			if (!what)
				continue;
			snprintf(err, err_len, "vmid %u: window %u of bridged device '%s' (0x%llx, %llu KiB) overlaps %s: move it into the free MMIO space %s in the device's overlay (" ARM64_BRIDGE_EXAMPLE ")",
				 vmid, w, d->name, (unsigned long long)win->addr,
				 (unsigned long long)(win->size >> 10), what,
				 free_space);
			return -1;
		}
		for (l = 0; l < d->nr_irqs; l++) {
			uint32_t spi = d->irqs[l].num;
			const char *user = arm64_bridge_spi_user(spi);
			char other[VBRIDGE_NAME_MAX + 40];

			if (spi >= ARM64_GIC_NR_SPIS) {
				snprintf(err, err_len, "vmid %u: interrupt line %u of bridged device '%s' is SPI %u; this GIC has SPIs 0..%u: change its interrupts in the device's overlay (" ARM64_BRIDGE_EXAMPLE ")",
					 vmid, l, d->name, spi,
					 ARM64_GIC_NR_SPIS - 1);
				return -1;
			}
			for (j = 0; !user && j < i; j++)
				for (k = 0; k < devs[j].nr_irqs; k++)
					if (devs[j].irqs[k].num == spi) {
						snprintf(other, sizeof(other),
							 "line %u of '%s''s", k,
							 devs[j].name);
						user = other;
						break;
					}
			if (user) {
				snprintf(err, err_len, "vmid %u: interrupt line %u of bridged device '%s' is SPI %u, %s: give it a free SPI, %u..%u or %u..%u, in the device's overlay (" ARM64_BRIDGE_EXAMPLE ")",
					 vmid, l, d->name, spi, user,
					 ARM64_BRIDGE_SPI_FIRST,
					 ARM64_BRIDGE_SPI_LAST,
					 ARM64_GPIO_SPI + 1,	/* after UARTs 1-3 */
					 ARM64_GIC_NR_SPIS - 1);
				return -1;
			}
		}
	}
	return 0;
}

void arm64_bridge_host_desc(const struct bridge_fe_device *d, unsigned int idx,
			    bool its, struct arm64_fdt_bridge_host *h)
{
	unsigned int i;

	memset(h, 0, sizeof(*h));
	h->ecam_base = d->windows[0].addr;
	h->ecam_size = d->windows[0].size;
	for (i = 1; i < d->nr_windows &&
	     h->nr_ranges < ARM64_FDT_BRIDGE_MAX_RANGES; i++) {
		h->range_base[h->nr_ranges] = d->windows[i].addr;
		h->range_size[h->nr_ranges++] = d->windows[i].size;
	}
	for (i = 0; i < d->nr_irqs && i < 32; i++) {
		h->line_spi[i] = d->irqs[i].num;
		h->line_level[i] = d->irqs[i].flags & VBRIDGE_IRQ_F_LEVEL;
	}
	h->nr_lines = i;
	h->domain = ARM64_BRIDGE_DOMAIN_FIRST + idx;
	h->msi = its && idx < ARM64_ITS_BRIDGE_HOSTS;
	h->msi_devid_base = h->msi ? ARM64_ITS_DEVID_SPAN * (idx + 1) : 0;
}

unsigned int arm64_irq_routes_pins(struct kvm_irq_routing_entry *e)
{
	unsigned int i;

	memset(e, 0, ARM64_GIC_NR_SPIS * sizeof(*e));
	for (i = 0; i < ARM64_GIC_NR_SPIS; i++) {
		e[i].gsi = i;
		e[i].type = KVM_IRQ_ROUTING_IRQCHIP;
		e[i].u.irqchip.irqchip = 0;
		e[i].u.irqchip.pin = i;
	}
	return i;
}

/* The checks and route of both kinds, the ITS device ID given. */
static int its_msi_route(bool its, uint32_t devid, uint32_t rid, uint64_t addr,
			 uint32_t data, struct kvm_irq_routing_entry *e,
			 char *err, size_t err_len)
{
	if (!its) {
		snprintf(err, err_len, "this VM has no ITS (a GICv2, or a KVM without ITS emulation): its PCI functions use INTx");
		return -1;
	}
	if (rid >= ARM64_ITS_DEVID_SPAN) {
		snprintf(err, err_len, "requester ID 0x%x is not on bus 0, the only bus with MSIs",
			 rid);
		return -1;
	}
	if (addr != ARM64_GITS_TRANSLATER) {
		snprintf(err, err_len, "address 0x%llx is not the ITS's GITS_TRANSLATER (0x%llx)",
			 (unsigned long long)addr,
			 (unsigned long long)ARM64_GITS_TRANSLATER);
		return -1;
	}
	memset(e, 0, sizeof(*e));
	e->type = KVM_IRQ_ROUTING_MSI;
	e->flags = KVM_MSI_VALID_DEVID;
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = addr >> 32;
	e->u.msi.data = data;
	e->u.msi.devid = devid + rid;
	return 0;
}

int arm64_bridge_msi_route(bool its, unsigned int idx, uint32_t rid,
			   uint64_t addr, uint32_t data,
			   struct kvm_irq_routing_entry *e, char *err,
			   size_t err_len)
{
	if (its && idx >= ARM64_ITS_BRIDGE_HOSTS) {
		snprintf(err, err_len, "bridged host %u has no ITS device IDs (the first %u hosts have): its functions use INTx",
			 idx, ARM64_ITS_BRIDGE_HOSTS);
		return -1;
	}
	return its_msi_route(its, ARM64_ITS_DEVID_SPAN * (idx + 1), rid, addr,
			     data, e, err, err_len);
}

int arm64_pci_msi_route(bool its, unsigned int devfn, uint64_t addr,
			uint32_t data, struct kvm_irq_routing_entry *e,
			char *err, size_t err_len)
{
	return its_msi_route(its, 0, devfn, addr, data, e, err, err_len);
}
