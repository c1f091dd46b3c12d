// SPDX-License-Identifier: GPL-2.0
/* PCI configuration mechanism #1 and the host bridge of `vbridge run`. */
#include "arch/x86/pci.h"

#include <string.h>

#define PCI_CLASS_BRIDGE_HOST	0x060000

void pci_x86_init(struct pci_x86 *p, const struct pci_cfg_ops *ops, void *ctx,
		  void (*reset)(void *ctx), void *reset_ctx)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->ops = ops;
	p->ctx = ctx;
	p->reset = reset;
	p->reset_ctx = reset_ctx;
}

void pci_x86_destroy(struct pci_x86 *p)
{
	pthread_mutex_destroy(&p->lock);
}

bool pci_x86_decode(uint32_t addr, unsigned int port_off, unsigned int len,
		    unsigned int *devfn, unsigned int *reg)
{
	unsigned int r;

	if (!(addr & PCI_X86_ENABLE) || ((addr >> 16) & 0xff) != 0)
		return false;
	if (port_off > 3 || (len != 1 && len != 2 && len != 4) ||
	    port_off % len)
		return false;
	r = (addr & 0xfc) + port_off;
	*devfn = (addr >> 8) & 0xff;
	*reg = r;
	return true;
}

unsigned int pci_x86_intx_gsi(unsigned int slot, unsigned int pin)
{
	/* The usual board swizzle, so INTA# of neighbours do not share. */
	return PCI_X86_INTX_GSI_BASE + (slot + pin - 1) % PCI_X86_INTX_GSIS;
}

/* Config space of the host bridge, 00:00.0: identity only, read-only. */
static uint32_t host_bridge_read(unsigned int reg, unsigned int len)
{
	uint8_t cfg[64] = { 0 };
	uint32_t v = 0;
	unsigned int i;

	cfg[0x00] = PCI_X86_HB_VENDOR & 0xff;
	cfg[0x01] = PCI_X86_HB_VENDOR >> 8;
	cfg[0x02] = PCI_X86_HB_DEVICE & 0xff;
	cfg[0x03] = PCI_X86_HB_DEVICE >> 8;
	cfg[0x09] = PCI_CLASS_BRIDGE_HOST & 0xff;		/* prog-if */
	cfg[0x0a] = (PCI_CLASS_BRIDGE_HOST >> 8) & 0xff;	/* subclass */
	cfg[0x0b] = PCI_CLASS_BRIDGE_HOST >> 16;		/* class */
	cfg[0x2c] = PCI_X86_HB_VENDOR & 0xff;		/* subsystem vendor */
	cfg[0x2d] = PCI_X86_HB_VENDOR >> 8;
	cfg[0x2e] = PCI_X86_HB_DEVICE & 0xff;
	cfg[0x2f] = PCI_X86_HB_DEVICE >> 8;

	for (i = 0; i < len; i++)
		if (reg + i < sizeof(cfg))
			v |= (uint32_t)cfg[reg + i] << (8 * i);
	return v;
}

static uint64_t len_mask(unsigned int len)
{
	return len >= 8 ? ~0ULL : (1ULL << (8 * len)) - 1;
}

static void pci_x86_data(struct pci_x86 *p, uint32_t addr, struct io_access *a)
{
	unsigned int devfn, reg;

	if (!pci_x86_decode(addr, a->off - 4, a->len, &devfn, &reg)) {
		if (!a->write)
			a->val = len_mask(a->len);
		return;
	}
	if (devfn == 0) {
		if (!a->write)
			a->val = host_bridge_read(reg, a->len);
		return;
	}
	if (!p->ops) {
		if (!a->write)
			a->val = len_mask(a->len);
		return;
	}
	if (a->write)
		p->ops->write(p->ctx, devfn, reg, a->len,
			      (uint32_t)(a->val & len_mask(a->len)));
	else
		a->val = p->ops->read(p->ctx, devfn, reg, a->len) &
			 len_mask(a->len);
}

void pci_x86_io(void *opaque, struct io_access *a)
{
	struct pci_x86 *p = opaque;
	bool do_reset = false;
	uint32_t addr;

	pthread_mutex_lock(&p->lock);
	if (a->off == 0 && a->len == 4) {
		if (a->write)
			p->addr = (uint32_t)a->val;
		else
			a->val = p->addr;
		pthread_mutex_unlock(&p->lock);
		return;
	}
	if (a->off == 1 && a->len == 1) {
		/* 0xcf9, the reset control register of PC chipsets */
		if (a->write) {
			p->reset_reg = a->val & 0xff;
			do_reset = a->val & PCI_X86_RESET_CPU;
		} else {
			a->val = p->reset_reg;
		}
		pthread_mutex_unlock(&p->lock);
		if (do_reset && p->reset)
			p->reset(p->reset_ctx);
		return;
	}
	addr = p->addr;
	pthread_mutex_unlock(&p->lock);

	if (a->off < 4) {
		/* other partial accesses to the latch: ignored */
		if (!a->write)
			a->val = len_mask(a->len);
		return;
	}
	pci_x86_data(p, addr, a);
}
