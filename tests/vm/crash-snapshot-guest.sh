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
. "${DMX_TESTLIB:-/tests/lib}/crash.sh"

ORIGIN=65536		# sectors of vda from 0
COW=98304		# each, after the origin

lower() {
	dmsetup create cbase --table "0 $ORIGIN linear /dev/vda 0" &&
		dmsetup create ccow1 --table "0 $COW linear /dev/vda $ORIGIN" &&
		dmsetup create ccow2 --table "0 $COW linear /dev/vda $((ORIGIN + COW))"
}

# snapshots: the origin and the two snapshots on the lower devices.
snapshots() {
	dmsetup create corig --table "0 $ORIGIN snapshot-origin /dev/mapper/cbase" &&
		dmsetup suspend corig &&
		dmsetup create csnap1 --table "0 $ORIGIN snapshot /dev/mapper/cbase /dev/mapper/ccow1 P 8" &&
		dmsetup create csnap2 --table "0 $ORIGIN snapshot /dev/mapper/cbase /dev/mapper/ccow2 P 64" &&
		dmsetup resume corig
}

tables() {
	lower && snapshots
}

storm() {
	$CRASH_HELPER fill /dev/mapper/cbase $ORIGIN &&
		dd if=/dev/zero of=/dev/mapper/ccow1 bs=4096 count=1 oflag=direct 2>/dev/null &&
		dd if=/dev/zero of=/dev/mapper/ccow2 bs=4096 count=1 oflag=direct 2>/dev/null &&
		snapshots || return 1
	crash_storm $ORIGIN /dev/mapper/corig /dev/mapper/csnap1 /dev/mapper/csnap2
}

# verify_all WHO: every device checked, one TAP line each.
verify_all() {
	check "${1}_reloads_snapshots" tables || return 1
	check "${1}_origin_intact" $CRASH_HELPER verify /dev/mapper/corig $ORIGIN BO
	check "${1}_4k_snapshot_intact" $CRASH_HELPER verify /dev/mapper/csnap1 $ORIGIN BS
	check "${1}_32k_snapshot_intact" $CRASH_HELPER verify /dev/mapper/csnap2 $ORIGIN BS
	diag "$(dmsetup status)"
	dmsetup remove_all
}

crash_main
