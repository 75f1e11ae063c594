#!/bin/sh
# Snapshot basics with dmsetup, as snapshot.rst describes them: a
# snapshot-origin over a base device and a persistent snapshot of it.
# Origin writes leave the snapshot's view alone, snapshot writes leave
# the origin alone, status and table lines are upstream's, a snapshot
# reloaded from its COW device reads the same, bad tables are refused
# with a clear error, and chunks larger than one bio work.  Each test
# builds its own devices; none is left after it.
#
# dmx-test: timeout=600
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/snapshot.sh"

SIZE=32768	# origin: 16 MiB on ram0
COW=16384	# COW: 8 MiB on ram1
CHUNK=8
SNAP="0 $SIZE snapshot /dev/mapper/sbase /dev/mapper/scow P $CHUNK"

# origin_devices: base (the base pattern), a blank COW and the origin.
origin_devices() {
	dmsetup create sbase --table "0 $SIZE linear /dev/ram0 0" &&
		dmsetup create scow --table "0 $COW linear /dev/ram1 0" &&
		put "$SCEN_TMP/base" /dev/mapper/sbase 0 1048576 direct &&
		blank_cow /dev/mapper/scow &&
		dmsetup create sorig --table "0 $SIZE snapshot-origin /dev/mapper/sbase"
}

# snapshot_devices [TABLE]: the origin's devices and a snapshot ssnap.
snapshot_devices() {
	origin_devices && snap_create_under sorig ssnap "${1:-$SNAP}"
}

# origin_write: 2000 sectors from 1001 (chunks 125 to 375, neither end
# aligned) through the origin; $SCEN_TMP/origimg is what it then holds.
origin_write() {
	pattern new 0 2000 >"$SCEN_TMP/new" &&
		put "$SCEN_TMP/new" /dev/mapper/sorig 1001 65536 direct &&
		cp "$SCEN_TMP/base" "$SCEN_TMP/origimg" &&
		splice "$SCEN_TMP/origimg" 1001 "$SCEN_TMP/new"
}

# snapshot_write: 300 sectors from 20003 (partial chunks at both ends,
# whole ones between) through the snapshot; $SCEN_TMP/snapimg is what
# it then reads.
snapshot_write() {
	pattern mine 0 300 >"$SCEN_TMP/mine" &&
		put "$SCEN_TMP/mine" /dev/mapper/ssnap 20003 4096 direct &&
		cp "$SCEN_TMP/base" "$SCEN_TMP/snapimg" &&
		splice "$SCEN_TMP/snapimg" 20003 "$SCEN_TMP/mine"
}

targets_are_registered() {
	out=$(dmsetup targets) || return 1
	echo "$out"
	echo "$out" | grep -q '^snapshot  *v1\.16\.0$' &&
		echo "$out" | grep -q '^snapshot-origin  *v1\.9\.0$' &&
		echo "$out" | grep -q '^snapshot-merge  *v1\.5\.0$'
}

snapshot_loads() {
	origin_devices && snap_create_under sorig ssnap "$SNAP" &&
		want_eq state "$(dm_state ssnap)" ACTIVE
}

# A fresh store: header and first area allocated, both metadata.
fresh_status_is_header_and_area() {
	snapshot_devices &&
		want_eq status "$(dmsetup status ssnap)" \
			"0 $SIZE snapshot $((2 * CHUNK))/$COW $((2 * CHUNK))"
}

table_line_names_devices() {
	snapshot_devices &&
		want_eq table "$(dmsetup table ssnap)" \
			"0 $SIZE snapshot $(devno /dev/mapper/sbase) $(devno /dev/mapper/scow) P $CHUNK" &&
		want_eq origin "$(dmsetup table sorig)" \
			"0 $SIZE snapshot-origin $(devno /dev/mapper/sbase)"
}

snapshot_reads_origin_data() {
	snapshot_devices && same_as "$SCEN_TMP/base" /dev/mapper/ssnap 0
}

origin_write_keeps_snapshot_view() {
	snapshot_devices && origin_write &&
		same_as "$SCEN_TMP/base" /dev/mapper/ssnap 0 &&
		same_as "$SCEN_TMP/origimg" /dev/mapper/sorig 0 &&
		same_as "$SCEN_TMP/origimg" /dev/mapper/sbase 0
}

