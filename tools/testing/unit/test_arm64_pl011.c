// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/arch/arm64/pl011.c: what the AMBA bus and Linux's
 * amba-pl011 driver read when they probe, the interrupt rules (RX trigger
 * level, receive timeout, TX, overrun, the mask), the receive FIFO and
 * its room, output through the ring, and the access widths Linux (16-bit),
 * its earlycon (8-bit) and u-boot (32-bit) use.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "arch/arm64/pl011.h"
#include "tap.h"

static int irq_level, irq_changes, drained;

static void set_irq(void *opaque, int level)
{
	irq_level = level;
	irq_changes++;
}

static void rx_drained(void *opaque)
{
	drained++;
}

static uint32_t rd(struct pl011 *u, unsigned int off)
{
	uint32_t v = 0xdeadbeef;

	pl011_access(u, off, 4, false, &v);
	return v;
}

static void wr(struct pl011 *u, unsigned int off, uint32_t v)
{
	pl011_access(u, off, 4, true, &v);
}

/* What Linux's pl011_startup/set_termios leave: FIFO on, RX/RT masked in. */
static void linux_setup(struct pl011 *u)
{
	wr(u, PL011_IBRD, 13);
	wr(u, PL011_FBRD, 1);
	wr(u, PL011_LCR_H, PL011_LCR_H_WLEN_8 | PL011_LCR_H_FEN);
	wr(u, PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE);
	wr(u, PL011_ICR, PL011_INT_ALL);
	wr(u, PL011_IMSC, PL011_INT_RX | PL011_INT_RT);
}

static void test_probe(void)
{
	static const uint8_t ids[8] = { 0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };
	struct pl011 u;
	unsigned int i;
	int ok = 1;

	pl011_init(&u, -1, set_irq, rx_drained, NULL);
	for (i = 0; i < 8; i++)
		ok &= rd(&u, 0xfe0 + 4 * i) == ids[i];
	TAP_CHECK(ok, "probe: PeriphID 0x00141011 (arm pl011 r1), PCellID 0xb105f00d");
	TAP_EQ_INT(rd(&u, PL011_CR), 0x300, "reset: CR = TXE | RXE");
	TAP_EQ_INT(rd(&u, PL011_IFLS), 0x12, "reset: IFLS = 1/2, 1/2");
	TAP_EQ_INT(rd(&u, PL011_LCR_H), 0, "reset: LCR_H = 0");
	TAP_EQ_INT(rd(&u, PL011_IMSC), 0, "reset: all interrupts masked");
	TAP_EQ_INT(rd(&u, PL011_FR), PL011_FR_TXFE | PL011_FR_RXFE | PL011_FR_CTS |
		   PL011_FR_DSR | PL011_FR_DCD,
		   "reset: FR = TX empty, RX empty, CTS DSR DCD, not busy");
	TAP_EQ_INT(pl011_rx_room(&u), 0, "reset: no room before UARTEN");

	wr(&u, PL011_IBRD, 0x1ffff);
	TAP_EQ_INT(rd(&u, PL011_IBRD), 0xffff, "IBRD: 16 bits");
	wr(&u, PL011_FBRD, 0xff);
	TAP_EQ_INT(rd(&u, PL011_FBRD), 0x3f, "FBRD: 6 bits");
	wr(&u, PL011_LCR_H, 0x1ff);
	TAP_EQ_INT(rd(&u, PL011_LCR_H), 0xff, "LCR_H: 8 bits");
	wr(&u, PL011_IFLS, 0xff);
	TAP_EQ_INT(rd(&u, PL011_IFLS), 0x3f, "IFLS: 6 bits");
	wr(&u, PL011_IMSC, 0xffff);
	TAP_EQ_INT(rd(&u, PL011_IMSC), 0x7ff, "IMSC: 11 bits");
	wr(&u, PL011_IMSC, 0);
	wr(&u, PL011_DMACR, 0xff);
	TAP_EQ_INT(rd(&u, PL011_DMACR), 7, "DMACR: 3 bits read back");
	wr(&u, PL011_CR, 0xffff);
	TAP_EQ_INT(rd(&u, PL011_CR), 0xff87, "CR: reserved bits 6:3 read 0");
	TAP_EQ_INT(rd(&u, PL011_ICR), 0, "ICR reads 0");
	TAP_EQ_INT(rd(&u, 0x800), 0, "reserved offset reads 0");
	TAP_EQ_INT(irq_level, 0, "probe: no interrupt raised");
	pl011_destroy(&u);
}

