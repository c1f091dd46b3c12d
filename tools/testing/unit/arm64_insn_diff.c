// SPDX-License-Identifier: GPL-2.0
/*
 * Differential check of the arm64 load/store emulator (user/arch/arm64/)
 * against a real A64 CPU: built for aarch64 and run natively or under
 * qemu-aarch64 by tools/testing/unit/arm64-insn-diff (not a unit test:
 * the x86 build never compiles it).
 *
 * For each instruction word the decoder accepts (the words given on the
 * command line, then random ones from a seeded generator), a register
 * file is made (the base register pointing into a buffer, an index
 * register small, every other register random), and the word is run
 * twice from the same registers and buffer contents: once by the CPU
 * (in a child process, from a stub page that loads every register, runs
 * the word and saves every register), once by a64_emulate() with VA = IPA
 * and the MMIO callback reading and writing the same buffer.  X0-X29, SP,
 * V0-V31 and the buffer must come out the same.  X30 is the stub's and
 * is never an operand.
 *
 * Prints TAP: one test point per word.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/arm64/emulate.h"
#include "arch/arm64/insn.h"

#if !defined(__aarch64__)
#error "arm64_insn_diff runs A64 instructions: build it for aarch64"
#endif

struct st {
	uint64_t x[32];		/* x[31]: SP */
	uint8_t v[32][16];
};

#define BUF_SIZE	(256u << 10)

void nisv_run(struct st *s, void *stub);
struct st *nisv_cur;
uint64_t nisv_save[22];

/*
 * nisv_run(s, stub): save the callee-saved registers, SP, TPIDR_EL0 and
 * x30, jump to the stub.  The stub calls nisv_load_all (every register
 * from *nisv_cur but x30), runs the word, and branches to nisv_save_all
 * (every register to *nisv_cur, then back to nisv_run's caller).
 */
