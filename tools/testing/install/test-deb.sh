#!/bin/bash
# TAP test of the Debian packages (make deb, tools/build-deb): versions,
# lintian, contents against `make install`, maintainer scripts, a source
# tree left as it was, and the module built by DKMS from the installed
# source, with dkms.conf's MAKE line, against each x86_64 kit's headers.
#
# The packages are the ones `make test-build` left in build/deb/ when they
# are newer than every source file; otherwise this builds them itself, in
# a temporary folder.  DKMS works in a temporary tree (--dkmstree,
# --sourcetree, --installtree): /var/lib/dkms and /lib/modules are never
# touched.  A kit missing from the cache is a SKIP, not a download.
# DEB_KITS (default "6.1 6.12") names the kits.
set -uo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$top" || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
comment() { sed 's/^/# /'; }

version=$(cat VERSION)
arch=$(dpkg --print-architecture)
bin_deb=vbridge_${version}_$arch.deb
dkms_deb=virtio-bridge-dkms_${version}_all.deb
src=usr/src/virtio-bridge-$version
dkms_before=$(ls -A /var/lib/dkms 2>/dev/null)

# The files the packages are made of: the ones build-deb copies.
sources() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files --cached --others --exclude-standard -- . ':!build'
	else
		find . -path ./build -prune -o -path ./.git -prune -o -type f -print
	fi
}

# --- the packages: make test-build's when fresh, else built here --------
debs=build/deb
fresh=1
for d in "$bin_deb" "$dkms_deb"; do
	[ -f "$debs/$d" ] || { fresh=0; break; }
	newer=$(sources | while read -r f; do [ "$f" -nt "$debs/$d" ] && echo "$f"; done | head -n 1)
	[ -z "$newer" ] || { fresh=0; echo "# $debs/$d is older than $newer"; break; }
done
if [ $fresh = 1 ]; then
	echo "# using the packages make test-build left in $debs"
	ok 0 "make deb built both packages (make test-build)"
else
	debs=$tmp/deb
	t0=$(date +%s)
	tools/build-deb "$debs" > "$tmp/build-deb.out" 2>&1
	rc=$?
	comment < "$tmp/build-deb.out"
	[ $rc = 0 ] && [ -f "$debs/$bin_deb" ] && [ -f "$debs/$dkms_deb" ]
	ok $? "tools/build-deb builds $bin_deb and $dkms_deb ($(( $(date +%s) - t0 )) s)"
	[ $rc = 0 ] || tail -n 30 "$debs/build.log" 2>/dev/null | comment
fi
if [ ! -f "$debs/$bin_deb" ] || [ ! -f "$debs/$dkms_deb" ]; then
	echo "1..$n"
	exit 1
fi

# --- no network: build-deb runs dpkg-buildpackage in its own network
# namespace when the kernel lets it, and says so on its log's first line.
net=$(head -n 1 "$debs/build.log" 2>/dev/null)
case "$net" in
"build-deb: network: unshare"*) ok 0 "the packages were built without network ($net)" ;;
"build-deb: network: not isolated"*) skip "the packages were built without network" "${net#build-deb: network: }" ;;
*) ok 1 "the packages were built without network (no build-deb line in $debs/build.log)" ;;
esac

# --- the source tree: what a package build writes must stay under build/
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	left=$(git status --porcelain --ignored --untracked-files=all -- . ':!build' |
		grep -E '(^.. debian/(files|tmp/|\.debhelper/|changelog|.*substvars|debhelper-build-stamp|vbridge/|virtio-bridge-dkms/))|\.(deb|changes|buildinfo)$')
	[ -z "$left" ]
	ok $? "a package build leaves nothing in the source tree outside build/"
	[ -z "$left" ] || echo "$left" | comment
else
	skip "a package build leaves nothing in the source tree outside build/" "not a git work tree"
fi

# --- versions: all from VERSION -------------------------------------------
field() { dpkg-deb -f "$debs/$1" "$2"; }
[ "$(field "$bin_deb" Version)" = "$version" ] && [ "$(field "$dkms_deb" Version)" = "$version" ]
ok $? "both packages have the version of the VERSION file ($version)"
[ "$(field "$bin_deb" Architecture)" = "$arch" ] && [ "$(field "$dkms_deb" Architecture)" = all ]
ok $? "vbridge is built for $arch, virtio-bridge-dkms for all"
field "$dkms_deb" Depends | grep -q '\bdkms\b'
ok $? "virtio-bridge-dkms depends on dkms"

bx=$tmp/vbridge dx=$tmp/dkms
dpkg-deb -x "$debs/$bin_deb" "$bx" && dpkg-deb -e "$debs/$bin_deb" "$bx/DEBIAN" &&
	dpkg-deb -x "$debs/$dkms_deb" "$dx" && dpkg-deb -e "$debs/$dkms_deb" "$dx/DEBIAN"
