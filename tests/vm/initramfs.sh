#!/bin/sh
# Build the guest initramfs: busybox, the dm userland, stock kernel modules,
# dmx.ko, the tests and /init.
#
# Usage: sh tests/vm/initramfs.sh OUT
#
# OUT is two newc cpio archives back to back, which the kernel unpacks in
# turn (as it does for early microcode):
#   1. the userland: busybox, the dm tools with their libraries, the stock
#      modules.  ~100 MB, mostly fio's libraries (ceph, gluster, icu), so it
#      is cached per kernel in $DMX_BUILD/vm/userland-<abi>.cpio and rebuilt
#      only when this script, the kernel ABI or a host package it copies
#      from changes; and it is left uncompressed: in the TCG guest, gunzip
#      of it costs 2 s per boot, a plain copy 0.8 s.
#   2. this run's files, gzipped: dmx.ko, the tests, /init.
#
# Environment:
#   DMX_KO     the module to ship (default: built for the guest kernel by
#              tests/vm/module.sh; if DMX_KO names a missing file, the guest
#              reports the load failure)
#   DMX_BUILD  build directory (default <repo>/tests/build)
#
# Guest layout (merged /usr, like the host):
#   /init                        tests/vm/init
#   /lib/modules/<abi>/kernel/   stock modules + modules.dep: use modprobe
#   /lib/modules/dmx.ko          dmx, outside the tree: load it with insmod
#   /tests/                      C test binaries and tests/sh/*.sh (run in
#                                check mode, C first, each sorted by name)
#   /tests/lib/                  tests/lib/* (tap.sh): export DMX_TESTLIB
#   /usr/bin/dmxt                $DMX_BUILD/tools/* (tests/lib/*.c), tools
#                                the shell tests call
#   /tests/DIR/                  every other tests/DIR but build, c, vm:
#                                e.g. diff/ scenarios, demo/demo.sh,
#                                bench/bench.sh
#   /tests/bench/bin/            make bench's C helpers (not tests)
set -eu
VM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$VM_DIR/common.sh"

# Host programs copied with their libraries, under their host paths.
TOOLS="dmsetup lvm kpartx mke2fs e2fsck resize2fs dumpe2fs fio sfdisk
blockdev losetup dd cmp iostat"
# kmod's modprobe and depmod (as /usr/bin/kmod: busybox's stay the
# default), for the test of the README's modprobe configuration.
TOOLS="$TOOLS kmod"

# The packages those come from: their versions are part of the cache key.
TOOL_PACKAGES="busybox-static dmsetup lvm2 kpartx e2fsprogs fio fdisk
util-linux diffutils coreutils libc6 kmod sysstat"

# The crypt tests: cryptsetup, keyctl for the kernel keyring, fstrim.
TOOLS="$TOOLS cryptsetup keyctl fstrim"
TOOL_PACKAGES="$TOOL_PACKAGES cryptsetup-bin keyutils"

# thin-provisioning-tools: one binary, named by its links below.
TOOLS="$TOOLS pdata_tools"
TOOL_PACKAGES="$TOOL_PACKAGES thin-provisioning-tools"

# udev, for the tests that run it (tests/lib/udev.sh starts systemd-udevd;
# every other test keeps DM_DISABLE_UDEV=1): udevadm, which is
# systemd-udevd by that name, the device-mapper and LVM rules Debian's
# dmsetup, lvm2 and kpartx ship with the generic block ones they rely on,
# the helpers those rules run, and dmeventd with the snapshot and thin
# plugins it loads (the rules call /sbin/dmsetup and /sbin/lvm, both
# here already).
UDEV_RULES="50-udev-default 55-dm 56-dm-parts 56-lvm 60-block
60-persistent-storage 60-persistent-storage-dm 69-lvm 95-dm-notify"
UDEV_FILES="/lib/udev/ata_id /lib/udev/scsi_id /lib/udev/kpartx_id
/usr/sbin/dmeventd /lib/x86_64-linux-gnu/libdevmapper-event-lvm2snapshot.so
/lib/x86_64-linux-gnu/libdevmapper-event-lvm2thin.so"
TOOLS="$TOOLS udevadm"
TOOL_PACKAGES="$TOOL_PACKAGES udev dmeventd"
# lvresize -r runs fsadm, a bash script that needs util-linux's blkid
# and fsck, and coreutils' readlink -e and date -d (over busybox's).
TOOLS="$TOOLS bash fsadm blkid tune2fs readlink date fsck"
TOOL_PACKAGES="$TOOL_PACKAGES bash"
# lsblk, for the tree of stacked devices (85-udev-cryptsetup).
TOOLS="$TOOLS lsblk"

