# shellcheck shell=bash
# guest-image.sh: the second-level guest of the end-to-end tests, built on
# the host (run-e2e, run-bridge).  Source it after initramfs.sh.
#
#   e2e_guest_image WORK KIT   builds WORK/e2e-helper (static) and
#                              WORK/guest.gz: busybox, guest-init, the
#                              guest checks, the helper and the kit's
#                              virtio modules with their dependencies.
#                              Prints "not ok" lines and fails on error.

e2e_guest_image() {
	local work=$1 kit=$2 here kitroot release groot m
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	kitroot=$("$here/../vm/kernel-kit" -q --print root "$kit") || return 1
	release=$("$here/../vm/kernel-kit" -q --print release "$kit") || return 1
	if ! ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static \
		-o "$work/e2e-helper" "$here/e2e-helper.c" 2> "$work/helper.err"; then
		echo "not ok - e2e $kit: cannot build e2e-helper:"
		sed 's/^/#   /' "$work/helper.err"
		return 1
	fi
	groot="$work/guest-root"
	rm -rf "$groot"
	mkdir -p "$groot"/{bin,sbin,etc,proc,sys,dev,tmp,run,e2e}
	cp /bin/busybox "$groot/bin/busybox"
	cp "$here/guest-init" "$groot/init"
	chmod +x "$groot/init"
	cp "$here"/guest-checks/check-* "$work/e2e-helper" "$groot/e2e/"
	for m in virtio_pci virtio_blk virtio_net virtio_console virtio_rng virtio_input \
		 evdev vmw_vsock_virtio_transport; do
		if ! initramfs_module "$groot" "$kitroot" "$release" "$m"; then
			echo "not ok - e2e $kit: guest module $m missing"
			return 1
		fi
	done
	initramfs_pack "$groot" "$work/guest.gz"
}
