# Test build and run targets, included from the top-level Makefile.
#
#   make check            everything below, then one summary line
#   make check-unit       host unit tests (plain and ASan+UBSan)
#   make check-kstyle     the module's sparse (each kit), kernel-doc, checkpatch
#   make check-fuzz       every libFuzzer harness for 10 s (make fuzz builds them;
#                         FUZZ_SECONDS=N for longer)
#   make check-kselftest  module kselftests in the test VM, each kit
#                         (x86_64 TEST_KITS and arm64 ARM64_KITS)
#   make check-e2e        end-to-end tests in the test VM (in-process, bridge)
#   make check-debug      the same module tests on the debug kernel (KASAN, lockdep...)
#   make demo             the main job, shown: a guest served through the bridge
#   make vm-shell         interactive shell in the test VM (KERNEL=6.12 ok,
#                         KERNEL=arm64-6.1: the arm64 test VM, no vbridge)
#
# tools/testing/run-tests does the running; see its --help.

TEST_KITS ?= 6.1 6.12
# The arm64 kits (kernel-kit arm64-6.1, arm64-6.12): the module and the
# kselftests cross-built, run in the arm64 test VM (vm-run -k arm64-...).
ARM64_KITS ?= arm64-6.1 arm64-6.12

# The test run's one time budget counts from here, when make starts, so the
# builds that `make check` does first are inside it (run-tests --help).
ifndef CHECK_START
CHECK_START := $(shell date +%s)
endif
export CHECK_START

# Host unit tests: tools/testing/unit/test_*.c, each its own TAP program.
UNIT_SRCS := $(sort $(wildcard tools/testing/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tools/testing/unit/%.c=$(BUILD)/unit/%)
UNIT_ASAN_BINS := $(UNIT_SRCS:tools/testing/unit/%.c=$(BUILD)/asan/unit/%)

$(BUILD)/unit/%: tools/testing/unit/%.c $(BUILD)/libvbridge.a
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -Itools/testing/unit $(CFLAGS) -o $@ $< \
		$(BUILD)/libvbridge.a $(USER_LDLIBS)

$(BUILD)/asan/unit/%: tools/testing/unit/%.c $(BUILD)/asan/libvbridge.a
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) $(SAN_FLAGS) -Itools/testing/unit $(CFLAGS) -o $@ $< \
		$(BUILD)/asan/libvbridge.a $(USER_LDLIBS)

include tools/testing/fuzz/fuzz.mk

