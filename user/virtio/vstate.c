// SPDX-License-Identifier: GPL-2.0
/* Saving and restoring virtio-pci devices under a running guest; see vstate.h. */
#include "virtio/vstate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct vstate_hdr) == 40, "vstate_hdr layout");
_Static_assert(sizeof(struct vstate_dev) == 40 + PCI_LEGACY_CFG_SIZE,
	       "vstate_dev layout");
_Static_assert(sizeof(struct vstate_queue) == 32, "vstate_queue layout");
_Static_assert(sizeof(struct vstate_ifl_hdr) == 40, "vstate_ifl_hdr layout");
_Static_assert(sizeof(struct vq_inflight) == 16, "vq_inflight layout");

__attribute__((format(printf, 3, 4)))
static int say(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static uint32_t fnv1a(uint32_t h, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x01000193u;
	}
	return h;
}

static uint32_t blob_checksum(const void *blob, size_t len)
{
	struct vstate_hdr h;

	/* The header with checksum 0, then the rest. */
	memcpy(&h, blob, sizeof(h));
	h.checksum = 0;
	return fnv1a(fnv1a(0x811c9dc5u, &h, sizeof(h)),
		     (const uint8_t *)blob + sizeof(h), len - sizeof(h));
}

void vstate_seal(void *blob, size_t len)
{
	struct vstate_hdr *h = blob;

	if (len >= sizeof(*h))
		h->checksum = blob_checksum(blob, len);
}

uint32_t vstate_seq(struct virtio_dev *const *devs, unsigned int n)
{
	uint32_t sum = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (devs[i])
			sum += virtio_dev_state_seq(devs[i]);
	return sum;
}

static struct virtio_queue_state *qs_alloc(const struct virtio_dev *vd)
{
	return calloc(vd->info.num_queues, sizeof(struct virtio_queue_state));
}

/* MSI-X vectors of vd, 0 without MSI-X. */
static unsigned int msix_nr(const struct virtio_dev *vd)
{
	return vd->msix.f ? vd->msix.nr : 0;
}

static size_t msix_bytes(const struct virtio_dev *vd)
{
	return msix_nr(vd) ? PCI_MSIX_STATE_SIZE(msix_nr(vd)) : 0;
}

static size_t dev_bytes(const struct virtio_dev *vd)
{
	return sizeof(struct vstate_dev) +
	       vd->info.num_queues * sizeof(struct vstate_queue) +
	       msix_bytes(vd);
}

/* Where device entry d's MSI-X state is. */
static const uint8_t *msix_at(const struct vstate_dev *d)
{
	return (const uint8_t *)((const struct vstate_queue *)(d + 1) +
				 d->num_queues);
}

ssize_t vstate_save(struct virtio_dev *const *devs, unsigned int n,
		    uint64_t generation, uint64_t cookie, void *buf, size_t cap)
{
	struct vstate_hdr *h = buf;
	size_t len = sizeof(*h);
	unsigned int i, q;
	uint8_t *p;

	for (i = 0; i < n; i++)
		len += dev_bytes(devs[i]);
	if (len > cap)
		return -ENOSPC;
	memset(buf, 0, len);
	*h = (struct vstate_hdr) {
		.magic = VSTATE_MAGIC,
		.version = VSTATE_VERSION,
		.hdr_len = sizeof(*h),
		.len = len,
		.generation = generation,
		.cookie = cookie,
		.nr_devs = n,
		.dev_len = sizeof(struct vstate_dev),
		.queue_len = sizeof(struct vstate_queue),
	};
	p = (uint8_t *)buf + sizeof(*h);
	for (i = 0; i < n; i++) {
		struct virtio_dev *vd = devs[i];
		struct vstate_dev *d = (struct vstate_dev *)p;
		struct vstate_queue *vq = (struct vstate_queue *)(d + 1);
		struct virtio_dev_state st = { .queues = qs_alloc(vd) };

		if (!st.queues)
			return -ENOMEM;
		virtio_dev_save(vd, &st);
		d->devfn = pci_func_devfn(&vd->func);
		d->device_id = vd->info.device_id;
		d->num_queues = vd->info.num_queues;
		d->queue_max = vd->info.queue_size;
		d->status = st.status;
		d->isr = st.isr;
		d->config_generation = st.config_generation;
		d->queue_select = st.queue_select;
		d->msix_config = st.msix_config;
		d->dfselect = st.dfselect;
		d->gfselect = st.gfselect;
		d->guest_features = st.guest_features;
		d->msix_nr = msix_nr(vd);
		d->msix_len = msix_bytes(vd);
		pci_func_save_cfg(&vd->func, d->cfg);
		for (q = 0; q < vd->info.num_queues; q++) {
			vq[q].size = st.queues[q].size;
			vq[q].enabled = st.queues[q].enabled;
			vq[q].msix_vector = st.queues[q].msix_vector;
			vq[q].desc = st.queues[q].desc;
			vq[q].driver = st.queues[q].driver;
			vq[q].device = st.queues[q].device;
		}
		if (d->msix_nr)
			pci_msix_save(&vd->msix, vq + vd->info.num_queues);
		free(st.queues);
		p += dev_bytes(vd);
	}
	vstate_seal(buf, len);
	return len;
}

