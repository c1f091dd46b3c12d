#!/bin/sh
# vm-e2e.sh KIT BUDGET [SCENARIO...]: runs inside the test VM (started by
# run-e2e through vm-run --kvm) and boots the kit's own kernel as a
# second-level guest with `vbridge run`, once per scenario.  Every check
# prints one TAP line; a failing one is followed by the scenario's log tail
# as "#" comments.
#
# BUDGET is how many seconds of the test VM's uptime the scenarios may use
# in all (run-e2e gives vm-run some more): every wait below ends at the
# budget's end at the latest, and says what it waited for.  SCENARIOs (tiny,
# boot, mptable, highmem, devices, seed on x86_64; tiny, boot, reset, nisv,
# uboot, devices, seed on arm64; repeats allowed) choose what runs; all of the
# machine's by default.
#
# Files (put there by run-e2e): /root/vbridge, /root/e2e/kernel (the kit's
# bzImage or Image), /root/e2e/guest.gz (busybox, guest-init, the kit's
# virtio modules), the tiny kernels and spin.pc (where the spinning one
# spins), on arm64 u-boot.bin and boot-disk.img, and e2e-helper.
KIT=${1:-?}
SUITE=e2e-$KIT
BUDGET=${2:-480}
shift 2 2>/dev/null
VBRIDGE=/root/vbridge
KERNEL=/root/e2e/kernel
INITRD=/root/e2e/guest.gz
OUT=/tmp/e2e
TIMEOUT=150		# per guest; a hang fails the scenario, not the run
mkdir -p "$OUT"
# What the machine calls its console and how its guest powers off.
case "$(uname -m)" in
aarch64) ARCH=arm64 TTY=ttyAMA0 POWEROFF="PSCI SYSTEM_OFF" RESET="PSCI SYSTEM_RESET"
	 NOT_KERNEL="not an arm64 Image: no .ARM.x64. magic" TINY_CHECKS=19 BOOT_CHECKS=7 ;;
*) ARCH=x86_64 TTY=ttyS0 POWEROFF="ACPI S5" RESET="the ACPI reset register"
   NOT_KERNEL="not a bzImage" TINY_CHECKS=17 BOOT_CHECKS=6 ;;
esac
# shellcheck source=lib.sh
. /root/e2e/lib.sh
sp_setup

# --- scenarios -------------------------------------------------------------

# Boot to init with 4 vCPUs, console both ways, clean kernel, power off.
scenario_boot() {
	vm_start boot --cpus 4 --mem 256M --params "quiet vbe2e_read=1"
	vm_await '^E2E-INIT '; r=$?
	check $r "boot: the guest reaches init ($VM_SEEN s after vbridge started, guest uptime $(marker INIT) s)" boot
	vm_await '^E2E-CPUS '
	check "$([ "$(marker CPUS)" = 0-3 ]; echo $?)" "boot: all 4 vCPUs online (online: $(marker CPUS))" boot
	if [ "$ARCH" = arm64 ]; then
		# the one this test VM's KVM offers: the test VM's own (QEMU's
		# GICv3 has no GICv2 compatibility; --gic 2 gives a GICv2).
		# Linux calls a GICv2 "GICv2" in split EOI mode (at EL2, as
		# the test VM runs), "GIC-0" otherwise (the guest, at EL1).
		want=$(grep -m 1 arch_timer /proc/interrupts | grep -o 'GICv[0-9]\|GIC-[0-9]')
		vm_await '^E2E-GIC '
		got=$(marker GIC)
		[ "$want" != GIC-0 ] || want=GICv2
		[ "$got" != GIC-0 ] || got=GICv2
		check "$([ -n "$want" ] && [ "$got" = "$want" ]; echo $?)" \
			"boot: the guest's timer interrupts come from the in-kernel ${want:-?} (guest: $(marker GIC))" boot
	fi
	if vm_await '^E2E-READY'; then
		# guest RAM is the memfd (RssShmem): leave it out
		echo "# vbridge resident memory besides guest RAM, 4 vCPUs:" \
			"$(awk '/^Rss(Anon|File):/ { s += $2 } END { print s }' "/proc/$VM_PID/status") KiB"
		vm_input "hello-from-the-host"
	fi
	vm_await '^E2E-END'
	vm_end
	seen '^E2E-GOT hello-from-the-host'
	check $? "boot: $TTY carries console output and input both ways" boot
	seen '^E2E-DMESG-OK'
	check $? "boot: guest kernel log has no BUG/WARNING/Oops" boot
	seen 'reboot: Power down'
	check $? "boot: guest powers off through $POWEROFF" boot
	check "$([ "$VM_STATUS" = 0 ]; echo $?)" "boot: poweroff ends vbridge with status 0 (got $VM_STATUS)" boot
	echo "# boot time: init reached $VM_SEEN s after start; VM ran $(sed -n 's/.*VM ran for //p' "$OUT/boot.err")"
}

