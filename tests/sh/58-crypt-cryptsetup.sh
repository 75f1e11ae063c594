#!/bin/sh
# cryptsetup, unmodified, on the crypt target: LUKS1 and LUKS2 volumes
# formatted, opened, reported, closed and opened again with their data;
# plain mode with an offset and a skip; 4 KiB sectors; resize; refresh
# with other options; luksSuspend / luksResume with a writer waiting on
# the suspended device, and of a LUKS1 volume, whose key cryptsetup
# sets again in hex; --allow-discards, with fstrim reaching the
# device below; the --perf-* options; and LUKS2 volumes written by the
# stock dm-crypt read through dmx and the other way round, in one boot.
# (No udev: libdevmapper makes the nodes, DM_DISABLE_UDEV=1 as ever.)
#
# With the stock dm-mod under test (run.sh --stock), "dmx" is the stock
# one again.  Leaves no devices and the device-mapper under test loaded.
# dmx-test: timeout=600
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

PASS=$SCEN_TMP/pass
# Cheap key derivation: the tests are about the device, not the KDF.
FORMAT="luksFormat -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file $PASS"
OPEN="open --key-file $PASS"
LOSETUP=/usr/sbin/losetup

# cs ARGS...: cryptsetup, its chatter shown only if it fails.
cs() {
	# shellcheck disable=SC2068 # FORMAT and OPEN are word lists
	cryptsetup $@ >"$SCEN_TMP/cs.out" 2>&1 && return 0
	echo "cryptsetup $* failed:"
	cat "$SCEN_TMP/cs.out"
	return 1
}

# fill NAME SEED SECTORS: SECTORS of pattern SEED onto /dev/mapper/NAME.
fill() {
	pattern "$2" 0 "$3" >"$SCEN_TMP/$2" &&
		put "$SCEN_TMP/$2" "/dev/mapper/$1" 0 65536 direct
}

# holds NAME SEED: /dev/mapper/NAME starts with pattern SEED.
holds() {
	same_as "$SCEN_TMP/$2" "/dev/mapper/$1" 0
}

# closed NAME STATUS: close NAME; STATUS, or failure if closing fails.
closed() {
	cs close "$1" || return 1
	return "$2"
}

table_of() {
	dmsetup table "$1" | cut -d' ' -f4-
}

luks2_volume_opens_reports_and_keeps_its_data() {
	cs $FORMAT --type luks2 /dev/ram0 && cs $OPEN /dev/ram0 l2 || return 1
	uuid=$(cryptsetup luksUUID /dev/ram0)
	want_eq table "$(table_of l2)" \
		"aes-xts-plain64 :64:logon:cryptsetup:$uuid-d0 0 $(devno /dev/ram0) 32768 1 sector_size:4096" &&
		cryptsetup status l2 >"$SCEN_TMP/st" &&
		want_match status "$(cat "$SCEN_TMP/st")" "type: +LUKS2" &&
		want_match status "$(cat "$SCEN_TMP/st")" "key location: +keyring" &&
		fill l2 luks2 2048 && cs close l2 && cs $OPEN /dev/ram0 l2 &&
		holds l2 luks2
	closed l2 $?
}

# LUKS1 keys are in the table itself (hex), never in the keyring.
luks1_volume_opens_reports_and_keeps_its_data() {
	cs $FORMAT --type luks1 /dev/ram1 && cs $OPEN /dev/ram1 l1 || return 1
	want_match table "$(table_of l1)" \
		"^aes-xts-plain64 0{128} 0 $(devno /dev/ram1) 4096\$" &&
		cryptsetup status l1 >"$SCEN_TMP/st" &&
		want_match status "$(cat "$SCEN_TMP/st")" "type: +LUKS1" &&
		want_match status "$(cat "$SCEN_TMP/st")" "key location: +dm-crypt" &&
		fill l1 luks1 2048 && cs close l1 && cs $OPEN /dev/ram1 l1 &&
		holds l1 luks1
	closed l1 $?
}

# 64 bytes of key file used as the key itself.
plain_mode_maps_offset_and_skip() {
	head -c 64 /dev/urandom >"$SCEN_TMP/plainkey"
	set -- --type plain --cipher aes-xts-plain64 --key-size 512 \
		--key-file "$SCEN_TMP/plainkey" --offset 2048 --skip 100
	# shellcheck disable=SC2068 # the options
	cs open $@ /dev/ram2 pl || return 1
	want_match table "$(table_of pl)" \
		"^aes-xts-plain64 0{128} 100 $(devno /dev/ram2) 2048\$" &&
		fill pl plain 4096 && cs close pl &&
		cs open $@ /dev/ram2 pl && holds pl plain
	closed pl $?
}

