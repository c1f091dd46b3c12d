/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test fixture: Debian's real qemu-storage-daemon exporting a raw image
 * over vhost-user-blk (test_vhost_user, test_vhost_dev), and Debian's
 * virtiofsd sharing a directory (test_vhost_dev).  Each runs in a private
 * temporary directory, dies with the test (PR_SET_PDEATHSIG), and is
 * waited for until its socket listens (/proc/net/unix), without a probe
 * connection a single-client back-end would have to get over.
 */
#ifndef VBRIDGE_TEST_QSD_H
#define VBRIDGE_TEST_QSD_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define QSD		"/usr/bin/qemu-storage-daemon"
#define VIRTIOFSD	"/usr/lib/qemu/virtiofsd"
#define QSD_IMG_SIZE	(1u << 20)

/* The image's byte at offset i: every sector differs. */
static inline uint8_t qsd_img_byte(size_t i)
{
	return (uint8_t)(i * 7 + i / 512 + 3);
}

/**
 * struct qsd - one back-end process and its files
 * @pid: the daemon (0: none)
 * @dir: its private directory
 * @img: the image (qemu-storage-daemon) or the shared directory (virtiofsd)
 * @sock: the vhost-user socket it listens on
 * @log: its standard output and error
 */
struct qsd {
	pid_t pid;
	char dir[128], img[160], sock[160], log[160];
};

static inline int64_t qsd_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void qsd_kill(struct qsd *q)
{
	if (q->pid > 0) {
		kill(q->pid, SIGKILL);
		waitpid(q->pid, NULL, 0);
		q->pid = 0;
	}
}

static inline void qsd_stop(struct qsd *q)
{
	char path[200];

	qsd_kill(q);
	snprintf(path, sizeof(path), "%s/share/file", q->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/share", q->dir);
	rmdir(path);
	unlink(q->img);
	unlink(q->sock);
	unlink(q->log);
	rmdir(q->dir);
}

static inline void qsd_print_log(const struct qsd *q)
{
	char line[256];
	FILE *f = fopen(q->log, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		printf("#   %s: %s", q->pid ? "back-end" : "back-end (exited)", line);
	fclose(f);
}

/* Whether a socket bound to path is listening (__SO_ACCEPTCON). */
static inline int qsd_listening(const char *path)
{
	char line[512];
	FILE *f = fopen("/proc/net/unix", "r");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long flags;
		char p[300] = "";

		if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %299s", &flags, p) == 2 &&
		    !strcmp(p, path) && (flags & 0x10000))
			found = 1;
	}
	fclose(f);
	return found;
}

static inline int qsd_mkdir(struct qsd *q, const char **why)
{
	const char *tmp = getenv("TMPDIR");

	memset(q, 0, sizeof(*q));
	if (!tmp || strlen(tmp) > 60)
		tmp = "/tmp";
	snprintf(q->dir, sizeof(q->dir), "%s/vu-test-XXXXXX", tmp);
	if (!mkdtemp(q->dir)) {
		*why = "mkdtemp failed";
		return -1;
	}
	snprintf(q->sock, sizeof(q->sock), "%s/vu.sock", q->dir);
	snprintf(q->log, sizeof(q->log), "%s/backend.log", q->dir);
	return 0;
}

/* Run argv (argv[0] the program) with its output in q->log; wait for q->sock. */
static inline int qsd_spawn(struct qsd *q, char *const argv[], const char **why)
{
	pid_t parent = getpid();
	int64_t deadline;
	int st;

	q->pid = fork();
	if (q->pid < 0) {
		q->pid = 0;
		*why = "fork failed";
		return -1;
	}
	if (q->pid == 0) {
		int lfd = open(q->log, O_CREAT | O_WRONLY | O_TRUNC, 0600);

		/* Dies with the test, whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (lfd >= 0) {
			dup2(lfd, STDOUT_FILENO);
			dup2(lfd, STDERR_FILENO);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	deadline = qsd_ms() + 10000;
	while (qsd_ms() < deadline) {
		if (waitpid(q->pid, &st, WNOHANG) == q->pid) {
			q->pid = 0;
			*why = "the back-end exited at start (see its log)";
			return -1;
		}
		if (qsd_listening(q->sock))
			return 0;
		usleep(20000);
	}
	*why = "the back-end did not listen within 10 s";
	return -1;
}

/* A private directory with a QSD_IMG_SIZE image of qsd_img_byte()s. */
static inline int qsd_image(struct qsd *q, const char **why)
{
	uint8_t *img;
	size_t i;
	int fd;

	if (qsd_mkdir(q, why))
		return -1;
	snprintf(q->img, sizeof(q->img), "%s/disk.img", q->dir);
	img = malloc(QSD_IMG_SIZE);
	if (!img) {
		*why = "out of memory";
		return -1;
	}
	for (i = 0; i < QSD_IMG_SIZE; i++)
		img[i] = qsd_img_byte(i);
	fd = open(q->img, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, img, QSD_IMG_SIZE) != QSD_IMG_SIZE) {
		*why = "cannot write the image";
		free(img);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	free(img);
	close(fd);
	return 0;
}

/*
 * qemu-storage-daemon exporting q->img as vhost-user-blk with the given
 * queues on q->sock: at first, and again after qsd_kill() (a back-end
 * restarted under a device).  0 or -1 (why in *why).
 */
static inline int qsd_restart(struct qsd *q, int queues, const char **why)
{
	char blk0[200], exp0[300];
	char *argv[] = {
		QSD, "--blockdev", blk0, "--blockdev",
		"driver=raw,node-name=disk0,file=file0", "--export", exp0, NULL,
	};

	unlink(q->sock);
	snprintf(blk0, sizeof(blk0), "driver=file,node-name=file0,filename=%s",
		 q->img);
	snprintf(exp0, sizeof(exp0),
		 "type=vhost-user-blk,id=exp0,node-name=disk0,addr.type=unix,addr.path=%s,writable=on,num-queues=%d",
		 q->sock, queues);
	return qsd_spawn(q, argv, why);
}

/* qsd_image(), exported by qsd_restart().  0 or -1 (why in *why). */
static inline int qsd_start(struct qsd *q, int queues, const char **why)
{
	if (qsd_image(q, why))
		return -1;
	return qsd_restart(q, queues, why);
}

/*
 * virtiofsd sharing q->dir/share, which holds one file, "file", with
 * content.  0 or -1 (why in *why).
 */
static inline int virtiofsd_start(struct qsd *q, const char *content,
				  const char **why)
{
	char sockopt[200], srcopt[200], path[200];
	char *argv[] = {
		VIRTIOFSD, sockopt, "-o", srcopt, "-o", "cache=none",
		"-o", "sandbox=chroot", NULL,
	};
	int fd;

	if (qsd_mkdir(q, why))
		return -1;
	snprintf(q->img, sizeof(q->img), "%s/share", q->dir);
	if (mkdir(q->img, 0700)) {
		*why = "cannot make the shared directory";
		return -1;
	}
	snprintf(path, sizeof(path), "%s/file", q->img);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content)) {
		*why = "cannot write the shared file";
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	snprintf(sockopt, sizeof(sockopt), "--socket-path=%s", q->sock);
	snprintf(srcopt, sizeof(srcopt), "source=%s", q->img);
	return qsd_spawn(q, argv, why);
}

#endif
