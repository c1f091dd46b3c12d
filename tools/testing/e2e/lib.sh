# shellcheck shell=sh
# lib.sh: shell functions of the end-to-end scenarios that run inside the
# test VM (vm-e2e.sh, vm-bridge.sh).  Source it after setting SUITE (the
# run-tests suite's name, for retry lines), KIT, VBRIDGE,
# KERNEL, INITRD, OUT, TIMEOUT (seconds per guest) and BUDGET (seconds for
# the whole script: every wait ends at the budget's end at the latest, and
# says what it waited for).  Every check prints one TAP line; a failing one
# is followed by the named log's tail as "#" comments.
status=0

ok() { echo "ok - e2e $KIT: $*"; }
nok() { echo "not ok - e2e $KIT: $*"; status=1; }
note() { echo "# $*"; }
# check COND-STATUS DESCRIPTION [LOG...]: one TAP line from a shell status
check() {
	c_st=$1 c_what=$2
	shift 2
	if [ "$c_st" -eq 0 ]; then
		ok "$c_what"
	else
		nok "$c_what"
		for c_log in "$@"; do log_tail "$c_log"; done
	fi
}
# log_tail NAME: the last lines of $OUT/NAME.out and $OUT/NAME.err
log_tail() {
	for f in "$OUT/$1.out" "$OUT/$1.err"; do
		[ -s "$f" ] || continue
		echo "# --- last lines of $(basename "$f")"
		tail -n 25 "$f" | tr -d '\r' | sed 's/^/#   /'
	done
}
now() { cut -d' ' -f1 /proc/uptime; }
# elapsed START: seconds since START (from now), 1 decimal
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# The run's end: BUDGET seconds after this file was sourced.
RUN_START=$(now)
RUN_END=$(awk -v a="$RUN_START" -v b="${BUDGET:-900}" 'BEGIN { printf "%.2f", a + b }')
# left: seconds until the current VM's deadline, the earlier of TIMEOUT
# after it started and the run's end, rounded up (0 once it has passed)
left() {
	awk -v now="$(now)" -v t0="$VM_T0" -v t="$TIMEOUT" -v end="$RUN_END" \
		'BEGIN { d = t0 + t; if (end < d) d = end; d -= now;
			 printf "%d", (d > 0 ? int(d) + 1 : 0) }'
}
# why_late: what ended the wait for the current VM
why_late() {
	if [ "$(awk -v n="$(now)" -v e="$RUN_END" 'BEGIN { print (n >= e) }')" = 1 ]; then
		echo "the run's budget of ${BUDGET:-900} s is used up"
	else
		echo "the guest's $TIMEOUT s are up"
	fi
}

# vm_start NAME ARGS...: start vbridge run in the background.  Its standard
# input is a FIFO kept open on fd 3 (vm_input writes to it).  It boots
# KERNEL and INITRD, unless ARGS start with --bios (firmware boots).
vm_start() {
	name=$1
	shift
	rm -f "$OUT/$name.out" "$OUT/$name.err" "$OUT/$name.in" "$OUT/$name.hang"
	mkfifo "$OUT/$name.in"
	exec 3<>"$OUT/$name.in"
	VM_T0=$(now)
	[ "${1:-}" = --bios ] || set -- --kernel "$KERNEL" --initrd "$INITRD" "$@"
	"$VBRIDGE" run -v "$@" \
		< "$OUT/$name.in" > "$OUT/$name.out" 2> "$OUT/$name.err" &
	VM_PID=$!
	VM_NAME=$name
	echo "$name" >> "$OUT/started"
}

# vm_input TEXT: a line to the guest's console
vm_input() { echo "$1" | fifo_write 3 "$VM_NAME's console input"; }

# fifo_write FD WHAT [FILE...]: FILEs (standard input without one) to fd FD,
# a FIFO that a VMM or provider reads, within FIFO_SECONDS (30).  A reader
# that stopped (a guest that no longer takes hvc0 input, so the provider
# leaves its standard input unread) is a note and a failed write, never a
# wait for ever: a blocked write once held a whole suite until its timeout.
fifo_write() {
	fw_fd=$1 fw_what=$2
	shift 2
	timeout -k 2 "${FIFO_SECONDS:-30}" cat "$@" >&"$fw_fd"
	fw_rc=$?
	[ $fw_rc = 0 ] ||
		note "$fw_what: not all written, nothing read it for ${FIFO_SECONDS:-30} s (status $fw_rc)"
	return $fw_rc
}

# vm_wait WHAT COMMAND...: run COMMAND every 0.2 s until it succeeds; sets
# VM_SEEN to the seconds since vbridge started.  Fails, saying so in a
# comment naming WHAT, when vbridge has ended or the deadline (see left)
# has passed first.
vm_wait() {
	what=$1
	shift
	while :; do
		if "$@"; then
			VM_SEEN=$(elapsed "$VM_T0")
			return 0
		fi
		if ! kill -0 "$VM_PID" 2>/dev/null; then
			"$@" && { VM_SEEN=$(elapsed "$VM_T0"); return 0; }
			note "$VM_NAME: vbridge ended before $what"
			return 1
		fi
		if [ "$(left)" = 0 ]; then
			note "$VM_NAME: gave up waiting for $what after $(elapsed "$VM_T0") s: $(why_late)"
			return 1
		fi
		sleep 0.2
	done
}

# vm_await PATTERN: wait until the console shows PATTERN (grep -E)
vm_await() { vm_wait "the console line /$1/" seen "$1"; }

# vm_hang_report: what a vbridge that ran out of time was doing, as "#"
# comments: each thread's state and kernel stack, then one second of the
# test VM's KVM exits for it (reason and guest PC, most frequent first),
# which tells a guest spinning or waiting on a device from one that KVM
# no longer runs.  A trace instance of its own leaves the shutdown
# probe's buffer alone.  The exits are kept in $OUT/$VM_NAME.hang ("N in
# all", then "COUNT REASON" lines, most frequent first) for silent_storms.
vm_hang_report() {
	for hr_t in /proc/"$VM_PID"/task/*; do
		echo "# thread $(cat "$hr_t/comm" 2>/dev/null): state $(awk '{ print $3 }' "$hr_t/stat" 2>/dev/null)," \
			"wchan $(cat "$hr_t/wchan" 2>/dev/null)"
		head -n 4 "$hr_t/stack" 2>/dev/null | sed 's/^/#     /'
	done
	hr_i=$SP_TRACE/instances/vbridge-hang
	mount -t tracefs tracefs $SP_TRACE 2>/dev/null
	if mkdir "$hr_i" 2>/dev/null && [ -e "$hr_i/events/kvm/kvm_exit/enable" ]; then
		echo 1 > "$hr_i/events/kvm/kvm_exit/enable"
		sleep 1
		echo 0 > "$hr_i/events/kvm/kvm_exit/enable"
		{
			echo "$(grep -c 'kvm_exit:' "$hr_i/trace") in all"
			sed -n 's/.*kvm_exit: //p' "$hr_i/trace" | sed 's/ info.*//; s/ esr_ec.*//' |
				sort | uniq -c | sort -rn | head -n 8
		} > "$OUT/$VM_NAME.hang"
		echo "# one second of its KVM exits: $(head -n 1 "$OUT/$VM_NAME.hang"); the most frequent:"
		tail -n +2 "$OUT/$VM_NAME.hang" | sed 's/^/#   /'
		rmdir "$hr_i"
	else
		echo "# (no KVM exit trace: tracefs has no kvm events here)"
	fi
}

