#!/bin/sh
# Install every Debian package virtio-bridge needs to build and test.
#
# Idempotent: packages already present are left alone.  Run as root to
# install; as any other user it only prints the command to run.
# Nothing is fetched from anywhere but the Debian archive configured in apt.
#
# The arm64 test VM needs Debian's arm64 packages (its kernels and
# busybox-static, which tools/testing/vm/kernel-kit fetches with
# apt-get download PKG:arm64), so arm64 is added as a foreign
# architecture (dpkg --add-architecture arm64), and the cross compiler
# builds the module, the kselftests and build/arm64/vbridge: that one
# links libnl's and liburing's arm64 archives (libnl-*-dev:arm64,
# liburing-dev:arm64, found through
# pkgconf:arm64's aarch64-linux-gnu-pkg-config).  libfdt-dev:arm64 cannot
# be installed beside the host's; the Makefile fetches its archive.
# u-boot-qemu gives the arm64 e2e tests Debian's u-boot; gnuplot-nox draws
# make bench's chart.  python3-docutils (rst2man) and groff-base (preconv)
# make the manual pages; man-db's man checks them (the install suite).
# debhelper, dh-dkms and dkms build the Debian packages (make deb) and
# their test builds the module with dkms; lintian checks the packages.
set -eu

PKGS="
build-essential
pkg-config
gcc-12
clang-16
libclang-rt-16-dev
llvm-16
libfdt-dev
device-tree-compiler
dt-schema
libnl-3-dev
libnl-genl-3-dev
liburing-dev
qemu-system-x86
qemu-system-arm
gcc-aarch64-linux-gnu
libc6-dev-arm64-cross
libnl-3-dev:arm64
libnl-genl-3-dev:arm64
liburing-dev:arm64
pkgconf:arm64
u-boot-qemu
qemu-utils
busybox-static
cpio
xz-utils
zstd
kmod
libelf-dev
bc
bison
flex
iproute2
e2fsprogs
systemd
fio
gnuplot-nox
dwarves
sparse
python3-docutils
groff-base
man-db
debhelper
dh-dkms
dkms
lintian
"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

FOREIGN_ARCHS="arm64"
add_archs=""
for a in $FOREIGN_ARCHS; do
	dpkg --print-foreign-architectures | grep -qx "$a" || add_archs="$add_archs $a"
done

if [ -z "$missing" ] && [ -z "$add_archs" ]; then
	echo "install-deps: all $(echo $PKGS | wc -w) packages present, foreign architectures:" $FOREIGN_ARCHS
	exit 0
fi

cmd="apt-get install -y --no-install-recommends$missing"
for a in $add_archs; do
	cmd="dpkg --add-architecture $a && apt-get update && $cmd"
done
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo="sudo -n"
	else
		[ -z "$missing" ] || echo "install-deps: missing packages:$missing" >&2
		[ -z "$add_archs" ] || echo "install-deps: missing foreign architectures:$add_archs" >&2
		echo "install-deps: run as root:  apt-get update && $cmd" >&2
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
for a in $add_archs; do
	echo "install-deps: adding the foreign architecture $a (dpkg --add-architecture)"
	$sudo dpkg --add-architecture "$a"
done
$sudo apt-get update -q
if [ -n "$missing" ]; then
	echo "install-deps: installing:$missing"
	# shellcheck disable=SC2086
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi
echo "install-deps: done"
