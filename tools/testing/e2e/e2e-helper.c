// SPDX-License-Identifier: GPL-2.0
/*
 * e2e-helper: the few things the end-to-end tests need that busybox cannot
 * do, on either side (built static: the same binary runs in the test VM and
 * in the second-level guest).
 *
 *   uinput NAME                  host: a keyboard NAME; prints its
 *                                /dev/input/eventN, then presses and
 *                                releases KEY_A for every line on stdin
 *   evread NAME SECS             guest: waits for KEY_A from the input
 *                                device NAME; prints "ready" once it reads
 *   powerkey SECS                guest: waits for KEY_POWER from any
 *                                input device that has it, prints
 *                                "powerkey: ready" once it listens, then
 *                                syncs and powers off
 *   tcp-send ADDR PORT BYTES SEED
 *                                sends BYTES pseudo-random bytes (trying to
 *                                connect for 30 s), prints "sent BYTES
 *                                CHECKSUM"
 *   tcp-recv PORT SECS           accepts one connection, prints "ready"
 *                                when listening and "received BYTES
 *                                CHECKSUM" at the end of the stream
 *   vsock-listen PORT SECS       guest: one AF_VSOCK connection; prints
 *                                "ready", then "got LINE" and answers
 *                                "pong:LINE"
 *   vsock-connect CID PORT MSG   guest: sends MSG, prints the answer
 *   uds-listen PATH SECS         host: the Unix socket vsock connects to
 *                                for guest port connections; like
 *                                vsock-listen
 *   uds-connect PATH PORT MSG    host: "CONNECT PORT" through the vsock
 *                                device's Unix socket, then like
 *                                vsock-connect
 *
 * Bulk streams, checked at both ends: the sender sends BYTES pseudo-random
 * bytes from SEED, shuts its side down and waits for the receiver's
 * "received N CHECKSUM" line; the receiver reads to the end, answers that
 * line and compares it with what BYTES and SEED give.  Each prints its
 * side ("sent ...; peer received ...: match", "received ...; expected
 * ...: match") and exits 1 on a mismatch.
 *
 *   vsock-send CID PORT BYTES SEED     guest: to the host's PORT
 *   vsock-recv PORT SECS BYTES SEED    guest: one connection to PORT;
 *                                      prints "ready" when listening
 *   uds-send PATH PORT BYTES SEED      host: to the guest's PORT, through
 *                                      the vsock device's Unix socket
 *   uds-recv PATH SECS BYTES SEED      host: the Unix socket guest
 *                                      connections to a port arrive at
 *
 *   after FILE MARKER BYTES SECS       host: waits until FILE holds a line
 *                                      MARKER followed by BYTES bytes, and
 *                                      writes those bytes to stdout
 *
 *   pty CMD                            test VM: runs CMD (sh -c) with a
 *                                      new pseudo-terminal as its
 *                                      controlling terminal and stdin,
 *                                      stdout and stderr; what comes on
 *                                      stdin is typed into it, what it
 *                                      prints is copied to stdout as it
 *                                      comes; exits with CMD's status
 *                                      (util-linux's script -qfec, which
 *                                      the arm64 test VM lacks)
 *
 *   peek PID                           test VM: every mapping of guest
 *                                      RAM through a backend node in
 *                                      process PID (/proc/PID/maps'
 *                                      [virtio-bridge-ram]), each read at
 *                                      its first page through /proc/PID/mem
 *                                      as the process itself would touch
 *                                      it; prints "peek mappings=N
 *                                      readable=R faulting=F"
 *
 *   nisv RESOURCE                      arm64 guest: maps a virtio-pci
 *                                      function's BAR 0 (its sysfs
 *                                      resource0, the function unbound and
 *                                      reset) and uses loads and stores
 *                                      whose data aborts carry no syndrome
 *                                      (LDP/STP, pre- and post-indexed,
 *                                      the zero register) on its common
 *                                      configuration; prints "nisv ok" or
 *                                      what differed
 *
 * Every command but uinput ends on its own: one given SECS gives up SECS
 * seconds after it started, the others after CMD_LIMIT seconds, saying so
 * ("gave up after N s"): a stalled peer fails a check instead of hanging
 * the test.
 *
 * Exit status 0 on success, 1 on failure (with a message), 2 for bad usage.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <dirent.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/socket.h>	/* before vm_sockets.h, which needs struct sockaddr */
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CMD_LIMIT	120	/* seconds, for commands without SECS */

