#!/bin/sh
# Snapshot basics with dmsetup, as snapshot.rst describes them: a
# snapshot-origin over a base device and a persistent snapshot of it.
# Origin writes leave the snapshot's view alone, snapshot writes leave
# the origin alone, status and table lines are upstream's, a snapshot
# reloaded from its COW device reads the same, and bad tables are
# refused with a clear error.  Leaves no devices.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

SIZE=65536	# origin: 32 MiB on ram0
COW=16384	# COW: 8 MiB on ram1
CHUNK=8

# snap_create NAME TABLE_ARGS: a snapshot of sbase, origin suspended
# around the load as upstream asks.
snap_create() {
	dmsetup suspend sorig || return 1
	dmsetup create "$1" --table "0 $SIZE snapshot $2"
	_r=$?
	dmsetup resume sorig || return 1
	return $_r
}

setup() {
	dmsetup create sbase --table "0 $SIZE linear /dev/ram0 0" &&
		dmsetup create scow --table "0 $COW linear /dev/ram1 0" || return 1
	pattern base 0 $SIZE >"$SCEN_TMP/base" || return 1
	put "$SCEN_TMP/base" /dev/mapper/sbase 0 1048576 direct &&
		dd_quiet if=/dev/zero of=/dev/mapper/scow bs=4096 count=1 oflag=direct &&
		dmsetup create sorig --table "0 $SIZE snapshot-origin /dev/mapper/sbase"
}

targets_are_registered() {
	out=$(dmsetup targets) || return 1
	echo "$out"
	echo "$out" | grep -q '^snapshot  *v1\.16\.0$' &&
		echo "$out" | grep -q '^snapshot-origin  *v1\.9\.0$' &&
		echo "$out" | grep -q '^snapshot-merge  *v1\.5\.0$'
}

snapshot_loads() {
	snap_create ssnap "/dev/mapper/sbase /dev/mapper/scow P $CHUNK"
}

# A fresh store: header and first area allocated, both metadata.
fresh_status_is_header_and_area() {
	want_eq status "$(dmsetup status ssnap)" \
		"0 $SIZE snapshot $((2 * CHUNK))/$COW $((2 * CHUNK))"
}

table_line_names_devices() {
	want_eq table "$(dmsetup table ssnap)" \
		"0 $SIZE snapshot $(devno /dev/mapper/sbase) $(devno /dev/mapper/scow) P $CHUNK" &&
		want_eq origin "$(dmsetup table sorig)" \
			"0 $SIZE snapshot-origin $(devno /dev/mapper/sbase)"
}

snapshot_reads_origin_data() {
	same_as "$SCEN_TMP/base" /dev/mapper/ssnap 0
}

# 2000 sectors from 1001: chunks 125 to 375, none aligned.
origin_write_keeps_snapshot_view() {
	pattern new 0 2000 >"$SCEN_TMP/new" || return 1
	put "$SCEN_TMP/new" /dev/mapper/sorig 1001 65536 direct || return 1
	{
		head -c $((1001 * 512)) "$SCEN_TMP/base"
		cat "$SCEN_TMP/new"
		tail -c +$(((3001 * 512) + 1)) "$SCEN_TMP/base"
	} >"$SCEN_TMP/origimg" || return 1
	same_as "$SCEN_TMP/base" /dev/mapper/ssnap 0 &&
		same_as "$SCEN_TMP/origimg" /dev/mapper/sorig 0 &&
		same_as "$SCEN_TMP/origimg" /dev/mapper/sbase 0
}

# 251 chunks copied after the header and the first area.
status_counts_copied_chunks() {
	want_eq status "$(dmsetup status ssnap)" \
		"0 $SIZE snapshot $(((2 + 251) * CHUNK))/$COW $((2 * CHUNK))"
}

origin_rewrite_copies_nothing() {
	put "$SCEN_TMP/new" /dev/mapper/sorig 1001 4096 direct || return 1
	status_counts_copied_chunks
}

# Partial chunks at both ends, and whole chunks in between.
snapshot_write_stays_in_snapshot() {
	pattern mine 0 300 >"$SCEN_TMP/mine" || return 1
	put "$SCEN_TMP/mine" /dev/mapper/ssnap 40003 4096 direct || return 1
	same_as "$SCEN_TMP/mine" /dev/mapper/ssnap 40003 &&
		same_as "$SCEN_TMP/origimg" /dev/mapper/sorig 0 &&
		pattern base 39000 1003 >"$SCEN_TMP/before" &&
		same_as "$SCEN_TMP/before" /dev/mapper/ssnap 39000
}

