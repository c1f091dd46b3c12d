# shellcheck shell=bash
# guest-image.sh: the second-level guest of the end-to-end tests, built on
# the host (run-e2e, run-bridge).  Source it after initramfs.sh.
#
#   e2e_guest_image WORK KIT   builds WORK/e2e-helper (static) and
#                              WORK/guest.gz: busybox, guest-init, the
#                              guest checks, the helper and the kit's
#                              virtio modules with their dependencies, for
#                              the kit's architecture (arm64: Debian's
#                              cross compiler and busybox-static:arm64).
#                              Prints "not ok" lines and fails on error.
#   mk_tiny_image FILE CODE    a bzImage that runs CODE (hex) at once
#   mk_tiny_arm64 FILE PROGRAM an arm64 Image of tiny-arm64.S's PROGRAM
#   mk_boot_disk FILE KERNEL INITRD APPEND
#                              a disk firmware's distro boot boots from

e2e_guest_image() {
	local work=$1 kit=$2 here kitroot release groot m arch cc busybox
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	kitroot=$("$here/../vm/kernel-kit" -q --print root "$kit") || return 1
	release=$("$here/../vm/kernel-kit" -q --print release "$kit") || return 1
	arch=$("$here/../vm/kernel-kit" -q --print arch "$kit") || return 1
	cc=${CC:-cc} busybox=/bin/busybox
	if [ "$arch" = arm64 ]; then
		cc=aarch64-linux-gnu-gcc
		busybox=$("$here/../vm/kernel-kit" -q --print busybox "$kit") || return 1
	fi
	if ! "$cc" -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static \
		-o "$work/e2e-helper" "$here/e2e-helper.c" 2> "$work/helper.err"; then
		echo "not ok - e2e $kit: cannot build e2e-helper:"
		sed 's/^/#   /' "$work/helper.err"
		return 1
	fi
	groot="$work/guest-root"
	rm -rf "$groot"
	mkdir -p "$groot"/{bin,sbin,etc,proc,sys,dev,tmp,run,e2e}
	cp "$busybox" "$groot/bin/busybox"
	cp "$here/guest-init" "$groot/init"
	chmod +x "$groot/init"
	cp "$here"/guest-checks/check-* "$work/e2e-helper" "$groot/e2e/"
	for m in virtio_pci virtio_blk virtio_net virtio_console virtio_rng virtio_input \
		 evdev vmw_vsock_virtio_transport button gpio_keys virtiofs; do
		if ! initramfs_module "$groot" "$kitroot" "$release" "$m"; then
			echo "not ok - e2e $kit: guest module $m missing"
			return 1
		fi
	done
	initramfs_pack "$groot" "$work/guest.gz"
}

