// SPDX-License-Identifier: GPL-2.0
/* `vbridge run`: options, --help, and the main thread of the VMM. */
#include "vmm/run.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "devices/devices.h"
#include "lib/global.h"
#include "lib/log.h"
#include "lib/opt.h"
#include "virtio_bridge.h"
#include "vmm/bridge.h"
#include "vmm/vmm.h"

#define KERNEL_MAX_SIZE		(512ULL << 20)
#define CONSOLE_ESCAPE		0x01	/* Ctrl-A */
#define CONSOLE_CHUNK		256	/* bytes of input read at once, at most */
#define CONSOLE_QUEUE		4096	/* terminal input waiting for FIFO room */


enum {
	OPT_KERNEL = 0x100,
	OPT_VMID,
	OPT_BRIDGE_NODE,
	OPT_BIOS,
	OPT_PCI_HOST_DT,
	OPT_NO_BALLOON,
	OPT_DISABLE_SANDBOX,
	OPT_SHUTDOWN_TIMEOUT,
};

/* -c, -m, -p and -i are crosvm's short options for the same. */
#define RUN_SHORT_OPTIONS	":vhc:m:p:i:"

static const struct option run_own_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, 'i' },
	{ "params", required_argument, NULL, 'p' },
	{ "cpus", required_argument, NULL, 'c' },
	{ "mem", required_argument, NULL, 'm' },
	{ "vmid", required_argument, NULL, OPT_VMID },
	{ "bridge-node", required_argument, NULL, OPT_BRIDGE_NODE },
	{ "bios", required_argument, NULL, OPT_BIOS },
	{ "pci-host-dt", required_argument, NULL, OPT_PCI_HOST_DT },
	{ "no-balloon", no_argument, NULL, OPT_NO_BALLOON },
	{ "disable-sandbox", no_argument, NULL, OPT_DISABLE_SANDBOX },
	{ "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void run_usage(FILE *f)
{
	fprintf(f,
"Usage: vbridge run [OPTIONS] --kernel " VMM_ARCH_KERNEL "\n"
"       vbridge run [OPTIONS] " VMM_ARCH_KERNEL "\n"
"\n"
VMM_ARCH_USAGE_MACHINE
"\n"
"Options:\n"
VMM_ARCH_USAGE_KERNEL
"  -i, --initrd PATH\n"
"                    initial ramdisk, placed as high as the kernel allows\n"
"                      --initrd initrd.cpio.gz\n"
"  -p, --params \"...\"\n"
"                    extra kernel command line, after the VMM's own\n"
"                    (console=" VMM_ARCH_CONSOLE "); repeatable\n"
"                      --params \"rdinit=/init quiet\"\n"
"  -c, --cpus N      vCPUs, 1..%u [%u]\n"
"                      --cpus 4\n"
"  -m, --mem SIZE    guest RAM: K/M/G/T suffix, or a plain number of MiB;\n"
"                    a multiple of 1 MiB [%llu M]." VMM_ARCH_USAGE_MEM "\n"
"                      --mem 2G\n"
"  --vmid N          run as VM N of the virtio bridge (virtio_bridge.ko):\n"
"                    the devices declared for vmid N (vbridge ctl load)\n"
"                    are served by their provider (vbridge devices) and\n"
VMM_ARCH_USAGE_BRIDGE
"                    waits while a previous VM N stops\n"
"                      --vmid 3\n"
"  --bridge-node PATH  the bridge's frontend node [/dev/virtio-bridge]\n"
VMM_ARCH_USAGE_PCI_HOST_DT
"  --shutdown-timeout SECONDS\n"
"                    on SIGTERM, SIGINT or SIGHUP, press the guest's power\n"
"                    button and give it this long to power off before\n"
"                    stopping it; 0 stops it at once, 0..%u [%u]\n"
"                      --shutdown-timeout 30\n"
"  -v, --verbose     more messages (twice: every unclaimed access)\n"
"  -h, --help        this text\n"
"\n"
"crosvm's command lines: its short options above, the kernel as the last\n"
"argument, --host-ip, and these, which change nothing here:\n"
"  --no-balloon      there is no balloon device\n"
"  --disable-sandbox\n"
"                    the devices run in the VMM's process, unsandboxed\n"
"Its other options are refused, with what to use instead.\n"
"\n"
"%s"
"\n"
VMM_ARCH_USAGE_SERIAL
"\n"
"SIGTERM, SIGINT or SIGHUP (systemctl stop, Ctrl-C) asks the guest to power\n"
"off: " VMM_ARCH_USAGE_POWER_BUTTON ".\n"
"When it has not powered off after --shutdown-timeout seconds, or on a second\n"
"signal, vbridge stops it at once.\n"
"\n"
"The VM ends when the guest powers off or reboots (exit status 0; 32 for\n"
"a reboot after vbridge --extended-status), when it is stopped by a signal\n"
"(0, also when the grace time ran out), or\n"
"when it crashes: " VMM_ARCH_USAGE_CRASH " or a KVM error prints the vCPU's\n"
"registers and exits with status 1 (33 after --extended-status). Bad options,\n"
"unusable files and bridged devices (--vmid) that do not fit the machine\n"
"exit with status 2.\n"
"\n"
"Examples:\n"
"  vbridge run --kernel " VMM_ARCH_KERNEL_EX " --initrd initrd.gz --cpus 2 --mem 1G \\\n"
"      --params \"rdinit=/bin/sh\"\n"
"  vbridge run --kernel " VMM_ARCH_KERNEL_EX " --initrd initrd.gz --rwdisk disk.img \\\n"
"      --serial=hardware=virtio-console,num=1,type=stdout,console,stdin \\\n"
"      --host_ip 192.168.10.1 --netmask 255.255.255.0 --rng --cid 3\n",
		VMM_ARCH_MAX_CPUS, RUN_DEFAULT_CPUS,
		(unsigned long long)(RUN_DEFAULT_MEM >> 20),
		RUN_MAX_SHUTDOWN_TIMEOUT, RUN_DEFAULT_SHUTDOWN_TIMEOUT,
		device_set_usage());
}

int run_parse_mem(const char *s, uint64_t *bytes)
{
	uint64_t v;
	const char *p;
	int err;

	for (p = s; *p && isdigit((unsigned char)*p); p++)
		;
	if (*s && !*p) {
		/* a plain number is MiB */
		err = opt_parse_u64(s, VMM_ARCH_RAM_MAX >> 20, &v);
		if (err)
			return err;
		*bytes = v << 20;
		return 0;
	}
	return opt_parse_size(s, bytes);
}

static int run_add_params(struct run_config *cfg, const char *arg)
{
	size_t old = cfg->params ? strlen(cfg->params) : 0;
	char *p = realloc(cfg->params, old + strlen(arg) + 2);

	if (!p)
		return -ENOMEM;
	if (old)
		p[old++] = ' ';
	strcpy(p + old, arg);
	cfg->params = p;
	return 0;
}

static int run_parse_options(int argc, char **argv, struct run_config *cfg,
			     const struct option *options);

/* Our options followed by the device set's, as one getopt_long table. */
static struct option *run_options(void)
{
	size_t own = sizeof(run_own_options) / sizeof(run_own_options[0]) - 1;
	size_t dev = 0;
	struct option *o;

	while (device_set_long_options[dev].name)
		dev++;
	o = calloc(own + dev + 1, sizeof(*o));
	if (!o)
		return NULL;
	memcpy(o, run_own_options, own * sizeof(*o));
	memcpy(o + own, device_set_long_options, dev * sizeof(*o));
	return o;
}

int run_parse(int argc, char **argv, struct run_config *cfg)
{
	struct option *options;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = RUN_DEFAULT_CPUS;
	cfg->mem = RUN_DEFAULT_MEM;
	cfg->shutdown_timeout = RUN_DEFAULT_SHUTDOWN_TIMEOUT;
	cfg->devs = device_set_new();
	options = run_options();
	if (!cfg->devs || !options) {
		free(options);
		log_error("out of memory");
		return EXIT_USAGE;
	}
	ret = run_parse_options(argc, argv, cfg, options);
	free(options);
	return ret;
}

static int run_parse_options(int argc, char **argv, struct run_config *cfg,
			     const struct option *options)
{
	uint64_t v;
	int opt, err, idx;

	if (opt_check_names(argc, argv, RUN_SHORT_OPTIONS, options,
			    run_crosvm_options, "crosvm", "vbridge run"))
		return EXIT_USAGE;
	optind = 0;	/* full rescan: cmd_run may be called more than once */
	opterr = 0;
	while ((idx = -1, opt = getopt_long(argc, argv, RUN_SHORT_OPTIONS,
					    options, &idx)) != -1) {
		switch (opt) {
		case OPT_KERNEL:
			/* The last one wins, as for --initrd and --mem. */
			cfg->kernel = optarg;
			break;
		case 'i':
			cfg->initrd = optarg;
			break;
		case 'p':
			if (run_add_params(cfg, optarg)) {
				log_error("out of memory");
				return EXIT_USAGE;
			}
			break;
		case 'c':
			err = opt_parse_u64(optarg, VMM_ARCH_MAX_CPUS, &v);
			if (err || v == 0) {
				log_error("--cpus '%s': give a number of vCPUs from 1 to %u",
					  optarg, VMM_ARCH_MAX_CPUS);
				return EXIT_USAGE;
			}
			cfg->cpus = v;
			break;
		case 'm':
			err = run_parse_mem(optarg, &v);
			if (err) {
				log_error("--mem '%s': give a size such as 512M or 2G",
					  optarg);
				return EXIT_USAGE;
			}
			if (v & ((1ULL << 20) - 1)) {
				log_error("--mem '%s': must be a multiple of 1 MiB",
					  optarg);
				return EXIT_USAGE;
			}
			if (v < VMM_ARCH_RAM_MIN || v > VMM_ARCH_RAM_MAX) {
				log_error("--mem '%s': must be between %llu MiB and %llu GiB",
					  optarg,
					  (unsigned long long)(VMM_ARCH_RAM_MIN >> 20),
					  (unsigned long long)(VMM_ARCH_RAM_MAX >> 30));
				return EXIT_USAGE;
			}
			cfg->mem = v;
			break;
		case OPT_VMID:
			err = opt_parse_u64(optarg, VBRIDGE_VMID_MAX, &v);
			if (err) {
				log_error("--vmid '%s': give a vmid from 0 to %u",
					  optarg, VBRIDGE_VMID_MAX);
				return EXIT_USAGE;
			}
			cfg->vmid = v;
			cfg->bridge = true;
			break;
		case OPT_BRIDGE_NODE:
			cfg->bridge_node = optarg;
			break;
		case OPT_BIOS:
			cfg->bios = optarg;
			break;
		case OPT_PCI_HOST_DT:
			cfg->pci_host_dt = optarg;
			break;
		case OPT_NO_BALLOON:		/* crosvm's: there is no balloon */
		case OPT_DISABLE_SANDBOX:	/* crosvm's: there is no sandbox */
			break;
		case OPT_SHUTDOWN_TIMEOUT:
			err = opt_parse_u64(optarg, RUN_MAX_SHUTDOWN_TIMEOUT, &v);
			if (err) {
				log_error("--shutdown-timeout '%s': give a number of seconds from 0 to %u",
					  optarg, RUN_MAX_SHUTDOWN_TIMEOUT);
				return EXIT_USAGE;
			}
			cfg->shutdown_timeout = v;
			break;
		case 'v':
			cfg->verbose++;
			break;
		case 'h':
			cfg->help = true;
			return 0;
		case ':':
			log_error("option '%s' needs a value (see vbridge run --help)",
				  argv[optind - 1]);
			return EXIT_USAGE;
		case '?':
			log_error("unknown option '%s' (see vbridge run --help)",
				  argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (idx >= 0 && !strcmp(options[idx].name, "serial"))
				cfg->serial_given = true;
			err = device_set_parse(cfg->devs, opt, optarg);
			if (err < 0)
				return EXIT_USAGE;	/* it said why */
			if (err == 0) {
				log_error("unhandled option '%s'", argv[optind - 1]);
				return EXIT_USAGE;
			}
		}
	}
	/* crosvm's form: the kernel is the (last) argument */
	if (optind < argc && !cfg->kernel && argc - optind == 1) {
		cfg->kernel = argv[optind++];
	} else if (optind < argc) {
		log_error(cfg->kernel ?
			  "unexpected argument '%s': the kernel is already given (see vbridge run --help)" :
			  "unexpected argument '%s': give one kernel, with --kernel or as the last argument (see vbridge run --help)",
			  argv[optind]);
		return EXIT_USAGE;
	}
	if (cfg->bridge_node && !cfg->bridge) {
		log_error("--bridge-node needs --vmid (see vbridge run --help)");
		return EXIT_USAGE;
	}
	if (cfg->pci_host_dt && (!VMM_ARCH_BRIDGE_OWN_HOST || !cfg->bridge)) {
		log_error(VMM_ARCH_BRIDGE_OWN_HOST ?
			  "--pci-host-dt needs --vmid: it describes a bridged device (see vbridge run --help)" :
			  "--pci-host-dt is for arm64 guests: here bridged devices join the VMM's own PCI host");
		return EXIT_USAGE;
	}
	if (!cfg->kernel && !cfg->bios) {
		log_error("no kernel: give --kernel PATH, or PATH as the last argument, to " VMM_ARCH_KERNEL_WHAT " (see vbridge run --help)");
		return EXIT_USAGE;
	}
	return 0;
}

void run_config_free(struct run_config *cfg)
{
	free(cfg->params);
	cfg->params = NULL;
	if (cfg->devs)
		device_set_free(cfg->devs);
	cfg->devs = NULL;
}

/* --- the files the guest boots ------------------------------------------ */

/* The boot files: what the architecture loads, and the open initrd. */
struct run_kernel {
	struct run_boot boot;
	int initrd_fd;
};

/* A whole file (the kernel, the firmware) into memory: *buf, *len. */
static int run_read_file(const char *path, const char *what, uint8_t **buf,
			 size_t *len)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		log_errno("cannot open %s '%s'", what, path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > KERNEL_MAX_SIZE) {
		log_error("%s '%s' is not a regular file of at most %llu MiB",
			  what, path, KERNEL_MAX_SIZE >> 20);
		close(fd);
		return -1;
	}
	*len = st.st_size;
	*buf = malloc(*len ? *len : 1);
	if (!*buf) {
		close(fd);
		return -1;
	}
	while (got < *len) {
		n = read(fd, *buf + got, *len - got);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			log_errno("cannot read %s '%s'", what, path);
			close(fd);
			return -1;
		}
		got += n;
	}
	close(fd);
	return 0;
}

