// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "virtio_bridge": declaring, listing and
 * removing devices, the backend node that appears with a declaration,
 * per-device overrides, VM reports, counters, the "events" multicast group,
 * and CAP_NET_ADMIN for every mutation.
 */
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "vbst_dev.h"

FIXTURE(nl) {
	struct vbst_world w;
	char buf[64];
};

FIXTURE_SETUP(nl)
{
	vbst_world_init(&self->w);
	ASSERT_EQ(0, vbst_load("vmstop_timeout=2"));
	ASSERT_EQ(0, vbst_nl_open(&self->w.nl)) {
		TH_LOG("family %s not registered", VBRIDGE_GENL_NAME);
	}
}

FIXTURE_TEARDOWN(nl)
{
	vbst_world_fini(&self->w);
	EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
}

static int find_dev(const struct vbst_devinfo *d, int n, uint32_t vmid, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (d[i].vmid == vmid && !strcmp(d[i].name, name))
			return i;
	return -1;
}

TEST_F(nl, family_has_events_group)
{
	EXPECT_NE(0, self->w.nl.family);
	EXPECT_NE(0, self->w.nl.mcgrp_events);
	EXPECT_EQ(0, vbst_nl_subscribe(&self->w.nl));
}

TEST_F(nl, dev_add_creates_node_at_once)
{
	struct vbst_devspec d;
	struct stat st;
	char path[128];

	EXPECT_FALSE(vbst_be_exists(VBST_VMID, VBST_NAME));
	vbst_std_spec(&d, VBST_VMID, VBST_NAME, 4);
	ASSERT_EQ(0, vbst_dev_add(&self->w.nl, &d)) {
		TH_LOG("DEV_ADD: %s", self->w.nl.ext_msg);
	}
	/* No udev here: the node must exist when DEV_ADD has returned. */
	ASSERT_EQ(0, stat(vbst_be_path(path, sizeof(path), VBST_VMID, VBST_NAME), &st)) {
		TH_LOG("%s: %s", path, strerror(errno));
	}
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
}

TEST_F(nl, dev_get_reports_declaration)
{
	struct vbst_devspec d;
	struct vbst_devinfo di;
	unsigned int i;

	vbst_std_spec(&d, VBST_VMID, VBST_NAME, 29);	/* SPIs 3..0x1f */
	d.irqs[5].flags = 0;				/* one edge line */
	ASSERT_EQ(0, vbst_dev_add(&self->w.nl, &d));
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(VBST_VMID, di.vmid);
	EXPECT_STREQ(VBST_NAME, di.name);
	EXPECT_TRUE(di.has_id);
	EXPECT_EQ(VBST_BE_VMID, di.backend_vmid);
	ASSERT_EQ(2, di.nr_windows);
	EXPECT_EQ(VBST_ECAM_ADDR, di.windows[0].addr);
	EXPECT_EQ(VBST_ECAM_SIZE, di.windows[0].size);
	EXPECT_EQ(VBST_BAR_ADDR, di.windows[1].addr);
	EXPECT_EQ(VBST_BAR_SIZE, di.windows[1].size);
	ASSERT_EQ(29, di.nr_irqs);
	for (i = 0; i < 29; i++) {
		EXPECT_EQ(VBST_FIRST_SPI + i, di.irqs[i].num);
		EXPECT_EQ(i == 5 ? 0 : VBRIDGE_IRQ_F_LEVEL, di.irqs[i].flags);
	}
	EXPECT_EQ(0x1f, di.irqs[28].num);
	/* Nobody has the backend open and no VM runs. */
	EXPECT_TRUE(di.has_state);
	EXPECT_EQ(0, di.state);
	EXPECT_TRUE(di.has_stats);
	for (i = VBRIDGE_STAT_FORWARDED; i <= VBRIDGE_STAT_MAX; i++)
		EXPECT_EQ(0, di.stats[i]);
	/* No override: the effective values are the module parameters. */
	EXPECT_TRUE(di.has_effective);
	EXPECT_EQ(1000, di.eff_retry_timeout_ms);
	EXPECT_EQ(2, di.eff_vmstop_timeout);
	EXPECT_EQ(1, di.eff_vmstop_autoack);
	EXPECT_FALSE(di.has_retry_timeout_ms);
	EXPECT_FALSE(di.has_vmstop_timeout);
	EXPECT_FALSE(di.has_vmstop_autoack);
}

