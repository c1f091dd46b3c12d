// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/vmm/pci_x86.c: CF8/CFC decoding, the host bridge,
 * forwarding to the bus, the 0xcf9 reset register and INTx wiring.
 */
#include <string.h>

#include "arch/x86/pci.h"
#include "tap.h"
#include "vmm/vmm.h"

/* A fake bus that records the last access and answers a pattern. */
static struct {
	unsigned int devfn, reg, len, calls;
	uint32_t val;
	int write;
} last;
static int resets;

static uint32_t fake_read(void *ctx, unsigned int devfn, unsigned int reg,
			  unsigned int len)
{
	last.devfn = devfn;
	last.reg = reg;
	last.len = len;
	last.write = 0;
	last.calls++;
	return 0xabcd0000 | devfn << 8 | reg;
}

static void fake_write(void *ctx, unsigned int devfn, unsigned int reg,
		       unsigned int len, uint32_t val)
{
	last.devfn = devfn;
	last.reg = reg;
	last.len = len;
	last.val = val;
	last.write = 1;
	last.calls++;
}

static const struct pci_cfg_ops fake_ops = { fake_read, fake_write };

static void reset_cb(void *ctx)
{
	resets++;
}

static uint64_t io(struct pci_x86 *p, unsigned int port, unsigned int len,
		   int write, uint64_t val)
{
	struct io_access a = {
		.addr = port, .off = port - PCI_X86_CONF_PORT, .len = len,
		.write = write, .val = val,
	};

	pci_x86_io(p, &a);
	return a.val;
}

static uint32_t cf8(unsigned int bus, unsigned int dev, unsigned int fn,
		    unsigned int reg)
{
	return PCI_X86_ENABLE | bus << 16 | dev << 11 | fn << 8 | reg;
}

static void test_decode(void)
{
	unsigned int devfn = 99, reg = 99;

	TAP_CHECK(pci_x86_decode(cf8(0, 3, 1, 0x10), 0, 4, &devfn, &reg),
		  "decode: dword at 00:03.1 reg 0x10");
	TAP_EQ_INT(devfn, 3 << 3 | 1, "decode: devfn");
	TAP_EQ_INT(reg, 0x10, "decode: reg");
	TAP_CHECK(pci_x86_decode(cf8(0, 3, 0, 0x3c), 2, 2, &devfn, &reg),
		  "decode: word at 0xcfe");
	TAP_EQ_INT(reg, 0x3e, "decode: port offset added to reg");
	TAP_CHECK(pci_x86_decode(cf8(0, 31, 7, 0xff), 3, 1, &devfn, &reg),
		  "decode: byte at 0xcff, low bits of CF8 ignored");
	TAP_EQ_INT(reg, 0xff, "decode: reg 0xff");
	TAP_EQ_INT(devfn, 0xff, "decode: devfn 31.7");
	TAP_CHECK(!pci_x86_decode(cf8(0, 3, 0, 0) & ~PCI_X86_ENABLE, 0, 4, &devfn, &reg),
		  "decode: enable bit clear is no cycle");
	TAP_CHECK(!pci_x86_decode(cf8(1, 3, 0, 0), 0, 4, &devfn, &reg),
		  "decode: bus 1 is empty");
	TAP_CHECK(!pci_x86_decode(cf8(0, 3, 0, 0), 1, 2, &devfn, &reg),
		  "decode: misaligned word rejected");
	TAP_CHECK(!pci_x86_decode(cf8(0, 3, 0, 0), 2, 4, &devfn, &reg),
		  "decode: dword crossing the data port rejected");
}

