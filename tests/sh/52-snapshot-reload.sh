#!/bin/sh
# A snapshot's starting state is taken when its table is resumed, not
# when it is loaded.  The seed's case, for each store type: with a
# snapshot table active, a new table for the same COW device is loaded
# into the inactive slot, writes go on through the active one (to the
# snapshot and to the origin), then the new table is resumed: every
# write made before the resume is visible afterwards.  Also: a table
# that is loaded and then cleared changes nothing, and suspending the
# snapshot does not stop origin writes from being copied into it.
# Leaves no devices.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

SIZE=32768	# origin: 16 MiB on ram0
CHUNK=16

setup() {
	dmsetup create rbase --table "0 $SIZE linear /dev/ram0 0" || return 1
	pattern base 0 $SIZE >"$SCEN_TMP/base" || return 1
	put "$SCEN_TMP/base" /dev/mapper/rbase 0 1048576 direct &&
		dmsetup create rorig --table "0 $SIZE snapshot-origin /dev/mapper/rbase"
}

# snap_table KIND: the snapshot's table line.
snap_table() {
	echo "0 $SIZE snapshot /dev/mapper/rbase /dev/ram1 $1 $CHUNK"
}

# new_snapshot KIND: origin back to base, then a fresh snapshot of it.
new_snapshot() {
	dmsetup remove rsnap >/dev/null 2>&1
	put "$SCEN_TMP/base" /dev/mapper/rorig 0 1048576 direct &&
		dd_quiet if=/dev/zero of=/dev/ram1 bs=4096 count=1 oflag=direct &&
		dmsetup suspend rorig &&
		dmsetup create rsnap --table "$(snap_table "$1")" &&
		dmsetup resume rorig
}

# The seed's case for store type KIND.
writes_before_resume_survive() {
	kind=$1
	new_snapshot "$kind" || return 1
	cp "$SCEN_TMP/base" "$SCEN_TMP/snap" || return 1

	# Exceptions the new table must not miss: a snapshot write...
	pattern "one$kind" 0 100 >"$SCEN_TMP/w1" &&
		put "$SCEN_TMP/w1" /dev/mapper/rsnap 1003 4096 direct &&
		splice "$SCEN_TMP/snap" 1003 "$SCEN_TMP/w1" || return 1
	dmsetup load rsnap --table "$(snap_table "$kind")" || return 1
	# ... and, with the new table waiting, more of them, from both sides.
	pattern "two$kind" 0 300 >"$SCEN_TMP/w2" &&
		put "$SCEN_TMP/w2" /dev/mapper/rsnap 20001 65536 direct &&
		splice "$SCEN_TMP/snap" 20001 "$SCEN_TMP/w2" || return 1
	pattern "org$kind" 0 500 >"$SCEN_TMP/w3" &&
		put "$SCEN_TMP/w3" /dev/mapper/rorig 9000 65536 direct || return 1
	pattern "bth$kind" 0 64 >"$SCEN_TMP/w4" &&
		put "$SCEN_TMP/w4" /dev/mapper/rsnap 9100 4096 direct &&
		splice "$SCEN_TMP/snap" 9100 "$SCEN_TMP/w4" || return 1
	dmsetup resume rsnap || return 1

	want_match state "$(dmsetup status rsnap)" "snapshot [0-9]+/[0-9]+ [0-9]+$" &&
		same_as "$SCEN_TMP/snap" /dev/mapper/rsnap 0 || return 1

	# And it goes on working: an origin write after the resume.
	put "$SCEN_TMP/w3" /dev/mapper/rorig 30000 65536 direct &&
		same_as "$SCEN_TMP/snap" /dev/mapper/rsnap 0 || return 1
	dmsetup remove rsnap
}

# A table loaded, never resumed, then cleared: no effect at all.
cleared_table_changes_nothing() {
	new_snapshot P || return 1
	cp "$SCEN_TMP/base" "$SCEN_TMP/snap" || return 1
	pattern clr 0 40 >"$SCEN_TMP/w1" &&
		put "$SCEN_TMP/w1" /dev/mapper/rsnap 77 4096 direct &&
		splice "$SCEN_TMP/snap" 77 "$SCEN_TMP/w1" || return 1
	dmsetup load rsnap --table "$(snap_table P)" &&
		dmsetup clear rsnap || return 1
	put "$SCEN_TMP/w1" /dev/mapper/rorig 4000 4096 direct &&
		same_as "$SCEN_TMP/snap" /dev/mapper/rsnap 0 || return 1
	dmsetup remove rsnap
}

# A suspended snapshot still gets its copies.
suspended_snapshot_still_copies() {
	new_snapshot P || return 1
	dmsetup suspend rsnap || return 1
	pattern sus 0 256 >"$SCEN_TMP/w1" &&
		put "$SCEN_TMP/w1" /dev/mapper/rorig 5000 65536 direct || return 1
	dmsetup resume rsnap &&
		same_as "$SCEN_TMP/base" /dev/mapper/rsnap 0 || return 1
	dmsetup remove rsnap
}

cleanup() {
	dmsetup remove rorig && dmsetup remove rbase && no_devices_left
}

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm
setup || die "cannot set up the base devices"

check writes_before_resume_survive_persistent writes_before_resume_survive P
check writes_before_resume_survive_overflow_aware writes_before_resume_survive PO
check writes_before_resume_survive_transient writes_before_resume_survive N
check cleared_table_changes_nothing cleared_table_changes_nothing
check suspended_snapshot_still_copies suspended_snapshot_still_copies
check cleanup cleanup
rm -rf "$SCEN_TMP"
tap_done
