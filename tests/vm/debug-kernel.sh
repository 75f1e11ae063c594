#!/bin/sh
# Build (once) a debug kernel for the test VM from Debian's linux-source:
# KASAN, kmemleak, lockdep, atomic-sleep checks, UBSAN, fault injection,
# with device-mapper, ramdisks and loop as modules so the stock dm can
# still be the reference.  Cached; a build takes 20-45 minutes on two
# cores, depending on what else runs.
#
# Usage: eval "$(sh tests/vm/debug-kernel.sh)"
#   prints DMX_DEBUG_KDIR (the built tree, for M= builds of dmx.ko),
#   DMX_DEBUG_VMLINUZ and DMX_DEBUG_MODULES (modules_install root).
set -eu
VM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$VM_DIR/common.sh"

SERIES=${DMX_DEBUG_SERIES:-$DMX_SOURCE_SERIES}

# The options on top of x86_64_defconfig + kvm_guest.config: the checkers,
# fault injection, and as modules the stock dm targets the tests compare
# against, with the ciphers and zoned devices their tests use.  What the
# gate's guest never has (graphics, sound, USB, input beyond the serial
# console, networking: it runs with -net none, disks, tracing, EFI, the
# filesystems of removable media) is left out, and the build is CI's
# longest step.  A change
# here (or a new linux-source) builds a new kernel under a new key.
CONFIG_OPTS="-e KASAN -e KASAN_INLINE -e DEBUG_KMEMLEAK
	-e PROVE_LOCKING -e DEBUG_ATOMIC_SLEEP -e DEBUG_LIST
	-e UBSAN -e FAULT_INJECTION -e FAILSLAB -e FAIL_MAKE_REQUEST
	-e FAULT_INJECTION_DEBUG_FS -e DEBUG_FS -e DETECT_HUNG_TASK
	--set-val DEFAULT_HUNG_TASK_TIMEOUT 60
	-e BLK_DEV_INITRD -e DEVTMPFS -e EXT4_FS -e BLK_DEV_DM_BUILTIN
	-e BLK_DEV_ZONED -e KEYS -e IO_URING -e AIO
	-m BLK_DEV_DM -m DM_SNAPSHOT -m DM_ZERO -m DM_BUFIO -m DM_MIRROR
	-m DM_LOG_WRITES -m DM_CRYPT -m DM_THIN_PROVISIONING -m DM_FLAKEY
	-m DM_DELAY -m DM_DUST
	-m CRYPTO_XTS -m CRYPTO_ESSIV -m CRYPTO_SERPENT -m CRYPTO_TWOFISH
	-m CRYPTO_ADIANTUM -m CRYPTO_AES_NI_INTEL -m CRYPTO_CBC -m CRYPTO_ECB
	-m CRYPTO_CTR -m CRYPTO_SHA256 -m CRYPTO_USER_API_SKCIPHER
	-m CRYPTO_USER_API_HASH
	-m BLK_DEV_RAM -m BLK_DEV_LOOP -m BLK_DEV_NULL_BLK
	-d DEBUG_INFO_BTF -d MODULE_SIG -d RANDOMIZE_BASE
	-d DRM -d FB -d AGP -d SOUND -d USB_SUPPORT -d HID -d INPUT_MOUSE
	-d INPUT_JOYSTICK -d INPUT_TABLET -d INPUT_TOUCHSCREEN -d MEDIA_SUPPORT
	-d NETDEVICES -d WIRELESS -d CFG80211 -d RFKILL -d BT -d NETFILTER
	-d NET_SCHED -d NETWORK_FILESYSTEMS -d ATA -d SCSI -d PCCARD
	-d HIBERNATION -d SUSPEND -d NET -d FTRACE -d ISO9660_FS
	-d VFAT_FS -d MSDOS_FS -d FAT_FS -d AUTOFS4_FS -d AUTOFS_FS -d QUOTA
	-d BLK_DEV_MD -d WATCHDOG -d I2C -d EFI -d KEXEC -d CRASH_DUMP"

DEB=$(cached_deb "linux-source-$SERIES")
KEY=$( { basename "$DEB"; echo "$CONFIG_OPTS"; } | md5sum | cut -c1-12)
TREE=$DMX_CACHE/debug-kernel/$KEY/linux-source-$SERIES
STAMP=$DMX_CACHE/debug-kernel/$KEY/.built

# source_tree: linux-source-$SERIES, unpacked into the cache once.
source_tree() {
	[ -f "$TREE/Makefile" ] && return
	linux_source_unpack "$SERIES" "$TREE" --strip-components=1
}

configure() {
	cd "$TREE"
	make -s x86_64_defconfig kvm_guest.config >&2
	# shellcheck disable=SC2086 # one word per option
	scripts/config $CONFIG_OPTS
	make -s olddefconfig >&2
}

build() {
	cd "$TREE"
	msg "building the debug kernel (20-45 minutes)"
	make -s -j"$(nproc)" bzImage modules >&2
	rm -rf "$TREE/.modroot"
	make -s INSTALL_MOD_PATH="$TREE/.modroot" modules_install >&2
	touch "$STAMP"
}

main() {
	if [ ! -f "$STAMP" ]; then
		# One build at a time in a tree: a second caller waits for it.
		mkdir -p "${TREE%/*}"
		exec 9>"${TREE%/*}/.lock"
		flock 9
	fi
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
