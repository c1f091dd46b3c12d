// SPDX-License-Identifier: GPL-2.0
/*
 * The frontend node /dev/virtio-bridge as a VMM uses it: attach, the device
 * list, guest RAM regions, irqfds, and every malformed argument refused
 * with its errno and no state left behind.
 */
#include "kselftest_harness.h"
#include "vbst_dev.h"

FIXTURE(fe) {
	struct vbst_world w;
};

FIXTURE_SETUP(fe)
{
	vbst_world_init(&self->w);
	ASSERT_EQ(0, vbst_load("vmstop_timeout=1"));
	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 4)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_ram_create(&self->w.ram, VBST_RAM_SIZE, F_SEAL_SHRINK));
	self->w.fe = vbst_fe_open(0);
	ASSERT_LE(0, self->w.fe);
}

FIXTURE_TEARDOWN(fe)
{
	vbst_world_fini(&self->w);
	EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

static int attach_raw(int fe, struct vbridge_attach *a)
{
	return ioctl(fe, VBRIDGE_ATTACH, a) ? -errno : 0;
}

static int region_raw(int fe, struct vbridge_mem_region *r)
{
	return ioctl(fe, VBRIDGE_ADD_REGION, r) ? -errno : 0;
}

/* Regions the backend sees: the module's view of what was registered. */
static int nr_regions(void)
{
	struct vbridge_backend_info bi;
	int be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	int ret;

	if (be < 0)
		return be;
	ret = vbst_be_info(be, &bi);
	close(be);
	return ret ? ret : (int)bi.nr_regions;
}

TEST_F(fe, attach_lists_the_vms_devices)
{
	struct vbridge_device_info di;
	struct vbst_devinfo nd;
	struct vbst_devspec d;
	uint32_t i;
	bool seen_b = false, seen_std = false;

	vbst_std_spec(&d, VBST_VMID, "b", 2);
	d.windows[0].addr = 0x20000000;
	d.windows[1].addr = 0x21000000;
	d.backend_vmid = 0;
	ASSERT_EQ(0, vbst_dev_add(&self->w.nl, &d));
	vbst_std_spec(&d, 4, "other-vm", 1);
	ASSERT_EQ(0, vbst_dev_add(&self->w.nl, &d));

	ASSERT_EQ(0, vbst_fe_attach(self->w.fe, VBST_VMID, &self->w.att));
	EXPECT_EQ(2, self->w.att.nr_devices);
	EXPECT_NE(0, self->w.att.generation);
	for (i = 0; i < self->w.att.nr_devices; i++) {
		ASSERT_EQ(0, vbst_fe_get_device(self->w.fe, i, &di));
		EXPECT_EQ(i, di.index);
		ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, di.name, &nd)) {
			TH_LOG("device '%s' unknown to netlink", di.name);
		}
		EXPECT_EQ(nd.id, di.id);
		EXPECT_EQ(nd.backend_vmid, di.backend_vmid);
		EXPECT_EQ(2, di.nr_windows);
		EXPECT_EQ(nd.windows[0].addr, di.windows[0].addr);
		EXPECT_EQ(nd.windows[1].size, di.windows[1].size);
		EXPECT_EQ(nd.nr_irqs, di.nr_irqs);
		EXPECT_EQ(VBST_FIRST_SPI, di.irqs[0].num);
		EXPECT_EQ(VBRIDGE_IRQ_F_LEVEL, di.irqs[0].flags);
		EXPECT_TRUE(di.state & VBRIDGE_DEV_S_RUNNING);
		seen_b |= !strcmp(di.name, "b");
		seen_std |= !strcmp(di.name, VBST_NAME);
	}
	EXPECT_TRUE(seen_b);
	EXPECT_TRUE(seen_std);
	/* Index past the end. */
	memset(&di, 0, sizeof(di));
	di.index = 2;
	EXPECT_EQ(-1, ioctl(self->w.fe, VBRIDGE_GET_DEVICE, &di));
	EXPECT_EQ(EINVAL, errno);
	/* Reserved words of the argument. */
	memset(&di, 0, sizeof(di));
	di.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(self->w.fe, VBRIDGE_GET_DEVICE, &di));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(fe, attach_without_devices)
{
	ASSERT_EQ(0, vbst_fe_attach(self->w.fe, 7, &self->w.att));
	EXPECT_EQ(0, self->w.att.nr_devices);
}

