#!/bin/sh
# A COW device's contents are untrusted input.  Exceptions that point
# past the origin's end, that wrap around when turned into a sector, or
# that name one origin chunk twice make the store corrupt, and a table
# on it does not resume.  A header that changed between a table's load
# and its resume is checked again, and a resume that refused it changes
# nothing, so a second resume refuses it too.  Each test builds its own
# devices and leaves none.
#
# The stock dm loads such stores (it checks none of this) and reads
# its store at load, not at resume: those tests are skipped there.
#
# dmx-test: timeout=300
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/snapshot.sh"

SIZE=32768		# origin: 16 MiB of ram0, 4096 chunks of 4 KiB
CHUNK=8
COW=/dev/ram1
IMG=$SCEN_TMP/cow.img

base_device() {
	dmsetup create ubase --table "0 $SIZE linear /dev/ram0 0" &&
		put "$SCEN_TMP/base" /dev/mapper/ubase 0 1048576 direct
}

# fails_to_resume NAME WHY: resuming NAME fails (else WHY is said).
fails_to_resume() {
	if dmsetup resume "$1" 2>&1; then
		echo "$2"
		return 1
	fi
}

# refuses_store OLD NEW [OLD NEW]: a store with those exceptions in its
# first area does not load as a snapshot.
refuses_store() {
	base_device && cow_image "$IMG" $CHUNK && image_header "$IMG" $CHUNK &&
		image_entry "$IMG" $CHUNK 0 "$1" "$2" || return 1
	if [ $# -gt 2 ]; then
		image_entry "$IMG" $CHUNK 1 "$3" "$4" || return 1
	fi
	put_image "$IMG" $COW || return 1
	if dmsetup create usnap --table "0 $SIZE snapshot /dev/mapper/ubase $COW P $CHUNK" 2>&1; then
		echo "a snapshot on exceptions $* loaded"
		return 1
	fi
}

load_refuses_exception_past_origin_end() {
	refuses_store $((SIZE / CHUNK)) 2
}

load_refuses_origin_chunk_listed_twice() {
	refuses_store 5 2 5 3
}

# 2^61 + 5 chunks of 8 sectors is sector 2^64 + 40: chunk 5, once wrapped.
WRAPS=$(((1 << 61) + 5))

load_refuses_exception_that_wraps() {
	refuses_store $WRAPS 2
}

# The merge of such a store would copy COW chunk 2 over origin chunk 5.
merge_of_wrapping_exception_leaves_origin_intact() {
	base_device && cow_image "$IMG" $CHUNK && image_header "$IMG" $CHUNK &&
		image_entry "$IMG" $CHUNK 0 $WRAPS 2 &&
		pattern evil 0 $CHUNK >"$SCEN_TMP/evil" &&
		dd_quiet if="$SCEN_TMP/evil" of="$IMG" bs=4096 seek=2 conv=notrunc &&
		put_image "$IMG" $COW || return 1
	r=0
	if dmsetup create umerge --table "0 $SIZE snapshot-merge /dev/mapper/ubase $COW P $CHUNK" 2>&1; then
		echo "a snapshot-merge on a wrapping exception loaded"
		wait_until 30 "merged" merge_done umerge
		dmsetup remove umerge
		r=1
	fi
	same_as "$SCEN_TMP/base" /dev/mapper/ubase 0 && return $r
}

# loaded_unresumed CHUNK: usnap has a snapshot table on a blank COW in
# its inactive slot, not resumed yet.
loaded_unresumed() {
	blank_cow $COW &&
		dmsetup create usnap --notable &&
		dmsetup load usnap --table "0 $SIZE snapshot /dev/mapper/ubase $COW P $1"
}

# Another table formats the same blank COW with 8 KiB chunks and goes.
reformat_cow() {
	dmsetup create uother --table "0 $SIZE snapshot /dev/mapper/ubase $COW P 16" &&
		dmsetup remove uother &&
		want_eq "chunk size on disk" "$(header_field $COW 3)" 16
}

resume_refuses_cow_reformatted_with_other_chunk_size() {
	base_device && loaded_unresumed $CHUNK && reformat_cow &&
		fails_to_resume usnap "resumed with 4 KiB chunks on a store of 8 KiB chunks"
}

# The refused resume must not have taken the disk's chunk size for ours.
second_resume_refuses_reformatted_cow_too() {
	base_device && loaded_unresumed $CHUNK && reformat_cow &&
		fails_to_resume usnap "the first resume succeeded" &&
		fails_to_resume usnap "the second resume succeeded"
}

# The same through a header written by hand: its chunk size is checked
# as the table's would be.
resume_refuses_header_with_invalid_chunk_size() {
	base_device && loaded_unresumed $CHUNK && cow_image "$IMG" $CHUNK &&
		image_header "$IMG" 12 && put_image "$IMG" $COW &&
		fails_to_resume usnap "resumed on a header with chunk size 12"
}

# A table that would take over from a snapshot on the same COW must
# agree with it on the chunk size it was loaded with.
resume_refuses_takeover_with_other_chunk_size() {
	base_device && loaded_unresumed $CHUNK &&
		dmsetup create uother --table "0 $SIZE snapshot /dev/mapper/ubase $COW P 16" &&
		dmsetup suspend uother &&
		fails_to_resume usnap "took over 8 KiB chunks with a table of 4 KiB chunks" &&
		dmsetup resume uother &&
		want_match other "$(snap_status uother)" '^[0-9]+/[0-9]+ [0-9]+$'
}

# A header whose chunk size is beyond what a table may ask for.
load_refuses_header_with_huge_chunk_size() {
	base_device && cow_image "$IMG" $CHUNK && image_header "$IMG" $((1 << 24)) &&
		put_image "$IMG" $COW || return 1
	if dmsetup create usnap --table "0 $SIZE snapshot /dev/mapper/ubase $COW P $CHUNK" 2>&1; then
		echo "loaded a header with 8 GiB chunks"
		return 1
	fi
}

# dmx_check NAME: test NAME on dmx only (see the header).
dmx_check() {
	snap_test_dmx "$1" "the stock dm loads what dmx refuses here"
}

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm || die "devices left over from an earlier test"
pattern base 0 $SIZE >"$SCEN_TMP/base" || die "cannot make the base pattern"

dmx_check load_refuses_exception_past_origin_end
dmx_check load_refuses_origin_chunk_listed_twice
dmx_check load_refuses_exception_that_wraps
dmx_check merge_of_wrapping_exception_leaves_origin_intact
dmx_check resume_refuses_cow_reformatted_with_other_chunk_size
dmx_check resume_refuses_header_with_invalid_chunk_size
dmx_check resume_refuses_takeover_with_other_chunk_size
snap_test load_refuses_header_with_huge_chunk_size
dmx_check second_resume_refuses_reformatted_cow_too
rm -rf "$SCEN_TMP"
tap_done
