#!/bin/sh
# dmx-test: timeout=600
# The mirror target as Linux 6.1's dm-mirror defines it: the table lines
# it refuses, the table and status lines it prints, writes landing on
# every leg, the resync copying the primary to the other legs, the disk
# log's layout (header and clean bits) and its being trusted across
# activations and across implementations (dmx and stock, in one boot),
# and what a failing leg does.  Runs on the stock dm-mirror too.
#
# Every test builds its own devices on fresh ramdisks: ram0..ram2 are
# legs, ram3 the log; the teardown removes every device.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

SIZE=8192	# sectors a mirror maps (4 MiB)
RS=64		# region size: 128 regions
REGIONS=$((SIZE / RS))

# fresh: four zeroed ramdisks; ram0 holds the primary's pattern.
fresh() {
	ramdisks 4 16 &&
		pattern prim 0 $SIZE >"$SCEN_TMP/prim" &&
		put "$SCEN_TMP/prim" /dev/ram0 0 1048576 direct
}

# mirror NAME TABLE...: a device whose table is "0 SIZE mirror TABLE".
mirror() {
	_n=$1
	shift
	dmsetup create "$_n" --table "0 $SIZE mirror $*"
}

# sync_field NAME: "<in sync>/<regions>" of NAME's status line.
sync_field() {
	dmsetup status "$1" | awk '{ print $(4 + $4 + 1) }'
}

# until_prints SECS WANT CMD...: true once CMD prints WANT; false after
# SECS seconds, saying what it printed last.
until_prints() {
	_secs=$1
	_end=$(($(now_cs) + _secs * 100))
	_want=$2
	shift 2
	until [ "$("$@")" = "$_want" ]; do
		if [ "$(now_cs)" -gt $_end ]; then
			echo "$* printed '$("$@")', not '$_want', within $_secs s"
			return 1
		fi
		sleep 0.1
	done
}

# wait_in_sync NAME: true once every region is in sync; false after 60 s.
wait_in_sync() {
	until_prints 60 "$REGIONS/$REGIONS" sync_field "$1" || { dmsetup status "$1"; return 1; }
}

# refuses TABLE...: a mirror with that table does not load.
refuses() {
	fresh || return 1
	if mirror bad "$@" 2>/dev/null; then
		echo "mirror $* loaded"
		return 1
	fi
}

TAP_TEARDOWN=dm_teardown
use_dmx || die "cannot load the device-mapper"

# --- table lines ------------------------------------------------------

load_refuses_region_size_not_power_of_two() {
	refuses core 1 48 2 /dev/ram0 0 /dev/ram1 0
}
load_refuses_region_size_beyond_target() {
	refuses core 1 16384 2 /dev/ram0 0 /dev/ram1 0
}
load_refuses_one_leg() {
	refuses core 1 $RS 1 /dev/ram0 0
}
load_refuses_ten_legs() {
	refuses core 1 $RS 10 /dev/ram0 0 /dev/ram1 0 /dev/ram2 0 /dev/ram3 0 \
		/dev/ram0 0 /dev/ram1 0 /dev/ram2 0 /dev/ram3 0 /dev/ram0 0 /dev/ram1 0
}
load_refuses_unknown_log_type() {
	refuses journal 1 $RS 2 /dev/ram0 0 /dev/ram1 0
}
load_refuses_block_on_error_log_argument() {
	refuses core 2 $RS block_on_error 2 /dev/ram0 0 /dev/ram1 0
}
load_refuses_unknown_feature() {
	refuses core 1 $RS 2 /dev/ram0 0 /dev/ram1 0 1 fast
}
load_refuses_keep_log_without_handle_errors() {
	refuses core 1 $RS 2 /dev/ram0 0 /dev/ram1 0 1 keep_log
}
load_refuses_trailing_arguments() {
	refuses core 1 $RS 2 /dev/ram0 0 /dev/ram1 0 1 handle_errors junk
}

table_line_of_core_log_mirror() {
	fresh && mirror m core 2 $RS nosync 2 /dev/ram0 0 /dev/ram1 8 1 handle_errors || return 1
	want_eq table "$(dmsetup table m)" \
		"0 $SIZE mirror core 2 $RS nosync 2 1:0 0 1:1 8 1 handle_errors"
}