TEST_F(nl, dev_ids_match_frontend_and_backend)
{
	struct vbridge_backend_info bi;
	struct vbst_devinfo di;

	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 2));
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	EXPECT_EQ(di.id, self->w.dev.id);
	self->w.be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	ASSERT_LE(0, self->w.be);
	ASSERT_EQ(0, vbst_be_info(self->w.be, &bi));
	EXPECT_EQ(di.id, bi.id);
}

TEST_F(nl, dev_dump_lists_every_device)
{
	struct vbst_devspec d;
	struct vbst_devinfo di[8];
	int n;

	EXPECT_EQ(0, vbst_dev_dump(&self->w.nl, di, 8));
	vbst_std_spec(&d, 3, "a", 1);
	ASSERT_EQ(0, vbst_dev_add(&self->w.nl, &d));
	vbst_std_spec(&d, 3, "b", 1);
	d.windows[0].addr = 0x20000000;
	d.windows[1].addr = 0x21000000;
	ASSERT_EQ(0, vbst_dev_add(&self->w.nl, &d));
	vbst_std_spec(&d, 4, "a", 1);
	ASSERT_EQ(0, vbst_dev_add(&self->w.nl, &d));
	n = vbst_dev_dump(&self->w.nl, di, 8);
	ASSERT_EQ(3, n);
	EXPECT_LE(0, find_dev(di, n, 3, "a"));
	EXPECT_LE(0, find_dev(di, n, 3, "b"));
	EXPECT_LE(0, find_dev(di, n, 4, "a"));
	n = find_dev(di, 3, 3, "b");
	ASSERT_LE(0, n);
	EXPECT_EQ(0x20000000, di[n].windows[0].addr);
}

TEST_F(nl, dev_del_removes_node)
{
	struct vbst_devspec d;
	struct vbst_devinfo di;

	vbst_std_spec(&d, VBST_VMID, VBST_NAME, 1);
	ASSERT_EQ(0, vbst_dev_add(&self->w.nl, &d));
	ASSERT_TRUE(vbst_be_exists(VBST_VMID, VBST_NAME));
	ASSERT_EQ(0, vbst_dev_del(&self->w.nl, VBST_VMID, VBST_NAME));
	EXPECT_FALSE(vbst_be_exists(VBST_VMID, VBST_NAME));
	EXPECT_EQ(-ENOENT, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(0, vbst_dev_dump(&self->w.nl, &di, 1));
	/* The name is free again. */
	EXPECT_EQ(0, vbst_dev_add(&self->w.nl, &d));
	EXPECT_TRUE(vbst_be_exists(VBST_VMID, VBST_NAME));
}

TEST_F(nl, dev_del_get_set_unknown_is_enoent)
{
	struct vbst_override o = { .has_retry = true };
	struct vbst_devspec d;
	struct vbst_devinfo di;

	EXPECT_EQ(-ENOENT, vbst_dev_del(&self->w.nl, VBST_VMID, VBST_NAME));
	EXPECT_EQ(-ENOENT, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(-ENOENT, vbst_dev_set(&self->w.nl, VBST_VMID, VBST_NAME, &o));
	/* Same name in another VM is another device. */
	vbst_std_spec(&d, 4, VBST_NAME, 1);
	ASSERT_EQ(0, vbst_dev_add(&self->w.nl, &d));
	EXPECT_EQ(-ENOENT, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(-ENOENT, vbst_dev_del(&self->w.nl, VBST_VMID, VBST_NAME));
	EXPECT_TRUE(vbst_be_exists(4, VBST_NAME));
}

TEST_F(nl, same_name_in_two_vms)
{
	struct vbst_devspec d;
	struct vbst_devinfo a, b;

	vbst_std_spec(&d, 3, VBST_NAME, 1);
	ASSERT_EQ(0, vbst_dev_add(&self->w.nl, &d));
	vbst_std_spec(&d, 4, VBST_NAME, 1);
	ASSERT_EQ(0, vbst_dev_add(&self->w.nl, &d));
	EXPECT_TRUE(vbst_be_exists(3, VBST_NAME));
	EXPECT_TRUE(vbst_be_exists(4, VBST_NAME));
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, 3, VBST_NAME, &a));
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, 4, VBST_NAME, &b));
	EXPECT_NE(a.id, b.id);
	ASSERT_EQ(0, vbst_dev_del(&self->w.nl, 3, VBST_NAME));
	EXPECT_FALSE(vbst_be_exists(3, VBST_NAME));
	EXPECT_TRUE(vbst_be_exists(4, VBST_NAME));
}

