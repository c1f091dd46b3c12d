// SPDX-License-Identifier: GPL-2.0
/*
 * The PCI bus and the virtio-pci transport (user/pci/pci.c,
 * user/virtio/virtio_pci.c) under any sequence of guest accesses: config
 * space through ECAM (any offset, length 1 to 15, 64-bit accesses split
 * as a host bridge does) and as type-1 cycles to any devfn, loads and
 * stores anywhere in memory (the BARs wherever the guest moved them, or
 * nowhere), kicks, BAR assignment by the host, and a save of what the
 * guest programmed (configuration header, transport state) put back,
 * after the input changed any bytes of it, into the same functions
 * (pci_func_check_cfg / pci_func_restore_cfg, and with MSI-X the table
 * and PBA: pci_msix_check / pci_msix_restore, which must give back what
 * it was given) or checked against them (virtio_dev_check_state, the
 * MSI-X vectors among the rest).
 *
 * Two functions share the bus: virtio-rng (no device configuration) in
 * slot 1 and virtio-input (a writable one) in slot 2; slot 0 is empty.
 * With the first byte's bit 1 the host takes MSIs and both functions have
 * MSI-X (its table and PBA are in BAR 0, which the loads and stores reach).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio_devs.h"
#include "fz.h"

#define NR_FUNCS	2

static struct virtio_dev *vds[NR_FUNCS];
static struct pci_bus *bus;

static void poll_all(void)
{
	unsigned int i;

	for (i = 0; i < NR_FUNCS; i++)
		fz_poll(vds[i]);
}

static struct virtio_dev *pick(struct fz *f)
{
	return vds[fz_u8(f) % NR_FUNCS];
}

/* The same for the MSI-X table and PBA: what checks out is put back. */
static void msix_save_restore(struct fz *f, struct virtio_dev *vd)
{
	uint8_t ms[PCI_MSIX_STATE_SIZE(5)], again[sizeof(ms)];
	size_t len = PCI_MSIX_STATE_SIZE(vd->msix.nr);
	unsigned int n = fz_u8(f) % 8, i;
	char why[160];

	if (len > sizeof(ms))
		fz_fail("%u MSI-X vectors: more than the queues allow", vd->msix.nr);
	pci_msix_save(&vd->msix, ms);
	for (i = 0; i < n; i++)
		ms[fz_u8(f) % len] ^= fz_u8(f);
	if (pci_msix_check(&vd->msix, ms, why, sizeof(why)))
		return;
	if (pci_msix_restore(&vd->msix, ms))
		fz_fail("an MSI-X state that checks out was refused");
	pci_msix_save(&vd->msix, again);
	if (memcmp(ms, again, len))
		fz_fail("the MSI-X state restored is not the one given");
	pci_msix_send_pending(&vd->msix);
}

