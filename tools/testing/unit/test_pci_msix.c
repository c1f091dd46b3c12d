// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/pci/msix.c: the capability as a guest finds it, the
 * writable bits of Message Control, the vector table's fields and access
 * sizes, the read-only PBA, and when a raised vector is sent, held pending
 * or dropped (disabled, masked per vector, Function Mask, unmasked later,
 * out of range); the saved table and PBA (what the guest reads, put back
 * into another function without sending anything, pending vectors sent
 * once the host asks, states a guest cannot have made refused).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pci/msix.h"
#include "pci/pci_func.h"
#include "tap.h"
#include "vtest.h"

#define DEVFN		PCI_DEVFN(3, 0)
#define BAR		2
#define BAR_SIZE	0x4000
#define TABLE_OFF	0x1000
#define PBA_OFF		0x3000
#define NR		70	/* the PBA takes two 64-bit words */

struct sent {
	uint64_t addr;
	uint32_t data;
};

static struct sent sent_log[64];
static int nr_sent;

static void t_send_msi(struct pci_host *h, struct pci_func *f, uint64_t addr,
		       uint32_t data)
{
	if (nr_sent < 64) {
		sent_log[nr_sent].addr = addr;
		sent_log[nr_sent].data = data;
	}
	nr_sent++;
}

static const struct pci_host_ops msi_host_ops = {
	.set_intx = vt_set_intx,
	.send_msi = t_send_msi,
};

struct mfunc {
	struct pci_func f;
	struct pci_msix m;
};

static uint64_t m_bar_read(struct pci_func *f, unsigned int bar, uint64_t off,
			   unsigned int len)
{
	uint64_t v = 0x5a5a5a5a;

	pci_msix_bar_access(&((struct mfunc *)f)->m, off, len, false, &v);
	return v;
}

static void m_bar_write(struct pci_func *f, unsigned int bar, uint64_t off,
			unsigned int len, uint64_t val)
{
	pci_msix_bar_access(&((struct mfunc *)f)->m, off, len, true, &val);
}

static void m_cfg_write(struct pci_func *f, unsigned int reg, unsigned int len,
			uint32_t val)
{
	pci_msix_cfg_write(&((struct mfunc *)f)->m, reg, len);
}

static void m_free(struct pci_func *f)
{
	pci_msix_destroy(&((struct mfunc *)f)->m);
	free(f);
}

static const struct pci_func_ops m_ops = {
	.bar_read = m_bar_read,
	.bar_write = m_bar_write,
	.cfg_write = m_cfg_write,
	.free = m_free,
};

struct world {
	struct vt_host *vh;
	struct pci_bus *bus;
	struct mfunc *mf;
	unsigned int cap;
	uint64_t bar;
};

static struct mfunc *mfunc_new(void)
{
	struct pci_func_id id = {
		.vendor = 0x1af4, .device = 0x1041, .class = 0x020000,
		.intx_pin = 1,
	};
	struct mfunc *mf = calloc(1, sizeof(*mf));

	pci_func_init(&mf->f, &m_ops, "msix-func", &id);
	pci_func_add_bar(&mf->f, BAR, BAR_SIZE, 0);
	return mf;
}