static const char *cmd_name;
static unsigned int cmd_secs;

static void give_up(int sig)
{
	char msg[128];
	int n;

	(void)sig;
	n = snprintf(msg, sizeof(msg), "e2e-helper: %s: gave up after %u s\n",
		     cmd_name, cmd_secs);
	if (write(STDERR_FILENO, msg, n) < 0)
		_exit(1);
	_exit(1);
}

/* End the process with a message secs seconds from now. */
static void limit(const char *name, int secs)
{
	cmd_name = name;
	cmd_secs = secs > 0 ? secs : 1;
	signal(SIGALRM, give_up);
	alarm(cmd_secs);
}

static int fail(const char *what)
{
	fprintf(stderr, "e2e-helper: %s: %s\n", what, strerror(errno));
	return 1;
}

static void say(const char *fmt, const char *arg)
{
	printf(fmt, arg);
	fflush(stdout);
}

/* FNV-1a, 64 bits: the checksum both ends of a transfer print. */
static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

/* Read one line (without the newline) within secs seconds. */
static int read_line(int fd, char *buf, size_t size, int secs)
{
	size_t n = 0;

	while (n + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, secs * 1000) <= 0)
			return -1;
		r = read(fd, buf + n, 1);
		if (r <= 0)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return 0;
}

/* Wait for one connection on a listening socket, within secs seconds. */
static int accept_one(int lfd, int secs)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	if (poll(&p, 1, secs * 1000) <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return accept(lfd, NULL, NULL);
}

/* Answer one "LINE\n" with "pong:LINE\n" and print "got LINE". */
static int serve_ping(int lfd, int secs)
{
	char line[256], reply[300];
	int fd;

	say("%s\n", "ready");
	fd = accept_one(lfd, secs);
	if (fd < 0)
		return fail("accept");
	if (read_line(fd, line, sizeof(line), secs))
		return fail("reading the request");
	snprintf(reply, sizeof(reply), "pong:%s\n", line);
	if (write_all(fd, reply, strlen(reply)))
		return fail("answering");
	say("got %s\n", line);
	close(fd);
	return 0;
}

/* Send "MSG\n" on a connected socket and print the answer line. */
static int ping(int fd, const char *msg)
{
	char line[300];

	if (write_all(fd, msg, strlen(msg)) || write_all(fd, "\n", 1))
		return fail("sending");
	if (read_line(fd, line, sizeof(line), 30))
		return fail("reading the answer");
	say("%s\n", line);
	return 0;
}

