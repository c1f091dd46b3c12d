// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of user/arch/arm64/pci_host_dt.c (vbridge run --pci-host-dt):
 * the configuration guide's node (dts/guest-arm64-cvm2rb-cam.dtsi) is
 * accepted against the device of dts/arm64-vm3-cvm2rb-pci.dts, as source
 * and as a .dtbo, and goes into the guest's tree as written: in its own
 * #address-cells 2 / #size-cells 1 context, &gic the VMM's GIC, its
 * interrupt-map re-encoded for that GIC's two unit address cells.  Every
 * way of not matching the declaration is refused with one line.
 */
#include <errno.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/arm64/fdt.h"
#include "arch/arm64/pci_host_dt.h"
#include "bridge/frontend.h"
#include "ctl/overlay.h"
#include "arm64_example.h"
#include "tap.h"

#define GUIDE_NODE	"dts/guest-arm64-cvm2rb-cam.dtsi"

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\n", stdout);
}

static void example(struct bridge_fe_device *d)
{
	arm64_example_device(d);
}

static int load_and_parse(const char *path, struct arm64_pci_host_dt *h,
			  char *err, size_t errlen)
{
	struct bridge_fe_device d;
	void *blob;
	size_t size;
	int ret;

	example(&d);
	ret = arm64_pci_host_dt_load(path, &blob, &size, err, errlen);
	if (ret)
		return ret;
	return arm64_pci_host_dt_parse(h, blob, size, 3, &d, 1, err, errlen);
}

/* Write text to a temporary file; returns its path (static buffer). */
static const char *tmp_file(const void *text, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_pci_host_dt.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		perror("temporary file");
		exit(1);
	}
	close(fd);
	return path;
}

static uint32_t cell(const void *fdt, const char *path, const char *prop,
		     unsigned int i)
{
	int node = fdt_path_offset(fdt, path), len;
	const fdt32_t *p = node < 0 ? NULL : fdt_getprop(fdt, node, prop, &len);

	return p && (int)(4 * i) < len ? fdt32_to_cpu(p[i]) : 0xdeadbeef;
}

static int prop_len(const void *fdt, const char *path, const char *prop)
{
	int node = fdt_path_offset(fdt, path), len = -1;

	if (node >= 0 && !fdt_getprop(fdt, node, prop, &len))
		len = -1;
	return len;
}

