// SPDX-License-Identifier: GPL-2.0
/*
 * mmio-read: runs in a benchmark guest.  Times loads of one register of a
 * virtio-pci function: the 32-bit device_feature_select of its common
 * configuration structure, found through the function's capability list,
 * read through the BAR's sysfs resource file.  Every load leaves the
 * guest (KVM_EXIT_MMIO): in-process the VMM answers it, bridged the VMM
 * forwards it through virtio_bridge.ko to the device provider.
 *
 *   mmio-read PCI-ADDRESS COUNT
 *
 * Prints "mmio-read ADDRESS ns_per_load=N loads=COUNT".  Exit status 1
 * when the function has no such capability or its BAR cannot be mapped.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PCI_CAP_PTR		0x34
#define PCI_CAP_ID_VNDR		0x09
#define VIRTIO_PCI_CAP_COMMON	1

static int find_common(const char *addr, unsigned int *bar, uint32_t *off)
{
	uint8_t cfg[256];
	char path[128];
	unsigned int p, hops = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", addr);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, cfg, sizeof(cfg));
	close(fd);
	if (n < 64)
		return -1;
	for (p = cfg[PCI_CAP_PTR] & 0xfc; p && p + 16 <= (unsigned int)n && hops++ < 48;
	     p = cfg[p + 1] & 0xfc) {
		if (cfg[p] != PCI_CAP_ID_VNDR || cfg[p + 3] != VIRTIO_PCI_CAP_COMMON)
			continue;
		*bar = cfg[p + 4];
		*off = cfg[p + 8] | cfg[p + 9] << 8 | cfg[p + 10] << 16 |
		       (uint32_t)cfg[p + 11] << 24;
		return 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	volatile uint32_t *reg;
	unsigned long count, i;
	unsigned int bar;
	uint32_t off, sink = 0;
	char path[128];
	long page = sysconf(_SC_PAGESIZE);
	void *map;
	int fd;

	if (argc != 3 || (count = strtoul(argv[2], NULL, 0)) == 0) {
		fprintf(stderr, "usage: mmio-read PCI-ADDRESS COUNT\n");
		return 2;
	}
	if (find_common(argv[1], &bar, &off) || bar > 5) {
		fprintf(stderr, "mmio-read: %s has no virtio common configuration\n", argv[1]);
		return 1;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource%u", argv[1], bar);
	fd = open(path, O_RDONLY | O_SYNC);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	map = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, off & ~(page - 1));
	if (map == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	reg = (volatile uint32_t *)((char *)map + (off & (page - 1)));
	for (i = 0; i < count / 10 + 1; i++)	/* warm up */
		sink += *reg;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < count; i++)
		sink += *reg;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("mmio-read %s ns_per_load=%.0f loads=%lu (%u)\n", argv[1],
	       ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / count,
	       count, sink & 1);
	return 0;
}
