/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The x86_64 machine as the VMM core sees it (vmm/arch.h): a PC with the
 * in-kernel IOAPIC/PIC/PIT, a CF8/CFC PCI host bridge, an ACPI PM block,
 * a CMOS clock and up to four 16550s, booting a bzImage in 64-bit mode.
 */
#ifndef VBRIDGE_ARCH_X86_VMM_ARCH_H
#define VBRIDGE_ARCH_X86_VMM_ARCH_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"
#include "arch/x86/mptable.h"
#include "arch/x86/msi.h"
#include "arch/x86/pci.h"
#include "arch/x86/power.h"
#include "arch/x86/rtc.h"
#include "arch/x86/uart.h"
#include "vmm/serial.h"

#define VMM_ARCH_NAME		"x86_64"
#define VMM_ARCH_KERNEL		"BZIMAGE"
#define VMM_ARCH_MAX_CPUS	MPTABLE_MAX_CPUS
#define VMM_ARCH_RAM_MIN	X86_RAM_MIN
#define VMM_ARCH_RAM_MAX	X86_RAM_MAX
#define VMM_ARCH_NR_IRQS	24	/* pins of the in-kernel IOAPIC */
#define VMM_ARCH_IRQ_ROUTE_PINS	X86_IRQ_ROUTES_PINS	/* KVM_CREATE_IRQCHIP's */
/*
 * Bridge mode (vmm/bridge.h): the bridged host's slots join bus 0 behind
 * CF8/CFC, from slot VMM_BRIDGE_FIRST_SLOT on.
 */
#define VMM_ARCH_BRIDGE_OWN_HOST	0
#define VMM_ARCH_USAGE_PCI_HOST_DT	""

#define VMM_MAX_UARTS		4

/* What `vbridge run --help` says about this machine. */
#define VMM_ARCH_KERNEL_WHAT	"a bzImage"
#define VMM_ARCH_KERNEL_EX	"bzImage"
#define VMM_ARCH_CONSOLE	"ttyS0"
#define VMM_ARCH_USAGE_MACHINE \
"Boot a Linux guest on KVM (x86_64): a bzImage entered in 64-bit mode,\n" \
"SMP vCPUs, the in-kernel IOAPIC/PIC/PIT, an MP table, minimal ACPI for\n" \
"power-off and reset, a 16550 UART on ttyS0 (the guest console), and a\n" \
"PCI host bridge (configuration ports 0xcf8/0xcfc).\n"
#define VMM_ARCH_USAGE_KERNEL \
"  --kernel PATH     the guest kernel, a bzImage with a 64-bit entry\n" \
"                    (boot protocol 2.12 or later); or give it as the\n" \
"                    last argument. Required.\n" \
"                      --kernel /boot/vmlinuz-6.1.0-26-amd64\n"
#define VMM_ARCH_USAGE_BRIDGE \
"                    appear in slots 16..31 of PCI bus 0, beside the\n" \
"                    in-process ones;\n"
#define VMM_ARCH_USAGE_MEM \
" RAM above 3 GiB goes above\n" \
"                    4 GiB, past the 32-bit PCI hole."
#define VMM_ARCH_USAGE_SERIAL \
"Serial lines: without any --serial, ttyS0 (a 16550 at 0x3f8, IRQ 4) is\n" \
"the console on standard output and input. hardware=serial,num=1..4 are\n" \
"ttyS0..ttyS3 at 0x3f8, 0x2f8, 0x3e8, 0x2e8, for example\n" \
"  --serial hardware=serial,num=1,type=file,path=guest.log,console\n" \
"When a ttyS line reads a terminal, the terminal is put in raw mode: keys\n" \
"go to the guest; Ctrl-A x stops the VM, Ctrl-A Ctrl-A sends one Ctrl-A.\n"
#define VMM_ARCH_USAGE_CRASH	"a triple fault"
#define VMM_ARCH_USAGE_POWER_BUTTON \
"it presses the ACPI power button (the guest needs its ACPI\n"	\
"button driver and something, e.g. systemd-logind or acpid, acting on it)"

/* Where the firmware tables go (reserved in the e820 map). */
#define VMM_ACPI_ADDR		0xe0000ULL
#define VMM_ACPI_SIZE		0x10000ULL
#define VMM_MPTABLE_ADDR	0xf0000ULL
#define VMM_MPTABLE_SIZE	0x10000ULL

struct vmm;

/**
 * struct vmm_uart - a 16550 of the board.
 * @uart: the emulated chip
 * @port: first I/O port (0x3f8, 0x2f8, 0x3e8, 0x2e8)
 * @line: where its bytes go, its ISA IRQ (4 or 3)
 */
struct vmm_uart {
	struct uart uart;
	uint16_t port;
	struct vmm_serial line;
};

/**
 * struct vmm_arch - the x86 board.  Set up before the vCPUs start and
 * constant afterwards; the devices do their own locking.
 * @layout: where RAM is, the e820 map
 * @cpuid: KVM_GET_SUPPORTED_CPUID result, patched per vCPU
 * @pci: CF8/CFC host bridge
 * @power: PM1a block, i8042 reset
 * @rtc: CMOS clock
 * @nr_uarts: UARTs in @uarts
 * @uarts: the board's 16550s
 */
struct vmm_arch {
	struct x86_layout layout;
	struct kvm_cpuid2 *cpuid;
	struct pci_x86 pci;
	struct power power;
	struct rtc rtc;
	unsigned int nr_uarts;
	struct vmm_uart uarts[VMM_MAX_UARTS];
};

/**
 * struct vmm_arch_boot - the bzImage and where it goes.
 * @bz: its setup header
 * @plan: the guest-physical places of kernel, initrd and boot data
 */
struct vmm_arch_boot {
	struct bzimage bz;
	struct x86_boot_plan plan;
};

#endif
