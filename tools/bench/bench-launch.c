// SPDX-License-Identifier: GPL-2.0
/*
 * bench-launch: start a VMM, time its guest's boot from the console, and
 * sample the VMM's resident memory once the guest is idle.  Built static by
 * run-bench; runs in the test VM (see vm-bench.sh).
 *
 *   bench-launch [-m MARKER] [-i MARKER] [-s MS] [-k] [-t SEC] [-o FILE]
 *                [-g NAME] [-I] -- COMMAND [ARG...]
 *
 *   -m MARKER  boot marker: the first console line that starts with MARKER
 *              stops the boot clock [BENCH-INIT]
 *   -i MARKER  idle marker: SETTLE ms after the first line starting with
 *              MARKER, the command's memory is sampled from /proc
 *   -s MS      settle time after the idle marker [2000]
 *   -k         stop the command with SIGTERM once the markers asked for
 *              were seen and memory was sampled (SIGKILL 10 s later)
 *   -t SEC     give up after SEC seconds: SIGKILL, status 1 [300]
 *   -o FILE    copy what the command writes (standard output and error,
 *              one pipe) to FILE
 *   -g NAME    guest RAM: mappings whose /proc/PID/smaps name contains
 *              NAME (the VMM's memfd, say) are counted apart
 *   -I         give the command this program's standard input (to type
 *              on the guest's console) instead of /dev/null
 *
 * The boot clock starts just before fork(), so it covers everything the
 * VMM does before the guest runs (option parsing, mapping RAM, loading the
 * kernel, firmware), the guest kernel's boot and the start of its init.
 * The command's standard output and error are read from a pipe as they
 * come, so the console is seen without polling a file.
 *
 * Results go to standard output as key=value lines:
 *
 *   boot_ms=T          boot marker seen T ms after the start
 *   idle_ms=T          idle marker seen T ms after the start
 *   rss_anon_kib=N     RssAnon, RssFile, RssShmem and VmRSS of
 *   rss_file_kib=N     /proc/PID/status at the sample
 *   rss_shmem_kib=N
 *   vm_rss_kib=N
 *   smaps_rss_kib=N    from /proc/PID/smaps at the same moment: Rss of
 *   smaps_anon_kib=N   every mapping, and its Anonymous part; of the
 *   guest_rss_kib=N    guest RAM mappings (-g); and of the rest
 *   other_rss_kib=N    (other_anon_kib: the rest's Anonymous part)
 *   other_anon_kib=N
 *   exit=S             the command's exit status, or "signal N"
 *
 * Exit status: 0 when every marker asked for was seen (and memory sampled
 * when -i was given) and the command ended by itself with status 0 or was
 * stopped by -k; 1 otherwise (a message says what was missing); 2 for bad
 * usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN	4096
#define KILL_GRACE_MS	10000
#define POLL_MS		200

/**
 * struct launch - one run of the command
 * @marker: boot marker
 * @idle: idle marker, or NULL
 * @settle_ms: delay between the idle marker and the memory sample
 * @stop: SIGTERM the command after the sample
 * @timeout_ms: give up after this long
 * @log: copy of the output, or -1
 * @guest: name of the guest RAM mappings, or NULL
 * @keep_stdin: the command reads our standard input
 * @t0: start, CLOCK_MONOTONIC ms
 * @boot_ms: when the boot marker was seen, or -1
 * @idle_ms: when the idle marker was seen, or -1
 * @sample_tried: memory sampling was attempted
 * @sampled: memory was sampled
 * @line: the console line being assembled
 * @len: bytes in @line
 */
struct launch {
	const char *marker;
	const char *idle;
	long settle_ms;
	bool stop;
	long timeout_ms;
	int log;
	const char *guest;
	bool keep_stdin;
	double t0;
	double boot_ms;
	double idle_ms;
	bool sample_tried;
	bool sampled;
	char line[LINE_MAX_LEN];
	size_t len;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: bench-launch [-m MARKER] [-i MARKER] [-s MS] [-k] [-t SEC] [-o FILE]\n"
		   "                    [-g NAME] [-I]\n"
		   "                    -- COMMAND [ARG...]\n"
		   "(see the comment at the top of tools/bench/bench-launch.c)\n");
}

