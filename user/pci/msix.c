// SPDX-License-Identifier: GPL-2.0
/* MSI-X capability, vector table and PBA.  See msix.h. */
#include "pci/msix.h"

#include <errno.h>
#include <stdio.h>
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

/* Byte i of the PBA as the guest reads it (little-endian). */
static uint8_t pba_byte(const struct pci_msix *m, unsigned int i)
{
	return m->pba[i / 8] >> (8 * (i % 8));
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
			*val |= (uint64_t)pba_byte(m, off + i) << (8 * i);
	}
	pthread_mutex_unlock(&m->lock);
	return true;
}

bool pci_msix_cfg_write(struct pci_msix *m, unsigned int reg, unsigned int len)
{
	unsigned int ctl = m->cap + PCI_MSIX_FLAGS;

	if (!m->f || reg + len <= ctl || reg >= ctl + 2)
		return false;
	pci_msix_send_pending(m);
	return true;
}

enum pci_msix_raised pci_msix_notify(struct pci_msix *m, unsigned int v)
{
	enum pci_msix_raised r = PCI_MSIX_OFF;
	uint16_t ctrl;

	if (!m->f)
		return PCI_MSIX_OFF;
	pthread_mutex_lock(&m->lock);
	ctrl = msg_ctrl(m);
	if (ctrl & PCI_MSIX_FLAGS_ENABLE)
		r = PCI_MSIX_DONE;
	if (r && v < m->nr) {
		if (!(ctrl & PCI_MSIX_FLAGS_MASKALL) && !entry_masked(m, v)) {
			send(m, v);
		} else if (!pending_test(m, v)) {
			pending_set(m, v, true);
			r = PCI_MSIX_HELD;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

bool pci_msix_vector_live(struct pci_msix *m, unsigned int v, uint64_t *addr,
			  uint32_t *data)
{
	uint16_t ctrl;
	bool live;

	if (!m->f || v >= m->nr)
		return false;
	pthread_mutex_lock(&m->lock);
	ctrl = msg_ctrl(m);
	live = (ctrl & PCI_MSIX_FLAGS_ENABLE) && !(ctrl & PCI_MSIX_FLAGS_MASKALL) &&
	       !entry_masked(m, v);
	if (live) {
		const uint8_t *e = entry(m, v);

		*addr = get32(e + PCI_MSIX_ENTRY_LOWER_ADDR) |
			(uint64_t)get32(e + PCI_MSIX_ENTRY_UPPER_ADDR) << 32;
		*data = get32(e + PCI_MSIX_ENTRY_DATA);
	}
	pthread_mutex_unlock(&m->lock);
	return live;
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

void pci_msix_save(struct pci_msix *m, void *buf)
{
	uint8_t *p = buf;
	unsigned int i;

	if (!m->f)
		return;
	pthread_mutex_lock(&m->lock);
	memcpy(p, m->table, PCI_MSIX_TABLE_SIZE(m->nr));
	p += PCI_MSIX_TABLE_SIZE(m->nr);
	for (i = 0; i < PCI_MSIX_PBA_SIZE(m->nr); i++)
		p[i] = pba_byte(m, i);
	pthread_mutex_unlock(&m->lock);
}

/* The guest cannot set these (table_write() drops them). */
static bool entry_reserved(const uint8_t *e)
{
	return (e[PCI_MSIX_ENTRY_LOWER_ADDR] & 3) ||
	       (e[PCI_MSIX_ENTRY_VECTOR_CTRL] & ~PCI_MSIX_ENTRY_CTRL_MASKBIT) ||
	       e[PCI_MSIX_ENTRY_VECTOR_CTRL + 1] ||
	       e[PCI_MSIX_ENTRY_VECTOR_CTRL + 2] ||
	       e[PCI_MSIX_ENTRY_VECTOR_CTRL + 3];
}

int pci_msix_check(struct pci_msix *m, const void *buf, char *why, size_t len)
{
	const uint8_t *p = buf, *pba;
	unsigned int v;

	if (!m->f) {
		snprintf(why, len, "the function has no MSI-X");
		return -EINVAL;
	}
	for (v = 0; v < m->nr; v++) {
		if (entry_reserved(p + (size_t)v * PCI_MSIX_ENTRY_SIZE)) {
			snprintf(why, len, "MSI-X vector %u has reserved bits set", v);
			return -EINVAL;
		}
	}
	pba = p + PCI_MSIX_TABLE_SIZE(m->nr);
	for (v = m->nr; v < 8 * PCI_MSIX_PBA_SIZE(m->nr); v++) {
		if (pba[v / 8] & (1u << (v % 8))) {
			snprintf(why, len, "MSI-X pending bit %u is past the last vector (%u)",
				 v, m->nr - 1);
			return -EINVAL;
		}
	}
	return 0;
}

int pci_msix_restore(struct pci_msix *m, const void *buf)
{
	const uint8_t *pba = (const uint8_t *)buf + PCI_MSIX_TABLE_SIZE(m->nr);
	unsigned int i;

	if (pci_msix_check(m, buf, NULL, 0))
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	memcpy(m->table, buf, PCI_MSIX_TABLE_SIZE(m->nr));
	memset(m->pba, 0, PCI_MSIX_PBA_SIZE(m->nr));
	for (i = 0; i < PCI_MSIX_PBA_SIZE(m->nr); i++)
		m->pba[i / 8] |= (uint64_t)pba[i] << (8 * (i % 8));
	pthread_mutex_unlock(&m->lock);
	return 0;
}

void pci_msix_send_pending(struct pci_msix *m)
{
	unsigned int v;
	uint16_t ctrl;

	if (!m->f)
		return;
	pthread_mutex_lock(&m->lock);
	ctrl = msg_ctrl(m);
	for (v = 0; v < m->nr; v++)
		send_if_pending(m, v, ctrl);
	pthread_mutex_unlock(&m->lock);
}