/* The kernel and/or the firmware, checked by the architecture. */
static int run_read_boot(const struct run_config *cfg, struct run_kernel *k)
{
	char err[200];

	if (cfg->kernel &&
	    run_read_file(cfg->kernel, "kernel", &k->boot.img, &k->boot.len))
		return -1;
	if (cfg->bios &&
	    run_read_file(cfg->bios, "firmware", &k->boot.bios, &k->boot.bios_len))
		return -1;
	if (arch_boot_parse(&k->boot, err, sizeof(err))) {
		if (cfg->kernel)
			log_error("kernel '%s': %s", cfg->kernel, err);
		else
			log_error("%s", err);
		return -1;
	}
	return 0;
}

static int run_open_initrd(const char *path, struct run_kernel *k)
{
	struct stat st;

	k->initrd_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (k->initrd_fd < 0 || fstat(k->initrd_fd, &st) < 0) {
		log_errno("cannot open initrd '%s'", path);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		log_error("initrd '%s' is not a non-empty regular file", path);
		return -1;
	}
	k->boot.initrd_size = st.st_size;
	return 0;
}

static int run_load_initrd(struct vmm *vm, struct run_kernel *k,
			   const char *path)
{
	uint64_t size = k->boot.initrd_size;
	uint8_t *dst = guest_mem_ptr(&vm->mem, arch_boot_initrd_addr(&k->boot),
				     size);
	uint64_t got = 0;
	ssize_t n;

	if (!dst)
		return -1;
	while (got < size) {
		n = pread(k->initrd_fd, dst + got, size - got, got);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			log_errno("cannot read initrd '%s'", path);
			return -1;
		}
		got += n;
	}
	return 0;
}

