// SPDX-License-Identifier: GPL-2.0
/*
 * MSI messages: a backend asks for an eventfd per message of its device
 * (VBRIDGE_BE_ADD_MSI); the VMM, if it attached with VBRIDGE_ATTACH_F_MSI,
 * gets it from VBRIDGE_GET_DOORBELL with VBRIDGE_DOORBELL_F_MSI, to bind to
 * a GSI with KVM_IRQFD.  Messages share the doorbells' change queue, ids and
 * withdrawals, not their limit.
 */
#include <sys/epoll.h>

#include "kselftest_harness.h"
#include "vbst_dev.h"

#define NOTIFY_ADDR	(VBST_BAR_ADDR + 0x3000)
#define MSI_ADDR	0xfee01000ULL
#define MSI_DATA	0x4041
#define MSI_RID		0x0108

/*
 * The module, the standard device, its backend, a VM attached with @flags
 * and an eventfd for the backend's messages in *@efd.
 */
static void msi_world_up(struct __test_metadata *_metadata, struct vbst_world *w,
			 int *efd, uint32_t flags)
{
	struct vbridge_msg m;

	*efd = -1;
	vbst_world_init(w);
	w->attach_flags = flags;
	ASSERT_EQ(0, vbst_load("vmstop_timeout=1"));
	ASSERT_EQ(0, vbst_world_declare(w, VBST_VMID, VBST_NAME, 1)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_world_backend(w, VBST_VMID, VBST_NAME, true, false));
	ASSERT_EQ(0, vbst_world_start_vm(w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_be_expect(w->be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	*efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, *efd);
}

static void msi_world_down(struct __test_metadata *_metadata, struct vbst_world *w,
			   int efd)
{
	vbst_world_fini(w);
	if (efd >= 0)
		close(efd);
	EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

static int add_msi(int be, uint64_t addr, uint32_t data, uint32_t rid, int fd, uint32_t *id)
{
	struct vbridge_msi_req r = { .addr = addr, .data = data, .rid = rid, .fd = fd };

	if (ioctl(be, VBRIDGE_BE_ADD_MSI, &r))
		return -errno;
	if (id)
		*id = r.id;
	return 0;
}

static int del(int be, unsigned long cmd, uint32_t id)
{
	return ioctl(be, cmd, (unsigned long)id) ? -errno : 0;
}

/* Fetch @n assignments and close their descriptors: the VMM's side done. */
static int fetch_n(int fe, unsigned int n)
{
	struct vbridge_doorbell d;
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = vbst_fe_get_doorbell(fe, &d);
		if (ret)
			return ret;
		if (d.fd >= 0)
			close(d.fd);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* A VMM that opted in                                                */
/* ------------------------------------------------------------------ */

FIXTURE(msi) {
	struct vbst_world w;
	int efd;
};

FIXTURE_SETUP(msi)
{
	msi_world_up(_metadata, &self->w, &self->efd, VBRIDGE_ATTACH_F_MSI);
}

FIXTURE_TEARDOWN(msi)
{
	msi_world_down(_metadata, &self->w, self->efd);
}

TEST_F(msi, add_reaches_the_vmm_with_the_same_eventfd)
{
	struct vbridge_doorbell d;
	uint64_t one = 1;
	uint32_t id = 0;

	EXPECT_FALSE(vbst_fe_readable(self->w.fe, 0));
	ASSERT_EQ(0, add_msi(self->w.be, MSI_ADDR, MSI_DATA, MSI_RID, self->efd, &id));
	EXPECT_NE(0, id);
	ASSERT_TRUE(vbst_fe_readable(self->w.fe, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
	EXPECT_EQ(id, d.id);
	EXPECT_EQ(self->w.dev.id, d.device_id);
	EXPECT_EQ(VBRIDGE_DOORBELL_F_MSI, d.flags);
	EXPECT_EQ(MSI_ADDR, d.addr);
	EXPECT_EQ(4, d.len);
	EXPECT_EQ(MSI_DATA, d.datamatch);
	EXPECT_EQ(MSI_RID, d.rid);
	EXPECT_EQ(0, d.reserved[0] | d.reserved[1]);
	ASSERT_LE(0, d.fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(d.fd, F_GETFD) & FD_CLOEXEC);
	/* The backend sends the message: KVM (here the VMM's fd) sees it... */
	ASSERT_EQ(sizeof(one), write(self->efd, &one, sizeof(one)));
	EXPECT_EQ(1, vbst_efd_take(d.fd, VBST_SOON_MS));
	/* ...and it is one file, both ways. */
	ASSERT_EQ(sizeof(one), write(d.fd, &one, sizeof(one)));
	EXPECT_EQ(1, vbst_efd_take(self->efd, VBST_SOON_MS));
	close(d.fd);
	EXPECT_FALSE(vbst_fe_readable(self->w.fe, 0));
	EXPECT_EQ(-EAGAIN, vbst_fe_get_doorbell(self->w.fe, &d));
}

TEST_F(msi, backend_info_says_the_vm_takes_msis)
{
	struct vbridge_backend_info bi;

	ASSERT_EQ(0, vbst_be_info(self->w.be, &bi));
	EXPECT_EQ(VBRIDGE_BE_INFO_F_MSI, bi.flags & VBRIDGE_BE_INFO_F_MSI);
	EXPECT_EQ(VBRIDGE_BE_INFO_F_RETRY, bi.flags & VBRIDGE_BE_INFO_F_RETRY);
}

TEST_F(msi, bad_requests)
{
	struct vbridge_msi_req r;
	struct vbridge_doorbell d;
	int pfd[2], i;

	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	for (i = 0; i < 5; i++) {
		memset(&r, 0, sizeof(r));
		r.addr = MSI_ADDR;
		r.data = MSI_DATA;
		r.fd = self->efd;
		switch (i) {
		case 0:
			r.flags = 1;
			break;
		case 1:
			r.reserved0 = 1;
			break;
		case 2:
			r.reserved[0] = 1;
			break;
		case 3:
			r.reserved[1] = 1;
			break;
		case 4:
			r.rid = 0x10000;
			break;
		}
		EXPECT_EQ(-1, ioctl(self->w.be, VBRIDGE_BE_ADD_MSI, &r));
		EXPECT_EQ(EINVAL, errno) {
			TH_LOG("case %d", i);
		}
	}
	EXPECT_EQ(-EBADF, add_msi(self->w.be, MSI_ADDR, MSI_DATA, 0, 1000, NULL));
	EXPECT_EQ(-EINVAL, add_msi(self->w.be, MSI_ADDR, MSI_DATA, 0, pfd[0], NULL));
	EXPECT_EQ(-EINVAL, add_msi(self->w.be, MSI_ADDR, MSI_DATA, 0, self->w.fe, NULL));
	EXPECT_EQ(-ENOENT, del(self->w.be, VBRIDGE_BE_DEL_MSI, 12345));
	EXPECT_EQ(-1, ioctl(self->w.be, VBRIDGE_BE_DEL_MSI, 1UL << 32));
	EXPECT_EQ(EINVAL, errno);
	/* None of them reached the VMM. */
	EXPECT_FALSE(vbst_fe_readable(self->w.fe, 0));
	EXPECT_EQ(-EAGAIN, vbst_fe_get_doorbell(self->w.fe, &d));
	close(pfd[0]);
	close(pfd[1]);
}

/* The VMM checks messages, per architecture; the module passes them on. */
TEST_F(msi, any_message_and_duplicates_pass)
{
	struct vbridge_doorbell d;
	uint32_t id[3] = { 0 };

	ASSERT_EQ(0, add_msi(self->w.be, MSI_ADDR, MSI_DATA, MSI_RID, self->efd, &id[0]));
	ASSERT_EQ(0, add_msi(self->w.be, MSI_ADDR, MSI_DATA, MSI_RID, self->efd, &id[1]));
	ASSERT_EQ(0, add_msi(self->w.be, ~0ULL, ~0U, 0xffff, self->efd, &id[2]));
	EXPECT_NE(id[0], id[1]);
	EXPECT_NE(id[1], id[2]);
	ASSERT_EQ(0, fetch_n(self->w.fe, 2));
	ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
	EXPECT_EQ(id[2], d.id);
	EXPECT_EQ(~0ULL, d.addr);
	EXPECT_EQ(0xffffffffULL, d.datamatch);
	EXPECT_EQ(0xffff, d.rid);
	close(d.fd);
}

TEST_F(msi, get_doorbell_rid_in_must_be_zero)
{
	struct vbridge_doorbell d;

	ASSERT_EQ(0, add_msi(self->w.be, MSI_ADDR, MSI_DATA, MSI_RID, self->efd, NULL));
	memset(&d, 0, sizeof(d));
	d.rid = 1;
	EXPECT_EQ(-1, ioctl(self->w.fe, VBRIDGE_GET_DOORBELL, &d));
	EXPECT_EQ(EINVAL, errno);
	/* Still pending for a well-formed call. */
	ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
	EXPECT_EQ(VBRIDGE_DOORBELL_F_MSI, d.flags);
	close(d.fd);
}

/* Messages count apart from doorbells: neither fills up the other. */
TEST_F(msi, limit_per_device_apart_from_doorbells)
{
	uint32_t first_msi = 0, first_db = 0;
	int i;

	for (i = 0; i < VBRIDGE_MAX_MSIS; i++)
		ASSERT_EQ(0, add_msi(self->w.be, MSI_ADDR, i, 0, self->efd,
				     i ? NULL : &first_msi)) {
			TH_LOG("message %d", i);
		}
	EXPECT_EQ(-ENOSPC, add_msi(self->w.be, MSI_ADDR, i, 0, self->efd, NULL));
	ASSERT_EQ(0, fetch_n(self->w.fe, VBRIDGE_MAX_MSIS));
	EXPECT_EQ(-ENOSPC, add_msi(self->w.be, MSI_ADDR, i, 0, self->efd, NULL));

	for (i = 0; i < VBRIDGE_MAX_DOORBELLS; i++)
		ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR + 4 * i, 4, self->efd,
						  0, 0, i ? NULL : &first_db)) {
			TH_LOG("doorbell %d", i);
		}
	EXPECT_EQ(-ENOSPC, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR + 4 * i, 4, self->efd, 0, 0,
						NULL));
	ASSERT_EQ(0, fetch_n(self->w.fe, VBRIDGE_MAX_DOORBELLS));

	/* A removed message makes room for a message, a doorbell for a doorbell. */
	ASSERT_EQ(0, del(self->w.be, VBRIDGE_BE_DEL_MSI, first_msi));
	EXPECT_EQ(-ENOSPC, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR + 4 * i, 4, self->efd, 0, 0,
						NULL));
	EXPECT_EQ(0, add_msi(self->w.be, MSI_ADDR, 1, 0, self->efd, NULL));
	ASSERT_EQ(0, del(self->w.be, VBRIDGE_BE_DEL_DOORBELL, first_db));
	EXPECT_EQ(-ENOSPC, add_msi(self->w.be, MSI_ADDR, 2, 0, self->efd, NULL));
	EXPECT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 4, self->efd, 0, 0, NULL));
}

