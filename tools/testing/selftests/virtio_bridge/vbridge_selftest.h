/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the virtio_bridge kselftests: loading and unloading the
 * module under test without modprobe, reading its parameters.
 *
 * The module is $VBRIDGE_KO (default /root/virtio_bridge.ko).
 */
#ifndef VBRIDGE_SELFTEST_H
#define VBRIDGE_SELFTEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * The harness runs each test body under setjmp(); GCC then warns that the
 * locals of EXPECT_*() "might be clobbered", which cannot happen: after the
 * longjmp only the teardown runs, and it does not read them.
 */
#pragma GCC diagnostic ignored "-Wclobbered"

/*
 * Linux 6.1's kselftest harness runs a test's body even after its
 * FIXTURE_SETUP() called SKIP() (and reports a failing assertion of that
 * body as a failure): a body whose setup may skip starts with this.
 */
#define VBST_SKIPPED_IN_SETUP()						\
	do {								\
		if (_metadata->skip)					\
			return;						\
	} while (0)

#define VBRIDGE_PARAM_DIR "/sys/module/virtio_bridge/parameters/"

static inline const char *vbst_ko_path(void)
{
	const char *p = getenv("VBRIDGE_KO");

	return p ? p : "/root/virtio_bridge.ko";
}

static inline int vbst_unload_wait(int timeout_ms);

/*
 * insmod with the given parameter string; returns 0 or -errno.
 *
 * A test killed by the harness's timeout never runs its teardown, so a
 * module still loaded here is a previous test's leftover: it is unloaded
 * first (once its last file is released), and the load fails with -EEXIST
 * only if that is impossible.
 */
static inline int vbst_load(const char *params)
{
	int fd;
	int ret;

	if (access("/sys/module/virtio_bridge", F_OK) == 0) {
		fprintf(stderr, "# virtio_bridge left loaded by an earlier test, unloading\n");
		if (vbst_unload_wait(5000))
			return -EEXIST;
	}
	fd = open(vbst_ko_path(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params ? params : "", 0);
	if (ret)
		ret = -errno;
	close(fd);
	return ret;
}

/* rmmod; returns 0 or -errno (-EWOULDBLOCK/-EBUSY when still in use). */
static inline int vbst_unload(void)
{
	if (syscall(SYS_delete_module, "virtio_bridge", O_NONBLOCK))
		return -errno;
	return 0;
}

/*
 * rmmod, retrying while the module is still referenced (files being
 * released by a child that is exiting); 0 or the last -errno.
 */
static inline int vbst_unload_wait(int timeout_ms)
{
	int ret;

	for (;;) {
		ret = vbst_unload();
		if (ret != -EWOULDBLOCK && ret != -EBUSY && ret != -EAGAIN)
			return ret;
		if (timeout_ms <= 0)
			return ret;
		usleep(20000);
		timeout_ms -= 20;
	}
}

static inline int vbst_is_loaded(void)
{
	return access("/sys/module/virtio_bridge", F_OK) == 0;
}

/* Read a small sysfs/proc file into buf, trailing newline removed. */
static inline int vbst_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

static inline int vbst_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* A module parameter's value as text, or "" when unreadable. */
static inline const char *vbst_param(const char *name, char *buf, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), VBRIDGE_PARAM_DIR "%s", name);
	if (vbst_read_file(path, buf, len))
		buf[0] = '\0';
	return buf;
}

#endif
