/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The generic netlink client of vbridge ctl (libnl-genl-3): declaring and
 * removing devices, overrides, reports, and the "events" group.
 *
 * Every call returns 0 (or a count) or a negative errno as the kernel sent
 * it; the kernel's extended-ack message, if any, is in c->ext_msg.
 */
#ifndef VBRIDGE_CTL_NL_H
#define VBRIDGE_CTL_NL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl/ctl.h"
#include "ctl/dt.h"

struct nl_sock;

struct ctl_nl {
	struct nl_sock *sk;
	int family;
	int mcgrp;		/* id of the "events" group, 0 if none */
	char ext_msg[256];
};

/* -ENOENT when the family is not registered (module not loaded). */
int ctl_nl_open(struct ctl_nl *c);
void ctl_nl_close(struct ctl_nl *c);

int ctl_nl_dev_add(struct ctl_nl *c, const struct dt_device *d);
int ctl_nl_dev_del(struct ctl_nl *c, uint32_t vmid, const char *name);
/* Sends the overrides of o; o->clear is sent alone, before them. */
int ctl_nl_dev_set(struct ctl_nl *c, uint32_t vmid, const char *name,
		   const struct ctl_override *o);
/* Who may attach vmid: the CTL_VM_* settings of o (VM_SET). */
int ctl_nl_vm_set(struct ctl_nl *c, uint32_t vmid, const struct ctl_override *o);
/* Every device / VM; *out is malloc'ed, the count is returned. */
int ctl_nl_dev_dump(struct ctl_nl *c, struct ctl_dev **out);
int ctl_nl_vm_dump(struct ctl_nl *c, struct ctl_vm **out);

/* Join the events group on this socket (use a socket of its own). */
int ctl_nl_subscribe(struct ctl_nl *c);
/*
 * Wait for events (timeout_ms < 0: forever) and call fn for each one
 * received; fn returns non-zero to stop.  While it waits, the signal mask
 * is *sigmask (NULL: unchanged), so a caller that blocks its stop signals
 * and passes its old mask gets them only here, as -EINTR, and never
 * between a check of its stop flag and the wait (ppoll's guarantee).
 * Returns fn's value, 0 on timeout, -EINTR when a signal arrived,
 * -ENOBUFS when events were lost (the socket stays usable), or another
 * -errno.
 */
int ctl_nl_events(struct ctl_nl *c, int timeout_ms, const sigset_t *sigmask,
		  int (*fn)(const struct ctl_event *e, void *arg), void *arg);

#endif