# vm_end: wait for vbridge to exit (killing it after the timeout); sets
# VM_STATUS (124 when it had to be killed).  Polls rather than leaving a
# watchdog behind, whose sleep would hold vm-run's output pipe open.
vm_end() {
	killed=0
	while kill -0 "$VM_PID" 2>/dev/null; do
		if [ "$(left)" = 0 ]; then
			note "$VM_NAME: vbridge still running $(elapsed "$VM_T0") s after it started ($(why_late)): killed"
			vm_hang_report
			kill -9 "$VM_PID" 2>/dev/null
			killed=1
			break
		fi
		sleep 0.2
	done
	if [ $killed = 1 ] && ! wait_for 20 sh -c "! kill -0 $VM_PID 2>/dev/null"; then
		# Only a task stuck in the kernel outlives SIGKILL: say where,
		# rather than wait for it for ever.
		echo "# VMRUN-KERNEL-FAULT: $VM_NAME: vbridge (pid $VM_PID) outlived SIGKILL by 20 s; kernel stack:"
		sed 's/^/#   /' "/proc/$VM_PID/stack" 2>/dev/null
	else
		wait "$VM_PID"
		VM_STATUS=$?
	fi
	[ $killed = 0 ] || VM_STATUS=124
	exec 3>&-
}

# marker NAME: the value after "E2E-NAME " on the console
marker() { tr -d '\r' < "$OUT/$VM_NAME.out" | sed -n "s/^E2E-$1 //p" | head -n 1; }
seen() { tr -d '\r' 2>/dev/null < "$OUT/$VM_NAME.out" | grep -qE "$1"; }
said() { grep -qE "$1" "$OUT/$VM_NAME.err"; }

# holds SECONDS COMMAND...: COMMAND keeps succeeding for SECONDS, checked
# every 0.1 s; fails as soon as it does not.  For what must not happen
# within a time the product defines (a timeout that must not end a wait).
holds() {
	ho_end=$(awk -v a="$(now)" -v b="$1" 'BEGIN { print a + b }')
	shift
	while "$@"; do
		awk -v a="$(now)" -v b="$ho_end" 'BEGIN { exit !(a < b) }' || return 0
		sleep 0.1
	done
	return 1
}

# wait_for SECONDS COMMAND...: run COMMAND every 0.1 s until it succeeds;
# fails after SECONDS.
wait_for() {
	wf_end=$(awk -v a="$(now)" -v b="$1" 'BEGIN { print a + b }')
	shift
	until "$@"; do
		awk -v a="$(now)" -v b="$wf_end" 'BEGIN { exit !(a < b) }' || return 1
		sleep 0.1
	done
}

# --- the scenario watchdog ---------------------------------------------------
#
# Every wait of a scenario has a bound of its own, but a shell `wait` for
# a process that ignores its signal, or a helper stuck in the kernel,
# would hold the whole run until vm-run's timeout, and say nothing.  So
# each scenario runs under a watchdog.  Past SCENARIO_MAX seconds it
# prints at once, on the run's own output, a failed check that says
# where the script and its processes wait (the details as comments, kept
# in $OUT/watchdog.txt), then kills the scenario's processes (every
# descendant of the script but the watchdog and the pids in RUN_SPARE),
# again every 2 s until the scenario returns.  Such a scenario fails and
# is never run again.  The longest scenario takes 92 s (daemon_kill,
# debug kit).
SCENARIO_MAX=${SCENARIO_MAX:-360}
RUN_SPARE=''

# wd_procs ROOT SPARE...: "PID PPID STATE COMM" of ROOT's descendants,
# leaving out SPARE pids and theirs
wd_procs() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" -v spare="$*" '
		BEGIN { n = split(spare, s, " "); for (i = 2; i <= n; i++) skip[s[i]] = 1 }
		{
			# comm may hold spaces: what follows its last ")" is "STATE PPID ..."
			r = $0; sub(/^.*\) /, "", r); split(r, f, " ")
			c = $0; sub(/\) [^)]*$/, "", c); sub(/^[0-9]+ \(/, "", c); gsub(/ /, "_", c)
			ppid[$1] = f[2]; line[$1] = $1 " " f[2] " " f[1] " " c
		}
		END {
			for (p in line) {
				for (q = p; q != "" && q != root && q > 1; q = ppid[q])
					if (q in skip) break
				if (q == root && !(p in skip) && p != root) print line[p]
			}
		}' | sort -n
}

# wd_where PID: "STATE WHERE" of a process, WHERE its kernel wait channel
# (its innermost kernel frame when the channel says nothing)
wd_where() {
	ww_w=$(cat "/proc/$1/wchan" 2>/dev/null)
	[ -n "$ww_w" ] && [ "$ww_w" != 0 ] ||
		ww_w=$(head -n 1 "/proc/$1/stack" 2>/dev/null | sed 's/^\[<[0-9a-f]*>\] //; s/+.*//')
	echo "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) ${ww_w:-?}"
}

