// SPDX-License-Identifier: GPL-2.0
/*
 * The device set: command-line options -> virtio devices on a PCI bus.
 * See devices.h for the options and the lifetime.
 */
#include "devices/devices.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio_devs.h"
#include "lib/log.h"
#include "lib/opt.h"
#include "vhost/vhost_dev.h"

enum {
	OPT_SERIAL = 0x1000,
	OPT_RWDISK,
	OPT_DISK,
	OPT_HOST_IP,
	OPT_NETMASK,
	OPT_MAC,
	OPT_TAP,
	OPT_RNG,
	OPT_EVDEV,
	OPT_CID,
	OPT_VHOST_USER,
};

#define DS_MAX_SERIAL	8
#define DS_MAX_UARTS	4	/* ttyS0..ttyS3 */
#define DS_MAX_DISKS	16
#define DS_MAX_EVDEV	8
#define DS_MAX_VHOST	8
#define DS_MAX_DEVS	32	/* one slot each */
#define BLK_SERIAL_MAX	20	/* VIRTIO_BLK_ID_BYTES */
#define BLK_BLOCK_MIN	512	/* block_size= */
#define BLK_BLOCK_MAX	65536
#define BLK_QUEUES_MAX	64	/* num_queues= */
#define DISK_KEYS	"PATH[,serial=ID][,direct][,block_size=BYTES][,num_queues=N]; crosvm's id= and o_direct= too"
#define NET_KEYS	"[,queue_pairs=N]; crosvm's vq_pairs= too"

const struct option device_set_long_options[] = {
	{ "serial",	required_argument, NULL, OPT_SERIAL },
	{ "rwdisk",	required_argument, NULL, OPT_RWDISK },
	{ "disk",	required_argument, NULL, OPT_DISK },
	{ "host_ip",	required_argument, NULL, OPT_HOST_IP },
	{ "netmask",	required_argument, NULL, OPT_NETMASK },
	{ "mac",	required_argument, NULL, OPT_MAC },
	{ "tap",	required_argument, NULL, OPT_TAP },
	{ "rng",	no_argument,	   NULL, OPT_RNG },
	{ "evdev",	required_argument, NULL, OPT_EVDEV },
	{ "cid",	required_argument, NULL, OPT_CID },
	{ "host-ip",	required_argument, NULL, OPT_HOST_IP },	/* crosvm's spelling */
	{ "vhost-user",	required_argument, NULL, OPT_VHOST_USER },
	{ NULL, 0, NULL, 0 },
};

const char *device_set_usage(void)
{
	return
"Devices (each virtio device takes one PCI slot):\n"
"  --serial hardware=virtio-console|serial,type=stdout|file|sink,num=N\n"
"           [,path=FILE][,console][,stdin]\n"
"                        a console: virtio-console (hvcN) or a 16550 UART\n"
"                        (ttySN, num 1-4); type=file needs path=; console\n"
"                        makes it the kernel console; stdin feeds it input\n"
"  --rwdisk PATH[,serial=ID][,direct][,block_size=BYTES][,num_queues=N]\n"
"                        virtio-blk on a raw image, writable; serial: up to\n"
"                        20 characters for the guest (crosvm's id= is the\n"
"                        same); direct: O_DIRECT (crosvm's o_direct=);\n"
"                        block_size: the logical block size the guest\n"
"                        sees, a power of two from 512 to 65536 [512];\n"
"                        num_queues: request queues, 1 to 64, each with\n"
"                        its own io_uring [run: one per vCPU; devices: 4]\n"
"  --disk PATH[,serial=ID][,direct][,block_size=BYTES][,num_queues=N]\n"
"                        the same, read-only\n"
"  --host-ip ADDR[,queue_pairs=N], --host_ip ADDR[,queue_pairs=N]\n"
"                        virtio-net on a new tap with this IPv4 address;\n"
"                        queue_pairs: receive/transmit queue pairs, 1 to\n"
"                        16, each on its own queue of a multi-queue tap\n"
"                        (crosvm's vq_pairs= is the same) [1]\n"
"  --netmask MASK        ... and netmask (default 255.255.255.0)\n"
"  --mac XX:XX:XX:XX:XX:XX  the guest's MAC address\n"
"  --tap NAME[,queue_pairs=N]\n"
"                        virtio-net on the existing tap NAME (created with\n"
"                        'ip tuntap add NAME mode tap multi_queue' for\n"
"                        more than one pair)\n"
"  --rng                 virtio-rng\n"
"  --evdev /dev/input/eventN\n"
"                        virtio-input passing that host device through\n"
"  --cid N[,uds=PATH]    virtio-vsock with guest CID N (>= 3); host side on\n"
"                        Unix sockets PATH and PATH_<port> (default\n"
"                        DIR/vbridge-vsock-N.sock, DIR: $VBRIDGE_STATE_DIR,\n"
"                        else /run/vbridge as root, else\n"
"                        $XDG_RUNTIME_DIR/vbridge)\n"
"  --vhost-user [type=]TYPE,socket=PATH[,tag=TAG][,num_queues=N][,reconnect=S]\n"
"                        a device whose queues an external vhost-user\n"
"                        back-end serves, listening on PATH: TYPE block\n"
"                        (qemu-storage-daemon --export\n"
"                        type=vhost-user-blk) or fs (virtiofsd; tag= names\n"
"                        the file system for mount -t virtiofs);\n"
"                        num_queues: request queues, at most the\n"
"                        back-end's [all of them]; reconnect: seconds a\n"
"                        back-end that offers INFLIGHT_SHMFD has to come\n"
"                        back after it went away, 0 to fail the device at\n"
"                        once [10]\n";
}

