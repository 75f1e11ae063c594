#!/bin/sh
# dmx-test: timeout=300
# The flakey target as Linux 6.1 defines it (dm-flakey.rst): what table
# lines it refuses and why, the table and status lines it prints, when
# it is up and down (from table load), what each feature does while it
# is down, and the way xfstests uses it: a drop_writes table loaded
# under a mounted ext4, then the normal table back, and only what was
# fsynced is still there.  Runs on the stock dm-flakey too.  Leaves no
# devices.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
# Every O_DIRECT block here is 4 KiB or more: busybox's dd (which the
# shell prefers) drops O_DIRECT for smaller ones, and GNU dd costs a
# third of a second per run in the emulated guest.

SIZE=8192		# sectors of ram0 the flakey device maps
DEV=/dev/ram0
DEVNO=1:0
FL=/dev/mapper/fl
PAGES_NOTE=		# why the writer's pages test is skipped, if it is

# --- helpers -----------------------------------------------------------

# fresh ARGS...: ram0 holds the base pattern and fl is "flakey ram0 0 ARGS".
fresh() {
	dmsetup remove fl >/dev/null 2>&1
	put "$SCEN_TMP/base" $DEV 0 1048576 direct &&
		dmsetup create fl --table "0 $SIZE flakey $DEV 0 $*"
}

# reload ARGS...: fl's table becomes "flakey ram0 0 ARGS".
reload() {
	dmsetup load fl --table "0 $SIZE flakey $DEV 0 $*" && dmsetup resume fl
}

# base_part FIRST COUNT: the base pattern's sectors FIRST.. into $SCEN_TMP/want.
base_part() {
	pattern base "$1" "$2" >"$SCEN_TMP/want"
}

# read_fails DEV SECTOR: a 4 KiB O_DIRECT read there fails with EIO.
read_fails() {
	if dd if="$1" of=/dev/null bs=4096 skip=$(($2 * 512)) count=1 \
		iflag=direct,skip_bytes 2>"$SCEN_TMP/err"; then
		echo "read of $1 at sector $2 succeeded"
		return 1
	fi
	grep -q "Input/output error" "$SCEN_TMP/err" ||
		{ echo "read failed, but not with EIO:"; cat "$SCEN_TMP/err"; return 1; }
}

# write_fails DEV SECTOR: a 4 KiB O_DIRECT write there fails with EIO.
write_fails() {
	pattern junk 0 8 >"$SCEN_TMP/junk"
	if dd if="$SCEN_TMP/junk" of="$1" bs=4096 seek=$(($2 * 512)) count=1 \
		oflag=direct,seek_bytes conv=notrunc 2>"$SCEN_TMP/err"; then
		echo "write to $1 at sector $2 succeeded"
		return 1
	fi
	grep -q "Input/output error" "$SCEN_TMP/err" ||
		{ echo "write failed, but not with EIO:"; cat "$SCEN_TMP/err"; return 1; }
}

# differing_bytes GOT WANT: "offset value" (1-based, decimal) per byte
# of GOT that differs from WANT.
differing_bytes() {
	cmp -l "$1" "$2" | awk '{
		v = 0
		for (i = 1; i <= length($2); i++)
			v = v * 8 + substr($2, i, 1)
		print $1, v
	}'
}

# --- constructor errors ----------------------------------------------

# refuses REASON ARGS: "flakey ARGS" does not load, and the kernel log
# says REASON.
refuses() {
	refuses_either "$1" "$1" "$2"
}

# refuses_either REASON1 REASON2 ARGS: the same, saying either reason.
refuses_either() {
	dmesg_mark
	if dmsetup create fbad --table "0 $SIZE flakey $3" 2>/dev/null; then
		dmsetup remove fbad
		echo "loaded: flakey $3"
		return 1
	fi
	dmsetup remove fbad >/dev/null 2>&1
	dmesg_since | grep -qF -e "flakey: $1" -e "flakey: $2" && return 0
	echo "the log does not say 'flakey: $1':"
	dmesg_since
	return 1
}

# --- table and status lines ------------------------------------------

# table_line_is ARGS WANT: a device with "flakey ARGS" shows WANT as its
# table line: what 6.1 prints, trailing space included.
table_line_is() {
	dmsetup create ftab --table "0 $SIZE flakey $1" || return 1
	got=$(dmsetup table ftab)
	dmsetup remove ftab
	want_eq table "$got" "0 $SIZE flakey $2"
}

