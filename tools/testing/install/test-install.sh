#!/bin/bash
# TAP test of `make install`: files, modes, placeholders, the systemd
# units as systemd itself parses them (systemd-analyze verify), and the
# manual pages against the --help texts they are made from.
set -uo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$top"
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }

# BINDIR points at the real build so systemd can check ExecStart.
make -s install DESTDIR="$dest" BINDIR="$top/build" UNITDIR=/units \
	UDEVRULESDIR=/rules PREFIX=/usr >/dev/null 2>&1
ok $? "make install DESTDIR succeeds"
[ -x "$dest$top/build/vbridge" ] && [ "$(stat -c %a "$dest$top/build/vbridge")" = 755 ]
ok $? "vbridge installed with mode 0755"
[ "$(stat -c %a "$dest/rules/60-virtio-bridge.rules" 2>/dev/null)" = 644 ]
ok $? "udev rule installed with mode 0644"
grep -q '^KERNEL=="virtio-bridge", SUBSYSTEM=="misc", GROUP="kvm", MODE="0660"$' "$dest/rules/60-virtio-bridge.rules" &&
	! grep -v '^#' "$dest/rules/60-virtio-bridge.rules" | grep -q 'SUBSYSTEM=="virtio-bridge"'
ok $? "udev rule gives the frontend to group kvm and leaves each backend node the owner and mode the module gives it"
! grep -q '@[A-Z]*@' "$dest"/units/*.service
ok $? "no @PLACEHOLDER@ left in the units"
grep -q '^Restart=always$' "$dest/units/vbridge-devices@.service"
ok $? "device provider unit restarts always"
grep -q '^RequiresMountsFor=/var/lib/virtio-bridge/%i$' "$dest/units/vbridge-devices@.service"
ok $? "device provider unit is ordered after its disk images' file system"
grep -q '^RuntimeDirectoryPreserve=yes$' "$dest/units/vbridge-devices@.service" &&
	grep -q '^Environment=VBRIDGE_STATE_DIR=%t/vbridge/%i$' "$dest/units/vbridge-devices@.service"
ok $? "device provider keeps its in-flight records where ProtectSystem lets it write"
# The default vsock socket goes to $VBRIDGE_STATE_DIR: it must be the unit's
# RuntimeDirectory (%t/...), visible to host programs, never under the
# unit's private /tmp.
for u in vbridge-devices@ vbridge-run@; do
	rtdir=$(sed -n 's/^RuntimeDirectory=//p' "$dest/units/$u.service")
	[ -n "$rtdir" ] &&
		grep -q "^Environment=VBRIDGE_STATE_DIR=%t/$rtdir\$" "$dest/units/$u.service" &&
		! grep -q '^Environment=VBRIDGE_STATE_DIR=/tmp' "$dest/units/$u.service"
	ok $? "$u.service's state dir (default vsock socket) is its RuntimeDirectory, not the private /tmp"
done

# --- vbridge-run@.service: a VM stopped through its power button ---------
run_unit=$dest/units/vbridge-run@.service
unit_value() {	# UNIT KEY: the key's last value (the one systemd uses)
	sed -n "s/^$2=//p" "$1" | tail -n 1
}
# The grace time the unit gives the guest: ExecStart's --shutdown-timeout,
# a number or a variable the unit's Environment= sets.
shutdown_timeout_of() {	# UNIT
	local v var
	v=$(unit_value "$1" ExecStart | grep -oE -- '--shutdown-timeout[= ][^ ]+' |
		sed -E 's/^--shutdown-timeout[= ]//')
	case $v in
	'${'*'}') var=${v#??}; var=${var%?} ;;
	'$'*) var=${v#?} ;;
	esac
	# (Environment= adds up: the variable's last assignment counts)
	[ -n "${var:-}" ] && v=$(sed -n "s/^Environment=$var=//p" "$1" | tail -n 1)
	case $v in ''|*[!0-9]*) return 1 ;; esac
	echo "$v"
}
timeout_stop_of() {	# UNIT: TimeoutStopSec in whole seconds
	local t us
	t=$(unit_value "$1" TimeoutStopSec)
	case $t in
	'') return 1 ;;
	*[!0-9]*)
		us=$(systemd-analyze timespan "$t" 2>/dev/null | sed -n 's/^ *μs: //p')
		[ -n "$us" ] || return 1
		echo $((us / 1000000)) ;;
	*) echo "$t" ;;
	esac
}
# systemd's SIGKILL must come well after the guest's grace time: 10 s for
# tearing the VM down (guest RAM, the bridge's VMSTOP) once it ran out.
stop_outlasts_grace() {	# UNIT
	local g t
	g=$(shutdown_timeout_of "$1") && t=$(timeout_stop_of "$1") &&
		[ "$g" -le 3600 ] && [ "$t" -ge $((g + 10)) ]
}
[ "$(stat -c %a "$run_unit" 2>/dev/null)" = 644 ] &&
	grep -q '^EnvironmentFile=/etc/virtio-bridge/run/%i.conf$' "$run_unit" &&
	unit_value "$run_unit" ExecStart | grep -q '^/[^ ]*/vbridge run .*\$VBRIDGE_RUN_ARGS$'