struct serial_opt {
	struct serial_spec spec;	/* path owned */
	bool virtio;			/* hardware=virtio-console */
};

struct vhost_opt {
	enum vhost_dev_type type;
	char *socket;
	char *tag;
	unsigned int num_queues;
	unsigned int reconnect;		/* seconds */
};

struct disk_spec {
	char *path;
	char *serial;
	bool readonly;
	bool direct;
	unsigned int block_size;	/* 0: the default */
	unsigned int num_queues;	/* 0: device_set.default_queues */
};

/**
 * struct device_set - what the options asked for, then the devices
 * @serial: --serial options, in order given
 * @nr_serial: entries in @serial
 * @uarts: copies of the hardware=serial ones, for device_set_uarts()
 * @nr_uarts: entries in @uarts
 * @disks: --disk / --rwdisk specs
 * @nr_disks: entries in @disks
 * @tap: --tap name (owned)
 * @has_ip: --host_ip given (@host_ip, network order)
 * @host_ip: tap address
 * @has_mask: --netmask given (@netmask, network order)
 * @netmask: tap netmask
 * @has_mac: --mac given
 * @mac: the guest's MAC
 * @net_pairs: queue_pairs= of --tap or --host_ip, 0 if not given
 * @rng: --rng given
 * @evdev: --evdev paths (owned)
 * @nr_evdev: entries in @evdev
 * @has_cid: --cid given
 * @cid: guest CID
 * @uds: vsock socket path (owned), NULL for the default
 * @vhost: --vhost-user devices (strings owned)
 * @nr_vhost: entries in @vhost
 * @console: device_set_console()'s answer
 * @devs: realized devices; an entry is cleared when the bus frees it
 * @nr_devs: entries in @devs
 * @paused: device_set_pause() is in effect
 * @default_queues: a disk's queues without num_queues=
 *
 * Used from one thread (the host's main thread).
 */
struct device_set {
	struct serial_opt serial[DS_MAX_SERIAL];
	unsigned int nr_serial;
	struct serial_spec uarts[DS_MAX_SERIAL];
	unsigned int nr_uarts;
	struct disk_spec disks[DS_MAX_DISKS];
	unsigned int nr_disks;
	char *tap;
	bool has_ip;
	uint32_t host_ip;
	bool has_mask;
	uint32_t netmask;
	bool has_mac;
	uint8_t mac[6];
	unsigned int net_pairs;
	bool rng;
	char *evdev[DS_MAX_EVDEV];
	unsigned int nr_evdev;
	bool has_cid;
	uint64_t cid;
	char *uds;
	struct vhost_opt vhost[DS_MAX_VHOST];
	unsigned int nr_vhost;
	char console[16];
	struct virtio_dev *devs[DS_MAX_DEVS];
	unsigned int nr_devs;
	bool paused;
	unsigned int default_queues;
};

struct device_set *device_set_new(void)
{
	struct device_set *s = calloc(1, sizeof(struct device_set));

	if (s)
		s->default_queues = DEVICE_SET_DEFAULT_QUEUES;
	return s;
}

void device_set_default_queues(struct device_set *s, unsigned int n)
{
	s->default_queues = n < 1 ? 1 : n > BLK_QUEUES_MAX ? BLK_QUEUES_MAX : n;
}

void device_set_free(struct device_set *s)
{
	unsigned int i;

	if (!s)
		return;
	for (i = 0; i < s->nr_devs; i++)
		if (s->devs[i])
			s->devs[i]->owner_slot = NULL;	/* the bus owns it */
	for (i = 0; i < s->nr_serial; i++)
		free((char *)s->serial[i].spec.path);
	for (i = 0; i < s->nr_disks; i++) {
		free(s->disks[i].path);
		free(s->disks[i].serial);
	}
	for (i = 0; i < s->nr_evdev; i++)
		free(s->evdev[i]);
	for (i = 0; i < s->nr_vhost; i++) {
		free(s->vhost[i].socket);
		free(s->vhost[i].tag);
	}
	free(s->tap);
	free(s->uds);
	free(s);
}