/* The console the serial options imply, then the user's --params. */
static char *run_cmdline(const struct run_config *cfg, const char *console)
{
	const char *params = cfg->params ? cfg->params : "";
	size_t len = 64 + strlen(params);
	char *s = malloc(len);

	if (!s)
		return NULL;
	if (console)
		snprintf(s, len, "console=%s%s%s", console, *params ? " " : "",
			 params);
	else
		snprintf(s, len, "%s", params);
	return s;
}

/* --- the main thread ------------------------------------------------------ */

struct run_console {
	int serial;		/* the serial line fed from standard input, or -1 */
	int fd;			/* standard input */
	bool eof;		/* it reached its end: stop reading */
	bool tty;		/* in raw mode: restore on exit, handle escapes */
	bool escape;		/* Ctrl-A seen */
	size_t queued;		/* bytes in queue */
	bool dropped;		/* the queue overflowed once (said so) */
	uint8_t queue[CONSOLE_QUEUE];	/* input the FIFO had no room for */
	struct termios saved;
	struct vmm *vm;
};

static void run_console_raw(struct run_console *con)
{
	struct termios t;

	if (!isatty(con->fd) || tcgetattr(con->fd, &con->saved) < 0)
		return;
	t = con->saved;
	cfmakeraw(&t);
	t.c_oflag |= OPOST;	/* keep our own messages readable */
	if (tcsetattr(con->fd, TCSANOW, &t) == 0)
		con->tty = true;
}

