// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/devices/input.c: the select/subsel configuration,
 * events from the source to the event queue (with flow control and split
 * reads), the status queue (LEDs pass, injected keys do not), reset, a
 * node that goes away, evdev open errors, and a real uinput device when
 * /dev/uinput is usable.
 */
#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/input.h>
#include <linux/uinput.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_input.h>

#include "devices/virtio_devs.h"
#include "tap.h"
#include "vtest.h"

#define DEVFN	PCI_DEVFN(5, 0)
#define CFG(f)	offsetof(struct virtio_input_config, f)

struct idev {
	struct vt_host *vh;
	struct pci_bus *bus;
	struct virtio_dev *vd;
	struct vt_dev d;
};

static int idev_up(struct idev *x, struct virtio_dev *vd)
{
	x->vh = vt_host_new();
	x->bus = pci_bus_new(&x->vh->host);
	x->vd = vd;
	if (!vd)
		return -1;
	pci_bus_add(x->bus, DEVFN, &vd->func);
	virtio_dev_start(vd);
	vt_probe(&x->d, x->vh, x->bus, DEVFN, 0xc0000000);
	return vt_bringup(&x->d, 0, 2);
}

static void idev_down(struct idev *x)
{
	pci_bus_free(x->bus);
	vt_host_free(x->vh);
}

/* Select/subsel, then read size and the first n bytes of the union. */
static unsigned int query(struct idev *x, uint8_t sel, uint8_t sub, uint8_t *out,
			  unsigned int n)
{
	unsigned int i, size;

	vt_wr(&x->d, x->d.device + CFG(select), 1, sel);
	vt_wr(&x->d, x->d.device + CFG(subsel), 1, sub);
	size = vt_rd(&x->d, x->d.device + CFG(size), 1);
	for (i = 0; i < n; i++)
		out[i] = vt_rd(&x->d, x->d.device + CFG(u) + i, 1);
	return size;
}

static void post_ev(struct idev *x, uint64_t gpa)
{
	struct vt_seg seg = { gpa, 8, true };

	vt_add(&x->d, 0, &seg, 1);
	vt_kick(&x->d, 0);
}

static void send_ev(int fd, uint16_t type, uint16_t code, int32_t value)
{
	struct input_event ev = { .type = type, .code = code, .value = value };

	if (write(fd, &ev, sizeof(ev)) != sizeof(ev))
		perror("write");
}

static bool got_ev(struct idev *x, uint64_t gpa, uint16_t type, uint16_t code,
		   int32_t value)
{
	struct virtio_input_event *e = vt_ptr(x->vh, gpa);
	uint32_t id, len;

	return vt_wait_used(&x->d, 0, &id, &len) && len == 8 &&
	       le16toh(e->type) == type && le16toh(e->code) == code &&
	       (int32_t)le32toh(e->value) == value;
}