/* Unfetched changes of both kinds count against one bound. */
TEST_F(msi, pending_bound_is_shared_with_doorbells)
{
	struct vbridge_doorbell d;
	int i, n;

	for (i = 0; i < VBRIDGE_MAX_DOORBELLS; i++)
		ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR + 4 * i, 4, self->efd, 0,
						  0, NULL));
	for (n = 0; n < VBRIDGE_MAX_MSIS; n++)
		if (add_msi(self->w.be, MSI_ADDR, n, 0, self->efd, NULL))
			break;
	EXPECT_EQ(-EAGAIN, add_msi(self->w.be, MSI_ADDR, n, 0, self->efd, NULL));
	EXPECT_GT(VBRIDGE_MAX_MSIS, n);
	EXPECT_LT(0, n);
	/* The VMM fetches one: room for one more. */
	ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
	close(d.fd);
	EXPECT_EQ(0, add_msi(self->w.be, MSI_ADDR, n, 0, self->efd, NULL));
	EXPECT_EQ(-EAGAIN, add_msi(self->w.be, MSI_ADDR, n, 0, self->efd, NULL));
}

TEST_F(msi, del_sends_a_deassignment)
{
	struct vbridge_doorbell d;
	uint32_t id = 0;

	ASSERT_EQ(0, add_msi(self->w.be, MSI_ADDR, MSI_DATA, MSI_RID, self->efd, &id));
	ASSERT_EQ(0, fetch_n(self->w.fe, 1));
	ASSERT_EQ(0, del(self->w.be, VBRIDGE_BE_DEL_MSI, id));
	ASSERT_TRUE(vbst_fe_readable(self->w.fe, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
	EXPECT_EQ(id, d.id);
	EXPECT_EQ(VBRIDGE_DOORBELL_F_MSI | VBRIDGE_DOORBELL_F_DEASSIGN, d.flags);
	EXPECT_EQ(-1, d.fd);
	EXPECT_EQ(MSI_ADDR, d.addr);
	EXPECT_EQ(MSI_RID, d.rid);
	EXPECT_EQ(-EAGAIN, vbst_fe_get_doorbell(self->w.fe, &d));
	/* Deleted once. */
	EXPECT_EQ(-ENOENT, del(self->w.be, VBRIDGE_BE_DEL_MSI, id));
}

TEST_F(msi, del_of_the_other_kind_is_enoent)
{
	struct vbridge_doorbell d;
	uint32_t db = 0, msi = 0;

	ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 4, self->efd, 0, 0, &db));
	ASSERT_EQ(0, add_msi(self->w.be, MSI_ADDR, MSI_DATA, MSI_RID, self->efd, &msi));
	/* One id space for both kinds. */
	EXPECT_NE(db, msi);
	EXPECT_EQ(-ENOENT, del(self->w.be, VBRIDGE_BE_DEL_DOORBELL, msi));
	EXPECT_EQ(-ENOENT, del(self->w.be, VBRIDGE_BE_DEL_MSI, db));
	ASSERT_EQ(0, fetch_n(self->w.fe, 2));
	/* Nothing was withdrawn. */
	EXPECT_EQ(-EAGAIN, vbst_fe_get_doorbell(self->w.fe, &d));
	EXPECT_EQ(0, del(self->w.be, VBRIDGE_BE_DEL_MSI, msi));
	EXPECT_EQ(0, del(self->w.be, VBRIDGE_BE_DEL_DOORBELL, db));
	ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
	EXPECT_EQ(msi, d.id);
	EXPECT_EQ(VBRIDGE_DOORBELL_F_MSI | VBRIDGE_DOORBELL_F_DEASSIGN, d.flags);
	ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
	EXPECT_EQ(db, d.id);
	EXPECT_EQ(VBRIDGE_DOORBELL_F_DEASSIGN, d.flags);
}

