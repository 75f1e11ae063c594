#!/bin/sh
# dmx-test: timeout=300
# The delay target as Linux 6.1 defines it (delay.rst): what table lines
# it refuses and why, its table and status lines, which class (read,
# write, flush) holds each bio and for at least how long, that the data
# goes where each class says, and that a suspend (or a table swap, or a
# forced remove) sends held bios on at once instead of waiting for the
# delay.  The status line's held counts are the oracle for "held"; the
# delays that must not be waited for are far longer than the test's
# time limit.  Runs on the stock dm-delay too.  Leaves no devices.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
# Every O_DIRECT block here is 4 KiB or more: busybox's dd (which the
# shell prefers) drops O_DIRECT for smaller ones, and GNU dd costs a
# third of a second per run in the emulated guest.

SIZE=8192
DL=/dev/mapper/dl
NEVER=600000		# ms: ten minutes, more than the test may run
LOOP=

# --- helpers -----------------------------------------------------------

# fresh LINE: dl is "0 SIZE delay LINE", ram0..ram2 hold their patterns.
fresh() {
	dmsetup remove dl >/dev/null 2>&1
	put "$SCEN_TMP/r0" /dev/ram0 0 1048576 direct &&
		put "$SCEN_TMP/r1" /dev/ram1 0 1048576 direct &&
		dmsetup create dl --table "0 $SIZE delay $*"
}

held() {
	dmsetup status dl | cut -d' ' -f4-
}

