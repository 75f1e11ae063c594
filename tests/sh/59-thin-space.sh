#!/bin/sh
# A thin pool running out of space, as thin-provisioning.rst says:
# crossing the low water mark sends one event; out of data space, a
# write to a new block waits (queue_if_no_space) until the pool grows,
# or fails at once (error_if_no_space), or fails when the no-space
# timeout runs out; reads and writes to provisioned blocks go on all
# along; suspend, resume and removal work meanwhile.  Out of metadata
# space the pool goes read-only, and back to writing once its metadata
# device grows.  The pool's data and metadata sit on linear devices
# over the ramdisks, so that they can grow.  Leaves no devices.
# dmx-test: timeout=600
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/thin.sh"

THIN_META=/dev/mapper/tmeta
THIN_DATA=/dev/mapper/tdata
THIN_VOL=65536
DATA_BLOCKS=64			# 4 MiB of data
BLOCK_BYTES=$((THIN_BS * 512))

if [ "$DMX_IMPL" = stock ]; then
	TIMEOUT_PARAM=/sys/module/dm_thin_pool/parameters/no_space_timeout
else
	TIMEOUT_PARAM=/sys/module/dmx/parameters/thin_no_space_timeout
fi

# devices DATA_BLOCKS META_SECTORS [FEATURES...]: tdata, tmeta (zeroed),
# the pool and thin volume 0 on them.
devices() {
	_blocks=$1 _meta=$2
	shift 2
	dmsetup create tdata --table "0 $((_blocks * THIN_BS)) linear /dev/ram1 0" &&
		dmsetup create tmeta --table "0 $_meta linear /dev/ram0 0" &&
		pool_create pool "$@" && thin_new thin0 pool 0
}

# grow NAME SECTORS DEV: a bigger linear table for NAME, live.
grow() {
	dmsetup suspend pool && dmsetup reload "$1" --table "0 $2 linear $3 0" &&
		dmsetup resume "$1" &&
		dmsetup reload pool --table "$(dmsetup table pool | sed "s/^0 [0-9]*/0 $(size_of "$THIN_DATA")/")" &&
		dmsetup resume pool
}

# fill N: writes the first N blocks of thin0, one block each.
fill() {
	dd if=/dev/zero of=/dev/mapper/thin0 bs=$BLOCK_BYTES count="$1" \
		oflag=direct 2>/dev/null
}

# block_write_to NAME N: one O_DIRECT write to block N of NAME (its status).
block_write_to() {
	dd if=/dev/zero of="/dev/mapper/$1" bs=$BLOCK_BYTES seek="$2" count=1 \
		oflag=direct 2>/dev/null
}

block_write() {
	block_write_to thin0 "$1"
}

# wait_for_mode MODE: polls the pool's status (the oracle) for MODE.
wait_for_mode() {
	i=0
	while [ "$(pool_status_field pool 5)" != "$1" ]; do
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "mode $(pool_status_field pool 5), want $1"; return 1; }
		sleep 0.1
	done
}

events() {
	info_line pool "Event number"
}

teardown() {
	remove_all_dm
}

low_water_mark_sends_one_event() {
	dmsetup create tdata --table "0 $((DATA_BLOCKS * THIN_BS)) linear /dev/ram1 0" &&
		dmsetup create tmeta --table "0 8192 linear /dev/ram0 0" &&
		dd_quiet if=/dev/zero of="$THIN_META" bs=4096 count=1 oflag=direct &&
		dmsetup create pool --table \
			"0 $((DATA_BLOCKS * THIN_BS)) thin-pool $THIN_META $THIN_DATA $THIN_BS 16 0" &&
		thin_new thin0 pool 0 || return 1
	before=$(events)
	fill $((DATA_BLOCKS - 20)) || return 1
	want_eq "events above the mark" "$(events)" "$before" || return 1
	fill $((DATA_BLOCKS - 14)) || return 1
	after=$(events)
	[ "$after" -gt "$before" ] || { echo "no event at the low water mark"; return 1; }
	fill $((DATA_BLOCKS - 10)) &&
		want_eq "events below the mark" "$(events)" "$after" &&
		want_eq mode "$(pool_status_field pool 5)" rw
}

queued_write_goes_on_once_pool_grows() {
	devices $DATA_BLOCKS 8192 && fill $DATA_BLOCKS || return 1
	pattern q1 0 $THIN_BS >"$SCEN_TMP/w"
	put "$SCEN_TMP/w" /dev/mapper/thin0 $((DATA_BLOCKS * THIN_BS)) $BLOCK_BYTES direct &
	writer=$!
	wait_for_mode out_of_data_space || return 1
	kill -0 $writer 2>/dev/null || { echo "the write did not wait"; return 1; }
	want_eq no_space "$(pool_status_field pool 7)" queue_if_no_space &&
		same_as "$SCEN_TMP/w" /dev/mapper/thin0 $((DATA_BLOCKS * THIN_BS)) 2>/dev/null &&
		{ echo "read the queued write back early"; return 1; }
	# Provisioned blocks go on meanwhile.
	block_write 3 || { echo "write to a provisioned block failed"; return 1; }
	grow tdata $((DATA_BLOCKS * 2 * THIN_BS)) /dev/ram1 || return 1
	wait $writer || { echo "the queued write failed"; return 1; }
	same_as "$SCEN_TMP/w" /dev/mapper/thin0 $((DATA_BLOCKS * THIN_BS)) &&
		want_eq mode "$(pool_status_field pool 5)" rw
}