ok $? "dpkg-deb unpacks both packages"
out=$("$bx/usr/bin/vbridge" --version 2>&1)
[ "$out" = "vbridge $version" ]
ok $? "the packaged vbridge --version says $version"
[ "$out" = "vbridge $version" ] || echo "$out" | comment

# --- lintian: no error ------------------------------------------------------
if command -v lintian >/dev/null; then
	lintian --fail-on error "$debs/$bin_deb" "$debs/$dkms_deb" > "$tmp/lintian" 2>&1
	rc=$?
	grep -v 'running with root privileges' "$tmp/lintian" | comment
	[ $rc = 0 ] && ! grep -q '^E: ' "$tmp/lintian"
	ok $? "lintian reports no error on either package ($(grep -c '^W: ' "$tmp/lintian") warnings)"
else
	echo "not ok $((n += 1)) - lintian is not installed (tools/install-deps.sh)"
	failed=1
fi

# --- vbridge: exactly what make install installs, the docs uncompressed ---
make -s install DESTDIR="$tmp/inst" PREFIX=/usr UNITDIR=/lib/systemd/system \
	UDEVRULESDIR=/lib/udev/rules.d PKGDOCDIR=/usr/share/doc/vbridge > "$tmp/install.out" 2>&1
ok $? "make install DESTDIR with the package's paths succeeds"
missing=$(cd "$tmp/inst" && find . ! -type d | while read -r f; do
	[ -e "$bx/$f" ] || [ -e "$bx/$f.gz" ] || echo "${f#.}"; done)
[ -z "$missing" ] && [ -n "$(ls -A "$tmp/inst" 2>/dev/null)" ]
ok $? "vbridge holds every file make install installs"
[ -z "$missing" ] || echo "$missing" | comment
contents=$(dpkg-deb -c "$debs/$bin_deb")
for f in ./usr/bin/vbridge ./lib/systemd/system/virtio-bridge.service \
	./lib/systemd/system/vbridge-devices@.service \
	./lib/systemd/system/vbridge-run@.service ./etc/virtio-bridge/run/ \
	./lib/udev/rules.d/60-virtio-bridge.rules ./usr/share/doc/vbridge/copyright; do
	echo "$contents" | grep -q " $f\$"
	ok $? "vbridge contains $f"
