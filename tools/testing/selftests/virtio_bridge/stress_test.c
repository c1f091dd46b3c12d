// SPDX-License-Identifier: GPL-2.0
/*
 * Race stress: several threads forward loads (answered by a backend
 * thread) and posted stores for a bounded time while one more thread
 * disturbs the module, one way per test:
 *
 *  - vbridge_stop:       VBRIDGE_STOP, then a new VMM attaches;
 *  - frontend_close:     the VMM closes its file and a new one attaches;
 *  - backend_cycle:      the backend closes (sometimes with loads read and
 *                        unanswered) and reopens its node;
 *  - autoack:            the VM stops, the backend never acknowledges, the
 *                        VMSTOP timeout (0 or 1 s) acknowledges for it;
 *  - device_redeclare:   the device is removed and declared again over
 *                        netlink while another thread queries it;
 *  - mmap_revoke:        threads fault guest RAM in through the backend
 *                        node, zap it and map it again while the VM stops
 *                        and the timeout revokes the mappings;
 *  - retry_override:     the device's retry_timeout_ms (netlink DEV_SET)
 *                        and the module parameter change while accesses
 *                        wait for a backend that is not ready;
 *  - attach_sigkill:     processes blocked in VBRIDGE_ATTACH on a stopping
 *                        vmid are killed with SIGKILL.
 *
 * Every access must end with a valid result or a documented error
 * (VBRIDGE_ACCESS in uapi.rst), within a bound; a load that succeeds reads
 * what the backend answered, one that fails reads all-ones; the backend
 * sees each thread's stores in order; the module's counters match what the
 * threads saw.  Afterwards every thread has ended and the module unloads.
 *
 * VBRIDGE_STRESS_SECONDS sets how long each test runs (default 10, at most
 * 200), VBRIDGE_STRESS_SEED the seed of the random choices (default: the
 * time); both are printed as comments, with the counts.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdatomic.h>

#include "kselftest_harness.h"
#include "vbst_dev.h"

#define ST_THREADS	3		/* accessor threads */
#define ST_MAPPERS	3		/* guest RAM threads (mmap_revoke) */
#define ST_BOUND_MS	15000		/* no access may take longer */
#define ST_STORE_BASE	(VBST_BAR_ADDR + 0x8000)	/* + thread * 8 */

/* What an access may end with, as bits of st.allowed. */
enum {
	ST_OK = 1 << 0,		/* result 0 */
	ST_SHUTDOWN = 1 << 1,	/* result -ESHUTDOWN */
	ST_TIMEDOUT = 1 << 2,	/* result -ETIMEDOUT */
	ST_EIO = 1 << 3,	/* result -EIO */
	ST_ENODEV = 1 << 4,	/* result -ENODEV */
	ST_NOTCONN = 1 << 5,	/* ioctl -ENOTCONN: file not attached */
};

struct st;

/* The backend's server thread. */
struct st_srv {
	struct st *st;
	int be;
	int stop[2];
	pthread_t thr;
	bool running;
	bool hold;		/* at stop: read one batch, answer no load */
	bool drain;		/* at stop: serve until the queue is empty */
	bool noreply;
	uint32_t first_type;	/* type of the first message read */
	unsigned int starts;	/* VMSTARTs it read */
};

struct st {
	uint64_t seed;
	unsigned int seconds;
	uint64_t start_ms;
	uint64_t end_ms;
	struct vbst_nl nl;
	struct vbst_nl ev;	/* events subscription */
	struct vbst_evbuf *evb;
	int fe;			/* the VMM's file: a fixed descriptor number */
	int be;
	struct vbst_ram ram;
	uint64_t gen;		/* generation of the VM attached on fe */
	struct st_srv srv;
	bool ack;		/* the server acknowledges VMSTOP */
	unsigned int allowed;

	atomic_bool stop;
	pthread_t acc[ST_THREADS];
	bool acc_running[ST_THREADS];
	/* Accessors: start of the access under way (ms), 0 when none. */
	_Atomic uint64_t busy_since[ST_THREADS];
	atomic_ulong loads, loads_ok, stores, stores_ok;
	atomic_ulong r_shutdown, r_timedout, r_eio, r_enodev, e_notconn;
	_Atomic uint64_t max_lat_ms;

	/* Server. */
	atomic_ulong replies_ok, replies_enoent, srv_loads, srv_stores;
	atomic_ulong vmstarts, vmstops, acks_ok, acks_stale;
	uint64_t last_store[ST_THREADS];	/* server thread only */

	/* The first thing that went wrong, for the report. */
	pthread_mutex_t lock;
	atomic_int bad;
	char why[512];
};

/* A "#" line of the report; the harness's test process ends with _exit(). */
#define st_note(...) do {		\
	printf(__VA_ARGS__);		\
	fflush(stdout);			\
} while (0)

static void st_bad(struct st *st, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&st->lock);
	if (!atomic_fetch_add(&st->bad, 1)) {
		va_start(ap, fmt);
		vsnprintf(st->why, sizeof(st->why), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&st->lock);
}

/* xorshift64*: one state per thread, seeded from st->seed. */
static uint64_t st_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static uint64_t st_seed_for(struct st *st, unsigned int who)
{
	uint64_t s = st->seed ^ (0x9e3779b97f4a7c15ULL * (who + 1));

	return s ? s : 1;
}

static bool st_running(struct st *st)
{
	return !atomic_load(&st->stop) && vbst_now_ms() < st->end_ms;
}

/* A random pause that lets the other threads run: not a synchronisation. */
static void st_pause(uint64_t *rs, unsigned int max_ms)
{
	usleep(st_rand(rs) % (max_ms * 1000 + 1));
}

/* ------------------------------------------------------------------ */
/* Accessors                                                          */
/* ------------------------------------------------------------------ */

struct st_acc_arg {
	struct st *st;
	unsigned int idx;
};

static struct st_acc_arg st_acc_args[ST_THREADS];

static void st_classify(struct st *st, bool write, int ret, int32_t res, uint64_t addr,
			uint32_t len, uint64_t data)
{
	unsigned int kind;

	if (ret == -ENOTCONN) {
		kind = ST_NOTCONN;
		atomic_fetch_add(&st->e_notconn, 1);
	} else if (ret) {
		st_bad(st, "VBRIDGE_ACCESS %s 0x%llx/%u failed: %s", write ? "store" : "load",
		       (unsigned long long)addr, len, strerror(-ret));
		return;
	} else if (res == 0) {
		kind = ST_OK;
		atomic_fetch_add(write ? &st->stores_ok : &st->loads_ok, 1);
		if (!write && data != vbst_pattern(addr, len))
			st_bad(st, "load 0x%llx/%u read 0x%llx, the backend answered 0x%llx",
			       (unsigned long long)addr, len, (unsigned long long)data,
			       (unsigned long long)vbst_pattern(addr, len));
	} else {
		switch (res) {
		case -ESHUTDOWN:
			kind = ST_SHUTDOWN;
			atomic_fetch_add(&st->r_shutdown, 1);
			break;
		case -ETIMEDOUT:
			kind = ST_TIMEDOUT;
			atomic_fetch_add(&st->r_timedout, 1);
			break;
		case -EIO:
			kind = ST_EIO;
			atomic_fetch_add(&st->r_eio, 1);
			break;
		case -ENODEV:
			kind = ST_ENODEV;
			atomic_fetch_add(&st->r_enodev, 1);
			break;
		default:
			st_bad(st, "%s 0x%llx/%u: result %d", write ? "store" : "load",
			       (unsigned long long)addr, len, res);
			return;
		}
		if (!write && data != ~0ULL)
			st_bad(st, "failed load (%d) read 0x%llx, not all-ones", res,
			       (unsigned long long)data);
	}
	if (!(st->allowed & kind))
		st_bad(st, "%s 0x%llx/%u ended with %d/%d, not expected in this test",
		       write ? "store" : "load", (unsigned long long)addr, len, ret, res);
}

