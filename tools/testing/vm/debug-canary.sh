#!/bin/sh
# Runs inside a debug-kit test VM (tools/testing/vm/test-debug-kit): loads
# canary.ko, commits each class of kernel bug in turn and checks that what
# the kernel printed for it matches vm-run's own pattern of bad kernel text
# (/root/kernel-bad.re, written from verdict.sh) or, for a leak, that
# kmemleak lists the object.  Prints one TAP line per class.  The bugs stay
# in the kernel log, so vm-run's post-condition must then fail the run:
# test-debug-kit checks that from outside.
#
#   debug-canary.sh CLASS...
set -u
re=/root/kernel-bad.re
trig=/sys/kernel/debug/canary/trigger
kml=/sys/kernel/debug/kmemleak

insmod /root/canary.ko || { echo "Bail out! insmod canary.ko failed"; exit 1; }
# The hung-task detector reports a task D-state for this long (checked as
# often): 45 s in the kit's config, 3 s for this test.
echo 3 > /proc/sys/kernel/hung_task_timeout_secs

echo "1..$#"
i=0
status=0
for class in "$@"; do
	i=$((i + 1))
	mark=$(dmesg | wc -l)
	if ! echo "$class" > $trig; then
		echo "not ok $i - $class: the trigger failed"
		# kfence: no allocation of canary's sampled in 10 s; a pool
		# full of long-lived objects would say so here.
		[ "$class" != kfence ] ||
			sed 's/^/#   kfence stats: /' /sys/kernel/debug/kfence/stats 2>/dev/null
		status=1
		continue
	fi
	# The report may come later: wait up to 30 s for it.
	t=0
	line=""
	while [ $t -lt 36 ]; do
		if [ "$class" = leak ]; then
			# kmemleak reports objects at least 5 s old, found
			# unreferenced by two scans in a row.  A stale copy of
			# the pointer (a dead thread's stack, which the kernel
			# caches without clearing) may keep one object
			# referenced: a new one is lost at each round.
			[ $t -eq 0 ] || echo leak > $trig
			sleep 6
			t=$((t + 6))
			echo scan > $kml
			echo scan > $kml
		else
			sleep 1
			t=$((t + 1))
		fi
		line=$(dmesg | sed "1,${mark}d" | grep -E -m 1 -f $re)
		[ -n "$line" ] && break
	done
	if [ -z "$line" ]; then
		echo "not ok $i - $class: no report matching vm-run's pattern within ${t}s"
		dmesg | sed "1,${mark}d" | tail -n 20 | sed 's/^/#   /'
		status=1
	elif [ "$class" = leak ] && ! grep -q 'canary' $kml; then
		echo "not ok $i - $class: kmemleak reported, but not canary's object"
		head -n 20 $kml | sed 's/^/#   /'
		status=1
	else
		echo "ok $i - $class: caught after ${t}s: $line"
	fi
done
exit $status
