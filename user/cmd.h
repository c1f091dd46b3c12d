/* SPDX-License-Identifier: GPL-2.0 */
/* Entry points of the vbridge subcommands; argv[0] is the command name. */
#ifndef VBRIDGE_CMD_H
#define VBRIDGE_CMD_H

int cmd_run(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_ctl(int argc, char **argv);

#endif