__asm__(
	"	.text\n"
	"	.global nisv_run\n"
	"nisv_run:\n"
	"	adrp x9, nisv_save\n"
	"	add x9, x9, :lo12:nisv_save\n"
	"	stp x19, x20, [x9, #0]\n"
	"	stp x21, x22, [x9, #16]\n"
	"	stp x23, x24, [x9, #32]\n"
	"	stp x25, x26, [x9, #48]\n"
	"	stp x27, x28, [x9, #64]\n"
	"	stp x29, x30, [x9, #80]\n"
	"	mov x10, sp\n"
	"	str x10, [x9, #96]\n"
	"	mrs x10, tpidr_el0\n"
	"	str x10, [x9, #104]\n"
	"	stp d8, d9, [x9, #112]\n"
	"	stp d10, d11, [x9, #128]\n"
	"	stp d12, d13, [x9, #144]\n"
	"	stp d14, d15, [x9, #160]\n"
	"	adrp x10, nisv_cur\n"
	"	str x0, [x10, :lo12:nisv_cur]\n"
	"	br x1\n"
	"\n"
	"	.global nisv_load_all\n"
	"nisv_load_all:\n"
	"	adrp x0, nisv_cur\n"
	"	ldr x0, [x0, :lo12:nisv_cur]\n"
	"	add x1, x0, #256\n"
	"	ldp q0, q1, [x1, #0]\n"
	"	ldp q2, q3, [x1, #32]\n"
	"	ldp q4, q5, [x1, #64]\n"
	"	ldp q6, q7, [x1, #96]\n"
	"	ldp q8, q9, [x1, #128]\n"
	"	ldp q10, q11, [x1, #160]\n"
	"	ldp q12, q13, [x1, #192]\n"
	"	ldp q14, q15, [x1, #224]\n"
	"	ldp q16, q17, [x1, #256]\n"
	"	ldp q18, q19, [x1, #288]\n"
	"	ldp q20, q21, [x1, #320]\n"
	"	ldp q22, q23, [x1, #352]\n"
	"	ldp q24, q25, [x1, #384]\n"
	"	ldp q26, q27, [x1, #416]\n"
	"	ldp q28, q29, [x1, #448]\n"
	"	ldp q30, q31, [x1, #480]\n"
	"	ldr x1, [x0, #248]\n"
	"	mov sp, x1\n"
	"	ldp x1, x2, [x0, #8]\n"
	"	ldp x3, x4, [x0, #24]\n"
	"	ldp x5, x6, [x0, #40]\n"
	"	ldp x7, x8, [x0, #56]\n"
	"	ldp x9, x10, [x0, #72]\n"
	"	ldp x11, x12, [x0, #88]\n"
	"	ldp x13, x14, [x0, #104]\n"
	"	ldp x15, x16, [x0, #120]\n"
	"	ldp x17, x18, [x0, #136]\n"
	"	ldp x19, x20, [x0, #152]\n"
	"	ldp x21, x22, [x0, #168]\n"
	"	ldp x23, x24, [x0, #184]\n"
	"	ldp x25, x26, [x0, #200]\n"
	"	ldp x27, x28, [x0, #216]\n"
	"	ldr x29, [x0, #232]\n"
	"	ldr x0, [x0, #0]\n"
	"	ret\n"
	"\n"
	"	.global nisv_save_all\n"
	"nisv_save_all:\n"
	"	msr tpidr_el0, x0\n"
	"	adrp x0, nisv_cur\n"
	"	ldr x0, [x0, :lo12:nisv_cur]\n"
	"	stp x1, x2, [x0, #8]\n"
	"	stp x3, x4, [x0, #24]\n"
	"	stp x5, x6, [x0, #40]\n"
	"	stp x7, x8, [x0, #56]\n"
	"	stp x9, x10, [x0, #72]\n"
	"	stp x11, x12, [x0, #88]\n"
	"	stp x13, x14, [x0, #104]\n"
	"	stp x15, x16, [x0, #120]\n"
	"	stp x17, x18, [x0, #136]\n"
	"	stp x19, x20, [x0, #152]\n"
	"	stp x21, x22, [x0, #168]\n"
	"	stp x23, x24, [x0, #184]\n"
	"	stp x25, x26, [x0, #200]\n"
	"	stp x27, x28, [x0, #216]\n"
	"	stp x29, x30, [x0, #232]\n"
	"	mrs x1, tpidr_el0\n"
	"	str x1, [x0, #0]\n"
	"	mov x1, sp\n"
	"	str x1, [x0, #248]\n"
	"	add x1, x0, #256\n"
	"	stp q0, q1, [x1, #0]\n"
	"	stp q2, q3, [x1, #32]\n"
	"	stp q4, q5, [x1, #64]\n"
	"	stp q6, q7, [x1, #96]\n"
	"	stp q8, q9, [x1, #128]\n"
	"	stp q10, q11, [x1, #160]\n"
	"	stp q12, q13, [x1, #192]\n"
	"	stp q14, q15, [x1, #224]\n"
	"	stp q16, q17, [x1, #256]\n"
	"	stp q18, q19, [x1, #288]\n"
	"	stp q20, q21, [x1, #320]\n"
	"	stp q22, q23, [x1, #352]\n"
	"	stp q24, q25, [x1, #384]\n"
	"	stp q26, q27, [x1, #416]\n"
	"	stp q28, q29, [x1, #448]\n"
	"	stp q30, q31, [x1, #480]\n"
	"	adrp x9, nisv_save\n"
	"	add x9, x9, :lo12:nisv_save\n"
	"	ldp x19, x20, [x9, #0]\n"
	"	ldp x21, x22, [x9, #16]\n"
	"	ldp x23, x24, [x9, #32]\n"
	"	ldp x25, x26, [x9, #48]\n"
	"	ldp x27, x28, [x9, #64]\n"
	"	ldp x29, x30, [x9, #80]\n"
	"	ldr x10, [x9, #96]\n"
	"	mov sp, x10\n"
	"	ldr x10, [x9, #104]\n"
	"	msr tpidr_el0, x10\n"
	"	ldp d8, d9, [x9, #112]\n"
	"	ldp d10, d11, [x9, #128]\n"
	"	ldp d12, d13, [x9, #144]\n"
	"	ldp d14, d15, [x9, #160]\n"
	"	ret\n");

void nisv_load_all(void);
void nisv_save_all(void);

static uint8_t *buf;		/* shared with the child */
static struct st *shared;	/* the child's registers after the word */
static uint32_t *stub;

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* ldr x30, lit1; blr x30; WORD; ldr x30, lit2; br x30; pad; lit1; lit2 */
static void make_stub(uint32_t word)
{
	uint64_t l1 = (uint64_t)(uintptr_t)nisv_load_all;
	uint64_t l2 = (uint64_t)(uintptr_t)nisv_save_all;

	stub[0] = 0x58000000 | 6 << 5 | 30;
	stub[1] = 0xd63f03c0;
	stub[2] = word;
	stub[3] = 0x58000000 | 5 << 5 | 30;
	stub[4] = 0xd61f03c0;
	stub[5] = 0xd503201f;	/* nop */
	memcpy(&stub[6], &l1, 8);
	memcpy(&stub[8], &l2, 8);
	__builtin___clear_cache((char *)stub, (char *)&stub[10]);
}