table_line_of_disk_log_mirror() {
	fresh && mirror m disk 2 /dev/ram3 $RS 3 /dev/ram0 0 /dev/ram1 0 /dev/ram2 0 \
		2 handle_errors keep_log || return 1
	want_eq table "$(dmsetup table m)" \
		"0 $SIZE mirror disk 2 1:3 $RS 3 1:0 0 1:1 0 1:2 0 2 handle_errors keep_log"
}

status_line_of_nosync_core_mirror() {
	fresh && mirror m core 2 $RS nosync 2 /dev/ram0 0 /dev/ram1 0 || return 1
	want_eq status "$(dmsetup status m)" \
		"0 $SIZE mirror 2 1:0 1:1 $REGIONS/$REGIONS 1 AA 1 core"
}

status_line_of_disk_log_mirror_in_sync() {
	fresh && mirror m disk 2 /dev/ram3 $RS 2 /dev/ram0 0 /dev/ram1 0 &&
		wait_in_sync m || return 1
	want_eq status "$(dmsetup status m)" \
		"0 $SIZE mirror 2 1:0 1:1 $REGIONS/$REGIONS 1 AA 3 disk 1:3 A"
}

# --- data ---------------------------------------------------------------

resync_copies_primary_to_every_leg() {
	fresh && mirror m core 1 $RS 3 /dev/ram0 0 /dev/ram1 0 /dev/ram2 0 &&
		wait_in_sync m || return 1
	same_as "$SCEN_TMP/prim" /dev/ram1 0 && same_as "$SCEN_TMP/prim" /dev/ram2 0
}

# The last region is short: the target is not a whole number of regions.
resync_copies_short_last_region() {
	fresh || return 1
	dmsetup create m --table "0 $((SIZE - 8)) mirror core 1 $RS 2 /dev/ram0 0 /dev/ram1 0" ||
		return 1
	wait_in_sync m || return 1
	head -c $(((SIZE - 8) * 512)) "$SCEN_TMP/prim" >"$SCEN_TMP/short"
	same_as "$SCEN_TMP/short" /dev/ram1 0
}

writes_reach_every_leg() {
	fresh && mirror m core 2 $RS nosync 3 /dev/ram0 0 /dev/ram1 0 /dev/ram2 0 || return 1
	pattern wr 0 2048 >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/m 1000 65536 direct || return 1
	for leg in 0 1 2; do
		same_as "$SCEN_TMP/w" /dev/ram$leg 1000 || return 1
	done
	same_as "$SCEN_TMP/w" /dev/mapper/m 1000
}

writes_during_resync_reach_every_leg() {
	fresh && mirror m core 1 $RS 2 /dev/ram0 0 /dev/ram1 0 || return 1
	pattern wr 0 $SIZE >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/m 0 16384 direct && wait_in_sync m || return 1
	same_as "$SCEN_TMP/w" /dev/ram0 0 && same_as "$SCEN_TMP/w" /dev/ram1 0
}

legs_at_offsets_hold_the_data() {
	fresh && mirror m core 2 $RS nosync 2 /dev/ram0 0 /dev/ram1 4096 || return 1
	pattern off 0 256 >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/m 64 65536 direct || return 1
	same_as "$SCEN_TMP/w" /dev/ram0 64 && same_as "$SCEN_TMP/w" /dev/ram1 $((4096 + 64))
}

filesystem_on_mirror_checks_clean() {
	fresh && mirror m disk 2 /dev/ram3 $RS 2 /dev/ram0 0 /dev/ram1 0 &&
		wait_in_sync m || return 1
	mkfs.ext4 -q -F /dev/mapper/m && fsck_clean /dev/mapper/m &&
		get /dev/ram0 0 $SIZE 65536 direct >"$SCEN_TMP/leg0" &&
		same_as "$SCEN_TMP/leg0" /dev/ram1 0
}

# --- the disk log -------------------------------------------------------

# log_word OFFSET LEN: bytes of the log device, as hex.
log_bytes() {
	dd if=/dev/ram3 bs=1 skip="$1" count="$2" 2>/dev/null | od -An -tx1 | tr -d ' \n'
}