static void *st_acc_main(void *arg)
{
	struct st_acc_arg *a = arg;
	struct st *st = a->st;
	uint64_t rs = st_seed_for(st, a->idx), seq = 0;

	while (!atomic_load(&st->stop)) {
		uint64_t r = st_rand(&rs), t0, lat, data, addr, prev;
		bool write = r % 10 < 4;
		uint32_t len;
		int32_t res;
		int ret;

		if (write) {
			len = 8;
			addr = ST_STORE_BASE + a->idx * 8;
			data = ++seq;
			atomic_fetch_add(&st->stores, 1);
		} else {
			len = 1U << ((r >> 8) % 4);
			addr = VBST_BAR_ADDR + ((r >> 16) % 0x1000) * 8;
			data = 0;
			atomic_fetch_add(&st->loads, 1);
		}
		t0 = vbst_now_ms();
		atomic_store(&st->busy_since[a->idx], t0);
		ret = vbst_access(st->fe, addr, len, write, &data, &res);
		atomic_store(&st->busy_since[a->idx], 0);
		lat = vbst_now_ms() - t0;
		prev = atomic_load(&st->max_lat_ms);
		while (lat > prev && !atomic_compare_exchange_weak(&st->max_lat_ms, &prev, lat))
			;
		st_classify(st, write, ret, res, addr, len, data);
	}
	return NULL;
}

static int st_acc_start(struct st *st)
{
	unsigned int i;

	for (i = 0; i < ST_THREADS; i++) {
		st_acc_args[i].st = st;
		st_acc_args[i].idx = i;
		if (pthread_create(&st->acc[i], NULL, st_acc_main, &st_acc_args[i]))
			return -EAGAIN;
		st->acc_running[i] = true;
	}
	return 0;
}

/*
 * Every access started before @since ms has ended, within timeout_ms:
 * 0, or -ETIMEDOUT naming the thread.
 */
static int st_acc_settled(struct st *st, uint64_t since, int timeout_ms)
{
	uint64_t end = vbst_now_ms() + timeout_ms;
	unsigned int i;

	for (i = 0; i < ST_THREADS; i++) {
		for (;;) {
			uint64_t b = atomic_load(&st->busy_since[i]);

			if (!b || b >= since)
				break;
			if (vbst_now_ms() > end)
				return vbst_fail(-ETIMEDOUT,
						 "accessor %u still in an access it began %llu ms ago",
						 i, (unsigned long long)(vbst_now_ms() - b));
			usleep(1000);
		}
	}
	return 0;
}

/* Stop the accessors; each must return within the bound. */
static int st_acc_stop(struct st *st)
{
	unsigned int i;
	int ret = 0;

	atomic_store(&st->stop, true);
	for (i = 0; i < ST_THREADS; i++) {
		struct timespec ts;

		if (!st->acc_running[i])
			continue;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += ST_BOUND_MS / 1000;
		if (pthread_timedjoin_np(st->acc[i], NULL, &ts)) {
			ret = vbst_fail(-ETIMEDOUT, "accessor %u did not return", i);
			continue;
		}
		st->acc_running[i] = false;
	}
	return ret;
}

/* ------------------------------------------------------------------ */
/* The backend's server                                               */
/* ------------------------------------------------------------------ */

static void st_srv_msg(struct st_srv *s, const struct vbridge_msg *m)
{
	struct st *st = s->st;
	int ret;

	if (m->size != sizeof(*m) || m->vmid != VBST_VMID || m->reserved0 || m->reserved[0]) {
		st_bad(st, "malformed message: type %u size %u vmid %u", m->type, m->size,
		       m->vmid);
		return;
	}
	if (!s->first_type)
		s->first_type = m->type;
	switch (m->type) {
	case VBRIDGE_MSG_LOAD:
	case VBRIDGE_MSG_STORE:
		if ((m->len != 1 && m->len != 2 && m->len != 4 && m->len != 8) ||
		    m->window != 1 || m->offset != m->addr - VBST_BAR_ADDR) {
			st_bad(st, "request 0x%llx/%u: window %u offset 0x%llx",
			       (unsigned long long)m->addr, m->len, m->window,
			       (unsigned long long)m->offset);
			return;
		}
		break;
	}
	switch (m->type) {
	case VBRIDGE_MSG_LOAD:
		atomic_fetch_add(&st->srv_loads, 1);
		if (s->noreply)
			break;
		ret = vbst_be_reply(s->be, VBRIDGE_REPLY_LOAD, m->id,
				    vbst_pattern(m->addr, m->len), 0);
		if (!ret)
			atomic_fetch_add(&st->replies_ok, 1);
		else if (ret == -ENOENT)	/* failed or withdrawn meanwhile */
			atomic_fetch_add(&st->replies_enoent, 1);
		else
			st_bad(st, "reply to load %llu: %s", (unsigned long long)m->id,
			       strerror(-ret));
		break;
	case VBRIDGE_MSG_STORE: {
		unsigned int t = (m->addr - ST_STORE_BASE) / 8;

		atomic_fetch_add(&st->srv_stores, 1);
		if (m->addr < ST_STORE_BASE || t >= ST_THREADS || m->len != 8) {
			st_bad(st, "store to 0x%llx/%u, no thread stores there",
			       (unsigned long long)m->addr, m->len);
			break;
		}
		if (m->data <= st->last_store[t])
			st_bad(st, "thread %u's store %llu arrived after its store %llu",
			       t, (unsigned long long)m->data,
			       (unsigned long long)st->last_store[t]);
		st->last_store[t] = m->data;
		break;
	}
	case VBRIDGE_MSG_VMSTART:
		atomic_fetch_add(&st->vmstarts, 1);
		s->starts++;
		break;
	case VBRIDGE_MSG_VMSTOP:
		atomic_fetch_add(&st->vmstops, 1);
		if (!st->ack)
			break;
		ret = vbst_be_ack(s->be, m->id);
		if (!ret)
			atomic_fetch_add(&st->acks_ok, 1);
		else if (ret == -ESTALE)
			atomic_fetch_add(&st->acks_stale, 1);
		else
			st_bad(st, "VMSTOP ack: %s", strerror(-ret));
		break;
	default:
		st_bad(st, "message of unknown type %u", m->type);
	}
}

