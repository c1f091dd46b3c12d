// SPDX-License-Identifier: GPL-2.0
/* The arm64 machine's device tree, with libfdt. */
#include "arch/arm64/fdt.h"
#include "lib/log.h"

#include <errno.h>
#include <libfdt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MPIDR_AFF_MASK		0xff00ffffffULL
#define MPIDR_AFF3_MASK		0xff00000000ULL

/* GIC: parent unit address cells in interrupt-map (its #address-cells). */
#define GIC_ADDR_CELLS		ARM64_FDT_GIC_ADDR_CELLS
#define PCI_MAP_CELLS		(3 + 1 + 1 + GIC_ADDR_CELLS + 3)
#define PCI_SLOTS		32
#define PCI_PINS		4

/* PCI address space codes (phys.hi bits 25:24) and the prefetch bit. */
#define PCI_SPACE_MEM32		0x02000000u
#define PCI_SPACE_MEM64		0x03000000u
#define PCI_PREFETCH		0x40000000u

void arm64_fdt_default_config(struct arm64_fdt_config *c, uint64_t ram_size,
			      unsigned int nr_cpus, unsigned int gic_version,
			      unsigned int nr_uarts)
{
	unsigned int i;

	memset(c, 0, sizeof(*c));
	c->ram_base = ARM64_RAM_BASE;
	c->ram_size = ram_size;
	c->nr_cpus = nr_cpus;
	for (i = 0; i < nr_cpus && i < ARM64_FDT_MAX_CPUS; i++)
		c->mpidr[i] = (i & 0xf) | (uint64_t)(i >> 4) << 8;
	c->gic_version = gic_version;
	c->gic_dist_base = ARM64_GIC_DIST_BASE;
	c->gic_cpu_base = ARM64_GIC_CPU_BASE;
	c->gic_redist_base = ARM64_GIC_REDIST_BASE;
	if (nr_uarts > ARM64_UART_MAX)
		nr_uarts = ARM64_UART_MAX;
	for (i = 0; i < nr_uarts; i++) {
		c->uart[i].base = ARM64_UART_ADDR(i);
		c->uart[i].spi = ARM64_UART_SPI(i);
	}
	c->nr_uarts = nr_uarts;
	c->stdout_uart = nr_uarts ? 0 : -1;
	c->has_rtc = true;
	c->rtc_base = ARM64_RTC_BASE;
	c->rtc_spi = ARM64_RTC_SPI;
	c->has_gpio = true;
	c->gpio_base = ARM64_GPIO_BASE;
	c->gpio_spi = ARM64_GPIO_SPI;
	c->power_key_line = ARM64_GPIO_POWER_LINE;
	c->has_pci = true;
	c->pci.ecam_base = ARM64_PCI_ECAM_BASE;
	c->pci.mmio_base = ARM64_PCI_MMIO_BASE;
	c->pci.mmio_size = ARM64_PCI_MMIO_SIZE;
	for (i = 0; i < 4; i++)
		c->pci.intx_spi[i] = ARM64_PCI_INTX_SPI + i;
}

int arm64_fdt_uart_path(const struct arm64_fdt_uart *u, char *buf,
			size_t size)
{
	return snprintf(buf, size, "/serial@%llx", (unsigned long long)u->base);
}

/* Big-endian cells into a buffer. */
struct cells {
	fdt32_t v[PCI_SLOTS * PCI_PINS * PCI_MAP_CELLS];
	unsigned int n;
};

static void put(struct cells *c, uint32_t v)
{
	if (c->n < sizeof(c->v) / sizeof(c->v[0]))
		c->v[c->n++] = cpu_to_fdt32(v);
}

static void put64(struct cells *c, uint64_t v)
{
	put(c, v >> 32);
	put(c, (uint32_t)v);
}

static void put_irq(struct cells *c, uint32_t type, uint32_t nr, uint32_t flags)
{
	put(c, type);
	put(c, nr);
	put(c, flags);
}

