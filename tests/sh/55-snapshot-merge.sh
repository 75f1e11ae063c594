#!/bin/sh
# Merging a snapshot back into its origin, the way LVM does it with
# dmsetup: the origin's snapshot-origin table is replaced by a
# snapshot-merge table on the snapshot's COW device, which takes the
# exceptions over from the (suspended) snapshot; the merge runs in the
# background while the device is written, and goes on across removing
# and re-creating the device; the status shrinks until the allocated
# sectors equal the metadata sectors.  The origin then reads the
# snapshot's content with the writes made during the merge on top, and
# a second snapshot of the same origin still reads what the origin held
# before the merge.  A merge whose copies fail says "Merge failed".
# Leaves no devices.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

SIZE=32768	# origin: 16 MiB of ram0
CHUNK=8

# put_both FILE DEV SECTOR IMAGE: FILE written to DEV, IMAGE updated.
put_both() {
	put "$1" "$2" "$3" 65536 direct && splice "$4" "$3" "$1"
}

# put_direct FILE DEV SECTOR IMAGE: the same without the final flush,
# which would wait for the suspended COW device.
put_direct() {
	dd_quiet if="$1" of="$2" bs=65536 seek=$(($3 * 512)) oflag=seek_bytes,direct \
		conv=notrunc && splice "$4" "$3" "$1"
}

setup() {
	dmsetup create mbase --table "0 $SIZE linear /dev/ram0 0" || return 1
	pattern base 0 $SIZE >"$SCEN_TMP/origin" &&
		put "$SCEN_TMP/origin" /dev/mapper/mbase 0 1048576 direct &&
		dd_quiet if=/dev/zero of=/dev/ram1 bs=4096 count=1 oflag=direct &&
		dmsetup create mcow --table "0 $(size_of /dev/ram1) linear /dev/ram1 0" &&
		dmsetup create morig --table "0 $SIZE snapshot-origin /dev/mapper/mbase" &&
		dmsetup suspend morig &&
		dmsetup create msnap --table "0 $SIZE snapshot /dev/mapper/mbase /dev/mapper/mcow P $CHUNK" &&
		dmsetup resume morig
}

# The snapshot to merge gets data from both sides; then a second
# snapshot (transient) keeps the origin as it is now.
snapshot_with_data() {
	cp "$SCEN_TMP/origin" "$SCEN_TMP/snap" || return 1
	pattern o1 0 6000 >"$SCEN_TMP/w" &&
		put_both "$SCEN_TMP/w" /dev/mapper/morig 1000 "$SCEN_TMP/origin" &&
		pattern s1 0 9000 >"$SCEN_TMP/w" &&
		put_both "$SCEN_TMP/w" /dev/mapper/msnap 12345 "$SCEN_TMP/snap" &&
		pattern s2 0 300 >"$SCEN_TMP/w" &&
		put_both "$SCEN_TMP/w" /dev/mapper/msnap 2000 "$SCEN_TMP/snap" || return 1
	dmsetup suspend morig &&
		dmsetup create mkeep --table "0 $SIZE snapshot /dev/mapper/mbase /dev/ram2 N $CHUNK" &&
		dmsetup resume morig &&
		same_as "$SCEN_TMP/snap" /dev/mapper/msnap 0 &&
		same_as "$SCEN_TMP/origin" /dev/mapper/mkeep 0
}

allocated() {
	dmsetup status "$1" | awk '{ split($4, a, "/"); print a[1] }'
}

metadata() {
	dmsetup status "$1" | awk '{ print $5 }'
}

# The COW device is held suspended, so the merge cannot finish before
# the writes below have been made.
merge_starts() {
	dmsetup suspend msnap &&
		dmsetup suspend mcow &&
		dmsetup suspend morig &&
		dmsetup load morig --table "0 $SIZE snapshot-merge /dev/mapper/mbase /dev/mapper/mcow P $CHUNK" &&
		dmsetup resume morig || return 1
	cp "$SCEN_TMP/snap" "$SCEN_TMP/merged"
	want_match status "$(dmsetup status morig)" "^0 $SIZE snapshot-merge [0-9]+/[0-9]+ [0-9]+\$"
}

# The snapshot that handed its COW over is gone for good; LVM removes it.
handed_over_snapshot_is_invalid() {
	want_eq status "$(dmsetup status msnap | cut -d' ' -f4)" Invalid &&
		dmsetup remove msnap
}

# Writes during the merge: to chunks that never had an exception (the
# second snapshot copies those first) while the merge is stuck, then,
# once it may go on, to chunks with exceptions, merged or not.
writes_during_merge_land() {
	echo "allocated at the start: $(allocated morig), metadata $(metadata morig)" >"$SCEN_TMP/progress"
	pattern m2 0 500 >"$SCEN_TMP/w" &&
		put_direct "$SCEN_TMP/w" /dev/mapper/morig 30001 "$SCEN_TMP/merged" &&
		pattern m3 0 64 >"$SCEN_TMP/w" &&
		put_direct "$SCEN_TMP/w" /dev/mapper/morig 10 "$SCEN_TMP/merged" || return 1
	[ "$(allocated morig)" != "$(metadata morig)" ] ||
		{ echo "merge finished with its COW device suspended"; return 1; }
	pattern m2 0 500 >"$SCEN_TMP/w" &&
		same_as "$SCEN_TMP/w" /dev/mapper/morig 30001
}

