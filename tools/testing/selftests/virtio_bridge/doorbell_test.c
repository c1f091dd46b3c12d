// SPDX-License-Identifier: GPL-2.0
/*
 * Doorbells: a backend asks for an eventfd on a notify address
 * (VBRIDGE_BE_ADD_DOORBELL); the frontend polls readable and
 * VBRIDGE_GET_DOORBELL hands the VMM the same eventfd to register with
 * KVM_IOEVENTFD; removal comes as a deassign record.
 */
#include <dirent.h>

#include "kselftest_harness.h"
#include "vbst_dev.h"
#include "vbst_lsm.h"

#define NOTIFY_ADDR (VBST_BAR_ADDR + 0x3000)

FIXTURE(db) {
	struct vbst_world w;
	int kick;
};

FIXTURE_SETUP(db)
{
	struct vbridge_msg m;

	vbst_world_init(&self->w);
	self->kick = -1;
	ASSERT_EQ(0, vbst_load("vmstop_timeout=1"));
	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 1)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, true, false));
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	self->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, self->kick);
}

FIXTURE_TEARDOWN(db)
{
	vbst_world_fini(&self->w);
	if (self->kick >= 0)
		close(self->kick);
	EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

TEST_F(db, add_reaches_the_vmm_with_the_same_eventfd)
{
	struct vbridge_doorbell d;
	uint64_t one = 1;
	uint32_t id = 0;

	EXPECT_FALSE(vbst_fe_readable(self->w.fe, 0));
	ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 2, self->kick, 0, 0, &id));
	ASSERT_TRUE(vbst_fe_readable(self->w.fe, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
	EXPECT_EQ(id, d.id);
	EXPECT_EQ(self->w.dev.id, d.device_id);
	EXPECT_EQ(NOTIFY_ADDR, d.addr);
	EXPECT_EQ(2, d.len);
	EXPECT_EQ(0, d.flags);
	EXPECT_EQ(0, d.rid | d.reserved[0] | d.reserved[1]);
	ASSERT_LE(0, d.fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(d.fd, F_GETFD) & FD_CLOEXEC);
	/* What KVM would do on a guest store: signal the VMM's fd... */
	ASSERT_EQ(sizeof(one), write(d.fd, &one, sizeof(one)));
	/* ...and the backend reads the kick from its own. */
	EXPECT_EQ(1, vbst_efd_take(self->kick, VBST_SOON_MS));
	close(d.fd);
	/* Consumed: nothing more pending. */
	EXPECT_FALSE(vbst_fe_readable(self->w.fe, 0));
	EXPECT_EQ(-EAGAIN, vbst_fe_get_doorbell(self->w.fe, &d));
}

TEST_F(db, datamatch_is_passed_on)
{
	struct vbridge_doorbell d;

	ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR + 4, 4, self->kick,
					  VBRIDGE_DOORBELL_F_DATAMATCH, 3, NULL));
	ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
	EXPECT_EQ(VBRIDGE_DOORBELL_F_DATAMATCH, d.flags);
	EXPECT_EQ(3, d.datamatch);
	EXPECT_EQ(4, d.len);
	close(d.fd);
}

