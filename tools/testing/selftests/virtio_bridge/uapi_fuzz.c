// SPDX-License-Identifier: GPL-2.0
/*
 * uapi_fuzz: random and mutated calls on every interface of virtio_bridge
 * for a bounded time, from several threads, as root.
 *
 *   uapi_fuzz [SECONDS [SEED]]
 *
 * SECONDS (default $VBRIDGE_FUZZ_SECONDS, else 60) bounds the run, SEED
 * (default $VBRIDGE_FUZZ_SEED, else the time) makes it repeatable as far as
 * the threads' interleaving allows: each thread draws from its own
 * generator.  The seed is printed first.
 *
 * With devices declared for two vmids and VMs attached so that the deep
 * paths run, FUZZ_THREADS threads pick at random among:
 *  - ioctls on the frontend and backend nodes: every command of both and
 *    neighbours (other numbers, sizes and directions), arguments that are
 *    valid structures with mutated fields and reserved bits, short buffers
 *    ending at an unmapped page, NULL, kernel addresses;
 *  - read() of backend nodes with random sizes; write() of random bytes and
 *    of structurally mutated struct vbridge_reply (ids of real requests);
 *  - mmap() of backend nodes (and of their VBRIDGE_BE_MEM_FD files) at
 *    random offsets, sizes, protections and flags, page faults (read,
 *    write, zap, SIGBUS caught), munmap();
 *  - generic netlink messages: every command with random and mutated
 *    attributes, nests and lengths, and valid declarations, removals and
 *    overrides of the fuzzer's own devices;
 *  - closing a node and opening it again, attaching random vmids,
 *    VBRIDGE_STOP, guest accesses.
 * A server thread answers most loads and acknowledges most VMSTOPs.
 *
 * It passes when the module survives: at the end every thread returns
 * (backends closed, waits interrupted), the module unloads, the kernel log
 * has no oops, warning, lockdep, KASAN or hung-task report and the kernel
 * is not tainted.  vm-run checks the log and the taint as well.
 */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include "kselftest.h"
#include "vbst_dev.h"

#define FUZZ_THREADS	4
#define FUZZ_FE		4	/* frontend slots */
#define FUZZ_BE		4	/* backend slots: the declared devices */
#define FUZZ_EFD	4
#define FUZZ_SCRATCH	(128 * 1024)

/* The declared devices: two of vm3, one of vm5, one of vm7 (no VM). */
static const struct {
	uint32_t vmid;
	const char *name;
	uint64_t ecam, bar;
} fz_devs[FUZZ_BE] = {
	{ 3, "fz-a", 0x10000, 0x01010000 },
	{ 3, "fz-b", 0x20000000, 0x21000000 },
	{ 5, "fz-c", 0x10000, 0x01010000 },
	{ 7, "fz-d", 0x10000, 0x01010000 },
};

static struct {
	uint64_t seed;
	unsigned int seconds;
	uint64_t end_ms;
	atomic_bool stop;
	int fe[FUZZ_FE];	/* fixed descriptor numbers, replaced with dup2 */
	int be[FUZZ_BE];
	int efd[FUZZ_EFD];
	int memfd[3];		/* sealed, sealed, unsealed */
	int devnull;
	uint8_t *guard;		/* an unmapped page after a mapped one */
	pthread_mutex_t slot_lock;	/* serializes slot replacements */
	atomic_ullong last_id[FUZZ_BE];	/* a recent request id per backend */
	atomic_ullong last_gen;
	atomic_ulong ops[16];
	atomic_ulong ok[16];	/* calls that succeeded, per kind */
} fz;

/* The kind of operation the calling thread is in. */
static __thread unsigned int fz_op;

static void fz_ok(bool ok)
{
	if (ok)
		atomic_fetch_add(&fz.ok[fz_op], 1);
}

enum {
	OP_IOCTL_FE, OP_IOCTL_BE, OP_READ, OP_WRITE, OP_MMAP, OP_NETLINK,
	OP_REOPEN_FE, OP_REOPEN_BE, OP_ACCESS, OP_POLL, OP_NR,
};

static const char *const op_names[OP_NR] = {
	"frontend ioctls", "backend ioctls", "reads", "writes", "mmaps",
	"netlink messages", "frontend reopens", "backend reopens", "accesses",
	"polls",
};

struct fz_thread {
	unsigned int idx;
	pthread_t thr;
	uint64_t rs;
	uint8_t *scratch;
	struct vbst_nl nl;
	const char *doing;	/* what it is in, for a report of a stuck thread */
	atomic_bool done;
};

static struct fz_thread fz_thr[FUZZ_THREADS + 1];	/* + the server */

static uint64_t fz_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static uint64_t fz_pick(uint64_t *s, uint64_t n)
{
	return n ? fz_rand(s) % n : 0;
}

/* Values that tend to find edges. */
static uint64_t fz_interesting(uint64_t *s)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 4, 7, 8, 16, 31, 32, 33, 63, 64, 255, 256, 1023, 1024,
		4095, 4096, 65535, 65536, 65537, 0x7fffffff, 0x80000000, 0xffffffff,
		0x100000000ULL, 0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL,
		~0ULL - 4095, 0x10000, 0x01010000, 0x40000000, 0x40400000, 0x1000000,
		(uint64_t)-EINVAL, (uint64_t)-4096, 86400, 86401, 1000,
	};

	return v[fz_pick(s, ARRAY_SIZE(v))];
}

static void fz_fill(uint64_t *s, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = fz_rand(s);
}

/* Flip bits, bytes and words of a structure. */
static void fz_mutate(uint64_t *s, void *buf, size_t len)
{
	uint8_t *p = buf;
	unsigned int n = fz_pick(s, 4), i;

	for (i = 0; i < n && len; i++) {
		size_t off = fz_pick(s, len);

		switch (fz_pick(s, 4)) {
		case 0:
			p[off] ^= 1U << fz_pick(s, 8);
			break;
		case 1:
			p[off] = fz_rand(s);
			break;
		case 2:
			if (len >= 4) {
				uint32_t v = fz_interesting(s);

				memcpy(p + (off & ~3UL) % (len - 3), &v, 4);
			}
			break;
		default:
			if (len >= 8) {
				uint64_t v = fz_interesting(s);

				memcpy(p + (off & ~7UL) % (len - 7), &v, 8);
			}
		}
	}
}