TEST_F(nl, vm_get_without_vm)
{
	struct vbst_vminfo vi;

	EXPECT_EQ(-ENOENT, vbst_vm_get(&self->w.nl, VBST_VMID, &vi));
	EXPECT_EQ(0, vbst_vm_dump(&self->w.nl, &vi, 1));
}

TEST_F(nl, vm_get_running_vm)
{
	struct vbst_vminfo vi[4];
	struct vbst_devinfo di;

	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 1));
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, vbst_vm_get(&self->w.nl, VBST_VMID, &vi[0]));
	EXPECT_EQ(VBST_VMID, vi[0].vmid);
	EXPECT_TRUE(vi[0].has_state);
	EXPECT_EQ(VBRIDGE_VM_S_RUNNING, vi[0].state);
	EXPECT_TRUE(vi[0].has_generation);
	EXPECT_EQ(self->w.att.generation, vi[0].generation);
	EXPECT_TRUE(vi[0].has_pid);
	EXPECT_EQ(getpid(), vi[0].pid);
	EXPECT_TRUE(vi[0].has_nr_devices);
	EXPECT_EQ(1, vi[0].nr_devices);
	ASSERT_EQ(1, vbst_vm_dump(&self->w.nl, vi, 4));
	EXPECT_EQ(VBST_VMID, vi[0].vmid);
	/* The device reports its VM running. */
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_TRUE(di.state & VBRIDGE_DEV_S_RUNNING);
}

TEST_F(nl, dev_set_overrides_and_clear)
{
	struct vbst_override o = {
		.has_retry = true, .retry_timeout_ms = -1,
		.has_timeout = true, .vmstop_timeout = 9,
		.has_autoack = true, .vmstop_autoack = 0,
	};
	struct vbst_devinfo di;

	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 1));
	ASSERT_EQ(0, vbst_dev_set(&self->w.nl, VBST_VMID, VBST_NAME, &o)) {
		TH_LOG("DEV_SET: %s", self->w.nl.ext_msg);
	}
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_TRUE(di.has_retry_timeout_ms);
	EXPECT_EQ(-1, di.retry_timeout_ms);
	EXPECT_TRUE(di.has_vmstop_timeout);
	EXPECT_EQ(9, di.vmstop_timeout);
	EXPECT_TRUE(di.has_vmstop_autoack);
	EXPECT_EQ(0, di.vmstop_autoack);
	ASSERT_TRUE(di.has_effective);
	EXPECT_EQ(-1, di.eff_retry_timeout_ms);
	EXPECT_EQ(9, di.eff_vmstop_timeout);
	EXPECT_EQ(0, di.eff_vmstop_autoack);

	/* One override at a time leaves the others alone. */
	memset(&o, 0, sizeof(o));
	o.has_retry = true;
	o.retry_timeout_ms = 0;
	ASSERT_EQ(0, vbst_dev_set(&self->w.nl, VBST_VMID, VBST_NAME, &o));
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(0, di.eff_retry_timeout_ms);
	EXPECT_EQ(9, di.eff_vmstop_timeout);

	memset(&o, 0, sizeof(o));
	o.clear = true;
	ASSERT_EQ(0, vbst_dev_set(&self->w.nl, VBST_VMID, VBST_NAME, &o));
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_FALSE(di.has_retry_timeout_ms);
	EXPECT_FALSE(di.has_vmstop_timeout);
	EXPECT_FALSE(di.has_vmstop_autoack);
	EXPECT_EQ(1000, di.eff_retry_timeout_ms);
	EXPECT_EQ(2, di.eff_vmstop_timeout);
	EXPECT_EQ(1, di.eff_vmstop_autoack);
}

