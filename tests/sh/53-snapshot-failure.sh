#!/bin/sh
# How snapshots fail.  A full COW device loses a P snapshot (status
# Invalid, its I/O fails, its header says invalid on disk and it loads
# invalid again) while the origin keeps working; a PO snapshot filled by
# its own writes says Overflow, refuses more writes and stays readable
# until the origin needs a copy.  An I/O error on the COW device
# invalidates the snapshot, the origin keeps working and nothing hangs.
# Each test builds its own devices; none is left after it.
#
# dmx-test: timeout=600
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/snapshot.sh"

SIZE=16384	# origin: 8 MiB on ram0
CHUNK=8		# 4 KiB
COW=512		# 64 chunks: header, one area, 62 data chunks
FIT=62

# snapshot_on KIND COWSECTORS: base, origin and snapshot fsnap of type
# KIND on fcow, a blank linear device of COWSECTORS on ram1.
snapshot_on() {
	dmsetup create fbase --table "0 $SIZE linear /dev/ram0 0" &&
		put "$SCEN_TMP/base" /dev/mapper/fbase 0 1048576 direct &&
		dmsetup create forig --table "0 $SIZE snapshot-origin /dev/mapper/fbase" &&
		dmsetup create fcow --table "0 $2 linear /dev/ram1 0" &&
		blank_cow /dev/mapper/fcow &&
		snap_create_under forig fsnap \
			"0 $SIZE snapshot /dev/mapper/fbase /dev/mapper/fcow $1 $CHUNK"
}

# full_p_snapshot: origin writes to 100 fresh chunks, of which 62 fit.
full_p_snapshot() {
	snapshot_on P $COW &&
		pattern over 0 800 >"$SCEN_TMP/over" &&
		put "$SCEN_TMP/over" /dev/mapper/forig 4000 4096 direct
}

# overflowed_po_snapshot: snapshot writes to 100 fresh chunks of a PO
# snapshot, which fail once 62 are written.
overflowed_po_snapshot() {
	snapshot_on PO $COW &&
		pattern mine 0 800 >"$SCEN_TMP/mine" || return 1
	if put "$SCEN_TMP/mine" /dev/mapper/fsnap 4000 4096 direct >/dev/null; then
		echo "writing 100 chunks to a 62-chunk COW succeeded"
		return 1
	fi
}

# failed_cow_snapshot: a snapshot whose COW starts failing every I/O,
# then an origin write that needs a copy.
failed_cow_snapshot() {
	snapshot_on P 8192 &&
		pattern early 0 64 >"$SCEN_TMP/early" &&
		put "$SCEN_TMP/early" /dev/mapper/forig 100 4096 direct &&
		dmsetup load fcow --table "0 8192 error" && dmsetup resume fcow &&
		pattern late 0 64 >"$SCEN_TMP/late" &&
		put "$SCEN_TMP/late" /dev/mapper/forig 2000 4096 direct
}

fails() {
	if "$@" 2>/dev/null; then
		echo "succeeded: $*"
		return 1
	fi
}

full_cow_invalidates_p_snapshot() {
	full_p_snapshot && want_eq status "$(snap_status fsnap)" Invalid
}

origin_works_after_invalidation() {
	full_p_snapshot &&
		same_as "$SCEN_TMP/over" /dev/mapper/forig 4000 &&
		pattern base 0 4000 >"$SCEN_TMP/head" &&
		same_as "$SCEN_TMP/head" /dev/mapper/forig 0 &&
		put "$SCEN_TMP/base" /dev/mapper/forig 0 1048576 direct &&
		same_as "$SCEN_TMP/base" /dev/mapper/forig 0
}

invalid_snapshot_io_fails() {
	full_p_snapshot &&
		fails dd if=/dev/mapper/fsnap of=/dev/null bs=4096 count=1 iflag=direct &&
		fails dd if=/dev/zero of=/dev/mapper/fsnap bs=4096 count=1 oflag=direct
}

header_marked_invalid_on_disk() {
	full_p_snapshot && want_eq valid "$(header_field /dev/mapper/fcow 1)" 0
}

invalid_snapshot_reloads_invalid() {
	full_p_snapshot && dmsetup remove fsnap &&
		dmsetup create fsnap --table "0 $SIZE snapshot /dev/mapper/fbase /dev/mapper/fcow P $CHUNK" &&
		want_eq status "$(snap_status fsnap)" Invalid
}

full_cow_overflows_po_snapshot() {
	overflowed_po_snapshot && want_eq status "$(snap_status fsnap)" Overflow
}

# The chunks that fit read back, the rest is still the origin's, and a
# write is refused.
overflowed_snapshot_stays_readable() {
	overflowed_po_snapshot &&
		head -c $((FIT * CHUNK * 512)) "$SCEN_TMP/mine" >"$SCEN_TMP/fit" &&
		same_as "$SCEN_TMP/fit" /dev/mapper/fsnap 4000 &&
		pattern base $((4000 + FIT * CHUNK)) 100 >"$SCEN_TMP/rest" &&
		same_as "$SCEN_TMP/rest" /dev/mapper/fsnap $((4000 + FIT * CHUNK)) &&
		fails dd if=/dev/zero of=/dev/mapper/fsnap bs=4096 count=1 oflag=direct
}

# Overflow keeps the snapshot only until the origin needs a copy.
origin_write_after_overflow_invalidates() {
	overflowed_po_snapshot &&
		put "$SCEN_TMP/mine" /dev/mapper/forig 10000 4096 direct &&
		want_eq status "$(snap_status fsnap)" Invalid &&
		same_as "$SCEN_TMP/mine" /dev/mapper/forig 10000
}

cow_io_error_invalidates_snapshot() {
	failed_cow_snapshot && want_eq status "$(snap_status fsnap)" Invalid
}

origin_works_after_cow_error() {
	failed_cow_snapshot &&
		same_as "$SCEN_TMP/late" /dev/mapper/forig 2000 &&
		same_as "$SCEN_TMP/early" /dev/mapper/forig 100 &&
		pattern again 0 64 >"$SCEN_TMP/again" &&
		put "$SCEN_TMP/again" /dev/mapper/forig 6000 4096 direct &&
		same_as "$SCEN_TMP/again" /dev/mapper/forig 6000
}

failed_snapshot_removes_cleanly() {
	failed_cow_snapshot && dmsetup remove fsnap && dmsetup remove fcow &&
		! dm_exists fsnap
}


use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm || die "devices left over from an earlier test"
pattern base 0 $SIZE >"$SCEN_TMP/base" || die "cannot make the base pattern"

snap_test full_cow_invalidates_p_snapshot
snap_test origin_works_after_invalidation
snap_test invalid_snapshot_io_fails
snap_test header_marked_invalid_on_disk
snap_test invalid_snapshot_reloads_invalid
snap_test full_cow_overflows_po_snapshot
snap_test overflowed_snapshot_stays_readable
snap_test origin_write_after_overflow_invalidates
snap_test cow_io_error_invalidates_snapshot
snap_test origin_works_after_cow_error
snap_test failed_snapshot_removes_cleanly
rm -rf "$SCEN_TMP"
tap_done
