/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Decoder of the A64 load/store instructions a VMM has to emulate when a
 * data abort on MMIO comes without a valid syndrome (KVM_EXIT_ARM_NISV):
 * pairs, pre- and post-indexed forms with writeback, register offsets.
 *
 * Pure code, no KVM: it runs on any host and the unit tests and the fuzzer
 * call it directly.  Encodings follow the Arm ARM, C4.1 "Loads and Stores"
 * (the "Load/store register (...)" and "Load/store register pair (...)"
 * classes).
 *
 * Decoded (general-purpose registers, every size):
 *   LDR/STR{B,H,W,X}, LDRS{B,H} to W or X, LDRSW, PRFM excluded, with an
 *     unsigned scaled 12-bit offset, an unscaled 9-bit offset (LDUR/STUR),
 *     pre-index and post-index (9-bit, writeback), or a register offset
 *     (Rm with LSL, UXTW, SXTW or SXTX, optionally shifted by log2(size));
 *   LDP/STP of W and X, LDPSW, with a signed scaled 7-bit offset,
 *     pre-index or post-index (writeback), and LDNP/STNP (plain pairs: the
 *     non-temporal hint means nothing to an emulator);
 *   Rt/Rt2 = 31 is the zero register (a store stores 0, a load discards);
 *   Rn = 31 is SP; Rm = 31 is XZR.
 * Decoded (SIMD&FP registers): the same single-register forms for B, H,
 *   S, D and Q, and LDP/STP/LDNP/STNP of S, D and Q.
 *
 * Refused, with a reason: exclusives and acquire/release (LDXR, LDAXR,
 * STLXR, LDAR, STLR, LDAPR, LDAPUR ...: those never lack a syndrome, as
 * they have no writeback and move one register), atomics (LDADD, SWP,
 * CAS ...), unprivileged LDTR/STTR (no writeback either, and their EL0
 * permission semantics would need checking), PC-relative literal loads,
 * prefetches (PRFM/PRFUM), pointer-authenticated LDRAA/LDRAB, memory
 * tagging (STG, LDG, STGP ...), SIMD structure loads (LD1..LD4 and
 * friends), unallocated encodings, and the CONSTRAINED UNPREDICTABLE
 * cases an emulator should not guess at: a load with writeback into its
 * own base register, and LDP with Rt == Rt2.
 */
#ifndef VBRIDGE_ARCH_ARM64_INSN_H
#define VBRIDGE_ARCH_ARM64_INSN_H

#include <stdbool.h>
#include <stdint.h>

#define A64_REG_ZR_SP	31	/* XZR as Rt/Rt2/Rm, SP as Rn */

enum a64_addr_mode {
	A64_ADDR_OFFSET,	/* address = base + offset, no writeback */
	A64_ADDR_PRE,		/* address = base + offset, base = address */
	A64_ADDR_POST,		/* address = base, base = base + offset */
};

enum a64_extend {
	A64_EXT_UXTW = 2,	/* offset = (uint32_t)Rm << shift */
	A64_EXT_LSL = 3,	/* (UXTX) offset = Rm << shift */
	A64_EXT_SXTW = 6,	/* offset = (int32_t)Rm << shift */
	A64_EXT_SXTX = 7,	/* offset = Rm << shift */
};

/**
 * struct a64_ls - one decoded load or store.
 * @load: load (true) or store
 * @pair: two registers (Rt, then Rt2 at the next @size bytes)
 * @simd: Rt/Rt2 name SIMD&FP registers (V0-V31) instead of X0-X30/XZR
 * @sign: a general-register load sign-extends the @size bytes it reads
 * @size: bytes per register: 1, 2, 4, 8, or 16 (Q registers only)
 * @dst64: a general-register load writes the whole X register with the
 *	(sign- or zero-) extended value; false: a W write, which also
 *	zeroes bits 63:32.  Always true for an unsigned load of 8 bytes.
 * @mode: addressing mode, see enum a64_addr_mode
 * @reg_offset: the offset is register @rm, extended by @extend and shifted
 *	left by @shift (only with %A64_ADDR_OFFSET); otherwise it is @imm
 * @rt: first transfer register
 * @rt2: second one (pairs)
 * @rn: base register (31: SP)
 * @rm: offset register (31: XZR)
 * @extend: enum a64_extend, for @reg_offset
 * @shift: left shift of the extended @rm, 0 or log2(@size)
 * @imm: byte offset (already scaled), for immediate forms
 */
struct a64_ls {
	bool load;
	bool pair;
	bool simd;
	bool sign;
	bool dst64;
	unsigned int size;
	enum a64_addr_mode mode;
	bool reg_offset;
	unsigned int rt, rt2, rn, rm;
	enum a64_extend extend;
	unsigned int shift;
	int64_t imm;
};

/*
 * Decode insn.  Returns 0 and fills *ls, or -EINVAL and points *why at a
 * static string saying why the word is refused (ls is then undefined).
 */
int a64_decode_ls(uint32_t insn, struct a64_ls *ls, const char **why);

/* Whether a decoded access writes its base register back. */
static inline bool a64_ls_writeback(const struct a64_ls *ls)
{
	return ls->mode != A64_ADDR_OFFSET;
}

#endif