static int setcells(void *fdt, int node, const char *name, const struct cells *c)
{
	return fdt_setprop(fdt, node, name, c->v, c->n * sizeof(fdt32_t));
}

/* reg = <base size> with 2 + 2 cells. */
static int setreg(void *fdt, int node, uint64_t base, uint64_t size)
{
	struct cells c = { .n = 0 };

	put64(&c, base);
	put64(&c, size);
	return setcells(fdt, node, "reg", &c);
}

/* A node named name@addr under parent; returns its offset or an error. */
static int subnode(void *fdt, int parent, const char *name, uint64_t addr)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s@%llx", name, (unsigned long long)addr);
	return fdt_add_subnode(fdt, parent, buf);
}

#define TRY(expr)						\
	do {							\
		int _r = (expr);				\
		if (_r < 0)					\
			return _r;				\
	} while (0)

static int add_cpus(void *fdt, const struct arm64_fdt_config *c)
{
	int cpus, node;
	unsigned int i;

	cpus = fdt_add_subnode(fdt, 0, "cpus");
	TRY(cpus);
	TRY(fdt_setprop_u32(fdt, cpus, "#address-cells", 1));
	TRY(fdt_setprop_u32(fdt, cpus, "#size-cells", 0));
	/* Added in reverse: fdt_add_subnode puts each first. */
	for (i = c->nr_cpus; i-- > 0;) {
		uint64_t aff = c->mpidr[i] & MPIDR_AFF_MASK;

		node = subnode(fdt, cpus, "cpu", aff);
		TRY(node);
		TRY(fdt_setprop_string(fdt, node, "device_type", "cpu"));
		TRY(fdt_setprop_string(fdt, node, "compatible", "arm,arm-v8"));
		TRY(fdt_setprop_string(fdt, node, "enable-method", "psci"));
		TRY(fdt_setprop_u32(fdt, node, "reg", (uint32_t)aff));
	}
	return 0;
}

static int add_psci_timer(void *fdt, const struct arm64_fdt_config *c)
{
	static const char psci_compat[] = "arm,psci-1.0\0arm,psci-0.2";
	static const uint32_t ppis[] = {
		ARM64_TIMER_PPI_SEC, ARM64_TIMER_PPI_PHYS,
		ARM64_TIMER_PPI_VIRT, ARM64_TIMER_PPI_HYP,
	};
	struct cells irqs = { .n = 0 };
	uint32_t flags = ARM64_FDT_IRQ_LEVEL;
	unsigned int i;
	int node;

	node = fdt_add_subnode(fdt, 0, "psci");
	TRY(node);
	TRY(fdt_setprop(fdt, node, "compatible", psci_compat, sizeof(psci_compat)));
	TRY(fdt_setprop_string(fdt, node, "method", "hvc"));

	/* GICv2 PPIs name the CPUs they go to. */
	if (c->gic_version == 2)
		flags |= ((1u << c->nr_cpus) - 1) << 8;
	for (i = 0; i < 4; i++)
		put_irq(&irqs, ARM64_FDT_IRQ_PPI, ppis[i], flags);
	node = fdt_add_subnode(fdt, 0, "timer");
	TRY(node);
	TRY(fdt_setprop_string(fdt, node, "compatible", "arm,armv8-timer"));
	TRY(setcells(fdt, node, "interrupts", &irqs));
	return 0;
}

