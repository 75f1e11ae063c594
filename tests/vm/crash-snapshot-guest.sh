#!/bin/sh
# Guest side of tests/vm/crash.sh snapshot (installed as
# /tests/crash-snapshot-guest.sh in that script's initramfs only).
#
# dmx.crash=1 on the kernel command line: lay out an origin and two
# persistent snapshots (4 KiB and 32 KiB chunks) on /dev/vda, then write
# to all three until the host kills the VM.  dmx.crash=2: load the
# tables again from the same disk and check that every sector of the
# origin and of the snapshots is intact and was written by the right
# side; then the same with the other device-mapper (stock if dmx is
# under test, and the other way round).
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"

ORIGIN=65536		# sectors of vda from 0
COW=98304		# each, after the origin
HELPER=/tests/crash-helper

phase=$(sed -n 's/.*dmx\.crash=\([0-9]\).*/\1/p' /proc/cmdline)

# builtin NAME: NAME is part of the kernel image (6.12 builds in virtio_pci).
builtin() {
	grep -q "/$1\.ko\$" "/lib/modules/$(uname -r)/modules.builtin"
}

load_virtio() {
	for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
		virtio_pci virtio_blk; do
		insmod /lib/modules/crash/$m.ko 2>/dev/null || module_loaded $m ||
			builtin $m || return 1
	done
	i=0
	while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -b /dev/vda ]
}

tables() {
	dmsetup create cbase --table "0 $ORIGIN linear /dev/vda 0" &&
		dmsetup create ccow1 --table "0 $COW linear /dev/vda $ORIGIN" &&
		dmsetup create ccow2 --table "0 $COW linear /dev/vda $((ORIGIN + COW))" &&
		dmsetup create corig --table "0 $ORIGIN snapshot-origin /dev/mapper/cbase" &&
		dmsetup suspend corig &&
		dmsetup create csnap1 --table "0 $ORIGIN snapshot /dev/mapper/cbase /dev/mapper/ccow1 P 8" &&
		dmsetup create csnap2 --table "0 $ORIGIN snapshot /dev/mapper/cbase /dev/mapper/ccow2 P 64" &&
		dmsetup resume corig
}

storm() {
	$HELPER fill /dev/mapper/cbase $ORIGIN &&
		dd if=/dev/zero of=/dev/mapper/ccow1 bs=4096 count=1 oflag=direct 2>/dev/null &&
		dd if=/dev/zero of=/dev/mapper/ccow2 bs=4096 count=1 oflag=direct 2>/dev/null &&
		dmsetup create corig --table "0 $ORIGIN snapshot-origin /dev/mapper/cbase" &&
		dmsetup suspend corig &&
		dmsetup create csnap1 --table "0 $ORIGIN snapshot /dev/mapper/cbase /dev/mapper/ccow1 P 8" &&
		dmsetup create csnap2 --table "0 $ORIGIN snapshot /dev/mapper/cbase /dev/mapper/ccow2 P 64" &&
		dmsetup resume corig || return 1
	for seed in 1 2 3; do
		$HELPER storm $ORIGIN $seed /dev/mapper/corig /dev/mapper/csnap1 \
			/dev/mapper/csnap2 &
	done
	echo "# crash-storm-started"
	wait
}

# verify_all WHO: every device checked, one TAP line each.
verify_all() {
	check "${1}_reloads_snapshots" tables || return 1
	check "${1}_origin_intact" $HELPER verify /dev/mapper/corig $ORIGIN BO
	check "${1}_4k_snapshot_intact" $HELPER verify /dev/mapper/csnap1 $ORIGIN BS
	check "${1}_32k_snapshot_intact" $HELPER verify /dev/mapper/csnap2 $ORIGIN BS
	diag "$(dmsetup status)"
	dmsetup remove_all
}

load_virtio || die "no /dev/vda"
case $phase in
1)
	use_dmx || die "cannot load the device-mapper"
	if ! dmsetup create cbase --table "0 $ORIGIN linear /dev/vda 0" ||
		! dmsetup create ccow1 --table "0 $COW linear /dev/vda $ORIGIN" ||
		! dmsetup create ccow2 --table "0 $COW linear /dev/vda $((ORIGIN + COW))"; then
		die "cannot map /dev/vda"
	fi
	storm
	not_ok "storm ended before the VM was killed"
	;;
2)
	use_dmx || die "cannot load the device-mapper"
	verify_all "$DMX_IMPL"
	# And the other implementation reads the same disk.
	if [ "$DMX_IMPL" = stock ]; then
		if ! unload_dm || ! insmod "$DMX_KO"; then
			die "cannot load dmx"
		fi
		verify_all dmx_after_stock
	else
		use_stock_dm || die "cannot load the stock dm"
		verify_all stock_after_dmx
		unload_dm && insmod "$DMX_KO"
	fi
	;;
*)
	die "no dmx.crash= phase on the command line"
	;;
esac
tap_done
