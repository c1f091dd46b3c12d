#!/bin/sh
# vm-bench.sh: runs inside the test VM (started by run-bench through
# vm-run --kvm) and measures `vbridge run` against QEMU, all on the test
# VM's /dev/kvm, in this one run.  One function per benchmark
# (bench_<name>, a "-" in the name read as "_"); run-bench says which to
# run.  The x86_64 test VM runs boot, blk and bridge; the arm64 one
# boot-arm64 and bridge-arm64 (the same measurements, against QEMU's virt
# board).
#
# Usage: vm-bench.sh [-r REPS] [-b BLK_REPS] [-c CPUS] [-m MIB] [-t SEC]
#                    BENCHMARK...
#
#   -r REPS      boots per VMM for bench_boot [5]
#   -b REPS      rounds of the fio jobs for bench_blk [3]
#   -c CPUS      vCPUs of every second-level guest [1]
#   -m MIB       RAM of the guests of bench_boot [256] (bench_blk: 512)
#   -t SEC       seconds per fio job (plus 2 s of ramp) [6]
#
# Output, read by run-bench:
#   BENCH-SAMPLE <section> <metric> <system> <rep> <value>   (tab-separated)
#   BENCH-MISSING <section> <metric> <system> <why>          a measurement
#                                                            that failed
#   BENCH-INFO <system> <mode>: <command line>               how a system
#                                                            is started
#   # bench: ...                                             progress
#
# Files (put there by run-bench), x86_64: /root/vbridge,
# /usr/bin/qemu-system-x86_64 with /usr/share/qemu and /usr/share/seabios,
# and in /root/bench: bzImage (the kit's kernel), guest-boot.gz and
# guest-blk.gz (tools/bench/guest-init
# with busybox; the second one with fio and the virtio modules),
# bench-launch and halt.img; for the bridge benchmark also
# /root/virtio_bridge.ko and /root/bench/vm3.dtbo (the x86_64 example
# overlay: vmid 3, node /dev/virtio/vm3/cvm2rb-pci), and mmio-read in
# guest-blk.gz.  arm64: /root/vbridge, /usr/bin/qemu-system-aarch64 (Debian's
# arm64 build, with its shared libraries), and in /root/bench: Image (the
# kit's kernel), guest-boot.gz and bench-launch; for bridge-arm64 also
# guest-blk.gz, halt.img (an arm64 Image that waits in WFI),
# /root/virtio_bridge.ko and /root/bench/vm3.dtbo (the arm64 example
# overlay, the same vmid and node).
#
# shellcheck disable=SC2317  # the bench_* functions are called by name
B=/root/bench
VBRIDGE=/root/vbridge
# the machine's QEMU, kernel image and guest console, the RAM of a VM
# that only halts (vbridge run's least); the bridge benchmark's table
# sections and its QEMU peer for virtio-blk
case "$(uname -m)" in
aarch64) ARCH=arm64 QEMU=/usr/bin/qemu-system-aarch64 KERNEL=$B/Image TTY=ttyAMA0 HALT_MEM=64M
	SEC_BRIDGE=bridge-arm64 SEC_RESTART=bridge-restart-arm64 BLK_SYSTEMS="vbridge qemu-virt-nopauth" ;;
*) ARCH=x86_64 QEMU=/usr/bin/qemu-system-x86_64 KERNEL=$B/bzImage TTY=ttyS0 HALT_MEM=32M
	SEC_BRIDGE=bridge SEC_RESTART=bridge-restart BLK_SYSTEMS="vbridge qemu-q35" ;;
esac
LAUNCH=$B/bench-launch
OUT=/tmp/bench
DISK=""			# set per system by blk_start (on tmpfs)
DISK_MIB=256
PARAMS="quiet panic=-1"
NODE=/dev/virtio/vm3/cvm2rb-pci	# the bridged device of vmid 3
PROV_PID=""		# the running provider (vbridge devices)
MMIO_LOADS=2000 MMIO_RUNS=5	# loads per mmio-read run, runs

REPS=5 BLK_REPS=3 CPUS=1 MEM=256 BLK_MEM=512 FIO_RUNTIME=6 FIO_RAMP=2 POLL_US=200
while getopts r:b:c:m:t:p: o; do
	case $o in
	r) REPS=$OPTARG ;;
	b) BLK_REPS=$OPTARG ;;
	c) CPUS=$OPTARG ;;
	m) MEM=$OPTARG ;;
	t) FIO_RUNTIME=$OPTARG ;;
	p) POLL_US=$OPTARG ;;
	*) echo "vm-bench.sh: bad option (see its header)" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
mkdir -p "$OUT"
status=0

now() { cut -d' ' -f1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }
progress() { echo "# bench: $*"; }
sample() { printf 'BENCH-SAMPLE\t%s\t%s\t%s\t%s\t%s\n' "$@"; }
missing() { printf 'BENCH-MISSING\t%s\t%s\t%s\t%s\n' "$@"; status=1; }
# alive PID: PID, a child of this shell, still runs (kill -0 alone also
# succeeds on a child that has ended and was not waited for yet)
alive() {
	kill -0 "$1" 2> /dev/null || return 1
	[ "$(sed 's/.*) //' "/proc/$1/stat" 2> /dev/null | cut -d' ' -f1)" != Z ]
}
# field KEY FILE: the value of KEY=... in bench-launch's output
field() { sed -n "s/^$1=//p" "$2" | head -n 1; }
# div A B [DIGITS]: A / B, for the units the table wants
div() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { printf("%." d "f", a / b) }'; }

