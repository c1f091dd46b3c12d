// SPDX-License-Identifier: GPL-2.0
/*
 * `vbridge ctl load --dry-run OVERLAY` (user/ctl/load.c, overlay.c, dt.c)
 * on a flattened device tree from the input, written to a file: the
 * command reads it (overlay_read), parses every vl,virtio-bridge-vm and
 * vl,virtio-device,mmio node (dt_parse_devices) and prints the
 * declarations.  Inputs that are not a flattened blob are skipped: the
 * command would hand them to dtc, which is not this project's parser.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libfdt.h>

#include "ctl/subcmd.h"
#include "lib/log.h"
#include "fz.h"

static char path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(path, sizeof(path), "%s/overlay.dtbo", fz_tmpdir());
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char arg0[] = "load", arg1[] = "--dry-run";
	char *argv[] = { arg0, arg1, path, NULL };
	int fd, ret;

	if (size < 4 || fdt_magic(data) != FDT_MAGIC)
		return -1;	/* not kept in the corpus */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		fz_fail("%s: %s", path, strerror(errno));
	close(fd);
	ret = ctl_cmd_load(3, argv);
	if (ret != EXIT_OK && ret != EXIT_USAGE)
		fz_fail("ctl load --dry-run returned %d", ret);
	return 0;
}