static int cmd_uinput(const char *name)
{
	struct uinput_setup us;
	struct input_event ev[4];
	char line[64], path[300];
	struct dirent *d;
	DIR *dir;
	int fd, i, found = 0;

	fd = open("/dev/uinput", O_WRONLY | O_NONBLOCK);
	if (fd < 0)
		return fail("/dev/uinput");
	if (ioctl(fd, UI_SET_EVBIT, EV_KEY) || ioctl(fd, UI_SET_KEYBIT, KEY_A))
		return fail("UI_SET_*BIT");
	memset(&us, 0, sizeof(us));
	us.id.bustype = BUS_VIRTUAL;
	us.id.vendor = 0x1234;
	us.id.product = 0x5678;
	snprintf(us.name, sizeof(us.name), "%s", name);
	if (ioctl(fd, UI_DEV_SETUP, &us) || ioctl(fd, UI_DEV_CREATE))
		return fail("UI_DEV_CREATE");

	/* Find our node: the event device whose name is ours. */
	for (i = 0; i < 50 && !found; i++) {
		dir = opendir("/dev/input");
		while (dir && (d = readdir(dir))) {
			char n[UINPUT_MAX_NAME_SIZE] = "";
			int efd;

			if (strncmp(d->d_name, "event", 5))
				continue;
			snprintf(path, sizeof(path), "/dev/input/%s", d->d_name);
			efd = open(path, O_RDONLY);
			if (efd < 0)
				continue;
			if (ioctl(efd, EVIOCGNAME(sizeof(n) - 1), n) >= 0 &&
			    !strcmp(n, name))
				found = 1;
			close(efd);
			if (found)
				break;
		}
		if (dir)
			closedir(dir);
		if (!found)
			usleep(100000);
	}
	if (!found) {
		errno = ENOENT;
		return fail("finding the new event node");
	}
	say("%s\n", path);

	while (fgets(line, sizeof(line), stdin)) {
		memset(ev, 0, sizeof(ev));
		ev[0].type = EV_KEY; ev[0].code = KEY_A; ev[0].value = 1;
		ev[1].type = EV_SYN; ev[1].code = SYN_REPORT;
		ev[2].type = EV_KEY; ev[2].code = KEY_A; ev[2].value = 0;
		ev[3].type = EV_SYN; ev[3].code = SYN_REPORT;
		if (write_all(fd, ev, sizeof(ev)))
			return fail("writing events");
		say("%s\n", "sent");
	}
	ioctl(fd, UI_DEV_DESTROY);
	close(fd);
	return 0;
}

/* Wait until one of fds[n] reports key code pressed, or end. */
static int wait_key(const int *fds, int n, unsigned int code, time_t end)
{
	struct pollfd p[64];
	struct input_event ev;
	int i;

	for (i = 0; i < n; i++)
		p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	while (time(NULL) < end) {
		if (poll(p, n, 1000) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			if (read(p[i].fd, &ev, sizeof(ev)) != sizeof(ev))
				return fail("reading an event");
			if (ev.type == EV_KEY && ev.code == code && ev.value == 1)
				return 0;
		}
	}
	errno = ETIMEDOUT;
	return -1;
}

static int cmd_evread(const char *name, int secs)
{
	char path[300], n[256];
	time_t end = time(NULL) + secs;
	int fd = -1, i;

	for (i = 0; i < 64 && fd < 0; i++) {
		snprintf(path, sizeof(path), "/dev/input/event%d", i);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		memset(n, 0, sizeof(n));
		if (ioctl(fd, EVIOCGNAME(sizeof(n) - 1), n) < 0 || strcmp(n, name)) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		errno = ENOENT;
		return fail("no input device with that name");
	}
	say("ready %s\n", path);
	if (wait_key(&fd, 1, KEY_A, end))
		return fail("no KEY_A");
	say("%s\n", "key-a");
	return 0;
}

/*
 * The guest's stand-in for systemd-logind or acpid: wait for KEY_POWER
 * from any input device that has it (the ACPI power button on x86_64),
 * then sync every file system and power off.
 */
static int cmd_powerkey(int secs)
{
	unsigned long keys[KEY_MAX / (8 * sizeof(long)) + 1];
	unsigned int bits = 8 * sizeof(long);
	time_t end = time(NULL) + secs;
	char path[300], name[256];
	int fds[64], n = 0, fd, i;

	for (i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "/dev/input/event%d", i);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		memset(keys, 0, sizeof(keys));
		memset(name, 0, sizeof(name));
		if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof(keys)), keys) < 0 ||
		    !(keys[KEY_POWER / bits] & (1UL << (KEY_POWER % bits)))) {
			close(fd);
			continue;
		}
		ioctl(fd, EVIOCGNAME(sizeof(name) - 1), name);
		printf("power key on %s (%s)\n", path, name);
		fds[n++] = fd;
	}
	if (!n) {
		errno = ENOENT;
		return fail("no input device has KEY_POWER");
	}
	say("%s\n", "powerkey: ready");
	if (wait_key(fds, n, KEY_POWER, end))
		return fail("no KEY_POWER");
	say("%s\n", "powerkey: KEY_POWER, syncing and powering off");
	sync();
	if (reboot(RB_POWER_OFF) < 0)
		return fail("reboot(RB_POWER_OFF)");
	return 0;
}