# wd_run NAME SHELL-PID: the watchdog's body, in the background with the
# run's output on fd 9 (which no sleep of it keeps open)
wd_run() {
	read -r wr_self _ < /proc/self/stat
	wr_t0=$(now)
	while [ ! -e "$OUT/watchdog.stop" ]; do
		if awk -v a="$wr_t0" -v n="$(now)" -v m="$SCENARIO_MAX" 'BEGIN { exit !(n - a >= m) }'; then
			break
		fi
		sleep 2 9>&-
	done
	[ ! -e "$OUT/watchdog.stop" ] || return 0
	{
		echo "WD-SCRIPT $(wd_where "$2")"
		# shellcheck disable=SC2086
		wd_procs "$2" "$wr_self" $RUN_SPARE | while read -r wr_p _ _ wr_c; do
			echo "WD-PROC $wr_p $wr_c ($(wd_where "$wr_p")) | $(tr '\0' ' ' < "/proc/$wr_p/cmdline" 2>/dev/null | cut -c1-160)"
			sed 's/^\[<[0-9a-f]*>\] /WD-STACK   /' "/proc/$wr_p/stack" 2>/dev/null | head -n 8
		done
	} > "$OUT/watchdog.tmp"
	# one in uninterruptible sleep first: no signal ends that wait
	wr_proc=$({ grep '^WD-PROC [0-9]* [^ ]* (D ' "$OUT/watchdog.tmp"; grep '^WD-PROC ' "$OUT/watchdog.tmp"; } |
		head -n 1 | sed 's/^WD-PROC //; s/ |.*//')
	{
		nok "$1: still running after $SCENARIO_MAX s, its processes killed: the script waited ($(sed -n 's/^WD-SCRIPT //p' "$OUT/watchdog.tmp")); its process ${wr_proc:-(none)}"
		sed 's/^/#   /' "$OUT/watchdog.tmp"
	} >&9
	# (the scenario's end may kill the watchdog before this: then the
	# line above, if printed, fails the run on its own)
	mv "$OUT/watchdog.tmp" "$OUT/watchdog.txt"
	while [ ! -e "$OUT/watchdog.stop" ]; do
		# shellcheck disable=SC2086
		wd_procs "$2" "$wr_self" $RUN_SPARE | while read -r wr_p _; do
			kill -9 "$wr_p" 2>/dev/null
		done
		sleep 2 9>&-
	done
}

# run [--again-on-triple-fault] SCENARIO-FUNCTION: run it and print its
# TAP.  A second-level guest that triple-faults fails its scenario like any
# other failure.  With --again-on-triple-fault (only for the scenarios that
# boot the stock guest with its own workload, as tf-census measured), a
# scenario with a failed check and a guest triple fault runs again, up to
# RUN_AGAIN_MAX times, each time only when every fault of the attempt
# that failed was the measured one: nested TCG triple-faults that guest
# as often with QEMU as the second-level VMM as with vbridge run
# (Documentation/virtio-bridge/testing.rst, "Second-level triple
# faults").  Any scenario with a failed check also runs again when one of
# its guests never started (silent_storms).  Each retry is printed as
# "# RETRIED: SUITE SCENARIO: CAUSE" (tap-summary counts it), the failed
# attempt's lines as comments, and only the last attempt counts.
RUN_AGAIN_MAX=2
run() {
	run_again=0
	if [ "$1" = --again-on-triple-fault ]; then
		run_again=1
		shift
	fi
	run_t0=$(now)
	run_status=$status
	: > "$OUT/started"
	sp_clear
	run_guarded "$@"
	run_attempt=1
	while [ $run_attempt -le $RUN_AGAIN_MAX ] && grep -q '^not ok' "$OUT/scenario.tap"; do
		if [ -e "$OUT/watchdog.txt" ]; then
			break
		elif run_cause=$(silent_storms); then
			run_cause="a second-level guest never started: $run_cause"
		elif run_cause=$(stale_int3s); then
			run_cause="a second-level guest ran an int3 no longer in its memory: $run_cause"
		elif [ $run_again = 1 ] && triple_faulted; then
			if ! run_cause=$(tf_measured); then
				note "$1: not run again: $run_cause"
				break
			fi
			run_cause="a second-level guest triple-faulted: $(triple_faults) $run_cause"
		else
			break
		fi
		echo "# RETRIED: $SUITE ${1#scenario_}: $run_cause"
		sed "s/^/# attempt $run_attempt: /" "$OUT/scenario.tap"
		status=$run_status
		: > "$OUT/started"
		sp_clear
		run_guarded "$@"
		run_attempt=$((run_attempt + 1))
	done
	cat "$OUT/scenario.tap"
	triple_faulted &&
		note "$1: a second-level guest triple-faulted: $(triple_faults) probe: $(sp_hits | tr '\n' ';')"
	echo "# $1 took $(elapsed "$run_t0") s"
}

# run_guarded SCENARIO-FUNCTION: run it under the watchdog, its TAP in
# $OUT/scenario.tap (the watchdog's line, if any, already printed)
run_guarded() {
	rm -f "$OUT/watchdog.stop" "$OUT/watchdog.tmp" "$OUT/watchdog.txt"
	wd_run "${1#scenario_}" $$ 9>&1 < /dev/null > /dev/null 2>&1 &
	rg_wd=$!
	"$@" > "$OUT/scenario.tap"
	: > "$OUT/watchdog.stop"
	# (its sleep of at most 2 s may outlive it, holding only /dev/null)
	kill "$rg_wd" 2>/dev/null
	wait "$rg_wd" 2>/dev/null
	if [ -e "$OUT/watchdog.txt" ]; then
		status=1
		echo "# ${1#scenario_}: ended after the watchdog's failed check above" >> "$OUT/scenario.tap"
	fi
}

# --- the shutdown probe ----------------------------------------------------
#
# /root/e2e/kprobe.txt, when the runner brought one (tools/testing/e2e/
# shutdown-probe; not for the debug kit), is a kprobe on the test VM's
# kvm-amd that records a second-level guest's state when it shuts down.
# sp_setup arms it once, sp_clear forgets what it saw, sp_hits prints it.
SP=0
SP_TRACE=/sys/kernel/tracing
sp_setup() {
	if [ ! -s /root/e2e/kprobe.txt ]; then
		note "no shutdown probe for kit $KIT: a guest's triple fault is never taken for the measured one"
		return
	fi
	mount -t tracefs tracefs $SP_TRACE 2>/dev/null
	if cat /root/e2e/kprobe.txt > $SP_TRACE/kprobe_events &&
	   echo 1 > $SP_TRACE/events/tfc/shutdown/enable; then
		SP=1
		note "shutdown probe armed: a guest's triple fault is recorded with its state"
	else
		note "the shutdown probe could not be set: a guest's triple fault is never taken for the measured one"
	fi
}
sp_clear() { [ "$SP" = 0 ] || : > $SP_TRACE/trace; }
sp_hits() { [ "$SP" = 0 ] || grep 'shutdown:' $SP_TRACE/trace | grep -v '^#'; }
# sp_field LINE KEY: KEY's value in a probe line
sp_field() { echo "$1" | sed -n "s/.* $2=\([^ ]*\).*/\1/p"; }