static void *st_srv_main(void *arg)
{
	struct st_srv *s = arg;
	struct vbridge_msg buf[16];

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
			st_bad(s->st, "server poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents) {
			if (s->hold) {
				/*
				 * Take what is queued and leave its loads
				 * unanswered: the node's close must fail
				 * them with -EIO.
				 */
				s->noreply = true;
				s->drain = false;
			} else if (!s->drain) {
				break;
			}
		}
		n = read(s->be, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN && (s->drain || s->noreply))
				break;
			if (errno == EAGAIN || errno == EINTR)
				continue;
			st_bad(s->st, "server read: %s", strerror(errno));
			break;
		}
		if (n == 0 || n % sizeof(buf[0])) {
			st_bad(s->st, "server read %zd bytes", n);
			break;
		}
		for (i = 0; i < n / sizeof(buf[0]); i++)
			st_srv_msg(s, &buf[i]);
		if (s->noreply)
			break;
	}
	return NULL;
}

static int st_srv_start(struct st *st, int be)
{
	struct st_srv *s = &st->srv;

	memset(s, 0, sizeof(*s));
	s->st = st;
	s->be = be;
	if (pipe2(s->stop, O_CLOEXEC))
		return vbst_fail(-errno, "pipe");
	if (pthread_create(&s->thr, NULL, st_srv_main, s))
		return vbst_fail(-EAGAIN, "pthread_create");
	s->running = true;
	return 0;
}

/*
 * Stop the server: at once, after one batch whose loads it leaves
 * unanswered (@hold), or once it read everything queued (@drain).
 */
static void st_srv_stop(struct st *st, bool hold, bool drain)
{
	struct st_srv *s = &st->srv;

	if (!s->running)
		return;
	s->hold = hold;
	s->drain = drain;
	if (write(s->stop[1], "x", 1) != 1)
		st_bad(st, "cannot stop the server");
	pthread_join(s->thr, NULL);
	close(s->stop[0]);
	close(s->stop[1]);
	s->running = false;
}

/* Open the backend node (non-blocking reads), ready it, serve it. */
static int st_be_up(struct st *st, bool ready)
{
	int ret;

	st->be = vbst_be_open(VBST_VMID, VBST_NAME, O_NONBLOCK);
	if (st->be < 0)
		return st->be;
	if (ready) {
		ret = vbst_be_set_ready(st->be, 1);
		if (ret)
			return vbst_fail(ret, "VBRIDGE_BE_SET_READY");
	}
	return st_srv_start(st, st->be);
}

static void st_be_down(struct st *st, bool hold)
{
	st_srv_stop(st, hold, false);
	if (st->be >= 0)
		close(st->be);
	st->be = -1;
}

/* ------------------------------------------------------------------ */
/* The VMM                                                            */
/* ------------------------------------------------------------------ */

/* Guest RAM for a new VM: a fresh memfd, each page stamped with @stamp. */
static int st_ram_new(struct st *st, uint64_t stamp)
{
	uint64_t off;
	int ret;

	vbst_ram_destroy(&st->ram);
	ret = vbst_ram_create(&st->ram, VBST_RAM_SIZE, F_SEAL_SHRINK);
	if (ret)
		return ret;
	for (off = 0; off < VBST_RAM_SIZE; off += 4096)
		memcpy(st->ram.p + off, &stamp, sizeof(stamp));
	return 0;
}

/*
 * A new VMM file takes the descriptor number of the old one, which stops
 * its VM if it was attached (once the calls under way on it return).
 * Accessors get -ENOTCONN until st_fe_attach().
 */
static int st_fe_replace(struct st *st)
{
	int nfe = vbst_fe_open(0);

	if (nfe < 0)
		return nfe;
	if (dup2(nfe, st->fe) < 0) {
		close(nfe);
		return vbst_fail(-errno, "dup2");
	}
	close(nfe);
	return 0;
}

/* Attach st->fe (waiting for a stopping VM), register fresh RAM. */
static int st_fe_attach(struct st *st, uint64_t stamp)
{
	struct vbridge_attach a = { 0 };
	int ret;

	ret = st_ram_new(st, stamp);
	if (ret)
		return ret;
	ret = vbst_fe_add_region(st->fe, VBST_RAM_GPA, VBST_RAM_SIZE, st->ram.fd, 0);
	if (ret)
		return vbst_fail(ret, "VBRIDGE_ADD_REGION");
	ret = vbst_fe_attach(st->fe, VBST_VMID, &a);
	if (ret)
		return ret;
	st->gen = a.generation;
	return 0;
}

/*
 * Wait for VM generation @gen to stop (event VMSTOP) or to be released
 * (event VM_RELEASED).
 */
static int st_wait_vm(struct st *st, uint32_t ev, uint64_t gen, int timeout_ms)
{
	uint64_t end = vbst_now_ms() + timeout_ms;
	struct vbst_vminfo vi;
	struct vbst_event e;
	int r;

	for (;;) {
		int left = (int)(end - vbst_now_ms());

		if (left <= 0)
			break;
		r = vbst_event_wait(&st->ev, st->evb, ev, VBST_VMID, NULL, &e, left);
		if (r == 1 && e.generation >= gen)
			return 0;
		if (r == -ENOBUFS || r == 0) {
			/* Events were lost, or none came: ask. */
			r = vbst_vm_get(&st->nl, VBST_VMID, &vi);
			if (r == -ENOENT || (!r && vi.generation != gen))
				return 0;
			if (!r && ev == VBRIDGE_EV_VMSTOP && vi.state == VBRIDGE_VM_S_STOPPING)
				return 0;
			if (vbst_now_ms() > end)
				break;
		} else if (r < 0) {
			return vbst_fail(r, "events");
		}
	}
	return vbst_fail(-ETIMEDOUT, "VM generation %llu not %s", (unsigned long long)gen,
			 ev == VBRIDGE_EV_VMSTOP ? "stopped" : "released");
}

static int st_wait_released(struct st *st, uint64_t gen, int timeout_ms)
{
	return st_wait_vm(st, VBRIDGE_EV_VM_RELEASED, gen, timeout_ms);
}

/*
 * The VMM closes its file (a new one takes its number) and its VM stops:
 * once the calls under way on the old file return, which the backend's
 * answers make happen soon.  Until then the vmid is running, and an
 * attach would fail with -EBUSY.
 */
static int st_fe_close_vm(struct st *st)
{
	int ret = st_fe_replace(st);

	return ret ? ret : st_wait_vm(st, VBRIDGE_EV_VMSTOP, st->gen, ST_BOUND_MS);
}

/* ------------------------------------------------------------------ */
/* Set-up and the end of a test                                       */
/* ------------------------------------------------------------------ */

static unsigned int st_env_seconds(void)
{
	const char *s = getenv("VBRIDGE_STRESS_SECONDS");
	long v = s ? strtol(s, NULL, 0) : 10;

	return v < 1 ? 1 : v > 200 ? 200 : v;
}

static void st_init(struct st *st)
{
	const char *s = getenv("VBRIDGE_STRESS_SEED");

	memset(st, 0, sizeof(*st));
	st->nl.fd = -1;
	st->ev.fd = -1;
	st->ram.fd = -1;
	st->be = -1;
	st->fe = -1;
	pthread_mutex_init(&st->lock, NULL);
	st->seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	st->seconds = st_env_seconds();
	st->start_ms = vbst_now_ms();
	st->evb = calloc(1, sizeof(*st->evb));
	st_note("# seed %llu, %u s (VBRIDGE_STRESS_SEED, VBRIDGE_STRESS_SECONDS)\n",
	       (unsigned long long)st->seed, st->seconds);
}

