// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/vhost/vhost_dev.c, a virtio-pci device whose queues a
 * vhost-user back-end serves, driven through the transport as a guest's
 * driver would (vtest.h, guest RAM in a memfd), against Debian's real
 * back-ends:
 *
 *  - qemu-storage-daemon exporting an image as vhost-user-blk with two
 *    queues: the device's identity, features and configuration come from
 *    the back-end; a read on queue 0 returns the image's data and raises
 *    the interrupt; a write on queue 1 reaches the image file; the kicks
 *    go to the back-end through the doorbells' eventfds; a reset and a
 *    second bring-up work on the same connection; the back-end killed
 *    under a running device fails it (DEVICE_NEEDS_RESET) without a hang,
 *    at once: QEMU 7.2's export keeps no inflight region;
 *  - vub.h's back-end, which keeps one (INFLIGHT_SHMFD): killed under the
 *    running device, which does not fail; a read posted meanwhile, and a
 *    read the back-end held when it was killed, complete once a new
 *    back-end is on the socket; no back-end within reconnect=, or
 *    reconnect=0, or no region: the device fails as above;
 *  - virtiofsd sharing a directory: the tag and request queue count in
 *    the configuration, then FUSE_INIT, LOOKUP, OPEN and READ of a file
 *    through the request queue;
 *  - no back-end at the socket: a clear failure and nothing left open.
 *
 * A missing back-end binary is a SKIP with the package to install.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/fuse.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_ids.h>

#include "lib/log.h"
#include "qsd.h"
#include "tap.h"
#include "vhost/vhost_dev.h"
#include "virtio/virtio_pci.h"
#include "vtest.h"
#include "vub.h"

#define DEVFN		PCI_DEVFN(2, 0)
#define BAR		0xc0000000ull
#define BASE_FEATURES	((1ull << VIRTIO_F_VERSION_1) |			\
			 (1ull << VIRTIO_RING_F_INDIRECT_DESC) |	\
			 (1ull << VIRTIO_RING_F_EVENT_IDX))

struct rig {
	struct vt_host *vh;
	struct pci_bus *bus;
	struct virtio_dev *vd;
	struct vt_dev d;
};

static int rig_up(struct rig *r, const struct vhost_dev_spec *spec)
{
	memset(r, 0, sizeof(*r));
	r->vh = vt_host_new_shared();
	if (!r->vh)
		return -1;
	r->bus = pci_bus_new(&r->vh->host);
	r->vd = vhost_dev_new(spec);
	if (!r->vd)
		return -1;
	if (pci_bus_add(r->bus, DEVFN, &r->vd->func)) {
		pci_func_free(&r->vd->func);
		r->vd = NULL;
		return -1;
	}
	if (virtio_dev_start(r->vd))
		return -1;
	return vt_probe(&r->d, r->vh, r->bus, DEVFN, BAR);
}

static void rig_down(struct rig *r)
{
	if (r->bus)
		pci_bus_free(r->bus);
	if (r->vh)
		vt_host_free(r->vh);
	memset(r, 0, sizeof(*r));
}

static uint16_t num_queues(struct vt_dev *d)
{
	return vt_rd(d, d->common + VIRTIO_PCI_COMMON_NUMQ, 2);
}

/* Post one virtio-blk request on queue qi and kick; its status byte's gpa. */
static uint64_t blk_post(struct rig *r, unsigned int qi, uint32_t type,
			 uint64_t sector, uint64_t data)
{
	struct virtio_blk_outhdr *hdr;
	uint64_t h = vt_alloc(r->vh, sizeof(*hdr), 16);
	uint64_t st = vt_alloc(r->vh, 1, 1);
	struct vt_seg seg[3] = {
		{ h, sizeof(*hdr), false },
		{ data, 512, type == VIRTIO_BLK_T_IN },
		{ st, 1, true },
	};

	hdr = vt_ptr(r->vh, h);
	hdr->type = htole32(type);
	hdr->sector = htole64(sector);
	*(uint8_t *)vt_ptr(r->vh, st) = 0xff;
	vt_add(&r->d, qi, seg, 3);
	vt_kick(&r->d, qi);
	return st;
}

/* One virtio-blk request on queue qi: 0 and *status, or -1 (no completion). */
static int blk_rw(struct rig *r, unsigned int qi, uint32_t type,
		  uint64_t sector, uint64_t data, uint8_t *status)
{
	uint64_t st = blk_post(r, qi, type, sector, data);
	uint32_t id, len;

	if (vt_wait_used(&r->d, qi, &id, &len) != 1)
		return -1;
	*status = *(uint8_t *)vt_ptr(r->vh, st);
	return 0;
}

static bool sector_is_image(struct rig *r, uint64_t data, uint64_t sector)
{
	const uint8_t *p = vt_ptr(r->vh, data);
	unsigned int i;

	for (i = 0; i < 512; i++)
		if (p[i] != qsd_img_byte(sector * 512 + i))
			return false;
	return true;
}

static void test_no_backend(void)
{
	struct vhost_dev_spec spec = {
		.type = VHOST_DEV_BLOCK, .socket = "/nonexistent/vhost.sock",
	};
	int fds0 = tap_dir_entries("/proc/self/fd");

	TAP_CHECK(vhost_dev_new(&spec) == NULL,
		  "no back-end: the device is not made (message above)");
	TAP_EQ_INT(tap_dir_entries("/proc/self/fd"), fds0, "no back-end: no fd left open");
}

