// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/virtio/virtio_pci.c, driven by a test driver that only
 * uses config cycles and BAR accesses (vtest.h): identity and capabilities,
 * feature negotiation, queue setup, requests through the I/O thread, ISR
 * and INTx, MSI-X (vectors, INTx off, masking), doorbells, reset,
 * DEVICE_NEEDS_RESET on misbehaviour, the PCI-config access window,
 * pause/reset for the device daemon.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "tap.h"
#include "virtio/iov.h"
#include "virtio/virtio_pci.h"
#include "vtest.h"

#define DEVFN		PCI_DEVFN(2, 0)
#define BAR_ADDR	0xc0000000ull
#define ECHO_FEATURE	3	/* a device feature bit */

/* An echo device: copies what a chain carries into its writable part. */
struct echo {
	struct virtio_dev vd;
	struct iovec iov[64];
	struct vq_buf buf;
	int notifies, starts, resets, quiesces;
};

static void echo_notify(struct virtio_dev *vd, unsigned int q)
{
	struct echo *e = (struct echo *)vd;
	uint8_t tmp[256];

	__atomic_fetch_add(&e->notifies, 1, __ATOMIC_SEQ_CST);
	while (virtio_dev_pop(vd, q, &e->buf) > 0) {
		size_t n = iov_to_buf(e->buf.iov, e->buf.nr_out, 0, tmp, sizeof(tmp));

		n = iov_from_buf(vq_buf_in(&e->buf), e->buf.nr_in, 0, tmp, n);
		virtio_dev_complete(vd, q, e->buf.head, n);
	}
}

static int echo_start(struct virtio_dev *vd)
{
	((struct echo *)vd)->starts++;
	return 0;
}

static void echo_quiesce(struct virtio_dev *vd)
{
	((struct echo *)vd)->quiesces++;
}

static void echo_reset(struct virtio_dev *vd)
{
	((struct echo *)vd)->resets++;
	vd->config[0] = 0x11;
}

static void echo_config_write(struct virtio_dev *vd, unsigned int off,
			      unsigned int len, const uint8_t *data)
{
	if (off == 0 && len == 1)
		vd->config[0] = data[0];
}

static int echo_frees;

static void echo_free(struct virtio_dev *vd)
{
	echo_frees++;
	free(vd);
}

static const struct virtio_dev_ops echo_ops = {
	.queue_notify = echo_notify,
	.start = echo_start,
	.quiesce = echo_quiesce,
	.reset = echo_reset,
	.config_write = echo_config_write,
	.free = echo_free,
};

static struct echo *echo_new(void)
{
	static const struct virtio_dev_info info = {
		.name = "virtio-echo",
		.device_id = 42,
		.pci_class = 0xff0000,
		.features = 1ull << ECHO_FEATURE,
		.num_queues = 2,
		.queue_size = 16,
		.config_size = 8,
	};
	struct echo *e = calloc(1, sizeof(*e));

	e->buf.iov = e->iov;
	e->buf.cap = 64;
	if (virtio_dev_init(&e->vd, &echo_ops, &info))
		abort();
	e->vd.config[0] = 0x11;
	e->vd.config[7] = 0x77;
	return e;
}

struct env {
	struct vt_host *vh;
	struct pci_bus *bus;
	struct echo *e;
	struct vt_dev d;
};

static void env_up(struct env *v)
{
	v->vh = vt_host_new();
	v->bus = pci_bus_new(&v->vh->host);
	v->e = echo_new();
	pci_bus_add(v->bus, DEVFN, &v->e->vd.func);
	virtio_dev_start(&v->e->vd);
	vt_probe(&v->d, v->vh, v->bus, DEVFN, BAR_ADDR);
}

static void env_down(struct env *v)
{
	pci_bus_free(v->bus);
	vt_host_free(v->vh);
}

/* Send "ping" through queue q and check the echo. */
static bool echo_roundtrip(struct env *v, unsigned int q, bool trap)
{
	uint64_t out = vt_alloc(v->vh, 16, 8), in = vt_alloc(v->vh, 16, 8);
	struct vt_seg seg[2] = { { out, 4, false }, { in, 16, true } };
	uint32_t id, len;
	uint16_t head;

	memcpy(vt_ptr(v->vh, out), "ping", 4);
	head = vt_add(&v->d, q, seg, 2);
	if (trap) {
		vt_kick(&v->d, q);
	} else {
		/* What KVM does with an ioeventfd: signal the doorbell's fd. */
		uint64_t one = 1;
		int i;

		for (i = 0; i < v->vh->nr_db; i++)
			if (v->vh->db[i].gpa == v->d.bar + v->d.notify + q * v->d.notify_mult)
				if (write(v->vh->db[i].efd, &one, 8) != 8)
					return false;
	}
	if (!vt_wait_used(&v->d, q, &id, &len))
		return false;
	return id == head && len == 4 && !memcmp(vt_ptr(v->vh, in), "ping", 4);
}