/* Send bytes pseudo-random bytes from seed; *sum gets their checksum. */
static int send_stream(int fd, long bytes, unsigned long seed, uint64_t *sum)
{
	uint64_t h = FNV_INIT, x = seed | 1;
	uint8_t buf[4096];
	long left = bytes;

	while (left > 0) {
		size_t n = left < (long)sizeof(buf) ? (size_t)left : sizeof(buf), i;

		for (i = 0; i < n; i++) {	/* xorshift64 */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		h = fnv(h, buf, n);
		if (write_all(fd, buf, n))
			return -1;
		left -= n;
	}
	*sum = h;
	return 0;
}

/* The checksum send_stream() gives for bytes from seed. */
static uint64_t stream_sum(long bytes, unsigned long seed)
{
	uint64_t h = FNV_INIT, x = seed | 1;
	uint8_t b;

	while (bytes-- > 0) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b = x;
		h = fnv(h, &b, 1);
	}
	return h;
}

/* Read fd to its end: how many bytes, and their checksum. */
static int recv_stream(int fd, long *total, uint64_t *sum)
{
	uint64_t h = FNV_INIT;
	uint8_t buf[4096];
	long t = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		h = fnv(h, buf, n);
		t += n;
	}
	*total = t;
	*sum = h;
	return 0;
}

static int cmd_tcp_send(const char *addr, int port, long bytes,
			unsigned long seed)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	uint8_t buf[4096];
	uint64_t h;
	char out[64];
	int fd, tries;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		errno = EINVAL;
		return fail(addr);
	}
	/* The peer may still be coming up: keep trying for half a minute. */
	for (tries = 0;; tries++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return fail("socket");
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		close(fd);
		if (tries == 30)
			return fail("connect");
		sleep(1);
	}
	if (send_stream(fd, bytes, seed, &h))
		return fail("send");
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof(buf)) > 0)	/* until the peer closes */
		;
	snprintf(out, sizeof(out), "sent %ld %016llx", bytes,
		 (unsigned long long)h);
	say("%s\n", out);
	close(fd);
	return 0;
}

static int cmd_tcp_recv(int port, int secs)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET, .sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};
	uint64_t h;
	long total;
	char out[64];
	int lfd, fd, one = 1;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		return fail("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))
		return fail("listen");
	say("%s\n", "ready");
	fd = accept_one(lfd, secs);
	if (fd < 0)
		return fail("accept");
	if (recv_stream(fd, &total, &h))
		return fail("receive");
	snprintf(out, sizeof(out), "received %ld %016llx", total,
		 (unsigned long long)h);
	say("%s\n", out);
	close(fd);
	close(lfd);
	return 0;
}

/* The sending end of a bulk stream on a connected socket; see the top. */
static int bulk_send(int fd, long bytes, unsigned long seed)
{
	char mine[64], peer[128], out[256];
	uint64_t h;

	if (send_stream(fd, bytes, seed, &h))
		return fail("sending");
	if (shutdown(fd, SHUT_WR))
		return fail("shutdown");
	snprintf(mine, sizeof(mine), "received %ld %016llx", bytes,
		 (unsigned long long)h);
	if (read_line(fd, peer, sizeof(peer), 60)) {
		snprintf(out, sizeof(out), "sent %ld %016llx; no answer from the peer",
			 bytes, (unsigned long long)h);
		say("%s\n", out);
		return 1;
	}
	snprintf(out, sizeof(out), "sent %ld %016llx; peer %s: %s", bytes,
		 (unsigned long long)h, peer, strcmp(peer, mine) ? "MISMATCH" : "match");
	say("%s\n", out);
	close(fd);
	return strcmp(peer, mine) ? 1 : 0;
}

