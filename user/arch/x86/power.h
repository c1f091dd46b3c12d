/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How the guest ends itself: the ACPI PM1a event/control block (power-off
 * through SLP_TYP(\_S5) | SLP_EN) and the i8042 command port's pulse-reset
 * command (0xfe, Linux's reboot=k).  The FADT reset register lives in
 * pci_x86.c (port 0xcf9).  Also the POST port 0x80, which Linux writes
 * for I/O delays and which must not cost more than an exit.
 */
#ifndef VBRIDGE_ARCH_X86_POWER_H
#define VBRIDGE_ARCH_X86_POWER_H

#include <pthread.h>
#include <stdint.h>

#include "vmm/iobus.h"

#define POWER_PM_BASE		0x600	/* PM1a_EVT (4 bytes), PM1a_CNT (2) */
#define POWER_PM_EVT		POWER_PM_BASE
#define POWER_PM_CNT		(POWER_PM_BASE + 4)
#define POWER_PM_LEN		8
#define POWER_S5_SLP_TYP	5
#define POWER_I8042_CMD		0x64
#define POWER_I8042_RESET	0xfe
#define POWER_POST_PORT		0x80

enum power_event {
	POWER_OFF,
	POWER_RESET,
};

/**
 * struct power - PM1a registers and the reset ports.
 * @lock: protects @regs
 * @regs: PM1 status (0-1), enable (2-3), control (4-5), byte-addressed
 * @event: called without @lock when the guest powers off or resets
 *	(constant)
 * @ctx: argument of @event (constant)
 */
struct power {
	pthread_mutex_t lock;
	uint8_t regs[6];
	void (*event)(void *ctx, enum power_event ev);
	void *ctx;
};

void power_init(struct power *p, void (*event)(void *ctx, enum power_event ev),
		void *ctx);
void power_destroy(struct power *p);

io_handler_fn power_pm_io;	/* POWER_PM_BASE, POWER_PM_LEN ports */
io_handler_fn power_i8042_io;	/* POWER_I8042_CMD, 1 port */
io_handler_fn power_post_io;	/* POWER_POST_PORT, 1 port */

#endif
