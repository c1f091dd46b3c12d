// SPDX-License-Identifier: GPL-2.0
/*
 * x86 vCPUs: CPUID with per-vCPU APIC ids, MSRs, LINT wiring and FPU state
 * at creation, the 64-bit boot state of the BSP, port I/O and triple-fault
 * exits, and the register dump.
 */
#include "vmm/vmm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/board.h"
#include "lib/log.h"

#define MSR_IA32_MISC_ENABLE	0x000001a0
#define MSR_MTRR_DEF_TYPE	0x000002ff
#define MISC_ENABLE_FAST_STRING	0x1
#define MTRR_DEF_ENABLE_WB	0x806	/* MTRRs on, default write-back */

#define X86_CR0_PE		0x00000001ULL
#define X86_CR0_MP		0x00000002ULL
#define X86_CR0_ET		0x00000010ULL
#define X86_CR0_NE		0x00000020ULL
#define X86_CR0_PG		0x80000000ULL
#define X86_CR4_PAE		0x00000020ULL
#define EFER_LME		0x00000100ULL
#define EFER_LMA		0x00000400ULL

#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_MODE_NMI		0x400
#define APIC_MODE_EXTINT	0x700

#define CPUID_1_ECX_TSC_DEADLINE	(1u << 24)
#define CPUID_1_ECX_HYPERVISOR	(1u << 31)
#define CPUID_1_EDX_HTT		(1u << 28)
#define CPUID_80000001_ECX_CMP	(1u << 1)

enum cpu_vendor { VENDOR_OTHER, VENDOR_INTEL, VENDOR_AMD };

static enum cpu_vendor cpuid_vendor(const struct kvm_cpuid2 *c)
{
	unsigned int i;

	for (i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != 0)
			continue;
		/* "GenuineIntel": EBX "Genu"; "AuthenticAMD"/"HygonGenuine" */
		if (e->ebx == 0x756e6547)
			return VENDOR_INTEL;
		if (e->ebx == 0x68747541 || e->ebx == 0x6f677948)
			return VENDOR_AMD;
	}
	return VENDOR_OTHER;
}

/* Bits needed to number n things (0 for 1). */
static unsigned int order_bits(unsigned int n)
{
	unsigned int b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c,
					   uint32_t function, uint32_t index)
{
	unsigned int i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == function &&
		    c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

/*
 * KVM_GET_SUPPORTED_CPUID may list XSAVE state components whose feature
 * the vCPU does not have (seen under nested TCG: AVX state without AVX),
 * and Linux then warns that its XSAVE sizes disagree with CPUID.  Keep
 * only components whose feature flag is present and recompute the size.
 */
static void cpuid_fix_xsave(struct kvm_cpuid2 *c)
{
	static const struct {
		unsigned int first, last;	/* state components */
		uint32_t function;
		char reg;			/* 'b', 'c' or 'd' */
		unsigned int bit;
	} need[] = {
		{ 2, 2, 0x1, 'c', 28 },		/* AVX */
		{ 3, 4, 0x7, 'b', 14 },		/* MPX */
		{ 5, 7, 0x7, 'b', 16 },		/* AVX-512 */
		{ 9, 9, 0x7, 'c', 3 },		/* PKRU */
		{ 17, 18, 0x7, 'd', 24 },	/* AMX */
	};
	struct kvm_cpuid_entry2 *d0 = cpuid_find(c, 0xd, 0), *f, *s;
	uint32_t max = 512 + 64;	/* legacy area and XSAVE header */
	unsigned int i, j;

	if (!d0)
		return;
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		uint32_t reg = 0;

		f = cpuid_find(c, need[i].function, 0);
		if (f)
			reg = need[i].reg == 'b' ? f->ebx :
			      need[i].reg == 'c' ? f->ecx : f->edx;
		if (reg & (1u << need[i].bit))
			continue;
		for (j = need[i].first; j <= need[i].last; j++) {
			d0->eax &= ~(1u << j);
			s = cpuid_find(c, 0xd, j);
			if (s)
				s->eax = s->ebx = s->ecx = s->edx = 0;
		}
	}
	for (j = 2; j < 32; j++) {
		if (!(d0->eax & (1u << j)))
			continue;
		s = cpuid_find(c, 0xd, j);
		if (s && s->eax + s->ebx > max)
			max = s->eax + s->ebx;
	}
	d0->ecx = max;
	d0->ebx = 512 + 64;	/* for XCR0 = x87 only; KVM updates it */
}

/*
 * One socket of nr_vcpus single-thread cores; the APIC id of vCPU i is i,
 * in every leaf that reports one.
 */