/* The receiving end: one connection on a listening socket; see the top. */
static int bulk_recv(int lfd, int secs, long bytes, unsigned long seed)
{
	char got[64], want[64], out[160];
	uint64_t h;
	long total;
	int fd;

	say("%s\n", "ready");
	fd = accept_one(lfd, secs);
	if (fd < 0)
		return fail("accept");
	if (recv_stream(fd, &total, &h))
		return fail("receiving");
	snprintf(got, sizeof(got), "received %ld %016llx", total,
		 (unsigned long long)h);
	snprintf(want, sizeof(want), "%ld %016llx", bytes,
		 (unsigned long long)stream_sum(bytes, seed));
	if (write_all(fd, got, strlen(got)) || write_all(fd, "\n", 1))
		return fail("answering");
	snprintf(out, sizeof(out), "%s; expected %s: %s", got, want,
		 strcmp(got + 9, want) ? "MISMATCH" : "match");
	say("%s\n", out);
	close(fd);
	return strcmp(got + 9, want) ? 1 : 0;
}

static int cmd_vsock_listen(int port, int secs)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_ANY,
	};
	int lfd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 1))
		return fail("vsock listen");
	return serve_ping(lfd, secs);
}

static int cmd_vsock_connect(int cid, int port, const char *msg)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = cid,
	};
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return fail("vsock connect");
	return ping(fd, msg);
}

static int uds_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

static int cmd_uds_listen(const char *path, int secs)
{
	struct sockaddr_un sa;
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);

	unlink(path);
	if (lfd < 0 || uds_addr(path, &sa) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))
		return fail(path);
	return serve_ping(lfd, secs);
}

/*
 * Connect to the vsock device's Unix socket and ask for the guest's port:
 * the connected socket, or -1 after saying why.
 */
static int uds_connect_port(const char *path, int port)
{
	char line[128];
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || uds_addr(path, &sa) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fail(path);
		return -1;
	}
	snprintf(line, sizeof(line), "CONNECT %d\n", port);
	if (write_all(fd, line, strlen(line))) {
		fail("CONNECT");
		return -1;
	}
	if (read_line(fd, line, sizeof(line), 30) || strncmp(line, "OK ", 3)) {
		errno = ECONNREFUSED;
		fail("no OK after CONNECT");
		return -1;
	}
	return fd;
}

static int cmd_uds_connect(const char *path, int port, const char *msg)
{
	int fd = uds_connect_port(path, port);

	return fd < 0 ? 1 : ping(fd, msg);
}

static int cmd_vsock_send(int cid, int port, long bytes, unsigned long seed)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = cid,
	};
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return fail("vsock connect");
	return bulk_send(fd, bytes, seed);
}

static int cmd_vsock_recv(int port, int secs, long bytes, unsigned long seed)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_ANY,
	};
	int lfd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 1))
		return fail("vsock listen");
	return bulk_recv(lfd, secs, bytes, seed);
}

static int cmd_uds_send(const char *path, int port, long bytes,
			unsigned long seed)
{
	int fd = uds_connect_port(path, port);

	return fd < 0 ? 1 : bulk_send(fd, bytes, seed);
}

static int cmd_uds_recv(const char *path, int secs, long bytes,
			unsigned long seed)
{
	struct sockaddr_un sa;
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);

	unlink(path);
	if (lfd < 0 || uds_addr(path, &sa) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))
		return fail(path);
	return bulk_recv(lfd, secs, bytes, seed);
}

/*
 * Wait (polling, until the time limit) for file to hold a line marker
 * followed by bytes bytes, and copy those to stdout.
 */
