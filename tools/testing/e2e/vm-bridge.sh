#!/bin/sh
# vm-bridge.sh KIT [SCENARIO...]: runs inside the test VM (started by
# run-bridge through vm-run --kvm).  Loads virtio_bridge.ko, declares the
# x86_64 example device (dts/x86_64-vm3-cvm2rb-pci.dts: vmid 3, provider
# vm2, node /dev/virtio/vm3/cvm2rb-pci) and boots the kit's kernel with
# `vbridge run --vmid 3` while `vbridge devices` serves its devices, then
# puts that lifecycle through the faults users fear.  Every check prints
# one TAP line.
KIT=${1:-?}
shift
VBRIDGE=/root/vbridge
KERNEL=/root/e2e/bzImage
INITRD=/root/e2e/guest.gz
OUT=/tmp/e2e
TIMEOUT=240		# per guest; a hang fails the scenario, not the run
NODE3=/dev/virtio/vm3/cvm2rb-pci
NODE4=/dev/virtio/vm4/cvm2rb-pci
mkdir -p "$OUT"
# shellcheck source=lib.sh
. /root/e2e/lib.sh

ALL="devices vmm_kill no_ack daemon_kill two_vms"
SCENARIOS=${*:-$ALL}
# Checks per scenario (and the 2 around them), so run-bridge can tell
# when some never ran.
expect=2
for s in $SCENARIOS; do
	case $s in
	devices) expect=$((expect + 20)) ;;
	*) echo "# unknown scenario $s"; expect=$((expect + 1)) ;;
	esac
done
echo "# e2e-expect $expect"

# --- the provider ----------------------------------------------------------

# daemon_start NAME NODE ARGS...: start `vbridge devices` on NODE in the
# background; its standard input is a FIFO kept open on fd 5.
daemon_start() {
	d_name=$1 d_node=$2
	shift 2
	rm -f "$OUT/$d_name.out" "$OUT/$d_name.err" "$OUT/$d_name.in"
	mkfifo "$OUT/$d_name.in"
	exec 5<>"$OUT/$d_name.in"
	mkdir -p "$OUT/state-$d_name"
	"$VBRIDGE" devices -v --pci-bus-devfd="$d_node" \
		--state-dir "$OUT/state-$d_name" "$@" \
		< "$OUT/$d_name.in" > "$OUT/$d_name.out" 2> "$OUT/$d_name.err" &
	DAEMON_PID=$!
}

# node_state NODE: the device's state word in `vbridge ctl status`
node_ready() { "$VBRIDGE" ctl status 2>/dev/null | grep "$1" | grep -q ready; }

# daemon_stop: SIGTERM, and its exit status in DAEMON_STATUS
daemon_stop() {
	kill -TERM "$DAEMON_PID" 2>/dev/null
	wait_for 20 sh -c "! kill -0 $DAEMON_PID 2>/dev/null" || kill -9 "$DAEMON_PID"
	wait "$DAEMON_PID"
	DAEMON_STATUS=$?
	exec 5>&-
}

# --- scenarios -----------------------------------------------------------------

# 1. Every device of the guest served by vbridge devices through the module.
scenario_devices() {
	devices_prepare
	# shellcheck disable=SC2086
	daemon_start daemon "$NODE3" \
		--serial "hardware=virtio-console,num=1,type=file,path=$OUT/hvc0.out,stdin" \
		$DEV_ARGS
	wait_for 30 node_ready cvm2rb-pci
	check $? "devices: vbridge devices declares the node ready" daemon
	vm_start bridged --vmid 3 --cpus 2 --mem 512M \
		--params "quiet vbe2e_checks=hvc,blk,rng,net,input,vsock"
	devices_serve 5
	vm_end
	devices_verdict devices "$OUT/hvc0.out" bridged daemon
	check "$([ "$VM_STATUS" = 0 ]; echo $?)" "devices: poweroff ends vbridge run with status 0 (got $VM_STATUS)" bridged
	said "bridged device 'cvm2rb-pci' served by vm2"
	check $? "devices: vbridge run attached vmid 3 and found the bridged device" bridged
	daemon_stop
	check "$([ "$DAEMON_STATUS" = 0 ]; echo $?)" "devices: vbridge devices stops on SIGTERM with status 0 (got $DAEMON_STATUS)" daemon
	"$VBRIDGE" ctl status > "$OUT/status.txt" 2>&1
	grep -q 'vm3' "$OUT/status.txt" && ! grep -qE 'running|stopping' "$OUT/status.txt"
	check $? "devices: vmid 3 is free after the VM and the provider ended" status
}

# --- main ------------------------------------------------------------------------

if ! insmod /root/virtio_bridge.ko; then
	nok "cannot load virtio_bridge.ko"
	exit 1
fi
"$VBRIDGE" ctl load /root/e2e/vm3.dtbo > "$OUT/load.out" 2> "$OUT/load.err"
check $? "the x86_64 example overlay declares vm3/cvm2rb-pci" load
"$VBRIDGE" ctl events > "$OUT/events.txt" 2>&1 &
events_pid=$!

for s in $SCENARIOS; do
	t0=$(now)
	if command -v "scenario_$s" > /dev/null 2>&1; then
		"scenario_$s"
	else
		nok "no scenario '$s' (see run-bridge --help)"
	fi
	echo "# $s took $(elapsed "$t0") s"
done
kill "$events_pid" 2>/dev/null
wait "$events_pid" 2>/dev/null
"$VBRIDGE" ctl unload /root/e2e/vm3.dtbo > /dev/null 2>&1
rmmod virtio_bridge
check $? "virtio_bridge unloads at the end (nothing left holding it)"
exit $status
