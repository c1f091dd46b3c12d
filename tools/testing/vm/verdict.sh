# shellcheck shell=bash
# verdict.sh: how vm-run judges one boot of the test VM, and whether another
# boot may help.  Sourced by vm-run; tools/testing/vm/test-vm-run feeds it
# made-up logs as well as real ones.
#
# The rule it implements: a retry may hide the emulator's flaws, never the
# product's.  Nested KVM under TCG sometimes kills the test VM (a reset
# without a word, a console gone silent, a panic in the scheduler), and only
# such a death may be booted again.  It may not when anything in the dead
# attempt points at our code:
#
#   * the test VM's own kernel log (the console: since the script's output
#     goes to the results port only, every line carrying a printk timestamp
#     there is the test VM's kernel speaking, never a second-level guest)
#     reports BUG, Oops, WARNING, a lockdep, KASAN, KFENCE, UBSAN,
#     DEBUG_OBJECTS or kmemleak report, a hung task, an RCU stall or a
#     lockup;
#   * any kernel stack names a function of virtio_bridge ("[virtio_bridge]")
#     or a task of vbridge (vbridge, vcpuN, virtio-*);
#   * vbridge outlived SIGKILL (the script says "# VMRUN-KERNEL-FAULT:");
#   * the attempt's own post-condition failed;
#   * it stopped responding, or panicked, while virtio_bridge.ko was loaded
#     (the heartbeat says so): a deadlock or a fault of the module looks
#     exactly like that.  A reset without a word is still the emulator's: a
#     module cannot triple-fault the test VM without an Oops first.  So is,
#     once per run, nested TCG's stack-end panic in a vCPU thread
#     (verdict_stack_end_panic: measured as often with QEMU).  So is QEMU
#     killed by SIGKILL long before its timeout: from outside vm-run.  So
#     is an RCU stall report of a CPU that never ran, the module never
#     loaded (verdict_dead_cpu).
#
# vm_verdict CONSOLE OUTPUT QEMU_DEBUG QRC STALLED NONCE RETRY_PANIC
#   CONSOLE, OUTPUT, QEMU_DEBUG: the attempt's files (missing ones are empty)
#   QRC: the status of timeout(1) around QEMU; STALLED: 1 when vm-run killed
#   a silent VM; NONCE: the result line's nonce; RETRY_PANIC: 1 when panics
#   may be retried at all.  Uses $timeout and $stall for messages.
# Sets: result (the "VBRIDGE-VM-RESULT" line, "" if none), why (why the
# attempt failed, "" when the script completed), retriable (1 when another
# boot may help) and blame ("" or why a retry is refused; shown in why).

# ERE over the test VM's kernel text: reports that point at a bug.  The
# arm64 kernel's own words come last: a fault in the kernel starts with
# "Unable to handle kernel ..." (x86: "BUG: unable to handle ..."), die()
# prints "Internal error: ..." (an Oops, a BUG(), an undefined instruction,
# a BRK), and an SError interrupt, a bad exception level or an unexpected
# debug exception each have a line of their own.
VERDICT_KERNEL_BAD='BUG:|Oops|general protection fault|kernel BUG at|WARNING:|UBSAN:|KASAN|KFENCE|ODEBUG:|kmemleak: [0-9]+ new suspected|INFO: task .* blocked for more than|rcu: INFO:|detected stalls? on CPU|self-detected stall|soft lockup|hard LOCKUP|Unable to handle kernel|Internal error:|SError Interrupt|Bad mode in|Unexpected kernel (BRK|single-step)'
# ERE: a stack frame of the module, or one of vbridge's tasks on a CPU.
VERDICT_OURS='\[virtio_bridge\]|Comm: (vbridge|vcpu[0-9]+|virtio-[a-z]+)( |$)|task:(vbridge|vcpu[0-9]+|virtio-[a-z]+) '

# verdict_klog CONSOLE: the test VM's kernel messages on its console, the
# text after each printk timestamp (which may follow other text on a line
# when the kernel and the init wrote at the same time).
verdict_klog() {
	tr -d '\r' < "$1" 2>/dev/null |
		sed -n 's/.*\[ *[0-9][0-9]*\.[0-9][0-9]*\] \(.*\)/\1/p'
}

