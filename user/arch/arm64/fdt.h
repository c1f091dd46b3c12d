/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device tree of the arm64 machine, built with libfdt from a
 * description (struct arm64_fdt_config) so that Linux and u-boot's
 * qemu_arm64 both accept it: root compatible "linux,dummy-virt" as QEMU's
 * virt board, #address-cells/#size-cells 2, memory, cpus with
 * enable-method "psci", PSCI 1.0 over HVC, the armv8 timer, a GICv2 or
 * GICv3 (with an optional ITS), PL011 UARTs, a PL031 RTC and a PL061 GPIO
 * on a 24 MHz apb_pclk fixed clock, a gpio-keys power key on that GPIO, a pci-host-ecam-generic host with an interrupt-map
 * of 32 slots x 4 pins, and /chosen (bootargs, stdout-path, initrd,
 * kaslr-seed, rng-seed).
 *
 * Interrupt specifiers are the GIC binding's three cells: type (0 SPI,
 * 1 PPI), number, flags (1 edge rising, 4 level high; for GICv2 PPIs the
 * CPU mask in bits 15:8).
 *
 * More nodes (bridged PCI hosts) are added by the caller's add_nodes hook,
 * called on the finished tree before it is packed;
 * arm64_fdt_add_bridge_host() is what that hook calls for each.
 */
#ifndef VBRIDGE_ARCH_ARM64_FDT_H
#define VBRIDGE_ARCH_ARM64_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/arm64/layout.h"

#define ARM64_FDT_MAX_CPUS	ARM64_GIC_REDIST_MAX_CPUS
#define ARM64_FDT_PHANDLE_GIC	1
#define ARM64_FDT_PHANDLE_CLK	2
#define ARM64_FDT_PHANDLE_ITS	3
#define ARM64_FDT_PHANDLE_GPIO	4
#define ARM64_FDT_PHANDLE_FIRST_FREE 16	/* for add_nodes */
/* The GIC's #address-cells (its ITS child is in the root's space). */
#define ARM64_FDT_GIC_ADDR_CELLS	2

#define ARM64_FDT_IRQ_SPI	0
#define ARM64_FDT_IRQ_PPI	1
#define ARM64_FDT_IRQ_EDGE	1
#define ARM64_FDT_IRQ_LEVEL	4

#define ARM64_APB_PCLK_HZ	24000000

/**
 * struct arm64_fdt_uart - one PL011.
 * @base: its 4 KiB register page
 * @spi: its interrupt (SPI number)
 */
struct arm64_fdt_uart {
	uint64_t base;
	uint32_t spi;
};

/**
 * struct arm64_fdt_pci - a pci-host-ecam-generic host.
 * @ecam_base: its ECAM window; its size follows from the bus range
 *	(1 MiB per bus)
 * @bus_first, @bus_last: bus-range
 * @mmio_base, @mmio_size: 32-bit non-prefetchable window, PCI address =
 *	CPU address
 * @mmio64_base, @mmio64_size: 64-bit prefetchable window (0 size: none)
 * @intx_spi: SPIs of INTA#..INTD# as slot 0 sees them; pin p (1-4) of
 *	slot s is wired to intx_spi[(s + p - 1) % 4] (the standard swizzle)
 * @domain: linux,pci-domain
 */
struct arm64_fdt_pci {
	uint64_t ecam_base;
	uint8_t bus_first, bus_last;
	uint64_t mmio_base, mmio_size;
	uint64_t mmio64_base, mmio64_size;
	uint32_t intx_spi[4];
	uint32_t domain;
};

/**
 * struct arm64_fdt_config - the machine the guest is told about.
 * @ram_base, @ram_size: RAM (one range)
 * @nr_cpus: vCPUs (1 .. ARM64_FDT_MAX_CPUS; at most 8 with GICv2)
 * @mpidr: each vCPU's MPIDR_EL1 (affinity bits only are used; Aff3 must
 *	be 0), as KVM reports it
 * @gic_version: 2 or 3
 * @gic_dist_base: distributor (64 KiB)
 * @gic_cpu_base: GICv2 CPU interface (8 KiB)
 * @gic_redist_base: GICv3 redistributors, ARM64_GIC_REDIST_STRIDE per vCPU
 * @gic_its_base: GICv3 ITS (128 KiB; 0: none).  With one, the PCI host
 *	gets msi-map to it
 * @uart, @nr_uarts: PL011s (0 .. ARM64_UART_MAX)
 * @stdout_uart: index in @uart of the console (/chosen stdout-path), -1
 *	for none
 * @has_rtc, @rtc_base, @rtc_spi: the PL031
 * @has_gpio, @gpio_base, @gpio_spi: the PL061 (node pl061@<base>)
 * @power_key_line: its line that is the power key: node /gpio-keys with
 *	one key, KEY_POWER, active high (-1: no such node)
 * @has_pci, @pci: the in-process PCI host
 * @bootargs: kernel command line (NULL: none)
 * @initrd_start, @initrd_end: the initrd, [start, end) (end 0: none)
 * @kaslr_seed: /chosen kaslr-seed (0: none)
 * @rng_seed, @rng_seed_len: /chosen rng-seed (0 length: none)
 * @add_nodes: called with the tree (read-write libfdt API, offsets valid
 *	for the call) after every other node is in; returns 0 or a negative
 *	libfdt error (-FDT_ERR_*).  NULL: nothing more
 * @opaque: its argument
 */