status_line_is_empty() {
	dmsetup create ftab --table "0 $SIZE flakey $DEV 0 0 5 1 drop_writes" || return 1
	got=$(dmsetup status ftab)
	dmsetup remove ftab
	want_eq status "$got" "0 $SIZE flakey "
}

version_is_6_1s() {
	want_eq version "$(dmsetup targets | awk '$1 == "flakey" { print $2 }')" v1.5.0
}

# --- up and down -------------------------------------------------------

up_device_passes_io() {
	fresh 3600 1 || return 1
	base_part 0 64 && same_as "$SCEN_TMP/want" $FL 0 || return 1
	pattern up 0 16 >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" $FL 100 4096 direct &&
		same_as "$SCEN_TMP/w" $DEV 100
}

down_device_fails_reads() {
	fresh 0 3600 && read_fails $FL 0 && read_fails $FL 4000
}

down_device_fails_writes() {
	fresh 0 3600 && write_fails $FL 100 || return 1
	base_part 100 8 && same_as "$SCEN_TMP/want" $DEV 100
}

reload_brings_device_up() {
	fresh 0 3600 && read_fails $FL 0 || return 1
	reload 3600 0 && base_part 0 64 && same_as "$SCEN_TMP/want" $FL 0
}

# The interval runs from the load, not from the resume: a table loaded
# with a 2 s up interval and resumed 3 s later is down at once.
interval_counts_from_table_load() {
	fresh 3600 1 && dmsetup load fl --table "0 $SIZE flakey $DEV 0 2 3600" ||
		return 1
	t0=$(now_cs)
	# The behaviour is about time passing: wait for the clock.
	while [ $(($(now_cs) - t0)) -lt 300 ]; do sleep 0.2; done
	dmsetup resume fl && read_fails $FL 0
}

# Reads every 0.1 s (at most 150 of them) until the device has been seen
# up, then down, then up again.
cycles_between_up_and_down() {
	fresh 2 2 || return 1
	seen=up
	n=0
	while [ $n -lt 150 ]; do
		n=$((n + 1))
		if dd if=$FL of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null; then
			state=up
		else
			state=down
		fi
		case $seen:$state in
		up:down) seen=down ;;
		down:up) seen=up-again; break ;;
		esac
		sleep 0.1
	done
	note "reads: $n"
	want_eq "states seen" "$seen" up-again
}

suspend_resume_remove_while_down() {
	fresh 0 3600 && dmsetup suspend fl && dmsetup resume fl &&
		read_fails $FL 0 && dmsetup remove fl
}

# --- features ----------------------------------------------------------

drop_writes_acknowledges_writes() {
	fresh 0 3600 1 drop_writes || return 1
	pattern drop 0 16 >"$SCEN_TMP/w" && put "$SCEN_TMP/w" $FL 200 4096 direct
}

dropped_writes_never_reach_device() {
	fresh 0 3600 1 drop_writes || return 1
	pattern drop 0 16 >"$SCEN_TMP/w" && put "$SCEN_TMP/w" $FL 200 4096 direct &&
		base_part 200 16 && same_as "$SCEN_TMP/want" $DEV 200 &&
		same_as "$SCEN_TMP/want" $FL 200
}

drop_writes_passes_reads() {
	fresh 0 3600 1 drop_writes && base_part 0 256 &&
		same_as "$SCEN_TMP/want" $FL 0
}

error_writes_fails_writes() {
	fresh 0 3600 1 error_writes && write_fails $FL 300 || return 1
	base_part 300 8 && same_as "$SCEN_TMP/want" $DEV 300
}

error_writes_passes_reads() {
	fresh 0 3600 1 error_writes && base_part 0 256 &&
		same_as "$SCEN_TMP/want" $FL 0
}

# corrupt_read_gives BYTE VALUE: 4 KiB read at sector 0 through fl shows
# exactly byte BYTE as VALUE.
corrupt_read_gives() {
	get $FL 0 8 4096 direct >"$SCEN_TMP/got" && base_part 0 8 || return 1
	want_eq "changed bytes" "$(differing_bytes "$SCEN_TMP/got" "$SCEN_TMP/want")" "$1 $2"
}

corrupt_read_changes_byte() {
	fresh 0 3600 5 corrupt_bio_byte 32 r 1 0 && corrupt_read_gives 32 1
}

