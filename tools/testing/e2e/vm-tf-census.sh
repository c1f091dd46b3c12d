#!/bin/sh
# vm-tf-census.sh: runs inside the test VM (started by tf-census through
# vm-run --kvm).  Boots the e2e `devices` guest again and again, taking
# turns between `vbridge run` and QEMU as the second-level VMM, and says
# for every boot how it ended: passed, triple fault (with the vCPU's state
# at the fault), other failure, or timeout.
#
# Usage: vm-tf-census.sh KIT BUDGET PAIRS FIRST-INDEX FIRST-VMM [MODE]
#
#   BUDGET       seconds this script may use in all; a pair of boots starts
#                only when both fit in what is left
#   PAIRS        boots per VMM (at most): vbridge, qemu, vbridge, ... or
#                qemu, vbridge, ... as FIRST-VMM says
#   FIRST-INDEX  number of the first boot (the census counts across test
#                VM runs)
#   MODE         "devices" (default): the e2e devices scenario;
#                "mptable": the e2e mptable scenario (3 vCPUs, acpi=off);
#                "mptable-memfd": the same with QEMU's RAM a shared memfd,
#                as vbridge's is (QEMU's default is anonymous memory);
#                "selftest": one guest per VMM that reboots with reboot=t,
#                which Linux does by triple-faulting on purpose
#
# Output lines (tf-census reads them):
#   TFC-BOOT <tab> index vmm outcome seconds vcpu rip where last-marker
#            dmesg failed-checks
#            outcome: passed (every device check; the kernel log is the
#            dmesg field: clean, xstate-warning or bad), triple-fault,
#            failed, timeout
#   TFC-FAULT index vmm key=value...   the state the kprobe saw
#   TFC-KASLR index offset             the guest kernel's KASLR offset
#   TFC-DONE n                         the script got to its end
#   # ...                              everything else (failed checks)
#
# The state at a triple fault: KVM on AMD reinitialises a vCPU that shut
# down before it tells userspace (shutdown_interception() in kvm-amd), so
# neither VMM can print the registers the guest had.  A kprobe on that
# function reads them first, for QEMU's guests and ours alike, from
# struct kvm_vcpu (general registers) and the VMCB (segments, control
# registers, LSTAR, the exception being delivered).  It costs nothing
# until a guest shuts down.  tf-census computes its definition for the
# kit (/root/tfc/kprobe.txt).
#
# Files (put there by tf-census): /root/vbridge, /usr/bin/qemu-system-x86_64
# with /usr/share/qemu and /usr/share/seabios, /root/e2e/{bzImage,
# guest.gz,halt.img,e2e-helper,lib.sh}, /root/tfc/kprobe.txt.
# shellcheck disable=SC2034  # KIT, BUDGET, TIMEOUT: read by lib.sh
KIT=${1:-?}
BUDGET=${2:-780}
PAIRS=${3:-1}
INDEX=${4:-1}
FIRST=${5:-vbridge}
MODE=${6:-devices}
VBRIDGE=/root/vbridge
QEMU=/usr/bin/qemu-system-x86_64
QEMU_RAM=""	# more QEMU options for its RAM (MODE mptable-memfd)
KERNEL=/root/e2e/bzImage
INITRD=/root/e2e/guest.gz
OUT=/tmp/e2e
TIMEOUT=150		# per guest, as vm-e2e.sh
TRACE=/sys/kernel/tracing
mkdir -p "$OUT"
# shellcheck source=lib.sh
. /root/e2e/lib.sh
REAL_HELPER=$HELPER
HELPER=/root/tfc/helper

# --- the fault probe ---------------------------------------------------------

mount -t tracefs tracefs "$TRACE" 2>/dev/null
if cat /root/tfc/kprobe.txt > "$TRACE/kprobe_events" &&
   echo boot > "$TRACE/trace_clock" &&
   echo 1 > "$TRACE/events/tfc/shutdown/enable"; then
	PROBE=1
else
	PROBE=0
	note "the shutdown kprobe could not be set: faults are counted, their state is not"
fi
: > "$TRACE/trace" 2>/dev/null

