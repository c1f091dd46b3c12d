// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/arch/arm64/: the A64 load/store decoder (insn.c), the
 * stage-1 table walker (mmu.c) and the emulation of a data abort without a
 * syndrome (emulate.c).
 *
 * The instruction words are constants, each beside its assembly text.
 * They were computed once with Debian's binutils-aarch64-linux-gnu
 * (aarch64-linux-gnu-as, then objdump -d) and are checked again by
 * tools/testing/unit/arm64-insn-words, which assembles every quoted text
 * of this file and compares the words; the tests do not need the
 * assembler.  What the emulator does with each word is checked against a
 * CPU by tools/testing/unit/arm64-insn-diff.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arm64/emulate.h"
#include "arch/arm64/insn.h"
#include "arch/arm64/mmu.h"
#include "tap.h"

#define O	A64_ADDR_OFFSET
#define PRE	A64_ADDR_PRE
#define POST	A64_ADDR_POST
#define LSL	A64_EXT_LSL
#define UXTW	A64_EXT_UXTW
#define SXTW	A64_EXT_SXTW
#define SXTX	A64_EXT_SXTX

/* --- the decoder ------------------------------------------------------------ */

struct dec_case {
	uint32_t insn;
	const char *text;
	int load, pair, simd, sign, dst64;
	unsigned int size;
	enum a64_addr_mode mode;
	int reg;
	unsigned int rt, rt2, rn, rm;
	int ext;
	unsigned int shift;
	int64_t imm;
};

static const struct dec_case dec_cases[] = {
	/* insn, text, load pair simd sign dst64 size mode reg rt rt2 rn rm ext shift imm */
	{ 0xf9400441, "ldr x1, [x2, #8]",             1, 0, 0, 0, 1, 8, O,    0, 1, 0, 2, 0, 0, 0, 8 },
	{ 0xb97ffc83, "ldr w3, [x4, #16380]",         1, 0, 0, 0, 0, 4, O,    0, 3, 0, 4, 0, 0, 0, 16380 },
	{ 0xf93fffe5, "str x5, [sp, #32760]",         0, 0, 0, 0, 1, 8, O,    0, 5, 0, 31, 0, 0, 0, 32760 },
	{ 0x393ffce6, "strb w6, [x7, #4095]",         0, 0, 0, 0, 0, 1, O,    0, 6, 0, 7, 0, 0, 0, 4095 },
	{ 0x39400128, "ldrb w8, [x9]",                1, 0, 0, 0, 0, 1, O,    0, 8, 0, 9, 0, 0, 0, 0 },
	{ 0x7900056a, "strh w10, [x11, #2]",          0, 0, 0, 0, 0, 2, O,    0, 10, 0, 11, 0, 0, 0, 2 },
	{ 0x797ffdac, "ldrh w12, [x13, #8190]",       1, 0, 0, 0, 0, 2, O,    0, 12, 0, 13, 0, 0, 0, 8190 },
	{ 0x398005ee, "ldrsb x14, [x15, #1]",         1, 0, 0, 1, 1, 1, O,    0, 14, 0, 15, 0, 0, 0, 1 },
	{ 0x39c00630, "ldrsb w16, [x17, #1]",         1, 0, 0, 1, 0, 1, O,    0, 16, 0, 17, 0, 0, 0, 1 },
	{ 0x79800672, "ldrsh x18, [x19, #2]",         1, 0, 0, 1, 1, 2, O,    0, 18, 0, 19, 0, 0, 0, 2 },
	{ 0x79c006b4, "ldrsh w20, [x21, #2]",         1, 0, 0, 1, 0, 2, O,    0, 20, 0, 21, 0, 0, 0, 2 },
	{ 0xb98006f6, "ldrsw x22, [x23, #4]",         1, 0, 0, 1, 1, 4, O,    0, 22, 0, 23, 0, 0, 0, 4 },
	{ 0xf85f8041, "ldur x1, [x2, #-8]",           1, 0, 0, 0, 1, 8, O,    0, 1, 0, 2, 0, 0, 0, -8 },
	{ 0xb80ff083, "stur w3, [x4, #255]",          0, 0, 0, 0, 0, 4, O,    0, 3, 0, 4, 0, 0, 0, 255 },
	{ 0x38d000c5, "ldursb w5, [x6, #-256]",       1, 0, 0, 1, 0, 1, O,    0, 5, 0, 6, 0, 0, 0, -256 },
	{ 0xb89ff107, "ldursw x7, [x8, #-1]",         1, 0, 0, 1, 1, 4, O,    0, 7, 0, 8, 0, 0, 0, -1 },
	{ 0xf8408441, "ldr x1, [x2], #8",             1, 0, 0, 0, 1, 8, POST, 0, 1, 0, 2, 0, 0, 0, 8 },
	{ 0xb85fcc83, "ldr w3, [x4, #-4]!",           1, 0, 0, 0, 0, 4, PRE,  0, 3, 0, 4, 0, 0, 0, -4 },
	{ 0xf81f0fe5, "str x5, [sp, #-16]!",          0, 0, 0, 0, 1, 8, PRE,  0, 5, 0, 31, 0, 0, 0, -16 },
	{ 0x381ff4e6, "strb w6, [x7], #-1",           0, 0, 0, 0, 0, 1, POST, 0, 6, 0, 7, 0, 0, 0, -1 },
	{ 0x78802528, "ldrsh x8, [x9], #2",           1, 0, 0, 1, 1, 2, POST, 0, 8, 0, 9, 0, 0, 0, 2 },
	{ 0xb8804d6a, "ldrsw x10, [x11, #4]!",        1, 0, 0, 1, 1, 4, PRE,  0, 10, 0, 11, 0, 0, 0, 4 },
	{ 0x38cff5ac, "ldrsb w12, [x13], #255",       1, 0, 0, 1, 0, 1, POST, 0, 12, 0, 13, 0, 0, 0, 255 },
	{ 0xf8636841, "ldr x1, [x2, x3]",             1, 0, 0, 0, 1, 8, O,    1, 1, 0, 2, 3, LSL, 0, 0 },
	{ 0xf8637841, "ldr x1, [x2, x3, lsl #3]",     1, 0, 0, 0, 1, 8, O,    1, 1, 0, 2, 3, LSL, 3, 0 },
	{ 0xb86648a4, "ldr w4, [x5, w6, uxtw]",       1, 0, 0, 0, 0, 4, O,    1, 4, 0, 5, 6, UXTW, 0, 0 },
	{ 0xb86658a4, "ldr w4, [x5, w6, uxtw #2]",    1, 0, 0, 0, 0, 4, O,    1, 4, 0, 5, 6, UXTW, 2, 0 },
	{ 0xf829d907, "str x7, [x8, w9, sxtw #3]",    0, 0, 0, 0, 1, 8, O,    1, 7, 0, 8, 9, SXTW, 3, 0 },
	{ 0x382ce96a, "strb w10, [x11, x12, sxtx]",   0, 0, 0, 0, 0, 1, O,    1, 10, 0, 11, 12, SXTX, 0, 0 },
	{ 0x786ff9cd, "ldrh w13, [x14, x15, sxtx #1]", 1, 0, 0, 0, 0, 2, O,   1, 13, 0, 14, 15, SXTX, 1, 0 },
	{ 0xb8b2da30, "ldrsw x16, [x17, w18, sxtw #2]", 1, 0, 0, 1, 1, 4, O,  1, 16, 0, 17, 18, SXTW, 2, 0 },
	{ 0x38757a93, "ldrb w19, [x20, x21, lsl #0]", 1, 0, 0, 0, 0, 1, O,    1, 19, 0, 20, 21, LSL, 0, 0 },
	{ 0xf87f6be1, "ldr x1, [sp, xzr]",            1, 0, 0, 0, 1, 8, O,    1, 1, 0, 31, 31, LSL, 0, 0 },
	{ 0xa9400861, "ldp x1, x2, [x3]",             1, 1, 0, 0, 1, 8, O,    0, 1, 2, 3, 0, 0, 0, 0 },
	{ 0x296014c4, "ldp w4, w5, [x6, #-256]",      1, 1, 0, 0, 0, 4, O,    0, 4, 5, 6, 0, 0, 0, -256 },
	{ 0xa9bf23e7, "stp x7, x8, [sp, #-16]!",      0, 1, 0, 0, 1, 8, PRE,  0, 7, 8, 31, 0, 0, 0, -16 },
	{ 0xa8c12be9, "ldp x9, x10, [sp], #16",       1, 1, 0, 0, 1, 8, POST, 0, 9, 10, 31, 0, 0, 0, 16 },
	{ 0x291fb1ab, "stp w11, w12, [x13, #252]",    0, 1, 0, 0, 0, 4, O,    0, 11, 12, 13, 0, 0, 0, 252 },
	{ 0x69413e0e, "ldpsw x14, x15, [x16, #8]",    1, 1, 0, 1, 1, 4, O,    0, 14, 15, 16, 0, 0, 0, 8 },
	{ 0x68ff4a71, "ldpsw x17, x18, [x19], #-8",   1, 1, 0, 1, 1, 4, POST, 0, 17, 18, 19, 0, 0, 0, -8 },
	{ 0x69c0d6d4, "ldpsw x20, x21, [x22, #4]!",   1, 1, 0, 1, 1, 4, PRE,  0, 20, 21, 22, 0, 0, 0, 4 },
	{ 0xa85f8861, "ldnp x1, x2, [x3, #504]",      1, 1, 0, 0, 1, 8, O,    0, 1, 2, 3, 0, 0, 0, 504 },
	{ 0x283f94c4, "stnp w4, w5, [x6, #-4]",       0, 1, 0, 0, 0, 4, O,    0, 4, 5, 6, 0, 0, 0, -4 },
	{ 0xa9007c3f, "stp xzr, xzr, [x1]",           0, 1, 0, 0, 1, 8, O,    0, 31, 31, 1, 0, 0, 0, 0 },
	{ 0xb800445f, "str wzr, [x2], #4",            0, 0, 0, 0, 0, 4, POST, 0, 31, 0, 2, 0, 0, 0, 4 },
	{ 0xf940007f, "ldr xzr, [x3]",                1, 0, 0, 0, 1, 8, O,    0, 31, 0, 3, 0, 0, 0, 0 },
	{ 0xa94010bf, "ldp xzr, x4, [x5]",            1, 1, 0, 0, 1, 8, O,    0, 31, 4, 5, 0, 0, 0, 0 },
	{ 0x3dc00020, "ldr q0, [x1]",                 1, 0, 1, 0, 0, 16, O,   0, 0, 0, 1, 0, 0, 0, 0 },
	{ 0x3dbffc41, "str q1, [x2, #65520]",         0, 0, 1, 0, 0, 16, O,   0, 1, 0, 2, 0, 0, 0, 65520 },
	{ 0xfc408462, "ldr d2, [x3], #8",             1, 0, 1, 0, 0, 8, POST, 0, 2, 0, 3, 0, 0, 0, 8 },
	{ 0xbc1fcc83, "str s3, [x4, #-4]!",           0, 0, 1, 0, 0, 4, PRE,  0, 3, 0, 4, 0, 0, 0, -4 },
	{ 0x7d4004a4, "ldr h4, [x5, #2]",             1, 0, 1, 0, 0, 2, O,    0, 4, 0, 5, 0, 0, 0, 2 },
	{ 0x3c2768c5, "str b5, [x6, x7]",             0, 0, 1, 0, 0, 1, O,    1, 5, 0, 6, 7, LSL, 0, 0 },
	{ 0x3ce97906, "ldr q6, [x8, x9, lsl #4]",     1, 0, 1, 0, 0, 16, O,   1, 6, 0, 8, 9, LSL, 4, 0 },
	{ 0xad602147, "ldp q7, q8, [x10, #-1024]",    1, 1, 1, 0, 0, 16, O,   0, 7, 8, 10, 0, 0, 0, -1024 },
	{ 0x6c812969, "stp d9, d10, [x11], #16",      0, 1, 1, 0, 0, 8, POST, 0, 9, 10, 11, 0, 0, 0, 16 },
	{ 0x2dc0b18b, "ldp s11, s12, [x12, #4]!",     1, 1, 1, 0, 0, 4, PRE,  0, 11, 12, 12, 0, 0, 0, 4 },
	{ 0xac4039ed, "ldnp q13, q14, [x15]",         1, 1, 1, 0, 0, 16, O,   0, 13, 14, 15, 0, 0, 0, 0 },
	{ 0xf8008421, "str x1, [x1], #8",             0, 0, 0, 0, 1, 8, POST, 0, 1, 0, 1, 0, 0, 0, 8 },
	{ 0xa9810821, "stp x1, x2, [x1, #16]!",       0, 1, 0, 0, 1, 8, PRE,  0, 1, 2, 1, 0, 0, 0, 16 },
};