/*
 * Module with params, the standard device (and its overrides), backend
 * open, ready and served, the VM running with accessors at work.
 */
static int st_up(struct st *st, const char *params, bool ack)
{
	struct vbst_devspec d;
	int ret;

	st->ack = ack;
	ret = vbst_load(params);
	if (ret)
		return vbst_fail(ret, "insmod %s", params);
	ret = vbst_nl_open(&st->nl);
	if (!ret)
		ret = vbst_nl_open(&st->ev);
	if (!ret)
		ret = vbst_nl_subscribe(&st->ev);
	if (ret)
		return vbst_fail(ret, "netlink");
	vbst_std_spec(&d, VBST_VMID, VBST_NAME, 1);
	ret = vbst_dev_add(&st->nl, &d);
	if (ret)
		return vbst_fail(ret, "DEV_ADD");
	ret = st_be_up(st, true);
	if (ret)
		return ret;
	st->fe = vbst_fe_open(0);
	if (st->fe < 0)
		return st->fe;
	ret = st_fe_attach(st, 1);
	if (ret)
		return ret;
	return st_acc_start(st);
}

/* The threads of this process besides the caller. */
static int st_count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = -1;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * Threads of the test other than this one, once the joined ones are gone:
 * pthread_join() returns when the kernel clears the thread's tid, in
 * mm_release(), and the thread leaves /proc/self/task only at the end of
 * its exit, so a thread joined a moment ago may still be listed.  One that
 * is still there after a second is left behind, blocked or running.
 */
static int st_other_threads(void)
{
	uint64_t end = vbst_now_ms() + 1000;
	int n;

	while ((n = st_count_threads()) > 0 && vbst_now_ms() < end)
		usleep(10000);
	return n;
}

static void st_report(struct st *st, unsigned int iterations, const char *what)
{
	st_note("# %u %s; loads %lu (ok %lu), stores %lu (ok %lu); -ESHUTDOWN %lu -ETIMEDOUT %lu -EIO %lu -ENODEV %lu, -ENOTCONN %lu; longest access %llu ms\n",
	       iterations, what, atomic_load(&st->loads), atomic_load(&st->loads_ok),
	       atomic_load(&st->stores), atomic_load(&st->stores_ok),
	       atomic_load(&st->r_shutdown), atomic_load(&st->r_timedout),
	       atomic_load(&st->r_eio), atomic_load(&st->r_enodev),
	       atomic_load(&st->e_notconn), (unsigned long long)atomic_load(&st->max_lat_ms));
	st_note("# server: loads %lu (answered %lu, gone %lu), stores %lu, VMSTART %lu, VMSTOP %lu (acked %lu, stale %lu)\n",
	       atomic_load(&st->srv_loads), atomic_load(&st->replies_ok),
	       atomic_load(&st->replies_enoent), atomic_load(&st->srv_stores),
	       atomic_load(&st->vmstarts), atomic_load(&st->vmstops),
	       atomic_load(&st->acks_ok), atomic_load(&st->acks_stale));
}

FIXTURE(stress) {
	struct st st;
};

FIXTURE_SETUP(stress)
{
	st_init(&self->st);
	ASSERT_NE(NULL, self->st.evb);
}

FIXTURE_TEARDOWN(stress)
{
	struct st *st = &self->st;

	EXPECT_EQ(0, st_acc_stop(st)) {
		TH_LOG("%s", vbst_why);
	}
	st_be_down(st, false);
	if (st->fe >= 0)
		close(st->fe);
	vbst_ram_destroy(&st->ram);
	vbst_nl_close(&st->nl);
	vbst_nl_close(&st->ev);
	free(st->evb);
	/* No thread of ours is left, blocked or not. */
	EXPECT_EQ(0, st_other_threads());
	EXPECT_EQ(0, vbst_unload_wait(VBST_SOON_MS));
	st_note("# %llu ms in all\n", (unsigned long long)(vbst_now_ms() - st->start_ms));
}

/*
 * The common end: accessors stopped in time, nothing unexpected, every
 * load the backend answered reached its thread, no access over the bound.
 */
#define ST_FINISH(st) do {							\
	ASSERT_EQ(0, st_acc_stop(st)) {						\
		TH_LOG("%s", vbst_why);						\
	}									\
	st_srv_stop(st, false, true);						\
	EXPECT_EQ(0, atomic_load(&(st)->bad)) {					\
		TH_LOG("%d problems, the first: %s", atomic_load(&(st)->bad),	\
		       (st)->why);						\
	}									\
	EXPECT_EQ(atomic_load(&(st)->replies_ok), atomic_load(&(st)->loads_ok)); \
	EXPECT_GT(ST_BOUND_MS, atomic_load(&(st)->max_lat_ms));		\
	EXPECT_LT(0, atomic_load(&(st)->loads_ok));				\
} while (0)

static uint64_t st_stat(struct st *st, int stat)
{
	struct vbst_devinfo di;

	if (vbst_dev_get(&st->nl, VBST_VMID, VBST_NAME, &di))
		return ~0ULL;
	return di.stats[stat];
}

/* ------------------------------------------------------------------ */
/* The tests                                                          */
/* ------------------------------------------------------------------ */

/*
 * The VM stops (VBRIDGE_STOP, or the VMM closes its file) and a new VMM
 * attaches the vmid, which waits for the backend's acknowledgment.
 */
static void st_restart_loop(struct __test_metadata *_metadata, struct st *st, bool by_ioctl)
{
	uint64_t rs = st_seed_for(st, 100);
	unsigned int n = 0;

	st->allowed = ST_OK | ST_SHUTDOWN | ST_NOTCONN;
	ASSERT_EQ(0, st_up(st, "vmstop_timeout=5", true)) {
		TH_LOG("%s", vbst_why);
	}
	st->end_ms = vbst_now_ms() + st->seconds * 1000ULL;
	while (st_running(st)) {
		st_pause(&rs, 30);
		if (by_ioctl) {
			ASSERT_EQ(0, ioctl(st->fe, VBRIDGE_STOP));
			/* Stopped is stopped: a second STOP changes nothing. */
			if (st_rand(&rs) & 1)
				ASSERT_EQ(0, ioctl(st->fe, VBRIDGE_STOP));
			st_pause(&rs, 10);
		}
		ASSERT_EQ(0, by_ioctl ? st_fe_replace(st) : st_fe_close_vm(st)) {
			TH_LOG("%s", vbst_why);
		}
		if (st_rand(&rs) & 1)
			st_pause(&rs, 10);
		ASSERT_EQ(0, st_fe_attach(st, n + 2)) {
			TH_LOG("%s", vbst_why);
		}
		n++;
	}
	ST_FINISH(st);
	st_report(st, n, "restarts");
	EXPECT_LT(0, n);
	/* Every stop reached the backend, which acknowledged it in time. */
	EXPECT_EQ(n, atomic_load(&st->acks_ok));
	EXPECT_EQ(n, st_stat(st, VBRIDGE_STAT_VMSTOPS));
	EXPECT_EQ(0, st_stat(st, VBRIDGE_STAT_AUTOACKS));
	EXPECT_EQ(n + 1, atomic_load(&st->vmstarts));
	EXPECT_EQ(atomic_load(&st->replies_ok), st_stat(st, VBRIDGE_STAT_COMPLETED));
}