static void test_rx(void)
{
	uint8_t buf[40];
	struct pl011 u;
	unsigned int i;
	int ok = 1;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = 'a' + i;
	pl011_init(&u, -1, set_irq, rx_drained, NULL);
	irq_level = 0;
	drained = 0;
	TAP_EQ_INT(pl011_rx_push(&u, buf, 3), 0, "rx: receiver off takes nothing");
	wr(&u, PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE);
	TAP_EQ_INT(drained, 1, "rx: enabling the receiver calls rx_drained");
	TAP_EQ_INT(pl011_rx_room(&u), 1, "rx: FIFO off: 1-byte holding register");
	TAP_EQ_INT(pl011_rx_push(&u, buf, 3), 1, "rx: FIFO off: takes one byte");
	TAP_EQ_INT(rd(&u, PL011_FR) & (PL011_FR_RXFF | PL011_FR_RXFE), PL011_FR_RXFF,
		   "rx: FIFO off: one byte is full");
	TAP_EQ_INT(rd(&u, PL011_RIS) & (PL011_INT_RX | PL011_INT_RT),
		   PL011_INT_RX | PL011_INT_RT, "rx: FIFO off: RX at one byte, and RT");
	TAP_EQ_INT(irq_level, 0, "rx: masked: line low");
	wr(&u, PL011_IMSC, PL011_INT_RX);
	TAP_EQ_INT(irq_level, 1, "rx: unmasking raises the line");
	TAP_EQ_INT(rd(&u, PL011_MIS), PL011_INT_RX, "rx: MIS = RIS & IMSC");
	TAP_EQ_INT(rd(&u, PL011_DR), 'a', "rx: DR gives the byte");
	TAP_EQ_INT(irq_level, 0, "rx: reading it lowers the line");
	TAP_EQ_INT(drained, 2, "rx: reading a full FIFO calls rx_drained");
	TAP_EQ_INT(rd(&u, PL011_RIS), 0, "rx: RX and RT gone with the FIFO empty");
	pl011_destroy(&u);

	pl011_init(&u, -1, set_irq, rx_drained, NULL);
	irq_level = 0;
	drained = 0;
	linux_setup(&u);
	TAP_EQ_INT(pl011_rx_room(&u), 32, "rx: FIFO on: 32 bytes");
	TAP_EQ_INT(pl011_rx_push(&u, buf, 5), 5, "rx: five bytes in");
	TAP_EQ_INT(rd(&u, PL011_RIS) & (PL011_INT_RX | PL011_INT_RT), PL011_INT_RT,
		   "rx: below the 1/2 trigger: only the receive timeout");
	TAP_EQ_INT(irq_level, 1, "rx: RT raises the line");
	wr(&u, PL011_ICR, PL011_INT_RT);
	TAP_EQ_INT(irq_level, 0, "rx: ICR clears RT");
	TAP_EQ_INT(pl011_rx_push(&u, buf + 5, 11), 11, "rx: to 16 bytes");
	TAP_EQ_INT(rd(&u, PL011_MIS), PL011_INT_RX | PL011_INT_RT,
		   "rx: 16 bytes reach the 1/2 trigger: RX (and RT again)");
	TAP_EQ_INT(rd(&u, PL011_DR), 'a', "rx: first byte first");
	TAP_EQ_INT(rd(&u, PL011_RIS) & PL011_INT_RX, 0,
		   "rx: below the trigger again: RX cleared");
	TAP_EQ_INT(irq_level, 1, "rx: RT still up while bytes remain");
	for (i = 1; i < 16; i++)
		ok &= rd(&u, PL011_DR) == 'a' + i;
	TAP_CHECK(ok, "rx: the rest in order");
	TAP_EQ_INT(rd(&u, PL011_FR) & PL011_FR_RXFE, PL011_FR_RXFE, "rx: RXFE when empty");
	TAP_EQ_INT(irq_level, 0, "rx: empty FIFO: line low");
	TAP_EQ_INT(rd(&u, PL011_DR), 0, "rx: reading an empty FIFO gives 0");

	wr(&u, PL011_IFLS, 0);		/* 1/8: 4 bytes */
	pl011_rx_push(&u, buf, 4);
	TAP_EQ_INT(rd(&u, PL011_RIS) & PL011_INT_RX, PL011_INT_RX,
		   "rx: IFLS 1/8 triggers at 4 bytes");
	wr(&u, PL011_IFLS, 4 << 3);	/* 7/8: 28 bytes */
	while (rd(&u, PL011_DR))
		;
	TAP_EQ_INT(pl011_rx_push(&u, buf, 27), 27, "rx: 27 bytes");
	TAP_EQ_INT(rd(&u, PL011_RIS) & PL011_INT_RX, 0, "rx: 7/8 not reached at 27");
	TAP_EQ_INT(pl011_rx_push(&u, buf, 40), 5, "rx: the FIFO takes 5 more, not 40");
	TAP_EQ_INT(rd(&u, PL011_RIS) & PL011_INT_RX, PL011_INT_RX, "rx: 7/8 reached");
	TAP_EQ_INT(rd(&u, PL011_FR) & PL011_FR_RXFF, PL011_FR_RXFF, "rx: RXFF when full");
	TAP_EQ_INT(pl011_rx_room(&u), 0, "rx: no room when full");
	drained = 0;
	rd(&u, PL011_DR);
	TAP_EQ_INT(drained, 1, "rx: reading a full FIFO calls rx_drained once");
	rd(&u, PL011_DR);
	TAP_EQ_INT(drained, 1, "rx: ... not again while it had room");

	wr(&u, PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE);
	TAP_EQ_INT(pl011_rx_room(&u), 0, "rx: RXE off: no room");
	drained = 0;
	wr(&u, PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE);
	TAP_EQ_INT(drained, 1, "rx: RXE back on calls rx_drained");
	pl011_destroy(&u);
}