# probe_hits: the kprobe's lines since the last probe_clear
probe_hits() { grep 'tfc_shutdown\|shutdown:' "$TRACE/trace" 2>/dev/null | grep -v '^#'; }
probe_clear() { : > "$TRACE/trace" 2>/dev/null; }

# The guest kernel is the kit's bzImage, which this test VM runs too, with
# nokaslr: our /proc/kallsyms has its symbols at their link addresses.
# The guest's KASLR offset is its LSTAR (entry_SYSCALL_64: AMD needs no
# PTI trampoline) minus ours.
awk '$2 ~ /^[tT]$/ { print $1, $3 }' /proc/kallsyms | sort > /tmp/ksyms
SYSCALL_64=$(awk '$2 == "entry_SYSCALL_64" { print $1; exit }' /tmp/ksyms)
TEXT_END=$(awk '$2 == "_etext" { print $1; exit }' /proc/kallsyms)
# where RIP LSTAR: the kernel function at RIP ("symbol+0xoff"), or what
# else RIP is in.  Kernel text lies in the top 2 GiB, so the low 32 bits
# of each address are compared (awk computes in doubles).
where() {
	awk -v rip="$1" -v lstar="$2" -v sys="$SYSCALL_64" -v etext="$TEXT_END" '
	function pad(s) { s = tolower(s); sub(/^0x/, "", s)
		return substr("0000000000000000", 1, 16 - length(s)) s }
	function hex(s,   i, v) { v = 0
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v }
	function lo(s) { return hex(substr(pad(s), 9, 8)) }
	function hi(s) { return substr(pad(s), 1, 8) }
	BEGIN { done = 0
		if (hi(rip) != "ffffffff") {
			print (hex(substr(hi(rip), 1, 4)) < 32768 ? "user" : "kernel-not-text"); done = 1; exit }
		if (lstar == "" || sys == "" || hi(lstar) != "ffffffff") { print "?"; done = 1; exit }
		k = lo(rip) - (lo(lstar) - lo(sys))
		if (lo(rip) >= hex("c0000000")) { print "module-area"; done = 1; exit }
		if (k < hex("81000000") || (etext != "" && k >= lo(etext))) {
			printf "outside-kernel-text\n"; done = 1; exit }
		found = 0 }
	{ a = lo($1); if (a <= k) { best = $2; base = a; found = 1 } else if (found) exit }
	END { if (!done) { if (found) printf "%s+0x%x\n", best, k - base; else print "?" } }' /tmp/ksyms
}
# kaslr LSTAR: the guest's KASLR offset, in hex
kaslr() {
	awk -v l="$1" -v s="$SYSCALL_64" '
	function hex(s,   i, v) { s = tolower(s); sub(/^0x/, "", s); v = 0
		s = substr(s, length(s) - 7)
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v }
	BEGIN { if (l == "" || s == "") print "?"; else printf "0x%x\n", hex(l) - hex(s) }'
}

# fault_field LINE KEY: KEY's value in a kprobe line
fault_field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }

# --- the QEMU side of the devices guest -----------------------------------------

# The helper wrapper: QEMU's vsock is vhost-vsock, whose host end is an
# AF_VSOCK socket of this test VM, where `vbridge run` has a Unix socket.
# lib.sh calls uds-listen/uds-connect; for QEMU they become the
# e2e-helper's vsock-listen/vsock-connect (the guest's CID is 3), with
# the same output.
mkdir -p /root/tfc
cat > /root/tfc/helper <<EOF
#!/bin/sh
if [ "\$(cat $OUT/vsock-mode 2>/dev/null)" = vhost ]; then
	case "\$1" in
	uds-listen) exec $REAL_HELPER vsock-listen "\${2##*_}" "\$3" ;;
	uds-connect) exec $REAL_HELPER vsock-connect 3 "\$3" "\$4" ;;
	esac
fi
exec $REAL_HELPER "\$@"
EOF
chmod +x /root/tfc/helper