TEST_F_TIMEOUT(stress, vbridge_stop, 300)
{
	st_restart_loop(_metadata, &self->st, true);
}

TEST_F_TIMEOUT(stress, frontend_close, 300)
{
	st_restart_loop(_metadata, &self->st, false);
}

/*
 * The backend closes its node, sometimes holding loads it read and did not
 * answer (they fail with -EIO), and a new one opens it.  With
 * retry_timeout_ms=-1 nothing else can fail: accesses wait for the next
 * backend, and unread requests survive for it, behind its VMSTART.
 */
TEST_F_TIMEOUT(stress, backend_cycle, 300)
{
	struct st *st = &self->st;
	uint64_t rs = st_seed_for(st, 100);
	unsigned int n = 0, holds = 0;

	st->allowed = ST_OK | ST_EIO;
	ASSERT_EQ(0, st_up(st, "retry_timeout_ms=-1", true)) {
		TH_LOG("%s", vbst_why);
	}
	st->end_ms = vbst_now_ms() + st->seconds * 1000ULL;
	while (st_running(st)) {
		bool hold = st_rand(&rs) % 3 == 0;

		st_pause(&rs, 30);
		holds += hold;
		st_be_down(st, hold);
		/*
		 * A running VM's VMSTART comes first for every new opener,
		 * once (a backend that closes before reading it loses it).
		 */
		EXPECT_TRUE(!st->srv.first_type || st->srv.first_type == VBRIDGE_MSG_VMSTART) {
			TH_LOG("backend %u read message type %u first", n, st->srv.first_type);
		}
		EXPECT_GE(1, st->srv.starts);
		st_pause(&rs, 10);
		st->be = vbst_be_open(VBST_VMID, VBST_NAME, O_NONBLOCK);
		ASSERT_LE(0, st->be) {
			TH_LOG("%s", vbst_why);
		}
		ASSERT_EQ(0, ioctl(st->be, VBRIDGE_BE_RESET));
		if (st_rand(&rs) & 1)
			st_pause(&rs, 10);
		ASSERT_EQ(0, vbst_be_set_ready(st->be, 1));
		ASSERT_EQ(0, st_srv_start(st, st->be));
		n++;
	}
	ST_FINISH(st);
	st_report(st, n, "backend restarts");
	st_note("# %u of them left loads unanswered\n", holds);
	EXPECT_LT(0, n);
	/* Only a close with loads read and unanswered fails them. */
	EXPECT_GE(holds * ST_THREADS, atomic_load(&st->r_eio));
	/* Every store was queued in order and reached a backend, once. */
	EXPECT_EQ(atomic_load(&st->stores_ok), atomic_load(&st->srv_stores));
	EXPECT_EQ(atomic_load(&st->stores), atomic_load(&st->stores_ok));
	EXPECT_GE(n + 1, atomic_load(&st->vmstarts));
	EXPECT_EQ(0, st_stat(st, VBRIDGE_STAT_TIMEDOUT));
	EXPECT_EQ(atomic_load(&st->replies_ok), st_stat(st, VBRIDGE_STAT_COMPLETED));
	EXPECT_EQ(atomic_load(&st->r_eio), st_stat(st, VBRIDGE_STAT_FAILED));
}

/*
 * The VM stops (either way) and the backend never acknowledges: the VMSTOP
 * timeout, 0 or 1 s by turns (netlink override), acknowledges for it and a
 * new VMM's attach, which waited, goes through.
 */
TEST_F_TIMEOUT(stress, autoack, 300)
{
	struct st *st = &self->st;
	uint64_t rs = st_seed_for(st, 100), t0, waited, longest = 0;
	struct vbst_override o = { .has_timeout = true };
	unsigned int n = 0;

	st->allowed = ST_OK | ST_SHUTDOWN | ST_NOTCONN;
	ASSERT_EQ(0, st_up(st, "vmstop_timeout=1 vmstop_autoack=Y", false)) {
		TH_LOG("%s", vbst_why);
	}
	st->end_ms = vbst_now_ms() + st->seconds * 1000ULL;
	while (st_running(st)) {
		o.vmstop_timeout = st_rand(&rs) & 1;
		ASSERT_EQ(0, vbst_dev_set(&st->nl, VBST_VMID, VBST_NAME, &o));
		st_pause(&rs, 50);
		if (st_rand(&rs) & 1)
			ASSERT_EQ(0, ioctl(st->fe, VBRIDGE_STOP));
		ASSERT_EQ(0, st_fe_close_vm(st)) {
			TH_LOG("%s", vbst_why);
		}
		t0 = vbst_now_ms();
		ASSERT_EQ(0, st_fe_attach(st, n + 2)) {
			TH_LOG("%s", vbst_why);
		}
		waited = vbst_now_ms() - t0;
		longest = waited > longest ? waited : longest;
		n++;
	}
	ST_FINISH(st);
	st_report(st, n, "stops acknowledged by the timeout");
	st_note("# longest wait of an attach for the autoack: %llu ms\n",
	       (unsigned long long)longest);
	EXPECT_LT(0, n);
	/* No acknowledgment but the module's; the VMM never waits for ever. */
	EXPECT_GT(1000 + ST_BOUND_MS, longest);
	EXPECT_EQ(n, st_stat(st, VBRIDGE_STAT_VMSTOPS));
	EXPECT_EQ(n, st_stat(st, VBRIDGE_STAT_AUTOACKS));
	EXPECT_EQ(0, atomic_load(&st->acks_ok));
	EXPECT_GE(n, atomic_load(&st->vmstops));
	/* A late acknowledgment refers to a VM that is gone. */
	EXPECT_EQ(-ESTALE, vbst_be_ack(st->be, st->gen - 1));
	EXPECT_EQ(atomic_load(&st->replies_ok), st_stat(st, VBRIDGE_STAT_COMPLETED));
}

/* Netlink queries, in a thread, while the device comes and goes. */
struct st_prober {
	struct st *st;
	pthread_t thr;
	unsigned long queries;
	int err;
	char why[160];
};

static void *st_prober_main(void *arg)
{
	struct st_prober *p = arg;
	struct vbst_devinfo *di = calloc(4, sizeof(*di));
	struct vbst_vminfo vi[2];
	struct vbst_devspec d;
	struct vbst_nl nl;
	int r;

	if (!di || vbst_nl_open(&nl)) {
		p->err = -ENOMEM;
		free(di);
		return NULL;
	}
	/* A device of another vmid comes and goes meanwhile. */
	vbst_std_spec(&d, VBST_VMID + 1, "other", 0);
	while (!atomic_load(&p->st->stop) && !p->err) {
		r = vbst_dev_get(&nl, VBST_VMID, VBST_NAME, di);
		if (r && r != -ENOENT)
			snprintf(p->why, sizeof(p->why), "DEV_GET: %s", strerror(-(p->err = r)));
		r = vbst_dev_dump(&nl, di, 4);
		if (r < 0 || r > 2)
			snprintf(p->why, sizeof(p->why), "DEV_GET dump: %d", p->err = r < 0 ? r : -EPROTO);
		r = vbst_vm_get(&nl, VBST_VMID, vi);
		if (r && r != -ENOENT)
			snprintf(p->why, sizeof(p->why), "VM_GET: %s", strerror(-(p->err = r)));
		r = vbst_vm_dump(&nl, vi, 2);
		if (r < 0 || r > 1)
			snprintf(p->why, sizeof(p->why), "VM_GET dump: %d", p->err = r < 0 ? r : -EPROTO);
		r = vbst_dev_add(&nl, &d);
		if (!r)
			r = vbst_dev_del(&nl, VBST_VMID + 1, "other");
		if (r)
			snprintf(p->why, sizeof(p->why), "DEV_ADD/DEL of vm%u: %s", VBST_VMID + 1,
				 strerror(-(p->err = r)));
		p->queries += 6;
	}
	vbst_nl_close(&nl);
	free(di);
	return NULL;
}

