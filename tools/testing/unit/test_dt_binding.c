// SPDX-License-Identifier: GPL-2.0
/*
 * The dt-schema binding (Documentation/virtio-bridge/dt-binding/): both
 * schemas pass dt-doc-validate, their examples and the dts/ examples pass
 * dt-validate, and a broken tree fails it on the expected properties (so
 * the schemas are really applied).  Needs dt-schema and python3; SKIPs
 * without them.  Run from the top of the tree.
 *
 * dt-validate skips overlay fragments, so the overlays are checked as
 * plain trees: "/plugin/;" dropped, "&{/}" made the root, with stub
 * interrupt controllers for the labels they refer to.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#define BINDINGS "Documentation/virtio-bridge/dt-binding"

static char tmpdir[] = "/tmp/vbridge-dt-binding-XXXXXX";
/* The Python dt-schema runs with (its scripts' #! line). */
static char python[256];

/* Run a shell command; its exit status, output (stdout+stderr) in out. */
static int sh(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int sh(char *out, size_t len, const char *fmt, ...)
{
	char cmd[4096];
	size_t n = 0;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (n + 1 < len && fgets(out + n, len - n, p))
		n += strlen(out + n);
	out[n] = '\0';
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void show(const char *out)
{
	const char *p = out, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		printf("#   %.*s\n", (int)(nl - p), p);
		p = *nl ? nl + 1 : nl;
	}
}

/* A root node for fragments: cells, and the labels the examples use. */
static const char stub_root[] =
	"\tcompatible = \"vbridge,test\";\n\tmodel = \"test\";\n"
	"\t#address-cells = <2>;\n\t#size-cells = <2>;\n"
	"\tgic: interrupt-controller@8000000 {\n\t\tcompatible = \"arm,gic-v3\";\n"
	"\t\t#interrupt-cells = <3>;\n\t\t#address-cells = <2>;\n\t\t#size-cells = <2>;\n"
	"\t\tinterrupt-controller;\n\t\treg = <0x0 0x08000000 0x0 0x10000>;\n\t};\n"
	"\tioapic: interrupt-controller@fec00000 {\n\t\tcompatible = \"intel,ce4100-ioapic\";\n"
	"\t\t#interrupt-cells = <2>;\n\t\t#address-cells = <2>;\n\t\t#size-cells = <2>;\n"
	"\t\tinterrupt-controller;\n\t\treg = <0x0 0xfec00000 0x0 0x1000>;\n\t};\n";

/*
 * dt-validate a tree made of the stub root and body (node text); 1 when
 * it reports nothing.  The report is left in out.
 */
static int validate(const char *name, const char *body, char *out, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dts", tmpdir, name);
	f = fopen(path, "w");
	if (!f)
		return 0;
	fprintf(f, "/dts-v1/;\n/ {\n%s%s\n};\n", stub_root, body);
	fclose(f);
	if (sh(out, len, "dtc -q -I dts -O dtb -o %s/%s.dtb %s", tmpdir, name, path)) {
		printf("# dtc failed on %s\n", path);
		show(out);
		return 0;
	}
	sh(out, len, "dt-validate -s %s/schema.json %s/%s.dtb", tmpdir, tmpdir, name);
	return out[0] == '\0';
}

/* The body of an overlay "&{/} { ... };" as plain node text. */
static char *overlay_body(const char *file)
{
	static char buf[16384];
	char *start, *end;
	size_t n;
	FILE *f = fopen(file, "r");

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	start = strstr(buf, "&{/} {");
	end = strrchr(buf, '}');
	if (!start || !end || end < start)
		return NULL;
	*end = '\0';
	return start + strlen("&{/} {");
}

/* The examples of a binding, joined, as node text (extracted with python). */
static int examples(const char *yaml, char *out, size_t len)
{
	return sh(out, len,
		  "%s -c 'import sys, ruamel.yaml as y; "
		  "d = y.YAML(typ=\"safe\").load(open(sys.argv[1])); "
		  "print(\"\\n\".join(d[\"examples\"]))' %s", python, yaml);
}

int main(void)
{
	static char out[65536], body[16384];
	static const char *const yamls[] = {
		BINDINGS "/vl,virtio-device-mmio.yaml",
		BINDINGS "/vl,virtio-bridge-vm.yaml",
	};
	static const char *const dts[] = {
		"dts/arm64-vm3-cvm2rb-pci.dts", "dts/x86_64-vm3-cvm2rb-pci.dts",
	};
	static const char broken[] =
		"\tvm3 {\n\t\tcompatible = \"vl,virtio-bridge-vm\";\n\t\tvl,vmid = <3>;\n"
		"\t\t#address-cells = <2>;\n\t\t#size-cells = <2>;\n\t\tvl,vm-typo = <1>;\n"
		"\t\tdev@10000 {\n\t\t\tcompatible = \"vl,virtio-device,mmio\";\n"
		"\t\t\treg = <0x0 0x10000 0x0 0x1000000>;\n\t\t\tinterrupts = <0 3 4>;\n"
		"\t\t\tvl,device-vmid = <2000>;\n\t\t\tvl,device-name = \"a b\";\n\t\t};\n"
		"\t\tnoname@20000 {\n\t\t\tcompatible = \"vl,virtio-device,mmio\";\n"
		"\t\t\treg = <0x0 0x20000 0x0 0x1000>;\n\t\t\tinterrupts = <0 5 4>;\n"
		"\t\t\tvl,device-vmid = <2>;\n\t\t};\n\t};\n";
	unsigned int i;
	char *b;

	if (sh(out, sizeof(out), "command -v dt-doc-validate && command -v dt-mk-schema && "
	       "command -v dt-validate") ||
	    sh(python, sizeof(python), "head -n1 \"$(command -v dt-doc-validate)\" | "
	       "sed -n 's/^#! *//p' | cut -d' ' -f1") || !python[0] ||
	    (python[strcspn(python, "\n")] = '\0',
	     sh(out, sizeof(out), "%s -c 'import ruamel.yaml'", python))) {
		printf("ok 1 - dt-schema binding # SKIP dt-schema not installed\n1..1\n");
		return 0;
	}
	if (!mkdtemp(tmpdir)) {
		printf("not ok 1 - temporary folder\n1..1\n");
		return 1;
	}
	for (i = 0; i < 2; i++) {
		int ret = sh(out, sizeof(out), "dt-doc-validate -u %s %s", BINDINGS, yamls[i]);

		if (!TAP_CHECK(ret == 0 && !out[0], yamls[i]))
			show(out);
	}
	if (!TAP_CHECK(sh(out, sizeof(out), "dt-mk-schema -j -o %s/schema.json %s", tmpdir,
			  BINDINGS) == 0, "dt-mk-schema"))
		show(out);
	for (i = 0; i < 2; i++) {
		char what[128];

		snprintf(what, sizeof(what), "examples of %s validate", strrchr(yamls[i], '/') + 1);
		if (examples(yamls[i], body, sizeof(body))) {
			TAP_CHECK(0, what);
			show(body);
			continue;
		}
		if (!TAP_CHECK(validate(i ? "vm-example" : "dev-example", body, out,
					sizeof(out)), what))
			show(out);
	}
	for (i = 0; i < 2; i++) {
		char what[128];

		snprintf(what, sizeof(what), "%s validates", dts[i]);
		b = overlay_body(dts[i]);
		if (!b) {
			TAP_CHECK(0, what);
			continue;
		}
		if (!TAP_CHECK(validate(i ? "x86" : "arm64", b, out, sizeof(out)), what))
			show(out);
	}
	TAP_CHECK(!validate("broken", broken, out, sizeof(out)), "a broken tree fails");
	show(out);
	TAP_CHECK(strstr(out, "vl,device-vmid") != NULL, "broken: backend vmid out of range");
	TAP_CHECK(strstr(out, "vl,device-name") != NULL, "broken: bad name");
	TAP_CHECK(strstr(out, "vl,vm-typo") != NULL, "broken: unknown vm property");
	TAP_CHECK(strstr(out, "noname@20000") != NULL, "broken: missing name");
	sh(out, sizeof(out), "rm -rf %s", tmpdir);
	return tap_done();
}