/* --- parsing ------------------------------------------------------------- */

static int parse_serial(struct device_set *s, const char *arg)
{
	struct serial_spec sp = { .type = SERIAL_STDOUT };
	bool virtio = false;
	const char *key, *val, *path = NULL;
	uint64_t num = 1;
	struct opt_kv it;
	unsigned int i;
	int ret;

	if (s->nr_serial >= DS_MAX_SERIAL) {
		log_error("--serial: at most %d serial devices", DS_MAX_SERIAL);
		return -1;
	}
	if (opt_kv_init(&it, arg))
		return -1;
	while ((ret = opt_kv_next(&it, &key, &val)) > 0) {
		if (!strcmp(key, "hardware") && val) {
			if (!strcmp(val, "virtio-console")) {
				virtio = true;
			} else if (!strcmp(val, "serial")) {
				virtio = false;
			} else {
				log_error("--serial: unknown hardware '%s' (use virtio-console or serial)",
					  val);
				goto bad;
			}
		} else if (!strcmp(key, "type") && val) {
			if (!strcmp(val, "stdout")) {
				sp.type = SERIAL_STDOUT;
			} else if (!strcmp(val, "file")) {
				sp.type = SERIAL_FILE;
			} else if (!strcmp(val, "sink")) {
				sp.type = SERIAL_SINK;
			} else {
				log_error("--serial: unknown type '%s' (use stdout, file or sink)",
					  val);
				goto bad;
			}
		} else if (!strcmp(key, "num") && val) {
			if (opt_parse_u64(val, DS_MAX_SERIAL, &num) || !num) {
				log_error("--serial: num=%s is not a number from 1 to %d",
					  val, DS_MAX_SERIAL);
				goto bad;
			}
		} else if (!strcmp(key, "path") && val && *val) {
			path = val;
		} else if (!strcmp(key, "console") || !strcmp(key, "stdin")) {
			bool b;

			if (opt_parse_bool(val, &b)) {
				log_error("--serial: %s=%s is not a boolean", key, val);
				goto bad;
			}
			if (!strcmp(key, "console"))
				sp.console = b;
			else
				sp.stdin = b;
		} else if (val && !*val) {
			log_error("--serial: %s= needs a value", key);
			goto bad;
		} else {
			log_error("--serial: unknown key '%s' (keys: hardware, type, num, path, console, stdin)",
				  key);
			goto bad;
		}
	}
	if (ret < 0) {
		log_error("--serial: malformed list '%s' (key=value,key=value)", arg);
		goto bad;
	}
	if (!virtio && num > DS_MAX_UARTS) {
		log_error("--serial: hardware=serial supports num=1 to %d (ttyS0-ttyS%d)",
			  DS_MAX_UARTS, DS_MAX_UARTS - 1);
		goto bad;
	}
	if (sp.type == SERIAL_FILE && !path) {
		log_error("--serial: type=file needs path=FILE");
		goto bad;
	}
	if (sp.type != SERIAL_FILE && path) {
		log_error("--serial: path= is only valid with type=file");
		goto bad;
	}
	sp.num = num;
	for (i = 0; i < s->nr_serial; i++) {
		const struct serial_spec *o = &s->serial[i].spec;

		if (o->num == sp.num && s->serial[i].virtio == virtio) {
			log_error("--serial: %s num=%u given twice",
				  virtio ? "virtio-console" : "serial",
				  (unsigned int)num);
			goto bad;
		}
		if (o->console && sp.console) {
			log_error("--serial: only one serial device can be the console");
			goto bad;
		}
		if (o->stdin && sp.stdin) {
			log_error("--serial: only one serial device can read stdin");
			goto bad;
		}
	}
	if (path) {
		sp.path = strdup(path);
		if (!sp.path)
			goto bad;
	}
	opt_kv_free(&it);
	s->serial[s->nr_serial].spec = sp;
	s->serial[s->nr_serial].virtio = virtio;
	s->nr_serial++;
	if (!virtio) {
		s->uarts[s->nr_uarts] = sp;
		s->nr_uarts++;
	}
	return 1;
bad:
	opt_kv_free(&it);
	return -1;
}