static void test_identity(void)
{
	struct env v;

	env_up(&v);
	TAP_EQ_U64(vt_cfg(&v.d, 0, 4), ((0x1040u + 42) << 16) | 0x1af4,
		   "id: vendor 0x1af4, device 0x1040 + id");
	TAP_EQ_INT(vt_cfg(&v.d, PCI_REVISION_ID, 1), 1, "id: revision 1 (modern)");
	TAP_EQ_INT(vt_cfg(&v.d, PCI_INTERRUPT_PIN, 1), 1, "id: INTA#");
	TAP_CHECK(v.d.common != ~0u && v.d.isr != ~0u && v.d.notify != ~0u &&
		  v.d.device != ~0u && v.d.pcfg, "id: all five virtio capabilities found");
	TAP_EQ_INT(v.d.notify_mult, 4, "id: notify multiplier 4");
	TAP_EQ_INT(v.d.device_len, 8, "id: device config length");
	vt_cfgw(&v.d, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	TAP_EQ_U64(vt_cfg(&v.d, PCI_BASE_ADDRESS_0, 4), 0xffff8004,
		   "id: BAR 0 is 32 KiB, 64-bit memory");
	vt_cfgw(&v.d, PCI_BASE_ADDRESS_0, 4, (uint32_t)BAR_ADDR);
	TAP_EQ_INT(vt_rd(&v.d, v.d.common + VIRTIO_PCI_COMMON_NUMQ, 2), 2,
		   "id: num_queues");
	TAP_EQ_INT(vt_rd(&v.d, v.d.common + VIRTIO_PCI_COMMON_MSIX, 2),
		   VIRTIO_MSI_NO_VECTOR, "id: no MSI-X vector");
	TAP_EQ_INT(vt_rd(&v.d, v.d.device, 1), 0x11, "id: device config byte 0");
	TAP_EQ_U64(vt_rd(&v.d, v.d.device, 8), 0x7700000000000011ull,
		   "id: device config as one qword");
	TAP_EQ_INT(vt_rd(&v.d, v.d.device + 8, 4), 0, "id: beyond device config reads 0");
	env_down(&v);
}

static void test_features(void)
{
	struct env v;
	uint64_t f;

	env_up(&v);
	f = vt_device_features(&v.d);
	TAP_CHECK(f & (1ull << VIRTIO_F_VERSION_1), "features: VERSION_1 offered");
	TAP_CHECK(f & (1ull << VIRTIO_RING_F_INDIRECT_DESC), "features: INDIRECT_DESC offered");
	TAP_CHECK(f & (1ull << VIRTIO_RING_F_EVENT_IDX), "features: EVENT_IDX offered");
	TAP_CHECK(f & (1ull << ECHO_FEATURE), "features: device bit offered");
	TAP_CHECK(!(f & (1ull << VIRTIO_F_ACCESS_PLATFORM)), "features: no ACCESS_PLATFORM");
	vt_wr(&v.d, v.d.common + VIRTIO_PCI_COMMON_DFSELECT, 4, 7);
	TAP_EQ_INT(vt_rd(&v.d, v.d.common + VIRTIO_PCI_COMMON_DF, 4), 0,
		   "features: word 7 reads 0");

	TAP_EQ_INT(vt_negotiate(&v.d, 1ull << ECHO_FEATURE) &
		   VIRTIO_CONFIG_S_FEATURES_OK, 0,
		   "features: without VERSION_1 FEATURES_OK is refused");
	TAP_EQ_INT(vt_negotiate(&v.d, (1ull << VIRTIO_F_VERSION_1) | (1ull << 40)) &
		   VIRTIO_CONFIG_S_FEATURES_OK, 0,
		   "features: a feature not offered is refused");
	TAP_CHECK(vt_negotiate(&v.d, (1ull << VIRTIO_F_VERSION_1) | (1ull << ECHO_FEATURE)) &
		  VIRTIO_CONFIG_S_FEATURES_OK, "features: a valid subset is accepted");
	TAP_CHECK(virtio_dev_has(&v.e->vd, ECHO_FEATURE), "features: device sees its bit");
	vt_wr(&v.d, v.d.common + VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	vt_wr(&v.d, v.d.common + VIRTIO_PCI_COMMON_GF, 4, 0);
	TAP_EQ_U64(vt_rd(&v.d, v.d.common + VIRTIO_PCI_COMMON_GF, 4), 1u << ECHO_FEATURE,
		   "features: frozen after FEATURES_OK");
	env_down(&v);
}

static void test_queues(void)
{
	struct env v;
	uint64_t c;

	env_up(&v);
	c = v.d.common;
	vt_negotiate(&v.d, (1ull << VIRTIO_F_VERSION_1));
	vt_wr(&v.d, c + VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
	TAP_EQ_INT(vt_rd(&v.d, c + VIRTIO_PCI_COMMON_Q_SIZE, 2), 16, "queue: max size");
	TAP_EQ_INT(vt_rd(&v.d, c + VIRTIO_PCI_COMMON_Q_NOFF, 2), 1, "queue: notify off = index");
	vt_wr(&v.d, c + VIRTIO_PCI_COMMON_Q_SELECT, 2, 2);
	TAP_EQ_INT(vt_rd(&v.d, c + VIRTIO_PCI_COMMON_Q_SIZE, 2), 0,
		   "queue: a queue that does not exist has size 0");
	vt_wr(&v.d, c + VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	vt_wr(&v.d, c + VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x12345670);
	vt_wr(&v.d, c + VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0x9);
	TAP_EQ_U64(vt_rd(&v.d, c + VIRTIO_PCI_COMMON_Q_DESCLO, 8), 0x912345670ull,
		   "queue: 64-bit address written as two halves");
	TAP_EQ_INT(vt_queue_setup(&v.d, 0, 8), 0, "queue: setup with size 8");
	TAP_EQ_INT(vt_rd(&v.d, c + VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1, "queue: enabled");
	vt_wr(&v.d, c + VIRTIO_PCI_COMMON_Q_SIZE, 2, 4);
	TAP_EQ_INT(vt_rd(&v.d, c + VIRTIO_PCI_COMMON_Q_SIZE, 2), 8,
		   "queue: size frozen once enabled");
	vt_queue_setup(&v.d, 1, 0);
	vt_driver_ok(&v.d);
	TAP_CHECK(vt_status(&v.d) & VIRTIO_CONFIG_S_DRIVER_OK, "queue: DRIVER_OK");
	TAP_EQ_INT(v.e->starts, 1, "queue: device started once");
	TAP_CHECK(echo_roundtrip(&v, 0, true), "queue: request on queue 0 (trapped kick)");
	TAP_CHECK(echo_roundtrip(&v, 1, true), "queue: request on queue 1");
	TAP_CHECK(echo_roundtrip(&v, 0, true), "queue: second request on queue 0");
	env_down(&v);
}

static void test_interrupts(void)
{
	struct env v;
	int i;

	env_up(&v);
	vt_bringup(&v.d, 0, 2);
	/* Without EVENT_IDX every completion interrupts; with it, the first. */
	TAP_CHECK(echo_roundtrip(&v, 0, true), "irq: request done");
	TAP_EQ_INT(vt_intx(v.vh, DEVFN), 1, "irq: INTx raised");
	TAP_CHECK(vt_cfg(&v.d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT,
		  "irq: Status.Interrupt set");
	TAP_EQ_INT(vt_rd(&v.d, v.d.isr, 1), 1, "irq: ISR says queue");
	TAP_EQ_INT(vt_intx(v.vh, DEVFN), 0, "irq: reading ISR lowers INTx");
	TAP_EQ_INT(vt_rd(&v.d, v.d.isr, 1), 0, "irq: ISR cleared by the read");
	vt_cfgw(&v.d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	/* used_event = last used: ask for the next interrupt. */
	((uint16_t *)((struct vring_avail *)vt_ptr(v.vh, v.d.q[0].avail))->ring)[16] =
		htole16(v.d.q[0].last_used);
	TAP_CHECK(echo_roundtrip(&v, 0, true), "irq: request with INTx disabled");
	TAP_EQ_INT(vt_intx(v.vh, DEVFN), 0, "irq: line stays low with INTx-disable");
	TAP_CHECK(vt_cfg(&v.d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT,
		  "irq: Status.Interrupt shows the pending interrupt");
	vt_cfgw(&v.d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	TAP_EQ_INT(vt_intx(v.vh, DEVFN), 1, "irq: re-enabling INTx raises the line");
	vt_rd(&v.d, v.d.isr, 1);
	/* used_event far ahead: no interrupt for the next completion. */
	((uint16_t *)((struct vring_avail *)vt_ptr(v.vh, v.d.q[0].avail))->ring)[16] =
		htole16(v.d.q[0].last_used + 100);
	for (i = 0; i < 3; i++)
		echo_roundtrip(&v, 0, true);
	TAP_EQ_INT(vt_intx(v.vh, DEVFN), 0, "irq: EVENT_IDX suppresses interrupts");

	virtio_dev_config_update(&v.e->vd, 7, "\x99", 1);
	TAP_EQ_INT(vt_rd(&v.d, v.d.device + 7, 1), 0x99, "irq: device config changed");
	TAP_EQ_INT(vt_rd(&v.d, v.d.common + VIRTIO_PCI_COMMON_CFGGENERATION, 1), 1,
		   "irq: config generation bumped");
	TAP_EQ_INT(vt_intx(v.vh, DEVFN), 1, "irq: config change interrupts");
	TAP_EQ_INT(vt_rd(&v.d, v.d.isr, 1), 2, "irq: ISR says config");
	env_down(&v);
}

/* --- MSI-X ------------------------------------------------------------- */

static int msi_count;
static uint32_t msi_data;

static void t_send_msi(struct pci_host *h, struct pci_func *f, uint64_t addr,
		       uint32_t data)
{
	msi_data = addr == 0xfee00000 ? data : 0xdead;
	__atomic_fetch_add(&msi_count, 1, __ATOMIC_SEQ_CST);
}

static const struct pci_host_ops msi_host_ops = {
	.set_intx = vt_set_intx,
	.add_doorbell = vt_add_db,
	.del_doorbell = vt_del_db,
	.send_msi = t_send_msi,
};

/*
 * The I/O thread signals right after it publishes the used entry the test
 * waited for: give it up to 2 s to reach n messages.  Returns the count.
 */
static int wait_msi(int n)
{
	int i;

	for (i = 0; i < 2000 && __atomic_load_n(&msi_count, __ATOMIC_SEQ_CST) < n; i++)
		usleep(1000);
	return __atomic_load_n(&msi_count, __ATOMIC_SEQ_CST);
}

static int wait_intx(struct env *v, int level)
{
	int i;

	for (i = 0; i < 2000 && vt_intx(v->vh, DEVFN) != level; i++)
		usleep(1000);
	return vt_intx(v->vh, DEVFN);
}

/* used_event = last used: the next completion of queue q interrupts. */
static void want_irq(struct env *v, unsigned int q)
{
	((uint16_t *)((struct vring_avail *)vt_ptr(v->vh, v->d.q[q].avail))->ring)[16] =
		htole16(v->d.q[q].last_used);
}

static uint16_t vec_rd(struct env *v, int q)
{
	if (q < 0)
		return vt_rd(&v->d, v->d.common + VIRTIO_PCI_COMMON_MSIX, 2);
	vt_wr(&v->d, v->d.common + VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	return vt_rd(&v->d, v->d.common + VIRTIO_PCI_COMMON_Q_MSIX, 2);
}

static void vec_wr(struct env *v, int q, uint16_t vec)
{
	if (q < 0) {
		vt_wr(&v->d, v->d.common + VIRTIO_PCI_COMMON_MSIX, 2, vec);
		return;
	}
	vt_wr(&v->d, v->d.common + VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	vt_wr(&v->d, v->d.common + VIRTIO_PCI_COMMON_Q_MSIX, 2, vec);
}

static void test_msix(void)
{
	struct env v;
	unsigned int cap, mcap = 0, i;
	uint64_t tbl;

	env_up(&v);
	vec_wr(&v, -1, 0);
	vec_wr(&v, 0, 0);
	TAP_CHECK(vec_rd(&v, -1) == VIRTIO_MSI_NO_VECTOR &&
		  vec_rd(&v, 0) == VIRTIO_MSI_NO_VECTOR,
		  "msix: without MSI-X the vector registers read NO_VECTOR");
	env_down(&v);

	v.vh = vt_host_new();
	v.vh->host.ops = &msi_host_ops;
	v.bus = pci_bus_new(&v.vh->host);
	v.e = echo_new();
	TAP_EQ_INT(virtio_dev_add_msix(&v.e->vd), 0, "msix: capability added");
	pci_bus_add(v.bus, DEVFN, &v.e->vd.func);
	virtio_dev_start(&v.e->vd);
	vt_probe(&v.d, v.vh, v.bus, DEVFN, BAR_ADDR);
	for (cap = vt_cfg(&v.d, PCI_CAPABILITY_LIST, 1); cap;
	     cap = vt_cfg(&v.d, cap + 1, 1))
		if (vt_cfg(&v.d, cap, 1) == PCI_CAP_ID_MSIX)
			mcap = cap;
	TAP_CHECK(mcap, "msix: the guest finds the capability");
	TAP_EQ_INT(vt_cfg(&v.d, mcap + PCI_MSIX_FLAGS, 2), 2,
		   "msix: three vectors, two queues and configuration");
	TAP_EQ_U64(vt_cfg(&v.d, mcap + PCI_MSIX_TABLE, 4), VIRTIO_PCI_MSIX_TABLE_OFF,
		   "msix: the table is in BAR 0");
	TAP_EQ_U64(vt_cfg(&v.d, mcap + PCI_MSIX_PBA, 4), VIRTIO_PCI_MSIX_PBA_OFF,
		   "msix: so is the PBA");
	TAP_CHECK(vt_probe(&v.d, v.vh, v.bus, DEVFN, BAR_ADDR) == 0,
		  "msix: the virtio capabilities are all still there");
	vt_bringup(&v.d, 0, 2);
	for (i = 0; i < 3; i++) {
		tbl = VIRTIO_PCI_MSIX_TABLE_OFF + 16 * i;
		vt_wr(&v.d, tbl + PCI_MSIX_ENTRY_LOWER_ADDR, 4, 0xfee00000);
		vt_wr(&v.d, tbl + PCI_MSIX_ENTRY_DATA, 4, 0x40 + i);
		vt_wr(&v.d, tbl + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	}
	vec_wr(&v, -1, 2);
	vec_wr(&v, 0, 0);
	vec_wr(&v, 1, 1);
	TAP_CHECK(vec_rd(&v, -1) == 2 && vec_rd(&v, 0) == 0 && vec_rd(&v, 1) == 1,
		  "msix: the driver's vectors read back");
	vec_wr(&v, 1, 3);
	TAP_EQ_INT(vec_rd(&v, 1), VIRTIO_MSI_NO_VECTOR,
		   "msix: a vector past the table reads NO_VECTOR");
	vec_wr(&v, 1, 1);

	want_irq(&v, 0);
	TAP_CHECK(echo_roundtrip(&v, 0, true), "msix: request before MSI-X is on");
	TAP_EQ_INT(wait_intx(&v, 1), 1, "msix: disabled, the completion uses INTx");
	TAP_EQ_INT(msi_count, 0, "msix: and sends no message");
	vt_cfgw(&v.d, mcap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	TAP_EQ_INT(vt_intx(v.vh, DEVFN), 0, "msix: enabling it lowers INTx");
	vt_rd(&v.d, v.d.isr, 1);

	want_irq(&v, 1);
	TAP_CHECK(echo_roundtrip(&v, 1, true), "msix: request on queue 1");
	TAP_EQ_INT(wait_msi(1), 1, "msix: one message for the completion");
	TAP_EQ_INT(msi_data, 0x41, "msix: queue 1's vector");
	TAP_EQ_INT(vt_intx(v.vh, DEVFN), 0, "msix: INTx stays low");
	TAP_EQ_INT(vt_rd(&v.d, v.d.isr, 1), 0, "msix: the ISR is not used for queues");

	virtio_dev_config_update(&v.e->vd, 7, "\x55", 1);
	TAP_EQ_INT(wait_msi(2), 2, "msix: a configuration change sends a message");
	TAP_EQ_INT(msi_data, 0x42, "msix: on the msix_config vector");
	TAP_EQ_INT(vt_intx(v.vh, DEVFN), 0, "msix: without INTx");

	vec_wr(&v, 0, VIRTIO_MSI_NO_VECTOR);
	want_irq(&v, 0);
	TAP_CHECK(echo_roundtrip(&v, 0, true), "msix: request on a queue without vector");
	usleep(50000);
	TAP_EQ_INT(msi_count, 2, "msix: NO_VECTOR: no message");
	TAP_EQ_INT(vt_intx(v.vh, DEVFN), 0, "msix: NO_VECTOR: no INTx either");

	vt_wr(&v.d, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 1);
	want_irq(&v, 1);
	TAP_CHECK(echo_roundtrip(&v, 1, true), "msix: request with its vector masked");
	for (i = 0; i < 2000 && !vt_rd(&v.d, VIRTIO_PCI_MSIX_PBA_OFF, 8); i++)
		usleep(1000);
	TAP_EQ_U64(vt_rd(&v.d, VIRTIO_PCI_MSIX_PBA_OFF, 8), 1ull << 1,
		   "msix: masked: pending in the PBA");
	TAP_EQ_INT(msi_count, 2, "msix: masked: held back");
	vt_wr(&v.d, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
	TAP_EQ_INT(msi_count, 3, "msix: unmasking sends it");
	TAP_EQ_INT(msi_data, 0x41, "msix: queue 1's message");

	vt_set_status(&v.d, 0);
	TAP_CHECK(vec_rd(&v, -1) == VIRTIO_MSI_NO_VECTOR &&
		  vec_rd(&v, 1) == VIRTIO_MSI_NO_VECTOR,
		  "msix: a device reset clears the vectors");
	TAP_EQ_U64(vt_rd(&v.d, VIRTIO_PCI_MSIX_TABLE_OFF + 16 + PCI_MSIX_ENTRY_DATA, 4),
		   0x41, "msix: but not the table");
	env_down(&v);
}

static void test_doorbells(void)
{
	struct env v;
	uint64_t notify0;

	env_up(&v);
	notify0 = BAR_ADDR + v.d.notify;
	vt_negotiate(&v.d, 1ull << VIRTIO_F_VERSION_1);
	vt_queue_setup(&v.d, 0, 0);
	vt_queue_setup(&v.d, 1, 0);
	TAP_EQ_INT(v.vh->nr_db, 0, "doorbell: none before DRIVER_OK");
	vt_driver_ok(&v.d);
	TAP_EQ_INT(v.vh->nr_db, 2, "doorbell: one per queue at DRIVER_OK");
	TAP_CHECK(v.vh->db[0].gpa == notify0 && v.vh->db[0].len == 2,
		  "doorbell: queue 0 at the notify address, 2 bytes");
	TAP_CHECK(v.vh->db[1].gpa == notify0 + 4, "doorbell: queue 1 at +multiplier");
	TAP_CHECK(echo_roundtrip(&v, 1, false), "doorbell: kick through the eventfd");
	TAP_CHECK(echo_roundtrip(&v, 0, true), "doorbell: trapped kick still works");

	/* The guest moves the BAR: doorbells move with it. */
	vt_cfgw(&v.d, PCI_BASE_ADDRESS_0, 4, 0xd0000000);
	v.d.bar = 0xd0000000;
	TAP_EQ_INT(v.vh->nr_db, 2, "doorbell: still two after a BAR move");
	TAP_CHECK(v.vh->db[0].gpa >= 0xd0000000 && v.vh->db[1].gpa >= 0xd0000000,
		  "doorbell: re-registered at the new address");
	vt_cfgw(&v.d, PCI_COMMAND, 2, 0);
	TAP_EQ_INT(v.vh->nr_db, 0, "doorbell: removed when memory decoding is off");
	vt_cfgw(&v.d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	TAP_EQ_INT(v.vh->nr_db, 2, "doorbell: back with memory decoding");

	vt_set_status(&v.d, 0);
	TAP_EQ_INT(v.vh->nr_db, 0, "doorbell: removed on reset");

	v.vh->add_db_ret = -ENOSPC;
	vt_bringup(&v.d, 0, 2);
	TAP_EQ_INT(v.vh->nr_db, 0, "doorbell: host refusal leaves none");
	TAP_CHECK(echo_roundtrip(&v, 0, true), "doorbell: ... and trapped kicks work");
	env_down(&v);
}

/*
 * A bridge's stores are posted and its doorbells are not: a kick must wait
 * for the stores the guest made before it (bridge/kick_gate.h).  A pipe
 * stands for the backend node: a byte in it is a store not read yet.
 */
static void test_kicks_after_stores(void)
{
	struct kick_gate gate;
	int node[2], i, before;
	uint64_t out, in, one = 1;
	struct vt_seg seg[2];
	struct env v;
	uint16_t head;
	uint32_t id, len;
	char c = 's';

	if (pipe(node))
		abort();
	env_up(&v);
	kick_gate_init(&gate, node[0]);
	v.vh->gate = &gate;
	vt_bringup(&v.d, 0, 2);
	TAP_CHECK(echo_roundtrip(&v, 0, false), "store order: a kick with nothing queued is taken at once");

	/* A store is queued and unread: the doorbell's kick waits. */
	if (write(node[1], &c, 1) != 1)
		abort();
	out = vt_alloc(v.vh, 16, 8);
	in = vt_alloc(v.vh, 16, 8);
	seg[0] = (struct vt_seg){ out, 4, false };
	seg[1] = (struct vt_seg){ in, 16, true };
	memcpy(vt_ptr(v.vh, out), "ping", 4);
	head = vt_add(&v.d, 0, seg, 2);
	before = __atomic_load_n(&v.e->notifies, __ATOMIC_SEQ_CST);
	for (i = 0; i < v.vh->nr_db; i++)
		if (v.vh->db[i].gpa == v.d.bar + v.d.notify &&
		    write(v.vh->db[i].efd, &one, 8) != 8)
			abort();
	vt_msleep(200);
	TAP_CHECK(__atomic_load_n(&v.e->notifies, __ATOMIC_SEQ_CST) == before,
		  "store order: a kick behind an unread store is deferred");
	/* The serving thread reads it: applying it, still deferred. */
	kick_gate_reading(&gate);
	if (read(node[0], &c, 1) != 1)
		abort();
	virtio_dev_kick_all(&v.e->vd);
	vt_msleep(200);
	TAP_CHECK(__atomic_load_n(&v.e->notifies, __ATOMIC_SEQ_CST) == before,
		  "store order: ... and while the store is being applied");
	/* Applied: the serving thread kicks again, and the kick is taken. */
	TAP_CHECK(kick_gate_done(&gate), "store order: the batch's end says a kick waits");
	virtio_dev_kick_all(&v.e->vd);
	TAP_CHECK(vt_wait_used(&v.d, 0, &id, &len) && id == head && len == 4 &&
		  !memcmp(vt_ptr(v.vh, in), "ping", 4),
		  "store order: the kick again after the store completes the buffer");
	TAP_CHECK(!kick_gate_done(&gate), "store order: nothing waits after that");
	TAP_CHECK(echo_roundtrip(&v, 1, false), "store order: later kicks are taken at once");
	v.vh->gate = NULL;
	env_down(&v);
	kick_gate_destroy(&gate);
	close(node[0]);
	close(node[1]);
}

/*
 * Polling mode: the serving thread may sit in a read that spins.  A kick
 * the gate defers then ends that read with KICK_GATE_SIGNAL (once), and
 * the batch's end takes the kick; without polling no signal is sent.  A
 * pipe with nothing in it stands for the node: its read blocks until the
 * signal.
 */
struct gate_reader {
	struct kick_gate *gate;
	int fd;
	bool interrupt;
	ssize_t n;
	int err;
	bool kick_again;
	int cut_short;		/* sleeps a signal ended while applying */
	bool reading, applying, go, done;	/* __atomic */
};

static void *gate_reader_main(void *arg)
{
	struct gate_reader *r = arg;
	char c;

	if (r->interrupt && kick_gate_interrupt_reads(r->gate))
		abort();
	kick_gate_reading(r->gate);
	__atomic_store_n(&r->reading, true, __ATOMIC_SEQ_CST);
	r->n = read(r->fd, &c, 1);
	r->err = r->n < 0 ? errno : 0;
	kick_gate_read_end(r->gate);
	/* Applying what it read: a kick now is deferred without a signal. */
	if (r->n == 1 && r->interrupt) {
		__atomic_store_n(&r->applying, true, __ATOMIC_SEQ_CST);
		while (!__atomic_load_n(&r->go, __ATOMIC_SEQ_CST))
			r->cut_short += usleep(1000) != 0;
	}
	r->kick_again = kick_gate_done(r->gate);
	__atomic_store_n(&r->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static bool gate_reader_done_within(struct gate_reader *r, int ms)
{
	for (; ms > 0; ms -= 10) {
		if (__atomic_load_n(&r->done, __ATOMIC_SEQ_CST))
			return true;
		vt_msleep(10);
	}
	return __atomic_load_n(&r->done, __ATOMIC_SEQ_CST);
}

static void test_kick_ends_a_spinning_read(void)
{
	struct gate_reader r = { 0 };
	struct kick_gate gate;
	int node[2];
	pthread_t t;
	char c = 's';

	if (pipe(node))
		abort();
	kick_gate_init(&gate, node[0]);
	r.gate = &gate;
	r.fd = node[0];
	r.interrupt = true;
	if (pthread_create(&t, NULL, gate_reader_main, &r))
		abort();
	while (!__atomic_load_n(&r.reading, __ATOMIC_SEQ_CST))
		vt_msleep(1);
	vt_msleep(100);
	TAP_CHECK(!__atomic_load_n(&r.done, __ATOMIC_SEQ_CST), "polling gate: the serving thread waits in its read");
	TAP_CHECK(kick_gate_defer(&gate), "polling gate: a kick while it reads is deferred");
	TAP_CHECK(kick_gate_defer(&gate), "polling gate: ... and a second one");
	TAP_CHECK(gate_reader_done_within(&r, 5000), "polling gate: the deferral ended the read");
	/* (a store ends it otherwise: never a hang) */
	if (!__atomic_load_n(&r.done, __ATOMIC_SEQ_CST) && write(node[1], &c, 1) != 1)
		abort();
	pthread_join(t, NULL);
	TAP_CHECK(r.n == -1 && r.err == EINTR, "polling gate: the read said EINTR");
	TAP_CHECK(r.kick_again, "polling gate: the batch's end says a kick waits");
	TAP_CHECK(!kick_gate_defer(&gate), "polling gate: a kick with the thread idle is taken at once");

	/* Applying a batch (its read returned): deferred, and no signal. */
	memset(&r, 0, sizeof(r));
	r.gate = &gate;
	r.fd = node[0];
	r.interrupt = true;
	if (write(node[1], &c, 1) != 1 || pthread_create(&t, NULL, gate_reader_main, &r))
		abort();
	while (!__atomic_load_n(&r.applying, __ATOMIC_SEQ_CST))
		vt_msleep(1);
	TAP_CHECK(kick_gate_defer(&gate), "polling gate: a kick while a batch is applied is deferred");
	vt_msleep(100);
	__atomic_store_n(&r.go, true, __ATOMIC_SEQ_CST);
	TAP_CHECK(gate_reader_done_within(&r, 5000), "polling gate: the batch ends");
	pthread_join(t, NULL);
	TAP_CHECK(!r.cut_short && r.kick_again,
		  "polling gate: ... no signal cut its sleeps short, and its end says a kick waits");

	/* Without polling mode the read is left alone (a store ends it). */
	memset(&r, 0, sizeof(r));
	kick_gate_destroy(&gate);
	kick_gate_init(&gate, node[0]);
	r.gate = &gate;
	r.fd = node[0];
	if (pthread_create(&t, NULL, gate_reader_main, &r))
		abort();
	while (!__atomic_load_n(&r.reading, __ATOMIC_SEQ_CST))
		vt_msleep(1);
	TAP_CHECK(kick_gate_defer(&gate), "gate: a kick while the thread reads is deferred");
	vt_msleep(200);
	TAP_CHECK(!__atomic_load_n(&r.done, __ATOMIC_SEQ_CST), "gate: without polling mode no signal ends the read");
	if (write(node[1], &c, 1) != 1)
		abort();
	TAP_CHECK(gate_reader_done_within(&r, 5000) && r.n == 1 && r.kick_again,
		  "gate: the read ends with the store, and the batch's end says a kick waits");
	pthread_join(t, NULL);
	kick_gate_destroy(&gate);
	close(node[0]);
	close(node[1]);
}

static void test_reset(void)
{
	struct env v;
	uint64_t c;
	int resets;

	env_up(&v);
	c = v.d.common;
	vt_bringup(&v.d, 0, 2);
	resets = v.e->resets;
	vt_wr(&v.d, v.d.device, 1, 0x42);
	TAP_EQ_INT(vt_rd(&v.d, v.d.device, 1), 0x42, "reset: device config written");
	TAP_CHECK(echo_roundtrip(&v, 0, true), "reset: works before");
	vt_set_status(&v.d, 0);
	TAP_EQ_INT(vt_status(&v.d), 0, "reset: status reads 0");
	TAP_EQ_INT(v.e->resets, resets + 1, "reset: device reset called");
	TAP_CHECK(v.e->quiesces >= 1, "reset: device quiesced first");
	TAP_EQ_INT(vt_rd(&v.d, v.d.device, 1), 0x11, "reset: device config restored");
	vt_wr(&v.d, c + VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	TAP_EQ_INT(vt_rd(&v.d, c + VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0, "reset: queue disabled");
	TAP_EQ_INT(vt_rd(&v.d, c + VIRTIO_PCI_COMMON_Q_SIZE, 2), 16, "reset: queue size back to max");
	TAP_EQ_INT(vt_rd(&v.d, c + VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0, "reset: ring address cleared");
	vt_wr(&v.d, c + VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	TAP_EQ_INT(vt_rd(&v.d, c + VIRTIO_PCI_COMMON_GF, 4), 0, "reset: driver features cleared");
	vt_kick(&v.d, 0);
	TAP_EQ_INT(vt_bringup(&v.d, 0, 2), 0, "reset: bring-up again");
	TAP_CHECK(echo_roundtrip(&v, 0, true), "reset: works after");

	/* Status bits only accumulate. */
	vt_set_status(&v.d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	TAP_CHECK(vt_status(&v.d) & VIRTIO_CONFIG_S_DRIVER_OK,
		  "status: clearing bits needs a reset");

	/* Pause / reset as the daemon does around VMSTOP / VMSTART. */
	virtio_dev_pause(&v.e->vd);
	TAP_EQ_INT(v.e->vd.paused, 1, "pause: device paused");
	{
		struct vt_seg seg = { vt_alloc(v.vh, 16, 8), 16, true };
		unsigned int before = v.e->notifies;

		vt_add(&v.d, 0, &seg, 1);
		vt_kick(&v.d, 0);
		vt_msleep(50);
		TAP_EQ_INT(v.e->notifies, before, "pause: no I/O while paused");
		TAP_EQ_INT(vt_used_pending(&v.d, 0), 0, "pause: nothing completed");
	}
	virtio_dev_reset(&v.e->vd);
	TAP_EQ_INT(vt_status(&v.d), 0, "pause: reset returns to power-on state");
	TAP_EQ_INT(v.e->vd.paused, 0, "pause: reset resumes");
	TAP_EQ_INT(vt_bringup(&v.d, 0, 2), 0, "pause: bring-up after reset");
	TAP_CHECK(echo_roundtrip(&v, 0, true), "pause: I/O again after reset");
	env_down(&v);
}

/*
 * The device makes DEVICE_NEEDS_RESET visible before it raises the config
 * interrupt (a driver reads the status after the interrupt): wait for both.
 */
static struct env *needs_reset_env;

static bool needs_reset_and_intx(void *arg)
{
	return vt_needs_reset_cond(arg) && vt_intx(needs_reset_env->vh, DEVFN);
}

static void test_needs_reset(void)
{
	struct env v;
	struct vring_desc *desc;
	uint64_t c;

	env_up(&v);
	c = v.d.common;
	vt_bringup(&v.d, 0, 2);
	vt_rd(&v.d, v.d.isr, 1);
	/* A descriptor loop. */
	desc = vt_ptr(v.vh, v.d.q[0].desc);
	desc[0].addr = htole64(VT_RAM_GPA);
	desc[0].len = htole32(8);
	desc[0].flags = htole16(VRING_DESC_F_NEXT);
	desc[0].next = htole16(0);
	((struct vring_avail *)vt_ptr(v.vh, v.d.q[0].avail))->ring[0] = 0;
	((struct vring_avail *)vt_ptr(v.vh, v.d.q[0].avail))->idx = htole16(1);
	v.d.q[0].avail_idx = 1;
	vt_kick(&v.d, 0);
	needs_reset_env = &v;
	TAP_CHECK(vt_wait_for(needs_reset_and_intx, &v.d),
		  "needs-reset: a descriptor loop sets DEVICE_NEEDS_RESET");
	TAP_EQ_INT(vt_intx(v.vh, DEVFN), 1, "needs-reset: interrupt raised");
	TAP_EQ_INT(vt_rd(&v.d, v.d.isr, 1) & 2, 2, "needs-reset: as a config change");
	TAP_EQ_INT(vt_used_pending(&v.d, 0), 0, "needs-reset: nothing used");
	{
		struct vt_seg seg[2] = { { vt_alloc(v.vh, 8, 8), 4, false },
					 { vt_alloc(v.vh, 8, 8), 8, true } };
		unsigned int before = v.e->notifies;

		vt_add(&v.d, 1, seg, 2);
		vt_kick(&v.d, 1);
		vt_msleep(50);
		TAP_EQ_INT(v.e->notifies, before, "needs-reset: other queues stop too");
	}
	TAP_EQ_INT(vt_bringup(&v.d, 0, 2), 0, "needs-reset: the driver resets and recovers");
	TAP_EQ_INT(vt_status(&v.d) & VIRTIO_CONFIG_S_NEEDS_RESET, 0,
		   "needs-reset: cleared by reset");
	TAP_CHECK(echo_roundtrip(&v, 0, true), "needs-reset: works again");

	/* Rings outside guest RAM. */
	vt_negotiate(&v.d, 1ull << VIRTIO_F_VERSION_1);
	vt_wr(&v.d, c + VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	vt_wr(&v.d, c + VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x1000);
	vt_wr(&v.d, c + VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	TAP_CHECK(vt_status(&v.d) & VIRTIO_CONFIG_S_NEEDS_RESET,
		  "needs-reset: rings outside RAM");
	TAP_EQ_INT(vt_rd(&v.d, c + VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0,
		   "needs-reset: queue not enabled");

	/* Size above the maximum, or not a power of two. */
	vt_negotiate(&v.d, 1ull << VIRTIO_F_VERSION_1);
	TAP_EQ_INT(vt_queue_setup(&v.d, 0, 32), 0, "needs-reset: (queue size 32 written)");
	TAP_CHECK(vt_status(&v.d) & VIRTIO_CONFIG_S_NEEDS_RESET,
		  "needs-reset: queue size above the maximum");
	vt_negotiate(&v.d, 1ull << VIRTIO_F_VERSION_1);
	vt_queue_setup(&v.d, 0, 12);
	TAP_CHECK(vt_status(&v.d) & VIRTIO_CONFIG_S_NEEDS_RESET,
		  "needs-reset: queue size 12");

	/* Queue enabled before FEATURES_OK. */
	vt_set_status(&v.d, 0);
	vt_set_status(&v.d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vt_queue_setup(&v.d, 0, 0);
	TAP_CHECK(vt_status(&v.d) & VIRTIO_CONFIG_S_NEEDS_RESET,
		  "needs-reset: queue enabled before FEATURES_OK");

	/* DRIVER_OK without FEATURES_OK. */
	vt_set_status(&v.d, 0);
	v.e->starts = 0;
	vt_set_status(&v.d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			    VIRTIO_CONFIG_S_DRIVER_OK);
	TAP_CHECK(vt_status(&v.d) & VIRTIO_CONFIG_S_NEEDS_RESET,
		  "needs-reset: DRIVER_OK without FEATURES_OK");
	TAP_EQ_INT(vt_status(&v.d) & VIRTIO_CONFIG_S_DRIVER_OK, 0,
		   "needs-reset: ... and DRIVER_OK not taken");
	TAP_EQ_INT(v.e->starts, 0, "needs-reset: device not started");
	TAP_EQ_INT(vt_bringup(&v.d, 0, 2), 0, "needs-reset: recover once more");
	TAP_CHECK(echo_roundtrip(&v, 1, true), "needs-reset: works");

	/* Junk in the notify area and common config does no harm. */
	vt_wr(&v.d, v.d.notify + 4 * 9, 2, 9);
	vt_wr(&v.d, v.d.notify + 1, 1, 0);
	vt_wr(&v.d, c + VIRTIO_PCI_COMMON_NUMQ, 2, 77);
	vt_wr(&v.d, c + VIRTIO_PCI_COMMON_STATUS, 4, 0);
	vt_wr(&v.d, 0x3ff8, 8, ~0ull);
	TAP_EQ_INT(vt_rd(&v.d, c + VIRTIO_PCI_COMMON_NUMQ, 2), 2, "junk: num_queues read-only");
	TAP_CHECK(vt_status(&v.d) & VIRTIO_CONFIG_S_DRIVER_OK,
		  "junk: a 4-byte status write is ignored");
	TAP_CHECK(echo_roundtrip(&v, 0, true), "junk: device still fine");
	env_down(&v);
}

static void test_pci_cfg_window(void)
{
	struct env v;
	unsigned int cap;

	env_up(&v);
	cap = v.d.pcfg;
	/* Read num_queues through VIRTIO_PCI_CAP_PCI_CFG. */
	vt_cfgw(&v.d, cap + 4, 1, 0);
	vt_cfgw(&v.d, cap + 8, 4, v.d.common + VIRTIO_PCI_COMMON_NUMQ);
	vt_cfgw(&v.d, cap + 12, 4, 2);
	TAP_EQ_INT(vt_cfg(&v.d, cap + 16, 4) & 0xffff, 2,
		   "pci_cfg: BAR read through config space");
	/* Write device_status = ACKNOWLEDGE through it. */
	vt_cfgw(&v.d, cap + 8, 4, v.d.common + VIRTIO_PCI_COMMON_STATUS);
	vt_cfgw(&v.d, cap + 12, 4, 1);
	vt_cfgw(&v.d, cap + 16, 4, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	TAP_EQ_INT(vt_status(&v.d), VIRTIO_CONFIG_S_ACKNOWLEDGE,
		   "pci_cfg: BAR write through config space");
	/* A bad window is ignored. */
	vt_cfgw(&v.d, cap + 12, 4, 3);
	vt_cfgw(&v.d, cap + 16, 4, 0);
	TAP_EQ_INT(vt_status(&v.d), VIRTIO_CONFIG_S_ACKNOWLEDGE,
		   "pci_cfg: length 3 does nothing");
	vt_cfgw(&v.d, cap + 4, 1, 3);
	vt_cfgw(&v.d, cap + 12, 4, 1);
	vt_cfgw(&v.d, cap + 16, 4, 0);
	TAP_EQ_INT(vt_status(&v.d), VIRTIO_CONFIG_S_ACKNOWLEDGE,
		   "pci_cfg: another BAR does nothing");
	env_down(&v);
}

static void test_lifetime(void)
{
	struct env v;
	int before = echo_frees;

	env_up(&v);
	vt_bringup(&v.d, 0, 2);
	echo_roundtrip(&v, 0, true);
	virtio_dev_stop(&v.e->vd);
	TAP_EQ_INT(virtio_dev_start(&v.e->vd), 0, "life: restart the I/O thread");
	TAP_CHECK(echo_roundtrip(&v, 0, true), "life: works after restart");
	env_down(&v);
	TAP_EQ_INT(echo_frees, before + 1, "life: bus free frees the device");
}

int main(void)
{
	test_identity();
	test_features();
	test_queues();
	test_interrupts();
	test_msix();
	test_doorbells();
	test_kicks_after_stores();
	test_kick_ends_a_spinning_read();
	test_reset();
	test_needs_reset();
	test_pci_cfg_window();
	test_lifetime();
	return tap_done();
}