static int add_gic(void *fdt, const struct arm64_fdt_config *c)
{
	static const char v2_compat[] = "arm,cortex-a15-gic";
	struct cells reg = { .n = 0 };
	int node, its;

	node = subnode(fdt, 0, "intc", c->gic_dist_base);
	TRY(node);
	put64(&reg, c->gic_dist_base);
	put64(&reg, ARM64_GIC_DIST_SIZE);
	if (c->gic_version == 3) {
		TRY(fdt_setprop_string(fdt, node, "compatible", "arm,gic-v3"));
		put64(&reg, c->gic_redist_base);
		put64(&reg, (uint64_t)c->nr_cpus * ARM64_GIC_REDIST_STRIDE);
		TRY(fdt_setprop_u32(fdt, node, "#redistributor-regions", 1));
	} else {
		TRY(fdt_setprop(fdt, node, "compatible", v2_compat, sizeof(v2_compat)));
		put64(&reg, c->gic_cpu_base);
		put64(&reg, ARM64_GIC_CPU_SIZE);
	}
	TRY(setcells(fdt, node, "reg", &reg));
	TRY(fdt_setprop_u32(fdt, node, "#interrupt-cells", 3));
	TRY(fdt_setprop(fdt, node, "interrupt-controller", NULL, 0));
	/* Children (the ITS) are in the root's address space. */
	TRY(fdt_setprop_u32(fdt, node, "#address-cells", GIC_ADDR_CELLS));
	TRY(fdt_setprop_u32(fdt, node, "#size-cells", 2));
	TRY(fdt_setprop(fdt, node, "ranges", NULL, 0));
	TRY(fdt_setprop_u32(fdt, node, "phandle", ARM64_FDT_PHANDLE_GIC));

	if (c->gic_version == 3 && c->gic_its_base) {
		its = subnode(fdt, node, "its", c->gic_its_base);
		TRY(its);
		TRY(fdt_setprop_string(fdt, its, "compatible", "arm,gic-v3-its"));
		TRY(setreg(fdt, its, c->gic_its_base, ARM64_GIC_ITS_SIZE));
		TRY(fdt_setprop(fdt, its, "msi-controller", NULL, 0));
		TRY(fdt_setprop_u32(fdt, its, "#msi-cells", 1));
		TRY(fdt_setprop_u32(fdt, its, "phandle", ARM64_FDT_PHANDLE_ITS));
	}
	return 0;
}

static int add_clock(void *fdt)
{
	int node = fdt_add_subnode(fdt, 0, "apb-pclk");

	TRY(node);
	TRY(fdt_setprop_string(fdt, node, "compatible", "fixed-clock"));
	TRY(fdt_setprop_u32(fdt, node, "#clock-cells", 0));
	TRY(fdt_setprop_u32(fdt, node, "clock-frequency", ARM64_APB_PCLK_HZ));
	TRY(fdt_setprop_string(fdt, node, "clock-output-names", "clk24mhz"));
	TRY(fdt_setprop_u32(fdt, node, "phandle", ARM64_FDT_PHANDLE_CLK));
	return 0;
}

/* A PrimeCell: compatible "<what>", "arm,primecell"; reg; one SPI; clocks. */
static int add_primecell(void *fdt, const char *name, const char *what,
			 uint64_t base, uint32_t spi, bool uartclk)
{
	static const char uart_clock_names[] = "uartclk\0apb_pclk";
	struct cells irq = { .n = 0 }, clk = { .n = 0 };
	char compat[64];
	size_t len;
	int node;

	node = subnode(fdt, 0, name, base);
	TRY(node);
	len = snprintf(compat, sizeof(compat), "%s", what) + 1;
	memcpy(compat + len, "arm,primecell", sizeof("arm,primecell"));
	len += sizeof("arm,primecell");
	TRY(fdt_setprop(fdt, node, "compatible", compat, len));
	TRY(setreg(fdt, node, base, 0x1000));
	put_irq(&irq, ARM64_FDT_IRQ_SPI, spi, ARM64_FDT_IRQ_LEVEL);
	TRY(setcells(fdt, node, "interrupts", &irq));
	put(&clk, ARM64_FDT_PHANDLE_CLK);
	if (uartclk) {
		put(&clk, ARM64_FDT_PHANDLE_CLK);
		TRY(fdt_setprop(fdt, node, "clock-names", uart_clock_names,
				sizeof(uart_clock_names)));
	} else {
		TRY(fdt_setprop_string(fdt, node, "clock-names", "apb_pclk"));
	}
	TRY(setcells(fdt, node, "clocks", &clk));
	return node;
}

