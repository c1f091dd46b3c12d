/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `vbridge run`: one x86_64 KVM virtual machine.
 *
 * Threads: the main thread sets everything up, then waits (signals,
 * console input, the end of the guest); one thread per vCPU runs KVM_RUN
 * and dispatches exits through the io_bus tables; the device model may run
 * I/O threads of its own.  The VM ends when a vCPU or the main thread
 * calls vmm_request_exit(): the first reason wins, the main thread kicks
 * every vCPU out of KVM_RUN (immediate_exit + a signal) and joins them.
 */
#ifndef VBRIDGE_VMM_VMM_H
#define VBRIDGE_VMM_VMM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/guest_mem.h"
#include "pci/pci.h"
#include "vmm/iobus.h"
#include "arch/x86/layout.h"
#include "arch/x86/pci.h"
#include "arch/x86/power.h"
#include "arch/x86/rtc.h"
#include "arch/x86/uart.h"

#define VMM_MAX_UARTS	4
#define VMM_NR_GSIS	24	/* pins of the in-kernel IOAPIC */

/* Where the firmware tables go (reserved in the e820 map). */
#define VMM_ACPI_ADDR		0xe0000ULL
#define VMM_ACPI_SIZE		0x10000ULL
#define VMM_MPTABLE_ADDR	0xf0000ULL
#define VMM_MPTABLE_SIZE	0x10000ULL

/* Why the VM ended; the first one reported wins. */
enum vmm_exit {
	VMM_RUNNING = 0,
	VMM_EXIT_POWEROFF,	/* guest powered off: status 0 */
	VMM_EXIT_RESET,		/* guest reset itself: status 0 */
	VMM_EXIT_STOPPED,	/* SIGINT/SIGTERM or console escape: status 0 */
	VMM_EXIT_CRASH,		/* triple fault, KVM error: status 1 */
};

struct vmm;
struct vmm_bridge;

/**
 * struct vcpu - one virtual CPU and its thread.
 * @vm: the machine
 * @id: vCPU index = local APIC id
 * @fd: KVM vCPU fd
 * @run: the shared kvm_run page(s) of @fd
 * @run_size: bytes mapped at @run
 * @thread: the thread running KVM_RUN
 * @started: @thread exists
 */
struct vcpu {
	struct vmm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
};

/**
 * struct vmm_uart - a 16550 of the board and where its bytes go.
 * @uart: the emulated chip
 * @port: first I/O port (0x3f8, 0x2f8, 0x3e8, 0x2e8)
 * @irq: ISA IRQ (4 or 3)
 * @out_fd: output fd (owned when @own_fd), -1 for a sink
 * @own_fd: @out_fd was opened for this UART and is closed with it
 * @in: receives standard input
 * @vm: back pointer for the IRQ callback
 */
struct vmm_uart {
	struct uart uart;
	uint16_t port;
	uint8_t irq;
	int out_fd;
	bool own_fd;
	bool in;
	struct vmm *vm;
};

/**
 * struct vmm - the machine.  Fields are set up before the vCPUs start and
 * constant afterwards unless stated otherwise.
 * @kvm_fd: /dev/kvm
 * @vm_fd: the KVM VM
 * @mem_fd: memfd holding all of guest RAM (sealed against resizing)
 * @ram: @mem_fd mapped, @layout.ram_size bytes
 * @layout: guest-physical memory map
 * @mem: @ram as guest memory regions, for the device model and loaders
 * @pio: port I/O dispatch table
 * @mmio: MMIO dispatch table
 * @cpuid: KVM_GET_SUPPORTED_CPUID result, patched per vCPU
 * @nr_vcpus: vCPUs in @vcpus
 * @vcpus: the vCPUs
 * @pci: CF8/CFC host bridge
 * @power: PM1a block, i8042 reset
 * @rtc: CMOS clock
 * @nr_uarts: UARTs in @uarts
 * @uarts: the board's 16550s
 * @host: the in-process PCI host the device model sees (host.c)
 * @bus: PCI bus 0 behind the CF8/CFC host bridge, or NULL
 * @bridge: devices served through /dev/virtio-bridge (--vmid), or NULL
 * @irq_lock: protects @irq_sources
 * @irq_sources: per GSI, the sources (bits) driving it high; the line is
 *	the OR of them, so level-triggered sharers do not undo each other
 * @exit_reason: why the VM ended (enum vmm_exit), written once, atomically
 * @done_efd: eventfd signalled when @exit_reason is set
 * @rx_efd: eventfd signalled when a UART's receive FIFO has room again
 */
