/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How the guest ends itself: the ACPI PM1a event/control block (power-off
 * through SLP_TYP(\_S5) | SLP_EN; the fixed-feature power button, whose
 * PWRBTN_STS drives the SCI while PWRBTN_EN is set) and the i8042 command port's pulse-reset
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
#define POWER_PM1_PWRBTN	(1u << 8)	/* PM1_STS and PM1_EN bit */
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
 * @sci_level: the level last given to @sci (under @lock)
 * @event: called without @lock when the guest powers off or resets
 *	(constant)
 * @sci: drives the SCI to a level, called under @lock whenever the level
 *	changes: active while a status bit is set whose enable bit is set
 *	(constant; may be NULL)
 * @ctx: argument of @event and @sci (constant)
 */
struct power {
	pthread_mutex_t lock;
	uint8_t regs[6];
	int sci_level;
	void (*event)(void *ctx, enum power_event ev);
	void (*sci)(void *ctx, int level);
	void *ctx;
};

void power_init(struct power *p, void (*event)(void *ctx, enum power_event ev),
		void (*sci)(void *ctx, int level), void *ctx);
void power_destroy(struct power *p);
/* The host presses the power button: PWRBTN_STS is set (and the SCI raised). */
void power_button(struct power *p);

io_handler_fn power_pm_io;	/* POWER_PM_BASE, POWER_PM_LEN ports */
io_handler_fn power_i8042_io;	/* POWER_I8042_CMD, 1 port */
io_handler_fn power_post_io;	/* POWER_POST_PORT, 1 port */

#endif