static void test_decode(void)
{
	unsigned int i;
	char msg[160];

	for (i = 0; i < sizeof(dec_cases) / sizeof(dec_cases[0]); i++) {
		const struct dec_case *c = &dec_cases[i];
		const char *why = NULL;
		struct a64_ls ls;
		int ret = a64_decode_ls(c->insn, &ls, &why);
		bool ok = !ret && ls.load == c->load && ls.pair == c->pair &&
			ls.simd == c->simd && ls.sign == c->sign &&
			ls.dst64 == c->dst64 && ls.size == c->size &&
			ls.mode == c->mode && ls.reg_offset == c->reg &&
			ls.rt == c->rt && ls.rn == c->rn && ls.imm == c->imm &&
			(!c->pair || ls.rt2 == c->rt2) &&
			(!c->reg || (ls.rm == c->rm && (int)ls.extend == c->ext &&
				     ls.shift == c->shift));

		snprintf(msg, sizeof(msg), "decode %08x %s", c->insn, c->text);
		if (!TAP_CHECK(ok, msg))
			printf("#   ret %d (%s) load %d pair %d simd %d sign %d dst64 %d size %u mode %d reg %d rt %u rt2 %u rn %u rm %u ext %d shift %u imm %lld\n",
			       ret, ret ? why : "", ls.load, ls.pair, ls.simd, ls.sign,
			       ls.dst64, ls.size, ls.mode, ls.reg_offset, ls.rt, ls.rt2,
			       ls.rn, ls.rm, ls.extend, ls.shift, (long long)ls.imm);
	}
}

struct bad_case {
	uint32_t insn;
	const char *text;
	const char *reason;	/* a substring of the reason */
};

static const struct bad_case bad_cases[] = {
	/* .arch armv8.5-a+lse+memtag+pauth+rcpc */
	{ 0xc85f7c41, "ldxr x1, [x2]", "exclusive or ordered" },
	{ 0xc803fca4, "stlxr w3, x4, [x5]", "exclusive or ordered" },
	{ 0xc8dffc41, "ldar x1, [x2]", "exclusive or ordered" },
	{ 0x889ffc83, "stlr w3, [x4]", "exclusive or ordered" },
	{ 0xc87f8861, "ldaxp x1, x2, [x3]", "exclusive or ordered" },
	{ 0xc8a17c62, "cas x1, x2, [x3]", "exclusive or ordered" },
	{ 0xf8210062, "ldadd x1, x2, [x3]", "atomic" },
	{ 0xb8218062, "swp w1, w2, [x3]", "atomic" },
	{ 0xf8bfc041, "ldapr x1, [x2]", "atomic" },
	{ 0xf8408841, "ldtr x1, [x2, #8]", "unprivileged" },
	{ 0x38000841, "sttrb w1, [x2]", "unprivileged" },
	{ 0x58000001, "ldr x1, .", "literal" },
	{ 0x99400041, "ldapur w1, [x2]", "LDAPUR" },
	{ 0xd9200841, "stg x1, [x2]", "memory tagging" },
	{ 0x69000861, "stgp x1, x2, [x3]", "STGP" },
	{ 0xf9800020, "prfm pldl1keep, [x1]", "prefetch" },
	{ 0xf8a26820, "prfm pldl1keep, [x1, x2]", "prefetch" },
	{ 0xf89ff020, "prfum pldl1keep, [x1, #-1]", "prefetch" },
	{ 0xf8200441, "ldraa x1, [x2]", "pointer-authenticated" },
	{ 0xf8fffc41, "ldrab x1, [x2, #-8]!", "pointer-authenticated" },
	{ 0x4c407020, "ld1 {v0.16b}, [x1]", "SIMD structure" },
	{ 0x4cdf7020, "ld1 {v0.16b}, [x1], #16", "SIMD structure" },
	{ 0xa9400441, "ldp x1, x1, [x2]", "Rt == Rt2" },
	{ 0xf8408421, "ldr x1, [x1], #8", "own base" },
	{ 0xb8404c42, "ldr w2, [x2, #4]!", "own base" },
	{ 0xa8c10841, "ldp x1, x2, [x2], #16", "own base" },
	{ 0x69c11063, "ldpsw x3, x4, [x3, #8]!", "own base" },
	{ 0x8b030041, "add x1, x2, x3", "not a load/store" },
	{ 0x14000000, "b .", "not a load/store" },
	/* Unallocated encodings (no assembly text: they have none). */
	{ 0xf8630841, NULL, "extend" },		/* ldr x1, [x2, x3] with option 000 */
	{ 0xf8800c41, NULL, "unallocated" },	/* size 11 opc 10 pre-index */
	{ 0xb9c00041, NULL, "unallocated" },	/* size 10 opc 11 */
	{ 0x7dc00041, NULL, "unallocated SIMD" },	/* size 01 opc 11, V */
	{ 0xe9400861, NULL, "unallocated" },	/* pair opc 11 */
	{ 0xed400861, NULL, "unallocated SIMD" },	/* SIMD pair opc 11 */
	{ 0x68400861, NULL, "unallocated" },	/* LDNP with opc 01 */
};

