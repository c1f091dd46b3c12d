// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 vCPUs: KVM_ARM_VCPU_INIT with PSCI 0.2 (secondaries start powered
 * off until the guest's PSCI CPU_ON), the boot registers of vCPU 0, the
 * register dump, and the exits only arm64 has.
 */
#include "vmm/vmm.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/arm64/board.h"
#include "lib/log.h"

#define ARM64_CORE_REG(x)	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | \
				 KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(x))

/* System registers of the dump and of the stage-1 walk (op0, op1, CRn, CRm, op2). */
#define ARM64_SCTLR_EL1		ARM64_SYS_REG(3, 0, 1, 0, 0)
#define ARM64_TTBR0_EL1		ARM64_SYS_REG(3, 0, 2, 0, 0)
#define ARM64_TTBR1_EL1		ARM64_SYS_REG(3, 0, 2, 0, 1)
#define ARM64_TCR_EL1		ARM64_SYS_REG(3, 0, 2, 0, 2)
#define ARM64_ESR_EL1		ARM64_SYS_REG(3, 0, 5, 2, 0)
#define ARM64_FAR_EL1		ARM64_SYS_REG(3, 0, 6, 0, 0)
#define ARM64_VBAR_EL1		ARM64_SYS_REG(3, 0, 12, 0, 0)
#define ARM64_MPIDR_EL1		ARM64_SYS_REG(3, 0, 0, 0, 5)

int arm64_get_reg(struct vcpu *c, uint64_t id, uint64_t *val)
{
	struct kvm_one_reg r = { .id = id, .addr = (uintptr_t)val };

	return ioctl(c->fd, KVM_GET_ONE_REG, &r) < 0 ? -errno : 0;
}

int arm64_set_reg(struct vcpu *c, uint64_t id, uint64_t val)
{
	struct kvm_one_reg r = { .id = id, .addr = (uintptr_t)&val };

	return ioctl(c->fd, KVM_SET_ONE_REG, &r) < 0 ? -errno : 0;
}

int arm64_get_xreg(struct vcpu *c, unsigned int n, uint64_t *val)
{
	return arm64_get_reg(c, ARM64_CORE_REG(regs.regs[0]) + 2 * n, val);
}

int arm64_set_xreg(struct vcpu *c, unsigned int n, uint64_t val)
{
	return arm64_set_reg(c, ARM64_CORE_REG(regs.regs[0]) + 2 * n, val);
}

int arm64_get_pc(struct vcpu *c, uint64_t *pc)
{
	return arm64_get_reg(c, ARM64_CORE_REG(regs.pc), pc);
}

int arm64_set_pc(struct vcpu *c, uint64_t pc)
{
	return arm64_set_reg(c, ARM64_CORE_REG(regs.pc), pc);
}

int arm64_get_pstate(struct vcpu *c, uint64_t *pstate)
{
	return arm64_get_reg(c, ARM64_CORE_REG(regs.pstate), pstate);
}

int arm64_get_sp(struct vcpu *c, uint64_t *sp)
{
	uint64_t pstate;
	int err = arm64_get_reg(c, ARM64_CORE_REG(regs.pstate), &pstate);

	if (err)
		return err;
	/* SP_EL0 unless at EL1 with SPSel set (EL1h). */
	return arm64_get_reg(c, (pstate & 0xf) == 0x5 ? ARM64_CORE_REG(sp_el1) :
			     ARM64_CORE_REG(regs.sp), sp);
}

int arm64_set_sp(struct vcpu *c, uint64_t sp)
{
	uint64_t pstate;
	int err = arm64_get_reg(c, ARM64_CORE_REG(regs.pstate), &pstate);

	if (err)
		return err;
	return arm64_set_reg(c, (pstate & 0xf) == 0x5 ? ARM64_CORE_REG(sp_el1) :
			     ARM64_CORE_REG(regs.sp), sp);
}

int arm64_get_mpidr(struct vcpu *c, uint64_t *mpidr)
{
	int err = arm64_get_reg(c, ARM64_MPIDR_EL1, mpidr);

	if (err)
		log_error("vCPU %u: cannot read MPIDR_EL1: %s", c->id,
			  strerror(-err));
	return err;
}

