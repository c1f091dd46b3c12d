// SPDX-License-Identifier: GPL-2.0
/*
 * vbridge ctl load / unload: device-tree overlays in, device declarations
 * (VBRIDGE_CMD_DEV_ADD / DEV_DEL) out.  A load is all or nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl/subcmd.h"
#include "ctl/dt.h"
#include "ctl/overlay.h"
#include "lib/log.h"

static void load_usage(FILE *f)
{
	fprintf(f,
		"Usage: vbridge ctl load [-n] OVERLAY...\n"
		"\n"
		"Declare every enabled \"" DT_COMPAT_DEV "\" node of the overlays, each\n"
		"inside a \"" DT_COMPAT_VM "\" node that names its frontend VM\n"
		"(Documentation/virtio-bridge/ctl.rst).  OVERLAY is a flattened blob\n"
		"(.dtbo, .dtb) or device-tree source, compiled with dtc -@.  The backend\n"
		"node /dev/virtio/vmN/NAME of each device appears at once, owned by\n"
		"vl,provider-uid/vl,provider-gid with mode vl,node-mode (root, root, 0600\n"
		"by default); then vl,vmm-uid/vl,vmm-gid of a vm node say who may attach\n"
		"the vmid (CAP_SYS_ADMIN only without them).\n"
		"\n"
		"All or nothing: if the module refuses a device, the ones this command\n"
		"declared before it are removed again.\n"
		"\n"
		"  -n, --dry-run  check the overlays and print the declarations only\n"
		"  -h, --help     this text\n");
}

static void unload_usage(FILE *f)
{
	fprintf(f,
		"Usage: vbridge ctl unload OVERLAY|DEVICE...\n"
		"\n"
		"Remove the devices an overlay declares, or the devices named (vmN/NAME,\n"
		"/dev/virtio/vmN/NAME, or a NAME only one VM uses).  An argument that is\n"
		"an existing file is an overlay.  Each device is removed even when\n"
		"another one fails; the exit status is 1 if any did.  A vmid left with no\n"
		"device loses its owner (vl,vmm-uid, vl,vmm-gid, or what `set vmN` gave\n"
		"it): only CAP_SYS_ADMIN may attach it until an overlay or `set` gives\n"
		"it one again.\n");
}

/* Who may attach the device's VM, as its vm node says. */
static void print_vmm(FILE *f, const struct dt_device *d)
{
	if (d->has_vmm_uid && d->has_vmm_gid)
		fprintf(f, "attached by uid %u or group %u\n", d->vmm_uid, d->vmm_gid);
	else if (d->has_vmm_uid)
		fprintf(f, "attached by uid %u\n", d->vmm_uid);
	else if (d->has_vmm_gid)
		fprintf(f, "attached by group %u\n", d->vmm_gid);
	else
		fprintf(f, "attached with CAP_SYS_ADMIN only\n");
}

static void print_decl(FILE *f, const struct dt_device *d)
{
	unsigned int i;
	char be[16];

	if (d->backend_vmid)
		snprintf(be, sizeof(be), "vm%u", d->backend_vmid);
	else
		snprintf(be, sizeof(be), "host");
	fprintf(f, "vm%u/%s  backend %s  node %s\n", d->vmid, d->name, be, d->node);
	for (i = 0; i < d->nr_windows; i++)
		fprintf(f, "  window %u  0x%llx..0x%llx  %s\n", i,
			(unsigned long long)d->windows[i].addr,
			(unsigned long long)(d->windows[i].addr + d->windows[i].size - 1), i ? "BAR" : "ECAM");
	fprintf(f, "  lines   ");
	for (i = 0; i < d->nr_irqs; i++)
		fprintf(f, " %u%s", d->irqs[i].num,
			d->irqs[i].flags & VBRIDGE_IRQ_F_LEVEL ? "" : "(edge)");
	fprintf(f, "\n");
	fprintf(f, "  node     owner %u group %u mode 0%03o\n",
		d->has_provider_uid ? d->provider_uid : 0,
		d->has_provider_gid ? d->provider_gid : 0,
		d->has_node_mode ? d->node_mode : 0600);
	fprintf(f, "  vm%u     ", d->vmid);
	print_vmm(f, d);
}

