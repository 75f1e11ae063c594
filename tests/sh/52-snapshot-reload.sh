#!/bin/sh
# A snapshot's starting state is taken when its table is resumed, not
# when it is loaded.  The seed's case, for each store type: with a
# snapshot table active, a new table for the same COW device is loaded
# into the inactive slot, writes go on through the active one (to the
# snapshot and to the origin), then the new table is resumed: every
# write made before the resume is visible afterwards.  Also: a table
# that is loaded and then cleared changes nothing, suspending the
# snapshot does not stop origin writes from being copied into it, and
# snapshots removed while their last copies end go cleanly.  A first
# resume that waits on a suspended COW device holds up no other device,
# and refuses a second snapshot on that COW device.  Each test builds
# its own devices; none is left after it.
#
# dmx-test: timeout=600
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/snapshot.sh"

SIZE=32768	# origin: 16 MiB on ram0
CHUNK=16

# snap_table KIND: the snapshot's table line.
snap_table() {
	echo "0 $SIZE snapshot /dev/mapper/rbase /dev/ram1 $1 $CHUNK"
}

# snapshot_devices KIND: base, origin and a fresh snapshot rsnap of
# store type KIND; $SCEN_TMP/snap is what rsnap reads.
snapshot_devices() {
	dmsetup create rbase --table "0 $SIZE linear /dev/ram0 0" &&
		put "$SCEN_TMP/base" /dev/mapper/rbase 0 1048576 direct &&
		dmsetup create rorig --table "0 $SIZE snapshot-origin /dev/mapper/rbase" &&
		blank_cow /dev/ram1 &&
		snap_create_under rorig rsnap "$(snap_table "$1")" &&
		cp "$SCEN_TMP/base" "$SCEN_TMP/snap"
}

# snap_put SEED SECTORS AT BS: a write to the snapshot, and its image.
snap_put() {
	pattern "$1" 0 "$2" >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/rsnap "$3" "$4" direct &&
		splice "$SCEN_TMP/snap" "$3" "$SCEN_TMP/w"
}

# The seed's case for store type KIND.
writes_before_resume_survive() {
	kind=$1
	snapshot_devices "$kind" || return 1
	# Exceptions the new table must not miss: a snapshot write...
	snap_put "one$kind" 100 1003 4096 || return 1
	dmsetup load rsnap --table "$(snap_table "$kind")" || return 1
	# ... and, with the new table waiting, more of them, from both sides.
	snap_put "two$kind" 300 20001 65536 &&
		pattern "org$kind" 0 500 >"$SCEN_TMP/w3" &&
		put "$SCEN_TMP/w3" /dev/mapper/rorig 9000 65536 direct &&
		snap_put "bth$kind" 64 9100 4096 || return 1
	dmsetup resume rsnap || return 1

	want_match state "$(dmsetup status rsnap)" "snapshot [0-9]+/[0-9]+ [0-9]+$" &&
		same_as "$SCEN_TMP/snap" /dev/mapper/rsnap 0 || return 1

	# And it goes on working: an origin write after the resume.
	put "$SCEN_TMP/w3" /dev/mapper/rorig 30000 65536 direct &&
		same_as "$SCEN_TMP/snap" /dev/mapper/rsnap 0
}

writes_before_resume_survive_persistent() {
	writes_before_resume_survive P
}

writes_before_resume_survive_overflow_aware() {
	writes_before_resume_survive PO
}

writes_before_resume_survive_transient() {
	writes_before_resume_survive N
}

# A table loaded, never resumed, then cleared: no effect at all.
cleared_table_changes_nothing() {
	snapshot_devices P && snap_put clr 40 77 4096 &&
		dmsetup load rsnap --table "$(snap_table P)" &&
		dmsetup clear rsnap || return 1
	put "$SCEN_TMP/w" /dev/mapper/rorig 4000 4096 direct &&
		same_as "$SCEN_TMP/snap" /dev/mapper/rsnap 0
}

# A suspended snapshot still gets its copies.
suspended_snapshot_still_copies() {
	snapshot_devices P && dmsetup suspend rsnap || return 1
	pattern sus 0 256 >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/rorig 5000 65536 direct || return 1
	dmsetup resume rsnap &&
		same_as "$SCEN_TMP/base" /dev/mapper/rsnap 0
}

