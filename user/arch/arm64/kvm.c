// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 VM-level KVM setup: the in-kernel GIC (v3, or v2 where the host
 * has no v3) and a v3's ITS, accesses without a syndrome handed to us, SPI
 * lines and MSIs.
 */
#include "vmm/vmm.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch/arm64/board.h"
#include "arch/arm64/bridge_host.h"
#include "lib/log.h"

static const struct kvm_cap_need arm64_kvm_caps[] = {
	{ KVM_CAP_ARM_PSCI_0_2, "PSCI 0.2 (KVM_CAP_ARM_PSCI_0_2)" },
	{ KVM_CAP_DEVICE_CTRL, "in-kernel devices (KVM_CAP_DEVICE_CTRL)" },
	{ KVM_CAP_ONE_REG, "KVM_CAP_ONE_REG" },
};

unsigned long arch_kvm_vm_type(struct vmm *vm)
{
	return 0;	/* the default 40-bit IPA space holds the whole map */
}

int arch_kvm_check(struct vmm *vm)
{
	return KVM_REQUIRE(vm, arm64_kvm_caps);
}

static int arm64_gic_attr(int fd, uint32_t group, uint64_t attr, void *val)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uintptr_t)val,
	};

	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0 ? -errno : 0;
}

/*
 * The distributor and redistributors (v3) or CPU interface (v2).  Returns
 * 0, the errno of KVM_CREATE_DEVICE (that GIC cannot be had here), or
 * -EIO after saying why the one created could not be set up.
 */
static int arm64_gic_create(struct vmm *vm, bool v3)
{
	struct kvm_create_device cd = {
		.type = v3 ? KVM_DEV_TYPE_ARM_VGIC_V3 : KVM_DEV_TYPE_ARM_VGIC_V2,
	};
	uint64_t dist = ARM64_GIC_DIST_BASE;
	uint64_t cpu = v3 ? ARM64_GIC_REDIST_BASE : ARM64_GIC_CPU_BASE;
	uint32_t nr_irqs = ARM64_GIC_NR_IRQS;
	int err;

	if (ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &cd) < 0)
		return -errno;
	vm->arch.gic_fd = cd.fd;
	vm->arch.gic_v3 = v3;
	err = arm64_gic_attr(cd.fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
			     v3 ? KVM_VGIC_V3_ADDR_TYPE_DIST :
				  KVM_VGIC_V2_ADDR_TYPE_DIST, &dist);
	if (!err)
		err = arm64_gic_attr(cd.fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
				     v3 ? KVM_VGIC_V3_ADDR_TYPE_REDIST :
					  KVM_VGIC_V2_ADDR_TYPE_CPU, &cpu);
	if (!err)
		err = arm64_gic_attr(cd.fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0,
				     &nr_irqs);
	if (!err)
		return 0;
	log_error("cannot set up the in-kernel GICv%d: %s", v3 ? 3 : 2,
		  strerror(-err));
	/* A VM has one vGIC: no fallback once this one exists. */
	close(cd.fd);
	vm->arch.gic_fd = -1;
	return -EIO;
}

/*
 * A GICv3's ITS, for the PCI functions' MSIs.  Optional: without it they
 * use INTx (arch_pci_msi()).
 */
static void arm64_its_create(struct vmm *vm)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_ARM_VGIC_ITS };
	uint64_t base = ARM64_GIC_ITS_BASE;
	int err;

	if (ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &cd) < 0) {
		log_debug("no ITS (%s): PCI functions use INTx", strerror(errno));
		return;
	}
	err = arm64_gic_attr(cd.fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
			     KVM_VGIC_ITS_ADDR_TYPE, &base);
	if (err) {
		log_warn("cannot place the ITS (%s): PCI functions use INTx",
			 strerror(-err));
		close(cd.fd);
		return;
	}
	vm->arch.its_fd = cd.fd;
}

int arch_kvm_vm_setup(struct vmm *vm)
{
	struct kvm_enable_cap nisv = { .cap = KVM_CAP_ARM_NISV_TO_USER };
	int err;

	/*
	 * Before any vCPU: KVM sizes the redistributor space from the
	 * vCPUs made later.  v3 first, v2 where the host's GIC has no v3
	 * or no v2 compatibility.
	 */
	err = arm64_gic_create(vm, true);
	if (err == -ENODEV || err == -ENXIO) {
		log_debug("no GICv3 here (%s); trying GICv2", strerror(-err));
		err = arm64_gic_create(vm, false);
	}
	if (err) {
		if (err == -ENODEV || err == -ENXIO)
			log_error("this KVM can emulate neither a GICv3 nor a GICv2");
		return -1;
	}
	if (vm->arch.gic_v3)
		arm64_its_create(vm);
	/* Loads and stores KVM cannot decode come to us (vcpu.c). */
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_NISV_TO_USER) <= 0 ||
	    ioctl(vm->vm_fd, KVM_ENABLE_CAP, &nisv) < 0)
		log_debug("KVM_CAP_ARM_NISV_TO_USER unavailable: accesses without a syndrome fail in KVM");
	vm->arch.ext_dabt = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
				  KVM_CAP_ARM_INJECT_EXT_DABT) > 0;
	return 0;
}

/* After every vCPU exists: the GIC can be initialised. */
int arm64_gic_init(struct vmm *vm)
{
	int err = arm64_gic_attr(vm->arch.gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL,
				 KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);

	if (err) {
		log_error("cannot initialise the in-kernel GICv%d: %s",
			  vm->arch.gic_v3 ? 3 : 2, strerror(-err));
		return -1;
	}
	if (vm->arch.its_fd >= 0) {
		err = arm64_gic_attr(vm->arch.its_fd, KVM_DEV_ARM_VGIC_GRP_CTRL,
				     KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
		if (err) {
			log_warn("cannot initialise the ITS (%s): PCI functions use INTx",
				 strerror(-err));
			close(vm->arch.its_fd);
			vm->arch.its_fd = -1;
		}
	}
	return 0;
}

/*
 * The functions of the in-process PCI host get MSI-X (asked before KVM is
 * opened).  Their MSIs need the ITS: without one (a GICv2, or a KVM with
 * no ITS emulation) the device tree has no msi-map, so the guest finds no
 * MSI controller for the host and keeps the INTx lines (SPIs).
 */
bool arch_pci_msi(const struct vmm *vm)
{
	return true;
}

/* Through the ITS: the requester ID (bus 0) is the ITS's device ID. */
void arch_pci_send_msi(struct vmm *vm, unsigned int devfn, uint64_t addr,
		       uint32_t data)
{
	if (vm->arch.its_fd >= 0)
		kvm_vm_signal_msi(vm, addr, data, KVM_MSI_VALID_DEVID, devfn);
}

int arch_pci_msi_route(const struct vmm *vm, unsigned int devfn, uint64_t addr,
		       uint32_t data, struct kvm_irq_routing_entry *e, char *err,
		       size_t err_len)
{
	return arm64_pci_msi_route(vm->arch.its_fd >= 0, devfn, addr, data, e,
				   err, err_len);
}

/* irq is an SPI number: INTID 32 + irq. */
void arch_irq_line(struct vmm *vm, unsigned int irq, int level)
{
	struct kvm_irq_level l = {
		.irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) |
		       (32 + irq),
		.level = level,
	};

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
		log_errno("KVM_IRQ_LINE (SPI %u, level %d)", irq, level);
}