static void test_guide_node(void)
{
	static uint8_t fdt[64 << 10];
	const char *pcie = "/vbridge-bus@10000/pci";
	struct arm64_pci_host_dt h;
	char err[512] = "";
	int ret;

	ret = load_and_parse(GUIDE_NODE, &h, err, sizeof(err));
	TAP_EQ_INT(ret, 0, "guide: the guide's node is accepted");
	if (ret) {
		diag("%s", err);
		return;
	}
	TAP_CHECK(h.cam && h.dev == 0, "guide: CAM, for the declared device");
	TAP_CHECK(h.addr_cells == 2 && h.size_cells == 1,
		  "guide: its context is #address-cells 2, #size-cells 1 (the defaults)");
	TAP_EQ_INT(h.first_slot, 1, "guide: slot 1 is line 0 (SPI 3)");
	TAP_EQ_INT(h.imap_cells, 20 * (4 + 1 + ARM64_FDT_GIC_ADDR_CELLS + 3),
		   "guide: 20 interrupt-map entries, for a GIC with unit address cells");

	fdt_create_empty_tree(fdt, sizeof(fdt));
	fdt_setprop_u32(fdt, 0, "#address-cells", 2);
	fdt_setprop_u32(fdt, 0, "#size-cells", 2);
	TAP_EQ_INT(arm64_pci_host_dt_add(fdt, &h), 0, "guide: added to the guest's tree");
	TAP_CHECK(!fdt_node_check_compatible(fdt, fdt_path_offset(fdt, "/vbridge-bus@10000"),
					     "simple-bus") &&
		  cell(fdt, "/vbridge-bus@10000", "#address-cells", 0) == 2 &&
		  cell(fdt, "/vbridge-bus@10000", "#size-cells", 0) == 1 &&
		  prop_len(fdt, "/vbridge-bus@10000", "ranges") == 0,
		  "guide: in a simple-bus with its context, 1:1 (empty ranges)");
	TAP_CHECK(!fdt_node_check_compatible(fdt, fdt_path_offset(fdt, pcie),
					     "pci-host-cam-generic"),
		  "guide: its node, pci, is pci-host-cam-generic");
	TAP_CHECK(prop_len(fdt, pcie, "reg") == 12 && cell(fdt, pcie, "reg", 0) == 0 &&
		  cell(fdt, pcie, "reg", 1) == 0x10000 &&
		  cell(fdt, pcie, "reg", 2) == 0x1000000,
		  "guide: reg as written, <0x0 0x10000 0x1000000>");
	TAP_CHECK(prop_len(fdt, pcie, "ranges") == 28 &&
		  cell(fdt, pcie, "ranges", 0) == 0x3000000 &&
		  cell(fdt, pcie, "ranges", 4) == 0x01010000 &&
		  cell(fdt, pcie, "ranges", 6) == 0x100000,
		  "guide: ranges as written");
	TAP_CHECK(prop_len(fdt, pcie, "bus-range") == 8 &&
		  cell(fdt, pcie, "bus-range", 1) == 0 &&
		  prop_len(fdt, pcie, "dma-coherent") == 0 &&
		  cell(fdt, pcie, "interrupt-map-mask", 0) == 0xf800 &&
		  cell(fdt, pcie, "interrupt-map-mask", 3) == 7,
		  "guide: bus-range, dma-coherent, interrupt-map-mask as written");
	/* Entry: 0x0800 0 0 1, GIC phandle, 0 0 (unit address), 0 3 4. */
	TAP_CHECK(cell(fdt, pcie, "interrupt-map", 0) == 0x800 &&
		  cell(fdt, pcie, "interrupt-map", 3) == 1 &&
		  cell(fdt, pcie, "interrupt-map", 4) == ARM64_FDT_PHANDLE_GIC &&
		  cell(fdt, pcie, "interrupt-map", 5) == 0 &&
		  cell(fdt, pcie, "interrupt-map", 6) == 0 &&
		  cell(fdt, pcie, "interrupt-map", 7) == 0 &&
		  cell(fdt, pcie, "interrupt-map", 8) == 3 &&
		  cell(fdt, pcie, "interrupt-map", 9) == 4,
		  "guide: slot 1 -> &gic (the VMM's), SPI 3, level");
	TAP_CHECK(cell(fdt, pcie, "interrupt-map", 190) == 0xa000 &&
		  cell(fdt, pcie, "interrupt-map", 194) == ARM64_FDT_PHANDLE_GIC &&
		  cell(fdt, pcie, "interrupt-map", 198) == 0x16 &&
		  prop_len(fdt, pcie, "interrupt-map") == 200 * 4,
		  "guide: the last entry is slot 0x14 -> SPI 0x16");
	arm64_pci_host_dt_free(&h);
}

/* The same node as a .dtbo (dtc -@ of an overlay), and in a 2/2 context. */
static void test_dtbo(void)
{
	static const char ovl[] =
		"/dts-v1/;\n/plugin/;\n&{/} {\n"
		"#address-cells = <2>; #size-cells = <2>;\n"
		"pcie@10000 { compatible = \"pci-host-ecam-generic\";"
		" device_type = \"pci\"; #address-cells = <3>; #size-cells = <2>;"
		" reg = <0x0 0x10000 0x0 0x1000000>; bus-range = <0x0 0xf>;"
		" ranges = <0x2000000 0x0 0x01010000 0x0 0x01010000 0x0 0x80000>;"
		" #interrupt-cells = <1>; interrupt-map-mask = <0xf800 0 0 0>;"
		" interrupt-map = <0x0 0 0 0 &gic 0 0 0 0x03 4>,"
		" <0x800 0 0 0 &gic 0 0 0 0x04 4>; };\n};\n";
	static uint8_t fdt[16 << 10];
	struct arm64_pci_host_dt h;
	char err[512] = "";
	const char *path;
	void *blob;
	size_t size;
	int ret;

	ret = overlay_compile("dtbo", ovl, sizeof(ovl) - 1, &blob, &size, err,
			      sizeof(err));
	TAP_EQ_INT(ret, 0, "dtbo: compiled by dtc -@");
	if (ret) {
		diag("%s", err);
		return;
	}
	/* Cut short: refused before libfdt walks it. */
	path = tmp_file(blob, size - 16);
	ret = load_and_parse(path, &h, err, sizeof(err));
	unlink(path);
	TAP_CHECK(ret == -EINVAL && strstr(err, "--pci-host-dt: device tree: truncated"),
		  "dtbo: a truncated blob is refused");
	if (!ret)
		arm64_pci_host_dt_free(&h);
	path = tmp_file(blob, size);
	ret = load_and_parse(path, &h, err, sizeof(err));
	unlink(path);
	free(blob);
	TAP_EQ_INT(ret, 0, "dtbo: an ECAM node with GIC unit addresses, in a 2/2 parent");
	if (ret) {
		diag("%s", err);
		return;
	}
	TAP_CHECK(!h.cam && h.addr_cells == 2 && h.size_cells == 2 && h.first_slot == 0,
		  "dtbo: ECAM, 2/2 context, slot 0 first");
	fdt_create_empty_tree(fdt, sizeof(fdt));
	TAP_EQ_INT(arm64_pci_host_dt_add(fdt, &h), 0, "dtbo: added");
	TAP_CHECK(fdt_path_offset(fdt, "/pcie@10000") >= 0 &&
		  cell(fdt, "/pcie@10000", "interrupt-map", 4) == ARM64_FDT_PHANDLE_GIC &&
		  cell(fdt, "/pcie@10000", "interrupt-map", 8) == 3 &&
		  cell(fdt, "/pcie@10000", "interrupt-map", 18) == 4,
		  "dtbo: 2/2 context: straight under the root, entries kept");
	arm64_pci_host_dt_free(&h);
}

