/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ACPI tables of `vbridge run`: RSDP -> XSDT/RSDT -> FADT (-> FACS, DSDT)
 * and MADT.  What they describe:
 *
 *  - MADT: the local APICs, the IOAPIC, the SCI override and LINT1 NMI.
 *    Linux ignores the MP table as soon as ACPI is there, so SMP needs it.
 *  - DSDT: \_S5 (power-off through SLP_TYP | SLP_EN in PM1a_CNT) and the
 *    PCI root bridge \_SB.PCI0 with its windows (_CRS) and a static _PRT
 *    wiring every slot's INTA-D to IOAPIC pins.
 *  - FADT: the PM1a event/control ports, the SCI, the reset register.
 *
 * A guest booted with acpi=off gets the same machine from the MP table.
 */
#ifndef VBRIDGE_ARCH_X86_ACPI_H
#define VBRIDGE_ARCH_X86_ACPI_H

#include <stddef.h>
#include <stdint.h>

/* PM1 control register bits (ACPI 6.5, 4.8.3.2.1) */
#define ACPI_PM1_SCI_EN		0x0001
#define ACPI_PM1_SLP_TYP_SHIFT	10
#define ACPI_PM1_SLP_TYP_MASK	0x1c00
#define ACPI_PM1_SLP_EN		0x2000

#define ACPI_MAX_CPUS		254

/**
 * struct acpi_config - the machine the tables describe.
 * @nr_cpus: CPUs, APIC ids and processor UIDs 0 .. nr_cpus - 1
 * @lapic_addr: local APIC base address
 * @ioapic_id: the IOAPIC's id
 * @ioapic_addr: the IOAPIC's address (GSI base 0)
 * @pci_mmio_base: start of the PCI memory window of \_SB.PCI0
 * @pci_mmio_size: its size
 * @intx_gsi: GSI of a slot's (1..31) INTx pin (1 = INTA# .. 4 = INTD#)
 * @intx_ctx: first argument of @intx_gsi
 * @pm1a_evt: I/O port of the PM1a event block (status, enable: 4 bytes)
 * @pm1a_cnt: I/O port of the PM1a control block (2 bytes)
 * @reset_port: I/O port of the reset register
 * @reset_value: byte written there to reset
 * @sci_irq: ISA IRQ (and GSI) of the SCI
 * @s5_slp_typ: SLP_TYP value of \_S5 (0..7)
 */
struct acpi_config {
	unsigned int nr_cpus;
	uint32_t lapic_addr;
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
	uint32_t pci_mmio_base;
	uint32_t pci_mmio_size;
	unsigned int (*intx_gsi)(void *ctx, unsigned int slot, unsigned int pin);
	void *intx_ctx;
	uint16_t pm1a_evt;
	uint16_t pm1a_cnt;
	uint16_t reset_port;
	uint8_t reset_value;
	uint8_t sci_irq;
	uint8_t s5_slp_typ;
};

/*
 * Write the tables into buf, which the guest sees at gpa (16-byte
 * aligned, inside 0xe0000..0xfffff so Linux's RSDP scan finds it as
 * well).  The RSDP is at gpa.  Returns the bytes used, -ENOSPC when buf is
 * too small, -EINVAL for a configuration the tables cannot carry.
 */
int acpi_build(void *buf, size_t size, uint64_t gpa,
	       const struct acpi_config *cfg);

/* Sum of len bytes; a valid ACPI table sums to 0. */
uint8_t acpi_sum(const void *p, size_t len);

#endif