TEST_F(msi, backend_close_withdraws_its_messages)
{
	struct vbridge_doorbell d;
	uint32_t id[3] = { 0 };
	unsigned int msis = 0, dbs = 0;
	int i;

	ASSERT_EQ(0, add_msi(self->w.be, MSI_ADDR, 1, MSI_RID, self->efd, &id[0]));
	ASSERT_EQ(0, add_msi(self->w.be, MSI_ADDR, 2, MSI_RID, self->efd, &id[1]));
	ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 4, self->efd, 0, 0, &id[2]));
	ASSERT_EQ(0, fetch_n(self->w.fe, 3));
	close(self->w.be);
	self->w.be = -1;
	ASSERT_TRUE(vbst_fe_readable(self->w.fe, VBST_SOON_MS));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
		EXPECT_TRUE(d.flags & VBRIDGE_DOORBELL_F_DEASSIGN);
		EXPECT_EQ(-1, d.fd);
		if (d.flags & VBRIDGE_DOORBELL_F_MSI) {
			EXPECT_TRUE(d.id == id[0] || d.id == id[1]);
			msis++;
		} else {
			EXPECT_EQ(id[2], d.id);
			dbs++;
		}
	}
	EXPECT_EQ(2, msis);
	EXPECT_EQ(1, dbs);
	EXPECT_EQ(-EAGAIN, vbst_fe_get_doorbell(self->w.fe, &d));
}

