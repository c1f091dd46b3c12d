# virtio-bridge: top-level build.
#
#   make                 module (kmod/virtio_bridge.ko) and build/vbridge
#   make KERNEL=6.12     ... with the module built against the 6.12 kit
#   make KDIR=/path      ... against a kernel build tree of your choice
#   make deps            install the Debian packages the project needs
#   make check           all tests; ends with "N passed, N failed"
#   make demo            the main job: in the test VM, a guest whose devices
#                        are served by vbridge devices through the module
#   make bench           benchmarks (ratios against peers), not tests
#   make deb             Debian packages vbridge and virtio-bridge-dkms,
#                        built out of tree into build/deb/ (tools/build-deb)
#   make man             manual pages, from the --help texts, in build/man/
#   make help            this list and more
#
# KDIR defaults to the running kernel's build tree when it exists, else the
# headers of the default test kernel from the kernel kit
# (tools/testing/vm/kernel-kit), fetched from Debian on first use.

# The one version of everything: vbridge --version, the module's
# MODULE_VERSION (kmod/Kbuild reads the same file) and the Debian packages
# (make deb writes debian/changelog from it).
VERSION := $(strip $(file < VERSION))

KIT := tools/testing/vm/kernel-kit
RUNNING_KDIR := /lib/modules/$(shell uname -r)/build

ifeq ($(origin KERNEL),command line)
KDIR ?= $(shell $(KIT) -q --print kdir $(KERNEL))
else ifneq ($(wildcard $(RUNNING_KDIR)/Makefile),)
KDIR ?= $(RUNNING_KDIR)
else
KERNEL ?= 6.1
KDIR ?= $(shell $(KIT) -q --print kdir $(KERNEL))
endif

# Extra arguments for kbuild; W=1 is always on.  BTF for modules needs
# pahole and vmlinux, neither of which a headers package has.
KBUILD_ARGS := W=1 CONFIG_DEBUG_INFO_BTF_MODULES=

BUILD := build
ifeq ($(ARCH),arm64)
BUILD := build/arm64
endif

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DOCDIR ?= $(PREFIX)/share/doc
# The docs' own folder (the Debian package's is /usr/share/doc/vbridge).
PKGDOCDIR ?= $(DOCDIR)/virtio-bridge
UDEVRULESDIR ?= /etc/udev/rules.d
UNITDIR ?= /etc/systemd/system

.PHONY: all module user deps kit check bench clean help install install-module deb
all: module user

module:
	@test -n "$(KDIR)" || { echo "make: no kernel build tree (KDIR) and the kernel kit failed" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KBUILD_ARGS) modules

# Kits named arm64-* are arm64 kernels: their modules cross-build with
# Debian's gcc-aarch64-linux-gnu (kernel-kit: arm64 headers, amd64 kbuild).
CROSS_ARM64 := aarch64-linux-gnu-
kit_cross = $(if $(filter arm64-%,$(1)),ARCH=arm64 CROSS_COMPILE=$(CROSS_ARM64))

