# Userspace build, included from the top-level Makefile.
#
# Every .c under user/ except main.c goes into build/libvbridge.a, which the
# vbridge binary and the unit tests link, but of user/arch/ only one
# architecture's KVM glue: VB_ARCH's (each user/arch/<arch>/arch.mk lists
# its ARCH_GLUE_SRCS_<arch>; the pure models of every architecture build
# natively, where the unit tests and fuzzers run).  build/asan/ holds the same built with AddressSanitizer and
# UndefinedBehaviorSanitizer.

# `make ARCH=arm64` cross-builds build/arm64/vbridge with Debian's
# gcc-aarch64-linux-gnu and the :arm64 libraries (tools/install-deps.sh).
ifeq ($(ARCH),arm64)
VB_ARCH := arm64
CROSS_COMPILE ?= aarch64-linux-gnu-
endif
VB_ARCH ?= x86
ifneq ($(CROSS_COMPILE),)
CC := $(CROSS_COMPILE)gcc
AR := $(CROSS_COMPILE)ar
PKG_CONFIG ?= $(CROSS_COMPILE)pkg-config
endif
CC ?= gcc
PKG_CONFIG ?= pkg-config
# A cross build links statically, so the arm64 test VM (busybox alone)
# needs nothing else.  libfdt-dev is not multi-arch (its arm64 build
# replaces the host's), so its arm64 archive comes from Debian's package,
# downloaded and unpacked under $(BUILD)/deb/; its headers are the host's.
ifneq ($(CROSS_COMPILE),)
FDT_DEB_DIR = $(BUILD)/deb/libfdt-dev
FDT_LIB = $(FDT_DEB_DIR)/usr/lib/aarch64-linux-gnu/libfdt.a
USER_STATIC := -static
PKG_STATIC := --static
else
FDT_LIB := -lfdt
endif
include $(sort $(wildcard user/arch/*/arch.mk))
ARCH_ALL_GLUE_SRCS := $(foreach v,$(filter ARCH_GLUE_SRCS_%,$(.VARIABLES)),$($(v)))
USER_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
	-Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
	-Iuser -Iuser/arch/$(VB_ARCH)/include -Ikmod/include/uapi -DVBRIDGE_VERSION='"$(VERSION)"' \
	$(shell $(PKG_CONFIG) --cflags libnl-genl-3.0 liburing 2>/dev/null) \
	-MMD -MP
USER_LDLIBS = $(shell $(PKG_CONFIG) $(PKG_STATIC) --libs libnl-genl-3.0 \
	liburing 2>/dev/null) $(FDT_LIB) -lpthread
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer

USER_LIB_SRCS := $(filter-out user/main.c $(ARCH_ALL_GLUE_SRCS),\
	$(shell find user -name '*.c' | sort)) $(ARCH_GLUE_SRCS_$(VB_ARCH))
ifneq ($(CROSS_COMPILE),)
# A cross build has no unit tests: only its own architecture's files.
USER_LIB_SRCS := $(filter-out $(filter-out user/arch/$(VB_ARCH)/%,\
	$(filter user/arch/%,$(USER_LIB_SRCS))),$(USER_LIB_SRCS))
endif
USER_LIB_OBJS := $(USER_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
USER_ASAN_OBJS := $(USER_LIB_SRCS:%.c=$(BUILD)/asan/obj/%.o)

.PHONY: user
user: $(BUILD)/vbridge

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) $(SAN_FLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libvbridge.a: $(USER_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/asan/libvbridge.a: $(USER_ASAN_OBJS)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/vbridge: $(BUILD)/obj/user/main.o $(BUILD)/libvbridge.a \
		$(if $(CROSS_COMPILE),| $(FDT_LIB))
	$(CC) $(LDFLAGS) $(USER_STATIC) -o $@ $(filter %.o %.a,$^) $(USER_LDLIBS)

ifneq ($(CROSS_COMPILE),)
$(FDT_LIB):
	@rm -rf $(FDT_DEB_DIR) && mkdir -p $(FDT_DEB_DIR)
	cd $(FDT_DEB_DIR) && apt-get download -q libfdt-dev:$(VB_ARCH)
	dpkg-deb -x $(FDT_DEB_DIR)/libfdt-dev_*.deb $(FDT_DEB_DIR)
endif

-include $(USER_LIB_OBJS:.o=.d) $(USER_ASAN_OBJS:.o=.d) $(BUILD)/obj/user/main.d
