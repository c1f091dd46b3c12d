// SPDX-License-Identifier: GPL-2.0
/*
 * Stage-1 walk of an arm64 guest's EL1&0 translation tables: see mmu.h.
 * Follows the Arm ARM's VMSAv8-64 translation (D8 in recent editions):
 * a granule of 2^g bytes resolves g - 3 VA bits per level, the walk starts
 * at the level that leaves 64 - TxSZ bits to resolve, and the first table
 * holds only as many entries as the bits left for it.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "arch/arm64/mmu.h"

#define BITS(hi, lo)	((~0ull >> (63 - (hi))) & (~0ull << (lo)))

static int fail(const char **why, const char *reason, int err)
{
	*why = reason;
	return err;
}

static unsigned int pa_bits(uint64_t tcr, unsigned int granule, bool ds)
{
	static const unsigned char ips[8] = { 32, 36, 40, 42, 44, 48, 52, 52 };
	unsigned int bits = ips[(tcr >> A64_TCR_IPS_SHIFT) & 7];

	/* 52 bits: 64 KiB pages (FEAT_LPA), or 4/16 KiB ones with LPA2. */
	if (bits == 52 && granule != 16 && !ds)
		bits = 48;
	return bits;
}

/*
 * Output address of a TTBR (hi_at 2) or, without LPA2, of a descriptor
 * (hi_at 12): bits [47:lo], and [51:48] from bits [hi_at+3:hi_at] at 52
 * bits (FEAT_LPA's 64 KiB pages; a TTBR's encoding is the same for LPA2).
 */
static uint64_t out_addr(uint64_t d, unsigned int lo, unsigned int pa, unsigned int hi_at)
{
	uint64_t oa = d & BITS(47, lo);

	if (pa == 52)
		oa |= ((d >> hi_at) & 0xf) << 48;
	return oa;
}

/* A descriptor's output address: with LPA2, [49:lo] in place, [51:50] in [9:8]. */
static uint64_t desc_addr(uint64_t d, unsigned int lo, unsigned int pa, bool ds)
{
	if (ds)
		return (d & BITS(49, lo)) | ((d >> 8) & 3) << 50;
	return out_addr(d, lo, pa, 12);
}

static bool block_allowed(unsigned int granule, int level, unsigned int pa, bool ds)
{
	switch (granule) {
	case 12:
		return level == 1 || level == 2 || (level == 0 && ds);
	case 14:
		return level == 2 || (level == 1 && ds);
	default:
		return level == 2 || (level == 1 && pa == 52);
	}
}