/* Save, let the input change it, put back: what a restarted host does. */
static void op_save_restore(struct fz *f)
{
	struct virtio_dev *vd = pick(f);
	struct virtio_queue_state qs[4];
	struct virtio_dev_state st = { .queues = qs };
	uint8_t cfg[PCI_LEGACY_CFG_SIZE];
	unsigned int n = fz_u8(f) % 8, i;
	char why[160];

	pci_func_save_cfg(&vd->func, cfg);
	for (i = 0; i < n; i++)
		cfg[fz_u8(f)] ^= fz_u8(f);
	if (pci_func_check_cfg(&vd->func, cfg) == 0 &&
	    pci_func_restore_cfg(&vd->func, cfg))
		fz_fail("a configuration header that checks out was refused");
	if (vd->info.num_queues > 4)
		fz_fail("too many queues");
	virtio_dev_save(vd, &st);
	st.status ^= fz_u8(f);
	st.isr ^= fz_u8(f);
	st.guest_features ^= fz_u64(f);
	qs[0].size ^= fz_u16(f);
	qs[0].enabled ^= fz_u8(f) & 1;
	st.msix_config ^= fz_u16(f);
	qs[0].msix_vector ^= fz_u16(f);
	virtio_dev_check_state(vd, &st, why, sizeof(why));
	if (vd->msix.f)
		msix_save_restore(f, vd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t setup = fz_u8(&f);
	struct fz_host *h = fz_host_reset(setup & 1 ? -ENOSPC : 0);
	struct input_info info;
	unsigned int i;
	int sv[2];

	memset(&info, 0, sizeof(info));
	strcpy(info.name, "fuzz");
	info.ev[0][0] = 0x3;
	info.ev[1][4] = 0x10;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		fz_fail("socketpair: %s", strerror(errno));
	if (setup & 2)
		fz_host_msi(h);
	bus = pci_bus_new(&h->host);
	vds[0] = rng_new();
	vds[1] = input_new(sv[0], "fuzz", &info);
	if ((setup & 2) && vds[0] && vds[1] &&
	    (virtio_dev_add_msix(vds[0]) || virtio_dev_add_msix(vds[1])))
		fz_fail("cannot add MSI-X");
	if (!bus || !vds[0] || !vds[1] ||
	    pci_bus_add(bus, PCI_DEVFN(1, 0), &vds[0]->func) ||
	    pci_bus_add(bus, PCI_DEVFN(2, 0), &vds[1]->func))
		fz_fail("cannot make the bus");
	h->func = NULL;		/* doorbells of either: not checked */
	if (pci_bus_assign_bars(bus, FZ_BAR, 0x100000))
		fz_fail("cannot assign BARs");

	while (f.n) {
		uint8_t op = fz_u8(&f) % 8, buf[256];
		struct virtio_dev *vd;
		unsigned int len, devfn;
		uint64_t val, addr;
		bool write;

		switch (op) {
		case 0:		/* ECAM: slots 0-3 mostly, anything sometimes */
			addr = fz_u32(&f);
			if (!(addr & 0x80000000u))
				addr &= 0x1ffff;
			len = fz_len(&f);
			write = fz_u8(&f) & 1;
			val = fz_u64(&f);
			pci_bus_ecam_access(bus, addr, len, write, &val);
			break;
		case 1:		/* a type-1 cycle */
			devfn = fz_u8(&f);
			addr = fz_u16(&f);
			len = fz_len(&f);
			write = fz_u8(&f) & 1;
			val = fz_u32(&f);
			if (write)
				pci_bus_cfg_write(bus, devfn, addr, len, val);
			else
				pci_bus_cfg_read(bus, devfn, addr, len);
			break;
		case 2:		/* memory: in a BAR as it is now, or anywhere */
			vd = pick(&f);
			addr = fz_u16(&f);
			if (addr & 0x8000)
				addr = fz_u64(&f);
			else
				addr = pci_func_bar_addr(&vd->func, 0) + (addr & 0x3fff);
			len = fz_len(&f);
			write = fz_u8(&f) & 1;
			val = fz_u64(&f);
			pci_bus_mmio(bus, addr, len, write, &val);
			break;
		case 3:		/* guest RAM, for rings */
			addr = FZ_RAM_A + fz_u16(&f) % FZ_RAM_SIZE;
			len = fz_u8(&f);
			fz_bytes(&f, buf, len);
			fz_ram_write(addr, buf, len);
			break;
		case 4:		/* the host places the BARs again */
			addr = FZ_BAR ^ fz_u64(&f);
			val = 0x100000 ^ fz_u64(&f);
			pci_bus_assign_bars(bus, addr, val);
			break;
		case 5:
			op_save_restore(&f);
			break;
		case 6:		/* the host stops and resets a device */
			vd = pick(&f);
			virtio_dev_pause(vd);
			virtio_dev_reset(vd);
			break;
		default:
			virtio_dev_kick_all(pick(&f));
			break;
		}
		poll_all();
	}
	pci_bus_free(bus);	/* frees both; input closes sv[0] */
	close(sv[1]);
	for (i = 0; i < NR_FUNCS; i++)
		vds[i] = NULL;
	return 0;
}