struct arm64_fdt_config {
	uint64_t ram_base, ram_size;
	unsigned int nr_cpus;
	uint64_t mpidr[ARM64_FDT_MAX_CPUS];
	unsigned int gic_version;
	uint64_t gic_dist_base;
	uint64_t gic_cpu_base;
	uint64_t gic_redist_base;
	uint64_t gic_its_base;
	struct arm64_fdt_uart uart[ARM64_UART_MAX];
	unsigned int nr_uarts;
	int stdout_uart;
	bool has_rtc;
	uint64_t rtc_base;
	uint32_t rtc_spi;
	bool has_gpio;
	uint64_t gpio_base;
	uint32_t gpio_spi;
	int power_key_line;
	bool has_pci;
	struct arm64_fdt_pci pci;
	const char *bootargs;
	uint64_t initrd_start, initrd_end;
	uint64_t kaslr_seed;
	const uint8_t *rng_seed;
	size_t rng_seed_len;
	int (*add_nodes)(void *fdt, void *opaque);
	void *opaque;
};

#define ARM64_FDT_BRIDGE_MAX_RANGES	7

/**
 * struct arm64_fdt_bridge_host - a bridged PCI host (vbridge run --vmid):
 *	a pci-host-ecam-generic node whose windows the device provider
 *	serves.
 * @ecam_base, @ecam_size: its ECAM window (1 MiB per bus; bus-range is
 *	0 .. @ecam_size / 1 MiB - 1, at most 255)
 * @nr_ranges, @range_base, @range_size: its BAR windows, PCI address =
 *	CPU address; one below 4 GiB is 32-bit non-prefetchable memory, one
 *	above 64-bit non-prefetchable
 * @nr_lines: interrupt lines (0: no interrupt-map)
 * @line_spi, @line_level: line n's SPI and whether it is level-triggered
 *	(level high; else edge rising).  Every pin of slot s is wired to line
 *	s mod @nr_lines, the line the provider drives for that slot
 * @domain: linux,pci-domain (distinct from the in-process host's)
 * @msi: its functions send MSIs through the ITS (which the device tree
 *	must have): msi-map from its bus 0's requester IDs to ITS device
 *	IDs @msi_devid_base on.  Without, they fall back to INTx.
 * @msi_devid_base: the ITS device ID of requester ID 0
 */
struct arm64_fdt_bridge_host {
	uint64_t ecam_base, ecam_size;
	unsigned int nr_ranges;
	uint64_t range_base[ARM64_FDT_BRIDGE_MAX_RANGES];
	uint64_t range_size[ARM64_FDT_BRIDGE_MAX_RANGES];
	unsigned int nr_lines;
	uint32_t line_spi[32];
	bool line_level[32];
	uint32_t domain;
	bool msi;
	uint32_t msi_devid_base;
};

/*
 * Add h as node pcie@<ecam_base> of the root of fdt (read-write libfdt
 * API).  Returns 0 or a negative libfdt error (-FDT_ERR_*).
 */
int arm64_fdt_add_bridge_host(void *fdt, const struct arm64_fdt_bridge_host *h);

/*
 * Fill c with the machine of layout.h: RAM at ARM64_RAM_BASE, nr_cpus
 * vCPUs with the MPIDRs KVM gives vCPU ids 0..nr_cpus-1 (Aff0 = id % 16,
 * Aff1 = id / 16), the GIC of that version at its place, nr_uarts UARTs
 * (UART 0 the console), the RTC, the GPIO with its power key, the PCI host on bus 0 with its ECAM,
 * 32-bit window and SPIs, domain 0.  The caller sets the rest (and the
 * MPIDRs KVM really reports, which it should read back).
 */
void arm64_fdt_default_config(struct arm64_fdt_config *c, uint64_t ram_size,
			      unsigned int nr_cpus, unsigned int gic_version,
			      unsigned int nr_uarts);

/*
 * Build the tree into buf (size bytes; ARM64_DTB_MAX is always enough
 * without add_nodes) and pack it.  Returns its size in bytes, or -EINVAL
 * (an impossible configuration) / -ENOSPC (buf too small) / another
 * -errno with a one-line reason in err.
 */
int arm64_fdt_build(const struct arm64_fdt_config *c, void *buf, size_t size,
		    char *err, size_t errlen);

/* The node path of the console UART ("/serial@9000000"), for messages. */
int arm64_fdt_uart_path(const struct arm64_fdt_uart *u, char *buf,
			size_t size);

#endif
