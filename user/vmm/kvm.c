// SPDX-License-Identifier: GPL-2.0
/* VM-level KVM setup: the VM, its irqchip and PIT, memory slots, IRQ lines. */
#include "vmm/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/log.h"

/* Addresses KVM needs for its own real-mode support on Intel (VMX). */
#define KVM_TSS_ADDR		0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR	0xfffbc000ULL

static const struct {
	int cap;
	const char *what;
} kvm_required_caps[] = {
	{ KVM_CAP_IRQCHIP, "in-kernel irqchip (KVM_CAP_IRQCHIP)" },
	{ KVM_CAP_PIT2, "in-kernel PIT (KVM_CAP_PIT2)" },
	{ KVM_CAP_USER_MEMORY, "user memory (KVM_CAP_USER_MEMORY)" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_GET_SUPPORTED_CPUID (KVM_CAP_EXT_CPUID)" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
};

static int kvm_get_supported_cpuid(struct vmm *vm)
{
	unsigned int n = 64;

	for (;;) {
		struct kvm_cpuid2 *c;

		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (!ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c)) {
			vm->cpuid = c;
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

int kvm_vm_create(struct vmm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	unsigned int i;
	int ver;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		log_errno("cannot open /dev/kvm (is the kvm module loaded and do you have access?)");
		return -1;
	}
	ver = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		log_error("/dev/kvm speaks API version %d, this program needs %d",
			  ver, KVM_API_VERSION);
		return -1;
	}
	for (i = 0; i < sizeof(kvm_required_caps) / sizeof(kvm_required_caps[0]); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
			  kvm_required_caps[i].cap) <= 0) {
			log_error("this KVM lacks %s", kvm_required_caps[i].what);
			return -1;
		}
	}
	if (kvm_get_supported_cpuid(vm))
		return -1;

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		log_errno("KVM_CREATE_VM");
		return -1;
	}
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

int kvm_vm_add_ram(struct vmm *vm, unsigned int slot, uint64_t gpa,
		   uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		log_errno("KVM_SET_USER_MEMORY_REGION (slot %u, %llu MiB at 0x%llx)",
			  slot, (unsigned long long)(size >> 20),
			  (unsigned long long)gpa);
		return -1;
	}
	return 0;
}

void kvm_irq_line(struct vmm *vm, unsigned int gsi, int level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
		log_errno("KVM_IRQ_LINE (GSI %u, level %d)", gsi, level);
}
