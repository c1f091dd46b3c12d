/*
 * `vbridge run`: one KVM virtual machine, the core every architecture
 * shares (the architecture's part: vmm/arch.h and user/arch/<arch>/).
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
#include <stddef.h>
#include <stdint.h>

#include "lib/guest_mem.h"
#include "pci/pci.h"
#include "vmm/arch.h"
#include "vmm/iobus.h"
#include "vmm/msi_fd.h"
#include "vmm/serial.h"
#include "vmm_arch.h"

#define VMM_NR_IRQS		VMM_ARCH_NR_IRQS
#define VMM_MAX_RAM_REGIONS	4

/* Why the VM ended; the first one reported wins. */
enum vmm_exit {
	VMM_RUNNING = 0,
	VMM_EXIT_POWEROFF,	/* guest powered off: status 0 */
	VMM_EXIT_RESET,		/* guest reset itself: status 0 (32 with
				 * vbridge --extended-status) */
	VMM_EXIT_STOPPED,	/* SIGINT/SIGTERM or console escape: status 0 */
	VMM_EXIT_CRASH,		/* triple fault, KVM error: status 1 (33) */
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
 * struct vmm_ram_region - a piece of guest RAM.
 * @gpa: guest-physical address
 * @size: bytes
 * @offset: where it starts in the RAM memfd
 */
struct vmm_ram_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset;
};

/**
 * struct run_boot - what the guest boots, between the command line and
 * the architecture's loader (arch_boot_*).
 * @img: the kernel file's bytes (freed once loaded), or NULL
 * @len: bytes at @img
 * @bios: the firmware file's bytes (--bios; freed once loaded), or NULL
 * @bios_len: bytes at @bios
 * @initrd_size: bytes of the initrd, 0 without one
 * @cmdline: the kernel command line
 * @arch: the architecture's parse of @img and its placement plan
 */
struct run_boot {
	uint8_t *img;
	size_t len;
	uint8_t *bios;
	size_t bios_len;
	uint64_t initrd_size;
	char *cmdline;
	struct vmm_arch_boot arch;
};

/**
 * struct vmm - the machine.  Fields are set up before the vCPUs start and
 * constant afterwards unless stated otherwise.
 * @kvm_fd: /dev/kvm
 * @vm_fd: the KVM VM
 * @mem_fd: memfd holding all of guest RAM (sealed against resizing)
 * @ram: @mem_fd mapped, @ram_size bytes
 * @ram_size: bytes of guest RAM
 * @nr_ram_regions: entries in @ram_regions
 * @ram_regions: where the pieces of @mem_fd are in guest-physical memory
 * @mem: @ram as guest memory regions, for the device model and loaders
 * @pio: port I/O dispatch table (empty where there is no port I/O)
 * @mmio: MMIO dispatch table
 * @nr_vcpus: vCPUs in @vcpus
 * @vcpus: the vCPUs
 * @host: the in-process PCI host the device model sees (host.c)
 * @bus: PCI bus 0 of the in-process devices, or NULL
 * @bridge: devices served through /dev/virtio-bridge (--vmid), or NULL
 * @irq_lock: protects @irq_sources
 * @irq_sources: per interrupt line, the sources (bits) driving it high;
 *	the line is the OR of them, so level-triggered sharers do not undo
 *	each other
 * @exit_reason: why the VM ended (enum vmm_exit), written once, atomically
 * @done_efd: eventfd signalled when @exit_reason is set
 * @rx_efd: eventfd signalled when a serial line's receive FIFO has room
 *	again
 * @pci_host_dt: --pci-host-dt FILE (arm64), or NULL
 * @arch: the architecture's board (vmm_arch.h)
 */
struct vmm {
	int kvm_fd;
	int vm_fd;
	int mem_fd;
	uint8_t *ram;
	uint64_t ram_size;
	unsigned int nr_ram_regions;
	struct vmm_ram_region ram_regions[VMM_MAX_RAM_REGIONS];
	struct guest_mem mem;
	struct io_bus pio;
	struct io_bus mmio;
	unsigned int nr_vcpus;
	struct vcpu *vcpus;
	struct pci_host host;
	struct pci_bus *bus;
	struct vmm_bridge *bridge;
	struct vmm_routes routes;
	pthread_mutex_t irq_lock;
	uint32_t irq_sources[VMM_NR_IRQS];
	atomic_int exit_reason;
	int done_efd;
	int rx_efd;
	const char *pci_host_dt;
	struct vmm_arch arch;
};

/* kvm.c: the VM-level KVM calls. */
struct kvm_cap_need {
	int cap;
	const char *what;
};

/* Every capability in caps[0..n) is there, or one line says which is not. */
int kvm_require(struct vmm *vm, const struct kvm_cap_need *caps,
		unsigned int n);
#define KVM_REQUIRE(vm, caps) \
	kvm_require(vm, caps, sizeof(caps) / sizeof((caps)[0]))
int kvm_vm_create(struct vmm *vm);
/* KVM_SIGNAL_MSI; flags KVM_MSI_VALID_DEVID when devid means something. */
void kvm_vm_signal_msi(struct vmm *vm, uint64_t addr, uint32_t data,
		       uint32_t flags, uint32_t devid);
int kvm_vm_add_ram(struct vmm *vm, unsigned int slot, uint64_t gpa,
		   uint64_t size, void *hva);

/* vcpu.c */
int vcpu_create(struct vmm *vm, struct vcpu *c, unsigned int id);
int vcpu_start(struct vcpu *c);
void vcpu_kick(struct vcpu *c);
void vcpu_join(struct vcpu *c);
void vcpu_destroy(struct vcpu *c);
/* The first failure of the VM: log it, dump the vCPU, end the VM. */
void vcpu_crash(struct vcpu *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* vmm.c: the machine's lifecycle, in the order cmd_run calls it. */
void vmm_init(struct vmm *vm);
/* Guest RAM: the memfd, sealed, mapped; lays out ram_size bytes. */
int vmm_ram_create(struct vmm *vm, uint64_t ram_size);
/* KVM: the VM, RAM slots, vCPUs, board devices, firmware tables. */
int vmm_kvm_setup(struct vmm *vm, unsigned int nr_vcpus);
int vmm_start(struct vmm *vm);
/* Kick every vCPU out of KVM_RUN and join its thread. */
void vmm_stop(struct vmm *vm);
void vmm_destroy(struct vmm *vm);

/*
 * Drive source src (0..31) of interrupt line irq to level; the line
 * follows the OR of its sources.
 */
void vmm_irq_set(struct vmm *vm, unsigned int irq, unsigned int src,
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
/*
 * For the architecture's host bridge (arch_pci_attach): configuration
 * cycles of bus 0 (context: the struct vmm), and the MMIO handler of the
 * window the BARs are in (opaque: the struct vmm).
 */
extern const struct pci_cfg_ops vmm_pci_cfg_ops;
io_handler_fn vmm_pci_mmio;

/* Record why the VM ends (first caller wins) and wake the main thread. */
void vmm_request_exit(struct vmm *vm, enum vmm_exit why);
static inline bool vmm_stopping(struct vmm *vm)
{
	return atomic_load(&vm->exit_reason) != VMM_RUNNING;
}

#endif
