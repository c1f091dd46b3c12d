// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/vmm/uart.c: what Linux's 8250 driver checks when it
 * probes a 16550A, the THR-empty interrupt rules, receive FIFO and IRQ.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86/uart.h"
#include "lib/out_ring.h"
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

static uint8_t rd(struct uart *u, unsigned int off)
{
	uint8_t v = 0;

	uart_io(u, off, false, &v);
	return v;
}

static void wr(struct uart *u, unsigned int off, uint8_t v)
{
	uart_io(u, off, true, &v);
}

/* The probe sequence of serial8250's autoconfig(), in short. */
static void test_probe(void)
{
	struct uart u;

	uart_init(&u, -1, set_irq, rx_drained, NULL);
	wr(&u, UART_IER, 0);
	TAP_EQ_INT(rd(&u, UART_IER) & 0x0f, 0, "probe: IER reads back 0");
	wr(&u, UART_IER, 0x0f);
	TAP_EQ_INT(rd(&u, UART_IER) & 0x0f, 0x0f, "probe: IER reads back 0x0f");
	wr(&u, UART_IER, 0);

	wr(&u, UART_MCR, UART_MCR_LOOP | 0x0a);
	TAP_EQ_INT(rd(&u, UART_MSR) & 0xf0, 0x90,
		   "probe: loopback RTS|OUT2 reads CTS|DCD");
	wr(&u, UART_MCR, UART_MCR_LOOP | 0x05);
	TAP_EQ_INT(rd(&u, UART_MSR) & 0xf0, 0x60,
		   "probe: loopback DTR|OUT1 reads DSR|RI");
	wr(&u, UART_MCR, 0);

	wr(&u, UART_SCR, 0xa5);
	TAP_EQ_INT(rd(&u, UART_SCR), 0xa5, "probe: scratch register");

	wr(&u, UART_FCR, UART_FCR_ENABLE);
	TAP_EQ_INT(rd(&u, UART_IIR) >> 6, 3, "probe: FIFO enabled reads as 16550A");
	wr(&u, UART_FCR, 0);
	TAP_EQ_INT(rd(&u, UART_IIR) >> 6, 0, "probe: FIFO disabled reads as 16450");

	wr(&u, UART_LCR, UART_LCR_DLAB);
	wr(&u, UART_DLL, 0x01);
	wr(&u, UART_DLM, 0x02);
	TAP_EQ_INT(rd(&u, UART_DLL), 0x01, "DLAB: divisor low");
	TAP_EQ_INT(rd(&u, UART_DLM), 0x02, "DLAB: divisor high");
	wr(&u, UART_LCR, 0x03);
	TAP_EQ_INT(rd(&u, UART_IER), 0, "DLAB off: IER again, untouched");
	TAP_EQ_INT(rd(&u, UART_LSR) & 0x60, 0x60, "LSR: transmitter empty");
	TAP_EQ_INT(irq_level, 0, "probe: no interrupt left raised");
	uart_destroy(&u);
}

static void test_thri(void)
{
	struct uart u;

	uart_init(&u, -1, set_irq, rx_drained, NULL);
	irq_level = 0;
	TAP_EQ_INT(rd(&u, UART_IIR) & 0x0f, UART_IIR_NO_INT, "THRI: none pending at reset");
	wr(&u, UART_IER, UART_IER_THRI);
	TAP_EQ_INT(irq_level, 1, "THRI: enabling it with THR empty raises the IRQ");
	TAP_EQ_INT(rd(&u, UART_IIR) & 0x0f, UART_IIR_THRI, "THRI: IIR says THR empty");
	TAP_EQ_INT(irq_level, 0, "THRI: reading IIR acknowledges it");
	TAP_EQ_INT(rd(&u, UART_IIR) & 0x0f, UART_IIR_NO_INT, "THRI: gone after IIR read");
	wr(&u, UART_THR, 'x');
	TAP_EQ_INT(irq_level, 1, "THRI: a transmitted byte raises it again");
	wr(&u, UART_IER, 0);
	TAP_EQ_INT(irq_level, 0, "THRI: masking lowers the line");
	wr(&u, UART_IER, UART_IER_THRI);
	TAP_EQ_INT(rd(&u, UART_IIR) & 0x0f, UART_IIR_THRI,
		   "THRI: re-enabling raises it (no 'THRE bug' seen by Linux)");
	wr(&u, UART_IER, 0);
	uart_destroy(&u);
}

static void test_output(void)
{
	struct uart u;
	char got[16] = "";
	int p[2];

	if (pipe(p))
		return;
	uart_init(&u, p[1], set_irq, rx_drained, NULL);
	wr(&u, UART_THR, 'h');
	wr(&u, UART_THR, 'i');
	wr(&u, UART_LCR, UART_LCR_DLAB);
	wr(&u, UART_THR, 'X');	/* divisor, not data */
	wr(&u, UART_LCR, 0x03);
	wr(&u, UART_MCR, UART_MCR_LOOP);
	wr(&u, UART_THR, 'L');	/* loopback: back to RX, not out */
	TAP_EQ_INT(rd(&u, UART_LSR) & UART_LSR_DR, UART_LSR_DR,
		   "loopback: byte arrives in the receiver");
	TAP_EQ_INT(rd(&u, UART_RBR), 'L', "loopback: the byte sent");
	wr(&u, UART_MCR, 0);
	uart_destroy(&u);	/* writes out what is queued */
	close(p[1]);
	TAP_EQ_INT(read(p[0], got, sizeof(got)), 2, "output: two bytes written");
	TAP_CHECK(!memcmp(got, "hi", 2), "output: the bytes sent, in order");
	close(p[0]);
}