static void run_console_restore(struct run_console *con)
{
	if (con->tty)
		tcsetattr(con->fd, TCSANOW, &con->saved);
	con->tty = false;
}

/*
 * How many bytes of input may be read now.  A terminal is always read, so
 * that Ctrl-A x stops a guest that reads nothing (hung, or no driver for
 * its UART yet); what the receive FIFO has no room for waits in the
 * queue, and typing beyond that is lost, as on a real line.  Other input
 * (a pipe, a file) is read only as far as the FIFO has room: none of it
 * is ever lost.
 */
static unsigned int run_console_room(struct run_console *con)
{
	unsigned int room;

	if (con->tty)
		return CONSOLE_CHUNK;
	if (con->queued)
		return 0;
	room = arch_serial_rx_room(con->vm, con->serial);
	return room > CONSOLE_CHUNK ? CONSOLE_CHUNK : room;
}

/* Queued input into the receive FIFO, as far as it has room. */
static void run_console_flush(struct vmm *vm, struct run_console *con)
{
	size_t n = arch_serial_rx_room(vm, con->serial);

	if (n > con->queued)
		n = con->queued;
	if (!n)
		return;
	arch_serial_rx_push(vm, con->serial, con->queue, n);
	con->queued -= n;
	memmove(con->queue, con->queue + n, con->queued);
}

