/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Software walk of an arm64 guest's stage-1 (EL1&0) translation tables,
 * for the VMM: the guest PC of a data abort without a syndrome is a
 * virtual address, and so are the addresses the instruction accesses.
 *
 * Supported: SCTLR_EL1.M = 0 (identity, VA below 2^48); the 4 KiB, 16 KiB
 * and 64 KiB granules (TG0/TG1); T0SZ/T1SZ from 16 to 48 with the starting
 * level they imply, and from 12 (52-bit VAs) with 64 KiB pages or with
 * LPA2 (TCR_EL1.DS, 4 and 16 KiB pages: 4 KiB's walk then starts at level
 * -1); TTBR0 (VA[55] = 0) and TTBR1 (VA[55] = 1) with EPD0/EPD1 and the
 * VA's top bits checked; top-byte-ignore (TBI0/TBI1, and TBID0/TBID1 for
 * instruction fetches); table, block (at the levels the granule allows,
 * LPA2 adding one) and page descriptors; the output address checked
 * against TCR_EL1.IPS, with OA[51:48] when IPS says 52 bits: from
 * descriptor bits [15:12] for 64 KiB pages (FEAT_LPA), from [49:48] and
 * [9:8] with LPA2 (Linux 6.12 turns LPA2 on where the CPU has it).
 *
 * Refused with a reason: 52-bit VAs with 4 or 16 KiB pages without LPA2, a big-endian
 * EL1 (SCTLR_EL1.EE: its tables are big-endian), reserved granule
 * encodings and TxSZ values out of range, tables outside guest RAM, and
 * every translation fault (invalid descriptor, block where none may be).
 * Access permissions and the access flag are not checked: the emulator
 * translates addresses the hardware has just used (the PC it fetched from,
 * the address that took a stage-2 fault), so stage 1 already allowed them.
 */
#ifndef VBRIDGE_ARCH_ARM64_MMU_H
#define VBRIDGE_ARCH_ARM64_MMU_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/guest_mem.h"

/* The bits of SCTLR_EL1 and TCR_EL1 the walker reads. */
#define A64_SCTLR_M		(1ull << 0)
#define A64_SCTLR_EE		(1ull << 25)
#define A64_TCR_T0SZ_SHIFT	0
#define A64_TCR_EPD0		(1ull << 7)
#define A64_TCR_TG0_SHIFT	14	/* 00 4K, 01 64K, 10 16K */
#define A64_TCR_T1SZ_SHIFT	16
#define A64_TCR_EPD1		(1ull << 23)
#define A64_TCR_TG1_SHIFT	30	/* 01 16K, 10 4K, 11 64K */
#define A64_TCR_IPS_SHIFT	32
#define A64_TCR_TBI0		(1ull << 37)
#define A64_TCR_TBI1		(1ull << 38)
#define A64_TCR_TBID0		(1ull << 51)
#define A64_TCR_TBID1		(1ull << 52)
#define A64_TCR_DS		(1ull << 59)

/**
 * struct a64_mmu - the guest's EL1&0 stage-1 translation registers.
 * @sctlr: SCTLR_EL1
 * @tcr: TCR_EL1
 * @ttbr0: TTBR0_EL1
 * @ttbr1: TTBR1_EL1
 */
struct a64_mmu {
	uint64_t sctlr;
	uint64_t tcr;
	uint64_t ttbr0;
	uint64_t ttbr1;
};

/**
 * a64_translate() - translate a guest virtual address.
 * @mmu: the guest's registers
 * @mem: guest RAM (descriptors are read through guest_mem_ptr())
 * @va: the virtual address
 * @fetch: an instruction fetch (TBIDx applies) rather than a data access
 * @ipa: where the intermediate physical address goes
 * @why: where a static reason goes on failure
 *
 * Return: 0, -EFAULT on a translation or address size fault or a table
 * outside guest RAM, -EOPNOTSUPP for a configuration the walker refuses.
 */
int a64_translate(const struct a64_mmu *mmu, const struct guest_mem *mem,
		  uint64_t va, bool fetch, uint64_t *ipa, const char **why);

/**
 * a64_fetch_insn() - read the instruction at a guest PC.
 *
 * Translates @pc (which must be 4-byte aligned) as an instruction fetch
 * and reads the little-endian word from guest RAM.  Return: 0, a64_translate()'s
 * errors, -EFAULT when the instruction is not in guest RAM, -EINVAL for a
 * misaligned PC.
 */
int a64_fetch_insn(const struct a64_mmu *mmu, const struct guest_mem *mem,
		   uint64_t pc, uint32_t *insn, const char **why);

#endif