ok $? "vbridge-run@.service installed with mode 0644, runs vbridge run with the instance's VBRIDGE_RUN_ARGS"
[ "$(unit_value "$run_unit" KillSignal)" = SIGTERM ] &&
	[ "$(unit_value "$run_unit" KillMode)" = mixed ] &&
	[ "$(unit_value "$run_unit" SendSIGKILL)" = yes ]
ok $? "vbridge-run@.service: systemctl stop sends SIGTERM to vbridge alone, SIGKILL only after the stop timeout"
grace=$(shutdown_timeout_of "$run_unit") stop=$(timeout_stop_of "$run_unit")
stop_outlasts_grace "$run_unit"
ok $? "vbridge-run@.service: TimeoutStopSec (${stop:-?} s) is at least 10 s above the guest's --shutdown-timeout (${grace:-?} s)"
# The check itself: a stop timeout lowered below the grace time, or a
# grace time raised above it, must fail it.
sed 's/^TimeoutStopSec=.*/TimeoutStopSec=20/' "$run_unit" > "$dest/short-stop.service"
sed 's/^\(Environment=VBRIDGE_SHUTDOWN_TIMEOUT=\).*/\140/' "$run_unit" > "$dest/long-grace.service"
sed 's/^TimeoutStopSec=.*/TimeoutStopSec=1min 30s/' "$run_unit" > "$dest/long-stop.service"
! stop_outlasts_grace "$dest/short-stop.service" && ! stop_outlasts_grace "$dest/long-grace.service" &&
	stop_outlasts_grace "$dest/long-stop.service"
ok $? "the check fails a unit with TimeoutStopSec=20 or a 40 s grace time, passes TimeoutStopSec=1min 30s"
[ "$(unit_value "$run_unit" Restart)" = on-failure ] &&
	[ "$(unit_value "$run_unit" RestartPreventExitStatus)" = 2 ]
ok $? "vbridge-run@.service restarts a crashed VM only (not one that powered off, status 0, nor a wrong command line, 2)"
grep -q '^Wants=virtio-bridge.service$' "$run_unit" && ! grep -q '^Requires=' "$run_unit" &&
	grep -q '^After=.*\bvirtio-bridge\.service\b' "$run_unit" &&
	grep -q '^After=.*\bvbridge-devices@%i\.service\b' "$run_unit"
ok $? "vbridge-run@.service starts after the module (without requiring it) and its provider, and stops before them"
# Both units use /run/vbridge/INSTANCE; systemd does not count its
# users, so a unit that does not preserve it deletes the other's files
# (the provider's in-flight records) when it stops.
[ "$(unit_value "$run_unit" RuntimeDirectory)" != \
	"$(unit_value "$dest/units/vbridge-devices@.service" RuntimeDirectory)" ] ||
	{ [ "$(unit_value "$run_unit" RuntimeDirectoryPreserve)" = yes ] &&
	  [ "$(unit_value "$dest/units/vbridge-devices@.service" RuntimeDirectoryPreserve)" = yes ]; }
ok $? "a RuntimeDirectory the VM and its provider share is preserved by both"
policy=$(unit_value "$run_unit" DevicePolicy)
{ [ -z "$policy" ] || [ "$policy" = auto ]; } || (
	for d in /dev/kvm /dev/virtio-bridge /dev/net/tun; do
		grep -q "^DeviceAllow=$d rw\$" "$run_unit" || exit 1
	done)
ok $? "vbridge-run@.service may open /dev/kvm, /dev/virtio-bridge and /dev/net/tun (DevicePolicy=${policy:-auto})"
grep -q '^ReadWritePaths=/var/lib/virtio-bridge/%i$' "$run_unit" &&
	grep -q '^RequiresMountsFor=/var/lib/virtio-bridge/%i$' "$run_unit" &&
	[ "$(unit_value "$run_unit" CapabilityBoundingSet)" = CAP_NET_ADMIN ] &&
	[ "$(unit_value "$run_unit" NoNewPrivileges)" = yes ]
ok $? "vbridge-run@.service writes only its images and keeps only CAP_NET_ADMIN"