/*
 * The device is removed and declared again while accesses go on, another
 * thread queries it over netlink and declares and removes a device of
 * another vmid.  Between
 * the two, a VM may run without the device (-ENODEV); without a backend
 * accesses fail at once (retry_timeout_ms=0).
 */
TEST_F_TIMEOUT(stress, device_redeclare, 300)
{
	struct st *st = &self->st;
	uint64_t rs = st_seed_for(st, 100), completed = 0, timedout = 0;
	struct st_prober pr = { .st = st };
	struct vbst_devspec d;
	unsigned int n = 0, empty = 0;
	int ret;

	/* -EIO: a load read just before the backend closed, on a VM not yet stopped. */
	st->allowed = ST_OK | ST_SHUTDOWN | ST_NOTCONN | ST_ENODEV | ST_TIMEDOUT | ST_EIO;
	ASSERT_EQ(0, st_up(st, "retry_timeout_ms=0", true)) {
		TH_LOG("%s", vbst_why);
	}
	ASSERT_EQ(0, pthread_create(&pr.thr, NULL, st_prober_main, &pr));
	vbst_std_spec(&d, VBST_VMID, VBST_NAME, 1);
	st->end_ms = vbst_now_ms() + st->seconds * 1000ULL;
	while (st_running(st)) {
		uint64_t gen = st->gen;

		st_pause(&rs, 30);
		ASSERT_EQ(0, st_fe_close_vm(st)) {
			TH_LOG("%s", vbst_why);
		}
		/* Removal is refused while a backend is open or a VM bound. */
		EXPECT_EQ(-EBUSY, vbst_dev_del(&st->nl, VBST_VMID, VBST_NAME));
		st_be_down(st, st_rand(&rs) & 1);
		ASSERT_EQ(0, st_wait_released(st, gen, VBST_SOON_MS)) {
			TH_LOG("%s", vbst_why);
		}
		completed += st_stat(st, VBRIDGE_STAT_COMPLETED);
		timedout += st_stat(st, VBRIDGE_STAT_TIMEDOUT);
		ASSERT_EQ(0, vbst_dev_del(&st->nl, VBST_VMID, VBST_NAME)) {
			TH_LOG("DEV_DEL after the VM's release: %s", st->nl.ext_msg);
		}
		EXPECT_FALSE(vbst_be_exists(VBST_VMID, VBST_NAME));
		if (st_rand(&rs) & 1) {
			/* A VM of the vmid without the device. */
			ASSERT_EQ(0, st_fe_attach(st, 0)) {
				TH_LOG("%s", vbst_why);
			}
			st_pause(&rs, 20);
			ASSERT_EQ(0, st_fe_close_vm(st)) {
				TH_LOG("%s", vbst_why);
			}
			ASSERT_EQ(0, st_wait_released(st, st->gen, VBST_SOON_MS)) {
				TH_LOG("%s", vbst_why);
			}
			empty++;
		}
		ret = vbst_dev_add(&st->nl, &d);
		ASSERT_EQ(0, ret) {
			TH_LOG("DEV_ADD again: %s (%s)", strerror(-ret), st->nl.ext_msg);
		}
		if (st_rand(&rs) & 1) {
			ASSERT_EQ(0, st_be_up(st, true)) {
				TH_LOG("%s", vbst_why);
			}
		}
		ASSERT_EQ(0, st_fe_attach(st, n + 2)) {
			TH_LOG("%s", vbst_why);
		}
		if (st->be < 0) {
			st_pause(&rs, 10);
			ASSERT_EQ(0, st_be_up(st, true)) {
				TH_LOG("%s", vbst_why);
			}
		}
		n++;
	}
	ST_FINISH(st);
	pthread_join(pr.thr, NULL);
	st_report(st, n, "removals");
	st_note("# %u VMs ran without the device; %lu netlink queries meanwhile\n", empty,
	       pr.queries);
	EXPECT_EQ(0, pr.err) {
		TH_LOG("%s", pr.why);
	}
	EXPECT_LT(0, n);
	/* The counters of every incarnation of the device add up. */
	completed += st_stat(st, VBRIDGE_STAT_COMPLETED);
	timedout += st_stat(st, VBRIDGE_STAT_TIMEDOUT);
	EXPECT_EQ(atomic_load(&st->replies_ok), completed);
	EXPECT_EQ(atomic_load(&st->r_timedout), timedout);
}

/* ------------------------------------------------------------------ */
/* Guest RAM through the backend node while mappings are revoked       */
/* ------------------------------------------------------------------ */

struct st_maps {
	struct st *st;
	pthread_mutex_t lock;
	uint64_t gen;		/* the running VM's generation */
	uint64_t stamp;		/* what its RAM pages start with */
	uint64_t stopped;	/* highest generation told to stop */
	uint64_t epoch;		/* odd while one VM stops and the next starts */
	pthread_t thr[ST_MAPPERS];
	atomic_ulong maps, touches, sigbus, enxio;
};

static __thread sigjmp_buf st_jb;
static __thread volatile sig_atomic_t st_in_touch;

