#!/bin/sh
# How snapshots fail.  A full COW device loses a P snapshot (status
# Invalid, its I/O fails, its header says invalid on disk and it loads
# invalid again) while the origin keeps working; a PO snapshot filled by
# its own writes says Overflow, refuses more writes and stays readable.
# An I/O error on the COW device invalidates the snapshot, the origin
# keeps working and nothing hangs.  Leaves no devices.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

SIZE=16384	# origin: 8 MiB on ram0
CHUNK=8		# 4 KiB
COW=512		# 64 chunks: header, one area, 62 data chunks

setup() {
	dmsetup create fbase --table "0 $SIZE linear /dev/ram0 0" || return 1
	pattern base 0 $SIZE >"$SCEN_TMP/base" || return 1
	put "$SCEN_TMP/base" /dev/mapper/fbase 0 1048576 direct &&
		dmsetup create forig --table "0 $SIZE snapshot-origin /dev/mapper/fbase"
}

# new_snapshot KIND COWDEV: snapshot fsnap on a zeroed COWDEV.
new_snapshot() {
	dd_quiet if=/dev/zero of="$2" bs=4096 count=1 oflag=direct &&
		dmsetup suspend forig &&
		dmsetup create fsnap --table "0 $SIZE snapshot /dev/mapper/fbase $2 $1 $CHUNK" &&
		dmsetup resume forig
}

# header_valid DEV: the valid field of the snapshot header on DEV.
header_valid() {
	dd if="$1" bs=4 skip=1 count=1 iflag=direct 2>/dev/null | od -An -tu4 | tr -d ' '
}

status_of() {
	dmsetup status "$1" | cut -d' ' -f4-
}

# Origin writes to 100 fresh chunks: only 62 fit.
full_cow_invalidates_p_snapshot() {
	dmsetup create fcow --table "0 $COW linear /dev/ram1 0" &&
		new_snapshot P /dev/mapper/fcow || return 1
	pattern over 0 800 >"$SCEN_TMP/over" &&
		put "$SCEN_TMP/over" /dev/mapper/forig 4000 4096 direct || return 1
	want_eq status "$(status_of fsnap)" Invalid
}

origin_works_after_invalidation() {
	same_as "$SCEN_TMP/over" /dev/mapper/forig 4000 &&
		pattern base 0 4000 >"$SCEN_TMP/head" &&
		same_as "$SCEN_TMP/head" /dev/mapper/forig 0 &&
		put "$SCEN_TMP/base" /dev/mapper/forig 0 1048576 direct &&
		same_as "$SCEN_TMP/base" /dev/mapper/forig 0
}

invalid_snapshot_io_fails() {
	if dd if=/dev/mapper/fsnap of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null; then
		echo "read of an invalid snapshot succeeded"
		return 1
	fi
	if dd if=/dev/zero of=/dev/mapper/fsnap bs=4096 count=1 oflag=direct 2>/dev/null; then
		echo "write to an invalid snapshot succeeded"
		return 1
	fi
}

header_marked_invalid_on_disk() {
	want_eq valid "$(header_valid /dev/mapper/fcow)" 0
}

invalid_snapshot_reloads_invalid() {
	dmsetup remove fsnap &&
		dmsetup create fsnap --table "0 $SIZE snapshot /dev/mapper/fbase /dev/mapper/fcow P $CHUNK" &&
		want_eq status "$(status_of fsnap)" Invalid &&
		dmsetup remove fsnap
}

# Snapshot writes to 100 fresh chunks of a PO snapshot.
full_cow_overflows_po_snapshot() {
	new_snapshot PO /dev/mapper/fcow || return 1
	pattern mine 0 800 >"$SCEN_TMP/mine" || return 1
	if put "$SCEN_TMP/mine" /dev/mapper/fsnap 4000 4096 direct >/dev/null; then
		echo "writing 100 chunks to a 62-chunk COW succeeded"
		return 1
	fi
	want_eq status "$(status_of fsnap)" Overflow
}

overflowed_snapshot_stays_readable() {
	# The first 62 chunks made it; the rest is still the origin's.
	head -c $((62 * CHUNK * 512)) "$SCEN_TMP/mine" >"$SCEN_TMP/fit" &&
		same_as "$SCEN_TMP/fit" /dev/mapper/fsnap 4000 &&
		pattern base $((4000 + 62 * CHUNK)) 100 >"$SCEN_TMP/rest" &&
		same_as "$SCEN_TMP/rest" /dev/mapper/fsnap $((4000 + 62 * CHUNK)) || return 1
	if dd if=/dev/zero of=/dev/mapper/fsnap bs=4096 count=1 oflag=direct 2>/dev/null; then
		echo "write to an overflowed snapshot succeeded"
		return 1
	fi
}

# Overflow keeps the snapshot only until the origin needs a copy.
origin_write_after_overflow_invalidates() {
	put "$SCEN_TMP/mine" /dev/mapper/forig 10000 4096 direct &&
		want_eq status "$(status_of fsnap)" Invalid &&
		same_as "$SCEN_TMP/mine" /dev/mapper/forig 10000 &&
		dmsetup remove fsnap && dmsetup remove fcow &&
		put "$SCEN_TMP/base" /dev/mapper/forig 0 1048576 direct
}

# The COW device starts failing every I/O under a live snapshot.
cow_io_error_invalidates_snapshot() {
	dmsetup create ecow --table "0 8192 linear /dev/ram2 0" &&
		new_snapshot P /dev/mapper/ecow || return 1
	pattern early 0 64 >"$SCEN_TMP/early" &&
		put "$SCEN_TMP/early" /dev/mapper/forig 100 4096 direct || return 1
	dmsetup load ecow --table "0 8192 error" && dmsetup resume ecow || return 1
	pattern late 0 64 >"$SCEN_TMP/late" &&
		put "$SCEN_TMP/late" /dev/mapper/forig 2000 4096 direct || return 1
	want_eq status "$(status_of fsnap)" Invalid
}

origin_works_after_cow_error() {
	same_as "$SCEN_TMP/late" /dev/mapper/forig 2000 &&
		same_as "$SCEN_TMP/early" /dev/mapper/forig 100 &&
		pattern again 0 64 >"$SCEN_TMP/again" &&
		put "$SCEN_TMP/again" /dev/mapper/forig 6000 4096 direct &&
		same_as "$SCEN_TMP/again" /dev/mapper/forig 6000
}

failed_snapshot_removes_cleanly() {
	dmsetup remove fsnap && dmsetup remove ecow
}

cleanup() {
	dmsetup remove forig && dmsetup remove fbase && no_devices_left
}

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm
setup || die "cannot set up the base devices"

check full_cow_invalidates_p_snapshot full_cow_invalidates_p_snapshot
check origin_works_after_invalidation origin_works_after_invalidation
check invalid_snapshot_io_fails invalid_snapshot_io_fails
check header_marked_invalid_on_disk header_marked_invalid_on_disk
check invalid_snapshot_reloads_invalid invalid_snapshot_reloads_invalid
check full_cow_overflows_po_snapshot full_cow_overflows_po_snapshot
check overflowed_snapshot_stays_readable overflowed_snapshot_stays_readable
check origin_write_after_overflow_invalidates origin_write_after_overflow_invalidates
check cow_io_error_invalidates_snapshot cow_io_error_invalidates_snapshot
check origin_works_after_cow_error origin_works_after_cow_error
check failed_snapshot_removes_cleanly failed_snapshot_removes_cleanly
check cleanup cleanup
rm -rf "$SCEN_TMP"
tap_done