/*
 * The guide's node with up to two properties replaced (name NULL: none;
 * value NULL: left out); root holds extra text for the root node.
 */
static const char *node_src2(const char *root, const char *name,
			     const char *value, const char *name2,
			     const char *value2)
{
	static char src[8192];
	static const char *const props[][2] = {
		{ "compatible", "\"pci-host-cam-generic\"" },
		{ "device_type", "\"pci\"" },
		{ "#address-cells", "<3>" },
		{ "#size-cells", "<2>" },
		{ "reg", "<0x0 0x10000 0x1000000>" },
		{ "bus-range", "<0x0 0x0>" },
		{ "ranges", "<0x3000000 0x0 0x01010000 0x0 0x01010000 0x0 0x00100000>" },
		{ "#interrupt-cells", "<1>" },
		{ "interrupt-map-mask", "<0xf800 0x0 0x0 0x7>" },
		{ "interrupt-map", "<0x0800 0 0 1 &gic 0x0 0x03 0x4>, <0x1000 0 0 1 &gic 0x0 0x04 0x4>" },
	};
	size_t n = 0;
	unsigned int i;

	n += snprintf(src + n, sizeof(src) - n, "/ {\n%s\npcie@10000 {\n", root);
	for (i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
		bool mine = name && !strcmp(props[i][0], name);
		bool mine2 = name2 && !strcmp(props[i][0], name2);
		const char *v = mine ? value : mine2 ? value2 : props[i][1];

		if (!v)
			continue;
		n += snprintf(src + n, sizeof(src) - n, "%s = %s;\n", props[i][0], v);
	}
	snprintf(src + n, sizeof(src) - n, "dma-coherent;\n};\n};\n");
	return src;
}

static const char *node_src(const char *root, const char *name,
			    const char *value)
{
	return node_src2(root, name, value, NULL, NULL);
}

static void refused(const char *what, const char *src, const char *want)
{
	struct arm64_pci_host_dt h;
	char err[512] = "", msg[160];
	const char *path = tmp_file(src, strlen(src));
	int ret = load_and_parse(path, &h, err, sizeof(err));

	unlink(path);
	snprintf(msg, sizeof(msg), "refused: %s", what);
	TAP_CHECK(ret < 0 && strstr(err, want) && !strchr(err, '\n'), msg);
	if (ret >= 0 || !strstr(err, want))
		diag("ret %d, err: %s (wanted \"%s\")", ret, err, want);
	if (!ret)
		arm64_pci_host_dt_free(&h);
}