/* Linux's input-event-codes.h */
#define KEY_POWER		116

/*
 * The PL061 (a GPIO controller, #gpio-cells 2: line and flags) and, on
 * one of its lines, the power key that Linux's gpio-keys reports as
 * KEY_POWER.  Added in reverse order, as everything here.
 */
static int add_gpio(void *fdt, const struct arm64_fdt_config *c)
{
	struct cells gpios = { .n = 0 };
	int node, key;

	if (c->power_key_line >= 0) {
		node = fdt_add_subnode(fdt, 0, "gpio-keys");
		TRY(node);
		TRY(fdt_setprop_string(fdt, node, "compatible", "gpio-keys"));
		key = fdt_add_subnode(fdt, node, "poweroff");
		TRY(key);
		TRY(fdt_setprop_string(fdt, key, "label", "GPIO Key Poweroff"));
		TRY(fdt_setprop_u32(fdt, key, "linux,code", KEY_POWER));
		put(&gpios, ARM64_FDT_PHANDLE_GPIO);
		put(&gpios, (uint32_t)c->power_key_line);
		put(&gpios, 0);		/* GPIO_ACTIVE_HIGH */
		TRY(setcells(fdt, key, "gpios", &gpios));
	}
	node = add_primecell(fdt, "pl061", "arm,pl061", c->gpio_base,
			     c->gpio_spi, false);
	TRY(node);
	TRY(fdt_setprop(fdt, node, "gpio-controller", NULL, 0));
	TRY(fdt_setprop_u32(fdt, node, "#gpio-cells", 2));
	TRY(fdt_setprop_u32(fdt, node, "phandle", ARM64_FDT_PHANDLE_GPIO));
	return 0;
}

/* One interrupt-map entry: slot's INT<pin> to SPI spi of the GIC. */
static void put_intx(struct cells *map, unsigned int slot, unsigned int pin,
		     uint32_t spi, uint32_t flags)
{
	put(map, slot << 11);
	put(map, 0);
	put(map, 0);
	put(map, pin);
	put(map, ARM64_FDT_PHANDLE_GIC);
	put64(map, 0);
	put_irq(map, ARM64_FDT_IRQ_SPI, spi, flags);
}

/* A PCI host's interrupt-map, and the mask that keys it on slot and pin. */
static int set_intx_map(void *fdt, int node, const struct cells *map)
{
	struct cells mask = { .n = 0 };
	int ret = setcells(fdt, node, "interrupt-map", map);

	if (ret < 0)
		return ret;
	put(&mask, 0xf800);
	put(&mask, 0);
	put(&mask, 0);
	put(&mask, 7);
	return setcells(fdt, node, "interrupt-map-mask", &mask);
}

/*
 * A pci-host-ecam-generic node at ecam_base for buses bus_first..bus_last
 * of PCI domain domain, with what every such host of ours has; the caller
 * adds ranges and the interrupt map.  The node's offset, or a libfdt error.
 */
static int ecam_host_node(void *fdt, uint64_t ecam_base, unsigned int bus_first,
			  unsigned int bus_last, uint32_t domain)
{
	uint64_t size = (uint64_t)(bus_last - bus_first + 1) * ARM64_PCI_ECAM_BUS_SIZE;
	struct cells cells = { .n = 0 };
	int node = subnode(fdt, 0, "pcie", ecam_base);

	TRY(node);
	TRY(fdt_setprop_string(fdt, node, "compatible", "pci-host-ecam-generic"));
	TRY(fdt_setprop_string(fdt, node, "device_type", "pci"));
	TRY(setreg(fdt, node, ecam_base, size));
	put(&cells, bus_first);
	put(&cells, bus_last);
	TRY(setcells(fdt, node, "bus-range", &cells));
	TRY(fdt_setprop_u32(fdt, node, "linux,pci-domain", domain));
	TRY(fdt_setprop_u32(fdt, node, "#address-cells", 3));
	TRY(fdt_setprop_u32(fdt, node, "#size-cells", 2));
	TRY(fdt_setprop_u32(fdt, node, "#interrupt-cells", 1));
	TRY(fdt_setprop(fdt, node, "dma-coherent", NULL, 0));
	return node;
}

