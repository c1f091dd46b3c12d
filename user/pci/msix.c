// SPDX-License-Identifier: GPL-2.0
/* MSI-X capability, vector table and PBA.  See msix.h. */
#include "pci/msix.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pci/pci_func.h"

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static uint8_t *entry(struct pci_msix *m, unsigned int v)
{
	return m->table + (size_t)v * PCI_MSIX_ENTRY_SIZE;
}

static bool entry_masked(struct pci_msix *m, unsigned int v)
{
	return entry(m, v)[PCI_MSIX_ENTRY_VECTOR_CTRL] &
	       PCI_MSIX_ENTRY_CTRL_MASKBIT;
}

static uint16_t msg_ctrl(struct pci_msix *m)
{
	return pci_func_cfg_get(m->f, m->cap + PCI_MSIX_FLAGS, 2);
}

static bool pending_test(struct pci_msix *m, unsigned int v)
{
	return m->pba[v / 64] & (1ull << (v % 64));
}

static void pending_set(struct pci_msix *m, unsigned int v, bool on)
{
	if (on)
		m->pba[v / 64] |= 1ull << (v % 64);
	else
		m->pba[v / 64] &= ~(1ull << (v % 64));
}

/* Called with m->lock: the host delivers vector v's message. */
static void send(struct pci_msix *m, unsigned int v)
{
	struct pci_host *h = pci_func_host(m->f);
	const uint8_t *e = entry(m, v);
	uint64_t addr = get32(e + PCI_MSIX_ENTRY_LOWER_ADDR) |
			(uint64_t)get32(e + PCI_MSIX_ENTRY_UPPER_ADDR) << 32;

	if (!h || !h->ops || !h->ops->send_msi)
		return;
	h->ops->send_msi(h, m->f, addr, get32(e + PCI_MSIX_ENTRY_DATA));
	__atomic_fetch_add(&m->sent, 1, __ATOMIC_RELAXED);
}

/* Called with m->lock: vector v may have been unmasked. */
static void send_if_pending(struct pci_msix *m, unsigned int v, uint16_t ctrl)
{
	if (!(ctrl & PCI_MSIX_FLAGS_ENABLE) || (ctrl & PCI_MSIX_FLAGS_MASKALL) ||
	    entry_masked(m, v) || !pending_test(m, v))
		return;
	pending_set(m, v, false);
	send(m, v);
}

int pci_msix_init(struct pci_msix *m, struct pci_func *f, unsigned int bar,
		  uint32_t table_off, uint32_t pba_off, unsigned int nr)
{
	static const uint8_t ctrl_wmask[2] = {
		0, (PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE) >> 8,
	};
	uint8_t cap[PCI_MSIX_CAP_LEN] = { 0 };
	uint64_t size = bar < PCI_NUM_BARS ? f->bar_size[bar] : 0;
	unsigned int v;
	int off;

	memset(m, 0, sizeof(*m));
	if (!nr || nr > PCI_MSIX_MAX_VECTORS || !size || (table_off & 7) ||
	    (pba_off & 7) || table_off > size ||
	    PCI_MSIX_TABLE_SIZE(nr) > size - table_off || pba_off > size ||
	    PCI_MSIX_PBA_SIZE(nr) > size - pba_off ||
	    (table_off < pba_off + PCI_MSIX_PBA_SIZE(nr) &&
	     pba_off < table_off + PCI_MSIX_TABLE_SIZE(nr)))
		return -EINVAL;
	m->table = calloc(nr, PCI_MSIX_ENTRY_SIZE);
	m->pba = calloc((nr + 63) / 64, sizeof(*m->pba));
	if (!m->table || !m->pba) {
		free(m->table);
		free(m->pba);
		return -ENOMEM;
	}
	for (v = 0; v < nr; v++)
		entry(m, v)[PCI_MSIX_ENTRY_VECTOR_CTRL] = PCI_MSIX_ENTRY_CTRL_MASKBIT;

	cap[PCI_MSIX_FLAGS] = (nr - 1) & 0xff;
	cap[PCI_MSIX_FLAGS + 1] = (nr - 1) >> 8;
	put32(cap + PCI_MSIX_TABLE, table_off | bar);
	put32(cap + PCI_MSIX_PBA, pba_off | bar);
	off = pci_func_add_cap(f, PCI_CAP_ID_MSIX, cap, sizeof(cap));
	if (off < 0) {
		free(m->table);
		free(m->pba);
		return off;
	}
	pci_func_set_wmask(f, off + PCI_MSIX_FLAGS, ctrl_wmask, sizeof(ctrl_wmask));
	m->f = f;
	m->cap = off;
	m->bar = bar;
	m->table_off = table_off;
	m->pba_off = pba_off;
	m->nr = nr;
	pthread_mutex_init(&m->lock, NULL);
	return 0;
}

