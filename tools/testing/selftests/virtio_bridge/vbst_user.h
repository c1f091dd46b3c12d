/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attacks as a non-root user: run_as() forks a child that drops to an
 * unused uid and gid (with setgroups/setresgid/setresuid, so every
 * capability goes too) and runs a function there; try_attach() is the
 * attach such a child tries with a frontend fd root opened.
 */
#ifndef VBST_USER_H
#define VBST_USER_H

#include <errno.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vbst_dev.h"

/* What a child does once it is unprivileged: 0 or -errno. */
typedef int (*authz_fn)(void *arg);

/*
 * Fork; in the child drop to uid/gid with the given supplementary groups
 * (every capability goes with the uid), run fn and send its result back.
 * Returns fn's result, or a positive value when the child failed itself.
 */
static inline int run_as(uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
			 authz_fn fn, void *arg)
{
	int p[2], ret = 1000, st;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return 1001;
	pid = fork();
	if (pid < 0)
		return 1002;
	if (!pid) {
		int r = 2000;

		close(p[0]);
		if (setgroups(ngroups, groups) || setresgid(gid, gid, gid) ||
		    setresuid(uid, uid, uid))
			r = 2001;
		else if (geteuid() != uid || getegid() != gid)
			r = 2002;
		else
			r = fn(arg);
		if (write(p[1], &r, sizeof(r)) != sizeof(r))
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &ret, sizeof(ret)) != sizeof(ret))
		ret = 1003;
	close(p[0]);
	st = vbst_wait_child(pid, VBST_SOON_MS);
	if (st)
		return 1004;
	return ret;
}

struct attach_arg {
	int fe;		/* a frontend fd opened by root, inherited */
	uint32_t vmid;
	uint64_t generation;
};

static inline int try_attach(void *arg)
{
	struct attach_arg *a = arg;
	struct vbridge_attach at = { .vmid = a->vmid };

	if (ioctl(a->fe, VBRIDGE_ATTACH, &at))
		return -errno;
	a->generation = at.generation;
	return 0;
}

#endif
