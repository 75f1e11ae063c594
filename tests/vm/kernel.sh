#!/bin/sh
# Fetch and unpack a guest kernel, the headers to build dmx.ko for it and
# the kselftest harness; cached.
#
# Usage: eval "$(sh tests/vm/kernel.sh)"
#
# DMX_KERNEL picks the kernel:
#   6.1    (default) Debian 12's own: the ABI of the installed (or else
#          the candidate) linux-headers-amd64, env DMX_ABI overrides;
#          dmx.ko builds against the installed headers
#   6.12   the 6.12 that Debian builds for Debian 12 in bookworm-backports
#          (the series of Debian 13): its newest linux-image-*-unsigned
#          and linux-headers-* there, fetched with `apt-get download`
#          and unpacked into the cache, never installed
#   debug  the debug kernel that tests/vm/debug-kernel.sh builds
#
# Prints shell assignments on stdout (progress goes to stderr):
#   DMX_ABI      kernel ABI, e.g. 6.1.0-57-amd64 or 6.12.95+deb12-amd64
#   DMX_VMLINUZ  the kernel image to boot
#   DMX_MODULES  its module tree (lib/modules/<abi>, plain .ko, modules.dep)
#   DMX_HARNESS  directory holding kselftest_harness.h and kselftest.h
#   DMX_KDIR     the kbuild tree to build dmx.ko in (make -C DMX_KDIR M=...)
#
# Everything lands in ${DMX_CACHE:-/var/cache/dmx}: the .debs as
# `apt-get download` names them, kernel/<abi>/, headers/<abi>/, harness/,
# and apt/<suite>/, the private apt state that knows the backports suite
# (the host's own apt sources and state are left alone).  A second run
# downloads and unpacks nothing.
set -eu
VM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$VM_DIR/common.sh"

# --- 6.1: the host's own kernel series ---------------------------------

# kernel_abi: the ABI of the headers dmx.ko is built against (abi.sh).
kernel_abi() {
	abi=$(sh "$VM_DIR/abi.sh")
	[ -n "$abi" ] || die "cannot tell the kernel ABI: install linux-headers-amd64 or set DMX_ABI"
	echo "$abi"
}

# unpack_kernel ABI: dpkg -x the image into kernel/ABI once, modules
# decompressed (busybox's insmod and modprobe read plain .ko only), with
# modules.dep.
unpack_kernel() {
	dir=$DMX_CACHE/kernel/$1
	[ -f "$dir/boot/vmlinuz-$1" ] && [ -f "$dir/lib/modules/$1/modules.dep" ] && return
	deb=$(cached_deb "linux-image-$1-unsigned")
	msg "unpacking $deb"
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	dpkg -x "$deb" "$dir.tmp"
	find "$dir.tmp/lib/modules/$1" -name '*.ko.xz' -print0 |
		xargs -0 -r -n 256 -P "$(nproc)" xz -d
	# Debian generates modules.dep at install time; we need it to resolve
	# module dependencies.  depmod -b only writes below the given root.
	depmod -b "$dir.tmp" "$1"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
}

# unpack_harness: the two kselftest headers from Debian 12's linux-source
# (from the host's apt sources: run before APT_DIR is set).  The harness is
# userland, so that one serves every kernel.
unpack_harness() {
	dir=$DMX_CACHE/harness
	[ -f "$dir/kselftest_harness.h" ] && [ -f "$dir/kselftest.h" ] && return
	src=linux-source-$DMX_SOURCE_SERIES/tools/testing/selftests
	linux_source_unpack "$DMX_SOURCE_SERIES" "$dir" --strip-components=4 \
		--occurrence=1 "$src/kselftest_harness.h" "$src/kselftest.h"
}

stock_61() {
	abi=$(kernel_abi)
	kdir=/usr/src/linux-headers-$abi
	[ -f "$kdir/Makefile" ] || die "$kdir missing: install linux-headers-$abi (tests/vm/deps.sh)"
	unpack_kernel "$abi"
	print_vars "$abi" "$kdir"
}

# --- 6.12: from bookworm-backports, unpacked, never installed -----------

# host_mirror CODENAME: "URI KEYRING" of the host's first deb source for
# suite CODENAME (KEYRING "-" if it names none), from one-line .list files
# and deb822 .sources files alike.
host_mirror() {
	{
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] || continue
			awk -v suite="$1" '
				$1 != "deb" { next }
				{
					i = 2; key = "-"
					if ($2 ~ /^\[/) {
						for (; i <= NF; i++) {
							opt = $i
							gsub(/[][]/, "", opt)
							if (opt ~ /^signed-by=/)
								key = substr(opt, 11)
							if ($i ~ /\]$/) { i++; break }
						}
					}
					if ($(i + 1) == suite)
						print $i, key
				}' "$f"
		done
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			awk -v suite="$1" '
				function flush() {
					if (types ~ /(^| )deb( |$)/ && enabled != "no" &&
					    (" " suites " ") ~ (" " suite " ")) {
						split(uris, u, " ")
						print u[1], (key ~ /^\// ? key : "-")
					}
					types = uris = suites = key = enabled = field = ""
				}
				/^[ \t]*#/ { next }
				/^[ \t]*$/ { flush(); next }
				/^[ \t]/ {
					if (field == "uris") uris = uris " " $1
					if (field == "suites") suites = suites " " $1
					next
				}
				{
					c = index($0, ":")
					field = tolower(substr($0, 1, c - 1))
					value = substr($0, c + 1)
					gsub(/^[ \t]+|[ \t]+$/, "", value)
					if (field == "types") types = value
					else if (field == "uris") uris = value
					else if (field == "suites") suites = value
					else if (field == "signed-by") key = value
					else if (field == "enabled") enabled = tolower(value)
				}
				END { flush() }' "$f"
		done
	} | head -n 1
}