/* --- the emulator's side ---------------------------------------------------- */

struct emu {
	struct st s;
	uint64_t pc;
	uint64_t first_va;
	int nxlate;
};

static uint64_t e_get_reg(void *o, unsigned int n)
{
	return ((struct emu *)o)->s.x[n];
}

static void e_set_reg(void *o, unsigned int n, uint64_t v)
{
	((struct emu *)o)->s.x[n] = v;
}

static int e_get_vreg(void *o, unsigned int n, uint8_t v[16])
{
	memcpy(v, ((struct emu *)o)->s.v[n], 16);
	return 0;
}

static int e_set_vreg(void *o, unsigned int n, const uint8_t v[16])
{
	memcpy(((struct emu *)o)->s.v[n], v, 16);
	return 0;
}

static uint64_t e_get_pc(void *o)
{
	return ((struct emu *)o)->pc;
}

static void e_set_pc(void *o, uint64_t pc)
{
	((struct emu *)o)->pc = pc;
}

static int e_translate(void *o, uint64_t va, uint64_t *ipa, const char **why)
{
	struct emu *e = o;

	if (va < (uintptr_t)buf || va >= (uintptr_t)buf + BUF_SIZE) {
		*why = "outside the buffer";
		return -EFAULT;
	}
	if (!e->nxlate++)
		e->first_va = va;
	*ipa = va;
	return 0;
}

static int e_mmio(void *o, uint64_t ipa, unsigned int len, bool write, uint64_t *val)
{
	uint8_t *p = (uint8_t *)(uintptr_t)ipa;

	if (ipa < (uintptr_t)buf || ipa + len > (uintptr_t)buf + BUF_SIZE)
		return -EFAULT;
	if (write) {
		memcpy(p, val, len);	/* little-endian host */
	} else {
		*val = 0;
		memcpy(val, p, len);
	}
	return 0;
}

static const struct a64_emu_ops e_ops = {
	.get_reg = e_get_reg, .set_reg = e_set_reg,
	.get_vreg = e_get_vreg, .set_vreg = e_set_vreg,
	.get_pc = e_get_pc, .set_pc = e_set_pc,
	.translate = e_translate, .mmio = e_mmio,
};

/* --- one case ---------------------------------------------------------------- */

static int tap_n, tap_bad;
static unsigned int n_pair, n_simd, n_reg, n_wback, n_load, n_sign;

/* Registers for ls: base in the buffer, a small index, the rest random. */
static void setup(const struct a64_ls *ls, struct st *s)
{
	uint64_t base = (uintptr_t)buf + BUF_SIZE / 2 + (rnd() % 256) * 16;
	unsigned int i;

	for (i = 0; i < 32; i++) {
		s->x[i] = rnd();
		for (unsigned int j = 0; j < 16; j += 8) {
			uint64_t r = rnd();

			memcpy(&s->v[i][j], &r, 8);
		}
	}
	s->x[30] = 0;
	s->x[31] = (uintptr_t)buf + 4096;	/* SP 16-byte aligned, even unused */
	s->x[ls->rn] = base;
	if (ls->reg_offset && ls->rm != 31) {
		int64_t small = (int64_t)(rnd() % 129) - 64;
		uint64_t hi = rnd() & 0xffffffff00000000ull;

		switch (ls->extend) {
		case A64_EXT_UXTW:
			s->x[ls->rm] = hi | (uint64_t)(small < 0 ? -small : small);
			break;
		case A64_EXT_SXTW:
			s->x[ls->rm] = hi | (uint32_t)(int32_t)small;
			break;
		default:
			s->x[ls->rm] = (uint64_t)small;
			break;
		}
	}
}

/* Operands the harness cannot give: x30, an index that is the base. */
static bool usable(const struct a64_ls *ls)
{
	if (ls->rn == 30 || (!ls->simd && (ls->rt == 30 || (ls->pair && ls->rt2 == 30))))
		return false;
	if (ls->reg_offset && (ls->rm == 30 || ls->rm == ls->rn))
		return false;
	/* CONSTRAINED UNPREDICTABLE stores: the emulator picks one behaviour. */
	if (!ls->simd && !ls->load && a64_ls_writeback(ls) && ls->rn != 31 &&
	    (ls->rt == ls->rn || (ls->pair && ls->rt2 == ls->rn)))
		return false;
	return true;
}

