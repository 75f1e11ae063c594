#!/bin/sh
# Install the host packages the VM tests need; idempotent.
#
# Usage: sh tests/vm/deps.sh
#
# Only when something is missing does it run `apt-get update` and
# `apt-get install`; a non-root caller gets the list of packages to install.
set -eu
VM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$VM_DIR/common.sh"

# Package and why we need it.
PACKAGES="
qemu-system-x86     boots the test kernel (TCG)
busybox-static      guest shell and applets
cpio                packs the initramfs
gzip                compresses the initramfs
xz-utils            unpacks the kselftest harness from linux-source
kmod                depmod/modprobe/modinfo for the guest module tree
linux-headers-amd64 builds dmx.ko; names the kernel ABI we boot
make                kernel module build
gcc                 kernel module and C tests
gcc-multilib        gcc -m32 -static (pulls libc6-dev-i386) for 32-bit ioctl tests
sparse              make C=1 checks
dkms                make check: the DKMS test of dkms.conf (tests/vm/dkms.sh)
dmsetup             guest userland: dmsetup, libdevmapper
lvm2                guest userland: lvm tools
kpartx              guest userland: partition mappings
e2fsprogs           guest userland: mkfs.ext4, e2fsck, resize2fs
fio                 guest userland: I/O load and benchmarks
util-linux          guest userland: blockdev, losetup
fdisk               guest userland: sfdisk (not in util-linux on Debian 12)
diffutils           guest userland: cmp
coreutils           guest userland: dd
cryptsetup-bin      guest userland: cryptsetup
keyutils            guest userland: keyctl (kernel keyring)
thin-provisioning-tools guest userland: thin_check, thin_dump, thin_repair
flex                debug kernel build (make check-debug)
bison               debug kernel build
libelf-dev          debug kernel build (objtool)
libssl-dev          debug kernel build (certificates)
bc                  debug kernel build
dwarves             debug kernel build (pahole)
sysstat             guest userland: iostat
"

# is_installed PKG: true when dpkg has PKG fully installed (held or not:
# linux-headers-amd64 may be held at the 6.1 ABI).
is_installed() {
	case $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) in
	"install ok installed" | "hold ok installed") return 0 ;;
	esac
	return 1
}

# missing_packages: print the names of the packages not installed yet.
missing_packages() {
	echo "$PACKAGES" | while read -r pkg _why; do
		[ -n "$pkg" ] || continue
		is_installed "$pkg" || echo "$pkg"
	done
}

main() {
	missing=$(missing_packages | xargs)
	if [ -z "$missing" ]; then
		msg "all packages present"
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		msg "missing packages: $missing"
		msg "install them as root: apt-get install $missing"
		exit 1
	fi
	msg "installing: $missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086 # word splitting of the package list is wanted
	apt-get install -y -qq --no-install-recommends $missing
}

main "$@"
