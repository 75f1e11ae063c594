#!/bin/sh
# dmx-test: timeout=300
# The dust target as Linux 6.1 defines it (dm-dust.rst): bad blocks
# declared by message fail reads once enabled, until a write remaps
# them (after failing as many writes as asked); every message answers
# and logs as 6.1's; quiet mode silences the add/remove/remap lines.
# Where the stock kernel has dm-dust (the debug kernel; Debian's 6.1 has
# none), tests/faults/dust.sh runs on both first and the transcripts
# must be identical, as in 90-differential.sh.  On stock without
# dm-dust everything is skipped.  Leaves no devices.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/diff.sh"
# GNU dd: busybox's applet (which the shell prefers) silently drops
# O_DIRECT for blocks under 4 KiB and goes through the page cache, and
# these tests read and write single 512-byte blocks.
if [ -x /usr/bin/dd ]; then dd() { /usr/bin/dd "$@"; }; fi

SIZE=8192
DU=/dev/mapper/du
FAULTS_DIR=${DMX_TESTLIB:-/tests/lib}/../faults

# --- helpers -----------------------------------------------------------

# fresh [OFFSET [BLOCK]]: ram0 holds the base pattern; du is a dust
# device on it with that offset and block size (0 and 512).
fresh() {
	dmsetup remove du >/dev/null 2>&1
	put "$SCEN_TMP/base" /dev/ram0 0 1048576 direct &&
		dmsetup create du --table "0 $SIZE dust /dev/ram0 ${1:-0} ${2:-512}"
}

msg() {
	dmsetup message du 0 "$@"
}

# msg_says WANT MESSAGE...: the message's answer is WANT.
msg_says() {
	_want=$1
	shift
	want_eq "answer to $*" "$(msg "$@")" "$_want"
}

# msg_refused MESSAGE...: the message fails.
msg_refused() {
	if msg "$@" 2>/dev/null; then
		echo "message accepted: $*"
		return 1
	fi
}

# logs TEXT CMD...: CMD succeeds and the kernel log gets a dust line
# with TEXT.
logs() {
	_text=$1
	shift
	dmesg_mark
	"$@" || return 1
	dmesg_since | grep -qF "dust: $_text" && return 0
	echo "the log does not say 'dust: $_text':"
	dmesg_since
	return 1
}

# logs_refused TEXT MESSAGE...: the message fails and logs TEXT.
logs_refused() {
	logs "$@"
}

# silent CMD...: CMD succeeds and logs no dust line.
silent() {
	dmesg_mark
	"$@" || return 1
	dmesg_since | grep -F "dust: " || return 0
	echo "logged the lines above"
	return 1
}

read_ok() {
	get $DU "$1" "${2:-1}" 512 direct >/dev/null
}

read_fails() {
	if dd if=$DU of=/dev/null bs=512 skip="$1" count=1 iflag=direct 2>"$SCEN_TMP/err"; then
		echo "read of sector $1 succeeded"
		return 1
	fi
	grep -q "Input/output error" "$SCEN_TMP/err" ||
		{ echo "read failed, but not with EIO:"; cat "$SCEN_TMP/err"; return 1; }
}

write_ok() {
	pattern "w$1" 0 1 >"$SCEN_TMP/w" && put "$SCEN_TMP/w" $DU "$1" 512 direct
}

write_fails() {
	pattern "w$1" 0 1 >"$SCEN_TMP/w"
	if dd if="$SCEN_TMP/w" of=$DU bs=512 seek="$1" count=1 oflag=direct \
		conv=notrunc 2>"$SCEN_TMP/err"; then
		echo "write of sector $1 succeeded"
		return 1
	fi
	grep -q "Input/output error" "$SCEN_TMP/err" ||
		{ echo "write failed, but not with EIO:"; cat "$SCEN_TMP/err"; return 1; }
}

status_is() {
	want_eq status "$(dmsetup status du)" "0 $SIZE dust $1"
}

refuses() {
	dmesg_mark
	if dmsetup create dbad --table "0 ${3:-$SIZE} dust $2" 2>/dev/null; then
		dmsetup remove dbad
		echo "loaded: dust $2"
		return 1
	fi
	dmsetup remove dbad >/dev/null 2>&1
	dmesg_since | grep -qF "dust: $1" && return 0
	echo "the log does not say 'dust: $1':"
	dmesg_since
	return 1
}

# --- the comparison with the stock dm-dust ------------------------------

