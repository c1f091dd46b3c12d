# libFuzzer harnesses, included from tools/testing/testing.mk.
#
#   make fuzz        build/fuzz/bin/NAME for every tools/testing/fuzz/fuzz_NAME.c
#
# The device model (everything under user/ but the VMM, which needs KVM)
# is built again with clang and AddressSanitizer, UndefinedBehaviorSanitizer
# and libFuzzer's coverage into build/fuzz/, and linked with each harness
# and fz.c (what they share).  tools/testing/fuzz/run-fuzz runs them.

FUZZ_CC ?= clang-16
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_SRC := tools/testing/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FUZZ_CFLAGS := $(filter-out -O2 -MMD -MP,$(USER_CFLAGS)) -O1 -MMD -MP

FUZZ_LIB_SRCS := $(filter-out user/vmm/% $(ARCH_ALL_GLUE_SRCS),$(USER_LIB_SRCS))
FUZZ_LIB_OBJS := $(FUZZ_LIB_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_HARNESS_SRCS := $(sort $(wildcard $(FUZZ_SRC)/fuzz_*.c))
FUZZ_NAMES := $(FUZZ_HARNESS_SRCS:$(FUZZ_SRC)/fuzz_%.c=%)
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_DIR)/bin/%)

# Host resources a harness cannot use as they are, replaced at link time
# (--wrap: the product's calls go to __wrap_NAME in the harness):
# getrandom(2) gives the same bytes for the same input; the backend
# node's ioctl, mmap, poll, read and write are a simulated module, and
# the provider's CLOCK_MONOTONIC a simulated clock.
FUZZ_WRAP_rng := -Wl,--wrap=getrandom
FUZZ_WRAP_backend := -Wl,--wrap=getrandom -Wl,--wrap=ioctl -Wl,--wrap=mmap \
	-Wl,--wrap=poll -Wl,--wrap=read -Wl,--wrap=write -Wl,--wrap=clock_gettime

.PHONY: fuzz
fuzz: $(FUZZ_BINS)

# Kept: make would remove it as an intermediate.
.SECONDARY: $(FUZZ_DIR)/obj/$(FUZZ_SRC)/fz.o

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/libvbridge.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_DIR)/bin/%: $(FUZZ_SRC)/fuzz_%.c $(FUZZ_DIR)/obj/$(FUZZ_SRC)/fz.o $(FUZZ_DIR)/libvbridge.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -I$(FUZZ_SRC) \
		$(FUZZ_WRAP_$*) -o $@ $< $(FUZZ_DIR)/obj/$(FUZZ_SRC)/fz.o \
		$(FUZZ_DIR)/libvbridge.a $(USER_LDLIBS)

-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_DIR)/obj/$(FUZZ_SRC)/fz.d $(FUZZ_BINS:=.d)
