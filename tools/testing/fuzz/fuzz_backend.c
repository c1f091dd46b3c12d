// SPDX-License-Identifier: GPL-2.0
/*
 * The device provider's side of the bridge (user/bridge/backend.c) as
 * `vbridge devices` runs it: bridge_be_open(), a device set (virtio-console
 * into a sink, virtio-rng, virtio-vsock on a temporary socket), then
 * bridge_be_serve() reading the module's messages off the backend node.
 *
 * The node is simulated: the product's ioctl(), mmap(), poll(), read()
 * and write() are wrapped at link time (-Wl,--wrap, see fuzz.mk) and,
 * for the node's descriptor only, answered by a small model of the
 * module.  read() hands out batches of struct vbridge_msg made from the
 * input: loads and stores to the ECAM window and the BAR window (any
 * offset, length, value, window), VMSTART and VMSTOP, unknown types,
 * with guest RAM writes in between (the guest builds its rings there;
 * RAM is a memfd the provider maps at VMSTART).  GET_INFO tells what the
 * input chose: windows, interrupt lines, RAM regions (also broken ones),
 * the retry timeout.  Between batches the devices' I/O loops run on this
 * thread (vloop_poll), as their threads would.
 *
 * An input may restart the provider half-way (the VM keeps running): a
 * new one opens the node, gets VMSTART of the running VM and takes the
 * devices over from the state the first one saved (SET_STATE, changed by
 * the input, resealed or not) and from its in-flight file (changed by the
 * input or not).
 *
 * The provider's CLOCK_MONOTONIC is simulated too (it decides whether a
 * takeover replays or fails the guest's requests), and getrandom(2).
 *
 * Checked besides the sanitizers, as the module would: every LOAD gets
 * exactly one reply of the right shape when serving ends normally; no
 * reply names a request that was not a LOAD or was answered already; a
 * VMSTOP acknowledgement names the stopping generation; interrupt lines
 * are inside the device's; the state blob fits.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge/backend.h"
#include "devices/devices.h"
#include "fz.h"
#include "virtio/vstate.h"

int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_poll(struct pollfd *fds, nfds_t n, int timeout);
int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout);
ssize_t __real_read(int fd, void *buf, size_t len);
ssize_t __wrap_read(int fd, void *buf, size_t len);
ssize_t __real_write(int fd, const void *buf, size_t len);
ssize_t __wrap_write(int fd, const void *buf, size_t len);
ssize_t __wrap_getrandom(void *buf, size_t len, unsigned int flags);
int __real_clock_gettime(clockid_t clk, struct timespec *ts);
int __wrap_clock_gettime(clockid_t clk, struct timespec *ts);

#define ECAM_BASE	0x10000ull
#define ECAM_SIZE	0x1000000ull
#define BAR_BASE	0x01010000ull
#define BAR_SIZE	0x100000ull
#define MAX_LOADS	4096

/* The module as the provider sees it through its node. */
struct module {
	int node_fd;			/* the provider's node, -1 before open */
	int ram_fd;			/* guest RAM (memfd) */
	struct vbridge_backend_info info;	/* windows, lines, retry */
	unsigned int nr_regions;	/* RAM regions while the VM runs */
	struct vbridge_window regions[VBRIDGE_MAX_REGIONS];
	bool running;			/* a VM runs */
	bool owe_vmstart;		/* to a provider opening while it runs */
	bool stopping;			/* VMSTOP sent, not acknowledged */
	uint64_t generation;
	uint8_t *state;			/* the saved blob */
	uint32_t state_len;
	bool bad_version;
	bool fail_doorbells;
	uint32_t next_db;
	uint64_t next_id;		/* request ids */
	uint64_t loads[MAX_LOADS];	/* LOADs not answered yet */
	unsigned int nr_loads;
	volatile bool *stop;		/* the provider's stop flag */
	struct fz *f;			/* the rest of the input */
	struct virtio_dev *const *devs;	/* the provider's, for its loops */
	unsigned int nr_devs;
};

static struct module mod = { .node_fd = -1, .ram_fd = -1 };
/*
 * The provider's clock (how long it took to take over decides what
 * becomes of the guest's requests): while a provider runs on this
 * thread, CLOCK_MONOTONIC starts at 1000 s and moves by clock_step ms at
 * every look, so the same input takes the same decision.
 */
static pthread_t provider_thread;
static bool in_provider;
static uint64_t clock_ms, clock_step;
static char node_path[128], state_dir[128], uds_opt[160];
static uint64_t rnd;

