#!/bin/sh
# Fetch and unpack the guest kernel and the kselftest harness; cached.
#
# Usage: eval "$(sh tests/vm/kernel.sh)"
#
# Prints shell assignments on stdout (progress goes to stderr):
#   DMX_ABI      kernel ABI, e.g. 6.1.0-56-amd64 (env DMX_ABI overrides)
#   DMX_VMLINUZ  the kernel image to boot
#   DMX_MODULES  its module tree (lib/modules/<abi>, with modules.dep)
#   DMX_HARNESS  directory holding kselftest_harness.h and kselftest.h
#
# Everything lands in ${DMX_CACHE:-/var/cache/dmx}: the .debs as
# `apt-get download` names them, kernel/<abi>/ and harness/.  A second run
# downloads and unpacks nothing.
set -eu
VM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$VM_DIR/common.sh"

# kernel_abi: the ABI of the headers dmx.ko is built against.  The installed
# linux-headers-amd64 is preferred over the archive's candidate so that a
# newer kernel in the archive cannot give us an image the module won't load in.
kernel_abi() {
	if [ -n "${DMX_ABI:-}" ]; then
		echo "$DMX_ABI"
		return
	fi
	deps=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null || true)
	[ -n "$deps" ] || deps=$(apt-cache depends linux-headers-amd64 2>/dev/null || true)
	abi=$(echo "$deps" | grep -o 'linux-headers-[0-9][^ ,]*' | head -n 1)
	[ -n "$abi" ] || die "cannot tell the kernel ABI: install linux-headers-amd64 or set DMX_ABI"
	echo "${abi#linux-headers-}"
}

# cached_deb PKG: path of PKG's .deb in the cache, downloading it if needed.
cached_deb() {
	deb=$(ls "$DMX_CACHE/$1"_*.deb 2>/dev/null | tail -n 1 || true)
	if [ -z "$deb" ]; then
		msg "downloading $1"
		mkdir -p "$DMX_CACHE"
		if ! (cd "$DMX_CACHE" && apt-get download "$1" >&2); then
			# An empty or stale package list is the usual reason.
			[ "$(id -u)" -eq 0 ] || die "apt-get download $1 failed"
			apt-get update -qq >&2
			(cd "$DMX_CACHE" && apt-get download "$1" >&2) ||
				die "apt-get download $1 failed"
		fi
		deb=$(ls "$DMX_CACHE/$1"_*.deb | tail -n 1)
	fi
	echo "$deb"
}

# unpack_kernel ABI: dpkg -x the image into kernel/ABI once, with modules.dep.
unpack_kernel() {
	dir=$DMX_CACHE/kernel/$1
	[ -f "$dir/boot/vmlinuz-$1" ] && [ -f "$dir/lib/modules/$1/modules.dep" ] && return
	deb=$(cached_deb "linux-image-$1-unsigned")
	msg "unpacking $deb"
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	dpkg -x "$deb" "$dir.tmp"
	# Debian generates modules.dep at install time; we need it to resolve
	# module dependencies.  depmod -b only writes below the given root.
	depmod -b "$dir.tmp" "$1"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
}

# unpack_harness ABI: the two kselftest headers from linux-source-X.Y.
unpack_harness() {
	dir=$DMX_CACHE/harness
	[ -f "$dir/kselftest_harness.h" ] && [ -f "$dir/kselftest.h" ] && return
	series=$(echo "$1" | cut -d. -f1,2)
	deb=$(cached_deb "linux-source-$series")
	src=linux-source-$series/tools/testing/selftests
	msg "extracting the kselftest harness from $deb (a few seconds)"
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	# Stream: .deb -> data tar -> the source .tar.xz -> just the two headers.
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xOf - "./usr/src/linux-source-$series.tar.xz" |
		tar -xJf - -C "$dir.tmp" --strip-components=4 --occurrence=1 \
			"$src/kselftest_harness.h" "$src/kselftest.h"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
}

# debug_kernel: the same variables for the debug kernel (DMX_KERNEL=debug),
# built once by debug-kernel.sh; the harness is the stock one's.
debug_kernel() {
	eval "$(sh "$VM_DIR/debug-kernel.sh")"
	unpack_harness "$(kernel_abi)"
	echo "DMX_ABI=$DMX_DEBUG_ABI"
	echo "DMX_VMLINUZ=$DMX_DEBUG_VMLINUZ"
	echo "DMX_MODULES=$DMX_DEBUG_MODULES"
	echo "DMX_HARNESS=$DMX_CACHE/harness"
	echo "DMX_KDIR=$DMX_DEBUG_KDIR"
}

main() {
	if [ "${DMX_KERNEL:-stock}" = debug ]; then
		debug_kernel
		return
	fi
	abi=$(kernel_abi)
	unpack_kernel "$abi"
	unpack_harness "$abi"
	echo "DMX_ABI=$abi"
	echo "DMX_VMLINUZ=$DMX_CACHE/kernel/$abi/boot/vmlinuz-$abi"
	echo "DMX_MODULES=$DMX_CACHE/kernel/$abi/lib/modules/$abi"
	echo "DMX_HARNESS=$DMX_CACHE/harness"
}

main "$@"