# Extra names, as NAME:TARGET symlinks in /usr/sbin.
LINKS="mkfs.ext4:mke2fs mkfs.ext2:mke2fs fsck.ext4:e2fsck
pvcreate:lvm vgcreate:lvm lvcreate:lvm lvs:lvm vgs:lvm pvs:lvm lvremove:lvm
vgremove:lvm pvremove:lvm lvconvert:lvm lvextend:lvm lvreduce:lvm
lvresize:lvm vgchange:lvm lvchange:lvm lvscan:lvm vgscan:lvm pvscan:lvm
lvdisplay:lvm vgdisplay:lvm"
LINKS="$LINKS pvmove:lvm"
LINKS="$LINKS thin_check:pdata_tools thin_dump:pdata_tools
thin_repair:pdata_tools thin_restore:pdata_tools thin_ls:pdata_tools
thin_delta:pdata_tools thin_metadata_size:pdata_tools"

# Stock modules the tests use; their dependencies (and softdeps, such as
# ext4's crc32c) come along.
MODULES="brd loop null_blk dm-mod dm-bufio dm-snapshot dm-zero crc32c_generic ext4
dm-flakey dm-delay"
# The stock dm-crypt and the ciphers the crypt tests name (the crypto API
# loads them by alias); algif_* let cryptsetup use the kernel's ciphers.
MODULES="$MODULES dm-crypt cryptd crypto_simd aesni-intel xts essiv authenc
ecb ctr lrw serpent_generic serpent-avx2 twofish_generic
twofish-avx-x86_64 adiantum chacha_generic chacha-x86_64 nhpoly1305
nhpoly1305-avx2 poly1305_generic poly1305-x86_64 algif_skcipher algif_hash
crypto_null"
MODULES="$MODULES dm-thin-pool dm-bio-prison dm-persistent-data libcrc32c"
MODULES="$MODULES dm-mirror dm-log dm-region-hash"

# Stock modules taken where the kernel has them (Debian's has no dm-dust,
# the debug kernel has; the debug kernel has no sha256-ssse3, whose
# generic version is built in).
OPTIONAL_MODULES="dm-dust sha256-ssse3"

# --- part 1: userland --------------------------------------------------

# make_skeleton: empty merged-/usr tree in $ROOT.
make_skeleton() {
	rm -rf "$ROOT"
	mkdir -p "$ROOT"
	(
		cd "$ROOT"
		mkdir -p usr/bin usr/sbin usr/lib/modules usr/lib64 dev proc sys \
			tmp run root etc/lvm
		for d in bin sbin lib lib64; do ln -s "usr/$d" "$d"; done
	)
}

# install_busybox: the static busybox and one symlink per applet.
install_busybox() {
	cp /bin/busybox "$ROOT/usr/bin/busybox"
	busybox --list-full | while read -r applet; do
		[ -e "$ROOT/$applet" ] || [ -L "$ROOT/$applet" ] ||
			ln -s /usr/bin/busybox "$ROOT/$applet"
	done
}

# copy_file PATH: copy a host file (following links) to the same path.
copy_file() {
	[ -e "$ROOT$1" ] && return
	mkdir -p "$ROOT$(dirname "$1")"
	cp -L "$1" "$ROOT$1"
}