# qemu_start NAME PARAMS: QEMU with the devices of DEV_ARGS (lib.sh's
# devices_prepare), set up like lib.sh's vm_start: console in
# $OUT/NAME.out, messages in NAME.err, hvc0 input on fd 3 (here a FIFO
# of QEMU's pipe chardev), hvc0 output in $OUT/hvc0.out.
QEMU_TAP=vbtfc0
qemu_start() {
	name=$1 params=$2
	rm -f "$OUT/$name.out" "$OUT/$name.err" "$OUT/$name.qlog" "$OUT/hvc.in" "$OUT/hvc.out"
	mkfifo "$OUT/hvc.in" "$OUT/hvc.out"
	exec 3<>"$OUT/hvc.in"
	cat "$OUT/hvc.out" > "$OUT/hvc0.out" &
	hvc_cat=$!
	VM_T0=$(now)
	# (virtio-net-pci without its option ROM: the guest boots its
	# kernel directly, and Debian ships the ROM in ipxe-qemu)
	"$QEMU" -name "tfc-$name,debug-threads=on" -M q35 -enable-kvm -cpu host \
		-smp 2 -m 512M -nodefaults -no-user-config -display none \
		-monitor none -no-reboot -d cpu_reset,guest_errors -D "$OUT/$name.qlog" \
		-serial "file:$OUT/$name.out" \
		-device virtio-serial-pci -chardev "pipe,id=hvc,path=$OUT/hvc" \
		-device virtconsole,chardev=hvc \
		-drive "file=$DEV_DISK,if=none,id=rw,format=raw" -device virtio-blk-pci,drive=rw \
		-drive "file=$DEV_RO,if=none,id=ro,format=raw,readonly=on" -device virtio-blk-pci,drive=ro \
		-netdev "tap,id=net,ifname=$QEMU_TAP,script=no,downscript=no" -device virtio-net-pci,netdev=net,romfile= \
		-device virtio-rng-pci \
		-device "virtio-input-host-pci,evdev=$DEV_EVDEV" \
		-device vhost-vsock-pci,guest-cid=3 \
		-kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0 $params" \
		< /dev/null > "$OUT/$name.err" 2>&1 &
	VM_PID=$!
	VM_NAME=$name
	echo "$name" >> "$OUT/started"
	# the host end of the tap, as vbridge's --host_ip sets its own up
	if wait_for 30 ip link show "$QEMU_TAP" > /dev/null 2>&1; then
		if ! ip addr add 192.168.77.1/24 dev "$QEMU_TAP" || ! ip link set "$QEMU_TAP" up; then
			note "$name: cannot configure $QEMU_TAP"
		fi
	else
		note "$name: QEMU did not create $QEMU_TAP within 30 s"
	fi
}

# --- one boot ----------------------------------------------------------------

CHECKS=hvc,blk,rng,net,input,vsock

# boot_devices VMM NAME: the devices scenario of vm-e2e.sh on VMM; its TAP
# in $OUT/NAME.tap
boot_devices() {
	vmm=$1 name=$2
	if [ "$vmm" = qemu ]; then
		echo vhost > "$OUT/vsock-mode"
	else
		echo uds > "$OUT/vsock-mode"
	fi
	devices_prepare
	if [ "$vmm" = qemu ]; then
		qemu_start "$name" "quiet vbe2e_checks=$CHECKS"
	else
		# shellcheck disable=SC2086
		vm_start "$name" --cpus 2 --mem 512M \
			--serial hardware=serial,num=1,type=stdout,console \
			--serial "hardware=virtio-console,num=1,type=file,path=$OUT/hvc0.out,stdin" \
			$DEV_ARGS --params "quiet vbe2e_checks=$CHECKS"
	fi
	devices_serve 3
	vm_end
	[ "$vmm" = qemu ] && { kill "$hvc_cat" 2>/dev/null; wait "$hvc_cat" 2>/dev/null; }
	devices_verdict devices "$OUT/hvc0.out" "$name"
	check "$([ "$VM_STATUS" = 0 ]; echo $?)" "devices: poweroff ends $vmm with status 0 (got $VM_STATUS)" "$name"
}