# launch SYSTEM MODE NAME [bench-launch options]: boot the bench guest
# (bench_mode=MODE) under SYSTEM through bench-launch; its key=value
# results go to $OUT/NAME.res, the console to $OUT/NAME.log.  Every
# system gets the same kernel, initramfs, command line, vCPUs and RAM,
# and keeps guest RAM in a memfd, whose mapping bench-launch counts apart
# (-g: the name each VMM gives its memfd).
launch() {
	sys=$1 mode=$2 name=$3
	shift 3
	initrd=$B/guest-boot.gz mem=$MEM params="$PARAMS bench_mode=$mode"
	if [ "$mode" = blk ]; then
		initrd=$B/guest-blk.gz mem=$BLK_MEM
		params="$params bench_runtime=$FIO_RUNTIME bench_ramp=$FIO_RAMP"
	fi
	set -- "$@" -o "$OUT/$name.log"
	# (vbridge with --shutdown-timeout 0: SIGTERM stops it at once, as
	# it stops QEMU; the guests here have nothing that takes a power
	# button)
	case $sys in
	vbridge)
		set -- "$@" -g memfd:vbridge-guest-ram -- "$VBRIDGE" run --kernel "$KERNEL" --initrd "$initrd" \
			--cpus "$CPUS" --mem "${mem}M" --params "$params" --shutdown-timeout 0
		[ "$mode" = blk ] && set -- "$@" --rwdisk "$DISK"
		;;
	vbridge-bridge)
		# bridge mode: the disk (and one rng) come from the provider
		# blk_start started on vmid 3; one rng in-process beside it
		set -- "$@" -g memfd:vbridge-guest-ram -- "$VBRIDGE" run --vmid 3 --kernel "$KERNEL" \
			--initrd "$initrd" --cpus "$CPUS" --mem "${mem}M" --params "$params" --rng \
			--shutdown-timeout 0
		;;
	qemu-microvm|qemu-q35)
		# microvm gets the CMOS clock vbridge has: without one (its
		# default under KVM) Debian's kernel still probes for it,
		# and rtc_cmos spends seconds there before giving up
		machine=q35
		[ "$sys" = qemu-microvm ] && machine=microvm,rtc=on
		set -- "$@" -g memfd:memory-backend-memfd -- "$QEMU" -M "$machine,memory-backend=ram" \
			-enable-kvm -cpu host -smp "$CPUS" -m "${mem}M" \
			-object "memory-backend-memfd,id=ram,size=${mem}M" \
			-nodefaults -no-user-config -display none -monitor none \
			-serial stdio -no-reboot \
			-kernel "$KERNEL" -initrd "$initrd" -append "console=$TTY $params"
		;;
	qemu-virt|qemu-virt-nopauth)
		# arm64: the virt board with the GICv3 that vbridge run
		# gives its guests too; its PL011 is the console.  -cpu host
		# gives the guest pointer authentication, which vbridge run
		# does not (and TCG emulates slowly): the -nopauth variant
		# leaves it out, for reference
		cpu=host
		[ "$sys" = qemu-virt-nopauth ] && cpu=host,pauth=off
		set -- "$@" -g memfd:memory-backend-memfd -- "$QEMU" -M virt,gic-version=3,memory-backend=ram \
			-enable-kvm -cpu "$cpu" -smp "$CPUS" -m "${mem}M" \
			-object "memory-backend-memfd,id=ram,size=${mem}M" \
			-nodefaults -no-user-config -display none -monitor none \
			-serial stdio -no-reboot \
			-kernel "$KERNEL" -initrd "$initrd" -append "console=$TTY $params"
		;;
	*)
		echo "vm-bench.sh: unknown system '$sys'" >&2
		return 2
		;;
	esac
	# QEMU's disk: virtio-blk-pci on the board's PCI(e) host, with
	# QEMU's defaults for a raw file: cache=writeback (the host page
	# cache, as vbridge without ",direct"), aio=threads
	case $sys:$mode in
	qemu-*:blk) set -- "$@" \
		-drive "file=$DISK,if=none,id=disk0,format=raw,cache=writeback,aio=threads" \
		-device virtio-blk-pci,drive=disk0 ;;
	esac
	show_cmd "$sys" "$mode" "$@"
	"$LAUNCH" "$@" > "$OUT/$name.res" 2> "$OUT/$name.err"
}

# show_cmd SYSTEM MODE BENCH-LAUNCH-ARGS...: a BENCH-INFO line with the
# command (what follows "--"), once per system and mode
show_cmd() {
	key="$1 $2"
	shift 2
	[ -e "$OUT/cmd-$(echo "$key" | tr ' ' -)" ] && return
	: > "$OUT/cmd-$(echo "$key" | tr ' ' -)"
	while [ $# -gt 0 ] && [ "$1" != -- ]; do shift; done
	[ $# -gt 0 ] && shift
	line=""
	for a in "$@"; do
		case "$a" in *" "*) line="$line \"$a\"" ;; *) line="$line $a" ;; esac
	done
	printf 'BENCH-INFO\t%s:%s\n' "$key" "$line"
}

# log_tail NAME: why a launch failed, as comments
log_tail() {
	sed 's/^/#   /' "$OUT/$1.err"
	tr -d '\r' < "$OUT/$1.log" | tail -n 15 | sed 's/^/#   | /'
}

# --- section "in-process": vbridge run with its devices in-process -----------

INPROC_SYSTEMS="vbridge qemu-microvm qemu-q35"
ARM64_SYSTEMS="vbridge qemu-virt qemu-virt-nopauth"

