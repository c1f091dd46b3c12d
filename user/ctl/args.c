// SPDX-License-Identifier: GPL-2.0
/* Command-line arguments of vbridge ctl: device names and overrides. */
#include "ctl/ctl.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "lib/opt.h"

static int args_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int args_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int args_name(const char *s, size_t n, struct ctl_devref *r, const char *whole,
		     char *err, size_t errlen)
{
	if (n == 0 || n >= VBRIDGE_NAME_MAX || memchr(s, '/', n))
		return args_fail(err, errlen,
				 "'%s' is not a device: expected vmN/NAME, /dev/virtio/vmN/NAME or NAME",
				 whole);
	memcpy(r->name, s, n);
	r->name[n] = '\0';
	return 0;
}

int ctl_parse_devref(const char *s, struct ctl_devref *r, char *err, size_t errlen)
{
	static const char dev_prefix[] = "/dev/virtio/";
	const char *p = s, *slash;
	uint64_t vmid;
	char num[16];
	size_t n;

	memset(r, 0, sizeof(*r));
	if (!strncmp(p, dev_prefix, sizeof(dev_prefix) - 1))
		p += sizeof(dev_prefix) - 1;
	slash = strchr(p, '/');
	if (!slash) {
		if (p != s)
			return args_fail(err, errlen, "'%s' is not a device node", s);
		r->any_vm = true;
		return args_name(p, strlen(p), r, s, err, errlen);
	}
	if (strncmp(p, "vm", 2))
		return args_fail(err, errlen, "'%s': expected vmN/NAME", s);
	n = slash - (p + 2);
	if (n == 0 || n >= sizeof(num))
		return args_fail(err, errlen, "'%s': expected vmN/NAME", s);
	memcpy(num, p + 2, n);
	num[n] = '\0';
	if (num[0] < '0' || num[0] > '9' || opt_parse_u64(num, VBRIDGE_VMID_MAX, &vmid))
		return args_fail(err, errlen, "'%s': vm number '%s' is not 0..%d", s, num,
				 VBRIDGE_VMID_MAX);
	r->vmid = vmid;
	return args_name(slash + 1, strlen(slash + 1), r, s, err, errlen);
}

int ctl_parse_vmref(const char *s, uint32_t *vmid, char *err, size_t errlen)
{
	static const char dev_prefix[] = "/dev/virtio/";
	const char *p = s;
	uint64_t v;

	if (!strncmp(p, dev_prefix, sizeof(dev_prefix) - 1))
		p += sizeof(dev_prefix) - 1;
	if (strncmp(p, "vm", 2) || p[2] < '0' || p[2] > '9' ||
	    opt_parse_u64(p + 2, VBRIDGE_VMID_MAX, &v))
		return args_fail(err, errlen, "'%s' is not a VM: expected vmN with N 0..%d", s,
				 VBRIDGE_VMID_MAX);
	*vmid = v;
	return 0;
}

/* "vmm_uid" or "vmm-uid" (the property's spelling) for key "vmm_" + what. */
static bool args_vmm_key(const char *a, size_t klen, const char *what)
{
	return klen == 7 && !strncmp(a, "vmm", 3) && (a[3] == '_' || a[3] == '-') &&
	       !strncmp(a + 4, what, 3);
}

/* An id, or "none": VBRIDGE_ID_NONE. */
static int args_id(const char *v, uint32_t *id)
{
	uint64_t u64;

	if (!strcmp(v, "none")) {
		*id = VBRIDGE_ID_NONE;
		return 0;
	}
	if (v[0] < '0' || v[0] > '9' || opt_parse_u64(v, VBRIDGE_ID_NONE - 1, &u64))
		return -EINVAL;
	*id = u64;
	return 0;
}

int ctl_parse_set(int argc, char **argv, struct ctl_override *o, char *err, size_t errlen)
{
	int i;

	memset(o, 0, sizeof(*o));
	if (argc < 1)
		return args_fail(err, errlen,
				 "nothing to set: give key=value (retry_timeout_ms, vmstop_timeout, vmstop_autoack, inflight_timeout_ms, vmm_uid, vmm_gid) or clear");
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		const char *v = eq ? eq + 1 : NULL;
		size_t klen = eq ? (size_t)(eq - a) : strlen(a);
		int64_t s64;
		uint64_t u64;
		bool b;

		if (args_vmm_key(a, klen, "uid") && v) {
			if (args_id(v, &o->vmm_uid))
				return args_fail(err, errlen,
						 "'%s': vmm_uid is a uid (0..4294967294) or none", a);
			o->vm_set |= CTL_VM_UID;
		} else if (args_vmm_key(a, klen, "gid") && v) {
			if (args_id(v, &o->vmm_gid))
				return args_fail(err, errlen,
						 "'%s': vmm_gid is a gid (0..4294967294) or none", a);
			o->vm_set |= CTL_VM_GID;
		} else if (klen == 5 && !strncmp(a, "clear", 5) && !v) {
			o->clear = true;
		} else if (klen == 16 && !strncmp(a, "retry_timeout_ms", 16) && v) {
			if (opt_parse_s64(v, INT32_MIN, INT32_MAX, &s64))
				return args_fail(err, errlen,
						 "'%s': retry_timeout_ms is milliseconds (<0 wait, 0 fail at once)",
						 a);
			o->retry_timeout_ms = s64;
			o->set |= CTL_OVR_RETRY;
		} else if (klen == 14 && !strncmp(a, "vmstop_timeout", 14) && v) {
			if (opt_parse_u64(v, UINT32_MAX, &u64))
				return args_fail(err, errlen,
						 "'%s': vmstop_timeout is a number of seconds", a);
			o->vmstop_timeout = u64;
			o->set |= CTL_OVR_TIMEOUT;
		} else if (klen == 14 && !strncmp(a, "vmstop_autoack", 14) && v) {
			if (opt_parse_bool(v, &b))
				return args_fail(err, errlen,
						 "'%s': vmstop_autoack is yes or no", a);
			o->vmstop_autoack = b;
			o->set |= CTL_OVR_AUTOACK;
		} else if (klen == 19 && !strncmp(a, "inflight_timeout_ms", 19) && v) {
			if (opt_parse_u64(v, 3600000, &u64))
				return args_fail(err, errlen,
						 "'%s': inflight_timeout_ms is milliseconds, 0..3600000 (0: no limit)",
						 a);
			o->inflight_timeout_ms = u64;
			o->set |= CTL_OVR_INFLIGHT;
		} else {
			return args_fail(err, errlen,
					 "'%s': unknown setting (retry_timeout_ms=, vmstop_timeout=, vmstop_autoack=, inflight_timeout_ms=, clear, vmm_uid=, vmm_gid=)",
					 a);
		}
	}
	if (o->vm_set && (o->set || o->clear))
		return args_fail(err, errlen,
				 "vmm_uid and vmm_gid belong to a VM (vmN), the other settings to a device: set them apart");
	return 0;
}