# qemu_plain NAME PARAMS QEMU-OPTION...: QEMU with no devices but the
# console, set up like lib.sh's vm_start (console in $OUT/NAME.out)
qemu_plain() {
	qp_name=$1 qp_params=$2
	shift 2
	rm -f "$OUT/$qp_name.out" "$OUT/$qp_name.err"
	VM_T0=$(now)
	"$QEMU" -name "tfc-$qp_name,debug-threads=on" -M q35 -enable-kvm -cpu host "$@" \
		-nodefaults -no-user-config -display none -monitor none -no-reboot \
		-d cpu_reset,guest_errors -D "$OUT/$qp_name.qlog" -serial "file:$OUT/$qp_name.out" \
		-kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0 $qp_params" \
		< /dev/null > "$OUT/$qp_name.err" 2>&1 &
	VM_PID=$! VM_NAME=$qp_name
	exec 3>/dev/null
}

# boot_selftest VMM NAME: a guest that reboots by triple-faulting
boot_selftest() {
	vmm=$1 name=$2
	p="quiet reboot=t vbe2e_end=reboot"
	if [ "$vmm" = qemu ]; then
		DEV_DISK=$OUT/st.img DEV_RO=$OUT/st.img DEV_EVDEV=/dev/null
		dd if=/dev/zero of="$DEV_DISK" bs=1M count=1 2>/dev/null
		# no input or tap wanted: a plain QEMU
		qemu_plain "$name" "$p" -smp 2 -m 512M
	else
		vm_start "$name" --cpus 2 --mem 512M --params "$p"
	fi
	vm_await '^E2E-END'
	check $? "selftest: the guest reaches its reboot" "$name"
	vm_end
}

# boot_mptable VMM NAME: the mptable scenario of vm-e2e.sh on VMM: 3 vCPUs
# from the MP table (acpi=off), reboot through the i8042
boot_mptable() {
	vmm=$1 name=$2
	p="quiet acpi=off vbe2e_end=reboot"
	if [ "$vmm" = qemu ]; then
		# shellcheck disable=SC2086
		qemu_plain "$name" "$p" -smp 3 -m 256M $QEMU_RAM
	else
		vm_start "$name" --cpus 3 --mem 256M --params "$p"
	fi
	vm_await '^E2E-END'
	check $? "mptable: the guest boots from the MP table and reaches its reboot" "$name"
	seen '^E2E-DMESG-OK'
	check $? "mptable: guest kernel log has no BUG/WARNING/Oops" "$name"
	vm_end
}