/*
 * The end of the VM drops the assignments the VMM never fetched, and with
 * them the module's reference to the backend's eventfd.  The file's end
 * is seen from an epoll instance: closing our descriptor leaves its item
 * while another reference keeps the file, and the file's release removes
 * it.
 */
TEST_F(msi, vm_stop_drops_unfetched_messages)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct vbridge_doorbell d;
	struct vbridge_msg m;
	uint64_t one = 1;
	int ep, n = 1;
	uint64_t end;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->efd, &ev));
	ASSERT_EQ(sizeof(one), write(self->efd, &one, sizeof(one)));
	ASSERT_EQ(0, add_msi(self->w.be, MSI_ADDR, 1, MSI_RID, self->efd, NULL));
	ASSERT_EQ(0, add_msi(self->w.be, MSI_ADDR, 2, MSI_RID, self->efd, NULL));
	close(self->efd);
	self->efd = -1;
	/* The module holds the file. */
	EXPECT_EQ(1, epoll_wait(ep, &ev, 1, 0));

	ASSERT_EQ(0, ioctl(self->w.fe, VBRIDGE_STOP));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_ack(self->w.be, self->w.att.generation));
	end = vbst_now_ms() + VBST_SOON_MS;
	while (vbst_now_ms() < end) {
		n = epoll_wait(ep, &ev, 1, 0);
		if (n == 0)
			break;
		vbst_sleep_ms(10);
	}
	EXPECT_EQ(0, n) {
		TH_LOG("the eventfd outlived the VM's release");
	}
	EXPECT_EQ(-EAGAIN, vbst_fe_get_doorbell(self->w.fe, &d));
	close(ep);
}

