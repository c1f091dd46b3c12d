// SPDX-License-Identifier: GPL-2.0
/* What the libFuzzer harnesses share; see fz.h. */
#include "fz.h"

#include <endian.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "lib/log.h"
#include "pci/pci_func.h"

/*
 * FUZZ_VERBOSE=1: the product's debug messages too, for reproducing.
 * SIGPIPE ignored, as vbridge run and vbridge devices do: a harness that
 * hangs up a device's peer (input's node, a console) must see EPIPE from
 * the device's write, not die of the signal with no input saved.
 */
__attribute__((constructor)) static void fz_setup(void)
{
	const char *v = getenv("FUZZ_VERBOSE");

	signal(SIGPIPE, SIG_IGN);
	if (v && *v)
		log_set_verbose(atoi(v));
}

/* --- the input ------------------------------------------------------------ */

size_t fz_bytes(struct fz *f, void *dst, size_t len)
{
	size_t n = len < f->n ? len : f->n;

	memcpy(dst, f->p, n);
	memset((uint8_t *)dst + n, 0, len - n);
	f->p += n;
	f->n -= n;
	return n;
}

const uint8_t *fz_take(struct fz *f, size_t len)
{
	const uint8_t *p = f->p;

	if (f->n < len)
		return NULL;
	f->p += len;
	f->n -= len;
	return p;
}

void fz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz: harness check failed: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

static char tmpdir[96];

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(path) && errno != ENOENT ? -1 : 0;
}