disk_log_has_upstream_layout() {
	fresh && mirror m disk 2 /dev/ram3 $RS 2 /dev/ram0 0 /dev/ram1 0 &&
		wait_in_sync m && dmsetup suspend m || return 1
	# magic "rRiM", version 2, 128 regions; then 128 clean bits, and
	# zero up to a whole long.
	want_eq header "$(log_bytes 0 16)" "7252694d020000008000000000000000" &&
		want_eq "clean bits" "$(log_bytes 1024 16)" \
			"ffffffffffffffffffffffffffffffff" &&
		want_eq "after the bits" "$(log_bytes 1040 8)" "0000000000000000"
}

disk_log_in_sync_regions_are_trusted_at_next_activation() {
	fresh && mirror m disk 2 /dev/ram3 $RS 2 /dev/ram0 0 /dev/ram1 0 &&
		wait_in_sync m && dmsetup remove m || return 1
	# A difference the log does not know of stays: nothing is copied.
	pattern junk 0 $RS >"$SCEN_TMP/j" && put "$SCEN_TMP/j" /dev/ram1 0 32768 direct &&
		mirror m disk 2 /dev/ram3 $RS 2 /dev/ram0 0 /dev/ram1 0 || return 1
	want_eq sync "$(sync_field m)" "$REGIONS/$REGIONS" &&
		same_as "$SCEN_TMP/j" /dev/ram1 0
}

disk_log_sync_argument_copies_everything_again() {
	fresh && mirror m disk 2 /dev/ram3 $RS 2 /dev/ram0 0 /dev/ram1 0 &&
		wait_in_sync m && dmsetup remove m || return 1
	pattern junk 0 $RS >"$SCEN_TMP/j" && put "$SCEN_TMP/j" /dev/ram1 0 32768 direct &&
		mirror m disk 3 /dev/ram3 $RS sync 2 /dev/ram0 0 /dev/ram1 0 &&
		wait_in_sync m || return 1
	same_as "$SCEN_TMP/prim" /dev/ram1 0
}

# LVM's fresh log: magic, version 2, nr_regions all ones, bits zero.
disk_log_written_as_lvm_does_resyncs_everything() {
	fresh || return 1
	printf 'rRiM\002\000\000\000\377\377\377\377\377\377\377\377' |
		dd of=/dev/ram3 conv=notrunc 2>/dev/null || return 1
	mirror m disk 2 /dev/ram3 $RS 2 /dev/ram0 0 /dev/ram1 0 && wait_in_sync m &&
		same_as "$SCEN_TMP/prim" /dev/ram1 0
}

disk_log_survives_suspend_and_reload() {
	fresh && mirror m disk 2 /dev/ram3 $RS 2 /dev/ram0 0 /dev/ram1 0 &&
		wait_in_sync m || return 1
	dmsetup load m --table "0 $SIZE mirror disk 2 /dev/ram3 $RS 2 /dev/ram0 0 /dev/ram1 0" &&
		dmsetup suspend m && dmsetup resume m || return 1
	want_eq sync "$(sync_field m)" "$REGIONS/$REGIONS"
}

# --- the other implementation -------------------------------------------

# switch_to stock|dmx: only that device-mapper loaded, no devices.
switch_to() {
	remove_all_dm
	if [ "$1" = stock ] || [ "$DMX_IMPL" = stock ]; then
		use_stock_dm
	else
		unload_dm && insmod "$DMX_KO"
	fi
}

# in_sync_log_read_by OTHER: a log synced by this implementation and a
# leg changed behind it; OTHER loads the mirror, trusts the log (copies
# nothing) and reports every region in sync.
in_sync_log_read_by() {
	fresh && mirror m disk 2 /dev/ram3 $RS 2 /dev/ram0 0 /dev/ram1 0 &&
		wait_in_sync m || return 1
	pattern junk 0 $RS >"$SCEN_TMP/j" && put "$SCEN_TMP/j" /dev/ram1 0 32768 direct &&
		switch_to "$1" && mirror m disk 2 /dev/ram3 $RS 2 /dev/ram0 0 /dev/ram1 0 || return 1
	want_eq sync "$(sync_field m)" "$REGIONS/$REGIONS" && same_as "$SCEN_TMP/j" /dev/ram1 0
}

