#!/bin/bash
# TAP test of `make install`: files, modes, placeholders, and the systemd
# units as systemd itself parses them (systemd-analyze verify).
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
echo "1..$n"
exit $failed