# differential: TAP line diff_dust, or a skip.  Leaves dmx loaded.
differential() {
	if [ "$DMX_IMPL" = stock ]; then
		skip diff_dust "reference run on the stock dm: nothing to compare with"
		return
	fi
	dmsetup remove_all >/dev/null 2>&1
	if ! use_stock_dm || ! dmsetup targets | grep -q '^dust '; then
		unload_dm >/dev/null 2>&1
		use_dmx || die "cannot load dmx"
		skip diff_dust "the stock kernel has no dm-dust"
		return
	fi
	rm -rf "$DIFF_TMP" && mkdir -p "$DIFF_TMP"
	DIFF_SCENARIOS=$FAULTS_DIR/dust.sh
	diff_run_all stock || die "cannot set up the ram disks"
	dmsetup remove_all >/dev/null 2>&1
	unload_dm && use_dmx || die "cannot load dmx"
	diff_run_all dmx || die "cannot set up the ram disks"
	if cmp -s "$DIFF_TMP/stock.n/dust" "$DIFF_TMP/dmx.n/dust"; then
		ok diff_dust
	else
		not_ok diff_dust
		diag "$(diff -u -L dm-mod/dust -L dmx/dust \
			"$DIFF_TMP/stock.n/dust" "$DIFF_TMP/dmx.n/dust")"
	fi
}

# --- tests -------------------------------------------------------------

table_lines() {
	fresh 8 4096 || return 1
	want_eq table "$(dmsetup table du)" "0 $SIZE dust 1:0 8 4096"
}

status_starts_bypass_verbose() {
	fresh && status_is "1:0 bypass verbose"
}

version_is_6_1s() {
	want_eq version "$(dmsetup targets | awk '$1 == "dust" { print $2 }')" v1.0.0
}

bypass_reads_bad_block() {
	fresh && msg addbadblock 10 && read_ok 10
}

enabled_bad_block_fails_read() {
	fresh && msg addbadblock 10 && msg enable &&
		status_is "1:0 fail_read_on_bad_block verbose" && read_fails 10
}

good_blocks_read_while_enabled() {
	fresh && msg addbadblock 10 && msg enable || return 1
	pattern base 0 10 >"$SCEN_TMP/want" && same_as "$SCEN_TMP/want" $DU 0 512 &&
		pattern base 11 500 >"$SCEN_TMP/want" && same_as "$SCEN_TMP/want" $DU 11
}

write_remaps_bad_block() {
	fresh && msg addbadblock 10 && msg enable || return 1
	logs "block 10 removed from badblocklist by write" write_ok 10 &&
		same_as "$SCEN_TMP/w" $DU 10 512 &&
		msg_says "countbadblocks: 0 badblock(s) found" countbadblocks
}

bypass_write_keeps_bad_block() {
	fresh && msg addbadblock 20 && write_ok 20 &&
		msg_says "dust_query_block: block 20 found in badblocklist" queryblock 20 &&
		msg enable && read_fails 20
}

write_fail_count_fails_writes_first() {
	fresh && logs "dust_add_block: badblock added at block 30 with write fail count 2" \
		msg addbadblock 30 2 && msg enable || return 1
	write_fails 30 && write_fails 30 && read_fails 30 && write_ok 30 &&
		same_as "$SCEN_TMP/w" $DU 30 512
}

disable_lets_reads_through() {
	fresh && msg addbadblock 40 && msg enable && read_fails 40 &&
		logs "disabling read failures on bad sectors" msg disable &&
		read_ok 40 && msg_says "countbadblocks: 1 badblock(s) found" countbadblocks
}

add_duplicate_refused() {
	fresh && msg addbadblock 50 &&
		logs_refused "dust_add_block: block 50 already in badblocklist" \
			msg_refused addbadblock 50
}

remove_missing_refused() {
	fresh && logs_refused "dust_remove_block: block 51 not found in badblocklist" \
		msg_refused removebadblock 51
}

remove_bad_block() {
	fresh && msg addbadblock 52 &&
		logs "dust_remove_block: badblock removed at block 52" msg removebadblock 52 &&
		msg_says "dust_query_block: block 52 not found in badblocklist" queryblock 52
}

count_answers() {
	fresh && msg addbadblock 1 && msg addbadblock 2 && msg addbadblock 3 &&
		msg_says "countbadblocks: 3 badblock(s) found" countbadblocks
}

list_answers_in_order() {
	fresh && msg addbadblock 9 && msg addbadblock 3 && msg addbadblock 7 &&
		want_eq list "$(msg listbadblocks | tr '\n' ' ')" "3 7 9 "
}

list_answers_when_empty() {
	fresh && msg_says "No blocks in badblocklist" listbadblocks
}

clear_answers() {
	fresh && msg addbadblock 5 && msg addbadblock 6 &&
		msg_says "dust_clear_badblocks: badblocks cleared" clearbadblocks &&
		msg_says "dust_clear_badblocks: no badblocks found" clearbadblocks &&
		msg_says "countbadblocks: 0 badblock(s) found" countbadblocks
}