int arm64_get_mmu_regs(struct vcpu *c, uint64_t *sctlr, uint64_t *tcr,
		       uint64_t *ttbr0, uint64_t *ttbr1)
{
	int err = arm64_get_reg(c, ARM64_SCTLR_EL1, sctlr);

	if (!err)
		err = arm64_get_reg(c, ARM64_TCR_EL1, tcr);
	if (!err)
		err = arm64_get_reg(c, ARM64_TTBR0_EL1, ttbr0);
	if (!err)
		err = arm64_get_reg(c, ARM64_TTBR1_EL1, ttbr1);
	return err;
}

int arch_vcpu_init(struct vcpu *c)
{
	struct kvm_vcpu_init init;

	memset(&init, 0, sizeof(init));
	if (ioctl(c->vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &init) < 0) {
		log_errno("KVM_ARM_PREFERRED_TARGET");
		return -1;
	}
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	/* Secondaries wait for the guest's PSCI CPU_ON. */
	if (c->id)
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(c->fd, KVM_ARM_VCPU_INIT, &init) < 0) {
		log_errno("vCPU %u: KVM_ARM_VCPU_INIT", c->id);
		return -1;
	}
	return 0;
}

/*
 * Linux's arm64 boot protocol: MMU off, EL1h with DAIF masked (KVM's
 * reset state), x0 = the device tree, x1..x3 = 0, PC = entry.
 */
int arm64_vcpu_boot_regs(struct vcpu *c, uint64_t entry, uint64_t x0)
{
	unsigned int i;
	int err;

	err = arm64_set_xreg(c, 0, x0);
	for (i = 1; !err && i < 4; i++)
		err = arm64_set_xreg(c, i, 0);
	if (!err)
		err = arm64_set_pc(c, entry);
	if (err) {
		log_error("vCPU %u: cannot set the boot registers: %s", c->id,
			  strerror(-err));
		return -1;
	}
	return 0;
}

void arch_vcpu_dump(struct vcpu *c)
{
	static const struct {
		const char *name;
		uint64_t id;
	} sys[] = {
		{ "sp_el1", ARM64_CORE_REG(sp_el1) },
		{ "elr_el1", ARM64_CORE_REG(elr_el1) },
		{ "spsr_el1", ARM64_CORE_REG(spsr[0]) },
		{ "esr_el1", ARM64_ESR_EL1 },
		{ "far_el1", ARM64_FAR_EL1 },
		{ "vbar_el1", ARM64_VBAR_EL1 },
		{ "sctlr_el1", ARM64_SCTLR_EL1 },
		{ "tcr_el1", ARM64_TCR_EL1 },
		{ "ttbr0_el1", ARM64_TTBR0_EL1 },
		{ "ttbr1_el1", ARM64_TTBR1_EL1 },
		{ "mpidr_el1", ARM64_MPIDR_EL1 },
	};
	uint64_t x[31], pc, pstate, sp, v;
	unsigned int i;

	for (i = 0; i < 31; i++)
		if (arm64_get_xreg(c, i, &x[i]))
			goto fail;
	if (arm64_get_pc(c, &pc) ||
	    arm64_get_reg(c, ARM64_CORE_REG(regs.pstate), &pstate) ||
	    arm64_get_reg(c, ARM64_CORE_REG(regs.sp), &sp))
		goto fail;
	fprintf(stderr, "vCPU %u registers:\n pc %016llx pstate %016llx sp_el0 %016llx\n",
		c->id, (unsigned long long)pc, (unsigned long long)pstate,
		(unsigned long long)sp);
	for (i = 0; i < 31; i++)
		fprintf(stderr, "%s x%-2u %016llx", i % 4 ? "" : " ", i,
			(unsigned long long)x[i]);
	fprintf(stderr, "\n");
	for (i = 0; i < sizeof(sys) / sizeof(sys[0]); i++) {
		if (arm64_get_reg(c, sys[i].id, &v))
			continue;
		fprintf(stderr, " %-9s %016llx%s", sys[i].name,
			(unsigned long long)v, i % 3 == 2 ? "\n" : "");
	}
	fprintf(stderr, "\n");
	return;
fail:
	log_errno("vCPU %u: cannot read registers", c->id);
}

bool arch_vcpu_exit(struct vcpu *c)
{
	switch (c->run->exit_reason) {
	case KVM_EXIT_ARM_NISV:
		arm64_nisv(c);
		return true;
	default:
		return false;
	}
}
