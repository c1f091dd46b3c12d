# Userspace build, included from the top-level Makefile.
#
# Every .c under user/ except main.c goes into build/libvbridge.a, which the
# vbridge binary and the unit tests link, but of user/arch/ only one
# architecture's KVM glue: VB_ARCH's (each user/arch/<arch>/arch.mk lists
# its ARCH_GLUE_SRCS_<arch>; the pure models of every architecture build
# everywhere).  build/asan/ holds the same built with AddressSanitizer and
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
# libfdt-dev is not multi-arch: a cross build takes the host's headers and
# links the arm64 runtime library (libfdt1:arm64) by name.
FDT_LIB := $(if $(CROSS_COMPILE),-l:libfdt.so.1,-lfdt)
include $(sort $(wildcard user/arch/*/arch.mk))
ARCH_ALL_GLUE_SRCS := $(foreach v,$(filter ARCH_GLUE_SRCS_%,$(.VARIABLES)),$($(v)))
USER_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
	-Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
	-Iuser -Iuser/arch/$(VB_ARCH)/include -Ikmod/include/uapi -DVBRIDGE_VERSION='"$(VERSION)"' \
	$(shell $(PKG_CONFIG) --cflags libnl-genl-3.0 libnl-route-3.0 2>/dev/null) \
	-MMD -MP
USER_LDLIBS := $(shell $(PKG_CONFIG) --libs libnl-genl-3.0 libnl-route-3.0 2>/dev/null) \
	$(FDT_LIB) -lpthread
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer

USER_LIB_SRCS := $(filter-out user/main.c $(ARCH_ALL_GLUE_SRCS),\
	$(shell find user -name '*.c' | sort)) $(ARCH_GLUE_SRCS_$(VB_ARCH))
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

$(BUILD)/vbridge: $(BUILD)/obj/user/main.o $(BUILD)/libvbridge.a
	$(CC) $(LDFLAGS) -o $@ $^ $(USER_LDLIBS)

-include $(USER_LIB_OBJS:.o=.d) $(USER_ASAN_OBJS:.o=.d) $(BUILD)/obj/user/main.d