/* A full console line: does it start (after any \r) with a marker? */
static void launch_line(struct launch *l)
{
	const char *s = l->line;
	double t = now_ms() - l->t0;

	l->line[l->len] = '\0';
	while (*s == '\r')
		s++;
	if (l->boot_ms < 0 && !strncmp(s, l->marker, strlen(l->marker)))
		l->boot_ms = t;
	if (l->idle && l->idle_ms < 0 && !strncmp(s, l->idle, strlen(l->idle)))
		l->idle_ms = t;
	l->len = 0;
}

/* Copy a chunk of output to the log and feed the line scanner. */
static void launch_output(struct launch *l, const char *buf, size_t n)
{
	size_t i;

	if (l->log >= 0 && write(l->log, buf, n) != (ssize_t)n) {
		fprintf(stderr, "bench-launch: writing the log: %s\n", strerror(errno));
		close(l->log);
		l->log = -1;
	}
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			launch_line(l);
			continue;
		}
		if (l->len < sizeof(l->line) - 1)
			l->line[l->len++] = buf[i];
	}
}

/* Print the fields named in keys[] of a /proc file as key=value lines. */
static void print_fields(const char *path, const char *const keys[][2])
{
	char row[256];
	FILE *f = fopen(path, "r");
	int i;

	if (!f)
		return;
	while (fgets(row, sizeof(row), f)) {
		for (i = 0; keys[i][0]; i++) {
			size_t k = strlen(keys[i][0]);
			long v;

			if (strncmp(row, keys[i][0], k) || row[k] != ':')
				continue;
			if (sscanf(row + k + 1, "%ld", &v) == 1)
				printf("%s=%ld\n", keys[i][1], v);
		}
	}
	fclose(f);
}

/*
 * Sum Rss and Anonymous over the mappings of /proc/PID/smaps, apart for
 * those whose name contains @guest.  Mapping headers are the lines whose
 * first field is an address range; the name is their sixth field.
 */
static bool sample_smaps(pid_t pid, const char *guest)
{
	long rss = 0, anon = 0, grss = 0, ganon = 0, v;
	bool in_guest = false;
	char path[64], row[4096], key[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "bench-launch: cannot read %s: %s\n", path, strerror(errno));
		return false;
	}
	while (fgets(row, sizeof(row), f)) {
		unsigned long lo, hi;
		int name = 0;

		if (sscanf(row, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &name) == 2) {
			in_guest = guest && name && strstr(row + name, guest);
			continue;
		}
		if (sscanf(row, "%63[^:]: %ld kB", key, &v) != 2)
			continue;
		if (!strcmp(key, "Rss")) {
			rss += v;
			if (in_guest)
				grss += v;
		} else if (!strcmp(key, "Anonymous")) {
			anon += v;
			if (in_guest)
				ganon += v;
		}
	}
	fclose(f);
	printf("smaps_rss_kib=%ld\nsmaps_anon_kib=%ld\nguest_rss_kib=%ld\n"
	       "other_rss_kib=%ld\nother_anon_kib=%ld\n",
	       rss, anon, grss, rss - grss, anon - ganon);
	return true;
}

static bool launch_sample(const struct launch *l, pid_t pid)
{
	static const char *const status_keys[][2] = {
		{ "RssAnon", "rss_anon_kib" }, { "RssFile", "rss_file_kib" },
		{ "RssShmem", "rss_shmem_kib" }, { "VmRSS", "vm_rss_kib" },
		{ NULL, NULL },
	};
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (access(path, R_OK)) {
		fprintf(stderr, "bench-launch: cannot read %s: %s\n", path, strerror(errno));
		return false;
	}
	print_fields(path, status_keys);
	return sample_smaps(pid, l->guest);
}

/* Read what is there; true at the end of the output. */
static bool launch_read(struct launch *l, int fd)
{
	char buf[65536];
	ssize_t r = read(fd, buf, sizeof(buf));

	if (r > 0) {
		launch_output(l, buf, r);
		return false;
	}
	return r == 0 || errno != EINTR;
}