static void test_synthetic(void)
{
	struct input_info info;
	struct idev x;
	uint8_t u[128];
	uint64_t b[4];
	int sv[2], i;
	uint32_t id, len;

	memset(&info, 0, sizeof(info));
	strcpy(info.name, "Test Keyboard");
	strcpy(info.serial, "SN42");
	info.bustype = BUS_USB;
	info.vendor = 0x1234;
	info.product = 0x5678;
	info.version = 0x111;
	info.prop[0] = 1 << INPUT_PROP_POINTER;
	info.ev[0][0] = (1 << EV_SYN) | (1 << EV_KEY) | (1 << EV_ABS);
	info.ev[EV_KEY][KEY_A / 8] |= 1 << (KEY_A % 8);
	info.ev[EV_KEY][BTN_LEFT / 8] |= 1 << (BTN_LEFT % 8);
	info.ev[EV_ABS][0] = (1 << ABS_X) | (1 << ABS_Y);
	info.abs[ABS_X].max = 1023;
	info.abs[ABS_Y].min = -5;
	info.abs[ABS_Y].max = 767;
	info.abs[ABS_Y].res = 3;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		return;
	TAP_EQ_INT(idev_up(&x, input_new(sv[0], "test", &info)), 0, "input: driver up");
	TAP_EQ_INT(vt_cfg(&x.d, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_INPUT,
		   "input: device id 0x1052");

	TAP_EQ_INT(query(&x, VIRTIO_INPUT_CFG_ID_NAME, 0, u, 13), 13, "cfg: name size");
	TAP_CHECK(!memcmp(u, "Test Keyboard", 13), "cfg: name");
	TAP_EQ_INT(query(&x, VIRTIO_INPUT_CFG_ID_SERIAL, 0, u, 4), 4, "cfg: serial size");
	TAP_CHECK(!memcmp(u, "SN42", 4), "cfg: serial");
	TAP_EQ_INT(query(&x, VIRTIO_INPUT_CFG_ID_DEVIDS, 0, u, 8), 8, "cfg: ids size");
	TAP_CHECK(u[0] == BUS_USB && u[2] == 0x34 && u[3] == 0x12 && u[4] == 0x78 &&
		  u[6] == 0x11, "cfg: bustype, vendor, product, version");
	TAP_EQ_INT(query(&x, VIRTIO_INPUT_CFG_PROP_BITS, 0, u, 1), 1, "cfg: prop size");
	TAP_EQ_INT(u[0], 1 << INPUT_PROP_POINTER, "cfg: prop bits");
	TAP_EQ_INT(query(&x, VIRTIO_INPUT_CFG_EV_BITS, EV_KEY, u, 128), BTN_LEFT / 8 + 1,
		   "cfg: EV_KEY bitmap up to its last set byte");
	TAP_CHECK((u[KEY_A / 8] & (1 << (KEY_A % 8))) &&
		  (u[BTN_LEFT / 8] & (1 << (BTN_LEFT % 8))), "cfg: KEY_A and BTN_LEFT set");
	TAP_EQ_INT(query(&x, VIRTIO_INPUT_CFG_EV_BITS, EV_REL, u, 1), 0,
		   "cfg: unsupported type has size 0");
	TAP_EQ_INT(query(&x, VIRTIO_INPUT_CFG_EV_BITS, 0, u, 1), 0,
		   "cfg: EV_SYN subsel has size 0");
	TAP_EQ_INT(query(&x, VIRTIO_INPUT_CFG_EV_BITS, 200, u, 1), 0,
		   "cfg: subsel beyond EV_MAX has size 0");
	TAP_EQ_INT(query(&x, VIRTIO_INPUT_CFG_ABS_INFO, ABS_Y, u, 20), 20, "cfg: abs size");
	TAP_CHECK(le32toh(*(uint32_t *)u) == (uint32_t)-5 &&
		  le32toh(*(uint32_t *)(u + 4)) == 767 &&
		  le32toh(*(uint32_t *)(u + 16)) == 3, "cfg: ABS_Y min, max, res");
	TAP_EQ_INT(query(&x, VIRTIO_INPUT_CFG_ABS_INFO, ABS_Z, u, 1), 0,
		   "cfg: axis not present has size 0");
	TAP_EQ_INT(query(&x, VIRTIO_INPUT_CFG_ABS_INFO, 255, u, 1), 0,
		   "cfg: axis 255 has size 0");
	TAP_EQ_INT(query(&x, 0x77, 0, u, 1), 0, "cfg: unknown select has size 0");
	vt_wr(&x.d, x.d.device + CFG(size), 1, 99);
	TAP_EQ_INT(vt_rd(&x.d, x.d.device + CFG(size), 1), 0, "cfg: size is read-only");

	/* Events. */
	for (i = 0; i < 4; i++)
		b[i] = vt_alloc(x.vh, 8, 8);
	send_ev(sv[1], EV_KEY, KEY_A, 1);
	send_ev(sv[1], EV_SYN, SYN_REPORT, 0);
	vt_msleep(30);
	TAP_EQ_INT(vt_used_pending(&x.d, 0), 0, "events: wait for buffers");
	post_ev(&x, b[0]);
	TAP_CHECK(got_ev(&x, b[0], EV_KEY, KEY_A, 1), "events: key press delivered");
	post_ev(&x, b[1]);
	TAP_CHECK(got_ev(&x, b[1], EV_SYN, SYN_REPORT, 0), "events: SYN_REPORT delivered");
	post_ev(&x, b[2]);
	{
		struct input_event ev = { .type = EV_ABS, .code = ABS_X, .value = -7 };
		const uint8_t *p = (const uint8_t *)&ev;

		/* An event split across two reads. */
		if (write(sv[1], p, 10) != 10)
			return;
		vt_msleep(20);
		if (write(sv[1], p + 10, sizeof(ev) - 10) != (ssize_t)sizeof(ev) - 10)
			return;
	}
	TAP_CHECK(got_ev(&x, b[2], EV_ABS, ABS_X, -7), "events: split event reassembled");

	/* Status queue: LED goes to the node, an injected key does not. */
	{
		uint64_t s = vt_alloc(x.vh, 16, 8);
		struct virtio_input_event *e = vt_ptr(x.vh, s);
		struct vt_seg seg = { s, 8, false };
		struct input_event ev;

		e->type = htole16(EV_KEY);
		e->code = htole16(KEY_B);
		e->value = htole32(1);
		vt_add(&x.d, 1, &seg, 1);
		vt_kick(&x.d, 1);
		TAP_EQ_INT(vt_wait_used(&x.d, 1, &id, &len), 1, "status: key event consumed");
		e->type = htole16(EV_LED);
		e->code = htole16(LED_CAPSL);
		e->value = htole32(1);
		vt_add(&x.d, 1, &seg, 1);
		vt_kick(&x.d, 1);
		TAP_EQ_INT(vt_wait_used(&x.d, 1, &id, &len), 1, "status: LED event consumed");
		vt_msleep(10);
		TAP_CHECK(read(sv[1], &ev, sizeof(ev)) == sizeof(ev) && ev.type == EV_LED &&
			  ev.code == LED_CAPSL && ev.value == 1,
			  "status: only the LED event reaches the node");
		TAP_CHECK(read(sv[1], &ev, sizeof(ev)) < 0, "status: nothing else written");
	}

	/* Reset restores the configuration and drops pending events. */
	send_ev(sv[1], EV_KEY, KEY_A, 0);
	vt_msleep(20);
	TAP_EQ_INT(vt_bringup(&x.d, 0, 2), 0, "reset: up again");
	TAP_EQ_INT(vt_rd(&x.d, x.d.device + CFG(select), 1), 0, "reset: select cleared");
	post_ev(&x, b[3]);
	send_ev(sv[1], EV_KEY, KEY_A, 2);
	{
		struct virtio_input_event *e = vt_ptr(x.vh, b[3]);

		TAP_CHECK(vt_wait_used(&x.d, 0, &id, &len) && le16toh(e->type) == EV_KEY,
			  "reset: events flow again");
	}

	/* The node goes away: the device logs it and keeps serving the queues. */
	close(sv[1]);
	vt_msleep(30);
	post_ev(&x, b[0]);
	vt_msleep(30);
	TAP_EQ_INT(vt_status(&x.d) & VIRTIO_CONFIG_S_NEEDS_RESET, 0,
		   "gone: the device does not fail");
	idev_down(&x);
}

static void test_open_errors(void)
{
	int fd;

	TAP_CHECK(input_new_evdev("/dev/input/event-none") == NULL,
		  "evdev: missing node refused");
	TAP_CHECK(input_new_evdev("/dev/null") == NULL, "evdev: /dev/null is not evdev");
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0) {
		struct input_info info;

		TAP_CHECK(input_info_from_evdev(fd, &info) < 0,
			  "evdev: description of a non-evdev fd fails");
	}
	close(fd);
}