TEST_F(nl, effective_values_follow_module_parameters)
{
	struct vbst_devinfo di;

	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 1));
	ASSERT_EQ(0, vbst_write_file(VBRIDGE_PARAM_DIR "retry_timeout_ms", "250"));
	ASSERT_EQ(0, vbst_write_file(VBRIDGE_PARAM_DIR "vmstop_autoack", "N"));
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(250, di.eff_retry_timeout_ms);
	EXPECT_EQ(0, di.eff_vmstop_autoack);
}

TEST_F(nl, dev_set_bad_values_change_nothing)
{
	struct vbst_devinfo di;
	struct vbst_msg m;
	int ret;

	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 1));
	/* vmstop_autoack is 0 or 1. */
	vbst_msg_init(&m, self->w.nl.family, VBRIDGE_CMD_DEV_SET, 0);
	vbst_put_u32(&m, VBRIDGE_A_VMID, VBST_VMID);
	vbst_put_str(&m, VBRIDGE_A_DEV_NAME, VBST_NAME);
	vbst_put_s32(&m, VBRIDGE_A_RETRY_TIMEOUT_MS, 5);
	vbst_put_u8(&m, VBRIDGE_A_VMSTOP_AUTOACK, 2);
	ret = vbst_nl_request(&self->w.nl, &m, NULL, NULL);
	EXPECT_TRUE(ret == -EINVAL || ret == -ERANGE) {
		TH_LOG("autoack=2: %d (%s)", ret, self->w.nl.ext_msg);
	}
	/* A u32 where a u8 belongs. */
	vbst_msg_init(&m, self->w.nl.family, VBRIDGE_CMD_DEV_SET, 0);
	vbst_put_u32(&m, VBRIDGE_A_VMID, VBST_VMID);
	vbst_put_str(&m, VBRIDGE_A_DEV_NAME, VBST_NAME);
	vbst_put_u64(&m, VBRIDGE_A_VMSTOP_TIMEOUT, 3);
	ret = vbst_nl_request(&self->w.nl, &m, NULL, NULL);
	EXPECT_TRUE(ret == -EINVAL || ret == -ERANGE) {
		TH_LOG("u64 vmstop_timeout: %d (%s)", ret, self->w.nl.ext_msg);
	}
	/* Missing device name. */
	vbst_msg_init(&m, self->w.nl.family, VBRIDGE_CMD_DEV_SET, 0);
	vbst_put_u32(&m, VBRIDGE_A_VMID, VBST_VMID);
	vbst_put_s32(&m, VBRIDGE_A_RETRY_TIMEOUT_MS, 5);
	EXPECT_EQ(-EINVAL, vbst_nl_request(&self->w.nl, &m, NULL, NULL));
	/* Nothing was applied, not even the valid retry value. */
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_FALSE(di.has_retry_timeout_ms);
	EXPECT_FALSE(di.has_vmstop_timeout);
	EXPECT_FALSE(di.has_vmstop_autoack);
	EXPECT_EQ(1000, di.eff_retry_timeout_ms);
}