# Kselftests of the module, built with the kselftest harness taken from
# Debian's linux-source-6.1 (cached by the kernel kit, never committed).
SELFTEST_DIR := tools/testing/selftests/virtio_bridge
SELFTEST_SRCS := $(sort $(wildcard $(SELFTEST_DIR)/*.c))
SELFTEST_HDRS := $(wildcard $(SELFTEST_DIR)/*.h)
SELFTEST_BINS := $(SELFTEST_SRCS:$(SELFTEST_DIR)/%.c=$(BUILD)/selftests/%)
SELFTEST_CFLAGS := -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
	-Wno-unused-parameter -Wno-sign-compare -Ikmod/include/uapi -I$(SELFTEST_DIR)

$(BUILD)/selftest-src.stamp:
	@mkdir -p $(BUILD)
	$(KIT) selftest-src
	@touch $@

$(BUILD)/selftests/%: $(SELFTEST_DIR)/%.c $(SELFTEST_HDRS) kmod/include/uapi/virtio_bridge.h $(BUILD)/selftest-src.stamp
	@mkdir -p $(dir $@)
	$(CC) $(SELFTEST_CFLAGS) -I$$($(KIT) -q --print dir selftest-src)/tools/testing/selftests \
		-o $@ $< -lpthread

# The same for the arm64 test VM, with Debian's cross compiler.  Linked
# statically: the test VM's initramfs is busybox alone, and its arm64
# programs cannot bring their libraries along (ldd runs them).
ARM64_SELFTEST_BINS := $(SELFTEST_SRCS:$(SELFTEST_DIR)/%.c=$(BUILD)/arm64/selftests/%)

$(BUILD)/arm64/selftests/%: $(SELFTEST_DIR)/%.c $(SELFTEST_HDRS) kmod/include/uapi/virtio_bridge.h $(BUILD)/selftest-src.stamp
	@mkdir -p $(dir $@)
	$(CROSS_ARM64)gcc $(SELFTEST_CFLAGS) -I$$($(KIT) -q --print dir selftest-src)/tools/testing/selftests \
		-static -o $@ $< -lpthread

.PHONY: test-build test-build-unit test-build-vm test-build-debug check check-unit check-kstyle check-fuzz check-harness check-kselftest check-e2e check-debug vm-shell demo
test-build-unit: $(UNIT_BINS) $(UNIT_ASAN_BINS)
test-build-vm: $(BUILD)/vbridge $(SELFTEST_BINS) \
	$(foreach k,$(TEST_KITS),$(BUILD)/kmod-$(k)/kmod/virtio_bridge.ko) \
	$(if $(ARM64_KITS),$(ARM64_SELFTEST_BINS) test-build-arm64-user) \
	$(foreach k,$(ARM64_KITS),$(BUILD)/kmod-$(k)/kmod/virtio_bridge.ko)
# build/arm64/vbridge (static) for the arm64 test VM: the arm64 e2e tests
# and the kselftests' ctl_test there.
.PHONY: test-build-arm64-user
test-build-arm64-user:
	$(MAKE) ARCH=arm64 user
test-build: test-build-unit test-build-vm fuzz test-build-deb
# The Debian packages (make deb) into build/deb/, for the install suite's
# test-deb.sh.  A failed package build does not stop the other builds:
# test-deb.sh then builds them itself and reports how that fails.
.PHONY: test-build-deb
test-build-deb:
	-tools/build-deb build/deb
# The module and the canary fixture against the debug kit (kernel-kit
# debug: KASAN, lockdep, kmemleak...).  Its first use builds that kernel,
# about 8 minutes on two idle cores; later ones find it in the cache.
test-build-debug: $(BUILD)/kmod-debug/kmod/virtio_bridge.ko $(BUILD)/canary-debug/canary.ko

# The debug kit builds in the background under nice -n 19 (its first use
# compiles a kernel, about 11 minutes of two cores), so it takes only the
# CPU that the other builds and then the test suites leave idle; run-tests
# runs its suites last and waits for it there (--debug-build).  The other
# builds run in parallel (CHECK_JOBS, default: one per CPU).  The
# background build is its own process group (setsid), killed when the
# foreground ends first, so nothing outlives `make check`.  setsid also
# makes it its own scheduler autogroup, and autogroups share the CPU
# equally whatever their tasks' nice values: so the group itself is set to
# nice 19 (/proc/self/autogroup), or the build takes half of the machine
# from the test VMs (measured: a busy loop at nice 19 in its own session
# got 50% of a shared CPU, 1.2% with the group at 19).
CHECK_JOBS ?= $(shell nproc)
DEBUG_BUILD := $(BUILD)/debug-build
check:
	@mkdir -p $(BUILD)
	@rm -f $(DEBUG_BUILD).status $(DEBUG_BUILD).status.new
	@echo "check: building the debug kit in the background, log: $(DEBUG_BUILD).log"
	@setsid sh -c 'echo 19 >/proc/self/autogroup 2>/dev/null; \
		nice -n 19 $(MAKE) --no-print-directory test-build-debug \
		>$(DEBUG_BUILD).log 2>&1; echo $$? >$(DEBUG_BUILD).status.new; \
		mv $(DEBUG_BUILD).status.new $(DEBUG_BUILD).status' </dev/null & \
	bg=$$!; trap 'kill -- -$$bg 2>/dev/null' EXIT INT TERM; \
	$(MAKE) -j$(CHECK_JOBS) test-build && \
	tools/testing/run-tests --kits "$(TEST_KITS)" --arm64-kits "$(ARM64_KITS)" \
		--debug-build $(DEBUG_BUILD)

check-unit: test-build-unit
	tools/testing/run-tests --only unit

check-fuzz: fuzz
	tools/testing/run-tests --only fuzz

# W=1 + sparse for each kit, kernel-doc -Wall, checkpatch --strict
check-kstyle: $(BUILD)/selftest-src.stamp
	tools/testing/run-tests --only kstyle --kits "$(TEST_KITS)" --arm64-kits "$(ARM64_KITS)"

# (its stall case loads the module built for the default kit)
check-harness: $(BUILD)/kmod-6.1/kmod/virtio_bridge.ko
	tools/testing/run-tests --only harness --arm64-kits "$(ARM64_KITS)"

check-kselftest: test-build-vm
	tools/testing/run-tests --only kselftest --kits "$(TEST_KITS)" --arm64-kits "$(ARM64_KITS)"

check-e2e: test-build-vm
	tools/testing/run-tests --only e2e --kits "$(TEST_KITS)"

# The debug kit's suites: its checkers reach vm-run's verdict, then the
# kselftests and the bridge scenarios on it.
check-debug: test-build-vm test-build-debug
	tools/testing/run-tests --only debug

# The main job, shown: a guest whose devices are served through the bridge.
demo: $(BUILD)/vbridge $(BUILD)/kmod-$(or $(KERNEL),6.1)/kmod/virtio_bridge.ko
	tools/testing/e2e/run-bridge --kit $(or $(KERNEL),6.1) --demo

# (the arm64 test VM gets the arm64 kselftests instead of vbridge)
vm-shell: $(BUILD)/vbridge $(BUILD)/kmod-$(or $(KERNEL),6.1)/kmod/virtio_bridge.ko \
	$(if $(filter arm64-%,$(KERNEL)),$(ARM64_SELFTEST_BINS))
	tools/testing/vm/vm-run -i --kvm -k $(or $(KERNEL),6.1) \
		$(if $(filter arm64-%,$(KERNEL)),-a $(BUILD)/arm64/selftests:/root/selftests,-a $(BUILD)/vbridge:/root/vbridge) \
		-a $(BUILD)/kmod-$(or $(KERNEL),6.1)/kmod/virtio_bridge.ko:/root/virtio_bridge.ko
