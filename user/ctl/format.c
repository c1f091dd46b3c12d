// SPDX-License-Identifier: GPL-2.0
/* Text output of vbridge ctl: states, event lines and the status tables. */
#include "ctl/ctl.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char *ctl_dev_state_str(uint32_t state, char *buf, size_t len)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} bits[] = {
		{ VBRIDGE_DEV_S_OPEN, "open" },
		{ VBRIDGE_DEV_S_READY, "ready" },
		{ VBRIDGE_DEV_S_RUNNING, "running" },
		{ VBRIDGE_DEV_S_STOPPING, "stopping" },
		{ VBRIDGE_DEV_S_BROKEN, "broken" },
	};
	size_t i, n = 0;
	uint32_t known = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		known |= bits[i].bit;
		if (state & bits[i].bit)
			n += snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "," : "",
				      bits[i].name);
	}
	if (state & ~known)
		n += snprintf(buf + n, n < len ? len - n : 0, "%s0x%x", n ? "," : "",
			      state & ~known);
	if (!n)
		snprintf(buf, len, "-");
	return buf;
}

const char *ctl_vm_state_str(uint32_t state)
{
	switch (state) {
	case VBRIDGE_VM_S_RUNNING:
		return "running";
	case VBRIDGE_VM_S_STOPPING:
		return "stopping";
	default:
		return "?";
	}
}

const char *ctl_event_str(uint32_t ev)
{
	static const char *const names[] = {
		[VBRIDGE_EV_DEV_ADDED] = "dev-added",
		[VBRIDGE_EV_DEV_REMOVED] = "dev-removed",
		[VBRIDGE_EV_BACKEND_READY] = "backend-ready",
		[VBRIDGE_EV_BACKEND_GONE] = "backend-gone",
		[VBRIDGE_EV_VMSTART] = "vmstart",
		[VBRIDGE_EV_VMSTOP] = "vmstop",
		[VBRIDGE_EV_VMSTOP_ACK] = "vmstop-ack",
		[VBRIDGE_EV_VMSTOP_AUTOACK] = "vmstop-autoack",
		[VBRIDGE_EV_DEV_BROKEN] = "dev-broken",
		[VBRIDGE_EV_VM_RELEASED] = "vm-released",
	};
	static char other[24];

	if (ev < sizeof(names) / sizeof(names[0]) && names[ev])
		return names[ev];
	snprintf(other, sizeof(other), "event-%u", ev);
	return other;
}

void ctl_format_event(const struct ctl_event *e, char *buf, size_t len)
{
	size_t n;

	n = snprintf(buf, len, "%s", ctl_event_str(e->ev));
	if (e->has_vmid && n < len)
		n += snprintf(buf + n, len - n, " vm=%u", e->vmid);
	if (e->has_name && n < len)
		n += snprintf(buf + n, len - n, " device=%s", e->name);
	if (e->has_generation && n < len)
		n += snprintf(buf + n, len - n, " generation=%" PRIu64, e->generation);
	if (e->has_pid && n < len)
		snprintf(buf + n, len - n, " pid=%u", e->pid);
}

/* A small table: cells are copied, columns padded to their widest cell. */
#define TBL_COLS 12

struct tbl {
	size_t nr_rows, cap, cols;
	char **cell;		/* nr_rows * cols */
	size_t width[TBL_COLS];
};

static void tbl_row(struct tbl *t, const char *const *cells)
{
	size_t c;

	if (t->nr_rows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		char **n = realloc(t->cell, cap * t->cols * sizeof(*n));

		if (!n)
			return;
		t->cell = n;
		t->cap = cap;
	}
	for (c = 0; c < t->cols; c++) {
		char *s = strdup(cells[c] ? cells[c] : "");
		size_t w = s ? strlen(s) : 0;

		t->cell[t->nr_rows * t->cols + c] = s;
		if (w > t->width[c])
			t->width[c] = w;
	}
	t->nr_rows++;
}

static void tbl_print(FILE *f, struct tbl *t)
{
	size_t r, c;

	for (r = 0; r < t->nr_rows; r++) {
		for (c = 0; c < t->cols; c++) {
			const char *s = t->cell[r * t->cols + c];

			if (c + 1 == t->cols)
				fprintf(f, "%s\n", s ? s : "");
			else
				fprintf(f, "%-*s  ", (int)t->width[c], s ? s : "");
		}
	}
	for (r = 0; r < t->nr_rows * t->cols; r++)
		free(t->cell[r]);
	free(t->cell);
}

static int cmp_vm(const void *a, const void *b)
{
	const struct ctl_vm *x = a, *y = b;

	return x->vmid < y->vmid ? -1 : x->vmid > y->vmid;
}