TEST_F(nl, counters_count_accesses)
{
	struct vbst_devinfo di;
	uint64_t v;
	int32_t res;
	int i;

	ASSERT_EQ(0, vbst_world_up(&self->w, 1)) {
		TH_LOG("%s", vbst_why);
	}
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_BAR_ADDR + 8 * i, 4, &v, &res));
		EXPECT_EQ(0, res);
	}
	ASSERT_EQ(0, vbst_guest_write(self->w.fe, VBST_BAR_ADDR, 4, 7, &res));
	ASSERT_EQ(0, vbst_guest_write(self->w.fe, VBST_BAR_ADDR, 4, 8, &res));
	/* A load orders behind the stores, so all five were forwarded. */
	ASSERT_EQ(0, vbst_guest_read(self->w.fe, VBST_BAR_ADDR, 4, &v, &res));
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	ASSERT_TRUE(di.has_stats);
	EXPECT_EQ(6, di.stats[VBRIDGE_STAT_FORWARDED]);
	EXPECT_EQ(4, di.stats[VBRIDGE_STAT_COMPLETED]);
	EXPECT_EQ(0, di.stats[VBRIDGE_STAT_TIMEDOUT]);
	EXPECT_EQ(0, di.stats[VBRIDGE_STAT_FAILED]);
	EXPECT_EQ(0, di.stats[VBRIDGE_STAT_VMSTOPS]);
	EXPECT_EQ(VBRIDGE_DEV_S_OPEN | VBRIDGE_DEV_S_READY | VBRIDGE_DEV_S_RUNNING,
		  di.state);
}

TEST_F(nl, events_follow_a_device_life)
{
	static const uint32_t want[] = {
		VBRIDGE_EV_DEV_ADDED, VBRIDGE_EV_BACKEND_READY, VBRIDGE_EV_VMSTART,
		VBRIDGE_EV_VMSTOP, VBRIDGE_EV_VMSTOP_ACK, VBRIDGE_EV_VM_RELEASED,
		VBRIDGE_EV_BACKEND_GONE, VBRIDGE_EV_DEV_REMOVED,
	};
	struct vbst_event ev[ARRAY_SIZE(want)];
	struct vbst_nl sub;
	struct vbst_evbuf *eb = calloc(1, sizeof(*eb));
	struct vbridge_msg msg;
	uint64_t gen;
	unsigned int i, n = 0;
	int r;

	ASSERT_NE(NULL, eb);
	ASSERT_EQ(0, vbst_nl_open(&sub));
	ASSERT_EQ(0, vbst_nl_subscribe(&sub));

	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 1));
	ASSERT_EQ(0, vbst_world_backend(&self->w, VBST_VMID, VBST_NAME, true, false));
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	gen = self->w.att.generation;
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTART, &msg, VBST_SOON_MS));
	close(self->w.fe);
	self->w.fe = -1;
	ASSERT_EQ(0, vbst_be_expect(self->w.be, VBRIDGE_MSG_VMSTOP, &msg, VBST_SOON_MS));
	ASSERT_EQ(0, vbst_be_ack(self->w.be, msg.id));
	/* The release is the module's business: wait for its event. */
	while (n < 6) {
		r = vbst_event_next(&sub, eb, &ev[n], VBST_SOON_MS);
		if (r <= 0)
			break;
		n++;
	}
	close(self->w.be);
	self->w.be = -1;
	ASSERT_EQ(0, vbst_dev_del(&self->w.nl, VBST_VMID, VBST_NAME));
	while (n < ARRAY_SIZE(want)) {
		r = vbst_event_next(&sub, eb, &ev[n], VBST_SOON_MS);
		if (r <= 0)
			break;
		n++;
	}
	for (i = 0; i < n; i++)
		TH_LOG("event %u: %s vm%u %s gen %llu", i, vbst_event_name(ev[i].ev),
		       ev[i].vmid, ev[i].has_name ? ev[i].name : "-",
		       (unsigned long long)ev[i].generation);
	ASSERT_EQ(ARRAY_SIZE(want), n);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(VBRIDGE_CMD_EVENT, ev[i].cmd);
		EXPECT_EQ(want[i], ev[i].ev) {
			TH_LOG("event %u is %s, expected %s", i, vbst_event_name(ev[i].ev),
			       vbst_event_name(want[i]));
		}
		EXPECT_TRUE(ev[i].has_vmid);
		EXPECT_EQ(VBST_VMID, ev[i].vmid);
	}
	/* Device events name the device; VM events carry the generation. */
	EXPECT_STREQ(VBST_NAME, ev[0].name);
	EXPECT_STREQ(VBST_NAME, ev[1].name);
	EXPECT_EQ(gen, ev[2].generation);
	EXPECT_TRUE(ev[2].has_pid);
	EXPECT_EQ(getpid(), ev[2].pid);
	EXPECT_EQ(gen, ev[3].generation);
	EXPECT_STREQ(VBST_NAME, ev[4].name);
	EXPECT_EQ(gen, ev[4].generation);
	EXPECT_EQ(gen, ev[5].generation);
	EXPECT_STREQ(VBST_NAME, ev[6].name);
	EXPECT_STREQ(VBST_NAME, ev[7].name);
	vbst_nl_close(&sub);
	free(eb);
}