void pci_msix_destroy(struct pci_msix *m)
{
	if (!m->f)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m->table);
	free(m->pba);
	m->f = NULL;
}

bool pci_msix_enabled(struct pci_msix *m)
{
	return m->f && (msg_ctrl(m) & PCI_MSIX_FLAGS_ENABLE);
}

static void table_write(struct pci_msix *m, uint64_t off, unsigned int len,
			uint64_t val)
{
	unsigned int v = off / PCI_MSIX_ENTRY_SIZE, i;
	uint8_t *e = entry(m, v);

	for (i = 0; i < len; i++) {
		unsigned int field = off % PCI_MSIX_ENTRY_SIZE + i;
		uint8_t b = val >> (8 * i);

		if (field == PCI_MSIX_ENTRY_LOWER_ADDR)
			b &= ~3;	/* the address is DWORD-aligned */
		else if (field == PCI_MSIX_ENTRY_VECTOR_CTRL)
			b &= PCI_MSIX_ENTRY_CTRL_MASKBIT;
		else if (field > PCI_MSIX_ENTRY_VECTOR_CTRL)
			b = 0;		/* reserved */
		e[field] = b;
	}
	send_if_pending(m, v, msg_ctrl(m));
}

bool pci_msix_bar_access(struct pci_msix *m, uint64_t off, unsigned int len,
			 bool write, uint64_t *val)
{
	bool in_table, in_pba, ok;
	unsigned int i;

	if (!m->f)
		return false;
	in_table = off >= m->table_off &&
		   off - m->table_off < PCI_MSIX_TABLE_SIZE(m->nr);
	in_pba = off >= m->pba_off &&
		 off - m->pba_off < PCI_MSIX_PBA_SIZE(m->nr);
	if (!in_table && !in_pba)
		return false;
	ok = (len == 4 || len == 8) && !(off & (len - 1));
	if (!write)
		*val = 0;
	if (!ok)
		return true;
	pthread_mutex_lock(&m->lock);
	if (in_table) {
		off -= m->table_off;
		if (write)
			table_write(m, off, len, *val);
		else
			for (i = 0; i < len; i++)
				*val |= (uint64_t)m->table[off + i] << (8 * i);
	} else if (!write) {
		off -= m->pba_off;
		for (i = 0; i < len; i++)
			*val |= ((m->pba[(off + i) / 8] >> (8 * ((off + i) % 8))) &
				 0xff) << (8 * i);
	}
	pthread_mutex_unlock(&m->lock);
	return true;
}

bool pci_msix_cfg_write(struct pci_msix *m, unsigned int reg, unsigned int len)
{
	unsigned int ctl = m->cap + PCI_MSIX_FLAGS, v;
	uint16_t ctrl;

	if (!m->f || reg + len <= ctl || reg >= ctl + 2)
		return false;
	pthread_mutex_lock(&m->lock);
	ctrl = msg_ctrl(m);
	for (v = 0; v < m->nr; v++)
		send_if_pending(m, v, ctrl);
	pthread_mutex_unlock(&m->lock);
	return true;
}

bool pci_msix_notify(struct pci_msix *m, unsigned int v)
{
	uint16_t ctrl;

	if (!m->f)
		return false;
	pthread_mutex_lock(&m->lock);
	ctrl = msg_ctrl(m);
	if ((ctrl & PCI_MSIX_FLAGS_ENABLE) && v < m->nr) {
		if ((ctrl & PCI_MSIX_FLAGS_MASKALL) || entry_masked(m, v))
			pending_set(m, v, true);
		else
			send(m, v);
	}
	pthread_mutex_unlock(&m->lock);
	return ctrl & PCI_MSIX_FLAGS_ENABLE;
}

bool pci_msix_pending(struct pci_msix *m, unsigned int v)
{
	bool p;

	if (!m->f || v >= m->nr)
		return false;
	pthread_mutex_lock(&m->lock);
	p = pending_test(m, v);
	pthread_mutex_unlock(&m->lock);
	return p;
}
