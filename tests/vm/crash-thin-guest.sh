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
. "${DMX_TESTLIB:-/tests/lib}/crash.sh"

META=16384		# sectors of vda from 0
DATA=262144		# after the metadata
VOL=65536		# each volume

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
		$CRASH_HELPER fill /dev/mapper/corig $VOL &&
		snapshot 1 0 corig && volume csnap1 1 &&
		snapshot 2 1 csnap1 && volume csnap2 2 || return 1
	crash_storm $VOL /dev/mapper/corig /dev/mapper/csnap1 /dev/mapper/csnap2
}

# verify_all WHO: the metadata and every volume, one TAP line each.
verify_all() {
	check "${1}_maps_the_disk" lower || return 1
	check "${1}_thin_check_as_left" thin_check /dev/mapper/cmeta
	check "${1}_reloads_pool" volumes || return 1
	check "${1}_origin_intact" $CRASH_HELPER verify /dev/mapper/corig $VOL BO
	check "${1}_snapshot_intact" $CRASH_HELPER verify /dev/mapper/csnap1 $VOL BS
	check "${1}_snapshot_of_snapshot_intact" $CRASH_HELPER verify /dev/mapper/csnap2 $VOL BS
	diag "$(dmsetup status cpool)"
	dmsetup remove csnap2 && dmsetup remove csnap1 && dmsetup remove corig &&
		dmsetup remove cpool
	check "${1}_thin_check_after_deactivation" thin_check /dev/mapper/cmeta
	dmsetup remove_all
}

crash_main
