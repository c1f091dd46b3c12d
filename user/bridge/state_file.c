// SPDX-License-Identifier: GPL-2.0
/* The device daemon's in-flight file; see state_file.h. */
#include "bridge/state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"

const char *state_dir_choose(const char *dir)
{
	const char *env = getenv("VBRIDGE_STATE_DIR");

	if (dir && *dir)
		return dir;
	return env && *env ? env : STATE_DIR_DEFAULT;
}

/* Ours and writable by nobody else, as a directory (dir) or a file. */
static int check_owned(const char *path, const struct stat *st, bool dir)
{
	if (dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode)) {
		log_warn("%s is not a %s", path, dir ? "directory" : "regular file");
		return -EINVAL;
	}
	if (st->st_uid != geteuid()) {
		log_warn("%s belongs to user %u, not to this daemon's user %u",
			 path, (unsigned int)st->st_uid, (unsigned int)geteuid());
		return -EPERM;
	}
	if (st->st_mode & (dir ? 022 : 077)) {
		log_warn("%s has mode %04o: it must not be %s by group or others",
			 path, (unsigned int)(st->st_mode & 07777),
			 dir ? "writable" : "accessible");
		return -EPERM;
	}
	if (!dir && st->st_nlink != 1) {
		log_warn("%s has %u hard links; it must have one", path,
			 (unsigned int)st->st_nlink);
		return -EPERM;
	}
	return 0;
}

int state_file_open(struct state_file *sf, const char *dir, uint32_t vmid,
		    const char *name, size_t len)
{
	struct stat st;
	int n, ret;

	memset(sf, 0, sizeof(*sf));
	sf->fd = -1;
	n = snprintf(sf->path, sizeof(sf->path), "%s/vm%u-%s.inflight", dir,
		     vmid, name);
	if (n < 0 || (size_t)n >= sizeof(sf->path)) {
		log_warn("state directory name '%s' is too long", dir);
		return -ENAMETOOLONG;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		ret = -errno;
		log_warn("cannot create the state directory %s: %s", dir,
			 strerror(-ret));
		return ret;
	}
	if (lstat(dir, &st)) {
		ret = -errno;
		log_warn("cannot look at the state directory %s: %s", dir,
			 strerror(-ret));
		return ret;
	}
	ret = check_owned(dir, &st, true);
	if (ret)
		return ret;
	sf->fd = open(sf->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (sf->fd < 0) {
		ret = -errno;
		if (ret == -ELOOP)
			log_warn("%s is a symbolic link", sf->path);
		else
			log_warn("cannot open %s: %s", sf->path, strerror(-ret));
		return ret;
	}
	if (fstat(sf->fd, &st)) {
		ret = -errno;
		log_warn("cannot look at %s: %s", sf->path, strerror(-ret));
		goto err;
	}
	ret = check_owned(sf->path, &st, false);
	if (ret)
		goto err;
	if ((size_t)st.st_size != len && ftruncate(sf->fd, len)) {
		ret = -errno;
		log_warn("cannot size %s to %zu bytes: %s", sf->path, len,
			 strerror(-ret));
		goto err;
	}
	sf->mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, sf->fd, 0);
	if (sf->mem == MAP_FAILED) {
		ret = -errno;
		sf->mem = NULL;
		log_warn("cannot map %s: %s", sf->path, strerror(-ret));
		goto err;
	}
	sf->len = len;
	return 0;
err:
	close(sf->fd);
	sf->fd = -1;
	return ret;
}

void state_file_close(struct state_file *sf)
{
	if (sf->mem)
		munmap(sf->mem, sf->len);
	if (sf->fd >= 0)
		close(sf->fd);
	sf->mem = NULL;
	sf->fd = -1;
}
