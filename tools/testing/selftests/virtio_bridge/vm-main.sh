#!/bin/sh
# Runs inside the test VM (tools/testing/vm/vm-run): every kselftest program
# in /root/selftests, in name order, against /root/virtio_bridge.ko.
# Each program prints its own TAP; this script fails if any program did.
# ctl_test also uses /root/vbridge, the examples in /root/dts and dtc
# (run-tests adds them; without them its tests SKIP).
export VBRIDGE_KO=/root/virtio_bridge.ko
export VBRIDGE_BIN=/root/vbridge
export VBRIDGE_DTS=/root/dts
status=0
for t in /root/selftests/*; do
	[ -x "$t" ] || continue
	echo "# running $(basename "$t")"
	"$t" || status=1
	# A program that left the module loaded would poison the next one.
	if grep -q '^virtio_bridge ' /proc/modules; then
		echo "not ok - $(basename "$t") left virtio_bridge loaded"
		rmmod virtio_bridge 2>/dev/null
		status=1
	fi
done
exit $status