static int cmp_dev(const void *a, const void *b)
{
	const struct ctl_dev *x = a, *y = b;

	if (x->vmid != y->vmid)
		return x->vmid < y->vmid ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void print_details(FILE *f, const struct ctl_dev *d)
{
	unsigned int i;

	fprintf(f, "vm%u/%s:\n", d->vmid, d->name);
	for (i = 0; i < d->nr_windows; i++)
		fprintf(f, "  window %u  0x%llx..0x%llx  (%s)\n", i,
			(unsigned long long)d->windows[i].addr,
			(unsigned long long)(d->windows[i].addr + d->windows[i].size - 1),
			i ? "BAR" : "ECAM");
	fprintf(f, "  lines    ");
	for (i = 0; i < d->nr_irqs; i++)
		fprintf(f, "%s%u%s", i ? " " : "", d->irqs[i].num,
			d->irqs[i].flags & VBRIDGE_IRQ_F_LEVEL ? "" : "(edge)");
	fprintf(f, "%s\n", d->nr_irqs ? "" : "none");
	if (d->has_node)
		fprintf(f, "  node     owner %u group %u mode 0%03o\n", d->provider_uid,
			d->provider_gid, d->node_mode);
	if (d->vmm_uid == VBRIDGE_ID_NONE && d->vmm_gid == VBRIDGE_ID_NONE)
		fprintf(f, "  vmm      CAP_SYS_ADMIN only\n");
	else if (d->vmm_gid == VBRIDGE_ID_NONE)
		fprintf(f, "  vmm      uid %u\n", d->vmm_uid);
	else if (d->vmm_uid == VBRIDGE_ID_NONE)
		fprintf(f, "  vmm      group %u\n", d->vmm_gid);
	else
		fprintf(f, "  vmm      uid %u, group %u\n", d->vmm_uid, d->vmm_gid);
	fprintf(f, "  retry_timeout_ms=%d%s vmstop_timeout=%u%s vmstop_autoack=%s%s\n",
		d->retry_timeout_ms, d->overridden & CTL_OVR_RETRY ? "*" : "",
		d->vmstop_timeout, d->overridden & CTL_OVR_TIMEOUT ? "*" : "",
		d->vmstop_autoack ? "yes" : "no", d->overridden & CTL_OVR_AUTOACK ? "*" : "");
	fprintf(f, "  inflight_timeout_ms=%u%s\n", d->inflight_timeout_ms,
		d->overridden & CTL_OVR_INFLIGHT ? "*" : "");
}

void ctl_print_status(FILE *f, const struct ctl_vm *vms, size_t nr_vms,
		      const struct ctl_dev *devs, size_t nr_devs, bool verbose)
{
	struct ctl_vm *v = NULL;
	struct ctl_dev *d = NULL;
	struct tbl t;
	size_t i;

	if (nr_vms) {
		v = malloc(nr_vms * sizeof(*v));
		if (v) {
			memcpy(v, vms, nr_vms * sizeof(*v));
			qsort(v, nr_vms, sizeof(*v), cmp_vm);
			vms = v;
		}
	}
	if (nr_devs) {
		d = malloc(nr_devs * sizeof(*d));
		if (d) {
			memcpy(d, devs, nr_devs * sizeof(*d));
			qsort(d, nr_devs, sizeof(*d), cmp_dev);
			devs = d;
		}
	}

	if (!nr_vms) {
		fprintf(f, "No VM attached.\n");
	} else {
		static const char *const head[] = { "VM", "STATE", "GENERATION", "VMM-PID",
						    "DEVICES" };

		memset(&t, 0, sizeof(t));
		t.cols = 5;
		tbl_row(&t, head);
		for (i = 0; i < nr_vms; i++) {
			char c[4][24];
			const char *row[5] = { c[0], ctl_vm_state_str(vms[i].state), c[1], c[2],
					       c[3] };

			snprintf(c[0], sizeof(c[0]), "vm%u", vms[i].vmid);
			snprintf(c[1], sizeof(c[1]), "%" PRIu64, vms[i].generation);
			/* 0: the VMM is not in our pid namespace. */
			snprintf(c[2], sizeof(c[2]), vms[i].pid ? "%u" : "-", vms[i].pid);
			snprintf(c[3], sizeof(c[3]), "%u", vms[i].nr_devices);
			tbl_row(&t, row);
		}
		tbl_print(f, &t);
	}
	fprintf(f, "\n");
	if (!nr_devs) {
		fprintf(f, "No device declared.\n");
	} else {
		static const char *const head[] = {
			"DEVICE", "ID", "BACKEND", "STATE", "FORWARDED", "COMPLETED",
			"TIMEDOUT", "FAILED", "VMSTOPS", "AUTOACKS", "IRQS",
		};

		memset(&t, 0, sizeof(t));
		t.cols = 11;
		tbl_row(&t, head);
		for (i = 0; i < nr_devs; i++) {
			char name[VBRIDGE_NAME_MAX + 16], id[16], be[16], st[64], n[7][24];
			const char *row[11] = { name, id, be, st, n[0], n[1], n[2], n[3], n[4],
						n[5], n[6] };
			int s;

			snprintf(name, sizeof(name), "vm%u/%s", devs[i].vmid, devs[i].name);
			snprintf(id, sizeof(id), "%u", devs[i].id);
			if (devs[i].backend_vmid)
				snprintf(be, sizeof(be), "vm%u", devs[i].backend_vmid);
			else
				snprintf(be, sizeof(be), "host");
			ctl_dev_state_str(devs[i].state, st, sizeof(st));
			for (s = 0; s < 7; s++)
				snprintf(n[s], sizeof(n[s]), "%" PRIu64,
					 devs[i].stats[VBRIDGE_STAT_FORWARDED + s]);
			tbl_row(&t, row);
		}
		tbl_print(f, &t);
		if (verbose) {
			for (i = 0; i < nr_devs; i++) {
				fprintf(f, "\n");
				print_details(f, &devs[i]);
			}
			fprintf(f, "\n(* = set on the device, else the module parameter)\n");
		}
	}
	free(v);
	free(d);
}
