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
#include "vbst_dev.h"

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
	EXPECT_STREQ("0", vbst_param("inflight_timeout_ms", self->buf, sizeof(self->buf)));
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

/* Out of 0..86400: refused, and the value in force stays. */
TEST_F(loaded, vmstop_timeout_write_out_of_range_keeps_the_old_value)
{
	const char *p = VBRIDGE_PARAM_DIR "vmstop_timeout";

	ASSERT_EQ(0, vbst_write_file(p, "9"));
	EXPECT_STREQ("9", vbst_param("vmstop_timeout", self->buf, sizeof(self->buf)));
	EXPECT_EQ(-EINVAL, vbst_write_file(p, "86401"));
	EXPECT_STREQ("9", vbst_param("vmstop_timeout", self->buf, sizeof(self->buf)));
	EXPECT_EQ(-EINVAL, vbst_write_file(p, "-1"));
	EXPECT_STREQ("9", vbst_param("vmstop_timeout", self->buf, sizeof(self->buf)));
	/* Both ends of the range are values. */
	ASSERT_EQ(0, vbst_write_file(p, "86400"));
	EXPECT_STREQ("86400", vbst_param("vmstop_timeout", self->buf, sizeof(self->buf)));
	ASSERT_EQ(0, vbst_write_file(p, "0"));
	EXPECT_STREQ("0", vbst_param("vmstop_timeout", self->buf, sizeof(self->buf)));
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

TEST_F(loaded, open_backend_node_holds_module)
{
	struct vbst_world w;

	vbst_world_init(&w);
	ASSERT_EQ(0, vbst_world_declare(&w, VBST_VMID, VBST_NAME, 1)) {
		TH_LOG("%s", vbst_why);
	}
	vbst_nl_close(&w.nl);
	w.be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	ASSERT_LE(0, w.be);
	EXPECT_EQ(-EWOULDBLOCK, vbst_unload());
	EXPECT_TRUE(vbst_is_loaded());
	close(w.be);
}

TEST_F(loaded, guest_ram_mapping_holds_module)
{
	struct vbst_world w;
	void *p;

	vbst_world_init(&w);
	ASSERT_EQ(0, vbst_world_declare(&w, VBST_VMID, VBST_NAME, 1)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_world_start_vm(&w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	w.be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	ASSERT_LE(0, w.be);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, w.be, VBST_RAM_GPA);
	ASSERT_NE(MAP_FAILED, p);
	/* Every file closed; only the backend's mapping is left. */
	vbst_world_fini(&w);
	EXPECT_EQ(-EWOULDBLOCK, vbst_unload());
	EXPECT_TRUE(vbst_is_loaded());
	munmap(p, 4096);
}

TEST(unload_with_devices_and_a_stopped_vm)
{
	struct vbst_world w;
	uint64_t v;
	int32_t res;

	vbst_world_init(&w);
	ASSERT_EQ(0, vbst_load("vmstop_timeout=1"));
	/* Devices declared, a VM that ran and served a load, all closed. */
	ASSERT_EQ(0, vbst_world_up(&w, 2)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_guest_read(w.fe, VBST_BAR_ADDR, 4, &v, &res));
	EXPECT_EQ(0, res);
	vbst_world_fini(&w);
	ASSERT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
	EXPECT_FALSE(vbst_is_loaded());
	EXPECT_FALSE(vbst_be_exists(VBST_VMID, VBST_NAME));
	EXPECT_NE(0, access("/dev/virtio/vm3", F_OK));
	/* The family went with the module. */
	EXPECT_EQ(-ENOENT, vbst_nl_open(&w.nl));
	/* And it comes back clean. */
	ASSERT_EQ(0, vbst_load(""));
	EXPECT_FALSE(vbst_be_exists(VBST_VMID, VBST_NAME));
	EXPECT_EQ(0, vbst_unload());
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

TEST(vmstop_timeout_out_of_range_refused_at_insmod)
{
	char buf[64];

	EXPECT_EQ(-EINVAL, vbst_load("vmstop_timeout=86401"));
	EXPECT_FALSE(vbst_is_loaded());
	EXPECT_EQ(-EINVAL, vbst_load("vmstop_timeout=-1"));
	EXPECT_FALSE(vbst_is_loaded());
	EXPECT_NE(0, access(VBRIDGE_FRONTEND_NODE, F_OK));
	/* The largest value is one. */
	ASSERT_EQ(0, vbst_load("vmstop_timeout=86400"));
	EXPECT_STREQ("86400", vbst_param("vmstop_timeout", buf, sizeof(buf)));
	EXPECT_EQ(0, vbst_unload());
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