static int parse_disk(struct device_set *s, const char *arg, bool readonly)
{
	const char *opt = readonly ? "--disk" : "--rwdisk";
	struct disk_spec d = { .readonly = readonly };
	const char *key, *val;
	struct opt_kv it;
	bool first = true;
	int ret;

	if (s->nr_disks >= DS_MAX_DISKS) {
		log_error("%s: at most %d disks", opt, DS_MAX_DISKS);
		return -1;
	}
	if (opt_kv_init(&it, arg))
		return -1;
	while ((ret = opt_kv_next(&it, &key, &val)) > 0) {
		if (first) {
			first = false;
			if (val) {
				log_error("%s: the first item must be the image path, not '%s=%s'",
					  opt, key, val);
				goto bad;
			}
			d.path = strdup(key);
			if (!d.path)
				goto bad;
			continue;
		}
		if ((!strcmp(key, "serial") || !strcmp(key, "id")) && val) {
			size_t i, n = strlen(val);

			if (!n || n > BLK_SERIAL_MAX) {
				log_error("%s: serial=%s must be 1 to %d characters",
					  opt, val, BLK_SERIAL_MAX);
				goto bad;
			}
			for (i = 0; i < n; i++) {
				if (!isprint((unsigned char)val[i])) {
					log_error("%s: serial= must be printable ASCII", opt);
					goto bad;
				}
			}
			free(d.serial);
			d.serial = strdup(val);
			if (!d.serial)
				goto bad;
		} else if (!strcmp(key, "direct") || !strcmp(key, "o_direct")) {
			if (opt_parse_bool(val, &d.direct)) {
				log_error("%s: %s=%s is not a boolean", opt, key, val);
				goto bad;
			}
		} else if (!strcmp(key, "block_size") && val) {
			uint64_t bs;

			if (opt_parse_u64(val, BLK_BLOCK_MAX, &bs) ||
			    bs < BLK_BLOCK_MIN || (bs & (bs - 1))) {
				log_error("%s: block_size=%s is not a power of two from %d to %d",
					  opt, val, BLK_BLOCK_MIN, BLK_BLOCK_MAX);
				goto bad;
			}
			d.block_size = bs;
		} else if (!strcmp(key, "num_queues") && val) {
			uint64_t nq;

			if (opt_parse_u64(val, BLK_QUEUES_MAX, &nq) || !nq) {
				log_error("%s: num_queues=%s is not a number from 1 to %d",
					  opt, val, BLK_QUEUES_MAX);
				goto bad;
			}
			d.num_queues = nq;
		} else {
			log_error("%s: unknown key '%s' (" DISK_KEYS ")", opt, key);
			goto bad;
		}
	}
	if (ret < 0 || !d.path) {
		log_error("%s: malformed value '%s' (" DISK_KEYS ")", opt, arg);
		goto bad;
	}
	opt_kv_free(&it);
	s->disks[s->nr_disks++] = d;
	return 1;
bad:
	free(d.path);
	free(d.serial);
	opt_kv_free(&it);
	return -1;
}

static int parse_mac(const char *arg, uint8_t mac[6])
{
	unsigned int b[6], i;
	char tail;

	if (strlen(arg) != 17 ||
	    sscanf(arg, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)arg[3 * i]) ||
		    !isxdigit((unsigned char)arg[3 * i + 1]))
			return -EINVAL;
		mac[i] = b[i];
	}
	return 0;
}

static int parse_ipv4(const char *opt, const char *arg, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, arg, &a) != 1) {
		log_error("%s: '%s' is not an IPv4 address (a.b.c.d)", opt, arg);
		return -1;
	}
	*out = a.s_addr;
	return 0;
}

static int parse_cid(struct device_set *s, const char *arg)
{
	const char *key, *val;
	struct opt_kv it;
	bool first = true;
	int ret;

	if (s->has_cid) {
		log_error("--cid: given twice (one virtio-vsock device per guest)");
		return -1;
	}
	if (opt_kv_init(&it, arg))
		return -1;
	while ((ret = opt_kv_next(&it, &key, &val)) > 0) {
		if (first) {
			first = false;
			if (val || opt_parse_u64(key, 0xfffffffeu, &s->cid) ||
			    s->cid < 3) {
				log_error("--cid: '%s' is not a guest CID (3 to 4294967294)",
					  val ? arg : key);
				goto bad;
			}
			continue;
		}
		if (!strcmp(key, "uds") && (!val || !*val)) {
			log_error("--cid: uds= needs a socket path");
			goto bad;
		} else if (!strcmp(key, "uds")) {
			if (strlen(val) + 12 > 108) {
				log_error("--cid: uds=%s is too long for a Unix socket path",
					  val);
				goto bad;
			}
			free(s->uds);
			s->uds = strdup(val);
			if (!s->uds)
				goto bad;
		} else {
			log_error("--cid: unknown key '%s' (N[,uds=PATH])", key);
			goto bad;
		}
	}
	if (ret < 0 || first) {
		log_error("--cid: malformed value '%s' (N[,uds=PATH])", arg);
		goto bad;
	}
	opt_kv_free(&it);
	s->has_cid = true;
	return 1;
bad:
	free(s->uds);
	s->uds = NULL;
	opt_kv_free(&it);
	return -1;
}

