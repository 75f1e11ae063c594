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
# before the merge.  (How merges fail: 59-snapshot-merge-failure.sh.)
# Each test builds its own devices; none is left after it.
#
# dmx-test: timeout=900
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/snapshot.sh"

SIZE=32768	# origin: 16 MiB of ram0
CHUNK=8
MERGE="0 $SIZE snapshot-merge /dev/mapper/mbase /dev/mapper/mcow P $CHUNK"

# put_both FILE DEV SECTOR IMAGE: FILE written to DEV, IMAGE updated.
put_both() {
	put "$1" "$2" "$3" 65536 direct && splice "$4" "$3" "$1"
}

# put_direct FILE DEV SECTOR IMAGE: the same without the final flush,
# which would wait for a suspended COW device.
put_direct() {
	dd_quiet if="$1" of="$2" bs=65536 seek=$(($3 * 512)) oflag=seek_bytes,direct \
		conv=notrunc && splice "$4" "$3" "$1"
}

# snapshot_with_data: the merge stack, msnap with data from both
# sides, then mkeep, a transient snapshot that keeps the origin as it
# is now.  $SCEN_TMP/origin and snap are what they read.
snapshot_with_data() {
	merge_stack $SIZE "$(size_of /dev/ram1)" $CHUNK || return 1
	# 900 exceptions: four metadata areas to merge.
	pattern o1 0 3000 >"$SCEN_TMP/w" &&
		put_both "$SCEN_TMP/w" /dev/mapper/morig 1000 "$SCEN_TMP/origin" &&
		pattern s1 0 4000 >"$SCEN_TMP/w" &&
		put_both "$SCEN_TMP/w" /dev/mapper/msnap 12345 "$SCEN_TMP/snap" &&
		pattern s2 0 300 >"$SCEN_TMP/w" &&
		put_both "$SCEN_TMP/w" /dev/mapper/msnap 2000 "$SCEN_TMP/snap" || return 1
	snap_create_under morig mkeep "0 $SIZE snapshot /dev/mapper/mbase /dev/ram2 N $CHUNK" &&
		cp "$SCEN_TMP/snap" "$SCEN_TMP/merged"
}

# LVM's step: the origin's table becomes a snapshot-merge of msnap's COW.
start_merge() {
	dmsetup suspend msnap && dmsetup suspend morig &&
		dmsetup load morig --table "$MERGE" && dmsetup resume morig
}

# Polls the status, as LVM does, until nothing is left to merge.
merge_to_the_end() {
	wait_until 60 "merged ($(dmsetup status morig))" merge_done morig
}

merge_table_takes_over_the_snapshot() {
	snapshot_with_data && start_merge &&
		want_match status "$(dmsetup status morig)" \
			"^0 $SIZE snapshot-merge [0-9]+/[0-9]+ [0-9]+\$" &&
		want_eq table "$(dmsetup table morig)" \
			"0 $SIZE snapshot-merge $(devno /dev/mapper/mbase) $(devno /dev/mapper/mcow) P $CHUNK"
}

# The snapshot that handed its COW over is gone for good; LVM removes it.
handed_over_snapshot_is_invalid() {
	snapshot_with_data && start_merge &&
		want_eq status "$(snap_status msnap)" Invalid
}

merge_leaves_header_and_first_area() {
	snapshot_with_data && start_merge && merge_to_the_end &&
		want_eq status "$(dmsetup status morig)" \
			"0 $SIZE snapshot-merge $((2 * CHUNK))/$(size_of /dev/mapper/mcow) $((2 * CHUNK))"
}

merged_origin_reads_snapshot_content() {
	snapshot_with_data && start_merge && merge_to_the_end &&
		same_as "$SCEN_TMP/snap" /dev/mapper/morig 0 &&
		same_as "$SCEN_TMP/snap" /dev/mapper/mbase 0
}

# Writes, while the COW device is held so the merge cannot go on, to
# chunks that never had an exception (the second snapshot copies those
# first); they read back at once and once the merge is done.
writes_during_merge_land() {
	snapshot_with_data && dmsetup suspend mcow && start_merge || return 1
	pattern m2 0 500 >"$SCEN_TMP/w2" &&
		put_direct "$SCEN_TMP/w2" /dev/mapper/morig 30001 "$SCEN_TMP/merged" &&
		pattern m3 0 64 >"$SCEN_TMP/w3" &&
		put_direct "$SCEN_TMP/w3" /dev/mapper/morig 10 "$SCEN_TMP/merged" || return 1
	! merge_done morig || { echo "merge finished with its COW device held"; return 1; }
	same_as "$SCEN_TMP/w2" /dev/mapper/morig 30001 &&
		same_as "$SCEN_TMP/w3" /dev/mapper/morig 10 &&
		dmsetup resume mcow && merge_to_the_end &&
		same_as "$SCEN_TMP/merged" /dev/mapper/morig 0
}

# Writes to chunks with exceptions, merged or not, as the merge goes on.
writes_to_merging_chunks_land() {
	snapshot_with_data && start_merge &&
		pattern m1 0 2000 >"$SCEN_TMP/w" &&
		put_both "$SCEN_TMP/w" /dev/mapper/morig 12000 "$SCEN_TMP/merged" &&
		merge_to_the_end &&
		same_as "$SCEN_TMP/merged" /dev/mapper/morig 0
}

# The merge is stopped by removing the device, and a new device picks
# it up from the COW device.
merge_survives_recreate() {
	snapshot_with_data && dmsetup suspend mcow && start_merge &&
		dmsetup resume mcow && dmsetup remove morig &&
		dmsetup create morig --table "$MERGE" &&
		merge_to_the_end &&
		same_as "$SCEN_TMP/snap" /dev/mapper/morig 0
}

other_snapshot_keeps_old_origin() {
	snapshot_with_data && start_merge && merge_to_the_end &&
		same_as "$SCEN_TMP/origin" /dev/mapper/mkeep 0
}

# LVM's last step: the origin becomes a plain origin again.
origin_table_after_merge_reads_merged() {
	snapshot_with_data && start_merge && merge_to_the_end &&
		dmsetup load morig --table "0 $SIZE snapshot-origin /dev/mapper/mbase" &&
		dmsetup resume morig &&
		same_as "$SCEN_TMP/snap" /dev/mapper/morig 0 &&
		same_as "$SCEN_TMP/snap" /dev/mapper/mbase 0 &&
		same_as "$SCEN_TMP/origin" /dev/mapper/mkeep 0
}


use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm || die "devices left over from an earlier test"
pattern base 0 $SIZE >"$SCEN_TMP/base" || die "cannot make the base pattern"

snap_test merge_table_takes_over_the_snapshot
snap_test handed_over_snapshot_is_invalid
snap_test merge_leaves_header_and_first_area
snap_test merged_origin_reads_snapshot_content
snap_test writes_during_merge_land
snap_test writes_to_merging_chunks_land
snap_test merge_survives_recreate
snap_test other_snapshot_keeps_old_origin
snap_test origin_table_after_merge_reads_merged
rm -rf "$SCEN_TMP"
tap_done
