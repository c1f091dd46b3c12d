// SPDX-License-Identifier: GPL-2.0
/*
 * One A64 load/store emulated on behalf of a KVM_EXIT_ARM_NISV: see
 * emulate.h.
 */
#include <errno.h>
#include <string.h>

#include "arch/arm64/emulate.h"
#include "arch/arm64/insn.h"

/* At most two registers of 16 bytes, 8 bytes per access. */
#define MAX_CHUNKS	4

struct chunk {
	uint64_t ipa;
	unsigned int len;
	unsigned int el;	/* element: 0 Rt, 1 Rt2 */
	unsigned int off;	/* byte offset inside the element */
};

static int fail(const char **why, const char *reason, int err)
{
	*why = reason;
	return err;
}

static uint64_t offset(const struct a64_emu_ops *ops, const struct a64_ls *ls)
{
	uint64_t m;

	if (!ls->reg_offset)
		return (uint64_t)ls->imm;
	m = ls->rm == A64_REG_ZR_SP ? 0 : ops->get_reg(ops->opaque, ls->rm);
	switch (ls->extend) {
	case A64_EXT_UXTW:
		m = (uint32_t)m;
		break;
	case A64_EXT_SXTW:
		m = (uint64_t)(int64_t)(int32_t)(uint32_t)m;
		break;
	default:
		break;
	}
	return m << ls->shift;
}

static uint64_t get_le(const uint8_t *p, unsigned int len)
{
	uint64_t v = 0;

	while (len--)
		v = v << 8 | p[len];
	return v;
}

static void put_le(uint8_t *p, unsigned int len, uint64_t v)
{
	unsigned int i;

	for (i = 0; i < len; i++, v >>= 8)
		p[i] = v;
}

/* Translate [va, va + len) into one contiguous IPA range. */
static int translate(const struct a64_emu_ops *ops, uint64_t va, unsigned int len,
		     uint64_t *ipa, const char **why)
{
	uint64_t last;
	int ret;

	ret = ops->translate(ops->opaque, va, ipa, why);
	if (ret)
		return ret;
	if (len == 1)
		return 0;
	ret = ops->translate(ops->opaque, va + len - 1, &last, why);
	if (ret)
		return ret;
	if (last != *ipa + len - 1)
		return fail(why, "access crosses into a discontiguous page", -EFAULT);
	return 0;
}

int a64_emulate(const struct a64_emu_ops *ops, uint32_t insn, uint64_t fault_ipa,
		uint64_t esr_iss, const char **why)
{
	struct chunk c[MAX_CHUNKS];
	uint8_t data[2][16];
	unsigned int nc = 0, nel, el, i, plen;
	uint64_t base, off, addr;
	bool hit = false;
	struct a64_ls ls;
	int ret;

	ret = a64_decode_ls(insn, &ls, why);
	if (ret)
		return ret;
	if (ls.simd && (!ops->get_vreg || !ops->set_vreg))
		return fail(why, "SIMD&FP registers not available to the emulator",
			    -EOPNOTSUPP);
	if (ops->data_be)
		return fail(why, "big-endian data accesses not supported", -EOPNOTSUPP);
	if (esr_iss & A64_ISS_CM)
		return fail(why, "cache maintenance on MMIO", -EOPNOTSUPP);
	if (!(esr_iss & A64_ISS_WNR) != ls.load)
		return fail(why, ls.load ? "syndrome says store, the instruction loads"
				: "syndrome says load, the instruction stores", -EFAULT);

	base = ops->get_reg(ops->opaque, ls.rn);
	off = offset(ops, &ls);
	addr = ls.mode == A64_ADDR_POST ? base : base + off;
	nel = ls.pair ? 2 : 1;
	plen = ls.size > 8 ? 8 : ls.size;

	for (el = 0; el < nel; el++) {
		for (i = 0; i < ls.size; i += plen) {
			struct chunk *ch = &c[nc++];

			ch->len = plen;
			ch->el = el;
			ch->off = i;
			ret = translate(ops, addr + el * ls.size + i, plen, &ch->ipa, why);
			if (ret)
				return ret;
			if (fault_ipa - ch->ipa < plen)
				hit = true;
		}
	}
	if (!hit)
		return fail(why, "fault IPA is not one of the instruction's accesses",
			    -EFAULT);

	memset(data, 0, sizeof(data));
	if (!ls.load) {
		for (el = 0; el < nel; el++) {
			unsigned int r = el ? ls.rt2 : ls.rt;

			if (ls.simd) {
				ret = ops->get_vreg(ops->opaque, r, data[el]);
				if (ret)
					return fail(why, "cannot read a SIMD&FP register", ret);
			} else {
				put_le(data[el], 8, r == A64_REG_ZR_SP ? 0 :
				       ops->get_reg(ops->opaque, r));
			}
		}
	}

	for (i = 0; i < nc; i++) {
		uint64_t v = ls.load ? 0 : get_le(data[c[i].el] + c[i].off, c[i].len);

		ret = ops->mmio(ops->opaque, c[i].ipa, c[i].len, !ls.load, &v);
		if (ret)
			return fail(why, "MMIO access failed", ret);
		if (ls.load)
			put_le(data[c[i].el] + c[i].off, c[i].len, v);
	}

	if (ls.load) {
		for (el = 0; el < nel; el++) {
			unsigned int r = el ? ls.rt2 : ls.rt;
			uint64_t v;

			if (ls.simd) {
				ret = ops->set_vreg(ops->opaque, r, data[el]);
				if (ret)
					return fail(why, "cannot write a SIMD&FP register", ret);
				continue;
			}
			if (r == A64_REG_ZR_SP)
				continue;
			v = get_le(data[el], ls.size);
			if (ls.sign && ls.size < 8) {
				uint64_t sign = 1ull << (ls.size * 8 - 1);

				v = (v ^ sign) - sign;
			}
			if (!ls.dst64)
				v = (uint32_t)v;
			ops->set_reg(ops->opaque, r, v);
		}
	}
	if (a64_ls_writeback(&ls))
		ops->set_reg(ops->opaque, ls.rn, base + off);
	ops->set_pc(ops->opaque, ops->get_pc(ops->opaque) + 4);
	return 0;
}