TEST_F(fe, attach_generations_increase)
{
	struct vbridge_attach a2;
	int fe2;

	ASSERT_EQ(0, vbst_fe_attach(self->w.fe, 7, &self->w.att));
	fe2 = vbst_fe_open(0);
	ASSERT_LE(0, fe2);
	ASSERT_EQ(0, vbst_fe_attach(fe2, 8, &a2));
	EXPECT_NE(self->w.att.generation, a2.generation);
	close(fe2);
}

TEST_F(fe, attach_bad_arguments)
{
	struct vbridge_attach a;

	memset(&a, 0, sizeof(a));
	a.vmid = VBRIDGE_VMID_MAX + 1;
	EXPECT_EQ(-EINVAL, attach_raw(self->w.fe, &a));
	memset(&a, 0, sizeof(a));
	a.vmid = VBST_VMID;
	a.flags = VBRIDGE_ATTACH_F_MSI << 1;	/* unknown */
	EXPECT_EQ(-EINVAL, attach_raw(self->w.fe, &a));
	memset(&a, 0, sizeof(a));
	a.vmid = VBST_VMID;
	a.reserved0 = 1;
	EXPECT_EQ(-EINVAL, attach_raw(self->w.fe, &a));
	memset(&a, 0, sizeof(a));
	a.vmid = VBST_VMID;
	a.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, attach_raw(self->w.fe, &a));
	EXPECT_EQ(-EFAULT, ioctl(self->w.fe, VBRIDGE_ATTACH, (void *)8) ? -errno : 0);
	/* None of them attached anything: the same file attaches now. */
	EXPECT_EQ(0, vbst_fe_attach(self->w.fe, VBST_VMID, &self->w.att));
	EXPECT_EQ(1, self->w.att.nr_devices);
}

TEST_F(fe, attach_once_per_file)
{
	struct vbridge_attach a = { .vmid = 9 };
	int ret, fe2;

	ASSERT_EQ(0, vbst_fe_attach(self->w.fe, VBST_VMID, &self->w.att));
	/* uapi.rst: -EBUSY, the file is already attached. */
	ret = attach_raw(self->w.fe, &a);
	EXPECT_EQ(-EBUSY, ret);
	/* vm9 was not taken by the failed call. */
	fe2 = vbst_fe_open(O_NONBLOCK);
	ASSERT_LE(0, fe2);
	EXPECT_EQ(0, vbst_fe_attach(fe2, 9, NULL));
	close(fe2);
}

TEST_F(fe, attach_running_vmid_is_busy)
{
	int fe2;

	ASSERT_EQ(0, vbst_fe_attach(self->w.fe, VBST_VMID, &self->w.att));
	fe2 = vbst_fe_open(0);
	ASSERT_LE(0, fe2);
	/* Blocking mode too: a running VM is not a stopping one. */
	EXPECT_EQ(-EBUSY, vbst_fe_attach(fe2, VBST_VMID, NULL));
	close(fe2);
	fe2 = vbst_fe_open(O_NONBLOCK);
	ASSERT_LE(0, fe2);
	EXPECT_EQ(-EBUSY, vbst_fe_attach(fe2, VBST_VMID, NULL));
	close(fe2);
}

TEST_F(fe, calls_before_attach_are_enotconn)
{
	struct vbridge_device_info di = { 0 };
	struct vbridge_irqfd q = { .fd = -1, .resamplefd = -1 };
	struct vbridge_access a = { .addr = VBST_BAR_ADDR, .len = 4 };
	struct vbridge_doorbell db = { 0 };

	EXPECT_EQ(-ENOTCONN, ioctl(self->w.fe, VBRIDGE_GET_DEVICE, &di) ? -errno : 0);
	EXPECT_EQ(-ENOTCONN, ioctl(self->w.fe, VBRIDGE_SET_IRQFD, &q) ? -errno : 0);
	EXPECT_EQ(-ENOTCONN, ioctl(self->w.fe, VBRIDGE_ACCESS, &a) ? -errno : 0);
	EXPECT_EQ(-ENOTCONN, ioctl(self->w.fe, VBRIDGE_GET_DOORBELL, &db) ? -errno : 0);
	EXPECT_EQ(-ENOTCONN, ioctl(self->w.fe, VBRIDGE_STOP) ? -errno : 0);
}

/*
 * Guest RAM may be registered before the attach, so that backends find
 * every region when VMSTART reaches them; it is then the attached VM's.
 */