bench_boot() { boot_round in-process "$INPROC_SYSTEMS"; }
bench_boot_arm64() { boot_round arm64 "$ARM64_SYSTEMS"; }

# boot_round SECTION SYSTEMS: boot to init and resident memory at idle,
# REPS boots per system, sampled in SECTION.  The systems take turns (and
# the first of each round rotates), so a change of load on the shared
# host during the run spreads over all of them.
boot_round() {
	sec=$1
	set -- $2
	n=$#
	rep=1
	while [ $rep -le "$REPS" ]; do
		i=0
		while [ $i -lt $n ]; do
			eval "sys=\${$(( (rep + i - 1) % n + 1 ))}"
			name=boot-$sys-$rep
			t1=$(now)
			if ! launch "$sys" idle "$name" -i BENCH-IDLE -s 2000 -k -t 240; then
				progress "boot $rep/$REPS $sys failed; once more"
				log_tail "$name"
				name=$name-again
				launch "$sys" idle "$name" -i BENCH-IDLE -s 2000 -k -t 240 ||
					{ log_tail "$name"; missing "$sec" boot_s "$sys" "no boot marker or no memory sample"; }
			fi
			res=$OUT/$name.res
			boot=$(field boot_ms "$res")
			other=$(field other_rss_kib "$res")
			anon=$(field other_anon_kib "$res")
			guest=$(field guest_rss_kib "$res")
			up=$(tr -d '\r' < "$OUT/$name.log" | sed -n 's/^BENCH-UPTIME //p' | head -n 1)
			if [ -n "$boot" ]; then
				sample "$sec" boot_s "$sys" "$rep" "$(div "$boot" 1000 2)"
				[ -n "$up" ] && sample "$sec" kernel_s "$sys" "$rep" "$up"
			fi
			# the guest's RAM must have been found: it holds the
			# unpacked initramfs, megabytes at least
			if [ -n "$other" ] && [ "${guest:-0}" -ge 4096 ]; then
				sample "$sec" rss_mib "$sys" "$rep" "$(div "$other" 1024 2)"
				sample "$sec" rss_anon_mib "$sys" "$rep" "$(div "$anon" 1024 2)"
				sample "$sec" rss_guest_mib "$sys" "$rep" "$(div "$guest" 1024 1)"
			elif [ -n "$other" ]; then
				missing "$sec" rss_mib "$sys" "its guest RAM mapping was not found in smaps"
			fi
			[ -n "$boot" ] && progress "boot $rep/$REPS $sys: init after $(div "$boot" 1000 2) s" \
				"(guest uptime $up s); RSS besides guest RAM ${other:-?} KiB" \
				"(anonymous ${anon:-?}), guest RAM ${guest:-?} KiB; ran $(elapsed "$t1") s"
			i=$((i + 1))
		done
		rep=$((rep + 1))
	done
}

# The virtio-blk benchmark boots one guest per system (BLK_SYSTEMS, and
# vbridge-bridge when the bridge benchmark runs), each with its own
# copy of the same raw image on the test VM's tmpfs, and has them take
# turns: every fio job runs on one guest while the others idle, job by job
# and round by round (the first system of a job rotates), so that a change
# of load on the shared host falls on both alike.  Commands reach a guest
# through its VMM's standard input (the console), a FIFO held open here.
BLK_JOBS="seq-read seq-write rand-read-qd1 rand-read-qd32"

# blk_var SYSTEM: a shell variable name for SYSTEM
blk_var() { echo "blk_$1" | tr -c 'a-zA-Z0-9_\n' _; }

# blk_start SYSTEM FD: create SYSTEM's image and boot its guest in the
# background, console input on a FIFO that stays open on FD here
blk_start() {
	DISK=$OUT/disk-$1.img
	dd if=/dev/zero of="$DISK" bs=1M count=$DISK_MIB 2> /dev/null ||
		{ echo "# cannot create $DISK"; return 1; }
	if [ "$1" = vbridge-bridge ]; then
		prov_start --rwdisk "$DISK" --rng || return 1
		printf 'BENCH-INFO\t%s provider: %s\n' "$1" \
			"$VBRIDGE devices --pci-bus-devfd=$NODE --state-dir DIR --rwdisk DISK --rng"
	fi
	rm -f "$OUT/blk-$1.in"
	mkfifo "$OUT/blk-$1.in" || return 1
	eval "exec $2<>\"\$OUT/blk-\$1.in\""
	launch "$1" blk "blk-$1" -I -i BENCH-READY -s 2000 \
		-t $((600 + BLK_REPS * 4 * (FIO_RUNTIME + FIO_RAMP + 60))) < "$OUT/blk-$1.in" &
	eval "$(blk_var "$1")_pid=$!"
}

# blk_wait SYSTEM PATTERN SEC: until SYSTEM's guest console has a line
# matching PATTERN; status 1 when its VMM ended or SEC passed first
blk_wait() {
	t=0 pid=""
	eval "pid=\$$(blk_var "$1")_pid"
	while ! tr -d '\r' < "$OUT/blk-$1.log" 2> /dev/null | grep -q "$2"; do
		alive "$pid" || return 1
		[ $t -lt "$3" ] || return 1
		sleep 1
		t=$((t + 1))
	done
}

# blk_section SYSTEM: the table section of SYSTEM's blk measurements:
# the bridge section ($SEC_BRIDGE) for the bridged system, and for all
# when blk itself does not run; else "in-process"
blk_section() {
	if [ "$1" = vbridge-bridge ] || [ "$BLK_INPROC" != 1 ]; then
		echo "$SEC_BRIDGE"
	else
		echo in-process
	fi
}