uint64_t vstate_cookie(const void *blob)
{
	const struct vstate_hdr *h = blob;

	return h->cookie;
}

/* Device i of the blob into st; the blob is checked up to it. */
static void dev_load(const struct vstate_dev *d, struct virtio_dev_state *st)
{
	const struct vstate_queue *vq = (const struct vstate_queue *)(d + 1);
	unsigned int q;

	st->status = d->status;
	st->isr = d->isr;
	st->config_generation = d->config_generation;
	st->queue_select = d->queue_select;
	st->msix_config = d->msix_config;
	st->dfselect = d->dfselect;
	st->gfselect = d->gfselect;
	st->guest_features = d->guest_features;
	for (q = 0; q < d->num_queues; q++) {
		st->queues[q].size = vq[q].size;
		st->queues[q].enabled = vq[q].enabled;
		st->queues[q].msix_vector = vq[q].msix_vector;
		st->queues[q].desc = vq[q].desc;
		st->queues[q].driver = vq[q].driver;
		st->queues[q].device = vq[q].device;
	}
}

int vstate_check(struct virtio_dev *const *devs, unsigned int n,
		 const void *blob, size_t len, uint64_t generation, char *why,
		 size_t wlen)
{
	const struct vstate_hdr *h = blob;
	const uint8_t *p, *end;
	char msg[160];
	unsigned int i, q;

	if (!len) {
		say(why, wlen, "no state was saved");
		return -ESTALE;
	}
	if (len < sizeof(*h))
		return say(why, wlen, "%zu bytes are too short for a state (at least %zu)",
			   len, sizeof(*h));
	if (h->magic != VSTATE_MAGIC)
		return say(why, wlen, "not a device state (magic 0x%08x)", h->magic);
	if (h->version != VSTATE_VERSION)
		return say(why, wlen, "state is of format version %u, this vbridge reads version %u only (%s)",
			   h->version, VSTATE_VERSION,
			   h->version < VSTATE_VERSION ?
			   "saved by an older vbridge" : "saved by a newer vbridge");
	if (h->hdr_len != sizeof(*h) || h->dev_len != sizeof(struct vstate_dev) ||
	    h->queue_len != sizeof(struct vstate_queue))
		return say(why, wlen, "state format version %u (header %u, entries %u/%u bytes) is not this vbridge's %u",
			   h->version, h->hdr_len, h->dev_len, h->queue_len,
			   VSTATE_VERSION);
	if (h->len != len)
		return say(why, wlen, "state says it is %u bytes, it is %zu", h->len, len);
	if (h->checksum != blob_checksum(blob, len))
		return say(why, wlen, "state is damaged (checksum 0x%08x, expected 0x%08x)",
			   h->checksum, blob_checksum(blob, len));
	if (h->generation != generation) {
		say(why, wlen, "state is of VM generation %llu, not %llu",
		    (unsigned long long)h->generation,
		    (unsigned long long)generation);
		return -ESTALE;
	}
	if (h->nr_devs != n)
		return say(why, wlen, "state has %u devices, this provider serves %u",
			   h->nr_devs, n);
	p = (const uint8_t *)blob + sizeof(*h);
	end = (const uint8_t *)blob + len;
	for (i = 0; i < n; i++) {
		struct virtio_dev *vd = devs[i];
		const struct vstate_dev *d = (const struct vstate_dev *)p;
		struct virtio_dev_state st;
		const struct vstate_queue *vq;
		unsigned int devfn = pci_func_devfn(&vd->func);
		int bad;

		if ((size_t)(end - p) < sizeof(*d))
			return say(why, wlen, "state ends inside device %u", i);
		if (d->devfn != devfn || d->device_id != vd->info.device_id ||
		    d->num_queues != vd->info.num_queues ||
		    d->queue_max != vd->info.queue_size)
			return say(why, wlen, "state has virtio device %u with %u queues of %u at %02x.%x, this provider has %s (%u, %u queues of %u) there",
				   d->device_id, d->num_queues, d->queue_max,
				   PCI_SLOT(d->devfn), PCI_FUNC(d->devfn),
				   vd->info.name, vd->info.device_id,
				   vd->info.num_queues, vd->info.queue_size);
		if (d->msix_nr != msix_nr(vd))
			return say(why, wlen, "%s at %02x.%x: state has %u MSI-X vectors, the function has %u",
				   vd->info.name, PCI_SLOT(devfn), PCI_FUNC(devfn),
				   d->msix_nr, msix_nr(vd));
		if (d->msix_len != msix_bytes(vd))
			return say(why, wlen, "%s at %02x.%x: state has %u bytes of MSI-X table and pending bits, %u vectors take %zu",
				   vd->info.name, PCI_SLOT(devfn), PCI_FUNC(devfn),
				   d->msix_len, d->msix_nr, msix_bytes(vd));
		if ((size_t)(end - p) < dev_bytes(vd))
			return say(why, wlen, "state ends inside the queues or MSI-X table of device %u", i);
		if (d->reserved0 || d->reserved1)
			return say(why, wlen, "%s at %02x.%x: reserved fields are not 0",
				   vd->info.name, PCI_SLOT(devfn), PCI_FUNC(devfn));
		vq = (const struct vstate_queue *)(d + 1);
		for (q = 0; q < d->num_queues; q++)
			if (vq[q].reserved || vq[q].enabled > 1)
				return say(why, wlen, "%s at %02x.%x: queue %u: reserved fields are not 0",
					   vd->info.name, PCI_SLOT(devfn),
					   PCI_FUNC(devfn), q);
		if (pci_func_check_cfg(&vd->func, d->cfg))
			return say(why, wlen, "%s at %02x.%x: the saved configuration space is another function's",
				   vd->info.name, PCI_SLOT(devfn), PCI_FUNC(devfn));
		if (d->msix_nr &&
		    pci_msix_check(&vd->msix, msix_at(d), msg, sizeof(msg)))
			return say(why, wlen, "%s at %02x.%x: %s", vd->info.name,
				   PCI_SLOT(devfn), PCI_FUNC(devfn), msg);
		st.queues = qs_alloc(vd);
		if (!st.queues)
			return say(why, wlen, "out of memory");
		dev_load(d, &st);
		bad = virtio_dev_check_state(vd, &st, msg, sizeof(msg));
		free(st.queues);
		if (bad)
			return say(why, wlen, "%s at %02x.%x: %s", vd->info.name,
				   PCI_SLOT(devfn), PCI_FUNC(devfn), msg);
		p += dev_bytes(vd);
	}
	if (p != end)
		return say(why, wlen, "state has %zu bytes after its last device",
			   (size_t)(end - p));
	return 0;
}

