#!/bin/sh
# Build (once) a debug kernel for the test VM from Debian's linux-source:
# KASAN, kmemleak, lockdep, atomic-sleep checks, UBSAN, fault injection,
# with device-mapper, ramdisks and loop as modules so the stock dm can
# still be the reference.  About ten minutes on two cores; cached.
#
# Usage: eval "$(sh tests/vm/debug-kernel.sh)"
#   prints DMX_DEBUG_KDIR (the built tree, for M= builds of dmx.ko),
#   DMX_DEBUG_VMLINUZ and DMX_DEBUG_MODULES (modules_install root).
set -eu
VM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$VM_DIR/common.sh"

SERIES=${DMX_DEBUG_SERIES:-6.1}
TREE=$DMX_CACHE/debug-kernel/linux-source-$SERIES
STAMP=$DMX_CACHE/debug-kernel/.built

# source_tree: unpack linux-source-$SERIES into the cache.
source_tree() {
	[ -f "$TREE/Makefile" ] && return
	deb=$(ls "$DMX_CACHE"/linux-source-"$SERIES"_*.deb 2>/dev/null | tail -n 1 || true)
	if [ -z "$deb" ]; then
		(cd "$DMX_CACHE" && apt-get download "linux-source-$SERIES" >&2)
		deb=$(ls "$DMX_CACHE"/linux-source-"$SERIES"_*.deb | tail -n 1)
	fi
	mkdir -p "$DMX_CACHE/debug-kernel"
	msg "unpacking $deb"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xOf - "./usr/src/linux-source-$SERIES.tar.xz" |
		tar -xJf - -C "$DMX_CACHE/debug-kernel"
}

configure() {
	cd "$TREE"
	make -s x86_64_defconfig kvm_guest.config >&2
	scripts/config -e KASAN -e KASAN_INLINE -e DEBUG_KMEMLEAK \
		-e PROVE_LOCKING -e DEBUG_ATOMIC_SLEEP -e DEBUG_LIST \
		-e UBSAN -e FAILSLAB -e FAIL_MAKE_REQUEST \
		-e FAULT_INJECTION_DEBUG_FS -e DEBUG_FS -e DETECT_HUNG_TASK \
		-e BLK_DEV_INITRD -e DEVTMPFS -e EXT4_FS -e BLK_DEV_DM_BUILTIN \
		-m BLK_DEV_DM -m DM_SNAPSHOT -m DM_ZERO -m DM_BUFIO \
		-m BLK_DEV_RAM -m BLK_DEV_LOOP -m BLK_DEV_NULL_BLK \
		-d DEBUG_INFO_BTF -d MODULE_SIG -d RANDOMIZE_BASE
	make -s olddefconfig >&2
}

build() {
	cd "$TREE"
	msg "building the debug kernel (about ten minutes)"
	make -s -j"$(nproc)" bzImage modules >&2
	rm -rf "$TREE/.modroot"
	make -s INSTALL_MOD_PATH="$TREE/.modroot" modules_install >&2
	touch "$STAMP"
}

main() {
	if [ ! -f "$STAMP" ]; then
		source_tree
		configure
		build
	fi
	rel=$(cat "$TREE/include/config/kernel.release")
	echo "DMX_DEBUG_KDIR=$TREE"
	echo "DMX_DEBUG_VMLINUZ=$TREE/arch/x86/boot/bzImage"
	echo "DMX_DEBUG_MODULES=$TREE/.modroot/lib/modules/$rel"
	echo "DMX_DEBUG_ABI=$rel"
}

main "$@"