static pid_t launch_start(const struct launch *l, char **argv, int *out)
{
	int p[2], null;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC)) {
		perror("bench-launch: pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		perror("bench-launch: fork");
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		if (!l->keep_stdin) {
			null = open("/dev/null", O_RDONLY);
			if (null < 0 || dup2(null, 0) < 0)
				_exit(127);
		}
		if (dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "bench-launch: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);	/* whichever of the two runs first */
	close(p[1]);
	*out = p[0];
	return pid;
}

int main(int argc, char **argv)
{
	struct launch l = {
		.marker = "BENCH-INIT", .settle_ms = 2000, .timeout_ms = 300000,
		.log = -1, .boot_ms = -1, .idle_ms = -1,
	};
	double kill_at = -1, deadline;
	bool eof = false, reaped = false, timed_out = false, stopped = false;
	int opt, fd, wstatus = 0, ok;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+m:i:s:kt:o:g:Ih")) != -1) {
		switch (opt) {
		case 'm':
			l.marker = optarg;
			break;
		case 'i':
			l.idle = optarg;
			break;
		case 's':
			l.settle_ms = atol(optarg);
			break;
		case 'k':
			l.stop = true;
			break;
		case 't':
			l.timeout_ms = atol(optarg) * 1000;
			break;
		case 'o':
			l.log = open(optarg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (l.log < 0) {
				fprintf(stderr, "bench-launch: cannot create %s: %s\n",
					optarg, strerror(errno));
				return 1;
			}
			break;
		case 'g':
			l.guest = optarg;
			break;
		case 'I':
			l.keep_stdin = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc || !*l.marker || (l.idle && !*l.idle) ||
	    l.settle_ms < 0 || l.timeout_ms <= 0) {
		usage(stderr);
		return 2;
	}

	l.t0 = now_ms();
	pid = launch_start(&l, argv + optind, &fd);
	if (pid < 0)
		return 1;
	deadline = l.t0 + l.timeout_ms;

	while (!reaped) {
		double t = now_ms(), wake = deadline;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		bool done;
		int n;

		if (l.idle && l.idle_ms >= 0 && !l.sample_tried) {
			double at = l.t0 + l.idle_ms + l.settle_ms;

			if (t >= at) {
				l.sample_tried = true;
				l.sampled = launch_sample(&l, pid);
			} else if (at < wake) {
				wake = at;
			}
		}
		done = l.boot_ms >= 0 && (!l.idle || l.sample_tried);
		if (done && l.stop && kill_at < 0) {
			kill(-pid, SIGTERM);
			stopped = true;
			kill_at = t + KILL_GRACE_MS;
		}
		if (kill_at >= 0 && t >= kill_at) {
			kill(-pid, SIGKILL);
			kill_at = deadline + 1;	/* no more signals */
		}
		if (t >= deadline) {
			fprintf(stderr, "bench-launch: %s still running after %ld s: killed\n",
				argv[optind], l.timeout_ms / 1000);
			kill(-pid, SIGKILL);
			timed_out = true;
			waitpid(pid, &wstatus, 0);
			break;
		}
		if (kill_at >= 0 && kill_at < wake)
			wake = kill_at;

		n = 0;
		if (!eof) {
			n = poll(&p, 1, (int)(wake - t < POLL_MS ? wake - t : POLL_MS) + 1);
			if (n < 0 && errno != EINTR) {
				perror("bench-launch: poll");
				kill(-pid, SIGKILL);
				waitpid(pid, &wstatus, 0);
				break;
			}
		} else {
			usleep(POLL_MS * 1000);
		}
		if (n > 0 && launch_read(&l, fd))
			eof = true;
		if (waitpid(pid, &wstatus, WNOHANG) == pid)
			reaped = true;
	}
	/* what the command wrote before it ended (not blocking on leftovers) */
	while (!eof) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 0) <= 0 || launch_read(&l, fd))
			break;
	}
	if (l.len)
		launch_line(&l);
	close(fd);

	if (l.boot_ms >= 0)
		printf("boot_ms=%.1f\n", l.boot_ms);
	if (l.idle_ms >= 0)
		printf("idle_ms=%.1f\n", l.idle_ms);
	if (WIFEXITED(wstatus))
		printf("exit=%d\n", WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		printf("exit=signal %d\n", WTERMSIG(wstatus));

	ok = !timed_out;
	if (l.boot_ms < 0) {
		fprintf(stderr, "bench-launch: no console line starting with '%s'\n", l.marker);
		ok = 0;
	}
	if (l.idle && !l.sampled) {
		fprintf(stderr, "bench-launch: no memory sample (idle marker '%s' %s)\n",
			l.idle, l.idle_ms < 0 ? "not seen" : "seen, but /proc was unreadable");
		ok = 0;
	}
	if (!stopped && !timed_out && !(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)) {
		fprintf(stderr, "bench-launch: %s ended with %s %d\n", argv[optind],
			WIFEXITED(wstatus) ? "status" : "signal",
			WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : WTERMSIG(wstatus));
		ok = 0;
	}
	if (l.log >= 0)
		close(l.log);
	return ok ? 0 : 1;
}