static void test_refuse(void)
{
	unsigned int i;
	char msg[160];

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		const char *why = NULL;
		struct a64_ls ls;
		int ret = a64_decode_ls(c->insn, &ls, &why);

		snprintf(msg, sizeof(msg), "refuse %08x %s: %s", c->insn,
			 c->text ? c->text : "(unallocated)", c->reason);
		if (!TAP_CHECK(ret == -EINVAL && why && strstr(why, c->reason), msg))
			printf("#   ret %d why %s\n", ret, why ? why : "(null)");
	}
}

/* --- the emulator ----------------------------------------------------------- */

#define DEV_IPA		0x10000000ull	/* the fake device's window */
#define DEV_SIZE	0x3000ull
#define MAX_LOG		8

struct access {
	uint64_t ipa;
	unsigned int len;
	bool write;
	uint64_t val;
};

/* A vCPU (x[31] is SP), a device, and how addresses translate. */
struct vcpu {
	uint64_t x[32];
	uint8_t v[32][16];
	uint64_t pc;
	unsigned int reg_writes;
	uint8_t dev[DEV_SIZE];
	struct access log[MAX_LOG];
	unsigned int nlog;
	int fail_access;		/* index of the access that fails, -1 none */
	const struct a64_mmu *mmu;	/* NULL: VA = IPA */
	const struct guest_mem *mem;
};

static uint64_t t_get_reg(void *o, unsigned int n)
{
	return ((struct vcpu *)o)->x[n];
}

static void t_set_reg(void *o, unsigned int n, uint64_t v)
{
	struct vcpu *c = o;

	c->x[n] = v;
	c->reg_writes++;
}

static int t_get_vreg(void *o, unsigned int n, uint8_t v[16])
{
	memcpy(v, ((struct vcpu *)o)->v[n], 16);
	return 0;
}

static int t_set_vreg(void *o, unsigned int n, const uint8_t v[16])
{
	struct vcpu *c = o;

	memcpy(c->v[n], v, 16);
	c->reg_writes++;
	return 0;
}

static uint64_t t_get_pc(void *o)
{
	return ((struct vcpu *)o)->pc;
}

static void t_set_pc(void *o, uint64_t pc)
{
	((struct vcpu *)o)->pc = pc;
}

static int t_translate(void *o, uint64_t va, uint64_t *ipa, const char **why)
{
	struct vcpu *c = o;

	if (c->mmu)
		return a64_translate(c->mmu, c->mem, va, false, ipa, why);
	*ipa = va;
	return 0;
}

static int t_mmio(void *o, uint64_t ipa, unsigned int len, bool write, uint64_t *val)
{
	struct vcpu *c = o;
	struct access *a;
	unsigned int i;

	if (c->nlog >= MAX_LOG)
		return -E2BIG;
	a = &c->log[c->nlog];
	a->ipa = ipa;
	a->len = len;
	a->write = write;
	if ((int)c->nlog++ == c->fail_access)
		return -EIO;
	if (ipa < DEV_IPA || ipa - DEV_IPA > DEV_SIZE - len)
		return -ENXIO;
	if (write) {
		a->val = *val;
		for (i = 0; i < len; i++)
			c->dev[ipa - DEV_IPA + i] = *val >> (8 * i);
	} else {
		a->val = 0;
		for (i = 0; i < len; i++)
			a->val |= (uint64_t)c->dev[ipa - DEV_IPA + i] << (8 * i);
		*val = a->val;
	}
	return 0;
}

static const struct a64_emu_ops t_ops = {
	.get_reg = t_get_reg, .set_reg = t_set_reg,
	.get_vreg = t_get_vreg, .set_vreg = t_set_vreg,
	.get_pc = t_get_pc, .set_pc = t_set_pc,
	.translate = t_translate, .mmio = t_mmio,
};

#define PC0	0xffff800010001000ull

/* Registers hold recognisable junk; the device counts up from 0x10. */
static void vcpu_init(struct vcpu *c)
{
	unsigned int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < 32; i++) {
		c->x[i] = 0xdead000000000000ull | (uint64_t)i << 32 | 0xbeef0000 | i;
		memset(c->v[i], 0xa0 + i, 16);
	}
	for (i = 0; i < DEV_SIZE; i++)
		c->dev[i] = 0x10 + i;
	c->pc = PC0;
	c->fail_access = -1;
}

/* The syndrome the hardware gives: WnR for a store (the decoder is tested above). */
static uint64_t iss_of(uint32_t insn)
{
	const char *why;
	struct a64_ls ls;

	return !a64_decode_ls(insn, &ls, &why) && !ls.load ? A64_ISS_WNR : 0;
}

static int emu(struct vcpu *c, uint32_t insn, uint64_t fault_ipa, const char **why)
{
	struct a64_emu_ops ops = t_ops;

	ops.opaque = c;
	*why = NULL;
	return a64_emulate(&ops, insn, fault_ipa, iss_of(insn), why);
}

static uint64_t dev_le(const struct vcpu *c, uint64_t ipa, unsigned int len)
{
	uint64_t v = 0;

	while (len--)
		v = v << 8 | c->dev[ipa - DEV_IPA + len];
	return v;
}

#define A(n) (DEV_IPA + (n))