static void test_io(void)
{
	struct pci_x86 p;

	pci_x86_init(&p, &fake_ops, NULL, reset_cb, NULL);
	/* Linux's type-1 probe: outl(0x80000000, 0xcf8), inl(0xcf8) */
	io(&p, 0xcfb, 1, 1, 0x01);
	io(&p, 0xcf8, 4, 1, 0x80000000);
	TAP_EQ_U64(io(&p, 0xcf8, 4, 0, 0), 0x80000000, "CF8 latch reads back");
	TAP_EQ_U64(io(&p, 0xcfc, 4, 0, 0), 0x00081b36,
		   "00:00.0 is the host bridge (vendor/device)");
	io(&p, 0xcf8, 4, 1, cf8(0, 0, 0, 0x08));
	TAP_EQ_U64(io(&p, 0xcfc, 4, 0, 0) >> 8, 0x060000, "host bridge class");
	io(&p, 0xcf8, 4, 1, cf8(0, 0, 0, 0x0c));
	TAP_EQ_U64(io(&p, 0xcfe, 1, 0, 0), 0, "host bridge header type 0");
	TAP_EQ_INT(last.calls, 0, "host bridge answered without the bus");

	io(&p, 0xcf8, 4, 1, cf8(0, 2, 0, 0x04));
	TAP_EQ_U64(io(&p, 0xcfe, 2, 0, 0), 0x10 << 8 | 0x06,
		   "00:02.0 read forwarded, masked to its length");
	TAP_CHECK(last.devfn == 0x10 && last.reg == 0x06 && last.len == 2 &&
		  !last.write, "forwarded read: devfn, reg, len");
	io(&p, 0xcfd, 1, 1, 0x1ff);
	TAP_CHECK(last.write && last.reg == 0x05 && last.len == 1 &&
		  last.val == 0xff, "forwarded write: reg, len, value masked");

	last.calls = 0;
	io(&p, 0xcf8, 4, 1, cf8(0, 2, 0, 0x04) & ~PCI_X86_ENABLE);
	TAP_EQ_U64(io(&p, 0xcfc, 4, 0, 0), 0xffffffff, "disabled cycle reads all-ones");
	io(&p, 0xcf8, 4, 1, cf8(1, 2, 0, 0x04));
	TAP_EQ_U64(io(&p, 0xcfc, 2, 0, 0), 0xffff, "bus 1 reads all-ones");
	io(&p, 0xcfc, 4, 1, 0x1234);
	TAP_EQ_INT(last.calls, 0, "nothing forwarded for bus 1");

	TAP_EQ_INT(resets, 0, "no reset yet");
	io(&p, 0xcf9, 1, 1, 0x02);
	TAP_EQ_INT(resets, 0, "0xcf9 without RST_CPU does not reset");
	io(&p, 0xcf9, 1, 1, 0x06);
	TAP_EQ_INT(resets, 1, "0xcf9 = 6 (the FADT reset value) resets");
	TAP_EQ_U64(io(&p, 0xcf8, 4, 0, 0), cf8(1, 2, 0, 0x04),
		   "0xcf9 byte writes leave the latch alone");
	pci_x86_destroy(&p);

	pci_x86_init(&p, NULL, NULL, NULL, NULL);
	io(&p, 0xcf8, 4, 1, cf8(0, 5, 0, 0));
	TAP_EQ_U64(io(&p, 0xcfc, 4, 0, 0), 0xffffffff, "no bus: empty slots");
	pci_x86_destroy(&p);
}

static void test_intx(void)
{
	unsigned int slot, pin, ok = 1, hits[24] = { 0 };

	for (slot = 1; slot < 32; slot++)
		for (pin = 1; pin <= 4; pin++) {
			unsigned int g = pci_x86_intx_gsi(slot, pin);

			if (g < 16 || g > 23)
				ok = 0;
			else
				hits[g]++;
		}
	TAP_CHECK(ok, "INTx: every line on IOAPIC pins 16-23");
	TAP_CHECK(pci_x86_intx_gsi(1, 1) != pci_x86_intx_gsi(2, 1),
		  "INTx: INTA# of neighbouring slots differ");
	TAP_CHECK(hits[16] && hits[23], "INTx: all pins used");
}

/* Slots sharing a GSI: the line is the OR of their levels. */
static void test_shared_line(void)
{
	uint32_t src = 0;

	TAP_EQ_INT(vmm_irq_update(&src, 1, 1), 1, "shared line: first source raises it");
	TAP_EQ_INT(vmm_irq_update(&src, 9, 1), -1, "shared line: second source, no change");
	TAP_EQ_INT(vmm_irq_update(&src, 1, 0), -1, "shared line: one still high, stays up");
	TAP_EQ_INT(vmm_irq_update(&src, 1, 0), -1, "shared line: lowering twice is no change");
	TAP_EQ_INT(vmm_irq_update(&src, 9, 0), 0, "shared line: last source lowers it");
	TAP_EQ_INT(vmm_irq_update(&src, 9, 0), -1, "shared line: already low");
	TAP_EQ_INT(vmm_irq_update(&src, 32, 1), -1, "shared line: source 32 ignored");
	TAP_EQ_U64(src, 0, "shared line: no stray source bits");
}

int main(void)
{
	test_decode();
	test_io();
	test_intx();
	test_shared_line();
	return tap_done();
}