static __thread sigjmp_buf fz_jb;
static __thread volatile sig_atomic_t fz_in_touch;

static void fz_sigbus(int sig)
{
	if (fz_in_touch)
		siglongjmp(fz_jb, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void fz_sigusr1(int sig)
{
}

/* ------------------------------------------------------------------ */
/* Slots                                                              */
/* ------------------------------------------------------------------ */

/* A fresh file takes the slot's descriptor number; the old one is closed. */
static void fz_slot_set(int slot, int fd)
{
	if (fd < 0)
		return;
	dup2(fd, slot);
	close(fd);
}

static int fz_fe_open(bool nonblock)
{
	return open(VBRIDGE_FRONTEND_NODE, O_RDWR | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
}

/* Register a memfd and attach: a VM with RAM. */
static void fz_fe_attach(uint64_t *s, int fe, uint32_t vmid)
{
	struct vbridge_mem_region r = {
		.guest_phys_addr = VBST_RAM_GPA, .size = VBST_RAM_SIZE,
		.fd = fz.memfd[fz_pick(s, 2)],
	};
	struct vbridge_attach a = {
		.vmid = vmid, .flags = fz_pick(s, 2) ? VBRIDGE_ATTACH_F_MSI : 0,
	};

	ioctl(fe, VBRIDGE_ADD_REGION, &r);
	if (!ioctl(fe, VBRIDGE_ATTACH, &a))
		atomic_store(&fz.last_gen, a.generation);
}

static uint32_t fz_vmid(uint64_t *s)
{
	static const uint32_t v[] = { 3, 3, 3, 5, 5, 7, 0, 1023, 1024, 0xffffffff };

	return v[fz_pick(s, ARRAY_SIZE(v))];
}

static void fz_reopen_fe(struct fz_thread *t)
{
	uint64_t *s = &t->rs;
	int fd = fz_fe_open(fz_pick(s, 4) != 0);

	fz_ok(fd >= 0);
	if (fd < 0)
		return;
	/* Blocking attaches wait for a stopping VM: at most its timeout. */
	if (fz_pick(s, 4))
		fz_fe_attach(s, fd, fz_vmid(s));
	pthread_mutex_lock(&fz.slot_lock);
	fz_slot_set(fz.fe[fz_pick(s, FUZZ_FE)], fd);
	pthread_mutex_unlock(&fz.slot_lock);
}

static void fz_reopen_be(struct fz_thread *t)
{
	uint64_t *s = &t->rs;
	unsigned int i = fz_pick(s, FUZZ_BE);
	int fd, null;

	pthread_mutex_lock(&fz.slot_lock);
	/* At the end, the main thread closed every backend: keep them so. */
	if (atomic_load(&fz.stop)) {
		pthread_mutex_unlock(&fz.slot_lock);
		return;
	}
	/* Close it (the slot holds /dev/null meanwhile), then open it again. */
	null = dup(fz.devnull);
	fz_slot_set(fz.be[i], null);
	fd = vbst_be_open(fz_devs[i].vmid, fz_devs[i].name, O_NONBLOCK);
	fz_ok(fd >= 0);
	if (fd >= 0) {
		if (fz_pick(s, 4))
			ioctl(fd, VBRIDGE_BE_SET_READY, 1UL);
		fz_slot_set(fz.be[i], fd);
	}
	pthread_mutex_unlock(&fz.slot_lock);
}

/* ------------------------------------------------------------------ */
/* ioctls                                                             */
/* ------------------------------------------------------------------ */

static const unsigned long fz_cmds[] = {
	VBRIDGE_GET_API_VERSION, VBRIDGE_ATTACH, VBRIDGE_GET_DEVICE,
	VBRIDGE_ADD_REGION, VBRIDGE_SET_IRQFD, VBRIDGE_ACCESS,
	VBRIDGE_GET_DOORBELL, VBRIDGE_STOP,
	VBRIDGE_BE_GET_INFO, VBRIDGE_BE_SET_READY, VBRIDGE_BE_SET_IRQ,
	VBRIDGE_BE_ADD_DOORBELL, VBRIDGE_BE_DEL_DOORBELL, VBRIDGE_BE_SET_STATE,
	VBRIDGE_BE_GET_STATE, VBRIDGE_BE_RESET, VBRIDGE_BE_ADD_MSI,
	VBRIDGE_BE_DEL_MSI, VBRIDGE_BE_MEM_FD, VBRIDGE_BE_SET_POLL,
};

/* A command of ours, or a neighbour: other number, size or direction. */
static unsigned long fz_cmd(uint64_t *s)
{
	unsigned long c = fz_cmds[fz_pick(s, ARRAY_SIZE(fz_cmds))];

	switch (fz_pick(s, 10)) {
	case 0:
		return _IOC(_IOC_DIR(c), _IOC_TYPE(c), fz_pick(s, 0x30), _IOC_SIZE(c));
	case 1:
		return _IOC(_IOC_DIR(c), _IOC_TYPE(c), _IOC_NR(c), fz_pick(s, 512));
	case 2:
		return _IOC(fz_pick(s, 4), _IOC_TYPE(c), _IOC_NR(c), _IOC_SIZE(c));
	case 3:
		return _IOC(_IOC_DIR(c), fz_pick(s, 256), _IOC_NR(c), _IOC_SIZE(c));
	case 4:
		return fz_rand(s);
	default:
		return c;
	}
}

static uint64_t fz_addr(uint64_t *s)
{
	const unsigned int d = fz_pick(s, FUZZ_BE);

	switch (fz_pick(s, 6)) {
	case 0:
		return fz_devs[d].ecam + fz_pick(s, 16 << 20);
	case 1:
	case 2:
		return fz_devs[d].bar + fz_pick(s, 1 << 20);
	case 3:
		return fz_devs[d].bar + (1 << 20) - fz_pick(s, 9);
	case 4:
		return fz_interesting(s);
	default:
		return fz_devs[d].bar + (fz_pick(s, 64) & ~3ULL);
	}
}

static int fz_any_fd(uint64_t *s)
{
	switch (fz_pick(s, 6)) {
	case 0:
		return fz.efd[fz_pick(s, FUZZ_EFD)];
	case 1:
		return fz.memfd[fz_pick(s, 3)];
	case 2:
		return fz.fe[fz_pick(s, FUZZ_FE)];
	case 3:
		return fz.be[fz_pick(s, FUZZ_BE)];
	case 4:
		return -1;
	default:
		return fz_interesting(s);
	}
}

/* A valid-looking argument for cmd in buf, before mutation. */
static size_t fz_arg(struct fz_thread *t, unsigned long cmd, uint8_t *buf)
{
	uint64_t *s = &t->rs;

	memset(buf, 0, 1024);
	switch (cmd) {
	case VBRIDGE_ATTACH: {
		struct vbridge_attach *a = (void *)buf;

		a->vmid = fz_vmid(s);
		a->flags = fz_pick(s, 2) ? VBRIDGE_ATTACH_F_MSI : 0;
		return sizeof(*a);
	}
	case VBRIDGE_GET_DEVICE:
		((struct vbridge_device_info *)buf)->index = fz_pick(s, 4);
		return sizeof(struct vbridge_device_info);
	case VBRIDGE_ADD_REGION: {
		struct vbridge_mem_region *r = (void *)buf;

		r->guest_phys_addr = VBST_RAM_GPA + fz_pick(s, 4) * VBST_RAM_SIZE;
		r->size = VBST_RAM_SIZE >> fz_pick(s, 4);
		r->fd_offset = fz_pick(s, 2) * 4096;
		r->fd = fz_any_fd(s);
		return sizeof(*r);
	}
	case VBRIDGE_SET_IRQFD: {
		struct vbridge_irqfd *q = (void *)buf;

		q->device_id = fz_pick(s, 8);
		q->line = fz_pick(s, 3);
		q->fd = fz_pick(s, 3) ? fz.efd[fz_pick(s, FUZZ_EFD)] : -1;
		q->resamplefd = fz_pick(s, 2) ? fz.efd[fz_pick(s, FUZZ_EFD)] : -1;
		return sizeof(*q);
	}
	case VBRIDGE_ACCESS: {
		struct vbridge_access *a = (void *)buf;

		a->addr = fz_addr(s);
		a->len = 1U << fz_pick(s, 4);
		a->flags = fz_pick(s, 2);
		a->data = fz_rand(s);
		return sizeof(*a);
	}
	case VBRIDGE_GET_DOORBELL:
		return sizeof(struct vbridge_doorbell);
	case VBRIDGE_BE_GET_INFO:
		return sizeof(struct vbridge_backend_info);
	case VBRIDGE_BE_SET_IRQ: {
		struct vbridge_irq_level *l = (void *)buf;

		l->line = fz_pick(s, 3);
		l->level = fz_pick(s, 2);
		return sizeof(*l);
	}
	case VBRIDGE_BE_ADD_DOORBELL: {
		struct vbridge_doorbell_req *d = (void *)buf;

		d->addr = fz_addr(s);
		d->len = 1U << fz_pick(s, 4);
		d->fd = fz_pick(s, 4) ? fz.efd[fz_pick(s, FUZZ_EFD)] : fz_any_fd(s);
		d->flags = fz_pick(s, 2);
		d->datamatch = fz_pick(s, 4);
		return sizeof(*d);
	}
	case VBRIDGE_BE_ADD_MSI: {
		struct vbridge_msi_req *m = (void *)buf;

		m->addr = fz_pick(s, 2) ? 0xfee00000 + (fz_pick(s, 256) << 12) :
			  fz_interesting(s);
		m->data = fz_pick(s, 2) ? fz_pick(s, 256) : fz_rand(s);
		m->fd = fz_pick(s, 4) ? fz.efd[fz_pick(s, FUZZ_EFD)] : fz_any_fd(s);
		m->rid = fz_pick(s, 4) ? fz_pick(s, 256) : fz_pick(s, 0x20000);
		return sizeof(*m);
	}
	case VBRIDGE_BE_MEM_FD: {
		struct vbridge_mem_fd *m = (void *)buf;

		m->gpa = fz_pick(s, 2) ? VBST_RAM_GPA + 4096 * fz_pick(s, VBST_RAM_SIZE / 4096) :
			 fz_interesting(s);
		m->size = fz_pick(s, 2) ? 4096 * fz_pick(s, VBST_RAM_SIZE / 4096 + 2) :
			  fz_interesting(s);
		m->flags = !fz_pick(s, 8);
		return sizeof(*m);
	}
	case VBRIDGE_BE_SET_POLL: {
		struct vbridge_poll *p = (void *)buf;

		/* short spins mostly: each costs the fuzz its time */
		p->spin_us = fz_pick(s, 4) ? fz_pick(s, 100) : fz_interesting(s);
		p->flags = !fz_pick(s, 8);
		p->reserved = !fz_pick(s, 8);
		return sizeof(*p);
	}
	case VBRIDGE_BE_SET_STATE:
	case VBRIDGE_BE_GET_STATE: {
		struct vbridge_state_blob *b = (void *)buf;

		b->len = fz_pick(s, 3) ? fz_pick(s, 256) : fz_pick(s, VBRIDGE_STATE_MAX + 2);
		return sizeof(*b);
	}
	default:
		return 64;
	}
}

/* Pointers inside arguments may only reach the scratch or nothing. */
static void fz_fix_pointers(struct fz_thread *t, unsigned long cmd, uint8_t *buf)
{
	struct vbridge_state_blob *b = (void *)buf;
	uint64_t *s = &t->rs;

	if (cmd != VBRIDGE_BE_SET_STATE && cmd != VBRIDGE_BE_GET_STATE)
		return;
	switch (fz_pick(s, 5)) {
	case 0:
		b->buf = 0;
		break;
	case 1:
		b->buf = (uintptr_t)fz.guard + 4096;	/* unmapped */
		break;
	case 2:
		b->buf = 0xffff888000000000ULL;		/* the kernel's */
		break;
	case 3:	/* runs into the unmapped page */
		b->buf = (uintptr_t)fz.guard + 4096 - fz_pick(s, 64);
		break;
	default:
		b->buf = (uintptr_t)(t->scratch + 4096);
		if (b->len > FUZZ_SCRATCH - 4096)
			b->len = FUZZ_SCRATCH - 4096;
	}
}

static void fz_ioctl(struct fz_thread *t, int fd)
{
	uint64_t *s = &t->rs;
	unsigned long cmd = fz_cmd(s), arg;
	uint8_t *buf = t->scratch;
	size_t len;
	long r;

	len = fz_arg(t, cmd, buf);
	if (fz_pick(s, 3))
		fz_mutate(s, buf, len);
	fz_fix_pointers(t, cmd, buf);
	switch (fz_pick(s, 12)) {
	case 0:
		arg = 0;
		break;
	case 1:	/* the structure runs into an unmapped page */
		memcpy(fz.guard + 4096 - len / 2, buf, len / 2);
		arg = (uintptr_t)(fz.guard + 4096 - len / 2);
		break;
	case 2:
		arg = 0xffff888000001000ULL;
		break;
	case 3:
		arg = fz_interesting(s);
		break;
	default:
		arg = _IOC_DIR(cmd) == _IOC_NONE ? fz_pick(s, 4) ? fz_pick(s, 3) :
			fz_interesting(s) : (uintptr_t)buf;
	}
	/* VBRIDGE_ATTACH without O_NONBLOCK waits for a stopping VM. */
	t->doing = "ioctl";
	r = ioctl(fd, cmd, arg);
	fz_ok(r >= 0);
	/* Doorbells and mem fds hand out descriptors: give them back. */
	if (!r && cmd == VBRIDGE_GET_DOORBELL && arg == (uintptr_t)buf) {
		struct vbridge_doorbell *d = (void *)buf;

		if (d->fd > 2)
			close(d->fd);
	}
	if (!r && cmd == VBRIDGE_BE_MEM_FD && arg == (uintptr_t)buf) {
		struct vbridge_mem_fd *m = (void *)buf;

		if (m->fd > 2)
			close(m->fd);
	}
}

/* ------------------------------------------------------------------ */
/* read, write, mmap                                                  */
/* ------------------------------------------------------------------ */

static void fz_read(struct fz_thread *t)
{
	uint64_t *s = &t->rs;
	unsigned int i = fz_pick(s, FUZZ_BE);
	size_t len = fz_pick(s, 4) ? fz_pick(s, 5) * sizeof(struct vbridge_msg) : fz_pick(s, 4096);
	void *dst = fz_pick(s, 8) ? t->scratch : fz.guard + 4096 - fz_pick(s, 128);
	ssize_t n;

	t->doing = "read";
	n = read(fz.be[i], dst, len);
	fz_ok(n > 0);
	if (n >= (ssize_t)sizeof(struct vbridge_msg) && dst == t->scratch) {
		struct vbridge_msg *m = (void *)t->scratch;

		if (m->type == VBRIDGE_MSG_LOAD)
			atomic_store(&fz.last_id[i], m->id);
	}
}

static void fz_write(struct fz_thread *t)
{
	uint64_t *s = &t->rs;
	unsigned int i = fz_pick(s, FUZZ_BE), n = 1 + fz_pick(s, 4), k;
	struct vbridge_reply *r = (void *)t->scratch;
	size_t len = n * sizeof(*r);

	for (k = 0; k < n; k++) {
		memset(&r[k], 0, sizeof(r[k]));
		r[k].type = 1 + fz_pick(s, 2);
		r[k].size = sizeof(r[k]);
		r[k].id = r[k].type == VBRIDGE_REPLY_VMSTOP_ACK ?
			  atomic_load(&fz.last_gen) - fz_pick(s, 2) :
			  atomic_load(&fz.last_id[i]) + fz_pick(s, 3);
		r[k].data = fz_rand(s);
		r[k].result = fz_pick(s, 4) ? 0 : -(int)fz_pick(s, 4200);
		if (fz_pick(s, 2))
			fz_mutate(s, &r[k], sizeof(r[k]));
	}
	switch (fz_pick(s, 6)) {
	case 0:
		fz_fill(s, r, len);
		break;
	case 1:
		len = fz_pick(s, len + 8);
		break;
	}
	t->doing = "write";
	fz_ok(write(fz.be[i], r, len) > 0);
}

static void fz_mmap(struct fz_thread *t)
{
	static const int prots[] = {
		PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_WRITE,
		PROT_NONE, PROT_READ | PROT_EXEC,
	};
	uint64_t *s = &t->rs;
	unsigned int i = fz_pick(s, FUZZ_BE), k;
	size_t len = fz_pick(s, 8) ? (1 + fz_pick(s, 8)) * 4096 : fz_pick(s, 1 << 24);
	uint64_t off;
	int prot = prots[fz_pick(s, ARRAY_SIZE(prots))];
	int flags = fz_pick(s, 6) ? MAP_SHARED : fz_pick(s, 2) ? MAP_PRIVATE : MAP_SHARED_VALIDATE;
	volatile uint8_t *p;

	switch (fz_pick(s, 5)) {
	case 0:
		off = fz_interesting(s) & ~4095ULL;
		break;
	case 1:
		off = VBST_RAM_GPA + VBST_RAM_SIZE - 4096 * fz_pick(s, 3);
		break;
	default:
		off = VBST_RAM_GPA + 4096 * fz_pick(s, VBST_RAM_SIZE / 4096);
	}
	t->doing = "mmap";
	if (fz_pick(s, 4)) {
		p = mmap(NULL, len, prot, flags, fz.be[i], off);
	} else {
		/* through a file of the RAM from offset 0 (VBRIDGE_BE_MEM_FD) */
		struct vbridge_mem_fd m = { .gpa = VBST_RAM_GPA, .size = VBST_RAM_SIZE };

		p = MAP_FAILED;
		if (!ioctl(fz.be[i], VBRIDGE_BE_MEM_FD, &m)) {
			p = mmap(NULL, len, prot, flags, m.fd, off - VBST_RAM_GPA);
			close(m.fd);
		}
	}
	fz_ok(p != MAP_FAILED);
	if (p == MAP_FAILED)
		return;
	if (sigsetjmp(fz_jb, 1)) {
		fz_in_touch = 0;
		munmap((void *)p, len);
		return;
	}
	if (prot & PROT_READ) {
		fz_in_touch = 1;
		t->doing = "page faults";
		for (k = 0; k < 8; k++) {
			size_t o = fz_pick(s, len);

			if (prot & PROT_WRITE && fz_pick(s, 2))
				p[o]++;
			else
				(void)p[o];
			switch (fz_pick(s, 8)) {
			case 0:
				madvise((void *)p, len, MADV_DONTNEED);
				break;
			case 1:
				mprotect((void *)p, len, PROT_READ);
				break;
			case 2: {
				void *q = mremap((void *)p, len, len + 4096, 0);

				if (q != MAP_FAILED)
					len += 4096;
				break;
			}
			}
		}
		fz_in_touch = 0;
	}
	munmap((void *)p, len);
}

/* ------------------------------------------------------------------ */
/* Netlink                                                            */
/* ------------------------------------------------------------------ */

static const char *fz_name(uint64_t *s)
{
	static const char *const v[] = {
		"fz-a", "fz-b", "fz-c", "fz-d", "fz-x", "fz-y", "", ".", "..", "a/b",
		"0123456789012345678901234567890", "01234567890123456789012345678901",
		"bad name", "\xff",
	};

	return v[fz_pick(s, ARRAY_SIZE(v))];
}

static void fz_put_random_attr(uint64_t *s, struct vbst_msg *m, int depth)
{
	uint16_t type = fz_pick(s, 8) ? fz_pick(s, VBRIDGE_A_MAX + 3) : fz_rand(s);
	uint8_t val[48];
	struct nlattr *n;
	unsigned int k;

	if (NLMSG_ALIGN(m->nlh.nlmsg_len) > sizeof(m->buf) - 512)
		return;
	switch (fz_pick(s, 7)) {
	case 0:
		vbst_put_u32(m, type, fz_pick(s, 2) ? fz_vmid(s) : fz_interesting(s));
		break;
	case 1:
		vbst_put_u64(m, type, fz_interesting(s));
		break;
	case 2:
		vbst_put_str(m, type, fz_name(s));
		break;
	case 3:
		vbst_put_u8(m, type, fz_pick(s, 3));
		break;
	case 4:
		if (depth < 3) {
			n = vbst_nest_start(m, type);
			for (k = fz_pick(s, 4); k; k--)
				fz_put_random_attr(s, m, depth + 1);
			vbst_nest_end(m, n);
			if (fz_pick(s, 3))
				n->nla_type |= NLA_F_NESTED;
			break;
		}
		/* fall through */
	default:
		k = fz_pick(s, sizeof(val));
		fz_fill(s, val, k);
		vbst_put(m, type, val, k);
	}
}

/* A declaration with random windows, irqs and overrides. */
static void fz_put_decl(uint64_t *s, struct vbst_msg *m)
{
	struct nlattr *nest, *one;
	unsigned int k, n;

	vbst_put_u32(m, VBRIDGE_A_VMID, fz_vmid(s));
	vbst_put_str(m, VBRIDGE_A_DEV_NAME, fz_name(s));
	if (fz_pick(s, 2))
		vbst_put_u32(m, VBRIDGE_A_BACKEND_VMID, fz_pick(s, 4));
	nest = vbst_nest_start(m, VBRIDGE_A_WINDOWS);
	for (n = fz_pick(s, 10), k = 0; k < n; k++) {
		one = vbst_nest_start(m, VBRIDGE_A_WINDOW);
		if (fz_pick(s, 8))
			vbst_put_u64(m, VBRIDGE_A_WINDOW_ADDR, fz_pick(s, 3) ?
				     0x30000000ULL + 0x100000ULL * fz_pick(s, 64) : fz_interesting(s));
		if (fz_pick(s, 8))
			vbst_put_u64(m, VBRIDGE_A_WINDOW_SIZE, fz_pick(s, 3) ?
				     0x1000ULL << fz_pick(s, 8) : fz_interesting(s));
		vbst_nest_end(m, one);
	}
	vbst_nest_end(m, nest);
	if (fz_pick(s, 2)) {
		nest = vbst_nest_start(m, VBRIDGE_A_IRQS);
		for (n = fz_pick(s, 36), k = 0; k < n; k++) {
			one = vbst_nest_start(m, VBRIDGE_A_IRQ);
			vbst_put_u32(m, VBRIDGE_A_IRQ_NUM, fz_pick(s, 64));
			if (fz_pick(s, 2))
				vbst_put_u32(m, VBRIDGE_A_IRQ_FLAGS, fz_pick(s, 4));
			vbst_nest_end(m, one);
		}
		vbst_nest_end(m, nest);
	}
}

static void fz_put_overrides(uint64_t *s, struct vbst_msg *m)
{
	static const int32_t retry[] = { -1, 0, 1, 50, 1000, -1000, 0x7fffffff };

	if (fz_pick(s, 2))
		vbst_put_s32(m, VBRIDGE_A_RETRY_TIMEOUT_MS, retry[fz_pick(s, ARRAY_SIZE(retry))]);
	if (fz_pick(s, 2))
		vbst_put_u32(m, VBRIDGE_A_VMSTOP_TIMEOUT, fz_pick(s, 4) ? fz_pick(s, 2) :
			     fz_interesting(s));
	if (fz_pick(s, 2))
		vbst_put_u8(m, VBRIDGE_A_VMSTOP_AUTOACK, fz_pick(s, 3));
	if (!fz_pick(s, 4))
		vbst_put_flag(m, VBRIDGE_A_CLEAR_OVERRIDES);
}

static void fz_netlink(struct fz_thread *t)
{
	struct vbst_msg *m = (void *)t->scratch;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	uint64_t *s = &t->rs;
	struct genlmsghdr *g;
	uint8_t cmd = fz_pick(s, 8) ? fz_pick(s, VBRIDGE_CMD_MAX + 2) : fz_rand(s);
	uint16_t flags = NLM_F_ACK;
	unsigned int k, len;
	char *rbuf = (char *)t->scratch + sizeof(*m);

	if (t->nl.fd < 0)
		return;
	if (!fz_pick(s, 4))
		flags |= NLM_F_DUMP;
	vbst_msg_init(m, fz_pick(s, 16) ? t->nl.family : fz_rand(s), cmd, flags);
	g = NLMSG_DATA(&m->nlh);
	if (!fz_pick(s, 16))
		g->reserved = fz_rand(s);
	if (!fz_pick(s, 16))
		g->version = fz_rand(s);
	switch (fz_pick(s, 4)) {
	case 0:	/* a declaration, mutated or not */
		fz_put_decl(s, m);
		if (fz_pick(s, 2))
			fz_put_overrides(s, m);
		break;
	case 1:	/* a device's name and overrides */
		vbst_put_u32(m, VBRIDGE_A_VMID, fz_vmid(s));
		vbst_put_str(m, VBRIDGE_A_DEV_NAME, fz_name(s));
		fz_put_overrides(s, m);
		break;
	default:
		for (k = fz_pick(s, 7); k; k--)
			fz_put_random_attr(s, m, 0);
	}
	len = m->nlh.nlmsg_len;
	if (!fz_pick(s, 10)) {
		fz_mutate(s, (char *)m->buf + NLMSG_HDRLEN + GENL_HDRLEN,
			  len - NLMSG_HDRLEN - GENL_HDRLEN);
	}
	if (!fz_pick(s, 12))
		m->nlh.nlmsg_len = fz_pick(s, len + 16);
	if (!fz_pick(s, 12))
		len = fz_pick(s, len + 1);
	m->nlh.nlmsg_seq = ++t->nl.seq;
	t->doing = "netlink";
	if (sendto(t->nl.fd, m->buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return;
	/* Drain the answer(s); a dump may take several reads. */
	for (k = 0; k < 64; k++) {
		struct pollfd p = { .fd = t->nl.fd, .events = POLLIN };
		const struct nlmsghdr *h = (const void *)rbuf;
		ssize_t n;

		if (poll(&p, 1, k ? 50 : 250) != 1)
			break;
		n = recv(t->nl.fd, rbuf, VBST_NL_BUFSZ, 0);
		if (n <= 0)
			break;
		/* Accepted: an answer, or an acknowledgment without error. */
		if (!k && NLMSG_OK(h, n))
			fz_ok(h->nlmsg_type != NLMSG_ERROR ||
			      !((const struct nlmsgerr *)NLMSG_DATA(h))->error);
	}
}

/* ------------------------------------------------------------------ */
/* Threads                                                            */
/* ------------------------------------------------------------------ */

static void fz_access(struct fz_thread *t)
{
	struct vbridge_access a = { 0 };
	uint64_t *s = &t->rs;

	a.addr = fz_addr(s);
	a.len = 1U << fz_pick(s, 4);
	a.flags = fz_pick(s, 3) ? 0 : VBRIDGE_ACCESS_F_WRITE;
	a.data = fz_rand(s);
	t->doing = "access";
	fz_ok(!ioctl(fz.fe[fz_pick(s, 4) ? fz_pick(s, 2) : fz_pick(s, FUZZ_FE)],
		     VBRIDGE_ACCESS, &a) && !a.result);
}

static void *fz_main(void *arg)
{
	struct fz_thread *t = arg;
	uint64_t *s = &t->rs;

	if (vbst_nl_open(&t->nl))
		t->nl.fd = -1;
	while (!atomic_load(&fz.stop) && vbst_now_ms() < fz.end_ms) {
		unsigned int op = fz_pick(s, 100);

		if (op < 18)
			op = OP_IOCTL_FE;
		else if (op < 36)
			op = OP_IOCTL_BE;
		else if (op < 44)
			op = OP_READ;
		else if (op < 52)
			op = OP_WRITE;
		else if (op < 62)
			op = OP_MMAP;
		else if (op < 80)
			op = OP_NETLINK;
		else if (op < 83)
			op = OP_REOPEN_FE;
		else if (op < 86)
			op = OP_REOPEN_BE;
		else if (op < 97)
			op = OP_ACCESS;
		else
			op = OP_POLL;
		atomic_fetch_add(&fz.ops[op], 1);
		fz_op = op;
		switch (op) {
		case OP_IOCTL_FE:
			fz_ioctl(t, fz.fe[fz_pick(s, FUZZ_FE)]);
			break;
		case OP_IOCTL_BE:
			fz_ioctl(t, fz.be[fz_pick(s, FUZZ_BE)]);
			break;
		case OP_READ:
			fz_read(t);
			break;
		case OP_WRITE:
			fz_write(t);
			break;
		case OP_MMAP:
			fz_mmap(t);
			break;
		case OP_NETLINK:
			fz_netlink(t);
			break;
		case OP_REOPEN_FE:
			fz_reopen_fe(t);
			break;
		case OP_REOPEN_BE:
			fz_reopen_be(t);
			break;
		case OP_ACCESS:
			fz_access(t);
			break;
		default: {
			struct pollfd p[2] = {
				{ .fd = fz.fe[fz_pick(s, FUZZ_FE)], .events = POLLIN | POLLOUT },
				{ .fd = fz.be[fz_pick(s, FUZZ_BE)], .events = POLLIN | POLLOUT },
			};

			t->doing = "poll";
			poll(p, 2, 0);
		}
		}
		t->doing = "nothing";
	}
	vbst_nl_close(&t->nl);
	atomic_store(&t->done, true);
	return NULL;
}

/*
 * Keep VMs of vm3 and vm5 in frontend slots 0 and 1, so that the deep
 * paths stay reachable however often the fuzzers stop and replace them:
 * when the vmid has no VM (netlink VM_GET), attach a new one there.
 */
static void fz_keep_vms(struct fz_thread *t)
{
	static const uint32_t vmids[2] = { 3, 5 };
	struct vbridge_attach a = { 0 };
	struct vbst_vminfo vi;
	unsigned int i;
	int fd;

	for (i = 0; i < 2 && t->nl.fd >= 0; i++) {
		struct vbridge_mem_region r = {
			.guest_phys_addr = VBST_RAM_GPA, .size = VBST_RAM_SIZE,
			.fd = fz.memfd[i],
		};

		if (vbst_vm_get(&t->nl, vmids[i], &vi) != -ENOENT)
			continue;
		fd = fz_fe_open(true);
		if (fd < 0)
			continue;
		a.vmid = vmids[i];
		/* One VM takes MSI messages, the other does not. */
		a.flags = i ? 0 : VBRIDGE_ATTACH_F_MSI;
		if (ioctl(fd, VBRIDGE_ADD_REGION, &r) || ioctl(fd, VBRIDGE_ATTACH, &a)) {
			close(fd);
			continue;
		}
		atomic_store(&fz.last_gen, a.generation);
		pthread_mutex_lock(&fz.slot_lock);
		fz_slot_set(fz.fe[i], fd);
		pthread_mutex_unlock(&fz.slot_lock);
	}
}

/*
 * Answers most loads and acknowledges most VMSTOPs on every backend, and
 * keeps VMs running.
 */
static void *fz_server(void *arg)
{
	struct fz_thread *t = arg;
	uint64_t *s = &t->rs, kept = 0;
	struct vbridge_msg m[8];
	unsigned int i, k;

	if (vbst_nl_open(&t->nl))
		t->nl.fd = -1;
	while (!atomic_load(&fz.stop)) {
		struct pollfd p[FUZZ_BE];
		ssize_t n;

		if (vbst_now_ms() - kept >= 100) {
			t->doing = "keeping VMs";
			fz_keep_vms(t);
			kept = vbst_now_ms();
		}

		for (i = 0; i < FUZZ_BE; i++) {
			p[i].fd = fz.be[i];
			p[i].events = POLLIN;
		}
		t->doing = "server poll";
		if (poll(p, FUZZ_BE, 100) <= 0)
			continue;
		for (i = 0; i < FUZZ_BE; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			t->doing = "server read";
			n = read(p[i].fd, m, sizeof(m));
			for (k = 0; n > 0 && k < n / sizeof(m[0]); k++) {
				if (m[k].type == VBRIDGE_MSG_LOAD && fz_pick(s, 10))
					vbst_be_reply(p[i].fd, VBRIDGE_REPLY_LOAD, m[k].id,
						      fz_rand(s), fz_pick(s, 20) ? 0 : -EIO);
				else if (m[k].type == VBRIDGE_MSG_VMSTOP && fz_pick(s, 4))
					vbst_be_ack(p[i].fd, m[k].id);
				if (m[k].type == VBRIDGE_MSG_LOAD)
					atomic_store(&fz.last_id[i], m[k].id);
			}
		}
	}
	vbst_nl_close(&t->nl);
	atomic_store(&t->done, true);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Set-up, the end, the verdict                                       */
/* ------------------------------------------------------------------ */

static int fz_setup(void)
{
	uint64_t rs = fz.seed | 1;
	struct vbst_devspec d;
	struct vbst_nl nl;
	unsigned int i;
	int ret, fd;
	uint8_t *g;

	ret = vbst_load("vmstop_timeout=1 retry_timeout_ms=50");
	if (ret)
		return vbst_fail(ret, "insmod");
	ret = vbst_nl_open(&nl);
	if (ret)
		return vbst_fail(ret, "netlink");
	for (i = 0; i < FUZZ_BE; i++) {
		vbst_std_spec(&d, fz_devs[i].vmid, fz_devs[i].name, 2);
		d.windows[0].addr = fz_devs[i].ecam;
		d.windows[1].addr = fz_devs[i].bar;
		ret = vbst_dev_add(&nl, &d);
		if (ret) {
			vbst_nl_close(&nl);
			return vbst_fail(ret, "DEV_ADD %s (%s)", fz_devs[i].name, nl.ext_msg);
		}
	}
	vbst_nl_close(&nl);

	fz.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (i = 0; i < 3; i++) {
		fz.memfd[i] = memfd_create("fz-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fz.memfd[i] < 0 || ftruncate(fz.memfd[i], 4 * VBST_RAM_SIZE))
			return vbst_fail(-errno, "memfd");
		if (i < 2 && fcntl(fz.memfd[i], F_ADD_SEALS, F_SEAL_SHRINK))
			return vbst_fail(-errno, "F_ADD_SEALS");
	}
	for (i = 0; i < FUZZ_EFD; i++)
		fz.efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g == MAP_FAILED)
		return vbst_fail(-errno, "mmap");
	munmap(g + 4096, 4096);
	fz.guard = g;

	/* Backends open and ready, VMs of vm3 and vm5 with RAM. */
	for (i = 0; i < FUZZ_BE; i++) {
		fz.be[i] = vbst_be_open(fz_devs[i].vmid, fz_devs[i].name, O_NONBLOCK);
		if (fz.be[i] < 0)
			return fz.be[i];
		ioctl(fz.be[i], VBRIDGE_BE_SET_READY, 1UL);
	}
	for (i = 0; i < FUZZ_FE; i++) {
		fd = fz_fe_open(true);
		if (fd < 0)
			return vbst_fail(-errno, "open frontend");
		if (i < 2)
			fz_fe_attach(&rs, fd, i ? 5 : 3);
		fz.fe[i] = fd;
	}
	return 0;
}

/* Kernel log lines since the start that say the kernel went wrong. */
static int fz_kmsg_scan(int kmsg)
{
	static const char *const bad[] = {
		"BUG:", "WARNING:", "Oops", "lockdep", "KASAN", "UBSAN", "kmemleak",
		"general protection", "possible circular", "possible recursive",
		"INFO: task", "hung_task", "soft lockup", "rcu_sched self-detected",
		"RCU stall", "refcount_t", "list_add corruption", "list_del corruption",
		"unreferenced object", "Call Trace",
	};
	char rec[8192];
	int found = 0;
	unsigned int i;

	for (;;) {
		ssize_t n = read(kmsg, rec, sizeof(rec) - 1);

		if (n < 0) {
			if (errno == EPIPE)	/* overwritten records: go on */
				continue;
			break;
		}
		rec[n] = '\0';
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			if (strstr(rec, bad[i])) {
				if (found++ < 20)
					ksft_print_msg("kernel: %s", strchr(rec, ';') ?
						       strchr(rec, ';') + 1 : rec);
				break;
			}
		}
	}
	return found;
}

static int fz_threads_alive(void)
{
	unsigned int i;
	int n = 0;

	for (i = 0; i <= FUZZ_THREADS; i++)
		n += !atomic_load(&fz_thr[i].done);
	return n;
}

int main(int argc, char **argv)
{
	const char *env_s = getenv("VBRIDGE_FUZZ_SECONDS");
	const char *env_seed = getenv("VBRIDGE_FUZZ_SEED");
	struct sigaction sa = { .sa_handler = fz_sigbus, .sa_flags = SA_NODEFER };
	struct sigaction su = { .sa_handler = fz_sigusr1 };
	unsigned long total = 0, taint;
	unsigned int i;
	uint64_t end;
	int kmsg, stuck, dirty, ret;
	char buf[64];

	fz.seconds = argc > 1 ? strtoul(argv[1], NULL, 0) : env_s ? strtoul(env_s, NULL, 0) : 60;
	fz.seed = argc > 2 ? strtoull(argv[2], NULL, 0) : env_seed ? strtoull(env_seed, NULL, 0) :
		  (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	/* The seed first: a crash must still leave it. */
	printf("# seed %llu\n", (unsigned long long)fz.seed);
	printf("# %u s; reproduce with: uapi_fuzz %u %llu\n", fz.seconds, fz.seconds,
	       (unsigned long long)fz.seed);
	fflush(stdout);
	ksft_print_header();
	ksft_set_plan(4);
	if (geteuid())
		ksft_exit_skip("uapi_fuzz needs root (it loads the module, declares devices)\n");

	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGUSR1, &su, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&fz.slot_lock, NULL);
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg >= 0)
		lseek(kmsg, 0, SEEK_END);

	ret = fz_setup();
	if (ret)
		ksft_exit_fail_msg("set-up: %s\n", vbst_why);

	fz.end_ms = vbst_now_ms() + fz.seconds * 1000ULL;
	for (i = 0; i <= FUZZ_THREADS; i++) {
		struct fz_thread *t = &fz_thr[i];

		t->idx = i;
		t->rs = fz.seed ^ (0x9e3779b97f4a7c15ULL * (i + 1));
		t->rs = t->rs ? t->rs : 1;
		t->scratch = calloc(1, FUZZ_SCRATCH + sizeof(struct vbst_msg) + VBST_NL_BUFSZ);
		t->doing = "starting";
		if (!t->scratch || pthread_create(&t->thr, NULL,
						  i < FUZZ_THREADS ? fz_main : fz_server, t))
			ksft_exit_fail_msg("cannot start thread %u\n", i);
	}
	while (vbst_now_ms() < fz.end_ms && fz_threads_alive() == FUZZ_THREADS + 1)
		usleep(100000);

	/*
	 * The end: what a thread may wait for legitimately ends here.  Backends
	 * close (their loads fail, their VMSTOPs count as acknowledged, so
	 * attaches go on), and a signal interrupts waits for a backend.
	 */
	atomic_store(&fz.stop, true);
	pthread_mutex_lock(&fz.slot_lock);
	for (i = 0; i < FUZZ_BE; i++)
		dup2(fz.devnull, fz.be[i]);
	pthread_mutex_unlock(&fz.slot_lock);
	end = vbst_now_ms() + 30000;
	while (fz_threads_alive() && vbst_now_ms() < end) {
		for (i = 0; i <= FUZZ_THREADS; i++)
			if (!atomic_load(&fz_thr[i].done))
				pthread_kill(fz_thr[i].thr, SIGUSR1);
		usleep(50000);
	}
	stuck = fz_threads_alive();
	for (i = 0; i <= FUZZ_THREADS; i++) {
		if (!atomic_load(&fz_thr[i].done))
			ksft_print_msg("thread %u is stuck in %s\n", i, fz_thr[i].doing);
		else
			pthread_join(fz_thr[i].thr, NULL);
	}
	for (i = 0; i < OP_NR; i++) {
		printf("# %lu %s, %lu succeeded\n", atomic_load(&fz.ops[i]), op_names[i],
		       atomic_load(&fz.ok[i]));
		total += atomic_load(&fz.ops[i]);
	}
	printf("# %lu operations in %u s\n", total, fz.seconds);
	ksft_test_result(!stuck, "every thread returned (%d stuck)\n", stuck);

	for (i = 0; i < FUZZ_FE; i++)
		close(fz.fe[i]);
	for (i = 0; i < FUZZ_BE; i++)
		close(fz.be[i]);
	for (i = 0; i < FUZZ_EFD; i++)
		close(fz.efd[i]);
	for (i = 0; i < 3; i++)
		close(fz.memfd[i]);
	ret = stuck ? -EBUSY : vbst_unload_wait(VBST_SOON_MS);
	ksft_test_result(!ret, "the module unloads (%s)\n", ret ? strerror(-ret) : "ok");

	dirty = kmsg >= 0 ? fz_kmsg_scan(kmsg) : -1;
	if (dirty < 0)
		ksft_test_result_skip("kernel log: /dev/kmsg not readable\n");
	else
		ksft_test_result(!dirty, "kernel log clean (%d reports)\n", dirty);
	taint = vbst_read_file("/proc/sys/kernel/tainted", buf, sizeof(buf)) ? ~0UL :
		strtoul(buf, NULL, 0);
	/* Out-of-tree (O, 0x1000) and unsigned (E, 0x2000) only. */
	ksft_test_result(!(taint & ~0x3000UL), "kernel not tainted (0x%lx)\n", taint);
	ksft_finished();
}
