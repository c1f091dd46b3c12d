/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The arm64 machine as the VMM core sees it (vmm/arch.h): QEMU virt's
 * memory map (RAM from 0x40000000, the low 128 MiB free for bridged
 * windows and firmware), the in-kernel GICv3 (or v2), PSCI through KVM,
 * PL011 UARTs, a PL031 clock, a PL061 GPIO with the power key and a
 * pci-host-ecam-generic host, described by
 * a device tree; an Image booted as Linux's arm64 boot protocol says, or
 * firmware (--bios) at 0.
 */
#ifndef VBRIDGE_ARCH_ARM64_VMM_ARCH_H
#define VBRIDGE_ARCH_ARM64_VMM_ARCH_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/arm64/image.h"
#include "arch/arm64/layout.h"
#include "arch/arm64/pci_host_dt.h"
#include "arch/arm64/pl011.h"
#include "arch/arm64/pl031.h"
#include "arch/arm64/pl061.h"
#include "vmm/serial.h"

#define VMM_ARCH_NAME		"arm64"
#define VMM_ARCH_KERNEL		"IMAGE"
#define VMM_ARCH_MAX_CPUS	8
#define VMM_ARCH_RAM_MIN	ARM64_RAM_MIN
#define VMM_ARCH_RAM_MAX	ARM64_RAM_MAX
#define ARM64_GIC_NR_IRQS	(32 + ARM64_GIC_NR_SPIS)	/* INTIDs the GIC has */
#define VMM_ARCH_NR_IRQS	(ARM64_GIC_NR_IRQS - 32)	/* SPIs */
/* The vGIC's default routes: GSI n on SPI n */
#define VMM_ARCH_IRQ_ROUTE_PINS	ARM64_GIC_NR_SPIS

#define VMM_MAX_UARTS		ARM64_UART_MAX

/*
 * Bridge mode (vmm/bridge.h): each bridged device is its own PCI host of
 * the device tree, its ECAM reached as forwarded MMIO; no bridged slot
 * joins the in-process host's bus 0.
 */
#define VMM_ARCH_BRIDGE_OWN_HOST	1
#define VMM_ARCH_USAGE_PCI_HOST_DT \
"  --pci-host-dt FILE  with --vmid: the guest's node of the bridged PCI host,\n" \
"                    written by hand (.dts/.dtsi, compiled with dtc, or a\n" \
"                    .dtbo), used instead of the generated one; &gic is\n" \
"                    this VM's GIC. Its reg must be a declared device's\n" \
"                    config window, its ranges inside that device's BAR\n" \
"                    windows, its interrupt-map on its declared lines\n" \
"                      --pci-host-dt dts/guest-arm64-cvm2rb-cam.dtsi\n"