/*
 * The value and keys of --tap NAME[,...] or --host_ip ADDR[,...] (what:
 * NAME or ADDR, for the messages): *value
 * gets a copy of the first item (to free), the keys go into s.  Returns 0
 * or -1 (said why).
 */
static int parse_net_arg(struct device_set *s, const char *opt,
			 const char *what, const char *arg, char **value)
{
	const char *key, *val;
	struct opt_kv it;
	int ret;

	*value = NULL;
	if (opt_kv_init(&it, arg))
		return -1;
	while ((ret = opt_kv_next(&it, &key, &val)) > 0) {
		uint64_t np;

		if (!*value) {
			if (val)
				break;	/* malformed: the value comes first */
			*value = strdup(key);
			if (!*value)
				goto bad;
			continue;
		}
		if (strcmp(key, "queue_pairs") && strcmp(key, "vq_pairs")) {
			log_error("%s: unknown key '%s' (%s" NET_KEYS ")", opt, key,
				  what);
			goto bad;
		}
		if (!val || opt_parse_u64(val, NET_PAIRS_MAX, &np) || !np) {
			log_error("%s: %s=%s is not a number from 1 to %d", opt, key,
				  val ? val : "", NET_PAIRS_MAX);
			goto bad;
		}
		if (s->net_pairs && s->net_pairs != np) {
			log_error("%s: %s=%s, but %u queue pairs were asked for before",
				  opt, key, val, s->net_pairs);
			goto bad;
		}
		s->net_pairs = np;
	}
	if (ret < 0 || !*value) {
		log_error("%s: malformed value '%s' (%s" NET_KEYS ")", opt, arg,
			  what);
		goto bad;
	}
	opt_kv_free(&it);
	return 0;
bad:
	free(*value);
	*value = NULL;
	opt_kv_free(&it);
	return -1;
}

#define VHOST_KEYS "[type=]TYPE,socket=PATH[,tag=TAG][,num_queues=N][,reconnect=S]"

/* One key of --vhost-user; 0, or -1 with the message printed. */
static int vhost_key(struct vhost_opt *v, const char *key, const char *val,
		     bool *has_type)
{
	uint64_t n;

	if (!strcmp(key, "type")) {
		if (!val || vhost_dev_type_parse(val, &v->type)) {
			log_error("--vhost-user: type=%s is not a type this build serves (block, fs)",
				  val ? val : "");
			return -1;
		}
		*has_type = true;
	} else if (!strcmp(key, "socket")) {
		if (!val || !*val || strlen(val) >= 108) {
			log_error("--vhost-user: socket= needs the back-end's Unix socket path (under 108 bytes)");
			return -1;
		}
		free(v->socket);
		v->socket = strdup(val);
		if (!v->socket)
			return -1;
	} else if (!strcmp(key, "tag")) {
		if (!val || !*val || strlen(val) > VHOST_DEV_TAG_MAX) {
			log_error("--vhost-user: tag= needs 1 to %d bytes", VHOST_DEV_TAG_MAX);
			return -1;
		}
		free(v->tag);
		v->tag = strdup(val);
		if (!v->tag)
			return -1;
	} else if (!strcmp(key, "num_queues") || !strcmp(key, "num-queues")) {
		if (!val || opt_parse_u64(val, VHOST_DEV_MAX_QUEUES, &n) || !n) {
			log_error("--vhost-user: num_queues=%s is not 1 to %d",
				  val ? val : "", VHOST_DEV_MAX_QUEUES);
			return -1;
		}
		v->num_queues = n;
	} else if (!strcmp(key, "reconnect")) {
		if (!val || opt_parse_u64(val, VHOST_DEV_RECONNECT_MAX, &n)) {
			log_error("--vhost-user: reconnect=%s is not 0 to %d seconds",
				  val ? val : "", VHOST_DEV_RECONNECT_MAX);
			return -1;
		}
		v->reconnect = n;
	} else {
		log_error("--vhost-user: unknown key '%s' (" VHOST_KEYS ")", key);
		return -1;
	}
	return 0;
}