static void tmpdir_remove(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fz_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	if (tmpdir[0])
		return tmpdir;
	/* Short enough for the Unix socket paths the harnesses make in it. */
	snprintf(tmpdir, sizeof(tmpdir), "%s/vbfuzz.XXXXXX",
		 base && *base && strlen(base) <= 60 ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		fz_fail("cannot make a temporary directory: %s", strerror(errno));
	atexit(tmpdir_remove);
	return tmpdir;
}

/* --- guest RAM and the host ------------------------------------------------ */

static struct fz_host host;

static void host_set_intx(struct pci_host *h, struct pci_func *f, int level)
{
	struct fz_host *fh = h->priv;

	if (level != 0 && level != 1)
		fz_fail("INTx level %d", level);
	fh->intx = level;
}

static int host_add_db(struct pci_host *h, uint64_t gpa, unsigned int len,
		       int efd)
{
	struct fz_host *fh = h->priv;
	uint64_t bar = fh->func ? pci_func_bar_addr(fh->func, 0) : 0;

	if (fh->add_db_ret)
		return fh->add_db_ret;
	/* Where BAR 0 is now: the guest may have moved it. */
	if (efd < 0 || (fh->func && (!bar || gpa < bar + VIRTIO_PCI_NOTIFY_OFF ||
				     gpa >= bar + VIRTIO_PCI_BAR_SIZE)))
		fz_fail("doorbell at 0x%llx (fd %d) is not a notify address of BAR 0 (at 0x%llx)",
			(unsigned long long)gpa, efd, (unsigned long long)bar);
	fh->nr_db++;
	return 0;
}

static void host_del_db(struct pci_host *h, uint64_t gpa, unsigned int len,
			int efd)
{
	struct fz_host *fh = h->priv;

	if (!fh->nr_db)
		fz_fail("doorbell at 0x%llx removed, none registered",
			(unsigned long long)gpa);
	fh->nr_db--;
}

static void host_send_msi(struct pci_host *h, struct pci_func *f,
			  uint64_t addr, uint32_t data)
{
	struct fz_host *fh = h->priv;

	if (!f || !f->bus)
		fz_fail("an MSI from a function that is on no bus");
	fh->nr_msi++;
}

static const struct pci_host_ops host_ops = {
	.set_intx = host_set_intx,
	.add_doorbell = host_add_db,
	.del_doorbell = host_del_db,
};

static const struct pci_host_ops host_ops_msi = {
	.set_intx = host_set_intx,
	.add_doorbell = host_add_db,
	.del_doorbell = host_del_db,
	.send_msi = host_send_msi,
};

void fz_host_msi(struct fz_host *h)
{
	h->host.ops = &host_ops_msi;
}

struct fz_host *fz_host_reset(int add_db_ret)
{
	if (!host.ram_a) {
		host.ram_a = malloc(FZ_RAM_A_SIZE);
		host.ram_b = malloc(FZ_RAM_B_SIZE);
		if (!host.ram_a || !host.ram_b)
			fz_fail("out of memory");
	}
	memset(&host.mem, 0, sizeof(host.mem));
	guest_mem_add(&host.mem, FZ_RAM_A, FZ_RAM_A_SIZE, host.ram_a);
	guest_mem_add(&host.mem, FZ_RAM_B, FZ_RAM_B_SIZE, host.ram_b);
	memset(host.ram_a, 0, FZ_RAM_A_SIZE);
	memset(host.ram_b, 0, FZ_RAM_B_SIZE);
	host.host.ops = &host_ops;
	host.host.mem = &host.mem;
	host.host.priv = &host;
	host.intx = 0;
	host.add_db_ret = add_db_ret;
	host.nr_db = 0;
	host.nr_msi = 0;
	host.func = NULL;
	return &host;
}

void *fz_ram(uint64_t gpa)
{
	if (gpa >= FZ_RAM_A && gpa < FZ_RAM_B)
		return host.ram_a + (gpa - FZ_RAM_A);
	if (gpa >= FZ_RAM_B && gpa < FZ_RAM_END)
		return host.ram_b + (gpa - FZ_RAM_B);
	fz_fail("harness: 0x%llx is not guest RAM", (unsigned long long)gpa);
}

void fz_ram_write(uint64_t gpa, const void *src, size_t len)
{
	const uint8_t *s = src;

	for (; len && gpa >= FZ_RAM_A && gpa < FZ_RAM_END; len--, gpa++)
		*(uint8_t *)fz_ram(gpa) = *s++;
}

static void ram_put16(uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	fz_ram_write(gpa, &v, 2);
}

/* --- the driver ----------------------------------------------------------- */

void fz_poll(struct virtio_dev *vd)
{
	unsigned int i;
	int n;

	/*
	 * A driver's reset completes on a thread of the device, which parks
	 * the loop: the I/O thread would stay parked until it is done, so
	 * the loop is not run before then (and an input runs the same way
	 * every time).
	 */
	virtio_dev_wait_reset(vd);
	for (i = 0; i < 1000; i++) {
		n = vloop_poll(vd->loop);
		if (n < 0)
			fz_fail("vloop_poll: %s", strerror(-n));
		if (!n)
			return;
	}
	fz_fail("%s: the I/O loop is still busy after %u batches: a source that stays ready would spin its thread",
		vd->info.name, i);
}

uint64_t fz_rd(struct fz_dev *d, uint64_t off, unsigned int len)
{
	uint64_t v = 0;

	if (!pci_bus_mmio(d->bus, FZ_BAR + off, len, false, &v))
		return ~0ull;
	return v;
}

void fz_wr(struct fz_dev *d, uint64_t off, unsigned int len, uint64_t val)
{
	pci_bus_mmio(d->bus, FZ_BAR + off, len, true, &val);
}

static void common_wr(struct fz_dev *d, unsigned int reg, unsigned int len,
		      uint64_t val)
{
	fz_wr(d, VIRTIO_PCI_COMMON_OFF + reg, len, val);
}

static uint64_t common_rd(struct fz_dev *d, unsigned int reg, unsigned int len)
{
	return fz_rd(d, VIRTIO_PCI_COMMON_OFF + reg, len);
}

/*
 * What the PCI core does before a driver probes (BAR 0 assigned, memory
 * decoding and bus mastering on); the input may have undone it since.
 */
static void dev_enable(struct fz_dev *d)
{
	pci_bus_cfg_write(d->bus, d->devfn, PCI_BASE_ADDRESS_0, 4, (uint32_t)FZ_BAR);
	pci_bus_cfg_write(d->bus, d->devfn, PCI_BASE_ADDRESS_0 + 4, 4, FZ_BAR >> 32);
	pci_bus_cfg_write(d->bus, d->devfn, PCI_COMMAND, 2,
			  PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

void fz_dev_init(struct fz_dev *d, struct fz_host *h, struct virtio_dev *vd,
		 unsigned int devfn, const struct fz_dev_ops *ops, void *priv)
{
	memset(d, 0, sizeof(*d));
	d->h = h;
	d->vd = vd;
	d->devfn = devfn;
	d->ops = ops;
	d->priv = priv;
	d->nq = vd->info.num_queues;
	if (d->nq > FZ_MAX_QUEUES)
		fz_fail("%u queues, the harness has room for %u", d->nq, FZ_MAX_QUEUES);
	h->func = &vd->func;
	d->bus = pci_bus_new(&h->host);
	if (!d->bus || pci_bus_add(d->bus, devfn, &vd->func))
		fz_fail("cannot put the device on a bus");
	dev_enable(d);
}

void fz_dev_free(struct fz_dev *d)
{
	pci_bus_free(d->bus);	/* frees the device */
	d->bus = NULL;
	d->vd = NULL;
}

void fz_dev_bringup(struct fz_dev *d, struct fz *f)
{
	uint64_t offered, want;
	unsigned int i;
	uint8_t flags;

	/*
	 * A driver probes a device the PCI core has enabled: without BAR 0
	 * decoded (the input may have moved it or turned decoding off) every
	 * load reads all-ones and device_status would never read 0.
	 */
	dev_enable(d);
	common_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	/* As a driver must: wait until the reset has completed. */
	for (i = 0; common_rd(d, VIRTIO_PCI_COMMON_STATUS, 1); i++) {
		struct timespec ts = { 0, 100000L };

		if (i == 100000)
			fz_fail("device_status is not 0 10 s after a reset (reads 0x%llx, status 0x%x, resetting %d, BAR 0 at 0x%llx, command 0x%x)",
				(unsigned long long)common_rd(d, VIRTIO_PCI_COMMON_STATUS, 1),
				d->vd->status, d->vd->resetting,
				(unsigned long long)pci_func_bar_addr(&d->vd->func, 0),
				pci_bus_cfg_read(d->bus, d->devfn, PCI_COMMAND, 2));
		nanosleep(&ts, NULL);
	}
	fz_poll(d->vd);
	common_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	common_wr(d, VIRTIO_PCI_COMMON_STATUS, 1,
		  VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	common_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	offered = common_rd(d, VIRTIO_PCI_COMMON_DF, 4);
	common_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	offered |= common_rd(d, VIRTIO_PCI_COMMON_DF, 4) << 32;
	want = offered ^ fz_u64(f);
	common_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	common_wr(d, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)want);
	common_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	common_wr(d, VIRTIO_PCI_COMMON_GF, 4, want >> 32);
	common_wr(d, VIRTIO_PCI_COMMON_STATUS, 1,
		  VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		  VIRTIO_CONFIG_S_FEATURES_OK);

	for (i = 0; i < d->nq; i++) {
		struct fz_queue *q = &d->q[i];
		uint16_t max;

		/*
		 * bits 0-2: size = maximum >> n; 3: size from the input;
		 * 4: ring addresses from the input; 5: leave it disabled.
		 */
		flags = fz_u8(f);
		common_wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, i);
		max = common_rd(d, VIRTIO_PCI_COMMON_Q_SIZE, 2);
		memset(q, 0, sizeof(*q));
		q->size = flags & 8 ? fz_u16(f) ^ max : max >> (flags & 7);
		q->desc = i < 4 ? FZ_RAM_A + 0x2000ull * i : FZ_RAM_B + 0x2000;
		q->avail = q->desc + 0x1000;
		q->used = q->desc + 0x1400;
		if (flags & 16) {
			q->desc ^= fz_u64(f);
			q->avail ^= fz_u64(f);
			q->used ^= fz_u64(f);
		}
		q->next_ind = FZ_RAM_A + 0xe000;
		common_wr(d, VIRTIO_PCI_COMMON_Q_SIZE, 2, q->size);
		common_wr(d, VIRTIO_PCI_COMMON_Q_DESCLO, 8, q->desc);
		common_wr(d, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)q->avail);
		common_wr(d, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, q->avail >> 32);
		common_wr(d, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)q->used);
		common_wr(d, VIRTIO_PCI_COMMON_Q_USEDHI, 4, q->used >> 32);
		if (!(flags & 32))
			common_wr(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
		if (!q->size || q->size > 0x8000 || (q->size & (q->size - 1)))
			q->size = 0;	/* refused: the harness will not use it */
	}
	if (!(fz_u8(f) & 1))
		common_wr(d, VIRTIO_PCI_COMMON_STATUS, 1,
			  common_rd(d, VIRTIO_PCI_COMMON_STATUS, 1) |
			  VIRTIO_CONFIG_S_DRIVER_OK);
	fz_poll(d->vd);
}

/* Is [gpa, gpa + len) guest RAM the harness may write? */
static bool ram_ok(uint64_t gpa, uint64_t len)
{
	return gpa >= FZ_RAM_A && gpa <= FZ_RAM_END && len <= FZ_RAM_END - gpa;
}

static void put_desc(uint64_t at, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct vring_desc v = {
		.addr = htole64(addr),
		.len = htole32(len),
		.flags = htole16(flags),
		.next = htole16(next),
	};

	fz_ram_write(at, &v, sizeof(v));
}

static void publish(struct fz_queue *q, uint16_t head)
{
	if (!q->size || !ram_ok(q->avail, 4 + 2ull * q->size))
		return;
	ram_put16(q->avail + 4 + 2ull * (q->avail_idx & (q->size - 1)), head);
	q->avail_idx++;
	ram_put16(q->avail + 2, q->avail_idx);
}

uint16_t fz_chain(struct fz_dev *d, unsigned int qi, const struct fz_seg *seg,
		  unsigned int n, bool indirect)
{
	struct fz_queue *q = &d->q[qi];
	uint16_t head, idx;
	unsigned int i;

	if (!q->size || !n || !ram_ok(q->desc, 16ull * q->size))
		return 0;
	head = q->next_desc & (q->size - 1);
	if (indirect) {
		uint64_t tab = q->next_ind;

		if (tab + 16ull * n > FZ_RAM_A + 0x10000)
			tab = FZ_RAM_A + 0xe000;
		for (i = 0; i < n; i++)
			put_desc(tab + 16ull * i, seg[i].gpa, seg[i].len,
				 (seg[i].write ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0), i + 1);
		q->next_ind = tab + 16ull * n;
		put_desc(q->desc + 16ull * head, tab, 16 * n,
			 VRING_DESC_F_INDIRECT, 0);
		q->next_desc = head + 1;
	} else {
		for (i = 0; i < n; i++) {
			idx = (head + i) & (q->size - 1);
			put_desc(q->desc + 16ull * idx, seg[i].gpa, seg[i].len,
				 (seg[i].write ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0),
				 (idx + 1) & (q->size - 1));
		}
		q->next_desc = head + n;
	}
	publish(q, head);
	return head;
}

void fz_kick(struct fz_dev *d, unsigned int q)
{
	fz_wr(d, VIRTIO_PCI_NOTIFY_OFF + (uint64_t)q * VIRTIO_PCI_NOTIFY_MULT,
	      2, q);
	fz_poll(d->vd);
}

unsigned int fz_len(struct fz *f)
{
	uint8_t b = fz_u8(f);

	return b < 0xf0 ? 1u << (b & 3) : b & 0xf;
}

enum {
	OP_CHAIN,	/* q, n|flags, n x (off16, len16, write8) */
	OP_RAM,		/* off16, len8, bytes */
	OP_DESC,	/* q, idx16, addr64 ^ FZ_DATA, len32, flags16, next16 */
	OP_AVAIL,	/* q, head16 */
	OP_AVAIL_IDX,	/* q, idx16 */
	OP_KICK,	/* q (any number) */
	OP_MMIO,	/* off16, len, write, val64 */
	OP_CFG,		/* devfn-ish, reg16, len, write, val32 */
	OP_HOST,	/* the device's own */
	OP_BRINGUP,	/* as fz_dev_bringup */
	OP_EVENT,	/* q, which, val16: used_event or avail flags */
	OP_PAUSE_RESET,	/* what the daemon does at VMSTOP / VMSTART */
	OP_KICK_ALL,
	OP_MAX
};

static void op_chain(struct fz_dev *d, struct fz *f)
{
	struct fz_seg seg[8];
	unsigned int q = fz_u8(f) % d->nq, n, i;
	uint8_t x = fz_u8(f);

	n = 1 + (x & 7);
	for (i = 0; i < n; i++) {
		seg[i].gpa = FZ_DATA + fz_u16(f) % (FZ_RAM_END - FZ_DATA);
		seg[i].len = fz_u16(f);
		seg[i].write = fz_u8(f) & 1;
	}
	fz_chain(d, q, seg, n, x & 8);
	if (!(x & 16))
		fz_kick(d, q);
}

void fz_dev_run(struct fz_dev *d, struct fz *f)
{
	while (f->n) {
		uint8_t op = fz_u8(f) % OP_MAX;
		struct fz_queue *q;
		unsigned int len, reg;
		uint64_t val, gpa;
		uint8_t buf[256];
		bool write;

		switch (op) {
		case OP_CHAIN:
			op_chain(d, f);
			break;
		case OP_RAM:
			gpa = FZ_RAM_A + fz_u16(f) % FZ_RAM_SIZE;
			len = fz_u8(f);
			fz_bytes(f, buf, len);
			fz_ram_write(gpa, buf, len);
			break;
		case OP_DESC: {
			unsigned int idx;
			uint64_t addr;
			uint32_t dlen;
			uint16_t flags, next;

			q = &d->q[fz_u8(f) % d->nq];
			idx = fz_u16(f);
			addr = fz_u64(f) ^ FZ_DATA;
			dlen = fz_u32(f);
			flags = fz_u16(f);
			next = fz_u16(f);
			if (q->size && ram_ok(q->desc, 16ull * q->size))
				put_desc(q->desc + 16ull * (idx & (q->size - 1)),
					 addr, dlen, flags, next);
			break;
		}
		case OP_AVAIL:
			q = &d->q[fz_u8(f) % d->nq];
			publish(q, fz_u16(f));
			break;
		case OP_AVAIL_IDX:
			q = &d->q[fz_u8(f) % d->nq];
			q->avail_idx = fz_u16(f);
			if (q->size && ram_ok(q->avail, 4))
				ram_put16(q->avail + 2, q->avail_idx);
			break;
		case OP_KICK:
			fz_kick(d, fz_u8(f));
			break;
		case OP_MMIO:
			reg = fz_u16(f) & (VIRTIO_PCI_BAR_SIZE - 1);
			len = fz_len(f);
			write = fz_u8(f) & 1;
			val = fz_u64(f);
			if (write)
				fz_wr(d, reg, len, val);
			else
				fz_rd(d, reg, len);
			fz_poll(d->vd);
			break;
		case OP_CFG: {
			unsigned int devfn = d->devfn;

			if (fz_u8(f) == 0xff)
				devfn = (devfn + 1) & 0xff;	/* an empty slot */
			reg = fz_u16(f) & (PCI_CFG_SPACE_SIZE - 1);
			len = fz_len(f);
			write = fz_u8(f) & 1;
			val = fz_u32(f);
			if (write)
				pci_bus_cfg_write(d->bus, devfn, reg, len, val);
			else
				pci_bus_cfg_read(d->bus, devfn, reg, len);
			fz_poll(d->vd);
			break;
		}
		case OP_HOST:
			if (d->ops && d->ops->host_op)
				d->ops->host_op(d, f);
			fz_poll(d->vd);
			break;
		case OP_BRINGUP:
			fz_dev_bringup(d, f);
			break;
		case OP_EVENT:
			q = &d->q[fz_u8(f) % d->nq];
			write = fz_u8(f) & 1;
			val = fz_u16(f);
			if (!q->size)
				break;
			gpa = write ? q->avail + 4 + 2ull * q->size : q->avail;
			if (ram_ok(gpa, 2))
				ram_put16(gpa, val);
			break;
		case OP_PAUSE_RESET:
			virtio_dev_pause(d->vd);
			virtio_dev_reset(d->vd);
			fz_poll(d->vd);
			break;
		case OP_KICK_ALL:
			virtio_dev_kick_all(d->vd);
			fz_poll(d->vd);
			break;
		}
	}
}
