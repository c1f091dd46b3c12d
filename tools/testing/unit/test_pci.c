// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/pci/pci.c: configuration space semantics (read-only
 * fields, write masks, write-1-to-clear), BAR sizing and decoding (32- and
 * 64-bit), the capability list, Command register effects, INTx, malformed
 * accesses, ECAM decoding and firmware-style BAR assignment.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pci/pci_func.h"
#include "tap.h"
#include "vtest.h"

struct tfunc {
	struct pci_func f;
	uint64_t last_wr_off, last_wr_val;
	unsigned int last_wr_bar, last_wr_len, writes;
	int layout_calls, cfg_writes, freed;
	int *freed_flag;
};

static uint64_t t_bar_read(struct pci_func *f, unsigned int bar, uint64_t off,
			   unsigned int len)
{
	return 0x1122334455667788ull ^ (off << 8) ^ bar;
}

static void t_bar_write(struct pci_func *f, unsigned int bar, uint64_t off,
			unsigned int len, uint64_t val)
{
	struct tfunc *t = (struct tfunc *)f;

	t->last_wr_bar = bar;
	t->last_wr_off = off;
	t->last_wr_len = len;
	t->last_wr_val = val;
	t->writes++;
}

static void t_layout(struct pci_func *f)
{
	((struct tfunc *)f)->layout_calls++;
}

static void t_cfg_write(struct pci_func *f, unsigned int reg, unsigned int len,
			uint32_t val)
{
	((struct tfunc *)f)->cfg_writes++;
}

static void t_free(struct pci_func *f)
{
	struct tfunc *t = (struct tfunc *)f;

	if (t->freed_flag)
		(*t->freed_flag)++;
	free(t);
}

static const struct pci_func_ops t_ops = {
	.bar_read = t_bar_read,
	.bar_write = t_bar_write,
	.cfg_write = t_cfg_write,
	.layout_changed = t_layout,
	.free = t_free,
};

static struct tfunc *tfunc_new(int *freed)
{
	struct pci_func_id id = {
		.vendor = 0x1af4, .device = 0x1044, .subsys_vendor = 0x1af4,
		.subsys = 0x1100, .revision = 1, .class = 0xff0000, .intx_pin = 1,
	};
	struct tfunc *t = calloc(1, sizeof(*t));

	pci_func_init(&t->f, &t_ops, "test-func", &id);
	t->freed_flag = freed;
	return t;
}

