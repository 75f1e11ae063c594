#!/bin/sh
# thin-pool and thin targets through dmsetup, as thin-provisioning.rst
# describes them: the versions LVM2 checks, constructor checks, the
# status and table lines, the messages (create_thin, create_snap,
# delete, set_transaction_id, reserve/release_metadata_snap), blocks
# provisioned on first write with the rest of the block zeroed, reads of
# unprovisioned blocks as zeroes, snapshots sharing blocks until either
# side writes, discards returning blocks, reloads and growth of the
# pool, and metadata that thin_check accepts afterwards.  Leaves no
# devices.
# dmx-test: timeout=400
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/thin.sh"

DATA_BLOCKS=$((65536 * 2 / THIN_BS))	# a 64 MiB data ramdisk
# The first writes: 3 MiB from sector 1000, partial first and last blocks.
W_FIRST=1000
W_LEN=6144
W_BLOCKS=$(((W_FIRST + W_LEN + THIN_BS - 1) / THIN_BS - W_FIRST / THIN_BS))
W_HIGHEST=$(((W_FIRST + W_LEN + THIN_BS - 1) / THIN_BS * THIN_BS - 1))

targets_have_upstream_versions() {
	out=$(dmsetup targets)
	want_match thin-pool "$out" '^thin-pool +v1\.22\.0$' &&
		want_match thin "$out" '^thin +v1\.22\.0$'
}

pool_formats_empty_metadata() {
	pool_create tpool || return 1
	# shellcheck disable=SC2046 # the status words
	set -- $(dmsetup status tpool)
	want_eq type "$3" thin-pool &&
		want_eq transaction "$4" 0 &&
		want_match metadata "$5" '^[0-9]+/16384$' &&
		want_eq data "$6" "0/$DATA_BLOCKS" &&
		want_eq held "$7" - &&
		want_eq mode "$8" rw &&
		want_match discards "$9" '^(no_)?discard_passdown$' &&
		want_eq no_space "${10}" queue_if_no_space &&
		want_eq needs_check "${11}" - &&
		want_eq metadata_low_water "${12}" 1024
}

pool_table_line_lists_features() {
	meta=$(devno "$THIN_META")
	data=$(devno "$THIN_DATA")
	want_eq plain "$(dmsetup table tpool)" \
		"0 $((DATA_BLOCKS * THIN_BS)) thin-pool $meta $data $THIN_BS 0 0 " &&
		dmsetup remove tpool &&
		pool_load tpool skip_block_zeroing error_if_no_space &&
		want_eq features "$(dmsetup table tpool)" \
			"0 $((DATA_BLOCKS * THIN_BS)) thin-pool $meta $data $THIN_BS 0 2 skip_block_zeroing error_if_no_space " &&
		want_eq no_space "$(pool_status_field tpool 7)" error_if_no_space &&
		dmsetup remove tpool && pool_load tpool
}

# table_refused NAME TABLE: dmsetup create must fail.
table_refused() {
	if dmsetup create tbad --table "$2" >/dev/null 2>&1; then
		dmsetup remove tbad
		echo "$1: loaded"
		return 1
	fi
	dm_exists tbad && dmsetup remove tbad
	return 0
}

pool_refuses_bad_tables() {
	size=$(size_of "$THIN_DATA")
	table_refused block_size_too_small "0 $size thin-pool /dev/ram2 $THIN_DATA 64 0" &&
		table_refused block_size_not_64k_multiple "0 $size thin-pool /dev/ram2 $THIN_DATA 192 0" &&
		table_refused block_size_too_big "0 $size thin-pool /dev/ram2 $THIN_DATA 4194304 0" &&
		table_refused same_devices "0 $size thin-pool $THIN_DATA $THIN_DATA 128 0" &&
		table_refused too_few_args "0 $size thin-pool /dev/ram2 $THIN_DATA 128" &&
		table_refused unknown_feature "0 $size thin-pool /dev/ram2 $THIN_DATA 128 0 1 fast" &&
		table_refused five_features "0 $size thin-pool /dev/ram2 $THIN_DATA 128 0 5 read_only read_only read_only read_only read_only" &&
		table_refused bad_low_water "0 $size thin-pool /dev/ram2 $THIN_DATA 128 x"
}

read_only_pool_does_not_format() {
	dd_quiet if=/dev/zero of=/dev/ram2 bs=4096 count=1 oflag=direct &&
		table_refused read_only_unformatted \
			"0 $(size_of "$THIN_DATA") thin-pool /dev/ram2 /dev/ram3 128 0 1 read_only"
}