int a64_translate(const struct a64_mmu *mmu, const struct guest_mem *mem,
		  uint64_t va, bool fetch, uint64_t *ipa, const char **why)
{
	/* indexed by level + 1: LPA2's 52-bit VAs start at level -1 */
	static const char *const invalid[5] = {
		"translation fault: invalid descriptor at level -1",
		"translation fault: invalid descriptor at level 0",
		"translation fault: invalid descriptor at level 1",
		"translation fault: invalid descriptor at level 2",
		"translation fault: invalid descriptor at level 3",
	};
	static const char *const outside[5] = {
		"level -1 table outside guest RAM",
		"level 0 table outside guest RAM",
		"level 1 table outside guest RAM",
		"level 2 table outside guest RAM",
		"level 3 table outside guest RAM",
	};
	uint64_t tcr = mmu->tcr, ttbr, base, mask;
	unsigned int tsz, granule, va_bits, stride, levels, pa, hi;
	bool upper, tbi, epd, ds;
	int level, first;

	if (!(mmu->sctlr & A64_SCTLR_M)) {
		if (va >> 48)
			return fail(why, "address size fault: MMU off and VA above 48 bits",
				    -EFAULT);
		*ipa = va;
		return 0;
	}
	if (mmu->sctlr & A64_SCTLR_EE)
		return fail(why, "big-endian EL1 (SCTLR_EL1.EE) not supported", -EOPNOTSUPP);

	upper = (va >> 55) & 1;
	if (upper) {
		static const unsigned char tg1[4] = { 0, 14, 12, 16 };

		tsz = (tcr >> A64_TCR_T1SZ_SHIFT) & 0x3f;
		granule = tg1[(tcr >> A64_TCR_TG1_SHIFT) & 3];
		tbi = (tcr & A64_TCR_TBI1) && !(fetch && (tcr & A64_TCR_TBID1));
		epd = tcr & A64_TCR_EPD1;
		ttbr = mmu->ttbr1;
	} else {
		static const unsigned char tg0[4] = { 12, 16, 14, 0 };

		tsz = (tcr >> A64_TCR_T0SZ_SHIFT) & 0x3f;
		granule = tg0[(tcr >> A64_TCR_TG0_SHIFT) & 3];
		tbi = (tcr & A64_TCR_TBI0) && !(fetch && (tcr & A64_TCR_TBID0));
		epd = tcr & A64_TCR_EPD0;
		ttbr = mmu->ttbr0;
	}
	if (epd)
		return fail(why, "translation fault: table walks disabled (EPDx)", -EFAULT);
	if (!granule)
		return fail(why, "reserved translation granule (TCR_EL1.TGx)", -EOPNOTSUPP);
	/* LPA2 (FEAT_LPA2): TCR_EL1.DS widens 4 and 16 KiB granules to 52 bits. */
	ds = (tcr & A64_TCR_DS) && granule != 16;
	if (tsz < (ds || granule == 16 ? 12 : 16))
		return fail(why, "52-bit virtual addresses without LPA2 or 64 KiB pages "
			    "(TxSZ below 16) not supported", -EOPNOTSUPP);
	if (tsz > 48)
		return fail(why, "TxSZ above 48 not supported", -EOPNOTSUPP);

	va_bits = 64 - tsz;
	stride = granule - 3;
	levels = (va_bits - granule + stride - 1) / stride;
	if (levels < 1 || levels > 5)
		return fail(why, "TxSZ out of range for the granule", -EOPNOTSUPP);

	/* VA[hi-1:va_bits] must all equal VA[55]: else a translation fault. */
	hi = tbi ? 56 : 64;
	mask = (hi == 64 ? ~0ull : BITS(hi - 1, 0)) & ~BITS(va_bits - 1, 0);
	if ((va & mask) != (upper ? mask : 0))
		return fail(why, "translation fault: VA outside the range of TxSZ", -EFAULT);

	pa = pa_bits(tcr, granule, ds);
	first = 4 - (int)levels;
	level = first;
	{
		/* The first table resolves what the other levels leave. */
		unsigned int top = va_bits - granule - stride * (levels - 1);
		unsigned int align = top + 3 < 6 ? 6 : top + 3;

		base = out_addr(ttbr, 1, pa, 2) & ~BITS(align - 1, 0);
		if (pa < 52 && (base >> pa))
			return fail(why, "address size fault: TTBR above IPS", -EFAULT);
	}

	for (;; level++) {
		unsigned int shift = granule + stride * (3 - level);
		unsigned int bits = level == first ? va_bits - shift : stride;
		uint64_t idx = (va >> shift) & BITS(bits - 1, 0);
		const void *p = guest_mem_ptr(mem, base + idx * 8, 8);
		uint64_t d, oa;

		if (!p)
			return fail(why, outside[level + 1], -EFAULT);
		memcpy(&d, p, 8);
		d = le64toh(d);
		if (!(d & 1))
			return fail(why, invalid[level + 1], -EFAULT);
		if (level == 3 || !(d & 2)) {
			if (level == 3 && !(d & 2))
				return fail(why, invalid[4], -EFAULT);
			if (level < 3 && !block_allowed(granule, level, pa, ds))
				return fail(why, "translation fault: block descriptor at a level "
					    "the granule has no blocks", -EFAULT);
			oa = desc_addr(d, shift, pa, ds);
			if (pa < 52 && (oa >> pa))
				return fail(why, "address size fault: output above IPS",
					    -EFAULT);
			*ipa = oa | (va & BITS(shift - 1, 0));
			return 0;
		}
		base = desc_addr(d, granule, pa, ds);
		if (pa < 52 && (base >> pa))
			return fail(why, "address size fault: table above IPS", -EFAULT);
	}
}

int a64_fetch_insn(const struct a64_mmu *mmu, const struct guest_mem *mem,
		   uint64_t pc, uint32_t *insn, const char **why)
{
	uint64_t ipa;
	const void *p;
	uint32_t w;
	int ret;

	if (pc & 3)
		return fail(why, "misaligned PC", -EINVAL);
	ret = a64_translate(mmu, mem, pc, true, &ipa, why);
	if (ret)
		return ret;
	p = guest_mem_ptr(mem, ipa, 4);
	if (!p)
		return fail(why, "instruction not in guest RAM", -EFAULT);
	memcpy(&w, p, 4);
	*insn = le32toh(w);
	return 0;
}