# Every bio is changed at its own byte 32: four 4 KiB reads, four bytes.
corrupt_read_changes_every_bio() {
	fresh 0 3600 5 corrupt_bio_byte 32 r 200 0 || return 1
	get $FL 0 32 4096 direct >"$SCEN_TMP/got" && base_part 0 32 || return 1
	want_eq "changed bytes" \
		"$(differing_bytes "$SCEN_TMP/got" "$SCEN_TMP/want" | tr '\n' ' ')" \
		"32 200 4128 200 8224 200 12320 200 "
}

corrupt_read_leaves_device() {
	fresh 0 3600 5 corrupt_bio_byte 32 r 1 0 && corrupt_read_gives 32 1 &&
		base_part 0 64 && same_as "$SCEN_TMP/want" $DEV 0
}

corrupt_read_passes_writes() {
	fresh 0 3600 5 corrupt_bio_byte 32 r 1 0 || return 1
	pattern cr 0 8 >"$SCEN_TMP/w" && put "$SCEN_TMP/w" $FL 400 4096 direct &&
		same_as "$SCEN_TMP/w" $DEV 400
}

# corrupt_write_gives BYTES SEEDLEN BYTE VALUE: a BYTES-long O_DIRECT
# write at sector 500 lands with exactly byte BYTE changed to VALUE (none
# if BYTE is empty).
corrupt_write_gives() {
	pattern cw 0 $(($1 / 512)) >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" $FL 500 "$1" direct &&
		get $DEV 500 $(($1 / 512)) "$1" direct >"$SCEN_TMP/got" || return 1
	want_eq "changed bytes" "$(differing_bytes "$SCEN_TMP/got" "$SCEN_TMP/w")" "$2"
}

corrupt_write_changes_byte_on_device() {
	fresh 0 3600 5 corrupt_bio_byte 100 w 7 0 && corrupt_write_gives 4096 "100 7"
}

# The byte lies in the second 4 KiB of a 16 KiB write.
corrupt_write_reaches_later_block() {
	fresh 0 3600 5 corrupt_bio_byte 5000 w 9 0 && corrupt_write_gives 16384 "5000 9"
}

corrupt_write_past_bio_end_changes_nothing() {
	fresh 0 3600 5 corrupt_bio_byte 5000 w 9 0 && corrupt_write_gives 4096 ""
}

# O_DIRECT writes carry REQ_SYNC (2048), never REQ_META (4096).
corrupt_flags_select_bios() {
	fresh 0 3600 5 corrupt_bio_byte 100 w 7 2048 && corrupt_write_gives 4096 "100 7" &&
		reload 0 3600 5 corrupt_bio_byte 100 w 7 4096 && corrupt_write_gives 4096 ""
}

corrupt_write_passes_reads() {
	fresh 0 3600 5 corrupt_bio_byte 100 w 7 0 && base_part 0 256 &&
		same_as "$SCEN_TMP/want" $FL 0
}

# The write is corrupted on its way, not in the writer's pages: a
# buffered write read back from the page cache is what was written.  (fd
# 7 keeps fl open: the last close would drop its page cache.)
corrupt_write_leaves_writer_pages() {
	fresh 0 3600 5 corrupt_bio_byte 100 w 7 0 || return 1
	exec 7<$FL
	pattern pc 0 8 >"$SCEN_TMP/w" && put "$SCEN_TMP/w" $FL 600 4096 &&
		get $FL 600 8 4096 >"$SCEN_TMP/got"
	_rc=$?
	exec 7<&-
	[ $_rc = 0 ] || return 1
	want_eq "page cache bytes changed" \
		"$(differing_bytes "$SCEN_TMP/got" "$SCEN_TMP/w")" "" || return 1
	get $DEV 600 8 4096 direct >"$SCEN_TMP/got" &&
		want_eq "device bytes changed" \
			"$(differing_bytes "$SCEN_TMP/got" "$SCEN_TMP/w")" "100 7"
}

# --- the way xfstests uses it -----------------------------------------

XFS_SIZE=65536		# 32 MiB of ram1
XFS_UP="0 $XFS_SIZE flakey /dev/ram1 0 180 0"
XFS_DROP="0 $XFS_SIZE flakey /dev/ram1 0 0 180 1 drop_writes"
MNT=$SCEN_TMP/mnt

# As xfstests' _load_flakey_table: suspend without freezing, load, resume.
xfs_load() {
	dmsetup suspend --nolockfs xfl && dmsetup load xfl --table "$1" &&
		dmsetup resume xfl
}