# blk_sample METRIC SYSTEM REP VALUE: a blk sample, in the sections that
# run: the bridge section gets every system (its ratios compare them),
# the in-process section the others when the blk benchmark runs
blk_sample() {
	[ "$2" != vbridge-bridge ] && [ "$BLK_INPROC" = 1 ] && sample in-process "$@"
	[ "$BRIDGE_ON" = 1 ] && sample "$SEC_BRIDGE" "$@"
}

# --- costs counted: what a measurement cost in exits, forwarded accesses
# and context switches, which do not depend on how fast the machine is -----

# kvm_dir PID: the test VM's KVM debugfs folder (kvm/<pid>-<fd>) of the VM
# of PID or of a descendant of PID (the VMM that bench-launch started)
kvm_dir() {
	for d in /sys/kernel/debug/kvm/*-*; do
		[ -d "$d" ] || continue
		q=${d##*/}
		q=${q%%-*}
		while [ -n "$q" ] && [ "$q" -gt 1 ]; do
			[ "$q" = "$1" ] && { echo "$d"; return 0; }
			q=$(awk '$1 == "PPid:" { print $2 }' "/proc/$q/status" 2> /dev/null)
		done
	done
	return 1
}

# uexits DIR: the exits to userspace so far of the VM of DIR, all vCPUs:
# x86_64 KVM's mmio_exits (MMIO handed to the VMM) and io_exits (port
# I/O: all of it goes to the VMM but the few ports KVM emulates, which
# a guest leaves alone while it does block I/O); arm64 mmio_exit_user
uexits() {
	case $ARCH in
	x86_64) set -- "$1/mmio_exits" "$1/io_exits" ;;
	*) set -- "$1/mmio_exit_user" ;;
	esac
	cat "$@" 2> /dev/null | awk '{ n += $1 } END { if (NR == '$#') print n }'
}

# forwarded: the accesses the module has forwarded to vm3's provider so
# far (the FORWARDED column of vbridge ctl status)
forwarded() {
	"$VBRIDGE" ctl status 2> /dev/null | awk '
		$1 == "DEVICE" { for (i = 1; i <= NF; i++) if ($i == "FORWARDED") col = i; next }
		col && $1 == "vm3/cvm2rb-pci" { print $col; exit }'
}