/*
 * Output to a pipe nobody reads: the THR stores (a vCPU's) keep
 * completing, what does not fit is dropped and counted, and what was kept
 * arrives, in order, once someone reads.
 */
#define STALL_BYTES	(OUT_RING_SIZE + (1u << 20))

struct stall {
	struct uart *u;
	sem_t done;
};

static void *stall_writer(void *arg)
{
	struct stall *st = arg;
	unsigned int i;

	for (i = 0; i < STALL_BYTES; i++)
		wr(st->u, UART_THR, i % 251);
	sem_post(&st->done);
	return NULL;
}

struct reader {
	int fd;
	uint8_t *buf;
	size_t cap, total;
};

/* Read fd to its end (or until buf is full, then discard). */
static void *pipe_reader(void *arg)
{
	struct reader *r = arg;
	uint8_t sink[4096];
	ssize_t n;

	for (;;) {
		if (r->total < r->cap)
			n = read(r->fd, r->buf + r->total, r->cap - r->total);
		else
			n = read(r->fd, sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		if (r->total < r->cap)
			r->total += n;
	}
}

static void test_output_stalled(void)
{
	struct reader rd_arg;
	pthread_t rt;
	static uint8_t got[STALL_BYTES];
	struct stall st;
	struct timespec ts;
	struct uart u;
	pthread_t t;
	size_t total, i;
	uint64_t dropped;
	bool done, order = true;
	int p[2];

	if (pipe(p))
		return;
	TAP_EQ_INT(uart_init(&u, p[1], set_irq, rx_drained, NULL), 0, "stall: uart up");
	st.u = &u;
	sem_init(&st.done, 0, 0);
	pthread_create(&t, NULL, stall_writer, &st);
	/* Failure guard of 10 s, not a timing assertion. */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	while (!(done = !sem_timedwait(&st.done, &ts)) && errno == EINTR)
		;
	if (done)
		pthread_join(t, NULL);
	TAP_CHECK(done, "stall: THR stores complete while nobody reads the output");
	dropped = uart_out_dropped(&u);
	TAP_CHECK(dropped > 0 && dropped <= STALL_BYTES - OUT_RING_SIZE,
		  "stall: the bytes that did not fit were dropped and counted");
	/* Now read: the kept bytes are the first ones, in order. */
	rd_arg.fd = p[0];
	rd_arg.buf = got;
	rd_arg.cap = sizeof(got);
	rd_arg.total = 0;
	pthread_create(&rt, NULL, pipe_reader, &rd_arg);
	if (!done) {
		pthread_join(t, NULL);	/* the reader unblocked the store */
		dropped = uart_out_dropped(&u);
	}
	uart_destroy(&u);	/* writes out the rest of the ring */
	close(p[1]);
	pthread_join(rt, NULL);
	total = rd_arg.total;
	for (i = 0; i < total; i++)
		if (got[i] != i % 251)
			order = false;
	TAP_EQ_INT(total, STALL_BYTES - dropped, "stall: every byte kept arrives");
	TAP_CHECK(order, "stall: in the order written");
	close(p[0]);
	sem_destroy(&st.done);
}

static void test_rx(void)
{
	uint8_t buf[UART_RX_SIZE + 10];
	struct uart u;
	unsigned int i;
	int ok = 1;

	uart_init(&u, -1, set_irq, rx_drained, NULL);
	irq_level = 0;
	drained = 0;
	TAP_EQ_INT(uart_rx_room(&u), UART_RX_SIZE, "RX: empty FIFO");
	TAP_EQ_INT(uart_rx_push(&u, (const uint8_t *)"ab", 2), 2, "RX: push two bytes");
	TAP_EQ_INT(irq_level, 0, "RX: no IRQ while RDI is masked");
	wr(&u, UART_IER, UART_IER_RDI);
	TAP_EQ_INT(irq_level, 1, "RX: IRQ once RDI is enabled");
	TAP_EQ_INT(rd(&u, UART_IIR) & 0x0f, UART_IIR_RDI, "RX: IIR says data");
	TAP_EQ_INT(rd(&u, UART_RBR), 'a', "RX: first byte");
	TAP_EQ_INT(rd(&u, UART_RBR), 'b', "RX: second byte");
	TAP_EQ_INT(rd(&u, UART_LSR) & UART_LSR_DR, 0, "RX: LSR data-ready clear");
	TAP_EQ_INT(irq_level, 0, "RX: IRQ dropped when drained");

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = i;
	TAP_EQ_INT(uart_rx_push(&u, buf, sizeof(buf)), UART_RX_SIZE,
		   "RX: push stops when the FIFO is full");
	TAP_EQ_INT(uart_rx_room(&u), 0, "RX: no room");
	TAP_EQ_INT(rd(&u, UART_RBR), 0, "RX: oldest byte first");
	TAP_EQ_INT(drained, 1, "RX: taking from a full FIFO tells the input side");
	for (i = 1; i < UART_RX_SIZE; i++)
		if (rd(&u, UART_RBR) != (uint8_t)i)
			ok = 0;
	TAP_CHECK(ok, "RX: every byte in order");
	wr(&u, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLR_RX);
	uart_rx_push(&u, (const uint8_t *)"z", 1);
	wr(&u, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLR_RX);
	TAP_EQ_INT(rd(&u, UART_LSR) & UART_LSR_DR, 0, "RX: FCR clears the FIFO");
	wr(&u, UART_IER, 0);
	TAP_EQ_INT(rd(&u, 9), 0xff, "register past 7 reads all-ones");
	uart_destroy(&u);
}

int main(void)
{
	test_probe();
	test_thri();
	test_output();
	test_output_stalled();
	test_rx();
	return tap_done();
}
