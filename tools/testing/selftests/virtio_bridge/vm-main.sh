#!/bin/sh
# Runs inside the test VM (tools/testing/vm/vm-run): every kselftest program
# in /root/selftests, in name order, against /root/virtio_bridge.ko.
# Each program prints its own TAP; this script fails if any program did.
# ctl_test also uses /root/vbridge, the examples in /root/dts and dtc
# (run-tests adds them; without them its tests SKIP).
#
#   vm-main.sh [FUZZ_SECONDS [STRESS_SECONDS]]
#
# uapi_fuzz runs FUZZ_SECONDS (default 10), each stress_test test
# STRESS_SECONDS (default 10).  On a kernel with kmemleak (the debug kit),
# a scan at the end must find no leak of the module.
export VBRIDGE_KO=/root/virtio_bridge.ko
export VBRIDGE_BIN=/root/vbridge
export VBRIDGE_DTS=/root/dts
export VBRIDGE_FUZZ_SECONDS=${1:-10}
export VBRIDGE_STRESS_SECONDS=${2:-10}
kmemleak=/sys/kernel/debug/kmemleak
# Leaks of the boot are not ours: forget them.
[ -w $kmemleak ] && echo clear > $kmemleak
status=0
for t in /root/selftests/*; do
	[ -x "$t" ] || continue
	echo "# running $(basename "$t")"
	start=$(date +%s)
	"$t" || status=1
	echo "# $(basename "$t") took $(( $(date +%s) - start )) s"
	# A program that left the module loaded would poison the next one.
	if grep -q '^virtio_bridge ' /proc/modules; then
		echo "not ok - $(basename "$t") left virtio_bridge loaded"
		rmmod virtio_bridge 2>/dev/null
		status=1
	fi
done
if [ -w $kmemleak ]; then
	# kmemleak reports objects at least 5 s old: scan after that.
	echo scan > $kmemleak
	sleep 6
	echo scan > $kmemleak
	cat $kmemleak > /tmp/kmemleak.txt
	sed 's/^/# kmemleak: /' /tmp/kmemleak.txt
	if grep -q 'virtio_bridge\|vbridge_' /tmp/kmemleak.txt; then
		echo "not ok - kmemleak: the module leaked memory"
		status=1
	else
		echo "ok - kmemleak: no leak of the module ($(grep -c '^unreferenced object' /tmp/kmemleak.txt) other reports)"
	fi
fi
exit $status
