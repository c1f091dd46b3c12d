// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 load/store emulator of KVM_EXIT_ARM_NISV (user/arch/arm64/:
 * a64_decode_ls, a64_translate, a64_fetch_insn, a64_emulate) against any
 * instruction word, register file, translation registers and stage-1
 * tables.
 *
 * The input, as little-endian numbers (each XORed with a default, so that
 * zeros mean "ldp x1, x2, [x3]" with the MMU on, 4 KiB pages, 39-bit VAs
 * and registers pointing at 0x200000 + 0x100 * n):
 *   u8 flags (bit 0: data big-endian, bit 1: no SIMD&FP callbacks,
 *   bit 2: the SIMD&FP callbacks fail, bit 3: the syndrome's WnR is the
 *   opposite of the instruction's, bit 4: the syndrome has CM set), u32 instruction, u64 SCTLR_EL1,
 *   TCR_EL1, TTBR0_EL1, TTBR1_EL1, u64 X0-X30 and SP, u64 PC, u8 offset
 *   of the fault IPA into the first access, u8 mask of MMIO accesses that
 *   fail, four u64 values the MMIO loads return; the rest writes guest
 *   RAM (64 KiB at 0x40000000, an allocation of exactly that size, zeroed
 *   first), where the tables are: pairs of u16 index of an 8-byte word
 *   (modulo the words of RAM) and u64 value.  Sparse, so that a small
 *   input can build tables and mutations land on what matters.
 *
 * Each input runs a64_emulate() twice on copies of the same vCPU: first
 * with a fault IPA no access can have (it must refuse, and change
 * nothing), then with the first IPA the first run translated plus the
 * offset.  Oracles, besides the sanitizers: a register number is below
 * 32; every MMIO access is 1, 2, 4 or 8 bytes, at most four of them, at
 * IPAs the translator returned, all of the decoded size; success exactly
 * when the PC advanced by 4; a failure writes no register; success writes
 * only the decoded destination and base registers, the fault IPA is
 * inside one of the accesses and the syndrome agrees, stores store the source register's bits,
 * zero-extending loads leave no bits above their size (32 for W); a word
 * the decoder refuses, or one its syndrome contradicts, makes no callback
 * at all.  a64_translate() keeps
 * the page offset, gives VA = IPA with the MMU off, and never reads
 * outside guest RAM (AddressSanitizer).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arm64/emulate.h"
#include "arch/arm64/insn.h"
#include "arch/arm64/mmu.h"
#include "fz.h"

#define RAM_GPA		0x40000000ull
#define RAM_SIZE	0x10000ull
#define MAX_XLATE	16
#define MAX_MMIO	4

struct cpu {
	uint64_t x[32];
	uint8_t v[32][16];
	uint64_t pc;
	uint32_t reg_written;	/* bit n: X[n]/SP written */
	uint32_t vreg_written;
	unsigned int calls;	/* callbacks of any kind */
	/* what the translator handed out */
	uint64_t xlate_ipa[MAX_XLATE];
	unsigned int nxlate;
	/* MMIO */
	struct {
		uint64_t ipa, val;
		unsigned int len;
		bool write;
	} mmio[MAX_MMIO];
	unsigned int nmmio;
	uint8_t fail_mask;
	uint64_t load_val[MAX_MMIO];
	bool vreg_fail;
	const struct a64_mmu *mmu;
	const struct guest_mem *mem;
};

static uint8_t *ram;
static struct guest_mem mem;

static void reg_check(unsigned int n)
{
	if (n >= 32)
		fz_fail("register number %u", n);
}

static uint64_t c_get_reg(void *o, unsigned int n)
{
	struct cpu *c = o;

	reg_check(n);
	c->calls++;
	return c->x[n];
}

static void c_set_reg(void *o, unsigned int n, uint64_t v)
{
	struct cpu *c = o;

	reg_check(n);
	c->calls++;
	c->x[n] = v;
	c->reg_written |= 1u << n;
}

static int c_get_vreg(void *o, unsigned int n, uint8_t v[16])
{
	struct cpu *c = o;

	reg_check(n);
	c->calls++;
	if (c->vreg_fail)
		return -EIO;
	memcpy(v, c->v[n], 16);
	return 0;
}

static int c_set_vreg(void *o, unsigned int n, const uint8_t v[16])
{
	struct cpu *c = o;

	reg_check(n);
	c->calls++;
	if (c->vreg_fail)
		return -EIO;
	memcpy(c->v[n], v, 16);
	c->vreg_written |= 1u << n;
	return 0;
}

static uint64_t c_get_pc(void *o)
{
	struct cpu *c = o;

	c->calls++;
	return c->pc;
}

static void c_set_pc(void *o, uint64_t pc)
{
	struct cpu *c = o;

	c->calls++;
	c->pc = pc;
}

static void check_xlate(const struct a64_mmu *mmu, uint64_t va, uint64_t ipa)
{
	if (!(mmu->sctlr & A64_SCTLR_M) ? ipa != va : (ipa & 0xfff) != (va & 0xfff))
		fz_fail("VA 0x%llx translated to IPA 0x%llx", (unsigned long long)va,
			(unsigned long long)ipa);
	if (ipa >> 52)
		fz_fail("IPA 0x%llx above 52 bits", (unsigned long long)ipa);
}

static int c_translate(void *o, uint64_t va, uint64_t *ipa, const char **why)
{
	struct cpu *c = o;
	int ret;

	c->calls++;
	ret = a64_translate(c->mmu, c->mem, va, false, ipa, why);
	if (ret)
		return ret;
	check_xlate(c->mmu, va, *ipa);
	if (c->nxlate >= MAX_XLATE)
		fz_fail("more than %u translations for one instruction", MAX_XLATE);
	c->xlate_ipa[c->nxlate++] = *ipa;
	return 0;
}

static bool translated(const struct cpu *c, uint64_t ipa)
{
	unsigned int i;

	for (i = 0; i < c->nxlate; i++)
		if (c->xlate_ipa[i] == ipa)
			return true;
	return false;
}

static int c_mmio(void *o, uint64_t ipa, unsigned int len, bool write, uint64_t *val)
{
	struct cpu *c = o;
	unsigned int i = c->nmmio;

	c->calls++;
	if (len != 1 && len != 2 && len != 4 && len != 8)
		fz_fail("MMIO access of %u bytes", len);
	if (i >= MAX_MMIO)
		fz_fail("more than %u MMIO accesses", MAX_MMIO);
	/* Both ends of the access were translated (one call for one byte). */
	if (!translated(c, ipa) || (len > 1 && !translated(c, ipa + len - 1)))
		fz_fail("MMIO access at 0x%llx+%u the translator never returned",
			(unsigned long long)ipa, len);
	if (write && len < 8 && *val >> (8 * len))
		fz_fail("store of %u bytes with value 0x%llx", len, (unsigned long long)*val);
	c->mmio[i].ipa = ipa;
	c->mmio[i].len = len;
	c->mmio[i].write = write;
	c->mmio[i].val = write ? *val : 0;
	c->nmmio++;
	if (c->fail_mask & (1u << i))
		return -EIO;
	if (!write)
		*val = len == 8 ? c->load_val[i] : c->load_val[i] & ((1ull << (8 * len)) - 1);
	return 0;
}

/* What a64_emulate() may leave changed, and that it did it right. */
static void check(const struct cpu *before, const struct cpu *c, int ret, const char *why,
		  uint32_t insn, uint64_t fault_ipa, uint64_t iss, bool data_be, bool no_vreg)
{
	const char *dwhy = NULL;
	struct a64_ls ls;
	int dret = a64_decode_ls(insn, &ls, &dwhy);
	uint32_t allowed = 0, vallowed = 0;
	unsigned int i, n, plen;
	bool hit = false;

	if (ret && !why)
		fz_fail("error %d without a reason", ret);
	if (dret) {
		if (ret != dret)
			fz_fail("decoder refuses %08x (%s) but a64_emulate returned %d", insn,
				dwhy, ret);
		if (c->calls)
			fz_fail("refused word %08x made %u callbacks", insn, c->calls);
		return;
	}
	if (ls.size != 1 && ls.size != 2 && ls.size != 4 && ls.size != 8 && ls.size != 16)
		fz_fail("%08x: size %u", insn, ls.size);
	if ((ls.size == 16 && !ls.simd) || (ls.sign && ls.simd) ||
	    (ls.reg_offset && ls.mode != A64_ADDR_OFFSET) || ls.rt > 31 || ls.rt2 > 31 ||
	    ls.rn > 31 || ls.rm > 31 || ls.shift > 4)
		fz_fail("%08x: inconsistent decode", insn);
	if ((iss & A64_ISS_CM) || !(iss & A64_ISS_WNR) != ls.load) {
		if (!ret || c->calls)
			fz_fail("%08x: syndrome 0x%llx contradicts it, yet returned %d after %u callbacks",
				insn, (unsigned long long)iss, ret, c->calls);
		return;
	}
	if (!data_be && !(ls.simd && no_vreg) && !c->calls)
		fz_fail("%08x: decoded but not attempted", insn);

	if (ret) {
		if (c->pc != before->pc || c->reg_written || c->vreg_written ||
		    memcmp(c->x, before->x, sizeof(c->x)) || memcmp(c->v, before->v, sizeof(c->v)))
			fz_fail("%08x failed (%d: %s) but changed registers or PC", insn, ret, why);
		return;
	}

	if (data_be || (ls.simd && no_vreg))
		fz_fail("%08x emulated despite big-endian data or no SIMD&FP callbacks", insn);
	if (c->pc != before->pc + 4)
		fz_fail("%08x succeeded but PC moved from 0x%llx to 0x%llx", insn,
			(unsigned long long)before->pc, (unsigned long long)c->pc);
	plen = ls.size > 8 ? 8 : ls.size;
	n = (ls.pair ? 2 : 1) * (ls.size > 8 ? 2 : 1);
	if (c->nmmio != n)
		fz_fail("%08x: %u MMIO accesses, want %u", insn, c->nmmio, n);
	for (i = 0; i < n; i++) {
		if (c->mmio[i].len != plen || c->mmio[i].write == ls.load)
			fz_fail("%08x: access %u of %u bytes, write %d", insn, i,
				c->mmio[i].len, c->mmio[i].write);
		if (fault_ipa - c->mmio[i].ipa < plen)
			hit = true;
	}
	if (!hit)
		fz_fail("%08x succeeded but fault IPA 0x%llx is none of its accesses", insn,
			(unsigned long long)fault_ipa);

	if (!ls.load && !ls.simd) {
		uint64_t src = ls.rt == 31 ? 0 : before->x[ls.rt];

		if (ls.size < 8)
			src &= (1ull << (8 * ls.size)) - 1;
		if (c->mmio[0].val != src)
			fz_fail("%08x stored 0x%llx, Rt holds 0x%llx", insn,
				(unsigned long long)c->mmio[0].val, (unsigned long long)src);
	}
	if (ls.load && ls.simd) {
		vallowed = 1u << ls.rt;
		if (ls.pair)
			vallowed |= 1u << ls.rt2;
	}
	if (ls.load && !ls.simd) {
		for (i = 0; i < (ls.pair ? 2u : 1u); i++) {
			unsigned int r = i ? ls.rt2 : ls.rt;
			uint64_t v = c->x[r];

			if (r == 31)
				continue;
			allowed |= 1u << r;
			if (!ls.dst64 && v >> 32)
				fz_fail("%08x: W load left 0x%llx in X%u", insn,
					(unsigned long long)v, r);
			if (!ls.sign && ls.size < 8 && v >> (8 * ls.size))
				fz_fail("%08x: zero-extending load of %u left 0x%llx", insn,
					ls.size, (unsigned long long)v);
		}
	}
	if (a64_ls_writeback(&ls))
		allowed |= 1u << ls.rn;
	if (c->reg_written & ~allowed)
		fz_fail("%08x wrote registers 0x%x, may write 0x%x", insn, c->reg_written,
			allowed);
	if (c->vreg_written & ~vallowed)
		fz_fail("%08x wrote V registers 0x%x, may write 0x%x", insn,
			c->vreg_written, vallowed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct a64_emu_ops ops = {
		.get_reg = c_get_reg, .set_reg = c_set_reg,
		.get_vreg = c_get_vreg, .set_vreg = c_set_vreg,
		.get_pc = c_get_pc, .set_pc = c_set_pc,
		.translate = c_translate, .mmio = c_mmio,
	};
	struct cpu init, c;
	struct a64_mmu mmu;
	const char *why;
	unsigned int i;
	uint8_t flags, off;
	uint32_t insn, word;
	uint64_t ipa, iss;
	struct a64_ls ls;
	int ret;

	if (!ram) {
		ram = aligned_alloc(4096, RAM_SIZE);
		if (!ram || guest_mem_add(&mem, RAM_GPA, RAM_SIZE, ram))
			fz_fail("guest RAM");
	}
	memset(&init, 0, sizeof(init));
	flags = fz_u8(&f);
	insn = fz_u32(&f) ^ 0xa9400861;	/* ldp x1, x2, [x3] */
	mmu.sctlr = fz_u64(&f) ^ A64_SCTLR_M;
	mmu.tcr = fz_u64(&f) ^ (25ull << A64_TCR_T0SZ_SHIFT | 25ull << A64_TCR_T1SZ_SHIFT |
				2ull << A64_TCR_TG1_SHIFT | 5ull << A64_TCR_IPS_SHIFT);
	mmu.ttbr0 = fz_u64(&f) ^ RAM_GPA;
	mmu.ttbr1 = fz_u64(&f) ^ (RAM_GPA + 0x1000);
	for (i = 0; i < 32; i++) {
		init.x[i] = fz_u64(&f) ^ (0x200000 + 0x100 * i);
		memset(init.v[i], 0x40 + i, 16);
	}
	init.pc = fz_u64(&f) ^ 0x1000;
	off = fz_u8(&f);
	init.fail_mask = fz_u8(&f);
	for (i = 0; i < MAX_MMIO; i++)
		init.load_val[i] = fz_u64(&f);
	memset(ram, 0, RAM_SIZE);
	while (f.n) {
		uint64_t at = (fz_u16(&f) % (RAM_SIZE / 8)) * 8, val = htole64(fz_u64(&f));

		memcpy(ram + at, &val, 8);
	}
	init.vreg_fail = flags & 4;
	init.mmu = &mmu;
	init.mem = &mem;
	ops.data_be = flags & 1;
	if (flags & 2)
		ops.get_vreg = NULL, ops.set_vreg = NULL;

	/* The fetch path: misaligned PCs refused, the MMU-off case identity. */
	ret = a64_fetch_insn(&mmu, &mem, init.pc, &word, &why);
	if (!ret && (init.pc & 3))
		fz_fail("fetched from misaligned PC 0x%llx", (unsigned long long)init.pc);
	if (!a64_translate(&mmu, &mem, init.pc, true, &ipa, &why))
		check_xlate(&mmu, init.pc, ipa);

	/* The syndrome: WnR as the instruction (unless flipped), CM if asked. */
	iss = !a64_decode_ls(insn, &ls, &why) && !ls.load ? A64_ISS_WNR : 0;
	if (flags & 8)
		iss ^= A64_ISS_WNR;
	if (flags & 16)
		iss |= A64_ISS_CM;

	/* A fault IPA no access can have: refused, nothing changed, no MMIO. */
	c = init;
	ops.opaque = &c;
	why = NULL;
	ret = a64_emulate(&ops, insn, ~0ull, iss, &why);
	if (!ret)
		fz_fail("%08x emulated with fault IPA ~0", insn);
	if (c.nmmio)
		fz_fail("%08x: MMIO before the fault IPA was checked", insn);
	check(&init, &c, ret, why, insn, ~0ull, iss, ops.data_be, flags & 2);

	/* Now with the IPA of its first access (plus an offset). */
	if (!c.nxlate)
		return 0;
	ipa = c.xlate_ipa[0] + (off & 15);
	c = init;
	ops.opaque = &c;
	why = NULL;
	ret = a64_emulate(&ops, insn, ipa, iss, &why);
	check(&init, &c, ret, why, insn, ipa, iss, ops.data_be, flags & 2);
	return 0;
}