static void run_case(uint32_t word, const char *what)
{
	static uint8_t before[BUF_SIZE], after_cpu[BUF_SIZE];
	struct a64_emu_ops ops;
	struct st s0, cpu;
	struct emu e;
	struct a64_ls ls;
	const char *why = NULL;
	char msg[200];
	int status, ret, bad = 0;
	unsigned int i;
	pid_t pid;

	if (a64_decode_ls(word, &ls, &why))
		return;
	setup(&ls, &s0);
	for (i = 0; i < BUF_SIZE; i += 8) {
		uint64_t r = rnd();

		memcpy(buf + i, &r, 8);
	}
	memcpy(before, buf, BUF_SIZE);
	snprintf(msg, sizeof(msg), "%08x %s", word, what);

	/* The CPU. */
	make_stub(word);
	*shared = s0;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (!pid) {
		nisv_run(shared, stub);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("not ok %d - %s: the CPU %s %d\n", ++tap_n, msg,
		       WIFSIGNALED(status) ? "took signal" : "exited with",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		tap_bad++;
		return;
	}
	cpu = *shared;
	memcpy(after_cpu, buf, BUF_SIZE);

	/* The emulator: learn the first VA, then with its IPA as the fault. */
	memcpy(buf, before, BUF_SIZE);
	memset(&e, 0, sizeof(e));
	e.s = s0;
	ops = e_ops;
	ops.opaque = &e;
	ret = a64_emulate(&ops, word, ~0ull, ls.load ? 0 : A64_ISS_WNR, &why);
	if (!ret || !e.nxlate) {
		printf("not ok %d - %s: probe run returned %d (%s)\n", ++tap_n, msg, ret,
		       why ? why : "");
		tap_bad++;
		return;
	}
	e.s = s0;
	e.nxlate = 0;
	ret = a64_emulate(&ops, word, e.first_va, ls.load ? 0 : A64_ISS_WNR, &why);
	if (ret || e.pc != 4) {
		printf("not ok %d - %s: emulator returned %d (%s)\n", ++tap_n, msg, ret,
		       why ? why : "");
		tap_bad++;
		return;
	}
	for (i = 0; i < 32; i++) {
		if (i == 30)
			continue;
		if (cpu.x[i] != e.s.x[i]) {
			printf("#   %s%u: CPU 0x%016" PRIx64 ", emulator 0x%016" PRIx64
			       " (was 0x%016" PRIx64 ")\n", i == 31 ? "SP" : "X",
			       i == 31 ? 0 : i, cpu.x[i], e.s.x[i], s0.x[i]);
			bad = 1;
		}
		if (memcmp(cpu.v[i], e.s.v[i], 16)) {
			printf("#   V%u differs\n", i);
			bad = 1;
		}
	}
	for (i = 0; i < BUF_SIZE; i++) {
		if (after_cpu[i] != buf[i]) {
			printf("#   memory at +0x%x: CPU %02x, emulator %02x\n", i, after_cpu[i],
			       buf[i]);
			bad = 1;
			break;
		}
	}
	printf("%sok %d - %s\n", bad ? "not " : "", ++tap_n, msg);
	tap_bad += bad;
	n_pair += ls.pair;
	n_simd += ls.simd;
	n_reg += ls.reg_offset;
	n_wback += a64_ls_writeback(&ls);
	n_load += ls.load;
	n_sign += ls.sign;
}

int main(int argc, char **argv)
{
	unsigned int nrandom = 2000, done = 0, i;
	int a;

	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	stub = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || shared == MAP_FAILED || stub == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	if (getenv("ARM64_DIFF_RANDOM"))
		nrandom = strtoul(getenv("ARM64_DIFF_RANDOM"), NULL, 0);

	for (a = 1; a < argc; a++) {
		uint32_t word = strtoul(argv[a], NULL, 16);
		struct a64_ls ls;
		const char *why;

		if (a64_decode_ls(word, &ls, &why) || !usable(&ls))
			continue;
		run_case(word, "(listed)");
	}
	for (i = 0; done < nrandom; i++) {
		uint32_t word = (uint32_t)rnd();
		struct a64_ls ls;
		const char *why;

		/* Into the load/store group: op0 = x1x0. */
		word = (word | 1u << 27) & ~(1u << 25);
		/* A quarter of them register offsets, rare otherwise. */
		if (!(i & 3))
			word = (word | 3u << 28 | 1u << 21 | 2u << 10) & ~(1u << 24 | 1u << 10);
		if (a64_decode_ls(word, &ls, &why) || !usable(&ls))
			continue;
		run_case(word, "(random)");
		done++;
	}
	printf("# compared: %u pairs, %u SIMD&FP, %u register offsets, %u with writeback, %u loads (%u sign-extending)\n",
	       n_pair, n_simd, n_reg, n_wback, n_load, n_sign);
	printf("1..%d\n", tap_n);
	return tap_bad ? 1 : 0;
}