static void test_emulate_single(void)
{
	struct vcpu c, before;
	const char *why;

	/* ldr x1, [x2, #8] */
	vcpu_init(&c);
	c.x[2] = A(0x100);
	TAP_EQ_INT(emu(&c, 0xf9400441, A(0x108), &why), 0, "ldr x1, [x2, #8]: emulated");
	TAP_EQ_U64(c.x[1], dev_le(&c, A(0x108), 8), "ldr x1: value from the device");
	TAP_CHECK(c.nlog == 1 && c.log[0].ipa == A(0x108) && c.log[0].len == 8 &&
		  !c.log[0].write, "ldr x1: one 8-byte load at base + 8");
	TAP_EQ_U64(c.x[2], A(0x100), "ldr x1: no writeback");
	TAP_EQ_U64(c.pc, PC0 + 4, "ldr x1: PC advanced by 4");

	/* ldr w3, [x4, #16380]: W destination zeroes bits 63:32 */
	vcpu_init(&c);
	c.x[4] = A(0x1000) - 16380;
	c.x[3] = ~0ull;
	TAP_EQ_INT(emu(&c, 0xb97ffc83, A(0x1000), &why), 0, "ldr w3, [x4, #16380]");
	TAP_EQ_U64(c.x[3], dev_le(&c, A(0x1000), 4), "ldr w3: top 32 bits zeroed");

	/* ldrb w8, [x9]: byte zero-extended into all of x8 */
	vcpu_init(&c);
	c.x[9] = A(0x70);
	c.x[8] = ~0ull;
	c.dev[0x70] = 0x80;
	TAP_EQ_INT(emu(&c, 0x39400128, A(0x70), &why), 0, "ldrb w8, [x9]");
	TAP_EQ_U64(c.x[8], 0x80, "ldrb: zero-extended");

	/* sign extension, to X and to W */
	vcpu_init(&c);
	c.x[15] = A(0x1ff);
	c.dev[0x200] = 0x80;
	TAP_EQ_INT(emu(&c, 0x398005ee, A(0x200), &why), 0, "ldrsb x14, [x15, #1]");
	TAP_EQ_U64(c.x[14], 0xffffffffffffff80ull, "ldrsb x14: sign-extended to 64 bits");
	c.x[17] = A(0x1ff);
	c.x[16] = ~0ull;
	TAP_EQ_INT(emu(&c, 0x39c00630, A(0x200), &why), 0, "ldrsb w16, [x17, #1]");
	TAP_EQ_U64(c.x[16], 0xffffff80ull, "ldrsb w16: sign-extended to 32, top zeroed");
	c.x[19] = A(0x1fe);
	c.dev[0x200] = 0x34;
	c.dev[0x201] = 0x82;
	TAP_EQ_INT(emu(&c, 0x79800672, A(0x200), &why), 0, "ldrsh x18, [x19, #2]");
	TAP_EQ_U64(c.x[18], 0xffffffffffff8234ull, "ldrsh x18: sign-extended");
	c.x[21] = A(0x1fe);
	TAP_EQ_INT(emu(&c, 0x79c006b4, A(0x200), &why), 0, "ldrsh w20, [x21, #2]");
	TAP_EQ_U64(c.x[20], 0xffff8234ull, "ldrsh w20: 32-bit result");
	c.x[23] = A(0x1fc);
	c.dev[0x202] = 0x00;
	c.dev[0x203] = 0x90;
	TAP_EQ_INT(emu(&c, 0xb98006f6, A(0x200), &why), 0, "ldrsw x22, [x23, #4]");
	TAP_EQ_U64(c.x[22], 0xffffffff90008234ull, "ldrsw: sign-extended");
	c.dev[0x203] = 0x10;
	c.x[23] = A(0x1fc);
	TAP_EQ_INT(emu(&c, 0xb98006f6, A(0x200), &why), 0, "ldrsw positive");
	TAP_EQ_U64(c.x[22], 0x10008234ull, "ldrsw: positive value not extended with ones");
	c.x[8] = A(0x201);
	TAP_EQ_INT(emu(&c, 0xb89ff107, A(0x200), &why), 0, "ldursw x7, [x8, #-1]");
	TAP_EQ_U64(c.x[7], 0x10008234ull, "ldursw: unscaled negative offset");

	/* stores: truncated to the size, little-endian */
	vcpu_init(&c);
	c.x[7] = A(0x300) - 4095;
	c.x[6] = 0x1122334455667788ull;
	TAP_EQ_INT(emu(&c, 0x393ffce6, A(0x300), &why), 0, "strb w6, [x7, #4095]");
	TAP_CHECK(c.nlog == 1 && c.log[0].write && c.log[0].len == 1 &&
		  c.log[0].val == 0x88 && c.dev[0x300] == 0x88 && c.dev[0x301] == (uint8_t)(0x10 + 0x301),
		  "strb: one byte, the low one");
	c.x[4] = A(0x400) - 255;
	c.x[3] = 0xcafef00d12345678ull;
	TAP_EQ_INT(emu(&c, 0xb80ff083, A(0x400), &why), 0, "stur w3, [x4, #255]");
	TAP_EQ_U64(dev_le(&c, A(0x400), 4), 0x12345678, "stur w3: low 32 bits stored");
	TAP_EQ_U64(dev_le(&c, A(0x404), 1), (0x10 + 0x404) & 0xff, "stur w3: nothing beyond");
	TAP_EQ_INT(c.reg_writes, 0, "stores write no register");
	TAP_EQ_U64(c.pc, PC0 + 8, "two instructions, PC advanced by 8");

	/* SP as the base, pre-index writeback */
	vcpu_init(&c);
	c.x[31] = A(0x2010);
	c.x[5] = 0x0102030405060708ull;
	TAP_EQ_INT(emu(&c, 0xf81f0fe5, A(0x2000), &why), 0, "str x5, [sp, #-16]!");
	TAP_EQ_U64(dev_le(&c, A(0x2000), 8), 0x0102030405060708ull, "str x5: stored at sp - 16");
	TAP_EQ_U64(c.x[31], A(0x2000), "str x5: SP written back");
	TAP_EQ_U64(c.x[5], 0x0102030405060708ull, "str x5: source unchanged");

	/* post-index */
	vcpu_init(&c);
	c.x[2] = A(0x500);
	TAP_EQ_INT(emu(&c, 0xf8408441, A(0x500), &why), 0, "ldr x1, [x2], #8");
	TAP_CHECK(c.log[0].ipa == A(0x500), "post-index: access at the old base");
	TAP_EQ_U64(c.x[2], A(0x508), "post-index: base + 8 written back");
	TAP_EQ_U64(c.x[1], dev_le(&c, A(0x500), 8), "post-index: value");
	c.x[7] = A(0x600);
	c.x[6] = 0x5a;
	TAP_EQ_INT(emu(&c, 0x381ff4e6, A(0x600), &why), 0, "strb w6, [x7], #-1");
	TAP_EQ_U64(c.x[7], A(0x5ff), "post-index: negative writeback");
	c.x[13] = A(0x700);
	c.dev[0x700] = 0xff;
	TAP_EQ_INT(emu(&c, 0x38cff5ac, A(0x700), &why), 0, "ldrsb w12, [x13], #255");
	TAP_CHECK(c.x[12] == 0xffffffffull && c.x[13] == A(0x7ff),
		  "ldrsb w12 post-index: value and writeback");

	/* pre-index */
	vcpu_init(&c);
	c.x[4] = A(0x804);
	c.x[3] = ~0ull;
	TAP_EQ_INT(emu(&c, 0xb85fcc83, A(0x800), &why), 0, "ldr w3, [x4, #-4]!");
	TAP_CHECK(c.log[0].ipa == A(0x800) && c.x[4] == A(0x800) &&
		  c.x[3] == dev_le(&c, A(0x800), 4), "pre-index: access at and writeback of base - 4");
	c.x[11] = A(0x8fc);
	TAP_EQ_INT(emu(&c, 0xb8804d6a, A(0x900), &why), 0, "ldrsw x10, [x11, #4]!");
	TAP_EQ_U64(c.x[11], A(0x900), "ldrsw pre-index writeback");

	/* register offsets */
	vcpu_init(&c);
	c.x[2] = A(0x100);
	c.x[3] = 0x20;
	TAP_EQ_INT(emu(&c, 0xf8637841, A(0x200), &why), 0, "ldr x1, [x2, x3, lsl #3]");
	TAP_CHECK(c.log[0].ipa == A(0x200) && c.x[3] == 0x20 && c.x[2] == A(0x100),
		  "lsl #3: offset scaled, no writeback");
	c.x[5] = A(0x100);
	c.x[6] = 0xffffffff00000003ull;
	TAP_EQ_INT(emu(&c, 0xb86658a4, A(0x10c), &why), 0, "ldr w4, [x5, w6, uxtw #2]");
	TAP_CHECK(c.log[1].ipa == A(0x10c), "uxtw: top half of the index ignored");
	c.x[8] = A(0x108);
	c.x[9] = 0x12345678ffffffffull;
	TAP_EQ_INT(emu(&c, 0xf829d907, A(0x100), &why), 0, "str x7, [x8, w9, sxtw #3]");
	TAP_CHECK(c.log[2].ipa == A(0x100), "sxtw: negative index");
	c.x[11] = A(0x110);
	c.x[12] = (uint64_t)-16;
	TAP_EQ_INT(emu(&c, 0x382ce96a, A(0x100), &why), 0, "strb w10, [x11, x12, sxtx]");
	TAP_CHECK(c.log[3].ipa == A(0x100), "sxtx: negative 64-bit index");
	c.x[14] = A(0x100);
	c.x[15] = 0x10;
	TAP_EQ_INT(emu(&c, 0x786ff9cd, A(0x120), &why), 0, "ldrh w13, [x14, x15, sxtx #1]");
	TAP_CHECK(c.log[4].ipa == A(0x120) && c.log[4].len == 2, "sxtx #1: scaled by 2");
	c.x[31] = A(0x180);
	TAP_EQ_INT(emu(&c, 0xf87f6be1, A(0x180), &why), 0, "ldr x1, [sp, xzr]");
	TAP_CHECK(c.log[5].ipa == A(0x180), "Rn 31 is SP, Rm 31 is XZR");

	/* the zero register */
	vcpu_init(&c);
	c.x[2] = A(0x40);
	TAP_EQ_INT(emu(&c, 0xb800445f, A(0x40), &why), 0, "str wzr, [x2], #4");
	TAP_CHECK(c.log[0].write && c.log[0].val == 0 && dev_le(&c, A(0x40), 4) == 0,
		  "str wzr stores 0, not SP");
	TAP_EQ_U64(c.x[2], A(0x44), "str wzr: writeback");
	before = c;
	c.x[3] = A(0x80);
	before.x[3] = c.x[3];
	TAP_EQ_INT(emu(&c, 0xf940007f, A(0x80), &why), 0, "ldr xzr, [x3]");
	TAP_CHECK(c.nlog == 2 && !c.log[1].write, "ldr xzr: the load is made");
	TAP_CHECK(!memcmp(c.x, before.x, sizeof(c.x)) && c.reg_writes == before.reg_writes,
		  "ldr xzr: no register (and not SP) written");

	/* a store with writeback of its own source: the old value is stored */
	vcpu_init(&c);
	c.x[1] = A(0x900);
	TAP_EQ_INT(emu(&c, 0xf8008421, A(0x900), &why), 0, "str x1, [x1], #8");
	TAP_CHECK(dev_le(&c, A(0x900), 8) == A(0x900) && c.x[1] == A(0x908),
		  "str x1, [x1], #8: old base stored, then written back");
}