static void test_header(void)
{
	struct vt_host *vh = vt_host_new();
	struct pci_bus *b = pci_bus_new(&vh->host);
	struct tfunc *t = tfunc_new(NULL);

	TAP_EQ_INT(pci_bus_add(b, PCI_DEVFN(3, 0), &t->f), 0, "hdr: add at 03.0");
	TAP_EQ_INT(pci_bus_add(b, PCI_DEVFN(3, 0), &t->f), -EINVAL,
		   "hdr: adding a function twice is refused");
	{
		struct tfunc *x = tfunc_new(NULL);

		TAP_EQ_INT(pci_bus_add(b, 256, &x->f), -EINVAL,
			   "hdr: devfn 256 refused");
		pci_func_free(&x->f);
	}
	TAP_CHECK(pci_bus_func(b, PCI_DEVFN(3, 0)) == &t->f, "hdr: lookup");
	TAP_EQ_U64(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), 0, 4), 0x10441af4,
		   "hdr: vendor and device id");
	pci_bus_cfg_write(b, PCI_DEVFN(3, 0), 0, 4, 0);
	TAP_EQ_U64(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), 0, 4), 0x10441af4,
		   "hdr: ids are read-only");
	TAP_EQ_U64(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), PCI_REVISION_ID, 4),
		   0xff000001, "hdr: class and revision");
	pci_bus_cfg_write(b, PCI_DEVFN(3, 0), PCI_REVISION_ID, 4, 0x12345678);
	TAP_EQ_U64(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), PCI_REVISION_ID, 4),
		   0xff000001, "hdr: class is read-only");
	TAP_EQ_U64(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), PCI_SUBSYSTEM_VENDOR_ID, 4),
		   0x11001af4, "hdr: subsystem ids");
	TAP_EQ_INT(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), PCI_HEADER_TYPE, 1), 0,
		   "hdr: header type 0");
	TAP_EQ_INT(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), PCI_INTERRUPT_PIN, 1), 1,
		   "hdr: INTA#");
	pci_bus_cfg_write(b, PCI_DEVFN(3, 0), PCI_INTERRUPT_PIN, 1, 3);
	TAP_EQ_INT(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), PCI_INTERRUPT_PIN, 1), 1,
		   "hdr: interrupt pin is read-only");
	pci_bus_cfg_write(b, PCI_DEVFN(3, 0), PCI_INTERRUPT_LINE, 1, 11);
	TAP_EQ_INT(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), PCI_INTERRUPT_LINE, 1), 11,
		   "hdr: interrupt line is writable");
	pci_bus_cfg_write(b, PCI_DEVFN(3, 0), PCI_ROM_ADDRESS, 4, 0xffffffff);
	TAP_EQ_INT(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), PCI_ROM_ADDRESS, 4), 0,
		   "hdr: no expansion ROM (sizing reads 0)");
	pci_bus_cfg_write(b, PCI_DEVFN(3, 0), PCI_COMMAND, 2, 0xffff);
	TAP_EQ_U64(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), PCI_COMMAND, 2),
		   PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
		   PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE,
		   "hdr: command keeps only implemented bits");
	TAP_EQ_INT(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), 0x100, 4), 0,
		   "hdr: no extended config space (reads 0)");
	pci_bus_cfg_write(b, PCI_DEVFN(3, 0), 0x100, 4, 0xffffffff);
	TAP_EQ_INT(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), 0x100, 4), 0,
		   "hdr: extended config space is read-only");

	/* Empty slots. */
	TAP_EQ_U64(pci_bus_cfg_read(b, PCI_DEVFN(4, 0), 0, 4), 0xffffffff,
		   "empty: dword reads all-ones");
	TAP_EQ_U64(pci_bus_cfg_read(b, PCI_DEVFN(3, 1), 0, 2), 0xffff,
		   "empty: other function of a used slot reads all-ones");
	pci_bus_cfg_write(b, PCI_DEVFN(4, 0), PCI_COMMAND, 2, 2);
	TAP_EQ_U64(pci_bus_cfg_read(b, PCI_DEVFN(4, 0), PCI_COMMAND, 1), 0xff,
		   "empty: writes go nowhere");

	/* Malformed accesses. */
	TAP_EQ_U64(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), 1, 2), 0xffff,
		   "bad: unaligned word read is all-ones");
	TAP_EQ_U64(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), 2, 4), 0xffffffff,
		   "bad: unaligned dword read is all-ones");
	TAP_EQ_U64(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), 0, 3), 0xffffff,
		   "bad: 3-byte read is all-ones");
	TAP_EQ_U64(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), 0, 8), 0xffffffff,
		   "bad: 8-byte config read is all-ones");
	TAP_EQ_U64(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), 4096, 1), 0xff,
		   "bad: register 4096 is all-ones");
	TAP_EQ_U64(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), 4094, 4), 0xffffffff,
		   "bad: dword crossing 4 KiB is all-ones");
	pci_bus_cfg_write(b, PCI_DEVFN(3, 0), PCI_INTERRUPT_LINE - 1, 2, 0x5555);
	TAP_EQ_INT(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), PCI_INTERRUPT_LINE, 1), 11,
		   "bad: unaligned write is ignored");
	pci_bus_cfg_write(b, PCI_DEVFN(3, 0), PCI_INTERRUPT_LINE, 3, 0x5555);
	TAP_EQ_INT(pci_bus_cfg_read(b, PCI_DEVFN(3, 0), PCI_INTERRUPT_LINE, 1), 11,
		   "bad: 3-byte write is ignored");
	TAP_EQ_INT(pci_bus_cfg_read(b, 300, 0, 4) == 0xffffffff, 1,
		   "bad: devfn beyond 255 reads all-ones");

	pci_bus_free(b);
	vt_host_free(vh);
}