# ctxsw PID...: the context switches, voluntary or not, of every thread of
# the processes PID so far
ctxsw() {
	for p in "$@"; do cat /proc/"$p"/task/*/status; done 2> /dev/null |
		awk '/^(non)?voluntary_ctxt_switches:/ { n += $2 } END { if (NR) print n }'
}

# per A0 A1 B0 B1: (A1 - A0) / (B1 - B0) with two decimals, nothing when a
# value is missing or B did not move
per() {
	[ -n "$1" ] && [ -n "$2" ] && [ -n "$3" ] && [ -n "$4" ] && [ "$4" -gt "$3" ] || return 0
	div $(($2 - $1)) $(($4 - $3)) 2
}

# blk_job SYSTEM JOB: run one fio job in SYSTEM's guest, sample its
# result, and for the 4 KiB jobs what each request cost: exits to
# userspace, and in bridge mode accesses forwarded to the provider;
# status 1 when the guest stopped answering
blk_job() {
	case "$2" in	# the metric, and its field of the BENCH-FIO line below
	seq-read) metric=blk_seq_read_mibs f=6 ;;
	seq-write) metric=blk_seq_write_mibs f=8 ;;
	rand-read-qd1) metric=blk_randread_qd1_iops f=7 ;;
	rand-read-qd32) metric=blk_randread_qd32_iops f=7 ;;
	esac
	seq=$((seq + 1))
	kvm=""
	eval "kvm=\$$(blk_var "$1")_kvm"
	ux0=$(uexits "$kvm") fw0=""
	[ "$1" = vbridge-bridge ] && fw0=$(forwarded)
	echo "$seq fio $2" > "$OUT/blk-$1.in"
	if ! blk_wait "$1" "^BENCH-DONE $seq\$" $((FIO_RUNTIME + FIO_RAMP + 120)); then
		log_tail "blk-$1"
		missing "$(blk_section "$1")" "$metric" "$1" "fio job $2 did not finish (round $rep)"
		return 1
	fi
	ux1=$(uexits "$kvm") fw1=""
	[ "$1" = vbridge-bridge ] && fw1=$(forwarded)
	# BENCH-FIO seq job read-KiB/s read-IOPS write-KiB/s write-IOPS I/Os
	line=$(tr -d '\r' < "$OUT/blk-$1.log" | grep "^BENCH-FIO $seq ")
	v="" ios=""
	if [ -n "$line" ]; then
		set -- "$1" "$2" $line
		eval "v=\${$f}"
		ios=${10:-}
		case $metric in
		*_iops) unit=IOPS ;;
		*) unit=MiB/s v=$(div "$v" 1024 1) ;;
		esac
	fi
	if [ -z "$v" ]; then
		tr -d '\r' < "$OUT/blk-$1.log" | grep "^BENCH-FAIL" | sed 's/^/#   /'
		missing "$(blk_section "$1")" "$metric" "$1" "fio job $2 gave no result (round $rep)"
		return 0
	fi
	blk_sample "$metric" "$1" "$rep" "$v"
	cost=""
	case $2 in
	rand-read-qd*)
		q=${2#rand-read-}
		ux=$(per "$ux0" "$ux1" 0 "$ios")
		if [ -n "$ux" ]; then
			blk_sample "blk_${q}_uexits_per_io" "$1" "$rep" "$ux"
			cost="; per request $ux exits to userspace"
		else
			missing "$(blk_section "$1")" "blk_${q}_uexits_per_io" "$1" \
				"no exit count (${kvm:-no KVM debugfs folder}, ${ux0:-?} to ${ux1:-?}) or request count (${ios:-none})"
		fi
		if [ "$1" = vbridge-bridge ]; then
			fw=$(per "$fw0" "$fw1" 0 "$ios")
			if [ -n "$fw" ]; then
				sample "$SEC_BRIDGE" "blk_${q}_fwd_per_io" "$1" "$rep" "$fw"
				cost="$cost, $fw forwarded accesses"
			else
				missing "$SEC_BRIDGE" "blk_${q}_fwd_per_io" "$1" "no forwarded count (${fw0:-?} to ${fw1:-?}) or request count (${ios:-none})"
			fi
		fi
		;;
	esac
	progress "blk round $rep/$BLK_REPS $2 on $1: $v $unit$cost"
}

bench_blk() {
	systems=$BLK_SYSTEMS
	[ "$BRIDGE_ON" = 1 ] && systems="$systems vbridge-bridge"
	set -- $systems
	n=$#
	fd=4
	for sys in "$@"; do
		blk_start "$sys" $fd || missing "$(blk_section "$sys")" blk "$sys" "cannot start its guest"
		fd=$((fd + 1))
	done
	progress "blk: ${DISK_MIB} MiB raw images on tmpfs; $n guests booting"
	alive=""
	for sys in "$@"; do
		if blk_wait "$sys" '^BENCH-READY' 600; then
			alive="$alive $sys"
			# its VM's KVM statistics, for the costs of blk_job
			eval "pid=\$$(blk_var "$sys")_pid"
			eval "$(blk_var "$sys")_kvm=\$(kvm_dir \"\$pid\")"
		else
			log_tail "blk-$sys"
			missing "$(blk_section "$sys")" blk "$sys" "its guest did not get ready (no BENCH-READY)"
		fi
	done
	sleep 3		# the VMMs' memory is sampled 2 s after BENCH-READY
	prov_kib=""
	if [ -n "$PROV_PID" ]; then
		prov_kib=$(smaps_other "$PROV_PID" /dev/virtio/)
		progress "bridge: where the provider's RSS is (KiB): $(smaps_where "$PROV_PID" /dev/virtio/)"
		vmm=${blk_vbridge_bridge_kvm##*/}
		[ -z "$vmm" ] ||
			progress "bridge: where the VMM's RSS is (KiB): $(smaps_where "${vmm%%-*}" vbridge-guest-ram)"
	fi
	seq=0
	rep=1
	while [ $rep -le "$BLK_REPS" ]; do
		j=0
		for job in $BLK_JOBS; do
			i=0
			while [ $i -lt $n ]; do
				eval "sys=\${$(( (rep + j + i - 1) % n + 1 ))}"
				case " $alive " in
				*" $sys "*) blk_job "$sys" "$job" || alive=$(echo " $alive " | sed "s/ $sys / /") ;;
				esac
				i=$((i + 1))
			done
			j=$((j + 1))
		done
		rep=$((rep + 1))
	done
	case " $alive " in *" vbridge-bridge "*) bridge_mmio; bridge_poll ;; esac
	fd=4
	for sys in "$@"; do
		echo "0 end" > "$OUT/blk-$sys.in"
		eval "pid=\$$(blk_var "$sys")_pid"
		wait "$pid" || log_tail "blk-$sys"
		eval "exec $fd>&-"
		fd=$((fd + 1))
		res=$OUT/blk-$sys.res
		other=$(field other_rss_kib "$res")
		guest=$(field guest_rss_kib "$res")
		if [ "$sys" = vbridge-bridge ]; then
			prov_stop
			if [ -n "$other" ] && [ "${guest:-0}" -ge 4096 ] && [ -n "$prov_kib" ]; then
				sample "$SEC_BRIDGE" rss_mib "$sys" 1 "$(div $((other + prov_kib)) 1024 2)"
				sample "$SEC_BRIDGE" rss_vmm_mib "$sys" 1 "$(div "$other" 1024 2)"
				sample "$SEC_BRIDGE" rss_provider_mib "$sys" 1 "$(div "$prov_kib" 1024 2)"
				progress "bridge: RSS besides guest RAM: VMM $other KiB, provider $prov_kib KiB"
			else
				missing "$SEC_BRIDGE" rss_mib "$sys" "no memory sample of the VMM (${other:-none}) or the provider (${prov_kib:-none})"
			fi
		elif [ -n "$other" ] && [ "${guest:-0}" -ge 4096 ]; then
			[ "$BLK_INPROC" = 1 ] && sample in-process blk_rss_mib "$sys" 1 "$(div "$other" 1024 2)"
			[ "$BRIDGE_ON" = 1 ] && [ "$sys" = vbridge ] && sample "$SEC_BRIDGE" rss_mib "$sys" 1 "$(div "$other" 1024 2)"
		else
			missing "$(blk_section "$sys")" blk_rss_mib "$sys" "no memory sample with the disk"
		fi
		tr -d '\r' < "$OUT/blk-$sys.log" | grep '^BENCH-DISK' | sed "s/^/# $sys: /"
		rm -f "$OUT/disk-$sys.img"
	done
}

