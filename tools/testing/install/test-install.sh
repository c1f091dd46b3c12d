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
rtdir=$(sed -n 's/^RuntimeDirectory=//p' "$dest/units/vbridge-devices@.service")
grep -q "^Environment=VBRIDGE_STATE_DIR=%t/$rtdir\$" "$dest/units/vbridge-devices@.service" &&
	! grep -q '^Environment=VBRIDGE_STATE_DIR=/tmp' "$dest/units/vbridge-devices@.service"
ok $? "device provider's state dir (default vsock socket) is its RuntimeDirectory, not the private /tmp"
[ -d "$dest/etc/virtio-bridge/overlays" ] && [ -d "$dest/etc/virtio-bridge/devices" ]
ok $? "configuration folders created"
[ -f "$dest/usr/share/doc/virtio-bridge/index.rst" ]
ok $? "documentation installed"
if command -v systemd-analyze >/dev/null; then
	cp "$dest/units/vbridge-devices@.service" "$dest/units/vbridge-devices@vm3.service"
	out=$(systemd-analyze verify "$dest/units/virtio-bridge.service" \
		"$dest/units/vbridge-devices@vm3.service" 2>&1)
	rc=$?
	[ $rc = 0 ] && [ -z "$out" ]
	ok $? "systemd-analyze verify accepts both units without a warning"
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