TEST_F(db, changes_come_in_order)
{
	struct vbridge_doorbell d;
	uint32_t id[3] = { 0 };
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR + 2 * i, 2, self->kick, 0,
						  0, &id[i]));
	EXPECT_NE(id[0], id[1]);
	EXPECT_NE(id[1], id[2]);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
		EXPECT_EQ(id[i], d.id);
		EXPECT_EQ(0, d.flags & VBRIDGE_DOORBELL_F_DEASSIGN);
		close(d.fd);
	}
	/* The VMM registered id[1]: its removal must reach the VMM. */
	ASSERT_EQ(0, ioctl(self->w.be, VBRIDGE_BE_DEL_DOORBELL, (unsigned long)id[1]));
	ASSERT_TRUE(vbst_fe_readable(self->w.fe, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
	EXPECT_EQ(id[1], d.id);
	EXPECT_TRUE(d.flags & VBRIDGE_DOORBELL_F_DEASSIGN);
	EXPECT_EQ(-1, d.fd);
	EXPECT_EQ(NOTIFY_ADDR + 2, d.addr);
	EXPECT_EQ(2, d.len);
	EXPECT_EQ(-EAGAIN, vbst_fe_get_doorbell(self->w.fe, &d));
	/* Deleted once. */
	EXPECT_EQ(-1, ioctl(self->w.be, VBRIDGE_BE_DEL_DOORBELL, (unsigned long)id[1]));
	EXPECT_EQ(ENOENT, errno);
}

/*
 * uapi.rst: "Every change is delivered, in order" -- also an assignment
 * whose doorbell was removed before the VMM fetched it: the VMM gets it
 * and then its removal.
 */
TEST_F(db, removed_before_fetch_still_comes_in_order)
{
	struct vbridge_doorbell d;
	uint32_t id = 0, other = 0;

	ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 2, self->kick, 0, 0, &id));
	ASSERT_EQ(0, ioctl(self->w.be, VBRIDGE_BE_DEL_DOORBELL, (unsigned long)id));
	ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR + 8, 2, self->kick, 0, 0,
					  &other));
	ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
	EXPECT_EQ(id, d.id);
	EXPECT_EQ(0, d.flags & VBRIDGE_DOORBELL_F_DEASSIGN);
	if (d.fd >= 0)
		close(d.fd);
	ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
	EXPECT_EQ(id, d.id);
	EXPECT_TRUE(d.flags & VBRIDGE_DOORBELL_F_DEASSIGN);
	EXPECT_EQ(-1, d.fd);
	ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
	EXPECT_EQ(other, d.id);
	if (d.fd >= 0)
		close(d.fd);
	EXPECT_EQ(-EAGAIN, vbst_fe_get_doorbell(self->w.fe, &d));
}

TEST_F(db, backend_close_withdraws_its_doorbells)
{
	struct vbridge_doorbell d;
	uint32_t id[2] = { 0 };
	int i;

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR + 4 * i, 4, self->kick, 0,
						  0, &id[i]));
		ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
		close(d.fd);
	}
	close(self->w.be);
	self->w.be = -1;
	ASSERT_TRUE(vbst_fe_readable(self->w.fe, VBST_SOON_MS));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
		EXPECT_TRUE(d.flags & VBRIDGE_DOORBELL_F_DEASSIGN);
		EXPECT_TRUE(d.id == id[0] || d.id == id[1]);
		EXPECT_EQ(-1, d.fd);
	}
	EXPECT_EQ(-EAGAIN, vbst_fe_get_doorbell(self->w.fe, &d));
}

TEST_F(db, fault_keeps_the_change_pending)
{
	struct vbridge_doorbell d;
	uint32_t id = 0;

	ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 2, self->kick, 0, 0, &id));
	EXPECT_EQ(-1, ioctl(self->w.fe, VBRIDGE_GET_DOORBELL, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
	EXPECT_EQ(id, d.id);
	EXPECT_LE(0, d.fd);
	close(d.fd);
}

/*
 * The backend's eventfd reaches the VMM's file table through receive_fd(),
 * as SCM_RIGHTS does, so a security module sees (and may refuse) a file
 * of one process arriving in another.  A BPF LSM program that refuses
 * every file_receive stands in for a policy: the VMM gets -EPERM, no
 * descriptor, and the change stays pending until the policy allows it.
 */
TEST_F(db, security_module_sees_the_eventfd_arrive)
{
	struct vbridge_doorbell d;
	uint32_t id = 0;
	int link, fds;
	DIR *dir;

	ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 2, self->kick, 0, 0, &id));
	link = vbst_lsm_deny("file_receive");
	if (link < 0)
		SKIP(return, "%s", vbst_lsm_why);
	dir = opendir("/proc/self/fd");
	ASSERT_NE(NULL, dir);
	for (fds = 0; readdir(dir); fds++)
		;
	EXPECT_EQ(-EPERM, vbst_fe_get_doorbell(self->w.fe, &d)) {
		TH_LOG("the eventfd was installed without asking the security modules");
	}
	/* No descriptor was left behind. */
	rewinddir(dir);
	for (; readdir(dir); fds--)
		;
	EXPECT_EQ(0, fds);
	closedir(dir);
	close(link);

	ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
	EXPECT_EQ(id, d.id);
	EXPECT_LE(0, d.fd);
	if (d.fd >= 0)
		close(d.fd);
}