static void test_emulate_pair(void)
{
	struct vcpu c;
	const char *why;

	vcpu_init(&c);
	c.x[3] = A(0x100);
	TAP_EQ_INT(emu(&c, 0xa9400861, A(0x100), &why), 0, "ldp x1, x2, [x3]");
	TAP_CHECK(c.nlog == 2 && c.log[0].ipa == A(0x100) && c.log[1].ipa == A(0x108) &&
		  c.log[0].len == 8 && c.log[1].len == 8, "ldp x: Rt's then Rt2's access");
	TAP_CHECK(c.x[1] == dev_le(&c, A(0x100), 8) && c.x[2] == dev_le(&c, A(0x108), 8),
		  "ldp x: values");

	/* the fault may be on the second element */
	vcpu_init(&c);
	c.x[6] = A(0x200);
	c.x[4] = c.x[5] = ~0ull;
	TAP_EQ_INT(emu(&c, 0x296014c4, A(0x104), &why), 0,
		   "ldp w4, w5, [x6, #-256] (fault on the second word)");
	TAP_CHECK(c.log[0].ipa == A(0x100) && c.log[1].ipa == A(0x104) &&
		  c.log[0].len == 4, "ldp w: two 4-byte loads");
	TAP_CHECK(c.x[4] == dev_le(&c, A(0x100), 4) && c.x[5] == dev_le(&c, A(0x104), 4),
		  "ldp w: top halves zeroed");

	vcpu_init(&c);
	c.x[31] = A(0x1010);
	c.x[7] = 0x7777777777777777ull;
	c.x[8] = 0x8888888888888888ull;
	TAP_EQ_INT(emu(&c, 0xa9bf23e7, A(0x1000), &why), 0, "stp x7, x8, [sp, #-16]!");
	TAP_CHECK(c.nlog == 2 && c.log[0].write && c.log[0].ipa == A(0x1000) &&
		  c.log[0].val == c.x[7] && c.log[1].ipa == A(0x1008) &&
		  c.log[1].val == c.x[8], "stp x: x7 then x8, in order");
	TAP_EQ_U64(c.x[31], A(0x1000), "stp pre-index: SP written back");
	TAP_EQ_INT(emu(&c, 0xa8c12be9, A(0x1000), &why), 0, "ldp x9, x10, [sp], #16");
	TAP_CHECK(c.x[9] == 0x7777777777777777ull && c.x[10] == 0x8888888888888888ull &&
		  c.x[31] == A(0x1010), "ldp post-index: reads back, SP restored");

	vcpu_init(&c);
	c.x[16] = A(0x0f8);
	c.dev[0x103] = 0x80;
	c.dev[0x107] = 0x7f;
	TAP_EQ_INT(emu(&c, 0x69413e0e, A(0x100), &why), 0, "ldpsw x14, x15, [x16, #8]");
	TAP_CHECK(c.x[14] == (0xffffffff00000000ull | dev_le(&c, A(0x100), 4)) &&
		  c.x[15] == dev_le(&c, A(0x104), 4), "ldpsw: each word sign-extended");
	c.x[19] = A(0x100);
	TAP_EQ_INT(emu(&c, 0x68ff4a71, A(0x100), &why), 0, "ldpsw x17, x18, [x19], #-8");
	TAP_EQ_U64(c.x[19], A(0xf8), "ldpsw post-index writeback");

	vcpu_init(&c);
	c.x[1] = A(0x300);
	TAP_EQ_INT(emu(&c, 0xa9007c3f, A(0x308), &why), 0, "stp xzr, xzr, [x1]");
	TAP_CHECK(c.nlog == 2 && c.log[0].val == 0 && c.log[1].val == 0 &&
		  dev_le(&c, A(0x300), 8) == 0 && dev_le(&c, A(0x308), 8) == 0,
		  "stp xzr: zeros stored");
	c.x[5] = A(0x300);
	TAP_EQ_INT(emu(&c, 0xa94010bf, A(0x300), &why), 0, "ldp xzr, x4, [x5]");
	TAP_CHECK(c.nlog == 4 && c.x[4] == 0 && c.x[31] != 0, "ldp xzr: Rt2 loaded, SP untouched");

	vcpu_init(&c);
	c.x[3] = A(0x400) - 504;
	TAP_EQ_INT(emu(&c, 0xa85f8861, A(0x408), &why), 0, "ldnp x1, x2, [x3, #504]");
	TAP_CHECK(c.x[1] == dev_le(&c, A(0x400), 8) && c.x[2] == dev_le(&c, A(0x408), 8),
		  "ldnp: a plain pair");

	vcpu_init(&c);
	c.x[1] = A(0x500);
	c.x[2] = 0x2222;
	TAP_EQ_INT(emu(&c, 0xa9810821, A(0x510), &why), 0, "stp x1, x2, [x1, #16]!");
	TAP_CHECK(c.log[0].val == A(0x500) && c.x[1] == A(0x510),
		  "stp with writeback of Rt: old value stored");
}

static void test_emulate_simd(void)
{
	struct vcpu c;
	struct a64_emu_ops ops = t_ops;
	const char *why;
	unsigned int i;
	bool ok;

	vcpu_init(&c);
	c.x[1] = A(0x100);
	TAP_EQ_INT(emu(&c, 0x3dc00020, A(0x108), &why), 0, "ldr q0, [x1]");
	TAP_CHECK(c.nlog == 2 && c.log[0].ipa == A(0x100) && c.log[0].len == 8 &&
		  c.log[1].ipa == A(0x108) && c.log[1].len == 8, "ldr q: two 8-byte loads, low first");
	TAP_CHECK(!memcmp(c.v[0], &c.dev[0x100], 16), "ldr q0: 16 bytes");

	vcpu_init(&c);
	c.x[3] = A(0x200);
	TAP_EQ_INT(emu(&c, 0xfc408462, A(0x200), &why), 0, "ldr d2, [x3], #8");
	ok = !memcmp(c.v[2], &c.dev[0x200], 8);
	for (i = 8; i < 16; i++)
		ok = ok && !c.v[2][i];
	TAP_CHECK(ok, "ldr d2: low 8 bytes loaded, the rest zeroed");
	TAP_EQ_U64(c.x[3], A(0x208), "ldr d2: writeback");

	vcpu_init(&c);
	c.x[2] = A(0x300) - 65520;
	for (i = 0; i < 16; i++)
		c.v[1][i] = i;
	TAP_EQ_INT(emu(&c, 0x3dbffc41, A(0x300), &why), 0, "str q1, [x2, #65520]");
	TAP_CHECK(c.nlog == 2 && c.log[0].val == 0x0706050403020100ull &&
		  c.log[1].val == 0x0f0e0d0c0b0a0908ull, "str q1: two 8-byte stores");

	vcpu_init(&c);
	c.x[10] = A(0x800);
	TAP_EQ_INT(emu(&c, 0xad602147, A(0x400), &why), 0, "ldp q7, q8, [x10, #-1024]");
	TAP_CHECK(c.nlog == 4 && c.log[0].ipa == A(0x400) && c.log[1].ipa == A(0x408) &&
		  c.log[2].ipa == A(0x410) && c.log[3].ipa == A(0x418),
		  "ldp q: four 8-byte loads in address order");
	TAP_CHECK(!memcmp(c.v[7], &c.dev[0x400], 16) && !memcmp(c.v[8], &c.dev[0x410], 16),
		  "ldp q: both registers");

	vcpu_init(&c);
	c.x[4] = A(0x504);
	memset(c.v[3], 0, 16);
	c.v[3][0] = 0x44;
	TAP_EQ_INT(emu(&c, 0xbc1fcc83, A(0x500), &why), 0, "str s3, [x4, #-4]!");
	TAP_CHECK(c.log[0].len == 4 && c.log[0].val == 0x44 && c.x[4] == A(0x500),
		  "str s3: 4 bytes, writeback");

	vcpu_init(&c);
	ops.opaque = &c;
	ops.get_vreg = NULL;
	ops.set_vreg = NULL;
	c.x[1] = A(0x100);
	TAP_EQ_INT(a64_emulate(&ops, 0x3dc00020, A(0x100), 0, &why), -EOPNOTSUPP,
		   "SIMD&FP refused without vreg callbacks");
	TAP_CHECK(c.nlog == 0 && c.pc == PC0, "... and nothing done");
}

/* A refused or failed instruction changes no register and the PC. */
static void check_untouched(const struct vcpu *c, const struct vcpu *before,
			    unsigned int nlog, const char *what)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "%s: registers and PC untouched", what);
	TAP_CHECK(!memcmp(c->x, before->x, sizeof(c->x)) &&
		  !memcmp(c->v, before->v, sizeof(c->v)) && c->pc == before->pc &&
		  c->reg_writes == 0, msg);
	snprintf(msg, sizeof(msg), "%s: %u device access(es)", what, nlog);
	TAP_EQ_INT(c->nlog, nlog, msg);
}