static void test_refused(void)
{
	refused("reg is not the declared config window",
		node_src("", "reg", "<0x0 0x20000 0x1000000>"),
		"is not the config window of a device declared for vmid 3: 'cvm2rb-pci' declares (0x10000, 0x1000000 bytes)");
	refused("reg smaller than the declared config window",
		node_src("", "reg", "<0x0 0x10000 0x10000>"),
		"is not the config window");
	refused("reg of 3 cells in a 2/2 parent",
		node_src("#address-cells = <2>; #size-cells = <2>;", NULL, NULL),
		"one address of 2 cells and one size of 2 cells");
	refused("ranges beyond the BAR window",
		node_src("", "ranges", "<0x3000000 0x0 0x01010000 0x0 0x01010000 0x0 0x00200000>"),
		"ranges entry 0 (0x1010000, 0x200000 bytes) is not inside a BAR window");
	refused("ranges over the config window",
		node_src("", "ranges", "<0x2000000 0x0 0x00010000 0x0 0x00010000 0x0 0x1000>"),
		"is not inside a BAR window");
	refused("ranges not 1:1",
		node_src("", "ranges", "<0x3000000 0x0 0x0 0x0 0x01010000 0x0 0x00100000>"),
		"maps PCI 0x0 to CPU 0x1010000");
	refused("ranges of I/O space",
		node_src("", "ranges", "<0x1000000 0x0 0x01010000 0x0 0x01010000 0x0 0x1000>"),
		"is I/O space");
	refused("no ranges", node_src("", "ranges", NULL), "ranges must list the BAR windows");
	refused("an SPI that is not a declared line",
		node_src("", "interrupt-map", "<0x0800 0 0 1 &gic 0x0 0x40 0x4>"),
		"entry 0 (slot 1) is SPI 64, not one of the interrupt lines declared for 'cvm2rb-pci'");
	refused("a PPI",
		node_src("", "interrupt-map", "<0x0800 0 0 1 &gic 0x1 0x03 0x4>"),
		"is not an SPI");
	refused("edge-triggered on a level line",
		node_src("", "interrupt-map", "<0x0800 0 0 1 &gic 0x0 0x03 0x1>"),
		"gives SPI 3 flags 1; its declared line is level-triggered (4)");
	refused("a label other than &gic",
		node_src("", "interrupt-map", "<0x0800 0 0 1 &intc 0x0 0x03 0x4>"),
		"&intc cannot be resolved");
	refused("an interrupt controller of its own",
		node_src("mygic: intc { interrupt-controller; #interrupt-cells = <3>; };",
			 "interrupt-map", "<0x0800 0 0 1 &mygic 0x0 0x03 0x4>"),
		"entry 0 does not refer to &gic");
	refused("entries of different lengths",
		node_src("", "interrupt-map", "<0x0800 0 0 1 &gic 0x0 0x03 0x4>, <0x1000 0 0 1 &gic 0 0x0 0x04 0x4>"),
		"entry 1 has 4 cells after &gic");
	refused("a non-zero GIC unit address",
		node_src("", "interrupt-map", "<0x0800 0 0 1 &gic 0x5 0x0 0x0 0x03 0x4>"),
		"non-zero unit address");
	refused("#interrupt-cells 2",
		node_src("", "#interrupt-cells", "<2>"),
		"#interrupt-cells must be <1>");
	refused("no interrupt-map-mask",
		node_src("", "interrupt-map-mask", NULL),
		"interrupt-map needs an interrupt-map-mask of 4 cells");
	refused("bus-range from bus 1",
		node_src("", "bus-range", "<0x1 0x1>"), "bus-range must start at bus 0");
	refused("ECAM with no bus-range: 256 MiB of buses in 16 MiB",
		node_src2("", "compatible", "\"pci-host-ecam-generic\"", "bus-range", NULL),
		"bus-range must start at bus 0 and fit the config window (1024 KiB a bus with ECAM)");
	refused("no device_type", node_src("", "device_type", NULL),
		"needs device_type = \"pci\"");
	refused("no PCI host node",
		node_src("", "compatible", "\"simple-bus\""),
		"no node with compatible \"pci-host-cam-generic\" or \"pci-host-ecam-generic\"");
	refused("two PCI hosts",
		node_src("pcie@2000000 { compatible = \"pci-host-ecam-generic\"; };", NULL, NULL),
		"are both PCI hosts");
	refused("source dtc refuses", "/ { pcie@10000 { reg = <0x0; }; };", "");
}

/*
 * The guide's node compiled, its /__fixups__/gic replaced by fix (len
 * bytes), then parsed; a property "other" = <0x0> of another root node
 * may be referred to.  Returns parse's result (1000 when the source
 * does not compile); on success the caller frees h.
 */
