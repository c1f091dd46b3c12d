// SPDX-License-Identifier: GPL-2.0
/*
 * Two VMs, vm3 and vm4, each with a device of the same name and windows
 * and its own guest RAM: a vm3 backend reaches only vm3's memory, requests
 * and interrupts, and the death of vm3's VMM and provider leaves vm4
 * running undisturbed.
 */
#include "kselftest_harness.h"
#include "vbst_dev.h"

#define VM3 3
#define VM4 4
#define VM4_ONLY_GPA 0x80000000ULL

FIXTURE(iso) {
	struct vbst_world a;	/* vm3 */
	struct vbst_world b;	/* vm4 */
	int efd_a, efd_b;
	pid_t child;
};

FIXTURE_SETUP(iso)
{
	struct vbridge_msg m;

	vbst_world_init(&self->a);
	vbst_world_init(&self->b);
	self->efd_a = -1;
	self->efd_b = -1;
	self->child = 0;
	ASSERT_EQ(0, vbst_load("vmstop_timeout=1"));
	ASSERT_EQ(0, vbst_world_declare(&self->a, VM3, VBST_NAME, 1)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_world_declare(&self->b, VM4, VBST_NAME, 1)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_world_backend(&self->a, VM3, VBST_NAME, true, false));
	ASSERT_EQ(0, vbst_world_backend(&self->b, VM4, VBST_NAME, true, false));
	ASSERT_EQ(0, vbst_world_start_vm(&self->a, VM3, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_world_start_vm(&self->b, VM4, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_fe_add_region(self->b.fe, VM4_ONLY_GPA, 0x100000, self->b.ram.fd,
					0x200000));
	ASSERT_EQ(0, vbst_be_expect(self->a.be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_expect(self->b.be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	memset(self->a.ram.p, 0x33, 0x1000);
	memset(self->b.ram.p, 0x44, 0x1000);
	self->efd_a = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	self->efd_b = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, self->efd_a);
	ASSERT_LE(0, self->efd_b);
	ASSERT_EQ(0, vbst_fe_set_irqfd(self->a.fe, self->a.dev.id, 0, self->efd_a, -1));
	ASSERT_EQ(0, vbst_fe_set_irqfd(self->b.fe, self->b.dev.id, 0, self->efd_b, -1));
}

FIXTURE_TEARDOWN(iso)
{
	if (self->child > 0)
		vbst_wait_child(self->child, 0);
	vbst_world_fini(&self->a);
	vbst_world_fini(&self->b);
	if (self->efd_a >= 0)
		close(self->efd_a);
	if (self->efd_b >= 0)
		close(self->efd_b);
	EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

TEST_F(iso, backend_maps_only_its_vms_memory)
{
	uint8_t *p;
	void *q;
	int ret;

	/* Same guest-physical address, two VMs: each sees its own RAM. */
	p = mmap(NULL, 0x1000, PROT_READ, MAP_SHARED, self->a.be, VBST_RAM_GPA);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0x33, p[0]);
	munmap(p, 0x1000);
	p = mmap(NULL, 0x1000, PROT_READ, MAP_SHARED, self->b.be, VBST_RAM_GPA);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0x44, p[0]);
	munmap(p, 0x1000);
	/* RAM that only vm4 has is not there for vm3's backend. */
	q = mmap(NULL, 0x1000, PROT_READ, MAP_SHARED, self->a.be, VM4_ONLY_GPA);
	ret = q == MAP_FAILED ? -errno : 0;
	if (q != MAP_FAILED)
		munmap(q, 0x1000);
	EXPECT_EQ(-EINVAL, ret);
	q = mmap(NULL, 0x1000, PROT_READ, MAP_SHARED, self->b.be, VM4_ONLY_GPA);
	EXPECT_NE(MAP_FAILED, q);
	if (q != MAP_FAILED)
		munmap(q, 0x1000);
}

TEST_F(iso, interrupts_reach_only_their_vm)
{
	struct vbridge_irq_level l = { .line = 0, .level = 1 };

	ASSERT_EQ(0, ioctl(self->a.be, VBRIDGE_BE_SET_IRQ, &l));
	EXPECT_EQ(1, vbst_efd_take(self->efd_a, VBST_SOON_MS));
	EXPECT_EQ(0, vbst_efd_take(self->efd_b, 200));
	ASSERT_EQ(0, ioctl(self->b.be, VBRIDGE_BE_SET_IRQ, &l));
	EXPECT_EQ(1, vbst_efd_take(self->efd_b, VBST_SOON_MS));
	EXPECT_EQ(0, vbst_efd_take(self->efd_a, 0));
}

TEST_F(iso, requests_reach_only_their_backend)
{
	uint64_t v;
	int32_t res;

	ASSERT_EQ(0, vbst_server_start(&self->a.srv, self->a.be));
	ASSERT_EQ(0, vbst_server_start(&self->b.srv, self->b.be));
	ASSERT_EQ(0, vbst_guest_read(self->a.fe, VBST_BAR_ADDR, 4, &v, &res));
	EXPECT_EQ(0, res);
	ASSERT_EQ(0, vbst_guest_write(self->b.fe, VBST_BAR_ADDR, 4, 9, &res));
	ASSERT_EQ(0, vbst_guest_read(self->b.fe, VBST_BAR_ADDR + 4, 4, &v, &res));
	EXPECT_EQ(0, res);
	EXPECT_EQ(1, self->a.srv.nlog);
	EXPECT_EQ(VM3, self->a.srv.log[0].vmid);
	EXPECT_EQ(2, self->b.srv.nlog);
	EXPECT_EQ(VM4, self->b.srv.log[0].vmid);
	EXPECT_EQ(VBRIDGE_MSG_STORE, self->b.srv.log[0].type);
}

TEST_F(iso, doorbells_reach_only_their_vmm)
{
	struct vbridge_doorbell_req r = {
		.addr = VBST_BAR_ADDR + 0x3000, .len = 2, .fd = self->efd_a,
	};
	struct vbridge_doorbell d = { 0 };
	struct pollfd p = { .fd = self->b.fe, .events = POLLIN };

	ASSERT_EQ(0, ioctl(self->a.be, VBRIDGE_BE_ADD_DOORBELL, &r));
	EXPECT_EQ(0, poll(&p, 1, 200));
	EXPECT_EQ(-1, ioctl(self->b.fe, VBRIDGE_GET_DOORBELL, &d));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, ioctl(self->a.fe, VBRIDGE_GET_DOORBELL, &d));
	close(d.fd);
}

TEST_F(iso, killing_vm3_leaves_vm4_running)
{
	struct vbst_vminfo vi;
	uint64_t v;
	int32_t res;
	int i;

	/* vm3's VMM and provider live in a child; the parent lets go of them. */
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		for (;;)
			pause();
	}
	close(self->a.fe);
	close(self->a.be);
	self->a.fe = -1;
	self->a.be = -1;
	ASSERT_EQ(0, vbst_server_start(&self->b.srv, self->b.be));
	kill(self->child, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, vbst_wait_child(self->child, VBST_SOON_MS));
	self->child = 0;
	/* vm3 is gone or going; vm4 serves on, same generation, no VMSTOP. */
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, vbst_guest_read(self->b.fe, VBST_BAR_ADDR + 8 * i, 8, &v, &res));
		EXPECT_EQ(0, res);
		EXPECT_EQ(vbst_pattern(VBST_BAR_ADDR + 8 * i, 8), v);
	}
	ASSERT_EQ(0, vbst_vm_get(&self->b.nl, VM4, &vi));
	EXPECT_EQ(VBRIDGE_VM_S_RUNNING, vi.state);
	EXPECT_EQ(self->b.att.generation, vi.generation);
	EXPECT_EQ(0, vbst_server_count(&self->b.srv, VBRIDGE_MSG_VMSTOP));
	/* And vm3 can start again while vm4 runs. */
	self->a.fe = vbst_fe_open(0);
	ASSERT_LE(0, self->a.fe);
	ASSERT_EQ(0, vbst_fe_attach(self->a.fe, VM3, &self->a.att));
}

TEST_HARNESS_MAIN