# A loop device has 512-byte physical blocks: LUKS2 then picks 512.
sector_size_4096_on_request() {
	truncate -s 64M "$SCEN_TMP/ss.img" &&
		loop=$($LOSETUP -f --show "$SCEN_TMP/ss.img") || return 1
	cs $FORMAT --type luks2 --sector-size 4096 "$loop" && cs $OPEN "$loop" ss &&
		want_match table "$(table_of ss)" " 1 sector_size:4096\$" &&
		want_eq block "$(blockdev --getss /dev/mapper/ss)" 4096 &&
		fill ss s4k 2048 && cs close ss && cs $OPEN "$loop" ss &&
		holds ss s4k
	r=$?
	cs close ss
	$LOSETUP -d "$loop" && return $r
}

resize_changes_the_size_and_keeps_the_data() {
	cs $FORMAT --type luks2 /dev/ram0 && cs $OPEN /dev/ram0 rs &&
		fill rs resize 2048 || return 1
	full=$(size_of /dev/mapper/rs)
	cs resize --key-file "$PASS" --size 16384 rs &&
		want_eq shrunk "$(size_of /dev/mapper/rs)" 16384 && holds rs resize &&
		cs resize --key-file "$PASS" rs &&
		want_eq grown "$(size_of /dev/mapper/rs)" "$full" && holds rs resize
	closed rs $?
}

refresh_changes_options_of_the_open_volume() {
	cs $FORMAT --type luks2 /dev/ram0 && cs $OPEN /dev/ram0 rf &&
		fill rf refresh 2048 || return 1
	cs refresh --key-file "$PASS" --perf-no_read_workqueue --perf-same_cpu_crypt rf &&
		want_match table "$(table_of rf)" \
			" 3 same_cpu_crypt no_read_workqueue sector_size:4096\$" &&
		holds rf refresh
	closed rf $?
}

perf_options_reach_the_table() {
	cs $FORMAT --type luks2 /dev/ram1 &&
		cs $OPEN --perf-no_read_workqueue --perf-no_write_workqueue /dev/ram1 pf ||
		return 1
	want_match table "$(table_of pf)" \
		" 3 no_read_workqueue no_write_workqueue sector_size:4096\$" &&
		fill pf perf 2048 && holds pf perf
	closed pf $?
}

# The writer starts on the suspended device, so it must wait for resume.
suspend_holds_a_writer_until_resume() {
	cs $FORMAT --type luks2 /dev/ram0 && cs $OPEN /dev/ram0 sr &&
		fill sr before 4096 && cs luksSuspend sr || return 1
	r=0
	want_eq state "$(dm_state sr)" SUSPENDED &&
		want_match wiped "$(dmsetup table --showkeys sr)" " 0{128} 0 " || r=1
	pattern after 0 1024 >"$SCEN_TMP/after"
	put "$SCEN_TMP/after" /dev/mapper/sr 2048 65536 direct &
	writer=$!
	# Resume once the writer has the device open (its write then waits).
	i=0
	while [ "$(info_field sr open)" -lt 1 ] && [ $i -lt 200 ]; do
		i=$((i + 1))
		sleep 0.05
	done
	kill -0 $writer 2>/dev/null || { echo "the writer did not wait"; r=1; }
	cs luksResume --key-file "$PASS" sr || r=1
	wait $writer || { echo "the writer failed"; r=1; }
	splice "$SCEN_TMP/before" 2048 "$SCEN_TMP/after" &&
		holds sr before || r=1
	closed sr $r
}

# luksResume of a LUKS1 volume sends the volume key itself, in hex
# ("key set <hex>"), where LUKS2 names a keyring key.
luks1_resume_sets_the_same_key_again() {
	cs $FORMAT --type luks1 /dev/ram1 && cs $OPEN /dev/ram1 s1 &&
		fill s1 l1resume 2048 || return 1
	key=$(dmsetup table --showkeys s1)
	cs luksSuspend s1 &&
		want_match wiped "$(dmsetup table --showkeys s1)" " 0{128} 0 " &&
		cs luksResume --key-file "$PASS" s1 &&
		want_eq state "$(dm_state s1)" ACTIVE &&
		want_eq "table after resume" "$(dmsetup table --showkeys s1)" "$key" &&
		holds s1 l1resume
	closed s1 $?
}

