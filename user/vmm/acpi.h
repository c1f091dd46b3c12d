/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The smallest ACPI that lets a stock x86 Linux power the guest off and
 * reset it: RSDP -> XSDT/RSDT -> FADT -> FACS, DSDT.  The DSDT holds only
 * \_S5; there is deliberately no MADT, so Linux takes CPUs and interrupt
 * routing from the MP table (mptable.h), and the command line gets
 * pci=noacpi so PCI INTx routing comes from the MP table too.
 *
 * Power-off: Linux writes SLP_TYP(\_S5) | SLP_EN to the PM1a control
 * port.  Reset: the FADT reset register (an I/O port and a value).
 */
#ifndef VBRIDGE_VMM_ACPI_H
#define VBRIDGE_VMM_ACPI_H

#include <stddef.h>
#include <stdint.h>

/* PM1 control register bits (ACPI 6.5, 4.8.3.2.1) */
#define ACPI_PM1_SCI_EN		0x0001
#define ACPI_PM1_SLP_TYP_SHIFT	10
#define ACPI_PM1_SLP_TYP_MASK	0x1c00
#define ACPI_PM1_SLP_EN		0x2000

/**
 * struct acpi_config - the fixed hardware the tables describe.
 * @pm1a_evt: I/O port of the PM1a event block (status, enable: 4 bytes)
 * @pm1a_cnt: I/O port of the PM1a control block (2 bytes)
 * @reset_port: I/O port of the reset register
 * @reset_value: byte written there to reset
 * @sci_irq: ISA IRQ of the SCI
 * @s5_slp_typ: SLP_TYP value of \_S5 (0..7)
 */
struct acpi_config {
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
 * well).  The RSDP is at gpa.  Returns the bytes used, or -ENOSPC.
 */
int acpi_build(void *buf, size_t size, uint64_t gpa,
	       const struct acpi_config *cfg);

/* Sum of len bytes; a valid ACPI table sums to 0. */
uint8_t acpi_sum(const void *p, size_t len);

#endif
