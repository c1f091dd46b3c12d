# The x86_64 machine of `vbridge run` (included from user/user.mk).
#
# The files below implement the VMM core's hooks (vmm/arch.h) against
# x86's KVM uAPI and build only when VB_ARCH is x86.  Every other .c here
# is a pure device or table model: it builds on every host, so the unit
# tests and fuzzers of any build exercise it.
ARCH_GLUE_SRCS_x86 := $(addprefix user/arch/x86/,board.c bridge.c kvm.c vcpu.c)