static void test_emulate_refused(void)
{
	struct vcpu c, before;
	struct a64_emu_ops ops = t_ops;
	const char *why;

	vcpu_init(&c);
	c.x[3] = A(0x100);
	before = c;
	TAP_EQ_INT(emu(&c, 0xa9400861, A(0x200), &why), -EFAULT,
		   "fault IPA outside the instruction's accesses refused");
	TAP_CHECK(why && strstr(why, "fault IPA"), "... with the reason");
	check_untouched(&c, &before, 0, "IPA mismatch");

	c = before;
	TAP_EQ_INT(emu(&c, 0xa9400861, A(0x10f), &why), 0,
		   "fault IPA inside the second element accepted");

	c = before;
	ops.opaque = &c;
	TAP_EQ_INT(a64_emulate(&ops, 0xa9400861, A(0x100), A64_ISS_WNR, &why), -EFAULT,
		   "ldp with a syndrome saying store refused");
	TAP_CHECK(why && strstr(why, "syndrome says store"), "... with the reason");
	check_untouched(&c, &before, 0, "WnR mismatch (load)");
	c = before;
	TAP_EQ_INT(a64_emulate(&ops, 0xa9007c3f, A(0x100), 0, &why), -EFAULT,
		   "stp with a syndrome saying load refused");
	check_untouched(&c, &before, 0, "WnR mismatch (store)");
	c = before;
	TAP_EQ_INT(a64_emulate(&ops, 0xa9400861, A(0x100), A64_ISS_CM, &why), -EOPNOTSUPP,
		   "a cache maintenance syndrome refused");
	check_untouched(&c, &before, 0, "CM");
	c = before;
	TAP_EQ_INT(a64_emulate(&ops, 0xa9400861, A(0x100), 0x10, &why), 0,
		   "the fault status code in the syndrome is ignored");

	c = before;
	TAP_EQ_INT(emu(&c, 0xc85f7c41, A(0x100), &why), -EINVAL, "ldxr refused");
	check_untouched(&c, &before, 0, "ldxr");

	c = before;
	c.fail_access = 1;
	TAP_EQ_INT(emu(&c, 0xa9400861, A(0x100), &why), -EIO,
		   "MMIO error on the second load of a pair returned");
	check_untouched(&c, &before, 2, "MMIO error");

	c = before;
	c.x[3] = A(DEV_SIZE) - 8;	/* second element past the device */
	before.x[3] = c.x[3];
	TAP_EQ_INT(emu(&c, 0xa9400861, A(DEV_SIZE) - 8, &why), -ENXIO,
		   "a pair running off the device fails");
	check_untouched(&c, &before, 2, "pair off the device");

	c = before;
	ops.opaque = &c;
	ops.data_be = true;
	TAP_EQ_INT(a64_emulate(&ops, 0xa9400861, A(DEV_SIZE) - 8, 0, &why), -EOPNOTSUPP,
		   "big-endian data refused");
	check_untouched(&c, &before, 0, "big-endian");
}

/* --- the stage-1 walker ----------------------------------------------------- */

#define RAM_GPA		0x40000000ull
#define RAM_SIZE	(8ull << 20)
#define PT_BASE		(RAM_GPA + 0x100000)
#define IPS_48		(5ull << A64_TCR_IPS_SHIFT)
#define DESC_AF		(1ull << 10)

struct pt {
	struct guest_mem mem;
	uint8_t *ram;
	uint64_t next;		/* next free table, bump allocated */
	unsigned int granule;	/* log2 of the granule */
	unsigned int va_bits;
};

static uint8_t *pt_ram;

static void pt_init(struct pt *pt, unsigned int granule, unsigned int va_bits)
{
	memset(pt, 0, sizeof(*pt));
	memset(pt_ram, 0, RAM_SIZE);
	pt->ram = pt_ram;
	guest_mem_add(&pt->mem, RAM_GPA, RAM_SIZE, pt_ram);
	pt->next = PT_BASE;
	pt->granule = granule;
	pt->va_bits = va_bits;
}

static uint64_t pt_alloc(struct pt *pt)
{
	uint64_t g = 1ull << pt->granule, a;

	pt->next = (pt->next + g - 1) & ~(g - 1);
	a = pt->next;
	pt->next += g;
	return a;
}

static uint64_t *pt_desc(struct pt *pt, uint64_t gpa)
{
	return (uint64_t *)(pt->ram + (gpa - RAM_GPA));
}

/*
 * Map va to oa in the tables under root, with the leaf at level leaf (3: a
 * page, above: a block) and descriptor type bits typ (0 = the right ones).
 */
static void pt_map(struct pt *pt, uint64_t root, uint64_t va, uint64_t oa,
		   unsigned int leaf, uint64_t typ)
{
	unsigned int g = pt->granule, s = g - 3;
	unsigned int levels = (pt->va_bits - g + s - 1) / s;
	unsigned int level = 4 - levels;
	uint64_t table = root;

	for (;; level++) {
		unsigned int shift = g + s * (3 - level);
		unsigned int bits = level == 4 - levels ? pt->va_bits - shift : s;
		uint64_t *d = pt_desc(pt, table + ((va >> shift) & ((1ull << bits) - 1)) * 8);

		if (level == leaf) {
			*d = oa | DESC_AF | (typ ? typ : level == 3 ? 3 : 1);
			return;
		}
		if (!(*d & 1))
			*d = pt_alloc(pt) | 3;
		table = *d & ~((1ull << g) - 1) & ((1ull << 48) - 1);
	}
}

static uint64_t tcr0(unsigned int granule, unsigned int tsz)
{
	uint64_t tg = granule == 12 ? 0 : granule == 16 ? 1 : 2;

	return IPS_48 | tsz << A64_TCR_T0SZ_SHIFT | tg << A64_TCR_TG0_SHIFT | A64_TCR_EPD1;
}

static uint64_t tcr1(unsigned int granule, unsigned int tsz)
{
	uint64_t tg = granule == 14 ? 1 : granule == 12 ? 2 : 3;

	return IPS_48 | (uint64_t)tsz << A64_TCR_T1SZ_SHIFT | tg << A64_TCR_TG1_SHIFT |
		A64_TCR_EPD0;
}

static int xlate(const struct pt *pt, const struct a64_mmu *mmu, uint64_t va,
		 uint64_t *ipa, const char **why)
{
	*ipa = 0;
	*why = NULL;
	return a64_translate(mmu, &pt->mem, va, false, ipa, why);
}

static void test_mmu_off(void)
{
	struct a64_mmu mmu = { .sctlr = 0, .tcr = ~0ull };
	const char *why;
	struct pt pt;
	uint64_t ipa;

	pt_init(&pt, 12, 48);
	TAP_EQ_INT(xlate(&pt, &mmu, 0x12345678, &ipa, &why), 0, "MMU off: translates");
	TAP_EQ_U64(ipa, 0x12345678, "MMU off: identity");
	TAP_EQ_INT(xlate(&pt, &mmu, 1ull << 48, &ipa, &why), -EFAULT,
		   "MMU off: VA above 48 bits faults");
}

/* 4 KiB, 48 bits: the descriptors placed by hand, indices worked out by hand. */
static void test_mmu_4k_by_hand(void)
{
	struct a64_mmu mmu = { .sctlr = A64_SCTLR_M, .tcr = tcr0(12, 16), .ttbr0 = PT_BASE };
	const uint64_t va = 0x0000008040203abcull;	/* L0 1, L1 1, L2 1, L3 3 */
	const char *why;
	struct pt pt;
	uint64_t ipa;

	pt_init(&pt, 12, 48);
	*pt_desc(&pt, PT_BASE + 1 * 8) = (PT_BASE + 0x1000) | 3;
	*pt_desc(&pt, PT_BASE + 0x1000 + 1 * 8) = (PT_BASE + 0x2000) | 3;
	*pt_desc(&pt, PT_BASE + 0x2000 + 1 * 8) = (PT_BASE + 0x3000) | 3;
	*pt_desc(&pt, PT_BASE + 0x3000 + 3 * 8) = 0x12345000 | DESC_AF | 3;
	TAP_EQ_INT(xlate(&pt, &mmu, va, &ipa, &why), 0, "4K/48: page translates");
	TAP_EQ_U64(ipa, 0x12345abc, "4K/48: four levels, page offset kept");
	TAP_EQ_INT(xlate(&pt, &mmu, va + 0x1000, &ipa, &why), -EFAULT,
		   "4K/48: the next page is unmapped");
	TAP_CHECK(why && strstr(why, "level 3"), "... invalid descriptor at level 3");
	TAP_EQ_INT(xlate(&pt, &mmu, va + (1ull << 39), &ipa, &why), -EFAULT,
		   "4K/48: another level-0 entry is unmapped");
	TAP_CHECK(why && strstr(why, "level 0"), "... invalid descriptor at level 0");

	/* Turn the level-2 entry into a 2 MiB block. */
	*pt_desc(&pt, PT_BASE + 0x2000 + 1 * 8) = 0x7fe00000 | DESC_AF | 1;
	TAP_EQ_INT(xlate(&pt, &mmu, va, &ipa, &why), 0, "4K/48: 2M block translates");
	TAP_EQ_U64(ipa, 0x7fe03abc, "4K/48: 2M block keeps VA[20:0]");
	/* Level-1 1 GiB block. */
	*pt_desc(&pt, PT_BASE + 0x1000 + 1 * 8) = 0x80000000 | DESC_AF | 1;
	TAP_EQ_INT(xlate(&pt, &mmu, va, &ipa, &why), 0, "4K/48: 1G block translates");
	TAP_EQ_U64(ipa, 0x80203abc, "4K/48: 1G block keeps VA[29:0]");
	/* A level-0 block does not exist with 4 KiB pages. */
	*pt_desc(&pt, PT_BASE + 1 * 8) = DESC_AF | 1;
	TAP_EQ_INT(xlate(&pt, &mmu, va, &ipa, &why), -EFAULT, "4K: level-0 block faults");
	TAP_CHECK(why && strstr(why, "block"), "... as a block the granule does not have");
	/* Level-3 descriptor with type 01 is reserved. */
	*pt_desc(&pt, PT_BASE + 1 * 8) = (PT_BASE + 0x1000) | 3;
	*pt_desc(&pt, PT_BASE + 0x1000 + 1 * 8) = (PT_BASE + 0x2000) | 3;
	*pt_desc(&pt, PT_BASE + 0x2000 + 1 * 8) = (PT_BASE + 0x3000) | 3;
	*pt_desc(&pt, PT_BASE + 0x3000 + 3 * 8) = 0x12345000 | DESC_AF | 1;
	TAP_EQ_INT(xlate(&pt, &mmu, va, &ipa, &why), -EFAULT,
		   "4K: level-3 descriptor of type 01 faults");
	/* A table outside guest RAM. */
	*pt_desc(&pt, PT_BASE + 0x2000 + 1 * 8) = 0x1000 | 3;
	TAP_EQ_INT(xlate(&pt, &mmu, va, &ipa, &why), -EFAULT,
		   "4K: a table outside guest RAM faults");
	TAP_CHECK(why && strstr(why, "level 3 table outside"), "... naming its level");
	/* IPS = 32 bits: an output address above 4 GiB is an address size fault. */
	*pt_desc(&pt, PT_BASE + 0x2000 + 1 * 8) = (PT_BASE + 0x3000) | 3;
	*pt_desc(&pt, PT_BASE + 0x3000 + 3 * 8) = 0x100000000ull | DESC_AF | 3;
	TAP_EQ_INT(xlate(&pt, &mmu, va, &ipa, &why), 0, "IPS 48: OA above 4G fine");
	mmu.tcr &= ~(7ull << A64_TCR_IPS_SHIFT);
	TAP_EQ_INT(xlate(&pt, &mmu, va, &ipa, &why), -EFAULT, "IPS 32: OA above 4G faults");
	TAP_CHECK(why && strstr(why, "address size"), "... as an address size fault");
}