static void test_tx_loop_overrun(void)
{
	struct pl011 u;
	uint8_t in = 'z';

	pl011_init(&u, -1, set_irq, rx_drained, NULL);
	irq_level = 0;
	linux_setup(&u);
	wr(&u, PL011_IMSC, PL011_INT_TX);
	TAP_EQ_INT(irq_level, 0, "tx: no TX interrupt before anything is sent");
	wr(&u, PL011_DR, 'x');
	TAP_EQ_INT(irq_level, 1, "tx: a sent byte raises TX");
	TAP_EQ_INT(rd(&u, PL011_FR) & (PL011_FR_TXFE | PL011_FR_TXFF | PL011_FR_BUSY),
		   PL011_FR_TXFE, "tx: FIFO empty at once, never full or busy");
	wr(&u, PL011_ICR, PL011_INT_TX);
	TAP_EQ_INT(irq_level, 0, "tx: ICR clears TX");
	wr(&u, PL011_IMSC, 0);

	wr(&u, PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE | PL011_CR_LBE);
	TAP_EQ_INT(pl011_rx_push(&u, &in, 1), 1, "loopback: input is dropped");
	TAP_EQ_INT(rd(&u, PL011_FR) & PL011_FR_RXFE, PL011_FR_RXFE,
		   "loopback: ... and not received");
	wr(&u, PL011_DR, 'L');
	TAP_EQ_INT(rd(&u, PL011_DR), 'L', "loopback: a sent byte is received");
	for (unsigned int i = 0; i < PL011_FIFO + 1; i++)
		wr(&u, PL011_DR, '0' + i);
	TAP_EQ_INT(rd(&u, PL011_RIS) & PL011_INT_OE, PL011_INT_OE,
		   "overrun: 33rd byte into 32: OE");
	TAP_EQ_INT(rd(&u, PL011_RSR), PL011_RSR_OE, "overrun: RSR says so");
	TAP_EQ_INT(rd(&u, PL011_DR), '0' | PL011_DR_OE, "overrun: DR carries OE, oldest byte kept");
	wr(&u, PL011_RSR, 0);
	TAP_EQ_INT(rd(&u, PL011_RSR), 0, "overrun: ECR write clears RSR");
	TAP_EQ_INT(rd(&u, PL011_DR), '1', "overrun: next byte clean");
	wr(&u, PL011_ICR, PL011_INT_ALL);
	TAP_EQ_INT(rd(&u, PL011_RIS) & PL011_INT_OE, 0, "overrun: ICR clears OE");
	pl011_destroy(&u);
}