/* A vmid's owner before `load` replaced it. */
struct prev_owner {
	struct ctl_override owner;
	bool replaced;
};

/*
 * The owner @vmid has now, from a device dump (every device of a vmid
 * carries its owner), or none; false when no device of @vmid is
 * declared.
 */
static bool owner_of(const struct ctl_dev *devs, int n, uint32_t vmid,
		     struct ctl_override *o)
{
	int i;

	*o = (struct ctl_override){ .vm_set = CTL_VM_UID | CTL_VM_GID,
		.vmm_uid = VBRIDGE_ID_NONE, .vmm_gid = VBRIDGE_ID_NONE };
	for (i = 0; i < n; i++) {
		if (devs[i].vmid != vmid)
			continue;
		o->vmm_uid = devs[i].vmm_uid;
		o->vmm_gid = devs[i].vmm_gid;
		return true;
	}
	return false;
}

/* Read and parse one overlay; returns 0 or an EXIT_* status after a message. */
static int load_file(const char *path, struct dt_devices *out)
{
	char err[DT_ERR_MAX];
	size_t size;
	void *blob;
	int ret;

	ret = overlay_read(path, &blob, &size, err, sizeof(err));
	if (ret) {
		log_error("%s", err);
		return ret == -ENOEXEC || ret == -ENOMEM ? EXIT_FAIL : EXIT_USAGE;
	}
	ret = dt_parse_devices(blob, size, out, err, sizeof(err));
	free(blob);
	if (ret) {
		log_error("%s: %s", path, err);
		return ret == -ENOMEM ? EXIT_FAIL : EXIT_USAGE;
	}
	if (!out->nr) {
		log_error("%s: no enabled \"" DT_COMPAT_DEV "\" node inside a \"" DT_COMPAT_VM
			  "\" node", path);
		dt_devices_free(out);
		return EXIT_USAGE;
	}
	return 0;
}

/* Every overlay's devices in one list; the same device twice is refused. */
static int load_all(int argc, char **argv, struct dt_devices *all)
{
	int i, ret;

	memset(all, 0, sizeof(*all));
	for (i = 0; i < argc; i++) {
		struct dt_devices one;
		unsigned int j, k;

		ret = load_file(argv[i], &one);
		if (ret)
			goto fail;
		for (j = 0; j < one.nr; j++) {
			for (k = 0; k < all->nr; k++) {
				if (all->dev[k].vmid == one.dev[j].vmid &&
				    !strcmp(all->dev[k].name, one.dev[j].name)) {
					log_error("%s: vm%u/%s is declared twice (%s)", argv[i],
						  one.dev[j].vmid, one.dev[j].name, all->dev[k].node);
					dt_devices_free(&one);
					ret = EXIT_USAGE;
					goto fail;
				}
			}
		}
		if (one.nr) {
			struct dt_device *v = realloc(all->dev, (all->nr + one.nr) * sizeof(*v));

			if (!v) {
				dt_devices_free(&one);
				log_error("out of memory");
				ret = EXIT_FAIL;
				goto fail;
			}
			memcpy(v + all->nr, one.dev, one.nr * sizeof(*v));
			all->dev = v;
			all->nr += one.nr;
			all->cap = all->nr;
		}
		dt_devices_free(&one);
	}
	return 0;
fail:
	dt_devices_free(all);
	return ret;
}

