/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The two roles a virtio_bridge kselftest plays at once:
 *
 *  - the VMM: /dev/virtio-bridge attached to a vmid, guest RAM in a memfd
 *    sealed with F_SEAL_SHRINK, plain eventfds where a VMM would pass KVM
 *    irqfds, and VBRIDGE_ACCESS for the guest's loads and stores;
 *  - the device provider: /dev/virtio/vm<N>/<name>, read()ing requests and
 *    write()ing replies, either by hand or from a server thread.
 *
 * The "standard device" is the configuration guide's: vm3, backend vmid 2,
 * "cvm2rb-pci", ECAM 16 MiB at 0x10000, BARs 1 MiB at 0x01010000, level
 * SPIs from 3.  Its guest RAM is VBST_RAM_SIZE at VBST_RAM_GPA.
 *
 * Helpers return 0 or a negative errno and never use the harness, so they
 * can run in threads and forked children; on failure vbst_why says which
 * step failed, for TH_LOG().
 */
#ifndef VBST_DEV_H
#define VBST_DEV_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "virtio_bridge.h"
#include "vbridge_selftest.h"
#include "vbst_nl.h"

#define VBST_VMID	3
#define VBST_BE_VMID	2
#define VBST_NAME	"cvm2rb-pci"
#define VBST_ECAM_ADDR	0x10000ULL
#define VBST_ECAM_SIZE	(16ULL << 20)
#define VBST_BAR_ADDR	0x01010000ULL
#define VBST_BAR_SIZE	(1ULL << 20)
#define VBST_FIRST_SPI	3
#define VBST_RAM_GPA	0x40000000ULL
#define VBST_RAM_SIZE	(4ULL << 20)

/* Generous bound for things that must happen "soon" (not a timing assert). */
#define VBST_SOON_MS	10000

static char vbst_why[256];

static inline int vbst_fail(int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(vbst_why, sizeof(vbst_why), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(vbst_why))
		snprintf(vbst_why + n, sizeof(vbst_why) - n, ": %s", strerror(-err));
	return err;
}

static inline uint64_t vbst_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void vbst_sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static inline uint64_t vbst_len_mask(uint32_t len)
{
	return len >= 8 ? ~0ULL : (1ULL << (8 * len)) - 1;
}

/* What the server thread answers for a load: a function of the address. */
static inline uint64_t vbst_pattern(uint64_t addr, uint32_t len)
{
	return ((addr * 0x9e3779b97f4a7c15ULL) ^ 0x5aa5c33c0ff01234ULL) & vbst_len_mask(len);
}

/* ------------------------------------------------------------------ */
/* Declarations                                                       */
/* ------------------------------------------------------------------ */

static inline void vbst_std_spec(struct vbst_devspec *d, uint32_t vmid,
				 const char *name, unsigned int nr_irqs)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	d->vmid = vmid;
	d->name = name;
	d->backend_vmid = VBST_BE_VMID;
	d->nr_windows = 2;
	d->windows[0].addr = VBST_ECAM_ADDR;
	d->windows[0].size = VBST_ECAM_SIZE;
	d->windows[1].addr = VBST_BAR_ADDR;
	d->windows[1].size = VBST_BAR_SIZE;
	d->nr_irqs = nr_irqs;
	for (i = 0; i < nr_irqs; i++) {
		d->irqs[i].num = VBST_FIRST_SPI + i;
		d->irqs[i].flags = VBRIDGE_IRQ_F_LEVEL;
	}
}

static inline char *vbst_be_path(char *buf, size_t len, uint32_t vmid, const char *name)
{
	snprintf(buf, len, "/dev/virtio/vm%u/%s", vmid, name);
	return buf;
}

static inline bool vbst_be_exists(uint32_t vmid, const char *name)
{
	char p[128];

	return access(vbst_be_path(p, sizeof(p), vmid, name), F_OK) == 0;
}

/* ------------------------------------------------------------------ */
/* Guest RAM                                                          */
/* ------------------------------------------------------------------ */

struct vbst_ram {
	int fd;
	uint8_t *p;
	uint64_t size;
};

