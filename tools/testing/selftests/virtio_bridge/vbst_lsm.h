/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A BPF LSM program that refuses one LSM hook (every call of it returns
 * -EPERM) while it is attached: how a test makes a security module say no
 * without any policy tool in the test VM.  Debian's kernels build the BPF
 * LSM in and enable it (CONFIG_LSM lists "bpf").
 *
 * The hook's BTF id is looked up in /sys/kernel/btf/vmlinux by the name
 * of its BPF attachment point, bpf_lsm_<hook>; the program is two
 * instructions (r0 = -EPERM; exit), loaded with bpf(BPF_PROG_LOAD) and
 * attached with BPF_RAW_TRACEPOINT_OPEN, which returns the link: closing
 * it detaches the program.
 */
#ifndef VBST_LSM_H
#define VBST_LSM_H

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Why vbst_lsm_deny() failed, for a SKIP or a failure message. */
static char vbst_lsm_why[512];

static inline int vbst_lsm_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* Bytes of the data that follows a struct btf_type of this kind. */
static inline long vbst_btf_extra(const struct btf_type *t)
{
	unsigned int vlen = BTF_INFO_VLEN(t->info);

	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		return 4;
	case BTF_KIND_ARRAY:
		return 12;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
	case BTF_KIND_DATASEC:
		return 12L * vlen;
	case BTF_KIND_ENUM:
	case BTF_KIND_FUNC_PROTO:
		return 8L * vlen;
	case 19:	/* BTF_KIND_ENUM64, newer than some uapi headers */
		return 12L * vlen;
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case 18:	/* BTF_KIND_TYPE_TAG */
		return 0;
	default:
		return -1;
	}
}

/* The BTF id of the kernel function @name, or a negative errno. */
static inline int vbst_btf_func_id(const char *name)
{
	const struct btf_header *h;
	const char *strs;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	long off, extra;
	int fd, id = 0, ret = -ENOENT;
	ssize_t n;

	fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (len == cap) {
			char *b = realloc(buf, cap = cap ? 2 * cap : 1 << 22);

			if (!b) {
				ret = -ENOMEM;
				goto out;
			}
			buf = b;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		if (!n)
			break;
		len += n;
	}
	h = (const struct btf_header *)buf;
	if (len < sizeof(*h) || h->magic != BTF_MAGIC ||
	    (size_t)h->hdr_len + h->str_off + h->str_len > len ||
	    (size_t)h->hdr_len + h->type_off + h->type_len > len) {
		ret = -EPROTO;
		goto out;
	}
	strs = buf + h->hdr_len + h->str_off;
	for (off = 0; off + (long)sizeof(struct btf_type) <= (long)h->type_len; ) {
		const struct btf_type *t =
			(const void *)(buf + h->hdr_len + h->type_off + off);

		id++;
		extra = vbst_btf_extra(t);
		if (extra < 0) {
			ret = -EPROTO;
			goto out;
		}
		if (BTF_INFO_KIND(t->info) == BTF_KIND_FUNC &&
		    t->name_off < h->str_len && !strcmp(strs + t->name_off, name)) {
			ret = id;
			goto out;
		}
		off += sizeof(*t) + extra;
	}
out:
	free(buf);
	close(fd);
	return ret;
}

/*
 * Make every call of LSM hook @hook (e.g. "file_receive") fail with
 * -EPERM until the returned link fd is closed.  Returns the link fd, or
 * -1 with the reason in vbst_lsm_why.
 */
static inline int vbst_lsm_deny(const char *hook)
{
	struct bpf_insn insns[] = {
		/* r0 = -EPERM */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -EPERM },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	char fn[64], log[1024] = "";
	union bpf_attr a;
	int id, prog, link;
	FILE *f;

	f = fopen("/sys/kernel/security/lsm", "re");
	if (f) {
		char lsms[256] = "";

		if (!fgets(lsms, sizeof(lsms), f))
			lsms[0] = 0;
		fclose(f);
		if (!strstr(lsms, "bpf")) {
			snprintf(vbst_lsm_why, sizeof(vbst_lsm_why),
				 "the BPF LSM is not enabled (lsm: %s)", lsms);
			return -1;
		}
	}
	snprintf(fn, sizeof(fn), "bpf_lsm_%s", hook);
	id = vbst_btf_func_id(fn);
	if (id < 0) {
		snprintf(vbst_lsm_why, sizeof(vbst_lsm_why), "no BTF id for %s: %s",
			 fn, strerror(-id));
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_LSM;
	a.expected_attach_type = BPF_LSM_MAC;
	a.attach_btf_id = id;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = sizeof(insns) / sizeof(insns[0]);
	a.license = (uintptr_t)"GPL";
	a.log_buf = (uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	prog = vbst_lsm_bpf(BPF_PROG_LOAD, &a);
	if (prog < 0) {
		snprintf(vbst_lsm_why, sizeof(vbst_lsm_why), "BPF_PROG_LOAD for %.64s: %.64s %.160s",
			 fn, strerror(errno), log);
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.raw_tracepoint.prog_fd = prog;
	link = vbst_lsm_bpf(BPF_RAW_TRACEPOINT_OPEN, &a);
	if (link < 0)
		snprintf(vbst_lsm_why, sizeof(vbst_lsm_why), "attaching %s: %s", fn,
			 strerror(errno));
	close(prog);
	return link < 0 ? -1 : link;
}

#endif /* VBST_LSM_H */
