// SPDX-License-Identifier: GPL-2.0
/* Unit tests of user/devices/rng.c through the transport (vtest.h). */
#include <string.h>

#include <linux/virtio_ids.h>

#include "devices/virtio_devs.h"
#include "tap.h"
#include "vtest.h"

int main(void)
{
	struct vt_host *vh = vt_host_new();
	struct pci_bus *bus = pci_bus_new(&vh->host);
	struct virtio_dev *vd = rng_new();
	struct vt_dev d;
	uint64_t a, b;
	uint32_t id, len;
	static const uint8_t zero[256];

	TAP_CHECK(vd != NULL, "rng: created");
	pci_bus_add(bus, PCI_DEVFN(1, 0), &vd->func);
	virtio_dev_start(vd);
	TAP_EQ_INT(vt_probe(&d, vh, bus, PCI_DEVFN(1, 0), 0xc0000000), 0, "rng: probed");
	TAP_EQ_INT(vt_cfg(&d, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_RNG,
		   "rng: device id 0x1044");
	TAP_EQ_INT(vt_bringup(&d, 0, 1), 0, "rng: driver up");

	a = vt_alloc(vh, 256, 8);
	b = vt_alloc(vh, 256, 8);
	{
		struct vt_seg seg[2] = { { a, 100, true }, { b, 156, true } };

		vt_add(&d, 0, seg, 2);
	}
	vt_kick(&d, 0);
	TAP_EQ_INT(vt_wait_used(&d, 0, &id, &len), 1, "rng: request completed");
	TAP_EQ_INT(len, 256, "rng: all 256 bytes filled");
	TAP_CHECK(memcmp(vt_ptr(vh, a), zero, 100) && memcmp(vt_ptr(vh, b), zero, 156),
		  "rng: both segments got random bytes");

	/* A readable-only buffer gets nothing. */
	{
		struct vt_seg seg = { a, 16, false };

		vt_add(&d, 0, &seg, 1);
	}
	vt_kick(&d, 0);
	TAP_EQ_INT(vt_wait_used(&d, 0, &id, &len), 1, "rng: readable buffer completed");
	TAP_EQ_INT(len, 0, "rng: ... with 0 bytes");

	/* A buffer outside guest RAM fails the device, not the process. */
	{
		struct vt_seg seg = { 0x10, 16, true };

		vt_add(&d, 0, &seg, 1);
	}
	vt_kick(&d, 0);
	TAP_CHECK(vt_wait_for(vt_needs_reset_cond, &d),
		  "rng: buffer outside RAM sets DEVICE_NEEDS_RESET");
	TAP_EQ_INT(vt_bringup(&d, 0, 1), 0, "rng: reset and up again");
	{
		struct vt_seg seg = { a, 32, true };

		memset(vt_ptr(vh, a), 0, 32);
		vt_add(&d, 0, &seg, 1);
	}
	vt_kick(&d, 0);
	TAP_CHECK(vt_wait_used(&d, 0, &id, &len) && len == 32 &&
		  memcmp(vt_ptr(vh, a), zero, 32), "rng: works after reset");
	pci_bus_free(bus);
	vt_host_free(vh);
	return tap_done();
}