# acpi=off: CPUs and interrupts from the MP table; reboot through the i8042.
scenario_mptable() {
	vm_start mptable --cpus 3 --mem 256M --params "quiet acpi=off vbe2e_end=reboot"
	vm_await '^E2E-END'; r=$?
	check $r "acpi=off: the guest boots from the MP table alone" mptable
	check "$([ "$(marker CPUS)" = 0-2 ]; echo $?)" "acpi=off: all 3 vCPUs online from the MP table (online: $(marker CPUS))" mptable
	seen '^E2E-DMESG-OK'
	check $? "acpi=off: guest kernel log has no BUG/WARNING/Oops" mptable
	vm_end
	check "$([ "$VM_STATUS" = 0 ]; echo $?)" "acpi=off: reboot through the i8042 ends vbridge with status 0 (got $VM_STATUS)" mptable
}

# Guest RAM above 4 GiB (past the PCI hole); reboot through the ACPI reset
# register, the kernel's default method.
scenario_high_mem_reboot() {
	vm_start highmem --cpus 2 --mem 3200M --params "quiet vbe2e_end=reboot"
	vm_await '^E2E-END'; r=$?
	check $r "3.1 GiB guest: boots to init" highmem
	top=$(marker RAMTOP)
	check "$(case "$top" in 100000000-*) echo 0 ;; *) echo 1 ;; esac)" \
		"3.1 GiB guest: its top RAM range is above the PCI hole ($top)" highmem
	vm_end
	seen 'reboot: Restarting system' && said 'guest reset'
	check $? "reboot: the ACPI reset register resets the VM" highmem
	check "$([ "$VM_STATUS" = 0 ]; echo $?)" "reboot: reboot ends vbridge with status 0 (got $VM_STATUS)" highmem
}

# 2 vCPUs, the guest reboots: the machine's reset ends the VM.
scenario_reset() {
	vm_start reset --cpus 2 --mem 256M --params "quiet vbe2e_end=reboot"
	vm_await '^E2E-END'; r=$?
	check $r "reset: 2-vCPU guest boots to init" reset
	check "$([ "$(marker CPUS)" = 0-1 ]; echo $?)" "reset: both vCPUs online (online: $(marker CPUS))" reset
	vm_end
	seen 'reboot: Restarting system' && said 'guest reset'
	check $? "reset: $RESET resets the VM" reset
	check "$([ "$VM_STATUS" = 0 ]; echo $?)" "reset: reboot ends vbridge with status 0 (got $VM_STATUS)" reset
}

# arm64: a guest program's LDP/STP and writeback loads/stores on a
# virtio-pci BAR, which KVM cannot decode, emulated by vbridge.
scenario_nisv() {
	vm_start nisv --cpus 1 --mem 256M --rng --params "quiet vbe2e_checks=nisv"
	vm_await '^E2E-END'; r=$?
	check $r "nisv: the guest boots and runs its check" nisv
	seen '^E2E-CHECK nisv ok'
	check $? "nisv: LDP/STP of W and X, pre- and post-indexed writeback and wzr on a BAR read back what they wrote" nisv
	said 'emulated an access without a syndrome' && ! said 'cannot be emulated'
	check $? "nisv: vbridge emulated them (KVM_EXIT_ARM_NISV), refusing none" nisv
	vm_end
	check "$([ "$VM_STATUS" = 0 ]; echo $?)" "nisv: poweroff ends vbridge with status 0 (got $VM_STATUS)" nisv
}