# Writes to chunks with exceptions, merged or not, as the merge goes on.
writes_to_merging_chunks_land() {
	echo "allocated before the writes: $(allocated morig)" >>"$SCEN_TMP/progress"
	pattern m1 0 2000 >"$SCEN_TMP/w" &&
		put_both "$SCEN_TMP/w" /dev/mapper/morig 12000 "$SCEN_TMP/merged" || return 1
	echo "allocated after the writes: $(allocated morig)" >>"$SCEN_TMP/progress"
	same_as "$SCEN_TMP/merged" /dev/mapper/morig 0
}

MERGE_TABLE="0 $SIZE snapshot-merge /dev/mapper/mbase /dev/mapper/mcow P $CHUNK"

# The merge goes on, is stopped by removing the device, and a new device
# picks it up from the COW device.
merge_survives_recreate() {
	dmsetup resume mcow && dmsetup remove morig || return 1
	dmsetup create morig --table "$MERGE_TABLE" || return 1
	echo "allocated after re-creation: $(allocated morig)" >>"$SCEN_TMP/progress"
	same_as "$SCEN_TMP/merged" /dev/mapper/morig 0
}

# Polls the status, as LVM does, for up to 60 s.
merge_finishes() {
	i=0
	while [ "$(allocated morig)" != "$(metadata morig)" ]; do
		i=$((i + 1))
		[ $i -le 600 ] || { echo "not done: $(dmsetup status morig)"; return 1; }
		sleep 0.1
	done
	want_eq status "$(dmsetup status morig)" \
		"0 $SIZE snapshot-merge $((2 * CHUNK))/$(size_of /dev/mapper/mcow) $((2 * CHUNK))"
}

merged_origin_reads_snapshot_content() {
	same_as "$SCEN_TMP/merged" /dev/mapper/morig 0
}

other_snapshot_kept_old_origin() {
	same_as "$SCEN_TMP/origin" /dev/mapper/mkeep 0
}

# LVM's last step: the origin becomes a plain origin again.
origin_after_merge() {
	dmsetup load morig --table "0 $SIZE snapshot-origin /dev/mapper/mbase" &&
		dmsetup resume morig &&
		same_as "$SCEN_TMP/merged" /dev/mapper/morig 0 &&
		same_as "$SCEN_TMP/merged" /dev/mapper/mbase 0 &&
		same_as "$SCEN_TMP/origin" /dev/mapper/mkeep 0
}

# A merge whose copies fail stops and says so.
merge_failure_reported() {
	dd_quiet if=/dev/zero of=/dev/mapper/mcow bs=4096 count=1 oflag=direct &&
		dmsetup suspend morig &&
		dmsetup create mfail --table "0 $SIZE snapshot /dev/mapper/mbase /dev/mapper/mcow P $CHUNK" &&
		dmsetup resume morig || return 1
	pattern f1 0 512 >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/mfail 100 65536 direct || return 1
	mcow_size=$(size_of /dev/mapper/mcow)
	dmsetup suspend mfail && dmsetup suspend mcow && dmsetup suspend morig &&
		dmsetup load morig --table "$MERGE_TABLE" && dmsetup resume morig &&
		dmsetup load mcow --table "0 $mcow_size error" && dmsetup resume mcow || return 1
	i=0
	until [ "$(dmsetup status morig | cut -d' ' -f4-)" = "Merge failed" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || { echo "status: $(dmsetup status morig)"; return 1; }
		sleep 0.1
	done
	dmsetup remove mfail && dmsetup remove morig
}

cleanup() {
	dmsetup remove mkeep && dmsetup remove mcow &&
		dmsetup remove mbase && no_devices_left
}

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm
setup || die "cannot set up the devices"

check snapshot_with_data snapshot_with_data
check merge_starts merge_starts
check handed_over_snapshot_is_invalid handed_over_snapshot_is_invalid
check writes_during_merge_land writes_during_merge_land
check merge_survives_recreate merge_survives_recreate
check writes_to_merging_chunks_land writes_to_merging_chunks_land
check merge_finishes merge_finishes
diag "$(cat "$SCEN_TMP/progress")"
check merged_origin_reads_snapshot_content merged_origin_reads_snapshot_content
check other_snapshot_kept_old_origin other_snapshot_kept_old_origin
check origin_after_merge origin_after_merge
check merge_failure_reported merge_failure_reported
check cleanup cleanup
rm -rf "$SCEN_TMP"
tap_done
