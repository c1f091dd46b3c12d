# shellcheck shell=bash
# initramfs.sh: shell functions that build busybox initramfs images from the
# kernel kit, shared by vm-run (the test VM) and the end-to-end tests (the
# second-level guest).  Source it; every function takes the image's root
# folder first.
#
#   initramfs_copy ROOT SRC DST     copy a file or folder to ROOT/DST; ELF
#                                   programs bring their shared libraries
#   initramfs_libs ROOT FILE        the shared libraries (and loader) of FILE
#   initramfs_module ROOT KITROOT RELEASE NAME
#                                   module NAME of kernel RELEASE unpacked in
#                                   KITROOT, and what it depends on, flattened
#                                   into ROOT/lib/modules (decompressed for
#                                   busybox insmod) and appended in load order
#                                   to ROOT/etc/modules.order; built-in
#                                   modules need nothing.  Fails with a
#                                   message when NAME is not in that kernel.
#   initramfs_pack ROOT OUT         ROOT as a gzip'd newc cpio at OUT

initramfs_libs() {
	local root=$1 file=$2 lib
	head -c 4 "$file" 2>/dev/null | grep -q 'ELF' || return 0
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
			initramfs_libs "$root" "$f"
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