error_if_no_space_fails_at_once() {
	devices $DATA_BLOCKS 8192 error_if_no_space && fill $DATA_BLOCKS || return 1
	block_write $DATA_BLOCKS && { echo "write beyond the pool succeeded"; return 1; }
	want_eq mode "$(pool_status_field pool 5)" out_of_data_space &&
		want_eq no_space "$(pool_status_field pool 7)" error_if_no_space &&
		block_write 5 && dmsetup suspend thin0 && dmsetup resume thin0 &&
		dmsetup suspend pool && dmsetup resume pool &&
		dmsetup remove thin0
}

queued_write_fails_after_timeout() {
	echo 3 >"$TIMEOUT_PARAM" || return 1
	devices $DATA_BLOCKS 8192 && fill $DATA_BLOCKS || return 1
	block_write $DATA_BLOCKS &
	writer=$!
	wait_for_mode out_of_data_space || return 1
	wait $writer && { echo "the queued write succeeded"; return 1; }
	want_eq no_space "$(pool_status_field pool 7)" error_if_no_space &&
		dmsetup remove thin0
}

discard_gives_space_back() {
	devices $DATA_BLOCKS 8192 error_if_no_space && fill $DATA_BLOCKS || return 1
	blkdiscard -l $((BLOCK_BYTES * 8)) /dev/mapper/thin0 || return 1
	# Freed blocks come back at the next commit: a flush makes one.
	blockdev --flushbufs /dev/mapper/thin0 || return 1
	block_write $DATA_BLOCKS || { echo "write after the discard failed"; return 1; }
	want_eq mode "$(pool_status_field pool 5)" rw
}

# Many snapshots, each writing into two leaves of a shared tree, use up
# a small metadata device: the pool goes read-only (dm-thin also sets
# needs_check when a change ran out of blocks before the reserve was hit).
out_of_metadata_space_is_read_only() {
	devices 1024 512 skip_block_zeroing && fill 400 &&
		thin_new thin1 pool 1000 && block_write_to thin1 0 || return 1
	n=1
	while [ "$(pool_status_field pool 5)" = rw ] && [ $n -lt 200 ]; do
		thin_snap "s$n" pool $n 0 thin0 >/dev/null 2>&1 || break
		block_write_to "s$n" $((n % 50))
		block_write_to "s$n" $((300 + n % 50))
		dmsetup remove "s$n"
		n=$((n + 1))
	done
	diag "read-only after $n snapshots: $(dmsetup status pool)"
	want_eq mode "$(pool_status_field pool 5)" ro || return 1
	block_write 450 && { echo "provisioning write succeeded"; return 1; }
	block_write_to thin1 0 || { echo "write to an unshared block failed"; return 1; }
	dd if=/dev/mapper/thin0 of=/dev/null bs=1M count=16 iflag=direct 2>/dev/null
}

# step CMD...: CMD, said if it fails.
step() {
	"$@" && return 0
	echo "failed: $*"
	return 1
}

check_and_growth_bring_back_writes() {
	step dmsetup remove thin1 && step dmsetup remove thin0 &&
		step dmsetup remove pool &&
		# As LVM runs it before activating a pool.
		step thin_check -q --clear-needs-check-flag "$THIN_META" &&
		step dmsetup reload tmeta --table "0 16384 linear /dev/ram0 0" &&
		step dmsetup resume tmeta && step pool_load pool skip_block_zeroing &&
		step thin_create thin0 pool 0 || return 1
	want_eq mode "$(pool_status_field pool 5)" rw &&
		want_eq needs_check "$(pool_status_field pool 8)" - &&
		want_eq metadata "$(pool_status_field pool 2 | cut -d/ -f2)" 2048 &&
		step block_write 450 || { dmsetup status; dmesg | tail -n 5; return 1; }
}

metadata_passes_thin_check() {
	dmsetup remove thin0 && dmsetup remove pool || return 1
	thin_check "$THIN_META"
}

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm || die "devices left over from an earlier test"
old_timeout=$(cat "$TIMEOUT_PARAM") || die "no $TIMEOUT_PARAM"

check low_water_mark_sends_one_event low_water_mark_sends_one_event
teardown
check queued_write_goes_on_once_pool_grows queued_write_goes_on_once_pool_grows
teardown
check error_if_no_space_fails_at_once error_if_no_space_fails_at_once
teardown
check queued_write_fails_after_timeout queued_write_fails_after_timeout
echo "$old_timeout" >"$TIMEOUT_PARAM"
teardown
check discard_gives_space_back discard_gives_space_back
teardown
check out_of_metadata_space_is_read_only out_of_metadata_space_is_read_only
check check_and_growth_bring_back_writes check_and_growth_bring_back_writes
check metadata_passes_thin_check metadata_passes_thin_check
teardown
check no_devices_left no_devices_left
rm -rf "$SCEN_TMP"
tap_done
