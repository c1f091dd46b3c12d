// SPDX-License-Identifier: GPL-2.0
/*
 * Loading and unloading virtio_bridge.ko: parameter defaults and overrides,
 * the frontend node, the API version, unknown ioctls, the module refcount
 * held by an open node, and a clean kernel afterwards.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kselftest_harness.h"
#include "virtio_bridge.h"
#include "vbridge_selftest.h"

FIXTURE(loaded) {
	char buf[64];
};

FIXTURE_SETUP(loaded)
{
	ASSERT_EQ(0, vbst_load(""));
}

FIXTURE_TEARDOWN(loaded)
{
	EXPECT_EQ(0, vbst_unload());
}

TEST_F(loaded, parameter_defaults)
{
	EXPECT_STREQ("5", vbst_param("vmstop_timeout", self->buf, sizeof(self->buf)));
	EXPECT_STREQ("Y", vbst_param("vmstop_autoack", self->buf, sizeof(self->buf)));
	EXPECT_STREQ("1000", vbst_param("retry_timeout_ms", self->buf, sizeof(self->buf)));
}

TEST_F(loaded, parameters_writable_at_runtime)
{
	struct stat st;

	ASSERT_EQ(0, stat(VBRIDGE_PARAM_DIR "retry_timeout_ms", &st));
	EXPECT_EQ(0644, st.st_mode & 07777);
	ASSERT_EQ(0, vbst_write_file(VBRIDGE_PARAM_DIR "retry_timeout_ms", "-1"));
	EXPECT_STREQ("-1", vbst_param("retry_timeout_ms", self->buf, sizeof(self->buf)));
	ASSERT_EQ(0, vbst_write_file(VBRIDGE_PARAM_DIR "vmstop_autoack", "N"));
	EXPECT_STREQ("N", vbst_param("vmstop_autoack", self->buf, sizeof(self->buf)));
	/* Not a number: refused, old value kept. */
	EXPECT_EQ(-EINVAL, vbst_write_file(VBRIDGE_PARAM_DIR "vmstop_timeout", "soon"));
	EXPECT_STREQ("5", vbst_param("vmstop_timeout", self->buf, sizeof(self->buf)));
}

TEST_F(loaded, frontend_node)
{
	struct stat st;
	int fd;

	ASSERT_EQ(0, stat(VBRIDGE_FRONTEND_NODE, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);

	fd = open(VBRIDGE_FRONTEND_NODE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(VBRIDGE_API_VERSION, ioctl(fd, VBRIDGE_GET_API_VERSION));
	/* An ioctl of another driver's magic and an unknown one of ours. */
	EXPECT_EQ(-1, ioctl(fd, _IO('T', 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(fd, _IO(VBRIDGE_IOCTL_MAGIC, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

TEST_F(loaded, open_node_holds_module)
{
	int fd = open(VBRIDGE_FRONTEND_NODE, O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EWOULDBLOCK, vbst_unload());
	EXPECT_TRUE(vbst_is_loaded());
	close(fd);
	/* The teardown's unload must now succeed. */
}

TEST(parameter_overrides_at_insmod)
{
	char buf[64];

	ASSERT_EQ(0, vbst_load("vmstop_timeout=7 vmstop_autoack=N retry_timeout_ms=-1"));
	EXPECT_STREQ("7", vbst_param("vmstop_timeout", buf, sizeof(buf)));
	EXPECT_STREQ("N", vbst_param("vmstop_autoack", buf, sizeof(buf)));
	EXPECT_STREQ("-1", vbst_param("retry_timeout_ms", buf, sizeof(buf)));
	EXPECT_EQ(0, vbst_unload());
}

TEST(bad_parameter_refused)
{
	/* A value that is not a number fails the load and leaves nothing. */
	EXPECT_EQ(-EINVAL, vbst_load("vmstop_timeout=forever"));
	EXPECT_FALSE(vbst_is_loaded());
	EXPECT_NE(0, access(VBRIDGE_FRONTEND_NODE, F_OK));
}

TEST(clean_unload)
{
	char buf[64];
	unsigned long taint;

	ASSERT_EQ(0, vbst_load(""));
	ASSERT_EQ(0, vbst_unload());
	EXPECT_FALSE(vbst_is_loaded());
	EXPECT_NE(0, access(VBRIDGE_FRONTEND_NODE, F_OK));
	/* Out-of-tree (O, 0x1000) and unsigned (E, 0x2000) only. */
	ASSERT_EQ(0, vbst_read_file("/proc/sys/kernel/tainted", buf, sizeof(buf)));
	taint = strtoul(buf, NULL, 0);
	EXPECT_EQ(0UL, taint & ~0x3000UL) {
		TH_LOG("kernel taint is 0x%lx", taint);
	}
}

TEST_HARNESS_MAIN