static void st_sigbus(int sig)
{
	if (st_in_touch)
		siglongjmp(st_jb, 1);
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

struct st_map_arg {
	struct st_maps *m;
	unsigned int idx;
};

static struct st_map_arg st_map_args[ST_MAPPERS];

static void *st_mapper_main(void *arg)
{
	struct st_map_arg *a = arg;
	struct st_maps *m = a->m;
	struct st *st = m->st;
	uint64_t rs = st_seed_for(st, 50 + a->idx);

	while (!atomic_load(&st->stop)) {
		uint64_t gen, stamp, epoch, stopped, npages, first, i;
		volatile uint8_t *p;
		bool known;
		size_t len;

		pthread_mutex_lock(&m->lock);
		gen = m->gen;
		stamp = m->stamp;
		epoch = m->epoch;
		pthread_mutex_unlock(&m->lock);
		npages = 1 + st_rand(&rs) % 16;
		first = st_rand(&rs) % (VBST_RAM_SIZE / 4096 - npages + 1);
		len = npages * 4096;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, st->srv.be,
			 VBST_RAM_GPA + first * 4096);
		if (p == MAP_FAILED) {
			/* Only a VM that is not running has no RAM to map. */
			if (errno != ENXIO)
				st_bad(st, "mmap of guest RAM: %s", strerror(errno));
			else
				atomic_fetch_add(&m->enxio, 1);
			sched_yield();
			continue;
		}
		atomic_fetch_add(&m->maps, 1);
		/*
		 * Made while VM gen ran from before to after the call: it is
		 * a mapping of that VM's memory.  Else it may be the next
		 * VM's, and only a fault is checked.
		 */
		pthread_mutex_lock(&m->lock);
		known = !(epoch & 1) && m->epoch == epoch;
		pthread_mutex_unlock(&m->lock);
		if (sigsetjmp(st_jb, 1)) {
			st_in_touch = 0;
			atomic_fetch_add(&m->sigbus, 1);
			pthread_mutex_lock(&m->lock);
			stopped = m->stopped;
			pthread_mutex_unlock(&m->lock);
			/* Revoked: fine once its VM was told to stop, never before. */
			if (known && stopped < gen)
				st_bad(st, "SIGBUS through a mapping of the running VM %llu",
				       (unsigned long long)gen);
			munmap((void *)p, len);
			continue;
		}
		st_in_touch = 1;
		for (i = 0; i < 64 && !atomic_load(&st->stop); i++) {
			uint64_t pg = st_rand(&rs) % npages, v;

			v = *(volatile uint64_t *)(p + pg * 4096);
			/* The memory of the VM the mapping was made for, or nothing. */
			if (known && v != stamp)
				st_bad(st, "a mapping of VM %llu read 0x%llx, its RAM holds 0x%llx",
				       (unsigned long long)gen, (unsigned long long)v,
				       (unsigned long long)stamp);
			p[pg * 4096 + 64 + a->idx * 8]++;
			atomic_fetch_add(&m->touches, 1);
			if (st_rand(&rs) % 16 == 0)
				madvise((void *)p, len, MADV_DONTNEED);
		}
		st_in_touch = 0;
		munmap((void *)p, len);
	}
	return NULL;
}

/*
 * Threads map guest RAM through the backend node (random ranges), fault it
 * in, write it, zap it (MADV_DONTNEED) and unmap it, while the VM stops,
 * the backend stays silent and the VMSTOP timeout (0 or 1 s) revokes the
 * mappings, and the next VM, with new memory, starts.  A mapping reads
 * the memory of the VM it was made for or faults with SIGBUS, and only
 * after that VM was stopped.
 */
TEST_F_TIMEOUT(stress, mmap_revoke, 300)
{
	struct st *st = &self->st;
	uint64_t rs = st_seed_for(st, 100);
	struct vbst_override o = { .has_timeout = true };
	struct sigaction sa = { .sa_handler = st_sigbus, .sa_flags = SA_NODEFER };
	struct st_maps *m;
	unsigned int n = 0, i;

	m = calloc(1, sizeof(*m));
	ASSERT_NE(NULL, m);
	m->st = st;
	pthread_mutex_init(&m->lock, NULL);
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, NULL));
	st->allowed = ST_OK | ST_SHUTDOWN | ST_NOTCONN;
	ASSERT_EQ(0, st_up(st, "vmstop_timeout=1 vmstop_autoack=Y", false)) {
		TH_LOG("%s", vbst_why);
	}
	m->gen = st->gen;
	m->stamp = 1;
	for (i = 0; i < ST_MAPPERS; i++) {
		st_map_args[i].m = m;
		st_map_args[i].idx = i;
		ASSERT_EQ(0, pthread_create(&m->thr[i], NULL, st_mapper_main, &st_map_args[i]));
	}
	st->end_ms = vbst_now_ms() + st->seconds * 1000ULL;
	while (st_running(st)) {
		o.vmstop_timeout = st_rand(&rs) & 1;
		ASSERT_EQ(0, vbst_dev_set(&st->nl, VBST_VMID, VBST_NAME, &o));
		st_pause(&rs, 300);
		pthread_mutex_lock(&m->lock);
		m->stopped = st->gen;
		m->epoch++;
		pthread_mutex_unlock(&m->lock);
		ASSERT_EQ(0, st_fe_close_vm(st)) {
			TH_LOG("%s", vbst_why);
		}
		ASSERT_EQ(0, st_fe_attach(st, n + 2)) {
			TH_LOG("%s", vbst_why);
		}
		pthread_mutex_lock(&m->lock);
		m->gen = st->gen;
		m->stamp = n + 2;
		m->epoch++;
		pthread_mutex_unlock(&m->lock);
		n++;
	}
	atomic_store(&st->stop, true);
	for (i = 0; i < ST_MAPPERS; i++)
		pthread_join(m->thr[i], NULL);
	ST_FINISH(st);
	st_report(st, n, "revocations");
	st_note("# mappings %lu, pages touched %lu, SIGBUS %lu, mmap refused (no VM) %lu\n",
	       atomic_load(&m->maps), atomic_load(&m->touches), atomic_load(&m->sigbus),
	       atomic_load(&m->enxio));
	EXPECT_LT(0, n);
	EXPECT_LT(0, atomic_load(&m->touches));
	EXPECT_EQ(n, st_stat(st, VBRIDGE_STAT_AUTOACKS));
	free(m);
}

/* ------------------------------------------------------------------ */
/* The retry rule changes while accesses wait                          */
/* ------------------------------------------------------------------ */

/*
 * The backend stops reading and is not ready; accesses wait under the
 * device's retry_timeout_ms=-1 (some admitted and queued, some waiting for
 * admission).  Then one of: the override becomes 0, or 200 ms; the
 * overrides are cleared and the module parameter becomes 0; the backend
 * becomes ready.  Every access that was waiting must end within
 * ST_SETTLE_MS (plus the 200 ms) of the change, with -ETIMEDOUT or its
 * result: the new rule applies to accesses already waiting.
 */
#define ST_SETTLE_MS	5000