/* A memfd of size bytes with the given seals, mapped shared in r->p. */
static inline int vbst_ram_create(struct vbst_ram *r, uint64_t size, unsigned int seals)
{
	r->p = NULL;
	r->size = size;
	r->fd = memfd_create("vbst-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (r->fd < 0)
		return vbst_fail(-errno, "memfd_create");
	if (ftruncate(r->fd, size))
		return vbst_fail(-errno, "ftruncate memfd");
	if (seals && fcntl(r->fd, F_ADD_SEALS, seals))
		return vbst_fail(-errno, "F_ADD_SEALS");
	r->p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->p == MAP_FAILED) {
		r->p = NULL;
		return vbst_fail(-errno, "mmap memfd");
	}
	return 0;
}

static inline void vbst_ram_destroy(struct vbst_ram *r)
{
	if (r->p)
		munmap(r->p, r->size);
	if (r->fd >= 0)
		close(r->fd);
	r->p = NULL;
	r->fd = -1;
}

/* ------------------------------------------------------------------ */
/* Frontend (VMM)                                                     */
/* ------------------------------------------------------------------ */

static inline int vbst_fe_open(int flags)
{
	int fd = open(VBRIDGE_FRONTEND_NODE, O_RDWR | O_CLOEXEC | flags);

	return fd < 0 ? vbst_fail(-errno, "open " VBRIDGE_FRONTEND_NODE) : fd;
}

static inline int vbst_fe_attach_flags(int fe, uint32_t vmid, uint32_t flags,
					struct vbridge_attach *out)
{
	struct vbridge_attach a = { .vmid = vmid, .flags = flags };

	if (ioctl(fe, VBRIDGE_ATTACH, &a))
		return vbst_fail(-errno, "VBRIDGE_ATTACH vm%u", vmid);
	if (out)
		*out = a;
	return 0;
}

static inline int vbst_fe_attach(int fe, uint32_t vmid, struct vbridge_attach *out)
{
	return vbst_fe_attach_flags(fe, vmid, 0, out);
}

static inline int vbst_fe_add_region(int fe, uint64_t gpa, uint64_t size, int fd,
				     uint64_t off)
{
	struct vbridge_mem_region r = {
		.guest_phys_addr = gpa, .size = size, .fd_offset = off, .fd = fd,
	};

	return ioctl(fe, VBRIDGE_ADD_REGION, &r) ? -errno : 0;
}

static inline int vbst_fe_get_device(int fe, uint32_t index,
				     struct vbridge_device_info *di)
{
	memset(di, 0, sizeof(*di));
	di->index = index;
	return ioctl(fe, VBRIDGE_GET_DEVICE, di) ? -errno : 0;
}

/* The attached VM's device called name. */
static inline int vbst_fe_find_device(int fe, uint32_t nr, const char *name,
				      struct vbridge_device_info *di)
{
	uint32_t i;
	int ret;

	for (i = 0; i < nr; i++) {
		ret = vbst_fe_get_device(fe, i, di);
		if (ret)
			return vbst_fail(ret, "VBRIDGE_GET_DEVICE %u", i);
		if (!strcmp(di->name, name))
			return 0;
	}
	return vbst_fail(-ENOENT, "device %s not among the %u of the VM", name, nr);
}

static inline int vbst_fe_set_irqfd(int fe, uint32_t dev, uint32_t line, int fd,
				    int resamplefd)
{
	struct vbridge_irqfd q = {
		.device_id = dev, .line = line, .fd = fd, .resamplefd = resamplefd,
	};

	return ioctl(fe, VBRIDGE_SET_IRQFD, &q) ? -errno : 0;
}

/*
 * One forwarded access.  Returns the ioctl's status (0 or -errno); the
 * access's own result goes to *result, a load's value to *data (both
 * always written).
 */
static inline int vbst_access(int fe, uint64_t addr, uint32_t len, bool write,
			      uint64_t *data, int32_t *result)
{
	struct vbridge_access a = {
		.addr = addr, .len = len,
		.flags = write ? VBRIDGE_ACCESS_F_WRITE : 0,
		.data = write ? *data : 0,
	};

	int ret;

	/* result starts at a value the module never writes (it is an out field). */
	a.result = 1;
	ret = ioctl(fe, VBRIDGE_ACCESS, &a) ? -errno : 0;
	if (!write)
		*data = a.data;
	if (result)
		*result = a.result;
	return ret;
}