static int add_pci(void *fdt, const struct arm64_fdt_config *c)
{
	const struct arm64_fdt_pci *p = &c->pci;
	struct cells *map = calloc(1, sizeof(*map));
	struct cells ranges = { .n = 0 }, cells = { .n = 0 };
	unsigned int slot, pin;
	int node, ret = -FDT_ERR_NOSPACE;

	if (!map)
		return -FDT_ERR_NOSPACE;
	node = ecam_host_node(fdt, p->ecam_base, p->bus_first, p->bus_last, p->domain);
	if (node < 0) {
		ret = node;
		goto out;
	}
#define PTRY(expr) do { ret = (expr); if (ret < 0) goto out; } while (0)

	put(&ranges, PCI_SPACE_MEM32);
	put64(&ranges, p->mmio_base);
	put64(&ranges, p->mmio_base);
	put64(&ranges, p->mmio_size);
	if (p->mmio64_size) {
		put(&ranges, PCI_SPACE_MEM64 | PCI_PREFETCH);
		put64(&ranges, p->mmio64_base);
		put64(&ranges, p->mmio64_base);
		put64(&ranges, p->mmio64_size);
	}
	PTRY(setcells(fdt, node, "ranges", &ranges));

	for (slot = 0; slot < PCI_SLOTS; slot++)
		for (pin = 1; pin <= PCI_PINS; pin++)
			put_intx(map, slot, pin, p->intx_spi[(slot + pin - 1) % 4],
				 ARM64_FDT_IRQ_LEVEL);
	PTRY(set_intx_map(fdt, node, map));

	if (c->gic_version == 3 && c->gic_its_base) {
		cells.n = 0;
		put(&cells, 0);
		put(&cells, ARM64_FDT_PHANDLE_ITS);
		put(&cells, 0);
		put(&cells, ARM64_ITS_DEVID_SPAN);
		PTRY(setcells(fdt, node, "msi-map", &cells));
	}
#undef PTRY
	ret = 0;
out:
	free(map);
	return ret;
}

int arm64_fdt_add_bridge_host(void *fdt, const struct arm64_fdt_bridge_host *h)
{
	uint64_t buses = h->ecam_size / ARM64_PCI_ECAM_BUS_SIZE;
	struct cells *map = calloc(1, sizeof(*map));
	struct cells ranges = { .n = 0 };
	unsigned int i, slot, pin;
	int node, ret = -FDT_ERR_NOSPACE;

	if (!map)
		return -FDT_ERR_NOSPACE;
	if (!buses || h->nr_ranges > ARM64_FDT_BRIDGE_MAX_RANGES ||
	    h->nr_lines > sizeof(h->line_spi) / sizeof(h->line_spi[0])) {
		ret = -FDT_ERR_BADVALUE;
		goto out;
	}
	if (buses > 256)
		buses = 256;
	node = ecam_host_node(fdt, h->ecam_base, 0, buses - 1, h->domain);
	if (node < 0) {
		ret = node;
		goto out;
	}
#define PTRY(expr) do { ret = (expr); if (ret < 0) goto out; } while (0)
	for (i = 0; i < h->nr_ranges; i++) {
		bool high = h->range_base[i] + h->range_size[i] > (1ULL << 32);

		put(&ranges, high ? PCI_SPACE_MEM64 : PCI_SPACE_MEM32);
		put64(&ranges, h->range_base[i]);
		put64(&ranges, h->range_base[i]);
		put64(&ranges, h->range_size[i]);
	}
	PTRY(setcells(fdt, node, "ranges", &ranges));
	if (h->nr_lines) {
		for (slot = 0; slot < PCI_SLOTS; slot++) {
			unsigned int line = slot % h->nr_lines;

			for (pin = 1; pin <= PCI_PINS; pin++)
				put_intx(map, slot, pin, h->line_spi[line],
					 h->line_level[line] ? ARM64_FDT_IRQ_LEVEL :
					 ARM64_FDT_IRQ_EDGE);
		}
		PTRY(set_intx_map(fdt, node, map));
	}
	if (h->msi) {
		ranges.n = 0;	/* written out: reused */
		put(&ranges, 0);
		put(&ranges, ARM64_FDT_PHANDLE_ITS);
		put(&ranges, h->msi_devid_base);
		put(&ranges, ARM64_ITS_DEVID_SPAN);
		PTRY(setcells(fdt, node, "msi-map", &ranges));
	}
#undef PTRY
	ret = 0;
out:
	free(map);
	return ret;
}