# hex_is_plus_0x80 A B: the 64-bit hex numbers A = B + 0x80, in any shell:
# a kernel address does not fit a shell's signed arithmetic (dash refuses
# it), so each is summed as two 32-bit halves.
hex_is_plus_0x80() {
	hx_a=$(printf '%016s' "${1#0x}" | tr ' ' 0)
	hx_b=$(printf '%016s' "${2#0x}" | tr ' ' 0)
	[ ${#hx_a} = 16 ] && [ ${#hx_b} = 16 ] || return 1
	case $hx_a$hx_b in *[!0-9a-fA-F]*) return 1 ;; esac
	hx_lo=$((0x${hx_b#????????} + 0x80))
	hx_hi=$((0x${hx_b%????????} + hx_lo / 4294967296))
	[ $hx_hi -eq $((0x${hx_a%????????})) ] &&
		[ $((hx_lo % 4294967296)) -eq $((0x${hx_a#????????})) ]
}
# tf_measured: the scenario's guest triple faults were all the one
# tf-census measured, as often with QEMU as with vbridge run as the
# second-level VMM: an exception the guest could not deliver because
# reading its IDT's double-fault gate faulted (cr2 = idtr + 8 * 16).
# Prints why (for the retry line), or why not; status 0 when they were.
tf_measured() {
	[ "$SP" = 1 ] || { echo "no shutdown probe to tell the fault's cause"; return 1; }
	tm_hits=$(sp_hits)
	[ -n "$tm_hits" ] || { echo "the shutdown probe saw no fault"; return 1; }
	tm_bad=$(echo "$tm_hits" | while read -r tm_l; do
		tm_cr2=$(sp_field "$tm_l" cr2)
		tm_idtr=$(sp_field "$tm_l" idtr)
		if [ -z "$tm_cr2" ] || [ -z "$tm_idtr" ] ||
		   ! hex_is_plus_0x80 "$tm_cr2" "$tm_idtr"; then
			echo "cr2=$tm_cr2 idtr=$tm_idtr rip=$(sp_field "$tm_l" rip)"
		fi
	done)
	if [ -n "$tm_bad" ]; then
		echo "a fault that is not the measured one: $tm_bad"
		return 1
	fi
	tm_n=$(echo "$tm_hits" | wc -l)
	echo "(the probe: $tm_n fault(s) reading the IDT's double-fault gate, cr2 = idtr + 0x80, rip $(sp_field "$(echo "$tm_hits" | head -n 1)" rip): the nested-TCG fault tf-census counted as often with QEMU)"
}
# silent_storms: the guests started since "$OUT/started" was emptied that
# never started: not one byte on their console, and when they were killed
# for it their vCPU spun in the test VM's KVM on nested page faults at one
# guest address (at least 1000 exits in the second vm_hang_report traced,
# 90% of them that one "npf rip").  No exit reached vbridge run, and
# the module takes no part in a guest's page faults: the test VM's
# emulated SVM does not let its KVM fix the fault (nested paging under
# TCG), as it sometimes kills the test VM itself.  Prints each such guest
# with its exits; status 0 when there was one.
silent_storms() {
	ss_found=1
	for ss_n in $(cat "$OUT/started"); do
		[ -s "$OUT/$ss_n.hang" ] && ! [ -s "$OUT/$ss_n.out" ] || continue
		ss_all=$(sed -n '1s/ in all$//p' "$OUT/$ss_n.hang")
		ss_top=$(sed -n '2p' "$OUT/$ss_n.hang")
		ss_c=$(echo "$ss_top" | awk '{ print $1 }')
		case "$ss_all,$ss_c" in *[!0-9,]*|,*|*,) continue ;; esac
		echo "$ss_top" | grep -qE '^ *[0-9]+ vcpu [0-9]+ reason npf rip 0x[0-9a-f]+$' || continue
		[ "$ss_all" -ge 1000 ] && [ $((ss_c * 10)) -ge $((ss_all * 9)) ] || continue
		printf '%s: no console output, %s of %s KVM exits in a second: %s; ' \
			"$ss_n" "$ss_c" "$ss_all" "$(echo "$ss_top" | sed 's/^ *[0-9]* //')"
		ss_found=0
	done
	return $ss_found
}
# stale_int3s: the guests started since "$OUT/started" was emptied whose
# kernel died of "Oops: int3" at an address that, in the oops's own code
# dump, holds no int3: the byte before RIP (x86 reports an int3 trap just
# past the 0xcc) is anything but cc.  The kernel rewrites a static branch
# with text_poke_bp(), which puts an int3 there, writes the rest, then the
# first byte, synchronizing every CPU between the steps, so no CPU can
# still trap on the int3 once the new byte is in memory.  One did: a vCPU
# ran code another had already rewritten, a stale translation of nested
# TCG (testing.rst, "Second-level triple faults").  Prints each such
# guest with its RIP and code bytes; status 0 when there was one.
stale_int3s() {
	si_found=1
	for si_n in $(cat "$OUT/started"); do
		[ -s "$OUT/$si_n.out" ] || continue
		si_oops=$(tr -d '\r' < "$OUT/$si_n.out" | grep -a -m 1 -A 8 'Oops: int3:') || continue
		si_rip=$(echo "$si_oops" | sed -n 's/.*RIP: [0-9a-f]*:\([^ ]*\).*/\1/p' | head -n 1)
		si_code=$(echo "$si_oops" | sed -n 's/.*Code: //p' | head -n 1)
		si_before=$(echo "$si_code" | sed -n 's/.* \([0-9a-f][0-9a-f]\) <[0-9a-f][0-9a-f]>.*/\1/p')
		[ -n "$si_rip" ] && [ -n "$si_before" ] && [ "$si_before" != cc ] || continue
		printf '%s: Oops: int3 at %s, the byte before it %s, not cc (Code: ...%s); ' \
			"$si_n" "$si_rip" "$si_before" "$(echo "$si_code" | grep -o '.. <..> .. .. ..')"
		si_found=0
	done
	return $si_found
}
# triple_faulted: a guest started since "$OUT/started" was emptied did
triple_faulted() { [ -n "$(triple_faults)" ]; }
# triple_faults: what vbridge said of each such fault, one line
triple_faults() {
	for n in $(cat "$OUT/started"); do
		grep -h 'guest triple fault' "$OUT/$n.err" 2>/dev/null | sed "s/^/$n: /"
	done | tr '\n' ';'
}

# --- the device checks, shared by the in-process and the bridged devices ---
#
# devices_prepare: the host's part before the guest boots: $OUT/disk.img
# (16 MiB, a marker at its start) and $OUT/ro.img (4 MiB, random), a TCP
# listener, two vsock listeners (Unix sockets $OUT/vsock.sock_5000 for a
# line, _5003 for a bulk stream) and a uinput keyboard fed from fd 4.
# Sets DEV_DISK, DEV_RO, DEV_HVC (where hvc0's output goes), DEV_EVDEV
# and DEV_ARGS, the device options that go with them.
HELPER=/root/e2e/e2e-helper
devices_prepare() {
	DEV_DISK=$OUT/disk.img DEV_RO=$OUT/ro.img DEV_HVC=$OUT/hvc0.out
	dd if=/dev/zero of="$DEV_DISK" bs=1M count=16 2>/dev/null
	printf 'vbe2e-host-data!' | dd of="$DEV_DISK" conv=notrunc 2>/dev/null
	dd if=/dev/urandom of="$DEV_RO" bs=64k count=64 2>/dev/null
	dev_ro_sum="$(stat -c %s "$DEV_RO") $(md5sum < "$DEV_RO" | cut -d' ' -f1)"
	rm -f "$OUT"/vsock.sock* "$OUT/uinput.in" "$OUT/uinput.txt" "$OUT"/hvc-bulk-* \
		"$OUT"/uds-bulk-*
	"$HELPER" tcp-recv 5001 300 > "$OUT/tcp-in.txt" 2>&1 &
	dev_tcp_pid=$!
	"$HELPER" uds-listen "$OUT/vsock.sock_5000" 300 > "$OUT/uds-in.txt" 2>&1 &
	dev_uds_pid=$!
	"$HELPER" uds-recv "$OUT/vsock.sock_5003" 300 2097152 5 > "$OUT/uds-bulk-in.txt" 2>&1 &
	dev_uds_bulk_pid=$!
	dev_hvc_cat_pid=
	mkfifo "$OUT/uinput.in"
	exec 4<>"$OUT/uinput.in"
	: > "$OUT/uinput.txt"
	"$HELPER" uinput vbe2e-kbd < "$OUT/uinput.in" > "$OUT/uinput.txt" 2>&1 &
	dev_uinput_pid=$!
	wait_for 10 grep -q /dev/input "$OUT/uinput.txt" ||
		note "no uinput keyboard after 10 s: $(cat "$OUT/uinput.txt")"
	DEV_EVDEV=$(grep -m 1 /dev/input "$OUT/uinput.txt")
	DEV_EVDEV=${DEV_EVDEV:-/dev/input/missing}
	DEV_ARGS="--rwdisk $DEV_DISK --disk $DEV_RO,num_queues=1 --host_ip 192.168.77.1 --netmask 255.255.255.0 --rng --evdev $DEV_EVDEV --cid 3,uds=$OUT/vsock.sock"
}

# --- vhost-user back-ends ----------------------------------------------------
#
# vhost_prepare: Debian's qemu-storage-daemon exporting a 16 MiB image as
# vhost-user-blk, and virtiofsd sharing a directory with in.bin, each on
# its own socket, for the guest's check-vhost; VHOST_ARGS has the
# --vhost-user options for vbridge run or vbridge devices.  Returns 1 (a
# SKIP line printed) when the test VM has no such binaries (run-e2e and
# run-bridge bring them: the host's on x86_64, Debian's arm64 ones through
# kernel-kit vhost-arm64 on arm64).
VU_QSD=/usr/bin/qemu-storage-daemon VU_FSD=/usr/lib/qemu/virtiofsd
vhost_prepare() {
	vu_qsd_pid='' vu_fsd_pid=''
	if [ ! -x "$VU_QSD" ] || [ ! -x "$VU_FSD" ]; then
		echo "ok - e2e $KIT: vhost: # SKIP no $VU_QSD or $VU_FSD in this test VM (the runner could not bring them: see its output)"
		return 1
	fi
	VU_DISK=$OUT/vu-disk.img VU_SHARE=$OUT/vu-share
	# virtiofsd keeps a pid file under /var/run, which vm-run's root lacks
	[ -e /var/run ] || { mkdir -p /var && ln -s /run /var/run; }
	dd if=/dev/urandom of="$VU_DISK" bs=1M count=16 2>/dev/null
	rm -rf "$VU_SHARE" "$OUT/vu-blk.sock" "$OUT/vu-fs.sock" "$OUT"/vu-qsd.* "$OUT"/vu-fsd.*
	mkdir -p "$VU_SHARE"
	dd if=/dev/urandom of="$VU_SHARE/in.bin" bs=64k count=8 2>/dev/null
	vu_qsd_start
	vu_fsd_start
	wait_for 20 listening "$OUT/vu-blk.sock" && wait_for 20 listening "$OUT/vu-fs.sock"
	check $? "vhost: qemu-storage-daemon and virtiofsd listen on their sockets" vu-qsd vu-fsd
	VHOST_ARGS="--vhost-user block,socket=$OUT/vu-blk.sock --vhost-user type=fs,socket=$OUT/vu-fs.sock,tag=vbshare"
}

# vu_fsd_start: virtiofsd sharing $VU_SHARE on $OUT/vu-fs.sock, in the
# background (vu_fsd_pid); output appended to vu-fsd.out and vu-fsd.err.
# It serves one connection and ends with it.
vu_fsd_start() {
	"$VU_FSD" --socket-path="$OUT/vu-fs.sock" -o source="$VU_SHARE" \
		-o cache=none -o sandbox=chroot >> "$OUT/vu-fsd.out" 2>> "$OUT/vu-fsd.err" &
	vu_fsd_pid=$!
}

# vu_qsd_start: qemu-storage-daemon exporting $VU_DISK as vhost-user-blk
# (2 queues) on $OUT/vu-blk.sock, in the background (vu_qsd_pid); its
# output is appended to vu-qsd.out and vu-qsd.err, so a restarted one's
# follows the first one's.
vu_qsd_start() {
	rm -f "$OUT/vu-blk.sock"
	"$VU_QSD" --blockdev "driver=file,node-name=file0,filename=$VU_DISK" \
		--blockdev driver=raw,node-name=disk0,file=file0 \
		--export "type=vhost-user-blk,id=exp0,node-name=disk0,addr.type=unix,addr.path=$OUT/vu-blk.sock,writable=on,num-queues=2" \
		>> "$OUT/vu-qsd.out" 2>> "$OUT/vu-qsd.err" &
	vu_qsd_pid=$!
}

# vu_peek: "MAPPINGS READABLE FAULTING" of qemu-storage-daemon's mappings
# of guest RAM through a backend node, each read at its first page from
# outside (e2e-helper peek); vu_revoked: it has some, and all fault.
vu_peek() {
	"$HELPER" peek "$vu_qsd_pid" |
		sed -n 's/^peek mappings=\([0-9]*\) readable=\([0-9]*\) faulting=\([0-9]*\)$/\1 \2 \3/p'
}
vu_revoked() {
	# shellcheck disable=SC2086
	set -- $(vu_peek)
	[ "${1:-0}" -ge 1 ] && [ "$3" = "$1" ]
}

# listening PATH: a Unix socket bound to PATH listens (/proc/net/unix's
# flags say __SO_ACCEPTCON)
listening() { awk -v p="$1" '$NF == p && $4 == "00010000" { f = 1 } END { exit !f }' /proc/net/unix; }

# vhost_said DEV LOG: what LOG's vhost-user-DEV said of its back-end's
# calls: where the last start sent them (st, the line) and how many went
# through vbridge by its end (rl, empty when it did not say).
vhost_said() {
	st=$(grep -a "vhost-user-$1: the back-end's calls" "$OUT/$2.err" | tail -n 1)
	rl=$(grep -a "vhost-user-$1: [0-9]* of the back-end's calls went through vbridge" "$OUT/$2.err" |
		tail -n 1 | sed "s/.*vhost-user-$1: \([0-9]*\) of.*/\1/")
}

# vhost_calls WHAT LOG [GUESTS]: LOG is the vbridge whose devices the
# vhost-user back-ends serve.  With MSI-X (vbridge run's in-process
# functions, a provider's by default) the back-ends' calls are the
# guest's interrupts, with no thread of vbridge in their path: LOG says,
# for both devices, that the calls of every queue go straight to the
# guest (the MSI message's eventfd, a KVM irqfd), and at its end that at
# most 2 calls a queue and guest went through vbridge (libvhost-user
# signals every new call fd once; the guest masks its vectors on the way
# down), where every request's would without them.  GUESTS (1) is how
# many guests it served.
vhost_calls() {
	for d in blk fs; do
		vhost_said "$d" "$2"
		nq=$(echo "$st" | sed -n "s/.*calls of \([0-9]*\) of its \1 queues* go straight to the guest.*/\1/p")
		[ -n "$nq" ] && [ -n "$rl" ] && [ "$rl" -le $((2 * nq * ${3:-1})) ]
		check $? "$1: $d: its back-end's calls go straight to the guest: ${nq:-no} queues direct, ${rl:-?} calls through vbridge (${st#*: })" "$2"
	done
}

# vhost_relayed WHAT LOG: without MSI-X (INTx) the calls of LOG's
# vhost-user devices go through vbridge, which sets the ISR: it says so.
vhost_relayed() {
	for d in blk fs; do
		vhost_said "$d" "$2"
		case "$st" in
		*"calls go through vbridge ("*"INTx"*) [ "${rl:-0}" -gt 0 ] ;;
		*) false ;;
		esac
		check $? "$1: $d: under INTx its back-end's calls go through vbridge (${rl:-?} of them; ${st#*: })" "$2"
	done
}

# vhost_verdict WHAT LOG...: the guest's checksums against the files the
# back-ends serve, once the VM ended.
vhost_verdict() {
	vv_what=$1
	shift
	seen '^E2E-CHECK vhost ok'
	check $? "$vv_what: the guest's virtio_blk and virtiofs drivers use the vhost-user devices" "$@"
	vv_blk=$(dd if="$VU_DISK" bs=64k skip=64 count=16 2>/dev/null | md5sum | cut -d' ' -f1)
	check "$([ "$(marker VU-BLK-READ)" = "$vv_blk" ]; echo $?)" \
		"$vv_what: the guest read qemu-storage-daemon's image ($vv_blk)" "$@"
	vv_blk=$(dd if="$VU_DISK" bs=64k skip=128 count=16 2>/dev/null | md5sum | cut -d' ' -f1)
	check "$([ -n "$(marker VU-BLK-WROTE)" ] && [ "$(marker VU-BLK-WROTE)" = "$vv_blk" ]; echo $?)" \
		"$vv_what: what the guest wrote is in the image ($vv_blk)" "$@"
	vv_fs=$(md5sum < "$VU_SHARE/in.bin" | cut -d' ' -f1)
	check "$([ "$(marker VU-FS-READ)" = "$vv_fs" ]; echo $?)" \
		"$vv_what: the guest read the shared file through virtiofsd ($vv_fs)" "$@"
	vv_fs=$(md5sum < "$VU_SHARE/out.bin" 2>/dev/null | cut -d' ' -f1)
	check "$([ -n "$vv_fs" ] && [ "$(marker VU-FS-WROTE)" = "$vv_fs" ]; echo $?)" \
		"$vv_what: the file the guest wrote is on the host ($vv_fs)" "$@"
}

# vhost_stop WHAT: the back-ends must not have died of a signal (the
# device stopped their rings before the guest's memory went away: one that
# touched it after that would have died of SIGBUS).  qemu-storage-daemon
# must still run; virtiofsd ends by itself, status 0, when its front-end
# (a vbridge run that ended) closes the connection.  Then they are stopped.
vhost_stop() {
	vs_fsd=running
	if ! kill -0 "$vu_fsd_pid" 2>/dev/null; then
		wait "$vu_fsd_pid"
		vs_fsd=$?
	fi
	kill -0 "$vu_qsd_pid" 2>/dev/null && { [ "$vs_fsd" = running ] || [ "$vs_fsd" = 0 ]; }
	check $? "$1: qemu-storage-daemon runs on, virtiofsd did not die of a signal ($vs_fsd)" vu-qsd vu-fsd
	for vs_pid in $vu_qsd_pid $vu_fsd_pid; do
		kill "$vs_pid" 2>/dev/null
		# (a signal that reaches one of virtiofsd's worker threads
		# may leave its main loop in its poll)
		wait_for 10 sh -c "! kill -0 $vs_pid 2>/dev/null" || {
			note "$1: back-end $vs_pid ($(cat "/proc/$vs_pid/comm" 2>/dev/null)) ignored SIGTERM for 10 s: killed"
			kill -9 "$vs_pid" 2>/dev/null
		}
		wait "$vs_pid" 2>/dev/null
	done
	vu_qsd_pid='' vu_fsd_pid=''
}

# devices_serve HVC-FD: do what the guest asks for ("E2E-WANT ..." on the
# console of the running VM), in order, until it says E2E-END, ends or its
# deadline passes; hvc0 input is written to fd HVC-FD.  Each host part is
# bounded by the helper's own time limit.
ds_wants() { tr -d '\r' 2>/dev/null < "$OUT/$VM_NAME.out" | grep '^E2E-WANT '; }
ds_want_or_end() { [ "$(ds_wants | wc -l)" -gt "$handled" ] || seen '^E2E-END'; }
devices_serve() {
	ds_hvc_fd=$1
	handled=0
	while vm_wait "E2E-WANT number $((handled + 1)) or E2E-END" ds_want_or_end; do
		want=$(ds_wants | sed -n "$((handled + 1))p")
		[ -n "$want" ] || break		# E2E-END
		handled=$((handled + 1))
		# shellcheck disable=SC2086
		set -- $want
		case "$2" in
		hvc-line) echo "hello-hvc0-from-the-host" | fifo_write "$ds_hvc_fd" "hvc0 input" ;;
		hvc-bulk-out)	# the md5 of what followed the guest's marker
			"$HELPER" after "$DEV_HVC" E2E-HVC-BULK "$3" 120 2> "$OUT/hvc-bulk-out.err" |
				md5sum | cut -d' ' -f1 > "$OUT/hvc-bulk-out.txt"
			fifo_write "$ds_hvc_fd" "hvc0 input" "$OUT/hvc-bulk-out.txt" ;;
		hvc-bulk-in)	# (in the background: the guest reads as it goes,
				# for at most 120 s; busybox's timeout execs cat,
				# so devices_verdict's kill reaches it)
			head -c "$3" /dev/urandom > "$OUT/hvc-bulk-in.data"
			md5sum < "$OUT/hvc-bulk-in.data" | cut -d' ' -f1 > "$OUT/hvc-bulk-in.txt"
			timeout -k 2 150 cat "$OUT/hvc-bulk-in.data" >&"$ds_hvc_fd" &
			dev_hvc_cat_pid=$! ;;
		hvc-bulk-in-sum) fifo_write "$ds_hvc_fd" "hvc0 input" "$OUT/hvc-bulk-in.txt" ;;
		key) echo key | fifo_write 4 "the uinput keyboard's input" ;;
		tcp-send) "$HELPER" tcp-send "$3" "$4" 3000000 11 > "$OUT/tcp-out.txt" 2>&1 ;;
		vsock-connect) "$HELPER" uds-connect "$OUT/vsock.sock" "$3" hello-guest \
				> "$OUT/uds-out.txt" 2>&1 ;;
		vsock-send) "$HELPER" uds-send "$OUT/vsock.sock" "$3" "$4" "$5" \
				> "$OUT/uds-bulk-out.txt" 2>&1 ;;
		*) note "the guest asked for '$*', which this script does not know" ;;
		esac
	done
}

