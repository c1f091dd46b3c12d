// SPDX-License-Identifier: GPL-2.0
/* ACPI PM1a block, i8042 reset, POST port. */
#include "arch/x86/power.h"

#include <string.h>

#include "arch/x86/acpi.h"

#define PM1_STS		0
#define PM1_EN		2
#define PM1_CNT		4

void power_init(struct power *p, void (*event)(void *ctx, enum power_event ev),
		void (*sci)(void *ctx, int level), void *ctx)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->event = event;
	p->sci = sci;
	p->ctx = ctx;
	/* Always in ACPI mode: there is no SMI_CMD to switch. */
	p->regs[PM1_CNT] = ACPI_PM1_SCI_EN;
}

void power_destroy(struct power *p)
{
	pthread_mutex_destroy(&p->lock);
}

static uint16_t power_reg16(const struct power *p, unsigned int off)
{
	return p->regs[off] | p->regs[off + 1] << 8;
}

/* Under p->lock: the SCI follows the enabled status bits. */
static void power_update_sci(struct power *p)
{
	int level = !!(power_reg16(p, PM1_STS) & power_reg16(p, PM1_EN));

	if (level == p->sci_level)
		return;
	p->sci_level = level;
	if (p->sci)
		p->sci(p->ctx, level);
}

void power_button(struct power *p)
{
	pthread_mutex_lock(&p->lock);
	p->regs[PM1_STS + 1] |= POWER_PM1_PWRBTN >> 8;
	power_update_sci(p);
	pthread_mutex_unlock(&p->lock);
}

void power_pm_io(void *opaque, struct io_access *a)
{
	struct power *p = opaque;
	bool off = false;
	unsigned int i;

	pthread_mutex_lock(&p->lock);
	if (!a->write) {
		a->val = 0;
		for (i = 0; i < a->len; i++)
			if (a->off + i < sizeof(p->regs))
				a->val |= (uint64_t)p->regs[a->off + i] << (8 * i);
			else
				a->val |= 0xffULL << (8 * i);
		pthread_mutex_unlock(&p->lock);
		return;
	}
	for (i = 0; i < a->len; i++) {
		unsigned int r = a->off + i;
		uint8_t b = a->val >> (8 * i);

		if (r >= sizeof(p->regs))
			continue;
		if (r < PM1_EN)
			p->regs[r] &= ~b;	/* status: write 1 to clear */
		else
			p->regs[r] = b;
	}
	/* SCI_EN is read-only 1; SLP_EN (bit 13) is write-only. */
	if (a->off <= PM1_CNT + 1 && a->off + a->len > PM1_CNT + 1) {
		uint16_t cnt = power_reg16(p, PM1_CNT);
		unsigned int typ = (cnt & ACPI_PM1_SLP_TYP_MASK) >>
				   ACPI_PM1_SLP_TYP_SHIFT;

		off = (cnt & ACPI_PM1_SLP_EN) && typ == POWER_S5_SLP_TYP;
		p->regs[PM1_CNT + 1] &= ~(ACPI_PM1_SLP_EN >> 8);
	}
	p->regs[PM1_CNT] |= ACPI_PM1_SCI_EN;
	power_update_sci(p);
	pthread_mutex_unlock(&p->lock);
	if (off && p->event)
		p->event(p->ctx, POWER_OFF);
}

void power_i8042_io(void *opaque, struct io_access *a)
{
	struct power *p = opaque;

	if (!a->write) {
		a->val = 0;	/* status: both buffers empty */
		return;
	}
	if ((a->val & 0xff) == POWER_I8042_RESET && p->event)
		p->event(p->ctx, POWER_RESET);
}

void power_post_io(void *opaque, struct io_access *a)
{
	if (!a->write)
		a->val = ~0ULL;
}