# --- section "bridge": devices served through virtio_bridge.ko ----------------

# prov_start ARGS...: start the provider (vbridge devices) on vmid 3's
# node with ARGS, in the background (PROV_PID), and wait until `vbridge
# ctl status` shows it ready
prov_start() {
	mkdir -p "$OUT/state"
	"$VBRIDGE" devices -v --pci-bus-devfd="$NODE" --state-dir "$OUT/state" "$@" \
		< /dev/null > "$OUT/provider.log" 2>&1 &
	PROV_PID=$!
	i=0
	until "$VBRIDGE" ctl status 2> /dev/null | grep cvm2rb-pci | grep -q ready; do
		i=$((i + 1))
		if [ $i -ge 300 ] || ! alive "$PROV_PID"; then
			echo "# the provider did not get ready:"
			sed 's/^/#   /' "$OUT/provider.log" | tail -n 10
			prov_stop
			return 1
		fi
		sleep 0.1
	done
}

# prov_stop: SIGTERM to the provider, SIGKILL 20 s later
prov_stop() {
	[ -n "$PROV_PID" ] || return 0
	kill -TERM "$PROV_PID" 2> /dev/null
	i=0
	while alive "$PROV_PID" && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL "$PROV_PID" 2> /dev/null
	wait "$PROV_PID" 2> /dev/null
	PROV_PID=""
}

# smaps_other PID PATTERN: KiB resident in PID's mappings whose name does
# not contain PATTERN (the guest RAM), the rule bench-launch -g applies
smaps_other() {
	awk -v pat="$2" '
		/^[0-9a-f]+-[0-9a-f]+ / { guest = index($0, pat) > 0; next }
		/^Rss:/ { if (!guest) kib += $2 }
		END { if (NR) print kib + 0 }' "/proc/$1/smaps" 2> /dev/null
}

# bridge_poll: the provider started again, in polling mode (--poll-us),
# under the bridged blk guest (still up, idle), which it takes over as
# after any restart; then bridge_mmio's rounds again, as the polling
# metrics.  A spin over the module's default bound (poll_max_us, 1000
# us) raises the bound to it first.
bridge_poll() {
	poll_why=""
	prov_stop
	if [ "$POLL_US" -gt 1000 ] &&
	   ! echo "$POLL_US" > /sys/module/virtio_bridge/parameters/poll_max_us; then
		poll_why="poll_max_us would not take $POLL_US"
	elif ! prov_start --rwdisk "$OUT/disk-vbridge-bridge.img" --rng --poll-us="$POLL_US"; then
		poll_why="the provider did not start again with --poll-us=$POLL_US"
	fi
	if [ -n "$poll_why" ]; then
		missing "$SEC_BRIDGE" mmio_load_poll_us vbridge-bridge "$poll_why"
		missing "$SEC_BRIDGE" ctxsw_per_load_poll vbridge-bridge "$poll_why"
		return
	fi
	progress "bridge: provider restarted in polling mode (--poll-us=$POLL_US)"
	bridge_mmio mmio_load_poll_us ctxsw_per_load_poll
}

# smaps_where PID PATTERN: smaps_other's KiB by mapping, largest first:
# "NAME KiB" for each file (its base name) and [heap], [stack] and
# [anon], one line
smaps_where() {
	awk -v pat="$2" '
		/^[0-9a-f]+-[0-9a-f]+ / {
			guest = index($0, pat) > 0
			name = NF >= 6 ? $NF : "[anon]"
			sub(/.*\//, "", name)
			next
		}
		/^Rss:/ && !guest { kib[name] += $2 }
		END { for (n in kib) if (kib[n]) print kib[n], n }' "/proc/$1/smaps" 2> /dev/null |
		sort -rn | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }'
}