# wait_held WANT: polls (10 s at most) until dl's held counts read WANT.
wait_held() {
	i=0
	while [ "$(held)" != "$1" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || { echo "held counts: '$(held)', want '$1'"; return 1; }
		sleep 0.1
	done
}

# bg_read SECTOR: a 4 KiB O_DIRECT read of dl in the background into
# $SCEN_TMP/bg; its pid in BG.
bg_read() {
	dd if=$DL of="$SCEN_TMP/bg" bs=4096 skip=$(($1 * 512)) count=1 \
		iflag=direct,skip_bytes 2>"$SCEN_TMP/bg.err" &
	BG=$!
}

# bg_done: the background I/O finished, and successfully.
bg_done() {
	wait "$BG" && return 0
	echo "background I/O failed:"
	cat "$SCEN_TMP/bg.err"
	return 1
}

# bg_running: the background I/O has not finished yet.
bg_running() {
	kill -0 "$BG" 2>/dev/null && return 0
	echo "background I/O already finished"
	return 1
}

refuses() {
	dmesg_mark
	if dmsetup create dbad --table "0 $SIZE delay $2" 2>/dev/null; then
		dmsetup remove dbad
		echo "loaded: delay $2"
		return 1
	fi
	dmsetup remove dbad >/dev/null 2>&1
	dmesg_since | grep -qF "delay: $1" && return 0
	echo "the log does not say 'delay: $1':"
	dmesg_since
	return 1
}

table_line_is() {
	dmsetup create dtab --table "0 $SIZE delay $1" || return 1
	got=$(dmsetup table dtab)
	dmsetup remove dtab
	want_eq table "$got" "0 $SIZE delay $2"
}

status_counts_nothing_held() {
	fresh /dev/ram0 0 500 /dev/ram1 0 500 && want_eq held "$(held)" "0 0 0"
}

version_is_6_1s() {
	want_eq version "$(dmsetup targets | awk '$1 == "delay" { print $2 }')" v1.3.0
}

# --- holding -----------------------------------------------------------

read_is_held_in_read_class() {
	fresh /dev/ram0 0 5000 || return 1
	bg_read 0
	wait_held "1 0 0" && bg_done && wait_held "0 0 0" || return 1
	pattern r0 0 8 >"$SCEN_TMP/want" && cmp_files "$SCEN_TMP/bg" "$SCEN_TMP/want" read
}

# A lower bound only: a slow machine can only make it longer.
read_waits_at_least_the_delay() {
	fresh /dev/ram0 0 1000 || return 1
	t0=$(now_cs)
	get $DL 16 8 4096 direct >/dev/null || return 1
	t=$(($(now_cs) - t0))
	note "read took $(cs_to_s $t)s"
	[ $t -ge 99 ] || { echo "read took only $(cs_to_s $t)s"; return 1; }
}

write_is_held_in_write_class() {
	fresh /dev/ram0 0 0 /dev/ram1 0 5000 || return 1
	pattern w1 0 8 >"$SCEN_TMP/w"
	dd if="$SCEN_TMP/w" of=$DL bs=4096 seek=1 count=1 oflag=direct conv=notrunc \
		2>"$SCEN_TMP/bg.err" &
	BG=$!
	wait_held "0 1 0" && bg_done && same_as "$SCEN_TMP/w" /dev/ram1 8
}

# While a write waits for its (long) delay, reads go straight through.
reads_pass_while_write_held() {
	fresh /dev/ram0 0 0 /dev/ram1 0 $NEVER || return 1
	pattern w2 0 8 >"$SCEN_TMP/w"
	dd if="$SCEN_TMP/w" of=$DL bs=4096 seek=2 count=1 oflag=direct conv=notrunc \
		2>"$SCEN_TMP/bg.err" &
	BG=$!
	wait_held "0 1 0" || return 1
	pattern r0 100 8 >"$SCEN_TMP/want" && same_as "$SCEN_TMP/want" $DL 100 &&
		want_eq "held after the read" "$(held)" "0 1 0" && bg_running || return 1
	dmsetup suspend dl && bg_done && dmsetup resume dl &&
		same_as "$SCEN_TMP/w" /dev/ram1 16
}

# fsync of the device sends an empty flush: the flush class holds it.
flush_is_held_in_flush_class() {
	fresh "$LOOP 0 0 $LOOP 0 0 $LOOP 0 5000" || return 1
	dd if=/dev/null of=$DL conv=notrunc,fsync 2>"$SCEN_TMP/bg.err" &
	BG=$!
	wait_held "0 0 1" && bg_done && wait_held "0 0 0"
}

# --- suspend, reload, remove ---------------------------------------------

suspend_releases_held_bios() {
	fresh /dev/ram0 0 $NEVER || return 1
	bg_read 24
	wait_held "1 0 0" && dmsetup suspend dl && bg_done &&
		want_eq "held while suspended" "$(held)" "0 0 0" || return 1
	pattern r0 24 8 >"$SCEN_TMP/want" && cmp_files "$SCEN_TMP/bg" "$SCEN_TMP/want" read
}

resume_delays_again() {
	dmsetup resume dl || return 1
	bg_read 32
	wait_held "1 0 0" && dmsetup suspend dl && bg_done && dmsetup resume dl
}

reload_passes_held_bios_on() {
	fresh /dev/ram0 0 $NEVER || return 1
	bg_read 40
	wait_held "1 0 0" || return 1
	dmsetup load dl --table "0 $SIZE delay /dev/ram0 0 0" && dmsetup resume dl &&
		bg_done && want_eq table "$(dmsetup table dl)" "0 $SIZE delay 1:0 0 0"
}

# dmsetup's forced remove swaps in an error table first: its suspend
# releases the held read, which then succeeds, and the device goes.
forced_remove_while_held() {
	fresh /dev/ram0 0 $NEVER || return 1
	bg_read 48
	wait_held "1 0 0" && dmsetup remove --force --retry dl >/dev/null &&
		bg_done && ! dm_exists dl
}

flush_released_by_suspend() {
	fresh "$LOOP 0 0 $LOOP 0 0 $LOOP 0 $NEVER" || return 1
	dd if=/dev/null of=$DL conv=notrunc,fsync 2>"$SCEN_TMP/bg.err" &
	BG=$!
	wait_held "0 0 1" && dmsetup suspend dl && bg_done && dmsetup resume dl
}

# --- where the data goes ----------------------------------------------

reads_come_from_read_device() {
	fresh /dev/ram0 8 10 /dev/ram1 16 10 || return 1
	pattern r0 108 64 >"$SCEN_TMP/want" && same_as "$SCEN_TMP/want" $DL 100
}

writes_land_on_write_device() {
	fresh /dev/ram0 8 10 /dev/ram1 16 10 || return 1
	pattern wd 0 64 >"$SCEN_TMP/w" && put "$SCEN_TMP/w" $DL 200 4096 direct &&
		same_as "$SCEN_TMP/w" /dev/ram1 216 &&
		pattern r0 208 64 >"$SCEN_TMP/want" && same_as "$SCEN_TMP/want" /dev/ram0 208
}

data_intact_through_delays() {
	fresh /dev/ram0 0 5 /dev/ram0 0 7 || return 1
	pattern dd 0 2048 >"$SCEN_TMP/w" && put "$SCEN_TMP/w" $DL 1000 65536 direct &&
		same_as "$SCEN_TMP/w" $DL 1000 4096 direct &&
		same_as "$SCEN_TMP/w" /dev/ram0 1000
}

cleanup() {
	dmsetup remove dl >/dev/null 2>&1
	[ -z "$LOOP" ] || losetup -d "$LOOP"
	no_devices_left
}

use_dmx || die "cannot load the device-mapper"
ramdisks 3 64 || die "cannot set up ramdisks"
remove_all_dm
pattern r0 0 $SIZE >"$SCEN_TMP/r0" && pattern r1 0 $SIZE >"$SCEN_TMP/r1" ||
	die "cannot make the patterns"
# A loop device has a write cache, so flushes reach the table.
modprobe loop && dd if=/dev/zero of="$SCEN_TMP/loop.img" bs=1M count=8 2>/dev/null &&
	LOOP=$(losetup -f) && losetup "$LOOP" "$SCEN_TMP/loop.img" ||
	die "cannot set up a loop device"

check load_refuses_wrong_argument_count refuses "Requires exactly 3, 6 or 9 arguments" \
	"/dev/ram0 0 1 /dev/ram1"
check load_refuses_bad_offset refuses "Invalid device sector" "/dev/ram0 1x 1"
check load_refuses_bad_delay refuses "Invalid delay" "/dev/ram0 0 -1"
check load_refuses_bad_write_delay refuses "Invalid delay" "/dev/ram0 0 1 /dev/ram1 0 x"
check load_refuses_missing_flush_device refuses "Device lookup failed" \
	"/dev/ram0 0 1 /dev/ram1 0 1 /dev/nosuch 0 1"
check table_line_with_one_device table_line_is "/dev/ram0 0 500" "1:0 0 500"
check table_line_with_write_device table_line_is "/dev/ram0 0 0 /dev/ram1 8 500" \
	"1:0 0 0 1:1 8 500"
check table_line_with_flush_device table_line_is \
	"/dev/ram0 0 0 /dev/ram1 8 500 /dev/ram2 16 1000" "1:0 0 0 1:1 8 500 1:2 16 1000"
check status_counts_nothing_held status_counts_nothing_held
case $DMX_IMPL:$(uname -r) in
stock:6.1.* | dmx:*) check version_is_6_1s version_is_6_1s ;;
*) skip version_is_6_1s "stock $(uname -r) has its own delay version" ;;
esac

check read_is_held_in_read_class read_is_held_in_read_class
timed_check read_waits_at_least_the_delay read_waits_at_least_the_delay
check write_is_held_in_write_class write_is_held_in_write_class
check reads_pass_while_write_held reads_pass_while_write_held
check flush_is_held_in_flush_class flush_is_held_in_flush_class

timed_check suspend_releases_held_bios suspend_releases_held_bios
check resume_delays_again resume_delays_again
check reload_passes_held_bios_on reload_passes_held_bios_on
check forced_remove_while_held forced_remove_while_held
check flush_released_by_suspend flush_released_by_suspend

check reads_come_from_read_device reads_come_from_read_device
check writes_land_on_write_device writes_land_on_write_device
check data_intact_through_delays data_intact_through_delays

check cleanup cleanup
rm -rf "$SCEN_TMP"
tap_done