# verdict_blame CONSOLE OUTPUT: why no retry may hide this attempt ("" when
# nothing points at our code); the first reason found.
verdict_blame() {
	local line rcu='^rcu: INFO:|detected stalls? on CPU|self-detected stall'
	# (the first line, read to the end: under pipefail, an early exit
	# would fail the pipeline with the line found)
	if line=$(verdict_klog "$1" | grep -aE -- "$VERDICT_KERNEL_BAD" |
		  { if verdict_dead_cpu "$1"; then grep -avE -- "$rcu"; else cat; fi; } |
		  { if verdict_stale_int3 "$1"; then grep -av '^Oops: int3: '; else cat; fi; } |
		  { if verdict_stack_end_panic "$1"; then grep -av '^BUG: TASK stack guard page was hit at '; else cat; fi; } |
		  awk 'NR == 1 { l = $0 } END { if (NR) print l; exit !NR }'); then
		echo "the test VM's kernel reported: $line"
	elif line=$(verdict_klog "$1" | grep -aE -m 1 -- "$VERDICT_OURS") &&
	     ! verdict_stack_end_panic "$1"; then
		echo "a kernel stack names our code: $line"
	elif line=$(tr -d '\r' < "$2" 2>/dev/null | grep -a -m 1 '^# VMRUN-KERNEL-FAULT: '); then
		echo "${line#*: }"
	elif tr -d '\r' < "$2" 2>/dev/null | grep -aq '^not ok - vm postcondition'; then
		echo "its post-condition failed"
	fi
}

# verdict_stale_int3 CONSOLE: the test VM's kernel died of "Oops: int3"
# at addresses that, in each oops's own code dump, hold no int3: the byte
# before RIP (x86 reports an int3 trap just past the 0xcc) is anything but
# cc; and it reported nothing else.  The kernel rewrites a static branch
# with text_poke_bp(): an int3 first, then the rest, then the first byte,
# synchronizing every CPU between the steps, so no CPU can trap on the
# int3 once the new byte is in memory.  A vCPU that does ran a stale
# translation of code another had rewritten: nested TCG's flaw, which
# lib.sh's stale_int3s excuses in the second-level guests.  The test VM
# has it too: 3 times in the runs of 5-7 December 2026 (ttwu_do_activate,
# __schedule, 4 to 24 s into the boot, twice before virtio_bridge was
# loaded).  The module rewrites no kernel text.
verdict_stale_int3() {
	verdict_klog "$1" | awk -v bad="$VERDICT_KERNEL_BAD" '
		/^Oops: int3: / { oops++; want = 1; next }
		$0 ~ bad { other++ }
		want && /^Code: / {
			want = 0
			if (match($0, / [0-9a-f][0-9a-f] <[0-9a-f][0-9a-f]>/) &&
			    substr($0, RSTART + 1, 2) != "cc")
				stale++
		}
		END { exit !(oops && stale == oops && !other) }'
}

# verdict_dead_cpu CONSOLE: virtio_bridge was never loaded, and an RCU
# stall report names a CPU that made no progress at all, not even in its
# idle loop ("(0 ticks this GP) idle=0000/0/0x0"): a vCPU of the test VM
# that QEMU stopped running, as nested TCG now and then leaves one (a run
# of 7 December 2026, in-process e2e: CPU 0 dead 66 s into the boot, the
# stall report itself then hung waiting for it, the console silent).  Such
# a report is the emulator's, like the silence that follows; any other
# report still blames the attempt.
verdict_dead_cpu() {
	! verdict_module_loaded "$1" &&
		[ "$(verdict_klog "$1" |
		     grep -acE '^rcu:[[:space:]]+[0-9]+-\.\.\.!: \(0 ticks this GP\) idle=0000/0/0x0')" -gt 0 ]
}

# verdict_stack_end_panic CONSOLE: the test VM panicked with "corrupted
# stack end detected inside scheduler" in a vCPU thread, the way nested KVM
# under TCG does it to a task that ran a second-level guest.  tf-census saw
# it three times in QEMU's own vCPU threads ("CPU 0/KVM") with no module
# ever loaded; in vbridge's ("vcpu0") it came at the thread's exit (the
# check in do_task_dead), about once per 50 second-level boots in bridge
# mode and in-process alike, which is QEMU's rate (testing.rst, "When the
# test VM itself dies").  So such a panic is not by itself a sign of our
# code, the module loaded or not, when: the panicking task is a vCPU
# thread, the trace shows it in do_exit (where all but one measured were
# detected), returning to user mode from write(2) (x86_64's ORIG_RAX 1:
# a whole run of 6 December 2026 saw vcpu0 preempted there right after
# its guest powered off, as it wrote the VMM's done eventfd; no node of
# the module has a write operation, so no code of the module ran in that
# system call) or returning to user mode from an interrupt taken in user
# mode (irqentry_exit_to_user_mode with a user RIP, 0033: a run of 7
# December 2026 saw vcpu0 preempted there by a reschedule IPI; no system
# call, so no code of the module, was under way), the kernel is untainted or tainted only by out-of-tree or
# unsigned modules (O, E: ours), and no stack names a function of the
# module.  Or the stack ran out first, in the kernel's exception entry
# ("BUG: TASK stack guard page was hit", RIP error_entry: exceptions
# nesting in the entry code, before any handler of theirs runs; the run of
# 7 December 2026, with no trace after the registers): the module's own
# functions take at most 1 KiB of the 16 KiB stack, with no recursion
# (kstyle's kstack check), so they cannot have used it up.  Any other
# kernel report, a frame of the module, another task, or a second such
# panic with the module loaded in one vm-run (vm_verdict counts them)
# still fails the run.
verdict_stack_end_panic() {
	local klog
	klog=$(verdict_klog "$1")
	grep -aq '^Kernel panic - not syncing: corrupted stack end detected inside scheduler' <<< "$klog" &&
		grep -aqE '^CPU: [0-9]+ (UID: [0-9]+ )?PID: [0-9]+ Comm: (vcpu[0-9]+|CPU [0-9]+/KVM) (Not tainted|Tainted: G[ OE]*[0-9])' <<< "$klog" &&
		{ { grep -aq '^BUG: TASK stack guard page was hit at ' <<< "$klog" &&
		    grep -aqE '^RIP: 0010:error_entry\+' <<< "$klog"; } ||
		  grep -aqE '^ *do_exit\+' <<< "$klog" ||
		  { grep -aqE '^ *syscall_exit_to_user_mode\+' <<< "$klog" &&
		    grep -aqE 'ORIG_RAX: 0000000000000001$' <<< "$klog"; } ||
		  { grep -aqE '^ *irqentry_exit_to_user_mode\+' <<< "$klog" &&
		    grep -aqE '^RIP: 0033:' <<< "$klog"; }; } &&
		! grep -aq '\[virtio_bridge\]' <<< "$klog"
}

