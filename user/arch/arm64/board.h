/* SPDX-License-Identifier: GPL-2.0 */
/* What the arm64 machine's files (user/arch/arm64/) share among themselves. */
#ifndef VBRIDGE_ARCH_ARM64_BOARD_H
#define VBRIDGE_ARCH_ARM64_BOARD_H

#include <stdint.h>

#include "vmm/vmm.h"

/* kvm.c: initialise the GIC once every vCPU exists. */
int arm64_gic_init(struct vmm *vm);

/*
 * vcpu.c: registers through KVM_{GET,SET}_ONE_REG; 0 or -errno.  The stack
 * pointer is the one PSTATE selects (SP_EL1 at EL1h, else SP_EL0).
 */
int arm64_get_reg(struct vcpu *c, uint64_t id, uint64_t *val);
int arm64_set_reg(struct vcpu *c, uint64_t id, uint64_t val);
int arm64_get_xreg(struct vcpu *c, unsigned int n, uint64_t *val);
int arm64_set_xreg(struct vcpu *c, unsigned int n, uint64_t val);
int arm64_get_pc(struct vcpu *c, uint64_t *pc);
int arm64_set_pc(struct vcpu *c, uint64_t pc);
int arm64_get_pstate(struct vcpu *c, uint64_t *pstate);
int arm64_get_sp(struct vcpu *c, uint64_t *sp);
int arm64_set_sp(struct vcpu *c, uint64_t sp);
int arm64_get_mpidr(struct vcpu *c, uint64_t *mpidr);
int arm64_get_mmu_regs(struct vcpu *c, uint64_t *sctlr, uint64_t *tcr,
		       uint64_t *ttbr0, uint64_t *ttbr1);
/* vcpu.c: Linux's boot registers: x0 = device tree, PC = entry. */
int arm64_vcpu_boot_regs(struct vcpu *c, uint64_t entry, uint64_t x0);

/* nisv.c: handle a KVM_EXIT_ARM_NISV. */
void arm64_nisv(struct vcpu *c);

/*
 * bridge.c: the device tree's add_nodes hook (opaque: the struct vmm):
 * one pci-host-ecam-generic node per bridged device.
 */
int arm64_bridge_fdt_nodes(void *fdt, void *opaque);

#endif
