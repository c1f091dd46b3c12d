#!/bin/sh
# Install every Debian package virtio-bridge needs to build and test.
#
# Idempotent: packages already present are left alone.  Run as root to
# install; as any other user it only prints the command to run.
# Nothing is fetched from anywhere but the Debian archive configured in apt.
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
libnl-route-3-dev
qemu-system-x86
qemu-system-arm
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
dwarves
sparse
"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "install-deps: all $(echo $PKGS | wc -w) packages present"
	exit 0
fi

cmd="apt-get install -y --no-install-recommends$missing"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo="sudo -n"
	else
		echo "install-deps: missing packages:$missing" >&2
		echo "install-deps: run as root:  apt-get update && $cmd" >&2
		exit 1
	fi
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
echo "install-deps: done"