static void run_console_queue(struct run_console *con, uint8_t c)
{
	if (con->queued < sizeof(con->queue)) {
		con->queue[con->queued++] = c;
	} else if (!con->dropped) {
		con->dropped = true;
		log_warn("the guest is not reading its console: input beyond %zu bytes is dropped",
			 sizeof(con->queue));
	}
}

/* Feed input to the UART; handles the Ctrl-A escapes on a terminal. */
static void run_console_input(struct vmm *vm, struct run_console *con)
{
	uint8_t buf[CONSOLE_CHUNK];
	unsigned int room = run_console_room(con);
	ssize_t i, n;

	if (!room)
		return;
	n = read(con->fd, buf, room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		con->eof = true;	/* the guest keeps running */
		return;
	}
	for (i = 0; i < n; i++) {
		uint8_t c = buf[i];

		if (!con->tty) {
			run_console_queue(con, c);
		} else if (con->escape) {
			con->escape = false;
			if (c == 'x' || c == 'X') {
				log_info("stopped from the console (Ctrl-A x)");
				vmm_request_exit(vm, VMM_EXIT_STOPPED);
				return;
			}
			run_console_queue(con, CONSOLE_ESCAPE);
			if (c != CONSOLE_ESCAPE)
				run_console_queue(con, c);
		} else if (c == CONSOLE_ESCAPE) {
			con->escape = true;
		} else {
			run_console_queue(con, c);
		}
	}
	run_console_flush(vm, con);
}