new_thin_reads_zeroes() {
	thin_new thin0 tpool 0 || return 1
	zeroes $THIN_VOL >"$SCEN_TMP/zero"
	same_as "$SCEN_TMP/zero" /dev/mapper/thin0 0 &&
		want_eq status "$(thin_status_words thin0)" "0 -" &&
		want_eq table "$(dmsetup table thin0)" \
			"0 $THIN_VOL thin $(devno /dev/mapper/tpool) 0"
}

create_thin_twice_fails() {
	! pool_msg tpool create_thin 0 2>/dev/null
}

bad_messages_fail() {
	! pool_msg tpool create_thin 2>/dev/null &&
		! pool_msg tpool create_thin 16777216 2>/dev/null &&
		! pool_msg tpool create_snap 5 99 2>/dev/null &&
		! pool_msg tpool delete 99 2>/dev/null &&
		! pool_msg tpool frobnicate 2>/dev/null
}

transaction_id_is_compare_and_swap() {
	! pool_msg tpool set_transaction_id 1 2 2>/dev/null &&
		pool_msg tpool set_transaction_id 0 7 &&
		want_eq transaction "$(pool_status_field tpool 1)" 7 &&
		pool_msg tpool set_transaction_id 7 0
}

writes_provision_blocks() {
	cp "$SCEN_TMP/zero" "$SCEN_TMP/thin0"
	pattern t0a 0 $W_LEN >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/thin0 $W_FIRST 65536 direct &&
		splice "$SCEN_TMP/thin0" $W_FIRST "$SCEN_TMP/w" || return 1
	same_as "$SCEN_TMP/thin0" /dev/mapper/thin0 0 &&
		want_eq status "$(thin_status_words thin0)" \
			"$((W_BLOCKS * THIN_BS)) $W_HIGHEST" &&
		want_eq pool_used "$(pool_used_data tpool)" "$W_BLOCKS"
}

partial_write_zeroes_rest_of_block() {
	# One 4 KiB write in the middle of an unprovisioned block, whose
	# data block (the next free one, after those taken) holds junk.
	pattern junk 0 $((THIN_BS * 8)) >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" "$THIN_DATA" $((THIN_BS * W_BLOCKS)) 65536 direct &&
		pattern t0b 0 8 >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/thin0 $((THIN_BS * 200 + 16)) 4096 direct &&
		splice "$SCEN_TMP/thin0" $((THIN_BS * 200 + 16)) "$SCEN_TMP/w" &&
		same_as "$SCEN_TMP/thin0" /dev/mapper/thin0 0
}

snapshot_keeps_origin_content() {
	before=$(thin_status_words thin0)
	thin_snap snap1 tpool 1 0 thin0 || return 1
	cp "$SCEN_TMP/thin0" "$SCEN_TMP/snap1"
	used=$(pool_used_data tpool)
	# Overwrite shared blocks on the origin: the snapshot keeps the old.
	pattern t0c 0 1024 >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/thin0 1100 4096 direct &&
		splice "$SCEN_TMP/thin0" 1100 "$SCEN_TMP/w" || return 1
	same_as "$SCEN_TMP/snap1" /dev/mapper/snap1 0 &&
		same_as "$SCEN_TMP/thin0" /dev/mapper/thin0 0 &&
		want_eq copies "$(pool_used_data tpool)" $((used + 9)) &&
		want_eq snap_status "$(thin_status_words snap1)" "$before"
}

snapshot_writes_stay_in_snapshot() {
	pattern s1a 0 2000 >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/snap1 5000 8192 direct &&
		splice "$SCEN_TMP/snap1" 5000 "$SCEN_TMP/w" &&
		same_as "$SCEN_TMP/snap1" /dev/mapper/snap1 0 &&
		same_as "$SCEN_TMP/thin0" /dev/mapper/thin0 0
}

snapshot_of_snapshot_shares_too() {
	thin_snap snap2 tpool 2 1 snap1 || return 1
	cp "$SCEN_TMP/snap1" "$SCEN_TMP/snap2"
	pattern s2a 0 700 >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/snap2 5100 4096 direct &&
		splice "$SCEN_TMP/snap2" 5100 "$SCEN_TMP/w" &&
		same_as "$SCEN_TMP/snap2" /dev/mapper/snap2 0 &&
		same_as "$SCEN_TMP/snap1" /dev/mapper/snap1 0 &&
		same_as "$SCEN_TMP/thin0" /dev/mapper/thin0 0
}

delete_of_active_thin_is_busy() {
	! pool_msg tpool delete 2 2>/dev/null
}

delete_frees_unshared_blocks() {
	used=$(pool_used_data tpool)
	dmsetup remove snap2 && pool_msg tpool delete 2 || return 1
	# snap2 owned the 7 blocks it wrote; the rest are shared.
	want_eq pool_used "$(pool_used_data tpool)" $((used - 7))
}