# devices_mq WHAT LOG...: multi-queue virtio-blk, from check-blk's
# E2E-BLK-MQ line.  The guests have 2 vCPUs and Linux's driver sets up
# min(vCPUs, num_queues) queues: vda has the default (one per vCPU from
# vbridge run, 4 from vbridge devices), so 2; vdb has num_queues=1.
devices_mq() {
	dm_what=$1
	shift
	got=$(marker BLK-MQ)
	check "$([ "$got" = "2 1" ]; echo $?)" \
		"$dm_what: virtio-blk: the guest uses 2 queues on vda (default) and 1 on vdb (num_queues=1) (got '$got')" "$@"
}

# devices_msix WHAT OUT LOG...: the guest's virtio interrupts
# (check-hostmap's E2E-IRQ lines in $OUT/OUT.out): every function
# interrupts through MSI-X with a vector per queue (virtioN-config,
# virtioN-req.0 and -req.1 of the 2-queue disk, virtioN-input.0 and
# -output.0 of the net device) and none is on a pin (IO-APIC or GIC SPI):
# on x86_64, and on arm64 through the ITS KVM emulates with a GICv3.  With
# a GICv2 (no ITS) they keep their INTx lines.
devices_msix() {
	dx_what=$1 dx_out=$OUT/$2.out
	shift 2
	irq=$(tr -d '\r' < "$dx_out" | awk '$1 == "E2E-IRQ" && / virtio/')
	echo "$irq" | sed 's/^/# /'
	if [ "$ARCH" = arm64 ] && ! grep -q GICv3 /proc/interrupts; then
		[ -n "$irq" ] && ! echo "$irq" | grep -q 'MSI'
		check $? "$dx_what: without an ITS (GICv2) the virtio functions keep their INTx lines ($(echo "$irq" | grep -c .) lines)" "$@"
		return
	fi
	echo "$irq" | grep -q ' virtio[0-9]*-config$' &&
		echo "$irq" | grep -q ' virtio[0-9]*-req\.0$' &&
		echo "$irq" | grep -q ' virtio[0-9]*-req\.1$' &&
		echo "$irq" | grep -q ' virtio[0-9]*-input\.0$' &&
		echo "$irq" | grep -q ' virtio[0-9]*-output\.0$' &&
		! echo "$irq" | grep -v 'MSI' | grep -q .
	check $? "$dx_what: every virtio function interrupts through MSI-X, a vector per queue ($(echo "$irq" | grep -c .) vectors)" "$@"
}