size_t vstate_ifl_size(struct virtio_dev *const *devs, unsigned int n)
{
	size_t len = sizeof(struct vstate_ifl_hdr);
	unsigned int i;

	for (i = 0; i < n; i++)
		len += devs[i]->info.num_queues *
		       vq_inflight_bytes(devs[i]->info.queue_size);
	return len;
}

static uint32_t owner_of(const struct virtio_dev *vd, unsigned int q)
{
	return (uint32_t)pci_func_devfn(&vd->func) << 16 | q;
}

static void track_none(struct virtio_dev *const *devs, unsigned int n)
{
	unsigned int i, q;

	for (i = 0; i < n; i++)
		for (q = 0; q < devs[i]->info.num_queues; q++)
			virtio_dev_track(devs[i], q, NULL, 0);
}

int vstate_ifl_init(struct virtio_dev *const *devs, unsigned int n, void *mem,
		    size_t len, uint64_t generation, uint64_t cookie)
{
	size_t need = vstate_ifl_size(devs, n);
	struct vstate_ifl_hdr *h = mem;
	unsigned int i, q, nr = 0;
	uint8_t *p;

	track_none(devs, n);
	if (!mem)
		return 0;
	if (len < need)
		return -ENOSPC;
	memset(mem, 0, need);
	p = (uint8_t *)mem + sizeof(*h);
	for (i = 0; i < n; i++) {
		for (q = 0; q < devs[i]->info.num_queues; q++) {
			struct vq_inflight *r = (struct vq_inflight *)p;

			r->size = devs[i]->info.queue_size;
			r->owner = owner_of(devs[i], q);
			virtio_dev_track(devs[i], q, r, r->size);
			p += vq_inflight_bytes(r->size);
			nr++;
		}
	}
	*h = (struct vstate_ifl_hdr) {
		.magic = VSTATE_IFL_MAGIC,
		.version = VSTATE_VERSION,
		.hdr_len = sizeof(*h),
		.size = need,
		.cookie = cookie,
		.generation = generation,
		.nr_queues = nr,
	};
	return 0;
}