static int add_chosen(void *fdt, const struct arm64_fdt_config *c)
{
	char path[64];
	int node = fdt_add_subnode(fdt, 0, "chosen");

	TRY(node);
	if (c->bootargs)
		TRY(fdt_setprop_string(fdt, node, "bootargs", c->bootargs));
	if (c->stdout_uart >= 0) {
		arm64_fdt_uart_path(&c->uart[c->stdout_uart], path, sizeof(path));
		TRY(fdt_setprop_string(fdt, node, "stdout-path", path));
	}
	if (c->initrd_end) {
		TRY(fdt_setprop_u64(fdt, node, "linux,initrd-start", c->initrd_start));
		TRY(fdt_setprop_u64(fdt, node, "linux,initrd-end", c->initrd_end));
	}
	if (c->kaslr_seed)
		TRY(fdt_setprop_u64(fdt, node, "kaslr-seed", c->kaslr_seed));
	if (c->rng_seed_len)
		TRY(fdt_setprop(fdt, node, "rng-seed", c->rng_seed, c->rng_seed_len));
	return 0;
}

static int build(void *fdt, const struct arm64_fdt_config *c)
{
	static const char compat[] = "linux,dummy-virt";
	char path[64];
	unsigned int i;
	int node;

	TRY(fdt_setprop(fdt, 0, "compatible", compat, sizeof(compat)));
	TRY(fdt_setprop_string(fdt, 0, "model", "virtio-bridge arm64 virt"));
	TRY(fdt_setprop_u32(fdt, 0, "#address-cells", 2));
	TRY(fdt_setprop_u32(fdt, 0, "#size-cells", 2));
	TRY(fdt_setprop_u32(fdt, 0, "interrupt-parent", ARM64_FDT_PHANDLE_GIC));

	/* Each fdt_add_subnode goes first: add in reverse of reading order. */
	if (c->has_pci)
		TRY(add_pci(fdt, c));
	if (c->has_gpio)
		TRY(add_gpio(fdt, c));
	if (c->has_rtc)
		TRY(add_primecell(fdt, "rtc", "arm,pl031", c->rtc_base, c->rtc_spi,
				  false));
	for (i = c->nr_uarts; i-- > 0;)
		TRY(add_primecell(fdt, "serial", "arm,pl011", c->uart[i].base,
				  c->uart[i].spi, true));
	TRY(add_clock(fdt));
	TRY(add_gic(fdt, c));
	TRY(add_psci_timer(fdt, c));
	TRY(add_cpus(fdt, c));

	node = subnode(fdt, 0, "memory", c->ram_base);
	TRY(node);
	TRY(fdt_setprop_string(fdt, node, "device_type", "memory"));
	TRY(setreg(fdt, node, c->ram_base, c->ram_size));

	if (c->nr_uarts) {
		node = fdt_add_subnode(fdt, 0, "aliases");
		TRY(node);
		for (i = 0; i < c->nr_uarts; i++) {
			char name[24];

			snprintf(name, sizeof(name), "serial%u", i);
			arm64_fdt_uart_path(&c->uart[i], path, sizeof(path));
			TRY(fdt_setprop_string(fdt, node, name, path));
		}
	}
	TRY(add_chosen(fdt, c));

	if (c->add_nodes)
		TRY(c->add_nodes(fdt, c->opaque));
	return 0;
}