/* What `vbridge run --help` says about this machine. */
#define VMM_ARCH_KERNEL_WHAT	"an arm64 Image"
#define VMM_ARCH_KERNEL_EX	"Image"
#define VMM_ARCH_CONSOLE	"ttyAMA0"
#define VMM_ARCH_USAGE_MACHINE \
"Boot a Linux guest on KVM (arm64): an Image as Linux's arm64 boot protocol\n" \
"says, or firmware with --bios; SMP vCPUs started with PSCI, the in-kernel\n" \
"GICv3 (GICv2 where the host has no v3), the architected timer, a PL011\n" \
"UART on ttyAMA0 (the guest console), a PL031 clock, a PL061 GPIO with a\n" \
"power key (gpio-keys) and a pci-host-ecam-generic PCI host, all described\n" \
"by a device tree. RAM starts at 0x40000000 as on QEMU's virt board; the\n" \
"low 128 MiB are left free.\n"
#define VMM_ARCH_USAGE_KERNEL \
"  --kernel PATH     the guest kernel, an uncompressed arm64 Image\n" \
"                    (Debian: linux-image-*-arm64-unsigned); or give it\n" \
"                    as the last argument. Required unless --bios is\n" \
"                    given.\n" \
"                      --kernel vmlinuz-6.1.0-26-arm64\n" \
"  --bios PATH       firmware loaded read-only at 0 and entered there with\n" \
"                    x0 = the device tree at the start of RAM, as on QEMU's\n" \
"                    virt board (u-boot's qemu_arm64/u-boot.bin)\n" \
"                      --bios /usr/lib/u-boot/qemu_arm64/u-boot.bin\n"
#define VMM_ARCH_USAGE_MEM	""
#define VMM_ARCH_USAGE_BRIDGE \
"                    appear as a PCI host of their own at the windows\n" \
"                    their overlay declares, beside the in-process one;\n"
#define VMM_ARCH_USAGE_SERIAL \
"Serial lines: without any --serial, ttyAMA0 (a PL011 at 0x9000000) is the\n" \
"console on standard output and input. hardware=serial,num=1..4 are\n" \
"ttyAMA0..ttyAMA3, PL011s at 0x9000000 + 0x1000 * n, for example\n" \
"  --serial hardware=serial,num=1,type=file,path=guest.log,console\n" \
"When a ttyAMA line reads a terminal, the terminal is put in raw mode: keys\n" \
"go to the guest; Ctrl-A x stops the VM, Ctrl-A Ctrl-A sends one Ctrl-A.\n"
#define VMM_ARCH_USAGE_CRASH	"an unhandled exit"
#define VMM_ARCH_USAGE_POWER_BUTTON \
"it presses the power key, a gpio-keys key (KEY_POWER) on the\n"	\
"PL061 GPIO (the guest needs its gpio-pl061 and gpio-keys drivers and\n" \
"something, e.g. systemd-logind or acpid, acting on it)"

struct vmm;

/**
 * struct vmm_uart - a PL011 of the board.
 * @uart: the emulated chip
 * @base: its MMIO base
 * @line: where its bytes go, its SPI
 */
struct vmm_uart {
	struct pl011 uart;
	uint64_t base;
	struct vmm_serial line;
};

/**
 * struct vmm_arch - the arm64 board.  Set up before the vCPUs start and
 * constant afterwards; the devices do their own locking.
 * @gic_fd: the in-kernel GIC's device fd
 * @gic_v3: it is a GICv3 (else a GICv2)
 * @ext_dabt: KVM can inject an external data abort
 * @rtc: the PL031
 * @gpio: the PL061, with the power key on ARM64_GPIO_POWER_LINE
 * @nr_uarts: UARTs in @uarts
 * @uarts: the board's PL011s
 * @bios_mem: --bios firmware's copy, mapped read-only into the guest at
 *	0, or NULL
 * @bios_map_size: bytes mapped at @bios_mem
 * @bios: the guest boots --bios firmware, mapped over the low 128 MiB
 *	(set by arch_boot_plan(), before bridged windows are checked)
 * @nisv_seen: per vCPU, an access without a syndrome was emulated (and
 *	said so with -v) (written by that vCPU's thread only)
 * @nisv_warned: per vCPU, one could not be emulated and was said so
 *	(written by that vCPU's thread only)
 */
struct vmm_arch {
	int gic_fd;
	bool gic_v3;
	int its_fd;
	bool ext_dabt;
	struct pl031 rtc;
	struct pl061 gpio;
	unsigned int nr_uarts;
	struct vmm_uart uarts[VMM_MAX_UARTS];
	uint8_t *bios_mem;
	size_t bios_map_size;
	bool bios;
	bool nisv_seen[VMM_ARCH_MAX_CPUS];
	bool nisv_warned[VMM_ARCH_MAX_CPUS];
	struct arm64_pci_host_dt pci_host_dt;
};

/**
 * struct vmm_arch_boot - the Image (or firmware) and where it goes.
 * @image: the Image's header
 * @plan: the guest-physical places of kernel, initrd and device tree
 */
struct vmm_arch_boot {
	struct arm64_image image;
	struct arm64_boot_plan plan;
};

#endif
