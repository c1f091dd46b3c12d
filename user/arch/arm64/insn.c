// SPDX-License-Identifier: GPL-2.0
/*
 * A64 load/store decoder: see insn.h for what is decoded and refused.
 * The field names are the Arm ARM's (size, V, opc, imm12, imm9, imm7,
 * option, S, L, Rt, Rt2, Rn, Rm).
 */
#include <errno.h>
#include <string.h>

#include "arch/arm64/insn.h"

static inline uint32_t field(uint32_t insn, unsigned int lo, unsigned int bits)
{
	return (insn >> lo) & ((1u << bits) - 1);
}

static inline int64_t sfield(uint32_t insn, unsigned int lo, unsigned int bits)
{
	uint64_t v = field(insn, lo, bits);
	uint64_t sign = 1ull << (bits - 1);

	return (int64_t)((v ^ sign) - sign);
}

static int refuse(const char **why, const char *reason)
{
	*why = reason;
	return -EINVAL;
}

static unsigned int log2_size(unsigned int size)
{
	return size == 16 ? 4 : size == 8 ? 3 : size == 4 ? 2 : size == 2 ? 1 : 0;
}

/* "Load/store register (...)": op0 bits 29:28 = 11. */
static int decode_single(uint32_t insn, struct a64_ls *ls, const char **why)
{
	unsigned int sz = field(insn, 30, 2), opc = field(insn, 22, 2);
	bool uimm = field(insn, 24, 1);
	bool prepost = false;

	ls->simd = field(insn, 26, 1);
	if (uimm) {
		ls->mode = A64_ADDR_OFFSET;
	} else if (!field(insn, 21, 1)) {
		switch (field(insn, 10, 2)) {
		case 0:
			ls->mode = A64_ADDR_OFFSET;	/* LDUR/STUR */
			break;
		case 1:
			ls->mode = A64_ADDR_POST;
			prepost = true;
			break;
		case 2:
			return refuse(why, "unprivileged load/store (LDTR/STTR)");
		default:
			ls->mode = A64_ADDR_PRE;
			prepost = true;
			break;
		}
		ls->imm = sfield(insn, 12, 9);
	} else {
		switch (field(insn, 10, 2)) {
		case 0:
			return refuse(why, "atomic memory operation (LDADD, SWP, LDAPR ...)");
		case 2:
			break;
		default:
			return refuse(why, "pointer-authenticated load (LDRAA/LDRAB)");
		}
		ls->mode = A64_ADDR_OFFSET;
		ls->reg_offset = true;
		ls->rm = field(insn, 16, 5);
		ls->extend = field(insn, 13, 3);
		if (!(ls->extend & 2))
			return refuse(why, "unallocated register-offset extend");
	}

	if (ls->simd) {
		if (opc & 2) {
			if (sz)
				return refuse(why, "unallocated SIMD&FP load/store size");
			ls->size = 16;
		} else {
			ls->size = 1u << sz;
		}
		ls->load = opc & 1;
	} else {
		ls->size = 1u << sz;
		switch (opc) {
		case 0:
		case 1:
			ls->load = opc;
			ls->dst64 = sz == 3;
			break;
		case 2:
			if (sz == 3)
				return refuse(why, prepost ? "unallocated load/store encoding"
						   : "prefetch (PRFM/PRFUM)");
			/* LDRSB/LDRSH/LDRSW to X; sz 2 opc 2 is LDRSW. */
			ls->load = true;
			ls->sign = true;
			ls->dst64 = true;
			break;
		default:
			if (sz >= 2)
				return refuse(why, "unallocated load/store encoding");
			ls->load = true;	/* LDRSB/LDRSH to W */
			ls->sign = true;
			ls->dst64 = false;
			break;
		}
	}

	if (uimm)
		ls->imm = (int64_t)field(insn, 10, 12) << log2_size(ls->size);
	if (ls->reg_offset)
		ls->shift = field(insn, 12, 1) ? log2_size(ls->size) : 0;
	return 0;
}

/* "Load/store register pair (...)" and no-allocate pair: bits 29:28 = 10. */
static int decode_pair(uint32_t insn, struct a64_ls *ls, const char **why)
{
	unsigned int opc = field(insn, 30, 2), idx = field(insn, 23, 2);

	ls->pair = true;
	ls->simd = field(insn, 26, 1);
	ls->load = field(insn, 22, 1);
	ls->rt2 = field(insn, 10, 5);
	ls->mode = idx == 1 ? A64_ADDR_POST : idx == 3 ? A64_ADDR_PRE : A64_ADDR_OFFSET;

	if (ls->simd) {
		if (opc == 3)
			return refuse(why, "unallocated SIMD&FP pair size");
		ls->size = 4u << opc;
	} else {
		switch (opc) {
		case 0:
			ls->size = 4;
			break;
		case 1:
			if (!ls->load)
				return refuse(why, idx ? "memory tagging (STGP)"
						   : "unallocated load/store pair encoding");
			if (!idx)
				return refuse(why, "unallocated load/store pair encoding");
			ls->size = 4;	/* LDPSW */
			ls->sign = true;
			ls->dst64 = true;
			break;
		case 2:
			ls->size = 8;
			ls->dst64 = true;
			break;
		default:
			return refuse(why, "unallocated load/store pair encoding");
		}
	}
	ls->imm = sfield(insn, 15, 7) * (int64_t)ls->size;
	return 0;
}

int a64_decode_ls(uint32_t insn, struct a64_ls *ls, const char **why)
{
	int ret;

	memset(ls, 0, sizeof(*ls));
	/* Loads and stores: op0 (bits 28:25) = x1x0. */
	if (!field(insn, 27, 1) || field(insn, 25, 1))
		return refuse(why, "not a load/store instruction");
	ls->rt = field(insn, 0, 5);
	ls->rn = field(insn, 5, 5);

	switch (field(insn, 28, 2)) {
	case 0:
		if (field(insn, 26, 1))
			return refuse(why, "SIMD structure load/store (LD1..LD4, ST1..ST4)");
		return refuse(why, "exclusive or ordered load/store (LDXR, LDAR, STLR, CAS ...)");
	case 1:
		return refuse(why, "literal load, LDAPUR/STLUR or memory tagging");
	case 2:
		ret = decode_pair(insn, ls, why);
		break;
	default:
		ret = decode_single(insn, ls, why);
		break;
	}
	if (ret)
		return ret;

	/* CONSTRAINED UNPREDICTABLE cases: refuse rather than pick one. */
	if (ls->pair && ls->load && ls->rt == ls->rt2)
		return refuse(why, "load pair with Rt == Rt2");
	if (!ls->simd && ls->load && a64_ls_writeback(ls) && ls->rn != A64_REG_ZR_SP &&
	    (ls->rn == ls->rt || (ls->pair && ls->rn == ls->rt2)))
		return refuse(why, "load with writeback into its own base register");
	return 0;
}
