# shellcheck shell=bash
# initramfs.sh: shell functions that build busybox initramfs images from the
# kernel kit, shared by vm-run (the test VM) and the end-to-end tests (the
# second-level guest).  Source it; every function takes the image's root
# folder first.
#
#   initramfs_copy ROOT SRC DST     copy a file or folder to ROOT/DST; ELF
#                                   programs bring their shared libraries
#   initramfs_libs ROOT FILE        the shared libraries (and loader) of FILE;
#                                   of an arm64 program (which ldd cannot run
#                                   here) from this machine's arm64 libraries:
#                                   Debian's PKG:arm64 packages and the cross
#                                   toolchain's libc (libc6-dev-arm64-cross)
#   initramfs_module ROOT KITROOT RELEASE NAME
#                                   module NAME of kernel RELEASE unpacked in
#                                   KITROOT, and what it depends on, flattened
#                                   into ROOT/lib/modules (decompressed for
#                                   busybox insmod) and appended in load order
#                                   to ROOT/etc/modules.order; built-in
#                                   modules need nothing.  Fails with a
#                                   message when NAME is not in that kernel.
#   initramfs_pack ROOT OUT         ROOT as a gzip'd newc cpio at OUT

# The folders an arm64 library is looked for in, and where it goes.
INITRAMFS_ARM64_LIBDIRS="/lib/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/aarch64-linux-gnu/lib"

# initramfs_arm64_lib ROOT FILE: FILE's ELF interpreter and the libraries
# its DT_NEEDED entries name, and theirs, into ROOT/lib/aarch64-linux-gnu
# (where the arm64 loader looks), read with readelf.  A library found in
# one of FILE's run paths (DT_RUNPATH or DT_RPATH, e.g. librados2's
# /usr/lib/aarch64-linux-gnu/ceph), looked for under the root of each
# folder of INITRAMFS_ARM64_LIBDIRS, keeps that path in ROOT.
initramfs_arm64_lib() {
	local root=$1 file=$2 interp lib d found dest have r pre runpath
	interp=$(readelf -lW "$file" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
	if [ -n "$interp" ] && [ ! -e "$root$interp" ]; then
		found=""
		for d in "$(dirname "$interp")" $INITRAMFS_ARM64_LIBDIRS; do
			[ -e "$d/$(basename "$interp")" ] && { found=$d/$(basename "$interp"); break; }
		done
		[ -n "$found" ] || { echo "initramfs: $file needs the arm64 loader $interp: not on this machine" >&2; return 1; }
		mkdir -p "$(dirname "$root$interp")"
		cp -L "$found" "$root$interp"
	fi
	runpath=$(readelf -dW "$file" 2>/dev/null | sed -n 's/.*Library r[a-z]*path: \[\(.*\)\]$/\1/p' | tr ':' ' ')
	for lib in $(readelf -dW "$file" 2>/dev/null | sed -n 's/.*Shared library: \[\(.*\)\]$/\1/p'); do
		found="" dest=/lib/aarch64-linux-gnu have=""
		for r in $runpath; do
			[ -e "$root$r/$lib" ] && { have=1; break; }
			for d in $INITRAMFS_ARM64_LIBDIRS; do
				case "$d" in
				*/usr/lib/aarch64-linux-gnu) pre=${d%/usr/lib/aarch64-linux-gnu} ;;
				*/lib/aarch64-linux-gnu) pre=${d%/lib/aarch64-linux-gnu} ;;
				*) continue ;;
				esac
				[ -e "$pre$r/$lib" ] && { found=$pre$r/$lib dest=$r; break 2; }
			done
		done
		[ -n "$have" ] && continue
		if [ -z "$found" ]; then
			[ -e "$root/lib/aarch64-linux-gnu/$lib" ] && continue
			for d in $INITRAMFS_ARM64_LIBDIRS; do
				[ -e "$d/$lib" ] && { found=$d/$lib; break; }
			done
		fi
		[ -n "$found" ] || { echo "initramfs: $file needs $lib: no arm64 $lib on this machine (install the Debian package that has it, as PKG:arm64)" >&2; return 1; }
		mkdir -p "$root$dest"
		cp -L "$found" "$root$dest/$lib"
		initramfs_arm64_lib "$root" "$found" || return 1
	done
}

initramfs_libs() {
	local root=$1 file=$2 lib
	head -c 4 "$file" 2>/dev/null | grep -q 'ELF' || return 0
	if [ "$(uname -m)" != aarch64 ] &&
	   readelf -hW "$file" 2>/dev/null | grep -q '^ *Machine: *AArch64$'; then
		initramfs_arm64_lib "$root" "$file"
		return
	fi
	for lib in $(ldd "$file" 2>/dev/null | grep -o '/[^ ]*' || true); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$(dirname "$root$lib")"
		cp -L "$lib" "$root$lib"
	done
}

initramfs_copy() {
	local root=$1 src=$2 dst=$3 f
	mkdir -p "$(dirname "$root$dst")"
	if [ -d "$src" ]; then
		mkdir -p "$root$dst"
		cp -a "$src/." "$root$dst/"
		while IFS= read -r -d '' f; do
			initramfs_libs "$root" "$f" || return 1
		done < <(find "$src" -type f -perm -u+x -print0)
	else
		cp -aL "$src" "$root$dst"
		initramfs_libs "$root" "$src"
	fi
}

initramfs_module() {
	local root=$1 kitroot=$2 release=$3 name=$4 line kind ko base
	mkdir -p "$root/lib/modules" "$root/etc"
	touch "$root/etc/modules.order"
	if ! line=$(/sbin/modprobe -d "$kitroot" -S "$release" --show-depends "$name" 2>&1); then
		echo "module '$name' is not in kernel $release: $line" >&2
		return 1
	fi
	while read -r kind ko _; do
		[ "$kind" = insmod ] || continue   # "builtin NAME" needs nothing
		base=$(basename "$ko")
		base=${base%.xz}
		base=${base%.zst}
		[ -e "$root/lib/modules/$base" ] && continue
		case "$ko" in
		*.xz) xz -dc "$ko" > "$root/lib/modules/$base" ;;
		*.zst) zstd -qdc "$ko" > "$root/lib/modules/$base" ;;
		*) cp "$ko" "$root/lib/modules/$base" ;;
		esac
		echo "$base" >> "$root/etc/modules.order"
	done <<< "$line"
}

initramfs_pack() {
	local root=$1 out=$2
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1 > "$out")
}
