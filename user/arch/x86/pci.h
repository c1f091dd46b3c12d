/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The x86 PCI host bridge: configuration mechanism #1 (address latch at
 * port 0xcf8, data at 0xcfc..0xcff), the host bridge function 00:00.0
 * itself (Linux's type-1 probe wants to see one), the reset control
 * register at 0xcf9, and the board wiring of PCI INTx to IOAPIC pins.
 *
 * Every other function of bus 0 is reached through struct pci_cfg_ops
 * (the device model's pci_bus_cfg_read/write in the VMM).
 */
#ifndef VBRIDGE_ARCH_X86_PCI_H
#define VBRIDGE_ARCH_X86_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "pci/pci.h"
#include "vmm/iobus.h"

#define PCI_X86_CONF_PORT	0xcf8
#define PCI_X86_CONF_PORTS	8		/* 0xcf8..0xcff */
#define PCI_X86_RESET_PORT	0xcf9
#define PCI_X86_RESET_CPU	0x04		/* RST_CPU bit of 0xcf9 */
#define PCI_X86_ENABLE		0x80000000u

/* Host bridge identity: Red Hat's ID for a virtual machine's host bridge. */
#define PCI_X86_HB_VENDOR	0x1b36
#define PCI_X86_HB_DEVICE	0x0008

/* PCI INTx lines are wired to IOAPIC pins 16..23. */
#define PCI_X86_INTX_GSI_BASE	16
#define PCI_X86_INTX_GSIS	8

/**
 * struct pci_x86 - the host bridge.
 * @lock: protects @addr and @reset_reg
 * @addr: the 0xcf8 address latch
 * @reset_reg: last value written to 0xcf9
 * @ops: functions other than 00:00.0 (NULL: none) (constant)
 * @ctx: argument of @ops (constant)
 * @reset: called when the guest asks for a reset through 0xcf9 (constant)
 * @reset_ctx: argument of @reset (constant)
 */
struct pci_x86 {
	pthread_mutex_t lock;
	uint32_t addr;
	uint8_t reset_reg;
	const struct pci_cfg_ops *ops;
	void *ctx;
	void (*reset)(void *ctx);
	void *reset_ctx;
};

void pci_x86_init(struct pci_x86 *p, const struct pci_cfg_ops *ops, void *ctx,
		  void (*reset)(void *ctx), void *reset_ctx);
void pci_x86_destroy(struct pci_x86 *p);

/* I/O handler of ports 0xcf8..0xcff (register with io_bus_add). */
io_handler_fn pci_x86_io;

/*
 * Decode a data-port access: the latched address addr, byte port_off
 * (0..3) of the data port, len bytes.  Returns true and sets devfn and reg
 * when the access is a valid configuration cycle on bus 0; false when it
 * is disabled, on another bus, misaligned or crosses the dword.
 */
bool pci_x86_decode(uint32_t addr, unsigned int port_off, unsigned int len,
		    unsigned int *devfn, unsigned int *reg);

/* IOAPIC pin of INTx pin (1 = INTA# .. 4 = INTD#) of a slot (1..31). */
unsigned int pci_x86_intx_gsi(unsigned int slot, unsigned int pin);

#endif