# What the snapshot shows: base, with its own write on top.
snapshot_image() {
	{
		head -c $((40003 * 512)) "$SCEN_TMP/base"
		cat "$SCEN_TMP/mine"
		tail -c +$(((40303 * 512) + 1)) "$SCEN_TMP/base"
	} >"$SCEN_TMP/snapimg"
}

reloaded_snapshot_reads_the_same() {
	snapshot_image || return 1
	dmsetup remove ssnap || return 1
	snap_create ssnap "/dev/mapper/sbase /dev/mapper/scow P $CHUNK" || return 1
	same_as "$SCEN_TMP/snapimg" /dev/mapper/ssnap 0
}

# The chunk size on disk wins over the table's.
header_chunk_size_wins() {
	dmsetup remove ssnap || return 1
	snap_create ssnap "/dev/mapper/sbase /dev/mapper/scow P 16" || return 1
	want_match table "$(dmsetup table ssnap)" " P $CHUNK\$" &&
		same_as "$SCEN_TMP/snapimg" /dev/mapper/ssnap 0
}

# refused NAME ARGS: loading "snapshot ARGS" into a new device fails.
refused() {
	_name=$1
	shift
	if dmsetup create sbad --table "0 $SIZE snapshot $*" >"$SCEN_TMP/err" 2>&1; then
		not_ok "$_name"
		diag "snapshot $* was accepted"
		dmsetup remove sbad
	else
		ok "$_name"
	fi
	dmsetup remove sbad >/dev/null 2>&1
}

bad_tables_are_refused() {
	dd_quiet if=/dev/zero of=/dev/ram2 bs=4096 count=1 oflag=direct || return 1
	refused chunk_size_not_power_of_two_refused /dev/mapper/sbase /dev/ram2 P 12
	refused chunk_size_zero_transient_refused /dev/mapper/sbase /dev/ram2 N 0
	refused unknown_store_type_refused /dev/mapper/sbase /dev/ram2 X 8
	refused unknown_store_option_refused /dev/mapper/sbase /dev/ram2 PX 8
	refused cow_equal_to_origin_refused /dev/mapper/sbase /dev/mapper/sbase P 8
	refused too_few_arguments_refused /dev/mapper/sbase /dev/ram2 P
	refused unknown_feature_refused /dev/mapper/sbase /dev/ram2 P 8 1 frobnicate
	printf 'garbage header, not a snapshot' |
		dd_quiet of=/dev/ram2 bs=512 conv=notrunc,fsync || return 1
	refused corrupt_header_refused /dev/mapper/sbase /dev/ram2 P 8
	# "SnAp", valid, version 2, chunk size 8
	printf 'SnAp\001\000\000\000\002\000\000\000\010\000\000\000' |
		dd_quiet of=/dev/ram2 bs=512 conv=notrunc,fsync || return 1
	refused unknown_disk_version_refused /dev/mapper/sbase /dev/ram2 P 8
	dd_quiet if=/dev/zero of=/dev/ram2 bs=4096 count=1 oflag=direct
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
	refused chunk_below_block_size_refused /dev/mapper/sbase /dev/nullb0 N 4
	rmmod null_blk
}

merge_of_transient_refused() {
	expect_fail merge_of_transient_refused \
		dmsetup create sbad --table "0 $SIZE snapshot-merge /dev/mapper/sbase /dev/ram2 N 8"
	dmsetup remove sbad >/dev/null 2>&1
}

cleanup() {
	dmsetup remove ssnap && dmsetup remove sorig &&
		dmsetup remove scow && dmsetup remove sbase && no_devices_left
}

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm
setup || die "cannot set up the base devices"

check targets_are_registered targets_are_registered
check snapshot_loads snapshot_loads
check fresh_status_is_header_and_area fresh_status_is_header_and_area
check table_line_names_devices table_line_names_devices
check snapshot_reads_origin_data snapshot_reads_origin_data
check origin_write_keeps_snapshot_view origin_write_keeps_snapshot_view
check status_counts_copied_chunks status_counts_copied_chunks
check origin_rewrite_copies_nothing origin_rewrite_copies_nothing
check snapshot_write_stays_in_snapshot snapshot_write_stays_in_snapshot
check reloaded_snapshot_reads_the_same reloaded_snapshot_reads_the_same
check header_chunk_size_wins header_chunk_size_wins
bad_tables_are_refused
chunk_below_block_size_refused
merge_of_transient_refused
check cleanup cleanup
rm -rf "$SCEN_TMP"
tap_done
