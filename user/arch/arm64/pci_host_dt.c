// SPDX-License-Identifier: GPL-2.0
/* vbridge run --pci-host-dt, the pure part: see pci_host_dt.h. */
#include "arch/arm64/pci_host_dt.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arm64/fdt.h"
#include "bridge/frontend.h"
#include "ctl/dt.h"
#include "ctl/overlay.h"
#include "lib/log.h"

#define HOST_DT_EXAMPLE		"see dts/guest-arm64-cvm2rb-cam.dtsi"
#define GIC_SPEC_CELLS		3	/* type, number, flags */
#define CAM_BUS_SIZE		(64ULL << 10)	/* 256 bytes x 256 functions */

/*
 * Source gets the plugin header (a .dtsi has none, a .dts has /dts-v1/),
 * so that dtc leaves &gic as a fixup instead of refusing it.
 */
static char *host_dt_plugin_source(const char *src, size_t len, size_t *out_len)
{
	static const char v1[] = "/dts-v1/;", hdr[] = "/dts-v1/;\n/plugin/;\n";
	const char *at = memmem(src, len, v1, sizeof(v1) - 1);
	size_t head = at ? (size_t)(at - src) : 0;
	size_t skip = at ? sizeof(v1) - 1 : 0;
	char *s;

	if (memmem(src, len, "/plugin/", 8)) {
		s = malloc(len + 1);
		if (s)
			memcpy(s, src, len);
		*out_len = len;
		return s;
	}
	*out_len = len - skip + sizeof(hdr) - 1;
	s = malloc(*out_len + 1);
	if (!s)
		return NULL;
	memcpy(s, src, head);
	memcpy(s + head, hdr, sizeof(hdr) - 1);
	memcpy(s + head + sizeof(hdr) - 1, src + head + skip, len - head - skip);
	return s;
}

int arm64_pci_host_dt_load(const char *path, void **blob, size_t *size,
			   char *err, size_t errlen)
{
	char *buf, *src;
	size_t len, slen;
	int ret;

	ret = overlay_read_file(path, &buf, &len, err, errlen);
	if (ret) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "--pci-host-dt %s", why);
		return ret;
	}
	if (len >= sizeof(fdt32_t) && fdt_magic(buf) == FDT_MAGIC) {
		*blob = buf;
		*size = len;
		return 0;
	}
	src = host_dt_plugin_source(buf, len, &slen);
	free(buf);
	if (!src)
		return -ENOMEM;
	ret = overlay_compile(path, src, slen, blob, size, err, errlen);
	free(src);
	return ret;
}

static uint64_t cells_get(const fdt32_t *c, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 32 | fdt32_to_cpu(*c++);
	return v;
}

static uint32_t prop_u32(const void *blob, int node, const char *name,
			 uint32_t dflt)
{
	int len;
	const fdt32_t *p = fdt_getprop(blob, node, name, &len);

	return p && len == 4 ? fdt32_to_cpu(*p) : dflt;
}

/* The one pci-host-*-generic node of blob. */
static int host_dt_find(const void *blob, bool *cam, char *err, size_t errlen)
{
	int node = -1, found = -1, n = 0;

	for (node = fdt_next_node(blob, -1, NULL); node >= 0;
	     node = fdt_next_node(blob, node, NULL)) {
		bool c = !fdt_node_check_compatible(blob, node,
						     "pci-host-cam-generic");

		if (!c && fdt_node_check_compatible(blob, node,
						    "pci-host-ecam-generic"))
			continue;
		if (n++) {
			return err_set(err, errlen, -EINVAL, "--pci-host-dt: %s and %s are both PCI hosts; give one node (" HOST_DT_EXAMPLE ")",
					    fdt_get_name(blob, found, NULL),
					    fdt_get_name(blob, node, NULL));
		}
		found = node;
		*cam = c;
	}
	if (found < 0)
		return err_set(err, errlen, -EINVAL, "--pci-host-dt: no node with compatible \"pci-host-cam-generic\" or \"pci-host-ecam-generic\" (" HOST_DT_EXAMPLE ")");
	return found;
}

/* Whether path is node (of path np) or below it. */
static bool host_dt_in_node(const char *path, const char *np)
{
	size_t n = strlen(np);

	if (!strcmp(np, "/"))
		return true;
	return !strncmp(path, np, n) && (!path[n] || path[n] == '/');
}

/*
 * Patch every &gic of the node's subtree to the VMM's GIC (the rest of
 * blob is not copied, and is left alone); collect the cell indices of
 * those in node's interrupt-map.  Any other label is refused.
 */
