// SPDX-License-Identifier: GPL-2.0
/*
 * Overlay files: flattened blobs are read, device-tree source is piped
 * through dtc.  dtc's own diagnostics (file:line) go to standard error.
 */
#include "ctl/overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int overlay_fail(int ret, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int overlay_fail(int ret, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* Read all of fd (at most max bytes) into a malloc'ed buffer. */
static int overlay_slurp(int fd, size_t max, char **buf, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *b = malloc(cap), *nb;
	ssize_t r;

	if (!b)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			if (cap >= max + 1) {
				free(b);
				return -EFBIG;
			}
			cap *= 2;
			nb = realloc(b, cap);
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			free(b);
			return r;
		}
		if (r == 0)
			break;
		n += r;
		if (n > max) {
			free(b);
			return -EFBIG;
		}
	}
	*buf = b;
	*len = n;
	return 0;
}

/*
 * Run dtc on input (a file) or, when input is NULL, on src fed on its
 * standard input, and collect the blob from its standard output.  The
 * source is written from a child process so that a large input cannot
 * deadlock against dtc's output.
 */
static int overlay_dtc(const char *name, const char *input, const char *src, size_t len,
		       void **blob, size_t *size, char *err, size_t errlen)
{
	const char *dtc = getenv("VBRIDGE_DTC");
	int in[2] = { -1, -1 }, out[2], st, ret;
	pid_t pid, feeder = 0;
	char *b = NULL;
	size_t n = 0;

	if (!dtc || !*dtc)
		dtc = "dtc";
	if (!input && pipe2(in, O_CLOEXEC))
		return overlay_fail(-errno, err, errlen, "pipe: %s", strerror(errno));
	if (pipe2(out, O_CLOEXEC)) {
		ret = -errno;
		if (!input) {
			close(in[0]);
			close(in[1]);
		}
		return overlay_fail(ret, err, errlen, "pipe: %s", strerror(-ret));
	}
	pid = fork();
	if (pid == 0) {
		/*
		 * -@: keep labels, so overlays with &label references compile.
		 * interrupts_property: the interrupt parent lives in the base
		 * tree the overlay is written for; vbridge does not need it.
		 */
		char *argv[] = { (char *)dtc, "-@", "-W", "no-interrupts_property",
				 "-I", "dts", "-O", "dtb", "-o", "-",
				 (char *)(input ? input : "-"), NULL };

		if (!input)
			dup2(in[0], 0);
		dup2(out[1], 1);
		execvp(dtc, argv);
		fprintf(stderr, "vbridge ctl: cannot run %s: %s\n", dtc, strerror(errno));
		_exit(127);
	}
	close(out[1]);
	if (!input)
		close(in[0]);
	if (pid < 0) {
		ret = -errno;
		if (!input)
			close(in[1]);
		close(out[0]);
		return overlay_fail(ret, err, errlen, "fork: %s", strerror(-ret));
	}
	if (!input) {
		feeder = fork();
		if (feeder == 0) {
			size_t off = 0;
			ssize_t w;

			signal(SIGPIPE, SIG_DFL);
			close(out[0]);
			while (off < len) {
				w = write(in[1], src + off, len - off);
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					_exit(1);
				off += w;
			}
			_exit(0);
		}
		close(in[1]);
	}
	ret = feeder < 0 ? -errno : overlay_slurp(out[0], OVERLAY_MAX_SIZE, &b, &n);
	close(out[0]);
	if (feeder > 0)
		waitpid(feeder, NULL, 0);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
		free(b);
		return overlay_fail(-ENOEXEC, err, errlen,
				    "%s: cannot run the device-tree compiler '%s' (install device-tree-compiler, or set VBRIDGE_DTC)",
				    name, dtc);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		free(b);
		return overlay_fail(-EINVAL, err, errlen,
				    "%s: dtc could not compile it (see its messages above)", name);
	}
	if (ret) {
		free(b);
		return overlay_fail(ret, err, errlen, "%s: reading dtc's output: %s", name,
				    strerror(-ret));
	}
	*blob = b;
	*size = n;
	return 0;
}

int overlay_compile(const char *name, const char *src, size_t len, void **blob,
		    size_t *size, char *err, size_t errlen)
{
	return overlay_dtc(name, NULL, src, len, blob, size, err, errlen);
}

int overlay_read_file(const char *path, char **buf, size_t *len, char *err,
		      size_t errlen)
{
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return overlay_fail(-errno, err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		close(fd);
		return overlay_fail(-EINVAL, err, errlen, "%s: not a regular file", path);
	}
	ret = overlay_slurp(fd, OVERLAY_MAX_SIZE, buf, len);
	close(fd);
	if (ret == -EFBIG)
		return overlay_fail(-EINVAL, err, errlen, "%s: larger than %u MiB", path,
				    OVERLAY_MAX_SIZE >> 20);
	if (ret)
		return overlay_fail(ret, err, errlen, "%s: %s", path, strerror(-ret));
	return 0;
}

int overlay_read(const char *path, void **blob, size_t *size, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int ret;

	ret = overlay_read_file(path, &buf, &len, err, errlen);
	if (ret)
		return ret;
	if (len >= 4 && fdt_magic(buf) == FDT_MAGIC) {
		*blob = buf;
		*size = len;
		return 0;
	}
	free(buf);
	/* Source: let dtc read the file itself, so its messages name it. */
	return overlay_dtc(path, path, NULL, 0, blob, size, err, errlen);
}
