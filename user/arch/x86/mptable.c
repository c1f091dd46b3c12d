// SPDX-License-Identifier: GPL-2.0
/* MP table: SMP and interrupt routing for guests without an ACPI MADT. */
#include "arch/x86/mptable.h"

#include <errno.h>
#include <string.h>

#include "arch/x86/layout.h"

#define MP_SPEC_REV		4	/* 1.4 */
#define MP_APIC_VERSION		0x14	/* integrated local APIC */
#define MP_IOAPIC_VERSION	0x11
#define MP_CPU_EN		0x01
#define MP_CPU_BP		0x02
#define MP_IOAPIC_EN		0x01
#define MP_PCI_SLOTS		32

struct mpf {
	char signature[4];	/* "_MP_" */
	uint32_t physptr;
	uint8_t length;		/* in 16-byte units */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_header {
	char signature[4];	/* "PCMP" */
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t signature;
	uint32_t featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type;
	uint8_t irqtype;
	uint16_t irqflag;
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
} __attribute__((packed));

_Static_assert(sizeof(struct mpf) == 16, "MP floating pointer is 16 bytes");
_Static_assert(sizeof(struct mpc_header) == 44, "MP config header is 44 bytes");
_Static_assert(sizeof(struct mpc_cpu) == 20, "MP processor entry is 20 bytes");
_Static_assert(sizeof(struct mpc_bus) == 8, "MP bus entry is 8 bytes");
_Static_assert(sizeof(struct mpc_ioapic) == 8, "MP IOAPIC entry is 8 bytes");
_Static_assert(sizeof(struct mpc_intsrc) == 8, "MP interrupt entry is 8 bytes");

static uint8_t mp_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

/* Entry appender with bounds checking. */
struct mp_writer {
	uint8_t *buf;
	size_t size, used;
	unsigned int count;
};

static void *mp_entry(struct mp_writer *w, size_t len)
{
	void *p;

	if (w->used > w->size || w->size - w->used < len) {
		w->used = w->size + 1;	/* overflowed: sticky */
		return NULL;
	}
	p = w->buf + w->used;
	memset(p, 0, len);
	w->used += len;
	w->count++;
	return p;
}

static void mp_intsrc(struct mp_writer *w, uint8_t type, uint8_t irqtype,
		      uint16_t flags, uint8_t bus, uint8_t busirq,
		      uint8_t dstapic, uint8_t dstirq)
{
	struct mpc_intsrc *e = mp_entry(w, sizeof(*e));

	if (!e)
		return;
	e->type = type;
	e->irqtype = irqtype;
	e->irqflag = flags;
	e->srcbus = bus;
	e->srcbusirq = busirq;
	e->dstapic = dstapic;
	e->dstirq = dstirq;
}

int mptable_build(void *buf, size_t size, uint32_t gpa,
		  const struct mptable_config *cfg)
{
	struct mp_writer w;
	struct mpc_header *hdr;
	struct mpc_ioapic *io;
	struct mpc_bus *bus;
	struct mpf *mpf;
	unsigned int i, slot, pin;

	if (!cfg->nr_cpus || cfg->nr_cpus > MPTABLE_MAX_CPUS ||
	    cfg->ioapic_id < cfg->nr_cpus || cfg->ioapic_id == 0xff ||
	    gpa & 15)
		return -EINVAL;
	if (size < sizeof(*mpf) + sizeof(*hdr))
		return -ENOSPC;
	memset(buf, 0, sizeof(*mpf) + sizeof(*hdr));

	mpf = buf;
	hdr = (struct mpc_header *)(mpf + 1);
	w.buf = buf;
	w.size = size;
	w.used = sizeof(*mpf) + sizeof(*hdr);
	w.count = 0;

	for (i = 0; i < cfg->nr_cpus; i++) {
		struct mpc_cpu *c = mp_entry(&w, sizeof(*c));

		if (!c)
			break;
		c->type = MP_PROCESSOR;
		c->apicid = i;
		c->apicver = MP_APIC_VERSION;
		c->cpuflag = MP_CPU_EN | (i == 0 ? MP_CPU_BP : 0);
		c->signature = cfg->cpu_signature;
		c->featureflag = cfg->cpu_features;
	}

	bus = mp_entry(&w, sizeof(*bus));
	if (bus) {
		bus->type = MP_BUS;
		bus->busid = MPTABLE_BUS_PCI;
		memcpy(bus->bustype, "PCI   ", 6);
	}
	bus = mp_entry(&w, sizeof(*bus));
	if (bus) {
		bus->type = MP_BUS;
		bus->busid = MPTABLE_BUS_ISA;
		memcpy(bus->bustype, "ISA   ", 6);
	}

	io = mp_entry(&w, sizeof(*io));
	if (io) {
		io->type = MP_IOAPIC;
		io->apicid = cfg->ioapic_id;
		io->apicver = MP_IOAPIC_VERSION;
		io->flags = MP_IOAPIC_EN;
		io->apicaddr = cfg->ioapic_addr;
	}

	/*
	 * ISA IRQ n is IOAPIC pin n (KVM's default GSI routing; IRQ 2 is the
	 * cascade and has no pin).  Flags 0: conforming to the bus, i.e.
	 * edge-triggered, active high.
	 */
	for (i = 0; i < 16; i++) {
		if (i == 2)
			continue;
		mp_intsrc(&w, MP_INTSRC, MP_IRQ_INT, 0, MPTABLE_BUS_ISA, i,
			  cfg->ioapic_id, i);
	}

	/*
	 * PCI INTx: level-triggered.  KVM's IOAPIC ignores polarity, so the
	 * lines are described active high as the VMM drives them.
	 */
	for (slot = 1; slot < MP_PCI_SLOTS; slot++)
		for (pin = 1; pin <= 4; pin++)
			mp_intsrc(&w, MP_INTSRC, MP_IRQ_INT, MP_IRQ_LEVEL_HIGH,
				  MPTABLE_BUS_PCI, slot << 2 | (pin - 1),
				  cfg->ioapic_id, cfg->intx_gsi(cfg->intx_ctx, slot, pin));

	/* The 8259 on LINT0 of every CPU, NMI on LINT1. */
	mp_intsrc(&w, MP_LINTSRC, MP_IRQ_EXTINT, 0, MPTABLE_BUS_ISA, 0, 0xff, 0);
	mp_intsrc(&w, MP_LINTSRC, MP_IRQ_NMI, 0, MPTABLE_BUS_ISA, 0, 0xff, 1);

	if (w.used > w.size)
		return -ENOSPC;

	memcpy(hdr->signature, "PCMP", 4);
	hdr->length = w.used - sizeof(*mpf);
	hdr->spec = MP_SPEC_REV;
	memcpy(hdr->oem, "VBRIDGE ", 8);
	memcpy(hdr->product, "VBRIDGE-RUN ", 12);
	hdr->count = w.count;
	hdr->lapic = X86_LAPIC_BASE;
	hdr->checksum = mp_checksum(hdr, hdr->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = gpa + sizeof(*mpf);
	mpf->length = 1;
	mpf->specification = MP_SPEC_REV;
	mpf->checksum = mp_checksum(mpf, sizeof(*mpf));
	return (int)w.used;
}