static int host_dt_fixups(void *blob, int node, unsigned int *imap_fix,
			  unsigned int *nr_fix, unsigned int max_fix,
			  char *err, size_t errlen)
{
	char path[256], ref[512], shown[512];
	int fix = fdt_path_offset(blob, "/__fixups__"), prop, ret;

	*nr_fix = 0;
	if (fix < 0)
		return 0;
	ret = fdt_get_path(blob, node, path, sizeof(path));
	if (ret)
		return err_set(err, errlen, -EINVAL, "--pci-host-dt: node path too long");
	fdt_for_each_property_offset(prop, blob, fix) {
		const char *label, *v;
		int len, off;
		size_t n;

		v = fdt_getprop_by_offset(blob, prop, &label, &len);
		if (!v)
			continue;
		if (strcmp(label, "gic"))
			return err_set(err, errlen, -EINVAL, "--pci-host-dt: &%s cannot be resolved: the VMM's interrupt controller is &gic, and nothing else can be referred to (" HOST_DT_EXAMPLE ")",
					    label);
		for (off = 0; off < len; off += n + 1) {
			fdt32_t ph = cpu_to_fdt32(ARM64_FDT_PHANDLE_GIC);
			char *p1, *p2, *end;
			unsigned long at;
			int target;

			/* Copied out first: a patch may land in v itself. */
			n = strnlen(v + off, len - off);
			if (n == (size_t)(len - off) || n >= sizeof(ref))
				return err_set(err, errlen, -EINVAL, "--pci-host-dt: /__fixups__/gic is not a list of references; rebuild the tree with dtc -@");
			memcpy(ref, v + off, n + 1);
			memcpy(shown, ref, n + 1);
			p2 = strrchr(ref, ':');
			if (!p2)
				goto bad;
			*p2++ = 0;
			p1 = strrchr(ref, ':');
			if (!p1)
				goto bad;
			*p1++ = 0;
			at = strtoul(p2, &end, 10);
			if (!*p2 || *end || at % 4 || at > INT32_MAX)
				goto bad;
			if (!host_dt_in_node(ref, path))
				continue;
			target = fdt_path_offset(blob, ref);
			if (target < 0 ||
			    fdt_setprop_inplace_namelen_partial(blob, target, p1,
								strlen(p1), at,
								&ph, sizeof(ph)))
				goto bad;
			if (target != node || strcmp(p1, "interrupt-map"))
				continue;
			if (*nr_fix == max_fix)
				return err_set(err, errlen, -EINVAL, "--pci-host-dt: more than %u interrupt-map entries",
						    max_fix);
			imap_fix[(*nr_fix)++] = at / 4;
			continue;
bad:
			return err_set(err, errlen, -EINVAL, "--pci-host-dt: a reference to &gic (\"%s\") does not fit the tree; rebuild it with dtc -@",
					    shown);
		}
	}
	return 0;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

static int host_dt_ranges(const void *blob, int node, uint32_t pa,
			  uint32_t vmid, const struct bridge_fe_device *d,
			  char *err, size_t errlen)
{
	unsigned int stride = 3 + pa + 2, i, n, w;
	const fdt32_t *r;
	int len;

	r = fdt_getprop(blob, node, "ranges", &len);
	if (!r || !len || len % (4 * stride))
		return err_set(err, errlen, -EINVAL, "--pci-host-dt: ranges must list the BAR windows, %u cells each (PCI address 3, CPU address %u, size 2)",
				    stride, pa);
	n = len / (4 * stride);
	for (i = 0; i < n; i++, r += stride) {
		uint32_t space = fdt32_to_cpu(r[0]) >> 24 & 3;
		uint64_t pci = cells_get(r + 1, 2), cpu = cells_get(r + 3, pa);
		uint64_t size = cells_get(r + 3 + pa, 2);

		if (space != 2 && space != 3)
			return err_set(err, errlen, -EINVAL, "--pci-host-dt: ranges entry %u is %s space; a bridged host has memory BARs only (0x02000000 or 0x03000000)",
					    i, space == 1 ? "I/O" : "configuration");
		if (pci != cpu)
			return err_set(err, errlen, -EINVAL, "--pci-host-dt: ranges entry %u maps PCI 0x%llx to CPU 0x%llx; the provider decodes BARs at guest-physical addresses: give the same address twice",
					    i, (unsigned long long)pci,
					    (unsigned long long)cpu);
		for (w = 1; w < d->nr_windows; w++)
			if (size && cpu >= d->windows[w].addr &&
			    cpu + size >= cpu &&
			    cpu + size <= d->windows[w].addr + d->windows[w].size)
				break;
		if (w == d->nr_windows)
			return err_set(err, errlen, -EINVAL, "--pci-host-dt: ranges entry %u (0x%llx, 0x%llx bytes) is not inside a BAR window of '%s' declared for vmid %u (window 1: 0x%llx, 0x%llx bytes)",
					    i, (unsigned long long)cpu,
					    (unsigned long long)size, d->name, vmid,
					    (unsigned long long)(d->nr_windows > 1 ? d->windows[1].addr : 0),
					    (unsigned long long)(d->nr_windows > 1 ? d->windows[1].size : 0));
	}
	return 0;
}

/* Re-encode interrupt-map for the VMM's GIC, checking every entry. */
static int host_dt_imap(struct arm64_pci_host_dt *h, int node, uint32_t vmid,
			const struct bridge_fe_device *d, unsigned int *fix,
			unsigned int nr_fix, char *err, size_t errlen)
{
	uint32_t icells = prop_u32(h->blob, node, "#interrupt-cells", 0);
	unsigned int ci = 3 + icells, cells, pos = 0, k, out = 0, l;
	const fdt32_t *m, *mask;
	int len, mlen, pa = -1;

	m = fdt_getprop(h->blob, node, "interrupt-map", &len);
	if (!m)
		return 0;
	if (icells != 1)
		return err_set(err, errlen, -EINVAL, "--pci-host-dt: #interrupt-cells must be <1> (the INTx pin)");
	mask = fdt_getprop(h->blob, node, "interrupt-map-mask", &mlen);
	if (!mask || mlen != (int)(4 * ci))
		return err_set(err, errlen, -EINVAL, "--pci-host-dt: interrupt-map needs an interrupt-map-mask of %u cells",
				    ci);
	cells = len / 4;
	qsort(fix, nr_fix, sizeof(*fix), cmp_uint);
	h->imap = calloc(nr_fix ? nr_fix : 1,
			 4 * (ci + 1 + ARM64_FDT_GIC_ADDR_CELLS + GIC_SPEC_CELLS));
	if (!h->imap)
		return -ENOMEM;
	for (k = 0; pos < cells || k < nr_fix; k++) {
		unsigned int end, slot, i;
		uint32_t type, spi, flags;
		int L;

		if (k == nr_fix || fix[k] != pos + ci)
			return err_set(err, errlen, -EINVAL, "--pci-host-dt: interrupt-map entry %u does not refer to &gic after %u cells; each entry is <PCI address (3) pin (1) &gic [unit address] type number flags>",
					    k, ci);
		end = k + 1 < nr_fix ? fix[k + 1] - ci : cells;
		/* No overflow: a fixup's offset is at most INT32_MAX bytes. */
		L = (int)end - (int)fix[k] - 1;
		if (L < GIC_SPEC_CELLS || (pa >= 0 && L - GIC_SPEC_CELLS != pa) ||
		    end > cells)
			return err_set(err, errlen, -EINVAL, "--pci-host-dt: interrupt-map entry %u has %d cells after &gic; every entry needs the same, ending in the GIC's <type number flags>",
					    k, L);
		pa = L - GIC_SPEC_CELLS;
		for (i = 0; i < (unsigned int)pa; i++)
			if (m[fix[k] + 1 + i])
				return err_set(err, errlen, -EINVAL, "--pci-host-dt: interrupt-map entry %u gives the GIC a non-zero unit address",
						    k);
		type = fdt32_to_cpu(m[end - 3]);
		spi = fdt32_to_cpu(m[end - 2]);
		flags = fdt32_to_cpu(m[end - 1]);
		slot = fdt32_to_cpu(m[pos]) >> 11 & 0x1f;
		for (l = 0; l < d->nr_irqs; l++)
			if (d->irqs[l].num == spi)
				break;
		if (type != ARM64_FDT_IRQ_SPI || l == d->nr_irqs)
			return err_set(err, errlen, -EINVAL, "--pci-host-dt: interrupt-map entry %u (slot %u) is %s %u, not one of the interrupt lines declared for '%s' of vmid %u (SPI %u..)",
					    k, slot, type == ARM64_FDT_IRQ_SPI ? "SPI" : "not an SPI:",
					    spi, d->name, vmid,
					    d->nr_irqs ? d->irqs[0].num : 0);
		if (flags != ((d->irqs[l].flags & VBRIDGE_IRQ_F_LEVEL) ?
			      ARM64_FDT_IRQ_LEVEL : ARM64_FDT_IRQ_EDGE))
			return err_set(err, errlen, -EINVAL, "--pci-host-dt: interrupt-map entry %u (slot %u) gives SPI %u flags %u; its declared line is %s (%u)",
					    k, slot, spi, flags,
					    (d->irqs[l].flags & VBRIDGE_IRQ_F_LEVEL) ?
					    "level-triggered" : "edge-triggered",
					    (d->irqs[l].flags & VBRIDGE_IRQ_F_LEVEL) ?
					    ARM64_FDT_IRQ_LEVEL : ARM64_FDT_IRQ_EDGE);
		if (l == 0 && (h->first_slot < 0 || (int)slot < h->first_slot))
			h->first_slot = slot;
		for (i = 0; i < ci; i++)
			h->imap[out++] = m[pos + i];
		h->imap[out++] = cpu_to_fdt32(ARM64_FDT_PHANDLE_GIC);
		for (i = 0; i < ARM64_FDT_GIC_ADDR_CELLS; i++)
			h->imap[out++] = 0;
		h->imap[out++] = cpu_to_fdt32(type);
		h->imap[out++] = cpu_to_fdt32(spi);
		h->imap[out++] = cpu_to_fdt32(flags);
		pos = end;
	}
	h->imap_cells = out;
	return 0;
}

int arm64_pci_host_dt_parse(struct arm64_pci_host_dt *h, void *blob,
			    size_t size, uint32_t vmid,
			    const struct bridge_fe_device *devs, unsigned int n,
			    char *err, size_t errlen)
{
	char why[256];
	unsigned int fix[256], nr_fix, i;
	const struct bridge_fe_device *d;
	uint64_t addr, wsize, bus_size;
	const fdt32_t *reg, *br;
	const char *type;
	int node, parent, len, ret;

	memset(h, 0, sizeof(*h));
	h->blob = blob;
	h->first_slot = -1;
	ret = -EINVAL;
	if (dt_check_blob(blob, size, why, sizeof(why))) {
		snprintf(err, errlen, "--pci-host-dt: %s", why);
		goto fail;
	}
	node = host_dt_find(blob, &h->cam, err, errlen);
	if (node < 0) {
		ret = node;
		goto fail;
	}
	h->node = node;
	/*
	 * Patched in place (node offsets do not move), before anything is
	 * checked: what is checked is what the guest gets.
	 */
	ret = host_dt_fixups(blob, node, fix, &nr_fix,
			     sizeof(fix) / sizeof(fix[0]), err, errlen);
	if (ret)
		goto fail;
	if (fdt_node_check_compatible(blob, node, h->cam ?
				      "pci-host-cam-generic" :
				      "pci-host-ecam-generic")) {
		ret = err_set(err, errlen, -EINVAL, "--pci-host-dt: a reference to &gic lands in the node's compatible; rebuild the tree with dtc -@");
		goto fail;
	}
	parent = fdt_parent_offset(blob, node);
	h->addr_cells = parent >= 0 ? prop_u32(blob, parent, "#address-cells", 2) : 2;
	h->size_cells = parent >= 0 ? prop_u32(blob, parent, "#size-cells", 1) : 1;
	if (h->addr_cells < 1 || h->addr_cells > 2 || h->size_cells < 1 ||
	    h->size_cells > 2) {
		ret = err_set(err, errlen, -EINVAL, "--pci-host-dt: the node's parent has #address-cells %u and #size-cells %u; give 1 or 2 of each",
				   h->addr_cells, h->size_cells);
		goto fail;
	}
	type = fdt_getprop(blob, node, "device_type", &len);
	if (prop_u32(blob, node, "#address-cells", 0) != 3 ||
	    prop_u32(blob, node, "#size-cells", 0) != 2 || !type ||
	    strcmp(type, "pci")) {
		ret = err_set(err, errlen, -EINVAL, "--pci-host-dt: a PCI host node needs device_type = \"pci\", #address-cells = <3> and #size-cells = <2> (" HOST_DT_EXAMPLE ")");
		goto fail;
	}
	reg = fdt_getprop(blob, node, "reg", &len);
	if (!reg || len != (int)(4 * (h->addr_cells + h->size_cells))) {
		ret = err_set(err, errlen, -EINVAL, "--pci-host-dt: reg must be the config window, one address of %u cells and one size of %u cells (the parent's #address-cells and #size-cells; 2 and 1 when it gives none)",
				   h->addr_cells, h->size_cells);
		goto fail;
	}
	addr = cells_get(reg, h->addr_cells);
	wsize = cells_get(reg + h->addr_cells, h->size_cells);
	for (i = 0; i < n; i++)
		if (devs[i].nr_windows && devs[i].windows[0].addr == addr &&
		    devs[i].windows[0].size == wsize)
			break;
	if (i == n) {
		ret = err_set(err, errlen, -EINVAL, "--pci-host-dt: reg (0x%llx, 0x%llx bytes) is not the config window of a device declared for vmid %u%s%s%s (0x%llx, 0x%llx bytes)",
				   (unsigned long long)addr,
				   (unsigned long long)wsize, vmid,
				   n ? ": '" : "", n ? devs[0].name : "",
				   n ? "' declares" : "; none declares one",
				   (unsigned long long)(n && devs[0].nr_windows ? devs[0].windows[0].addr : 0),
				   (unsigned long long)(n && devs[0].nr_windows ? devs[0].windows[0].size : 0));
		goto fail;
	}
	h->dev = i;
	d = &devs[i];
	br = fdt_getprop(blob, node, "bus-range", &len);
	bus_size = h->cam ? CAM_BUS_SIZE : ARM64_PCI_ECAM_BUS_SIZE;
	if ((br && (len != 8 || fdt32_to_cpu(br[0]) != 0 ||
		    fdt32_to_cpu(br[1]) > 255 ||
		    (fdt32_to_cpu(br[1]) + 1) * bus_size > wsize)) ||
	    (!br && 256 * bus_size > wsize)) {
		ret = err_set(err, errlen, -EINVAL, "--pci-host-dt: bus-range must start at bus 0 and fit the config window (%llu KiB a bus with %s): give bus-range = <0x0 0x0>",
				   (unsigned long long)(bus_size >> 10),
				   h->cam ? "CAM" : "ECAM");
		goto fail;
	}
	ret = host_dt_ranges(blob, node, h->addr_cells, vmid, d, err, errlen);
	if (ret)
		goto fail;
	ret = host_dt_imap(h, h->node, vmid, d, fix, nr_fix, err, errlen);
	if (ret)
		goto fail;
	return 0;
fail:
	arm64_pci_host_dt_free(h);
	return ret;
}

/* Copy node src of blob (properties, then children) under parent of fdt. */
static int host_dt_copy(void *fdt, int parent, const struct arm64_pci_host_dt *h,
			int src, bool top)
{
	int node, prop, child, ret;

	node = fdt_add_subnode(fdt, parent, fdt_get_name(h->blob, src, NULL));
	if (node < 0)
		return node;
	fdt_for_each_property_offset(prop, h->blob, src) {
		const char *name;
		const void *v;
		int len;

		v = fdt_getprop_by_offset(h->blob, prop, &name, &len);
		if (!v || !strcmp(name, "phandle") || !strcmp(name, "linux,phandle"))
			continue;
		if (top && !strcmp(name, "interrupt-map"))
			ret = fdt_setprop(fdt, node, name, h->imap,
					  4 * h->imap_cells);
		else
			ret = fdt_setprop(fdt, node, name, v, len);
		if (ret < 0)
			return ret;
	}
	fdt_for_each_subnode(child, h->blob, src) {
		ret = host_dt_copy(fdt, node, h, child, false);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int arm64_pci_host_dt_add(void *fdt, const struct arm64_pci_host_dt *h)
{
	char name[64];
	int parent = 0, ret, len;
	const fdt32_t *reg = fdt_getprop(h->blob, h->node, "reg", &len);

	if (h->addr_cells != 2 || h->size_cells != 2) {
		/* The node's own context, 1:1 into the root's. */
		snprintf(name, sizeof(name), "vbridge-bus@%llx",
			 (unsigned long long)(reg ? cells_get(reg, h->addr_cells) : 0));
		parent = fdt_add_subnode(fdt, 0, name);
		if (parent < 0)
			return parent;
		ret = fdt_setprop_string(fdt, parent, "compatible", "simple-bus");
		if (!ret)
			ret = fdt_setprop_u32(fdt, parent, "#address-cells",
					      h->addr_cells);
		if (!ret)
			ret = fdt_setprop_u32(fdt, parent, "#size-cells",
					      h->size_cells);
		if (!ret)
			ret = fdt_setprop(fdt, parent, "ranges", NULL, 0);
		if (ret < 0)
			return ret;
	}
	return host_dt_copy(fdt, parent, h, h->node, true);
}

void arm64_pci_host_dt_free(struct arm64_pci_host_dt *h)
{
	free(h->blob);
	free(h->imap);
	h->blob = NULL;
	h->imap = NULL;
}