discard_returns_blocks() {
	used=$(pool_used_data tpool)
	# snap1 owns blocks 39..54 (written from sector 5000 on): 40..54 go.
	blkdiscard -o $((THIN_BS * 40 * 512)) -l $((THIN_BS * 20 * 512)) /dev/mapper/snap1 || return 1
	zeroes $((THIN_BS * 20)) >"$SCEN_TMP/w"
	splice "$SCEN_TMP/snap1" $((THIN_BS * 40)) "$SCEN_TMP/w"
	same_as "$SCEN_TMP/snap1" /dev/mapper/snap1 0 &&
		same_as "$SCEN_TMP/thin0" /dev/mapper/thin0 0 &&
		want_eq pool_used "$(pool_used_data tpool)" $((used - 15))
}

metadata_snapshot_reserve_release() {
	pool_msg tpool reserve_metadata_snap || return 1
	held=$(pool_status_field tpool 4)
	want_match held "$held" '^[0-9]+$' || return 1
	! pool_msg tpool reserve_metadata_snap 2>/dev/null || return 1
	thin_dump -m "$THIN_META" >"$SCEN_TMP/dump" || return 1
	grep -q 'dev_id="1"' "$SCEN_TMP/dump" || { echo "no dev 1 in dump"; return 1; }
	pool_msg tpool release_metadata_snap &&
		want_eq held "$(pool_status_field tpool 4)" - &&
		! pool_msg tpool release_metadata_snap 2>/dev/null
}

pool_reload_keeps_everything() {
	table=$(dmsetup table tpool)
	dmsetup suspend snap1 && dmsetup suspend thin0 && dmsetup suspend tpool &&
		dmsetup reload tpool --table "$table" &&
		dmsetup resume tpool && dmsetup resume thin0 && dmsetup resume snap1 ||
		return 1
	same_as "$SCEN_TMP/snap1" /dev/mapper/snap1 0 &&
		same_as "$SCEN_TMP/thin0" /dev/mapper/thin0 0
}

thin_refused_on_suspended_pool() {
	dmsetup suspend tpool || return 1
	thin_create tbad tpool 1 2>/dev/null
	r=$?
	dm_exists tbad && dmsetup remove tbad
	dmsetup resume tpool
	[ $r -ne 0 ]
}

pool_reactivates_from_metadata() {
	dmsetup remove snap1 && dmsetup remove thin0 && dmsetup remove tpool ||
		return 1
	pool_load tpool && thin_create thin0 tpool 0 && thin_create snap1 tpool 1 ||
		return 1
	same_as "$SCEN_TMP/snap1" /dev/mapper/snap1 0 &&
		same_as "$SCEN_TMP/thin0" /dev/mapper/thin0 0
}

metadata_passes_thin_check() {
	dmsetup remove snap1 && dmsetup remove thin0 && dmsetup remove tpool ||
		return 1
	thin_check "$THIN_META" 2>&1 || return 1
	thin_dump "$THIN_META" >"$SCEN_TMP/dump" || return 1
	grep -c '<device ' "$SCEN_TMP/dump" | grep -qx 2 ||
		{ echo "want 2 devices:"; head -n 5 "$SCEN_TMP/dump"; return 1; }
}

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm || die "devices left over from an earlier test"

check targets_have_upstream_versions targets_have_upstream_versions
check pool_formats_empty_metadata pool_formats_empty_metadata
check pool_table_line_lists_features pool_table_line_lists_features
check pool_refuses_bad_tables pool_refuses_bad_tables
check read_only_pool_does_not_format read_only_pool_does_not_format
check new_thin_reads_zeroes new_thin_reads_zeroes
check create_thin_twice_fails create_thin_twice_fails
check bad_messages_fail bad_messages_fail
check transaction_id_is_compare_and_swap transaction_id_is_compare_and_swap
check writes_provision_blocks writes_provision_blocks
check partial_write_zeroes_rest_of_block partial_write_zeroes_rest_of_block
check snapshot_keeps_origin_content snapshot_keeps_origin_content
check snapshot_writes_stay_in_snapshot snapshot_writes_stay_in_snapshot
check snapshot_of_snapshot_shares_too snapshot_of_snapshot_shares_too
check delete_of_active_thin_is_busy delete_of_active_thin_is_busy
check delete_frees_unshared_blocks delete_frees_unshared_blocks
check discard_returns_blocks discard_returns_blocks
check metadata_snapshot_reserve_release metadata_snapshot_reserve_release
check pool_reload_keeps_everything pool_reload_keeps_everything
check thin_refused_on_suspended_pool thin_refused_on_suspended_pool
check pool_reactivates_from_metadata pool_reactivates_from_metadata
check metadata_passes_thin_check metadata_passes_thin_check
remove_all_dm
check no_devices_left no_devices_left
rm -rf "$SCEN_TMP"
tap_done
