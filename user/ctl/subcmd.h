/* SPDX-License-Identifier: GPL-2.0 */
/* The subcommands of vbridge ctl and what they share. */
#ifndef VBRIDGE_CTL_SUBCMD_H
#define VBRIDGE_CTL_SUBCMD_H

#include "ctl/ctl.h"
#include "ctl/nl.h"

/* argv[0] is the subcommand's name; each returns an EXIT_* status. */
int ctl_cmd_load(int argc, char **argv);
int ctl_cmd_unload(int argc, char **argv);
int ctl_cmd_status(int argc, char **argv);
int ctl_cmd_events(int argc, char **argv);
int ctl_cmd_set(int argc, char **argv);

/* Open the family; on failure say why and return the exit status. */
int ctl_open(struct ctl_nl *c);
/* Report a failed request about a device; returns EXIT_FAIL. */
int ctl_report(struct ctl_nl *c, int err, const char *what, uint32_t vmid,
	       const char *name);
/*
 * Find the device a command-line reference names (a bare name must be
 * unique among all VMs).  Returns 0, or an EXIT_* status after a message.
 */
int ctl_resolve(struct ctl_nl *c, const char *arg, uint32_t *vmid, char *name);

/* True when argv[i] is -h/--help. */
int ctl_wants_help(int argc, char **argv);

#endif
