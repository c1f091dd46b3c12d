// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of taking over running devices in a new process
 * (user/virtio/vstate.c, virtio_dev_save/restore, pci_func_save/restore_cfg,
 * vsock's transport reset).  A "process" is a bus with its own devices and
 * host; guest RAM and the in-flight file (a buffer here) outlive it, as
 * they outlive a killed device daemon.
 *
 * What is checked: a round trip (what the driver set up reads back the
 * same through the new process, BARs where the guest moved them, queues
 * live, a request posted while no process ran completes once, a request
 * the dead process had taken completes once, the interrupt and the
 * doorbells are back, vsock's driver is told its connections are gone);
 * every kind of blob the new process must not trust (refused with a
 * message, nothing applied); in-flight files that do not belong to the
 * blob (the running device asks its driver for a reset and touches no
 * ring); devices saved before DRIVER_OK or after failing; what a guest
 * does after reading all-ones from a load the dead process lost; and
 * functions with MSI-X (the table, pending bits and vectors come back, the
 * new process interrupts through them and never through INTx, a vector
 * pending and unmasked is sent, blobs with MSI-X state these functions
 * cannot have are refused).
 */
#include <endian.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>

#include "devices/virtio_devs.h"
#include "tap.h"
#include "virtio/vstate.h"
#include "vtest.h"

#define GEN		42
#define COOKIE		0x1234abcd5678ef00ull
#define RNG_DEVFN	PCI_DEVFN(0, 0)
#define BLK_DEVFN	PCI_DEVFN(1, 0)
#define VSOCK_DEVFN	PCI_DEVFN(2, 0)
#define RNG_BAR		0xe0000000ull
#define RNG_BAR_MOVED	0xe0100000ull
#define BLK_BAR		0xe0010000ull
#define VSOCK_BAR	0xe0020000ull
#define IMG_SIZE	(1 << 20)
#define CID		7
#define ST_RUNNING	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
			 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)
#define BLOB_MAX	65536

static char img[64];
static char uds[108];
static struct vt_host *guest;		/* guest RAM, and its allocator */

/* One process of the device provider. */
struct proc {
	struct vt_host *vh;
	struct pci_bus *bus;
	struct virtio_dev *devs[3];
	unsigned int n;
};

/* A host of a new process on the same guest RAM. */
static struct vt_host *host_new(void)
{
	struct vt_host *h = calloc(1, sizeof(*h));

	h->ram = guest->ram;
	guest_mem_add(&h->mem, VT_RAM_GPA, VT_RAM_SIZE, h->ram);
	h->host.ops = &vt_host_ops;
	h->host.mem = &h->mem;
	h->host.priv = h;
	return h;
}

/* The MSIs the hosts sent, in order (the I/O threads may send too). */
struct msi {
	unsigned int devfn;
	uint64_t addr;
	uint32_t data;
};

#define MSI_LOG		32
static struct msi msi_log[MSI_LOG];
static int nr_msi;

static void t_send_msi(struct pci_host *h, struct pci_func *f, uint64_t addr,
		       uint32_t data)
{
	int n = __atomic_fetch_add(&nr_msi, 1, __ATOMIC_SEQ_CST);

	if (n < MSI_LOG)
		msi_log[n] = (struct msi){ pci_func_devfn(f), addr, data };
}

static const struct pci_host_ops msi_host_ops = {
	.set_intx = vt_set_intx,
	.add_doorbell = vt_add_db,
	.del_doorbell = vt_del_db,
	.kick_defer = vt_kick_defer,
	.send_msi = t_send_msi,
};

/*
 * Start a process with rng, and blk and vsock when full; with msi, a host
 * that takes MSIs and functions with MSI-X.
 */
static int proc_start_with(struct proc *p, bool full, bool msi)
{
	struct blk_cfg bc = { .path = img };
	unsigned int i;

	memset(p, 0, sizeof(*p));
	p->vh = host_new();
	if (msi)
		p->vh->host.ops = &msi_host_ops;
	p->bus = pci_bus_new(&p->vh->host);
	p->devs[p->n++] = rng_new();
	if (full) {
		p->devs[p->n++] = blk_new(&bc);
		p->devs[p->n++] = vsock_new(CID, uds);
	}
	for (i = 0; i < p->n; i++) {
		if (!p->devs[i] || (msi && virtio_dev_add_msix(p->devs[i])))
			return -1;
		pci_bus_add(p->bus, PCI_DEVFN(i, 0), &p->devs[i]->func);
		virtio_dev_start(p->devs[i]);
	}
	return 0;
}

static int proc_start(struct proc *p, bool full)
{
	return proc_start_with(p, full, false);
}

/* The process dies: its devices go, guest RAM and the records stay. */
static void proc_kill(struct proc *p)
{
	pci_bus_free(p->bus);
	free(p->vh);
	p->bus = NULL;
}

static uint64_t rng_req(struct vt_dev *d)
{
	uint64_t buf = vt_alloc(guest, 64, 8);
	struct vt_seg seg = { buf, 64, true };

	return vt_add(d, 0, &seg, 1);
}

/* A blk write of 512 bytes of value at sector; returns the status byte's gpa. */
static uint64_t blk_write(struct vt_dev *d, uint64_t sector, uint8_t value)
{
	uint64_t hdr = vt_alloc(guest, 16, 16), data = vt_alloc(guest, 512, 512);
	uint64_t st = vt_alloc(guest, 1, 1);
	struct virtio_blk_outhdr *h = vt_ptr(guest, hdr);
	struct vt_seg seg[3] = {
		{ hdr, 16, false }, { data, 512, false }, { st, 1, true },
	};

	h->type = htole32(VIRTIO_BLK_T_OUT);
	h->sector = htole64(sector);
	memset(vt_ptr(guest, data), value, 512);
	*(uint8_t *)vt_ptr(guest, st) = 0xee;
	vt_add(d, 0, seg, 3);
	return st;
}

static int image_byte(uint64_t off)
{
	int fd = open(img, O_RDONLY);
	uint8_t b = 0;

	if (fd < 0 || pread(fd, &b, 1, off) != 1)
		b = 0;
	if (fd >= 0)
		close(fd);
	return b;
}

static void make_image(void)
{
	int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || ftruncate(fd, IMG_SIZE))
		abort();
	close(fd);
}

static uint8_t *blob;
static ssize_t blob_len;
static uint8_t *ifl;
static size_t ifl_len;

static struct vstate_dev *dev_at(uint8_t *b, unsigned int i)
{
	uint8_t *p = b + sizeof(struct vstate_hdr);
	struct vstate_dev *d = (struct vstate_dev *)p;

	while (i--) {
		p += sizeof(*d) + d->num_queues * sizeof(struct vstate_queue) +
		     d->msix_len;
		d = (struct vstate_dev *)p;
	}
	return d;
}

static struct vstate_queue *queue_at(uint8_t *b, unsigned int i, unsigned int q)
{
	return (struct vstate_queue *)(dev_at(b, i) + 1) + q;
}

/* Device i's MSI-X table, then its PBA (pci_msix_save()). */
static uint8_t *msix_at(uint8_t *b, unsigned int i)
{
	return (uint8_t *)queue_at(b, i, dev_at(b, i)->num_queues);
}