int ctl_cmd_load(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct prev_owner *prev = NULL;
	struct ctl_dev *devs = NULL;
	struct dt_devices all;
	int opt, ret, ndevs = 0;
	struct ctl_nl c;
	bool dry = false;
	unsigned int i, j;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+nh", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			dry = true;
			break;
		case 'h':
			load_usage(stdout);
			return EXIT_OK;
		default:
			load_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		log_error("load: no overlay given");
		load_usage(stderr);
		return EXIT_USAGE;
	}
	ret = load_all(argc - optind, argv + optind, &all);
	if (ret)
		return ret;
	if (dry) {
		for (i = 0; i < all.nr; i++)
			print_decl(stdout, &all.dev[i]);
		dt_devices_free(&all);
		return EXIT_OK;
	}
	ret = ctl_open(&c);
	if (ret) {
		dt_devices_free(&all);
		return ret;
	}
	for (i = 0; i < all.nr; i++) {
		const struct dt_device *d = &all.dev[i];
		int err = ctl_nl_dev_add(&c, d);

		if (err) {
			ret = ctl_report(&c, err, "declaring", d->vmid, d->name);
			log_info("  (declared by %s)", d->node);
			break;
		}
		printf("declared vm%u/%s\n", d->vmid, d->name);
	}
	/*
	 * Then the owners of their VMs, once per vmid (dt.c made them
	 * agree), each vmid's owner before it kept in prev[] to be put back
	 * if a later one fails.
	 */
	if (!ret) {
		ndevs = ctl_nl_dev_dump(&c, &devs);
		prev = calloc(all.nr ? all.nr : 1, sizeof(*prev));
		if (ndevs < 0 || !prev) {
			log_error("reading the owners of the VMs before setting them: %s",
				  strerror(ndevs < 0 ? -ndevs : ENOMEM));
			ret = EXIT_FAIL;
		}
	}
	for (j = 0; !ret && j < all.nr; j++) {
		const struct dt_device *d = &all.dev[j];
		struct ctl_override o = { .vmm_uid = VBRIDGE_ID_NONE, .vmm_gid = VBRIDGE_ID_NONE };
		unsigned int k;
		int err;

		for (k = 0; k < j && all.dev[k].vmid != d->vmid; k++)
			;
		if (k < j || (!d->has_vmm_uid && !d->has_vmm_gid))
			continue;
		o.vm_set = CTL_VM_UID | CTL_VM_GID;
		if (d->has_vmm_uid)
			o.vmm_uid = d->vmm_uid;
		if (d->has_vmm_gid)
			o.vmm_gid = d->vmm_gid;
		owner_of(devs, ndevs, d->vmid, &prev[j].owner);
		err = ctl_nl_vm_set(&c, d->vmid, &o);
		if (err) {
			log_error("setting the owner of vm%u: %s%s%s", d->vmid, strerror(-err),
				  c.ext_msg[0] ? ": " : "", c.ext_msg);
			ret = EXIT_FAIL;
			break;
		}
		prev[j].replaced = true;
		printf("vm%u: ", d->vmid);
		print_vmm(stdout, d);
	}
	if (ret) {
		/* Leave nothing of this command behind: the owners first. */
		while (prev && j-- > 0) {
			if (!prev[j].replaced)
				continue;
			if (ctl_nl_vm_set(&c, all.dev[j].vmid, &prev[j].owner))
				log_warn("could not put the owner of vm%u back", all.dev[j].vmid);
			else
				printf("vm%u: owner put back\n", all.dev[j].vmid);
		}
		while (i-- > 0) {
			const struct dt_device *d = &all.dev[i];

			if (ctl_nl_dev_del(&c, d->vmid, d->name))
				log_warn("could not remove vm%u/%s again", d->vmid, d->name);
			else
				printf("removed vm%u/%s again\n", d->vmid, d->name);
		}
	}
	ctl_nl_close(&c);
	free(prev);
	free(devs);
	dt_devices_free(&all);
	return ret;
}