# backports_apt: APT_DIR, a private apt state with only CODENAME-backports
# from the host's mirror in its sources, and its package lists.
backports_apt() {
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release"
	APT_DIR=$DMX_CACHE/apt/$codename-backports
	if [ ! -f "$APT_DIR/sources.list" ]; then
		mirror=$(host_mirror "$codename")
		[ -n "$mirror" ] || die "no deb source for $codename in /etc/apt/sources.list{,.d}"
		set -- $mirror
		opts=
		[ "$2" = - ] || opts="[signed-by=$2] "
		mkdir -p "$APT_DIR/sources.list.d" "$APT_DIR/lists/partial" \
			"$APT_DIR/cache/archives/partial"
		: >"$APT_DIR/status"
		echo "deb $opts$1 $codename-backports main" >"$APT_DIR/sources.list.tmp"
		mv "$APT_DIR/sources.list.tmp" "$APT_DIR/sources.list"
		msg "private apt source: $(cat "$APT_DIR/sources.list")"
	fi
	ls "$APT_DIR"/lists/*_Packages* >/dev/null 2>&1 || apt_update
}

# backports_abi SERIES: the newest generic amd64 ABI of SERIES there.
backports_abi() {
	pattern="^linux-headers-$(echo "$1" | sed 's/\./\\./g')\.[0-9]+\+deb[0-9]+-amd64$"
	abi=$(apt_run apt-cache pkgnames linux-headers- | grep -E "$pattern" | sort -V | tail -n 1)
	if [ -z "$abi" ]; then
		apt_update
		abi=$(apt_run apt-cache pkgnames linux-headers- | grep -E "$pattern" |
			sort -V | tail -n 1)
	fi
	[ -n "$abi" ] || die "no linux-headers-$1.*-amd64 in $(cat "$APT_DIR/sources.list")"
	echo "${abi#linux-headers-}"
}

# unpack_headers ABI: the headers of ABI and the two packages they need
# (-common, linux-kbuild-) unpacked side by side into headers/ABI; their
# Makefile's absolute include is pointed into that tree.
unpack_headers() {
	root=$DMX_CACHE/headers/$1
	[ -f "$root/.unpacked" ] && return
	deb=$(cached_deb "linux-headers-$1")
	debs=$deb
	for dep in $(dpkg-deb -f "$deb" Depends | tr ',' '\n' |
		sed -n 's/^ *\(linux-headers-[^ ]*-common\|linux-kbuild-[^ ]*\).*/\1/p'); do
		debs="$debs $(cached_deb "$dep")"
	done
	msg "unpacking the headers of $1"
	rm -rf "$root.tmp"
	mkdir -p "$root.tmp"
	for deb in $debs; do dpkg -x "$deb" "$root.tmp"; done
	mk=$root.tmp/usr/src/linux-headers-$1/Makefile
	grep -q '^include /usr/src/' "$mk" || die "unexpected $mk"
	sed -i "s|^include /usr/src/|include $root/usr/src/|" "$mk"
	rm -rf "$root"
	mv "$root.tmp" "$root"
	touch "$root/.unpacked"
}

backports_612() {
	backports_apt
	abi=$(backports_abi 6.12)
	unpack_headers "$abi"
	unpack_kernel "$abi"
	print_vars "$abi" "$DMX_CACHE/headers/$abi/usr/src/linux-headers-$abi"
}

# --- debug: built by debug-kernel.sh ----------------------------------

debug_kernel() {
	eval "$(sh "$VM_DIR/debug-kernel.sh")"
	echo "DMX_ABI=$DMX_DEBUG_ABI"
	echo "DMX_VMLINUZ=$DMX_DEBUG_VMLINUZ"
	echo "DMX_MODULES=$DMX_DEBUG_MODULES"
	echo "DMX_HARNESS=$DMX_CACHE/harness"
	echo "DMX_KDIR=$DMX_DEBUG_KDIR"
}

# print_vars ABI KDIR: the assignments for a kernel unpacked in the cache.
print_vars() {
	echo "DMX_ABI=$1"
	echo "DMX_VMLINUZ=$DMX_CACHE/kernel/$1/boot/vmlinuz-$1"
	echo "DMX_MODULES=$DMX_CACHE/kernel/$1/lib/modules/$1"
	echo "DMX_HARNESS=$DMX_CACHE/harness"
	echo "DMX_KDIR=$2"
}

main() {
	unpack_harness
	case $DMX_KERNEL in
	6.1) stock_61 ;;
	6.12) backports_612 ;;
	debug) debug_kernel ;;
	*) die "DMX_KERNEL=$DMX_KERNEL: not 6.1, 6.12 or debug" ;;
	esac
}

main "$@"