static int cmd_after(const char *path, const char *marker, long bytes)
{
	size_t mlen = strlen(marker);
	char *buf = NULL, *at = NULL;
	long off = -1;
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return fail(path);
	for (;;) {
		if (fstat(fd, &st))
			return fail(path);
		if (off < 0 && st.st_size > 0) {
			free(buf);
			buf = malloc(st.st_size + 1);
			if (!buf)
				return fail("malloc");
			if (pread(fd, buf, st.st_size, 0) != st.st_size)
				return fail(path);
			buf[st.st_size] = '\0';
			at = memmem(buf, st.st_size, marker, mlen);
			if (at && at + mlen < buf + st.st_size && at[mlen] == '\n')
				off = at - buf + mlen + 1;
		}
		if (off >= 0 && st.st_size >= off + bytes)
			break;
		usleep(100000);
	}
	free(buf);
	buf = malloc(bytes ? bytes : 1);
	if (!buf)
		return fail("malloc");
	if (pread(fd, buf, bytes, off) != bytes || write_all(1, buf, bytes))
		return fail("copying");
	free(buf);
	close(fd);
	return 0;
}

#ifdef __aarch64__
/* Offsets in the virtio-pci common configuration (the virtio spec, 4.1.4.3). */
#define CC_GFSELECT	0x08
#define CC_GF		0x0c
#define CC_Q_DESC	0x20
#define CC_Q_DRIVER	0x28

static int nisv_bad(const char *what, uint64_t got, uint64_t want)
{
	printf("nisv: %s: got 0x%llx, want 0x%llx\n", what,
	       (unsigned long long)got, (unsigned long long)want);
	return 1;
}

/*
 * Each instruction below faults to the hypervisor without a valid
 * syndrome (a pair, or writeback), so KVM hands it to the VMM, which must
 * decode and perform it.  The device's reset state lets the driver
 * features and the queue addresses of queue 0 be written and read back.
 */
static int cmd_nisv(const char *path)
{
	uint64_t a, b, p, q;
	uint32_t w0, w1;
	uint8_t *bar;
	int fd, bad = 0;

	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		return fail(path);
	bar = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (bar == MAP_FAILED)
		return fail("mmap of BAR 0");

	/* stp/ldp of W registers, signed offset: select word 1, write it. */
	__asm__ volatile("stp %w0, %w1, [%2, #8]" : : "r"(1), "r"(0x1u), "r"(bar)
		     : "memory");
	__asm__ volatile("ldp %w0, %w1, [%2, #8]" : "=&r"(w0), "=&r"(w1) : "r"(bar)
		     : "memory");
	bad |= w0 != 1 ? nisv_bad("ldp w: driver_feature_select", w0, 1) : 0;
	bad |= w1 != 1 ? nisv_bad("ldp w: driver_feature word 1", w1, 1) : 0;

	/* stp of X registers, pre-indexed with writeback. */
	p = (uintptr_t)bar;
	__asm__ volatile("stp %1, %2, [%0, #0x20]!" : "+r"(p)
		     : "r"(0x1122334455667000ull), "r"(0x0000000087654320ull)
		     : "memory");
	bad |= p != (uintptr_t)bar + CC_Q_DESC ?
	       nisv_bad("stp pre-index: base after writeback", p - (uintptr_t)bar,
			CC_Q_DESC) : 0;
	/* ldp of X registers, signed offset. */
	__asm__ volatile("ldp %0, %1, [%2, #0x20]" : "=&r"(a), "=&r"(b) : "r"(bar)
		     : "memory");
	bad |= a != 0x1122334455667000ull ? nisv_bad("ldp x: queue_desc", a, 0x1122334455667000ull) : 0;
	bad |= b != 0x87654320ull ? nisv_bad("ldp x: queue_driver", b, 0x87654320ull) : 0;

	/* Post-indexed str and ldr of an X register. */
	q = (uintptr_t)bar + CC_Q_DRIVER;
	__asm__ volatile("str %1, [%0], #8" : "+r"(q) : "r"(0x0000000012345678ull)
		     : "memory");
	bad |= q != (uintptr_t)bar + CC_Q_DRIVER + 8 ?
	       nisv_bad("str post-index: base after writeback", q - (uintptr_t)bar,
			CC_Q_DRIVER + 8) : 0;
	q = (uintptr_t)bar + CC_Q_DRIVER;
	__asm__ volatile("ldr %1, [%0], #-8" : "+r"(q), "=&r"(a) : : "memory");
	bad |= a != 0x12345678ull ? nisv_bad("ldr post-index: queue_driver", a, 0x12345678ull) : 0;
	bad |= q != (uintptr_t)bar + CC_Q_DESC ?
	       nisv_bad("ldr post-index: base after writeback", q - (uintptr_t)bar,
			CC_Q_DESC) : 0;

	/*
	 * The zero register as both sources of a pair: word 0 holds 0x5a and
	 * word 1 is selected (plain stores, which have a syndrome), then the
	 * pair selects word 0 and clears it.
	 */
	*(volatile uint32_t *)(bar + CC_GFSELECT) = 0;
	*(volatile uint32_t *)(bar + CC_GF) = 0x5a;
	*(volatile uint32_t *)(bar + CC_GFSELECT) = 1;
	__asm__ volatile("stp wzr, wzr, [%0, #8]" : : "r"(bar) : "memory");
	w0 = *(volatile uint32_t *)(bar + CC_GFSELECT);
	w1 = *(volatile uint32_t *)(bar + CC_GF);
	bad |= w0 ? nisv_bad("stp wzr: driver_feature_select", w0, 0) : 0;
	bad |= w1 ? nisv_bad("stp wzr: driver_feature word 0", w1, 0) : 0;

	munmap(bar, 4096);
	close(fd);
	if (!bad)
		printf("nisv ok: ldp/stp of W and X, pre- and post-index writeback, wzr\n");
	return bad;
}
#else
static int cmd_nisv(const char *path)
{
	(void)path;
	fprintf(stderr, "nisv: only arm64 has accesses without a syndrome\n");
	return 2;
}
#endif