static int parse_vhost_user(struct device_set *s, const char *arg)
{
	struct vhost_opt v = {
		.type = VHOST_DEV_BLOCK, .reconnect = VHOST_DEV_RECONNECT_DEFAULT,
	};
	const char *key, *val;
	bool has_type = false, first = true;
	struct opt_kv it;
	int ret;

	if (s->nr_vhost >= DS_MAX_VHOST) {
		log_error("--vhost-user: at most %d vhost-user devices", DS_MAX_VHOST);
		return -1;
	}
	if (opt_kv_init(&it, arg))
		return -1;
	while ((ret = opt_kv_next(&it, &key, &val)) > 0) {
		/* crosvm's form: the type first, without "type=". */
		if (first && !val) {
			val = key;
			key = "type";
		}
		first = false;
		if (vhost_key(&v, key, val, &has_type))
			goto bad;
	}
	if (ret < 0 || !has_type || !v.socket) {
		log_error("--vhost-user: '%s' needs a type and a socket (" VHOST_KEYS ")",
			  arg);
		goto bad;
	}
	if (v.type == VHOST_DEV_FS && !v.tag) {
		log_error("--vhost-user: an fs device needs tag=TAG, the name the guest mounts");
		goto bad;
	}
	if (v.type != VHOST_DEV_FS && v.tag) {
		log_error("--vhost-user: tag= is for fs devices only");
		goto bad;
	}
	opt_kv_free(&it);
	s->vhost[s->nr_vhost++] = v;
	return 1;
bad:
	free(v.socket);
	free(v.tag);
	opt_kv_free(&it);
	return -1;
}

int device_set_parse(struct device_set *s, int opt, const char *arg)
{
	char *val;
	uint32_t m;
	int ret;

	switch (opt) {
	case OPT_SERIAL:
		return parse_serial(s, arg);
	case OPT_RWDISK:
	case OPT_DISK:
		return parse_disk(s, arg, opt == OPT_DISK);
	case OPT_HOST_IP:
		if (s->has_ip) {
			log_error("--host_ip: given twice");
			return -1;
		}
		if (parse_net_arg(s, "--host_ip", "ADDR", arg, &val))
			return -1;
		ret = parse_ipv4("--host_ip", val, &s->host_ip);
		free(val);
		if (ret)
			return -1;
		s->has_ip = true;
		return 1;
	case OPT_NETMASK:
		if (s->has_mask) {
			log_error("--netmask: given twice");
			return -1;
		}
		if (parse_ipv4("--netmask", arg, &s->netmask))
			return -1;
		m = ntohl(s->netmask);
		if (m & (~m >> 1)) {
			log_error("--netmask: '%s' is not a contiguous netmask", arg);
			return -1;
		}
		s->has_mask = true;
		return 1;
	case OPT_MAC:
		if (s->has_mac) {
			log_error("--mac: given twice");
			return -1;
		}
		if (parse_mac(arg, s->mac)) {
			log_error("--mac: '%s' is not a MAC address (xx:xx:xx:xx:xx:xx)",
				  arg);
			return -1;
		}
		if ((s->mac[0] & 1) ||
		    !(s->mac[0] | s->mac[1] | s->mac[2] | s->mac[3] | s->mac[4] |
		      s->mac[5])) {
			log_error("--mac: %s is a multicast or zero address; the guest needs a unicast one",
				  arg);
			return -1;
		}
		s->has_mac = true;
		return 1;
	case OPT_TAP:
		if (s->tap) {
			log_error("--tap: given twice");
			return -1;
		}
		if (parse_net_arg(s, "--tap", "NAME", arg, &val))
			return -1;
		if (!*val || strlen(val) >= IFNAMSIZ || strchr(val, '/') ||
		    strchr(val, ' ') || strchr(val, ':')) {
			log_error("--tap: '%s' is not an interface name (1 to %d characters, no '/', ':', ',' or spaces)",
				  val, IFNAMSIZ - 1);
			free(val);
			return -1;
		}
		s->tap = val;
		return 1;
	case OPT_RNG:
		s->rng = true;
		return 1;
	case OPT_EVDEV:
		if (s->nr_evdev >= DS_MAX_EVDEV) {
			log_error("--evdev: at most %d input devices", DS_MAX_EVDEV);
			return -1;
		}
		if (!*arg) {
			log_error("--evdev: needs a path (/dev/input/eventN)");
			return -1;
		}
		s->evdev[s->nr_evdev] = strdup(arg);
		if (!s->evdev[s->nr_evdev])
			return -1;
		s->nr_evdev++;
		return 1;
	case OPT_CID:
		return parse_cid(s, arg);
	case OPT_VHOST_USER:
		return parse_vhost_user(s, arg);
	default:
		return 0;
	}
}

unsigned int device_set_uarts(const struct device_set *s,
			      const struct serial_spec **specs)
{
	*specs = s->uarts;
	return s->nr_uarts;
}