static void test_block(void)
{
	/* Reconnection asked for, but the back-end has no inflight region. */
	struct vhost_dev_spec spec = {
		.type = VHOST_DEV_BLOCK, .num_queues = 1, .reconnect = 10,
	};
	int fds0 = tap_dir_entries("/proc/self/fd");
	struct virtio_blk_config cfg;
	const char *why = NULL;
	uint64_t f, data;
	uint8_t status = 0xff, pattern[512], got[512];
	struct qsd q;
	struct rig r;
	unsigned int i;
	int64_t t0;
	int fd;

	if (access(QSD, X_OK)) {
		VT_SKIP("vhost-user-blk: %s is not installed (package qemu-system-common)", QSD);
		return;
	}
	if (qsd_start(&q, 2, &why)) {
		TAP_CHECK(0, why);
		qsd_print_log(&q);
		qsd_stop(&q);
		return;
	}
	spec.socket = q.sock;

	/* num_queues=1 against a back-end that serves 2. */
	if (TAP_CHECK(rig_up(&r, &spec) == 0, "blk: device made with num_queues=1"))
		TAP_EQ_INT(num_queues(&r.d), 1, "blk: num_queues=1 gives one queue");
	rig_down(&r);

	/* A new connection to the same back-end, every queue it has. */
	spec.num_queues = 0;
	if (!TAP_CHECK(rig_up(&r, &spec) == 0, "blk: device made again (the back-end took a new connection)"))
		goto out;
	TAP_EQ_INT(vt_cfg(&r.d, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_BLOCK,
		   "blk: PCI device id 0x1042");
	TAP_EQ_INT(num_queues(&r.d), 2, "blk: the back-end's two queues");
	f = vt_device_features(&r.d);
	printf("#   device features 0x%llx\n", (unsigned long long)f);
	TAP_CHECK(f & (1ull << VIRTIO_F_VERSION_1), "blk: offers VERSION_1");
	TAP_CHECK(f & (1ull << VIRTIO_BLK_F_MQ), "blk: offers MQ (the back-end's)");
	TAP_CHECK(!(f & (1ull << 30)), "blk: vhost-user's PROTOCOL_FEATURES bit is not offered to the guest");
	TAP_CHECK(!(f & (1ull << VIRTIO_F_RING_PACKED)), "blk: no packed ring (the transport sets up split rings)");
	for (i = 0; i < sizeof(cfg); i += 4) {
		uint32_t w = vt_rd(&r.d, r.d.device + i, 4);

		memcpy((uint8_t *)&cfg + i, &w, sizeof(cfg) - i < 4 ? sizeof(cfg) - i : 4);
	}
	TAP_EQ_U64(le64toh(cfg.capacity), QSD_IMG_SIZE / 512,
		   "blk: capacity is the image's, from the back-end's configuration");
	TAP_EQ_INT(le16toh(cfg.num_queues), 2, "blk: configuration num_queues 2");
	printf("#   configuration: %u bytes\n", r.d.device_len);
	TAP_CHECK(r.d.device_len >= offsetof(struct virtio_blk_config, max_secure_erase_sectors),
		  "blk: the configuration has the discard and write-zeroes fields the back-end offers");

	if (!TAP_CHECK(vt_bringup(&r.d, f & (1ull << VIRTIO_BLK_F_MQ), 2) == 0 &&
		       (vt_status(&r.d) & VIRTIO_CONFIG_S_DRIVER_OK) &&
		       !(vt_status(&r.d) & VIRTIO_CONFIG_S_NEEDS_RESET),
		       "blk: driver up with two queues"))
		goto out_rig;
	TAP_EQ_INT(r.vh->nr_db, 2, "blk: a doorbell per queue");
	TAP_CHECK(r.vh->nr_db == 2 &&
		  r.vh->db[0].efd == virtio_dev_kick_fd(r.vd, 0) &&
		  r.vh->db[1].efd == virtio_dev_kick_fd(r.vd, 1),
		  "blk: the doorbells write the kick eventfds the back-end reads");
	/* libvhost-user signals each call eventfd once when given it. */
	vt_msleep(50);
	vt_rd(&r.d, r.d.isr, 1);

	data = vt_alloc(r.vh, 512, 512);
	TAP_EQ_INT(blk_rw(&r, 0, VIRTIO_BLK_T_IN, 5, data, &status), 0,
		   "blk: a read on queue 0 completes");
	TAP_EQ_INT(status, VIRTIO_BLK_S_OK, "blk: read status OK");
	TAP_CHECK(sector_is_image(&r, data, 5), "blk: the data read is the image's sector 5");
	for (i = 0; i < 100 && !vt_intx(r.vh, DEVFN); i++)
		vt_msleep(10);
	TAP_EQ_INT(vt_intx(r.vh, DEVFN), 1, "blk: the back-end's call raised INTx");
	TAP_EQ_INT(vt_rd(&r.d, r.d.isr, 1) & 1, 1, "blk: ISR says queue");

	data = vt_alloc(r.vh, 512, 512);
	memset(pattern, 0x5a, sizeof(pattern));
	memcpy(vt_ptr(r.vh, data), pattern, sizeof(pattern));
	TAP_EQ_INT(blk_rw(&r, 1, VIRTIO_BLK_T_OUT, 9, data, &status), 0,
		   "blk: a write on queue 1 completes");
	TAP_EQ_INT(status, VIRTIO_BLK_S_OK, "blk: write status OK");
	fd = open(q.img, O_RDONLY | O_CLOEXEC);
	TAP_CHECK(fd >= 0 && pread(fd, got, sizeof(got), 9 * 512) == sizeof(got) &&
		  !memcmp(got, pattern, sizeof(got)),
		  "blk: the write reached the image file");
	if (fd >= 0)
		close(fd);

	/* Reset: the rings stop; a second bring-up hands new ones over. */
	vt_set_status(&r.d, 0);
	TAP_EQ_INT(vt_status(&r.d), 0, "blk: reset completes");
	if (TAP_CHECK(vt_bringup(&r.d, 0, 1) == 0 &&
		      !(vt_status(&r.d) & VIRTIO_CONFIG_S_NEEDS_RESET),
		      "blk: driver up again after the reset, one queue")) {
		data = vt_alloc(r.vh, 512, 512);
		TAP_CHECK(blk_rw(&r, 0, VIRTIO_BLK_T_IN, 7, data, &status) == 0 &&
			  status == VIRTIO_BLK_S_OK && sector_is_image(&r, data, 7),
			  "blk: a read after the reset returns the image's sector 7");
	}

	/*
	 * The back-end dies under the running device.  QEMU 7.2's export
	 * keeps no inflight region: no reconnection, reconnect= or not.
	 */
	vt_rd(&r.d, r.d.isr, 1);
	t0 = qsd_ms();
	qsd_kill(&q);
	TAP_CHECK(vt_wait_for(vt_needs_reset_cond, &r.d),
		  "blk: the back-end killed: the device says DEVICE_NEEDS_RESET");
	TAP_CHECK(qsd_ms() - t0 < 2000,
		  "blk: ... at once: no reconnection without INFLIGHT_SHMFD");
	/*
	 * The status is set first, the interrupt raised after: wait for it
	 * (past a late one of the read before).
	 */
	TAP_EQ_INT(vt_wait_isr(&r.d, 2) & 2, 2, "blk: ... with a configuration interrupt");
	vt_set_status(&r.d, 0);
	TAP_EQ_INT(vt_status(&r.d), 0, "blk: a reset after the back-end died completes");
	TAP_CHECK((vt_negotiate(&r.d, BASE_FEATURES) & VIRTIO_CONFIG_S_FEATURES_OK) &&
		  vt_queue_setup(&r.d, 0, 0) == 0,
		  "blk: features and a queue set up again");
	vt_driver_ok(&r.d);
	TAP_CHECK(vt_status(&r.d) & VIRTIO_CONFIG_S_NEEDS_RESET,
		  "blk: starting it again fails: the back-end is gone");

	/*
	 * The daemon started again on the same socket: the driver's next
	 * start connects to it anew (nothing of the lost connection was in
	 * force after the reset), and the disk works again.
	 */
	vt_set_status(&r.d, 0);
	if (!TAP_CHECK(qsd_restart(&q, 2, &why) == 0, "blk: qemu-storage-daemon started again on the same socket")) {
		printf("#   %s\n", why);
		goto out_rig;
	}
	vt_rd(&r.d, r.d.isr, 1);
	if (TAP_CHECK(vt_bringup(&r.d, 0, 1) == 0 &&
		      (vt_status(&r.d) & VIRTIO_CONFIG_S_DRIVER_OK) &&
		      !(vt_status(&r.d) & VIRTIO_CONFIG_S_NEEDS_RESET),
		      "blk: after a reset, the next start connects to the restarted back-end")) {
		data = vt_alloc(r.vh, 512, 512);
		TAP_CHECK(blk_rw(&r, 0, VIRTIO_BLK_T_IN, 11, data, &status) == 0 &&
			  status == VIRTIO_BLK_S_OK && sector_is_image(&r, data, 11),
			  "blk: ... and a read through it returns the image's sector 11");
	}
out_rig:
	rig_down(&r);
out:
	qsd_stop(&q);
	TAP_EQ_INT(tap_dir_entries("/proc/self/fd"), fds0, "blk: no fd left open");
}

/* --- calls straight to the guest: MSI-X messages as eventfds --------------- */

#define MSG_ADDR	0xfee00000ull
#define MAX_MSG_FDS	8

/* A host that sends MSIs and binds them to eventfds, as the VMM's does. */
static struct {
	int sent;			/* send_msi calls */
	uint32_t sent_data;
	int gets, puts;
	struct { uint32_t data; int fd; int users; } fds[MAX_MSG_FDS];
} mh;

static void msg_send(struct pci_host *h, struct pci_func *f, uint64_t addr,
		     uint32_t data)
{
	__atomic_store_n(&mh.sent_data, data, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&mh.sent, 1, __ATOMIC_SEQ_CST);
}

static int msg_fd_get(struct pci_host *h, struct pci_func *f, uint64_t addr,
		      uint32_t data)
{
	int i, free_slot = -1;

	if (addr != MSG_ADDR)
		return -EINVAL;
	mh.gets++;
	for (i = 0; i < MAX_MSG_FDS; i++) {
		if (mh.fds[i].users && mh.fds[i].data == data) {
			mh.fds[i].users++;
			return mh.fds[i].fd;
		}
		if (!mh.fds[i].users && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return -ENOSPC;
	mh.fds[free_slot].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	mh.fds[free_slot].data = data;
	mh.fds[free_slot].users = 1;
	return mh.fds[free_slot].fd;
}

static void msg_fd_put(struct pci_host *h, struct pci_func *f, uint64_t addr,
		       uint32_t data)
{
	int i;

	mh.puts++;
	for (i = 0; i < MAX_MSG_FDS; i++)
		if (mh.fds[i].users && mh.fds[i].data == data &&
		    !--mh.fds[i].users)
			close(mh.fds[i].fd);
}

/* Signals on the eventfd of message data since the last look; -1 none bound. */
static int msg_signals(uint32_t data)
{
	uint64_t v;
	int i;

	for (i = 0; i < MAX_MSG_FDS; i++)
		if (mh.fds[i].users && mh.fds[i].data == data)
			return read(mh.fds[i].fd, &v, sizeof(v)) == sizeof(v) ?
			       (int)v : 0;
	return -1;
}

static const struct pci_host_ops msg_host_ops = {
	.set_intx = vt_set_intx,
	.add_doorbell = vt_add_db,
	.del_doorbell = vt_del_db,
	.send_msi = msg_send,
	.msi_fd_get = msg_fd_get,
	.msi_fd_put = msg_fd_put,
};

static void entry_wr(struct rig *r, unsigned int v, unsigned int field,
		     uint32_t val)
{
	vt_wr(&r->d, VIRTIO_PCI_MSIX_TABLE_OFF + 16 * v + field, 4, val);
}

static void queue_vector(struct rig *r, unsigned int q, uint16_t v)
{
	vt_wr(&r->d, r->d.common + VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	vt_wr(&r->d, r->d.common + VIRTIO_PCI_COMMON_Q_MSIX, 2, v);
}

/*
 * One read of sector on queue 0 that completes with the image's data.
 * used_event (EVENT_IDX) asks for a call at its completion.
 */
static bool read_ok(struct rig *r, uint64_t sector)
{
	const struct vt_queue *vq = &r->d.q[0];
	uint64_t data = vt_alloc(r->vh, 512, 512);
	uint16_t *used_event = vt_ptr(r->vh, vq->avail + 4 + 2ull * vq->size);
	const uint16_t *used_idx = vt_ptr(r->vh, vq->used + 2);
	uint8_t status = 0xff;

	__atomic_store_n(used_event, __atomic_load_n(used_idx, __ATOMIC_ACQUIRE),
			 __ATOMIC_RELEASE);

	return blk_rw(r, 0, VIRTIO_BLK_T_IN, sector, data, &status) == 0 &&
	       status == VIRTIO_BLK_S_OK && sector_is_image(r, data, sector);
}

/* Wait up to 1 s for a signal on message data's eventfd. */
static int msg_wait(uint32_t data)
{
	int i, n = 0;

	for (i = 0; i < 100 && n <= 0; i++) {
		n = msg_signals(data);
		if (n <= 0)
			vt_msleep(10);
	}
	return n;
}

static void test_direct_calls(void)
{
	struct vhost_dev_spec spec = { .type = VHOST_DEV_BLOCK, .num_queues = 1 };
	int fds0 = tap_dir_entries("/proc/self/fd");
	const char *why = NULL;
	unsigned int mcap = 0, cap, i;
	uint64_t relayed, pba = 0;
	struct qsd q;
	struct rig r;
	int sent;

	if (access(QSD, X_OK)) {
		VT_SKIP("direct calls: %s is not installed (package qemu-system-common)", QSD);
		return;
	}
	if (qsd_start(&q, 1, &why)) {
		TAP_CHECK(0, why);
		qsd_print_log(&q);
		qsd_stop(&q);
		return;
	}
	spec.socket = q.sock;
	memset(&r, 0, sizeof(r));
	r.vh = vt_host_new_shared();
	if (!TAP_CHECK(r.vh, "direct calls: guest RAM in a memfd"))
		goto out;
	r.vh->host.ops = &msg_host_ops;
	r.bus = pci_bus_new(&r.vh->host);
	r.vd = vhost_dev_new(&spec);
	if (!TAP_CHECK(r.vd && virtio_dev_add_msix(r.vd) == 0 &&
		       pci_bus_add(r.bus, DEVFN, &r.vd->func) == 0 &&
		       virtio_dev_start(r.vd) == 0 &&
		       vt_probe(&r.d, r.vh, r.bus, DEVFN, BAR) == 0,
		       "direct calls: device with MSI-X on a host that binds messages to eventfds"))
		goto out_rig;
	for (cap = vt_cfg(&r.d, PCI_CAPABILITY_LIST, 1); cap;
	     cap = vt_cfg(&r.d, cap + 1, 1))
		if (vt_cfg(&r.d, cap, 1) == PCI_CAP_ID_MSIX)
			mcap = cap;
	for (i = 0; i < 2; i++) {
		entry_wr(&r, i, PCI_MSIX_ENTRY_LOWER_ADDR, MSG_ADDR);
		entry_wr(&r, i, PCI_MSIX_ENTRY_DATA, 0x40 + i);
		entry_wr(&r, i, PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	}
	vt_cfgw(&r.d, mcap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	if (!TAP_CHECK(vt_bringup(&r.d, 0, 1) == 0 &&
		       !(vt_status(&r.d) & VIRTIO_CONFIG_S_NEEDS_RESET),
		       "direct calls: driver up, MSI-X on, the queue without a vector"))
		goto out_rig;
	TAP_EQ_INT(mh.gets, 0, "direct calls: no vector, no message's eventfd asked for");

	/* The driver gives queue 0 vector 0 (data 0x40): calls go direct. */
	queue_vector(&r, 0, 0);
	TAP_EQ_INT(mh.gets, 1, "direct calls: the queue's vector set: its message's eventfd taken");
	vt_msleep(50);		/* libvhost-user signals a new call fd once */
	msg_signals(0x40);
	relayed = vhost_dev_relayed(r.vd);
	sent = mh.sent;
	TAP_CHECK(read_ok(&r, 3), "direct calls: a read completes");
	TAP_CHECK(msg_wait(0x40) > 0, "direct calls: the back-end signalled the message's eventfd itself");
	TAP_EQ_U64(vhost_dev_relayed(r.vd), relayed, "direct calls: no call went through the device's I/O thread");
	TAP_EQ_INT(mh.sent, sent, "direct calls: nor through send_msi");

	/* Masked: back to our eventfd; the call is held in the PBA. */
	entry_wr(&r, 0, PCI_MSIX_ENTRY_VECTOR_CTRL, PCI_MSIX_ENTRY_CTRL_MASKBIT);
	TAP_EQ_INT(mh.puts, 1, "direct calls: masking the vector gives the eventfd back");
	TAP_CHECK(read_ok(&r, 4), "direct calls: a read with the vector masked completes");
	for (i = 0; i < 100 && !(pba & 1); i++) {
		pba = vt_rd(&r.d, VIRTIO_PCI_MSIX_PBA_OFF, 8);
		if (!(pba & 1))
			vt_msleep(10);
	}
	TAP_EQ_U64(pba & 1, 1, "direct calls: masked: the call is pending in the PBA");
	TAP_CHECK(vhost_dev_relayed(r.vd) > relayed, "direct calls: masked: the call came through the I/O thread");
	TAP_EQ_INT(mh.sent, sent, "direct calls: masked: nothing sent");

	/* Unmasked: the pending message goes, then calls are direct again. */
	entry_wr(&r, 0, PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	TAP_CHECK(mh.sent == sent + 1 && mh.sent_data == 0x40,
		  "direct calls: unmasking sends the pending message");
	TAP_EQ_INT(mh.gets, 2, "direct calls: and takes the eventfd again");
	vt_msleep(50);
	msg_signals(0x40);
	relayed = vhost_dev_relayed(r.vd);
	TAP_CHECK(read_ok(&r, 5) && msg_wait(0x40) > 0 &&
		  vhost_dev_relayed(r.vd) == relayed,
		  "direct calls: unmasked: the next read's call is direct again");

	/* The driver moves the queue to vector 1: the new message's eventfd. */
	queue_vector(&r, 0, 1);
	TAP_CHECK(mh.gets == 3 && mh.puts == 2, "direct calls: a new vector: its eventfd taken, the old one given back");
	vt_msleep(50);
	msg_signals(0x41);
	TAP_CHECK(read_ok(&r, 6) && msg_wait(0x41) > 0, "direct calls: the call is vector 1's message");

	/* MSI-X off: INTx, through the I/O thread. */
	vt_cfgw(&r.d, mcap + PCI_MSIX_FLAGS, 2, 0);
	TAP_EQ_INT(mh.puts, 3, "direct calls: MSI-X disabled gives the eventfd back");
	relayed = vhost_dev_relayed(r.vd);
	TAP_CHECK(read_ok(&r, 7), "direct calls: a read under INTx completes");
	for (i = 0; i < 100 && !vt_intx(r.vh, DEVFN); i++)
		vt_msleep(10);
	TAP_CHECK(vt_intx(r.vh, DEVFN) && vhost_dev_relayed(r.vd) > relayed,
		  "direct calls: INTx raised by the I/O thread");

	/* Enabled again, then the driver resets the device: all given back. */
	vt_cfgw(&r.d, mcap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	TAP_EQ_INT(mh.gets, 4, "direct calls: MSI-X on again: the eventfd taken again");
	vt_set_status(&r.d, 0);
	TAP_EQ_INT(mh.gets, mh.puts, "direct calls: a reset gives every eventfd back");
out_rig:
	rig_down(&r);
out:
	qsd_stop(&q);
	TAP_EQ_INT(tap_dir_entries("/proc/self/fd"), fds0, "direct calls: no fd left open");
}

/* --- reconnection, against vub.h's back-end --------------------------------- */

static int vub_spawn(struct qsd *q, const char *mode, const char **why)
{
	char *argv[] = {
		"/proc/self/exe", "--vub", q->sock, q->img, (char *)mode, NULL,
	};

	return qsd_spawn(q, argv, why);
}

/* Whether the back-end's log has s, waiting up to ms for it. */
static bool vub_said(const struct qsd *q, const char *s, int ms)
{
	int64_t deadline = qsd_ms() + ms;
	char buf[4096];

	do {
		int fd = open(q->log, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = 0;
			if (strstr(buf, s))
				return true;
		}
		vt_msleep(10);
	} while (qsd_ms() < deadline);
	return false;
}

/* The device's rig on a vub back-end in mode, driver up with one queue. */
static int vub_rig(struct rig *r, struct qsd *q, const char *mode,
		   unsigned int reconnect, const char *tag)
{
	struct vhost_dev_spec spec = {
		.type = VHOST_DEV_BLOCK, .reconnect = reconnect,
	};
	const char *why = "";
	char msg[160];

	memset(r, 0, sizeof(*r));
	if (qsd_image(q, &why) || vub_spawn(q, mode, &why)) {
		snprintf(msg, sizeof(msg), "%s: test back-end: %s", tag, why);
		TAP_CHECK(0, msg);
		qsd_print_log(q);
		return -1;
	}
	spec.socket = q->sock;
	snprintf(msg, sizeof(msg), "%s: device made", tag);
	if (!TAP_CHECK(rig_up(r, &spec) == 0, msg))
		return -1;
	snprintf(msg, sizeof(msg), "%s: driver up", tag);
	return TAP_CHECK(vt_bringup(&r->d, 0, 1) == 0 &&
			 !(vt_status(&r->d) & VIRTIO_CONFIG_S_NEEDS_RESET), msg) ? 0 : -1;
}

/*
 * A read on queue 0 that completes: right data, status OK, a queue
 * interrupt and no configuration one.
 */
static void check_read(struct rig *r, uint64_t st, uint64_t data,
		       uint64_t sector, const char *what)
{
	char msg[200];
	uint32_t id, len;
	uint8_t isr;

	snprintf(msg, sizeof(msg), "%s completes", what);
	if (!TAP_CHECK(vt_wait_used(&r->d, 0, &id, &len) == 1, msg))
		return;
	snprintf(msg, sizeof(msg), "%s: status OK and the image's sector %llu",
		 what, (unsigned long long)sector);
	TAP_CHECK(*(uint8_t *)vt_ptr(r->vh, st) == VIRTIO_BLK_S_OK &&
		  sector_is_image(r, data, sector), msg);
	vt_wait_for(vt_intx_cond, &r->d);
	isr = vt_rd(&r->d, r->d.isr, 1);
	snprintf(msg, sizeof(msg), "%s: a queue interrupt, no configuration interrupt", what);
	TAP_EQ_INT(isr, 1, msg);
}

/* A read of sector on queue 0 that gives the image's data; its interrupt taken. */
static void read_sector(struct rig *r, uint64_t sector, const char *what)
{
	uint64_t data = vt_alloc(r->vh, 512, 512);
	uint8_t status = 0xff;

	TAP_CHECK(blk_rw(r, 0, VIRTIO_BLK_T_IN, sector, data, &status) == 0 &&
		  status == VIRTIO_BLK_S_OK && sector_is_image(r, data, sector), what);
	vt_wait_for(vt_intx_cond, &r->d);
	vt_rd(&r->d, r->d.isr, 1);
}

static void test_reconnect(void)
{
	int fds0 = tap_dir_entries("/proc/self/fd");
	const char *why = "";
	uint64_t data, st, data2, st2, kicks;
	struct pollfd pfd;
	struct qsd q;
	struct rig r;
	int64_t t0;

	if (vub_rig(&r, &q, "inflight", 3, "reconnect"))
		goto out_rig;
	TAP_CHECK(vub_said(&q, "inflight region set", 2000),
		  "reconnect: INFLIGHT_SHMFD negotiated, the region handed over at DRIVER_OK");
	read_sector(&r, 3, "reconnect: a read before the kill");

	/*
	 * (b) killed; two reads posted while it is gone, whose kicks (we
	 * pretend) the dying back-end had read: only the device's kick
	 * makes the new one look; a new one comes.
	 */
	qsd_kill(&q);
	data = vt_alloc(r.vh, 512, 512);
	st = blk_post(&r, 0, VIRTIO_BLK_T_IN, 11, data);
	data2 = vt_alloc(r.vh, 512, 512);
	st2 = blk_post(&r, 0, VIRTIO_BLK_T_IN, 12, data2);
	pfd = (struct pollfd){ .fd = virtio_dev_kick_fd(r.vd, 0), .events = POLLIN };
	TAP_CHECK(poll(&pfd, 1, 1000) == 1 && read(pfd.fd, &kicks, sizeof(kicks)) == sizeof(kicks),
		  "reconnect: the kicks taken off the eventfd");
	vt_msleep(300);
	/*
	 * A queue interrupt may still come for the read before the kill (the
	 * back-end's call at start-up and the read's can be taken apart).
	 */
	TAP_CHECK(!(vt_status(&r.d) & VIRTIO_CONFIG_S_NEEDS_RESET) &&
		  !(vt_rd(&r.d, r.d.isr, 1) & 2),
		  "reconnect: the back-end killed: no DEVICE_NEEDS_RESET, no configuration interrupt");
	TAP_EQ_INT(vt_used_pending(&r.d, 0), 0, "reconnect: the read posted meanwhile waits");
	if (!TAP_CHECK(vub_spawn(&q, "inflight", &why) == 0, "reconnect: a new back-end on the socket"))
		goto out_rig;
	check_read(&r, st, data, 11, "reconnect: the first read posted while the back-end was gone");
	TAP_CHECK(vt_wait_used(&r.d, 0, NULL, NULL) == 1 &&
		  *(uint8_t *)vt_ptr(r.vh, st2) == VIRTIO_BLK_S_OK &&
		  sector_is_image(&r, data2, 12),
		  "reconnect: ... and the second, the image's sector 12");
	TAP_CHECK(vub_said(&q, "inflight region set", 2000),
		  "reconnect: the new back-end got the inflight region");
	TAP_CHECK(!(vt_status(&r.d) & VIRTIO_CONFIG_S_NEEDS_RESET),
		  "reconnect: the device never failed");

	/* (c) a request in flight in the back-end when it is killed. */
	qsd_kill(&q);
	if (!TAP_CHECK(vub_spawn(&q, "hold", &why) == 0 &&
		       vub_said(&q, "inflight region set", 3000),
		       "inflight: a back-end that holds requests took over"))
		goto out_rig;
	data = vt_alloc(r.vh, 512, 512);
	st = blk_post(&r, 0, VIRTIO_BLK_T_IN, 17, data);
	TAP_CHECK(vub_said(&q, "held", 3000), "inflight: it took the read and holds it");
	qsd_kill(&q);
	if (!TAP_CHECK(vub_spawn(&q, "inflight", &why) == 0, "inflight: killed, a new back-end"))
		goto out_rig;
	check_read(&r, st, data, 17, "inflight: the read in flight at the kill");
	TAP_CHECK(vub_said(&q, "resubmitting 1", 1000),
		  "inflight: ... finished by the new back-end from the region");
	TAP_CHECK(!vub_said(&q, "inflight region made", 0),
		  "inflight: the new back-end was given the kept region, not asked for one");

	/* A driver's reset: a fresh region for the next DRIVER_OK. */
	vt_set_status(&r.d, 0);
	TAP_CHECK(vt_status(&r.d) == 0 && vt_bringup(&r.d, 0, 1) == 0 &&
		  !(vt_status(&r.d) & VIRTIO_CONFIG_S_NEEDS_RESET),
		  "reconnect: reset and up again");
	TAP_CHECK(vub_said(&q, "inflight region made", 1000),
		  "reconnect: a fresh region after the driver's reset");
	read_sector(&r, 21, "reconnect: a read after the reset");

	/* (d) it does not come back within reconnect=3. */
	t0 = qsd_ms();
	qsd_kill(&q);
	TAP_CHECK(vt_wait_for(vt_needs_reset_cond, &r.d),
		  "reconnect: no back-end within reconnect=3: DEVICE_NEEDS_RESET");
	t0 = qsd_ms() - t0;
	printf("#   failed after %lld ms\n", (long long)t0);
	TAP_CHECK(t0 >= 2900 && t0 < 6000, "reconnect: ... after the 3 s");
	TAP_EQ_INT(vt_wait_isr(&r.d, 2) & 2, 2, "reconnect: ... with a configuration interrupt");
out_rig:
	rig_down(&r);
	qsd_stop(&q);
	TAP_EQ_INT(tap_dir_entries("/proc/self/fd"), fds0, "reconnect: no fd left open");
}

/* reconnect=0, and a back-end without the region: the device fails at once. */
static void test_no_reconnect(void)
{
	static const struct {
		const char *mode, *tag;
		unsigned int reconnect;
	} cases[] = {
		{ "inflight", "reconnect=0", 0 },
		{ "plain", "no INFLIGHT_SHMFD", 10 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fds0 = tap_dir_entries("/proc/self/fd");
		char msg[160];
		struct qsd q;
		struct rig r;
		int64_t t0;

		if (vub_rig(&r, &q, cases[i].mode, cases[i].reconnect, cases[i].tag))
			goto out;
		t0 = qsd_ms();
		qsd_kill(&q);
		snprintf(msg, sizeof(msg), "%s: the back-end killed: DEVICE_NEEDS_RESET at once",
			 cases[i].tag);
		TAP_CHECK(vt_wait_for(vt_needs_reset_cond, &r.d) && qsd_ms() - t0 < 2000, msg);
		snprintf(msg, sizeof(msg), "%s: the region was %snegotiated", cases[i].tag,
			 cases[i].reconnect ? "not " : "");
		TAP_CHECK(vub_said(&q, "inflight region set", 0) == !cases[i].reconnect, msg);
out:
		rig_down(&r);
		qsd_stop(&q);
		snprintf(msg, sizeof(msg), "%s: no fd left open", cases[i].tag);
		TAP_EQ_INT(tap_dir_entries("/proc/self/fd"), fds0, msg);
	}
}

/*
 * One FUSE request on queue 1 of the virtio-fs device: in (header + arg),
 * then a writable reply buffer.  The reply's error (0 or -errno), or 1
 * when no reply came.
 */
static int fuse_req(struct rig *r, uint32_t opcode, uint64_t nodeid,
		    const void *arg, uint32_t arg_len, uint64_t out,
		    uint32_t out_len)
{
	static uint64_t unique = 1;
	struct fuse_in_header *ih;
	struct fuse_out_header *oh;
	uint64_t in = vt_alloc(r->vh, sizeof(*ih) + arg_len, 8);
	struct vt_seg seg[2] = {
		{ in, sizeof(*ih) + arg_len, false },
		{ out, out_len, true },
	};
	uint32_t id, len;

	ih = vt_ptr(r->vh, in);
	*ih = (struct fuse_in_header){
		.len = sizeof(*ih) + arg_len, .opcode = opcode,
		.unique = unique++, .nodeid = nodeid,
	};
	memcpy(ih + 1, arg, arg_len);
	memset(vt_ptr(r->vh, out), 0, out_len);
	vt_add(&r->d, 1, seg, 2);
	vt_kick(&r->d, 1);
	if (vt_wait_used(&r->d, 1, &id, &len) != 1)
		return 1;
	oh = vt_ptr(r->vh, out);
	return oh->error;
}

static void test_fs(void)
{
	static const char content[] = "virtio-fs through a vhost-user back-end\n";
	struct vhost_dev_spec spec = { .type = VHOST_DEV_FS, .tag = "share" };
	int fds0 = tap_dir_entries("/proc/self/fd");
	struct fuse_init_in init = {
		.major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION,
	};
	struct fuse_open_in open_in = { .flags = O_RDONLY };
	struct fuse_read_in read_in = { .size = 4096 };
	struct fuse_entry_out *entry;
	struct fuse_open_out *open_out;
	struct fuse_init_out *init_out;
	const char *why = NULL;
	uint64_t out, nodeid = 0;
	char tag[VHOST_DEV_TAG_MAX + 1] = "";
	struct qsd q;
	struct rig r;
	unsigned int i;

	if (access(VIRTIOFSD, X_OK)) {
		VT_SKIP("vhost-user-fs: %s is not installed (package qemu-system-common)", VIRTIOFSD);
		return;
	}
	if (virtiofsd_start(&q, content, &why)) {
		TAP_CHECK(0, why);
		qsd_print_log(&q);
		qsd_stop(&q);
		return;
	}
	spec.socket = q.sock;
	if (!TAP_CHECK(rig_up(&r, &spec) == 0, "fs: device made on virtiofsd"))
		goto out;
	TAP_EQ_INT(vt_cfg(&r.d, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_FS,
		   "fs: PCI device id 0x105a");
	for (i = 0; i < VHOST_DEV_TAG_MAX; i++)
		tag[i] = vt_rd(&r.d, r.d.device + i, 1);
	printf("#   tag '%s'\n", tag);
	TAP_CHECK(!strcmp(tag, "share"), "fs: configuration tag");
	TAP_EQ_INT(vt_rd(&r.d, r.d.device + offsetof(struct virtio_fs_config, num_request_queues), 4),
		   1, "fs: one request queue");
	TAP_EQ_INT(num_queues(&r.d), 2, "fs: hiprio and request queues");
	if (!TAP_CHECK(vt_bringup(&r.d, 0, 2) == 0 &&
		       !(vt_status(&r.d) & VIRTIO_CONFIG_S_NEEDS_RESET),
		       "fs: driver up"))
		goto out_rig;

	out = vt_alloc(r.vh, 8192, 8);
	TAP_EQ_INT(fuse_req(&r, FUSE_INIT, 0, &init, sizeof(init), out,
			    sizeof(struct fuse_out_header) + sizeof(*init_out)),
		   0, "fs: FUSE_INIT answered without error");
	init_out = (void *)((uint8_t *)vt_ptr(r.vh, out) + sizeof(struct fuse_out_header));
	TAP_EQ_INT(init_out->major, FUSE_KERNEL_VERSION, "fs: FUSE protocol major 7");

	TAP_EQ_INT(fuse_req(&r, FUSE_LOOKUP, FUSE_ROOT_ID, "file", 5, out,
			    sizeof(struct fuse_out_header) + sizeof(*entry)),
		   0, "fs: LOOKUP of the shared file");
	entry = (void *)((uint8_t *)vt_ptr(r.vh, out) + sizeof(struct fuse_out_header));
	nodeid = entry->nodeid;
	TAP_EQ_U64(entry->attr.size, strlen(content), "fs: its size is the host file's");

	TAP_EQ_INT(fuse_req(&r, FUSE_OPEN, nodeid, &open_in, sizeof(open_in), out,
			    sizeof(struct fuse_out_header) + sizeof(*open_out)),
		   0, "fs: OPEN");
	open_out = (void *)((uint8_t *)vt_ptr(r.vh, out) + sizeof(struct fuse_out_header));
	read_in.fh = open_out->fh;
	TAP_EQ_INT(fuse_req(&r, FUSE_READ, nodeid, &read_in, sizeof(read_in), out,
			    sizeof(struct fuse_out_header) + 4096),
		   0, "fs: READ");
	TAP_CHECK(!memcmp((uint8_t *)vt_ptr(r.vh, out) + sizeof(struct fuse_out_header),
			  content, strlen(content)),
		  "fs: the data read is the host file's");
out_rig:
	rig_down(&r);
out:
	qsd_stop(&q);
	TAP_EQ_INT(tap_dir_entries("/proc/self/fd"), fds0, "fs: no fd left open");
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "--vub"))
		return vub_main(argv);
	log_set_prefix("test_vhost_dev");
	test_no_backend();
	test_block();
	test_direct_calls();
	test_reconnect();
	test_no_reconnect();
	test_fs();
	return tap_done();
}
