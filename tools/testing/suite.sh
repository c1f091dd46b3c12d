# shellcheck shell=bash
# suite.sh: running one test suite for run-tests (and for the harness's own
# tests of it, tools/testing/vm/test-vm-run).  Source it after setting
# $results (the folder of the .tap files) and CHECK_DEADLINE (seconds since
# the epoch when the whole run must be over; empty for none).
#
# run_suite SUITE TIMEOUT COMMAND [ARG...]
#   Runs COMMAND with at most TIMEOUT seconds (cut to what is left before
#   CHECK_DEADLINE).  Its standard output is the suite's TAP: it goes to
#   $results/SUITE.tap and to the terminal.  Its standard error goes to the
#   terminal and to $results/SUITE.log only, so what a verbose command
#   streams there (the test VM's console) is never counted twice.  A
#   COMMAND that is missing or not executable, a non-zero exit status with
#   no failing test point, a timeout, or a suite that cannot start because
#   the run's time is up: each becomes a failing test point that says so.
#   How long it took goes to the terminal ("# SUITE took N s") and to
#   $results/times ("N SUITE"), which run-tests sums up at the end.

# suite_left: seconds left before CHECK_DEADLINE (a large number without)
suite_left() {
	if [ -n "${CHECK_DEADLINE:-}" ]; then
		echo $(( CHECK_DEADLINE - $(date +%s) ))
	else
		echo 999999
	fi
}

run_suite() {
	local suite=$1 limit=$2 tap="$results/$1.tap" log="$results/$1.log" rc left
	local t0
	shift 2
	t0=$(date +%s)
	echo "=== $suite"
	: > "$log"
	if [ ! -f "$1" ] || [ ! -x "$1" ]; then
		echo "not ok - $suite: $1 is missing or not executable" | tee "$tap"
		return 0
	fi
	left=$(suite_left)
	if [ "$left" -lt 30 ]; then
		echo "not ok - $suite: not run: the test run's time budget is used up" | tee "$tap"
		return 0
	fi
	[ "$left" -ge "$limit" ] || limit=$left
	timeout -k 10 "$limit" "$@" 2> >(tee -a "$log" >&2) | tee "$tap"
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "not ok - $suite: killed after ${limit}s" | tee -a "$tap"
	elif [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$tap"; then
		echo "not ok - $suite: exited with status $rc" | tee -a "$tap"
	fi
	echo "# $suite took $(( $(date +%s) - t0 )) s"
	echo "$(( $(date +%s) - t0 )) $suite" >> "$results/times"
	return 0
}