TEST_F(fe, region_before_attach_is_kept)
{
	struct vbridge_backend_info bi;
	struct vbridge_msg m;
	int be;

	be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	ASSERT_LE(0, be);
	ASSERT_EQ(0, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA, VBST_RAM_SIZE,
					self->w.ram.fd, 0));
	/* Still no VM: nothing to see or map yet. */
	ASSERT_EQ(0, vbst_be_info(be, &bi));
	EXPECT_EQ(0, bi.nr_regions);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, be, VBST_RAM_GPA));
	/* A bad region is refused before the attach as after it. */
	EXPECT_EQ(-EINVAL, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA + 0x800, 0x1000,
					      self->w.ram.fd, 0));
	ASSERT_EQ(0, vbst_fe_attach(self->w.fe, VBST_VMID, &self->w.att));
	ASSERT_EQ(0, vbst_be_expect(be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_info(be, &bi));
	ASSERT_EQ(1, bi.nr_regions);
	EXPECT_EQ(VBST_RAM_GPA, bi.regions[0].addr);
	EXPECT_EQ(VBST_RAM_SIZE, bi.regions[0].size);
	close(be);
}

TEST_F(fe, region_registered)
{
	struct vbridge_backend_info bi;
	int be;

	ASSERT_EQ(0, vbst_fe_attach(self->w.fe, VBST_VMID, &self->w.att));
	ASSERT_EQ(0, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA, VBST_RAM_SIZE,
					self->w.ram.fd, 0));
	/* A second region from the same memfd, at another offset. */
	ASSERT_EQ(0, vbst_fe_add_region(self->w.fe, 0x80000000ULL, 0x100000,
					self->w.ram.fd, 0x200000));
	be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	ASSERT_LE(0, be);
	ASSERT_EQ(0, vbst_be_info(be, &bi));
	ASSERT_EQ(2, bi.nr_regions);
	EXPECT_EQ(VBST_RAM_GPA, bi.regions[0].addr);
	EXPECT_EQ(VBST_RAM_SIZE, bi.regions[0].size);
	EXPECT_EQ(0x80000000ULL, bi.regions[1].addr);
	EXPECT_EQ(0x100000, bi.regions[1].size);
	close(be);
}

TEST_F(fe, region_bad_memfd)
{
	struct vbst_ram unsealed, small;
	int efd = eventfd(0, EFD_CLOEXEC);
	int pfd[2];

	ASSERT_LE(0, efd);
	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	ASSERT_EQ(0, vbst_fe_attach(self->w.fe, VBST_VMID, &self->w.att));
	/* Not a shmem file. */
	EXPECT_EQ(-EINVAL, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA, 0x1000, efd, 0));
	EXPECT_EQ(-EINVAL, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA, 0x1000, pfd[0], 0));
	/* Not a file at all. */
	EXPECT_EQ(-EBADF, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA, 0x1000, 1000, 0));
	EXPECT_EQ(-EBADF, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA, 0x1000, -1, 0));
	/* A memfd that may still shrink under the backend's mapping. */
	ASSERT_EQ(0, vbst_ram_create(&unsealed, VBST_RAM_SIZE, 0));
	EXPECT_EQ(-EINVAL, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA, VBST_RAM_SIZE,
					      unsealed.fd, 0));
	/* Sealed, but smaller than offset + size. */
	ASSERT_EQ(0, vbst_ram_create(&small, 0x10000, F_SEAL_SHRINK));
	EXPECT_EQ(-EINVAL, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA, 0x20000, small.fd, 0));
	EXPECT_EQ(-EINVAL, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA, 0x10000, small.fd,
					      0x1000));
	EXPECT_EQ(0, nr_regions());
	/* And the right one still works. */
	EXPECT_EQ(0, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA, VBST_RAM_SIZE,
					self->w.ram.fd, 0));
	EXPECT_EQ(1, nr_regions());
	vbst_ram_destroy(&unsealed);
	vbst_ram_destroy(&small);
	close(efd);
	close(pfd[0]);
	close(pfd[1]);
}