TEST_F(nl, dev_del_refused_while_in_use)
{
	struct vbst_evbuf *eb = calloc(1, sizeof(*eb));
	struct vbst_devinfo di;
	struct vbst_nl sub;

	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 1));
	/* A provider has the node open. */
	self->w.be = vbst_be_open(VBST_VMID, VBST_NAME, 0);
	ASSERT_LE(0, self->w.be);
	EXPECT_EQ(-EBUSY, vbst_dev_del(&self->w.nl, VBST_VMID, VBST_NAME));
	EXPECT_TRUE(vbst_be_exists(VBST_VMID, VBST_NAME));
	close(self->w.be);
	self->w.be = -1;
	/* Its VM runs. */
	ASSERT_EQ(0, vbst_world_start_vm(&self->w, VBST_VMID, VBST_NAME)) {
		TH_LOG("%s", vbst_why);
	}
	EXPECT_EQ(-EBUSY, vbst_dev_del(&self->w.nl, VBST_VMID, VBST_NAME));
	EXPECT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	/* Free again once the VM is released (nobody owes an ack). */
	ASSERT_EQ(0, vbst_nl_open(&sub));
	ASSERT_EQ(0, vbst_nl_subscribe(&sub));
	close(self->w.fe);
	self->w.fe = -1;
	EXPECT_EQ(1, vbst_event_wait(&sub, eb, VBRIDGE_EV_VM_RELEASED, VBST_VMID, NULL, NULL,
				     VBST_SOON_MS));
	vbst_nl_close(&sub);
	free(eb);
	EXPECT_EQ(0, vbst_dev_del(&self->w.nl, VBST_VMID, VBST_NAME));
	EXPECT_FALSE(vbst_be_exists(VBST_VMID, VBST_NAME));
}

TEST_F(nl, dev_set_needs_a_setting_in_range)
{
	struct vbst_override o = { 0 };
	struct vbst_devinfo di;

	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 1));
	EXPECT_EQ(-EINVAL, vbst_dev_set(&self->w.nl, VBST_VMID, VBST_NAME, &o));
	o.has_timeout = true;
	o.vmstop_timeout = 86401;
	EXPECT_EQ(-ERANGE, vbst_dev_set(&self->w.nl, VBST_VMID, VBST_NAME, &o));
	o.vmstop_timeout = 86400;
	EXPECT_EQ(0, vbst_dev_set(&self->w.nl, VBST_VMID, VBST_NAME, &o));
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_EQ(86400, di.eff_vmstop_timeout);
}