/* Check the file against the blob; attach its records when it fits. */
static int ifl_attach(struct virtio_dev *const *devs, unsigned int n,
		      const struct vstate_hdr *b, void *mem, size_t len,
		      char *why, size_t wlen)
{
	const struct vstate_ifl_hdr *h = mem;
	size_t need = vstate_ifl_size(devs, n);
	unsigned int i, q, nr = 0;
	uint8_t *p;

	if (!mem)
		return say(why, wlen, "there is no in-flight file");
	if (!b->cookie)
		return say(why, wlen, "the old process kept no in-flight records");
	if (len < sizeof(*h) || len != need)
		return say(why, wlen, "in-flight file is %zu bytes, not %zu", len, need);
	if (h->magic != VSTATE_IFL_MAGIC || h->version != VSTATE_VERSION ||
	    h->hdr_len != sizeof(*h) || h->reserved)
		return say(why, wlen, "in-flight file has no valid header (magic 0x%08x, version %u)",
			   h->magic, h->version);
	if (h->size != need)
		return say(why, wlen, "in-flight file says it is %llu bytes, not %zu",
			   (unsigned long long)h->size, need);
	if (h->cookie != b->cookie || h->generation != b->generation)
		return say(why, wlen, "in-flight file belongs to another state (cookie %016llx, generation %llu)",
			   (unsigned long long)h->cookie,
			   (unsigned long long)h->generation);
	for (i = 0; i < n; i++)
		nr += devs[i]->info.num_queues;
	if (h->nr_queues != nr)
		return say(why, wlen, "in-flight file has %u queues, not %u",
			   h->nr_queues, nr);
	p = (uint8_t *)mem + sizeof(*h);
	for (i = 0; i < n; i++) {
		for (q = 0; q < devs[i]->info.num_queues; q++) {
			const struct vq_inflight *r = (const struct vq_inflight *)p;

			if (r->size != devs[i]->info.queue_size ||
			    r->owner != owner_of(devs[i], q))
				return say(why, wlen, "in-flight record %u is not the one of %s queue %u (owner 0x%x, size %u)",
					   (unsigned int)(p - (uint8_t *)mem),
					   devs[i]->info.name, q, r->owner, r->size);
			p += vq_inflight_bytes(r->size);
		}
	}
	p = (uint8_t *)mem + sizeof(*h);
	for (i = 0; i < n; i++) {
		for (q = 0; q < devs[i]->info.num_queues; q++) {
			struct vq_inflight *r = (struct vq_inflight *)p;

			virtio_dev_track(devs[i], q, r, devs[i]->info.queue_size);
			p += vq_inflight_bytes(devs[i]->info.queue_size);
		}
	}
	return 0;
}

int vstate_takeover(struct virtio_dev *const *devs, unsigned int n,
		    const void *blob, size_t len, void *mem, size_t mem_len,
		    enum virtio_resume_policy policy, unsigned int *counts,
		    char *why, size_t wlen)
{
	const struct vstate_hdr *h = blob;
	const uint8_t *p = (const uint8_t *)blob + sizeof(*h);
	unsigned int i, count;
	int ret;

	*why = '\0';
	track_none(devs, n);
	ret = ifl_attach(devs, n, h, mem, mem_len, why, wlen);
	if (ret)
		track_none(devs, n);
	/* Configuration headers first: the BARs decide the doorbells. */
	for (i = 0; i < n; i++) {
		const struct vstate_dev *d = (const struct vstate_dev *)p;

		pci_func_restore_cfg(&devs[i]->func, d->cfg);
		/* After Message Control, before the transport interrupts. */
		if (d->msix_nr)
			pci_msix_restore(&devs[i]->msix, msix_at(d));
		p += dev_bytes(devs[i]);
	}
	p = (const uint8_t *)blob + sizeof(*h);
	for (i = 0; i < n; i++) {
		struct virtio_dev *vd = devs[i];
		struct virtio_dev_state st = { .queues = qs_alloc(vd) };

		count = 0;
		if (!st.queues) {
			/* Nothing of it restored: its driver must reset it. */
			virtio_dev_fail(vd, "out of memory restoring the device");
		} else {
			dev_load((const struct vstate_dev *)p, &st);
			count = virtio_dev_takeover(vd, &st, policy);
			free(st.queues);
		}
		if (counts)
			counts[i] = count;
		p += dev_bytes(vd);
	}
	return ret;
}

int vstate_restore(struct virtio_dev *const *devs, unsigned int n,
		   const void *blob, size_t len, void *mem, size_t mem_len,
		   unsigned int *replayed, char *why, size_t wlen)
{
	unsigned int *counts = calloc(n ? n : 1, sizeof(*counts));
	unsigned int i, sum = 0;
	int ret;

	ret = vstate_takeover(devs, n, blob, len, mem, mem_len,
			      VIRTIO_RESUME_REPLAY, counts, why, wlen);
	for (i = 0; counts && i < n; i++)
		sum += counts[i];
	free(counts);
	if (replayed)
		*replayed = sum;
	return ret;
}