TEST_F(fe, region_bad_layout)
{
	struct vbridge_mem_region r;
	int fd = self->w.ram.fd, ret;

	ASSERT_EQ(0, vbst_fe_attach(self->w.fe, VBST_VMID, &self->w.att));
	EXPECT_EQ(-EINVAL, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA + 0x800, 0x1000, fd, 0));
	EXPECT_EQ(-EINVAL, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA, 0x1800, fd, 0));
	EXPECT_EQ(-EINVAL, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA, 0x1000, fd, 0x10));
	EXPECT_EQ(-EINVAL, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA, 0, fd, 0));
	EXPECT_EQ(-EINVAL, vbst_fe_add_region(self->w.fe, 0xfffffffffffff000ULL, 0x2000, fd, 0));
	memset(&r, 0, sizeof(r));
	r.guest_phys_addr = VBST_RAM_GPA;
	r.size = 0x1000;
	r.fd = fd;
	r.flags = 1;
	EXPECT_EQ(-EINVAL, region_raw(self->w.fe, &r));
	r.flags = 0;
	r.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, region_raw(self->w.fe, &r));
	EXPECT_EQ(0, nr_regions());
	/* Overlap with an existing region. */
	ASSERT_EQ(0, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA, 0x100000, fd, 0));
	ret = vbst_fe_add_region(self->w.fe, VBST_RAM_GPA + 0xff000, 0x2000, fd, 0x100000);
	EXPECT_EQ(-EEXIST, ret);
	EXPECT_EQ(1, nr_regions());
}

TEST_F(fe, too_many_regions)
{
	unsigned int i;
	int ret;

	ASSERT_EQ(0, vbst_fe_attach(self->w.fe, VBST_VMID, &self->w.att));
	for (i = 0; i < VBRIDGE_MAX_REGIONS; i++)
		ASSERT_EQ(0, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA + 0x10000ULL * i,
						0x1000, self->w.ram.fd, 0x1000ULL * i));
	ret = vbst_fe_add_region(self->w.fe, VBST_RAM_GPA + 0x10000ULL * i, 0x1000,
				 self->w.ram.fd, 0x1000ULL * i);
	EXPECT_EQ(-ENOSPC, ret);
	EXPECT_EQ(VBRIDGE_MAX_REGIONS, nr_regions());
}

TEST_F(fe, region_holds_memfd)
{
	struct vbridge_backend_info bi;
	uint8_t *p;
	int be;

	ASSERT_EQ(0, vbst_fe_attach(self->w.fe, VBST_VMID, &self->w.att));
	ASSERT_EQ(0, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA, VBST_RAM_SIZE,
					self->w.ram.fd, 0));
	self->w.ram.p[0x1234] = 0xa5;
	/* The VMM may close its memfd and unmap: the module keeps a reference. */
	vbst_ram_destroy(&self->w.ram);
	be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	ASSERT_LE(0, be);
	ASSERT_EQ(0, vbst_be_info(be, &bi));
	ASSERT_EQ(1, bi.nr_regions);
	p = mmap(NULL, 0x2000, PROT_READ, MAP_SHARED, be, VBST_RAM_GPA);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0xa5, p[0x1234]);
	munmap(p, 0x2000);
	close(be);
}

TEST_F(fe, region_write_sealed_or_read_only_memfd)
{
	char path[64];
	int sealed, ro;

	ASSERT_EQ(0, vbst_fe_attach(self->w.fe, VBST_VMID, &self->w.att));
	/* Guest RAM the module could never write: sealed against writes. */
	sealed = memfd_create("vbst-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ASSERT_LE(0, sealed);
	ASSERT_EQ(0, ftruncate(sealed, 0x10000));
	ASSERT_EQ(0, fcntl(sealed, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_WRITE));
	EXPECT_EQ(-EPERM, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA, 0x10000, sealed, 0));
	/* The right memfd, opened for reading only. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->w.ram.fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EACCES, vbst_fe_add_region(self->w.fe, VBST_RAM_GPA, 0x10000, ro, 0));
	EXPECT_EQ(0, nr_regions());
	close(sealed);
	close(ro);
}

TEST_F(fe, stopped_file_refuses_new_state)
{
	struct vbridge_device_info di;
	struct vbridge_attach a = { .vmid = 9 };
	int efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, efd);
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, ioctl(self->w.fe, VBRIDGE_STOP));
	/* Stopping twice is fine. */
	EXPECT_EQ(0, ioctl(self->w.fe, VBRIDGE_STOP));
	EXPECT_EQ(-ESHUTDOWN, vbst_fe_add_region(self->w.fe, 0x80000000ULL, 0x1000,
						 self->w.ram.fd, 0));
	EXPECT_EQ(-ESHUTDOWN, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, efd, -1));
	/* The file cannot run another VM... */
	EXPECT_EQ(-EBUSY, attach_raw(self->w.fe, &a));
	/* ...but still describes the devices of the one it ran. */
	EXPECT_EQ(0, vbst_fe_get_device(self->w.fe, 0, &di));
	EXPECT_STREQ(VBST_NAME, di.name);
	close(efd);
}