TEST_F_TIMEOUT(stress, retry_override, 300)
{
	static const char *const what[] = {
		"override 0", "override 200 ms", "parameter 0", "backend ready",
	};
	struct st *st = &self->st;
	uint64_t rs = st_seed_for(st, 100), t;
	struct vbst_override wait = { .has_retry = true, .retry_timeout_ms = -1 };
	struct vbst_override o;
	unsigned int n = 0, counts[4] = { 0 };
	int ret;

	st->allowed = ST_OK | ST_TIMEDOUT;
	ASSERT_EQ(0, st_up(st, "retry_timeout_ms=1000", true)) {
		TH_LOG("%s", vbst_why);
	}
	st->end_ms = vbst_now_ms() + st->seconds * 1000ULL;
	while (st_running(st)) {
		unsigned int a = st_rand(&rs) % 4;

		st_pause(&rs, 30);
		ASSERT_EQ(0, vbst_dev_set(&st->nl, VBST_VMID, VBST_NAME, &wait));
		st_srv_stop(st, false, false);
		ASSERT_EQ(0, vbst_be_set_ready(st->be, 0));
		st_pause(&rs, 150);
		t = vbst_now_ms();
		memset(&o, 0, sizeof(o));
		switch (a) {
		case 0:
		case 1:
			o.has_retry = true;
			o.retry_timeout_ms = a ? 200 : 0;
			ASSERT_EQ(0, vbst_dev_set(&st->nl, VBST_VMID, VBST_NAME, &o));
			break;
		case 2:
			o.clear = true;
			ASSERT_EQ(0, vbst_dev_set(&st->nl, VBST_VMID, VBST_NAME, &o));
			ASSERT_EQ(0, vbst_write_file(VBRIDGE_PARAM_DIR "retry_timeout_ms", "0"));
			break;
		case 3:
			ASSERT_EQ(0, st_srv_start(st, st->be));
			ASSERT_EQ(0, vbst_be_set_ready(st->be, 1));
			break;
		}
		ret = st_acc_settled(st, t, ST_SETTLE_MS + (a == 1 ? 200 : 0));
		ASSERT_EQ(0, ret) {
			TH_LOG("after %s: %s", what[a], vbst_why);
		}
		counts[a]++;
		if (a == 2)
			ASSERT_EQ(0, vbst_write_file(VBRIDGE_PARAM_DIR "retry_timeout_ms", "1000"));
		if (a != 3) {
			ASSERT_EQ(0, st_srv_start(st, st->be));
			ASSERT_EQ(0, vbst_be_set_ready(st->be, 1));
		}
		n++;
	}
	ST_FINISH(st);
	st_report(st, n, "rule changes");
	st_note("# %u override 0, %u override 200 ms, %u parameter 0, %u backend ready\n",
	       counts[0], counts[1], counts[2], counts[3]);
	EXPECT_LT(0, n);
	EXPECT_EQ(atomic_load(&st->r_timedout), st_stat(st, VBRIDGE_STAT_TIMEDOUT));
	EXPECT_EQ(atomic_load(&st->replies_ok), st_stat(st, VBRIDGE_STAT_COMPLETED));
	EXPECT_EQ(0, st_stat(st, VBRIDGE_STAT_FAILED));
}

/* ------------------------------------------------------------------ */
/* SIGKILL of VMMs waiting to attach a stopping vmid                   */
/* ------------------------------------------------------------------ */

static void *st_child_helper(void *arg)
{
	int fe = *(int *)arg;

	/* Waits for the attach's lock on the same file; killed with it. */
	ioctl(fe, VBRIDGE_STOP);
	return NULL;
}

/* In a child: attach the stopping vmid, which must wait until killed. */
static void st_child_attach(int ready, bool helper)
{
	struct vbridge_attach a = { .vmid = VBST_VMID };
	static int fe;
	pthread_t thr;

	fe = open(VBRIDGE_FRONTEND_NODE, O_RDWR | O_CLOEXEC);
	if (fe < 0)
		_exit(2);
	if (write(ready, "r", 1) != 1)
		_exit(2);
	if (helper && pthread_create(&thr, NULL, st_child_helper, &fe))
		_exit(2);
	if (ioctl(fe, VBRIDGE_ATTACH, &a) == 0)
		_exit(3);	/* attached a vmid that is still stopping */
	_exit(4);
}

/* The child's main thread is in ioctl(VBRIDGE_ATTACH): 1, 0 if it exited. */
static int st_child_blocked(pid_t pid, int timeout_ms)
{
	uint64_t end = vbst_now_ms() + timeout_ms;
	unsigned long fd, cmd;
	char path[64], buf[256];
	long nr;

	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	while (vbst_now_ms() < end) {
		if (vbst_read_file(path, buf, sizeof(buf)))
			return 0;
		/* "nr arg0 arg1 ...", or "running". */
		if (sscanf(buf, "%ld %lx %lx", &nr, &fd, &cmd) == 3 && nr == SYS_ioctl &&
		    cmd == (unsigned long)VBRIDGE_ATTACH)
			return 1;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return 0;
		usleep(1000);
	}
	return 0;
}

/*
 * The VM stops and its backend does not acknowledge (vmstop_autoack=N):
 * VMMs that attach the vmid wait.  Each is SIGKILLed while it waits, some
 * with a second thread blocked on the same file, and must die at once.
 * Then the backend acknowledges and the next VMM attaches.
 */
TEST_F_TIMEOUT(stress, attach_sigkill, 300)
{
	struct st *st = &self->st;
	uint64_t rs = st_seed_for(st, 100), t0, lat, longest = 0;
	unsigned int n = 0, kills = 0, k;
	struct vbst_vminfo vi;
	struct vbridge_attach a;
	int fe;

	st->allowed = ST_OK | ST_SHUTDOWN | ST_NOTCONN;
	ASSERT_EQ(0, st_up(st, "vmstop_timeout=1 vmstop_autoack=N", false)) {
		TH_LOG("%s", vbst_why);
	}
	st->end_ms = vbst_now_ms() + st->seconds * 1000ULL;
	while (st_running(st)) {
		st_pause(&rs, 50);
		ASSERT_EQ(0, ioctl(st->fe, VBRIDGE_STOP));
		for (k = 0; k < 3; k++) {
			struct pollfd p;
			int pipefd[2], st_;
			pid_t pid;
			char ch;

			ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));
			pid = fork();
			ASSERT_LE(0, pid);
			if (pid == 0) {
				close(pipefd[0]);
				st_child_attach(pipefd[1], st_rand(&rs) & 1);
			}
			close(pipefd[1]);
			p.fd = pipefd[0];
			p.events = POLLIN;
			ASSERT_EQ(1, poll(&p, 1, VBST_SOON_MS));
			ASSERT_EQ(1, read(pipefd[0], &ch, 1));
			close(pipefd[0]);
			EXPECT_EQ(1, st_child_blocked(pid, VBST_SOON_MS)) {
				TH_LOG("child %d is not waiting in VBRIDGE_ATTACH", pid);
			}
			st_pause(&rs, 20);
			t0 = vbst_now_ms();
			ASSERT_EQ(0, kill(pid, SIGKILL));
			st_ = vbst_wait_child(pid, VBST_SOON_MS);
			lat = vbst_now_ms() - t0;
			longest = lat > longest ? lat : longest;
			EXPECT_EQ(128 + SIGKILL, st_) {
				TH_LOG("child blocked in VBRIDGE_ATTACH: status %d after SIGKILL", st_);
			}
			kills++;
		}
		/* Still stopping: the vmid is busy. */
		ASSERT_EQ(0, vbst_vm_get(&st->nl, VBST_VMID, &vi));
		EXPECT_EQ(VBRIDGE_VM_S_STOPPING, vi.state);
		fe = vbst_fe_open(O_NONBLOCK);
		ASSERT_LE(0, fe);
		EXPECT_EQ(-EBUSY, vbst_fe_attach(fe, VBST_VMID, &a));
		close(fe);
		/* The backend acknowledges; the next VMM attaches. */
		ASSERT_EQ(0, vbst_be_ack(st->be, st->gen));
		ASSERT_EQ(0, st_fe_replace(st)) {
			TH_LOG("%s", vbst_why);
		}
		ASSERT_EQ(0, st_fe_attach(st, n + 2)) {
			TH_LOG("%s", vbst_why);
		}
		n++;
	}
	ST_FINISH(st);
	st_report(st, n, "stops");
	st_note("# %u VMMs killed while waiting to attach; the slowest died in %llu ms\n",
	       kills, (unsigned long long)longest);
	EXPECT_LT(0, kills);
	EXPECT_EQ(0, st_stat(st, VBRIDGE_STAT_AUTOACKS));
}

TEST_HARNESS_MAIN
