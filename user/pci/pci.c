// SPDX-License-Identifier: GPL-2.0
/*
 * PCI functions and bus 0 of a PCI host bridge: configuration space with
 * write masks, BAR decoding, capability lists, INTx.  See pci.h (the host's
 * view) and pci_func.h (the device model's view).
 */
#include "pci/pci_func.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PCI_NR_DEVFN	256

/**
 * struct pci_bus - bus 0 of a host bridge
 * @lock: read for lookups (accesses), write for layout changes (config
 *	writes, adding functions, BAR assignment)
 * @host: the host (set at creation)
 * @func: function at each devfn (@lock)
 * @present: devfns in use, in the order they were added (@lock)
 * @nr: entries in @present (@lock)
 */
struct pci_bus {
	pthread_rwlock_t lock;
	struct pci_host *host;
	struct pci_func *func[PCI_NR_DEVFN];
	uint8_t present[PCI_NR_DEVFN];
	unsigned int nr;
};

static uint32_t ones(unsigned int len)
{
	return len >= 4 ? 0xffffffffu : (1u << (8 * len)) - 1;
}

static bool cfg_access_ok(unsigned int reg, unsigned int len)
{
	if (len != 1 && len != 2 && len != 4)
		return false;
	return !(reg & (len - 1)) && reg + len <= PCI_CFG_SPACE_SIZE;
}