# 251 chunks copied after the header and the first area.
status_counts_copied_chunks() {
	snapshot_devices && origin_write &&
		want_eq status "$(dmsetup status ssnap)" \
			"0 $SIZE snapshot $(((2 + 251) * CHUNK))/$COW $((2 * CHUNK))"
}

origin_rewrite_copies_nothing() {
	snapshot_devices && origin_write || return 1
	before=$(dmsetup status ssnap)
	put "$SCEN_TMP/new" /dev/mapper/sorig 1001 4096 direct &&
		want_eq status "$(dmsetup status ssnap)" "$before"
}

snapshot_write_stays_in_snapshot() {
	snapshot_devices && snapshot_write &&
		same_as "$SCEN_TMP/snapimg" /dev/mapper/ssnap 0 &&
		same_as "$SCEN_TMP/base" /dev/mapper/sorig 0
}

reloaded_snapshot_reads_the_same() {
	snapshot_devices && snapshot_write && origin_write &&
		dmsetup remove ssnap &&
		snap_create_under sorig ssnap "$SNAP" &&
		same_as "$SCEN_TMP/snapimg" /dev/mapper/ssnap 0
}

# The chunk size on disk wins over the table's.
header_chunk_size_wins() {
	snapshot_devices && snapshot_write && dmsetup remove ssnap &&
		snap_create_under sorig ssnap \
			"0 $SIZE snapshot /dev/mapper/sbase /dev/mapper/scow P 16" &&
		want_match table "$(dmsetup table ssnap)" " P $CHUNK\$" &&
		same_as "$SCEN_TMP/snapimg" /dev/mapper/ssnap 0
}

# Chunks of 2 MiB, two bios' worth each: copies, the status and a reload.
BIG=4096
BIG_SNAP="0 $SIZE snapshot /dev/mapper/sbase /dev/mapper/scow P $BIG"

two_mib_chunks_keep_snapshot_view() {
	snapshot_devices "$BIG_SNAP" && origin_write &&
		same_as "$SCEN_TMP/base" /dev/mapper/ssnap 0 &&
		same_as "$SCEN_TMP/origimg" /dev/mapper/sorig 0 &&
		want_eq status "$(dmsetup status ssnap)" \
			"0 $SIZE snapshot $((3 * BIG))/$COW $((2 * BIG))"
}

two_mib_chunks_reload_the_same() {
	snapshot_devices "$BIG_SNAP" && snapshot_write && origin_write &&
		dmsetup remove ssnap && snap_create_under sorig ssnap "$BIG_SNAP" &&
		same_as "$SCEN_TMP/snapimg" /dev/mapper/ssnap 0
}

# The origin and the COW on one loop device with a one-request queue: a
# copy's write sent from the loop worker's completion of its read would
# wait for a request only that worker can free.
loop_backed_origin_and_cow_copy_everything() {
	if module_loaded loop && ! rmmod loop 2>/dev/null; then
		echo "loop is in use"
		return 1
	fi
	modprobe loop hw_queue_depth=1 &&
		truncate -s 40M "$SCEN_TMP/loop.img" &&
		lo=$(losetup -f) && losetup "$lo" "$SCEN_TMP/loop.img" || return 1
	r=0
	pattern lnew 0 16384 >"$SCEN_TMP/lnew" &&
		head -c $((16384 * 512)) "$SCEN_TMP/base" >"$SCEN_TMP/lbase" &&
		dmsetup create lbase --table "0 16384 linear $lo 0" &&
		dmsetup create lcow --table "0 65536 linear $lo 16384" &&
		put "$SCEN_TMP/lbase" /dev/mapper/lbase 0 1048576 direct &&
		blank_cow /dev/mapper/lcow &&
		dmsetup create lorig --table "0 16384 snapshot-origin /dev/mapper/lbase" &&
		snap_create_under lorig lsnap \
			"0 16384 snapshot /dev/mapper/lbase /dev/mapper/lcow P $CHUNK" || r=1
	if [ $r -eq 0 ] && ! timeout 120 dd if="$SCEN_TMP/lnew" of=/dev/mapper/lorig \
		bs=1048576 oflag=direct conv=notrunc 2>/dev/null; then
		echo "the origin write did not finish"
		r=1
	fi
	[ $r -ne 0 ] || same_as "$SCEN_TMP/lbase" /dev/mapper/lsnap 0 || r=1
	[ $r -ne 0 ] || same_as "$SCEN_TMP/lnew" /dev/mapper/lorig 0 || r=1
	remove_all_dm
	losetup -d "$lo"
	rm -f "$SCEN_TMP/loop.img"
	rmmod loop 2>/dev/null
	return $r
}