# arm64: Debian's u-boot (--bios, at 0, its device tree at the start of
# RAM) finds the virtio disk, and its distro boot loads the Image and the
# initrd named by extlinux.conf on an ext4 partition and starts Linux.
scenario_uboot() {
	vm_start uboot --bios /root/e2e/u-boot.bin --rwdisk /root/e2e/boot-disk.img \
		--cpus 2 --mem 512M
	vm_await '^E2E-END'; r=$?
	seen '^U-Boot 20' && seen 'Found /extlinux/extlinux.conf'
	check $? "uboot: u-boot starts and its distro boot finds extlinux.conf on the virtio disk" uboot
	check $r "uboot: the kernel it loads reaches init" uboot
	check "$([ "$(marker CPUS)" = 0-1 ]; echo $?)" "uboot: both vCPUs online (online: $(marker CPUS))" uboot
	vm_end
	check "$([ "$VM_STATUS" = 0 ]; echo $?)" "uboot: poweroff ends vbridge with status 0 (got $VM_STATUS)" uboot
	grep -E '^(U-Boot 20|Found /|Retrieving file|Starting kernel)' "$OUT/uboot.out" | sed 's/^/# u-boot: /'
}

# cli WHAT WANT PATTERN ARGS...: `vbridge run ARGS` exits with status WANT
# and says PATTERN (grep -E); a failure says it in one line of stderr.
cli() {
	cl_what=$1 cl_want=$2 cl_pat=$3
	shift 3
	"$VBRIDGE" run "$@" > "$OUT/cli.out" 2> "$OUT/cli.err" < /dev/null
	cl_got=$?
	[ "$cl_got" = "$cl_want" ] && grep -qE -- "$cl_pat" "$OUT/cli.err" "$OUT/cli.out" &&
		{ [ "$cl_want" = 0 ] || [ "$(wc -l < "$OUT/cli.err")" = 1 ]; }
	check $? "cli: $cl_what (status $cl_got, want $cl_want)" cli
}

# Bad options and files: status 2 and one clear error, before any vCPU.
scenario_cli() {
	head -c 100000 /dev/urandom > "$OUT/random.img"
	truncate -s 300M "$OUT/big.img"
	cli "--help documents every option" 0 '--kernel' --help
	for opt in --kernel --initrd --params --cpus --mem --verbose --help; do
		grep -q -- "$opt" "$OUT/cli.out" || nok "cli: --help lacks $opt"
	done
	cli "a missing kernel is one clear error" 2 "cannot open kernel '/nonexistent'" \
		--kernel /nonexistent
	cli "a file that is not a kernel is refused" 2 "$NOT_KERNEL" --kernel "$OUT/random.img"
	cli "an initrd that does not fit in --mem is refused" 2 "initrd .* does not fit" \
		--kernel "$KERNEL" --initrd "$OUT/big.img" --mem 256M
	cli "a missing initrd is one clear error" 2 "cannot open initrd" \
		--kernel "$KERNEL" --initrd /nonexistent
	cli "an unknown option is one clear error" 2 "unknown option '--bogus'" \
		--kernel "$KERNEL" --bogus
	cli "more vCPUs than the machine has is refused" 2 "--cpus '999': give a number of vCPUs from 1 to [0-9]+" \
		--kernel "$KERNEL" --cpus 999
	if [ "$ARCH" = x86_64 ]; then
		cli "too little --mem for the kernel is refused" 2 "needs RAM up to .* raise --mem" \
			--kernel "$KERNEL" --mem 64M
	else
		# Debian's Image fits the 64 MiB minimum: a header asking for 1 GiB
		cli "too little --mem for the kernel is refused" 2 \
			"needs 1024 MiB of RAM to boot but there is 64 MiB: raise --mem" \
			--kernel /root/e2e/huge.img --mem 64M
		{ printf '\037\213\010\000'; head -c 4096 /dev/urandom; } > "$OUT/vmlinuz"
		cli "a compressed vmlinuz is refused, saying what to do" 2 \
			"not an arm64 Image but a gzip-compressed file .*decompress it first" \
			--kernel "$OUT/vmlinuz"
		: > "$OUT/empty.bin"
		cli "an empty --bios file is refused" 2 "the --bios file is empty" --bios "$OUT/empty.bin"
		truncate -s 129M "$OUT/big.bin"
		cli "firmware larger than its 128 MiB slot is refused" 2 \
			"the --bios file is 129 MiB; firmware must fit in the 128 MiB below the devices" \
			--bios "$OUT/big.bin"
		cli "a missing --bios file is one clear error" 2 "cannot open firmware '/nonexistent'" \
			--bios /nonexistent
	fi
	rm -f "$OUT/random.img" "$OUT/big.img" "$OUT/vmlinuz" "$OUT/empty.bin" "$OUT/big.bin"
}

