// SPDX-License-Identifier: GPL-2.0
/*
 * Parsing of bridged-device declarations out of a flattened device tree.
 * See ctl/dt.h for the shape of the nodes and
 * Documentation/virtio-bridge/dt-binding/vl,virtio-device-mmio.yaml for
 * the binding.
 *
 * Every refusal names the node (full path) and the property at fault.
 */
#include "ctl/dt.h"

#include <ctype.h>
#include <errno.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DT_PAGE_MASK	0xfffULL

struct dt_ctx {
	const void *fdt;
	char *err;
	size_t errlen;
};

static int dt_err(struct dt_ctx *c, int node, const char *prop, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int dt_err(struct dt_ctx *c, int node, const char *prop, const char *fmt, ...)
{
	char path[DT_PATH_MAX];
	va_list ap;
	int n;

	if (!c->errlen)
		return -EINVAL;
	if (node < 0 || fdt_get_path(c->fdt, node, path, sizeof(path)))
		snprintf(path, sizeof(path), "%s", node < 0 ? "device tree" : "?");
	if (prop)
		n = snprintf(c->err, c->errlen, "%s: %s: ", path, prop);
	else
		n = snprintf(c->err, c->errlen, "%s: ", path);
	if (n < 0 || (size_t)n >= c->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Does the node's compatible list contain compat? */
static bool dt_is_compatible(const void *fdt, int node, const char *compat)
{
	return fdt_node_check_compatible(fdt, node, compat) == 0;
}

static bool dt_is_disabled(const void *fdt, int node)
{
	int len;
	const char *s = fdt_getprop(fdt, node, "status", &len);

	if (!s || len <= 0)
		return false;
	return strncmp(s, "okay", len) && strncmp(s, "ok", len);
}

/* A property of exactly one cell; -ENOENT when absent. */
static int dt_get_cell(struct dt_ctx *c, int node, const char *prop, uint32_t *val)
{
	int len;
	const fdt32_t *p = fdt_getprop(c->fdt, node, prop, &len);

	if (!p)
		return -ENOENT;
	if (len != (int)sizeof(*p))
		return dt_err(c, node, prop, "must be one cell, not %d bytes", len);
	*val = fdt32_to_cpu(*p);
	return 0;
}

static int dt_get_vmid(struct dt_ctx *c, int node, const char *prop, uint32_t *vmid)
{
	int ret = dt_get_cell(c, node, prop, vmid);

	if (ret == -ENOENT)
		return dt_err(c, node, prop, "missing (required)");
	if (ret)
		return ret;
	if (*vmid > VBRIDGE_VMID_MAX)
		return dt_err(c, node, prop, "vmid %u is out of range (0..%u)", *vmid,
			      VBRIDGE_VMID_MAX);
	return 0;
}

/*
 * An optional uid or gid cell: any number but (uid_t)-1, which is no id.
 * Whether it means anyone is the kernel's business (in the sender's user
 * namespace).  Sets *has when present.
 */
static int dt_get_id(struct dt_ctx *c, int node, const char *prop, bool *has, uint32_t *id)
{
	int ret = dt_get_cell(c, node, prop, id);

	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	if (*id == VBRIDGE_ID_NONE)
		return dt_err(c, node, prop, "0x%x is not a valid id", *id);
	*has = true;
	return 0;
}

/* vl,node-mode: permission bits only, 1..0777 (0 would read as 0600). */
static int dt_get_mode(struct dt_ctx *c, int node, struct dt_device *d)
{
	const char *prop = "vl,node-mode";
	int ret = dt_get_cell(c, node, prop, &d->node_mode);

	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	if (!d->node_mode || d->node_mode > 0777)
		return dt_err(c, node, prop,
			      "0%o is not a mode of permission bits (1..0777, e.g. <0x180> for 0600)",
			      d->node_mode);
	d->has_node_mode = true;
	return 0;
}

/* Refuse vl,* properties this binding does not define (typos, mostly). */
static int dt_check_vendor_props(struct dt_ctx *c, int node, const char *const *known)
{
	int prop;

	fdt_for_each_property_offset(prop, c->fdt, node) {
		const char *name;
		unsigned int i;
		bool ok = false;

		if (!fdt_getprop_by_offset(c->fdt, prop, &name, NULL))
			return dt_err(c, node, NULL, "unreadable property");
		if (strncmp(name, "vl,", 3))
			continue;
		for (i = 0; known[i]; i++)
			ok |= !strcmp(name, known[i]);
		if (!ok)
			return dt_err(c, node, name, "unknown property of the virtio-bridge binding");
	}
	return 0;
}

static int dt_check_name(struct dt_ctx *c, int node, struct dt_device *d)
{
	const char *prop = "vl,device-name";
	const char *s;
	size_t n, i;
	int len;

	s = fdt_getprop(c->fdt, node, prop, &len);
	if (!s)
		return dt_err(c, node, prop, "missing (required)");
	if (len <= 0 || s[len - 1] != '\0' || strlen(s) != (size_t)len - 1)
		return dt_err(c, node, prop, "must be a single string");
	n = len - 1;
	if (n == 0)
		return dt_err(c, node, prop, "is empty");
	if (n >= VBRIDGE_NAME_MAX)
		return dt_err(c, node, prop, "\"%s\" is %zu characters long, at most %d", s, n,
			      VBRIDGE_NAME_MAX - 1);
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return dt_err(c, node, prop, "\"%s\" cannot name a device node", s);
	/* It names a device node: portable file-name characters only. */
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return dt_err(c, node, prop,
				      "\"%s\": character %zu is not allowed (only A-Z a-z 0-9 . _ -)",
				      s, i + 1);
	memcpy(d->name, s, n + 1);
	return 0;
}

static uint64_t dt_read_cells(const fdt32_t *p, int cells)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < cells; i++)
		v = (v << 32) | fdt32_to_cpu(p[i]);
	return v;
}

static bool dt_overlap(const struct vbridge_window *a, const struct vbridge_window *b)
{
	return a->addr < b->addr + b->size && b->addr < a->addr + a->size;
}

static int dt_parse_reg(struct dt_ctx *c, int node, int ac, int sc, struct dt_device *d)
{
	const fdt32_t *p;
	int len, entry, n, i, j;

	p = fdt_getprop(c->fdt, node, "reg", &len);
	if (!p)
		return dt_err(c, node, "reg", "missing (required: the ECAM window, then the BAR windows)");
	entry = (ac + sc) * 4;
	if (len <= 0 || len % entry)
		return dt_err(c, node, "reg",
			      "%d bytes is not a whole number of <address size> entries of %d cells (#address-cells %d + #size-cells %d)",
			      len, ac + sc, ac, sc);
	n = len / entry;
	if (n > VBRIDGE_MAX_WINDOWS)
		return dt_err(c, node, "reg", "%d windows, at most %d", n, VBRIDGE_MAX_WINDOWS);
	for (i = 0; i < n; i++) {
		struct vbridge_window *w = &d->windows[i];

		w->addr = dt_read_cells(p + i * (ac + sc), ac);
		w->size = dt_read_cells(p + i * (ac + sc) + ac, sc);
		if (!w->size)
			return dt_err(c, node, "reg", "window %d has size 0", i);
		if ((w->addr | w->size) & DT_PAGE_MASK)
			return dt_err(c, node, "reg",
				      "window %d (0x%llx, size 0x%llx) is not 4 KiB aligned", i,
				      (unsigned long long)w->addr, (unsigned long long)w->size);
		if (w->addr + w->size < w->addr)
			return dt_err(c, node, "reg", "window %d wraps around the address space", i);
		for (j = 0; j < i; j++)
			if (dt_overlap(w, &d->windows[j]))
				return dt_err(c, node, "reg", "windows %d and %d overlap", j, i);
	}
	d->nr_windows = n;
	return 0;
}

/*
 * The number of cells of an interrupt specifier: the #interrupt-cells of
 * the interrupt parent when the blob contains it, else the node's or the
 * vm node's own #interrupt-cells (an overlay cannot reach the base tree's
 * interrupt controller), else 3 as for the GIC of the arm64 platform.
 */
static int dt_irq_cells(struct dt_ctx *c, int node, int vm, int *cells)
{
	uint32_t local = 0, parent = 0, ph;
	int ret, n, where = node;

	ret = dt_get_cell(c, node, "#interrupt-cells", &local);
	if (ret == -ENOENT) {
		where = vm;
		ret = dt_get_cell(c, vm, "#interrupt-cells", &local);
	}
	if (ret && ret != -ENOENT)
		return ret;
	for (n = node; n >= 0; n = fdt_parent_offset(c->fdt, n)) {
		if (dt_get_cell(c, n, "interrupt-parent", &ph) == 0) {
			int ic = fdt_node_offset_by_phandle(c->fdt, ph);

			if (ic >= 0 && dt_get_cell(c, ic, "#interrupt-cells", &parent) == 0 &&
			    local && local != parent)
				return dt_err(c, where, "#interrupt-cells",
					      "%u, but the interrupt parent has %u", local, parent);
			break;
		}
	}
	if (!local)
		local = parent ? parent : 3;
	if (local != 2 && local != 3)
		return dt_err(c, where, "#interrupt-cells",
			      "%u is not supported: 3 (GIC: <type number flags>) or 2 (<gsi flags>)",
			      local);
	*cells = local;
	return 0;
}

static int dt_parse_irqs(struct dt_ctx *c, int node, int vm, struct dt_device *d)
{
	const fdt32_t *p;
	int len, cells = 3, n, i, j, ret;

	ret = dt_irq_cells(c, node, vm, &cells);
	if (ret)
		return ret;
	p = fdt_getprop(c->fdt, node, "interrupts", &len);
	if (!p)
		return dt_err(c, node, "interrupts", "missing (required: one line per slot)");
	if (len <= 0 || len % (cells * 4))
		return dt_err(c, node, "interrupts",
			      "%d bytes is not a whole number of %d-cell specifiers (#interrupt-cells)",
			      len, cells);
	n = len / (cells * 4);
	if (n > VBRIDGE_MAX_IRQS)
		return dt_err(c, node, "interrupts", "%d lines, at most %d", n, VBRIDGE_MAX_IRQS);
	for (i = 0; i < n; i++) {
		const fdt32_t *s = p + i * cells;
		uint32_t num, flags, trig;

		if (cells == 3) {
			uint32_t type = fdt32_to_cpu(s[0]);

			num = fdt32_to_cpu(s[1]);
			flags = fdt32_to_cpu(s[2]);
			if (type != 0)
				return dt_err(c, node, "interrupts",
					      "entry %d: type %u is not an SPI (0); only SPIs can be bridged",
					      i, type);
			if (num > DT_GIC_SPI_MAX)
				return dt_err(c, node, "interrupts",
					      "entry %d: SPI %u is out of range (0..%d)", i, num,
					      DT_GIC_SPI_MAX);
		} else {
			num = fdt32_to_cpu(s[0]);
			flags = fdt32_to_cpu(s[1]);
		}
		trig = flags;
		if (trig != DT_IRQ_EDGE_RISING && trig != DT_IRQ_EDGE_FALLING &&
		    trig != DT_IRQ_LEVEL_HIGH && trig != DT_IRQ_LEVEL_LOW)
			return dt_err(c, node, "interrupts",
				      "entry %d: flags 0x%x are not one trigger type (1, 2, 4 or 8)",
				      i, flags);
		for (j = 0; j < i; j++)
			if (d->irqs[j].num == num)
				return dt_err(c, node, "interrupts",
					      "entries %d and %d are both interrupt %u", j, i, num);
		d->irqs[i].num = num;
		d->irqs[i].flags = (trig & (DT_IRQ_LEVEL_HIGH | DT_IRQ_LEVEL_LOW)) ?
				   VBRIDGE_IRQ_F_LEVEL : 0;
	}
	d->nr_irqs = n;
	return 0;
}

static int dt_add(struct dt_devices *out, const struct dt_device *d)
{
	if (out->nr == out->cap) {
		unsigned int cap = out->cap ? 2 * out->cap : 4;
		struct dt_device *v = realloc(out->dev, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		out->dev = v;
		out->cap = cap;
	}
	out->dev[out->nr++] = *d;
	return 0;
}

bool dt_same_vmm(const struct dt_device *a, const struct dt_device *b)
{
	return a->has_vmm_uid == b->has_vmm_uid && a->has_vmm_gid == b->has_vmm_gid &&
	       (!a->has_vmm_uid || a->vmm_uid == b->vmm_uid) &&
	       (!a->has_vmm_gid || a->vmm_gid == b->vmm_gid);
}

static int dt_parse_device(struct dt_ctx *c, int node, int vm, const struct dt_device *vmd,
			   int ac, int sc, struct dt_devices *out)
{
	static const char *const known[] = {
		"vl,device-vmid", "vl,device-name", "vl,provider-uid", "vl,provider-gid",
		"vl,node-mode", NULL,
	};
	uint32_t vmid = vmd->vmid;
	struct dt_device d;
	unsigned int i, j;
	int ret;

	/* The vm node's part: vmid and owner. */
	d = *vmd;
	if (fdt_get_path(c->fdt, node, d.node, sizeof(d.node)))
		snprintf(d.node, sizeof(d.node), "?");
	ret = dt_check_vendor_props(c, node, known);
	if (!ret)
		ret = dt_check_name(c, node, &d);
	if (!ret)
		ret = dt_get_vmid(c, node, "vl,device-vmid", &d.backend_vmid);
	if (!ret)
		ret = dt_parse_reg(c, node, ac, sc, &d);
	if (!ret)
		ret = dt_parse_irqs(c, node, vm, &d);
	if (!ret)
		ret = dt_get_id(c, node, "vl,provider-uid", &d.has_provider_uid,
				&d.provider_uid);
	if (!ret)
		ret = dt_get_id(c, node, "vl,provider-gid", &d.has_provider_gid,
				&d.provider_gid);
	if (!ret)
		ret = dt_get_mode(c, node, &d);
	if (ret)
		return ret;
	for (i = 0; i < out->nr; i++) {
		const struct dt_device *o = &out->dev[i];

		if (o->vmid != vmid)
			continue;
		if (!dt_same_vmm(o, &d))
			return dt_err(c, vm, "vl,vmm-uid",
				      "vm%u's owner (vl,vmm-uid, vl,vmm-gid) differs from the one given with %s",
				      vmid, o->node);
		if (!strcmp(o->name, d.name))
			return dt_err(c, node, "vl,device-name",
				      "\"%s\" is already used by %s in vm%u", d.name, o->node, vmid);
		for (j = 0; j < d.nr_windows; j++) {
			unsigned int k;

			for (k = 0; k < o->nr_windows; k++)
				if (dt_overlap(&d.windows[j], &o->windows[k]))
					return dt_err(c, node, "reg",
						      "window %u overlaps window %u of %s (same vm%u)",
						      j, k, o->node, vmid);
		}
	}
	return dt_add(out, &d);
}

static int dt_parse_vm(struct dt_ctx *c, int vm, struct dt_devices *out)
{
	static const char *const known[] = { "vl,vmid", "vl,vmm-uid", "vl,vmm-gid", NULL };
	struct dt_device vmd;
	uint32_t ac, sc;
	int child, ret;

	memset(&vmd, 0, sizeof(vmd));
	ret = dt_check_vendor_props(c, vm, known);
	if (!ret)
		ret = dt_get_vmid(c, vm, "vl,vmid", &vmd.vmid);
	if (!ret)
		ret = dt_get_id(c, vm, "vl,vmm-uid", &vmd.has_vmm_uid, &vmd.vmm_uid);
	if (!ret)
		ret = dt_get_id(c, vm, "vl,vmm-gid", &vmd.has_vmm_gid, &vmd.vmm_gid);
	if (ret)
		return ret;
	ret = dt_get_cell(c, vm, "#address-cells", &ac);
	if (ret == -ENOENT)
		return dt_err(c, vm, "#address-cells", "missing (required, normally <2>)");
	if (!ret && ac != 1 && ac != 2)
		return dt_err(c, vm, "#address-cells", "%u is not supported (1 or 2)", ac);
	if (ret)
		return ret;
	ret = dt_get_cell(c, vm, "#size-cells", &sc);
	if (ret == -ENOENT)
		return dt_err(c, vm, "#size-cells", "missing (required, normally <2>)");
	if (!ret && sc != 1 && sc != 2)
		return dt_err(c, vm, "#size-cells", "%u is not supported (1 or 2)", sc);
	if (ret)
		return ret;

	fdt_for_each_subnode(child, c->fdt, vm) {
		if (!dt_is_compatible(c->fdt, child, DT_COMPAT_DEV)) {
			int len;
			const char *s = fdt_getprop(c->fdt, child, "compatible", &len);

			if (!s)
				return dt_err(c, child, "compatible",
					      "missing; children of a vm node must be \"" DT_COMPAT_DEV "\"");
			return dt_err(c, child, "compatible",
				      "\"%.*s\" is not supported (expected \"" DT_COMPAT_DEV "\")",
				      len, s);
		}
		if (dt_is_disabled(c->fdt, child))
			continue;
		ret = dt_parse_device(c, child, vm, &vmd, ac, sc, out);
		if (ret)
			return ret;
	}
	if (child != -FDT_ERR_NOTFOUND)
		return dt_err(c, vm, NULL, "corrupt device tree: %s", fdt_strerror(child));
	return 0;
}

/*
 * Walk the structure block once, with every offset checked against its
 * end, before any libfdt call walks it.  libfdt 1.6.1's fdt_next_tag()
 * adds a property's length to an int: a length of 0xfffffff4 brings the
 * offset back to the property's own tag, and fdt_check_full() loops
 * forever (the dt fuzzing harness found it: `vbridge ctl load` hung).
 * Here every token must move strictly forward, stay inside the block, and
 * the block must end with FDT_END.  Called after the header checks (magic,
 * version 17, totalsize within the buffer).
 */
static int dt_check_struct(struct dt_ctx *c, const void *blob)
{
	const uint8_t *base = blob;
	size_t off = fdt_off_dt_struct(blob), size = fdt_size_dt_struct(blob);
	size_t total = fdt_totalsize(blob), pos = 0, len;
	const uint8_t *s, *nul;
	uint32_t tag;

	if (off > total || size > total - off)
		return dt_err(c, -1, NULL,
			      "corrupt: the structure block (%zu bytes at %zu) is past the end of the blob (%zu bytes)",
			      size, off, total);
	s = base + off;
	while (size - pos >= FDT_TAGSIZE) {
		tag = fdt32_ld((const fdt32_t *)(s + pos));
		pos += FDT_TAGSIZE;
		switch (tag) {
		case FDT_BEGIN_NODE:
			nul = memchr(s + pos, '\0', size - pos);
			if (!nul)
				goto truncated;
			pos = (size_t)(nul - s) + 1;
			break;
		case FDT_PROP:
			if (size - pos < 2 * sizeof(fdt32_t))
				goto truncated;
			len = fdt32_ld((const fdt32_t *)(s + pos));
			pos += 2 * sizeof(fdt32_t);
			if (len > size - pos)
				return dt_err(c, -1, NULL,
					      "corrupt: a property at offset %zu is %zu bytes long, past the end of the structure block",
					      pos - 3 * sizeof(fdt32_t), len);
			pos += len;
			break;
		case FDT_END_NODE:
		case FDT_NOP:
			break;
		case FDT_END:
			return 0;
		default:
			return dt_err(c, -1, NULL,
				      "corrupt: unknown token 0x%x at offset %zu of the structure block",
				      tag, pos - FDT_TAGSIZE);
		}
		/* Tokens are 4-byte aligned; the padding may end the block. */
		pos = (pos + FDT_TAGSIZE - 1) & ~(size_t)(FDT_TAGSIZE - 1);
		if (pos > size)
			goto truncated;
	}
truncated:
	return dt_err(c, -1, NULL, "corrupt: the structure block ends without FDT_END");
}

int dt_check_blob(const void *blob, size_t size, char *err, size_t errlen)
{
	struct dt_ctx c = { .fdt = blob, .err = err, .errlen = errlen };
	int ret;

	if (errlen)
		err[0] = '\0';
	if (size < sizeof(struct fdt_header) || fdt_magic(blob) != FDT_MAGIC)
		return dt_err(&c, -1, NULL, "not a flattened device tree (bad magic)");
	if (fdt_totalsize(blob) > size)
		return dt_err(&c, -1, NULL, "truncated: header says %u bytes, have %zu",
			      fdt_totalsize(blob), size);
	/*
	 * Only the current format, version 17, which dtc writes.  libfdt
	 * 1.6.1's fdt_check_full() reads through a NULL pointer on some
	 * corrupt blobs of the old formats (below 16): the dt fuzzing
	 * harness found one, and `vbridge ctl load` died of SIGSEGV.
	 */
	if (fdt_version(blob) < 17)
		return dt_err(&c, -1, NULL,
			      "device tree format version %u is not supported: compile with dtc, which writes version 17",
			      fdt_version(blob));
	ret = dt_check_struct(&c, blob);
	if (ret)
		return ret;
	ret = fdt_check_full(blob, size);
	if (ret)
		return dt_err(&c, -1, NULL, "corrupt: %s", fdt_strerror(ret));
	return 0;
}

int dt_parse_devices(const void *blob, size_t size, struct dt_devices *out,
		     char *err, size_t errlen)
{
	struct dt_ctx c = { .fdt = blob, .err = err, .errlen = errlen };
	int node, depth = 0, ret;

	memset(out, 0, sizeof(*out));
	ret = dt_check_blob(blob, size, err, errlen);
	if (ret)
		return ret;
	for (node = fdt_next_node(blob, -1, &depth); node >= 0;
	     node = fdt_next_node(blob, node, &depth)) {
		int parent;

		if (dt_is_compatible(blob, node, DT_COMPAT_VM)) {
			if (dt_is_disabled(blob, node))
				continue;
			ret = dt_parse_vm(&c, node, out);
			if (ret)
				goto fail;
			continue;
		}
		if (!dt_is_compatible(blob, node, DT_COMPAT_DEV))
			continue;
		parent = fdt_parent_offset(blob, node);
		if (parent < 0 || !dt_is_compatible(blob, parent, DT_COMPAT_VM)) {
			ret = dt_err(&c, node, "compatible",
				     "a \"" DT_COMPAT_DEV "\" node must be a child of a \""
				     DT_COMPAT_VM "\" node, which gives the frontend vmid");
			goto fail;
		}
	}
	if (node != -FDT_ERR_NOTFOUND) {
		ret = dt_err(&c, -1, NULL, "corrupt: %s", fdt_strerror(node));
		goto fail;
	}
	return 0;
fail:
	dt_devices_free(out);
	return ret;
}

void dt_devices_free(struct dt_devices *d)
{
	free(d->dev);
	memset(d, 0, sizeof(*d));
}