TEST_F(nl, dev_add_takes_overrides)
{
	struct vbst_devinfo di;
	struct vbst_devspec d;
	struct vbst_msg m;

	vbst_std_spec(&d, VBST_VMID, VBST_NAME, 1);
	vbst_msg_init(&m, self->w.nl.family, VBRIDGE_CMD_DEV_ADD, 0);
	vbst_put_devspec(&m, &d);
	vbst_put_s32(&m, VBRIDGE_A_RETRY_TIMEOUT_MS, -1);
	vbst_put_u8(&m, VBRIDGE_A_VMSTOP_AUTOACK, 0);
	ASSERT_EQ(0, vbst_nl_request(&self->w.nl, &m, NULL, NULL)) {
		TH_LOG("%s", self->w.nl.ext_msg);
	}
	ASSERT_EQ(0, vbst_dev_get(&self->w.nl, VBST_VMID, VBST_NAME, &di));
	EXPECT_TRUE(di.has_retry_timeout_ms);
	EXPECT_EQ(-1, di.eff_retry_timeout_ms);
	EXPECT_EQ(0, di.eff_vmstop_autoack);
	EXPECT_FALSE(di.has_vmstop_timeout);
}

/* Drop CAP_NET_ADMIN from every set of this process. */
static int drop_net_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[CAP_TO_INDEX(CAP_NET_ADMIN)].effective &= ~CAP_TO_MASK(CAP_NET_ADMIN);
	d[CAP_TO_INDEX(CAP_NET_ADMIN)].permitted &= ~CAP_TO_MASK(CAP_NET_ADMIN);
	d[CAP_TO_INDEX(CAP_NET_ADMIN)].inheritable &= ~CAP_TO_MASK(CAP_NET_ADMIN);
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return 0;
}

/*
 * In a child without CAP_NET_ADMIN: every mutation fails with -EPERM, the
 * reads work.  Exit status: 0, or the number of the check that failed.
 */
static int unprivileged_child(void)
{
	struct vbst_override o = { .has_retry = true, .retry_timeout_ms = 0 };
	struct vbst_devinfo di[4];
	struct vbst_devspec d;
	struct vbst_vminfo vi;
	struct vbst_nl nl;

	if (drop_net_admin())
		return 1;
	if (vbst_nl_open(&nl))
		return 2;
	vbst_std_spec(&d, 5, "intruder", 1);
	if (vbst_dev_add(&nl, &d) != -EPERM)
		return 3;
	if (vbst_dev_del(&nl, VBST_VMID, VBST_NAME) != -EPERM)
		return 4;
	if (vbst_dev_set(&nl, VBST_VMID, VBST_NAME, &o) != -EPERM)
		return 5;
	if (vbst_dev_get(&nl, VBST_VMID, VBST_NAME, &di[0]))
		return 6;
	if (vbst_dev_dump(&nl, di, 4) != 1)
		return 7;
	if (vbst_vm_dump(&nl, &vi, 1) != 0)
		return 8;
	return 0;
}

TEST_F(nl, mutations_need_cap_net_admin)
{
	struct vbst_devinfo di[4];
	pid_t pid;

	ASSERT_EQ(0, vbst_world_declare(&self->w, VBST_VMID, VBST_NAME, 1));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(unprivileged_child());
	EXPECT_EQ(0, vbst_wait_child(pid, 20000)) {
		TH_LOG("unprivileged child failed its check (see unprivileged_child)");
	}
	/* Nothing changed. */
	ASSERT_EQ(1, vbst_dev_dump(&self->w.nl, di, 4));
	EXPECT_STREQ(VBST_NAME, di[0].name);
	EXPECT_FALSE(di[0].has_retry_timeout_ms);
	EXPECT_FALSE(vbst_be_exists(5, "intruder"));
	EXPECT_TRUE(vbst_be_exists(VBST_VMID, VBST_NAME));
}

TEST_HARNESS_MAIN