# Block numbers are checked against the device below (131072 blocks).
block_out_of_range_refused() {
	fresh && logs_refused "selected block value out of range" \
		msg_refused addbadblock 131073
}

block_message_needs_argument() {
	fresh && logs_refused "addbadblock requires an additional argument" \
		msg_refused addbadblock
}

unknown_message_refused() {
	fresh && logs_refused "unrecognized message 'frobnicate' received" \
		msg_refused frobnicate
}

write_fail_count_over_255_refused() {
	fresh && logs_refused "selected write fail count out of range" \
		msg_refused addbadblock 5 256
}

quiet_mode_silences_adds_removes_remaps() {
	fresh && msg quiet && status_is "1:0 bypass quiet" || return 1
	silent msg addbadblock 60 && silent msg removebadblock 60 &&
		silent msg addbadblock 61 && msg enable && silent write_ok 61
}

quiet_mode_still_logs_enable() {
	fresh && msg quiet && logs "enabling read failures on bad sectors" msg enable
}

quiet_toggles_back() {
	fresh && msg quiet && msg quiet && status_is "1:0 bypass verbose" &&
		logs "dust_add_block: badblock added at block 62 with write fail count 0" \
			msg addbadblock 62
}

# A 4 KiB block is eight sectors: all of them fail, their neighbours not.
block_size_covers_its_sectors() {
	fresh 0 4096 && msg addbadblock 3 && msg enable || return 1
	read_ok 23 && read_fails 24 && read_fails 27 && read_fails 31 && read_ok 32
}

# Blocks are numbered from the start of the device below, not of the target.
blocks_count_from_device_start() {
	fresh 8 512 && msg addbadblock 18 && msg enable &&
		read_fails 10 && read_ok 18
}

remove_with_bad_blocks_listed() {
	fresh && msg addbadblock 70 && msg addbadblock 71 && msg enable &&
		dmsetup remove du
}

use_dmx || die "cannot load the device-mapper"
differential
ramdisks 2 64 || die "cannot set up ramdisks"
remove_all_dm
if ! dmsetup targets | grep -q '^dust '; then
	skip dust "this device-mapper has no dust target"
	tap_done
fi
pattern base 0 $SIZE >"$SCEN_TMP/base" || die "cannot make the base pattern"

check load_refuses_wrong_argument_count refuses "Invalid argument count" "/dev/ram0 0"
check load_refuses_bad_block_size refuses "Invalid block size parameter" "/dev/ram0 0 x"
check load_refuses_zero_block_size refuses "Invalid block size parameter" "/dev/ram0 0 0"
check load_refuses_small_block_size refuses "Block size must be at least 512" "/dev/ram0 0 256"
check load_refuses_odd_block_size refuses "Block size must be a power of 2" "/dev/ram0 0 1000"
check load_refuses_block_larger_than_target refuses "Block size is too large" \
	"/dev/ram0 0 8192" 8
check load_refuses_bad_offset refuses "Invalid device offset sector" "/dev/ram0 x 512"
check load_refuses_missing_device refuses "Device lookup failed" "/dev/nosuch 0 512"
check table_lines table_lines
check status_starts_bypass_verbose status_starts_bypass_verbose
check version_is_6_1s version_is_6_1s

check bypass_reads_bad_block bypass_reads_bad_block
check enabled_bad_block_fails_read enabled_bad_block_fails_read
check good_blocks_read_while_enabled good_blocks_read_while_enabled
check write_remaps_bad_block write_remaps_bad_block
check bypass_write_keeps_bad_block bypass_write_keeps_bad_block
check write_fail_count_fails_writes_first write_fail_count_fails_writes_first
check disable_lets_reads_through disable_lets_reads_through
check block_size_covers_its_sectors block_size_covers_its_sectors
check blocks_count_from_device_start blocks_count_from_device_start

check add_duplicate_refused add_duplicate_refused
check remove_missing_refused remove_missing_refused
check remove_bad_block remove_bad_block
check count_answers count_answers
check list_answers_in_order list_answers_in_order
check list_answers_when_empty list_answers_when_empty
check clear_answers clear_answers
check block_out_of_range_refused block_out_of_range_refused
check block_message_needs_argument block_message_needs_argument
check unknown_message_refused unknown_message_refused
check write_fail_count_over_255_refused write_fail_count_over_255_refused
check quiet_mode_silences_adds_removes_remaps quiet_mode_silences_adds_removes_remaps
check quiet_mode_still_logs_enable quiet_mode_still_logs_enable
check quiet_toggles_back quiet_toggles_back
check remove_with_bad_blocks_listed remove_with_bad_blocks_listed

check cleanup no_devices_left
rm -rf "$SCEN_TMP"
tap_done