ssize_t __wrap_getrandom(void *buf, size_t len, unsigned int flags)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		p[i] = rnd;
	}
	return len;
}

int __wrap_clock_gettime(clockid_t clk, struct timespec *ts)
{
	if (!in_provider || clk != CLOCK_MONOTONIC ||
	    !pthread_equal(pthread_self(), provider_thread))
		return __real_clock_gettime(clk, ts);
	ts->tv_sec = clock_ms / 1000;
	ts->tv_nsec = (clock_ms % 1000) * 1000000;
	clock_ms += clock_step;
	return 0;
}

/* --- the simulated node ---------------------------------------------------- */

static void mod_get_info(struct vbridge_backend_info *out)
{
	*out = mod.info;
	out->state = VBRIDGE_DEV_S_OPEN | (mod.running ? VBRIDGE_DEV_S_RUNNING : 0) |
		     (mod.stopping ? VBRIDGE_DEV_S_STOPPING : 0);
	out->generation = mod.running ? mod.generation : 0;
	out->nr_regions = mod.running ? mod.nr_regions : 0;
	memcpy(out->regions, mod.regions, sizeof(out->regions));
}

static int mod_ioctl(unsigned long req, void *arg)
{
	switch (req) {
	case VBRIDGE_GET_API_VERSION:
		return mod.bad_version ? VBRIDGE_API_VERSION + 1 : VBRIDGE_API_VERSION;
	case VBRIDGE_BE_GET_INFO:
		mod_get_info(arg);
		return 0;
	case VBRIDGE_BE_SET_READY:
	case VBRIDGE_BE_RESET:
		return 0;
	case VBRIDGE_BE_SET_IRQ: {
		const struct vbridge_irq_level *l = arg;

		if (l->line >= mod.info.nr_irqs || l->level > 1 || l->reserved)
			fz_fail("SET_IRQ line %u level %u: the device has %u lines",
				l->line, l->level, mod.info.nr_irqs);
		if (!mod.running) {
			errno = ENOTCONN;
			return -1;
		}
		return 0;
	}
	case VBRIDGE_BE_ADD_DOORBELL: {
		struct vbridge_doorbell_req *d = arg;

		if (d->len != 1 && d->len != 2 && d->len != 4 && d->len != 8)
			fz_fail("doorbell of %u bytes", d->len);
		if (mod.fail_doorbells || !mod.running || d->addr < BAR_BASE ||
		    d->addr - BAR_BASE >= BAR_SIZE) {
			errno = mod.running ? EINVAL : ENOTCONN;
			return -1;
		}
		d->id = ++mod.next_db;
		return 0;
	}
	case VBRIDGE_BE_DEL_DOORBELL:
		return 0;
	case VBRIDGE_BE_SET_STATE: {
		const struct vbridge_state_blob *b = arg;

		if (b->len > VBRIDGE_STATE_MAX || b->flags)
			fz_fail("SET_STATE of %u bytes, flags 0x%x", b->len, b->flags);
		memcpy(mod.state, (const void *)(uintptr_t)b->buf, b->len);
		mod.state_len = b->len;
		return 0;
	}
	case VBRIDGE_BE_GET_STATE: {
		struct vbridge_state_blob *b = arg;

		if (b->len < mod.state_len) {
			b->len = mod.state_len;
			errno = ENOSPC;
			return -1;
		}
		memcpy((void *)(uintptr_t)b->buf, mod.state, mod.state_len);
		b->len = mod.state_len;
		return 0;
	}
	default:
		errno = ENOTTY;
		return -1;
	}
}

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (mod.node_fd < 0 && _IOC_TYPE(req) == VBRIDGE_IOCTL_MAGIC &&
	    req == VBRIDGE_GET_API_VERSION)
		mod.node_fd = fd;	/* the open that came just before */
	if (fd >= 0 && fd == mod.node_fd)
		return mod_ioctl(req, arg);
	return __real_ioctl(fd, req, arg);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (fd < 0 || fd != mod.node_fd)
		return __real_mmap(addr, len, prot, flags, fd, off);
	/* Only inside guest RAM, as the module allows. */
	if (!mod.running || (uint64_t)off < FZ_RAM_A || len > FZ_RAM_SIZE ||
	    (uint64_t)off - FZ_RAM_A > FZ_RAM_SIZE - len) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	return __real_mmap(addr, len, prot, flags, mod.ram_fd, off - FZ_RAM_A);
}

int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout)
{
	if (n == 1 && fds[0].fd >= 0 && fds[0].fd == mod.node_fd) {
		fds[0].revents = POLLIN;
		return 1;
	}
	return __real_poll(fds, n, timeout);
}