static void cpuid_patch(struct kvm_cpuid2 *c, unsigned int id,
			unsigned int nr_vcpus, enum cpu_vendor vendor,
			bool tsc_deadline)
{
	unsigned int i, bits = order_bits(nr_vcpus);

	cpuid_fix_xsave(c);
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 0x1:
			e->ebx = (e->ebx & 0xffff) | id << 24 |
				 (nr_vcpus > 255 ? 255 : nr_vcpus) << 16;
			if (nr_vcpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			/* not in KVM_GET_SUPPORTED_CPUID: a capability instead */
			if (tsc_deadline)
				e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
			break;
		case 0x4:
			if (vendor == VENDOR_INTEL && (e->eax & 0x1f)) {
				e->eax &= ~0xfc000000u;
				e->eax |= ((nr_vcpus - 1) & 0x3f) << 26;
			}
			break;
		case 0xb:
		case 0x1f:
			e->edx = id;
			if (e->index == 0) {		/* SMT level */
				e->eax = 0;
				e->ebx = 1;
				e->ecx = 1 << 8;
			} else if (e->index == 1) {	/* core level */
				e->eax = bits;
				e->ebx = nr_vcpus;
				e->ecx = 2 << 8 | 1;
			} else {
				e->eax = 0;
				e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x80000001:
			if (vendor == VENDOR_AMD) {
				if (nr_vcpus > 1)
					e->ecx |= CPUID_80000001_ECX_CMP;
				else
					e->ecx &= ~CPUID_80000001_ECX_CMP;
			}
			break;
		case 0x80000008:
			if (vendor == VENDOR_AMD) {
				e->ecx &= ~0xf0ffu;
				e->ecx |= bits << 12 | ((nr_vcpus - 1) & 0xff);
			}
			break;
		case 0x8000001e:
			if (vendor == VENDOR_AMD) {
				e->eax = id;		/* extended APIC id */
				e->ebx = id & 0xff;	/* core id, 1 thread */
				e->ecx = 0;		/* node 0, 1 node */
			}
			break;
		}
	}
}

void x86_cpu_signature(const struct vmm *vm, uint32_t *eax, uint32_t *edx)
{
	unsigned int i;

	*eax = 0;
	*edx = 0;
	for (i = 0; i < vm->arch.cpuid->nent; i++) {
		if (vm->arch.cpuid->entries[i].function == 1) {
			*eax = vm->arch.cpuid->entries[i].eax;
			*edx = vm->arch.cpuid->entries[i].edx;
		}
	}
}

/*
 * Start with XCR0 holding every user state component the vCPU has, as
 * Linux sets it first thing anyway.  KVM then reports CPUID.0xD.EBX for
 * that XCR0 from the start, which keeps it right on hosts that do not
 * intercept the guest's XSETBV (nested under QEMU TCG, whose SVM
 * emulation lacks that intercept).  Not fatal: only a size hint.
 */
static void vcpu_set_xcr0(struct vcpu *c, struct kvm_cpuid2 *cp)
{
	struct kvm_cpuid_entry2 *d0 = cpuid_find(cp, 0xd, 0);
	struct kvm_xcrs xcrs;

	if (!d0 || ioctl(c->vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) <= 0)
		return;
	memset(&xcrs, 0, sizeof(xcrs));
	xcrs.nr_xcrs = 1;
	xcrs.xcrs[0].xcr = 0;
	xcrs.xcrs[0].value = d0->eax | (uint64_t)d0->edx << 32;
	if (ioctl(c->fd, KVM_SET_XCRS, &xcrs) < 0)
		log_debug("vCPU %u: KVM_SET_XCRS 0x%llx: %s", c->id,
			  (unsigned long long)xcrs.xcrs[0].value, strerror(errno));
}

static int vcpu_set_cpuid(struct vcpu *c)
{
	const struct kvm_cpuid2 *base = c->vm->arch.cpuid;
	size_t sz = sizeof(*base) + base->nent * sizeof(base->entries[0]);
	struct kvm_cpuid2 *cp = malloc(sz);
	int ret;

	if (!cp)
		return -1;
	memcpy(cp, base, sz);
	cpuid_patch(cp, c->id, c->vm->nr_vcpus, cpuid_vendor(base),
		    ioctl(c->vm->kvm_fd, KVM_CHECK_EXTENSION,
			  KVM_CAP_TSC_DEADLINE_TIMER) > 0);
	ret = ioctl(c->fd, KVM_SET_CPUID2, cp);
	if (ret < 0)
		log_errno("vCPU %u: KVM_SET_CPUID2", c->id);
	else
		vcpu_set_xcr0(c, cp);
	free(cp);
	return ret < 0 ? -1 : 0;
}

static int vcpu_set_msrs(struct vcpu *c)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[2];
	} m = {
		.hdr.nmsrs = 2,
		.e = {
			{ .index = MSR_IA32_MISC_ENABLE, .data = MISC_ENABLE_FAST_STRING },
			{ .index = MSR_MTRR_DEF_TYPE, .data = MTRR_DEF_ENABLE_WB },
		},
	};
	int n = ioctl(c->fd, KVM_SET_MSRS, &m);

	/* Not fatal: the guest copes with power-on defaults. */
	if (n != 2)
		log_debug("vCPU %u: KVM_SET_MSRS set %d of 2 MSRs", c->id, n);
	return 0;
}