disk_log_of_dmx_is_read_by_stock() {
	switch_to dmx && in_sync_log_read_by stock
}

disk_log_of_stock_is_read_by_dmx() {
	switch_to stock && in_sync_log_read_by dmx
}

# --- failing legs ---------------------------------------------------------

# failing_mirror FEATURES...: m over ram0 and leg1 (linear over ram1),
# in sync (nosync), with leg1 then turned into an error target.
failing_mirror() {
	fresh && dmsetup create leg1 --table "0 $SIZE linear /dev/ram1 0" &&
		mirror m core 2 $RS nosync 2 /dev/ram0 0 /dev/mapper/leg1 0 "$@" &&
		dmsetup load leg1 --table "0 $SIZE error" && dmsetup resume leg1
}

# The write covers two regions: both go out of sync.
write_to_failed_leg_marks_it_d_and_lands_on_primary() {
	failing_mirror || return 1
	pattern fw 0 128 >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/m 256 65536 direct || return 1
	want_eq status "$(dmsetup status m | cut -d' ' -f4-)" \
		"2 1:0 $(devno /dev/mapper/leg1) $((REGIONS - 2))/$REGIONS 1 AD 1 core" &&
		same_as "$SCEN_TMP/w" /dev/ram0 256 && same_as "$SCEN_TMP/w" /dev/mapper/m 256
}

read_failing_on_primary_is_served_by_other_leg() {
	fresh && dmsetup create leg0 --table "0 $SIZE linear /dev/ram0 0" &&
		mirror m core 1 $RS 2 /dev/mapper/leg0 0 /dev/ram1 0 1 handle_errors &&
		wait_in_sync m || return 1
	ev=$(info_line m "Event number")
	dmsetup load leg0 --table "0 $SIZE error" && dmsetup resume leg0 || return 1
	same_as "$SCEN_TMP/prim" /dev/mapper/m 0 || return 1
	want_eq "leg chars" "$(dmsetup status m | cut -d' ' -f9)" RA || return 1
	[ "$(info_line m "Event number")" -gt "$ev" ] || { echo "no event after $ev"; return 1; }
}

# writes_in_flight NAME: writes NAME has begun and not completed.
writes_in_flight() {
	awk '{ print $2 }' "/sys/dev/block/$(devno /dev/mapper/"$1")/inflight"
}

# status_field NAME FIELD: field FIELD of NAME's status line.
status_field() {
	dmsetup status "$1" | cut -d' ' -f"$2"
}

# until_status NAME FIELD VALUE: true once field FIELD of NAME's status
# line is VALUE; false after 10 s.
until_status() {
	until_prints 10 "$3" status_field "$1" "$2" || { dmsetup status "$1"; return 1; }
}

# held_write NAME PID EVENT: NAME still has PID's write, one write in
# flight, and has raised an event since EVENT.  Whatever the answer,
# a suspend lets the write go (Linux requeues it on a noflush suspend
# and fails it on any other; dmx completes it) and PID is reaped.
held_write() {
	_held=0
	[ "$(writes_in_flight "$1")" = 1 ] && kill -0 "$2" 2>/dev/null && _held=1
	_ev=$(info_line "$1" "Event number")
	dmsetup suspend "$1" && dmsetup resume "$1" || return 1
	wait "$2"
	[ $_held = 1 ] || { echo "the write was not held"; return 1; }
	[ "$_ev" -gt "$3" ] || { echo "no event after $3"; return 1; }
}

# With handle_errors the write waits for userland (dmeventd) to replace
# the table; the primary has it.
write_to_failed_leg_is_held_with_handle_errors() {
	failing_mirror 1 handle_errors || return 1
	ev=$(info_line m "Event number")
	pattern fh 0 8 >"$SCEN_TMP/w" || return 1
	put "$SCEN_TMP/w" /dev/mapper/m 256 4096 direct &
	wpid=$!
	until_status m 9 AD || { held_write m $wpid "$ev"; return 1; }
	held_write m $wpid "$ev" && same_as "$SCEN_TMP/w" /dev/ram0 256
}