# bridge_mmio: in the bridged blk guest (still up), MMIO_RUNS rounds of
# mmio-read on every virtio rng: the in-process one and the bridged one,
# taking turns, and per round the context switches of the VMM and the
# provider per forwarded load; one command per
# round, so that a slow round shows and a stuck one is given up
bridge_mmio() {
	lm=${1:-mmio_load_us} cm=${2:-ctxsw_per_load}
	nin=0 nbr=0 run=1
	# the bridged VMM (the pid of its KVM debugfs folder), for its
	# context switches and the provider's per forwarded load
	vmm=${blk_vbridge_bridge_kvm##*/}
	vmm=${vmm%%-*}
	while [ $run -le $MMIO_RUNS ]; do
		seq=$((seq + 1))
		fw0=$(forwarded) cs0=""
		[ -n "$vmm" ] && cs0=$(ctxsw "$vmm" "$PROV_PID")
		echo "$seq mmio $MMIO_LOADS 1" > "$OUT/blk-vbridge-bridge.in"
		if ! blk_wait vbridge-bridge "^BENCH-DONE $seq\$" 180; then
			log_tail blk-vbridge-bridge
			break
		fi
		fw1=$(forwarded) cs1=""
		[ -n "$vmm" ] && cs1=$(ctxsw "$vmm" "$PROV_PID")
		cs=$(per "$cs0" "$cs1" "$fw0" "$fw1")
		if [ -n "$cs" ]; then
			sample "$SEC_BRIDGE" "$cm" vbridge-bridge "$run" "$cs"
			progress "bridge: mmio-read ($lm) $run/$MMIO_RUNS: $((fw1 - fw0)) loads forwarded," \
				"$cs context switches (VMM and provider) each"
		else
			missing "$SEC_BRIDGE" "$cm" vbridge-bridge \
				"round $run: no count of context switches (VMM ${vmm:-unknown}: ${cs0:-?} to ${cs1:-?}) or forwarded loads (${fw0:-?} to ${fw1:-?})"
		fi
		tr -d '\r' < "$OUT/blk-vbridge-bridge.log" | grep "^BENCH-FAIL mmio $seq " | sed 's/^/#   /'
		tr -d '\r' < "$OUT/blk-vbridge-bridge.log" | grep "^BENCH-MMIO $seq " > "$OUT/mmio.txt"
		while read -r _ _ fn ns; do
			# bridged: x86_64 slots 0x10 and up, arm64 the bridged
			# host's own PCI domain (0001)
			dom=${fn%%:*} slot=$(echo "$fn" | cut -d: -f3 | cut -d. -f1)
			if [ "$dom" != 0000 ] || [ $((0x$slot)) -ge 16 ]; then
				sys=vbridge-bridge nbr=$((nbr + 1)) r=$nbr
			else
				sys=vbridge nin=$((nin + 1)) r=$nin
			fi
			sample "$SEC_BRIDGE" "$lm" "$sys" "$r" "$(div "$ns" 1000 2)"
			progress "bridge: mmio-read $run/$MMIO_RUNS $fn ($sys): $ns ns per load"
		done < "$OUT/mmio.txt"
		run=$((run + 1))
	done
	[ $nin -gt 0 ] || missing "$SEC_BRIDGE" "$lm" vbridge "no mmio-read result for the in-process rng"
	[ $nbr -gt 0 ] || missing "$SEC_BRIDGE" "$lm" vbridge-bridge "no mmio-read result for the bridged rng"
}

# vmm_halt NAME [--in-process]: a bridged VMM on vmid 3 (or one without
# the module) with the halting kernel, in the background (HALT_PID), its
# -v messages in $OUT/NAME.log
vmm_halt() {
	vh_vmid="--vmid 3"
	[ "${2:-}" != --in-process ] || vh_vmid=""
	# shellcheck disable=SC2086
	"$VBRIDGE" run -v $vh_vmid --kernel "$B/halt.img" --mem "$HALT_MEM" --shutdown-timeout 0 \
		--serial hardware=serial,num=1,type=sink < /dev/null > "$OUT/$1.log" 2>&1 &
	HALT_PID=$!
}

# kill_reap: kill -9 of HALT_PID; REAP_MS: the ms until it has exited
# and been reaped (/proc/uptime: 10 ms steps).  Not in a subshell: only
# this shell can wait for its child.
kill_reap() {
	t1=$(now)
	kill -KILL "$HALT_PID" 2> /dev/null
	wait "$HALT_PID" 2> /dev/null
	REAP_MS=$(awk -v a="$t1" -v b="$(now)" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
}

# vmm_setup_ms NAME: once the VMM of NAME starts its vCPUs, its setup
# time in ms; nothing when it ended or took longer than 60 s
vmm_setup_ms() {
	i=0
	while [ $i -lt 600 ]; do
		t=$(sed -n 's/.*setup took \([0-9.]*\) s; starting.*/\1/p' "$OUT/$1.log" | head -n 1)
		[ -n "$t" ] && { div "$t" 0.001 1; return; }
		alive "$HALT_PID" || break
		sleep 0.1
		i=$((i + 1))
	done
}

# vm3_free: vmid 3 has no running or stopping VM
vm3_free() {
	st=$("$VBRIDGE" ctl status 2> /dev/null | awk '$1 == "vm3" { print $2 }')
	[ -z "$st" ] || [ "$st" = free ] || [ "$st" = stopped ]
}

# VMSTOP -> restart, REPS times: a bridged VMM on a free vmid (its setup
# time is the reference), kill -9 of it and, as soon as it has exited, a
# new VMM on the same vmid, whose setup includes waiting for the old VM's
# stop (the provider acknowledges VMSTOP at once).  The restart time is
# the exit time plus the extra setup time.  The guest only halts: what is measured
# is the VMM and the module, not a guest boot.  The exit time's peer is
# the same VMM without the module (no --vmid), killed the same way in the
# same round: what the bridged one takes longer is the module's release.
bridge_restart() {
	prov_start --rng || { missing "$SEC_RESTART" restart_ms after-kill "the provider did not start"; return; }
	progress "bridge: restart: provider ready; vm3 $("$VBRIDGE" ctl status 2> /dev/null | awk '$1 == "vm3"' | head -n 1)"
	rep=1
	while [ $rep -le "$REPS" ]; do
		i=0
		while ! vm3_free && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
		vmm_halt "restart-free-$rep"
		free=$(vmm_setup_ms "restart-free-$rep")
		# a VMM started before the killed one has exited finds the
		# vmid still running and refuses ("in use"): wait for the exit,
		# and count it
		kill_reap
		reap=$REAP_MS
		vmm_halt "restart-kill-$rep"
		after=$(vmm_setup_ms "restart-kill-$rep")
		kill -TERM "$HALT_PID" 2> /dev/null
		wait "$HALT_PID" 2> /dev/null
		vmm_halt "restart-inproc-$rep" --in-process
		reap_in=""
		if [ -n "$(vmm_setup_ms "restart-inproc-$rep")" ]; then
			kill_reap
			reap_in=$REAP_MS
			sample "$SEC_RESTART" exit_ms in-process "$rep" "$reap_in"
		else
			kill -KILL "$HALT_PID" 2> /dev/null
			wait "$HALT_PID" 2> /dev/null
			sed 's/^/#   /' "$OUT/restart-inproc-$rep.log" | tail -n 10
			missing "$SEC_RESTART" exit_ms in-process "rep $rep: the VMM without the module did not start"
		fi
		if [ -n "$free" ] && [ -n "$after" ]; then
			sample "$SEC_RESTART" setup_ms free-vmid "$rep" "$free"
			sample "$SEC_RESTART" setup_ms after-kill "$rep" "$after"
			sample "$SEC_RESTART" exit_ms after-kill "$rep" "$reap"
			sample "$SEC_RESTART" restart_ms after-kill "$rep" \
				"$(awk -v a="$after" -v b="$free" -v r="$reap" 'BEGIN { printf "%.1f", r + a - b }')"
			progress "bridge: restart $rep/$REPS: setup $free ms on a free vmid, $after ms" \
				"after kill -9, whose process took $reap ms to exit" \
				"(without the module: ${reap_in:-?} ms)"
		else
			sed 's/^/#   /' "$OUT/restart-free-$rep.log" "$OUT/restart-kill-$rep.log" | tail -n 20
			missing "$SEC_RESTART" restart_ms after-kill "rep $rep: no setup time (free: ${free:-none}, after kill: ${after:-none})"
		fi
		rep=$((rep + 1))
	done
	prov_stop
}

# The bridge benchmark: its blk systems, RSS and mmio-read ride along
# with bench_blk (a third system, vbridge-bridge) when blk runs too, else
# bench_blk runs here for them; then VMSTOP -> restart.
bench_bridge_arm64() { bench_bridge; }
bench_bridge() {
	if [ "$BRIDGE_ON" != 1 ]; then
		missing "$SEC_BRIDGE" all vbridge-bridge "virtio_bridge.ko or the vm3 overlay could not be loaded"
		return
	fi
	[ "$BLK_INPROC" = 1 ] || bench_blk
	bridge_restart
}

# --- main --------------------------------------------------------------------

[ -c /dev/kvm ] || { echo "vm-bench.sh: no /dev/kvm in the test VM" >&2; exit 1; }
need="$VBRIDGE $QEMU $KERNEL $LAUNCH $B/guest-boot.gz"
[ "$ARCH" = x86_64 ] && need="$need $B/halt.img"	# the keeper below
case " $* " in
*" bridge "*|*" bridge-arm64 "*) need="$need $B/guest-blk.gz $B/halt.img" ;;
*" blk "*) need="$need $B/guest-blk.gz" ;;
esac
for f in $need; do
	[ -e "$f" ] || { echo "vm-bench.sh: $f is missing" >&2; exit 1; }