struct map_case {
	const char *what;
	unsigned int granule, tsz;
	bool upper;
	uint64_t va, oa;
	unsigned int leaf;
	uint64_t ipa;		/* expected */
	uint64_t va_unmapped;	/* a VA that must fault */
};

static const struct map_case map_cases[] = {
	{ "4K/39 page (start level 1)", 12, 25, false, 0x7fc0012345ull, 0x5000000, 3,
	  0x5000345, 0x7fc0013345ull },
	{ "4K/39 2M block", 12, 25, false, 0x40234567ull, 0x7fe00000, 2,
	  0x7fe34567, 0x40434567ull },
	{ "4K/39 1G block", 12, 25, false, 0x4076543210ull, 0xc0000000, 1,
	  0xf6543210, 0x4036543210ull },
	{ "16K/48 page (start level 0, 2 entries)", 14, 16, false, 0x800012345678ull,
	  0x9000000, 3, 0x9001678, 0x000012345678ull },
	{ "16K/48 32M block", 14, 16, false, 0x800012345678ull, 0x6000000, 2, 0x6345678,
	  0x800022345678ull },
	{ "16K/36 page (start level 2)", 14, 28, false, 0xabcdef012ull, 0x3ffc000, 3,
	  0x3fff012, 0xabcde0012ull },
	{ "64K/48 page (start level 1)", 16, 16, false, 0xfedcba987654ull, 0x3210000, 3,
	  0x3217654, 0xfedcba997654ull },
	{ "64K/48 512M block", 16, 16, false, 0xfedcba987654ull, 0x60000000, 2,
	  0x7a987654, 0xfedcda987654ull },
	{ "64K/42 page (start level 2)", 16, 22, false, 0x3ff00012345ull, 0x110000, 3,
	  0x112345, 0x3ff00022345ull },
	{ "TTBR1 4K/48 page", 12, 16, true, 0xffff000012345678ull, 0x8000000, 3,
	  0x8000678, 0xffff000012346678ull },
	{ "TTBR1 16K/47 32M block", 14, 17, true, 0xffff800012345678ull, 0x2000000, 2,
	  0x2345678, 0xffff800022345678ull },
	{ "TTBR1 64K/42 page", 16, 22, true, 0xfffffc0000010008ull, 0x40000, 3,
	  0x40008, 0xfffffc0000020008ull },
};

static void test_mmu_granules(void)
{
	unsigned int i;
	char msg[160];

	for (i = 0; i < sizeof(map_cases) / sizeof(map_cases[0]); i++) {
		const struct map_case *c = &map_cases[i];
		struct a64_mmu mmu = { .sctlr = A64_SCTLR_M };
		const char *why;
		struct pt pt;
		uint64_t ipa, root;
		int ret;

		pt_init(&pt, c->granule, 64 - c->tsz);
		root = pt_alloc(&pt);
		if (c->upper) {
			mmu.tcr = tcr1(c->granule, c->tsz);
			mmu.ttbr1 = root;
			mmu.ttbr0 = pt_alloc(&pt);	/* empty: must not be used */
		} else {
			mmu.tcr = tcr0(c->granule, c->tsz);
			mmu.ttbr0 = root;
		}
		pt_map(&pt, root, c->va, c->oa, c->leaf, 0);
		ret = xlate(&pt, &mmu, c->va, &ipa, &why);
		snprintf(msg, sizeof(msg), "%s: translates", c->what);
		if (!TAP_CHECK(ret == 0, msg))
			printf("#   ret %d: %s\n", ret, why ? why : "");
		snprintf(msg, sizeof(msg), "%s: IPA", c->what);
		TAP_EQ_U64(ipa, c->ipa, msg);
		snprintf(msg, sizeof(msg), "%s: a neighbour outside the mapping faults", c->what);
		TAP_EQ_INT(xlate(&pt, &mmu, c->va_unmapped, &ipa, &why), -EFAULT, msg);
		snprintf(msg, sizeof(msg), "%s: the other TTBR's half faults", c->what);
		TAP_EQ_INT(xlate(&pt, &mmu, c->upper ? c->va & ((1ull << (64 - c->tsz)) - 1) :
				 c->va | ~((1ull << (64 - c->tsz)) - 1), &ipa, &why),
			   -EFAULT, msg);
	}
}

static void test_mmu_config(void)
{
	struct a64_mmu mmu = { .sctlr = A64_SCTLR_M, .tcr = tcr0(12, 16) };
	const uint64_t va = 0x12345678;
	const char *why;
	uint32_t insn;
	struct pt pt;
	uint64_t ipa;

	pt_init(&pt, 12, 48);
	mmu.ttbr0 = pt_alloc(&pt);
	pt_map(&pt, mmu.ttbr0, va, RAM_GPA, 3, 0);
	*(uint32_t *)(pt.ram + 0x678) = 0xa9400861;

	TAP_EQ_INT(xlate(&pt, &mmu, va, &ipa, &why), 0, "config: baseline translates");
	TAP_EQ_INT(xlate(&pt, &mmu, va | 1ull << 48, &ipa, &why), -EFAULT,
		   "VA bits above T0SZ's range fault");
	TAP_EQ_INT(xlate(&pt, &mmu, va | 0x5aull << 56, &ipa, &why), -EFAULT,
		   "a tagged VA faults without TBI0");
	mmu.tcr |= A64_TCR_TBI0;
	TAP_EQ_INT(xlate(&pt, &mmu, va | 0x5aull << 56, &ipa, &why), 0,
		   "a tagged VA translates with TBI0");
	TAP_EQ_U64(ipa, RAM_GPA + 0x678, "... to the untagged VA's IPA");
	TAP_EQ_INT(a64_translate(&mmu, &pt.mem, va | 0x5aull << 56, true, &ipa, &why), 0,
		   "TBI0 applies to a fetch without TBID0");
	mmu.tcr |= A64_TCR_TBID0;
	TAP_EQ_INT(a64_translate(&mmu, &pt.mem, va | 0x5aull << 56, true, &ipa, &why),
		   -EFAULT, "with TBID0, a tagged fetch address faults");
	TAP_EQ_INT(a64_translate(&mmu, &pt.mem, va | 0x5aull << 56, false, &ipa, &why), 0,
		   "with TBID0, tagged data addresses still translate");
	mmu.tcr = tcr0(12, 16);

	TAP_EQ_INT(a64_fetch_insn(&mmu, &pt.mem, va + 2, &insn, &why), -EINVAL,
		   "fetch from a misaligned PC refused");
	TAP_EQ_INT(a64_fetch_insn(&mmu, &pt.mem, va, &insn, &why),
		   0, "fetch from a mapped PC");
	TAP_EQ_U64(insn, 0xa9400861, "fetch reads the word");

	mmu.tcr |= A64_TCR_EPD0;
	TAP_EQ_INT(xlate(&pt, &mmu, va, &ipa, &why), -EFAULT, "EPD0 faults TTBR0 walks");
	TAP_CHECK(why && strstr(why, "EPD"), "... saying EPD");
	mmu.tcr = tcr0(12, 12);
	TAP_EQ_INT(xlate(&pt, &mmu, va, &ipa, &why), -EOPNOTSUPP,
		   "52-bit VA (T0SZ 12) with 4K pages and no LPA2 refused");
	mmu.tcr = tcr0(14, 12);
	TAP_EQ_INT(xlate(&pt, &mmu, va, &ipa, &why), -EOPNOTSUPP,
		   "52-bit VA (T0SZ 12) with 16K pages and no LPA2 refused");
	mmu.tcr = tcr0(12, 16) | 3ull << A64_TCR_TG0_SHIFT;
	TAP_EQ_INT(xlate(&pt, &mmu, va, &ipa, &why), -EOPNOTSUPP, "reserved TG0 refused");
	mmu.tcr = tcr0(12, 16);
	mmu.sctlr |= A64_SCTLR_EE;
	TAP_EQ_INT(xlate(&pt, &mmu, va, &ipa, &why), -EOPNOTSUPP, "big-endian EL1 refused");
}