# install_program NAME: a host program, its libraries and ELF interpreter.
# A busybox applet of the same name is replaced.
install_program() {
	path=$(command -v "$1") || die "$1 not found: run tests/vm/deps.sh"
	rm -f "$ROOT/usr/bin/$1" "$ROOT/usr/sbin/$1"
	copy_file "$path"
	ldd "$path" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
		while read -r lib; do copy_file "$lib"; done
}

# install_userland: TOOLS, LINKS and the configuration they read.
install_userland() {
	for tool in $TOOLS; do install_program "$tool"; done
	for link in $LINKS; do
		rm -f "$ROOT/usr/bin/${link%%:*}" "$ROOT/usr/sbin/${link%%:*}"
		ln -s "${link#*:}" "$ROOT/usr/sbin/${link%%:*}"
	done
	install_udev
	cp /etc/mke2fs.conf "$ROOT/etc/mke2fs.conf"
	# No udev and no daemons in the guest: LVM must create nodes itself.
	cat >"$ROOT/etc/lvm/lvm.conf" <<-'EOF'
	activation {
		udev_sync = 0
		udev_rules = 0
		monitoring = 0
	}
	devices {
		obtain_device_list_from_udev = 0
	}
	global {
		use_lvmpolld = 0
	}
	EOF
	echo 'root:x:0:0:root:/root:/bin/sh' >"$ROOT/etc/passwd"
	echo 'root:x:0:' >"$ROOT/etc/group"
}

# install_udev: UDEV_RULES, UDEV_FILES (with their libraries) and
# systemd-udevd, the name that makes udevadm the daemon.
install_udev() {
	for r in $UDEV_RULES; do copy_file "/lib/udev/rules.d/$r.rules"; done
	for f in $UDEV_FILES; do
		copy_file "$f"
		ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' |
			while read -r lib; do copy_file "$lib"; done
	done
	mkdir -p "$ROOT/usr/lib/systemd"
	ln -sf /usr/bin/udevadm "$ROOT/usr/lib/systemd/systemd-udevd"
}