static void world_up(struct world *w)
{
	unsigned int cap;

	memset(w, 0, sizeof(*w));
	nr_sent = 0;
	w->vh = vt_host_new();
	w->vh->host.ops = &msi_host_ops;
	w->bus = pci_bus_new(&w->vh->host);
	w->mf = mfunc_new();
	if (pci_msix_init(&w->mf->m, &w->mf->f, BAR, TABLE_OFF, PBA_OFF, NR))
		abort();
	pci_bus_add(w->bus, DEVFN, &w->mf->f);
	w->bar = 0xd0000000;
	pci_bus_cfg_write(w->bus, DEVFN, PCI_BASE_ADDRESS_0 + 4 * BAR, 4, w->bar);
	pci_bus_cfg_write(w->bus, DEVFN, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	for (cap = pci_bus_cfg_read(w->bus, DEVFN, PCI_CAPABILITY_LIST, 1); cap;
	     cap = pci_bus_cfg_read(w->bus, DEVFN, cap + 1, 1))
		if (pci_bus_cfg_read(w->bus, DEVFN, cap, 1) == PCI_CAP_ID_MSIX)
			w->cap = cap;
}

static void world_down(struct world *w)
{
	pci_bus_free(w->bus);
	vt_host_free(w->vh);
}

static uint64_t rd(struct world *w, uint64_t off, unsigned int len)
{
	uint64_t v = ~0ull;

	pci_bus_mmio(w->bus, w->bar + off, len, false, &v);
	return v;
}

static void wr(struct world *w, uint64_t off, unsigned int len, uint64_t v)
{
	pci_bus_mmio(w->bus, w->bar + off, len, true, &v);
}

static void ctrl_set(struct world *w, uint16_t v)
{
	pci_bus_cfg_write(w->bus, DEVFN, w->cap + PCI_MSIX_FLAGS, 2, v);
}

static uint64_t entry_off(unsigned int v, unsigned int field)
{
	return TABLE_OFF + v * PCI_MSIX_ENTRY_SIZE + field;
}

/* Program vector v with a message and leave it unmasked or not. */
static void program(struct world *w, unsigned int v, uint64_t addr,
		    uint32_t data, bool masked)
{
	wr(w, entry_off(v, PCI_MSIX_ENTRY_LOWER_ADDR), 4, (uint32_t)addr);
	wr(w, entry_off(v, PCI_MSIX_ENTRY_UPPER_ADDR), 4, addr >> 32);
	wr(w, entry_off(v, PCI_MSIX_ENTRY_DATA), 4, data);
	wr(w, entry_off(v, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, masked);
}

static void test_capability(void)
{
	struct world w;
	struct mfunc *bad = mfunc_new();
	struct pci_msix m;

	world_up(&w);
	TAP_CHECK(w.cap >= PCI_STD_HEADER_SIZE, "cap: MSI-X is in the capability list");
	TAP_CHECK(pci_bus_cfg_read(w.bus, DEVFN, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST,
		  "cap: Status says there is a list");
	TAP_EQ_INT(pci_bus_cfg_read(w.bus, DEVFN, w.cap + PCI_MSIX_FLAGS, 2), NR - 1,
		   "cap: table size is N-1, disabled and unmasked at reset");
	TAP_EQ_U64(pci_bus_cfg_read(w.bus, DEVFN, w.cap + PCI_MSIX_TABLE, 4),
		   TABLE_OFF | BAR, "cap: table offset and BIR");
	TAP_EQ_U64(pci_bus_cfg_read(w.bus, DEVFN, w.cap + PCI_MSIX_PBA, 4),
		   PBA_OFF | BAR, "cap: PBA offset and BIR");
	ctrl_set(&w, 0xffff);
	TAP_EQ_U64(pci_bus_cfg_read(w.bus, DEVFN, w.cap + PCI_MSIX_FLAGS, 2),
		   PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL | (NR - 1),
		   "cap: only Enable and Function Mask are writable");
	TAP_CHECK(pci_msix_enabled(&w.mf->m), "cap: enabled once the guest sets Enable");
	pci_bus_cfg_write(w.bus, DEVFN, w.cap + PCI_MSIX_TABLE, 4, 0);
	TAP_EQ_U64(pci_bus_cfg_read(w.bus, DEVFN, w.cap + PCI_MSIX_TABLE, 4),
		   TABLE_OFF | BAR, "cap: the table's location is read-only");
	world_down(&w);

	TAP_EQ_INT(pci_msix_init(&m, &bad->f, BAR, TABLE_OFF, PBA_OFF, 0), -EINVAL,
		   "init: no vectors is refused");
	TAP_EQ_INT(pci_msix_init(&m, &bad->f, 1, TABLE_OFF, PBA_OFF, 4), -EINVAL,
		   "init: a BAR the function does not have is refused");
	TAP_EQ_INT(pci_msix_init(&m, &bad->f, BAR, BAR_SIZE - 16, PBA_OFF, 2),
		   -EINVAL, "init: a table past the BAR's end is refused");
	TAP_EQ_INT(pci_msix_init(&m, &bad->f, BAR, TABLE_OFF, TABLE_OFF + 32, 4),
		   -EINVAL, "init: a PBA inside the table is refused");
	TAP_EQ_INT(pci_msix_init(&m, &bad->f, BAR, TABLE_OFF + 4, PBA_OFF, 4),
		   -EINVAL, "init: a table not 8-byte aligned is refused");
	TAP_EQ_INT(pci_msix_init(&m, &bad->f, BAR, TABLE_OFF, PBA_OFF,
				 PCI_MSIX_MAX_VECTORS + 1), -EINVAL,
		   "init: more than 2048 vectors is refused");
	pci_func_free(&bad->f);
}

static void test_table(void)
{
	struct world w;

	world_up(&w);
	TAP_EQ_U64(rd(&w, entry_off(5, PCI_MSIX_ENTRY_VECTOR_CTRL), 4), 1,
		   "table: every vector starts masked");
	TAP_EQ_U64(rd(&w, entry_off(5, 0), 8), 0, "table: address starts 0");
	program(&w, 5, 0xfee01004ull | (0x12ull << 32), 0x4041, false);
	TAP_EQ_U64(rd(&w, entry_off(5, 0), 8), 0x12fee01004ull,
		   "table: the address reads back (8-byte load)");
	TAP_EQ_U64(rd(&w, entry_off(5, PCI_MSIX_ENTRY_DATA), 4), 0x4041,
		   "table: the data reads back");
	wr(&w, entry_off(5, PCI_MSIX_ENTRY_LOWER_ADDR), 4, 0xfee00007);
	TAP_EQ_U64(rd(&w, entry_off(5, PCI_MSIX_ENTRY_LOWER_ADDR), 4), 0xfee00004,
		   "table: the address's two low bits are reserved");
	wr(&w, entry_off(5, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0xffffffff);
	TAP_EQ_U64(rd(&w, entry_off(5, PCI_MSIX_ENTRY_VECTOR_CTRL), 4), 1,
		   "table: Vector Control keeps only its Mask bit");
	wr(&w, entry_off(6, PCI_MSIX_ENTRY_DATA), 8, 0x0000000100000777ull);
	TAP_EQ_U64(rd(&w, entry_off(6, PCI_MSIX_ENTRY_DATA), 4), 0x777,
		   "table: an 8-byte store sets data ...");
	TAP_EQ_U64(rd(&w, entry_off(6, PCI_MSIX_ENTRY_VECTOR_CTRL), 4), 1,
		   "table: ... and Vector Control at once");
	wr(&w, entry_off(7, PCI_MSIX_ENTRY_DATA), 2, 0x1234);
	wr(&w, entry_off(7, PCI_MSIX_ENTRY_DATA + 1), 4, 0x1234);
	TAP_EQ_U64(rd(&w, entry_off(7, PCI_MSIX_ENTRY_DATA), 4), 0,
		   "table: 2-byte and unaligned stores are ignored");
	TAP_EQ_U64(rd(&w, entry_off(5, PCI_MSIX_ENTRY_DATA), 1), 0,
		   "table: a 1-byte load reads 0");
	TAP_EQ_U64(rd(&w, entry_off(NR, 0), 4), 0x5a5a5a5a,
		   "table: past the last vector is not the table's");
	world_down(&w);
}

static void test_delivery(void)
{
	struct world w;

	world_up(&w);
	program(&w, 3, 0xfee00000, 0x31, false);
	pci_msix_notify(&w.mf->m, 3);
	TAP_EQ_INT(nr_sent, 0, "send: nothing while MSI-X is disabled");
	TAP_CHECK(!pci_msix_pending(&w.mf->m, 3), "send: and nothing pending");

	ctrl_set(&w, PCI_MSIX_FLAGS_ENABLE);
	pci_msix_notify(&w.mf->m, 3);
	TAP_EQ_INT(nr_sent, 1, "send: an unmasked vector is sent");
	TAP_EQ_U64(sent_log[0].addr, 0xfee00000, "send: with its address");
	TAP_EQ_INT(sent_log[0].data, 0x31, "send: and its data");

	program(&w, 66, 0xfee01000, 0x66, true);
	pci_msix_notify(&w.mf->m, 66);
	TAP_EQ_INT(nr_sent, 1, "mask: a masked vector is not sent");
	TAP_CHECK(pci_msix_pending(&w.mf->m, 66), "mask: its pending bit is set");
	TAP_EQ_U64(rd(&w, PBA_OFF + 8, 8), 1ull << 2,
		   "mask: the PBA shows it (second word, bit 2)");
	TAP_EQ_U64(rd(&w, PBA_OFF + 8, 4), 1ull << 2,
		   "mask: a 4-byte PBA load too");
	wr(&w, PBA_OFF + 8, 8, 0);
	TAP_EQ_U64(rd(&w, PBA_OFF + 8, 8), 1ull << 2, "mask: the PBA is read-only");
	pci_msix_notify(&w.mf->m, 66);
	wr(&w, entry_off(66, PCI_MSIX_ENTRY_DATA), 4, 0x67);
	TAP_EQ_INT(nr_sent, 1, "mask: changing a masked vector's data sends nothing");
	wr(&w, entry_off(66, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	TAP_EQ_INT(nr_sent, 2, "unmask: the pending message is sent once");
	TAP_EQ_INT(sent_log[1].data, 0x67, "unmask: with the data of the unmasking time");
	TAP_CHECK(!pci_msix_pending(&w.mf->m, 66), "unmask: pending bit cleared");
	wr(&w, entry_off(66, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	TAP_EQ_INT(nr_sent, 2, "unmask: unmasking again sends nothing");

	ctrl_set(&w, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	pci_msix_notify(&w.mf->m, 3);
	pci_msix_notify(&w.mf->m, 66);
	TAP_EQ_INT(nr_sent, 2, "fmask: Function Mask holds every vector");
	TAP_CHECK(pci_msix_pending(&w.mf->m, 3) && pci_msix_pending(&w.mf->m, 66),
		  "fmask: both pending");
	wr(&w, entry_off(66, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 1);
	ctrl_set(&w, PCI_MSIX_FLAGS_ENABLE);
	TAP_EQ_INT(nr_sent, 3, "fmask: clearing it sends the unmasked pending vector");
	TAP_EQ_INT(sent_log[2].data, 0x31, "fmask: vector 3's message");
	TAP_CHECK(pci_msix_pending(&w.mf->m, 66),
		  "fmask: a vector still masked on its own stays pending");

	pci_msix_notify(&w.mf->m, NR);
	pci_msix_notify(&w.mf->m, 100000);
	TAP_EQ_INT(nr_sent, 3, "range: vectors past the table are ignored");
	TAP_EQ_U64(w.mf->m.sent, 3, "count: three messages sent");
	world_down(&w);
}

static void bar_image(struct world *w, uint8_t *buf)
{
	vt_msix_image(w->bus, w->bar, TABLE_OFF, PBA_OFF, NR, buf);
}

static void test_save_restore(void)
{
	static uint8_t saved[PCI_MSIX_STATE_SIZE(NR)], img[sizeof(saved)];
	static uint8_t bad[sizeof(saved)];
	struct world a, b;
	char why[128] = "";
	uint8_t *pba = saved + PCI_MSIX_TABLE_SIZE(NR);

	TAP_EQ_INT(sizeof(saved), NR * 16 + 16, "save: 16 bytes a vector, then two PBA words");
	world_up(&a);
	TAP_EQ_INT(pci_msix_notify(&a.mf->m, 3), PCI_MSIX_OFF, "raised: OFF while disabled");
	program(&a, 3, 0xfee00000, 0x31, false);
	program(&a, 66, 0x1fee01000ull, 0x66, true);
	program(&a, 69, 0xfee02000, 0x69, true);
	ctrl_set(&a, PCI_MSIX_FLAGS_ENABLE);
	TAP_EQ_INT(pci_msix_notify(&a.mf->m, 3), PCI_MSIX_DONE, "raised: DONE when sent");
	TAP_EQ_INT(pci_msix_notify(&a.mf->m, 66), PCI_MSIX_HELD,
		   "raised: HELD when newly pending");
	TAP_EQ_INT(pci_msix_notify(&a.mf->m, 66), PCI_MSIX_DONE,
		   "raised: DONE when pending already");
	TAP_EQ_INT(pci_msix_notify(&a.mf->m, NR), PCI_MSIX_DONE,
		   "raised: DONE for no such vector");
	pci_msix_save(&a.mf->m, saved);
	bar_image(&a, img);
	TAP_CHECK(!memcmp(saved, img, sizeof(saved)),
		  "save: the table and the PBA as the guest reads them");
	TAP_EQ_INT(pba[8], 1 << 2, "save: vector 66 pending: bit 2 of PBA byte 8");
	TAP_EQ_INT(pci_msix_check(&a.mf->m, saved, why, sizeof(why)), 0,
		   "check: a saved state checks");

	/* Another process's function, Message Control already back. */
	world_up(&b);
	ctrl_set(&b, PCI_MSIX_FLAGS_ENABLE);
	TAP_EQ_INT(pci_msix_restore(&b.mf->m, saved), 0, "restore: accepted");
	TAP_EQ_INT(nr_sent, 0, "restore: sends nothing by itself");
	bar_image(&b, img);
	TAP_CHECK(!memcmp(saved, img, sizeof(saved)),
		  "restore: the guest reads the same table and PBA");
	pci_msix_send_pending(&b.mf->m);
	TAP_EQ_INT(nr_sent, 0, "restore: a pending vector still masked is not sent");
	pci_msix_notify(&b.mf->m, 3);
	TAP_CHECK(nr_sent == 1 && sent_log[0].addr == 0xfee00000 &&
		  sent_log[0].data == 0x31, "restore: vector 3 sends its message");
	wr(&b, entry_off(66, PCI_MSIX_ENTRY_VECTOR_CTRL), 4, 0);
	TAP_CHECK(nr_sent == 2 && sent_log[1].addr == 0x1fee01000ull &&
		  sent_log[1].data == 0x66,
		  "restore: unmasking the restored pending vector sends it");
	world_down(&b);

	/* Saved pending and unmasked: the old process died before sending. */
	memcpy(bad, saved, sizeof(bad));
	bad[66 * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL] = 0;
	world_up(&b);
	ctrl_set(&b, PCI_MSIX_FLAGS_ENABLE);
	pci_msix_restore(&b.mf->m, bad);
	TAP_EQ_INT(nr_sent, 0, "pending unmasked: the restore sends nothing");
	TAP_CHECK(pci_msix_pending(&b.mf->m, 66), "pending unmasked: still pending");
	pci_msix_send_pending(&b.mf->m);
	TAP_CHECK(nr_sent == 1 && sent_log[0].data == 0x66,
		  "pending unmasked: sent when the host asks");
	TAP_CHECK(!pci_msix_pending(&b.mf->m, 66), "pending unmasked: and no longer pending");
	pci_msix_send_pending(&b.mf->m);
	TAP_EQ_INT(nr_sent, 1, "pending unmasked: once");
	world_down(&b);

	/* Disabled or Function Mask: held until the guest lets it through. */
	world_up(&b);
	ctrl_set(&b, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	pci_msix_restore(&b.mf->m, bad);
	pci_msix_send_pending(&b.mf->m);
	TAP_EQ_INT(nr_sent, 0, "pending unmasked: Function Mask holds it");
	ctrl_set(&b, PCI_MSIX_FLAGS_ENABLE);
	TAP_EQ_INT(nr_sent, 1, "pending unmasked: clearing Function Mask sends it");
	world_down(&b);

	/* States the guest cannot have made. */
	world_up(&b);
	memcpy(bad, saved, sizeof(bad));
	bad[5 * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL] |= 2;
	TAP_EQ_INT(pci_msix_check(&b.mf->m, bad, why, sizeof(why)), -EINVAL,
		   "check: Vector Control's reserved bits refused");
	TAP_CHECK(strstr(why, "vector 5 has reserved bits"), "check: says which vector");
	TAP_EQ_INT(pci_msix_restore(&b.mf->m, bad), -EINVAL, "restore: refused too");
	TAP_EQ_U64(rd(&b, entry_off(3, PCI_MSIX_ENTRY_DATA), 4), 0,
		   "restore: a refused state changes nothing");
	memcpy(bad, saved, sizeof(bad));
	bad[7 * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL + 3] = 0x80;
	TAP_EQ_INT(pci_msix_check(&b.mf->m, bad, NULL, 0), -EINVAL,
		   "check: Vector Control's upper bytes refused");
	memcpy(bad, saved, sizeof(bad));
	bad[9 * 16 + PCI_MSIX_ENTRY_LOWER_ADDR] |= 1;
	TAP_EQ_INT(pci_msix_check(&b.mf->m, bad, why, sizeof(why)), -EINVAL,
		   "check: an address's low bits refused");
	memcpy(bad, saved, sizeof(bad));
	bad[PCI_MSIX_TABLE_SIZE(NR) + 8] |= 1 << 6;
	TAP_EQ_INT(pci_msix_check(&b.mf->m, bad, why, sizeof(why)), -EINVAL,
		   "check: a pending bit past the last vector refused");
	TAP_CHECK(strstr(why, "pending bit 70"), "check: says which bit");
	memcpy(bad, saved, sizeof(bad));
	bad[PCI_MSIX_TABLE_SIZE(NR) + 8] |= 1 << 5;
	TAP_EQ_INT(pci_msix_check(&b.mf->m, bad, why, sizeof(why)), 0,
		   "check: the last vector's pending bit is fine");
	world_down(&b);
	world_down(&a);
}

int main(void)
{
	test_capability();
	test_table();
	test_delivery();
	test_save_restore();
	return tap_done();
}