static uint32_t get_le(const uint8_t *p, unsigned int len)
{
	uint32_t v = 0;
	unsigned int i;

	for (i = 0; i < len; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void put_le(uint8_t *p, unsigned int len, uint32_t v)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		p[i] = v >> (8 * i);
}

/* --- functions ---------------------------------------------------------- */

int pci_func_init(struct pci_func *f, const struct pci_func_ops *ops,
		  const char *name, const struct pci_func_id *id)
{
	int ret;

	memset(f, 0, sizeof(*f));
	ret = pthread_mutex_init(&f->lock, NULL);
	if (ret)
		return -ret;
	f->ops = ops;
	f->name = name;
	f->cap_next = PCI_STD_HEADER_SIZE;
	put_le(f->cfg + PCI_VENDOR_ID, 2, id->vendor);
	put_le(f->cfg + PCI_DEVICE_ID, 2, id->device);
	put_le(f->cfg + PCI_REVISION_ID, 1, id->revision);
	put_le(f->cfg + PCI_CLASS_PROG, 3, id->class);
	put_le(f->cfg + PCI_SUBSYSTEM_VENDOR_ID, 2, id->subsys_vendor);
	put_le(f->cfg + PCI_SUBSYSTEM_ID, 2, id->subsys);
	f->cfg[PCI_HEADER_TYPE] = 0;
	f->cfg[PCI_INTERRUPT_PIN] = id->intx_pin <= 4 ? id->intx_pin : 0;

	put_le(f->wmask + PCI_COMMAND, 2,
	       PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
	       PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	put_le(f->w1cmask + PCI_STATUS, 2, PCI_STATUS_W1C);
	f->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	f->wmask[PCI_LATENCY_TIMER] = 0xff;
	f->wmask[PCI_INTERRUPT_LINE] = 0xff;
	return 0;
}

int pci_func_add_bar(struct pci_func *f, unsigned int bar, uint64_t size,
		     unsigned int flags)
{
	bool is64 = flags & PCI_BAR_MEM64;
	uint64_t mask = ~(size - 1);
	unsigned int reg = PCI_BASE_ADDRESS_0 + 4 * bar;
	uint32_t lo;

	if (bar >= PCI_NUM_BARS || (is64 && bar + 1 >= PCI_NUM_BARS))
		return -EINVAL;
	if (size < 16 || (size & (size - 1)) || (!is64 && size > (1ull << 31)))
		return -EINVAL;
	if (f->bar_size[bar] || (bar && (f->bar_flags[bar - 1] & PCI_BAR_MEM64)) ||
	    (is64 && f->bar_size[bar + 1]))
		return -EINVAL;

	lo = (is64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
	     (flags & PCI_BAR_PREFETCH ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
	pthread_mutex_lock(&f->lock);
	f->bar_size[bar] = size;
	f->bar_flags[bar] = flags;
	put_le(f->cfg + reg, 4, lo);
	put_le(f->wmask + reg, 4, (uint32_t)mask & ~0xfu);
	if (is64)
		put_le(f->wmask + reg + 4, 4, mask >> 32);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

int pci_func_add_cap(struct pci_func *f, uint8_t id, const void *cap,
		     unsigned int len)
{
	unsigned int off;

	if (len < 2)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	off = f->cap_next;
	if (off + len > PCI_LEGACY_CFG_SIZE) {
		pthread_mutex_unlock(&f->lock);
		return -ENOSPC;
	}
	memcpy(f->cfg + off, cap, len);
	f->cfg[off] = id;
	f->cfg[off + 1] = 0;
	if (f->cap_last)
		f->cfg[f->cap_last + 1] = off;
	else
		f->cfg[PCI_CAPABILITY_LIST] = off;
	f->cap_last = off;
	f->cap_next = (off + len + 3) & ~3u;
	f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	pthread_mutex_unlock(&f->lock);
	return off;
}

void pci_func_set_wmask(struct pci_func *f, unsigned int reg,
			const uint8_t *mask, unsigned int len)
{
	if (reg < PCI_STD_HEADER_SIZE || reg + len > PCI_LEGACY_CFG_SIZE)
		return;
	pthread_mutex_lock(&f->lock);
	memcpy(f->wmask + reg, mask, len);
	pthread_mutex_unlock(&f->lock);
}

uint32_t pci_func_cfg_get(struct pci_func *f, unsigned int reg,
			  unsigned int len)
{
	uint32_t v;

	if (!cfg_access_ok(reg, len))
		return ones(len);
	pthread_mutex_lock(&f->lock);
	v = get_le(f->cfg + reg, len);
	pthread_mutex_unlock(&f->lock);
	return v;
}

void pci_func_cfg_set(struct pci_func *f, unsigned int reg, unsigned int len,
		      uint32_t val)
{
	if (!cfg_access_ok(reg, len))
		return;
	pthread_mutex_lock(&f->lock);
	put_le(f->cfg + reg, len, val);
	pthread_mutex_unlock(&f->lock);
}

struct pci_host *pci_func_host(const struct pci_func *f)
{
	return f->bus ? f->bus->host : NULL;
}

/* Tell the host the INTx level when it changed.  Called with f->lock. */
static void intx_update_locked(struct pci_func *f)
{
	uint16_t cmd = get_le(f->cfg + PCI_COMMAND, 2);
	int want = f->intx_level && !(cmd & PCI_COMMAND_INTX_DISABLE);
	struct pci_host *h = pci_func_host(f);

	if (want == f->intx_line || !h || !h->ops || !h->ops->set_intx)
		return;
	f->intx_line = want;
	h->ops->set_intx(h, f, want);
}

void pci_func_set_intx(struct pci_func *f, int level)
{
	level = !!level;
	pthread_mutex_lock(&f->lock);
	f->intx_level = level;
	if (level)
		f->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		f->cfg[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
	if (f->cfg[PCI_INTERRUPT_PIN])
		intx_update_locked(f);
	pthread_mutex_unlock(&f->lock);
}

/* Address a BAR decodes at, 0 when it does not.  Called with f->lock. */
static uint64_t bar_decode_locked(const struct pci_func *f, unsigned int bar)
{
	unsigned int reg = PCI_BASE_ADDRESS_0 + 4 * bar;
	uint64_t addr, size = f->bar_size[bar];

	if (!size || !(get_le(f->cfg + PCI_COMMAND, 2) & PCI_COMMAND_MEMORY))
		return 0;
	addr = get_le(f->cfg + reg, 4) & ~0xfull;
	if (f->bar_flags[bar] & PCI_BAR_MEM64)
		addr |= (uint64_t)get_le(f->cfg + reg + 4, 4) << 32;
	/*
	 * 0 is "not assigned yet"; a BAR still holding the sizing pattern
	 * would wrap around the address space.
	 */
	if (!addr || addr + size < addr)
		return 0;
	return addr;
}

uint64_t pci_func_bar_addr(struct pci_func *f, unsigned int bar)
{
	uint64_t addr;

	if (bar >= PCI_NUM_BARS)
		return 0;
	pthread_mutex_lock(&f->lock);
	addr = bar_decode_locked(f, bar);
	pthread_mutex_unlock(&f->lock);
	return addr;
}

/* Recompute where f's BARs decode.  Called with the bus lock (write). */
static bool func_update_decode(struct pci_func *f)
{
	bool changed = false;
	unsigned int bar;

	pthread_mutex_lock(&f->lock);
	for (bar = 0; bar < PCI_NUM_BARS; bar++) {
		uint64_t a = bar_decode_locked(f, bar);

		if (a != f->dec_addr[bar])
			changed = true;
		f->dec_addr[bar] = a;
	}
	pthread_mutex_unlock(&f->lock);
	return changed;
}

static uint32_t func_cfg_read(struct pci_func *f, unsigned int reg,
			      unsigned int len)
{
	uint32_t v;

	if (reg >= PCI_STD_HEADER_SIZE && reg < PCI_LEGACY_CFG_SIZE &&
	    f->ops && f->ops->cfg_read && f->ops->cfg_read(f, reg, len, &v))
		return v;
	return pci_func_cfg_get(f, reg, len);
}

/* Called with the bus lock held for writing. */
static void func_cfg_write(struct pci_func *f, unsigned int reg,
			   unsigned int len, uint32_t val)
{
	uint16_t old_cmd, new_cmd;
	bool layout = false;
	unsigned int i;

	pthread_mutex_lock(&f->lock);
	old_cmd = get_le(f->cfg + PCI_COMMAND, 2);
	for (i = 0; i < len; i++) {
		unsigned int off = reg + i;
		uint8_t b = val >> (8 * i);

		f->cfg[off] = (f->cfg[off] & ~f->wmask[off]) | (b & f->wmask[off]);
		f->cfg[off] &= ~(b & f->w1cmask[off]);
	}
	new_cmd = get_le(f->cfg + PCI_COMMAND, 2);
	if ((old_cmd ^ new_cmd) & PCI_COMMAND_MEMORY)
		layout = true;
	if (reg < PCI_BASE_ADDRESS_0 + 4 * PCI_NUM_BARS &&
	    reg + len > PCI_BASE_ADDRESS_0)
		layout = true;
	if ((old_cmd ^ new_cmd) & PCI_COMMAND_INTX_DISABLE)
		intx_update_locked(f);
	pthread_mutex_unlock(&f->lock);

	if (layout && func_update_decode(f) && f->ops && f->ops->layout_changed)
		f->ops->layout_changed(f);
	if (reg + len > PCI_STD_HEADER_SIZE && reg < PCI_LEGACY_CFG_SIZE &&
	    f->ops && f->ops->cfg_write)
		f->ops->cfg_write(f, reg, len, val);
}

void pci_func_save_cfg(struct pci_func *f, uint8_t cfg[PCI_LEGACY_CFG_SIZE])
{
	pthread_mutex_lock(&f->lock);
	memcpy(cfg, f->cfg, PCI_LEGACY_CFG_SIZE);
	pthread_mutex_unlock(&f->lock);
}

/* Whether cfg's read-only bytes are f's.  Called with f->lock. */
static bool cfg_matches_locked(const struct pci_func *f, const uint8_t *cfg)
{
	unsigned int i;

	for (i = 0; i < PCI_LEGACY_CFG_SIZE; i++) {
		/* Status follows the device (Interrupt) and the guest (W1C). */
		if (i == PCI_STATUS || i == PCI_STATUS + 1)
			continue;
		if ((cfg[i] ^ f->cfg[i]) & ~f->wmask[i])
			return false;
	}
	return true;
}

int pci_func_check_cfg(struct pci_func *f, const uint8_t cfg[PCI_LEGACY_CFG_SIZE])
{
	bool ok;

	pthread_mutex_lock(&f->lock);
	ok = cfg_matches_locked(f, cfg);
	pthread_mutex_unlock(&f->lock);
	return ok ? 0 : -EINVAL;
}

int pci_func_restore_cfg(struct pci_func *f,
			 const uint8_t cfg[PCI_LEGACY_CFG_SIZE])
{
	struct pci_bus *b = f->bus;
	unsigned int i;
	int ret = 0;

	if (b)
		pthread_rwlock_wrlock(&b->lock);
	pthread_mutex_lock(&f->lock);
	if (!cfg_matches_locked(f, cfg)) {
		ret = -EINVAL;
	} else {
		for (i = 0; i < PCI_LEGACY_CFG_SIZE; i++)
			f->cfg[i] = (f->cfg[i] & ~f->wmask[i]) |
				    (cfg[i] & f->wmask[i]);
		if (f->cfg[PCI_INTERRUPT_PIN])
			intx_update_locked(f);	/* INTx-disable may differ */
	}
	pthread_mutex_unlock(&f->lock);
	if (!ret && func_update_decode(f) && f->ops && f->ops->layout_changed)
		f->ops->layout_changed(f);
	if (b)
		pthread_rwlock_unlock(&b->lock);
	return ret;
}

unsigned int pci_func_intx_pin(const struct pci_func *f)
{
	return f->cfg[PCI_INTERRUPT_PIN];
}

unsigned int pci_func_devfn(const struct pci_func *f)
{
	return f->devfn;
}

const char *pci_func_name(const struct pci_func *f)
{
	return f->name;
}

void pci_func_free(struct pci_func *f)
{
	if (!f)
		return;
	pthread_mutex_destroy(&f->lock);
	if (f->ops && f->ops->free)
		f->ops->free(f);
}

/* --- the bus ------------------------------------------------------------ */

struct pci_bus *pci_bus_new(struct pci_host *host)
{
	struct pci_bus *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	if (pthread_rwlock_init(&b->lock, NULL)) {
		free(b);
		return NULL;
	}
	b->host = host;
	return b;
}

void pci_bus_free(struct pci_bus *b)
{
	unsigned int i;

	if (!b)
		return;
	for (i = 0; i < b->nr; i++)
		pci_func_free(b->func[b->present[i]]);
	pthread_rwlock_destroy(&b->lock);
	free(b);
}

bool pci_bus_has_msi(const struct pci_bus *b)
{
	return b->host && b->host->ops && b->host->ops->send_msi;
}

int pci_bus_add(struct pci_bus *b, unsigned int devfn, struct pci_func *f)
{
	if (devfn >= PCI_NR_DEVFN || !f || f->bus)
		return -EINVAL;
	pthread_rwlock_wrlock(&b->lock);
	if (b->func[devfn]) {
		pthread_rwlock_unlock(&b->lock);
		return -EBUSY;
	}
	f->bus = b;
	f->devfn = devfn;
	b->func[devfn] = f;
	b->present[b->nr++] = devfn;
	func_update_decode(f);
	pthread_rwlock_unlock(&b->lock);
	/* A level raised before the function was on the bus. */
	pthread_mutex_lock(&f->lock);
	if (f->cfg[PCI_INTERRUPT_PIN])
		intx_update_locked(f);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

struct pci_func *pci_bus_func(struct pci_bus *b, unsigned int devfn)
{
	struct pci_func *f;

	if (devfn >= PCI_NR_DEVFN)
		return NULL;
	pthread_rwlock_rdlock(&b->lock);
	f = b->func[devfn];
	pthread_rwlock_unlock(&b->lock);
	return f;
}

uint32_t pci_bus_cfg_read(struct pci_bus *b, unsigned int devfn,
			  unsigned int reg, unsigned int len)
{
	uint32_t v;

	if (devfn >= PCI_NR_DEVFN || !cfg_access_ok(reg, len))
		return ones(len);
	pthread_rwlock_rdlock(&b->lock);
	if (b->func[devfn])
		v = func_cfg_read(b->func[devfn], reg, len);
	else
		v = ones(len);
	pthread_rwlock_unlock(&b->lock);
	return v;
}

void pci_bus_cfg_write(struct pci_bus *b, unsigned int devfn,
		       unsigned int reg, unsigned int len, uint32_t val)
{
	if (devfn >= PCI_NR_DEVFN || !cfg_access_ok(reg, len))
		return;
	pthread_rwlock_wrlock(&b->lock);
	if (b->func[devfn])
		func_cfg_write(b->func[devfn], reg, len, val & ones(len));
	pthread_rwlock_unlock(&b->lock);
}

/*
 * One access to a configuration window: bus, devfn and reg decoded from
 * offset with bus_shift/devfn_shift (reg is what lies below devfn_shift).
 */
static void cfg_window_access(struct pci_bus *b, uint64_t offset,
			      unsigned int bus_shift, unsigned int devfn_shift,
			      unsigned int len, bool write, uint64_t *val)
{
	unsigned int busnr = offset >> bus_shift;
	unsigned int devfn = (offset >> devfn_shift) & 0xff;
	unsigned int reg = offset & ((1u << devfn_shift) - 1);

	if (len == 8 && !(reg & 7)) {
		/* Two dword cycles, as a host bridge splits a 64-bit access. */
		uint64_t lo = *val & 0xffffffffu, hi = *val >> 32;

		cfg_window_access(b, offset, bus_shift, devfn_shift, 4, write,
				  &lo);
		cfg_window_access(b, offset + 4, bus_shift, devfn_shift, 4,
				  write, &hi);
		if (!write)
			*val = (lo & 0xffffffffu) | hi << 32;
		return;
	}
	if (offset >= (256ull << bus_shift) || busnr != 0 ||
	    reg + (len > 4 ? 8 : len) > (1u << devfn_shift)) {
		if (!write)
			*val = len >= 8 ? ~0ull : ones(len);
		return;
	}
	if (write)
		pci_bus_cfg_write(b, devfn, reg, len, (uint32_t)*val);
	else
		*val = pci_bus_cfg_read(b, devfn, reg, len);
}

void pci_bus_ecam_access(struct pci_bus *b, uint64_t offset, unsigned int len,
			 bool write, uint64_t *val)
{
	cfg_window_access(b, offset, 20, 12, len, write, val);
}

void pci_bus_cam_access(struct pci_bus *b, uint64_t offset, unsigned int len,
			bool write, uint64_t *val)
{
	cfg_window_access(b, offset, 16, 8, len, write, val);
}

void pci_bus_cfg_window_access(struct pci_bus *b, enum pci_cfg_layout layout,
			       uint64_t offset, unsigned int len, bool write,
			       uint64_t *val)
{
	if (layout == PCI_CFG_CAM)
		pci_bus_cam_access(b, offset, len, write, val);
	else
		pci_bus_ecam_access(b, offset, len, write, val);
}

bool pci_bus_mmio(struct pci_bus *b, uint64_t addr, unsigned int len,
		  bool write, uint64_t *val)
{
	struct pci_func *hit = NULL;
	unsigned int i, bar = 0;
	uint64_t off = 0;

	pthread_rwlock_rdlock(&b->lock);
	for (i = 0; i < b->nr && !hit; i++) {
		struct pci_func *f = b->func[b->present[i]];

		for (bar = 0; bar < PCI_NUM_BARS; bar++) {
			uint64_t a = f->dec_addr[bar];

			if (a && addr >= a && addr - a < f->bar_size[bar]) {
				hit = f;
				off = addr - a;
				break;
			}
		}
	}
	pthread_rwlock_unlock(&b->lock);
	if (!hit)
		return false;

	if ((len != 1 && len != 2 && len != 4 && len != 8) ||
	    len > hit->bar_size[bar] - off) {
		/* Runs off the end of the BAR: the device does not respond. */
		if (!write)
			*val = len >= 8 ? ~0ull : ones(len);
		return true;
	}
	if (write) {
		if (hit->ops && hit->ops->bar_write)
			hit->ops->bar_write(hit, bar, off, len, *val);
	} else {
		*val = hit->ops && hit->ops->bar_read ?
		       hit->ops->bar_read(hit, bar, off, len) : 0;
		if (len < 8)
			*val &= ones(len);
	}
	return true;
}

struct bar_slot {
	struct pci_func *f;
	unsigned int bar;
	unsigned int order;
	uint64_t size;
	uint64_t addr;
};

static int bar_slot_cmp(const void *a, const void *b)
{
	const struct bar_slot *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	/* Keep bus order for equal sizes. */
	return x->order < y->order ? -1 : x->order > y->order;
}

int pci_bus_assign_bars(struct pci_bus *b, uint64_t base, uint64_t size)
{
	struct bar_slot *slot;
	uint64_t end = base + size, cur = base;
	unsigned int n = 0, i, bar;
	int ret = 0;

	if (end < base)
		return -EINVAL;
	slot = calloc(PCI_NR_DEVFN * PCI_NUM_BARS, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	pthread_rwlock_wrlock(&b->lock);
	for (i = 0; i < b->nr; i++) {
		struct pci_func *f = b->func[b->present[i]];

		for (bar = 0; bar < PCI_NUM_BARS; bar++) {
			if (!f->bar_size[bar])
				continue;
			slot[n].f = f;
			slot[n].bar = bar;
			slot[n].size = f->bar_size[bar];
			slot[n].order = n;
			n++;
		}
	}
	qsort(slot, n, sizeof(slot[0]), bar_slot_cmp);
	for (i = 0; i < n; i++) {
		uint64_t a = (cur + slot[i].size - 1) & ~(slot[i].size - 1);

		if (a < cur || a + slot[i].size > end || a + slot[i].size < a ||
		    (!(slot[i].f->bar_flags[slot[i].bar] & PCI_BAR_MEM64) &&
		     a + slot[i].size > (1ull << 32))) {
			ret = -ENOSPC;
			goto out;
		}
		slot[i].addr = a;
		cur = a + slot[i].size;
	}
	for (i = 0; i < n; i++) {
		struct pci_func *f = slot[i].f;
		unsigned int reg = PCI_BASE_ADDRESS_0 + 4 * slot[i].bar;
		uint32_t lo;

		pthread_mutex_lock(&f->lock);
		lo = get_le(f->cfg + reg, 4) & 0xf;
		put_le(f->cfg + reg, 4, lo | (uint32_t)slot[i].addr);
		if (f->bar_flags[slot[i].bar] & PCI_BAR_MEM64)
			put_le(f->cfg + reg + 4, 4, slot[i].addr >> 32);
		f->cfg[PCI_COMMAND] |= PCI_COMMAND_MEMORY;
		pthread_mutex_unlock(&f->lock);
	}
	for (i = 0; i < b->nr; i++) {
		struct pci_func *f = b->func[b->present[i]];

		if (func_update_decode(f) && f->ops && f->ops->layout_changed)
			f->ops->layout_changed(f);
	}
out:
	pthread_rwlock_unlock(&b->lock);
	free(slot);
	return ret;
}