# An ext4 on flakey (commit=600: only fsync commits the journal), one
# file fsynced, then one written but not synced, then the drop_writes
# table and an unmount whose writes are all dropped.
xfstests_drop_writes_under_mounted_fs() {
	mkdir -p "$MNT" &&
		dmsetup create xfl --table "$XFS_UP" &&
		mkfs.ext4 -q -F /dev/mapper/xfl >/dev/null &&
		mount -t ext4 -o commit=600 /dev/mapper/xfl "$MNT" || return 1
	pattern synced 0 128 >"$SCEN_TMP/synced" &&
		pattern lost 0 128 >"$SCEN_TMP/lost" &&
		dd_quiet if="$SCEN_TMP/synced" of="$MNT/synced" bs=65536 conv=fsync &&
		dd_quiet if="$SCEN_TMP/lost" of="$MNT/lost" bs=65536 || return 1
	xfs_load "$XFS_DROP" && umount "$MNT"
}

xfstests_remount_after_drop() {
	xfs_load "$XFS_UP" && mount -t ext4 /dev/mapper/xfl "$MNT"
}

xfstests_fsynced_file_survives() {
	cmp_files "$MNT/synced" "$SCEN_TMP/synced" "$MNT/synced"
}

xfstests_unsynced_file_is_lost() {
	[ ! -e "$MNT/lost" ] && return 0
	echo "$MNT/lost survived the dropped writes: $(ls -l "$MNT/lost")"
	return 1
}

xfstests_fsck_clean_after_drop() {
	umount "$MNT" || return 1
	e2fsck -fn /dev/mapper/xfl >"$SCEN_TMP/fsck" 2>&1 && return 0
	cat "$SCEN_TMP/fsck"
	return 1
}

cleanup() {
	dmsetup remove xfl; dmsetup remove fl
	no_devices_left
}

use_dmx || die "cannot load the device-mapper"
ramdisks 2 64 || die "cannot set up ramdisks"
remove_all_dm
pattern base 0 $SIZE >"$SCEN_TMP/base" || die "cannot make the base pattern"
[ "$DMX_IMPL" = stock ] && PAGES_NOTE="6.1 corrupts the writer's pages in place"

# dmx prints Linux 6.1's lines; a later stock kernel prints its own (6.12:
# no trailing space, more features, a larger feature count).
LATER_STOCK=
if [ "$DMX_IMPL" = stock ]; then
	case $(uname -r) in
	6.1.*) ;;
	*) LATER_STOCK="stock $(uname -r) has its own flakey lines and limits" ;;
	esac
fi

# check_61 NAME CMD...: check, but a skip on a later stock kernel.
check_61() {
	if [ -n "$LATER_STOCK" ]; then skip "$1" "$LATER_STOCK"; else check "$@"; fi
}

check load_refuses_too_few_arguments refuses "Invalid argument count" "$DEV 0 1"
check load_refuses_bad_offset refuses "Invalid device sector" "$DEV 1x 1 1"
check load_refuses_bad_up_interval refuses "Invalid up interval" "$DEV 0 -1 1"
# Linux 6.1 calls a bad down interval an "up interval"; dmx says which.
check load_refuses_bad_down_interval refuses_either "Invalid down interval" \
	"Invalid up interval" "$DEV 0 1 1.5"
check load_refuses_zero_period refuses "Total (up + down) interval is zero" "$DEV 0 0 0"
check load_refuses_period_wrapping_to_zero refuses \
	"Total (up + down) interval is zero" "$DEV 0 4294967295 1"
check load_refuses_interval_overflow refuses "Interval overflow" "$DEV 0 4294967295 2"
check_61 load_refuses_too_many_feature_args refuses "Invalid number of feature args" \
	"$DEV 0 0 1 7 drop_writes a b c d e f"
check load_refuses_feature_count_past_line refuses "Invalid number of feature args" \
	"$DEV 0 0 1 2 drop_writes"
check load_refuses_unknown_feature refuses "Unrecognised flakey feature requested" \
	"$DEV 0 0 1 1 drop_reads"
check load_refuses_duplicate_feature refuses "Feature drop_writes duplicated" \
	"$DEV 0 0 1 2 drop_writes drop_writes"
check load_refuses_drop_with_error_writes refuses \
	"Feature error_writes conflicts with feature drop_writes" \
	"$DEV 0 0 1 2 drop_writes error_writes"
check load_refuses_corrupt_without_parameters refuses \
	"Feature corrupt_bio_byte requires parameters" "$DEV 0 0 1 1 corrupt_bio_byte"
check load_refuses_corrupt_byte_zero refuses "Invalid corrupt bio byte" \
	"$DEV 0 0 1 5 corrupt_bio_byte 0 r 1 0"