static void test_widths_output(void)
{
	struct pl011 u;
	struct io_access a;
	char got[16] = "";
	uint32_t v;
	int p[2];

	if (pipe(p))
		return;
	pl011_init(&u, p[1], set_irq, rx_drained, NULL);
	v = 'h';
	pl011_access(&u, PL011_DR, 1, true, &v);	/* earlycon: strb */
	v = 0x100 | 'i';
	pl011_access(&u, PL011_DR, 2, true, &v);	/* Linux: strh */
	v = '!';
	pl011_access(&u, PL011_DR, 4, true, &v);	/* u-boot: str */
	v = 'X';
	pl011_access(&u, PL011_DR, 8, true, &v);	/* not a PL011 access */
	pl011_access(&u, PL011_DR + 3, 2, true, &v);	/* crosses the register */

	v = 0;
	pl011_access(&u, PL011_FR, 2, false, &v);
	TAP_EQ_INT(v, rd(&u, PL011_FR), "width: 16-bit FR read");
	pl011_access(&u, 0xff4, 1, false, &v);
	TAP_EQ_INT(v, 0xf0, "width: 8-bit PCellID1 read");
	pl011_access(&u, PL011_CR + 1, 1, false, &v);
	TAP_EQ_INT(v, 0x03, "width: byte 1 of CR is TXE|RXE >> 8");
	v = 1;
	pl011_access(&u, PL011_DR, 8, false, &v);
	TAP_EQ_INT(v, 0, "width: 64-bit read gives 0");

	a = (struct io_access){ .off = PL011_IBRD, .len = 4, .write = true, .val = 26 };
	pl011_io(&u, &a);
	a = (struct io_access){ .off = PL011_IBRD, .len = 4, .write = false, .val = 0 };
	pl011_io(&u, &a);
	TAP_EQ_INT(a.val, 26, "io handler: write then read IBRD");
	a = (struct io_access){ .off = 0x1000, .len = 4, .write = false, .val = 5 };
	pl011_io(&u, &a);
	TAP_EQ_INT(a.val, 0, "io handler: outside the page reads 0");

	TAP_EQ_INT(pl011_out_dropped(&u), 0, "output: nothing dropped");
	pl011_destroy(&u);	/* writes out what is queued */
	close(p[1]);
	TAP_EQ_INT(read(p[0], got, sizeof(got)), 3, "output: three bytes written");
	TAP_CHECK(!memcmp(got, "hi!", 3), "output: 8-, 16- and 32-bit stores, in order");
	close(p[0]);
}

int main(void)
{
	test_probe();
	test_rx();
	test_tx_loop_overrun();
	test_widths_output();
	return tap_done();
}