/* LINT0 takes the 8259 (ExtINT), LINT1 NMIs, as firmware leaves them. */
static int vcpu_set_lint(struct vcpu *c)
{
	struct kvm_lapic_state l;
	uint32_t *lvt0 = (uint32_t *)&l.regs[APIC_LVT0];
	uint32_t *lvt1 = (uint32_t *)&l.regs[APIC_LVT1];

	if (ioctl(c->fd, KVM_GET_LAPIC, &l) < 0) {
		log_errno("vCPU %u: KVM_GET_LAPIC", c->id);
		return -1;
	}
	*lvt0 = (*lvt0 & ~0x700u & ~0x10000u) | APIC_MODE_EXTINT;
	*lvt1 = (*lvt1 & ~0x700u & ~0x10000u) | APIC_MODE_NMI;
	if (ioctl(c->fd, KVM_SET_LAPIC, &l) < 0) {
		log_errno("vCPU %u: KVM_SET_LAPIC", c->id);
		return -1;
	}
	return 0;
}

static int vcpu_set_fpu(struct vcpu *c)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(c->fd, KVM_SET_FPU, &fpu) < 0) {
		log_errno("vCPU %u: KVM_SET_FPU", c->id);
		return -1;
	}
	return 0;
}

int arch_vcpu_init(struct vcpu *c)
{
	if (vcpu_set_cpuid(c) || vcpu_set_msrs(c) || vcpu_set_lint(c) ||
	    vcpu_set_fpu(c))
		return -1;
	return 0;
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type,
		     bool code64)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->s = 1;
	s->g = 1;
	s->l = code64;
	s->db = !code64;
}

int x86_vcpu_boot_regs(struct vcpu *c, uint64_t entry, uint64_t zero_page)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(c->fd, KVM_GET_SREGS, &sregs) < 0) {
		log_errno("vCPU %u: KVM_GET_SREGS", c->id);
		return -1;
	}
	seg_flat(&sregs.cs, X86_BOOT_CS, 0xb, true);	/* execute/read, accessed */
	seg_flat(&sregs.ds, X86_BOOT_DS, 0x3, false);	/* read/write, accessed */
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.selector = X86_BOOT_TSS;
	sregs.tr.limit = 0x67;
	sregs.tr.type = 0xb;				/* busy 64-bit TSS */
	sregs.tr.present = 1;
	sregs.gdt.base = X86_BOOT_GDT;
	sregs.gdt.limit = 6 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	sregs.cr3 = X86_BOOT_PML4;
	sregs.cr4 = X86_CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(c->fd, KVM_SET_SREGS, &sregs) < 0) {
		log_errno("vCPU %u: KVM_SET_SREGS", c->id);
		return -1;
	}

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = entry;
	regs.rsi = zero_page;
	regs.rsp = X86_BOOT_STACK;
	if (ioctl(c->fd, KVM_SET_REGS, &regs) < 0) {
		log_errno("vCPU %u: KVM_SET_REGS", c->id);
		return -1;
	}
	return 0;
}

void arch_vcpu_dump(struct vcpu *c)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ioctl(c->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(c->fd, KVM_GET_SREGS, &s) < 0) {
		log_errno("vCPU %u: cannot read registers", c->id);
		return;
	}
	/*
	 * On AMD, KVM reinitialises the VMCB when it reports a shutdown:
	 * what is left is the reset state, not the state at the fault.
	 */
	if (c->run->exit_reason == KVM_EXIT_SHUTDOWN && s.cs.selector == 0xf000 &&
	    r.rip == 0xfff0)
		fprintf(stderr,
			"vCPU %u: KVM reset this vCPU when it shut down (AMD SVM does): the registers at the fault are lost; below is the reset state\n",
			c->id);
	fprintf(stderr,
		"vCPU %u registers:\n"
		" rip %016llx rsp %016llx rflags %016llx\n"
		" rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
		" rsi %016llx rdi %016llx rbp %016llx\n"
		" r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n"
		" r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n"
		" cs %04x (base %llx, l %u, db %u) ss %04x ds %04x tr %04x\n"
		" cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx\n"
		" efer %016llx gdt %llx/%x idt %llx/%x apic_base %llx\n",
		c->id, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx,
		r.rsi, r.rdi, r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13,
		r.r14, r.r15, s.cs.selector, s.cs.base, s.cs.l, s.cs.db,
		s.ss.selector, s.ds.selector, s.tr.selector, s.cr0, s.cr2,
		s.cr3, s.cr4, s.efer, s.gdt.base, s.gdt.limit, s.idt.base,
		s.idt.limit, s.apic_base);
}

static void vcpu_exit_io(struct vcpu *c)
{
	struct kvm_run *run = c->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned int i;

	for (i = 0; i < run->io.count; i++, data += run->io.size) {
		struct io_access a = {
			.addr = run->io.port,
			.len = run->io.size,
			.write = run->io.direction == KVM_EXIT_IO_OUT,
		};

		if (a.write)
			memcpy(&a.val, data, a.len);
		io_bus_dispatch(&c->vm->pio, &a);
		if (!a.write)
			memcpy(data, &a.val, a.len);
	}
}

bool arch_vcpu_exit(struct vcpu *c)
{
	switch (c->run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_exit_io(c);
		return true;
	case KVM_EXIT_SHUTDOWN:
		vcpu_crash(c, "guest triple fault (KVM_EXIT_SHUTDOWN)");
		return true;
	default:
		return false;
	}
}