/* What the input says the guest did: messages, with RAM writes between. */
static unsigned int make_batch(struct vbridge_msg *m, unsigned int cap)
{
	struct fz *f = mod.f;
	unsigned int n = 0;
	uint8_t buf[256];

	if (mod.owe_vmstart) {
		/* What the module sends first to a node opened under a VM. */
		memset(m, 0, sizeof(*m));
		m->type = VBRIDGE_MSG_VMSTART;
		m->size = sizeof(*m);
		m->id = mod.generation;
		m->vmid = mod.info.vmid;
		mod.owe_vmstart = false;
		n++;
	}
	while (n < cap && f->n) {
		uint8_t op = fz_u8(f);
		struct vbridge_msg *x = &m[n];
		uint64_t off;
		unsigned int len;

		if (op >= 0xf0)		/* the end of a batch */
			break;
		memset(x, 0, sizeof(*x));
		x->size = sizeof(*x);
		x->vmid = mod.info.vmid;
		switch (op % 8) {
		case 0:		/* a load or store in the ECAM window */
		case 1:
			x->type = op & 1 ? VBRIDGE_MSG_STORE : VBRIDGE_MSG_LOAD;
			off = fz_u32(f);
			x->offset = op & 0x80 ? off : off & 0x1ffff;	/* slots 0-3 */
			x->addr = ECAM_BASE + x->offset;
			x->len = fz_len(f);
			x->data = fz_u64(f);
			break;
		case 2:		/* ... in the BAR window */
		case 3:
			x->type = op & 1 ? VBRIDGE_MSG_STORE : VBRIDGE_MSG_LOAD;
			x->window = 1;
			off = fz_u32(f);
			x->offset = op & 0x80 ? off : off & (BAR_SIZE - 1);
			x->addr = BAR_BASE + x->offset;
			x->len = fz_len(f);
			x->data = fz_u64(f);
			break;
		case 4:		/* guest RAM: not a message */
			off = fz_u16(f) % FZ_RAM_SIZE;
			len = fz_u8(f);
			fz_bytes(f, buf, len);
			if (len > FZ_RAM_SIZE - off)
				len = FZ_RAM_SIZE - off;
			if (pwrite(mod.ram_fd, buf, len, off) != (ssize_t)len)
				fz_fail("pwrite: %s", strerror(errno));
			continue;
		case 5:		/* VMSTART, never before the last VMSTOP's ack */
			if (mod.running || mod.stopping)
				continue;
			x->type = VBRIDGE_MSG_VMSTART;
			x->id = mod.generation = mod.generation + 1 + fz_u8(f) % 2;
			mod.running = true;
			mod.stopping = false;
			break;
		case 6:		/* VMSTOP */
			if (!mod.running)
				continue;
			x->type = VBRIDGE_MSG_VMSTOP;
			x->id = mod.generation;
			mod.running = false;
			mod.stopping = true;
			break;
		default:	/* anything */
			x->type = fz_u32(f);
			x->id = fz_u64(f);
			x->addr = fz_u64(f);
			x->offset = fz_u64(f);
			x->data = fz_u64(f);
			x->len = fz_u32(f);
			x->window = fz_u8(f) % 3;
			/* The VM's life is the model's: none made up. */
			if (x->type == VBRIDGE_MSG_VMSTART ||
			    x->type == VBRIDGE_MSG_VMSTOP)
				x->type |= 0x100;
			break;
		}
		if (x->type == VBRIDGE_MSG_LOAD || x->type == VBRIDGE_MSG_STORE) {
			if (x->type == VBRIDGE_MSG_LOAD && mod.nr_loads == MAX_LOADS)
				break;
			x->id = ++mod.next_id;
			if (x->type == VBRIDGE_MSG_LOAD)
				mod.loads[mod.nr_loads++] = x->id;
		}
		n++;
	}
	return n;
}

ssize_t __wrap_read(int fd, void *buf, size_t len)
{
	unsigned int i, n;

	if (fd < 0 || fd != mod.node_fd)
		return __real_read(fd, buf, len);
	if (len < sizeof(struct vbridge_msg)) {
		errno = EINVAL;
		return -1;
	}
	/* The devices' threads would have run meanwhile. */
	for (i = 0; i < mod.nr_devs; i++)
		if (mod.devs[i])
			fz_poll(mod.devs[i]);
	n = make_batch(buf, len / sizeof(struct vbridge_msg));
	if (!mod.f->n)
		*mod.stop = true;	/* served what there was: stop after it */
	if (!n) {
		errno = EAGAIN;
		return -1;
	}
	return n * sizeof(struct vbridge_msg);
}