static int64_t run_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * A stop signal: the first one presses the power button and starts the
 * grace time (*deadline, ms of CLOCK_MONOTONIC); with no grace time, no
 * button, or a second signal, the VM stops at once.
 */
static void run_stop_signal(struct vmm *vm, const struct signalfd_siginfo *si,
			    unsigned int timeout, int64_t *deadline)
{
	const char *sig = strsignal(si->ssi_signo);

	if (*deadline >= 0) {
		log_info("%s again: stopping the guest now", sig);
	} else if (timeout && arch_power_button(vm)) {
		*deadline = run_now_ms() + (int64_t)timeout * 1000;
		log_info("%s: pressed the guest's power button; waiting up to %u s for it to power off",
			 sig, timeout);
		return;
	} else {
		log_info("stopped by %s", sig);
	}
	vmm_request_exit(vm, VMM_EXIT_STOPPED);
}

static int run_loop(struct vmm *vm, int sfd, struct run_console *con,
		    unsigned int shutdown_timeout)
{
	int64_t deadline = -1;	/* end of the grace time, or -1 */
	uint64_t cnt;

	for (;;) {
		struct pollfd p[6];
		int n = 0, i_sig, i_in = -1, i_rx = -1, i_br = -1, i_ln = -1;

		p[n].fd = vm->done_efd;
		p[n++].events = POLLIN;
		i_sig = n;
		p[n].fd = sfd;
		p[n++].events = POLLIN;
		if (con->serial >= 0 && !con->eof) {
			i_rx = n;
			p[n].fd = vm->rx_efd;
			p[n++].events = POLLIN;
			if (run_console_room(con)) {
				i_in = n;
				p[n].fd = con->fd;
				p[n++].events = POLLIN;
			}
		}
		if (vmm_bridge_fd(vm) >= 0) {
			i_br = n;
			p[n].fd = vmm_bridge_fd(vm);
			p[n++].events = POLLIN;
		}
		if (vmm_bridge_lines_fd(vm) >= 0) {
			i_ln = n;
			p[n].fd = vmm_bridge_lines_fd(vm);
			p[n++].events = POLLIN;
		}
		int wait = -1, r;

		if (deadline >= 0) {
			int64_t left = deadline - run_now_ms();

			wait = left > 0 ? (int)left : 0;
		}
		r = poll(p, n, wait);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			log_errno("poll");
			vmm_request_exit(vm, VMM_EXIT_CRASH);
		}
		if (vmm_stopping(vm))
			break;
		if (r == 0 && deadline >= 0 && run_now_ms() >= deadline) {
			log_warn("the guest did not power off within %u s; stopping it",
				 shutdown_timeout);
			vmm_request_exit(vm, VMM_EXIT_STOPPED);
			break;
		}
		if (p[i_sig].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				run_stop_signal(vm, &si, shutdown_timeout,
						&deadline);
				if (vmm_stopping(vm))
					break;
			}
		}
		if (i_rx >= 0 && (p[i_rx].revents & POLLIN)) {
			if (read(vm->rx_efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
				log_errno("console wakeup");
			run_console_flush(vm, con);
		}
		if (i_in >= 0 && (p[i_in].revents & (POLLIN | POLLHUP | POLLERR)))
			run_console_input(vm, con);
		if (i_br >= 0 && (p[i_br].revents & POLLIN))
			vmm_bridge_doorbells(vm);
		if (i_ln >= 0 && (p[i_ln].revents & POLLIN))
			vmm_bridge_lines(vm);
	}
	switch (atomic_load(&vm->exit_reason)) {
	case VMM_EXIT_POWEROFF:
		log_debug("guest powered off");
		return EXIT_OK;
	case VMM_EXIT_RESET:
		log_debug("guest reset");
		return global_opts.extended_status ? EXIT_VM_RESET : EXIT_OK;
	case VMM_EXIT_STOPPED:
		return EXIT_OK;
	default:
		return global_opts.extended_status ? EXIT_VM_CRASH : EXIT_FAIL;
	}
}