# install_modules: MODULES with dependencies from the stock image, then a
# modules.dep of our own so the guest's (busybox) modprobe resolves them.
install_modules() {
	dest=$ROOT/usr/lib/modules/$DMX_ABI
	mkdir -p "$dest"
	{
		for m in $MODULES; do
			modprobe -d "${DMX_MODULES%/lib/modules/*}" -S "$DMX_ABI" --show-depends "$m"
		done
		for m in $OPTIONAL_MODULES; do
			modprobe -d "${DMX_MODULES%/lib/modules/*}" -S "$DMX_ABI" --show-depends "$m" 2>/dev/null || :
		done
	} | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r ko; do
		rel=${ko#"$DMX_MODULES"/}
		mkdir -p "$dest/$(dirname "$rel")"
		cp "$ko" "$dest/$rel"
	done
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		cp "$DMX_MODULES/$f" "$dest/$f"
	done
	depmod -b "$ROOT" "$DMX_ABI"
}

# userland_key: changes whenever part 1 would come out different.
userland_key() {
	{
		cat "$0"
		echo "$DMX_ABI"
		# shellcheck disable=SC2086 # one argument per package
		dpkg-query -W $TOOL_PACKAGES
	} | md5sum | cut -d' ' -f1
}

# build_userland CPIO: part 1, reused while its key is unchanged.
build_userland() {
	key=$(userland_key)
	if [ -f "$1" ] && [ "$(cat "$1.key" 2>/dev/null)" = "$key" ]; then
		return
	fi
	msg "building the userland archive"
	ROOT=$DMX_BUILD/vm/userland-$DMX_ABI
	make_skeleton
	install_busybox
	install_userland
	install_modules
	pack "$ROOT" >"$1.tmp"
	mv "$1.tmp" "$1"
	echo "$key" >"$1.key"
}

# --- part 2: this run --------------------------------------------------

# install_dmx: dmx.ko at /lib/modules/dmx.ko, if it was built.
install_dmx() {
	ko=${DMX_KO:-}
	if [ -z "$ko" ]; then
		eval "$(sh "$VM_DIR/module.sh")"
		ko=$DMX_KO
	fi
	if [ -f "$ko" ]; then
		cp "$ko" "$ROOT/usr/lib/modules/dmx.ko"
		magic=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
		[ "$magic" = "$DMX_ABI" ] ||
			msg "warning: $ko is built for $magic, the guest runs $DMX_ABI"
	else
		msg "warning: $ko not found; the guest will report the load failure"
	fi
}

# install_tests: C binaries and tests/sh/*.sh flat in /tests, the other
# directories of tests/ (lib, scenarios, demo, bench) as they are, and /init.
install_tests() {
	for f in "$DMX_BUILD"/bin/*; do
		if [ -f "$f" ] && [ -x "$f" ]; then cp "$f" "$ROOT/tests/"; fi
		# A C test's own time limit (tests/vm/build-tests.sh).
		case $f in *.timeout) cp "$f" "$ROOT/tests/" ;; esac
	done
	for f in "$DMX_ROOT"/tests/sh/*.sh; do
		if [ -f "$f" ]; then cp "$f" "$ROOT/tests/"; fi
	done
	# In the PATH, not in /tests: every executable there is run as a test.
	for f in "$DMX_BUILD"/tools/*; do
		if [ -f "$f" ] && [ -x "$f" ]; then cp "$f" "$ROOT/usr/bin/"; fi
	done
	for d in "$DMX_ROOT"/tests/*/; do
		case ${d%/} in */build | */c | */vm | */sh) continue ;; esac
		cp -R "${d%/}" "$ROOT/tests/"
	done
	# Programs the stress tests run (tests/fuzz/build.sh), not tests.
	if [ -d "$DMX_BUILD/tools" ]; then cp -R "$DMX_BUILD/tools" "$ROOT/tests/tools"; fi
	cp "$VM_DIR/init" "$ROOT/init"
	chmod 755 "$ROOT/init"
}

# install_bench_helpers: make bench's C helpers (tests/vm/build-tests.sh
# builds them into bench-bin/, apart from the tests) in /tests/bench/bin.
install_bench_helpers() {
	for f in "$DMX_BUILD"/bench-bin/*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		mkdir -p "$ROOT/tests/bench/bin"
		cp "$f" "$ROOT/tests/bench/bin/"
	done
}

# build_run_part CPIO_GZ: part 2.  Its paths avoid the /lib symlink of
# part 1 (usr/lib/modules, not lib/modules).
build_run_part() {
	ROOT=$DMX_BUILD/vm/run-$DMX_ABI
	rm -rf "$ROOT"
	mkdir -p "$ROOT/usr/lib/modules" "$ROOT/usr/bin" "$ROOT/tests"
	install_dmx
	install_tests
	install_bench_helpers
	pack "$ROOT" | gzip -1 >"$1"
}

# pack DIR: DIR as a newc cpio on stdout, owned by root, in a stable order.
pack() {
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet)
}

main() {
	[ $# -eq 1 ] || die "usage: $0 OUT"
	out=$1
	start=$(now_ms)
	eval "$(sh "$VM_DIR/kernel.sh")"
	mkdir -p "$DMX_BUILD/vm" "$(dirname "$out")"
	userland=$DMX_BUILD/vm/userland-$DMX_ABI.cpio
	build_userland "$userland"
	# Staging trees and parts are per kernel: make check builds for two
	# kernels at once.
	run_part=$DMX_BUILD/vm/run-$DMX_ABI.cpio.gz
	build_run_part "$run_part"
	cat "$userland" "$run_part" >"$out.tmp"
	mv "$out.tmp" "$out"
	msg "built $out ($(du -h "$out" | cut -f1)) in $(elapsed "$start") s"
}

main "$@"