# Out-of-tree build of the module for a kit, in build/kmod-KIT (a tree of
# symlinks to the sources, so builds for several kernels do not collide).
# Only sources are linked: objects of an in-tree build must not leak in.
KMOD_SRCS = kmod/Kbuild $(filter-out %.mod.c,$(wildcard kmod/*.c)) $(wildcard kmod/*.h)

$(BUILD)/kmod-%/kmod/virtio_bridge.ko: FORCE
	@mkdir -p $(BUILD)/kmod-$*/kmod
	@ln -sfn $(CURDIR)/Kbuild $(BUILD)/kmod-$*/Kbuild
	@ln -sfn $(CURDIR)/kmod/include $(BUILD)/kmod-$*/kmod/include
	@for f in $(KMOD_SRCS); do ln -sfn $(CURDIR)/$$f $(BUILD)/kmod-$*/$$f; done
	$(MAKE) -C $$($(KIT) -q --print kdir $*) M=$(CURDIR)/$(BUILD)/kmod-$* \
		$(call kit_cross,$*) $(KBUILD_ARGS) modules

# The debug kit's test fixture (tools/testing/vm/canary), built the same
# way into build/canary-KIT/canary.ko.  It commits kernel bugs on purpose:
# only the harness's own tests load it.
CANARY_SRCS = $(wildcard tools/testing/vm/canary/Kbuild tools/testing/vm/canary/*.c)

$(BUILD)/canary-%/canary.ko: FORCE
	@mkdir -p $(BUILD)/canary-$*
	@for f in $(CANARY_SRCS); do ln -sfn $(CURDIR)/$$f $(BUILD)/canary-$*/$$(basename $$f); done
	$(MAKE) -C $$($(KIT) -q --print kdir $*) M=$(CURDIR)/$(BUILD)/canary-$* \
		$(call kit_cross,$*) $(KBUILD_ARGS) modules

.PHONY: FORCE
FORCE:

deps:
	tools/install-deps.sh

kit:
	$(KIT) 6.1
	$(KIT) 6.12
	$(KIT) arm64-6.1
	$(KIT) arm64-6.12
	$(KIT) selftest-src

include user/user.mk
include tools/testing/testing.mk

# Manual pages: vbridge(1), vbridge-run(1), vbridge-devices(1) and
# vbridge-ctl(8) made from the --help texts of the vbridge just built, and
# virtio_bridge(4) from the module's documentation (tools/man/mkman).
MANDIR ?= $(PREFIX)/share/man
MAN_PAGES := vbridge.1 vbridge-run.1 vbridge-devices.1 vbridge-ctl.8 virtio_bridge.4
MAN_TOOLS := tools/man/mkman tools/man/help2roff.awk tools/man/rst-tables.awk

.PHONY: man
man: $(MAN_PAGES:%=$(BUILD)/man/%)

$(BUILD)/man/%: tools/man/%.in $(BUILD)/vbridge $(MAN_TOOLS)
	tools/man/mkman $(BUILD)/vbridge $< $@

$(BUILD)/man/virtio_bridge.4: tools/man/virtio_bridge.4.rst $(MAN_TOOLS) \
		Documentation/virtio-bridge/module-parameters.rst \
		Documentation/virtio-bridge/uapi.rst
	tools/man/mkman $(BUILD)/vbridge $< $@

# vbridge, the udev rule, the systemd units, the docs and the manual
# pages.  DESTDIR works.
install: user man
	install -D -m 0755 $(BUILD)/vbridge $(DESTDIR)$(BINDIR)/vbridge
	install -D -m 0644 user/dist/60-virtio-bridge.rules \
		$(DESTDIR)$(UDEVRULESDIR)/60-virtio-bridge.rules
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)/etc/virtio-bridge/overlays \
		$(DESTDIR)/etc/virtio-bridge/devices $(DESTDIR)/etc/virtio-bridge/run \
		$(DESTDIR)$(PKGDOCDIR)
	for u in virtio-bridge.service vbridge-devices@.service vbridge-run@.service; do \
		sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@PKGDOCDIR@|$(PKGDOCDIR)|g' \
			user/dist/$$u > $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u; \
	done
	install -m 0644 Documentation/virtio-bridge/*.rst $(DESTDIR)$(PKGDOCDIR)/
	for p in $(MAN_PAGES); do \
		install -D -m 0644 $(BUILD)/man/$$p $(DESTDIR)$(MANDIR)/man$${p##*.}/$$p || exit 1; \
	done

# The Debian packages (debian/), built in a copy of the tree under
# build/deb/src with debian/changelog written from VERSION; the .debs land
# in build/deb/.  Always rebuilt: it is cheap next to what it checks.
deb:
	tools/build-deb build/deb

# The module into /lib/modules/<release>/updates of the KDIR kernel.
install-module: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=updates modules_install

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean >/dev/null 2>&1
	rm -rf $(BUILD)

# Benchmarks in two test-VM runs, x86_64 then arm64, one table
# (tools/bench/run-bench --help); not part of check.  BENCH_ARGS passes
# options, e.g. BENCH_ARGS="--only boot" or "--arch arm64".  The bridge
# benchmarks load the module built for the default kits (6.1, arm64-6.1);
# the arm64 test VM runs build/arm64/vbridge.
bench: $(BUILD)/vbridge $(BUILD)/kmod-6.1/kmod/virtio_bridge.ko \
	$(BUILD)/kmod-arm64-6.1/kmod/virtio_bridge.ko test-build-arm64-user
	tools/bench/run-bench $(BENCH_ARGS)

help:
	@sed -n '2,/^$$/p' Makefile | sed 's/^# \{0,1\}//'
	@echo "Test targets: check check-unit check-fuzz fuzz check-kselftest check-e2e demo vm-shell (see tools/testing/testing.mk)"