# log_failing_mirror FEATURES...: m over ram0 and ram1 with a disk log
# on logdev (linear over ram3), in sync (nosync), logdev then turned
# into an error target.
log_failing_mirror() {
	fresh && dmsetup create logdev --table "0 $SIZE linear /dev/ram3 0" &&
		mirror m disk 3 /dev/mapper/logdev $RS nosync 2 /dev/ram0 0 /dev/ram1 0 "$@" &&
		dmsetup load logdev --table "0 $SIZE error" && dmsetup resume logdev
}

# The write's region cannot be marked dirty: it is not written to any
# leg while the log is failed (a crash would leave it unknown).
write_is_held_untried_while_log_has_failed_with_handle_errors() {
	log_failing_mirror 1 handle_errors || return 1
	ev=$(info_line m "Event number")
	pattern fl 0 8 >"$SCEN_TMP/w" || return 1
	put "$SCEN_TMP/w" /dev/mapper/m 256 4096 direct &
	wpid=$!
	until_status m 13 D || { held_write m $wpid "$ev"; return 1; }
	untried=1
	same_as "$SCEN_TMP/w" /dev/ram0 256 >/dev/null 2>&1 && untried=0
	same_as "$SCEN_TMP/w" /dev/ram1 256 >/dev/null 2>&1 && untried=0
	held_write m $wpid "$ev" || return 1
	[ $untried = 1 ] || { echo "a leg had the write while the log was failed"; return 1; }
}

# With keep_log a write that the failed log cannot cover fails at
# once instead of being held.
write_fails_while_log_has_failed_with_keep_log() {
	log_failing_mirror 2 handle_errors keep_log || return 1
	pattern fk 0 8 >"$SCEN_TMP/w" || return 1
	if put "$SCEN_TMP/w" /dev/mapper/m 256 4096 direct >/dev/null; then
		echo "the write succeeded"
		return 1
	fi
	want_eq "log char" "$(dmsetup status m | cut -d' ' -f13)" D
}

write_goes_on_while_log_has_failed_without_handle_errors() {
	log_failing_mirror || return 1
	pattern fn 0 8 >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/m 256 4096 direct || return 1
	want_eq "log char" "$(dmsetup status m | cut -d' ' -f13)" D &&
		same_as "$SCEN_TMP/w" /dev/ram0 256 && same_as "$SCEN_TMP/w" /dev/ram1 256
}

suspend_with_failed_leg_does_not_hang() {
	failing_mirror || return 1
	pattern fs 0 128 >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/m 512 65536 direct &&
		dmsetup suspend m && dmsetup resume m &&
		same_as "$SCEN_TMP/w" /dev/mapper/m 512
}

check_each load_refuses_region_size_not_power_of_two \
	load_refuses_region_size_beyond_target load_refuses_one_leg \
	load_refuses_ten_legs load_refuses_unknown_log_type \
	load_refuses_block_on_error_log_argument load_refuses_unknown_feature \
	load_refuses_keep_log_without_handle_errors load_refuses_trailing_arguments \
	table_line_of_core_log_mirror table_line_of_disk_log_mirror \
	status_line_of_nosync_core_mirror status_line_of_disk_log_mirror_in_sync \
	resync_copies_primary_to_every_leg resync_copies_short_last_region \
	writes_reach_every_leg writes_during_resync_reach_every_leg \
	legs_at_offsets_hold_the_data filesystem_on_mirror_checks_clean \
	disk_log_has_upstream_layout \
	disk_log_in_sync_regions_are_trusted_at_next_activation \
	disk_log_sync_argument_copies_everything_again \
	disk_log_written_as_lvm_does_resyncs_everything \
	disk_log_survives_suspend_and_reload \
	write_to_failed_leg_marks_it_d_and_lands_on_primary \
	read_failing_on_primary_is_served_by_other_leg \
	suspend_with_failed_leg_does_not_hang \
	write_to_failed_leg_is_held_with_handle_errors \
	write_is_held_untried_while_log_has_failed_with_handle_errors \
	write_fails_while_log_has_failed_with_keep_log \
	write_goes_on_while_log_has_failed_without_handle_errors
check_each disk_log_of_dmx_is_read_by_stock disk_log_of_stock_is_read_by_dmx
switch_to dmx
tap_done
