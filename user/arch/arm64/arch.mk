# The arm64 machine of `vbridge run` (included from user/user.mk).
#
# The files below implement the VMM core's hooks (vmm/arch.h) against
# arm64's KVM uAPI and build only when VB_ARCH is arm64 (make ARCH=arm64).
# Every other .c here is a pure model (decoder, page-table walker, Image
# loader, device tree, PL011, PL031): it builds on every host, so the unit
# tests and fuzzers of any build exercise it.
ARCH_GLUE_SRCS_arm64 := $(addprefix user/arch/arm64/,board.c bridge.c kvm.c nisv.c vcpu.c)
