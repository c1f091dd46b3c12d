/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device daemon's in-flight file: where the virtqueues of one backend
 * node record what they took and completed (user/virtio/vstate.h), in
 * memory that survives a SIGKILL of the daemon, so that the next daemon
 * on the node completes every request exactly once.
 *
 * It is <dir>/vm<N>-<name>.inflight, mapped shared; a write to it costs no
 * system call.  <dir> is --state-dir, else $VBRIDGE_STATE_DIR, else
 * /run/vbridge (a tmpfs: the records only mean something while the guest
 * they describe runs, and no guest survives a reboot).
 *
 * Whoever can write the file can make the daemon replay requests into
 * guest memory, so the directory and the file must belong to the daemon's
 * user and be writable by nobody else: a directory that is not (or a
 * symbolic link), a file that is a link, has other links, another owner,
 * or group/other permissions is refused with a message, and the daemon
 * runs without in-flight records.
 */
#ifndef VBRIDGE_BRIDGE_STATE_FILE_H
#define VBRIDGE_BRIDGE_STATE_FILE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define STATE_DIR_DEFAULT	"/run/vbridge"

struct state_file {
	char path[PATH_MAX];
	int fd;
	void *mem;		/* NULL when not open */
	size_t len;
};

/* The directory to use: dir, else $VBRIDGE_STATE_DIR, else the default. */
const char *state_dir_choose(const char *dir);

/*
 * Open (creating dir and the file as needed) the in-flight file of node
 * vm<vmid>/<name> in dir, of len bytes, and map it.  An existing file of
 * another size is resized (its contents are then not trusted by vstate).
 * Returns 0, or -errno after one message that says what was wrong.
 */
int state_file_open(struct state_file *sf, const char *dir, uint32_t vmid,
		    const char *name, size_t len);

/* Unmap and close; the file stays for the next daemon. */
void state_file_close(struct state_file *sf);

#endif