# not_loaded TABLE: a device with TABLE does not load.
not_loaded() {
	if dmsetup create sbad --table "$1" 2>&1; then
		echo "accepted: $1"
		return 1
	fi
}

# refused ARGS: on the usual devices, "snapshot ARGS" does not load.
refused() {
	origin_devices && not_loaded "0 $SIZE snapshot $*"
}

# header_refused BYTES: a snapshot on a COW starting with BYTES does not
# load.
header_refused() {
	# shellcheck disable=SC2059 # BYTES is the format: it holds escapes
	origin_devices && printf "$1" | dd_quiet of="$SCEN_TMP/hdr" bs=512 conv=sync &&
		dd_quiet if="$SCEN_TMP/hdr" of=/dev/mapper/scow bs=512 oflag=direct conv=notrunc &&
		not_loaded "$SNAP"
}

chunk_size_not_power_of_two_refused() {
	refused /dev/mapper/sbase /dev/mapper/scow P 12
}

chunk_size_zero_transient_refused() {
	refused /dev/mapper/sbase /dev/mapper/scow N 0
}

chunk_size_above_1gib_refused() {
	refused /dev/mapper/sbase /dev/mapper/scow N 4194304
}

unknown_store_type_refused() {
	refused /dev/mapper/sbase /dev/mapper/scow X 8
}

unknown_store_option_refused() {
	refused /dev/mapper/sbase /dev/mapper/scow PX 8
}

cow_equal_to_origin_refused() {
	refused /dev/mapper/sbase /dev/mapper/sbase P 8
}

too_few_arguments_refused() {
	refused /dev/mapper/sbase /dev/mapper/scow P
}

unknown_feature_refused() {
	refused /dev/mapper/sbase /dev/mapper/scow P 8 1 frobnicate
}

corrupt_header_refused() {
	header_refused 'garbage header, not a snapshot'
}

# "SnAp", valid, version 2, chunk size 8
unknown_disk_version_refused() {
	header_refused 'SnAp\001\000\000\000\002\000\000\000\010\000\000\000'
}

# A COW device with 4 KiB logical blocks (a null_blk) takes no 2 KiB
# chunks.
chunk_below_block_size_refused() {
	if module_loaded null_blk; then
		skip chunk_below_block_size_refused "null_blk already in use"
		return
	fi
	if ! modprobe null_blk nr_devices=1 bs=4096 gb=1 || [ ! -b /dev/nullb0 ]; then
		not_ok chunk_below_block_size_refused
		diag "cannot make a 4 KiB-block null_blk device"
		return
	fi
	check chunk_below_block_size_refused refused /dev/mapper/sbase /dev/nullb0 N 4
	remove_all_dm || die "devices left after chunk_below_block_size_refused"
	rmmod null_blk
}

merge_of_transient_refused() {
	origin_devices &&
		not_loaded "0 $SIZE snapshot-merge /dev/mapper/sbase /dev/mapper/scow N 8"
}


use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm || die "devices left over from an earlier test"
pattern base 0 $SIZE >"$SCEN_TMP/base" || die "cannot make the base pattern"

snap_test targets_are_registered
snap_test snapshot_loads
snap_test fresh_status_is_header_and_area
snap_test table_line_names_devices
snap_test snapshot_reads_origin_data
snap_test origin_write_keeps_snapshot_view
snap_test status_counts_copied_chunks
snap_test origin_rewrite_copies_nothing
snap_test snapshot_write_stays_in_snapshot
snap_test reloaded_snapshot_reads_the_same
snap_test header_chunk_size_wins
snap_test two_mib_chunks_keep_snapshot_view
snap_test two_mib_chunks_reload_the_same
snap_test loop_backed_origin_and_cow_copy_everything
snap_test chunk_size_not_power_of_two_refused
snap_test chunk_size_zero_transient_refused
snap_test chunk_size_above_1gib_refused
snap_test unknown_store_type_refused
snap_test unknown_store_option_refused
snap_test cow_equal_to_origin_refused
snap_test too_few_arguments_refused
snap_test unknown_feature_refused
snap_test corrupt_header_refused
snap_test unknown_disk_version_refused
chunk_below_block_size_refused
snap_test merge_of_transient_refused
rm -rf "$SCEN_TMP"
tap_done
