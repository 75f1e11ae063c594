#!/bin/sh
# How a merge fails, and that it can be taken up again.  A merge whose
# copies fail says "Merge failed"; one whose metadata write or metadata
# read fails says so too and leaves the store as it was, so that loading
# the snapshot-merge table again, once the COW device works, merges
# everything and nothing else (no header copied onto the origin, no
# area skipped).  A merge that has to wait for another snapshot of the
# origin to finish starting goes on once it has.  Each test builds its
# own devices and leaves none.
#
# dmx-test: timeout=600
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/snapshot.sh"

SIZE=32768		# origin: 16 MiB of ram0
CHUNK=8			# 4 KiB: 256 exceptions per metadata area
EPA=256
COWSIZE=16384		# the merging snapshot's COW: 8 MiB of ram1
MERGE="0 $SIZE snapshot-merge /dev/mapper/mbase /dev/mapper/mcow P $CHUNK"

merge_devices() {
	merge_stack $SIZE $COWSIZE $CHUNK
}

# snap_writes FIRST N: msnap writes chunks FIRST.. FIRST+N-1, one
# exception each.
snap_writes() {
	pattern "s$1" 0 $(($2 * CHUNK)) >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/msnap $(($1 * CHUNK)) 65536 direct &&
		splice "$SCEN_TMP/snap" $(($1 * CHUNK)) "$SCEN_TMP/w"
}

# LVM's step: the origin's table becomes a snapshot-merge of msnap's COW.
start_merge() {
	dmsetup suspend msnap && dmsetup suspend morig &&
		dmsetup load morig --table "$MERGE" && dmsetup resume morig
}

# First metadata area of the COW failing, the rest working; and back.
cow_area0_fails() {
	printf '0 8 linear /dev/ram1 0\n8 8 error\n16 %d linear /dev/ram1 16\n' \
		$((COWSIZE - 16)) | dmsetup load mcow && dmsetup resume mcow
}

cow_works() {
	dmsetup load mcow --table "0 $COWSIZE linear /dev/ram1 0" && dmsetup resume mcow
}

# The merge table loaded again, and the merge through to its end.
merge_again_to_the_end() {
	dmsetup load morig --table "$MERGE" && dmsetup resume morig &&
		wait_until 60 "merged ($(dmsetup status morig))" merge_done morig
}

# The COW device held while the merge starts, then failing every I/O.
merge_of_failing_copies_says_merge_failed() {
	merge_devices && snap_writes 1 100 && dmsetup suspend mcow && start_merge || return 1
	dmsetup load mcow --table "0 $COWSIZE error" && dmsetup resume mcow &&
		wait_until 30 "Merge failed: $(snap_status morig)" status_is morig "Merge failed"
}

# The first batch's commit fails: the 64 newest exceptions must still be
# there for the next try, and none may become "chunk 0 to chunk 0".
merge_retried_after_failed_metadata_write_is_complete() {
	merge_devices && snap_writes 1 100 && cow_area0_fails && start_merge || return 1
	wait_until 30 "Merge failed: $(snap_status morig)" status_is morig "Merge failed" &&
		cow_works && merge_again_to_the_end &&
		same_as "$SCEN_TMP/snap" /dev/mapper/morig 0
}

# The second step cannot read area 0: the next try must read it again
# rather than take the merge for finished.
merge_retried_after_failed_metadata_read_is_complete() {
	merge_devices && snap_writes 1 $((EPA + 10)) && cow_area0_fails && start_merge || return 1
	wait_until 30 "Merge failed: $(snap_status morig)" status_is morig "Merge failed" &&
		cow_works && merge_again_to_the_end &&
		same_as "$SCEN_TMP/snap" /dev/mapper/morig 0
}

no_inactive_table() {
	! dmsetup info "$1" | grep -q INACTIVE
}

# A second snapshot s2 of the origin, whose COW is full, is reloaded
# while the merge runs: the new table stays starting until s2's header
# is rewritten (invalid), which its held COW device delays.  The
# merge's first step asks the origin's snapshots for copies while s2 is
# starting; it must go on once s2 has started.
merge_goes_on_once_a_reloaded_snapshot_has_started() {
	merge_devices && snap_writes 0 $EPA || return 1
	S2="0 $SIZE snapshot /dev/mapper/mbase /dev/mapper/s2cow P $CHUNK"
	blank_cow /dev/ram2 &&
		dmsetup create s2cow --table "0 $((3 * CHUNK)) linear /dev/ram2 0" &&
		snap_create_under morig s2 "$S2" || return 1
	# s2 fills its one data chunk.
	pattern full 0 $CHUNK >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/s2 28000 4096 direct &&
		want_eq s2 "$(snap_status s2)" "$((3 * CHUNK))/$((3 * CHUNK)) $((2 * CHUNK))" || return 1

	# The merge starts, its first step held reading area 0 back.
	cp "$SCEN_TMP/snap" "$SCEN_TMP/merged" &&
		dmsetup suspend mcow && start_merge || return 1
	# An origin write s2 has no room for: s2 is lost, and the write
	# waits for its header, held by the suspended s2cow.
	dmsetup suspend s2cow || return 1
	pattern late 0 $CHUNK >"$SCEN_TMP/late" &&
		splice "$SCEN_TMP/merged" 24000 "$SCEN_TMP/late" || return 1
	dd if="$SCEN_TMP/late" of=/dev/mapper/morig bs=4096 seek=3000 oflag=direct \
		conv=notrunc 2>/dev/null &
	writer=$!
	wait_until 30 "Invalid: $(snap_status s2)" status_is s2 Invalid || return 1
	# s2 reloaded: its new table starts, and waits for that header.
	dmsetup load s2 --table "$S2" || return 1
	dmsetup resume s2 &
	resumer=$!
	wait_until 30 "swapped in" no_inactive_table s2 || return 1
	# The merge's step goes on to ask for copies, then s2 starts.
	dmsetup resume mcow && dmsetup resume s2cow || return 1
	wait $resumer || { echo "the resume of s2 failed"; return 1; }
	wait $writer || { echo "the origin write failed"; return 1; }
	wait_until 60 "merged ($(dmsetup status morig))" merge_done morig &&
		same_as "$SCEN_TMP/merged" /dev/mapper/morig 0 &&
		timeout 30 dmsetup suspend morig && dmsetup resume morig
}

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm || die "devices left over from an earlier test"
pattern base 0 $SIZE >"$SCEN_TMP/base" || die "cannot make the base pattern"

snap_test merge_of_failing_copies_says_merge_failed
snap_test_dmx merge_retried_after_failed_metadata_write_is_complete \
	"the stock dm loses the failed batch (the same hole)"
snap_test_dmx merge_retried_after_failed_metadata_read_is_complete \
	"the stock dm skips the area it failed to read (the same hole)"
snap_test merge_goes_on_once_a_reloaded_snapshot_has_started
rm -rf "$SCEN_TMP"
tap_done