[ -d "$dest/etc/virtio-bridge/overlays" ] && [ -d "$dest/etc/virtio-bridge/devices" ] &&
	[ -d "$dest/etc/virtio-bridge/run" ]
ok $? "configuration folders created"
[ -f "$dest/usr/share/doc/virtio-bridge/index.rst" ]
ok $? "documentation installed"
if command -v systemd-analyze >/dev/null; then
	cp "$dest/units/vbridge-devices@.service" "$dest/units/vbridge-devices@vm3.service"
	cp "$dest/units/vbridge-run@.service" "$dest/units/vbridge-run@vm3.service"
	out=$(systemd-analyze verify "$dest/units/virtio-bridge.service" \
		"$dest/units/vbridge-devices@vm3.service" \
		"$dest/units/vbridge-run@vm3.service" 2>&1)
	rc=$?
	[ $rc = 0 ] && [ -z "$out" ]
	ok $? "systemd-analyze verify accepts the three units without a warning"
	[ -n "$out" ] && echo "$out" | sed 's/^/# /'
else
	n=$((n + 1)); echo "ok $n - systemd-analyze verify # SKIP systemd-analyze not installed"
fi

# The manual pages: installed, clean for man(1) and groff, and saying every
# option their --help texts print.  The pages are made from those texts
# (tools/man/mkman), so this fails when the generator drops an option or
# a page is not made again from the binary it documents.
mandir="$dest/usr/share/man"
vb="$top/build/vbridge"
pages="man1/vbridge.1 man1/vbridge-run.1 man1/vbridge-devices.1 man8/vbridge-ctl.8 man4/virtio_bridge.4"
for p in $pages; do
	[ "$(stat -c %a "$mandir/$p" 2>/dev/null)" = 644 ]
	ok $? "$p installed with mode 0644"
	lexgrog "$mandir/$p" >/dev/null 2>&1
	ok $? "$p: its NAME line parses (lexgrog)"
	out=$(MANWIDTH=80 man --warnings -l "$mandir/$p" 2>&1 >/dev/null)
	[ -z "$out" ]
	ok $? "$p: man --warnings -l says nothing"
	[ -n "$out" ] && echo "$out" | head -5 | sed 's/^/# /'
	out=$(groff -t -ww -man -z "$mandir/$p" 2>&1)
	[ -z "$out" ]
	ok $? "$p: groff -ww -man -z says nothing"
	[ -n "$out" ] && echo "$out" | head -5 | sed 's/^/# /'
done

# Every option a help text prints ("-n", "--dry-run", "--pci-bus-devfd")
# that the page's text (wide lines, so none breaks) does not contain.
options_of() {
	grep -oE -- '(^|[^A-Za-z0-9_-])--?[A-Za-z][A-Za-z0-9_-]*' |
		sed 's/^[^-]*//' | sort -u
}
missing_options() {	# HELP-TEXT-FILE PAGE
	local text o
	text=$(groff -t -man -Tascii -rLL=500n -P-cbou "$2" 2>/dev/null)
	options_of < "$1" | while read -r o; do
		grep -qF -- "$o" <<< "$text" || echo "$o"
	done
}
helps=$(mktemp -d)
trap 'rm -rf "$dest" "$helps"' EXIT
"$vb" --help > "$helps/vbridge.1"
"$vb" run --help > "$helps/vbridge-run.1"
"$vb" devices --help > "$helps/vbridge-devices.1"
{
	"$vb" ctl --help
	for c in $("$vb" ctl --help | awk '/^Commands:$/ { on = 1; next }
			on && /^  [a-z]/ { print $1; next } { on = on && NF }'); do
		"$vb" ctl "$c" --help
	done
} > "$helps/vbridge-ctl.8"
for h in vbridge.1 vbridge-run.1 vbridge-devices.1 vbridge-ctl.8; do
	p=$(echo $pages | tr ' ' '\n' | grep "/$h\$")
	n_opts=$(options_of < "$helps/$h" | wc -l)
	miss=$(missing_options "$helps/$h" "$mandir/$p")
	[ "$n_opts" -gt 2 ] && [ -z "$miss" ]
	ok $? "$p: each of the $n_opts options of its --help is in the page"
	[ -n "$miss" ] && echo "# missing:" $miss
done
# The check itself: a page that lost an option must fail it.
grep -v 'cpus' "$mandir/man1/vbridge-run.1" > "$helps/stale.1"
[ "$(missing_options "$helps/vbridge-run.1" "$helps/stale.1")" = "--cpus" ]
ok $? "the check finds --cpus missing from a vbridge-run.1 without it"

echo "1..$n"
exit $failed