TEST_F(msi, no_vm_is_enotconn)
{
	struct vbridge_msg m;

	ASSERT_EQ(0, ioctl(self->w.fe, VBRIDGE_STOP));
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &m, VBST_SOON_MS));
	EXPECT_EQ(-ENOTCONN, add_msi(self->w.be, MSI_ADDR, MSI_DATA, MSI_RID, self->efd, NULL));
}

/* ------------------------------------------------------------------ */
/* A VMM that did not opt in                                          */
/* ------------------------------------------------------------------ */

FIXTURE(old) {
	struct vbst_world w;
	int efd;
};

FIXTURE_SETUP(old)
{
	msi_world_up(_metadata, &self->w, &self->efd, 0);
}

FIXTURE_TEARDOWN(old)
{
	msi_world_down(_metadata, &self->w, self->efd);
}

TEST_F(old, add_msi_is_eopnotsupp)
{
	struct vbridge_backend_info bi;
	struct vbridge_doorbell d;

	ASSERT_EQ(0, vbst_be_info(self->w.be, &bi));
	EXPECT_EQ(0, bi.flags & VBRIDGE_BE_INFO_F_MSI);
	EXPECT_EQ(-EOPNOTSUPP, add_msi(self->w.be, MSI_ADDR, MSI_DATA, MSI_RID, self->efd, NULL));
	/* Field checks come first. */
	EXPECT_EQ(-EINVAL, add_msi(self->w.be, MSI_ADDR, MSI_DATA, 0x10000, self->efd, NULL));
	EXPECT_FALSE(vbst_fe_readable(self->w.fe, 0));
	EXPECT_EQ(-EAGAIN, vbst_fe_get_doorbell(self->w.fe, &d));
}

/* Doorbells work as before, and no change the VMM sees is an MSI's. */
TEST_F(old, never_sees_an_msi_change)
{
	struct vbridge_doorbell d;
	int i;

	ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR, 4, self->efd, 0, 0, NULL));
	EXPECT_EQ(-EOPNOTSUPP, add_msi(self->w.be, MSI_ADDR, MSI_DATA, MSI_RID, self->efd, NULL));
	ASSERT_EQ(0, vbst_be_add_doorbell(self->w.be, NOTIFY_ADDR + 4, 4, self->efd, 0, 0, NULL));
	close(self->w.be);
	self->w.be = -1;
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, vbst_fe_get_doorbell(self->w.fe, &d));
		EXPECT_EQ(0, d.flags & VBRIDGE_DOORBELL_F_MSI);
		EXPECT_EQ(0, d.rid);
		if (d.fd >= 0)
			close(d.fd);
	}
	EXPECT_EQ(-EAGAIN, vbst_fe_get_doorbell(self->w.fe, &d));
}

TEST_F(old, attach_with_an_unknown_flag_is_einval)
{
	static const uint32_t bad[] = {
		1U << 1, 1U << 31, VBRIDGE_ATTACH_F_MSI | 1U << 1,
	};
	unsigned int i;
	int fe;

	fe = vbst_fe_open(0);
	ASSERT_LE(0, fe);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-EINVAL, vbst_fe_attach_flags(fe, VBST_VMID + 1, bad[i], NULL)) {
			TH_LOG("flags %#x", bad[i]);
		}
	/* The flag alone is fine. */
	EXPECT_EQ(0, vbst_fe_attach_flags(fe, VBST_VMID + 1, VBRIDGE_ATTACH_F_MSI, NULL));
	close(fe);
}

TEST_HARNESS_MAIN