static int with_fixups(const char *fix, int len, struct arm64_pci_host_dt *h,
		       char *err, size_t errlen)
{
	static const char extra[] = "other { other = <0x0>; };";
	static char src[8192 + 32];
	struct bridge_fe_device d;
	void *blob, *big;
	size_t size;
	int ret, node;

	example(&d);
	snprintf(src, sizeof(src), "/dts-v1/;\n/plugin/;\n%s",
		 node_src(extra, NULL, NULL));
	ret = overlay_compile("fixups", src, strlen(src), &blob, &size, err,
			      errlen);
	if (ret)
		return 1000;
	big = calloc(1, size + 4096);
	if (!big || fdt_open_into(blob, big, size + 4096))
		exit(1);
	free(blob);
	node = fdt_path_offset(big, "/__fixups__");
	if (node < 0 || fdt_setprop(big, node, "gic", fix, len) ||
	    fdt_pack(big))
		exit(1);
	return arm64_pci_host_dt_parse(h, big, fdt_totalsize(big), 3, &d, 1,
				       err, errlen);
}

/* A /__fixups__ written by hand rather than by dtc. */
static void test_hostile_fixups(void)
{
	/*
	 * 8589934608 is 16 + 2^33: as a 32-bit offset it is entry 0's &gic,
	 * as a cell index far beyond the property.
	 */
	static const char wide[] =
		"/pcie@10000:interrupt-map:16\0/pcie@10000:interrupt-map:48\0"
		"/pcie@10000:interrupt-map:8589934608";
	/* 2^32 - 4: libfdt's bounds check wraps, and writes before it. */
	static const char before[] =
		"/pcie@10000:interrupt-map:16\0/pcie@10000:interrupt-map:4294967292";
	static const char unterminated[] = "/pcie@10000:interrupt-map:16";
	static const char compat[] =
		"/pcie@10000:interrupt-map:16\0/pcie@10000:interrupt-map:48\0"
		"/pcie@10000:compatible:0";
	static const char outside[] =
		"/pcie@10000:interrupt-map:16\0/pcie@10000:interrupt-map:48\0"
		"/other:other:0";
	static const char no_offset[] = "/pcie@10000:interrupt-map:";
	struct arm64_pci_host_dt h;
	char err[512] = "";
	int ret;

	ret = with_fixups(wide, sizeof(wide), &h, err, sizeof(err));
	TAP_CHECK(ret == -EINVAL && strstr(err, "a reference to &gic (\"/pcie@10000:interrupt-map:8589934608\") does not fit the tree"),
		  "fixups: an offset past 32 bits is refused, not truncated");
	if (ret != -EINVAL)
		diag("ret %d, err: %s", ret, err);
	ret = with_fixups(before, sizeof(before), &h, err, sizeof(err));
	TAP_CHECK(ret == -EINVAL && strstr(err, "interrupt-map:4294967292\") does not fit the tree"),
		  "fixups: an offset that wraps libfdt's bounds check is refused");
	ret = with_fixups(unterminated, sizeof(unterminated) - 1, &h, err,
			  sizeof(err));
	TAP_CHECK(ret == -EINVAL && strstr(err, "/__fixups__/gic is not a list of references"),
		  "fixups: a reference without its NUL is refused");
	ret = with_fixups(no_offset, sizeof(no_offset), &h, err, sizeof(err));
	TAP_CHECK(ret == -EINVAL && strstr(err, "does not fit the tree"),
		  "fixups: a reference without an offset is refused");
	ret = with_fixups(compat, sizeof(compat), &h, err, sizeof(err));
	TAP_CHECK(ret == -EINVAL && strstr(err, "lands in the node's compatible"),
		  "fixups: a reference into the node's compatible is refused");
	ret = with_fixups(outside, sizeof(outside), &h, err, sizeof(err));
	TAP_EQ_INT(ret, 0, "fixups: a reference outside the node is accepted");
	if (ret) {
		diag("%s", err);
		return;
	}
	TAP_CHECK(cell(h.blob, "/other", "other", 0) == 0,
		  "fixups: ... and not patched (only the node goes to the guest)");
	arm64_pci_host_dt_free(&h);
}

static void test_unreadable(void)
{
	void *blob;
	size_t size;
	char err[256] = "";

	TAP_EQ_INT(arm64_pci_host_dt_load("dts/does-not-exist.dtsi", &blob, &size,
					  err, sizeof(err)), -ENOENT,
		   "load: a missing file is -ENOENT");
	TAP_CHECK(strstr(err, "--pci-host-dt dts/does-not-exist.dtsi") != NULL,
		  "load: ... named in the message");
}

int main(void)
{
	test_guide_node();
	test_dtbo();
	test_refused();
	test_hostile_fixups();
	test_unreadable();
	return tap_done();
}