static int check(const struct arm64_fdt_config *c, char *err, size_t errlen)
{
	unsigned int i, max_cpus;

	if (c->gic_version != 2 && c->gic_version != 3)
		return err_set(err, errlen, -EINVAL, "GIC version %u: only 2 and 3 exist",
			    c->gic_version);
	max_cpus = c->gic_version == 2 ? ARM64_GICV2_MAX_CPUS : ARM64_FDT_MAX_CPUS;
	if (!c->nr_cpus || c->nr_cpus > max_cpus)
		return err_set(err, errlen, -EINVAL,
			    "%u vCPUs: a GICv%u machine takes 1 to %u",
			    c->nr_cpus, c->gic_version, max_cpus);
	for (i = 0; i < c->nr_cpus; i++) {
		unsigned int j;

		if (c->mpidr[i] & MPIDR_AFF3_MASK)
			return err_set(err, errlen, -EINVAL,
				    "vCPU %u: MPIDR 0x%llx has Aff3 set", i,
				    (unsigned long long)c->mpidr[i]);
		for (j = 0; j < i; j++)
			if (!((c->mpidr[i] ^ c->mpidr[j]) & MPIDR_AFF_MASK))
				return err_set(err, errlen, -EINVAL,
					    "vCPUs %u and %u have the same MPIDR 0x%llx",
					    j, i, (unsigned long long)c->mpidr[i]);
	}
	if (!c->ram_size || c->ram_base + c->ram_size < c->ram_base)
		return err_set(err, errlen, -EINVAL, "no RAM");
	if (c->nr_uarts > ARM64_UART_MAX)
		return err_set(err, errlen, -EINVAL, "%u UARTs: at most %u",
			    c->nr_uarts, ARM64_UART_MAX);
	if (c->stdout_uart >= (int)c->nr_uarts)
		return err_set(err, errlen, -EINVAL, "console UART %d of %u",
			    c->stdout_uart, c->nr_uarts);
	if (c->has_pci && c->pci.bus_last < c->pci.bus_first)
		return err_set(err, errlen, -EINVAL, "PCI bus range %u-%u is empty",
			    c->pci.bus_first, c->pci.bus_last);
	if (c->has_gpio && c->power_key_line >= 8)
		return err_set(err, errlen, -EINVAL,
			    "power key on line %d: the PL061 has lines 0-7",
			    c->power_key_line);
	if (c->initrd_end && c->initrd_end < c->initrd_start)
		return err_set(err, errlen, -EINVAL, "initrd ends before it starts");
	return 0;
}

int arm64_fdt_build(const struct arm64_fdt_config *c, void *buf, size_t size,
		    char *err, size_t errlen)
{
	int ret;

	ret = check(c, err, errlen);
	if (ret)
		return ret;
	if (size > INT32_MAX)
		size = INT32_MAX;
	ret = fdt_create_empty_tree(buf, size);
	if (!ret)
		ret = build(buf, c);
	if (!ret)
		ret = fdt_pack(buf);
	if (ret == -FDT_ERR_NOSPACE)
		return err_set(err, errlen, -ENOSPC,
			    "the device tree does not fit in %zu bytes", size);
	if (ret)
		return err_set(err, errlen, -EINVAL, "building the device tree: %s",
			    fdt_strerror(ret));
	return fdt_totalsize(buf);
}
