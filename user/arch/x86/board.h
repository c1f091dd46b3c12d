/* SPDX-License-Identifier: GPL-2.0 */
/* What the x86 machine's files (user/arch/x86/) share among themselves. */
#ifndef VBRIDGE_ARCH_X86_BOARD_H
#define VBRIDGE_ARCH_X86_BOARD_H

#include <stdint.h>

#include "vmm/vmm.h"

struct bridge_fe_device;

/* kvm.c: KVM_GET_SUPPORTED_CPUID into vm->arch.cpuid. */
int x86_kvm_get_cpuid(struct vmm *vm);

/* vcpu.c: CPUID.1 EAX and EDX of vCPU 0, for the MP table. */
void x86_cpu_signature(const struct vmm *vm, uint32_t *eax, uint32_t *edx);
/* vcpu.c: 64-bit mode, flat segments, entry, boot_params in RSI. */
int x86_vcpu_boot_regs(struct vcpu *c, uint64_t entry, uint64_t zero_page);

/*
 * bridge.c: do the n devices devs[] declared for vmid fit a guest with RAM
 * layout l?  x86 takes one bridged PCI host per guest (none is fine); its
 * windows, ECAM first, must miss RAM, the in-process BAR window and the
 * APICs and firmware at 0xfec00000 and up, the ECAM window must hold a
 * slot, and its lines must be IOAPIC GSIs PCI_X86_INTX_GSI_BASE ..
 * VMM_NR_IRQS - 1.  Returns 0, or -1 after one error line that says what is
 * wrong and what to change.
 */
int x86_bridge_check_devices(const struct x86_layout *l, uint32_t vmid,
			     const struct bridge_fe_device *devs,
			     unsigned int n);

#endif