# verdict_module_loaded CONSOLE: virtio_bridge was loaded at some point of
# the attempt (a heartbeat said so, or an oops listed it).
verdict_module_loaded() {
	tr -d '\r' < "$1" 2>/dev/null |
		grep -aqE '^vm-run: alive .*\[virtio_bridge loaded\]|Modules linked in:.* virtio_bridge'
}

vm_verdict() {
	local console=$1 output=$2 qdebug=$3 qrc=$4 stalled=$5 nonce=$6 rpanic=$7
	why="" retriable=0 blame="" result=""
	if [ -f "$output" ]; then
		result=$(tr -d '\r' < "$output" | grep -a "^VBRIDGE-VM-RESULT $nonce " | tail -n 1 || true)
	fi
	if [ "$stalled" = 1 ]; then
		why="the test VM stopped responding: no console output for ${stall}s, not even its heartbeat; killed"
		retriable=1
		verdict_module_loaded "$console" &&
			blame="virtio_bridge was loaded: a deadlock of the module looks the same"
	elif [ "$qrc" = 137 ] && [ "${elapsed:-$timeout}" -lt $((timeout - 10)) ]; then
		# SIGKILL long before timeout(1) could have sent it: from outside
		# vm-run (the host's OOM killer, a person), nothing of the test VM
		why="QEMU was killed (SIGKILL) after ${elapsed}s, long before the ${timeout}s timeout: not by vm-run"
		retriable=1
	elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		why="no result within ${timeout}s (hang); killed"
	elif verdict_klog "$console" | grep -aq '^Kernel panic'; then
		why="the test VM's kernel panicked: $(verdict_klog "$console" | grep -a -m 1 '^Kernel panic')"
		retriable=$rpanic
		verdict_module_loaded "$console" && ! verdict_stack_end_panic "$console" &&
			! verdict_stale_int3 "$console" &&
			blame="virtio_bridge was loaded: the panic may be the module's"
	elif [ -z "$result" ]; then
		if grep -aq 'Triple fault' "$qdebug" 2>/dev/null; then
			why="the test VM reset itself (QEMU: triple fault) without reporting a result"
		else
			why="the VM ended (qemu status $qrc) without reporting a result"
		fi
		retriable=1
	elif [ "${result##* }" != 0 ] &&
	     line=$(tr -d '\r' < "$output" | grep -a -m 1 '^# VMRUN-KERNEL-FAULT: '); then
		why="the script failed after the test VM's kernel did: ${line#*: }"
	fi
	[ -n "$why" ] || return 0
	# Whatever the death, a sign of our code in it forbids the retry.
	local b
	b=$(verdict_blame "$console" "$output")
	[ -z "$b" ] || blame=$b
	if [ "$retriable" = 1 ] && [ -n "$blame" ]; then
		retriable=0
		why="$why; not retried: $blame"
	fi
	# The stack-end panic or a stale int3 with the module loaded: once
	# per vm-run.
	if [ "$retriable" = 1 ] && verdict_module_loaded "$console" &&
	   { verdict_stack_end_panic "$console" || verdict_stale_int3 "$console"; }; then
		VERDICT_MODULE_PANICS=$(( ${VERDICT_MODULE_PANICS:-0} + 1 ))
		if [ "$VERDICT_MODULE_PANICS" -gt 1 ]; then
			retriable=0
			why="$why; not retried: the second stack-end panic or stale int3 with virtio_bridge loaded in this run"
		fi
	fi
	return 0
}