/* --- the round trip --------------------------------------------------- */

static void test_round_trip(void)
{
	struct vt_dev rng, blk, vs;
	struct proc a, b;
	uint8_t *again = malloc(BLOB_MAX);
	struct vq_inflight *rec;
	struct virtio_vsock_event *ev;
	uint64_t evbuf, st, rbar;
	unsigned int replayed = 99, i, dbs = 0;
	char why[256];
	uint32_t id, len, seq;
	uint16_t head;
	int ret;

	make_image();
	TAP_CHECK(!proc_start(&a, true), "round trip: process A up");
	ifl_len = vstate_ifl_size(a.devs, a.n);
	ifl = calloc(1, ifl_len);
	TAP_EQ_INT(vstate_ifl_init(a.devs, a.n, ifl, ifl_len - 1, GEN, COOKIE), -ENOSPC,
		   "round trip: in-flight init refuses a small file");
	TAP_EQ_INT(vstate_ifl_init(a.devs, a.n, ifl, ifl_len, GEN, COOKIE), 0,
		   "round trip: in-flight records laid out");

	/* The guest brings everything up and uses rng once. */
	vt_probe(&rng, guest, a.bus, RNG_DEVFN, RNG_BAR);
	vt_probe(&blk, guest, a.bus, BLK_DEVFN, BLK_BAR);
	vt_probe(&vs, guest, a.bus, VSOCK_DEVFN, VSOCK_BAR);
	TAP_CHECK(!vt_bringup(&rng, 0, 1) && !vt_bringup(&blk, 0, 1) &&
		  !vt_bringup(&vs, 0, 3), "round trip: drivers up");
	rng_req(&rng);
	vt_kick(&rng, 0);
	TAP_CHECK(vt_wait_used(&rng, 0, &id, &len) && len == 64,
		  "round trip: a request before the crash");
	/* The guest moves the rng's BAR and disables its INTx. */
	vt_cfgw(&rng, PCI_COMMAND, 2, 0);
	vt_cfgw(&rng, PCI_BASE_ADDRESS_0, 4, (uint32_t)RNG_BAR_MOVED);
	vt_cfgw(&rng, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		PCI_COMMAND_INTX_DISABLE);
	rng.bar = RNG_BAR_MOVED;
	vt_cfgw(&rng, PCI_INTERRUPT_LINE, 1, 11);
	/* vsock's driver gives the device an event buffer. */
	evbuf = vt_alloc(guest, 8, 8);
	{
		struct vt_seg seg = { evbuf, 8, true };

		vt_add(&vs, 2, &seg, 1);
	}
	seq = vstate_seq(a.devs, a.n);
	vt_kick(&rng, 0);
	rng_req(&rng);
	vt_kick(&rng, 0);
	vt_wait_used(&rng, 0, NULL, NULL);
	TAP_EQ_INT(vstate_seq(a.devs, a.n), seq, "round trip: requests need no save");
	vt_wr(&rng, rng.common + VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	TAP_CHECK(vstate_seq(a.devs, a.n) != seq, "round trip: a register write does");
	blob_len = vstate_save(a.devs, a.n, GEN, COOKIE, blob, BLOB_MAX);
	TAP_CHECK(blob_len > 0, "round trip: state saved");
	TAP_EQ_INT(vstate_save(a.devs, a.n, GEN, COOKIE, again, 100), -ENOSPC,
		   "round trip: save refuses a small buffer");

	/* Blk took a write and died before completing it. */
	st = blk_write(&blk, 3, 0x77);
	head = blk.q[0].next_desc - 3;
	rec = a.devs[1]->queues[0].vq.ifl;
	rec->head[head] = VQ_INFLIGHT_MARK | 0;
	rec->seq = 1;
	/* rng gets a request while no process runs: the kick is lost. */
	rng_req(&rng);
	proc_kill(&a);
	TAP_EQ_INT(image_byte(3 * 512), 0, "round trip: the write did not happen yet");

	TAP_CHECK(!proc_start(&b, true), "round trip: process B up");
	rng.bus = blk.bus = vs.bus = b.bus;
	ret = vstate_check(b.devs, b.n, blob, blob_len, GEN, why, sizeof(why));
	TAP_EQ_INT(ret, 0, "round trip: the state checks");
	if (ret)
		printf("#   %s\n", why);
	ret = vstate_restore(b.devs, b.n, blob, blob_len, ifl, ifl_len, &replayed,
			     why, sizeof(why));
	TAP_EQ_INT(ret, 0, "round trip: restored with the in-flight records");
	if (ret)
		printf("#   %s\n", why);
	TAP_EQ_INT(replayed, 1, "round trip: one request taken again");

	rbar = (uint64_t)vt_cfg(&rng, PCI_BASE_ADDRESS_0, 4) & ~0xfull;
	TAP_EQ_U64(rbar, RNG_BAR_MOVED, "round trip: BAR where the guest moved it");
	TAP_EQ_INT(vt_cfg(&rng, PCI_COMMAND, 2),
		   PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE,
		   "round trip: command register");
	TAP_EQ_INT(vt_cfg(&rng, PCI_INTERRUPT_LINE, 1), 11, "round trip: interrupt line register");
	TAP_EQ_INT(vt_status(&rng), ST_RUNNING, "round trip: rng status not reset");
	TAP_EQ_INT(vt_status(&blk), ST_RUNNING, "round trip: blk status not reset");
	vt_wr(&blk, blk.common + VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	TAP_EQ_INT(vt_rd(&blk, blk.common + VIRTIO_PCI_COMMON_GF, 4), 1,
		   "round trip: negotiated features");
	vt_wr(&vs, vs.common + VIRTIO_PCI_COMMON_Q_SELECT, 2, 2);
	TAP_EQ_INT(vt_rd(&vs, vs.common + VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1,
		   "round trip: queue enabled");
	TAP_EQ_U64(vt_rd(&vs, vs.common + VIRTIO_PCI_COMMON_Q_DESCLO, 8), vs.q[2].desc,
		   "round trip: queue address");

	TAP_CHECK(vt_wait_used(&rng, 0, &id, &len) && len == 64,
		  "round trip: the request made while dead completes");
	TAP_CHECK(vt_wait_used(&blk, 0, &id, NULL) && id == head,
		  "round trip: the write taken by A completes");
	TAP_EQ_INT(*(uint8_t *)vt_ptr(guest, st), VIRTIO_BLK_S_OK, "round trip: with OK");
	TAP_EQ_INT(image_byte(3 * 512), 0x77, "round trip: and is on the disk");
	TAP_CHECK(vt_wait_used(&vs, 2, &id, &len) && len == sizeof(*ev),
		  "round trip: vsock puts an event");
	ev = vt_ptr(guest, evbuf);
	TAP_EQ_INT(le32toh(ev->id), VIRTIO_VSOCK_EVENT_TRANSPORT_RESET,
		   "round trip: TRANSPORT_RESET: the guest drops its connections");

	/* Exactly once: the next request completes right after. */
	rng_req(&rng);
	vt_kick(&rng, 0);
	TAP_CHECK(vt_wait_used(&rng, 0, NULL, NULL), "round trip: rng goes on");
	TAP_EQ_INT(vt_used_pending(&rng, 0), 0, "round trip: rng completed each request once");
	TAP_EQ_INT(rng.q[0].last_used, 4, "round trip: rng: four requests, four completions");
	blk_write(&blk, 4, 0x78);
	vt_kick(&blk, 0);
	TAP_CHECK(vt_wait_used(&blk, 0, NULL, NULL), "round trip: blk goes on");
	virtio_dev_pause(b.devs[1]);
	TAP_EQ_INT(vt_used_pending(&blk, 0), 0, "round trip: blk completed each request once");
	TAP_EQ_INT(image_byte(4 * 512), 0x78, "round trip: blk writes after it");

	/* The interrupt and the doorbells are back. */
	TAP_EQ_INT(vt_intx(b.vh, BLK_DEVFN), 1, "round trip: blk's INTx line is up");
	TAP_EQ_INT(vt_intx(b.vh, RNG_DEVFN), 0,
		   "round trip: rng's is not (the guest disabled INTx)");
	TAP_CHECK(vt_rd(&blk, blk.isr, 1) & 1, "round trip: ISR says used buffers");
	for (i = 0; i < (unsigned int)b.vh->nr_db; i++)
		dbs += b.vh->db[i].gpa == RNG_BAR_MOVED + rng.notify;
	TAP_EQ_INT(b.vh->nr_db, 5, "round trip: a doorbell for each of the 5 queues");
	TAP_EQ_INT(dbs, 1, "round trip: rng's at its moved BAR");

	/* Saving again gives the same state, ISR and Status apart. */
	TAP_EQ_INT(vstate_save(b.devs, b.n, GEN, COOKIE, again, BLOB_MAX), blob_len,
		   "round trip: saved again");
	{
		uint8_t *first = malloc(blob_len);

		memcpy(first, blob, blob_len);
		((struct vstate_hdr *)first)->checksum = 0;
		((struct vstate_hdr *)again)->checksum = 0;
		for (i = 0; i < b.n; i++) {
			dev_at(first, i)->isr = dev_at(again, i)->isr = 0;
			dev_at(first, i)->cfg[PCI_STATUS] = 0;
			dev_at(again, i)->cfg[PCI_STATUS] = 0;
		}
		TAP_CHECK(!memcmp(first, again, blob_len), "round trip: same as the first");
		free(first);
	}
	proc_kill(&b);
	free(again);
}

/* --- blobs that must not be trusted ------------------------------------- */

/*
 * The blob src (src_len bytes), spoiled, is refused by a new process
 * (with MSI-X when msi) as want with a message saying needle.
 */
static void refused_from(const uint8_t *src, ssize_t src_len, bool msi,
			 const char *what, int want, const char *needle,
			 void (*spoil)(uint8_t *b, ssize_t *len), bool reseal)
{
	uint8_t *b = malloc(BLOB_MAX + 64);
	ssize_t len = src_len;
	char why[256] = "", msg[200];
	struct proc p;
	int ret;

	memcpy(b, src, src_len);
	spoil(b, &len);
	if (reseal)
		vstate_seal(b, len);
	proc_start_with(&p, true, msi);
	ret = vstate_check(p.devs, p.n, b, len, GEN, why, sizeof(why));
	snprintf(msg, sizeof(msg), "refused: %s: %s", what,
		 want == -ESTALE ? "not this VM's" : "invalid");
	TAP_EQ_INT(ret, want, msg);
	snprintf(msg, sizeof(msg), "refused: %s: says '%s'", what, needle);
	if (!TAP_CHECK(strstr(why, needle), msg))
		printf("#   why: %s\n", why);
	/* Nothing was applied: the rng is at power-on. */
	snprintf(msg, sizeof(msg), "refused: %s: nothing applied", what);
	TAP_EQ_INT(pci_bus_cfg_read(p.bus, RNG_DEVFN, PCI_COMMAND, 2), 0, msg);
	proc_kill(&p);
	free(b);
}

static void refused(const char *what, int want, const char *needle,
		    void (*spoil)(uint8_t *b, ssize_t *len), bool reseal)
{
	refused_from(blob, blob_len, false, what, want, needle, spoil, reseal);
}

static void sp_empty(uint8_t *b, ssize_t *len) { *len = 0; }
static void sp_short(uint8_t *b, ssize_t *len) { *len = 12; }
static void sp_magic(uint8_t *b, ssize_t *len) { ((struct vstate_hdr *)b)->magic ^= 1; }
static void sp_version(uint8_t *b, ssize_t *len) { ((struct vstate_hdr *)b)->version = 1; }
static void sp_version3(uint8_t *b, ssize_t *len) { ((struct vstate_hdr *)b)->version = 3; }
static void sp_entry(uint8_t *b, ssize_t *len) { ((struct vstate_hdr *)b)->dev_len += 8; }
static void sp_trunc(uint8_t *b, ssize_t *len) { *len -= 1; }
static void sp_truncq(uint8_t *b, ssize_t *len)
{
	*len -= sizeof(struct vstate_queue);
	((struct vstate_hdr *)b)->len = *len;
}

static void sp_longer(uint8_t *b, ssize_t *len)
{
	memset(b + *len, 0, 8);
	*len += 8;
	((struct vstate_hdr *)b)->len = *len;
}

static void sp_flip(uint8_t *b, ssize_t *len) { dev_at(b, 1)->cfg[0x3c] ^= 0x40; }
static void sp_gen(uint8_t *b, ssize_t *len) { ((struct vstate_hdr *)b)->generation++; }
static void sp_ndevs(uint8_t *b, ssize_t *len) { ((struct vstate_hdr *)b)->nr_devs = 2; }
static void sp_devid(uint8_t *b, ssize_t *len) { dev_at(b, 0)->device_id = VIRTIO_ID_BLOCK; }
static void sp_slot(uint8_t *b, ssize_t *len) { dev_at(b, 1)->devfn = PCI_DEVFN(9, 0); }
static void sp_reserved(uint8_t *b, ssize_t *len) { dev_at(b, 2)->reserved1 = 1; }
static void sp_qreserved(uint8_t *b, ssize_t *len) { queue_at(b, 2, 1)->reserved = 1; }
static void sp_enabled2(uint8_t *b, ssize_t *len) { queue_at(b, 0, 0)->enabled = 2; }
static void sp_vendor(uint8_t *b, ssize_t *len) { dev_at(b, 0)->cfg[0] ^= 1; }
static void sp_caps(uint8_t *b, ssize_t *len) { dev_at(b, 1)->cfg[PCI_CAPABILITY_LIST] += 4; }

static void sp_nofok(uint8_t *b, ssize_t *len)
{
	dev_at(b, 0)->status &= ~VIRTIO_CONFIG_S_FEATURES_OK;
}

static void sp_features(uint8_t *b, ssize_t *len) { dev_at(b, 0)->guest_features |= 1ull << 40; }
static void sp_nov1(uint8_t *b, ssize_t *len) { dev_at(b, 1)->guest_features &= ~(1ull << 32); }
static void sp_qsize(uint8_t *b, ssize_t *len) { queue_at(b, 1, 0)->size = 512; }
static void sp_qsize3(uint8_t *b, ssize_t *len) { queue_at(b, 2, 0)->size = 3; }
static void sp_isr(uint8_t *b, ssize_t *len) { dev_at(b, 0)->isr = 0x81; }
static void sp_qvector(uint8_t *b, ssize_t *len) { queue_at(b, 0, 0)->msix_vector = 0; }
static void sp_cvector(uint8_t *b, ssize_t *len) { dev_at(b, 1)->msix_config = 0; }

static void sp_qnofok(uint8_t *b, ssize_t *len)
{
	dev_at(b, 2)->status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
}

static void test_refused(void)
{
	refused("empty", -ESTALE, "no state", sp_empty, false);
	refused("too short", -EINVAL, "too short", sp_short, false);
	refused("bad magic", -EINVAL, "not a device state", sp_magic, true);
	refused("version 1", -EINVAL, "format version 1, this vbridge reads version 2 only (saved by an older vbridge)",
		sp_version, true);
	refused("version 3", -EINVAL, "newer vbridge", sp_version3, true);
	refused("other entry size", -EINVAL, "format version", sp_entry, true);
	refused("a byte missing", -EINVAL, "it is", sp_trunc, false);
	refused("a queue missing", -EINVAL, "ends inside the queues", sp_truncq, true);
	refused("bytes after the end", -EINVAL, "after its last device", sp_longer, true);
	refused("a flipped bit", -EINVAL, "damaged", sp_flip, false);
	refused("another VM", -ESTALE, "generation 43, not 42", sp_gen, true);
	refused("fewer devices", -EINVAL, "has 2 devices", sp_ndevs, true);
	refused("another device", -EINVAL, "this provider has virtio-rng", sp_devid, true);
	refused("another slot", -EINVAL, "09.0", sp_slot, true);
	refused("reserved field", -EINVAL, "reserved", sp_reserved, true);
	refused("queue reserved field", -EINVAL, "queue 1: reserved", sp_qreserved, true);
	refused("queue enabled = 2", -EINVAL, "reserved", sp_enabled2, true);
	refused("another vendor", -EINVAL, "another function's", sp_vendor, true);
	refused("another capability list", -EINVAL, "another function's", sp_caps, true);
	refused("DRIVER_OK without FEATURES_OK", -EINVAL, "without FEATURES_OK",
		sp_nofok, true);
	refused("features not offered", -EINVAL, "never accepted", sp_features, true);
	refused("no VERSION_1", -EINVAL, "never accepted", sp_nov1, true);
	refused("queue too large", -EINVAL, "size 512", sp_qsize, true);
	refused("queue size 3", -EINVAL, "size 3", sp_qsize3, true);
	refused("unknown ISR bits", -EINVAL, "ISR 0x81", sp_isr, true);
	refused("queue without FEATURES_OK", -EINVAL, "enabled without FEATURES_OK",
		sp_qnofok, true);
	refused("a queue vector without MSI-X", -EINVAL,
		"queue 0: MSI-X vector 0 is neither one of its 0 nor NO_VECTOR",
		sp_qvector, true);
	refused("a configuration vector without MSI-X", -EINVAL,
		"msix_config 0 is neither one of its 0 MSI-X vectors nor NO_VECTOR",
		sp_cvector, true);
}

/* --- in-flight files that do not belong ----------------------------------- */

/* Post a one-descriptor request on the rng's ring as the blob has it. */
static uint16_t rng_post_raw(void)
{
	struct vstate_queue *q = queue_at(blob, 0, 0);
	struct vring_desc *desc = vt_ptr(guest, q->desc);
	struct vring_avail *avail = vt_ptr(guest, q->driver);
	uint16_t idx = le16toh(avail->idx), head = q->size - 1;

	desc[head].addr = htole64(vt_alloc(guest, 64, 8));
	desc[head].len = htole32(64);
	desc[head].flags = htole16(VRING_DESC_F_WRITE);
	avail->ring[idx % q->size] = htole16(head);
	avail->idx = htole16(idx + 1);
	return head;
}

static uint16_t rng_used_idx(void)
{
	struct vring_used *used = vt_ptr(guest, queue_at(blob, 0, 0)->device);

	return le16toh(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE));
}

static void ifl_bad(const char *what, const char *needle,
		    void (*spoil)(uint8_t *m, size_t *len), bool null_mem)
{
	uint8_t *m = malloc(ifl_len);
	size_t len = ifl_len;
	char why[256] = "", msg[200];
	uint16_t used_before;
	struct proc p;
	uint64_t v = 0;
	int ret;

	memcpy(m, ifl, ifl_len);
	if (spoil)
		spoil(m, &len);
	proc_start(&p, true);
	rng_post_raw();
	used_before = rng_used_idx();
	ret = vstate_restore(p.devs, p.n, blob, blob_len, null_mem ? NULL : m, len,
			     NULL, why, sizeof(why));
	snprintf(msg, sizeof(msg), "bad in-flight file: %s: not used", what);
	TAP_EQ_INT(ret, -EINVAL, msg);
	snprintf(msg, sizeof(msg), "bad in-flight file: %s: says '%s'", what, needle);
	if (!TAP_CHECK(strstr(why, needle), msg))
		printf("#   why: %s\n", why);
	snprintf(msg, sizeof(msg), "bad in-flight file: %s: rng asks for a reset", what);
	pci_bus_mmio(p.bus, RNG_BAR_MOVED + VIRTIO_PCI_COMMON_STATUS, 1, false, &v);
	TAP_EQ_INT(v, ST_RUNNING | VIRTIO_CONFIG_S_NEEDS_RESET, msg);
	snprintf(msg, sizeof(msg), "bad in-flight file: %s: a configuration interrupt", what);
	v = 0;
	pci_bus_mmio(p.bus, RNG_BAR_MOVED + VIRTIO_PCI_ISR_OFF, 1, false, &v);
	TAP_CHECK(v & 2, msg);
	virtio_dev_pause(p.devs[0]);
	snprintf(msg, sizeof(msg), "bad in-flight file: %s: rng's ring untouched", what);
	TAP_EQ_INT(rng_used_idx(), used_before, msg);
	proc_kill(&p);
	free(m);
}

static void if_magic(uint8_t *m, size_t *len) { ((struct vstate_ifl_hdr *)m)->magic = 0; }
static void if_version(uint8_t *m, size_t *len) { ((struct vstate_ifl_hdr *)m)->version = 9; }
static void if_cookie(uint8_t *m, size_t *len) { ((struct vstate_ifl_hdr *)m)->cookie++; }
static void if_gen(uint8_t *m, size_t *len) { ((struct vstate_ifl_hdr *)m)->generation = 1; }
static void if_len(uint8_t *m, size_t *len) { *len -= 8; }
static void if_size(uint8_t *m, size_t *len) { ((struct vstate_ifl_hdr *)m)->size += 8; }
static void if_nq(uint8_t *m, size_t *len) { ((struct vstate_ifl_hdr *)m)->nr_queues = 4; }

static void if_owner(uint8_t *m, size_t *len)
{
	struct vq_inflight *r = (void *)(m + sizeof(struct vstate_ifl_hdr));

	r->owner = 0x80000;
}

static void if_rsize(uint8_t *m, size_t *len)
{
	struct vq_inflight *r = (void *)(m + sizeof(struct vstate_ifl_hdr));

	r->size = 4096;
}

static void test_ifl_bad(void)
{
	struct vstate_hdr *h = (void *)blob;
	uint64_t cookie = h->cookie;
	char why[200];
	struct proc p;
	uint64_t v = 0;

	ifl_bad("none", "no in-flight file", NULL, true);
	ifl_bad("bad magic", "no valid header", if_magic, false);
	ifl_bad("other version", "version 9", if_version, false);
	ifl_bad("another cookie", "another state", if_cookie, false);
	ifl_bad("another generation", "another state", if_gen, false);
	ifl_bad("shorter", "bytes, not", if_len, false);
	ifl_bad("size field", "says it is", if_size, false);
	ifl_bad("queue count", "has 4 queues", if_nq, false);
	ifl_bad("another owner", "not the one of virtio-rng queue 0", if_owner, false);
	ifl_bad("record size", "not the one of", if_rsize, false);
	h->cookie = 0;
	vstate_seal(blob, blob_len);
	ifl_bad("no records kept", "kept no in-flight records", NULL, false);
	h->cookie = cookie;
	vstate_seal(blob, blob_len);

	/* A record that does not add up fails its device only. */
	proc_start(&p, true);
	{
		uint8_t *m = malloc(ifl_len);
		struct vq_inflight *r = (void *)(m + sizeof(struct vstate_ifl_hdr));

		memcpy(m, ifl, ifl_len);
		r->seq = 1000;
		TAP_EQ_INT(vstate_restore(p.devs, p.n, blob, blob_len, m, ifl_len, NULL,
					  why, sizeof(why)), 0,
			   "impossible record: the file is used");
		pci_bus_mmio(p.bus, RNG_BAR_MOVED + VIRTIO_PCI_COMMON_STATUS, 1, false, &v);
		TAP_EQ_INT(v, ST_RUNNING | VIRTIO_CONFIG_S_NEEDS_RESET,
			   "impossible record: rng asks for a reset");
		TAP_EQ_INT(r->seq, 1000, "impossible record: left as it was");
		pci_bus_mmio(p.bus, BLK_BAR + VIRTIO_PCI_COMMON_STATUS, 1, false, &v);
		TAP_EQ_INT(v, ST_RUNNING, "impossible record: blk runs on");
		free(m);
	}
	proc_kill(&p);
}

/* --- devices saved before DRIVER_OK, or failed --------------------------- */

static void test_states(void)
{
	struct vt_dev d;
	struct proc a, b;
	uint8_t *bl = malloc(BLOB_MAX);
	char why[200] = "";
	ssize_t n;
	uint32_t len;
	int ret;

	/* Mid-probe: features accepted, queue enabled, no DRIVER_OK. */
	proc_start(&a, false);
	vt_probe(&d, guest, a.bus, RNG_DEVFN, RNG_BAR);
	vt_negotiate(&d, (1ull << VIRTIO_F_VERSION_1));
	vt_queue_setup(&d, 0, 16);
	n = vstate_save(a.devs, a.n, GEN, 0, bl, BLOB_MAX);
	proc_kill(&a);
	proc_start(&b, false);
	d.bus = b.bus;
	ret = vstate_check(b.devs, b.n, bl, n, GEN, why, sizeof(why));
	TAP_EQ_INT(ret, 0, "mid-probe: state checks");
	TAP_EQ_INT(vstate_restore(b.devs, b.n, bl, n, NULL, 0, NULL, why, sizeof(why)),
		   -EINVAL, "mid-probe: no in-flight file");
	TAP_EQ_INT(vt_status(&d), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		   VIRTIO_CONFIG_S_FEATURES_OK, "mid-probe: status as it was, no reset asked");
	vt_wr(&d, d.common + VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	TAP_EQ_INT(vt_rd(&d, d.common + VIRTIO_PCI_COMMON_Q_SIZE, 2), 16,
		   "mid-probe: queue size the driver chose");
	vt_driver_ok(&d);
	rng_req(&d);
	vt_kick(&d, 0);
	TAP_CHECK(vt_wait_used(&d, 0, NULL, &len) && len == 64,
		  "mid-probe: the driver finishes and uses the device");
	proc_kill(&b);

	/*
	 * A completion published just before the crash, its interrupt not:
	 * the state was saved before it, with no ISR bit.
	 */
	proc_start(&a, false);
	vstate_ifl_init(a.devs, a.n, ifl, ifl_len, GEN, COOKIE);
	vt_probe(&d, guest, a.bus, RNG_DEVFN, RNG_BAR);
	vt_bringup(&d, 0, 1);
	n = vstate_save(a.devs, a.n, GEN, COOKIE, bl, BLOB_MAX);
	rng_req(&d);
	vt_kick(&d, 0);
	vt_wait_used(&d, 0, NULL, NULL);
	proc_kill(&a);
	proc_start(&b, false);
	d.bus = b.bus;
	vstate_restore(b.devs, b.n, bl, n, ifl, vstate_ifl_size(b.devs, b.n), NULL,
		       why, sizeof(why));
	TAP_EQ_INT(vt_intx(b.vh, RNG_DEVFN), 1, "lost interrupt: the line is raised again");
	TAP_EQ_INT(vt_rd(&d, d.isr, 1), 1, "lost interrupt: ISR says used buffers");
	TAP_EQ_INT(vt_used_pending(&d, 0), 0, "lost interrupt: no completion added");
	proc_kill(&b);

	/* A device that had failed stays failed until its driver resets it. */
	proc_start(&a, false);
	vt_probe(&d, guest, a.bus, RNG_DEVFN, RNG_BAR);
	vt_bringup(&d, 0, 1);
	vstate_ifl_init(a.devs, a.n, ifl, ifl_len, GEN, COOKIE);
	virtio_dev_fail(a.devs[0], "test");
	n = vstate_save(a.devs, a.n, GEN, COOKIE, bl, BLOB_MAX);
	proc_kill(&a);
	proc_start(&b, false);
	d.bus = b.bus;
	TAP_EQ_INT(vstate_check(b.devs, b.n, bl, n, GEN, why, sizeof(why)), 0,
		   "failed: state checks");
	vstate_restore(b.devs, b.n, bl, n, ifl, vstate_ifl_size(b.devs, b.n), NULL,
		       why, sizeof(why));
	TAP_CHECK(vt_status(&d) & VIRTIO_CONFIG_S_NEEDS_RESET, "failed: still failed");
	rng_req(&d);
	vt_kick(&d, 0);
	TAP_EQ_INT(vt_used_pending(&d, 0), 0, "failed: takes no request");
	TAP_CHECK(!vt_bringup(&d, 0, 1), "failed: the driver resets it and starts again");
	rng_req(&d);
	vt_kick(&d, 0);
	TAP_CHECK(vt_wait_used(&d, 0, NULL, &len) && len == 64, "failed: works again");
	proc_kill(&b);
	free(bl);
}

/*
 * A load the dead process had read comes back to the guest as all-ones.
 * What a driver does with that must not hurt the restored device.
 */
static void test_all_ones(void)
{
	struct vt_dev d;
	struct proc a, b;
	uint8_t *bl = malloc(BLOB_MAX);
	char why[200];
	uint32_t len;
	ssize_t n;

	proc_start(&a, false);
	vstate_ifl_init(a.devs, a.n, ifl, ifl_len, GEN, COOKIE);
	vt_probe(&d, guest, a.bus, RNG_DEVFN, RNG_BAR);
	vt_bringup(&d, 0, 1);
	n = vstate_save(a.devs, a.n, GEN, COOKIE, bl, BLOB_MAX);
	proc_kill(&a);
	proc_start(&b, false);
	d.bus = b.bus;
	vstate_restore(b.devs, b.n, bl, n, ifl, vstate_ifl_size(b.devs, b.n), NULL,
		       why, sizeof(why));
	/* Read-modify-write of a status read as 0xff. */
	vt_set_status(&d, 0xff);
	TAP_CHECK(vt_status(&d) & VIRTIO_CONFIG_S_FAILED, "all-ones: status 0xff written: FAILED");
	TAP_CHECK(!(vt_status(&d) & VIRTIO_CONFIG_S_NEEDS_RESET),
		  "all-ones: the guest cannot set NEEDS_RESET");
	/* Queue selector and notify offsets read as all-ones. */
	vt_wr(&d, d.common + VIRTIO_PCI_COMMON_Q_SELECT, 2, 0xffff);
	TAP_EQ_INT(vt_rd(&d, d.common + VIRTIO_PCI_COMMON_Q_SIZE, 2), 0,
		   "all-ones: queue 0xffff does not exist");
	vt_wr(&d, d.common + VIRTIO_PCI_COMMON_Q_SIZE, 2, 0xffff);
	vt_wr(&d, d.notify + 0xffff * 4ull, 2, 0);	/* outside the BAR */
	vt_wr(&d, d.common + VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	TAP_EQ_INT(vt_rd(&d, d.common + VIRTIO_PCI_COMMON_Q_SIZE, 2), 64,
		   "all-ones: queue 0 unchanged");
	/* ISR read as all-ones: the driver looks at its queues, and resets. */
	TAP_CHECK(!vt_bringup(&d, 0, 1), "all-ones: the driver resets and starts again");
	rng_req(&d);
	vt_kick(&d, 0);
	TAP_CHECK(vt_wait_used(&d, 0, NULL, &len) && len == 64, "all-ones: device works");
	proc_kill(&b);
	free(bl);
}

/* --- functions with MSI-X ------------------------------------------------- */

#define MSIX_NR		2	/* rng and blk: a queue and configuration */
#define MSIX_BYTES	PCI_MSIX_STATE_SIZE(MSIX_NR)

static uint8_t *mblob;
static ssize_t mblob_len;

static unsigned int msix_cap(struct vt_dev *d)
{
	unsigned int cap;

	for (cap = vt_cfg(d, PCI_CAPABILITY_LIST, 1); cap; cap = vt_cfg(d, cap + 1, 1))
		if (vt_cfg(d, cap, 1) == PCI_CAP_ID_MSIX)
			return cap;
	return 0;
}

static void msix_program(struct vt_dev *d, unsigned int v, uint64_t addr,
			 uint32_t data, bool masked)
{
	uint64_t e = VIRTIO_PCI_MSIX_TABLE_OFF + (uint64_t)v * PCI_MSIX_ENTRY_SIZE;

	vt_wr(d, e + PCI_MSIX_ENTRY_LOWER_ADDR, 4, (uint32_t)addr);
	vt_wr(d, e + PCI_MSIX_ENTRY_UPPER_ADDR, 4, addr >> 32);
	vt_wr(d, e + PCI_MSIX_ENTRY_DATA, 4, data);
	vt_wr(d, e + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, masked);
}

static void msix_mask(struct vt_dev *d, unsigned int v, bool masked)
{
	vt_wr(d, VIRTIO_PCI_MSIX_TABLE_OFF + (uint64_t)v * PCI_MSIX_ENTRY_SIZE +
	      PCI_MSIX_ENTRY_VECTOR_CTRL, 4, masked);
}

static void msix_image(struct vt_dev *d, uint8_t *buf)
{
	vt_msix_image(d->bus, d->bar, VIRTIO_PCI_MSIX_TABLE_OFF,
		      VIRTIO_PCI_MSIX_PBA_OFF, MSIX_NR, buf);
}

/* vector < 0: msix_config, else queue_msix_vector of that queue. */
static uint16_t vector_rd(struct vt_dev *d, int q)
{
	if (q < 0)
		return vt_rd(d, d->common + VIRTIO_PCI_COMMON_MSIX, 2);
	vt_wr(d, d->common + VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	return vt_rd(d, d->common + VIRTIO_PCI_COMMON_Q_MSIX, 2);
}

static void vector_wr(struct vt_dev *d, int q, uint16_t v)
{
	if (q < 0) {
		vt_wr(d, d->common + VIRTIO_PCI_COMMON_MSIX, 2, v);
		return;
	}
	vt_wr(d, d->common + VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	vt_wr(d, d->common + VIRTIO_PCI_COMMON_Q_MSIX, 2, v);
}

/* Whether a message went to addr with data from devfn (after index from). */
static bool msi_sent(int from, unsigned int devfn, uint64_t addr, uint32_t data)
{
	int i, n = __atomic_load_n(&nr_msi, __ATOMIC_SEQ_CST);

	for (i = from; i < n && i < MSI_LOG; i++)
		if (msi_log[i].devfn == devfn && msi_log[i].addr == addr &&
		    msi_log[i].data == data)
			return true;
	return false;
}

#define RNG_Q_ADDR	0xfee01000ull
#define RNG_C_ADDR	0x1fee02000ull
#define BLK_Q_ADDR	0xfee03000ull
#define BLK_C_ADDR	0xfee04000ull

static void test_msix(void)
{
	uint8_t img_rng[MSIX_BYTES], img_blk[MSIX_BYTES], now[MSIX_BYTES];
	struct vt_dev rng, blk;
	struct proc a, b;
	unsigned int rcap, bcap;
	char why[256] = "";
	uint32_t seq;
	int ret;

	nr_msi = 0;
	TAP_CHECK(!proc_start_with(&a, true, true), "msix: process A up, functions with MSI-X");
	vstate_ifl_init(a.devs, a.n, ifl, ifl_len, GEN, COOKIE);
	vt_probe(&rng, guest, a.bus, RNG_DEVFN, RNG_BAR);
	vt_probe(&blk, guest, a.bus, BLK_DEVFN, BLK_BAR);
	TAP_CHECK(!vt_bringup(&rng, 0, 1) && !vt_bringup(&blk, 0, 1), "msix: drivers up");
	rcap = msix_cap(&rng);
	bcap = msix_cap(&blk);
	TAP_CHECK(rcap && bcap, "msix: the drivers find the capability");

	/* What a driver does: messages, vectors, then Enable. */
	seq = vstate_seq(a.devs, a.n);
	msix_program(&rng, 0, RNG_Q_ADDR, 0x30, false);
	TAP_CHECK(vstate_seq(a.devs, a.n) != seq, "msix: a table store needs a save");
	msix_program(&rng, 1, RNG_C_ADDR, 0x31, true);
	msix_program(&blk, 0, BLK_Q_ADDR, 0x40, true);
	msix_program(&blk, 1, BLK_C_ADDR, 0x41, false);
	seq = vstate_seq(a.devs, a.n);
	vector_wr(&rng, -1, 1);
	TAP_CHECK(vstate_seq(a.devs, a.n) != seq, "msix: an msix_config store needs a save");
	seq = vstate_seq(a.devs, a.n);
	vector_wr(&rng, 0, 0);
	TAP_CHECK(vstate_seq(a.devs, a.n) != seq,
		  "msix: a queue_msix_vector store needs a save");
	vector_wr(&blk, 0, 0);	/* blk's configuration: no vector */
	vt_cfgw(&rng, rcap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	vt_cfgw(&blk, bcap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);

	/* blk's queue interrupt while its vector is masked: held pending. */
	seq = vstate_seq(a.devs, a.n);
	virtio_dev_raise(a.devs[1], 0);
	TAP_CHECK(vt_rd(&blk, VIRTIO_PCI_MSIX_PBA_OFF, 4) == 1, "msix: blk's vector 0 is pending");
	TAP_CHECK(vstate_seq(a.devs, a.n) != seq, "msix: a vector held pending needs a save");
	seq = vstate_seq(a.devs, a.n);
	virtio_dev_raise(a.devs[1], 0);
	TAP_EQ_INT(vstate_seq(a.devs, a.n), seq, "msix: raised again while pending: no new save");
	TAP_CHECK(!msi_sent(0, BLK_DEVFN, BLK_Q_ADDR, 0x40), "msix: and nothing sent");

	mblob = malloc(BLOB_MAX);
	mblob_len = vstate_save(a.devs, a.n, GEN, COOKIE, mblob, BLOB_MAX);
	TAP_CHECK(mblob_len > 0, "msix: state saved");
	TAP_CHECK(dev_at(mblob, 0)->msix_nr == MSIX_NR &&
		  dev_at(mblob, 0)->msix_len == MSIX_BYTES &&
		  dev_at(mblob, 2)->msix_nr == 4,
		  "msix: the blob has each function's vector count and state length");
	msix_image(&rng, img_rng);
	msix_image(&blk, img_blk);
	TAP_CHECK(!memcmp(msix_at(mblob, 0), img_rng, MSIX_BYTES) &&
		  !memcmp(msix_at(mblob, 1), img_blk, MSIX_BYTES),
		  "msix: the blob has the tables and PBAs as the guest reads them");
	proc_kill(&a);

	nr_msi = 0;
	TAP_CHECK(!proc_start_with(&b, true, true), "msix: process B up");
	rng.bus = blk.bus = b.bus;
	ret = vstate_check(b.devs, b.n, mblob, mblob_len, GEN, why, sizeof(why));
	TAP_EQ_INT(ret, 0, "msix: the state checks");
	if (ret)
		printf("#   %s\n", why);
	ret = vstate_restore(b.devs, b.n, mblob, mblob_len, ifl, ifl_len, NULL, why,
			     sizeof(why));
	TAP_EQ_INT(ret, 0, "msix: restored");
	if (ret)
		printf("#   %s\n", why);

	msix_image(&rng, now);
	TAP_CHECK(!memcmp(now, img_rng, MSIX_BYTES), "msix: rng's table and PBA read back the same");
	msix_image(&blk, now);
	TAP_CHECK(!memcmp(now, img_blk, MSIX_BYTES), "msix: blk's table and PBA read back the same");
	TAP_EQ_INT(vt_cfg(&rng, rcap + PCI_MSIX_FLAGS, 2), PCI_MSIX_FLAGS_ENABLE | (MSIX_NR - 1),
		   "msix: Message Control: enabled");
	TAP_CHECK(vector_rd(&rng, -1) == 1 && vector_rd(&rng, 0) == 0,
		  "msix: rng's vectors read back");
	TAP_CHECK(vector_rd(&blk, -1) == VIRTIO_MSI_NO_VECTOR && vector_rd(&blk, 0) == 0,
		  "msix: blk's vectors read back, NO_VECTOR too");
	TAP_CHECK(msi_sent(0, RNG_DEVFN, RNG_Q_ADDR, 0x30),
		  "msix: the used-buffer interrupt a dead process may have lost is a message");
	TAP_CHECK(!msi_sent(0, BLK_DEVFN, BLK_Q_ADDR, 0x40),
		  "msix: blk's, on a masked vector, is not sent");
	TAP_CHECK(vt_rd(&blk, VIRTIO_PCI_MSIX_PBA_OFF, 4) == 1, "msix: but still pending");
	TAP_EQ_INT(vt_intx(b.vh, RNG_DEVFN) + vt_intx(b.vh, BLK_DEVFN), 0,
		   "msix: no INTx with MSI-X enabled");

	/* The new process interrupts through the restored table. */
	nr_msi = 0;
	virtio_dev_raise(b.devs[0], 0);
	TAP_CHECK(nr_msi == 1 && msi_sent(0, RNG_DEVFN, RNG_Q_ADDR, 0x30),
		  "msix: a queue interrupt goes to the programmed address with its data");
	msix_mask(&blk, 0, false);
	TAP_CHECK(msi_sent(1, BLK_DEVFN, BLK_Q_ADDR, 0x40),
		  "msix: unmasking sends what the old process held pending");
	TAP_EQ_U64(vt_rd(&blk, VIRTIO_PCI_MSIX_PBA_OFF, 4), 0, "msix: no longer pending");
	msix_mask(&rng, 1, false);
	virtio_dev_config_update(b.devs[1], 0, "\0\0\0\0\0\0\0\0", 8);
	TAP_CHECK(!msi_sent(0, BLK_DEVFN, BLK_C_ADDR, 0x41),
		  "msix: blk's configuration change: no vector, no message");
	vector_wr(&blk, -1, 1);
	virtio_dev_config_update(b.devs[1], 0, "\0\0\0\0\0\0\0\0", 8);
	TAP_CHECK(msi_sent(0, BLK_DEVFN, BLK_C_ADDR, 0x41),
		  "msix: with vector 1, its message");
	proc_kill(&b);
}

/*
 * blk's vectors pending and unmasked: the old process died before sending
 * (vector 1, no queue's: only the pending bit can send it), or the guest
 * unmasked vector 0 after the table was saved.
 */
static void sp_unmasked(uint8_t *b, ssize_t *len)
{
	msix_at(b, 1)[PCI_MSIX_ENTRY_VECTOR_CTRL] = 0;
	msix_at(b, 1)[PCI_MSIX_TABLE_SIZE(MSIX_NR)] |= 2;
}

static void test_msix_pending(void)
{
	uint8_t *b = malloc(BLOB_MAX);
	ssize_t len = mblob_len;
	struct vt_dev blk;
	char why[256] = "";
	struct proc p;

	memcpy(b, mblob, mblob_len);
	sp_unmasked(b, &len);
	vstate_seal(b, len);
	proc_start_with(&p, true, true);
	vt_probe(&blk, guest, p.bus, BLK_DEVFN, BLK_BAR);
	TAP_EQ_INT(vstate_check(p.devs, p.n, b, len, GEN, why, sizeof(why)), 0,
		   "msix pending unmasked: the state checks");
	nr_msi = 0;
	vstate_restore(p.devs, p.n, b, len, ifl, ifl_len, NULL, why, sizeof(why));
	TAP_CHECK(msi_sent(0, BLK_DEVFN, BLK_C_ADDR, 0x41),
		  "msix pending unmasked: sent by the restore");
	TAP_CHECK(msi_sent(0, BLK_DEVFN, BLK_Q_ADDR, 0x40),
		  "msix pending unmasked: the queue's too");
	TAP_EQ_U64(vt_rd(&blk, VIRTIO_PCI_MSIX_PBA_OFF, 4), 0,
		   "msix pending unmasked: no longer pending");
	proc_kill(&p);
	free(b);
}

/* A device that had failed: its configuration interrupt is sent again. */
static void test_msix_failed(void)
{
	uint8_t *bl = malloc(BLOB_MAX);
	struct vt_dev d;
	struct proc a, b;
	char why[200];
	ssize_t n;

	proc_start_with(&a, false, true);
	vstate_ifl_init(a.devs, a.n, ifl, ifl_len, GEN, COOKIE);
	vt_probe(&d, guest, a.bus, RNG_DEVFN, RNG_BAR);
	vt_bringup(&d, 0, 1);
	msix_program(&d, 1, RNG_C_ADDR, 0x31, false);
	vector_wr(&d, -1, 1);
	vt_cfgw(&d, msix_cap(&d) + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	nr_msi = 0;
	virtio_dev_fail(a.devs[0], "test");
	TAP_CHECK(msi_sent(0, RNG_DEVFN, RNG_C_ADDR, 0x31),
		  "msix failed: the failure sends the configuration vector");
	n = vstate_save(a.devs, a.n, GEN, COOKIE, bl, BLOB_MAX);
	proc_kill(&a);
	proc_start_with(&b, false, true);
	d.bus = b.bus;
	nr_msi = 0;
	vstate_restore(b.devs, b.n, bl, n, ifl, vstate_ifl_size(b.devs, b.n), NULL,
		       why, sizeof(why));
	TAP_CHECK(vt_status(&d) & VIRTIO_CONFIG_S_NEEDS_RESET, "msix failed: still failed");
	TAP_CHECK(msi_sent(0, RNG_DEVFN, RNG_C_ADDR, 0x31),
		  "msix failed: the configuration vector is sent again (it may have been lost)");
	TAP_EQ_INT(vt_intx(b.vh, RNG_DEVFN), 0, "msix failed: not INTx");
	proc_kill(&b);
	free(bl);
}

static void mrefused(const char *what, const char *needle,
		     void (*spoil)(uint8_t *b, ssize_t *len))
{
	refused_from(mblob, mblob_len, true, what, -EINVAL, needle, spoil, true);
}

static void sp_none(uint8_t *b, ssize_t *len) { }
static void sp_mnr(uint8_t *b, ssize_t *len) { dev_at(b, 0)->msix_nr = 3; }
static void sp_mlen(uint8_t *b, ssize_t *len) { dev_at(b, 1)->msix_len += 8; }
static void sp_mtrunc(uint8_t *b, ssize_t *len)
{
	*len -= 8;
	((struct vstate_hdr *)b)->len = *len;
}

static void sp_mcfg(uint8_t *b, ssize_t *len) { dev_at(b, 0)->msix_config = MSIX_NR; }
static void sp_mq(uint8_t *b, ssize_t *len) { queue_at(b, 2, 1)->msix_vector = 4; }
static void sp_mnov(uint8_t *b, ssize_t *len) { queue_at(b, 2, 1)->msix_vector = 0xffff; }
static void sp_mctrl(uint8_t *b, ssize_t *len)
{
	msix_at(b, 0)[PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] |= 2;
}

static void sp_mpba(uint8_t *b, ssize_t *len)
{
	msix_at(b, 0)[PCI_MSIX_TABLE_SIZE(MSIX_NR)] |= 1 << MSIX_NR;
}

static void test_msix_refused(void)
{
	char why[256] = "";
	struct proc p;
	uint8_t *b = malloc(BLOB_MAX);
	ssize_t len = mblob_len;

	refused_from(mblob, mblob_len, false, "MSI-X state, functions without", -EINVAL,
		     "virtio-rng at 00.0: state has 2 MSI-X vectors, the function has 0",
		     sp_none, false);
	refused_from(blob, blob_len, true, "no MSI-X state, functions with", -EINVAL,
		     "state has 0 MSI-X vectors, the function has 2", sp_none, false);
	mrefused("another MSI-X vector count", "state has 3 MSI-X vectors, the function has 2",
		 sp_mnr);
	mrefused("MSI-X state length", "virtio-blk at 01.0: state has 48 bytes of MSI-X table and pending bits, 2 vectors take 40",
		 sp_mlen);
	mrefused("MSI-X state cut short", "ends inside the queues or MSI-X table of device 2",
		 sp_mtrunc);
	mrefused("msix_config past the table",
		 "msix_config 2 is neither one of its 2 MSI-X vectors nor NO_VECTOR", sp_mcfg);
	mrefused("queue vector past the table",
		 "virtio-vsock at 02.0: queue 1: MSI-X vector 4 is neither one of its 4 nor NO_VECTOR",
		 sp_mq);
	mrefused("Vector Control reserved bits", "MSI-X vector 1 has reserved bits", sp_mctrl);
	mrefused("pending bit past the table", "MSI-X pending bit 2 is past the last vector",
		 sp_mpba);

	/* NO_VECTOR is a vector register's other valid value. */
	memcpy(b, mblob, mblob_len);
	sp_mnov(b, &len);
	vstate_seal(b, len);
	proc_start_with(&p, true, true);
	TAP_EQ_INT(vstate_check(p.devs, p.n, b, len, GEN, why, sizeof(why)), 0,
		   "msix: a queue with NO_VECTOR checks");
	proc_kill(&p);
	free(b);
}

int main(void)
{
	snprintf(img, sizeof(img), "/tmp/vbridge-resume-test-%d.img", (int)getpid());
	snprintf(uds, sizeof(uds), "/tmp/vbridge-resume-test-%d.sock", (int)getpid());
	guest = vt_host_new();
	blob = malloc(BLOB_MAX);
	test_round_trip();
	test_refused();
	test_ifl_bad();
	test_states();
	test_all_ones();
	test_msix();
	test_msix_pending();
	test_msix_failed();
	test_msix_refused();
	free(mblob);
	free(blob);
	free(ifl);
	vt_host_free(guest);
	unlink(img);
	unlink(uds);
	return tap_done();
}