# arm64: a load without a syndrome that vbridge does not decode (LD1 of
# two SIMD registers from MMIO) gets a synchronous external data abort, as
# on hardware, and one warning; the guest's handler reports the exception
# it took on the console and powers off.
scenario_abort() {
	vm_start abort --kernel /root/e2e/abort.img --cpus 1 --mem 64M
	vm_await '^E2E-ABORT '
	vm_end
	ab=$(marker ABORT)
	check "$([ "${ab%% *}" = A ]; echo $?)" \
		"abort: the guest takes a synchronous external data abort (its handler says '$ab', want A and ESR_EL1)" abort
	check "$([ "$(grep -c 'has no syndrome and cannot be emulated: SIMD structure load/store.*the guest gets an external abort' "$OUT/abort.err")" = 1 ]; echo $?)" \
		"abort: vbridge says once which access it could not emulate, and why" abort
	check "$([ "$VM_STATUS" = 0 ]; echo $?)" "abort: the guest then powers off, status 0 (got $VM_STATUS)" abort
}

# A kernel whose first instruction triple-faults: the error path.
scenario_triple_fault() {
	vm_start tiny --kernel /root/e2e/triple-fault.img --cpus 2 --mem 64M
	vm_end
	check "$([ "$VM_STATUS" = 1 ]; echo $?)" "triple fault: vbridge exits with status 1 (got $VM_STATUS)" tiny
	# (on AMD, KVM resets the vCPU on shutdown and vbridge says so)
	said 'vCPU 0: guest triple fault' &&
		{ said 'rip 0000000001000200' || said 'registers at the fault are lost'; }
	check $? "triple fault: vCPU 0's registers at the entry point, or why they are lost" tiny
	check "$([ "$(grep -c 'triple fault' "$OUT/tiny.err")" = 1 ]; echo $?)" \
		"triple fault: one error; the other vCPU stopped quietly" tiny
}

# Executing from the PCI hole: KVM cannot emulate the fetch.
scenario_internal_error() {
	vm_start mmio --kernel /root/e2e/mmio-jump.img --cpus 1 --mem 64M
	vm_end
	check "$([ "$VM_STATUS" = 1 ]; echo $?)" "KVM internal error: vbridge exits with status 1 (got $VM_STATUS)" mmio
	said 'KVM internal error' && said ' rip [0-9a-f]{16}'
	check $? "KVM internal error: the error says so and dumps the vCPU registers" mmio
}