static void take_reply(const struct vbridge_reply *r)
{
	unsigned int i;

	if (r->size != sizeof(*r) || r->reserved0)
		fz_fail("reply of size %u, reserved 0x%x", r->size, r->reserved0);
	if (r->type == VBRIDGE_REPLY_VMSTOP_ACK) {
		if (!mod.stopping || r->id != mod.generation)
			fz_fail("VMSTOP acknowledged for generation %llu (stopping: %s, generation %llu)",
				(unsigned long long)r->id, mod.stopping ? "yes" : "no",
				(unsigned long long)mod.generation);
		mod.stopping = false;
		return;
	}
	if (r->type != VBRIDGE_REPLY_LOAD)
		fz_fail("reply of type %u", r->type);
	for (i = 0; i < mod.nr_loads; i++) {
		if (mod.loads[i] == r->id) {
			mod.loads[i] = mod.loads[--mod.nr_loads];
			return;
		}
	}
	fz_fail("reply to request %llu, which is not an unanswered LOAD",
		(unsigned long long)r->id);
}

ssize_t __wrap_write(int fd, const void *buf, size_t len)
{
	const struct vbridge_reply *r = buf;
	size_t i;

	if (fd < 0 || fd != mod.node_fd)
		return __real_write(fd, buf, len);
	if (!len || len % sizeof(*r))
		fz_fail("write of %zu bytes to the node", len);
	for (i = 0; i < len / sizeof(*r); i++)
		take_reply(&r[i]);
	return len;
}

/* --- the provider ------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = fz_tmpdir();
	int fd;

	snprintf(node_path, sizeof(node_path), "%s/cvm2rb-pci", tmp);
	snprintf(state_dir, sizeof(state_dir), "%s/state", tmp);
	snprintf(uds_opt, sizeof(uds_opt), "3,uds=%s/v.sock", tmp);
	fd = open(node_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		fz_fail("%s: %s", node_path, strerror(errno));
	close(fd);
	mod.ram_fd = memfd_create("guest-ram", MFD_CLOEXEC);
	mod.state = malloc(VBRIDGE_STATE_MAX);
	if (mod.ram_fd < 0 || !mod.state)
		fz_fail("cannot make guest RAM");
	return 0;
}

/* The getopt value of a device option, as `vbridge devices` gets it. */
static int option(const char *name)
{
	const struct option *o;

	for (o = device_set_long_options; o->name; o++)
		if (!strcmp(o->name, name))
			return o->val;
	fz_fail("no device option --%s", name);
}

/* One provider's life: open, realize, serve until the input (or its
 * part) ends or serving fails, close.  Returns bridge_be_serve()'s. */
static int provider(struct fz *f, bool until_restart)
{
	static char opt_serial[] = "hardware=virtio-console,type=sink";
	struct bridge_be_opts opts = { .node = node_path, .state_dir = state_dir };
	struct device_set *devs = device_set_new();
	struct bridge_be *be = NULL;
	struct pci_bus *bus = NULL;
	volatile bool stop = false;
	struct fz part = *f;
	size_t given;
	int ret = -1;

	if (!devs || device_set_parse(devs, option("serial"), opt_serial) != 1 ||
	    device_set_parse(devs, option("rng"), NULL) != 1 ||
	    device_set_parse(devs, option("cid"), uds_opt) != 1)
		fz_fail("device options refused");
	/* The first provider serves up to the restart mark. */
	if (until_restart) {
		const uint8_t *mark = memmem(f->p, f->n, "RESTART!", 8);

		part.n = mark ? (size_t)(mark - f->p) : f->n;
	}
	given = part.n;
	mod.node_fd = -1;
	mod.nr_loads = 0;
	mod.owe_vmstart = mod.running;
	mod.f = &part;
	mod.stop = &stop;
	provider_thread = pthread_self();
	in_provider = true;
	if (bridge_be_open(&be, &opts))
		goto out;
	bus = pci_bus_new(bridge_be_host(be));
	if (!bus || device_set_realize(devs, bus, 0))
		fz_fail("cannot realize the devices");
	mod.devs = device_set_devices(devs, &mod.nr_devs);
	ret = bridge_be_serve(be, bus, devs, &stop);
	if (!ret && mod.nr_loads)
		fz_fail("%u LOADs were never answered", mod.nr_loads);
out:
	in_provider = false;
	mod.nr_devs = 0;
	mod.devs = NULL;
	if (bus)
		pci_bus_free(bus);
	device_set_free(devs);
	bridge_be_close(be);
	mod.node_fd = -1;
	/* Past what this provider took (and the mark, if that is next). */
	f->p += given - part.n;
	f->n -= given - part.n;
	if (until_restart && f->n >= 8 && !memcmp(f->p, "RESTART!", 8))
		fz_take(f, 8);
	return ret;
}