# Snapshots of both kinds removed, one after the other, while origin
# writes wait on their copies and their own last writes' copies end:
# each removal waits for them, and nothing is left or hangs.
removal_while_copies_end_is_clean() {
	dmsetup create rbase --table "0 $SIZE linear /dev/ram0 0" &&
		dmsetup create rorig --table "0 $SIZE snapshot-origin /dev/mapper/rbase" &&
		pattern rw 0 4096 >"$SCEN_TMP/rw" || return 1
	i=0
	while [ $i -lt 12 ]; do
		kind=N
		[ $((i % 2)) -eq 0 ] || kind=P
		blank_cow /dev/ram1 &&
			snap_create_under rorig rsnap "$(snap_table $kind)" &&
			dd_quiet if="$SCEN_TMP/rw" of=/dev/mapper/rsnap bs=8192 oflag=direct \
				conv=notrunc || return 1
		dd if="$SCEN_TMP/rw" of=/dev/mapper/rorig bs=65536 oflag=direct \
			seek=$((i % 8)) conv=notrunc 2>/dev/null &
		writer=$!
		dmsetup remove rsnap || { echo "removal $i failed"; return 1; }
		wait $writer || { echo "origin write $i failed"; return 1; }
		i=$((i + 1))
	done
	want_eq devices "$(dmsetup ls | cut -f1 | sort | tr '\n' ' ')" "rbase rorig "
}

# rsnap_waiting: rbase, rorig, and rsnap, a snapshot of rorig on the COW
# device rcow, suspended before rsnap's first resume; that resume
# started and waiting to read rcow, its pid in STARTER.
rsnap_waiting() {
	dmsetup create rbase --table "0 $SIZE linear /dev/ram0 0" &&
		put "$SCEN_TMP/base" /dev/mapper/rbase 0 1048576 direct &&
		dmsetup create rorig --table "0 $SIZE snapshot-origin /dev/mapper/rbase" &&
		blank_cow /dev/ram1 &&
		dmsetup create rcow --table "0 $SIZE linear /dev/ram1 0" &&
		dmsetup create rsnap --notable &&
		dmsetup load rsnap --table \
			"0 $SIZE snapshot /dev/mapper/rbase /dev/mapper/rcow P $CHUNK" &&
		dmsetup suspend rcow || return 1
	dmsetup resume rsnap &
	STARTER=$!
	wait_in_io $STARTER && return 0
	cow_back
	return 1
}

# cow_back: rcow resumed, then rsnap's first resume (STARTER) has ended
# well and rsnap is a valid snapshot.
cow_back() {
	dmsetup resume rcow || return 1
	wait "$STARTER" || { echo "rsnap's first resume failed"; return 1; }
	want_match state "$(dmsetup status rsnap)" "snapshot [0-9]+/[0-9]+ [0-9]+$"
}

# A snapshot whose first resume waits to read its store from a
# suspended COW device holds up no other device: another snapshot of
# the same origin starts meanwhile, and origin writes go on.  Stock dm
# reads the store when the table is loaded instead.
start_waiting_on_its_cow_holds_up_no_other() {
	rsnap_waiting || return 1
	blank_cow /dev/ram2 &&
		snap_create_under rorig rsnap2 \
			"0 $SIZE snapshot /dev/mapper/rbase /dev/ram2 P $CHUNK" &&
		pattern wait 0 128 >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/rorig 2000 65536 direct &&
		same_as "$SCEN_TMP/base" /dev/mapper/rsnap2 0
	r=$?
	cow_back && return $r
}

# A second snapshot on a COW device whose first snapshot is still
# reading it is refused at its resume, and the first one starts.
second_start_on_a_cow_being_read_is_refused() {
	rsnap_waiting || return 1
	dmesg_mark
	r=0
	if dmsetup create rsnap2 --table \
		"0 $SIZE snapshot /dev/mapper/rbase /dev/mapper/rcow P $CHUNK"; then
		echo "a second snapshot started on the COW device being read"
		r=1
	elif ! dmesg_since | grep -q "still starting"; then
		echo "no reason given in the kernel log"
		r=1
	fi
	dmsetup remove rsnap2 2>/dev/null
	cow_back && return $r
}

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm || die "devices left over from an earlier test"
pattern base 0 $SIZE >"$SCEN_TMP/base" || die "cannot make the base pattern"

snap_test writes_before_resume_survive_persistent
snap_test writes_before_resume_survive_overflow_aware
snap_test writes_before_resume_survive_transient
snap_test cleared_table_changes_nothing
snap_test suspended_snapshot_still_copies
snap_test removal_while_copies_end_is_clean
snap_test_dmx start_waiting_on_its_cow_holds_up_no_other \
	"stock dm reads the store at table load"
snap_test_dmx second_start_on_a_cow_being_read_is_refused \
	"stock dm reads the store at table load"
rm -rf "$SCEN_TMP"
tap_done