# one_boot INDEX VMM: boot, classify, print the TFC lines
one_boot() {
	i=$1 vmm=$2 name=$vmm-$1
	probe_clear
	status=0
	t0=$(now)
	case "$MODE" in
	selftest) boot_selftest "$vmm" "$name" > "$OUT/$name.tap" ;;
	mptable) boot_mptable "$vmm" "$name" > "$OUT/$name.tap" ;;
	mptable-memfd)
		QEMU_RAM="-object memory-backend-memfd,id=ram,size=256M,share=on -machine memory-backend=ram"
		boot_mptable "$vmm" "$name" > "$OUT/$name.tap" ;;
	*) boot_devices "$vmm" "$name" > "$OUT/$name.tap" ;;
	esac
	secs=$(elapsed "$t0")
	hits=$(probe_hits)
	last=$(tr -d '\r' < "$OUT/$name.out" 2>/dev/null | grep '^E2E-' | tail -n 1 | tr '\t ' '__')
	vcpu=- rip=- at=-
	if [ -n "$hits" ] || grep -q 'guest triple fault' "$OUT/$name.err" 2>/dev/null; then
		outcome=triple-fault
		if [ -n "$hits" ]; then
			h=$(echo "$hits" | head -n 1)
			vcpu=$(fault_field "$h" id)
			rip=$(fault_field "$h" rip)
			lstar=$(fault_field "$h" lstar)
			at=$(where "$rip" "$lstar")
			# seconds from the VMM's start to the fault
			ts=$(echo "$h" | sed -n 's/.* \([0-9][0-9]*\.[0-9]*\): .*/\1/p' | head -n 1)
			[ -n "$ts" ] && secs=$(awk -v a="$t0" -v b="$ts" 'BEGIN { printf "%.1f", b - a }')
			echo "$hits" | while read -r l; do echo "TFC-FAULT $i $vmm $l"; done
			echo "TFC-KASLR $i $(kaslr "$lstar")"
		else
			vcpu=$(sed -n 's/.*vCPU \([0-9]*\): guest triple fault.*/\1/p' "$OUT/$name.err" | head -n 1)
			note "$name: triple fault without a kprobe hit"
		fi
	elif [ "$VM_STATUS" = 124 ]; then
		outcome=timeout
	elif grep '^not ok' "$OUT/$name.tap" | grep -vq 'guest kernel log has no'; then
		outcome=failed
	else
		outcome=passed
	fi
	# The guest's kernel log, apart: under nested TCG a QEMU guest
	# always warns that its XSAVE size disagrees with CPUID (QEMU starts
	# vCPUs with XCR0 = x87 and TCG's SVM does not intercept the guest's
	# XSETBV, so KVM never hears of the new XCR0; see vmm.rst, CPUs).
	bad=$(tr -d '\r' < "$OUT/$name.out" 2>/dev/null | sed -n 's/^E2E-DMESG-BAD //p')
	if [ -z "$bad" ]; then
		dmesg=clean
	elif [ -z "$(echo "$bad" | grep -v 'cut here\|fpu/xstate.c\|Call Trace')" ]; then
		dmesg=xstate-warning
	else
		dmesg=bad
	fi
	[ "$MODE" = selftest ] || seen '^E2E-DMESG-' || dmesg=-
	failed=$(grep '^not ok' "$OUT/$name.tap" | sed 's/^not ok - e2e [^:]*: devices: //; s/ (.*//' |
		cut -c1-40 | tr ' \t' '__' | paste -sd, -)
	printf 'TFC-BOOT\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "$vmm" "$outcome" "$secs" \
		"${vcpu:--}" "$rip" "${at:--}" "${last:--}" "$dmesg" "${failed:--}"
	if [ "$outcome" != passed ]; then
		# the failed checks and the scenario's notes (a guest that ran
		# out of time: what vbridge and KVM were doing, lib.sh's
		# vm_hang_report)
		grep '^not ok\|^# ' "$OUT/$name.tap" | sed 's/^/# /'
		for f in "$OUT/$name.err" "$OUT/$name.qlog"; do
			[ -s "$f" ] || continue
			echo "# --- $(basename "$f"), last lines:"
			tail -n 30 "$f" | sed 's/^/#   /'
		done
		echo "# --- console, last lines:"
		tr -d '\r' < "$OUT/$name.out" 2>/dev/null | tail -n 15 | sed 's/^/#   /'
	fi
	# what QEMU's -d cpu_reset,guest_errors logged besides the power-on
	# reset of each vCPU
	if [ "$vmm" = qemu ] && [ -f "$OUT/$name.qlog" ]; then
		echo "# $name: QEMU -d cpu_reset,guest_errors: $(grep -c 'CPU Reset' "$OUT/$name.qlog") resets logged, $(wc -l < "$OUT/$name.qlog") lines"
	fi
}

# --- main ----------------------------------------------------------------------

[ -c /dev/kvm ] || { echo "vm-tf-census.sh: no /dev/kvm in the test VM" >&2; exit 1; }
note "test VM: $(uname -r); $("$VBRIDGE" --version); $("$QEMU" --version | head -n 1); probe $PROBE"
keeper_start
other=qemu
[ "$FIRST" = qemu ] && other=vbridge
n=0 longest=60
while [ $n -lt "$PAIRS" ]; do
	# both boots of the pair must fit in what is left of the budget
	left_s=$(awk -v e="$RUN_END" -v n="$(now)" 'BEGIN { printf "%d", e - n }')
	if [ "$left_s" -lt $((2 * longest + 30)) ]; then
		note "stopping after $n pairs: $left_s s left, a pair may take $((2 * longest)) s"
		break
	fi
	for vmm in "$FIRST" "$other"; do
		t=$(now)
		one_boot "$INDEX" "$vmm"
		d=$(awk -v a="$t" -v b="$(now)" 'BEGIN { printf "%d", b - a + 1 }')
		[ "$d" -gt "$longest" ] && longest=$d
		INDEX=$((INDEX + 1))
	done
	n=$((n + 1))
done
status=0
keeper_stop
echo "TFC-DONE $n"
exit $status