/* XOR bytes from the input into a file (the in-flight records). */
static void damage_file(struct fz *f, const char *file)
{
	unsigned int n = fz_u8(f) % 16, i;
	struct stat st;
	uint8_t b;
	off_t at;
	int fd;

	fd = open(file, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !st.st_size) {
		if (fd >= 0)
			close(fd);
		return;
	}
	for (i = 0; i < n; i++) {
		at = fz_u32(f) % st.st_size;
		if (pread(fd, &b, 1, at) != 1)
			break;
		b ^= fz_u8(f);
		if (pwrite(fd, &b, 1, at) != 1)
			break;
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t how = fz_u8(&f), mix;
	unsigned int i, n;
	char path[300];

	rnd = 0x9e3779b97f4a7c15ull;
	memset(&mod.info, 0, sizeof(mod.info));
	mod.info.api_version = VBRIDGE_API_VERSION;
	snprintf(mod.info.name, sizeof(mod.info.name), "cvm2rb-pci");
	mod.info.vmid = 3;
	mod.info.backend_vmid = 2;
	mod.info.nr_windows = 2 ^ (fz_u8(&f) % 16);
	mod.info.windows[0] = (struct vbridge_window){ ECAM_BASE, ECAM_SIZE };
	mod.info.windows[1] = (struct vbridge_window){ BAR_BASE, BAR_SIZE };
	mod.info.nr_irqs = 4 ^ (fz_u8(&f) % 64);
	for (i = 0; i < VBRIDGE_MAX_IRQS; i++)
		mod.info.irqs[i].num = 3 + i;
	mod.info.flags = how & 2 ? VBRIDGE_BE_INFO_F_RETRY : 0;
	mod.info.retry_timeout_ms = how & 4 ? -1 : 1000;
	mod.info.down_ms = how & 8 ? 5000 : 0;
	mod.bad_version = fz_u8(&f) == 0xff;
	clock_ms = 1000000;
	clock_step = how & 1 ? 2000 : 1;
	mod.fail_doorbells = how & 16;
	/* RAM: one region, or two adjacent, or what the input says. */
	memset(mod.regions, 0, sizeof(mod.regions));
	mod.regions[0] = (struct vbridge_window){ FZ_RAM_A, FZ_RAM_SIZE };
	mod.nr_regions = 1;
	if (how & 32) {
		mod.regions[0].size = FZ_RAM_A_SIZE;
		mod.regions[1] = (struct vbridge_window){ FZ_RAM_B, FZ_RAM_B_SIZE };
		mod.nr_regions = 2;
	}
	if (how & 64) {
		mod.nr_regions = fz_u8(&f) % (VBRIDGE_MAX_REGIONS + 2);
		for (i = 0; i < mod.nr_regions && i < VBRIDGE_MAX_REGIONS; i++) {
			mod.regions[i].addr = FZ_RAM_A ^ fz_u32(&f);
			mod.regions[i].size = 0x1000 ^ fz_u32(&f);
		}
	}
	mod.running = mod.stopping = false;
	mod.generation = 0;
	mod.state_len = 0;
	mod.next_id = 0;
	mod.next_db = 0;
	if (ftruncate(mod.ram_fd, 0) || ftruncate(mod.ram_fd, FZ_RAM_SIZE))
		fz_fail("ftruncate: %s", strerror(errno));

	snprintf(path, sizeof(path), "%s/vm3-cvm2rb-pci.inflight", state_dir);
	if (how & 128) {
		/* A provider, then another taking over the running VM. */
		provider(&f, true);
		mix = fz_u8(&f);
		n = fz_u8(&f) % 16;
		for (i = 0; i < n && mod.state_len; i++) {
			unsigned int at = fz_u16(&f) % mod.state_len;

			mod.state[at] ^= fz_u8(&f);
		}
		if (mix & 1 && mod.state_len)
			vstate_seal(mod.state, mod.state_len);
		/* ... and the in-flight records the first left behind. */
		if (mix & 2)
			damage_file(&f, path);
		if (mod.stopping) {	/* acknowledged by the close */
			mod.stopping = false;
			mod.running = false;
		}
	}
	provider(&f, false);
	unlink(path);
	return 0;
}
