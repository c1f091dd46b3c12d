// SPDX-License-Identifier: GPL-2.0
/*
 * The authorization model, each boundary attacked by a non-root user: a
 * forked child drops to an unused uid (4242 and neighbours) with
 * setgroups/setresgid/setresuid, then tries.
 *
 *  - a backend node carries the owner, group and mode of its declaration
 *    (PROVIDER_UID, PROVIDER_GID, NODE_MODE; root, root, 0600 by default):
 *    only its provider opens it (EACCES for anyone else);
 *  - a removed device's id and minor are not reused at once, so a node
 *    made for it opens nothing later;
 *  - a vmid is attached only by its owner (VM_SET VMM_UID / VMM_GID) or
 *    CAP_SYS_ADMIN: EPERM for anyone else, with or without an owner;
 *  - VM_SET and every other mutation need CAP_NET_ADMIN, and so does
 *    joining the "events" group (EPERM);
 *  - a VM dump gives the VMM's pid as the reader's pid namespace sees it,
 *    and none to a reader in whose namespace the VMM is not.
 *
 * The module's answer is asserted exactly: EACCES from open(), EPERM from
 * VBRIDGE_ATTACH, netlink and the group join, ENXIO from a stale node.
 */
#include <grp.h>
#include <sched.h>
#include <sys/sysmacros.h>

#include "kselftest_harness.h"
#include "vbst_dev.h"
#include "vbst_user.h"

#define PROVIDER	4242	/* the declared provider's uid and gid */
#define STRANGER	4243	/* another unprivileged user */
#define VMM_USER	4244	/* the vmid's owner */
#define VMM_GROUP	4245	/* the vmid's owner group */
#define OTHER_VM	4	/* a vmid with a device of its own */