/*
 * A mapping whose pages the module revoked faults (SIGBUS for the process
 * itself); the kernel's access on our behalf fails with EIO instead, and
 * the process is left alone.
 */
static int cmd_peek(const char *pid)
{
	unsigned long start, end;
	int n = 0, readable = 0, faulting = 0;
	char path[64], line[512], page[4096];
	FILE *maps;
	int mem;

	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%s/mem", pid);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	if (!maps || mem < 0)
		return fail("peek: /proc/PID/maps and mem");
	while (fgets(line, sizeof(line), maps)) {
		if (!strstr(line, "[virtio-bridge-ram]") ||
		    sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		n++;
		if (pread(mem, page, sizeof(page), (off_t)start) == (ssize_t)sizeof(page))
			readable++;
		else
			faulting++;
	}
	fclose(maps);
	close(mem);
	printf("peek mappings=%d readable=%d faulting=%d\n", n, readable, faulting);
	return 0;
}

static int cmd_pty(const char *cmd)
{
	char buf[4096];
	bool typing = true;
	const char *name;
	int m, s, st;
	ssize_t n;
	pid_t pid;

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) || unlockpt(m) || !(name = ptsname(m)))
		return fail("pty: cannot make a pseudo-terminal");
	pid = fork();
	if (pid < 0)
		return fail("pty: fork");
	if (!pid) {
		/* a new session, whose controlling terminal the pty is */
		s = setsid() < 0 ? -1 : open(name, O_RDWR);
		if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0 ||
		    dup2(s, 0) < 0 || dup2(s, 1) < 0 || dup2(s, 2) < 0)
			_exit(127);
		if (s > 2)
			close(s);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = m, .events = POLLIN },
			{ .fd = typing ? STDIN_FILENO : -1, .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return fail("pty: poll");
		}
		if (p[0].revents) {
			/* EIO once the last holder of the terminal is gone */
			n = read(m, buf, sizeof(buf));
			if (n <= 0 || write_all(STDOUT_FILENO, buf, n))
				break;
		}
		if (p[1].revents) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0 || write_all(m, buf, n))
				typing = false;
		}
	}
	if (waitpid(pid, &st, 0) < 0)
		return fail("pty: waitpid");
	close(m);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";

	if (!strcmp(c, "uinput") && argc == 3)
		return cmd_uinput(argv[2]);
	if (!strcmp(c, "evread") && argc == 4) {
		limit(c, atoi(argv[3]) + 5);	/* it watches the clock itself */
		return cmd_evread(argv[2], atoi(argv[3]));
	}
	if (!strcmp(c, "powerkey") && argc == 3) {
		limit(c, atoi(argv[2]) + 5);	/* it watches the clock itself */
		return cmd_powerkey(atoi(argv[2]));
	}
	if (!strcmp(c, "tcp-send") && argc == 6) {
		limit(c, CMD_LIMIT);
		return cmd_tcp_send(argv[2], atoi(argv[3]), atol(argv[4]),
				    strtoul(argv[5], NULL, 0));
	}
	if (!strcmp(c, "tcp-recv") && argc == 4) {
		limit(c, atoi(argv[3]));
		return cmd_tcp_recv(atoi(argv[2]), atoi(argv[3]));
	}
	if (!strcmp(c, "vsock-listen") && argc == 4) {
		limit(c, atoi(argv[3]));
		return cmd_vsock_listen(atoi(argv[2]), atoi(argv[3]));
	}
	if (!strcmp(c, "vsock-connect") && argc == 5) {
		limit(c, CMD_LIMIT);
		return cmd_vsock_connect(atoi(argv[2]), atoi(argv[3]), argv[4]);
	}
	if (!strcmp(c, "uds-listen") && argc == 4) {
		limit(c, atoi(argv[3]));
		return cmd_uds_listen(argv[2], atoi(argv[3]));
	}
	if (!strcmp(c, "uds-connect") && argc == 5) {
		limit(c, CMD_LIMIT);
		return cmd_uds_connect(argv[2], atoi(argv[3]), argv[4]);
	}
	if (!strcmp(c, "vsock-send") && argc == 6) {
		limit(c, CMD_LIMIT);
		return cmd_vsock_send(atoi(argv[2]), atoi(argv[3]),
				      atol(argv[4]), strtoul(argv[5], NULL, 0));
	}
	if (!strcmp(c, "vsock-recv") && argc == 6) {
		limit(c, atoi(argv[3]));
		return cmd_vsock_recv(atoi(argv[2]), atoi(argv[3]),
				      atol(argv[4]), strtoul(argv[5], NULL, 0));
	}
	if (!strcmp(c, "uds-send") && argc == 6) {
		limit(c, CMD_LIMIT);
		return cmd_uds_send(argv[2], atoi(argv[3]), atol(argv[4]),
				    strtoul(argv[5], NULL, 0));
	}
	if (!strcmp(c, "uds-recv") && argc == 6) {
		limit(c, atoi(argv[3]));
		return cmd_uds_recv(argv[2], atoi(argv[3]), atol(argv[4]),
				    strtoul(argv[5], NULL, 0));
	}
	if (!strcmp(c, "after") && argc == 6) {
		limit(c, atoi(argv[5]));
		return cmd_after(argv[2], argv[3], atol(argv[4]));
	}
	if (!strcmp(c, "pty") && argc == 3) {
		limit(c, CMD_LIMIT);
		return cmd_pty(argv[2]);
	}
	if (!strcmp(c, "peek") && argc == 3)
		return cmd_peek(argv[2]);
	if (!strcmp(c, "nisv") && argc == 3) {
		limit(c, CMD_LIMIT);
		return cmd_nisv(argv[2]);
	}
	fprintf(stderr, "usage: see the comment at the top of e2e-helper.c\n");
	return 2;
}
