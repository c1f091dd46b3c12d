#!/bin/sh
# demo.sh: the main job, shown (make demo).  Runs inside the test VM
# (run-bridge --demo): loads virtio_bridge.ko, declares the x86_64 example
# device, starts `vbridge devices` on its node and boots the kit's kernel
# with `vbridge run --vmid 3`; the guest lists its PCI functions and uses
# the bridged disk and rng through its own drivers, then powers off.
VBRIDGE=/root/vbridge
OUT=/tmp/demo
NODE=/dev/virtio/vm3/cvm2rb-pci
mkdir -p "$OUT"
say() { printf '\n=== %s\n' "$*"; }
fail() { echo "demo: FAILED: $*"; exit 1; }

say "insmod virtio_bridge.ko; vbridge ctl load x86_64-vm3-cvm2rb-pci.dtbo"
insmod /root/virtio_bridge.ko || fail "cannot load the module"
"$VBRIDGE" ctl load /root/e2e/vm3.dtbo || fail "cannot declare the device"
"$VBRIDGE" ctl events > "$OUT/events.txt" 2>&1 &
events=$!

say "vbridge devices --pci-bus-devfd=$NODE --rwdisk disk.img --disk ro.img --rng --host_ip 192.168.77.1"
dd if=/dev/zero of="$OUT/disk.img" bs=1M count=16 2>/dev/null
dd if=/dev/urandom of="$OUT/ro.img" bs=64k count=4 2>/dev/null
printf 'vbe2e-host-data!' | dd of="$OUT/disk.img" conv=notrunc 2>/dev/null
"$VBRIDGE" devices --pci-bus-devfd="$NODE" --state-dir "$OUT" \
	--rwdisk "$OUT/disk.img" --disk "$OUT/ro.img" --rng --host_ip 192.168.77.1 --netmask 255.255.255.0 &
daemon=$!
i=0
until "$VBRIDGE" ctl status 2>/dev/null | grep -q 'ready'; do
	i=$((i + 1))
	[ $i -lt 300 ] || fail "the provider never declared itself ready"
	sleep 0.1
done
"$VBRIDGE" ctl status

say "vbridge run --vmid 3 --kernel bzImage --initrd guest.gz (the guest's console follows)"
"$VBRIDGE" run --vmid 3 --kernel /root/e2e/bzImage --initrd /root/e2e/guest.gz \
	--cpus 2 --mem 512M --params "vbe2e_checks=pci,blk,rng" < /dev/null |
	tee "$OUT/console.txt"
tr -d '\r' < "$OUT/console.txt" > "$OUT/console"

say "vbridge ctl status, after the guest powered off"
"$VBRIDGE" ctl status
kill "$daemon"
wait "$daemon"
# the provider's exit is the last event: wait for it before stopping ctl events
i=0
until grep -q '^backend-gone ' "$OUT/events.txt"; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "demo: no backend-gone event 10 s after the provider ended"; break; }
	sleep 0.1
done
kill "$events"
say "vbridge ctl events, all of it"
cat "$OUT/events.txt"

say "verdict"
grep -q '^E2E-PCI 0000:00:1[0-9a-f]\.0 1af4:.* virtio-pci' "$OUT/console" ||
	fail "the guest has no virtio function in a bridged slot"
for c in blk-read blk-ro rng; do
	grep -q "^E2E-CHECK $c ok" "$OUT/console" || fail "guest check $c"
done
wrote=$(sed -n 's/^E2E-BLK-WROTE //p' "$OUT/console")
back=$(dd if="$OUT/disk.img" bs=64k skip=64 count=16 2>/dev/null | md5sum | cut -d' ' -f1)
[ -n "$wrote" ] && [ "$wrote" = "$back" ] || fail "the guest's disk write is not on the image"
"$VBRIDGE" ctl unload /root/e2e/vm3.dtbo
rmmod virtio_bridge || fail "the module does not unload"
echo "demo: OK: the guest's disk and rng were served by vbridge devices through virtio_bridge.ko"