# Over a loop device on tmpfs, whose file loses blocks as they are trimmed.
fstrim_reaches_the_device_with_allow_discards() {
	truncate -s 96M "$SCEN_TMP/trim.img" &&
		loop=$($LOSETUP -f --show "$SCEN_TMP/trim.img") || return 1
	mkdir -p "$SCEN_TMP/mnt"
	r=1
	if cs $FORMAT --type luks2 "$loop" && cs $OPEN --allow-discards "$loop" tr &&
		mkfs.ext4 -q -E nodiscard /dev/mapper/tr && mount /dev/mapper/tr "$SCEN_TMP/mnt"; then
		dd if=/dev/urandom of="$SCEN_TMP/mnt/f" bs=1M count=24 conv=fsync 2>/dev/null
		rm "$SCEN_TMP/mnt/f" && sync
		before=$(du -k "$SCEN_TMP/trim.img" | cut -f1)
		fstrim -v "$SCEN_TMP/mnt" >"$SCEN_TMP/trim.out" 2>&1
		after=$(du -k "$SCEN_TMP/trim.img" | cut -f1)
		if want_match table "$(table_of tr)" " 1 allow_discards\$" &&
			[ "$after" -lt $((before - 16384)) ]; then
			r=0
		else
			echo "image used ${before}k before fstrim, ${after}k after:"
			cat "$SCEN_TMP/trim.out"
		fi
		umount "$SCEN_TMP/mnt"
	fi
	cs close tr
	$LOSETUP -d "$loop" && return $r
}

fstrim_is_refused_without_allow_discards() {
	cs $FORMAT --type luks2 /dev/ram1 && cs $OPEN /dev/ram1 nt &&
		mkfs.ext4 -q /dev/mapper/nt || return 1
	mkdir -p "$SCEN_TMP/mnt" && mount /dev/mapper/nt "$SCEN_TMP/mnt" || return 1
	r=0
	if fstrim "$SCEN_TMP/mnt" 2>/dev/null; then
		echo "fstrim went through"
		r=1
	fi
	umount "$SCEN_TMP/mnt"
	closed nt $r
}

# --- stock and dmx, one boot ----------------------------------------

# written_by IMPL DEV SEED [FORMAT OPTIONS]: a LUKS2 volume formatted
# and filled on IMPL, then closed.
written_by() {
	_impl=$1 _dev=$2 _seed=$3
	shift 3
	switch_dm_to "$_impl" && cs $FORMAT --type luks2 "$@" "$_dev" &&
		cs $OPEN "$_dev" iv && fill iv "$_seed" 2048 && cs close iv
}

# read_by IMPL DEV SEED: it opens on IMPL and holds its data.
read_by() {
	switch_dm_to "$1" && cs $OPEN "$2" iv || return 1
	holds iv "$3"
	closed iv $?
}

use_dmx || die "cannot load the device-mapper"
ramdisks 3 64 || die "cannot set up ramdisks"
modprobe loop && modprobe ext4 || die "cannot load loop and ext4"
printf %s "correct horse battery staple" >"$PASS"

check luks2_volume_opens_reports_and_keeps_its_data \
	luks2_volume_opens_reports_and_keeps_its_data
check luks1_volume_opens_reports_and_keeps_its_data \
	luks1_volume_opens_reports_and_keeps_its_data
check plain_mode_maps_offset_and_skip plain_mode_maps_offset_and_skip
check sector_size_4096_on_request sector_size_4096_on_request
check resize_changes_the_size_and_keeps_the_data \
	resize_changes_the_size_and_keeps_the_data
check refresh_changes_options_of_the_open_volume \
	refresh_changes_options_of_the_open_volume
check perf_options_reach_the_table perf_options_reach_the_table
check suspend_holds_a_writer_until_resume suspend_holds_a_writer_until_resume
check luks1_resume_sets_the_same_key_again luks1_resume_sets_the_same_key_again
check fstrim_reaches_the_device_with_allow_discards \
	fstrim_reaches_the_device_with_allow_discards
check fstrim_is_refused_without_allow_discards \
	fstrim_is_refused_without_allow_discards

check luks2_volume_written_by_stock written_by stock /dev/ram0 bystock
check luks2_volume_of_stock_reads_back_on_dmx read_by dmx /dev/ram0 bystock
check luks2_volume_written_by_dmx written_by dmx /dev/ram1 bydmx
check luks2_volume_of_dmx_reads_back_on_stock read_by stock /dev/ram1 bydmx
check luks2_512_volume_written_by_stock written_by stock /dev/ram2 bystock512 \
	--sector-size 512
check luks2_512_volume_of_stock_reads_back_on_dmx read_by dmx /dev/ram2 bystock512
check back_to_dmx switch_dm_to dmx
check no_devices_left no_devices_left
rm -rf "$SCEN_TMP"
tap_done