TEST_F(db, same_address_twice_is_eexist)
{
	int kick2 = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, kick2);
	ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 2, self->kick, 0, 0, NULL));
	EXPECT_EQ(-EEXIST, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 2, kick2, 0, 0, NULL));
	/* Told apart by KVM: other length, or two datamatch values. */
	EXPECT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR + 16, 4, kick2,
					  VBRIDGE_DOORBELL_F_DATAMATCH, 1, NULL));
	EXPECT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR + 16, 4, kick2,
					  VBRIDGE_DOORBELL_F_DATAMATCH, 2, NULL));
	EXPECT_EQ(-EEXIST, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR + 16, 4, kick2,
						VBRIDGE_DOORBELL_F_DATAMATCH, 2, NULL));
	close(kick2);
}

TEST_F(db, bad_requests)
{
	struct vbridge_doorbell_req r;
	struct vbridge_doorbell d;
	int pfd[2];

	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	/* Outside every window of the device, or crossing a window's end. */
	EXPECT_EQ(-EINVAL, vbst_be_add_doorbell(self->w.be, 0x7000000000ULL, 4, self->kick, 0, 0,
						NULL));
	EXPECT_EQ(-EINVAL, vbst_be_add_doorbell(self->w.be, VBST_BAR_ADDR + VBST_BAR_SIZE - 2, 4,
						self->kick, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 3, self->kick, 0, 0,
						NULL));
	EXPECT_EQ(-EINVAL, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 0, self->kick, 0, 0,
						NULL));
	EXPECT_EQ(-EINVAL, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 2, pfd[0], 0, 0, NULL));
	EXPECT_EQ(-EBADF, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 2, 1000, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 2, self->kick,
						VBRIDGE_DOORBELL_F_DEASSIGN, 0, NULL));
	EXPECT_EQ(-EINVAL, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 2, self->kick, 0x80, 0,
						NULL));
	memset(&r, 0, sizeof(r));
	r.addr = NOTIFY_ADDR;
	r.len = 2;
	r.fd = self->kick;
	r.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(self->w.be, VBRIDGE_BE_ADD_DOORBELL, &r));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->w.be, VBRIDGE_BE_DEL_DOORBELL, 12345UL));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, ioctl(self->w.be, VBRIDGE_BE_DEL_DOORBELL, 1UL << 32));
	EXPECT_EQ(EINVAL, errno);
	/* None of them reached the VMM. */
	EXPECT_FALSE(vbst_fe_readable(self->w.fe, 0));
	EXPECT_EQ(-EAGAIN, vbst_fe_get_doorbell(self->w.fe, &d));
	close(pfd[0]);
	close(pfd[1]);
}

TEST_F(db, limit_per_device)
{
	struct vbridge_doorbell d;
	int i, ret;

	for (i = 0; i < VBRIDGE_MAX_DOORBELLS; i++)
		ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR + 4 * i, 4, self->kick, 0,
						  0, NULL)) {
			TH_LOG("doorbell %d", i);
		}
	ret = vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR + 4 * i, 4, self->kick, 0, 0, NULL);
	EXPECT_EQ(-ENOSPC, ret);
	for (i = 0; i < VBRIDGE_MAX_DOORBELLS; i++) {
		ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
		close(d.fd);
	}
	EXPECT_EQ(-EAGAIN, vbst_fe_get_doorbell(self->w.fe, &d));
}

TEST_F(db, get_doorbell_reserved_in)
{
	struct vbridge_doorbell d;

	ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 2, self->kick, 0, 0, NULL));
	memset(&d, 0, sizeof(d));
	d.reserved[0] = 1;
	EXPECT_EQ(-1, ioctl(self->w.fe, VBRIDGE_GET_DOORBELL, &d));
	EXPECT_EQ(EINVAL, errno);
	/* Still pending for a well-formed call. */
	ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
	close(d.fd);
}

TEST_F(db, no_vm_is_enotconn)
{
	struct vbridge_msg m;

	ASSERT_EQ(0, ioctl(self->w.fe, VBRIDGE_STOP));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	EXPECT_EQ(-ENOTCONN, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 2, self->kick, 0, 0,
						  NULL));
}

TEST_HARNESS_MAIN
