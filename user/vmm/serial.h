/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A board's serial line apart from its chip (a 16550 on x86, a PL011 on
 * arm64): where its output goes, whether standard input feeds it, and the
 * interrupt line it drives.  The chip calls vmm_serial_set_irq() and
 * vmm_serial_rx_drained() with the struct vmm_serial as its opaque.
 */
#ifndef VBRIDGE_VMM_SERIAL_H
#define VBRIDGE_VMM_SERIAL_H

#include <stdbool.h>

struct vmm;

/**
 * struct vmm_serial - one serial line of the board (constant once added).
 * @vm: the machine
 * @irq: its interrupt line (ISA IRQ / GSI on x86, SPI on arm64)
 * @src: its source number on @irq (lines may share one)
 * @out_fd: output fd (owned when @own_fd), -1 for a sink
 * @own_fd: @out_fd was opened for this line and is closed with it
 * @in: receives standard input
 */
struct vmm_serial {
	struct vmm *vm;
	unsigned int irq;
	unsigned int src;
	int out_fd;
	bool own_fd;
	bool in;
};

/* The chip's interrupt output and its "receive FIFO has room" event. */
void vmm_serial_set_irq(void *opaque, int level);
void vmm_serial_rx_drained(void *opaque);
/* Close @out_fd when the line owns it. */
void vmm_serial_close(struct vmm_serial *s);

#endif