done
for b in "$@"; do
	case "$ARCH:$b" in
	arm64:*-arm64|x86_64:boot|x86_64:blk|x86_64:bridge) ;;
	*) echo "vm-bench.sh: benchmark '$b' is not for this $ARCH test VM" >&2; exit 2 ;;
	esac
done
progress "test VM: $ARCH, $(grep -c ^processor /proc/cpuinfo) vCPUs," \
	"$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MiB, kernel $(uname -r);" \
	"guests: $CPUS vCPU, $MEM MiB ($BLK_MEM MiB for blk)"
progress "$("$VBRIDGE" --version); $("$QEMU" --version | head -n 1)"

# x86_64: a VM that sleeps in a halted vCPU for the whole run: creating
# and destroying VMs flips static keys in the test VM's KVM, and the code
# patching that goes with it is slow and (under multi-threaded TCG) not
# always safe; with one VM alive all along the keys never drop to zero
# (see vm-e2e.sh, Documentation/virtio-bridge/vmm.rst).  halt.img is a
# bzImage; the arm64 test VM runs without a keeper, as its e2e tests do.
keeper=""
if [ "$ARCH" = x86_64 ]; then
	"$VBRIDGE" run --kernel "$B/halt.img" --mem 32M --shutdown-timeout 0 \
		--serial hardware=serial,num=1,type=sink < /dev/null > "$OUT/keeper.log" 2>&1 &
	keeper=$!
fi

BLK_INPROC=0 BRIDGE_ON=0
case " $* " in *" blk "*) BLK_INPROC=1 ;; esac
case " $* " in
*" bridge "*|*" bridge-arm64 "*)
	for f in /root/virtio_bridge.ko "$B/vm3.dtbo"; do
		[ -e "$f" ] || { echo "vm-bench.sh: $f is missing" >&2; exit 1; }
	done
	if insmod /root/virtio_bridge.ko && "$VBRIDGE" ctl load "$B/vm3.dtbo" > "$OUT/load.out" 2>&1; then
		BRIDGE_ON=1
		progress "bridge: virtio_bridge.ko loaded, vm3/cvm2rb-pci declared"
	else
		sed 's/^/#   /' "$OUT/load.out"
	fi
	;;
esac

for b in "$@"; do
	t0=$(now)
	progress "$b: start"
	"bench_$(echo "$b" | tr - _)"
	progress "$b: took $(elapsed "$t0") s"
done
if [ -n "$keeper" ]; then
	alive "$keeper" || { echo "# the keeper VM had ended:"; sed 's/^/#   /' "$OUT/keeper.log"; }
	kill -TERM "$keeper" 2>/dev/null
	wait "$keeper"
fi
if [ "$BRIDGE_ON" = 1 ]; then
	prov_stop
	"$VBRIDGE" ctl unload "$B/vm3.dtbo" > /dev/null 2>&1
	rmmod virtio_bridge || echo "# virtio_bridge does not unload"
fi
exit $status