/*
 * LPA2 (TCR_EL1.DS), as Linux 6.12 sets it up on a CPU that has it: 4 KiB
 * pages, 52-bit VAs, five levels from level -1, and output addresses
 * above 48 bits (OA[49:48] in place, OA[51:50] in descriptor bits [9:8]).
 */
static void test_mmu_lpa2(void)
{
	const uint64_t ds = A64_TCR_DS, ips52 = 6ull << A64_TCR_IPS_SHIFT;
	struct a64_mmu mmu = { .sctlr = A64_SCTLR_M, .ttbr0 = PT_BASE };
	/* L-1 3, L0 1, L1 1, L2 1, L3 3 */
	const uint64_t va = 0x0003008040203abcull;
	const uint64_t oa = 0x000f000012345000ull;	/* OA[51:48] = 0xf */
	const char *why;
	struct pt pt;
	uint64_t ipa;

	pt_init(&pt, 12, 52);
	mmu.tcr = (tcr0(12, 12) & ~(7ull << A64_TCR_IPS_SHIFT)) | ips52 | ds;
	*pt_desc(&pt, PT_BASE + 3 * 8) = (PT_BASE + 0x1000) | 3;
	*pt_desc(&pt, PT_BASE + 0x1000 + 1 * 8) = (PT_BASE + 0x2000) | 3;
	*pt_desc(&pt, PT_BASE + 0x2000 + 1 * 8) = (PT_BASE + 0x3000) | 3;
	*pt_desc(&pt, PT_BASE + 0x3000 + 1 * 8) = (PT_BASE + 0x4000) | 3;
	*pt_desc(&pt, PT_BASE + 0x4000 + 3 * 8) =
		(oa & ((1ull << 50) - 1)) | (oa >> 50) << 8 | DESC_AF | 3;
	TAP_EQ_INT(xlate(&pt, &mmu, va, &ipa, &why), 0, "LPA2 4K/52: page translates");
	if (why)
		printf("#   %s\n", why);
	TAP_EQ_U64(ipa, oa | 0xabc, "LPA2 4K/52: five levels, OA[51:48] from [9:8] and [49:48]");
	TAP_EQ_INT(xlate(&pt, &mmu, va + (1ull << 48), &ipa, &why), -EFAULT,
		   "LPA2 4K/52: another level -1 entry is unmapped");
	TAP_CHECK(why && strstr(why, "level -1"), "... invalid descriptor at level -1");
	mmu.tcr &= ~ds;
	TAP_EQ_INT(xlate(&pt, &mmu, va, &ipa, &why), -EOPNOTSUPP,
		   "the same tables without DS: 52-bit VA refused");
	/* IPS 48 with DS: the page's OA above 48 bits is an address size fault. */
	mmu.tcr = tcr0(12, 12) | ds;
	TAP_EQ_INT(xlate(&pt, &mmu, va, &ipa, &why), -EFAULT,
		   "LPA2 with IPS 48: OA above 48 bits faults");
	TAP_CHECK(why && strstr(why, "address size"), "... as an address size fault");

	/* 48-bit VA with DS: four levels, and a 512 GiB block at level 0. */
	pt_init(&pt, 12, 48);
	mmu.tcr = (tcr0(12, 16) & ~(7ull << A64_TCR_IPS_SHIFT)) | ips52 | ds;
	/* OA 0x0005000000000000: OA[49:48] = 1 in place, OA[51:50] = 1 in [9:8] */
	*pt_desc(&pt, PT_BASE + 1 * 8) = 1ull << 48 | 1ull << 8 | DESC_AF | 1;
	TAP_EQ_INT(xlate(&pt, &mmu, 0x0000008040203abcull, &ipa, &why), 0,
		   "LPA2 4K/48: a level-0 block translates");
	TAP_EQ_U64(ipa, 0x0005000040203abcull, "LPA2 4K/48: 512G block keeps VA[38:0]");
	mmu.tcr &= ~ds;
	TAP_EQ_INT(xlate(&pt, &mmu, 0x0000008040203abcull, &ipa, &why), -EFAULT,
		   "without DS the level-0 block faults");

	/* 64 KiB pages ignore DS: FEAT_LPA's OA[51:48] in bits [15:12]. */
	pt_init(&pt, 16, 48);
	mmu.tcr = (tcr0(16, 16) & ~(7ull << A64_TCR_IPS_SHIFT)) | ips52 | ds;
	mmu.ttbr0 = pt_alloc(&pt);
	pt_map(&pt, mmu.ttbr0, 0x123456789ull, 0x30000 | 0x5ull << 12, 3, 0);
	TAP_EQ_INT(xlate(&pt, &mmu, 0x123456789ull, &ipa, &why), 0,
		   "64K with DS set: page translates");
	TAP_EQ_U64(ipa, 0x0005000000036789ull, "64K with DS set: OA[51:48] from [15:12]");
}

/* ldp across a page boundary, the two pages mapped to distant IPAs. */
static void test_page_crossing(void)
{
	struct a64_mmu mmu = { .sctlr = A64_SCTLR_M, .tcr = tcr0(12, 39) };
	struct vcpu c, before;
	const char *why;
	struct pt pt;

	pt_init(&pt, 12, 25);
	mmu.ttbr0 = pt_alloc(&pt);
	pt_map(&pt, mmu.ttbr0, 0x400000, A(0x1000), 3, 0);
	pt_map(&pt, mmu.ttbr0, 0x401000, A(0x0000), 3, 0);

	vcpu_init(&c);
	c.mmu = &mmu;
	c.mem = &pt.mem;
	c.x[3] = 0x400ff8;
	before = c;
	TAP_EQ_INT(emu(&c, 0xa9400861, A(0x0), &why), 0,
		   "ldp x1, x2 across a page: emulated (fault on the second page)");
	TAP_CHECK(c.nlog == 2 && c.log[0].ipa == A(0x1ff8) && c.log[1].ipa == A(0x0),
		  "ldp across a page: each element at its own page's IPA");
	TAP_CHECK(c.x[1] == dev_le(&c, A(0x1ff8), 8) && c.x[2] == dev_le(&c, A(0x0), 8),
		  "ldp across a page: values");

	c = before;
	TAP_EQ_INT(emu(&c, 0xa9400861, A(0x1ff8), &why), 0,
		   "ldp across a page: fault on the first page");

	c = before;
	c.x[3] = 0x400ffc;
	before.x[3] = c.x[3];
	TAP_EQ_INT(emu(&c, 0xf9400061, A(0x1ffc), &why), -EFAULT,
		   "ldr x1, [x3] straddling discontiguous pages refused");
	TAP_CHECK(why && strstr(why, "discontiguous"), "... saying so");
	check_untouched(&c, &before, 0, "straddling access");

	/* Unmap the second page: nothing at all happens. */
	pt_map(&pt, mmu.ttbr0, 0x401000, 0, 3, 2);
	c = before;
	c.x[3] = 0x400ff8;
	before.x[3] = c.x[3];
	TAP_EQ_INT(emu(&c, 0xa9400861, A(0x1ff8), &why), -EFAULT,
		   "ldp whose second page is unmapped refused");
	check_untouched(&c, &before, 0, "second page unmapped");
}

int main(void)
{
	pt_ram = aligned_alloc(1 << 16, RAM_SIZE);
	if (!pt_ram)
		return 1;
	test_decode();
	test_refuse();
	test_emulate_single();
	test_emulate_pair();
	test_emulate_simd();
	test_emulate_refused();
	test_mmu_off();
	test_mmu_4k_by_hand();
	test_mmu_granules();
	test_mmu_config();
	test_mmu_lpa2();
	test_page_crossing();
	free(pt_ram);
	return tap_done();
}
