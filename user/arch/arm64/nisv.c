// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_EXIT_ARM_NISV: a guest load or store to an address without a
 * memslot whose data abort carried no valid syndrome (LDP/STP, writeback,
 * register offsets).  KVM cannot tell what the instruction wanted, so we
 * fetch it at the guest PC through the guest's stage-1 tables, emulate it
 * on the MMIO bus (emulate.h) and move on; what cannot be emulated gets an
 * external data abort, as on hardware, and one log line per vCPU.
 */
#include "vmm/vmm.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/arm64/board.h"
#include "arch/arm64/emulate.h"
#include "arch/arm64/mmu.h"
#include "lib/log.h"

#define SCTLR_EL1_EE		(1ULL << 25)
#define SCTLR_EL1_E0E		(1ULL << 24)
#define PSTATE_EL_MASK		0xc

/**
 * struct nisv_ctx - one emulation, for the callbacks.
 * @c: the vCPU, stopped in its exit
 * @mmu: its stage-1 registers
 * @err: the first failing register access (negative errno), or 0
 */
struct nisv_ctx {
	struct vcpu *c;
	struct a64_mmu mmu;
	int err;
};

static uint64_t nisv_get_reg(void *opaque, unsigned int n)
{
	struct nisv_ctx *x = opaque;
	uint64_t v = 0;
	int err = n == 31 ? arm64_get_sp(x->c, &v) : arm64_get_xreg(x->c, n, &v);

	if (err && !x->err)
		x->err = err;
	return v;
}

static void nisv_set_reg(void *opaque, unsigned int n, uint64_t val)
{
	struct nisv_ctx *x = opaque;
	int err = n == 31 ? arm64_set_sp(x->c, val) : arm64_set_xreg(x->c, n, val);

	if (err && !x->err)
		x->err = err;
}

static uint64_t nisv_get_pc(void *opaque)
{
	struct nisv_ctx *x = opaque;
	uint64_t pc = 0;
	int err = arm64_get_pc(x->c, &pc);

	if (err && !x->err)
		x->err = err;
	return pc;
}

static void nisv_set_pc(void *opaque, uint64_t pc)
{
	struct nisv_ctx *x = opaque;
	int err = arm64_set_pc(x->c, pc);

	if (err && !x->err)
		x->err = err;
}

static int nisv_translate(void *opaque, uint64_t va, uint64_t *ipa,
			  const char **why)
{
	struct nisv_ctx *x = opaque;

	return a64_translate(&x->mmu, &x->c->vm->mem, va, false, ipa, why);
}

/* The access goes where a KVM_EXIT_MMIO of the same address would. */
static int nisv_mmio(void *opaque, uint64_t ipa, unsigned int len, bool write,
		     uint64_t *val)
{
	struct nisv_ctx *x = opaque;
	struct io_access a = {
		.addr = ipa,
		.len = len,
		.write = write,
		.val = write ? *val : 0,
	};
	void *ram = guest_mem_ptr(&x->c->vm->mem, ipa, len);

	/* A pair's other element may be in RAM: do it there. */
	if (ram) {
		if (write)
			memcpy(ram, val, len);
		else {
			*val = 0;
			memcpy(val, ram, len);
		}
		return 0;
	}
	io_bus_dispatch(&x->c->vm->mmio, &a);
	if (!write)
		*val = len == 8 ? a.val : a.val & ((1ULL << (8 * len)) - 1);
	return 0;
}

/* An external data abort at the faulting instruction, as hardware gives. */
static void nisv_abort(struct vcpu *c)
{
	struct kvm_vcpu_events ev;

	if (!c->vm->arch.ext_dabt) {
		vcpu_crash(c, "cannot emulate an access without a syndrome, and this KVM cannot inject an external abort");
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.exception.ext_dabt_pending = 1;
	if (ioctl(c->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		vcpu_crash(c, "cannot inject an external data abort: %s",
			   strerror(errno));
}

void arm64_nisv(struct vcpu *c)
{
	const uint64_t ipa = c->run->arm_nisv.fault_ipa;
	struct nisv_ctx x = { .c = c };
	struct a64_emu_ops ops = {
		.opaque = &x,
		.get_reg = nisv_get_reg,
		.set_reg = nisv_set_reg,
		.get_pc = nisv_get_pc,
		.set_pc = nisv_set_pc,
		.translate = nisv_translate,
		.mmio = nisv_mmio,
	};
	const char *why = "";
	uint64_t pc = 0, pstate = 0;
	uint32_t insn = 0;
	int err;

	err = arm64_get_mmu_regs(c, &x.mmu.sctlr, &x.mmu.tcr, &x.mmu.ttbr0,
				 &x.mmu.ttbr1);
	if (!err)
		err = arm64_get_pc(c, &pc);
	if (!err)
		err = arm64_get_pstate(c, &pstate);
	if (err) {
		vcpu_crash(c, "cannot read the registers of an access without a syndrome: %s",
			   strerror(-err));
		return;
	}
	ops.data_be = x.mmu.sctlr & ((pstate & PSTATE_EL_MASK) ? SCTLR_EL1_EE :
				     SCTLR_EL1_E0E);
	err = a64_fetch_insn(&x.mmu, &c->vm->mem, pc, &insn, &why);
	if (!err)
		err = a64_emulate(&ops, insn, ipa, c->run->arm_nisv.esr_iss, &why);
	if (!err && x.err) {
		err = x.err;
		why = "a vCPU register could not be read or written";
	}
	if (!err) {
		if (!c->vm->arch.nisv_seen[c->id])
			log_debug("vCPU %u: emulated an access without a syndrome (instruction 0x%08x at pc 0x%llx, 0x%llx); more are not logged",
				  c->id, insn, (unsigned long long)pc,
				  (unsigned long long)ipa);
		c->vm->arch.nisv_seen[c->id] = true;
		return;
	}
	if (!c->vm->arch.nisv_warned[c->id]) {
		log_warn("vCPU %u: access to 0x%llx at pc 0x%llx (instruction 0x%08x) has no syndrome and cannot be emulated: %s; the guest gets an external abort",
			 c->id, (unsigned long long)ipa, (unsigned long long)pc,
			 insn, why && *why ? why : strerror(-err));
		c->vm->arch.nisv_warned[c->id] = true;
	}
	nisv_abort(c);
}