struct vmm {
	int kvm_fd;
	int vm_fd;
	int mem_fd;
	uint8_t *ram;
	struct x86_layout layout;
	struct guest_mem mem;
	struct io_bus pio;
	struct io_bus mmio;
	struct kvm_cpuid2 *cpuid;
	unsigned int nr_vcpus;
	struct vcpu *vcpus;
	struct pci_x86 pci;
	struct power power;
	struct rtc rtc;
	unsigned int nr_uarts;
	struct vmm_uart uarts[VMM_MAX_UARTS];
	struct pci_host host;
	struct pci_bus *bus;
	struct vmm_bridge *bridge;
	pthread_mutex_t irq_lock;
	uint32_t irq_sources[VMM_NR_GSIS];
	atomic_int exit_reason;
	int done_efd;
	int rx_efd;
};

/* kvm.c: the VM-level KVM calls. */
int kvm_vm_create(struct vmm *vm);
int kvm_vm_add_ram(struct vmm *vm, unsigned int slot, uint64_t gpa,
		   uint64_t size, void *hva);
void kvm_irq_line(struct vmm *vm, unsigned int gsi, int level);

/* vcpu.c */
int vcpu_create(struct vmm *vm, struct vcpu *c, unsigned int id);
int vcpu_boot_regs(struct vcpu *c, uint64_t entry, uint64_t zero_page);
int vcpu_start(struct vcpu *c);
void vcpu_kick(struct vcpu *c);
void vcpu_join(struct vcpu *c);
void vcpu_destroy(struct vcpu *c);
/* CPUID.1 EAX and EDX of vCPU 0, for the MP table. */
void vcpu_cpu_signature(const struct vmm *vm, uint32_t *eax, uint32_t *edx);

/* vmm.c: the machine's lifecycle, in the order cmd_run calls it. */
void vmm_init(struct vmm *vm);
/* Guest RAM: the memfd, sealed, mapped; lays out ram_size bytes. */
int vmm_ram_create(struct vmm *vm, uint64_t ram_size);
/*
 * A 16550 for serial line num (1..4: ttyS0..ttyS3), writing to out_fd
 * (-1: nowhere; closed with the VM when own_fd), fed from standard input
 * when in.
 */
int vmm_add_uart(struct vmm *vm, unsigned int num, int out_fd, bool own_fd,
		 bool in);
/* KVM: the VM, RAM slots, vCPUs, board devices, firmware tables. */
int vmm_kvm_setup(struct vmm *vm, unsigned int nr_vcpus);
int vmm_start(struct vmm *vm);
/* Kick every vCPU out of KVM_RUN and join its thread. */
void vmm_stop(struct vmm *vm);
void vmm_destroy(struct vmm *vm);

/*
 * Drive source src (0..31) of GSI gsi to level; the line follows the OR of
 * its sources.
 */
void vmm_irq_set(struct vmm *vm, unsigned int gsi, unsigned int src,
		 int level);
/*
 * The bookkeeping of vmm_irq_set() on a sources mask: returns the line's
 * new level when it changes, -1 when it does not.
 */
int vmm_irq_update(uint32_t *sources, unsigned int src, int level);

/*
 * host.c: PCI bus 0 of the in-process devices.  vmm_pci_create() makes the
 * bus (the device model realizes its functions on it); vmm_pci_attach(),
 * after vmm_kvm_setup(), places the BARs as firmware would and routes
 * configuration cycles, BAR accesses and INTx lines to it.
 */
int vmm_pci_create(struct vmm *vm);
int vmm_pci_attach(struct vmm *vm);

/* Record why the VM ends (first caller wins) and wake the main thread. */
void vmm_request_exit(struct vmm *vm, enum vmm_exit why);
static inline bool vmm_stopping(struct vmm *vm)
{
	return atomic_load(&vm->exit_reason) != VMM_RUNNING;
}

#endif