static inline int vbst_guest_read(int fe, uint64_t addr, uint32_t len, uint64_t *data,
				  int32_t *result)
{
	return vbst_access(fe, addr, len, false, data, result);
}

static inline int vbst_guest_write(int fe, uint64_t addr, uint32_t len, uint64_t data,
				   int32_t *result)
{
	return vbst_access(fe, addr, len, true, &data, result);
}

/* Eventfd readable within timeout_ms?  Returns its counter (read), 0 if not. */
static inline uint64_t vbst_efd_take(int efd, int timeout_ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t v = 0;

	if (poll(&p, 1, timeout_ms) != 1)
		return 0;
	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* The oldest doorbell change (VBRIDGE_GET_DOORBELL), into a zeroed *d. */
static inline int vbst_fe_get_doorbell(int fe, struct vbridge_doorbell *d)
{
	memset(d, 0, sizeof(*d));
	return ioctl(fe, VBRIDGE_GET_DOORBELL, d) ? -errno : 0;
}

/* Does the frontend poll readable (a change pending) within timeout_ms? */
static inline bool vbst_fe_readable(int fe, int timeout_ms)
{
	struct pollfd p = { .fd = fe, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

/* ------------------------------------------------------------------ */
/* Backend (device provider)                                          */
/* ------------------------------------------------------------------ */

static inline int vbst_be_open(uint32_t vmid, const char *name, int flags)
{
	char p[128];
	int fd = open(vbst_be_path(p, sizeof(p), vmid, name), O_RDWR | O_CLOEXEC | flags);

	return fd < 0 ? vbst_fail(-errno, "open %s", p) : fd;
}

/* VBRIDGE_BE_ADD_DOORBELL; its id in *id unless id is NULL. */
static inline int vbst_be_add_doorbell(int be, uint64_t addr, uint32_t len, int fd,
				       uint32_t flags, uint64_t datamatch, uint32_t *id)
{
	struct vbridge_doorbell_req r = {
		.addr = addr, .len = len, .fd = fd, .flags = flags, .datamatch = datamatch,
	};

	if (ioctl(be, VBRIDGE_BE_ADD_DOORBELL, &r))
		return -errno;
	if (id)
		*id = r.id;
	return 0;
}

static inline int vbst_be_set_ready(int be, int ready)
{
	return ioctl(be, VBRIDGE_BE_SET_READY, (unsigned long)ready) ? -errno : 0;
}

static inline int vbst_be_info(int be, struct vbridge_backend_info *bi)
{
	memset(bi, 0, sizeof(*bi));
	return ioctl(be, VBRIDGE_BE_GET_INFO, bi) ? -errno : 0;
}

/* One message: 1, 0 when none came within timeout_ms, or -errno. */
static inline int vbst_be_read(int be, struct vbridge_msg *m, int timeout_ms)
{
	struct pollfd p = { .fd = be, .events = POLLIN };
	ssize_t n;
	int r;

	r = poll(&p, 1, timeout_ms);
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	n = read(be, m, sizeof(*m));
	if (n < 0)
		return -errno;
	if (n != sizeof(*m))
		return vbst_fail(-EPROTO, "read %zd bytes, not one message", n);
	return 1;
}

/* The next message of the given type, failing on any other in between. */
static inline int vbst_be_expect(int be, uint32_t type, struct vbridge_msg *m,
				 int timeout_ms)
{
	int r = vbst_be_read(be, m, timeout_ms);

	if (r < 0)
		return vbst_fail(r, "read backend");
	if (r == 0)
		return vbst_fail(-ETIMEDOUT, "no message of type %u", type);
	if (m->type != type)
		return vbst_fail(-EPROTO, "message type %u, expected %u", m->type, type);
	return 0;
}

static inline int vbst_be_reply(int be, uint32_t type, uint64_t id, uint64_t data,
				int32_t result)
{
	struct vbridge_reply r = {
		.type = type, .size = sizeof(r), .id = id, .data = data, .result = result,
	};
	ssize_t n = write(be, &r, sizeof(r));

	if (n < 0)
		return -errno;
	return n == sizeof(r) ? 0 : -EPROTO;
}

static inline int vbst_be_ack(int be, uint64_t generation)
{
	return vbst_be_reply(be, VBRIDGE_REPLY_VMSTOP_ACK, generation, 0, 0);
}

/* ------------------------------------------------------------------ */
/* Server thread: answers loads with vbst_pattern(), logs everything   */
/* ------------------------------------------------------------------ */

#define VBST_LOG_MAX 512

struct vbst_server {
	int be;
	int stop[2];
	pthread_t thr;
	bool running;
	bool ack_vmstop;	/* acknowledge VMSTOP at once */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int nlog;
	struct vbridge_msg log[VBST_LOG_MAX];
	int err;		/* first unexpected error, 0 if none */
};

static inline void *vbst_server_main(void *arg)
{
	struct vbst_server *s = arg;
	struct vbridge_msg buf[8];

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = s->be, .events = POLLIN },
			{ .fd = s->stop[0], .events = POLLIN },
		};
		ssize_t n;
		unsigned int i;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			s->err = -errno;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & (POLLERR | POLLNVAL)) {
			s->err = -EIO;
			break;
		}
		n = read(s->be, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			s->err = -errno;
			break;
		}
		if (n == 0 || n % sizeof(buf[0])) {
			s->err = -EPROTO;
			break;
		}
		for (i = 0; i < n / sizeof(buf[0]); i++) {
			struct vbridge_msg *m = &buf[i];
			int ret = 0;

			pthread_mutex_lock(&s->lock);
			if (s->nlog < VBST_LOG_MAX)
				s->log[s->nlog] = *m;
			s->nlog++;
			pthread_cond_broadcast(&s->cond);
			pthread_mutex_unlock(&s->lock);
			if (m->type == VBRIDGE_MSG_LOAD)
				ret = vbst_be_reply(s->be, VBRIDGE_REPLY_LOAD, m->id,
						    vbst_pattern(m->addr, m->len), 0);
			else if (m->type == VBRIDGE_MSG_VMSTOP && s->ack_vmstop)
				ret = vbst_be_ack(s->be, m->id);
			if (ret && !s->err)
				s->err = ret;
		}
	}
	return NULL;
}

