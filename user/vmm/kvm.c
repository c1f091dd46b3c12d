// SPDX-License-Identifier: GPL-2.0
/* VM-level KVM setup: /dev/kvm, the VM, memory slots. */
#include "vmm/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/log.h"

/* What every architecture needs; arch_kvm_check() adds its own. */
static const struct kvm_cap_need kvm_required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "user memory (KVM_CAP_USER_MEMORY)" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
};

int kvm_require(struct vmm *vm, const struct kvm_cap_need *caps,
		unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			log_error("this KVM lacks %s", caps[i].what);
			return -1;
		}
	}
	return 0;
}

int kvm_vm_create(struct vmm *vm)
{
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
	if (KVM_REQUIRE(vm, kvm_required_caps) || arch_kvm_check(vm))
		return -1;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, arch_kvm_vm_type(vm));
	if (vm->vm_fd < 0) {
		log_errno("KVM_CREATE_VM");
		return -1;
	}
	return arch_kvm_vm_setup(vm);
}

void kvm_vm_signal_msi(struct vmm *vm, uint64_t addr, uint32_t data,
		       uint32_t flags, uint32_t devid)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = addr >> 32,
		.data = data,
		.flags = flags,
		.devid = devid,
	};

	/* 0: the guest blocked it (masked, no destination, no ITS mapping). */
	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		log_errno("KVM_SIGNAL_MSI (address 0x%llx, data 0x%x, device 0x%x)",
			  (unsigned long long)addr, data, devid);
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