/*
 * The board's serial lines: the --serial hardware=serial ones, or, when
 * there is no --serial at all, line 1 as the console on standard output and
 * input.
 * Returns 0 or -1 after saying what is wrong (a file that cannot be
 * opened).
 */
static int run_setup_serial(struct vmm *vm, const struct run_config *cfg,
			    struct run_console *con, const char **console)
{
	static char dflt_name[16];	/* the console's name, when a board line */
	static const struct serial_spec dflt = {
		.num = 1, .type = SERIAL_STDOUT, .console = true, .stdin = true,
	};
	const struct serial_spec *specs;
	unsigned int n, i;

	n = device_set_uarts(cfg->devs, &specs);
	/* A board line as the console goes by the board's name for it. */
	*console = NULL;
	for (i = 0; i < n && !*console; i++) {
		if (specs[i].console) {
			arch_serial_name(specs[i].num, dflt_name, sizeof(dflt_name));
			*console = dflt_name;
		}
	}
	if (!*console)
		*console = device_set_console(cfg->devs);
	if (!n && !*console && !cfg->serial_given) {
		specs = &dflt;
		n = 1;
		arch_serial_name(1, dflt_name, sizeof(dflt_name));
		*console = dflt_name;
	}
	for (i = 0; i < n; i++) {
		const struct serial_spec *sp = &specs[i];
		char name[16];
		int fd = -1, err;

		arch_serial_name(sp->num, name, sizeof(name));
		if (sp->type == SERIAL_STDOUT) {
			fd = STDOUT_FILENO;
		} else if (sp->type == SERIAL_FILE) {
			fd = open(sp->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				  0644);
			if (fd < 0) {
				log_errno("%s: cannot open output file '%s' (check --serial path=)",
					  name, sp->path);
				return -1;
			}
		}
		err = arch_serial_add(vm, sp->num, fd, sp->type == SERIAL_FILE,
				      sp->stdin);
		if (err < 0) {
			log_error("%s: %s", name,
				  err == -EBUSY ? "given twice" : strerror(-err));
			if (sp->type == SERIAL_FILE)
				close(fd);
			return -1;
		}
		if (sp->stdin)
			con->serial = err;
	}
	return 0;
}