done
[ "$(echo "$contents" | awk '$6 == "./usr/bin/vbridge" { print $1 }')" = "-rwxr-xr-x" ]
ok $? "vbridge's binary has mode 0755"
docs=$(sed -n 's|^Documentation=file:||p' "$bx"/lib/systemd/system/*.service | sort -u)
bad=""
for d in $docs; do [ -f "$bx$d" ] || bad="$bad $d"; done
[ -n "$docs" ] && [ -z "$bad" ]
ok $? "the units' Documentation= files are in the package, uncompressed"
[ -z "$bad" ] || echo "missing:$bad" | comment

# --- vbridge's maintainer scripts: units neither enabled nor started ------
scripts_ok=0
for s in "$bx"/DEBIAN/{preinst,postinst,prerm,postrm}; do
	[ -f "$s" ] || continue
	sh -n "$s" || scripts_ok=1
done
ok $scripts_ok "vbridge's maintainer scripts parse (sh -n)"
! grep -Eq "deb-systemd-invoke (start|restart)|systemctl (start|restart)" "$bx"/DEBIAN/postinst &&
	grep -q "^	if deb-systemd-helper debian-installed 'virtio-bridge.service'; then" "$bx"/DEBIAN/postinst
ok $? "vbridge's postinst starts no unit and enables one only if the administrator had (dh_installsystemd --no-enable --no-start)"
# An upgrade must leave running VMs and providers alone: restarting
# vbridge-run@ would power every guest off.  debhelper leaves template
# units out of the scripts; this fails if that ever changes.
! cat "$bx"/DEBIAN/{preinst,postinst,prerm,postrm} 2>/dev/null | grep -Eq 'vbridge-(run|devices)@'
ok $? "vbridge's maintainer scripts never stop, restart or enable a VM or provider instance"

# --- virtio-bridge-dkms: the module's source and dkms.conf ----------------
conf=$dx/$src/dkms.conf
want=$( (echo Kbuild; echo VERSION; sources | grep -E '^kmod/(Kbuild|[^/]*\.[ch]|include/uapi/[^/]*\.h)$') | sort)
have=$(cd "$dx/$src" 2>/dev/null && find . -type f ! -name dkms.conf | sed 's|^\./||' | sort)
[ -n "$want" ] && [ "$want" = "$have" ]
ok $? "virtio-bridge-dkms holds exactly Kbuild, VERSION and kmod's sources in /$src"
[ "$want" = "$have" ] || diff <(echo "$want") <(echo "$have") | comment
[ "$(cat "$dx/$src/VERSION" 2>/dev/null)" = "$version" ]
ok $? "its VERSION file says $version"
# dkms.conf is shell: read it as dkms does (its variables left unexpanded).
dk() { ( kernel_source_dir='${kernel_source_dir}' dkms_tree='${dkms_tree}'
	# shellcheck disable=SC1090
	. "$conf" >/dev/null 2>&1 && eval "printf '%s' \"\${$1}\"" ) }
[ -f "$conf" ] && [ "$(dk PACKAGE_NAME)" = virtio-bridge ] && [ "$(dk PACKAGE_VERSION)" = "$version" ]
ok $? "dkms.conf: PACKAGE_NAME virtio-bridge, PACKAGE_VERSION $version"
[ "$(dk 'BUILT_MODULE_NAME[0]')" = virtio_bridge ] && [ "$(dk 'BUILT_MODULE_LOCATION[0]')" = kmod/ ] &&
	[ "$(dk 'DEST_MODULE_LOCATION[0]')" = /updates/dkms ] && [ "$(dk AUTOINSTALL)" = yes ]
ok $? "dkms.conf: module virtio_bridge from kmod/ into /updates/dkms, AUTOINSTALL=yes"
make_line=$(dk 'MAKE[0]')
echo "$make_line" | grep -qx -- 'make -C ${kernel_source_dir} M=${dkms_tree}/virtio-bridge/'"$version"'/build CONFIG_DEBUG_INFO_BTF_MODULES= modules'
ok $? "dkms.conf's MAKE line is kbuild's external-module build of the tree"
echo "# MAKE[0]=$make_line"
sh -n "$dx/DEBIAN/postinst" && sh -n "$dx/DEBIAN/prerm" &&
	grep -q "^DKMS_NAME=virtio-bridge$" "$dx/DEBIAN/postinst" &&
	grep -q "^DKMS_VERSION=$version$" "$dx/DEBIAN/postinst" &&
	grep -q 'common.postinst' "$dx/DEBIAN/postinst" &&
	grep -q 'dkms remove -m $DKMS_NAME -v $DKMS_VERSION --all' "$dx/DEBIAN/prerm" &&
	grep -q "^DKMS_VERSION=$version$" "$dx/DEBIAN/prerm"
ok $? "virtio-bridge-dkms's postinst adds and builds virtio-bridge $version with dkms, its prerm removes it"

# --- dkms build against each kit's headers --------------------------------
cache=${VBRIDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtio-bridge}
kit=tools/testing/vm/kernel-kit
for k in ${DEB_KITS:-6.1 6.12}; do
	what="dkms build of virtio-bridge $version against kit $k's headers"
	if [ ! -e "$cache/kits/$k" ]; then
		skip "$what" "kit $k is not in $cache/kits (make kit fetches it)"
		continue
	fi
	if ! command -v dkms >/dev/null; then
		echo "not ok $((n += 1)) - $what: dkms is not installed (tools/install-deps.sh)"
		failed=1
		continue
	fi
	kdir=$($kit -q --print kdir "$k") && rel=$($kit -q --print release "$k")
	if [ -z "${kdir:-}" ] || [ ! -f "$kdir/Makefile" ]; then
		echo "not ok $((n += 1)) - $what: kernel-kit gives no headers for $k"
		failed=1
		continue
	fi
	t=$tmp/dkms-$k
	mkdir -p "$t/tree" "$t/install"
	t0=$(date +%s)
	dkms build -m virtio-bridge -v "$version" -k "$rel" -j 2 --kernelsourcedir "$kdir" \
		--dkmstree "$t/tree" --sourcetree "$dx/usr/src" --installtree "$t/install" \
		> "$t/out" 2>&1
	rc=$?
	ko=$(find "$t/tree/virtio-bridge/$version/$rel" -name virtio_bridge.ko 2>/dev/null | head -n 1)
	[ $rc = 0 ] && [ -n "$ko" ]
	ok $? "$what ($rel, $(( $(date +%s) - t0 )) s)"
	if [ $rc != 0 ] || [ -z "$ko" ]; then
		comment < "$t/out"
		cat "$t"/tree/virtio-bridge/"$version"/"$rel"/*/log/make.log 2>/dev/null | tail -n 30 | comment
		continue
	fi
	grep -qF -- "-C $kdir M=$t/tree/virtio-bridge/$version/build CONFIG_DEBUG_INFO_BTF_MODULES= modules" "$t/out"
	ok $? "dkms ran dkms.conf's MAKE line for $k"
	[ "$(modinfo -F version "$ko")" = "$version" ] &&
		[ "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" = "$rel" ]
	ok $? "the module dkms built for $k is version $version, for $rel"
	[ -z "$(ls -A "$t/install")" ]
	ok $? "dkms build installed nothing (install tree still empty) for $k"
done
[ "$(ls -A /var/lib/dkms 2>/dev/null)" = "$dkms_before" ]
ok $? "/var/lib/dkms is as it was"

echo "1..$n"
exit $failed