# devices_verdict WHAT HVC-FILE LOG...: the checks, once the VM ended.
# WHAT prefixes every check; LOGs are shown when one fails.
devices_verdict() {
	dv_what=$1 dv_hvc=$2
	shift 2
	dv_logs=$*
	exec 4>&-
	kill $dev_tcp_pid $dev_uds_pid $dev_uds_bulk_pid $dev_uinput_pid $dev_hvc_cat_pid 2>/dev/null
	wait $dev_tcp_pid $dev_uds_pid $dev_uds_bulk_pid $dev_uinput_pid $dev_hvc_cat_pid 2>/dev/null
	gcheck() {	# gcheck NAME DESCRIPTION: the guest's own verdict
		seen "^E2E-CHECK $1 ok"
		# shellcheck disable=SC2086
		check $? "$dv_what: $2" $dv_logs
	}
	check "$(seen '^E2E-CHECK '; echo $?)" "$dv_what: the guest boots with console, disks, net, rng, input and vsock" "$@"
	grep -q 'E2E-HVC-HELLO from the guest' "$dv_hvc" 2>/dev/null
	check $? "$dv_what: hvc0 output reaches the host's file" "$@"
	gcheck hvc-in "hvc0 input from the host's standard input reaches the guest"
	# Bulk: each line needs the guest's comparison and the host's.
	sent=$(marker HVC-BULK-OUT) got=$(cat "$OUT/hvc-bulk-out.txt" 2>/dev/null)
	seen '^E2E-CHECK hvc-bulk-out ok' && [ -n "$sent" ] && [ "$sent" = "2097152 $got" ]
	check $? "$dv_what: hvc0: 2 MiB guest -> host, md5 equal on both sides ($got)" "$@"
	[ "$sent" = "2097152 $got" ] || echo "# guest sent: $sent; host got: $got $(cat "$OUT/hvc-bulk-out.err" 2>/dev/null)"
	sent=$(cat "$OUT/hvc-bulk-in.txt" 2>/dev/null) got=$(marker HVC-BULK-IN)
	seen '^E2E-CHECK hvc-bulk-in ok' && [ -n "$sent" ] && [ "$got" = "2097152 $sent" ]
	check $? "$dv_what: hvc0: 2 MiB host -> guest, md5 equal on both sides ($sent)" "$@"
	[ "$got" = "2097152 $sent" ] || echo "# host sent: $sent; guest got: $got"
	gcheck blk-read "virtio-blk: the guest reads what the host put on the disk"
	wrote=$(marker BLK-WROTE)
	back=$(dd if="$DEV_DISK" bs=64k skip=64 count=16 2>/dev/null | md5sum | cut -d' ' -f1)
	check "$([ -n "$wrote" ] && [ "$wrote" = "$back" ]; echo $?)" \
		"$dv_what: virtio-blk: 1 MiB written by the guest reads back byte-identical on the host ($back)" "$@"
	gcheck blk-ro "virtio-blk: --disk is read-only in the guest and writes are refused"
	check "$([ "$(stat -c %s "$DEV_RO") $(md5sum < "$DEV_RO" | cut -d' ' -f1)" = "$dev_ro_sum" ]; echo $?)" \
		"$dv_what: virtio-blk: the read-only image is unchanged" "$@"
	got=$(marker BLK-RO-READ)
	check "$([ "$got" = "$dev_ro_sum" ]; echo $?)" \
		"$dv_what: virtio-blk: the guest reads all of the read-only disk, md5 as on the host ($got)" "$@"
	[ "$got" = "$dev_ro_sum" ] || echo "# the host's image: $dev_ro_sum"
	gcheck net-ping "virtio-net: the guest pings the host over the tap"
	sent=$(marker NET-SENT | sed -n 's/^sent //p')
	got=$(sed -n 's/^received //p' "$OUT/tcp-in.txt")
	check "$([ -n "$sent" ] && [ "$sent" = "$got" ]; echo $?)" \
		"$dv_what: virtio-net: TCP guest -> host, bytes and checksum match ($got)" "$@"
	[ -n "$sent" ] && [ "$sent" = "$got" ] ||
		echo "# host side of the transfer: $(cat "$OUT/tcp-in.txt" 2>/dev/null)"
	sent=$(sed -n 's/^sent //p' "$OUT/tcp-out.txt" 2>/dev/null)
	got=$(marker NET-RECEIVED | sed -n 's/^received //p')
	check "$([ -n "$sent" ] && [ "$sent" = "$got" ]; echo $?)" \
		"$dv_what: virtio-net: TCP host -> guest, bytes and checksum match ($got)" "$@"
	[ -n "$sent" ] && [ "$sent" = "$got" ] ||
		echo "# host side of the transfer: $(cat "$OUT/tcp-out.txt" 2>/dev/null)"
	gcheck rng "virtio-rng: /dev/hwrng is virtio_rng and gives bytes"
	gcheck input "virtio-input: a key pressed on a host uinput device arrives in the guest"
	seen '^E2E-CHECK vsock-out ok' && grep -q '^got hello-host$' "$OUT/uds-in.txt"
	check $? "$dv_what: virtio-vsock: guest -> host connection carries data both ways" "$@"
	seen '^E2E-CHECK vsock-in ok' && grep -q '^pong:hello-guest$' "$OUT/uds-out.txt" 2>/dev/null
	check $? "$dv_what: virtio-vsock: host -> guest connection carries data both ways" "$@"
	# Bulk: the sender compares the receiver's answer, the receiver what
	# it got with what it expected.
	seen '^E2E-CHECK vsock-bulk-out ok' && grep -q ': match$' "$OUT/uds-bulk-in.txt" 2>/dev/null
	check $? "$dv_what: virtio-vsock: 2 MiB guest -> host, checksums equal on both sides" "$@"
	seen '^E2E-CHECK vsock-bulk-out ok' || echo "# guest: $(tr -d '\r' < "$OUT/$VM_NAME.out" | grep '^E2E-CHECK vsock-bulk-out')"
	echo "# host: $(tail -n 1 "$OUT/uds-bulk-in.txt" 2>/dev/null)"
	seen '^E2E-CHECK vsock-bulk-in ok' && grep -q ': match$' "$OUT/uds-bulk-out.txt" 2>/dev/null
	check $? "$dv_what: virtio-vsock: 2 MiB host -> guest, checksums equal on both sides" "$@"
	seen '^E2E-CHECK vsock-bulk-in ok' || echo "# guest: $(tr -d '\r' < "$OUT/$VM_NAME.out" | grep '^E2E-CHECK vsock-bulk-in')"
	echo "# host: $(tail -n 1 "$OUT/uds-bulk-out.txt" 2>/dev/null)"
	seen '^E2E-DMESG-OK'
	check $? "$dv_what: guest kernel log has no BUG/WARNING/Oops" "$@"
}

# keeper_start, keeper_stop: a VM that sleeps (halted vCPU, the tiny
# kernel /root/e2e/halt.img) for the whole run.  Creating and destroying
# VMs flips static keys in the test VM's KVM and scheduler (preempt
# notifiers, the LAPIC "disabled" keys); under multi-threaded TCG the code
# patching that goes with it sometimes lets a CPU run a stale int3 and the
# test VM's kernel oopses.  With one VM alive all along, the keys never
# drop to zero between scenarios and no code is patched.
keeper_start() {
	"$VBRIDGE" run --kernel /root/e2e/halt.img --mem 32M --shutdown-timeout 0 \
		--serial hardware=serial,num=1,type=sink < /dev/null > "$OUT/keeper.log" 2>&1 &
	KEEPER_PID=$!
	RUN_SPARE="$RUN_SPARE $KEEPER_PID"
}
keeper_stop() {
	kill -TERM "$KEEPER_PID" 2>/dev/null
	wait_for 10 sh -c "! kill -0 $KEEPER_PID 2>/dev/null" || {
		note "the keeper VM ignored SIGTERM for 10 s: killed"
		kill -9 "$KEEPER_PID"
		status=1
	}
	wait "$KEEPER_PID"
}