TEST_F(fe, access_bad_arguments)
{
	struct vbridge_access a;
	struct vbst_devinfo di;
	static const uint32_t bad_len[] = { 0, 3, 5, 6, 7, 16 };
	unsigned int i;

	ASSERT_EQ(0, vbst_fe_attach(self->w.fe, VBST_VMID, &self->w.att));
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, true, true));
	for (i = 0; i < ARRAY_SIZE(bad_len); i++) {
		memset(&a, 0, sizeof(a));
		a.addr = VBST_BAR_ADDR;
		a.len = bad_len[i];
		EXPECT_EQ(-1, ioctl(self->w.fe, VBRIDGE_ACCESS, &a));
		EXPECT_EQ(EINVAL, errno) {
			TH_LOG("len %u", bad_len[i]);
		}
	}
	memset(&a, 0, sizeof(a));
	a.addr = VBST_BAR_ADDR;
	a.len = 4;
	a.flags = 2;
	EXPECT_EQ(-1, ioctl(self->w.fe, VBRIDGE_ACCESS, &a));
	EXPECT_EQ(EINVAL, errno);
	a.flags = 0;
	a.reserved0 = 1;
	EXPECT_EQ(-1, ioctl(self->w.fe, VBRIDGE_ACCESS, &a));
	EXPECT_EQ(EINVAL, errno);
	a.reserved0 = 0;
	a.reserved[0] = 1;
	EXPECT_EQ(-1, ioctl(self->w.fe, VBRIDGE_ACCESS, &a));
	EXPECT_EQ(EINVAL, errno);
	a.reserved[0] = 0;
	a.result = 5;	/* an out field: ignored on input */
	/* Crossing the end of the BAR window. */
	a.addr = VBST_BAR_ADDR + VBST_BAR_SIZE - 4;
	a.len = 8;
	EXPECT_EQ(-1, ioctl(self->w.fe, VBRIDGE_ACCESS, &a));
	EXPECT_EQ(EINVAL, errno);
	/* Nothing reached the backend, nothing was counted. */
	EXPECT_EQ(0, vbst_server_requests(&self->w.srv));
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(0, di.stats[VBRIDGE_STAT_FORWARDED]);
}

TEST_F(fe, access_outside_windows_is_enodev)
{
	uint64_t v = 0;
	int32_t res = 0;

	ASSERT_EQ(0, vbst_fe_attach(self->w.fe, VBST_VMID, &self->w.att));
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, true, true));
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, 0x7000000000ULL, 4, &v, &res));
	EXPECT_EQ(-ENODEV, res);
	EXPECT_EQ(~0ULL, v);
	ASSERT_EQ(0, vbst_guest_write(self->w.fe, 0x7000000000ULL, 2, 1, &res));
	EXPECT_EQ(-ENODEV, res);
	/* Guest RAM is not a device window either. */
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_RAM_GPA, 4, &v, &res));
	EXPECT_EQ(-ENODEV, res);
	EXPECT_EQ(0, vbst_server_requests(&self->w.srv));
}

/*
 * The two windows of the device abut (ECAM, then the BAR): an access is
 * routed by the window it starts in, at each edge.
 */
TEST_F(fe, access_routed_at_window_edges)
{
	static const struct {
		uint64_t addr;
		uint32_t len;
		int32_t result;
		uint32_t window;
		uint64_t offset;
	} c[] = {
		{ VBST_ECAM_ADDR - 4, 4, -ENODEV, 0, 0 },
		{ VBST_ECAM_ADDR, 4, 0, 0, 0 },
		{ VBST_ECAM_ADDR + VBST_ECAM_SIZE - 4, 4, 0, 0, VBST_ECAM_SIZE - 4 },
		{ VBST_BAR_ADDR, 1, 0, 1, 0 },
		{ VBST_BAR_ADDR + VBST_BAR_SIZE - 8, 8, 0, 1, VBST_BAR_SIZE - 8 },
		{ VBST_BAR_ADDR + VBST_BAR_SIZE, 4, -ENODEV, 0, 0 },
	};
	struct vbridge_msg *m;
	unsigned int i, k = 0, nfwd = 0;
	uint64_t v;
	int32_t res;

	ASSERT_EQ(0, vbst_fe_attach(self->w.fe, VBST_VMID, &self->w.att));
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, true, true));
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		res = 1;
		ASSERT_EQ(0, vbst_guest_read(self->w.fe, c[i].addr, c[i].len, &v, &res));
		EXPECT_EQ(c[i].result, res) {
			TH_LOG("case %u at %#llx", i, (unsigned long long)c[i].addr);
		}
		if (c[i].result)
			continue;
		/* The next load the backend read (VMSTART came first). */
		do {
			ASSERT_LT(k, self->w.srv.nlog);
			m = &self->w.srv.log[k++];
		} while (m->type != VBRIDGE_MSG_LOAD);
		nfwd++;
		EXPECT_EQ(c[i].addr, m->addr);
		EXPECT_EQ(c[i].window, m->window);
		EXPECT_EQ(c[i].offset, m->offset);
	}
	EXPECT_EQ(nfwd, vbst_server_requests(&self->w.srv));
	/* An access crossing the end of the window it starts in is refused. */
	EXPECT_EQ(-EINVAL, vbst_access(self->w.fe, VBST_BAR_ADDR + VBST_BAR_SIZE - 2,
				       4, false, &v, &res));
}