check load_refuses_corrupt_bad_direction refuses "Invalid corrupt bio direction (r or w)" \
	"$DEV 0 0 1 5 corrupt_bio_byte 1 x 1 0"
check load_refuses_corrupt_value_over_255 refuses \
	"Invalid corrupt value to write into bio byte (0-255)" \
	"$DEV 0 0 1 5 corrupt_bio_byte 1 r 256 0"
check load_refuses_corrupt_bad_flags refuses "Invalid corrupt bio flags mask" \
	"$DEV 0 0 1 5 corrupt_bio_byte 1 r 1 x"
check load_refuses_feature_count_too_small refuses "Insufficient feature arguments" \
	"$DEV 0 0 1 4 corrupt_bio_byte 1 r 1 0"
check load_refuses_drop_writes_with_corrupt_writes refuses \
	"drop_writes is incompatible with corrupt_bio_byte with the WRITE flag set" \
	"$DEV 0 0 1 6 drop_writes corrupt_bio_byte 1 w 1 0"
check load_refuses_error_writes_with_corrupt_writes refuses \
	"error_writes is incompatible with corrupt_bio_byte with the WRITE flag set" \
	"$DEV 0 0 1 6 corrupt_bio_byte 1 w 1 0 error_writes"
check load_refuses_missing_device refuses "Device lookup failed" "/dev/nosuch 0 0 1"

check_61 table_line_without_features table_line_is "$DEV 0 0 5" "$DEVNO 0 0 5 0 "
check_61 table_line_with_drop_writes table_line_is "$DEV 8 10 5 1 DROP_WRITES" \
	"$DEVNO 8 10 5 1 drop_writes "
check_61 table_line_with_error_writes table_line_is "$DEV 0 1 1 1 error_writes" \
	"$DEVNO 0 1 1 1 error_writes "
check_61 table_line_with_corrupt_bio_byte table_line_is \
	"$DEV 0 0 5 6 corrupt_bio_byte 32 R 1 4096 drop_writes" \
	"$DEVNO 0 0 5 6 drop_writes corrupt_bio_byte 32 r 1 4096 "
check_61 table_line_ignores_words_past_features table_line_is \
	"$DEV 0 0 5 1 drop_writes extra words" "$DEVNO 0 0 5 1 drop_writes "
check status_line_is_empty status_line_is_empty
check_61 version_is_6_1s version_is_6_1s

check up_device_passes_io up_device_passes_io
check down_device_fails_reads down_device_fails_reads
check down_device_fails_writes down_device_fails_writes
check reload_brings_device_up reload_brings_device_up
timed_check interval_counts_from_table_load interval_counts_from_table_load
timed_check cycles_between_up_and_down cycles_between_up_and_down
check suspend_resume_remove_while_down suspend_resume_remove_while_down

check drop_writes_acknowledges_writes drop_writes_acknowledges_writes
check dropped_writes_never_reach_device dropped_writes_never_reach_device
check drop_writes_passes_reads drop_writes_passes_reads
check error_writes_fails_writes error_writes_fails_writes
check error_writes_passes_reads error_writes_passes_reads
check corrupt_read_changes_byte corrupt_read_changes_byte
check corrupt_read_changes_every_bio corrupt_read_changes_every_bio
check corrupt_read_leaves_device corrupt_read_leaves_device
check corrupt_read_passes_writes corrupt_read_passes_writes
check corrupt_write_changes_byte_on_device corrupt_write_changes_byte_on_device
check corrupt_write_reaches_later_block corrupt_write_reaches_later_block
check corrupt_write_past_bio_end_changes_nothing corrupt_write_past_bio_end_changes_nothing
check corrupt_flags_select_bios corrupt_flags_select_bios
check corrupt_write_passes_reads corrupt_write_passes_reads
if [ -n "$PAGES_NOTE" ]; then
	skip corrupt_write_leaves_writer_pages "$PAGES_NOTE"
else
	check corrupt_write_leaves_writer_pages corrupt_write_leaves_writer_pages
fi

check xfstests_drop_writes_under_mounted_fs xfstests_drop_writes_under_mounted_fs
check xfstests_remount_after_drop xfstests_remount_after_drop
check xfstests_fsynced_file_survives xfstests_fsynced_file_survives
check xfstests_unsynced_file_is_lost xfstests_unsynced_file_is_lost
check xfstests_fsck_clean_after_drop xfstests_fsck_clean_after_drop

check cleanup cleanup
rm -rf "$SCEN_TMP"
tap_done