static inline int vbst_server_start(struct vbst_server *s, int be)
{
	memset(s, 0, sizeof(*s));
	s->be = be;
	s->ack_vmstop = true;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (pipe2(s->stop, O_CLOEXEC))
		return vbst_fail(-errno, "pipe");
	if (pthread_create(&s->thr, NULL, vbst_server_main, s))
		return vbst_fail(-EAGAIN, "pthread_create");
	s->running = true;
	return 0;
}

static inline void vbst_server_stop(struct vbst_server *s)
{
	if (!s->running)
		return;
	if (write(s->stop[1], "x", 1) != 1)
		return;
	pthread_join(s->thr, NULL);
	close(s->stop[0]);
	close(s->stop[1]);
	s->running = false;
}

/* Wait until the server has logged at least n messages; 0 or -ETIMEDOUT. */
static inline int vbst_server_wait(struct vbst_server *s, unsigned int n, int timeout_ms)
{
	struct timespec ts;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (s->nlog < n && !ret)
		ret = pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	ret = s->nlog >= n ? 0 : -ETIMEDOUT;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static inline unsigned int vbst_server_count(struct vbst_server *s, uint32_t type)
{
	unsigned int i, c = 0;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nlog && i < VBST_LOG_MAX; i++)
		c += s->log[i].type == type;
	pthread_mutex_unlock(&s->lock);
	return c;
}

/* Loads and stores the server has seen (VMSTART/VMSTOP not counted). */
static inline unsigned int vbst_server_requests(struct vbst_server *s)
{
	return vbst_server_count(s, VBRIDGE_MSG_LOAD) + vbst_server_count(s, VBRIDGE_MSG_STORE);
}