TEST_F(fe, set_irqfd_bad_arguments)
{
	struct vbridge_irq_level l = { .line = 0, .level = 1 };
	struct vbridge_irqfd q;
	int efd = eventfd(0, EFD_CLOEXEC), pfd[2], ret;

	ASSERT_LE(0, efd);
	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	/* Line past the device's 4. */
	EXPECT_EQ(-EINVAL, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 4, efd, -1));
	/* Not an eventfd. */
	EXPECT_EQ(-EINVAL, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, pfd[0], -1));
	EXPECT_EQ(-EINVAL, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, efd, pfd[0]));
	EXPECT_EQ(-EBADF, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, 1000, -1));
	/* A device of no VM. */
	ret = vbst_fe_set_irqfd(self->w.fe, self->w.dev.id + 1000, 0, efd, -1);
	EXPECT_EQ(-ENOENT, ret);
	/* Unbinding takes no resample fd; fds below -1; one eventfd for both. */
	EXPECT_EQ(-EINVAL, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, -1, efd));
	EXPECT_EQ(-EINVAL, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, -2, -1));
	EXPECT_EQ(-EINVAL, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, efd, -7));
	EXPECT_EQ(-EINVAL, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 0, efd, efd));
	memset(&q, 0, sizeof(q));
	q.device_id = self->w.dev.id;
	q.fd = efd;
	q.resamplefd = -1;
	q.flags = 1;
	EXPECT_EQ(-1, ioctl(self->w.fe, VBRIDGE_SET_IRQFD, &q));
	EXPECT_EQ(EINVAL, errno);
	q.flags = 0;
	q.reserved[0] = 1;
	EXPECT_EQ(-1, ioctl(self->w.fe, VBRIDGE_SET_IRQFD, &q));
	EXPECT_EQ(EINVAL, errno);
	/*
	 * Nothing was bound (every call above failed): raising line 0 is
	 * recorded, and none of the refused calls left efd bound to it.
	 */
	self->w.be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	ASSERT_LE(0, self->w.be);
	EXPECT_EQ(0, ioctl(self->w.be, VBRIDGE_BE_SET_IRQ, &l));
	EXPECT_EQ(0, vbst_efd_take(efd, 0));
	/* The valid binding works. */
	EXPECT_EQ(0, vbst_fe_set_irqfd(self->w.fe, self->w.dev.id, 3, efd, -1));
	close(efd);
	close(pfd[0]);
	close(pfd[1]);
}

TEST_F(fe, unknown_ioctls_are_enotty)
{
	ASSERT_EQ(0, vbst_fe_attach(self->w.fe, VBST_VMID, &self->w.att));
	EXPECT_EQ(-1, ioctl(self->w.fe, _IO(VBRIDGE_IOCTL_MAGIC, 0x1f)));
	EXPECT_EQ(ENOTTY, errno);
	/* A backend ioctl on the frontend. */
	EXPECT_EQ(-1, ioctl(self->w.fe, VBRIDGE_BE_SET_READY, 1UL));
	EXPECT_EQ(ENOTTY, errno);
	/* A known number with the wrong size encoded. */
	EXPECT_EQ(-1, ioctl(self->w.fe, _IOWR(VBRIDGE_IOCTL_MAGIC, 0x01, __u64), NULL));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(VBRIDGE_API_VERSION, ioctl(self->w.fe, VBRIDGE_GET_API_VERSION));
}

TEST_HARNESS_MAIN