# vhost_backend_args ARCH DIR [SCENARIO...]: vm-run's -a options that bring
# Debian's vhost-user back-ends (qemu-storage-daemon and virtiofsd, package
# qemu-system-common) into the test VM at their own paths, when the vhost
# scenario runs: with no scenario named (all of them) or vhost among them.
# x86_64: the host's binaries.  arm64: Debian's arm64 ones (kernel-kit
# vhost-arm64), staged with their libraries in DIR, which it empties
# first.  One option and its value per line; a failure to stage is said
# on stderr, and the scenario then reports the back-ends as missing.
vhost_backend_args() {
	local arch=$1 dir=$2 b kk root libdirs
	shift 2
	[ $# = 0 ] || [[ " $* " == *" vhost "* ]] || return 0
	if [ "$arch" = x86_64 ]; then
		for b in /usr/bin/qemu-storage-daemon /usr/lib/qemu/virtiofsd; do
			[ -x "$b" ] && printf -- '-a\n%s:%s\n' "$b" "$b"
		done
		return 0
	fi
	kk="$(dirname "${BASH_SOURCE[0]}")/../vm/kernel-kit"
	if ! root=$("$kk" -q --print root vhost-arm64) ||
	   ! libdirs=$("$kk" -q --print libdirs vhost-arm64); then
		echo "vhost: cannot fetch Debian's arm64 qemu-storage-daemon and virtiofsd (kernel-kit vhost-arm64)" >&2
		return 0
	fi
	rm -rf "$dir"
	if ! (
		INITRAMFS_ARM64_LIBDIRS="$libdirs $INITRAMFS_ARM64_LIBDIRS"
		for b in /usr/bin/qemu-storage-daemon /usr/lib/qemu/virtiofsd; do
			initramfs_copy "$dir" "$root$b" "$b" || exit 1
		done
	); then
		echo "vhost: cannot stage the arm64 back-ends' libraries in $dir" >&2
		return 0
	fi
	printf -- '-a\n%s:/\n' "$dir"
}

# tiny_put FILE OFFSET HEXBYTES: write bytes at an offset
tiny_put() { printf "$(echo "$3" | sed 's/\(..\)/\\x\1/g')" | dd of="$1" bs=1 seek=$(($2)) conv=notrunc status=none; }

# mk_tiny_image FILE CODE: boot protocol 2.15 header, 64-bit entry, one
# setup sector, and CODE (hex) at the 64-bit entry (file offset 1024 +
# 0x200).  "0f0b" (ud2) with the boot IDT empty is #UD -> #GP -> #DF ->
# triple fault; "ebfe" (jmp .) spins.  Either boots in no time.
mk_tiny_image() {
	local f=$1
	head -c 8192 /dev/zero > "$f"
	tiny_put "$f" 0x1f1 01			# setup_sects
	tiny_put "$f" 0x1f4 00010000			# syssize: 0x100 paragraphs
	tiny_put "$f" 0x1fe 55aa			# boot_flag
	tiny_put "$f" 0x200 eb6a			# jump over the header
	tiny_put "$f" 0x202 48647253			# "HdrS"
	tiny_put "$f" 0x206 0f02			# version 2.15
	tiny_put "$f" 0x211 01			# loadflags: LOADED_HIGH
	tiny_put "$f" 0x22c ffffff7f			# initrd_addr_max
	tiny_put "$f" 0x230 00002000			# kernel_alignment
	tiny_put "$f" 0x234 01			# relocatable
	tiny_put "$f" 0x236 0100			# xloadflags: XLF_KERNEL_64
	tiny_put "$f" 0x238 ff070000			# cmdline_size
	tiny_put "$f" 0x258 0000000100000000		# pref_address 16 MiB
	tiny_put "$f" 0x260 00001000			# init_size 1 MiB
	tiny_put "$f" $((1024 + 0x200)) "$2"
}

# mk_tiny_arm64 FILE PROGRAM: tiny-arm64.S assembled with -DTINY_PROGRAM
# by Debian's cross toolchain (gcc-aarch64-linux-gnu), as a raw Image;
# FILE.sym lists its symbols' offsets (nm).  Errors go to stderr.
mk_tiny_arm64() {
	local here
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	aarch64-linux-gnu-gcc -nostdlib -c "-DTINY_$2" -o "$1.o" "$here/tiny-arm64.S" &&
		aarch64-linux-gnu-objcopy -O binary "$1.o" "$1" &&
		aarch64-linux-gnu-nm "$1.o" > "$1.sym" &&
		rm -f "$1.o"
}

# le32hex N: N as 4 little-endian bytes, in hex
le32hex() { printf '%08x' "$1" | sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/'; }

# mk_boot_disk FILE KERNEL INITRD APPEND: a disk as firmware's distro boot
# finds one: an MBR with one bootable Linux partition (type 0x83) from
# 1 MiB, ext4, holding /Image, /initrd.gz and /extlinux/extlinux.conf that
# boots them with APPEND.  mkfs.ext4 -d fills it: no loop device, no root.
mk_boot_disk() {
	local out=$1 kernel=$2 initrd=$3 append=$4 root="$1.d" mib
	rm -rf "$root"
	mkdir -p "$root/extlinux"
	cp "$kernel" "$root/Image"
	cp "$initrd" "$root/initrd.gz"
	printf 'default linux\ntimeout 0\nlabel linux\n\tkernel /Image\n\tinitrd /initrd.gz\n\tappend %s\n' \
		"$append" > "$root/extlinux/extlinux.conf"
	mib=$(($(du -sm "$root" | cut -f1) + 16))
	mkfs.ext4 -q -F -L vbe2e-boot -d "$root" "$out.fs" "${mib}M" || return 1
	{ head -c 1048576 /dev/zero; cat "$out.fs"; } > "$out"
	rm -rf "$root" "$out.fs"
	tiny_put "$out" 446 80feffff83feffff	# bootable, CHS unused, Linux
	tiny_put "$out" 454 "$(le32hex 2048)"	# first sector
	tiny_put "$out" 458 "$(le32hex $((mib * 2048)))"	# sectors
	tiny_put "$out" 510 55aa
}
