/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The arm64 guest-physical address map of `vbridge run`.  RAM starts where
 * QEMU's virt board has it, so firmware built for that board (Debian's
 * u-boot-qemu qemu_arm64) runs; the devices sit where virt puts them; the
 * low 128 MiB stay free for bridged windows (the configuration guide's
 * ECAM at 0x10000 and BARs at 0x01010000) or for --bios firmware at 0.
 *
 *   0x0000_0000  free: bridged windows, or --bios firmware (read-only)
 *   0x0800_0000  GIC distributor (64 KiB)
 *   0x0801_0000  GICv2 CPU interface (8 KiB; v2 only)
 *   0x0808_0000  GICv3 ITS (128 KiB; v3 with ITS only)
 *   0x080a_0000  GICv3 redistributors, 128 KiB per vCPU, up to 123
 *   0x0900_0000  PL011 UART n (n = 0..3) at + n * 4 KiB
 *   0x0901_0000  PL031 RTC (4 KiB)
 *   0x0903_0000  PL061 GPIO (4 KiB): line 3 is the power key
 *   0x1000_0000  32-bit MMIO window of the in-process PCI host (BARs)
 *   0x3f00_0000  ECAM of the in-process PCI host (16 MiB: buses 0-15)
 *   0x4000_0000  RAM
 *
 * Interrupts (GIC SPI numbers, as the device tree writes them; INTID is
 * SPI + 32):
 *
 *   SPI 1        UART 0 (the console)
 *   SPI 2        RTC
 *   SPI 3-31     free: the configuration guide's bridged devices use them
 *   SPI 32-35    INTA#-INTD# of the in-process PCI host (swizzled)
 *   SPI 36-38    UARTs 1-3
 *   SPI 39       GPIO (QEMU virt's SPI 7 is a bridged device's here)
 *
 * PPIs (the armv8 timer): 13 secure phys, 14 non-secure phys, 11 virt,
 * 10 hyp phys, as on QEMU's virt board.
 *
 * Only constants: this header is compiled (and unit-tested) on any host.
 */
#ifndef VBRIDGE_ARCH_ARM64_LAYOUT_H
#define VBRIDGE_ARCH_ARM64_LAYOUT_H

#define ARM64_SZ_4K			0x1000ULL
#define ARM64_SZ_64K			0x10000ULL
#define ARM64_SZ_2M			0x200000ULL
#define ARM64_SZ_1G			0x40000000ULL

/* Bridged windows and --bios firmware. */
#define ARM64_LOW_FREE_BASE		0x00000000ULL
#define ARM64_LOW_FREE_SIZE		0x08000000ULL	/* 128 MiB */
#define ARM64_BIOS_BASE			ARM64_LOW_FREE_BASE
#define ARM64_BIOS_MAX			ARM64_LOW_FREE_SIZE

/* GIC */
#define ARM64_GIC_DIST_BASE		0x08000000ULL
#define ARM64_GIC_DIST_SIZE		0x00010000ULL
#define ARM64_GIC_CPU_BASE		0x08010000ULL	/* GICv2 */
#define ARM64_GIC_CPU_SIZE		0x00002000ULL
#define ARM64_GIC_ITS_BASE		0x08080000ULL	/* GICv3 ITS */
#define ARM64_GIC_ITS_SIZE		0x00020000ULL
/* Where an MSI's store goes: the ITS's GITS_TRANSLATER register. */
#define ARM64_GITS_TRANSLATER		(ARM64_GIC_ITS_BASE + 0x10040)
/*
 * ITS device IDs per PCI host: a requester ID of its bus 0 (the only bus
 * of any host here).  The in-process host has IDs 0..0xff, bridged host
 * i (vmm_bridge_device() order) 0x100 * (i + 1) on; KVM's ITS takes
 * 16-bit device IDs, so bridged hosts from the 255th on get no MSIs.
 */
#define ARM64_ITS_DEVID_SPAN		0x100
#define ARM64_ITS_BRIDGE_HOSTS		255
#define ARM64_GIC_REDIST_BASE		0x080a0000ULL	/* GICv3 */
#define ARM64_GIC_REDIST_STRIDE		0x00020000ULL	/* per vCPU */
#define ARM64_GIC_REDIST_REGION		0x00f60000ULL	/* to 0x09000000 */
#define ARM64_GIC_REDIST_MAX_CPUS	\
	(ARM64_GIC_REDIST_REGION / ARM64_GIC_REDIST_STRIDE)	/* 123 */
#define ARM64_GICV2_MAX_CPUS		8

/* PL011 UARTs: UART n at ARM64_UART_BASE + n * ARM64_UART_SIZE. */
#define ARM64_UART_BASE			0x09000000ULL
#define ARM64_UART_SIZE			0x00001000ULL
#define ARM64_UART_MAX			4
#define ARM64_UART0_SPI			1
#define ARM64_UART1_SPI			36	/* UART n >= 1: 35 + n */

/* PL031 RTC */
#define ARM64_RTC_BASE			0x09010000ULL
#define ARM64_RTC_SIZE			0x00001000ULL
#define ARM64_RTC_SPI			2

/*
 * PL061 GPIO at QEMU virt's address, its line 3 the power key (gpio-keys,
 * KEY_POWER) as there; its SPI is one no bridged device uses.
 */
#define ARM64_GPIO_BASE			0x09030000ULL
#define ARM64_GPIO_SIZE			0x00001000ULL
#define ARM64_GPIO_SPI			39
#define ARM64_GPIO_POWER_LINE		3

/* Free SPIs for bridged devices (the guide's 3 ... 0x1f). */
#define ARM64_BRIDGE_SPI_FIRST		3
#define ARM64_BRIDGE_SPI_LAST		31
/* The in-kernel GIC is made with 128 INTIDs: 32 private, then SPIs. */
#define ARM64_GIC_NR_SPIS		96
/* The guest-physical space (KVM's default IPA size). */
#define ARM64_IPA_LIMIT			(1ULL << 40)

/* The in-process PCI host (pci-host-ecam-generic). */
#define ARM64_PCI_MMIO_BASE		0x10000000ULL
#define ARM64_PCI_MMIO_SIZE		0x2f000000ULL	/* to 0x3effffff */
#define ARM64_PCI_ECAM_BASE		0x3f000000ULL
#define ARM64_PCI_ECAM_SIZE		0x01000000ULL	/* 16 buses */
#define ARM64_PCI_ECAM_BUS_SIZE		0x00100000ULL	/* 1 MiB per bus */
#define ARM64_PCI_INTX_SPI		32	/* INTA#; INTB#-INTD# follow */

/* RAM */
#define ARM64_RAM_BASE			0x40000000ULL
#define ARM64_RAM_MIN			(64ULL << 20)
/* With KVM's default 40-bit IPA space. */
#define ARM64_RAM_MAX			(ARM64_IPA_LIMIT - ARM64_RAM_BASE)

/* Timer PPIs (GIC PPI numbers; INTID is PPI + 16). */
#define ARM64_TIMER_PPI_SEC		13
#define ARM64_TIMER_PPI_PHYS		14
#define ARM64_TIMER_PPI_VIRT		11
#define ARM64_TIMER_PPI_HYP		10

/* SPI of UART n (0 .. ARM64_UART_MAX - 1). */
#define ARM64_UART_SPI(n)	((n) ? ARM64_UART1_SPI + (n) - 1 : ARM64_UART0_SPI)
#define ARM64_UART_ADDR(n)	(ARM64_UART_BASE + (unsigned long long)(n) * ARM64_UART_SIZE)

#endif
