/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the VMM core asks of an architecture.  The core (user/vmm/: options,
 * guest RAM, vCPU threads and the KVM_RUN loop, the I/O buses, the
 * in-process PCI bus, bridge mode) is the same everywhere; each
 * architecture (user/arch/<arch>/) implements these functions and supplies
 * "vmm_arch.h" (user/arch/<arch>/include/, on the include path of that
 * build only) with its constants and the per-VM and per-boot state the core
 * embeds: struct vmm_arch and struct vmm_arch_boot.
 *
 * The order of the calls is the order of cmd_run() (run.c): init, kernel
 * parse and plan, serial lines, RAM layout, kernel load, KVM VM, vCPUs,
 * board, PCI attach, boot registers, run, destroy.
 *
 * Every function returning int returns 0, or -1 after logging what is wrong
 * unless said otherwise.
 */
#ifndef VBRIDGE_VMM_ARCH_H
#define VBRIDGE_VMM_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bridge_fe_device;
struct kvm_irq_routing_entry;
struct run_boot;
struct vcpu;
struct vmm;

/* Board state: devices constructed, nothing of KVM yet; and its end. */
void arch_vmm_init(struct vmm *vm);
void arch_vmm_destroy(struct vmm *vm);

/*
 * Guest RAM: check ram_size and fill vm->nr_ram_regions and
 * vm->ram_regions (guest-physical address, size, offset in the memfd, in
 * ascending order).  Pure: called before anything is allocated, also to
 * check --mem.  Returns 0 or -errno, without logging.
 */
int arch_ram_layout(struct vmm *vm, uint64_t ram_size);

/*
 * The kernel the user gave (boot->img, boot->len): check and describe it
 * in boot->arch.  Then, after arch_ram_layout(), plan where it, the initrd
 * (boot->initrd_size bytes) and the command line go.  On error both write
 * one sentence to err and return -1: the user's mistake (exit status 2).
 */
int arch_boot_parse(struct run_boot *boot, char *err, size_t err_len);
int arch_boot_plan(struct vmm *vm, struct run_boot *boot, char *err,
		   size_t err_len);
/* Guest-physical address where the initrd goes (after arch_boot_plan). */
uint64_t arch_boot_initrd_addr(const struct run_boot *boot);
/* Copy the kernel and boot data into guest RAM (after the initrd). */
int arch_boot_load(struct vmm *vm, struct run_boot *boot);
/* The boot vCPU's registers, after the vCPUs and the board exist. */
int arch_boot_regs(struct vmm *vm, struct run_boot *boot);
/* One debug line: where the kernel, initrd and boot data went. */
void arch_boot_describe(const struct run_boot *boot);

/*
 * The board's serial line num (1-based, as --serial hardware=serial,num=),
 * its output on out_fd (-1: nowhere; closed with the VM when own_fd), fed
 * from standard input when in.  Returns its index, or -EINVAL (no such
 * line) or -EBUSY (given twice).
 */
int arch_serial_add(struct vmm *vm, unsigned int num, int out_fd,
		    bool own_fd, bool in);
/* Room in the receive FIFO of line idx, and feeding it (main thread). */
unsigned int arch_serial_rx_room(struct vmm *vm, int idx);
void arch_serial_rx_push(struct vmm *vm, int idx, const uint8_t *buf,
			 unsigned int n);
/* The guest's name of serial line num for console=, e.g. "ttyS0". */
void arch_serial_name(unsigned int num, char *buf, size_t len);

/*
 * KVM: the VM type for KVM_CREATE_VM, the capabilities this architecture
 * needs (checked before the VM is made), and what the VM needs before any
 * vCPU (x86: TSS, irqchip, PIT).
 */
unsigned long arch_kvm_vm_type(struct vmm *vm);
int arch_kvm_check(struct vmm *vm);
int arch_kvm_vm_setup(struct vmm *vm);
/* A new vCPU, its fd and kvm_run mapped: its architectural state. */
int arch_vcpu_init(struct vcpu *c);
/*
 * After every vCPU exists: the interrupt controller where it depends on the
 * vCPUs, the board's devices on the buses, firmware tables.
 */
int arch_board_setup(struct vmm *vm);

/*
 * An exit the core does not handle (it handles MMIO, system events,
 * internal errors, failed entries).  Returns true when handled; false
 * when the reason is unknown to the architecture too.
 */
bool arch_vcpu_exit(struct vcpu *c);
/* Print vCPU c's registers to stderr (a crash, or -vv at the end). */
void arch_vcpu_dump(struct vcpu *c);

/*
 * Ask the guest to power off (SIGTERM with a grace time): press the
 * machine's power button.  Returns false when the machine has none.
 */
bool arch_power_button(struct vmm *vm);

/* Drive interrupt line irq (a GSI on x86, an SPI on arm64) to level. */
void arch_irq_line(struct vmm *vm, unsigned int irq, int level);

/*
 * Whether the machine takes MSIs from PCI functions (asked before KVM is
 * opened: the in-process functions then get MSI-X), and delivering one
 * from bus 0's function devfn: the address and data the guest programmed
 * into a vector.
 */
bool arch_pci_msi(const struct vmm *vm);
void arch_pci_send_msi(struct vmm *vm, unsigned int devfn, uint64_t addr,
		       uint32_t data);
/*
 * The GSI route (a KVM_IRQ_ROUTING_MSI entry, gsi unset) that sends
 * what arch_pci_send_msi() sends, for an eventfd bound to it
 * (vmm/msi_fd.h).  0, or -1 with the reason in err: a message the
 * machine would not take.
 */
int arch_pci_msi_route(const struct vmm *vm, unsigned int devfn, uint64_t addr,
		       uint32_t data, struct kvm_irq_routing_entry *e, char *err,
		       size_t err_len);

/*
 * The in-process PCI host: the window its BARs are assigned in, the
 * interrupt line of slot's INTx pin (1..4), and, once the BARs are placed,
 * routing configuration cycles to the bus (the core's cfg ops in
 * vm->host_cfg) and claiming the MMIO window on vm->mmio.
 */
void arch_pci_window(const struct vmm *vm, uint64_t *base, uint64_t *size);
unsigned int arch_pci_intx_irq(const struct vmm *vm, unsigned int slot,
			       unsigned int pin);
int arch_pci_attach(struct vmm *vm);

/*
 * Bridge mode: do the n devices declared for vmid fit this machine?
 * Returns 0, or -1 after one line that says what to change.
 */
int arch_bridge_check_devices(struct vmm *vm, uint32_t vmid,
			      const struct bridge_fe_device *devs,
			      unsigned int n);

/*
 * MSIs bound to eventfds (vmm/msi_fd.h).  The routes KVM made with the
 * irqchip, into e (VMM_ARCH_IRQ_ROUTE_PINS entries); returns how many.
 */
unsigned int arch_irq_routes_pins(const struct vmm *vm,
				  struct kvm_irq_routing_entry *e);
/*
 * The route of message addr/data that function rid of bridged device idx
 * (vmm_bridge_device() order) sends, in *e, or -1 with why in err when a
 * device may not send it to this guest.
 */
int arch_bridge_msi_route(const struct vmm *vm, unsigned int idx, uint32_t rid,
			  uint64_t addr, uint32_t data,
			  struct kvm_irq_routing_entry *e, char *err,
			  size_t err_len);

#endif
