/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Intel MultiProcessor Specification 1.4 table: CPUs (with their local APIC
 * ids), the IOAPIC, the ISA and PCI buses and how their interrupts reach
 * IOAPIC pins.  Linux reads it when there is no ACPI MADT, which is how
 * `vbridge run` describes SMP and interrupt routing.
 */
#ifndef VBRIDGE_ARCH_X86_MPTABLE_H
#define VBRIDGE_ARCH_X86_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#define MPTABLE_MAX_CPUS	254	/* xAPIC ids; 0xff is broadcast */
#define MPTABLE_BUS_PCI		0
#define MPTABLE_BUS_ISA		1

/* Entry types and I/O interrupt flags of the MP specification. */
#define MP_PROCESSOR		0
#define MP_BUS			1
#define MP_IOAPIC		2
#define MP_INTSRC		3
#define MP_LINTSRC		4
#define MP_IRQ_INT		0
#define MP_IRQ_NMI		1
#define MP_IRQ_EXTINT		3
#define MP_IRQ_LEVEL_HIGH	0x0d	/* trigger level (3 << 2), polarity high (1) */

/**
 * struct mptable_config - what the table describes.
 * @nr_cpus: CPUs, local APIC ids 0 .. nr_cpus - 1, CPU 0 the BSP
 * @cpu_signature: CPUID.1:EAX of the vCPUs (family/model/stepping)
 * @cpu_features: CPUID.1:EDX of the vCPUs
 * @ioapic_id: APIC id of the IOAPIC (must differ from every CPU's)
 * @ioapic_addr: guest-physical address of the IOAPIC
 * @intx_gsi: IOAPIC pin of PCI slot's INTx pin (1 = INTA# .. 4 = INTD#);
 *	every slot 1..31 gets four entries
 * @intx_ctx: first argument of @intx_gsi
 */
struct mptable_config {
	unsigned int nr_cpus;
	uint32_t cpu_signature;
	uint32_t cpu_features;
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
	unsigned int (*intx_gsi)(void *ctx, unsigned int slot, unsigned int pin);
	void *intx_ctx;
};

/*
 * Write the floating pointer structure followed by the configuration table
 * into buf, which the guest sees at gpa (16-byte aligned, below 1 MiB so
 * that Linux's scan finds it).  Returns the bytes used, or -ENOSPC when
 * size is too small, -EINVAL for a configuration the format cannot carry.
 */
int mptable_build(void *buf, size_t size, uint32_t gpa,
		  const struct mptable_config *cfg);

#endif