static void test_uinput(void)
{
	struct uinput_setup us;
	struct virtio_dev *vd;
	struct idev x;
	char sys[64], path[300] = "";
	uint8_t u[128];
	uint64_t b;
	DIR *dir;
	struct dirent *de;
	int ufd;

	ufd = open("/dev/uinput", O_WRONLY | O_NONBLOCK);
	if (ufd < 0) {
		VT_SKIP("uinput: /dev/uinput is not available here");
		return;
	}
	ioctl(ufd, UI_SET_EVBIT, EV_KEY);
	ioctl(ufd, UI_SET_KEYBIT, KEY_Q);
	memset(&us, 0, sizeof(us));
	us.id.bustype = BUS_VIRTUAL;
	us.id.vendor = 0xabcd;
	strcpy(us.name, "vbridge uinput test");
	if (ioctl(ufd, UI_DEV_SETUP, &us) || ioctl(ufd, UI_DEV_CREATE) ||
	    ioctl(ufd, UI_GET_SYSNAME(sizeof(sys)), sys) < 0) {
		VT_SKIP("uinput: cannot create a device");
		close(ufd);
		return;
	}
	snprintf(path, sizeof(path), "/sys/devices/virtual/input/%s", sys);
	dir = opendir(path);
	path[0] = '\0';
	while (dir && (de = readdir(dir)))
		if (!strncmp(de->d_name, "event", 5))
			snprintf(path, sizeof(path), "/dev/input/%s", de->d_name);
	if (dir)
		closedir(dir);
	vt_msleep(100);	/* udev creates the node */
	vd = path[0] ? input_new_evdev(path) : NULL;
	if (!vd) {
		VT_SKIP("uinput: no event node for the uinput device");
		ioctl(ufd, UI_DEV_DESTROY);
		close(ufd);
		return;
	}
	TAP_EQ_INT(idev_up(&x, vd), 0, "uinput: driver up");
	TAP_EQ_INT(query(&x, VIRTIO_INPUT_CFG_ID_NAME, 0, u, 19), 19, "uinput: name size");
	TAP_CHECK(!memcmp(u, "vbridge uinput test", 19), "uinput: name");
	query(&x, VIRTIO_INPUT_CFG_EV_BITS, EV_KEY, u, 128);
	TAP_CHECK(u[KEY_Q / 8] & (1 << (KEY_Q % 8)), "uinput: KEY_Q bit");
	b = vt_alloc(x.vh, 8, 8);
	post_ev(&x, b);
	send_ev(ufd, EV_KEY, KEY_Q, 1);
	send_ev(ufd, EV_SYN, SYN_REPORT, 0);
	TAP_CHECK(got_ev(&x, b, EV_KEY, KEY_Q, 1), "uinput: key press reaches the guest");
	idev_down(&x);
	ioctl(ufd, UI_DEV_DESTROY);
	close(ufd);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_synthetic();
	test_open_errors();
	test_uinput();
	return tap_done();
}
