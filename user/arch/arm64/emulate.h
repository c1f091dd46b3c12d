/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Emulation of one A64 load/store whose data abort came without a valid
 * syndrome (KVM_EXIT_ARM_NISV: run->arm_nisv.esr_iss, .fault_ipa).
 *
 * The KVM glue fetches the instruction at the guest PC (a64_fetch_insn()
 * in mmu.h), then calls a64_emulate() with callbacks onto the vCPU's
 * registers, the guest's stage-1 tables and the MMIO bus.  On success the
 * access(es) are done, the destination and base registers written and the
 * PC advanced by 4; on any error nothing but already-performed MMIO
 * accesses has changed (see below) and the caller injects an external data
 * abort and logs the reason once.
 *
 * Order, as the architecture has it: Rt's element first, then Rt2's at the
 * next address; an element wider than 8 bytes (a Q register) is split
 * into two 8-byte accesses, low address first.  Every address is
 * translated before the first access, so a translation failure anywhere
 * (including the second element of a pair on another page) changes
 * nothing.  An MMIO error part-way fails the instruction after the
 * accesses before it were made (a store already made cannot be undone);
 * registers and PC are then left as they were.  (One exception: a pair
 * of SIMD&FP loads whose @set_vreg fails for Rt2 has already written Rt.)
 *
 * Consistency checks: the fault IPA KVM reports must lie inside one of
 * the accesses the decoded instruction makes at the addresses its
 * registers give, and the syndrome's WnR bit must say store exactly when
 * the instruction stores; otherwise the instruction is refused (a stale
 * PC, a remapped page, a different vCPU view) rather than touching some
 * other device.  A syndrome with CM set (a cache maintenance instruction
 * on MMIO) is refused too.
 *
 * A store with writeback whose Rt (or Rt2) is also its base (CONSTRAINED
 * UNPREDICTABLE) stores the register's value from before the writeback,
 * one of the behaviours the architecture allows.  Loads of that shape are
 * refused by the decoder.
 */
#ifndef VBRIDGE_ARCH_ARM64_EMULATE_H
#define VBRIDGE_ARCH_ARM64_EMULATE_H

#include <stdbool.h>
#include <stdint.h>

/* The bits of ESR_EL2's ISS that KVM passes in run->arm_nisv.esr_iss. */
#define A64_ISS_WNR	(1u << 6)	/* write, not read */
#define A64_ISS_CM	(1u << 8)	/* cache maintenance */

/**
 * struct a64_emu_ops - what a64_emulate() may touch.
 * @opaque: passed to every callback
 * @get_reg: general register @n: X0-X30 for 0-30, and for 31 the stack
 *	pointer of the exception level that faulted (SP_EL0 or SP_EL1 as
 *	PSTATE.SP and the EL select).  Never called with 31 meaning XZR.
 * @set_reg: write general register @n (31: that stack pointer), all 64 bits
 * @get_vreg: read SIMD&FP register V@n, 16 bytes little-endian; returns 0 or
 *	a negative errno.  May be NULL: SIMD&FP loads/stores are then refused.
 * @set_vreg: write V@n (whole register), 0 or a negative errno; NULL as above
 * @get_pc: the PC of the faulting instruction
 * @set_pc: set the PC
 * @translate: translate a data VA to an IPA (normally a64_translate() with
 *	fetch false); 0, or a negative errno with *why set
 * @mmio: one access of @len (1, 2, 4 or 8) bytes at @ipa: a store of the
 *	low @len bytes of *@val, or a load into *@val (zero-extended);
 *	0 or a negative errno.  It gets every access of the instruction,
 *	including a pair's second element when that lands in RAM.
 * @data_be: data accesses of the faulting EL are big-endian
 *	(SCTLR_EL1.EE at EL1, .E0E at EL0): refused
 */
struct a64_emu_ops {
	void *opaque;
	uint64_t (*get_reg)(void *opaque, unsigned int n);
	void (*set_reg)(void *opaque, unsigned int n, uint64_t val);
	int (*get_vreg)(void *opaque, unsigned int n, uint8_t v[16]);
	int (*set_vreg)(void *opaque, unsigned int n, const uint8_t v[16]);
	uint64_t (*get_pc)(void *opaque);
	void (*set_pc)(void *opaque, uint64_t pc);
	int (*translate)(void *opaque, uint64_t va, uint64_t *ipa, const char **why);
	int (*mmio)(void *opaque, uint64_t ipa, unsigned int len, bool write,
		    uint64_t *val);
	bool data_be;
};

/**
 * a64_emulate() - emulate one load/store.
 * @ops: the vCPU, its tables and the bus
 * @insn: the instruction word at the PC
 * @fault_ipa: the IPA KVM reported (run->arm_nisv.fault_ipa)
 * @esr_iss: the syndrome KVM reported (run->arm_nisv.esr_iss: CM, WnR and
 *	the fault status code; only CM and WnR are read)
 * @why: where a static reason goes on failure
 *
 * Return: 0 (done, PC advanced); -EINVAL (not an instruction we decode),
 * -EOPNOTSUPP (decoded but not emulable here: SIMD&FP without @get_vreg,
 * big-endian data, a cache maintenance syndrome), -EFAULT (an address
 * does not translate, an access crosses into a discontiguous page, the
 * fault IPA is not one of the instruction's, or WnR disagrees with the
 * instruction), or the errno of a failed @translate, @mmio or vreg
 * callback.
 */
int a64_emulate(const struct a64_emu_ops *ops, uint32_t insn, uint64_t fault_ipa,
		uint64_t esr_iss, const char **why);

#endif