/* virtio-console specs sorted by num: hvc0 is the lowest num. */
static unsigned int vcon_order(const struct device_set *s,
			       const struct serial_spec **out)
{
	unsigned int n = 0, i, j;

	for (i = 0; i < s->nr_serial; i++)
		if (s->serial[i].virtio)
			out[n++] = &s->serial[i].spec;
	for (i = 1; i < n; i++)
		for (j = i; j && out[j - 1]->num > out[j]->num; j--) {
			const struct serial_spec *t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

const char *device_set_console(const struct device_set *s)
{
	const struct serial_spec *v[DS_MAX_SERIAL];
	struct device_set *m = (struct device_set *)s;
	unsigned int i, n;

	for (i = 0; i < s->nr_uarts; i++)
		if (s->uarts[i].console) {
			snprintf(m->console, sizeof(m->console), "ttyS%u",
				 s->uarts[i].num - 1);
			return s->console;
		}
	n = vcon_order(s, v);
	for (i = 0; i < n; i++)
		if (v[i]->console) {
			snprintf(m->console, sizeof(m->console), "hvc%u", i);
			return s->console;
		}
	return NULL;
}

/* --- realizing ------------------------------------------------------------ */

static struct virtio_dev *make_console(const struct serial_spec *sp)
{
	struct console_cfg c = { .in_fd = -1, .out_fd = -1, .close_fds = true };
	struct virtio_dev *vd;

	if (sp->stdin) {
		c.in_fd = dup(STDIN_FILENO);
		if (c.in_fd < 0) {
			log_errno("virtio-console: cannot use standard input");
			return NULL;
		}
	}
	if (sp->type == SERIAL_STDOUT) {
		c.out_fd = dup(STDOUT_FILENO);
	} else if (sp->type == SERIAL_FILE) {
		c.out_fd = open(sp->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				0644);
		if (c.out_fd < 0)
			log_errno("virtio-console: cannot open output file '%s' (check --serial path=)",
				  sp->path);
	}
	if (sp->type != SERIAL_SINK && c.out_fd < 0) {
		if (sp->type == SERIAL_STDOUT)
			log_errno("virtio-console: cannot use standard output");
		if (c.in_fd >= 0)
			close(c.in_fd);
		return NULL;
	}
	vd = console_new(&c);
	if (!vd) {
		if (c.in_fd >= 0)
			close(c.in_fd);
		if (c.out_fd >= 0)
			close(c.out_fd);
	}
	return vd;
}

static int add_dev(struct virtio_dev **devs, unsigned int *n,
		   struct virtio_dev *vd)
{
	if (!vd)
		return -1;
	if (*n >= DS_MAX_DEVS) {
		log_error("too many devices: at most %d PCI slots", DS_MAX_DEVS);
		pci_func_free(&vd->func);
		return -1;
	}
	devs[(*n)++] = vd;
	return 0;
}

int vsock_default_dir(char *buf, size_t len)
{
	const char *state = getenv("VBRIDGE_STATE_DIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (state && *state)
		n = snprintf(buf, len, "%s", state);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/vbridge");
	else if (xdg && *xdg)
		n = snprintf(buf, len, "%s/vbridge", xdg);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int vsock_default_uds(char *buf, size_t len, uint64_t cid)
{
	char dir[108];
	int ret = vsock_default_dir(dir, sizeof(dir)), n;

	if (ret == -ENOENT) {
		log_error("--cid %llu: no default socket directory: neither VBRIDGE_STATE_DIR nor XDG_RUNTIME_DIR is set and this is not root; give uds=PATH",
			  (unsigned long long)cid);
		return ret;
	}
	if (!ret) {
		n = snprintf(buf, len, "%s/vbridge-vsock-%llu.sock", dir,
			     (unsigned long long)cid);
		if (n < 0 || (size_t)n >= len)
			ret = -ENAMETOOLONG;
	}
	if (ret) {
		log_error("--cid %llu: the default socket directory %s is too long for a Unix socket path; give uds=PATH",
			  (unsigned long long)cid, dir);
		return ret;
	}
	/* The unit's RuntimeDirectory= exists already; make ours if not. */
	if (mkdir(dir, 0755) && errno != EEXIST) {
		ret = -errno;
		log_error("--cid %llu: cannot create the socket directory %s: %s; give uds=PATH",
			  (unsigned long long)cid, dir, strerror(errno));
		return ret;
	}
	return 0;
}

int device_set_realize(struct device_set *s, struct pci_bus *bus,
		       unsigned int first_devfn)
{
	const struct serial_spec *vcon[DS_MAX_SERIAL];
	struct virtio_dev *devs[DS_MAX_DEVS];
	unsigned int n = 0, i, nv;
	char uds[128];

	if (s->nr_devs) {
		log_error("the device set is already realized");
		return -1;
	}
	nv = vcon_order(s, vcon);
	for (i = 0; i < nv; i++)
		if (add_dev(devs, &n, make_console(vcon[i])))
			goto fail;
	for (i = 0; i < s->nr_disks; i++) {
		struct blk_cfg c = {
			.path = s->disks[i].path,
			.readonly = s->disks[i].readonly,
			.direct = s->disks[i].direct,
			.serial = s->disks[i].serial,
			.block_size = s->disks[i].block_size,
			.num_queues = s->disks[i].num_queues ?
				      s->disks[i].num_queues : s->default_queues,
		};

		if (add_dev(devs, &n, blk_new(&c)))
			goto fail;
	}
	if (s->has_mask && !s->has_ip) {
		log_error("--netmask needs --host_ip");
		goto fail;
	}
	if (s->has_ip || s->has_mac || s->tap) {
		struct net_cfg c = {
			.tap = s->tap,
			.has_ip = s->has_ip,
			.host_ip = s->host_ip,
			.netmask = s->has_mask ? s->netmask : htonl(0xffffff00u),
			.has_mac = s->has_mac,
			.fd = -1,
			.queue_pairs = s->net_pairs,
		};

		memcpy(c.mac, s->mac, sizeof(c.mac));
		if (add_dev(devs, &n, net_new(&c)))
			goto fail;
	}
	if (s->rng && add_dev(devs, &n, rng_new()))
		goto fail;
	for (i = 0; i < s->nr_evdev; i++)
		if (add_dev(devs, &n, input_new_evdev(s->evdev[i])))
			goto fail;
	if (s->has_cid) {
		if (s->uds)
			snprintf(uds, sizeof(uds), "%s", s->uds);
		else if (vsock_default_uds(uds, sizeof(uds), s->cid))
			goto fail;
		if (add_dev(devs, &n, vsock_new(s->cid, uds)))
			goto fail;
	}
	for (i = 0; i < s->nr_vhost; i++) {
		struct vhost_dev_spec spec = {
			.type = s->vhost[i].type,
			.socket = s->vhost[i].socket,
			.tag = s->vhost[i].tag,
			.num_queues = s->vhost[i].num_queues,
			.reconnect = s->vhost[i].reconnect,
		};

		if (add_dev(devs, &n, vhost_dev_new(&spec)))
			goto fail;
	}

	/* A host that takes MSIs gets MSI-X functions (INTx stays as fallback). */
	for (i = 0; i < n && pci_bus_has_msi(bus); i++) {
		int ret = virtio_dev_add_msix(devs[i]);

		if (ret) {
			log_error("%s: cannot add MSI-X: %s", devs[i]->info.name,
				  strerror(-ret));
			goto fail;
		}
	}

	/* All devices exist: check the slots, then put them on the bus. */
	for (i = 0; i < n; i++) {
		unsigned int devfn = first_devfn + 8 * i;

		if (devfn > 0xff) {
			log_error("no PCI slot left for %s: %u devices do not fit from slot %u to slot 31",
				  devs[i]->info.name, n, PCI_SLOT(first_devfn));
			goto fail;
		}
		if (pci_bus_func(bus, devfn)) {
			log_error("PCI slot %02x.%x for %s is already taken",
				  PCI_SLOT(devfn), PCI_FUNC(devfn), devs[i]->info.name);
			goto fail;
		}
	}
	for (i = 0; i < n; i++) {
		int ret = pci_bus_add(bus, first_devfn + 8 * i, &devs[i]->func);

		if (ret) {
			/* Cannot happen after the check above; be safe. */
			log_error("%s: cannot add to the PCI bus: %s",
				  devs[i]->info.name, strerror(-ret));
			while (i < n)
				pci_func_free(&devs[i++]->func);
			return -1;
		}
		s->devs[i] = devs[i];
		devs[i]->owner_slot = &s->devs[i];
		s->nr_devs = i + 1;
	}
	return 0;
fail:
	for (i = 0; i < n; i++)
		pci_func_free(&devs[i]->func);
	return -1;
}

int device_set_start(struct device_set *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_devs; i++) {
		int ret;

		if (!s->devs[i])
			continue;
		ret = virtio_dev_start(s->devs[i]);
		if (ret) {
			log_error("%s: cannot start its I/O thread: %s",
				  s->devs[i]->info.name, strerror(-ret));
			while (i--)
				if (s->devs[i])
					virtio_dev_stop(s->devs[i]);
			return -1;
		}
	}
	return 0;
}

void device_set_stop(struct device_set *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_devs; i++)
		if (s->devs[i])
			virtio_dev_stop(s->devs[i]);
}

struct virtio_dev *const *device_set_devices(const struct device_set *s,
					     unsigned int *n)
{
	*n = s->nr_devs;
	return s->devs;
}

void device_set_pause(struct device_set *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_devs; i++)
		if (s->devs[i])
			virtio_dev_pause(s->devs[i]);
	s->paused = true;
}

void device_set_reset(struct device_set *s)
{
	unsigned int i;

	for (i = 0; i < s->nr_devs; i++)
		if (s->devs[i])
			virtio_dev_reset(s->devs[i]);
	s->paused = false;
}