static int try_open(void *arg)
{
	int fd = open(arg, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* VM_SET from an unprivileged socket. */
static int try_vm_set(void *arg)
{
	struct vbst_msg m;
	struct vbst_nl nl;
	int ret;

	ret = vbst_nl_open(&nl);
	if (ret)
		return ret == -EPERM ? -1000 : ret;	/* not the answer sought */
	vbst_msg_init(&m, nl.family, VBRIDGE_CMD_VM_SET, 0);
	vbst_put_u32(&m, VBRIDGE_A_VMID, VBST_VMID);
	vbst_put_u32(&m, VBRIDGE_A_VMM_UID, STRANGER);
	ret = vbst_nl_request(&nl, &m, NULL, NULL);
	vbst_nl_close(&nl);
	return ret;
}

/* DEV_ADD from an unprivileged socket, with an owner it would like. */
static int try_dev_add(void *arg)
{
	struct vbst_devspec d;
	struct vbst_msg m;
	struct vbst_nl nl;
	int ret;

	ret = vbst_nl_open(&nl);
	if (ret)
		return ret == -EPERM ? -1000 : ret;
	vbst_std_spec(&d, 7, "mine", 1);
	vbst_msg_init(&m, nl.family, VBRIDGE_CMD_DEV_ADD, 0);
	vbst_put_devspec(&m, &d);
	vbst_put_u32(&m, VBRIDGE_A_PROVIDER_UID, STRANGER);
	ret = vbst_nl_request(&nl, &m, NULL, NULL);
	vbst_nl_close(&nl);
	return ret;
}

static int try_subscribe(void *arg)
{
	struct vbst_nl nl;
	int ret;

	ret = vbst_nl_open(&nl);
	if (ret)
		return ret == -EPERM ? -1000 : ret;
	if (!nl.mcgrp_events)
		ret = -1001;
	else
		ret = vbst_nl_subscribe(&nl);
	vbst_nl_close(&nl);
	return ret;
}

/* DEV_ADD of the standard device with node attributes (NULL: absent). */
static int dev_add_node(struct vbst_nl *nl, uint32_t vmid, const char *name,
			const uint32_t *uid, const uint32_t *gid, const uint32_t *mode)
{
	struct vbst_devspec d;
	struct vbst_msg m;

	vbst_std_spec(&d, vmid, name, 1);
	vbst_msg_init(&m, nl->family, VBRIDGE_CMD_DEV_ADD, 0);
	vbst_put_devspec(&m, &d);
	if (uid)
		vbst_put_u32(&m, VBRIDGE_A_PROVIDER_UID, *uid);
	if (gid)
		vbst_put_u32(&m, VBRIDGE_A_PROVIDER_GID, *gid);
	if (mode)
		vbst_put_u32(&m, VBRIDGE_A_NODE_MODE, *mode);
	return vbst_nl_request(nl, &m, NULL, NULL);
}

/* VM_SET; VBRIDGE_ID_NONE removes, NULL leaves alone. */
static int vm_set(struct vbst_nl *nl, uint32_t vmid, const uint32_t *uid,
		  const uint32_t *gid)
{
	struct vbst_msg m;

	vbst_msg_init(&m, nl->family, VBRIDGE_CMD_VM_SET, 0);
	vbst_put_u32(&m, VBRIDGE_A_VMID, vmid);
	if (uid)
		vbst_put_u32(&m, VBRIDGE_A_VMM_UID, *uid);
	if (gid)
		vbst_put_u32(&m, VBRIDGE_A_VMM_GID, *gid);
	return vbst_nl_request(nl, &m, NULL, NULL);
}

FIXTURE(authz) {
	struct vbst_nl nl;
	char path[128];
};

FIXTURE_SETUP(authz)
{
	self->nl.fd = -1;
	ASSERT_EQ(0, vbst_load(NULL));
	ASSERT_EQ(0, vbst_nl_open(&self->nl));
	vbst_be_path(self->path, sizeof(self->path), VBST_VMID, VBST_NAME);
}

FIXTURE_TEARDOWN(authz)
{
	vbst_nl_close(&self->nl);
	EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

/* Default: root, root, 0600; no unprivileged user opens it. */
TEST_F(authz, node_default_is_root_0600)
{
	struct vbst_devinfo di;
	struct stat st;

	ASSERT_EQ(0, dev_add_node(&self->nl, VBST_VMID, VBST_NAME, NULL, NULL, NULL)) {
		TH_LOG("%s", self->nl.ext_msg);
	}
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
	EXPECT_EQ(-EACCES, run_as(PROVIDER, PROVIDER, NULL, 0, try_open, self->path));
	/* Root still does: the existing providers run as root. */
	EXPECT_EQ(0, try_open(self->path));
	ASSERT_EQ(0, vbst_dev_get(&self->nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_TRUE(di.has_node);
	EXPECT_EQ(0, di.provider_uid);
	EXPECT_EQ(0, di.provider_gid);
	EXPECT_EQ(0600, di.node_mode);
	EXPECT_FALSE(di.has_vmm_uid);
	EXPECT_FALSE(di.has_vmm_gid);
}

/* The declared provider opens its node; nobody else unprivileged does. */
TEST_F(authz, node_opened_only_by_its_provider)
{
	uint32_t uid = PROVIDER, gid = PROVIDER, mode = 0600;
	uint32_t gmode = 0660;
	gid_t grp = PROVIDER;
	struct stat st;

	ASSERT_EQ(0, dev_add_node(&self->nl, VBST_VMID, VBST_NAME, &uid, &gid, &mode)) {
		TH_LOG("%s", self->nl.ext_msg);
	}
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(PROVIDER, st.st_uid);
	EXPECT_EQ(PROVIDER, st.st_gid);
	EXPECT_EQ(0, run_as(PROVIDER, PROVIDER, NULL, 0, try_open, self->path));
	EXPECT_EQ(-EACCES, run_as(STRANGER, STRANGER, NULL, 0, try_open, self->path));
	/* Even in the provider's group: mode 0600 leaves the group out. */
	EXPECT_EQ(-EACCES, run_as(STRANGER, STRANGER, &grp, 1, try_open, self->path));

	/* Another VM's node, group-readable for its own group only. */
	uid = 0;
	gid = VMM_GROUP;
	ASSERT_EQ(0, dev_add_node(&self->nl, OTHER_VM, VBST_NAME, &uid, &gid, &gmode)) {
		TH_LOG("%s", self->nl.ext_msg);
	}
	vbst_be_path(self->path, sizeof(self->path), OTHER_VM, VBST_NAME);
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(0660, st.st_mode & 07777);
	EXPECT_EQ(VMM_GROUP, st.st_gid);
	/* vm3's provider cannot open vm4's node and map vm4's RAM. */
	EXPECT_EQ(-EACCES, run_as(PROVIDER, PROVIDER, NULL, 0, try_open, self->path));
	grp = VMM_GROUP;
	EXPECT_EQ(0, run_as(STRANGER, STRANGER, &grp, 1, try_open, self->path));
}

/* The module reports the node's owner and refuses what is not one. */
TEST_F(authz, node_attributes_validated)
{
	uint32_t uid = PROVIDER, gid = STRANGER, mode = 0640;
	uint32_t bad_mode[] = { 0, 01000, 04600, 02600, 0100600 };
	uint32_t none = VBRIDGE_ID_NONE;
	struct vbst_devinfo di;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad_mode); i++) {
		EXPECT_EQ(-ERANGE, dev_add_node(&self->nl, VBST_VMID, VBST_NAME, NULL, NULL,
						&bad_mode[i])) {
			TH_LOG("mode 0%o", bad_mode[i]);
		}
		EXPECT_FALSE(vbst_be_exists(VBST_VMID, VBST_NAME));
	}
	EXPECT_EQ(-EINVAL, dev_add_node(&self->nl, VBST_VMID, VBST_NAME, &none, NULL, NULL));
	EXPECT_NE(NULL, strstr(self->nl.ext_msg, "uid"));
	EXPECT_EQ(-EINVAL, dev_add_node(&self->nl, VBST_VMID, VBST_NAME, NULL, &none, NULL));
	EXPECT_NE(NULL, strstr(self->nl.ext_msg, "gid"));
	EXPECT_FALSE(vbst_be_exists(VBST_VMID, VBST_NAME));
	EXPECT_EQ(-ENOENT, vbst_dev_get(&self->nl, VBST_VMID, VBST_NAME, &di));

	ASSERT_EQ(0, dev_add_node(&self->nl, VBST_VMID, VBST_NAME, &uid, &gid, &mode));
	ASSERT_EQ(0, vbst_dev_get(&self->nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_TRUE(di.has_node);
	EXPECT_EQ(PROVIDER, di.provider_uid);
	EXPECT_EQ(STRANGER, di.provider_gid);
	EXPECT_EQ(0640, di.node_mode);
	ASSERT_EQ(0, vm_set(&self->nl, VBST_VMID, &uid, NULL));
	ASSERT_EQ(0, vbst_dev_get(&self->nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_TRUE(di.has_vmm_uid);
	EXPECT_EQ(PROVIDER, di.vmm_uid);
	EXPECT_FALSE(di.has_vmm_gid);
	/* Unprivileged users may not declare (and so pick their own owner). */
	EXPECT_EQ(-EPERM, run_as(STRANGER, STRANGER, NULL, 0, try_dev_add, NULL));
}

/* A removed device's id and minor go to no later device. */
TEST_F(authz, ids_not_reused)
{
	struct vbst_devinfo a, b;
	char stale[] = "/tmp/authz-stale-node";
	struct stat sa, sb;
	int fd;

	ASSERT_EQ(0, dev_add_node(&self->nl, VBST_VMID, VBST_NAME, NULL, NULL, NULL));
	ASSERT_EQ(0, vbst_dev_get(&self->nl, VBST_VMID, VBST_NAME, &a));
	ASSERT_EQ(0, stat(self->path, &sa));
	/* A copy of the node, as a bind mount into a sandbox would keep it. */
	unlink(stale);
	ASSERT_EQ(0, mknod(stale, S_IFCHR | 0600, sa.st_rdev));
	fd = open(stale, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, vbst_dev_del(&self->nl, VBST_VMID, VBST_NAME));

	/* The next declaration, same name and vmid even. */
	ASSERT_EQ(0, dev_add_node(&self->nl, VBST_VMID, VBST_NAME, NULL, NULL, NULL));
	ASSERT_EQ(0, vbst_dev_get(&self->nl, VBST_VMID, VBST_NAME, &b));
	ASSERT_EQ(0, stat(self->path, &sb));
	EXPECT_NE(a.id, b.id);
	EXPECT_NE(minor(sa.st_rdev), minor(sb.st_rdev));
	EXPECT_EQ(major(sa.st_rdev), major(sb.st_rdev));
	/* The stale node opens nothing (no such minor), never the new device. */
	fd = open(stale, O_RDWR | O_CLOEXEC);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(ENXIO, errno);
	if (fd >= 0)
		close(fd);
	unlink(stale);
}

/* Without an owner only CAP_SYS_ADMIN attaches; with one, its owner. */
TEST_F(authz, attach_only_by_owner)
{
	struct attach_arg a = { .vmid = VBST_VMID };
	uint32_t uid = VMM_USER, gid = VMM_GROUP, none = VBRIDGE_ID_NONE;
	gid_t grp = VMM_GROUP;
	struct vbst_vminfo vi;
	int fe;

	ASSERT_EQ(0, dev_add_node(&self->nl, VBST_VMID, VBST_NAME, NULL, NULL, NULL));
	fe = vbst_fe_open(0);
	ASSERT_LE(0, fe);
	a.fe = fe;

	/* No owner: nobody unprivileged, not even a would-be owner. */
	EXPECT_EQ(-EPERM, run_as(VMM_USER, VMM_USER, &grp, 1, try_attach, &a));
	EXPECT_EQ(-ENOENT, vbst_vm_get(&self->nl, VBST_VMID, &vi));

	/* Owner uid: that user attaches, another does not. */
	ASSERT_EQ(0, vm_set(&self->nl, VBST_VMID, &uid, NULL)) {
		TH_LOG("%s", self->nl.ext_msg);
	}
	EXPECT_EQ(-EPERM, run_as(STRANGER, STRANGER, NULL, 0, try_attach, &a));
	EXPECT_EQ(0, run_as(VMM_USER, VMM_USER, NULL, 0, try_attach, &a));
	ASSERT_EQ(0, vbst_vm_get(&self->nl, VBST_VMID, &vi));
	EXPECT_EQ(VBRIDGE_VM_S_RUNNING, vi.state);
	close(fe);

	/* Owner group: a member attaches, a non-member does not. */
	ASSERT_EQ(0, vm_set(&self->nl, VBST_VMID, &none, &gid));
	fe = vbst_fe_open(0);
	ASSERT_LE(0, fe);
	a.fe = fe;
	a.vmid = VBST_VMID;
	EXPECT_EQ(-EPERM, run_as(VMM_USER, VMM_USER, NULL, 0, try_attach, &a));
	EXPECT_EQ(0, run_as(STRANGER, STRANGER, &grp, 1, try_attach, &a));
	close(fe);

	/* The owner of vm3 does not own vm4. */
	fe = vbst_fe_open(0);
	ASSERT_LE(0, fe);
	a.fe = fe;
	a.vmid = OTHER_VM;
	EXPECT_EQ(-EPERM, run_as(STRANGER, STRANGER, &grp, 1, try_attach, &a));

	/* Removing the owner: back to CAP_SYS_ADMIN only; root still attaches. */
	ASSERT_EQ(0, vm_set(&self->nl, VBST_VMID, NULL, &none));
	a.vmid = VBST_VMID;
	EXPECT_EQ(-EPERM, run_as(STRANGER, STRANGER, &grp, 1, try_attach, &a));
	EXPECT_EQ(0, try_attach(&a));
	close(fe);
}

/* Setting an owner is an administrator's act, checked like the others. */
TEST_F(authz, vm_set_needs_net_admin)
{
	uint32_t none = VBRIDGE_ID_NONE, big = 5000;
	struct vbst_msg m;

	EXPECT_EQ(-EPERM, run_as(STRANGER, STRANGER, NULL, 0, try_vm_set, NULL));
	/* Nothing to set, no vmid, a vmid out of range: refused. */
	vbst_msg_init(&m, self->nl.family, VBRIDGE_CMD_VM_SET, 0);
	vbst_put_u32(&m, VBRIDGE_A_VMID, VBST_VMID);
	EXPECT_EQ(-EINVAL, vbst_nl_request(&self->nl, &m, NULL, NULL));
	EXPECT_NE(NULL, strstr(self->nl.ext_msg, "nothing to set"));
	vbst_msg_init(&m, self->nl.family, VBRIDGE_CMD_VM_SET, 0);
	vbst_put_u32(&m, VBRIDGE_A_VMM_UID, 1);
	EXPECT_EQ(-EINVAL, vbst_nl_request(&self->nl, &m, NULL, NULL));
	EXPECT_NE(0, vm_set(&self->nl, 1024, &none, NULL));
	EXPECT_EQ(0, vm_set(&self->nl, VBST_VMID, &big, &none));
}

/* The events group: CAP_NET_ADMIN to join. */
TEST_F(authz, events_need_net_admin)
{
	struct vbst_nl sub;

	EXPECT_EQ(-EPERM, run_as(STRANGER, STRANGER, NULL, 0, try_subscribe, NULL));
	ASSERT_EQ(0, vbst_nl_open(&sub));
	EXPECT_EQ(0, vbst_nl_subscribe(&sub));
	vbst_nl_close(&sub);
}

/* A VM dump in another pid namespace does not give the VMM's pid. */
TEST_F(authz, vm_pid_in_readers_namespace)
{
	struct vbst_vminfo vi;
	int fe, p[2], st;
	pid_t pid;
	struct { int ret; bool has_pid; uint32_t pid; } r = { 1000, true, 0 };

	/* The debug kit is built without CONFIG_PID_NS. */
	if (access("/proc/self/ns/pid", F_OK))
		SKIP(return, "no pid namespaces in this kernel: /proc/self/ns/pid: %s",
		     strerror(errno));
	ASSERT_EQ(0, dev_add_node(&self->nl, VBST_VMID, VBST_NAME, NULL, NULL, NULL));
	fe = vbst_fe_open(0);
	ASSERT_LE(0, fe);
	ASSERT_EQ(0, vbst_fe_attach(fe, VBST_VMID, NULL));
	ASSERT_EQ(0, vbst_vm_get(&self->nl, VBST_VMID, &vi));
	EXPECT_TRUE(vi.has_pid);
	EXPECT_EQ((uint32_t)getpid(), vi.pid);

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(0, unshare(CLONE_NEWPID));
	pid = fork();	/* the first child of a new pid namespace */
	ASSERT_LE(0, pid);
	if (!pid) {
		struct vbst_nl nl;
		struct vbst_vminfo v;

		close(p[0]);
		r.ret = vbst_nl_open(&nl);
		if (!r.ret)
			r.ret = vbst_vm_get(&nl, VBST_VMID, &v);
		if (!r.ret) {
			r.has_pid = v.has_pid;
			r.pid = v.pid;
		}
		if (write(p[1], &r, sizeof(r)) != sizeof(r))
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	EXPECT_EQ(sizeof(r), read(p[0], &r, sizeof(r)));
	close(p[0]);
	st = vbst_wait_child(pid, VBST_SOON_MS);
	EXPECT_EQ(0, st);
	EXPECT_EQ(0, r.ret);
	EXPECT_FALSE(r.has_pid) {
		TH_LOG("a reader in a new pid namespace got pid %u", r.pid);
	}
	close(fe);
}

TEST_HARNESS_MAIN
