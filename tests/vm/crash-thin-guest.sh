#!/bin/sh
# Guest side of tests/vm/crash.sh thin (installed as
# /tests/crash-thin-guest.sh in that script's initramfs only).
#
# dmx.crash=1 on the kernel command line: a thin pool on /dev/vda (8 MiB
# of metadata, 128 MiB of data), an origin volume filled with base data
# and two snapshots (one of the origin, one of that snapshot), then
# writes to all three until the host kills the VM.  dmx.crash=2:
# thin_check on the metadata as it was left, then the pool and volumes
# loaded again and every sector checked (tests/vm/crash-helper.c says
# how), thin_check again after a clean deactivation; then the same with
# the other device-mapper (stock if dmx is under test, and the other way
# round).
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"

META=16384		# sectors of vda from 0
DATA=262144		# after the metadata
VOL=65536		# each volume
HELPER=/tests/crash-helper

phase=$(sed -n 's/.*dmx\.crash=\([0-9]\).*/\1/p' /proc/cmdline)

load_virtio() {
	for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
		virtio_pci virtio_blk; do
		insmod /lib/modules/crash/$m.ko 2>/dev/null || module_loaded $m || return 1
	done
	i=0
	while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -b /dev/vda ]
}

lower() {
	dmsetup create cmeta --table "0 $META linear /dev/vda 0" &&
		dmsetup create cdata --table "0 $DATA linear /dev/vda $META"
}

pool() {
	dmsetup create cpool --table \
		"0 $DATA thin-pool /dev/mapper/cmeta /dev/mapper/cdata 128 0 0"
}

volume() {
	dmsetup create "$1" --table "0 $VOL thin /dev/mapper/cpool $2"
}

volumes() {
	pool && volume corig 0 && volume csnap1 1 && volume csnap2 2
}

snapshot() {
	dmsetup suspend "$3" && dmsetup message cpool 0 create_snap "$1" "$2" &&
		dmsetup resume "$3"
}

storm() {
	dd if=/dev/zero of=/dev/mapper/cmeta bs=4096 count=1 oflag=direct 2>/dev/null &&
		pool && dmsetup message cpool 0 create_thin 0 && volume corig 0 &&
		$HELPER fill /dev/mapper/corig $VOL &&
		snapshot 1 0 corig && volume csnap1 1 &&
		snapshot 2 1 csnap1 && volume csnap2 2 || return 1
	for seed in 1 2 3; do
		$HELPER storm $VOL $seed /dev/mapper/corig /dev/mapper/csnap1 \
			/dev/mapper/csnap2 &
	done
	echo "# crash-storm-started"
	wait
}

# verify_all WHO: the metadata and every volume, one TAP line each.
verify_all() {
	check "${1}_maps_the_disk" lower || return 1
	check "${1}_thin_check_as_left" thin_check /dev/mapper/cmeta
	check "${1}_reloads_pool" volumes || return 1
	check "${1}_origin_intact" $HELPER verify /dev/mapper/corig $VOL BO
	check "${1}_snapshot_intact" $HELPER verify /dev/mapper/csnap1 $VOL BS
	check "${1}_snapshot_of_snapshot_intact" $HELPER verify /dev/mapper/csnap2 $VOL BS
	diag "$(dmsetup status cpool)"
	dmsetup remove csnap2 && dmsetup remove csnap1 && dmsetup remove corig &&
		dmsetup remove cpool
	check "${1}_thin_check_after_deactivation" thin_check /dev/mapper/cmeta
	dmsetup remove_all
}

load_virtio || die "no /dev/vda"
case $phase in
1)
	use_dmx || die "cannot load the device-mapper"
	lower || die "cannot map /dev/vda"
	storm
	not_ok "storm ended before the VM was killed"
	;;
2)
	use_dmx || die "cannot load the device-mapper"
	verify_all "$DMX_IMPL"
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