static bool is_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int unload_one(struct ctl_nl *c, uint32_t vmid, const char *name, bool *touched)
{
	int err = ctl_nl_dev_del(c, vmid, name);

	if (err)
		return ctl_report(c, err, "removing", vmid, name);
	printf("removed vm%u/%s\n", vmid, name);
	if (vmid <= VBRIDGE_VMID_MAX)
		touched[vmid] = true;
	return 0;
}

/*
 * A vmid whose last device is gone loses its owner too, so that the next
 * overlay declaring devices for it starts from "CAP_SYS_ADMIN only" rather
 * than from whoever could attach it before.  @touched: the vmids this
 * command removed devices of; @before, @nbefore: the devices before it
 * (whose owner is the vmid's).
 */
static int unload_owners(struct ctl_nl *c, const bool *touched,
			 const struct ctl_dev *before, int nbefore)
{
	const struct ctl_override none = { .vm_set = CTL_VM_UID | CTL_VM_GID,
		.vmm_uid = VBRIDGE_ID_NONE, .vmm_gid = VBRIDGE_ID_NONE };
	struct ctl_override was, now;
	struct ctl_dev *after;
	int nafter, status = EXIT_OK;
	uint32_t vmid;

	nafter = ctl_nl_dev_dump(c, &after);
	if (nafter < 0) {
		log_error("reading the devices left, to remove the owners of emptied vmids: %s",
			  strerror(-nafter));
		return EXIT_FAIL;
	}
	for (vmid = 0; vmid <= VBRIDGE_VMID_MAX; vmid++) {
		if (!touched[vmid] || owner_of(after, nafter, vmid, &now) ||
		    !owner_of(before, nbefore, vmid, &was) ||
		    (was.vmm_uid == VBRIDGE_ID_NONE && was.vmm_gid == VBRIDGE_ID_NONE))
			continue;
		if (ctl_nl_vm_set(c, vmid, &none)) {
			log_error("vm%u has no device left, but its owner could not be removed%s%s",
				  vmid, c->ext_msg[0] ? ": " : "", c->ext_msg);
			status = EXIT_FAIL;
			continue;
		}
		printf("vm%u: no device left, owner removed (attached with CAP_SYS_ADMIN only)\n",
		       vmid);
	}
	free(after);
	return status;
}

int ctl_cmd_unload(int argc, char **argv)
{
	bool touched[VBRIDGE_VMID_MAX + 1] = { false };
	struct ctl_dev *before = NULL;
	int i, ret, nbefore, status = EXIT_OK;
	struct ctl_nl c;

	if (ctl_wants_help(argc, argv)) {
		unload_usage(stdout);
		return EXIT_OK;
	}
	if (argc < 2) {
		log_error("unload: nothing to remove");
		unload_usage(stderr);
		return EXIT_USAGE;
	}
	ret = ctl_open(&c);
	if (ret)
		return ret;
	nbefore = ctl_nl_dev_dump(&c, &before);
	if (nbefore < 0) {
		log_error("reading the devices declared now: %s", strerror(-nbefore));
		ctl_nl_close(&c);
		return EXIT_FAIL;
	}
	for (i = 1; i < argc; i++) {
		if (is_file(argv[i])) {
			struct dt_devices d;
			unsigned int j;

			ret = load_file(argv[i], &d);
			if (ret) {
				status = status ? status : ret;
				continue;
			}
			for (j = 0; j < d.nr; j++)
				if (unload_one(&c, d.dev[j].vmid, d.dev[j].name, touched))
					status = status ? status : EXIT_FAIL;
			dt_devices_free(&d);
		} else {
			char name[VBRIDGE_NAME_MAX];
			uint32_t vmid;

			ret = ctl_resolve(&c, argv[i], &vmid, name);
			if (!ret)
				ret = unload_one(&c, vmid, name, touched);
			if (ret)
				status = status ? status : ret;
		}
	}
	ret = unload_owners(&c, touched, before, nbefore);
	if (ret)
		status = status ? status : ret;
	free(before);
	ctl_nl_close(&c);
	return status;
}