/* ------------------------------------------------------------------ */
/* An access running in its own thread (a vCPU blocked in a load)      */
/* ------------------------------------------------------------------ */

struct vbst_async {
	pthread_t thr;
	int fe;
	struct vbridge_access acc;
	int ret;		/* ioctl status: 0 or -errno */
	bool done;		/* __atomic accesses */
	bool started;
};

static inline void vbst_async_sigusr1(int sig)
{
}

static inline void *vbst_async_main(void *arg)
{
	struct vbst_async *a = arg;

	a->ret = ioctl(a->fe, VBRIDGE_ACCESS, &a->acc) ? -errno : 0;
	__atomic_store_n(&a->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Start a load or store in a new thread.  SIGUSR1 gets a handler without
 * SA_RESTART, so vbst_async_signal() interrupts a wait with EINTR.
 */
static inline int vbst_async_start(struct vbst_async *a, int fe, uint64_t addr,
				   uint32_t len, bool write, uint64_t data)
{
	struct sigaction sa = { .sa_handler = vbst_async_sigusr1 };

	sigaction(SIGUSR1, &sa, NULL);
	memset(a, 0, sizeof(*a));
	a->fe = fe;
	a->acc.addr = addr;
	a->acc.len = len;
	a->acc.flags = write ? VBRIDGE_ACCESS_F_WRITE : 0;
	a->acc.data = data;
	if (pthread_create(&a->thr, NULL, vbst_async_main, a))
		return vbst_fail(-EAGAIN, "pthread_create");
	a->started = true;
	return 0;
}

static inline bool vbst_async_done(struct vbst_async *a)
{
	return __atomic_load_n(&a->done, __ATOMIC_ACQUIRE);
}

static inline void vbst_async_signal(struct vbst_async *a)
{
	pthread_kill(a->thr, SIGUSR1);
}

/* Join within timeout_ms: 0, or -ETIMEDOUT (the thread is left running). */
static inline int vbst_async_join(struct vbst_async *a, int timeout_ms)
{
	struct timespec ts;

	if (!a->started)
		return -EINVAL;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(a->thr, NULL, &ts))
		return -ETIMEDOUT;
	a->started = false;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Children                                                           */
/* ------------------------------------------------------------------ */

/*
 * Wait for a child: its exit status (0..255), 128 + signal when killed,
 * or -ETIMEDOUT (then it is killed and reaped).
 */
static inline int vbst_wait_child(pid_t pid, int timeout_ms)
{
	uint64_t end = vbst_now_ms() + timeout_ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			break;
		if (r < 0)
			return -errno;
		if (vbst_now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -ETIMEDOUT;
		}
		vbst_sleep_ms(10);
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/* ------------------------------------------------------------------ */
/* A whole setup: module, declaration, VM, backend                     */
/* ------------------------------------------------------------------ */

struct vbst_world {
	struct vbst_nl nl;
	struct vbst_ram ram;
	int fe;
	uint32_t attach_flags;	/* VBRIDGE_ATTACH_F_* for vbst_world_start_vm() */
	struct vbridge_attach att;
	struct vbridge_device_info dev;
	int be;
	struct vbst_server srv;
};

static inline void vbst_world_init(struct vbst_world *w)
{
	memset(w, 0, sizeof(*w));
	w->nl.fd = -1;
	w->ram.fd = -1;
	w->fe = -1;
	w->be = -1;
}

/* Open netlink and declare the standard device as (vmid, name). */
static inline int vbst_world_declare(struct vbst_world *w, uint32_t vmid,
				     const char *name, unsigned int nr_irqs)
{
	struct vbst_devspec d;
	int ret;

	if (w->nl.fd < 0) {
		ret = vbst_nl_open(&w->nl);
		if (ret)
			return vbst_fail(ret, "generic netlink family " VBRIDGE_GENL_NAME);
	}
	vbst_std_spec(&d, vmid, name, nr_irqs);
	ret = vbst_dev_add(&w->nl, &d);
	if (ret)
		return vbst_fail(ret, "DEV_ADD vm%u/%s (%s)", vmid, name, w->nl.ext_msg);
	return 0;
}

/*
 * Guest RAM, the frontend (w->fe, opened unless it is already) attached to
 * vmid, RAM registered, device found.
 */
static inline int vbst_world_start_vm(struct vbst_world *w, uint32_t vmid,
				      const char *name)
{
	int ret;

	if (w->ram.fd < 0) {
		ret = vbst_ram_create(&w->ram, VBST_RAM_SIZE, F_SEAL_SHRINK);
		if (ret)
			return ret;
	}
	if (w->fe < 0) {
		w->fe = vbst_fe_open(0);
		if (w->fe < 0)
			return w->fe;
	}
	ret = vbst_fe_attach_flags(w->fe, vmid, w->attach_flags, &w->att);
	if (ret)
		return ret;
	ret = vbst_fe_add_region(w->fe, VBST_RAM_GPA, VBST_RAM_SIZE, w->ram.fd, 0);
	if (ret)
		return vbst_fail(ret, "VBRIDGE_ADD_REGION");
	return vbst_fe_find_device(w->fe, w->att.nr_devices, name, &w->dev);
}

/* Open the device's backend node, optionally ready it and serve it. */
static inline int vbst_world_backend(struct vbst_world *w, uint32_t vmid,
				     const char *name, bool ready, bool serve)
{
	int ret;

	w->be = vbst_be_open(vmid, name, 0);
	if (w->be < 0)
		return w->be;
	if (ready) {
		ret = vbst_be_set_ready(w->be, 1);
		if (ret)
			return vbst_fail(ret, "VBRIDGE_BE_SET_READY");
	}
	if (serve)
		return vbst_server_start(&w->srv, w->be);
	return 0;
}

/* Standard device, VM running, backend ready and served. */
static inline int vbst_world_up(struct vbst_world *w, unsigned int nr_irqs)
{
	int ret;

	ret = vbst_world_declare(w, VBST_VMID, VBST_NAME, nr_irqs);
	if (!ret)
		ret = vbst_world_backend(w, VBST_VMID, VBST_NAME, true, true);
	if (!ret)
		ret = vbst_world_start_vm(w, VBST_VMID, VBST_NAME);
	return ret;
}

/*
 * The module loaded with params, the standard device (one line), its VM
 * running and its backend open and ready but not served, the VMSTART read:
 * a test then plays the backend itself.
 */
static inline int vbst_world_unserved(struct vbst_world *w, const char *params)
{
	struct vbridge_msg m;
	int ret;

	ret = vbst_load(params);
	if (ret)
		return vbst_fail(ret, "loading the module with %s", params);
	ret = vbst_world_declare(w, VBST_VMID, VBST_NAME, 1);
	if (!ret)
		ret = vbst_world_backend(w, VBST_VMID, VBST_NAME, true, false);
	if (!ret)
		ret = vbst_world_start_vm(w, VBST_VMID, VBST_NAME);
	if (!ret)
		ret = vbst_be_expect(w->be, VBRIDGE_MSG_VMSTART, &m, VBST_SOON_MS);
	return ret;
}

/*
 * Wait until no VM holds the vmid (its release, a work item after the
 * last VMSTOP acknowledgment and the VMM's close, revoked every mapping
 * of its memory first): 0, or -ETIMEDOUT.
 */
static inline int vbst_wait_released(struct vbst_nl *nl, uint32_t vmid)
{
	uint64_t end = vbst_now_ms() + VBST_SOON_MS;
	struct vbst_vminfo vi;

	while (vbst_vm_get(nl, vmid, &vi) != -ENOENT) {
		if (vbst_now_ms() > end)
			return -ETIMEDOUT;
		vbst_sleep_ms(10);
	}
	return 0;
}

static inline void vbst_world_fini(struct vbst_world *w)
{
	vbst_server_stop(&w->srv);
	if (w->fe >= 0)
		close(w->fe);
	if (w->be >= 0)
		close(w->be);
	w->fe = -1;
	w->be = -1;
	vbst_ram_destroy(&w->ram);
	vbst_nl_close(&w->nl);
}

#endif
