// SPDX-License-Identifier: GPL-2.0
/* x86 VM-level KVM setup: CPUID, the TSS, the irqchip and PIT, IRQ lines. */
#include "vmm/vmm.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "arch/x86/board.h"
#include "arch/x86/msi.h"
#include "lib/log.h"

/* Addresses KVM needs for its own real-mode support on Intel (VMX). */
#define KVM_TSS_ADDR		0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR	0xfffbc000ULL

static const struct kvm_cap_need x86_kvm_caps[] = {
	{ KVM_CAP_IRQCHIP, "in-kernel irqchip (KVM_CAP_IRQCHIP)" },
	{ KVM_CAP_PIT2, "in-kernel PIT (KVM_CAP_PIT2)" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_GET_SUPPORTED_CPUID (KVM_CAP_EXT_CPUID)" },
	{ KVM_CAP_SIGNAL_MSI, "MSI injection (KVM_CAP_SIGNAL_MSI)" },
};

int x86_kvm_get_cpuid(struct vmm *vm)
{
	unsigned int n = 64;

	for (;;) {
		struct kvm_cpuid2 *c;

		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (!ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c)) {
			vm->arch.cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG || n >= 4096) {
			log_errno("KVM_GET_SUPPORTED_CPUID");
			return -1;
		}
		n *= 2;
	}
}

unsigned long arch_kvm_vm_type(struct vmm *vm)
{
	return 0;
}

int arch_kvm_check(struct vmm *vm)
{
	if (KVM_REQUIRE(vm, x86_kvm_caps))
		return -1;
	return x86_kvm_get_cpuid(vm);
}

int arch_kvm_vm_setup(struct vmm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0) {
		log_errno("KVM_SET_TSS_ADDR");
		return -1;
	}
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
		uint64_t addr = KVM_IDENTITY_MAP_ADDR;

		if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0) {
			log_errno("KVM_SET_IDENTITY_MAP_ADDR");
			return -1;
		}
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		log_errno("KVM_CREATE_IRQCHIP");
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		log_errno("KVM_CREATE_PIT2");
		return -1;
	}
	return 0;
}

void arch_irq_line(struct vmm *vm, unsigned int irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
		log_errno("KVM_IRQ_LINE (GSI %u, level %d)", irq, level);
}

/* The local APICs take MSIs (address 0xfeexxxxx) from the in-kernel irqchip. */
bool arch_pci_msi(const struct vmm *vm)
{
	return true;
}

void arch_pci_send_msi(struct vmm *vm, unsigned int devfn, uint64_t addr,
		       uint32_t data)
{
	kvm_vm_signal_msi(vm, addr, data, 0, 0);
}

int arch_pci_msi_route(const struct vmm *vm, unsigned int devfn, uint64_t addr,
		       uint32_t data, struct kvm_irq_routing_entry *e, char *err,
		       size_t err_len)
{
	return x86_msi_route(addr, data, e, err, err_len);
}