static void test_status(void)
{
	struct vt_host *vh = vt_host_new();
	struct pci_bus *b = pci_bus_new(&vh->host);
	struct tfunc *t = tfunc_new(NULL);
	unsigned int df = PCI_DEVFN(1, 0);
	uint8_t cap[4] = { 0 };

	pci_bus_add(b, df, &t->f);
	TAP_EQ_INT(pci_bus_cfg_read(b, df, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0,
		   "status: no capability list bit without capabilities");
	TAP_EQ_INT(pci_func_add_cap(&t->f, PCI_CAP_ID_VNDR, cap, sizeof(cap)),
		   0x40, "status: capability placed at 0x40");
	TAP_CHECK(pci_bus_cfg_read(b, df, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST,
		  "status: capability list bit set");
	/* An error bit set by the device is cleared by writing 1. */
	pci_func_cfg_set(&t->f, PCI_STATUS, 2,
			 pci_func_cfg_get(&t->f, PCI_STATUS, 2) | 0x2000);
	pci_bus_cfg_write(b, df, PCI_STATUS, 2, 0);
	TAP_CHECK(pci_bus_cfg_read(b, df, PCI_STATUS, 2) & 0x2000,
		  "status: writing 0 keeps an error bit");
	pci_bus_cfg_write(b, df, PCI_STATUS, 2, 0xffff);
	TAP_EQ_U64(pci_bus_cfg_read(b, df, PCI_STATUS, 2), PCI_STATUS_CAP_LIST,
		   "status: writing 1 clears error bits, read-only bits stay");
	pci_bus_free(b);
	vt_host_free(vh);
}

static void test_bars(void)
{
	struct vt_host *vh = vt_host_new();
	struct pci_bus *b = pci_bus_new(&vh->host);
	struct tfunc *t = tfunc_new(NULL);
	unsigned int df = PCI_DEVFN(2, 0);
	uint64_t v = 0;

	TAP_EQ_INT(pci_func_add_bar(&t->f, 0, 0x4000, PCI_BAR_MEM64), 0,
		   "bar: 64-bit BAR 0");
	TAP_EQ_INT(pci_func_add_bar(&t->f, 1, 0x1000, 0), -EINVAL,
		   "bar: BAR 1 is the upper half of BAR 0");
	TAP_EQ_INT(pci_func_add_bar(&t->f, 2, 0x1000, 0), 0, "bar: 32-bit BAR 2");
	TAP_EQ_INT(pci_func_add_bar(&t->f, 5, 0x1000, PCI_BAR_MEM64), -EINVAL,
		   "bar: 64-bit BAR 5 refused");
	TAP_EQ_INT(pci_func_add_bar(&t->f, 3, 0x1800, 0), -EINVAL,
		   "bar: size not a power of two refused");
	TAP_EQ_INT(pci_func_add_bar(&t->f, 3, 8, 0), -EINVAL,
		   "bar: size below 16 refused");
	TAP_EQ_INT(pci_func_add_bar(&t->f, 6, 0x1000, 0), -EINVAL,
		   "bar: BAR 6 refused");
	pci_bus_add(b, df, &t->f);

	TAP_EQ_U64(pci_bus_cfg_read(b, df, PCI_BASE_ADDRESS_0, 4), 0x4,
		   "bar: BAR 0 reads as 64-bit memory, unassigned");
	pci_bus_cfg_write(b, df, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	pci_bus_cfg_write(b, df, PCI_BASE_ADDRESS_0 + 4, 4, 0xffffffff);
	TAP_EQ_U64(pci_bus_cfg_read(b, df, PCI_BASE_ADDRESS_0, 4), 0xffffc004,
		   "bar: sizing the low half gives ~(16K - 1) | flags");
	TAP_EQ_U64(pci_bus_cfg_read(b, df, PCI_BASE_ADDRESS_0 + 4, 4), 0xffffffff,
		   "bar: sizing the high half gives all-ones");
	pci_bus_cfg_write(b, df, PCI_BASE_ADDRESS_0 + 8, 4, 0xffffffff);
	TAP_EQ_U64(pci_bus_cfg_read(b, df, PCI_BASE_ADDRESS_0 + 8, 4), 0xfffff000,
		   "bar: sizing a 32-bit 4K BAR");
	pci_bus_cfg_write(b, df, PCI_BASE_ADDRESS_0 + 12, 4, 0xffffffff);
	TAP_EQ_INT(pci_bus_cfg_read(b, df, PCI_BASE_ADDRESS_0 + 12, 4), 0,
		   "bar: unimplemented BAR reads 0 after sizing");
	TAP_EQ_INT(pci_func_bar_addr(&t->f, 0), 0,
		   "bar: nothing decodes while memory decoding is off");

	/* Program addresses; decoding follows Command.Memory. */
	pci_bus_cfg_write(b, df, PCI_BASE_ADDRESS_0, 4, 0x10000000);
	pci_bus_cfg_write(b, df, PCI_BASE_ADDRESS_0 + 4, 4, 0x1);
	pci_bus_cfg_write(b, df, PCI_BASE_ADDRESS_0 + 8, 4, 0xe0001234);
	TAP_EQ_U64(pci_bus_cfg_read(b, df, PCI_BASE_ADDRESS_0 + 8, 4), 0xe0001000,
		   "bar: low address bits below the size are dropped");
	TAP_CHECK(!pci_bus_mmio(b, 0x110000000ull, 4, false, &v),
		  "bar: no decode before Command.Memory");
	t->layout_calls = 0;
	pci_bus_cfg_write(b, df, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	TAP_EQ_INT(t->layout_calls, 1, "bar: enabling decode reports a layout change");
	TAP_EQ_U64(pci_func_bar_addr(&t->f, 0), 0x110000000ull,
		   "bar: 64-bit BAR above 4G");
	TAP_CHECK(pci_bus_mmio(b, 0x110000010ull, 4, false, &v),
		  "bar: load inside BAR 0 claimed");
	TAP_EQ_U64(v, (0x1122334455667788ull ^ (0x10 << 8)) & 0xffffffff,
		   "bar: load value from the handler, offset within the BAR");
	TAP_CHECK(pci_bus_mmio(b, 0x110003ff8ull, 8, false, &v),
		  "bar: 8-byte load at the last qword");
	TAP_CHECK(pci_bus_mmio(b, 0x110003ffcull, 8, false, &v),
		  "bar: load running off the end is claimed");
	TAP_EQ_U64(v, ~0ull, "bar: ... and reads all-ones");
	v = 0xabcd;
	TAP_CHECK(pci_bus_mmio(b, 0xe0001ffeull, 2, true, &v), "bar: store in BAR 2");
	TAP_CHECK(t->last_wr_bar == 2 && t->last_wr_off == 0xffe &&
		  t->last_wr_len == 2 && t->last_wr_val == 0xabcd,
		  "bar: store reaches the handler with bar, offset, len, value");
	t->writes = 0;
	v = 1;
	TAP_CHECK(pci_bus_mmio(b, 0xe0001fffull, 2, true, &v),
		  "bar: store crossing the end is claimed");
	TAP_EQ_INT(t->writes, 0, "bar: ... and dropped");
	TAP_CHECK(!pci_bus_mmio(b, 0xe0002000ull, 4, false, &v),
		  "bar: address after the BAR not claimed");
	TAP_CHECK(pci_bus_mmio(b, 0x110000000ull, 3, false, &v) && v == 0xffffff,
		  "bar: 3-byte access reads all-ones");

	/* Move BAR 0 the way a guest does: it reaches the new place only. */
	t->layout_calls = 0;
	pci_bus_cfg_write(b, df, PCI_BASE_ADDRESS_0, 4, 0x20000000);
	pci_bus_cfg_write(b, df, PCI_BASE_ADDRESS_0 + 4, 4, 0);
	TAP_CHECK(t->layout_calls >= 1, "bar: moving reports a layout change");
	TAP_CHECK(pci_bus_mmio(b, 0x20000000ull, 4, false, &v), "bar: moved BAR decodes");
	TAP_CHECK(!pci_bus_mmio(b, 0x110000000ull, 4, false, &v),
		  "bar: old address no longer decodes");
	TAP_EQ_U64(pci_func_bar_addr(&t->f, 0), 0x20000000ull, "bar: bar_addr follows");

	/* Sizing while decoding must not decode at the all-ones pattern. */
	pci_bus_cfg_write(b, df, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	pci_bus_cfg_write(b, df, PCI_BASE_ADDRESS_0 + 4, 4, 0xffffffff);
	TAP_CHECK(!pci_bus_mmio(b, 0xffffffffffffc000ull, 4, false, &v),
		  "bar: sizing pattern is not decoded");
	pci_bus_cfg_write(b, df, PCI_COMMAND, 2, 0);
	TAP_EQ_U64(pci_func_bar_addr(&t->f, 2), 0, "bar: decode off again");
	pci_bus_free(b);
	vt_host_free(vh);
}

static void test_caps(void)
{
	struct vt_host *vh = vt_host_new();
	struct pci_bus *b = pci_bus_new(&vh->host);
	struct tfunc *t = tfunc_new(NULL);
	unsigned int df = PCI_DEVFN(5, 0), cap, n = 0, want[3];
	uint8_t body[20] = { 0, 0, 20, 0xaa, 0xbb };
	uint8_t big[200] = { 0 };
	uint8_t wm[4] = { 0xff, 0xff, 0, 0 };

	want[0] = pci_func_add_cap(&t->f, PCI_CAP_ID_VNDR, body, 16);
	want[1] = pci_func_add_cap(&t->f, PCI_CAP_ID_VNDR, body, 20);
	want[2] = pci_func_add_cap(&t->f, 0x05, body, 10);
	TAP_CHECK(want[0] == 0x40 && want[1] == 0x50 && want[2] == 0x64,
		  "caps: placed one after another, dword aligned");
	TAP_EQ_INT(pci_func_add_cap(&t->f, PCI_CAP_ID_VNDR, big, sizeof(big)),
		   -ENOSPC, "caps: no room past 256 bytes");
	pci_bus_add(b, df, &t->f);
	for (cap = pci_bus_cfg_read(b, df, PCI_CAPABILITY_LIST, 1); cap && n < 10;
	     cap = pci_bus_cfg_read(b, df, cap + 1, 1)) {
		if (n < 3)
			TAP_EQ_INT(cap, want[n], "caps: walk finds the next capability");
		n++;
	}
	TAP_EQ_INT(n, 3, "caps: walk ends after three");
	TAP_EQ_INT(pci_bus_cfg_read(b, df, want[2], 1), 0x05, "caps: ID byte set");
	TAP_EQ_INT(pci_bus_cfg_read(b, df, want[1] + 3, 1), 0xaa, "caps: body kept");
	pci_bus_cfg_write(b, df, want[1] + 3, 1, 0x12);
	TAP_EQ_INT(pci_bus_cfg_read(b, df, want[1] + 3, 1), 0xaa,
		   "caps: read-only by default");
	pci_func_set_wmask(&t->f, want[1] + 4, wm, sizeof(wm));
	t->cfg_writes = 0;
	pci_bus_cfg_write(b, df, want[1] + 4, 4, 0x87654321);
	TAP_EQ_U64(pci_bus_cfg_read(b, df, want[1] + 4, 4), 0x4321,
		   "caps: write mask selects writable bytes");
	TAP_EQ_INT(t->cfg_writes, 1, "caps: device sees the write");
	pci_bus_cfg_write(b, df, want[1], 1, 0x77);
	TAP_EQ_INT(pci_bus_cfg_read(b, df, want[1], 1), PCI_CAP_ID_VNDR,
		   "caps: ID not writable");
	pci_bus_free(b);
	vt_host_free(vh);
}

static void test_intx(void)
{
	struct vt_host *vh = vt_host_new();
	struct pci_bus *b = pci_bus_new(&vh->host);
	struct tfunc *t = tfunc_new(NULL);
	unsigned int df = PCI_DEVFN(6, 0);

	pci_func_set_intx(&t->f, 1);
	TAP_EQ_INT(vh->intx_calls, 0, "intx: no host before the bus");
	pci_bus_add(b, df, &t->f);
	TAP_EQ_INT(vt_intx(vh, df), 1, "intx: level raised before adding reaches the host");
	TAP_CHECK(pci_bus_cfg_read(b, df, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT,
		  "intx: Status.Interrupt set");
	pci_bus_cfg_write(b, df, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	TAP_EQ_INT(vt_intx(vh, df), 0, "intx: INTx-disable drops the line");
	TAP_CHECK(pci_bus_cfg_read(b, df, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT,
		  "intx: Status.Interrupt still shows the device's request");
	pci_func_set_intx(&t->f, 0);
	pci_func_set_intx(&t->f, 1);
	TAP_EQ_INT(vt_intx(vh, df), 0, "intx: stays low while disabled");
	pci_bus_cfg_write(b, df, PCI_COMMAND, 2, 0);
	TAP_EQ_INT(vt_intx(vh, df), 1, "intx: re-enabling raises the pending level");
	vh->intx_calls = 0;
	pci_func_set_intx(&t->f, 1);
	TAP_EQ_INT(vh->intx_calls, 0, "intx: no host call when the level is unchanged");
	pci_func_set_intx(&t->f, 0);
	TAP_EQ_INT(vt_intx(vh, df), 0, "intx: lowered");
	TAP_EQ_INT(pci_bus_cfg_read(b, df, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0,
		   "intx: Status.Interrupt cleared");
	pci_bus_free(b);
	vt_host_free(vh);
}

static void test_ecam(void)
{
	struct vt_host *vh = vt_host_new();
	struct pci_bus *b = pci_bus_new(&vh->host);
	struct tfunc *t = tfunc_new(NULL);
	uint64_t v;

	pci_bus_add(b, PCI_DEVFN(1, 0), &t->f);
	pci_bus_ecam_access(b, (1 << 15) | 0, 4, false, &v);
	TAP_EQ_U64(v, 0x10441af4, "ecam: bus 0 dev 1 ids");
	pci_bus_ecam_access(b, (1 << 20) | (1 << 15), 4, false, &v);
	TAP_EQ_U64(v, 0xffffffff, "ecam: bus 1 is empty");
	pci_bus_ecam_access(b, (1 << 15), 8, false, &v);
	TAP_EQ_U64(v, 0x10441af4ull, "ecam: 8-byte read as two dwords");
	v = 0x3c;
	pci_bus_ecam_access(b, (1 << 15) | PCI_INTERRUPT_LINE, 1, true, &v);
	TAP_EQ_INT(pci_bus_cfg_read(b, PCI_DEVFN(1, 0), PCI_INTERRUPT_LINE, 1), 0x3c,
		   "ecam: byte write");
	pci_bus_ecam_access(b, 1ull << 28, 2, false, &v);
	TAP_EQ_U64(v, 0xffff, "ecam: beyond bus 255 reads all-ones");
	pci_bus_ecam_access(b, (1 << 15) | 0x801, 2, false, &v);
	TAP_EQ_U64(v, 0xffff, "ecam: unaligned reads all-ones");
	pci_bus_free(b);
	vt_host_free(vh);
}

/* CAM (pci-host-cam-generic): bus << 16 | dev << 11 | fn << 8 | reg. */
static void test_cam(void)
{
	struct vt_host *vh = vt_host_new();
	struct pci_bus *b = pci_bus_new(&vh->host);
	struct tfunc *t = tfunc_new(NULL), *t2 = tfunc_new(NULL);
	uint64_t v;

	pci_bus_add(b, PCI_DEVFN(1, 0), &t->f);
	pci_bus_add(b, PCI_DEVFN(5, 2), &t2->f);
	pci_bus_cam_access(b, 1 << 11, 4, false, &v);
	TAP_EQ_U64(v, 0x10441af4, "cam: bus 0 dev 1 ids at 0x800");
	pci_bus_cam_access(b, 5 << 11 | 2 << 8, 4, false, &v);
	TAP_EQ_U64(v, 0x10441af4, "cam: dev 5 fn 2 at 0x2a00");
	pci_bus_cam_access(b, 0, 4, false, &v);
	TAP_EQ_U64(v, 0xffffffff, "cam: empty slot 0 reads all-ones");
	pci_bus_ecam_access(b, 1 << 11, 4, false, &v);
	TAP_EQ_U64(v, 0xffffffff,
		   "cam: the same offset decoded as ECAM is slot 0, empty");
	pci_bus_cam_access(b, 1 << 16 | 1 << 11, 4, false, &v);
	TAP_EQ_U64(v, 0xffffffff, "cam: bus 1 is empty");
	pci_bus_cam_access(b, 1 << 24, 4, false, &v);
	TAP_EQ_U64(v, 0xffffffff, "cam: beyond bus 255 (16 MiB) reads all-ones");
	pci_bus_cam_access(b, 1 << 11, 8, false, &v);
	TAP_EQ_U64(v, 0x10441af4ull, "cam: 8-byte read as two dwords");
	v = 0x23;
	pci_bus_cam_access(b, 1 << 11 | PCI_INTERRUPT_LINE, 1, true, &v);
	TAP_EQ_INT(pci_bus_cfg_read(b, PCI_DEVFN(1, 0), PCI_INTERRUPT_LINE, 1),
		   0x23, "cam: byte write reaches dev 1's register 0x3c");
	TAP_EQ_INT(pci_bus_cfg_read(b, PCI_DEVFN(5, 2), PCI_INTERRUPT_LINE, 1),
		   0, "cam: ... and no other function's");
	pci_bus_cam_access(b, 1 << 11 | 0xfd, 2, false, &v);
	TAP_EQ_U64(v, 0xffff, "cam: unaligned reads all-ones");
	v = 0x77;
	pci_bus_cfg_window_access(b, PCI_CFG_CAM, 5 << 11 | 2 << 8 | 0x3c, 1,
				  true, &v);
	pci_bus_cfg_window_access(b, PCI_CFG_ECAM,
				  PCI_DEVFN(5, 2) << 12 | 0x3c, 1, false, &v);
	TAP_EQ_U64(v, 0x77, "cam/ecam: both layouts reach the same register");
	pci_bus_free(b);
	vt_host_free(vh);
}

static void test_assign(void)
{
	struct vt_host *vh = vt_host_new();
	struct pci_bus *b = pci_bus_new(&vh->host);
	struct tfunc *t1 = tfunc_new(NULL), *t2 = tfunc_new(NULL);
	int freed = 0;
	struct tfunc *t3 = tfunc_new(&freed);

	pci_func_add_bar(&t1->f, 0, 0x1000, 0);
	pci_func_add_bar(&t2->f, 0, 0x4000, PCI_BAR_MEM64);
	pci_func_add_bar(&t2->f, 2, 0x1000, 0);
	pci_bus_add(b, PCI_DEVFN(1, 0), &t1->f);
	pci_bus_add(b, PCI_DEVFN(2, 0), &t2->f);
	TAP_EQ_INT(pci_bus_assign_bars(b, 0x1000000, 0x4000), -ENOSPC,
		   "assign: too small a window");
	TAP_EQ_INT(pci_func_bar_addr(&t2->f, 0), 0, "assign: failure leaves BARs alone");
	TAP_EQ_INT(pci_bus_assign_bars(b, 0x1000000, 0x100000), 0, "assign: fits");
	TAP_EQ_U64(pci_func_bar_addr(&t2->f, 0), 0x1000000, "assign: largest first");
	TAP_EQ_U64(pci_func_bar_addr(&t1->f, 0), 0x1004000, "assign: then bus order");
	TAP_EQ_U64(pci_func_bar_addr(&t2->f, 2), 0x1005000, "assign: aligned, packed");
	TAP_CHECK(pci_bus_cfg_read(b, PCI_DEVFN(1, 0), PCI_COMMAND, 2) &
		  PCI_COMMAND_MEMORY, "assign: memory decoding enabled");
	TAP_CHECK(t1->layout_calls && t2->layout_calls, "assign: layout changes reported");
	pci_bus_add(b, PCI_DEVFN(9, 0), &t3->f);
	pci_bus_free(b);
	TAP_EQ_INT(freed, 1, "bus free frees its functions");
	vt_host_free(vh);
}

int main(void)
{
	test_header();
	test_status();
	test_bars();
	test_caps();
	test_intx();
	test_ecam();
	test_cam();
	test_assign();
	return tap_done();
}