# vcpus_ran PID N: vbridge PID runs N vCPU threads and vCPU 0 has run
# guest code (the guest time of its thread, field 43 of its stat, is not 0)
vcpus_ran() {
	vr_n=0 vr_ran=0
	for t in /proc/"$1"/task/*; do
		case "$(cat "$t/comm" 2>/dev/null)" in
		vcpu0) vr_n=$((vr_n + 1))
		       [ "$(awk '{ print $43 }' "$t/stat" 2>/dev/null)" -gt 0 ] 2>/dev/null && vr_ran=1 ;;
		vcpu*) vr_n=$((vr_n + 1)) ;;
		esac
	done
	[ "$vr_n" = "$2" ] && [ "$vr_ran" = 1 ]
}

# SIGTERM stops a running guest (a spinning one and a halted AP) cleanly;
# with -vv every vCPU's registers are dumped as it stops.  The power
# button is pressed first (x86_64: ACPI's; arm64: the gpio-keys key on the
# PL061): the spinning guest ignores it, so vbridge stops it hard when
# --shutdown-timeout (1 s here) runs out.
scenario_sigterm() {
	vm_start spin --kernel /root/e2e/spin.img --cpus 2 --mem 64M -v \
		--shutdown-timeout 1
	vm_wait "both vCPU threads, vCPU 0 running guest code" vcpus_ran "$VM_PID" 2 ||
		note "sending SIGTERM all the same"
	kill -TERM "$VM_PID"
	vm_end
	check "$([ "$VM_STATUS" = 0 ]; echo $?)" "SIGTERM: vbridge stops a spinning guest with status 0 (got $VM_STATUS)" spin
	said "pressed the guest's power button" &&
		said 'the guest did not power off within 1 s; stopping it'
	check $? "SIGTERM: vbridge presses the power button, then says the grace time ran out" spin
	pc=$(cat /root/e2e/spin.pc)
	[ "$(grep -c '^vCPU [01] registers:' "$OUT/spin.err")" = 2 ] &&
		said "^ (rip|pc) $pc "
	check $? "SIGTERM with -vv: both vCPUs' registers, vCPU 0 at the spinning instruction ($pc)" spin
}

# SIGTERM shuts the guest down cleanly (x86_64: the ACPI power button;
# arm64: KEY_POWER of gpio-keys on line 3 of the PL061, as on QEMU virt):
# the guest writes 1 MiB to its disk without syncing, its stand-in for
# logind (e2e-helper powerkey) syncs and powers off on KEY_POWER, and
# vbridge exits 0 within --shutdown-timeout with the data in the image.
scenario_shutdown() {
	dd if=/dev/zero of="$OUT/shutdown.img" bs=1M count=16 2>/dev/null
	vm_start shutdown --cpus 2 --mem 256M --rwdisk "$OUT/shutdown.img" \
		--shutdown-timeout 30 --params "quiet vbe2e_checks=powerkey"
	vm_await '^powerkey: ready'
	check $? "shutdown: the guest wrote 1 MiB unsynced ($(marker POWERKEY-DIRTY) KiB dirty) and waits for KEY_POWER" shutdown
	data=$(marker POWERKEY-DATA)
	st_t0=$(now)
	kill -TERM "$VM_PID"
	vm_end
	st_took=$(elapsed "$st_t0")
	check "$([ "$VM_STATUS" = 0 ]; echo $?)" "shutdown: vbridge exits with status 0 after SIGTERM (got $VM_STATUS, in $st_took s)" shutdown
	said "pressed the guest's power button" && ! said 'did not power off' &&
		awk -v t="$st_took" 'BEGIN { exit !(t < 30) }'
	check $? "shutdown: the guest powered off within the grace time ($st_took s of 30)" shutdown
	if [ "$ARCH" = arm64 ]; then
		pk_from="gpio-keys' key on the PL061"
		seen '^power key on /dev/input/event[0-9]* \(gpio-keys\)'
	else
		pk_from="the ACPI power button"
		true
	fi && seen '^powerkey: KEY_POWER, syncing'
	check $? "shutdown: the guest got KEY_POWER from $pk_from" shutdown
	file=$(dd if="$OUT/shutdown.img" bs=64k skip=64 count=16 2>/dev/null | md5sum | cut -d' ' -f1)
	check "$([ -n "$data" ] && [ "$file" = "$data" ]; echo $?)" "shutdown: the disk image holds what the guest wrote ($file)" shutdown
}

# All six device types at once: console on hvc0, disks, net, rng, input
# (a host uinput keyboard passed through) and vsock.  The guest's checks
# (guest-checks/) ask for the host's part with "E2E-WANT ..." lines; the
# same checks run with the devices served through the bridge
# (vm-bridge.sh), see lib.sh.
scenario_devices() {
	devices_prepare
	# shellcheck disable=SC2086
	vm_start devices --cpus 2 --mem 512M \
		--serial hardware=serial,num=1,type=stdout,console \
		--serial "hardware=virtio-console,num=1,type=file,path=$DEV_HVC,stdin" \
		$DEV_ARGS --params "quiet vbe2e_checks=hvc,blk,rng,net,input,vsock,hostmap"
	vm_await '^E2E-INIT' && echo "# vbridge resident memory besides guest RAM, 6 devices:" \
		"$(awk '/^Rss(Anon|File):/ { s += $2 } END { print s }' "/proc/$VM_PID/status") KiB"
	devices_serve 3
	vm_end
	devices_verdict devices "$DEV_HVC" devices
	devices_mq devices devices
	devices_msix devices devices devices
	check "$([ "$VM_STATUS" = 0 ]; echo $?)" "devices: poweroff ends vbridge with status 0 (got $VM_STATUS)" devices
}

# vhost-user: a disk qemu-storage-daemon serves and a directory virtiofsd
# shares (lib.sh's vhost_prepare), in-process: the guest's stock
# virtio_blk and virtiofs drivers read and write both (check-vhost), and
# the host finds what they wrote; their calls are the guest's MSI-X
# interrupts, which vbridge does not relay (vhost_calls).
scenario_vhost() {
	vhost_prepare || return 0
	# shellcheck disable=SC2086
	vm_start vhost --cpus 2 --mem 512M $VHOST_ARGS --params "quiet vbe2e_checks=vhost"
	vm_end
	vhost_verdict vhost vhost
	vhost_calls vhost vhost
	check "$([ "$VM_STATUS" = 0 ]; echo $?)" "vhost: poweroff ends vbridge run with status 0 (got $VM_STATUS)" vhost
	vhost_stop vhost
}

# On a terminal (a pty that e2e-helper pty makes, as script(1) would),
# Ctrl-A x stops the VM with status 0 and gives the terminal back as it
# was.  The keys are typed once vbridge said it starts the vCPUs, which it
# does after putting the terminal in raw mode.
scenario_ctrl_a_x() {
	helper=/root/e2e/e2e-helper
	stty_before=$("$helper" pty "stty -g" < /dev/null 2>/dev/null | tr -d '\r')
	rm -f "$OUT/tty.in" "$OUT/tty.out"
	mkfifo "$OUT/tty.in"
	# read-write: opening does not wait for the pty, and typing into it
	# cannot kill this shell with SIGPIPE if the pty is gone
	exec 6<>"$OUT/tty.in"
	"$helper" pty "$VBRIDGE run -v --kernel /root/e2e/spin.img --mem 64M; echo vbridge-status=\$?; stty -g" \
		< "$OUT/tty.in" > "$OUT/tty.out" 2>&1 6>&- &
	tty_pid=$!
	wait_for 60 grep -q 'starting [0-9]* vCPU' "$OUT/tty.out" ||
		note "Ctrl-A x: vbridge did not start its vCPUs within 60 s"
	printf 'abc\001x' >&6
	if ! wait_for 60 sh -c "! kill -0 $tty_pid 2>/dev/null"; then
		note "Ctrl-A x: the pty and vbridge still running 60 s after the keys: killed"
		kill -9 "$tty_pid"
	fi
	wait "$tty_pid"
	exec 6>&-
	tr -d '\r' < "$OUT/tty.out" > "$OUT/tty.txt"
	grep -q 'stopped from the console (Ctrl-A x)' "$OUT/tty.txt" &&
		grep -q '^vbridge-status=0$' "$OUT/tty.txt" &&
		[ -n "$stty_before" ] && grep -qxF -- "$stty_before" "$OUT/tty.txt"
	check $? "Ctrl-A x on a terminal stops the VM (status 0) and restores the terminal"
	grep -qxF -- "$stty_before" "$OUT/tty.txt" ||
		echo "# the terminal before: '$stty_before'"
	grep -q '^vbridge-status=0$' "$OUT/tty.txt" || sed 's/^/#   /' "$OUT/tty.txt"
}

keeper_start

# (the tiny kernels' scenarios run plainly: a triple fault is their point)
# The AVF notes' crosvm command line, unchanged but for the binary and
# the files (the configuration guide's has the same form): global options
# before the command, crosvm's accepted no-ops, three --serial files, a
# positional kernel between two --params.  The guest reports its command
# line and disks on the serial file, writes a line to each virtio console
# and reboots, which --extended-status makes status 32.
scenario_seed() {
	VM_NAME=seed VM_T0=$(now)
	rm -f "$OUT"/seed-*
	truncate -s 16M "$OUT/seed-disk.img"
	"$VBRIDGE" --extended-status --log-level info,disk=off run --disable-sandbox \
		--cid 2051 --no-balloon --cpus 1 \
		--serial=type=file,path=$OUT/seed-console.log,hardware=serial,num=1 \
		--serial=type=file,path=$OUT/seed-hvc0.log,hardware=virtio-console,num=1 \
		--serial=type=file,path=$OUT/seed-vm.log,hardware=virtio-console,num=3 \
		--disk "$OUT/seed-disk.img" --initrd "$INITRD" \
		--params "console=$TTY quiet vbe2e_checks=seed vbe2e_end=reboot" "$KERNEL" \
		--params crashkernel=17M < /dev/null > "$OUT/seed.out" 2> "$OUT/seed.err" &
	VM_PID=$!
	echo seed >> "$OUT/started"
	vm_end
	con=$OUT/seed-console.log
	tr -d '\r' < "$con" 2>/dev/null | grep '^E2E-' | sed 's/^/# /'
	check "$([ "$VM_STATUS" = 32 ]; echo $?)" \
		"seed: the guest's reboot ends vbridge --extended-status with status 32 (got $VM_STATUS)" seed
	tr -d '\r' < "$con" | grep -q '^E2E-END reboot'
	check $? "seed: the guest's console is the --serial file of hardware=serial" seed
	cmdline=$(tr -d '\r' < "$con" | sed -n 's/^E2E-CMDLINE //p')
	case " $cmdline " in
	*" console=$TTY "*" crashkernel=17M "*) r=0 ;;
	*) r=1 ;;
	esac
	check $r "seed: both --params reach the kernel, in order, around the positional kernel ($cmdline)" seed
	tr -d '\r' < "$con" | grep -q '^E2E-DISKS vda $'
	check $? "seed: the guest has the --disk as vda" seed
	tr -d '\r' < "$OUT/seed-hvc0.log" 2>/dev/null | grep -qx 'E2E-HVC-OUT hvc0' &&
		tr -d '\r' < "$OUT/seed-vm.log" 2>/dev/null | grep -qx 'E2E-HVC-OUT hvc1'
	r=$?
	[ $r = 0 ] || for f in seed-hvc0.log seed-vm.log; do
		echo "# $f: $(head -c 300 "$OUT/$f" 2>&1 | od -c | head -n 5 | tr '\n' ' ')"
	done
	check $r "seed: hvc0 writes the num=1 file, hvc1 the num=3 one" seed
}

scenario_tiny() {
	t0=$(now)
	scenario_cli
	if [ "$ARCH" = x86_64 ]; then
		scenario_triple_fault
		scenario_internal_error
	else
		scenario_abort
	fi
	scenario_sigterm
	scenario_ctrl_a_x
	echo "# the tiny kernels took $(elapsed "$t0") s"
}

if [ $# -eq 0 ]; then
	if [ "$ARCH" = arm64 ]; then
		set -- tiny boot reset nisv uboot shutdown devices vhost seed
	else
		set -- tiny boot mptable highmem shutdown devices vhost seed
	fi
fi
# Checks this script reports, so run-e2e can tell when some never ran.
expect=0
for s in "$@"; do
	case "$s" in
	tiny) expect=$((expect + TINY_CHECKS)) ;;
	boot) expect=$((expect + BOOT_CHECKS)) ;;
	mptable) expect=$((expect + 4)) ;;
	highmem) expect=$((expect + 4)) ;;
	reset) expect=$((expect + 4)) ;;
	nisv) expect=$((expect + 4)) ;;
	uboot) expect=$((expect + 4)) ;;
	shutdown) expect=$((expect + 5)) ;;
	devices) expect=$((expect + 21)) ;;
	seed) expect=$((expect + 5)) ;;
	vhost) if [ -x "$VU_QSD" ] && [ -x "$VU_FSD" ]; then
		expect=$((expect + 10))
	else
		expect=$((expect + 1))
	fi ;;
	*) echo "vm-e2e.sh: unknown scenario '$s'" >&2; exit 2 ;;
	esac
done
echo "# e2e-expect $expect"
for s in "$@"; do
	note "$s: starting, $(elapsed "$RUN_START") s into the run"
	case "$s" in
	tiny) scenario_tiny ;;
	boot) run --again-on-triple-fault scenario_boot ;;
	mptable) run --again-on-triple-fault scenario_mptable ;;
	highmem) run --again-on-triple-fault scenario_high_mem_reboot ;;
	reset) run --again-on-triple-fault scenario_reset ;;
	nisv) run --again-on-triple-fault scenario_nisv ;;
	uboot) run --again-on-triple-fault scenario_uboot ;;
	shutdown) run --again-on-triple-fault scenario_shutdown ;;
	devices) run --again-on-triple-fault scenario_devices ;;
	seed) run --again-on-triple-fault scenario_seed ;;
	vhost) run --again-on-triple-fault scenario_vhost ;;
	esac
done
keeper_stop
exit $status