static double run_seconds(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int cmd_run(int argc, char **argv)
{
	struct run_console con = { .fd = STDIN_FILENO, .serial = -1 };
	struct run_kernel k = { .initrd_fd = -1 };
	bool devs_started = false;
	const char *console = NULL;
	struct run_config cfg;
	struct timespec t0;
	struct vmm vm;
	sigset_t sigs;
	char err[240];
	int ret, sfd = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A closed console or pipe is an I/O error for whoever writes, not death. */
	signal(SIGPIPE, SIG_IGN);
	ret = run_parse(argc, argv, &cfg);
	if (ret || cfg.help) {
		if (cfg.help)
			run_usage(stdout);
		run_config_free(&cfg);
		return ret;
	}
	log_set_verbose(global_opts.log_level + cfg.verbose);
	vmm_init(&vm);
	con.vm = &vm;

	/*
	 * Everything the user can get wrong (files, sizes, devices) is
	 * checked before KVM is touched, and exits with status 2.
	 */
	ret = EXIT_USAGE;
	if (run_read_boot(&cfg, &k))
		goto out;
	if (cfg.initrd && run_open_initrd(cfg.initrd, &k))
		goto out;
	if (run_setup_serial(&vm, &cfg, &con, &console))
		goto out;
	k.boot.cmdline = run_cmdline(&cfg, console);
	if (!k.boot.cmdline)
		goto out;
	if (arch_ram_layout(&vm, cfg.mem)) {
		log_error("cannot lay out %llu MiB of RAM", (unsigned long long)(cfg.mem >> 20));
		goto out;
	}
	if (arch_boot_plan(&vm, &k.boot, err, sizeof(err))) {
		log_error("%s", err);
		goto out;
	}
	if (vmm_pci_create(&vm))
		goto out;
	/* A disk's request queues: one per vCPU unless num_queues= says. */
	device_set_default_queues(cfg.devs, cfg.cpus);
	/* 00.0 is the host bridge; the devices take slots from 01.0 on. */
	if (device_set_realize(cfg.devs, vm.bus, PCI_DEVFN(1, 0)))
		goto out;

	ret = EXIT_FAIL;
	if (vmm_ram_create(&vm, cfg.mem))
		goto out;
	if (k.boot.initrd_size && run_load_initrd(&vm, &k, cfg.initrd))
		goto out;
	if (arch_boot_load(&vm, &k.boot))
		goto out;
	vm.pci_host_dt = cfg.pci_host_dt;
	if (cfg.bridge && vmm_bridge_open(&vm, cfg.bridge_node, cfg.vmid))
		goto out;
	/* Devices declared for the vmid that do not fit are the user's to fix. */
	ret = EXIT_USAGE;
	if (vm.bridge && vmm_bridge_check(&vm))
		goto out;
	if (cfg.pci_host_dt && !vmm_bridge_nr_devices(&vm)) {
		log_error("--pci-host-dt %s: no device is declared for vmid %u to describe (vbridge ctl load OVERLAY)",
			  cfg.pci_host_dt, cfg.vmid);
		goto out;
	}
	ret = EXIT_FAIL;
	if (vmm_kvm_setup(&vm, cfg.cpus) || vmm_pci_attach(&vm))
		goto out;
	if (vm.bridge && vmm_bridge_setup(&vm))
		goto out;
	if (arch_boot_regs(&vm, &k.boot))
		goto out;
	arch_boot_describe(&k.boot);
	free(k.boot.img);
	k.boot.img = NULL;
	free(k.boot.bios);
	k.boot.bios = NULL;

	/*
	 * SIGINT/SIGTERM/SIGHUP are read from a signalfd by this thread only;
	 * blocked before any device or vCPU thread exists, which inherit it.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		log_errno("signalfd");
		goto out;
	}
	if (device_set_start(cfg.devs))
		goto out;
	devs_started = true;
	if (con.serial >= 0)
		run_console_raw(&con);
	log_debug("setup took %.3f s; starting %u vCPU(s)", run_seconds(&t0),
		  cfg.cpus);
	if (vmm_start(&vm))
		goto out;
	ret = run_loop(&vm, sfd, &con, cfg.shutdown_timeout);
	log_debug("VM ran for %.3f s", run_seconds(&t0));
out:
	/* vCPUs first (nothing reaches the devices any more), then devices. */
	vmm_stop(&vm);
	if (devs_started)
		device_set_stop(cfg.devs);
	run_console_restore(&con);
	vmm_destroy(&vm);
	if (sfd >= 0)
		close(sfd);
	if (k.initrd_fd >= 0)
		close(k.initrd_fd);
	free(k.boot.img);
	free(k.boot.bios);
	free(k.boot.cmdline);
	run_config_free(&cfg);
	return ret;
}
